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

#include "broker/classic_group.h"
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

/* A group is native (broker/group.c: Strata's GroupHeartbeat) or classic
 * (broker/classic_group.c: Kafka's JoinGroup/SyncGroup), never both: a
 * request of the other kind is refused with INCONSISTENT_GROUP_PROTOCOL
 * while the group has members; an empty group changes kind on the first
 * join of the other kind (as Kafka 4 converts empty groups). The kind is
 * recorded in __consumer_offsets (a group-kind record, coord_encode_kind),
 * so a new coordinator knows it, with a classic group's generation and
 * members (native members are not recorded: they rejoin). */
#define COORD_KIND_NATIVE 1
#define COORD_KIND_CLASSIC 2

struct cgroup {
  struct group g;              /* the native group (also the id; empty when classic) */
  struct classic_group *classic; /* non-NULL: a classic group */
  uint8_t *record;             /* a classic group's last record (classic_encode), for compaction */
  size_t record_len;
  int kind_dirty;              /* it became native: its kind record is to be written */
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
  uint64_t classic_seq;        /* makes each classic group's member-id nonce unique */
  /* Answers to parked classic JoinGroup/SyncGroup requests that the
   * coordinator itself completed (coord_classic_tick; coord_unload and
   * coord_remove: NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE). The Kafka
   * glue sends them and calls classic_out_reset after every such call. */
  struct classic_out classic_out;
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

/* ---- classic groups ---- */

/* The classic group `id` for a classic request (JoinGroup with an empty
 * member id: create=1; anything else: 0). NULL with *rc:
 * STRATA_EINCONSISTENT_GROUP_PROTOCOL (a native group with members),
 * STRATA_EUNKNOWN_MEMBER (no classic group and create=0, as Kafka answers
 * a member of a group it does not know), or coord_group's errors
 * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ENOMEM). A group that has
 * just become classic is dirty (coord_kind_dirty): see below. */
struct cgroup *coord_classic(struct coordinator *c, const char *id, int create, int *rc);
/* A native GroupHeartbeat reached group g: STRATA_EINCONSISTENT_GROUP_PROTOCOL
 * if it is a classic group with members (or members-to-be); an empty
 * classic group becomes native when the heartbeat joins (and is dirty). */
int coord_claim_native(struct coordinator *c, struct cgroup *g, int joining);
/* Its group-kind record must be written: after every classic_* call (and
 * coord_classic_tick) the glue appends coord_encode_kind's record of each
 * dirty group to its offsets partition (group_handlers_persist_kinds does
 * it), without waiting for replication. The record carries the classic
 * group as Kafka's GroupMetadata does (generation, members, assignments),
 * written when a generation becomes Stable or Empty and when a static
 * member is replaced: a new coordinator restores the group from it and
 * its members carry on (heartbeats and commits at the same generation). A
 * record lost in a crash leaves the previous one: members of a newer
 * generation then hear ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID and rejoin. */
int coord_kind_dirty(const struct cgroup *g);
/* The group-kind record of g as it is now (clears the dirty flags), or the
 * tombstone of a deleted group's. */
int coord_encode_kind(struct batch_builder *b, struct cgroup *g, int64_t now_ms);
int coord_encode_kind_delete(struct batch_builder *b, const char *group, int64_t now_ms);
/* The same record as key bytes (COORD_KIND_KEY_MAX at most) and a value
 * (*value malloc'd: free it). */
#define COORD_KIND_KEY_MAX (1 + GROUP_ID_MAX)
int coord_kind_record(struct cgroup *g, uint8_t *key, size_t *key_len, uint8_t **value,
                      size_t *value_len);
/* Live members of either kind (static members away included). */
size_t coord_members(const struct cgroup *g);
/* OffsetCommit from a Kafka client (generation and member id, v1-v8):
 * 0 or the error for every partition. g NULL: no such group. A commit with
 * generation < 0 to a group without members is a "simple" commit (admin
 * tools, assign() consumers), accepted; classic groups: classic_commit_check;
 * a native group with members: STRATA_EUNKNOWN_MEMBER; a known member
 * cannot belong to a group that does not exist: STRATA_EILLEGAL_GENERATION
 * (Kafka before OffsetCommit v9). */
int coord_classic_commit_check(const struct cgroup *g, const char *member_id,
                               const char *instance_id, int32_t generation, int transactional);
/* ListGroups / DescribeGroups: the group's state as Kafka names it
 * (classic: classic_state_name; native, as KIP-848 groups: "Empty",
 * "Assigning", "Reconciling", "Stable") and its protocol type ("consumer";
 * "" for a group that only holds offsets from simple commits). */
const char *coord_state_name(const struct cgroup *g);
const char *coord_protocol_type(const struct cgroup *g);
/* Timeouts of every classic group (answers into c->classic_out). */
void coord_classic_tick(struct coordinator *c, int64_t now_ms);
/* When coord_classic_tick next has work (INT64_MAX: none). */
int64_t coord_classic_next_deadline(const struct coordinator *c);

#endif
