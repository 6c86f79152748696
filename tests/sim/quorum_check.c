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
 * - at the end, every running controller holds every committed record.
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
  int32_t *cepoch;                               /* their epochs */
  uint64_t *chash;                               /* and their bytes' hash */
  size_t cap;
  /* per node, for its current process */
  int64_t hw[SIM_CTLS_MAX];       /* the high watermark last seen */
  int64_t hashed[SIM_CTLS_MAX];   /* records below this were compared (<= hw) */
  int64_t matched[SIM_CTLS_MAX];  /* log epochs below this equal the committed ones */
  uint64_t matched_trunc[SIM_CTLS_MAX];
  int32_t led[SIM_CTLS_MAX];      /* the last epoch we saw it lead (completeness checked) */
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
  if (!q->cepoch || !q->chash) abort();
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
  for (int64_t o = from; o < to; o++)
    if (l->epoch[o] != q->cepoch[o]) return o;
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
                  "%lld, where epoch %d's record committed", k + 1, qn->q.epoch, l->epoch[o],
                  (long long)o, q->cepoch[o]);
}

/* Records [hashed, hw) of node k: the same epoch and bytes as whoever
 * committed them first. */
static void check_applied(struct sim *s, int k, const struct qnode *qn) {
  struct qcheck *q = s->qc;
  const struct qlog *l = &qn->log;
  int64_t hw = qn->q.hw;
  if (hw > l->end) {
    sim_violation(s, "controller %d: high watermark %lld past its log end %lld", k + 1,
                  (long long)hw, (long long)l->end);
    return;
  }
  grow(q, hw);
  for (int64_t o = q->hashed[k]; o < hw && !s->violations; o++) {
    uint8_t *v;
    size_t len;
    if (qlog_value(l, o, &v, &len)) {
      sim_violation(s, "controller %d cannot read its committed record %lld", k + 1, (long long)o);
      return;
    }
    uint64_t h = hash_bytes(v, len);
    free(v);
    if (o >= q->committed) {
      q->cepoch[o] = l->epoch[o];
      q->chash[o] = h;
      q->committed = o + 1;
    } else if (q->cepoch[o] != l->epoch[o] || q->chash[o] != h) {
      sim_violation(s, "state-machine safety: controller %d applies a record of epoch %d at offset "
                    "%lld, where another applied %s of epoch %d", k + 1, l->epoch[o],
                    (long long)o, q->cepoch[o] == l->epoch[o] ? "other bytes" : "a record",
                    q->cepoch[o]);
      return;
    }
  }
  if (hw > q->hashed[k]) q->hashed[k] = hw;
}

/* Log matching between two running nodes on their uncommitted parts: from
 * the last offset where both hold the same epoch, down to the committed
 * end, the epochs agree. */
static void check_matching(struct sim *s, int a, const struct qlog *la, int b,
                           const struct qlog *lb) {
  struct qcheck *q = s->qc;
  int64_t m = la->end < lb->end ? la->end : lb->end;
  int64_t o = m - 1;
  while (o >= q->committed && la->epoch[o] != lb->epoch[o]) o--;
  for (; o >= q->committed; o--)
    if (la->epoch[o] != lb->epoch[o]) {
      sim_violation(s, "log matching: controllers %d and %d agree on an epoch above offset %lld "
                    "but hold epochs %d and %d there", a + 1, b + 1, (long long)o, la->epoch[o],
                    lb->epoch[o]);
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
  int64_t last = upto - 1;
  while (last >= q->matched[k] && l->epoch[last] != q->cepoch[last]) last--;
  if (last >= q->matched[k]) {
    int64_t o = match_committed(q, l, q->matched[k], last + 1);
    if (o <= last) {
      sim_violation(s, "log matching: controller %d holds committed epoch %d at offset %lld but "
                    "epoch %d at %lld, where epoch %d committed", k + 1, l->epoch[last],
                    (long long)last, l->epoch[o], (long long)o, q->cepoch[o]);
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
}

void qcheck_final(struct sim *s) {
  struct qcheck *q = s->qc;
  if (!q || s->violations) return;
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
      for (uint32_t i = 0; c && c->qn->q.role == QUORUM_LEADER && i < c->qn->q.cfg.nvoters; i++)
        fprintf(stderr, "  voter %u: end %lld parked %d until %lld last_fetch %lld\n", i,
                (long long)c->qn->q.voters[i].end_offset, c->qn->q.voters[i].parked,
                (long long)c->qn->q.voters[i].parked_until, (long long)c->qn->q.voters[i].last_fetch_ms);
    }
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

void qcheck_stats(struct sim *s, uint64_t *elections, int64_t *committed) {
  *elections = s->qc ? s->qc->elections : 0;
  *committed = s->qc ? s->qc->committed : 0;
}
