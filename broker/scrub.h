/* The background scrubber's pacing (issue 15): when a pass over every
 * partition log starts (one per log.scrub.interval.ms) and how many bytes
 * it may read now (log.scrub.bytes.per.second, in chunks of at most
 * SCRUB_CHUNK_MAX per tick so the event loop is never held for long). Pure:
 * time comes in, a byte budget goes out; the broker's walk over its logs
 * (broker/integrity.c) reads and checks the bytes (seglog_scrub). */
#ifndef STRATA_SCRUB_H
#define STRATA_SCRUB_H

#include <stdint.h>

/* Bytes one tick may read: at 20 MB/s and a 50 ms tick, one tick's share. */
#define SCRUB_CHUNK_MAX (1u << 20)

struct scrub_config {
  uint64_t bytes_per_sec; /* 0 disables */
  int64_t interval_ms;    /* a full pass starts this long after the last one started; 0 disables */
};

struct scrub {
  struct scrub_config cfg;
  int active;           /* a pass is under way */
  int64_t pass_start_ms;
  int64_t next_pass_ms; /* when the next pass starts */
  int64_t last_ms;      /* the last budget's time */
  int64_t tokens;       /* bytes that may be read (negative: a batch larger than the budget) */
  uint64_t passes;      /* passes completed */
  uint64_t pass_bytes;  /* read in the pass under way */
};

/* The first pass starts one tick after start (now_ms): recovery at start
 * checks only the last segments, the scrubber the rest, paced. */
void scrub_init(struct scrub *s, const struct scrub_config *cfg, int64_t now_ms);
/* Bytes the scrubber may read now (0: idle, disabled, or waiting for its
 * rate). Starts a pass when one is due (*started set to 1 then: the walk
 * restarts from the first log). Never more than SCRUB_CHUNK_MAX. */
uint64_t scrub_budget(struct scrub *s, int64_t now_ms, int *started);
/* `bytes` were read (may exceed the budget by one batch). */
void scrub_spent(struct scrub *s, uint64_t bytes);
/* The walk reached the end of the last log: the pass is over; the next
 * starts interval_ms after this one started (at once when that is past). */
void scrub_pass_done(struct scrub *s, int64_t now_ms);

#endif
