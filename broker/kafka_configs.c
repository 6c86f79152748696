/* Kafka DescribeConfigs (v0-4) for topics and brokers, answered from the
 * broker's own state: a topic's effective value of every per-topic config
 * Strata knows (set on the topic: source TOPIC_CONFIG; else the broker's
 * default: DEFAULT_CONFIG), and a few broker settings read-only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/kafka_call.h"

enum { RES_TOPIC = 2, RES_BROKER = 4 };
enum { SRC_TOPIC = 1, SRC_STATIC_BROKER = 4, SRC_DEFAULT = 5 };
enum { TYPE_BOOLEAN = 1, TYPE_STRING = 2, TYPE_INT = 3, TYPE_SHORT = 4, TYPE_LONG = 5 };

struct cfg_item {
  const char *name;
  int type;
};

static const struct cfg_item topic_items[] = {
    {"cleanup.policy", TYPE_STRING},      {"index.interval.bytes", TYPE_INT},
    {"max.message.bytes", TYPE_INT},      {"message.timestamp.type", TYPE_STRING},
    {"min.insync.replicas", TYPE_INT},    {"retention.bytes", TYPE_LONG},
    {"retention.ms", TYPE_LONG},          {"segment.bytes", TYPE_INT},
    {"segment.ms", TYPE_LONG},            {"unclean.leader.election.enable", TYPE_BOOLEAN},
};

/* The effective value of a per-topic config, as text. */
static const char *topic_value(struct kafka_call *k, const struct topic *t, const char *name,
                               int *set) {
  for (size_t i = 0; i < t->nconfigs; i++)
    if (!strcmp(t->configs[i].key, name)) {
      *set = 1;
      return t->configs[i].value;
    }
  *set = 0;
  char v[64];
  if (!strcmp(name, "cleanup.policy")) return "delete";
  if (!strcmp(name, "index.interval.bytes")) snprintf(v, sizeof v, "%u", t->seg.index_interval_bytes);
  else if (!strcmp(name, "max.message.bytes")) snprintf(v, sizeof v, "%u", t->max_message_bytes);
  else if (!strcmp(name, "message.timestamp.type"))
    return t->ts_type == TS_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime";
  else if (!strcmp(name, "min.insync.replicas")) snprintf(v, sizeof v, "%u", t->min_insync);
  else if (!strcmp(name, "retention.bytes")) snprintf(v, sizeof v, "%" PRId64, t->seg.retention_bytes);
  else if (!strcmp(name, "retention.ms")) snprintf(v, sizeof v, "%" PRId64, t->seg.retention_ms);
  else if (!strcmp(name, "segment.bytes")) snprintf(v, sizeof v, "%" PRIu64, t->seg.segment_bytes);
  else if (!strcmp(name, "segment.ms")) snprintf(v, sizeof v, "%" PRId64, t->seg.segment_ms);
  else if (!strcmp(name, "unclean.leader.election.enable")) return t->unclean ? "true" : "false";
  else return NULL;
  return kc_strdup(k, v);
}

static int wanted(const struct kafka_describe_configs_req_describe_configs_resource *r,
                  const char *name) {
  if (r->n_configuration_keys < 0) return 1; /* null: all of them */
  for (int32_t i = 0; i < r->n_configuration_keys; i++)
    if (r->configuration_keys[i] && !strcmp(r->configuration_keys[i], name)) return 1;
  return r->n_configuration_keys == 0;
}

static void add(struct kafka_call *k, struct kafka_describe_configs_resp_describe_configs_result *res,
                const char *name, const char *value, int source, int type, int read_only) {
  struct kafka_describe_configs_resp_describe_configs_resource_result *c = &res->configs[res->n_configs++];
  kafka_defaults(&kafka_describe_configs_resp_describe_configs_resource_result_desc, c);
  c->name = name;
  c->value = value ? kc_strdup(k, value) : NULL;
  c->read_only = read_only;
  c->is_default = source == SRC_DEFAULT;
  c->config_source = (int8_t)source;
  c->config_type = (int8_t)type;
}

static void describe_topic(struct broker *b, struct kafka_call *k,
                           const struct kafka_describe_configs_req_describe_configs_resource *r,
                           struct kafka_describe_configs_resp_describe_configs_result *res) {
  const struct topic *t = topics_find(&b->topics, r->resource_name);
  if (!t) {
    res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    res->error_message = "unknown topic";
    return;
  }
  size_t n = sizeof topic_items / sizeof topic_items[0];
  res->configs = kc_alloc(k, (n + 1) * sizeof *res->configs);
  for (size_t i = 0; i < n; i++) {
    if (!wanted(r, topic_items[i].name)) continue;
    int set;
    const char *v = topic_value(k, t, topic_items[i].name, &set);
    add(k, res, topic_items[i].name, v, set ? SRC_TOPIC : SRC_DEFAULT, topic_items[i].type, 0);
  }
}

static void describe_broker(struct broker *b, struct kafka_call *k,
                            const struct kafka_describe_configs_req_describe_configs_resource *r,
                            struct kafka_describe_configs_resp_describe_configs_result *res) {
  char id[16];
  snprintf(id, sizeof id, "%d", b->cfg.id);
  if (r->resource_name && *r->resource_name && strcmp(r->resource_name, id)) {
    res->error_code = KERR_INVALID_REQUEST;
    res->error_message = "ask the broker itself for its configs";
    return;
  }
  char v[8][64];
  snprintf(v[0], sizeof v[0], "%d", b->cfg.id);
  snprintf(v[1], sizeof v[1], "%u", b->cfg.num_partitions);
  snprintf(v[2], sizeof v[2], "%u", b->cfg.message_max_bytes);
  snprintf(v[3], sizeof v[3], "%" PRId64, b->cfg.seg.retention_ms);
  snprintf(v[4], sizeof v[4], "%" PRIu64, b->cfg.seg.segment_bytes);
  snprintf(v[5], sizeof v[5], "%u", b->cfg.max_frame);
  const struct {
    const char *name, *value;
    int type;
  } items[] = {{"broker.id", v[0], TYPE_INT},          {"num.partitions", v[1], TYPE_INT},
               {"message.max.bytes", v[2], TYPE_INT},  {"log.retention.ms", v[3], TYPE_LONG},
               {"log.segment.bytes", v[4], TYPE_INT},  {"socket.request.max.bytes", v[5], TYPE_INT},
               {"auto.create.topics.enable", "false", TYPE_BOOLEAN}};
  size_t n = sizeof items / sizeof items[0];
  res->configs = kc_alloc(k, (n + 1) * sizeof *res->configs);
  for (size_t i = 0; i < n; i++)
    if (wanted(r, items[i].name))
      add(k, res, items[i].name, items[i].value, SRC_STATIC_BROKER, items[i].type, 1);
}

static void describe_configs_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_describe_configs_req *q = k->req;
  struct kafka_describe_configs_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_describe_configs_resp_desc, m);
  int32_t n = q->n_resources > 0 ? q->n_resources : 0;
  m->results = kc_alloc(k, ((size_t)n + 1) * sizeof *m->results);
  for (int32_t i = 0; i < n; i++) {
    const struct kafka_describe_configs_req_describe_configs_resource *rq = &q->resources[i];
    struct kafka_describe_configs_resp_describe_configs_result *res = &m->results[m->n_results++];
    kafka_defaults(&kafka_describe_configs_resp_describe_configs_result_desc, res);
    res->resource_type = rq->resource_type;
    res->resource_name = rq->resource_name;
    /* DescribeConfigs on the topic, or on the cluster for a broker's */
    if (rq->resource_type == RES_TOPIC &&
        authz_topic(b, &k->who, rq->resource_name, ACL_OP_DESCRIBE_CONFIGS)) {
      res->error_code = KERR_TOPIC_AUTHORIZATION_FAILED; /* whether it exists or not */
    } else if (rq->resource_type == RES_BROKER &&
               authz_cluster(b, &k->who, ACL_OP_DESCRIBE_CONFIGS)) {
      res->error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
    } else if (rq->resource_type == RES_TOPIC) describe_topic(b, k, rq, res);
    else if (rq->resource_type == RES_BROKER) describe_broker(b, k, rq, res);
    else {
      res->error_code = KERR_INVALID_REQUEST;
      res->error_message = "only topic and broker configs are described";
    }
  }
  k->resp = m;
}

const struct kafka_handler kafka_describe_configs_handler = {KAFKA_DESCRIBE_CONFIGS, 0, 4,
                                                             describe_configs_start, NULL};
