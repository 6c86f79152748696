/* The simulated network. Each ordered pair of nodes is one TCP connection:
 * messages on it arrive in order, after a random delay. A cut (nftables
 * drop) loses what is sent while it lasts; the sender notices only by its
 * own timeout, as over a real network. A reset (random drop, a timeout, a
 * crashed peer) ends the connection: what was in flight on it is gone and
 * calls waiting on it fail at once on both sides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "tests/sim/sim.h"

/* ---- random numbers ---- */

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void rng_seed(struct sim_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

int64_t rng_range(struct sim_rng *r, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

int rng_chance(struct sim_rng *r, int pct) { return (int)(rng_next(r) % 100) < pct; }

/* ---- connections ---- */

/* Connection generation per unordered pair: a reset bumps it, and messages
 * sent under an older one are discarded on arrival. */
static uint64_t link_gen[SIM_NODES_MAX][SIM_NODES_MAX];

static uint64_t gen_of(int a, int b) { return a < b ? link_gen[a][b] : link_gen[b][a]; }

static void msg_free(struct sim_msg *m) {
  free(m->hdr);
  free(m->payload);
  free(m);
}

void net_fail_calls(struct sim *s, int from, int to) {
  struct sim_node *n = &s->nodes[from];
  for (int i = 0; i < SIM_RPCS_MAX; i++) {
    struct sim_rpc *r = &n->rpcs[i];
    if (!r->used || r->to != to) continue;
    r->used = 0;
    r->cb(s, n, r->arg, NULL, NULL, 0, STRATA_EIO); /* callbacks own their argument */
  }
}

/* The connection between a and b ends; each side learns it (the
 * controller counts a closed broker connection toward fencing it). */
static void reset_link(struct sim *s, int a, int b) {
  if (s->trace_net) fprintf(stderr, "[%ld] reset %d-%d\n", (long)s->now, a, b);
  if (a < b) link_gen[a][b]++;
  else link_gen[b][a]++;
  net_fail_calls(s, a, b);
  net_fail_calls(s, b, a);
  if (s->nodes[a].up && !s->nodes[a].paused) node_peer_closed(s, &s->nodes[a], b);
  if (s->nodes[b].up && !s->nodes[b].paused) node_peer_closed(s, &s->nodes[b], a);
}

void net_drop_calls(struct sim *s, int id) {
  for (int k = 0; k < SIM_NODES_MAX; k++) net_fail_calls(s, id, k);
}

void net_node_down(struct sim *s, int id) {
  net_drop_calls(s, id);
  for (int k = 0; k < SIM_NODES_MAX; k++) {
    if (k == id) continue;
    if (id < k) link_gen[id][k]++;
    else link_gen[k][id]++;
    /* A peer separated by a cut hears nothing: no FIN crosses it. */
    if (s->cut[id][k]) continue;
    net_fail_calls(s, k, id);
    if (s->nodes[k].up && !s->nodes[k].paused) node_peer_closed(s, &s->nodes[k], id);
  }
}

void net_send(struct sim *s, int from, int to, const Strata__Header *h, const uint8_t *payload,
              size_t payload_len, int is_resp, uint64_t rpc_id, int32_t leader_epoch) {
  if (s->cut[from][to] || from == s->dying) return; /* a process killed mid-event sends nothing */
  struct sim_msg *m = calloc(1, sizeof *m);
  if (!m) abort();
  /* A lost packet resets the connection when it would have arrived (not
   * now: the sender is still inside its send call). */
  m->reset = s->drop_pct && rng_chance(&s->rng, s->drop_pct);
  m->from = from;
  m->to = to;
  m->conn_gen = gen_of(from, to);
  m->is_resp = is_resp;
  m->rpc_id = rpc_id;
  m->leader_epoch = leader_epoch;
  m->hdr_len = strata__header__get_packed_size(h);
  m->hdr = malloc(m->hdr_len + 1);
  if (!m->hdr) abort();
  strata__header__pack(h, m->hdr);
  if (payload_len) {
    m->payload = malloc(payload_len);
    if (!m->payload) abort();
    memcpy(m->payload, payload, payload_len);
    m->payload_len = payload_len;
  }
  int64_t at = s->now + rng_range(&s->rng, s->delay_min, s->delay_max);
  if (at < s->link_last[from][to]) at = s->link_last[from][to]; /* TCP keeps order */
  s->link_last[from][to] = at;
  m->at = at;
  m->seq = ++s->seq;
  struct sim_msg **pp = &s->queue;
  while (*pp && ((*pp)->at < at || ((*pp)->at == at && (*pp)->seq < m->seq))) pp = &(*pp)->next;
  m->next = *pp;
  *pp = m;
}

int net_call(struct sim *s, int from, int to, const Strata__Header *h, const uint8_t *payload,
             size_t payload_len, int64_t timeout_ms, rpc_cb *cb, void *arg) {
  struct sim_node *n = &s->nodes[from];
  /* Nothing listens there: connection refused, at once. */
  if (!s->nodes[to].up && !s->cut[from][to]) return -1;
  struct sim_rpc *r = NULL;
  for (int i = 0; i < SIM_RPCS_MAX && !r; i++)
    if (!n->rpcs[i].used) r = &n->rpcs[i];
  if (!r) return -1;
  r->used = 1;
  r->id = ++n->next_rpc;
  r->to = to;
  r->deadline = s->now + timeout_ms;
  r->cb = cb;
  r->arg = arg;
  net_send(s, from, to, h, payload, payload_len, 0, r->id, -1);
  return 0;
}

int64_t net_next_due(const struct sim *s) {
  int64_t t = INT64_MAX;
  for (const struct sim_msg *m = s->queue; m; m = m->next) {
    const struct sim_node *n = &s->nodes[m->to];
    if (n->paused) continue; /* waits in the socket buffer */
    if (m->at < t) t = m->at;
    break; /* sorted: the first unpaused one is due first */
  }
  return t;
}

static void deliver(struct sim *s, struct sim_msg *m) {
  struct sim_node *n = &s->nodes[m->to];
  if (!n->up || m->conn_gen != gen_of(m->from, m->to) || s->cut[m->from][m->to]) return;
  if (m->to == s->dying) return; /* killed earlier in this step */
  s->current_node = m->to;
  if (m->reset) {
    reset_link(s, m->from, m->to);
    return;
  }
  if (s->trace_net)
    fprintf(stderr, "[%ld] deliver %d->%d %s rpc %lu\n", (long)s->now, m->from, m->to,
            m->is_resp ? "resp" : "req", (unsigned long)m->rpc_id);
  if (!m->is_resp) {
    node_deliver(s, n, m);
    return;
  }
  for (int i = 0; i < SIM_RPCS_MAX; i++) {
    struct sim_rpc *r = &n->rpcs[i];
    if (!r->used || r->id != m->rpc_id || r->to != m->from) continue;
    r->used = 0;
    Strata__Header *h = strata__header__unpack(NULL, m->hdr_len, m->hdr);
    if (!h) {
      r->cb(s, n, r->arg, NULL, NULL, 0, STRATA_EIO);
      return;
    }
    s->resp_from = m->from;
    s->resp_epoch = m->leader_epoch;
    r->cb(s, n, r->arg, h, m->payload, m->payload_len, 0);
    strata__header__free_unpacked(h, NULL);
    return;
  }
}

int net_deliver_due(struct sim *s) {
  int count = 0;
  struct sim_msg **pp = &s->queue;
  while (*pp && (*pp)->at <= s->now) {
    struct sim_msg *m = *pp;
    if (s->nodes[m->to].paused && s->nodes[m->to].up) { /* stays queued */
      pp = &m->next;
      continue;
    }
    *pp = m->next;
    deliver(s, m); /* may queue new messages (after pp: they are later) */
    msg_free(m);
    count++;
    pp = &s->queue; /* the list may have changed in front of us */
  }
  return count;
}

void net_expire_calls(struct sim *s) {
  for (int k = 0; k < SIM_NODES_MAX; k++) {
    struct sim_node *n = &s->nodes[k];
    if (!n->up || n->paused) continue;
    for (int i = 0; i < SIM_RPCS_MAX; i++) {
      struct sim_rpc *r = &n->rpcs[i];
      if (r->used && r->deadline <= s->now) reset_link(s, k, r->to); /* gives up, reconnects */
    }
  }
}

void net_free(struct sim *s) {
  while (s->queue) {
    struct sim_msg *m = s->queue;
    s->queue = m->next;
    msg_free(m);
  }
  memset(link_gen, 0, sizeof link_gen);
}
