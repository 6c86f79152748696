/* A request's answer while the broker builds it and until it may leave: the
 * response header (its memory from the response's arena), the fetch
 * payload, and what a produce or an offset commit waits for (fsync, or the
 * high watermark passing its offset). The handlers fill it; the glue
 * (server_uv.c) sends it once response_ready says so. */
#ifndef STRATA_RESPONSE_H
#define STRATA_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "proto/strata.pb-c.h"

/* Most partitions one produce/fetch/list request may name. */
#define REQUEST_PARTITIONS_MAX 10000

struct broker;
struct partition;

/* A produce response may wait until partition p is durable up to offset
 * (acks=1 under flush always) or its high watermark passes it (acks=all). */
struct wait_item {
  struct partition *p; /* holds a reference */
  int64_t offset;
  int hw;              /* wait for the high watermark, as leader of epoch */
  int32_t leader_epoch;
  /* Where to report an error if leadership is lost or time runs out (the
   * produce result's fields, or an offset commit's). */
  uint32_t *error_code;
  int64_t *base_offset;  /* optional: set to -1 then */
  int32_t *leader_hint;  /* optional */
};

struct response {
  struct arena arena;          /* everything in hdr lives here */
  Strata__Header hdr;
  uint8_t *payload;            /* malloc'd; fetch data */
  size_t payload_len, payload_cap;
  int silent;                  /* acks=0: send nothing */
  struct wait_item *waits;     /* malloc'd */
  size_t nwaits, waits_cap;
  int park;                    /* fetch: not enough data yet, wait */
  int32_t session_id;          /* a follower's fetch: its session (broker/rsess.h), found
                                  again when a parked fetch is built again (0: none) */
  int64_t deadline_ms;         /* fetch/produce: answer by then whatever there is */
  int64_t started_ms;          /* produce: when it arrived */
  int forward;                 /* cluster mode: the controller must answer this */
  Strata__Header *forwarded;   /* the controller's answer (owned), sent instead of hdr */
  int await_topics;            /* hold a relayed CreateTopics answer until this broker
                                  has the new topics' metadata (read-your-writes) */
  int held;                    /* answered later by its owner (a classic group's
                                  JoinGroup/SyncGroup): not ready while set */
};

/* A request handler: decoded request (and its raw payload, mutable: produce
 * rewrites batch headers in place) in, response out. */
typedef void request_handler(struct broker *b, const Strata__Header *req, uint8_t *payload,
                             uint32_t len, struct response *r);

void response_init(struct response *r);
void response_free(struct response *r);
/* Fill r as an error answer to req (request-level error). */
void response_error(struct response *r, const Strata__Header *req, int err,
                    const char *msg);

/* The response waits until p is fsynced up to `offset` (or, with hw, its
 * high watermark passes it in this leader epoch); errors go to the fields
 * given (base and hint optional). Takes a reference on p. */
void response_wait(struct response *r, struct partition *p, int64_t offset, int hw,
                   uint32_t *error_code, int64_t *base_offset, int32_t *leader_hint);
/* A response whose waits are all durable (or failed: leadership lost, or
 * the broker cut off for a session, see broker_cut_off) can be sent. */
int response_ready(const struct broker *b, const struct response *r);
/* A produce whose deadline passed: what still waits becomes TIMEOUT. */
void response_expire(struct response *r);

/* Building responses: memory from the response's arena (the process stops
 * loudly when even that fails), and the header fields. */
void *resp_alloc(struct response *r, size_t n);
char *resp_strdup(struct response *r, const char *s);
void resp_begin(struct response *r, const Strata__Header *req, Strata__Header__BodyCase body);

#endif
