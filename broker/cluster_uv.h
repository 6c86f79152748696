/* A broker's cluster links (libuv): registration and heartbeats with the
 * controller (which bring metadata images), replica fetchers pulling from
 * partition leaders, ISR change requests, and relaying admin requests to the
 * controller. It decides nothing: session.h and replication/fetcher.h step,
 * cluster.c and metadata.c apply; this file performs their updates. Its
 * owner (server_uv.c) embeds a struct cluster_uv and is told through the
 * wake callback when waiting answers should be looked at again. */
#ifndef STRATA_CLUSTER_UV_H
#define STRATA_CLUSTER_UV_H

#include <stdint.h>
#include <uv.h>

#include "broker/broker.h"
#include "broker/link_uv.h"
#include "common/principal.h"
#include "proto/strata.pb-c.h"

#include "broker/cluster.h"
#include "broker/follow.h"
#include "broker/session.h"
#include "replication/fetcher.h"

#define FORWARDS_MAX 256

/* Relay a client request to the controller; done gets a copy of the answer
 * (to free with wire_header_free) or NULL and an error. */
typedef void (*cluster_forward_cb)(void *arg, Strata__Header *reply, int err);

struct cluster_uv;

/* One followed leader: fetcher_step's state and the link it drives. */
struct cluster_fetcher {
  struct cluster_uv *cu;
  int used;
  struct fetcher st;
  struct link link;
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

/* A session call on its way (the link's callback argument). */
struct cluster_session_call {
  struct cluster_uv *cu;
  enum session_call call;
};

struct cluster_uv {
  struct broker *b;
  uv_loop_t *loop;
  /* TLS client context of the outgoing links (the node's own ssl.* files:
   * its certificate for mutual TLS, the CA that signs its peers), NULL when
   * no link needs one. ctl_tls / peer_tls: the controller's scheme in
   * `controller`, and the brokers' (taken to be this broker's own
   * `listeners` scheme, as Kafka's inter-broker listener is one of its
   * listeners). tls_broken: the context could not be built: no link
   * connects (the log says why). */
  struct tls_ctx *tls;
  int ctl_tls, peer_tls, tls_broken;
  uv_timer_t timer;
  struct link ctl;     /* to the controller the session is on (session_target) */
  int ctl_aimed;       /* ctl was set up (link_init), for ctl_protocol */
  enum listener_protocol ctl_protocol;
  int ctl_closing;     /* inside a close the session decided: its callbacks are no events */
  void (*wake)(void *arg); /* re-check every waiting answer */
  void *wake_arg;
  int running;
  struct session session;
  struct cluster_session_call session_calls[SESSION_CALLS];
  struct cluster_fetcher fetchers[CLUSTER_BROKERS_MAX];
  struct cluster_forward forwards[FORWARDS_MAX];
  struct cluster_isr_call isr_calls[LINK_INFLIGHT_MAX];
  struct follow_storage fetch; /* a fetch request's entries (link_send packs them) */
};

/* Start the links and the tick timer; wake(wake_arg) is called whenever a
 * high watermark or leadership may have moved (an image, an ISR answer, the
 * broker being cut off). */
void cluster_uv_start(struct cluster_uv *cu, uv_loop_t *loop, struct broker *b,
                      void (*wake)(void *arg), void *wake_arg);
void cluster_uv_stop(struct cluster_uv *cu);
/* SIGHUP: build the links' TLS context again from the ssl.* files (a
 * rotated certificate); connections made from now on use it. A context
 * that does not build leaves the old one. */
void cluster_uv_reload_tls(struct cluster_uv *cu);
/* After a partition's fsync completed: followers waiting for durability
 * fetch again. */
void cluster_uv_after_sync(struct cluster_uv *cu);

/* Relay req to the controller: 0, and done is called later with the answer
 * (never from within this call); or STRATA_ENOT_CONTROLLER when it cannot
 * be sent now, and done is never called. who: the requesting connection's
 * principal, sent in the header's principal fields (NULL: sent empty);
 * whatever the client put there itself never travels. */
int cluster_uv_forward(struct cluster_uv *cu, const Strata__Header *req,
                       const struct principal *who, cluster_forward_cb done, void *arg);
/* The requester went away: never call its done. */
void cluster_uv_forward_cancel(struct cluster_uv *cu, void *arg);

#endif
