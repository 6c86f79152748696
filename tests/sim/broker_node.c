/* A broker in the simulator: the real broker logic (dispatch_handle, the
 * metadata_*, cluster_* and flush_* functions, seglog on /dev/shm) with the
 * simulator in place of broker/server_uv.c and broker/cluster_uv.c. It does
 * what those do, in the same order: answers leave per connection in request
 * order once durable or replicated; parked fetches re-run when a high
 * watermark moves; one fsync per dirty partition at a time; register,
 * heartbeat, fetch from leaders, propose ISR changes. Fsyncs complete after a
 * simulated disk delay. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/follow.h"
#include "broker/dispatch.h"
#include "broker/flush.h"
#include "broker/group_handlers.h"
#include "broker/integrity.h"
#include "broker/offline.h"
#include "broker/metadata.h"
#include "broker/offsets_log.h"
#include "broker/response.h"
#include "broker/session.h"
#include "common/batch.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/wire.h"
#include "replication/fetcher.h"
#include "tests/sim/sim.h"

struct pend {
  struct pend *next;
  int from;
  uint64_t rpc_id;
  Strata__Header *req; /* kept while a fetch is parked */
  uint8_t *payload;
  struct response resp;
  int waiting;
};

struct syncw {
  struct syncw *next;
  struct partition *p;
  struct seglog_sync job; /* its fds are closed at once: tmpfs */
  int64_t done_at;
};

struct bnode {
  struct broker b;
  struct broker_config cfg;
  struct session session;              /* broker/session.c's state, as in cluster_uv.c */
  struct fetcher fetchers[SIM_NODES_MAX]; /* replication/fetcher.c's, by leader id */
  struct follow_storage *fetch;  /* a fetch request's entries */
  struct pend *head, *tail;
  struct syncw *syncs;
  uint64_t fetch_hw_seen;
  int ctl_link;    /* the controller node the session's link is on (SIM_CONTROLLER at first) */
  int ctl_closing; /* closing that link: its calls' failures are no session events */
  int had_topic; /* it held the sim topic: it must never delete it (no delete is issued) */
  struct seen {  /* what the transcript said last of each sim-topic replica */
    int known, role;
    int32_t leader, epoch;
    char isr[64];
    int64_t end;
  } seen[SIM_PARTS_MAX];
};

static struct bnode *bn(struct sim *s, int id) { return s->nodes[id].impl; }

/* As the glue reads both clocks once per turn: monotonic for every timeout
 * (the simulated time), wall for timestamps (clock-jump steps it an hour at a time). */
static void sim_clocks(struct sim *s, int id, struct broker *b) {
  b->now_ms = s->now;
  b->wall_ms = s->now + s->nodes[id].wall_offset_ms;
}

static int config_for(struct sim *s, int id, struct broker_config *out) {
  struct config *c = config_new();
  if (!c) return -1;
  char v[PATH_MAX];
  snprintf(v, sizeof v, "%d", id);
  config_set(c, "broker.id", v);
  snprintf(v, sizeof v, "%s/broker-%d", s->dir, id);
  config_set(c, "log.dir", v);
  config_set(c, "host", "sim");
  snprintf(v, sizeof v, "%d", 9000 + id);
  config_set(c, "port", v);
  if (s->nctl > 1) { /* the quorum's voters, as controller.quorum.voters names them */
    char list[256] = "";
    for (int k = 0; k < s->nctl; k++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%sctl%d:9000", k ? "," : "", k);
    config_set(c, "controller", list);
  } else {
    config_set(c, "controller", "sim:9000");
  }
  config_set(c, "log.level", "error");
  config_set(c, "log.segment.bytes", "65536"); /* rolls happen in short runs too */
  /* The scrubber, fast: a pass a second over logs of a few hundred KB, so
   * damage a scenario planted is found within the run (issue 15). */
  config_set(c, "log.scrub.bytes.per.second", "20000000");
  config_set(c, "log.scrub.interval.ms", "1000");
  char err[256];
  int rc = broker_config_from(c, out, err, sizeof err);
  if (rc) fprintf(stderr, "sim: broker config: %s\n", err);
  config_free(c);
  return rc;
}

/* ---- answers ---- */

static void pend_free(struct pend *p) {
  if (p->req) wire_header_free(p->req);
  free(p->payload);
  response_free(&p->resp);
  free(p);
}

static void send_answer(struct sim *s, int id, struct pend *p) {
  if (p->resp.silent) return;
  int32_t epoch = -1;
  if (p->resp.hdr.body_case == STRATA__HEADER__BODY_PRODUCE_RESP) {
    /* property 4: remember under which leader epoch this broker said yes */
    const Strata__ProduceResponse *r = p->resp.hdr.produce_resp;
    for (size_t i = 0; i < r->n_partitions; i++) {
      struct partition *part =
          topics_partition(&bn(s, id)->b.topics, r->partitions[i]->topic, r->partitions[i]->partition);
      if (part && !r->partitions[i]->error_code) epoch = part->rep.leader_epoch;
    }
  }
  net_send(s, id, p->from, &p->resp.hdr, p->resp.payload, p->resp.payload_len, 1, p->rpc_id, epoch);
}

/* Answers leave per connection in request order: one still waiting holds
 * those behind it from the same peer. */
static void flush(struct sim *s, int id) {
  struct bnode *n = bn(s, id);
  int blocked[SIM_NODES_MAX] = {0};
  struct pend **pp = &n->head;
  n->tail = NULL;
  while (*pp) {
    struct pend *p = *pp;
    if (p->waiting || blocked[p->from]) {
      blocked[p->from] = 1;
      n->tail = p;
      pp = &p->next;
      continue;
    }
    *pp = p->next;
    send_answer(s, id, p);
    pend_free(p);
  }
}

static void wake(struct sim *s, int id) {
  struct bnode *n = bn(s, id);
  struct broker *b = &n->b;
  sim_clocks(s, id, b);
  int refetch = n->fetch_hw_seen != b->hw_version;
  n->fetch_hw_seen = b->hw_version;
  for (struct pend *p = n->head; p; p = p->next) {
    if (!p->waiting) continue;
    if (p->req) {
      if (refetch) {
        dispatch_fetch_again(b, p->req, &p->resp, 0);
        if (!p->resp.park) p->waiting = 0;
      }
    } else if (response_ready(b, &p->resp)) {
      p->waiting = 0;
    }
  }
  flush(s, id);
}

static void deadlines(struct sim *s, int id) {
  struct bnode *n = bn(s, id);
  struct broker *b = &n->b;
  sim_clocks(s, id, b);
  for (struct pend *p = n->head; p; p = p->next) {
    if (!p->waiting || !p->resp.deadline_ms || p->resp.deadline_ms > s->now) continue;
    if (p->req) dispatch_fetch_again(b, p->req, &p->resp, 1);
    else response_expire(&p->resp);
    p->waiting = 0;
  }
  flush(s, id);
}

/* ---- fsync ---- */

static int64_t disk_delay(struct sim *s, int id) {
  if (s->nodes[id].disk_slow_until > s->now) return rng_range(&s->rng, 100, 700);
  return rng_range(&s->rng, 1, 6);
}

struct commit_ctx {
  struct sim *s;
  int id;
};

/* A sync the glue would run on the loop (on_loop) takes the same disk time
 * here: the simulated loop does not block, only the order of events counts. */
static void sim_fsync_start(void *arg, struct partition *p, struct seglog_sync *job, int on_loop) {
  (void)on_loop;
  struct commit_ctx *c = arg;
  struct bnode *n = bn(c->s, c->id);
  struct syncw *w = calloc(1, sizeof *w);
  if (!w) abort();
  w->p = p;
  w->done_at = c->s->now;
  for (unsigned k = 0; k < job->n; k++) w->done_at += disk_delay(c->s, c->id); /* one per fsync */
  w->job = *job;
  seglog_sync_discard(&w->job); /* tmpfs: the "fsyncs" are the delay above */
  w->next = n->syncs;
  n->syncs = w;
}

static void commit(struct sim *s, int id) {
  struct commit_ctx c = {s, id};
  flush_begin(&bn(s, id)->b, 1, sim_fsync_start, &c);
}

static void fetchers_step(struct sim *s, int id, enum fetcher_event_type type);

static void syncs_done(struct sim *s, int id) {
  struct bnode *n = bn(s, id);
  int any = 0;
  struct syncw **pp = &n->syncs;
  while (*pp) {
    struct syncw *w = *pp;
    if (w->done_at > s->now) {
      pp = &w->next;
      continue;
    }
    *pp = w->next;
    flush_done(&n->b, w->p, &w->job, 0);
    free(w);
    any = 1;
  }
  if (any) {
    wake(s, id);
    fetchers_step(s, id, FETCHER_SYNCED);
  }
}

/* ---- the controller session: broker/session.c decides, as for
 * cluster_uv.c; the simulated network has no connection set-up, so a
 * connect is up at once and a refused call is a lost link ---- */

static void session_perform(struct sim *s, int id, const struct session_update *u);

static void session_event(struct sim *s, int id, struct session_event e) {
  struct bnode *n = bn(s, id);
  struct session_update u;
  e.now_ms = s->now;
  sim_clocks(s, id, &n->b);
  session_step(&n->session, &n->b, &e, &u);
  session_perform(s, id, &u);
}

static void on_session_answer(struct sim *s, struct sim_node *sn, void *arg,
                              const Strata__Header *resp, const uint8_t *pl, size_t pn, int err) {
  (void)pl, (void)pn;
  if (bn(s, sn->id)->ctl_closing) return; /* the session counted it lost when it closed the link */
  session_event(s, sn->id,
                (struct session_event){.type = err ? SESSION_LOST : SESSION_ANSWER,
                                       .call = (enum session_call)(intptr_t)arg,
                                       .answer = err ? NULL : resp});
}

static void fetchers_step(struct sim *s, int id, enum fetcher_event_type type);

/* The controller node the session aims at (session_target's address:
 * "ctlK" is quorum controller K; the single controller otherwise). */
static int ctl_target(struct sim *s, struct bnode *n) {
  if (s->nctl <= 1) return SIM_CONTROLLER;
  struct session_addr a;
  session_target(&n->session, &n->b, &a);
  if (!strncmp(a.host, "ctl", 3)) {
    int k = atoi(a.host + 3);
    if (k >= 0 && k < s->nctl) return sim_ctl_node(k);
  }
  return -1; /* an address outside the list: nothing listens there */
}

static void session_perform(struct sim *s, int id, const struct session_update *u) {
  struct bnode *n = bn(s, id);
  if (u->close && s->nctl > 1) { /* as cluster_uv.c's ctl_close: its calls end with the link */
    n->ctl_closing = 1;
    net_fail_calls(s, id, n->ctl_link);
    n->ctl_closing = 0;
  }
  if (u->connect && s->nctl > 1) {
    n->ctl_link = ctl_target(s, n);
    if (n->ctl_link < 0 || !s->nodes[n->ctl_link].up) { /* refused */
      if (n->ctl_link < 0) n->ctl_link = SIM_CONTROLLER;
      session_event(s, id, (struct session_event){.type = SESSION_LINK_DOWN});
      return;
    }
  }
  if (u->connect) session_event(s, id, (struct session_event){.type = SESSION_LINK_UP});
  for (unsigned i = 0; i < SESSION_CALLS; i++) {
    enum session_call call = (enum session_call)(1u << i);
    if (!(u->send & call)) continue;
    struct session_request r;
    session_request(&n->b, call, &r);
    if (net_call(s, id, n->ctl_link, &r.h, NULL, 0, 1000, on_session_answer,
                 (void *)(intptr_t)call)) {
      session_event(s, id, (struct session_event){.type = SESSION_LINK_DOWN});
      break;
    }
  }
  if (u->wake) wake(s, id);
  if (u->fetchers) fetchers_step(s, id, FETCHER_TICK);
}

/* ---- ISR changes ---- */

struct alter_arg {
  int id;
  struct partition *p;
};

static void sim_isr_answered(struct sim *s, struct sim_node *sn, void *arg, const Strata__Header *resp,
                         const uint8_t *pl, size_t pn, int err) {
  (void)sn, (void)pl, (void)pn;
  struct alter_arg *a = arg;
  const Strata__PartitionState *st = NULL;
  if (!err && resp->body_case == STRATA__HEADER__BODY_ALTER_ISR_RESP) st = resp->alter_isr_resp->state;
  if (s->nodes[a->id].up) {
    cluster_isr_answer(&bn(s, a->id)->b, a->p, st, !err && resp->error_code);
    wake(s, a->id);
  }
  partition_unref(a->p);
  free(a);
}

struct isr_ctx {
  struct sim *s;
  int id;
};

static void sim_propose_isr(void *arg, struct partition *p, const int32_t *isr, uint32_t n) {
  struct isr_ctx *c = arg;
  struct bnode *node = bn(c->s, c->id);
  struct cluster_alter_msg m;
  cluster_alter_isr_msg(&node->b, p, isr, n, &m);
  struct alter_arg *a = malloc(sizeof *a);
  if (!a) abort();
  a->id = c->id;
  a->p = p;
  partition_ref(p);
  if (net_call(c->s, c->id, node->ctl_link, &m.h, NULL, 0, 1000, sim_isr_answered, a)) {
    partition_unref(p);
    free(a);
    return;
  }
  cluster_isr_sent(p, isr, n);
  if (c->s->trap_isr_expand && n > p->rep.isr.nisr) {
    c->s->trap_isr_expand = 0;
    sim_trap_isr_expand(c->s, c->id);
  }
}

/* A damage report (broker/integrity.c decides), as cluster_uv.c sends it. */
static void sim_damage_answered(struct sim *s, struct sim_node *sn, void *arg,
                                const Strata__Header *resp, const uint8_t *pl, size_t pn, int err) {
  (void)s, (void)sn, (void)resp, (void)pl, (void)pn, (void)err;
  struct alter_arg *a = arg;
  a->p->damage_sending = 0;
  partition_unref(a->p);
  free(a);
}

static void sim_report_damage(void *arg, struct partition *p, int what) {
  struct isr_ctx *c = arg;
  struct bnode *node = bn(c->s, c->id);
  struct cluster_alter_msg m;
  cluster_report_msg(&node->b, p, what, &m);
  struct alter_arg *a = malloc(sizeof *a);
  if (!a) abort();
  a->id = c->id;
  a->p = p;
  partition_ref(p);
  p->damage_sending = 1;
  if (net_call(c->s, c->id, SIM_CONTROLLER, &m.h, NULL, 0, 1000, sim_damage_answered, a)) {
    p->damage_sending = 0;
    partition_unref(p);
    free(a);
    return;
  }
  sim_log(c->s, "broker %d reports %s-%u %s", c->id, p->topic->name, p->id,
          what == 1 ? "damaged" : "repaired");
}

/* ---- replica fetchers: replication/fetcher.c decides, as for cluster_uv.c ---- */

static void fetcher_perform(struct sim *s, int id, int32_t leader, const struct fetcher_update *u);

static void fetcher_event(struct sim *s, int id, int32_t leader, enum fetcher_event_type type,
                          enum fetcher_answer answer) {
  struct bnode *n = bn(s, id);
  struct fetcher_event e = follow_event(&n->b, leader, &n->fetchers[leader], type, s->now);
  e.answer = answer;
  struct fetcher_update u;
  fetcher_step(&n->fetchers[leader], &e, &u);
  fetcher_perform(s, id, leader, &u);
}

static void sim_fetch_answered(struct sim *s, struct sim_node *sn, void *arg, const Strata__Header *resp,
                     const uint8_t *pl, size_t pn, int err) {
  int32_t leader = (int32_t)(intptr_t)arg;
  struct bnode *n = sn->impl;
  sim_clocks(s, sn->id, &n->b);
  if (!err && resp->body_case == STRATA__HEADER__BODY_FETCH_RESP && resp->fetch_resp->session_error)
    s->st.fetch_session_refused++;
  enum fetcher_answer a = follow_answer(&n->b, leader, err ? NULL : resp, pl, pn);
  if (a == FETCHER_ANSWER_BAD)
    sim_violation(s, "broker %d: a fetch answer from %d does not add up", sn->id, leader);
  if (a == FETCHER_ANSWER_PROGRESS) commit(s, sn->id); /* as the glue's per-turn commit */
  fetcher_event(s, sn->id, leader, FETCHER_ANSWER, a);
}

static void fetcher_perform(struct sim *s, int id, int32_t leader, const struct fetcher_update *u) {
  struct bnode *n = bn(s, id);
  if (u->close) fetcher_event(s, id, leader, FETCHER_LINK_DOWN, FETCHER_ANSWER_LOST);
  if (u->connect) fetcher_event(s, id, leader, FETCHER_LINK_UP, FETCHER_ANSWER_LOST);
  if (u->send) {
    Strata__FetchRequest q;
    follow_request(&n->b, leader, n->fetch, &q);
    if (q.session_epoch > 0) s->st.fetch_incremental++;
    else s->st.fetch_full++;
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_FETCH;
    h.body_case = STRATA__HEADER__BODY_FETCH_REQ;
    h.fetch_req = &q;
    if (net_call(s, id, leader, &h, NULL, 0, n->b.cfg.replica_fetch_wait_ms + 1000, sim_fetch_answered,
                 (void *)(intptr_t)leader))
      fetcher_event(s, id, leader, FETCHER_LINK_DOWN, FETCHER_ANSWER_LOST); /* refused */
  }
}

/* Step the fetcher of every followed leader with `type`. */
static void fetchers_step(struct sim *s, int id, enum fetcher_event_type type) {
  struct bnode *n = bn(s, id);
  int32_t leaders[SIM_NODES_MAX];
  size_t nl = follow_leaders(&n->b, leaders, SIM_NODES_MAX);
  for (size_t j = 0; j < nl; j++) {
    int32_t l = leaders[j];
    if (l <= 0 || l >= SIM_CLIENT0) continue; /* brokers are 1..7 */
    if (n->fetchers[l].leader != l) fetcher_init(&n->fetchers[l], l);
    fetcher_event(s, id, l, type, FETCHER_ANSWER_LOST);
  }
}

/* ---- requests from peers and clients ---- */

void bnode_request(struct sim *s, int id, const struct sim_msg *m) {
  struct bnode *n = bn(s, id);
  struct broker *b = &n->b;
  sim_clocks(s, id, b);
  struct pend *p = calloc(1, sizeof *p);
  if (!p) abort();
  response_init(&p->resp);
  p->from = m->from;
  p->rpc_id = m->rpc_id;
  if (wire_header_unpack(m->hdr, m->hdr_len, &p->req)) {
    response_error(&p->resp, NULL, STRATA_EINVALID_REQUEST, "malformed request header");
  } else {
    if (m->payload_len) {
      p->payload = malloc(m->payload_len);
      if (!p->payload) abort();
      memcpy(p->payload, m->payload, m->payload_len);
    }
    /* the simulator runs without the authorizer: who is anonymous */
    dispatch_handle(b, NULL, p->req, p->payload, (uint32_t)m->payload_len, &p->resp);
    if (p->resp.forward) /* admin requests go to the controller directly in the sim */
      response_error(&p->resp, p->req, STRATA_EINVALID_REQUEST, "not relayed in the simulator");
  }
  if (p->resp.park) p->waiting = 1;
  else if (p->resp.nwaits && !response_ready(b, &p->resp)) p->waiting = 1;
  if (!p->resp.park && p->req) {
    wire_header_free(p->req);
    p->req = NULL;
  }
  if (n->tail) n->tail->next = p;
  else n->head = p;
  n->tail = p;
  commit(s, id); /* appends start their fsync this turn */
  flush(s, id);
}

void bnode_peer_closed(struct sim *s, int id, int peer) {
  struct bnode *n = bn(s, id);
  if (peer == n->ctl_link) session_event(s, id, (struct session_event){.type = SESSION_LINK_DOWN});
  else if (peer > 0 && peer < SIM_NODES_MAX && n->fetchers[peer].leader == peer)
    fetcher_event(s, id, peer, FETCHER_LINK_DOWN, FETCHER_ANSWER_LOST);
  /* Answers owed to a peer whose connection closed are dropped. */
  struct pend **pp = &n->head;
  while (*pp) {
    struct pend *p = *pp;
    if (p->from == peer) {
      *pp = p->next;
      pend_free(p);
    } else {
      pp = &p->next;
    }
  }
  n->tail = NULL;
  for (struct pend *p = n->head; p; p = p->next) n->tail = p;
}

/* Retention, as server_uv.c runs it on every partition. */
static void retention(struct sim *s, int id) {
  struct broker *b = &bn(s, id)->b;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++)
      if (seglog_apply_retention(b->topics.v[i]->parts[k]->log, b->wall_ms) < 0)
        sim_violation(s, "broker %d: retention on %s-%u failed", id, b->topics.v[i]->name, k);
}

void bnode_tick(struct sim *s, int id) {
  struct bnode *n = bn(s, id);
  int has = topics_find(&n->b.topics, SIM_TOPIC) != NULL;
  if (n->had_topic && !has) sim_violation(s, "broker %d deleted topic %s (nobody deleted it)", id, SIM_TOPIC);
  n->had_topic = has;
  sim_clocks(s, id, &n->b);
  syncs_done(s, id);
  struct session_update u;
  struct session_event e = {.type = SESSION_TICK, .now_ms = s->now};
  session_step(&n->session, &n->b, &e, &u);
  session_perform(s, id, &u);
  struct isr_ctx c = {s, id};
  if (u.propose_isr) cluster_isr_changes(&n->b, s->now, sim_propose_isr, &c);
  if (u.propose_isr) integrity_repair_tick(&n->b, sim_report_damage, &c);
  if (u.propose_isr && offline_tick(&n->b, sim_report_damage, &c) && n->b.image_version > 0)
    n->b.image_version--; /* as cluster_uv.c */
  struct integrity_scrub_job sj; /* the scrub timer of server_uv.c; its thread pool's run here */
  if (integrity_scrub_next(&n->b, s->now, &sj)) {
    seglog_scrub_run(&sj.j);
    integrity_scrub_done(&n->b, &sj, s->now);
  }
  if (!u.fetchers) fetchers_step(s, id, FETCHER_TICK);
  deadlines(s, id);
  if (s->now % 100 == 0) group_handlers_tick(&n->b); /* the group timer of server_uv.c */
  if (s->now % 1000 == 0) retention(s, id);          /* its retention timer */
  wake(s, id);
  commit(s, id);
}

/* ---- process life ---- */

int bnode_start(struct sim *s, int id) {
  struct sim_node *sn = &s->nodes[id];
  struct bnode *n = sn->impl;
  if (!n) {
    n = calloc(1, sizeof *n);
    if (!n) abort();
    sn->impl = n;
  }
  struct follow_storage *fetch = n->fetch;
  memset(n, 0, sizeof *n);
  n->fetch = fetch ? fetch : malloc(sizeof *n->fetch);
  if (!n->fetch) abort();
  session_init(&n->session);
  if (config_for(s, id, &n->cfg)) return -1;
  char err[512];
  if (broker_open(&n->b, &n->cfg, s->now, s->now + s->nodes[id].wall_offset_ms, err, sizeof err)) {
    if (s->dying != id) /* T20: killed inside its start: not a failure to start */
      sim_violation(s, "broker %d does not start: %s", id, err);
    broker_close(&n->b); /* as strata-broker's main after a failed start */
    return -1;
  }
  if (!n->b.cluster) offsets_log_sync(&n->b); /* as server_run */
  integrity_init(&n->b, s->now);                /* as server_run: the scrubber's pacing */
  sn->up = 1;
  sn->paused = 0;
  return 0;
}

/* The process ends: answers owed and fsyncs running are gone with it. */
static void stop(struct bnode *n) {
  while (n->head) {
    struct pend *p = n->head;
    n->head = p->next;
    pend_free(p);
  }
  n->tail = NULL;
  while (n->syncs) {
    struct syncw *w = n->syncs;
    n->syncs = w->next;
    flush_sync_failed(&n->b, w->p); /* abandoned with the node */
    free(w);
  }
  broker_close(&n->b);
}

/* One file a crash may damage: a segment whose bytes from `pos` were never
 * synced (a prefix of them survives, maybe with a garbled byte), or, with
 * drop, a segment file whose directory entry may be lost with its
 * indexes. */
struct tear {
  char path[PATH_MAX];
  uint64_t pos;
  int drop;
};
#define TEARS_MAX 256

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

/* The segment files of `dir` named after `after` (20-digit base + .log, so
 * names sort as offsets), sorted; at most max of them. */
static size_t later_segments(const char *dir, const char *after, char names[][32], size_t max) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    size_t len = strlen(e->d_name);
    if (len != 24 || strcmp(e->d_name + 20, ".log") || strcmp(e->d_name, after) <= 0) continue;
    memcpy(names[n++], e->d_name, 25); /* 24 characters and the NUL */
  }
  closedir(d);
  qsort(names, n, 32, cmp_name);
  return n;
}

/* What of each partition was never synced: its bytes from the durable
 * offset in the segment holding it, and every later segment whole (rolled
 * with their fsyncs in the background, so one may be closed and torn while
 * a later one survives). A crash may keep any prefix of each (a torn
 * write), and may lose the directory entries of segments created after the
 * durable one (a suffix of them: the directory fsync had not run). */
static size_t unsynced_ranges(struct sim *s, struct broker *b, struct tear *out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart && n < max; k++) {
      struct seglog *log = b->topics.v[i]->parts[k]->log;
      int64_t durable = seglog_durable_offset(log), end = seglog_end_offset(log);
      if (durable >= end) continue;
      struct seglog_slice sl;
      if (seglog_read(log, durable, 1, end, &sl) || sl.len == 0) continue;
      char link[64], path[PATH_MAX];
      snprintf(link, sizeof link, "/proc/self/fd/%d", sl.fd);
      ssize_t len = readlink(link, path, sizeof path - 1);
      if (len <= 0) continue;
      path[len] = 0;
      snprintf(out[n].path, sizeof out[n].path, "%s", path);
      out[n].pos = sl.pos;
      out[n].drop = 0;
      n++;
      char *slash = strrchr(path, '/');
      if (!slash) continue;
      *slash = 0;
      char names[64][32];
      size_t nl = later_segments(path, slash + 1, names, 64);
      /* Directory entries lost from here on (nl: none). */
      size_t lost = nl && rng_chance(&s->rng, 30) ? (size_t)rng_range(&s->rng, 0, (int64_t)nl - 1)
                                                  : nl;
      for (size_t l = 0; l < nl && n < max; l++) {
        if (snprintf(out[n].path, sizeof out[n].path, "%s/%s", path, names[l]) >=
            (int)sizeof out[n].path)
          continue;
        out[n].pos = 0;
        out[n].drop = l >= lost;
        n++;
      }
    }
  return n;
}

/* Remove a segment's three files, as a lost directory entry would. */
static void drop_segment(struct sim *s, const char *log_path) {
  static const char *const exts[] = {".log", ".index", ".timeindex"};
  size_t len = strlen(log_path);
  for (size_t e = 0; e < 3; e++) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%.*s%s", (int)(len - 4), log_path, exts[e]);
    if (unlink(p) && errno != ENOENT) sim_violation(s, "cannot remove %s", p);
  }
}

void bnode_crash(struct sim *s, int id, int wipe) {
  struct sim_node *sn = &s->nodes[id];
  struct bnode *n = sn->impl;
  if (!sn->up) return;
  static struct tear tears[TEARS_MAX];
  size_t nt = unsynced_ranges(s, &n->b, tears, TEARS_MAX);
  stop(n); /* its fsyncs are undone below */
  for (size_t i = 0; i < nt; i++) {
    if (tears[i].drop) {
      drop_segment(s, tears[i].path);
      continue;
    }
    int fd = open(tears[i].path, O_RDWR);
    if (fd < 0) continue;
    off_t size = lseek(fd, 0, SEEK_END);
    if (size > (off_t)tears[i].pos) {
      off_t keep = (off_t)rng_range(&s->rng, (int64_t)tears[i].pos, (int64_t)size);
      if (ftruncate(fd, keep)) sim_violation(s, "cannot truncate %s", tears[i].path);
      if (keep > (off_t)tears[i].pos && rng_chance(&s->rng, 30)) {
        uint8_t junk = (uint8_t)rng_next(&s->rng);
        off_t at = (off_t)rng_range(&s->rng, (int64_t)tears[i].pos, (int64_t)keep - 1);
        if (pwrite(fd, &junk, 1, at) != 1) sim_violation(s, "cannot write %s", tears[i].path);
      }
    }
    close(fd);
  }
  if (wipe) {
    if (sim_rm_rf(n->cfg.log_dir)) sim_violation(s, "cannot wipe %s", n->cfg.log_dir);
  }
  sn->up = 0;
  sn->paused = 0;
  net_node_down(s, id);
}

void bnode_free(struct sim *s, int id) {
  struct sim_node *sn = &s->nodes[id];
  if (sn->up) {
    stop(sn->impl);
    sn->up = 0;
  }
  if (sn->impl) free(((struct bnode *)sn->impl)->fetch);
  free(sn->impl);
  sn->impl = NULL;
}

/* ---- what the checks read ---- */

static struct partition *part_of(struct sim *s, int id, uint32_t part) {
  if (!s->nodes[id].up) return NULL;
  return topics_partition(&bn(s, id)->b.topics, SIM_TOPIC, part);
}

int32_t bnode_leader_of(struct sim *s, int id, uint32_t part) {
  struct partition *p = part_of(s, id, part);
  return p ? p->rep.leader : -1;
}

int bnode_isr_size(struct sim *s, int id, uint32_t part) {
  struct partition *p = part_of(s, id, part);
  return p ? (int)p->rep.isr.nisr : -1;
}

int32_t bnode_epoch(struct sim *s, int id, uint32_t part) {
  struct partition *p = part_of(s, id, part);
  return p ? p->rep.leader_epoch : -1;
}

int64_t bnode_hw(struct sim *s, int id, uint32_t part) {
  struct partition *p = part_of(s, id, part);
  return p && p->rep.role == ROLE_LEADER ? p->rep.hw : -1;
}

/* The controller the broker's Metadata answers name (-2: the broker is down). */
int32_t bnode_controller_id(struct sim *s, int id) {
  return s->nodes[id].up ? bn(s, id)->b.controller_id : -2;
}

int64_t bnode_end(struct sim *s, int id, uint32_t part) {
  struct partition *p = part_of(s, id, part);
  return p ? seglog_end_offset(p->log) : -1;
}

/* One line per change of a replica's role, leader, epoch or ISR, and per
 * cut of its log: the replication story of a run, independent of timing
 * inside a tick, so a refactor that changes behaviour shows as a diff. */
void bnode_transcript(struct sim *s, int id) {
  struct bnode *n = bn(s, id);
  for (uint32_t k = 0; k < SIM_PARTS_MAX; k++) {
    struct partition *p = part_of(s, id, k);
    if (!p) continue;
    struct seen now = {1, p->rep.role, p->rep.leader, p->rep.leader_epoch, "", seglog_end_offset(p->log)};
    size_t off = 0;
    for (uint32_t i = 0; i < p->rep.isr.nisr && off < sizeof now.isr; i++)
      off += (size_t)snprintf(now.isr + off, sizeof now.isr - off, "%s%d", i ? "," : "",
                              p->rep.isr.isr[i]);
    struct seen *was = &n->seen[k];
    if (was->known && now.end < was->end)
      fprintf(s->transcript, "[%7" PRId64 "] b%d p%u: log cut from %" PRId64 " to %" PRId64 "\n",
              s->now, id, k, was->end, now.end);
    if (!was->known || was->role != now.role || was->leader != now.leader ||
        was->epoch != now.epoch || strcmp(was->isr, now.isr))
      fprintf(s->transcript, "[%7" PRId64 "] b%d p%u: %s, leader %d epoch %d isr {%s}\n", s->now, id,
              k,
              now.role == ROLE_LEADER     ? "leader"
              : now.role == ROLE_FOLLOWER ? "follower"
                                          : "no role",
              now.leader, now.epoch, now.isr);
    *was = now;
  }
}

/* The hosting rule (broker/topics.h): a log, and a directory, for exactly
 * the partitions whose replicas (as the last image gave them) include the
 * broker. */
static void check_hosting(struct sim *s, int id, const struct partition *p) {
  if (!p->rep.isr.nreplicas) return; /* no image assigned it yet */
  int mine = isr_contains(p->rep.isr.replicas, p->rep.isr.nreplicas, id);
  char path[PATH_MAX + 64];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s-%u", bn(s, id)->cfg.log_dir, SIM_TOPIC, p->id);
  int on_disk = stat(path, &st) == 0;
  if (mine != p->hosted || mine != on_disk)
    sim_violation(s, "broker %d partition %u: %s a replica, yet hosted %d, directory %s", id,
                  p->id, mine ? "is" : "is not", p->hosted, on_disk ? "there" : "absent");
}

void bnode_dump(struct sim *s, int id, const int64_t *hw, uint32_t nparts) {
  struct batch_scratch sc = {0};
  const char *dump = getenv("SIM_DUMP"); /* print the logs around this offset */
  int64_t around = dump ? atoll(dump) : -1;
  for (uint32_t k = 0; k < nparts; k++) {
    struct partition *p = part_of(s, id, k);
    if (!p) continue;
    check_hosting(s, id, p);
    int64_t off = seglog_start_offset(p->log), end = seglog_end_offset(p->log);
    if (end > hw[k]) end = hw[k];
    if (off > 0) sim_history(s, "S b%d %u %" PRId64, id, k, off); /* retention deleted below */
    while (off < end) {
      struct seglog_slice sl;
      if (seglog_read(p->log, off, 1u << 20, end, &sl) || sl.len == 0) break;
      uint8_t *buf = malloc(sl.len);
      if (!buf || pread(sl.fd, buf, sl.len, (off_t)sl.pos) != (ssize_t)sl.len) {
        free(buf);
        sim_violation(s, "broker %d: cannot read its log", id);
        break;
      }
      size_t pos = 0;
      int64_t next = off;
      while (pos + BATCH_HEADER_SIZE <= sl.len) {
        struct batch_header bh;
        if (batch_header_decode(buf + pos, sl.len - pos, &bh)) break;
        size_t sz = batch_total_size(&bh);
        if (sz > sl.len - pos) break;
        struct batch_iter it;
        struct batch_record r;
        if (batch_iter_init(&it, buf + pos, sz, &sc)) {
          sim_violation(s, "broker %d partition %u: batch at %" PRId64 " fails its CRC below the HW",
                        id, k, bh.base_offset);
        } else {
          while (batch_iter_next(&it, &r) > 0) {
            if (around >= 0 && r.offset >= around - 5 && r.offset <= around + 5)
              fprintf(stderr, "b%d p%u off %" PRId64 " epoch %d %.*s\n", id, k, r.offset,
                      bh.leader_epoch, (int)r.value_len, (const char *)r.value);
            if (r.offset < end)
              sim_history(s, "L b%d %u %" PRId64 " %.*s", id, k, r.offset, (int)r.value_len,
                          (const char *)r.value);
          }
        }
        next = bh.base_offset + bh.last_offset_delta + 1;
        pos += sz;
      }
      free(buf);
      if (next <= off) break;
      off = next;
    }
  }
  batch_scratch_free(&sc);
}
