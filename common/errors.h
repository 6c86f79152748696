/* The one error table of Strata: every function that can fail returns 0 or a
 * negative STRATA_E* code; on the wire the same code travels positive
 * (error_code = -STRATA_E*). Kafka's names are kept where the meaning is the
 * same, so operators can map them. */
#ifndef STRATA_ERRORS_H
#define STRATA_ERRORS_H

/* X(name, code, message). Codes are part of the wire protocol: never renumber. */
#define STRATA_ERROR_TABLE(X)                                                  \
  X(OK, 0, "success")                                                          \
  X(UNKNOWN, 1, "unknown error")                                               \
  X(CORRUPT, 2, "corrupt data (CRC or structure check failed)")                \
  X(TOO_LARGE, 3, "message or frame larger than the configured maximum")       \
  X(UNKNOWN_TOPIC, 4, "unknown topic or partition")                            \
  X(INVALID_REQUEST, 5, "invalid request")                                     \
  X(UNSUPPORTED_VERSION, 6, "unsupported api key or version")                  \
  X(OFFSET_OUT_OF_RANGE, 7, "offset out of range")                             \
  X(NOT_LEADER, 8, "this broker is not the leader for that partition")         \
  X(NOT_ENOUGH_REPLICAS, 9, "not enough in-sync replicas")                     \
  X(TIMEOUT, 10, "timed out")                                                  \
  X(TOPIC_EXISTS, 11, "topic already exists")                                  \
  X(INVALID_CONFIG, 12, "invalid configuration")                               \
  X(IO, 13, "I/O error")                                                       \
  X(NOMEM, 14, "out of memory")                                                \
  X(INVALID_PARTITIONS, 15, "invalid number of partitions")                    \
  X(INVALID_REPLICATION_FACTOR, 16, "invalid replication factor")              \
  X(NETWORK, 17, "network error or connection closed")                         \
  X(INVALID_TOPIC, 18, "invalid topic name")                                   \
  X(INVALID_RECORD, 19, "invalid record")                                      \
  X(COMPRESSION, 20, "compression or decompression failed")                    \
  X(UNSUPPORTED_COMPRESSION, 21, "unsupported compression codec")              \
  X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 22,                                      \
    "appended, but the in-sync replicas fell below min.insync.replicas")       \
  X(FENCED_LEADER_EPOCH, 23, "leader epoch is older than the current one")     \
  X(UNKNOWN_LEADER_EPOCH, 24, "leader epoch is newer than the current one")    \
  X(OUT_OF_ORDER_SEQUENCE, 25, "out-of-order producer sequence number")        \
  X(DUPLICATE_SEQUENCE, 26, "duplicate producer sequence number")              \
  X(INVALID_PRODUCER_EPOCH, 27, "producer epoch is fenced")                    \
  X(BROKER_NOT_AVAILABLE, 28, "broker not available")                          \
  X(UNREACHABLE, 29, "cannot connect to any broker")                           \
  X(RECORD_LIST_TOO_LARGE, 30, "record batch larger than max.message.bytes")   \
  X(INVALID_ARGUMENT, 31, "invalid argument")                                  \
  X(QUEUE_FULL, 32, "local queue full")                                        \
  X(SHUTTING_DOWN, 33, "shutting down")                                        \
  X(NOT_CONTROLLER, 34, "not the active controller")                           \
  X(STALE_BROKER_EPOCH, 35, "stale broker epoch")                              \
  X(ILLEGAL_GENERATION, 36, "illegal or stale generation")                     \
  X(UNKNOWN_MEMBER, 37, "unknown member id")                                   \
  X(REBALANCE_IN_PROGRESS, 38, "rebalance in progress")                        \
  X(COORDINATOR_NOT_AVAILABLE, 39, "coordinator not available")                \
  X(NOT_COORDINATOR, 40, "not the coordinator for this group")                 \
  X(GROUP_NOT_EMPTY, 41, "group has live members")                             \
  X(UNKNOWN_GROUP, 42, "unknown group")                                        \
  X(INCONSISTENT_CLUSTER_ID, 43, "the controller belongs to another cluster") \
  X(INCONSISTENT_GROUP_PROTOCOL, 44,                                           \
    "the group uses another protocol, or no protocol every member supports")  \
  X(MEMBER_ID_REQUIRED, 45, "rejoin with the member id given")                 \
  X(FENCED_INSTANCE_ID, 46, "a newer member has this group instance id")       \
  X(INVALID_SESSION_TIMEOUT, 47,                                               \
    "session timeout outside group.min/max.session.timeout.ms")                \
  X(GROUP_MAX_SIZE_REACHED, 48, "the group has its maximum number of members") \
  X(TOPIC_AUTHORIZATION_FAILED, 49, "not authorized to access the topic")     \
  X(GROUP_AUTHORIZATION_FAILED, 50, "not authorized to access the group")     \
  X(CLUSTER_AUTHORIZATION_FAILED, 51, "cluster authorization failed")         \
  X(SASL_AUTHENTICATION_FAILED, 52, "authentication failed")                   \
  X(ILLEGAL_SASL_STATE, 53, "request not valid in the current SASL state")     \
  X(UNSUPPORTED_SASL_MECHANISM, 54, "SASL mechanism not enabled")              \
  /* 60-69: users and ACLs (Kafka's RESOURCE_NOT_FOUND 91, DUPLICATE_RESOURCE \
   * 92, UNACCEPTABLE_CREDENTIAL 93) */                                        \
  X(RESOURCE_NOT_FOUND, 60, "no such user or credential")                      \
  X(DUPLICATE_RESOURCE, 61, "the same user twice in one request")              \
  X(UNACCEPTABLE_CREDENTIAL, 62, "unacceptable credential (name, salt, iterations or keys)") \
  /* 70-79: controller quorum voter changes (KIP-853; Kafka's DUPLICATE_VOTER \
   * 111, VOTER_NOT_FOUND 112) */                                              \
  X(DUPLICATE_VOTER, 70, "that node id is already a voter")                    \
  X(VOTER_NOT_FOUND, 71, "no voter with that node id and directory id")        \
  X(VOTER_NOT_CAUGHT_UP, 72,                                                   \
    "not a caught-up observer with that directory id (it must be fetching from the leader, at its high watermark)") \
  X(VOTER_CHANGE_IN_PROGRESS, 73,                                              \
    "a voter change (or the leader's election) is not committed yet; try again") \
  X(LAST_VOTER, 74, "removing it would leave no voters")

#define STRATA_ERROR_ENUM_(name, code, msg) STRATA_E##name = -(code),
enum strata_error { STRATA_ERROR_TABLE(STRATA_ERROR_ENUM_) };
#undef STRATA_ERROR_ENUM_

/* Largest positive wire code in the table; codes above it decode as UNKNOWN. */
#define STRATA_ERROR_CODE_MAX 74

/* Message for a code, positive (wire) or negative (return value). Never NULL. */
const char *strata_strerror(int err);

/* Short Kafka-style name ("NOT_LEADER") for logs and the CLI. Never NULL. */
const char *strata_errname(int err);

/* Map a wire code (positive) to a return code, clamping unknown codes. */
int strata_error_from_wire(unsigned code);

#endif
