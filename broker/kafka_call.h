/* One Kafka request while the broker handles it, shared by the front door
 * (kafka_front.c) and the per-API translators (kafka_*.c). Internal to the
 * broker's Kafka files. */
#ifndef STRATA_KAFKA_CALL_H
#define STRATA_KAFKA_CALL_H

#include <stdint.h>

#include "broker/response.h"
#include "common/arena.h"
#include "common/principal.h"
#include "kafka/codec.h"
#include "kafka_msgs.h"
#include "proto/strata.pb-c.h"

struct broker;
struct kafka_call;

/* One API as served: the versions advertised, how a request starts (fill
 * r: natively through dispatch_handle, or set k->resp for an answer made
 * here), and how the Kafka answer is made from the native one. */
struct kafka_handler {
  int key, min, max;
  void (*start)(struct broker *b, struct kafka_call *k, struct response *r);
  void *(*answer)(struct broker *b, struct kafka_call *k, const struct response *r);
};

struct kafka_call {
  struct arena arena;         /* the decoded request, the native one, the answer */
  struct kafka_req_header h;
  const struct kapi *api;     /* the schema table's entry */
  const struct kafka_handler *hd;
  int version, flexible;
  void *req;                  /* decoded request (api->req) */
  void *resp;                 /* the answer, when made at start */
  Strata__Header *native;     /* what the request became natively, or NULL */
  void *extra;                /* per-API state kept for the answer */
  char peer[64];              /* the client's address (DescribeGroups' client host) */
  struct principal who;       /* who sent it (authorization, broker/authz.h) */
  /* A JoinGroup/SyncGroup parked until its classic group answers
   * (kafka_groups.c): its response stays held while parked. */
  struct broker *b;
  struct response *r;
  uint64_t token;
  int parked;
  struct kafka_call *pnext, *pprev;
};

/* Arena memory of the call (the process stops loudly when even that fails). */
void *kc_alloc(struct kafka_call *k, size_t n);
char *kc_strdup(struct kafka_call *k, const char *s);

/* A native request header of this call, its body to be set by the caller. */
Strata__Header *kc_native(struct kafka_call *k, uint32_t api_key);

/* The native answer: the controller's for a forwarded request, else r's. */
const Strata__Header *kc_reply(const struct response *r);

/* Kafka's error code for a native one (positive wire code or negative). */
int16_t kafka_err(int strata_code);

/* host:port into a Kafka broker address ("" or bad: 0). */
int kafka_split_addr(struct kafka_call *k, const char *addr, const char **host, int32_t *port);

/* A topic's id (the controller's, or a standalone broker's: struct topic),
 * zero when this broker does not know the topic. */
struct kuuid kafka_topic_id(const struct broker *b, const char *name);
/* The name of this broker's topic with that id, or NULL (a zero id too). */
const char *kafka_topic_by_id(const struct broker *b, const struct kuuid *id);

/* A broker Kafka clients can reach: not fenced, with a Kafka listener
 * (standalone: this broker). Metadata lists exactly these. */
int kafka_reachable(const struct broker *b, int32_t id);

/* A partition's place as Metadata and DescribeTopicPartitions give it:
 * leader and its epoch, replicas, ISR, replicas clients cannot reach; a
 * leader they cannot reach is -1 with LEADER_NOT_AVAILABLE. Arrays in the
 * call's arena. */
struct kafka_placement {
  int32_t leader, leader_epoch;
  int32_t *replicas, *isr, *offline;
  int32_t nreplicas, nisr, noffline;
  int16_t error;
};
void kafka_placement_of(struct broker *b, struct kafka_call *k, const struct partition *p,
                        struct kafka_placement *o);

/* An answer with every top-level ErrorCode set to err and all else default. */
void *kafka_error_answer(struct kafka_call *k, int16_t err);

/* Kafka's error codes used by name. */
enum {
  KERR_UNKNOWN_SERVER_ERROR = -1,
  KERR_NONE = 0,
  KERR_OFFSET_OUT_OF_RANGE = 1,
  KERR_CORRUPT_MESSAGE = 2,
  KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
  KERR_LEADER_NOT_AVAILABLE = 5,
  KERR_NOT_LEADER_OR_FOLLOWER = 6,
  KERR_REQUEST_TIMED_OUT = 7,
  KERR_BROKER_NOT_AVAILABLE = 8,
  KERR_MESSAGE_TOO_LARGE = 10,
  KERR_NETWORK_EXCEPTION = 13,
  KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
  KERR_COORDINATOR_NOT_AVAILABLE = 15,
  KERR_NOT_COORDINATOR = 16,
  KERR_INVALID_TOPIC_EXCEPTION = 17,
  KERR_RECORD_LIST_TOO_LARGE = 18,
  KERR_NOT_ENOUGH_REPLICAS = 19,
  KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
  KERR_INVALID_REQUIRED_ACKS = 21,
  KERR_ILLEGAL_GENERATION = 22,
  KERR_INCONSISTENT_GROUP_PROTOCOL = 23,
  KERR_INVALID_GROUP_ID = 24,
  KERR_UNKNOWN_MEMBER_ID = 25,
  KERR_INVALID_SESSION_TIMEOUT = 26,
  KERR_REBALANCE_IN_PROGRESS = 27,
  KERR_TOPIC_AUTHORIZATION_FAILED = 29,
  KERR_GROUP_AUTHORIZATION_FAILED = 30,
  KERR_CLUSTER_AUTHORIZATION_FAILED = 31,
  KERR_UNSUPPORTED_SASL_MECHANISM = 33,
  KERR_ILLEGAL_SASL_STATE = 34,
  KERR_UNSUPPORTED_VERSION = 35,
  KERR_TOPIC_ALREADY_EXISTS = 36,
  KERR_INVALID_PARTITIONS = 37,
  KERR_INVALID_REPLICATION_FACTOR = 38,
  KERR_INVALID_REPLICA_ASSIGNMENT = 39,
  KERR_INVALID_CONFIG = 40,
  KERR_NOT_CONTROLLER = 41,
  KERR_INVALID_REQUEST = 42,
  KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
  KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
  KERR_INVALID_PRODUCER_EPOCH = 47,
  KERR_KAFKA_STORAGE_ERROR = 56,
  KERR_SASL_AUTHENTICATION_FAILED = 58,
  KERR_UNKNOWN_PRODUCER_ID = 59,
  KERR_NON_EMPTY_GROUP = 68,
  KERR_GROUP_ID_NOT_FOUND = 69,
  KERR_FENCED_LEADER_EPOCH = 74,
  KERR_UNKNOWN_LEADER_EPOCH = 75,
  KERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
  KERR_STALE_BROKER_EPOCH = 77,
  KERR_OFFSET_NOT_AVAILABLE = 78,
  KERR_MEMBER_ID_REQUIRED = 79,
  KERR_FENCED_INSTANCE_ID = 82,
  KERR_INVALID_RECORD = 87,
  KERR_UNKNOWN_TOPIC_ID = 100,
  KERR_INCONSISTENT_CLUSTER_ID = 104,
  KERR_RESOURCE_NOT_FOUND = 91, /* users and ACLs (kafka_err) */
  KERR_DUPLICATE_RESOURCE = 92,
  KERR_UNACCEPTABLE_CREDENTIAL = 93,
};

extern const struct kafka_handler kafka_produce_handler, kafka_fetch_handler,
    kafka_list_offsets_handler, kafka_metadata_handler, kafka_create_topics_handler,
    kafka_delete_topics_handler, kafka_init_producer_id_handler,
    kafka_find_coordinator_handler, kafka_offset_commit_handler, kafka_offset_fetch_handler,
    kafka_describe_configs_handler, kafka_join_group_handler, kafka_sync_group_handler,
    kafka_heartbeat_handler, kafka_leave_group_handler, kafka_list_groups_handler,
    kafka_describe_groups_handler, kafka_delete_groups_handler,
    kafka_describe_cluster_handler, kafka_offset_for_leader_epoch_handler,
    kafka_create_partitions_handler, kafka_offset_delete_handler,

    kafka_describe_topic_partitions_handler, kafka_consumer_group_heartbeat_handler,
    kafka_consumer_group_describe_handler, kafka_sasl_handshake_handler,
    kafka_sasl_authenticate_handler,
    /* users and ACLs (kafka_acls.c, kafka_scram.c) */
    kafka_create_acls_handler, kafka_describe_acls_handler, kafka_delete_acls_handler,
    kafka_describe_user_scram_credentials_handler, kafka_alter_user_scram_credentials_handler;

#endif
