/* controller/quorum_wire.c: the quorum's messages to protobuf and back,
 * records read from the payload's batch headers, and bad bytes refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/errors.h"
#include "controller/quorum_wire.h"

static struct quorum_key key(int id) {
  struct quorum_key k = {.id = id};
  for (int i = 0; i < QUORUM_DIR_LEN; i++) k.dir[i] = (uint8_t)(id * 16 + i);
  return k;
}

static struct quorum_msg base(enum quorum_msg_type t) {
  struct quorum_msg m;
  memset(&m, 0, sizeof m);
  m.type = t;
  m.to = 2;
  m.src = key(1);
  m.dst = key(2);
  m.epoch = 7;
  m.leader = 1;
  return m;
}

/* Encode, pack, unpack, decode (with payload): what a peer would read. */
static int roundtrip(const struct quorum_msg *m, const char *cluster, const uint8_t *payload, size_t len,
                     struct quorum_msg *out) {
  struct quorum_wire w;
  quorum_wire_encode(m, "strata-cluster-1", &w);
  size_t n = strata__quorum_message__get_packed_size(&w.msg);
  uint8_t *buf = malloc(n ? n : 1);
  strata__quorum_message__pack(&w.msg, buf);
  Strata__QuorumMessage *u = strata__quorum_message__unpack(NULL, n, buf);
  cr_assert(u);
  int rc = quorum_wire_decode(u, cluster, m->to, payload, len, out);
  strata__quorum_message__free_unpacked(u, NULL);
  free(buf);
  return rc;
}

static void same_common(const struct quorum_msg *a, const struct quorum_msg *b) {
  cr_assert_eq(a->type, b->type);
  cr_assert_eq(a->to, b->to);
  cr_assert_eq(a->src.id, b->src.id);
  cr_assert_arr_eq(a->src.dir, b->src.dir, QUORUM_DIR_LEN);
  cr_assert_arr_eq(a->dst.dir, b->dst.dir, QUORUM_DIR_LEN);
  cr_assert_eq(a->epoch, b->epoch);
  cr_assert_eq(a->leader, b->leader);
  cr_assert_eq(a->error, b->error);
}

Test(quorum_wire, votes_and_epoch_messages_survive_the_round_trip) {
  struct quorum_msg m = base(QUORUM_VOTE_REQ), o;
  m.vote_req.pre_vote = 1;
  m.vote_req.last_epoch = 6;
  m.vote_req.end_offset = 1234567890123;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  same_common(&m, &o);
  cr_assert_eq(o.vote_req.pre_vote, 1);
  cr_assert_eq(o.vote_req.last_epoch, 6);
  cr_assert_eq(o.vote_req.end_offset, 1234567890123);

  m = base(QUORUM_VOTE_RESP);
  m.error = STRATA_EFENCED_LEADER_EPOCH;
  m.vote_resp.granted = 1;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  same_common(&m, &o);
  cr_assert(o.vote_resp.granted && !o.vote_resp.pre_vote);

  m = base(QUORUM_END_EPOCH_REQ);
  m.leader = -1;
  m.end_epoch.nsuccessors = 2;
  m.end_epoch.successors[0] = 3;
  m.end_epoch.successors[1] = 0;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  same_common(&m, &o);
  cr_assert_eq(o.end_epoch.nsuccessors, 2);
  cr_assert_eq(o.end_epoch.successors[0], 3);

  enum quorum_msg_type empty[] = {QUORUM_BEGIN_EPOCH_REQ, QUORUM_BEGIN_EPOCH_RESP, QUORUM_END_EPOCH_RESP};
  for (int i = 0; i < 3; i++) {
    m = base(empty[i]);
    cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
    same_common(&m, &o);
  }
}

Test(quorum_wire, fetches_and_snapshot_fetches_survive_the_round_trip) {
  struct quorum_msg m = base(QUORUM_FETCH_REQ), o;
  m.fetch_req.offset = 42;
  m.fetch_req.last_epoch = 5;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  same_common(&m, &o);
  cr_assert_eq(o.fetch_req.offset, 42);
  cr_assert_eq(o.fetch_req.last_epoch, 5);

  m = base(QUORUM_FETCH_RESP);
  m.fetch_resp.fetch_offset = 42;
  m.fetch_resp.last_fetched_epoch = 5;
  m.fetch_resp.hw = 40;
  m.fetch_resp.log_start = 10;
  m.fetch_resp.diverging_epoch = 4;
  m.fetch_resp.diverging_end = 38;
  m.fetch_resp.snapshot.end_offset = -1;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  same_common(&m, &o);
  cr_assert_eq(o.fetch_resp.diverging_epoch, 4);
  cr_assert_eq(o.fetch_resp.diverging_end, 38);
  cr_assert_eq(o.fetch_resp.snapshot.end_offset, -1);
  cr_assert_eq(o.fetch_resp.hw, 40);
  cr_assert_eq(o.fetch_resp.log_start, 10);

  m.fetch_resp.diverging_epoch = -1;
  m.fetch_resp.snapshot = (struct quorum_snapshot_id){10, 3};
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  cr_assert_eq(o.fetch_resp.diverging_epoch, -1);
  cr_assert_eq(o.fetch_resp.snapshot.end_offset, 10);
  cr_assert_eq(o.fetch_resp.snapshot.epoch, 3);

  m = base(QUORUM_FETCH_SNAPSHOT_REQ);
  m.snap_req.id = (struct quorum_snapshot_id){10, 3};
  m.snap_req.position = 4096;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", NULL, 0, &o), 0);
  cr_assert_eq(o.snap_req.id.end_offset, 10);
  cr_assert_eq(o.snap_req.position, 4096);

  m = base(QUORUM_FETCH_SNAPSHOT_RESP);
  m.snap_resp.id = (struct quorum_snapshot_id){10, 3};
  m.snap_resp.position = 4096;
  m.snap_resp.size = 9000;
  uint8_t chunk[100] = {0};
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", chunk, sizeof chunk, &o), 0);
  cr_assert_eq(o.snap_resp.size, 9000);
  cr_assert_eq(o.snap_resp.len, 100, "the chunk is the payload");
}

/* RecordBatch v2 batches at base, count records each, of epoch. */
static size_t add_batch(uint8_t *out, size_t at, int64_t base_offset, int count, int32_t epoch) {
  struct batch_builder b;
  batch_builder_init(&b);
  for (int i = 0; i < count; i++) cr_assert_eq(batch_builder_add(&b, 1000 + i, NULL, 0, "v", 1, NULL, 0), 0);
  const uint8_t *p;
  size_t len;
  cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &p, &len), 0);
  memcpy(out + at, p, len);
  batch_set_base_offset(out + at, base_offset);
  batch_set_leader_epoch(out + at, epoch);
  batch_builder_free(&b);
  return at + len;
}

Test(quorum_wire, fetch_answer_spans_come_from_the_batch_headers) {
  static uint8_t pay[4096];
  size_t n = add_batch(pay, 0, 5, 3, 3);
  n = add_batch(pay, n, 8, 1, 3);
  n = add_batch(pay, n, 9, 2, 4);
  struct quorum_msg m = base(QUORUM_FETCH_RESP), o;
  m.fetch_resp.fetch_offset = 5;
  m.fetch_resp.last_fetched_epoch = 1;
  m.fetch_resp.diverging_epoch = -1;
  m.fetch_resp.snapshot.end_offset = -1;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, n, &o), 0);
  cr_assert_eq(o.fetch_resp.nspans, 2);
  cr_assert_eq(o.fetch_resp.spans[0].base, 5);
  cr_assert_eq(o.fetch_resp.spans[0].count, 4, "runs of one epoch merge");
  cr_assert_eq(o.fetch_resp.spans[0].epoch, 3);
  cr_assert_eq(o.fetch_resp.spans[1].base, 9);
  cr_assert_eq(o.fetch_resp.spans[1].count, 2);
  cr_assert_eq(o.fetch_resp.spans[1].epoch, 4);

  /* a cut-short batch, a flipped bit, a gap, an epoch going back */
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, n - 1, &o), STRATA_EINVALID_REQUEST);
  pay[n - 3] ^= 0x40;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, n, &o), STRATA_EINVALID_REQUEST);
  size_t g = add_batch(pay, 0, 5, 3, 3);
  g = add_batch(pay, g, 9, 1, 3);
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, g, &o), STRATA_EINVALID_REQUEST);
  g = add_batch(pay, 0, 5, 3, 4);
  g = add_batch(pay, g, 8, 1, 3);
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, g, &o), STRATA_EINVALID_REQUEST);
  /* records beside a divergence */
  g = add_batch(pay, 0, 5, 3, 3);
  m.fetch_resp.diverging_epoch = 2;
  m.fetch_resp.diverging_end = 3;
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, g, &o), STRATA_EINVALID_REQUEST);
  /* more epoch runs than a message holds */
  m.fetch_resp.diverging_epoch = -1;
  g = 0;
  for (int i = 0; i <= QUORUM_SPANS_MAX; i++) g = add_batch(pay, g, 5 + i, 1, 3 + i);
  cr_assert_eq(roundtrip(&m, "strata-cluster-1", pay, g, &o), STRATA_EINVALID_REQUEST);
}

Test(quorum_wire, another_clusters_message_and_malformed_keys_are_refused) {
  struct quorum_msg m = base(QUORUM_VOTE_REQ), o;
  cr_assert_eq(roundtrip(&m, "strata-cluster-2", NULL, 0, &o), STRATA_EINCONSISTENT_CLUSTER_ID);
  struct quorum_wire w;
  quorum_wire_encode(&m, "c", &w);
  w.src.directory_id.len = 3;
  cr_assert_eq(quorum_wire_decode(&w.msg, "c", 2, NULL, 0, &o), STRATA_EINVALID_REQUEST);
  quorum_wire_encode(&m, "c", &w);
  w.msg.dst = NULL;
  cr_assert_eq(quorum_wire_decode(&w.msg, "c", 2, NULL, 0, &o), STRATA_EINVALID_REQUEST);
  quorum_wire_encode(&m, "c", &w);
  w.msg.body_case = STRATA__QUORUM_MESSAGE__BODY__NOT_SET;
  cr_assert_eq(quorum_wire_decode(&w.msg, "c", 2, NULL, 0, &o), STRATA_EINVALID_REQUEST);
  m = base(QUORUM_END_EPOCH_REQ);
  quorum_wire_encode(&m, "c", &w);
  static int32_t many[QUORUM_VOTERS_MAX + 1];
  w.end_req.preferred_successors = many;
  w.end_req.n_preferred_successors = QUORUM_VOTERS_MAX + 1;
  cr_assert_eq(quorum_wire_decode(&w.msg, "c", 2, NULL, 0, &o), STRATA_EINVALID_REQUEST);
  cr_assert_null(strata__quorum_message__unpack(NULL, 5, (const uint8_t *)"\xff\xff\xff\xff\xff"));
}

Test(quorum_wire, describe_quorum_lists_voters_and_observers) {
  struct quorum_description d;
  memset(&d, 0, sizeof d);
  d.role = QUORUM_LEADER;
  d.epoch = 4;
  d.leader = 0;
  d.hw = 17;
  d.log_end = 20;
  d.nvoters = 3;
  for (int i = 0; i < 3; i++) d.voters[i] = (struct quorum_replica_state){key(i), 17 + i, 500 + i};
  d.nobservers = 1;
  d.observers[0] = (struct quorum_replica_state){key(9), -1, -1};
  struct quorum_wire_describe w;
  quorum_wire_describe(&d, &w);
  cr_assert_str_eq(w.resp.role, "leader");
  cr_assert_eq(w.resp.n_voters, 3);
  cr_assert_eq(w.resp.voters[2]->log_end_offset, 19);
  cr_assert_eq(w.resp.voters[2]->replica->directory_id.len, QUORUM_DIR_LEN);
  cr_assert_eq(w.resp.n_observers, 1);
  cr_assert_eq(w.resp.observers[0]->replica->id, 9);
  cr_assert_eq(w.resp.observers[0]->last_fetch_ms, -1);
  size_t n = strata__describe_quorum_response__get_packed_size(&w.resp);
  cr_assert_gt(n, 0);
}
