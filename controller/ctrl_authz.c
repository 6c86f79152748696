/* The controller's request authorization (ctrl_authz.h). */
#include "controller/ctrl_authz.h"

#include <stdio.h>
#include <string.h>

#include "common/errors.h"

void ctrl_authz_broker_principal(int32_t broker_id, char *out, size_t out_len) {
  snprintf(out, out_len, "User:broker-%d", (int)broker_id);
}

static int allowed(const struct authorizer_config *cfg, const struct acl_set *acls,
                   const struct principal *who, enum acl_resource res, const char *name,
                   enum acl_op op) {
  return acl_authorize(cfg, acls, who, res, name, op, NULL);
}

static int cluster(const struct authorizer_config *cfg, const struct acl_set *acls,
                   const struct principal *who, enum acl_op op) {
  return allowed(cfg, acls, who, ACL_RES_CLUSTER, ACL_CLUSTER_NAME, op);
}

/* A broker-only request: ClusterAction, and the broker's own identity. */
static int as_broker(const struct authorizer_config *cfg, const struct acl_set *acls,
                     const struct principal *who, int32_t broker_id, const char *what,
                     char *err, size_t err_len) {
  char want[PRINCIPAL_MAX];
  ctrl_authz_broker_principal(broker_id, want, sizeof want);
  const char *name = who ? who->name : PRINCIPAL_ANONYMOUS;
  if (!cluster(cfg, acls, who, ACL_OP_CLUSTER_ACTION)) {
    snprintf(err, err_len, "%s may not %s (ClusterAction on the cluster)", name, what);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  }
  if (strcmp(name, want) != 0) {
    snprintf(err, err_len, "%s may not %s for broker %d: only %s may", name, what,
             (int)broker_id, want);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  }
  return 0;
}

int ctrl_authorize(const struct authorizer_config *cfg, const struct acl_set *acls,
                   const struct principal *conn, const Strata__Header *req, char *err,
                   size_t err_len) {
  if (!cfg || !cfg->enabled) return 0;
  /* A broker (ClusterAction) relays a client's request with the client's
   * principal in the header (KIP-590's envelope): that principal is checked.
   * Without one it is the broker's own request (the offsets topic, producer
   * id blocks). Anyone else's header principal is ignored. */
  int broker = cluster(cfg, acls, conn, ACL_OP_CLUSTER_ACTION);
  struct principal relayed;
  const struct principal *who = conn;
  int relay = broker && !(req->principal && *req->principal);
  if (broker && !relay) {
    memset(&relayed, 0, sizeof relayed);
    snprintf(relayed.name, sizeof relayed.name, "%s", req->principal);
    snprintf(relayed.host, sizeof relayed.host, "%s", req->principal_host ? req->principal_host : "");
    relayed.authenticated = 1;
    who = &relayed;
  }
  const char *name = who ? who->name : PRINCIPAL_ANONYMOUS;
  switch (req->body_case) {
  case STRATA__HEADER__BODY_API_VERSIONS_REQ:
    return 0;
  case STRATA__HEADER__BODY_BROKER_REGISTER_REQ:
    return as_broker(cfg, acls, conn, req->broker_register_req->broker_id, "register a broker",
                     err, err_len);
  case STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ:
    return as_broker(cfg, acls, conn, req->broker_heartbeat_req->broker_id, "heartbeat",
                     err, err_len);
  case STRATA__HEADER__BODY_ALTER_ISR_REQ:
    return as_broker(cfg, acls, conn, req->alter_isr_req->broker_id, "change an ISR", err,
                     err_len);
  case STRATA__HEADER__BODY_CREATE_TOPICS_REQ: {
    if (relay || cluster(cfg, acls, who, ACL_OP_CREATE)) return 0;
    const Strata__CreateTopicsRequest *q = req->create_topics_req;
    for (size_t i = 0; i < q->n_topics; i++)
      if (!allowed(cfg, acls, who, ACL_RES_TOPIC, q->topics[i]->name, ACL_OP_CREATE)) {
        snprintf(err, err_len, "%s may not create topic %s", name, q->topics[i]->name);
        return STRATA_ETOPIC_AUTHORIZATION_FAILED;
      }
    return 0;
  }
  case STRATA__HEADER__BODY_DELETE_TOPICS_REQ: {
    if (relay) return 0;
    const Strata__DeleteTopicsRequest *q = req->delete_topics_req;
    for (size_t i = 0; i < q->n_names; i++)
      if (!allowed(cfg, acls, who, ACL_RES_TOPIC, q->names[i], ACL_OP_DELETE)) {
        snprintf(err, err_len, "%s may not delete topic %s", name, q->names[i]);
        return STRATA_ETOPIC_AUTHORIZATION_FAILED;
      }
    return 0;
  }
  case STRATA__HEADER__BODY_CREATE_PARTITIONS_REQ: {
    if (relay) return 0;
    const Strata__CreatePartitionsRequest *q = req->create_partitions_req;
    for (size_t i = 0; i < q->n_topics; i++)
      if (!allowed(cfg, acls, who, ACL_RES_TOPIC, q->topics[i]->name, ACL_OP_ALTER)) {
        snprintf(err, err_len, "%s may not add partitions to topic %s", name,
                 q->topics[i]->name);
        return STRATA_ETOPIC_AUTHORIZATION_FAILED;
      }
    return 0;
  }
  case STRATA__HEADER__BODY_ELECT_LEADERS_REQ:
    if (relay || cluster(cfg, acls, who, ACL_OP_ALTER)) return 0;
    snprintf(err, err_len, "%s may not elect leaders (Alter on the cluster)", name);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  case STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ:
    if (relay || cluster(cfg, acls, who, ACL_OP_IDEMPOTENT_WRITE) ||
        acl_authorize_any(cfg, acls, who, ACL_RES_TOPIC, ACL_OP_WRITE))
      return 0;
    snprintf(err, err_len, "%s may not get producer ids", name);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  case STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ:
    /* Kafka's rule, the one the brokers apply: Describe on the cluster. */
    if (relay || cluster(cfg, acls, who, ACL_OP_DESCRIBE)) return 0;
    snprintf(err, err_len, "%s may not describe the quorum (Describe on the cluster)", name);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  case STRATA__HEADER__BODY_DESCRIBE_ACLS_REQ:
  case STRATA__HEADER__BODY_DESCRIBE_SCRAM_REQ:
    if (relay || cluster(cfg, acls, who, ACL_OP_DESCRIBE)) return 0;
    snprintf(err, err_len, "%s may not list ACLs or users (Describe on the cluster)", name);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  case STRATA__HEADER__BODY_ADD_RAFT_VOTER_REQ:
  case STRATA__HEADER__BODY_REMOVE_RAFT_VOTER_REQ:
    /* Kafka's rule for AddRaftVoter/RemoveRaftVoter: Alter on the cluster
     * (a broker's own ClusterAction is not enough). */
    if (cluster(cfg, acls, who, ACL_OP_ALTER)) return 0;
    snprintf(err, err_len, "%s may not change the controller quorum's voters (Alter on the "
             "cluster)", name);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  case STRATA__HEADER__BODY_CREATE_ACLS_REQ:
  case STRATA__HEADER__BODY_DELETE_ACLS_REQ:
  case STRATA__HEADER__BODY_ALTER_SCRAM_REQ:
    if (relay || cluster(cfg, acls, who, ACL_OP_ALTER)) return 0;
    snprintf(err, err_len, "%s may not change ACLs or users (Alter on the cluster)", name);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  default:
    /* An API this table does not know: cluster administration. */
    if (cluster(cfg, acls, who, ACL_OP_ALTER)) return 0;
    snprintf(err, err_len, "%s may not use api key %u (Alter on the cluster)", name,
             req->api_key);
    return STRATA_ECLUSTER_AUTHORIZATION_FAILED;
  }
}
