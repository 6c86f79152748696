#include "cluster_uv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cluster.h"
#include "broker/follow.h"
#include "broker/integrity.h"
#include "broker/offline.h"
#include "broker/link_uv.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/listener.h"
#include "common/tls.h"
#include "common/trace.h"
#include "common/wire.h"

/* Monotonic, as b->now_ms (timeouts and backoffs only); b->wall_ms is
 * read with it for the steps that store timestamps. */
static int64_t now_ms(void) { return clock_mono_ms(); }

static void read_clocks(struct broker *b) {
  b->now_us = clock_mono_us();
  b->now_ms = b->now_us / 1000;
  b->wall_ms = clock_wall_ms();
}

static void fetchers_step(struct cluster_uv *cu, enum fetcher_event_type type);

/* ---- the controller session (broker/session.c decides) ---- */

static void session_perform(struct cluster_uv *cu, const struct session_update *u);

static void session_event(struct cluster_uv *cu, struct session_event e) {
  struct session_update u;
  read_clocks(cu->b);
  e.now_ms = cu->b->now_ms;
  session_step(&cu->session, cu->b, &e, &u);
  session_perform(cu, &u);
}

static void on_ctl_state(void *arg, int connected) {
  struct cluster_uv *cu = arg;
  if (!cu->running || cu->ctl_closing) return;
  session_event(cu, (struct session_event){.type = connected ? SESSION_LINK_UP : SESSION_LINK_DOWN});
}

static void on_session_answer(void *arg, const Strata__Header *resp, const uint8_t *pl,
                              uint32_t pn, int err) {
  struct cluster_session_call *c = arg;
  (void)pl, (void)pn;
  if (!c->cu->running || c->cu->ctl_closing) return;
  session_event(c->cu, (struct session_event){.type = err ? SESSION_LOST : SESSION_ANSWER,
                                              .call = c->call,
                                              .answer = err ? NULL : resp});
}

/* Close the controller link the session is done with. The session already
 * counts its calls lost and the link down: the callbacks link_close makes
 * are not events for it. */
static void ctl_close(struct cluster_uv *cu) {
  cu->ctl_closing = 1;
  link_close(&cu->ctl);
  cu->ctl_closing = 0;
}

/* Point the controller link at the session's target (host, port and its
 * entry's scheme) before it connects; a link already there is kept. */
static void ctl_aim(struct cluster_uv *cu) {
  struct session_addr a;
  session_target(&cu->session, cu->b, &a);
  int tls = a.protocol == LISTENER_SSL || a.protocol == LISTENER_SASL_SSL;
  int sasl = a.protocol == LISTENER_SASL_PLAINTEXT || a.protocol == LISTENER_SASL_SSL;
  if (cu->ctl_aimed && !strcmp(cu->ctl.host, a.host) && cu->ctl.port == a.port &&
      cu->ctl_protocol == a.protocol)
    return;
  if (cu->ctl_aimed) ctl_close(cu);
  cu->ctl_aimed = 1;
  cu->ctl_tls = tls;
  cu->ctl_protocol = a.protocol;
  link_init(&cu->ctl, cu->loop, a.host, a.port, on_ctl_state, cu);
  link_set_source(&cu->ctl, cu->b->cfg.source_addr);
  if (tls) link_set_tls(&cu->ctl, cu->tls);
  if (sasl) link_set_sasl(&cu->ctl, &cu->b->cfg.sasl);
  if (cu->b->cfg.ncontrollers > 1 || cu->session.target < 0)
    trace_info("controller link to %s:%d (%s)", a.host, a.port, listener_protocol_name(a.protocol));
}

static void session_perform(struct cluster_uv *cu, const struct session_update *u) {
  if (u->close) ctl_close(cu);
  if (u->connect && !cu->tls_broken) {
    ctl_aim(cu);
    link_connect(&cu->ctl);
  }
  for (unsigned i = 0; i < SESSION_CALLS; i++) {
    enum session_call call = (enum session_call)(1u << i);
    if (!(u->send & call)) continue;
    struct session_request r;
    session_request(cu->b, call, &r);
    cu->session_calls[i] = (struct cluster_session_call){cu, call};
    if (link_send(&cu->ctl, &r.h, NULL, 0, on_session_answer, &cu->session_calls[i])) {
      struct session_update ignored;
      struct session_event e = {.type = SESSION_LOST, .now_ms = now_ms(), .call = call};
      session_step(&cu->session, cu->b, &e, &ignored);
    }
  }
  if (u->wake) cu->wake(cu->wake_arg);
  if (u->fetchers) fetchers_step(cu, FETCHER_TICK);
}

/* ---- ISR changes ---- */

static void on_alter_isr(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                         int err) {
  (void)pl, (void)pn;
  struct cluster_isr_call *call = arg;
  struct cluster_uv *cu = call->cu;
  struct partition *p = call->p;
  call->p = NULL;
  const Strata__PartitionState *s = NULL;
  if (!err && resp->body_case == STRATA__HEADER__BODY_ALTER_ISR_RESP) s = resp->alter_isr_resp->state;
  if (!err && resp->error_code)
    trace_info("%s-%u: ISR change refused: %s", p->topic ? p->topic->name : "?", p->id,
               resp->error_message);
  cluster_isr_answer(cu->b, p, s, !err && resp->error_code);
  cu->wake(cu->wake_arg);
  partition_unref(p);
}

static void propose_isr(void *arg, struct partition *p, const int32_t *isr, uint32_t n) {
  struct cluster_uv *cu = arg;
  struct cluster_isr_call *call = NULL;
  for (size_t i = 0; i < LINK_INFLIGHT_MAX && !call; i++)
    if (!cu->isr_calls[i].p) call = &cu->isr_calls[i];
  if (!call) return; /* as a full link: proposed again at a later tick */
  struct cluster_alter_msg m;
  cluster_alter_isr_msg(cu->b, p, isr, n, &m);
  trace_info("%s-%u: asking the controller to change the ISR from %u to %u member(s)",
             p->topic->name, p->id, p->rep.isr.nisr, n);
  partition_ref(p);
  *call = (struct cluster_isr_call){cu, p};
  if (link_send(&cu->ctl, &m.h, NULL, 0, on_alter_isr, call)) {
    call->p = NULL;
    partition_unref(p);
    return;
  }
  cluster_isr_sent(p, isr, n);
}

/* ---- damage reports (broker/integrity.c decides) ---- */

static void on_damage_report(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                             int err) {
  (void)pl, (void)pn;
  struct cluster_isr_call *call = arg;
  struct partition *p = call->p;
  call->p = NULL;
  p->damage_sending = 0;
  if (!err && resp->error_code)
    trace_warn("%s-%u: damage report refused: %s", p->topic ? p->topic->name : "?", p->id,
               resp->error_message);
  /* The new state comes with the metadata image the change produces. */
  partition_unref(p);
}

static void report_damage(void *arg, struct partition *p, int what) {
  struct cluster_uv *cu = arg;
  struct cluster_isr_call *call = NULL;
  for (size_t i = 0; i < LINK_INFLIGHT_MAX && !call; i++)
    if (!cu->isr_calls[i].p) call = &cu->isr_calls[i];
  if (!call) return; /* again at a later tick */
  struct cluster_alter_msg m;
  cluster_report_msg(cu->b, p, what, &m);
  trace_warn("%s-%u: telling the controller this replica is %s", p->topic->name, p->id,
             what == 1 ? "DAMAGED" : "repaired");
  partition_ref(p);
  *call = (struct cluster_isr_call){cu, p};
  p->damage_sending = 1;
  if (link_send(&cu->ctl, &m.h, NULL, 0, on_damage_report, call)) {
    call->p = NULL;
    p->damage_sending = 0;
    partition_unref(p);
  }
}

/* ---- replica fetchers (replication/fetcher.c decides) ---- */

static void fetcher_perform(struct cluster_fetcher *f, const struct fetcher_update *u);

static void fetcher_event(struct cluster_fetcher *f, enum fetcher_event_type type,
                          enum fetcher_answer answer) {
  struct cluster_uv *cu = f->cu;
  struct fetcher_event e = follow_event(cu->b, f->st.leader, &f->st, type, now_ms());
  e.answer = answer;
  struct fetcher_update u;
  fetcher_step(&f->st, &e, &u);
  fetcher_perform(f, &u);
}

static void on_fetch_state(void *arg, int connected) {
  struct cluster_fetcher *f = arg;
  if (!f->cu->running || !f->used) return;
  fetcher_event(f, connected ? FETCHER_LINK_UP : FETCHER_LINK_DOWN, FETCHER_ANSWER_LOST);
}

static void on_fetch(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                     int err) {
  struct cluster_fetcher *f = arg;
  struct cluster_uv *cu = f->cu;
  if (!cu->running || !f->used) return;
  read_clocks(cu->b);
  enum fetcher_answer a = follow_answer(cu->b, f->st.leader, err ? NULL : resp, pl, pn);
  fetcher_event(f, FETCHER_ANSWER, a);
}

static void fetcher_perform(struct cluster_fetcher *f, const struct fetcher_update *u) {
  struct cluster_uv *cu = f->cu;
  if (u->close) link_close(&f->link);
  if (u->connect && !cu->tls_broken) link_connect(&f->link);
  if (u->send) {
    Strata__FetchRequest q;
    follow_request(cu->b, f->st.leader, &cu->fetch, &q);
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_FETCH;
    h.body_case = STRATA__HEADER__BODY_FETCH_REQ;
    h.fetch_req = &q;
    if (link_send(&f->link, &h, NULL, 0, on_fetch, f))
      fetcher_event(f, FETCHER_SEND_FAILED, FETCHER_ANSWER_LOST);
  }
}

/* The fetcher of `leader`, set up (or moved, when the leader's address
 * changed) as the metadata image says; NULL when there is no room or the
 * leader is unknown. */
static struct cluster_fetcher *fetcher_for(struct cluster_uv *cu, int32_t leader) {
  const struct peer *pe = broker_peer(cu->b, leader);
  if (!pe) return NULL;
  struct cluster_fetcher *f = NULL;
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX && !f; i++)
    if (cu->fetchers[i].used && cu->fetchers[i].st.leader == leader) f = &cu->fetchers[i];
  if (f && !strcmp(f->link.host, pe->host) && f->link.port == pe->port) return f;
  if (f) {
    f->used = 0; /* its link's callbacks are for a fetcher that is gone */
    link_close(&f->link);
  }
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX && !f; i++)
    if (!cu->fetchers[i].used) f = &cu->fetchers[i];
  if (!f) return NULL;
  memset(f, 0, sizeof *f);
  f->cu = cu;
  f->used = 1;
  fetcher_init(&f->st, leader);
  link_init(&f->link, cu->loop, pe->host, pe->port, on_fetch_state, f);
  link_set_source(&f->link, cu->b->cfg.source_addr);
  if (cu->peer_tls) link_set_tls(&f->link, cu->tls);
  if (cu->b->cfg.listener_sasl) link_set_sasl(&f->link, &cu->b->cfg.sasl); /* leaders' scheme is ours */
  return f;
}

/* Step every fetcher of a followed leader with `type` (a tick, or an fsync
 * that completed). */
static void fetchers_step(struct cluster_uv *cu, enum fetcher_event_type type) {
  int32_t leaders[CLUSTER_BROKERS_MAX];
  size_t nl = follow_leaders(cu->b, leaders, CLUSTER_BROKERS_MAX);
  for (size_t j = 0; j < nl; j++) {
    struct cluster_fetcher *f =
        type == FETCHER_TICK ? fetcher_for(cu, leaders[j]) : NULL;
    for (size_t i = 0; i < CLUSTER_BROKERS_MAX && !f; i++)
      if (cu->fetchers[i].used && cu->fetchers[i].st.leader == leaders[j]) f = &cu->fetchers[i];
    if (f) fetcher_event(f, type, FETCHER_ANSWER_LOST);
  }
}

void cluster_uv_after_sync(struct cluster_uv *cu) {
  if (cu->running) fetchers_step(cu, FETCHER_SYNCED);
}

/* ---- relaying admin requests ---- */

static void on_forward(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                       int err) {
  (void)pl, (void)pn;
  struct cluster_forward *fw = arg;
  if (!fw->used) return; /* requester gone */
  fw->used = 0;
  if (err) {
    fw->done(fw->arg, NULL, STRATA_ENOT_CONTROLLER);
    return;
  }
  /* A private copy: the link frees resp after this returns. */
  size_t n = strata__header__get_packed_size(resp);
  uint8_t *buf = malloc(n ? n : 1);
  Strata__Header *copy = NULL;
  if (buf) {
    strata__header__pack(resp, buf);
    wire_header_unpack(buf, n, &copy);
    free(buf);
  }
  fw->done(fw->arg, copy, copy ? 0 : STRATA_ENOMEM);
}

int cluster_uv_forward(struct cluster_uv *cu, const Strata__Header *req,
                       const struct principal *who, cluster_forward_cb done, void *arg) {
  struct cluster_forward *fw = NULL;
  for (size_t i = 0; i < FORWARDS_MAX && !fw; i++)
    if (!cu->forwards[i].used) fw = &cu->forwards[i];
  if (!fw || !cu->running || !cu->session.connected) return STRATA_ENOT_CONTROLLER;
  Strata__Header h = *req;
  h.is_response = 0;
  h.principal = who ? (char *)who->name : (char *)"";
  h.principal_host = who ? (char *)who->host : (char *)"";
  *fw = (struct cluster_forward){1, done, arg};
  if (link_send(&cu->ctl, &h, NULL, 0, on_forward, fw)) {
    fw->used = 0;
    return STRATA_ENOT_CONTROLLER;
  }
  return 0;
}

void cluster_uv_forward_cancel(struct cluster_uv *cu, void *arg) {
  for (size_t i = 0; i < FORWARDS_MAX; i++)
    if (cu->forwards[i].used && cu->forwards[i].arg == arg) cu->forwards[i].used = 0;
}

/* ---- timer and lifecycle ---- */

static void on_timer(uv_timer_t *t) {
  struct cluster_uv *cu = t->data;
  struct session_update u;
  read_clocks(cu->b);
  struct session_event e = {.type = SESSION_TICK, .now_ms = cu->b->now_ms};
  session_step(&cu->session, cu->b, &e, &u);
  session_perform(cu, &u);
  if (u.propose_isr) cluster_isr_changes(cu->b, e.now_ms, propose_isr, cu);
  if (u.propose_isr) integrity_repair_tick(cu->b, report_damage, cu);
  /* a log that opened again takes its role from the current image: ask for it again */
  if (u.propose_isr && offline_tick(cu->b, report_damage, cu) && cu->b->image_version > 0)
    cu->b->image_version--;
  if (!u.fetchers) fetchers_step(cu, FETCHER_TICK);
}

/* The links' TLS client context from the node's ssl.* settings: its own
 * certificate and key (presented when the peer asks: mutual TLS between
 * nodes), the CA its peers' certificates must chain to, and the host name
 * check unless ssl.endpoint.identification.algorithm is none. */
static int links_tls_ctx(const struct broker *b, struct tls_ctx **out) {
  char err[512];
  int rc = tls_ctx_new(TLS_ROLE_CLIENT, &b->cfg.tls, out, err, sizeof err);
  if (rc) trace_error("TLS for the links to the controller and leaders: %s", err);
  return rc;
}

void cluster_uv_reload_tls(struct cluster_uv *cu) {
  if (!cu->running || !cu->tls) return;
  struct tls_ctx *fresh;
  if (links_tls_ctx(cu->b, &fresh)) return;
  if (cu->ctl_tls) link_set_tls(&cu->ctl, fresh);
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++)
    if (cu->fetchers[i].used && cu->peer_tls) link_set_tls(&cu->fetchers[i].link, fresh);
  tls_ctx_unref(cu->tls); /* open sessions hold their own reference */
  cu->tls = fresh;
  trace_info("SIGHUP: TLS context of the outgoing links reloaded");
}

void cluster_uv_start(struct cluster_uv *cu, uv_loop_t *loop, struct broker *b,
                      void (*wake)(void *arg), void *wake_arg) {
  memset(cu, 0, sizeof *cu);
  cu->b = b;
  b->mono_clock = clock_mono_ms; /* bounds the time one image pass spends creating logs */
  cu->wake = wake;
  cu->wake_arg = wake_arg;
  cu->loop = loop;
  cu->running = 1;
  /* Every controller entry's scheme, as written: a TLS context when any
   * entry (or the brokers' listener) speaks TLS. */
  int any_ctl_tls = 0;
  for (int i = 0; i < b->cfg.ncontrollers; i++)
    any_ctl_tls |= b->cfg.controllers[i].protocol == LISTENER_SSL ||
                   b->cfg.controllers[i].protocol == LISTENER_SASL_SSL;
  cu->peer_tls = b->cfg.listener_tls;
  if ((any_ctl_tls || cu->peer_tls) && links_tls_ctx(b, &cu->tls)) cu->tls_broken = 1;
  session_init(&cu->session);
  ctl_aim(cu); /* the first entry */
  uv_timer_init(loop, &cu->timer);
  cu->timer.data = cu;
  uint64_t tick = (uint64_t)(b->cfg.heartbeat_ms < 50 ? b->cfg.heartbeat_ms : 50);
  uv_timer_start(&cu->timer, on_timer, 0, tick);
  trace_info("cluster mode: controller at %s:%d%s (%s; brokers over %s)", b->cfg.controller_host,
             b->cfg.controller_port,
             b->cfg.ncontrollers > 1 ? " and the other entries of its list" : "",
             cu->ctl_tls ? "TLS" : "plaintext", cu->peer_tls ? "TLS" : "plaintext");
}

void cluster_uv_stop(struct cluster_uv *cu) {
  if (!cu->running) return;
  cu->running = 0;
  uv_close((uv_handle_t *)&cu->timer, NULL);
  ctl_close(cu);
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++)
    if (cu->fetchers[i].used) link_close(&cu->fetchers[i].link);
  for (size_t i = 0; i < FORWARDS_MAX; i++)
    if (cu->forwards[i].used) {
      cu->forwards[i].used = 0;
      cu->forwards[i].done(cu->forwards[i].arg, NULL, STRATA_ESHUTTING_DOWN);
    }
  tls_ctx_unref(cu->tls);
  cu->tls = NULL;
}
