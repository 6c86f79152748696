/* One controller's seat in the quorum (issue 14, item 2): it carries out
 * the core's updates (controller/quorum.h) against the metadata log
 * (qlog.h), the quorum-state file (qstate.h) and the controller's state
 * (ctrl.h), in the order docs/quorum.md's contract gives: persist the
 * state, truncate, append, then send. No libuv and no clock: the time
 * comes in with each call, messages leave through a callback, and the log's
 * fdatasync is the caller's to run off the loop (qnode_sync_begin/_done;
 * quorum_uv.c runs it in libuv's threadpool).
 *
 * How decisions commit (the smallest change to ctrl.c's decide-then-apply):
 * - The leader decides against its state as applied so far, which holds
 *   every committed record plus its own pending ones: qnode_submit appends
 *   a decision's records and applies them at once (so the next decision
 *   sees them, as metalog_commit did), and the answer to the request that
 *   made them waits until the high watermark passes them
 *   (qnode_committed >= the offset qnode_submit returns).
 * - A leader decides only once it is "ready": its LeaderChange record is
 *   committed and everything before it applied, so it holds every broker
 *   epoch, producer-id block and topic tombstone of earlier leaders.
 * - A leader that loses leadership with records applied beyond the high
 *   watermark rebuilds its state from the log up to the high watermark
 *   (what it applied may never commit), as KRaft's revertToSnapshot does.
 * - Followers apply records as the high watermark passes them.
 * - Brokers get images only of committed state: while the leader has
 *   pending records, heartbeats carry no image (qnode_pending). */
#ifndef STRATA_QNODE_H
#define STRATA_QNODE_H

/* The default timeouts (docs/quorum.md, "Failover time"): a follower that
 * hears nothing from the leader for the fetch timeout campaigns, so a
 * killed active controller is replaced in about this long; the election
 * timeout ([t, 2t)) only breaks split votes. Kafka's 2000/1000 would make
 * failover take about 2 s. */
#define QNODE_FETCH_TIMEOUT_MS 500
#define QNODE_ELECTION_TIMEOUT_MS 250
/* metadata.log.max.record.bytes.between.snapshots: Kafka's 20 MiB. A
 * restart replays at most about this much of the log after the snapshot. */
#define QNODE_SNAPSHOT_BYTES (INT64_C(20) << 20)

#include <stddef.h>
#include <stdint.h>

#include "controller/ctrl.h"
#include "controller/qlog.h"
#include "controller/qsnap.h"
#include "controller/quorum.h"
#include "controller/qvoters.h"
#include "proto/strata.pb-c.h"

struct qnode_voter {
  int32_t id;
  char host[256];
  int port;
};

struct qnode_config {
  int32_t self;
  /* This node's own quorum address (its controller listener), sent on
   * every message so that a node whose voter set lacks it can answer it
   * (an observer: a new controller before add-voter). "": not sent. */
  char self_host[256];
  int self_port;
  /* controller.quorum.voters: the voter set until the log holds a
   * VotersRecord. self need not be in it (then an observer until added). */
  struct qnode_voter voters[QUORUM_VOTERS_MAX];
  uint32_t nvoters;
  int64_t election_timeout_ms, fetch_timeout_ms;
  int64_t snapshot_bytes; /* metadata.log.max.record.bytes.between.snapshots; 0: the default */
};

/* Parse controller.quorum.voters ("ID@HOST:PORT,..."); 0 or
 * STRATA_EINVALID_CONFIG with err. */
int qnode_parse_voters(const char *s, struct qnode_config *cfg, char *err, size_t err_len);

struct qnode {
  struct qnode_config cfg;
  struct quorum q;
  struct qlog log;
  char dir[4096];
  uint8_t dir_id[QUORUM_DIR_LEN];
  struct ctrl *c;
  int64_t now;
  int64_t applied;          /* records [0, applied) are applied to *c */
  int64_t leader_change_at; /* our LeaderChange record's offset in this leadership, -1 */
  int ready;                /* the leader may decide */
  int failed;               /* a disk error: the process must stop */
  int64_t hw;
  enum quorum_role role;
  int32_t epoch, leader;
  int64_t deadline_ms;
  /* The log's fdatasync, off the loop. */
  int syncing;
  int64_t sync_offset, synced_end;
  int32_t sync_epoch;
  uint64_t sync_trunc, synced_trunc;
  /* What the leader SUBMITs: packed records for the update to append. */
  uint8_t **sub_vals;
  size_t *sub_lens;
  size_t nsub;
  const uint8_t *payload; /* the received message's records, during its step */
  size_t payload_len;
  uint32_t warned; /* voters whose unpinned directory we already warned about (bit per index) */
  int wiped_warned;
  size_t fetch_max_bytes; /* 0: 8 MiB (qnode.c); tests set less (also a snapshot chunk's) */
  size_t snap_chunk_bytes; /* a snapshot chunk's bytes; 0: fetch_max_bytes (the simulator
                              sets small chunks, not small fetches) */
  /* Snapshots (qsnap.h): ours, end_offset -1 none. A snapshot of the
   * committed state is written once the committed records since the last
   * one take snapshot_bytes; the log then drops what it covers. */
  struct quorum_snapshot_id snap;
  int64_t snapshot_bytes;
  int old_fd;                      /* a replaced log's descriptor: closed when no fdatasync runs */
  /* async_snapshots (the glue sets it): our snapshot is a qsnap_job the
   * glue runs off the loop (qnode_snapshot_begin/_done); 0: written at
   * once, on the caller's thread (tests driving a qnode by hand). */
  int async_snapshots;
  struct qsnap_job *snap_job;      /* the one being written, NULL none */
  int snap_done_pending;           /* an installed snapshot to report (after its update) */
  struct quorum_snapshot_id snap_done_id;
  /* The cluster id on quorum messages: the committed one (learned once the
   * record minting it is applied and committed; "" before), so a pending
   * id a leader may still revert never goes out. A message with another
   * cluster's id is dropped (INCONSISTENT_CLUSTER_ID) and counted; "" on
   * either side is accepted (a new quorum has none yet). */
  char cluster_id[40];
  char self_addr[300]; /* cfg.self_host:self_port, the messages' src_address ("" none) */
  uint64_t foreign_msgs;
  struct quorum_persisted start_state; /* for qnode_start */
  uint64_t start_seed;
  /* Voter sets (KIP-853) for qnode_start: the snapshot's, and the
   * VotersRecords in the log (malloc'd, freed by qnode_start). */
  struct quorum_voter_set start_snap_voters;
  struct quorum_voters_at *start_vrecs;
  uint32_t start_nvrecs;
  /* Each controller's quorum address: controller.quorum.voters, then every
   * VotersRecord seen (AddRaftVoter's --address). */
  struct qvoters_book book;
  /* The address each node put on its messages (src_address): where a node
   * our voter set lacks is answered. */
  struct qvoters_book heard;
  uint8_t heard_dir[QVOTERS_BOOK_MAX][QUORUM_DIR_LEN]; /* the directory id each heard entry spoke with */
  int64_t heard_ms[QVOTERS_BOOK_MAX];                  /* and when */
  /* Callbacks. send: one message to node `to` (payload: its records).
   * ready: this node became the deciding leader (mint the cluster id...).
   * changed: the high watermark or leadership moved (release answers). */
  void (*send)(void *arg, int32_t to, const Strata__QuorumMessage *m, const uint8_t *payload,
               size_t payload_len);
  void (*on_ready)(void *arg, int64_t now);
  void (*changed)(void *arg);
  void *arg;
};

/* Open dir's quorum files and log, and set up the core. c is the (empty)
 * state that committed records are applied to. */
int qnode_open(struct qnode *n, const struct qnode_config *cfg, const char *dir, struct ctrl *c,
               int64_t now, char *err, size_t err_len);
/* Start the core (the glue set the callbacks: START may send a fetch). */
void qnode_start(struct qnode *n, int64_t now);
void qnode_close(struct qnode *n);

/* A QuorumMessage arrived (payload: the frame's). */
void qnode_receive(struct qnode *n, const Strata__QuorumMessage *m, const uint8_t *payload,
                   size_t payload_len, int64_t now);
/* The deadline passed (call at or after n->deadline_ms). */
void qnode_tick(struct qnode *n, int64_t now);
/* The leader's decision: append out's records (applied to c at once; out
 * is reset). *end: the offset past them, committed once qnode_committed
 * reaches it. STRATA_ENOT_CONTROLLER when not the ready leader. */
int qnode_submit(struct qnode *n, struct ctrl_out *out, int64_t *end);

/* AddRaftVoter (add 1: host:port its quorum address) or RemoveRaftVoter
 * (KIP-853) on the leader: the VotersRecord is appended (in effect at
 * once); *end: the offset past it, the change done once qnode_committed
 * reaches it. 0, or the core's error (quorum_step) with err saying it for
 * an operator. */
int qnode_change_voters(struct qnode *n, int add, const struct quorum_key *key, const char *host,
                        int port, int64_t *end, char *err, size_t err_len);

/* The fdatasync to run: 1 and *fd when one is due (none running). */
int qnode_sync_begin(struct qnode *n, int *fd);
/* It finished (ok 0: it failed, the node stops). */
void qnode_sync_done(struct qnode *n, int ok, int64_t now);

/* Our next snapshot, to write off the loop (async_snapshots): 1 and *job
 * when one is due and none runs; run qsnap_job_run(*job) in a worker, then
 * call qnode_snapshot_done on the loop (the job stays the qnode's). */
int qnode_snapshot_begin(struct qnode *n, struct qsnap_job **job);
/* It was written (job->rc): put it in place if it is still our newest,
 * tell the core and drop the log's prefix it covers. */
void qnode_snapshot_done(struct qnode *n, int64_t now);

int64_t qnode_committed(const struct qnode *n);
/* The leader applied records not yet committed (no image goes out). */
int qnode_pending(const struct qnode *n);
/* The leader known (-1 none) and its address ("" none): ourselves while
 * we lead, the leader we follow in our epoch; -1 in every other role (a
 * resigned, campaigning or unattached node does not know one), so a
 * NOT_CONTROLLER hint never names a dead or cut-off controller. */
int32_t qnode_leader(const struct qnode *n, const char **host, int *port);

/* Where node (id, dir)'s quorum listener is, for the glue's peer links: a
 * voter of the set in effect at its VotersRecord's address
 * (controller.quorum.voters' before the first VotersRecord), any other
 * node at the address its own messages carry (an observer). A voter's id
 * heard within the last two fetch timeouts with another directory id (its
 * disk wiped, maybe on a new machine) is sent to where that node speaks
 * from, as if it had been replaced in place: the core's messages name it
 * by the old key, and it must hear them to learn the leader and fetch (an
 * older message, e.g. the old node's before it was replaced, does not
 * count). dir NULL (or unknown): by id alone. 0, or -1 when none is
 * known. */
int qnode_peer_addr(const struct qnode *n, int32_t id, const uint8_t *dir, const char **host,
                    int *port);
/* The voters of the set in effect other than this node: the peers the glue
 * keeps links to (a link to anyone else is for answering an observer). At
 * most QUORUM_VOTERS_MAX ids into ids; their count. */
uint32_t qnode_links(const struct qnode *n, int32_t *ids);

#endif
