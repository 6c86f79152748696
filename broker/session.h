/* A broker's session with its controller, as a step: find the active
 * controller among the `controller` list (issue 14: on a failed connect, a
 * call that times out or NOT_CONTROLLER, move on to the controller the
 * answer names, else the next in the list, with a pause), connect, register
 * (again only when the controller no longer knows our broker epoch),
 * heartbeat every broker.heartbeat.interval.ms, adopt the metadata images
 * the answers carry, count controller contact from when a heartbeat left
 * (fencing), keep a block of producer ids at hand, and ask for the
 * __consumer_offsets topic when a group needs it. Events in (tick, link up
 * or down, an answer or its loss), an update out (connect, calls to send,
 * wake the waiting answers, re-check the fetchers, propose ISR changes).
 * broker/cluster_uv.c and the simulator carry out the same updates. */
#ifndef STRATA_SESSION_H
#define STRATA_SESSION_H

#include <stdint.h>

#include "broker/broker_config.h"
#include "proto/strata.pb-c.h"

struct broker;

#define SESSION_RETRY_LINK_MS 200     /* reconnect after the controller link closed (and
                                         after every round through the list) */
#define SESSION_RETRY_NEXT_MS 50      /* with several controllers: try the next one */
#define SESSION_CALL_TIMEOUT_MS 1000  /* with several: a connect or a register/heartbeat
                                         unanswered this long moves on */
#define SESSION_HINT_DEAD_MS 1000     /* a named leader whose connect failed this recently
                                         is not believed: the next in the list is tried */
#define SESSION_RETRY_REFUSED_MS 1000 /* register again after a refusal */
#define SESSION_OFFSETS_RETRY_MS 1000 /* ask for __consumer_offsets again */
#define PRODUCER_ID_BLOCK 1000        /* producer ids the controller hands out at once */

/* The controller calls a session makes; a bit each. */
enum session_call {
  SESSION_REGISTER = 1,
  SESSION_HEARTBEAT = 2,
  SESSION_PRODUCER_IDS = 4,
  SESSION_OFFSETS_TOPIC = 8,
  SESSION_QUORUM = 16, /* DescribeQuorum, while the console looks (quorum_want_until_ms) */
};
#define SESSION_CALLS 5  /* bits of enum session_call */
#define SESSION_QUORUM_MS 2000 /* between DescribeQuorum calls while wanted */

enum session_event_type {
  SESSION_TICK,      /* the timer */
  SESSION_LINK_UP,   /* the controller link is open */
  SESSION_LINK_DOWN, /* it closed, or could not open */
  SESSION_ANSWER,    /* call's answer arrived (answer) */
  SESSION_LOST,      /* call got no answer (link failed, timed out, or could not be sent) */
};

struct session_event {
  enum session_event_type type;
  int64_t now_ms; /* monotonic */
  enum session_call call;        /* ANSWER, LOST */
  const Strata__Header *answer;  /* ANSWER: the caller's, read during the step */
};

struct session_update {
  int close;         /* close the controller link first (done with it: every call on it is lost) */
  int connect;       /* open the controller link, to session_target's address */
  unsigned send;     /* session_calls to send now (session_request fills each) */
  int wake;          /* waiting answers must look again (an image, or cut off) */
  int fetchers;      /* followed leaders may have changed: step the fetchers */
  int propose_isr;   /* registered and linked: ISR changes may go out */
};

struct session {
  int connected, registered;
  int ctl_lost;      /* registered, but the link is down */
  unsigned inflight; /* session_calls on their way */
  int64_t hb_sent_ms, next_hb_ms, retry_at, offsets_retry_at;
  /* Finding the active controller (b->cfg.controllers). target: the entry
   * to connect to, or -1 for the address an answer named (hint_*), which
   * is not in the list. pos: the list entry a move to "the next" starts
   * from. fails: moves since the last answered register or heartbeat. */
  int target, pos, fails;
  char hint_host[256];
  int hint_port;
  int connecting;           /* a connect is on its way (since connect_ms) */
  int moved;                /* the link came back (to this or another controller): say
                               so once a heartbeat is answered */
  int64_t connect_ms, reg_sent_ms;
  int64_t down_ms[BROKER_CONTROLLERS_MAX]; /* an entry's last failed connect (0: none) */
  int64_t quorum_next_ms;   /* the next DescribeQuorum call, while wanted */
};

/* Where the session connects now: host, port and scheme (an address an
 * answer named outside the list takes the first entry's scheme: a
 * cluster's controllers share one). */
struct session_addr {
  const char *host;
  int port;
  enum listener_protocol protocol;
};
void session_target(const struct session *s, const struct broker *b, struct session_addr *out);

void session_init(struct session *s);
void session_step(struct session *s, struct broker *b, const struct session_event *e,
                  struct session_update *u);

/* A call's request, with the storage it points into. */
struct session_request {
  Strata__Header h;
  Strata__BrokerRegisterRequest reg;
  Strata__BrokerHeartbeatRequest hb;
  Strata__InitProducerIdRequest ids;
  Strata__CreateTopicsRequest create;
  Strata__DescribeQuorumRequest quorum;
  Strata__TopicSpec spec, *specs[1];
  Strata__TopicSpec__ConfigsEntry cfg[2], *cfgv[2];
  char insync[8], seg[32];
};
/* Fill r for call (valid while b and r live). */
void session_request(struct broker *b, enum session_call call, struct session_request *r);

#endif
