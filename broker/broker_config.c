#include "broker_config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/http_request.h"

const char *const broker_config_keys[] = {
    "broker.id", "listeners", "host", "port", "log.dir", "log.flush.policy",
    "log.flush.interval.ms", "socket.request.max.bytes", "message.max.bytes",
    "num.partitions", "log.segment.bytes", "log.roll.ms", "log.index.interval.bytes",
    "log.retention.ms", "log.retention.bytes", "log.retention.check.interval.ms",
    "fetch.max.wait.ms", "max.connections", "log.level", "controller", "broker.rack",
    "broker.heartbeat.interval.ms", "replica.lag.time.max.ms", "replica.fetch.wait.max.ms",
    "group.initial.rebalance.delay.ms", "group.consumer.heartbeat.interval.ms",
    "group.min.session.timeout.ms", "group.max.session.timeout.ms",
    "offsets.topic.num.partitions", "offsets.topic.replication.factor",
    "offsets.topic.segment.bytes", "advertised.listeners", "broker.session.timeout.ms",
    "outgoing.source.address", "admin.listeners", "admin.connections.max", "metrics.group.lag",
    "kafka.listeners", "kafka.advertised.listeners",
    "authorizer.enabled", "super.users", "allow.everyone.if.no.acl.found",
    "sasl.enabled.mechanisms", "sasl.mechanism", "sasl.mechanisms", "sasl.username",
    "sasl.password", "sasl.password.file",
    /* common/tls.h: tls_settings_keys */
    "ssl.certificate.location", "ssl.key.location", "ssl.ca.location", "ssl.client.auth",
    "ssl.principal.mapping.rules", "ssl.endpoint.identification.algorithm",
    NULL};

const char *const flush_policy_names[] = {"always", "interval", "os", NULL};

/* listeners=host:port, the one address clients use to reach this broker. */
static int parse_listener(const char *v, struct broker_config *out, char *err,
                          size_t err_len) {
  const char *colon = strrchr(v, ':');
  const char *scheme = strstr(v, "://");
  if (scheme) v = scheme + 3;
  if (!colon || colon < v || (size_t)(colon - v) >= sizeof out->host) {
    snprintf(err, err_len, "listeners: expected host:port, got '%s'", v);
    return STRATA_EINVALID_CONFIG;
  }
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 1 || port > 65535) {
    snprintf(err, err_len, "listeners: bad port in '%s'", v);
    return STRATA_EINVALID_CONFIG;
  }
  memcpy(out->host, v, (size_t)(colon - v));
  out->host[colon - v] = 0;
  out->port = (int)port;
  return 0;
}

/* `controller`: one or more [SCHEME://]HOST:PORT entries, comma-separated
 * (the controller quorum's members), each with its own scheme. */
static int parse_controllers(const char *ctl, struct broker_config *out, char *err,
                             size_t err_len) {
  const char *p = ctl;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char one[300];
    if (!len || len >= sizeof one || (comma && !comma[1])) {
      snprintf(err, err_len, "controller: expected host:port[,host:port...], got '%s'", ctl);
      return STRATA_EINVALID_CONFIG;
    }
    if (out->ncontrollers == BROKER_CONTROLLERS_MAX) {
      snprintf(err, err_len, "controller: at most %d entries", BROKER_CONTROLLERS_MAX);
      return STRATA_EINVALID_CONFIG;
    }
    memcpy(one, p, len);
    one[len] = 0;
    struct broker_config tmp;
    struct listener_addr la;
    int rc;
    if (parse_listener(one, &tmp, err, err_len)) {
      snprintf(err, err_len, "controller: expected host:port, got '%s'", one);
      return STRATA_EINVALID_CONFIG;
    }
    if ((rc = listener_parse("controller", one, &la, err, err_len))) return rc;
    struct controller_addr *a = &out->controllers[out->ncontrollers++];
    snprintf(a->host, sizeof a->host, "%s", tmp.host);
    a->port = tmp.port;
    a->protocol = la.protocol;
    p = comma ? comma + 1 : p + len;
  }
  if (!out->ncontrollers) {
    snprintf(err, err_len, "controller: expected host:port[,host:port...], got '%s'", ctl);
    return STRATA_EINVALID_CONFIG;
  }
  snprintf(out->controller_host, sizeof out->controller_host, "%s", out->controllers[0].host);
  out->controller_port = out->controllers[0].port;
  out->controller_protocol = out->controllers[0].protocol;
  return 0;
}

int broker_config_from(const struct config *c, struct broker_config *out,
                       char *err, size_t err_len) {
  memset(out, 0, sizeof *out);
  int rc = config_check_known(c, broker_config_keys, err, err_len);
  if (rc) return rc;
  int64_t v;
  uint64_t b;
  int e;
  if ((rc = config_get_int64(c, "broker.id", 1, 0, INT32_MAX, &v, err, err_len))) return rc;
  out->id = (int32_t)v;
  snprintf(out->host, sizeof out->host, "127.0.0.1");
  out->port = 9092;
  const char *l = config_get(c, "listeners");
  if (l) {
    struct listener_addr la;
    if ((rc = listener_parse("listeners", l, &la, err, err_len))) return rc;
    if (la.port < 1) {
      snprintf(err, err_len, "listeners: bad port in '%s'", l);
      return STRATA_EINVALID_CONFIG;
    }
    snprintf(out->host, sizeof out->host, "%s", la.host);
    out->port = la.port;
    out->protocol = la.protocol;
    out->listener_tls = la.tls;
    out->listener_sasl = la.sasl;
  }
  const char *h = config_get(c, "host");
  if (h) snprintf(out->host, sizeof out->host, "%s", h);
  if ((rc = config_get_int64(c, "port", out->port, 1, 65535, &v, err, err_len))) return rc;
  out->port = (int)v;
  /* Bind to listeners; tell clients and peers advertised.listeners (in a
   * container: bind 0.0.0.0, advertise the service name). */
  snprintf(out->bind_host, sizeof out->bind_host, "%s", out->host);
  out->bind_port = out->port;
  const char *adv = config_get(c, "advertised.listeners");
  if (adv && *adv) {
    struct broker_config tmp;
    memset(&tmp, 0, sizeof tmp);
    if ((rc = parse_listener(adv, &tmp, err, err_len))) {
      snprintf(err, err_len, "advertised.listeners: expected host:port, got '%s'", adv);
      return rc;
    }
    snprintf(out->host, sizeof out->host, "%s", tmp.host);
    out->port = tmp.port;
  } else if (!strcmp(out->host, "0.0.0.0") || !strcmp(out->host, "::")) {
    snprintf(err, err_len, "listeners binds every address (%s): set advertised.listeners to the "
             "host:port clients and other brokers reach this broker at", out->host);
    return STRATA_EINVALID_CONFIG;
  }
  const char *d = config_get(c, "log.dir");
  snprintf(out->log_dir, sizeof out->log_dir, "%s", d ? d : "./data");
  if ((rc = config_get_enum(c, "log.flush.policy", flush_policy_names, FLUSH_ALWAYS,
                            &e, err, err_len)))
    return rc;
  out->flush = (enum flush_policy)e;
  if ((rc = config_get_int64(c, "log.flush.interval.ms", 1000, 1, INT32_MAX, &v, err, err_len))) return rc;
  out->flush_interval_ms = v;
  if ((rc = config_get_bytes(c, "socket.request.max.bytes", 100u << 20, 1u << 16,
                             1u << 30, &b, err, err_len)))
    return rc;
  out->max_frame = (uint32_t)b;
  if ((rc = config_get_bytes(c, "message.max.bytes", 16u << 20, 1024, 16u << 20, &b,
                             err, err_len)))
    return rc;
  out->message_max_bytes = (uint32_t)b;
  if ((rc = config_get_int64(c, "num.partitions", 1, 1, 10000, &v, err, err_len))) return rc;
  out->num_partitions = (uint32_t)v;
  seglog_config_defaults(&out->seg);
  if ((rc = config_get_bytes(c, "log.segment.bytes", out->seg.segment_bytes,
                             SEGLOG_SEGMENT_BYTES_MIN, SEGLOG_SEGMENT_BYTES_MAX - 1,
                             &out->seg.segment_bytes, err, err_len)))
    return rc;
  if ((rc = config_get_int64(c, "log.roll.ms", out->seg.segment_ms, 1, INT64_MAX,
                             &out->seg.segment_ms, err, err_len)))
    return rc;
  if ((rc = config_get_bytes(c, "log.index.interval.bytes", 4096, 64, 1u << 24, &b,
                             err, err_len)))
    return rc;
  out->seg.index_interval_bytes = (uint32_t)b;
  if ((rc = config_get_int64(c, "log.retention.ms", out->seg.retention_ms, -1,
                             INT64_MAX, &out->seg.retention_ms, err, err_len)))
    return rc;
  if ((rc = config_get_int64(c, "log.retention.bytes", -1, -1, INT64_MAX,
                             &out->seg.retention_bytes, err, err_len)))
    return rc;
  if ((rc = config_get_int64(c, "log.retention.check.interval.ms", 300000, 10,
                             INT32_MAX, &out->retention_check_ms, err, err_len)))
    return rc;
  if ((rc = config_get_int64(c, "fetch.max.wait.ms", 30000, 0, 600000, &v, err, err_len))) return rc;
  out->fetch_max_wait_ms = (uint32_t)v;
  if ((rc = config_get_int64(c, "max.connections", 4096, 1, 1000000, &v, err, err_len))) return rc;
  out->connections_max = (uint32_t)v;
  const char *adm = config_get(c, "admin.listeners");
  out->admin_explicit = adm != NULL;
  if (!adm) adm = ADMIN_LISTENER_DEFAULT;
  out->admin_port = -1;
  if (*adm) {
    struct listener_addr la;
    if (listener_parse_http("admin.listeners", adm, &la, err, err_len)) {
      snprintf(err, err_len, "admin.listeners: expected [HTTP://|HTTPS://]HOST:PORT (or empty: off), "
               "got '%s'", adm);
      return STRATA_EINVALID_CONFIG;
    }
    snprintf(out->admin_host, sizeof out->admin_host, "%s", la.host);
    out->admin_port = la.port;
    out->admin_tls = la.tls;
  }
  if ((rc = config_get_int64(c, "admin.connections.max", 64, 1, 10000, &v, err, err_len)))
    return rc;
  const char *kl = config_get(c, "kafka.listeners"), *ka = config_get(c, "kafka.advertised.listeners");
  out->kafka_port = out->kafka_adv_port = -1;
  if (kl && *kl) {
    struct listener_addr la;
    if ((rc = listener_parse("kafka.listeners", kl, &la, err, err_len))) return rc;
    snprintf(out->kafka_host, sizeof out->kafka_host, "%s", la.host);
    out->kafka_port = la.port;
    out->kafka_protocol = la.protocol;
    out->kafka_tls = la.tls;
    out->kafka_sasl = la.sasl;
    const char *scheme;
    snprintf(out->kafka_adv_host, sizeof out->kafka_adv_host, "%s", out->kafka_host);
    out->kafka_adv_port = out->kafka_port;
    if (ka && *ka) {
      scheme = strstr(ka, "://");
      if (http_split_hostport(scheme ? scheme + 3 : ka, out->kafka_adv_host,
                              sizeof out->kafka_adv_host, &out->kafka_adv_port) ||
          out->kafka_adv_port == 0) {
        snprintf(err, err_len, "kafka.advertised.listeners: expected HOST:PORT, got '%s'", ka);
        return STRATA_EINVALID_CONFIG;
      }
    }
  } else if (ka && *ka) {
    snprintf(err, err_len, "kafka.advertised.listeners is set but kafka.listeners is not");
    return STRATA_EINVALID_CONFIG;
  }
  out->admin_connections_max = (uint32_t)v;
  const char *lag = config_get(c, "metrics.group.lag");
  out->group_lag_metrics = GROUP_LAG_PARTITION;
  if (lag && !strcmp(lag, "group")) out->group_lag_metrics = GROUP_LAG_GROUP;
  else if (lag && !strcmp(lag, "off")) out->group_lag_metrics = GROUP_LAG_OFF;
  else if (lag && strcmp(lag, "partition")) {
    snprintf(err, err_len, "metrics.group.lag: expected partition, group or off, got '%s'", lag);
    return STRATA_EINVALID_CONFIG;
  }
  const char *ctl = config_get(c, "controller");
  if (ctl && *ctl && (rc = parse_controllers(ctl, out, err, err_len))) return rc;
  const char *src = config_get(c, "outgoing.source.address");
  if (src && *src) {
    struct in_addr a;
    if (inet_pton(AF_INET, src, &a) != 1) {
      snprintf(err, err_len, "outgoing.source.address: expected an IPv4 address, got '%s'", src);
      return STRATA_EINVALID_CONFIG;
    }
    snprintf(out->source_addr, sizeof out->source_addr, "%s", src);
  }
  const char *rack = config_get(c, "broker.rack");
  snprintf(out->rack, sizeof out->rack, "%s", rack ? rack : "");
  if ((rc = config_get_int64(c, "broker.heartbeat.interval.ms", 150, 10, 60000, &out->heartbeat_ms,
                             err, err_len)) ||
      (rc = config_get_int64(c, "replica.lag.time.max.ms", 5000, 100, 600000, &out->replica_lag_ms,
                             err, err_len)) ||
      (rc = config_get_int64(c, "broker.session.timeout.ms", 1500, 100, 600000, &out->session_ms,
                             err, err_len)) ||
      (rc = config_get_int64(c, "replica.fetch.wait.max.ms", 500, 1, 60000, &v, err, err_len)))
    return rc;
  out->replica_fetch_wait_ms = (uint32_t)v;
  if ((rc = config_get_int64(c, "group.initial.rebalance.delay.ms", 300, 0, 300000,
                             &out->group_initial_delay_ms, err, err_len)) ||
      (rc = config_get_int64(c, "group.consumer.heartbeat.interval.ms", 250, 10, 60000,
                             &out->group_heartbeat_ms, err, err_len)) ||
      (rc = config_get_int64(c, "group.min.session.timeout.ms", 1000, 100, 3600000,
                             &out->group_session_min_ms, err, err_len)) ||
      (rc = config_get_int64(c, "group.max.session.timeout.ms", 300000, 100, 3600000,
                             &out->group_session_max_ms, err, err_len)) ||
      (rc = config_get_int64(c, "offsets.topic.num.partitions", 12, 1, 1000,
                             &out->offsets_partitions, err, err_len)) ||
      (rc = config_get_int64(c, "offsets.topic.replication.factor", 3, 1, 16, &out->offsets_rf,
                             err, err_len)))
    return rc;
  if ((rc = config_get_bytes(c, "offsets.topic.segment.bytes", 4u << 20, SEGLOG_SEGMENT_BYTES_MIN,
                             1u << 30, &out->offsets_segment_bytes, err, err_len)))
    return rc;
  if ((rc = authorizer_settings_from(c, &out->authz_enabled, out->super_users,
                                     sizeof out->super_users, &out->authz_allow_if_no_acl, err,
                                     err_len)))
    return rc;
  if ((rc = sasl_settings_from_config(c, &out->sasl, err, err_len))) return rc;
  /* Links this broker opens log in as it: to a SASL controller, and to
   * leaders on SASL listeners (ours: the cluster's brokers share a scheme). */
  int ctl_sasl = 0;
  for (int i = 0; i < out->ncontrollers; i++)
    ctl_sasl |= out->controllers[i].protocol == LISTENER_SASL_PLAINTEXT ||
                out->controllers[i].protocol == LISTENER_SASL_SSL;
  if (out->controller_port && (ctl_sasl || out->listener_sasl) &&
      !sasl_settings_client_ready(&out->sasl)) {
    snprintf(err, err_len, "%s is a SASL listener: set sasl.username and sasl.password (or "
             "sasl.password.file) for this broker's own login",
             out->listener_sasl ? "listeners" : "controller");
    return STRATA_EINVALID_CONFIG;
  }
  if ((rc = tls_settings_from_config(c, &out->tls, err, err_len))) return rc;
  if ((out->listener_tls || out->kafka_tls || out->admin_tls) &&
      (!*out->tls.cert_file || !*out->tls.key_file)) {
    snprintf(err, err_len, "%s is a TLS listener: set ssl.certificate.location and ssl.key.location",
             out->listener_tls ? "listeners" : out->kafka_tls ? "kafka.listeners" : "admin.listeners");
    return STRATA_EINVALID_CONFIG;
  }
  if (out->tls.client_auth != TLS_CLIENT_AUTH_NONE && !*out->tls.ca_file) {
    snprintf(err, err_len, "ssl.client.auth needs ssl.ca.location");
    return STRATA_EINVALID_CONFIG;
  }
  /* Refuse a lockout: the authorizer on where connections authenticate
   * (SASL, or required client certificates) and no super user. */
  if ((rc = authorizer_startup_check(out->authz_enabled, out->super_users,
                                     out->listener_sasl || out->kafka_sasl ||
                                         out->tls.client_auth == TLS_CLIENT_AUTH_REQUIRED,
                                     err, err_len)))
    return rc;
  if (out->group_session_min_ms > out->group_session_max_ms) {
    snprintf(err, err_len, "group.min.session.timeout.ms is above group.max.session.timeout.ms");
    return STRATA_EINVALID_CONFIG;
  }
  return 0;
}
