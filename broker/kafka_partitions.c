/* Kafka CreatePartitions (v0-3) as the native CreatePartitions: the
 * controller grows each topic to its new total count, placing the new
 * partitions itself. Explicit assignments are refused (INVALID_REPLICA_
 * ASSIGNMENT), as are duplicate names (INVALID_REQUEST, as Kafka does);
 * validate_only goes to the controller, which checks without changing. */
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "common/errors.h"

/* Per request topic: an error found here (msg non-NULL: not sent). */
struct parts_extra {
  int16_t *err;
  const char **msg;
};

static int named_before(const struct kafka_create_partitions_req *q, int32_t i) {
  for (int32_t j = 0; j < i; j++)
    if (!strcmp(q->topics[j].name, q->topics[i].name)) return 1;
  return 0;
}

static int named_again(const struct kafka_create_partitions_req *q, int32_t i) {
  for (int32_t j = 0; j < q->n_topics; j++)
    if (j != i && !strcmp(q->topics[j].name, q->topics[i].name)) return 1;
  return 0;
}

static void create_partitions_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_create_partitions_req *q = k->req;
  int32_t n = q->n_topics > 0 ? q->n_topics : 0;
  struct parts_extra *x = kc_alloc(k, sizeof *x);
  x->err = kc_alloc(k, ((size_t)n + 1) * sizeof *x->err);
  x->msg = kc_alloc(k, ((size_t)n + 1) * sizeof *x->msg);
  k->extra = x;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_CREATE_PARTITIONS);
  Strata__CreatePartitionsRequest *c = kc_alloc(k, sizeof *c);
  strata__create_partitions_request__init(c);
  c->timeout_ms = q->timeout_ms > 0 ? (uint32_t)q->timeout_ms : 0;
  c->validate_only = q->validate_only;
  c->topics = kc_alloc(k, ((size_t)n + 1) * sizeof *c->topics);
  for (int32_t i = 0; i < n; i++) {
    const struct kafka_create_partitions_req_create_partitions_topic *t = &q->topics[i];
    x->msg[i] = NULL;
    if (authz_topic(b, &k->who, t->name, ACL_OP_ALTER)) {
      x->err[i] = KERR_TOPIC_AUTHORIZATION_FAILED; /* whether it exists or not */
      x->msg[i] = "";
      continue;
    }
    if (named_again(q, i)) {
      x->err[i] = KERR_INVALID_REQUEST;
      x->msg[i] = "Duplicate topic in request.";
      continue;
    }
    if (t->n_assignments > 0) { /* null or empty: the controller places them */
      x->err[i] = KERR_INVALID_REPLICA_ASSIGNMENT;
      x->msg[i] = "explicit replica assignments are not supported by Strata; leave them out "
                  "and the controller places the new partitions";
      continue;
    }
    if (t->count <= 0) {
      x->err[i] = KERR_INVALID_PARTITIONS;
      x->msg[i] = "the partition count must be at least 1";
      continue;
    }
    Strata__PartitionsSpec *s = kc_alloc(k, sizeof *s);
    strata__partitions_spec__init(s);
    s->name = (char *)t->name;
    s->count = (uint32_t)t->count;
    c->topics[c->n_topics++] = s;
  }
  h->body_case = STRATA__HEADER__BODY_CREATE_PARTITIONS_REQ;
  h->create_partitions_req = c;
  if (c->n_topics) {
    dispatch_handle(b, &k->who, h, NULL, 0, r);
  } else {
    k->native = NULL; /* nothing to send: answered from extra alone */
  }
}

static void *create_partitions_answer(struct broker *b, struct kafka_call *k,
                                      const struct response *r) {
  (void)b;
  const struct kafka_create_partitions_req *q = k->req;
  const struct parts_extra *x = k->extra;
  const Strata__Header *rep = k->native ? kc_reply(r) : NULL;
  const Strata__CreatePartitionsResponse *nr =
      rep && rep->body_case == STRATA__HEADER__BODY_CREATE_PARTITIONS_RESP
          ? rep->create_partitions_resp
          : NULL;
  struct kafka_create_partitions_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_create_partitions_resp_desc, m);
  int32_t n = q->n_topics > 0 ? q->n_topics : 0;
  m->results = kc_alloc(k, ((size_t)n + 1) * sizeof *m->results);
  for (int32_t i = 0; i < n; i++) {
    if (x->msg[i] && x->err[i] == KERR_INVALID_REQUEST && named_before(q, i))
      continue; /* a duplicate name is answered once */
    struct kafka_create_partitions_resp_create_partitions_topic_result *t =
        &m->results[m->n_results++];
    kafka_defaults(&kafka_create_partitions_resp_create_partitions_topic_result_desc, t);
    t->name = q->topics[i].name;
    if (x->msg[i]) {
      t->error_code = x->err[i];
      t->error_message = x->msg[i];
      continue;
    }
    t->error_code = KERR_UNKNOWN_SERVER_ERROR;
    if (!nr) {
      t->error_code = kafka_err(rep ? (int)rep->error_code : STRATA_EUNKNOWN);
      if (rep && rep->error_message && *rep->error_message)
        t->error_message = kc_strdup(k, rep->error_message);
      continue;
    }
    for (size_t j = 0; j < nr->n_results; j++) {
      const Strata__PartitionsResult *res = nr->results[j];
      if (strcmp(res->name, t->name)) continue;
      t->error_code = kafka_err((int)res->error_code);
      if (res->error_code && res->error_message && *res->error_message)
        t->error_message = kc_strdup(k, res->error_message);
    }
  }
  return m;
}

const struct kafka_handler kafka_create_partitions_handler = {
    KAFKA_CREATE_PARTITIONS, 0, 3, create_partitions_start, create_partitions_answer};
