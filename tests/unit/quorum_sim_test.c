/* controller/quorum.c under a randomized model checker: 3 and 5 cores over
 * a simulated network (drops, delays that reorder, partitions, one-way
 * cuts), simulated disks (asynchronous fsync; a crash keeps what was synced
 * plus a torn part of the rest, or loses a truncation that was not synced),
 * pauses, crashes, restarts, snapshots and (in some runs) wiped disks that
 * come back with a new directory id, and (in some runs) an operator who
 * changes the voters (KIP-853): replaces a wiped voter by remove + add, and
 * removes and adds back healthy voters, the leader too. The test is the glue: it carries out
 * every update as controller glue must (persist the state before sending,
 * then truncate, append, send). After every event it checks Raft's
 * safety properties:
 *   - election safety: at most one leader per epoch, one vote per (node,
 *     epoch), across restarts;
 *   - log matching: one (offset, epoch) names one record and one prefix
 *     (a hash chain over the records);
 *   - leader completeness: a new leader holds everything committed;
 *   - state-machine safety: the committed prefix never changes, whichever
 *     node reports it, and each node's high watermark never moves back;
 *   - durability: what is committed is on a majority of voters' disks
 *     (runs without wipes);
 * and at the end, after healing everything, liveness: one leader, and every
 * live node's high watermark at its log end.
 * A fixed set of seeds runs in make test; QUORUM_SIM_SEEDS=N runs N per
 * case, QUORUM_SIM_SEED=S only seed S (QUORUM_SIM_VERBOSE=1: a trace). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/errors.h"
#include "controller/quorum.h"

#define NODES_MAX 5
#define LOG_MAX 4096
#define MSGS_MAX 8192
#define EPOCHS_TRACKED (1 << 14)
#define MATCH_WAYS 16
#define SNAP_SIZE 300
#define SNAP_CHUNK 100
#define NEVER INT64_MAX
#define VSETS_TRACKED 4096

struct entry {
  int32_t epoch;
  int32_t vidx; /* a VotersRecord: its set is S.vsets[vidx]; 0: another record */
  uint64_t value;
  uint64_t hash; /* over every record up to this one */
};

/* What a fetch answer carries besides the core's message: the records. */
struct payload {
  uint32_t n;
  struct entry e[64];
  struct quorum_snapshot_id snap; /* FETCH_SNAPSHOT_RESP: the snapshot ... */
  uint64_t snap_hash;             /* ... and its contents (a hash) */
  int32_t snap_vidx;              /* ... and its voter set (0: none) */
};

struct simmsg {
  int64_t at;
  uint64_t seq;
  int from, to;
  struct quorum_msg m;
  struct payload p;
};

struct node {
  int id;
  int up;
  int64_t paused_until;
  uint32_t wipes;
  int slow_disk; /* fsyncs take 100-700 ms */
  int64_t bounce_at; /* crash and restart then (NEVER: not) */
  struct quorum_config cfg;
  struct quorum q;
  int64_t deadline;
  int64_t hw_seen;
  /* The disk. The quorum-state file is written synchronously (atomic). */
  struct quorum_persisted state;
  struct quorum_snapshot_id snap;
  uint64_t snap_hash;
  int32_t snap_vidx; /* the snapshot's voter set (0: none) */
  struct entry *log; /* what the OS shows: [start, end) */
  int64_t start, end;
  struct entry *dlog; /* what an fsync made durable: [dstart, dend) */
  int64_t dstart, dend;
  int64_t dirty_from; /* lowest offset changed since the last fsync began */
  int fsync_busy;
  int64_t fsync_at;
  struct entry *pend;
  int64_t pend_from, pend_start, pend_end;
  /* A snapshot being fetched. */
  struct quorum_snapshot_id inst;
  uint64_t inst_hash;
  int32_t inst_vidx;
};

struct sim {
  uint64_t seed, rng;
  int n;
  int wipes_allowed;
  int changes; /* the operator changes voters */
  struct quorum_voter_set vsets[VSETS_TRACKED]; /* every VotersRecord's set, by vidx */
  int32_t nvsets;
  uint32_t voter_changes;
  int verbose;
  int64_t now;
  struct node nodes[NODES_MAX];
  struct simmsg *msgs;
  uint32_t nmsgs;
  uint64_t seq;
  int cut[NODES_MAX][NODES_MAX]; /* a -> b dropped */
  int drop_pct;
  int calm; /* after healing: no slow messages */
  uint64_t next_value;
  /* the checker */
  int32_t leader_of[EPOCHS_TRACKED];
  int8_t vote_of[NODES_MAX][EPOCHS_TRACKED];
  struct {
    int32_t epoch;
    uint64_t hash;
  } seen[LOG_MAX][MATCH_WAYS];
  uint64_t committed[LOG_MAX];
  int32_t commit_epoch[LOG_MAX]; /* the epoch in which it was first reported committed */
  int64_t committed_len;
  char violation[512];
  uint64_t events;
  int cur; /* the node stepping */
  uint32_t elections, crashes, snapshots_installed;
};

static struct sim S;

/* ---- randomness ---------------------------------------------------------------- */

static uint64_t rnd(void) {
  uint64_t z = (S.rng += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}
static int64_t range(int64_t lo, int64_t hi) { return hi <= lo ? lo : lo + (int64_t)(rnd() % (uint64_t)(hi - lo)); }
static int chance(int pct) { return (int)(rnd() % 100) < pct; }

static uint64_t mix(uint64_t h, int32_t epoch, uint64_t value) {
  h ^= (uint64_t)(uint32_t)epoch * UINT64_C(0x9e3779b97f4a7c15) + value + (h << 6) + (h >> 2);
  h *= UINT64_C(0xff51afd7ed558ccd);
  return h ^ (h >> 33);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  if (S.violation[0]) return;
  va_list ap;
  va_start(ap, fmt);
  int k = snprintf(S.violation, sizeof S.violation, "seed %" PRIu64 " (n=%d wipes=%d changes=%d) t=%" PRId64 "ms: ",
                   S.seed, S.n, S.wipes_allowed, S.changes, S.now);
  vsnprintf(S.violation + k, sizeof S.violation - (size_t)k, fmt, ap);
  va_end(ap);
}

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...) {
  if (!S.verbose) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%6" PRId64 " ", S.now);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- the checker ------------------------------------------------------------- */

/* The hash of node's record at offset (the snapshot's at start - 1); 0: none. */
static uint64_t hash_at(const struct node *nd, int64_t o) {
  if (o < 0) return 0;
  if (o >= nd->start && o < nd->end) return nd->log[o].hash;
  if (nd->snap.end_offset > 0 && o == nd->snap.end_offset - 1) return nd->snap_hash;
  return 0;
}

/* Log matching: one (offset, epoch) is one record with one prefix. */
static void check_record(const struct node *nd, int64_t o) {
  const struct entry *e = &nd->log[o];
  for (int i = 0; i < MATCH_WAYS; i++) {
    if (S.seen[o][i].epoch == 0) {
      S.seen[o][i].epoch = e->epoch;
      S.seen[o][i].hash = e->hash;
      return;
    }
    if (S.seen[o][i].epoch == e->epoch) {
      if (S.seen[o][i].hash != e->hash)
        fail("log matching: node %d holds another record at offset %" PRId64 " epoch %d", nd->id, o,
             e->epoch);
      return;
    }
  }
}

/* State-machine safety: the prefix a node calls committed is the one every
 * other node called committed. */
static void check_committed(const struct node *nd, int64_t hw) {
  if (hw <= 0) return;
  int64_t c = S.committed_len < hw ? S.committed_len : hw;
  if (c > 0 && hash_at(nd, c - 1) != S.committed[c - 1]) {
    fail("state-machine safety: node %d commits another record at offset %" PRId64, nd->id, c - 1);
    return;
  }
  for (int64_t o = S.committed_len; o < hw; o++) {
    uint64_t h = hash_at(nd, o);
    if (!h) {
      fail("node %d: committed offset %" PRId64 " not in its log [%" PRId64 ", %" PRId64 ")", nd->id, o,
           nd->start, nd->end);
      return;
    }
    S.committed[o] = h;
    S.commit_epoch[o] = nd->q.epoch;
  }
  if (hw > S.committed_len) S.committed_len = hw;
}

/* Durability: every committed record is on a majority of voters' disks
 * (synced records, or a snapshot covering them). */
static void check_durable(void) {
  if (S.wipes_allowed || S.committed_len == 0) return;
  int64_t c = S.committed_len;
  int have = 0;
  for (int i = 0; i < S.n; i++) {
    const struct node *nd = &S.nodes[i];
    if (nd->snap.end_offset >= c) have++;
    else if (c - 1 >= nd->dstart && c - 1 < nd->dend && nd->dlog[c - 1].hash == S.committed[c - 1]) have++;
    else if (nd->snap.end_offset == c && nd->snap_hash == S.committed[c - 1]) have++;
  }
  if (have < S.n / 2 + 1)
    fail("durability: committed offset %" PRId64 " is on %d disks of %d", c - 1, have, S.n);
}

/* ---- the disk ------------------------------------------------------------------ */

static void disk_append(struct node *nd, const struct entry *e) {
  cr_assert_lt(nd->end, LOG_MAX, "seed %" PRIu64 ": log full", S.seed);
  uint64_t prev = nd->end > nd->start ? nd->log[nd->end - 1].hash
                                      : (nd->snap.end_offset == nd->end ? nd->snap_hash : 0);
  nd->log[nd->end] = *e;
  nd->log[nd->end].hash = mix(prev, e->epoch, e->value);
  /* Of two VotersRecords in one log the earlier is committed (the core
   * folds on that): a change only after a commit in the leader's epoch,
   * one at a time. */
  if (e->vidx)
    for (int64_t o = nd->end - 1; o >= nd->start; o--)
      if (nd->log[o].vidx) {
        if (o >= S.committed_len)
          fail("node %d holds VotersRecords at %" PRId64 " and %" PRId64 ", the first not committed",
               nd->id, o, nd->end);
        break;
      }
  if (nd->dirty_from > nd->end) nd->dirty_from = nd->end;
  check_record(nd, nd->end);
  nd->end++;
}

static void disk_truncate(struct node *nd, int64_t to) {
  if (to < nd->start || to > nd->end) {
    fail("node %d: truncate to %" PRId64 " outside [%" PRId64 ", %" PRId64 "]", nd->id, to, nd->start, nd->end);
    return;
  }
  nd->end = to;
  if (nd->dirty_from > to) nd->dirty_from = to;
}

static void fsync_start(struct node *nd) {
  if (nd->fsync_busy || nd->dirty_from == NEVER) return;
  nd->pend_from = nd->dirty_from < nd->start ? nd->start : nd->dirty_from;
  nd->pend_start = nd->start;
  nd->pend_end = nd->end;
  for (int64_t o = nd->pend_from; o < nd->pend_end; o++) nd->pend[o] = nd->log[o];
  nd->dirty_from = NEVER;
  nd->fsync_busy = 1;
  nd->fsync_at = S.now + (nd->slow_disk ? range(100, 700) : range(1, 7));
}

/* A crash: the disk keeps what fsyncs made durable, and either nothing of
 * the rest, or the truncations and a torn part of the appends since. */
static void disk_recover(struct node *nd) {
  nd->fsync_busy = 0;
  int64_t ds = nd->dstart > nd->start ? nd->dstart : nd->start;
  if (chance(50)) {
    int64_t k = ds; /* the prefix both agree on */
    while (k < nd->dend && k < nd->end && nd->dlog[k].hash == nd->log[k].hash) k++;
    nd->end = k + range(0, nd->end - k + 1);
  } else {
    for (int64_t o = ds; o < nd->dend; o++) nd->log[o] = nd->dlog[o];
    nd->end = nd->dend > ds ? nd->dend : ds;
  }
  if (nd->end < nd->start) nd->end = nd->start;
  /* Opening the log syncs what it found. */
  for (int64_t o = nd->start; o < nd->end; o++) nd->dlog[o] = nd->log[o];
  nd->dstart = nd->start;
  nd->dend = nd->end;
  nd->dirty_from = NEVER;
}

/* ---- the glue -------------------------------------------------------------------- */

static void step(struct node *nd, const struct quorum_event *e, const struct simmsg *in);

/* Whether node's disk keeps its log up to end, as it is now: the synced
 * copy holds the same record at end - 1 (or a snapshot covers it). */
static int durable_to(const struct node *nd, int64_t end) {
  if (end <= 0 || (nd->snap.end_offset >= end)) return 1;
  if (end - 1 < nd->dstart || end - 1 >= nd->dend) return 0;
  return end - 1 >= nd->start && end - 1 < nd->end && nd->dlog[end - 1].hash == nd->log[end - 1].hash;
}

static void send(struct node *nd, const struct quorum_msg *m) {
  int to = m->to;
  if (to < 0 || to >= S.n) return;
  /* A fetch offset or a vote's log claims only what the disk keeps. */
  /* (observers' too: a leader that added one counts its offset at once) */
  if (m->type == QUORUM_FETCH_REQ && !durable_to(nd, m->fetch_req.offset))
    fail("durability: node %d fetches at %" PRId64 ", beyond what its disk keeps", nd->id, m->fetch_req.offset);
  if (m->type == QUORUM_VOTE_REQ && !durable_to(nd, m->vote_req.end_offset))
    fail("durability: node %d claims a log to %" PRId64 " in a vote request, beyond its disk", nd->id,
         m->vote_req.end_offset);
  /* The checker sees every vote as it leaves. */
  if (m->type == QUORUM_VOTE_RESP && m->vote_resp.granted && !m->vote_resp.pre_vote) {
    if (m->epoch >= EPOCHS_TRACKED) {
      fail("epoch %d beyond the checker's table", m->epoch);
      return;
    }
    int8_t *v = &S.vote_of[nd->id][m->epoch];
    if (*v && *v != to + 1)
      fail("one vote per epoch: node %d voted for %d and for %d in epoch %d", nd->id, *v - 1, to, m->epoch);
    *v = (int8_t)(to + 1);
    /* Now and then the voter restarts right after voting: only its
     * persisted vote keeps it from voting again in this epoch. */
    if (chance(10)) nd->bounce_at = S.now + range(0, 5);
  }
  if (S.cut[nd->id][to] || chance(S.drop_pct)) return;
  if (S.nmsgs == MSGS_MAX) return;
  struct simmsg *s = &S.msgs[S.nmsgs++];
  s->at = S.now + (!S.calm && chance(5) ? range(10, 300) : range(1, 10));
  s->seq = S.seq++;
  s->from = nd->id;
  s->to = to;
  s->m = *m;
  s->p.n = 0;
  if (m->type == QUORUM_FETCH_RESP) {
    for (uint32_t i = 0; i < m->fetch_resp.nspans; i++) {
      const struct quorum_span *sp = &m->fetch_resp.spans[i];
      for (uint32_t j = 0; j < sp->count; j++) {
        int64_t o = sp->base + j;
        cr_assert(o >= nd->start && o < nd->end && nd->log[o].epoch == sp->epoch,
                  "seed %" PRIu64 ": node %d sends offset %" PRId64 " it does not hold as epoch %d", S.seed,
                  nd->id, o, sp->epoch);
        cr_assert_lt(s->p.n, 64);
        s->p.e[s->p.n++] = nd->log[o];
      }
    }
  } else if (m->type == QUORUM_FETCH_SNAPSHOT_RESP && !m->error) {
    cr_assert(nd->snap.end_offset == m->snap_resp.id.end_offset);
    s->m.snap_resp.size = SNAP_SIZE;
    int64_t left = SNAP_SIZE - m->snap_resp.position;
    s->m.snap_resp.len = (uint32_t)(left < SNAP_CHUNK ? (left < 0 ? 0 : left) : SNAP_CHUNK);
    s->p.snap = nd->snap;
    s->p.snap_hash = nd->snap_hash;
    s->p.snap_vidx = nd->snap_vidx;
  }
}

static const char *describe_fetch(const struct quorum_msg *m, const struct node *nd) {
  static char b[1024];
  int k = snprintf(b, sizeof b, " [fetch %" PRId64 "/%d hw %" PRId64 " div %d/%" PRId64 " snap %" PRId64 " spans %u] node epochs:",
                   m->fetch_resp.fetch_offset, m->fetch_resp.last_fetched_epoch, m->fetch_resp.hw,
                   m->fetch_resp.diverging_epoch, m->fetch_resp.diverging_end, m->fetch_resp.snapshot.end_offset,
                   m->fetch_resp.nspans);
  for (uint32_t i = 0; i < nd->q.nepochs && k < 900; i++)
    k += snprintf(b + k, sizeof b - (size_t)k, " %d@%" PRId64, nd->q.epochs[i].epoch, nd->q.epochs[i].start);
  return b;
}

static void apply(struct node *nd, const struct quorum_update *u, const struct simmsg *in) {
  if (u->flags & QUORUM_U_STATE) nd->state = u->state; /* durable before anything leaves */
  if (u->flags & QUORUM_U_TRUNCATE) {
    trace("n%d truncate to %" PRId64, nd->id, u->truncate_to);
    if (u->truncate_to < nd->q.hw) fail("node %d truncates below its high watermark", nd->id);
    disk_truncate(nd, u->truncate_to);
  }
  if (u->flags & QUORUM_U_APPEND) {
    if (u->append.offset != nd->end) {
      fail("node %d: append at %" PRId64 ", log ends at %" PRId64, nd->id, u->append.offset, nd->end);
      return;
    }
    for (uint32_t i = 0; i < u->append.count; i++) {
      struct entry e = {u->append.epoch, 0, 0, 0};
      if (u->append.source == QUORUM_FROM_SUBMIT) {
        e.value = ++S.next_value;
      } else if (u->append.source == QUORUM_FROM_LEADER_CHANGE) {
        e.value = UINT64_C(0x4c43000000000000) | (uint32_t)u->append.epoch;
      } else if (u->append.source == QUORUM_FROM_VOTERS) {
        cr_assert_lt(S.nvsets + 1, VSETS_TRACKED);
        e.vidx = ++S.nvsets;
        S.vsets[e.vidx] = u->append.voters;
        e.value = UINT64_C(0x5654000000000000) | (uint32_t)e.vidx;
        S.voter_changes++;
        trace("n%d appends a VotersRecord at %" PRId64 " (%u voters)", nd->id, u->append.offset,
              u->append.voters.n);
      } else {
        cr_assert(in && i < in->p.n && in->m.fetch_resp.spans[0].base == u->append.offset);
        e = in->p.e[i];
      }
      disk_append(nd, &e);
    }
  }
  if (u->flags & QUORUM_U_SNAP_CHUNK) {
    cr_assert(in && in->p.snap.end_offset == u->snap_chunk.id.end_offset);
    nd->inst = in->p.snap;
    nd->inst_hash = in->p.snap_hash;
    nd->inst_vidx = in->p.snap_vidx;
  }
  if (u->flags & QUORUM_U_SNAP_INSTALL) {
    cr_assert(nd->inst.end_offset == u->snap_install.end_offset);
    trace("n%d installs snapshot %" PRId64 "/%d", nd->id, nd->inst.end_offset, nd->inst.epoch);
    nd->snap = nd->inst;
    nd->snap_hash = nd->inst_hash;
    nd->snap_vidx = nd->inst_vidx;
    nd->start = nd->end = nd->dstart = nd->dend = nd->snap.end_offset;
    nd->dirty_from = NEVER;
    nd->fsync_busy = 0;
    S.snapshots_installed++;
  }
  if (u->flags & QUORUM_U_ROLE) {
    trace("n%d %s epoch %d leader %d (log %" PRId64 "..%" PRId64 " hw %" PRId64 ")", nd->id,
          quorum_role_name(u->role), u->epoch, u->leader, nd->start, nd->end, u->hw);
    if (u->role == QUORUM_LEADER) {
      S.elections++;
      if (u->epoch >= EPOCHS_TRACKED) fail("epoch %d beyond the checker's table", u->epoch);
      else if (S.leader_of[u->epoch] >= 0 && S.leader_of[u->epoch] != nd->id)
        fail("election safety: nodes %d and %d both lead epoch %d", S.leader_of[u->epoch], nd->id, u->epoch);
      else S.leader_of[u->epoch] = nd->id;
      /* Leader completeness: it holds every record committed in an
       * earlier epoch (its own LeaderChange record was just appended after
       * them). A leader of an older epoch may still win late, after a
       * pause, without what later epochs committed: it commits nothing. */
      int64_t c = S.committed_len;
      while (c > 0 && S.commit_epoch[c - 1] >= u->epoch) c--;
      if (c > 0 && hash_at(nd, c - 1) != S.committed[c - 1])
        fail("leader completeness: node %d leads epoch %d without committed offset %" PRId64, nd->id, u->epoch,
             c - 1);
    }
  }
  if (u->flags & QUORUM_U_HW) {
    if (u->hw < nd->hw_seen) fail("node %d: high watermark back from %" PRId64 " to %" PRId64, nd->id, nd->hw_seen, u->hw);
    nd->hw_seen = u->hw;
    check_committed(nd, u->hw);
  }
  for (uint32_t i = 0; i < u->nmsgs; i++) send(nd, &u->msgs[i]);
  nd->deadline = u->deadline_ms;
  if (u->flags & QUORUM_U_SNAP_INSTALL) {
    struct quorum_event e = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = S.now};
    e.snapshot.id = nd->snap;
    e.snapshot.replaced_log = 1;
    if (nd->snap_vidx) e.snapshot.voters = S.vsets[nd->snap_vidx];
    step(nd, &e, NULL);
  }
  fsync_start(nd);
}

static void step(struct node *nd, const struct quorum_event *e, const struct simmsg *in) {
  static struct quorum_update u;
  S.cur = nd->id;
  int rc = quorum_step(&nd->q, e, &u);
  if (rc && e->type != QUORUM_SUBMIT && e->type != QUORUM_TRANSFER && e->type != QUORUM_ADD_VOTER &&
      e->type != QUORUM_REMOVE_VOTER)
    fail("node %d: step %d (message %d from %d) failed: %s", nd->id, e->type,
         e->type == QUORUM_RECEIVE ? (int)e->msg->type : 0, e->type == QUORUM_RECEIVE ? e->msg->src.id : -1,
         strata_strerror(rc));
  S.events++;
  apply(nd, &u, in);
}

static void node_start(struct node *nd) {
  static struct quorum_epoch_start ep[QUORUM_EPOCHS_MAX];
  uint32_t nep = 0;
  for (int64_t o = nd->start; o < nd->end; o++)
    if (!nep || ep[nep - 1].epoch != nd->log[o].epoch) {
      cr_assert_lt(nep, QUORUM_EPOCHS_MAX);
      ep[nep++] = (struct quorum_epoch_start){nd->log[o].epoch, o};
    }
  quorum_init(&nd->q, &nd->cfg);
  nd->up = 1;
  nd->bounce_at = NEVER;
  nd->hw_seen = 0;
  nd->deadline = NEVER;
  nd->inst.end_offset = -1;
  static struct quorum_voters_at vr[LOG_MAX];
  uint32_t nvr = 0;
  for (int64_t o = nd->start; o < nd->end; o++)
    if (nd->log[o].vidx) vr[nvr++] = (struct quorum_voters_at){o, S.vsets[nd->log[o].vidx]};
  struct quorum_event e = {.type = QUORUM_START, .now_ms = S.now};
  e.start.state = nd->state;
  e.start.seed = rnd();
  e.start.snapshot = nd->snap;
  e.start.log_end = nd->end;
  e.start.epochs = ep;
  e.start.nepochs = nep;
  if (nd->snap_vidx) e.start.snapshot_voters = S.vsets[nd->snap_vidx];
  e.start.vrecs = vr;
  e.start.nvrecs = nvr;
  step(nd, &e, NULL);
}

static void crash(struct node *nd) {
  trace("n%d crashes", nd->id);
  nd->up = 0;
  nd->paused_until = 0;
  S.crashes++;
  disk_recover(nd);
}

/* A wiped disk: a new directory id, so the node is an observer now. */
static void wipe(struct node *nd) {
  trace("n%d wiped", nd->id);
  nd->wipes++;
  nd->cfg.self.dir[0] = (uint8_t)(nd->wipes * 37 + 1);
  nd->state = (struct quorum_persisted){0, {-1, {0}}, -1};
  nd->snap = (struct quorum_snapshot_id){-1, 0};
  nd->snap_hash = 0;
  nd->snap_vidx = 0;
  nd->start = nd->end = nd->dstart = nd->dend = 0;
  nd->dirty_from = NEVER;
  nd->fsync_busy = 0;
}

static void take_snapshot(struct node *nd) {
  int64_t hw = nd->q.hw;
  if (hw - nd->q.log_start < 8 || hw <= nd->start || hw > nd->end) return;
  struct quorum_event e = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = S.now};
  e.snapshot.id = (struct quorum_snapshot_id){hw, nd->log[hw - 1].epoch};
  nd->snap = e.snapshot.id;
  nd->snap_hash = nd->log[hw - 1].hash;
  /* the set in effect at its end goes with it */
  cr_assert_lt(S.nvsets + 1, VSETS_TRACKED);
  nd->snap_vidx = ++S.nvsets;
  quorum_voters_before(&nd->q, hw, &S.vsets[nd->snap_vidx]);
  nd->start = hw;
  if (nd->dstart < hw) nd->dstart = hw;
  if (nd->dend < hw) nd->dend = hw;
  trace("n%d snapshot at %" PRId64, nd->id, hw);
  step(nd, &e, NULL);
}

/* ---- the run ----------------------------------------------------------------- */

static int paused(const struct node *nd) { return nd->paused_until > S.now; }

static void sim_init(uint64_t seed, int n, int wipes, int changes) {
  for (int i = 0; i < NODES_MAX; i++) {
    free(S.nodes[i].log);
    free(S.nodes[i].dlog);
    free(S.nodes[i].pend);
  }
  free(S.msgs);
  memset(&S, 0, sizeof S);
  S.seed = seed;
  S.rng = seed * UINT64_C(0x2545f4914f6cdd1d) + 1;
  S.n = n;
  S.wipes_allowed = wipes;
  S.changes = changes;
  S.verbose = getenv("QUORUM_SIM_VERBOSE") ? atoi(getenv("QUORUM_SIM_VERBOSE")) : 0;
  S.msgs = calloc(MSGS_MAX, sizeof *S.msgs);
  for (int i = 0; i < EPOCHS_TRACKED; i++) S.leader_of[i] = -1;
  struct quorum_config cfg = {
      .election_timeout_ms = 200, .fetch_timeout_ms = 400, .fetch_max_wait_ms = 100,
      .request_timeout_ms = 150, .fetch_max_records = (uint32_t)(chance(50) ? range(1, 5) : range(4, 33))};
  cfg.nvoters = (uint32_t)n;
  for (int i = 0; i < n; i++) {
    cfg.voters[i].id = i;
    memset(cfg.voters[i].dir, 0, QUORUM_DIR_LEN);
    cfg.voters[i].dir[1] = (uint8_t)(i + 1);
  }
  for (int i = 0; i < n; i++) {
    struct node *nd = &S.nodes[i];
    nd->id = i;
    nd->cfg = cfg;
    nd->cfg.self = cfg.voters[i];
    nd->log = calloc(LOG_MAX, sizeof *nd->log);
    nd->dlog = calloc(LOG_MAX, sizeof *nd->dlog);
    nd->pend = calloc(LOG_MAX, sizeof *nd->pend);
    nd->state = (struct quorum_persisted){0, {-1, {0}}, -1};
    nd->snap = (struct quorum_snapshot_id){-1, 0};
    nd->dirty_from = NEVER;
    node_start(nd);
  }
}

static int key_eq(const struct quorum_key *a, const struct quorum_key *b) {
  return a->id == b->id && !memcmp(a->dir, b->dir, QUORUM_DIR_LEN);
}

/* The operator (KIP-853), on the leader: every node's current key should
 * vote. First add a node none of whose keys votes (refused until it has
 * caught up), then remove a wiped node's old key, else now and then remove
 * a random node (the leader too) to add it back later. So at most one node
 * is out of the voters at a time (durability's majority stays n/2 + 1). */
static void operator(void) {
  struct node *l = NULL;
  for (int i = 0; i < S.n; i++)
    if (S.nodes[i].up && !paused(&S.nodes[i]) && S.nodes[i].q.role == QUORUM_LEADER) l = &S.nodes[i];
  if (!l) return;
  struct quorum_event e = {.type = QUORUM_ADD_VOTER, .now_ms = S.now};
  for (int i = 0; i < S.n; i++) {
    int id_votes = 0;
    for (uint32_t v = 0; v < l->q.cfg.nvoters; v++) id_votes |= l->q.cfg.voters[v].id == i;
    if (id_votes) continue;
    e.voter = S.nodes[i].cfg.self;
    trace("operator: add-voter %d on n%d", i, l->id);
    step(l, &e, NULL);
    return;
  }
  e.type = QUORUM_REMOVE_VOTER;
  for (uint32_t v = 0; v < l->q.cfg.nvoters; v++) {
    const struct quorum_key *k = &l->q.cfg.voters[v];
    if (k->id < S.n && !key_eq(k, &S.nodes[k->id].cfg.self)) {
      e.voter = *k;
      trace("operator: remove-voter %d (its old directory) on n%d", k->id, l->id);
      step(l, &e, NULL);
      return;
    }
  }
  if (chance(40)) {
    e.voter = S.nodes[range(0, S.n)].cfg.self;
    trace("operator: remove-voter %d on n%d", e.voter.id, l->id);
    step(l, &e, NULL);
  }
}

static void fault(void) {
  if (S.changes && chance(25)) {
    operator();
    return;
  }
  int k = (int)range(0, 100);
  struct node *nd = &S.nodes[range(0, S.n)];
  if (k < 15) {
    if (nd->up) crash(nd);
  } else if (k < 35) {
    for (int i = 0; i < S.n; i++)
      if (!S.nodes[i].up) {
        trace("n%d restarts", i);
        node_start(&S.nodes[i]);
        break;
      }
  } else if (k < 45) {
    /* a partition: a random side cut off both ways */
    uint32_t side = (uint32_t)range(1, (1 << S.n) - 1);
    trace("partition %x", side);
    for (int a = 0; a < S.n; a++)
      for (int b = 0; b < S.n; b++) S.cut[a][b] = ((side >> a) & 1) != ((side >> b) & 1);
  } else if (k < 55) {
    int a = (int)range(0, S.n), b = (int)range(0, S.n);
    trace("cut %d -> %d", a, b);
    S.cut[a][b] = 1;
  } else if (k < 70) {
    trace("heal");
    memset(S.cut, 0, sizeof S.cut);
  } else if (k < 72) {
    S.drop_pct = (int)range(0, 15);
  } else if (k < 75) {
    nd->slow_disk = !nd->slow_disk;
    trace("n%d slow disk %d", nd->id, nd->slow_disk);
  } else if (k < 82) {
    if (nd->up && !paused(nd)) {
      nd->paused_until = S.now + range(100, 1500);
      trace("n%d paused until %" PRId64, nd->id, nd->paused_until);
    }
  } else if (k < 92) {
    if (nd->up && !paused(nd)) take_snapshot(nd);
  } else if (k < 96) {
    /* a leader hands over */
    if (nd->up && !paused(nd) && nd->q.role == QUORUM_LEADER) {
      struct quorum_event e = {.type = QUORUM_TRANSFER, .now_ms = S.now};
      e.transfer_to = (int32_t)((nd->id + 1 + range(0, S.n - 1)) % S.n);
      step(nd, &e, NULL);
    }
  } else if (S.wipes_allowed) {
    int wiped = 0;
    for (int i = 0; i < S.n; i++) wiped += S.nodes[i].wipes > 0;
    /* With voter changes, only while every node's set has all n voters:
     * a wipe while one is out (a 2-voter set of 3) would leave no majority
     * with its disks, which no protocol survives. */
    int full = 1;
    for (int i = 0; i < S.n; i++) full &= S.nodes[i].q.cfg.nvoters == (uint32_t)S.n;
    if (wiped < (S.n - 1) / 2 && !nd->wipes && (!S.changes || full)) {
      if (nd->up) crash(nd);
      wipe(nd);
    }
  }
}

static void submit(void) {
  for (int i = 0; i < S.n; i++) {
    struct node *nd = &S.nodes[i];
    if (!nd->up || paused(nd) || nd->q.role != QUORUM_LEADER || nd->end > LOG_MAX - 600) continue;
    struct quorum_event e = {.type = QUORUM_SUBMIT, .now_ms = S.now};
    e.submit = (uint32_t)range(1, 4);
    step(nd, &e, NULL);
  }
}

/* The receiving glue's part of a fetch answer: the VotersRecords among its
 * records, and the answer cut before one more than the core takes. */
static void fill_vrecs(struct simmsg *m) {
  struct quorum_msg *q = &m->m;
  int64_t base = q->fetch_resp.spans[0].base;
  q->fetch_resp.nvrecs = 0;
  for (uint32_t i = 0; i < m->p.n; i++) {
    if (!m->p.e[i].vidx) continue;
    if (q->fetch_resp.nvrecs == QUORUM_FETCH_VSETS_MAX) {
      int64_t cut = base + i;
      uint32_t k = 0;
      while (k < q->fetch_resp.nspans && q->fetch_resp.spans[k].base < cut) {
        struct quorum_span *sp = &q->fetch_resp.spans[k];
        if (sp->base + sp->count > cut) sp->count = (uint32_t)(cut - sp->base);
        k++;
      }
      q->fetch_resp.nspans = k;
      m->p.n = i;
      return;
    }
    q->fetch_resp.vrecs[q->fetch_resp.nvrecs++] =
        (struct quorum_voters_at){base + i, S.vsets[m->p.e[i].vidx]};
  }
}

/* Run until `until`, one event at a time, the earliest first. */
static void run(int64_t until, int faults, int submits) {
  int64_t next_fault = S.now + range(20, 300), next_submit = S.now + range(5, 40);
  while (!S.violation[0]) {
    int64_t t = until;
    int kind = 0, who = -1;
    uint32_t mi = 0;
    if (faults && next_fault < t) t = next_fault, kind = 1;
    if (submits && next_submit < t) t = next_submit, kind = 2;
    for (int i = 0; i < S.n; i++) {
      struct node *nd = &S.nodes[i];
      if (!nd->up) continue;
      int64_t p = nd->paused_until;
      if (nd->fsync_busy) {
        int64_t at = nd->fsync_at > p ? nd->fsync_at : p;
        if (at < t) t = at, kind = 3, who = i;
      }
      if (nd->deadline != NEVER) {
        int64_t at = nd->deadline > p ? nd->deadline : p;
        if (at < t) t = at, kind = 4, who = i;
      }
      if (nd->bounce_at < t) t = nd->bounce_at, kind = 6, who = i;
    }
    for (uint32_t i = 0; i < S.nmsgs; i++) {
      const struct simmsg *m = &S.msgs[i];
      int64_t p = S.nodes[m->to].paused_until;
      int64_t at = m->at > p ? m->at : p;
      if (at < t || (at == t && kind == 5 && m->seq < S.msgs[mi].seq)) t = at, kind = 5, mi = i;
    }
    if (t >= until) break;
    if (t > S.now) S.now = t;
    switch (kind) {
      case 1:
        fault();
        next_fault = S.now + range(20, 300);
        break;
      case 2:
        submit();
        next_submit = S.now + range(5, 40);
        break;
      case 3: {
        struct node *nd = &S.nodes[who];
        nd->fsync_busy = 0;
        int64_t ds = nd->pend_start > nd->start ? nd->pend_start : nd->start;
        for (int64_t o = nd->pend_from > ds ? nd->pend_from : ds; o < nd->pend_end; o++) nd->dlog[o] = nd->pend[o];
        nd->dstart = ds;
        nd->dend = nd->pend_end > ds ? nd->pend_end : ds;
        if (nd->pend_end > ds) {
          struct quorum_event e = {.type = QUORUM_PERSISTED, .now_ms = S.now};
          e.persisted.offset = nd->pend_end;
          e.persisted.epoch = nd->pend[nd->pend_end - 1].epoch;
          step(nd, &e, NULL);
        }
        fsync_start(nd);
        break;
      }
      case 4: {
        struct quorum_event e = {.type = QUORUM_TICK, .now_ms = S.now};
        step(&S.nodes[who], &e, NULL);
        break;
      }
      case 6:
        if (faults) {
          crash(&S.nodes[who]);
          trace("n%d restarts", who);
          node_start(&S.nodes[who]);
        } else {
          S.nodes[who].bounce_at = NEVER;
        }
        break;
      case 5: {
        static struct simmsg m;
        m = S.msgs[mi];
        S.msgs[mi] = S.msgs[--S.nmsgs];
        struct node *nd = &S.nodes[m.to];
        if (!nd->up || S.cut[m.from][m.to]) break;
        if (m.m.type == QUORUM_FETCH_RESP && m.p.n) fill_vrecs(&m);
        struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = S.now, .msg = &m.m};
        if (S.verbose > 1)
          trace("n%d <- n%d type %d epoch %d leader %d err %d%s", m.to, m.from, m.m.type, m.m.epoch, m.m.leader,
                m.m.error, m.m.type == QUORUM_FETCH_RESP ? describe_fetch(&m.m, nd) : "");
        step(nd, &e, &m);
        break;
      }
    }
    check_durable();
  }
}

static void liveness(void) {
  int leader = -1;
  for (int i = 0; i < S.n; i++) {
    const struct node *nd = &S.nodes[i];
    if (nd->q.role == QUORUM_LEADER) {
      if (leader >= 0) fail("liveness: two leaders after healing (%d and %d)", leader, i);
      leader = i;
    }
  }
  if (leader < 0) {
    fail("liveness: no leader 30 s after healing");
    return;
  }
  const struct node *l = &S.nodes[leader];
  for (int i = 0; i < S.n; i++) {
    const struct node *nd = &S.nodes[i];
    if (nd->q.epoch != l->q.epoch || nd->q.hw != l->q.log_end || nd->q.log_end != l->q.log_end)
      fail("liveness: node %d (%s, epoch %d, hw %" PRId64 ", end %" PRId64 ") behind leader %d (epoch %d, end %" PRId64 ")",
           i, quorum_role_name(nd->q.role), nd->q.epoch, nd->q.hw, nd->q.log_end, leader, l->q.epoch,
           l->q.log_end);
  }
}

static void on_assert(const char *msg) {
  fprintf(stderr, "quorum sim: seed %" PRIu64 " (n=%d wipes=%d changes=%d) t=%" PRId64 " node %d: %s\n", S.seed,
          S.n, S.wipes_allowed, S.changes, S.now, S.cur, msg);
}

/* One seeded run: faults for 20 s of simulated time, then everything heals
 * and restarts, and 10 s later the quorum must be whole again. */
static void sim_run(uint64_t seed, int n, int wipes, int changes) {
  sim_init(seed, n, wipes, changes);
  run(20000, 1, 1);
  memset(S.cut, 0, sizeof S.cut);
  S.drop_pct = 0;
  S.calm = 1;
  for (int i = 0; i < S.n; i++) {
    S.nodes[i].paused_until = 0;
    S.nodes[i].slow_disk = 0;
    if (!S.nodes[i].up) node_start(&S.nodes[i]);
  }
  run(S.now + 2000, 0, 1);
  run(S.now + 30000, 0, 0);
  if (!S.violation[0]) liveness();
}

static void sim_cases(int n, int wipes, int changes, uint64_t base, uint64_t count) {
  strata_assert_set_handler(on_assert);
  const char *one = getenv("QUORUM_SIM_SEED");
  const char *many = getenv("QUORUM_SIM_SEEDS");
  uint64_t first = base, nseeds = count;
  if (one) first = strtoull(one, NULL, 10), nseeds = 1;
  else if (many) nseeds = strtoull(many, NULL, 10);
  int keep_going = getenv("QUORUM_SIM_KEEP_GOING") != NULL;
  uint64_t events = 0, elections = 0, crashes = 0, installs = 0, failed = 0, vchanges = 0;
  for (uint64_t s = first; s < first + nseeds; s++) {
    sim_run(s, n, wipes, changes);
    if (keep_going && S.violation[0]) {
      if (failed++ < 5) fprintf(stderr, "%s\n", S.violation);
      continue;
    }
    cr_assert(!S.violation[0], "%s (replay: QUORUM_SIM_SEED=%" PRIu64 ")", S.violation, s);
    events += S.events;
    elections += S.elections;
    crashes += S.crashes;
    installs += S.snapshots_installed;
    vchanges += S.voter_changes;
  }
  fprintf(stderr, "quorum sim n=%d wipes=%d changes=%d: %" PRIu64 " seeds from %" PRIu64 ", %" PRIu64
                  " events, %" PRIu64 " elections, %" PRIu64 " crashes, %" PRIu64 " snapshot installs, %" PRIu64
                  " VotersRecords\n",
          n, wipes, changes, nseeds, first, events, elections, crashes, installs, vchanges);
  cr_assert_eq(failed, 0, "%" PRIu64 " of %" PRIu64 " seeds failed (n=%d wipes=%d)", failed, nseeds, n, wipes);
}

Test(quorum_sim, three_voters_keep_raft_safety_under_faults) { sim_cases(3, 0, 0, 1, 1500); }
Test(quorum_sim, five_voters_keep_raft_safety_under_faults) { sim_cases(5, 0, 0, 100001, 600); }
Test(quorum_sim, wiped_voters_return_as_observers_and_nothing_committed_is_lost) {
  sim_cases(3, 1, 0, 200001, 600);
  sim_cases(5, 1, 0, 300001, 400);
}
Test(quorum_sim, voter_changes_keep_raft_safety_under_faults) {
  sim_cases(3, 0, 1, 400001, 400); /* durability checked: at most one voter out at a time */
  sim_cases(3, 1, 1, 500001, 300); /* wiped voters replaced by remove + add */
  sim_cases(5, 1, 1, 600001, 200);
}
