/* libstrata's SASL login on a new connection (security.protocol
 * SASL_PLAINTEXT or SASL_SSL): the native SaslHandshake, then
 * SaslAuthenticate with the tokens of common/sasl.c's client, before any
 * other request. The password stays in the caller's strata_security and the
 * client state, which is wiped after the exchange. */
#include <stdio.h>
#include <string.h>

#include "client/lib/conn.h"
#include "common/errors.h"
#include "common/sasl.h"
#include "common/wire.h"

static int remaining(int64_t deadline) {
  int64_t left = deadline - conn_now_ms();
  return left > 0 ? (int)left : 1;
}

/* One SaslAuthenticate round: token out, the server's token back. */
static int auth_round(struct conn *c, const uint8_t *tok, size_t len, int64_t deadline,
                      uint8_t *ans, size_t cap, size_t *ans_len, char *err, size_t err_len) {
  Strata__Header h = STRATA__HEADER__INIT, *resp = NULL;
  Strata__SaslAuthenticateRequest m = STRATA__SASL_AUTHENTICATE_REQUEST__INIT;
  const uint8_t *rp;
  uint32_t rl;
  h.api_key = STRATA__API_KEY__API_SASL_AUTHENTICATE;
  h.body_case = STRATA__HEADER__BODY_SASL_AUTHENTICATE_REQ;
  h.sasl_authenticate_req = &m;
  m.auth_bytes.data = (uint8_t *)tok;
  m.auth_bytes.len = len;
  int rc = conn_call(c, &h, NULL, 0, remaining(deadline), &resp, &rp, &rl);
  if (rc == 0 && (resp->body_case != STRATA__HEADER__BODY_SASL_AUTHENTICATE_RESP ||
                  resp->sasl_authenticate_resp->auth_bytes.len > cap))
    rc = STRATA_EINVALID_REQUEST;
  if (rc == 0) {
    *ans_len = resp->sasl_authenticate_resp->auth_bytes.len;
    memcpy(ans, resp->sasl_authenticate_resp->auth_bytes.data, *ans_len);
  } else {
    snprintf(err, err_len, "SASL login to %s:%d failed: %s", c->host, c->port,
             resp && resp->error_message && *resp->error_message ? resp->error_message
                                                                 : strata_strerror(rc));
  }
  wire_header_free(resp);
  return rc;
}

int conn_sasl_login(struct conn *c, const strata_security *sec, int64_t deadline, char *err,
                    size_t err_len) {
  Strata__Header h = STRATA__HEADER__INIT, *resp = NULL;
  Strata__SaslHandshakeRequest hs = STRATA__SASL_HANDSHAKE_REQUEST__INIT;
  enum sasl_mech mech = sasl_mech_parse(sec->sasl_mechanism);
  uint8_t tok[SASL_TOKEN_MAX], ans[SASL_TOKEN_MAX];
  struct sasl_client cl;
  const uint8_t *rp;
  uint32_t rl;
  size_t tl = 0, al = 0;
  int done = 0, rc;
  if (mech == 0) {
    snprintf(err, err_len, "sasl.mechanism: '%s' is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
             sec->sasl_mechanism);
    return STRATA_EINVALID_CONFIG;
  }
  h.api_key = STRATA__API_KEY__API_SASL_HANDSHAKE;
  h.body_case = STRATA__HEADER__BODY_SASL_HANDSHAKE_REQ;
  h.sasl_handshake_req = &hs;
  hs.mechanism = (char *)sasl_mech_name(mech);
  rc = conn_call(c, &h, NULL, 0, remaining(deadline), &resp, &rp, &rl);
  if (rc) {
    snprintf(err, err_len, "SASL handshake with %s:%d (%s): %s", c->host, c->port,
             sasl_mech_name(mech),
             rc == STRATA_EUNSUPPORTED_VERSION ? "the listener does not ask for SASL"
                                               : strata_strerror(rc));
    wire_header_free(resp);
    return rc;
  }
  wire_header_free(resp);
  rc = sasl_cl_init(&cl, mech, sec->sasl_username, sec->sasl_password);
  if (rc == 0) rc = sasl_cl_start(&cl, tok, sizeof tok, &tl);
  if (rc) {
    snprintf(err, err_len, "SASL: sasl.username or sasl.password not usable (%s)",
             strata_strerror(rc));
    sasl_cl_clear(&cl);
    return STRATA_EINVALID_CONFIG;
  }
  while (!done) {
    rc = auth_round(c, tok, tl, deadline, ans, sizeof ans, &al, err, err_len);
    if (rc) break;
    rc = sasl_cl_step(&cl, ans, al, tok, sizeof tok, &tl, &done);
    if (rc) {
      snprintf(err, err_len, "SASL login to %s:%d: the server's answer does not prove it "
               "knows the credential", c->host, c->port);
      break;
    }
  }
  sasl_cl_clear(&cl);
  memset(tok, 0, sizeof tok);
  return rc;
}
