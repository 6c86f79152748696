/* The consumer's insides, shared by consumer.c (fetching and iterating
 * records) and group_client.c (membership in a consumer group). */
#ifndef STRATA_CONSUMER_INTERNAL_H
#define STRATA_CONSUMER_INTERNAL_H

#include "client/lib/conn.h"
#include "client/strata.h"
#include "common/batch.h"

#define CONSUMER_PARTITIONS_MAX 10000

struct cpart {
  char *topic;
  uint32_t partition;
  int64_t position;  /* next offset to return; <0: STRATA_OFFSET_* to resolve */
  int paused;        /* not fetched until resumed */
  int64_t hw;
  int32_t leader;    /* -1: unknown, refresh metadata */
  int range_recheck; /* an OFFSET_OUT_OF_RANGE is being checked with fresh metadata */
};

#define CONSUMER_BROKERS_MAX 64

/* A connection to one leader, with at most one fetch in flight. */
struct cbroker {
  int32_t id;
  char host[256];
  int port;
  struct conn c;
  int inflight;
  int64_t retry_at;
};

struct strata_consumer {
  strata_consumer_config cfg;
  char bootstrap[1024];
  struct conn c; /* bootstrap: metadata */
  struct client_sec sec; /* how every broker is reached */
  struct cbroker brokers[CONSUMER_BROKERS_MAX];
  size_t nbrokers;
  int need_metadata;
  struct cpart *parts;
  size_t nparts, cap;
  /* The current fetch response being iterated. */
  Strata__Header *resp;
  const uint8_t *payload;
  uint32_t payload_len;
  size_t part_i;       /* index into resp partitions */
  uint32_t part_off;   /* where that partition's data starts in payload */
  uint32_t batch_off;  /* next batch within the partition's data */
  int in_batch;
  struct batch_iter it;
  struct batch_scratch scratch;
  struct batch_record rec;
  strata_header hdrs[RECORD_HEADERS_MAX];
  strata_message msg;
  struct cpart *cur;
  int error;           /* a partition error to report on the next poll */
  struct group_client *grp; /* subscribed to a group (group_client.c) */
};


/* Stop reading a partition (a group took it away). */
int consumer_unassign(strata_consumer *c, const char *topic, uint32_t partition);
/* The bootstrap connection, opened when closed. */
int consumer_ensure_conn(strata_consumer *c);

/* Group membership, driven from strata_consumer_poll: heartbeat when due,
 * apply assignment changes, auto-commit. 0 or a fatal STRATA_E*. */
struct group_client;
int group_client_step(strata_consumer *c);
/* When the next step is due (ms, conn_now_ms clock). */
int64_t group_client_due(const strata_consumer *c);
/* Leave the group (after a final auto-commit) and free. */
void group_client_close(strata_consumer *c);

#endif
