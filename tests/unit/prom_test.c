/* common/prom.c and common/textbuf.c: what /metrics and the JSON answers
 * are written with. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/prom.h"
#include "common/textbuf.h"

static char *render(void (*fn)(struct textbuf *)) {
  struct textbuf t;
  textbuf_init(&t);
  fn(&t);
  cr_assert(!textbuf_failed(&t));
  return textbuf_take(&t, NULL);
}

static void histogram(struct textbuf *t) {
  struct prom_histogram h = {0};
  prom_observe(&h, 0.00005); /* first bucket */
  prom_observe(&h, 0.0001);  /* on a bound: that bucket (le is inclusive) */
  prom_observe(&h, 0.003);   /* 0.005 */
  prom_observe(&h, 42);      /* only +Inf */
  prom_histogram_write(t, "x_seconds", "api=\"produce\"", &h);
}

Test(prom, histogram_buckets_are_cumulative_and_inclusive_with_sum_and_count) {
  char *s = render(histogram);
  cr_expect(strstr(s, "x_seconds_bucket{api=\"produce\",le=\"0.0001\"} 2\n"), "%s", s);
  cr_expect(strstr(s, "x_seconds_bucket{api=\"produce\",le=\"0.0025\"} 2\n"), "%s", s);
  cr_expect(strstr(s, "x_seconds_bucket{api=\"produce\",le=\"0.005\"} 3\n"), "%s", s);
  cr_expect(strstr(s, "x_seconds_bucket{api=\"produce\",le=\"10\"} 3\n"), "%s", s);
  cr_expect(strstr(s, "x_seconds_bucket{api=\"produce\",le=\"+Inf\"} 4\n"), "%s", s);
  cr_expect(strstr(s, "x_seconds_count{api=\"produce\"} 4\n"), "%s", s);
  cr_expect(strstr(s, "x_seconds_sum{api=\"produce\"} 42.00315"), "%s", s);
  free(s);
}

static void escapes(struct textbuf *t) {
  textbuf_prom_label(t, "a\"b\\c\nd");
  textbuf_puts(t, "|");
  textbuf_json_str(t, "q\"\\\n\x01" "\xc3\xa9");
}

Test(prom, label_values_and_json_strings_are_escaped) {
  char *s = render(escapes);
  cr_expect_str_eq(s, "a\\\"b\\\\c\\nd|\"q\\\"\\\\\\n\\u0001\xc3\xa9\"");
  free(s);
}

static void big(struct textbuf *t) {
  for (int i = 0; i < 100000; i++) textbuf_printf(t, "line %d\n", i);
}

Test(prom, a_textbuf_grows_past_its_first_block) {
  char *s = render(big);
  cr_expect(strstr(s, "line 0\nline 1\n") == s);
  cr_expect(strstr(s, "line 99999\n"));
  free(s);
}
