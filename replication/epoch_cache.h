/* The leader-epoch cache of one partition replica (KIP-101/279): at which
 * offset each leader epoch began in this log. A follower asks it where its
 * copy of an epoch ends, to truncate to the last epoch it shares with the
 * leader; a leader asks it where a follower's last epoch ends here, to tell
 * a forked follower where to cut (KIP-320). Epochs strictly increase; their
 * start offsets never decrease (an epoch may end before anything is in it). */
#ifndef STRATA_EPOCH_CACHE_H
#define STRATA_EPOCH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define EPOCH_CACHE_MAX 4096

struct epoch_entry {
  int32_t epoch;
  int64_t start; /* first offset written in this epoch */
};

/* Owns v. A zeroed struct is an empty cache. */
struct epoch_cache {
  struct epoch_entry *v;
  size_t n, cap;
};

void epoch_cache_free(struct epoch_cache *c);
/* Record that `epoch` began at `start` (ignored unless newer than the
 * last). When full, the oldest half is forgotten. 0 or STRATA_ENOMEM. */
int epoch_cache_add(struct epoch_cache *c, int32_t epoch, int64_t start);
/* Forget epochs that start at or after `offset` (the log was cut there). */
void epoch_cache_truncate(struct epoch_cache *c, int64_t offset);
int32_t epoch_cache_last(const struct epoch_cache *c); /* -1 when empty */
/* The end of `epoch` in this log: the start of the next larger epoch, or
 * log_end when `epoch` is the latest. An epoch older than all known ones
 * ends where the first known one starts. */
int64_t epoch_cache_end_offset(const struct epoch_cache *c, int32_t epoch, int64_t log_end);
/* The largest epoch in the cache that is <= epoch; -1 when there is none. */
int32_t epoch_cache_floor(const struct epoch_cache *c, int32_t epoch);
/* Asserts that epochs strictly increase, starts never decrease, and no
 * epoch starts past log_end. */
void epoch_cache_invariants(const struct epoch_cache *c, int64_t log_end);

#endif
