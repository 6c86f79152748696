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

/* Whether p left the set of `leader` it was in (it is no longer followed
 * from there): the session there holds it still, so that session must
 * start over (the follower's fetches have no "forgotten" list; a full fetch
 * replaces the leader's session, which then holds only what is named). */
static int left_set(const struct partition *p, int32_t leader) {
  return p->deleted || p->rep.role != ROLE_FOLLOWER || p->rep.leader != leader;
}

/* The index for the image applied now: rebuilt (one walk over every
 * partition) only after a new image; a set keeps its rotation point and
 * its fetch session, unless a partition left it. */
static struct follow_index *index_of(struct broker *b) {
  struct follow_index *x = &b->follow;
  if (x->built_for == (int64_t)b->meta_applied + 1) return x;
  struct follow_index old = *x;
  *x = old;
  x->built_for = (int64_t)b->meta_applied + 1;
  x->sets = NULL;
  x->nsets = 0;
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
        *st = (struct follow_set){.leader = p->rep.leader};
        const struct follow_set *was = set_of(&old, p->rep.leader);
        if (was) {
          st->next = was->next;
          st->session_id = was->session_id;
          st->session_epoch = was->session_epoch;
          st->gen = was->gen;
          st->awaiting = was->awaiting;
          st->sent_full = was->sent_full;
        }
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
  for (size_t i = 0; i < old.nsets; i++) {
    struct follow_set *st = set_of(x, old.sets[i].leader);
    for (size_t k = 0; st && st->session_id && k < old.sets[i].n; k++)
      if (left_set(old.sets[i].v[k], st->leader)) {
        st->session_id = 0;
        x->session_resets++;
      }
  }
  old.built_for = 0;
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

/* Whether p must be named in the next fetch of session st: it is new to
 * the session, or its position (or the leadership it follows) changed
 * since it was last named. Everything else the leader knows already. */
static int must_name(const struct broker *b, const struct follow_set *st,
                     const struct partition *p) {
  int64_t durable =
      b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : seglog_end_offset(p->log);
  return p->fsent.gen != st->gen || p->fsent.leader != st->leader ||
         p->fsent.leader_epoch != p->rep.leader_epoch || p->fsent.end != seglog_end_offset(p->log) ||
         p->fsent.durable != durable || p->fsent.last_epoch != epoch_cache_last(&p->rep.epochs);
}

size_t follow_request(struct broker *b, int32_t leader, struct follow_storage *fs,
                      Strata__FetchRequest *q) {
  size_t n = 0;
  struct follow_index *x = index_of(b);
  struct follow_set *st = set_of(x, leader);
  size_t total = st ? st->n : 0;
  size_t from = total ? st->next % total : 0;
  /* The last fetch's answer never came (the link failed, or it timed out):
   * the leader's session may have moved on without us, so start over. */
  if (st && st->awaiting) st->session_id = 0;
  int full = !st || st->session_id == 0;
  if (st && full) st->gen = ++x->gen_next ? x->gen_next : ++x->gen_next;
  size_t j = 0;
  for (; j < total && n < FETCH_PARTITIONS_MAX; j++) {
    struct partition *p = st->v[(from + j) % total];
    if (!full && !must_name(b, st, p)) continue;
    Strata__FetchPartition *fp = &fs->parts[n];
    strata__fetch_partition__init(fp);
    fp->topic = p->topic->name;
    fp->partition = p->id;
    fp->fetch_offset = seglog_end_offset(p->log);
    fp->max_bytes = 1u << 20;
    fp->last_fetched_epoch = epoch_cache_last(&p->rep.epochs);
    fp->durable_offset =
        b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : seglog_end_offset(p->log);
    p->fsent.gen = st->gen;
    p->fsent.leader = leader;
    p->fsent.leader_epoch = p->rep.leader_epoch;
    p->fsent.end = fp->fetch_offset;
    p->fsent.durable = fp->durable_offset;
    p->fsent.last_epoch = fp->last_fetched_epoch;
    fs->partv[n++] = fp;
  }
  /* More than one fetch holds: the next one starts after this one's last. */
  if (total && n == FETCH_PARTITIONS_MAX) st->next = (from + j) % total;
  strata__fetch_request__init(q);
  q->max_wait_ms = b->cfg.replica_fetch_wait_ms;
  q->min_bytes = 1;
  q->max_bytes = REPLICA_FETCH_MAX_BYTES;
  q->partitions = fs->partv;
  q->n_partitions = n;
  q->replica_id = b->cfg.id;
  q->replica_epoch = b->broker_epoch;
  q->session_id = full ? 0 : st->session_id;
  q->session_epoch = full ? 0 : st->session_epoch;
  if (st) {
    st->awaiting = 1;
    st->sent_full = full;
    if (full) x->full_fetches++;
    else x->incremental_fetches++;
  }
  return n;
}

/* The session fields of an answer: a full fetch's answer opens the session
 * (id 0: the leader keeps none, the next fetch is full again), an
 * incremental one moves it to its next epoch, a refusal ends it. */
static void session_answered(struct follow_index *x, int32_t leader,
                             const Strata__FetchResponse *fr) {
  struct follow_set *st = set_of(x, leader);
  if (!st) return;
  int was_full = st->sent_full;
  st->awaiting = 0;
  if (!fr || fr->session_error) {
    if (st->session_id) x->session_resets++;
    st->session_id = 0;
  } else if (was_full) {
    st->session_id = fr->session_id;
    st->session_epoch = 1;
  } else {
    st->session_epoch = st->session_epoch >= INT32_MAX ? 1 : st->session_epoch + 1;
  }
}

enum fetcher_answer follow_answer(struct broker *b, int32_t leader,
                                         const Strata__Header *resp, const uint8_t *pl,
                                         size_t pn) {
  struct follow_index *x = index_of(b);
  if (!resp) {
    session_answered(x, leader, NULL);
    return FETCHER_ANSWER_LOST;
  }
  if (resp->error_code || resp->body_case != STRATA__HEADER__BODY_FETCH_RESP) {
    session_answered(x, leader, NULL);
    return FETCHER_ANSWER_ERROR;
  }
  const Strata__FetchResponse *fr = resp->fetch_resp;
  uint64_t sum = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) sum += fr->partitions[i]->payload_bytes;
  if (sum != pn || fr->session_error) {
    session_answered(x, leader, NULL);
    if (fr->session_error) {
      trace_debug("fetch session with %d refused (%u): starting a full one", leader,
                  fr->session_error);
      return FETCHER_ANSWER_ERROR;
    }
    trace_warn("fetch answer from %d carries %zu bytes but says %" PRIu64 ": dropping the link",
               leader, pn, sum);
    return FETCHER_ANSWER_BAD;
  }
  session_answered(x, leader, fr);
  size_t off = 0;
  int progress = 0;
  for (size_t i = 0; i < fr->n_partitions; i++) {
    const Strata__FetchPartitionResult *r = fr->partitions[i];
    struct partition *p = topics_partition(&b->topics, r->topic, r->partition);
    if (p && p->rep.role == ROLE_FOLLOWER && p->rep.leader == leader) {
      int appended;
      int rc = cluster_follower_apply(b, p, r, pl + off, b->now_ms, &appended);
      if (!rc && appended) flush_note_append(b, p);
      if (rc) p->fsent.gen = 0; /* name it again: the leader's session may not hold it */
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
  /* An empty answer in a session: the leader waited (it parks a fetch with
   * no news) and nothing changed; fetch again at once. */
  if (fr->n_partitions == 0 && fr->session_id) progress = 1;
  return progress ? FETCHER_ANSWER_PROGRESS : FETCHER_ANSWER_IDLE;
}

