/* Broker behaviour through libstrata and raw connections: long-poll fetch,
 * log-append time, restart with topics intact, a data dir refusing another
 * broker id, retention by size with OFFSET_OUT_OF_RANGE for a reader left
 * behind, acks=0, and a producer that rides through a broker restart. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/lib/conn.h"
#include "client/strata.h"
#include "common/wire.h"
#include "drill/proc.h"

static pid_t broker = -1;
static char *dir;
static int port;
static char bootstrap[64];
static const char *const *extra_sets;

static void start(void) {
  broker = proc_start_broker(dir, port, extra_sets, NULL);
  cr_assert_gt(broker, 0, "broker did not start (see %s/broker.log)", dir);
}

static void setup(void) {
  dir = proc_tmpdir("strata-brokertest");
  cr_assert(dir);
  static const char *const sets[] = {"log.retention.check.interval.ms=100", NULL};
  extra_sets = sets;
  broker = proc_start_broker_any(dir, &port, extra_sets, NULL); /* restarts: start() */
  cr_assert_gt(broker, 0, "broker did not start (see %s/broker.log)", dir);
  snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", port);
}

static void teardown(void) {
  if (broker > 0) cr_expect_eq(proc_stop(broker), 0, "clean shutdown");
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(broker, .init = setup, .fini = teardown, .timeout = 120);

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void create(const char *name, uint32_t parts, const char *k, const char *v) {
  char err[256];
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  const char *ks[2] = {"segment.bytes", k}, *vs[2] = {"65536", v};
  cr_assert_eq(strata_topic_create(c, name, parts, 1, ks, vs, k ? 2 : 1, err, sizeof err), 0,
               "%s", err);
  strata_client_free(c);
}

struct counts {
  int ok, failed;
  int64_t last_offset;
};

static void count_cb(const strata_delivery *d, void *arg) {
  struct counts *c = arg;
  if (d->error) c->failed++; else c->ok++;
  c->last_offset = d->offset;
}

static void produce_n(const char *topic, int n, size_t size, int acks) {
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.acks = acks;
  struct counts k = {0};
  char err[256];
  strata_producer *p = strata_producer_new(bootstrap, &cfg, count_cb, &k, err, sizeof err);
  cr_assert(p, "%s", err);
  char *val = calloc(1, size);
  memset(val, 'x', size);
  for (int i = 0; i < n; i++) cr_assert_eq(strata_produce(p, topic, 0, NULL, 0, val, size, 0, NULL, 0, NULL), 0);
  cr_assert_eq(strata_producer_flush(p, 20000), 0);
  strata_producer_free(p);
  free(val);
  cr_assert_eq(k.ok, n, "%d acked of %d (%d failed)", k.ok, n, k.failed);
}

static int64_t list_offset(const char *topic, int64_t ts, int64_t *found) {
  char err[256];
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  int64_t off = -9;
  cr_assert_eq(strata_list_offset(c, topic, 0, ts, &off, found), 0);
  strata_client_free(c);
  return off;
}

Test(broker, long_poll_fetch_answers_when_data_arrives_or_at_its_deadline) {
  create("lp", 1, NULL, NULL);
  struct conn c;
  char err[256];
  conn_init(&c);
  cr_assert_eq(conn_open(&c, "127.0.0.1", port, 5000, NULL, err, sizeof err), 0);
  Strata__FetchPartition fp = STRATA__FETCH_PARTITION__INIT;
  fp.topic = (char *)"lp";
  fp.fetch_offset = 0;
  fp.max_bytes = 1 << 20;
  Strata__FetchPartition *fpv[1] = {&fp};
  Strata__FetchRequest q = STRATA__FETCH_REQUEST__INIT;
  q.max_wait_ms = 700;
  q.min_bytes = 1;
  q.partitions = fpv;
  q.n_partitions = 1;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_FETCH;
  h.body_case = STRATA__HEADER__BODY_FETCH_REQ;
  h.fetch_req = &q;
  /* Empty partition: the answer comes at the deadline, empty. */
  int64_t t0 = now_ms();
  Strata__Header *r;
  const uint8_t *pl;
  uint32_t pn;
  cr_assert_eq(conn_call(&c, &h, NULL, 0, 5000, &r, &pl, &pn), 0);
  int64_t waited = now_ms() - t0;
  cr_assert_geq(waited, 650, "answered after %lld ms, before max_wait", (long long)waited);
  cr_assert_lt(waited, 3000);
  cr_assert_eq(pn, 0u);
  wire_header_free(r);
  /* Data produced during the wait wakes it early. */
  q.max_wait_ms = 10000;
  uint32_t corr;
  cr_assert_eq(conn_send(&c, &h, NULL, 0, 5000, &corr), 0);
  t0 = now_ms();
  produce_n("lp", 3, 100, 1);
  cr_assert_eq(conn_recv(&c, 10000, &r, &pl, &pn), 1);
  waited = now_ms() - t0;
  cr_assert_eq(r->correlation_id, corr);
  cr_assert_gt(pn, 0u, "the fetch carries the new records");
  cr_assert_lt(waited, 3000, "woken by the produce, not the 10 s deadline");
  wire_header_free(r);
  /* A client that leaves while its fetch is parked costs nothing. */
  cr_assert_eq(conn_send(&c, &h, NULL, 0, 5000, &corr), 0);
  conn_close(&c);
}

Test(broker, log_append_time_topic_stamps_records) {
  create("lat", 1, "message.timestamp.type", "LogAppendTime");
  strata_producer *p;
  char err[256];
  struct counts k = {0};
  p = strata_producer_new(bootstrap, NULL, count_cb, &k, err, sizeof err);
  cr_assert(p);
  cr_assert_eq(strata_produce(p, "lat", 0, NULL, 0, "v", 1, 12345, NULL, 0, NULL), 0);
  cr_assert_eq(strata_producer_flush(p, 5000), 0);
  strata_producer_free(p);
  strata_consumer *c = strata_consumer_new(bootstrap, NULL, err, sizeof err);
  cr_assert_eq(strata_consumer_assign(c, "lat", 0, STRATA_OFFSET_BEGINNING), 0);
  const strata_message *m;
  cr_assert_eq(strata_consumer_poll(c, 5000, &m), 1);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t wall = (int64_t)ts.tv_sec * 1000;
  cr_assert_gt(m->timestamp, wall - 60000, "broker time, not the producer's 12345");
  strata_consumer_free(c);
}

Test(broker, restart_keeps_topics_configs_and_offsets) {
  create("keep", 2, "retention.ms", "123456789");
  produce_n("keep", 500, 50, -1);
  cr_assert_eq(proc_stop(broker), 0);
  start();
  char err[256];
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  strata_metadata *m;
  const char *names[1] = {"keep"};
  cr_assert_eq(strata_metadata_get(c, names, 1, &m), 0);
  cr_assert_eq(m->topics[0].error, 0);
  cr_assert_eq(m->topics[0].npartitions, 2u);
  cr_assert_eq(m->topics[0].nconfigs, 2u);
  strata_metadata_free(m);
  strata_client_free(c);
  cr_assert_eq(list_offset("keep", STRATA_OFFSET_END, NULL), 500);
}

/* A port someone else listens on is not mistaken for the broker's: the
 * start fails (its log says why) instead of handing back a broker that is not
 * there, and proc_start_broker_any moves on to another port. */
Test(broker, start_on_a_taken_port_fails_and_the_retry_picks_another) {
  int taken = proc_free_port(), fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)taken),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 8), 0);
  char *d2 = proc_tmpdir("strata-brokertest-taken"), log[600];
  cr_assert(d2);
  snprintf(log, sizeof log, "%s/broker.log", d2);
  cr_assert_eq(proc_start_broker(d2, taken, NULL, NULL), -1, "port %d is not the broker's", taken);
  cr_assert(proc_log_addr_in_use(log, 0), "its log says the address was in use");
  int port2 = taken;
  pid_t b2 = proc_start_broker_any(d2, &port2, NULL, NULL);
  cr_assert_gt(b2, 0, "started on another port");
  cr_assert_neq(port2, taken);
  cr_assert_eq(proc_stop(b2), 0);
  close(fd);
  proc_rm_rf(d2);
  free(d2);
}

Test(broker, data_dir_refuses_another_broker_id) {
  cr_assert_eq(proc_stop(broker), 0);
  broker = -1;
  char bin[512], logdir[512], listen[64];
  snprintf(bin, sizeof bin, "%s/strata-broker", proc_build_dir());
  snprintf(logdir, sizeof logdir, "log.dir=%s/data", dir);
  snprintf(listen, sizeof listen, "listeners=127.0.0.1:%d", port);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", 1);
    dup2(devnull, 2);
    execl(bin, bin, "--set", logdir, "--set", listen, "--set", "broker.id=7", (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "broker 7 must refuse broker 1's data");
  start();
}

Test(broker, retention_by_size_moves_start_and_old_offsets_are_out_of_range) {
  create("ret", 1, "retention.bytes", "131072");
  produce_n("ret", 4000, 200, 1); /* ~900 KB in 64 KiB segments */
  int64_t start = 0;
  for (int i = 0; i < 100 && start == 0; i++) {
    usleep(50000);
    start = list_offset("ret", STRATA_OFFSET_BEGINNING, NULL);
  }
  cr_assert_gt(start, 0, "retention ran and deleted old segments");
  cr_assert_eq(list_offset("ret", STRATA_OFFSET_END, NULL), 4000);
  char err[256];
  strata_consumer *c = strata_consumer_new(bootstrap, NULL, err, sizeof err);
  cr_assert_eq(strata_consumer_assign(c, "ret", 0, 0), 0);
  const strata_message *m;
  cr_assert_eq(strata_consumer_poll(c, 2000, &m), STRATA_EOFFSET_OUT_OF_RANGE,
               "a reader behind retention is told, never silently skipped");
  cr_assert_eq(strata_consumer_assign(c, "ret", 0, STRATA_OFFSET_BEGINNING), 0);
  cr_assert_eq(strata_consumer_poll(c, 2000, &m), 1);
  cr_assert_eq(m->offset, start);
  strata_consumer_free(c);
}

Test(broker, acks_zero_records_land_without_responses) {
  create("a0", 1, NULL, NULL);
  produce_n("a0", 1000, 64, 0);
  int64_t end = 0;
  for (int i = 0; i < 100 && end < 1000; i++) {
    usleep(20000);
    end = list_offset("a0", STRATA_OFFSET_END, NULL);
  }
  cr_assert_eq(end, 1000);
}

Test(broker, timestamp_lookup_through_list_offsets) {
  create("tl", 1, NULL, NULL);
  char err[256];
  struct counts k = {0};
  strata_producer *p = strata_producer_new(bootstrap, NULL, count_cb, &k, err, sizeof err);
  for (int i = 0; i < 100; i++)
    cr_assert_eq(strata_produce(p, "tl", 0, NULL, 0, "v", 1, 1000000 + i * 10, NULL, 0, NULL), 0);
  cr_assert_eq(strata_producer_flush(p, 5000), 0);
  strata_producer_free(p);
  int64_t found;
  cr_assert_eq(list_offset("tl", 1000000 + 555, &found), 56);
  cr_assert_eq(found, 1000000 + 560);
  cr_assert_eq(list_offset("tl", 5000000, &found), -1);
  strata_consumer *c = strata_consumer_new(bootstrap, NULL, err, sizeof err);
  cr_assert_eq(strata_consumer_assign(c, "tl", 0, STRATA_OFFSET_BEGINNING), 0);
  cr_assert_eq(strata_consumer_seek_timestamp(c, "tl", 0, 1000000 + 900), 0);
  const strata_message *m;
  cr_assert_eq(strata_consumer_poll(c, 2000, &m), 1);
  cr_assert_eq(m->offset, 90);
  strata_consumer_free(c);
}

/* Record i of reuse_roundtrip: a key (null for every fifth), a value whose
 * size and bytes depend on i (every 50th larger than the batch, so its
 * batch's buffer grows and is not kept), a header on every third, and its
 * own timestamp. */
static size_t reuse_value(int i, char *buf) {
  size_t n = (size_t)(i * 37) % 3000 + (i % 50 == 0 ? 9000 : 0);
  for (size_t k = 0; k < n; k++) buf[k] = (char)('a' + (i + (int)k) % 26);
  return n;
}

struct order {
  int ok, failed, next;
  int64_t next_offset;
  int out_of_order;
};

static void order_cb(const strata_delivery *d, void *arg) {
  struct order *o = arg;
  if (d->error) {
    o->failed++;
    return;
  }
  o->ok++;
  if ((int)(intptr_t)d->opaque != o->next++ || d->offset != o->next_offset++ ||
      d->timestamp != 1700000000000LL + (int)(intptr_t)d->opaque)
    o->out_of_order++;
}

/* The producer reuses a finished batch's buffers for the next batches
 * (client/lib/producer.c batch_new): small batches so that thousands of
 * records go through a few reused buffers, with flushes between rounds so
 * reused and fresh ones mix; every record must come back exactly as sent. */
static void reuse_roundtrip(const char *topic, int compression) {
  create(topic, 1, NULL, NULL);
  enum { N = 2000 };
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.acks = 1;
  cfg.batch_size = 4096;
  cfg.compression = compression;
  struct order o = {0};
  char err[256], *val = malloc(16384);
  cr_assert(val);
  strata_producer *p = strata_producer_new(bootstrap, &cfg, order_cb, &o, err, sizeof err);
  cr_assert(p, "%s", err);
  for (int i = 0; i < N; i++) {
    char key[16], hv[16];
    int kl = snprintf(key, sizeof key, "k%d", i), hl = snprintf(hv, sizeof hv, "%d", i);
    strata_header h = {"h", 1, hv, (size_t)hl};
    size_t vl = reuse_value(i, val);
    cr_assert_eq(strata_produce(p, topic, 0, i % 5 ? key : NULL, i % 5 ? (size_t)kl : 0, val, vl,
                                1700000000000LL + i, i % 3 ? NULL : &h, i % 3 ? 0 : 1,
                                (void *)(intptr_t)i),
                 0);
    if (i % 500 == 499) cr_assert_eq(strata_producer_flush(p, 20000), 0);
  }
  cr_assert_eq(strata_producer_flush(p, 20000), 0);
  strata_producer_free(p);
  cr_assert_eq(o.ok, N, "%d acked of %d (%d failed)", o.ok, N, o.failed);
  cr_assert_eq(o.out_of_order, 0);
  strata_consumer *c = strata_consumer_new(bootstrap, NULL, err, sizeof err);
  cr_assert(c, "%s", err);
  cr_assert_eq(strata_consumer_assign(c, topic, 0, STRATA_OFFSET_BEGINNING), 0);
  for (int i = 0; i < N; i++) {
    const strata_message *m;
    cr_assert_eq(strata_consumer_poll(c, 5000, &m), 1, "record %d", i);
    cr_assert_eq(m->offset, i);
    cr_assert_eq(m->timestamp, 1700000000000LL + i);
    char key[16], hv[16];
    int kl = snprintf(key, sizeof key, "k%d", i), hl = snprintf(hv, sizeof hv, "%d", i);
    if (i % 5) {
      cr_assert_eq(m->key_len, kl, "record %d", i);
      cr_assert_eq(memcmp(m->key, key, (size_t)kl), 0, "record %d", i);
    } else {
      cr_assert_eq(m->key_len, -1, "record %d", i);
    }
    size_t vl = reuse_value(i, val);
    cr_assert_eq(m->value_len, (int32_t)vl, "record %d", i);
    cr_assert(vl == 0 || memcmp(m->value, val, vl) == 0, "record %d", i);
    cr_assert_eq(m->header_count, i % 3 ? 0u : 1u, "record %d", i);
    if (i % 3 == 0) {
      cr_assert_eq(m->headers[0].value_len, (size_t)hl);
      cr_assert_eq(memcmp(m->headers[0].value, hv, (size_t)hl), 0, "record %d", i);
    }
  }
  strata_consumer_free(c);
  free(val);
}

Test(broker, reused_batch_buffers_carry_every_record_intact) {
  reuse_roundtrip("reuse", STRATA_COMPRESSION_NONE);
  reuse_roundtrip("reuse-lz4", STRATA_COMPRESSION_LZ4);
}

Test(broker, producer_rides_through_a_broker_restart) {
  create("rr", 1, NULL, NULL);
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.request_timeout_ms = 15000;
  cfg.retries = 50;
  cfg.retry_backoff_ms = 100;
  struct counts k = {0};
  char err[256];
  strata_producer *p = strata_producer_new(bootstrap, &cfg, count_cb, &k, err, sizeof err);
  cr_assert(p);
  for (int i = 0; i < 2000; i++) {
    cr_assert_eq(strata_produce(p, "rr", 0, NULL, 0, "v", 1, 0, NULL, 0, NULL), 0);
    strata_producer_poll(p, 0);
    if (i == 1000) {
      cr_assert_eq(proc_stop(broker), 0);
      start();
    }
  }
  cr_assert_eq(strata_producer_flush(p, 30000), 0);
  strata_producer_free(p);
  cr_assert_eq(k.ok, 2000, "%d delivered, %d failed", k.ok, k.failed);
  cr_assert_geq(list_offset("rr", STRATA_OFFSET_END, NULL), 2000);
}

/* The library must report a dead broker as errors, never kill the program
 * with SIGPIPE (this test process keeps SIGPIPE's default action). */
Test(broker, writing_to_a_killed_broker_is_an_error_not_a_sigpipe) {
  create("pipe", 1, NULL, NULL);
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.linger_ms = 0;
  cfg.retries = 0;
  cfg.request_timeout_ms = 2000;
  struct counts k = {0};
  char err[256];
  strata_producer *p = strata_producer_new(bootstrap, &cfg, count_cb, &k, err, sizeof err);
  cr_assert(p, "%s", err);
  static char val[64 << 10];
  memset(val, 'x', sizeof val);
  for (int i = 0; i < 20; i++) cr_assert_eq(strata_produce(p, "pipe", 0, NULL, 0, val, 1000, 0, NULL, 0, NULL), 0);
  cr_assert_eq(strata_producer_flush(p, 10000), 0);
  proc_kill(broker, SIGKILL);
  broker = -1;
  /* Megabytes in one go: the writes go on after the dead peer's reset. */
  for (int i = 0; i < 60; i++) strata_produce(p, "pipe", 0, NULL, 0, val, sizeof val, 0, NULL, 0, NULL);
  strata_producer_flush(p, 3000);
  strata_producer_free(p);
  cr_assert_eq(k.ok, 20);
  cr_assert_gt(k.failed, 0, "the records after the kill are reported as failed");
  start(); /* for the teardown's clean-shutdown check */
}

static size_t count_segments(const char *pdir) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls %s/*.log 2>/dev/null | wc -l", pdir);
  FILE *f = popen(cmd, "r");
  size_t n = 0;
  if (f && fscanf(f, "%zu", &n) != 1) n = 0;
  if (f) pclose(f);
  return n;
}

static void expect_offsets(strata_client *c, int64_t last) {
  strata_group_info *g = NULL;
  cr_assert_eq(strata_group_describe(c, "cg", &g), 0);
  cr_assert_eq(g->noffsets, 4u);
  for (size_t i = 0; i < g->noffsets; i++)
    cr_assert_eq(g->offsets[i].offset, last + g->offsets[i].partition, "partition %u",
                 g->offsets[i].partition);
  strata_group_info_free(g);
}

/* Thousands of commits keep __consumer_offsets to a few segments: the live
 * offsets are written again and the segments before them deleted; the
 * offsets survive that and a kill -9. */
Test(broker, offsets_topic_is_compacted_and_its_offsets_survive_kill9) {
  cr_assert_eq(proc_stop(broker), 0);
  static const char *const sets[] = {"offsets.topic.segment.bytes=65536",
                                     "offsets.topic.num.partitions=1", NULL};
  extra_sets = sets;
  start();
  create("ct", 4, NULL, NULL);
  char err[256];
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  int64_t last = 0;
  size_t most = 0;
  char pdir[600];
  snprintf(pdir, sizeof pdir, "%s/data/__consumer_offsets-0", dir);
  for (int64_t round = 0; round < 4000; round++) {
    strata_group_offset v[4];
    for (uint32_t p = 0; p < 4; p++) v[p] = (strata_group_offset){(char *)"ct", p, round * 10 + p};
    cr_assert_eq(strata_group_set_offsets(c, "cg", v, 4), 0);
    last = round * 10;
    if (round % 500 == 0) {
      size_t n = count_segments(pdir);
      if (n > most) most = n;
    }
  }
  usleep(500000); /* a compaction tick */
  size_t n = count_segments(pdir);
  cr_assert_leq(most, 6u, "the offsets topic stayed small (%zu segments at most)", most);
  cr_assert_leq(n, 4u);
  expect_offsets(c, last);
  strata_client_free(c);
  proc_kill(broker, SIGKILL);
  start();
  c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  expect_offsets(c, last);
  strata_client_free(c);
}
