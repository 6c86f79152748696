/* The producer: per-partition batch accumulation (linger, batch size,
 * compression), partitioning, pipelined produce requests to each leader,
 * retries with backoff, and delivery reports in order per partition.
 *
 * Idempotence (acks=all, on by default): the producer gets an id from the
 * cluster; each batch is stamped at its first send with the id and the
 * partition's next sequence, and keeps them through every retry, so a leader
 * that already has it (before or after a failover) answers with the original
 * offset instead of appending it again. Retried batches go back into the
 * queue in sequence order. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/internal.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/wire.h"

/* Most batches in one produce request, and its byte budget. */
#define PRODUCE_REQ_BATCHES_MAX 64
#define PRODUCE_REQ_BYTES_MAX (8u << 20)
#define PRODUCER_BROKERS_MAX 64

struct pbatch {
  struct pbatch *next;
  struct ptopic *topic;
  uint32_t partition;
  struct batch_builder b;
  const uint8_t *data; /* finished batch, inside b */
  size_t len;
  size_t nrec, cap;
  void **opaques;
  int64_t *timestamps;
  int64_t created_ms;
  int64_t retry_at;
  int attempts;
  size_t mem;
  int64_t pid;  /* idempotence: stamped producer id, -1 before the first send */
  int32_t seq;  /* and its first sequence */
};

struct ptopic {
  char *name;
  uint32_t npart;
  int32_t *leaders;
  struct pbatch **open;
  uint32_t sticky; /* keyless records go here until its batch is sealed */
  int64_t *pids;   /* idempotence, per partition: the producer id in use */
  int32_t *seqs;   /* and the next sequence */
  uint32_t *flying;   /* batches in flight, per partition */
  size_t *flying_to;  /* and the broker (index) they went to */
  uint8_t *queued;    /* scratch of hold_mark: a sealed batch waits unsent */
};

/* Batches of one partition in flight at once with idempotence: a leader
 * keeps the last 5 of each producer (broker/producer_state.h), as Kafka's
 * max.in.flight.requests.per.connection <= 5. */
#define PARTITION_INFLIGHT_MAX 5

struct inflight {
  struct inflight *next;
  uint32_t corr;
  int64_t sent_ms;
  size_t n;
  struct pbatch *batches[PRODUCE_REQ_BATCHES_MAX];
};

struct pbroker {
  int32_t id;
  char host[256];
  int port;
  struct conn c;
  struct inflight *head, *tail;
  int ninflight;
  int64_t reconnect_at;
};

struct strata_producer {
  strata_producer_config cfg;
  strata_delivery_cb cb;
  void *cb_arg;
  char bootstrap[1024];
  struct conn boot;
  struct client_sec sec; /* how every broker is reached */
  struct ptopic **topics;
  size_t ntopics;
  struct ptopic *last_topic;
  struct pbroker brokers[PRODUCER_BROKERS_MAX];
  size_t nbrokers;
  struct pbatch *ready, *ready_tail; /* sealed, waiting to be sent */
  size_t outstanding;                /* records not yet reported */
  size_t mem;
  int reported;
  int metadata_stale;         /* a leader failed or moved: refresh before sending */
  int64_t next_refresh_ms;
  int idempotent;
  int64_t pid;                /* the producer id the cluster gave us */
  int64_t next_stall_check_ms;
  int closing;
  struct pbatch *spare;       /* finished batches kept for reuse (batch_new) */
  size_t spare_bytes;         /* their buffers' capacity */
};

void strata_producer_config_defaults(strata_producer_config *c) {
  memset(c, 0, sizeof *c);
  c->acks = -1;
  c->linger_ms = 5;
  c->batch_size = 256 << 10;
  c->compression = STRATA_COMPRESSION_NONE;
  c->retries = 5;
  c->retry_backoff_ms = 100;
  c->max_in_flight = 5;
  c->partitioner = STRATA_PARTITIONER_HASH;
  c->request_timeout_ms = 30000;
  /* Kafka's buffer.memory. A queue longer than the broker drains between
   * answers buys no throughput, only fresh memory: at 256 MiB the 1 KiB
   * acks=1 bench queued up to 190 MB, page-faulting all of it in, and
   * spent 1.13-1.33 s of producer CPU per GiB against 0.83-1.0 at 32 MiB,
   * at the same rate. */
  c->buffer_memory = 32u << 20;
  c->enable_idempotence = 1;
  c->delivery_timeout_ms = 120000;
}

/* Kafka's murmur2, so that a key lands on the partition a Kafka client
 * would pick for the same partition count. */
static uint32_t murmur2(const uint8_t *data, size_t len) {
  const uint32_t m = 0x5bd1e995;
  uint32_t h = 0x9747b28c ^ (uint32_t)len;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t k = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 |
                 (uint32_t)data[i + 2] << 16 | (uint32_t)data[i + 3] << 24;
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (len - i) {
  case 3: h ^= (uint32_t)data[i + 2] << 16; /* fall through */
  case 2: h ^= (uint32_t)data[i + 1] << 8;  /* fall through */
  case 1: h ^= data[i]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

static void report(strata_producer *p, struct pbatch *b, int64_t base, int64_t append_time,
                   int err) {
  for (size_t i = 0; i < b->nrec; i++) {
    strata_delivery d = {b->topic->name, b->partition,
                         err || base < 0 ? -1 : base + (int64_t)i,
                         append_time >= 0 ? append_time : b->timestamps[i], err,
                         b->opaques[i]};
    if (p->cb) p->cb(&d, p->cb_arg);
  }
  p->outstanding -= b->nrec;
  p->reported += (int)b->nrec;
}

static void batch_release(struct pbatch *b) {
  batch_builder_free(&b->b);
  free(b->opaques);
  free(b->timestamps);
  free(b);
}

/* What a kept batch holds: its record buffer, its compressed copy and its
 * per-record opaque and timestamp slots. */
static size_t spare_size(const struct pbatch *b) {
  return batch_builder_capacity(&b->b) + b->b.out_cap +
         b->cap * (sizeof *b->opaques + sizeof *b->timestamps);
}

/* A batch is done with (reported): its memory goes back to the spare list
 * for the next batch_new, unless the buffer grew past twice batch_size (its
 * doubling growth stops below that) for one big record, or the list holds
 * buffer_memory already. A producer that fills batches so keeps reusing
 * the buffers of its busiest moment instead of a malloc, a doubling
 * realloc per size step (each copying the batch so far) and page faults
 * per batch; what it keeps is bounded as Kafka's BufferPool bounds it, by
 * buffer.memory. */
static void batch_free(strata_producer *p, struct pbatch *b) {
  p->mem -= b->mem;
  size_t cap = spare_size(b);
  if (p->spare_bytes + cap > p->cfg.buffer_memory ||
      batch_builder_capacity(&b->b) > 2 * p->cfg.batch_size) {
    batch_release(b);
    return;
  }
  b->next = p->spare;
  p->spare = b;
  p->spare_bytes += cap;
}

/* An empty batch for partition `part` of t: a spare one if there is one.
 * A new buffer grows with what is added (a producer of a few records to
 * many partitions holds little); presizing it at batch_size would hold
 * batch_size per open partition outside buffer_memory's count, and once
 * the spares circulate few new ones are made. */
static struct pbatch *batch_new(strata_producer *p, struct ptopic *t, uint32_t part) {
  struct pbatch *b = p->spare;
  if (b) {
    p->spare = b->next;
    p->spare_bytes -= spare_size(b);
    batch_builder_reset(&b->b);
    struct batch_builder keep = b->b;
    void **opaques = b->opaques;
    int64_t *timestamps = b->timestamps;
    size_t cap = b->cap;
    memset(b, 0, sizeof *b);
    b->b = keep;
    b->opaques = opaques;
    b->timestamps = timestamps;
    b->cap = cap;
  } else {
    if (!(b = calloc(1, sizeof *b))) return NULL;
    batch_builder_init(&b->b);
  }
  b->topic = t;
  b->partition = part;
  b->created_ms = conn_now_ms();
  b->pid = -1;
  return b;
}

static struct pbroker *broker_by_id(strata_producer *p, int32_t id) {
  for (size_t i = 0; i < p->nbrokers; i++)
    if (p->brokers[i].id == id) return &p->brokers[i];
  return NULL;
}

/* Refresh brokers and the named topic's leaders from the cluster. */
static int refresh_within(strata_producer *p, struct ptopic *t, int *unknown, int timeout_ms) {
  if (!conn_is_open(&p->boot)) {
    char err[256];
    int rc = client_bootstrap(&p->boot, p->bootstrap, timeout_ms, &p->sec, err, sizeof err);
    if (rc) return rc;
  }
  strata_metadata *m = NULL;
  const char *names[1] = {t->name};
  int rc = client_metadata(&p->boot, timeout_ms, names, 1, &m);
  if (rc) return rc;
  for (size_t i = 0; i < m->nbrokers; i++) {
    struct pbroker *b = broker_by_id(p, m->brokers[i].id);
    if (!b && p->nbrokers < PRODUCER_BROKERS_MAX) {
      b = &p->brokers[p->nbrokers++];
      memset(b, 0, sizeof *b);
      conn_init(&b->c);
      b->id = m->brokers[i].id;
    }
    if (!b) continue;
    if (strcmp(b->host, m->brokers[i].host) || b->port != m->brokers[i].port) {
      conn_close(&b->c);
      snprintf(b->host, sizeof b->host, "%s", m->brokers[i].host);
      b->port = m->brokers[i].port;
    }
  }
  *unknown = 0;
  if (m->ntopics == 1 && m->topics[0].error == STRATA_ETOPIC_AUTHORIZATION_FAILED) {
    strata_metadata_free(m); /* not this principal's to write: no wait for it to appear */
    return STRATA_ETOPIC_AUTHORIZATION_FAILED;
  }
  if (m->ntopics != 1 || m->topics[0].error) {
    *unknown = 1;
    strata_metadata_free(m);
    return STRATA_EUNKNOWN_TOPIC;
  }
  strata_topic_info *ti = &m->topics[0];
  if (t->npart == 0) {
    t->npart = (uint32_t)ti->npartitions;
    t->leaders = calloc(t->npart, sizeof *t->leaders);
    t->open = calloc(t->npart, sizeof *t->open);
    t->pids = calloc(t->npart, sizeof *t->pids);
    t->seqs = calloc(t->npart, sizeof *t->seqs);
    t->flying = calloc(t->npart, sizeof *t->flying);
    t->flying_to = calloc(t->npart, sizeof *t->flying_to);
    t->queued = calloc(t->npart, sizeof *t->queued);
    if (!t->leaders || !t->open || !t->pids || !t->seqs || !t->flying || !t->flying_to ||
        !t->queued)
      rc = STRATA_ENOMEM;
    for (uint32_t k = 0; !rc && k < t->npart; k++) t->pids[k] = p->pid;
  }
  for (size_t k = 0; !rc && k < ti->npartitions; k++)
    if (ti->partitions[k].partition < t->npart)
      t->leaders[ti->partitions[k].partition] = ti->partitions[k].leader;
  strata_metadata_free(m);
  return rc;
}

static int refresh_metadata(strata_producer *p, struct ptopic *t, int *unknown) {
  return refresh_within(p, t, unknown, p->cfg.request_timeout_ms);
}

/* Every topic's leaders again; 1 when all answered. */
static int refresh_all(strata_producer *p, int timeout_ms) {
  int ok = 1, unknown;
  for (size_t i = 0; i < p->ntopics; i++)
    if (refresh_within(p, p->topics[i], &unknown, timeout_ms)) ok = 0;
  return ok;
}

/* A new producer id from the cluster (any broker relays to the controller). */
static int init_producer_id(strata_producer *p, int64_t *id) {
  if (!conn_is_open(&p->boot)) {
    char err[256];
    int rc = client_bootstrap(&p->boot, p->bootstrap, p->cfg.request_timeout_ms, &p->sec, err,
                              sizeof err);
    if (rc) return rc;
  }
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_INIT_PRODUCER_ID;
  h.client_id = (char *)"libstrata-producer";
  Strata__InitProducerIdRequest q = STRATA__INIT_PRODUCER_ID_REQUEST__INIT;
  h.body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ;
  h.init_producer_id_req = &q;
  Strata__Header *r = NULL;
  int rc = conn_call(&p->boot, &h, NULL, 0, p->cfg.request_timeout_ms, &r, NULL, NULL);
  if (!rc && r->body_case != STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP) rc = STRATA_ECORRUPT;
  if (!rc) *id = r->init_producer_id_resp->producer_id;
  wire_header_free(r);
  return rc;
}

strata_producer *strata_producer_new(const char *bootstrap,
                                     const strata_producer_config *cfg,
                                     strata_delivery_cb cb, void *cb_arg,
                                     char *err, size_t err_len) {
  return strata_producer_new_secure(bootstrap, cfg, NULL, cb, cb_arg, err, err_len);
}

strata_producer *strata_producer_new_secure(const char *bootstrap,
                                            const strata_producer_config *cfg,
                                            const strata_security *sec,
                                            strata_delivery_cb cb, void *cb_arg,
                                            char *err, size_t err_len) {
  strata_producer *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (cfg) p->cfg = *cfg; else strata_producer_config_defaults(&p->cfg);
  if (p->cfg.acks != 0 && p->cfg.acks != 1 && p->cfg.acks != -1) {
    snprintf(err, err_len, "acks must be 0, 1 or -1 (all)");
    free(p);
    return NULL;
  }
  if (p->cfg.compression < STRATA_COMPRESSION_NONE ||
      p->cfg.compression > STRATA_COMPRESSION_ZSTD) {
    snprintf(err, err_len, "unsupported compression %d", p->cfg.compression);
    free(p);
    return NULL;
  }
  if (!p->cfg.compression_level && p->cfg.compression == STRATA_COMPRESSION_ZSTD)
    p->cfg.compression_level = p->cfg.zstd_level;
  if (p->cfg.compression == STRATA_COMPRESSION_GZIP &&
      (p->cfg.compression_level < 0 || p->cfg.compression_level > 9)) {
    snprintf(err, err_len, "gzip compression level must be 1-9 (0: default)");
    free(p);
    return NULL;
  }
  if (p->cfg.max_in_flight < 1) p->cfg.max_in_flight = 1;
  if (p->cfg.batch_size < 1024) p->cfg.batch_size = 1024;
  if (p->cfg.batch_size > BATCH_SIZE_MAX / 2) p->cfg.batch_size = BATCH_SIZE_MAX / 2;
  if (p->cfg.request_timeout_ms <= 0) p->cfg.request_timeout_ms = 30000;
  p->cb = cb;
  p->cb_arg = cb_arg;
  snprintf(p->bootstrap, sizeof p->bootstrap, "%s", bootstrap);
  conn_init(&p->boot);
  if (client_sec_init(&p->sec, sec, err, err_len) ||
      client_bootstrap(&p->boot, bootstrap, p->cfg.request_timeout_ms, &p->sec, err, err_len)) {
    client_sec_free(&p->sec);
    free(p);
    return NULL;
  }
  if (p->cfg.delivery_timeout_ms <= 0) p->cfg.delivery_timeout_ms = 120000;
  p->idempotent = p->cfg.enable_idempotence && p->cfg.acks == -1;
  p->pid = -1;
  if (p->idempotent) {
    int rc = init_producer_id(p, &p->pid);
    if (rc) {
      snprintf(err, err_len, "cannot get a producer id from %s: %s", bootstrap,
               strata_strerror(rc));
      conn_close(&p->boot);
      client_sec_free(&p->sec);
      free(p);
      return NULL;
    }
  }
  return p;
}

/* A topic's per-partition state; its open batches are already gone. */
static void topic_free(struct ptopic *t) {
  free(t->open);
  free(t->leaders);
  free(t->pids);
  free(t->seqs);
  free(t->flying);
  free(t->flying_to);
  free(t->queued);
  free(t->name);
  free(t);
}

static struct ptopic *get_topic(strata_producer *p, const char *name, int *rc) {
  if (p->last_topic && !strcmp(p->last_topic->name, name)) return p->last_topic;
  for (size_t i = 0; i < p->ntopics; i++)
    if (!strcmp(p->topics[i]->name, name)) return p->last_topic = p->topics[i];
  struct ptopic *t = calloc(1, sizeof *t);
  struct ptopic **v = realloc(p->topics, (p->ntopics + 1) * sizeof *v);
  if (!t || !v || !(t->name = strdup(name))) {
    free(t);
    if (v) p->topics = v;
    *rc = STRATA_ENOMEM;
    return NULL;
  }
  p->topics = v;
  int unknown;
  /* A topic created a moment ago may not have reached every broker yet:
   * ask again for up to two seconds before calling it unknown. */
  int64_t give_up = conn_now_ms() + 2000;
  while ((*rc = refresh_metadata(p, t, &unknown)) == STRATA_EUNKNOWN_TOPIC &&
         conn_now_ms() < give_up)
    poll(NULL, 0, 100);
  if (*rc) {
    topic_free(t);
    return NULL;
  }
  p->topics[p->ntopics++] = t;
  return p->last_topic = t;
}

static void ready_push(strata_producer *p, struct pbatch *b) {
  b->next = NULL;
  if (p->ready_tail) p->ready_tail->next = b; else p->ready = b;
  p->ready_tail = b;
}

/* Close a partition's open batch: encode (and compress) it now so sending
 * is a plain write. */
static int seal(strata_producer *p, struct ptopic *t, uint32_t part) {
  struct pbatch *b = t->open[part];
  if (!b) return 0;
  t->open[part] = NULL;
  if (t->sticky == part) t->sticky = (part + 1) % t->npart;
  /* Idempotent batches get their CRC when stamped at the first send (stamp). */
  int rc = (p->idempotent ? batch_builder_finish_unsealed : batch_builder_finish)(
      &b->b, p->cfg.compression, p->cfg.compression_level, &b->data, &b->len);
  if (rc) {
    report(p, b, -1, -1, rc);
    batch_free(p, b);
    return rc;
  }
  ready_push(p, b);
  return 0;
}

int strata_produce(strata_producer *p, const char *topic, int32_t partition,
                   const void *key, size_t key_len, const void *value,
                   size_t value_len, int64_t timestamp_ms,
                   const strata_header *headers, size_t header_count,
                   void *opaque) {
  if (p->mem + key_len + value_len > p->cfg.buffer_memory) return STRATA_EQUEUE_FULL;
  int rc = 0;
  struct ptopic *t = get_topic(p, topic, &rc);
  if (!t) return rc;
  uint32_t part;
  if (partition >= 0) {
    if ((uint32_t)partition >= t->npart) return STRATA_EUNKNOWN_TOPIC;
    part = (uint32_t)partition;
  } else if (key && p->cfg.partitioner == STRATA_PARTITIONER_HASH) {
    part = (murmur2(key, key_len) & 0x7fffffff) % t->npart;
  } else {
    part = t->sticky % t->npart;
  }
  if (!timestamp_ms) timestamp_ms = conn_wall_ms();
  struct pbatch *b = t->open[part];
  if (b && b->b.len + key_len + value_len + 64 > p->cfg.batch_size && b->nrec) {
    if ((rc = seal(p, t, part))) return rc;
    b = NULL;
    if (partition < 0 && !key) part = t->sticky % t->npart, b = t->open[part];
  }
  if (!b) {
    if (!(b = batch_new(p, t, part))) return STRATA_ENOMEM;
    t->open[part] = b;
  }
  if (b->nrec == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    void **o = realloc(b->opaques, cap * sizeof *o);
    if (o) b->opaques = o;
    int64_t *ts = realloc(b->timestamps, cap * sizeof *ts);
    if (ts) b->timestamps = ts;
    if (!o || !ts) return STRATA_ENOMEM;
    b->cap = cap;
  }
  struct record_header hs[RECORD_HEADERS_MAX];
  if (header_count > RECORD_HEADERS_MAX) return STRATA_EINVALID_RECORD;
  for (size_t i = 0; i < header_count; i++) {
    hs[i].key = headers[i].key;
    hs[i].key_len = headers[i].key_len;
    hs[i].value = headers[i].value;
    hs[i].value_len = headers[i].value_len;
  }
  size_t before = b->b.len;
  rc = batch_builder_add(&b->b, timestamp_ms, key, key_len, value, value_len, hs,
                         header_count);
  if (rc) return rc;
  size_t grew = b->b.len - before;
  b->mem += grew;
  p->mem += grew;
  b->opaques[b->nrec] = opaque;
  b->timestamps[b->nrec] = timestamp_ms;
  b->nrec++;
  p->outstanding++;
  if (b->b.len >= p->cfg.batch_size) return seal(p, t, part);
  return 0;
}

size_t strata_producer_outstanding(const strata_producer *p) { return p->outstanding; }

/* UNKNOWN_TOPIC from a broker is retried too (as Kafka's
 * UNKNOWN_TOPIC_OR_PARTITION): our metadata knows the topic, so the broker
 * has not applied its creation yet; failing it would fail every record
 * gathered meanwhile (a whole held batch). A deleted topic fails at the
 * delivery timeout. */
static int retriable(const strata_producer *p, int err) {
  if (err == STRATA_EOUT_OF_ORDER_SEQUENCE) return p->idempotent;
  switch (err) {
  case STRATA_EUNKNOWN_TOPIC:
  case STRATA_ENETWORK: case STRATA_ETIMEOUT: case STRATA_ENOT_LEADER:
  case STRATA_ENOT_ENOUGH_REPLICAS: case STRATA_EBROKER_NOT_AVAILABLE:
  case STRATA_ESHUTTING_DOWN: case STRATA_EUNREACHABLE: case STRATA_EFENCED_LEADER_EPOCH:
  case STRATA_EUNKNOWN_LEADER_EPOCH: case STRATA_EIO:
    return 1;
  default:
    return 0;
  }
}

/* Idempotence: a retried batch goes back before any queued batch of its
 * partition with a later sequence (or none yet), so the leader sees the
 * sequences in order. */
static void ready_insert_ordered(strata_producer *p, struct pbatch *b) {
  struct pbatch **pp = &p->ready, *prev = NULL;
  for (; *pp; prev = *pp, pp = &(*pp)->next) {
    struct pbatch *n = *pp;
    if (n->topic == b->topic && n->partition == b->partition &&
        (n->pid != b->pid || n->seq > b->seq))
      break;
  }
  b->next = *pp;
  *pp = b;
  if (!b->next) p->ready_tail = b;
  (void)prev;
}

/* Idempotence: a batch of this partition failed for good, so its sequence
 * has a hole the leader will never fill. Queued batches already stamped with
 * that id fail too; the partition continues with a fresh producer id. */
static void partition_reset(strata_producer *p, struct ptopic *t, uint32_t part, int err) {
  int64_t dead = t->pids[part];
  for (struct pbatch **pp = &p->ready, *prev = NULL; *pp;) {
    struct pbatch *n = *pp;
    if (n->topic == t && n->partition == part && n->pid == dead && n->pid >= 0) {
      *pp = n->next;
      if (p->ready_tail == n) p->ready_tail = prev;
      report(p, n, -1, -1, err);
      batch_free(p, n);
      continue;
    }
    prev = n;
    pp = &n->next;
  }
  t->pids[part] = -1; /* a new id is fetched at the next send */
  t->seqs[part] = 0;
}

/* A batch that failed: back into the ready queue after the backoff, or
 * reported as failed when its retries or its delivery timeout are used up. */
static void batch_failed(strata_producer *p, struct pbatch *b, int err) {
  struct ptopic *t = b->topic;
  int64_t now = conn_now_ms();
  /* Out of order means an earlier batch is being resent: not this batch's fault. */
  if (err == STRATA_EOUT_OF_ORDER_SEQUENCE && b->attempts > 0) b->attempts--;
  int orphan = p->idempotent && b->pid >= 0 && b->pid != t->pids[b->partition];
  if (!orphan && retriable(p, err) && b->attempts <= p->cfg.retries &&
      now - b->created_ms < p->cfg.delivery_timeout_ms) {
    b->retry_at = now + p->cfg.retry_backoff_ms;
    if (err == STRATA_ENOT_LEADER) {
      int unknown;
      refresh_metadata(p, t, &unknown);
    }
    if (p->idempotent) ready_insert_ordered(p, b);
    else ready_push(p, b);
    return;
  }
  int reset = p->idempotent && !orphan && b->pid >= 0 && !p->closing;
  uint32_t part = b->partition;
  report(p, b, -1, -1, err);
  batch_free(p, b);
  if (reset) partition_reset(p, t, part, err);
}

/* Idempotence: give a batch its producer id and sequences at its first
 * send; they never change after, whatever happens to the request. */
static int stamp(strata_producer *p, struct pbatch *b) {
  struct ptopic *t = b->topic;
  uint32_t k = b->partition;
  if (t->pids[k] < 0) {
    int rc = init_producer_id(p, &t->pids[k]);
    if (rc) {
      t->pids[k] = -1;
      return rc;
    }
  }
  b->pid = t->pids[k];
  b->seq = t->seqs[k];
  int64_t next = (int64_t)t->seqs[k] + (int64_t)b->nrec;
  t->seqs[k] = (int32_t)(next > INT32_MAX ? next - INT32_MAX - 1 : next);
  batch_set_producer((uint8_t *)b->data, b->len, b->pid, 0, b->seq);
  return 0;
}

/* Count a request's batches in or out of flight to br. */
static void flying(strata_producer *p, struct inflight *f, struct pbroker *br, int in) {
  for (size_t i = 0; i < f->n; i++) {
    struct ptopic *t = f->batches[i]->topic;
    uint32_t k = f->batches[i]->partition;
    if (in) {
      t->flying[k]++;
      t->flying_to[k] = (size_t)(br - p->brokers);
    } else if (t->flying[k]) {
      t->flying[k]--;
    }
  }
}

static void broker_fail(strata_producer *p, struct pbroker *br, int err) {
  conn_close(&br->c);
  p->metadata_stale = 1;
  br->reconnect_at = conn_now_ms() + p->cfg.retry_backoff_ms;
  while (br->head) {
    struct inflight *f = br->head;
    br->head = f->next;
    flying(p, f, br, 0);
    for (size_t i = 0; i < f->n; i++) batch_failed(p, f->batches[i], err);
    free(f);
  }
  br->tail = NULL;
  br->ninflight = 0;
}

static struct pbroker *leader_of(strata_producer *p, struct pbatch *b) {
  return broker_by_id(p, b->topic->leaders[b->partition]);
}

/* Send one produce request to br with ready batches led by it. */
static int send_one(strata_producer *p, struct pbroker *br) {
  struct inflight *f = calloc(1, sizeof *f);
  if (!f) return STRATA_ENOMEM;
  int64_t now = conn_now_ms();
  size_t bytes = 0;
  struct pbatch **pp = &p->ready, *prev = NULL;
  /* Idempotence: a partition whose earliest queued batch must wait sends
   * nothing after it either (it would only come back out of order). */
  struct pbatch *held[PRODUCE_REQ_BATCHES_MAX];
  size_t nheld = 0;
  while (*pp && f->n < PRODUCE_REQ_BATCHES_MAX) {
    struct pbatch *b = *pp;
    int blocked = 0;
    for (size_t i = 0; i < nheld && !blocked; i++)
      blocked = held[i]->topic == b->topic && held[i]->partition == b->partition;
    /* Idempotence: nothing goes to a new leader while batches of the
     * partition are still in flight to the old one. They fail or succeed
     * first; otherwise later sequences land first and a failed earlier
     * batch comes back after the leader's window of kept batches has
     * moved past it, refused as out of order for ever. */
    if (p->idempotent && b->topic->flying[b->partition] &&
        b->topic->flying_to[b->partition] != (size_t)(br - p->brokers))
      blocked = 1;
    /* Idempotence: at most as many batches of a partition in flight as a
     * leader remembers per producer, so a resent one is always recognised. */
    if (p->idempotent && !blocked) {
      uint32_t n = b->topic->flying[b->partition];
      for (size_t i = 0; i < f->n; i++)
        n += f->batches[i]->topic == b->topic && f->batches[i]->partition == b->partition;
      blocked = n >= PARTITION_INFLIGHT_MAX;
    }
    if (!blocked && leader_of(p, b) == br && b->retry_at <= now &&
        (f->n == 0 || bytes + b->len <= PRODUCE_REQ_BYTES_MAX)) {
      if (p->idempotent && b->pid < 0) {
        int rc = stamp(p, b);
        if (rc) { /* no producer id: report, as a failed send would */
          *pp = b->next;
          if (p->ready_tail == b) p->ready_tail = prev;
          report(p, b, -1, -1, rc);
          batch_free(p, b);
          continue;
        }
      }
      *pp = b->next;
      if (p->ready_tail == b) p->ready_tail = prev;
      f->batches[f->n++] = b;
      bytes += b->len;
      b->attempts++;
      continue;
    }
    if (p->idempotent && !blocked && nheld < PRODUCE_REQ_BATCHES_MAX && leader_of(p, b) == br)
      held[nheld++] = b;
    prev = b;
    pp = &b->next;
  }
  if (f->n == 0) {
    free(f);
    return 0;
  }
  Strata__ProducePartition parts[PRODUCE_REQ_BATCHES_MAX], *pv[PRODUCE_REQ_BATCHES_MAX];
  const uint8_t *data[PRODUCE_REQ_BATCHES_MAX];
  size_t lens[PRODUCE_REQ_BATCHES_MAX];
  for (size_t i = 0; i < f->n; i++) {
    strata__produce_partition__init(&parts[i]);
    parts[i].topic = f->batches[i]->topic->name;
    parts[i].partition = f->batches[i]->partition;
    parts[i].payload_bytes = (uint32_t)f->batches[i]->len;
    pv[i] = &parts[i];
    data[i] = f->batches[i]->data;
    lens[i] = f->batches[i]->len;
  }
  Strata__ProduceRequest q = STRATA__PRODUCE_REQUEST__INIT;
  q.acks = p->cfg.acks;
  q.timeout_ms = (uint32_t)p->cfg.request_timeout_ms;
  q.partitions = pv;
  q.n_partitions = f->n;
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_PRODUCE;
  h.client_id = (char *)"libstrata-producer";
  h.body_case = STRATA__HEADER__BODY_PRODUCE_REQ;
  h.produce_req = &q;
  /* the sendv limit: one iovec per batch plus the head */
  int rc = conn_sendv(&br->c, &h, data, lens, f->n, p->cfg.request_timeout_ms, &f->corr);
  f->sent_ms = now;
  if (rc) {
    for (size_t i = 0; i < f->n; i++) batch_failed(p, f->batches[i], rc);
    free(f);
    broker_fail(p, br, rc);
    return rc;
  }
  if (p->cfg.acks == 0) {
    for (size_t i = 0; i < f->n; i++) {
      report(p, f->batches[i], -1, -1, 0);
      batch_free(p, f->batches[i]);
    }
    free(f);
    return 1;
  }
  if (br->tail) br->tail->next = f; else br->head = f;
  br->tail = f;
  br->ninflight++;
  flying(p, f, br, 1);
  return 1;
}

static void handle_response(strata_producer *p, struct pbroker *br, Strata__Header *r) {
  struct inflight *f = br->head;
  if (!f || f->corr != r->correlation_id) {
    broker_fail(p, br, STRATA_ECORRUPT); /* answers come in order; this is not ours */
    return;
  }
  br->head = f->next;
  if (!br->head) br->tail = NULL;
  br->ninflight--;
  flying(p, f, br, 0);
  int req_err = r->error_code ? strata_error_from_wire(r->error_code) : 0;
  const Strata__ProduceResponse *pr =
      r->body_case == STRATA__HEADER__BODY_PRODUCE_RESP ? r->produce_resp : NULL;
  if (!req_err && (!pr || pr->n_partitions != f->n)) req_err = STRATA_ECORRUPT;
  for (size_t i = 0; i < f->n; i++) {
    struct pbatch *b = f->batches[i];
    int err = req_err ? req_err : strata_error_from_wire(pr->partitions[i]->error_code);
    if (err == STRATA_ENOT_LEADER || err == STRATA_EFENCED_LEADER_EPOCH ||
        err == STRATA_EUNKNOWN_TOPIC || err == STRATA_EBROKER_NOT_AVAILABLE) {
      p->metadata_stale = 1;
      /* "not the leader, and I know no other": its view is stale, ask
       * another broker for metadata */
      if (err == STRATA_ENOT_LEADER && pr && pr->partitions[i]->leader_hint < 0)
        conn_close(&p->boot);
    }
    if (err) {
      batch_failed(p, b, err);
      continue;
    }
    report(p, b, pr->partitions[i]->base_offset, pr->partitions[i]->log_append_time, 0);
    batch_free(p, b);
  }
  free(f);
}

/* Mark in each topic's `queued` the partitions with a sealed batch still
 * waiting in the ready queue, for hold_open (one pass, not one per partition). */
static void hold_mark(strata_producer *p) {
  for (size_t i = 0; i < p->ntopics; i++)
    if (p->topics[i]->npart) memset(p->topics[i]->queued, 0, p->topics[i]->npart);
  for (struct pbatch *b = p->ready; b; b = b->next) b->topic->queued[b->partition] = 1;
}

/* Whether partition k's open batch stays open although its linger ran out,
 * because sealing it now would not get it sent any sooner: a sealed batch of
 * the partition still waits to be sent, the idempotence window is full
 * (PARTITION_INFLIGHT_MAX), or its leader's connection has max_in_flight
 * requests unanswered. Kafka's accumulator does the same (a batch is closed
 * when the sender drains it): records that arrive while acknowledgements are
 * slow join one growing batch (up to batch_size, where strata_produce seals
 * it) instead of a queue of tiny ones, of which each round trip would carry
 * only the few the window lets out. Needs hold_mark first. Sequences are
 * stamped at the first send, so holding changes no ordering. */
static int hold_open(strata_producer *p, struct ptopic *t, uint32_t k) {
  if (t->queued[k]) return 1;
  if (p->idempotent && t->flying[k] >= PARTITION_INFLIGHT_MAX) return 1;
  struct pbroker *br = broker_by_id(p, t->leaders[k]);
  return br && conn_is_open(&br->c) && br->ninflight >= p->cfg.max_in_flight;
}

/* Seal batches whose linger ran out and that can be sent (hold_open); with
 * `all` (flush), every open batch. */
static void seal_due(strata_producer *p, int all) {
  int64_t now = conn_now_ms();
  if (!all) hold_mark(p);
  for (size_t i = 0; i < p->ntopics; i++) {
    struct ptopic *t = p->topics[i];
    for (uint32_t k = 0; k < t->npart; k++)
      if (t->open[k] && (all || (now - t->open[k]->created_ms >= p->cfg.linger_ms &&
                                 !hold_open(p, t, k))))
        seal(p, t, k);
  }
}

/* When the poll loop must wake for a linger or a retry backoff. A held open
 * batch (hold_open) sets no deadline: an answer, which wakes the poll, is
 * what frees it. */
static int64_t next_linger_deadline(strata_producer *p) {
  int64_t d = INT64_MAX, now = conn_now_ms();
  hold_mark(p);
  for (size_t i = 0; i < p->ntopics; i++) {
    struct ptopic *t = p->topics[i];
    for (uint32_t k = 0; k < t->npart; k++) {
      if (!t->open[k]) continue;
      int64_t due = t->open[k]->created_ms + p->cfg.linger_ms;
      if (due < d && (due > now || !hold_open(p, t, k))) d = due;
    }
  }
  for (struct pbatch *b = p->ready; b; b = b->next)
    if (b->retry_at > 0 && b->retry_at < d) d = b->retry_at;
  return d;
}

static void send_ready(strata_producer *p) {
  int64_t now = conn_now_ms();
  /* After a failure, learn the current leaders (at most every 100 ms) so
   * batches stop going to a dead or deposed broker. */
  if (p->metadata_stale && now >= p->next_refresh_ms) {
    p->next_refresh_ms = now + 100;
    if (refresh_all(p, p->cfg.request_timeout_ms)) p->metadata_stale = 0;
  }
  for (struct pbatch *b = p->ready; b; b = b->next) {
    struct pbroker *br = leader_of(p, b);
    if (!br) { /* leader unknown: try the metadata again */
      int unknown;
      refresh_metadata(p, b->topic, &unknown);
      if (!leader_of(p, b)) b->retry_at = now + p->cfg.retry_backoff_ms;
    }
  }
  for (size_t i = 0; i < p->nbrokers; i++) {
    struct pbroker *br = &p->brokers[i];
    if (!conn_is_open(&br->c)) {
      int wanted = 0;
      for (struct pbatch *b = p->ready; b && !wanted; b = b->next)
        wanted = leader_of(p, b) == br;
      if (!wanted || br->reconnect_at > now) continue;
      char err[256];
      if (conn_open(&br->c, br->host, br->port, p->cfg.request_timeout_ms, &p->sec, err,
                    sizeof err)) {
        br->reconnect_at = now + p->cfg.retry_backoff_ms;
        p->metadata_stale = 1; /* the leader may have moved */
        /* Keep trying until the batch has waited a whole request timeout:
         * a broker restarting for a few seconds costs no records. */
        for (struct pbatch **pp = &p->ready, *prev = NULL; *pp;) {
          struct pbatch *b = *pp;
          if (leader_of(p, b) == br && now - b->created_ms > p->cfg.request_timeout_ms) {
            *pp = b->next;
            if (p->ready_tail == b) p->ready_tail = prev;
            report(p, b, -1, -1, STRATA_EUNREACHABLE);
            batch_free(p, b);
            continue;
          }
          prev = b;
          pp = &b->next;
        }
        continue;
      }
    }
    while (br->ninflight < p->cfg.max_in_flight && conn_is_open(&br->c))
      if (send_one(p, br) <= 0) break;
  }
}

/* An answer that is a second late may mean the leader is paused or cut off
 * and another broker leads now: ask another broker (briefly: a paused one
 * must not hold us up), and if the partitions moved, give up on that
 * connection and send its batches to the new leaders. Idempotence makes the
 * resend safe; without it, it is the same risk as any retry. */
#define STALL_MS 1000
static void check_stalled(strata_producer *p, struct pbroker *br, int64_t now) {
  if (now < p->next_stall_check_ms) return;
  p->next_stall_check_ms = now + STALL_MS / 2;
  conn_close(&p->boot); /* the next broker in the bootstrap list */
  int t = p->cfg.request_timeout_ms < STALL_MS ? p->cfg.request_timeout_ms : STALL_MS;
  if (!refresh_all(p, t)) {
    conn_close(&p->boot);
    return;
  }
  for (struct inflight *f = br->head; f; f = f->next)
    for (size_t i = 0; i < f->n; i++)
      if (leader_of(p, f->batches[i]) != br) {
        broker_fail(p, br, STRATA_ENOT_LEADER);
        return;
      }
}

int strata_producer_poll(strata_producer *p, int timeout_ms) {
  p->reported = 0;
  int64_t deadline = conn_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    seal_due(p, 0);
    send_ready(p);
    int64_t now = conn_now_ms();
    struct pollfd fds[PRODUCER_BROKERS_MAX];
    struct pbroker *who[PRODUCER_BROKERS_MAX];
    nfds_t n = 0;
    for (size_t i = 0; i < p->nbrokers; i++) {
      struct pbroker *br = &p->brokers[i];
      if (br->head && now - br->head->sent_ms > p->cfg.request_timeout_ms) {
        broker_fail(p, br, STRATA_ETIMEOUT);
        continue;
      }
      if (br->head && p->cfg.acks != 0 && now - br->head->sent_ms > STALL_MS)
        check_stalled(p, br, now);
      if (conn_is_open(&br->c) && br->head) {
        fds[n] = (struct pollfd){br->c.fd, POLLIN, 0};
        who[n++] = br;
      }
    }
    /* Drain answers already buffered before sleeping. */
    int wait = 0;
    if (!p->reported) {
      int64_t until = deadline;
      int64_t lg = next_linger_deadline(p);
      if (lg < until) until = lg;
      wait = until > now ? (int)(until - now) : 0;
    }
    if (n == 0 && wait > 0 && !p->ready) {
      poll(NULL, 0, wait);
    } else if (n > 0) {
      int k = poll(fds, n, wait);
      for (nfds_t i = 0; k > 0 && i < n; i++) {
        if (!fds[i].revents) continue;
        struct pbroker *br = who[i];
        for (;;) {
          Strata__Header *r;
          const uint8_t *pl;
          uint32_t pn;
          int rc = conn_recv(&br->c, 0, &r, &pl, &pn);
          if (rc < 0) {
            broker_fail(p, br, rc);
            break;
          }
          if (rc == 0) break;
          handle_response(p, br, r);
          wire_header_free(r);
          if (!br->head) break;
        }
      }
    }
    if (p->reported || conn_now_ms() >= deadline) break;
  }
  return p->reported;
}

int strata_producer_flush(strata_producer *p, int timeout_ms) {
  int64_t deadline = conn_now_ms() + timeout_ms;
  seal_due(p, 1);
  while (p->outstanding) {
    int64_t left = deadline - conn_now_ms();
    if (left <= 0) return STRATA_ETIMEOUT;
    seal_due(p, 1);
    int rc = strata_producer_poll(p, (int)(left < 100 ? left : 100));
    if (rc < 0) return rc;
  }
  return 0;
}

void strata_producer_free(strata_producer *p) {
  if (!p) return;
  strata_producer_flush(p, p->cfg.request_timeout_ms);
  p->cfg.retries = -1; /* no more resends: report what is left */
  p->closing = 1;
  for (size_t i = 0; i < p->nbrokers; i++) broker_fail(p, &p->brokers[i], STRATA_ESHUTTING_DOWN);
  while (p->ready) {
    struct pbatch *b = p->ready;
    p->ready = b->next;
    report(p, b, -1, -1, STRATA_ESHUTTING_DOWN);
    batch_free(p, b);
  }
  for (size_t i = 0; i < p->ntopics; i++) {
    struct ptopic *t = p->topics[i];
    for (uint32_t k = 0; k < t->npart; k++)
      if (t->open[k]) {
        report(p, t->open[k], -1, -1, STRATA_ESHUTTING_DOWN);
        batch_free(p, t->open[k]);
      }
    topic_free(t);
  }
  free(p->topics);
  while (p->spare) {
    struct pbatch *b = p->spare;
    p->spare = b->next;
    batch_release(b);
  }
  conn_close(&p->boot);
  client_sec_free(&p->sec);
  free(p);
}
