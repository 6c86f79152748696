/* replication/epoch_cache.c: the leader-epoch cache of KIP-101/279, where
 * each leader epoch began in this log and so where a given epoch ends. */
#include <criterion/criterion.h>
#include <signal.h>

#include "replication/epoch_cache.h"

/* Epoch 1 from 0, epoch 3 from 40, epoch 6 from 70. */
static struct epoch_cache three_epochs(void) {
  struct epoch_cache c = {0};
  cr_assert_eq(epoch_cache_add(&c, 1, 0), 0);
  cr_assert_eq(epoch_cache_add(&c, 3, 40), 0);
  cr_assert_eq(epoch_cache_add(&c, 6, 70), 0);
  return c;
}

Test(epoch_cache, an_empty_cache_knows_no_epoch_and_ends_everything_at_the_log_end) {
  struct epoch_cache c = {0};
  cr_expect_eq(epoch_cache_last(&c), -1);
  cr_expect_eq(epoch_cache_floor(&c, 7), -1);
  cr_expect_eq(epoch_cache_end_offset(&c, 7, 33), 33);
  epoch_cache_invariants(&c, 0);
  epoch_cache_free(&c);
}

Test(epoch_cache, ignores_an_epoch_that_is_not_newer_than_the_last) {
  struct epoch_cache c = {0};
  epoch_cache_add(&c, 3, 10);
  cr_expect_eq(epoch_cache_add(&c, 3, 20), 0, "the same epoch again: its start stays");
  cr_expect_eq(epoch_cache_add(&c, 2, 30), 0, "an older epoch after a newer one");
  cr_expect_eq(epoch_cache_add(&c, -1, 40), 0, "no epoch at all");
  cr_expect_eq(c.n, 1);
  cr_expect_eq(epoch_cache_last(&c), 3);
  cr_expect_eq(c.v[0].start, 10);
  epoch_cache_free(&c);
}

Test(epoch_cache, an_epoch_ends_where_the_next_larger_one_begins) {
  struct epoch_cache c = three_epochs();
  cr_expect_eq(epoch_cache_end_offset(&c, 1, 90), 40);
  cr_expect_eq(epoch_cache_end_offset(&c, 3, 90), 70);
  cr_expect_eq(epoch_cache_end_offset(&c, 6, 90), 90, "the latest epoch runs to the log end");
  cr_expect_eq(epoch_cache_end_offset(&c, 9, 90), 90, "so does one newer than all");
  /* Epochs this log never had end where the next one it had begins. */
  cr_expect_eq(epoch_cache_end_offset(&c, 2, 90), 40);
  cr_expect_eq(epoch_cache_end_offset(&c, 4, 90), 70);
  epoch_cache_invariants(&c, 90);
  epoch_cache_free(&c);
}

Test(epoch_cache, an_epoch_older_than_all_known_ends_where_the_first_begins) {
  struct epoch_cache c = {0};
  epoch_cache_add(&c, 4, 25); /* the log was reset to 25, or epochs forgotten */
  epoch_cache_add(&c, 5, 60);
  cr_expect_eq(epoch_cache_end_offset(&c, 2, 80), 25);
  cr_expect_eq(epoch_cache_floor(&c, 2), -1, "no epoch both can share");
  epoch_cache_free(&c);
}

Test(epoch_cache, the_floor_is_the_largest_known_epoch_at_or_below) {
  struct epoch_cache c = three_epochs();
  cr_expect_eq(epoch_cache_floor(&c, 0), -1);
  cr_expect_eq(epoch_cache_floor(&c, 1), 1);
  cr_expect_eq(epoch_cache_floor(&c, 5), 3);
  cr_expect_eq(epoch_cache_floor(&c, 6), 6);
  cr_expect_eq(epoch_cache_floor(&c, 100), 6);
  epoch_cache_free(&c);
}

Test(epoch_cache, an_epoch_that_ended_before_anything_was_in_it_ends_where_it_began) {
  /* Epoch 2's leader wrote nothing before epoch 3 took over at 40. */
  struct epoch_cache c = {0};
  epoch_cache_add(&c, 1, 0);
  epoch_cache_add(&c, 2, 40);
  epoch_cache_add(&c, 3, 40);
  epoch_cache_invariants(&c, 40);
  cr_expect_eq(epoch_cache_end_offset(&c, 2, 55), 40);
  cr_expect_eq(epoch_cache_end_offset(&c, 1, 55), 40);
  /* A cut at 40 forgets both epochs that began there. */
  epoch_cache_truncate(&c, 40);
  cr_expect_eq(epoch_cache_last(&c), 1);
  epoch_cache_free(&c);
}

Test(epoch_cache, truncation_forgets_the_epochs_starting_at_or_after_the_cut) {
  struct epoch_cache c = three_epochs();
  epoch_cache_truncate(&c, 71);
  cr_expect_eq(epoch_cache_last(&c), 6, "epoch 6 still has offset 70");
  epoch_cache_truncate(&c, 70);
  cr_expect_eq(epoch_cache_last(&c), 3);
  cr_expect_eq(epoch_cache_end_offset(&c, 3, 70), 70, "epoch 3 now runs to the cut log's end");
  epoch_cache_truncate(&c, 41);
  cr_expect_eq(epoch_cache_last(&c), 3);
  epoch_cache_truncate(&c, 40);
  cr_expect_eq(epoch_cache_last(&c), 1);
  epoch_cache_truncate(&c, 0);
  cr_expect_eq(c.n, 0);
  /* Epochs are recorded again after a cut, even ones seen before. */
  cr_expect_eq(epoch_cache_add(&c, 3, 0), 0);
  cr_expect_eq(epoch_cache_last(&c), 3);
  epoch_cache_free(&c);
}

Test(epoch_cache, a_full_cache_forgets_its_oldest_half) {
  struct epoch_cache c = {0};
  for (int32_t e = 0; e <= EPOCH_CACHE_MAX; e++) cr_assert_eq(epoch_cache_add(&c, e, 10 * e), 0);
  cr_expect_leq(c.cap, EPOCH_CACHE_MAX, "bounded by EPOCH_CACHE_MAX");
  cr_expect_eq(c.n, EPOCH_CACHE_MAX / 2 + 1);
  cr_expect_eq(c.v[0].epoch, EPOCH_CACHE_MAX / 2, "the oldest half is gone");
  cr_expect_eq(c.v[0].start, 10 * (EPOCH_CACHE_MAX / 2));
  cr_expect_eq(epoch_cache_last(&c), EPOCH_CACHE_MAX, "the newest is kept");
  cr_expect_eq(epoch_cache_end_offset(&c, 3, 10 * EPOCH_CACHE_MAX + 5),
               10 * (EPOCH_CACHE_MAX / 2), "a forgotten epoch ends where the oldest known begins");
  cr_expect_eq(epoch_cache_end_offset(&c, EPOCH_CACHE_MAX - 1, 10 * EPOCH_CACHE_MAX + 5),
               10 * EPOCH_CACHE_MAX);
  epoch_cache_invariants(&c, 10 * EPOCH_CACHE_MAX);
  epoch_cache_free(&c);
}

Test(epoch_cache, free_leaves_an_empty_cache) {
  struct epoch_cache c = three_epochs();
  epoch_cache_free(&c);
  cr_expect_eq(c.n, 0);
  cr_expect_null(c.v);
  cr_expect_eq(epoch_cache_last(&c), -1);
}

Test(epoch_cache, invariants_catch_an_epoch_starting_past_the_log_end, .signal = SIGABRT) {
  struct epoch_cache c = three_epochs();
  epoch_cache_invariants(&c, 69); /* epoch 6 begins at 70: the log was cut under it */
}

Test(epoch_cache, invariants_catch_a_start_that_goes_back, .signal = SIGABRT) {
  struct epoch_entry v[2] = {{3, 40}, {6, 30}};
  struct epoch_cache c = {v, 2, 2};
  epoch_cache_invariants(&c, 90);
}
