/* The leader's replica fetch sessions (broker/rsess.c, KIP-227 on the
 * native follower fetch): Kafka's epoch rules, one session per follower
 * broker tied to its registration, entries found by partition among
 * thousands, and references given back whatever ends them. */
#include <criterion/criterion.h>

#include "broker/rsess.h"
#include "broker/topics.h"

#define N 10000

Test(rsess, full_opens_incremental_must_carry_the_expected_epoch) {
  struct rsess_cache c = {0};
  struct rsess *s;
  cr_assert_eq(rsess_begin(&c, 2, 7, 0, 0, 100, &s), 0);
  cr_assert_not_null(s, "a full fetch opens a session");
  int32_t id = s->id;
  cr_assert_gt(id, 0);
  cr_assert_eq(s->epoch, 1, "the first incremental fetch carries epoch 1");
  cr_assert_eq(rsess_begin(&c, 2, 7, id, 1, 200, &s), 0);
  cr_assert_eq(s->epoch, 2);
  cr_assert_eq(s->last_used_ms, 200);
  struct rsess *none;
  cr_assert_eq(rsess_begin(&c, 2, 7, id, 1, 300, &none), RSESS_ERR_EPOCH, "an old epoch (a resend)");
  cr_assert_null(none);
  cr_assert_eq(rsess_begin(&c, 2, 7, id + 1, 2, 300, &none), RSESS_ERR_NOT_FOUND);
  cr_assert_eq(rsess_begin(&c, 3, 7, id, 2, 300, &none), RSESS_ERR_NOT_FOUND,
               "another follower's session");
  cr_assert_eq(rsess_begin(&c, 2, 8, id, 2, 300, &none), RSESS_ERR_NOT_FOUND,
               "a restarted follower (new registration) cannot use its old session");
  cr_assert_eq(rsess_begin(&c, 2, 7, id, -1, 300, &none), 0);
  cr_assert_null(none, "epoch -1: sessionless, nothing touched");
  cr_assert_eq(rsess_begin(&c, 2, 7, id, 2, 300, &s), 0, "still there");
  rsess_free_all(&c);
}

Test(rsess, a_full_fetch_replaces_the_followers_session_and_gives_back_references) {
  static struct partition parts[3];
  for (int i = 0; i < 3; i++) parts[i].refs = 1;
  struct rsess_cache c = {0};
  struct rsess *s;
  for (int round = 0; round < 50; round++) { /* an old follower: full fetches only */
    cr_assert_eq(rsess_begin(&c, 4, 1, 0, 0, round, &s), 0);
    for (int i = 0; i < 3; i++) cr_assert_not_null(rsess_name(s, &parts[i], 10, 10, 1));
  }
  cr_assert_eq(c.n, 1u, "one session per follower broker");
  for (int i = 0; i < 3; i++) cr_assert_eq(parts[i].refs, 2);
  rsess_drop_replica(&c, 4);
  cr_assert_eq(c.n, 0u);
  for (int i = 0; i < 3; i++) cr_assert_eq(parts[i].refs, 1);
  rsess_free_all(&c);
}

Test(rsess, entries_are_found_among_thousands_and_dropped_partitions_are_gone) {
  static struct partition parts[N];
  for (int i = 0; i < N; i++) parts[i].refs = 1;
  struct rsess_cache c = {0};
  struct rsess *s;
  cr_assert_eq(rsess_begin(&c, 1, 1, 0, 0, 0, &s), 0);
  int32_t id = s->id;
  for (int i = 0; i < N; i++) {
    struct rsess_entry *e = rsess_name(s, &parts[i], i, i - 1, 3);
    cr_assert_not_null(e);
    cr_assert_eq(e->told_hw, -1, "told nothing yet");
    cr_assert_eq(e->durable, i - 1);
  }
  /* Named again: updated in place, capped at its fetch offset. */
  struct rsess_entry *e = rsess_name(s, &parts[17], 50, 99, 4);
  cr_assert_eq(e->fetch_offset, 50);
  cr_assert_eq(e->durable, 50, "never durable past its own end");
  cr_assert_eq(s->n, (size_t)N);
  for (int i = 0; i < N; i += 2) rsess_drop_partition(&c, &parts[i]); /* leadership moved */
  for (int i = 0; i < N; i++) cr_assert_eq(parts[i].refs, i % 2 ? 2 : 1);
  /* The next request compacts the tombstones; every lookup still right. */
  cr_assert_eq(rsess_begin(&c, 1, 1, id, 1, 5, &s), 0);
  cr_assert_eq(s->n, (size_t)N / 2);
  for (int i = 0; i < N; i++) {
    struct rsess_entry *f = rsess_lookup(s, &parts[i]);
    if (i % 2 == 0) {
      cr_assert_null(f, "partition %d left the session", i);
    } else {
      cr_assert_not_null(f);
      cr_assert_eq(f->p, &parts[i]);
      cr_assert_eq(f->fetch_offset, i == 17 ? 50 : i);
    }
  }
  /* Named again after it left: a fresh entry, told nothing. */
  cr_assert_eq(rsess_name(s, &parts[0], 7, 7, 1)->told_hw, -1);
  rsess_free_all(&c);
  for (int i = 0; i < N; i++) cr_assert_eq(parts[i].refs, 1, "every reference given back");
}

Test(rsess, at_most_rsess_max_sessions_then_sessionless) {
  struct rsess_cache c = {0};
  struct rsess *s;
  for (int32_t r = 0; r < RSESS_MAX; r++) cr_assert_eq(rsess_begin(&c, r, 1, 0, 0, 0, &s), 0);
  cr_assert_eq(rsess_begin(&c, RSESS_MAX, 1, 0, 0, 0, &s), 0);
  cr_assert_null(s, "no room: served without a session (the answer's session id is 0)");
  rsess_free_all(&c);
}
