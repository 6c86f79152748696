/* common/acl: Kafka's authorizer decision (DENY wins, default deny, implied
 * operations, super users, patterns, wildcard principal, hosts) and the
 * parsers of principals, super.users, names and ACL entry text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/acl.h"
#include "common/errors.h"

static struct principal who(const char *name, const char *host) {
  struct principal p = {0};
  snprintf(p.name, sizeof p.name, "%s", name);
  snprintf(p.host, sizeof p.host, "%s", host);
  p.authenticated = 1;
  return p;
}

static struct acl_entry rule(int res, int pat, const char *name, const char *principal,
                             const char *host, int op, int perm) {
  struct acl_entry e = {(uint8_t)res, (uint8_t)pat, (uint8_t)op, (uint8_t)perm,
                        (char *)name, (char *)principal, (char *)host};
  return e;
}

static const struct authorizer_config on = {.enabled = 1};

static int may(const struct acl_entry *v, size_t n, const char *principal, const char *host,
               int res, const char *name, int op) {
  struct acl_set s = {(struct acl_entry *)v, n};
  struct principal p = who(principal, host);
  return acl_authorize(&on, &s, &p, res, name, op, NULL);
}

Test(acl, authorizer_off_allows_everything_even_with_a_deny) {
  struct acl_entry d = rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:*", "*", ACL_OP_ALL,
                            ACL_PERM_DENY);
  struct acl_set s = {&d, 1};
  struct authorizer_config off = {0};
  struct principal p = who("User:x", "10.0.0.1");
  cr_assert_eq(acl_authorize(&off, &s, &p, ACL_RES_TOPIC, "t", ACL_OP_WRITE, NULL), 1);
}

Test(acl, default_is_deny_when_on_and_no_acl_matches) {
  cr_assert_eq(may(NULL, 0, "User:alice", "10.0.0.1", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
}

Test(acl, allow_everyone_if_no_acl_found_applies_only_to_resources_without_any_acl) {
  struct acl_entry a = rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "guarded", "User:bob", "*",
                            ACL_OP_READ, ACL_PERM_ALLOW);
  struct acl_set s = {&a, 1};
  struct authorizer_config c = {.enabled = 1, .allow_if_no_acl = 1};
  struct principal alice = who("User:alice", "10.0.0.1");
  cr_assert_eq(acl_authorize(&c, &s, &alice, ACL_RES_TOPIC, "open", ACL_OP_WRITE, NULL), 1);
  /* "guarded" has an ACL (for bob): alice is denied there */
  cr_assert_eq(acl_authorize(&c, &s, &alice, ACL_RES_TOPIC, "guarded", ACL_OP_READ, NULL), 0);
  /* and off by default */
  cr_assert_eq(acl_authorize(&on, &s, &alice, ACL_RES_TOPIC, "open", ACL_OP_WRITE, NULL), 0);
}

Test(acl, deny_beats_allow_in_either_order) {
  struct acl_entry v[2] = {
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:alice", "*", ACL_OP_READ, ACL_PERM_ALLOW),
      rule(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "t", "User:alice", "*", ACL_OP_READ, ACL_PERM_DENY),
  };
  cr_assert_eq(may(v, 2, "User:alice", "1.2.3.4", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  struct acl_entry w[2] = {v[1], v[0]};
  cr_assert_eq(may(w, 2, "User:alice", "1.2.3.4", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  /* the allow alone allows */
  cr_assert_eq(may(v, 1, "User:alice", "1.2.3.4", ACL_RES_TOPIC, "t", ACL_OP_READ), 1);
}

Test(acl, deny_all_denies_every_operation_and_deny_read_not_describe) {
  struct acl_entry v[2] = {
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", ACL_OP_ALL, ACL_PERM_ALLOW),
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", ACL_OP_READ, ACL_PERM_DENY),
  };
  cr_assert_eq(may(v, 2, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  cr_assert_eq(may(v, 2, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE), 1);
  cr_assert_eq(may(v, 2, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_WRITE), 1);
  v[1].op = ACL_OP_ALL;
  cr_assert_eq(may(v, 2, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE), 0);
}

Test(acl, prefixed_ev_matches_events_and_literal_ev_does_not) {
  struct acl_entry pre =
      rule(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "ev", "User:a", "*", ACL_OP_READ, ACL_PERM_ALLOW);
  struct acl_entry lit =
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "ev", "User:a", "*", ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&pre, 1, "User:a", "", ACL_RES_TOPIC, "events", ACL_OP_READ), 1);
  cr_assert_eq(may(&pre, 1, "User:a", "", ACL_RES_TOPIC, "ev", ACL_OP_READ), 1);
  cr_assert_eq(may(&pre, 1, "User:a", "", ACL_RES_TOPIC, "e", ACL_OP_READ), 0);
  cr_assert_eq(may(&pre, 1, "User:a", "", ACL_RES_TOPIC, "xevents", ACL_OP_READ), 0);
  cr_assert_eq(may(&lit, 1, "User:a", "", ACL_RES_TOPIC, "events", ACL_OP_READ), 0);
  cr_assert_eq(may(&lit, 1, "User:a", "", ACL_RES_TOPIC, "ev", ACL_OP_READ), 1);
}

Test(acl, literal_star_matches_every_name_but_prefixed_star_only_stars) {
  struct acl_entry lit =
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "*", "User:a", "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
  cr_assert_eq(may(&lit, 1, "User:a", "", ACL_RES_TOPIC, "anything", ACL_OP_WRITE), 1);
  struct acl_entry pre =
      rule(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "*", "User:a", "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
  cr_assert_eq(may(&pre, 1, "User:a", "", ACL_RES_TOPIC, "anything", ACL_OP_WRITE), 0);
}

Test(acl, resource_types_do_not_cross) {
  struct acl_entry g =
      rule(ACL_RES_GROUP, ACL_PAT_LITERAL, "x", "User:a", "*", ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&g, 1, "User:a", "", ACL_RES_TOPIC, "x", ACL_OP_READ), 0);
  cr_assert_eq(may(&g, 1, "User:a", "", ACL_RES_GROUP, "x", ACL_OP_READ), 1);
}

Test(acl, user_star_matches_every_principal) {
  struct acl_entry a =
      rule(ACL_RES_GROUP, ACL_PAT_LITERAL, "g", "User:*", "*", ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&a, 1, "User:anyone", "", ACL_RES_GROUP, "g", ACL_OP_READ), 1);
  cr_assert_eq(may(&a, 1, PRINCIPAL_ANONYMOUS, "", ACL_RES_GROUP, "g", ACL_OP_READ), 1);
  /* a DENY for User:* beats an ALLOW for the user */
  struct acl_entry v[2] = {
      rule(ACL_RES_GROUP, ACL_PAT_LITERAL, "g", "User:bob", "*", ACL_OP_READ, ACL_PERM_ALLOW),
      rule(ACL_RES_GROUP, ACL_PAT_LITERAL, "g", "User:*", "*", ACL_OP_READ, ACL_PERM_DENY)};
  cr_assert_eq(may(v, 2, "User:bob", "", ACL_RES_GROUP, "g", ACL_OP_READ), 0);
}

Test(acl, principals_match_case_sensitively) {
  struct acl_entry a =
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:alice", "*", ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&a, 1, "User:alice", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 1);
  cr_assert_eq(may(&a, 1, "user:alice", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  cr_assert_eq(may(&a, 1, "User:Alice", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  cr_assert_eq(may(&a, 1, "User:alice2", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
}

Test(acl, host_rules_apply_and_compare_as_addresses) {
  struct acl_entry a = rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "10.0.0.1",
                            ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&a, 1, "User:a", "10.0.0.1", ACL_RES_TOPIC, "t", ACL_OP_READ), 1);
  cr_assert_eq(may(&a, 1, "User:a", "10.0.0.2", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  cr_assert_eq(may(&a, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  cr_assert_eq(may(&a, 1, "User:a", "::ffff:10.0.0.1", ACL_RES_TOPIC, "t", ACL_OP_READ), 1);
  struct acl_entry d = rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "10.0.0.9",
                            ACL_OP_READ, ACL_PERM_DENY);
  struct acl_entry v[2] = {
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", ACL_OP_READ, ACL_PERM_ALLOW), d};
  cr_assert_eq(may(v, 2, "User:a", "10.0.0.9", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  cr_assert_eq(may(v, 2, "User:a", "10.0.0.8", ACL_RES_TOPIC, "t", ACL_OP_READ), 1);
  struct acl_entry six = rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "::1",
                              ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&six, 1, "User:a", "0:0::1", ACL_RES_TOPIC, "t", ACL_OP_READ), 1);
}

Test(acl, read_write_delete_alter_imply_describe_and_alter_configs_describe_configs) {
  int implying[] = {ACL_OP_READ, ACL_OP_WRITE, ACL_OP_DELETE, ACL_OP_ALTER};
  for (size_t i = 0; i < 4; i++) {
    struct acl_entry a =
        rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", implying[i], ACL_PERM_ALLOW);
    cr_assert_eq(may(&a, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE), 1, "%d", i);
  }
  struct acl_entry c = rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*",
                            ACL_OP_ALTER_CONFIGS, ACL_PERM_ALLOW);
  cr_assert_eq(may(&c, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE_CONFIGS), 1);
  cr_assert_eq(may(&c, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE), 0);
  /* and not the other way round */
  struct acl_entry d =
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", ACL_OP_DESCRIBE, ACL_PERM_ALLOW);
  cr_assert_eq(may(&d, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_READ), 0);
  struct acl_entry r =
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", ACL_OP_READ, ACL_PERM_ALLOW);
  cr_assert_eq(may(&r, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_WRITE), 0);
  cr_assert_eq(may(&r, 1, "User:a", "", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE_CONFIGS), 0);
}

Test(acl, all_allows_every_operation) {
  struct acl_entry a =
      rule(ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_CLUSTER_NAME, "User:a", "*", ACL_OP_ALL,
           ACL_PERM_ALLOW);
  for (int op = ACL_OP_READ; op <= ACL_OP_IDEMPOTENT_WRITE; op++)
    cr_assert_eq(may(&a, 1, "User:a", "", ACL_RES_CLUSTER, ACL_CLUSTER_NAME, op), 1, "%d", op);
  cr_assert_eq(may(&a, 1, "User:a", "", ACL_RES_CLUSTER, ACL_CLUSTER_NAME, ACL_OP_ANY), 0);
}

Test(acl, super_users_pass_even_a_deny_and_are_exact) {
  struct authorizer_config c = {.enabled = 1};
  char err[128];
  cr_assert_eq(authorizer_set_super_users(&c, " User:admin ; ;User:CN=broker-1,O=strata;", err,
                                          sizeof err),
               0, "%s", err);
  cr_assert_eq(c.nsuper, 2);
  cr_assert_str_eq(c.super_users[1], "User:CN=broker-1,O=strata");
  struct acl_entry d =
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "*", "User:*", "*", ACL_OP_ALL, ACL_PERM_DENY);
  struct acl_set s = {&d, 1};
  struct principal admin = who("User:admin", "1.1.1.1");
  struct principal other = who("User:Admin", "1.1.1.1");
  const struct acl_entry *by = &d;
  cr_assert_eq(acl_authorize(&c, &s, &admin, ACL_RES_TOPIC, "t", ACL_OP_WRITE, &by), 1);
  cr_assert_null(by);
  cr_assert_eq(acl_authorize(&c, &s, &other, ACL_RES_TOPIC, "t", ACL_OP_WRITE, &by), 0);
  cr_assert_eq(by, &d);
  authorizer_config_free(&c);
  cr_assert_eq(c.nsuper, 0);
}

Test(acl, super_users_refuses_bad_principals_and_too_many) {
  struct authorizer_config c = {0};
  char err[128] = "";
  cr_assert_eq(authorizer_set_super_users(&c, "admin", err, sizeof err),
               STRATA_EINVALID_CONFIG);
  cr_assert_not_null(strstr(err, "admin"), "%s", err);
  cr_assert_eq(authorizer_set_super_users(&c, "User:", err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_eq(authorizer_set_super_users(&c, ":x", err, sizeof err), STRATA_EINVALID_CONFIG);
  char many[ACL_SUPER_USERS_MAX * 10 + 20] = "";
  for (int i = 0; i <= ACL_SUPER_USERS_MAX; i++) sprintf(many + strlen(many), "User:u%d;", i);
  cr_assert_eq(authorizer_set_super_users(&c, many, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_eq(c.nsuper, 0);
  cr_assert_eq(authorizer_set_super_users(&c, "", err, sizeof err), 0);
  cr_assert_eq(c.nsuper, 0);
  authorizer_config_free(&c);
}

Test(acl, principal_check_wants_type_colon_name_without_control_bytes) {
  cr_assert_eq(acl_principal_check("User:alice"), 0);
  cr_assert_eq(acl_principal_check("User:*"), 0);
  cr_assert_eq(acl_principal_check("User:CN=a b,O=c"), 0);
  cr_assert_eq(acl_principal_check("alice"), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(acl_principal_check("User:"), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(acl_principal_check(":alice"), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(acl_principal_check("Us er:alice"), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(acl_principal_check("User:a\nb"), STRATA_EINVALID_ARGUMENT);
  char big[PRINCIPAL_MAX + 8];
  memset(big, 'a', sizeof big);
  memcpy(big, "User:", 5);
  big[sizeof big - 1] = 0;
  cr_assert_eq(acl_principal_check(big), STRATA_EINVALID_ARGUMENT);
}

Test(acl, names_parse_loosely_and_print_as_kafka_spells_them) {
  cr_assert_eq(acl_op_parse("ClusterAction"), ACL_OP_CLUSTER_ACTION);
  cr_assert_eq(acl_op_parse("CLUSTER_ACTION"), ACL_OP_CLUSTER_ACTION);
  cr_assert_eq(acl_op_parse("cluster-action"), ACL_OP_CLUSTER_ACTION);
  cr_assert_eq(acl_op_parse("idempotentwrite"), ACL_OP_IDEMPOTENT_WRITE);
  cr_assert_eq(acl_op_parse("reads"), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(acl_op_parse(""), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(acl_resource_parse("transactional-id"), ACL_RES_TRANSACTIONAL_ID);
  cr_assert_eq(acl_resource_parse("TOPIC"), ACL_RES_TOPIC);
  cr_assert_eq(acl_pattern_parse("prefixed"), ACL_PAT_PREFIXED);
  cr_assert_eq(acl_perm_parse("DENY"), ACL_PERM_DENY);
  cr_assert_str_eq(acl_op_name(ACL_OP_DESCRIBE_CONFIGS), "DescribeConfigs");
  cr_assert_str_eq(acl_resource_name(ACL_RES_GROUP), "Group");
  cr_assert_str_eq(acl_op_name(99), "Unknown");
}

Test(acl, entry_text_parses_with_defaults_and_formats_back) {
  struct acl_entry e;
  char err[128] = "";
  cr_assert_eq(acl_entry_parse("resource=topic; pattern=prefixed;name=ev;principal=User:a;"
                               "operation=read",
                               &e, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(e.resource, ACL_RES_TOPIC);
  cr_assert_eq(e.pattern, ACL_PAT_PREFIXED);
  cr_assert_eq(e.op, ACL_OP_READ);
  cr_assert_eq(e.perm, ACL_PERM_ALLOW);
  cr_assert_str_eq(e.host, "*");
  cr_assert_str_eq(e.name, "ev");
  char text[ACL_TEXT_MAX];
  acl_entry_format(&e, text, sizeof text);
  cr_assert_str_eq(text, "resource=Topic;pattern=Prefixed;name=ev;principal=User:a;host=*;"
                         "operation=Read;permission=Allow");
  acl_entry_free(&e);
  cr_assert_eq(acl_entry_parse("resource=cluster;principal=User:broker-1;operation=ClusterAction",
                               &e, err, sizeof err),
               0, "%s", err);
  cr_assert_str_eq(e.name, ACL_CLUSTER_NAME);
  acl_entry_free(&e);
}

Test(acl, entry_text_escapes_semicolons_and_backslashes_round_trip) {
  struct acl_entry e = rule(ACL_RES_GROUP, ACL_PAT_LITERAL, "g;1\\x", "User:CN=a;b,O=c",
                            "10.1.2.3", ACL_OP_DELETE, ACL_PERM_DENY);
  char text[ACL_TEXT_MAX], err[128] = "";
  size_t need = acl_entry_format(&e, text, sizeof text);
  cr_assert_eq(need, strlen(text));
  struct acl_entry back;
  cr_assert_eq(acl_entry_parse(text, &back, err, sizeof err), 0, "%s: %s", text, err);
  cr_assert_str_eq(back.name, "g;1\\x");
  cr_assert_str_eq(back.principal, "User:CN=a;b,O=c");
  cr_assert_str_eq(back.host, "10.1.2.3");
  cr_assert_eq(back.perm, ACL_PERM_DENY);
  acl_entry_free(&back);
  /* a short buffer is terminated and the needed length returned */
  char small[8];
  cr_assert_eq(acl_entry_format(&e, small, sizeof small), need);
  cr_assert_eq(strlen(small), 7);
}

Test(acl, entry_text_refuses_bad_input_with_a_reason) {
  const char *bad[] = {
      "",
      "resource=topic;name=t;operation=read",                      /* no principal */
      "resource=topic;principal=User:a;operation=read",            /* no name */
      "resource=topic;name=t;principal=alice;operation=read",      /* bad principal */
      "resource=topic;name=t;principal=User:a;operation=any",      /* filter value */
      "resource=any;name=t;principal=User:a;operation=read",       /* filter value */
      "resource=topic;name=t;principal=User:a;operation=read;pattern=match",
      "resource=topic;name=t;principal=User:a;operation=read;host=example.com",
      "resource=topic;name=t;principal=User:a;operation=read;name=u", /* twice */
      "resource=topic;name=t;principal=User:a;operation=read;color=red",
      "resource=topic;name=t;principal=User:a;operation=read;junk",
      "resource=cluster;name=other;principal=User:a;operation=alter",
      "resource=topic;name=t\\",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct acl_entry e;
    char err[128] = "";
    cr_assert_eq(acl_entry_parse(bad[i], &e, err, sizeof err), STRATA_EINVALID_ARGUMENT, "%s",
                 bad[i]);
    cr_assert_neq(err[0], 0, "%s", bad[i]);
    cr_assert_null(e.name);
  }
}

Test(acl, any_topic_write_for_idempotent_producers_kip_679) {
  struct acl_set none = {NULL, 0};
  struct principal a = who("User:a", "10.0.0.1");
  cr_assert_eq(acl_authorize_any(&on, &none, &a, ACL_RES_TOPIC, ACL_OP_WRITE), 0);
  struct acl_entry v[3] = {
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", "User:a", "*", ACL_OP_WRITE, ACL_PERM_ALLOW),
      rule(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "t", "User:a", "*", ACL_OP_WRITE, ACL_PERM_DENY),
      rule(ACL_RES_TOPIC, ACL_PAT_LITERAL, "*", "User:*", "*", ACL_OP_WRITE, ACL_PERM_DENY),
  };
  struct acl_set s = {v, 1};
  cr_assert_eq(acl_authorize_any(&on, &s, &a, ACL_RES_TOPIC, ACL_OP_WRITE), 1);
  cr_assert_eq(acl_authorize_any(&on, &s, &a, ACL_RES_TOPIC, ACL_OP_READ), 0);
  cr_assert_eq(acl_authorize_any(&on, &s, &a, ACL_RES_GROUP, ACL_OP_WRITE), 0);
  s.n = 2; /* the prefixed deny covers the only allow */
  cr_assert_eq(acl_authorize_any(&on, &s, &a, ACL_RES_TOPIC, ACL_OP_WRITE), 0);
  v[1].name = "tx"; /* no longer */
  cr_assert_eq(acl_authorize_any(&on, &s, &a, ACL_RES_TOPIC, ACL_OP_WRITE), 1);
  s.n = 3; /* deny everyone every topic */
  cr_assert_eq(acl_authorize_any(&on, &s, &a, ACL_RES_TOPIC, ACL_OP_WRITE), 0);
}
