#include "cluster_uv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cluster.h"
#include "broker/flush.h"
#include "broker/link_uv.h"
#include "broker/metadata.h"
#include "broker/offsets_log.h"
#include "broker/server_uv.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/trace.h"
#include "common/wire.h"

#define FORWARDS_MAX 256
#define FETCH_PARTITIONS_MAX 4096

struct fetcher {
  int32_t leader;
  struct link link;
  int used, inflight, waiting_durable;
  int64_t retry_at;
};

struct forward {
  int used;
  cluster_forward_cb done;
  void *arg;
};

static struct {
  struct broker *b;
  uv_loop_t *loop;
  uv_timer_t timer;
  struct link ctl;
  int running, registered, reg_inflight, hb_inflight;
  int64_t hb_sent_ms;
  int ctl_lost; /* registered, but the controller link is down */
  int ids_inflight; /* a block of producer ids is on its way */
  int64_t next_hb_ms, ctl_retry_at, offsets_retry_at;
  struct fetcher fetchers[CLUSTER_BROKERS_MAX];
  struct forward forwards[FORWARDS_MAX];
  /* a fetch request's entries, filled anew for each (link_send packs them) */
  Strata__FetchPartition fetch_parts[FETCH_PARTITIONS_MAX];
  Strata__FetchPartition *fetch_partv[FETCH_PARTITIONS_MAX];
} g;

static void kick_fetchers(void);

static int64_t now_ms(void) { return clock_wall_ms(); }

/* ---- controller: register, heartbeat, metadata ---- */

/* Losing the controller link does not end this broker's registration: the
 * controller keeps broker epochs in its metadata log, so after a reconnect
 * (or a controller restart) heartbeats with the same epoch simply resume.
 * Registering again would mean "new incarnation" and cost this broker its
 * place in every ISR. Only STALE_BROKER_EPOCH makes it register again. */
static void on_ctl_state(void *arg, int connected) {
  (void)arg;
  if (!connected) {
    if (g.registered && !g.ctl_lost)
      trace_warn("lost the controller at %s:%d; serving with the metadata we have",
                 g.ctl.host, g.ctl.port);
    g.ctl_lost = g.registered;
    g.reg_inflight = g.hb_inflight = 0;
    g.ctl_retry_at = now_ms() + 200;
  } else if (g.ctl_lost) {
    trace_info("controller at %s:%d is back; resuming heartbeats with broker epoch %" PRId64,
               g.ctl.host, g.ctl.port, g.b->broker_epoch);
    g.ctl_lost = 0;
    g.next_hb_ms = 0;
  }
}

static void on_heartbeat(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                         int err) {
  (void)arg, (void)pl, (void)pn;
  g.hb_inflight = 0;
  if (err || !g.running) return;
  int rc = strata_error_from_wire(resp->error_code);
  if (rc == STRATA_ESTALE_BROKER_EPOCH) {
    trace_warn("controller no longer knows broker epoch %" PRId64 "; registering again",
               g.b->broker_epoch);
    g.registered = 0;
    return;
  }
  if (rc || resp->body_case != STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP) return;
  /* From when the heartbeat left, not when its answer came: the controller
   * fences this broker a session after it heard from it, and this broker
   * must count itself cut off (no acks=all answers, no coordinator answers)
   * no later than that. */
  g.b->controller_contact_ms = g.hb_sent_ms;
  if (resp->broker_heartbeat_resp->image) {
    g.b->now_ms = now_ms();
    if (metadata_apply_image(g.b, resp->broker_heartbeat_resp->image, g.b->now_ms))
      offsets_log_sync(g.b); /* coordinators follow the offsets partitions' leaders */
    server_wake();
    kick_fetchers();
  }
}

static void on_register(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                        int err) {
  (void)arg, (void)pl, (void)pn;
  g.reg_inflight = 0;
  if (err || !g.running) return;
  int rc = strata_error_from_wire(resp->error_code);
  if (rc || resp->body_case != STRATA__HEADER__BODY_BROKER_REGISTER_RESP) {
    trace_error("controller refused registration: %s", resp->error_message);
    g.ctl_retry_at = now_ms() + 1000;
    return;
  }
  g.b->broker_epoch = resp->broker_register_resp->broker_epoch;
  g.registered = 1;
  g.next_hb_ms = 0;
  trace_info("registered with the controller at %s:%d (broker epoch %" PRId64 ")", g.ctl.host,
             g.ctl.port, g.b->broker_epoch);
}

static void controller_step(int64_t now) {
  if (!g.ctl.tcp) {
    if (now >= g.ctl_retry_at) link_connect(&g.ctl);
    return;
  }
  if (!g.ctl.connected) return;
  if (!g.registered && !g.reg_inflight) {
    Strata__BrokerRegisterRequest q;
    cluster_register_request(g.b, &q);
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_BROKER_REGISTER;
    h.body_case = STRATA__HEADER__BODY_BROKER_REGISTER_REQ;
    h.broker_register_req = &q;
    if (!link_send(&g.ctl, &h, NULL, 0, on_register, NULL)) g.reg_inflight = 1;
    return;
  }
  if (g.registered && !g.hb_inflight && now >= g.next_hb_ms) {
    Strata__BrokerHeartbeatRequest q;
    cluster_heartbeat_request(g.b, &q);
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_BROKER_HEARTBEAT;
    h.body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ;
    h.broker_heartbeat_req = &q;
    if (!link_send(&g.ctl, &h, NULL, 0, on_heartbeat, NULL)) {
      g.hb_inflight = 1;
      g.hb_sent_ms = now;
    }
    g.next_hb_ms = now + g.b->cfg.heartbeat_ms;
  }
}

/* ---- ISR changes ---- */

static void on_alter_isr(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                         int err) {
  (void)pl, (void)pn;
  struct partition *p = arg;
  const Strata__PartitionState *s = NULL;
  if (!err && resp->body_case == STRATA__HEADER__BODY_ALTER_ISR_RESP) s = resp->alter_isr_resp->state;
  if (!err && resp->error_code)
    trace_info("%s-%u: ISR change refused: %s", p->topic ? p->topic->name : "?", p->id,
               resp->error_message);
  cluster_isr_answer(g.b, p, s, !err && resp->error_code);
  server_wake();
  partition_unref(p);
}

static void propose_isr(void *arg, struct partition *p, const int32_t *isr, uint32_t n) {
  (void)arg;
  if (!g.registered) return;
  Strata__AlterIsrRequest q;
  int64_t epochs[REPLICAS_MAX];
  cluster_alter_isr_request(g.b, p, isr, n, epochs, &q);
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_ALTER_ISR;
  h.body_case = STRATA__HEADER__BODY_ALTER_ISR_REQ;
  h.alter_isr_req = &q;
  trace_info("%s-%u: asking the controller to change the ISR from %u to %u member(s)",
             p->topic->name, p->id, p->rs.nisr, n);
  partition_ref(p);
  if (link_send(&g.ctl, &h, NULL, 0, on_alter_isr, p)) {
    partition_unref(p);
    return;
  }
  cluster_isr_sent(p, isr, n);
}

/* ---- replica fetchers ---- */

static struct fetcher *fetcher_for(int32_t leader) {
  struct fetcher *free_slot = NULL;
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++) {
    if (g.fetchers[i].used && g.fetchers[i].leader == leader) return &g.fetchers[i];
    if (!g.fetchers[i].used && !free_slot) free_slot = &g.fetchers[i];
  }
  return free_slot;
}

static void on_fetch_state(void *arg, int connected) {
  struct fetcher *f = arg;
  if (!connected) {
    f->inflight = 0;
    f->retry_at = now_ms() + 100;
  }
}

static int followed_durable(struct fetcher *f) { return cluster_followed_durable(g.b, f->leader); }

static void fetch_send(struct fetcher *f);

static void on_fetch(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                     int err) {
  struct fetcher *f = arg;
  f->inflight = 0;
  if (err || !g.running) return;
  if (resp->error_code || resp->body_case != STRATA__HEADER__BODY_FETCH_RESP) {
    f->retry_at = now_ms() + 200;
    return;
  }
  const Strata__FetchResponse *fr = resp->fetch_resp;
  uint64_t sum = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) sum += fr->partitions[i]->payload_bytes;
  if (sum != pn) {
    link_close(&f->link);
    return;
  }
  g.b->now_ms = now_ms();
  uint32_t off = 0;
  int progress = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) {
    const Strata__FetchPartitionResult *r = fr->partitions[i];
    struct partition *p = topics_partition(&g.b->topics, r->topic, r->partition);
    if (p && p->role == ROLE_FOLLOWER && p->leader == f->leader) {
      int appended;
      int rc = cluster_follower_apply(p, r, pl + off, g.b->now_ms, &appended);
      if (!rc && appended) flush_note_append(g.b, p);
      if (!rc) progress = 1;
      else if (rc == STRATA_ENOT_LEADER || rc == STRATA_EUNKNOWN_TOPIC)
        trace_debug("%s-%u: %d is not serving it yet", r->topic, r->partition, f->leader);
      else if (rc == STRATA_EIO && seglog_write_errno(p->log)) /* the log said why, once */
        trace_debug("%s-%u: cannot append what %d sent: %s", r->topic, r->partition, f->leader,
                    strerror(seglog_write_errno(p->log)));
      else
        trace_warn("%s-%u: replicating from %d: %s", r->topic, r->partition, f->leader,
                   strata_strerror(rc));
    }
    off += r->payload_bytes;
  }
  if (!progress) { /* the leader does not serve us yet (metadata in flight): back off */
    f->retry_at = now_ms() + 50;
    return;
  }
  /* Report only fsynced positions: fetch again once the appends are durable. */
  if (g.b->cfg.flush == FLUSH_ALWAYS && !followed_durable(f)) f->waiting_durable = 1;
  else fetch_send(f);
}

static void fetch_send(struct fetcher *f) {
  struct broker *b = g.b;
  if (f->inflight || f->waiting_durable || !f->link.connected) return;
  Strata__FetchPartition **fpv = g.fetch_partv;
  size_t n = cluster_fetch_entries(b, f->leader, g.fetch_parts, fpv, FETCH_PARTITIONS_MAX);
  if (n > 0) {
    Strata__FetchRequest q = STRATA__FETCH_REQUEST__INIT;
    q.max_wait_ms = b->cfg.replica_fetch_wait_ms;
    q.min_bytes = 1;
    q.max_bytes = 16u << 20;
    q.partitions = fpv;
    q.n_partitions = n;
    q.replica_id = b->cfg.id;
    q.replica_epoch = b->broker_epoch;
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_FETCH;
    h.body_case = STRATA__HEADER__BODY_FETCH_REQ;
    h.fetch_req = &q;
    if (!link_send(&f->link, &h, NULL, 0, on_fetch, f)) f->inflight = 1;
  }
}

static void kick_fetchers(void) {
  struct broker *b = g.b;
  int64_t now = now_ms();
  /* Which leaders do we follow? */
  int32_t leaders[CLUSTER_BROKERS_MAX];
  size_t nl = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      struct partition *p = b->topics.v[i]->parts[k];
      if (p->role != ROLE_FOLLOWER) continue;
      int seen = 0;
      for (size_t j = 0; j < nl; j++) seen |= leaders[j] == p->leader;
      if (!seen && nl < CLUSTER_BROKERS_MAX) leaders[nl++] = p->leader;
    }
  for (size_t j = 0; j < nl; j++) {
    const struct peer *pe = broker_peer(b, leaders[j]);
    struct fetcher *f = fetcher_for(leaders[j]);
    if (!pe || !f) continue;
    if (!f->used || strcmp(f->link.host, pe->host) || f->link.port != pe->port) {
      if (f->used) link_close(&f->link);
      memset(f, 0, sizeof *f);
      f->used = 1;
      f->leader = leaders[j];
      link_init(&f->link, g.loop, pe->host, pe->port, on_fetch_state, f);
    }
    if (!f->link.tcp) {
      if (now >= f->retry_at) link_connect(&f->link);
      continue;
    }
    if (f->waiting_durable && followed_durable(f)) f->waiting_durable = 0;
    if (now >= f->retry_at) fetch_send(f);
  }
}

void cluster_uv_after_sync(void) {
  if (!g.running) return;
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++) {
    struct fetcher *f = &g.fetchers[i];
    if (f->used && f->waiting_durable && followed_durable(f)) {
      f->waiting_durable = 0;
      fetch_send(f);
    }
  }
}

/* ---- relaying admin requests ---- */

static void on_forward(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                       int err) {
  (void)pl, (void)pn;
  struct forward *fw = arg;
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

void cluster_uv_forward(const Strata__Header *req, cluster_forward_cb done, void *arg) {
  struct forward *fw = NULL;
  for (size_t i = 0; i < FORWARDS_MAX && !fw; i++)
    if (!g.forwards[i].used) fw = &g.forwards[i];
  if (!fw || !g.running || !g.ctl.connected) {
    done(arg, NULL, STRATA_ENOT_CONTROLLER);
    return;
  }
  Strata__Header h = *req;
  h.is_response = 0;
  *fw = (struct forward){1, done, arg};
  if (link_send(&g.ctl, &h, NULL, 0, on_forward, fw)) {
    fw->used = 0;
    done(arg, NULL, STRATA_ENOT_CONTROLLER);
  }
}

void cluster_uv_forward_cancel(void *arg) {
  for (size_t i = 0; i < FORWARDS_MAX; i++)
    if (g.forwards[i].used && g.forwards[i].arg == arg) g.forwards[i].used = 0;
}

/* ---- producer ids ---- */

#define PRODUCER_ID_BLOCK 1000

static void on_producer_ids(void *arg, const Strata__Header *resp, const uint8_t *pl,
                            uint32_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  g.ids_inflight = 0;
  if (err || !resp || resp->error_code ||
      resp->body_case != STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP)
    return; /* asked again at the next tick */
  g.b->producer_ids_next = resp->init_producer_id_resp->producer_id;
  g.b->producer_ids_limit = g.b->producer_ids_next + PRODUCER_ID_BLOCK;
  g.b->want_producer_ids = 0;
}

/* Keep a block of producer ids from the controller at hand. */
static void ensure_producer_ids(void) {
  struct broker *b = g.b;
  if (!g.registered || g.ids_inflight || !g.ctl.connected) return;
  if (!b->want_producer_ids && b->producer_ids_next < b->producer_ids_limit) return;
  Strata__InitProducerIdRequest q = STRATA__INIT_PRODUCER_ID_REQUEST__INIT;
  q.count = PRODUCER_ID_BLOCK;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_INIT_PRODUCER_ID;
  h.body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ;
  h.init_producer_id_req = &q;
  if (!link_send(&g.ctl, &h, NULL, 0, on_producer_ids, NULL)) g.ids_inflight = 1;
}

/* ---- the consumer offsets topic ---- */

static void on_create_offsets(void *arg, const Strata__Header *resp, const uint8_t *pl,
                              uint32_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  if (err || !resp || resp->body_case != STRATA__HEADER__BODY_CREATE_TOPICS_RESP) return;
  const Strata__CreateTopicsResponse *m = resp->create_topics_resp;
  int rc = m->n_results ? strata_error_from_wire(m->results[0]->error_code) : 0;
  if (rc && rc != STRATA_ETOPIC_EXISTS)
    trace_warn("controller did not create %s: %s", OFFSETS_TOPIC, m->results[0]->error_message);
}

/* The first group request found no __consumer_offsets: ask the controller
 * for it, replicated like the data (up to offsets.topic.replication.factor,
 * at most the brokers alive now). */
static void ensure_offsets_topic(int64_t now) {
  struct broker *b = g.b;
  if (!b->want_offsets_topic || now < g.offsets_retry_at || !g.ctl.connected || !g.registered)
    return;
  if (topics_find(&b->topics, OFFSETS_TOPIC)) {
    b->want_offsets_topic = 0;
    return;
  }
  g.offsets_retry_at = now + 1000;
  uint32_t alive = 0;
  for (size_t i = 0; i < b->npeers; i++) alive += !b->peers[i].fenced;
  uint32_t rf = (uint32_t)b->cfg.offsets_rf < alive ? (uint32_t)b->cfg.offsets_rf : alive;
  if (rf < 1) return;
  char insync[8], seg[32];
  snprintf(insync, sizeof insync, "%u", rf >= 3 ? 2u : 1u);
  snprintf(seg, sizeof seg, "%llu", (unsigned long long)b->cfg.offsets_segment_bytes);
  Strata__TopicSpec__ConfigsEntry e = STRATA__TOPIC_SPEC__CONFIGS_ENTRY__INIT,
                                  e2 = STRATA__TOPIC_SPEC__CONFIGS_ENTRY__INIT, *ep[2] = {&e, &e2};
  e.key = (char *)"min.insync.replicas";
  e.value = insync;
  e2.key = (char *)"segment.bytes";
  e2.value = seg;
  Strata__TopicSpec spec = STRATA__TOPIC_SPEC__INIT, *specs[1] = {&spec};
  spec.name = (char *)OFFSETS_TOPIC;
  spec.partitions = (uint32_t)b->cfg.offsets_partitions;
  spec.replication_factor = rf;
  spec.configs = ep;
  spec.n_configs = 2;
  Strata__CreateTopicsRequest q = STRATA__CREATE_TOPICS_REQUEST__INIT;
  q.topics = specs;
  q.n_topics = 1;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_CREATE_TOPICS;
  h.body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
  h.create_topics_req = &q;
  if (!link_send(&g.ctl, &h, NULL, 0, on_create_offsets, NULL))
    trace_info("asking the controller for %s (%u partitions, replication factor %u)",
               OFFSETS_TOPIC, spec.partitions, rf);
}

/* ---- timer and lifecycle ---- */

static void on_timer(uv_timer_t *t) {
  (void)t;
  int64_t now = now_ms();
  g.b->now_ms = now;
  if (broker_cut_off(g.b)) server_wake(); /* stranded acks=all writes: answered by time */
  controller_step(now);
  cluster_isr_changes(g.b, now, propose_isr, NULL);
  ensure_offsets_topic(now);
  ensure_producer_ids();
  kick_fetchers();
}

void cluster_uv_start(uv_loop_t *loop, struct broker *b) {
  memset(&g, 0, sizeof g);
  g.b = b;
  g.loop = loop;
  g.running = 1;
  link_set_source(b->cfg.source_addr);
  link_init(&g.ctl, loop, b->cfg.controller_host, b->cfg.controller_port, on_ctl_state, NULL);
  uv_timer_init(loop, &g.timer);
  uint64_t tick = (uint64_t)(b->cfg.heartbeat_ms < 50 ? b->cfg.heartbeat_ms : 50);
  uv_timer_start(&g.timer, on_timer, 0, tick);
  trace_info("cluster mode: controller at %s:%d", b->cfg.controller_host, b->cfg.controller_port);
}

void cluster_uv_stop(void) {
  if (!g.running) return;
  g.running = 0;
  uv_close((uv_handle_t *)&g.timer, NULL);
  link_close(&g.ctl);
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++)
    if (g.fetchers[i].used) link_close(&g.fetchers[i].link);
  for (size_t i = 0; i < FORWARDS_MAX; i++)
    if (g.forwards[i].used) {
      g.forwards[i].used = 0;
      g.forwards[i].done(g.forwards[i].arg, NULL, STRATA_ESHUTTING_DOWN);
    }
}
