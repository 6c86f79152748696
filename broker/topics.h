/* The topics and partitions this broker hosts, and their persistence:
 * a topic exists when log.dir/topics/<name>.properties exists (written with
 * write-temp + fsync + rename, removed first on delete); each partition's log
 * lives in log.dir/<name>-<partition>/. Single-broker placement for now; the
 * controller (next step) will own assignments and this registry will apply
 * them. */
#ifndef STRATA_TOPICS_H
#define STRATA_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/producer_state.h"
#include "replication/damage.h"
#include "replication/replica.h"
#include "broker/seglog.h"
#include "common/topic_config.h" /* TOPIC_*_MAX, enum ts_type, topic_name_check */

struct topic;

/* One partition of a topic as this broker sees it. Reference-counted: a
 * produce waiting for its fsync keeps it alive across a topic delete.
 *
 * Hosting rule (issue 15: resources proportional to what a broker does,
 * not to what exists): every partition has an entry, but only a replica
 * hosted here has a log (directory, segment and index files). Standalone,
 * every partition is hosted. In cluster mode a partition is hosted when the
 * controller's image lists this broker among its replicas
 * (cluster_host_partition; at start, before any image, when its directory
 * exists); the others have hosted 0, log NULL, and take no role
 * (replica_assign as another broker's), so produce and fetch for them get
 * NOT_LEADER_OR_FOLLOWER as on any non-replica. An image that drops this
 * broker from the replicas closes the log (topics_unhost; a directory
 * with records stays on disk, an empty one is removed). log NULL with
 * hosted 1 is an OFFLINE replica: its log could not be opened
 * (topics_offline, broker/offline.c); an unhosted partition is never
 * offline. */
struct partition {
  struct topic *topic;
  uint32_t id;
  int hosted;          /* a replica here (the rule above) */
  struct seglog *log;  /* NULL: not hosted, or offline */
  int refs;
  int deleted;
  int sync_inflight;           /* group-commit syncs running (FLUSH_SYNCS_PER_LOG) */
  int64_t sync_end;            /* the log end the last one started covers */
  int on_dirty_list;
  struct partition *dirty_next;
  size_t watch_idx;   /* 1 + its place in the broker's isr_watch heap, 0 when not there */
  int64_t watch_at;   /* when cluster_isr_changes looks at it next (isr_watch.h) */
  /* Cluster mode (a controller assigns roles); standalone brokers lead all:
   * role, leader, epochs, ISR, high watermark, epoch cache. */
  struct replica rep;
  struct producer_state producers; /* idempotent producers' last batches */
  /* A damaged batch in this replica's log and its repair (replication/damage.h,
   * broker/integrity.c); damage_marked: the controller lists this replica as
   * damaged; damage_sending: a report to it is on its way. */
  struct damage damage;
  int damage_marked, damage_sending;
  int scrub_clean; /* a scrub pass over the whole log found nothing since start */
  int64_t damage_sent_ms; /* when the last report left (reports repeat at most once a second) */
  int32_t damaged_ids[REPLICAS_MAX]; /* the controller's damaged list, for metadata answers */
  uint32_t ndamaged_ids;
  /* As a follower: the position last named to its leader in the fetch
   * session of generation gen (broker/follow.c names it again only when
   * one of these changed, or in a new session). */
  struct {
    uint32_t gen;
    int32_t leader, leader_epoch, last_epoch;
    int64_t end, durable;
  } fsent;
  /* Its log could not be opened (log is NULL then; broker/offline.c): why
   * (an errno), when to try again and the backoff before the next try
   * (bounded), whether the controller lists this replica offline, and the
   * controller's offline list with each one's errno (for metadata answers). */
  int offline_errno;
  int64_t offline_retry_ms, offline_backoff_ms;
  int offline_marked;
  int32_t offline_ids[REPLICAS_MAX], offline_errnos[REPLICAS_MAX];
  uint32_t noffline_ids;
  struct ack_probe *probe; /* led with acks=all writes: their latest stages (ack_probe.h) */
};

struct topic_config_entry {
  char *key, *value;
};

struct topic {
  char *name;
  uint8_t id[16];        /* Kafka's topic id (topic.id in its file) */
  int id_from_controller;  /* the id is the controller's (topic.id.source=controller) */
  uint32_t npart;
  struct partition **parts;
  struct seglog_config seg;
  enum ts_type ts_type;
  uint32_t max_message_bytes;
  uint32_t min_insync;   /* min.insync.replicas for acks=all */
  int unclean;           /* unclean.leader.election.enable */
  struct topic_config_entry configs[TOPIC_CONFIGS_MAX];
  size_t nconfigs;
  /* Since this process opened the topic (docs/admin.md): as leader, batch
   * bytes and records appended for producers and batch bytes sent to
   * consumers; ISR changes of partitions led here. */
  uint64_t bytes_in, records_in, bytes_out;
  uint64_t isr_shrinks, isr_expands;
};

struct topics {
  char *dir;
  int assigned_only; /* cluster mode: only assigned replicas get a log (struct partition) */
  struct seglog_config seg_defaults;
  uint32_t message_max_bytes;
  struct topic **v;
  size_t n, cap;
};

/* Open every topic found under dir. 0 or a negative STRATA_E* (err says
 * which topic); now_ms for the logs' recovery. assigned_only (cluster
 * mode): a partition's log is opened only when its directory exists, and
 * new partitions get none until topics_host. */
int topics_open(struct topics *t, const char *dir,
                const struct seglog_config *defaults, uint32_t message_max_bytes,
                int assigned_only, int64_t now_ms, char *err, size_t err_len);
void topics_close(struct topics *t);

struct topic *topics_find(const struct topics *t, const char *name);
struct partition *topics_partition(const struct topics *t, const char *name,
                                   uint32_t partition);

/* Create with per-topic configs (keys/values arrays of n) and topic id
 * (16 bytes from the controller; NULL: a new random one). Errors:
 * TOPIC_EXISTS, INVALID_TOPIC, INVALID_PARTITIONS, INVALID_CONFIG, IO. */
int topics_create(struct topics *t, const char *name, uint32_t partitions,
                  const char *const *keys, const char *const *values, size_t n,
                  const uint8_t *id, int64_t now_ms, char *err, size_t err_len);
/* The controller's id for a topic held here (it decides; a topic file
 * written before ids, or by a standalone broker, may hold another): kept in
 * the topic file. */
int topics_set_id(struct topics *t, struct topic *tp, const uint8_t id[16], char *err,
                  size_t err_len);
struct topic *topics_find_id(const struct topics *t, const uint8_t id[16]);
int topics_delete(struct topics *t, const char *name);
/* Growing a topic to `count` partitions: the check alone (UNKNOWN_TOPIC,
 * INVALID_PARTITIONS with Kafka's message), and the change: new partition
 * logs opened (no role yet), the topic file rewritten. Existing
 * struct partition pointers stay valid. */
int topics_grow_check(const struct topics *t, const char *name, uint32_t count, char *err,
                      size_t err_len);
int topics_add_partitions(struct topics *t, const char *name, uint32_t count, int64_t now_ms,
                          char *err, size_t err_len);

void partition_ref(struct partition *p);
void partition_unref(struct partition *p);
/* Note an appended batch's producer fields (base: its offset in the log). */
struct batch_header;
int partition_note_producer(struct partition *p, const struct batch_header *h, int64_t base);
/* After a truncation: the producer state again from what the log holds. */
int partition_rebuild_producers(struct partition *p);
/* Try again to open an offline partition's log (p->log NULL): 0 when it
 * opened (its epoch cache and producers read from it), else the errno of
 * this try (p->offline_errno). */
int topics_reopen(struct topics *t, struct partition *p, int64_t now_ms);
/* Partitions whose log could not be opened (offline), for the broker's
 * walk over them (broker/offline.c). */
size_t topics_offline_count(const struct topics *t);
static inline int topics_offline(const struct partition *p) { return p->hosted && !p->log; }
/* This broker became a replica of p: its log opened (created empty when
 * missing; offline when it cannot be), 0 or STRATA_ENOMEM. */
int topics_host(struct topics *t, struct partition *p, int64_t now_ms);
/* This broker is no longer a replica of p: the entry is replaced by an
 * unhosted one, returned; p itself is marked deleted and its log closes
 * with its last reference (as on a topic delete: holders of p see
 * deleted). The directory stays on disk unless the log was empty and
 * nobody else held p. */
struct partition *topics_unhost(struct topics *t, struct partition *p);

#endif
