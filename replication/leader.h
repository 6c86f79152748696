/* The leader's side of a follower's fetch: first whether the follower's
 * log forked from ours (KIP-320: its last fetched epoch ends earlier here
 * than where it wants to read, or is an epoch we never had), then its
 * progress, which may move the high watermark. */
#ifndef STRATA_LEADER_H
#define STRATA_LEADER_H

#include <stdint.h>

#include "replication/replica.h"

/* What a follower's fetch says of it, for one partition. */
struct follower_fetch {
  int32_t replica_id;
  int64_t broker_epoch;       /* the registration it fetches under */
  int64_t fetch_offset;       /* its log end */
  int32_t last_fetched_epoch; /* the epoch of its last batch, -1: none */
  int64_t durable;            /* its fsynced end */
};

struct leader_answer {
  int diverged;               /* 1: send only the divergence point, no data */
  int64_t diverging_end;      /* where the follower must cut (diverged) */
  int32_t diverging_epoch;    /* the newest epoch both may share, -1: none */
  int64_t hw;                 /* the high watermark to tell it */
  int64_t read_limit;         /* read records below this (the log end) */
  int hw_moved;               /* the fetch moved the high watermark */
  int isr_recheck;            /* the ISR may change sooner than it could before */
};

/* The answer to f from leader r. A forked follower's position says nothing
 * about what it holds of our log, so it neither counts toward the high
 * watermark nor toward the ISR until it has cut its log. */
void leader_on_fetch(struct replica *r, const struct follower_fetch *f,
                     const struct replica_log *log, int64_t now_ms, struct leader_answer *out);

#endif
