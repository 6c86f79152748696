/* replication/replica.c: adopting the controller's state, the high
 * watermark, ISR changes and their answers. */
#include "replication/replica.h"
#include "tests/unit/replication_fixture.h"

Test(replica, becoming_leader_starts_its_epoch_at_the_log_end) {
  struct replica r;
  replica_init(&r);
  epoch_cache_add(&r.epochs, 1, 0);
  int flags = assign(&r, 1, 1, 3, all3, 3, at(0, 70, 70), 0);
  cr_expect_eq(r.role, ROLE_LEADER);
  cr_expect(flags & REPLICA_NEW_LEADER);
  cr_expect_eq(epoch_cache_last(&r.epochs), 3);
  cr_expect_eq(r.epochs.v[r.epochs.n - 1].start, 70);
  replica_free(&r);
}

Test(replica, losing_leadership_tells_the_waiting_answers) {
  struct replica r;
  replica_init(&r);
  assign(&r, 1, 1, 3, all3, 3, at(0, 10, 10), 0);
  int flags = assign(&r, 1, 2, 4, all3, 3, at(0, 10, 10), 50);
  cr_expect(flags & REPLICA_LOST_LEAD);
  cr_expect_eq(r.role, ROLE_FOLLOWER);
  int32_t gone[2] = {2, 3};
  flags = assign(&r, 1, 2, 5, gone, 2, at(0, 10, 10), 60);
  cr_expect(!(flags & REPLICA_LOST_LEAD), "a follower had nothing waiting");
  replica_free(&r);
}

Test(replica, a_leader_over_records_of_a_newer_epoch_cuts_them_first) {
  struct replica r;
  replica_init(&r);
  epoch_cache_add(&r.epochs, 1, 0);
  epoch_cache_add(&r.epochs, 1392508928, 8); /* a garbled partitionLeaderEpoch */
  struct replica_assignment a = {1, 3, 3, all3, 3, all3, 3};
  struct replica_log log = at(0, 9, 9);
  int64_t cut;
  int flags = replica_assign(&r, 1, &a, &log, 0, &cut);
  cr_expect(flags & REPLICA_TRUNCATE);
  cr_expect_eq(cut, 8);
  cr_expect_eq(epoch_cache_last(&r.epochs), 3);
  cr_expect_eq(r.epochs.v[r.epochs.n - 1].start, 8, "epoch 3 starts where the cut leaves the end");
  replica_free(&r);
}

Test(replica, the_high_watermark_never_passes_the_log_end) {
  struct replica r;
  replica_init(&r);
  int32_t alone[1] = {1};
  assign(&r, 1, 1, 0, alone, 1, at(0, 0, 0), 0);
  struct replica_log log = at(0, 30, 30);
  cr_expect(replica_update_hw(&r, &log));
  cr_expect_eq(r.hw, 30);
  log.durable = 20; /* fsync behind: nothing moves back */
  cr_expect(!replica_update_hw(&r, &log));
  cr_expect_eq(r.hw, 30);
  replica_free(&r);
}

Test(replica, isr_shrinks_after_lag_and_expands_only_when_durable) {
  struct replica r;
  replica_init(&r);
  assign(&r, 1, 1, 0, all3, 3, at(0, 100, 100), 0); /* not new: no grace (below) */
  struct replica_log log = at(0, 100, 100);
  isr_on_fetch(&r.isr, 2, 100, 100, 100, 500);
  isr_on_fetch(&r.isr, 3, 100, 100, 100, 500);
  replica_update_hw(&r, &log);
  int32_t isr[REPLICAS_MAX];
  uint32_t n;
  cr_expect(!replica_isr_proposal(&r, 10000, 10000, isr, &n), "all caught up");
  /* 3 stops fetching; past replica.lag.time.max.ms it is proposed out. */
  isr_on_fetch(&r.isr, 2, 100, 100, 100, 11000);
  cr_expect(!replica_isr_proposal(&r, 10400, 10000, isr, &n), "within the lag window");
  cr_assert(replica_isr_proposal(&r, 10600, 10000, isr, &n));
  cr_expect_eq(n, 2);
  cr_expect(!isr_contains(isr, n, 3));
  replica_isr_sent(&r, isr, n);
  cr_expect(!replica_isr_proposal(&r, 10700, 10000, isr, &n), "one change at a time");
  int32_t two[2] = {1, 2};
  struct replica_assignment shrunk = {1, 0, 1, all3, 3, two, 2};
  replica_isr_answer(&r, &shrunk, 0, &log);
  cr_expect_eq(r.isr.nisr, 2);
  /* 3 returns: caught up by position but not yet durable: not proposed. */
  isr_on_fetch(&r.isr, 3, 100, 80, 100, 12000);
  cr_expect(!replica_isr_proposal(&r, 12000, 10000, isr, &n), "not durable up to the HW");
  isr_on_fetch(&r.isr, 3, 100, 100, 100, 12100);
  cr_assert(replica_isr_proposal(&r, 12100, 10000, isr, &n));
  cr_expect_eq(n, 3);
  replica_free(&r);
}

Test(replica, an_isr_answer_of_another_leader_epoch_changes_nothing) {
  struct replica r;
  replica_init(&r);
  assign(&r, 1, 1, 2, all3, 3, at(0, 10, 10), 0);
  int32_t two[2] = {1, 2};
  replica_isr_sent(&r, two, 2);
  struct replica_assignment old = {1, 1, 9, all3, 3, two, 2};
  struct replica_log log = at(0, 10, 10);
  replica_isr_answer(&r, &old, 0, &log);
  cr_expect_eq(r.isr.nisr, 3);
  cr_expect_eq(r.partition_epoch, 2);
  cr_expect(!r.alter_inflight, "but the request is done");
  replica_free(&r);
}

Test(replica, a_refused_change_settles_the_pending_members) {
  struct replica r;
  replica_init(&r);
  int32_t two[2] = {1, 2};
  assign(&r, 1, 1, 2, two, 2, at(0, 10, 10), 0);
  struct replica_log log = at(0, 10, 10);
  isr_on_fetch(&r.isr, 2, 10, 10, 10, 1);
  isr_on_fetch(&r.isr, 3, 4, 4, 10, 1);
  replica_update_hw(&r, &log);
  replica_isr_sent(&r, all3, 3); /* 3 proposed in: it counts for the HW */
  cr_expect_eq(isr_high_watermark(&r.isr, 10), 4);
  struct replica_assignment same = {1, 2, 2, all3, 3, two, 2};
  replica_isr_answer(&r, &same, 1, &log);
  cr_expect_eq(r.isr.npending, 0);
  cr_expect_eq(isr_high_watermark(&r.isr, 10), 10);
  replica_free(&r);
}

/* A brand-new partition's first leader (epoch 0, empty log) gives its
 * followers ISR_NEW_PARTITION_GRACE_MS more for their first fetch: 10,000
 * new partitions are created at each broker's own pace (issue 15). From
 * its first fetch on, a follower has the usual window. */
Test(replica, a_new_partition_gives_its_followers_a_grace_for_the_first_fetch) {
  struct replica r;
  replica_init(&r);
  assign(&r, 1, 1, 0, all3, 3, at(0, 0, 0), 1000);
  int64_t lag = 5000, due = 1000 + ISR_NEW_PARTITION_GRACE_MS + lag + 1;
  cr_expect_eq(replica_isr_deadline(&r, lag), due);
  int32_t isr[REPLICAS_MAX];
  uint32_t n;
  cr_expect(!replica_isr_proposal(&r, 1000 + lag + 1, lag, isr, &n), "within the grace");
  /* 2 fetches once, behind (the leader has 10), then stops: its window runs from then. */
  cr_expect_eq(isr_on_fetch(&r.isr, 2, 0, 0, 10, 8000), 1, "the grace ended: look again");
  cr_expect_eq(replica_isr_deadline(&r, lag), 8000 + lag + 1);
  cr_expect(!replica_isr_proposal(&r, 8000 + lag, lag, isr, &n));
  cr_assert(replica_isr_proposal(&r, 8000 + lag + 1, lag, isr, &n));
  cr_expect_eq(n, 2u, "2 out, 3 still within its grace");
  cr_expect(isr_contains(isr, n, 3));
  cr_assert(replica_isr_proposal(&r, due, lag, isr, &n));
  cr_expect_eq(n, 1u, "3 never fetched: out after the grace");
  replica_free(&r);
}
