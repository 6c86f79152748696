/* The controller quorum's invariants, checked after every step of every
 * controller in quorum mode (issue 14, item 5), from what the real nodes
 * hold (struct quorum, the qlog, the high watermark) and a memory of the
 * run that outlives restarts and wipes:
 * - one leader per epoch (across every node and restart);
 * - one vote per (node, epoch), across restarts (and wipes: a wiped node
 *   must not vote again in an epoch its old directory voted in);
 * - log matching: two logs holding a record of the same epoch at an offset
 *   agree on every epoch before it (checked on the uncommitted tails; below
 *   the committed end every log is compared with the committed records);
 * - state-machine safety: the record at each offset below a node's high
 *   watermark (what it applies) is the same bytes and epoch everywhere;
 * - the high watermark never moves back within a process's life, and never
 *   passes the node's log end;
 * - leader completeness: a node becoming leader holds every committed
 *   record (so nothing committed is lost while a majority keeps its disks:
 *   with a wiped voter and one down, no leader may be elected that lacks one);
 * - at the end, every running controller holds every committed record;
 * - snapshots (KIP-630): a log's start may be past 0, the records below it
 *   held by the node's snapshot; every log read goes through qlog_epoch_at
 *   and skips that prefix. A snapshot's id names a committed record's
 *   epoch, and the state itself is compared: whenever a node has applied
 *   exactly up to its high watermark, the image of its state (without the
 *   node's own id) is the same as every other node's at that offset, so a
 *   snapshot written or installed wrong shows in the next comparison.
 * Scenario checks: a zombie leader (cut from its peers) commits nothing;
 * no leader in a window where none may be elected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/controller.h"
#include "tests/sim/sim.h"

#define QC_EPOCHS_MAX 4096

struct qcheck {
  int32_t leader_of[QC_EPOCHS_MAX];              /* epoch -> leader id, 0 none */
  int32_t vote_of[SIM_CTLS_MAX][QC_EPOCHS_MAX];  /* epoch -> voted-for id + 1, 0 none */
  int64_t committed;                             /* offsets [0, committed) committed */
  int32_t *cepoch;                               /* their epochs (0: not seen, a snapshot
                                                    covered it everywhere we looked) */
  uint64_t *chash;                               /* and their bytes' hash (with cepoch) */
  uint64_t *shash;                               /* the state's image hash after applying
                                                    [0, o), 0 none seen */
  size_t cap;
  /* per node, for its current process */
  int64_t hw[SIM_CTLS_MAX];       /* the high watermark last seen */
  int64_t hashed[SIM_CTLS_MAX];   /* records below this were compared (<= hw) */
  int64_t matched[SIM_CTLS_MAX];  /* log epochs below this equal the committed ones */
  uint64_t matched_trunc[SIM_CTLS_MAX];
  int32_t led[SIM_CTLS_MAX];      /* the last epoch we saw it lead (completeness checked) */
  int64_t imaged[SIM_CTLS_MAX];   /* the offset its state was last compared at (-1 none) */
  uint64_t snapshots;             /* snapshot ids seen taking effect (written or installed) */
  int64_t snap_seen[SIM_CTLS_MAX];
  uint64_t elections;
  int64_t no_leader_until;
  int32_t no_leader_above;
  int zombie;                     /* sim node, -1 none */
  int32_t zombie_epoch;
  int64_t zombie_hw, zombie_since;
};

void qcheck_init(struct sim *s) {
  if (s->nctl <= 1) return;
  s->qc = calloc(1, sizeof *s->qc);
  if (!s->qc) abort();
  s->qc->zombie = -1;
}

void qcheck_free(struct sim *s) {
  if (!s->qc) return;
  free(s->qc->cepoch);
  free(s->qc->chash);
  free(s->qc->shash);
  free(s->qc);
  s->qc = NULL;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ n;
}

static void grow(struct qcheck *q, int64_t need) {
  if ((size_t)need <= q->cap) return;
  size_t cap = q->cap ? q->cap : 1024;
  while (cap < (size_t)need) cap *= 2;
  q->cepoch = realloc(q->cepoch, cap * sizeof *q->cepoch);
  q->chash = realloc(q->chash, cap * sizeof *q->chash);
  q->shash = realloc(q->shash, (cap + 1) * sizeof *q->shash);
  if (!q->cepoch || !q->chash || !q->shash) abort();
  memset(q->cepoch + q->cap, 0, (cap - q->cap) * sizeof *q->cepoch);
  memset(q->shash + q->cap + (q->cap ? 1 : 0), 0,
         (cap + 1 - q->cap - (q->cap ? 1 : 0)) * sizeof *q->shash);
  q->cap = cap;
}

void qcheck_start(struct sim *s, int node, struct controller *ctl) {
  struct qcheck *q = s->qc;
  int k = sim_ctl_index(s, node);
  (void)ctl;
  if (!q) return;
  q->hw[k] = 0;
  q->hashed[k] = 0;
  q->matched[k] = 0;
  q->matched_trunc[k] = 0;
  q->led[k] = 0;
  q->imaged[k] = -1;
  q->snap_seen[k] = -1;
}

void qcheck_crash(struct sim *s, int node, struct controller *ctl) {
  (void)s, (void)node, (void)ctl;
}

void qcheck_no_leader_until(struct sim *s, int64_t until) {
  struct qcheck *q = s->qc;
  if (!q) return;
  q->no_leader_until = until;
  q->no_leader_above = 0;
  for (int k = 0; k < s->nctl; k++) {
    struct controller *c = cnode_controller(s, sim_ctl_node(k));
    if (c && c->qn->q.epoch > q->no_leader_above) q->no_leader_above = c->qn->q.epoch;
  }
}

void qcheck_zombie(struct sim *s, int node) {
  struct qcheck *q = s->qc;
  if (!q) return;
  q->zombie = -1;
  struct controller *c = node >= 0 ? cnode_controller(s, node) : NULL;
  if (!c) return;
  q->zombie = node;
  q->zombie_epoch = c->qn->q.epoch;
  q->zombie_hw = c->qn->q.hw;
  q->zombie_since = s->now;
}

/* The log's epochs at [from, to) equal the committed ones (a log holding
 * a committed record's epoch at an offset must hold the committed records
 * before it: log matching against the committed prefix). Returns the
 * first offset that differs, or to. */
static int64_t match_committed(const struct qcheck *q, const struct qlog *l, int64_t from,
                               int64_t to) {
  if (from < l->start) from = l->start; /* below: the node's snapshot (checked apart) */
  for (int64_t o = from; o < to; o++)
    if (q->cepoch[o] && qlog_epoch_at(l, o) != q->cepoch[o]) return o;
  return to;
}

/* A node leads epoch e for the first time: it must hold every committed
 * record. */
static void check_completeness(struct sim *s, int k, const struct qnode *qn) {
  struct qcheck *q = s->qc;
  const struct qlog *l = &qn->log;
  if (l->end < q->committed) {
    sim_violation(s, "leader completeness: controller %d leads epoch %d with a log ending at %lld, "
                  "but %lld records are committed", k + 1, qn->q.epoch, (long long)l->end,
                  (long long)q->committed);
    return;
  }
  int64_t o = match_committed(q, l, 0, q->committed);
  if (o < q->committed)
    sim_violation(s, "leader completeness: controller %d leads epoch %d holding epoch %d at offset "
                  "%lld, where epoch %d's record committed", k + 1, qn->q.epoch,
                  qlog_epoch_at(l, o), (long long)o, q->cepoch[o]);
}

/* Offset o is committed (a node's high watermark passed it): grow the
 * memory to it. */
static void committed_to(struct qcheck *q, int64_t end) {
  grow(q, end);
  if (end > q->committed) q->committed = end;
}

/* Node k's snapshot (a new id since we last looked): it covers only
 * committed records, and its last one's epoch is the committed one. */
static void check_snapshot(struct sim *s, int k, const struct qnode *qn) {
  struct qcheck *q = s->qc;
  struct quorum_snapshot_id id = qn->snap;
  if (id.end_offset < 0 || id.end_offset == q->snap_seen[k]) return;
  q->snap_seen[k] = id.end_offset;
  q->snapshots++;
  if (id.end_offset > qn->q.hw) {
    sim_violation(s, "controller %d holds snapshot [0, %lld) past its high watermark %lld", k + 1,
                  (long long)id.end_offset, (long long)qn->q.hw);
    return;
  }
  committed_to(q, id.end_offset);
  int64_t o = id.end_offset - 1;
  if (!q->cepoch[o]) q->cepoch[o] = id.epoch, q->chash[o] = 0; /* bytes unseen (hash 0) */
  else if (q->cepoch[o] != id.epoch)
    sim_violation(s, "state-machine safety: controller %d's snapshot [0, %lld) ends in epoch %d, "
                  "where a record of epoch %d committed", k + 1, (long long)id.end_offset,
                  id.epoch, q->cepoch[o]);
}

/* Records [hashed, hw) of node k: the same epoch and bytes as whoever
 * committed them first (records below its log start are in its snapshot:
 * check_snapshot and check_state cover them). */
static void check_applied(struct sim *s, int k, const struct qnode *qn) {
  struct qcheck *q = s->qc;
  const struct qlog *l = &qn->log;
  int64_t hw = qn->q.hw;
  if (hw > l->end) {
    sim_violation(s, "controller %d: high watermark %lld past its log end %lld", k + 1,
                  (long long)hw, (long long)l->end);
    return;
  }
  check_snapshot(s, k, qn);
  if (s->violations) return;
  committed_to(q, hw);
  int64_t o = q->hashed[k] < l->start ? l->start : q->hashed[k];
  for (; o < hw && !s->violations; o++) {
    uint8_t *v;
    size_t len;
    if (qlog_value(l, o, &v, &len)) {
      sim_violation(s, "controller %d cannot read its committed record %lld", k + 1, (long long)o);
      return;
    }
    uint64_t h = hash_bytes(v, len) | 1; /* never 0 (0: bytes unseen) */
    free(v);
    int32_t e = qlog_epoch_at(l, o);
    if (!q->cepoch[o] || (!q->chash[o] && q->cepoch[o] == e)) {
      q->cepoch[o] = e;
      q->chash[o] = h;
    } else if (q->cepoch[o] != e || q->chash[o] != h) {
      sim_violation(s, "state-machine safety: controller %d applies a record of epoch %d at offset "
                    "%lld, where another applied %s of epoch %d", k + 1, e, (long long)o,
                    q->cepoch[o] == e ? "other bytes" : "a record", q->cepoch[o]);
      return;
    }
  }
  if (hw > q->hashed[k]) q->hashed[k] = hw;
}

/* The state a node applied exactly up to its high watermark (a follower,
 * or a leader with nothing pending): its image, the node's own id left
 * out, must equal every other node's image after the same records. This is
 * what catches a snapshot written or installed wrong (of records not
 * committed, of another offset, torn). */
static void check_state(struct sim *s, int k, const struct qnode *qn) {
  struct qcheck *q = s->qc;
  int64_t at = qn->applied;
  if (at != qn->hw || at == q->imaged[k] || at <= 0) return;
  q->imaged[k] = at;
  Strata__MetadataImage *img = ctrl_image(qn->c);
  if (!img) abort();
  img->controller_id = 0;
  size_t n = strata__metadata_image__get_packed_size(img);
  uint8_t *b = malloc(n + 1);
  if (!b) abort();
  strata__metadata_image__pack(img, b);
  ctrl_image_free(img);
  uint64_t h = hash_bytes(b, n) | 1;
  free(b);
  committed_to(q, at);
  if (!q->shash[at]) q->shash[at] = h;
  else if (q->shash[at] != h)
    sim_violation(s, "state-machine safety: controller %d's state after records [0, %lld) differs "
                  "from another controller's after the same records%s", k + 1, (long long)at,
                  qn->snap.end_offset >= 0 ? " (it holds a snapshot)" : "");
}

/* Log matching between two running nodes on their uncommitted parts: from
 * the last offset where both hold the same epoch, down to the committed
 * end, the epochs agree. */
static void check_matching(struct sim *s, int a, const struct qlog *la, int b,
                           const struct qlog *lb) {
  struct qcheck *q = s->qc;
  int64_t m = la->end < lb->end ? la->end : lb->end;
  int64_t low = q->committed; /* and both logs hold it (not in a snapshot) */
  if (low < la->start) low = la->start;
  if (low < lb->start) low = lb->start;
  int64_t o = m - 1;
  while (o >= low && qlog_epoch_at(la, o) != qlog_epoch_at(lb, o)) o--;
  for (; o >= low; o--)
    if (qlog_epoch_at(la, o) != qlog_epoch_at(lb, o)) {
      sim_violation(s, "log matching: controllers %d and %d agree on an epoch above offset %lld "
                    "but hold epochs %d and %d there", a + 1, b + 1, (long long)o,
                    qlog_epoch_at(la, o), qlog_epoch_at(lb, o));
      return;
    }
}

void qcheck_node(struct sim *s, int node, struct controller *ctl) {
  struct qcheck *q = s->qc;
  if (!q || s->violations) return;
  int k = sim_ctl_index(s, node);
  const struct qnode *qn = ctl->qn;
  const struct quorum *cq = &qn->q;
  int32_t e = cq->epoch;
  if (e >= QC_EPOCHS_MAX) {
    sim_violation(s, "controller %d in epoch %d: an election storm", k + 1, e);
    return;
  }
  /* one vote per (node, epoch), across restarts and wipes */
  if (cq->vote.id >= 0 && e > 0) {
    if (!q->vote_of[k][e]) q->vote_of[k][e] = cq->vote.id + 1;
    else if (q->vote_of[k][e] != cq->vote.id + 1) {
      sim_violation(s, "controller %d voted for %d and for %d in epoch %d", k + 1,
                    q->vote_of[k][e] - 1, cq->vote.id, e);
      return;
    }
  }
  /* the high watermark: monotonic, and what it passes the same everywhere */
  if (cq->hw < q->hw[k]) {
    sim_violation(s, "controller %d's high watermark went back from %lld to %lld", k + 1,
                  (long long)q->hw[k], (long long)cq->hw);
    return;
  }
  q->hw[k] = cq->hw;
  check_applied(s, k, qn);
  if (s->violations) return;
  check_state(s, k, qn);
  if (s->violations) return;
  /* one leader per epoch; a new leader holds every committed record */
  if (cq->role == QUORUM_LEADER) {
    if (!q->leader_of[e]) {
      q->leader_of[e] = qn->cfg.self;
      q->elections++;
      sim_log(s, "controller %d leads epoch %d (log end %lld, committed %lld)", k + 1, e,
              (long long)qn->log.end, (long long)q->committed);
    } else if (q->leader_of[e] != qn->cfg.self) {
      sim_violation(s, "two leaders in epoch %d: controllers %d and %d", e, q->leader_of[e],
                    qn->cfg.self);
      return;
    }
    if (q->led[k] != e) {
      q->led[k] = e;
      check_completeness(s, k, qn);
      if (s->violations) return;
    }
    if (q->no_leader_until && s->now < q->no_leader_until && e > q->no_leader_above) {
      sim_violation(s, "controller %d leads epoch %d while no controller may be elected (the "
                    "up-to-date voter is down, another wiped)", k + 1, e);
      return;
    }
  }
  /* a zombie commits nothing */
  if (q->zombie == node && cq->epoch == q->zombie_epoch && cq->hw > q->zombie_hw) {
    sim_violation(s, "controller %d, cut off from its peers since %lld ms, moved its high "
                  "watermark from %lld to %lld in epoch %d", k + 1, (long long)q->zombie_since,
                  (long long)q->zombie_hw, (long long)cq->hw, e);
    return;
  }
  /* the log against the committed records, and against the other logs */
  const struct qlog *l = &qn->log;
  if (q->matched_trunc[k] != l->truncations) {
    q->matched_trunc[k] = l->truncations;
    if (q->matched[k] > l->end) q->matched[k] = l->end;
  }
  int64_t upto = l->end < q->committed ? l->end : q->committed;
  if (q->matched[k] > upto) q->matched[k] = upto;
  /* where its log last holds a committed epoch, everything before matches */
  if (q->matched[k] < l->start) q->matched[k] = l->start < upto ? l->start : upto;
  int64_t last = upto - 1;
  while (last >= q->matched[k] && (!q->cepoch[last] || qlog_epoch_at(l, last) != q->cepoch[last]))
    last--;
  if (last >= q->matched[k]) {
    int64_t o = match_committed(q, l, q->matched[k], last + 1);
    if (o <= last) {
      sim_violation(s, "log matching: controller %d holds committed epoch %d at offset %lld but "
                    "epoch %d at %lld, where epoch %d committed", k + 1, qlog_epoch_at(l, last),
                    (long long)last, qlog_epoch_at(l, o), (long long)o, q->cepoch[o]);
      return;
    }
    q->matched[k] = last + 1;
  }
  for (int j = 0; j < s->nctl; j++) {
    if (j == k) continue;
    struct controller *other = cnode_controller(s, sim_ctl_node(j));
    if (other) check_matching(s, k, l, j, &other->qn->log);
  }
  if (s->f8.stage) sim_trap_fig8(s, node, ctl);
  if (s->sr.stage == 1) sim_trap_snap(s, node, ctl);
}

void qcheck_final(struct sim *s) {
  struct qcheck *q = s->qc;
  if (!q) return;
  if (getenv("SIM_QDEBUG"))
    for (int k = 0; k < s->nctl; k++) {
      struct controller *c = cnode_controller(s, sim_ctl_node(k));
      if (c)
        fprintf(stderr, "ctl %d: %s epoch %d hw %lld end %lld persisted %lld leader %d\n", k + 1,
                quorum_role_name(c->qn->q.role), c->qn->q.epoch, (long long)c->qn->q.hw,
                (long long)c->qn->q.log_end, (long long)c->qn->q.persisted_end, c->qn->q.leader);
      if (c)
        fprintf(stderr, "  now %lld fetch_sent %lld last_ok %lld deadline %lld syncing %d synced_end %lld\n",
                (long long)s->now, (long long)c->qn->q.fetch_sent_ms,
                (long long)c->qn->q.last_fetch_ok_ms, (long long)c->qn->deadline_ms, c->qn->syncing,
                (long long)c->qn->synced_end);
      if (c)
        fprintf(stderr, "  applied %lld ready %d log [%lld, %lld) snap %lld/%d snap_fetch %lld pos %lld/%lld installing %d\n",
                (long long)c->qn->applied, c->qn->ready, (long long)c->qn->log.start,
                (long long)c->qn->log.end, (long long)c->qn->snap.end_offset, c->qn->snap.epoch,
                (long long)c->qn->q.snap_fetch.end_offset, (long long)c->qn->q.snap_position,
                (long long)c->qn->q.snap_size, c->qn->q.snap_installing);
      for (uint32_t i = 0; c && c->qn->q.role == QUORUM_LEADER && i < c->qn->q.cfg.nvoters; i++)
        fprintf(stderr, "  voter %u: end %lld parked %d until %lld last_fetch %lld\n", i,
                (long long)c->qn->q.voters[i].end_offset, c->qn->q.voters[i].parked,
                (long long)c->qn->q.voters[i].parked_until, (long long)c->qn->q.voters[i].last_fetch_ms);
    }
  if (s->violations) return;
  for (int k = 0; k < s->nctl; k++) {
    struct controller *c = cnode_controller(s, sim_ctl_node(k));
    if (!c) continue;
    qcheck_node(s, sim_ctl_node(k), c);
    if (c->qn->q.hw < q->committed && !s->violations)
      sim_violation(s, "controller %d's high watermark is %lld at the end, below the %lld records "
                    "committed (lost, or it cannot catch up): %s in epoch %d, log end %lld, "
                    "persisted %lld", k + 1, (long long)c->qn->q.hw, (long long)q->committed,
                    quorum_role_name(c->qn->q.role), c->qn->q.epoch, (long long)c->qn->q.log_end,
                    (long long)c->qn->q.persisted_end);
  }
}

int qcheck_caught_up(struct sim *s) {
  struct qcheck *q = s->qc;
  if (!q) return 1;
  for (int k = 0; k < s->nctl; k++) {
    struct controller *c = cnode_controller(s, sim_ctl_node(k));
    if (c && c->qn->q.hw < q->committed) return 0;
  }
  return 1;
}

void qcheck_stats(struct sim *s, uint64_t *elections, int64_t *committed, uint64_t *snapshots) {
  *elections = s->qc ? s->qc->elections : 0;
  *snapshots = s->qc ? s->qc->snapshots : 0;
  *committed = s->qc ? s->qc->committed : 0;
}
