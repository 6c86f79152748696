/* Kafka fetch sessions (KIP-227), the broker's cache of them: what each
 * consumer's session holds (its partitions, their fetch positions, and what
 * the last answer told it of each) so that its fetches name only what
 * changed and the answers carry only partitions with news. Pure: ids come
 * from a generator seeded by the caller, the time is passed in, nothing
 * here does I/O. Sessions live in memory and die with the broker; the
 * client then gets FETCH_SESSION_ID_NOT_FOUND and starts a new one.
 *
 * A request's session fields (Fetch v7+) decide its kind, as in Kafka's
 * FetchManager.newContext:
 *   epoch -1   sessionless: a full request and answer; the named session,
 *              if any, is closed.
 *   epoch 0    full: the named session, if any, is closed; the answer
 *              creates a new session holding every partition asked (or
 *              none, session id 0, when the cache is full).
 *   epoch > 0  incremental: the session must exist (else error 70) and
 *              expect that epoch (else 71) and name topics the same way
 *              (by id from v13, else 106); the request's partitions are
 *              added or updated, forgotten_topics_data removed, and the
 *              fetch covers every partition of the session. The answer
 *              lists only partitions with records, an error, or a new high
 *              watermark or log start offset; they then move to the back
 *              of the session, so a byte-capped fetch serves all in turn. */
#ifndef STRATA_KAFKA_FETCH_SESSION_H
#define STRATA_KAFKA_FETCH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define KFS_SLOTS_DEFAULT 1000        /* max.incremental.fetch.session.cache.slots */
#define KFS_EVICTION_MS_DEFAULT 120000 /* min.incremental.fetch.session.eviction.ms */

/* Kafka's error codes of sessions. */
#define KFS_ERR_SESSION_ID_NOT_FOUND 70
#define KFS_ERR_INVALID_SESSION_EPOCH 71
#define KFS_ERR_SESSION_TOPIC_ID 106

struct kfs_part {
  char *topic;             /* its name; NULL: named by an id this broker does not know */
  uint8_t topic_id[16];    /* zero when named by name (before v13) */
  int32_t partition;
  int64_t fetch_offset;
  int64_t log_start_offset; /* the client's (followers'; kept as asked) */
  int32_t max_bytes;
  int32_t leader_epoch;    /* current_leader_epoch the client named (-1: none) */
  int64_t hw, log_start;   /* what the last answer told the client (-1: nothing yet) */
};

struct kfs_session {
  int32_t id;
  int32_t epoch;           /* the epoch the next incremental request must carry */
  int by_id;               /* topics named by id (Fetch v13+) */
  int64_t last_used_ms;
  struct kfs_part *parts;  /* in fetch order */
  size_t n, cap;
};

struct kfs_stats {
  uint64_t created;        /* sessions made by full requests */
  uint64_t refused_full;   /* full requests answered without one: cache full */
  uint64_t evicted;        /* idle sessions dropped for a new one */
  uint64_t closed;         /* closed by their client (epoch 0 / -1 naming them, or emptied) */
  uint64_t incremental;    /* incremental requests served */
  uint64_t not_found, bad_epoch, topic_id_mismatch; /* incremental requests refused */
};

struct kfs_cache {
  struct kfs_session **v;  /* the sessions, unordered */
  size_t n;
  size_t slots;            /* at most this many (0: no sessions at all) */
  int64_t eviction_ms;     /* a session idle this long may make room for a new one */
  uint64_t rng;            /* session ids */
  struct kfs_stats stats;
};

enum kfs_kind { KFS_SESSIONLESS, KFS_FULL, KFS_INCREMENTAL };

/* An empty cache; seed makes the session ids (any value; 0 is replaced). */
void kfs_init(struct kfs_cache *c, size_t slots, int64_t eviction_ms, uint64_t seed);
void kfs_free(struct kfs_cache *c);

struct kfs_session *kfs_find(struct kfs_cache *c, int32_t id);

/* A request's session fields: its kind, and for an incremental one its
 * session (*s). Full and sessionless requests close the session they name.
 * Returns 0, or a session error code (70, 71, 106) to answer with. */
int kfs_begin(struct kfs_cache *c, int32_t session_id, int32_t epoch, int by_id,
              enum kfs_kind *kind, struct kfs_session **s);

/* Add a partition to s, or update its fetch position if it is there.
 * The strings are copied. 0, or -1 out of memory. */
int kfs_upsert(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
               int32_t partition, int64_t fetch_offset, int64_t log_start_offset,
               int32_t max_bytes, int32_t leader_epoch);
/* Add a partition the caller knows s lacks (a new session filled from a
 * full request, whose partitions are distinct): no search, so filling a
 * large session stays linear. NULL out of memory. */
struct kfs_part *kfs_append(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
                            int32_t partition, int64_t fetch_offset, int64_t log_start_offset,
                            int32_t max_bytes, int32_t leader_epoch);
/* Remove that partition from s (forgotten_topics_data); absent: nothing. */
void kfs_forget(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
                int32_t partition);
/* That partition of s, or NULL. by_id sessions match on the id, others on
 * the name. */
struct kfs_part *kfs_lookup(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
                            int32_t partition);
/* The same, trying position `hint` first: a walk over the session in its
 * own order finds each partition at once (a large session's answer stays
 * linear in its partitions). */
struct kfs_part *kfs_lookup_at(struct kfs_session *s, size_t hint, const char *topic,
                               const uint8_t topic_id[16], int32_t partition);

/* An incremental request's updates are in: the session moves to its next
 * epoch and counts as used now. A session left without partitions is
 * closed instead, and the request served sessionless: returns its kind. */
enum kfs_kind kfs_commit(struct kfs_cache *c, struct kfs_session *s, int64_t now_ms);

/* A full request's answer: a new session (epoch 1) for its partitions, to
 * be filled with kfs_upsert and kfs_news; NULL when every slot is taken by
 * a session used within eviction_ms (the answer then has session id 0 and
 * the client goes on with full requests). */
struct kfs_session *kfs_create(struct kfs_cache *c, int by_id, int64_t now_ms);

/* Whether an answer must carry p, given what the fetch found (error code,
 * high watermark, log start offset, bytes of records), remembering what it
 * tells: anything with records or an error, a changed high watermark or log
 * start. An error forgets the high watermark, so the partition is sent
 * again once it clears. */
int kfs_news(struct kfs_part *p, int16_t error, int64_t hw, int64_t log_start, size_t record_bytes);

/* Move that partition to the back of the session's fetch order. */
void kfs_move_last(struct kfs_session *s, struct kfs_part *p);

#endif
