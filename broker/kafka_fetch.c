/* Kafka Fetch (v4-17; v13+ names topics by id) and ListOffsets (v0-5) as the native fetch and list
 * offsets of a consumer: the same high watermark, long-poll and exact
 * OFFSET_OUT_OF_RANGE. Fetch v7+ keeps fetch sessions (KIP-227,
 * kafka_fetch_session.h): incremental fetches name only what changed and
 * their answers carry only partitions with news; a sessionless or full
 * answer lists every partition asked (the Java client drops one left out). */
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "broker/kafka_fetch_session.h"
#include "common/errors.h"

/* The leader epoch a client named that is not the partition's current one
 * (KIP-320): older fenced, newer unknown. 0 when fine or not named. */
static int16_t epoch_check(struct broker *b, const char *topic, int32_t part, int32_t epoch) {
  if (epoch < 0 || !b->cluster) return 0;
  struct partition *p = topics_partition(&b->topics, topic, (uint32_t)part);
  if (!p) return 0;
  if (epoch < p->rep.leader_epoch) return KERR_FENCED_LEADER_EPOCH;
  if (epoch > p->rep.leader_epoch) return KERR_UNKNOWN_LEADER_EPOCH;
  return 0;
}

/* KIP-207: a new leader's high watermark lags the offset its epoch began at
 * (what the old leader may have acknowledged) until its followers fetch
 * again. Kafka then refuses the latest offset (retriable: LEADER_NOT_AVAILABLE
 * before v5, OFFSET_NOT_AVAILABLE since) rather than answer one below an
 * offset it already gave out. 0 when `offset` is not below that start. */
static int16_t latest_lagging(struct broker *b, const char *topic, int32_t part, int64_t offset,
                              int16_t version) {
  if (!b->cluster) return 0;
  struct partition *p = topics_partition(&b->topics, topic, (uint32_t)part);
  if (!p || p->rep.role != ROLE_LEADER || p->rep.epochs.n == 0) return 0;
  if (offset >= p->rep.epochs.v[p->rep.epochs.n - 1].start) return 0;
  return version >= 5 ? KERR_OFFSET_NOT_AVAILABLE : KERR_LEADER_NOT_AVAILABLE;
}

/* ---- Fetch ---- */

/* One partition a fetch covers, in the answer's order. */
struct fentry {
  const char *name;        /* NULL: named by an id this broker does not know */
  struct kuuid id;         /* v13+ */
  int32_t partition, leader_epoch, max_bytes;
  int64_t fetch_offset;
  int group;               /* entries answered under one topic share it */
};

/* A Fetch's state from start to answer (k->extra). */
struct fctx {
  struct fentry *e;
  size_t n;
  enum kfs_kind kind;
  int32_t session_id;      /* incremental: the session; else 0 */
  size_t moved;            /* partitions the answer moved to the session's back so far */
};

/* The broker's session cache, made at the first use. */
static struct kfs_cache *sessions(struct broker *b) {
  if (!b->kafka_sessions) {
    b->kafka_sessions = calloc(1, sizeof *b->kafka_sessions);
    if (!b->kafka_sessions) abort();
    /* ids need not be secret (a session takes its epoch too), only not
     * the same after every restart */
    uint64_t seed = (uint64_t)b->now_ms * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)b;
    kfs_init(b->kafka_sessions, b->cfg.fetch_session_slots,
             b->cfg.fetch_session_eviction_ms, seed);
  }
  return b->kafka_sessions;
}

/* A request topic's name: v13+ name topics by id, looked up here; an
 * unknown id has NULL (its partitions are answered UNKNOWN_TOPIC_ID). */
static const char *topic_name(struct broker *b, struct kafka_call *k, const char *topic,
                              const struct kuuid *id) {
  if (k->version < 13) return topic ? topic : "";
  const struct topic *tp = topics_find_id(&b->topics, id->b);
  return tp ? kc_strdup(k, tp->name) : NULL;
}

/* The request's partitions as they come (sessionless and full fetches). */
static void entries_of_request(struct broker *b, struct kafka_call *k, struct fctx *x) {
  const struct kafka_fetch_req *q = k->req;
  size_t n = 0;
  for (int32_t i = 0; i < q->n_topics; i++)
    n += q->topics[i].n_partitions > 0 ? (size_t)q->topics[i].n_partitions : 0;
  x->e = kc_alloc(k, (n + 1) * sizeof *x->e);
  for (int32_t i = 0; i < q->n_topics; i++) {
    const struct kafka_fetch_req_fetch_topic *t = &q->topics[i];
    const char *name = topic_name(b, k, t->topic, &t->topic_id);
    for (int32_t j = 0; j < t->n_partitions; j++) {
      const struct kafka_fetch_req_fetch_partition *p = &t->partitions[j];
      struct fentry *e = &x->e[x->n++];
      e->name = name;
      e->id = t->topic_id;
      e->partition = p->partition;
      e->leader_epoch = p->current_leader_epoch;
      e->max_bytes = p->partition_max_bytes;
      e->fetch_offset = p->fetch_offset;
      e->group = i;
    }
  }
}

/* An incremental fetch: the request's changes into session s (added or
 * updated partitions, forgotten ones out). */
static void session_update(struct broker *b, struct kafka_call *k, struct kfs_session *s) {
  const struct kafka_fetch_req *q = k->req;
  for (int32_t i = 0; i < q->n_topics; i++) {
    const struct kafka_fetch_req_fetch_topic *t = &q->topics[i];
    const char *name = topic_name(b, k, t->topic, &t->topic_id);
    for (int32_t j = 0; j < t->n_partitions; j++) {
      const struct kafka_fetch_req_fetch_partition *p = &t->partitions[j];
      if (kfs_upsert(s, name, t->topic_id.b, p->partition, p->fetch_offset, p->log_start_offset,
                     p->partition_max_bytes, p->current_leader_epoch))
        abort(); /* out of memory, as kc_alloc */
    }
  }
  for (int32_t i = 0; i < q->n_forgotten_topics_data; i++) {
    const struct kafka_fetch_req_forgotten_topic *f = &q->forgotten_topics_data[i];
    for (int32_t j = 0; j < f->n_partitions; j++)
      kfs_forget(s, f->topic ? f->topic : "", f->topic_id.b, f->partitions[j]);
  }
}

/* Every partition of session s, in its fetch order; consecutive ones of a
 * topic are answered under it. */
static void entries_of_session(struct broker *b, struct kafka_call *k, struct fctx *x,
                               const struct kfs_session *s) {
  x->e = kc_alloc(k, (s->n + 1) * sizeof *x->e);
  int group = -1;
  for (size_t i = 0; i < s->n; i++) {
    const struct kfs_part *p = &s->parts[i];
    struct fentry *e = &x->e[x->n++];
    if (s->by_id) { /* by its id now: a topic made since is found */
      struct kuuid id;
      memcpy(id.b, p->topic_id, sizeof id.b);
      const char *name = kafka_topic_by_id(b, &id);
      e->name = name ? kc_strdup(k, name) : NULL;
    } else {
      e->name = kc_strdup(k, p->topic ? p->topic : "");
    }
    memcpy(e->id.b, p->topic_id, sizeof e->id.b);
    e->partition = p->partition;
    e->leader_epoch = p->leader_epoch;
    e->max_bytes = p->max_bytes;
    e->fetch_offset = p->fetch_offset;
    int same = i > 0 && (s->by_id ? !memcmp(p->topic_id, s->parts[i - 1].topic_id, 16)
                                  : p->topic && s->parts[i - 1].topic &&
                                        !strcmp(p->topic, s->parts[i - 1].topic));
    e->group = same ? group : ++group;
  }
}

/* A partition the authorizer refused: its error stands alone (no epoch
 * check, which would tell of a topic the caller may not see). */
static int refused(uint32_t native_error) {
  return native_error == (uint32_t)-STRATA_ETOPIC_AUTHORIZATION_FAILED;
}

/* A session error (70, 71, 106): the whole answer, no partitions. */
static void *session_error(struct kafka_call *k, int16_t err) {
  struct kafka_fetch_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_fetch_resp_desc, m);
  m->error_code = err;
  m->session_id = 0;
  m->n_responses = 0;
  m->responses = NULL;
  return m;
}

static void fetch_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_fetch_req *q = k->req;
  struct fctx *x = kc_alloc(k, sizeof *x);
  memset(x, 0, sizeof *x);
  k->extra = x;
  x->kind = KFS_SESSIONLESS;
  if (k->version >= 7) { /* KIP-227's session fields */
    struct kfs_cache *c = sessions(b);
    struct kfs_session *s = NULL;
    int err = kfs_begin(c, q->session_id, q->session_epoch, k->version >= 13, &x->kind, &s);
    if (err) {
      k->resp = session_error(k, (int16_t)err);
      return;
    }
    if (x->kind == KFS_INCREMENTAL) {
      session_update(b, k, s);
      x->kind = kfs_commit(c, s, b->now_ms);
      if (x->kind == KFS_INCREMENTAL) {
        x->session_id = s->id;
        entries_of_session(b, k, x, s);
      }
    }
  }
  if (x->kind != KFS_INCREMENTAL) entries_of_request(b, k, x);
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_FETCH);
  Strata__FetchRequest *f = kc_alloc(k, sizeof *f);
  strata__fetch_request__init(f);
  f->replica_id = -1; /* only consumers fetch through this door */
  f->max_wait_ms = q->max_wait_ms > 0 ? (uint32_t)q->max_wait_ms : 0;
  f->min_bytes = q->min_bytes > 0 ? (uint32_t)q->min_bytes : 0;
  f->max_bytes = q->max_bytes > 0 ? (uint32_t)q->max_bytes : 1;
  f->partitions = kc_alloc(k, (x->n + 1) * sizeof *f->partitions);
  for (size_t i = 0; i < x->n; i++) {
    const struct fentry *e = &x->e[i];
    if (!e->name) continue; /* unknown id: answered UNKNOWN_TOPIC_ID */
    Strata__FetchPartition *fp = kc_alloc(k, sizeof *fp);
    strata__fetch_partition__init(fp);
    fp->topic = (char *)e->name;
    fp->partition = e->partition < 0 ? UINT32_MAX : (uint32_t)e->partition;
    fp->fetch_offset = e->fetch_offset;
    fp->max_bytes = e->max_bytes > 0 ? (uint32_t)e->max_bytes : 1;
    fp->last_fetched_epoch = -1;
    f->partitions[f->n_partitions++] = fp;
  }
  h->body_case = STRATA__HEADER__BODY_FETCH_REQ;
  h->fetch_req = f;
  /* A follower's fetch (replica id >= 0: ReplicaId to v14, ReplicaState
   * from v15) from a principal without ClusterAction is refused whole
   * (CVE-2018-1288); with it, it is still served as a consumer's: Strata's
   * followers replicate over the native port. */
  int32_t replica = k->version >= 15 ? (q->replica_state ? q->replica_state->replica_id : -1)
                                     : q->replica_id;
  int rc = replica >= 0 ? authz_cluster(b, &k->who, ACL_OP_CLUSTER_ACTION) : 0;
  if (rc) {
    response_error(r, h, rc, "fetching as a replica needs ClusterAction on the cluster");
    return;
  }
  dispatch_handle(b, &k->who, h, NULL, 0, r);
}

/* Whether the answer carries entry e, which the fetch found as rp: every
 * partition of a sessionless or full answer (a full one also fills the new
 * session); in an incremental one only those with news, which then move to
 * the back of the session (kafka_fetch_session.h). */
static int answer_carries(struct fctx *x, struct kfs_session *s, const struct fentry *e,
                          const struct kafka_fetch_resp_partition_data *rp, size_t hint) {
  if (!s) return 1;
  size_t bytes = rp->records.len > 0 ? (size_t)rp->records.len : 0;
  if (x->kind == KFS_FULL) { /* a new session, filled in the request's order */
    struct kfs_part *p = kfs_append(s, e->name, e->id.b, e->partition, e->fetch_offset, -1,
                                    e->max_bytes, e->leader_epoch);
    if (!p) abort(); /* out of memory, as kc_alloc */
    kfs_news(p, rp->error_code, rp->high_watermark, rp->log_start_offset, bytes);
    return 1;
  }
  struct kfs_part *p = kfs_lookup_at(s, hint, e->name, e->id.b, e->partition);
  if (!p) return 1; /* changed under us by another request of the session: say it all */
  if (!kfs_news(p, rp->error_code, rp->high_watermark, rp->log_start_offset, bytes)) return 0;
  kfs_move_last(s, p);
  x->moved++;
  return 1;
}

static void *fetch_answer(struct broker *b, struct kafka_call *k, const struct response *r) {
  struct fctx *x = k->extra;
  const Strata__Header *rep = kc_reply(r);
  const Strata__FetchResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_FETCH_RESP ? rep->fetch_resp : NULL;
  struct kafka_fetch_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_fetch_resp_desc, m);
  m->session_id = 0;
  if (!nr) m->error_code = kafka_err((int)rep->error_code);
  /* the session this answer fills (full: a new one, when there is room)
   * or reads (incremental: gone meanwhile, then the answer says it all) */
  struct kfs_session *s = NULL;
  if (x->kind == KFS_FULL && nr && x->n > 0) {
    s = kfs_create(sessions(b), k->version >= 13, b->now_ms);
    m->session_id = s ? s->id : 0;
  } else if (x->kind == KFS_INCREMENTAL) {
    s = kfs_find(sessions(b), x->session_id);
    m->session_id = x->session_id;
  }
  struct kafka_fetch_resp_partition_data *rps = kc_alloc(k, (x->n + 1) * sizeof *rps);
  unsigned char *carry = kc_alloc(k, x->n + 1);
  size_t at = 0, pos = 0;
  for (size_t i = 0; i < x->n; i++) {
    const struct fentry *e = &x->e[i];
    struct kafka_fetch_resp_partition_data *rp = &rps[i];
    kafka_defaults(&kafka_fetch_resp_partition_data_desc, rp);
    rp->partition_index = e->partition;
    rp->high_watermark = rp->last_stable_offset = -1;
    rp->aborted_transactions = NULL;
    rp->n_aborted_transactions = 0;
    rp->records.p = NULL;
    rp->records.len = 0;
    if (!e->name) {
      rp->error_code = KERR_UNKNOWN_TOPIC_ID; /* not asked natively */
    } else if (!nr || at >= nr->n_partitions) {
      rp->error_code = nr ? KERR_UNKNOWN_SERVER_ERROR : m->error_code;
      at++;
    } else {
      const Strata__FetchPartitionResult *y = nr->partitions[at++];
      uint32_t len = y->payload_bytes;
      if (pos + len > r->payload_len) len = 0; /* cannot happen; never read past */
      int16_t fenced = refused(y->error_code)
                           ? 0 /* no word on its epochs */
                           : epoch_check(b, e->name, e->partition, e->leader_epoch);
      rp->error_code = fenced ? fenced : kafka_err((int)y->error_code);
      rp->high_watermark = y->high_watermark;
      rp->last_stable_offset = y->high_watermark;
      rp->log_start_offset = y->log_start_offset;
      if (!rp->error_code && len) {
        rp->records.p = r->payload + pos;
        rp->records.len = (int32_t)len;
      }
      pos += y->payload_bytes;
    }
    /* entry i is the session's partition i, less those already moved back */
    carry[i] = (unsigned char)answer_carries(x, s, e, rp, i - x->moved);
  }
  /* the carried partitions under their topics (a group's entries are consecutive) */
  m->responses = kc_alloc(k, (x->n + 1) * sizeof *m->responses);
  for (size_t i = 0; i < x->n;) {
    size_t end = i, n = 0;
    for (; end < x->n && x->e[end].group == x->e[i].group; end++) n += carry[end];
    if (n) {
      struct kafka_fetch_resp_fetchable_topic_response *rt = &m->responses[m->n_responses++];
      kafka_defaults(&kafka_fetch_resp_fetchable_topic_response_desc, rt);
      rt->topic = x->e[i].name ? x->e[i].name : "";
      rt->topic_id = x->e[i].id; /* v13+ */
      rt->partitions = kc_alloc(k, n * sizeof *rt->partitions);
      for (size_t j = i; j < end; j++)
        if (carry[j]) rt->partitions[rt->n_partitions++] = rps[j];
    }
    i = end;
  }
  return m;
}

const struct kafka_handler kafka_fetch_handler = {KAFKA_FETCH, 4, 17, fetch_start, fetch_answer};

/* ---- ListOffsets ---- */

static void list_offsets_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_list_offsets_req *q = k->req;
  size_t n = 0;
  for (int32_t i = 0; i < q->n_topics; i++)
    n += q->topics[i].n_partitions > 0 ? (size_t)q->topics[i].n_partitions : 0;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_LIST_OFFSETS);
  Strata__ListOffsetsRequest *l = kc_alloc(k, sizeof *l);
  strata__list_offsets_request__init(l);
  l->partitions = kc_alloc(k, (n + 1) * sizeof *l->partitions);
  for (int32_t i = 0; i < q->n_topics; i++) {
    const struct kafka_list_offsets_req_list_offsets_topic *t = &q->topics[i];
    for (int32_t j = 0; j < t->n_partitions; j++) {
      const struct kafka_list_offsets_req_list_offsets_partition *p = &t->partitions[j];
      Strata__ListOffsetsPartition *lp = kc_alloc(k, sizeof *lp);
      strata__list_offsets_partition__init(lp);
      lp->topic = (char *)(t->name ? t->name : "");
      lp->partition = p->partition_index < 0 ? UINT32_MAX : (uint32_t)p->partition_index;
      lp->timestamp = p->timestamp;
      l->partitions[l->n_partitions++] = lp;
    }
  }
  h->body_case = STRATA__HEADER__BODY_LIST_OFFSETS_REQ;
  h->list_offsets_req = l;
  dispatch_handle(b, &k->who, h, NULL, 0, r);
}

static void *list_offsets_answer(struct broker *b, struct kafka_call *k,
                                 const struct response *r) {
  const struct kafka_list_offsets_req *q = k->req;
  const Strata__Header *rep = kc_reply(r);
  const Strata__ListOffsetsResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_LIST_OFFSETS_RESP ? rep->list_offsets_resp : NULL;
  struct kafka_list_offsets_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_list_offsets_resp_desc, m);
  m->topics = kc_alloc(k, (size_t)(q->n_topics > 0 ? q->n_topics : 0) * sizeof *m->topics);
  size_t at = 0;
  for (int32_t i = 0; i < q->n_topics; i++) {
    const struct kafka_list_offsets_req_list_offsets_topic *t = &q->topics[i];
    struct kafka_list_offsets_resp_list_offsets_topic_response *rt = &m->topics[m->n_topics++];
    kafka_defaults(&kafka_list_offsets_resp_list_offsets_topic_response_desc, rt);
    rt->name = t->name;
    int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
    rt->partitions = kc_alloc(k, (size_t)np * sizeof *rt->partitions);
    for (int32_t j = 0; j < np; j++, at++) {
      const struct kafka_list_offsets_req_list_offsets_partition *p = &t->partitions[j];
      struct kafka_list_offsets_resp_list_offsets_partition_response *rp =
          &rt->partitions[rt->n_partitions++];
      kafka_defaults(&kafka_list_offsets_resp_list_offsets_partition_response_desc, rp);
      rp->partition_index = p->partition_index;
      if (!nr || at >= nr->n_partitions) {
        rp->error_code = nr ? KERR_UNKNOWN_SERVER_ERROR : kafka_err((int)rep->error_code);
        continue;
      }
      const Strata__ListOffsetsPartitionResult *x = nr->partitions[at];
      int16_t fenced = refused(x->error_code)
                           ? 0
                           : epoch_check(b, t->name, p->partition_index, p->current_leader_epoch);
      rp->error_code = fenced ? fenced : kafka_err((int)x->error_code);
      if (!rp->error_code && p->timestamp == -1)
        rp->error_code = latest_lagging(b, t->name, p->partition_index, x->offset, k->version);
      if (rp->error_code) continue;
      rp->offset = x->offset;
      rp->timestamp = x->timestamp;
      struct partition *part = topics_partition(&b->topics, t->name, (uint32_t)p->partition_index);
      rp->leader_epoch = part && b->cluster ? part->rep.leader_epoch : (part ? 0 : -1);
      if (k->version == 0 && x->offset >= 0) { /* v0: a list of offsets, here one */
        rp->old_style_offsets = kc_alloc(k, sizeof(int64_t));
        rp->old_style_offsets[0] = x->offset;
        rp->n_old_style_offsets = 1;
      }
    }
  }
  return m;
}

const struct kafka_handler kafka_list_offsets_handler = {KAFKA_LIST_OFFSETS, 0, 10,
                                                         list_offsets_start, list_offsets_answer};

/* ---- OffsetForLeaderEpoch ---- */

/* Where a leader epoch ended in this leader's log (KIP-101/320): consumers
 * ask it after a leader change to find whether the log they read was cut.
 * The answer follows Kafka's epoch cache: the largest epoch <= the one
 * asked and the start of the next; a newer epoch than any known: -1, -1. */
static void epoch_end(struct broker *b, const char *topic,
                      const struct kafka_offset_for_leader_epoch_req_offset_for_leader_partition *q,
                      struct kafka_offset_for_leader_epoch_resp_epoch_end_offset *x) {
  x->partition = q->partition;
  x->leader_epoch = -1;
  x->end_offset = -1;
  struct partition *p = topics_partition(&b->topics, topic, (uint32_t)q->partition);
  if (!p || q->partition < 0) {
    x->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return;
  }
  if (b->cluster && p->rep.role != ROLE_LEADER) {
    x->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
    return;
  }
  int16_t fenced = epoch_check(b, topic, q->partition, q->current_leader_epoch);
  if (fenced) {
    x->error_code = fenced;
    return;
  }
  int64_t end = seglog_end_offset(p->log);
  if (!b->cluster) { /* a standalone broker leads epoch 0 forever */
    if (q->leader_epoch >= 0) x->leader_epoch = 0, x->end_offset = end;
    return;
  }
  int32_t last = epoch_cache_last(&p->rep.epochs);
  if (q->leader_epoch < 0 || q->leader_epoch > last) return;
  int32_t floor = epoch_cache_floor(&p->rep.epochs, q->leader_epoch);
  x->leader_epoch = floor >= 0 ? floor : q->leader_epoch;
  x->end_offset = epoch_cache_end_offset(&p->rep.epochs, q->leader_epoch, end);
}

static void offset_for_leader_epoch_start(struct broker *b, struct kafka_call *k,
                                          struct response *r) {
  (void)r;
  const struct kafka_offset_for_leader_epoch_req *q = k->req;
  struct kafka_offset_for_leader_epoch_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_offset_for_leader_epoch_resp_desc, m);
  k->resp = m;
  int32_t nt = q->n_topics > 0 ? q->n_topics : 0;
  m->topics = kc_alloc(k, ((size_t)nt + 1) * sizeof *m->topics);
  for (int32_t i = 0; i < nt; i++) {
    const struct kafka_offset_for_leader_epoch_req_offset_for_leader_topic *t = &q->topics[i];
    struct kafka_offset_for_leader_epoch_resp_offset_for_leader_topic_result *rt =
        &m->topics[m->n_topics++];
    kafka_defaults(&kafka_offset_for_leader_epoch_resp_offset_for_leader_topic_result_desc, rt);
    rt->topic = t->topic;
    int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
    rt->partitions = kc_alloc(k, ((size_t)np + 1) * sizeof *rt->partitions);
    /* a consumer needs Describe on the topic, a replica (v3+ replica_id
     * >= 0) ClusterAction, as Kafka */
    int16_t denied = 0;
    if (k->version >= 3 && q->replica_id >= 0)
      denied = authz_cluster(b, &k->who, ACL_OP_CLUSTER_ACTION) ? KERR_CLUSTER_AUTHORIZATION_FAILED : 0;
    else if (authz_topic(b, &k->who, t->topic ? t->topic : "", ACL_OP_DESCRIBE))
      denied = KERR_TOPIC_AUTHORIZATION_FAILED;
    for (int32_t j = 0; j < np; j++) {
      struct kafka_offset_for_leader_epoch_resp_epoch_end_offset *x = &rt->partitions[rt->n_partitions++];
      kafka_defaults(&kafka_offset_for_leader_epoch_resp_epoch_end_offset_desc, x);
      if (denied) {
        x->partition = t->partitions[j].partition;
        x->leader_epoch = -1;
        x->end_offset = -1;
        x->error_code = denied;
        continue;
      }
      epoch_end(b, t->topic ? t->topic : "", &t->partitions[j], x);
    }
  }
}

const struct kafka_handler kafka_offset_for_leader_epoch_handler = {
    KAFKA_OFFSET_FOR_LEADER_EPOCH, 0, 4, offset_for_leader_epoch_start, NULL};
