/* Kafka SaslHandshake (API 17, KIP-43) and SaslAuthenticate (API 36,
 * KIP-152): the Kafka framing of broker/sasl_handlers.c's steps. A v0
 * SaslHandshake (kafka-python 2.0, old clients) switches the connection to
 * bare tokens: the glue reads the next frames as tokens and answers them
 * with kafka_sasl_raw_token, as Kafka does for that version. */
#include <string.h>

#include "broker/broker.h"
#include "broker/kafka_call.h"
#include "broker/kafka_front.h"
#include "broker/sasl_handlers.h"
#include "common/errors.h"

static void handshake_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_sasl_handshake_req *q = k->req;
  struct kafka_sasl_handshake_resp *m = kc_alloc(k, sizeof *m);
  const char *names[3];
  kafka_defaults(&kafka_sasl_handshake_resp_desc, m);
  int rc = broker_sasl_handshake(b, q->mechanism);
  m->error_code = kafka_err(rc);
  m->n_mechanisms = sasl_sv_mechanisms(&b->sasl, names);
  m->mechanisms = kc_alloc(k, 3 * sizeof *m->mechanisms);
  for (int i = 0; i < m->n_mechanisms; i++) m->mechanisms[i] = names[i];
  if (rc == 0 && k->version == 0 && b->sasl_conn) b->sasl_conn->raw_tokens = 1;
  k->resp = m;
}

static void authenticate_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_sasl_authenticate_req *q = k->req;
  struct kafka_sasl_authenticate_resp *m = kc_alloc(k, sizeof *m);
  uint8_t *out = kc_alloc(k, SASL_TOKEN_MAX);
  size_t out_len = 0;
  kafka_defaults(&kafka_sasl_authenticate_resp_desc, m);
  int rc = q->auth_bytes.len < 0
               ? broker_sasl_authenticate(b, NULL, 0, out, SASL_TOKEN_MAX, &out_len)
               : broker_sasl_authenticate(b, q->auth_bytes.p, (size_t)q->auth_bytes.len, out,
                                          SASL_TOKEN_MAX, &out_len);
  m->error_code = kafka_err(rc);
  /* one message for every failure: which step failed is not told */
  m->error_message = rc ? "Authentication failed: invalid credentials or SASL exchange" : NULL;
  m->auth_bytes.p = out;
  m->auth_bytes.len = (int32_t)out_len;
  m->session_lifetime_ms = 0;
  k->resp = m;
}

int kafka_sasl_raw_token(struct broker *b, const uint8_t *token, size_t len, uint8_t *out,
                         size_t out_cap, size_t *out_len) {
  int rc = broker_sasl_authenticate(b, token, len, out, out_cap, out_len);
  return rc;
}

/* v0 is served (bare tokens follow); SaslAuthenticate v0-2 */
const struct kafka_handler kafka_sasl_handshake_handler = {KAFKA_SASL_HANDSHAKE, 0, 1,
                                                           handshake_start, NULL};
const struct kafka_handler kafka_sasl_authenticate_handler = {KAFKA_SASL_AUTHENTICATE, 0, 2,
                                                              authenticate_start, NULL};
