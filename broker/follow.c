#include "broker/follow.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/flush.h"
#include "common/errors.h"
#include "common/trace.h"

static struct follow_set *set_of(struct follow_index *x, int32_t leader) {
  for (size_t i = 0; i < x->nsets; i++)
    if (x->sets[i].leader == leader) return &x->sets[i];
  return NULL;
}

/* The index for the image applied now: rebuilt (one walk over every
 * partition) only after a new image; a set keeps its rotation point. */
static struct follow_index *index_of(struct broker *b) {
  struct follow_index *x = &b->follow;
  if (x->built_for == (int64_t)b->meta_applied + 1) return x;
  struct follow_index old = *x;
  *x = (struct follow_index){(int64_t)b->meta_applied + 1, NULL, 0};
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      struct partition *p = b->topics.v[i]->parts[k];
      if (p->rep.role != ROLE_FOLLOWER) continue;
      struct follow_set *st = set_of(x, p->rep.leader);
      if (!st) {
        struct follow_set *v = realloc(x->sets, (x->nsets + 1) * sizeof *v);
        if (!v) abort();
        x->sets = v;
        st = &x->sets[x->nsets++];
        *st = (struct follow_set){p->rep.leader, NULL, 0, 0, 0};
        const struct follow_set *was = set_of(&old, p->rep.leader);
        if (was) st->next = was->next;
      }
      if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 64;
        struct partition **v = realloc(st->v, cap * sizeof *v);
        if (!v) abort();
        st->v = v;
        st->cap = cap;
      }
      partition_ref(p);
      st->v[st->n++] = p;
    }
  follow_index_free(&old);
  return x;
}

size_t follow_leaders(struct broker *b, int32_t *leaders, size_t max) {
  struct follow_index *x = index_of(b);
  size_t n = 0;
  for (size_t i = 0; i < x->nsets && n < max; i++) leaders[n++] = x->sets[i].leader;
  return n;
}

struct fetcher_event follow_event(struct broker *b, int32_t leader, const struct fetcher *f,
                                  enum fetcher_event_type type, int64_t now_ms) {
  struct fetcher_event e = {type, now_ms, 0, 1, b->cfg.flush == FLUSH_ALWAYS, FETCHER_ANSWER_LOST};
  const struct follow_set *st = set_of(index_of(b), leader);
  e.has_partitions = st && st->n > 0;
  /* Whether all are fsynced matters only to a fetcher waiting for that, or
   * deciding after an answer whether to wait; not to every tick. */
  if (st && e.report_durable && (f->waiting_durable || type == FETCHER_ANSWER))
    for (size_t k = 0; k < st->n && e.durable; k++)
      if (seglog_durable_offset(st->v[k]->log) < seglog_end_offset(st->v[k]->log)) e.durable = 0;
  return e;
}

size_t follow_request(struct broker *b, int32_t leader, struct follow_storage *fs,
                      Strata__FetchRequest *q) {
  size_t n = 0;
  struct follow_set *st = set_of(index_of(b), leader);
  size_t total = st ? st->n : 0;
  size_t from = total ? st->next % total : 0;
  for (size_t j = 0; j < total && n < FETCH_PARTITIONS_MAX; j++) {
    struct partition *p = st->v[(from + j) % total];
    Strata__FetchPartition *fp = &fs->parts[n];
    strata__fetch_partition__init(fp);
    fp->topic = p->topic->name;
    fp->partition = p->id;
    fp->fetch_offset = seglog_end_offset(p->log);
    fp->max_bytes = 1u << 20;
    fp->last_fetched_epoch = epoch_cache_last(&p->rep.epochs);
    fp->durable_offset =
        b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : seglog_end_offset(p->log);
    fs->partv[n++] = fp;
  }
  /* More than one fetch holds: the next one starts after this one's last. */
  if (total) st->next = (from + n) % total;
  strata__fetch_request__init(q);
  q->max_wait_ms = b->cfg.replica_fetch_wait_ms;
  q->min_bytes = 1;
  q->max_bytes = REPLICA_FETCH_MAX_BYTES;
  q->partitions = fs->partv;
  q->n_partitions = n;
  q->replica_id = b->cfg.id;
  q->replica_epoch = b->broker_epoch;
  return n;
}

enum fetcher_answer follow_answer(struct broker *b, int32_t leader,
                                         const Strata__Header *resp, const uint8_t *pl,
                                         size_t pn) {
  if (!resp) return FETCHER_ANSWER_LOST;
  if (resp->error_code || resp->body_case != STRATA__HEADER__BODY_FETCH_RESP)
    return FETCHER_ANSWER_ERROR;
  const Strata__FetchResponse *fr = resp->fetch_resp;
  uint64_t sum = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) sum += fr->partitions[i]->payload_bytes;
  if (sum != pn) {
    trace_warn("fetch answer from %d carries %zu bytes but says %" PRIu64 ": dropping the link",
               leader, pn, sum);
    return FETCHER_ANSWER_BAD;
  }
  size_t off = 0;
  int progress = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) {
    const Strata__FetchPartitionResult *r = fr->partitions[i];
    struct partition *p = topics_partition(&b->topics, r->topic, r->partition);
    if (p && p->rep.role == ROLE_FOLLOWER && p->rep.leader == leader) {
      int appended;
      int rc = cluster_follower_apply(b, p, r, pl + off, b->now_ms, &appended);
      if (!rc && appended) flush_note_append(b, p);
      if (!rc) progress = 1;
      else if (rc == STRATA_ENOT_LEADER || rc == STRATA_EUNKNOWN_TOPIC)
        trace_debug("%s-%u: %d is not serving it yet", r->topic, r->partition, leader);
      else if (rc == STRATA_EIO && seglog_write_errno(p->log)) /* the log said why, once */
        trace_debug("%s-%u: cannot append what %d sent: %s", r->topic, r->partition, leader,
                    strerror(seglog_write_errno(p->log)));
      else
        trace_warn("%s-%u: replicating from %d: %s", r->topic, r->partition, leader,
                   strata_strerror(rc));
    }
    off += r->payload_bytes;
  }
  return progress ? FETCHER_ANSWER_PROGRESS : FETCHER_ANSWER_IDLE;
}

