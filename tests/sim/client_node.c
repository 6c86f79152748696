/* Clients in the simulator: idempotent acks=all producers (one batch of one
 * unique record in flight each, retried with the same producer id and
 * sequence until acknowledged or its delivery timeout passes, as libstrata
 * does) and one reader that follows every partition at the high watermark.
 * Everything they do goes into the checker's history. A metadata lookup is
 * modelled as reading the view of one broker the client can reach. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/errors.h"
#include "tests/sim/sim.h"

#define PARTS_MAX 8
#define DELIVERY_TIMEOUT_MS 20000

struct client {
  int id, reader;
  uint32_t nparts;
  int32_t leader[PARTS_MAX];
  /* producer */
  int64_t pid;
  int32_t seq[PARTS_MAX];
  int writing, inflight, have_write;
  uint64_t written;
  char value[48];
  uint32_t part;
  int64_t invoke, retry_at, next_write_at;
  /* reader */
  int64_t next[PARTS_MAX];
  int reading[PARTS_MAX];
};

static struct client *cl(struct sim_node *n) { return n->impl; }

int sim_reachable_broker(struct sim *s, int from) {
  int tries[SIM_NODES_MAX], nt = 0;
  for (int b = 1; b <= s->nbrokers; b++)
    if (s->nodes[b].up && !s->nodes[b].paused && !s->cut[from][b] && !s->cut[b][from]) tries[nt++] = b;
  return nt ? tries[rng_range(&s->rng, 0, nt - 1)] : -1;
}

/* Which broker leads `part`, as a reachable broker sees it. */
int32_t sim_lookup_leader(struct sim *s, int from, uint32_t part) {
  int b = sim_reachable_broker(s, from);
  return b > 0 ? bnode_leader_of(s, b, part) : -1;
}

/* ---- producers ---- */

static void on_produce(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                       const uint8_t *pl, size_t pn, int err) {
  (void)arg, (void)pl, (void)pn;
  struct client *c = cl(n);
  c->inflight = 0;
  if (!c->have_write) return;
  int rc = err ? err : strata_error_from_wire(resp->error_code);
  const Strata__ProducePartitionResult *r = NULL;
  if (!rc && resp->body_case == STRATA__HEADER__BODY_PRODUCE_RESP &&
      resp->produce_resp->n_partitions == 1) {
    r = resp->produce_resp->partitions[0];
    rc = strata_error_from_wire(r->error_code);
  } else if (!rc) {
    rc = STRATA_EINVALID_REQUEST;
  }
  if (!rc) {
    int32_t epoch = s->resp_epoch;
    if (epoch >= 0 && epoch < 1024) {
      int32_t *owner = &s->epoch_owner[c->part][epoch];
      if (*owner && *owner != s->resp_from)
        sim_violation(s, "partition %u leader epoch %d: brokers %d and %d both acknowledged "
                      "acks=all writes", c->part, epoch, *owner, s->resp_from);
      *owner = s->resp_from;
    }
    sim_history(s, "W %" PRId64 " %" PRId64 " %u %s ok %" PRId64, c->invoke * 1000,
                s->now * 1000, c->part, c->value, r->base_offset);
    s->st.writes_ok++;
    if (s->last_leader_crash && c->part == 0 && c->invoke >= s->last_leader_crash &&
        s->st.nfailover < 256) {
      s->st.failover_ms[s->st.nfailover++] = s->now - s->last_leader_crash;
      s->last_leader_crash = 0;
    }
    c->seq[c->part]++;
    c->have_write = 0;
    c->next_write_at = s->now + rng_range(&s->rng, 0, 20);
    return;
  }
  if (rc == STRATA_EOUT_OF_ORDER_SEQUENCE && cnode_leader(s, SIM_TOPIC, c->part) == s->resp_from &&
      cnode_leader_epoch(s, SIM_TOPIC, c->part) == bnode_epoch(s, s->resp_from, c->part)) {
    /* The current leader has not seen our previous sequence, which was
     * acknowledged. (A deposed leader that does not know it yet may say
     * so honestly: it missed what its successor took; that is retried.) */
    sim_violation(s, "%s: OUT_OF_ORDER_SEQUENCE from broker %d (producer %" PRId64 " seq %d)",
                  c->value, s->resp_from, c->pid, c->seq[c->part]);
  }
  if (rc == STRATA_ENOT_LEADER || rc == STRATA_EOUT_OF_ORDER_SEQUENCE || err) {
    c->leader[c->part] = r && r->leader_hint > 0 ? r->leader_hint : -1;
    c->retry_at = s->now + (c->leader[c->part] > 0 ? 5 : 50);
  } else {
    c->retry_at = s->now + 100;
  }
}

static void send_write(struct sim *s, struct sim_node *n) {
  struct client *c = cl(n);
  if (c->leader[c->part] <= 0) c->leader[c->part] = sim_lookup_leader(s, c->id, c->part);
  int32_t leader = c->leader[c->part];
  if (leader <= 0) {
    c->retry_at = s->now + 100;
    return;
  }
  struct batch_builder bb;
  batch_builder_init(&bb);
  const uint8_t *batch;
  size_t blen;
  if (batch_builder_add(&bb, s->now, NULL, 0, c->value, strlen(c->value), NULL, 0) ||
      batch_builder_finish(&bb, BATCH_COMPRESSION_NONE, 0, &batch, &blen))
    abort();
  uint8_t *copy = malloc(blen);
  if (!copy) abort();
  memcpy(copy, batch, blen);
  batch_set_producer(copy, blen, c->pid, 0, c->seq[c->part]);
  Strata__ProducePartition pp = STRATA__PRODUCE_PARTITION__INIT;
  pp.topic = SIM_TOPIC;
  pp.partition = c->part;
  pp.payload_bytes = (uint32_t)blen;
  Strata__ProducePartition *ppv[1] = {&pp};
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = -1;
  q.timeout_ms = 2000;
  q.partitions = ppv;
  q.n_partitions = 1;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_PRODUCE;
  h.body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h.produce_req = &q;
  if (!net_call(s, c->id, leader, &h, copy, blen, 3000, on_produce, NULL)) {
    c->inflight = 1;
  } else {
    c->leader[c->part] = -1;
    c->retry_at = s->now + 50;
  }
  free(copy);
  batch_builder_free(&bb);
}

static void producer_tick(struct sim *s, struct sim_node *n) {
  struct client *c = cl(n);
  if (c->inflight) return;
  if (c->have_write && s->now - c->invoke > DELIVERY_TIMEOUT_MS) {
    /* Given up: the application hears it failed. The next write starts a
     * new producer id (its sequence may have a hole now), as libstrata does. */
    sim_history(s, "W %" PRId64 " %" PRId64 " %u %s fail", c->invoke * 1000, s->now * 1000,
                c->part, c->value);
    c->have_write = 0;
    c->pid = s->next_pid++;
    memset(c->seq, 0, sizeof c->seq);
  }
  if (!c->have_write) {
    if (!c->writing || s->now < c->next_write_at) return;
    c->have_write = 1;
    c->part = (uint32_t)rng_range(&s->rng, 0, c->nparts - 1);
    snprintf(c->value, sizeof c->value, "p%d-%" PRIu64, c->id - SIM_CLIENT0, c->written++);
    c->invoke = s->now;
    c->retry_at = 0;
  }
  if (s->now >= c->retry_at) send_write(s, n);
}

/* ---- fetching (the reader and group members) ---- */

int sim_fetch(struct sim *s, int from, int to, uint32_t part, int64_t offset, rpc_cb *cb,
              void *arg) {
  Strata__FetchPartition fp = STRATA__FETCH_PARTITION__INIT;
  fp.topic = SIM_TOPIC;
  fp.partition = part;
  fp.fetch_offset = offset;
  fp.max_bytes = 64 << 10;
  fp.last_fetched_epoch = -1;
  fp.durable_offset = -1;
  Strata__FetchPartition *fpv[1] = {&fp};
  Strata__FetchRequest q = STRATA__FETCH_REQUEST__INIT;
  q.max_wait_ms = 100;
  q.min_bytes = 1;
  q.max_bytes = 1 << 20;
  q.partitions = fpv;
  q.n_partitions = 1;
  q.replica_id = -1;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_FETCH;
  h.body_case = STRATA__HEADER__BODY_FETCH_REQ;
  h.fetch_req = &q;
  return net_call(s, from, to, &h, NULL, 0, 2000, cb, arg);
}

int sim_fetched(struct sim *s, const char *who, const Strata__Header *resp, const uint8_t *pl,
                size_t pn, int64_t *next, uint32_t nparts, fetched_cb *cb, void *arg) {
  if (resp->error_code || resp->body_case != STRATA__HEADER__BODY_FETCH_RESP) return -1;
  const Strata__FetchResponse *fr = resp->fetch_resp;
  size_t off = 0;
  struct batch_scratch sc = {0};
  for (size_t i = 0; i < fr->n_partitions; i++) {
    const Strata__FetchPartitionResult *r = fr->partitions[i];
    uint32_t k = r->partition;
    if (k >= nparts || off + r->payload_bytes > pn) break;
    int rc = strata_error_from_wire(r->error_code);
    if (rc == STRATA_EOFFSET_OUT_OF_RANGE && r->log_start_offset > next[k]) {
      /* Retention deleted what this reader had not read yet: it is told so
       * (T18: an explicit error, never a silent skip) and starts again at
       * the log start, as auto.offset.reset=earliest does. */
      sim_log(s, "%s: partition %u offsets %" PRId64 "-%" PRId64 " deleted by retention before "
              "they were read", who, k, next[k], r->log_start_offset - 1);
      s->st.retention_resets++;
      next[k] = r->log_start_offset;
    } else if (rc == STRATA_EOFFSET_OUT_OF_RANGE && cnode_leader(s, SIM_TOPIC, k) == s->resp_from &&
               cnode_leader_epoch(s, SIM_TOPIC, k) == bnode_epoch(s, s->resp_from, k))
      /* A deposed leader that does not know it yet has a shorter log; the
       * client asks again (as libstrata does). The current leader, knowing
       * it leads, must have every offset read before. */
      sim_violation(s, "%s: partition %u offset %" PRId64 " (read before) is out of range on "
                    "its leader %d", who, k, next[k], s->resp_from);
    if (rc) cb(s, arg, k, rc, NULL);
    const uint8_t *p = pl + off;
    size_t len = r->payload_bytes, pos = 0;
    while (!rc && pos + BATCH_HEADER_SIZE <= len) {
      struct batch_header bh;
      if (batch_header_decode(p + pos, len - pos, &bh)) break;
      size_t sz = batch_total_size(&bh);
      if (sz > len - pos) break; /* a cut last batch */
      struct batch_iter it;
      struct batch_record rec;
      if (batch_iter_init(&it, p + pos, sz, &sc)) {
        sim_violation(s, "%s: a batch at %" PRId64 " of partition %u fails its CRC", who,
                      bh.base_offset, k);
        break;
      }
      while (batch_iter_next(&it, &rec) > 0) {
        if (rec.offset < next[k]) continue; /* a batch starting before our position */
        if (rec.offset != next[k])
          sim_violation(s, "%s: partition %u jumped from %" PRId64 " to %" PRId64, who, k,
                        next[k], rec.offset);
        cb(s, arg, k, 0, &rec);
        next[k] = rec.offset + 1;
      }
      pos += sz;
    }
    off += r->payload_bytes;
  }
  batch_scratch_free(&sc);
  return 0;
}

/* ---- the reader ---- */

static void reader_saw(struct sim *s, void *arg, uint32_t k, int rc, const struct batch_record *rec) {
  struct client *c = arg;
  if (rc) c->leader[k] = -1;
  else
    sim_history(s, "R %" PRId64 " reader %u %" PRId64 " %.*s", s->now * 1000, k, rec->offset,
                (int)rec->value_len, (const char *)rec->value);
}

static void on_fetch(struct sim *s, struct sim_node *n, void *arg, const Strata__Header *resp,
                     const uint8_t *pl, size_t pn, int err) {
  (void)arg;
  struct client *c = cl(n);
  c->inflight = 0;
  if (err || sim_fetched(s, "reader", resp, pl, pn, c->next, c->nparts, reader_saw, c)) {
    for (uint32_t k = 0; k < c->nparts; k++) c->leader[k] = -1;
    c->retry_at = s->now + 50;
  }
}

static void reader_tick(struct sim *s, struct sim_node *n) {
  struct client *c = cl(n);
  if (s->no_reader || c->inflight || s->now < c->retry_at) return;
  uint32_t k = (uint32_t)rng_range(&s->rng, 0, c->nparts - 1);
  if (c->leader[k] <= 0) c->leader[k] = sim_lookup_leader(s, c->id, k);
  if (c->leader[k] <= 0) {
    c->retry_at = s->now + 100;
    return;
  }
  if (!sim_fetch(s, c->id, c->leader[k], k, c->next[k], on_fetch, NULL)) {
    c->inflight = 1;
  } else {
    c->leader[k] = -1;
    c->retry_at = s->now + 50;
  }
}

/* ---- life ---- */

void clients_start(struct sim *s, uint32_t nparts) {
  for (int i = 0; i <= s->nproducers; i++) {
    struct sim_node *n = &s->nodes[SIM_CLIENT0 + i];
    struct client *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->id = SIM_CLIENT0 + i;
    c->reader = i == s->nproducers;
    c->nparts = nparts > PARTS_MAX ? PARTS_MAX : nparts;
    c->pid = s->next_pid++;
    c->writing = !c->reader;
    for (uint32_t k = 0; k < PARTS_MAX; k++) c->leader[k] = -1;
    n->impl = c;
    n->up = 1;
  }
}

void client_deliver(struct sim *s, struct sim_node *n, const struct sim_msg *m) {
  (void)s, (void)n, (void)m; /* clients serve no requests */
}

void client_tick(struct sim *s, struct sim_node *n) {
  if (cl(n)->reader) reader_tick(s, n);
  else producer_tick(s, n);
}

void clients_stop_writing(struct sim *s) {
  for (int i = 0; i < s->nproducers; i++) cl(&s->nodes[SIM_CLIENT0 + i])->writing = 0;
}

int clients_idle(struct sim *s) {
  for (int i = 0; i < s->nproducers; i++)
    if (cl(&s->nodes[SIM_CLIENT0 + i])->have_write) return 0;
  return 1;
}

void clients_free(struct sim *s) {
  for (int i = 0; i <= s->nproducers; i++) {
    free(s->nodes[SIM_CLIENT0 + i].impl);
    s->nodes[SIM_CLIENT0 + i].impl = NULL;
    s->nodes[SIM_CLIENT0 + i].up = 0;
  }
}
