/* A follower's fetch loop toward one leader (Kafka's replica fetcher
 * thread, as a step): when to connect, when to send the next fetch, how
 * long to back off, and to wait for the fsync of what was appended before
 * reporting it (flush policy always: positions sent are durable ones).
 * The broker's glue (broker/cluster_uv.c) and the simulator
 * (tests/sim/broker_node.c) feed it the same events and carry out its
 * updates; what goes into a fetch and what an answer does to the logs is
 * the broker's (broker/cluster.c). */
#ifndef STRATA_FETCHER_H
#define STRATA_FETCHER_H

#include <stdint.h>

/* Partitions in one follower fetch; more wait for the next round. */
#define FETCH_PARTITIONS_MAX 4096
/* The bytes one follower fetch asks for across its partitions. */
#define REPLICA_FETCH_MAX_BYTES (16u << 20)
#define FETCHER_RETRY_LINK_MS 100  /* after the link failed or a send could not go */
#define FETCHER_RETRY_ERROR_MS 200 /* after an error answer */
#define FETCHER_RETRY_IDLE_MS 50   /* the leader served none of our partitions yet */

enum fetcher_event_type {
  FETCHER_TICK,        /* the timer; also after a new metadata image */
  FETCHER_LINK_UP,     /* the connection to the leader is open */
  FETCHER_LINK_DOWN,   /* it closed or could not open */
  FETCHER_SEND_FAILED, /* the fetch asked for could not be sent */
  FETCHER_ANSWER,      /* the fetch's answer, applied (answer says how it went) */
  FETCHER_SYNCED,      /* an fsync completed */
};

enum fetcher_answer {
  FETCHER_ANSWER_LOST,     /* no answer: the link failed or the call timed out */
  FETCHER_ANSWER_BAD,      /* an answer whose bytes do not add up: drop the link */
  FETCHER_ANSWER_ERROR,    /* the leader answered with an error */
  FETCHER_ANSWER_IDLE,     /* it served none of our partitions (its metadata lags ours) */
  FETCHER_ANSWER_PROGRESS, /* at least one partition was applied */
};

struct fetcher_event {
  enum fetcher_event_type type;
  int64_t now_ms;             /* monotonic */
  int has_partitions;         /* any partition is followed from this leader */
  int durable;                /* every one of them is fsynced to its end */
  int report_durable;         /* flush policy always: fetch again only once durable */
  enum fetcher_answer answer; /* FETCHER_ANSWER */
};

struct fetcher_update {
  int connect; /* open the link to the leader */
  int send;    /* send a fetch now (follow_request fills it) */
  int close;   /* drop the link (LINK_DOWN follows) */
};

struct fetcher {
  int32_t leader;
  int connected, inflight, waiting_durable;
  int64_t retry_at;
};

void fetcher_init(struct fetcher *f, int32_t leader);
void fetcher_step(struct fetcher *f, const struct fetcher_event *e, struct fetcher_update *u);

#endif
