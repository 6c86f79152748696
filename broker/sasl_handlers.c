/* SASL on the broker (see sasl_handlers.h). */
#include "broker/sasl_handlers.h"

#include <string.h>

#include "broker/broker.h"
#include "broker/metadata.h"
#include "common/errors.h"
#include "common/trace.h"

int broker_sasl_init(struct broker *b) {
  memset(&b->sasl, 0, sizeof b->sasl);
  b->sasl.mechs = b->cfg.sasl.enabled_mechs;
  b->sasl.lookup = broker_sasl_lookup;
  b->sasl.lookup_arg = b;
  return sasl_sv_config_secret(&b->sasl);
}

const struct scram_credential *broker_sasl_lookup(void *arg, const char *user,
                                                  enum scram_mech m) {
  return metadata_scram_credential(arg, user, m);
}

int broker_sasl_listener(const struct broker *b) { return b->sasl_conn && b->sasl_conn->on; }

int broker_sasl_handshake(struct broker *b, const char *mechanism) {
  static struct sasl_conn none; /* no connection: nothing to authenticate */
  struct sasl_conn *c = b->sasl_conn ? b->sasl_conn : &none;
  int rc = sasl_conn_handshake(c, &b->sasl, mechanism, b->now_ms);
  if (rc == STRATA_EUNSUPPORTED_SASL_MECHANISM)
    trace_info("sasl: mechanism '%.64s' is not enabled (sasl.enabled.mechanisms)",
               mechanism ? mechanism : "");
  else if (rc != 0)
    b->metrics.auth_failure++;
  return rc;
}

int broker_sasl_authenticate(struct broker *b, const uint8_t *in, size_t len, uint8_t *out,
                             size_t out_cap, size_t *out_len) {
  static struct sasl_conn none;
  struct sasl_conn *c = b->sasl_conn ? b->sasl_conn : &none;
  int rc = sasl_conn_authenticate(c, in, len, out, out_cap, out_len, b->now_ms);
  if (rc != 0) {
    b->metrics.auth_failure++;
    trace_warn("sasl: authentication failed (user '%s'): %s", c->user, strata_errname(rc));
  } else if (c->authenticated) {
    b->metrics.auth_success++;
    trace_debug("sasl: authenticated User:%s with %s", c->user, sasl_mech_name(c->mech));
  }
  return rc;
}

void handle_sasl_handshake(struct broker *b, const Strata__Header *req, uint8_t *payload,
                           uint32_t len, struct response *r) {
  (void)payload, (void)len;
  int rc = broker_sasl_handshake(b, req->sasl_handshake_req->mechanism);
  Strata__SaslHandshakeResponse *m = resp_alloc(r, sizeof *m);
  const char *names[3];
  strata__sasl_handshake_response__init(m);
  m->n_mechanisms = (size_t)sasl_sv_mechanisms(&b->sasl, names);
  m->mechanisms = resp_alloc(r, 3 * sizeof *m->mechanisms);
  for (size_t i = 0; i < m->n_mechanisms; i++) m->mechanisms[i] = resp_strdup(r, names[i]);
  resp_begin(r, req, STRATA__HEADER__BODY_SASL_HANDSHAKE_RESP);
  r->hdr.sasl_handshake_resp = m;
  if (rc) {
    r->hdr.error_code = (uint32_t)-rc;
    r->hdr.error_message = resp_strdup(r, strata_strerror(rc));
  }
}

void handle_sasl_authenticate(struct broker *b, const Strata__Header *req, uint8_t *payload,
                              uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const ProtobufCBinaryData *in = &req->sasl_authenticate_req->auth_bytes;
  uint8_t *out = resp_alloc(r, SASL_TOKEN_MAX);
  size_t out_len = 0;
  int rc = broker_sasl_authenticate(b, in->data, in->len, out, SASL_TOKEN_MAX, &out_len);
  if (rc) {
    response_error(r, req, rc, strata_strerror(rc));
    return;
  }
  Strata__SaslAuthenticateResponse *m = resp_alloc(r, sizeof *m);
  strata__sasl_authenticate_response__init(m);
  m->auth_bytes.data = out;
  m->auth_bytes.len = out_len;
  resp_begin(r, req, STRATA__HEADER__BODY_SASL_AUTHENTICATE_RESP);
  r->hdr.sasl_authenticate_resp = m;
}
