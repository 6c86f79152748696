#include "drill/drill.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/trace.h"
#include "drill/checker.h"
#include "drill/cluster.h"
#include "drill/evidence.h"
#include "drill/kmember.h"
#include "drill/kproducer.h"
#include "drill/member.h"
#include "drill/netfault.h"
#include "drill/proc.h"

const struct drill_scenario_info drill_scenarios[DRILL_SCENARIOS] = {
    {"kill-leader", "kill -9 the broker leading partition 0, then start it again",
     "writes to its partitions acknowledged again", "all replicas back in sync"},
    {"pause-leader", "SIGSTOP partition 0's leader past its session timeout, then SIGCONT",
     "writes to its partitions acknowledged again", "all replicas back in sync"},
    {"partition-leader",
     "cut partition 0's leader off from the controller and the other brokers (clients still "
     "reach it), then heal",
     "writes to its partitions acknowledged again", "all replicas back in sync"},
    {"kill-controller",
     "kill -9 the active controller of a quorum of 3 and, right after, partition 0's leader "
     "(--controllers 1: the one controller), then start them again",
     "longest wait for a write acknowledgement", "controller back, brokers registered, in sync"},
    {"rolling-restart", "stop (SIGTERM) and restart every broker in turn, each once in sync",
     "longest stop of writes during the round", "round done, all in sync"},
    {"kill-consumer", "kill -9 the group member reading partition 0, then start it again",
     "its partitions read again by another member", "the restarted member owns partitions"},
    {"kill-coordinator", "kill -9 the broker coordinating the consumer group, then start it again",
     "the group's commits acknowledged again", "all replicas back in sync"},
    {"slow-disk", "every fsync of partition 0's leader waits 300 ms for 4 s, then the disk is fast",
     "slowest write acknowledgement while slow", "from fast again to the backlog acknowledged, in sync"},
};

/* kill-controller on a controller quorum (--controllers 3). */
static const struct drill_scenario_info kill_active_controller = {
    "kill-controller",
    "kill -9 the active controller and, right after, partition 0's leader; then start both again",
    "a new active controller (from the controller's kill -9)",
    "the killed broker's partitions acknowledged again (from its kill -9)"};

#define TOPIC "drill"
#define GROUP "drill-group"
#define PARTS_MAX 64
#define MEMBERS_MAX 8
#define INCARNATIONS_MAX 256
#define RING (1 << 20)
#define PHASE_MS 60000
#define CLUSTER_BASE 20 /* controller on 127.0.0.20, brokers from .21 */
#define SLOW_DISK_MS 300   /* per sync, in the slow-disk scenario */
#define SLOW_HOLD_MS 4000  /* how long the disk stays slow */

static volatile sig_atomic_t interrupted;
void drill_interrupt(void) { interrupted = 1; }

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One process life of a group member: its history file, and when it ended. */
struct incarnation {
  char name[32], path[512];
  FILE *tail;     /* read as it grows */
  long tail_pos;
  int64_t end;    /* kill or stop time; 0 while alive */
};

struct drill {
  const struct drill_opts *o;
  const struct drill_scenario_info *sc;
  struct tcluster c;
  struct netfault nf;
  strata_producer *p;
  struct kproducer *kp; /* instead of p, with --client kafka */
  FILE *writes;
  int64_t *invoke; /* by write id, modulo RING */
  uint64_t next_id, acked, failed;
  int64_t next_send;
  int rf;
  /* the fault being measured */
  int64_t fault_us;
  int run;
  const char *phase;
  uint64_t targets;            /* partitions whose writes (or reads) are awaited */
  int64_t first_ack[PARTS_MAX];  /* of a record sent after fault_us */
  int64_t first_read[PARTS_MAX]; /* after fault_us, by a member other than the victim */
  int64_t first_commit;           /* after fault_us */
  int64_t slow_from, slow_to;     /* slow-disk: writes sent in between were slowed */
  int64_t slowest_us;             /* their longest wait for an acknowledgement */
  uint64_t assignments;          /* partitions assigned to members, so far */
  int64_t max_acked[PARTS_MAX], max_read[PARTS_MAX];
  /* consumer-group members */
  pid_t member_pid[MEMBERS_MAX];
  int member_inc[MEMBERS_MAX]; /* index into inc[] of its current life */
  int member_owns[MEMBERS_MAX][PARTS_MAX];
  struct incarnation inc[INCARNATIONS_MAX];
  int ninc;
  const char *victim_member; /* name of the killed member's last life */
  int64_t victim_back;       /* first assignment of the restarted member */
  int restarted_inc;
};

/* ---- writes ---- */

/* One delivery report, from either client: write id, partition, and its
 * offset, or the error's name (NULL: acknowledged). */
static void delivered(void *arg, uint64_t id, int32_t partition, int64_t offset, const char *err) {
  struct drill *d = arg;
  int64_t now = mono_us(), inv = d->invoke[id % RING];
  uint32_t p = (uint32_t)partition;
  if (err) {
    d->failed++;
    fprintf(d->writes, "W %" PRId64 " %" PRId64 " %u v%" PRIu64 " fail %s\n", inv, now, p, id,
            err);
    return;
  }
  d->acked++;
  fprintf(d->writes, "W %" PRId64 " %" PRId64 " %u v%" PRIu64 " ok %" PRId64 "\n", inv, now, p,
          id, offset);
  if (p < PARTS_MAX) {
    if (offset > d->max_acked[p]) d->max_acked[p] = offset;
    if (d->fault_us && inv >= d->fault_us && !d->first_ack[p]) d->first_ack[p] = now;
  }
  if (d->slow_from && inv >= d->slow_from && (!d->slow_to || inv < d->slow_to) &&
      now - inv > d->slowest_us)
    d->slowest_us = now - inv;
}

static void on_delivery(const strata_delivery *dv, void *arg) {
  delivered(arg, (uint64_t)(uintptr_t)dv->opaque, (int32_t)dv->partition, dv->offset,
            dv->error ? strata_errname(dv->error) : NULL);
}

static int outstanding(struct drill *d) {
  return d->kp ? kproducer_outstanding(d->kp) : (int)strata_producer_outstanding(d->p);
}

/* Keep the write rate for `ms` (0: one round of sends and answers). */
static void pump(struct drill *d, int ms) {
  int64_t end = mono_us() + (int64_t)ms * 1000;
  int64_t step = 1000000 / d->o->rate;
  do {
    int64_t now = mono_us();
    if (now - d->next_send > 100000) d->next_send = now; /* fell behind: no burst */
    while ((d->p || d->kp) && d->next_send <= now && outstanding(d) < 20000) {
      char v[32];
      int n = snprintf(v, sizeof v, "v%" PRIu64, d->next_id);
      int32_t part = (int32_t)(d->next_id % (uint64_t)d->o->partitions);
      d->invoke[d->next_id % RING] = mono_us();
      if (d->kp)
        kproducer_send(d->kp, TOPIC, part, v, (size_t)n, d->next_id);
      else
        strata_produce(d->p, TOPIC, part, NULL, 0, v, (size_t)n, 0, NULL, 0,
                       (void *)(uintptr_t)d->next_id);
      d->next_id++;
      d->next_send += step;
    }
    if (d->kp) kproducer_poll(d->kp, 1);
    else if (d->p) strata_producer_poll(d->p, 1);
    else usleep(1000);
  } while (mono_us() < end && !interrupted);
}

/* ---- members ---- */

/* The child side of a member: nothing of the drill's sockets or files. */
static void member_child(struct drill *d, const struct incarnation *in) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int fd = 3; fd < 1024; fd++) close(fd);
  char log[600];
  snprintf(log, sizeof log, "%s/%s.log", d->c.dir, in->name);
  if (!freopen(log, "a", stderr)) _exit(2);
  trace_set_level(TRACE_ERROR);
  if (d->o->client == DRILL_CLIENT_KAFKA)
    _exit(drill_kmember_main(d->c.kbootstrap, &d->c.sec, TOPIC, GROUP, in->name, in->path));
  _exit(drill_member_main(d->c.bootstrap, &d->c.sec, TOPIC, GROUP, in->name, in->path));
}

static int start_member(struct drill *d, int m) {
  if (d->ninc == INCARNATIONS_MAX) return -1;
  struct incarnation *in = &d->inc[d->ninc];
  memset(in, 0, sizeof *in);
  snprintf(in->name, sizeof in->name, "m%d.%d", m, d->ninc);
  snprintf(in->path, sizeof in->path, "%s/m%d.%d.history", d->c.dir, m, d->ninc);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) member_child(d, in);
  d->member_pid[m] = pid;
  d->member_inc[m] = d->ninc++;
  memset(d->member_owns[m], 0, sizeof d->member_owns[m]);
  return 0;
}

static void end_member(struct drill *d, int m, int sig) {
  if (d->member_pid[m] <= 0) return;
  kill(d->member_pid[m], sig);
  int st;
  if (sig == SIGTERM) {
    for (int i = 0; i < 1000 && waitpid(d->member_pid[m], &st, WNOHANG) == 0; i++) usleep(10000);
    kill(d->member_pid[m], SIGKILL);
  }
  while (waitpid(d->member_pid[m], &st, 0) < 0 && errno == EINTR) {}
  d->inc[d->member_inc[m]].end = mono_us();
  d->member_pid[m] = -1;
}

/* Read what members wrote since last time: ownership, and reads after the
 * fault by anyone but the victim. */
static void scan_members(struct drill *d) {
  for (int m = 0; m < d->o->members; m++) {
    if (d->member_pid[m] <= 0) continue;
    struct incarnation *in = &d->inc[d->member_inc[m]];
    if (!in->tail && !(in->tail = fopen(in->path, "r"))) continue;
    char line[512];
    for (;;) {
      in->tail_pos = ftell(in->tail);
      if (!fgets(line, sizeof line, in->tail)) break;
      if (!strchr(line, '\n')) { /* half written: again next time */
        fseek(in->tail, in->tail_pos, SEEK_SET);
        break;
      }
      char name[64];
      int64_t t, off;
      uint32_t p;
      if (line[0] == 'R' && sscanf(line, "R %" SCNd64 " %63s %u %" SCNd64, &t, name, &p, &off) == 4 &&
          p < PARTS_MAX) {
        if (off > d->max_read[p]) d->max_read[p] = off;
        if (d->fault_us && t >= d->fault_us && !d->first_read[p] &&
            !(d->victim_member && !strcmp(name, d->victim_member)))
          d->first_read[p] = t;
      } else if (line[0] == 'C' && sscanf(line, "C %" SCNd64, &t) == 1) {
        if (d->fault_us && t >= d->fault_us && !d->first_commit) d->first_commit = t;
      } else if (strchr("oxl", line[0]) && sscanf(line + 1, " %" SCNd64 " %63s %u", &t, name, &p) == 3 &&
                 p < PARTS_MAX) {
        d->member_owns[m][p] = line[0] == 'o';
        d->assignments += line[0] == 'o';
        if (line[0] == 'o' && d->member_inc[m] == d->restarted_inc && !d->victim_back)
          d->victim_back = t;
      }
    }
    clearerr(in->tail);
  }
}

/* ---- waiting ---- */

static void progress(struct drill *d, int64_t since) {
  if (!d->o->progress) return;
  fprintf(stderr, "\r\033[K[run %d/%d] %s: %s (%.1f s, %" PRIu64 " writes acknowledged)", d->run,
          d->o->runs, d->sc->name, d->phase, (double)(mono_us() - since) / 1e6, d->acked);
  fflush(stderr);
}

/* Leader and ISR size of every partition from one metadata answer; -1 when
 * the cluster cannot be asked. */
static int partitions_state(struct drill *d, int32_t *leader, size_t *nisr) {
  char err[256];
  strata_client *cl = tcluster_client(&d->c, 2000, err, sizeof err);
  strata_metadata *m = NULL;
  const char *names[1] = {TOPIC};
  int rc = cl ? strata_metadata_get(cl, names, 1, &m) : -1;
  strata_client_free(cl);
  if (!rc && (m->ntopics != 1 || m->topics[0].error ||
              m->topics[0].npartitions < (size_t)d->o->partitions))
    rc = -1;
  for (int p = 0; !rc && p < d->o->partitions; p++) {
    leader[p] = m->topics[0].partitions[p].leader;
    nisr[p] = m->topics[0].partitions[p].nisr;
  }
  strata_metadata_free(m);
  return rc ? -1 : 0;
}

static int all_full_isr(struct drill *d) {
  int32_t leader[PARTS_MAX];
  size_t n[PARTS_MAX];
  if (partitions_state(d, leader, n)) return 0;
  for (int p = 0; p < d->o->partitions; p++)
    if (leader[p] < 0 || (int)n[p] != d->rf) return 0;
  return 1;
}

/* Every broker registered and unfenced, every ISR whole. */
static int cluster_whole(struct drill *d) {
  return tcluster_alive(&d->c) == d->c.n && all_full_isr(d);
}

static int targets_acked(struct drill *d) {
  for (int p = 0; p < d->o->partitions; p++)
    if ((d->targets >> p & 1) && !d->first_ack[p]) return 0;
  return 1;
}

static int targets_read(struct drill *d) {
  for (int p = 0; p < d->o->partitions; p++)
    if ((d->targets >> p & 1) && !d->first_read[p]) return 0;
  return 1;
}

static int all_owned(struct drill *d) {
  for (int p = 0; p < d->o->partitions; p++) {
    int owned = 0;
    for (int m = 0; m < d->o->members; m++) owned |= d->member_pid[m] > 0 && d->member_owns[m][p];
    if (!owned) return 0;
  }
  return 1;
}

static int commits_back(struct drill *d) {
  return d->first_commit != 0;
}

static int victim_back(struct drill *d) {
  return d->victim_back != 0;
}

/* Pump writes until cond holds; its time, or -1 after PHASE_MS (or an
 * interrupt). Conditions asking the cluster run every 100 ms. */
static int64_t wait_for(struct drill *d, int (*cond)(struct drill *), const char *phase) {
  int64_t start = mono_us(), last = 0;
  d->phase = phase;
  while (!interrupted && mono_us() - start < (int64_t)PHASE_MS * 1000) {
    pump(d, 0);
    if (mono_us() - last >= 100000) {
      last = mono_us();
      progress(d, start);
      scan_members(d);
      if (cond(d)) return mono_us();
    }
  }
  return -1;
}

static void hold(struct drill *d, int ms, const char *phase) {
  d->phase = phase;
  progress(d, mono_us());
  pump(d, ms);
}

/* Partitions led by broker b, as a bit set. */
static uint64_t led_by(struct drill *d, int32_t b) {
  int32_t leader[PARTS_MAX];
  size_t n[PARTS_MAX];
  uint64_t set = 0;
  if (partitions_state(d, leader, n)) return 0;
  for (int p = 0; p < d->o->partitions; p++)
    if (leader[p] == b) set |= 1ull << p;
  return set;
}

static void fault_begin(struct drill *d, uint64_t targets) {
  memset(d->first_ack, 0, sizeof d->first_ack);
  memset(d->first_read, 0, sizeof d->first_read);
  d->first_commit = 0;
  d->targets = targets;
  d->fault_us = mono_us();
}

static int count(uint64_t set) { return __builtin_popcountll(set); }

/* Until the quorum names an active controller other than `old` (pumping
 * the workload between asks, every ~20 ms): when it was first seen, or -1
 * after PHASE_MS. */
static int64_t wait_new_active(struct drill *d, int32_t old, int32_t *now_active) {
  d->phase = "waiting for a new active controller";
  int64_t start = mono_us(), last = 0;
  while (mono_us() - start < (int64_t)PHASE_MS * 1000 && !interrupted) {
    pump(d, 0);
    int32_t a = tcluster_active_controller(&d->c, 300);
    if (a >= 0 && a != old) {
      *now_active = a;
      return mono_us();
    }
    if (mono_us() - last >= 100000) {
      last = mono_us();
      progress(d, start);
    }
    pump(d, 20);
  }
  return -1;
}

/* kill-controller on a quorum: kill -9 the active controller, then at once
 * partition 0's leader. Failover: until the quorum has a new active
 * controller; recovery: until every partition the broker led is
 * acknowledging writes again, which needs that new controller to elect
 * their leaders. Then both come back, and the cluster is whole again. */
static int kill_active_controller_once(struct drill *d, int32_t leader, double *failover_ms,
                                       double *recovery_ms, char *what, size_t what_len) {
  int32_t active = tcluster_active_controller(&d->c, 5000), next = -1;
  if (active < 1) return -1;
  fault_begin(d, led_by(d, leader));
  int64_t t0 = d->fault_us;
  tcluster_kill_controller(&d->c, active);
  int64_t tb = mono_us();
  tcluster_kill(&d->c, leader);
  snprintf(what, what_len, "killed controller %d (active), then broker %d (leader of %d partition%s)",
           active, leader, count(d->targets), count(d->targets) == 1 ? "" : "s");
  int64_t t1 = wait_new_active(d, active, &next);
  if (t1 < 0) return -1;
  int64_t t2 = wait_for(d, targets_acked, "waiting for the broker's partitions to be acknowledged");
  if (t2 < 0) return -1;
  int64_t worst = 0;
  for (int p = 0; p < d->o->partitions; p++)
    if (d->targets >> p & 1 && d->first_ack[p] > worst) worst = d->first_ack[p];
  *failover_ms = (double)(t1 - t0) / 1000.0;
  *recovery_ms = (double)(worst - tb) / 1000.0;
  snprintf(what + strlen(what), what_len - strlen(what), "; controller %d took over", next);
  if (tcluster_start_controller_k(&d->c, active) || tcluster_start_broker(&d->c, leader)) return -1;
  return wait_for(d, cluster_whole, "restarted both; waiting for the cluster to be whole") < 0 ? -1 : 0;
}

/* ---- one run of a scenario: 0, or -1 when the cluster did not recover ---- */

static int run_once(struct drill *d, double *failover_ms, double *recovery_ms, char *what,
                    size_t what_len) {
  const int all = (int)((1ull << d->o->partitions) - 1);
  int64_t t0, t1 = -1, t2 = -1;
  int32_t leader = -1;
  int quorum = d->c.nctl > 1;
  if (d->sc != &drill_scenarios[DRILL_KILL_CONSUMER] &&
      (d->sc != &drill_scenarios[DRILL_KILL_CONTROLLER] || quorum) &&
      d->sc != &drill_scenarios[DRILL_ROLLING_RESTART]) {
    size_t n;
    if (tcluster_partition(&d->c, TOPIC, 0, &leader, &n, NULL) || leader < 1) return -1;
  }
  switch ((int)(d->sc - drill_scenarios)) {
  case DRILL_KILL_LEADER:
    fault_begin(d, led_by(d, leader));
    t0 = d->fault_us;
    snprintf(what, what_len, "killed broker %d (leader of %d partition%s)", leader, count(d->targets),
             count(d->targets) == 1 ? "" : "s");
    tcluster_kill(&d->c, leader);
    t1 = wait_for(d, targets_acked, "waiting for writes to be acknowledged");
    if (t1 < 0 || tcluster_start_broker(&d->c, leader)) return -1;
    t2 = wait_for(d, all_full_isr, "restarted; waiting for all replicas in sync");
    break;
  case DRILL_PAUSE_LEADER:
    fault_begin(d, led_by(d, leader));
    t0 = d->fault_us;
    snprintf(what, what_len, "paused broker %d (leader of %d partition%s)", leader, count(d->targets),
             count(d->targets) == 1 ? "" : "s");
    tcluster_signal(&d->c, leader, SIGSTOP);
    t1 = wait_for(d, targets_acked, "paused; waiting for writes to be acknowledged");
    if (t1 < 0) {
      tcluster_signal(&d->c, leader, SIGCONT);
      return -1;
    }
    hold(d, 500, "still paused");
    tcluster_signal(&d->c, leader, SIGCONT);
    t2 = wait_for(d, all_full_isr, "resumed; waiting for all replicas in sync");
    break;
  case DRILL_PARTITION_LEADER: {
    char victim[32], other[32];
    tcluster_host(&d->c, leader, victim, sizeof victim);
    fault_begin(d, led_by(d, leader));
    t0 = d->fault_us;
    snprintf(what, what_len, "cut broker %d (leader of %d partition%s) off", leader,
             count(d->targets), count(d->targets) == 1 ? "" : "s");
    for (int i = 0; i <= d->c.n; i++) {
      if (i == leader) continue;
      tcluster_host(&d->c, i, other, sizeof other);
      if (netfault_cut(&d->nf, victim, other, 0)) return -1;
    }
    t1 = wait_for(d, targets_acked, "cut off; waiting for writes to be acknowledged");
    if (t1 >= 0) hold(d, 2000, "still cut off");
    netfault_heal(&d->nf);
    if (t1 < 0) return -1;
    t2 = wait_for(d, all_full_isr, "healed; waiting for all replicas in sync");
    break;
  }
  case DRILL_KILL_CONTROLLER:
    if (quorum) return kill_active_controller_once(d, leader, failover_ms, recovery_ms, what, what_len);
    fault_begin(d, (uint64_t)all);
    t0 = d->fault_us;
    snprintf(what, what_len, "killed the controller");
    tcluster_kill(&d->c, 0);
    t1 = wait_for(d, targets_acked, "controller down; waiting for writes to be acknowledged");
    if (t1 < 0) return -1;
    hold(d, 1000, "controller down");
    if (tcluster_start_controller(&d->c)) return -1;
    t2 = wait_for(d, cluster_whole, "restarted; waiting for the brokers to register");
    break;
  case DRILL_ROLLING_RESTART: {
    t0 = mono_us();
    int64_t worst = 0;
    snprintf(what, what_len, "restarted brokers 1-%d in turn", d->c.n);
    for (int b = 1; b <= d->c.n; b++) {
      fault_begin(d, led_by(d, b));
      tcluster_stop(&d->c, b);
      if (wait_for(d, targets_acked, "broker stopped; waiting for writes to be acknowledged") < 0)
        return -1;
      int64_t stall = 0;
      for (int p = 0; p < d->o->partitions; p++)
        if (d->targets >> p & 1 && d->first_ack[p] - d->fault_us > stall)
          stall = d->first_ack[p] - d->fault_us;
      if (stall > worst) worst = stall;
      if (tcluster_start_broker(&d->c, b) ||
          wait_for(d, all_full_isr, "restarted; waiting for all replicas in sync") < 0)
        return -1;
    }
    *failover_ms = (double)worst / 1000.0;
    *recovery_ms = (double)(mono_us() - t0) / 1000.0;
    return 0;
  }
  case DRILL_KILL_CONSUMER: {
    scan_members(d);
    int victim = 0;
    for (int m = 0; m < d->o->members; m++)
      if (d->member_pid[m] > 0 && d->member_owns[m][0]) victim = m;
    uint64_t owned = 0;
    for (int p = 0; p < d->o->partitions; p++)
      if (d->member_owns[victim][p]) owned |= 1ull << p;
    d->victim_member = d->inc[d->member_inc[victim]].name;
    fault_begin(d, owned);
    t0 = d->fault_us;
    snprintf(what, what_len, "killed member %s (owner of %d partition%s)", d->victim_member,
             count(owned), count(owned) == 1 ? "" : "s");
    end_member(d, victim, SIGKILL);
    t1 = wait_for(d, targets_read, "waiting for another member to read its partitions");
    if (t1 < 0 || start_member(d, victim)) return -1;
    d->victim_back = 0;
    d->restarted_inc = d->member_inc[victim];
    t2 = wait_for(d, victim_back, "restarted; waiting for it to own partitions");
    d->victim_member = NULL;
    break;
  }
  case DRILL_KILL_COORDINATOR: {
    char err[256];
    strata_client *cl = tcluster_client(&d->c, 5000, err, sizeof err);
    strata_group_info *g = NULL;
    int32_t coord = cl && !strata_group_describe(cl, GROUP, &g) ? g->coordinator : -1;
    strata_group_info_free(g);
    strata_client_free(cl);
    if (coord < 1 || coord > d->c.n) return -1;
    fault_begin(d, 0);
    t0 = d->fault_us;
    snprintf(what, what_len, "killed broker %d (the group's coordinator)", coord);
    tcluster_kill(&d->c, coord);
    t1 = wait_for(d, commits_back, "waiting for the group's commits to be acknowledged");
    if (t1 < 0 || tcluster_start_broker(&d->c, coord)) return -1;
    t2 = wait_for(d, all_full_isr, "restarted; waiting for all replicas in sync");
    if (t2 >= 0) t1 = d->first_commit;
    break;
  }
  case DRILL_SLOW_DISK: {
    /* No failover is expected: the leader keeps its partitions and its
     * acks=all writes wait on its fsyncs (log.flush.policy=always). What is
     * measured is how slow they get, and how long the backlog takes to
     * drain once the disk is fast again. */
    d->slowest_us = 0;
    d->slow_to = 0;
    int led = count(led_by(d, leader));
    d->slow_from = mono_us();
    snprintf(what, what_len, "slowed broker %d's disk (leader of %d partition%s) to %d ms per sync",
             leader, led, led == 1 ? "" : "s", SLOW_DISK_MS);
    if (tcluster_slow_disk(&d->c, leader, SLOW_DISK_MS)) return -1;
    hold(d, SLOW_HOLD_MS, "disk slow");
    if (tcluster_slow_disk(&d->c, leader, 0)) return -1;
    fault_begin(d, (1ull << d->o->partitions) - 1);
    d->slow_to = d->fault_us;
    if (wait_for(d, targets_acked, "disk fast again; waiting for the backlog") < 0) return -1;
    t2 = wait_for(d, all_full_isr, "disk fast again; waiting for all replicas in sync");
    if (t2 < 0) return -1;
    *failover_ms = (double)d->slowest_us / 1000.0;
    *recovery_ms = (double)(t2 - d->slow_to) / 1000.0;
    d->slow_from = d->slow_to = 0;
    return 0;
  }
  default:
    return -1;
  }
  if (t1 < 0 || t2 < 0) return -1;
  /* the time to the last awaited partition's first acknowledgement (or read) */
  int64_t worst = t1;
  if (d->targets) {
    worst = 0;
    const int64_t *first = d->sc == &drill_scenarios[DRILL_KILL_CONSUMER] ? d->first_read : d->first_ack;
    for (int p = 0; p < d->o->partitions; p++)
      if (d->targets >> p & 1 && first[p] > worst) worst = first[p];
  }
  *failover_ms = (double)(worst - t0) / 1000.0;
  *recovery_ms = (double)(t2 - t0) / 1000.0;
  return 0;
}

/* ---- set-up, report, tear-down ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void print_times(FILE *out, const char *label, const char *meaning, double *v, int n) {
  if (!n) return;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  fprintf(out, "  %-9s p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms   (%s)\n", label, v[n / 2],
          v[(n * 99) / 100], v[n - 1], meaning);
}

/* The cluster's folder, network faults and nodes, up and registered. 0,
 * -1, or 1 when a port it chose was taken by another process before it
 * could listen (then everything is undone, to try again on new ports). */
static int start_nodes(struct drill *d) {
  if (tcluster_init_at(&d->c, d->o->brokers, "strata-drill", CLUSTER_BASE)) {
    fprintf(stderr, "strata drill: cannot make a temp folder under /tmp\n");
    return -1;
  }
  if ((d->sc == &drill_scenarios[DRILL_PARTITION_LEADER] || d->o->net != NETFAULT_AUTO) &&
      netfault_open(&d->nf, d->o->net, &d->c)) {
    int taken = strstr(d->nf.why, "Address already in use") != NULL;
    if (!taken) fprintf(stderr, "strata drill: %s: %s\n", d->sc->name, d->nf.why);
    return taken ? 1 : -1;
  }
  d->c.broker_sets[0] = "replica.lag.time.max.ms=2000";
  if (tcluster_set_controllers(&d->c, d->o->controllers)) {
    fprintf(stderr, "strata drill: --controllers: 1 or 3 to %d\n", TCLUSTER_CONTROLLERS_MAX);
    return -1;
  }
  d->c.slow_disk = d->sc == &drill_scenarios[DRILL_SLOW_DISK];
  d->c.tls = d->o->tls;
  if (tcluster_start_all(&d->c)) {
    if (d->c.addr_in_use) return 1;
    fprintf(stderr, "strata drill: the cluster did not start (logs in %s)\n", d->c.dir);
    return -1;
  }
  return 0;
}

static int start_cluster(struct drill *d) {
  for (int attempt = 1;; attempt++) {
    int rc = start_nodes(d);
    if (rc < 0) return -1;
    if (!rc) break;
    if (attempt == PROC_PORT_TRIES) {
      fprintf(stderr, "strata drill: the ports it chose were taken %d times (logs in %s)\n",
              attempt, d->c.dir);
      return -1;
    }
    fprintf(stderr, "strata drill: a port was taken before the cluster listened; again on new "
                    "ports\n");
    netfault_close(&d->nf);
    tcluster_destroy(&d->c, 0);
  }
  char err[256];
  strata_client *admin = tcluster_client(&d->c, 5000, err, sizeof err);
  d->rf = d->o->brokers < 3 ? d->o->brokers : 3;
  char isr[8];
  snprintf(isr, sizeof isr, "%d", d->rf > 2 ? 2 : 1);
  const char *k[1] = {"min.insync.replicas"}, *v[1] = {isr};
  int rc = admin ? strata_topic_create(admin, TOPIC, (uint32_t)d->o->partitions, (uint32_t)d->rf,
                                       k, v, 1, err, sizeof err)
                 : -1;
  strata_client_free(admin);
  if (rc) {
    fprintf(stderr, "strata drill: cannot create the topic: %s\n", err);
    return -1;
  }
  return 0;
}

static int start_load(struct drill *d) {
  char path[600], err[256];
  snprintf(path, sizeof path, "%s/writes.history", d->c.dir);
  d->writes = fopen(path, "w");
  d->invoke = calloc(RING, sizeof *d->invoke);
  if (!d->writes || !d->invoke) return -1;
  for (int m = 0; m < d->o->members; m++)
    if (start_member(d, m)) return -1;
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg); /* acks=all, idempotent */
  cfg.linger_ms = 1;
  cfg.request_timeout_ms = 5000;
  cfg.retries = 1000;
  cfg.retry_backoff_ms = 20;
  cfg.delivery_timeout_ms = 120000;
  if (d->o->client == DRILL_CLIENT_KAFKA) {
    snprintf(path, sizeof path, "%s/producer.log", d->c.dir);
    d->kp = kproducer_new(d->c.kbootstrap, &d->c.sec, path, delivered, d, err, sizeof err);
  } else {
    d->p = strata_producer_new_secure(d->c.bootstrap, &cfg, &d->c.sec, on_delivery, d, err,
                                      sizeof err);
  }
  if (!d->p && !d->kp) {
    fprintf(stderr, "strata drill: %s\n", err);
    return -1;
  }
  d->next_send = mono_us();
  return 0;
}

/* Drain the load, stop everything, and hand the history to the checker.
 * 1 when it found a violation. */
static int check(struct drill *d, int64_t max_gap_ms, struct checker_result *r) {
  if (d->p) strata_producer_flush(d->p, 60000);
  if (d->kp) kproducer_flush(d->kp, 60000);
  strata_producer_free(d->p);
  kproducer_free(d->kp);
  d->p = NULL;
  d->kp = NULL;
  fflush(d->writes);
  /* let the members read up to the end before they stop */
  int64_t until = mono_us() + 15000000;
  for (int done = 0; !done && mono_us() < until && !interrupted; usleep(100000)) {
    scan_members(d);
    done = 1;
    for (int p = 0; p < d->o->partitions; p++) done &= d->max_read[p] >= d->max_acked[p];
  }
  for (int m = 0; m < d->o->members; m++) end_member(d, m, SIGTERM);
  for (int b = 1; b <= d->c.n; b++) tcluster_stop(&d->c, b);
  tcluster_stop(&d->c, 0);
  char path[600];
  snprintf(path, sizeof path, "%s/history", d->c.dir);
  FILE *h = fopen(path, "w+");
  if (!h) return 1;
  char buf[65536];
  size_t n;
  fclose(d->writes);
  snprintf(buf, sizeof buf, "%s/writes.history", d->c.dir);
  FILE *w = fopen(buf, "r");
  while (w && (n = fread(buf, 1, sizeof buf, w)) > 0) fwrite(buf, 1, n, h);
  if (w) fclose(w);
  d->writes = NULL;
  int64_t lost_gen = 0;
  for (int i = 0; i < d->ninc; i++) {
    FILE *f = fopen(d->inc[i].path, "r");
    if (!f) continue;
    drill_member_history(f, h, d->inc[i].end ? d->inc[i].end : mono_us(), &lost_gen);
    fclose(f);
  }
  for (int b = 1; b <= d->c.n; b++) {
    char replica[16], logdir[600];
    snprintf(replica, sizeof replica, "b%d", b);
    snprintf(logdir, sizeof logdir, "%s/b%d", d->c.dir, b);
    drill_dump_replica(h, replica, logdir, TOPIC);
  }
  struct checker_config cfg = {max_gap_ms * 1000};
  struct checker *ck = checker_new(&cfg);
  rewind(h);
  checker_add_file(ck, h);
  fclose(h);
  checker_run(ck, r);
  checker_print_verdict(ck, r, d->o->out, 3);
  snprintf(path, sizeof path, "%s/report.json", d->c.dir);
  for (int i = 0; i < 2; i++) {
    const char *to = i ? d->o->json : path;
    FILE *j = to ? fopen(to, "w") : NULL;
    if (j) {
      checker_print_json(ck, r, j);
      fclose(j);
    } else if (to) {
      fprintf(stderr, "strata drill: cannot write %s\n", to);
    }
  }
  checker_free(ck);
  return checker_violated(r);
}

void drill_opts_defaults(struct drill_opts *o) {
  memset(o, 0, sizeof *o);
  o->runs = 5;
  o->brokers = 3;
  o->partitions = 3;
  o->members = 2;
  o->rate = 1000;
  o->controllers = 0; /* the scenario's: drill_controllers */
  o->max_resume_ms = 3000; /* issue 14's bound for kill-controller on a quorum */
  o->out = stdout;
}

int drill_scenario_find(const char *name) {
  for (int i = 0; i < DRILL_SCENARIOS; i++)
    if (!strcmp(drill_scenarios[i].name, name)) return i;
  return -1;
}

/* What drove the workload, for the report. */
static const char *client_name(const struct drill_opts *o) {
  static char buf[160];
  if (o->client != DRILL_CLIENT_KAFKA)
    return "native (libstrata's idempotent producer and group consumer)";
  snprintf(buf, sizeof buf, "kafka (librdkafka %s over the brokers' Kafka listeners: idempotent "
           "producer, group consumers)", rd_kafka_version_str());
  return buf;
}

/* How many controllers a drill runs when not told: kill-controller needs a
 * quorum of 3 to show a controller's loss survived (with 1 it can only
 * show brokers riding out its absence); every other scenario hits brokers,
 * and 1 starts faster. */
int drill_controllers(int scenario) { return scenario == DRILL_KILL_CONTROLLER ? 3 : 1; }

int drill_run(const struct drill_opts *given) {
  struct drill_opts resolved = *given;
  const struct drill_opts *o = &resolved;
  if (!given->controllers) resolved.controllers = drill_controllers(given->scenario);
  if (o->scenario < 0 || o->scenario >= DRILL_SCENARIOS || o->runs < 1 || o->brokers < 3 ||
      o->brokers > TCLUSTER_BROKERS_MAX || o->partitions < 1 || o->partitions > PARTS_MAX ||
      o->members < 1 || o->members > MEMBERS_MAX || o->rate < 1 || o->rate > 1000000) {
    fprintf(stderr, "strata drill: options out of range\n");
    return 2;
  }
  struct drill *d = calloc(1, sizeof *d);
  if (!d) return 2;
  d->o = o;
  d->sc = &drill_scenarios[o->scenario];
  const struct drill_scenario_info *info = d->sc; /* what the report says was measured */
  if (o->scenario == DRILL_KILL_CONTROLLER && o->controllers > 1) info = &kill_active_controller;
  for (int p = 0; p < PARTS_MAX; p++) d->max_acked[p] = d->max_read[p] = -1;
  for (int m = 0; m < MEMBERS_MAX; m++) d->member_pid[m] = -1;
  d->restarted_inc = -1;
  trace_set_level(TRACE_ERROR);
  FILE *out = o->out;
  double *fo = calloc((size_t)o->runs, sizeof *fo), *rec = calloc((size_t)o->runs, sizeof *rec);
  int rc = 2, done = 0, stuck = 0, over_bound = 0;
  if (!fo || !rec || start_cluster(d) || start_load(d)) goto out;
  char ctls[32] = "controller";
  if (o->controllers > 1) snprintf(ctls, sizeof ctls, "%d controllers", o->controllers);
  fprintf(out, "drill %s: %d run(s) on %d brokers + %s, topic %s (%d partitions, RF %d), "
          "%d acks=all writes/s, group of %d\n  client: %s\n  folder %s\n",
          d->sc->name, o->runs, o->brokers, ctls, TOPIC, o->partitions, d->rf, o->rate, o->members,
          client_name(o), d->c.dir);
  if (d->nf.what[0]) fprintf(out, "  %s\n", d->nf.what);
  if (o->tls)
    fprintf(out, "  security: TLS on every link (SSL:// listeners, mutual TLS between nodes; "
            "CA and certificates in %s)\n", d->c.tls_dir);
  fflush(out);
  d->run = 1;
  if (wait_for(d, all_full_isr, "waiting for the topic's replicas") < 0 ||
      wait_for(d, all_owned, "waiting for the group to own every partition") < 0) {
    fprintf(stderr, "\nstrata drill: the cluster did not settle in %d s\n", PHASE_MS / 1000);
    stuck = 1;
  }
  hold(d, 1000, "warming up");
  for (int r = 1; r <= o->runs && !interrupted && !stuck; r++) {
    d->run = r;
    if (wait_for(d, all_full_isr, "waiting for all replicas in sync") < 0 ||
        ((d->sc == &drill_scenarios[DRILL_KILL_CONSUMER] ||
          d->sc == &drill_scenarios[DRILL_KILL_COORDINATOR]) &&
         wait_for(d, all_owned, "waiting for the group to own every partition") < 0)) {
      stuck = 1;
      break;
    }
    char what[128] = "";
    uint64_t assigned = d->assignments;
    if (run_once(d, &fo[done], &rec[done], what, sizeof what)) {
      if (o->progress) fprintf(stderr, "\r\033[K");
      fprintf(out, "  run %d/%d: %s: no recovery within %d s (%s)\n", r, o->runs, what,
              PHASE_MS / 1000, d->phase ? d->phase : "");
      stuck = 1;
      break;
    }
    d->fault_us = 0;
    if (o->progress) fprintf(stderr, "\r\033[K");
    fprintf(out, "  run %d/%d: %s: failover %.1f ms, recovery %.1f ms, %" PRIu64
            " partition(s) reassigned in the group\n", r, o->runs, what, fo[done], rec[done],
            d->assignments - assigned);
    if (info == &kill_active_controller && o->max_resume_ms > 0 && rec[done] > o->max_resume_ms) {
      fprintf(out, "  run %d/%d: FAILED: writes resumed %.1f ms after the leader's kill, over the "
              "%d ms bound (--max-resume-ms)\n", r, o->runs, rec[done], o->max_resume_ms);
      over_bound++;
    }
    fflush(out);
    done++;
    hold(d, 1000, "steady");
  }
  if (interrupted) fprintf(out, "interrupted after %d run(s)\n", done);
  fprintf(out, "%s, %d run(s):\n", d->sc->name, done);
  print_times(out, "failover", info->failover, fo, done);
  print_times(out, "recovery", info->recovery, rec, done);
  if (o->progress) fprintf(stderr, "\r\033[Kchecking the history...");
  struct checker_result res;
  int violated = check(d, 5000, &res);
  if (o->progress) fprintf(stderr, "\r\033[K");
  if (over_bound)
    fprintf(out, "FAILED: %d run(s) over the %d ms bound on writes resuming after the leader's "
            "kill\n", over_bound, o->max_resume_ms);
  rc = violated || stuck || interrupted || over_bound ? 1 : 0;
out:
  if (d->p) strata_producer_free(d->p);
  kproducer_free(d->kp);
  for (int m = 0; m < MEMBERS_MAX; m++)
    if (d->member_pid[m] > 0) end_member(d, m, SIGKILL);
  for (int i = 0; i < d->ninc; i++)
    if (d->inc[i].tail) fclose(d->inc[i].tail);
  if (d->writes) fclose(d->writes);
  netfault_close(&d->nf);
  /* a failed drill keeps its evidence */
  tcluster_destroy(&d->c, o->keep || rc == 1);
  free(d->invoke);
  free(fo);
  free(rec);
  free(d);
  return rc;
}
