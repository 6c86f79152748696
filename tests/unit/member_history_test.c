/* A drill member's own history (o/x/l ownership lines) becomes the checker's
 * O intervals: revoked ownership ends at the revoke, ownership a kill cut
 * short ends at the kill, and lost ownership gets a generation of its own so
 * the brief overlap with the next owner, which the protocol allows a fenced
 * member, is not called a double owner, while a real overlap still is. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "drill/checker.h"
#include "drill/member.h"

static char out[4096];

static void convert(const char *in, int64_t end) {
  FILE *f = fmemopen((void *)in, strlen(in), "r");
  FILE *o = fmemopen(out, sizeof out, "w");
  int64_t gen = 0;
  drill_member_history(f, o, end, &gen);
  fclose(f);
  fclose(o);
}

static struct checker_result check(const char *history) {
  struct checker_config cfg = {0};
  struct checker *c = checker_new(&cfg);
  char copy[8192];
  snprintf(copy, sizeof copy, "%s", history);
  for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) checker_add_line(c, line);
  struct checker_result r;
  checker_run(c, &r);
  checker_free(c);
  return r;
}

Test(member_history, ownership_becomes_intervals) {
  convert("o 10 m0.0 0\nR 11 m0.0 0 0 v1\no 12 m0.0 1\nx 20 m0.0 0\n", 99);
  cr_assert(strstr(out, "R 11 m0.0 0 0 v1\n"), "%s", out);
  cr_assert(strstr(out, "O 10 20 m0.0 0 0\n"), "%s", out);
  cr_assert(strstr(out, "O 12 99 m0.0 0 1\n"), "open ownership ends at the member's end: %s", out);
}

Test(member_history, a_torn_last_line_is_dropped) {
  convert("o 10 m0.0 0\nR 11 m0.0 0 0 v1\nR 12 m0.0 0 1 v", 50);
  cr_assert_null(strstr(out, "R 12"), "%s", out);
}

Test(member_history, a_fenced_member_may_overlap_a_live_one_may_not) {
  char h[sizeof out + 64];
  /* m0 loses partition 0 at 30; m1 got it at 25 */
  convert("o 10 m0.0 0\nl 30 m0.0 0\n", 99);
  snprintf(h, sizeof h, "%sO 25 60 m1.1 0 0\n", out);
  cr_assert_eq(check(h).double_owners, 0u, "%s", h);
  convert("o 10 m0.0 0\nx 30 m0.0 0\n", 99);
  snprintf(h, sizeof h, "%sO 25 60 m1.1 0 0\n", out);
  cr_assert_eq(check(h).double_owners, 1u, "%s", h);
}
