/* Users and ACLs as cluster metadata, without sockets: the controller's
 * decisions and their refusals, the records replaying (through the metadata
 * log, across a snapshot) to the same users and ACLs, the image round trip
 * a broker receives, Kafka's ANY/MATCH filter semantics, the names
 * kafka-acls uses, and KIP-554's keys from a SaltedPassword. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"
#include "common/acl_filter.h"
#include "common/errors.h"
#include "common/scram.h"
#include "common/scram_salted.h"
#include "common/secmeta.h"
#include "common/trace.h"
#include "controller/controller.h"
#include "controller/ctrl.h"
#include "controller/metalog.h"
#include "drill/proc.h"

static struct ctrl c;
static char *dir;

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  struct ctrl_config cfg = {1000, 0, 5000, 300, 0};
  ctrl_init(&c, 0, &cfg);
}

static void teardown(void) {
  ctrl_free(&c);
  if (dir) proc_rm_rf(dir);
  free(dir);
  dir = NULL;
}

TestSuite(secmeta, .init = setup, .fini = teardown);

static void commit(struct ctrl_out *out) {
  for (size_t i = 0; i < out->n; i++) cr_assert_eq(ctrl_apply(&c, out->recs[i]), 0);
  ctrl_out_reset(out);
}

/* A credential message for user/mech made from a password. */
static Strata__ScramCredential *cred_msg(const char *user, enum scram_mech m, const char *pw,
                                         struct scram_credential *keep) {
  static Strata__ScramCredential msg;
  cr_assert_eq(scram_credential_make(m, pw, strlen(pw), 4096, NULL, 0, keep), 0);
  strata__scram_credential__init(&msg);
  msg.user = (char *)user;
  msg.mechanism = m;
  msg.iterations = keep->iterations;
  msg.salt = (ProtobufCBinaryData){keep->salt_len, keep->salt};
  msg.stored_key = (ProtobufCBinaryData){keep->key_len, keep->stored_key};
  msg.server_key = (ProtobufCBinaryData){keep->key_len, keep->server_key};
  return &msg;
}

static void add_user(const char *user, enum scram_mech m, const char *pw) {
  struct ctrl_out out = {0};
  struct scram_credential k;
  char err[128];
  cr_assert_eq(ctrl_user_upsert(&c, cred_msg(user, m, pw, &k), &out, err, sizeof err), 0, "%s",
               err);
  commit(&out);
}

static Strata__AclBinding binding(uint32_t rt, const char *name, uint32_t pt, const char *who,
                                  uint32_t op, uint32_t perm) {
  Strata__AclBinding b = STRATA__ACL_BINDING__INIT;
  b.resource_type = rt;
  b.resource_name = (char *)name;
  b.pattern_type = pt;
  b.principal = (char *)who;
  b.host = (char *)"*";
  b.operation = op;
  b.permission = perm;
  return b;
}

static int add_acl(uint32_t rt, const char *name, uint32_t pt, const char *who, uint32_t op,
                   uint32_t perm) {
  struct ctrl_out out = {0};
  Strata__AclBinding b = binding(rt, name, pt, who, op, perm);
  char err[128];
  int rc = ctrl_acl_create(&c, &b, &out, err, sizeof err);
  commit(&out);
  return rc;
}

Test(secmeta, a_user_gets_a_credential_per_mechanism_and_the_lookups_find_them) {
  add_user("alice", SCRAM_SHA_256, "pencil");
  add_user("alice", SCRAM_SHA_512, "pencil");
  add_user("bob", SCRAM_SHA_256, "secret");
  const struct scram_credential *a = ctrl_scram_credential(&c, "alice", SCRAM_SHA_512);
  cr_assert_not_null(a);
  cr_assert_eq(a->key_len, 64u);
  cr_assert_eq(a->iterations, 4096);
  cr_assert(scram_credential_check_password(a, "pencil", 6), "the stored keys check the password");
  cr_assert_not(scram_credential_check_password(a, "pencil2", 7));
  cr_assert_null(ctrl_scram_credential(&c, "bob", SCRAM_SHA_512), "bob has no -512 credential");
  cr_assert_null(ctrl_scram_credential(&c, "carol", SCRAM_SHA_256));
  cr_assert_eq(c.sec.nusers, 2u);
}

Test(secmeta, removing_a_credential_keeps_the_user_until_the_last_one_goes) {
  add_user("alice", SCRAM_SHA_256, "pencil");
  add_user("alice", SCRAM_SHA_512, "pencil");
  struct ctrl_out out = {0};
  char err[128];
  cr_assert_eq(ctrl_user_delete(&c, "alice", SCRAM_SHA_256, &out, err, sizeof err), 0);
  commit(&out);
  cr_assert_null(ctrl_scram_credential(&c, "alice", SCRAM_SHA_256));
  cr_assert_not_null(ctrl_scram_credential(&c, "alice", SCRAM_SHA_512));
  cr_assert_eq(ctrl_user_delete(&c, "alice", SCRAM_SHA_256, &out, err, sizeof err),
               STRATA_ERESOURCE_NOT_FOUND, "the credential is gone already");
  cr_assert_eq(ctrl_user_delete(&c, "alice", 0, &out, err, sizeof err), 0);
  commit(&out);
  cr_assert_eq(c.sec.nusers, 0u);
  cr_assert_eq(ctrl_user_delete(&c, "alice", 0, &out, err, sizeof err),
               STRATA_ERESOURCE_NOT_FOUND);
  cr_assert_eq(out.n, 0u, "a refusal emits no record");
}

Test(secmeta, unacceptable_credentials_are_refused_with_no_record) {
  struct ctrl_out out = {0};
  struct scram_credential k;
  char err[128];
  Strata__ScramCredential *m = cred_msg("alice", SCRAM_SHA_256, "pw", &k);
  m->iterations = 1000;
  cr_assert_eq(ctrl_user_upsert(&c, m, &out, err, sizeof err), STRATA_EUNACCEPTABLE_CREDENTIAL);
  m->iterations = 4096;
  m->stored_key.len = 31;
  cr_assert_eq(ctrl_user_upsert(&c, m, &out, err, sizeof err), STRATA_EUNACCEPTABLE_CREDENTIAL);
  m->stored_key.len = 32;
  m->mechanism = 3;
  cr_assert_eq(ctrl_user_upsert(&c, m, &out, err, sizeof err), STRATA_EUNACCEPTABLE_CREDENTIAL);
  m->mechanism = SCRAM_SHA_256;
  m->user = (char *)"";
  cr_assert_eq(ctrl_user_upsert(&c, m, &out, err, sizeof err), STRATA_EUNACCEPTABLE_CREDENTIAL);
  m->user = (char *)"alice";
  m->salt.len = 0;
  cr_assert_eq(ctrl_user_upsert(&c, m, &out, err, sizeof err), STRATA_EUNACCEPTABLE_CREDENTIAL);
  cr_assert_eq(out.n, 0u);
}

Test(secmeta, acls_are_checked_and_a_duplicate_adds_nothing) {
  cr_assert_eq(add_acl(ACL_RES_TOPIC, "orders", ACL_PAT_LITERAL, "User:alice", ACL_OP_READ,
                       ACL_PERM_ALLOW), 0);
  size_t v = (size_t)c.version;
  struct ctrl_out out = {0};
  Strata__AclBinding b = binding(ACL_RES_TOPIC, "orders", ACL_PAT_LITERAL, "User:alice",
                                 ACL_OP_READ, ACL_PERM_ALLOW);
  char err[128];
  cr_assert_eq(ctrl_acl_create(&c, &b, &out, err, sizeof err), 0);
  cr_assert_eq(out.n, 0u, "the same ACL again: success, no record (Kafka)");
  cr_assert_eq((size_t)c.version, v);
  static const struct {
    Strata__AclBinding b;
    const char *why;
  } bad[] = {
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_ANY, (char *)"t",
        ACL_PAT_LITERAL, (char *)"User:a", (char *)"*", ACL_OP_READ, ACL_PERM_ALLOW},
       "ANY resource"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_TOPIC, (char *)"t",
        ACL_PAT_MATCH, (char *)"User:a", (char *)"*", ACL_OP_READ, ACL_PERM_ALLOW},
       "MATCH pattern"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_TOPIC, (char *)"t",
        ACL_PAT_LITERAL, (char *)"User:a", (char *)"*", ACL_OP_ANY, ACL_PERM_ALLOW},
       "ANY operation"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_TOPIC, (char *)"t",
        ACL_PAT_LITERAL, (char *)"User:a", (char *)"*", ACL_OP_READ, ACL_PERM_ANY},
       "ANY permission"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_TOPIC, (char *)"",
        ACL_PAT_LITERAL, (char *)"User:a", (char *)"*", ACL_OP_READ, ACL_PERM_ALLOW},
       "empty name"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_TOPIC, (char *)"t",
        ACL_PAT_LITERAL, (char *)"alice", (char *)"*", ACL_OP_READ, ACL_PERM_ALLOW},
       "principal without a type"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_CLUSTER, (char *)"c",
        ACL_PAT_LITERAL, (char *)"User:a", (char *)"*", ACL_OP_ALTER, ACL_PERM_ALLOW},
       "a cluster not called kafka-cluster"},
      {{PROTOBUF_C_MESSAGE_INIT(&strata__acl_binding__descriptor), ACL_RES_TOPIC, (char *)"t",
        ACL_PAT_LITERAL, (char *)"User:a", (char *)"", ACL_OP_READ, ACL_PERM_ALLOW},
       "empty host"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(ctrl_acl_create(&c, &bad[i].b, &out, err, sizeof err), STRATA_EINVALID_REQUEST,
                 "%s is refused", bad[i].why);
    cr_assert_eq(out.n, 0u);
  }
}

/* The ACLs a filter selects, as a string of their indexes ("013"). */
static const char *selected(const struct acl_filter *f) {
  static char buf[64];
  size_t n = 0;
  const struct acl_set *s = ctrl_acls(&c);
  for (size_t i = 0; i < s->n && n + 1 < sizeof buf; i++)
    if (acl_filter_matches(f, &s->v[i])) buf[n++] = (char)('0' + i);
  buf[n] = 0;
  return buf;
}

Test(secmeta, filters_follow_kafkas_any_and_match_semantics) {
  add_acl(ACL_RES_TOPIC, "orders", ACL_PAT_LITERAL, "User:alice", ACL_OP_READ, ACL_PERM_ALLOW); /* 0 */
  add_acl(ACL_RES_TOPIC, "ord", ACL_PAT_PREFIXED, "User:bob", ACL_OP_WRITE, ACL_PERM_ALLOW);    /* 1 */
  add_acl(ACL_RES_TOPIC, "*", ACL_PAT_LITERAL, "User:*", ACL_OP_DESCRIBE, ACL_PERM_ALLOW);     /* 2 */
  add_acl(ACL_RES_GROUP, "orders", ACL_PAT_LITERAL, "User:alice", ACL_OP_READ, ACL_PERM_DENY); /* 3 */
  add_acl(ACL_RES_TOPIC, "payments", ACL_PAT_LITERAL, "User:alice", ACL_OP_READ,
          ACL_PERM_ALLOW); /* 4 */
  struct acl_filter f;
  acl_filter_any(&f);
  cr_assert_str_eq(selected(&f), "01234");
  f.resource = ACL_RES_TOPIC;
  cr_assert_str_eq(selected(&f), "0124");
  f.name = "orders"; /* ANY pattern with a name: that exact name, either pattern type */
  cr_assert_str_eq(selected(&f), "0");
  f.pattern = ACL_PAT_MATCH; /* every ACL that applies to topic "orders" */
  cr_assert_str_eq(selected(&f), "012");
  f.pattern = ACL_PAT_PREFIXED;
  cr_assert_str_eq(selected(&f), "", "no PREFIXED ACL is named orders");
  f.name = "ord";
  cr_assert_str_eq(selected(&f), "1");
  acl_filter_any(&f);
  f.principal = "User:alice";
  cr_assert_str_eq(selected(&f), "034");
  f.principal = "User:*"; /* exact: the wildcard ACLs, not everyone's */
  cr_assert_str_eq(selected(&f), "2");
  acl_filter_any(&f);
  f.perm = ACL_PERM_DENY;
  cr_assert_str_eq(selected(&f), "3");
  acl_filter_any(&f);
  f.op = ACL_OP_READ;
  f.resource = ACL_RES_GROUP;
  cr_assert_str_eq(selected(&f), "3");
  f.host = "10.0.0.1"; /* exact too */
  cr_assert_str_eq(selected(&f), "");
  /* From the wire: code 0 and "" are ANY; codes Kafka lacks are refused */
  Strata__AclBinding w = STRATA__ACL_BINDING__INIT;
  cr_assert_eq(acl_filter_from_msg(&w, &f), 0);
  cr_assert_str_eq(selected(&f), "01234");
  w.operation = 13;
  cr_assert_eq(acl_filter_from_msg(&w, &f), STRATA_EINVALID_REQUEST);
}

Test(secmeta, delete_removes_what_the_filter_matches_in_chunks) {
  char name[32];
  for (int i = 0; i < CTRL_OUT_MAX + 100; i++) { /* more than one decision may emit */
    snprintf(name, sizeof name, "t%d", i);
    cr_assert_eq(add_acl(ACL_RES_TOPIC, name, ACL_PAT_LITERAL, "User:a", ACL_OP_READ,
                         ACL_PERM_ALLOW), 0);
  }
  add_acl(ACL_RES_GROUP, "g", ACL_PAT_LITERAL, "User:a", ACL_OP_READ, ACL_PERM_ALLOW);
  struct acl_filter f;
  acl_filter_any(&f);
  f.resource = ACL_RES_TOPIC;
  int more = 1, rounds = 0;
  while (more) {
    struct ctrl_out out = {0};
    cr_assert_eq(ctrl_acl_delete(&c, &f, &out, &more), 0);
    commit(&out);
    cr_assert_lt(++rounds, 3);
  }
  cr_assert_eq(rounds, 2, "a full batch, committed, then the rest");
  cr_assert_eq(ctrl_acls(&c)->n, 1u, "only the group's ACL is left");
}

/* The image of c, packed. */
static uint8_t *packed(const struct ctrl *x, size_t *len) {
  Strata__MetadataImage *img = ctrl_image(x);
  *len = strata__metadata_image__get_packed_size(img);
  uint8_t *p = malloc(*len);
  strata__metadata_image__pack(img, p);
  ctrl_image_free(img);
  return p;
}

Test(secmeta, records_replay_through_the_log_and_a_snapshot_after_kill) {
  dir = proc_tmpdir("strata-secmeta");
  struct metalog m;
  char err[256];
  ctrl_free(&c);
  struct ctrl_config cfg = {1000, 0, 5000, 0, 0};
  ctrl_init(&c, 0, &cfg);
  cr_assert_eq(metalog_open(&m, dir, &c, err, sizeof err), 0, "%s", err);
  struct ctrl_out out = {0};
  char name[32];
  for (int i = 0; i < 1100; i++) { /* past METALOG_SNAPSHOT_EVERY */
    snprintf(name, sizeof name, "user%d", i % 40);
    struct scram_credential k;
    cr_assert_eq(ctrl_user_upsert(&c, cred_msg(name, i % 2 ? SCRAM_SHA_512 : SCRAM_SHA_256, "pw", &k),
                                  &out, err, sizeof err), 0);
    cr_assert_eq(metalog_commit(&m, &c, &out), 0);
    snprintf(name, sizeof name, "topic%d", i % 300);
    Strata__AclBinding b = binding(ACL_RES_TOPIC, name, i % 3 ? ACL_PAT_LITERAL : ACL_PAT_PREFIXED,
                                   "User:x", ACL_OP_READ, ACL_PERM_ALLOW);
    cr_assert_eq(ctrl_acl_create(&c, &b, &out, err, sizeof err), 0);
    cr_assert_eq(metalog_commit(&m, &c, &out), 0);
    if (i % 10 == 0) {
      struct acl_filter f;
      acl_filter_any(&f);
      f.name = name;
      int more;
      cr_assert_eq(ctrl_acl_delete(&c, &f, &out, &more), 0);
      cr_assert_eq(metalog_commit(&m, &c, &out), 0);
    }
    if (i % 50 == 0) {
      snprintf(name, sizeof name, "user%d", (i / 50) % 40);
      if (secmeta_user(&c.sec, name)) {
        cr_assert_eq(ctrl_user_delete(&c, name, 0, &out, err, sizeof err), 0);
        cr_assert_eq(metalog_commit(&m, &c, &out), 0);
      }
    }
  }
  metalog_close(&m); /* no shutdown step: what is on disk is what a kill -9 leaves */
  struct ctrl b;
  ctrl_init(&b, 0, &cfg);
  cr_assert_eq(metalog_open(&m, dir, &b, err, sizeof err), 0, "%s", err);
  metalog_close(&m);
  size_t la, lb;
  uint8_t *pa = packed(&c, &la), *pb = packed(&b, &lb);
  cr_assert_eq(la, lb);
  cr_assert_eq(memcmp(pa, pb, la), 0, "the replayed users and ACLs equal the live ones");
  cr_assert_gt(b.sec.nusers, 0u);
  cr_assert_gt(b.sec.acls.n, 0u);
  free(pa);
  free(pb);
  ctrl_free(&b);
}

Test(secmeta, the_image_a_broker_loads_has_the_same_users_and_acls) {
  add_user("alice", SCRAM_SHA_256, "pencil");
  add_user("bob", SCRAM_SHA_512, "secret");
  add_acl(ACL_RES_CLUSTER, ACL_CLUSTER_NAME, ACL_PAT_LITERAL, "User:alice", ACL_OP_ALTER,
          ACL_PERM_ALLOW);
  add_acl(ACL_RES_TOPIC, "t", ACL_PAT_PREFIXED, "User:bob", ACL_OP_WRITE, ACL_PERM_DENY);
  Strata__MetadataImage *img = ctrl_image(&c);
  size_t n = strata__metadata_image__get_packed_size(img);
  uint8_t *buf = malloc(n);
  strata__metadata_image__pack(img, buf);
  ctrl_image_free(img);
  Strata__MetadataImage *got = strata__metadata_image__unpack(NULL, n, buf);
  cr_assert_not_null(got);
  struct secmeta s;
  secmeta_init(&s);
  cr_assert_eq(secmeta_load_image(&s, got), 0);
  const struct scram_credential *a = secmeta_credential(&s, "alice", SCRAM_SHA_256);
  const struct scram_credential *ca = ctrl_scram_credential(&c, "alice", SCRAM_SHA_256);
  cr_assert_not_null(a);
  cr_assert_eq(memcmp(a, ca, sizeof *a), 0);
  cr_assert_null(secmeta_credential(&s, "alice", SCRAM_SHA_512));
  cr_assert_not_null(secmeta_credential(&s, "bob", SCRAM_SHA_512));
  cr_assert_eq(secmeta_acls(&s)->n, 2u);
  cr_assert(secmeta_acl_equal(&secmeta_acls(&s)->v[1], &ctrl_acls(&c)->v[1]));
  /* a damaged image (a key of the wrong length) loads nothing */
  got->scram_credentials[0]->stored_key.len = 5;
  cr_assert_neq(secmeta_load_image(&s, got), 0);
  cr_assert_eq(s.nusers, 0u);
  cr_assert_eq(secmeta_acls(&s)->n, 0u);
  strata__metadata_image__free_unpacked(got, NULL);
  free(buf);
  secmeta_free(&s);
}

Test(secmeta, a_malformed_record_does_not_apply) {
  Strata__MetadataRecord r = STRATA__METADATA_RECORD__INIT;
  Strata__AclBinding b = binding(ACL_RES_ANY, "t", ACL_PAT_LITERAL, "User:a", ACL_OP_READ,
                                 ACL_PERM_ALLOW);
  r.rec_case = STRATA__METADATA_RECORD__REC_ACL;
  r.acl = &b;
  cr_assert_eq(ctrl_apply(&c, &r), STRATA_ECORRUPT);
  r.rec_case = STRATA__METADATA_RECORD__REC_USER_SCRAM_CREDENTIAL;
  Strata__ScramCredential m = STRATA__SCRAM_CREDENTIAL__INIT;
  m.user = (char *)"a";
  m.mechanism = 1;
  r.user_scram_credential = &m;
  cr_assert_eq(ctrl_apply(&c, &r), STRATA_ECORRUPT);
  cr_assert_eq(c.version, 0);
}

Test(secmeta, bootstrap_user_is_created_once) {
  dir = proc_tmpdir("strata-secmeta-boot");
  struct controller ctl;
  memset(&ctl, 0, sizeof ctl);
  struct ctrl_config cfg = {1000, 0, 5000, 0, 0};
  char err[256];
  cr_assert_eq(controller_open(&ctl, dir, 0, &cfg, 0, err, sizeof err), 0, "%s", err);
  int created = 0;
  cr_assert_eq(controller_bootstrap_user(&ctl, "admin", "first", 5, &created, err, sizeof err), 0);
  cr_assert_eq(created, 1);
  cr_assert_not_null(ctrl_scram_credential(&ctl.c, "admin", SCRAM_SHA_256));
  cr_assert_not_null(ctrl_scram_credential(&ctl.c, "admin", SCRAM_SHA_512));
  controller_close(&ctl);
  memset(&ctl, 0, sizeof ctl);
  cr_assert_eq(controller_open(&ctl, dir, 0, &cfg, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(controller_bootstrap_user(&ctl, "admin", "second", 6, &created, err, sizeof err),
               0);
  cr_assert_eq(created, 0, "users exist: nothing changes");
  const struct scram_credential *k = ctrl_scram_credential(&ctl.c, "admin", SCRAM_SHA_512);
  cr_assert_not_null(k, "the bootstrap user survived the restart");
  cr_assert(scram_credential_check_password(k, "first", 5), "the first password stays");
  controller_close(&ctl);
}

Test(secmeta, keys_from_a_salted_password_equal_those_from_the_password) {
  static const uint8_t salt[] = "0123456789abcdef";
  for (enum scram_mech m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++) {
    struct scram_credential a, b;
    cr_assert_eq(scram_credential_make(m, "pencil", 6, 4096, salt, 16, &a), 0);
    uint8_t salted[SCRAM_KEY_MAX];
    cr_assert_eq(scram_salted_password(m, "pencil", 6, salt, 16, 4096, salted), 0);
    cr_assert_eq(scram_salted_credential(m, salted, scram_key_len(m), 4096, salt, 16, &b), 0);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "KIP-554's path gives the same credential");
    cr_assert_eq(scram_salted_credential(m, salted, scram_key_len(m) - 1, 4096, salt, 16, &b),
                 STRATA_EUNACCEPTABLE_CREDENTIAL);
    cr_assert_eq(scram_salted_credential(m, salted, scram_key_len(m), 100, salt, 16, &b),
                 STRATA_EUNACCEPTABLE_CREDENTIAL);
  }
}

Test(secmeta, acl_names_parse_as_kafka_acls_writes_them) {
  cr_assert_eq(acl_op_parse("IdempotentWrite"), ACL_OP_IDEMPOTENT_WRITE);
  cr_assert_eq(acl_op_parse("IDEMPOTENT_WRITE"), ACL_OP_IDEMPOTENT_WRITE);
  cr_assert_eq(acl_op_parse("describe-configs"), ACL_OP_DESCRIBE_CONFIGS);
  cr_assert_eq(acl_op_parse("read"), ACL_OP_READ);
  cr_assert_lt(acl_op_parse("Reed"), 0);
  cr_assert_eq(acl_pattern_parse("prefixed"), ACL_PAT_PREFIXED);
  cr_assert_eq(acl_resource_parse("transactional_id"), ACL_RES_TRANSACTIONAL_ID);
  cr_assert_eq(acl_perm_parse("DENY"), ACL_PERM_DENY);
  cr_assert_str_eq(acl_op_name(ACL_OP_CLUSTER_ACTION), "ClusterAction");
  cr_assert_str_eq(acl_op_name(99), "Unknown");
}

/* The hash index (common/acl_index.c) against a linear search, under
 * random adds and removes over a small universe (runs, wrap-around and
 * backward shifts all happen), and the store's count against a model. */
Test(secmeta, the_acl_index_agrees_with_a_linear_search) {
  enum { U = 300, OPS = 20000 };
  static char names[U][16];
  static int present[U];
  Strata__AclBinding u[U];
  for (int i = 0; i < U; i++) {
    snprintf(names[i], sizeof names[i], "t%d", i); /* every binding distinct */
    u[i] = binding(ACL_RES_TOPIC + (uint32_t)(i % 2), names[i],
                   i % 3 ? ACL_PAT_LITERAL : ACL_PAT_PREFIXED, i % 5 ? "User:a" : "User:b",
                   ACL_OP_READ + (uint32_t)(i % 4), ACL_PERM_ALLOW);
  }
  uint64_t seed = 12345;
  size_t model = 0;
  for (int k = 0; k < OPS; k++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    int i = (int)((seed >> 33) % U), add = (seed >> 20) % 3 != 0;
    Strata__MetadataRecord r = STRATA__METADATA_RECORD__INIT;
    r.rec_case = add ? STRATA__METADATA_RECORD__REC_ACL : STRATA__METADATA_RECORD__REC_REMOVE_ACL;
    if (add)
      r.acl = &u[i];
    else
      r.remove_acl = &u[i];
    cr_assert_eq(secmeta_apply(&c.sec, &r), 0);
    if (add != present[i]) model += add ? 1 : (size_t)-1;
    present[i] = add;
    cr_assert_eq(c.sec.acls.n, model);
    if (k % 97) continue;
    for (int j = 0; j < U; j++) {
      struct acl_entry e;
      secmeta_acl_view(&u[j], &e);
      int linear = 0;
      for (size_t m = 0; m < c.sec.acls.n; m++) linear |= secmeta_acl_equal(&c.sec.acls.v[m], &e);
      const struct acl_entry *f = secmeta_acl_find(&c.sec, &e);
      cr_assert_eq(f != NULL, linear, "op %d: ACL %d found %d, there %d", k, j, f != NULL, linear);
      cr_assert_eq(linear, present[j], "op %d: ACL %d there %d, model %d (n %zu)", k, j, linear, present[j], c.sec.acls.n);
      if (f) cr_assert(secmeta_acl_equal(f, &e));
    }
  }
}
