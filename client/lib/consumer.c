/* The consumer: assigned partitions with positions, fetch long-polls to each
 * leader, and record-by-record iteration of the returned batches (records
 * below a partition's position are skipped; a batch cut short by the byte
 * limit is dropped and fetched again whole). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/consumer_internal.h"
#include "client/lib/internal.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/wire.h"

void strata_consumer_config_defaults(strata_consumer_config *c) {
  memset(c, 0, sizeof *c);
  c->fetch_max_wait_ms = 500;
  c->fetch_min_bytes = 1;
  c->fetch_max_bytes = 50u << 20;
  c->partition_max_bytes = 1u << 20;
  c->request_timeout_ms = 30000;
}

strata_consumer *strata_consumer_new(const char *bootstrap,
                                     const strata_consumer_config *cfg,
                                     char *err, size_t err_len) {
  return strata_consumer_new_secure(bootstrap, cfg, NULL, err, err_len);
}

strata_consumer *strata_consumer_new_secure(const char *bootstrap,
                                            const strata_consumer_config *cfg,
                                            const strata_security *sec,
                                            char *err, size_t err_len) {
  strata_consumer *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (cfg) c->cfg = *cfg; else strata_consumer_config_defaults(&c->cfg);
  if (c->cfg.request_timeout_ms <= 0) c->cfg.request_timeout_ms = 30000;
  snprintf(c->bootstrap, sizeof c->bootstrap, "%s", bootstrap);
  if (client_sec_init(&c->sec, sec, err, err_len) ||
      client_bootstrap(&c->c, bootstrap, c->cfg.request_timeout_ms, &c->sec, err, err_len)) {
    client_sec_free(&c->sec);
    free(c);
    return NULL;
  }
  return c;
}

static int refresh_metadata(strata_consumer *c);
static struct cbroker *broker_by_id(strata_consumer *c, int32_t id);

static void drop_response(strata_consumer *c) {
  wire_header_free(c->resp);
  c->resp = NULL;
  c->in_batch = 0;
}

void strata_consumer_free(strata_consumer *c) {
  if (!c) return;
  if (c->grp) group_client_close(c);
  drop_response(c);
  for (size_t i = 0; i < c->nparts; i++) free(c->parts[i].topic);
  free(c->parts);
  batch_scratch_free(&c->scratch);
  conn_close(&c->c);
  for (size_t i = 0; i < c->nbrokers; i++) conn_close(&c->brokers[i].c);
  client_sec_free(&c->sec);
  free(c);
}

static struct cpart *find(const strata_consumer *c, const char *topic, uint32_t partition) {
  for (size_t i = 0; i < c->nparts; i++)
    if (c->parts[i].partition == partition && !strcmp(c->parts[i].topic, topic))
      return &c->parts[i];
  return NULL;
}

int consumer_ensure_conn(strata_consumer *c) {
  if (conn_is_open(&c->c)) return 0;
  char err[256];
  return client_bootstrap(&c->c, c->bootstrap, c->cfg.request_timeout_ms, &c->sec, err,
                          sizeof err);
}

int strata_consumer_assign(strata_consumer *c, const char *topic,
                           uint32_t partition, int64_t offset) {
  if (offset < STRATA_OFFSET_BEGINNING) return STRATA_EINVALID_ARGUMENT;
  drop_response(c); /* a seek invalidates what was fetched, and what is on its way */
  for (size_t i = 0; i < c->nbrokers; i++)
    if (c->brokers[i].inflight) {
      conn_close(&c->brokers[i].c);
      c->brokers[i].inflight = 0;
    }
  c->need_metadata = 1;
  struct cpart *p = find(c, topic, partition);
  if (!p) {
    if (c->nparts >= CONSUMER_PARTITIONS_MAX) return STRATA_EINVALID_ARGUMENT;
    if (c->nparts == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 8;
      struct cpart *v = realloc(c->parts, cap * sizeof *v);
      if (!v) return STRATA_ENOMEM;
      c->parts = v;
      c->cap = cap;
    }
    p = &c->parts[c->nparts];
    memset(p, 0, sizeof *p);
    if (!(p->topic = strdup(topic))) return STRATA_ENOMEM;
    p->partition = partition;
    p->hw = -1;
    c->nparts++;
  }
  p->position = offset;
  return 0;
}

int strata_consumer_assign_topic(strata_consumer *c, const char *topic, int64_t offset) {
  int rc = consumer_ensure_conn(c);
  if (rc) return rc;
  strata_metadata *m = NULL;
  const char *names[1] = {topic};
  if ((rc = client_metadata(&c->c, c->cfg.request_timeout_ms, names, 1, &m))) return rc;
  if (m->ntopics != 1 || m->topics[0].error) {
    rc = m->ntopics == 1 ? m->topics[0].error : STRATA_EUNKNOWN_TOPIC;
  } else {
    for (size_t i = 0; !rc && i < m->topics[0].npartitions; i++)
      rc = strata_consumer_assign(c, topic, m->topics[0].partitions[i].partition, offset);
  }
  strata_metadata_free(m);
  return rc;
}

int consumer_unassign(strata_consumer *c, const char *topic, uint32_t partition) {
  struct cpart *p = find(c, topic, partition);
  if (!p) return STRATA_EINVALID_ARGUMENT;
  drop_response(c); /* it may hold records of this partition; the others are fetched again */
  free(p->topic);
  *p = c->parts[--c->nparts];
  return 0;
}

static int set_paused(strata_consumer *c, const char *topic, uint32_t partition, int paused) {
  struct cpart *p = find(c, topic, partition);
  if (!p) return STRATA_EINVALID_ARGUMENT;
  p->paused = paused;
  return 0;
}

int strata_consumer_pause(strata_consumer *c, const char *topic, uint32_t partition) {
  return set_paused(c, topic, partition, 1);
}

int strata_consumer_resume(strata_consumer *c, const char *topic, uint32_t partition) {
  return set_paused(c, topic, partition, 0);
}

int strata_consumer_seek_timestamp(strata_consumer *c, const char *topic,
                                   uint32_t partition, int64_t ts) {
  if (ts < 0) return STRATA_EINVALID_ARGUMENT;
  struct cpart *p = find(c, topic, partition);
  if (!p) return STRATA_EINVALID_ARGUMENT;
  int rc = refresh_metadata(c);
  int64_t off = -1, found;
  struct cbroker *b = rc ? NULL : broker_by_id(c, p->leader);
  if (!rc && !b) rc = STRATA_EBROKER_NOT_AVAILABLE;
  if (!rc) {
    struct conn k;
    char err[256];
    conn_init(&k);
    rc = conn_open(&k, b->host, b->port, c->cfg.request_timeout_ms, &c->sec, err, sizeof err);
    if (!rc) rc = client_list_offset(&k, c->cfg.request_timeout_ms, topic, partition, ts, &off,
                                     &found);
    conn_close(&k);
  }
  if (rc) return rc;
  drop_response(c);
  for (size_t i = 0; i < c->nbrokers; i++)
    if (c->brokers[i].inflight) {
      conn_close(&c->brokers[i].c);
      c->brokers[i].inflight = 0;
    }
  p->position = off >= 0 ? off : STRATA_OFFSET_END;
  return 0;
}

int64_t strata_consumer_position(const strata_consumer *c, const char *topic,
                                 uint32_t partition) {
  const struct cpart *p = find(c, topic, partition);
  return p && p->position >= 0 ? p->position : -1;
}

int64_t strata_consumer_high_watermark(const strata_consumer *c, const char *topic,
                                       uint32_t partition) {
  const struct cpart *p = find(c, topic, partition);
  return p ? p->hw : -1;
}

static struct cbroker *broker_by_id(strata_consumer *c, int32_t id) {
  for (size_t i = 0; i < c->nbrokers; i++)
    if (c->brokers[i].id == id) return &c->brokers[i];
  return NULL;
}

/* Leaders of the assigned partitions and the brokers' addresses. */
static int refresh_metadata(strata_consumer *c) {
  int rc = consumer_ensure_conn(c);
  if (rc) return rc;
  strata_metadata *m = NULL;
  if ((rc = client_metadata(&c->c, c->cfg.request_timeout_ms, NULL, 0, &m))) return rc;
  for (size_t i = 0; i < m->nbrokers; i++) {
    struct cbroker *b = broker_by_id(c, m->brokers[i].id);
    if (!b && c->nbrokers < CONSUMER_BROKERS_MAX) {
      b = &c->brokers[c->nbrokers++];
      memset(b, 0, sizeof *b);
      conn_init(&b->c);
      b->id = m->brokers[i].id;
    }
    if (!b) continue;
    if (strcmp(b->host, m->brokers[i].host) || b->port != m->brokers[i].port) {
      conn_close(&b->c);
      b->inflight = 0;
      snprintf(b->host, sizeof b->host, "%s", m->brokers[i].host);
      b->port = m->brokers[i].port;
    }
  }
  for (size_t i = 0; i < c->nparts; i++) {
    struct cpart *p = &c->parts[i];
    p->leader = -1;
    for (size_t t = 0; t < m->ntopics; t++) {
      if (strcmp(m->topics[t].name, p->topic)) continue;
      for (size_t k = 0; k < m->topics[t].npartitions; k++)
        if (m->topics[t].partitions[k].partition == p->partition)
          p->leader = m->topics[t].partitions[k].leader;
    }
  }
  strata_metadata_free(m);
  c->need_metadata = 0;
  return 0;
}

/* Turn STRATA_OFFSET_BEGINNING/END into real offsets before fetching (asked
 * of each partition's leader on a short-lived connection). */
static int resolve_positions(strata_consumer *c) {
  for (size_t i = 0; i < c->nparts; i++) {
    struct cpart *p = &c->parts[i];
    if (p->position >= 0) continue;
    struct cbroker *b = broker_by_id(c, p->leader);
    if (!b) {
      c->need_metadata = 1;
      return 0;
    }
    struct conn k;
    char err[256];
    conn_init(&k);
    int rc = conn_open(&k, b->host, b->port, c->cfg.request_timeout_ms, &c->sec, err, sizeof err);
    int64_t off = -1;
    if (!rc) rc = client_list_offset(&k, c->cfg.request_timeout_ms, p->topic, p->partition,
                                     p->position, &off, NULL);
    conn_close(&k);
    if (rc == STRATA_ENOT_LEADER || rc == STRATA_EUNREACHABLE || rc == STRATA_ENETWORK) {
      c->need_metadata = 1;
      return 0;
    }
    if (rc) return rc;
    p->position = off;
  }
  return 0;
}

/* Send one fetch to every leader that has none in flight. */
static int send_fetches(strata_consumer *c, int wait) {
  int64_t now = conn_now_ms();
  for (size_t bi = 0; bi < c->nbrokers; bi++) {
    struct cbroker *b = &c->brokers[bi];
    if (b->inflight || now < b->retry_at) continue;
    size_t n = 0;
    for (size_t i = 0; i < c->nparts; i++)
      if (c->parts[i].leader == b->id && c->parts[i].position >= 0 && !c->parts[i].paused) n++;
    if (n == 0) continue;
    if (!conn_is_open(&b->c)) {
      char err[256];
      if (conn_open(&b->c, b->host, b->port, c->cfg.request_timeout_ms, &c->sec, err,
                    sizeof err)) {
        b->retry_at = now + 200;
        c->need_metadata = 1;
        continue;
      }
    }
    Strata__FetchPartition *fps = calloc(n, sizeof *fps);
    Strata__FetchPartition **fpv = calloc(n, sizeof *fpv);
    if (!fps || !fpv) {
      free(fps);
      free(fpv);
      return STRATA_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->nparts; i++) {
      struct cpart *p = &c->parts[i];
      if (p->leader != b->id || p->position < 0 || p->paused) continue;
      strata__fetch_partition__init(&fps[k]);
      fps[k].topic = p->topic;
      fps[k].partition = p->partition;
      fps[k].fetch_offset = p->position;
      fps[k].max_bytes = c->cfg.partition_max_bytes;
      fpv[k] = &fps[k];
      k++;
    }
    Strata__FetchRequest q = STRATA__FETCH_REQUEST__INIT;
    q.max_wait_ms = (uint32_t)(wait > 0 ? wait : 0);
    q.min_bytes = c->cfg.fetch_min_bytes;
    q.max_bytes = c->cfg.fetch_max_bytes;
    q.partitions = fpv;
    q.n_partitions = n;
    q.replica_id = -1;
    Strata__Header h = STRATA__HEADER__INIT;
    h.api_key = STRATA__API_KEY__API_FETCH;
    h.client_id = (char *)"libstrata-consumer";
    h.body_case = STRATA__HEADER__BODY_FETCH_REQ;
    h.fetch_req = &q;
    uint32_t corr;
    int rc = conn_send(&b->c, &h, NULL, 0, c->cfg.request_timeout_ms, &corr);
    free(fps);
    free(fpv);
    if (rc) {
      c->need_metadata = 1;
      b->retry_at = now + 200;
      continue;
    }
    b->inflight = 1;
  }
  return 0;
}

/* Fetch from the leaders and make the first answer the current response. */
static int fetch(strata_consumer *c, int timeout_ms) {
  int rc;
  if (c->need_metadata || c->nbrokers == 0) {
    if ((rc = refresh_metadata(c))) return rc;
  }
  if ((rc = resolve_positions(c))) return rc;
  int wait = timeout_ms < c->cfg.fetch_max_wait_ms ? timeout_ms : c->cfg.fetch_max_wait_ms;
  if ((rc = send_fetches(c, wait))) return rc;
  struct pollfd fds[CONSUMER_BROKERS_MAX];
  struct cbroker *who[CONSUMER_BROKERS_MAX];
  nfds_t n = 0;
  for (size_t i = 0; i < c->nbrokers; i++)
    if (c->brokers[i].inflight) {
      fds[n] = (struct pollfd){c->brokers[i].c.fd, POLLIN, 0};
      who[n++] = &c->brokers[i];
    }
  if (n == 0) {
    poll(NULL, 0, timeout_ms < 100 ? timeout_ms : 100);
    c->need_metadata = 1;
    return 0;
  }
  int k = poll(fds, n, timeout_ms + c->cfg.request_timeout_ms);
  if (k <= 0) return 0;
  for (nfds_t i = 0; i < n; i++) {
    if (!fds[i].revents) continue;
    struct cbroker *b = who[i];
    Strata__Header *r = NULL;
    const uint8_t *pl = NULL;
    uint32_t pn = 0;
    rc = conn_recv(&b->c, c->cfg.request_timeout_ms, &r, &pl, &pn);
    if (rc == 0) continue;
    b->inflight = 0;
    if (rc < 0) {
      c->need_metadata = 1;
      b->retry_at = conn_now_ms() + 200;
      continue;
    }
    if (r->error_code || r->body_case != STRATA__HEADER__BODY_FETCH_RESP) {
      rc = r->error_code ? strata_error_from_wire(r->error_code) : STRATA_ECORRUPT;
      wire_header_free(r);
      return rc;
    }
    uint64_t sum = 0;
    for (size_t j = 0; j < r->fetch_resp->n_partitions; j++)
      sum += r->fetch_resp->partitions[j]->payload_bytes;
    if (sum != pn) {
      wire_header_free(r);
      conn_close(&b->c);
      return STRATA_ECORRUPT;
    }
    c->resp = r;
    c->payload = pl;
    c->payload_len = pn;
    c->part_i = 0;
    c->part_off = 0;
    c->batch_off = 0;
    c->in_batch = 0;
    return 0;
  }
  return 0;
}

/* Next record from the current response: 1 found, 0 exhausted, <0 error. */
static int next_record(strata_consumer *c) {
  const Strata__FetchResponse *fr = c->resp->fetch_resp;
  while (c->part_i < fr->n_partitions) {
    const Strata__FetchPartitionResult *pr = fr->partitions[c->part_i];
    struct cpart *p = find(c, pr->topic, pr->partition);
    if (c->in_batch) {
      int rc = batch_iter_next(&c->it, &c->rec);
      if (rc < 0) return rc;
      if (rc == 1) {
        if (!p || c->rec.offset < p->position) continue;
        p->position = c->rec.offset + 1;
        c->cur = p;
        return 1;
      }
      c->in_batch = 0;
      if (p && c->it.h.base_offset + c->it.h.last_offset_delta + 1 > p->position)
        p->position = c->it.h.base_offset + c->it.h.last_offset_delta + 1;
    }
    if (p && pr->high_watermark >= 0) p->hw = pr->high_watermark;
    if (p && !pr->error_code) p->range_recheck = 0;
    int perr = strata_error_from_wire(pr->error_code);
    if (perr && c->batch_off == 0) {
      c->part_off += pr->payload_bytes;
      c->part_i++;
      if (perr == STRATA_ENOT_LEADER || perr == STRATA_EBROKER_NOT_AVAILABLE ||
          perr == STRATA_EUNKNOWN_TOPIC) {
        c->need_metadata = 1; /* leadership moved: ask again, don't fail the poll */
        continue;
      }
      /* A deposed leader that has not heard so yet has a shorter log and
       * calls a valid position out of range (KIP-320's case). Ask the
       * current leader before telling the application. */
      if (perr == STRATA_EOFFSET_OUT_OF_RANGE && p && !p->range_recheck) {
        p->range_recheck = 1;
        p->leader = -1;
        c->need_metadata = 1;
        continue;
      }
      if (p) p->range_recheck = 0;
      return perr;
    }
    const uint8_t *d = c->payload + c->part_off + c->batch_off;
    uint32_t left = pr->payload_bytes - c->batch_off;
    struct batch_header h;
    if (left >= BATCH_HEADER_SIZE && !batch_header_decode(d, left, &h) &&
        batch_total_size(&h) <= left) {
      c->batch_off += (uint32_t)batch_total_size(&h);
      int rc = batch_iter_init(&c->it, d, batch_total_size(&h), &c->scratch);
      if (rc) return rc;
      c->in_batch = 1;
      continue;
    }
    /* Partition done (a cut-short last batch is fetched again next time). */
    c->part_off += pr->payload_bytes;
    c->batch_off = 0;
    c->part_i++;
  }
  return 0;
}

int strata_consumer_poll(strata_consumer *c, int timeout_ms, const strata_message **msg) {
  if (c->nparts == 0 && !c->grp) return STRATA_EINVALID_ARGUMENT;
  int64_t deadline = conn_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    if (c->grp) {
      int rc = group_client_step(c);
      if (rc < 0) return rc;
    }
    if (c->resp) {
      int rc = next_record(c);
      if (rc == 1) {
        strata_message *m = &c->msg;
        m->topic = c->cur->topic;
        m->partition = c->cur->partition;
        m->offset = c->rec.offset;
        m->timestamp = c->rec.timestamp;
        m->key = c->rec.key;
        m->key_len = c->rec.key_len;
        m->value = c->rec.value;
        m->value_len = c->rec.value_len;
        m->header_count = c->rec.header_count;
        for (uint32_t i = 0; i < c->rec.header_count; i++) {
          c->hdrs[i].key = c->rec.headers[i].key;
          c->hdrs[i].key_len = c->rec.headers[i].key_len;
          c->hdrs[i].value = c->rec.headers[i].value;
          c->hdrs[i].value_len = c->rec.headers[i].value_len;
        }
        m->headers = c->hdrs;
        *msg = m;
        return 1;
      }
      if (rc < 0) return rc;
      drop_response(c);
    }
    int64_t now = conn_now_ms(), until = deadline;
    if (c->grp && group_client_due(c) < until) until = group_client_due(c);
    if (now > deadline) return 0;
    int64_t left = until > now ? until - now : 0;
    if (c->nparts == 0) { /* a member with nothing assigned (yet) */
      poll(NULL, 0, (int)(left > 0 ? left : 1));
      if (conn_now_ms() >= deadline) return 0;
      continue;
    }
    int rc = fetch(c, (int)left);
    if (rc) return rc;
  }
}
