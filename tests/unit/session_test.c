/* broker/session.c: a broker's session with its controller, as the broker
 * glue and the simulator both run it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/session.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"
#include "tests/unit/broker_fixture.h"

static char *dir;
static struct broker b;
static struct session s;

static void open_with(const char *controllers) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-session")));
  struct broker_config cfg;
  broker_fixture_open(&b, &cfg, dir,
                      (const char *[]){"controller", controllers, "broker.heartbeat.interval.ms",
                                       "500", "broker.session.timeout.ms", "3000", NULL},
                      0);
  session_init(&s);
}

static void setup(void) { open_with("127.0.0.1:9093"); }

/* Three controllers, the second with TLS (each entry keeps its scheme). */
static void setup3(void) { open_with("127.0.0.1:9093,SSL://127.0.0.2:9093,127.0.0.3:9093"); }

static void teardown(void) {
  broker_close(&b);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(session, .init = setup, .fini = teardown);

static struct session_update ev(enum session_event_type type, int64_t now, enum session_call call,
                                const Strata__Header *answer) {
  struct session_event e = {type, now, call, answer};
  struct session_update u;
  b.now_ms = now;
  session_step(&s, &b, &e, &u);
  return u;
}

static struct session_update tick(int64_t now) { return ev(SESSION_TICK, now, 0, NULL); }

static void registered(int64_t now, int64_t epoch) {
  Strata__BrokerRegisterResponse r = STRATA__BROKER_REGISTER_RESPONSE__INIT;
  r.broker_epoch = epoch;
  Strata__Header h = STRATA__HEADER__INIT;
  h.body_case = STRATA__HEADER__BODY_BROKER_REGISTER_RESP;
  h.broker_register_resp = &r;
  ev(SESSION_ANSWER, now, SESSION_REGISTER, &h);
}

static int32_t answering_controller = -1; /* set in heartbeat answers when >= 0 */

static void heartbeat_answer(int64_t now, int error) {
  Strata__BrokerHeartbeatResponse r = STRATA__BROKER_HEARTBEAT_RESPONSE__INIT;
  r.controller_id_plus1 = answering_controller + 1;
  Strata__Header h = STRATA__HEADER__INIT;
  h.error_code = (uint32_t)-error;
  h.error_message = (char *)"";
  h.body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP;
  h.broker_heartbeat_resp = &r;
  ev(SESSION_ANSWER, now, SESSION_HEARTBEAT, &h);
}

/* Connected and registered with broker epoch 7 at time 10. */
static void up(void) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_UP, 1, 0, NULL);
  cr_assert_eq(tick(2).send, SESSION_REGISTER);
  registered(10, 7);
}

Test(session, connects_registers_then_heartbeats_on_its_interval) {
  up();
  cr_expect_eq(b.broker_epoch, 7);
  cr_expect_eq(tick(20).send & SESSION_HEARTBEAT, SESSION_HEARTBEAT);
  cr_expect(!(tick(100).send & SESSION_HEARTBEAT), "one at a time");
  heartbeat_answer(120, 0);
  cr_expect(!(tick(300).send & SESSION_HEARTBEAT), "the next after the interval");
  cr_expect(tick(520).send & SESSION_HEARTBEAT);
}

Test(session, counts_controller_contact_from_when_the_heartbeat_left) {
  up();
  tick(20);
  heartbeat_answer(900, 0);
  cr_expect_eq(b.controller_contact_ms, 20, "not 900: the controller heard from us at 20");
}

Test(session, a_lost_link_keeps_the_registration) {
  up();
  ev(SESSION_LINK_DOWN, 50, 0, NULL);
  cr_expect(!tick(100).connect, "reconnects after a pause");
  cr_expect(tick(50 + SESSION_RETRY_LINK_MS).connect);
  ev(SESSION_LINK_UP, 300, 0, NULL);
  struct session_update u = tick(310);
  cr_expect(!(u.send & SESSION_REGISTER), "registering again would cost its place in every ISR");
  cr_expect(u.send & SESSION_HEARTBEAT, "heartbeats resume with the same epoch");
  cr_expect_eq(b.broker_epoch, 7);
}

Test(session, registers_again_only_when_its_broker_epoch_is_stale) {
  up();
  tick(20);
  heartbeat_answer(30, STRATA_ENOT_CONTROLLER);
  cr_expect(!(tick(600).send & SESSION_REGISTER));
  heartbeat_answer(610, STRATA_ESTALE_BROKER_EPOCH);
  cr_expect_eq(tick(620).send, SESSION_REGISTER);
}

Test(session, waits_a_second_after_a_refused_registration) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_UP, 1, 0, NULL);
  tick(2);
  Strata__Header h = STRATA__HEADER__INIT;
  h.error_code = (uint32_t)-STRATA_EINCONSISTENT_CLUSTER_ID;
  h.error_message = (char *)"another cluster";
  ev(SESSION_ANSWER, 10, SESSION_REGISTER, &h);
  cr_expect_eq(tick(10 + SESSION_RETRY_REFUSED_MS - 1).send, 0);
  cr_expect_eq(tick(10 + SESSION_RETRY_REFUSED_MS).send, SESSION_REGISTER);
}

Test(session, asks_for_producer_ids_when_the_block_runs_low) {
  up();
  cr_expect(tick(20).send & SESSION_PRODUCER_IDS, "no block yet");
  Strata__InitProducerIdResponse r = STRATA__INIT_PRODUCER_ID_RESPONSE__INIT;
  r.producer_id = 5000;
  Strata__Header h = STRATA__HEADER__INIT;
  h.body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP;
  h.init_producer_id_resp = &r;
  ev(SESSION_ANSWER, 30, SESSION_PRODUCER_IDS, &h);
  cr_expect_eq(b.producer_ids_next, 5000);
  cr_expect_eq(b.producer_ids_limit, 5000 + PRODUCER_ID_BLOCK);
  cr_expect(!(tick(600).send & SESSION_PRODUCER_IDS));
  b.want_producer_ids = 1; /* a handler saw the block run low */
  cr_expect(tick(1200).send & SESSION_PRODUCER_IDS);
}

/* ---- a list of controllers (issue 14): finding the active one ---- */

TestSuite(session3, .init = setup3, .fini = teardown);

/* The entry (or hint address) the session connects to now. */
static const char *target(void) {
  static char buf[300];
  struct session_addr a;
  session_target(&s, &b, &a);
  snprintf(buf, sizeof buf, "%s:%d", a.host, a.port);
  return buf;
}

static struct session_update not_controller(int64_t now, enum session_call call, int32_t id,
                                            const char *addr) {
  Strata__Header h = STRATA__HEADER__INIT;
  h.error_code = (uint32_t)-STRATA_ENOT_CONTROLLER;
  h.error_message = (char *)"not the active controller";
  h.controller_leader_id = id;
  h.controller_leader_address = (char *)addr;
  return ev(SESSION_ANSWER, now, call, &h);
}

Test(session3, parses_every_entry_with_its_own_scheme) {
  cr_assert_eq(b.cfg.ncontrollers, 3);
  cr_expect_str_eq(b.cfg.controllers[1].host, "127.0.0.2");
  cr_expect_eq(b.cfg.controllers[1].protocol, LISTENER_SSL);
  cr_expect_eq(b.cfg.controllers[2].protocol, LISTENER_PLAINTEXT);
  cr_expect_str_eq(target(), "127.0.0.1:9093", "the first entry first");
}

Test(session3, a_refused_connect_moves_to_the_next_after_a_pause) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_DOWN, 5, 0, NULL);
  cr_expect_str_eq(target(), "127.0.0.2:9093");
  cr_expect(!tick(5 + SESSION_RETRY_NEXT_MS - 1).connect, "not at once");
  cr_expect(tick(5 + SESSION_RETRY_NEXT_MS).connect);
  struct session_addr a;
  session_target(&s, &b, &a);
  cr_expect_eq(a.protocol, LISTENER_SSL, "the entry's own scheme");
}

Test(session3, not_controller_with_a_hint_goes_to_the_named_one) {
  up(); /* on entry 0, registered */
  tick(20);
  struct session_update u = not_controller(30, SESSION_HEARTBEAT, 3, "127.0.0.3:9093");
  cr_expect(u.close, "done with this controller's link");
  cr_expect_str_eq(target(), "127.0.0.3:9093");
  cr_expect(!tick(31).connect);
  cr_expect(tick(30 + SESSION_RETRY_NEXT_MS).connect);
  ev(SESSION_LINK_UP, 90, 0, NULL);
  u = tick(100);
  cr_expect(!(u.send & SESSION_REGISTER), "the quorum keeps broker epochs: no new registration");
  cr_expect(u.send & SESSION_HEARTBEAT, "heartbeats resume with epoch 7 at the new one");
  cr_expect_eq(b.broker_epoch, 7);
}

Test(session3, a_hint_with_a_scheme_or_outside_the_list_is_followed) {
  up();
  tick(20);
  not_controller(30, SESSION_HEARTBEAT, 2, "SSL://127.0.0.2:9093");
  cr_expect_str_eq(target(), "127.0.0.2:9093");
  cr_expect(tick(80).connect);
  ev(SESSION_LINK_UP, 81, 0, NULL);
  tick(90);
  not_controller(95, SESSION_HEARTBEAT, 9, "10.0.0.9:9999");
  cr_expect_str_eq(target(), "10.0.0.9:9999", "a controller the list does not name");
  struct session_addr a;
  session_target(&s, &b, &a);
  cr_expect_eq(a.protocol, LISTENER_PLAINTEXT, "the first entry's scheme");
}

Test(session3, not_controller_without_a_leader_tries_the_next) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_UP, 1, 0, NULL);
  cr_assert_eq(tick(2).send, SESSION_REGISTER);
  struct session_update u = not_controller(10, SESSION_REGISTER, -1, "");
  cr_expect(u.close);
  cr_expect_str_eq(target(), "127.0.0.2:9093");
  u = not_controller(10, SESSION_REGISTER, 0, "garbage");
  cr_expect_str_eq(target(), "127.0.0.3:9093", "an unreadable hint is no hint");
}

Test(session3, a_heartbeat_unanswered_too_long_moves_on) {
  up();
  cr_assert(tick(20).send & SESSION_HEARTBEAT);
  cr_expect(!tick(20 + SESSION_CALL_TIMEOUT_MS - 1).close, "a slow answer is still awaited");
  struct session_update u = tick(20 + SESSION_CALL_TIMEOUT_MS);
  cr_expect(u.close, "a paused controller: move on");
  cr_expect_str_eq(target(), "127.0.0.2:9093");
  /* the next one still names the silent one (a zombie leader): not believed */
  int64_t t = 20 + SESSION_CALL_TIMEOUT_MS;
  cr_assert(tick(t + SESSION_RETRY_NEXT_MS).connect);
  ev(SESSION_LINK_UP, t + 60, 0, NULL);
  tick(t + 70);
  not_controller(t + 80, SESSION_HEARTBEAT, 1, "127.0.0.1:9093");
  cr_expect_str_eq(target(), "127.0.0.3:9093", "the silent one is skipped for a while");
}

Test(session3, a_connect_unanswered_too_long_moves_on) {
  cr_assert(tick(0).connect);
  cr_expect(tick(500).connect, "still connecting");
  struct session_update u = tick(SESSION_CALL_TIMEOUT_MS);
  cr_expect(u.close);
  cr_expect_str_eq(target(), "127.0.0.2:9093");
}

Test(session3, a_hint_naming_a_controller_found_down_just_now_is_not_believed) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_DOWN, 5, 0, NULL); /* entry 0 refused */
  cr_assert(tick(60).connect);
  ev(SESSION_LINK_UP, 61, 0, NULL);
  tick(62);
  /* entry 1 still names the dead leader (its fetch timeout has not run out) */
  not_controller(70, SESSION_REGISTER, 1, "127.0.0.1:9093");
  cr_expect_str_eq(target(), "127.0.0.3:9093", "the next instead of the dead one");
  /* later, the name is believed again */
  cr_assert(tick(200).connect);
  ev(SESSION_LINK_UP, 201, 0, NULL);
  tick(202);
  not_controller(5 + SESSION_HINT_DEAD_MS + 300, SESSION_REGISTER, 1, "127.0.0.1:9093");
  cr_expect_str_eq(target(), "127.0.0.1:9093");
}

/* No busy loop: with every controller refusing, at most a round of the
 * list (3 connects) per SESSION_RETRY_LINK_MS + 2 x SESSION_RETRY_NEXT_MS. */
Test(session3, every_controller_down_is_tried_a_few_times_a_second) {
  int connects = 0;
  for (int64_t now = 0; now < 3000; now += 10) {
    if (tick(now).connect) {
      connects++;
      ev(SESSION_LINK_DOWN, now, 0, NULL);
    }
  }
  int round = SESSION_RETRY_LINK_MS + 2 * SESSION_RETRY_NEXT_MS;
  cr_expect(connects >= 3 * (3000 / round) - 3 && connects <= 3 * (3000 / round + 1),
            "%d connects in 3 s", connects);
}

Test(session3, hints_going_round_in_circles_slow_down) {
  int connects = 0;
  for (int64_t now = 0; now < 3000; now += 10) {
    struct session_update u = tick(now);
    if (!u.connect) continue;
    connects++;
    ev(SESSION_LINK_UP, now, 0, NULL);
    cr_assert_eq(tick(now).send, SESSION_REGISTER);
    /* each names the next one as the leader, forever */
    const char *next = !strcmp(target(), "127.0.0.1:9093") ? "127.0.0.2:9093" : "127.0.0.1:9093";
    not_controller(now, SESSION_REGISTER, 1, next);
  }
  cr_expect(connects <= 3000 / SESSION_RETRY_LINK_MS + 8, "%d connects in 3 s", connects);
}

Test(session3, an_answered_heartbeat_ends_the_search) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_DOWN, 5, 0, NULL);
  cr_assert(tick(60).connect);
  ev(SESSION_LINK_UP, 61, 0, NULL);
  tick(62);
  registered(70, 7);
  tick(80);
  heartbeat_answer(90, 0);
  cr_expect_eq(s.fails, 0);
  ev(SESSION_LINK_DOWN, 100, 0, NULL);
  cr_expect_str_eq(target(), "127.0.0.3:9093", "on from where it was");
  cr_expect_eq(s.retry_at, 100 + SESSION_RETRY_NEXT_MS);
}

/* The controller id Metadata answers give (b.controller_id) follows the
 * controller that answers heartbeats: after a failover that changed no
 * metadata no new image comes, so the image's writer would stay named.
 * While the session searches, none is named. */
Test(session3, the_named_controller_follows_the_one_answering_heartbeats) {
  up();
  b.controller_id = 1; /* as the last image said */
  tick(20);
  answering_controller = 1;
  heartbeat_answer(30, 0);
  cr_expect_eq(b.controller_id, 1);
  not_controller(40, SESSION_HEARTBEAT, 3, "127.0.0.3:9093");
  cr_expect_eq(b.controller_id, -1, "searching: no active controller known");
  cr_assert(tick(40 + SESSION_RETRY_NEXT_MS).connect);
  ev(SESSION_LINK_UP, 100, 0, NULL);
  tick(110);
  answering_controller = 3;
  heartbeat_answer(120, 0);
  answering_controller = -1;
  cr_expect_eq(b.controller_id, 3, "the new active one, with no new image");
  heartbeat_answer(130, 0); /* an older controller (no id): the last one stays */
  cr_expect_eq(b.controller_id, 3);
}

/* The quorum for the admin console: asked only while wanted, every
 * SESSION_QUORUM_MS, the leader's answer kept (a follower's is not), and
 * the address whose heartbeat was answered named as the active one. */
Test(session3, asks_the_quorum_only_while_the_console_looks) {
  cr_assert(tick(0).connect);
  ev(SESSION_LINK_UP, 1, 0, NULL);
  tick(2);
  registered(10, 7);
  tick(20);
  heartbeat_answer(30, 0);
  cr_expect_str_eq(b.controller_at, "127.0.0.1:9093");
  for (int64_t t = 40; t < 5000; t += 100) {
    unsigned send = tick(t).send;
    cr_assert(!(send & SESSION_QUORUM), "not wanted, not asked (%lld)", (long long)t);
    if (send & SESSION_HEARTBEAT) heartbeat_answer(t + 1, 0);
  }
  b.quorum_want_until_ms = 9000;
  cr_assert(tick(5000).send & SESSION_QUORUM);
  cr_expect(!(tick(5001).send & SESSION_QUORUM), "one at a time");
  Strata__ReplicaKey k[2] = {STRATA__REPLICA_KEY__INIT, STRATA__REPLICA_KEY__INIT};
  Strata__QuorumReplicaState v[2] = {STRATA__QUORUM_REPLICA_STATE__INIT, STRATA__QUORUM_REPLICA_STATE__INIT};
  Strata__QuorumReplicaState *vp[2] = {&v[0], &v[1]};
  k[0].id = 1, k[1].id = 2;
  v[0].replica = &k[0], v[0].log_end_offset = 12;
  v[1].replica = &k[1], v[1].log_end_offset = 9;
  Strata__DescribeQuorumResponse r = STRATA__DESCRIBE_QUORUM_RESPONSE__INIT;
  r.role = (char *)"follower";
  r.epoch = 4, r.leader_id = 1, r.high_watermark = 11, r.log_end_offset = 12;
  r.voters = vp, r.n_voters = 2;
  Strata__Header h = STRATA__HEADER__INIT;
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_QUORUM_RESP;
  h.describe_quorum_resp = &r;
  ev(SESSION_ANSWER, 5200, SESSION_QUORUM, &h);
  cr_expect(!b.quorum.known, "a follower's answer is not the quorum's");
  cr_expect(!(tick(5300).send & SESSION_QUORUM), "the next after SESSION_QUORUM_MS");
  heartbeat_answer(5301, 0);
  cr_assert(tick(5000 + SESSION_QUORUM_MS).send & SESSION_QUORUM);
  r.role = (char *)"leader";
  ev(SESSION_ANSWER, 7100, SESSION_QUORUM, &h);
  cr_expect(b.quorum.known);
  cr_expect_eq(b.quorum.epoch, 4);
  cr_expect_eq(b.quorum.leader_id, 1);
  cr_expect_eq(b.quorum.n, 2);
  cr_expect_eq(b.quorum.m[1].id, 2);
  cr_expect_eq(b.quorum.m[1].log_end_offset, 9);
  cr_expect_eq(b.quorum.at_ms, 7100);
  int asked = 0;
  for (int64_t t = 9000; t < 20000; t += 100) {
    unsigned send = tick(t).send;
    asked += !!(send & SESSION_QUORUM);
    if (send & SESSION_HEARTBEAT) heartbeat_answer(t + 1, 0);
  }
  cr_expect_eq(asked, 0, "no longer wanted");
}

Test(session, one_controller_never_times_calls_out) {
  up();
  cr_assert(tick(20).send & SESSION_HEARTBEAT);
  struct session_update u = tick(20 + 10 * SESSION_CALL_TIMEOUT_MS);
  cr_expect(!u.close && !u.connect, "nowhere else to go: wait, as before");
  cr_expect_str_eq(target(), "127.0.0.1:9093");
}

Test(session, one_controller_follows_a_hint_and_comes_back) {
  up();
  tick(20);
  struct session_update u = not_controller(30, SESSION_HEARTBEAT, 2, "127.0.0.2:9093");
  cr_expect(u.close);
  cr_expect_str_eq(target(), "127.0.0.2:9093");
  cr_assert(tick(100).connect);
  ev(SESSION_LINK_DOWN, 110, 0, NULL);
  cr_expect_str_eq(target(), "127.0.0.1:9093", "back to the configured one");
}
