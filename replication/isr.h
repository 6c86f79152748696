/* The leader's view of its followers for one partition (Kafka's ISR
 * tracking): each follower's fetch position and fsynced offset, when it
 * last caught up, the high watermark the in-sync replicas allow, and the
 * ISR shrink/expand proposals that follow from replica.lag.time.max.ms.
 * A change the leader asked the controller for stays pending (and its new
 * members count, "maximal ISR") until the controller's view settles it. */
#ifndef STRATA_ISR_H
#define STRATA_ISR_H

#include <stddef.h>
#include <stdint.h>

#define REPLICAS_MAX 16

struct follower {
  int32_t id;
  int64_t fetch_offset;        /* its log end, from its last fetch (-1 unknown) */
  int64_t durable;             /* its fsynced end, from its last fetch */
  int64_t last_caught_up_ms;   /* last time it had everything the leader had */
  int64_t last_fetch_ms;
  int64_t last_fetch_leader_end;
  int64_t broker_epoch;        /* the registration it fetched under (-1 unknown) */
  int fetched;                 /* it fetched since this replica became leader */
};

/* Replicas and ISR as the controller assigned them; as leader, the
 * followers' progress. Times are monotonic milliseconds. */
struct isr_state {
  int32_t self;
  int32_t replicas[REPLICAS_MAX];
  uint32_t nreplicas;
  int32_t isr[REPLICAS_MAX];
  uint32_t nisr;
  struct follower followers[REPLICAS_MAX];
  uint32_t nfollowers;
  /* An ISR change sent to the controller and not yet known to be applied
   * or refused (npending 0: none), and the partition epoch it was based on. */
  int32_t pending[REPLICAS_MAX];
  uint32_t npending;
  int32_t pending_base_epoch;
  /* Extra time a follower has for its first fetch in this leadership (a
   * brand-new partition's, replica_assign); 0 otherwise. */
  int64_t grace_ms;
};

/* Whether id is in v[0..n). */
int isr_contains(const int32_t *v, uint32_t n, int32_t id);
/* Adopt the replica set and ISR the controller assigned (at most
 * REPLICAS_MAX of each are kept). */
void isr_assign(struct isr_state *r, int32_t self, const int32_t *replicas, uint32_t nreplicas,
                const int32_t *isr, uint32_t nisr);
/* Reset follower tracking when this broker becomes leader (every follower
 * gets a full lag window from now, and grace_ms more until its first fetch). */
void isr_become_leader(struct isr_state *r, int64_t now_ms, int64_t grace_ms);
/* A follower restarted (new broker epoch) or was fenced: what we knew of
 * its log is about a process that is gone. It must fetch again, from what
 * its disk really holds, before it can count as caught up. */
void isr_forget(struct isr_state *r, int32_t id);
/* The broker epoch a follower's fetches come under; -1 when unknown. */
void isr_note_epoch(struct isr_state *r, int32_t id, int64_t broker_epoch);
int64_t isr_follower_epoch(const struct isr_state *r, int32_t id);
/* The follower's progress, or NULL when it has not been tracked. */
const struct follower *isr_follower(const struct isr_state *r, int32_t id);

/* A follower fetched at fetch_offset having fsynced up to durable. Updates
 * its caught-up time (Kafka's rule: caught up when it asked for the leader's
 * end, or for what was the end at its previous fetch). */
/* Returns 1 when it was the follower's first fetch under a grace: its lag
 * window starts now, which may be earlier than isr_shrink_deadline said. */
int isr_on_fetch(struct isr_state *r, int32_t id, int64_t fetch_offset, int64_t durable,
                 int64_t leader_end, int64_t now_ms);

/* High watermark the ISR allows: the least durable offset among in-sync
 * replicas, the leader's own counted as leader_durable. While an ISR change
 * is pending, members of either set count (Kafka's "maximal ISR"): the
 * controller may already have applied an expansion and may elect the new
 * member, so it must hold everything acknowledged from then on. */
int64_t isr_high_watermark(const struct isr_state *r, int64_t leader_durable);

/* The ISR change `isr` goes to the controller, based on partition_epoch. */
void isr_pending(struct isr_state *r, const int32_t *isr, uint32_t n, int32_t partition_epoch);
/* The controller's view of the partition arrived (an answer or a metadata
 * image) at partition_epoch: a pending change based on an older epoch is
 * settled, applied or not. A refusal settles it too. */
void isr_settled(struct isr_state *r, int32_t partition_epoch, int refused);

/* Proposed ISR after dropping members that have not caught up within lag_ms
 * and adding replicas that have reached hw (durably). Returns 1 and fills
 * isr/n (REPLICAS_MAX entries) when it differs from the current one. */
int isr_proposal(const struct isr_state *r, int64_t now_ms, int64_t lag_ms, int64_t hw,
                 int32_t *isr, uint32_t *n);

/* The earliest time isr_proposal can drop a member for lag alone: a
 * member's last_caught_up_ms + lag_ms + 1 (its caught-up time only moves
 * forward, so the answer is never late); INT64_MAX with no member to drop.
 * Additions are found when a non-member fetches (isr_on_fetch), not by
 * time. Lets the broker look at a led partition only when it is due
 * instead of at every tick (issue 15). */
int64_t isr_shrink_deadline(const struct isr_state *r, int64_t lag_ms);

/* Asserts the bookkeeping's bounds, and that no follower is self or is
 * counted durable past its own log end. */
void isr_invariants(const struct isr_state *r);

#endif
