/* Authorization on the Kafka listener (broker/kafka_*.c): requests encoded
 * as a Kafka client sends them, run through kafka_start with a principal.
 * The Kafka-only handlers check for themselves (Metadata, DescribeConfigs,
 * the classic group calls, ListGroups, DescribeGroups); the translators that
 * end in dispatch_handle get the native checks (Produce), and CreateTopics
 * answers per topic. Errors are Kafka's codes: TOPIC_AUTHORIZATION_FAILED
 * 29, GROUP_ 30, CLUSTER_ 31. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "broker/kafka_front.h"
#include "broker/offsets_log.h"
#include "common/batch.h"
#include "common/bytes.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"
#include "tests/unit/broker_fixture.h"
#include "tests/unit/create_topic_req.h"

static char *dir;
static struct broker b;
static struct acl_entry acls[16];
static struct principal admin, mallory, alice;

static struct principal as(const char *name) {
  struct principal p = {{0}, "127.0.0.1", 1};
  snprintf(p.name, sizeof p.name, "%s", name);
  return p;
}

static void allow(const char *principal, int res, const char *name, int op) {
  acls[b.sec.acls.n++] = (struct acl_entry){(uint8_t)res, ACL_PAT_LITERAL, (uint8_t)op,
                                        ACL_PERM_ALLOW, (char *)name, (char *)principal,
                                        (char *)"*"};
}

/* One Kafka call: the request header and body encoded, then kafka_start. */
struct kc {
  struct kafka_call *k;
  struct response r;
  struct kbuf frame;
};

static void kstart(struct kc *c, const struct principal *who, int key, int version,
                   const void *req) {
  const struct kapi *api = kafka_api(key);
  cr_assert_not_null(api);
  int flex = kafka_flexible(api, version);
  memset(c, 0, sizeof *c);
  kbuf_be16(&c->frame, (uint16_t)key);
  kbuf_be16(&c->frame, (uint16_t)version);
  kbuf_be32(&c->frame, 7);
  kbuf_be16(&c->frame, 4);
  kbuf_put(&c->frame, "test", 4);
  if (flex) kbuf_uvarint(&c->frame, 0);
  cr_assert_eq(kafka_encode(api->req, version, flex, req, &c->frame), 0);
  response_init(&c->r);
  c->k = kafka_start(&b, c->frame.p, (uint32_t)c->frame.len, "127.0.0.1:5555", who, &c->r);
  cr_assert_not_null(c->k);
}

/* The Kafka answer object, made at start or from the native answer. */
static void *kanswer(struct kc *c) {
  return c->k->resp ? c->k->resp : c->k->hd->answer(&b, c->k, &c->r);
}

static void kdone(struct kc *c) {
  kafka_call_free(c->k);
  response_free(&c->r);
  kbuf_free(&c->frame);
}

static void native_create(const char *name) {
  struct create_topic_req req;
  Strata__Header *h = create_topic_req(&req, name, 1, 0);
  struct response r;
  response_init(&r);
  dispatch_handle(&b, &admin, h, NULL, 0, &r);
  cr_assert_eq(r.hdr.create_topics_resp->results[0]->error_code, 0);
  response_free(&r);
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-kafka-authz")));
  struct broker_config cfg;
  broker_fixture_open(&b, &cfg, dir,
                      (const char *[]){"log.flush.policy", "os", "authorizer.enabled", "true",
                                       "super.users", "User:admin", NULL},
                      1);
  offsets_log_sync(&b);
  b.sec.acls.v = acls;
  admin = as("User:admin");
  mallory = as("User:mallory");
  alice = as("User:alice");
  native_create("t");
  native_create("secret");
}

static void teardown(void) {
  b.sec.acls.n = 0;
  b.sec.acls.v = NULL;
  broker_close(&b);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(kafka_authz, .init = setup, .fini = teardown);

Test(kafka_authz, metadata_lists_only_described_topics_and_refuses_named_ones) {
  allow("User:alice", ACL_RES_TOPIC, "t", ACL_OP_WRITE); /* implies Describe */
  struct kafka_metadata_req q = {.n_topics = -1};
  struct kc c;
  kstart(&c, &alice, KAFKA_METADATA, 12, &q);
  struct kafka_metadata_resp *m = kanswer(&c);
  cr_assert_eq(m->n_topics, 1);
  cr_assert_str_eq(m->topics[0].name, "t");
  kdone(&c);
  struct kafka_metadata_req_metadata_request_topic ts[2] = {{.name = "secret"}, {.name = "gone"}};
  q.n_topics = 2;
  q.topics = ts;
  kstart(&c, &alice, KAFKA_METADATA, 12, &q);
  m = kanswer(&c);
  cr_assert_eq(m->n_topics, 2);
  cr_assert_eq(m->topics[0].error_code, KERR_TOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(m->topics[0].n_partitions, 0);
  cr_assert_eq(m->topics[1].error_code, KERR_TOPIC_AUTHORIZATION_FAILED);
  kdone(&c);
}

Test(kafka_authz, produce_without_write_gets_29_and_appends_nothing) {
  struct batch_builder bb;
  batch_builder_init(&bb);
  cr_assert_eq(batch_builder_add(&bb, 1000, NULL, 0, "v", 1, NULL, 0), 0);
  const uint8_t *batch;
  size_t n;
  cr_assert_eq(batch_builder_finish(&bb, 0, 0, &batch, &n), 0);
  struct kafka_produce_req_partition_produce_data pd = {.index = 0};
  pd.records.p = (uint8_t *)batch;
  pd.records.len = (int32_t)n;
  struct kafka_produce_req_topic_produce_data td = {.name = "t", .n_partition_data = 1,
                                                    .partition_data = &pd};
  struct kafka_produce_req q = {.acks = 1, .timeout_ms = 1000, .n_topic_data = 1,
                                .topic_data = &td};
  struct partition *p = topics_partition(&b.topics, "t", 0);
  int64_t end = seglog_end_offset(p->log);
  struct kc c;
  kstart(&c, &mallory, KAFKA_PRODUCE, 9, &q);
  struct kafka_produce_resp *m = kanswer(&c);
  cr_assert_eq(m->responses[0].partition_responses[0].error_code,
               KERR_TOPIC_AUTHORIZATION_FAILED);
  kdone(&c);
  cr_assert_eq(seglog_end_offset(p->log), end);
  allow("User:alice", ACL_RES_TOPIC, "t", ACL_OP_WRITE);
  kstart(&c, &alice, KAFKA_PRODUCE, 9, &q);
  m = kanswer(&c);
  cr_assert_eq(m->responses[0].partition_responses[0].error_code, 0);
  kdone(&c);
  cr_assert_eq(seglog_end_offset(p->log), end + 1);
  batch_builder_free(&bb);
}

Test(kafka_authz, create_topics_answers_per_topic) {
  allow("User:alice", ACL_RES_TOPIC, "mine", ACL_OP_CREATE);
  struct kafka_create_topics_req_creatable_topic ts[2] = {
      {.name = "mine", .num_partitions = 1, .replication_factor = 1, .n_assignments = 0,
       .n_configs = 0},
      {.name = "theirs", .num_partitions = 1, .replication_factor = 1, .n_assignments = 0,
       .n_configs = 0}};
  struct kafka_create_topics_req q = {.n_topics = 2, .topics = ts, .timeout_ms = 1000};
  struct kc c;
  kstart(&c, &alice, KAFKA_CREATE_TOPICS, 5, &q);
  struct kafka_create_topics_resp *m = kanswer(&c);
  cr_assert_eq(m->n_topics, 2);
  cr_assert_eq(m->topics[0].error_code, 0);
  cr_assert_eq(m->topics[1].error_code, KERR_TOPIC_AUTHORIZATION_FAILED);
  kdone(&c);
  cr_assert_not_null(topics_find(&b.topics, "mine"));
  cr_assert_null(topics_find(&b.topics, "theirs"));
}

Test(kafka_authz, describe_configs_needs_describe_configs) {
  struct kafka_describe_configs_req_describe_configs_resource rs[2] = {
      {.resource_type = 2, .resource_name = "t", .n_configuration_keys = -1},
      {.resource_type = 4, .resource_name = "1", .n_configuration_keys = -1}};
  struct kafka_describe_configs_req q = {.n_resources = 2, .resources = rs};
  struct kc c;
  kstart(&c, &mallory, KAFKA_DESCRIBE_CONFIGS, 1, &q);
  struct kafka_describe_configs_resp *m = kanswer(&c);
  cr_assert_eq(m->results[0].error_code, KERR_TOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(m->results[0].n_configs, 0);
  cr_assert_eq(m->results[1].error_code, KERR_CLUSTER_AUTHORIZATION_FAILED);
  kdone(&c);
  allow("User:alice", ACL_RES_TOPIC, "t", ACL_OP_ALTER_CONFIGS); /* implies DescribeConfigs */
  kstart(&c, &alice, KAFKA_DESCRIBE_CONFIGS, 1, &q);
  m = kanswer(&c);
  cr_assert_eq(m->results[0].error_code, 0);
  cr_assert_gt(m->results[0].n_configs, 0);
  kdone(&c);
}

Test(kafka_authz, join_group_needs_read_on_the_group_and_makes_no_group) {
  struct kafka_join_group_req_join_group_request_protocol pr = {.name = "range"};
  pr.metadata.p = NULL;
  pr.metadata.len = 0;
  struct kafka_join_group_req q = {.group_id = "cg", .session_timeout_ms = 10000,
                                   .rebalance_timeout_ms = 10000, .member_id = "",
                                   .protocol_type = "consumer", .n_protocols = 1,
                                   .protocols = &pr};
  size_t groups = b.coord.n;
  struct kc c;
  kstart(&c, &mallory, KAFKA_JOIN_GROUP, 5, &q);
  struct kafka_join_group_resp *m = kanswer(&c);
  cr_assert_eq(m->error_code, KERR_GROUP_AUTHORIZATION_FAILED);
  kdone(&c);
  cr_assert_eq(b.coord.n, groups);
}

Test(kafka_authz, list_and_describe_groups_are_filtered_by_describe) {
  /* two groups, made by the admin's commits */
  for (int i = 0; i < 2; i++) {
    Strata__OffsetCommitPartition cp = STRATA__OFFSET_COMMIT_PARTITION__INIT;
    cp.topic = (char *)"t";
    cp.metadata = (char *)"";
    Strata__OffsetCommitPartition *cps[] = {&cp};
    Strata__OffsetCommitRequest q = STRATA__OFFSET_COMMIT_REQUEST__INIT;
    q.group_id = (char *)(i ? "g1" : "g0");
    q.member_id = (char *)"";
    q.member_epoch = -1;
    q.partitions = cps;
    q.n_partitions = 1;
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_OFFSET_COMMIT;
    h.body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
    h.offset_commit_req = &q;
    struct response r;
    response_init(&r);
    dispatch_handle(&b, &admin, &h, NULL, 0, &r);
    cr_assert_eq(r.hdr.error_code, 0, "%s", r.hdr.error_message);
    response_free(&r);
  }
  allow("User:alice", ACL_RES_GROUP, "g1", ACL_OP_DESCRIBE);
  struct kafka_list_groups_req lq = {.n_states_filter = -1, .n_types_filter = -1};
  struct kc c;
  kstart(&c, &alice, KAFKA_LIST_GROUPS, 4, &lq);
  struct kafka_list_groups_resp *l = kanswer(&c);
  cr_assert_eq(l->n_groups, 1);
  cr_assert_str_eq(l->groups[0].group_id, "g1");
  kdone(&c);
  const char *ids[] = {"g0", "g1"};
  struct kafka_describe_groups_req dq = {.n_groups = 2, .groups = ids};
  kstart(&c, &alice, KAFKA_DESCRIBE_GROUPS, 5, &dq);
  struct kafka_describe_groups_resp *d = kanswer(&c);
  cr_assert_eq(d->groups[0].error_code, KERR_GROUP_AUTHORIZATION_FAILED);
  cr_assert_eq(d->groups[1].error_code, 0);
  kdone(&c);
}

Test(kafka_authz, init_producer_id_without_write_anywhere_gets_31) {
  struct kafka_init_producer_id_req q = {.transaction_timeout_ms = -1, .producer_id = -1,
                                         .producer_epoch = -1};
  struct kc c;
  kstart(&c, &mallory, KAFKA_INIT_PRODUCER_ID, 4, &q);
  struct kafka_init_producer_id_resp *m = kanswer(&c);
  cr_assert_eq(m->error_code, KERR_CLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(m->producer_id, -1);
  kdone(&c);
}

Test(kafka_authz, authorized_operations_are_reported_when_asked_kip_430) {
  allow("User:alice", ACL_RES_TOPIC, "t", ACL_OP_WRITE); /* and so Describe */
  struct kafka_metadata_req_metadata_request_topic ts[1] = {{.name = "t"}};
  struct kafka_metadata_req q = {.n_topics = 1, .topics = ts,
                                 .include_topic_authorized_operations = 1,
                                 .include_cluster_authorized_operations = 1};
  struct kc c;
  kstart(&c, &alice, KAFKA_METADATA, 10, &q);
  struct kafka_metadata_resp *m = kanswer(&c);
  cr_assert_eq(m->topics[0].error_code, 0);
  cr_assert_eq(m->topics[0].topic_authorized_operations,
               (1 << ACL_OP_WRITE) | (1 << ACL_OP_DESCRIBE));
  cr_assert_eq(m->cluster_authorized_operations, 0);
  kdone(&c);
  kstart(&c, &admin, KAFKA_METADATA, 10, &q);
  m = kanswer(&c);
  cr_assert_eq(m->topics[0].topic_authorized_operations,
               (1 << ACL_OP_READ) | (1 << ACL_OP_WRITE) | (1 << ACL_OP_CREATE) |
                   (1 << ACL_OP_DELETE) | (1 << ACL_OP_ALTER) | (1 << ACL_OP_DESCRIBE) |
                   (1 << ACL_OP_DESCRIBE_CONFIGS) | (1 << ACL_OP_ALTER_CONFIGS));
  kdone(&c);
  q.include_topic_authorized_operations = 0; /* not asked: Kafka's "none" value */
  kstart(&c, &alice, KAFKA_METADATA, 10, &q);
  m = kanswer(&c);
  cr_assert_eq(m->topics[0].topic_authorized_operations, INT32_MIN);
  kdone(&c);
}

Test(kafka_authz, a_clients_fetch_as_a_replica_gets_31_cve_2018_1288) {
  allow("User:alice", ACL_RES_TOPIC, "t", ACL_OP_READ);
  struct kafka_fetch_req_fetch_partition fp = {.partition = 0, .current_leader_epoch = -1,
                                               .fetch_offset = 0, .last_fetched_epoch = -1,
                                               .log_start_offset = -1,
                                               .partition_max_bytes = 1 << 20};
  struct kafka_fetch_req_fetch_topic ft = {.topic = "t", .n_partitions = 1, .partitions = &fp};
  struct kafka_fetch_req q = {.replica_id = 2, .max_wait_ms = 0, .min_bytes = 0,
                              .max_bytes = 1 << 20, .n_topics = 1, .topics = &ft,
                              .n_forgotten_topics_data = 0};
  struct kc c;
  kstart(&c, &alice, KAFKA_FETCH, 4, &q);
  struct kafka_fetch_resp *m = kanswer(&c);
  cr_assert_eq(m->responses[0].partitions[0].error_code, KERR_CLUSTER_AUTHORIZATION_FAILED);
  cr_assert_eq(m->responses[0].partitions[0].records.len, 0);
  kdone(&c);
  q.replica_id = -1; /* as a consumer: Read is enough */
  kstart(&c, &alice, KAFKA_FETCH, 4, &q);
  m = kanswer(&c);
  cr_assert_eq(m->responses[0].partitions[0].error_code, 0);
  kdone(&c);
}

Test(kafka_authz, offsets_for_leader_epoch_and_describe_topic_partitions_need_describe) {
  struct kafka_offset_for_leader_epoch_req_offset_for_leader_partition lp = {
      .partition = 0, .current_leader_epoch = -1, .leader_epoch = 0};
  struct kafka_offset_for_leader_epoch_req_offset_for_leader_topic lt = {
      .topic = "t", .n_partitions = 1, .partitions = &lp};
  struct kafka_offset_for_leader_epoch_req q = {.replica_id = -1, .n_topics = 1, .topics = &lt};
  struct kc c;
  kstart(&c, &mallory, KAFKA_OFFSET_FOR_LEADER_EPOCH, 3, &q);
  struct kafka_offset_for_leader_epoch_resp *m = kanswer(&c);
  cr_assert_eq(m->topics[0].partitions[0].error_code, KERR_TOPIC_AUTHORIZATION_FAILED);
  cr_assert_eq(m->topics[0].partitions[0].end_offset, -1);
  kdone(&c);
  q.replica_id = 2; /* as a replica: ClusterAction */
  allow("User:alice", ACL_RES_TOPIC, "t", ACL_OP_DESCRIBE);
  kstart(&c, &alice, KAFKA_OFFSET_FOR_LEADER_EPOCH, 3, &q);
  m = kanswer(&c);
  cr_assert_eq(m->topics[0].partitions[0].error_code, KERR_CLUSTER_AUTHORIZATION_FAILED);
  kdone(&c);
  q.replica_id = -1;
  kstart(&c, &alice, KAFKA_OFFSET_FOR_LEADER_EPOCH, 3, &q);
  m = kanswer(&c);
  cr_assert_eq(m->topics[0].partitions[0].error_code, 0);
  kdone(&c);

  struct kafka_describe_topic_partitions_req_topic_request tr[2] = {{.name = "secret"},
                                                                     {.name = "t"}};
  struct kafka_describe_topic_partitions_req d = {.n_topics = 2, .topics = tr,
                                                  .response_partition_limit = 100};
  kstart(&c, &alice, KAFKA_DESCRIBE_TOPIC_PARTITIONS, 0, &d);
  struct kafka_describe_topic_partitions_resp *dm = kanswer(&c);
  cr_assert_eq(dm->n_topics, 2);
  cr_assert_eq(dm->topics[0].error_code, KERR_TOPIC_AUTHORIZATION_FAILED); /* secret */
  cr_assert_eq(dm->topics[0].n_partitions, 0);
  cr_assert_eq(dm->topics[1].error_code, 0);
  kdone(&c);
  d.n_topics = -1; /* all: secret left out */
  kstart(&c, &alice, KAFKA_DESCRIBE_TOPIC_PARTITIONS, 0, &d);
  dm = kanswer(&c);
  cr_assert_eq(dm->n_topics, 1);
  cr_assert_str_eq(dm->topics[0].name, "t");
  kdone(&c);
}

Test(kafka_authz, heartbeat_and_offset_delete_need_their_group_permission) {
  struct kafka_heartbeat_req h = {.group_id = "cg", .generation_id = 1, .member_id = "m"};
  struct kc c;
  kstart(&c, &mallory, KAFKA_HEARTBEAT, 3, &h);
  struct kafka_heartbeat_resp *hm = kanswer(&c);
  cr_assert_eq(hm->error_code, KERR_GROUP_AUTHORIZATION_FAILED);
  kdone(&c);
  struct kafka_offset_delete_req_offset_delete_request_partition dp = {.partition_index = 0};
  struct kafka_offset_delete_req_offset_delete_request_topic dt = {.name = "t",
                                                                   .n_partitions = 1,
                                                                   .partitions = &dp};
  struct kafka_offset_delete_req d = {.group_id = "cg", .n_topics = 1, .topics = &dt};
  allow("User:alice", ACL_RES_GROUP, "cg", ACL_OP_READ); /* Read is not Delete */
  kstart(&c, &alice, KAFKA_OFFSET_DELETE, 0, &d);
  struct kafka_offset_delete_resp *dm = kanswer(&c);
  cr_assert_eq(dm->error_code, KERR_GROUP_AUTHORIZATION_FAILED);
  kdone(&c);
}
