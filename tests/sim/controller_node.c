/* The controller in the simulator: the real controller (ctrl decisions, the
 * metadata log on /dev/shm, controller_handle) with the simulator in place
 * of controller/server_uv.c. Heartbeats are answered at once (the real
 * server parks an up-to-date one for up to 100 ms; brokers heartbeat again
 * after broker.heartbeat.interval.ms either way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/errors.h"
#include "common/wire.h"
#include "controller/controller.h"
#include "tests/sim/sim.h"

struct cnode {
  struct controller ctl;
  int64_t next_tick;
};

static struct ctrl_config config(void) {
  /* the controller's defaults (controller/main.c) */
  struct ctrl_config cc = {1500, 1, 10000, 300, 0};
  return cc;
}

/* Topic ids in the simulator: a fixed sequence (splitmix64 of a count kept
 * across controller restarts), so a seed replays the same ids and the same
 * run; the kernel's randomness would not. */
static int sim_topic_id(void *ctx, uint8_t id[16]) {
  struct sim *s = ctx;
  for (int half = 0; half < 2; half++) {
    uint64_t z = (s->topic_ids_drawn++ + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 8; i++) id[half * 8 + i] = (uint8_t)(z >> (8 * i));
  }
  return 0;
}

int cnode_start(struct sim *s) {
  struct sim_node *sn = &s->nodes[SIM_CONTROLLER];
  struct cnode *n = sn->impl;
  if (!n) {
    n = calloc(1, sizeof *n);
    if (!n) abort();
    sn->impl = n;
  }
  memset(n, 0, sizeof *n);
  n->ctl.default_partitions = 1;
  n->ctl.c.new_topic_id = sim_topic_id;
  n->ctl.c.new_topic_id_ctx = s;
  char dir[300], err[256] = "";
  snprintf(dir, sizeof dir, "%s/controller", s->dir);
  struct ctrl_config cc = config();
  if (controller_open(&n->ctl, dir, 0, &cc, s->now, err, sizeof err)) {
    if (s->ctl_may_refuse) {
      sim_log(s, "controller refuses to start: %s", err);
      s->st.ctl_refusals++;
    } else {
      sim_violation(s, "controller does not start: %s", err);
    }
    controller_close(&n->ctl);
    return -1;
  }
  sn->up = 1;
  sn->paused = 0;
  return 0;
}

/* Every decision is in the metadata log before it is answered or applied,
 * so a crash loses nothing the brokers were told. */
void cnode_crash(struct sim *s) {
  struct sim_node *sn = &s->nodes[SIM_CONTROLLER];
  if (!sn->up) return;
  controller_close(&((struct cnode *)sn->impl)->ctl);
  sn->up = 0;
  sn->paused = 0;
  net_node_down(s, SIM_CONTROLLER);
}

void cnode_free(struct sim *s) {
  cnode_crash(s);
  free(s->nodes[SIM_CONTROLLER].impl);
  s->nodes[SIM_CONTROLLER].impl = NULL;
}

void cnode_request(struct sim *s, const struct sim_msg *m) {
  struct cnode *n = s->nodes[SIM_CONTROLLER].impl;
  Strata__Header *req = NULL;
  if (wire_header_unpack(m->hdr, m->hdr_len, &req)) return;
  struct arena a;
  arena_init(&a);
  Strata__Header resp = STRATA__HEADER__INIT;
  controller_handle(&n->ctl, NULL, req, &resp, &a, s->now); /* no authorizer in the sim */
  net_send(s, SIM_CONTROLLER, m->from, &resp, NULL, 0, 1, m->rpc_id, -1);
  controller_response_done(&resp);
  arena_reset(&a);
  wire_header_free(req);
}

void cnode_tick(struct sim *s) {
  struct cnode *n = s->nodes[SIM_CONTROLLER].impl;
  if (s->now < n->next_tick) return;
  n->next_tick = s->now + 50;
  controller_tick(&n->ctl, s->now);
}

void cnode_peer_closed(struct sim *s, int peer) {
  struct cnode *n = s->nodes[SIM_CONTROLLER].impl;
  if (peer > 0 && peer < SIM_CLIENT0) controller_disconnected(&n->ctl, peer, s->now);
}

int cnode_create_topic(struct sim *s, const char *name, uint32_t partitions, uint32_t rf,
                       const char *const *configs) {
  struct cnode *n = s->nodes[SIM_CONTROLLER].impl;
  Strata__TopicSpec__ConfigsEntry e[8], *ev[8];
  char kv[8][128];
  size_t ne = 0;
  strata__topic_spec__configs_entry__init(&e[ne]);
  e[ne].key = "min.insync.replicas";
  e[ne].value = "2";
  ev[ne] = &e[ne];
  ne++;
  for (size_t i = 0; configs && configs[i] && ne < 8; i++, ne++) {
    snprintf(kv[ne], sizeof kv[ne], "%s", configs[i]);
    char *eq = strchr(kv[ne], '=');
    if (!eq) abort();
    *eq = 0;
    strata__topic_spec__configs_entry__init(&e[ne]);
    e[ne].key = kv[ne];
    e[ne].value = eq + 1;
    ev[ne] = &e[ne];
  }
  Strata__TopicSpec spec = STRATA__TOPIC_SPEC__INIT;
  spec.name = (char *)name;
  spec.partitions = partitions;
  spec.replication_factor = rf;
  spec.configs = ev;
  spec.n_configs = ne;
  Strata__TopicSpec *sv[1] = {&spec};
  Strata__CreateTopicsRequest q = STRATA__CREATE_TOPICS_REQUEST__INIT;
  q.topics = sv;
  q.n_topics = 1;
  Strata__Header req = STRATA__HEADER__INIT;
  req.api_key = STRATA__API_KEY__API_CREATE_TOPICS;
  req.body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
  req.create_topics_req = &q;
  struct arena a;
  arena_init(&a);
  Strata__Header resp = STRATA__HEADER__INIT;
  controller_handle(&n->ctl, NULL, &req, &resp, &a, s->now);
  int rc = resp.error_code ? -1
           : resp.create_topics_resp->n_results && resp.create_topics_resp->results[0]->error_code
               ? -1
               : 0;
  if (rc)
    sim_log(s, "cannot create topic %s yet: %s", name,
            resp.create_topics_resp && resp.create_topics_resp->n_results
                ? resp.create_topics_resp->results[0]->error_message
                : resp.error_message);
  controller_response_done(&resp);
  arena_reset(&a);
  return rc;
}

int32_t cnode_leader(struct sim *s, const char *topic, uint32_t part) {
  struct cnode *n = s->nodes[SIM_CONTROLLER].impl;
  if (!n || !s->nodes[SIM_CONTROLLER].up) return -1;
  struct ctrl_topic *t = ctrl_topic(&n->ctl.c, topic);
  return t && part < t->npart ? t->parts[part].leader : -1;
}

int32_t cnode_leader_epoch(struct sim *s, const char *topic, uint32_t part) {
  struct cnode *n = s->nodes[SIM_CONTROLLER].impl;
  if (!n || !s->nodes[SIM_CONTROLLER].up) return -1;
  struct ctrl_topic *t = ctrl_topic(&n->ctl.c, topic);
  return t && part < t->npart ? t->parts[part].leader_epoch : -1;
}
