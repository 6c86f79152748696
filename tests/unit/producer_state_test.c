/* Idempotent-producer state of a partition, without a broker: the next
 * sequence is appended, a resend of any of the last five batches is answered
 * with its first offsets, gaps and stale epochs are refused, and the state
 * survives eviction pressure by forgetting the least recently seen. */
#include <criterion/criterion.h>

#include "broker/producer_state.h"
#include "common/errors.h"

static struct producer_state s;

static void fini(void) { producer_state_free(&s); }

TestSuite(producer_state, .fini = fini);

/* Append batches of 10 records for producer 7: sequences 0..9 at offset
 * base, 10..19 at base+10, ... */
static void append(int n, int64_t base) {
  for (int i = 0; i < n; i++) {
    struct producer_batch d;
    cr_assert_eq(producer_state_check(&s, 7, 0, i * 10, i * 10 + 9, &d), PRODUCER_APPEND);
    cr_assert_eq(producer_state_update(&s, 7, 0, i * 10, i * 10 + 9, base + i * 10, base + i * 10 + 9), 0);
  }
}

Test(producer_state, next_sequence_is_appended_and_a_resend_gets_its_offsets) {
  append(3, 100);
  struct producer_batch d;
  cr_assert_eq(producer_state_check(&s, 7, 0, 10, 19, &d), PRODUCER_DUPLICATE);
  cr_assert_eq(d.base_offset, 110);
  cr_assert_eq(d.last_offset, 119);
  cr_assert_eq(producer_state_check(&s, 7, 0, 30, 39, &d), PRODUCER_APPEND);
}

Test(producer_state, gaps_and_unkept_old_batches_are_out_of_order) {
  append(8, 0);
  struct producer_batch d;
  cr_assert_eq(producer_state_check(&s, 7, 0, 90, 99, &d), STRATA_EOUT_OF_ORDER_SEQUENCE, "a gap");
  cr_assert_eq(producer_state_check(&s, 7, 0, 30, 39, &d), PRODUCER_DUPLICATE, "5th newest is kept");
  cr_assert_eq(producer_state_check(&s, 7, 0, 20, 29, &d), STRATA_EOUT_OF_ORDER_SEQUENCE,
               "6th newest is forgotten: never appended twice");
  cr_assert_eq(producer_state_check(&s, 7, 0, 75, 84, &d), STRATA_EOUT_OF_ORDER_SEQUENCE,
               "overlapping a kept batch");
  cr_assert_eq(producer_state_check(&s, 7, 0, -1, 5, &d), STRATA_EOUT_OF_ORDER_SEQUENCE);
}

Test(producer_state, epochs_fence_old_and_restart_new) {
  append(2, 0);
  cr_assert_eq(producer_state_update(&s, 7, 2, 0, 4, 20, 24), 0);
  struct producer_batch d;
  cr_assert_eq(producer_state_check(&s, 7, 1, 20, 29, &d), STRATA_EINVALID_PRODUCER_EPOCH);
  cr_assert_eq(producer_state_check(&s, 7, 3, 5, 9, &d), STRATA_EOUT_OF_ORDER_SEQUENCE,
               "a new epoch starts at sequence 0");
  cr_assert_eq(producer_state_check(&s, 7, 3, 0, 9, &d), PRODUCER_APPEND);
  cr_assert_eq(producer_state_check(&s, 7, 2, 5, 9, &d), PRODUCER_APPEND);
}

Test(producer_state, unknown_producers_and_plain_batches_are_appended) {
  struct producer_batch d;
  cr_assert_eq(producer_state_check(&s, -1, -1, -1, -1, &d), PRODUCER_APPEND);
  cr_assert_eq(producer_state_check(&s, 12345, 0, 500, 509, &d), PRODUCER_APPEND,
               "its earlier batches may have gone with retention");
  cr_assert_eq(producer_state_update(&s, -1, -1, -1, -1, 0, 0), 0);
  cr_assert_eq(s.n, 0u);
}

Test(producer_state, sequences_wrap_at_int32_max) {
  cr_assert_eq(producer_state_update(&s, 9, 0, INT32_MAX - 9, INT32_MAX, 0, 9), 0);
  struct producer_batch d;
  cr_assert_eq(producer_state_check(&s, 9, 0, 0, 9, &d), PRODUCER_APPEND);
}

Test(producer_state, many_producers_stay_sorted_and_the_oldest_is_forgotten) {
  for (int64_t id = PRODUCERS_PER_PARTITION_MAX; id >= 0; id--) /* one more than the cap */
    cr_assert_eq(producer_state_update(&s, id * 3, 0, 0, 0, id, id), 0);
  cr_assert_eq(s.n, (size_t)PRODUCERS_PER_PARTITION_MAX);
  for (size_t i = 1; i < s.n; i++) cr_assert_lt(s.v[i - 1].producer_id, s.v[i].producer_id);
  struct producer_batch d;
  cr_assert_eq(producer_state_check(&s, 0, 0, 0, 0, &d), PRODUCER_DUPLICATE, "newest kept");
  cr_assert_eq(producer_state_check(&s, (int64_t)PRODUCERS_PER_PARTITION_MAX * 3, 0, 0, 0, &d),
               PRODUCER_APPEND, "the first seen was forgotten");
}
