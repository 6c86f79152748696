/* The broker's request authorization (authz.h): Kafka's per-API permission
 * table over common/acl.c's decision. */
#include "broker/authz.h"

#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/metadata.h"
#include "common/errors.h"
#include "common/trace.h"

static const char *who_name(const struct principal *who) {
  return who ? who->name : PRINCIPAL_ANONYMOUS;
}

void authz_forget(struct broker *b) { b->authz_memo.valid = 0; }

int authz_allowed(struct broker *b, const struct principal *who, enum acl_resource res,
                  const char *name, enum acl_op op) {
  if (!b->authz.enabled) return 1;
  if (!name) name = "";
  struct authz_memo *m = &b->authz_memo;
  if (m->valid && m->who == who && m->res == (int)res && m->op == (int)op &&
      m->image_version == b->image_version && strcmp(m->name, name) == 0)
    return m->allowed;
  const struct acl_entry *rule = NULL;
  int ok = acl_authorize(&b->authz, metadata_acls(b), who, res, name, op, &rule);
  m->valid = strlen(name) < sizeof m->name; /* a longer name is decided each time */
  if (m->valid) {
    m->who = who;
    m->res = (int)res;
    m->op = (int)op;
    m->allowed = ok;
    m->image_version = b->image_version;
    memcpy(m->name, name, strlen(name) + 1);
  }
  if (!ok)
    trace_debug("authorizer: %s from %s may not %s %s %s (%s)", who_name(who),
                who && *who->host ? who->host : "?", acl_op_name(op), acl_resource_name(res),
                name ? name : "", rule ? "denied by an ACL" : "no ACL allows it");
  return ok;
}

int authz_topic(struct broker *b, const struct principal *who, const char *topic,
                enum acl_op op) {
  return authz_allowed(b, who, ACL_RES_TOPIC, topic ? topic : "", op)
             ? 0
             : STRATA_ETOPIC_AUTHORIZATION_FAILED;
}

int authz_group(struct broker *b, const struct principal *who, const char *group,
                enum acl_op op) {
  return authz_allowed(b, who, ACL_RES_GROUP, group ? group : "", op)
             ? 0
             : STRATA_EGROUP_AUTHORIZATION_FAILED;
}

int authz_cluster(struct broker *b, const struct principal *who, enum acl_op op) {
  return authz_allowed(b, who, ACL_RES_CLUSTER, ACL_CLUSTER_NAME, op)
             ? 0
             : STRATA_ECLUSTER_AUTHORIZATION_FAILED;
}

int authz_idempotent_producer(struct broker *b, const struct principal *who) {
  if (!b->authz.enabled) return 0;
  if (acl_authorize_any(&b->authz, metadata_acls(b), who, ACL_RES_TOPIC, ACL_OP_WRITE)) return 0;
  return authz_cluster(b, who, ACL_OP_IDEMPOTENT_WRITE);
}

int32_t authz_operations(struct broker *b, const struct principal *who, enum acl_resource res,
                         const char *name) {
  static const uint8_t topic[] = {ACL_OP_READ,     ACL_OP_WRITE,
                                  ACL_OP_CREATE,   ACL_OP_DELETE,
                                  ACL_OP_ALTER,    ACL_OP_DESCRIBE,
                                  ACL_OP_DESCRIBE_CONFIGS, ACL_OP_ALTER_CONFIGS};
  static const uint8_t group[] = {ACL_OP_READ, ACL_OP_DESCRIBE, ACL_OP_DELETE};
  static const uint8_t cluster[] = {ACL_OP_CREATE,          ACL_OP_CLUSTER_ACTION,
                                    ACL_OP_DESCRIBE_CONFIGS, ACL_OP_ALTER_CONFIGS,
                                    ACL_OP_IDEMPOTENT_WRITE, ACL_OP_ALTER,
                                    ACL_OP_DESCRIBE};
  const uint8_t *ops = res == ACL_RES_TOPIC ? topic : res == ACL_RES_GROUP ? group : cluster;
  size_t n = res == ACL_RES_TOPIC   ? sizeof topic
             : res == ACL_RES_GROUP ? sizeof group
                                    : sizeof cluster;
  if (res == ACL_RES_CLUSTER) name = ACL_CLUSTER_NAME;
  int32_t bits = 0;
  for (size_t i = 0; i < n; i++)
    if (authz_allowed(b, who, res, name, (enum acl_op)ops[i])) bits |= (int32_t)1 << ops[i];
  return bits;
}

/* ---- admin requests the controller answers --------------------------------- */

/* CreateTopics, DeleteTopics, CreatePartitions: one permission per topic.
 * All allowed: the handler runs (and may forward to the controller, which
 * trusts a broker's ClusterAction). Otherwise the broker answers alone: a
 * refused topic gets TOPIC_AUTHORIZATION_FAILED, and the allowed ones of the
 * same request INVALID_REQUEST ("not attempted"), since a forwarded request
 * goes to the controller whole. The Kafka translators take refused topics
 * out before dispatching, so Kafka clients get per-topic answers. */
struct topics_ask {
  size_t n;
  const char *(*name)(const Strata__Header *req, size_t i);
};

static const char *create_name(const Strata__Header *q, size_t i) {
  return q->create_topics_req->topics[i]->name;
}
static const char *delete_name(const Strata__Header *q, size_t i) {
  return q->delete_topics_req->names[i];
}
static const char *grow_name(const Strata__Header *q, size_t i) {
  return q->create_partitions_req->topics[i]->name;
}

static int topic_allowed(struct broker *b, const struct principal *who, uint32_t api,
                         const char *name) {
  switch (api) {
  case STRATA__API_KEY__API_CREATE_TOPICS:
    return authz_allowed(b, who, ACL_RES_CLUSTER, ACL_CLUSTER_NAME, ACL_OP_CREATE) ||
           authz_allowed(b, who, ACL_RES_TOPIC, name, ACL_OP_CREATE);
  case STRATA__API_KEY__API_DELETE_TOPICS:
    return authz_allowed(b, who, ACL_RES_TOPIC, name, ACL_OP_DELETE);
  default: /* CreatePartitions */
    return authz_allowed(b, who, ACL_RES_TOPIC, name, ACL_OP_ALTER);
  }
}

static Strata__TopicResult *refusal(struct response *r, const char *name, int err,
                                    const char *msg) {
  Strata__TopicResult *t = resp_alloc(r, sizeof *t);
  strata__topic_result__init(t);
  t->name = resp_strdup(r, name);
  t->error_code = (uint32_t)-err;
  t->error_message = resp_strdup(r, msg);
  return t;
}

static int topic_admin(struct broker *b, const struct principal *who, const Strata__Header *req,
                       struct response *r) {
  struct topics_ask a;
  switch (req->api_key) {
  case STRATA__API_KEY__API_CREATE_TOPICS:
    a = (struct topics_ask){req->create_topics_req->n_topics, create_name};
    break;
  case STRATA__API_KEY__API_DELETE_TOPICS:
    a = (struct topics_ask){req->delete_topics_req->n_names, delete_name};
    break;
  default:
    a = (struct topics_ask){req->create_partitions_req->n_topics, grow_name};
    break;
  }
  size_t denied = 0;
  for (size_t i = 0; i < a.n; i++) denied += !topic_allowed(b, who, req->api_key, a.name(req, i));
  if (!denied) return 0;
  const char *no = "not authorized to access the topic";
  const char *skipped = "not attempted: the request names a topic this principal may not change";
  if (req->api_key == STRATA__API_KEY__API_CREATE_PARTITIONS) {
    Strata__CreatePartitionsResponse *m = resp_alloc(r, sizeof *m);
    strata__create_partitions_response__init(m);
    m->results = resp_alloc(r, (a.n + 1) * sizeof *m->results);
    for (size_t i = 0; i < a.n; i++) {
      const char *name = a.name(req, i);
      int ok = topic_allowed(b, who, req->api_key, name);
      Strata__PartitionsResult *pr = resp_alloc(r, sizeof *pr);
      strata__partitions_result__init(pr);
      pr->name = resp_strdup(r, name);
      pr->error_code =
          (uint32_t)-(ok ? STRATA_EINVALID_REQUEST : STRATA_ETOPIC_AUTHORIZATION_FAILED);
      pr->error_message = resp_strdup(r, ok ? skipped : no);
      m->results[m->n_results++] = pr;
    }
    resp_begin(r, req, STRATA__HEADER__BODY_CREATE_PARTITIONS_RESP);
    r->hdr.create_partitions_resp = m;
    return 1;
  }
  Strata__TopicResult **v = resp_alloc(r, (a.n + 1) * sizeof *v);
  for (size_t i = 0; i < a.n; i++) {
    const char *name = a.name(req, i);
    int ok = topic_allowed(b, who, req->api_key, name);
    v[i] = refusal(r, name, ok ? STRATA_EINVALID_REQUEST : STRATA_ETOPIC_AUTHORIZATION_FAILED,
                   ok ? skipped : no);
  }
  if (req->api_key == STRATA__API_KEY__API_CREATE_TOPICS) {
    Strata__CreateTopicsResponse *m = resp_alloc(r, sizeof *m);
    strata__create_topics_response__init(m);
    m->results = v;
    m->n_results = a.n;
    resp_begin(r, req, STRATA__HEADER__BODY_CREATE_TOPICS_RESP);
    r->hdr.create_topics_resp = m;
  } else {
    Strata__DeleteTopicsResponse *m = resp_alloc(r, sizeof *m);
    strata__delete_topics_response__init(m);
    m->results = v;
    m->n_results = a.n;
    resp_begin(r, req, STRATA__HEADER__BODY_DELETE_TOPICS_RESP);
    r->hdr.delete_topics_resp = m;
  }
  return 1;
}

/* ---- the table ------------------------------------------------------------ */

static int refuse(struct response *r, const Strata__Header *req, int err,
                  const struct principal *who, const char *what) {
  char msg[PRINCIPAL_MAX + 128];
  snprintf(msg, sizeof msg, "%s may not %s", who_name(who), what);
  response_error(r, req, err, msg);
  return 1;
}

int authz_request(struct broker *b, const struct principal *who, const Strata__Header *req,
                  struct response *r) {
  if (!b->authz.enabled) return 0;
  int rc = 0;
  switch (req->api_key) {
  /* per topic, in the handlers (produce: Write; fetch: Read; list offsets
   * and metadata: Describe), or nothing to protect */
  case STRATA__API_KEY__API_PRODUCE:
  case STRATA__API_KEY__API_LIST_OFFSETS:
  case STRATA__API_KEY__API_METADATA:
  case STRATA__API_KEY__API_API_VERSIONS:
  case STRATA__API_KEY__API_SASL_HANDSHAKE: /* authentication comes before authorization */
  case STRATA__API_KEY__API_SASL_AUTHENTICATE:
  case STRATA__API_KEY__API_LIST_GROUPS:   /* filtered by Describe */
  case STRATA__API_KEY__API_DELETE_GROUPS: /* Delete, per group */
    return 0;
  case STRATA__API_KEY__API_FETCH:
    /* A follower's fetch moves the ISR and the high watermark: brokers only
     * (CVE-2018-1288). */
    if (req->fetch_req->replica_id >= 0 &&
        (rc = authz_cluster(b, who, ACL_OP_CLUSTER_ACTION)))
      return refuse(r, req, rc, who, "fetch as a replica (ClusterAction on the cluster)");
    return 0;
  case STRATA__API_KEY__API_CREATE_TOPICS:
  case STRATA__API_KEY__API_DELETE_TOPICS:
  case STRATA__API_KEY__API_CREATE_PARTITIONS:
    return topic_admin(b, who, req, r);
  case STRATA__API_KEY__API_ELECT_LEADERS:
    if ((rc = authz_cluster(b, who, ACL_OP_ALTER)))
      return refuse(r, req, rc, who, "elect leaders (Alter on the cluster)");
    return 0;
  case STRATA__API_KEY__API_INIT_PRODUCER_ID:
    if ((rc = authz_idempotent_producer(b, who)))
      return refuse(r, req, rc, who,
                    "get a producer id (Write on a topic or IdempotentWrite on the cluster)");
    return 0;
  case STRATA__API_KEY__API_FIND_COORDINATOR:
    if ((rc = authz_group(b, who, req->find_coordinator_req->group_id, ACL_OP_DESCRIBE)))
      return refuse(r, req, rc, who, "describe the group");
    return 0;
  case STRATA__API_KEY__API_DESCRIBE_GROUP:
    if ((rc = authz_group(b, who, req->describe_group_req->group_id, ACL_OP_DESCRIBE)))
      return refuse(r, req, rc, who, "describe the group");
    return 0;
  case STRATA__API_KEY__API_OFFSET_FETCH: /* and Describe per topic, in the handler */
    if ((rc = authz_group(b, who, req->offset_fetch_req->group_id, ACL_OP_DESCRIBE)))
      return refuse(r, req, rc, who, "describe the group");
    return 0;
  case STRATA__API_KEY__API_OFFSET_COMMIT: /* and Read per topic, in the handler */
    if ((rc = authz_group(b, who, req->offset_commit_req->group_id, ACL_OP_READ)))
      return refuse(r, req, rc, who, "read the group");
    return 0;
  case STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT: {
    /* KIP-848: Read on the group, Describe on every subscribed topic. */
    const Strata__GroupHeartbeatRequest *q = req->group_heartbeat_req;
    if ((rc = authz_group(b, who, q->group_id, ACL_OP_READ)))
      return refuse(r, req, rc, who, "read the group");
    for (size_t i = 0; i < q->n_topics; i++)
      if ((rc = authz_topic(b, who, q->topics[i], ACL_OP_DESCRIBE)))
        return refuse(r, req, rc, who, "describe a subscribed topic");
    return 0;
  }
  /* ACL and user administration: Describe on the cluster to list, Alter
   * to change (the controller checks the relayed principal again) */
  case STRATA__API_KEY__API_DESCRIBE_ACLS:
  case STRATA__API_KEY__API_DESCRIBE_USER_SCRAM_CREDENTIALS:
    if ((rc = authz_cluster(b, who, ACL_OP_DESCRIBE)))
      return refuse(r, req, rc, who, "list ACLs or users (Describe on the cluster)");
    return 0;
  case STRATA__API_KEY__API_DESCRIBE_QUORUM: /* as Kafka: Describe on the cluster */
    if ((rc = authz_cluster(b, who, ACL_OP_DESCRIBE)))
      return refuse(r, req, rc, who, "describe the controller quorum (Describe on the cluster)");
    return 0;
  case STRATA__API_KEY__API_CREATE_ACLS:
  case STRATA__API_KEY__API_DELETE_ACLS:
  case STRATA__API_KEY__API_ALTER_USER_SCRAM_CREDENTIALS:
    if ((rc = authz_cluster(b, who, ACL_OP_ALTER)))
      return refuse(r, req, rc, who, "change ACLs or users (Alter on the cluster)");
    return 0;
  default:
    /* An API this table does not know yet: cluster administration, Alter
     * on the cluster (deny by default rather than forget a check). */
    if ((rc = authz_cluster(b, who, ACL_OP_ALTER)))
      return refuse(r, req, rc, who, "use this API (Alter on the cluster)");
    return 0;
  }
}
