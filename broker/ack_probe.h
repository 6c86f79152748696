/* Where an acks=all produce spends its time (issue 15, item 4): per led
 * partition, a small ring of the latest acks=all appends with the moment
 * each stage of the chain reached them (the leader's fsync, the first
 * follower fetch answer carrying them, each follower's fetch reporting them
 * fsynced), turned into strata_ack_stage_seconds{stage=...} histograms when
 * the answer leaves. Timestamps are b->now_us, which the glue sets with
 * now_ms (0 in the simulator: nothing is recorded then). Debug metrics, not
 * a protocol input: nothing decides anything from them. */
#ifndef STRATA_ACK_PROBE_H
#define STRATA_ACK_PROBE_H

#include <stdint.h>


struct broker;
struct partition;
struct response;

#define ACK_PROBE_RING 64

struct ack_probe_entry {
  int64_t end;       /* the append's end offset (0: free slot) */
  int64_t t_append;  /* handled on the leader */
  int64_t t_durable; /* the leader's fsync covered it */
  int64_t t_sent;    /* the first follower fetch answer carrying it was built */
  int64_t t_first;   /* the first follower reported it fsynced */
  int64_t t_all;     /* the second follower reported it fsynced */
  int32_t first_id;  /* who reported first */
};

struct ack_probe {
  struct ack_probe_entry e[ACK_PROBE_RING];
  uint32_t next;
};

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

/* An acks=all append to p ending at `end` was handled now. */
void ack_probe_append(struct broker *b, struct partition *p, int64_t end);
/* p's log is durable up to `durable` now. */
void ack_probe_durable(struct broker *b, struct partition *p, int64_t durable);
/* A fetch answer to follower `id` carries p's records up to `upto`. */
void ack_probe_sent(struct broker *b, struct partition *p, int64_t upto);
/* Follower `id`'s fetch reports p fsynced up to `durable`. */
void ack_probe_reported(struct broker *b, struct partition *p, int32_t id, int64_t durable);
/* The answer r leaves now; arrived_us: when its bytes were read. Observes
 * every stage of each acks=all partition it waited for. */
void ack_probe_answered(struct broker *b, const struct response *r, int64_t arrived_us);
/* Free p's ring (the partition goes away). */
void ack_probe_free(struct partition *p);

#endif
