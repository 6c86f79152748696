/* Per-topic configuration and topic names: what a topic may be called, which
 * per-topic configs exist and their legal values, and the bounds on a topic.
 * Shared by the broker (which applies the configs to its logs) and the
 * controller (which checks a CreateTopics request before recording it), so
 * neither depends on the other. */
#ifndef STRATA_TOPIC_CONFIG_H
#define STRATA_TOPIC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define TOPIC_NAME_MAX 249
#define TOPIC_PARTITIONS_MAX 10000
#define TOPIC_CONFIGS_MAX 64
/* segment.bytes bounds (the storage's, broker/seglog.h: 64 KiB up to below
 * the 2 GiB of u32 file positions). */
#define TOPIC_SEGMENT_BYTES_MIN (64u << 10)
#define TOPIC_SEGMENT_BYTES_MAX ((1ull << 31) - 1)

enum ts_type { TS_CREATE_TIME = 0, TS_LOG_APPEND_TIME };

/* The typed values of a topic's configs. The caller fills in the defaults
 * (the broker's, for the log settings) before topic_config_apply. */
struct topic_config {
  int64_t retention_ms;          /* retention.ms, -1: forever */
  int64_t retention_bytes;       /* retention.bytes, -1: no limit */
  uint64_t segment_bytes;        /* segment.bytes */
  int64_t segment_ms;            /* segment.ms */
  uint32_t index_interval_bytes; /* index.interval.bytes */
  enum ts_type ts_type;          /* message.timestamp.type */
  uint32_t max_message_bytes;    /* max.message.bytes */
  uint32_t min_insync;           /* min.insync.replicas (default 1) */
  int unclean;                   /* unclean.leader.election.enable (default false) */
};

struct config;

/* Refuse unknown keys, then read every known one present in c over tc's
 * defaults (min.insync.replicas and unclean.leader.election.enable default to
 * 1 and false whatever tc held). 0 or STRATA_EINVALID_CONFIG with a line
 * naming the key in err. */
int topic_config_apply(struct topic_config *tc, const struct config *c, char *err,
                       size_t err_len);

/* Check per-topic configs (keys/values arrays of n) without creating
 * anything: the controller's CreateTopics uses it. */
int topic_configs_validate(const char *const *keys, const char *const *values, size_t n,
                           char *err, size_t err_len);

/* 0 when name is a legal topic name ([A-Za-z0-9._-], 1..249, not . or ..),
 * else STRATA_EINVALID_TOPIC. */
int topic_name_check(const char *name);

#endif
