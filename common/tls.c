/* TLS engine over two memory BIOs (tls.h). Everything OpenSSL-specific in
 * Strata is in this file; callers see bytes in and bytes out. */
#include "common/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/errors.h"
#include "common/tls_rules.h"

const char *const tls_settings_keys[] = {
    "ssl.certificate.location", "ssl.key.location", "ssl.ca.location", "ssl.client.auth",
    "ssl.principal.mapping.rules", "ssl.endpoint.identification.algorithm", NULL};

void tls_settings_default(struct tls_settings *s) {
  memset(s, 0, sizeof *s);
  s->client_auth = TLS_CLIENT_AUTH_NONE;
  s->verify_host = 1;
}

static int copy_setting(char *dst, size_t cap, const char *key, const char *value, char *err,
                        size_t err_len) {
  size_t n = strlen(value);
  if (n >= cap) {
    snprintf(err, err_len, "%s: longer than %zu bytes", key, cap - 1);
    return STRATA_EINVALID_CONFIG;
  }
  memcpy(dst, value, n + 1);
  return 1;
}

int tls_settings_set(struct tls_settings *s, const char *key, const char *value, char *err,
                     size_t err_len) {
  if (!strcmp(key, "ssl.certificate.location"))
    return copy_setting(s->cert_file, sizeof s->cert_file, key, value, err, err_len);
  if (!strcmp(key, "ssl.key.location"))
    return copy_setting(s->key_file, sizeof s->key_file, key, value, err, err_len);
  if (!strcmp(key, "ssl.ca.location"))
    return copy_setting(s->ca_file, sizeof s->ca_file, key, value, err, err_len);
  if (!strcmp(key, "ssl.principal.mapping.rules"))
    return copy_setting(s->mapping_rules, sizeof s->mapping_rules, key, value, err, err_len);
  if (!strcmp(key, "ssl.client.auth")) {
    if (!strcasecmp(value, "none")) s->client_auth = TLS_CLIENT_AUTH_NONE;
    else if (!strcasecmp(value, "requested")) s->client_auth = TLS_CLIENT_AUTH_REQUESTED;
    else if (!strcasecmp(value, "required")) s->client_auth = TLS_CLIENT_AUTH_REQUIRED;
    else {
      snprintf(err, err_len, "ssl.client.auth: expected none, requested or required, got '%s'",
               value);
      return STRATA_EINVALID_CONFIG;
    }
    return 1;
  }
  if (!strcmp(key, "ssl.endpoint.identification.algorithm")) {
    /* Kafka and librdkafka: "https" checks the host, "" or "none" does not. */
    if (!strcasecmp(value, "https")) s->verify_host = 1;
    else if (!*value || !strcasecmp(value, "none")) s->verify_host = 0;
    else {
      snprintf(err, err_len,
               "ssl.endpoint.identification.algorithm: expected https or none, got '%s'", value);
      return STRATA_EINVALID_CONFIG;
    }
    return 1;
  }
  return 0;
}

int tls_settings_from_config(const struct config *c, struct tls_settings *s, char *err,
                             size_t err_len) {
  tls_settings_default(s);
  for (size_t i = 0; tls_settings_keys[i]; i++) {
    const char *v = config_get(c, tls_settings_keys[i]);
    if (!v) continue;
    int rc = tls_settings_set(s, tls_settings_keys[i], v, err, err_len);
    if (rc < 0) return rc;
  }
  return 0;
}

/* ---- contexts ------------------------------------------------------------ */

struct tls_ctx {
  atomic_int refs; /* connections may be freed on another thread than the loop's */
  enum tls_role role;
  SSL_CTX *ssl;
  struct tls_rules *rules;
  int verify_host;
  int64_t not_after;
};

/* OpenSSL's reason for the last failure, with what we were doing. */
static void openssl_reason(char *err, size_t err_len, const char *what, const char *file) {
  unsigned long e = ERR_peek_last_error();
  char reason[256] = "unknown reason";
  if (e) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  if (file) snprintf(err, err_len, "%s '%s': %s", what, file, reason);
  else snprintf(err, err_len, "%s: %s", what, reason);
}

static int64_t cert_not_after(SSL_CTX *ssl) {
  X509 *x = SSL_CTX_get0_certificate(ssl);
  struct tm tm;
  if (!x || !ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) return -1;
  return (int64_t)timegm(&tm);
}

int tls_ctx_new(enum tls_role role, const struct tls_settings *s, struct tls_ctx **out,
                char *err, size_t err_len) {
  *out = NULL;
  int server = role == TLS_ROLE_SERVER;
  if (server && (!*s->cert_file || !*s->key_file)) {
    snprintf(err, err_len, "TLS listener needs ssl.certificate.location and ssl.key.location");
    return STRATA_EINVALID_CONFIG;
  }
  if (server && s->client_auth != TLS_CLIENT_AUTH_NONE && !*s->ca_file) {
    snprintf(err, err_len, "ssl.client.auth=%s needs ssl.ca.location (the CA client certificates "
             "must chain to)", s->client_auth == TLS_CLIENT_AUTH_REQUIRED ? "required" : "requested");
    return STRATA_EINVALID_CONFIG;
  }
  if (!*s->cert_file != !*s->key_file) {
    snprintf(err, err_len, "ssl.certificate.location and ssl.key.location go together");
    return STRATA_EINVALID_CONFIG;
  }
  struct tls_ctx *t = calloc(1, sizeof *t);
  if (!t) return STRATA_ENOMEM;
  atomic_init(&t->refs, 1);
  t->role = role;
  t->verify_host = s->verify_host;
  int rc = STRATA_EINVALID_CONFIG;
  if (server && (rc = tls_rules_parse(s->mapping_rules, &t->rules, err, err_len))) goto fail;
  rc = STRATA_EINVALID_CONFIG;
  ERR_clear_error();
  t->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!t->ssl) {
    openssl_reason(err, err_len, "SSL_CTX_new", NULL);
    rc = STRATA_ENOMEM;
    goto fail;
  }
  /* Pitfall 4: TLS 1.2 at least, no renegotiation (either way), no
   * compression. */
  SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION);
  SSL_CTX_set_options(t->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                  (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  /* AES-128-GCM first: as safe as AES-256 for this use and ~30% less CPU
   * per byte; replication is CPU-bound on small machines (scripts/bench-tls.sh
   * went from 66% to 77% of plaintext with it). Forward-secret AEAD only. */
  SSL_CTX_set_ciphersuites(t->ssl, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                   "TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_cipher_list(t->ssl, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  /* Idle connections keep no record buffers. */
  SSL_CTX_set_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_max_cert_list(t->ssl, TLS_MAX_CERT_LIST);
  if (server) {
    /* Every connection does a full handshake: no session cache, no tickets,
     * so a resumed session never outlives a rotated CA or a revoked client
     * (cluster connections are long-lived; the cost is one handshake each). */
    SSL_CTX_set_session_cache_mode(t->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(t->ssl, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(t->ssl, 0);
  }
  if (*s->cert_file) {
    if (SSL_CTX_use_certificate_chain_file(t->ssl, s->cert_file) != 1) {
      openssl_reason(err, err_len, "ssl.certificate.location", s->cert_file);
      goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ssl, s->key_file, SSL_FILETYPE_PEM) != 1) {
      openssl_reason(err, err_len, "ssl.key.location", s->key_file);
      goto fail;
    }
    if (SSL_CTX_check_private_key(t->ssl) != 1) {
      openssl_reason(err, err_len, "ssl.key.location does not match the certificate", s->key_file);
      goto fail;
    }
  }
  if (*s->ca_file) {
    if (SSL_CTX_load_verify_locations(t->ssl, s->ca_file, NULL) != 1) {
      openssl_reason(err, err_len, "ssl.ca.location", s->ca_file);
      goto fail;
    }
  } else if (!server && SSL_CTX_set_default_verify_paths(t->ssl) != 1) {
    openssl_reason(err, err_len, "the system CA store", NULL);
    goto fail;
  }
  if (server) {
    int mode = SSL_VERIFY_NONE;
    if (s->client_auth == TLS_CLIENT_AUTH_REQUESTED) mode = SSL_VERIFY_PEER;
    if (s->client_auth == TLS_CLIENT_AUTH_REQUIRED)
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(t->ssl, mode, NULL);
    if (mode != SSL_VERIFY_NONE) {
      STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(s->ca_file);
      if (names) SSL_CTX_set_client_CA_list(t->ssl, names);
      ERR_clear_error();
    }
  } else {
    SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
  }
  t->not_after = cert_not_after(t->ssl);
  *out = t;
  return 0;
fail:
  tls_ctx_unref(t);
  return rc;
}

void tls_ctx_ref(struct tls_ctx *ctx) { atomic_fetch_add(&ctx->refs, 1); }

void tls_ctx_unref(struct tls_ctx *ctx) {
  if (!ctx || atomic_fetch_sub(&ctx->refs, 1) != 1) return;
  SSL_CTX_free(ctx->ssl);
  tls_rules_free(ctx->rules);
  free(ctx);
}

int64_t tls_ctx_cert_not_after(const struct tls_ctx *ctx) { return ctx->not_after; }

/* ---- connections --------------------------------------------------------- */

struct tls_conn {
  struct tls_ctx *ctx;
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  int established, failed, shut, has_principal;
  char err[256];
  char dn[PRINCIPAL_MAX + 64];
  char principal[PRINCIPAL_MAX];
};

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *peer_name) {
  struct tls_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  ERR_clear_error();
  c->ssl = SSL_new(ctx->ssl);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (!c->ssl || !c->rbio || !c->wbio) goto fail;
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  if (ctx->role == TLS_ROLE_SERVER) {
    SSL_set_accept_state(c->ssl);
  } else {
    SSL_set_connect_state(c->ssl);
    if (peer_name && *peer_name) {
      unsigned char ip[16];
      int is_ip = inet_pton(AF_INET, peer_name, ip) == 1 || inet_pton(AF_INET6, peer_name, ip) == 1;
      /* Pitfall 9: the server's certificate must name the host we meant
       * (a DNS SAN for a name, an IP SAN for an address). SNI carries names
       * only (RFC 6066). */
      if (ctx->verify_host) {
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), peer_name)
                       : SSL_set1_host(c->ssl, peer_name);
        if (ok != 1) goto fail;
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      }
      if (!is_ip && SSL_set_tlsext_host_name(c->ssl, peer_name) != 1) goto fail;
    }
  }
  tls_ctx_ref(ctx);
  c->ctx = ctx;
  return c;
fail:
  ERR_clear_error();
  if (c->ssl) SSL_free(c->ssl); /* frees the BIOs once set */
  else {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
  }
  free(c);
  return NULL;
}

void tls_conn_free(struct tls_conn *c) {
  if (!c) return;
  SSL_free(c->ssl);
  tls_ctx_unref(c->ctx);
  free(c);
}

int tls_conn_feed(struct tls_conn *c, const void *data, size_t len) {
  if (!len) return 0;
  if (len > INT32_MAX) return STRATA_EINVALID_ARGUMENT;
  return BIO_write(c->rbio, data, (int)len) == (int)len ? 0 : STRATA_ENOMEM;
}

/* Record why the connection failed; after this no SSL call is made on it
 * again (pitfall 5: never SSL_shutdown after SSL_ERROR_SSL/SYSCALL). */
static int conn_fail(struct tls_conn *c, int sslerr, const char *why) {
  c->failed = 1;
  if (why) {
    snprintf(c->err, sizeof c->err, "%s", why);
  } else {
    long vr = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_last_error();
    if (vr != X509_V_OK) {
      snprintf(c->err, sizeof c->err, "certificate verify failed: %s",
               X509_verify_cert_error_string(vr));
    } else if (e) {
      ERR_error_string_n(e, c->err, sizeof c->err);
    } else {
      snprintf(c->err, sizeof c->err, "TLS error %d%s", sslerr,
               sslerr == SSL_ERROR_SYSCALL ? " (unexpected end of data)" : "");
    }
  }
  ERR_clear_error();
  return STRATA_ENETWORK;
}

/* The peer certificate's subject as RFC 2253 (most specific RDN first, as
 * Java's X500Principal.getName() gives it, so Kafka's rules apply), with
 * UTF-8 kept as is rather than escaped. */
static int subject_dn(X509 *x, char *out, size_t cap) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) return -1;
  int n = X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  int rc = -1;
  if (n >= 0 && (size_t)n < cap) {
    int got = BIO_read(b, out, n);
    out[got > 0 ? got : 0] = 0;
    rc = got == n ? 0 : -1;
    if (!n) rc = 0;
  }
  BIO_free(b);
  return rc;
}

/* Once established: note the peer's DN and (server) its principal. A
 * certificate without a matching mapping rule fails the connection, as in
 * Kafka. */
static int conn_established(struct tls_conn *c) {
  X509 *peer = SSL_get0_peer_certificate(c->ssl);
  c->established = 1;
  if (!peer) return 1;
  if (SSL_get_verify_result(c->ssl) != X509_V_OK) return conn_fail(c, 0, NULL);
  if (subject_dn(peer, c->dn, sizeof c->dn)) return conn_fail(c, 0, "peer certificate subject too long");
  if (c->ctx->role != TLS_ROLE_SERVER) return 1;
  char mapped[PRINCIPAL_MAX - 5]; /* room for "User:" */
  int rc = tls_rules_apply(c->ctx->rules, c->dn, mapped, sizeof mapped);
  if (rc) {
    char why[sizeof c->err];
    snprintf(why, sizeof why, "no ssl.principal.mapping.rules rule maps '%.180s'", c->dn);
    return conn_fail(c, 0, why);
  }
  memcpy(c->principal, "User:", 5);
  memcpy(c->principal + 5, mapped, strlen(mapped) + 1);
  c->has_principal = 1;
  return 1;
}

int tls_conn_handshake(struct tls_conn *c) {
  if (c->failed) return STRATA_ENETWORK;
  if (c->established) return 1;
  ERR_clear_error();
  int rc = SSL_do_handshake(c->ssl);
  if (rc == 1) return conn_established(c);
  int e = SSL_get_error(c->ssl, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  return conn_fail(c, e, NULL);
}

int tls_conn_established(const struct tls_conn *c) { return c->established && !c->failed; }

ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t cap) {
  if (c->failed) return STRATA_ENETWORK;
  if (!c->established) {
    int h = tls_conn_handshake(c);
    if (h <= 0) return h;
  }
  if (!cap) return 0;
  /* Pitfall 1: an empty error queue before every call; WANT_WRITE cannot
   * stall on a memory BIO (the write always fits), so both WANTs mean
   * "feed more". */
  ERR_clear_error();
  size_t n = 0;
  if (SSL_read_ex(c->ssl, buf, cap, &n) == 1) return (ssize_t)n;
  int e = SSL_get_error(c->ssl, 0);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  if (e == SSL_ERROR_ZERO_RETURN) return TLS_READ_CLOSED;
  return conn_fail(c, e, NULL);
}

ssize_t tls_conn_write(struct tls_conn *c, const void *data, size_t len) {
  if (c->failed || c->shut) return STRATA_ENETWORK;
  if (!c->established || !len) return 0;
  if (len > TLS_SLICE) len = TLS_SLICE;
  ERR_clear_error();
  size_t n = 0;
  if (SSL_write_ex(c->ssl, data, len, &n) == 1) return (ssize_t)n;
  int e = SSL_get_error(c->ssl, 0);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  return conn_fail(c, e, NULL);
}

size_t tls_conn_out_pending(const struct tls_conn *c) { return BIO_ctrl_pending(c->wbio); }

size_t tls_conn_out_take(struct tls_conn *c, void *buf, size_t cap) {
  if (!cap) return 0;
  if (cap > INT32_MAX) cap = INT32_MAX;
  int n = BIO_read(c->wbio, buf, (int)cap);
  return n > 0 ? (size_t)n : 0;
}

void tls_conn_shutdown(struct tls_conn *c) {
  if (c->failed || c->shut || !c->established) return;
  c->shut = 1;
  ERR_clear_error();
  SSL_shutdown(c->ssl); /* queues close_notify; we do not wait for the peer's */
  ERR_clear_error();
}

const char *tls_conn_error(const struct tls_conn *c) { return c->err; }

const char *tls_conn_version(const struct tls_conn *c) {
  return c->established ? SSL_get_version(c->ssl) : "";
}

int tls_conn_peer_principal(const struct tls_conn *c, struct principal *p) {
  if (!c->has_principal || c->failed) return 0;
  snprintf(p->name, sizeof p->name, "%s", c->principal);
  p->authenticated = 1;
  return 1;
}

const char *tls_conn_peer_dn(const struct tls_conn *c) { return c->dn; }
