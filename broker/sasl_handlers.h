/* SASL on the broker (common/sasl_conn.h decides, this file answers):
 * SaslHandshake / SaslAuthenticate of the native listener, the steps the
 * Kafka front door shares, the credential lookup in the metadata image, and
 * strata_authentications_total. The connection's state is b->sasl_conn,
 * set by the glue around each request. */
#ifndef STRATA_SASL_HANDLERS_H
#define STRATA_SASL_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/response.h"
#include "common/sasl.h"
#include "proto/strata.pb-c.h"

struct broker;

/* b->sasl from b->cfg (server_run calls it): the mechanisms, a random
 * secret for unknown users' fake credentials, the lookup. 0 or
 * STRATA_EUNKNOWN (no randomness). */
int broker_sasl_init(struct broker *b);

/* The credential lookup SASL uses: the broker's metadata image. */
const struct scram_credential *broker_sasl_lookup(void *arg, const char *user,
                                                  enum scram_mech m);

/* Is the current connection a SASL listener's (advertise the SASL APIs)? */
int broker_sasl_listener(const struct broker *b);

/* The two steps on b->sasl_conn, shared by both listeners. Return 0 or the
 * error for the answer; a failure is counted and logged (the user name,
 * never a secret) and leaves the connection to be closed after the delay. */
int broker_sasl_handshake(struct broker *b, const char *mechanism);
int broker_sasl_authenticate(struct broker *b, const uint8_t *in, size_t len, uint8_t *out,
                             size_t out_cap, size_t *out_len);

request_handler handle_sasl_handshake, handle_sasl_authenticate;

#endif
