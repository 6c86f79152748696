/* SASL server and client state machines (see sasl.h). */
#include "sasl.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "errors.h"

enum sasl_mech sasl_mech_parse(const char *name) {
  if (name == NULL)
    return 0;
  if (strcmp(name, "PLAIN") == 0)
    return SASL_PLAIN;
  if (strcmp(name, "SCRAM-SHA-256") == 0)
    return SASL_SCRAM_SHA_256;
  if (strcmp(name, "SCRAM-SHA-512") == 0)
    return SASL_SCRAM_SHA_512;
  return 0;
}

const char *sasl_mech_name(enum sasl_mech m) {
  switch (m) {
  case SASL_PLAIN: return "PLAIN";
  case SASL_SCRAM_SHA_256: return "SCRAM-SHA-256";
  case SASL_SCRAM_SHA_512: return "SCRAM-SHA-512";
  }
  return "";
}

static enum scram_mech scram_of(enum sasl_mech m) {
  return m == SASL_SCRAM_SHA_256 ? SCRAM_SHA_256 : m == SASL_SCRAM_SHA_512 ? SCRAM_SHA_512 : 0;
}

int sasl_mechs_parse(const char *list, unsigned *mask) {
  char name[32];
  unsigned m = 0;
  const char *p = list;
  if (list == NULL)
    return STRATA_EINVALID_CONFIG;
  while (*p) {
    size_t n = 0;
    enum sasl_mech mech;
    while (*p == ' ' || *p == '\t')
      p++;
    while (p[n] && p[n] != ',' && p[n] != ' ' && p[n] != '\t')
      n++;
    if (n == 0 || n >= sizeof name)
      return STRATA_EINVALID_CONFIG;
    memcpy(name, p, n);
    name[n] = 0;
    mech = sasl_mech_parse(name);
    if (mech == 0)
      return STRATA_EINVALID_CONFIG;
    m |= SASL_MECH_BIT(mech);
    p += n;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == ',') {
      p++;
      if (*p == 0)
        return STRATA_EINVALID_CONFIG;
    } else if (*p) {
      return STRATA_EINVALID_CONFIG;
    }
  }
  if (m == 0)
    return STRATA_EINVALID_CONFIG;
  *mask = m;
  return 0;
}

int sasl_sv_config_secret(struct sasl_server_config *cfg) {
  return RAND_bytes(cfg->secret, sizeof cfg->secret) == 1 ? 0 : STRATA_EUNKNOWN;
}

int sasl_sv_mechanisms(const struct sasl_server_config *cfg, const char *names[3]) {
  static const enum sasl_mech order[] = {SASL_SCRAM_SHA_512, SASL_SCRAM_SHA_256, SASL_PLAIN};
  int n = 0;
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    if (cfg->mechs & SASL_MECH_BIT(order[i]))
      names[n++] = sasl_mech_name(order[i]);
  return n;
}

void sasl_sv_init(struct sasl_server *s, const struct sasl_server_config *cfg) {
  memset(s, 0, sizeof *s);
  s->cfg = cfg;
}

void sasl_sv_clear(struct sasl_server *s) {
  const struct sasl_server_config *cfg = s->cfg;
  OPENSSL_cleanse(s, sizeof *s);
  s->cfg = cfg;
}

int sasl_sv_handshake(struct sasl_server *s, const char *mechanism) {
  enum sasl_mech m;
  if (s->state != SASL_SRV_START) {
    s->state = SASL_SRV_FAILED;
    return STRATA_EILLEGAL_SASL_STATE;
  }
  m = sasl_mech_parse(mechanism);
  if (m == 0 || !(s->cfg->mechs & SASL_MECH_BIT(m)))
    return STRATA_EUNSUPPORTED_SASL_MECHANISM;
  s->mech = m;
  s->state = SASL_SRV_HANDSHAKEN;
  return 0;
}

/* The user's credential for a mechanism through the lookup, copied. */
static int lookup(struct sasl_server *s, const char *user, enum scram_mech m,
                  struct scram_credential *out) {
  const struct scram_credential *c;
  if (s->cfg->lookup == NULL)
    return 0;
  c = s->cfg->lookup(s->cfg->lookup_arg, user, m);
  if (c == NULL || c->mech != (uint8_t)m)
    return 0;
  *out = *c;
  return 1;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. PLAIN is checked against the
 * user's SCRAM credential (SHA-512 first); an unknown user costs the same
 * PBKDF2 as a known one, on a fake credential. */
static int plain_step(struct sasl_server *s, const uint8_t *in, size_t len) {
  const char *p = (const char *)in, *nul1, *nul2, *user, *pass;
  size_t authz_len, user_len, pass_len;
  struct scram_credential cred;
  int known, ok;
  nul1 = memchr(p, 0, len);
  if (nul1 == NULL)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  authz_len = (size_t)(nul1 - p);
  user = nul1 + 1;
  nul2 = memchr(user, 0, len - authz_len - 1);
  if (nul2 == NULL)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  user_len = (size_t)(nul2 - user);
  pass = nul2 + 1;
  pass_len = len - authz_len - user_len - 2;
  if (user_len == 0 || user_len > SCRAM_USER_MAX || pass_len > SASL_PASSWORD_MAX ||
      memchr(pass, 0, pass_len) != NULL)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  /* CVE-2017-12610: authorizing as someone else is not allowed */
  if (authz_len != 0 && (authz_len != user_len || memcmp(p, user, user_len) != 0))
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  memcpy(s->user, user, user_len);
  s->user[user_len] = 0;
  known = lookup(s, s->user, SCRAM_SHA_512, &cred) || lookup(s, s->user, SCRAM_SHA_256, &cred);
  if (!known && scram_credential_fake(SCRAM_SHA_512, s->user, s->cfg->secret,
                                      sizeof s->cfg->secret, &cred) != 0)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  ok = scram_credential_check_password(&cred, pass, pass_len);
  OPENSSL_cleanse(&cred, sizeof cred);
  return ok && known ? 0 : STRATA_ESASL_AUTHENTICATION_FAILED;
}

static int scram_first_step(struct sasl_server *s, const uint8_t *in, size_t len, uint8_t *out,
                            size_t out_cap, size_t *out_len) {
  struct scram_client_first cf;
  struct scram_credential cred;
  char nonce[SCRAM_CLIENT_NONCE_LEN + 1];
  enum scram_mech m = scram_of(s->mech);
  int known, rc;
  if (scram_parse_client_first((const char *)in, len, &cf) != 0)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  if (scram_nonce_make(nonce) != 0)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  known = lookup(s, cf.user, m, &cred);
  rc = scram_server_first(&s->scram, m, (const char *)in, len, known ? &cred : NULL,
                          s->cfg->secret, sizeof s->cfg->secret, nonce, (char *)out, out_cap);
  OPENSSL_cleanse(&cred, sizeof cred);
  if (rc < 0)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  memcpy(s->user, cf.user, sizeof s->user);
  *out_len = (size_t)rc;
  return 0;
}

int sasl_sv_step(struct sasl_server *s, const uint8_t *in, size_t len, uint8_t *out,
                     size_t out_cap, size_t *out_len) {
  int rc;
  *out_len = 0;
  if (s->state != SASL_SRV_HANDSHAKEN && s->state != SASL_SRV_SCRAM_FINAL) {
    s->state = SASL_SRV_FAILED;
    return STRATA_EILLEGAL_SASL_STATE;
  }
  if (in == NULL || len == 0 || len > SASL_TOKEN_MAX) {
    rc = STRATA_ESASL_AUTHENTICATION_FAILED;
  } else if (s->mech == SASL_PLAIN) {
    rc = plain_step(s, in, len);
    if (rc == 0)
      s->state = SASL_SRV_DONE;
  } else if (s->state == SASL_SRV_HANDSHAKEN) {
    rc = scram_first_step(s, in, len, out, out_cap, out_len);
    if (rc == 0)
      s->state = SASL_SRV_SCRAM_FINAL;
  } else {
    rc = scram_server_final(&s->scram, (const char *)in, len, (char *)out, out_cap);
    if (rc >= 0) {
      *out_len = (size_t)rc;
      rc = 0;
      s->state = SASL_SRV_DONE;
    } else {
      rc = STRATA_ESASL_AUTHENTICATION_FAILED;
    }
  }
  /* nothing of the exchange is kept past its end but the user name */
  if (s->state == SASL_SRV_DONE)
    OPENSSL_cleanse(&s->scram, sizeof s->scram);
  if (rc != 0) {
    char user[sizeof s->user];
    memcpy(user, s->user, sizeof user);
    sasl_sv_clear(s);
    memcpy(s->user, user, sizeof user); /* for the failure's log line */
    s->state = SASL_SRV_FAILED;
    *out_len = 0;
  }
  return rc;
}

/* ---- client ---------------------------------------------------------------------- */

int sasl_cl_init(struct sasl_client *c, enum sasl_mech mech, const char *user,
                     const char *password) {
  size_t ul, pl;
  memset(c, 0, sizeof *c);
  if (user == NULL || password == NULL || sasl_mech_name(mech)[0] == 0)
    return STRATA_EINVALID_ARGUMENT;
  ul = strlen(user);
  pl = strlen(password);
  if (ul == 0 || ul > SCRAM_USER_MAX || pl > SASL_PASSWORD_MAX)
    return STRATA_EINVALID_ARGUMENT;
  c->mech = mech;
  memcpy(c->user, user, ul + 1);
  memcpy(c->password, password, pl + 1);
  c->password_len = pl;
  return 0;
}

void sasl_cl_clear(struct sasl_client *c) { OPENSSL_cleanse(c, sizeof *c); }

int sasl_cl_start(struct sasl_client *c, uint8_t *out, size_t out_cap, size_t *out_len) {
  char nonce[SCRAM_CLIENT_NONCE_LEN + 1];
  size_t ul = strlen(c->user);
  int rc;
  *out_len = 0;
  if (c->state != SASL_CLI_START)
    return STRATA_EILLEGAL_SASL_STATE;
  if (c->mech == SASL_PLAIN) {
    if (out_cap < ul + c->password_len + 2)
      return STRATA_ETOO_LARGE;
    out[0] = 0;
    memcpy(out + 1, c->user, ul);
    out[1 + ul] = 0;
    memcpy(out + 2 + ul, c->password, c->password_len);
    *out_len = ul + c->password_len + 2;
    c->state = SASL_CLI_SENT_FINAL;
    return 0;
  }
  rc = scram_nonce_make(nonce);
  if (rc == 0)
    rc = scram_client_first(&c->scram, scram_of(c->mech), c->user, nonce, (char *)out, out_cap);
  if (rc < 0) {
    c->state = SASL_CLI_FAILED;
    return rc;
  }
  *out_len = (size_t)rc;
  c->state = SASL_CLI_SENT_FIRST;
  return 0;
}

int sasl_cl_step(struct sasl_client *c, const uint8_t *in, size_t len, uint8_t *out,
                     size_t out_cap, size_t *out_len, int *done) {
  int rc;
  *out_len = 0;
  *done = 0;
  if (c->state == SASL_CLI_SENT_FIRST) {
    rc = scram_client_final(&c->scram, c->password, c->password_len, (const char *)in, len,
                            (char *)out, out_cap);
    if (rc < 0) {
      c->state = SASL_CLI_FAILED;
      return STRATA_ESASL_AUTHENTICATION_FAILED;
    }
    *out_len = (size_t)rc;
    c->state = SASL_CLI_SENT_FINAL;
    return 0;
  }
  if (c->state != SASL_CLI_SENT_FINAL)
    return STRATA_EILLEGAL_SASL_STATE;
  if (c->mech == SASL_PLAIN) {
    rc = 0; /* PLAIN's answer is empty; success is the error code */
  } else {
    rc = scram_client_verify(&c->scram, (const char *)in, len) == 0
             ? 0
             : STRATA_ESASL_AUTHENTICATION_FAILED;
  }
  c->state = rc == 0 ? SASL_CLI_DONE : SASL_CLI_FAILED;
  *done = rc == 0;
  return rc;
}
