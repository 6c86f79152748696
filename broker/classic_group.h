/* One classic Kafka consumer group as its coordinator sees it: the
 * JoinGroup / SyncGroup / Heartbeat / LeaveGroup protocol with client-side
 * assignment, as Kafka's GroupCoordinator runs it (states Empty,
 * PreparingRebalance, CompletingRebalance, Stable, Dead; a generation per
 * completed rebalance; a leader member that receives every member's
 * protocol metadata and sends back everyone's assignment as opaque bytes).
 * Native (KIP-848-like) groups are broker/group.c; a group is one or the
 * other (broker/coordinator.c keeps them apart).
 *
 * A plain state machine: no Kafka wire codec, no I/O, no clock (every call
 * takes now_ms, monotonic), no libuv. JoinGroup and SyncGroup answers may
 * be deferred (the join phase waits for every member, a follower's
 * SyncGroup waits for the leader's), so those calls take an opaque token
 * per request and every call that can complete requests appends
 * (token, answer) pairs to a `struct classic_out`, which the caller encodes
 * and sends, then resets. A token handed in is answered exactly once: by
 * the call itself, by a later call (join, sync, leave, heartbeat, tick) or
 * by classic_shutdown; never dropped.
 *
 * Incremental cooperative rebalancing (cooperative-sticky) needs nothing
 * more from the coordinator: the client's assignor revokes first and the
 * members rejoin at once; the coordinator only has to accept a rejoin in
 * Stable (changed metadata: a new rebalance) and offset commits during
 * PreparingRebalance, which it does. */
#ifndef STRATA_CLASSIC_GROUP_H
#define STRATA_CLASSIC_GROUP_H

#include <stddef.h>
#include <stdint.h>

#define CLASSIC_ID_MAX 255          /* member, instance, client ids, host, protocol names */
#define CLASSIC_PROTOCOLS_MAX 32    /* protocols offered in one JoinGroup */
#define CLASSIC_BYTES_MAX (4u << 20) /* one protocol's metadata, one assignment */
#define CLASSIC_MEMBERS_DEFAULT_MAX 1000 /* group.max.size (members + pending joiners) */
/* A new member parked in the join phase leaves after this (Kafka's
 * group.new.member.join.timeout): it cannot heartbeat yet. */
#define CLASSIC_NEW_MEMBER_JOIN_TIMEOUT_MS 300000

enum classic_state {
  CLASSIC_EMPTY,
  CLASSIC_PREPARING_REBALANCE,
  CLASSIC_COMPLETING_REBALANCE,
  CLASSIC_STABLE,
  CLASSIC_DEAD,
};

struct classic_config {
  int64_t initial_delay_ms;   /* group.initial.rebalance.delay.ms: the first join of an empty group waits this long for more */
  int32_t session_min_ms;     /* group.min.session.timeout.ms */
  int32_t session_max_ms;     /* group.max.session.timeout.ms (must allow the Java consumer's 45 s) */
  uint32_t max_members;       /* group.max.size; 0: CLASSIC_MEMBERS_DEFAULT_MAX */
};

/* ---- requests (the caller's memory, read during the call only) ---- */

struct classic_protocol {
  const char *name;           /* e.g. "range", "cooperative-sticky" */
  const uint8_t *metadata;    /* opaque (the consumer's Subscription) */
  size_t len;
};

struct classic_join_req {
  const char *member_id;      /* "" on a first join */
  const char *instance_id;    /* group.instance.id (v5+); NULL or "": dynamic member */
  const char *client_id, *client_host; /* for DescribeGroups (cut at CLASSIC_ID_MAX); NULL: "" */
  const char *protocol_type;  /* "consumer" for consumers */
  const struct classic_protocol *protocols; /* in the member's order of preference */
  size_t nprotocols;
  int32_t session_ms;
  int32_t rebalance_ms;       /* v1+; <= 0 (v0): the session timeout */
  int require_known_member_id; /* v4+: a new dynamic member first gets MEMBER_ID_REQUIRED */
  int skip_assignment_ok;     /* v9+ (KIP-814): a static leader rejoining may skip assigning */
};

struct classic_assignment {
  const char *member_id;
  const uint8_t *data;
  size_t len;
};

struct classic_sync_req {
  const char *member_id;
  const char *instance_id;    /* NULL or "": none */
  int32_t generation;
  const char *protocol_type, *protocol_name; /* v5+; NULL when absent: not checked */
  const struct classic_assignment *assignments; /* the leader's; ignored from followers */
  size_t nassignments;
};

struct classic_heartbeat_req {
  const char *member_id;
  const char *instance_id;    /* NULL or "": none */
  int32_t generation;
};

/* One member of a LeaveGroup (v0-2: one, with no instance id; v3+: a batch).
 * member_id "" with an instance id removes that static member (admin). */
struct classic_leave_member {
  const char *member_id;
  const char *instance_id;
};

/* ---- answers (owned by the classic_out; strings may be NULL: send "" or null) ---- */

enum classic_answer_kind { CLASSIC_ANSWER_JOIN, CLASSIC_ANSWER_SYNC };

struct classic_member_meta {
  char *member_id;
  char *instance_id;          /* NULL: dynamic member */
  uint8_t *metadata;          /* its metadata for the chosen protocol */
  size_t len;
};

struct classic_answer {
  void *token;                /* as handed in with the request */
  int kind;                   /* CLASSIC_ANSWER_JOIN or CLASSIC_ANSWER_SYNC */
  int error;                  /* 0 or a negative STRATA_E* (classic_kafka_error maps it) */
  /* JoinGroup */
  char *member_id;            /* the member's id (with MEMBER_ID_REQUIRED: the one to rejoin with) */
  int32_t generation;         /* -1 on errors */
  char *protocol_type, *protocol_name; /* NULL when none */
  char *leader_id;            /* NULL when none */
  int skip_assignment;        /* v9+: the leader must not assign (static leader rejoined) */
  struct classic_member_meta *members; /* the leader's answer only (else 0 of them) */
  size_t nmembers;
  /* SyncGroup (also protocol_type and protocol_name above) */
  uint8_t *assignment;
  size_t assignment_len;
};

struct classic_out {
  struct classic_answer *v;
  size_t n, cap;
};

/* ---- the group ---- */

struct classic_member {
  char *id, *instance_id;     /* instance_id NULL: dynamic */
  char *client_id, *client_host;
  int32_t session_ms, rebalance_ms;
  struct classic_protocol *protocols; /* owned copies */
  size_t nprotocols;
  uint8_t *assignment;        /* what the leader gave it this generation */
  size_t assignment_len;
  int64_t deadline_ms;        /* session expiry (heartbeats push it) */
  int is_new;                 /* joined in this join phase: expires even while parked */
  int awaiting_join, awaiting_sync; /* a request of it is parked... */
  void *join_token, *sync_token;    /* ...with this token */
  int pending_sync;           /* joined this generation, SyncGroup not seen yet */
};

struct classic_pending {      /* given a member id by MEMBER_ID_REQUIRED, not rejoined yet */
  char *id;
  int64_t deadline_ms;
};

struct classic_group {
  char *id;
  struct classic_config cfg;
  int state;                  /* enum classic_state */
  int prev_state;             /* the state before PreparingRebalance (Empty: the initial join) */
  int32_t generation;
  char *protocol_type;        /* set by the first member; kept while Empty */
  char *protocol_name;        /* chosen at each generation; NULL when Empty */
  char *leader;               /* a member id, NULL when none */
  struct classic_member **members; /* in join order */
  size_t nmembers;
  struct classic_pending *pending;
  size_t npending;
  int64_t join_deadline_ms;   /* PreparingRebalance: the join phase ends then (0: none) */
  int initial_join;           /* that deadline is the initial delay's */
  int64_t initial_remaining_ms; /* rebalance time left after the initial delay */
  int new_member_added;       /* a member joined during the initial delay: extend it */
  int64_t sync_deadline_ms;   /* CompletingRebalance/Stable: members that have not synced leave then (0: none) */
  char nonce[48];             /* member ids: <client id>-<nonce>-<n>, unique across coordinators */
  uint64_t next_member;
  /* Its record (classic_encode) changed: a new generation became Stable or
   * Empty, a static member was replaced, or the group is new. The glue
   * writes it to __consumer_offsets (coord_encode_kind clears this). */
  int dirty;
};

/* Defaults as this project chose them: the initial delay is the native
 * groups' setting (group.initial.rebalance.delay.ms, 300 ms by default
 * here, 3000 in Kafka), sessions 1 s .. 300 s (Kafka: 6 s .. 30 min). */
void classic_config_default(struct classic_config *cfg);

/* An Empty group at generation 0. `nonce` must differ between every group
 * object ever created under one group id (the coordinator passes its own
 * nonce and a counter) so that a member id is never given twice. 0,
 * STRATA_EINVALID_REQUEST (bad id) or STRATA_ENOMEM. */
int classic_init(struct classic_group *g, const char *id, const struct classic_config *cfg,
                 const char *nonce);
/* Frees everything. Parked requests must have been answered first
 * (classic_shutdown): their tokens are dropped here. */
void classic_free(struct classic_group *g);

/* The group goes away (its coordinator moves, or it is deleted): every
 * parked JoinGroup/SyncGroup is answered with `err` (NOT_COORDINATOR or
 * COORDINATOR_NOT_AVAILABLE) into `out`, and the group is Dead (every
 * later request: COORDINATOR_NOT_AVAILABLE). */
void classic_shutdown(struct classic_group *g, int err, struct classic_out *out);

/* JoinGroup. Returns 0: the answer for `token` is in `out` now, or will be
 * appended by a later call when the join phase completes (all known members
 * rejoined, or the rebalance timeout: max of members' rebalance_ms; the
 * initial join of an empty group waits initial_delay_ms, extended while
 * members keep arriving, up to the rebalance timeout). Answers for other
 * members' parked joins and syncs may be appended too. Errors in the answer:
 * INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL (no protocol every
 * member supports, other protocol type), MEMBER_ID_REQUIRED (with the new
 * member id), UNKNOWN_MEMBER, FENCED_INSTANCE_ID (an older member id of a
 * static instance), GROUP_MAX_SIZE_REACHED, REBALANCE_IN_PROGRESS (a
 * request superseded by the same member's newer one), COORDINATOR_NOT_AVAILABLE
 * (Dead). Returns < 0 (STRATA_EINVALID_REQUEST: an id, protocol name or
 * type over CLASSIC_ID_MAX, more than CLASSIC_PROTOCOLS_MAX protocols,
 * metadata over CLASSIC_BYTES_MAX; STRATA_ENOMEM):
 * nothing changed, the token is not kept and the caller answers it. */
int classic_join(struct classic_group *g, int64_t now_ms, const struct classic_join_req *req,
                 void *token, struct classic_out *out);

/* SyncGroup. Same contract as classic_join: 0 and the token's answer comes
 * now (errors; Stable: the member's assignment; the leader's own sync in
 * CompletingRebalance: everyone's) or when the leader's SyncGroup arrives
 * (a follower's in CompletingRebalance). Members the leader gave nothing get
 * an empty assignment. Errors: UNKNOWN_MEMBER, FENCED_INSTANCE_ID,
 * ILLEGAL_GENERATION, INCONSISTENT_GROUP_PROTOCOL (v5 type/name differ),
 * REBALANCE_IN_PROGRESS (a rebalance started; rejoin),
 * COORDINATOR_NOT_AVAILABLE. */
int classic_sync(struct classic_group *g, int64_t now_ms, const struct classic_sync_req *req,
                 void *token, struct classic_out *out);

/* Heartbeat: answered at once (the return value). 0: carry on;
 * STRATA_EREBALANCE_IN_PROGRESS: rejoin (PreparingRebalance);
 * STRATA_EILLEGAL_GENERATION, STRATA_EUNKNOWN_MEMBER,
 * STRATA_EFENCED_INSTANCE_ID, STRATA_ECOORDINATOR_NOT_AVAILABLE. A valid
 * heartbeat pushes the member's session deadline. */
int classic_heartbeat(struct classic_group *g, int64_t now_ms, const struct classic_heartbeat_req *req);

/* LeaveGroup of `n` members; errors[i] gets each one's result (0,
 * STRATA_EUNKNOWN_MEMBER, STRATA_EFENCED_INSTANCE_ID). A leave may start or
 * complete a rebalance: answers to parked requests go to `out`. Returns 0,
 * or STRATA_ECOORDINATOR_NOT_AVAILABLE (Dead: the top-level error, nothing
 * done) or STRATA_ENOMEM (nothing done). */
int classic_leave(struct classic_group *g, int64_t now_ms, const struct classic_leave_member *m,
                  size_t n, int *errors, struct classic_out *out);

/* Timeouts: pending joiners and members past their session, the end of the
 * join phase, members that did not sync in time. Answers go to `out`.
 * Returns 0 or STRATA_ENOMEM (nothing done: call again). */
int classic_tick(struct classic_group *g, int64_t now_ms, struct classic_out *out);

/* When classic_tick next has something to do (INT64_MAX: nothing). */
int64_t classic_next_deadline(const struct classic_group *g);

/* May this OffsetCommit (or TxnOffsetCommit: transactional) go on, as
 * Kafka's ClassicGroup.validateOffsetCommit decides? generation < 0 with
 * no member id is a "simple" commit (admin tools, assign() consumers):
 * allowed while the group is Empty. Otherwise the member must be known
 * (STRATA_EUNKNOWN_MEMBER, STRATA_EFENCED_INSTANCE_ID) at the current
 * generation (STRATA_EILLEGAL_GENERATION); in CompletingRebalance a
 * non-transactional commit gets STRATA_EREBALANCE_IN_PROGRESS (commits
 * during PreparingRebalance are fine: that is where eager consumers commit
 * before rejoining). Dead: STRATA_ECOORDINATOR_NOT_AVAILABLE. Changes nothing
 * (a commit does not count as a heartbeat). */
int classic_commit_check(const struct classic_group *g, const char *member_id,
                         const char *instance_id, int32_t generation, int transactional);

/* ---- persistence (Kafka's GroupMetadata record) ---- */

/* The group as a record value (malloc'd, *out; free it): protocol type and
 * generation, and when Stable the protocol, the leader and every member
 * (ids, client id and host, timeouts, its metadata for the chosen
 * protocol, its assignment). Any other state is written without members
 * (a group mid-rebalance is only written when it is new). 0 or
 * STRATA_ENOMEM. Layout in docs/storage.md. */
int classic_encode(const struct classic_group *g, uint8_t **out, size_t *len);

/* A new coordinator takes the group over from its record: g (just made by
 * classic_init) becomes Stable at the recorded generation with the
 * recorded members and assignments (their sessions start at the next
 * classic_tick), or Empty. Members carry on without a rebalance; a member
 * that died meanwhile expires after its session. Bad bytes:
 * STRATA_ECORRUPT, g unchanged. */
int classic_restore(struct classic_group *g, const uint8_t *p, size_t len);

/* ---- DescribeGroups / ListGroups ---- */

/* Kafka's state names: "Empty", "PreparingRebalance", "CompletingRebalance",
 * "Stable", "Dead". */
const char *classic_state_name(int state);

struct classic_member_desc {
  const char *member_id, *instance_id; /* instance_id NULL: dynamic */
  const char *client_id, *client_host;
  const uint8_t *metadata;    /* Stable only (as Kafka): its metadata for the chosen protocol */
  size_t metadata_len;
  const uint8_t *assignment;  /* Stable only */
  size_t assignment_len;
};

struct classic_desc {
  const char *state;          /* classic_state_name */
  const char *protocol_type;  /* "" when none */
  const char *protocol;       /* the chosen protocol in Stable, else "" (as Kafka) */
  int32_t generation;
  const char *leader;         /* "" when none */
  struct classic_member_desc *members; /* malloc'd; pointers into the group */
  size_t nmembers;
};

/* DescribeGroups data; the pointers are valid until the group next changes.
 * 0 or STRATA_ENOMEM. Free with classic_describe_free. */
int classic_describe(const struct classic_group *g, struct classic_desc *d);
void classic_describe_free(struct classic_desc *d);

/* Members now (pending joiners not counted). */
size_t classic_member_count(const struct classic_group *g);

/* ---- answers ---- */

void classic_out_init(struct classic_out *o);
/* Free every answer's payload and forget them (the array is kept). */
void classic_out_reset(struct classic_out *o);
void classic_out_free(struct classic_out *o);

/* Kafka's error code for what this module (and the commit path) returns:
 * 0, MEMBER_ID_REQUIRED 79, ILLEGAL_GENERATION 22, ... (-1: UNKNOWN_SERVER_ERROR). */
int16_t classic_kafka_error(int err);

#endif
