/* controller/quorum.c: transcripts of the KRaft core, one behaviour each.
 * A small harness holds a few cores, carries out their updates (the
 * quorum-state "file", the log end) and keeps their messages in one
 * mailbox that the tests deliver from by hand, so each test says exactly
 * which message reaches whom, when. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/errors.h"
#include "controller/quorum.h"

#define NODES 5
#define BOX_MAX 512
#define SNAP_SIZE 150
#define SNAP_CHUNK 100

struct tnode {
  struct quorum_config cfg;
  struct quorum q;
  struct quorum_update u;
  struct quorum_persisted st; /* the quorum-state file */
  int auto_persist;           /* fsync every append at once */
  int installs;
  /* The VotersRecords in its log (what the glue would read from the
   * records): appended by ADD/REMOVE_VOTER or a fetch, cut by truncation. */
  struct quorum_voters_at vl[32];
  int nvl;
};

struct boxed {
  int from;
  struct quorum_msg m;
};

static struct tnode T[NODES];
static int nn;
static int64_t now;
static struct boxed box[BOX_MAX];
static int nbox;

static struct quorum_key key(int id) {
  struct quorum_key k = {.id = id};
  k.dir[0] = (uint8_t)(id + 1);
  return k;
}

/* n voters 0..n-1 (Kafka's defaults, scaled down by 10). */
static void setup_nodes(int n) {
  memset(T, 0, sizeof T);
  nn = n;
  now = 1000;
  nbox = 0;
  for (int i = 0; i < n; i++) {
    struct quorum_config *c = &T[i].cfg;
    c->self = key(i);
    c->nvoters = (uint32_t)n;
    for (int j = 0; j < n; j++) c->voters[j] = key(j);
    c->election_timeout_ms = 100;
    c->fetch_timeout_ms = 200;
    c->fetch_max_wait_ms = 50;
    c->request_timeout_ms = 150;
    c->fetch_max_records = 100;
    T[i].st = (struct quorum_persisted){0, {-1, {0}}, -1};
    T[i].auto_persist = 1;
  }
}

static int step(int i, const struct quorum_event *e);

static void do_persist(int i) {
  struct quorum_event e = {.type = QUORUM_PERSISTED, .now_ms = now};
  e.persisted.offset = T[i].q.log_end;
  e.persisted.epoch = quorum_epoch_at(&T[i].q, T[i].q.log_end - 1);
  cr_assert_eq(step(i, &e), 0);
}

/* Step node i, then carry out its update as the glue would. */
static int step(int i, const struct quorum_event *e) {
  struct quorum_update *u = &T[i].u;
  int rc = quorum_step(&T[i].q, e, u);
  if (u->flags & QUORUM_U_STATE) T[i].st = u->state;
  /* the glue's part: which records are VotersRecords */
  if (u->flags & QUORUM_U_TRUNCATE)
    while (T[i].nvl && T[i].vl[T[i].nvl - 1].offset >= u->truncate_to) T[i].nvl--;
  if ((u->flags & QUORUM_U_APPEND) && u->append.source == QUORUM_FROM_VOTERS) {
    cr_assert_lt(T[i].nvl, 32);
    T[i].vl[T[i].nvl].offset = u->append.offset;
    T[i].vl[T[i].nvl++].set = u->append.voters;
  }
  if ((u->flags & QUORUM_U_APPEND) && u->append.source == QUORUM_FROM_FETCH &&
      e->type == QUORUM_RECEIVE)
    for (uint32_t k = 0; k < e->msg->fetch_resp.nvrecs; k++) {
      cr_assert_lt(T[i].nvl, 32);
      T[i].vl[T[i].nvl++] = e->msg->fetch_resp.vrecs[k];
    }
  for (uint32_t k = 0; k < u->nmsgs; k++) {
    cr_assert_lt(nbox, BOX_MAX);
    box[nbox].from = i;
    box[nbox].m = u->msgs[k];
    nbox++;
  }
  cr_assert_eq(u->dropped, 0);
  if (u->flags & QUORUM_U_SNAP_INSTALL) T[i].installs++;
  if ((u->flags & QUORUM_U_APPEND) && T[i].auto_persist) {
    struct quorum_update saved = *u;
    do_persist(i);
    T[i].u = saved; /* the test looks at the first update */
  }
  return rc;
}

static void start(int i, struct quorum_persisted st, int64_t log_end, const struct quorum_epoch_start *ep,
                  uint32_t nep, struct quorum_snapshot_id snap) {
  quorum_init(&T[i].q, &T[i].cfg);
  T[i].st = st;
  struct quorum_event e = {.type = QUORUM_START, .now_ms = now};
  e.start.state = st;
  e.start.seed = (uint64_t)i * 7919 + 1;
  e.start.snapshot = snap;
  e.start.log_end = log_end;
  e.start.epochs = ep;
  e.start.nepochs = nep;
  cr_assert_eq(step(i, &e), 0);
}

static const struct quorum_persisted FRESH = {0, {-1, {0}}, -1};
static const struct quorum_snapshot_id NOSNAP = {-1, 0};

static void start_all(void) {
  for (int i = 0; i < nn; i++) start(i, FRESH, 0, NULL, 0, NOSNAP);
}

/* Node i's timer fires (the clock moves to its deadline). */
static void expire(int i) {
  cr_assert_neq(T[i].u.deadline_ms, INT64_MAX, "node %d has no deadline", i);
  if (T[i].u.deadline_ms > now) now = T[i].u.deadline_ms;
  struct quorum_event e = {.type = QUORUM_TICK, .now_ms = now};
  cr_assert_eq(step(i, &e), 0);
}

static void tick(int i) {
  struct quorum_event e = {.type = QUORUM_TICK, .now_ms = now};
  cr_assert_eq(step(i, &e), 0);
}

/* The glue's part of a fetch answer: the VotersRecords among its records
 * (from the sender's log, as the receiver reads them from the batches). */
static void fill_vrecs(struct quorum_msg *m, int from) {
  if (m->type != QUORUM_FETCH_RESP || !m->fetch_resp.nspans) return;
  int64_t lo = m->fetch_resp.spans[0].base;
  const struct quorum_span *last = &m->fetch_resp.spans[m->fetch_resp.nspans - 1];
  int64_t hi = last->base + last->count;
  m->fetch_resp.nvrecs = 0;
  for (int k = 0; k < T[from].nvl; k++)
    if (T[from].vl[k].offset >= lo && T[from].vl[k].offset < hi) {
      cr_assert_lt(m->fetch_resp.nvrecs, QUORUM_FETCH_VSETS_MAX);
      m->fetch_resp.vrecs[m->fetch_resp.nvrecs++] = T[from].vl[k];
    }
}

/* The glue's part of a snapshot answer: its size and this chunk's length. */
static void fill_snapshot_chunk(struct quorum_msg *m) {
  if (m->type != QUORUM_FETCH_SNAPSHOT_RESP || m->error) return;
  m->snap_resp.size = SNAP_SIZE;
  int64_t left = SNAP_SIZE - m->snap_resp.position;
  m->snap_resp.len = (uint32_t)(left < SNAP_CHUNK ? left : SNAP_CHUNK);
}

/* Take the first message matching (type, from, to; 0 or -1: any) out of
 * the mailbox; 1 when there was one. */
static int take(int type, int from, int to, struct boxed *out) {
  for (int k = 0; k < nbox; k++) {
    const struct boxed *b = &box[k];
    if ((type && (int)b->m.type != type) || (from >= 0 && b->from != from) || (to >= 0 && b->m.to != to))
      continue;
    *out = *b;
    memmove(&box[k], &box[k + 1], (size_t)(nbox - k - 1) * sizeof *box);
    nbox--;
    return 1;
  }
  return 0;
}

/* Deliver one such message; its receiver's return code (cr-fails if none). */
static int deliver(int type, int from, int to) {
  struct boxed b;
  cr_assert(take(type, from, to, &b), "no message type %d from %d to %d", type, from, to);
  fill_snapshot_chunk(&b.m);
  fill_vrecs(&b.m, b.from);
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &b.m};
  return step(b.m.to, &e);
}

/* Deliver everything (and what that sends) except to or from `cut` nodes
 * (a bit each), dropping those. */
static void deliver_all_but(unsigned cut) {
  for (int rounds = 0; nbox && rounds < 10000; rounds++) {
    struct boxed b = box[0];
    memmove(&box[0], &box[1], (size_t)(nbox - 1) * sizeof *box);
    nbox--;
    if ((cut >> b.from & 1) || (cut >> b.m.to & 1) || b.m.to < 0 || b.m.to >= nn) continue;
    fill_snapshot_chunk(&b.m);
    fill_vrecs(&b.m, b.from);
    struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &b.m};
    cr_assert_eq(step(b.m.to, &e), 0, "node %d refused message type %d", b.m.to, b.m.type);
  }
}
static void deliver_all(void) { deliver_all_but(0); }

static const struct quorum_msg *peek(int type, int from) {
  for (int k = 0; k < nbox; k++)
    if ((int)box[k].m.type == type && box[k].from == from) return &box[k].m;
  return NULL;
}

static int count_msgs(int type, int from) {
  int c = 0;
  for (int k = 0; k < nbox; k++) c += (int)box[k].m.type == type && (from < 0 || box[k].from == from);
  return c;
}

/* Elect node `who` (its timer first), with everyone reachable. */
static void elect(int who) {
  expire(who);
  deliver_all();
  cr_assert_eq(T[who].q.role, QUORUM_LEADER, "node %d is %s", who, quorum_role_name(T[who].q.role));
}

/* ---- elections ------------------------------------------------------------------ */

Test(quorum, single_voter_elects_itself_and_commits_only_after_its_own_fsync) {
  setup_nodes(1);
  T[0].auto_persist = 0;
  start_all();
  cr_assert_eq(T[0].q.role, QUORUM_UNATTACHED);
  expire(0);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  cr_assert_eq(T[0].q.epoch, 1);
  /* its vote for itself is in the same update, to persist first */
  cr_assert(T[0].u.flags & QUORUM_U_STATE);
  cr_assert_eq(T[0].st.epoch, 1);
  cr_assert_eq(T[0].st.vote.id, 0);
  /* the LeaderChange record of epoch 1, not committed before its fsync */
  cr_assert(T[0].u.flags & QUORUM_U_APPEND);
  cr_assert_eq(T[0].u.append.source, QUORUM_FROM_LEADER_CHANGE);
  cr_assert_eq(T[0].u.append.offset, 0);
  cr_assert_eq(T[0].q.hw, 0);
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 3};
  cr_assert_eq(step(0, &s), 0);
  cr_assert_eq(T[0].u.append.offset, 1);
  cr_assert_eq(T[0].u.append.count, 3);
  cr_assert_eq(T[0].q.hw, 0);
  do_persist(0);
  cr_assert(T[0].u.flags & QUORUM_U_HW);
  cr_assert_eq(T[0].q.hw, 4);
}

Test(quorum, three_voters_elect_after_pre_votes_and_votes_persisted_before_answers) {
  setup_nodes(3);
  start_all();
  expire(0);
  cr_assert_eq(T[0].q.role, QUORUM_PROSPECTIVE);
  cr_assert_eq(T[0].q.epoch, 0, "a pre-vote changes no epoch");
  cr_assert_eq(count_msgs(QUORUM_VOTE_REQ, 0), 2);
  cr_assert(box[0].m.vote_req.pre_vote);
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 0, 1), 0);
  cr_assert_eq(T[1].q.epoch, 0, "granting a pre-vote changes nothing");
  cr_assert_eq(T[1].st.vote.id, -1);
  cr_assert_eq(deliver(QUORUM_VOTE_RESP, 1, 0), 0);
  /* a majority of pre-votes: a candidate of epoch 1, its vote persisted first */
  cr_assert_eq(T[0].q.role, QUORUM_CANDIDATE);
  cr_assert_eq(T[0].q.epoch, 1);
  cr_assert(T[0].u.flags & QUORUM_U_STATE);
  cr_assert_eq(T[0].u.state.vote.id, 0);
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 0, 2), 0); /* the old pre-vote request to 2 */
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 0, 1), 0); /* the real one */
  /* the voter's answer and its persisted vote come in one update */
  cr_assert(T[1].u.flags & QUORUM_U_STATE);
  cr_assert_eq(T[1].u.state.epoch, 1);
  cr_assert_eq(T[1].u.state.vote.id, 0);
  cr_assert_eq(T[1].u.nmsgs, 1);
  cr_assert(T[1].u.msgs[0].vote_resp.granted);
  deliver_all();
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  cr_assert_eq(T[1].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(T[2].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(T[1].q.leader, 0);
  /* BeginQuorumEpoch told them; their fetches carried the LeaderChange
   * record; the high watermark covers it on every node */
  cr_assert_eq(T[0].q.hw, 1);
  expire(0); /* the held fetches' wait ends: they learn the high watermark */
  deliver_all();
  cr_assert_eq(T[1].q.hw, 1);
  cr_assert_eq(T[2].q.hw, 1);
}

Test(quorum, vote_refused_to_a_shorter_log) {
  setup_nodes(3);
  /* node 1 holds epoch 1 at 0..3 and epoch 2 at 4..5: last epoch 2, end 6 */
  struct quorum_epoch_start ep[] = {{1, 0}, {2, 4}};
  start(1, (struct quorum_persisted){2, {-1, {0}}, -1}, 6, ep, 2, NOSNAP);
  struct quorum_msg m = {.type = QUORUM_VOTE_REQ, .to = 1, .src = key(0), .dst = key(1), .epoch = 3, .leader = -1};
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &m};
  /* same last epoch, shorter */
  m.vote_req.last_epoch = 2;
  m.vote_req.end_offset = 5;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_not(T[1].u.msgs[0].vote_resp.granted);
  cr_assert_eq(T[1].q.epoch, 3, "the request's epoch is adopted all the same");
  /* longer, but an older last epoch */
  m.vote_req.last_epoch = 1;
  m.vote_req.end_offset = 50;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_not(T[1].u.msgs[0].vote_resp.granted);
  cr_assert_eq(T[1].st.vote.id, -1);
  /* as long: granted */
  m.vote_req.last_epoch = 2;
  m.vote_req.end_offset = 6;
  cr_assert_eq(step(1, &e), 0);
  cr_assert(T[1].u.msgs[0].vote_resp.granted);
  cr_assert_eq(T[1].st.vote.id, 0);
}

Test(quorum, one_vote_per_epoch_survives_a_restart) {
  setup_nodes(3);
  start(1, FRESH, 0, NULL, 0, NOSNAP);
  struct quorum_msg m = {.type = QUORUM_VOTE_REQ, .to = 1, .src = key(0), .dst = key(1), .epoch = 5, .leader = -1};
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &m};
  cr_assert_eq(step(1, &e), 0);
  cr_assert(T[1].u.msgs[0].vote_resp.granted);
  /* crash: only the quorum-state file survives */
  struct quorum_persisted st = T[1].st;
  cr_assert_eq(st.epoch, 5);
  cr_assert_eq(st.vote.id, 0);
  start(1, st, 0, NULL, 0, NOSNAP);
  cr_assert_eq(T[1].q.role, QUORUM_UNATTACHED);
  m.src = key(2);
  cr_assert_eq(step(1, &e), 0);
  cr_assert_not(T[1].u.msgs[0].vote_resp.granted, "a second vote in epoch 5");
  m.src = key(0);
  cr_assert_eq(step(1, &e), 0);
  cr_assert(T[1].u.msgs[0].vote_resp.granted, "the same vote again (a resent request)");
}

Test(quorum, restarted_leader_comes_back_resigned_and_never_leads_that_epoch) {
  setup_nodes(3);
  struct quorum_epoch_start ep[] = {{2, 0}};
  start(0, (struct quorum_persisted){2, key(0), 0}, 3, ep, 1, NOSNAP);
  cr_assert_eq(T[0].q.role, QUORUM_RESIGNED);
  cr_assert_eq(T[0].q.epoch, 2);
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 1};
  cr_assert_eq(step(0, &s), STRATA_ENOT_CONTROLLER);
  /* it may campaign, for the next epoch only */
  expire(0);
  cr_assert_eq(T[0].q.role, QUORUM_PROSPECTIVE);
  cr_assert_eq(box[0].m.epoch, 3);
}

/* ---- pre-vote and check-quorum ------------------------------------------------- */

Test(quorum, pre_vote_refused_while_the_leader_is_alive) {
  setup_nodes(3);
  start_all();
  elect(0);
  /* node 2 is cut off; node 1 keeps fetching; node 2's fetches time out */
  for (int k = 0; k < 4; k++) {
    now += 60;
    tick(0);
    tick(1);
    deliver_all_but(1 << 2);
  }
  tick(2);
  cr_assert_eq(T[2].q.role, QUORUM_PROSPECTIVE);
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 2, 1), 0);
  cr_assert_not(T[1].u.msgs[0].vote_resp.granted, "node 1 fetched from the leader just now");
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 2, 0), 0);
  cr_assert_not(T[0].u.msgs[0].vote_resp.granted, "the leader refuses");
  deliver_all_but(0);
  /* the refusal names the leader: node 2 follows it, no epoch was spent */
  cr_assert_eq(T[2].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(T[2].q.epoch, 1);
  cr_assert_eq(T[0].q.epoch, 1);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
}

Test(quorum, pre_vote_granted_once_the_leader_went_quiet) {
  setup_nodes(3);
  start_all();
  elect(0);
  nbox = 0; /* node 0 dies: its answers and held fetches are lost */
  now += T[1].cfg.fetch_timeout_ms;
  tick(1);
  cr_assert_eq(T[1].q.role, QUORUM_PROSPECTIVE);
  deliver_all_but(1 << 0);
  cr_assert_eq(T[1].q.role, QUORUM_LEADER);
  cr_assert_eq(T[1].q.epoch, 2);
}

Test(quorum, leader_resigns_when_a_majority_stops_fetching) {
  setup_nodes(3);
  start_all();
  elect(0);
  nbox = 0;
  /* 1.5 x the fetch timeout without a fetch from any follower */
  now += T[0].cfg.fetch_timeout_ms * 3 / 2 - 1;
  tick(0);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  now += 1;
  tick(0);
  cr_assert_eq(T[0].q.role, QUORUM_RESIGNED, "check-quorum");
  cr_assert_eq(count_msgs(QUORUM_END_EPOCH_REQ, 0), 2);
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 1};
  cr_assert_eq(step(0, &s), STRATA_ENOT_CONTROLLER);
}

Test(quorum, leader_with_one_fetching_follower_of_two_keeps_leading) {
  setup_nodes(3);
  start_all();
  elect(0);
  for (int i = 0; i < 10; i++) {
    now += 100;
    tick(0);
    deliver_all_but(1 << 2);
  }
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
}

Test(quorum, transfer_hands_leadership_to_the_named_voter) {
  setup_nodes(3);
  start_all();
  elect(0);
  struct quorum_event t = {.type = QUORUM_TRANSFER, .now_ms = now, .transfer_to = 2};
  cr_assert_eq(step(0, &t), 0);
  cr_assert_eq(T[0].q.role, QUORUM_RESIGNED);
  struct boxed b;
  cr_assert(take(QUORUM_END_EPOCH_REQ, 0, 2, &b));
  cr_assert_eq(b.m.end_epoch.successors[0], 2);
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &b.m};
  cr_assert_eq(step(2, &e), 0);
  deliver_all();
  /* the first successor campaigns within a tenth of an election timeout */
  cr_assert_leq(T[2].u.deadline_ms, now + T[2].cfg.election_timeout_ms / 10);
  expire(2);
  deliver_all();
  cr_assert_eq(T[2].q.role, QUORUM_LEADER);
  cr_assert_eq(T[2].q.epoch, 2);
}

/* ---- fetch ---------------------------------------------------------------------- */

Test(quorum, follower_truncates_to_the_end_of_the_epoch_it_shares_with_the_leader) {
  setup_nodes(3);
  /* node 0: epoch 1 at 0..4, epoch 3 at 5..7; node 1: epoch 1 at 0..4,
   * then epoch 2 at 5..8 (a leader of epoch 2 that never committed) */
  struct quorum_epoch_start e0[] = {{1, 0}, {3, 5}}, e1[] = {{1, 0}, {2, 5}};
  start(0, (struct quorum_persisted){3, {-1, {0}}, -1}, 8, e0, 2, NOSNAP);
  start(1, (struct quorum_persisted){3, {-1, {0}}, -1}, 9, e1, 2, NOSNAP);
  start(2, (struct quorum_persisted){3, {-1, {0}}, -1}, 0, NULL, 0, NOSNAP);
  expire(0);
  deliver_all_but(1 << 1); /* elected by node 2; node 1 hears nothing yet */
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  cr_assert_eq(T[0].q.epoch, 4);
  nbox = 0;
  now += 1;
  tick(0); /* BeginQuorumEpoch again after fetch timeout / 2 */
  now += T[0].cfg.fetch_timeout_ms / 2;
  tick(0);
  cr_assert_eq(deliver(QUORUM_BEGIN_EPOCH_REQ, 0, 1), 0);
  cr_assert_eq(T[1].q.role, QUORUM_FOLLOWER);
  const struct quorum_msg *f = peek(QUORUM_FETCH_REQ, 1);
  cr_assert(f);
  cr_assert_eq(f->fetch_req.offset, 9);
  cr_assert_eq(f->fetch_req.last_epoch, 2);
  cr_assert_eq(deliver(QUORUM_FETCH_REQ, 1, 0), 0);
  struct boxed b;
  cr_assert(take(QUORUM_FETCH_RESP, 0, 1, &b));
  cr_assert_eq(b.m.fetch_resp.diverging_epoch, 1, "the largest epoch <= 2 the leader has");
  cr_assert_eq(b.m.fetch_resp.diverging_end, 5);
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &b.m};
  cr_assert_eq(step(1, &e), 0);
  cr_assert(T[1].u.flags & QUORUM_U_TRUNCATE);
  cr_assert_eq(T[1].u.truncate_to, 5);
  cr_assert_eq(T[1].q.log_end, 5);
  /* the next fetch matches: epochs 3 and 4 arrive, in two spans */
  cr_assert_eq(deliver(QUORUM_FETCH_REQ, 1, 0), 0);
  cr_assert(take(QUORUM_FETCH_RESP, 0, 1, &b));
  cr_assert_eq(b.m.fetch_resp.nspans, 2);
  cr_assert_eq(b.m.fetch_resp.spans[0].base, 5);
  cr_assert_eq(b.m.fetch_resp.spans[0].count, 3);
  cr_assert_eq(b.m.fetch_resp.spans[0].epoch, 3);
  cr_assert_eq(b.m.fetch_resp.spans[1].epoch, 4);
  e.msg = &b.m;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_eq(T[1].u.append.offset, 5);
  cr_assert_eq(T[1].u.append.count, 4);
  cr_assert_eq(T[1].q.log_end, 9);
  cr_assert_eq(quorum_epoch_at(&T[1].q, 8), 4);
}

Test(quorum, high_watermark_waits_for_a_record_of_the_leaders_own_epoch) {
  setup_nodes(3);
  /* nodes 0 and 1 hold epoch 1 at 0..4, never committed as far as they know */
  struct quorum_epoch_start ep[] = {{1, 0}};
  start(0, (struct quorum_persisted){1, {-1, {0}}, -1}, 5, ep, 1, NOSNAP);
  start(1, (struct quorum_persisted){1, {-1, {0}}, -1}, 5, ep, 1, NOSNAP);
  start(2, (struct quorum_persisted){1, {-1, {0}}, -1}, 0, NULL, 0, NOSNAP);
  T[0].auto_persist = 0; /* the leader's LeaderChange record (offset 5) stays unsynced */
  expire(0);
  deliver_all_but(1 << 2);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  /* node 1 fetched at 5 then at 6: the epoch-1 records 0..4 are on a
   * majority, but no record of epoch 2 is (the leader has not synced its own) */
  cr_assert_eq(T[0].q.voters[1].end_offset, 6);
  cr_assert_eq(T[0].q.persisted_end, 5);
  cr_assert_eq(T[0].q.hw, 0, "records of an older epoch do not commit on their own");
  do_persist(0);
  cr_assert_eq(T[0].q.hw, 6);
}

Test(quorum, leader_counts_its_own_log_only_after_its_fsync) {
  setup_nodes(3);
  start_all();
  elect(0);
  cr_assert_eq(T[0].q.hw, 1);
  T[0].auto_persist = 0;
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 5};
  cr_assert_eq(step(0, &s), 0);
  deliver_all_but(1 << 2); /* node 1 fetches, appends and syncs 1..5 */
  cr_assert_eq(T[0].q.voters[1].end_offset, 6);
  cr_assert_eq(T[0].q.hw, 1, "on one follower's disk only: not a majority");
  do_persist(0);
  cr_assert_eq(T[0].q.hw, 6);
}

Test(quorum, follower_fetches_again_only_once_its_appends_are_durable) {
  setup_nodes(3);
  start_all();
  elect(0);
  T[1].auto_persist = 0;
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 2};
  cr_assert_eq(step(0, &s), 0);
  deliver_all_but(1 << 2);
  cr_assert_eq(T[1].q.log_end, 3);
  cr_assert_eq(count_msgs(QUORUM_FETCH_REQ, 1), 0, "no fetch reports an offset the disk may lose");
  cr_assert_eq(T[0].q.voters[1].end_offset, 1);
  do_persist(1);
  cr_assert_eq(count_msgs(QUORUM_FETCH_REQ, 1), 1);
  deliver_all_but(1 << 2);
  cr_assert_eq(T[0].q.hw, 3);
}

/* ---- snapshots ------------------------------------------------------------------ */

Test(quorum, follower_below_the_log_start_fetches_the_snapshot) {
  setup_nodes(3);
  /* node 0 took a snapshot of 0..9 (last epoch 1) and holds 10..11 */
  struct quorum_epoch_start ep[] = {{1, 0}};
  start(0, (struct quorum_persisted){1, {-1, {0}}, -1}, 12, ep, 1, (struct quorum_snapshot_id){10, 1});
  cr_assert_eq(T[0].q.log_start, 10);
  cr_assert_eq(T[0].q.hw, 10);
  start(1, (struct quorum_persisted){1, {-1, {0}}, -1}, 0, NULL, 0, NOSNAP);
  start(2, (struct quorum_persisted){1, {-1, {0}}, -1}, 0, NULL, 0, NOSNAP);
  expire(0);
  /* elected; node 1's first fetch (offset 0) gets the snapshot id */
  while (nbox) {
    struct boxed b;
    cr_assert(take(0, -1, -1, &b));
    fill_snapshot_chunk(&b.m);
    if (b.m.type == QUORUM_FETCH_RESP && b.m.to == 1 && b.m.fetch_resp.fetch_offset == 0) {
      cr_assert_eq(b.m.fetch_resp.snapshot.end_offset, 10);
      cr_assert_eq(b.m.fetch_resp.snapshot.epoch, 1);
    }
    struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &b.m};
    cr_assert_eq(step(b.m.to, &e), 0);
    if (T[b.m.to].u.flags & QUORUM_U_SNAP_INSTALL) {
      /* the glue installs it, replacing the log, and says so */
      cr_assert_eq(T[b.m.to].u.snap_install.end_offset, 10);
      struct quorum_event d = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = now};
      d.snapshot.id = T[b.m.to].u.snap_install;
      d.snapshot.replaced_log = 1;
      cr_assert_eq(step(b.m.to, &d), 0);
    }
  }
  cr_assert_eq(T[1].installs, 1, "two chunks of %d bytes, one install", SNAP_CHUNK);
  cr_assert_eq(T[1].q.log_start, 10);
  cr_assert_eq(T[1].q.log_end, 13, "then the records after it, and the LeaderChange");
  cr_assert_eq(T[1].q.hw, 10);
  cr_assert_eq(T[0].q.hw, 13);
}

Test(quorum, own_snapshot_moves_the_log_start_only_within_the_high_watermark) {
  setup_nodes(1);
  start_all();
  elect(0);
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 5};
  cr_assert_eq(step(0, &s), 0);
  cr_assert_eq(T[0].q.hw, 6);
  struct quorum_event d = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = now};
  d.snapshot.id = (struct quorum_snapshot_id){7, 1};
  cr_assert_eq(step(0, &d), STRATA_EINVALID_ARGUMENT, "past the high watermark");
  d.snapshot.id = (struct quorum_snapshot_id){4, 2};
  cr_assert_eq(step(0, &d), STRATA_EINVALID_ARGUMENT, "not the epoch of record 3");
  d.snapshot.id = (struct quorum_snapshot_id){4, 1};
  cr_assert_eq(step(0, &d), 0);
  cr_assert_eq(T[0].q.log_start, 4);
}

/* A follower catching up appends records its leader already committed:
 * its high watermark passes what its disk synced. A snapshot of its own at
 * that high watermark covers them (durably), so the PERSISTED to come is no
 * news: the next fetch must go at once, not after the fetch timeout. */
Test(quorum, own_snapshot_past_the_synced_end_sends_the_next_fetch) {
  setup_nodes(3);
  start_all();
  elect(0);
  deliver_all();
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 5};
  cr_assert_eq(step(0, &s), 0);
  deliver_all_but(1u << 1); /* committed with node 2; node 1 hears nothing */
  cr_assert_eq(T[0].q.hw, T[0].q.log_end);
  T[1].auto_persist = 0;
  now += 160; /* past node 1's request timeout (150), before its fetch timeout (200) */
  tick(1);
  cr_assert_eq(T[1].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(deliver(QUORUM_FETCH_REQ, 1, 0), 0);
  cr_assert_eq(deliver(QUORUM_FETCH_RESP, 0, 1), 0);
  cr_assert_eq(T[1].q.log_end, T[0].q.log_end);
  cr_assert_eq(T[1].q.hw, T[1].q.log_end);
  cr_assert_lt(T[1].q.persisted_end, T[1].q.log_end);
  cr_assert_eq(count_msgs(QUORUM_FETCH_REQ, 1), 0, "no fetch before the sync");
  struct quorum_event d = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = now};
  d.snapshot.id = (struct quorum_snapshot_id){T[1].q.hw, quorum_epoch_at(&T[1].q, T[1].q.hw - 1)};
  cr_assert_eq(step(1, &d), 0);
  cr_assert_eq(T[1].q.log_start, T[1].q.hw);
  cr_assert_eq(T[1].q.persisted_end, T[1].q.log_end);
  cr_assert_eq(count_msgs(QUORUM_FETCH_REQ, 1), 1, "the next fetch goes now");
}

/* ---- voters keyed by directory id (KIP-853) -------------------------------------- */

Test(quorum, node_with_a_new_directory_id_is_an_observer_that_cannot_vote) {
  setup_nodes(3);
  T[2].cfg.self.dir[0] = 99; /* its disk was wiped: a new directory id */
  start_all();
  cr_assert_eq(T[2].q.self_voter, 0);
  /* it never campaigns */
  cr_assert_eq(T[2].q.election_deadline, INT64_MAX);
  /* a vote request (addressed to the voter entry, the old directory id) is refused */
  struct quorum_msg m = {.type = QUORUM_VOTE_REQ, .to = 2, .src = key(0), .dst = key(2), .epoch = 1, .leader = -1};
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &m};
  cr_assert_eq(step(2, &e), 0);
  cr_assert_not(T[2].u.msgs[0].vote_resp.granted);
  cr_assert_eq(T[2].st.vote.id, -1);
  nbox = 0;
  /* node 0 is elected by node 1 alone (a majority of the voter set) */
  elect(0);
  /* the observer finds the leader and catches up, but does not count */
  for (int i = 0; i < 5 && T[2].q.role != QUORUM_FOLLOWER; i++) {
    expire(2);
    deliver_all();
  }
  cr_assert_eq(T[2].q.role, QUORUM_FOLLOWER);
  struct quorum_description d;
  quorum_describe(&T[0].q, &d);
  cr_assert_eq(d.nobservers, 1);
  cr_assert_eq(d.observers[0].key.id, 2);
  cr_assert_eq(d.observers[0].key.dir[0], 99);
  cr_assert_eq(d.voters[2].end_offset, -1, "the voter entry of node 2 saw no fetch");
  /* with node 1 gone, the observer's fetches keep nothing committed */
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 1};
  cr_assert_eq(step(0, &s), 0);
  deliver_all_but(1 << 1);
  cr_assert_eq(T[2].q.log_end, 2);
  cr_assert_eq(T[0].q.hw, 1);
  /* a voter refuses a request addressed to another directory id of it */
  nbox = 0;
  m.to = 1;
  m.epoch = 2;
  m.dst = key(1);
  m.dst.dir[0] = 42;
  m.vote_req.last_epoch = 1;
  m.vote_req.end_offset = 100;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_not(T[1].u.msgs[0].vote_resp.granted);
  cr_assert_eq(T[1].st.vote.id, -1);
}

/* ---- DescribeQuorum and bad input ------------------------------------------------ */

Test(quorum, describe_quorum_reports_each_voters_progress) {
  setup_nodes(3);
  start_all();
  elect(0);
  struct quorum_description d;
  quorum_describe(&T[0].q, &d);
  cr_assert_eq(d.role, QUORUM_LEADER);
  cr_assert_eq(d.epoch, 1);
  cr_assert_eq(d.leader, 0);
  cr_assert_eq(d.hw, 1);
  cr_assert_eq(d.nvoters, 3);
  cr_assert_eq(d.voters[0].end_offset, 1);
  cr_assert_eq(d.voters[1].end_offset, 1);
  cr_assert_eq(d.voters[1].last_fetch_ms, now);
  quorum_describe(&T[1].q, &d);
  cr_assert_eq(d.role, QUORUM_FOLLOWER);
  cr_assert_eq(d.leader, 0);
}

Test(quorum, bad_messages_are_refused_and_change_nothing) {
  setup_nodes(3);
  start_all();
  elect(0);
  struct quorum before = T[1].q;
  struct quorum_msg bad[6];
  memset(bad, 0, sizeof bad);
  for (int i = 0; i < 6; i++) {
    bad[i].src = key(0);
    bad[i].dst = key(1);
    bad[i].to = 1;
    bad[i].epoch = 1;
    bad[i].leader = 0;
  }
  bad[0].type = 77;
  bad[1].type = QUORUM_VOTE_REQ, bad[1].vote_req.end_offset = -3;
  bad[2].type = QUORUM_FETCH_RESP, bad[2].fetch_resp.nspans = QUORUM_SPANS_MAX + 1;
  bad[3].type = QUORUM_BEGIN_EPOCH_REQ, bad[3].src.id = -7;
  bad[4].type = QUORUM_FETCH_REQ, bad[4].fetch_req.last_epoch = 9; /* past the sender's epoch */
  bad[5].type = QUORUM_END_EPOCH_REQ, bad[5].end_epoch.nsuccessors = 1000;
  for (int i = 0; i < 6; i++) {
    struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &bad[i]};
    cr_assert_eq(step(1, &e), STRATA_EINVALID_REQUEST, "message %d", i);
  }
  /* a fetch answer whose records do not follow our log */
  struct quorum_msg r = {.type = QUORUM_FETCH_RESP, .to = 1, .src = key(0), .dst = key(1), .epoch = 1, .leader = 0};
  T[1].q.fetch_sent_ms = now;
  before.fetch_sent_ms = now;
  r.fetch_resp.fetch_offset = 1;
  r.fetch_resp.last_fetched_epoch = 1;
  r.fetch_resp.diverging_epoch = -1;
  r.fetch_resp.snapshot.end_offset = -1;
  r.fetch_resp.nspans = 1;
  r.fetch_resp.spans[0] = (struct quorum_span){1, 3, 7}; /* an epoch past the leader's */
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &r};
  cr_assert_eq(step(1, &e), STRATA_EINVALID_REQUEST);
  cr_assert_eq(T[1].q.log_end, before.log_end);
  cr_assert_eq(T[1].q.epoch, before.epoch);
  cr_assert_eq(T[1].q.role, before.role);
  cr_assert_eq(T[1].q.hw, before.hw);
  cr_assert_eq(T[1].u.nmsgs, 0);
  /* events before START, and a second START */
  struct quorum fresh;
  quorum_init(&fresh, &T[1].cfg);
  struct quorum_update u;
  struct quorum_event t = {.type = QUORUM_TICK, .now_ms = now};
  cr_assert_eq(quorum_step(&fresh, &t, &u), STRATA_EINVALID_ARGUMENT);
  struct quorum_event st = {.type = QUORUM_START, .now_ms = now};
  st.start.state = FRESH;
  st.start.snapshot = NOSNAP;
  cr_assert_eq(step(1, &st), STRATA_EINVALID_ARGUMENT);
}

/* Run the cluster: the earliest timer fires, everything is delivered,
 * until every node agrees on one leader (or rounds run out). */
static int settle(int rounds) {
  for (int r = 0; r < rounds; r++) {
    int first = 0;
    for (int i = 1; i < nn; i++)
      if (T[i].u.deadline_ms < T[first].u.deadline_ms) first = i;
    expire(first);
    deliver_all();
    int32_t l = T[0].q.leader;
    if (l < 0) continue;
    int agree = T[l].q.role == QUORUM_LEADER;
    for (int i = 0; i < nn; i++) agree &= T[i].q.leader == l && T[i].q.epoch == T[l].q.epoch;
    if (agree) return l;
  }
  return -1;
}

Test(quorum, voter_stuck_in_a_later_epoch_rejoins) {
  setup_nodes(3);
  start_all();
  elect(0);
  /* node 2 lost two elections alone while cut off: epoch 3, its own vote */
  start(2, (struct quorum_persisted){3, key(2), -1}, 0, NULL, 0, NOSNAP);
  nbox = 0;
  int l = settle(50);
  cr_assert_geq(l, 0, "no leader all three agree on");
  cr_assert_geq(T[l].q.epoch, 4);
  cr_assert_neq(l, 2, "its log is shorter: it cannot win");
  cr_assert_eq(T[2].q.role, QUORUM_FOLLOWER);
}

/* ---- voter changes (KIP-853) ------------------------------------------------------ */

/* nv voters 0..nv-1 and observers nv..n-1 (every node knows the voters). */
static void setup_with_observers(int n, int nv) {
  setup_nodes(n);
  for (int i = 0; i < n; i++) T[i].cfg.nvoters = (uint32_t)nv;
}

static int change(int leader, int add, struct quorum_key k) {
  struct quorum_event e = {.type = add ? QUORUM_ADD_VOTER : QUORUM_REMOVE_VOTER, .now_ms = now};
  e.voter = k;
  return step(leader, &e);
}

/* Observer i finds the leader and fetches until it holds the leader's log. */
static void catch_up(int i, int leader) {
  for (int r = 0; r < 20 && !(T[i].q.role == QUORUM_FOLLOWER && T[i].q.log_end == T[leader].q.log_end &&
                              T[i].q.hw == T[leader].q.hw); r++) {
    expire(T[i].u.deadline_ms < T[leader].u.deadline_ms ? i : leader);
    deliver_all();
  }
  cr_assert_eq(T[i].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(T[i].q.log_end, T[leader].q.log_end);
}

Test(quorum, add_voter_makes_a_caught_up_observer_a_voter_as_soon_as_appended) {
  setup_with_observers(4, 3);
  start_all();
  cr_assert_eq(T[3].q.self_voter, 0);
  elect(0);
  catch_up(3, 0);
  cr_assert_eq(change(0, 1, key(3)), 0);
  cr_assert(T[0].u.flags & QUORUM_U_APPEND);
  cr_assert_eq(T[0].u.append.source, QUORUM_FROM_VOTERS);
  cr_assert_eq(T[0].u.append.voters.n, 4);
  int64_t at = T[0].u.append.offset;
  /* in effect on the leader at once, committed or not: 3 of 4 now make a majority */
  cr_assert_eq(T[0].q.cfg.nvoters, 4);
  cr_assert_lt(T[0].q.hw, at + 1);
  struct quorum_description d;
  quorum_describe(&T[0].q, &d);
  cr_assert_eq(d.nvoters, 4);
  cr_assert_eq(d.nobservers, 0, "its observer progress became a voter's");
  /* only the new voter gets it: leader + node 3 = 2 of 4, not a majority */
  deliver_all_but(1 << 1 | 1 << 2);
  for (int r = 0; r < 3; r++) {
    expire(0);
    deliver_all_but(1 << 1 | 1 << 2);
  }
  cr_assert_eq(T[3].q.log_end, at + 1);
  cr_assert_eq(T[3].q.self_voter, 1, "a node counts itself a voter once the record is in its log");
  cr_assert_lt(T[0].q.hw, at + 1, "2 of 4 is no majority");
  /* node 1 too: 3 of 4 */
  nbox = 0;
  expire(0);
  for (int r = 0; r < 4; r++) {
    expire(0);
    deliver_all_but(1 << 2);
  }
  cr_assert_geq(T[0].q.hw, at + 1);
  /* a second change may go once the first is committed */
  cr_assert_eq(change(0, 0, key(3)), 0);
}

Test(quorum, add_voter_refuses_an_observer_that_is_not_caught_up) {
  setup_with_observers(4, 3);
  start_all();
  elect(0);
  /* never fetched */
  cr_assert_eq(change(0, 1, key(3)), STRATA_EVOTER_NOT_CAUGHT_UP);
  cr_assert_eq(T[0].q.cfg.nvoters, 3);
  cr_assert_eq(T[0].u.flags & QUORUM_U_APPEND, 0);
  catch_up(3, 0);
  /* another directory id than the one fetching: not that observer */
  struct quorum_key other = key(3);
  other.dir[0] = 77;
  cr_assert_eq(change(0, 1, other), STRATA_EVOTER_NOT_CAUGHT_UP);
  /* behind the high watermark: the leader commits more while it is cut off */
  struct quorum_event s = {.type = QUORUM_SUBMIT, .now_ms = now, .submit = 5};
  cr_assert_eq(step(0, &s), 0);
  for (int r = 0; r < 3; r++) {
    deliver_all_but(1 << 3);
    now += 1;
    tick(0);
  }
  deliver_all_but(1 << 3);
  cr_assert_eq(T[0].q.hw, T[0].q.log_end);
  cr_assert_lt(T[3].q.log_end, T[0].q.hw);
  cr_assert_eq(change(0, 1, key(3)), STRATA_EVOTER_NOT_CAUGHT_UP);
  /* caught up again, but silent past the fetch timeout */
  catch_up(3, 0);
  cr_assert_eq(change(0, 1, key(3)), 0);
  cr_assert_eq(T[0].q.cfg.nvoters, 4);
}

Test(quorum, add_voter_refused_when_stale_and_an_existing_id_is_a_duplicate) {
  setup_with_observers(4, 3);
  start_all();
  elect(0);
  catch_up(3, 0);
  nbox = 0;
  now += T[0].cfg.fetch_timeout_ms; /* node 3 stopped fetching */
  cr_assert_eq(change(0, 1, key(3)), STRATA_EVOTER_NOT_CAUGHT_UP);
  cr_assert_eq(change(0, 1, key(1)), STRATA_EDUPLICATE_VOTER);
  /* not the leader */
  cr_assert_eq(change(1, 1, key(3)), STRATA_ENOT_CONTROLLER);
}

Test(quorum, one_voter_change_at_a_time_and_none_before_an_own_epoch_record_commits) {
  setup_with_observers(4, 3);
  T[0].auto_persist = 0;
  start_all();
  expire(0); /* pre-votes, then votes, from node 1 alone */
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 0, 1), 0);
  cr_assert_eq(deliver(QUORUM_VOTE_RESP, 1, 0), 0);
  cr_assert_eq(deliver(QUORUM_VOTE_REQ, 0, 1), 0);
  cr_assert_eq(deliver(QUORUM_VOTE_RESP, 1, 0), 0);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  nbox = 0;
  /* its LeaderChange record is on no majority yet: nothing committed in its epoch */
  cr_assert_eq(T[0].q.hw, 0);
  cr_assert_eq(change(0, 0, key(2)), STRATA_EVOTER_CHANGE_IN_PROGRESS);
  do_persist(0);
  for (int r = 0; r < 3; r++) {
    now += T[0].cfg.fetch_timeout_ms / 2;
    tick(0); /* BeginQuorumEpoch again */
    deliver_all();
  }
  cr_assert_gt(T[0].q.hw, 0);
  cr_assert_eq(change(0, 0, key(2)), 0);
  cr_assert_eq(T[0].q.cfg.nvoters, 2);
  /* the first is not committed: a second waits */
  cr_assert_eq(change(0, 0, key(1)), STRATA_EVOTER_CHANGE_IN_PROGRESS);
  cr_assert_eq(change(0, 1, key(2)), STRATA_EVOTER_CHANGE_IN_PROGRESS);
  do_persist(0);
  for (int r = 0; r < 3; r++) {
    expire(0);
    deliver_all();
    if (T[0].q.log_end > T[0].q.persisted_end) do_persist(0);
  }
  cr_assert_eq(T[0].q.hw, T[0].q.log_end);
  cr_assert_eq(change(0, 0, key(1)), 0);
}

Test(quorum, remove_voter_makes_it_an_observer_and_unknown_or_last_voters_are_refused) {
  setup_nodes(3);
  start_all();
  elect(0);
  struct quorum_key stale = key(2);
  stale.dir[0] = 55;
  cr_assert_eq(change(0, 0, stale), STRATA_EVOTER_NOT_FOUND, "the id with another directory id");
  cr_assert_eq(change(0, 0, key(7)), STRATA_EVOTER_NOT_FOUND);
  cr_assert_eq(change(0, 0, key(2)), 0);
  cr_assert_eq(T[0].q.cfg.nvoters, 2);
  for (int r = 0; r < 3; r++) {
    expire(0);
    deliver_all();
  }
  cr_assert_eq(T[0].q.hw, T[0].q.log_end);
  cr_assert_eq(T[2].q.self_voter, 0, "the removed node knows it is out");
  cr_assert_eq(T[1].q.cfg.nvoters, 2);
  struct quorum_description d;
  quorum_describe(&T[0].q, &d);
  cr_assert_eq(d.nvoters, 2);
  cr_assert_eq(d.nobservers, 1);
  cr_assert_eq(d.observers[0].key.id, 2);
  /* it never campaigns: its fetch timeout makes it look for a leader */
  nbox = 0;
  now += 10 * T[2].cfg.fetch_timeout_ms;
  tick(2);
  cr_assert_eq(T[2].q.role, QUORUM_UNATTACHED);
  cr_assert_eq(count_msgs(QUORUM_VOTE_REQ, 2), 0);
  /* one voter left cannot be removed */
  setup_nodes(1);
  start_all();
  expire(0);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  cr_assert_eq(change(0, 0, key(0)), STRATA_ELAST_VOTER);
}

Test(quorum, leader_removing_itself_leads_until_committed_then_resigns_and_the_rest_elect) {
  setup_nodes(3);
  start_all();
  elect(0);
  cr_assert_eq(change(0, 0, key(0)), 0);
  /* still the leader, no longer a voter: the high watermark counts 1 and 2 only */
  cr_assert_eq(T[0].q.role, QUORUM_LEADER);
  cr_assert_eq(T[0].q.self_voter, 0);
  int64_t at = T[0].u.append.offset;
  deliver_all_but(1 << 2); /* node 1's held fetch gets it; its next fetch says so */
  cr_assert_eq(T[1].q.log_end, at + 1);
  cr_assert_eq(T[1].q.self_voter, 1);
  cr_assert_eq(T[0].q.role, QUORUM_LEADER, "1 of {1, 2} is no majority: not committed, it leads on");
  cr_assert_lt(T[0].q.hw, at + 1);
  for (int r = 0; r < 20 && T[0].q.role == QUORUM_LEADER; r++) {
    int first = 0; /* whoever's timer is next: node 2 asks again after its lost fetch */
    for (int i = 1; i < 3; i++)
      if (T[i].u.deadline_ms < T[first].u.deadline_ms) first = i;
    expire(first);
    deliver_all();
  }
  /* committed: it resigned, an observer now; EndQuorumEpoch went to the voters */
  cr_assert_neq(T[0].q.role, QUORUM_LEADER);
  cr_assert_eq(T[0].q.self_voter, 0);
  cr_assert_geq(T[1].q.hw, at + 1);
  int l = -1;
  for (int r = 0; r < 40 && l < 0; r++) {
    int first = 1;
    if (T[2].u.deadline_ms < T[1].u.deadline_ms) first = 2;
    expire(first);
    deliver_all();
    if (T[1].q.role == QUORUM_LEADER) l = 1;
    if (T[2].q.role == QUORUM_LEADER) l = 2;
  }
  cr_assert_geq(l, 1, "a new leader among the two voters left");
  cr_assert_eq(T[l].q.epoch, 2);
  cr_assert_eq(T[0].q.role == QUORUM_LEADER, 0);
  /* the old leader follows it as an observer */
  for (int r = 0; r < 10 && T[0].q.role != QUORUM_FOLLOWER; r++) {
    expire(0);
    deliver_all();
  }
  cr_assert_eq(T[0].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(T[0].q.leader, l);
}

Test(quorum, voter_change_truncated_away_reverts_the_voter_set) {
  setup_with_observers(4, 3);
  start_all();
  elect(0);
  catch_up(3, 0);
  cr_assert_eq(change(0, 1, key(3)), 0);
  cr_assert_eq(T[0].q.cfg.nvoters, 4);
  nbox = 0; /* the record reaches no one: the leader is cut off from here on */
  int l = -1;
  for (int r = 0; r < 40 && l < 0; r++) {
    int first = T[2].u.deadline_ms < T[1].u.deadline_ms ? 2 : 1;
    expire(first);
    deliver_all_but(1 << 0 | 1 << 3);
    if (T[1].q.role == QUORUM_LEADER) l = 1;
    if (T[2].q.role == QUORUM_LEADER) l = 2;
  }
  cr_assert_geq(l, 1);
  cr_assert_eq(T[l].q.cfg.nvoters, 3);
  /* the old leader hears of the new one and fetches: its record is cut, the set reverts */
  for (int r = 0; r < 10 && T[0].q.cfg.nvoters != 3; r++) {
    now += T[l].cfg.fetch_timeout_ms / 2;
    tick(l);
    deliver_all();
  }
  cr_assert_eq(T[0].q.role, QUORUM_FOLLOWER);
  cr_assert_eq(T[0].q.cfg.nvoters, 3, "the truncated VotersRecord is undone");
  cr_assert_eq(T[0].q.self_voter, 1);
  cr_assert_eq(T[0].nvl, 0);
  cr_assert(!quorum_is_voter(&T[0].q, &(struct quorum_key){.id = 3, .dir = {4}}));
}

Test(quorum, restart_takes_the_voter_set_from_the_snapshot_and_the_log) {
  setup_with_observers(4, 3);
  struct quorum_voter_set snapv = {.n = 2};
  snapv.voters[0] = key(0);
  snapv.voters[1] = key(3);
  struct quorum_voters_at recs[1];
  recs[0].offset = 12;
  recs[0].set = snapv;
  recs[0].set.voters[2] = key(1);
  recs[0].set.n = 3;
  quorum_init(&T[3].q, &T[3].cfg);
  struct quorum_epoch_start ep[] = {{2, 10}};
  struct quorum_event e = {.type = QUORUM_START, .now_ms = now};
  e.start.state = (struct quorum_persisted){2, {-1, {0}}, -1};
  e.start.seed = 3;
  e.start.snapshot = (struct quorum_snapshot_id){10, 1};
  e.start.log_end = 14;
  e.start.epochs = ep;
  e.start.nepochs = 1;
  e.start.snapshot_voters = snapv;
  e.start.vrecs = recs;
  e.start.nvrecs = 1;
  cr_assert_eq(step(3, &e), 0);
  cr_assert_eq(T[3].q.self_voter, 1, "node 3 is a voter by the snapshot's set");
  cr_assert_eq(T[3].q.cfg.nvoters, 3, "the log's record after it wins");
  struct quorum_voter_set at;
  quorum_voters_before(&T[3].q, 12, &at);
  cr_assert_eq(at.n, 2);
  /* a record outside the log is refused */
  quorum_init(&T[2].q, &T[2].cfg);
  recs[0].offset = 14;
  cr_assert_eq(quorum_step(&T[2].q, &e, &T[2].u), STRATA_EINVALID_ARGUMENT);
}

Test(quorum, a_restarted_node_with_many_voter_records_folds_the_older_ones) {
  /* of two VotersRecords in a log the earlier is committed: a node that
   * restarted (high watermark unknown) with more than it keeps, and then
   * fetches two more, folds the oldest instead of refusing */
  setup_nodes(3);
  struct quorum_voters_at recs[QUORUM_VSETS_MAX + 2];
  for (int i = 0; i < QUORUM_VSETS_MAX + 2; i++) {
    recs[i].offset = 1 + i;
    recs[i].set.n = 3;
    for (int j = 0; j < 3; j++) recs[i].set.voters[j] = key(j);
  }
  recs[QUORUM_VSETS_MAX + 1].set.n = 2; /* the newest: without node 2 */
  quorum_init(&T[1].q, &T[1].cfg);
  struct quorum_epoch_start ep[] = {{1, 0}};
  struct quorum_event e = {.type = QUORUM_START, .now_ms = now};
  e.start.state = (struct quorum_persisted){1, {-1, {0}}, -1};
  e.start.seed = 5;
  e.start.snapshot = NOSNAP;
  e.start.log_end = QUORUM_VSETS_MAX + 3;
  e.start.epochs = ep;
  e.start.nepochs = 1;
  e.start.vrecs = recs;
  e.start.nvrecs = QUORUM_VSETS_MAX + 2;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_eq(T[1].q.nvrecs, QUORUM_VSETS_MAX);
  cr_assert_eq(T[1].q.cfg.nvoters, 2, "the newest set is in effect");
  cr_assert_eq(T[1].q.hw, 0);
}

Test(quorum, a_removed_node_cannot_depose_the_leader_while_it_is_heard) {
  setup_nodes(3);
  start_all();
  elect(0);
  cr_assert_eq(change(0, 0, key(2)), 0);
  for (int r = 0; r < 3; r++) {
    expire(0);
    deliver_all_but(1 << 2); /* node 2 never learns it was removed */
  }
  cr_assert_eq(T[1].q.cfg.nvoters, 2);
  cr_assert_eq(T[2].q.self_voter, 1, "node 2 still thinks it votes");
  /* node 2, cut off, campaigns in epoch 2; node 1 still hears its leader */
  struct quorum_msg m = {.type = QUORUM_VOTE_REQ, .to = 1, .src = key(2), .dst = key(1), .epoch = 2,
                         .leader = -1};
  m.vote_req.last_epoch = 1;
  m.vote_req.end_offset = 100;
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &m};
  nbox = 0;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_eq(T[1].q.epoch, 1, "ignored: epoch and all");
  cr_assert_eq(T[1].q.role, QUORUM_FOLLOWER);
  cr_assert_not(T[1].u.msgs[0].vote_resp.granted);
  /* once the leader is silent past the fetch timeout, an id its set lacks
   * may get its vote (it may be a voter added by a record it has not
   * fetched; the candidate's log must still be at least as long) */
  now += T[1].cfg.fetch_timeout_ms;
  m.epoch = 3;
  e.now_ms = now;
  cr_assert_eq(step(1, &e), 0);
  cr_assert_eq(T[1].q.epoch, 3);
  cr_assert(T[1].u.msgs[0].vote_resp.granted);
}
