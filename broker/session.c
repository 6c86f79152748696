#include "broker/session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/metadata.h"
#include "broker/offsets_log.h"
#include "common/assert.h"
#include "common/errors.h"
#include "common/trace.h"

void session_init(struct session *s) { memset(s, 0, sizeof *s); }

static int nctl(const struct broker *b) { return b->cfg.ncontrollers > 1 ? b->cfg.ncontrollers : 1; }

void session_target(const struct session *s, const struct broker *b, struct session_addr *out) {
  if (s->target < 0) {
    out->host = s->hint_host;
    out->port = s->hint_port;
    out->protocol = b->cfg.ncontrollers ? b->cfg.controllers[0].protocol : LISTENER_PLAINTEXT;
    return;
  }
  if (!b->cfg.ncontrollers) { /* a test's broker without the list */
    out->host = b->cfg.controller_host;
    out->port = b->cfg.controller_port;
    out->protocol = b->cfg.controller_protocol;
    return;
  }
  const struct controller_addr *a = &b->cfg.controllers[s->target];
  out->host = a->host;
  out->port = a->port;
  out->protocol = a->protocol;
}

/* Whether there is another controller to move to: several in the list, or
 * the session is on an address an answer named. With one, the session
 * stays with it as it always did (reconnects, never times calls out). */
static int can_move(const struct session *s, const struct broker *b) {
  return nctl(b) > 1 || s->target < 0;
}

/* The list entry an answer's hint names ("[SCHEME://]HOST:PORT"): its index,
 * -1 when it names an address outside the list (copied to the session's
 * hint), -2 when it names none or cannot be read. */
static int hint_entry(struct session *s, const struct broker *b, const char *addr) {
  if (!addr || !*addr) return -2;
  const char *sep = strstr(addr, "://");
  if (sep) addr = sep + 3;
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof s->hint_host) return -2;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 1 || port > 65535) return -2;
  size_t hl = (size_t)(colon - addr);
  for (int i = 0; i < b->cfg.ncontrollers; i++)
    if (b->cfg.controllers[i].port == port && strlen(b->cfg.controllers[i].host) == hl &&
        !memcmp(b->cfg.controllers[i].host, addr, hl))
      return i;
  memcpy(s->hint_host, addr, hl);
  s->hint_host[hl] = 0;
  s->hint_port = (int)port;
  return -1;
}

/* Done with the controller the session is on (its connect failed, a call
 * went unanswered too long, its link broke, or it is not the active one):
 * go to the one the answer named (hint, may be NULL), unless that one's
 * connect failed just now, else the next in the list; and not at once:
 * SESSION_RETRY_NEXT_MS between controllers, SESSION_RETRY_LINK_MS after
 * each round through the list (and between hints once a round of them
 * led nowhere), so a quorum with no leader yet is asked a few times a
 * second, never in a busy loop. With one controller: reconnect after
 * SESSION_RETRY_LINK_MS, as always. */
static void move_on(struct session *s, struct broker *b, int64_t now, int link_open,
                    const char *hint, struct session_update *u) {
  int n = nctl(b);
  if (link_open) u->close = 1;
  /* Which controller is active is not known until one answers a heartbeat
   * (a single controller stays named: it is the only one). */
  if (n > 1) b->controller_id = -1;
  s->ctl_lost = s->registered;
  s->connected = 0;
  s->connecting = 0;
  s->inflight = 0;
  s->fails++;
  int from = s->target;
  int h = hint_entry(s, b, hint);
  if (h >= 0 && (h == from || (s->down_ms[h] && now - s->down_ms[h] < SESSION_HINT_DEAD_MS)))
    h = -2; /* names itself, or one found down just now: not believed */
  int64_t delay;
  if (h >= -1) {
    s->target = h;
    if (h >= 0) s->pos = h;
    delay = s->fails > 2 * n ? SESSION_RETRY_LINK_MS : SESSION_RETRY_NEXT_MS;
  } else {
    s->pos = (s->pos + 1) % n;
    s->target = s->pos;
    delay = s->fails % n == 0 ? SESSION_RETRY_LINK_MS : SESSION_RETRY_NEXT_MS;
  }
  s->retry_at = now + delay;
  if (n > 1 || from < 0 || s->target < 0) {
    struct session_addr a;
    session_target(s, b, &a);
    trace_info("controller: trying %s:%d in %" PRId64 " ms", a.host, a.port, delay);
  }
}

/* An answer from a controller that is not the active one: move on (to the
 * one it names) when there is somewhere to go; 1 when the session moved. */
static int not_controller(struct session *s, struct broker *b, int64_t now,
                          const Strata__Header *resp, struct session_update *u) {
  if (strata_error_from_wire(resp->error_code) != STRATA_ENOT_CONTROLLER) return 0;
  const char *hint = resp->controller_leader_address;
  struct session probe = *s;
  if (!can_move(s, b) && hint_entry(&probe, b, hint) < -1) return 0;
  trace_info("controller: not the active one (it names %d at '%s')", resp->controller_leader_id,
             hint ? hint : "");
  move_on(s, b, now, 1, hint, u);
  return 1;
}

/* The replication factor __consumer_offsets gets: offsets.topic.replication.factor,
 * at most the brokers alive now (0: none known yet). */
static uint32_t offsets_rf(const struct broker *b) {
  uint32_t alive = 0;
  for (size_t i = 0; i < b->npeers; i++) alive += !b->peers[i].fenced;
  return (uint32_t)b->cfg.offsets_rf < alive ? (uint32_t)b->cfg.offsets_rf : alive;
}

/* What to send on a tick, in order: register first; then heartbeats on
 * their interval; then producer ids and the offsets topic when wanted. */
static void tick(struct session *s, struct broker *b, int64_t now, struct session_update *u) {
  if (broker_cut_off(b)) u->wake = 1; /* stranded acks=all writes: answered by time */
  if (can_move(s, b)) { /* a controller that does not answer: try another */
    int64_t since = -1;
    if (!s->connected && s->connecting) since = s->connect_ms;
    else if (s->connected && (s->inflight & SESSION_HEARTBEAT)) since = s->hb_sent_ms;
    else if (s->connected && (s->inflight & SESSION_REGISTER)) since = s->reg_sent_ms;
    if (since >= 0 && now - since >= SESSION_CALL_TIMEOUT_MS) {
      trace_warn("controller: no answer for %" PRId64 " ms", now - since);
      /* silent (paused, or a leader cut off from its peers that holds
       * its answers): a follower's hint naming it is not believed for a
       * while either */
      if (s->target >= 0) s->down_ms[s->target] = now;
      move_on(s, b, now, 1, NULL, u);
      return;
    }
  }
  if (!s->connected) {
    if (now >= s->retry_at) {
      u->connect = 1;
      if (!s->connecting) {
        s->connecting = 1;
        s->connect_ms = now;
      }
    }
    return;
  }
  if (!s->registered) {
    if (!(s->inflight & SESSION_REGISTER) && now >= s->retry_at) {
      u->send |= SESSION_REGISTER;
      s->reg_sent_ms = now;
    }
    return;
  }
  u->propose_isr = 1;
  if (!(s->inflight & SESSION_HEARTBEAT) && now >= s->next_hb_ms) {
    u->send |= SESSION_HEARTBEAT;
    s->hb_sent_ms = now;
    s->next_hb_ms = now + b->cfg.heartbeat_ms;
  }
  if (!(s->inflight & SESSION_PRODUCER_IDS) &&
      (b->want_producer_ids || b->producer_ids_next >= b->producer_ids_limit))
    u->send |= SESSION_PRODUCER_IDS;
  /* The quorum only while the admin console asks for it: no traffic
   * otherwise (and none in the simulator, which has no console). */
  if (now < b->quorum_want_until_ms && now >= s->quorum_next_ms &&
      !(s->inflight & SESSION_QUORUM)) {
    u->send |= SESSION_QUORUM;
    s->quorum_next_ms = now + SESSION_QUORUM_MS;
  }
  if (b->want_offsets_topic && now >= s->offsets_retry_at) {
    if (topics_find(&b->topics, OFFSETS_TOPIC)) {
      b->want_offsets_topic = 0;
    } else {
      s->offsets_retry_at = now + SESSION_OFFSETS_RETRY_MS;
      if (offsets_rf(b) >= 1) u->send |= SESSION_OFFSETS_TOPIC;
    }
  }
}

static void on_register(struct session *s, struct broker *b, int64_t now,
                        const Strata__Header *resp) {
  int rc = strata_error_from_wire(resp->error_code);
  if (rc || resp->body_case != STRATA__HEADER__BODY_BROKER_REGISTER_RESP) {
    trace_error("controller refused registration: %s", resp->error_message);
    s->retry_at = now + SESSION_RETRY_REFUSED_MS;
    return;
  }
  b->broker_epoch = resp->broker_register_resp->broker_epoch;
  s->registered = 1;
  s->fails = 0;
  s->next_hb_ms = 0;
  trace_info("registered with the controller (broker epoch %" PRId64 ")", b->broker_epoch);
}

static void on_heartbeat(struct session *s, struct broker *b, int64_t now,
                         const Strata__Header *resp, struct session_update *u) {
  int rc = strata_error_from_wire(resp->error_code);
  if (rc == STRATA_ESTALE_BROKER_EPOCH) {
    trace_warn("controller no longer knows broker epoch %" PRId64 "; registering again",
               b->broker_epoch);
    s->registered = 0;
    return;
  }
  if (rc || resp->body_case != STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP) return;
  /* From when the heartbeat left, not when its answer came: the controller
   * fences this broker a session after it heard from it, and this broker
   * must count itself cut off (no acks=all answers, no coordinator answers)
   * no later than that. */
  STRATA_ASSERT(s->hb_sent_ms <= now);
  b->controller_contact_ms = s->hb_sent_ms;
  s->fails = 0;
  if (s->target >= 0) s->pos = s->target;
  struct session_addr at;
  session_target(s, b, &at);
  snprintf(b->controller_at, sizeof b->controller_at, "%s:%d", at.host, at.port);
  if (s->moved && (nctl(b) > 1 || s->target < 0)) {
    struct session_addr a;
    session_target(s, b, &a);
    trace_info("with the active controller at %s:%d; heartbeats resumed with broker epoch %" PRId64,
               a.host, a.port, b->broker_epoch);
  }
  s->moved = 0;
  if (resp->broker_heartbeat_resp->image) {
    if (metadata_apply_image(b, resp->broker_heartbeat_resp->image, now))
      offsets_log_sync(b); /* coordinators follow the offsets partitions' leaders */
    u->wake = 1;
    u->fetchers = 1;
  }
  /* The controller that answered is the active one: Metadata answers name
   * it (the image's id is its writer's, stale after a failover that changed
   * no metadata, when no new image comes). */
  if (resp->broker_heartbeat_resp->controller_id_plus1 > 0)
    b->controller_id = resp->broker_heartbeat_resp->controller_id_plus1 - 1;
}

static void on_producer_ids(struct broker *b, const Strata__Header *resp) {
  if (resp->error_code || resp->body_case != STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP)
    return; /* asked again at the next tick */
  b->producer_ids_next = resp->init_producer_id_resp->producer_id;
  b->producer_ids_limit = b->producer_ids_next + PRODUCER_ID_BLOCK;
  b->want_producer_ids = 0;
}

/* The quorum as the active controller describes it, kept for the admin
 * console; a refusal (no Describe on the cluster, a follower's answer)
 * leaves the last one. */
static void on_quorum(struct broker *b, int64_t now, const Strata__Header *resp) {
  if (resp->error_code || resp->body_case != STRATA__HEADER__BODY_DESCRIBE_QUORUM_RESP) return;
  const Strata__DescribeQuorumResponse *m = resp->describe_quorum_resp;
  if (!m->role || strcmp(m->role, "leader")) return;
  struct broker_quorum *q = &b->quorum;
  q->known = 1;
  q->at_ms = now;
  q->epoch = m->epoch;
  q->leader_id = m->leader_id;
  q->high_watermark = m->high_watermark;
  q->log_end_offset = m->log_end_offset;
  q->n = 0;
  for (size_t i = 0; i < m->n_voters + m->n_observers && q->n < BROKER_QUORUM_MAX; i++) {
    int voter = i < m->n_voters;
    const Strata__QuorumReplicaState *v = voter ? m->voters[i] : m->observers[i - m->n_voters];
    if (!v) continue;
    struct broker_quorum_member *x = &q->m[q->n++];
    x->id = v->replica ? v->replica->id : -1;
    x->voter = voter;
    x->log_end_offset = v->log_end_offset;
    x->last_fetch_ms = v->last_fetch_ms;
  }
}

static void on_offsets_topic(const Strata__Header *resp) {
  if (resp->body_case != STRATA__HEADER__BODY_CREATE_TOPICS_RESP) return;
  const Strata__CreateTopicsResponse *m = resp->create_topics_resp;
  int rc = m->n_results ? strata_error_from_wire(m->results[0]->error_code) : 0;
  if (rc && rc != STRATA_ETOPIC_EXISTS)
    trace_warn("controller did not create %s: %s", OFFSETS_TOPIC, m->results[0]->error_message);
}

/* Losing the controller link does not end this broker's registration: the
 * controller keeps broker epochs in its metadata log, so after a reconnect
 * (or a controller restart) heartbeats with the same epoch simply resume.
 * Registering again would mean "new incarnation" and cost this broker its
 * place in every ISR. Only STALE_BROKER_EPOCH makes it register again. */
void session_step(struct session *s, struct broker *b, const struct session_event *e,
                  struct session_update *u) {
  memset(u, 0, sizeof *u);
  switch (e->type) {
  case SESSION_TICK:
    tick(s, b, e->now_ms, u);
    s->inflight |= u->send;
    break;
  case SESSION_LINK_UP:
    s->connected = 1;
    s->connecting = 0;
    if (s->ctl_lost) {
      if (nctl(b) == 1 && s->target >= 0)
        trace_info("controller is back; resuming heartbeats with broker epoch %" PRId64,
                   b->broker_epoch);
      s->moved = 1;
      s->ctl_lost = 0;
      s->next_hb_ms = 0;
    }
    break;
  case SESSION_LINK_DOWN:
    if (s->connected && s->registered && !s->ctl_lost)
      trace_warn("lost the controller; serving with the metadata we have");
    /* a failed connect, or a link that broke: a controller that may have
     * died, whose name in a follower's hint is not believed for a while */
    if (s->target >= 0) s->down_ms[s->target] = e->now_ms;
    move_on(s, b, e->now_ms, 0, NULL, u);
    break;
  case SESSION_LOST:
    s->inflight &= ~(unsigned)e->call;
    break;
  case SESSION_ANSWER:
    s->inflight &= ~(unsigned)e->call;
    if (not_controller(s, b, e->now_ms, e->answer, u)) break;
    switch (e->call) {
    case SESSION_REGISTER: on_register(s, b, e->now_ms, e->answer); break;
    case SESSION_HEARTBEAT: on_heartbeat(s, b, e->now_ms, e->answer, u); break;
    case SESSION_PRODUCER_IDS: on_producer_ids(b, e->answer); break;
    case SESSION_OFFSETS_TOPIC: on_offsets_topic(e->answer); break;
    case SESSION_QUORUM: on_quorum(b, e->now_ms, e->answer); break;
    }
    break;
  }
  STRATA_ASSERT(!u->send || (s->connected && (u->send & ~s->inflight) == 0));
  STRATA_ASSERT(!(u->send & SESSION_HEARTBEAT) || s->registered);
}

void session_request(struct broker *b, enum session_call call, struct session_request *r) {
  strata__header__init(&r->h);
  switch (call) {
  case SESSION_REGISTER:
    strata__broker_register_request__init(&r->reg);
    r->reg.broker_id = b->cfg.id;
    r->reg.host = b->cfg.host;
    r->reg.port = (uint32_t)b->cfg.port;
    r->reg.rack = b->cfg.rack;
    r->reg.admin = b->admin_addr;
    r->reg.kafka = b->kafka_addr;
    r->reg.cluster_id = b->topics.n ? b->cluster_id : (char *)"";
    r->h.api_key = STRATA__API_KEY__API_BROKER_REGISTER;
    r->h.body_case = STRATA__HEADER__BODY_BROKER_REGISTER_REQ;
    r->h.broker_register_req = &r->reg;
    break;
  case SESSION_HEARTBEAT:
    strata__broker_heartbeat_request__init(&r->hb);
    r->hb.broker_id = b->cfg.id;
    r->hb.broker_epoch = b->broker_epoch;
    r->hb.metadata_version = b->image_version;
    r->h.api_key = STRATA__API_KEY__API_BROKER_HEARTBEAT;
    r->h.body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ;
    r->h.broker_heartbeat_req = &r->hb;
    break;
  case SESSION_PRODUCER_IDS:
    strata__init_producer_id_request__init(&r->ids);
    r->ids.count = PRODUCER_ID_BLOCK;
    r->h.api_key = STRATA__API_KEY__API_INIT_PRODUCER_ID;
    r->h.body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ;
    r->h.init_producer_id_req = &r->ids;
    break;
  case SESSION_QUORUM:
    strata__describe_quorum_request__init(&r->quorum);
    r->h.api_key = STRATA__API_KEY__API_DESCRIBE_QUORUM;
    r->h.body_case = STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ;
    r->h.describe_quorum_req = &r->quorum;
    break;
  case SESSION_OFFSETS_TOPIC: {
    /* Replicated like the data (up to offsets.topic.replication.factor, at
     * most the brokers alive now). */
    uint32_t rf = offsets_rf(b);
    snprintf(r->insync, sizeof r->insync, "%u", rf >= 3 ? 2u : 1u);
    snprintf(r->seg, sizeof r->seg, "%llu", (unsigned long long)b->cfg.offsets_segment_bytes);
    for (int i = 0; i < 2; i++) {
      strata__topic_spec__configs_entry__init(&r->cfg[i]);
      r->cfgv[i] = &r->cfg[i];
    }
    r->cfg[0].key = (char *)"min.insync.replicas";
    r->cfg[0].value = r->insync;
    r->cfg[1].key = (char *)"segment.bytes";
    r->cfg[1].value = r->seg;
    strata__topic_spec__init(&r->spec);
    r->spec.name = (char *)OFFSETS_TOPIC;
    r->spec.partitions = (uint32_t)b->cfg.offsets_partitions;
    r->spec.replication_factor = rf;
    r->spec.configs = r->cfgv;
    r->spec.n_configs = 2;
    r->specs[0] = &r->spec;
    strata__create_topics_request__init(&r->create);
    r->create.topics = r->specs;
    r->create.n_topics = 1;
    r->h.api_key = STRATA__API_KEY__API_CREATE_TOPICS;
    r->h.body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
    r->h.create_topics_req = &r->create;
    trace_info("asking the controller for %s (%u partitions, replication factor %u)",
               OFFSETS_TOPIC, r->spec.partitions, rf);
    break;
  }
  }
}
