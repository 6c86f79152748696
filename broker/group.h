/* One consumer group as its coordinator sees it: members, their
 * subscriptions, the target assignment (computed server-side by an
 * assignor) and the reconciliation that moves members to it without ever
 * letting two members own a partition at once (safety property 5).
 *
 * The protocol is incremental, like Kafka's KIP-848: every member heartbeats
 * with what it owns; a member that must give partitions up is told its
 * assignment without them (and keeps consuming the rest meanwhile); a
 * partition is handed to its new owner only once its old owner has reported
 * it released (or left, or timed out). The group epoch counts membership and
 * subscription changes; a member's epoch reaches the group's target epoch
 * when it has nothing left to revoke, and offset commits carry it.
 *
 * A plain state machine: inputs are heartbeats, leaves, partition counts and
 * ticks with the current time; outputs are the responses. No I/O, no clock. */
#ifndef STRATA_GROUP_H
#define STRATA_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "broker/assignor.h"
#include "common/principal.h"

#define GROUP_ID_MAX 255
#define GROUP_MEMBER_ID_MAX 63
#define GROUP_TOPICS_MAX 64    /* a member's subscription */

/* Special member epochs in a heartbeat. */
#define GROUP_JOIN 0           /* with an empty member id: join */
#define GROUP_LEAVE (-1)       /* leave for good: its partitions move now */
#define GROUP_LEAVE_STATIC (-2) /* a static member going away for a restart */

struct group_tp {
  const char *topic;
  uint32_t partition;
};

struct group_config {
  int64_t initial_delay_ms;    /* first join of an empty group: wait this long for others */
  int32_t heartbeat_ms;        /* told to members */
  int32_t session_min_ms, session_max_ms; /* members' session timeouts are clamped here */
};

struct group_member {
  char id[GROUP_MEMBER_ID_MAX + 1];
  char instance_id[GROUP_MEMBER_ID_MAX + 1]; /* static membership; "" when none */
  int32_t epoch;
  int32_t session_ms;
  int64_t last_seen_ms;
  int away;                    /* static member that left for a restart */
  char **topics;               /* subscription (owned strings) */
  size_t ntopics;
  char *pattern;               /* subscribed by pattern: topics are its current matches */
  struct principal who;        /* who subscribed by pattern: matches are only the topics
                                  it may describe (KIP-848), also when refreshed later */
  struct tp *owned;            /* what it reported consuming (topic: group's table index) */
  size_t nowned;
  struct tp *assigned;         /* what we last told it to consume */
  size_t nassigned;
  struct tp *target;           /* its share of the target assignment */
  size_t ntarget;
};

struct group {
  char id[GROUP_ID_MAX + 1];
  struct group_config cfg;
  int kind;                    /* assignor */
  int32_t epoch;               /* group epoch: bumps at each membership or subscription change */
  int32_t target_epoch;        /* the epoch the target assignment was computed at */
  int64_t compute_at_ms;       /* initial delay: compute the target then (0: now) */
  char nonce[24];              /* makes member ids unique across coordinators */
  uint64_t next_member;
  struct group_member **members;
  size_t nmembers;
  char **topic_names;          /* every topic a member subscribes to (owned strings) */
  uint32_t *topic_parts;       /* its partition count (0 until known) */
  size_t ntopics;
};

struct group_heartbeat {
  const char *member_id;       /* "" to join */
  int own_member_id;           /* joining (GROUP_JOIN) under member_id, the member's own:
                                  a new member gets it, a known one joins again */
  const char *instance_id;     /* optional static membership */
  int32_t member_epoch;        /* GROUP_JOIN, GROUP_LEAVE, GROUP_LEAVE_STATIC or its epoch */
  int32_t session_ms;          /* 0: the configured minimum */
  const char *const *topics;   /* subscription; NULL: unchanged */
  size_t ntopics;
  const struct group_tp *owned;/* what it consumes now; NULL: unchanged */
  size_t nowned;
};

struct group_reply {
  char member_id[GROUP_MEMBER_ID_MAX + 1];
  int32_t member_epoch;
  int32_t heartbeat_ms;
  struct group_tp *assignment; /* malloc'd; topic names point into the group */
  size_t nassignment;
};

int group_init(struct group *g, const char *id, const struct group_config *cfg, int kind,
               const char *nonce);
void group_free(struct group *g);

/* One heartbeat; fills *reply (free with group_reply_free). Errors:
 * STRATA_EUNKNOWN_MEMBER, STRATA_EILLEGAL_GENERATION (a fenced epoch),
 * STRATA_EINVALID_REQUEST. A refused heartbeat changes nothing. */
int group_heartbeat(struct group *g, const struct group_heartbeat *hb, int64_t now_ms,
                    struct group_reply *reply);
void group_reply_free(struct group_reply *r);

/* A topic's partition count from the metadata (new topic, more partitions);
 * the I/O layer sets it for every topic a member subscribes to. */
int group_set_partitions(struct group *g, const char *topic, uint32_t npart, int64_t now_ms);

/* A pattern subscriber's matching topics changed (a topic was created or
 * deleted): its subscription becomes them. */
int group_set_member_topics(struct group *g, const char *member_id, const char *const *topics,
                            size_t ntopics, int64_t now_ms);
/* Remember a member's pattern (NULL: none) and who subscribed with it (NULL:
 * nobody, an anonymous principal). */
int group_set_member_pattern(struct group *g, const char *member_id, const char *pattern,
                             const struct principal *who);

/* Expire members past their session timeout; compute a delayed target. */
void group_tick(struct group *g, int64_t now_ms);

/* May this member commit an offset of this partition (assigned to it, or
 * one it is giving up and still owns)? 0, or STRATA_EUNKNOWN_MEMBER /
 * STRATA_EILLEGAL_GENERATION (stale epoch) / STRATA_EINVALID_REQUEST (not
 * its partition). */
int group_commit_check(const struct group *g, const char *member_id, int32_t member_epoch,
                       const char *topic, uint32_t partition);

const struct group_member *group_find_member(const struct group *g, const char *member_id);
/* Stable: no member has anything to revoke or to receive. */
int group_is_stable(const struct group *g);

#endif
