/* libstrata: the C client of a Strata cluster. Producer (batching, linger,
 * gzip/snappy/lz4/zstd compression, partitioning, acks, retries, delivery callbacks), consumer (assign,
 * seek by offset / earliest / latest / timestamp, poll) and admin (topics,
 * metadata, offsets). No threads: the caller drives I/O by calling the poll
 * functions; every call takes a timeout. All functions return 0 or a negative
 * STRATA_E* code; strata_strerror() names it. */
#ifndef STRATA_H
#define STRATA_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

#define STRATA_OFFSET_BEGINNING (-2)
#define STRATA_OFFSET_END (-1)
#define STRATA_PARTITION_ANY (-1)

/* Kafka's codec numbers, in Kafka's framings (a consumer reads all four
 * whatever the producer; common/compress.h says how each is framed). */
enum strata_compression {
  STRATA_COMPRESSION_NONE = 0,
  STRATA_COMPRESSION_GZIP = 1,
  STRATA_COMPRESSION_SNAPPY = 2,
  STRATA_COMPRESSION_LZ4 = 3,
  STRATA_COMPRESSION_ZSTD = 4
};
enum strata_partitioner { STRATA_PARTITIONER_HASH = 0, STRATA_PARTITIONER_ROUND_ROBIN };

typedef struct strata_header {
  const char *key;
  size_t key_len;
  const void *value; /* NULL: null value */
  size_t value_len;
} strata_header;

/* ---- security: TLS and SASL ----
 * How a client connects, under librdkafka's property names so that one
 * properties file serves `kcat -F FILE` and `strata --command-config FILE`:
 *   security.protocol                      PLAINTEXT (default), SSL, SASL_PLAINTEXT, SASL_SSL
 *   ssl.ca.location                        PEM file of the CAs that sign the brokers'
 *                                          certificates (unset: the system's trust store)
 *   ssl.certificate.location, ssl.key.location   the client's own certificate and key
 *                                          (PEM) for clusters that require client certificates
 *   ssl.endpoint.identification.algorithm  https (default): the broker's certificate must name
 *                                          the host or IP connected to; none: no name check
 *   sasl.mechanism (or sasl.mechanisms), sasl.username, sasl.password
 * Every broker address the cluster hands out is reached the same way. */
enum strata_security_protocol {
  STRATA_SECURITY_PLAINTEXT = 0,
  STRATA_SECURITY_SSL,
  STRATA_SECURITY_SASL_PLAINTEXT,
  STRATA_SECURITY_SASL_SSL
};

#define STRATA_SECURITY_PATH_MAX 1024
#define STRATA_SECURITY_NAME_MAX 256

typedef struct {
  int protocol;                                 /* enum strata_security_protocol */
  char ssl_ca_location[STRATA_SECURITY_PATH_MAX];
  char ssl_certificate_location[STRATA_SECURITY_PATH_MAX];
  char ssl_key_location[STRATA_SECURITY_PATH_MAX];
  int ssl_verify_hostname;                      /* 1: https (default), 0: none */
  char sasl_mechanism[32];                      /* PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 */
  char sasl_username[STRATA_SECURITY_NAME_MAX];
  char sasl_password[STRATA_SECURITY_NAME_MAX];
} strata_security;

/* PLAINTEXT, host name checking on, nothing else set. */
void strata_security_defaults(strata_security *s);
/* Set one property by its librdkafka name; STRATA_EINVALID_CONFIG with a
 * line naming the key for an unknown security key or a bad value. */
int strata_security_set(strata_security *s, const char *key, const char *value, char *err,
                        size_t err_len);
/* Read a properties file (key=value lines, '#' comments) into s, which
 * keeps what the file does not set. Keys outside security.protocol, ssl.*
 * and sasl.* (other librdkafka settings in a shared file, client.id, ...)
 * are ignored; unknown ssl.* and sasl.* keys are errors, so a typo never
 * quietly turns verification off. Then checks the whole (strata_security_check). */
int strata_security_load(strata_security *s, const char *path, char *err, size_t err_len);
/* Consistency: a certificate needs its key, SASL needs a mechanism and a user. */
int strata_security_check(const strata_security *s, char *err, size_t err_len);
/* "SSL" for STRATA_SECURITY_SSL, ... */
const char *strata_security_protocol_name(int protocol);

/* ---- admin and metadata ---- */

typedef struct strata_client strata_client;

typedef struct {
  int32_t id;
  char host[256];
  int port;
  char rack[64];
  int fenced;
  char kafka[280]; /* its Kafka-protocol listener, host:port ("" when off) */
} strata_broker_info;

typedef struct {
  uint32_t partition;
  int error;
  int32_t leader, leader_epoch;
  int32_t *replicas, *isr;
  size_t nreplicas, nisr;
  int64_t high_watermark, log_end_offset; /* -1 unless the answering broker leads it */
  int64_t *replica_offsets;               /* per replica, as its leader saw them; or NULL */
  int32_t *damaged;                       /* replicas that found a damaged batch and are
                                             repairing (out of the ISR, not electable) */
  size_t ndamaged;
  int32_t *offline;                       /* replicas whose broker cannot open their log */
  int32_t *offline_errno;                 /* why, per offline[i] (errno on that broker) */
  size_t noffline;
} strata_partition_info;

typedef struct {
  char *name;
  int error;
  strata_partition_info *partitions;
  size_t npartitions;
  char **config_keys, **config_values;
  size_t nconfigs;
} strata_topic_info;

typedef struct {
  strata_broker_info *brokers;
  size_t nbrokers;
  strata_topic_info *topics;
  size_t ntopics;
  int32_t controller_id;
  char cluster_id[64];
} strata_metadata;

/* bootstrap: "host:port[,host:port...]". Connects to the first that answers
 * within timeout_ms; err gets one line on failure. */
strata_client *strata_client_new(const char *bootstrap, int timeout_ms,
                                 char *err, size_t err_len);
/* The same over TLS and/or SASL as sec says (copied; NULL: plaintext). A
 * broker certificate the CA does not vouch for, or one for another host, is
 * refused with STRATA_EUNREACHABLE and err saying why. */
strata_client *strata_client_new_secure(const char *bootstrap, int timeout_ms,
                                        const strata_security *sec, char *err, size_t err_len);
void strata_client_free(strata_client *c);

/* topics NULL/ntopics 0: all topics. Free with strata_metadata_free. */
int strata_metadata_get(strata_client *c, const char *const *topics,
                        size_t ntopics, strata_metadata **out);
void strata_metadata_free(strata_metadata *m);

/* Create one topic; configs are n key/value pairs. err gets the broker's
 * message. replication_factor 0 means the broker default. */
int strata_topic_create(strata_client *c, const char *name, uint32_t partitions,
                        uint32_t replication_factor, const char *const *keys,
                        const char *const *values, size_t n, char *err,
                        size_t err_len);
int strata_topic_delete(strata_client *c, const char *name, char *err,
                        size_t err_len);
/* Grow a topic to `count` partitions in total (only growing is possible);
 * validate_only: check without changing. err gets the broker's message. */
int strata_topic_add_partitions(strata_client *c, const char *name, uint32_t count,
                                int validate_only, char *err, size_t err_len);
/* Move leadership back to preferred replicas (topic NULL: all); *changed
 * counts the partitions that moved. */
int strata_elect_preferred(strata_client *c, const char *topic, uint32_t *changed);

/* The controller quorum (issue 14), as the active controller sees it
 * (DescribeQuorum, relayed by a broker): its role, epoch, high watermark
 * and log, and each voter's (and observer's) log end and last fetch. */
typedef struct {
  int32_t id;
  int voter;               /* 0: an observer (a wiped disk, not yet a voter again) */
  int64_t log_end_offset;  /* -1 unknown */
  int64_t last_fetch_ms;   /* the active controller's monotonic clock; -1 never */
  char directory_id[33];   /* its data directory's id (KIP-853), 32 hex digits; "" unknown */
} strata_quorum_replica;
typedef struct {
  char role[16];           /* of the controller that answered: leader, follower, ... */
  int32_t epoch, leader_id; /* leader_id -1: none known */
  int64_t high_watermark, log_start_offset, log_end_offset;
  strata_quorum_replica *replicas; /* voters first, then observers */
  size_t nreplicas;
} strata_quorum_info;
/* STRATA_EUNSUPPORTED_VERSION when the controller (or a standalone broker)
 * does not serve it. */
int strata_describe_quorum(strata_client *c, strata_quorum_info **out);
void strata_quorum_info_free(strata_quorum_info *q);
/* KIP-853 voter changes, on the active controller (bootstrap: the
 * controllers' addresses; NOT_CONTROLLER hints are followed). Add: make the
 * observer (id, directory id: 32 hex digits, as strata_describe_quorum
 * lists it) a voter, its quorum listener at host:port; it must be fetching
 * and caught up. Remove: the voter (id, directory id). Both return once
 * the change is committed; err gets the controller's reason otherwise
 * (STRATA_EVOTER_NOT_CAUGHT_UP, STRATA_EVOTER_CHANGE_IN_PROGRESS,
 * STRATA_EDUPLICATE_VOTER, STRATA_EVOTER_NOT_FOUND, STRATA_ELAST_VOTER,
 * STRATA_ENOT_CONTROLLER when no active controller answered). */
int strata_controller_add_voter(strata_client *c, int32_t id, const char *directory_id,
                                const char *host, int port, char *err, size_t err_len);
int strata_controller_remove_voter(strata_client *c, int32_t id, const char *directory_id,
                                   char *err, size_t err_len);
/* Is the first bootstrap address (a broker or the controller) answering?
 * version gets its software version. */
int strata_ping(strata_client *c, char *version, size_t version_len);

/* timestamp: STRATA_OFFSET_END (-1: high watermark), STRATA_OFFSET_BEGINNING
 * (-2: log start) or a time in ms (first offset with a timestamp >= it;
 * *offset = -1 when there is none). */
int strata_list_offset(strata_client *c, const char *topic, uint32_t partition,
                       int64_t timestamp, int64_t *offset, int64_t *found_ts);

/* ---- producer ---- */

typedef struct {
  int acks;                /* 0, 1, -1 (all). Default -1 (all), as Kafka since 3.0 */
  int linger_ms;           /* wait this long for a batch to fill. Default 5 */
  size_t batch_size;       /* bytes per partition batch. Default 256 KiB */
  int compression;         /* STRATA_COMPRESSION_*. Default none */
  int compression_level;   /* 0: the codec's default (gzip 6, lz4 fast, zstd 3);
                              gzip 1-9, lz4 3+ is HC, zstd its levels; none for snappy */
  int zstd_level;          /* the older name for a zstd level, used when
                              compression_level is 0 */
  int retries;             /* resends of a failed batch. Default 5 */
  int retry_backoff_ms;    /* Default 100 */
  int max_in_flight;       /* unanswered requests per broker. Default 5 */
  int partitioner;         /* STRATA_PARTITIONER_*: for records without a
                              partition; keyless records go round-robin */
  int request_timeout_ms;  /* Default 30000 */
  size_t buffer_memory;    /* bytes queued before produce says QUEUE_FULL. Default 32 MiB
                              (Kafka's buffer.memory). Besides, up to as much again of
                              finished batches' buffers is kept for reuse */
  int enable_idempotence;  /* with acks=all: the cluster gives this producer an id,
                              batches carry sequences, and a leader drops resent
                              batches it already has, so retries never duplicate.
                              Default 1 */
  int delivery_timeout_ms; /* give up on a record this long after it was queued,
                              retries included. Default 120000 */
} strata_producer_config;

void strata_producer_config_defaults(strata_producer_config *cfg);

typedef struct {
  const char *topic;
  uint32_t partition;
  int64_t offset;          /* -1 when error != 0 or acks=0 */
  int64_t timestamp;
  int error;               /* 0 delivered; else why not (after retries) */
  void *opaque;            /* the value given to strata_produce */
} strata_delivery;

typedef void (*strata_delivery_cb)(const strata_delivery *d, void *cb_arg);

typedef struct strata_producer strata_producer;

strata_producer *strata_producer_new(const char *bootstrap,
                                     const strata_producer_config *cfg,
                                     strata_delivery_cb cb, void *cb_arg,
                                     char *err, size_t err_len);
/* The same with a security configuration (copied; NULL: plaintext). */
strata_producer *strata_producer_new_secure(const char *bootstrap,
                                            const strata_producer_config *cfg,
                                            const strata_security *sec,
                                            strata_delivery_cb cb, void *cb_arg,
                                            char *err, size_t err_len);
/* Calls flush with the request timeout, then frees. Undelivered records are
 * reported with STRATA_ESHUTTING_DOWN. */
void strata_producer_free(strata_producer *p);

/* Queue one record (copied). partition STRATA_PARTITION_ANY: chosen by key
 * hash, or round-robin for keyless records. timestamp_ms 0: now.
 * STRATA_EQUEUE_FULL when buffer_memory is used up (call poll), or
 * STRATA_EUNKNOWN_TOPIC when the topic does not exist. */
int strata_produce(strata_producer *p, const char *topic, int32_t partition,
                   const void *key, size_t key_len, const void *value,
                   size_t value_len, int64_t timestamp_ms,
                   const strata_header *headers, size_t header_count,
                   void *opaque);
/* Send what is ready, read answers, run delivery callbacks; waits at most
 * timeout_ms for something to happen. Returns the number of deliveries
 * reported or a negative STRATA_E*. */
int strata_producer_poll(strata_producer *p, int timeout_ms);
/* Poll until every queued record is reported or timeout_ms passes
 * (STRATA_ETIMEOUT). */
int strata_producer_flush(strata_producer *p, int timeout_ms);
/* Records queued and not yet reported. */
size_t strata_producer_outstanding(const strata_producer *p);

/* ---- consumer ---- */

typedef struct {
  int fetch_max_wait_ms;   /* long-poll wait. Default 500 */
  uint32_t fetch_min_bytes;    /* Default 1 */
  uint32_t fetch_max_bytes;    /* per request. Default 50 MiB */
  uint32_t partition_max_bytes;/* per partition. Default 1 MiB */
  int request_timeout_ms;  /* Default 30000 */
} strata_consumer_config;

void strata_consumer_config_defaults(strata_consumer_config *cfg);

typedef struct {
  const char *topic;
  uint32_t partition;
  int64_t offset;
  int64_t timestamp;
  const void *key;         /* NULL when null */
  int32_t key_len;         /* -1 when null */
  const void *value;
  int32_t value_len;
  size_t header_count;
  const strata_header *headers;
} strata_message;

typedef struct strata_consumer strata_consumer;

strata_consumer *strata_consumer_new(const char *bootstrap,
                                     const strata_consumer_config *cfg,
                                     char *err, size_t err_len);
/* The same with a security configuration (copied; NULL: plaintext). */
strata_consumer *strata_consumer_new_secure(const char *bootstrap,
                                            const strata_consumer_config *cfg,
                                            const strata_security *sec,
                                            char *err, size_t err_len);
void strata_consumer_free(strata_consumer *c);

/* Add a partition to read, from an offset >= 0, STRATA_OFFSET_BEGINNING or
 * STRATA_OFFSET_END. Assigning it again seeks. */
int strata_consumer_assign(strata_consumer *c, const char *topic,
                           uint32_t partition, int64_t offset);
/* Every partition of the topic. */
int strata_consumer_assign_topic(strata_consumer *c, const char *topic,
                                 int64_t offset);
/* Move an assigned partition to the first offset with timestamp >= ts (the
 * end when there is none). */
int strata_consumer_seek_timestamp(strata_consumer *c, const char *topic,
                                   uint32_t partition, int64_t ts);
/* Next record, waiting up to timeout_ms: 1 and *msg set (valid until the next
 * call), 0 when none arrived in time, negative STRATA_E* on error (e.g.
 * STRATA_EOFFSET_OUT_OF_RANGE when retention removed the position). */
int strata_consumer_poll(strata_consumer *c, int timeout_ms,
                         const strata_message **msg);
/* The next offset the consumer will return for a partition; -1 if unknown. */
int64_t strata_consumer_position(const strata_consumer *c, const char *topic,
                                 uint32_t partition);
/* Last high watermark seen for the partition; -1 if unknown. */
int64_t strata_consumer_high_watermark(const strata_consumer *c,
                                       const char *topic, uint32_t partition);
/* Stop fetching an assigned partition until resumed (it stays assigned). */
int strata_consumer_pause(strata_consumer *c, const char *topic, uint32_t partition);
int strata_consumer_resume(strata_consumer *c, const char *topic, uint32_t partition);

/* ---- consumer groups ----
 * A subscribed consumer is a member of a group: the group's coordinator
 * (a broker) assigns it partitions of the subscribed topics and moves them
 * when members come and go; the consumer starts each partition at the
 * group's committed offset. Everything happens inside strata_consumer_poll,
 * so poll at least every heartbeat interval (250 ms by default) and well
 * within the session timeout. Delivery is at-least-once: commit after
 * processing; a crash replays what was processed but not committed. */

typedef struct {
  const char *topic;
  uint32_t partition;
} strata_topic_partition;

enum { STRATA_REBALANCE_ASSIGNED = 1, STRATA_REBALANCE_REVOKED = 0, STRATA_REBALANCE_LOST = -1 };

/* Called inside poll. REVOKED: the partitions go to another member; the
 * consumer still owns them during the call, so commit there (auto-commit
 * does it right after). LOST: the membership ended (session timeout,
 * fenced): they may already be someone else's, a commit would be refused. */
typedef void (*strata_rebalance_cb)(strata_consumer *c, int event,
                                    const strata_topic_partition *tps, size_t n, void *arg);

typedef struct {
  const char *group_id;
  const char *instance_id;     /* static membership: a restart within the session
                                  keeps the partitions, no rebalance. Optional */
  int session_timeout_ms;      /* Default 3000 */
  int auto_commit;             /* commit positions every auto_commit_interval_ms,
                                  on revoke and on close. Default 1 */
  int auto_commit_interval_ms; /* Default 1000 */
  int64_t reset_offset;        /* with no committed offset: STRATA_OFFSET_END
                                  (default) or STRATA_OFFSET_BEGINNING */
  const char *assignor;        /* "sticky" (default), "range", "roundrobin" */
  const char *topic_pattern;   /* subscribe to every topic matching this POSIX
                                  extended regex (now and as topics come and go);
                                  subscribe's topic list is then ignored */
  strata_rebalance_cb on_rebalance;
  void *cb_arg;
} strata_group_config;

void strata_group_config_defaults(strata_group_config *g);
/* Join the group with these topics, or g->topic_pattern (the consumer must
 * have no manual assignment). Membership starts at the next poll. */
int strata_consumer_subscribe(strata_consumer *c, const strata_group_config *g,
                              const char *const *topics, size_t ntopics);
/* Commit the positions of every owned partition (synchronous). */
int strata_consumer_commit(strata_consumer *c);
/* Commit one offset (the next one to read) for an owned partition. */
int strata_consumer_commit_offset(strata_consumer *c, const char *topic, uint32_t partition,
                                  int64_t offset);
/* The member id and epoch the coordinator gave (NULL/-1 before joining). */
const char *strata_consumer_member_id(const strata_consumer *c);
int32_t strata_consumer_member_epoch(const strata_consumer *c);
/* Partitions owned now; *n gets the count. Valid until the next poll. */
const strata_topic_partition *strata_consumer_assignment(strata_consumer *c, size_t *n);

/* ---- group administration ---- */

typedef struct {
  char *group_id;
  char *state;                 /* Empty, Assigning, Reconciling, Stable */
  uint32_t members;
  int32_t coordinator;         /* broker id */
} strata_group_listing;

typedef struct {
  char *member_id, *instance_id;
  int32_t epoch;
  strata_topic_partition *assignment; /* topics malloc'd */
  size_t nassignment;
} strata_group_member_info;

typedef struct {
  char *topic;
  uint32_t partition;
  int64_t offset;              /* committed: the next offset to read */
} strata_group_offset;

typedef struct {
  char *group_id, *state, *assignor;
  int32_t epoch, coordinator;
  strata_group_member_info *members;
  size_t nmembers;
  strata_group_offset *offsets;
  size_t noffsets;
} strata_group_info;

/* Every group of the cluster (each live broker lists those it coordinates). */
int strata_group_list(strata_client *c, strata_group_listing **out, size_t *n);
void strata_group_list_free(strata_group_listing *v, size_t n);
/* Members, assignments and committed offsets; STRATA_EUNKNOWN_GROUP. */
int strata_group_describe(strata_client *c, const char *group, strata_group_info **out);
void strata_group_info_free(strata_group_info *g);
/* Set committed offsets (reset/replay); STRATA_EGROUP_NOT_EMPTY while the
 * group has live members. */
int strata_group_set_offsets(strata_client *c, const char *group, const strata_group_offset *v,
                             size_t n);
/* Delete a group and its offsets; STRATA_EGROUP_NOT_EMPTY with members. */
int strata_group_delete(strata_client *c, const char *group);

/* ---- users and ACLs (kept by the controller: cluster mode only) ---- */

/* One ACL, codes as Kafka's wire codes (common/acl.h: resource TOPIC 2,
 * GROUP 3, CLUSTER 4, TRANSACTIONAL_ID 5; pattern LITERAL 3, PREFIXED 4;
 * operation READ 3 ...; permission DENY 2, ALLOW 3). As a filter the ANY
 * codes (1; 0 too) and NULL strings match anything, pattern MATCH (2) every
 * ACL that applies to resource_name (Kafka's AclBindingFilter). */
typedef struct {
  int resource_type;
  char *resource_name;
  int pattern_type;
  char *principal; /* "User:alice" */
  char *host;      /* "*" or an IP address */
  int operation;
  int permission;
} strata_acl;

/* Add ACLs; errors[i] (when given) gets each one's result, err the first
 * failure's reason. Returns the first failure's code, or 0. */
int strata_acl_create(strata_client *c, const strata_acl *acls, size_t n, int *errors, char *err,
                      size_t err_len);
/* The ACLs a filter matches (NULL: every one). Free with strata_acl_list_free. */
int strata_acl_list(strata_client *c, const strata_acl *filter, strata_acl **out, size_t *n);
/* Remove what the filter matches; *out (when given) gets what was removed. */
int strata_acl_delete(strata_client *c, const strata_acl *filter, strata_acl **out, size_t *n,
                      char *err, size_t err_len);
void strata_acl_list_free(strata_acl *v, size_t n);

/* A user's credential for one SCRAM mechanism (1 SCRAM-SHA-256, 2 -512),
 * derived by the caller (scram_credential_make): the password never leaves
 * the caller's host. */
int strata_user_upsert(strata_client *c, const char *user, int mechanism, int32_t iterations,
                       const uint8_t *salt, size_t salt_len, const uint8_t *stored_key,
                       const uint8_t *server_key, size_t key_len, char *err, size_t err_len);
/* Remove one credential, or the user (mechanism 0). STRATA_ERESOURCE_NOT_FOUND. */
int strata_user_delete(strata_client *c, const char *user, int mechanism, char *err,
                       size_t err_len);

typedef struct {
  char *name;
  int mechanisms[2];      /* 1 / 2 as held; 0 unused */
  int32_t iterations[2];
  size_t ncredentials;
} strata_user_info;

/* Users and which mechanisms each has (never a salt or a key). names NULL
 * / n_names 0: every user; a named unknown user is STRATA_ERESOURCE_NOT_FOUND. */
int strata_user_list(strata_client *c, const char *const *names, size_t n_names,
                     strata_user_info **out, size_t *n);
void strata_user_list_free(strata_user_info *v, size_t n);

#endif
