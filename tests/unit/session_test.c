/* broker/session.c: a broker's session with its controller, as the broker
 * glue and the simulator both run it. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "broker/broker.h"
#include "broker/session.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"

static char *dir;
static struct broker b;
static struct session s;

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-session")));
  struct config *c = config_new();
  config_set(c, "broker.id", "1");
  config_set(c, "log.dir", dir);
  config_set(c, "controller", "127.0.0.1:9093");
  config_set(c, "broker.heartbeat.interval.ms", "500");
  config_set(c, "broker.session.timeout.ms", "3000");
  struct broker_config cfg;
  char err[256];
  cr_assert_eq(broker_config_from(c, &cfg, err, sizeof err), 0, "%s", err);
  config_free(c);
  cr_assert_eq(broker_open(&b, &cfg, 0, 0, err, sizeof err), 0, "%s", err);
  session_init(&s);
}

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

static void heartbeat_answer(int64_t now, int error) {
  Strata__BrokerHeartbeatResponse r = STRATA__BROKER_HEARTBEAT_RESPONSE__INIT;
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
