#include "replication/epoch_cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/errors.h"

void epoch_cache_free(struct epoch_cache *c) {
  free(c->v);
  memset(c, 0, sizeof *c);
}

int epoch_cache_add(struct epoch_cache *c, int32_t epoch, int64_t start) {
  if (epoch < 0 || (c->n && c->v[c->n - 1].epoch >= epoch)) return 0;
  STRATA_ASSERT(start >= 0);
  if (c->n == c->cap) {
    if (c->cap >= EPOCH_CACHE_MAX) { /* keep the newest: drop the oldest half */
      memmove(c->v, c->v + c->n / 2, (c->n - c->n / 2) * sizeof *c->v);
      c->n -= c->n / 2;
    } else {
      size_t cap = c->cap ? c->cap * 2 : 8;
      struct epoch_entry *v = realloc(c->v, cap * sizeof *v);
      if (!v) return STRATA_ENOMEM;
      c->v = v;
      c->cap = cap;
    }
  }
  c->v[c->n++] = (struct epoch_entry){epoch, start};
  return 0;
}

void epoch_cache_truncate(struct epoch_cache *c, int64_t offset) {
  while (c->n && c->v[c->n - 1].start >= offset) c->n--;
}

int32_t epoch_cache_last(const struct epoch_cache *c) {
  return c->n ? c->v[c->n - 1].epoch : -1;
}

int64_t epoch_cache_end_offset(const struct epoch_cache *c, int32_t epoch, int64_t log_end) {
  if (c->n == 0) return log_end;
  if (epoch < c->v[0].epoch) return c->v[0].start;
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].epoch > epoch) return c->v[i].start;
  return log_end;
}

int32_t epoch_cache_floor(const struct epoch_cache *c, int32_t epoch) {
  int32_t best = -1;
  for (size_t i = 0; i < c->n && c->v[i].epoch <= epoch; i++) best = c->v[i].epoch;
  return best;
}

void epoch_cache_invariants(const struct epoch_cache *c, int64_t log_end) {
  STRATA_ASSERT(c->n <= c->cap && c->cap <= EPOCH_CACHE_MAX);
  for (size_t i = 1; i < c->n; i++) {
    STRATA_ASSERT(c->v[i].epoch > c->v[i - 1].epoch);
    STRATA_ASSERT(c->v[i].start >= c->v[i - 1].start);
  }
  /* A leader's new epoch starts at its log end, before anything is in it. */
  if (c->n) STRATA_ASSERT(c->v[c->n - 1].start <= log_end);
}
