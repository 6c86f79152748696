/* The broker's own request handlers (topics, produce, fetch, list offsets,
 * producer ids): protobuf request in, protobuf response (and fetch payload)
 * out. No sockets or timers here; dispatch.c routes requests here. */
#include "broker/handlers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/ack_probe.h"
#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/flush.h"
#include "broker/integrity.h"
#include "broker/rsess.h"
#include "common/assert.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"
#include "replication/leader.h"

static int payload_reserve(struct response *r, size_t more) {
  if (r->payload_len + more <= r->payload_cap) return 0;
  size_t c = r->payload_cap ? r->payload_cap : 65536;
  while (c < r->payload_len + more) c *= 2;
  uint8_t *p = realloc(r->payload, c);
  if (!p) return STRATA_ENOMEM;
  r->payload = p;
  r->payload_cap = c;
  return 0;
}

/* ---- Metadata ---- */

static int32_t *ids_copy(struct response *r, const int32_t *v, size_t n) {
  int32_t *o = resp_alloc(r, (n + 1) * sizeof *o);
  memcpy(o, v, n * sizeof *o);
  return o;
}

static Strata__TopicMetadata *topic_metadata(struct broker *b, struct response *r,
                                             const char *name) {
  Strata__TopicMetadata *tm = resp_alloc(r, sizeof *tm);
  strata__topic_metadata__init(tm);
  tm->name = resp_strdup(r, name);
  int denied = authz_topic(b, b->caller, name, ACL_OP_DESCRIBE);
  if (denied) { /* whether it exists or not */
    tm->error_code = (uint32_t)-denied;
    return tm;
  }
  struct topic *tp = topics_find(&b->topics, name);
  if (!tp) {
    tm->error_code = (uint32_t)-STRATA_EUNKNOWN_TOPIC;
    return tm;
  }
  tm->partitions = resp_alloc(r, tp->npart * sizeof *tm->partitions);
  for (uint32_t i = 0; i < tp->npart; i++) {
    Strata__PartitionMetadata *pm = resp_alloc(r, sizeof *pm);
    strata__partition_metadata__init(pm);
    pm->partition = i;
    pm->high_watermark = pm->log_end_offset = -1;
    if (!b->cluster || tp->parts[i]->rep.role == ROLE_LEADER) {
      const struct partition *p = tp->parts[i];
      pm->high_watermark = broker_high_watermark(b, p);
      pm->log_end_offset = seglog_end_offset(p->log);
      if (b->cluster) {
        pm->replica_offsets = resp_alloc(r, (p->rep.isr.nreplicas + 1) * sizeof(int64_t));
        for (uint32_t k = 0; k < p->rep.isr.nreplicas; k++) {
          int64_t off = p->rep.isr.replicas[k] == b->cfg.id ? pm->log_end_offset : -1;
          for (uint32_t f = 0; f < p->rep.isr.nfollowers; f++)
            if (p->rep.isr.followers[f].id == p->rep.isr.replicas[k]) off = p->rep.isr.followers[f].fetch_offset;
          pm->replica_offsets[k] = off;
        }
        pm->n_replica_offsets = p->rep.isr.nreplicas;
      }
    }
    if (b->cluster) {
      const struct partition *p = tp->parts[i];
      pm->leader = p->rep.leader;
      pm->leader_epoch = p->rep.leader_epoch;
      pm->replicas = ids_copy(r, p->rep.isr.replicas, p->rep.isr.nreplicas);
      pm->n_replicas = p->rep.isr.nreplicas;
      pm->isr = ids_copy(r, p->rep.isr.isr, p->rep.isr.nisr);
      pm->n_isr = p->rep.isr.nisr;
      pm->damaged = ids_copy(r, p->damaged_ids, p->ndamaged_ids);
      pm->n_damaged = p->ndamaged_ids;
      pm->offline = ids_copy(r, p->offline_ids, p->noffline_ids);
      pm->n_offline = p->noffline_ids;
      pm->offline_errno = ids_copy(r, p->offline_errnos, p->noffline_ids);
      pm->n_offline_errno = p->noffline_ids;
      if (p->rep.leader < 0) pm->error_code = (uint32_t)-STRATA_EBROKER_NOT_AVAILABLE;
      tm->partitions[tm->n_partitions++] = pm;
      continue;
    }
    pm->leader = b->cfg.id;
    pm->leader_epoch = 0;
    pm->replicas = resp_alloc(r, sizeof(int32_t));
    pm->replicas[0] = b->cfg.id;
    pm->n_replicas = 1;
    pm->isr = resp_alloc(r, sizeof(int32_t));
    pm->isr[0] = b->cfg.id;
    pm->n_isr = 1;
    tm->partitions[tm->n_partitions++] = pm;
  }
  tm->configs = resp_alloc(r, (tp->nconfigs + 1) * sizeof *tm->configs);
  for (size_t i = 0; i < tp->nconfigs; i++) {
    Strata__TopicMetadata__ConfigsEntry *e = resp_alloc(r, sizeof *e);
    strata__topic_metadata__configs_entry__init(e);
    e->key = resp_strdup(r, tp->configs[i].key);
    e->value = resp_strdup(r, tp->configs[i].value);
    tm->configs[tm->n_configs++] = e;
  }
  return tm;
}

void handle_metadata(struct broker *b, const Strata__Header *req,
                            uint8_t *payload, uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const Strata__MetadataRequest *q = req->metadata_req;
  Strata__MetadataResponse *m = resp_alloc(r, sizeof *m);
  strata__metadata_response__init(m);
  m->brokers = resp_alloc(r, (b->npeers + 1) * sizeof *m->brokers);
  if (b->cluster) {
    for (size_t i = 0; i < b->npeers; i++) {
      Strata__BrokerInfo *bi = resp_alloc(r, sizeof *bi);
      strata__broker_info__init(bi);
      bi->id = b->peers[i].id;
      bi->host = resp_strdup(r, b->peers[i].host);
      bi->port = (uint32_t)b->peers[i].port;
      bi->rack = resp_strdup(r, b->peers[i].rack);
      bi->fenced = b->peers[i].fenced;
      bi->kafka = resp_strdup(r, b->peers[i].kafka);
      m->brokers[m->n_brokers++] = bi;
    }
    m->controller_id = b->controller_id;
  } else {
    Strata__BrokerInfo *bi = resp_alloc(r, sizeof *bi);
    strata__broker_info__init(bi);
    bi->id = b->cfg.id;
    bi->host = resp_strdup(r, b->cfg.host);
    bi->port = (uint32_t)b->cfg.port;
    bi->kafka = resp_strdup(r, b->kafka_addr);
    m->brokers[m->n_brokers++] = bi;
    m->controller_id = b->cfg.id;
  }
  m->cluster_id = resp_strdup(r, b->cluster_id);
  size_t n = q && q->n_topics ? q->n_topics : b->topics.n;
  m->topics = resp_alloc(r, (n + 1) * sizeof *m->topics);
  for (size_t i = 0; i < n; i++) {
    const char *name = q && q->n_topics ? q->topics[i] : b->topics.v[i]->name;
    /* all topics: only those the caller may describe (Kafka filters them) */
    if (!(q && q->n_topics) && authz_topic(b, b->caller, name, ACL_OP_DESCRIBE)) continue;
    m->topics[m->n_topics++] = topic_metadata(b, r, name);
  }
  resp_begin(r, req, STRATA__HEADER__BODY_METADATA_RESP);
  r->hdr.metadata_resp = m;
}

/* ---- CreateTopics / DeleteTopics ---- */

static Strata__TopicResult *topic_result(struct response *r, const char *name,
                                         int err, const char *msg) {
  Strata__TopicResult *t = resp_alloc(r, sizeof *t);
  strata__topic_result__init(t);
  t->name = resp_strdup(r, name);
  t->error_code = (uint32_t)-err;
  t->error_message = resp_strdup(r, err ? (msg && *msg ? msg : strata_strerror(err)) : "");
  return t;
}

void handle_create_topics(struct broker *b, const Strata__Header *req,
                                 uint8_t *payload, uint32_t len,
                                 struct response *r) {
  (void)payload, (void)len;
  if (b->cluster) {
    r->forward = 1; /* the controller decides; the glue relays its answer */
    return;
  }
  const Strata__CreateTopicsRequest *q = req->create_topics_req;
  Strata__CreateTopicsResponse *m = resp_alloc(r, sizeof *m);
  strata__create_topics_response__init(m);
  m->results = resp_alloc(r, (q->n_topics + 1) * sizeof *m->results);
  for (size_t i = 0; i < q->n_topics; i++) {
    const Strata__TopicSpec *s = q->topics[i];
    char err[256] = "";
    int rc = 0;
    if (s->replication_factor > 1) {
      snprintf(err, sizeof err,
               "replication factor %u needs %u brokers; this cluster has 1",
               s->replication_factor, s->replication_factor);
      rc = STRATA_EINVALID_REPLICATION_FACTOR;
    } else if (s->n_configs > TOPIC_CONFIGS_MAX) {
      rc = STRATA_EINVALID_CONFIG;
    } else {
      const char *keys[TOPIC_CONFIGS_MAX], *vals[TOPIC_CONFIGS_MAX];
      for (size_t k = 0; k < s->n_configs; k++) {
        keys[k] = s->configs[k]->key;
        vals[k] = s->configs[k]->value;
      }
      uint32_t np = s->partitions ? s->partitions : b->cfg.num_partitions;
      rc = topics_create(&b->topics, s->name, np, keys, vals, s->n_configs,
                         NULL, b->now_ms, err, sizeof err);
    }
    m->results[m->n_results++] = topic_result(r, s->name, rc, err);
  }
  resp_begin(r, req, STRATA__HEADER__BODY_CREATE_TOPICS_RESP);
  r->hdr.create_topics_resp = m;
}

void handle_delete_topics(struct broker *b, const Strata__Header *req,
                                 uint8_t *payload, uint32_t len,
                                 struct response *r) {
  (void)payload, (void)len;
  if (b->cluster) {
    r->forward = 1;
    return;
  }
  const Strata__DeleteTopicsRequest *q = req->delete_topics_req;
  Strata__DeleteTopicsResponse *m = resp_alloc(r, sizeof *m);
  strata__delete_topics_response__init(m);
  m->results = resp_alloc(r, (q->n_names + 1) * sizeof *m->results);
  for (size_t i = 0; i < q->n_names; i++) {
    int rc = topics_delete(&b->topics, q->names[i]);
    m->results[m->n_results++] = topic_result(r, q->names[i], rc, NULL);
  }
  b->hw_version++; /* parked fetches on deleted partitions answer now */
  resp_begin(r, req, STRATA__HEADER__BODY_DELETE_TOPICS_RESP);
  r->hdr.delete_topics_resp = m;
}

/* Growing topics: the controller decides in a cluster; a standalone broker
 * grows its own topics (same checks and messages as the controller's). */
void handle_create_partitions(struct broker *b, const Strata__Header *req, uint8_t *payload,
                              uint32_t len, struct response *r) {
  (void)payload, (void)len;
  if (b->cluster) {
    r->forward = 1;
    return;
  }
  const Strata__CreatePartitionsRequest *q = req->create_partitions_req;
  Strata__CreatePartitionsResponse *m = resp_alloc(r, sizeof *m);
  strata__create_partitions_response__init(m);
  m->results = resp_alloc(r, (q->n_topics + 1) * sizeof *m->results);
  for (size_t i = 0; i < q->n_topics; i++) {
    const Strata__PartitionsSpec *s = q->topics[i];
    char err[256] = "";
    int rc = topics_grow_check(&b->topics, s->name, s->count, err, sizeof err);
    if (!rc && !q->validate_only)
      rc = topics_add_partitions(&b->topics, s->name, s->count, b->now_ms, err, sizeof err);
    Strata__PartitionsResult *pr = resp_alloc(r, sizeof *pr);
    strata__partitions_result__init(pr);
    pr->name = resp_strdup(r, s->name);
    pr->error_code = (uint32_t)-rc;
    pr->error_message = resp_strdup(r, rc ? (err[0] ? err : strata_strerror(rc)) : "");
    pr->count = rc || q->validate_only ? 0 : s->count;
    m->results[m->n_results++] = pr;
  }
  resp_begin(r, req, STRATA__HEADER__BODY_CREATE_PARTITIONS_RESP);
  r->hdr.create_partitions_resp = m;
}

void handle_elect_leaders(struct broker *b, const Strata__Header *req, uint8_t *payload,
                                 uint32_t len, struct response *r) {
  (void)payload, (void)len;
  if (b->cluster) {
    r->forward = 1;
    return;
  }
  Strata__ElectLeadersResponse *m = resp_alloc(r, sizeof *m);
  strata__elect_leaders_response__init(m); /* one broker leads everything already */
  resp_begin(r, req, STRATA__HEADER__BODY_ELECT_LEADERS_RESP);
  r->hdr.elect_leaders_resp = m;
}

/* DescribeQuorum (issue 14): the active controller answers it, relayed;
 * a standalone broker has no controller quorum. */
void handle_describe_quorum(struct broker *b, const Strata__Header *req, uint8_t *payload,
                            uint32_t len, struct response *r) {
  (void)payload, (void)len;
  if (b->cluster) {
    r->forward = 1;
    return;
  }
  response_error(r, req, STRATA_EUNSUPPORTED_VERSION, "a standalone broker has no controller");
}

void handle_init_producer_id(struct broker *b, const Strata__Header *req,
                                    uint8_t *payload, uint32_t len, struct response *r) {
  (void)payload, (void)len;
  int64_t id;
  int rc;
  if (b->cluster) {
    /* From the block the controller gave this broker, so a producer can
     * start while the controller is away; without one, the controller
     * answers (relayed). */
    if (b->producer_ids_limit - b->producer_ids_next < 250) b->want_producer_ids = 1;
    if (b->producer_ids_next >= b->producer_ids_limit) {
      r->forward = 1;
      return;
    }
    id = b->producer_ids_next++;
    rc = 0;
  } else {
    rc = broker_next_producer_id(b, &id);
  }
  if (rc) {
    response_error(r, req, rc, "cannot reserve a producer id");
    return;
  }
  Strata__InitProducerIdResponse *m = resp_alloc(r, sizeof *m);
  strata__init_producer_id_response__init(m);
  m->producer_id = id;
  resp_begin(r, req, STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP);
  r->hdr.init_producer_id_resp = m;
}

/* ---- Produce ---- */

static int64_t wall_ms(const struct broker *b) { return b->wall_ms; }

/* Whether any batch of a validated entry has a producer id. */
static int carries_producer(const uint8_t *data, uint32_t len) {
  struct batch_header h;
  for (uint32_t off = 0; off < len; off += (uint32_t)batch_total_size(&h)) {
    batch_header_decode(data + off, len - off, &h);
    if (h.producer_id >= 0) return 1;
  }
  return 0;
}

/* What produce_check found for one partition entry of a request. */
struct produce_entry {
  Strata__ProducePartitionResult *pr;
  struct partition *p;
  uint8_t *data;
  uint32_t len;
  int64_t records;
  int64_t dup_last; /* a duplicate's original last offset */
  struct batch_header first;
};

/* Every check of one partition entry, before anything is appended: size,
 * max.message.bytes, each batch's structure and CRC (batch_validate_all),
 * the idempotent producer's sequence, and the append-time stamp. Returns
 * <0 (refused: msg says why), 0 (valid: to append) or PRODUCE_RETRY_HELD
 * (a retry of an idempotent producer's batch the log already holds: pr has
 * its original offsets, nothing is appended). */
#define PRODUCE_RETRY_HELD 1
static int produce_check(struct broker *b, struct produce_entry *e, char *msg, size_t msg_len) {
  struct partition *p = e->p;
  struct topic *tp = p->topic;
  uint8_t *data = e->data;
  uint32_t len = e->len;
  if (len == 0) {
    snprintf(msg, msg_len, "empty record set");
    return STRATA_EINVALID_RECORD;
  }
  if (len > tp->max_message_bytes) {
    snprintf(msg, msg_len, "record set of %u bytes exceeds max.message.bytes=%u",
             len, tp->max_message_bytes);
    return STRATA_ERECORD_LIST_TOO_LARGE;
  }
  struct batch_scratch scratch = {0};
  int rc = batch_validate_all(data, len, &scratch, &e->records);
  batch_scratch_free(&scratch);
  if (rc < 0) {
    snprintf(msg, msg_len, "record batch rejected: %s", strata_strerror(rc));
    return rc;
  }
  batch_header_decode(data, len, &e->first);
  if (batch_total_size(&e->first) != len && carries_producer(data, len)) {
    /* only an entry's one batch gets the sequence check below */
    snprintf(msg, msg_len, "an idempotent producer sends one batch per partition entry");
    return STRATA_EINVALID_RECORD;
  }
  if (e->first.producer_id >= 0) {
    struct producer_batch dup;
    rc = producer_state_check(&p->producers, e->first.producer_id, e->first.producer_epoch,
                              e->first.base_sequence, batch_last_sequence(&e->first), &dup);
    if (rc == PRODUCER_DUPLICATE) {
      trace_info("%s-%u: producer %" PRId64 " resent sequences %d..%d: already at offset %" PRId64,
                  tp->name, p->id, e->first.producer_id, dup.first_seq, dup.last_seq,
                  dup.base_offset);
      e->pr->base_offset = dup.base_offset;
      e->dup_last = dup.last_offset;
      return PRODUCE_RETRY_HELD;
    }
    if (rc < 0) {
      snprintf(msg, msg_len, "producer %" PRId64 " epoch %d: sequence %d is not the next one",
               e->first.producer_id, e->first.producer_epoch, e->first.base_sequence);
      return rc;
    }
  }
  e->pr->log_append_time = -1;
  if (tp->ts_type == TS_LOG_APPEND_TIME) {
    e->pr->log_append_time = wall_ms(b);
    size_t off = 0;
    while (off < len) {
      struct batch_header h;
      batch_header_decode(data + off, len - off, &h);
      batch_set_log_append_time(data + off, batch_total_size(&h), e->pr->log_append_time);
      off += batch_total_size(&h);
    }
  }
  return 0;
}

/* The end of one entry's handling (refused, a duplicate, or appended):
 * its error and, once it is in the log, what its answer waits for. *last
 * is its last offset (a duplicate's original one). */
static void produce_done(struct broker *b, const Strata__ProduceRequest *q,
                         struct response *r, struct produce_entry *e, int rc,
                         const char *msg, int64_t last) {
  Strata__ProducePartitionResult *pr = e->pr;
  pr->error_code = (uint32_t)-rc;
  pr->error_message = resp_strdup(r, msg);
  if (rc) {
    trace_debug("produce to %s-%u refused: %s", pr->topic, pr->partition, msg);
    return;
  }
  struct partition *p = e->p;
  pr->log_start_offset = seglog_start_offset(p->log);
  int64_t end = last + 1; /* a duplicate waits for its original */
  flush_appended(b, p);
  /* acks=all waits for the ISR (the high watermark); otherwise, under
   * flush always, for this broker's own fsync. */
  int wait_hw = b->cluster && q->acks == -1;
  if (wait_hw || b->cfg.flush == FLUSH_ALWAYS)
    response_wait(r, p, end, wait_hw, &pr->error_code, &pr->base_offset, &pr->leader_hint);
  if (wait_hw) ack_probe_append(b, p, end);
}

/* Entries checked and waiting to be appended together: consecutive entries
 * of the request for one partition, adjacent in the payload. */
#define PRODUCE_RUN_MAX 64
/* A run stops growing at 1 MiB. (The seconds of kernel CPU per GiB once
 * seen in copy_folio_from_iter_atomic on single writes of 4 MiB and more
 * were page-cache pages taken from memory the host had reclaimed, not the
 * write's size: README, "The fsync path against the disk".) A single
 * entry may still be larger, as before. */
#define PRODUCE_RUN_BYTES (1u << 20)
struct produce_run {
  struct produce_entry e[PRODUCE_RUN_MAX];
  size_t n;
  uint32_t len;
};

/* Append a run of checked entries with one write (a producer without
 * idempotence sends one entry per batch, up to 64 in a request: each its
 * own write was a write syscall, page-cache walk and index entry each)
 * and finish each entry. A failed append fails every entry of the run and
 * appends none of them. */
static void produce_run_append(struct broker *b, const Strata__ProduceRequest *q,
                               struct response *r, struct produce_run *run) {
  if (!run->n) return;
  struct partition *p = run->e[0].p;
  int64_t base = -1;
  char msg[256] = "";
  int rc = seglog_append(p->log, run->e[0].data, run->len, b->cluster ? p->rep.leader_epoch : 0,
                         b->now_ms, &base);
  if (rc) { /* e.g. "append failed: No space left on device"; the client retries */
    int err = seglog_write_errno(p->log);
    snprintf(msg, sizeof msg, "append failed: %s", err ? strerror(err) : strata_strerror(rc));
  }
  for (size_t i = 0; i < run->n; i++) {
    struct produce_entry *e = &run->e[i];
    int64_t last = -1;
    if (!rc) {
      e->pr->base_offset = base;
      base += e->records;
      last = base - 1;
      p->topic->bytes_in += e->len;
      p->topic->records_in += (uint64_t)e->records;
      if (e->first.producer_id >= 0) partition_note_producer(p, &e->first, e->pr->base_offset);
    }
    produce_done(b, q, r, e, rc, msg, last);
  }
  STRATA_ASSERT(rc || base == seglog_end_offset(p->log));
  run->n = 0;
  run->len = 0;
}

/* Validates each partition entry (produce_check) and appends valid ones; a
 * refused entry leaves the log as it was. Consecutive valid entries for one
 * partition are appended together (produce_run_append) while they fit the
 * active segment; an idempotent producer's entry is appended on its own
 * before the next entry is checked, since that check reads the producer
 * state the append updates. */
void handle_produce(struct broker *b, const Strata__Header *req,
                           uint8_t *payload, uint32_t len, struct response *r) {
  const Strata__ProduceRequest *q = req->produce_req;
  if (q->acks != 0 && q->acks != 1 && q->acks != -1) {
    response_error(r, req, STRATA_EINVALID_REQUEST, "acks must be 0, 1 or -1");
    return;
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < q->n_partitions; i++) sum += q->partitions[i]->payload_bytes;
  if (sum != len || q->n_partitions > REQUEST_PARTITIONS_MAX) {
    response_error(r, req, STRATA_EINVALID_REQUEST,
                   "partition payload sizes do not add up to the frame payload");
    return;
  }
  Strata__ProduceResponse *m = resp_alloc(r, sizeof *m);
  strata__produce_response__init(m);
  m->partitions = resp_alloc(r, (q->n_partitions + 1) * sizeof *m->partitions);
  r->waits = calloc(q->n_partitions + 1, sizeof *r->waits);
  if (!r->waits) abort();
  r->waits_cap = q->n_partitions + 1;
  struct produce_run runs; /* ~8 KiB: on the stack, not a malloc per request; */
  struct produce_run *run = &runs; /* entries are filled as they join */
  run->n = 0;
  run->len = 0;
  uint32_t off = 0;
  for (size_t i = 0; i < q->n_partitions; i++) {
    const Strata__ProducePartition *pp = q->partitions[i];
    Strata__ProducePartitionResult *pr = resp_alloc(r, sizeof *pr);
    strata__produce_partition_result__init(pr);
    pr->topic = resp_strdup(r, pp->topic);
    pr->partition = pp->partition;
    pr->base_offset = -1;
    pr->log_append_time = -1;
    m->partitions[m->n_partitions++] = pr;
    char msg[256] = "";
    int rc;
    struct partition *p = topics_partition(&b->topics, pp->topic, pp->partition);
    struct produce_entry e = {.pr = pr, .p = p, .data = payload + off, .len = pp->payload_bytes};
    off += pp->payload_bytes;
    pr->leader_hint = -1;
    if ((rc = authz_topic(b, b->caller, pp->topic, ACL_OP_WRITE))) {
      /* before anything else: nothing appended, and no word on whether it exists */
      snprintf(msg, sizeof msg, "not authorized to write to topic %s", pp->topic);
    } else if (!p) {
      rc = STRATA_EUNKNOWN_TOPIC;
      snprintf(msg, sizeof msg, "unknown topic or partition %s-%u", pp->topic,
               pp->partition);
    } else if (b->cluster && p->rep.role != ROLE_LEADER) {
      rc = STRATA_ENOT_LEADER;
      pr->leader_hint = p->rep.leader;
      snprintf(msg, sizeof msg, "broker %d does not lead %s-%u (leader: %d)", b->cfg.id,
               pp->topic, pp->partition, p->rep.leader);
    } else if (b->cluster && q->acks == -1 && p->rep.isr.nisr < p->topic->min_insync) {
      rc = STRATA_ENOT_ENOUGH_REPLICAS;
      snprintf(msg, sizeof msg, "%s-%u has %u in-sync replica(s), min.insync.replicas is %u",
               pp->topic, pp->partition, p->rep.isr.nisr, p->topic->min_insync);
    } else {
      rc = produce_check(b, &e, msg, sizeof msg);
    }
    if (rc == 0) {
      /* valid: joins the run when for the same partition, right after the
       * run's bytes, within PRODUCE_RUN_BYTES and the active segment; else
       * the run is appended first and this entry starts the next one */
      if (run->n && (run->e[0].p != p || run->e[0].data + run->len != e.data ||
                     run->n == PRODUCE_RUN_MAX ||
                     run->len + e.len > PRODUCE_RUN_BYTES ||
                     !seglog_append_fits(p->log, (uint64_t)run->len + e.len, b->now_ms)))
        produce_run_append(b, q, r, run);
      run->e[run->n++] = e;
      run->len += e.len;
      if (e.first.producer_id >= 0) produce_run_append(b, q, r, run);
      continue;
    }
    /* refused or a duplicate: what the run holds goes in first, in order */
    produce_run_append(b, q, r, run);
    if (rc == PRODUCE_RETRY_HELD) produce_done(b, q, r, &e, 0, msg, e.dup_last);
    else produce_done(b, q, r, &e, rc, msg, -1);
  }
  produce_run_append(b, q, r, run);
  r->silent = q->acks == 0;
  r->deadline_ms = b->now_ms + (q->timeout_ms ? q->timeout_ms : 30000);
  r->started_ms = b->now_ms;
  resp_begin(r, req, STRATA__HEADER__BODY_PRODUCE_RESP);
  r->hdr.produce_resp = m;
}

/* ---- Fetch ---- */

/* Copy one partition's slice of segment file into the payload: the records
 * are never decoded on this path. */
static int read_slice(struct response *r, const struct seglog_slice *s) {
  if (s->len == 0) return 0;
  if (payload_reserve(r, s->len)) return STRATA_ENOMEM;
  size_t got = 0;
  while (got < s->len) {
    ssize_t n = pread(s->fd, r->payload + r->payload_len + got, s->len - got,
                      (off_t)(s->pos + got));
    if (n <= 0) return STRATA_EIO;
    got += (size_t)n;
  }
  r->payload_len += s->len;
  return 0;
}

/* One partition's records for a fetch answer: from fetch_offset, at most
 * pmax bytes (and what room the answer has left), below limit, each batch's
 * CRC checked. Sets the result's payload bytes and error; 1 when it read. */
static int serve_records(struct broker *b, struct response *r, struct partition *p,
                         Strata__FetchPartitionResult *pr, int64_t fetch_offset, uint32_t pmax,
                         int64_t limit, uint64_t total_max) {
  uint64_t room = total_max > r->payload_len ? total_max - r->payload_len : 0;
  if (room == 0) return 0;
  if (!pmax) pmax = 1u << 20;
  if (pmax > room) pmax = (uint32_t)room;
  struct seglog_slice sl;
  int rc = seglog_read(p->log, fetch_offset, pmax, limit, &sl);
  int read = 0;
  if (!rc) {
    size_t before = r->payload_len;
    rc = read_slice(r, &sl);
    if (!rc) { /* every read path checks what it serves (issue 15) */
      uint32_t good;
      rc = seglog_verify_read(p->log, &sl, r->payload + before, &good);
      if (rc == STRATA_ECORRUPT) {
        integrity_found(b, p);
        r->payload_len = before + good; /* the good batches before the damage */
        rc = good ? 0 : integrity_read_error(b, p);
      }
    }
    pr->payload_bytes = (uint32_t)(r->payload_len - before);
    read = 1;
  }
  pr->error_code = (uint32_t)-rc;
  return read;
}

static Strata__FetchPartitionResult *new_result(struct response *r, const char *topic,
                                                uint32_t partition) {
  Strata__FetchPartitionResult *pr = resp_alloc(r, sizeof *pr);
  strata__fetch_partition_result__init(pr);
  pr->topic = resp_strdup(r, topic);
  pr->partition = partition;
  pr->high_watermark = -1;
  pr->log_start_offset = -1;
  pr->diverging_end_offset = -1;
  pr->diverging_epoch = -1;
  pr->leader_hint = -1;
  return pr;
}

/* The replica fetch session (broker/rsess.h) a follower's fetch runs in:
 * at the first build its session fields are checked and applied (*err:
 * the refusal to answer with), at a later build (a parked fetch woken) the
 * session found then, if it still is. NULL: sessionless. */
static struct rsess *fetch_session(struct broker *b, const Strata__FetchRequest *q,
                                   struct response *r, int again, uint32_t *err) {
  *err = 0;
  if (!b->cluster || q->replica_id < 0 || q->session_epoch < 0) return NULL;
  if (!b->replica_sessions && !(b->replica_sessions = calloc(1, sizeof *b->replica_sessions)))
    return NULL;
  if (again) return r->session_id ? rsess_find(b->replica_sessions, q->replica_id, r->session_id) : NULL;
  struct rsess *s;
  *err = (uint32_t)rsess_begin(b->replica_sessions, q->replica_id, q->replica_epoch,
                               q->session_id, q->session_epoch, b->now_ms, &s);
  r->session_id = s ? s->id : 0;
  return s;
}

/* Whether a session entry not named in this fetch has news for its
 * follower: records past its position, or a high watermark or log start
 * it was not told. Only integer compares: the cost of an idle partition in
 * a session (no lookup, no read, nothing encoded). */
static int entry_news(const struct rsess_entry *e) {
  const struct partition *p = e->p;
  return seglog_end_offset(p->log) > e->fetch_offset || p->rep.hw != e->told_hw ||
         seglog_start_offset(p->log) != e->told_start;
}

/* checked: the fetch was authorized at its first build (a parked fetch has
 * no refused partition, see dispatch_fetch_again), else each partition's
 * topic needs Read (a follower's ClusterAction is dispatch's check). */
static void build_fetch(struct broker *b, const Strata__Header *req,
                        struct response *r, int final, int checked) {
  const Strata__FetchRequest *q = req->fetch_req;
  arena_reset(&r->arena);
  strata__header__init(&r->hdr);
  r->payload_len = 0;
  r->park = 0;
  if (q->n_partitions > REQUEST_PARTITIONS_MAX) {
    response_error(r, req, STRATA_EINVALID_REQUEST, "too many partitions");
    return;
  }
  Strata__FetchResponse *m = resp_alloc(r, sizeof *m);
  strata__fetch_response__init(m);
  uint32_t session_err;
  struct rsess *sess = fetch_session(b, q, r, checked, &session_err);
  if (session_err) { /* the follower starts a full session */
    m->session_error = session_err;
    resp_begin(r, req, STRATA__HEADER__BODY_FETCH_RESP);
    r->hdr.fetch_resp = m;
    return;
  }
  size_t most = q->n_partitions + (sess ? sess->n : 0) + 1;
  m->partitions = resp_alloc(r, most * sizeof *m->partitions);
  /* The topic of each answered partition, counted once the answer is final;
   * and each result's session entry (its index), told what it says then. */
  struct topic **sent = resp_alloc(r, most * sizeof *sent);
  struct partition **told = resp_alloc(r, most * sizeof *told);
  uint64_t total_max = q->max_bytes ? q->max_bytes : 50u << 20;
  if (total_max > b->cfg.max_frame / 2) total_max = b->cfg.max_frame / 2;
  for (size_t i = 0; i < q->n_partitions; i++) {
    const Strata__FetchPartition *fp = q->partitions[i];
    Strata__FetchPartitionResult *pr = new_result(r, fp->topic, fp->partition);
    size_t at = m->n_partitions++;
    m->partitions[at] = pr;
    int denied = checked || q->replica_id >= 0
                     ? 0
                     : authz_topic(b, b->caller, fp->topic, ACL_OP_READ);
    if (denied) {
      pr->error_code = (uint32_t)-denied;
      continue;
    }
    struct partition *p = topics_partition(&b->topics, fp->topic, fp->partition);
    if (!p) {
      pr->error_code = (uint32_t)-STRATA_EUNKNOWN_TOPIC;
      continue;
    }
    if (b->cluster && p->rep.role != ROLE_LEADER) {
      pr->error_code = (uint32_t)-STRATA_ENOT_LEADER;
      pr->leader_hint = p->rep.leader;
      continue;
    }
    pr->leader_epoch = p->rep.leader_epoch;
    int64_t hw = broker_high_watermark(b, p);
    int64_t limit = hw;
    if (q->replica_id >= 0 && b->cluster) {
      /* A follower: replication/leader.c answers (divergence, KIP-320, or
       * its progress, which may move the high watermark). */
      struct follower_fetch ff = {q->replica_id, q->replica_epoch, fp->fetch_offset,
                                  fp->last_fetched_epoch, fp->durable_offset};
      struct replica_log log = cluster_log_pos(b, p);
      struct leader_answer la;
      leader_on_fetch(&p->rep, &ff, &log, b->now_ms, &la);
      ack_probe_reported(b, p, q->replica_id, fp->durable_offset);
      cluster_leader_fetched(b, p, q->replica_id, la.isr_recheck);
      if (la.hw_moved) b->hw_version++;
      if (sess) { /* named: its position is the session's from now on */
        struct rsess_entry *e = checked ? rsess_lookup(sess, p)
                                        : rsess_name(sess, p, fp->fetch_offset,
                                                     fp->durable_offset, fp->last_fetched_epoch);
        if (e) {
          e->asked_epoch = sess->epoch;
          told[at] = p;
        }
      }
      if (la.diverged) {
        pr->diverging_end_offset = la.diverging_end;
        pr->diverging_epoch = la.diverging_epoch;
        pr->high_watermark = la.hw;
        continue;
      }
      hw = la.hw;
      limit = la.read_limit;
    }
    pr->high_watermark = hw;
    pr->log_start_offset = seglog_start_offset(p->log);
    if (serve_records(b, r, p, pr, fp->fetch_offset, fp->max_bytes, limit, total_max)) {
      sent[at] = p->topic;
      if (q->replica_id >= 0 && pr->payload_bytes) ack_probe_sent(b, p, limit);
    }
  }
  /* The session's other partitions: only those with news are answered,
   * from the position their follower last named, in turn from where the
   * last answer that ran out of room stopped. */
  size_t nsess = sess ? sess->n : 0;
  size_t from = nsess ? sess->next % nsess : 0;
  for (size_t j = 0; j < nsess; j++) {
    size_t k = (from + j) % nsess;
    struct rsess_entry *e = &sess->v[k];
    if (!e->p || e->asked_epoch == sess->epoch) continue;
    struct partition *p = e->p;
    if (p->deleted || p->rep.role != ROLE_LEADER) { /* no longer ours: forgotten */
      rsess_drop_partition(b->replica_sessions, p); /* a tombstone: nothing moves */
      continue;
    }
    if (!entry_news(e)) continue;
    Strata__FetchPartitionResult *pr = new_result(r, p->topic->name, p->id);
    size_t at = m->n_partitions++;
    m->partitions[at] = pr;
    told[at] = p;
    pr->leader_epoch = p->rep.leader_epoch;
    pr->high_watermark = p->rep.hw;
    pr->log_start_offset = seglog_start_offset(p->log);
    if (serve_records(b, r, p, pr, e->fetch_offset, 1u << 20, seglog_end_offset(p->log),
                      total_max)) {
      sent[at] = p->topic;
      if (pr->payload_bytes) ack_probe_sent(b, p, seglog_end_offset(p->log));
      if (pr->payload_bytes && r->payload_len >= total_max) sess->next = k + 1;
    }
  }
  if (sess) m->session_id = sess->id;
  resp_begin(r, req, STRATA__HEADER__BODY_FETCH_RESP);
  r->hdr.fetch_resp = m;
  if (!final && r->payload_len < q->min_bytes && q->max_wait_ms > 0) {
    int any_error = 0;
    for (size_t i = 0; i < m->n_partitions; i++) any_error |= m->partitions[i]->error_code != 0;
    r->park = !any_error;
  }
  if (r->park) return; /* built again when it wakes */
  for (size_t i = 0; i < m->n_partitions; i++) {
    struct rsess_entry *e = sess && told[i] ? rsess_lookup(sess, told[i]) : NULL;
    if (e) { /* what the follower now knows (an error: tell it again once it clears) */
      e->told_hw = m->partitions[i]->error_code ? -1 : m->partitions[i]->high_watermark;
      e->told_start = m->partitions[i]->log_start_offset;
    }
    if (!sent[i]) continue;
    if (q->replica_id >= 0) b->metrics.replication_out += m->partitions[i]->payload_bytes;
    else sent[i]->bytes_out += m->partitions[i]->payload_bytes;
  }
}

void handle_fetch(struct broker *b, const Strata__Header *req,
                         uint8_t *payload, uint32_t len, struct response *r) {
  (void)payload, (void)len;
  uint32_t wait = req->fetch_req->max_wait_ms;
  if (wait > b->cfg.fetch_max_wait_ms) wait = b->cfg.fetch_max_wait_ms;
  r->deadline_ms = b->now_ms + wait;
  build_fetch(b, req, r, 0, 0);
}

void handle_fetch_again(struct broker *b, const Strata__Header *req, struct response *r,
                        int final) {
  build_fetch(b, req, r, final, 1);
}

/* ---- ListOffsets ---- */

void handle_list_offsets(struct broker *b, const Strata__Header *req,
                                uint8_t *payload, uint32_t len,
                                struct response *r) {
  (void)payload, (void)len;
  const Strata__ListOffsetsRequest *q = req->list_offsets_req;
  if (q->n_partitions > REQUEST_PARTITIONS_MAX) {
    response_error(r, req, STRATA_EINVALID_REQUEST, "too many partitions");
    return;
  }
  Strata__ListOffsetsResponse *m = resp_alloc(r, sizeof *m);
  strata__list_offsets_response__init(m);
  m->partitions = resp_alloc(r, (q->n_partitions + 1) * sizeof *m->partitions);
  for (size_t i = 0; i < q->n_partitions; i++) {
    const Strata__ListOffsetsPartition *lp = q->partitions[i];
    Strata__ListOffsetsPartitionResult *pr = resp_alloc(r, sizeof *pr);
    strata__list_offsets_partition_result__init(pr);
    pr->topic = resp_strdup(r, lp->topic);
    pr->partition = lp->partition;
    pr->offset = -1;
    pr->timestamp = -1;
    m->partitions[m->n_partitions++] = pr;
    int denied = authz_topic(b, b->caller, lp->topic, ACL_OP_DESCRIBE);
    if (denied) {
      pr->error_code = (uint32_t)-denied;
      continue;
    }
    struct partition *p = topics_partition(&b->topics, lp->topic, lp->partition);
    if (!p) {
      pr->error_code = (uint32_t)-STRATA_EUNKNOWN_TOPIC;
      continue;
    }
    if (b->cluster && p->rep.role != ROLE_LEADER) {
      pr->error_code = (uint32_t)-STRATA_ENOT_LEADER;
      continue;
    }
    int64_t hw = broker_high_watermark(b, p);
    if (lp->timestamp == -1) {
      pr->offset = hw;
    } else if (lp->timestamp == -2 || lp->timestamp == -4) {
      pr->offset = seglog_start_offset(p->log); /* -4: Kafka's earliest local: all is local */
    } else if (lp->timestamp == -5) {
      /* Kafka's latest tiered offset: nothing is tiered here (-1) */
    } else if (lp->timestamp == -3) { /* Kafka's max timestamp (KIP-734): its first record */
      int64_t max = seglog_max_timestamp(p->log), off, ts;
      int rc = max >= 0 ? seglog_offset_for_time(p->log, max, &off, &ts) : 0;
      if (rc) {
        pr->error_code = (uint32_t)-rc;
      } else if (max >= 0 && off >= 0 && off < hw) {
        pr->offset = off;
        pr->timestamp = ts;
      }
    } else if (lp->timestamp < 0) {
      pr->error_code = (uint32_t)-STRATA_EINVALID_REQUEST;
    } else {
      int64_t off, ts;
      int rc = seglog_offset_for_time(p->log, lp->timestamp, &off, &ts);
      if (rc) {
        pr->error_code = (uint32_t)-rc;
      } else if (off >= 0 && off < hw) {
        pr->offset = off;
        pr->timestamp = ts;
      }
    }
  }
  resp_begin(r, req, STRATA__HEADER__BODY_LIST_OFFSETS_RESP);
  r->hdr.list_offsets_resp = m;
}

/* ---- dispatch ---- */
