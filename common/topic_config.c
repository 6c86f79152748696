#include "topic_config.h"

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "errors.h"

static const char *const topic_config_keys[] = {
    "retention.ms", "retention.bytes", "segment.bytes", "segment.ms",
    "index.interval.bytes", "message.timestamp.type", "max.message.bytes",
    "cleanup.policy", "min.insync.replicas", "unclean.leader.election.enable", NULL};

int topic_config_apply(struct topic_config *tc, const struct config *c, char *err,
                       size_t err_len) {
  int rc = config_check_known(c, topic_config_keys, err, err_len);
  if (rc) return rc;
  int64_t v;
  uint64_t b;
  int e;
  if ((rc = config_get_int64(c, "retention.ms", tc->retention_ms, -1, INT64_MAX,
                             &tc->retention_ms, err, err_len)) ||
      (rc = config_get_int64(c, "retention.bytes", tc->retention_bytes, -1, INT64_MAX,
                             &tc->retention_bytes, err, err_len)) ||
      (rc = config_get_bytes(c, "segment.bytes", tc->segment_bytes, TOPIC_SEGMENT_BYTES_MIN,
                             TOPIC_SEGMENT_BYTES_MAX, &tc->segment_bytes, err, err_len)) ||
      (rc = config_get_int64(c, "segment.ms", tc->segment_ms, 1, INT64_MAX, &tc->segment_ms,
                             err, err_len)) ||
      (rc = config_get_bytes(c, "index.interval.bytes", tc->index_interval_bytes, 64, 1u << 24,
                             &b, err, err_len)))
    return rc;
  tc->index_interval_bytes = (uint32_t)b;
  static const char *const ts_names[] = {"CreateTime", "LogAppendTime", NULL};
  if ((rc = config_get_enum(c, "message.timestamp.type", ts_names, TS_CREATE_TIME, &e, err,
                            err_len)))
    return rc;
  tc->ts_type = (enum ts_type)e;
  if ((rc = config_get_int64(c, "max.message.bytes", tc->max_message_bytes, 1024, 16 << 20, &v,
                             err, err_len)))
    return rc;
  tc->max_message_bytes = (uint32_t)v;
  static const char *const policies[] = {"delete", NULL};
  if ((rc = config_get_enum(c, "cleanup.policy", policies, 0, &e, err, err_len))) return rc;
  if ((rc = config_get_int64(c, "min.insync.replicas", 1, 1, 16, &v, err, err_len))) return rc;
  tc->min_insync = (uint32_t)v;
  return config_get_bool(c, "unclean.leader.election.enable", 0, &tc->unclean, err, err_len);
}

int topic_configs_validate(const char *const *keys, const char *const *values, size_t n,
                           char *err, size_t err_len) {
  struct topic_config tc;
  memset(&tc, 0, sizeof tc);
  struct config *c = config_new();
  if (!c) return STRATA_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) rc = config_set(c, keys[i], values[i]);
  if (!rc) rc = topic_config_apply(&tc, c, err, err_len);
  config_free(c);
  return rc;
}

int topic_name_check(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > TOPIC_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
    return STRATA_EINVALID_TOPIC;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return STRATA_EINVALID_TOPIC;
  }
  return 0;
}
