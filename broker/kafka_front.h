/* The Kafka-protocol front door of a broker (kafka.listeners): what the
 * glue (server_uv.c) calls with each Kafka request frame. A request is
 * decoded by the generated codec, then either answered here (ApiVersions,
 * Metadata, the classic group calls) or turned into the native request it
 * means and run through dispatch_handle, so Kafka clients get the very
 * same produce, fetch, replication, idempotence and durability paths as
 * libstrata. No sockets here. */
#ifndef STRATA_KAFKA_FRONT_H
#define STRATA_KAFKA_FRONT_H

#include <stdint.h>

#include "broker/response.h"
#include "common/principal.h"
#include "kafka/codec.h"
#include "proto/strata.pb-c.h"

struct broker;
struct kafka_call;

/* Start one request (its frame after the 4-byte size) from principal who
 * (copied; NULL: anonymous), authorized as dispatch_handle does (b->caller
 * is who while the call starts). Fills r as
 * dispatch_handle does (maybe waiting, parked or forwarded). Returns the
 * call, or NULL when not even a header could be read: the glue closes the
 * connection (Kafka's own answer to a frame it cannot parse). */
struct kafka_call *kafka_start(struct broker *b, uint8_t *frame, uint32_t len,
                               const char *peer, const struct principal *who,
                               struct response *r);

/* The native request a call became (parked fetches run it again; a
 * forwarded CreateTopics sends it to the controller), or NULL. Owned by
 * the call. */
Strata__Header *kafka_native(struct kafka_call *k);

/* Append the whole Kafka answer (size, header, body) once r is ready
 * (out empty: records fields may stay in r's payload as out's refs, so the
 * payload must live until the answer is written).
 * Returns 0, or nonzero when it cannot be encoded (the glue closes). An
 * acks=0 produce has r->silent set: nothing is sent. */
int kafka_finish(struct broker *b, struct kafka_call *k, const struct response *r,
                 struct kbuf *out);

void kafka_call_free(struct kafka_call *k);

/* A bare SASL token after a v0 SaslHandshake (kafka_sasl.c): the server's
 * token goes out as a bare frame too. 0, or the failure (then the
 * connection closes without an answer, as Kafka's does). */
int kafka_sasl_raw_token(struct broker *b, const uint8_t *token, size_t len, uint8_t *out,
                         size_t out_cap, size_t *out_len);

/* Largest Kafka request frame read (socket.request.max.bytes applies). */
#define KAFKA_DECODE_BUDGET (16u << 20) /* arena bytes one request may decode into */

#endif
