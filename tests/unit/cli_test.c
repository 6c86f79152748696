/* The CLI's pure helpers: option parsing, timestamps, latency percentiles,
 * and the demo's sensor readings (generated and parsed back). */
#include <criterion/criterion.h>
#include <string.h>

#include "client/cli/histogram.h"
#include "client/cli/opts.h"
#include "client/cli/sensors.h"

static const struct opt table[] = {
    {"partitions", 'p', OPT_VALUE, "N", "partitions"},
    {"follow", 'f', OPT_FLAG, NULL, "follow"},
    {"config", 0, OPT_MULTI, "K=V", "config"},
};

Test(opts, parses_long_short_inline_and_positional) {
  char *argv[] = {"t1", "--partitions=6", "-f", "--config", "a=1",
                  "--config", "b=2", "extra"};
  struct opts o;
  cr_assert_eq(opts_parse(&o, table, 3, 8, argv), 0, "%s", o.err);
  int64_t n;
  cr_assert_eq(opts_i64(&o, "partitions", 1, 1, 100, 0, &n), 0);
  cr_assert_eq(n, 6);
  cr_assert(opts_has(&o, "follow"));
  const char *const *v;
  cr_assert_eq(opts_multi(&o, "config", &v), 2);
  cr_assert_str_eq(v[1], "b=2");
  cr_assert_eq(o.positional_count, 2);
  cr_assert_str_eq(o.positional[1], "extra");
}

Test(opts, refuses_unknown_flag_missing_value_and_out_of_range) {
  struct opts o;
  char *a1[] = {"--bogus"};
  cr_assert_eq(opts_parse(&o, table, 3, 1, a1), -1);
  cr_assert(strstr(o.err, "--bogus") != NULL);
  char *a2[] = {"--partitions"};
  cr_assert_eq(opts_parse(&o, table, 3, 1, a2), -1);
  char *a3[] = {"--partitions", "0x"};
  cr_assert_eq(opts_parse(&o, table, 3, 2, a3), 0);
  int64_t n;
  cr_assert_eq(opts_i64(&o, "partitions", 1, 1, 100, 0, &n), -1);
  char *a4[] = {"--partitions", "101"};
  cr_assert_eq(opts_parse(&o, table, 3, 2, a4), 0);
  cr_assert_eq(opts_i64(&o, "partitions", 1, 1, 100, 0, &n), -1);
  char *a5[] = {"--follow=yes"};
  cr_assert_eq(opts_parse(&o, table, 3, 1, a5), -1);
}

/* `strata --bootstrap H:P topic list`: the options before the command are
 * parsed and the command's index returned, its own words left alone. */
Test(opts, leading_options_stop_at_the_command) {
  static const struct opt globals[] = {
      {"bootstrap", 'b', OPT_VALUE, "HOST:PORT", "brokers"},
      {"timeout", 0, OPT_VALUE, "MS", "timeout"},
  };
  struct opts o;
  char *a1[] = {"--bootstrap", "h:1", "topic", "list", "--bootstrap", "h:2"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 6, a1), 2, "%s", o.err);
  cr_assert_str_eq(opts_str(&o, "bootstrap", NULL), "h:1");
  cr_assert_eq(o.positional_count, 0, "the command is not taken as a positional");
  char *a2[] = {"-b", "h:1", "--timeout=500", "consume", "--topic", "t"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 6, a2), 3, "%s", o.err);
  cr_assert_str_eq(opts_str(&o, "bootstrap", NULL), "h:1");
  cr_assert_str_eq(opts_str(&o, "timeout", NULL), "500");
  char *a3[] = {"topic", "list"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 2, a3), 0, "no options: the command first");
  cr_assert(!opts_has(&o, "bootstrap"));
  char *a4[] = {"--bootstrap=h:3"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 1, a4), 1, "no command: argc");
  char *a5[] = {"--", "-weird"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 2, a5), 1, "-- ends the options");
  char *a6[] = {"--topic", "t", "consume"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 3, a6), -1);
  cr_assert(strstr(o.err, "--topic") != NULL, "%s", o.err);
  char *a7[] = {"--bootstrap"};
  cr_assert_eq(opts_parse_leading(&o, globals, 2, 1, a7), -1, "a value is needed");
}

Test(opts, integer_suffixes_scale_by_thousands) {
  struct opts o;
  char *a[] = {"--partitions", "5m"};
  cr_assert_eq(opts_parse(&o, table, 3, 2, a), 0);
  int64_t n;
  cr_assert_eq(opts_i64(&o, "partitions", 1, 1, INT64_MAX, 1, &n), 0);
  cr_assert_eq(n, 5000000);
}

Test(opts, timestamps_in_ms_and_iso8601) {
  int64_t ms;
  cr_assert_eq(opts_parse_timestamp("1764000000123", &ms), 0);
  cr_assert_eq(ms, 1764000000123);
  cr_assert_eq(opts_parse_timestamp("1970-01-01T00:00:01.5Z", &ms), 0);
  cr_assert_eq(ms, 1500);
  cr_assert_eq(opts_parse_timestamp("2026-11-24T10:00:00Z", &ms), 0);
  cr_assert_eq(ms, 1795514400000);
  cr_assert_eq(opts_parse_timestamp("yesterday", &ms), -1);
  cr_assert_eq(opts_parse_timestamp("2026-11-24T10:00:00Zjunk", &ms), -1);
}

Test(histogram, percentiles_within_a_tenth_of_a_percent) {
  static struct histogram h;
  histogram_init(&h);
  for (uint64_t i = 1; i <= 1000000; i++)
    histogram_record(&h, i);
  uint64_t p50 = histogram_quantile(&h, 0.5), p99 = histogram_quantile(&h, 0.99);
  cr_assert(p50 >= 499500 && p50 <= 501000, "p50 %lu", (unsigned long)p50);
  cr_assert(p99 >= 989000 && p99 <= 991000, "p99 %lu", (unsigned long)p99);
  cr_assert_eq(histogram_quantile(&h, 1.0), 1000000);
  cr_assert_eq(histogram_quantile(&h, 0.0), 1);
}

Test(histogram, empty_and_constant) {
  static struct histogram h;
  histogram_init(&h);
  cr_assert_eq(histogram_quantile(&h, 0.99), 0);
  for (int i = 0; i < 10; i++)
    histogram_record(&h, 7);
  cr_assert_eq(histogram_quantile(&h, 0.5), 7);
  cr_assert_eq(histogram_quantile(&h, 0.999), 7);
}

Test(sensors, readings_parse_back_and_stay_plausible) {
  struct sensor_fleet f;
  cr_assert_eq(sensors_init(&f, 50, 42), 0);
  for (int i = 0; i < 10000; i++) {
    char key[16], json[SENSOR_JSON_MAX];
    size_t klen;
    size_t n = sensors_next(&f, 1764000000000 + i, key, sizeof key, &klen,
                            json, sizeof json);
    cr_assert(n > 0 && klen > 0);
    struct sensor_reading r;
    cr_assert_eq(sensors_parse(json, n, &r), 0, "%.*s", (int)n, json);
    cr_assert_eq(r.ts, 1764000000000 + i);
    cr_assert(r.temperature > -20 && r.temperature < 50);
    cr_assert(r.humidity > 0 && r.humidity < 100);
    cr_assert(strncmp(json + 14, key, klen) == 0);
  }
  sensors_free(&f);
}

Test(sensors, rejects_records_that_are_not_readings) {
  struct sensor_reading r;
  const char *bad[] = {"", "hello", "{\"site\":\"a\"}",
                       "{\"site\":\"x\",\"temperature\":\"hot\"}",
                       "{\"site\":\"x\",\"temperature\":1,\"humidity\":2}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(sensors_parse(bad[i], strlen(bad[i]), &r), -1, "%s", bad[i]);
  /* A truncated copy of a good reading never reads past its length. */
  const char *good = "{\"sensor_id\":\"s-1\",\"ts\":5,\"temperature\":1.5,"
                     "\"humidity\":2.5,\"site\":\"lab-e\"}";
  cr_assert_eq(sensors_parse(good, strlen(good), &r), 0);
  for (size_t n = 0; n < strlen(good) - 2; n++) {
    char *copy = malloc(n ? n : 1);
    memcpy(copy, good, n);
    sensors_parse(copy, n, &r);
    free(copy);
  }
}
