/* The broker's settings: broker.properties plus --set overrides, checked
 * against the list of known keys so a typo is an error, never a silent
 * default. broker.properties.example documents every key. */
#ifndef STRATA_BROKER_CONFIG_H
#define STRATA_BROKER_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/seglog.h"
#include "common/acl.h"
#include "common/config.h"
#include "common/sasl_config.h"
#include "common/listener.h"
#include "common/tls.h"

#define BROKER_CONTROLLERS_MAX 9 /* entries in `controller` (a quorum's voters) */

/* One entry of `controller`: where a controller listens, and its scheme. */
struct controller_addr {
  char host[256];
  int port;
  enum listener_protocol protocol;
};

enum flush_policy { FLUSH_ALWAYS = 0, FLUSH_INTERVAL, FLUSH_OS };
/* metrics.group.lag: consumer-group series per partition, per group, or none. */
enum group_lag_metrics { GROUP_LAG_PARTITION = 0, GROUP_LAG_GROUP, GROUP_LAG_OFF };

#define ADMIN_LISTENER_DEFAULT "127.0.0.1:9644"

struct broker_config {
  int32_t id;
  char host[256];              /* advertised: what clients and peers connect to */
  int port;
  char bind_host[256];         /* listeners: what this broker binds */
  int bind_port;
  char log_dir[PATH_MAX];
  enum flush_policy flush;
  int64_t flush_interval_ms;
  uint32_t max_frame;          /* socket.request.max.bytes */
  uint32_t message_max_bytes;  /* largest batch set per partition in a produce */
  uint32_t num_partitions;     /* default for CreateTopics with partitions 0 */
  struct seglog_config seg;    /* defaults for every topic */
  int64_t retention_check_ms;
  uint32_t fetch_max_wait_ms;  /* cap on a client's long-poll */
  uint32_t connections_max;
  /* Descriptors the partition logs may hold open together (broker/fdcache.h).
   * Not a setting: main.c derives it from RLIMIT_NOFILE less
   * broker_fd_reserve(); 0 (tests, the simulator): BROKER_LOG_FDS_DEFAULT. */
  uint32_t log_fds_max;
  /* admin.listeners (docs/admin.md): admin_port -1 when off. A default that
   * is taken only costs the admin port; one set explicitly must bind. */
  char admin_host[256];
  int admin_port;
  int admin_explicit;
  uint32_t admin_connections_max;
  /* kafka.listeners / kafka.advertised.listeners (the Kafka-protocol front
   * door, broker/kafka_*.c): kafka_port -1 when off; the advertised address
   * defaults to the bound one. */
  char kafka_host[256], kafka_adv_host[256];
  int kafka_port, kafka_adv_port;
  enum group_lag_metrics group_lag_metrics;
  /* Cluster mode: set when a controller address is configured.
   * `controller=[SCHEME://]HOST:PORT[,...]`: the controller quorum's
   * members (issue 14), each with its own scheme; broker/session.c finds
   * the active one. controller_host/port/protocol repeat the first entry. */
  struct controller_addr controllers[BROKER_CONTROLLERS_MAX];
  int ncontrollers;             /* 0: standalone broker */
  char controller_host[256];
  int controller_port;          /* 0: standalone broker */
  char rack[64];
  char source_addr[64];         /* outgoing.source.address: "" lets the kernel pick */
  int64_t heartbeat_ms;         /* broker.heartbeat.interval.ms */
  int64_t session_ms;           /* broker.session.timeout.ms: as the controller's */
  int64_t replica_lag_ms;       /* replica.lag.time.max.ms */
  uint32_t replica_fetch_wait_ms;
  /* Consumer groups */
  int64_t group_initial_delay_ms;  /* group.initial.rebalance.delay.ms */
  int64_t group_heartbeat_ms;      /* group.consumer.heartbeat.interval.ms */
  int64_t group_session_min_ms, group_session_max_ms;
  int64_t offsets_partitions;      /* offsets.topic.num.partitions */
  /* Security (issue 17). Per listener, from its scheme (common/listener.h):
   * *_tls wraps its connections in TLS, *_sasl makes them authenticate
   * first. controller_protocol: the scheme written in `controller`. */
  enum listener_protocol protocol, kafka_protocol, controller_protocol;
  int listener_tls, listener_sasl;   /* listeners (native protocol) */
  int kafka_tls, kafka_sasl;         /* kafka.listeners */
  int admin_tls;                     /* admin.listeners=HTTPS://... */
  struct tls_settings tls;           /* ssl.*: one identity for every TLS listener */
  int64_t offsets_rf;              /* offsets.topic.replication.factor */
  uint64_t offsets_segment_bytes;  /* offsets.topic.segment.bytes */
  /* Authorizer (broker/authz.c): authorizer.enabled, super.users as written
   * (checked here, split by authz_init), allow.everyone.if.no.acl.found. */
  int authz_enabled, authz_allow_if_no_acl;
  char super_users[ACL_TEXT_MAX];
  /* SASL (common/sasl_config.h): the mechanisms SASL listeners accept, and
   * this broker's own login for links to SASL listeners. */
  struct sasl_settings sasl;
};

/* Fill *out from c (defaults for unset keys). 0, or STRATA_EINVALID_CONFIG
 * with a line naming the key in err. */
int broker_config_from(const struct config *c, struct broker_config *out,
                       char *err, size_t err_len);

extern const char *const broker_config_keys[];
extern const char *const flush_policy_names[];

#endif
