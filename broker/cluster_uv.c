#include "cluster_uv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cluster.h"
#include "broker/flush.h"
#include "broker/link_uv.h"
#include "broker/metadata.h"
#include "broker/offsets_log.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/trace.h"
#include "common/wire.h"

static void kick_fetchers(struct cluster_uv *cu);

static int64_t now_ms(void) { return clock_wall_ms(); }

/* ---- controller: register, heartbeat, metadata ---- */

/* Losing the controller link does not end this broker's registration: the
 * controller keeps broker epochs in its metadata log, so after a reconnect
 * (or a controller restart) heartbeats with the same epoch simply resume.
 * Registering again would mean "new incarnation" and cost this broker its
 * place in every ISR. Only STALE_BROKER_EPOCH makes it register again. */
static void on_ctl_state(void *arg, int connected) {
  struct cluster_uv *cu = arg;
  if (!connected) {
    if (cu->registered && !cu->ctl_lost)
      trace_warn("lost the controller at %s:%d; serving with the metadata we have",
                 cu->ctl.host, cu->ctl.port);
    cu->ctl_lost = cu->registered;
    cu->reg_inflight = cu->hb_inflight = 0;
    cu->ctl_retry_at = now_ms() + 200;
  } else if (cu->ctl_lost) {
    trace_info("controller at %s:%d is back; resuming heartbeats with broker epoch %" PRId64,
               cu->ctl.host, cu->ctl.port, cu->b->broker_epoch);
    cu->ctl_lost = 0;
    cu->next_hb_ms = 0;
  }
}

static void on_heartbeat(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                         int err) {
  struct cluster_uv *cu = arg;
  (void)pl, (void)pn;
  cu->hb_inflight = 0;
  if (err || !cu->running) return;
  int rc = strata_error_from_wire(resp->error_code);
  if (rc == STRATA_ESTALE_BROKER_EPOCH) {
    trace_warn("controller no longer knows broker epoch %" PRId64 "; registering again",
               cu->b->broker_epoch);
    cu->registered = 0;
    return;
  }
  if (rc || resp->body_case != STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP) return;
  /* From when the heartbeat left, not when its answer came: the controller
   * fences this broker a session after it heard from it, and this broker
   * must count itself cut off (no acks=all answers, no coordinator answers)
   * no later than that. */
  cu->b->controller_contact_ms = cu->hb_sent_ms;
  if (resp->broker_heartbeat_resp->image) {
    cu->b->now_ms = now_ms();
    if (metadata_apply_image(cu->b, resp->broker_heartbeat_resp->image, cu->b->now_ms))
      offsets_log_sync(cu->b); /* coordinators follow the offsets partitions' leaders */
    cu->wake(cu->wake_arg);
    kick_fetchers(cu);
  }
}

static void on_register(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                        int err) {
  struct cluster_uv *cu = arg;
  (void)pl, (void)pn;
  cu->reg_inflight = 0;
  if (err || !cu->running) return;
  int rc = strata_error_from_wire(resp->error_code);
  if (rc || resp->body_case != STRATA__HEADER__BODY_BROKER_REGISTER_RESP) {
    trace_error("controller refused registration: %s", resp->error_message);
    cu->ctl_retry_at = now_ms() + 1000;
    return;
  }
  cu->b->broker_epoch = resp->broker_register_resp->broker_epoch;
  cu->registered = 1;
  cu->next_hb_ms = 0;
  trace_info("registered with the controller at %s:%d (broker epoch %" PRId64 ")", cu->ctl.host,
             cu->ctl.port, cu->b->broker_epoch);
}

static void controller_step(struct cluster_uv *cu, int64_t now) {
  if (!cu->ctl.tcp) {
    if (now >= cu->ctl_retry_at) link_connect(&cu->ctl);
    return;
  }
  if (!cu->ctl.connected) return;
  if (!cu->registered && !cu->reg_inflight) {
    Strata__BrokerRegisterRequest q;
    cluster_register_request(cu->b, &q);
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_BROKER_REGISTER;
    h.body_case = STRATA__HEADER__BODY_BROKER_REGISTER_REQ;
    h.broker_register_req = &q;
    if (!link_send(&cu->ctl, &h, NULL, 0, on_register, cu)) cu->reg_inflight = 1;
    return;
  }
  if (cu->registered && !cu->hb_inflight && now >= cu->next_hb_ms) {
    Strata__BrokerHeartbeatRequest q;
    cluster_heartbeat_request(cu->b, &q);
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_BROKER_HEARTBEAT;
    h.body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ;
    h.broker_heartbeat_req = &q;
    if (!link_send(&cu->ctl, &h, NULL, 0, on_heartbeat, cu)) {
      cu->hb_inflight = 1;
      cu->hb_sent_ms = now;
    }
    cu->next_hb_ms = now + cu->b->cfg.heartbeat_ms;
  }
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
  if (!cu->registered) return;
  struct cluster_isr_call *call = NULL;
  for (size_t i = 0; i < LINK_INFLIGHT_MAX && !call; i++)
    if (!cu->isr_calls[i].p) call = &cu->isr_calls[i];
  if (!call) return; /* as a full link: proposed again at a later tick */
  Strata__AlterIsrRequest q;
  int64_t epochs[REPLICAS_MAX];
  cluster_alter_isr_request(cu->b, p, isr, n, epochs, &q);
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_ALTER_ISR;
  h.body_case = STRATA__HEADER__BODY_ALTER_ISR_REQ;
  h.alter_isr_req = &q;
  trace_info("%s-%u: asking the controller to change the ISR from %u to %u member(s)",
             p->topic->name, p->id, p->rep.isr.nisr, n);
  partition_ref(p);
  *call = (struct cluster_isr_call){cu, p};
  if (link_send(&cu->ctl, &h, NULL, 0, on_alter_isr, call)) {
    call->p = NULL;
    partition_unref(p);
    return;
  }
  cluster_isr_sent(p, isr, n);
}

/* ---- replica fetchers ---- */

static struct cluster_fetcher *fetcher_for(struct cluster_uv *cu, int32_t leader) {
  struct cluster_fetcher *free_slot = NULL;
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++) {
    if (cu->fetchers[i].used && cu->fetchers[i].leader == leader) return &cu->fetchers[i];
    if (!cu->fetchers[i].used && !free_slot) free_slot = &cu->fetchers[i];
  }
  return free_slot;
}

static void on_fetch_state(void *arg, int connected) {
  struct cluster_fetcher *f = arg;
  if (!connected) {
    f->inflight = 0;
    f->retry_at = now_ms() + 100;
  }
}

static int followed_durable(struct cluster_fetcher *f) {
  return cluster_followed_durable(f->cu->b, f->leader);
}

static void fetch_send(struct cluster_fetcher *f);

static void on_fetch(void *arg, const Strata__Header *resp, const uint8_t *pl, uint32_t pn,
                     int err) {
  struct cluster_fetcher *f = arg;
  struct cluster_uv *cu = f->cu;
  f->inflight = 0;
  if (err || !cu->running) return;
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
  cu->b->now_ms = now_ms();
  uint32_t off = 0;
  int progress = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) {
    const Strata__FetchPartitionResult *r = fr->partitions[i];
    struct partition *p = topics_partition(&cu->b->topics, r->topic, r->partition);
    if (p && p->rep.role == ROLE_FOLLOWER && p->rep.leader == f->leader) {
      int appended;
      int rc = cluster_follower_apply(cu->b, p, r, pl + off, cu->b->now_ms, &appended);
      if (!rc && appended) flush_note_append(cu->b, p);
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
  if (cu->b->cfg.flush == FLUSH_ALWAYS && !followed_durable(f)) f->waiting_durable = 1;
  else fetch_send(f);
}

static void fetch_send(struct cluster_fetcher *f) {
  struct cluster_uv *cu = f->cu;
  struct broker *b = cu->b;
  if (f->inflight || f->waiting_durable || !f->link.connected) return;
  Strata__FetchPartition **fpv = cu->fetch_partv;
  size_t n = cluster_fetch_entries(b, f->leader, cu->fetch_parts, fpv, FETCH_PARTITIONS_MAX);
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

static void kick_fetchers(struct cluster_uv *cu) {
  struct broker *b = cu->b;
  int64_t now = now_ms();
  /* Which leaders do we follow? */
  int32_t leaders[CLUSTER_BROKERS_MAX];
  size_t nl = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      struct partition *p = b->topics.v[i]->parts[k];
      if (p->rep.role != ROLE_FOLLOWER) continue;
      int seen = 0;
      for (size_t j = 0; j < nl; j++) seen |= leaders[j] == p->rep.leader;
      if (!seen && nl < CLUSTER_BROKERS_MAX) leaders[nl++] = p->rep.leader;
    }
  for (size_t j = 0; j < nl; j++) {
    const struct peer *pe = broker_peer(b, leaders[j]);
    struct cluster_fetcher *f = fetcher_for(cu, leaders[j]);
    if (!pe || !f) continue;
    if (!f->used || strcmp(f->link.host, pe->host) || f->link.port != pe->port) {
      if (f->used) link_close(&f->link);
      memset(f, 0, sizeof *f);
      f->cu = cu;
      f->used = 1;
      f->leader = leaders[j];
      link_init(&f->link, cu->loop, pe->host, pe->port, on_fetch_state, f);
    }
    if (!f->link.tcp) {
      if (now >= f->retry_at) link_connect(&f->link);
      continue;
    }
    if (f->waiting_durable && followed_durable(f)) f->waiting_durable = 0;
    if (now >= f->retry_at) fetch_send(f);
  }
}

void cluster_uv_after_sync(struct cluster_uv *cu) {
  if (!cu->running) return;
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++) {
    struct cluster_fetcher *f = &cu->fetchers[i];
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

int cluster_uv_forward(struct cluster_uv *cu, const Strata__Header *req, cluster_forward_cb done,
                       void *arg) {
  struct cluster_forward *fw = NULL;
  for (size_t i = 0; i < FORWARDS_MAX && !fw; i++)
    if (!cu->forwards[i].used) fw = &cu->forwards[i];
  if (!fw || !cu->running || !cu->ctl.connected) return STRATA_ENOT_CONTROLLER;
  Strata__Header h = *req;
  h.is_response = 0;
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

/* ---- producer ids ---- */

#define PRODUCER_ID_BLOCK 1000

static void on_producer_ids(void *arg, const Strata__Header *resp, const uint8_t *pl,
                            uint32_t pn, int err) {
  struct cluster_uv *cu = arg;
  (void)pl, (void)pn;
  cu->ids_inflight = 0;
  if (err || !resp || resp->error_code ||
      resp->body_case != STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP)
    return; /* asked again at the next tick */
  cu->b->producer_ids_next = resp->init_producer_id_resp->producer_id;
  cu->b->producer_ids_limit = cu->b->producer_ids_next + PRODUCER_ID_BLOCK;
  cu->b->want_producer_ids = 0;
}

/* Keep a block of producer ids from the controller at hand. */
static void ensure_producer_ids(struct cluster_uv *cu) {
  struct broker *b = cu->b;
  if (!cu->registered || cu->ids_inflight || !cu->ctl.connected) return;
  if (!b->want_producer_ids && b->producer_ids_next < b->producer_ids_limit) return;
  Strata__InitProducerIdRequest q = STRATA__INIT_PRODUCER_ID_REQUEST__INIT;
  q.count = PRODUCER_ID_BLOCK;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_INIT_PRODUCER_ID;
  h.body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ;
  h.init_producer_id_req = &q;
  if (!link_send(&cu->ctl, &h, NULL, 0, on_producer_ids, cu)) cu->ids_inflight = 1;
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
static void ensure_offsets_topic(struct cluster_uv *cu, int64_t now) {
  struct broker *b = cu->b;
  if (!b->want_offsets_topic || now < cu->offsets_retry_at || !cu->ctl.connected || !cu->registered)
    return;
  if (topics_find(&b->topics, OFFSETS_TOPIC)) {
    b->want_offsets_topic = 0;
    return;
  }
  cu->offsets_retry_at = now + 1000;
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
  if (!link_send(&cu->ctl, &h, NULL, 0, on_create_offsets, NULL))
    trace_info("asking the controller for %s (%u partitions, replication factor %u)",
               OFFSETS_TOPIC, spec.partitions, rf);
}

/* ---- timer and lifecycle ---- */

static void on_timer(uv_timer_t *t) {
  struct cluster_uv *cu = t->data;
  int64_t now = now_ms();
  cu->b->now_ms = now;
  if (broker_cut_off(cu->b)) cu->wake(cu->wake_arg); /* stranded acks=all writes: answered by time */
  controller_step(cu, now);
  cluster_isr_changes(cu->b, now, propose_isr, cu);
  ensure_offsets_topic(cu, now);
  ensure_producer_ids(cu);
  kick_fetchers(cu);
}

void cluster_uv_start(struct cluster_uv *cu, uv_loop_t *loop, struct broker *b,
                      void (*wake)(void *arg), void *wake_arg) {
  memset(cu, 0, sizeof *cu);
  cu->b = b;
  cu->wake = wake;
  cu->wake_arg = wake_arg;
  cu->loop = loop;
  cu->running = 1;
  link_set_source(b->cfg.source_addr);
  link_init(&cu->ctl, loop, b->cfg.controller_host, b->cfg.controller_port, on_ctl_state, cu);
  uv_timer_init(loop, &cu->timer);
  cu->timer.data = cu;
  uint64_t tick = (uint64_t)(b->cfg.heartbeat_ms < 50 ? b->cfg.heartbeat_ms : 50);
  uv_timer_start(&cu->timer, on_timer, 0, tick);
  trace_info("cluster mode: controller at %s:%d", b->cfg.controller_host, b->cfg.controller_port);
}

void cluster_uv_stop(struct cluster_uv *cu) {
  if (!cu->running) return;
  cu->running = 0;
  uv_close((uv_handle_t *)&cu->timer, NULL);
  link_close(&cu->ctl);
  for (size_t i = 0; i < CLUSTER_BROKERS_MAX; i++)
    if (cu->fetchers[i].used) link_close(&cu->fetchers[i].link);
  for (size_t i = 0; i < FORWARDS_MAX; i++)
    if (cu->forwards[i].used) {
      cu->forwards[i].used = 0;
      cu->forwards[i].done(cu->forwards[i].arg, NULL, STRATA_ESHUTTING_DOWN);
    }
}
