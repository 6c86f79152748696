/* Who may ask the controller what (Kafka's rules, research note §5): the
 * broker-only requests (BrokerRegister, BrokerHeartbeat, AlterIsr) need
 * ClusterAction on the cluster and a principal that is the broker itself,
 * "User:broker-<id>" for the broker_id in the request, so broker 2's
 * identity cannot register, heartbeat or shrink an ISR as broker 1 and a
 * client cannot at all (CVE-2018-1288). Admin requests (CreateTopics,
 * DeleteTopics, CreatePartitions, ElectLeaders, InitProducerId) come
 * relayed by a broker, which authorized its client first: a principal with
 * ClusterAction passes; anyone else needs the permission itself. Pure. */
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
                   const struct principal *who, const Strata__Header *req, char *err,
                   size_t err_len);

#endif
