/* A real three-broker cluster (controller + brokers on 127.0.0.1-3) under
 * the drills of issue 3, each repeated 5 times, every check record by
 * record: (a) kill -9 the leader while producing with acks=all; (b) a paused
 * follower leaves the ISR after the lag timeout and rejoins when resumed;
 * (c) a leader's unreplicated suffix is truncated when it comes back as a
 * follower; (d) the controller killed and restarted while producing;
 * (e) the whole cluster killed with -9 and restarted; (g) a follower comes
 * back with an empty disk and must copy everything before it counts. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/batch.h"
#include "common/trace.h"
#include "drill/cluster.h"
#include "drill/proc.h"

#define NB 3
#define ROUNDS 5

static struct tcluster cl;
static char *dir;         /* cl.dir */
static pid_t *brokers;    /* cl.brokers, by id */
static char *bootstrap;   /* cl.bootstrap */
static char prod_bootstrap[64]; /* when set, producers start here (a paused broker would hang them) */
static char lag_ms[64] = "replica.lag.time.max.ms=10000";
static char session_ms[64] = "broker.session.timeout.ms=1500";
static char rebalance[64] = "auto.leader.rebalance.enable=true";

static void start_controller(void) {
  cr_assert_eq(tcluster_start_controller(&cl), 0, "controller did not start");
}

static void start_broker(int id) {
  cr_assert_eq(tcluster_start_broker(&cl, id), 0, "broker %d did not start", id);
}

static void kill_broker(int id) { tcluster_kill(&cl, id); }

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert_eq(tcluster_init(&cl, NB, "strata-replication"), 0);
  dir = cl.dir;
  brokers = cl.brokers;
  bootstrap = cl.bootstrap;
  cl.broker_sets[0] = lag_ms;
  cl.ctl_sets[0] = session_ms;
  cl.ctl_sets[1] = "leader.imbalance.check.interval.ms=1000";
  cl.ctl_sets[2] = rebalance;
}

static void teardown(void) { tcluster_destroy(&cl, getenv("STRATA_KEEP_TEST_DIR") != NULL); }

/* Start everything and wait until every broker is registered and alive. */
static void start_all(void) { cr_assert_eq(tcluster_start_all(&cl), 0, "cluster did not start"); }

TestSuite(replication, .init = setup, .fini = teardown, .timeout = 240);

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int partition_info(const char *topic, int32_t *leader, size_t *nisr) {
  return tcluster_partition(&cl, topic, 0, leader, nisr, NULL);
}

/* Wait until partition 0 has a leader and `n` in-sync replicas. */
static int32_t wait_isr(const char *topic, size_t n, int timeout_ms) {
  int32_t leader = tcluster_wait_isr(&cl, topic, 0, n, timeout_ms);
  cr_assert_geq(leader, 0, "%s-0: no leader with %zu in-sync replicas in %d ms", topic, n,
                timeout_ms);
  return leader;
}

static void create(const char *name, const char *min_insync) {
  char err[256];
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  const char *k[1] = {"min.insync.replicas"}, *v[1] = {min_insync};
  cr_assert_eq(strata_topic_create(c, name, 1, 3, k, v, 1, err, sizeof err), 0, "%s", err);
  strata_client_free(c);
  wait_isr(name, 3, 10000);
}

/* ---- acknowledgements ---- */

#define IDS_MAX 400000
struct acks {
  int64_t offset[IDS_MAX];
  uint8_t acked[IDS_MAX], seen[IDS_MAX];
  uint8_t orphan[IDS_MAX]; /* written to a leader alone, then overwritten: must be gone */
  uint32_t next_id;
  uint64_t nacked, nfailed;
  uint64_t errs[64]; /* failures by -error code, to explain a stuck run */
};
static struct acks *A;

static void on_delivery(const strata_delivery *d, void *arg) {
  (void)arg;
  uint32_t id = (uint32_t)(uintptr_t)d->opaque;
  if (d->error) {
    A->nfailed++;
    A->errs[-d->error < 64 && d->error < 0 ? -d->error : 0]++;
    return;
  }
  A->acked[id] = 1;
  A->offset[id] = d->offset;
  A->nacked++;
}

/* retries 0: an unacknowledged record is never resent, so there are no
 * duplicates to excuse; with retries, idempotence must prevent them. */
static strata_producer *producer_retrying(int acks, int retries) {
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.acks = acks;
  cfg.retries = retries;
  cfg.request_timeout_ms = 5000;
  cfg.linger_ms = 2;
  cfg.batch_size = 16 << 10;
  char err[256];
  strata_producer *p = strata_producer_new(prod_bootstrap[0] ? prod_bootstrap : bootstrap, &cfg,
                                           on_delivery, NULL, err, sizeof err);
  cr_assert(p, "%s", err);
  return p;
}

static strata_producer *producer(int acks) { return producer_retrying(acks, 0); }

static void produce_one(strata_producer *p, const char *topic) {
  uint32_t id = A->next_id++;
  cr_assert_lt(id, IDS_MAX);
  char v[64];
  int n = snprintf(v, sizeof v, "record-%u", id);
  int rc;
  while ((rc = strata_produce(p, topic, 0, NULL, 0, v, (size_t)n, 0, NULL, 0, (void *)(uintptr_t)id)) ==
         STRATA_EQUEUE_FULL)
    strata_producer_poll(p, 5);
  cr_assert_eq(rc, 0, "strata_produce: %s", strata_strerror(rc));
  strata_producer_poll(p, 0);
}

/* Produce until `more` new acknowledgements arrive (or 20 s pass). */
static void produce_acked(strata_producer *p, const char *topic, uint64_t more) {
  uint64_t target = A->nacked + more;
  int64_t deadline = now_ms() + 20000;
  uint64_t failed = A->nfailed;
  while (A->nacked < target && now_ms() < deadline) {
    /* keep a bounded number of records in flight, and back off after
     * failures, like a real application */
    if (strata_producer_outstanding(p) > 5000 || A->nfailed != failed) {
      failed = A->nfailed;
      strata_producer_poll(p, 5);
      continue;
    }
    produce_one(p, topic);
  }
  if (A->nacked < target)
    for (int e = 0; e < 64; e++)
      if (A->errs[e]) fprintf(stderr, "  %" PRIu64 " failed with %s\n", A->errs[e], strata_strerror(-e));
  cr_assert_geq(A->nacked, target, "writes never resumed (acked %" PRIu64 ")", A->nacked);
}

/* ---- checks ---- */

/* Every acknowledged record exactly once at its acknowledged offset, offsets
 * in order, no record twice (safety properties 1 and 2). */
static void check_consumer(const char *topic) {
  char err[256];
  strata_consumer *c = strata_consumer_new(bootstrap, NULL, err, sizeof err);
  cr_assert(c, "%s", err);
  cr_assert_eq(strata_consumer_assign(c, topic, 0, STRATA_OFFSET_BEGINNING), 0);
  memset(A->seen, 0, sizeof A->seen);
  int64_t last = -1;
  int idle = 0;
  while (idle < 3) {
    const strata_message *m;
    int rc = strata_consumer_poll(c, 1000, &m);
    cr_assert_geq(rc, 0, "poll: %s", strata_strerror(rc));
    if (rc == 0) {
      idle++;
      continue;
    }
    idle = 0;
    cr_assert_gt(m->offset, last, "offsets go forward");
    last = m->offset;
    char v[64];
    cr_assert_lt(m->value_len, (int32_t)sizeof v);
    memcpy(v, m->value, (size_t)m->value_len);
    v[m->value_len] = 0;
    uint32_t id;
    cr_assert_eq(sscanf(v, "record-%u", &id), 1, "value %s", v);
    cr_assert_lt(id, A->next_id);
    cr_assert_not(A->seen[id], "record %u at two offsets", id);
    cr_assert_not(A->orphan[id], "record %u from a deposed leader's forked log survived", id);
    A->seen[id] = 1;
    if (A->acked[id]) cr_assert_eq(m->offset, A->offset[id], "record %u moved", id);
  }
  strata_consumer_free(c);
  for (uint32_t id = 0; id < A->next_id; id++)
    cr_assert(!A->acked[id] || A->seen[id], "acknowledged record %u lost", id);
}

struct batch_sig {
  int64_t base, last;
  uint32_t crc;
};

/* Every batch of one replica's log: (base offset, last offset, CRC). */
static size_t replica_batches(int id, const char *topic, struct batch_sig *out, size_t max) {
  char pdir[600];
  snprintf(pdir, sizeof pdir, "%s/b%d/%s-0", dir, id, topic);
  size_t nn;
  char **names = proc_segment_files(pdir, &nn);
  cr_assert(names, "no %s", pdir);
  size_t n = 0;
  for (size_t i = 0; i < nn; i++) {
    FILE *f = fopen(names[i], "rb");
    uint8_t h[BATCH_HEADER_SIZE];
    long pos = 0;
    while (f && fread(h, 1, sizeof h, f) == sizeof h && n < max) {
      struct batch_header bh;
      if (batch_header_decode(h, sizeof h, &bh)) break;
      out[n++] = (struct batch_sig){bh.base_offset, bh.base_offset + bh.last_offset_delta, bh.crc};
      pos += (long)batch_total_size(&bh);
      fseek(f, pos, SEEK_SET);
    }
    if (f) fclose(f);
  }
  proc_free_list(names, nn);
  return n;
}

/* Safety property 3: replicas hold the same records at the same offsets.
 * Waits for followers to catch up, then compares every batch. */
static void check_replicas_identical(const char *topic) {
  static struct batch_sig a[200000], b[200000];
  int64_t deadline = now_ms() + 15000;
  for (;;) {
    size_t na = replica_batches(1, topic, a, 200000);
    int same = 1;
    for (int id = 2; id <= NB && same; id++) {
      size_t nb = replica_batches(id, topic, b, 200000);
      same = nb == na && !memcmp(a, b, na * sizeof *a);
    }
    if (same) return;
    if (now_ms() > deadline) break;
    usleep(100000);
  }
  size_t na = replica_batches(1, topic, a, 200000);
  for (int id = 2; id <= NB; id++) {
    size_t nb = replica_batches(id, topic, b, 200000);
    size_t i = 0;
    while (i < na && i < nb && !memcmp(&a[i], &b[i], sizeof *a)) i++;
    cr_assert(nb == na && i == na,
              "replica %d differs from replica 1 at batch %zu (offsets %" PRId64 " vs %" PRId64
              "; %zu vs %zu batches)",
              id, i, i < na ? a[i].base : -1, i < nb ? b[i].base : -1, na, nb);
  }
}

/* One broker's view of a topic (NULL when it has none to give). */
static strata_metadata *view_of(const char *addr, const char *topic) {
  char err[256];
  strata_client *c = strata_client_new(addr, 2000, err, sizeof err);
  strata_metadata *m = NULL;
  const char *names[1] = {topic};
  if (c && (strata_metadata_get(c, names, 1, &m) || m->ntopics != 1 || m->topics[0].error ||
            m->topics[0].npartitions < 1)) {
    strata_metadata_free(m);
    m = NULL;
  }
  strata_client_free(c);
  return m;
}

/* Kill the leader, keep writing through the failover (the new leader must
 * take writes), bring the old one back and wait for a full ISR. */
static void fail_over(strata_producer *p, const char *topic, int32_t leader, uint64_t more) {
  kill_broker(leader);
  produce_acked(p, topic, more);
  start_broker(leader);
  wait_isr(topic, 3, 20000);
}

/* A retrying producer's drill ends: every record got through, each
 * acknowledged one is readable once, replicas are identical. */
static void finish(strata_producer *p, const char *topic) {
  cr_assert_eq(strata_producer_flush(p, 20000), 0);
  strata_producer_free(p);
  cr_assert_eq(A->nfailed, 0, "with retries every record gets through a failover");
  check_consumer(topic);
  check_replicas_identical(topic);
  free(A);
}

/* ---- the drills ---- */

/* A port the cluster chose, taken by another process before the node could
 * listen on it (here: this one, on the controller's): the cluster starts over
 * on new ports instead of failing, or of taking the other listener for its
 * controller. */
Test(replication, a_taken_port_moves_the_cluster_to_new_ports) {
  int taken = cl.cport, fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)taken),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 8), 0);
  start_all();
  cr_assert_neq(cl.cport, taken, "the controller moved to another port");
  /* Every broker answers metadata from its own image: one that has just
   * joined may not know its peers yet, so wait (with a deadline) until the
   * answer names all of them. */
  int alive = 0;
  for (int64_t end = now_ms() + 5000; now_ms() < end && alive != NB; usleep(50000))
    alive = tcluster_alive(&cl);
  cr_assert_eq(alive, NB, "every broker registered through the new bootstrap %s", bootstrap);
  close(fd);
}

Test(replication, kill_leader_while_producing_acks_all) {
  A = calloc(1, sizeof *A);
  start_all();
  create("a", "2");
  /* Idempotent (the default) with retries: batches in flight when the
   * leader dies are resent to the new one, which may already have them. */
  strata_producer *p = producer_retrying(-1, 1000);
  for (int round = 0; round < ROUNDS; round++) {
    produce_acked(p, "a", 2000);
    fail_over(p, "a", wait_isr("a", 3, 15000), 2000);
  }
  cr_log_info("kill-leader: %" PRIu64 " acked, %" PRIu64 " failed over %d failovers", A->nacked,
              A->nfailed, ROUNDS);
  finish(p, "a");
}

Test(replication, paused_follower_leaves_isr_and_rejoins) {
  A = calloc(1, sizeof *A);
  snprintf(lag_ms, sizeof lag_ms, "replica.lag.time.max.ms=1000");
  snprintf(session_ms, sizeof session_ms, "broker.session.timeout.ms=6000");
  start_all();
  create("b", "2");
  strata_producer *p = producer(-1);
  /* The producer learns the topic's leader now, from its bootstrap broker:
   * asked first while that broker is the paused follower, it would time out. */
  produce_acked(p, "b", 1);
  for (int round = 0; round < ROUNDS; round++) {
    int32_t leader = wait_isr("b", 3, 15000);
    int follower = leader % NB + 1;
    kill(brokers[follower], SIGSTOP);
    wait_isr("b", 2, 5000); /* out after the 1 s lag, well before the 6 s session */
    produce_acked(p, "b", 500); /* acks=all still works with min.insync 2 */
    kill(brokers[follower], SIGCONT);
    wait_isr("b", 3, 10000);
  }
  cr_assert_eq(strata_producer_flush(p, 20000), 0);
  strata_producer_free(p);
  check_consumer("b");
  check_replicas_identical("b");
  free(A);
}

Test(replication, returning_leader_truncates_its_unreplicated_suffix) {
  A = calloc(1, sizeof *A);
  snprintf(session_ms, sizeof session_ms, "broker.session.timeout.ms=3000");
  /* The drill picks the leader to isolate: it must not move under it. */
  snprintf(rebalance, sizeof rebalance, "auto.leader.rebalance.enable=false");
  start_all();
  create("c", "1");
  for (int round = 0; round < ROUNDS; round++) {
    strata_producer *p = producer(-1);
    produce_acked(p, "c", 200);
    cr_assert_eq(strata_producer_flush(p, 10000), 0);
    strata_producer_free(p);
    int32_t leader = wait_isr("c", 3, 15000);
    /* Pause the followers; the leader takes acks=1 writes only it has.
     * Wait out the followers' parked fetches first (replica.fetch.wait.max.ms
     * is 500): a response already in a paused follower's socket would carry
     * the records to it after all. */
    for (int i = 1; i <= NB; i++)
      if (i != leader) kill(brokers[i], SIGSTOP);
    usleep(800000);
    uint64_t before = A->nacked;
    snprintf(prod_bootstrap, sizeof prod_bootstrap, "127.0.0.%d:%d", leader, cl.port);
    p = producer(1);
    uint32_t first_orphan = A->next_id;
    for (int i = 0; i < 50; i++) produce_one(p, "c");
    cr_assert_eq(strata_producer_flush(p, 5000), 0);
    strata_producer_free(p);
    prod_bootstrap[0] = 0;
    cr_assert_eq(A->nacked, before + 50, "acks=1 records on the leader alone");
    /* Those acks=1 records are not committed: forget them for the check. */
    for (uint32_t id = first_orphan; id < A->next_id; id++) {
      A->acked[id] = 0;
      A->orphan[id] = 1;
    }
    A->nacked -= 50;
    kill_broker(leader);
    for (int i = 1; i <= NB; i++)
      if (i != leader) kill(brokers[i], SIGCONT);
    int32_t next = -1;
    size_t nisr = 0;
    int64_t deadline = now_ms() + 15000;
    while (now_ms() < deadline &&
           (partition_info("c", &next, &nisr) || next < 0 || next == leader))
      usleep(50000);
    cr_assert(next >= 0 && next != leader, "a follower took over");
    p = producer(-1);
    produce_acked(p, "c", 100);
    cr_assert_eq(strata_producer_flush(p, 10000), 0);
    strata_producer_free(p);
    start_broker(leader); /* comes back as a follower with a forked log */
    wait_isr("c", 3, 20000);
    check_replicas_identical("c");
  }
  check_consumer("c");
  free(A);
}

Test(replication, whole_cluster_kill9_loses_nothing_acknowledged) {
  A = calloc(1, sizeof *A);
  start_all();
  create("e", "2");
  for (int round = 0; round < ROUNDS; round++) {
    strata_producer *p = producer(-1);
    produce_acked(p, "e", 3000);
    /* still writing when everything dies */
    for (int i = 0; i < 500; i++) produce_one(p, "e");
    for (int i = 1; i <= NB; i++) kill(brokers[i], SIGKILL);
    kill(cl.ctl, SIGKILL);
    for (int i = 1; i <= NB; i++) tcluster_kill(&cl, i);
    tcluster_kill(&cl, 0);
    strata_producer_flush(p, 8000);
    strata_producer_free(p);
    start_all();
    wait_isr("e", 3, 20000);
  }
  check_consumer("e");
  check_replicas_identical("e");
  free(A);
}

Test(replication, controller_kill9_and_restart_while_producing) {
  A = calloc(1, sizeof *A);
  start_all();
  create("d", "2");
  strata_producer *p = producer_retrying(-1, 1000);
  for (int round = 0; round < ROUNDS; round++) {
    produce_acked(p, "d", 2000);
    tcluster_kill(&cl, 0);
    /* brokers keep serving with the metadata they hold */
    produce_acked(p, "d", 2000);
    /* and a new idempotent producer starts: its id comes from a block the
     * brokers got from the controller in advance */
    strata_producer *fresh = producer_retrying(-1, 1000);
    produce_acked(fresh, "d", 200);
    cr_assert_eq(strata_producer_flush(fresh, 20000), 0);
    strata_producer_free(fresh);
    start_controller();
    wait_isr("d", 3, 15000);
    /* and the restarted controller still elects: fail the leader over */
    fail_over(p, "d", wait_isr("d", 3, 15000), 2000);
  }
  finish(p, "d");
}

Test(replication, follower_with_a_wiped_disk_copies_everything_before_it_counts) {
  A = calloc(1, sizeof *A);
  start_all();
  create("g", "2");
  strata_producer *p = producer_retrying(-1, 1000);
  for (int round = 0; round < ROUNDS; round++) {
    produce_acked(p, "g", 3000);
    int32_t leader = wait_isr("g", 3, 15000);
    int victim = leader % NB + 1;
    kill_broker(victim);
    /* Fenced and out of the ISR, as the leader sees it. Views lag the
     * controller a little, so only a view that shows it fenced (which no
     * view from before the kill can) is taken as proof; and the ISR is read
     * from the leader alone from here on, the one that changes it. */
    char leader_addr[64];
    snprintf(leader_addr, sizeof leader_addr, "127.0.0.%d:%d", leader, cl.port);
    int out = 0;
    for (int64_t until = now_ms() + 10000; !out && now_ms() < until; usleep(20000)) {
      strata_metadata *m = view_of(leader_addr, "g");
      if (m) {
        int fenced = 0;
        for (size_t i = 0; i < m->nbrokers; i++)
          fenced |= m->brokers[i].id == victim && m->brokers[i].fenced;
        out = fenced;
        for (size_t i = 0; i < m->topics[0].partitions[0].nisr; i++)
          out &= m->topics[0].partitions[0].isr[i] != victim;
      }
      strata_metadata_free(m);
    }
    cr_assert(out, "broker %d was never fenced and out of the ISR", victim);
    char path[600];
    snprintf(path, sizeof path, "%s/b%d", dir, victim);
    proc_rm_rf(path);
    produce_acked(p, "g", 1000);
    int64_t committed = -1; /* every acknowledged record is below the high watermark */
    for (uint32_t id = 0; id < A->next_id; id++)
      if (A->acked[id] && A->offset[id] > committed) committed = A->offset[id];
    start_broker(victim);
    /* Watch the ISR: whenever the victim is in it, it must hold everything
     * acknowledged before it came back. */
    int64_t deadline = now_ms() + 30000;
    int joined = 0;
    while (!joined && now_ms() < deadline) {
      strata_metadata *m = view_of(leader_addr, "g");
      for (size_t i = 0; m && i < m->topics[0].partitions[0].nisr; i++)
        joined |= m->topics[0].partitions[0].isr[i] == victim;
      strata_metadata_free(m);
      if (!joined) {
        usleep(20000);
        continue;
      }
      static struct batch_sig v[200000];
      size_t nv = replica_batches(victim, "g", v, 200000);
      cr_assert(nv > 0 && v[nv - 1].last >= committed,
                "broker %d is in the ISR holding offsets up to %" PRId64 " of %" PRId64, victim,
                nv ? v[nv - 1].last : -1, committed);
    }
    cr_assert(joined, "broker %d never rejoined the ISR", victim);
    wait_isr("g", 3, 30000);
    check_replicas_identical("g");
    /* it now holds everything: losing the leader loses nothing */
    fail_over(p, "g", leader, 1000);
  }
  finish(p, "g");
}
