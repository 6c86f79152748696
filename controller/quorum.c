#include "controller/quorum.h"

#include <string.h>

#include "common/assert.h"
#include "common/errors.h"

#define NEVER INT64_MAX
/* KRaft's CHECK_QUORUM_TIMEOUT_FACTOR: a leader resigns when a majority has
 * not fetched within 1.5 x the fetch timeout. */
#define CHECK_QUORUM_NUM 3
#define CHECK_QUORUM_DEN 2
/* Bound on the records one fetch answer may claim (bad input beyond). */
#define FETCH_RECORDS_LIMIT (1u << 20)

const char *quorum_role_name(enum quorum_role r) {
  switch (r) {
    case QUORUM_UNATTACHED: return "unattached";
    case QUORUM_PROSPECTIVE: return "prospective";
    case QUORUM_CANDIDATE: return "candidate";
    case QUORUM_LEADER: return "leader";
    case QUORUM_FOLLOWER: return "follower";
    case QUORUM_RESIGNED: return "resigned";
  }
  return "?";
}

/* ---- small helpers ------------------------------------------------------- */

/* splitmix64: the election jitter's only source of randomness, seeded by
 * the START event so a simulated run replays exactly. */
static uint64_t rng_next(struct quorum *q) {
  uint64_t z = (q->rng += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A value in [lo, hi) (lo when the range is empty). */
static int64_t rng_range(struct quorum *q, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + (int64_t)(rng_next(q) % (uint64_t)(hi - lo));
}

/* Raft's randomized election timeout, [t, 2t): breaks split votes. */
static int64_t election_timeout(struct quorum *q) {
  return rng_range(q, q->cfg.election_timeout_ms, 2 * q->cfg.election_timeout_ms);
}

static int key_eq(const struct quorum_key *a, const struct quorum_key *b) {
  return a->id == b->id && !memcmp(a->dir, b->dir, QUORUM_DIR_LEN);
}

static uint32_t majority(const struct quorum *q) { return q->cfg.nvoters / 2 + 1; }

/* The voter index of key (id and directory id both match), or -1. */
static int voter_index(const struct quorum *q, const struct quorum_key *key) {
  for (uint32_t i = 0; i < q->cfg.nvoters; i++)
    if (key_eq(&q->cfg.voters[i], key)) return (int)i;
  return -1;
}

/* The voter index of node id, directory aside, or -1. */
static int voter_index_id(const struct quorum *q, int32_t id) {
  for (uint32_t i = 0; i < q->cfg.nvoters; i++)
    if (q->cfg.voters[i].id == id) return (int)i;
  return -1;
}

int quorum_is_voter(const struct quorum *q, const struct quorum_key *key) {
  return voter_index(q, key) >= 0;
}

static int self_index(const struct quorum *q) { return q->self_idx; }

/* ---- the epoch cache (KIP-101) --------------------------------------------- */

int32_t quorum_epoch_at(const struct quorum *q, int64_t offset) {
  if (offset < 0 || offset >= q->log_end) return 0;
  if (offset == q->log_start - 1) return q->snapshot.epoch;
  if (offset < q->log_start) return 0;
  int32_t e = q->snapshot.end_offset >= 0 ? q->snapshot.epoch : 0;
  for (uint32_t i = 0; i < q->nepochs && q->epochs[i].start <= offset; i++) e = q->epochs[i].epoch;
  return e;
}

/* The epoch of our last record: what a fetch or a vote claims. */
static int32_t last_epoch(const struct quorum *q, int64_t end) { return quorum_epoch_at(q, end - 1); }

/* Record that epoch begins at start (our log grows into it). When the cache
 * is full the oldest entry goes: a fetch that needs it is below what a
 * snapshot covers by then (QUORUM_EPOCHS_MAX elections later). */
static void epoch_add(struct quorum *q, int32_t epoch, int64_t start) {
  if (q->nepochs && q->epochs[q->nepochs - 1].epoch == epoch) return;
  STRATA_ASSERT(!q->nepochs || q->epochs[q->nepochs - 1].epoch < epoch);
  STRATA_ASSERT(!q->nepochs || q->epochs[q->nepochs - 1].start <= start);
  if (q->nepochs == QUORUM_EPOCHS_MAX) {
    memmove(q->epochs, q->epochs + 1, (QUORUM_EPOCHS_MAX - 1) * sizeof *q->epochs);
    q->nepochs--;
  }
  q->epochs[q->nepochs++] = (struct quorum_epoch_start){epoch, start};
}

/* The log was cut at offset: epochs that began there or later are gone. */
static void epoch_truncate(struct quorum *q, int64_t offset) {
  while (q->nepochs && q->epochs[q->nepochs - 1].start >= offset) q->nepochs--;
}

/* Where `epoch` ends in our log: the start of the first larger epoch, or
 * our log end. An epoch older than every known one ends where the first
 * known one starts (KIP-279's rule, as replication/epoch_cache.c has it). */
static int64_t epoch_end(const struct quorum *q, int32_t epoch) {
  for (uint32_t i = 0; i < q->nepochs; i++)
    if (q->epochs[i].epoch > epoch) return q->epochs[i].start;
  return q->log_end;
}

/* The largest epoch we know that is <= epoch (the snapshot's counts), or -1. */
static int32_t epoch_floor(const struct quorum *q, int32_t epoch) {
  int32_t best = -1;
  if (q->snapshot.end_offset >= 0 && q->snapshot.epoch <= epoch) best = q->snapshot.epoch;
  for (uint32_t i = 0; i < q->nepochs && q->epochs[i].epoch <= epoch; i++)
    if (q->epochs[i].epoch > best) best = q->epochs[i].epoch;
  return best;
}

/* The start of our own epoch's records (the leader's LeaderChange record). */
static int64_t epoch_start(const struct quorum *q, int32_t epoch) {
  for (uint32_t i = 0; i < q->nepochs; i++)
    if (q->epochs[i].epoch == epoch) return q->epochs[i].start;
  return -1;
}

/* ---- voter sets (KIP-853) ------------------------------------------------------ */

static int dir_known(const uint8_t dir[QUORUM_DIR_LEN]) {
  for (int i = 0; i < QUORUM_DIR_LEN; i++)
    if (dir[i]) return 1;
  return 0;
}

/* A set a VotersRecord may hold: 1..QUORUM_VOTERS_MAX voters, distinct ids. */
static int set_valid(const struct quorum_voter_set *s) {
  if (s->n < 1 || s->n > QUORUM_VOTERS_MAX) return 0;
  for (uint32_t i = 0; i < s->n; i++) {
    if (s->voters[i].id < 0) return 0;
    for (uint32_t j = 0; j < i; j++)
      if (s->voters[j].id == s->voters[i].id) return 0;
  }
  return 1;
}

static const struct quorum_voter_set *current_set(const struct quorum *q) {
  return q->nvrecs ? &q->vrecs[q->nvrecs - 1].set : &q->base;
}

static void progress_reset(struct quorum_progress *p, const struct quorum_key *k) {
  memset(p, 0, sizeof *p);
  p->key = *k;
  p->node = k->id;
  p->end_offset = -1;
  p->last_fetch_ms = -1;
}

static int64_t election_timeout(struct quorum *q);

/* Make the log's latest set the one in effect: cfg.voters, our place in
 * it and, on the leader, each replica's progress carried over by key (a new
 * voter keeps what it had as an observer, a removed one becomes an
 * observer), so the high watermark and check-quorum count the new set at
 * once. A node that became a voter can campaign from now on. */
static void use_voters(struct quorum *q, int64_t now) {
  const struct quorum_voter_set *s = current_set(q);
  STRATA_ASSERT(s->n >= 1 && s->n <= QUORUM_VOTERS_MAX);
  int was_voter = q->self_voter;
  if (q->role == QUORUM_LEADER) {
    struct quorum_progress np[QUORUM_VOTERS_MAX];
    for (uint32_t i = 0; i < s->n; i++) {
      const struct quorum_key *k = &s->voters[i];
      int oi = voter_index(q, k);
      if (oi >= 0) {
        np[i] = q->voters[oi];
        continue;
      }
      progress_reset(&np[i], k);
      for (uint32_t j = 0; j < q->nobservers; j++)
        if (key_eq(&q->observers[j].key, k)) {
          np[i] = q->observers[j];
          memmove(&q->observers[j], &q->observers[j + 1],
                  (q->nobservers - j - 1) * sizeof *q->observers);
          q->nobservers--;
          break;
        }
    }
    for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
      int kept = 0;
      for (uint32_t j = 0; j < s->n; j++) kept |= key_eq(&s->voters[j], &q->cfg.voters[i]);
      if (!kept && q->nobservers < QUORUM_OBSERVERS_MAX && q->cfg.voters[i].id != q->cfg.self.id)
        q->observers[q->nobservers++] = q->voters[i];
    }
    memcpy(q->voters, np, s->n * sizeof *np);
  }
  memcpy(q->cfg.voters, s->voters, s->n * sizeof *s->voters);
  q->cfg.nvoters = s->n;
  q->self_idx = voter_index(q, &q->cfg.self);
  q->self_voter = q->self_idx >= 0;
  memset(q->granted, 0, sizeof q->granted);
  if (q->self_voter && !was_voter && q->role == QUORUM_UNATTACHED && q->started)
    q->election_deadline = now + election_timeout(q);
}

/* VotersRecords below upto are committed: no truncation reaches them, so
 * only the latest matters, as the base.
 *
 * Also: of two VotersRecords in one log, the earlier is committed. The
 * leader that appended the later one had, by then, committed a record of
 * its own epoch with no VotersRecord above its high watermark, and its log
 * held the earlier one (log matching). So a node that does not know its
 * high watermark (just restarted: it learns it from the leader) may fold
 * all but its newest when the list is full (START, a fetch answer). */
static void vsets_fold(struct quorum *q, int64_t upto) {
  while (q->nvrecs && q->vrecs[0].offset < upto) {
    q->base = q->vrecs[0].set;
    memmove(&q->vrecs[0], &q->vrecs[1], (q->nvrecs - 1) * sizeof *q->vrecs);
    q->nvrecs--;
  }
}

/* A VotersRecord was appended at offset: its set is in effect from now. */
static void vsets_push(struct quorum *q, int64_t offset, const struct quorum_voter_set *set,
                       int64_t now) {
  STRATA_ASSERT(q->nvrecs < QUORUM_VSETS_MAX && set_valid(set));
  STRATA_ASSERT(!q->nvrecs || q->vrecs[q->nvrecs - 1].offset < offset);
  q->vrecs[q->nvrecs].offset = offset;
  q->vrecs[q->nvrecs].set = *set;
  q->nvrecs++;
  use_voters(q, now);
}

/* The log was cut at offset: the VotersRecords from there on are undone. */
static void vsets_truncate(struct quorum *q, int64_t offset, int64_t now) {
  uint32_t n0 = q->nvrecs;
  while (q->nvrecs && q->vrecs[q->nvrecs - 1].offset >= offset) q->nvrecs--;
  if (q->nvrecs != n0) use_voters(q, now);
}

void quorum_voters_before(const struct quorum *q, int64_t offset, struct quorum_voter_set *out) {
  *out = q->base;
  for (uint32_t i = 0; i < q->nvrecs && q->vrecs[i].offset < offset; i++) *out = q->vrecs[i].set;
}

/* ---- the update ------------------------------------------------------------ */

/* A message slot in the update, with the common fields filled; NULL when
 * the update is full (counted in dropped: to the protocol, a lost message). */
static struct quorum_msg *msg_new(struct quorum *q, struct quorum_update *u,
                                  enum quorum_msg_type type, int32_t to) {
  if (u->nmsgs == QUORUM_MSGS_MAX) {
    u->dropped++;
    return NULL;
  }
  struct quorum_msg *m = &u->msgs[u->nmsgs++];
  memset(m, 0, sizeof *m);
  m->type = type;
  m->to = to;
  m->src = q->cfg.self;
  m->dst.id = to;
  int vi = voter_index_id(q, to);
  if (vi >= 0) m->dst = q->cfg.voters[vi];
  m->epoch = q->epoch;
  m->leader = q->role == QUORUM_RESIGNED ? -1 : q->leader; /* a resigned leader leads no more */
  return m;
}

/* The quorum state changed: it goes to disk before any message of this
 * update (a vote must survive a crash before the candidate can count it). */
static void persist(struct quorum *q, struct quorum_update *u) {
  u->flags |= QUORUM_U_STATE;
  u->state.epoch = q->epoch;
  u->state.vote = q->vote;
  u->state.leader = q->leader;
}

/* Move to epoch (>= ours) with leader (-1 unknown); a new epoch clears the
 * vote. One vote per epoch: the vote only ever changes with the epoch. */
static void set_epoch(struct quorum *q, struct quorum_update *u, int32_t epoch, int32_t leader) {
  STRATA_ASSERT(epoch >= q->epoch);
  int changed = 0;
  if (epoch > q->epoch) {
    q->epoch = epoch;
    q->vote.id = -1;
    memset(q->vote.dir, 0, QUORUM_DIR_LEN);
    changed = 1;
  }
  if (leader != q->leader) {
    /* One leader per epoch: a known leader is only ever forgotten, never replaced. */
    STRATA_ASSERT(changed || leader < 0 || q->leader < 0);
    q->leader = leader;
    if (leader >= 0) changed = 1;
  }
  if (changed) persist(q, u);
}

/* Leave whatever role-specific state we had (a fetch on its way, a
 * snapshot download, the leader's tracking). */
static void leave_role(struct quorum *q) {
  q->fetch_sent_ms = -1;
  q->snap_fetch.end_offset = -1;
  q->snap_position = q->snap_size = 0;
  memset(q->granted, 0, sizeof q->granted);
  for (uint32_t i = 0; i < QUORUM_VOTERS_MAX; i++) q->voters[i].parked = 0;
  for (uint32_t i = 0; i < q->nobservers; i++) q->observers[i].parked = 0;
}

static void maybe_fetch(struct quorum *q, struct quorum_update *u, int64_t now);
static void to_leader(struct quorum *q, struct quorum_update *u, int64_t now);

/* No leader known in epoch (maybe voted). A voter campaigns at its
 * election deadline; an observer asks the voters who leads. */
static void to_unattached(struct quorum *q, struct quorum_update *u, int64_t now, int32_t epoch,
                          int64_t deadline) {
  STRATA_ASSERT(epoch >= q->epoch);
  leave_role(q);
  if (epoch > q->epoch) set_epoch(q, u, epoch, -1);
  q->leader = -1;
  q->role = QUORUM_UNATTACHED;
  q->election_deadline = q->self_voter ? deadline : NEVER;
  q->fetch_retry_at = now;
}

/* Follow leader in epoch: fetch from it. A full fetch timeout starts now.
 * heard: the leader itself told us (else a hint, or our disk after a
 * restart): only word from the leader makes us refuse pre-votes. */
static void to_follower(struct quorum *q, struct quorum_update *u, int64_t now, int32_t epoch,
                        int32_t leader, int heard) {
  STRATA_ASSERT(leader >= 0 && leader != q->cfg.self.id);
  STRATA_ASSERT(!(epoch == q->epoch && q->role == QUORUM_LEADER));
  leave_role(q);
  set_epoch(q, u, epoch, leader);
  q->role = QUORUM_FOLLOWER;
  q->last_fetch_ok_ms = now;
  q->leader_heard_ms = heard ? now : -1;
  q->election_deadline = NEVER;
  maybe_fetch(q, u, now);
}

/* Our persisted log, as a vote request claims it: only what an fsync
 * covered counts (canonical/raft#386: in-memory entries elected a second
 * leader in one term). */
static void fill_vote_req(const struct quorum *q, struct quorum_msg *m, int pre_vote) {
  m->vote_req.pre_vote = pre_vote;
  m->vote_req.end_offset = q->persisted_end;
  m->vote_req.last_epoch = last_epoch(q, q->persisted_end);
}

static uint32_t count(const uint8_t *v, uint32_t n) {
  uint32_t c = 0;
  for (uint32_t i = 0; i < n; i++) c += v[i] != 0;
  return c;
}

static void to_candidate(struct quorum *q, struct quorum_update *u, int64_t now);

/* KIP-996: ask for pre-votes for epoch + 1 without changing any state; a
 * voter that still hears from a leader refuses, so a node cut off from the
 * leader cannot force an election on the rest. */
static void to_prospective(struct quorum *q, struct quorum_update *u, int64_t now) {
  STRATA_ASSERT(q->self_voter);
  leave_role(q);
  q->role = QUORUM_PROSPECTIVE;
  q->granted[self_index(q)] = 1;
  q->election_deadline = now + election_timeout(q);
  if (count(q->granted, q->cfg.nvoters) >= majority(q)) {
    to_candidate(q, u, now);
    return;
  }
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    if ((int)i == self_index(q)) continue;
    struct quorum_msg *m = msg_new(q, u, QUORUM_VOTE_REQ, q->cfg.voters[i].id);
    if (!m) continue;
    m->epoch = q->epoch + 1;
    fill_vote_req(q, m, 1);
  }
}

/* Raft's candidate: a new epoch, our vote for ourselves (persisted before
 * the requests leave), then ask every voter. */
static void to_candidate(struct quorum *q, struct quorum_update *u, int64_t now) {
  STRATA_ASSERT(q->self_voter);
  leave_role(q);
  set_epoch(q, u, q->epoch + 1, -1);
  q->vote = q->cfg.self;
  persist(q, u);
  q->role = QUORUM_CANDIDATE;
  q->granted[self_index(q)] = 1;
  q->election_deadline = now + election_timeout(q);
  if (count(q->granted, q->cfg.nvoters) >= majority(q)) {
    to_leader(q, u, now);
    return;
  }
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    if ((int)i == self_index(q)) continue;
    struct quorum_msg *m = msg_new(q, u, QUORUM_VOTE_REQ, q->cfg.voters[i].id);
    if (m) fill_vote_req(q, m, 0);
  }
}

static void send_begin_epoch(struct quorum *q, struct quorum_update *u) {
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    if ((int)i == self_index(q) || q->voters[i].begun) continue;
    msg_new(q, u, QUORUM_BEGIN_EPOCH_REQ, q->cfg.voters[i].id);
  }
}

/* Elected: the leader of epoch. Its first record is a control record of its
 * own epoch (KRaft's LeaderChangeMessage), so the high watermark can move
 * as soon as that one is on a majority. BeginQuorumEpoch tells the voters,
 * who would otherwise not hear of us (they pull). */
static void to_leader(struct quorum *q, struct quorum_update *u, int64_t now) {
  STRATA_ASSERT(q->self_voter && q->role == QUORUM_CANDIDATE && q->vote.id == q->cfg.self.id);
  STRATA_ASSERT(count(q->granted, q->cfg.nvoters) >= majority(q));
  leave_role(q);
  set_epoch(q, u, q->epoch, q->cfg.self.id);
  q->role = QUORUM_LEADER;
  q->election_deadline = NEVER;
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    struct quorum_progress *p = &q->voters[i];
    memset(p, 0, sizeof *p);
    p->key = q->cfg.voters[i];
    p->node = p->key.id;
    p->end_offset = -1;
    p->last_fetch_ms = -1;
  }
  q->voters[self_index(q)].begun = 1;
  q->nobservers = 0;
  q->leader_since_ms = now;
  epoch_add(q, q->epoch, q->log_end);
  u->flags |= QUORUM_U_APPEND;
  u->append.offset = q->log_end;
  u->append.count = 1;
  u->append.epoch = q->epoch;
  u->append.source = QUORUM_FROM_LEADER_CHANGE;
  q->log_end++;
  send_begin_epoch(q, u);
  q->begin_resend_at = now + q->cfg.fetch_timeout_ms / 2;
}

/* Give up leadership of our epoch (check-quorum, or a transfer): tell the
 * voters with EndQuorumEpoch, preferred successors first (first: `first`,
 * if a voter; then by how far their logs reach), so the best placed one
 * campaigns at once instead of after an election timeout. */
static void resign(struct quorum *q, struct quorum_update *u, int64_t now, int32_t first) {
  STRATA_ASSERT(q->role == QUORUM_LEADER);
  int32_t succ[QUORUM_VOTERS_MAX];
  int64_t ends[QUORUM_VOTERS_MAX];
  uint32_t n = 0;
  if (first >= 0) {
    succ[n] = first;
    ends[n++] = INT64_MAX;
  }
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    int32_t id = q->cfg.voters[i].id;
    if (id == q->cfg.self.id || id == first) continue;
    uint32_t j = n++;
    for (; j > 0 && ends[j - 1] < q->voters[i].end_offset; j--) {
      succ[j] = succ[j - 1];
      ends[j] = ends[j - 1];
    }
    succ[j] = id;
    ends[j] = q->voters[i].end_offset;
  }
  leave_role(q);
  q->role = QUORUM_RESIGNED;
  q->election_deadline = now + election_timeout(q);
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    if ((int)i == self_index(q)) continue;
    struct quorum_msg *m = msg_new(q, u, QUORUM_END_EPOCH_REQ, q->cfg.voters[i].id);
    if (!m) continue;
    memcpy(m->end_epoch.successors, succ, n * sizeof *succ);
    m->end_epoch.nsuccessors = n;
  }
  if (!q->self_voter) {
    /* A leader that removed itself (KIP-853): an observer from now on,
     * looking for the next leader. */
    q->role = QUORUM_UNATTACHED;
    q->leader = -1;
    q->election_deadline = NEVER;
    q->fetch_retry_at = now;
  }
}

/* ---- the leader's side of fetch ------------------------------------------- */

/* A fetch answer carrying records from offset on (at most
 * fetch_max_records, at most QUORUM_SPANS_MAX epochs), with the high
 * watermark. The glue attaches the records the spans name. */
static void answer_fetch(struct quorum *q, struct quorum_update *u, int32_t to, int64_t offset,
                         int32_t fetched_epoch) {
  struct quorum_msg *m = msg_new(q, u, QUORUM_FETCH_RESP, to);
  if (!m) return;
  m->fetch_resp.fetch_offset = offset;
  m->fetch_resp.last_fetched_epoch = fetched_epoch;
  m->fetch_resp.hw = q->hw;
  m->fetch_resp.log_start = q->log_start;
  m->fetch_resp.diverging_epoch = -1;
  m->fetch_resp.diverging_end = -1;
  m->fetch_resp.snapshot.end_offset = -1;
  STRATA_ASSERT(offset >= q->log_start && offset <= q->log_end);
  int64_t end = q->log_end;
  if (end - offset > (int64_t)q->cfg.fetch_max_records) end = offset + q->cfg.fetch_max_records;
  for (int64_t o = offset; o < end && m->fetch_resp.nspans < QUORUM_SPANS_MAX;) {
    int32_t e = quorum_epoch_at(q, o);
    int64_t stop = epoch_end(q, e);
    if (stop > end) stop = end;
    STRATA_ASSERT(stop > o);
    m->fetch_resp.spans[m->fetch_resp.nspans++] =
        (struct quorum_span){o, (uint32_t)(stop - o), e};
    o = stop;
  }
}

/* Answer every held fetch (records or the high watermark moved), or only
 * those whose wait ended (expired_only, at now). */
static void answer_parked(struct quorum *q, struct quorum_update *u, int64_t now, int expired_only) {
  struct quorum_progress *sets[2] = {q->voters, q->observers};
  uint32_t ns[2] = {q->cfg.nvoters, q->nobservers};
  for (int s = 0; s < 2; s++)
    for (uint32_t i = 0; i < ns[s]; i++) {
      struct quorum_progress *p = &sets[s][i];
      if (!p->parked || (expired_only && now < p->parked_until)) continue;
      p->parked = 0;
      answer_fetch(q, u, p->node, p->parked_offset, p->parked_epoch);
    }
}

/* The high watermark a leader may expose: the largest offset a majority of
 * voters holds durably (our own log counted only up to what we fsynced),
 * and only once it covers a record of our own epoch (Raft's §5.4.2, KRaft's
 * maybeUpdateHighWatermark: an older epoch's record on a majority can still
 * be overwritten by a leader that never saw it). It never moves back. */
static void update_hw(struct quorum *q, struct quorum_update *u, int64_t now) {
  if (q->role != QUORUM_LEADER) return;
  int64_t offs[QUORUM_VOTERS_MAX];
  uint32_t n = q->cfg.nvoters;
  for (uint32_t i = 0; i < n; i++) {
    int64_t v = (int)i == self_index(q) ? q->persisted_end : q->voters[i].end_offset;
    uint32_t j = i;
    for (; j > 0 && offs[j - 1] < v; j--) offs[j] = offs[j - 1];
    offs[j] = v;
  }
  int64_t cand = offs[majority(q) - 1];
  if (cand <= q->hw) return;
  if (cand <= epoch_start(q, q->epoch)) return; /* no record of our epoch committed yet */
  STRATA_ASSERT(cand <= q->log_end && quorum_epoch_at(q, cand - 1) == q->epoch);
  q->hw = cand;
  u->flags |= QUORUM_U_HW;
  answer_parked(q, u, now, 0);
  if (!q->self_voter && (!q->nvrecs || q->vrecs[q->nvrecs - 1].offset < q->hw))
    resign(q, u, now, -1); /* the set without us is committed (Raft's §4.2.2): the others elect */
}

/* The progress slot of the replica that fetched with key: a voter's (id
 * and directory both match), else an observer's, made when there is room.
 * NULL: no room (the fetch is refused). */
static struct quorum_progress *progress_of(struct quorum *q, const struct quorum_key *key,
                                           int *is_voter) {
  int vi = voter_index(q, key);
  *is_voter = vi >= 0;
  if (vi >= 0) return &q->voters[vi];
  for (uint32_t i = 0; i < q->nobservers; i++)
    if (key_eq(&q->observers[i].key, key)) return &q->observers[i];
  struct quorum_progress *p = NULL;
  if (q->nobservers < QUORUM_OBSERVERS_MAX) {
    p = &q->observers[q->nobservers++];
  } else { /* full: the longest silent one goes (a removed voter, a wiped disk's old id) */
    for (uint32_t i = 0; i < q->nobservers; i++)
      if (!q->observers[i].parked && (!p || q->observers[i].last_fetch_ms < p->last_fetch_ms))
        p = &q->observers[i];
    if (!p) return NULL;
  }
  progress_reset(p, key);
  return p;
}

enum fetch_check { FETCH_VALID, FETCH_DIVERGING, FETCH_SNAPSHOT };

/* Whether a follower's log, ending at offset with a last record of epoch,
 * is a prefix of ours; if not, where it forks: the largest epoch we share
 * (<= its epoch) and where that epoch ends here (KIP-595's DivergingEpoch).
 * A fork below our log start is inside our snapshot, where we no longer
 * know the epochs: the follower must fetch the snapshot (as KRaft's
 * validateOffsetAndEpoch answers). */
static enum fetch_check fetch_check(const struct quorum *q, int64_t offset, int32_t epoch,
                                    int32_t *div_epoch, int64_t *div_end) {
  if (offset == 0 && epoch == 0) return FETCH_VALID;
  if (offset == q->log_start && q->snapshot.end_offset == offset && epoch == q->snapshot.epoch)
    return FETCH_VALID;
  int32_t f = epoch_floor(q, epoch);
  int64_t end = f < 0 ? (q->nepochs ? q->epochs[0].start : q->log_start) : epoch_end(q, f);
  if (f >= 0 && f == epoch && offset <= end) return FETCH_VALID;
  if (q->snapshot.end_offset > 0 && (f < 0 || end < q->log_start)) return FETCH_SNAPSHOT;
  *div_epoch = f < 0 ? 0 : f;
  *div_end = end < offset ? end : offset;
  return FETCH_DIVERGING;
}

/* Answer a request with an error and what we know (our epoch and leader,
 * which is how a requester behind us catches up). */
static int error_answer(struct quorum *q, struct quorum_update *u, const struct quorum_msg *req,
                        enum quorum_msg_type type, int error) {
  struct quorum_msg *m = msg_new(q, u, type, req->src.id);
  if (!m) return 0;
  m->error = error;
  if (type == QUORUM_FETCH_RESP) {
    m->fetch_resp.fetch_offset = req->fetch_req.offset;
    m->fetch_resp.last_fetched_epoch = req->fetch_req.last_epoch;
    m->fetch_resp.diverging_epoch = -1;
    m->fetch_resp.diverging_end = -1;
    m->fetch_resp.snapshot.end_offset = -1;
    m->fetch_resp.hw = -1;
    m->fetch_resp.log_start = -1;
  } else if (type == QUORUM_FETCH_SNAPSHOT_RESP) {
    m->snap_resp.id = req->snap_req.id;
    m->snap_resp.position = req->snap_req.position;
  }
  return 0;
}

/* A message from a later epoch: we are behind. Follow its leader when it
 * names one, else wait unattached in that epoch. */
static void catch_up_epoch(struct quorum *q, struct quorum_update *u, int64_t now,
                           const struct quorum_msg *m) {
  STRATA_ASSERT(m->epoch > q->epoch);
  if (m->leader >= 0 && m->leader != q->cfg.self.id)
    to_follower(q, u, now, m->epoch, m->leader, m->src.id == m->leader);
  else
    to_unattached(q, u, now, m->epoch, now + election_timeout(q));
}

/* A fetch (or snapshot fetch) reached us. Only the leader of the
 * requester's epoch serves it; anyone else answers with what it knows. */
static int on_fetch(struct quorum *q, struct quorum_update *u, int64_t now,
                    const struct quorum_msg *m) {
  enum quorum_msg_type rt =
      m->type == QUORUM_FETCH_REQ ? QUORUM_FETCH_RESP : QUORUM_FETCH_SNAPSHOT_RESP;
  if (m->epoch > q->epoch) catch_up_epoch(q, u, now, m);
  if (m->epoch < q->epoch) return error_answer(q, u, m, rt, STRATA_EFENCED_LEADER_EPOCH);
  if (q->role != QUORUM_LEADER) return error_answer(q, u, m, rt, STRATA_ENOT_LEADER);
  int is_voter;
  struct quorum_progress *p = progress_of(q, &m->src, &is_voter);
  if (!p) return error_answer(q, u, m, rt, STRATA_EQUEUE_FULL);
  p->node = m->src.id;
  p->last_fetch_ms = now;
  p->begun = 1;
  if (m->type == QUORUM_FETCH_SNAPSHOT_REQ) {
    if (q->snapshot.end_offset < 0 || m->snap_req.id.end_offset != q->snapshot.end_offset ||
        m->snap_req.id.epoch != q->snapshot.epoch)
      return error_answer(q, u, m, rt, STRATA_EOFFSET_OUT_OF_RANGE); /* not (no longer) ours */
    struct quorum_msg *r = msg_new(q, u, rt, m->src.id);
    if (r) {
      r->snap_resp.id = q->snapshot;
      r->snap_resp.position = m->snap_req.position;
    }
    return 0;
  }
  int64_t off = m->fetch_req.offset;
  int32_t fe = m->fetch_req.last_epoch;
  int32_t de = -1;
  int64_t dend = -1;
  enum fetch_check fc = off < q->log_start ? FETCH_SNAPSHOT : fetch_check(q, off, fe, &de, &dend);
  if (fc != FETCH_VALID) {
    /* Below our log start the records are only in our snapshot (KIP-630);
     * else the follower's log forks from ours. */
    struct quorum_msg *r = msg_new(q, u, rt, m->src.id);
    if (!r) return 0;
    r->fetch_resp.fetch_offset = off;
    r->fetch_resp.last_fetched_epoch = fe;
    r->fetch_resp.hw = q->hw;
    r->fetch_resp.log_start = q->log_start;
    r->fetch_resp.diverging_epoch = fc == FETCH_DIVERGING ? de : -1;
    r->fetch_resp.diverging_end = fc == FETCH_DIVERGING ? dend : -1;
    r->fetch_resp.snapshot.end_offset = -1;
    if (fc == FETCH_SNAPSHOT) r->fetch_resp.snapshot = q->snapshot;
    return 0;
  }
  STRATA_ASSERT(off <= q->log_end);
  p->end_offset = off;
  p->parked = 0;
  if (is_voter) update_hw(q, u, now);
  if (q->role != QUORUM_LEADER) return error_answer(q, u, m, rt, STRATA_ENOT_LEADER); /* removed */
  if (off < q->log_end) {
    answer_fetch(q, u, m->src.id, off, fe);
  } else {
    /* Nothing new: hold it (long poll) until records or the high watermark move. */
    p->parked = 1;
    p->parked_until = now + q->cfg.fetch_max_wait_ms;
    p->parked_offset = off;
    p->parked_epoch = fe;
  }
  return 0;
}

/* ---- the follower's side of fetch ------------------------------------------ */

/* Send the next fetch when we follow a leader, none is on its way, no
 * snapshot is coming, and what we appended is durable: the offset we
 * report is one our disk keeps, so the leader may count it (KRaft flushes
 * before it fetches again). */
static void maybe_fetch(struct quorum *q, struct quorum_update *u, int64_t now) {
  if (q->leader < 0 || q->leader == q->cfg.self.id) return;
  if (q->role != QUORUM_FOLLOWER && q->role != QUORUM_UNATTACHED) return;
  if (q->fetch_sent_ms >= 0 || q->snap_installing) return;
  if (q->snap_fetch.end_offset >= 0) {
    struct quorum_msg *m = msg_new(q, u, QUORUM_FETCH_SNAPSHOT_REQ, q->leader);
    if (!m) return;
    m->snap_req.id = q->snap_fetch;
    m->snap_req.position = q->snap_position;
    q->fetch_sent_ms = now;
    return;
  }
  if (q->persisted_end < q->log_end) return;
  struct quorum_msg *m = msg_new(q, u, QUORUM_FETCH_REQ, q->leader);
  if (!m) return;
  m->fetch_req.offset = q->log_end;
  m->fetch_req.last_epoch = last_epoch(q, q->log_end);
  q->fetch_sent_ms = now;
}

/* The leader told us where our log forks from its own: cut at the end of
 * the epoch we share (its end there, or ours when ours ends earlier), never
 * below our log start. What is committed is never cut (asserted). */
static void truncate_to(struct quorum *q, struct quorum_update *u, int64_t now, int32_t div_epoch,
                        int64_t div_end) {
  int64_t cut = div_end < q->log_end ? div_end : q->log_end;
  int64_t own = epoch_end(q, div_epoch);
  if (own < cut) cut = own;
  if (cut < q->log_start) cut = q->log_start;
  STRATA_ASSERT(cut >= q->hw);
  if (cut == q->log_end) return;
  epoch_truncate(q, cut);
  vsets_truncate(q, cut, now);
  q->log_end = cut;
  if (q->persisted_end > cut) q->persisted_end = cut;
  u->flags |= QUORUM_U_TRUNCATE;
  u->truncate_to = cut;
}

/* The follower's high watermark: the leader's, as far as our log reaches
 * (our log matches the leader's up to our end once a fetch was valid). */
static void follow_hw(struct quorum *q, struct quorum_update *u, int64_t leader_hw) {
  int64_t hw = leader_hw < q->log_end ? leader_hw : q->log_end;
  if (hw > q->hw) {
    q->hw = hw;
    u->flags |= QUORUM_U_HW;
  }
}

/* Checks an answer's spans: contiguous from our log end, each epoch at
 * least the one before (and our last), none newer than the leader's. */
static int spans_ok(const struct quorum *q, const struct quorum_msg *m, uint32_t *total) {
  int64_t next = q->log_end;
  int32_t prev = last_epoch(q, q->log_end);
  uint64_t t = 0;
  for (uint32_t i = 0; i < m->fetch_resp.nspans; i++) {
    const struct quorum_span *s = &m->fetch_resp.spans[i];
    if (s->base != next || s->count == 0 || s->epoch < prev || s->epoch > m->epoch || s->epoch < 1)
      return 0;
    t += s->count;
    if (t > FETCH_RECORDS_LIMIT) return 0;
    next += s->count;
    prev = s->epoch;
  }
  *total = (uint32_t)t;
  return 1;
}

/* Checks an answer's VotersRecords: none beside a divergence or a
 * snapshot id, each inside the records it carries, in order, a valid set. */
static int vrecs_ok(const struct quorum *q, const struct quorum_msg *m, uint32_t total) {
  uint32_t n = m->fetch_resp.nvrecs;
  if (!n) return 1;
  if (n > QUORUM_FETCH_VSETS_MAX || m->fetch_resp.diverging_epoch >= 0 ||
      m->fetch_resp.snapshot.end_offset >= 0)
    return 0;
  int64_t prev = q->log_end - 1;
  for (uint32_t i = 0; i < n; i++) {
    const struct quorum_voters_at *v = &m->fetch_resp.vrecs[i];
    if (v->offset <= prev || v->offset >= q->log_end + (int64_t)total || !set_valid(&v->set))
      return 0;
    prev = v->offset;
  }
  return 1;
}

/* A fetch or snapshot-fetch answer. Only the answer to the fetch now on
 * its way counts (it echoes our offset and last epoch); it truncates,
 * appends, starts a snapshot download or moves our high watermark, and the
 * next fetch follows once what we appended is durable. */
static int on_fetch_answer(struct quorum *q, struct quorum_update *u, int64_t now,
                           const struct quorum_msg *m) {
  if (m->epoch > q->epoch) {
    catch_up_epoch(q, u, now, m);
    return 0;
  }
  if (m->epoch < q->epoch || q->fetch_sent_ms < 0) return 0; /* stale */
  if (q->leader < 0 && q->role == QUORUM_UNATTACHED && m->leader >= 0 &&
      m->leader != q->cfg.self.id) {
    /* A voter told us (an observer looking, or a voter behind) who leads. */
    to_follower(q, u, now, m->epoch, m->leader, m->src.id == m->leader);
    return 0;
  }
  if (m->src.id != q->leader) return 0;
  if (m->error) {
    /* Asked again after the request timeout (the fetch stays on its way). */
    if (m->error == STRATA_ENOT_LEADER && m->leader < 0) {
      /* Our leader resigned without the EndQuorumEpoch reaching us. */
      to_unattached(q, u, now, q->epoch, now + election_timeout(q));
    } else if (m->type == QUORUM_FETCH_SNAPSHOT_RESP && m->error == STRATA_EOFFSET_OUT_OF_RANGE &&
               q->snap_fetch.end_offset >= 0 && !q->snap_installing &&
               m->snap_resp.id.end_offset == q->snap_fetch.end_offset &&
               m->snap_resp.id.epoch == q->snap_fetch.epoch) {
      /* Our leader took a newer snapshot while we fetched this one (it
       * serves only its latest): start over with a fetch, whose answer
       * names the new one. Asking again for the old one would go unanswered
       * until the fetch timeout made us campaign (found by the simulator's
       * ctl-snap). The leader answered in our epoch: it is alive. */
      q->snap_fetch.end_offset = -1;
      q->snap_position = q->snap_size = 0;
      q->fetch_sent_ms = -1;
      q->last_fetch_ok_ms = q->leader_heard_ms = now;
      maybe_fetch(q, u, now);
    }
    return 0;
  }
  if (m->type == QUORUM_FETCH_SNAPSHOT_RESP) {
    if (q->snap_fetch.end_offset < 0 || m->snap_resp.id.end_offset != q->snap_fetch.end_offset ||
        m->snap_resp.id.epoch != q->snap_fetch.epoch || m->snap_resp.position != q->snap_position)
      return 0; /* an answer to an older request */
    if (m->snap_resp.size <= 0 || m->snap_resp.size > QUORUM_SNAPSHOT_SIZE_MAX ||
        (q->snap_size && m->snap_resp.size != q->snap_size) ||
        (int64_t)m->snap_resp.len > m->snap_resp.size - m->snap_resp.position ||
        (m->snap_resp.len == 0 && m->snap_resp.position < m->snap_resp.size))
      return STRATA_EINVALID_REQUEST;
    q->fetch_sent_ms = -1;
    q->last_fetch_ok_ms = q->leader_heard_ms = now;
    q->snap_size = m->snap_resp.size;
    u->flags |= QUORUM_U_SNAP_CHUNK;
    u->snap_chunk.id = q->snap_fetch;
    u->snap_chunk.position = m->snap_resp.position;
    u->snap_chunk.len = m->snap_resp.len;
    q->snap_position += m->snap_resp.len;
    if (q->snap_position == q->snap_size) {
      u->flags |= QUORUM_U_SNAP_INSTALL;
      u->snap_install = q->snap_fetch;
      q->snap_installing = 1;
    }
    maybe_fetch(q, u, now);
    return 0;
  }
  if (q->snap_fetch.end_offset >= 0 || q->snap_installing) return 0; /* a snapshot is coming */
  if (m->fetch_resp.fetch_offset != q->log_end ||
      m->fetch_resp.last_fetched_epoch != last_epoch(q, q->log_end))
    return 0; /* an answer to an older fetch */
  uint32_t total = 0;
  if (m->fetch_resp.hw < 0 || m->fetch_resp.log_start < 0 || !spans_ok(q, m, &total) ||
      (m->fetch_resp.diverging_epoch >= 0 && m->fetch_resp.diverging_end < 0) ||
      !vrecs_ok(q, m, total))
    return STRATA_EINVALID_REQUEST;
  q->fetch_sent_ms = -1;
  q->last_fetch_ok_ms = q->leader_heard_ms = now;
  if (m->fetch_resp.snapshot.end_offset >= 0) {
    /* Our fetch offset is below it, or our log forks inside it: it
     * replaces our log. It holds only committed records, so it never ends
     * below what we know to be committed. */
    if (m->fetch_resp.snapshot.end_offset < q->hw || m->fetch_resp.snapshot.epoch < 1)
      return STRATA_EINVALID_REQUEST;
    q->snap_fetch = m->fetch_resp.snapshot;
    q->snap_position = q->snap_size = 0;
  } else if (m->fetch_resp.diverging_epoch >= 0) {
    truncate_to(q, u, now, m->fetch_resp.diverging_epoch, m->fetch_resp.diverging_end);
  } else if (total) {
    for (uint32_t i = 0; i < m->fetch_resp.nspans; i++)
      epoch_add(q, m->fetch_resp.spans[i].epoch, m->fetch_resp.spans[i].base);
    u->flags |= QUORUM_U_APPEND;
    u->append.offset = q->log_end;
    u->append.count = total;
    u->append.epoch = m->fetch_resp.spans[m->fetch_resp.nspans - 1].epoch;
    u->append.source = QUORUM_FROM_FETCH;
    q->log_end += total;
    /* Its VotersRecords take effect now, appended (KIP-853). What the
     * high watermark passes in this answer is committed: folded first. */
    if (m->fetch_resp.nvrecs) {
      int64_t hw = m->fetch_resp.hw < q->log_end ? m->fetch_resp.hw : q->log_end;
      if (hw > q->hw) vsets_fold(q, hw);
      for (uint32_t i = 0; i < m->fetch_resp.nvrecs; i++) {
        if (q->nvrecs == QUORUM_VSETS_MAX) vsets_fold(q, q->vrecs[0].offset + 1);
        vsets_push(q, m->fetch_resp.vrecs[i].offset, &m->fetch_resp.vrecs[i].set, now);
      }
    }
  }
  if (m->fetch_resp.snapshot.end_offset < 0 && m->fetch_resp.diverging_epoch < 0)
    follow_hw(q, u, m->fetch_resp.hw);
  maybe_fetch(q, u, now);
  return 0;
}

/* ---- elections ------------------------------------------------------------- */

/* Raft's up-to-date check: the candidate's log (last epoch, then end
 * offset) is at least ours. Ours is all we appended, persisted or not:
 * refusing on a record we may still lose is only more careful. */
static int log_ok(const struct quorum *q, int32_t cand_epoch, int64_t cand_end) {
  int32_t mine = last_epoch(q, q->log_end);
  return cand_epoch > mine || (cand_epoch == mine && cand_end >= q->log_end);
}

/* Whether we may vote on this request (KIP-853). The candidate must
 * address us by our own key: a wiped node (a new directory id) is never
 * the voter a candidate knows, so it never votes (KAFKA-14077). And the
 * candidate must be a voter of our set, or an id our set does not have at
 * all: a voter added by a VotersRecord we have not fetched yet (only its
 * own set counts its votes). An id we know with another directory id is a
 * wiped node: refused. Our own membership is not consulted (Raft, §4.1 of
 * Ongaro's thesis): a node whose log removed it may still be needed by a
 * candidate whose log has not, or no majority may form. */
static int candidate_ok(const struct quorum *q, const struct quorum_msg *m) {
  return quorum_is_voter(q, &m->src) || voter_index_id(q, m->src.id) < 0;
}
static int vote_allowed(const struct quorum *q, const struct quorum_msg *m) {
  return key_eq(&m->dst, &q->cfg.self) && candidate_ok(q, m);
}

/* Vote and pre-vote requests (KIP-595, KIP-996). A real vote is granted
 * once per epoch and persisted before the answer leaves (the update's
 * state); a pre-vote is answered without any state change. */
static int on_vote_req(struct quorum *q, struct quorum_update *u, int64_t now,
                       const struct quorum_msg *m) {
  int pre = m->vote_req.pre_vote;
  int grant = 0;
  /* KIP-853: only a voter, addressed by its own directory id, votes; and
   * only for a voter. A wiped node (new directory id) is an observer. */
  int leader_alive = q->role == QUORUM_LEADER ||
                     (q->role == QUORUM_FOLLOWER && q->leader_heard_ms >= 0 &&
                      now - q->leader_heard_ms < q->cfg.fetch_timeout_ms);
  int may_vote = vote_allowed(q, m);
  /* a later epoch is adopted by a voter, or by whoever the candidate asks as one */
  int adopt = candidate_ok(q, m) && (q->self_voter || may_vote);
  if (!quorum_is_voter(q, &m->src) && leader_alive) {
    /* A candidate our set does not have, while we hear from a leader: most
     * likely a removed (or wiped) node that does not know it yet. Ignored,
     * epoch and all, as Raft's §4.2.3 ignores vote requests while a leader
     * is heard, or it would depose a healthy leader over and over. */
    may_vote = adopt = 0;
  }
  if (pre && m->epoch - 1 > q->epoch && adopt) {
    /* The requester is already in a later epoch (it lost an election
     * there): adopt it, as Raft does for any later epoch, or it could never
     * rejoin (a leader of ours would never hear of it, and it ignores our
     * answers from an older epoch). etcd deposes the leader the same way. */
    to_unattached(q, u, now, m->epoch - 1, now + election_timeout(q));
  }
  if (pre) {
    /* No state changes for a pre-vote; refused by a leader, by a follower
     * that fetched within the fetch timeout (KIP-996), and for an epoch
     * we are already in or past. */
    grant = may_vote && m->epoch > q->epoch && !leader_alive &&
            log_ok(q, m->vote_req.last_epoch, m->vote_req.end_offset);
  } else {
    if (m->epoch > q->epoch && adopt)
      to_unattached(q, u, now, m->epoch, now + election_timeout(q));
    if (may_vote && m->epoch == q->epoch && q->leader < 0 &&
        log_ok(q, m->vote_req.last_epoch, m->vote_req.end_offset)) {
      if (q->vote.id < 0) {
        q->vote = m->src;
        persist(q, u);
        q->election_deadline = now + election_timeout(q);
        grant = 1;
      } else {
        grant = key_eq(&q->vote, &m->src); /* the same vote again (a resent request) */
      }
    }
  }
  struct quorum_msg *r = msg_new(q, u, QUORUM_VOTE_RESP, m->src.id);
  if (r) {
    r->vote_resp.pre_vote = pre;
    r->vote_resp.granted = grant;
  }
  return 0;
}

/* Count (pre-)votes: a majority of pre-votes makes a candidate, a majority
 * of votes a leader. A refusal that names the leader of our epoch makes a
 * prospective node follow it instead (KIP-996). */
static int on_vote_answer(struct quorum *q, struct quorum_update *u, int64_t now,
                          const struct quorum_msg *m) {
  if (m->epoch > q->epoch) {
    /* We are behind (a granted pre-vote never comes from a later epoch:
     * it is granted only for an epoch past the voter's). */
    catch_up_epoch(q, u, now, m);
    return 0;
  }
  int vi = voter_index(q, &m->src);
  if (vi < 0) return 0;
  if (m->vote_resp.pre_vote) {
    if (q->role != QUORUM_PROSPECTIVE) return 0;
    if (m->vote_resp.granted) {
      q->granted[vi] = 1;
      if (count(q->granted, q->cfg.nvoters) >= majority(q)) to_candidate(q, u, now);
    } else if (m->epoch == q->epoch && m->leader >= 0 && m->leader != q->cfg.self.id) {
      /* A voter still fetches from the leader of our epoch: follow it too. */
      if (q->leader >= 0 && q->leader != m->leader) return STRATA_EINVALID_REQUEST;
      to_follower(q, u, now, q->epoch, m->leader, 0);
    }
    return 0;
  }
  if (q->role != QUORUM_CANDIDATE || m->epoch != q->epoch) return 0;
  if (m->vote_resp.granted) {
    q->granted[vi] = 1;
    if (count(q->granted, q->cfg.nvoters) >= majority(q)) to_leader(q, u, now);
  }
  return 0;
}

/* BeginQuorumEpoch: a new leader announces itself (followers pull, so they
 * would otherwise not know whom to fetch from). */
static int on_begin_epoch(struct quorum *q, struct quorum_update *u, int64_t now,
                          const struct quorum_msg *m) {
  int err = 0;
  /* Not only from a voter of our set: with voter changes (KIP-853) the
   * leader may have been added by a VotersRecord we have not fetched yet.
   * Its election by a majority of its own set is what makes it leader. */
  if (m->leader != m->src.id) {
    err = STRATA_EINVALID_REQUEST;
  } else if (m->epoch < q->epoch) {
    err = STRATA_EFENCED_LEADER_EPOCH;
  } else if (m->epoch == q->epoch && q->leader >= 0 && q->leader != m->src.id) {
    err = STRATA_EINVALID_REQUEST; /* a second leader in one epoch: never from a correct peer */
  } else if (m->epoch > q->epoch || q->role != QUORUM_FOLLOWER) {
    to_follower(q, u, now, m->epoch, m->src.id, 1);
  } else {
    q->leader_heard_ms = now;
  }
  struct quorum_msg *r = msg_new(q, u, QUORUM_BEGIN_EPOCH_RESP, m->src.id);
  if (r) r->error = err;
  return err == STRATA_EINVALID_REQUEST ? err : 0;
}

/* EndQuorumEpoch: our leader resigned (check-quorum or a transfer). */
static int on_end_epoch(struct quorum *q, struct quorum_update *u, int64_t now,
                        const struct quorum_msg *m) {
  if (m->epoch > q->epoch) {
    to_unattached(q, u, now, m->epoch, now + election_timeout(q));
  } else if (m->epoch == q->epoch && q->leader == m->src.id && q->role == QUORUM_FOLLOWER) {
    /* The leader resigned: the first preferred successor campaigns almost
     * at once, the others later in order, the rest after a full timeout. */
    int64_t et = q->cfg.election_timeout_ms, deadline = now + election_timeout(q);
    for (uint32_t i = 0; i < m->end_epoch.nsuccessors; i++)
      if (m->end_epoch.successors[i] == q->cfg.self.id) {
        deadline = i == 0 ? now + rng_range(q, 0, et / 10 + 1)
                          : now + rng_range(q, et / 2 * i, et / 2 * i + et);
        break;
      }
    to_unattached(q, u, now, q->epoch, deadline);
  }
  msg_new(q, u, QUORUM_END_EPOCH_RESP, m->src.id);
  return 0;
}

/* Bad bytes from the network end here, with an error, before any state changes. */
static int msg_valid(const struct quorum_msg *m) {
  if (m->type < QUORUM_VOTE_REQ || m->type > QUORUM_FETCH_SNAPSHOT_RESP) return 0;
  if (m->src.id < 0 || m->epoch < 0 || m->leader < -1) return 0;
  switch (m->type) {
    case QUORUM_VOTE_REQ:
      return m->vote_req.end_offset >= 0 && m->vote_req.last_epoch >= 0 &&
             m->vote_req.last_epoch <= m->epoch;
    case QUORUM_END_EPOCH_REQ: return m->end_epoch.nsuccessors <= QUORUM_VOTERS_MAX;
    case QUORUM_FETCH_REQ:
      return m->fetch_req.offset >= 0 && m->fetch_req.last_epoch >= 0 &&
             m->fetch_req.last_epoch <= m->epoch;
    case QUORUM_FETCH_RESP: return m->fetch_resp.nspans <= QUORUM_SPANS_MAX;
    case QUORUM_FETCH_SNAPSHOT_REQ:
      return m->snap_req.id.end_offset >= 0 && m->snap_req.id.epoch >= 0 &&
             m->snap_req.position >= 0;
    case QUORUM_FETCH_SNAPSHOT_RESP:
      return m->snap_resp.position >= 0 && m->snap_resp.size >= 0;
    default: return 1;
  }
}

/* Dispatch a received message by type, after checking its fields. */
static int on_receive(struct quorum *q, struct quorum_update *u, int64_t now,
                      const struct quorum_msg *m) {
  if (!msg_valid(m)) return STRATA_EINVALID_REQUEST;
  if (m->src.id == q->cfg.self.id) return STRATA_EINVALID_REQUEST;
  switch (m->type) {
    case QUORUM_VOTE_REQ: return on_vote_req(q, u, now, m);
    case QUORUM_VOTE_RESP: return on_vote_answer(q, u, now, m);
    case QUORUM_BEGIN_EPOCH_REQ: return on_begin_epoch(q, u, now, m);
    case QUORUM_END_EPOCH_REQ: return on_end_epoch(q, u, now, m);
    case QUORUM_FETCH_REQ:
    case QUORUM_FETCH_SNAPSHOT_REQ: return on_fetch(q, u, now, m);
    case QUORUM_FETCH_RESP:
    case QUORUM_FETCH_SNAPSHOT_RESP: return on_fetch_answer(q, u, now, m);
    case QUORUM_BEGIN_EPOCH_RESP:
    case QUORUM_END_EPOCH_RESP:
      if (m->epoch > q->epoch) {
        catch_up_epoch(q, u, now, m);
      } else if (m->type == QUORUM_BEGIN_EPOCH_RESP && q->role == QUORUM_LEADER &&
                 m->epoch == q->epoch && !m->error) {
        int vi = voter_index(q, &m->src);
        if (vi >= 0) q->voters[vi].begun = 1;
      }
      return 0;
  }
  return STRATA_EINVALID_REQUEST;
}

/* ---- timers ------------------------------------------------------------------ */

/* When a majority last fetched: the contact time such that, counting us,
 * a majority of voters fetched at or after it (a new leader's grace counts
 * as contact). */
static int64_t quorum_contact(const struct quorum *q) {
  int64_t t[QUORUM_VOTERS_MAX];
  uint32_t n = 0;
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    if ((int)i == self_index(q)) continue;
    int64_t v = q->voters[i].last_fetch_ms > q->leader_since_ms ? q->voters[i].last_fetch_ms
                                                                 : q->leader_since_ms;
    uint32_t j = n++;
    for (; j > 0 && t[j - 1] < v; j--) t[j] = t[j - 1];
    t[j] = v;
  }
  uint32_t need = majority(q) - (q->self_voter ? 1 : 0); /* others needed besides us */
  return need == 0 ? NEVER : t[need - 1];
}

static int64_t check_quorum_deadline(const struct quorum *q) {
  int64_t c = quorum_contact(q);
  return c == NEVER ? NEVER : c + q->cfg.fetch_timeout_ms * CHECK_QUORUM_NUM / CHECK_QUORUM_DEN;
}

/* Timers: a leader's check-quorum, held fetches and BeginQuorumEpoch
 * resends; a follower's fetch timeout; a voter's election timeout; an
 * observer's search for the leader; a lost fetch asked again. */
static void on_tick(struct quorum *q, struct quorum_update *u, int64_t now) {
  switch (q->role) {
    case QUORUM_LEADER:
      if (now >= check_quorum_deadline(q)) {
        resign(q, u, now, -1); /* check-quorum: a majority stopped fetching */
        return;
      }
      answer_parked(q, u, now, 1);
      if (now >= q->begin_resend_at) {
        send_begin_epoch(q, u);
        q->begin_resend_at = now + q->cfg.fetch_timeout_ms / 2;
      }
      return;
    case QUORUM_FOLLOWER:
      if (now - q->last_fetch_ok_ms >= q->cfg.fetch_timeout_ms) {
        if (q->self_voter) to_prospective(q, u, now);
        else to_unattached(q, u, now, q->epoch, NEVER);
        return;
      }
      break;
    case QUORUM_UNATTACHED:
    case QUORUM_PROSPECTIVE:
    case QUORUM_CANDIDATE:
    case QUORUM_RESIGNED:
      if (q->self_voter && now >= q->election_deadline) {
        to_prospective(q, u, now);
        return;
      }
      if (!q->self_voter && q->leader < 0 && now >= q->fetch_retry_at && q->cfg.nvoters) {
        /* An observer without a leader asks a voter; the answer names it. */
        int32_t to = q->cfg.voters[rng_range(q, 0, q->cfg.nvoters)].id;
        /* Its offset must be durable too: a leader that added us (KIP-853)
         * counts it towards the high watermark before we know we vote. */
        struct quorum_msg *m = to == q->cfg.self.id || q->persisted_end < q->log_end
                                   ? NULL
                                   : msg_new(q, u, QUORUM_FETCH_REQ, to);
        if (m) {
          m->fetch_req.offset = q->log_end;
          m->fetch_req.last_epoch = last_epoch(q, q->log_end);
        }
        q->fetch_sent_ms = now;
        q->fetch_retry_at = now + q->cfg.request_timeout_ms / 4 + rng_range(q, 0, 100);
        return;
      }
      break;
  }
  /* A fetch that got no answer in time is lost: ask again. */
  if (q->fetch_sent_ms >= 0 && now - q->fetch_sent_ms >= q->cfg.request_timeout_ms) {
    q->fetch_sent_ms = -1;
    maybe_fetch(q, u, now);
  }
}

/* The earliest of the timers on_tick serves: the update's deadline_ms. */
static int64_t next_deadline(const struct quorum *q) {
  int64_t d = NEVER;
#define AT(x)                 \
  do {                        \
    int64_t v_ = (x);         \
    if (v_ < d) d = v_;       \
  } while (0)
  switch (q->role) {
    case QUORUM_LEADER:
      AT(check_quorum_deadline(q));
      AT(q->begin_resend_at);
      for (uint32_t i = 0; i < q->cfg.nvoters; i++)
        if (q->voters[i].parked) AT(q->voters[i].parked_until);
      for (uint32_t i = 0; i < q->nobservers; i++)
        if (q->observers[i].parked) AT(q->observers[i].parked_until);
      break;
    case QUORUM_FOLLOWER: AT(q->last_fetch_ok_ms + q->cfg.fetch_timeout_ms); break;
    default:
      if (q->self_voter) AT(q->election_deadline);
      else if (q->leader < 0) AT(q->fetch_retry_at);
      break;
  }
  if (q->fetch_sent_ms >= 0) AT(q->fetch_sent_ms + q->cfg.request_timeout_ms);
#undef AT
  return d;
}

/* ---- the step ---------------------------------------------------------------- */

void quorum_init(struct quorum *q, const struct quorum_config *cfg) {
  memset(q, 0, sizeof *q);
  q->cfg = *cfg;
  STRATA_ASSERT(cfg->nvoters <= QUORUM_VOTERS_MAX && cfg->fetch_max_records >= 1);
  q->self_idx = voter_index(q, &cfg->self);
  q->self_voter = q->self_idx >= 0;
  memcpy(q->static_set.voters, cfg->voters, cfg->nvoters * sizeof *cfg->voters);
  q->static_set.n = cfg->nvoters;
  q->base = q->static_set;
  q->leader = -1;
  q->vote.id = -1;
  q->fetch_sent_ms = -1;
  q->snap_fetch.end_offset = -1;
  q->snapshot.end_offset = -1;
}

/* Recover from what the disk holds: the quorum-state file and the log. A
 * restarted node is never leader: it was either leader of its epoch
 * (Resigned: it may have lost records it sent, so it must never lead that
 * epoch again) or it keeps its vote and waits. */
static int on_start(struct quorum *q, struct quorum_update *u, int64_t now,
                    const struct quorum_event *e) {
  const struct quorum_persisted *s = &e->start.state;
  if (q->started || s->epoch < 0 || e->start.log_end < 0 || e->start.nepochs > QUORUM_EPOCHS_MAX ||
      (e->start.nepochs && !e->start.epochs))
    return STRATA_EINVALID_ARGUMENT;
  int64_t start = e->start.snapshot.end_offset >= 0 ? e->start.snapshot.end_offset : 0;
  if (start > e->start.log_end) return STRATA_EINVALID_ARGUMENT;
  for (uint32_t i = 0; i < e->start.nepochs; i++) {
    const struct quorum_epoch_start *x = &e->start.epochs[i];
    if (x->epoch < 1 || x->start < 0 || x->start > e->start.log_end || x->epoch > s->epoch ||
        (i && (x->epoch <= e->start.epochs[i - 1].epoch || x->start < e->start.epochs[i - 1].start)))
      return STRATA_EINVALID_ARGUMENT;
  }
  const struct quorum_voter_set *sv = &e->start.snapshot_voters;
  if ((sv->n && !set_valid(sv)) || (e->start.nvrecs && !e->start.vrecs) ||
      (!sv->n && !set_valid(&q->static_set)))
    return STRATA_EINVALID_ARGUMENT;
  for (uint32_t i = 0; i < e->start.nvrecs; i++) {
    const struct quorum_voters_at *v = &e->start.vrecs[i];
    if (v->offset < start || v->offset >= e->start.log_end || !set_valid(&v->set) ||
        (i && v->offset <= e->start.vrecs[i - 1].offset))
      return STRATA_EINVALID_ARGUMENT;
  }
  q->started = 1;
  q->rng = e->start.seed;
  /* The voter set: the snapshot's (else the configured one), then the
   * log's VotersRecords; all but the last QUORUM_VSETS_MAX are committed
   * (one change is in flight at a time) and fold into the base. */
  if (sv->n) q->base = *sv;
  q->nvrecs = 0;
  for (uint32_t i = 0; i < e->start.nvrecs; i++) {
    if (q->nvrecs == QUORUM_VSETS_MAX) vsets_fold(q, q->vrecs[0].offset + 1);
    q->vrecs[q->nvrecs].offset = e->start.vrecs[i].offset;
    q->vrecs[q->nvrecs++].set = e->start.vrecs[i].set;
  }
  use_voters(q, now);
  q->epoch = s->epoch;
  q->vote = s->vote;
  q->leader = s->leader;
  q->snapshot = e->start.snapshot;
  q->log_start = start;
  q->log_end = q->persisted_end = e->start.log_end;
  q->hw = start; /* the snapshot is committed; the rest we learn again */
  if (e->start.nepochs) memcpy(q->epochs, e->start.epochs, e->start.nepochs * sizeof *q->epochs);
  q->nepochs = e->start.nepochs;
  if (q->leader == q->cfg.self.id && q->self_voter) {
    q->role = QUORUM_RESIGNED;
    q->election_deadline = now + election_timeout(q);
  } else if (q->leader == q->cfg.self.id) {
    to_unattached(q, u, now, q->epoch, NEVER);
  } else if (q->leader >= 0) {
    to_follower(q, u, now, q->epoch, q->leader, 0);
  } else {
    to_unattached(q, u, now, q->epoch, now + election_timeout(q));
  }
  return 0;
}

/* An fsync covered the log up to offset: a leader may count itself that
 * far, a follower may fetch again. */
static int on_persisted(struct quorum *q, struct quorum_update *u, int64_t now,
                        const struct quorum_event *e) {
  int64_t o = e->persisted.offset;
  /* Only when the record at o - 1 is still the one that was synced (same
   * epoch: by log matching, the same prefix). */
  if (o <= q->persisted_end || o > q->log_end || quorum_epoch_at(q, o - 1) != e->persisted.epoch)
    return 0;
  q->persisted_end = o;
  update_hw(q, u, now);
  maybe_fetch(q, u, now);
  return 0;
}

/* A snapshot is durable: an installed leader's one replaces our log; our
 * own one (of committed records only) lets the log start move up. */
static int on_snapshot(struct quorum *q, struct quorum_update *u, int64_t now,
                       const struct quorum_event *e) {
  struct quorum_snapshot_id id = e->snapshot.id;
  if (id.end_offset <= 0 || id.epoch < 1) return STRATA_EINVALID_ARGUMENT;
  if (e->snapshot.replaced_log) {
    if (!q->snap_installing || id.end_offset != q->snap_fetch.end_offset ||
        id.epoch != q->snap_fetch.epoch)
      return STRATA_EINVALID_ARGUMENT;
    STRATA_ASSERT(id.end_offset >= q->hw);
    if (e->snapshot.voters.n && !set_valid(&e->snapshot.voters)) return STRATA_EINVALID_ARGUMENT;
    q->snapshot = id;
    q->log_start = q->log_end = q->persisted_end = id.end_offset;
    q->nepochs = 0;
    q->base = e->snapshot.voters.n ? e->snapshot.voters : q->static_set;
    q->nvrecs = 0;
    use_voters(q, now);
    q->hw = id.end_offset;
    u->flags |= QUORUM_U_HW;
    q->snap_installing = 0;
    q->snap_fetch.end_offset = -1;
    q->snap_position = q->snap_size = 0;
    maybe_fetch(q, u, now);
    return 0;
  }
  /* Our own snapshot of committed state: the log may drop what it covers. */
  if (id.end_offset > q->hw || id.end_offset <= q->log_start ||
      quorum_epoch_at(q, id.end_offset - 1) != id.epoch)
    return STRATA_EINVALID_ARGUMENT;
  q->snapshot = id;
  q->log_start = id.end_offset;
  if (q->persisted_end < q->log_start) {
    /* A follower's high watermark can pass what its disk synced: the
     * snapshot (durable) now covers those records, and the PERSISTED
     * event for them will be no news. The next fetch waits on nothing:
     * send it now, or the follower sits until its fetch timeout and
     * campaigns (found by metalog_quorum_test's newer-snapshot case). */
    q->persisted_end = q->log_start;
    maybe_fetch(q, u, now);
  }
  return 0;
}

/* AddRaftVoter / RemoveRaftVoter on the leader (KIP-853): one change at a
 * time, only once a record of our epoch is committed (so every earlier
 * leader's change is committed too, and each set differs from the last
 * committed one by one voter: Raft's single-server change keeps any two
 * majorities overlapping). A new voter must be an observer with exactly
 * that key, fetching within the fetch timeout and at our high watermark:
 * a voter with an empty log would slow every commit, or worse. The
 * VotersRecord takes effect as it is appended. */
static int change_voters(struct quorum *q, struct quorum_update *u, int64_t now,
                         const struct quorum_key *k, int add) {
  if (q->role != QUORUM_LEADER) return STRATA_ENOT_CONTROLLER;
  if (k->id < 0) return STRATA_EINVALID_ARGUMENT;
  if (q->hw <= epoch_start(q, q->epoch) || q->nvrecs) return STRATA_EVOTER_CHANGE_IN_PROGRESS;
  if (q->log_end - q->hw >= QUORUM_UNCOMMITTED_MAX) return STRATA_EQUEUE_FULL;
  struct quorum_voter_set s = *current_set(q);
  if (add) {
    if (voter_index_id(q, k->id) >= 0) return STRATA_EDUPLICATE_VOTER;
    if (!dir_known(k->dir) || s.n == QUORUM_VOTERS_MAX) return STRATA_EINVALID_ARGUMENT;
    const struct quorum_progress *p = NULL;
    for (uint32_t i = 0; i < q->nobservers; i++)
      if (key_eq(&q->observers[i].key, k)) p = &q->observers[i];
    if (!p || p->last_fetch_ms < 0 || now - p->last_fetch_ms >= q->cfg.fetch_timeout_ms ||
        p->end_offset < q->hw)
      return STRATA_EVOTER_NOT_CAUGHT_UP;
    s.voters[s.n++] = *k;
  } else {
    int vi = voter_index(q, k);
    if (vi < 0) return STRATA_EVOTER_NOT_FOUND;
    if (s.n == 1) return STRATA_ELAST_VOTER;
    memmove(&s.voters[vi], &s.voters[vi + 1], (s.n - (uint32_t)vi - 1) * sizeof *s.voters);
    s.n--;
  }
  u->flags |= QUORUM_U_APPEND;
  u->append.offset = q->log_end;
  u->append.count = 1;
  u->append.epoch = q->epoch;
  u->append.source = QUORUM_FROM_VOTERS;
  u->append.voters = s;
  q->log_end++;
  vsets_push(q, q->log_end - 1, &s, now);
  answer_parked(q, u, now, 0);
  update_hw(q, u, now); /* the new majority may already hold more */
  return 0;
}

int quorum_step(struct quorum *q, const struct quorum_event *e, struct quorum_update *u) {
  memset(u, 0, sizeof *u);
  enum quorum_role role0 = q->role;
  int32_t epoch0 = q->epoch, leader0 = q->leader;
  int64_t hw0 = q->hw;
  int rc = 0;
  int64_t now = e->now_ms;
  if (e->type != QUORUM_START && !q->started) {
    rc = STRATA_EINVALID_ARGUMENT;
  } else {
    switch (e->type) {
      case QUORUM_START: rc = on_start(q, u, now, e); break;
      case QUORUM_RECEIVE: rc = e->msg ? on_receive(q, u, now, e->msg) : STRATA_EINVALID_ARGUMENT; break;
      case QUORUM_PERSISTED: rc = on_persisted(q, u, now, e); break;
      case QUORUM_SNAPSHOT_DONE: rc = on_snapshot(q, u, now, e); break;
      case QUORUM_TICK: on_tick(q, u, now); break;
      case QUORUM_SUBMIT:
        if (q->role != QUORUM_LEADER) {
          rc = STRATA_ENOT_CONTROLLER;
        } else if (e->submit == 0) {
          rc = STRATA_EINVALID_ARGUMENT;
        } else if (q->log_end - q->hw + e->submit > QUORUM_UNCOMMITTED_MAX) {
          rc = STRATA_EQUEUE_FULL;
        } else {
          u->flags |= QUORUM_U_APPEND;
          u->append.offset = q->log_end;
          u->append.count = e->submit;
          u->append.epoch = q->epoch;
          u->append.source = QUORUM_FROM_SUBMIT;
          q->log_end += e->submit;
          answer_parked(q, u, now, 0);
        }
        break;
      case QUORUM_ADD_VOTER:
      case QUORUM_REMOVE_VOTER:
        rc = change_voters(q, u, now, &e->voter, e->type == QUORUM_ADD_VOTER);
        break;
      case QUORUM_TRANSFER:
        if (q->role != QUORUM_LEADER) {
          rc = STRATA_ENOT_CONTROLLER;
        } else if (e->transfer_to == q->cfg.self.id || voter_index_id(q, e->transfer_to) < 0) {
          rc = STRATA_EINVALID_ARGUMENT;
        } else {
          resign(q, u, now, e->transfer_to);
        }
        break;
      default: rc = STRATA_EINVALID_ARGUMENT; break;
    }
  }
  STRATA_ASSERT(q->hw >= hw0 || !q->started);
  if (q->started) vsets_fold(q, q->hw);
  if (q->hw != hw0) u->flags |= QUORUM_U_HW;
  u->hw = q->hw;
  if (q->role != role0 || q->epoch != epoch0 || q->leader != leader0) u->flags |= QUORUM_U_ROLE;
  u->role = q->role;
  u->epoch = q->epoch;
  u->leader = q->leader;
  u->deadline_ms = next_deadline(q);
  if (q->started) quorum_invariants(q);
  return rc;
}

void quorum_describe(const struct quorum *q, struct quorum_description *d) {
  memset(d, 0, sizeof *d);
  d->role = q->role;
  d->epoch = q->epoch;
  d->leader = q->leader;
  d->hw = q->hw;
  d->log_start = q->log_start;
  d->log_end = q->log_end;
  d->nvoters = q->cfg.nvoters;
  for (uint32_t i = 0; i < q->cfg.nvoters; i++) {
    d->voters[i].key = q->cfg.voters[i];
    d->voters[i].end_offset = -1;
    d->voters[i].last_fetch_ms = -1;
    if (q->role != QUORUM_LEADER) continue;
    if ((int)i == self_index(q)) {
      d->voters[i].end_offset = q->persisted_end;
    } else {
      d->voters[i].end_offset = q->voters[i].end_offset;
      d->voters[i].last_fetch_ms = q->voters[i].last_fetch_ms;
    }
  }
  if (q->role == QUORUM_LEADER) {
    d->nobservers = q->nobservers;
    for (uint32_t i = 0; i < q->nobservers; i++) {
      d->observers[i].key = q->observers[i].key;
      d->observers[i].end_offset = q->observers[i].end_offset;
      d->observers[i].last_fetch_ms = q->observers[i].last_fetch_ms;
    }
  }
}

void quorum_invariants(const struct quorum *q) {
  STRATA_ASSERT(q->log_start >= 0 && q->log_start <= q->hw && q->hw <= q->log_end);
  STRATA_ASSERT(q->persisted_end >= q->log_start && q->persisted_end <= q->log_end);
  for (uint32_t i = 1; i < q->nepochs; i++) {
    STRATA_ASSERT(q->epochs[i].epoch > q->epochs[i - 1].epoch);
    STRATA_ASSERT(q->epochs[i].start >= q->epochs[i - 1].start);
  }
  if (q->nepochs) {
    STRATA_ASSERT(q->epochs[q->nepochs - 1].start <= q->log_end);
    STRATA_ASSERT(q->epochs[q->nepochs - 1].epoch <= q->epoch);
  }
  if (q->snapshot.end_offset >= 0) STRATA_ASSERT(q->snapshot.end_offset == q->log_start);
  /* The set in effect is the log's latest; the records above the base are
   * uncommitted, in order, inside the log. */
  const struct quorum_voter_set *cur = current_set(q);
  STRATA_ASSERT(q->cfg.nvoters == cur->n && q->nvrecs <= QUORUM_VSETS_MAX);
  for (uint32_t i = 0; i < cur->n; i++) STRATA_ASSERT(key_eq(&q->cfg.voters[i], &cur->voters[i]));
  for (uint32_t i = 0; i < q->nvrecs; i++) {
    STRATA_ASSERT(q->vrecs[i].offset >= q->hw && q->vrecs[i].offset < q->log_end);
    STRATA_ASSERT(!i || q->vrecs[i].offset > q->vrecs[i - 1].offset);
  }
  STRATA_ASSERT(q->self_voter == (voter_index(q, &q->cfg.self) >= 0));
  switch (q->role) {
    case QUORUM_LEADER:
      /* a leader that removed itself leads until that change commits */
      STRATA_ASSERT((q->self_voter || q->nvrecs) && q->leader == q->cfg.self.id &&
                    key_eq(&q->vote, &q->cfg.self));
      STRATA_ASSERT(epoch_start(q, q->epoch) >= 0); /* its LeaderChange record */
      break;
    case QUORUM_CANDIDATE:
      STRATA_ASSERT(q->self_voter && key_eq(&q->vote, &q->cfg.self) && q->leader < 0);
      break;
    case QUORUM_PROSPECTIVE: STRATA_ASSERT(q->self_voter); break;
    case QUORUM_RESIGNED: STRATA_ASSERT(q->self_voter && q->leader == q->cfg.self.id); break;
    case QUORUM_FOLLOWER: STRATA_ASSERT(q->leader >= 0 && q->leader != q->cfg.self.id); break;
    case QUORUM_UNATTACHED: break;
  }
}

/* A voter's directory id learned at first contact (the glue pins it).
 * Only an unknown (all zero) entry of another voter changes: until then
 * nothing from that voter counted (voter keys compare the directory), so
 * no vote, fetch offset or HW depends on it. */
int quorum_learn_voter_dir(struct quorum *q, int32_t id, const uint8_t dir[QUORUM_DIR_LEN]) {
  static const uint8_t zero[QUORUM_DIR_LEN];
  int vi = voter_index_id(q, id);
  if (vi < 0 || id == q->cfg.self.id || !memcmp(dir, zero, QUORUM_DIR_LEN))
    return STRATA_EINVALID_ARGUMENT;
  if (memcmp(q->cfg.voters[vi].dir, zero, QUORUM_DIR_LEN))
    return memcmp(q->cfg.voters[vi].dir, dir, QUORUM_DIR_LEN) ? STRATA_EINVALID_ARGUMENT : 0;
  memcpy(q->cfg.voters[vi].dir, dir, QUORUM_DIR_LEN);
  if (q->role == QUORUM_LEADER) memcpy(q->voters[vi].key.dir, dir, QUORUM_DIR_LEN);
  /* the same entry in the sets it came from (the static one, not yet
   * replaced by a VotersRecord that knows the directory) */
  struct quorum_voter_set *sets[2 + QUORUM_VSETS_MAX] = {&q->static_set, &q->base};
  uint32_t ns = 2;
  for (uint32_t i = 0; i < q->nvrecs; i++) sets[ns++] = &q->vrecs[i].set;
  for (uint32_t i = 0; i < ns; i++)
    for (uint32_t j = 0; j < sets[i]->n; j++)
      if (sets[i]->voters[j].id == id && !memcmp(sets[i]->voters[j].dir, zero, QUORUM_DIR_LEN))
        memcpy(sets[i]->voters[j].dir, dir, QUORUM_DIR_LEN);
  return 0;
}
