/* Classic Kafka consumer groups on the Kafka listener: JoinGroup (v0-9),
 * SyncGroup (v0-5), Heartbeat (v0-4), LeaveGroup (v0-5), ListGroups (v0-4)
 * and DescribeGroups (v0-5) over the coordinator's classic groups
 * (broker/classic_group.c, in broker/coordinator.c beside the native ones).
 * A JoinGroup or SyncGroup may be answered later (when the join phase ends,
 * when the leader's SyncGroup comes): the call is parked under a token, its
 * response held (r->held), and kafka_groups_drain answers it when the group
 * hands its answer out. A parked call whose connection closes is unlinked,
 * so a late answer for it finds nothing and is dropped. */
#include "broker/kafka_groups.h"

#include <stdint.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/classic_group.h"
#include "broker/coordinator.h"
#include "broker/group_handlers.h"
#include "broker/kafka_call.h"
#include "common/errors.h"

/* ---- parked calls ---- */

static void park(struct broker *b, struct kafka_call *k, struct response *r) {
  k->b = b;
  k->r = r;
  k->token = ++b->kafka_parked.next_token;
  k->parked = 1;
  k->pprev = NULL;
  k->pnext = b->kafka_parked.head;
  if (k->pnext) k->pnext->pprev = k;
  b->kafka_parked.head = k;
  r->held = 1;
}

void kafka_unpark(struct kafka_call *k) {
  if (!k->parked) return;
  struct broker *b = k->b;
  if (k->pprev) k->pprev->pnext = k->pnext;
  else b->kafka_parked.head = k->pnext;
  if (k->pnext) k->pnext->pprev = k->pprev;
  k->parked = 0;
}

static struct kafka_call *parked_call(struct broker *b, uint64_t token) {
  for (struct kafka_call *k = b->kafka_parked.head; k; k = k->pnext)
    if (k->token == token) return k;
  return NULL;
}

static void *token_of(const struct kafka_call *k) { return (void *)(uintptr_t)k->token; }

static struct kbytes bytes_copy(struct kafka_call *k, const uint8_t *p, size_t n) {
  struct kbytes out = {kc_alloc(k, n ? n : 1), (int32_t)n};
  if (n) memcpy(out.p, p, n);
  return out;
}

static const char *str_or_null(struct kafka_call *k, const char *s) {
  return s ? kc_strdup(k, s) : NULL;
}

/* The Kafka JoinGroup answer of a classic answer (copied: the group's
 * answers are freed once drained). */
static void *join_answer(struct kafka_call *k, const struct classic_answer *a) {
  struct kafka_join_group_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_join_group_resp_desc, m);
  m->error_code = classic_kafka_error(a->error);
  m->generation_id = a->generation;
  m->protocol_type = str_or_null(k, a->protocol_type);
  m->protocol_name = a->protocol_name ? kc_strdup(k, a->protocol_name) : (k->version < 7 ? "" : NULL);
  m->leader = kc_strdup(k, a->leader_id ? a->leader_id : "");
  m->member_id = kc_strdup(k, a->member_id ? a->member_id : "");
  m->skip_assignment = a->skip_assignment;
  m->members = kc_alloc(k, (a->nmembers + 1) * sizeof *m->members);
  for (size_t i = 0; i < a->nmembers; i++) {
    struct kafka_join_group_resp_join_group_response_member *x = &m->members[m->n_members++];
    kafka_defaults(&kafka_join_group_resp_join_group_response_member_desc, x);
    x->member_id = kc_strdup(k, a->members[i].member_id);
    x->group_instance_id = str_or_null(k, a->members[i].instance_id);
    x->metadata = bytes_copy(k, a->members[i].metadata, a->members[i].len);
  }
  return m;
}

static void *sync_answer(struct kafka_call *k, const struct classic_answer *a) {
  struct kafka_sync_group_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_sync_group_resp_desc, m);
  m->error_code = classic_kafka_error(a->error);
  m->protocol_type = str_or_null(k, a->protocol_type);
  m->protocol_name = str_or_null(k, a->protocol_name);
  m->assignment = bytes_copy(k, a->assignment, a->assignment_len);
  return m;
}

int kafka_groups_drain(struct broker *b) {
  group_handlers_persist_kinds(b); /* what the calls changed, before answering them */
  struct classic_out *out = &b->coord.classic_out;
  int n = 0;
  for (size_t i = 0; i < out->n; i++) {
    const struct classic_answer *a = &out->v[i];
    struct kafka_call *k = parked_call(b, (uint64_t)(uintptr_t)a->token);
    if (!k) continue; /* its connection closed meanwhile */
    k->resp = a->kind == CLASSIC_ANSWER_JOIN ? join_answer(k, a) : sync_answer(k, a);
    k->r->held = 0;
    kafka_unpark(k);
    n++;
  }
  classic_out_reset(out);
  b->kafka_parked.answered += (uint64_t)n;
  return n;
}

/* The classic group of a request, or NULL with the Kafka error. Join, Sync,
 * Heartbeat and Leave all need Read on the group, checked first so a
 * refusal says nothing of whether the group exists. */
static struct cgroup *classic_for(struct broker *b, struct kafka_call *k, const char *id,
                                  int create, int16_t *err) {
  if (authz_group(b, &k->who, id, ACL_OP_READ)) {
    *err = KERR_GROUP_AUTHORIZATION_FAILED;
    return NULL;
  }
  int rc = 0;
  struct cgroup *g = group_coordinator_for(b, id, create, &rc);
  if (g) g = coord_classic(&b->coord, id, create, &rc);
  if (!g) {
    *err = rc == STRATA_EUNKNOWN_GROUP ? KERR_UNKNOWN_MEMBER_ID : classic_kafka_error(rc);
    return NULL;
  }
  return g;
}

/* ---- JoinGroup ---- */

static void join_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_join_group_req *q = k->req;
  int16_t err = 0;
  int create = !q->member_id || !*q->member_id;
  struct cgroup *g = classic_for(b, k, q->group_id, create, &err);
  if (!g) {
    struct classic_answer a = {.error = 0, .generation = -1};
    struct kafka_join_group_resp *m = join_answer(k, &a);
    m->error_code = err;
    m->member_id = q->member_id ? q->member_id : "";
    k->resp = m;
    return;
  }
  int32_t np = q->n_protocols > 0 ? q->n_protocols : 0;
  struct classic_protocol *protos = kc_alloc(k, ((size_t)np + 1) * sizeof *protos);
  for (int32_t i = 0; i < np; i++) {
    protos[i].name = q->protocols[i].name ? q->protocols[i].name : "";
    protos[i].metadata = q->protocols[i].metadata.p;
    protos[i].len = q->protocols[i].metadata.len > 0 ? (size_t)q->protocols[i].metadata.len : 0;
  }
  struct classic_join_req jr = {
      .member_id = q->member_id ? q->member_id : "",
      .instance_id = q->group_instance_id,
      .client_id = k->h.client_id,
      .client_host = k->peer,
      .protocol_type = q->protocol_type ? q->protocol_type : "",
      .protocols = protos,
      .nprotocols = (size_t)np,
      .session_ms = q->session_timeout_ms,
      .rebalance_ms = k->version >= 1 ? q->rebalance_timeout_ms : 0,
      .require_known_member_id = k->version >= 4,
      .skip_assignment_ok = k->version >= 9,
  };
  park(b, k, r);
  int rc = classic_join(g->classic, b->now_ms, &jr, token_of(k), &b->coord.classic_out);
  if (rc) { /* refused before the group took it: answer here */
    kafka_unpark(k);
    r->held = 0;
    struct classic_answer a = {.error = rc, .generation = -1};
    k->resp = join_answer(k, &a);
  }
  kafka_groups_drain(b);
}

const struct kafka_handler kafka_join_group_handler = {KAFKA_JOIN_GROUP, 0, 9, join_start, NULL};

/* ---- SyncGroup ---- */

static void sync_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_sync_group_req *q = k->req;
  int16_t err = 0;
  struct cgroup *g = classic_for(b, k, q->group_id, 0, &err);
  if (!g) {
    struct classic_answer a = {0};
    struct kafka_sync_group_resp *m = sync_answer(k, &a);
    m->error_code = err;
    k->resp = m;
    return;
  }
  int32_t na = q->n_assignments > 0 ? q->n_assignments : 0;
  struct classic_assignment *as = kc_alloc(k, ((size_t)na + 1) * sizeof *as);
  for (int32_t i = 0; i < na; i++) {
    as[i].member_id = q->assignments[i].member_id ? q->assignments[i].member_id : "";
    as[i].data = q->assignments[i].assignment.p;
    as[i].len = q->assignments[i].assignment.len > 0 ? (size_t)q->assignments[i].assignment.len : 0;
  }
  struct classic_sync_req sr = {
      .member_id = q->member_id ? q->member_id : "",
      .instance_id = q->group_instance_id,
      .generation = q->generation_id,
      .protocol_type = k->version >= 5 ? q->protocol_type : NULL,
      .protocol_name = k->version >= 5 ? q->protocol_name : NULL,
      .assignments = as,
      .nassignments = (size_t)na,
  };
  park(b, k, r);
  int rc = classic_sync(g->classic, b->now_ms, &sr, token_of(k), &b->coord.classic_out);
  if (rc) {
    kafka_unpark(k);
    r->held = 0;
    struct classic_answer a = {.error = rc};
    k->resp = sync_answer(k, &a);
  }
  kafka_groups_drain(b);
}

const struct kafka_handler kafka_sync_group_handler = {KAFKA_SYNC_GROUP, 0, 5, sync_start, NULL};

/* ---- Heartbeat ---- */

static void heartbeat_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_heartbeat_req *q = k->req;
  struct kafka_heartbeat_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_heartbeat_resp_desc, m);
  k->resp = m;
  int16_t err = 0;
  struct cgroup *g = classic_for(b, k, q->group_id, 0, &err);
  if (!g) {
    m->error_code = err;
    return;
  }
  struct classic_heartbeat_req hr = {q->member_id ? q->member_id : "", q->group_instance_id,
                                     q->generation_id};
  m->error_code = classic_kafka_error(classic_heartbeat(g->classic, b->now_ms, &hr));
  group_handlers_persist_kinds(b);
}

const struct kafka_handler kafka_heartbeat_handler = {KAFKA_HEARTBEAT, 0, 4, heartbeat_start, NULL};

/* ---- LeaveGroup ---- */

static void leave_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_leave_group_req *q = k->req;
  struct kafka_leave_group_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_leave_group_resp_desc, m);
  k->resp = m;
  size_t n = k->version >= 3 ? (size_t)(q->n_members > 0 ? q->n_members : 0) : 1;
  struct classic_leave_member *lm = kc_alloc(k, (n + 1) * sizeof *lm);
  int *errs = kc_alloc(k, (n + 1) * sizeof *errs);
  for (size_t i = 0; i < n; i++) {
    lm[i].member_id = k->version >= 3 ? q->members[i].member_id : q->member_id;
    lm[i].instance_id = k->version >= 3 ? q->members[i].group_instance_id : NULL;
    if (!lm[i].member_id) lm[i].member_id = "";
  }
  int16_t err = 0;
  struct cgroup *g = classic_for(b, k, q->group_id, 0, &err);
  int rc = g ? classic_leave(g->classic, b->now_ms, lm, n, errs, &b->coord.classic_out) : 0;
  if (!g || rc) {
    m->error_code = g ? classic_kafka_error(rc) : err;
    return;
  }
  kafka_groups_drain(b);
  m->members = kc_alloc(k, (n + 1) * sizeof *m->members);
  for (size_t i = 0; i < n; i++) {
    if (k->version < 3) {
      m->error_code = classic_kafka_error(errs[i]);
      continue;
    }
    struct kafka_leave_group_resp_member_response *x = &m->members[m->n_members++];
    kafka_defaults(&kafka_leave_group_resp_member_response_desc, x);
    x->member_id = lm[i].member_id;
    x->group_instance_id = lm[i].instance_id;
    x->error_code = classic_kafka_error(errs[i]);
  }
}

const struct kafka_handler kafka_leave_group_handler = {KAFKA_LEAVE_GROUP, 0, 5, leave_start, NULL};

/* ---- ListGroups / DescribeGroups ---- */

static int type_wanted(const struct kafka_list_groups_req *q, const char *type) {
  if (q->n_types_filter <= 0) return 1;
  for (int32_t i = 0; i < q->n_types_filter; i++)
    if (q->types_filter[i] && !strcasecmp(q->types_filter[i], type)) return 1;
  return 0;
}

static int state_wanted(const struct kafka_list_groups_req *q, const char *state) {
  if (q->n_states_filter <= 0) return 1;
  for (int32_t i = 0; i < q->n_states_filter; i++)
    if (q->states_filter[i] && !strcasecmp(q->states_filter[i], state)) return 1;
  return 0;
}

static void list_groups_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_list_groups_req *q = k->req;
  struct kafka_list_groups_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_list_groups_resp_desc, m);
  k->resp = m;
  m->groups = kc_alloc(k, (b->coord.n + 1) * sizeof *m->groups);
  /* Describe on the cluster lists all; else the groups the caller may describe */
  int all = !authz_cluster(b, &k->who, ACL_OP_DESCRIBE);
  for (size_t i = 0; i < b->coord.n; i++) {
    const struct cgroup *g = b->coord.groups[i];
    if (!all && authz_group(b, &k->who, g->g.id, ACL_OP_DESCRIBE)) continue;
    const char *state = coord_state_name(g);
    if (!state_wanted(q, state) || !type_wanted(q, g->classic ? "classic" : "consumer")) continue;
    struct kafka_list_groups_resp_listed_group *x = &m->groups[m->n_groups++];
    kafka_defaults(&kafka_list_groups_resp_listed_group_desc, x);
    x->group_id = kc_strdup(k, g->g.id);
    x->protocol_type = kc_strdup(k, coord_protocol_type(g));
    x->group_state = state;
    x->group_type = g->classic ? "classic" : "consumer";
  }
}

const struct kafka_handler kafka_list_groups_handler = {KAFKA_LIST_GROUPS, 0, 5,
                                                        list_groups_start, NULL};

static void describe_one(struct broker *b, struct kafka_call *k, const char *id,
                         struct kafka_describe_groups_resp_described_group *x) {
  kafka_defaults(&kafka_describe_groups_resp_described_group_desc, x);
  x->group_id = id;
  x->group_state = "Dead";
  x->authorized_operations = INT32_MIN;
  if (authz_group(b, &k->who, id, ACL_OP_DESCRIBE)) {
    x->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
    return;
  }
  int rc = 0;
  struct cgroup *g = group_coordinator_for(b, id, 0, &rc);
  if (!g) {
    if (rc != STRATA_EUNKNOWN_GROUP) x->error_code = kafka_err(rc);
    return;
  }
  if (!g->classic) {
    x->group_state = coord_state_name(g);
    x->protocol_type = kc_strdup(k, coord_protocol_type(g));
    x->members = kc_alloc(k, (g->g.nmembers + 1) * sizeof *x->members);
    for (size_t i = 0; i < g->g.nmembers; i++) {
      struct kafka_describe_groups_resp_described_group_member *mm = &x->members[x->n_members++];
      kafka_defaults(&kafka_describe_groups_resp_described_group_member_desc, mm);
      mm->member_id = kc_strdup(k, g->g.members[i]->id);
    }
    return;
  }
  struct classic_desc d;
  if (classic_describe(g->classic, &d)) {
    x->error_code = KERR_UNKNOWN_SERVER_ERROR;
    return;
  }
  x->group_state = d.state;
  x->protocol_type = kc_strdup(k, d.protocol_type);
  x->protocol_data = kc_strdup(k, d.protocol);
  x->members = kc_alloc(k, (d.nmembers + 1) * sizeof *x->members);
  for (size_t i = 0; i < d.nmembers; i++) {
    const struct classic_member_desc *cm = &d.members[i];
    struct kafka_describe_groups_resp_described_group_member *mm = &x->members[x->n_members++];
    kafka_defaults(&kafka_describe_groups_resp_described_group_member_desc, mm);
    mm->member_id = kc_strdup(k, cm->member_id);
    mm->group_instance_id = str_or_null(k, cm->instance_id);
    mm->client_id = kc_strdup(k, cm->client_id ? cm->client_id : "");
    mm->client_host = kc_strdup(k, cm->client_host ? cm->client_host : "");
    mm->member_metadata = bytes_copy(k, cm->metadata, cm->metadata_len);
    mm->member_assignment = bytes_copy(k, cm->assignment, cm->assignment_len);
  }
  classic_describe_free(&d);
}

static void describe_groups_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_describe_groups_req *q = k->req;
  struct kafka_describe_groups_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_describe_groups_resp_desc, m);
  k->resp = m;
  int32_t n = q->n_groups > 0 ? q->n_groups : 0;
  m->groups = kc_alloc(k, ((size_t)n + 1) * sizeof *m->groups);
  for (int32_t i = 0; i < n; i++)
  {
    struct kafka_describe_groups_resp_described_group *x = &m->groups[m->n_groups++];
    describe_one(b, k, q->groups[i] ? q->groups[i] : "", x);
    if (q->include_authorized_operations && !x->error_code) /* v3+, KIP-430 */
      x->authorized_operations = authz_operations(b, &k->who, ACL_RES_GROUP, x->group_id);
  }
}

const struct kafka_handler kafka_describe_groups_handler = {KAFKA_DESCRIBE_GROUPS, 0, 6,
                                                            describe_groups_start, NULL};
