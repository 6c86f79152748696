/* replication/leader.c: the leader's answer to a follower's fetch, the
 * divergence answer of KIP-320 and follower progress toward the high
 * watermark. */
#include "replication/leader.h"
#include "tests/unit/replication_fixture.h"

/* Broker 1 leads epoch 5 over a log whose epoch 2 began at 0 and epoch 5 at
 * 40; everything up to 60 is durable here. */
static struct replica leader5(struct replica_log *log) {
  struct replica r;
  replica_init(&r);
  epoch_cache_add(&r.epochs, 2, 0);
  *log = at(0, 40, 40);
  assign(&r, 1, 1, 5, all3, 3, *log, 0);
  *log = at(0, 60, 60);
  return r;
}

Test(leader, answers_a_follower_whose_last_epoch_ended_earlier_with_the_divergence_point) {
  struct replica_log log;
  struct replica r = leader5(&log);
  /* Broker 2 wrote epoch 2 up to 45 (its last 5 records never reached us). */
  struct follower_fetch f = {2, 7, 45, 2, 45};
  struct leader_answer a;
  leader_on_fetch(&r, &f, &log, 100, &a);
  cr_expect(a.diverged);
  cr_expect_eq(a.diverging_end, 40, "epoch 2 ends at 40 here");
  cr_expect_eq(a.diverging_epoch, 2);
  replica_free(&r);
}

Test(leader, answers_a_follower_of_an_epoch_it_never_had_with_its_floor_epoch) {
  struct replica_log log;
  struct replica r = leader5(&log);
  /* Broker 3 holds records of epoch 4, whose leader's writes never reached us. */
  struct follower_fetch f = {3, 9, 50, 4, 50};
  struct leader_answer a;
  leader_on_fetch(&r, &f, &log, 100, &a);
  cr_expect(a.diverged);
  cr_expect_eq(a.diverging_epoch, 2, "the newest epoch both can share is 2");
  cr_expect_eq(a.diverging_end, 40, "where our epoch 2 ends");
  replica_free(&r);
}

Test(leader, forked_follower_position_never_moves_the_high_watermark) {
  struct replica_log log;
  struct replica r = leader5(&log);
  struct leader_answer a;
  /* Both followers in sync at 50: the high watermark is 50. */
  struct follower_fetch f2 = {2, 7, 50, 5, 50}, f3 = {3, 9, 50, 5, 50};
  leader_on_fetch(&r, &f2, &log, 100, &a);
  leader_on_fetch(&r, &f3, &log, 100, &a);
  cr_assert_eq(r.hw, 50);
  /* Broker 3 comes back claiming 60 of an epoch we never had: forked. */
  struct follower_fetch forked = {3, 9, 60, 4, 60};
  leader_on_fetch(&r, &forked, &log, 200, &a);
  cr_expect(a.diverged);
  cr_expect_eq(r.hw, 50, "a forked position counts for nothing");
  cr_expect_eq(isr_follower(&r.isr, 3)->fetch_offset, 50, "nor is it recorded");
  /* Broker 2 reaches 60 honestly: now only 3's real 50 holds the HW back. */
  struct follower_fetch f2b = {2, 7, 60, 5, 60};
  leader_on_fetch(&r, &f2b, &log, 300, &a);
  cr_expect_eq(r.hw, 50);
  replica_free(&r);
}

Test(leader, in_sync_followers_move_the_high_watermark_to_their_least_durable_offset) {
  struct replica_log log;
  struct replica r = leader5(&log);
  struct leader_answer a;
  struct follower_fetch f2 = {2, 7, 60, 5, 55}, f3 = {3, 9, 58, 5, 58};
  leader_on_fetch(&r, &f2, &log, 100, &a);
  cr_expect_eq(r.hw, 0, "3 has not fetched yet");
  leader_on_fetch(&r, &f3, &log, 100, &a);
  cr_expect(a.hw_moved);
  cr_expect_eq(a.hw, 55, "2 has fsynced only to 55");
  cr_expect_eq(a.read_limit, 60, "a follower reads up to the log end");
  cr_expect(!a.diverged);
  replica_free(&r);
}

Test(leader, the_high_watermark_never_passes_the_leaders_own_durable_offset) {
  struct replica_log log;
  struct replica r = leader5(&log);
  log.durable = 52; /* our own fsync is behind */
  struct leader_answer a;
  struct follower_fetch f2 = {2, 7, 60, 5, 60}, f3 = {3, 9, 60, 5, 60};
  leader_on_fetch(&r, &f2, &log, 100, &a);
  leader_on_fetch(&r, &f3, &log, 100, &a);
  cr_expect_eq(r.hw, 52);
  replica_free(&r);
}

/* The leader's cache forgot the follower's epoch (it was reset to 500 and
 * knows epoch 3 from there): the follower cuts at 500 once and then
 * catches up, instead of being told to cut at 500 on every fetch (a helper
 * found this livelock with this test). */
Test(leader, a_follower_of_an_epoch_older_than_all_it_knows_cuts_once_and_catches_up) {
  struct replica leader;
  replica_init(&leader);
  epoch_cache_add(&leader.epochs, 3, 500);
  assign(&leader, 1, 1, 4, all3, 3, at(500, 540, 540), 0);
  struct replica_log llog = at(500, 560, 560);
  struct replica_log flog = at(0, 520, 520);
  int32_t last = 2; /* its cache: epoch 1 from 0, epoch 2 from 480 */
  struct leader_answer a;
  struct follower_fetch f = {2, 7, flog.end, last, flog.end};
  leader_on_fetch(&leader, &f, &llog, 100, &a);
  cr_expect(a.diverged, "20 records past where our first known epoch begins");
  cr_expect_eq(a.diverging_end, 500);
  struct follower_fetch again = {2, 7, 500, last, 500};
  leader_on_fetch(&leader, &again, &llog, 200, &a);
  cr_expect(!a.diverged, "cut at 500, it holds nothing we could contradict");
  cr_expect_eq(isr_follower(&leader.isr, 2)->fetch_offset, 500);
  replica_free(&leader);
}
