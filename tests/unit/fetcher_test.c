/* replication/fetcher.c: one follower's fetch loop toward a leader. */
#include <criterion/criterion.h>

#include "replication/fetcher.h"

static struct fetcher_update step(struct fetcher *f, enum fetcher_event_type type, int64_t now,
                                  int durable, enum fetcher_answer answer) {
  struct fetcher_event e = {type, now, 1, durable, 1, answer};
  struct fetcher_update u;
  fetcher_step(f, &e, &u);
  return u;
}

static struct fetcher connected(void) {
  struct fetcher f;
  fetcher_init(&f, 7);
  cr_assert(step(&f, FETCHER_TICK, 0, 1, 0).connect);
  step(&f, FETCHER_LINK_UP, 1, 1, 0);
  return f;
}

Test(fetcher, connects_first_and_sends_one_fetch_at_a_time) {
  struct fetcher f = connected();
  cr_expect(step(&f, FETCHER_TICK, 50, 1, 0).send);
  cr_expect(!step(&f, FETCHER_TICK, 100, 1, 0).send, "the first is still out");
}

Test(fetcher, connects_only_while_it_follows_something) {
  struct fetcher f;
  fetcher_init(&f, 7);
  struct fetcher_event e = {FETCHER_TICK, 0, 0, 1, 1, 0};
  struct fetcher_update u;
  fetcher_step(&f, &e, &u);
  cr_expect(!u.connect);
}

Test(fetcher, reports_a_position_only_once_it_is_fsynced) {
  struct fetcher f = connected();
  step(&f, FETCHER_TICK, 50, 1, 0);
  struct fetcher_update u = step(&f, FETCHER_ANSWER, 60, 0, FETCHER_ANSWER_PROGRESS);
  cr_expect(!u.send, "appends not yet durable");
  cr_expect(!step(&f, FETCHER_TICK, 100, 0, 0).send);
  cr_expect(!step(&f, FETCHER_SYNCED, 110, 0, 0).send, "another partition's fsync");
  cr_expect(step(&f, FETCHER_SYNCED, 120, 1, 0).send, "durable: fetch at once");
}

Test(fetcher, fetches_again_at_once_when_nothing_waits_for_an_fsync) {
  struct fetcher f = connected();
  step(&f, FETCHER_TICK, 50, 1, 0);
  cr_expect(step(&f, FETCHER_ANSWER, 60, 1, FETCHER_ANSWER_PROGRESS).send);
}

Test(fetcher, backs_off_after_errors_and_idle_answers) {
  struct fetcher f = connected();
  step(&f, FETCHER_TICK, 50, 1, 0);
  step(&f, FETCHER_ANSWER, 60, 1, FETCHER_ANSWER_ERROR);
  cr_expect(!step(&f, FETCHER_TICK, 60 + FETCHER_RETRY_ERROR_MS - 1, 1, 0).send);
  cr_expect(step(&f, FETCHER_TICK, 60 + FETCHER_RETRY_ERROR_MS, 1, 0).send);
  step(&f, FETCHER_ANSWER, 300, 1, FETCHER_ANSWER_IDLE);
  cr_expect(!step(&f, FETCHER_TICK, 300 + FETCHER_RETRY_IDLE_MS - 1, 1, 0).send);
  cr_expect(step(&f, FETCHER_TICK, 300 + FETCHER_RETRY_IDLE_MS, 1, 0).send);
}

Test(fetcher, a_bad_answer_drops_the_link_and_reconnects_later) {
  struct fetcher f = connected();
  step(&f, FETCHER_TICK, 50, 1, 0);
  cr_expect(step(&f, FETCHER_ANSWER, 60, 1, FETCHER_ANSWER_BAD).close);
  step(&f, FETCHER_LINK_DOWN, 60, 1, 0);
  cr_expect(!step(&f, FETCHER_TICK, 100, 1, 0).connect);
  cr_expect(step(&f, FETCHER_TICK, 60 + FETCHER_RETRY_LINK_MS, 1, 0).connect);
}

Test(fetcher, a_lost_link_ends_the_fetch_in_flight) {
  struct fetcher f = connected();
  step(&f, FETCHER_TICK, 50, 1, 0);
  step(&f, FETCHER_LINK_DOWN, 70, 1, 0);
  cr_expect(!f.inflight);
  step(&f, FETCHER_TICK, 70 + FETCHER_RETRY_LINK_MS, 1, 0);
  step(&f, FETCHER_LINK_UP, 180, 1, 0);
  cr_expect(step(&f, FETCHER_TICK, 200, 1, 0).send);
}
