/* One partition replica's replication state, apart from I/O and storage:
 * its role here, the leader and epochs the controller assigned, replicas
 * and ISR (with the leader's follower tracking, isr.h), the high watermark,
 * and the leader-epoch cache (epoch_cache.h). Log positions come in as a
 * struct replica_log; nothing here touches the log itself. Every entry
 * point ends with replica_invariants(). leader.h answers a follower's fetch,
 * follower.h plans what a follower does with the answer. */
#ifndef STRATA_REPLICA_H
#define STRATA_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "replication/epoch_cache.h"
#include "replication/isr.h"

enum { ROLE_NONE = 0, ROLE_LEADER, ROLE_FOLLOWER };

/* Extra time a follower of a brand-new partition (leader epoch 0, empty)
 * has to fetch it for the first time before its leader drops it. */
#define ISR_NEW_PARTITION_GRACE_MS 30000

/* Where the local log stands. durable: what this replica may count as its
 * own (its fsynced end under flush policy always, its end otherwise). */
struct replica_log {
  int64_t start, end, durable;
};

/* The controller's state of a partition (from a metadata image or an
 * AlterIsr answer). Arrays are the caller's. */
struct replica_assignment {
  int32_t leader; /* -1: offline */
  int32_t leader_epoch;
  int32_t partition_epoch;
  const int32_t *replicas;
  uint32_t nreplicas;
  const int32_t *isr;
  uint32_t nisr;
};

/* Owns epochs (free with replica_free). Zeroed plus leader = -1: a replica
 * nobody assigned yet. */
struct replica {
  int role; /* ROLE_* */
  int32_t leader; /* broker id, -1 offline */
  int32_t leader_epoch;
  int32_t partition_epoch;
  struct isr_state isr;
  int64_t hw; /* high watermark (cluster mode) */
  int32_t hw_epoch; /* the leader epoch in which this replica led when it last set hw */
  struct epoch_cache epochs;
  int alter_inflight; /* an ISR change is on its way to the controller */
};

/* What replica_assign found: */
#define REPLICA_LOST_LEAD 1  /* it led an epoch that is over: waiting acks=all answers must look */
#define REPLICA_NEW_LEADER 2 /* the leader or the leader epoch changed */
#define REPLICA_HW_MOVED 4   /* the high watermark moved */
#define REPLICA_TRUNCATE 8   /* cut the log at *truncate_to before leading */

void replica_init(struct replica *r);
void replica_free(struct replica *r);
/* Adopt the controller's state of the partition: its role here (self's),
 * leader, epochs and ISR. A new leader epoch of this replica starts at the
 * log end (KIP-101) and gives every follower a full lag window. A log
 * holding records of epochs newer than the one it now leads (only a
 * garbled batch header can put them there) must be cut at *truncate_to
 * first (REPLICA_TRUNCATE; -1 otherwise). Returns REPLICA_* flags. */
int replica_assign(struct replica *r, int32_t self, const struct replica_assignment *a,
                   const struct replica_log *log, int64_t now_ms, int64_t *truncate_to);
/* Stop serving: the partition is not in the cluster's metadata. */
void replica_unassign(struct replica *r);
/* As leader: the high watermark the ISR allows now (after a follower's
 * fetch, our own fsync or an ISR change), never above the log end. Returns
 * 1 when it moved. */
int replica_update_hw(struct replica *r, const struct replica_log *log);
/* The ISR change `isr` is on its way to the controller. */
void replica_isr_sent(struct replica *r, const int32_t *isr, uint32_t n);
/* The controller answered it with its view of the partition (a NULL: the
 * request failed or timed out, and the change stays pending since it may
 * have been applied, until an image settles it), refused when it said no.
 * Returns 1 when the high watermark moved. */
int replica_isr_answer(struct replica *r, const struct replica_assignment *a, int refused,
                       const struct replica_log *log);
/* The ISR to propose now (replica.lag.time.max.ms = lag_ms), or 0 when it
 * should stay. As isr_proposal, for a leader with no change on its way. */
int replica_isr_proposal(const struct replica *r, int64_t now_ms, int64_t lag_ms, int32_t *isr,
                         uint32_t *n);
/* When replica_isr_proposal may next have something to say by time alone
 * (isr_shrink_deadline); INT64_MAX when not leading or a change is on its
 * way (its answer, an image or a follower's fetch makes it look again). */
int64_t replica_isr_deadline(const struct replica *r, int64_t lag_ms);

/* Asserts what replication relies on: HW <= log end; the epoch cache's
 * order; a leader's epoch cache ends in its own leader epoch; follower
 * bookkeeping in bounds. */
void replica_invariants(const struct replica *r, const struct replica_log *log);

#endif
