/* A broker's cluster links (libuv): registration and heartbeats with the
 * controller (which bring metadata images), replica fetchers pulling from
 * partition leaders, ISR change requests, and relaying admin requests to the
 * controller. Decisions are in cluster.c and handlers.c. */
#ifndef STRATA_CLUSTER_UV_H
#define STRATA_CLUSTER_UV_H

#include <uv.h>

#include "broker/broker.h"
#include "proto/strata.pb-c.h"

void cluster_uv_start(uv_loop_t *loop, struct broker *b);
void cluster_uv_stop(void);
/* After a partition's fsync completed: followers waiting for durability
 * fetch again. */
void cluster_uv_after_sync(void);

/* Relay a client request to the controller; done gets a copy of the answer
 * (to free with wire_header_free) or NULL and an error. */
typedef void (*cluster_forward_cb)(void *arg, Strata__Header *reply, int err);
void cluster_uv_forward(const Strata__Header *req, cluster_forward_cb done, void *arg);
/* The requester went away: never call its done. */
void cluster_uv_forward_cancel(void *arg);

#endif
