/* The group coordinators this broker hosts: for every partition of
 * __consumer_offsets it leads, the groups that hash to it, with their
 * membership (broker/group.c) and committed offsets. Offsets live as records
 * in that partition (key: group, topic, partition; value: offset and
 * metadata; a null value deletes), so a broker that becomes its leader
 * loads them from the log before it answers for those groups. No I/O here
 * beyond reading a local log at load time. */
#ifndef STRATA_COORDINATOR_H
#define STRATA_COORDINATOR_H

#include <stddef.h>
#include <stdint.h>

#include "broker/group.h"

#define OFFSETS_TOPIC "__consumer_offsets"
#define OFFSETS_METADATA_MAX 1024

struct committed {
  char *topic;
  uint32_t partition;
  int64_t offset;
  char *metadata;
};

/* A commit appended to the offsets log but not yet replicated: it takes
 * effect (OffsetFetch shows it) only once the high watermark passes `end`,
 * as Kafka does, so a leader that dies with it unreplicated never showed a
 * member an offset its successor does not have. */
struct pending_commit {
  uint32_t home;               /* its __consumer_offsets partition */
  int64_t end;                 /* the log end after its record */
  char *group, *topic, *metadata;
  uint32_t partition;
  int64_t offset;
};

struct cgroup {
  struct group g;
  uint32_t home;               /* its __consumer_offsets partition */
  struct committed *offsets;
  size_t noffsets, cap;
};

struct coordinator {
  struct group_config cfg;
  char nonce[24];
  struct cgroup **groups;
  size_t n;
  uint32_t npart;              /* partitions of __consumer_offsets (0: none yet) */
  uint8_t *loaded;             /* per partition: loaded, we lead it */
  /* per partition: a compaction in progress: the live offsets were written
   * again from `compact_from`; once replicated up to `compact_until`, the
   * segments below compact_from are deleted (0: none pending) */
  int64_t *compact_from, *compact_until;
  /* per partition: its log end when it was loaded; the coordinator answers
   * once the high watermark reaches it (what it loaded is then committed) */
  int64_t *load_end;
  struct pending_commit *pending;
  size_t npending, pending_cap;
};

void coord_init(struct coordinator *c, const struct group_config *cfg, const char *nonce);
void coord_free(struct coordinator *c);

/* Which __consumer_offsets partition a group lives in (Java's
 * String.hashCode, as Kafka). */
uint32_t coord_home(const char *group, uint32_t npart);

/* Find a group of a loaded partition; create it when asked. NULL when the
 * group's partition is not loaded here (not the coordinator). */
struct cgroup *coord_group(struct coordinator *c, const char *id, int create, int *rc);

/* Build the batch recording these commits (offset < 0: delete), and apply
 * a record read back from the log. */
struct batch_builder;
int coord_encode_commit(struct batch_builder *b, const char *group, const char *topic,
                        uint32_t partition, int64_t offset, const char *metadata,
                        int64_t now_ms);
void coord_apply_commit(struct coordinator *c, const char *group, const char *topic,
                        uint32_t partition, int64_t offset, const char *metadata);
/* Decode one record of the offsets topic and apply it; malformed records
 * are skipped (0) so a bad one cannot stop a coordinator from loading. */
int coord_apply_record(struct coordinator *c, const uint8_t *key, int32_t key_len,
                       const uint8_t *value, int32_t value_len);

const struct committed *coord_committed(const struct cgroup *g, const char *topic,
                                        uint32_t partition);

/* A commit appended at `home` whose record ends at `end` (0, or
 * STRATA_ENOMEM); coord_promote applies, in order, those that the high
 * watermark `hw` of `home` has passed. */
int coord_add_pending(struct coordinator *c, uint32_t home, int64_t end, const char *group,
                      const char *topic, uint32_t partition, int64_t offset, const char *metadata);
void coord_promote(struct coordinator *c, uint32_t home, int64_t hw);
/* Commits of `home` still waiting for replication. */
size_t coord_pending_count(const struct coordinator *c, uint32_t home);

/* Partition `k` of the offsets topic: loaded (we now lead it; records come
 * through coord_apply_record first) or unloaded (we no longer do). */
int coord_set_partitions(struct coordinator *c, uint32_t npart);
void coord_mark_loaded(struct coordinator *c, uint32_t k, int64_t log_end);
void coord_unload(struct coordinator *c, uint32_t k);

/* Drop a group (its offsets are deleted by tombstones the caller wrote). */
void coord_remove(struct coordinator *c, const char *id);

#endif
