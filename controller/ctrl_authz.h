/* Who may ask the controller what (Kafka's rules, research note §5). conn
 * is the connection's principal; a broker's (ClusterAction) relayed request
 * is judged by the client principal in its header (KIP-590's envelope). The
 * broker-only requests (BrokerRegister, BrokerHeartbeat, AlterIsr) need
 * ClusterAction on the cluster and a principal that is the broker itself,
 * "User:broker-<id>" for the broker_id in the request, so broker 2's
 * identity cannot register, heartbeat or shrink an ISR as broker 1 and a
 * client cannot at all (CVE-2018-1288). Admin requests (CreateTopics,
 * DeleteTopics, CreatePartitions, ElectLeaders, InitProducerId, ACL and
 * user administration) need their permission for the relayed principal
 * (checked on the broker too), or for the connection's own when sent
 * directly; a broker's own request (no principal in the header) passes.
 * Pure. */
#ifndef STRATA_CTRL_AUTHZ_H
#define STRATA_CTRL_AUTHZ_H

#include <stddef.h>

#include "common/acl.h"
#include "common/principal.h"
#include "proto/strata.pb-c.h"

/* The principal a broker with this id must have: "User:broker-<id>". */
void ctrl_authz_broker_principal(int32_t broker_id, char *out, size_t out_len);

/* 0 (go on), or STRATA_ECLUSTER_AUTHORIZATION_FAILED /
 * STRATA_ETOPIC_AUTHORIZATION_FAILED with a reason in err. cfg->enabled off:
 * always 0. who NULL: anonymous. */
int ctrl_authorize(const struct authorizer_config *cfg, const struct acl_set *acls,
                   const struct principal *conn, const Strata__Header *req, char *err,
                   size_t err_len);

#endif
