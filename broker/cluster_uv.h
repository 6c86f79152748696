/* A broker's cluster links (libuv): registration and heartbeats with the
 * controller (which bring metadata images), replica fetchers pulling from
 * partition leaders, ISR change requests, and relaying admin requests to the
 * controller. Decisions are in cluster.c, metadata.c and handlers.c. Its
 * owner (server_uv.c) embeds a struct cluster_uv and is told through the
 * wake callback when waiting answers should be looked at again. */
#ifndef STRATA_CLUSTER_UV_H
#define STRATA_CLUSTER_UV_H

#include <stdint.h>
#include <uv.h>

#include "broker/broker.h"
#include "broker/link_uv.h"
#include "proto/strata.pb-c.h"

#define FORWARDS_MAX 256
#define FETCH_PARTITIONS_MAX 4096

/* Relay a client request to the controller; done gets a copy of the answer
 * (to free with wire_header_free) or NULL and an error. */
typedef void (*cluster_forward_cb)(void *arg, Strata__Header *reply, int err);

struct cluster_uv;

struct cluster_fetcher {
  struct cluster_uv *cu;
  int32_t leader;
  struct link link;
  int used, inflight, waiting_durable;
  int64_t retry_at;
};

struct cluster_forward {
  int used;
  cluster_forward_cb done;
  void *arg;
};

/* An AlterIsr request on its way (p NULL: a free slot); at most one per
 * request the controller link can hold. */
struct cluster_isr_call {
  struct cluster_uv *cu;
  struct partition *p; /* holds a reference */
};

struct cluster_uv {
  struct broker *b;
  uv_loop_t *loop;
  uv_timer_t timer;
  struct link ctl;
  void (*wake)(void *arg); /* re-check every waiting answer */
  void *wake_arg;
  int running, registered, reg_inflight, hb_inflight;
  int64_t hb_sent_ms;
  int ctl_lost; /* registered, but the controller link is down */
  int ids_inflight; /* a block of producer ids is on its way */
  int64_t next_hb_ms, ctl_retry_at, offsets_retry_at;
  struct cluster_fetcher fetchers[CLUSTER_BROKERS_MAX];
  struct cluster_forward forwards[FORWARDS_MAX];
  struct cluster_isr_call isr_calls[LINK_INFLIGHT_MAX];
  /* a fetch request's entries, filled anew for each (link_send packs them) */
  Strata__FetchPartition fetch_parts[FETCH_PARTITIONS_MAX];
  Strata__FetchPartition *fetch_partv[FETCH_PARTITIONS_MAX];
};

/* Start the links and the tick timer; wake(wake_arg) is called whenever a
 * high watermark or leadership may have moved (an image, an ISR answer, the
 * broker being cut off). */
void cluster_uv_start(struct cluster_uv *cu, uv_loop_t *loop, struct broker *b,
                      void (*wake)(void *arg), void *wake_arg);
void cluster_uv_stop(struct cluster_uv *cu);
/* After a partition's fsync completed: followers waiting for durability
 * fetch again. */
void cluster_uv_after_sync(struct cluster_uv *cu);

/* Relay req to the controller: 0, and done is called later with the answer
 * (never from within this call); or STRATA_ENOT_CONTROLLER when it cannot
 * be sent now, and done is never called. */
int cluster_uv_forward(struct cluster_uv *cu, const Strata__Header *req, cluster_forward_cb done,
                       void *arg);
/* The requester went away: never call its done. */
void cluster_uv_forward_cancel(struct cluster_uv *cu, void *arg);

#endif
