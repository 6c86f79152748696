/* common/tls.c driven in memory: a client and a server engine joined by
 * copying each one's output into the other's input. Certificates come from
 * tests/security/tls_certs.sh into a temp dir removed after each test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/tls.h"

static char dir[64];

static void make_certs(void) {
  snprintf(dir, sizeof dir, "/tmp/strata-tlsunit.XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp");
  char cmd[256];
  snprintf(cmd, sizeof cmd, "tests/security/tls_certs.sh %s", dir);
  cr_assert_eq(system(cmd), 0, "tests/security/tls_certs.sh (needs openssl, run from the repo root)");
}

static void remove_certs(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(tls, .init = make_certs, .fini = remove_certs);

static void path(char *out, const char *name) {
  snprintf(out, TLS_PATH_MAX, "%s/%s", dir, name);
}

static struct tls_settings server_settings(enum tls_client_auth auth, const char *rules) {
  struct tls_settings s;
  tls_settings_default(&s);
  path(s.cert_file, "server.pem");
  path(s.key_file, "server.key");
  path(s.ca_file, "ca.pem");
  s.client_auth = auth;
  snprintf(s.mapping_rules, sizeof s.mapping_rules, "%s", rules ? rules : "");
  return s;
}

/* A client with the test CA and, when `who` is set, WHO.pem/WHO.key. */
static struct tls_ctx *client_ctx(const char *who, const char *ca) {
  struct tls_settings s;
  tls_settings_default(&s);
  path(s.ca_file, ca ? ca : "ca.pem");
  if (who) {
    char n[64];
    snprintf(n, sizeof n, "%s.pem", who);
    path(s.cert_file, n);
    snprintf(n, sizeof n, "%s.key", who);
    path(s.key_file, n);
  }
  struct tls_ctx *ctx;
  char err[256];
  int rc = tls_ctx_new(TLS_ROLE_CLIENT, &s, &ctx, err, sizeof err);
  cr_assert_eq(rc, 0, "client ctx: %s", err);
  return ctx;
}

static struct tls_ctx *server_ctx(enum tls_client_auth auth, const char *rules) {
  struct tls_settings s = server_settings(auth, rules);
  struct tls_ctx *ctx;
  char err[256];
  int rc = tls_ctx_new(TLS_ROLE_SERVER, &s, &ctx, err, sizeof err);
  cr_assert_eq(rc, 0, "server ctx: %s", err);
  return ctx;
}

/* Move every pending byte from a to b; returns how many moved. */
static size_t move(struct tls_conn *a, struct tls_conn *b) {
  static unsigned char buf[1 << 16];
  size_t total = 0, n;
  while ((n = tls_conn_out_take(a, buf, sizeof buf)) > 0) {
    cr_assert_eq(tls_conn_feed(b, buf, n), 0);
    total += n;
  }
  return total;
}

/* Run both handshakes until neither moves; returns the server's result
 * (the client's in *client_rc). */
static int handshake(struct tls_conn *cl, struct tls_conn *sv, int *client_rc) {
  int crc = 0, src = 0;
  for (int i = 0; i < 20; i++) {
    crc = tls_conn_handshake(cl);
    move(cl, sv);
    src = tls_conn_handshake(sv);
    size_t moved = move(sv, cl);
    if (crc < 0 || src < 0) break;
    if (crc == 1 && src == 1 && !moved) break;
  }
  /* TLS 1.3: the client finishes first; a server refusal (bad client
   * certificate) arrives as an alert on the client's next read. */
  char b[16];
  if (crc == 1 && src < 0) crc = (int)tls_conn_read(cl, b, sizeof b) < 0 ? STRATA_ENETWORK : crc;
  if (client_rc) *client_rc = crc;
  return src;
}

Test(tls, handshake_maps_the_client_certificate_to_a_principal) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_REQUIRED, NULL), *cc = client_ctx("client", NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  int crc;
  cr_assert_eq(handshake(cl, sv, &crc), 1, "server: %s", tls_conn_error(sv));
  cr_assert_eq(crc, 1, "client: %s", tls_conn_error(cl));
  struct principal p = {.name = "User:ANONYMOUS"};
  cr_assert_eq(tls_conn_peer_principal(sv, &p), 1);
  cr_expect_str_eq(p.name, "User:CN=alice,OU=eng,O=strata");
  cr_expect_eq(p.authenticated, 1);
  cr_expect_str_eq(tls_conn_peer_dn(cl), "CN=broker-1,O=strata");
  cr_expect(!strcmp(tls_conn_version(sv), "TLSv1.3"), "version %s", tls_conn_version(sv));
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

Test(tls, mapping_rules_shorten_the_principal) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_REQUIRED, "RULE:^CN=(.*?),.*$/$1/U,DEFAULT");
  struct tls_ctx *cc = client_ctx("client", NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "localhost");
  cr_assert_eq(handshake(cl, sv, NULL), 1, "server: %s", tls_conn_error(sv));
  struct principal p;
  memset(&p, 0, sizeof p);
  cr_assert_eq(tls_conn_peer_principal(sv, &p), 1);
  cr_expect_str_eq(p.name, "User:ALICE");
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

Test(tls, a_certificate_no_rule_maps_is_refused) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_REQUIRED, "RULE:^CN=bob,.*$/bob/");
  struct tls_ctx *cc = client_ctx("client", NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  cr_expect_lt(handshake(cl, sv, NULL), 0);
  cr_expect(strstr(tls_conn_error(sv), "mapping"), "%s", tls_conn_error(sv));
  struct principal p = {.name = "x"};
  cr_expect_eq(tls_conn_peer_principal(sv, &p), 0);
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

static void refused_client(enum tls_client_auth auth, const char *who, const char *ca,
                           const char *why) {
  struct tls_ctx *sc = server_ctx(auth, NULL), *cc = client_ctx(who, ca);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  int crc;
  int src = handshake(cl, sv, &crc);
  cr_expect_lt(src, 0, "%s: the server accepted", why);
  cr_expect_lt(crc, 0, "%s: the client did not learn it was refused", why);
  cr_expect_eq(tls_conn_write(sv, "x", 1), STRATA_ENETWORK);
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

Test(tls, required_client_auth_refuses_no_certificate) {
  refused_client(TLS_CLIENT_AUTH_REQUIRED, NULL, NULL, "no certificate");
}

Test(tls, a_client_certificate_from_another_ca_is_refused) {
  refused_client(TLS_CLIENT_AUTH_REQUIRED, "other-client", NULL, "other CA");
  refused_client(TLS_CLIENT_AUTH_REQUESTED, "other-client", NULL, "other CA, requested");
}

Test(tls, an_expired_or_not_yet_valid_client_certificate_is_refused) {
  refused_client(TLS_CLIENT_AUTH_REQUIRED, "expired", NULL, "expired");
  refused_client(TLS_CLIENT_AUTH_REQUIRED, "future", NULL, "not yet valid");
}

Test(tls, requested_client_auth_without_certificate_is_anonymous) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_REQUESTED, NULL), *cc = client_ctx(NULL, NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  cr_assert_eq(handshake(cl, sv, NULL), 1, "server: %s", tls_conn_error(sv));
  struct principal p = {.name = PRINCIPAL_ANONYMOUS};
  cr_expect_eq(tls_conn_peer_principal(sv, &p), 0);
  cr_expect_str_eq(p.name, PRINCIPAL_ANONYMOUS);
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

Test(tls, the_client_checks_the_server_name_and_ip) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_NONE, NULL);
  const char *names[] = {"127.0.0.9", "broker-7.example", "127.0.0.2", "localhost"};
  int want_ok[] = {0, 0, 1, 1};
  for (int i = 0; i < 4; i++) {
    struct tls_ctx *cc = client_ctx(NULL, NULL);
    struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, names[i]);
    int crc;
    handshake(cl, sv, &crc);
    if (want_ok[i]) cr_expect_eq(crc, 1, "%s: %s", names[i], tls_conn_error(cl));
    else cr_expect_lt(crc, 0, "%s accepted for a certificate that does not name it", names[i]);
    tls_conn_free(cl);
    tls_conn_free(sv);
    tls_ctx_unref(cc);
  }
  /* A client that does not know the CA refuses the server. */
  struct tls_ctx *cc = client_ctx(NULL, "other-ca.pem");
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  int crc;
  handshake(cl, sv, &crc);
  cr_expect_lt(crc, 0);
  cr_expect(strstr(tls_conn_error(cl), "verify"), "%s", tls_conn_error(cl));
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

/* 1 MiB each way, written in slices of at most TLS_SLICE, read back whole. */
Test(tls, large_payloads_go_through_in_slices) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_NONE, NULL), *cc = client_ctx(NULL, NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  cr_assert_eq(handshake(cl, sv, NULL), 1);
  size_t len = 1 << 20;
  unsigned char *src = malloc(len), *dst = malloc(len + 1);
  for (size_t i = 0; i < len; i++) src[i] = (unsigned char)(i * 7 + 3);
  size_t sent = 0, got = 0;
  int slices = 0;
  while (got < len) {
    if (sent < len) {
      ssize_t n = tls_conn_write(sv, src + sent, len - sent);
      cr_assert_gt(n, 0);
      cr_assert_leq((size_t)n, TLS_SLICE);
      cr_assert_lt(tls_conn_out_pending(sv), TLS_SLICE + 1024, "one slice of ciphertext pending");
      sent += (size_t)n;
      slices++;
    }
    move(sv, cl);
    ssize_t r;
    while ((r = tls_conn_read(cl, dst + got, len + 1 - got)) > 0) got += (size_t)r;
    cr_assert_geq(r, 0, "%s", tls_conn_error(cl));
  }
  cr_expect_eq(got, len);
  cr_expect(!memcmp(src, dst, len));
  cr_expect_geq(slices, (int)(len / TLS_SLICE));
  free(src);
  free(dst);
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

Test(tls, close_notify_reads_as_closed) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_NONE, NULL), *cc = client_ctx(NULL, NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  cr_assert_eq(handshake(cl, sv, NULL), 1);
  cr_assert_eq(tls_conn_write(cl, "hello", 5), 5);
  tls_conn_shutdown(cl);
  cr_expect_eq(tls_conn_write(cl, "x", 1), STRATA_ENETWORK, "no writes after close_notify");
  move(cl, sv);
  char b[16];
  cr_expect_eq(tls_conn_read(sv, b, sizeof b), 5);
  cr_expect_eq(tls_conn_read(sv, b, sizeof b), TLS_READ_CLOSED);
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_ctx_unref(cc);
  tls_ctx_unref(sc);
}

Test(tls, plaintext_bytes_fail_the_handshake) {
  struct tls_ctx *sc = server_ctx(TLS_CLIENT_AUTH_NONE, NULL);
  struct tls_conn *sv = tls_conn_new(sc, NULL);
  const char junk[] = "\0\0\0\x10GET / HTTP/1.1\r\n\r\n";
  cr_assert_eq(tls_conn_feed(sv, junk, sizeof junk), 0);
  cr_expect_lt(tls_conn_handshake(sv), 0);
  cr_expect_neq(tls_conn_error(sv)[0], 0);
  char b[8];
  cr_expect_eq(tls_conn_read(sv, b, sizeof b), STRATA_ENETWORK);
  tls_conn_shutdown(sv); /* a no-op after a fatal error */
  tls_conn_free(sv);
  tls_ctx_unref(sc);
}

/* SIGHUP rotation: a connection keeps the context it started with after
 * the listener dropped it; new connections get the new certificate. */
Test(tls, a_connection_outlives_its_replaced_context) {
  struct tls_ctx *old = server_ctx(TLS_CLIENT_AUTH_NONE, NULL), *cc = client_ctx(NULL, NULL);
  struct tls_conn *sv = tls_conn_new(old, NULL), *cl = tls_conn_new(cc, "127.0.0.1");
  tls_ctx_unref(old); /* the listener swapped it out */
  struct tls_settings s = server_settings(TLS_CLIENT_AUTH_NONE, NULL);
  path(s.cert_file, "server2.pem");
  path(s.key_file, "server2.key");
  struct tls_ctx *fresh;
  char err[256];
  cr_assert_eq(tls_ctx_new(TLS_ROLE_SERVER, &s, &fresh, err, sizeof err), 0, "%s", err);
  cr_assert_eq(handshake(cl, sv, NULL), 1);
  cr_expect_str_eq(tls_conn_peer_dn(cl), "CN=broker-1,O=strata");
  struct tls_conn *sv2 = tls_conn_new(fresh, NULL), *cl2 = tls_conn_new(cc, "127.0.0.1");
  cr_assert_eq(handshake(cl2, sv2, NULL), 1);
  cr_expect_str_eq(tls_conn_peer_dn(cl2), "CN=broker-1-rotated,O=strata");
  cr_expect_gt(tls_ctx_cert_not_after(fresh), 1700000000);
  tls_conn_free(cl);
  tls_conn_free(sv);
  tls_conn_free(cl2);
  tls_conn_free(sv2);
  tls_ctx_unref(fresh);
  tls_ctx_unref(cc);
}

Test(tls, bad_settings_fail_with_a_reason) {
  struct tls_settings s;
  tls_settings_default(&s);
  struct tls_ctx *ctx;
  char err[256];
  cr_expect_eq(tls_ctx_new(TLS_ROLE_SERVER, &s, &ctx, err, sizeof err), STRATA_EINVALID_CONFIG);
  s = server_settings(TLS_CLIENT_AUTH_NONE, NULL);
  path(s.key_file, "client.key");
  cr_expect_eq(tls_ctx_new(TLS_ROLE_SERVER, &s, &ctx, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_expect(strstr(err, "client.key"), "%s", err);
  s = server_settings(TLS_CLIENT_AUTH_NONE, NULL);
  path(s.cert_file, "missing.pem");
  cr_expect_eq(tls_ctx_new(TLS_ROLE_SERVER, &s, &ctx, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_expect(strstr(err, "missing.pem"), "%s", err);
  s = server_settings(TLS_CLIENT_AUTH_NONE, "RULE:^CN=(.*?),.*$/$2/");
  cr_expect_eq(tls_ctx_new(TLS_ROLE_SERVER, &s, &ctx, err, sizeof err), STRATA_EINVALID_CONFIG);
  cr_expect_eq(tls_settings_set(&s, "ssl.client.auth", "maybe", err, sizeof err),
               STRATA_EINVALID_CONFIG);
  cr_expect_eq(tls_settings_set(&s, "ssl.client.auth", "required", err, sizeof err), 1);
  cr_expect_eq(s.client_auth, TLS_CLIENT_AUTH_REQUIRED);
  cr_expect_eq(tls_settings_set(&s, "ssl.endpoint.identification.algorithm", "", err, sizeof err), 1);
  cr_expect_eq(s.verify_host, 0);
  cr_expect_eq(tls_settings_set(&s, "sasl.mechanism", "PLAIN", err, sizeof err), 0);
}
