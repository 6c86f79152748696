/* Kafka OffsetCommit (v1-8) and OffsetFetch (v1-9; v8+ several groups, each
 * asked natively) as the native ones:
 * the same coordinator and __consumer_offsets, so offsets a Kafka client
 * commits show in `strata group describe` and the reverse. A commit from a
 * member of a classic group is checked against that group's generation
 * first (kafka_groups.c); a "simple" commit (generation -1, no member id:
 * assign() consumers, admin tools) goes to an empty group as the native
 * admin commit does. */
#include <string.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "broker/group_handlers.h"
#include "common/errors.h"

/* ---- OffsetCommit ---- */

static void *commit_refuse(struct kafka_call *k, int16_t err) {
  const struct kafka_offset_commit_req *q = k->req;
  struct kafka_offset_commit_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_offset_commit_resp_desc, m);
  int32_t nt = q->n_topics > 0 ? q->n_topics : 0;
  m->topics = kc_alloc(k, ((size_t)nt + 1) * sizeof *m->topics);
  for (int32_t i = 0; i < nt; i++) {
    const struct kafka_offset_commit_req_offset_commit_request_topic *t = &q->topics[i];
    struct kafka_offset_commit_resp_offset_commit_response_topic *rt = &m->topics[m->n_topics++];
    kafka_defaults(&kafka_offset_commit_resp_offset_commit_response_topic_desc, rt);
    rt->name = t->name;
    int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
    rt->partitions = kc_alloc(k, ((size_t)np + 1) * sizeof *rt->partitions);
    for (int32_t j = 0; j < np; j++) {
      struct kafka_offset_commit_resp_offset_commit_response_partition *rp =
          &rt->partitions[rt->n_partitions++];
      kafka_defaults(&kafka_offset_commit_resp_offset_commit_response_partition_desc, rp);
      rp->partition_index = t->partitions[j].partition_index;
      rp->error_code = err;
    }
  }
  return m;
}

static void offset_commit_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_offset_commit_req *q = k->req;
  size_t n = 0;
  for (int32_t i = 0; i < q->n_topics; i++)
    n += q->topics[i].n_partitions > 0 ? (size_t)q->topics[i].n_partitions : 0;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_OFFSET_COMMIT);
  Strata__OffsetCommitRequest *c = kc_alloc(k, sizeof *c);
  strata__offset_commit_request__init(c);
  c->group_id = (char *)q->group_id;
  c->member_id = (char *)(q->member_id ? q->member_id : "");
  c->member_epoch = k->version >= 1 ? q->generation_id_or_member_epoch : -1;
  c->partitions = kc_alloc(k, (n + 1) * sizeof *c->partitions);
  for (int32_t i = 0; i < q->n_topics; i++) {
    const struct kafka_offset_commit_req_offset_commit_request_topic *t = &q->topics[i];
    for (int32_t j = 0; j < t->n_partitions; j++) {
      const struct kafka_offset_commit_req_offset_commit_request_partition *p = &t->partitions[j];
      Strata__OffsetCommitPartition *cp = kc_alloc(k, sizeof *cp);
      strata__offset_commit_partition__init(cp);
      cp->topic = (char *)(t->name ? t->name : "");
      cp->partition = p->partition_index < 0 ? UINT32_MAX : (uint32_t)p->partition_index;
      cp->offset = p->committed_offset;
      cp->metadata = (char *)(p->committed_metadata ? p->committed_metadata : "");
      c->partitions[c->n_partitions++] = cp;
    }
  }
  h->body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
  h->offset_commit_req = c;
  group_handlers_kafka_commit(b, h, q->group_instance_id, r);
}

static void *offset_commit_answer(struct broker *b, struct kafka_call *k,
                                  const struct response *r) {
  (void)b;
  const Strata__Header *rep = kc_reply(r);
  const Strata__OffsetCommitResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_OFFSET_COMMIT_RESP ? rep->offset_commit_resp : NULL;
  struct kafka_offset_commit_resp *m =
      commit_refuse(k, nr ? KERR_NONE : kafka_err((int)rep->error_code));
  size_t at = 0;
  for (int32_t i = 0; nr && i < m->n_topics; i++)
    for (int32_t j = 0; j < m->topics[i].n_partitions; j++, at++)
      m->topics[i].partitions[j].error_code =
          at < nr->n_partitions ? kafka_err((int)nr->partitions[at]->error_code)
                                : KERR_UNKNOWN_SERVER_ERROR;
  return m;
}

const struct kafka_handler kafka_offset_commit_handler = {KAFKA_OFFSET_COMMIT, 1, 9,
                                                          offset_commit_start,
                                                          offset_commit_answer};

/* ---- OffsetFetch ---- */

/* The native request for q's group (v0-7's shape: one group). */
static Strata__Header *fetch_native(struct kafka_call *k, const struct kafka_offset_fetch_req *q) {
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_OFFSET_FETCH);
  Strata__OffsetFetchRequest *f = kc_alloc(k, sizeof *f);
  strata__offset_fetch_request__init(f);
  f->group_id = (char *)(q->group_id ? q->group_id : "");
  int32_t nt = q->n_topics > 0 ? q->n_topics : 0;
  f->partitions = kc_alloc(k, ((size_t)nt + 1) * sizeof *f->partitions);
  for (int32_t i = 0; i < nt; i++) {
    const struct kafka_offset_fetch_req_offset_fetch_request_topic *t = &q->topics[i];
    Strata__TopicPartitions *tp = kc_alloc(k, sizeof *tp);
    strata__topic_partitions__init(tp);
    tp->topic = (char *)(t->name ? t->name : "");
    int32_t np = t->n_partition_indexes > 0 ? t->n_partition_indexes : 0;
    tp->partitions = kc_alloc(k, ((size_t)np + 1) * sizeof *tp->partitions);
    for (int32_t j = 0; j < np; j++)
      tp->partitions[tp->n_partitions++] =
          t->partition_indexes[j] < 0 ? UINT32_MAX : (uint32_t)t->partition_indexes[j];
    f->partitions[f->n_partitions++] = tp;
  }
  h->body_case = STRATA__HEADER__BODY_OFFSET_FETCH_REQ;
  h->offset_fetch_req = f;
  return h;
}

/* The native answer lists partitions flat; Kafka's groups them by topic in
 * the request's order (or, for "every committed offset", by first sight). */
static struct kafka_offset_fetch_resp *fetch_answer(struct kafka_call *k,
                                                    const struct kafka_offset_fetch_req *q,
                                                    const Strata__Header *rep) {
  const Strata__OffsetFetchResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_OFFSET_FETCH_RESP ? rep->offset_fetch_resp : NULL;
  struct kafka_offset_fetch_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_offset_fetch_resp_desc, m);
  size_t n = nr ? nr->n_partitions : 0;
  m->topics = kc_alloc(k, (n + (q->n_topics > 0 ? (size_t)q->n_topics : 0) + 1) * sizeof *m->topics);
  if (!nr) {
    m->error_code = kafka_err((int)rep->error_code);
    /* v1 has no top-level error: say it on each partition asked */
    for (int32_t i = 0; i < q->n_topics; i++) {
      struct kafka_offset_fetch_resp_offset_fetch_response_topic *t = &m->topics[m->n_topics++];
      kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_topic_desc, t);
      t->name = q->topics[i].name;
      int32_t np = q->topics[i].n_partition_indexes > 0 ? q->topics[i].n_partition_indexes : 0;
      t->partitions = kc_alloc(k, ((size_t)np + 1) * sizeof *t->partitions);
      for (int32_t j = 0; j < np; j++) {
        struct kafka_offset_fetch_resp_offset_fetch_response_partition *p =
            &t->partitions[t->n_partitions++];
        kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_partition_desc, p);
        p->partition_index = q->topics[i].partition_indexes[j];
        p->committed_offset = -1;
        p->error_code = m->error_code;
      }
    }
    return m;
  }
  for (size_t i = 0; i < n; i++) {
    const Strata__OffsetCommitPartition *x = nr->partitions[i];
    struct kafka_offset_fetch_resp_offset_fetch_response_topic *t = NULL;
    for (int32_t j = 0; j < m->n_topics; j++)
      if (!strcmp(m->topics[j].name, x->topic)) t = &m->topics[j];
    if (!t) {
      t = &m->topics[m->n_topics++];
      kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_topic_desc, t);
      t->name = kc_strdup(k, x->topic);
      t->partitions = kc_alloc(k, (n + 1) * sizeof *t->partitions);
    }
    struct kafka_offset_fetch_resp_offset_fetch_response_partition *p =
        &t->partitions[t->n_partitions++];
    kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_partition_desc, p);
    p->partition_index = (int32_t)x->partition;
    p->committed_offset = x->offset;
    p->metadata = kc_strdup(k, x->metadata ? x->metadata : "");
    p->error_code = kafka_err((int)x->error_code);
  }
  return m;
}

/* v8+ (KIP-709) asks for several groups at once. Each group is asked
 * natively on its own, as a v0-7 request would be (the native fetch is
 * answered at once, from this broker's coordinator), and its answer moved
 * into the group's entry; all strings live in k's arena. */
static struct kafka_offset_fetch_resp *fetch_groups(struct broker *b, struct kafka_call *k) {
  const struct kafka_offset_fetch_req *q = k->req;
  struct kafka_offset_fetch_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_offset_fetch_resp_desc, m);
  int32_t ng = q->n_groups > 0 ? q->n_groups : 0;
  m->groups = kc_alloc(k, ((size_t)ng + 1) * sizeof *m->groups);
  for (int32_t i = 0; i < ng; i++) {
    const struct kafka_offset_fetch_req_offset_fetch_request_group *g = &q->groups[i];
    struct kafka_offset_fetch_req one;
    memset(&one, 0, sizeof one);
    one.group_id = g->group_id;
    one.n_topics = g->n_topics;
    int32_t nt = g->n_topics > 0 ? g->n_topics : 0;
    one.topics = kc_alloc(k, ((size_t)nt + 1) * sizeof *one.topics);
    for (int32_t j = 0; j < nt; j++) {
      one.topics[j].name = g->topics[j].name;
      one.topics[j].n_partition_indexes = g->topics[j].n_partition_indexes;
      one.topics[j].partition_indexes = g->topics[j].partition_indexes;
    }
    struct response tmp;
    response_init(&tmp);
    dispatch_handle(b, &k->who, fetch_native(k, &one), NULL, 0, &tmp);
    const struct kafka_offset_fetch_resp *a = fetch_answer(k, &one, kc_reply(&tmp));
    response_free(&tmp);
    struct kafka_offset_fetch_resp_offset_fetch_response_group *rg = &m->groups[m->n_groups++];
    kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_group_desc, rg);
    rg->group_id = g->group_id;
    rg->error_code = a->error_code;
    rg->topics = kc_alloc(k, ((size_t)a->n_topics + 1) * sizeof *rg->topics);
    for (int32_t j = 0; j < a->n_topics; j++) {
      const struct kafka_offset_fetch_resp_offset_fetch_response_topic *at = &a->topics[j];
      struct kafka_offset_fetch_resp_offset_fetch_response_topics *t = &rg->topics[rg->n_topics++];
      kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_topics_desc, t);
      t->name = at->name;
      t->partitions = kc_alloc(k, ((size_t)at->n_partitions + 1) * sizeof *t->partitions);
      for (int32_t x = 0; x < at->n_partitions; x++) {
        const struct kafka_offset_fetch_resp_offset_fetch_response_partition *ap =
            &at->partitions[x];
        struct kafka_offset_fetch_resp_offset_fetch_response_partitions *p =
            &t->partitions[t->n_partitions++];
        kafka_defaults(&kafka_offset_fetch_resp_offset_fetch_response_partitions_desc, p);
        p->partition_index = ap->partition_index;
        p->committed_offset = ap->committed_offset;
        p->committed_leader_epoch = ap->committed_leader_epoch;
        p->metadata = ap->metadata;
        p->error_code = ap->error_code;
      }
    }
  }
  k->native = NULL; /* answered here */
  return m;
}

static void offset_fetch_start(struct broker *b, struct kafka_call *k, struct response *r) {
  if (k->version >= 8) {
    k->resp = fetch_groups(b, k);
    return;
  }
  dispatch_handle(b, &k->who, fetch_native(k, k->req), NULL, 0, r);
}

static void *offset_fetch_answer(struct broker *b, struct kafka_call *k,
                                 const struct response *r) {
  (void)b;
  return fetch_answer(k, k->req, kc_reply(r));
}

const struct kafka_handler kafka_offset_fetch_handler = {KAFKA_OFFSET_FETCH, 1, 9,
                                                         offset_fetch_start, offset_fetch_answer};

/* ---- DeleteGroups ---- */

static void delete_groups_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_delete_groups_req *q = k->req;
  int32_t n = q->n_groups_names > 0 ? q->n_groups_names : 0;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_DELETE_GROUPS);
  Strata__DeleteGroupsRequest *d = kc_alloc(k, sizeof *d);
  strata__delete_groups_request__init(d);
  d->group_ids = kc_alloc(k, ((size_t)n + 1) * sizeof *d->group_ids);
  for (int32_t i = 0; i < n; i++)
    d->group_ids[d->n_group_ids++] = (char *)(q->groups_names[i] ? q->groups_names[i] : "");
  h->body_case = STRATA__HEADER__BODY_DELETE_GROUPS_REQ;
  h->delete_groups_req = d;
  dispatch_handle(b, &k->who, h, NULL, 0, r);
}

static void *delete_groups_answer(struct broker *b, struct kafka_call *k,
                                  const struct response *r) {
  (void)b;
  const struct kafka_delete_groups_req *q = k->req;
  const Strata__Header *rep = kc_reply(r);
  const Strata__DeleteGroupsResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_DELETE_GROUPS_RESP ? rep->delete_groups_resp : NULL;
  struct kafka_delete_groups_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_delete_groups_resp_desc, m);
  int32_t n = q->n_groups_names > 0 ? q->n_groups_names : 0;
  m->results = kc_alloc(k, ((size_t)n + 1) * sizeof *m->results);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_delete_groups_resp_deletable_group_result *x = &m->results[m->n_results++];
    kafka_defaults(&kafka_delete_groups_resp_deletable_group_result_desc, x);
    x->group_id = q->groups_names[i] ? q->groups_names[i] : "";
    x->error_code = !nr ? kafka_err((int)rep->error_code)
                        : (size_t)i < nr->n_results ? kafka_err((int)nr->results[i]->error_code)
                                                    : KERR_UNKNOWN_SERVER_ERROR;
  }
  return m;
}

const struct kafka_handler kafka_delete_groups_handler = {KAFKA_DELETE_GROUPS, 0, 2,
                                                          delete_groups_start,
                                                          delete_groups_answer};

/* ---- OffsetDelete ---- */

/* A group's committed offsets removed (tombstones in __consumer_offsets,
 * through the commit path with offset -1), for a group without members. */
static void offset_delete_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_offset_delete_req *q = k->req;
  size_t n = 0;
  for (int32_t i = 0; i < q->n_topics; i++)
    n += q->topics[i].n_partitions > 0 ? (size_t)q->topics[i].n_partitions : 0;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_OFFSET_COMMIT);
  Strata__OffsetCommitRequest *c = kc_alloc(k, sizeof *c);
  strata__offset_commit_request__init(c);
  c->group_id = (char *)(q->group_id ? q->group_id : "");
  c->member_id = (char *)"";
  c->member_epoch = -1;
  c->partitions = kc_alloc(k, (n + 1) * sizeof *c->partitions);
  for (int32_t i = 0; i < q->n_topics; i++)
    for (int32_t j = 0; j < q->topics[i].n_partitions; j++) {
      Strata__OffsetCommitPartition *cp = kc_alloc(k, sizeof *cp);
      strata__offset_commit_partition__init(cp);
      cp->topic = (char *)(q->topics[i].name ? q->topics[i].name : "");
      int32_t pi = q->topics[i].partitions[j].partition_index;
      cp->partition = pi < 0 ? UINT32_MAX : (uint32_t)pi;
      cp->offset = -1;
      cp->metadata = (char *)"";
      c->partitions[c->n_partitions++] = cp;
    }
  h->body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
  h->offset_commit_req = c;
  group_handlers_kafka_offset_delete(b, h, r);
}

static void *offset_delete_answer(struct broker *b, struct kafka_call *k,
                                  const struct response *r) {
  (void)b;
  const struct kafka_offset_delete_req *q = k->req;
  const Strata__Header *rep = kc_reply(r);
  const Strata__OffsetCommitResponse *nr =
      rep->body_case == STRATA__HEADER__BODY_OFFSET_COMMIT_RESP ? rep->offset_commit_resp : NULL;
  struct kafka_offset_delete_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_offset_delete_resp_desc, m);
  if (!nr) {
    int code = (int)rep->error_code;
    m->error_code = code == -STRATA_EUNKNOWN_GROUP ? KERR_GROUP_ID_NOT_FOUND : kafka_err(code);
    return m;
  }
  int32_t nt = q->n_topics > 0 ? q->n_topics : 0;
  m->topics = kc_alloc(k, ((size_t)nt + 1) * sizeof *m->topics);
  size_t at = 0;
  for (int32_t i = 0; i < nt; i++) {
    struct kafka_offset_delete_resp_offset_delete_response_topic *t = &m->topics[m->n_topics++];
    kafka_defaults(&kafka_offset_delete_resp_offset_delete_response_topic_desc, t);
    t->name = q->topics[i].name;
    int32_t np = q->topics[i].n_partitions > 0 ? q->topics[i].n_partitions : 0;
    t->partitions = kc_alloc(k, ((size_t)np + 1) * sizeof *t->partitions);
    for (int32_t j = 0; j < np; j++, at++) {
      struct kafka_offset_delete_resp_offset_delete_response_partition *p =
          &t->partitions[t->n_partitions++];
      kafka_defaults(&kafka_offset_delete_resp_offset_delete_response_partition_desc, p);
      p->partition_index = q->topics[i].partitions[j].partition_index;
      p->error_code = at < nr->n_partitions ? kafka_err((int)nr->partitions[at]->error_code)
                                            : KERR_UNKNOWN_SERVER_ERROR;
    }
  }
  return m;
}

const struct kafka_handler kafka_offset_delete_handler = {KAFKA_OFFSET_DELETE, 0, 0,
                                                          offset_delete_start,
                                                          offset_delete_answer};
