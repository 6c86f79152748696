/* The broker's request logic, apart from I/O: the state every handler works
 * on, and the response a handler fills. The libuv layer (server_uv.c) owns
 * sockets, timers and the fsync thread; it asks this layer what to answer and
 * when an answer may leave (after fsync for produce, after data or a deadline
 * for fetch). */
#ifndef STRATA_BROKER_H
#define STRATA_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker_config.h"
#include "broker/topics.h"
#include "common/arena.h"
#include "proto/strata.pb-c.h"

#define STRATA_VERSION "0.1.0"
/* Most partitions one produce/fetch/list request may name. */
#define REQUEST_PARTITIONS_MAX 10000

struct broker {
  struct broker_config cfg;
  struct topics topics;
  char cluster_id[40];
  int64_t now_ms;               /* wall clock, set by the glue each loop turn */
  struct partition *dirty;      /* partitions with appends not yet fsynced */
  uint64_t hw_version;          /* bumped whenever a high watermark moves */
};

/* A produce response may wait until partition p is durable up to offset. */
struct wait_item {
  struct partition *p; /* holds a reference */
  int64_t offset;
};

struct response {
  struct arena arena;          /* everything in hdr lives here */
  Strata__Header hdr;
  uint8_t *payload;            /* malloc'd; fetch data */
  size_t payload_len, payload_cap;
  int silent;                  /* acks=0: send nothing */
  struct wait_item *waits;     /* malloc'd */
  size_t nwaits;
  int park;                    /* fetch: not enough data yet, wait */
  int64_t deadline_ms;         /* fetch: answer by then whatever there is */
};

/* Open the data directory (topics, cluster id). 0 or STRATA_E*, err says why. */
int broker_open(struct broker *b, const struct broker_config *cfg,
                int64_t now_ms, char *err, size_t err_len);
void broker_close(struct broker *b);

/* Offsets below this are visible to consumers: the durable offset under
 * flush policy always, the log end otherwise. */
int64_t broker_high_watermark(const struct broker *b, const struct partition *p);

/* Handle one request. req is the unpacked header, payload the frame payload
 * (mutable: produce rewrites batch headers in place). Always fills resp with
 * a response (errors included); returns 0. */
void broker_handle(struct broker *b, const Strata__Header *req,
                   uint8_t *payload, uint32_t payload_len, struct response *resp);

/* Re-run a parked fetch; final = 1 when its deadline passed (answer anyway). */
void broker_fetch_again(struct broker *b, const Strata__Header *req,
                        struct response *resp, int final);

/* A response whose waits are all durable can be sent. */
int broker_response_ready(const struct broker *b, const struct response *resp);

void response_init(struct response *r);
void response_free(struct response *r);
/* Fill r as an error answer to req (request-level error). */
void response_error(struct response *r, const Strata__Header *req, int err,
                    const char *msg);

/* Remember that p has unsynced appends (the glue fsyncs the list). */
void broker_mark_dirty(struct broker *b, struct partition *p);

#endif
