/* The controller quorum's consensus core: KRaft's Raft (KIP-595) as a pure
 * step function, shaped like cowsql/raft's raft_step. Events in (start
 * with the persisted state, a message received, entries persisted, a
 * snapshot done, a tick, records submitted, a leadership transfer), an
 * update out (persist epoch and vote, truncate or append entries, messages
 * to send, the high watermark, the role, the next deadline). No I/O, no
 * clock, no allocation: time comes in events, randomness from a seeded
 * generator the start event passes in, and the log's bytes never enter the
 * core (it tracks offsets and epochs; the glue moves the records).
 *
 * The protocol, as KRaft has it:
 * - Pull replication: followers send Fetch(offset, last fetched epoch);
 *   the leader answers records, or DivergingEpoch {epoch, end offset} (the
 *   follower truncates, KIP-279's rule), or a snapshot id when the offset is
 *   below its log start or the logs fork inside its snapshot (KIP-630; the
 *   follower pulls it with FetchSnapshot).
 * - Fetch answers echo the request's (offset, last epoch): a late answer
 *   to an older fetch is dropped, never applied to a log it was not for.
 *   A voter's fetch offset is durable: it fetches again only once what it
 *   appended is persisted, so the offset it reports survives its crash.
 * - High watermark: the majority's fetch offsets, the leader's own counted
 *   only up to what it has fsynced, and moving only once a record of the
 *   leader's own epoch is in it (the leader appends one on election, like
 *   KRaft's LeaderChangeMessage), Raft's "commit only your own term" rule.
 * - Elections: Vote with pre-vote (KIP-996): a voter first asks for
 *   pre-votes, which change no state; a voter that fetched from a live
 *   leader within the fetch timeout refuses them, so a partitioned voter
 *   rejoining does not depose a healthy leader. Real votes: one per epoch,
 *   persisted before the answer leaves, only to a log at least as long
 *   (last epoch, then end offset). BeginQuorumEpoch announces a new leader
 *   (followers pull, so they would not hear otherwise), EndQuorumEpoch a
 *   graceful resignation with preferred successors (transfer).
 * - Check-quorum (KAFKA-15489): a leader not fetched from by a majority
 *   within 1.5 x the fetch timeout resigns.
 * - A restarted node is never leader: it comes back Unattached (or Resigned
 *   when it was the leader) in its persisted epoch with its persisted vote.
 * - Voters are (id, directory id) pairs (KIP-853): a node whose directory
 *   id differs from its voter entry (a wiped disk) is an observer: it
 *   fetches, but never votes, campaigns or counts towards the quorum.
 * - Voter changes (KIP-853): the leader adds a caught-up observer or
 *   removes a voter (ADD_VOTER / REMOVE_VOTER), one at a time and only once
 *   a record of its own epoch is committed, by appending a VotersRecord.
 *   The set takes effect on every node as soon as the record is in its log
 *   (appended, not committed: Raft's single-server change), a truncation
 *   that cuts the record restores the set before it, and a snapshot holds
 *   the set at its end. A leader that removed itself leads (not counting
 *   itself) until the change commits, then resigns.
 *
 * Who owns what: the core owns nothing outside struct quorum. An event's
 * pointers are the caller's and read during the step only; the update is
 * the caller's, filled by the step. The glue carries out an update in this
 * order: persist `state` durably, truncate, append, write a snapshot chunk
 * or install a snapshot, then send the messages (a message may depend on
 * the persisted vote: never send one before its update's state is durable,
 * and keep later updates' messages behind it). Persistence of entries is an
 * event: QUORUM_PERSISTED {offset, epoch} once an fsync covered them. */
#ifndef STRATA_QUORUM_H
#define STRATA_QUORUM_H

#include <stddef.h>
#include <stdint.h>

#define QUORUM_VOTERS_MAX 9     /* voters in the static voter set */
#define QUORUM_OBSERVERS_MAX 16 /* observers whose progress a leader tracks */
#define QUORUM_MSGS_MAX 64      /* messages one update may carry */
#define QUORUM_SPANS_MAX 16     /* epoch runs in one fetch answer */
#define QUORUM_EPOCHS_MAX 1024  /* leader epochs known in the log */
#define QUORUM_DIR_LEN 16       /* a directory id: a UUID */
/* VotersRecords the core keeps beyond its high watermark. Of two
 * VotersRecords in one log the earlier is committed (one change at a time,
 * each after a commit in the leader's epoch), so when a node that does not
 * know its high watermark yet (restarted) holds more, the oldest fold into
 * the base set (quorum.c, vsets_fold). */
#define QUORUM_VSETS_MAX 8
#define QUORUM_FETCH_VSETS_MAX 2 /* VotersRecords in one fetch answer (the glue cuts it there) */
/* Records a leader holds appended but not committed; more is refused
 * (STRATA_EQUEUE_FULL) so a lost majority cannot grow the log unbounded. */
#define QUORUM_UNCOMMITTED_MAX 100000
#define QUORUM_SNAPSHOT_SIZE_MAX (INT64_C(1) << 40)

enum quorum_role {
  QUORUM_UNATTACHED,  /* no leader known in this epoch (maybe voted) */
  QUORUM_PROSPECTIVE, /* asking for pre-votes (KIP-996) */
  QUORUM_CANDIDATE,   /* voted for itself, asking for votes */
  QUORUM_LEADER,
  QUORUM_FOLLOWER,    /* fetching from a known leader of this epoch */
  QUORUM_RESIGNED,    /* was leader of this epoch; waits for the next */
};
const char *quorum_role_name(enum quorum_role r);

/* A replica key (KIP-853): a node id and the id of its data directory. */
struct quorum_key {
  int32_t id; /* -1: none */
  uint8_t dir[QUORUM_DIR_LEN];
};

/* A snapshot covers offsets [0, end_offset); epoch is its last record's. */
struct quorum_snapshot_id {
  int64_t end_offset; /* -1: none */
  int32_t epoch;
};

/* Where a leader epoch begins in the log (KIP-101's epoch cache). */
struct quorum_epoch_start {
  int32_t epoch;
  int64_t start; /* its first record's offset */
};

/* A run of records of one epoch: offsets [base, base + count). */
struct quorum_span {
  int64_t base;
  uint32_t count;
  int32_t epoch;
};

/* A voter set (a VotersRecord's, as the core sees it). */
struct quorum_voter_set {
  struct quorum_key voters[QUORUM_VOTERS_MAX]; /* distinct ids */
  uint32_t n;                                  /* 0: none (e.g. a snapshot without one) */
};

/* A VotersRecord at offset in the log. */
struct quorum_voters_at {
  int64_t offset;
  struct quorum_voter_set set;
};

struct quorum_config {
  struct quorum_key self;
  struct quorum_key voters[QUORUM_VOTERS_MAX]; /* distinct ids */
  uint32_t nvoters;
  int64_t election_timeout_ms; /* controller.quorum.election.timeout.ms (250): randomized in [t, 2t) */
  int64_t fetch_timeout_ms;    /* controller.quorum.fetch.timeout.ms (500) */
  int64_t fetch_max_wait_ms;   /* a leader holds a fetch at its log end this long (500) */
  int64_t request_timeout_ms;  /* a fetch or vote unanswered this long is lost (2000) */
  uint32_t fetch_max_records;  /* records in one fetch answer (>= 1) */
};

enum quorum_msg_type {
  QUORUM_VOTE_REQ = 1,
  QUORUM_VOTE_RESP,
  QUORUM_BEGIN_EPOCH_REQ,
  QUORUM_BEGIN_EPOCH_RESP,
  QUORUM_END_EPOCH_REQ,
  QUORUM_END_EPOCH_RESP,
  QUORUM_FETCH_REQ,
  QUORUM_FETCH_RESP,
  QUORUM_FETCH_SNAPSHOT_REQ,
  QUORUM_FETCH_SNAPSHOT_RESP,
};

/* One protocol message (controller/quorum_wire.c maps it to and from the
 * protobuf messages of proto/strata.proto). Common fields: */
struct quorum_msg {
  enum quorum_msg_type type;
  int32_t to;           /* node id it goes to */
  struct quorum_key src; /* the sender's replica key */
  struct quorum_key dst; /* the receiver's key as the sender knows it (votes: the voter's) */
  int32_t epoch;        /* the sender's epoch (a vote request: the epoch it campaigns for) */
  int32_t leader;       /* the leader the sender knows in that epoch, -1 none */
  int error;            /* answers: 0 or a negative STRATA_E* */
  union {
    struct {
      int pre_vote;
      int32_t last_epoch; /* the candidate's log: epoch of its last persisted record */
      int64_t end_offset; /* and its persisted end */
    } vote_req;
    struct {
      int pre_vote;
      int granted;
    } vote_resp;
    struct {
      int32_t successors[QUORUM_VOTERS_MAX]; /* preferred, best first */
      uint32_t nsuccessors;
    } end_epoch;
    struct {
      int64_t offset;     /* the follower's (durable) log end */
      int32_t last_epoch; /* the epoch of its record at offset - 1 (0: none) */
    } fetch_req;
    struct {
      int64_t fetch_offset;       /* the request's, echoed: an answer to an */
      int32_t last_fetched_epoch; /* older fetch is recognized and dropped */
      int64_t hw;
      int64_t log_start;
      int32_t diverging_epoch; /* -1 none; else truncate to diverging_end */
      int64_t diverging_end;
      struct quorum_snapshot_id snapshot; /* end_offset >= 0: fetch this snapshot */
      /* Records: the spans say which offsets and epochs the payload holds
       * (the glue attaches the records of the leader's log; on receipt it
       * fills the spans from the batches' headers). */
      struct quorum_span spans[QUORUM_SPANS_MAX];
      uint32_t nspans;
      /* The VotersRecords among them (the glue reads them from the
       * payload on receipt), oldest first. */
      struct quorum_voters_at vrecs[QUORUM_FETCH_VSETS_MAX];
      uint32_t nvrecs;
    } fetch_resp;
    struct {
      struct quorum_snapshot_id id;
      int64_t position; /* byte position wanted */
    } snap_req;
    struct {
      struct quorum_snapshot_id id;
      int64_t position; /* of this chunk */
      int64_t size;     /* the snapshot's size (the glue fills it, from the file) */
      uint32_t len;     /* this chunk's length (the glue fills it) */
    } snap_resp;
  };
};

/* What survives a restart, besides the log: the quorum-state file. */
struct quorum_persisted {
  int32_t epoch;          /* 0: never in an epoch */
  struct quorum_key vote; /* id -1: no vote in epoch */
  int32_t leader;         /* the leader known in epoch, -1 none */
};

enum quorum_event_type {
  QUORUM_START = 1, /* the first event: persisted state and the log as recovered */
  QUORUM_RECEIVE,   /* a message arrived */
  QUORUM_PERSISTED, /* an fsync covered the log up to offset (whose last record has epoch) */
  QUORUM_SNAPSHOT_DONE, /* a snapshot is durable (ours, or an installed leader's) */
  QUORUM_TICK,      /* the deadline passed */
  QUORUM_SUBMIT,    /* records to append (the leader only) */
  QUORUM_TRANSFER,  /* resign in favour of node `to` (the leader only) */
  QUORUM_ADD_VOTER,    /* the leader: make observer `voter` a voter (KIP-853) */
  QUORUM_REMOVE_VOTER, /* the leader: remove voter `voter` (id and directory id) */
};

struct quorum_event {
  enum quorum_event_type type;
  int64_t now_ms; /* monotonic */
  union {
    struct {
      struct quorum_persisted state;
      uint64_t seed;                /* seeds the election-timeout generator */
      struct quorum_snapshot_id snapshot; /* the latest snapshot, end_offset -1 none */
      int64_t log_end;              /* the recovered log (durable: the glue synced it) */
      const struct quorum_epoch_start *epochs; /* where each epoch starts in it, oldest first */
      uint32_t nepochs;
      struct quorum_voter_set snapshot_voters; /* the snapshot's voter set (n 0: none: cfg's) */
      const struct quorum_voters_at *vrecs;    /* the VotersRecords in the log, oldest first */
      uint32_t nvrecs;
    } start;
    const struct quorum_msg *msg; /* RECEIVE */
    struct {
      int64_t offset;
      int32_t epoch;
    } persisted;
    struct {
      struct quorum_snapshot_id id;
      int replaced_log; /* 1: an installed leader's snapshot, the log is now empty at its end */
      struct quorum_voter_set voters; /* replaced_log: the snapshot's voter set (n 0: none) */
    } snapshot;
    uint32_t submit; /* SUBMIT: how many records */
    int32_t transfer_to;
    struct quorum_key voter; /* ADD_VOTER, REMOVE_VOTER */
  };
};

enum quorum_update_flag {
  QUORUM_U_STATE = 1 << 0,      /* persist `state` before sending anything */
  QUORUM_U_TRUNCATE = 1 << 1,   /* cut the log at truncate_to */
  QUORUM_U_APPEND = 1 << 2,     /* append `append` */
  QUORUM_U_HW = 1 << 3,         /* the high watermark moved to hw: apply up to it */
  QUORUM_U_ROLE = 1 << 4,       /* role, epoch or leader changed */
  QUORUM_U_SNAP_CHUNK = 1 << 5, /* write the received chunk at snap_chunk.position */
  QUORUM_U_SNAP_INSTALL = 1 << 6, /* the fetched snapshot is complete: install it,
                                     replace the log, then report SNAPSHOT_DONE */
};

enum quorum_append_source {
  QUORUM_FROM_SUBMIT,        /* the records of the SUBMIT event */
  QUORUM_FROM_LEADER_CHANGE, /* one control record: the new leader's first (own-epoch) record */
  QUORUM_FROM_FETCH,         /* records of the received fetch answer, offsets [offset, offset + count) */
  QUORUM_FROM_VOTERS,        /* one VotersRecord holding append.voters (ADD/REMOVE_VOTER) */
};

struct quorum_update {
  unsigned flags;
  struct quorum_persisted state;
  int64_t truncate_to;
  struct {
    int64_t offset;
    uint32_t count;
    int32_t epoch; /* SUBMIT and LEADER_CHANGE: all of them; FETCH: the spans say */
    enum quorum_append_source source;
    struct quorum_voter_set voters; /* FROM_VOTERS: the new set */
  } append;
  struct {
    struct quorum_snapshot_id id;
    int64_t position;
    uint32_t len;
  } snap_chunk;
  struct quorum_snapshot_id snap_install;
  int64_t hw;
  enum quorum_role role;
  int32_t epoch, leader;
  struct quorum_msg msgs[QUORUM_MSGS_MAX];
  uint32_t nmsgs;
  uint32_t dropped; /* messages that did not fit (as if lost on the network) */
  int64_t deadline_ms; /* tick at this time (always set) */
};

/* A leader's view of one replica. */
struct quorum_progress {
  struct quorum_key key;
  int64_t end_offset;    /* its durable end from its last valid fetch, -1 unknown */
  int64_t last_fetch_ms; /* -1 never */
  int begun;             /* it acknowledged BeginQuorumEpoch, or fetched, in this epoch */
  /* A fetch held at our log end (long poll), answered when records or the
   * high watermark move, or at its deadline. */
  int parked;
  int64_t parked_until;
  int64_t parked_offset; /* == our log end when parked */
  int32_t parked_epoch;
  int32_t node;          /* where answers go */
};

struct quorum {
  struct quorum_config cfg; /* cfg.voters: the voter set in effect (the log's latest) */
  int self_voter; /* our key is in the voter set (else we are an observer) */
  int self_idx;   /* our voter index, -1 for an observer */
  uint64_t rng;   /* splitmix64 state */
  int started;
  /* Quorum state. */
  enum quorum_role role;
  int32_t epoch;
  struct quorum_key vote;
  int32_t leader;
  /* The log, as offsets and epochs. */
  int64_t log_start, log_end, persisted_end, hw;
  struct quorum_snapshot_id snapshot;
  struct quorum_epoch_start epochs[QUORUM_EPOCHS_MAX];
  uint32_t nepochs;
  /* Voter sets: `base` is in effect before every record of vrecs (the
   * static set, a snapshot's, or a VotersRecord below the high watermark:
   * no truncation reaches it); vrecs are the VotersRecords above it. */
  struct quorum_voter_set static_set; /* cfg.voters at init (pins learned later) */
  struct quorum_voter_set base;
  struct quorum_voters_at vrecs[QUORUM_VSETS_MAX];
  uint32_t nvrecs;
  /* Timers. */
  int64_t election_deadline; /* UNATTACHED/PROSPECTIVE/CANDIDATE/RESIGNED: campaign then */
  int64_t last_fetch_ok_ms;  /* FOLLOWER: last successful fetch answer (or since following) */
  int64_t leader_heard_ms;   /* FOLLOWER: last word from the leader itself, -1 none (KIP-996) */
  int64_t fetch_sent_ms;     /* a fetch (or snapshot fetch) is on its way since, -1 none */
  int64_t fetch_retry_at;    /* observers without a leader: ask a voter then */
  /* Elections: who granted (pre-)votes, by voter index. */
  uint8_t granted[QUORUM_VOTERS_MAX];
  /* FOLLOWER: fetching a snapshot. */
  struct quorum_snapshot_id snap_fetch; /* end_offset -1: not */
  int64_t snap_position, snap_size;
  int snap_installing;
  /* LEADER. */
  struct quorum_progress voters[QUORUM_VOTERS_MAX];  /* by voter index */
  struct quorum_progress observers[QUORUM_OBSERVERS_MAX];
  uint32_t nobservers;
  int64_t leader_since_ms; /* check-quorum counts from here at the earliest */
  int64_t begin_resend_at;
};

/* Set up with cfg (copied); the START event comes next. */
void quorum_init(struct quorum *q, const struct quorum_config *cfg);
/* Take one event and fill u (cleared first). 0, or a negative STRATA_E*:
 * bad input (a malformed or inconsistent message: STRATA_EINVALID_REQUEST,
 * state unchanged), SUBMIT when not the leader (STRATA_ENOT_CONTROLLER) or
 * with too much uncommitted (STRATA_EQUEUE_FULL); ADD_VOTER/REMOVE_VOTER
 * when not the leader (STRATA_ENOT_CONTROLLER), before a record of its
 * epoch commits or while another change is uncommitted
 * (STRATA_EVOTER_CHANGE_IN_PROGRESS), an id already voting
 * (STRATA_EDUPLICATE_VOTER), a new voter that is not an observer with that
 * key fetching at the high watermark within the fetch timeout
 * (STRATA_EVOTER_NOT_CAUGHT_UP), an unknown voter key
 * (STRATA_EVOTER_NOT_FOUND), the last voter (STRATA_ELAST_VOTER). u is
 * valid either way. */
int quorum_step(struct quorum *q, const struct quorum_event *e, struct quorum_update *u);

/* DescribeQuorum (KIP-595): role, epoch, leader, high watermark and, on
 * the leader, each voter's and observer's log end and last fetch time. */
struct quorum_replica_state {
  struct quorum_key key;
  int64_t end_offset;    /* -1 unknown */
  int64_t last_fetch_ms; /* -1 never */
};
struct quorum_description {
  enum quorum_role role;
  int32_t epoch, leader;
  int64_t hw, log_start, log_end;
  struct quorum_replica_state voters[QUORUM_VOTERS_MAX];
  uint32_t nvoters;
  struct quorum_replica_state observers[QUORUM_OBSERVERS_MAX];
  uint32_t nobservers;
};
void quorum_describe(const struct quorum *q, struct quorum_description *d);

/* The epoch of the record at offset (log_start - 1 <= offset < log_end;
 * the snapshot's at log_start - 1), or 0 for offset -1 or out of range. */
int32_t quorum_epoch_at(const struct quorum *q, int64_t offset);
/* Whether key is a voter (id and directory id both match). */
int quorum_is_voter(const struct quorum *q, const struct quorum_key *key);
/* Pin voter id's directory id, unknown (all zero) until now: the glue
 * learns it from the voter's first message (controller/qstate.h). 0, or
 * STRATA_EINVALID_ARGUMENT (not another voter, a zero id, or a different
 * id already pinned: the voter's disk was wiped; it stays an observer). */
int quorum_learn_voter_dir(struct quorum *q, int32_t id, const uint8_t dir[QUORUM_DIR_LEN]);
/* The voter set in effect just before offset (what a snapshot ending
 * there holds): base or a VotersRecord below offset. offset >= hw. */
void quorum_voters_before(const struct quorum *q, int64_t offset, struct quorum_voter_set *out);
/* Asserts the core's invariants (called after every step). */
void quorum_invariants(const struct quorum *q);

#endif
