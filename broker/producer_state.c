#include "producer_state.h"

#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

/* Index of producer_id, or of where it would go. */
static size_t find(const struct producer_state *s, int64_t producer_id, int *found) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->v[mid].producer_id < producer_id) lo = mid + 1;
    else hi = mid;
  }
  *found = lo < s->n && s->v[lo].producer_id == producer_id;
  return lo;
}

/* Sequences wrap from INT32_MAX to 0, as in Kafka. */
static int32_t next_seq(int32_t seq) { return seq == INT32_MAX ? 0 : seq + 1; }

int producer_state_check(const struct producer_state *s, int64_t producer_id, int16_t epoch,
                         int32_t first_seq, int32_t last_seq, struct producer_batch *dup) {
  if (producer_id < 0) return PRODUCER_APPEND;
  if (first_seq < 0 || last_seq < 0) return STRATA_EOUT_OF_ORDER_SEQUENCE;
  int found;
  size_t i = find(s, producer_id, &found);
  /* Unknown here (new, or its batches left with retention): take it. */
  if (!found) return PRODUCER_APPEND;
  const struct producer_entry *e = &s->v[i];
  if (epoch < e->epoch) return STRATA_EINVALID_PRODUCER_EPOCH;
  if (epoch > e->epoch) return first_seq == 0 ? PRODUCER_APPEND : STRATA_EOUT_OF_ORDER_SEQUENCE;
  for (uint8_t k = 0; k < e->n; k++) {
    const struct producer_batch *b = &e->b[k];
    if (b->first_seq == first_seq && b->last_seq == last_seq) {
      *dup = *b;
      return PRODUCER_DUPLICATE;
    }
  }
  if (e->n && first_seq == next_seq(e->b[e->head].last_seq)) return PRODUCER_APPEND;
  return STRATA_EOUT_OF_ORDER_SEQUENCE;
}

/* Forget the least recently seen producer to make room. */
static void evict_one(struct producer_state *s) {
  size_t old = 0;
  for (size_t i = 1; i < s->n; i++)
    if (s->v[i].touched < s->v[old].touched) old = i;
  memmove(&s->v[old], &s->v[old + 1], (s->n - old - 1) * sizeof *s->v);
  s->n--;
}

int producer_state_update(struct producer_state *s, int64_t producer_id, int16_t epoch,
                          int32_t first_seq, int32_t last_seq, int64_t base_offset,
                          int64_t last_offset) {
  if (producer_id < 0) return 0;
  int found;
  size_t i = find(s, producer_id, &found);
  if (!found) {
    if (s->n >= PRODUCERS_PER_PARTITION_MAX) {
      evict_one(s);
      i = find(s, producer_id, &found);
    }
    if (s->n == s->cap) {
      size_t cap = s->cap ? s->cap * 2 : 8;
      struct producer_entry *v = realloc(s->v, cap * sizeof *v);
      if (!v) return STRATA_ENOMEM;
      s->v = v;
      s->cap = cap;
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->n++;
    memset(&s->v[i], 0, sizeof s->v[i]);
    s->v[i].producer_id = producer_id;
    s->v[i].epoch = epoch;
  }
  struct producer_entry *e = &s->v[i];
  if (epoch != e->epoch) { /* a new epoch starts its sequences over */
    e->epoch = epoch;
    e->n = 0;
  }
  e->head = e->n ? (uint8_t)((e->head + 1) % PRODUCER_BATCHES_KEPT) : 0;
  if (e->n < PRODUCER_BATCHES_KEPT) e->n++;
  e->b[e->head] = (struct producer_batch){first_seq, last_seq, base_offset, last_offset};
  e->touched = ++s->clock;
  return 0;
}

void producer_state_clear(struct producer_state *s) { s->n = 0; }

void producer_state_free(struct producer_state *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}
