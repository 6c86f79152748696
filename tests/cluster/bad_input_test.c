/* Safety property 6 against a real broker: malformed frames, bad CRCs,
 * oversized frames, unknown APIs, unknown topics and bad arguments each get
 * an error answer; the broker stays up, the connection stays usable where the
 * stream can be resynchronised, and no stored data changes. Also: idempotent
 * producer resends and gaps, producer ids across restarts, and group requests
 * from unknown members, stale epochs, for unknown partitions, and resets of a
 * live group. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/lib/conn.h"
#include "client/strata.h"
#include "common/batch.h"
#include "common/bytes.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/wire.h"
#include "drill/proc.h"

static pid_t broker = -1;
static char *dir;
static int port;
static struct conn c;

static void setup(void) {
  dir = proc_tmpdir("strata-badinput");
  cr_assert(dir);
  const char *extra[] = {"socket.request.max.bytes=65536", NULL};
  broker = proc_start_broker_any(dir, &port, extra, NULL);
  cr_assert_gt(broker, 0, "broker did not start");
  char err[256];
  conn_init(&c);
  cr_assert_eq(conn_open(&c, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0, "%s", err);
  char bs[64];
  snprintf(bs, sizeof bs, "127.0.0.1:%d", port);
  strata_client *a = strata_client_new(bs, 5000, err, sizeof err);
  cr_assert(a);
  cr_assert_eq(strata_topic_create(a, "t", 1, 1, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
  strata_client_free(a);
}

static void teardown(void) {
  conn_close(&c);
  if (broker > 0)
    cr_expect_eq(proc_stop(broker), 0, "the broker shuts down cleanly (no leaks under ASan)");
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(bad_input, .init = setup, .fini = teardown, .timeout = 60);

static void header(Strata__Header *h, uint32_t api) {
  strata__header__init(h);
  h->api_key = api;
}

/* A request/response that must come back with `want` as its request-level error. */
static Strata__Header *call(Strata__Header *h, const uint8_t *payload, size_t len, int want) {
  Strata__Header *r = NULL;
  int rc = conn_call(&c, h, payload, len, 5000, &r, NULL, NULL);
  cr_assert_eq(rc, want, "got %s, wanted %s", strata_errname(rc), strata_errname(want));
  cr_assert(r);
  return r;
}

static void api_versions_ok(void) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_API_VERSIONS);
  Strata__ApiVersionsRequest q = STRATA__API_VERSIONS_REQUEST__INIT;
  h.body_case = STRATA__HEADER__BODY_API_VERSIONS_REQ;
  h.api_versions_req = &q;
  Strata__Header *r = call(&h, NULL, 0, 0);
  cr_assert_eq(r->body_case, STRATA__HEADER__BODY_API_VERSIONS_RESP);
  cr_assert_geq(r->api_versions_resp->n_apis, 7u);
  wire_header_free(r);
}

static int64_t latest(void) {
  char bs[64], err[256];
  snprintf(bs, sizeof bs, "127.0.0.1:%d", port);
  strata_client *a = strata_client_new(bs, 5000, err, sizeof err);
  cr_assert(a, "broker gone: %s", err);
  int64_t off = -5;
  cr_assert_eq(strata_list_offset(a, "t", 0, STRATA_OFFSET_END, &off, NULL), 0);
  strata_client_free(a);
  return off;
}

/* Produce one partition's payload; returns the partition's error, and its
 * base offset in *base when asked. */
static int produce_at(const char *topic, const uint8_t *data, size_t len, int acks, int req_err,
                      int64_t *base) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_PRODUCE);
  Strata__ProducePartition pp = STRATA__PRODUCE_PARTITION__INIT;
  pp.topic = (char *)topic;
  pp.payload_bytes = (uint32_t)len;
  Strata__ProducePartition *ppv[1] = {&pp};
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = acks;
  q.partitions = ppv;
  q.n_partitions = 1;
  h.body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h.produce_req = &q;
  Strata__Header *r = call(&h, data, len, req_err);
  int rc = req_err;
  if (!req_err) {
    cr_assert_eq(r->produce_resp->n_partitions, 1u);
    rc = strata_error_from_wire(r->produce_resp->partitions[0]->error_code);
    if (base) *base = r->produce_resp->partitions[0]->base_offset;
  }
  wire_header_free(r);
  return rc;
}

static int produce(const char *topic, const uint8_t *data, size_t len, int acks, int req_err) {
  return produce_at(topic, data, len, acks, req_err, NULL);
}

static const uint8_t *good_batch(struct batch_builder *b, size_t *len) {
  batch_builder_init(b);
  cr_assert_eq(batch_builder_add(b, 1700000000000, "k", 1, "value", 5, NULL, 0), 0);
  const uint8_t *out;
  cr_assert_eq(batch_builder_finish(b, BATCH_COMPRESSION_NONE, 0, &out, len), 0);
  return out;
}

Test(bad_input, unknown_api_key_gets_unsupported_version_and_connection_survives) {
  Strata__Header h;
  header(&h, 777);
  wire_header_free(call(&h, NULL, 0, STRATA_EUNSUPPORTED_VERSION));
  header(&h, STRATA__API_KEY__API_METADATA);
  h.api_version = 99;
  Strata__MetadataRequest q = STRATA__METADATA_REQUEST__INIT;
  h.body_case = STRATA__HEADER__BODY_METADATA_REQ;
  h.metadata_req = &q;
  wire_header_free(call(&h, NULL, 0, STRATA_EUNSUPPORTED_VERSION));
  api_versions_ok();
}

Test(bad_input, request_without_its_body_is_invalid) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_PRODUCE); /* no produce_req */
  wire_header_free(call(&h, NULL, 0, STRATA_EINVALID_REQUEST));
  api_versions_ok();
}

Test(bad_input, garbage_header_gets_invalid_request_and_connection_survives) {
  uint8_t frame[FRAME_PREFIX_SIZE + 6];
  frame_write_prefix(frame, 6, 0);
  memcpy(frame + FRAME_PREFIX_SIZE, "\xff\xff\xff\xff\xff\xff", 6);
  cr_assert_eq(write(c.fd, frame, sizeof frame), (ssize_t)sizeof frame);
  Strata__Header *r;
  const uint8_t *pl;
  uint32_t pn;
  cr_assert_eq(conn_recv(&c, 5000, &r, &pl, &pn), 1);
  cr_assert_eq(strata_error_from_wire(r->error_code), STRATA_EINVALID_REQUEST);
  wire_header_free(r);
  api_versions_ok();
}

Test(bad_input, batch_with_bad_crc_is_refused_and_log_unchanged) {
  struct batch_builder b;
  size_t len;
  const uint8_t *good = good_batch(&b, &len);
  uint8_t *bad = malloc(len);
  memcpy(bad, good, len);
  bad[len - 2] ^= 0x40;
  cr_assert_eq(produce("t", bad, len, 1, 0), STRATA_ECORRUPT);
  /* truncated batch, and a batch length that lies */
  cr_assert_neq(produce("t", good, len - 3, 1, 0), 0);
  memcpy(bad, good, len);
  be32_store(bad + 8, 1u << 30);
  cr_assert_neq(produce("t", bad, len, 1, 0), 0);
  cr_assert_eq(latest(), 0, "nothing was appended");
  cr_assert_eq(produce("t", good, len, 1, 0), 0);
  cr_assert_eq(latest(), 1);
  free(bad);
  batch_builder_free(&b);
}

Test(bad_input, unknown_topic_bad_acks_and_lying_sizes_are_refused) {
  struct batch_builder b;
  size_t len;
  const uint8_t *good = good_batch(&b, &len);
  cr_assert_eq(produce("nope", good, len, 1, 0), STRATA_EUNKNOWN_TOPIC);
  cr_assert_eq(produce("t", good, len, 7, STRATA_EINVALID_REQUEST), STRATA_EINVALID_REQUEST);
  /* payload_bytes says len, the frame carries len + 5 */
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_PRODUCE);
  Strata__ProducePartition pp = STRATA__PRODUCE_PARTITION__INIT;
  pp.topic = (char *)"t";
  pp.payload_bytes = (uint32_t)len;
  Strata__ProducePartition *ppv[1] = {&pp};
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = 1;
  q.partitions = ppv;
  q.n_partitions = 1;
  h.body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h.produce_req = &q;
  uint8_t *more = calloc(1, len + 5);
  memcpy(more, good, len);
  wire_header_free(call(&h, more, len + 5, STRATA_EINVALID_REQUEST));
  free(more);
  cr_assert_eq(latest(), 0);
  batch_builder_free(&b);
}

Test(bad_input, oversized_frame_is_answered_by_its_header_and_skipped) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_PRODUCE);
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = 1;
  h.body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h.produce_req = &q;
  size_t big = 200000; /* over socket.request.max.bytes=65536 */
  uint8_t *junk = calloc(1, big);
  uint32_t corr;
  cr_assert_eq(conn_send(&c, &h, junk, big, 5000, &corr), 0);
  Strata__Header *r;
  const uint8_t *pl;
  uint32_t pn;
  cr_assert_eq(conn_recv(&c, 5000, &r, &pl, &pn), 1);
  cr_assert_eq(r->correlation_id, corr);
  cr_assert_eq(strata_error_from_wire(r->error_code), STRATA_ETOO_LARGE);
  wire_header_free(r);
  free(junk);
  api_versions_ok();
  cr_assert_eq(latest(), 0);
}

Test(bad_input, unresyncable_frame_closes_only_that_connection) {
  uint8_t frame[FRAME_PREFIX_SIZE + 4];
  be32_store(frame, 8);           /* frame of 8 bytes after the length */
  be32_store(frame + 4, 1000);    /* header claims 1000 */
  cr_assert_eq(write(c.fd, frame, sizeof frame), (ssize_t)sizeof frame);
  Strata__Header *r;
  const uint8_t *pl;
  uint32_t pn;
  cr_assert_eq(conn_recv(&c, 5000, &r, &pl, &pn), 1);
  cr_assert_eq(strata_error_from_wire(r->error_code), STRATA_EINVALID_REQUEST);
  wire_header_free(r);
  cr_assert_lt(conn_recv(&c, 5000, &r, &pl, &pn), 0, "then the connection ends");
  char err[256];
  cr_assert_eq(conn_open(&c, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0, "broker still up");
  api_versions_ok();
}

Test(bad_input, half_a_frame_then_disconnect_leaves_broker_serving) {
  for (int i = 0; i < 50; i++) {
    struct conn k;
    char err[256];
    conn_init(&k);
    cr_assert_eq(conn_open(&k, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0);
    uint8_t part[6] = {0, 0, 1, 0, 0, 0};
    cr_assert_eq(write(k.fd, part, sizeof part), (ssize_t)sizeof part);
    conn_close(&k);
  }
  api_versions_ok();
}

Test(bad_input, bad_topic_requests_get_errors) {
  char bs[64], err[256];
  snprintf(bs, sizeof bs, "127.0.0.1:%d", port);
  strata_client *a = strata_client_new(bs, 5000, err, sizeof err);
  cr_assert(a);
  cr_assert_eq(strata_topic_create(a, "bad/name", 1, 1, NULL, NULL, 0, err, sizeof err),
               STRATA_EINVALID_TOPIC);
  cr_assert_eq(strata_topic_create(a, "x", 1, 3, NULL, NULL, 0, err, sizeof err),
               STRATA_EINVALID_REPLICATION_FACTOR);
  const char *k[] = {"retention.ms"}, *v[] = {"soon"};
  cr_assert_eq(strata_topic_create(a, "x", 1, 1, k, v, 1, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert(strstr(err, "retention.ms"), "the error names the key: %s", err);
  const char *k2[] = {"no.such.key"}, *v2[] = {"1"};
  cr_assert_eq(strata_topic_create(a, "x", 1, 1, k2, v2, 1, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_assert_eq(strata_topic_create(a, "x", 0, 1, NULL, NULL, 0, err, sizeof err), 0,
               "0 partitions means the broker default: %s", err);
  cr_assert_eq(strata_topic_delete(a, "never", err, sizeof err), STRATA_EUNKNOWN_TOPIC);
  int64_t off;
  cr_assert_eq(strata_list_offset(a, "never", 0, STRATA_OFFSET_END, &off, NULL),
               STRATA_EUNKNOWN_TOPIC);
  cr_assert_eq(strata_list_offset(a, "t", 5, STRATA_OFFSET_END, &off, NULL),
               STRATA_EUNKNOWN_TOPIC);
  strata_client_free(a);
}

Test(bad_input, fetch_past_the_end_is_offset_out_of_range) {
  char bs[64], err[256];
  snprintf(bs, sizeof bs, "127.0.0.1:%d", port);
  strata_consumer *k = strata_consumer_new(bs, NULL, err, sizeof err);
  cr_assert(k);
  cr_assert_eq(strata_consumer_assign(k, "t", 0, 100), 0);
  const strata_message *m;
  cr_assert_eq(strata_consumer_poll(k, 1000, &m), STRATA_EOFFSET_OUT_OF_RANGE);
  strata_consumer_free(k);
}

Test(bad_input, random_byte_streams_never_take_the_broker_down) {
  uint64_t x = 0x2545F4914F6CDD1Dull;
  uint8_t buf[4096];
  for (int round = 0; round < 200; round++) {
    struct conn k;
    char err[256];
    conn_init(&k);
    cr_assert_eq(conn_open(&k, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0,
                 "broker down after %d rounds: %s", round, err);
    size_t len = (size_t)(x % sizeof buf);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      buf[i] = (uint8_t)x;
    }
    if (round % 2) { /* a plausible prefix makes the parser go deeper */
      be32_store(buf, (uint32_t)(len > 4 ? len - 4 : 0));
      be32_store(buf + 4, (uint32_t)(x % 64));
    }
    if (write(k.fd, buf, len) < 0) {
    }
    Strata__Header *r;
    const uint8_t *pl;
    uint32_t pn;
    while (conn_recv(&k, 50, &r, &pl, &pn) == 1) {
      cr_assert_neq(r->error_code, 0u, "random bytes never succeed");
      wire_header_free(r);
    }
    conn_close(&k);
  }
  api_versions_ok();
  cr_assert_eq(latest(), 0, "no stored data changed");
}

/* Produce one idempotent batch of `n` records (producer 42, epoch 0, first
 * sequence seq); returns the partition error, *base its offset. */
static int produce_seq(int32_t seq, int n, int64_t *base) {
  struct batch_builder b;
  batch_builder_init(&b);
  for (int i = 0; i < n; i++)
    cr_assert_eq(batch_builder_add(&b, 1700000000000, "k", 1, "v", 1, NULL, 0), 0);
  const uint8_t *data;
  size_t len;
  cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &data, &len), 0);
  batch_set_producer((uint8_t *)data, len, 42, 0, seq);
  int rc = produce_at("t", data, len, -1, 0, base);
  batch_builder_free(&b);
  return rc;
}

Test(bad_input, idempotent_resends_get_their_offset_gaps_are_refused_across_a_restart) {
  int64_t base;
  cr_assert_eq(produce_seq(0, 3, &base), 0);
  cr_assert_eq(base, 0);
  cr_assert_eq(produce_seq(3, 2, &base), 0);
  cr_assert_eq(base, 3);
  cr_assert_eq(latest(), 5);
  cr_assert_eq(produce_seq(0, 3, &base), 0, "a resend is not an error");
  cr_assert_eq(base, 0, "it gets its original offset");
  cr_assert_eq(produce_seq(9, 1, &base), STRATA_EOUT_OF_ORDER_SEQUENCE, "a gap");
  cr_assert_eq(produce_seq(1, 3, &base), STRATA_EOUT_OF_ORDER_SEQUENCE, "overlaps");
  cr_assert_eq(latest(), 5, "nothing appended twice or out of order");
  /* kill -9 and restart: the state comes back from the log */
  conn_close(&c);
  proc_kill(broker, SIGKILL);
  const char *extra[] = {"socket.request.max.bytes=65536", NULL};
  broker = proc_start_broker(dir, port, extra, NULL);
  cr_assert_gt(broker, 0, "broker did not restart");
  char err[256];
  cr_assert_eq(conn_open(&c, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_eq(produce_seq(3, 2, &base), 0);
  cr_assert_eq(base, 3, "still known after the restart");
  cr_assert_eq(produce_seq(5, 1, &base), 0);
  cr_assert_eq(base, 5);
  cr_assert_eq(latest(), 6);
}

Test(bad_input, producer_ids_are_never_given_twice_across_a_restart) {
  int64_t seen[4];
  for (int i = 0; i < 4; i++) {
    if (i == 2) { /* a restart in between */
      conn_close(&c);
      cr_assert_eq(proc_stop(broker), 0);
      const char *extra[] = {"socket.request.max.bytes=65536", NULL};
      broker = proc_start_broker(dir, port, extra, NULL);
      cr_assert_gt(broker, 0);
      char err[256];
      cr_assert_eq(conn_open(&c, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0, "%s", err);
    }
    Strata__Header h;
    header(&h, STRATA__API_KEY__API_INIT_PRODUCER_ID);
    Strata__InitProducerIdRequest q = STRATA__INIT_PRODUCER_ID_REQUEST__INIT;
    h.body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ;
    h.init_producer_id_req = &q;
    Strata__Header *r = call(&h, NULL, 0, 0);
    cr_assert_eq(r->body_case, STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP);
    seen[i] = r->init_producer_id_resp->producer_id;
    wire_header_free(r);
    cr_assert_geq(seen[i], 0);
    for (int k = 0; k < i; k++) cr_assert_neq(seen[k], seen[i], "id %lld twice", (long long)seen[i]);
  }
}

/* ---- consumer groups ---- */

static Strata__Header *group_hb(const char *group, const char *member, int32_t epoch,
                                const char *topic, int want) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT);
  Strata__GroupHeartbeatRequest q = STRATA__GROUP_HEARTBEAT_REQUEST__INIT;
  q.group_id = (char *)group;
  q.member_id = (char *)member;
  q.member_epoch = epoch;
  char *topics[1] = {(char *)topic};
  if (topic) {
    q.topics = topics;
    q.n_topics = 1;
    q.topics_set = 1;
  }
  h.body_case = STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ;
  h.group_heartbeat_req = &q;
  return call(&h, NULL, 0, want);
}

/* Commit one offset; returns the partition's error. */
static int group_commit(const char *member, int32_t epoch, uint32_t partition, int64_t offset,
                        int want) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_OFFSET_COMMIT);
  Strata__OffsetCommitPartition p = STRATA__OFFSET_COMMIT_PARTITION__INIT, *pv[1] = {&p};
  p.topic = (char *)"t";
  p.partition = partition;
  p.offset = offset;
  Strata__OffsetCommitRequest q = STRATA__OFFSET_COMMIT_REQUEST__INIT;
  q.group_id = (char *)"bg";
  q.member_id = (char *)member;
  q.member_epoch = epoch;
  q.partitions = pv;
  q.n_partitions = 1;
  h.body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
  h.offset_commit_req = &q;
  Strata__Header *r = call(&h, NULL, 0, want);
  int rc = want ? want : strata_error_from_wire(r->offset_commit_resp->partitions[0]->error_code);
  wire_header_free(r);
  return rc;
}

static int64_t committed_offset(void) {
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_OFFSET_FETCH);
  Strata__OffsetFetchRequest q = STRATA__OFFSET_FETCH_REQUEST__INIT;
  q.group_id = (char *)"bg";
  h.body_case = STRATA__HEADER__BODY_OFFSET_FETCH_REQ;
  h.offset_fetch_req = &q;
  Strata__Header *r = call(&h, NULL, 0, 0);
  int64_t off = r->offset_fetch_resp->n_partitions ? r->offset_fetch_resp->partitions[0]->offset : -1;
  wire_header_free(r);
  return off;
}

Test(bad_input, group_requests_with_bad_members_epochs_or_partitions_change_nothing) {
  /* unknown group */
  Strata__Header h;
  header(&h, STRATA__API_KEY__API_DESCRIBE_GROUP);
  Strata__DescribeGroupRequest dq = STRATA__DESCRIBE_GROUP_REQUEST__INIT;
  dq.group_id = (char *)"nobody";
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_GROUP_REQ;
  h.describe_group_req = &dq;
  wire_header_free(call(&h, NULL, 0, STRATA_EUNKNOWN_GROUP));
  /* malformed joins */
  wire_header_free(group_hb("", "", 0, "t", STRATA_EINVALID_REQUEST));
  wire_header_free(group_hb("bg", "", 0, NULL, STRATA_EINVALID_REQUEST));
  /* a member joins and gets the partition */
  Strata__Header *r = group_hb("bg", "", 0, "t", 0);
  char member[64];
  snprintf(member, sizeof member, "%s", r->group_heartbeat_resp->member_id);
  int32_t epoch = r->group_heartbeat_resp->member_epoch;
  wire_header_free(r);
  for (int i = 0; i < 30; i++) { /* past the initial rebalance delay */
    r = group_hb("bg", member, epoch, NULL, 0);
    size_t n = r->group_heartbeat_resp->n_assignment;
    epoch = r->group_heartbeat_resp->member_epoch;
    wire_header_free(r);
    if (n) break;
    usleep(50000);
  }
  cr_assert_eq(group_commit(member, epoch, 0, 1, 0), 0, "a good commit");
  cr_assert_eq(committed_offset(), 1);
  /* unknown member, stale epoch, foreign partition, admin reset of a live group */
  wire_header_free(group_hb("bg", "ghost", 1, NULL, STRATA_EUNKNOWN_MEMBER));
  wire_header_free(group_hb("bg", member, epoch + 7, NULL, STRATA_EILLEGAL_GENERATION));
  cr_assert_eq(group_commit("ghost", epoch, 0, 5, 0), STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(group_commit(member, epoch - 1, 0, 5, 0), STRATA_EILLEGAL_GENERATION);
  cr_assert_eq(group_commit(member, epoch, 3, 5, 0), STRATA_EUNKNOWN_TOPIC, "t has 1 partition");
  cr_assert_eq(group_commit(member, epoch, 0, -4, 0), STRATA_EINVALID_REQUEST);
  cr_assert_eq(group_commit("", -1, 0, 5, STRATA_EGROUP_NOT_EMPTY), STRATA_EGROUP_NOT_EMPTY);
  cr_assert_eq(committed_offset(), 1, "nothing refused was committed");
  /* it leaves: now the operator may reset */
  wire_header_free(group_hb("bg", member, -1, NULL, 0));
  cr_assert_eq(group_commit("", -1, 0, 0, 0), 0);
  cr_assert_eq(committed_offset(), 0);
  api_versions_ok();
}
