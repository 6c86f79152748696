/* The follower's side of replication: what to do with a leader's fetch
 * answer for one partition, as a plan the caller carries out on its log
 * (reset, truncate, append) and then reports back, so the epoch cache and
 * the high watermark follow what the log really holds. */
#ifndef STRATA_FOLLOWER_H
#define STRATA_FOLLOWER_H

#include <stddef.h>
#include <stdint.h>

#include "replication/replica.h"

/* A leader's answer for one partition. data is the caller's. */
struct follower_answer {
  int error;               /* 0 or a negative STRATA_E* the leader answered */
  int64_t log_start;       /* the leader's log start, -1 unknown */
  int64_t diverging_end;   /* -1, or where our log forked from the leader's */
  int32_t diverging_epoch; /* the newest epoch the leader shares, -1 none */
  int64_t hw;              /* the leader's high watermark */
  const uint8_t *data;     /* record batches from our log end on */
  size_t len;
};

enum follower_step {
  FOLLOWER_NONE,     /* nothing to write (maybe a new high watermark) */
  FOLLOWER_RESET,    /* the leader no longer has what follows our end: start over at offset */
  FOLLOWER_TRUNCATE, /* cut our log at offset (records after it are of a forked epoch) */
  FOLLOWER_APPEND,   /* append data[from, to): whole, CRC-checked batches from our end */
};

struct follower_plan {
  enum follower_step step;
  int64_t offset;        /* RESET, TRUNCATE */
  size_t from, to;       /* APPEND */
  int64_t delete_before; /* >= 0: drop whole segments below this first (the leader's log start) */
};

/* Plan for answer a, given our log. 0, or a negative STRATA_E* when the
 * answer is an error or its bytes are bad (then only delete_before may be
 * carried out). A cut-short last batch is left for the next fetch. */
int follower_plan(const struct replica *r, const struct follower_answer *a,
                  const struct replica_log *log, struct follower_plan *out);
/* The log was reset to start at offset (now empty there). */
void follower_reset_done(struct replica *r, const struct replica_log *log);
/* The log was cut; log->end is where it now ends. */
void follower_truncated(struct replica *r, const struct replica_log *log);
/* data[0,len) (whole batches) was appended; log is after it. 0 or
 * STRATA_ENOMEM (the epoch cache). */
int follower_appended(struct replica *r, const uint8_t *data, size_t len,
                      const struct replica_log *log);
/* The leader's high watermark, as far as our log reaches. */
void follower_update_hw(struct replica *r, int64_t leader_hw, const struct replica_log *log);

#endif
