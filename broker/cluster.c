/* Cluster mode replication of a broker: the partition state an image
 * assigns, the leader's high watermark, the follower's side of replication
 * and ISR change proposals. No sockets here (cluster_uv.c moves the bytes). */
#include "broker/cluster.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/integrity.h"
#include "broker/offline.h"
#include "broker/rsess.h"
#include "broker/topics.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"
#include "replication/follower.h"
#include "replication/leader.h"
#include "replication/replica.h"

struct replica_log cluster_log_pos(const struct broker *b, const struct partition *p) {
  int64_t end = seglog_end_offset(p->log);
  return (struct replica_log){seglog_start_offset(p->log), end,
                              b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : end};
}

void cluster_update_hw(struct broker *b, struct partition *p) {
  struct replica_log log = cluster_log_pos(b, p);
  if (replica_update_hw(&p->rep, &log)) b->hw_version++;
}

static struct replica_assignment assignment_of(const Strata__PartitionState *s) {
  return (struct replica_assignment){s->leader, s->leader_epoch, s->partition_epoch,
                                     s->replicas, (uint32_t)s->n_replicas, s->isr,
                                     (uint32_t)s->n_isr};
}

/* A led partition's ISR is looked at again when due (isr_watch.h): at
 * once after anything that may allow a change, else at the deadline its lag
 * windows give. */
static void watch_now(struct broker *b, struct partition *p, int64_t now_ms) {
  if (p->rep.role == ROLE_LEADER) isr_watch_at(&b->isr_watch, p, now_ms);
}

/* IsrShrinks/IsrExpands: the ISR of a partition this broker went on
 * leading in the same epoch got smaller or larger. */
static void count_isr_change(struct partition *p, int was_leader, int32_t epoch, uint32_t nisr) {
  if (!was_leader || p->rep.role != ROLE_LEADER || p->rep.leader_epoch != epoch) return;
  if (p->rep.isr.nisr < nisr) p->topic->isr_shrinks++;
  else if (p->rep.isr.nisr > nisr) p->topic->isr_expands++;
}

/* The hosting rule (topics.h, struct partition): a log for partition k of
 * tp exactly when the image lists this broker among its replicas. Called
 * before cluster_apply_partition, which then applies the state to the
 * entry returned (a new one when the replica was dropped here). */
struct partition *cluster_host_partition(struct broker *b, struct topic *tp, uint32_t k,
                                         const Strata__PartitionState *s) {
  struct partition *p = tp->parts[k];
  if (!b->topics.assigned_only) return p;
  int mine = isr_contains(s->replicas, (uint32_t)s->n_replicas, b->cfg.id);
  if (mine && !p->hosted) {
    topics_host(&b->topics, p, b->now_ms);
    b->hw_version++; /* parked requests waiting for it look again */
  } else if (!mine && p->hosted) {
    p = topics_unhost(&b->topics, p);
    b->hw_version++;
  }
  return p;
}

void cluster_apply_partition(struct broker *b, struct partition *p,
                             const Strata__PartitionState *s, int64_t now_ms) {
  int was_leader = p->rep.role == ROLE_LEADER;
  int32_t epoch = p->rep.leader_epoch;
  uint32_t nisr = p->rep.isr.nisr;
  struct replica_assignment a = assignment_of(s);
  struct replica_log log = cluster_log_pos(b, p);
  int64_t cut;
  /* A replica whose log cannot be opened here (offline.h) takes no role:
   * assigned as if it were another broker's, it neither follows nor leads,
   * and metadata answers still show the partition's state. */
  offline_marked(b, p, s->offline, s->offline_errno,
                 (uint32_t)(s->n_offline < s->n_offline_errno ? s->n_offline : s->n_offline_errno));
  if (topics_offline(p) || p->offline_marked) b->offline_walk = 1;
  int flags = replica_assign(&p->rep, p->log ? b->cfg.id : -1, &a, &log, now_ms, &cut);
  count_isr_change(p, was_leader, epoch, nisr);
  integrity_marked(b, p, s->damaged, (uint32_t)s->n_damaged);
  integrity_found(b, p); /* damage the log's open found (a garbled old header) */
  watch_now(b, p, now_ms);
  if (flags & REPLICA_TRUNCATE) {
    trace_warn("%s-%u: records from offset %" PRId64 " carry a leader epoch newer than %d, "
               "which no leader had (a garbled batch header): cutting them before leading",
               p->topic->name, p->id, cut, s->leader_epoch);
    int rc = seglog_truncate(p->log, cut);
    if (!rc) rc = partition_rebuild_producers(p);
    if (rc) trace_error("%s-%u: cannot cut the log at %" PRId64 ": %s", p->topic->name, p->id, cut,
                        strata_strerror(rc));
  }
  /* A position named while another broker led may not count here later:
   * the follower may have cut its log under that leader (it names the
   * partition again when it follows us again). A new leader epoch with this
   * broker leading on keeps them, as Kafka's sessions do: a follower that
   * learned of the epoch first may have named the partition just before
   * this broker's own isr_become_leader reset its progress, and names it
   * no more; session_fetches gives that progress back (a position from a
   * forked log still fails leader_on_fetch's divergence check). */
  if ((flags & REPLICA_LOST_LEAD) && p->rep.role != ROLE_LEADER && b->replica_sessions)
    rsess_drop_partition(b->replica_sessions, p);
  if (flags & (REPLICA_LOST_LEAD | REPLICA_HW_MOVED))
    b->hw_version++; /* waiting acks=all answers learn they lost leadership, or may go */
  if (flags & REPLICA_NEW_LEADER)
    trace_info("%s-%u: leader %d epoch %d (this broker: %s)", p->topic->name, p->id, s->leader,
               s->leader_epoch,
               p->rep.role == ROLE_LEADER     ? "leader"
               : p->rep.role == ROLE_FOLLOWER ? "follower"
                                              : "no role");
}

int cluster_follower_apply(struct broker *b, struct partition *p,
                           const Strata__FetchPartitionResult *r, const uint8_t *data,
                           int64_t now_ms, int *appended) {
  *appended = 0;
  struct follower_answer a = {strata_error_from_wire(r->error_code), r->log_start_offset,
                              r->diverging_end_offset, r->diverging_epoch, r->high_watermark,
                              data, r->payload_bytes};
  struct replica_log log = cluster_log_pos(b, p);
  struct follower_plan plan;
  int rc = follower_plan(&p->rep, &a, &log, &plan);
  if (plan.delete_before >= 0) seglog_delete_before(p->log, plan.delete_before);
  if (rc) return rc;
  switch (plan.step) {
  case FOLLOWER_RESET:
    trace_warn("%s-%u: our log ends at %" PRId64 ", below leader %d's log start %" PRId64
               ": starting over from there",
               p->topic->name, p->id, log.end, p->rep.leader, plan.offset);
    if ((rc = seglog_reset(p->log, plan.offset, now_ms))) return rc;
    producer_state_clear(&p->producers);
    log = cluster_log_pos(b, p);
    follower_reset_done(&p->rep, &log);
    return 0;
  case FOLLOWER_TRUNCATE:
    trace_warn("%s-%u: log diverges from leader %d at offset %" PRId64
               "; truncating %" PRId64 " record(s) of an older epoch",
               p->topic->name, p->id, p->rep.leader, plan.offset, log.end - plan.offset);
    if ((rc = seglog_truncate(p->log, plan.offset))) return rc;
    log = cluster_log_pos(b, p);
    follower_truncated(&p->rep, &log);
    return partition_rebuild_producers(p);
  case FOLLOWER_APPEND:
    if ((rc = seglog_append_replica(p->log, data + plan.from, plan.to - plan.from, now_ms)))
      return rc;
    b->metrics.replication_in += plan.to - plan.from;
    log = cluster_log_pos(b, p);
    follower_appended(&p->rep, data + plan.from, plan.to - plan.from, &log);
    for (size_t o = plan.from; o < plan.to;) {
      struct batch_header h;
      batch_header_decode(data + o, plan.to - o, &h);
      partition_note_producer(p, &h, h.base_offset);
      o += batch_total_size(&h);
    }
    *appended = 1;
    break;
  case FOLLOWER_NONE:
    break;
  }
  follower_update_hw(&p->rep, r->high_watermark, &log);
  return 0;
}

void cluster_alter_isr_msg(const struct broker *b, const struct partition *p, const int32_t *isr,
                           uint32_t n, struct cluster_alter_msg *m) {
  Strata__AlterIsrRequest *q = &m->q;
  strata__alter_isr_request__init(q);
  q->broker_id = b->cfg.id;
  q->broker_epoch = b->broker_epoch;
  q->topic = p->topic->name;
  q->partition = p->id;
  q->leader_epoch = p->rep.leader_epoch;
  q->partition_epoch = p->rep.partition_epoch;
  q->isr = (int32_t *)isr;
  q->n_isr = n > REPLICAS_MAX ? REPLICAS_MAX : n;
  for (uint32_t i = 0; i < q->n_isr; i++)
    m->epochs[i] =
        isr[i] == b->cfg.id ? b->broker_epoch : isr_follower_epoch(&p->rep.isr, isr[i]);
  q->isr_epochs = m->epochs;
  q->n_isr_epochs = q->n_isr;
  strata__header__init(&m->h);
  m->h.api_key = STRATA__API_KEY__API_ALTER_ISR;
  m->h.body_case = STRATA__HEADER__BODY_ALTER_ISR_REQ;
  m->h.alter_isr_req = q;
}

void cluster_report_msg(const struct broker *b, const struct partition *p, int what,
                        struct cluster_alter_msg *m) {
  cluster_alter_isr_msg(b, p, NULL, 0, m);
  m->q.damage_report = what;
  if (what == 3) m->q.offline_errno = p->offline_errno;
}

void cluster_isr_sent(struct partition *p, const int32_t *isr, uint32_t n) {
  replica_isr_sent(&p->rep, isr, n);
}

void cluster_isr_answer(struct broker *b, struct partition *p, const Strata__PartitionState *s,
                        int refused) {
  struct replica_assignment a;
  if (s) a = assignment_of(s);
  struct replica_log log = cluster_log_pos(b, p);
  int was_leader = p->rep.role == ROLE_LEADER;
  int32_t epoch = p->rep.leader_epoch;
  uint32_t nisr = p->rep.isr.nisr;
  if (replica_isr_answer(&p->rep, s && !p->deleted ? &a : NULL, refused, &log)) b->hw_version++;
  count_isr_change(p, was_leader, epoch, nisr);
  if (!p->deleted) watch_now(b, p, b->now_ms);
}


void cluster_leader_fetched(struct broker *b, struct partition *p, int32_t replica_id,
                            int recheck) {
  if (recheck || !isr_contains(p->rep.isr.isr, p->rep.isr.nisr, replica_id))
    watch_now(b, p, b->now_ms);
}

/* Followers in a fetch session (broker/rsess.h) name a partition only when
 * their position in it changes: every request of the session counts as a
 * fetch of it at the position last named (Kafka's session rule). Applied
 * here, when the ISR is looked at (its deadline, or an event), not at every
 * request: an idle partition costs nothing per round trip, only one look
 * per lag window. The request's time is used, so the follower is never
 * counted as caught up later than it fetched. Only a session of the
 * registration the controller knows counts (a restarted follower's old
 * positions never do). */
static void session_fetches(struct broker *b, struct partition *p) {
  if (!b->replica_sessions || p->rep.role != ROLE_LEADER || p->deleted) return;
  for (uint32_t i = 0; i < p->rep.isr.nreplicas; i++) {
    int32_t id = p->rep.isr.replicas[i];
    struct rsess *s = id == b->cfg.id ? NULL : rsess_of(b->replica_sessions, id);
    const struct peer *pe = s ? broker_peer(b, id) : NULL;
    if (!pe || pe->fenced || pe->epoch != s->broker_epoch) continue;
    const struct rsess_entry *e = rsess_lookup(s, p);
    if (!e) continue;
    const struct follower *f = isr_follower(&p->rep.isr, id);
    if (f && f->last_fetch_ms >= s->last_used_ms) continue; /* it named it since */
    struct follower_fetch ff = {id, s->broker_epoch, e->fetch_offset, e->last_epoch, e->durable};
    struct replica_log log = cluster_log_pos(b, p);
    struct leader_answer la;
    leader_on_fetch(&p->rep, &ff, &log, s->last_used_ms, &la);
    if (la.hw_moved) b->hw_version++;
  }
}

/* How soon a led partition whose replica is outside the ISR is looked at
 * again: its follower may have caught up without naming it since (a
 * session), or an expansion may have been lost or refused. */
#define ISR_EXPAND_RECHECK_MS 500

static int has_outsider(const struct isr_state *r) {
  for (uint32_t i = 0; i < r->nreplicas; i++)
    if (r->replicas[i] != r->self && !isr_contains(r->isr, r->nisr, r->replicas[i])) return 1;
  return 0;
}

void cluster_isr_changes(struct broker *b, int64_t now_ms,
                         void (*fn)(void *arg, struct partition *p, const int32_t *isr,
                                    uint32_t n),
                         void *arg) {
  struct partition *p;
  while ((p = isr_watch_pop(&b->isr_watch, now_ms))) {
    int32_t isr[REPLICAS_MAX];
    uint32_t n;
    session_fetches(b, p);
    if (!p->deleted && replica_isr_proposal(&p->rep, now_ms, b->cfg.replica_lag_ms, isr, &n)) {
      /* Never propose a fenced broker, or one the controller marked
       * damaged: it would refuse the whole change. */
      const struct isr_state *cur = &p->rep.isr;
      uint32_t m = 0;
      for (uint32_t j = 0; j < n; j++) {
        const struct peer *pe = broker_peer(b, isr[j]);
        if (isr_contains(cur->isr, cur->nisr, isr[j]) ||
            (pe && !pe->fenced && !isr_contains(p->damaged_ids, p->ndamaged_ids, isr[j])))
          isr[m++] = isr[j];
      }
      int same = m == cur->nisr;
      for (uint32_t j = 0; same && j < m; j++) same = isr_contains(cur->isr, cur->nisr, isr[j]);
      if (!same) {
        fn(arg, p, isr, m);
        if (!p->rep.alter_inflight) {
          /* Not sent (no room on the link to the controller): neither are
           * the others due now; all wait for a later tick, without being
           * looked at again at this one. */
          isr_watch_at(&b->isr_watch, p, now_ms + 1);
          partition_unref(p);
          break;
        }
      }
    }
    int64_t at = p->deleted ? INT64_MAX : replica_isr_deadline(&p->rep, b->cfg.replica_lag_ms);
    if (!p->deleted && p->rep.role == ROLE_LEADER && has_outsider(&p->rep.isr) &&
        at > now_ms + ISR_EXPAND_RECHECK_MS)
      at = now_ms + ISR_EXPAND_RECHECK_MS;
    if (at != INT64_MAX) isr_watch_at(&b->isr_watch, p, at > now_ms ? at : now_ms + 1);
    partition_unref(p);
  }
}
