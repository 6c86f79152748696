/* SCRAM-SHA-256/512 (RFC 5802, RFC 7677) on OpenSSL's primitives: credential
 * derivation, the four messages (parse and build) and both sides of one
 * exchange. Pure: no I/O, no clock; randomness only through RAND_bytes in
 * scram_nonce_make and a NULL salt. Secrets are compared with CRYPTO_memcmp
 * only (Kafka CVE-2021-38153). */
#include "scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

enum scram_mech scram_mech_parse(const char *name) {
  if (name == NULL)
    return 0;
  if (strcmp(name, "SCRAM-SHA-256") == 0)
    return SCRAM_SHA_256;
  if (strcmp(name, "SCRAM-SHA-512") == 0)
    return SCRAM_SHA_512;
  return 0;
}

const char *scram_mech_name(enum scram_mech m) {
  switch (m) {
  case SCRAM_SHA_256: return "SCRAM-SHA-256";
  case SCRAM_SHA_512: return "SCRAM-SHA-512";
  }
  return "";
}

size_t scram_key_len(enum scram_mech m) {
  switch (m) {
  case SCRAM_SHA_256: return 32;
  case SCRAM_SHA_512: return 64;
  }
  return 0;
}

static const EVP_MD *md_of(enum scram_mech m) {
  switch (m) {
  case SCRAM_SHA_256: return EVP_sha256();
  case SCRAM_SHA_512: return EVP_sha512();
  }
  return NULL;
}

int scram_nonce_make(char out[SCRAM_CLIENT_NONCE_LEN + 1]) {
  uint8_t raw[18];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return STRATA_EUNKNOWN;
  if (scram_b64_encode(raw, sizeof raw, out, SCRAM_CLIENT_NONCE_LEN + 1) < 0)
    return STRATA_EUNKNOWN;
  return 0;
}

int scram_salted_password(enum scram_mech m, const char *password, size_t password_len,
                          const uint8_t *salt, size_t salt_len, int32_t iterations,
                          uint8_t *out) {
  const EVP_MD *md = md_of(m);
  if (md == NULL || (password == NULL && password_len > 0) || salt == NULL || salt_len == 0 ||
      iterations <= 0 || password_len > 0x7fffffff || salt_len > 0x7fffffff)
    return STRATA_EINVALID_ARGUMENT;
  if (PKCS5_PBKDF2_HMAC(password ? password : "", (int)password_len, salt, (int)salt_len,
                        iterations, md, (int)scram_key_len(m), out) != 1)
    return STRATA_EUNKNOWN;
  return 0;
}

int scram_hmac(enum scram_mech m, const uint8_t *key, size_t key_len, const void *data,
               size_t len, uint8_t *out) {
  const EVP_MD *md = md_of(m);
  unsigned int n = 0;
  if (md == NULL || key_len > 0x7fffffff)
    return STRATA_EINVALID_ARGUMENT;
  if (HMAC(md, key, (int)key_len, data, len, out, &n) == NULL || n != scram_key_len(m))
    return STRATA_EUNKNOWN;
  return 0;
}

static int hash(enum scram_mech m, const uint8_t *data, size_t len, uint8_t *out) {
  const EVP_MD *md = md_of(m);
  unsigned int n = 0;
  if (md == NULL)
    return STRATA_EINVALID_ARGUMENT;
  if (EVP_Digest(data, len, out, &n, md, NULL) != 1 || n != scram_key_len(m))
    return STRATA_EUNKNOWN;
  return 0;
}

/* StoredKey and ServerKey from SaltedPassword (RFC 5802 section 3). */
static int keys_from_salted(enum scram_mech m, const uint8_t *salted, uint8_t *stored,
                            uint8_t *server) {
  size_t kl = scram_key_len(m);
  uint8_t client_key[SCRAM_KEY_MAX];
  int rc = scram_hmac(m, salted, kl, "Client Key", 10, client_key);
  if (rc == 0)
    rc = hash(m, client_key, kl, stored);
  if (rc == 0 && server != NULL)
    rc = scram_hmac(m, salted, kl, "Server Key", 10, server);
  OPENSSL_cleanse(client_key, sizeof client_key);
  return rc;
}

int scram_credential_make(enum scram_mech m, const char *password, size_t password_len,
                          int32_t iterations, const uint8_t *salt, size_t salt_len,
                          struct scram_credential *out) {
  uint8_t salted[SCRAM_KEY_MAX];
  uint8_t random_salt[32];
  int rc;
  if (out == NULL || md_of(m) == NULL || (password == NULL && password_len > 0))
    return STRATA_EINVALID_ARGUMENT;
  if (iterations < SCRAM_ITERATIONS_MIN || iterations > SCRAM_ITERATIONS_MAX)
    return STRATA_EINVALID_CONFIG;
  if (salt == NULL) {
    if (RAND_bytes(random_salt, sizeof random_salt) != 1)
      return STRATA_EUNKNOWN;
    salt = random_salt;
    salt_len = sizeof random_salt;
  }
  if (salt_len == 0 || salt_len > SCRAM_SALT_MAX)
    return STRATA_EINVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  rc = scram_salted_password(m, password, password_len, salt, salt_len, iterations, salted);
  if (rc == 0)
    rc = keys_from_salted(m, salted, out->stored_key, out->server_key);
  OPENSSL_cleanse(salted, sizeof salted);
  if (rc != 0) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  out->mech = (uint8_t)m;
  out->iterations = iterations;
  memcpy(out->salt, salt, salt_len);
  out->salt_len = salt_len;
  out->key_len = scram_key_len(m);
  return 0;
}

int scram_credential_check_password(const struct scram_credential *c, const char *password,
                                    size_t password_len) {
  uint8_t salted[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX];
  enum scram_mech m = (enum scram_mech)c->mech;
  int ok = 0;
  if (scram_key_len(m) == 0 || c->key_len != scram_key_len(m) || c->salt_len == 0 ||
      c->salt_len > SCRAM_SALT_MAX)
    return 0;
  if (scram_salted_password(m, password, password_len, c->salt, c->salt_len, c->iterations,
                            salted) == 0 &&
      keys_from_salted(m, salted, stored, NULL) == 0)
    ok = CRYPTO_memcmp(stored, c->stored_key, c->key_len) == 0;
  OPENSSL_cleanse(salted, sizeof salted);
  OPENSSL_cleanse(stored, sizeof stored);
  return ok;
}

/* ---- base64 ---------------------------------------------------------------- */

int scram_b64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap) {
  size_t need = 4 * ((len + 2) / 3) + 1;
  if (out_cap < need || len > 0x3fffffff)
    return -1;
  return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static int b64_value(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+')
    return 62;
  if (ch == '/')
    return 63;
  return -1;
}

/* Strict decoder: EVP_DecodeBlock skips white space and counts padding as
 * output, so the checks it lacks are done here first. */
int scram_b64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap) {
  size_t pad = 0, n;
  uint8_t tmp[3 * (SCRAM_MSG_MAX / 4) + 3];
  if (len % 4 != 0 || len > SCRAM_MSG_MAX)
    return -1;
  if (len == 0)
    return 0;
  if (in[len - 1] == '=')
    pad = in[len - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < len - pad; i++)
    if (b64_value((unsigned char)in[i]) < 0)
      return -1;
  n = len / 4 * 3 - pad;
  if (n > out_cap)
    return -1;
  if (EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len) != (int)(len / 4 * 3))
    return -1;
  memcpy(out, tmp, n);
  OPENSSL_cleanse(tmp, len / 4 * 3);
  return (int)n;
}

/* ---- message parsing --------------------------------------------------------- */

/* A cursor over one message: attributes "k=value" separated by ','. */
struct cur {
  const char *p;
  size_t len, off;
};

/* Reads "<key>=" where key is ALPHA+ (one letter for the RFC attributes,
 * longer for Kafka's extensions such as tokenauth) and the value up to the
 * next ',' or the end. Returns 0 or -1. */
static int next_attr(struct cur *c, char *key, size_t key_cap, const char **val, size_t *vlen) {
  size_t k = 0;
  while (c->off < c->len && ((c->p[c->off] >= 'a' && c->p[c->off] <= 'z') ||
                             (c->p[c->off] >= 'A' && c->p[c->off] <= 'Z'))) {
    if (k + 1 >= key_cap)
      return -1;
    key[k++] = c->p[c->off++];
  }
  key[k] = 0;
  if (k == 0 || c->off >= c->len || c->p[c->off] != '=')
    return -1;
  c->off++;
  *val = c->p + c->off;
  while (c->off < c->len && c->p[c->off] != ',')
    c->off++;
  *vlen = (size_t)(c->p + c->off - *val);
  return 0;
}

/* At the end, or eat one ','. Returns 1 at the end, 0 after a ',', -1 when
 * a ',' ends the message (an empty attribute follows). */
static int at_end_or_comma(struct cur *c) {
  if (c->off >= c->len)
    return 1;
  c->off++; /* next_attr stops only at ',' */
  return c->off >= c->len ? -1 : 0;
}

/* saslname: '=' only as =2C or =3D; no ',' (the cursor ensures it). */
static int decode_name(const char *v, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = v[i];
    if (ch == '=') {
      if (i + 2 >= n)
        return -1;
      if (v[i + 1] == '2' && v[i + 2] == 'C')
        ch = ',';
      else if (v[i + 1] == '3' && v[i + 2] == 'D')
        ch = '=';
      else
        return -1;
      i += 2;
    }
    if (o + 1 >= cap)
      return -1;
    out[o++] = ch;
  }
  if (o == 0)
    return -1;
  out[o] = 0;
  return 0;
}

int scram_escape_name(const char *name, char *out, size_t out_cap) {
  size_t o = 0;
  for (const char *p = name; *p; p++) {
    const char *rep = *p == ',' ? "=2C" : *p == '=' ? "=3D" : NULL;
    size_t n = rep ? 3 : 1;
    if (o + n + 1 > out_cap)
      return -1;
    if (rep)
      memcpy(out + o, rep, 3);
    else
      out[o] = *p;
    o += n;
  }
  if (o + 1 > out_cap)
    return -1;
  out[o] = 0;
  return (int)o;
}

/* printable = %x21-2B / %x2D-7E */
static int copy_nonce(const char *v, size_t n, char *out) {
  if (n == 0 || n > SCRAM_NONCE_MAX)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',')
      return -1;
  memcpy(out, v, n);
  out[n] = 0;
  return 0;
}

/* Extensions after the required attributes: any ALPHA+ key other than the
 * RFC's one-letter ones, each once, value without NUL (checked earlier). */
#define SCRAM_EXT_MAX 8
struct ext_seen {
  char keys[SCRAM_EXT_MAX][16];
  int n;
};

static int ext_ok(struct ext_seen *e, const char *key) {
  if (key[1] == 0 && strchr("acnmrpsiev", key[0]) != NULL)
    return -1; /* a duplicate or misplaced RFC attribute */
  if (e->n >= SCRAM_EXT_MAX)
    return -1;
  for (int i = 0; i < e->n; i++)
    if (strcmp(e->keys[i], key) == 0)
      return -1;
  snprintf(e->keys[e->n++], sizeof e->keys[0], "%s", key);
  return 0;
}

static int msg_ok(const char *msg, size_t len) {
  return msg != NULL && len > 0 && len <= SCRAM_MSG_MAX && memchr(msg, 0, len) == NULL;
}

#define BAD STRATA_EINVALID_REQUEST

int scram_parse_client_first(const char *msg, size_t len, struct scram_client_first *out) {
  struct cur c = {msg, len, 0};
  char key[16];
  const char *v;
  size_t n;
  struct ext_seen ext = {.n = 0};
  int e;
  if (!msg_ok(msg, len))
    return BAD;
  memset(out, 0, sizeof *out);
  /* gs2-cbind-flag: "n" or "y"; "p=" (channel binding) is not offered */
  if (len < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
    return BAD;
  out->cbind = msg[0];
  c.off = 2;
  if (msg[2] != ',') {
    if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "a") != 0 ||
        decode_name(v, n, out->authzid, sizeof out->authzid) != 0)
      return BAD;
    if (c.off >= len)
      return BAD;
  }
  c.off++; /* the ',' ending the gs2 header */
  out->gs2_len = c.off;
  out->bare_off = c.off;
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "n") != 0 ||
      decode_name(v, n, out->user, sizeof out->user) != 0)
    return BAD; /* also "m=" (a mandatory extension we do not know) */
  if (at_end_or_comma(&c) != 0)
    return BAD;
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "r") != 0 ||
      copy_nonce(v, n, out->nonce) != 0)
    return BAD;
  while ((e = at_end_or_comma(&c)) == 0) {
    if (next_attr(&c, key, sizeof key, &v, &n) != 0 || ext_ok(&ext, key) != 0)
      return BAD;
  }
  return e == 1 ? 0 : BAD;
}

static int parse_int32(const char *v, size_t n, int32_t *out) {
  int64_t x = 0;
  if (n == 0 || n > 10 || v[0] == '0')
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return -1;
    x = x * 10 + (v[i] - '0');
  }
  if (x > 0x7fffffff)
    return -1;
  *out = (int32_t)x;
  return 0;
}

int scram_parse_server_first(const char *msg, size_t len, struct scram_server_first *out) {
  struct cur c = {msg, len, 0};
  char key[16];
  const char *v;
  size_t n;
  int rc, e;
  struct ext_seen ext = {.n = 0};
  if (!msg_ok(msg, len))
    return BAD;
  memset(out, 0, sizeof *out);
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "r") != 0 ||
      copy_nonce(v, n, out->nonce) != 0 || at_end_or_comma(&c) != 0)
    return BAD;
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "s") != 0)
    return BAD;
  rc = scram_b64_decode(v, n, out->salt, sizeof out->salt);
  if (rc <= 0 || at_end_or_comma(&c) != 0)
    return BAD;
  out->salt_len = (size_t)rc;
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "i") != 0 ||
      parse_int32(v, n, &out->iterations) != 0)
    return BAD;
  while ((e = at_end_or_comma(&c)) == 0)
    if (next_attr(&c, key, sizeof key, &v, &n) != 0 || ext_ok(&ext, key) != 0)
      return BAD;
  return e == 1 ? 0 : BAD;
}

int scram_parse_client_final(const char *msg, size_t len, struct scram_client_final *out) {
  struct cur c = {msg, len, 0};
  char key[16];
  const char *v;
  size_t n, before;
  int rc;
  struct ext_seen ext = {.n = 0};
  if (!msg_ok(msg, len))
    return BAD;
  memset(out, 0, sizeof *out);
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "c") != 0 || n == 0 ||
      n >= sizeof out->cbind_b64)
    return BAD;
  memcpy(out->cbind_b64, v, n);
  out->cbind_b64[n] = 0;
  if (at_end_or_comma(&c) != 0)
    return BAD;
  if (next_attr(&c, key, sizeof key, &v, &n) != 0 || strcmp(key, "r") != 0 ||
      copy_nonce(v, n, out->nonce) != 0)
    return BAD;
  for (;;) {
    before = c.off;
    if (at_end_or_comma(&c) != 0)
      return BAD; /* the proof is required and last */
    if (next_attr(&c, key, sizeof key, &v, &n) != 0)
      return BAD;
    if (strcmp(key, "p") == 0)
      break;
    if (ext_ok(&ext, key) != 0)
      return BAD;
  }
  if (c.off != len)
    return BAD; /* something after the proof */
  out->without_proof_len = before;
  rc = scram_b64_decode(v, n, out->proof, sizeof out->proof);
  if (rc <= 0)
    return BAD;
  out->proof_len = (size_t)rc;
  return 0;
}

int scram_parse_server_final(const char *msg, size_t len, uint8_t *sig, size_t *sig_len,
                             char *err, size_t err_cap) {
  struct cur c = {msg, len, 0};
  char key[16];
  const char *v;
  size_t n;
  int rc;
  if (err_cap > 0)
    err[0] = 0;
  if (!msg_ok(msg, len) || next_attr(&c, key, sizeof key, &v, &n) != 0)
    return BAD;
  if (strcmp(key, "e") == 0) {
    if (err_cap > 0)
      snprintf(err, err_cap, "%.*s", (int)n, v);
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  }
  if (strcmp(key, "v") != 0)
    return BAD;
  rc = scram_b64_decode(v, n, sig, SCRAM_KEY_MAX);
  if (rc <= 0)
    return BAD;
  *sig_len = (size_t)rc;
  /* extensions after v= are allowed and ignored */
  return 0;
}

/* ---- the server side ------------------------------------------------------------ */

static int auth_append(char *auth, size_t *auth_len, size_t cap, const char *p, size_t n) {
  if (*auth_len + n + 1 > cap)
    return -1;
  memcpy(auth + *auth_len, p, n);
  *auth_len += n;
  auth[*auth_len] = 0;
  return 0;
}

/* RFC 5802 section 9: an unknown user gets a salt and keys derived from a
 * server secret and the name, so the answer looks like a real user's and is
 * stable across attempts; the proof can never verify (known = 0). */
int scram_credential_fake(enum scram_mech m, const char *user, const uint8_t *secret,
                          size_t secret_len, struct scram_credential *out) {
  char buf[SCRAM_USER_MAX + 32];
  uint8_t mac[SCRAM_KEY_MAX];
  int n, rc;
  memset(out, 0, sizeof *out);
  if (scram_key_len(m) == 0 || user == NULL || strlen(user) > SCRAM_USER_MAX)
    return STRATA_EINVALID_ARGUMENT;
  n = snprintf(buf, sizeof buf, "salt:%s:%s", scram_mech_name(m), user);
  rc = scram_hmac(m, secret, secret_len, buf, (size_t)n, mac);
  if (rc != 0)
    return rc;
  memcpy(out->salt, mac, 32); /* scram_credential_make's random salt is 32 bytes too */
  out->salt_len = 32;
  n = snprintf(buf, sizeof buf, "keys:%s:%s", scram_mech_name(m), user);
  rc = scram_hmac(m, secret, secret_len, buf, (size_t)n, out->stored_key);
  if (rc == 0)
    rc = scram_hmac(m, out->stored_key, scram_key_len(m), "server", 6, out->server_key);
  out->mech = (uint8_t)m;
  out->iterations = SCRAM_ITERATIONS_DEFAULT;
  out->key_len = scram_key_len(m);
  return rc;
}

int scram_server_first(struct scram_server *s, enum scram_mech m, const char *msg, size_t len,
                       const struct scram_credential *cred, const uint8_t *secret,
                       size_t secret_len, const char *server_nonce, char *out, size_t out_cap) {
  char salt_b64[4 * (SCRAM_SALT_MAX + 2) / 3 + 4];
  size_t cn, sn;
  int rc, w;
  memset(s, 0, sizeof *s);
  if (scram_key_len(m) == 0 || server_nonce == NULL || secret == NULL)
    return STRATA_EINVALID_ARGUMENT;
  rc = scram_parse_client_first(msg, len, &s->cf);
  if (rc != 0)
    return rc;
  /* CVE-2017-12610: an authzid may only name the user itself */
  if (s->cf.authzid[0] != 0 && strcmp(s->cf.authzid, s->cf.user) != 0)
    return STRATA_EINVALID_REQUEST;
  s->mech = m;
  if (cred != NULL && cred->mech == (uint8_t)m && cred->key_len == scram_key_len(m) &&
      cred->salt_len > 0 && cred->salt_len <= SCRAM_SALT_MAX &&
      cred->iterations >= SCRAM_ITERATIONS_MIN && cred->iterations <= SCRAM_ITERATIONS_MAX) {
    s->cred = *cred;
    s->known = 1;
  } else {
    rc = scram_credential_fake(m, s->cf.user, secret, secret_len, &s->cred);
    if (rc != 0)
      return rc;
    s->known = 0;
  }
  cn = strlen(s->cf.nonce);
  sn = strlen(server_nonce);
  if (sn == 0 || cn + sn > SCRAM_NONCE_MAX || copy_nonce(server_nonce, sn, s->nonce) != 0)
    return STRATA_EINVALID_REQUEST;
  memcpy(s->nonce, s->cf.nonce, cn);
  memcpy(s->nonce + cn, server_nonce, sn);
  s->nonce[cn + sn] = 0;
  if (scram_b64_encode(s->cred.salt, s->cred.salt_len, salt_b64, sizeof salt_b64) < 0)
    return STRATA_EUNKNOWN;
  w = snprintf(out, out_cap, "r=%s,s=%s,i=%d", s->nonce, salt_b64, (int)s->cred.iterations);
  if (w < 0 || (size_t)w >= out_cap)
    return STRATA_ETOO_LARGE;
  memcpy(s->gs2, msg, s->cf.gs2_len);
  s->gs2_len = s->cf.gs2_len;
  if (auth_append(s->auth, &s->auth_len, sizeof s->auth, msg + s->cf.bare_off,
                  len - s->cf.bare_off) != 0 ||
      auth_append(s->auth, &s->auth_len, sizeof s->auth, ",", 1) != 0 ||
      auth_append(s->auth, &s->auth_len, sizeof s->auth, out, (size_t)w) != 0 ||
      auth_append(s->auth, &s->auth_len, sizeof s->auth, ",", 1) != 0)
    return STRATA_ETOO_LARGE;
  return w;
}

/* got == expect, or got == client nonce + expect (see scram_server_final). */
static int nonce_matches(const char *got, const char *expect, size_t nl, size_t cn) {
  size_t gl = strlen(got);
  if (gl == nl)
    return CRYPTO_memcmp(got, expect, nl) == 0;
  if (gl == cn + nl && cn < nl)
    return CRYPTO_memcmp(got, expect, cn) == 0 && CRYPTO_memcmp(got + cn, expect, nl) == 0;
  return 0;
}

int scram_server_final(struct scram_server *s, const char *msg, size_t len, char *out,
                       size_t out_cap) {
  struct scram_client_final cf;
  uint8_t cbind[sizeof s->gs2], sig[SCRAM_KEY_MAX], key[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX];
  char sig_b64[4 * (SCRAM_KEY_MAX + 2) / 3 + 4], expect[SCRAM_NONCE_MAX + 1];
  size_t kl = scram_key_len(s->mech), nl = strlen(s->nonce);
  int rc, n, ok;
  if (kl == 0 || nl == 0)
    return STRATA_EILLEGAL_SASL_STATE; /* no server-first, or already used */
  memcpy(expect, s->nonce, nl + 1);
  s->nonce[0] = 0; /* one attempt per exchange */
  rc = scram_parse_client_final(msg, len, &cf);
  if (rc != 0)
    return rc;
  /* c= carries the gs2 header of the client-first, nothing else */
  n = scram_b64_decode(cf.cbind_b64, strlen(cf.cbind_b64), cbind, sizeof cbind);
  if (n < 0 || (size_t)n != s->gs2_len || memcmp(cbind, s->gs2, s->gs2_len) != 0)
    return STRATA_EINVALID_REQUEST;
  /* CVE-2024-56128: the nonce must be the one this server sent. One other
   * form is accepted: librdkafka before 2.6.1 (Debian 12 ships 2.0.2; its
   * PR 4895) sends the client nonce once more in front of it, which Kafka
   * 3.8.1 to 3.9 accept too. Both forms carry this exchange's fresh server
   * nonce whole, so a replayed client-final still fails. */
  if (!nonce_matches(cf.nonce, expect, nl, strlen(s->cf.nonce)))
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  if (cf.proof_len != kl)
    return STRATA_EINVALID_REQUEST;
  if (auth_append(s->auth, &s->auth_len, sizeof s->auth, msg, cf.without_proof_len) != 0)
    return STRATA_ETOO_LARGE;
  /* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) == StoredKey */
  rc = scram_hmac(s->mech, s->cred.stored_key, kl, s->auth, s->auth_len, sig);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < kl; i++)
    key[i] = cf.proof[i] ^ sig[i];
  rc = hash(s->mech, key, kl, stored);
  OPENSSL_cleanse(key, sizeof key);
  if (rc != 0)
    return rc;
  ok = CRYPTO_memcmp(stored, s->cred.stored_key, kl) == 0;
  if (!ok || !s->known)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  rc = scram_hmac(s->mech, s->cred.server_key, kl, s->auth, s->auth_len, sig);
  if (rc != 0 || scram_b64_encode(sig, kl, sig_b64, sizeof sig_b64) < 0)
    return rc != 0 ? rc : STRATA_EUNKNOWN;
  n = snprintf(out, out_cap, "v=%s", sig_b64);
  if (n < 0 || (size_t)n >= out_cap)
    return STRATA_ETOO_LARGE;
  return n;
}

/* ---- the client side -------------------------------------------------------------- */

int scram_client_first(struct scram_client *c, enum scram_mech m, const char *user,
                       const char *nonce, char *out, size_t out_cap) {
  char esc[3 * SCRAM_USER_MAX + 1];
  size_t nl;
  int n;
  memset(c, 0, sizeof *c);
  if (scram_key_len(m) == 0 || user == NULL || nonce == NULL || user[0] == 0 ||
      strlen(user) > SCRAM_USER_MAX)
    return STRATA_EINVALID_ARGUMENT;
  nl = strlen(nonce);
  if (nl > SCRAM_CLIENT_NONCE_LEN || copy_nonce(nonce, nl, c->nonce) != 0)
    return STRATA_EINVALID_ARGUMENT;
  if (scram_escape_name(user, esc, sizeof esc) < 0)
    return STRATA_EINVALID_ARGUMENT;
  c->mech = m;
  c->key_len = scram_key_len(m);
  n = snprintf(out, out_cap, "n,,n=%s,r=%s", esc, c->nonce);
  if (n < 0 || (size_t)n >= out_cap)
    return STRATA_ETOO_LARGE;
  if (auth_append(c->auth, &c->auth_len, sizeof c->auth, out + 3, (size_t)n - 3) != 0 ||
      auth_append(c->auth, &c->auth_len, sizeof c->auth, ",", 1) != 0)
    return STRATA_ETOO_LARGE;
  return n;
}

int scram_client_final(struct scram_client *c, const char *password, size_t password_len,
                       const char *server_first, size_t len, char *out, size_t out_cap) {
  struct scram_server_first sf;
  uint8_t salted[SCRAM_KEY_MAX], ckey[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX],
      sig[SCRAM_KEY_MAX], skey[SCRAM_KEY_MAX];
  char proof_b64[4 * (SCRAM_KEY_MAX + 2) / 3 + 4];
  size_t kl = c->key_len, cn = strlen(c->nonce);
  int rc, n, wp;
  if (kl == 0 || cn == 0)
    return STRATA_EILLEGAL_SASL_STATE;
  rc = scram_parse_server_first(server_first, len, &sf);
  if (rc != 0)
    return rc;
  if (strlen(sf.nonce) <= cn || memcmp(sf.nonce, c->nonce, cn) != 0)
    return STRATA_ESASL_AUTHENTICATION_FAILED; /* not an extension of our nonce */
  if (sf.iterations < SCRAM_ITERATIONS_MIN || sf.iterations > SCRAM_ITERATIONS_MAX)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  if (auth_append(c->auth, &c->auth_len, sizeof c->auth, server_first, len) != 0 ||
      auth_append(c->auth, &c->auth_len, sizeof c->auth, ",", 1) != 0)
    return STRATA_ETOO_LARGE;
  wp = snprintf(out, out_cap, "c=biws,r=%s", sf.nonce);
  if (wp < 0 || (size_t)wp >= out_cap ||
      auth_append(c->auth, &c->auth_len, sizeof c->auth, out, (size_t)wp) != 0)
    return STRATA_ETOO_LARGE;
  rc = scram_salted_password(c->mech, password, password_len, sf.salt, sf.salt_len,
                             sf.iterations, salted);
  if (rc == 0)
    rc = scram_hmac(c->mech, salted, kl, "Client Key", 10, ckey);
  if (rc == 0)
    rc = hash(c->mech, ckey, kl, stored);
  if (rc == 0)
    rc = scram_hmac(c->mech, stored, kl, c->auth, c->auth_len, sig);
  if (rc == 0)
    rc = scram_hmac(c->mech, salted, kl, "Server Key", 10, skey);
  if (rc == 0)
    rc = scram_hmac(c->mech, skey, kl, c->auth, c->auth_len, c->server_signature);
  for (size_t i = 0; i < kl; i++)
    ckey[i] ^= sig[i];
  OPENSSL_cleanse(salted, sizeof salted);
  OPENSSL_cleanse(skey, sizeof skey);
  if (rc == 0 && scram_b64_encode(ckey, kl, proof_b64, sizeof proof_b64) < 0)
    rc = STRATA_EUNKNOWN;
  OPENSSL_cleanse(ckey, sizeof ckey);
  if (rc != 0)
    return rc;
  n = snprintf(out + wp, out_cap - (size_t)wp, ",p=%s", proof_b64);
  if (n < 0 || (size_t)n >= out_cap - (size_t)wp)
    return STRATA_ETOO_LARGE;
  return wp + n;
}

int scram_client_verify(struct scram_client *c, const char *server_final, size_t len) {
  uint8_t sig[SCRAM_KEY_MAX];
  size_t sig_len = 0;
  char err[64];
  int rc = scram_parse_server_final(server_final, len, sig, &sig_len, err, sizeof err);
  if (rc != 0)
    return rc;
  if (c->key_len == 0 || sig_len != c->key_len ||
      CRYPTO_memcmp(sig, c->server_signature, c->key_len) != 0)
    return STRATA_ESASL_AUTHENTICATION_FAILED;
  return 0;
}
