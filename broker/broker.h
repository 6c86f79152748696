/* The broker's state, apart from I/O: what every handler works on (config,
 * topics, the coordinator, the cluster's view from the controller), opening
 * and closing the data directory (meta.properties ties it to one broker id
 * and cluster), and the two questions every module asks: is this broker cut
 * off from its controller, and what may consumers see. Requests enter at
 * dispatch.h, responses are response.h's, the group commit flush.h's; the
 * libuv layer (server_uv.c) owns sockets, timers and the fsync thread. */
#ifndef STRATA_BROKER_H
#define STRATA_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker_config.h"
#include "broker/broker_metrics.h"
#include "broker/coordinator.h"
#include "broker/fdcache.h"
#include "broker/scrub.h"
#include "broker/follow_index.h"
#include "broker/isr_watch.h"
#include "broker/topics.h"
#include "common/acl.h"
#include "common/principal.h"
#include "common/sasl_conn.h"
#include "common/secmeta.h"

#include "common/version.h"
#define CLUSTER_BROKERS_MAX 256

struct peer {
  int32_t id;
  char host[256];
  int port;
  char rack[64];
  char admin[280];  /* its admin HTTP address ("" when off) */
  char kafka[280];  /* its Kafka listener, HOST:PORT ("" when off) */
  int fenced;
  int64_t epoch;  /* its registration: a new one is a new process */
};

/* Descriptors the partition logs share when cfg.log_fds_max is 0. */
#define BROKER_LOG_FDS_DEFAULT 1024
/* Descriptors kept out of the log cache besides connections and syncs in
 * flight: listeners, the loop's own, peer and controller links, stdio,
 * small files being replaced. */
#define BROKER_FDS_RESERVE_BASE (64 + CLUSTER_BROKERS_MAX)
/* Group-commit syncs in flight at once (flush.c): each holds up to
 * SEGLOG_SYNC_FDS_MAX dup()ed descriptors until it ends, and the thread pool
 * runs only a few at a time anyway. Partitions past it stay dirty for a
 * later turn: a sync's end wakes the loop, so they are not forgotten. */
#define BROKER_SYNCS_MAX 256

/* The controller quorum as the active controller last described it
 * (DescribeQuorum): for the admin console. known 0: never answered. */
#define BROKER_QUORUM_MAX 16
struct broker_quorum {
  int known;
  int64_t at_ms;                /* when the answer came (monotonic) */
  int32_t epoch, leader_id;
  int64_t high_watermark, log_end_offset;
  uint32_t n;
  struct broker_quorum_member {
    int32_t id;
    int voter;                  /* 0: an observer */
    int64_t log_end_offset;     /* -1: unknown */
    int64_t last_fetch_ms;      /* -1: never (the leader's clock) */
  } m[BROKER_QUORUM_MAX];
};

struct kfs_cache;
struct rsess_cache;
/* Partition logs one metadata image pass creates at most (metadata.c), in
 * chunks of METADATA_CREATE_CHUNK, and for at most METADATA_CREATE_MS. */
#define METADATA_CREATE_PER_PASS 1024
#define METADATA_CREATE_CHUNK 128
#define METADATA_CREATE_MS 200

struct broker {
  struct broker_config cfg;
  struct fdcache log_fds;       /* every partition log's descriptors (issue 15) */
  uint32_t syncs_inflight;      /* group-commit syncs started, not yet done (BROKER_SYNCS_MAX) */
  int64_t loop_syncs_off_ms;   /* no sync on the loop before this (flush_loop_sync_took) */
  /* Cluster mode state, from the controller. */
  int cluster;
  int32_t controller_id;
  int64_t broker_epoch;         /* 0 until registered */
  int64_t image_version;
  uint64_t meta_applied;        /* metadata images applied (whole or in part) so far */
  int64_t (*mono_clock)(void);  /* the glue's monotonic clock, read while one image pass
                                   creates logs (metadata.c); NULL in the simulator */
  struct peer peers[CLUSTER_BROKERS_MAX];
  size_t npeers;
  struct topics topics;
  char cluster_id[40];
  int64_t now_ms;               /* monotonic clock, set by the glue each loop turn: every
                                   timeout, deadline, session, lag window and interval */
  int64_t wall_ms;              /* wall clock, set with now_ms: only for what is stored or
                                   compared with record timestamps (LogAppendTime, retention.ms,
                                   offset commit records) */
  int64_t now_us;               /* monotonic, in microseconds, set with now_ms (0 in the
                                   simulator): only for the acks=all stage probe (ack_probe.h) */
  struct partition *dirty;      /* partitions with appends not yet fsynced */
  uint64_t hw_version;          /* bumped whenever a high watermark moves */
  struct isr_watch isr_watch;   /* led partitions by when to look at their ISR (isr_watch.h) */
  struct follow_index follow;   /* partitions followed, by leader (follow.h) */
  int64_t producer_ids_next, producer_ids_limit; /* the reserved block (standalone: from
                                                   log.dir; cluster: from the controller) */
  int want_producer_ids;        /* cluster mode: ask the controller for a new block */
  struct coordinator coord;     /* consumer groups this broker coordinates */
  int want_offsets_topic;       /* cluster mode: ask the controller to create it */
  int64_t controller_contact_ms; /* when the last heartbeat the controller answered left (0: never) */
  char controller_at[280];       /* HOST:PORT of the controller that answered that heartbeat:
                                    the active one, as far as this broker knows ("": none yet) */
  int64_t quorum_want_until_ms;  /* ask the controllers' quorum (DescribeQuorum) until then:
                                    the admin console is looking (broker/admin.c sets it
                                    at each /v1/cluster) */
  struct broker_quorum quorum;   /* its last answer */
  int foreign_controller;        /* the controller is of another cluster than our data: not followed */
  struct secmeta sec;            /* users (SCRAM credentials) and ACLs from the controller's
                                   image (metadata_scram_credential, metadata_acls) */
  struct broker_metrics metrics; /* counted by the glue and the handlers; /metrics renders them */
  /* Integrity (broker/integrity.c): the scrubber's pacing and where its walk
   * stands (topic index, partition, offset), and whether any partition has
   * damage to repair or report (so the repair walk runs only then). */
  struct scrub scrub;
  struct { size_t topic; uint32_t part; int64_t offset; } scrub_at;
  int scrub_inflight;            /* a scrub read is in the thread pool (one at a time) */
  int damage_walk;
  int offline_walk;              /* some partition's log cannot be opened, or is not yet known
                                    open again by the controller (broker/offline.c) */
  char admin_addr[280];          /* the admin listener's advertised HOST:PORT, once bound ("" off) */
  char kafka_addr[280];          /* the Kafka listener's advertised HOST:PORT, once bound ("" off) */
  struct authorizer_config authz; /* authorizer.*, super.users (broker_open; broker/authz.c) */
  const struct principal *caller; /* who sent the request dispatch_handle runs now (NULL
                                    outside it): the handlers' per-topic checks read it */
  struct authz_memo {            /* the last decision of broker/authz.c, reused while one
                                    request asks the same for each partition of a topic;
                                    forgotten when a request starts (authz_forget) */
    const struct principal *who;
    int valid, res, op, allowed;
    int64_t image_version;
    char name[256];
  } authz_memo;
  struct sasl_server_config sasl; /* what SASL listeners accept; credentials from the image */
  struct sasl_conn *sasl_conn;   /* the SASL state of the connection whose request runs now
                                    (set by the glue around dispatch; NULL outside it) */
  struct {                       /* Kafka calls parked in a classic group (kafka_groups.c) */
    struct kafka_call *head;
    uint64_t next_token;
    uint64_t answered;           /* bumped when parked calls get answers: the glue sends them */
  } kafka_parked;
  struct kfs_cache *kafka_sessions; /* Kafka fetch sessions (KIP-227; broker/kafka_fetch.c
                                       makes it at the first Fetch v7+; NULL before) */
  struct rsess_cache *replica_sessions; /* followers' fetch sessions (KIP-227; broker/rsess.h,
                                          made at the first follower fetch; NULL before) */
};

/* Cluster mode: no answer from the controller for longer than a session
 * (broker.session.timeout.ms), or a controller of another cluster. Alone this changes nothing (brokers serve on
 * while the controller restarts); but an acks=all write that has waited that
 * long too cannot be replicated (our followers have left us, and the
 * controller has fenced us by now), so it is answered NOT_LEADER at once
 * and the producer looks for the new leader. */
int broker_cut_off(const struct broker *b);
/* Write log.dir/meta.properties (broker id, cluster id): 0, or an error
 * with err set. */
int broker_save_meta(struct broker *b, char *err, size_t err_len);

/* Open the data directory (topics, cluster id). 0 or STRATA_E*, err says why.
 * The coordinator starts empty: a standalone broker's caller then loads the
 * offsets log (offsets_log_sync). */
int broker_open(struct broker *b, const struct broker_config *cfg, int64_t now_ms,
                int64_t wall_ms, char *err, size_t err_len);
void broker_close(struct broker *b);
/* Descriptors a broker with this configuration needs outside its log cache:
 * every client and admin connection, the fsyncs in flight (each a few
 * dup()ed descriptors) and BROKER_FDS_RESERVE_BASE. main.c sizes the cache
 * as RLIMIT_NOFILE minus this. */
uint64_t broker_fd_reserve(const struct broker_config *cfg);

/* Offsets below this are visible to consumers: the durable offset under
 * flush policy always, the log end otherwise. */
int64_t broker_high_watermark(const struct broker *b, const struct partition *p);

/* Cluster mode: the peer with broker id `id` in the last metadata image,
 * or NULL. */
const struct peer *broker_peer(const struct broker *b, int32_t id);
/* Standalone mode: the next producer id, durably never given before. */
int broker_next_producer_id(struct broker *b, int64_t *id);

#endif
