/* Kafka Metadata (v0-12, answered here from the broker's metadata image, with
 * the brokers' Kafka addresses), CreateTopics (v0-4) and DeleteTopics
 * (v0-3) as the native ones (relayed to the controller), InitProducerId
 * (v0-1) and FindCoordinator (v0-2). Transactions are not served: a
 * transactional id gets INVALID_REQUEST saying so. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "broker/coordinator.h"
#include "broker/offsets_log.h"
#include "common/errors.h"
#include "common/topic_id.h"

static const char no_transactions[] = "transactions are not supported by Strata";

/* A broker's Kafka address, by id (this broker's own when standalone). */
static int kafka_addr_of(struct broker *b, struct kafka_call *k, int32_t id, const char **host,
                         int32_t *port) {
  if (!b->cluster) return id == b->cfg.id && kafka_split_addr(k, b->kafka_addr, host, port);
  const struct peer *pe = id >= 0 ? broker_peer(b, id) : NULL;
  return pe && !pe->fenced && kafka_split_addr(k, pe->kafka, host, port);
}

/* ---- Metadata ---- */

/* One topic's entry, the topic named by name or by id (id non-NULL: v12+
 * with a non-zero id, as Kafka's broker decides; the Java Admin sends the
 * name "" beside it); an unknown id is UNKNOWN_TOPIC_ID with the id echoed
 * and a null name. */
static void topic_entry(struct broker *b, struct kafka_call *k,
                        struct kafka_metadata_resp_metadata_response_topic *t, const char *name,
                        const struct kuuid *id) {
  kafka_defaults(&kafka_metadata_resp_metadata_response_topic_desc, t);
  t->topic_authorized_operations = INT32_MIN;
  struct topic *tp;
  if (id) {
    tp = topics_find_id(&b->topics, id->b);
    t->topic_id = *id;
    if (!tp) {
      t->name = NULL;
      t->error_code = KERR_UNKNOWN_TOPIC_ID;
      return;
    }
    name = tp->name;
  } else {
    tp = topics_find(&b->topics, name ? name : "");
  }
  t->name = kc_strdup(k, name ? name : "");
  if (authz_topic(b, &k->who, name ? name : "", ACL_OP_DESCRIBE)) {
    t->error_code = KERR_TOPIC_AUTHORIZATION_FAILED; /* whether it exists or not */
    if (id) t->name = NULL;
    return;
  }
  if (!tp) {
    t->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    return;
  }
  memcpy(t->topic_id.b, tp->id, sizeof t->topic_id.b);
  t->is_internal = !strcmp(name, OFFSETS_TOPIC);
  t->partitions = kc_alloc(k, tp->npart * sizeof *t->partitions);
  for (uint32_t i = 0; i < tp->npart; i++) {
    const struct partition *p = tp->parts[i];
    struct kafka_metadata_resp_metadata_response_partition *pm = &t->partitions[t->n_partitions++];
    kafka_defaults(&kafka_metadata_resp_metadata_response_partition_desc, pm);
    pm->partition_index = (int32_t)i;
    struct kafka_placement pl;
    kafka_placement_of(b, k, p, &pl);
    pm->leader_id = pl.leader;
    pm->leader_epoch = pl.leader_epoch;
    pm->replica_nodes = pl.replicas;
    pm->n_replica_nodes = pl.nreplicas;
    pm->isr_nodes = pl.isr;
    pm->n_isr_nodes = pl.nisr;
    pm->offline_replicas = pl.offline;
    pm->n_offline_replicas = pl.noffline;
    pm->error_code = pl.error;
  }
}

static void metadata_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_metadata_req *q = k->req;
  struct kafka_metadata_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_metadata_resp_desc, m);
  k->resp = m;
  size_t nb = b->cluster ? b->npeers : 1;
  m->brokers = kc_alloc(k, (nb + 1) * sizeof *m->brokers);
  for (size_t i = 0; i < nb; i++) {
    int32_t id = b->cluster ? b->peers[i].id : b->cfg.id;
    struct kafka_metadata_resp_metadata_response_broker *e = &m->brokers[m->n_brokers];
    kafka_defaults(&kafka_metadata_resp_metadata_response_broker_desc, e);
    if (!kafka_addr_of(b, k, id, &e->host, &e->port)) continue;
    e->node_id = id;
    if (b->cluster && b->peers[i].rack[0]) e->rack = kc_strdup(k, b->peers[i].rack);
    m->n_brokers++;
  }
  /* Kafka clients send admin requests to the controller id and wait while
   * it is -1: name a live broker (any relays them to the controller). */
  m->controller_id = -1;
  if (q->include_cluster_authorized_operations) /* v8-10 */
    m->cluster_authorized_operations = authz_operations(b, &k->who, ACL_RES_CLUSTER, NULL);
  for (int32_t i = 0; i < m->n_brokers; i++)
    if (m->controller_id < 0 || m->brokers[i].node_id < m->controller_id)
      m->controller_id = m->brokers[i].node_id;
  m->cluster_id = b->cluster_id[0] ? kc_strdup(k, b->cluster_id) : NULL;
  int all = q->n_topics < 0 || (k->version == 0 && q->n_topics == 0);
  size_t n = all ? b->topics.n : (size_t)q->n_topics;
  m->topics = kc_alloc(k, (n + 1) * sizeof *m->topics);
  for (size_t i = 0; i < n; i++) {
    const char *name = all ? b->topics.v[i]->name : q->topics[i].name;
    /* all topics: only those the caller may describe (Kafka filters them) */
    if (all && authz_topic(b, &k->who, name, ACL_OP_DESCRIBE)) continue;
    const struct kuuid *id = all || k->version < 12 ? NULL : &q->topics[i].topic_id;
    if (id && topic_id_is_zero(id->b)) id = NULL;
    struct kafka_metadata_resp_metadata_response_topic *t = &m->topics[m->n_topics++];
    topic_entry(b, k, t, name, id);
    if (q->include_topic_authorized_operations && !t->error_code) /* v8+, KIP-430 */
      t->topic_authorized_operations = authz_operations(b, &k->who, ACL_RES_TOPIC, t->name);
  }
}

const struct kafka_handler kafka_metadata_handler = {KAFKA_METADATA, 0, 13, metadata_start, NULL};

/* ---- CreateTopics ---- */

/* The request's topics that cannot go to the controller, with their error;
 * NULL message: sent. */
struct create_extra {
  int16_t *err;
  const char **msg;
};

static void create_topics_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_create_topics_req *q = k->req;
  int32_t n = q->n_topics > 0 ? q->n_topics : 0;
  struct create_extra *x = kc_alloc(k, sizeof *x);
  x->err = kc_alloc(k, ((size_t)n + 1) * sizeof *x->err);
  x->msg = kc_alloc(k, ((size_t)n + 1) * sizeof *x->msg);
  k->extra = x;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_CREATE_TOPICS);
  Strata__CreateTopicsRequest *c = kc_alloc(k, sizeof *c);
  strata__create_topics_request__init(c);
  c->timeout_ms = q->timeout_ms > 0 ? (uint32_t)q->timeout_ms : 0;
  c->topics = kc_alloc(k, ((size_t)n + 1) * sizeof *c->topics);
  for (int32_t i = 0; i < n; i++) {
    const struct kafka_create_topics_req_creatable_topic *t = &q->topics[i];
    if (authz_cluster(b, &k->who, ACL_OP_CREATE) &&
        authz_topic(b, &k->who, t->name, ACL_OP_CREATE)) {
      x->err[i] = KERR_TOPIC_AUTHORIZATION_FAILED; /* left out of the native request */
      x->msg[i] = "";
      continue;
    }
    if (t->n_assignments > 0) {
      x->err[i] = KERR_INVALID_REPLICA_ASSIGNMENT;
      x->msg[i] = "manual replica assignments are not supported; give a replication factor";
      continue;
    }
    if (q->validate_only) { /* what can be checked without creating */
      if (topics_find(&b->topics, t->name)) {
        x->err[i] = KERR_TOPIC_ALREADY_EXISTS;
        x->msg[i] = "topic already exists";
      } else {
        x->msg[i] = "";
      }
      continue;
    }
    Strata__TopicSpec *s = kc_alloc(k, sizeof *s);
    strata__topic_spec__init(s);
    s->name = (char *)t->name;
    s->partitions = t->num_partitions > 0 ? (uint32_t)t->num_partitions : 0;
    s->replication_factor = t->replication_factor > 0 ? (uint32_t)t->replication_factor : 0;
    if (t->num_partitions == 0 || t->replication_factor == 0 || t->num_partitions < -1 ||
        t->replication_factor < -1) {
      x->err[i] = t->num_partitions == 0 || t->num_partitions < -1
                      ? KERR_INVALID_PARTITIONS
                      : KERR_INVALID_REPLICATION_FACTOR;
      x->msg[i] = x->err[i] == KERR_INVALID_PARTITIONS ? "partitions must be at least 1"
                                                       : "replication factor must be at least 1";
      continue;
    }
    int32_t nc = t->n_configs > 0 ? t->n_configs : 0;
    s->configs = kc_alloc(k, ((size_t)nc + 1) * sizeof *s->configs);
    for (int32_t j = 0; j < nc; j++) {
      if (!t->configs[j].value) continue; /* null: the default */
      Strata__TopicSpec__ConfigsEntry *e = kc_alloc(k, sizeof *e);
      strata__topic_spec__configs_entry__init(e);
      e->key = (char *)t->configs[j].name;
      e->value = (char *)t->configs[j].value;
      s->configs[s->n_configs++] = e;
    }
    c->topics[c->n_topics++] = s;
  }
  h->body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
  h->create_topics_req = c;
  if (c->n_topics) {
    dispatch_handle(b, &k->who, h, NULL, 0, r);
  } else {
    k->native = NULL; /* nothing to create: answered from extra alone */
  }
}

static void *create_topics_answer(struct broker *b, struct kafka_call *k,
                                  const struct response *r) {
  const struct kafka_create_topics_req *q = k->req;
  const struct create_extra *x = k->extra;
  const Strata__Header *rep = k->native ? kc_reply(r) : NULL;
  const Strata__CreateTopicsResponse *nr =
      rep && rep->body_case == STRATA__HEADER__BODY_CREATE_TOPICS_RESP ? rep->create_topics_resp
                                                                       : NULL;
  struct kafka_create_topics_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_create_topics_resp_desc, m);
  int32_t n = q->n_topics > 0 ? q->n_topics : 0;
  m->topics = kc_alloc(k, ((size_t)n + 1) * sizeof *m->topics);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_create_topics_resp_creatable_topic_result *t = &m->topics[m->n_topics++];
    kafka_defaults(&kafka_create_topics_resp_creatable_topic_result_desc, t);
    t->name = q->topics[i].name;
    if (x->msg[i]) {
      t->error_code = x->err[i];
      if (*x->msg[i]) t->error_message = x->msg[i];
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
      const Strata__TopicResult *res = nr->results[j];
      if (strcmp(res->name, t->name)) continue;
      t->error_code = kafka_err((int)res->error_code);
      if (res->error_code && res->error_message && *res->error_message)
        t->error_message = kc_strdup(k, res->error_message);
      const struct topic *tp = res->error_code ? NULL : topics_find(&b->topics, t->name);
      if (tp) t->topic_id = kafka_topic_id(b, t->name); /* v7+ */
      if (tp && tp->npart) { /* v5+: what was made */
        t->num_partitions = (int32_t)tp->npart;
        t->replication_factor = b->cluster ? (int16_t)tp->parts[0]->rep.isr.nreplicas : 1;
      }
    }
  }
  return m;
}

const struct kafka_handler kafka_create_topics_handler = {KAFKA_CREATE_TOPICS, 0, 7,
                                                          create_topics_start,
                                                          create_topics_answer};

/* ---- DeleteTopics ---- */

/* The topics a DeleteTopics names: v0-5 a list of names, v6+ a list of
 * (name, topic id) whose name may be null. */
static int32_t delete_count(const struct kafka_call *k) {
  const struct kafka_delete_topics_req *q = k->req;
  int32_t n = k->version >= 6 ? q->n_topics : q->n_topic_names;
  return n > 0 ? n : 0;
}

/* Names and ids are resolved once at the start (k->extra), since after the
 * delete the topics are gone. */
struct delete_extra {
  const char **names; /* NULL: an id no topic here has */
  struct kuuid *ids;
  int16_t *err;       /* refused here (TOPIC_AUTHORIZATION_FAILED), not sent */
};

static void delete_topics_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_delete_topics_req *q = k->req;
  int32_t n = delete_count(k);
  struct delete_extra *x = kc_alloc(k, sizeof *x);
  const char **names = kc_alloc(k, ((size_t)n + 1) * sizeof *names);
  x->names = names;
  x->ids = kc_alloc(k, ((size_t)n + 1) * sizeof *x->ids);
  x->err = kc_alloc(k, ((size_t)n + 1) * sizeof *x->err);
  k->extra = x;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_DELETE_TOPICS);
  Strata__DeleteTopicsRequest *d = kc_alloc(k, sizeof *d);
  strata__delete_topics_request__init(d);
  d->timeout_ms = q->timeout_ms > 0 ? (uint32_t)q->timeout_ms : 0;
  d->names = kc_alloc(k, ((size_t)n + 1) * sizeof *d->names);
  for (int32_t i = 0; i < n; i++) {
    if (k->version < 6) {
      names[i] = q->topic_names[i];
    } else if (q->topics[i].name) {
      names[i] = q->topics[i].name;
    } else {
      const char *name = kafka_topic_by_id(b, &q->topics[i].topic_id);
      names[i] = name ? kc_strdup(k, name) : NULL;
    }
    if (names[i] && authz_topic(b, &k->who, names[i], ACL_OP_DELETE)) {
      x->err[i] = KERR_TOPIC_AUTHORIZATION_FAILED;
    } else if (names[i]) {
      x->ids[i] = kafka_topic_id(b, names[i]);
      d->names[d->n_names++] = (char *)names[i];
    }
  }
  h->body_case = STRATA__HEADER__BODY_DELETE_TOPICS_REQ;
  h->delete_topics_req = d;
  if (d->n_names) {
    dispatch_handle(b, &k->who, h, NULL, 0, r);
  } else {
    k->native = NULL; /* only unknown ids: answered without the controller */
  }
}

static void *delete_topics_answer(struct broker *b, struct kafka_call *k,
                                  const struct response *r) {
  (void)b;
  const struct kafka_delete_topics_req *q = k->req;
  const struct delete_extra *x = k->extra;
  const char *const *names = x->names;
  const Strata__Header *rep = k->native ? kc_reply(r) : NULL;
  const Strata__DeleteTopicsResponse *nr =
      rep && rep->body_case == STRATA__HEADER__BODY_DELETE_TOPICS_RESP ? rep->delete_topics_resp
                                                                       : NULL;
  struct kafka_delete_topics_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_delete_topics_resp_desc, m);
  int32_t n = delete_count(k);
  m->responses = kc_alloc(k, ((size_t)n + 1) * sizeof *m->responses);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_delete_topics_resp_deletable_topic_result *t = &m->responses[m->n_responses++];
    kafka_defaults(&kafka_delete_topics_resp_deletable_topic_result_desc, t);
    t->name = names[i];
    if (!t->name) {
      t->topic_id = q->topics[i].topic_id;
      t->error_code = KERR_UNKNOWN_TOPIC_ID;
      continue;
    }
    if (x->err[i]) {
      t->error_code = x->err[i];
      continue;
    }
    t->topic_id = x->ids[i]; /* v6+ */
    t->error_code = nr ? KERR_UNKNOWN_SERVER_ERROR
                       : kafka_err(rep ? (int)rep->error_code : STRATA_EUNKNOWN);
    for (size_t j = 0; nr && j < nr->n_results; j++)
      if (!strcmp(nr->results[j]->name, t->name))
        t->error_code = kafka_err((int)nr->results[j]->error_code);
  }
  return m;
}

const struct kafka_handler kafka_delete_topics_handler = {KAFKA_DELETE_TOPICS, 0, 6,
                                                          delete_topics_start,
                                                          delete_topics_answer};

/* ---- InitProducerId ---- */

static void init_producer_id_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_init_producer_id_req *q = k->req;
  if (q->transactional_id) {
    struct kafka_init_producer_id_resp *m = kafka_error_answer(k, KERR_INVALID_REQUEST);
    m->producer_id = -1;
    m->producer_epoch = -1;
    k->resp = m;
    return;
  }
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_INIT_PRODUCER_ID);
  Strata__InitProducerIdRequest *i = kc_alloc(k, sizeof *i);
  strata__init_producer_id_request__init(i);
  h->body_case = STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ;
  h->init_producer_id_req = i;
  dispatch_handle(b, &k->who, h, NULL, 0, r);
}

static void *init_producer_id_answer(struct broker *b, struct kafka_call *k,
                                     const struct response *r) {
  (void)b;
  const Strata__Header *rep = kc_reply(r);
  struct kafka_init_producer_id_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_init_producer_id_resp_desc, m);
  m->producer_id = -1;
  m->producer_epoch = -1;
  if (rep->body_case != STRATA__HEADER__BODY_INIT_PRODUCER_ID_RESP || rep->error_code) {
    m->error_code = rep->error_code ? kafka_err((int)rep->error_code) : KERR_UNKNOWN_SERVER_ERROR;
    return m;
  }
  m->producer_id = rep->init_producer_id_resp->producer_id;
  m->producer_epoch = (int16_t)rep->init_producer_id_resp->producer_epoch;
  return m;
}

const struct kafka_handler kafka_init_producer_id_handler = {KAFKA_INIT_PRODUCER_ID, 0, 5,
                                                             init_producer_id_start,
                                                             init_producer_id_answer};

/* ---- FindCoordinator ---- */

/* v4+ (KIP-699) asks for several keys at once, answered per key. Each is
 * looked up here as handle_find_coordinator does natively: the leader of
 * the group's __consumer_offsets partition, at its Kafka address. */
static struct kafka_find_coordinator_resp *find_coordinators(struct broker *b,
                                                            struct kafka_call *k) {
  const struct kafka_find_coordinator_req *q = k->req;
  struct kafka_find_coordinator_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_find_coordinator_resp_desc, m);
  int32_t n = q->n_coordinator_keys > 0 ? q->n_coordinator_keys : 0;
  m->coordinators = kc_alloc(k, ((size_t)n + 1) * sizeof *m->coordinators);
  struct topic *t = offsets_log_topic(b);
  for (int32_t i = 0; i < n; i++) {
    struct kafka_find_coordinator_resp_coordinator *c = &m->coordinators[m->n_coordinators++];
    kafka_defaults(&kafka_find_coordinator_resp_coordinator_desc, c);
    const char *key = q->coordinator_keys[i] ? q->coordinator_keys[i] : "";
    c->key = key;
    c->node_id = -1;
    c->port = -1;
    if (q->key_type != 0) {
      c->error_code = KERR_INVALID_REQUEST;
      c->error_message = no_transactions;
    } else if (authz_group(b, &k->who, key, ACL_OP_DESCRIBE)) {
      c->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
    } else if (!*key || strlen(key) > GROUP_ID_MAX) {
      c->error_code = KERR_INVALID_REQUEST;
      c->error_message = "a group id of 1 to 255 characters";
    } else if (!t || !t->npart) {
      c->error_code = KERR_COORDINATOR_NOT_AVAILABLE;
      c->error_message = OFFSETS_TOPIC " is being created";
    } else {
      int32_t id = b->cluster ? t->parts[coord_home(key, t->npart)]->rep.leader : b->cfg.id;
      if (id >= 0 && kafka_addr_of(b, k, id, &c->host, &c->port)) {
        c->node_id = id;
      } else {
        c->port = -1;
        c->error_code = KERR_COORDINATOR_NOT_AVAILABLE;
        c->error_message = "the coordinator has no Kafka listener known here yet";
      }
    }
  }
  return m;
}

static void find_coordinator_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_find_coordinator_req *q = k->req;
  if (k->version >= 4) {
    k->resp = find_coordinators(b, k);
    return;
  }
  if (q->key_type != 0) {
    struct kafka_find_coordinator_resp *m = kafka_error_answer(k, KERR_INVALID_REQUEST);
    m->error_message = no_transactions;
    m->node_id = -1;
    k->resp = m;
    return;
  }
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_FIND_COORDINATOR);
  Strata__FindCoordinatorRequest *f = kc_alloc(k, sizeof *f);
  strata__find_coordinator_request__init(f);
  f->group_id = (char *)(q->key ? q->key : "");
  h->body_case = STRATA__HEADER__BODY_FIND_COORDINATOR_REQ;
  h->find_coordinator_req = f;
  dispatch_handle(b, &k->who, h, NULL, 0, r);
}

static void *find_coordinator_answer(struct broker *b, struct kafka_call *k,
                                     const struct response *r) {
  const Strata__Header *rep = kc_reply(r);
  struct kafka_find_coordinator_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_find_coordinator_resp_desc, m);
  m->node_id = -1;
  m->port = -1;
  if (rep->body_case != STRATA__HEADER__BODY_FIND_COORDINATOR_RESP || rep->error_code) {
    m->error_code = rep->error_code ? kafka_err((int)rep->error_code) : KERR_UNKNOWN_SERVER_ERROR;
    if (rep->error_message && *rep->error_message) m->error_message = kc_strdup(k, rep->error_message);
    return m;
  }
  int32_t id = rep->find_coordinator_resp->node_id;
  if (!kafka_addr_of(b, k, id, &m->host, &m->port)) {
    m->error_code = KERR_COORDINATOR_NOT_AVAILABLE;
    m->error_message = "the coordinator has no Kafka listener known here yet";
    return m;
  }
  m->node_id = id;
  return m;
}

const struct kafka_handler kafka_find_coordinator_handler = {KAFKA_FIND_COORDINATOR, 0, 6,
                                                             find_coordinator_start,
                                                             find_coordinator_answer};

/* ---- DescribeCluster ---- */

/* The Admin client's first call (Kafka 3.x/4.x), the same brokers and
 * controller id as Metadata; v2's fenced brokers are listed when asked. */
static void describe_cluster_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_describe_cluster_req *q = k->req;
  struct kafka_describe_cluster_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_describe_cluster_resp_desc, m);
  k->resp = m;
  if (q->endpoint_type == 2) { /* controllers: not reachable by Kafka clients here */
    m->error_code = KERR_INVALID_REQUEST;
    m->error_message = "Strata's controllers do not speak Kafka's protocol: use the brokers";
    return;
  }
  if (q->include_cluster_authorized_operations)
    m->cluster_authorized_operations = authz_operations(b, &k->who, ACL_RES_CLUSTER, NULL);
  m->cluster_id = kc_strdup(k, b->cluster_id);
  size_t nb = b->cluster ? b->npeers : 1;
  m->brokers = kc_alloc(k, (nb + 1) * sizeof *m->brokers);
  for (size_t i = 0; i < nb; i++) {
    struct kafka_describe_cluster_resp_describe_cluster_broker *e = &m->brokers[m->n_brokers];
    kafka_defaults(&kafka_describe_cluster_resp_describe_cluster_broker_desc, e);
    int32_t id = b->cluster ? b->peers[i].id : b->cfg.id;
    const char *addr = b->cluster ? b->peers[i].kafka : b->kafka_addr;
    int fenced = b->cluster && b->peers[i].fenced;
    if (fenced && !q->include_fenced_brokers) continue;
    if (!kafka_split_addr(k, addr, &e->host, &e->port)) continue;
    e->broker_id = id;
    e->is_fenced = fenced;
    if (b->cluster && b->peers[i].rack[0]) e->rack = kc_strdup(k, b->peers[i].rack);
    m->n_brokers++;
  }
  for (int32_t i = 0; i < m->n_brokers; i++)
    if (!m->brokers[i].is_fenced && (m->controller_id < 0 || m->brokers[i].broker_id < m->controller_id))
      m->controller_id = m->brokers[i].broker_id;
}

const struct kafka_handler kafka_describe_cluster_handler = {KAFKA_DESCRIBE_CLUSTER, 0, 2,
                                                             describe_cluster_start, NULL};
