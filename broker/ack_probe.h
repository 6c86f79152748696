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

#include "broker/ack_stages.h"

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

#endif
