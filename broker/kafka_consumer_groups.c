/* Kafka ConsumerGroupHeartbeat (API 68, v0-1, KIP-848: the consumer
 * protocol, group.protocol=consumer) as the native group heartbeat, which
 * has the same shape: the member id (Kafka 4.x consumers make their own,
 * KIP-1082), its epoch (0 joins, -1 leaves, -2 leaves as a static member),
 * the subscription, the partitions it owns, and the assignment out. Topics
 * travel by id on Kafka's side and by name natively: translated here.
 * ConsumerGroupDescribe (API 69, v0-1) describes such a group. */
#include <string.h>

#include "broker/assignor.h"
#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/coordinator.h"
#include "broker/dispatch.h"
#include "broker/group_handlers.h"
#include "broker/kafka_call.h"
#include "common/errors.h"

#define KERR_FENCED_MEMBER_EPOCH 110
#define KIP848_SESSION_MS 45000 /* Kafka's group.consumer.session.timeout.ms default */

static void consumer_group_heartbeat_start(struct broker *b, struct kafka_call *k,
                                           struct response *r) {
  const struct kafka_consumer_group_heartbeat_req *q = k->req;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT);
  Strata__GroupHeartbeatRequest *g = kc_alloc(k, sizeof *g);
  strata__group_heartbeat_request__init(g);
  g->group_id = (char *)(q->group_id ? q->group_id : "");
  g->member_id = (char *)(q->member_id ? q->member_id : "");
  g->own_member_id = q->member_epoch == 0 && *g->member_id;
  g->instance_id = (char *)(q->instance_id ? q->instance_id : "");
  g->member_epoch = q->member_epoch;
  g->session_timeout_ms = KIP848_SESSION_MS;
  /* A leave carries an empty subscription; natively a subscription names
   * at least one topic, and a leave needs none. */
  if (q->n_subscribed_topic_names > 0 && q->member_epoch >= 0) {
    g->topics_set = 1;
    g->topics = (char **)q->subscribed_topic_names;
    g->n_topics = (size_t)q->n_subscribed_topic_names;
  }
  if (q->subscribed_topic_regex && *q->subscribed_topic_regex) /* RE2 there, POSIX ERE here */
    g->topic_pattern = (char *)q->subscribed_topic_regex;
  if (q->server_assignor) /* Kafka's "uniform" is the sticky spread; "range" is range */
    g->assignor = (char *)(!strcmp(q->server_assignor, "range") ? "range" : "sticky");
  if (q->n_topic_partitions >= 0) {
    g->owned_set = 1;
    g->owned = kc_alloc(k, ((size_t)q->n_topic_partitions + 1) * sizeof *g->owned);
    for (int32_t i = 0; i < q->n_topic_partitions; i++) {
      const struct kafka_consumer_group_heartbeat_req_topic_partitions *t = &q->topic_partitions[i];
      const struct topic *tp = topics_find_id(&b->topics, t->topic_id.b);
      if (!tp || t->n_partitions <= 0) continue; /* a deleted topic's: nothing to own */
      Strata__TopicPartitions *o = kc_alloc(k, sizeof *o);
      strata__topic_partitions__init(o);
      o->topic = kc_strdup(k, tp->name);
      o->partitions = kc_alloc(k, (size_t)t->n_partitions * sizeof *o->partitions);
      for (int32_t j = 0; j < t->n_partitions; j++)
        if (t->partitions[j] >= 0) o->partitions[o->n_partitions++] = (uint32_t)t->partitions[j];
      g->owned[g->n_owned++] = o;
    }
  }
  h->body_case = STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ;
  h->group_heartbeat_req = g;
  dispatch_handle(b, &k->who, h, NULL, 0, r);
}

static void *consumer_group_heartbeat_answer(struct broker *b, struct kafka_call *k,
                                             const struct response *r) {
  const struct kafka_consumer_group_heartbeat_req *q = k->req;
  const Strata__Header *rep = kc_reply(r);
  struct kafka_consumer_group_heartbeat_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_consumer_group_heartbeat_resp_desc, m);
  m->assignment = NULL;
  if (rep->body_case != STRATA__HEADER__BODY_GROUP_HEARTBEAT_RESP || rep->error_code) {
    int16_t e = rep->error_code ? kafka_err((int)rep->error_code) : KERR_UNKNOWN_SERVER_ERROR;
    /* A member of an older epoch: KIP-848 says fenced (it joins again
     * with epoch 0 under its id); ILLEGAL_GENERATION is the classic word. */
    m->error_code = e == KERR_ILLEGAL_GENERATION ? KERR_FENCED_MEMBER_EPOCH : e;
    if (rep->error_message && *rep->error_message) m->error_message = kc_strdup(k, rep->error_message);
    return m;
  }
  const Strata__GroupHeartbeatResponse *g = rep->group_heartbeat_resp;
  m->member_id = kc_strdup(k, g->member_id);
  m->member_epoch = g->member_epoch;
  m->heartbeat_interval_ms = g->heartbeat_interval_ms;
  if (q->member_epoch < 0) { /* left: Kafka answers the leave epoch, which completes the client's leave */
    m->member_id = q->member_id;
    m->member_epoch = q->member_epoch;
    return m;
  }
  m->assignment = kc_alloc(k, sizeof *m->assignment);
  kafka_defaults(&kafka_consumer_group_heartbeat_resp_assignment_desc, m->assignment);
  m->assignment->topic_partitions = kc_alloc(k, (g->n_assignment + 1) * sizeof *m->assignment->topic_partitions);
  m->assignment->n_topic_partitions = 0;
  for (size_t i = 0; i < g->n_assignment; i++) {
    const Strata__TopicPartitions *a = g->assignment[i];
    const struct topic *tp = topics_find(&b->topics, a->topic);
    if (!tp) continue; /* deleted meanwhile: no id to name it by */
    struct kafka_consumer_group_heartbeat_resp_topic_partitions *t =
        &m->assignment->topic_partitions[m->assignment->n_topic_partitions++];
    kafka_defaults(&kafka_consumer_group_heartbeat_resp_topic_partitions_desc, t);
    memcpy(t->topic_id.b, tp->id, sizeof t->topic_id.b);
    t->partitions = kc_alloc(k, (a->n_partitions + 1) * sizeof *t->partitions);
    t->n_partitions = (int32_t)a->n_partitions;
    for (size_t j = 0; j < a->n_partitions; j++) t->partitions[j] = (int32_t)a->partitions[j];
  }
  return m;
}

const struct kafka_handler kafka_consumer_group_heartbeat_handler = {
    KAFKA_CONSUMER_GROUP_HEARTBEAT, 0, 1, consumer_group_heartbeat_start,
    consumer_group_heartbeat_answer};

/* ---- ConsumerGroupDescribe (API 69) ---- */

typedef struct kafka_consumer_group_describe_resp_assignment cgd_assignment;

/* A member's partitions (group topic table indexes) by topic, with ids. */
static cgd_assignment *cgd_partitions(struct broker *b, struct kafka_call *k, const struct group *g,
                                      const struct tp *v, size_t n) {
  cgd_assignment *a = kc_alloc(k, sizeof *a);
  kafka_defaults(&kafka_consumer_group_describe_resp_assignment_desc, a);
  a->topic_partitions = kc_alloc(k, (g->ntopics + 1) * sizeof *a->topic_partitions);
  for (size_t t = 0; t < g->ntopics; t++) {
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) cnt += v[i].topic == t;
    if (!cnt) continue;
    struct kafka_consumer_group_describe_resp_topic_partitions *tp =
        &a->topic_partitions[a->n_topic_partitions++];
    kafka_defaults(&kafka_consumer_group_describe_resp_topic_partitions_desc, tp);
    tp->topic_name = g->topic_names[t];
    const struct topic *x = topics_find(&b->topics, g->topic_names[t]);
    if (x) memcpy(tp->topic_id.b, x->id, sizeof tp->topic_id.b);
    tp->partitions = kc_alloc(k, cnt * sizeof *tp->partitions);
    for (size_t i = 0; i < n; i++)
      if (v[i].topic == t) tp->partitions[tp->n_partitions++] = (int32_t)v[i].partition;
  }
  return a;
}

/* Answered here from the coordinator's own groups (Kafka's Admin sends it
 * to each group's coordinator): a native group as a consumer group; a
 * classic group or none is GROUP_ID_NOT_FOUND, as Kafka answers. */
static void consumer_group_describe_start(struct broker *b, struct kafka_call *k,
                                          struct response *r) {
  (void)r;
  const struct kafka_consumer_group_describe_req *q = k->req;
  struct kafka_consumer_group_describe_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_consumer_group_describe_resp_desc, m);
  k->resp = m;
  int32_t n = q->n_group_ids > 0 ? q->n_group_ids : 0;
  m->groups = kc_alloc(k, ((size_t)n + 1) * sizeof *m->groups);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_consumer_group_describe_resp_described_group *d = &m->groups[m->n_groups++];
    kafka_defaults(&kafka_consumer_group_describe_resp_described_group_desc, d);
    d->group_id = q->group_ids[i];
    d->group_state = "Dead";
    d->assignor_name = "uniform";
    if (authz_group(b, &k->who, q->group_ids[i], ACL_OP_DESCRIBE)) {
      d->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
      continue;
    }
    int rc = 0;
    struct cgroup *cg = group_coordinator_for(b, q->group_ids[i], 0, &rc);
    if (!cg || cg->classic) {
      d->error_code = !cg && rc != STRATA_EUNKNOWN_GROUP ? kafka_err(rc) : KERR_GROUP_ID_NOT_FOUND;
      if (cg) d->error_message = "a classic group, not a consumer group";
      continue;
    }
    const struct group *g = &cg->g;
    d->group_state = coord_state_name(cg);
    if (q->include_authorized_operations)
      d->authorized_operations = authz_operations(b, &k->who, ACL_RES_GROUP, q->group_ids[i]);
    d->group_epoch = g->epoch;
    d->assignment_epoch = g->target_epoch;
    d->assignor_name = g->kind == ASSIGNOR_RANGE ? "range" : "uniform";
    d->members = kc_alloc(k, (g->nmembers + 1) * sizeof *d->members);
    for (size_t j = 0; j < g->nmembers; j++) {
      const struct group_member *gm = g->members[j];
      struct kafka_consumer_group_describe_resp_member *x = &d->members[d->n_members++];
      kafka_defaults(&kafka_consumer_group_describe_resp_member_desc, x);
      x->member_id = gm->id;
      x->instance_id = gm->instance_id[0] ? gm->instance_id : NULL;
      x->member_epoch = gm->epoch;
      x->client_id = "";
      x->client_host = "";
      x->subscribed_topic_names = (const char **)gm->topics;
      x->n_subscribed_topic_names = gm->pattern ? 0 : (int32_t)gm->ntopics;
      x->subscribed_topic_regex = gm->pattern;
      x->assignment = cgd_partitions(b, k, g, gm->assigned, gm->nassigned);
      x->target_assignment = cgd_partitions(b, k, g, gm->target, gm->ntarget);
      x->member_type = 1; /* consumer protocol */
    }
  }
}

const struct kafka_handler kafka_consumer_group_describe_handler = {
    KAFKA_CONSUMER_GROUP_DESCRIBE, 0, 1, consumer_group_describe_start, NULL};
