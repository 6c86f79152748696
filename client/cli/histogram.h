/* Latency histogram for `strata bench`: log-linear buckets (HdrHistogram
 * style, 3 significant digits over 1 us .. ~1 hour) so that recording is O(1)
 * with no allocation per sample and percentiles are exact to 0.1%. */
#ifndef STRATA_CLI_HISTOGRAM_H
#define STRATA_CLI_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 10 /* 1024 sub-buckets per power of two */
#define HISTOGRAM_MAGNITUDES 33
#define HISTOGRAM_BUCKETS (HISTOGRAM_MAGNITUDES << HISTOGRAM_SUB_BITS)

struct histogram {
  uint64_t counts[HISTOGRAM_BUCKETS];
  uint64_t total;
  uint64_t min, max;
};

void histogram_init(struct histogram *h);
void histogram_record(struct histogram *h, uint64_t value);
/* Value at quantile q in [0, 1] (upper edge of its bucket), 0 when empty. */
uint64_t histogram_quantile(const struct histogram *h, double q);

#endif
