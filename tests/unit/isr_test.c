/* The replication rules the simulator found broken (both with acknowledged
 * acks=all writes lost): the maximal ISR while an ISR change is pending,
 * and divergence from an epoch the leader never saw. */
#include <criterion/criterion.h>

#include "replication/epoch_cache.h"
#include "replication/isr.h"

static struct isr_state leader_of(int32_t self, const int32_t *isr, uint32_t n) {
  struct isr_state r = {0};
  r.self = self;
  int32_t all[3] = {1, 2, 3};
  memcpy(r.replicas, all, sizeof all);
  r.nreplicas = 3;
  memcpy(r.isr, isr, n * sizeof *isr);
  r.nisr = n;
  isr_become_leader(&r, 0, 0);
  return r;
}

Test(isr, a_pending_expansion_counts_the_new_member_for_the_high_watermark) {
  int32_t isr[2] = {1, 3};
  struct isr_state r = leader_of(1, isr, 2);
  isr_on_fetch(&r, 3, 92, 92, 92, 10); /* 3 has everything */
  isr_on_fetch(&r, 2, 90, 90, 92, 10); /* 2 is behind */
  cr_expect_eq(isr_high_watermark(&r, 92), 92);
  /* Adding 2 is on its way: the controller may apply it and elect 2, so
   * nothing 2 lacks may be acknowledged meanwhile. */
  int32_t grown[3] = {1, 2, 3};
  isr_pending(&r, grown, 3, 5);
  cr_expect_eq(isr_high_watermark(&r, 92), 90);
  /* An answer based on the same epoch (refused) settles it... */
  isr_settled(&r, 5, 1);
  cr_expect_eq(isr_high_watermark(&r, 92), 92);
  /* ...as does a newer view of the partition; an older one does not. */
  isr_pending(&r, grown, 3, 5);
  isr_settled(&r, 5, 0);
  cr_expect_eq(isr_high_watermark(&r, 92), 90, "a view from before the change settles nothing");
  isr_settled(&r, 6, 0);
  cr_expect_eq(isr_high_watermark(&r, 92), 92);
}

Test(isr, a_second_proposal_keeps_the_first_pending) {
  int32_t isr[2] = {1, 3};
  struct isr_state r = leader_of(1, isr, 2);
  isr_on_fetch(&r, 3, 50, 50, 50, 10);
  isr_on_fetch(&r, 2, 40, 40, 50, 10);
  int32_t grown[3] = {1, 2, 3}, shrunk[1] = {1};
  isr_pending(&r, grown, 3, 7); /* its answer was lost */
  isr_pending(&r, shrunk, 1, 7);
  cr_expect_eq(isr_high_watermark(&r, 50), 40);
}

Test(isr, becoming_leader_forgets_a_pending_change) {
  int32_t isr[1] = {1}, grown[2] = {1, 2};
  struct isr_state r = leader_of(1, isr, 1);
  isr_pending(&r, grown, 2, 3);
  isr_become_leader(&r, 100, 0);
  cr_expect_eq(r.npending, 0);
}

Test(isr, epoch_floor_finds_the_largest_known_epoch_at_or_below) {
  struct epoch_cache c = {0};
  epoch_cache_add(&c, 0, 0);
  epoch_cache_add(&c, 2, 97);
  epoch_cache_add(&c, 5, 120);
  cr_expect_eq(epoch_cache_floor(&c, 1), 0, "epoch 1 never reached this log");
  cr_expect_eq(epoch_cache_floor(&c, 2), 2);
  cr_expect_eq(epoch_cache_floor(&c, 4), 2);
  cr_expect_eq(epoch_cache_floor(&c, 9), 5);
  /* A follower whose last epoch is 1 (unknown here) diverges where its
   * epoch 0 ends on its side (95) or here (97), whichever is first. */
  cr_expect_eq(epoch_cache_end_offset(&c, epoch_cache_floor(&c, 1), 130), 97);
  struct epoch_cache f = {0};
  epoch_cache_add(&f, 0, 0);
  epoch_cache_add(&f, 1, 95);
  cr_expect_eq(epoch_cache_end_offset(&f, 0, 97), 95);
  struct epoch_cache empty = {0};
  cr_expect_eq(epoch_cache_floor(&empty, 3), -1);
  epoch_cache_free(&c);
  epoch_cache_free(&f);
}

/* The deadline the broker sleeps on instead of asking every partition at
 * every tick (issue 15) is never late: at every millisecond before it,
 * isr_proposal has nothing to drop; at it, it drops the member. */
Test(isr, the_shrink_deadline_is_exactly_when_a_member_falls_out) {
  int32_t isr[3] = {1, 2, 3};
  struct isr_state r = leader_of(1, isr, 3);
  isr_on_fetch(&r, 2, 10, 10, 10, 100);
  isr_on_fetch(&r, 3, 10, 10, 10, 250);
  int64_t lag = 1000, at = isr_shrink_deadline(&r, lag);
  cr_expect_eq(at, 100 + lag + 1, "member 2 caught up last at 100");
  int32_t out[REPLICAS_MAX];
  uint32_t n;
  for (int64_t t = 250; t < at; t++) cr_assert_eq(isr_proposal(&r, t, lag, 10, out, &n), 0);
  cr_expect_eq(isr_proposal(&r, at, lag, 10, out, &n), 1);
  cr_expect_eq(n, 2u);
  /* Another fetch moves it later, never earlier. */
  isr_on_fetch(&r, 2, 10, 10, 10, 900);
  cr_expect_eq(isr_shrink_deadline(&r, lag), 250 + lag + 1);
  /* No member but the leader: nothing to wait for. */
  int32_t alone[1] = {1};
  struct isr_state s = leader_of(1, alone, 1);
  cr_expect_eq(isr_shrink_deadline(&s, lag), INT64_MAX);
}
