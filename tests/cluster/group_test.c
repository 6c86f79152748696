/* Consumer groups on a real cluster (controller + 3 brokers, a topic of 12
 * partitions with replication factor 3, groups of 4 consumer processes):
 * (a) kill -9 a consumer, (b) kill -9 the coordinator's broker, (c) a member
 * joins while another leaves, (d) a reset to earliest replays everything,
 * (e) a static member restarts without a rebalance, (f) __consumer_offsets
 * compacted on every replica while one is down, then a coordinator failover.
 * Every consumer logs each
 * record it processes and every ownership change, unbuffered, so the checks
 * are record by record: every acknowledged record processed at least once,
 * no partition owned by two live members at the same time (safety property
 * 5), committed offsets never going backwards. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/trace.h"
#include "drill/cluster.h"
#include "drill/proc.h"

#define NPART 12
#define MEMBERS_MAX 16
#define RECORDS_MAX 200000

static struct tcluster cl;
static pid_t members[MEMBERS_MAX];
static int64_t died_us[MEMBERS_MAX]; /* when a member was killed (0: alive or stopped cleanly) */
static int nmembers;

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert_eq(tcluster_init(&cl, 3, "strata-groups"), 0);
  cl.broker_sets[0] = "group.initial.rebalance.delay.ms=200";
  cl.broker_sets[1] = "offsets.topic.segment.bytes=65536"; /* compaction within a test's time */
  cr_assert_eq(tcluster_start_all(&cl), 0, "cluster did not start");
  char err[256];
  strata_client *c = strata_client_new(cl.bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  const char *k[1] = {"min.insync.replicas"}, *v[1] = {"2"};
  cr_assert_eq(strata_topic_create(c, "gt", NPART, 3, k, v, 1, err, sizeof err), 0, "%s", err);
  strata_client_free(c);
  memset(members, 0, sizeof members);
  memset(died_us, 0, sizeof died_us);
  nmembers = 0;
}

static void teardown(void) {
  for (int i = 0; i < nmembers; i++)
    if (members[i] > 0) proc_kill(members[i], SIGKILL);
  tcluster_destroy(&cl, getenv("STRATA_KEEP_TEST_DIR") != NULL);
}

TestSuite(groups, .init = setup, .fini = teardown, .timeout = 300);

/* ---- a member process ---- */

static int log_fd;

static void on_rebalance(strata_consumer *c, int event, const strata_topic_partition *tps, size_t n,
                         void *arg) {
  (void)c, (void)arg;
  for (size_t i = 0; i < n; i++)
    dprintf(log_fd, "E %" PRId64 " %d %u\n", mono_us(), event, tps[i].partition);
}

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

/* Consume in group "g" until SIGTERM, logging "R time partition offset id"
 * per record and "E time event partition" per ownership change. */
static void member_main(int idx, const char *instance) {
  char path[600];
  snprintf(path, sizeof path, "%s/member-%d.log", cl.dir, idx);
  log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  signal(SIGTERM, on_term);
  char err[256];
  strata_consumer *c = strata_consumer_new(cl.bootstrap, NULL, err, sizeof err);
  if (!c) _exit(3);
  strata_group_config g;
  strata_group_config_defaults(&g);
  g.group_id = "g";
  g.instance_id = instance;
  g.session_timeout_ms = 2000;
  g.auto_commit_interval_ms = 200;
  g.reset_offset = STRATA_OFFSET_BEGINNING;
  g.on_rebalance = on_rebalance;
  const char *topics[1] = {"gt"};
  if (strata_consumer_subscribe(c, &g, topics, 1)) _exit(4);
  while (!stop) {
    const strata_message *m;
    int rc = strata_consumer_poll(c, 100, &m);
    if (rc == 1) {
      unsigned id = 0;
      sscanf((const char *)m->value, "v%u", &id);
      dprintf(log_fd, "R %" PRId64 " %u %" PRId64 " %u\n", mono_us(), m->partition, m->offset, id);
    }
  }
  strata_consumer_free(c); /* final commit, leave */
  dprintf(log_fd, "X %" PRId64 "\n", mono_us());
  close(log_fd);
  _exit(0);
}

static int start_member(const char *instance) {
  int idx = nmembers++;
  cr_assert_lt(idx, MEMBERS_MAX);
  pid_t pid = fork();
  if (pid == 0) member_main(idx, instance);
  members[idx] = pid;
  return idx;
}

static int first_live_member(void) {
  for (int i = 0; i < nmembers; i++)
    if (members[i] > 0) return i;
  return -1;
}

static void kill_member(int idx) {
  died_us[idx] = mono_us();
  proc_kill(members[idx], SIGKILL);
  members[idx] = -1;
}

static void stop_member(int idx) {
  kill(members[idx], SIGTERM);
  int st;
  waitpid(members[idx], &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "member %d exited badly", idx);
  members[idx] = -1;
}

/* ---- producing ---- */

static uint8_t acked[RECORDS_MAX];
static unsigned next_id;

static void on_ack(const strata_delivery *d, void *arg) {
  (void)arg;
  if (!d->error) acked[(uintptr_t)d->opaque] = 1;
}

static void produce(unsigned n) {
  char err[256];
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.linger_ms = 1;
  strata_producer *p = strata_producer_new(cl.bootstrap, &cfg, on_ack, NULL, err, sizeof err);
  cr_assert(p, "%s", err);
  for (unsigned i = 0; i < n; i++) {
    unsigned id = next_id++;
    cr_assert_lt(id, RECORDS_MAX);
    char k[16], v[32];
    int kl = snprintf(k, sizeof k, "%u", id), vl = snprintf(v, sizeof v, "v%u", id);
    while (strata_produce(p, "gt", -1, k, (size_t)kl, v, (size_t)vl, 0, NULL, 0,
                          (void *)(uintptr_t)id) == STRATA_EQUEUE_FULL)
      strata_producer_poll(p, 5);
  }
  cr_assert_eq(strata_producer_flush(p, 30000), 0);
  strata_producer_free(p);
}

/* ---- observing the group ---- */

static int64_t committed[NPART]; /* highest committed offset seen per partition */

/* Describe the group: commits never go backwards; no partition assigned
 * to two members. Returns the number of members (-1: no answer). */
static int observe(int *stable, int32_t *epoch, int32_t *coordinator) {
  char err[256];
  strata_client *c = strata_client_new(cl.bootstrap, 3000, err, sizeof err);
  if (!c) return -1;
  strata_group_info *g = NULL;
  int rc = strata_group_describe(c, "g", &g);
  strata_client_free(c);
  if (rc) return -1;
  int owner[NPART];
  for (int p = 0; p < NPART; p++) owner[p] = -1;
  for (size_t i = 0; i < g->nmembers; i++)
    for (size_t k = 0; k < g->members[i].nassignment; k++) {
      uint32_t p = g->members[i].assignment[k].partition;
      cr_assert_lt(p, NPART);
      cr_assert_eq(owner[p], -1, "partition %u assigned to two members", p);
      owner[p] = (int)i;
    }
  for (size_t i = 0; i < g->noffsets; i++) {
    uint32_t p = g->offsets[i].partition;
    if (p >= NPART) continue;
    cr_assert_geq(g->offsets[i].offset, committed[p], "partition %u: commit went back from %" PRId64
                  " to %" PRId64, p, committed[p], g->offsets[i].offset);
    committed[p] = g->offsets[i].offset;
  }
  if (stable) *stable = !strcmp(g->state, "Stable");
  if (epoch) *epoch = g->epoch;
  if (coordinator) *coordinator = g->coordinator;
  int n = (int)g->nmembers;
  strata_group_info_free(g);
  return n;
}

/* Wait until the group is stable with n members. */
static void wait_stable(int n) {
  int64_t deadline = mono_us() + 30000000;
  int got = -1, stable = 0;
  while (mono_us() < deadline) {
    got = observe(&stable, NULL, NULL);
    if (got == n && stable) return;
    usleep(100000);
  }
  cr_assert_fail("group not stable with %d members (has %d, stable %d)", n, got, stable);
}

/* ---- checking the logs ---- */

struct interval {
  int member;
  int64_t from, to;
};

static FILE *member_log(int m) {
  char path[600];
  snprintf(path, sizeof path, "%s/member-%d.log", cl.dir, m);
  return fopen(path, "r");
}

struct read_line {
  int64_t t, offset;
  unsigned partition, id;
};

/* An "R time partition offset id" line. */
static int parse_read(const char *line, struct read_line *r) {
  return sscanf(line, "R %" SCNd64 " %u %" SCNd64 " %u", &r->t, &r->partition, &r->offset,
                &r->id) == 4;
}

/* Which ids some member processed at or after `since`. */
static void processed_ids(int64_t since, uint8_t *seen) {
  memset(seen, 0, RECORDS_MAX);
  for (int m = 0; m < nmembers; m++) {
    FILE *f = member_log(m);
    char line[256];
    struct read_line r;
    while (f && fgets(line, sizeof line, f))
      if (parse_read(line, &r) && r.t >= since && r.id < RECORDS_MAX) seen[r.id] = 1;
    if (f) fclose(f);
  }
}

/* Parse every member log: which acked ids were processed (after `since`),
 * and each partition's ownership intervals. */
static void check_logs(int64_t since, const char *what) {
  static uint8_t seen[RECORDS_MAX];
  processed_ids(since, seen);
  static struct interval iv[NPART][4096];
  size_t niv[NPART] = {0};
  for (int m = 0; m < nmembers; m++) {
    FILE *f = member_log(m);
    if (!f) continue;
    int64_t open_from[NPART];
    for (int p = 0; p < NPART; p++) open_from[p] = -1;
    int64_t end = died_us[m] ? died_us[m] : INT64_MAX;
    char line[256];
    while (fgets(line, sizeof line, f)) {
      int64_t t;
      unsigned part;
      int ev;
      if (sscanf(line, "E %" SCNd64 " %d %u", &t, &ev, &part) == 3 && part < NPART) {
        if (ev == STRATA_REBALANCE_ASSIGNED) open_from[part] = t;
        else if (open_from[part] >= 0) {
          iv[part][niv[part]++] = (struct interval){m, open_from[part], t};
          open_from[part] = -1;
        }
      } else if (sscanf(line, "X %" SCNd64, &t) == 1) {
        end = t;
      }
    }
    fclose(f);
    for (int p = 0; p < NPART; p++)
      if (open_from[p] >= 0 && niv[p] < 4096) iv[p][niv[p]++] = (struct interval){m, open_from[p], end};
  }
  for (unsigned id = 0; id < next_id; id++)
    cr_assert(!acked[id] || seen[id], "%s: acknowledged record %u never processed", what, id);
  for (int p = 0; p < NPART; p++)
    for (size_t i = 0; i < niv[p]; i++)
      for (size_t k = i + 1; k < niv[p]; k++) {
        struct interval a = iv[p][i], b = iv[p][k];
        if (a.member == b.member) continue;
        cr_assert(a.to <= b.from || b.to <= a.from,
                  "%s: partition %d owned by members %d and %d at once", what, p, a.member, b.member);
      }
}

/* Wait until every acked record was processed after `since`. */
static void wait_processed(int64_t since, const char *what) {
  int64_t deadline = mono_us() + 30000000;
  for (;;) {
    observe(NULL, NULL, NULL);
    static uint8_t seen[RECORDS_MAX];
    processed_ids(since, seen);
    unsigned missing = 0;
    for (unsigned id = 0; id < next_id; id++) missing += acked[id] && !seen[id];
    if (!missing) return;
    if (mono_us() > deadline) cr_assert_fail("%s: %u acknowledged records not processed", what, missing);
    usleep(200000);
  }
}

/* ---- the drills ---- */

Test(groups, kill9_consumer_its_partitions_move_and_nothing_is_lost) {
  for (int i = 0; i < 4; i++) start_member(NULL);
  wait_stable(4);
  for (int round = 0; round < 3; round++) {
    produce(3000);
    kill_member(first_live_member());
    produce(3000);
    wait_stable(3);
    start_member(NULL);
    wait_stable(4);
  }
  wait_processed(0, "kill -9 consumer");
  check_logs(0, "kill -9 consumer");
}

Test(groups, kill9_coordinator_broker_the_group_goes_on_from_its_commits) {
  for (int i = 0; i < 4; i++) start_member(NULL);
  wait_stable(4);
  for (int round = 0; round < 2; round++) {
    produce(3000);
    int32_t coord = -1;
    cr_assert_eq(observe(NULL, NULL, &coord), 4);
    cr_assert_gt(coord, 0);
    int64_t before[NPART];
    usleep(500000); /* let the members commit what they processed */
    observe(NULL, NULL, NULL);
    memcpy(before, committed, sizeof before);
    int64_t t_kill = mono_us();
    tcluster_kill(&cl, coord);
    produce(3000);
    wait_stable(4);
    cr_assert_eq(tcluster_start_broker(&cl, coord), 0);
    /* nothing re-read from before the last commit: for each partition, the
     * first record processed after the kill is at or past it */
    for (int m = 0; m < nmembers; m++) {
      FILE *f = member_log(m);
      char line[256];
      struct read_line r;
      while (f && fgets(line, sizeof line, f))
        if (parse_read(line, &r) && r.t > t_kill && r.partition < NPART)
          cr_assert_geq(r.offset, before[r.partition], "partition %u re-read offset %" PRId64
                        " from before the commit at %" PRId64, r.partition, r.offset,
                        before[r.partition]);
      if (f) fclose(f);
    }
  }
  wait_processed(0, "kill -9 coordinator");
  check_logs(0, "kill -9 coordinator");
}

Test(groups, a_member_joins_while_another_leaves) {
  for (int i = 0; i < 4; i++) start_member(NULL);
  wait_stable(4);
  for (int round = 0; round < 3; round++) {
    produce(2000);
    int leaving = first_live_member();
    start_member(NULL);
    stop_member(leaving);
    produce(2000);
    wait_stable(4);
  }
  wait_processed(0, "join+leave");
  check_logs(0, "join+leave");
}

Test(groups, reset_to_earliest_replays_everything) {
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 2; i++) start_member(NULL);
    wait_stable(2);
    produce(3000);
    wait_processed(0, "before reset");
    char err[256];
    strata_client *c = strata_client_new(cl.bootstrap, 5000, err, sizeof err);
    cr_assert(c);
    strata_group_offset v[NPART];
    for (uint32_t p = 0; p < NPART; p++) v[p] = (strata_group_offset){(char *)"gt", p, 0};
    cr_assert_eq(strata_group_set_offsets(c, "g", v, NPART), STRATA_EGROUP_NOT_EMPTY,
                 "not while members are live");
    for (int i = 0; i < nmembers; i++)
      if (members[i] > 0) stop_member(i);
    int64_t t_reset = mono_us();
    cr_assert_eq(strata_group_set_offsets(c, "g", v, NPART), 0);
    strata_client_free(c);
    memset(committed, 0, sizeof committed); /* an operator reset may go back */
    for (int i = 0; i < 2; i++) start_member(NULL);
    wait_processed(t_reset, "replay after reset");
    for (int i = 0; i < nmembers; i++)
      if (members[i] > 0) stop_member(i);
  }
  check_logs(0, "reset");
}

Test(groups, static_member_restarts_within_its_session_without_a_rebalance) {
  start_member("static-a");
  start_member("static-b");
  start_member(NULL);
  wait_stable(3);
  produce(2000);
  int32_t epoch_before = -1;
  observe(NULL, &epoch_before, NULL);
  for (int round = 0; round < 3; round++) {
    kill_member(round == 0 ? 0 : nmembers - 1); /* the static-a process */
    start_member("static-a"); /* back well within its 2 s session */
    produce(1000);
    wait_stable(3);
    int32_t epoch = -1;
    observe(NULL, &epoch, NULL);
    cr_assert_eq(epoch, epoch_before, "no rebalance: the group epoch stays %d (now %d)",
                 epoch_before, epoch);
  }
  wait_processed(0, "static restart");
  check_logs(0, "static restart");
}

static size_t segments_of(int broker, uint32_t k) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls %s/b%d/__consumer_offsets-%u/*.log 2>/dev/null | wc -l", cl.dir,
           broker, k);
  FILE *f = popen(cmd, "r");
  size_t n = 0;
  if (f && fscanf(f, "%zu", &n) != 1) n = 0;
  if (f) pclose(f);
  return n;
}

static void expect_offsets(int64_t last) {
  char err[256];
  strata_client *c = strata_client_new(cl.bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  strata_group_info *g = NULL;
  cr_assert_eq(strata_group_describe(c, "cg", &g), 0);
  cr_assert_eq(g->noffsets, (size_t)NPART);
  for (size_t i = 0; i < g->noffsets; i++)
    cr_assert_eq(g->offsets[i].offset, last + g->offsets[i].partition);
  strata_group_info_free(g);
  strata_client_free(c);
}

Test(groups, offsets_topic_compacts_on_every_replica_and_survives_failover) {
  char err[256];
  strata_client *c = strata_client_new(cl.bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  strata_group_offset v[NPART];
  for (uint32_t p = 0; p < NPART; p++) v[p] = (strata_group_offset){(char *)"gt", p, p};
  cr_assert_eq(strata_group_set_offsets(c, "cg", v, NPART), 0);
  /* the group's offsets partition, and one of its followers. The broker we
   * ask may learn of the topic (created by the coordinator at the commit) a
   * heartbeat later: ask again until it names a leader. */
  const char *names[1] = {"__consumer_offsets"};
  int32_t leader = -1, follower = -1;
  size_t nrep = 0;
  uint32_t home = 0; /* Java's hashCode of "cg" mod 12 */
  for (int tries = 0; tries < 100 && !(leader > 0 && follower > 0); tries++) {
    if (tries) usleep(50000);
    strata_metadata *m = NULL;
    if (strata_metadata_get(c, names, 1, &m) || m->ntopics != 1 || m->topics[0].npartitions == 0) {
      strata_metadata_free(m);
      continue;
    }
    int32_t h = 0;
    for (const char *s = "cg"; *s; s++) h = 31 * h + *s;
    home = (uint32_t)(h < 0 ? -h : h) % m->topics[0].npartitions;
    const strata_partition_info *pi = &m->topics[0].partitions[home];
    leader = pi->leader;
    follower = -1;
    /* Its replicas: 3, or 2 when the broker that asked for the topic knew
     * only two brokers alive then (the factor is capped at that count). */
    nrep = pi->nreplicas;
    for (size_t i = 0; i < pi->nreplicas; i++)
      if (pi->replicas[i] != leader) follower = pi->replicas[i];
    strata_metadata_free(m);
  }
  cr_assert(leader > 0 && follower > 0, "offsets partition: leader %d, follower %d, %zu replicas",
            leader, follower, nrep);
  tcluster_kill(&cl, follower);
  int64_t last = 0;
  for (int64_t round = 1; round <= 1500; round++) {
    for (uint32_t p = 0; p < NPART; p++) v[p].offset = round * 100 + p;
    int rc;
    while ((rc = strata_group_set_offsets(c, "cg", v, NPART)) == STRATA_ENOT_ENOUGH_REPLICAS)
      usleep(50000); /* until the dead follower has left the ISR */
    cr_assert_eq(rc, 0, "commit %" PRId64 ": %s", round, strata_strerror(rc));
    last = round * 100;
  }
  usleep(500000);
  cr_assert_leq(segments_of(leader, home), 4u, "the leader compacted (%zu segments)",
                segments_of(leader, home));
  /* the follower comes back below the leader's log start: it starts over */
  cr_assert_eq(tcluster_start_broker(&cl, follower), 0);
  int64_t deadline = mono_us() + 20000000;
  size_t nisr = 0;
  int32_t l = -1;
  while (mono_us() < deadline &&
         (tcluster_partition(&cl, "__consumer_offsets", home, &l, &nisr, NULL) || nisr < nrep))
    usleep(100000);
  cr_assert_eq(nisr, nrep, "the follower caught up and rejoined (ISR %zu of %zu)", nisr, nrep);
  cr_assert_leq(segments_of(follower, home), 4u);
  expect_offsets(last);
  /* the coordinator fails: the next one has every offset */
  tcluster_kill(&cl, leader);
  deadline = mono_us() + 20000000;
  while (mono_us() < deadline &&
         (tcluster_partition(&cl, "__consumer_offsets", home, &l, &nisr, NULL) || l < 0 ||
          l == leader))
    usleep(100000);
  expect_offsets(last);
  strata_client_free(c);
}
