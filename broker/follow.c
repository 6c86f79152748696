#include "broker/follow.h"

#include <inttypes.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/flush.h"
#include "common/errors.h"
#include "common/trace.h"

size_t follow_leaders(const struct broker *b, int32_t *leaders, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      const struct partition *p = b->topics.v[i]->parts[k];
      if (p->rep.role != ROLE_FOLLOWER) continue;
      int seen = 0;
      for (size_t j = 0; j < n; j++) seen |= leaders[j] == p->rep.leader;
      if (!seen && n < max) leaders[n++] = p->rep.leader;
    }
  return n;
}

struct fetcher_event follow_event(const struct broker *b, int32_t leader,
                                           enum fetcher_event_type type, int64_t now_ms) {
  struct fetcher_event e = {type, now_ms, 0, 1, b->cfg.flush == FLUSH_ALWAYS, FETCHER_ANSWER_LOST};
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      const struct partition *p = b->topics.v[i]->parts[k];
      if (p->rep.role != ROLE_FOLLOWER || p->rep.leader != leader) continue;
      e.has_partitions = 1;
      if (seglog_durable_offset(p->log) < seglog_end_offset(p->log)) e.durable = 0;
    }
  return e;
}

size_t follow_request(const struct broker *b, int32_t leader,
                             struct follow_storage *st, Strata__FetchRequest *q) {
  size_t n = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart && n < FETCH_PARTITIONS_MAX; k++) {
      struct partition *p = b->topics.v[i]->parts[k];
      if (p->rep.role != ROLE_FOLLOWER || p->rep.leader != leader) continue;
      Strata__FetchPartition *fp = &st->parts[n];
      strata__fetch_partition__init(fp);
      fp->topic = p->topic->name;
      fp->partition = p->id;
      fp->fetch_offset = seglog_end_offset(p->log);
      fp->max_bytes = 1u << 20;
      fp->last_fetched_epoch = epoch_cache_last(&p->rep.epochs);
      fp->durable_offset =
          b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : seglog_end_offset(p->log);
      st->partv[n++] = fp;
    }
  strata__fetch_request__init(q);
  q->max_wait_ms = b->cfg.replica_fetch_wait_ms;
  q->min_bytes = 1;
  q->max_bytes = REPLICA_FETCH_MAX_BYTES;
  q->partitions = st->partv;
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

