/* One connection's authentication on a SASL listener (see sasl_conn.h). */
#include "sasl_conn.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

enum { API_SASL_HANDSHAKE = 17, API_API_VERSIONS = 18, API_SASL_AUTHENTICATE = 36 };

void sasl_conn_init(struct sasl_conn *c, int on, int64_t now_ms) {
  memset(c, 0, sizeof *c);
  c->on = on;
  c->deadline_ms = on ? now_ms + SASL_DEADLINE_MS : 0;
}

void sasl_conn_free(struct sasl_conn *c) {
  if (c->srv) {
    sasl_sv_clear(c->srv);
    free(c->srv);
    c->srv = NULL;
  }
}

int sasl_conn_allows(const struct sasl_conn *c, int api_key) {
  if (!c->on || c->authenticated)
    return !c->failed;
  return !c->failed && (api_key == API_API_VERSIONS || api_key == API_SASL_HANDSHAKE ||
                        api_key == API_SASL_AUTHENTICATE);
}

uint32_t sasl_conn_frame_max(const struct sasl_conn *c, uint32_t max) {
  if (c->on && !c->authenticated && max > SASL_FRAME_MAX_UNAUTH)
    return SASL_FRAME_MAX_UNAUTH;
  return max;
}

int sasl_conn_expired(const struct sasl_conn *c, int64_t now_ms) {
  if (c->failed)
    return now_ms >= c->close_at_ms;
  return c->on && !c->authenticated && now_ms >= c->deadline_ms;
}

static void fail(struct sasl_conn *c, int64_t now_ms) {
  sasl_conn_free(c);
  if (!c->failed) {
    c->failed = 1;
    c->close_at_ms = now_ms + SASL_FAILURE_DELAY_MS;
  }
}

void sasl_conn_refuse(struct sasl_conn *c, int64_t now_ms) { fail(c, now_ms); }

int sasl_conn_handshake(struct sasl_conn *c, const struct sasl_server_config *cfg,
                        const char *mechanism, int64_t now_ms) {
  int rc;
  if (!c->on || c->authenticated || c->failed || cfg == NULL) {
    fail(c, now_ms);
    return STRATA_EILLEGAL_SASL_STATE;
  }
  if (c->srv == NULL) {
    c->srv = malloc(sizeof *c->srv);
    if (c->srv == NULL) {
      fail(c, now_ms);
      return STRATA_ENOMEM;
    }
    sasl_sv_init(c->srv, cfg);
  }
  rc = sasl_sv_handshake(c->srv, mechanism);
  if (rc == STRATA_EILLEGAL_SASL_STATE)
    fail(c, now_ms);
  return rc;
}

int sasl_conn_authenticate(struct sasl_conn *c, const uint8_t *in, size_t len, uint8_t *out,
                           size_t out_cap, size_t *out_len, int64_t now_ms) {
  int rc;
  *out_len = 0;
  if (!c->on || c->authenticated || c->failed || c->srv == NULL) {
    fail(c, now_ms);
    return STRATA_EILLEGAL_SASL_STATE;
  }
  rc = sasl_sv_step(c->srv, in, len, out, out_cap, out_len);
  if (rc != 0) {
    snprintf(c->user, sizeof c->user, "%s", c->srv->user); /* for the log line */
    fail(c, now_ms);
    return rc;
  }
  if (c->srv->state == SASL_SRV_DONE && strlen(c->srv->user) > PRINCIPAL_MAX - 6) {
    /* "User:" + the name must fit a principal whole: a cut name could be
     * someone else's */
    snprintf(c->user, sizeof c->user, "%s", c->srv->user);
    fail(c, now_ms);
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  }
  if (c->srv->state == SASL_SRV_DONE) {
    c->authenticated = 1;
    c->mech = c->srv->mech;
    snprintf(c->user, sizeof c->user, "%s", c->srv->user);
    sasl_conn_free(c);
  }
  return 0;
}

void sasl_conn_principal(const struct sasl_conn *c, struct principal *p) {
  if (!c->authenticated)
    return;
  size_t n = strlen(c->user);
  if (n > sizeof p->name - 6)
    return; /* never: sasl_conn_authenticate refuses such names */
  memcpy(p->name, "User:", 5);
  memcpy(p->name + 5, c->user, n + 1);
  p->authenticated = 1;
}
