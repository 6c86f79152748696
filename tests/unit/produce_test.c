/* broker/handlers.c's produce through dispatch_handle: consecutive entries
 * of one request for one partition are appended together, and that changes
 * nothing a client or the log can see. Each entry still gets its own
 * checks (a corrupt one in the middle is refused, its neighbours land), its
 * own offsets, segments roll where they rolled one entry at a time, and an
 * idempotent producer's entries are checked against the state the previous
 * one left. A standalone broker, flush policy os, no event loop. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/offsets_log.h"
#include "common/batch.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"
#include "tests/unit/broker_fixture.h"
#include "tests/unit/create_topic_req.h"

static char *dir;
static struct broker b;
static const struct principal nobody = {{0}, "127.0.0.1", 1};

static struct response *call(Strata__Header *h, uint8_t *payload, uint32_t len) {
  static uint32_t corr;
  h->correlation_id = ++corr;
  h->client_id = (char *)"produce-test";
  struct response *r = calloc(1, sizeof *r);
  response_init(r);
  dispatch_handle(&b, &nobody, h, payload, len, r);
  return r;
}

static void done(struct response *r) {
  response_free(r);
  free(r);
}

/* A topic of `partitions` partitions, with one topic config when key is set. */
static void create_cfg(const char *name, uint32_t partitions, const char *key, const char *value) {
  struct create_topic_req req;
  Strata__Header *h = create_topic_req(&req, name, partitions, 1);
  Strata__TopicSpec__ConfigsEntry e = STRATA__TOPIC_SPEC__CONFIGS_ENTRY__INIT, *ep[1] = {&e};
  e.key = (char *)key;
  e.value = (char *)value;
  if (key) {
    req.spec.configs = ep;
    req.spec.n_configs = 1;
  }
  struct response *r = call(h, NULL, 0);
  cr_assert_eq(r->hdr.body_case, STRATA__HEADER__BODY_CREATE_TOPICS_RESP);
  cr_assert_eq(r->hdr.create_topics_resp->results[0]->error_code, 0, "%s",
               r->hdr.create_topics_resp->results[0]->error_message);
  done(r);
}

static void create(const char *name, uint32_t partitions, const char *segment_bytes) {
  create_cfg(name, partitions, segment_bytes ? "segment.bytes" : NULL, segment_bytes);
}

/* One entry of a produce request: a batch of `records` records of
 * `value_len` bytes, optionally an idempotent producer's. */
struct entry {
  const char *topic;
  uint32_t partition;
  uint8_t *data;
  size_t len;
  /* the answer */
  int err;
  int64_t base;
};

#define E(t, p) {.topic = (t), .partition = (p)}

static void make_batch(struct entry *e, int records, size_t value_len, int64_t pid,
                       int32_t seq) {
  struct batch_builder bb;
  batch_builder_init(&bb);
  char *v = malloc(value_len);
  memset(v, 'v', value_len);
  for (int i = 0; i < records; i++)
    cr_assert_eq(batch_builder_add(&bb, 1000 + i, NULL, 0, v, value_len, NULL, 0), 0);
  free(v);
  const uint8_t *out;
  cr_assert_eq(batch_builder_finish(&bb, 0, 0, &out, &e->len), 0);
  e->data = malloc(e->len);
  memcpy(e->data, out, e->len);
  batch_builder_free(&bb);
  if (pid >= 0) batch_set_producer(e->data, e->len, pid, 0, seq);
}

/* Send the entries as one request (copied: produce rewrites them in place)
 * and record each one's answer. */
static void produce(struct entry *es, size_t n) {
  Strata__ProducePartition pp[16], *pps[16];
  cr_assert_leq(n, 16);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += es[i].len;
  uint8_t *payload = malloc(total), *at = payload;
  for (size_t i = 0; i < n; i++) {
    strata__produce_partition__init(&pp[i]);
    pp[i].topic = (char *)es[i].topic;
    pp[i].partition = es[i].partition;
    pp[i].payload_bytes = (uint32_t)es[i].len;
    pps[i] = &pp[i];
    memcpy(at, es[i].data, es[i].len);
    at += es[i].len;
  }
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = 1;
  q.partitions = pps;
  q.n_partitions = n;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_PRODUCE;
  h.body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h.produce_req = &q;
  struct response *r = call(&h, payload, (uint32_t)total);
  cr_assert_eq(r->hdr.body_case, STRATA__HEADER__BODY_PRODUCE_RESP, "%s", r->hdr.error_message);
  cr_assert_eq(r->hdr.produce_resp->n_partitions, n);
  for (size_t i = 0; i < n; i++) {
    const Strata__ProducePartitionResult *pr = r->hdr.produce_resp->partitions[i];
    cr_assert_str_eq(pr->topic, es[i].topic);
    cr_assert_eq(pr->partition, es[i].partition);
    es[i].err = -(int)pr->error_code;
    es[i].base = pr->base_offset;
  }
  done(r);
  free(payload);
}

static void free_entries(struct entry *es, size_t n) {
  for (size_t i = 0; i < n; i++) free(es[i].data);
}

static struct seglog *log_of(const char *topic, uint32_t partition) {
  struct partition *p = topics_partition(&b.topics, topic, partition);
  cr_assert_not_null(p);
  return p->log;
}

/* The log's batches: base offsets and record counts, oldest first. */
struct seen {
  int64_t base[64];
  int32_t count[64];
  size_t n;
};

static int see(void *arg, const struct batch_header *h) {
  struct seen *s = arg;
  cr_assert_lt(s->n, 64);
  s->base[s->n] = h->base_offset;
  s->count[s->n] = h->record_count;
  s->n++;
  return 0;
}

static struct seen batches_of(const char *topic, uint32_t partition) {
  struct seen s = {.n = 0};
  cr_assert_eq(seglog_for_each_batch(log_of(topic, partition), see, &s), 0);
  return s;
}

/* Every batch the log holds passes the produce checks (CRC, structure):
 * read back whole from the first segment. */
static void log_is_intact(const char *topic, uint32_t partition) {
  struct seglog *log = log_of(topic, partition);
  int64_t end = seglog_end_offset(log);
  struct seglog_slice sl;
  cr_assert_eq(seglog_read(log, seglog_start_offset(log), 64u << 20, end, &sl), 0);
  uint8_t *buf = malloc(sl.len ? sl.len : 1);
  cr_assert_eq(pread(sl.fd, buf, sl.len, (off_t)sl.pos), (ssize_t)sl.len);
  int64_t records = 0;
  cr_assert_gt(batch_validate_all(buf, sl.len, NULL, &records), 0);
  free(buf);
}

/* Whether topic-partition has a segment file starting at offset base. */
static int segment_at(const char *topic, uint32_t partition, int64_t base) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-%u/%020" PRId64 ".log", dir, topic, partition, base);
  return access(path, F_OK) == 0;
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-produce")));
  struct broker_config cfg;
  broker_fixture_open(&b, &cfg, dir, (const char *[]){"log.flush.policy", "os", NULL}, 1);
  offsets_log_sync(&b);
}

static void teardown(void) {
  broker_close(&b);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(produce, .init = setup, .fini = teardown);

Test(produce, entries_for_one_partition_get_consecutive_offsets) {
  create("t", 1, NULL);
  struct entry es[4] = {E("t", 0), E("t", 0), E("t", 0), E("t", 0)};
  int counts[4] = {3, 1, 2, 5};
  for (int i = 0; i < 4; i++) make_batch(&es[i], counts[i], 100, -1, 0);
  produce(es, 4);
  int64_t want[4] = {0, 3, 4, 6};
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(es[i].err, 0, "entry %d: %s", i, strata_strerror(es[i].err));
    cr_assert_eq(es[i].base, want[i], "entry %d at %" PRId64, i, es[i].base);
  }
  cr_assert_eq(seglog_end_offset(log_of("t", 0)), 11);
  struct seen s = batches_of("t", 0);
  cr_assert_eq(s.n, 4);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(s.base[i], want[i]);
    cr_assert_eq(s.count[i], counts[i]);
  }
  /* the sparse index points into the run: a read from the last batch's
   * offset starts at that batch */
  struct seglog_slice sl;
  cr_assert_eq(seglog_read(log_of("t", 0), 7, 1 << 20, 11, &sl), 0);
  size_t before = es[0].len + es[1].len + es[2].len;
  cr_assert_eq(sl.first_offset, 6);
  cr_assert_eq(sl.pos, before);
  cr_assert_eq(sl.len, es[3].len, "read from offset 7 returned %u bytes", (unsigned)sl.len);
  cr_assert_eq(seglog_size_bytes(log_of("t", 0)), before + es[3].len);
  log_is_intact("t", 0);
  free_entries(es, 4);
}

Test(produce, a_corrupt_entry_between_good_ones_is_refused_and_its_neighbours_land) {
  create("t", 1, NULL);
  struct entry es[3] = {E("t", 0), E("t", 0), E("t", 0)};
  for (int i = 0; i < 3; i++) make_batch(&es[i], 2, 100 + 10 * (size_t)i, -1, 0);
  es[1].data[es[1].len - 1] ^= 0x40; /* a record byte: the CRC no longer matches */
  produce(es, 3);
  cr_assert_eq(es[0].err, 0);
  cr_assert_eq(es[0].base, 0);
  cr_assert_lt(es[1].err, 0);
  cr_assert_eq(es[2].err, 0, "%s", strata_strerror(es[2].err));
  cr_assert_eq(es[2].base, 2);
  struct seen s = batches_of("t", 0);
  cr_assert_eq(s.n, 2);
  cr_assert_eq(s.base[1], 2);
  cr_assert_eq(seglog_size_bytes(log_of("t", 0)), es[0].len + es[2].len);
  log_is_intact("t", 0);
  /* and a request of nothing but a corrupt entry changes nothing */
  struct entry bad = E("t", 0);
  make_batch(&bad, 1, 10, -1, 0);
  bad.data[bad.len - 1] ^= 1;
  produce(&bad, 1);
  cr_assert_lt(bad.err, 0);
  cr_assert_eq(seglog_end_offset(log_of("t", 0)), 4);
  cr_assert_eq(seglog_size_bytes(log_of("t", 0)), es[0].len + es[2].len);
  free_entries(&bad, 1);
  free_entries(es, 3);
}

Test(produce, entries_for_other_partitions_in_between_keep_each_log_its_own) {
  create("t", 2, NULL);
  create("u", 1, NULL);
  struct entry es[5] = {E("t", 0), E("t", 1), E("t", 0), E("u", 0), E("t", 0)};
  for (int i = 0; i < 5; i++) make_batch(&es[i], i + 1, 50, -1, 0);
  produce(es, 5);
  int64_t want[5] = {0, 0, 1, 0, 4};
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(es[i].err, 0);
    cr_assert_eq(es[i].base, want[i], "entry %d at %" PRId64, i, es[i].base);
  }
  cr_assert_eq(seglog_end_offset(log_of("t", 0)), 9);
  cr_assert_eq(seglog_end_offset(log_of("t", 1)), 2);
  cr_assert_eq(seglog_end_offset(log_of("u", 0)), 4);
  cr_assert_eq(seglog_size_bytes(log_of("t", 0)), es[0].len + es[2].len + es[4].len);
  log_is_intact("t", 0);
  log_is_intact("t", 1);
  log_is_intact("u", 0);
  free_entries(es, 5);
}

/* 64 KiB segments, ten entries of ~20 KiB in one request: three fit the
 * first segment, the fourth rolls it. The roll's sync cannot run here (no
 * loop), so the second segment then grows past segment.bytes (seglog's
 * pending roll) and takes the other six: as one entry at a time did. */
Test(produce, segments_roll_where_they_rolled_one_entry_at_a_time) {
  create("t", 1, "65536");
  struct entry es[10];
  for (int i = 0; i < 10; i++) {
    es[i] = (struct entry)E("t", 0);
    make_batch(&es[i], 20, 1000, -1, 0);
  }
  cr_assert_lt(3 * es[0].len, 65536);
  cr_assert_gt(4 * es[0].len, 65536);
  produce(es, 10);
  for (int i = 0; i < 10; i++) {
    cr_assert_eq(es[i].err, 0);
    cr_assert_eq(es[i].base, 20 * i);
  }
  cr_assert_eq(seglog_segment_count(log_of("t", 0)), 2);
  cr_assert(segment_at("t", 0, 0));
  cr_assert(segment_at("t", 0, 60), "the second segment starts at the fourth entry");
  free_entries(es, 10);
}

/* Producer 4242's sequences 2..4 and 5..6 as two entries of one request. */
static void produce_sequences_2_to_6(struct entry es[2]) {
  make_batch(&es[0], 3, 10, 4242, 2);
  make_batch(&es[1], 2, 10, 4242, 5);
  produce(es, 2);
}

Test(produce, an_idempotent_producers_entries_are_each_checked_after_the_one_before) {
  create("t", 1, NULL);
  struct entry first[2] = {E("t", 0), E("t", 0)};
  make_batch(&first[0], 2, 10, -1, 0);
  make_batch(&first[1], 2, 10, 4242, 0); /* sequences 0..1: the producer is known now */
  produce(first, 2);
  cr_assert_eq(first[0].err, 0);
  cr_assert_eq(first[1].err, 0);
  cr_assert_eq(first[1].base, 2);
  /* 2..4 and 5..6 in one request: the second is in order only once the
   * first is appended and its sequence noted */
  struct entry es[2] = {E("t", 0), E("t", 0)};
  produce_sequences_2_to_6(es);
  for (int i = 0; i < 2; i++) cr_assert_eq(es[i].err, 0, "entry %d: %s", i, strata_strerror(es[i].err));
  cr_assert_eq(es[0].base, 4);
  cr_assert_eq(es[1].base, 7);
  /* the same two again: duplicates, answered with their offsets, not appended */
  struct entry again[2] = {E("t", 0), E("t", 0)};
  produce_sequences_2_to_6(again);
  cr_assert_eq(again[0].err, 0);
  cr_assert_eq(again[0].base, 4);
  cr_assert_eq(again[1].err, 0);
  cr_assert_eq(again[1].base, 7);
  cr_assert_eq(seglog_end_offset(log_of("t", 0)), 9);
  /* a gap in the sequence is refused; the entry before it still lands */
  struct entry gap[2] = {E("t", 0), E("t", 0)};
  make_batch(&gap[0], 1, 10, -1, 0);
  make_batch(&gap[1], 1, 10, 4242, 20);
  produce(gap, 2);
  cr_assert_eq(gap[0].err, 0);
  cr_assert_eq(gap[0].base, 9);
  cr_assert_lt(gap[1].err, 0);
  cr_assert_eq(seglog_end_offset(log_of("t", 0)), 10);
  log_is_intact("t", 0);
  free_entries(gap, 2);
  free_entries(again, 2);
  free_entries(es, 2);
  free_entries(first, 2);
}

/* LogAppendTime stamps each entry of a run; the run's CRCs and offsets hold. */
Test(produce, a_log_append_time_run_is_intact) {
  create_cfg("la", 1, "message.timestamp.type", "LogAppendTime");
  struct entry es[3] = {E("la", 0), E("la", 0), E("la", 0)};
  for (int i = 0; i < 3; i++) make_batch(&es[i], 2 + i, 50, -1, 0);
  produce(es, 3);
  for (int i = 0; i < 3; i++) cr_assert_eq(es[i].err, 0);
  cr_assert_eq(es[2].base, 5);
  log_is_intact("la", 0);
  free_entries(es, 3);
}

/* max.message.bytes refuses the one entry over it; its neighbours land. */
Test(produce, max_message_bytes_is_checked_per_entry) {
  create_cfg("mm", 1, "max.message.bytes", "3000");
  struct entry es[3] = {E("mm", 0), E("mm", 0), E("mm", 0)};
  make_batch(&es[0], 2, 1000, -1, 0);
  make_batch(&es[1], 4, 1000, -1, 0); /* > 3000 */
  make_batch(&es[2], 2, 1000, -1, 0);
  produce(es, 3);
  cr_assert_eq(es[0].err, 0);
  cr_assert_lt(es[1].err, 0);
  cr_assert_eq(es[2].err, 0);
  cr_assert_eq(es[2].base, 2);
  log_is_intact("mm", 0);
  free_entries(es, 3);
}

/* A producer id in any batch but an entry's only one is refused: only that
 * batch gets the sequence check (it took a plain first batch followed by
 * producer 4242's sequence 77 at offset 0, the producer state unchanged). */
Test(produce, a_producer_id_in_a_later_batch_of_an_entry_is_refused) {
  create("t", 1, NULL);
  struct entry a = E("t", 0), x = E("t", 0), y = E("t", 0);
  make_batch(&x, 1, 10, -1, 0);
  make_batch(&y, 1, 10, 4242, 77); /* producer unknown, sequence 77 */
  a.len = x.len + y.len;
  a.data = malloc(a.len);
  memcpy(a.data, x.data, x.len);
  memcpy(a.data + x.len, y.data, y.len);
  produce(&a, 1);
  cr_assert_lt(a.err, 0, "an entry carrying producer 4242 seq 77 was accepted at %" PRId64, a.base);
  free_entries(&a, 1);
  free_entries(&x, 1);
  free_entries(&y, 1);
}

/* A write that fails part-way through a run (file size limit: EFBIG): every
 * entry of the run is refused, nothing of it stays in the log, and the next
 * request lands where the run would have. */
Test(produce, a_failed_write_mid_run_refuses_the_whole_run) {
  create("t", 1, NULL);
  struct entry one = E("t", 0);
  make_batch(&one, 1, 100, -1, 0);
  produce(&one, 1);
  cr_assert_eq(one.err, 0);
  uint64_t size0 = seglog_size_bytes(log_of("t", 0));
  struct entry es[3] = {E("t", 0), E("t", 0), E("t", 0)};
  for (int i = 0; i < 3; i++) make_batch(&es[i], 2, 500, -1, 0);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = size0 + es[0].len + 100; /* the run's write stops inside entry 2 */
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  produce(es, 3);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  for (int i = 0; i < 3; i++) cr_assert_lt(es[i].err, 0, "entry %d: %s", i, strata_strerror(es[i].err));
  cr_assert_eq(seglog_end_offset(log_of("t", 0)), 1);
  cr_assert_eq(seglog_size_bytes(log_of("t", 0)), size0);
  struct entry again[3] = {E("t", 0), E("t", 0), E("t", 0)};
  for (int i = 0; i < 3; i++) make_batch(&again[i], 2, 500, -1, 0);
  produce(again, 3);
  for (int i = 0; i < 3; i++) cr_assert_eq(again[i].err, 0);
  cr_assert_eq(again[0].base, 1);
  cr_assert_eq(again[2].base, 5);
  log_is_intact("t", 0);
  free_entries(again, 3);
  free_entries(es, 3);
  free_entries(&one, 1);
}
