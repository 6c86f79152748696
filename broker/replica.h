/* Partition replication logic, apart from I/O: the leader-epoch cache (which
 * offsets each leader epoch began at, KIP-101/279), the leader's view of its
 * followers (fetch positions, durable offsets, when each last caught up), the
 * high watermark they imply, ISR shrink/expand proposals, and the divergence
 * answer a leader gives a follower whose log forked. */
#ifndef STRATA_REPLICA_H
#define STRATA_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#define REPLICAS_MAX 16
#define EPOCH_CACHE_MAX 4096

struct epoch_entry {
  int32_t epoch;
  int64_t start; /* first offset written in this epoch */
};

struct epoch_cache {
  struct epoch_entry *v;
  size_t n, cap;
};

void epoch_cache_free(struct epoch_cache *c);
/* Record that `epoch` began at `start` (ignored unless newer than the last). */
int epoch_cache_add(struct epoch_cache *c, int32_t epoch, int64_t start);
/* Forget epochs that start at or after `offset` (the log was cut there). */
void epoch_cache_truncate(struct epoch_cache *c, int64_t offset);
int32_t epoch_cache_last(const struct epoch_cache *c); /* -1 when empty */
/* The end of `epoch` in this log: the start of the next larger epoch, or
 * log_end when `epoch` is the latest. An epoch older than all known ones
 * ends where the first known one starts. */
int64_t epoch_cache_end_offset(const struct epoch_cache *c, int32_t epoch, int64_t log_end);
/* The largest epoch in the cache that is <= epoch; -1 when there is none. */
int32_t epoch_cache_floor(const struct epoch_cache *c, int32_t epoch);

struct follower {
  int32_t id;
  int64_t fetch_offset;        /* its log end, from its last fetch (-1 unknown) */
  int64_t durable;             /* its fsynced end, from its last fetch */
  int64_t last_caught_up_ms;   /* last time it had everything the leader had */
  int64_t last_fetch_ms;
  int64_t last_fetch_leader_end;
  int64_t broker_epoch;        /* the registration it fetched under (-1 unknown) */
};

/* The leader's bookkeeping for one partition. */
struct replica_state {
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
};

/* Reset follower tracking when this broker becomes leader (every follower
 * gets a full lag window from now). */
void replica_become_leader(struct replica_state *r, int64_t now_ms);
/* A follower restarted (new broker epoch) or was fenced: what we knew of
 * its log is about a process that is gone. It must fetch again, from what
 * its disk really holds, before it can count as caught up. */
void replica_forget(struct replica_state *r, int32_t id);
/* The broker epoch a follower's fetches come under; -1 when unknown. */
void replica_note_epoch(struct replica_state *r, int32_t id, int64_t broker_epoch);
int64_t replica_follower_epoch(const struct replica_state *r, int32_t id);

/* A follower fetched at fetch_offset having fsynced up to durable. Updates
 * its caught-up time (Kafka's rule: caught up when it asked for the leader's
 * end, or for what was the end at its previous fetch). */
void replica_on_fetch(struct replica_state *r, int32_t id, int64_t fetch_offset, int64_t durable,
                      int64_t leader_end, int64_t now_ms);

/* High watermark the ISR allows: the least durable offset among in-sync
 * replicas, the leader's own counted as leader_durable. While an ISR change
 * is pending, members of either set count (Kafka's "maximal ISR"): the
 * controller may already have applied an expansion and may elect the new
 * member, so it must hold everything acknowledged from then on. */
int64_t replica_high_watermark(const struct replica_state *r, int64_t leader_durable);

/* Proposed ISR after dropping members that have not caught up within lag_ms
 * and adding replicas that have reached hw (durably). Returns 1 and fills
 * isr/n when it differs from the current one. */
/* The ISR change `isr` goes to the controller, based on partition_epoch. */
void replica_isr_pending(struct replica_state *r, const int32_t *isr, uint32_t n,
                         int32_t partition_epoch);
/* The controller's view of the partition arrived (an answer or a metadata
 * image) at partition_epoch: a pending change based on an older epoch is
 * settled, applied or not. A refusal settles it too. */
void replica_isr_settled(struct replica_state *r, int32_t partition_epoch, int refused);

int replica_isr_change(const struct replica_state *r, int64_t now_ms, int64_t lag_ms, int64_t hw,
                       int32_t *isr, uint32_t *n);

#endif
