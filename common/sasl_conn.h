/* Authentication of one connection on a SASL listener (SASL_PLAINTEXT://,
 * SASL_SSL://): what may run before the client has authenticated, the frame
 * cap and deadline that bound an unauthenticated client (Kafka
 * CVE-2022-34917), and the SaslHandshake / SaslAuthenticate steps shared by
 * the Kafka and the native listener. Pure: the glue passes the time in and
 * closes the connection when told to. The exchange state (struct
 * sasl_server, about 16 KiB) exists only between SaslHandshake and the end
 * of the exchange: nothing of it is left behind. */
#ifndef STRATA_SASL_CONN_H
#define STRATA_SASL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "principal.h"
#include "sasl.h"

struct sasl_conn {
  int on;                   /* the listener is SASL_*: authentication required */
  int authenticated;
  int failed;               /* close at close_at_ms (the failure delay) */
  int64_t deadline_ms;      /* TLS handshake + SASL must end by then */
  int64_t close_at_ms;
  struct sasl_server *srv;  /* the exchange in progress, or NULL */
  enum sasl_mech mech;      /* the mechanism that authenticated */
  int named;                /* the glue copied the principal (sasl_conn_principal) */
  int raw_tokens;           /* after a v0 SaslHandshake: the next frames are bare tokens
                               (size + token, no request header) until the end */
  char user[SCRAM_USER_MAX + 1];
};

/* A new connection at now_ms; on: the listener requires SASL. */
void sasl_conn_init(struct sasl_conn *c, int on, int64_t now_ms);
/* Free the exchange state, if any (wiped first). */
void sasl_conn_free(struct sasl_conn *c);

/* May a request with this Kafka / native api key run now? Before
 * authentication only ApiVersions (18), SaslHandshake (17) and
 * SaslAuthenticate (36). A listener without SASL: always. */
int sasl_conn_allows(const struct sasl_conn *c, int api_key);

/* Largest request frame accepted now: SASL_FRAME_MAX_UNAUTH before
 * authentication, else max (socket.request.max.bytes). */
uint32_t sasl_conn_frame_max(const struct sasl_conn *c, uint32_t max);

/* The connection must be closed now: the deadline passed unauthenticated,
 * or the failure delay is over. */
int sasl_conn_expired(const struct sasl_conn *c, int64_t now_ms);

/* SaslHandshake. 0, or the error for the answer: UNSUPPORTED_SASL_MECHANISM
 * (the client may try another), ILLEGAL_SASL_STATE (not a SASL listener,
 * authenticated already, or a second handshake: the connection fails). */
int sasl_conn_handshake(struct sasl_conn *c, const struct sasl_server_config *cfg,
                        const char *mechanism, int64_t now_ms);

/* SaslAuthenticate: one token in, the answer's token out (out_cap
 * SASL_TOKEN_MAX). 0 (check c->authenticated to know if it ended), or
 * SASL_AUTHENTICATION_FAILED / ILLEGAL_SASL_STATE: then the answer carries
 * the error and the connection closes SASL_FAILURE_DELAY_MS later. */
int sasl_conn_authenticate(struct sasl_conn *c, const uint8_t *in, size_t len, uint8_t *out,
                           size_t out_cap, size_t *out_len, int64_t now_ms);

/* Any other request refused before authentication: the connection fails. */
void sasl_conn_refuse(struct sasl_conn *c, int64_t now_ms);

/* After success: p->name = "User:<user>", p->authenticated = 1 (host kept). */
void sasl_conn_principal(const struct sasl_conn *c, struct principal *p);

#endif
