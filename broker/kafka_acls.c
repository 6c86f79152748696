/* Kafka CreateAcls (v0-3), DeleteAcls (v0-3) and DescribeAcls (v0-3), so
 * kafka-acls and AdminClients manage Strata's ACLs. Creations and deletions
 * go to the controller as the native requests (it keeps the ACLs in its
 * metadata log); DescribeAcls is answered from this broker's image, which a
 * change relayed here waits for before it is answered. Codes are Kafka's
 * (common/acl.h); an UNKNOWN (0) or undefined code is INVALID_REQUEST, as
 * in Kafka. Who may call these is the authorizer's business. */
#include <string.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "broker/metadata.h"
#include "common/acl_filter.h"
#include "common/errors.h"

/* Kafka's codes for a filter: every field defined (ANY allowed). */
static int filter_codes_ok(int rt, int pt, int op, int perm) {
  return rt >= ACL_RES_ANY && rt <= ACL_RES_TRANSACTIONAL_ID && pt >= ACL_PAT_ANY &&
         pt <= ACL_PAT_PREFIXED && op >= ACL_OP_ANY && op <= ACL_OP_IDEMPOTENT_WRITE &&
         perm >= ACL_PERM_ANY && perm <= ACL_PERM_ALLOW;
}

static Strata__AclBinding *native_binding(struct kafka_call *k, int rt, const char *name, int pt,
                                          const char *principal, const char *host, int op,
                                          int perm) {
  Strata__AclBinding *m = kc_alloc(k, sizeof *m);
  strata__acl_binding__init(m);
  m->resource_type = (uint32_t)(rt > 0 ? rt : 0);
  m->pattern_type = (uint32_t)(pt > 0 ? pt : 0);
  m->operation = (uint32_t)(op > 0 ? op : 0);
  m->permission = (uint32_t)(perm > 0 ? perm : 0);
  m->resource_name = kc_strdup(k, name);
  m->principal = kc_strdup(k, principal);
  m->host = kc_strdup(k, host);
  return m;
}

/* The native answer's frame-level failure as a Kafka code (0: none). */
static int16_t frame_error(const Strata__Header *rep, Strata__Header__BodyCase want,
                           const char **msg) {
  *msg = NULL;
  if (!rep) return KERR_UNKNOWN_SERVER_ERROR;
  if (rep->body_case == want) return KERR_NONE;
  if (rep->error_message && *rep->error_message) *msg = rep->error_message;
  return rep->error_code ? kafka_err((int)rep->error_code) : KERR_UNKNOWN_SERVER_ERROR;
}

/* ---- CreateAcls ---- */

static void create_acls_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_create_acls_req *q = k->req;
  int32_t n = q->n_creations > 0 ? q->n_creations : 0;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_CREATE_ACLS);
  Strata__CreateAclsRequest *c = kc_alloc(k, sizeof *c);
  strata__create_acls_request__init(c);
  c->acls = kc_alloc(k, ((size_t)n + 1) * sizeof *c->acls);
  for (int32_t i = 0; i < n; i++) {
    const struct kafka_create_acls_req_acl_creation *a = &q->creations[i];
    c->acls[c->n_acls++] =
        native_binding(k, a->resource_type, a->resource_name, a->resource_pattern_type,
                       a->principal, a->host, a->operation, a->permission_type);
  }
  h->body_case = STRATA__HEADER__BODY_CREATE_ACLS_REQ;
  h->create_acls_req = c;
  if (c->n_acls)
    dispatch_handle(b, &k->who, h, NULL, 0, r);
  else
    k->native = NULL;
}

static void *create_acls_answer(struct broker *b, struct kafka_call *k, const struct response *r) {
  (void)b;
  const struct kafka_create_acls_req *q = k->req;
  int32_t n = q->n_creations > 0 ? q->n_creations : 0;
  const Strata__Header *rep = k->native ? kc_reply(r) : NULL;
  const char *msg = NULL;
  int16_t ferr = k->native ? frame_error(rep, STRATA__HEADER__BODY_CREATE_ACLS_RESP, &msg)
                           : KERR_NONE;
  const Strata__CreateAclsResponse *nr = k->native && !ferr ? rep->create_acls_resp : NULL;
  struct kafka_create_acls_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_create_acls_resp_desc, m);
  m->results = kc_alloc(k, ((size_t)n + 1) * sizeof *m->results);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_create_acls_resp_acl_creation_result *t = &m->results[m->n_results++];
    kafka_defaults(&kafka_create_acls_resp_acl_creation_result_desc, t);
    if (!nr || (size_t)i >= nr->n_results) {
      t->error_code = ferr ? ferr : KERR_UNKNOWN_SERVER_ERROR;
      t->error_message = msg ? kc_strdup(k, msg) : NULL;
      continue;
    }
    t->error_code = kafka_err((int)nr->results[i]->error_code);
    if (t->error_code && nr->results[i]->error_message && *nr->results[i]->error_message)
      t->error_message = kc_strdup(k, nr->results[i]->error_message);
  }
  return m;
}

const struct kafka_handler kafka_create_acls_handler = {KAFKA_CREATE_ACLS, 0, 3,
                                                        create_acls_start, create_acls_answer};

/* ---- DeleteAcls ---- */

/* Per filter: INVALID_REQUEST found here (not sent), or its index among
 * the native filters. */
struct delete_extra {
  int32_t *native_index; /* -1: refused here */
};

static void delete_acls_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_delete_acls_req *q = k->req;
  int32_t n = q->n_filters > 0 ? q->n_filters : 0;
  struct delete_extra *x = kc_alloc(k, sizeof *x);
  x->native_index = kc_alloc(k, ((size_t)n + 1) * sizeof *x->native_index);
  k->extra = x;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_DELETE_ACLS);
  Strata__DeleteAclsRequest *d = kc_alloc(k, sizeof *d);
  strata__delete_acls_request__init(d);
  d->filters = kc_alloc(k, ((size_t)n + 1) * sizeof *d->filters);
  for (int32_t i = 0; i < n; i++) {
    const struct kafka_delete_acls_req_delete_acls_filter *f = &q->filters[i];
    if (!filter_codes_ok(f->resource_type_filter, f->pattern_type_filter, f->operation,
                         f->permission_type)) {
      x->native_index[i] = -1;
      continue;
    }
    x->native_index[i] = (int32_t)d->n_filters;
    d->filters[d->n_filters++] = native_binding(
        k, f->resource_type_filter, f->resource_name_filter, f->pattern_type_filter,
        f->principal_filter, f->host_filter, f->operation, f->permission_type);
  }
  h->body_case = STRATA__HEADER__BODY_DELETE_ACLS_REQ;
  h->delete_acls_req = d;
  if (d->n_filters)
    dispatch_handle(b, &k->who, h, NULL, 0, r);
  else
    k->native = NULL;
}

static void *delete_acls_answer(struct broker *b, struct kafka_call *k, const struct response *r) {
  (void)b;
  const struct kafka_delete_acls_req *q = k->req;
  const struct delete_extra *x = k->extra;
  int32_t n = q->n_filters > 0 ? q->n_filters : 0;
  const Strata__Header *rep = k->native ? kc_reply(r) : NULL;
  const char *msg = NULL;
  int16_t ferr = k->native ? frame_error(rep, STRATA__HEADER__BODY_DELETE_ACLS_RESP, &msg)
                           : KERR_NONE;
  const Strata__DeleteAclsResponse *nr = k->native && !ferr ? rep->delete_acls_resp : NULL;
  struct kafka_delete_acls_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_delete_acls_resp_desc, m);
  m->filter_results = kc_alloc(k, ((size_t)n + 1) * sizeof *m->filter_results);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_delete_acls_resp_delete_acls_filter_result *t =
        &m->filter_results[m->n_filter_results++];
    kafka_defaults(&kafka_delete_acls_resp_delete_acls_filter_result_desc, t);
    t->n_matching_acls = 0;
    int32_t ni = x->native_index[i];
    if (ni < 0) {
      t->error_code = KERR_INVALID_REQUEST;
      t->error_message = "the filter has an unknown resource, pattern, operation or permission";
      continue;
    }
    if (!nr || (size_t)ni >= nr->n_results) {
      t->error_code = ferr ? ferr : KERR_UNKNOWN_SERVER_ERROR;
      t->error_message = msg ? kc_strdup(k, msg) : NULL;
      continue;
    }
    const Strata__DeleteAclsFilterResult *fr = nr->results[ni];
    t->error_code = kafka_err((int)fr->error_code);
    if (t->error_code && fr->error_message && *fr->error_message)
      t->error_message = kc_strdup(k, fr->error_message);
    t->matching_acls = kc_alloc(k, (fr->n_matched + 1) * sizeof *t->matching_acls);
    for (size_t j = 0; j < fr->n_matched; j++) {
      const Strata__AclBinding *a = fr->matched[j];
      struct kafka_delete_acls_resp_delete_acls_matching_acl *o =
          &t->matching_acls[t->n_matching_acls++];
      kafka_defaults(&kafka_delete_acls_resp_delete_acls_matching_acl_desc, o);
      o->resource_type = (int8_t)a->resource_type;
      o->resource_name = kc_strdup(k, a->resource_name);
      o->pattern_type = (int8_t)a->pattern_type;
      o->principal = kc_strdup(k, a->principal);
      o->host = kc_strdup(k, a->host);
      o->operation = (int8_t)a->operation;
      o->permission_type = (int8_t)a->permission;
    }
  }
  return m;
}

const struct kafka_handler kafka_delete_acls_handler = {KAFKA_DELETE_ACLS, 0, 3,
                                                        delete_acls_start, delete_acls_answer};

/* ---- DescribeAcls ---- */

/* Answered here, from the image's ACLs, grouped by resource pattern as
 * Kafka answers (one DescribeAclsResource per (type, name, pattern)). */
static void describe_acls_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_describe_acls_req *q = k->req;
  struct kafka_describe_acls_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_describe_acls_resp_desc, m);
  k->resp = m;
  m->n_resources = 0;
  if (!filter_codes_ok(q->resource_type_filter, q->pattern_type_filter, q->operation,
                       q->permission_type)) {
    m->error_code = KERR_INVALID_REQUEST;
    m->error_message = "the filter has an unknown resource, pattern, operation or permission";
    return;
  }
  struct acl_filter f = {(uint8_t)q->resource_type_filter, (uint8_t)q->pattern_type_filter,
                         (uint8_t)q->operation,           (uint8_t)q->permission_type,
                         q->resource_name_filter,         q->principal_filter,
                         q->host_filter};
  const struct acl_set *s = metadata_acls(b);
  /* Two passes: the group of each matching ACL, then the groups' arrays at
   * their exact sizes. */
  int32_t *group = kc_alloc(k, (s->n + 1) * sizeof *group);
  int32_t *count = kc_alloc(k, (s->n + 1) * sizeof *count);
  const struct acl_entry **first = kc_alloc(k, (s->n + 1) * sizeof *first);
  int32_t ngroups = 0;
  for (size_t i = 0; i < s->n; i++) {
    const struct acl_entry *e = &s->v[i];
    group[i] = -1;
    if (!acl_filter_matches(&f, e)) continue;
    int32_t g = 0;
    while (g < ngroups && !(first[g]->resource == e->resource && first[g]->pattern == e->pattern &&
                            !strcmp(first[g]->name, e->name)))
      g++;
    if (g == ngroups) {
      first[ngroups] = e;
      count[ngroups++] = 0;
    }
    group[i] = g;
    count[g]++;
  }
  m->resources = kc_alloc(k, ((size_t)ngroups + 1) * sizeof *m->resources);
  for (int32_t g = 0; g < ngroups; g++) {
    struct kafka_describe_acls_resp_describe_acls_resource *res = &m->resources[m->n_resources++];
    kafka_defaults(&kafka_describe_acls_resp_describe_acls_resource_desc, res);
    res->resource_type = (int8_t)first[g]->resource;
    res->resource_name = kc_strdup(k, first[g]->name);
    res->pattern_type = (int8_t)first[g]->pattern;
    res->n_acls = 0;
    res->acls = kc_alloc(k, ((size_t)count[g] + 1) * sizeof *res->acls);
  }
  for (size_t i = 0; i < s->n; i++) {
    if (group[i] < 0) continue;
    const struct acl_entry *e = &s->v[i];
    struct kafka_describe_acls_resp_describe_acls_resource *res = &m->resources[group[i]];
    struct kafka_describe_acls_resp_acl_description *d = &res->acls[res->n_acls++];
    kafka_defaults(&kafka_describe_acls_resp_acl_description_desc, d);
    d->principal = kc_strdup(k, e->principal);
    d->host = kc_strdup(k, e->host);
    d->operation = (int8_t)e->op;
    d->permission_type = (int8_t)e->perm;
  }
}

const struct kafka_handler kafka_describe_acls_handler = {KAFKA_DESCRIBE_ACLS, 0, 3,
                                                          describe_acls_start, NULL};
