/* The simulator's driver: for each seed, a cluster (a controller, or in
 * the ctl-* scenarios a quorum of 3 or 5, + 3 brokers),
 * producers and a reader, a fault schedule (random, or one of DESIGN.md's
 * catalogue), then heal, quiesce and check: the history checker (lost,
 * duplicated, reordered, replica disagreement below the high watermark,
 * reads nobody wrote) plus checks made while it ran (one leader per epoch
 * acknowledging, reads without gaps, liveness after the heal).
 *
 *   sim [--seeds N] [--seed S] [--scenario NAME|all] [--verbose] [--history F]
 *
 * A failing seed prints the command that replays it exactly. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/coordinator.h"
#include "common/assert.h"
#include "common/durable_file.h"
#include "common/trace.h"
#include "controller/controller.h"
#include "drill/checker.h"
#include "tests/sim/sim.h"

#define TICK_MS 5
#define SIM_OFFSETS_PARTS 3

/* ---- node dispatch ---- */

void node_deliver(struct sim *s, struct sim_node *n, const struct sim_msg *m) {
  if (n->id == s->dying) return; /* dead since earlier in this step */
  s->current_node = n->id;
  if (sim_ctl_index(s, n->id) >= 0) cnode_request(s, n->id, m);
  else if (n->id < SIM_CLIENT0) bnode_request(s, n->id, m);
  else if (n->id >= SIM_MEMBER0) member_deliver(s, n, m);
  else client_deliver(s, n, m);
}

void node_tick(struct sim *s, struct sim_node *n) {
  if (n->id == s->dying) return;
  s->current_node = n->id;
  if (sim_ctl_index(s, n->id) >= 0) cnode_tick(s, n->id);
  else if (n->id < SIM_CLIENT0) bnode_tick(s, n->id);
  else if (n->id >= SIM_MEMBER0) member_tick(s, n);
  else client_tick(s, n);
}

void node_peer_closed(struct sim *s, struct sim_node *n, int peer) {
  if (sim_ctl_index(s, n->id) >= 0) cnode_peer_closed(s, n->id, peer);
  else if (n->id < SIM_CLIENT0) bnode_peer_closed(s, n->id, peer);
}

/* ---- history, findings ---- */

static uint64_t history_hash;

void sim_history(struct sim *s, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (const char *p = line; *p; p++) history_hash = (history_hash ^ (uint8_t)*p) * 0x100000001b3ull;
  checker_add_line(s->chk, line);
  if (s->history) fprintf(s->history, "%s\n", line);
}

void sim_violation(struct sim *s, const char *fmt, ...) {
  s->violations++;
  if (s->violations > 1) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->violation, sizeof s->violation, fmt, ap);
  va_end(ap);
  if (s->verbose) fprintf(stderr, "[%7" PRId64 " ms] VIOLATION %s\n", s->now, s->violation);
}

void sim_log(struct sim *s, const char *fmt, ...) {
  va_list ap;
  if (s->transcript) {
    va_start(ap, fmt);
    fprintf(s->transcript, "[%7" PRId64 "] ", s->now);
    vfprintf(s->transcript, fmt, ap);
    fputc('\n', s->transcript);
    va_end(ap);
  }
  if (!s->verbose) return;
  va_start(ap, fmt);
  fprintf(stderr, "[%7" PRId64 " ms] ", s->now);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- the run's directory: removed at the end, on a signal, or by the
 * next run when the process that made it died ---- */

static char current_dir[300];

static int unlink_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path) && errno != ENOENT ? -1 : 0;
}

int sim_rm_rf(const char *path) {
  return nftw(path, unlink_one, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT ? -1 : 0;
}

static void on_signal(int sig) {
  if (current_dir[0]) sim_rm_rf(current_dir);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* A broken invariant (STRATA_ASSERT) in the real broker or controller code
 * aborts the run: say which seed replays it first. */
static const char *replay_argv0, *replay_scenario;
static uint64_t replay_seed;

static void on_invariant(const char *msg) {
  printf("seed %" PRIu64 " (%s): INVARIANT %s\n  replay: %s --seed %" PRIu64
         " --scenario %s --verbose\n",
         replay_seed, replay_scenario, msg, replay_argv0, replay_seed, replay_scenario);
  fflush(stdout);
  if (current_dir[0]) sim_rm_rf(current_dir);
}

static void sweep_stale(const char *base) {
  DIR *d = opendir(base);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    int pid;
    if (sscanf(e->d_name, "strata-sim-%d-", &pid) != 1 || pid <= 0) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue; /* its process still runs */
    char path[600];
    snprintf(path, sizeof path, "%s/%s", base, e->d_name);
    sim_rm_rf(path);
  }
  closedir(d);
}

/* ---- faults ---- */

enum fault {
  F_CRASH, F_RESTART, F_WIPE, F_PAUSE, F_RESUME, F_ISOLATE, F_HEAL, F_CUT_ONE_WAY,
  F_CUT_CONTROLLER, F_SLOW_DISK, F_CORRUPT, F_CORRUPT_OLD, F_CTL_DAMAGE, F_CTL_RESTORE, F_META_CRASH, F_CLOCK_JUMP,
  /* controller quorum (s->nctl > 1) */
  F_CUT_PEERS,   /* cut a controller off from the other controllers (both ways); peer 1: a zombie */
  F_HEAL_PEERS,
  F_CTL_TOPIC,   /* the active controller creates a small topic (metadata records to commit) */
  F_WIPE_DOWN,   /* set up "a wiped voter plus a down voter while the third lacks a record" */
  F_NO_LEADER,   /* no controller may be elected for len ms */
  F_FIG8,        /* start ctl-fig8 (sim_trap_fig8) */
  F_CTL_REPLACE, /* the operator's next step replacing a wiped controller (KIP-853) */
  F_CTL_REPLACED,/* by now every running controller's current key votes */
  F_SNAP_RACE,   /* ctl-snap: a follower falls behind the leader's snapshot; arm the trap */
};

/* A target below 0 is resolved when the fault happens: LEADER is the
 * current leader of partition 0, FOLLOWER one of its followers, COORDINATOR
 * the broker coordinating the group (leading its __consumer_offsets
 * partition). */
enum { LEADER = -1, FOLLOWER = -2, FOLLOWER2 = -3, COORDINATOR = -4 };
/* The controller quorum's leader (its newest), and the controllers after
 * it in the voter list. */
enum { CTL_LEADER = -5, CTL_FOLLOWER = -6, CTL_FOLLOWER2 = -7 };

struct action {
  int64_t at;
  enum fault f;
  int node, peer;
  int64_t len; /* pause/cut/slow length, ms */
};

#define ACTIONS_MAX 128

struct schedule {
  struct action v[ACTIONS_MAX];
  size_t n;
  int64_t duration; /* ms of faults before the heal */
  uint32_t nparts;
  uint64_t max_rebalances; /* with a group: more is a rebalance storm (0: no bound) */
  const char *const *topic_configs; /* "key=value" for the sim topic (NULL-terminated) */
  int expect_retention;    /* the scenario is void unless a read met retention */
};

static void add(struct schedule *sc, int64_t at, enum fault f, int node, int peer, int64_t len) {
  if (sc->n < ACTIONS_MAX) sc->v[sc->n++] = (struct action){at, f, node, peer, len};
}

static int32_t leader_now(struct sim *s) {
  int32_t l = cnode_leader(s, SIM_TOPIC, 0);
  for (int b = 1; l <= 0 && b <= s->nbrokers; b++) l = bnode_leader_of(s, b, 0);
  return l > 0 ? l : 1;
}

static int32_t coordinator_now(struct sim *s) {
  uint32_t k = coord_home(SIM_GROUP, SIM_OFFSETS_PARTS);
  int32_t l = cnode_leader(s, OFFSETS_TOPIC, k);
  return l > 0 ? l : leader_now(s);
}

static int resolve(struct sim *s, int node) {
  if (node >= 0) return node;
  if (node == COORDINATOR) return coordinator_now(s);
  if (node <= CTL_LEADER) {
    int l = cnode_quorum_leader(s);
    int k = l >= 0 ? sim_ctl_index(s, l) : 0;
    return sim_ctl_node((k + CTL_LEADER - node) % s->nctl);
  }
  int l = leader_now(s);
  if (node == LEADER) return l;
  int k = node == FOLLOWER ? 1 : 2;
  return (l - 1 + k) % s->nbrokers + 1;
}

static void isolate(struct sim *s, int node, int on) {
  for (int k = 0; k < SIM_NODES_MAX; k++) {
    if (k == node) continue;
    s->cut[node][k] = s->cut[k][node] = on;
  }
}

static void start_node(struct sim *s, int id) {
  if (s->nodes[id].up) return;
  s->current_node = id;
  if (sim_ctl_index(s, id) >= 0) cnode_start(s, id);
  else if (id >= SIM_MEMBER0) member_start(s, id);
  else bnode_start(s, id);
}

static void crash_node(struct sim *s, int id, int wipe) {
  if (sim_ctl_index(s, id) >= 0) cnode_crash(s, id, wipe);
  else if (id >= SIM_MEMBER0) member_crash(s, id);
  else bnode_crash(s, id, wipe);
}

/* Flip one bit somewhere in a file; 0, or -1 when it is missing or empty. */
static int flip_bit(struct sim *s, const char *path) {
  FILE *fp = fopen(path, "r+b");
  if (!fp) return -1;
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  if (size > 0) {
    long at = (long)rng_range(&s->rng, 0, size - 1);
    fseek(fp, at, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, at, SEEK_SET);
    fputc((c ^ (1 << rng_range(&s->rng, 0, 7))) & 0xff, fp);
    sim_log(s, "flipped a bit at byte %ld of %s", at, path);
  }
  fclose(fp);
  return size > 0 ? 0 : -1;
}

/* Flip one byte somewhere in a stopped broker's segment files. */
static void corrupt(struct sim *s, int id) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls %s/broker-%d/%s-*/*.log 2>/dev/null", s->dir, id, SIM_TOPIC);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char files[16][512];
  int n = 0;
  while (n < 16 && fgets(files[n], sizeof files[n], p)) {
    files[n][strcspn(files[n], "\n")] = 0;
    n++;
  }
  pclose(p);
  if (!n) return;
  flip_bit(s, files[rng_range(&s->rng, 0, n - 1)]);
}

/* corrupt: flip a bit in one of a stopped broker's OLD segments of the sim
 * topic (never the last two, which recovery checks at start; the active one
 * when a partition has only that), so only reads and the scrubber can find
 * it. */
static void corrupt_old(struct sim *s, int id) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls -d %s/broker-%d/%s-* 2>/dev/null", s->dir, id, SIM_TOPIC);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char dirs[8][512];
  int nd = 0;
  while (nd < 8 && fgets(dirs[nd], sizeof dirs[nd], p)) dirs[nd][strcspn(dirs[nd], "\n")] = 0, nd++;
  pclose(p);
  if (!nd) return;
  const char *d = dirs[rng_range(&s->rng, 0, nd - 1)];
  snprintf(cmd, sizeof cmd, "ls %s/*.log 2>/dev/null | sort", d);
  if (!(p = popen(cmd, "r"))) return;
  char files[64][600];
  int n = 0;
  while (n < 64 && fgets(files[n], sizeof files[n], p)) files[n][strcspn(files[n], "\n")] = 0, n++;
  pclose(p);
  if (!n) return;
  int last = n > 2 ? n - 3 : 0;
  flip_bit(s, files[rng_range(&s->rng, 0, last)]);
}

/* T9: the stopped controller's metadata is damaged (a copy kept first, as
 * an operator's backup): a flipped bit in its snapshot or log, or the whole
 * data.dir gone. Starting may then be refused; that is right. */
static void damage_controller(struct sim *s) {
  char cmd[2000], dir[300];
  snprintf(dir, sizeof dir, "%s/controller", s->dir);
  snprintf(cmd, sizeof cmd, "rm -rf '%s.backup' && cp -a '%s' '%s.backup'", dir, dir, dir);
  if (system(cmd)) sim_violation(s, "cannot back the controller's metadata up");
  s->ctl_may_refuse = 1;
  if (rng_chance(&s->rng, 30)) {
    sim_log(s, "the controller's data.dir is wiped");
    sim_rm_rf(dir);
    return;
  }
  const char *names[2] = {"snapshot", "metadata.log"};
  int first = (int)rng_range(&s->rng, 0, 1);
  for (int i = 0; i < 2; i++) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, names[(first + i) % 2]);
    if (!flip_bit(s, path)) return;
  }
}

/* The operator puts the backup back and starts the controller. */
static void restore_controller(struct sim *s) {
  char cmd[2000], dir[300];
  snprintf(dir, sizeof dir, "%s/controller", s->dir);
  cnode_crash(s, SIM_CONTROLLER, 0);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s.backup' '%s'", dir, dir, dir);
  if (system(cmd)) sim_violation(s, "cannot restore the controller's metadata");
  s->ctl_may_refuse = 0;
  sim_log(s, "the controller's metadata restored from its backup");
  cnode_start(s, SIM_CONTROLLER);
}

/* Arm the trap durable_file_hook springs: `node` dies inside one of its
 * next max_calls metadata file replacements, before a random step of it
 * (a metadata crash fault and the snapshot-race trap both set it). */
static void arm_meta_crash(struct sim *s, int node, int64_t max_calls) {
  s->meta_crash.node = node;
  s->meta_crash.calls = (int)rng_range(&s->rng, 1, max_calls);
  s->meta_crash.step = (int)rng_range(&s->rng, DURABLE_FILE_STEP_CREATE, DURABLE_FILE_STEP_FSYNC_DIR);
}

static void apply(struct sim *s, struct schedule *sc, const struct action *a) {
  int node = resolve(s, a->node);
  switch (a->f) {
  case F_CRASH:
  case F_WIPE:
    if (!s->nodes[node].up) return;
    if (node == leader_now(s) && !s->last_leader_crash) s->last_leader_crash = s->now;
    sim_log(s, "kill -9 node %d%s", node, a->f == F_WIPE ? " and wipe its disk" : "");
    crash_node(s, node, a->f == F_WIPE);
    if (a->len) add(sc, s->now + a->len, F_RESTART, node, 0, 0);
    break;
  case F_RESTART:
    sim_log(s, "start node %d", node);
    start_node(s, node);
    break;
  case F_CORRUPT:
    if (s->nodes[node].up) return;
    corrupt(s, node);
    break;
  case F_CORRUPT_OLD:
    if (s->nodes[node].up) return;
    corrupt_old(s, node);
    break;
  case F_PAUSE:
    if (!s->nodes[node].up || s->nodes[node].paused) return;
    sim_log(s, "SIGSTOP node %d for %" PRId64 " ms", node, a->len);
    s->nodes[node].paused = 1;
    s->nodes[node].paused_at = s->now;
    add(sc, s->now + a->len, F_RESUME, node, 0, 0);
    break;
  case F_RESUME:
    sim_log(s, "SIGCONT node %d", node);
    s->nodes[node].paused = 0;
    break;
  case F_ISOLATE:
    sim_log(s, "cut node %d off for %" PRId64 " ms", node, a->len);
    isolate(s, node, 1);
    add(sc, s->now + a->len, F_HEAL, node, -1, 0);
    break;
  case F_CUT_ONE_WAY: {
    int peer = resolve(s, a->peer);
    if (peer == node) return;
    sim_log(s, "drop packets from %d to %d for %" PRId64 " ms", node, peer, a->len);
    s->cut[node][peer] = 1;
    add(sc, s->now + a->len, F_HEAL, node, peer, 0);
    break;
  }
  case F_CUT_CONTROLLER:
    sim_log(s, "cut the controller off from the brokers for %" PRId64 " ms", a->len);
    for (int b = 1; b <= s->nbrokers; b++) s->cut[SIM_CONTROLLER][b] = s->cut[b][SIM_CONTROLLER] = 1;
    add(sc, s->now + a->len, F_HEAL, SIM_CONTROLLER, -1, 0);
    break;
  case F_HEAL:
    if (a->peer >= 0) s->cut[node][a->peer] = 0;
    else isolate(s, node, 0);
    sim_log(s, "heal node %d", node);
    break;
  case F_CTL_DAMAGE:
    if (!s->nodes[SIM_CONTROLLER].up) damage_controller(s);
    break;
  case F_CTL_RESTORE:
    restore_controller(s);
    break;
  case F_CLOCK_JUMP:
    s->nodes[node].wall_offset_ms += a->len;
    sim_log(s, "node %d's wall clock steps %+" PRId64 " ms (now %+" PRId64 " ms off)", node, a->len,
            s->nodes[node].wall_offset_ms);
    break;
  case F_META_CRASH:
    arm_meta_crash(s, node, 3);
    sim_log(s, "node %d will die inside its metadata file replacement %d from now, before step %d",
            node, s->meta_crash.calls, s->meta_crash.step);
    break;
  case F_SLOW_DISK:
    sim_log(s, "node %d's disk is slow for %" PRId64 " ms", node, a->len);
    s->nodes[node].disk_slow_until = s->now + a->len;
    break;
  case F_CUT_PEERS:
    sim_log(s, "cut controller node %d off from its peers for %" PRId64 " ms%s", node, a->len,
            a->peer ? " (a zombie: brokers still reach it)" : "");
    for (int k = 0; k < s->nctl; k++)
      if (sim_ctl_node(k) != node) s->cut[node][sim_ctl_node(k)] = s->cut[sim_ctl_node(k)][node] = 1;
    if (a->peer) qcheck_zombie(s, node);
    add(sc, s->now + a->len, F_HEAL_PEERS, node, a->peer, 0);
    break;
  case F_HEAL_PEERS:
    for (int k = 0; k < s->nctl; k++)
      if (sim_ctl_node(k) != node) s->cut[node][sim_ctl_node(k)] = s->cut[sim_ctl_node(k)][node] = 0;
    sim_log(s, "heal controller node %d's links to its peers", node);
    if (a->peer) {
      qcheck_zombie(s, -1);
      /* the brokers moved on: another controller answered their heartbeats */
      int moved = 0;
      for (int k = 0; k < s->nctl; k++)
        if (sim_ctl_node(k) != node && s->ctl_hb_answered[k] > s->now - 2000) moved = 1;
      if (!moved)
        sim_violation(s, "zombie: no other controller answered a broker's heartbeat in the last 2 s "
                      "of controller node %d's cut from its peers", node);
    }
    break;
  case F_CTL_TOPIC: {
    char name[32];
    snprintf(name, sizeof name, "extra-%d", (int)a->len);
    sim_log(s, "create topic %s", name);
    cnode_create_topic(s, name, 1, 3, NULL);
    break;
  }
  case F_WIPE_DOWN: {
    /* A: the leader, B: a follower, C: the other. C is cut from its peers
     * while a topic commits on A and B; B goes down, A is wiped and comes
     * back (an observer: a new directory id), C is healed. C lacks the
     * record, so no leader until B returns (A must not vote for C). */
    int A = resolve(s, CTL_LEADER), B = resolve(s, CTL_FOLLOWER), C = resolve(s, CTL_FOLLOWER2);
    int64_t down = a->len, t = s->now;
    sim_log(s, "wipe-down: leader %d, up-to-date follower %d, lagging %d", A, B, C);
    add(sc, t, F_CUT_PEERS, C, 0, 1700);
    add(sc, t + 300, F_CTL_TOPIC, 0, 0, 1);
    add(sc, t + 1500, F_CRASH, B, 0, 200 + down);
    add(sc, t + 1600, F_WIPE, A, 0, 100);
    add(sc, t + 1700, F_NO_LEADER, 0, 0, down - 50);
    break;
  }
  case F_FIG8: {
    int A = resolve(s, CTL_LEADER);
    struct controller *c = cnode_controller(s, A);
    if (!c) return;
    s->f8.a = A;
    s->f8.epoch = c->qn->q.epoch;
    sim_log(s, "fig8: A is controller node %d (epoch %d), cut off from its peers", A, s->f8.epoch);
    add(sc, s->now, F_CUT_PEERS, A, 0, 300);
    for (int i = 0; i < 70; i++) add(sc, s->now + 10 + i, F_CTL_TOPIC, 0, 0, 100 + i);
    add(sc, s->now + 200, F_CRASH, A, 0, 0);
    s->f8.stage = 1;
    break;
  }
  case F_CTL_REPLACE:
    cnode_replace_voters(s);
    break;
  case F_CTL_REPLACED:
    if (!cnode_replace_voters(s))
      sim_violation(s, "the wiped controller is not a voter again %" PRId64 " ms after its wipe "
                    "(remove-voter and add-voter every 400 ms)", a->len);
    break;
  case F_SNAP_RACE: {
    /* F: a follower (peer 0: cut off from its peers; 1: down; 2: wiped,
     * an observer) while topics commit, so the leader's snapshot passes
     * its log end and F must fetch it; the trap springs mid-install. */
    int F = resolve(s, CTL_FOLLOWER);
    int64_t t = s->now, away = a->len;
    static const char *const mode[] = {"cut off", "down", "wiped"};
    sim_log(s, "snap-race: controller node %d %s for %" PRId64 " ms while topics commit; then "
            "something dies while it installs a snapshot (how %d)", F, mode[a->peer], away, s->sr.how);
    if (a->peer == 0) add(sc, t, F_CUT_PEERS, F, 0, away);
    else add(sc, t, a->peer == 1 ? F_CRASH : F_WIPE, F, 0, away);
    for (int i = 0; i < 24; i++) add(sc, t + 100 + i * (away - 200) / 24, F_CTL_TOPIC, 0, 0, 200 + i);
    s->sr.stage = 1;
    break;
  }
  case F_NO_LEADER:
    sim_log(s, "no controller may be elected for %" PRId64 " ms", a->len);
    qcheck_no_leader_until(s, s->now + a->len);
    break;
  }
}

/* ---- scenarios ---- */

struct scenario {
  const char *name, *what;
  void (*build)(struct sim *s, struct schedule *sc);
};

static void sc_random(struct sim *s, struct schedule *sc) {
  sc->duration = 15000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 3);
  int64_t t = 1000;
  while (t < sc->duration - 500) {
    int node = (int)rng_range(&s->rng, 1, s->nbrokers);
    if (rng_chance(&s->rng, 40)) node = LEADER;
    int64_t len = rng_range(&s->rng, 200, 4000);
    switch (rng_range(&s->rng, 0, 8)) {
    case 0: add(sc, t, F_CRASH, node, 0, len); break;
    case 1: add(sc, t, F_PAUSE, node, 0, len); break;
    case 2: add(sc, t, F_ISOLATE, node, 0, len); break;
    case 3: add(sc, t, F_CUT_ONE_WAY, node, (int)rng_range(&s->rng, 0, s->nbrokers), len); break;
    case 4: add(sc, t, F_CUT_ONE_WAY, (int)rng_range(&s->rng, 0, s->nbrokers), node, len); break;
    case 5: add(sc, t, F_CUT_CONTROLLER, 0, 0, len); break;
    case 6: add(sc, t, F_CRASH, SIM_CONTROLLER, 0, len); break;
    case 7: add(sc, t, F_SLOW_DISK, node, 0, len); break;
    case 8: add(sc, t, F_CRASH, LEADER, 0, len); break;
    }
    t += rng_range(&s->rng, 300, 2500);
  }
}

/* Issue 15: 4 brokers, 3 partitions of RF 3, so each broker but one hosts
 * only some of them (the hosting rule of broker/topics.h: no log for a
 * partition whose replicas do not include the broker), under sc_random's
 * faults. */
static void sc_hosted(struct sim *s, struct schedule *sc) {
  s->nbrokers = 4;
  sc_random(s, sc);
  sc->nparts = 3;
}

/* T1/T17: kill -9 the leader during acks=all produce (twice). */
static void sc_t1(struct sim *s, struct schedule *sc) {
  (void)s;
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_CRASH, LEADER, 0, 3000);
  add(sc, 7000, F_CRASH, LEADER, 0, 3000);
}

/* T2: the ISR shrinks to the leader alone, then the leader is cut off. */
static void sc_t2(struct sim *s, struct schedule *sc) {
  (void)s;
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 1500, F_ISOLATE, FOLLOWER, 0, 9000);
  add(sc, 1600, F_ISOLATE, FOLLOWER2, 0, 9000);
  add(sc, 6000, F_ISOLATE, LEADER, 0, 4000);
}

/* T3: pause the leader under an idempotent producer's retries. */
static void sc_t3(struct sim *s, struct schedule *sc) {
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_PAUSE, LEADER, 0, rng_range(&s->rng, 1000, 4000));
  add(sc, 7500, F_PAUSE, LEADER, 0, rng_range(&s->rng, 200, 3000));
}

/* T5: two failovers in quick succession. */
static void sc_t5(struct sim *s, struct schedule *sc) {
  sc->duration = 10000;
  sc->nparts = 1;
  add(sc, 2000, F_CRASH, LEADER, 0, 2000);
  add(sc, 2000 + rng_range(&s->rng, 300, 900), F_CRASH, LEADER, 0, 2500);
}

/* T6: the last live replica loses its unflushed tail, then the peers return. */
static void sc_t6(struct sim *s, struct schedule *sc) {
  (void)s;
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_CRASH, FOLLOWER, 0, 6000);
  add(sc, 2000, F_CRASH, FOLLOWER2, 0, 6500);
  add(sc, 4000, F_CRASH, LEADER, 0, 1000);
}

/* T7: every node loses power at once. */
static void sc_t7(struct sim *s, struct schedule *sc) {
  sc->duration = 8000;
  sc->nparts = 2;
  int64_t t = rng_range(&s->rng, 2000, 4000);
  for (int b = 0; b <= s->nbrokers; b++) add(sc, t, F_CRASH, b, 0, 1000);
}

/* T8: a flipped bit in a segment of one replica (while it is down). */
static void sc_t8(struct sim *s, struct schedule *sc) {
  (void)s;
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 3000, F_CRASH, FOLLOWER, 0, 0);
  add(sc, 3001, F_CORRUPT, FOLLOWER, 0, 0);
  add(sc, 3500, F_RESTART, FOLLOWER, 0, 0);
  add(sc, 7000, F_CRASH, LEADER, 0, 2000);
}

/* corrupt: silent corruption of old batches on random replicas (issue 15):
 * a broker at a time is stopped, a bit flipped in an old segment, and
 * restarted; its scrubber (a pass a second here) or a read finds the
 * damage, the controller takes it out of the ISR (and its leadership), it
 * cuts and refetches. Sometimes the leader is the one damaged, sometimes a
 * leader dies later. One copy is damaged at a time, so a healthy one always
 * exists: no acknowledged write may be lost, and every replica's log below
 * the high watermark must pass its CRCs at the end (bnode_dump). */
static void sc_corrupt(struct sim *s, struct schedule *sc) {
  static const char *const cfg[] = {"segment.ms=300", NULL}; /* many old segments */
  sc->topic_configs = cfg;
  sc->duration = 14000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  int64_t t = rng_range(&s->rng, 2500, 4000);
  while (t < sc->duration - 2500) {
    /* A concrete broker (the leader a third of the time): the crash, the
     * flip and the restart must hit the same one. */
    int node = (int)rng_range(&s->rng, 1, s->nbrokers);
    int64_t down = rng_range(&s->rng, 300, 1500);
    add(sc, t, F_CRASH, node, 0, 0);
    add(sc, t + 1, F_CORRUPT_OLD, node, 0, 0);
    add(sc, t + down, F_RESTART, node, 0, 0);
    /* Sometimes the leader dies meanwhile, back before the next flip. */
    if (rng_chance(&s->rng, 30)) add(sc, t + down + rng_range(&s->rng, 500, 1500), F_CRASH, LEADER, 0, 1000);
    t += down + rng_range(&s->rng, 3000, 5000);
  }
}

/* T11: one node's power failure plus pauses of the others. */
static void sc_t11(struct sim *s, struct schedule *sc) {
  sc->duration = 12000;
  sc->nparts = 2;
  add(sc, 2000, F_CRASH, LEADER, 0, 4000);
  add(sc, 2500, F_PAUSE, FOLLOWER, 0, rng_range(&s->rng, 500, 3000));
  add(sc, 4000, F_PAUSE, FOLLOWER2, 0, rng_range(&s->rng, 500, 3000));
}

/* T12: a follower restarts with a wiped disk; later the leader dies. */
static void sc_t12(struct sim *s, struct schedule *sc) {
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_WIPE, FOLLOWER, 0, 500);
  add(sc, 2000 + rng_range(&s->rng, 600, 5000), F_CRASH, LEADER, 0, 2000);
}

/* T20: a follower's disk is wiped and it restarts, so it writes its
 * meta.properties (a new cluster id, then the cluster it joins) and its
 * topic files anew; it dies inside one of those replacements, at a random
 * step, and starts again over what that left. */
static void sc_t20(struct sim *s, struct schedule *sc) {
  sc->duration = 12000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  add(sc, 2000, F_META_CRASH, FOLLOWER, 0, 0);
  add(sc, 2000, F_WIPE, FOLLOWER, 0, 500);
  add(sc, 2000 + rng_range(&s->rng, 3000, 6000), F_CRASH, LEADER, 0, 2000);
}

/* clock-jump: the wall clocks of the leader, a follower and the controller
 * step an hour forward or back, several times, under the usual load (an NTP
 * step, a VM resumed, an operator's date -s). Timeouts run on the monotonic
 * clock, so nobody may be fenced and no ISR may shrink (stable_check). */
static void sc_clock_jump(struct sim *s, struct schedule *sc) {
  sc->duration = 12000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 3);
  s->stable_from = 2000;
  static const int who[] = {LEADER, FOLLOWER, SIM_CONTROLLER};
  for (int i = 0, n = (int)rng_range(&s->rng, 4, 8); i < n; i++)
    add(sc, rng_range(&s->rng, 2500, 11000), F_CLOCK_JUMP, who[rng_range(&s->rng, 0, 2)], 0,
        rng_chance(&s->rng, 50) ? 3600000 : -3600000);
}

/* While stable_from holds: every leader's ISR stays whole and the leader
 * epochs stay what they were when it began. */
static void stable_check(struct sim *s, uint32_t nparts) {
  if (!s->stable_from || s->now < s->stable_from || s->violations) return;
  for (uint32_t k = 0; k < nparts; k++)
    for (int b = 1; b <= s->nbrokers; b++) {
      if (!s->nodes[b].up) continue;
      int32_t e = bnode_epoch(s, b, k);
      if (bnode_leader_of(s, b, k) == b && bnode_isr_size(s, b, k) < s->nbrokers)
        sim_violation(s, "clock-jump: the ISR of partition %u shrank to %d at its leader %d", k,
                      bnode_isr_size(s, b, k), b);
      if (s->stable_epoch[k] < 0) s->stable_epoch[k] = e;
      else if (e >= 0 && e != s->stable_epoch[k])
        sim_violation(s, "clock-jump: partition %u went from leader epoch %d to %d (a broker was "
                      "fenced or a leader elected)", k, s->stable_epoch[k], e);
    }
}

/* The schedule of the run in progress (for faults set off by events). */
static struct schedule *current_schedule;

/* T20: the durable_file hook (installed for every run; it acts only when a
 * meta_crash is armed). Replacements are counted at their first step; at
 * the chosen step of the chosen one, the broker stops dead there (a torn
 * temp file when that step is the write) and is taken down when its event
 * ends, sending nothing more. */
static enum durable_file_fault on_replace(void *arg, const char *path, enum durable_file_step step,
                                          size_t *len) {
  struct sim *s = *(struct sim **)arg;
  if (!s) return DURABLE_FILE_GO;
  if (s->dying >= 0 && s->current_node == s->dying) return DURABLE_FILE_CRASH; /* dead already */
  if (!s->meta_crash.node || s->current_node != s->meta_crash.node) return DURABLE_FILE_GO;
  if (step == DURABLE_FILE_STEP_CREATE && --s->meta_crash.calls > 0) return DURABLE_FILE_GO;
  if (s->meta_crash.calls > 0 || (int)step != s->meta_crash.step) return DURABLE_FILE_GO;
  if (step == DURABLE_FILE_STEP_WRITE && len && *len > 0)
    *len = (size_t)rng_range(&s->rng, 0, (int64_t)*len - 1);
  sim_log(s, "node %d dies inside the replacement of %s, before step %d", s->meta_crash.node,
          strrchr(path, '/') ? strrchr(path, '/') + 1 : path, (int)step);
  s->dying = s->meta_crash.node;
  s->meta_crash.node = 0;
  return DURABLE_FILE_CRASH;
}
static struct sim *hooked_sim;

/* A node that died inside its event goes down now, and starts again a
 * second later. */
static void bury(struct sim *s, struct schedule *sc) {
  if (s->dying < 0) return;
  int id = s->dying;
  crash_node(s, id, 0);
  s->dying = -1;
  add(sc, s->now + (s->dying_restart_ms ? s->dying_restart_ms : 1000), F_RESTART, id, 0, 0);
  s->dying_restart_ms = 0;
}

/* ctl-fig8, Raft's figure 8 with three controllers: A leads epoch e and,
 * cut off from its peers, appends more records than one fetch answer
 * carries (F_FIG8), then dies. B wins the next epoch with C's vote and dies
 * at once, cut off before its LeaderChange record reached anyone (stage 1).
 * A returns and wins (its log ends in epoch e, C's earlier) (stage 2); C
 * fetches the first 64 of A's old-epoch records, and A dies before C has
 * A's own-epoch record (stage 3). B returns first and wins with C's vote
 * (epoch e+1 beats C's e). Without the own-epoch rule, A's high watermark
 * passed C's 64 records of epoch e: committed, then overwritten by B (leader
 * completeness fails). With it, they never committed. */
void sim_trap_fig8(struct sim *s, int node, struct controller *ctl) {
  struct schedule *sc = current_schedule;
  const struct qnode *qn = ctl->qn;
  if (s->f8.stage == 1 && qn->q.role == QUORUM_LEADER && qn->q.epoch > s->f8.epoch) {
    s->f8.b = node;
    s->f8.c = node == s->f8.a ? s->f8.a : 0;
    for (int k = 0; k < s->nctl; k++)
      if (sim_ctl_node(k) != node && sim_ctl_node(k) != s->f8.a) s->f8.c = sim_ctl_node(k);
    s->f8.epoch = qn->q.epoch;
    sim_log(s, "fig8: controller node %d leads epoch %d: cut off", node, qn->q.epoch);
    for (int k = 0; k < s->nctl; k++)
      if (sim_ctl_node(k) != node) s->cut[node][sim_ctl_node(k)] = s->cut[sim_ctl_node(k)][node] = 1;
    s->f8.stage = 11;
  } else if (s->f8.stage == 11 && node == s->f8.b && qn->q.persisted_end > qn->leader_change_at &&
             qn->leader_change_at >= 0) {
    /* its LeaderChange is on its disk (the vote B wins with later) */
    sim_log(s, "fig8: B's LeaderChange at %lld is durable: B dies, A (%d) restarts",
            (long long)qn->leader_change_at, s->f8.a);
    s->dying = node;
    s->dying_restart_ms = 60000; /* stage 3 restarts it */
    add(sc, s->now + 10, F_HEAL_PEERS, node, 0, 0);
    add(sc, s->now + 100, F_RESTART, s->f8.a, 0, 0);
    s->f8.stage = 2;
  } else if (s->f8.stage == 2 && node == s->f8.a && qn->q.role == QUORUM_LEADER &&
             qn->q.epoch > s->f8.epoch) {
    struct controller *c = cnode_controller(s, s->f8.c);
    s->f8.c_start = c ? c->qn->log.end : 0;
    s->f8.epoch = qn->q.epoch;
    sim_log(s, "fig8: A leads epoch %d; its LeaderChange at %lld, C's log ends at %lld",
            qn->q.epoch, (long long)qn->leader_change_at, (long long)s->f8.c_start);
    s->f8.stage = 3;
  } else if (s->f8.stage == 3 && node == s->f8.a && qn->q.role == QUORUM_LEADER) {
    int ci = sim_ctl_index(s, s->f8.c);
    int64_t end = ci >= 0 ? qn->q.voters[ci].end_offset : -1;
    if (end > s->f8.c_start && end < qn->leader_change_at) {
      sim_log(s, "fig8: C holds A's old-epoch records up to %lld (high watermark %lld): A dies, "
              "B restarts", (long long)end, (long long)qn->q.hw);
      s->dying = node;
      s->dying_restart_ms = 4000;
      add(sc, s->now + 50, F_RESTART, s->f8.b, 0, 0);
      s->f8.stage = 4;
    }
  }
}

/* ctl-snap's trap, after every step of a quorum controller: once one
 * holds part of a leader's snapshot (or has all of it and installs it in
 * this step), something dies (s->sr.how):
 *   0  the installing controller, now: its fetch file half written (a
 *      power loss also tears its log's unsynced tail);
 *   1  the leader serving it, now: the download starts over from the next
 *      leader, whose snapshot differs;
 *   2  the installing controller inside its next file replacement (the
 *      snapshot's rename, the log's rewrite, the quorum-state), before a
 *      step drawn from the seed (a torn temp file when it is the write);
 *   3  the leader inside its next file replacement (its next snapshot or
 *      the log's prefix drop);
 *   4  every controller at once (power loss).
 * Each comes back 300-1500 ms later. */
void sim_trap_snap(struct sim *s, int node, struct controller *ctl) {
  struct schedule *sc = current_schedule;
  const struct quorum *q = &ctl->qn->q;
  if (!(q->snap_fetch.end_offset >= 0 && q->snap_position > 0) && !q->snap_installing) return;
  int leader = q->leader >= 1 && q->leader <= s->nctl ? sim_ctl_node(q->leader - 1) : -1;
  int64_t back = rng_range(&s->rng, 300, 1500);
  s->sr.stage = 2;
  sim_log(s, "snap-race: controller node %d holds %lld of %lld bytes of snapshot [0, %lld) from "
          "node %d%s", node, (long long)q->snap_position, (long long)q->snap_size,
          (long long)q->snap_fetch.end_offset, leader, q->snap_installing ? " (installing)" : "");
  switch (s->sr.how) {
  case 0:
    s->dying = node;
    s->dying_restart_ms = back;
    break;
  case 1:
    if (leader < 0 || !s->nodes[leader].up) return;
    add(sc, s->now, F_CRASH, leader, 0, back);
    break;
  case 2:
  case 3: {
    int who = s->sr.how == 2 ? node : leader;
    if (who < 0) return;
    arm_meta_crash(s, who, 2);
    sim_log(s, "snap-race: node %d will die inside its file replacement %d from now, before step %d",
            who, s->meta_crash.calls, s->meta_crash.step);
    break;
  }
  default:
    for (int k = 0; k < s->nctl; k++)
      if (sim_ctl_node(k) != node) add(sc, s->now, F_CRASH, sim_ctl_node(k), 0, back);
    s->dying = node;
    s->dying_restart_ms = back;
    break;
  }
}

/* An ISR expansion is on its way to the controller: the leader pauses
 * before the answer arrives, the controller elects the new member and then
 * crashes (the answer is lost), and the remaining follower cannot hear the
 * controller, so it goes on following the old leader when it resumes. The
 * old leader must not acknowledge with the ISR it knew (seed 799's bug). */
void sim_trap_isr_expand(struct sim *s, int leader) {
  struct schedule *sc = current_schedule;
  int lagging = leader % s->nbrokers + 1; /* FOLLOWER of sc_isr_race: the one rejoining */
  int other = 6 - leader - lagging;       /* the third of three brokers */
  sim_log(s, "trap: broker %d proposes an ISR expansion", leader);
  add(sc, s->now, F_PAUSE, leader, 0, 3000);
  add(sc, s->now, F_CUT_ONE_WAY, SIM_CONTROLLER, other, 6000);
  add(sc, s->now + 2000, F_CRASH, SIM_CONTROLLER, 0, 2500);
}

/* The ISR race of seed 799: a follower falls out of the ISR (paused past
 * replica.lag.time.max.ms), rejoins, and the expansion sets off the trap. */
static void sc_isr_race(struct sim *s, struct schedule *sc) {
  sc->duration = 14000;
  sc->nparts = 1;
  s->trap_isr_expand = 1;
  add(sc, 1000, F_PAUSE, FOLLOWER, 0, 6500);
}

/* Controller faults: restarts and a cut from every broker. */
static void sc_controller(struct sim *s, struct schedule *sc) {
  sc->duration = 12000;
  sc->nparts = 2;
  add(sc, 2000, F_CRASH, SIM_CONTROLLER, 0, rng_range(&s->rng, 200, 2000));
  add(sc, 5000, F_CUT_CONTROLLER, 0, 0, rng_range(&s->rng, 500, 3000));
  add(sc, 9000, F_CRASH, LEADER, 0, 1000);
}

/* ---- controller quorum scenarios (issue 14): 3 controllers, sometimes
 * 5, each the real qnode on its own disk; brokers hold the list and follow
 * NOT_CONTROLLER hints (broker/session.c). quorum_check.c checks the
 * quorum's invariants after every controller step. ---- */

static void quorum_of(struct sim *s, int five_pct) {
  s->nctl = rng_chance(&s->rng, five_pct) ? 5 : 3;
}

/* Kill -9 the controller leader under acks=all load, then the partition
 * leader while the new controller may still be settling; again later. */
static void sc_ctl_kill(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 14000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  add(sc, 2000, F_CRASH, CTL_LEADER, 0, rng_range(&s->rng, 1000, 4000));
  add(sc, 2000 + rng_range(&s->rng, 0, 1500), F_CRASH, LEADER, 0, 2000);
  add(sc, 8000, F_CRASH, CTL_LEADER, 0, rng_range(&s->rng, 500, 3000));
}

/* A zombie: the controller leader cut off from its peers, still reachable
 * by the brokers. It must commit nothing (it resigns by check-quorum); the
 * brokers must move on to the new leader. A partition leader dies meanwhile. */
static void sc_ctl_zombie(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 13000;
  sc->nparts = 1;
  add(sc, 2000, F_CUT_PEERS, CTL_LEADER, 1, rng_range(&s->rng, 7000, 9000));
  add(sc, 2000 + rng_range(&s->rng, 500, 5000), F_CRASH, LEADER, 0, 2000);
}

/* One-way cuts between controllers (and between the leader and brokers). */
static void sc_ctl_oneway(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 14000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  static const int who[] = {CTL_LEADER, CTL_FOLLOWER, CTL_FOLLOWER2};
  for (int64_t t = 1500; t < 12000; t += rng_range(&s->rng, 800, 2500)) {
    int a = who[rng_range(&s->rng, 0, 2)], b = who[rng_range(&s->rng, 0, 2)];
    if (a == b) b = a == CTL_LEADER ? CTL_FOLLOWER : CTL_LEADER;
    if (rng_chance(&s->rng, 20)) b = (int)rng_range(&s->rng, 1, s->nbrokers);
    add(sc, t, F_CUT_ONE_WAY, a, b, rng_range(&s->rng, 500, 5000));
  }
  add(sc, rng_range(&s->rng, 3000, 9000), F_CRASH, LEADER, 0, 1500);
}

/* The controller leader paused beyond the fetch timeout (2 s): the others
 * elect, and the old one resumes as a deposed leader. */
static void sc_ctl_pause(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_PAUSE, CTL_LEADER, 0, rng_range(&s->rng, 2500, 5000));
  add(sc, 2000 + rng_range(&s->rng, 2500, 4000), F_CRASH, LEADER, 0, 1500);
  add(sc, 8500, F_PAUSE, CTL_LEADER, 0, rng_range(&s->rng, 300, 3000));
}

/* Every controller loses power at once (torn tails), sometimes the brokers
 * too. */
static void sc_ctl_power(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 10000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  int64_t t = rng_range(&s->rng, 2000, 4000);
  for (int k = 0; k < s->nctl; k++) add(sc, t, F_CRASH, sim_ctl_node(k), 0, rng_range(&s->rng, 300, 1500));
  if (rng_chance(&s->rng, 50))
    for (int b = 1; b <= s->nbrokers; b++) add(sc, t, F_CRASH, b, 0, 1000);
  add(sc, t + rng_range(&s->rng, 3000, 4000), F_CRASH, LEADER, 0, 1500);
}

/* Rolling restart of every controller, one at a time. */
static void sc_ctl_rolling(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 2000 + 3500 * s->nctl;
  sc->nparts = 2;
  for (int k = 0; k < s->nctl; k++)
    add(sc, 1500 + 3500 * k, F_CRASH, sim_ctl_node(k), 0, rng_range(&s->rng, 500, 1500));
  add(sc, rng_range(&s->rng, 2000, sc->duration - 2000), F_CRASH, LEADER, 0, 1500);
}

/* The controller leader's disk turns slow (100-700 ms per fsync); then it
 * is killed while syncs are pending. */
static void sc_ctl_slow(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 1500, F_SLOW_DISK, CTL_LEADER, 0, 6000);
  add(sc, 2500, F_CRASH, LEADER, 0, 1500);
  add(sc, rng_range(&s->rng, 4000, 7000), F_CRASH, CTL_LEADER, 0, 1500);
  add(sc, 8000, F_SLOW_DISK, CTL_FOLLOWER, 0, 3000);
}

/* Back-to-back controller leader failures: the new leader dies soon after
 * its election (with 3 controllers, no majority until one returns). */
static void sc_ctl_b2b(struct sim *s, struct schedule *sc) {
  quorum_of(s, 40);
  sc->duration = 13000;
  sc->nparts = 1;
  add(sc, 2000, F_CRASH, CTL_LEADER, 0, rng_range(&s->rng, 2500, 5000));
  add(sc, 2000 + rng_range(&s->rng, 1500, 4000), F_CRASH, CTL_LEADER, 0, rng_range(&s->rng, 1000, 3000));
  add(sc, 4000, F_CRASH, LEADER, 0, 2000);
}

/* A follower controller wiped: it comes back with a new directory id, an
 * observer that must not vote; later the leader dies (with 3, no majority
 * until it returns). */
static void sc_ctl_wipe(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_WIPE, CTL_FOLLOWER, 0, 500);
  add(sc, 3000, F_CTL_TOPIC, 0, 0, 1);
  add(sc, rng_range(&s->rng, 4000, 7000), F_CRASH, CTL_LEADER, 0, rng_range(&s->rng, 1000, 3000));
  add(sc, 8000, F_CRASH, LEADER, 0, 1500);
}

/* A follower controller wiped, then replaced by the operator (KIP-853:
 * remove-voter of its old directory id, add-voter of the new one once it
 * caught up, retried every 400 ms); then the leader dies: with 3
 * controllers the next leader needs the replaced one's vote. */
static void sc_ctl_replace(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 17000;
  sc->nparts = 1;
  add(sc, 2000, F_WIPE, CTL_FOLLOWER, 0, 500);
  add(sc, 3000, F_CTL_TOPIC, 0, 0, 1);
  /* a lost packet (the sim drops some) can stall the quorum for a fetch
   * timeout (2 s here) and an election: time for two */
  for (int64_t t = 3200; t < 11500; t += 400) add(sc, t, F_CTL_REPLACE, 0, 0, 0);
  add(sc, 11600, F_CTL_REPLACED, 0, 0, 9600);
  add(sc, rng_range(&s->rng, 12000, 13000), F_CRASH, CTL_LEADER, 0, rng_range(&s->rng, 2000, 3000));
  add(sc, 13500, F_CTL_TOPIC, 0, 0, 2);
  add(sc, 14500, F_CRASH, LEADER, 0, 1500);
}

/* A wiped voter plus a down voter while the third lacks a committed record:
 * no leader until the up-to-date one returns (F_WIPE_DOWN). */
static void sc_ctl_wipe_down(struct sim *s, struct schedule *sc) {
  s->nctl = 3;
  sc->duration = 12000;
  sc->nparts = 1;
  add(sc, 2000, F_WIPE_DOWN, 0, 0, rng_range(&s->rng, 3000, 6000));
}

/* Raft's figure 8 (sim_trap_fig8): the own-epoch high watermark rule. */
static void sc_ctl_fig8(struct sim *s, struct schedule *sc) {
  s->nctl = 3;
  sc->duration = 14000;
  sc->nparts = 1;
  add(sc, 1000 + rng_range(&s->rng, 0, 500), F_FIG8, 0, 0, 0);
}

/* Snapshot install racing a crash (issue 14): snapshots every 1-4 KiB of
 * metadata records, sent in chunks of 128-512 bytes; a follower falls
 * behind the leader's snapshot (cut off, down or wiped) and, as it fetches
 * it, something dies (sim_trap_snap). Then a partition leader dies. */
static void sc_ctl_snap(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 13000;
  sc->nparts = 1;
  s->ctl_snap_bytes = rng_range(&s->rng, 1024, 4096);
  s->ctl_chunk_bytes = (size_t)rng_range(&s->rng, 128, 512);
  s->sr.how = (int)rng_range(&s->rng, 0, 4);
  /* first every controller takes a snapshot of its own (a follower whose
   * log starts past 0 has more to lose in a torn install) */
  for (int i = 0; i < 12; i++) add(sc, 200 + 100 * i, F_CTL_TOPIC, 0, 0, 100 + i);
  add(sc, 1500, F_SNAP_RACE, 0, (int)rng_range(&s->rng, 0, 2), rng_range(&s->rng, 3000, 5000));
  add(sc, rng_range(&s->rng, 8000, 10000), F_CRASH, LEADER, 0, 1500);
}

/* Random faults of controllers and brokers together. */
static void sc_ctl_random(struct sim *s, struct schedule *sc) {
  quorum_of(s, 25);
  sc->duration = 15000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 3);
  int64_t t = 1000;
  int extra = 10;
  while (t < sc->duration - 500) {
    int ctl = sim_ctl_node((int)rng_range(&s->rng, 0, s->nctl - 1));
    if (rng_chance(&s->rng, 40)) ctl = CTL_LEADER;
    int node = rng_chance(&s->rng, 50) ? LEADER : (int)rng_range(&s->rng, 1, s->nbrokers);
    int64_t len = rng_range(&s->rng, 200, 4000);
    switch (rng_range(&s->rng, 0, 9)) {
    case 0: add(sc, t, F_CRASH, ctl, 0, len); break;
    case 1: add(sc, t, F_PAUSE, ctl, 0, len); break;
    case 2: add(sc, t, F_ISOLATE, ctl, 0, len); break;
    case 3: add(sc, t, F_CUT_PEERS, ctl, 0, len); break;
    case 4: add(sc, t, F_CUT_ONE_WAY, ctl, CTL_FOLLOWER, len); break;
    case 5: add(sc, t, F_SLOW_DISK, ctl, 0, len); break;
    case 6: add(sc, t, F_CRASH, node, 0, len); break;
    case 7: add(sc, t, F_PAUSE, node, 0, len); break;
    case 8: add(sc, t, F_CTL_TOPIC, 0, 0, extra++); break;
    case 9: add(sc, t, F_CUT_ONE_WAY, node, ctl, len); break;
    }
    t += rng_range(&s->rng, 300, 2500);
  }
  if (rng_chance(&s->rng, 50)) { /* small snapshots: crashes meet them anywhere */
    s->ctl_snap_bytes = rng_range(&s->rng, 1024, 8192);
    s->ctl_chunk_bytes = (size_t)rng_range(&s->rng, 256, 4096);
  }
}

/* ---- consumer group scenarios: 2 members read and commit what 3
 * producers write; the plain reader is off so the group's reads alone
 * count (an acknowledged write the group committed past unread shows). */

static int member_node(struct sim *s) {
  return SIM_MEMBER0 + (int)rng_range(&s->rng, 0, s->nmembers - 1);
}

/* Random faults of brokers, the coordinator, the controller and members. */
static void sc_groups(struct sim *s, struct schedule *sc) {
  s->nmembers = 2;
  sc->duration = 15000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 3);
  int64_t t = 1500;
  while (t < sc->duration - 500) {
    int64_t len = rng_range(&s->rng, 200, 4000);
    switch (rng_range(&s->rng, 0, 7)) {
    case 0: add(sc, t, F_CRASH, COORDINATOR, 0, len); break;
    case 1: add(sc, t, F_PAUSE, COORDINATOR, 0, len); break;
    case 2: add(sc, t, F_ISOLATE, COORDINATOR, 0, len); break;
    case 3: add(sc, t, F_CRASH, (int)rng_range(&s->rng, 1, s->nbrokers), 0, len); break;
    case 4: add(sc, t, F_CRASH, member_node(s), 0, len); break;
    case 5: add(sc, t, F_PAUSE, member_node(s), 0, len); break;
    case 6: add(sc, t, F_ISOLATE, member_node(s), 0, len); break;
    case 7: add(sc, t, F_CRASH, SIM_CONTROLLER, 0, len); break;
    }
    t += rng_range(&s->rng, 500, 3000);
  }
}

/* T13: the coordinator fails (kill -9, then a cut) with commits in flight:
 * committed offsets never go backwards. */
static void sc_t13(struct sim *s, struct schedule *sc) {
  s->nmembers = 2;
  sc->duration = 12000;
  sc->nparts = 3;
  add(sc, 2000 + rng_range(&s->rng, 0, 200), F_CRASH, COORDINATOR, 0, 2000);
  add(sc, 7000 + rng_range(&s->rng, 0, 200), F_ISOLATE, COORDINATOR, 0, rng_range(&s->rng, 500, 3000));
}

/* T14: a member dies mid-generation, another is paused past its session
 * (a zombie that wakes up and commits): one owner per partition, the
 * zombie's stale commits refused. */
static void sc_t14(struct sim *s, struct schedule *sc) {
  s->nmembers = 2;
  sc->duration = 12000;
  sc->nparts = 3;
  int first = member_node(s), other = first == SIM_MEMBER0 ? SIM_MEMBER0 + 1 : SIM_MEMBER0;
  add(sc, 2000, F_PAUSE, first, 0, rng_range(&s->rng, 2500, 5000));
  add(sc, 8000, F_CRASH, other, 0, rng_range(&s->rng, 500, 2500));
}

/* T15: a rolling restart of every broker under a running group: the group
 * rebalances a bounded number of times, no storm. */
static void sc_t15(struct sim *s, struct schedule *sc) {
  s->nmembers = 2;
  sc->duration = 14000;
  sc->nparts = 3;
  for (int b = 1; b <= s->nbrokers; b++) add(sc, 1000 + 4000 * (b - 1), F_CRASH, b, 0, 1500);
  sc->max_rebalances = 8 * (uint64_t)s->nbrokers;
}

/* T9: corrupt metadata on the controller (a flipped bit, or its data.dir
 * wiped) while a leader dies: no broker deletes a topic on that partial
 * evidence (nobody deleted it), and the cluster goes on once the operator
 * restores the metadata. */
static void sc_t9(struct sim *s, struct schedule *sc) {
  (void)s;
  sc->duration = 12000;
  sc->nparts = 2;
  add(sc, 2000, F_CRASH, SIM_CONTROLLER, 0, 0);
  add(sc, 2001, F_CTL_DAMAGE, SIM_CONTROLLER, 0, 0);
  add(sc, 2500, F_RESTART, SIM_CONTROLLER, 0, 0);
  add(sc, 4000, F_CRASH, LEADER, 0, 1500);
  add(sc, 7000, F_CTL_RESTORE, SIM_CONTROLLER, 0, 0);
}

/* T18: retention deletes what a slow reader has not read yet (segments
 * roll every 500 ms and are kept 2 s; the reader stops for 6 s): it must be
 * told OFFSET_OUT_OF_RANGE and never skip silently. */
static void sc_t18(struct sim *s, struct schedule *sc) {
  static const char *const cfg[] = {"segment.ms=500", "retention.ms=2000", NULL};
  sc->duration = 12000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  sc->topic_configs = cfg;
  sc->expect_retention = 1;
  add(sc, 2000, F_PAUSE, SIM_CLIENT0 + s->nproducers, 0, 6000);
  add(sc, 5000, F_CRASH, LEADER, 0, 1500);
}

/* T19: every broker's disk is slow and segments roll every 200 ms, so a
 * roll's background sync (the closed segment, the directory, the active one)
 * is usually running; then every node loses power at once: a closed
 * segment's unsynced tail may be torn while a later segment survives, or the
 * later segment's directory entry may be lost. */
static void sc_t19(struct sim *s, struct schedule *sc) {
  static const char *const cfg[] = {"segment.ms=200", NULL};
  sc->duration = 10000;
  sc->nparts = (uint32_t)rng_range(&s->rng, 1, 2);
  sc->topic_configs = cfg;
  for (int b = 1; b <= s->nbrokers; b++) add(sc, 1000, F_SLOW_DISK, b, 0, 5000);
  int64_t t = rng_range(&s->rng, 2000, 5000);
  for (int b = 0; b <= s->nbrokers; b++) add(sc, t, F_CRASH, b, 0, 1000);
}

static const struct scenario scenarios[] = {
    {"random", "random crashes, pauses, cuts (both ways and one way), slow disks", sc_random},
    {"hosted", "4 brokers, RF 3: logs only where assigned, under random faults", sc_hosted},
    {"T1", "kill -9 the leader during acks=all produce", sc_t1},
    {"T2", "ISR shrinks to the leader alone, then it is isolated", sc_t2},
    {"T3", "pause the leader under idempotent retries", sc_t3},
    {"T5", "two failovers in quick succession", sc_t5},
    {"T6", "the last live replica loses its unflushed tail, then peers return", sc_t6},
    {"T7", "every node loses power at once", sc_t7},
    {"T8", "a flipped bit in one replica's segment", sc_t8},
    {"corrupt", "flipped bits in old segments of random replicas, found by scrub or read, repaired", sc_corrupt},
    {"T11", "a power failure plus pauses", sc_t11},
    {"T12", "a follower restarts with a wiped disk, then the leader dies", sc_t12},
    {"controller", "controller restarts and a cut from every broker", sc_controller},
    {"isr-race", "an ISR expansion's answer lost while the leader is paused", sc_isr_race},
    {"groups", "a consumer group under random coordinator, broker and member faults", sc_groups},
    {"T13", "coordinator failover with commits in flight", sc_t13},
    {"T14", "a member dies, another is paused past its session (a zombie)", sc_t14},
    {"T15", "rolling restart of every broker under a running group", sc_t15},
    {"T9", "the controller's metadata damaged (a flipped bit, or wiped), then restored", sc_t9},
    {"T18", "retention deletes what a paused reader has not read", sc_t18},
    {"T19", "power loss while rolls' syncs run on slow disks", sc_t19},
    {"clock-jump", "wall clocks step by an hour, back and forth: nobody fenced, no ISR shrinks", sc_clock_jump},
    {"T20", "a broker killed inside a metadata file replacement (meta.properties, a topic file)", sc_t20},
    {"ctl-kill", "3/5 controllers: kill -9 the controller leader under load, and a partition leader", sc_ctl_kill},
    {"ctl-zombie", "the controller leader cut from its peers, not from brokers: commits nothing, brokers move on", sc_ctl_zombie},
    {"ctl-oneway", "one-way cuts between controllers (and to brokers)", sc_ctl_oneway},
    {"ctl-pause", "the controller leader paused beyond the fetch timeout", sc_ctl_pause},
    {"ctl-power", "every controller loses power at once (torn log tails)", sc_ctl_power},
    {"ctl-rolling", "rolling restart of every controller", sc_ctl_rolling},
    {"ctl-slow", "slow disk on the controller leader, then its kill", sc_ctl_slow},
    {"ctl-b2b", "back-to-back controller leader failures", sc_ctl_b2b},
    {"ctl-wipe", "a follower controller wiped (an observer), then the leader dies", sc_ctl_wipe},
    {"ctl-replace", "a wiped follower controller replaced by remove-voter + add-voter, then the leader dies", sc_ctl_replace},
    {"ctl-wipe-down", "a wiped voter, a down voter, the third lacks a committed record: no leader", sc_ctl_wipe_down},
    {"ctl-fig8", "Raft's figure 8: old-epoch records on a majority, then the leader dies", sc_ctl_fig8},
    {"ctl-snap", "a follower controller fetches the leader's snapshot; a crash meets the install", sc_ctl_snap},
    {"ctl-random", "random controller and broker faults with a quorum", sc_ctl_random},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* ---- one run ---- */

static void step_to(struct sim *s, int64_t until, struct schedule *sc) {
  while (s->now < until && !s->violations) {
    net_deliver_due(s);
    bury(s, sc);
    for (size_t i = 0; i < sc->n; i++)
      if (sc->v[i].at <= s->now && sc->v[i].at >= 0) {
        struct action a = sc->v[i];
        sc->v[i].at = -1; /* done */
        apply(s, sc, &a);
        bury(s, sc);
      }
    if (s->now % TICK_MS == 0) {
      net_expire_calls(s);
      for (int k = 0; k < SIM_NODES_MAX; k++)
        if (s->nodes[k].up && !s->nodes[k].paused && s->nodes[k].impl) node_tick(s, &s->nodes[k]);
      bury(s, sc);
      stable_check(s, sc->nparts);
      if (s->transcript)
        for (int b = 1; b <= s->nbrokers; b++)
          if (s->nodes[b].up && s->nodes[b].impl) bnode_transcript(s, b);
    }
    int64_t next = (s->now / TICK_MS + 1) * TICK_MS, due = net_next_due(s);
    if (due < next) next = due > s->now ? due : s->now + 1;
    s->now = next;
  }
}

/* After the heal the group must settle and commit everything written
 * (liveness), without more rebalances than the scenario allows. */
static void group_catches_up(struct sim *s, struct schedule *sc, const int64_t *hw) {
  int64_t until = s->now + 20000;
  for (;;) {
    uint32_t k = 0;
    while (k < sc->nparts && s->group_committed[k] >= hw[k]) k++;
    if (k == sc->nparts) break;
    if (s->now >= until || s->violations) {
      if (!s->violations)
        sim_violation(s, "liveness: 20 s after the writes stopped the group has committed %" PRId64
                      " of partition %u, whose log ends at %" PRId64, s->group_committed[k], k, hw[k]);
      return;
    }
    step_to(s, s->now + 100, sc);
  }
  if (sc->max_rebalances && s->st.rebalances > sc->max_rebalances)
    sim_violation(s, "rebalance storm: %" PRIu64 " assignment changes (at most %" PRIu64 " expected)",
                  s->st.rebalances, sc->max_rebalances);
}

struct outcome {
  int violated;
  char why[1024];
  struct checker_result cr;
  struct sim_stats st;
  uint64_t hash;
  uint64_t elections;    /* controller quorum: leaders elected */
  int64_t ctl_committed; /* and metadata records committed */
  uint64_t snapshots;    /* and snapshots taking effect (per node) */
};

static FILE *transcript_file;

static int run(uint64_t seed, const struct scenario *scn, int verbose, FILE *history,
               struct outcome *out) {
  struct sim *s = calloc(1, sizeof *s);
  if (!s) abort();
  rng_seed(&s->rng, seed);
  s->verbose = verbose;
  s->trace_net = getenv("SIM_NET") != NULL;
  s->next_pid = 1000;
  s->history = history;
  s->transcript = transcript_file;
  s->nbrokers = 3;
  s->nproducers = 3;
  s->delay_min = 1;
  s->delay_max = rng_range(&s->rng, 2, 15);
  s->drop_pct = rng_chance(&s->rng, 20) ? 1 : 0;
  s->now = 1;
  s->dying = -1;
  hooked_sim = s;
  for (int k = 0; k < SIM_PARTS_MAX; k++) s->stable_epoch[k] = -1;
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(s->dir, sizeof s->dir, "%s/strata-sim-%d-%" PRIu64, base, (int)getpid(), seed);
  snprintf(current_dir, sizeof current_dir, "%s", s->dir);
  if (mkdir(s->dir, 0755) && errno != EEXIST) {
    fprintf(stderr, "sim: cannot create %s\n", s->dir);
    exit(2);
  }
  for (int k = 0; k < SIM_NODES_MAX; k++) s->nodes[k].id = k;
  struct checker_config cc = {2000 * 1000};
  s->chk = checker_new(&cc);
  history_hash = 1469598103934665603ull;

  struct schedule sc = {0};
  current_schedule = &sc;
  scn->build(s, &sc);
  if (s->nctl < 1) s->nctl = 1;
  qcheck_init(s);
  for (int k = 0; k < s->nctl; k++) cnode_start(s, sim_ctl_node(k));
  for (int b = 1; b <= s->nbrokers; b++) bnode_start(s, b);
  /* The set-up runs no fault. (With one controller it runs the schedule,
   * as it always did: an action before 2 s then happens twice, in the
   * set-up and again once the times are shifted; the golden transcripts and
   * regression seeds were made so. A quorum's first election can take the
   * set-up past 2 s, so quorum runs keep the schedule for after it.) */
  struct schedule none = {0}, *setup = s->nctl > 1 ? &none : &sc;
  step_to(s, 1000, setup); /* brokers register */
  while (cnode_create_topic(s, SIM_TOPIC, sc.nparts, 3, sc.topic_configs) && s->now < 10000) step_to(s, s->now + 100, setup);
  if (s->nmembers) {
    static const char *const offsets_cfg[] = {"segment.bytes=65536", NULL};
    while (cnode_create_topic(s, OFFSETS_TOPIC, SIM_OFFSETS_PARTS, 3, offsets_cfg) && s->now < 10000)
      step_to(s, s->now + 100, setup);
    s->no_reader = 1;
  }
  step_to(s, 2000, setup);
  if (s->nctl > 1) step_to(s, s->now + 1000, setup); /* the topic's records commit, brokers see it */
  /* A quorum leader decides a creation before it commits (the sim reads
   * the answer at once): one that lost its leadership meanwhile (an
   * election in the set-up) reverted the topic. Create it again until the
   * active controller holds it committed (seed 409 of ctl-kill ran with no
   * topic at all: its first leader's records never committed). */
  for (int64_t until = s->now + 10000;
       s->nctl > 1 && !cnode_topic_committed(s, SIM_TOPIC) && s->now < until;) {
    cnode_create_topic(s, SIM_TOPIC, sc.nparts, 3, sc.topic_configs);
    step_to(s, s->now + 500, setup);
  }
  clients_start(s, sc.nparts);
  members_start(s, sc.nparts);
  /* The schedule's times count from here. */
  for (size_t i = 0; i < sc.n; i++) sc.v[i].at += s->now;
  int64_t fault_end = s->now + sc.duration;
  step_to(s, fault_end, &sc);

  /* Heal: every fault ends, every node runs; writes go on for a while. */
  sc.n = 0;
  s->trap_isr_expand = 0;
  for (int k = 0; k < SIM_NODES_MAX; k++) {
    for (int j = 0; j < SIM_NODES_MAX; j++) s->cut[k][j] = 0;
    s->nodes[k].paused = 0;
    s->nodes[k].disk_slow_until = 0;
  }
  s->drop_pct = 0;
  for (int k = 0; k < s->nctl; k++) start_node(s, sim_ctl_node(k));
  qcheck_zombie(s, -1);
  qcheck_no_leader_until(s, 0);
  for (int b = 1; b <= s->nbrokers; b++) start_node(s, b);
  for (int i = 0; i < s->nmembers; i++) start_node(s, SIM_MEMBER0 + i);
  s->stable_from = 0;
  sim_log(s, "healed");
  uint64_t ok_at_heal = s->st.writes_ok;
  step_to(s, s->now + 8000, &sc);
  if (!s->violations && s->st.writes_ok == ok_at_heal)
    sim_violation(s, "liveness: no write acknowledged in the 8 s after the heal");
  clients_stop_writing(s);
  int64_t quiet_end = s->now + 25000;
  while (!s->violations && !clients_idle(s) && s->now < quiet_end) step_to(s, s->now + 100, &sc);
  if (!s->violations && !clients_idle(s)) sim_violation(s, "liveness: writes still pending 25 s after the heal");
  step_to(s, s->now + 3000, &sc); /* followers catch up */

  /* Final logs up to each partition's high watermark at its leader. A
   * leadership move just before (the periodic preferred-leader election)
   * takes a heartbeat to reach the brokers: allow it a few seconds. */
  for (int64_t until = s->now + 5000; s->now < until && !s->violations;) {
    int settled = 1;
    for (uint32_t k = 0; k < sc.nparts; k++) {
      int32_t l = cnode_leader(s, SIM_TOPIC, k);
      settled &= l > 0 && bnode_hw(s, l, k) >= 0;
    }
    if (settled) break;
    step_to(s, s->now + 100, &sc);
  }
  int64_t hw[8];
  for (uint32_t k = 0; k < sc.nparts && !s->violations; k++) {
    int32_t l = cnode_leader(s, SIM_TOPIC, k);
    hw[k] = l > 0 ? bnode_hw(s, l, k) : -1;
    if (hw[k] < 0) sim_violation(s, "liveness: partition %u has no leader after the heal", k);
  }
  if (!s->violations && s->nmembers) group_catches_up(s, &sc, hw);
  if (!s->violations && sc.expect_retention && !s->st.retention_resets)
    sim_violation(s, "scenario void: retention never got ahead of the reader");
  if (!s->violations)
    for (int b = 1; b <= s->nbrokers; b++) bnode_dump(s, b, hw, sc.nparts);
  /* the controllers' followers learn the last high watermark (a fetch
   * parked at the leader's end is answered within 500 ms) */
  for (int64_t until = s->now + 5000; !s->violations && !qcheck_caught_up(s) && s->now < until;)
    step_to(s, s->now + 100, &sc);
  qcheck_final(s);
  /* Every broker's Metadata answers name the active controller (its
   * heartbeats' answers say which; an image's id goes stale after a
   * failover that changed no metadata). */
  for (int64_t until = s->now + 3000; !s->violations && s->nctl > 1;) {
    int act = cnode_active(s), wrong = 0;
    int32_t want = act >= 0 ? sim_ctl_index(s, act) + 1 : -1;
    for (int b = 1; b <= s->nbrokers && act >= 0; b++) {
      int32_t got = bnode_controller_id(s, b);
      if (got != -2 && got != want) wrong = b;
    }
    if (!wrong) break;
    if (s->now >= until) {
      sim_violation(s, "broker %d's Metadata names controller %d; the active one is %d", wrong,
                    bnode_controller_id(s, wrong), want);
      break;
    }
    step_to(s, s->now + 100, &sc);
  }
  members_end(s);

  memset(out, 0, sizeof *out);
  checker_run(s->chk, &out->cr);
  if (!s->violations && checker_violated(&out->cr)) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    checker_print_verdict(s->chk, &out->cr, m, 3);
    fclose(m);
    sim_violation(s, "%s", buf);
    free(buf);
  }
  out->violated = s->violations > 0;
  snprintf(out->why, sizeof out->why, "%s", s->violation);
  out->st = s->st;
  out->hash = history_hash;

  for (int k = 0; k < SIM_NODES_MAX; k++) net_drop_calls(s, k);
  clients_free(s);
  members_free(s);
  for (int b = 1; b <= s->nbrokers; b++) bnode_free(s, b);
  qcheck_stats(s, &out->elections, &out->ctl_committed, &out->snapshots);
  cnode_free(s);
  qcheck_free(s);
  net_free(s);
  checker_free(s->chk);
  if (sim_rm_rf(s->dir)) fprintf(stderr, "sim: cannot remove %s\n", s->dir);
  current_dir[0] = 0;
  free(s);
  return out->violated;
}

/* ---- main ---- */

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void usage(FILE *f) {
  fprintf(f, "usage: sim [--seeds N] [--seed S] [--scenario NAME|PREFIX*|all] [--verbose] [--history FILE]\n"
             "           [--transcript FILE]  (faults, roles, epochs, ISRs and truncations, as text)\n"
             "  Runs N seeds (default 100) from S (default 1) of each chosen scenario;\n"
             "  a failing seed prints the command that replays it. Scenarios:\n");
  for (size_t i = 0; i < NSCENARIOS; i++) fprintf(f, "    %-11s %s\n", scenarios[i].name, scenarios[i].what);
  fprintf(f, "  Debugging a replay: SIM_NET=1 prints every delivery and reset, SIM_DUMP=OFFSET the\n"
             "  final logs around an offset.\n");
}

int main(int argc, char **argv) {
  uint64_t seeds = 100, first = 1;
  replay_argv0 = argv[0];
  strata_assert_set_handler(on_invariant);
  durable_file_set_hook(on_replace, &hooked_sim);
  const char *only = "all", *hist = NULL;
  int verbose = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) first = strtoull(argv[++i], NULL, 10), seeds = 1;
    else if (!strcmp(argv[i], "--from") && i + 1 < argc) first = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--scenario") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--verbose")) verbose = 1;
    else if (!strcmp(argv[i], "--history") && i + 1 < argc) hist = argv[++i];
    else if (!strcmp(argv[i], "--transcript") && i + 1 < argc) {
      if (!(transcript_file = fopen(argv[++i], "w"))) {
        perror(argv[i]);
        return 2;
      }
    }
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  trace_set_level(getenv("SIM_DEBUG") ? TRACE_DEBUG : verbose ? TRACE_INFO : TRACE_ERROR);
  sweep_stale("/dev/shm");
  sweep_stale("/tmp");
  int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], on_signal);
  const struct scenario *chosen[NSCENARIOS];
  size_t nchosen = 0;
  for (size_t i = 0; i < NSCENARIOS; i++)
    if (!strcmp(only, "all") || !strcmp(only, scenarios[i].name) ||
        (only[0] && only[strlen(only) - 1] == '*' && !strncmp(only, scenarios[i].name, strlen(only) - 1)))
      chosen[nchosen++] = &scenarios[i]; /* "ctl-*": every scenario named so */
  if (!nchosen) {
    usage(stderr);
    return 2;
  }
  FILE *hf = hist ? fopen(hist, "w") : NULL;
  /* "all" runs the random schedule on most seeds and each named one in turn. */
  uint64_t runs = 0, failed = 0, writes = 0, failed_writes = 0, reads = 0, lost = 0, dup = 0;
  struct sim_stats groups = {0};
  uint64_t expired = 0, q_elections = 0, q_committed = 0, q_runs = 0, q_snaps = 0;
  int64_t *fo = malloc(sizeof(int64_t) * (seeds * 4 + 16));
  size_t nfo = 0;
  int tty = isatty(2);
  uint64_t replay_hash = 0;
  for (uint64_t k = 0; k < seeds; k++) {
    uint64_t seed = first + k;
    const struct scenario *scn = chosen[nchosen == 1 ? 0 : (seed % 2 ? 0 : 1 + (seed / 2) % (nchosen - 1))];
    struct outcome o;
    replay_seed = seed;
    replay_scenario = scn->name;
    run(seed, scn, verbose, hf, &o);
    runs++;
    writes += o.cr.writes_ok;
    failed_writes += o.cr.writes_failed;
    reads += o.cr.reads;
    lost += o.cr.lost;
    dup += o.cr.duplicated;
    groups.group_reads += o.st.group_reads;
    groups.group_commits += o.st.group_commits;
    groups.stale_commits_refused += o.st.stale_commits_refused;
    groups.rebalances += o.st.rebalances;
    groups.fetch_full += o.st.fetch_full;
    groups.fetch_incremental += o.st.fetch_incremental;
    groups.fetch_session_refused += o.st.fetch_session_refused;
    groups.retention_resets += o.st.retention_resets;
    groups.ctl_refusals += o.st.ctl_refusals;
    expired += o.cr.expired;
    q_elections += o.elections;
    q_committed += (uint64_t)o.ctl_committed;
    q_snaps += o.snapshots;
    q_runs += o.elections > 0;
    for (size_t i = 0; i < o.st.nfailover; i++) fo[nfo++] = o.st.failover_ms[i];
    if (k == 0) replay_hash = o.hash;
    if (o.violated) {
      failed++;
      printf("seed %" PRIu64 " (%s): VIOLATION %s\n  replay: %s --seed %" PRIu64
             " --scenario %s --verbose\n",
             seed, scn->name, o.why, argv[0], seed, scn->name);
    }
    if (tty && (k % 10 == 9 || k + 1 == seeds))
      fprintf(stderr, "\rsim: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " violations", k + 1, seeds,
              failed);
  }
  if (tty) fputc('\n', stderr);
  /* Determinism: the first seed again must give the same history. */
  struct outcome again;
  trace_set_level(TRACE_ERROR);
  if (transcript_file) fclose(transcript_file);
  transcript_file = NULL; /* written once, by the first run */
  run(first, chosen[nchosen == 1 ? 0 : (first % 2 ? 0 : 1 + (first / 2) % (nchosen - 1))], 0, NULL,
      &again);
  if (again.hash != replay_hash) {
    printf("seed %" PRIu64 ": NOT DETERMINISTIC (the replay's history differs)\n", first);
    failed++;
  }
  qsort(fo, nfo, sizeof *fo, cmp64);
  printf("sim: %" PRIu64 " seeds (%s), %" PRIu64 " writes acknowledged, %" PRIu64
         " failed, %" PRIu64 " reads; lost %" PRIu64 ", duplicated %" PRIu64 "; %" PRIu64
         " seed(s) with a violation",
         runs, only, writes, failed_writes, reads, lost, dup, failed);
  if (groups.group_reads)
    printf("; group: %" PRIu64 " reads, %" PRIu64 " commits, %" PRIu64
           " stale commits refused, %" PRIu64 " rebalances",
           groups.group_reads, groups.group_commits, groups.stale_commits_refused, groups.rebalances);
  if (groups.retention_resets || expired)
    printf("; retention: %" PRIu64 " reads told OFFSET_OUT_OF_RANGE, %" PRIu64
           " acknowledged writes deleted", groups.retention_resets, expired);
  if (groups.ctl_refusals)
    printf("; damaged controller metadata: %" PRIu64 " start(s) refused", groups.ctl_refusals);
  if (groups.fetch_full + groups.fetch_incremental)
    printf("; follower fetches: %" PRIu64 " full, %" PRIu64 " incremental, %" PRIu64
           " sessions refused", groups.fetch_full, groups.fetch_incremental,
           groups.fetch_session_refused);
  if (q_runs)
    printf("; controller quorum: %" PRIu64 " runs, %" PRIu64 " elections, %" PRIu64
           " metadata records committed, %" PRIu64 " snapshots", q_runs, q_elections, q_committed,
           q_snaps);
  if (nfo)
    printf("; leader failover (kill -9 to first ack) p50 %" PRId64 " ms, p99 %" PRId64
           " ms, max %" PRId64 " ms over %zu",
           fo[nfo / 2], fo[(nfo * 99) / 100], fo[nfo - 1], nfo);
  printf("\n");
  free(fo);
  if (hf) fclose(hf);
  return failed ? 1 : 0;
}
