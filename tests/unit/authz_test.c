/* broker/authz.c through dispatch_handle: each native API, sent by a
 * principal without its permission, gets the right *_AUTHORIZATION_FAILED
 * and changes nothing (research note §5 table, §6 CVE-2018-1288); the same
 * principal with the permission gets through. A standalone broker with
 * authorizer.enabled, super.users=User:admin and ACLs set directly (what
 * the metadata image carries in a cluster). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/group_handlers.h"
#include "broker/offsets_log.h"
#include "common/batch.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"
#include "tests/unit/broker_fixture.h"

static char *dir;
static struct broker b;
static struct acl_entry acls[16];

static struct principal as(const char *name) {
  struct principal p = {{0}, "127.0.0.1", 1};
  snprintf(p.name, sizeof p.name, "%s", name);
  return p;
}

static struct principal admin, mallory, alice;

static void allow(const char *principal, int res, int pat, const char *name, int op) {
  cr_assert_lt(b.sec.acls.n, sizeof acls / sizeof acls[0]);
  acls[b.sec.acls.n++] = (struct acl_entry){(uint8_t)res, (uint8_t)pat, (uint8_t)op, ACL_PERM_ALLOW,
                                        (char *)name, (char *)principal, (char *)"*"};
}

/* One request through dispatch_handle; the caller frees the response. */
static struct response *call(const struct principal *who, Strata__Header *h, uint8_t *payload,
                             uint32_t len) {
  static uint32_t corr;
  h->correlation_id = ++corr;
  h->client_id = (char *)"authz-test";
  struct response *r = calloc(1, sizeof *r);
  response_init(r);
  dispatch_handle(&b, who, h, payload, len, r);
  return r;
}

static void done(struct response *r) {
  response_free(r);
  free(r);
}

static int64_t log_end(const char *topic) {
  struct partition *p = topics_partition(&b.topics, topic, 0);
  cr_assert_not_null(p, "%s", topic);
  return seglog_end_offset(p->log);
}

/* ---- request builders ---- */

static Strata__Header hdr(uint32_t key, Strata__Header__BodyCase body) {
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = key;
  h.body_case = body;
  return h;
}

/* One record's batch, malloc'd (produce rewrites it in place). */
static uint8_t *one_batch(size_t *len) {
  struct batch_builder bb;
  batch_builder_init(&bb);
  cr_assert_eq(batch_builder_add(&bb, 1000, NULL, 0, "v", 1, NULL, 0), 0);
  const uint8_t *out;
  cr_assert_eq(batch_builder_finish(&bb, 0, 0, &out, len), 0);
  uint8_t *copy = malloc(*len);
  memcpy(copy, out, *len);
  batch_builder_free(&bb);
  return copy;
}

static int produce(const struct principal *who, const char *topic) {
  size_t n;
  uint8_t *copy = one_batch(&n);
  Strata__ProducePartition pp = STRATA__PRODUCE_PARTITION__INIT;
  pp.topic = (char *)topic;
  pp.partition = 0;
  pp.payload_bytes = (uint32_t)n;
  Strata__ProducePartition *pps[] = {&pp};
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = 1;
  q.partitions = pps;
  q.n_partitions = 1;
  Strata__Header h = hdr(STRATA__API_KEY__API_PRODUCE, STRATA__HEADER__BODY_PRODUCE_REQ);
  h.produce_req = &q;
  struct response *r = call(who, &h, copy, (uint32_t)n);
  cr_assert_eq(r->hdr.body_case, STRATA__HEADER__BODY_PRODUCE_RESP, "%s", r->hdr.error_message);
  int err = -(int)r->hdr.produce_resp->partitions[0]->error_code;
  done(r);
  free(copy);
  return err;
}

static int fetch(const struct principal *who, const char *topic, int32_t replica_id,
                 uint32_t *payload) {
  Strata__FetchPartition fp = STRATA__FETCH_PARTITION__INIT;
  fp.topic = (char *)topic;
  fp.max_bytes = 1 << 20;
  fp.last_fetched_epoch = -1;
  Strata__FetchPartition *fps[] = {&fp};
  Strata__FetchRequest q = STRATA__FETCH_REQUEST__INIT;
  q.partitions = fps;
  q.n_partitions = 1;
  q.replica_id = replica_id;
  Strata__Header h = hdr(STRATA__API_KEY__API_FETCH, STRATA__HEADER__BODY_FETCH_REQ);
  h.fetch_req = &q;
  struct response *r = call(who, &h, NULL, 0);
  int err = -(int)r->hdr.error_code;
  if (!err) {
    cr_assert_eq(r->hdr.body_case, STRATA__HEADER__BODY_FETCH_RESP);
    err = -(int)r->hdr.fetch_resp->partitions[0]->error_code;
    if (payload) *payload = r->hdr.fetch_resp->partitions[0]->payload_bytes;
  }
  done(r);
  return err;
}

static int commit(const struct principal *who, const char *group, const char *topic,
                  int64_t offset) {
  Strata__OffsetCommitPartition c = STRATA__OFFSET_COMMIT_PARTITION__INIT;
  c.topic = (char *)topic;
  c.offset = offset;
  c.metadata = (char *)"";
  Strata__OffsetCommitPartition *cs[] = {&c};
  Strata__OffsetCommitRequest q = STRATA__OFFSET_COMMIT_REQUEST__INIT;
  q.group_id = (char *)group;
  q.member_id = (char *)"";
  q.member_epoch = -1;
  q.partitions = cs;
  q.n_partitions = 1;
  Strata__Header h = hdr(STRATA__API_KEY__API_OFFSET_COMMIT, STRATA__HEADER__BODY_OFFSET_COMMIT_REQ);
  h.offset_commit_req = &q;
  struct response *r = call(who, &h, NULL, 0);
  int err = -(int)r->hdr.error_code;
  if (!err) err = -(int)r->hdr.offset_commit_resp->partitions[0]->error_code;
  done(r);
  return err;
}

/* The committed offset of group/topic-0 as the admin sees it (-1: none). */
static int64_t committed(const char *group, const char *topic) {
  uint32_t zero = 0;
  Strata__TopicPartitions tp = STRATA__TOPIC_PARTITIONS__INIT;
  tp.topic = (char *)topic;
  tp.partitions = &zero;
  tp.n_partitions = 1;
  Strata__TopicPartitions *tps[] = {&tp};
  Strata__OffsetFetchRequest q = STRATA__OFFSET_FETCH_REQUEST__INIT;
  q.group_id = (char *)group;
  q.partitions = tps;
  q.n_partitions = 1;
  Strata__Header h = hdr(STRATA__API_KEY__API_OFFSET_FETCH, STRATA__HEADER__BODY_OFFSET_FETCH_REQ);
  h.offset_fetch_req = &q;
  struct response *r = call(&admin, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, 0, "%s", r->hdr.error_message);
  int64_t off = r->hdr.offset_fetch_resp->partitions[0]->offset;
  done(r);
  return off;
}

static int create_topic(const struct principal *who, const char *name) {
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)name;
  s.partitions = 1;
  s.replication_factor = 1;
  Strata__TopicSpec *ss[] = {&s};
  Strata__CreateTopicsRequest q = STRATA__CREATE_TOPICS_REQUEST__INIT;
  q.topics = ss;
  q.n_topics = 1;
  Strata__Header h = hdr(STRATA__API_KEY__API_CREATE_TOPICS, STRATA__HEADER__BODY_CREATE_TOPICS_REQ);
  h.create_topics_req = &q;
  struct response *r = call(who, &h, NULL, 0);
  cr_assert_eq(r->hdr.body_case, STRATA__HEADER__BODY_CREATE_TOPICS_RESP);
  int err = -(int)r->hdr.create_topics_resp->results[0]->error_code;
  done(r);
  return err;
}

/* ---- fixture ---- */

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-authz")));
  struct broker_config cfg;
  broker_fixture_open(&b, &cfg, dir,
                      (const char *[]){"log.flush.policy", "os", "authorizer.enabled", "true",
                                       "super.users", "User:admin", NULL},
                      1);
  offsets_log_sync(&b);
  b.sec.acls.v = acls;
  b.sec.acls.n = 0;
  admin = as("User:admin");
  mallory = as("User:mallory");
  alice = as("User:alice");
  cr_assert_eq(create_topic(&admin, "t"), 0);
  cr_assert_eq(create_topic(&admin, "secret"), 0);
  cr_assert_eq(produce(&admin, "t"), 0);
  cr_assert_eq(commit(&admin, "g", "t", 1), 0);
}

static void teardown(void) {
  b.sec.acls.n = 0;
  b.sec.acls.v = NULL;
  broker_close(&b);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(authz, .init = setup, .fini = teardown);

Test(authz, produce_without_write_is_refused_and_nothing_is_appended) {
  int64_t end = log_end("t");
  cr_assert_eq(produce(&mallory, "t"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(log_end("t"), end);
  /* Read does not give Write; Write does */
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_READ);
  cr_assert_eq(produce(&alice, "t"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(log_end("t"), end);
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_PREFIXED, "t", ACL_OP_WRITE);
  cr_assert_eq(produce(&alice, "t"), 0);
  cr_assert_eq(log_end("t"), end + 1);
}

Test(authz, an_unknown_topic_answers_the_same_as_a_forbidden_one) {
  cr_assert_eq(produce(&mallory, "no-such-topic"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(fetch(&mallory, "no-such-topic", -1, NULL), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(produce(&admin, "no-such-topic"), STRATA_EUNKNOWN_TOPIC);
}

Test(authz, fetch_needs_read_and_a_replica_fetch_cluster_action) {
  uint32_t got = 0;
  cr_assert_eq(fetch(&mallory, "t", -1, &got), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_READ);
  cr_assert_eq(fetch(&alice, "t", -1, &got), 0);
  cr_assert_gt(got, 0);
  /* CVE-2018-1288: Read on the topic is no licence to fetch as a replica */
  cr_assert_eq(fetch(&alice, "t", 2, NULL), STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  allow("User:broker-2", ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_CLUSTER_NAME,
        ACL_OP_CLUSTER_ACTION);
  struct principal broker2 = as("User:broker-2");
  cr_assert_eq(fetch(&broker2, "t", 2, NULL), 0);
}

Test(authz, list_offsets_needs_describe_which_read_implies) {
  Strata__ListOffsetsPartition lp = STRATA__LIST_OFFSETS_PARTITION__INIT;
  lp.topic = (char *)"t";
  lp.timestamp = -1;
  Strata__ListOffsetsPartition *lps[] = {&lp};
  Strata__ListOffsetsRequest q = STRATA__LIST_OFFSETS_REQUEST__INIT;
  q.partitions = lps;
  q.n_partitions = 1;
  Strata__Header h = hdr(STRATA__API_KEY__API_LIST_OFFSETS, STRATA__HEADER__BODY_LIST_OFFSETS_REQ);
  h.list_offsets_req = &q;
  struct response *r = call(&mallory, &h, NULL, 0);
  cr_assert_eq(r->hdr.list_offsets_resp->partitions[0]->error_code,
               (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(r->hdr.list_offsets_resp->partitions[0]->offset, -1);
  done(r);
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_READ);
  r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.list_offsets_resp->partitions[0]->error_code, 0);
  cr_assert_eq(r->hdr.list_offsets_resp->partitions[0]->offset, 1);
  done(r);
}

Test(authz, metadata_filters_unauthorized_topics_and_refuses_named_ones) {
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_DESCRIBE);
  Strata__MetadataRequest q = STRATA__METADATA_REQUEST__INIT;
  Strata__Header h = hdr(STRATA__API_KEY__API_METADATA, STRATA__HEADER__BODY_METADATA_REQ);
  h.metadata_req = &q;
  struct response *r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.metadata_resp->n_topics, 1); /* not "secret", not __consumer_offsets */
  cr_assert_str_eq(r->hdr.metadata_resp->topics[0]->name, "t");
  done(r);
  r = call(&mallory, &h, NULL, 0);
  cr_assert_eq(r->hdr.metadata_resp->n_topics, 0);
  done(r);
  char *names[] = {(char *)"secret", (char *)"nope", (char *)"t"};
  q.topics = names;
  q.n_topics = 3;
  r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.metadata_resp->n_topics, 3);
  cr_assert_eq(r->hdr.metadata_resp->topics[0]->error_code,
               (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(r->hdr.metadata_resp->topics[0]->n_partitions, 0);
  cr_assert_eq(r->hdr.metadata_resp->topics[1]->error_code,
               (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED); /* absent: the same */
  cr_assert_eq(r->hdr.metadata_resp->topics[2]->error_code, 0);
  done(r);
}

Test(authz, create_topics_needs_create_on_the_cluster_or_the_topic) {
  cr_assert_eq(create_topic(&mallory, "new"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_null(topics_find(&b.topics, "new"));
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_PREFIXED, "alice.", ACL_OP_CREATE);
  cr_assert_eq(create_topic(&alice, "new"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(create_topic(&alice, "alice.one"), 0);
  allow("User:bob", ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_CLUSTER_NAME, ACL_OP_CREATE);
  struct principal bob = as("User:bob");
  cr_assert_eq(create_topic(&bob, "new"), 0);
}

Test(authz, delete_topics_and_create_partitions_need_delete_and_alter) {
  char *names[] = {(char *)"t"};
  Strata__DeleteTopicsRequest d = STRATA__DELETE_TOPICS_REQUEST__INIT;
  d.names = names;
  d.n_names = 1;
  Strata__Header h = hdr(STRATA__API_KEY__API_DELETE_TOPICS, STRATA__HEADER__BODY_DELETE_TOPICS_REQ);
  h.delete_topics_req = &d;
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_ALTER);
  struct response *r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.delete_topics_resp->results[0]->error_code,
               (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED);
  done(r);
  cr_assert_not_null(topics_find(&b.topics, "t"));

  Strata__PartitionsSpec s = STRATA__PARTITIONS_SPEC__INIT;
  s.name = (char *)"t";
  s.count = 3;
  Strata__PartitionsSpec *ss[] = {&s};
  Strata__CreatePartitionsRequest cp = STRATA__CREATE_PARTITIONS_REQUEST__INIT;
  cp.topics = ss;
  cp.n_topics = 1;
  Strata__Header g = hdr(STRATA__API_KEY__API_CREATE_PARTITIONS,
                         STRATA__HEADER__BODY_CREATE_PARTITIONS_REQ);
  g.create_partitions_req = &cp;
  r = call(&mallory, &g, NULL, 0);
  cr_assert_eq(r->hdr.create_partitions_resp->results[0]->error_code,
               (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED);
  done(r);
  cr_assert_eq(topics_find(&b.topics, "t")->npart, 1);
  r = call(&alice, &g, NULL, 0); /* Alter: yes */
  cr_assert_eq(r->hdr.create_partitions_resp->results[0]->error_code, 0,
               "%s", r->hdr.create_partitions_resp->results[0]->error_message);
  done(r);
  cr_assert_eq(topics_find(&b.topics, "t")->npart, 3);
}

Test(authz, a_mixed_topic_admin_request_is_answered_whole_and_changes_nothing) {
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "ok", ACL_OP_CREATE);
  Strata__TopicSpec a = STRATA__TOPIC_SPEC__INIT, c = STRATA__TOPIC_SPEC__INIT;
  a.name = (char *)"ok";
  c.name = (char *)"forbidden";
  Strata__TopicSpec *ss[] = {&a, &c};
  Strata__CreateTopicsRequest q = STRATA__CREATE_TOPICS_REQUEST__INIT;
  q.topics = ss;
  q.n_topics = 2;
  Strata__Header h = hdr(STRATA__API_KEY__API_CREATE_TOPICS, STRATA__HEADER__BODY_CREATE_TOPICS_REQ);
  h.create_topics_req = &q;
  struct response *r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.create_topics_resp->results[0]->error_code,
               (uint32_t)-STRATA_EINVALID_REQUEST);
  cr_assert_eq(r->hdr.create_topics_resp->results[1]->error_code,
               (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED);
  done(r);
  cr_assert_null(topics_find(&b.topics, "ok"));
}

Test(authz, init_producer_id_needs_write_on_some_topic_or_idempotent_write_kip_679) {
  Strata__InitProducerIdRequest q = STRATA__INIT_PRODUCER_ID_REQUEST__INIT;
  Strata__Header h =
      hdr(STRATA__API_KEY__API_INIT_PRODUCER_ID, STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ);
  h.init_producer_id_req = &q;
  int64_t next = b.producer_ids_next;
  struct response *r = call(&mallory, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, (uint32_t)-STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  done(r);
  cr_assert_eq(b.producer_ids_next, next);
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_PREFIXED, "logs-", ACL_OP_WRITE);
  r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, 0, "%s", r->hdr.error_message);
  done(r);
  allow("User:bob", ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_CLUSTER_NAME,
        ACL_OP_IDEMPOTENT_WRITE);
  struct principal bob = as("User:bob");
  r = call(&bob, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, 0, "%s", r->hdr.error_message);
  done(r);
}

Test(authz, elect_leaders_needs_alter_on_the_cluster) {
  Strata__ElectLeadersRequest q = STRATA__ELECT_LEADERS_REQUEST__INIT;
  Strata__Header h = hdr(STRATA__API_KEY__API_ELECT_LEADERS, STRATA__HEADER__BODY_ELECT_LEADERS_REQ);
  h.elect_leaders_req = &q;
  struct response *r = call(&mallory, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, (uint32_t)-STRATA_ECLUSTER_AUTHORIZATION_FAILED);
  done(r);
}

Test(authz, offset_commit_needs_read_on_the_group_and_the_topic) {
  cr_assert_eq(commit(&mallory, "g", "t", 0), STRATA_EGROUP_AUTHORIZATION_FAILED);
  cr_assert_eq(committed("g", "t"), 1);
  allow("User:alice", ACL_RES_GROUP, ACL_PAT_LITERAL, "g", ACL_OP_READ);
  cr_assert_eq(commit(&alice, "g", "t", 0), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(committed("g", "t"), 1);
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_READ);
  cr_assert_eq(commit(&alice, "g", "t", 0), 0);
  cr_assert_eq(committed("g", "t"), 0);
  /* an unknown group answers the same as a forbidden one */
  cr_assert_eq(commit(&mallory, "no-such-group", "t", 0), STRATA_EGROUP_AUTHORIZATION_FAILED);
}

Test(authz, group_reads_need_describe_on_the_group) {
  Strata__FindCoordinatorRequest fq = STRATA__FIND_COORDINATOR_REQUEST__INIT;
  fq.group_id = (char *)"g";
  Strata__Header f = hdr(STRATA__API_KEY__API_FIND_COORDINATOR,
                         STRATA__HEADER__BODY_FIND_COORDINATOR_REQ);
  f.find_coordinator_req = &fq;
  Strata__DescribeGroupRequest dq = STRATA__DESCRIBE_GROUP_REQUEST__INIT;
  dq.group_id = (char *)"g";
  Strata__Header d = hdr(STRATA__API_KEY__API_DESCRIBE_GROUP, STRATA__HEADER__BODY_DESCRIBE_GROUP_REQ);
  d.describe_group_req = &dq;
  Strata__OffsetFetchRequest oq = STRATA__OFFSET_FETCH_REQUEST__INIT;
  oq.group_id = (char *)"g";
  Strata__Header o = hdr(STRATA__API_KEY__API_OFFSET_FETCH, STRATA__HEADER__BODY_OFFSET_FETCH_REQ);
  o.offset_fetch_req = &oq;
  Strata__Header *all[] = {&f, &d, &o};
  for (size_t i = 0; i < 3; i++) {
    struct response *r = call(&mallory, all[i], NULL, 0);
    cr_assert_eq(r->hdr.error_code, (uint32_t)-STRATA_EGROUP_AUTHORIZATION_FAILED, "api %u",
                 all[i]->api_key);
    done(r);
  }
  allow("User:alice", ACL_RES_GROUP, ACL_PAT_LITERAL, "g", ACL_OP_DESCRIBE);
  for (size_t i = 0; i < 3; i++) {
    struct response *r = call(&alice, all[i], NULL, 0);
    cr_assert_eq(r->hdr.error_code, 0, "api %u: %s", all[i]->api_key, r->hdr.error_message);
    if (all[i] == &o) /* all offsets: only topics alice may describe, none */
      cr_assert_eq(r->hdr.offset_fetch_resp->n_partitions, 0);
    if (all[i] == &d) /* the same in the group's description */
      cr_assert_eq(r->hdr.describe_group_resp->n_offsets, 0);
    done(r);
  }
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_DESCRIBE);
  struct response *r = call(&alice, &o, NULL, 0);
  cr_assert_eq(r->hdr.offset_fetch_resp->n_partitions, 1);
  done(r);
}

Test(authz, list_groups_is_filtered_and_delete_groups_needs_delete) {
  cr_assert_eq(commit(&admin, "h", "t", 1), 0);
  Strata__ListGroupsRequest lq = STRATA__LIST_GROUPS_REQUEST__INIT;
  Strata__Header l = hdr(STRATA__API_KEY__API_LIST_GROUPS, STRATA__HEADER__BODY_LIST_GROUPS_REQ);
  l.list_groups_req = &lq;
  struct response *r = call(&mallory, &l, NULL, 0);
  cr_assert_eq(r->hdr.list_groups_resp->n_groups, 0);
  done(r);
  allow("User:alice", ACL_RES_GROUP, ACL_PAT_LITERAL, "h", ACL_OP_READ); /* implies Describe */
  r = call(&alice, &l, NULL, 0);
  cr_assert_eq(r->hdr.list_groups_resp->n_groups, 1);
  cr_assert_str_eq(r->hdr.list_groups_resp->groups[0]->group_id, "h");
  done(r);
  r = call(&admin, &l, NULL, 0);
  cr_assert_eq(r->hdr.list_groups_resp->n_groups, 2);
  done(r);

  char *ids[] = {(char *)"g"};
  Strata__DeleteGroupsRequest dq = STRATA__DELETE_GROUPS_REQUEST__INIT;
  dq.group_ids = ids;
  dq.n_group_ids = 1;
  Strata__Header d = hdr(STRATA__API_KEY__API_DELETE_GROUPS, STRATA__HEADER__BODY_DELETE_GROUPS_REQ);
  d.delete_groups_req = &dq;
  r = call(&alice, &d, NULL, 0);
  cr_assert_eq(r->hdr.delete_groups_resp->results[0]->error_code,
               (uint32_t)-STRATA_EGROUP_AUTHORIZATION_FAILED);
  done(r);
  cr_assert_eq(committed("g", "t"), 1);
}

Test(authz, consumer_group_heartbeat_needs_read_on_the_group_and_describe_on_topics) {
  char *topics[] = {(char *)"t"};
  Strata__GroupHeartbeatRequest q = STRATA__GROUP_HEARTBEAT_REQUEST__INIT;
  q.group_id = (char *)"k";
  q.member_id = (char *)"";
  q.instance_id = (char *)"";
  q.session_timeout_ms = 10000;
  q.topics = topics;
  q.n_topics = 1;
  q.topics_set = 1;
  q.assignor = (char *)"";
  q.topic_pattern = (char *)"";
  Strata__Header h = hdr(STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT,
                         STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ);
  h.group_heartbeat_req = &q;
  struct response *r = call(&mallory, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, (uint32_t)-STRATA_EGROUP_AUTHORIZATION_FAILED);
  done(r);
  allow("User:alice", ACL_RES_GROUP, ACL_PAT_LITERAL, "k", ACL_OP_READ);
  r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED);
  done(r);
  cr_assert_eq(b.coord.n, 1); /* only g: no group k was made */
}

Test(authz, api_versions_needs_nothing_and_the_authorizer_off_allows_all) {
  Strata__ApiVersionsRequest q = STRATA__API_VERSIONS_REQUEST__INIT;
  Strata__Header h = hdr(STRATA__API_KEY__API_API_VERSIONS, STRATA__HEADER__BODY_API_VERSIONS_REQ);
  h.api_versions_req = &q;
  struct response *r = call(&mallory, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, 0);
  done(r);
  b.authz.enabled = 0;
  int64_t end = log_end("t");
  cr_assert_eq(produce(&mallory, "t"), 0);
  cr_assert_eq(log_end("t"), end + 1);
  b.authz.enabled = 1;
}

Test(authz, a_null_principal_is_anonymous) {
  int64_t end = log_end("t");
  cr_assert_eq(produce(NULL, "t"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  allow(PRINCIPAL_ANONYMOUS, ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_WRITE);
  cr_assert_eq(produce(NULL, "t"), 0);
  cr_assert_eq(log_end("t"), end + 1);
}

/* ---- settings ---- */

static int config_with(const char *const *kv, char *err, size_t err_len) {
  struct config *c = config_new();
  for (size_t i = 0; kv[i]; i += 2) config_set(c, kv[i], kv[i + 1]);
  struct broker_config cfg;
  int rc = broker_config_from(c, &cfg, err, err_len);
  config_free(c);
  return rc;
}

Test(authz_config, authorizer_settings_parse_and_bad_super_users_are_refused) {
  char err[512] = "";
  const char *ok[] = {"authorizer.enabled", "true", "super.users", "User:a; User:CN=b,O=c",
                      "allow.everyone.if.no.acl.found", "false", NULL};
  cr_assert_eq(config_with(ok, err, sizeof err), 0, "%s", err);
  const char *bad[] = {"authorizer.enabled", "true", "super.users", "admin", NULL};
  cr_assert_eq(config_with(bad, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_not_null(strstr(err, "super.users"), "%s", err);
  const char *typo[] = {"authorizer.enabled", "maybe", NULL};
  cr_assert_eq(config_with(typo, err, sizeof err), STRATA_EINVALID_CONFIG);
}

Test(authz_config, sasl_with_the_authorizer_and_no_super_user_refuses_to_start) {
  char err[512] = "";
  const char *locked[] = {"listeners", "SASL_PLAINTEXT://127.0.0.1:9092", "authorizer.enabled",
                          "true", "sasl.enabled.mechanisms", "SCRAM-SHA-512", NULL};
  cr_assert_eq(config_with(locked, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_not_null(strstr(err, "super.users"), "%s", err);
  const char *fine[] = {"listeners", "SASL_PLAINTEXT://127.0.0.1:9092", "authorizer.enabled",
                        "true", "sasl.enabled.mechanisms", "SCRAM-SHA-512", "super.users",
                        "User:admin", NULL};
  cr_assert_eq(config_with(fine, err, sizeof err), 0, "%s", err);
  const char *off[] = {"listeners", "SASL_PLAINTEXT://127.0.0.1:9092", "sasl.enabled.mechanisms",
                       "SCRAM-SHA-512", NULL};
  cr_assert_eq(config_with(off, err, sizeof err), 0, "%s", err);
}

Test(authz, a_remembered_decision_never_outlives_its_request) {
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_WRITE);
  struct principal p = as("User:alice");
  int64_t end = log_end("t");
  cr_assert_eq(produce(&p, "t"), 0);
  /* the same address, another name (a connection after SASL, a reused call) */
  snprintf(p.name, sizeof p.name, "User:mallory");
  cr_assert_eq(produce(&p, "t"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(log_end("t"), end + 1);
  /* and an ACL gone between requests counts at once */
  snprintf(p.name, sizeof p.name, "User:alice");
  b.sec.acls.n = 0;
  cr_assert_eq(produce(&p, "t"), STRATA_ETOPIC_AUTHORIZATION_FAILED);
}

Test(authz, a_pattern_subscription_matches_only_topics_the_member_may_describe) {
  allow("User:alice", ACL_RES_GROUP, ACL_PAT_LITERAL, "k", ACL_OP_READ);
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ACL_OP_DESCRIBE);
  Strata__GroupHeartbeatRequest q = STRATA__GROUP_HEARTBEAT_REQUEST__INIT;
  q.group_id = (char *)"k";
  q.member_id = (char *)"";
  q.instance_id = (char *)"";
  q.session_timeout_ms = 10000;
  q.assignor = (char *)"";
  q.topic_pattern = (char *)".*"; /* t and secret */
  Strata__Header h = hdr(STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT,
                         STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ);
  h.group_heartbeat_req = &q;
  struct response *r = call(&alice, &h, NULL, 0);
  cr_assert_eq(r->hdr.error_code, 0, "%s", r->hdr.error_message);
  done(r);
  int rc = 0;
  struct cgroup *g = coord_group(&b.coord, "k", 0, &rc);
  cr_assert_not_null(g);
  cr_assert_eq(g->g.nmembers, 1);
  cr_assert_eq(g->g.members[0]->ntopics, 1);
  cr_assert_str_eq(g->g.members[0]->topics[0], "t");
  /* and when the patterns are refreshed later (no request running) */
  allow("User:alice", ACL_RES_TOPIC, ACL_PAT_LITERAL, "secret", ACL_OP_READ);
  group_handlers_tick(&b);
  cr_assert_eq(g->g.members[0]->ntopics, 2);
}

Test(authz, acl_and_user_administration_needs_describe_or_alter_on_the_cluster) {
  Strata__DescribeAclsRequest dq = STRATA__DESCRIBE_ACLS_REQUEST__INIT;
  Strata__Header d = hdr(STRATA__API_KEY__API_DESCRIBE_ACLS, STRATA__HEADER__BODY_DESCRIBE_ACLS_REQ);
  d.describe_acls_req = &dq;
  Strata__CreateAclsRequest cq = STRATA__CREATE_ACLS_REQUEST__INIT;
  Strata__Header cr = hdr(STRATA__API_KEY__API_CREATE_ACLS, STRATA__HEADER__BODY_CREATE_ACLS_REQ);
  cr.create_acls_req = &cq;
  Strata__DeleteAclsRequest xq = STRATA__DELETE_ACLS_REQUEST__INIT;
  Strata__Header x = hdr(STRATA__API_KEY__API_DELETE_ACLS, STRATA__HEADER__BODY_DELETE_ACLS_REQ);
  x.delete_acls_req = &xq;
  Strata__DescribeUserScramCredentialsRequest uq =
      STRATA__DESCRIBE_USER_SCRAM_CREDENTIALS_REQUEST__INIT;
  Strata__Header u = hdr(STRATA__API_KEY__API_DESCRIBE_USER_SCRAM_CREDENTIALS,
                         STRATA__HEADER__BODY_DESCRIBE_SCRAM_REQ);
  u.describe_scram_req = &uq;
  Strata__AlterUserScramCredentialsRequest aq =
      STRATA__ALTER_USER_SCRAM_CREDENTIALS_REQUEST__INIT;
  Strata__Header a = hdr(STRATA__API_KEY__API_ALTER_USER_SCRAM_CREDENTIALS,
                         STRATA__HEADER__BODY_ALTER_SCRAM_REQ);
  a.alter_scram_req = &aq;
  Strata__Header *all[] = {&d, &cr, &x, &u, &a};
  for (size_t i = 0; i < 5; i++) {
    struct response *r = call(&mallory, all[i], NULL, 0);
    cr_assert_eq(r->hdr.error_code, (uint32_t)-STRATA_ECLUSTER_AUTHORIZATION_FAILED, "api %u",
                 all[i]->api_key);
    done(r);
  }
  /* Describe lists, it does not change */
  allow("User:alice", ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_CLUSTER_NAME, ACL_OP_DESCRIBE);
  for (size_t i = 0; i < 5; i++) {
    struct response *r = call(&alice, all[i], NULL, 0);
    int listing = all[i] == &d || all[i] == &u;
    /* allowed ones reach the handler: a standalone broker says the controller keeps them */
    cr_assert_eq(r->hdr.error_code == (uint32_t)-STRATA_ECLUSTER_AUTHORIZATION_FAILED, !listing,
                 "api %u: %s", all[i]->api_key, r->hdr.error_message);
    done(r);
  }
}
