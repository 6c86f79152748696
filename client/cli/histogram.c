#include "client/cli/histogram.h"

#include <string.h>

void histogram_init(struct histogram *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

/* Values below 2^SUB_BITS map 1:1; above, each power of two is split into
 * 2^(SUB_BITS-1) linear steps, which bounds the relative error by 2^-9. */
static unsigned bucket_of(uint64_t v) {
  if (v < (1u << HISTOGRAM_SUB_BITS))
    return (unsigned)v;
  unsigned msb = 63u - (unsigned)__builtin_clzll(v);
  unsigned shift = msb - (HISTOGRAM_SUB_BITS - 1);
  unsigned mag = shift; /* 1.. */
  unsigned sub = (unsigned)(v >> shift) - (1u << (HISTOGRAM_SUB_BITS - 1));
  unsigned b = (1u << HISTOGRAM_SUB_BITS) + (mag - 1) * (1u << (HISTOGRAM_SUB_BITS - 1)) + sub;
  return b < HISTOGRAM_BUCKETS ? b : HISTOGRAM_BUCKETS - 1;
}

static uint64_t bucket_upper(unsigned b) {
  if (b < (1u << HISTOGRAM_SUB_BITS))
    return b;
  unsigned rel = b - (1u << HISTOGRAM_SUB_BITS);
  unsigned mag = rel / (1u << (HISTOGRAM_SUB_BITS - 1)) + 1;
  unsigned sub = rel % (1u << (HISTOGRAM_SUB_BITS - 1));
  uint64_t base = (uint64_t)((1u << (HISTOGRAM_SUB_BITS - 1)) + sub) << mag;
  return base + (1ull << mag) - 1;
}

void histogram_record(struct histogram *h, uint64_t v) {
  h->counts[bucket_of(v)]++;
  h->total++;
  if (v < h->min)
    h->min = v;
  if (v > h->max)
    h->max = v;
}

uint64_t histogram_quantile(const struct histogram *h, double q) {
  if (h->total == 0)
    return 0;
  if (q <= 0)
    return h->min;
  uint64_t rank = (uint64_t)(q * (double)h->total + 0.5);
  if (rank < 1)
    rank = 1;
  if (rank >= h->total)
    return h->max;
  uint64_t seen = 0;
  for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
    seen += h->counts[b];
    if (seen >= rank) {
      uint64_t up = bucket_upper(b);
      return up > h->max ? h->max : up;
    }
  }
  return h->max;
}
