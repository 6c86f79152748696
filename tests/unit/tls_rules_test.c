/* common/tls_rules.c: ssl.principal.mapping.rules with Kafka's syntax and
 * semantics (KIP-371 and Kafka's SslPrincipalMapper tests' cases). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/errors.h"
#include "common/tls_rules.h"

static char out[256];

static int map(const char *rules, const char *dn) {
  struct tls_rules *r;
  char err[256];
  int rc = tls_rules_parse(rules, &r, err, sizeof err);
  cr_assert_eq(rc, 0, "parse '%s': %s", rules, err);
  rc = tls_rules_apply(r, dn, out, sizeof out);
  tls_rules_free(r);
  return rc;
}

static void expect_map(const char *rules, const char *dn, const char *want) {
  int rc = map(rules, dn);
  cr_expect_eq(rc, 0, "'%s' on '%s': no match", rules, dn);
  cr_expect_str_eq(out, want, "'%s' on '%s'", rules, dn);
}

static void expect_bad(const char *rules, const char *why) {
  struct tls_rules *r = NULL;
  char err[256] = "";
  cr_expect_eq(tls_rules_parse(rules, &r, err, sizeof err), STRATA_EINVALID_CONFIG,
               "'%s' (%s) parsed", rules, why);
  cr_expect_null(r);
  cr_expect(strstr(err, "ssl.principal.mapping.rules"), "error names the key: %s", err);
}

Test(tls_rules, empty_and_default_keep_the_dn) {
  expect_map("", "CN=alice,OU=eng,O=strata", "CN=alice,OU=eng,O=strata");
  expect_map("DEFAULT", "CN=alice,O=strata", "CN=alice,O=strata");
  expect_map(NULL, "CN=a", "CN=a");
}

Test(tls_rules, the_documented_rule_takes_the_cn_lazily) {
  /* .*? must be lazy: a greedy engine maps this to "alice,OU=eng". */
  expect_map("RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1/,DEFAULT", "CN=alice,OU=eng,O=strata", "alice");
  expect_map("RULE:^CN=(.*?),.*$/$1/,DEFAULT", "CN=alice,OU=eng,O=strata", "alice");
  expect_map("RULE:^CN=(.*?),(.*)$/$1@$2/", "CN=alice,OU=eng", "alice@OU=eng");
}

Test(tls_rules, first_matching_rule_wins_and_default_catches_the_rest) {
  const char *rules = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L,DEFAULT";
  expect_map(rules, "CN=kafka1,OU=ServiceUsers,O=Org", "kafka1");
  expect_map(rules, "CN=Duke,OU=SME,O=Org", "duke@sme");
  expect_map(rules, "CN=nobody", "CN=nobody");
}

Test(tls_rules, case_flags_and_newline_separators) {
  expect_map("RULE:^CN=(.*)$/$1/U", "CN=alice", "ALICE");
  expect_map("RULE:^CN=(.*)$/$1/L", "CN=ALICE", "alice");
  expect_map("RULE:^O=x$/no/\n  RULE:^CN=(.*)$/$1/ \n", "CN=bob", "bob");
}

Test(tls_rules, the_pattern_must_match_the_whole_dn) {
  /* Java's Matcher.matches(): "CN=a" alone does not cover the DN. */
  cr_expect_eq(map("RULE:CN=a/x/", "CN=a,O=strata"), STRATA_EINVALID_ARGUMENT);
  expect_map("RULE:CN=a.*/x/", "CN=a,O=strata", "x");
  /* ...and then every match is replaced, as String.replaceAll does. */
  expect_map("RULE:(a|,)+.*/[$0]/", "aa,a", "[aa,a]");
}

Test(tls_rules, escapes_in_patterns_and_replacements) {
  expect_map("RULE:^CN=(.*?)\\/(.*)$/$1\\/x/", "CN=a/b", "a/x");
  expect_map("RULE:^CN=(.*)$/\\$$1/", "CN=a", "$a");
  expect_map("RULE:^CN=(?<who>[a-z]+),.*$/${who}/", "CN=eve,O=x", "eve");
  expect_map("RULE:^(?i)cn=(.*)$/$1/", "CN=Zed", "Zed");
}

Test(tls_rules, no_matching_rule_is_an_error_and_a_long_result_does_not_fit) {
  cr_expect_eq(map("RULE:^CN=bob$/bob/", "CN=alice"), STRATA_EINVALID_ARGUMENT);
  struct tls_rules *r;
  char err[128], small[4];
  cr_assert_eq(tls_rules_parse("DEFAULT", &r, err, sizeof err), 0);
  cr_expect_eq(tls_rules_apply(r, "CN=alice", small, sizeof small), STRATA_ETOO_LARGE);
  cr_expect_str_eq(small, "");
  tls_rules_free(r);
}

Test(tls_rules, bad_rules_are_refused_at_parse_time) {
  expect_bad("RULE:^CN=(.*$/$1/", "unbalanced group");
  expect_bad("RULE:^CN=(.*)$/$2/", "group beyond the pattern");
  expect_bad("RULE:^CN=(.*)$/$1", "no closing slash");
  expect_bad("RULE:^CN=(.*)$/$1/X", "unknown flag");
  expect_bad("RULES:x/y/", "not RULE:");
  expect_bad("DEFAULTS", "not DEFAULT");
  expect_bad("RULE:^CN=(.*)$/${nope}/", "unknown group name");
  expect_bad("RULE:^CN=(.*)$/$/", "dangling $");
  expect_bad("RULE:^CN=(.*)$/a\\/", "dangling backslash");
}

Test(tls_rules, a_backtracking_pattern_is_cut_off_not_hung) {
  char dn[200];
  memset(dn, 'a', sizeof dn - 2);
  dn[sizeof dn - 2] = 'b';
  dn[sizeof dn - 1] = 0;
  /* (a+)+$ against aaaa...b backtracks exponentially without a limit. */
  cr_expect_eq(map("RULE:^(a+)+c$/x/", dn), STRATA_EINVALID_ARGUMENT);
}
