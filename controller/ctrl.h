/* The controller's state machine (KRaft-style, single node for now): the
 * cluster metadata (brokers, topics, partition replicas, leaders, leader
 * epochs, ISRs) and the decisions that change it. Every decision produces
 * metadata records; the glue persists them to the metadata log and then
 * applies them with ctrl_apply, so the state is always a replay of the log.
 * No I/O and no clock: time comes in as now_ms; new topic ids come from the
 * kernel's randomness unless new_topic_id says otherwise (the simulator). */
#ifndef STRATA_CTRL_H
#define STRATA_CTRL_H

#include <stddef.h>
#include <stdint.h>

#include "common/acl_filter.h"
#include "common/secmeta.h"
#include "proto/strata.pb-c.h"

#define CTRL_BROKERS_MAX 256
#define CTRL_TOPICS_MAX 10000
#define CTRL_PARTITIONS_MAX 10000
#define CTRL_REPLICAS_MAX 16
#define CTRL_OUT_MAX 4096 /* records one decision may produce */
/* max.partitions.per.broker's default: partition replicas (led or followed)
 * one broker may host. What tests/cluster/scale_test.sh shows a broker
 * carries on a 2-core machine under a 20,000-descriptor limit (issue 15):
 * 10,000 replicas at RF 3 on 3 brokers with ~35 MB RSS, no descriptor per
 * idle replica, full ISRs, a kill -9's leaderships moved in under a second.
 * Follower fetches no longer bound it: past FETCH_PARTITIONS_MAX a
 * follower's fetches take the partitions in turn (broker/follow.c). */
#define CTRL_PARTITIONS_PER_BROKER_DEFAULT 10000
#define CTRL_PARTITIONS_PER_BROKER_MAX 1000000

struct ctrl_broker {
  int32_t id;
  char host[256];
  uint32_t port;
  char rack[64];
  char admin[280];         /* its admin HTTP address ("" when off) */
  char kafka[280];         /* its Kafka listener, HOST:PORT ("" when off) */
  int64_t epoch;
  int fenced;
  int64_t last_heartbeat_ms;
  int64_t disconnected_ms; /* its connection to us closed then (0: open) */
};

struct ctrl_partition {
  int32_t replicas[CTRL_REPLICAS_MAX];
  uint32_t nreplicas;
  int32_t leader;
  int32_t leader_epoch;
  int32_t isr[CTRL_REPLICAS_MAX];
  uint32_t nisr;
  int32_t partition_epoch;
  /* Replicas that reported a damaged log (issue 15): out of the ISR, never
   * elected, refused as ISR members until they report it repaired. */
  int32_t damaged[CTRL_REPLICAS_MAX];
  uint32_t ndamaged;
  /* Replicas whose broker cannot open their log (issue 15), and why (an
   * errno): out of the ISR, never elected (not even uncleanly), refused as
   * ISR members until they report it open again. */
  int32_t offline[CTRL_REPLICAS_MAX];
  int32_t offline_errno[CTRL_REPLICAS_MAX];
  uint32_t noffline;
};

struct ctrl_topic {
  char *name;
  uint8_t id[16]; /* Kafka's topic id (all zero: metadata older than ids, until given one) */
  uint32_t npart;
  struct ctrl_partition *parts;
  char **config_keys, **config_values;
  size_t nconfigs;
  int unclean; /* unclean.leader.election.enable */
};

struct ctrl_config {
  int64_t session_timeout_ms;        /* fence a broker silent this long */
  int auto_preferred;                /* move leadership back to replicas[0] */
  int64_t preferred_check_ms;        /* how often to look */
  int64_t disconnect_grace_ms;       /* fence a broker whose connection closed and
                                        that has not heartbeated for this long
                                        (a crashed process; 0: session timeout only) */
  uint32_t max_partitions_per_broker; /* replicas a topic creation or growth may leave
                                         on one broker; 0: CTRL_PARTITIONS_PER_BROKER_DEFAULT */
};

#define CTRL_TOMBSTONES_MAX 4096

struct ctrl {
  struct ctrl_config cfg;
  int32_t id;
  char cluster_id[40];
  int64_t version; /* records applied */
  int64_t max_broker_epoch;
  int64_t producer_ids_next; /* ids below are handed out, never again */
  struct ctrl_broker brokers[CTRL_BROKERS_MAX];
  size_t nbrokers;
  struct ctrl_topic **topics;
  size_t ntopics, topics_cap;
  struct secmeta sec; /* users' SCRAM credentials and the ACLs (common/secmeta.h) */
  /* The controller quorum's latest VotersRecord applied (KIP-853), packed;
   * NULL: none (the static controller.quorum.voters). The quorum's
   * snapshot carries it in the image (controller/qnode.c reads it back). */
  uint8_t *voters;
  size_t voters_len;
  char **deleted;  /* names of deleted topics, oldest first (tombstones) */
  size_t ndeleted;
  int64_t next_preferred_check_ms;
  int64_t now_ms; /* time of the latest input; a new session starts then */
  int64_t last_tick_ms; /* the previous ctrl_tick (0: none yet) */
  /* Where new topic ids come from: NULL is the kernel (topic_id_random);
   * the simulator puts its seeded generator here so runs replay exactly.
   * 0 or a negative STRATA_E*. */
  int (*new_topic_id)(void *ctx, uint8_t id[16]);
  void *new_topic_id_ctx;
  /* Counted as records apply, for /metrics (reset after the log's replay). */
  struct {
    uint64_t elections;         /* a partition got a new live leader */
    uint64_t unclean_elections; /* one from outside the previous ISR */
    uint64_t fencings;          /* a broker's session fenced */
  } stats;
};

/* Records a decision produced, in order; each owns its protobuf tree
 * (free with ctrl_out_reset). */
struct ctrl_out {
  Strata__MetadataRecord *recs[CTRL_OUT_MAX];
  size_t n;
};

void ctrl_init(struct ctrl *c, int32_t id, const struct ctrl_config *cfg);
void ctrl_free(struct ctrl *c);
void ctrl_out_reset(struct ctrl_out *o);

/* Apply one record (from a decision just persisted, or from log replay). */
int ctrl_apply(struct ctrl *c, const Strata__MetadataRecord *r);

/* The whole state as an image (snapshot, or what brokers receive). Free with
 * strata__metadata_image__free_unpacked(img, NULL) after ctrl_image_free
 * semantics: everything is malloc'd. */
Strata__MetadataImage *ctrl_image(const struct ctrl *c);
void ctrl_image_free(Strata__MetadataImage *img);
/* Replace the state with a snapshot image. */
int ctrl_load_image(struct ctrl *c, const Strata__MetadataImage *img);

/* After loading the log: every known broker gets a full session timeout to
 * heartbeat before it is fenced. */
void ctrl_start(struct ctrl *c, int64_t now_ms);

/* Decisions. Each returns 0 or a negative STRATA_E*, appending records to
 * out; err (when given) gets a one-line reason. */
int ctrl_register(struct ctrl *c, const Strata__BrokerRegisterRequest *q,
                  int64_t now_ms, struct ctrl_out *out);
/* A heartbeat refreshes the session (not persisted) and unfences a broker
 * that was fenced for silence but kept its epoch. */
int ctrl_heartbeat(struct ctrl *c, int32_t broker_id, int64_t broker_epoch,
                   int64_t now_ms, struct ctrl_out *out);
/* The broker's connection closed. A live broker reconnects and heartbeats
 * within a few hundred ms; a killed one never does, and is fenced after
 * disconnect_grace_ms instead of the whole session timeout. */
void ctrl_disconnected(struct ctrl *c, int32_t broker_id, int64_t now_ms);
/* Timers: fence silent brokers (electing new leaders for what they led) and
 * run the periodic preferred-leader election. */
void ctrl_tick(struct ctrl *c, int64_t now_ms, struct ctrl_out *out);
int ctrl_create_topic(struct ctrl *c, const Strata__TopicSpec *spec,
                      uint32_t default_partitions, struct ctrl_out *out,
                      char *err, size_t err_len);
/* Grow a topic to `count` partitions (more than it has), placed as topic
 * creation places them, with the topic's replication factor. validate_only:
 * the same checks, no record. Both refuse (STRATA_EINVALID_PARTITIONS, err
 * naming the broker and max.partitions.per.broker) a placement that would
 * leave any broker with more replicas than the limit, before any record is
 * written: nothing changes. */
int ctrl_create_partitions(struct ctrl *c, const char *name, uint32_t count, int validate_only,
                           struct ctrl_out *out, char *err, size_t err_len);
/* Ids for topics recorded before topic ids existed (after the log's replay):
 * one TopicIdRecord each, so they are persisted once and never change. */
int ctrl_assign_missing_topic_ids(struct ctrl *c, struct ctrl_out *out);
struct ctrl_topic *ctrl_topic_by_id(const struct ctrl *c, const uint8_t id[16]);
int ctrl_delete_topic(struct ctrl *c, const char *name, struct ctrl_out *out);
/* A leader asks to change a partition's ISR; accepted only from the current
 * leader with the current leader epoch and partition epoch. A request with
 * damage_report set is a replica's damage report instead (ctrl.c
 * damage_report): any current replica may send it. */
int ctrl_alter_isr(struct ctrl *c, const Strata__AlterIsrRequest *q,
                   struct ctrl_out *out, char *err, size_t err_len);
/* Move leadership to each partition's preferred replica where it is alive
 * and in sync; topic NULL or "" for all. *changed counts the moves. */
int ctrl_elect_preferred(struct ctrl *c, const char *topic,
                         struct ctrl_out *out, uint32_t *changed);

/* Hand out the next producer id; the record makes it durable, so no id is
 * ever given twice, across restarts too. */
int ctrl_alloc_producer_id(struct ctrl *c, struct ctrl_out *out, int64_t *id);
/* A block of `count` ids, [*first, *first + count): brokers keep one so a
 * producer can start while the controller is away. */
int ctrl_alloc_producer_ids(struct ctrl *c, struct ctrl_out *out, uint32_t count, int64_t *first);
/* Users and ACLs: the controller's own lookups (brokers authenticate to the
 * controller too). Valid until the next record applies; copy what must
 * outlive the request. The credential of user ("alice") for m, or NULL. */
const struct scram_credential *ctrl_scram_credential(const struct ctrl *c, const char *user,
                                                     enum scram_mech m);
/* The cluster's ACLs; never NULL. */
const struct acl_set *ctrl_acls(const struct ctrl *c);

/* Users and ACLs (ctrl_sec.c). Set one credential of a user (created or
 * replaced; checked by secmeta_credential_check). */
int ctrl_user_upsert(struct ctrl *c, const Strata__ScramCredential *m, struct ctrl_out *out,
                     char *err, size_t err_len);
/* Remove a user's credential for mech, or every one (mech 0, the user):
 * RESOURCE_NOT_FOUND when there is none. */
int ctrl_user_delete(struct ctrl *c, const char *user, uint32_t mech, struct ctrl_out *out,
                     char *err, size_t err_len);
/* Add an ACL (checked by secmeta_acl_check); one that exists is a success
 * with no record, as in Kafka. */
int ctrl_acl_create(struct ctrl *c, const Strata__AclBinding *m, struct ctrl_out *out, char *err,
                    size_t err_len);
/* A removal record for every ACL the filter matches; *more when out filled
 * up first (commit, then call again: the removed ones no longer match). */
int ctrl_acl_delete(struct ctrl *c, const struct acl_filter *f, struct ctrl_out *out, int *more);

const struct ctrl_broker *ctrl_broker(const struct ctrl *c, int32_t id);
struct ctrl_topic *ctrl_topic(const struct ctrl *c, const char *name);

#endif
