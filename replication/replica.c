#include "replication/replica.h"

#include <string.h>

#include "common/assert.h"

void replica_init(struct replica *r) {
  memset(r, 0, sizeof *r);
  r->leader = -1;
  r->hw_epoch = -1;
}

void replica_free(struct replica *r) { epoch_cache_free(&r->epochs); }

/* Every change of hw goes here: within one leader epoch in which this
 * replica leads, the high watermark never goes back (consumers have seen
 * it, acks=all writes were answered on it). */
static void set_hw(struct replica *r, int64_t hw) {
  if (r->role == ROLE_LEADER && r->hw_epoch == r->leader_epoch) STRATA_ASSERT(hw >= r->hw);
  r->hw = hw;
  r->hw_epoch = r->role == ROLE_LEADER ? r->leader_epoch : -1;
}

int replica_assign(struct replica *r, int32_t self, const struct replica_assignment *a,
                   const struct replica_log *log_now, int64_t now_ms, int64_t *truncate_to) {
  struct replica_log cut = *log_now, *log = &cut;
  *truncate_to = -1;
  int replica = isr_contains(a->replicas, a->nreplicas, self);
  int role = !replica ? ROLE_NONE
             : a->leader == self ? ROLE_LEADER
             : a->leader >= 0    ? ROLE_FOLLOWER
                                 : ROLE_NONE;
  /* One leader per epoch: the controller bumps the epoch with every
   * leadership change, so a known epoch never comes back with another
   * leader. */
  if (a->leader_epoch == r->leader_epoch && r->leader >= 0 && a->leader >= 0)
    STRATA_ASSERT(a->leader == r->leader);
  int flags = 0;
  int becoming_leader =
      role == ROLE_LEADER && (r->role != ROLE_LEADER || r->leader_epoch != a->leader_epoch);
  if (r->role == ROLE_LEADER && (role != ROLE_LEADER || r->leader_epoch != a->leader_epoch))
    flags |= REPLICA_LOST_LEAD;
  if (r->leader != a->leader || r->leader_epoch != a->leader_epoch) flags |= REPLICA_NEW_LEADER;
  r->leader = a->leader;
  r->leader_epoch = a->leader_epoch;
  r->partition_epoch = a->partition_epoch;
  isr_assign(&r->isr, self, a->replicas, a->nreplicas, a->isr, a->nisr);
  r->alter_inflight = 0;
  isr_settled(&r->isr, a->partition_epoch, 0);
  if (becoming_leader) {
    /* Records of an epoch newer than the one we now lead were written by no
     * leader the controller elected (it never hands out an epoch twice): a
     * partitionLeaderEpoch garbled in an unsynced batch (the CRC does not
     * cover it) survived recovery. Nothing in them was acknowledged (they
     * were never fsynced); leading over them would serve an epoch nobody
     * can find (Kafka drops them from its cache; we cut them from the log
     * too, so followers never copy them). */
    int64_t newer = epoch_cache_end_offset(&r->epochs, a->leader_epoch, log->end);
    if (newer < log->end) {
      *truncate_to = newer;
      cut.end = newer;
      if (cut.durable > newer) cut.durable = newer;
      if (cut.start > newer) cut.start = newer;
      epoch_cache_truncate(&r->epochs, newer);
      if (r->hw > newer) r->hw = newer;
      flags |= REPLICA_TRUNCATE;
    }
    /* Every batch this leader appends carries its epoch; the epoch starts at
     * the current log end (KIP-101). */
    epoch_cache_add(&r->epochs, a->leader_epoch, log->end);
    /* The first leader of an empty new partition: its followers are
     * creating the same partitions at their own pace (10,000 of a new topic
     * take a while on a busy disk), so they get ISR_NEW_PARTITION_GRACE_MS
     * more for their first fetch (then the usual window runs from it); a
     * broker that is gone is fenced by the
     * controller, which drops it from the ISR anyway. Without it, a topic of
     * 10,000 partitions cost thousands of ISR shrinks and expansions while
     * being created (issue 15). */
    int fresh = a->leader_epoch == 0 && log->end == 0;
    isr_become_leader(&r->isr, now_ms, fresh ? ISR_NEW_PARTITION_GRACE_MS : 0);
  }
  r->role = role;
  if (role == ROLE_LEADER && replica_update_hw(r, log)) flags |= REPLICA_HW_MOVED;
  replica_invariants(r, log);
  return flags;
}

void replica_unassign(struct replica *r) {
  r->role = ROLE_NONE;
  r->leader = -1;
}

int replica_update_hw(struct replica *r, const struct replica_log *log) {
  if (r->role != ROLE_LEADER) return 0;
  int64_t hw = isr_high_watermark(&r->isr, log->durable);
  if (hw > log->end) hw = log->end;
  int moved = 0;
  if (hw > r->hw) {
    set_hw(r, hw);
    moved = 1;
  }
  replica_invariants(r, log);
  return moved;
}

void replica_isr_sent(struct replica *r, const int32_t *isr, uint32_t n) {
  STRATA_ASSERT(r->role == ROLE_LEADER && !r->alter_inflight);
  STRATA_ASSERT(isr_contains(isr, n, r->isr.self));
  isr_pending(&r->isr, isr, n, r->partition_epoch);
  r->alter_inflight = 1;
}

int replica_isr_answer(struct replica *r, const struct replica_assignment *a, int refused,
                       const struct replica_log *log) {
  r->alter_inflight = 0;
  if (!a || a->leader_epoch != r->leader_epoch) return 0;
  if (a->partition_epoch > r->partition_epoch) {
    r->partition_epoch = a->partition_epoch;
    r->isr.nisr = a->nisr > REPLICAS_MAX ? REPLICAS_MAX : a->nisr;
    memcpy(r->isr.isr, a->isr, r->isr.nisr * sizeof(int32_t));
  }
  isr_settled(&r->isr, a->partition_epoch, refused);
  return replica_update_hw(r, log);
}

int replica_isr_proposal(const struct replica *r, int64_t now_ms, int64_t lag_ms, int32_t *isr,
                         uint32_t *n) {
  *n = 0;
  if (r->role != ROLE_LEADER || r->alter_inflight) return 0;
  return isr_proposal(&r->isr, now_ms, lag_ms, r->hw, isr, n);
}

int64_t replica_isr_deadline(const struct replica *r, int64_t lag_ms) {
  if (r->role != ROLE_LEADER || r->alter_inflight) return INT64_MAX;
  return isr_shrink_deadline(&r->isr, lag_ms);
}

void replica_invariants(const struct replica *r, const struct replica_log *log) {
  STRATA_ASSERT(r->role == ROLE_NONE || r->role == ROLE_LEADER || r->role == ROLE_FOLLOWER);
  STRATA_ASSERT(log->start <= log->end && log->durable <= log->end);
  if (r->role != ROLE_NONE) STRATA_ASSERT(r->hw <= log->end);
  epoch_cache_invariants(&r->epochs, log->end);
  /* A leader writes only in its own epoch, the newest it knows. */
  if (r->role == ROLE_LEADER) STRATA_ASSERT(epoch_cache_last(&r->epochs) == r->leader_epoch);
  isr_invariants(&r->isr);
}
