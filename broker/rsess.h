/* Incremental fetch sessions (KIP-227) on the native follower fetch, the
 * leader's side: what each follower broker's session holds (every partition
 * it named since its full fetch, the position it last named, and what the
 * last answer told it) so that an idle partition costs nothing per round
 * trip: the follower names only partitions whose position changed, and the
 * answer carries only partitions with records, an error or a new high
 * watermark or log start (issue 15). The follower's half is in
 * broker/follow.c (its sent positions live in each partition).
 *
 * Why not broker/kafka_fetch_session.c's cache: a Kafka session is a
 * client's (any number, evicted by age, topics by name or id, forgotten
 * lists); a replica session is one per follower broker, lives as long as
 * that broker's registration, and its entries are the leader's partitions
 * themselves (pointers, no names), dropped when leadership moves. The epoch
 * rules are Kafka's in both (0 full, > 0 incremental, next epoch never 0).
 *
 * Rules (the leader's, broker/handlers.c):
 *   epoch 0   full: the replica's old session is replaced by a new one
 *             holding the partitions named; the answer is full.
 *   epoch > 0 incremental: the session must exist for this replica and
 *             broker epoch (else RSESS_ERR_NOT_FOUND) and expect that epoch
 *             (else RSESS_ERR_EPOCH); named partitions are added or updated.
 *   epoch -1  sessionless (the old full fetch; no session touched).
 * A partition leaves every session when this broker stops leading it (the
 * follower then names it again under its next leadership here), and a
 * replica's session dies with its registration (rsess_drop_replica): a
 * position named by a process that is gone must never count.
 *
 * Pure: no I/O, no clock (times come in); entries hold partition
 * references (partition_ref). */
#ifndef STRATA_RSESS_H
#define STRATA_RSESS_H

#include <stddef.h>
#include <stdint.h>

struct partition;

/* Sessions at once: one per follower broker. */
#define RSESS_MAX 256
/* Kafka's codes, carried in FetchResponse.session_error. */
#define RSESS_ERR_NOT_FOUND 70
#define RSESS_ERR_EPOCH 71

struct rsess_entry {
  struct partition *p;        /* a reference; NULL: removed (a tombstone) */
  int64_t fetch_offset;       /* the follower's position, as it last named it */
  int64_t durable;
  int32_t last_epoch;
  int64_t told_hw, told_start; /* what the last answer told it (-1: nothing yet) */
  int32_t asked_epoch;        /* the session epoch of the fetch that last named it */
};

struct rsess {
  int32_t id;
  int32_t epoch;              /* the epoch its next incremental request must carry */
  int32_t replica_id;
  int64_t broker_epoch;       /* the registration it fetches under */
  int64_t last_used_ms;       /* when its last request came (monotonic) */
  struct rsess_entry *v;      /* in naming order, with tombstones */
  size_t n, cap, dead;        /* dead: tombstones among the n */
  uint32_t *slot;             /* open addressing: 1 + index into v, 0 empty */
  size_t nslot;               /* a power of two, > 2 n */
  size_t next;                /* where the next answer's look starts (rotation) */
};

struct rsess_stats {
  uint64_t created, replaced, incremental, full, refused;
};

struct rsess_cache {
  struct rsess *v[RSESS_MAX];
  size_t n;
  int32_t next_id;
  struct rsess_stats stats;
};

void rsess_free_all(struct rsess_cache *c);

/* A follower's fetch arrives (first build only): its session fields checked
 * and applied. Returns 0 with *s (NULL: sessionless), or RSESS_ERR_* to
 * answer with (no partitions). */
int rsess_begin(struct rsess_cache *c, int32_t replica_id, int64_t broker_epoch,
                int32_t session_id, int32_t epoch, int64_t now_ms, struct rsess **s);
/* The replica's session (for a parked fetch built again), if it is still id. */
struct rsess *rsess_find(struct rsess_cache *c, int32_t replica_id, int32_t id);
/* The entry for p in s, added (told nothing yet) when absent; NULL when out
 * of memory. Updates the named position. */
struct rsess_entry *rsess_name(struct rsess *s, struct partition *p, int64_t fetch_offset,
                               int64_t durable, int32_t last_epoch);
/* The entry for p in s, or NULL. */
struct rsess_entry *rsess_lookup(struct rsess *s, const struct partition *p);
/* p leaves every session (this broker no longer leads it, or it is
 * deleted): a tombstone, so entries do not move (the session is compacted
 * at its next request, in rsess_begin, or when it grows). */
void rsess_drop_partition(struct rsess_cache *c, const struct partition *p);
/* The replica's session ends (it restarted or was fenced). */
void rsess_drop_replica(struct rsess_cache *c, int32_t replica_id);
/* The session of replica_id, whatever its id (NULL: none). */
struct rsess *rsess_of(struct rsess_cache *c, int32_t replica_id);

#endif
