/* The deterministic simulator: the real controller (ctrl + metadata log),
 * the real broker logic (request handlers, replication, ISR and high
 * watermark, producer state, segment logs) and a model of the client run
 * together in one process, on a simulated clock and network, driven by one
 * seed. Disks are files under /dev/shm (so recovery code runs for real);
 * a crash cuts what was not fsynced at a random point, sometimes with a
 * garbage byte in the torn tail. Nothing here reads the real clock or
 * randomness: the same seed replays the same run, event for event. */
#ifndef STRATA_SIM_H
#define STRATA_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/strata.pb-c.h"

#define SIM_NODES_MAX 21
#define SIM_CONTROLLER 0 /* node 0; brokers are nodes 1..n (node id = broker id) */
#define SIM_CTL1 16      /* a quorum's controllers 2..5 are nodes 16..19 (the first is node 0) */
#define SIM_CTLS_MAX 5
#define SIM_CLIENT0 8    /* producers and the reader are nodes 8.. */
#define SIM_MEMBER0 12   /* consumer group members are nodes 12.. */
#define SIM_MEMBERS_MAX 3
#define SIM_TOPIC "sim"
#define SIM_GROUP "sim-group"
#define SIM_PARTS_MAX 8

struct checker;
struct controller;
struct qcheck;

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ---- */
struct sim_rng {
  uint64_t s[4];
};
void rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t rng_next(struct sim_rng *r);
/* Uniform in [lo, hi]. */
int64_t rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
/* 1 with probability pct/100. */
int rng_chance(struct sim_rng *r, int pct);

/* ---- the network: per-link FIFO (TCP), random delays, cuts, crashes ---- */

/* A reply (or its failure: err != 0 and resp NULL). */
struct sim;
struct sim_node;
typedef void rpc_cb(struct sim *s, struct sim_node *node, void *arg, const Strata__Header *resp,
                    const uint8_t *payload, size_t payload_len, int err);

struct sim_msg {
  struct sim_msg *next;
  int64_t at;
  uint64_t seq;
  int from, to;
  uint64_t conn_gen;   /* the connection it was sent on: a reset or restart ends it */
  int is_resp, reset;
  uint64_t rpc_id;
  uint8_t *hdr, *payload;
  size_t hdr_len, payload_len;
  /* What the sender knew when it answered a produce (for property 4). */
  int32_t leader_epoch;
};

struct sim_rpc {
  int used;
  uint64_t id;
  int to;
  int64_t deadline;
  rpc_cb *cb;
  void *arg;
};

#define SIM_RPCS_MAX 64

struct sim_node {
  int id;
  int up;              /* the process exists */
  int paused;          /* SIGSTOP: receives nothing, does nothing */
  int64_t paused_at;
  int64_t disk_slow_until; /* fsyncs take long until then */
  int64_t wall_offset_ms;  /* its wall clock minus the simulated (monotonic) one */
  struct sim_rpc rpcs[SIM_RPCS_MAX];
  uint64_t next_rpc;
  void *impl;          /* struct bnode / struct cnode / struct client */
};

struct sim_stats {
  uint64_t writes_ok;
  uint64_t group_reads, group_commits;
  uint64_t stale_commits_refused; /* commits of a fenced member, refused as they must be */
  uint64_t rebalances;            /* assignments a member received that changed what it owns */
  uint64_t retention_resets;      /* reads told OFFSET_OUT_OF_RANGE: retention was ahead of them */
  uint64_t ctl_refusals;          /* starts the controller refused (damaged metadata) */
  uint64_t fetch_full, fetch_incremental; /* follower fetches sent, by session kind (KIP-227) */
  uint64_t fetch_session_refused; /* answers refusing a fetch session (the follower starts over) */
  int64_t failover_ms[256];
  size_t nfailover;
};

struct sim {
  struct sim_rng rng;
  int64_t now;           /* simulated ms */
  int nbrokers, nproducers;
  char dir[256];         /* /dev/shm/strata-sim-<pid>-<seed> */
  struct sim_node nodes[SIM_NODES_MAX];
  int cut[SIM_NODES_MAX][SIM_NODES_MAX]; /* cut[a][b]: a's packets to b are dropped */
  int64_t link_last[SIM_NODES_MAX][SIM_NODES_MAX];
  struct sim_msg *queue; /* sorted by (at, seq) */
  uint64_t seq;
  int64_t delay_min, delay_max; /* one-way network delay, ms */
  int drop_pct;          /* per message; a drop breaks the connection (both sides see it) */
  struct checker *chk;
  FILE *history;         /* optional copy of the history (replays) */
  FILE *transcript;      /* optional: faults and each replica's role, epoch, ISR and
                            truncations as they change (golden transcripts) */
  int verbose;
  int trace_net;         /* SIM_NET set: print every delivery and reset */
  int64_t next_pid;      /* producer ids handed to the clients */
  uint64_t topic_ids_drawn; /* the controller's topic ids come from this count, not
                               from s->rng (drawing them would move every seed's run) */
  /* A fault set off by an event rather than a time: when a leader sends
   * an ISR expansion, call sim_trap_isr_expand (once). */
  int trap_isr_expand;
  /* T20: the broker that dies inside its calls-th metadata file replacement
   * from now (meta.properties, a topic file), before step `step` of it
   * (durable_file.h); 0: none armed. */
  struct {
    int node, calls, step;
  } meta_crash;
  int current_node; /* whose event runs now (the durable_file hook asks) */
  /* Controllers: 1 (a single controller, node 0: the default) or 3 or 5
   * (a quorum, issue 14: nodes 0, 16, 17, ...; quorum node ids 1..nctl). */
  int nctl;
  struct qcheck *qc;                      /* the quorum invariants' memory (quorum_check.c) */
  int64_t ctl_hb_answered[SIM_CTLS_MAX];  /* when each last answered a broker's heartbeat */
  int64_t dying_restart_ms;               /* a node that died in its event restarts this much
                                             later (0: 1000) */
  /* ctl-fig8 (Raft's figure 8): stage 0 off; A, B, C controller nodes. */
  struct {
    int stage, a, b, c;
    int32_t epoch;
    int64_t c_start;
  } f8;
  /* Controller snapshots (issue 14): metadata.log.max.record.bytes.between.
   * snapshots and the snapshot chunk size (0: the defaults, 20 MiB and
   * 8 MiB, so no run snapshots); ctl-snap and some ctl-random runs make
   * them small. sr: ctl-snap's trap (sim_trap_snap): stage 0 off, 1 armed
   * (a controller is fetching a snapshot), 2 sprung; how: what dies. */
  int64_t ctl_snap_bytes;
  size_t ctl_chunk_bytes;
  struct {
    int stage, how;
  } sr;
  int dying;        /* a node killed inside its event: down once the event ends (-1: none) */
  /* clock-jump: from stable_from until the heal, no replica may leave an
   * ISR and no leader epoch may change (nobody fenced, nothing elected). */
  int64_t stable_from;
  int32_t stable_epoch[SIM_PARTS_MAX];
  /* property 4: which broker answered acks=all writes in each leader epoch */
  int32_t epoch_owner[8][1024];
  int violations;
  char violation[512];
  struct sim_stats st;
  int64_t last_leader_crash; /* for failover times: when the leader died (0: none pending) */
  /* The answer being delivered: who sent it, under which leader epoch. */
  int resp_from;
  int32_t resp_epoch;
  /* consumer group (0 members: none) */
  int nmembers;
  int no_reader;             /* the group does the reading (so skipped reads show) */
  int ctl_may_refuse;        /* its metadata was damaged: refusing to start is right */
  int64_t lost_gen;          /* unique negative generations for lost ownership */
  int64_t group_committed[SIM_PARTS_MAX]; /* highest commit acknowledged */
};

/* Network */
void net_send(struct sim *s, int from, int to, const Strata__Header *h, const uint8_t *payload,
              size_t payload_len, int is_resp, uint64_t rpc_id, int32_t leader_epoch);
/* Send a request; cb runs with the answer, or with err when the connection
 * breaks, the peer restarts or timeout_ms passes. 0 or -1 (table full). */
int net_call(struct sim *s, int from, int to, const Strata__Header *h, const uint8_t *payload,
             size_t payload_len, int64_t timeout_ms, rpc_cb *cb, void *arg);
/* Fail every call from `from` to `to` (connection closed). */
void net_fail_calls(struct sim *s, int from, int to);
/* Fail every call node `id` is waiting on (its callbacks run with an error). */
void net_drop_calls(struct sim *s, int id);
/* Deliver messages due by s->now; returns how many. */
int net_deliver_due(struct sim *s);
int64_t net_next_due(const struct sim *s);
void net_expire_calls(struct sim *s);
void net_free(struct sim *s);
/* Node crashed: connections to it close (peers' calls to it fail) and its
 * own pending calls vanish. */
void net_node_down(struct sim *s, int id);

/* Nodes: handle a delivered request, run timers. */
void node_deliver(struct sim *s, struct sim_node *n, const struct sim_msg *m);
void node_tick(struct sim *s, struct sim_node *n);
/* Called when a peer's connection to n closed (peer crashed). */
void node_peer_closed(struct sim *s, struct sim_node *n, int peer);

/* Brokers (broker_node.c) */
int bnode_start(struct sim *s, int id);
/* kill -9: what was not fsynced is cut at a random point. */
void bnode_crash(struct sim *s, int id, int wipe);
void bnode_request(struct sim *s, int id, const struct sim_msg *m);
void bnode_tick(struct sim *s, int id);
void bnode_peer_closed(struct sim *s, int id, int peer);
void bnode_free(struct sim *s, int id);
/* The final log of every replica up to `hw` as checker lines. */
void bnode_dump(struct sim *s, int id, const int64_t *hw, uint32_t nparts);
/* What the broker knows: leader of a partition (-1 unknown), its HW if it leads. */
int32_t bnode_leader_of(struct sim *s, int id, uint32_t part);
int64_t bnode_hw(struct sim *s, int id, uint32_t part);
int32_t bnode_controller_id(struct sim *s, int id);
int32_t bnode_epoch(struct sim *s, int id, uint32_t part);
/* The ISR's size at broker id's replica of part (-1: no replica). */
int bnode_isr_size(struct sim *s, int id, uint32_t part);
int64_t bnode_end(struct sim *s, int id, uint32_t part);
/* Write to s->transcript what changed in broker id's replicas of the sim
 * topic since its last call. */
void bnode_transcript(struct sim *s, int id);

/* Controllers (controller_node.c): node is the sim node (sim_ctl_node). */
static inline int sim_ctl_node(int k) { return k == 0 ? SIM_CONTROLLER : SIM_CTL1 + k - 1; }
/* Which controller node id is (0..nctl-1), -1 when it is none. */
int sim_ctl_index(const struct sim *s, int id);
int cnode_start(struct sim *s, int node);
/* kill -9 (wipe: its data.dir is gone too). */
void cnode_crash(struct sim *s, int node, int wipe);
void cnode_request(struct sim *s, int node, const struct sim_msg *m);
void cnode_tick(struct sim *s, int node);
void cnode_peer_closed(struct sim *s, int node, int peer);
void cnode_dir(struct sim *s, int node, char *out, size_t len);
/* The running controller (NULL: down). */
struct controller *cnode_controller(struct sim *s, int node);
/* The node that decides now (-1 none); the quorum's newest leader, ready
 * or not (-1 none). */
int cnode_active(struct sim *s);
int cnode_quorum_leader(struct sim *s);
/* The operator replacing wiped controllers (KIP-853) on the active one: it
 * removes a voter whose directory is not its node's current one, else adds
 * a running controller whose current key is not a voter (refused until it
 * caught up). 1 when every running controller's current key votes. */
int cnode_replace_voters(struct sim *s);
/* configs: "key=value" strings, NULL-terminated (NULL: none beyond min.insync.replicas=2) */
int cnode_create_topic(struct sim *s, const char *name, uint32_t partitions, uint32_t rf,
                       const char *const *configs);
int cnode_topic_committed(struct sim *s, const char *topic);
/* The leader the controller's metadata names (-1 none). */
int32_t cnode_leader(struct sim *s, const char *topic, uint32_t part);
int32_t cnode_leader_epoch(struct sim *s, const char *topic, uint32_t part);
void cnode_free(struct sim *s);

/* The quorum's invariants (quorum_check.c), checked after every step of a
 * controller in quorum mode. */
void qcheck_init(struct sim *s);
void qcheck_free(struct sim *s);
void qcheck_start(struct sim *s, int node, struct controller *ctl);
void qcheck_node(struct sim *s, int node, struct controller *ctl);
void qcheck_crash(struct sim *s, int node, struct controller *ctl);
/* No controller may lead an epoch above the current ones until `until`
 * (a scenario's "no leader without the up-to-date voter"), 0: off. */
void qcheck_no_leader_until(struct sim *s, int64_t until);
/* A zombie: node cut from its peers from now until it is healed (-1). */
void qcheck_zombie(struct sim *s, int node);
/* Every running controller's high watermark reached the committed end. */
int qcheck_caught_up(struct sim *s);
/* The end of a run: every running controller holds what was committed. */
void qcheck_final(struct sim *s);
/* Elections seen (leaders of distinct epochs), the committed end, and
 * snapshots seen taking effect (written or installed, per node). */
void qcheck_stats(struct sim *s, uint64_t *elections, int64_t *committed, uint64_t *snapshots);

/* Clients (client_node.c): idempotent acks=all producers and one reader. */
void clients_start(struct sim *s, uint32_t nparts);
void client_deliver(struct sim *s, struct sim_node *n, const struct sim_msg *m);
void client_tick(struct sim *s, struct sim_node *n);
/* Stop starting new writes (the quiet phase at the end). */
void clients_stop_writing(struct sim *s);
int clients_idle(struct sim *s);
void clients_free(struct sim *s);

/* Fetching for the reader and group members: a fetch of one partition at
 * `offset`; then each record at or past next[part] in the answer, in order
 * (a gap is a violation), or the partition's error (rec NULL). -1 when the
 * whole answer is an error. */
struct batch_record;
typedef void fetched_cb(struct sim *s, void *arg, uint32_t part, int rc,
                        const struct batch_record *rec);
int sim_fetch(struct sim *s, int from, int to, uint32_t part, int64_t offset, rpc_cb *cb,
              void *arg);
int sim_fetched(struct sim *s, const char *who, const Strata__Header *resp, const uint8_t *pl,
                size_t pn, int64_t *next, uint32_t nparts, fetched_cb *cb, void *arg);
/* A broker `from` can reach now (-1 none), and the leader of a partition of
 * the sim topic as one of them sees it. */
int sim_reachable_broker(struct sim *s, int from);
int32_t sim_lookup_leader(struct sim *s, int from, uint32_t part);

/* Consumer group members (group_node.c), nodes SIM_MEMBER0.. */
void members_start(struct sim *s, uint32_t nparts);
int member_start(struct sim *s, int id);
void member_crash(struct sim *s, int id);
void member_deliver(struct sim *s, struct sim_node *n, const struct sim_msg *m);
void member_tick(struct sim *s, struct sim_node *n);
/* Close every open ownership interval (end of the run). */
void members_end(struct sim *s);
void members_free(struct sim *s);

void sim_trap_isr_expand(struct sim *s, int leader);
/* ctl-fig8's traps, after every step of a quorum controller (main.c). */
void sim_trap_fig8(struct sim *s, int node, struct controller *ctl);
/* ctl-snap's trap: a controller fetching a snapshot; something dies (main.c). */
void sim_trap_snap(struct sim *s, int node, struct controller *ctl);

/* rm -rf (0, or -1) */
int sim_rm_rf(const char *path);

/* History and checks */
void sim_history(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_violation(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
