/* Idempotent-producer state of one partition (DESIGN.md T3): for each
 * producer id, its epoch and its last few batches' sequence ranges with the
 * offsets they got. A leader checks each incoming batch against it: the next
 * sequence is appended, a retry of a kept batch is answered with its original
 * offsets, anything else is out of order. Every replica builds the same state
 * from the batch headers it appends, so a new leader already has it; on open
 * and after a truncation it is rebuilt from the log. No I/O here. */
#ifndef STRATA_PRODUCER_STATE_H
#define STRATA_PRODUCER_STATE_H

#include <stddef.h>
#include <stdint.h>

#define PRODUCER_BATCHES_KEPT 5      /* as Kafka: a producer has at most 5 in flight */
#define PRODUCERS_PER_PARTITION_MAX 8192 /* beyond: the least recently seen is forgotten */

struct producer_batch {
  int32_t first_seq, last_seq;
  int64_t base_offset, last_offset;
};

struct producer_entry {
  int64_t producer_id;
  int16_t epoch;
  uint8_t n, head;       /* ring of the last n batches; head is the newest */
  struct producer_batch b[PRODUCER_BATCHES_KEPT];
  uint64_t touched;      /* for eviction: larger is more recent */
};

struct producer_state {
  struct producer_entry *v; /* sorted by producer_id */
  size_t n, cap;
  uint64_t clock;
};

enum producer_verdict {
  PRODUCER_APPEND = 0,    /* new: append it */
  PRODUCER_DUPLICATE = 1, /* a retry of a kept batch: answer with *dup */
};

/* Check a batch before it is appended. Returns PRODUCER_APPEND,
 * PRODUCER_DUPLICATE (with *dup set to the original), or
 * STRATA_EOUT_OF_ORDER_SEQUENCE / STRATA_EINVALID_PRODUCER_EPOCH. Batches
 * without a producer id are always appended. */
int producer_state_check(const struct producer_state *s, int64_t producer_id, int16_t epoch,
                         int32_t first_seq, int32_t last_seq, struct producer_batch *dup);

/* Note an appended batch (leader or follower, or while rebuilding). */
int producer_state_update(struct producer_state *s, int64_t producer_id, int16_t epoch,
                          int32_t first_seq, int32_t last_seq, int64_t base_offset,
                          int64_t last_offset);

void producer_state_clear(struct producer_state *s);
void producer_state_free(struct producer_state *s);

#endif
