/* The properties parser behind broker.properties and --set. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker_config.h"
#include "common/config.h"
#include "common/errors.h"

static char path[64];

static void write_file(const char *text) {
  snprintf(path, sizeof path, "/tmp/strata-config.XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void cleanup(void) {
  if (path[0]) unlink(path);
}

Test(config, parses_comments_separators_and_overrides, .fini = cleanup) {
  write_file("# comment\n! also a comment\n\n  a = 1  \nb: two words \nc=x=y\na=3\n");
  struct config *c = config_new();
  char err[256];
  cr_assert_eq(config_load_file(c, path, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(config_get(c, "a"), "3", "later keys win");
  cr_assert_str_eq(config_get(c, "b"), "two words");
  cr_assert_str_eq(config_get(c, "c"), "x=y");
  cr_assert_eq(config_count(c), 3u);
  const char *k, *v;
  config_entry(c, 0, &k, &v);
  cr_assert_str_eq(k, "a", "an overridden key keeps its first place");
  cr_assert_eq(config_parse_assignment(c, "b=cli", err, sizeof err), 0);
  cr_assert_str_eq(config_get(c, "b"), "cli");
  cr_assert_eq(config_parse_assignment(c, "novalue", err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_null(config_get(c, "missing"));
  config_free(c);
}

Test(config, bad_line_is_reported_with_its_number, .fini = cleanup) {
  write_file("a=1\nthis line has no separator\n");
  struct config *c = config_new();
  char err[256];
  cr_assert_eq(config_load_file(c, path, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, ":2:"), "%s", err);
  cr_assert_eq(config_load_file(c, "/nonexistent/file", err, sizeof err), STRATA_EIO);
  cr_assert(strstr(err, "/nonexistent/file"), "%s", err);
  config_free(c);
}

Test(config, typed_getters_check_format_and_range) {
  struct config *c = config_new();
  char err[256];
  config_set(c, "n", "42");
  config_set(c, "bad", "4x2");
  config_set(c, "size", "64k");
  config_set(c, "big", "2g");
  config_set(c, "flag", "Yes");
  config_set(c, "mode", "os");
  int64_t n;
  cr_assert_eq(config_get_int64(c, "n", 0, 0, 100, &n, err, sizeof err), 0);
  cr_assert_eq(n, 42);
  cr_assert_eq(config_get_int64(c, "n", 0, 0, 10, &n, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, "n:"), "%s", err);
  cr_assert_eq(config_get_int64(c, "bad", 0, 0, 100, &n, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_eq(config_get_int64(c, "unset", 7, 0, 100, &n, err, sizeof err), 0);
  cr_assert_eq(n, 7);
  uint64_t b;
  cr_assert_eq(config_get_bytes(c, "size", 0, 0, UINT64_MAX, &b, err, sizeof err), 0);
  cr_assert_eq(b, 65536u);
  cr_assert_eq(config_get_bytes(c, "big", 0, 0, UINT64_MAX, &b, err, sizeof err), 0);
  cr_assert_eq(b, 2ull << 30);
  cr_assert_eq(config_get_bytes(c, "big", 0, 0, 1u << 30, &b, err, sizeof err), STRATA_EINVALID_CONFIG);
  int f;
  cr_assert_eq(config_get_bool(c, "flag", 0, &f, err, sizeof err), 0);
  cr_assert_eq(f, 1);
  cr_assert_eq(config_get_bool(c, "n", 0, &f, err, sizeof err), STRATA_EINVALID_CONFIG);
  const char *const modes[] = {"always", "interval", "os", NULL};
  int e;
  cr_assert_eq(config_get_enum(c, "mode", modes, 0, &e, err, sizeof err), 0);
  cr_assert_eq(e, 2);
  cr_assert_eq(config_get_enum(c, "n", modes, 0, &e, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, "always interval os"), "%s", err);
  config_free(c);
}

Test(config, unknown_keys_are_refused_by_name) {
  struct config *c = config_new();
  char err[256];
  config_set(c, "log.dir", "/x");
  config_set(c, "plugin.foo", "1");
  const char *const known[] = {"log.dir", "plugin.*", NULL};
  cr_assert_eq(config_check_known(c, known, err, sizeof err), 0);
  config_set(c, "log.dirr", "/y");
  cr_assert_eq(config_check_known(c, known, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, "log.dirr"), "%s", err);
  config_free(c);
}

Test(config, broker_config_defaults_and_errors) {
  struct config *c = config_new();
  char err[256];
  struct broker_config bc;
  cr_assert_eq(broker_config_from(c, &bc, err, sizeof err), 0, "%s", err);
  cr_assert_eq(bc.flush, FLUSH_ALWAYS, "fsync before ack is the default");
  cr_assert_eq(bc.port, 9092);
  config_set(c, "listeners", "PLAINTEXT://127.0.0.2:19093");
  config_set(c, "log.flush.policy", "interval");
  cr_assert_eq(broker_config_from(c, &bc, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(bc.host, "127.0.0.2");
  cr_assert_eq(bc.port, 19093);
  cr_assert_eq(bc.flush, FLUSH_INTERVAL);
  config_set(c, "log.flush.policy", "sometimes");
  cr_assert_eq(broker_config_from(c, &bc, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, "log.flush.policy"), "%s", err);
  config_set(c, "log.flush.policy", "os");
  config_set(c, "listeners", "nohostport");
  cr_assert_eq(broker_config_from(c, &bc, err, sizeof err), STRATA_EINVALID_CONFIG);
  config_free(c);
}
