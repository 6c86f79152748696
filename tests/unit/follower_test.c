/* replication/follower.c: what a follower does with a leader's answer. */
#include "common/errors.h"
#include "replication/follower.h"
#include "tests/unit/replication_fixture.h"

/* Broker 2 follows leader 1 in epoch `epoch`, its log holding epoch 2 from
 * 0 and epoch 3 from 40, ending at `end`. */
static struct replica follower_of(int32_t epoch, int64_t end) {
  struct replica r;
  replica_init(&r);
  epoch_cache_add(&r.epochs, 2, 0);
  epoch_cache_add(&r.epochs, 3, 40);
  assign(&r, 2, 1, epoch, all3, 3, at(0, end, end), 0);
  return r;
}

Test(follower, truncates_divergent_suffix_after_epoch_change) {
  struct replica r = follower_of(4, 50);
  r.hw = 45;
  /* The new leader of epoch 4 has epoch 3 only up to 44. */
  struct follower_answer a = {0, 0, 44, 3, 44, NULL, 0};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.step, FOLLOWER_TRUNCATE);
  cr_expect_eq(p.offset, 44);
  log = at(0, 44, 44); /* the caller cut the log */
  follower_truncated(&r, &log);
  cr_expect_eq(epoch_cache_last(&r.epochs), 3);
  cr_expect_eq(r.hw, 44, "the high watermark follows the cut");
  replica_free(&r);
}

Test(follower, follower_of_an_epoch_the_leader_never_had_truncates_to_its_floor) {
  /* Our last epoch 3 is unknown to the leader; its floor is epoch 2, which
   * ends at 46 there, but at 40 here (our epoch 3 began at 40): cut at 40. */
  struct replica r = follower_of(5, 50);
  struct follower_answer a = {0, 0, 46, 2, 30, NULL, 0};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.step, FOLLOWER_TRUNCATE);
  cr_expect_eq(p.offset, 40, "records after our own end of epoch 2 are of an epoch the leader lacks");
  log = at(0, 40, 40);
  follower_truncated(&r, &log);
  cr_expect_eq(epoch_cache_last(&r.epochs), 2);
  replica_free(&r);
}

Test(follower, never_truncates_below_its_log_start) {
  struct replica r = follower_of(5, 50);
  struct follower_answer a = {0, 0, 10, 2, 10, NULL, 0};
  struct follower_plan p;
  struct replica_log log = at(20, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.offset, 20);
  replica_free(&r);
}

Test(follower, starts_over_at_the_leaders_log_start_when_its_end_is_below_it) {
  struct replica r = follower_of(5, 50);
  r.hw = 50;
  struct follower_answer a = {STRATA_EOFFSET_OUT_OF_RANGE, 500, -1, -1, 600, NULL, 0};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.step, FOLLOWER_RESET);
  cr_expect_eq(p.offset, 500);
  log = at(500, 500, 500);
  follower_reset_done(&r, &log);
  cr_expect_eq(r.epochs.n, 0, "the epoch cache is about a log that is gone");
  replica_free(&r);
}

Test(follower, passes_on_the_leaders_error) {
  struct replica r = follower_of(5, 50);
  struct follower_answer a = {STRATA_ENOT_LEADER, -1, -1, -1, -1, NULL, 0};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_expect_eq(follower_plan(&r, &a, &log, &p), STRATA_ENOT_LEADER);
  replica_free(&r);
}

Test(follower, appends_whole_batches_from_its_end_skipping_what_it_holds) {
  struct replica r = follower_of(5, 50);
  size_t len;
  uint8_t *data = batches(48, 5, 5, &len); /* 48..52; we hold up to 49 */
  struct follower_answer a = {0, 0, -1, -1, 51, data, len};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.step, FOLLOWER_APPEND);
  cr_expect_eq(p.from, 2 * len / 5, "the two batches held already are skipped");
  cr_expect_eq(p.to, len);
  log = at(0, 53, 50);
  cr_expect_eq(follower_appended(&r, data + p.from, p.to - p.from, &log), 0);
  cr_expect_eq(epoch_cache_last(&r.epochs), 5);
  cr_expect_eq(r.epochs.v[r.epochs.n - 1].start, 50, "epoch 5 begins at the first appended batch");
  follower_update_hw(&r, 51, &log);
  cr_expect_eq(r.hw, 51);
  follower_update_hw(&r, 90, &log);
  cr_expect_eq(r.hw, 53, "never past our own end");
  free(data);
  replica_free(&r);
}

Test(follower, leaves_a_cut_short_last_batch_for_the_next_fetch) {
  struct replica r = follower_of(5, 50);
  size_t len;
  uint8_t *data = batches(50, 2, 5, &len);
  struct follower_answer a = {0, 0, -1, -1, 50, data, len - 3};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.step, FOLLOWER_APPEND);
  cr_expect_eq(p.to, len / 2, "only the whole first batch");
  free(data);
  replica_free(&r);
}

Test(follower, refuses_a_batch_that_does_not_start_at_its_end) {
  struct replica r = follower_of(5, 50);
  size_t len;
  uint8_t *data = batches(52, 1, 5, &len); /* a gap: 50 and 51 missing */
  struct follower_answer a = {0, 0, -1, -1, 50, data, len};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_expect_eq(follower_plan(&r, &a, &log, &p), STRATA_EINVALID_RECORD);
  free(data);
  replica_free(&r);
}

Test(follower, refuses_a_batch_with_a_bad_crc) {
  struct replica r = follower_of(5, 50);
  size_t len;
  uint8_t *data = batches(50, 1, 5, &len);
  data[len - 1] ^= 0x40; /* inside the CRC-covered records */
  struct follower_answer a = {0, 0, -1, -1, 50, data, len};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_expect_eq(follower_plan(&r, &a, &log, &p), STRATA_ECORRUPT);
  free(data);
  replica_free(&r);
}

Test(follower, drops_whole_segments_below_the_leaders_new_log_start) {
  struct replica r = follower_of(5, 50);
  struct follower_answer a = {0, 30, -1, -1, 50, NULL, 0};
  struct follower_plan p;
  struct replica_log log = at(0, 50, 50);
  cr_assert_eq(follower_plan(&r, &a, &log, &p), 0);
  cr_expect_eq(p.step, FOLLOWER_NONE);
  cr_expect_eq(p.delete_before, 30);
  replica_free(&r);
}
