/* Consumer group members in the simulator, modelled on libstrata's group
 * client (client/lib/group_client.c): they find the coordinator, heartbeat
 * with what they own (KIP-848), commit a revoked partition's position before
 * releasing it, start a new one at its committed offset, commit every 200 ms,
 * and lose everything when the coordinator says they are unknown or fenced,
 * or when no heartbeat was answered for a whole session. One coordinator call
 * at a time, as the real client's are synchronous; reads run beside them.
 *
 * History: R lines for reads, C lines for commits acknowledged and for
 * committed offsets fetched, O lines for ownership (generation 0, or a
 * unique negative one when it ended by the member being fenced: a zombie may
 * still think it owns, which is allowed as long as its commits are refused). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/coordinator.h"
#include "common/batch.h"
#include "common/errors.h"
#include "tests/sim/sim.h"

#define SESSION_MS 1500
#define COMMIT_EVERY_MS 200
#define CALL_TIMEOUT_MS 1000

enum step { IDLE, FINDING, HEARTBEAT, COMMITTING, FETCHING_OFFSETS };

struct mpart {
  int owned, want;
  int64_t pos;       /* next offset to read */
  int64_t committed; /* what the group has, as far as we know */
  int64_t since;     /* owned since (ms) */
  int32_t leader;
  uint32_t taken;    /* counts the times it was taken: a fetch sent before is stale */
};

struct member {
  int id, incarnation;
  char name[32];     /* in the history: one name per process life */
  char member_id[GROUP_MEMBER_ID_MAX + 1];
  int32_t epoch;
  int coord;
  enum step step;
  int releasing;     /* the commit in flight is of partitions being revoked */
  int64_t next_hb_at, next_commit_at, retry_at;
  int64_t sent_at;    /* when the call in flight (one at a time) left */
  int64_t last_ok_at; /* when the last answered heartbeat left */
  int64_t last_tick_at;
  int fetching;
  int64_t fetch_retry_at;
  uint32_t nparts, next_part;
  struct mpart p[SIM_PARTS_MAX];
};

static struct member *mb(struct sim_node *n) { return n->impl; }

static void call_header(Strata__Header *h, Strata__ApiKey key) {
  strata__header__init(h);
  h->api_key = key;
}

/* ---- ownership ---- */

static void own(struct sim *s, struct member *m, uint32_t k, int64_t committed) {
  struct mpart *p = &m->p[k];
  p->owned = 1;
  p->committed = committed;
  p->pos = committed >= 0 ? committed : 0;
  p->since = s->now;
  p->leader = -1;
  p->taken++;
}

/* Stop consuming k at `end`: released (generation 0) or lost (a fresh
 * negative one: a fenced member may have overlapped the next owner). */
static void disown_at(struct sim *s, struct member *m, uint32_t k, int lost, int64_t end) {
  struct mpart *p = &m->p[k];
  if (!p->owned) return;
  int64_t gen = lost ? --s->lost_gen : 0;
  sim_history(s, "O %" PRId64 " %" PRId64 " %s %" PRId64 " %u", p->since * 1000, end * 1000,
              m->name, gen, k);
  p->owned = p->want = 0;
}

/* A release that comes after the member's session ended (a revocation's
 * commit answered only after a pause) is a loss: others may own it by now. */
static void disown(struct sim *s, struct member *m, uint32_t k, int lost) {
  lost |= m->epoch > 0 && s->now - m->last_ok_at >= SESSION_MS;
  disown_at(s, m, k, lost, s->now);
}

static void lose_membership(struct sim *s, struct member *m, const char *why) {
  sim_log(s, "member %s: membership lost (%s)", m->name, why);
  for (uint32_t k = 0; k < m->nparts; k++) {
    disown(s, m, k, 1);
    m->p[k].want = 0; /* nor take what it was about to (an OffsetFetch may still answer) */
  }
  m->member_id[0] = 0;
  m->epoch = 0;
  m->next_hb_at = s->now;
}

static void coordinator_gone(struct sim *s, struct member *m) {
  m->coord = -1;
  m->retry_at = s->now + 200;
}

/* The coordinator expires a member a session after it last heard from it;
 * counting from when that heartbeat left (not when its answer came) makes
 * sure the member stops first, before anyone else is given its partitions. */
static void check_session(struct sim *s, struct member *m) {
  if (m->epoch > 0 && s->now - m->last_ok_at >= SESSION_MS)
    lose_membership(s, m, "no heartbeat answered for a session");
}

/* Send a call (to the coordinator, or a broker for FindCoordinator): the
 * member's step while it is out; the coordinator is forgotten when it
 * cannot be sent. 0 or -1. */
static int call(struct sim *s, struct member *m, int to, const Strata__Header *h, rpc_cb *cb,
                enum step step) {
  if (net_call(s, m->id, to, h, NULL, 0, CALL_TIMEOUT_MS, cb, NULL)) {
    coordinator_gone(s, m);
    return -1;
  }
  m->step = step;
  m->sent_at = s->now;
  return 0;
}

static int coord_error(int rc) {
  return rc == STRATA_ENOT_COORDINATOR || rc == STRATA_ECOORDINATOR_NOT_AVAILABLE;
}

/* ---- FindCoordinator ---- */

static void on_found(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                     const uint8_t *pl, size_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  struct member *m = mb(n);
  m->step = IDLE;
  if (!err && !resp->error_code && resp->body_case == STRATA__HEADER__BODY_FIND_COORDINATOR_RESP &&
      resp->find_coordinator_resp->node_id > 0 &&
      resp->find_coordinator_resp->node_id <= s->nbrokers)
    m->coord = resp->find_coordinator_resp->node_id;
  else
    coordinator_gone(s, m);
  sim_log(s, "member %s: coordinator %d", m->name, m->coord);
}

static void find_coordinator(struct sim *s, struct member *m) {
  int b = sim_reachable_broker(s, m->id);
  if (b <= 0) {
    coordinator_gone(s, m);
    return;
  }
  Strata__FindCoordinatorRequest q = STRATA__FIND_COORDINATOR_REQUEST__INIT;
  q.group_id = SIM_GROUP;
  Strata__Header h;
  call_header(&h, STRATA__API_KEY__API_FIND_COORDINATOR);
  h.body_case = STRATA__HEADER__BODY_FIND_COORDINATOR_REQ;
  h.find_coordinator_req = &q;
  call(s, m, b, &h, on_found, FINDING);
}

/* ---- heartbeat ---- */

static void on_heartbeat(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                         const uint8_t *pl, size_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  struct member *m = mb(n);
  m->step = IDLE;
  int rc = err ? err : strata_error_from_wire(resp->error_code);
  if (!rc && resp->body_case != STRATA__HEADER__BODY_GROUP_HEARTBEAT_RESP) rc = STRATA_EINVALID_REQUEST;
  if (rc == STRATA_EUNKNOWN_MEMBER || rc == STRATA_EILLEGAL_GENERATION) {
    lose_membership(s, m, strata_strerror(rc));
    return;
  }
  if (rc) {
    sim_log(s, "member %s (epoch %d): heartbeat to %d: %s", m->name, m->epoch, m->coord, strata_strerror(rc));
    coordinator_gone(s, m);
    m->next_hb_at = s->now + 200;
    return;
  }
  const Strata__GroupHeartbeatResponse *r = resp->group_heartbeat_resp;
  snprintf(m->member_id, sizeof m->member_id, "%s", r->member_id);
  m->epoch = r->member_epoch;
  m->last_ok_at = m->sent_at;
  m->next_hb_at = s->now + (r->heartbeat_interval_ms > 0 ? r->heartbeat_interval_ms : 250);
  int want[SIM_PARTS_MAX] = {0};
  for (size_t t = 0; t < r->n_assignment; t++)
    if (!strcmp(r->assignment[t]->topic, SIM_TOPIC))
      for (size_t i = 0; i < r->assignment[t]->n_partitions; i++)
        if (r->assignment[t]->partitions[i] < m->nparts) want[r->assignment[t]->partitions[i]] = 1;
  int changed = 0;
  for (uint32_t k = 0; k < m->nparts; k++) {
    changed |= want[k] != m->p[k].owned;
    m->p[k].want = want[k];
  }
  s->st.rebalances += changed;
  if (changed) {
    char list[64] = "";
    for (uint32_t k = 0; k < m->nparts; k++)
      if (want[k]) snprintf(list + strlen(list), sizeof list - strlen(list), " %u", k);
    sim_log(s, "member %s: epoch %d, assigned:%s", m->name, m->epoch, list);
  }
}

static void heartbeat(struct sim *s, struct member *m) {
  Strata__GroupHeartbeatRequest q = STRATA__GROUP_HEARTBEAT_REQUEST__INIT;
  q.group_id = SIM_GROUP;
  q.member_id = m->member_id;
  q.instance_id = "";
  q.member_epoch = m->epoch;
  q.session_timeout_ms = SESSION_MS;
  q.assignor = "";
  q.topic_pattern = "";
  char *topics[1] = {SIM_TOPIC};
  if (m->epoch == 0) {
    q.topics = topics;
    q.n_topics = 1;
    q.topics_set = 1;
  }
  uint32_t parts[SIM_PARTS_MAX];
  size_t np = 0;
  for (uint32_t k = 0; k < m->nparts; k++)
    if (m->p[k].owned) parts[np++] = k;
  Strata__TopicPartitions tp = STRATA__TOPIC_PARTITIONS__INIT, *tv[1] = {&tp};
  tp.topic = SIM_TOPIC;
  tp.partitions = parts;
  tp.n_partitions = np;
  q.owned = tv;
  q.n_owned = np ? 1 : 0;
  q.owned_set = 1;
  Strata__Header h;
  call_header(&h, STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT);
  h.body_case = STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ;
  h.group_heartbeat_req = &q;
  call(s, m, m->coord, &h, on_heartbeat, HEARTBEAT);
}

/* ---- commits ---- */

/* The coordinator does not take commits from this member (any more). */
static int refused(int rc) {
  return rc == STRATA_EUNKNOWN_MEMBER || rc == STRATA_EILLEGAL_GENERATION || rc == STRATA_EUNKNOWN_GROUP;
}

static void on_commit(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                      const uint8_t *pl, size_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  struct member *m = mb(n);
  m->step = IDLE;
  int rc = err ? err : strata_error_from_wire(resp->error_code);
  if (!rc && resp->body_case != STRATA__HEADER__BODY_OFFSET_COMMIT_RESP) rc = STRATA_EINVALID_REQUEST;
  if (refused(rc)) s->st.stale_commits_refused++;
  for (size_t i = 0; !rc && i < resp->offset_commit_resp->n_partitions; i++) {
    const Strata__OffsetCommitPartition *e = resp->offset_commit_resp->partitions[i];
    int prc = strata_error_from_wire(e->error_code);
    if (e->partition >= m->nparts) continue;
    if (refused(prc)) s->st.stale_commits_refused++;
    if (prc) continue;
    uint32_t k = e->partition;
    m->p[k].committed = e->offset;
    s->st.group_commits++;
    if (e->offset > s->group_committed[k]) s->group_committed[k] = e->offset;
    /* In effect somewhere between the sending and now (its answer may have
     * waited for a paused member): the checker orders commits by both. */
    sim_history(s, "C %" PRId64 " %s %u %" PRId64 " %" PRId64, s->now * 1000, SIM_GROUP, k,
                e->offset, m->sent_at * 1000);
  }
  if (coord_error(rc) || err) coordinator_gone(s, m);
  /* Revoked partitions are released once their commit is answered, either
   * way (libstrata does the same: a failed commit is reprocessed by the next
   * owner, never skipped). */
  if (m->releasing) {
    m->releasing = 0;
    for (uint32_t k = 0; k < m->nparts; k++)
      if (m->p[k].owned && !m->p[k].want) disown(s, m, k, 0);
    m->next_hb_at = s->now;
  }
}

/* Commit the position of every owned partition that moved (only those
 * being revoked when `revoking`). 1 sent, 0 nothing to send, -1 failed. */
static int commit(struct sim *s, struct member *m, int revoking) {
  Strata__OffsetCommitPartition e[SIM_PARTS_MAX], *ev[SIM_PARTS_MAX];
  size_t ne = 0;
  for (uint32_t k = 0; k < m->nparts; k++) {
    const struct mpart *p = &m->p[k];
    if (!p->owned || (revoking && p->want) || p->pos <= p->committed) continue;
    strata__offset_commit_partition__init(&e[ne]);
    e[ne].topic = SIM_TOPIC;
    e[ne].partition = k;
    e[ne].offset = p->pos;
    e[ne].metadata = "";
    ev[ne] = &e[ne];
    ne++;
  }
  if (!ne) return 0;
  Strata__OffsetCommitRequest q = STRATA__OFFSET_COMMIT_REQUEST__INIT;
  q.group_id = SIM_GROUP;
  q.member_id = m->member_id;
  q.member_epoch = m->epoch;
  q.partitions = ev;
  q.n_partitions = ne;
  Strata__Header h;
  call_header(&h, STRATA__API_KEY__API_OFFSET_COMMIT);
  h.body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
  h.offset_commit_req = &q;
  if (call(s, m, m->coord, &h, on_commit, COMMITTING)) return -1;
  m->releasing = revoking;
  return 1;
}

/* ---- committed offsets of new partitions ---- */

static void on_offsets(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                       const uint8_t *pl, size_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  struct member *m = mb(n);
  m->step = IDLE;
  int rc = err ? err : strata_error_from_wire(resp->error_code);
  if (!rc && resp->body_case != STRATA__HEADER__BODY_OFFSET_FETCH_RESP) rc = STRATA_EINVALID_REQUEST;
  if (rc) {
    coordinator_gone(s, m);
    return;
  }
  int64_t got[SIM_PARTS_MAX];
  for (uint32_t k = 0; k < m->nparts; k++) got[k] = -2;
  const Strata__OffsetFetchResponse *r = resp->offset_fetch_resp;
  for (size_t i = 0; i < r->n_partitions; i++) {
    const Strata__OffsetCommitPartition *e = r->partitions[i];
    if (e->partition < m->nparts && !e->error_code && !strcmp(e->topic, SIM_TOPIC))
      got[e->partition] = e->offset;
  }
  for (uint32_t k = 0; k < m->nparts; k++) {
    if (!m->p[k].want || m->p[k].owned || got[k] == -2) continue;
    if (got[k] > s->group_committed[k]) s->group_committed[k] = got[k]; /* a commit whose answer was lost */
    if (got[k] >= 0)
      sim_history(s, "C %" PRId64 " %s %u %" PRId64 " %" PRId64, s->now * 1000, SIM_GROUP, k,
                  got[k], m->sent_at * 1000);
    own(s, m, k, got[k]);
  }
}

static void fetch_offsets(struct sim *s, struct member *m) {
  uint32_t parts[SIM_PARTS_MAX];
  size_t np = 0;
  for (uint32_t k = 0; k < m->nparts; k++)
    if (m->p[k].want && !m->p[k].owned) parts[np++] = k;
  Strata__TopicPartitions tp = STRATA__TOPIC_PARTITIONS__INIT, *tv[1] = {&tp};
  tp.topic = SIM_TOPIC;
  tp.partitions = parts;
  tp.n_partitions = np;
  Strata__OffsetFetchRequest q = STRATA__OFFSET_FETCH_REQUEST__INIT;
  q.group_id = SIM_GROUP;
  q.partitions = tv;
  q.n_partitions = 1;
  Strata__Header h;
  call_header(&h, STRATA__API_KEY__API_OFFSET_FETCH);
  h.body_case = STRATA__HEADER__BODY_OFFSET_FETCH_REQ;
  h.offset_fetch_req = &q;
  call(s, m, m->coord, &h, on_offsets, FETCHING_OFFSETS);
}

/* ---- reading ---- */

static void member_saw(struct sim *s, void *arg, uint32_t k, int rc, const struct batch_record *rec) {
  struct member *m = arg;
  if (rc) {
    m->p[k].leader = -1;
    return;
  }
  s->st.group_reads++;
  sim_history(s, "R %" PRId64 " %s %u %" PRId64 " %.*s", s->now * 1000, m->name, k, rec->offset,
              (int)rec->value_len, (const char *)rec->value);
}

static void on_fetch(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                     const uint8_t *pl, size_t pn, int err) {
  struct member *m = mb(n);
  uint32_t k = (uint32_t)((uintptr_t)arg % SIM_PARTS_MAX);
  m->fetching = 0;
  /* A partition given up (and maybe taken again) while its fetch was out:
   * those records are not ours. */
  if (!m->p[k].owned || m->p[k].taken != (uint32_t)((uintptr_t)arg / SIM_PARTS_MAX)) return;
  int64_t next[SIM_PARTS_MAX];
  for (uint32_t i = 0; i < m->nparts; i++) next[i] = m->p[i].owned ? m->p[i].pos : INT64_MAX;
  if (err || sim_fetched(s, m->name, resp, pl, pn, next, m->nparts, member_saw, m)) {
    m->p[k].leader = -1;
    m->fetch_retry_at = s->now + 50;
    return;
  }
  for (uint32_t i = 0; i < m->nparts; i++)
    if (m->p[i].owned) m->p[i].pos = next[i];
}

static void read_some(struct sim *s, struct member *m) {
  if (m->fetching || s->now < m->fetch_retry_at) return;
  for (uint32_t i = 0; i < m->nparts; i++) {
    uint32_t k = (m->next_part + i) % m->nparts;
    struct mpart *p = &m->p[k];
    if (!p->owned) continue;
    m->next_part = k + 1;
    if (p->leader <= 0) p->leader = sim_lookup_leader(s, m->id, k);
    if (p->leader <= 0 ||
        sim_fetch(s, m->id, p->leader, k, p->pos, on_fetch,
                  (void *)(uintptr_t)(p->taken * SIM_PARTS_MAX + k))) {
      p->leader = -1;
      m->fetch_retry_at = s->now + 100;
      return;
    }
    m->fetching = 1;
    return;
  }
}

/* ---- life ---- */

void member_tick(struct sim *s, struct sim_node *n) {
  struct member *m = mb(n);
  /* Back from a stall (SIGSTOP, a long GC): the process stopped right after
   * deciding to commit, so that commit leaves before it can see its session
   * is over. The coordinator must refuse it (the member was fenced). */
  int stalled = m->last_tick_at && s->now - m->last_tick_at > SESSION_MS / 2;
  m->last_tick_at = s->now;
  if (stalled && m->step == IDLE && m->coord > 0 && commit(s, m, 0)) return;
  check_session(s, m);
  read_some(s, m);
  if (m->step != IDLE || s->now < m->retry_at) return;
  if (m->coord <= 0) {
    find_coordinator(s, m);
    return;
  }
  for (uint32_t k = 0; k < m->nparts; k++)
    if (m->p[k].owned && !m->p[k].want) {
      if (commit(s, m, 1) == 0) { /* nothing to commit: release now */
        for (uint32_t j = 0; j < m->nparts; j++)
          if (m->p[j].owned && !m->p[j].want) disown(s, m, j, 0);
        heartbeat(s, m);
      }
      return;
    }
  for (uint32_t k = 0; k < m->nparts; k++)
    if (m->p[k].want && !m->p[k].owned) {
      fetch_offsets(s, m);
      return;
    }
  if (s->now >= m->next_commit_at) {
    m->next_commit_at = s->now + COMMIT_EVERY_MS;
    if (commit(s, m, 0)) return;
  }
  if (s->now >= m->next_hb_at) heartbeat(s, m);
}

void member_deliver(struct sim *s, struct sim_node *n, const struct sim_msg *m) {
  (void)s, (void)n, (void)m; /* members serve no requests */
}

int member_start(struct sim *s, int id) {
  struct sim_node *n = &s->nodes[id];
  struct member *m = n->impl;
  if (!m) {
    m = calloc(1, sizeof *m);
    if (!m) abort();
    n->impl = m;
  }
  int incarnation = m->incarnation + 1;
  uint32_t nparts = m->nparts;
  memset(m, 0, sizeof *m);
  m->id = id;
  m->incarnation = incarnation;
  m->nparts = nparts;
  m->coord = -1;
  snprintf(m->name, sizeof m->name, "m%d.%d", id - SIM_MEMBER0, incarnation);
  n->up = 1;
  n->paused = 0;
  return 0;
}

void member_crash(struct sim *s, int id) {
  struct sim_node *n = &s->nodes[id];
  struct member *m = n->impl;
  if (!n->up || !m) return;
  /* Its ownership ended with the process, or when it was paused: it has
   * done nothing since. */
  int64_t end = n->paused ? n->paused_at : s->now;
  for (uint32_t k = 0; k < m->nparts; k++) disown_at(s, m, k, 0, end);
  n->up = 0;
  n->paused = 0;
  net_node_down(s, id);
}

void members_start(struct sim *s, uint32_t nparts) {
  for (int i = 0; i < s->nmembers; i++) {
    struct member *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->nparts = nparts > SIM_PARTS_MAX ? SIM_PARTS_MAX : nparts;
    s->nodes[SIM_MEMBER0 + i].impl = m;
    member_start(s, SIM_MEMBER0 + i);
  }
}

void members_end(struct sim *s) {
  for (int i = 0; i < s->nmembers; i++) {
    struct member *m = s->nodes[SIM_MEMBER0 + i].impl;
    if (!m || !s->nodes[SIM_MEMBER0 + i].up) continue;
    for (uint32_t k = 0; k < m->nparts; k++) disown(s, m, k, 0);
  }
}

void members_free(struct sim *s) {
  for (int i = 0; i < s->nmembers; i++) {
    free(s->nodes[SIM_MEMBER0 + i].impl);
    s->nodes[SIM_MEMBER0 + i].impl = NULL;
    s->nodes[SIM_MEMBER0 + i].up = 0;
  }
}
