/* Shared by the replication/ unit tests: a partition replica of brokers
 * {1,2,3} in a given role, log positions, and record batches of a chosen
 * leader epoch at a chosen offset. */
#ifndef STRATA_REPLICATION_FIXTURE_H
#define STRATA_REPLICATION_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "replication/replica.h"

static const int32_t all3[3] = {1, 2, 3};

static inline struct replica_log at(int64_t start, int64_t end, int64_t durable) {
  return (struct replica_log){start, end, durable};
}

/* Broker self adopts leader `leader` in epoch `epoch`, ISR isr[0..n). */
static inline int assign(struct replica *r, int32_t self, int32_t leader, int32_t epoch,
                         const int32_t *isr, uint32_t n, struct replica_log log, int64_t now) {
  struct replica_assignment a = {leader, epoch, epoch, all3, 3, isr, n};
  int64_t cut;
  int flags = replica_assign(r, self, &a, &log, now, &cut);
  cr_assert_eq(cut, (flags & REPLICA_TRUNCATE) ? cut : -1);
  return flags;
}

/* `count` one-record batches from offset `base`, each of leader epoch
 * `epoch`, concatenated (the caller frees). */
static inline uint8_t *batches(int64_t base, int count, int32_t epoch, size_t *len) {
  uint8_t *out = NULL;
  *len = 0;
  for (int i = 0; i < count; i++) {
    struct batch_builder b;
    batch_builder_init(&b);
    cr_assert_eq(batch_builder_add(&b, 1000 + i, NULL, 0, "v", 1, NULL, 0), 0);
    const uint8_t *one;
    size_t n;
    cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &one, &n), 0);
    out = realloc(out, *len + n);
    cr_assert(out);
    memcpy(out + *len, one, n);
    batch_set_base_offset(out + *len, base + i);
    batch_set_leader_epoch(out + *len, epoch);
    *len += n;
    batch_builder_free(&b);
  }
  return out;
}

#endif
