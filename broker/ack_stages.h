/* The acks=all stage metrics' types (ack_probe.h says what the stages
 * are): apart from the probe so broker_metrics.h can hold them without
 * including the probe, which needs the broker's and the partition's
 * definitions. */
#ifndef STRATA_ACK_STAGES_H
#define STRATA_ACK_STAGES_H

#include <stdint.h>

enum ack_stage {
  ACK_STAGE_FSYNC,      /* handled -> the leader's own fsync done (seen by the loop) */
  ACK_STAGE_SENT,       /* handled -> a follower's fetch answered with it */
  ACK_STAGE_FIRST,      /* sent -> the first follower reports it fsynced */
  ACK_STAGE_ALL,        /* sent -> the second follower reports it fsynced */
  ACK_STAGE_HW,         /* handled -> the last of fsync and ISR reports */
  ACK_STAGE_ANSWER,     /* that last one -> the answer leaves */
  ACK_STAGE_TOTAL,      /* the request read -> the answer leaves (every acks=all answer) */
  ACK_STAGES
};

extern const char *const ack_stage_names[ACK_STAGES];

/* Finer than prom_histogram (100 us .. 10 s): a stage of a sub-millisecond
 * chain needs tens of microseconds, and the tail's few milliseconds. */
#define ACK_PROBE_BUCKETS 22
extern const int64_t ack_probe_bounds_us[ACK_PROBE_BUCKETS];

struct ack_probe_hist {
  uint64_t counts[ACK_PROBE_BUCKETS + 1]; /* per bucket; last: +Inf */
  uint64_t count;
  int64_t sum_us, max_us;
};

struct ack_probe_metrics {
  struct ack_probe_hist h[ACK_STAGES];
  uint64_t overwritten; /* ring entries reused before their answer left */
};

struct textbuf;
/* strata_ack_stage_seconds{stage=...} (buckets, sum, count) and
 * strata_ack_stage_max_seconds{stage=...}, for stages seen. */
void ack_probe_write(struct textbuf *t, const struct ack_probe_metrics *m);

#endif
