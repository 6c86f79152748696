/* The controllers in the simulator: the real controller (ctrl decisions,
 * controller_handle) with the simulator in place of controller/server_uv.c
 * and controller/quorum_uv.c. Heartbeats are answered at once (the real
 * server parks an up-to-date one for up to 100 ms; brokers heartbeat again
 * after broker.heartbeat.interval.ms either way).
 *
 * s->nctl 1 (the default): one controller, node 0, its metadata log on
 * /dev/shm as before. s->nctl 3 or 5: a quorum (issue 14). Each controller
 * is the real qnode (controller/qnode.c carrying out controller/quorum.c's
 * updates on the real qlog and quorum-state files) with its own directory;
 * peers' QuorumMessages travel the simulated network like any frame
 * (one-way, each on the sender's connection, as quorum_uv.c sends them);
 * the log's fdatasync is qnode_sync_begin, then qnode_sync_done after the
 * node's disk delay; a crash keeps what was fsynced plus a torn tail of the
 * rest (quorum_crash); a wipe removes the directory, so the node comes back
 * with a new directory id (an observer to its peers). Answers wait until
 * the high watermark passes the records they decided, per connection in
 * request order, and become NOT_CONTROLLER when the node loses the
 * leadership first (server_uv.c's hq_flush). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/errors.h"
#include "common/wire.h"
#include "controller/controller.h"
#include "tests/sim/sim.h"

/* An answer waiting for its records to commit. */
struct held {
  struct held *next;
  int to;
  uint64_t rpc_id;
  int64_t wait;
  uint8_t *hdr;
  size_t len;
};

struct cnode {
  struct controller ctl;
  struct qnode_config qcfg;
  struct sim *s;
  int node, k;
  int64_t next_tick;
  /* The log's fdatasync in flight (due: -1 none). */
  int64_t sync_due, sync_offset;
  uint64_t sync_trunc;
  /* Our snapshot's write off the loop (quorum_uv.c's threadpool job): it
   * runs and is done at snap_due (-1 none). */
  int64_t snap_due;
  /* Records [0, durable) are on the disk as fsynced (a crash keeps them). */
  int64_t durable;
  int64_t seen_start; /* the log start at the last post (a rewrite moves it) */
  struct held *held_head, *held_tail;
};

static struct ctrl_config config(void) {
  /* the controller's defaults (controller/main.c) */
  struct ctrl_config cc = {1500, 1, 10000, 300, 0};
  return cc;
}

int sim_ctl_index(const struct sim *s, int id) {
  if (id == SIM_CONTROLLER) return 0;
  if (s->nctl > 1 && id >= SIM_CTL1 && id < SIM_CTL1 + s->nctl - 1) return id - SIM_CTL1 + 1;
  return -1;
}

static struct cnode *cn(struct sim *s, int node) { return s->nodes[node].impl; }

struct controller *cnode_controller(struct sim *s, int node) {
  struct cnode *n = cn(s, node);
  return n && s->nodes[node].up ? &n->ctl : NULL;
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

void cnode_dir(struct sim *s, int node, char *out, size_t len) {
  if (s->nctl <= 1) snprintf(out, len, "%s/controller", s->dir);
  else snprintf(out, len, "%s/controller-%d", s->dir, sim_ctl_index(s, node));
}

/* ---- quorum mode: the glue quorum_uv.c and server_uv.c are ---- */

static int64_t disk_delay(struct sim *s, int node) {
  if (s->nodes[node].disk_slow_until > s->now) return rng_range(&s->rng, 100, 700);
  return rng_range(&s->rng, 1, 6);
}

static void send_header(struct sim *s, int from, int to, uint64_t rpc_id, const uint8_t *hdr,
                        size_t len) {
  Strata__Header *h = strata__header__unpack(NULL, len, hdr);
  if (!h) abort();
  net_send(s, from, to, h, NULL, 0, 1, rpc_id, -1);
  strata__header__free_unpacked(h, NULL);
}

/* Send the waiting answers whose records committed, in order; one whose
 * records did not commit while this node lost the leadership gets
 * NOT_CONTROLLER (server_uv.c's hq_flush). */
static void held_flush(struct cnode *n) {
  struct sim *s = n->s;
  while (n->held_head) {
    struct held *h = n->held_head;
    if (h->wait > qnode_committed(n->ctl.qn)) {
      if (controller_active(&n->ctl)) break;
      Strata__Header *orig = strata__header__unpack(NULL, h->len, h->hdr);
      if (!orig) abort();
      Strata__Header e = STRATA__HEADER__INIT;
      struct arena a;
      arena_init(&a);
      e.api_key = orig->api_key;
      e.api_version = orig->api_version;
      e.correlation_id = orig->correlation_id;
      e.is_response = 1;
      controller_not_active(&n->ctl, &e, &a);
      net_send(s, n->node, h->to, &e, NULL, 0, 1, h->rpc_id, -1);
      arena_reset(&a);
      strata__header__free_unpacked(orig, NULL);
    } else {
      send_header(s, n->node, h->to, h->rpc_id, h->hdr, h->len);
    }
    n->held_head = h->next;
    free(h->hdr);
    free(h);
  }
  if (!n->held_head) n->held_tail = NULL;
}

static void held_free(struct cnode *n) {
  while (n->held_head) {
    struct held *h = n->held_head;
    n->held_head = h->next;
    free(h->hdr);
    free(h);
  }
  n->held_tail = NULL;
}

/* After every step of the node: its truncations lower what is durable, the
 * next fdatasync starts when one is due and none runs, held answers go,
 * and the quorum invariants are checked. */
static void post(struct cnode *n) {
  struct sim *s = n->s;
  struct qnode *qn = n->ctl.qn;
  if (s->dying == n->node) return; /* killed inside this step (a replacement's crash) */
  /* A snapshot's prefix drop or install rewrote the log: the new file was
   * fsynced whole. A truncation or reset lowers what is durable. */
  if (qn->log.start != n->seen_start) n->durable = qn->log.end;
  n->seen_start = qn->log.start;
  if (qn->log.trunc_low < n->durable) n->durable = qn->log.trunc_low;
  if (qn->log.end < n->durable) n->durable = qn->log.end;
  qn->log.trunc_low = INT64_MAX;
  if (qn->failed) {
    sim_violation(s, "controller %d stopped (a disk error or an unreadable committed record)",
                  n->k + 1);
    return;
  }
  int fd;
  if (n->sync_due < 0 && qnode_sync_begin(qn, &fd)) {
    n->sync_due = s->now + disk_delay(s, n->node);
    n->sync_offset = qn->sync_offset;
    n->sync_trunc = qn->sync_trunc;
  }
  struct qsnap_job *job;
  if (n->snap_due < 0 && qnode_snapshot_begin(qn, &job))
    n->snap_due = s->now + disk_delay(s, n->node) + rng_range(&s->rng, 0, 20);
  held_flush(n);
  qcheck_node(s, n->node, &n->ctl);
}

/* qnode's send: a QuorumMessage frame on our connection to the peer. */
static void quorum_send(void *arg, int32_t to, const Strata__QuorumMessage *m,
                        const uint8_t *payload, size_t payload_len) {
  struct cnode *n = arg;
  if (to < 1 || to > n->s->nctl) return;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_QUORUM;
  h.body_case = STRATA__HEADER__BODY_QUORUM;
  h.quorum = (Strata__QuorumMessage *)m;
  net_send(n->s, n->node, sim_ctl_node(to - 1), &h, payload, payload_len, 0, 0, -1);
}

static void quorum_changed(void *arg) { (void)arg; /* post() flushes after every step */ }

static int open_quorum(struct sim *s, struct cnode *n, const char *dir, const struct ctrl_config *cc,
                       char *err, size_t elen) {
  struct qnode_config *q = &n->qcfg;
  memset(q, 0, sizeof *q);
  q->self = n->k + 1;
  for (int i = 0; i < s->nctl; i++) {
    q->voters[i].id = i + 1;
    snprintf(q->voters[i].host, sizeof q->voters[i].host, "ctl%d", i);
    q->voters[i].port = 9000;
  }
  q->nvoters = (uint32_t)s->nctl;
  q->election_timeout_ms = 1000;
  q->fetch_timeout_ms = 2000;
  q->snapshot_bytes = s->ctl_snap_bytes;
  n->ctl.quorum_cfg = q;
  if (mkdir(dir, 0755) && errno != EEXIST) {
    snprintf(err, elen, "cannot create %.200s", dir);
    return -1;
  }
  return controller_open(&n->ctl, dir, n->k + 1, cc, s->now, err, elen) ? -1 : 0;
}

int cnode_start(struct sim *s, int node) {
  struct sim_node *sn = &s->nodes[node];
  struct cnode *n = sn->impl;
  if (!n) {
    n = calloc(1, sizeof *n);
    if (!n) abort();
    sn->impl = n;
  }
  memset(n, 0, sizeof *n);
  n->s = s;
  n->node = node;
  n->k = sim_ctl_index(s, node);
  n->sync_due = -1;
  n->snap_due = -1;
  n->ctl.default_partitions = 1;
  n->ctl.c.new_topic_id = sim_topic_id;
  n->ctl.c.new_topic_id_ctx = s;
  char dir[300], err[512] = "";
  cnode_dir(s, node, dir, sizeof dir);
  struct ctrl_config cc = config();
  int rc;
  if (s->nctl > 1) {
    rc = open_quorum(s, n, dir, &cc, err, sizeof err);
  } else {
    rc = controller_open(&n->ctl, dir, 0, &cc, s->now, err, sizeof err);
  }
  if (rc) {
    if (s->ctl_may_refuse) {
      sim_log(s, "controller refuses to start: %s", err);
      s->st.ctl_refusals++;
    } else {
      sim_violation(s, "controller %d does not start: %s", n->k + 1, err);
    }
    controller_close(&n->ctl);
    return -1;
  }
  sn->up = 1;
  sn->paused = 0;
  if (s->nctl > 1) {
    struct qnode *qn = n->ctl.qn;
    qn->send = quorum_send;
    qn->changed = quorum_changed;
    qn->arg = n;
    qn->start_seed = rng_next(&s->rng); /* not the kernel's randomness: the seed replays */
    qn->snap_chunk_bytes = s->ctl_chunk_bytes; /* 0: the default */
    qn->async_snapshots = 1;                   /* as quorum_uv.c runs them */
    n->durable = qn->log.end;           /* qlog_open synced what it kept */
    n->seen_start = qn->log.start;
    qcheck_start(s, node, &n->ctl);
    controller_quorum_start(&n->ctl, s->now);
    post(n);
  }
  return 0;
}

/* Power lost: the quorum log keeps what was fsynced and a torn piece of
 * the rest (30% of the time with a garbage byte at the cut, which recovery
 * must take for a torn batch). */
static void quorum_crash(struct sim *s, struct cnode *n) {
  struct qlog *l = &n->ctl.qn->log;
  /* pos[] is indexed from the log start (a snapshot dropped the prefix) */
  int64_t d = n->durable < l->start ? l->start : n->durable < l->end ? n->durable : l->end;
  int64_t from = l->pos[d - l->start], size = l->pos[l->end - l->start];
  struct stat st;
  if (stat(l->path, &st) || st.st_size != size) {
    /* It died inside a rewrite of the log (a replacement's crash): the
     * file at the path is whichever one the rename left, fsynced whole. */
    sim_log(s, "controller %d dies inside a rewrite of its log: no torn tail", n->k + 1);
    return;
  }
  int64_t keep = rng_range(&s->rng, from, size);
  if (truncate(l->path, keep)) sim_violation(s, "cannot cut %s", l->path);
  if (keep > from && rng_chance(&s->rng, 30)) {
    FILE *fp = fopen(l->path, "r+b");
    if (fp) {
      fseek(fp, keep - 1, SEEK_SET);
      fputc((int)rng_range(&s->rng, 0, 255), fp);
      fclose(fp);
    }
  }
  sim_log(s, "controller %d loses power: log keeps %lld of %lld bytes (%lld records fsynced)",
          n->k + 1, (long long)keep, (long long)size, (long long)n->durable);
}

/* Every decision is in the metadata log before it is answered or applied,
 * so a crash loses nothing the brokers were told. */
void cnode_crash(struct sim *s, int node, int wipe) {
  struct sim_node *sn = &s->nodes[node];
  if (!sn->up) return;
  struct cnode *n = sn->impl;
  if (s->nctl > 1) {
    qcheck_crash(s, node, &n->ctl);
    quorum_crash(s, n);
    held_free(n);
  }
  controller_close(&n->ctl);
  sn->up = 0;
  sn->paused = 0;
  net_node_down(s, node);
  if (wipe) {
    char dir[300];
    cnode_dir(s, node, dir, sizeof dir);
    sim_log(s, "controller %d's data.dir wiped", n->k + 1);
    sim_rm_rf(dir);
  }
}

void cnode_free(struct sim *s) {
  for (int k = 0; k < (s->nctl > 1 ? s->nctl : 1); k++) {
    int node = sim_ctl_node(k);
    struct cnode *n = s->nodes[node].impl;
    if (n && s->nodes[node].up) {
      held_free(n);
      controller_close(&n->ctl);
      s->nodes[node].up = 0;
      net_node_down(s, node);
    }
    free(n);
    s->nodes[node].impl = NULL;
  }
}

void cnode_request(struct sim *s, int node, const struct sim_msg *m) {
  struct cnode *n = cn(s, node);
  Strata__Header *req = NULL;
  if (wire_header_unpack(m->hdr, m->hdr_len, &req)) return;
  if (req->body_case == STRATA__HEADER__BODY_QUORUM) {
    if (n->ctl.qn) {
      qnode_receive(n->ctl.qn, req->quorum, m->payload, m->payload_len, s->now);
      post(n);
    }
    wire_header_free(req);
    return;
  }
  struct arena a;
  arena_init(&a);
  Strata__Header resp = STRATA__HEADER__INIT;
  controller_handle(&n->ctl, NULL, req, &resp, &a, s->now); /* no authorizer in the sim */
  if (req->body_case == STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ && !resp.error_code)
    s->ctl_hb_answered[sim_ctl_index(s, node)] = s->now;
  if (!n->ctl.qn) {
    net_send(s, node, m->from, &resp, NULL, 0, 1, m->rpc_id, -1);
  } else {
    int64_t wait = n->ctl.wait_offset;
    if (!n->held_head && wait <= qnode_committed(n->ctl.qn)) {
      net_send(s, node, m->from, &resp, NULL, 0, 1, m->rpc_id, -1);
    } else {
      struct held *h = calloc(1, sizeof *h);
      if (!h) abort();
      h->to = m->from;
      h->rpc_id = m->rpc_id;
      h->wait = wait;
      h->len = strata__header__get_packed_size(&resp);
      h->hdr = malloc(h->len + 1);
      if (!h->hdr) abort();
      strata__header__pack(&resp, h->hdr);
      if (n->held_tail) n->held_tail->next = h;
      else n->held_head = h;
      n->held_tail = h;
    }
  }
  controller_response_done(&resp);
  arena_reset(&a);
  wire_header_free(req);
  if (n->ctl.qn) post(n);
}

void cnode_tick(struct sim *s, int node) {
  struct cnode *n = cn(s, node);
  struct qnode *qn = n->ctl.qn;
  if (qn) {
    if (n->sync_due >= 0 && s->now >= n->sync_due) {
      n->sync_due = -1;
      qnode_sync_done(qn, 1, s->now);
      if (qn->log.truncations == n->sync_trunc) n->durable = n->sync_offset;
      post(n);
    }
    if (n->snap_due >= 0 && s->now >= n->snap_due) {
      /* the worker's write, then its completion on the loop (a crash
       * before this left no new file, or a torn .new the next ignores) */
      n->snap_due = -1;
      qsnap_job_run(qn->snap_job);
      if (s->dying != node) qnode_snapshot_done(qn, s->now);
      post(n);
    }
    if (s->now >= qn->deadline_ms && !s->violations && s->dying != node) {
      qnode_tick(qn, s->now);
      post(n);
    }
  }
  if (s->now < n->next_tick) return;
  n->next_tick = s->now + 50;
  controller_tick(&n->ctl, s->now);
  if (qn) post(n);
}

void cnode_peer_closed(struct sim *s, int node, int peer) {
  struct cnode *n = cn(s, node);
  if (peer > 0 && peer < SIM_CLIENT0) controller_disconnected(&n->ctl, peer, s->now);
}

/* The controller that decides now (-1 none): the single one when up; in a
 * quorum the ready leader of the newest epoch. */
int cnode_active(struct sim *s) {
  if (s->nctl <= 1) return s->nodes[SIM_CONTROLLER].up && s->nodes[SIM_CONTROLLER].impl ? SIM_CONTROLLER : -1;
  int best = -1;
  int32_t epoch = -1;
  for (int k = 0; k < s->nctl; k++) {
    int node = sim_ctl_node(k);
    struct cnode *n = cn(s, node);
    if (!n || !s->nodes[node].up || !controller_active(&n->ctl)) continue;
    if (n->ctl.qn->epoch > epoch) epoch = n->ctl.qn->epoch, best = node;
  }
  return best;
}

/* The quorum's leader (ready or not) of the newest epoch among the
 * running controllers, -1 none. */
int cnode_quorum_leader(struct sim *s) {
  int best = -1;
  int32_t epoch = -1;
  for (int k = 0; k < s->nctl; k++) {
    int node = sim_ctl_node(k);
    struct cnode *n = cn(s, node);
    if (!n || !s->nodes[node].up || !n->ctl.qn || n->ctl.qn->role != QUORUM_LEADER) continue;
    if (n->ctl.qn->epoch > epoch) epoch = n->ctl.qn->epoch, best = node;
  }
  return best;
}

int cnode_replace_voters(struct sim *s) {
  int a = cnode_active(s);
  if (a < 0) return 0;
  struct cnode *l = cn(s, a);
  struct qnode *qn = l->ctl.qn;
  char err[512];
  int64_t end;
  int all = 1;
  for (int k = 0; k < s->nctl; k++) { /* an old directory of a running controller goes first */
    int node = sim_ctl_node(k);
    struct cnode *n = cn(s, node);
    if (!n || !s->nodes[node].up) continue;
    struct quorum_key cur = {.id = n->ctl.qn->cfg.self};
    memcpy(cur.dir, n->ctl.qn->dir_id, QUORUM_DIR_LEN);
    if (!quorum_is_voter(&qn->q, &cur)) all = 0;
    for (uint32_t i = 0; i < qn->q.cfg.nvoters; i++) {
      struct quorum_key v = qn->q.cfg.voters[i];
      if (v.id != cur.id || !memcmp(v.dir, cur.dir, QUORUM_DIR_LEN)) continue;
      int rc = qnode_change_voters(qn, 0, &v, NULL, 0, &end, err, sizeof err);
      sim_log(s, "operator: remove-voter %d (its old directory) on controller %d: %s", v.id, l->k + 1,
              rc ? err : "appended");
      post(l);
      return 0;
    }
  }
  for (int k = 0; k < s->nctl; k++) {
    int node = sim_ctl_node(k);
    struct cnode *n = cn(s, node);
    if (!n || !s->nodes[node].up) continue;
    struct quorum_key cur = {.id = n->ctl.qn->cfg.self};
    memcpy(cur.dir, n->ctl.qn->dir_id, QUORUM_DIR_LEN);
    if (quorum_is_voter(&qn->q, &cur)) continue;
    int rc = qnode_change_voters(qn, 1, &cur, n->qcfg.voters[k].host, n->qcfg.voters[k].port, &end,
                                 err, sizeof err);
    sim_log(s, "operator: add-voter %d (its new directory) on controller %d: %s", cur.id, l->k + 1,
            rc ? err : "appended");
    post(l);
    return 0;
  }
  return all;
}

int cnode_create_topic(struct sim *s, const char *name, uint32_t partitions, uint32_t rf,
                       const char *const *configs) {
  int node = cnode_active(s);
  if (node < 0) {
    sim_log(s, "cannot create topic %s yet: no active controller", name);
    return -1;
  }
  struct cnode *n = cn(s, node);
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
  if (n->ctl.qn) post(n);
  return rc;
}

/* The active controller holds topic in committed state (a quorum leader's
 * applied state may hold records it has not committed yet: with nothing
 * pending, what it applied is committed). */
int cnode_topic_committed(struct sim *s, const char *topic) {
  int node = cnode_active(s);
  if (node < 0) return 0;
  struct cnode *n = cn(s, node);
  return ctrl_topic(&n->ctl.c, topic) && (!n->ctl.qn || !qnode_pending(n->ctl.qn));
}

int32_t cnode_leader(struct sim *s, const char *topic, uint32_t part) {
  int node = cnode_active(s);
  if (node < 0) return -1;
  struct cnode *n = cn(s, node);
  struct ctrl_topic *t = ctrl_topic(&n->ctl.c, topic);
  return t && part < t->npart ? t->parts[part].leader : -1;
}

int32_t cnode_leader_epoch(struct sim *s, const char *topic, uint32_t part) {
  int node = cnode_active(s);
  if (node < 0) return -1;
  struct cnode *n = cn(s, node);
  struct ctrl_topic *t = ctrl_topic(&n->ctl.c, topic);
  return t && part < t->npart ? t->parts[part].leader_epoch : -1;
}
