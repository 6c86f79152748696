/* The broker's authorization of requests, Kafka's "Operations and Resources
 * on Protocols" table (docs/security.md, research note §5): which
 * permission each API needs, answered from the broker's authorizer settings
 * (authorizer.enabled, super.users, allow.everyone.if.no.acl.found) and the
 * ACLs of its metadata image. The decision itself is common/acl.c's; this
 * module names the resource and operation per request and turns a refusal
 * into TOPIC/GROUP/CLUSTER_AUTHORIZATION_FAILED. An unauthorized topic gets
 * the same answer whether or not it exists, so the error is no oracle for
 * existence. Pure: no sockets, no clock. */
#ifndef STRATA_AUTHZ_H
#define STRATA_AUTHZ_H

#include "broker/response.h"
#include "common/acl.h"
#include "common/principal.h"
#include "proto/strata.pb-c.h"

struct broker;

/* Forget the remembered decision: every request entry (dispatch_handle,
 * kafka_start) calls it, since a principal's address may be reused by the
 * next request with another name. */
void authz_forget(struct broker *b);

/* May `who` do op on the resource? (1/0; the authorizer off: 1.) The last
 * decision is remembered (b->authz_memo): a produce or fetch naming 10,000
 * partitions of one topic decides once, not once per partition. */
int authz_allowed(struct broker *b, const struct principal *who, enum acl_resource res,
                  const char *name, enum acl_op op);
/* The same, as 0 or the API's error: STRATA_ETOPIC_/EGROUP_/ECLUSTER_AUTHORIZATION_FAILED. */
int authz_topic(struct broker *b, const struct principal *who, const char *topic,
                enum acl_op op);
int authz_group(struct broker *b, const struct principal *who, const char *group,
                enum acl_op op);
int authz_cluster(struct broker *b, const struct principal *who, enum acl_op op);
/* InitProducerId without a transactional id (KIP-679): Write on any topic,
 * or IdempotentWrite on the cluster. 0 or STRATA_ECLUSTER_AUTHORIZATION_FAILED. */
int authz_idempotent_producer(struct broker *b, const struct principal *who);

/* Kafka's "authorized operations" bit field (KIP-430: bit i for operation
 * code i) of the caller on one resource, over the operations the resource
 * type has (topic: Read, Write, Create, Delete, Alter, Describe,
 * DescribeConfigs, AlterConfigs; group: Read, Describe, Delete; cluster:
 * Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite,
 * Alter, Describe). The authorizer off: all of them. */
int32_t authz_operations(struct broker *b, const struct principal *who, enum acl_resource res,
                         const char *name);

/* What dispatch_handle asks before a native request's handler runs: the
 * checks that decide the whole request (cluster and group permissions,
 * admin requests the controller answers). Returns 1 when it filled r with
 * the refusal (the handler must not run), 0 to go on; per-topic checks of
 * produce, fetch, list offsets, metadata and offsets are the handlers'. */
int authz_request(struct broker *b, const struct principal *who, const Strata__Header *req,
                  struct response *r);

#endif
