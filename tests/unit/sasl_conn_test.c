/* One connection's login (common/sasl_conn.c): what runs before it, the
 * frame cap, the deadline, the failure delay, and that no exchange state
 * outlives the exchange. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/errors.h"
#include "common/sasl_conn.h"

static struct scram_credential bob;

static const struct scram_credential *lookup(void *arg, const char *user, enum scram_mech m) {
  (void)arg;
  return strcmp(user, "bob") == 0 && m == SCRAM_SHA_512 ? &bob : NULL;
}

static struct sasl_server_config cfg;

static void setup(void) {
  cr_assert_eq(scram_credential_make(SCRAM_SHA_512, "pw", 2, 4096, NULL, 0, &bob), 0);
  memset(&cfg, 0, sizeof cfg);
  cfg.mechs = SASL_MECH_BIT(SASL_PLAIN) | SASL_MECHS_DEFAULT;
  cfg.lookup = lookup;
}

TestSuite(sasl_conn, .init = setup);

static int plain(struct sasl_conn *c, const char *msg, size_t len, int64_t now) {
  uint8_t out[64];
  size_t ol;
  cr_assert_eq(sasl_conn_handshake(c, &cfg, "PLAIN", now), 0);
  return sasl_conn_authenticate(c, (const uint8_t *)msg, len, out, sizeof out, &ol, now);
}

Test(sasl_conn, only_login_requests_before_login) {
  struct sasl_conn c;
  sasl_conn_init(&c, 1, 1000);
  cr_assert(sasl_conn_allows(&c, 18)); /* ApiVersions */
  cr_assert(sasl_conn_allows(&c, 17));
  cr_assert(sasl_conn_allows(&c, 36));
  for (int k = 0; k < 80; k++)
    if (k != 17 && k != 18 && k != 36) cr_assert(!sasl_conn_allows(&c, k), "api key %d", k);
  cr_assert_eq(plain(&c, "\0bob\0pw", 7, 1000), 0);
  cr_assert(c.authenticated);
  cr_assert(sasl_conn_allows(&c, 0) && sasl_conn_allows(&c, 1) && sasl_conn_allows(&c, 62));
  cr_assert_null(c.srv, "exchange state kept after the login");
  sasl_conn_free(&c);
}

Test(sasl_conn, a_listener_without_sasl_allows_everything_and_refuses_login) {
  struct sasl_conn c;
  sasl_conn_init(&c, 0, 0);
  cr_assert(sasl_conn_allows(&c, 0));
  cr_assert_eq(sasl_conn_frame_max(&c, 100u << 20), 100u << 20);
  cr_assert(!sasl_conn_expired(&c, 1000000));
  cr_assert_eq(sasl_conn_handshake(&c, &cfg, "PLAIN", 5), STRATA_EILLEGAL_SASL_STATE);
  cr_assert(c.failed);
}

Test(sasl_conn, frame_cap_before_login) {
  struct sasl_conn c;
  sasl_conn_init(&c, 1, 0);
  cr_assert_eq(sasl_conn_frame_max(&c, 100u << 20), 512u * 1024);
  cr_assert_eq(sasl_conn_frame_max(&c, 65536), 65536);
  cr_assert_eq(plain(&c, "\0bob\0pw", 7, 0), 0);
  cr_assert_eq(sasl_conn_frame_max(&c, 100u << 20), 100u << 20);
  sasl_conn_free(&c);
}

Test(sasl_conn, deadline_ten_seconds_from_accept) {
  struct sasl_conn c;
  sasl_conn_init(&c, 1, 5000);
  cr_assert(!sasl_conn_expired(&c, 14999));
  cr_assert(sasl_conn_expired(&c, 15000));
  cr_assert_eq(plain(&c, "\0bob\0pw", 7, 6000), 0);
  cr_assert(!sasl_conn_expired(&c, 1000000), "an authenticated connection has no deadline");
}

Test(sasl_conn, failure_closes_after_the_delay_and_wipes_state) {
  struct sasl_conn c;
  sasl_conn_init(&c, 1, 0);
  cr_assert_eq(plain(&c, "\0bob\0wrong", 10, 2000), STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert(c.failed);
  cr_assert_null(c.srv);
  cr_assert(!sasl_conn_allows(&c, 18), "nothing runs after a failed login");
  cr_assert(!sasl_conn_expired(&c, 2099));
  cr_assert(sasl_conn_expired(&c, 2100));
}

Test(sasl_conn, unknown_user_and_authzid_fail_like_a_wrong_password) {
  struct sasl_conn c;
  sasl_conn_init(&c, 1, 0);
  cr_assert_eq(plain(&c, "\0eve\0pw", 7, 0), STRATA_ESASL_AUTHENTICATION_FAILED);
  sasl_conn_init(&c, 1, 0);
  cr_assert_eq(plain(&c, "admin\0bob\0pw", 12, 0), STRATA_ESASL_AUTHENTICATION_FAILED);
}

Test(sasl_conn, refused_request_fails_the_connection) {
  struct sasl_conn c;
  sasl_conn_init(&c, 1, 0);
  sasl_conn_refuse(&c, 50);
  cr_assert(c.failed);
  cr_assert(sasl_conn_expired(&c, 150));
}

Test(sasl_conn, authenticate_without_handshake_is_illegal) {
  struct sasl_conn c;
  uint8_t out[16];
  size_t ol;
  sasl_conn_init(&c, 1, 0);
  cr_assert_eq(sasl_conn_authenticate(&c, (const uint8_t *)"x", 1, out, sizeof out, &ol, 0),
               STRATA_EILLEGAL_SASL_STATE);
  cr_assert(c.failed);
}

Test(sasl_conn, principal_is_user_colon_name) {
  struct sasl_conn c;
  struct principal p = {.name = "User:ANONYMOUS", .host = "127.0.0.9"};
  sasl_conn_init(&c, 1, 0);
  sasl_conn_principal(&c, &p);
  cr_assert_str_eq(p.name, "User:ANONYMOUS", "no principal before the login");
  cr_assert_eq(plain(&c, "\0bob\0pw", 7, 0), 0);
  sasl_conn_principal(&c, &p);
  cr_assert_str_eq(p.name, "User:bob");
  cr_assert_str_eq(p.host, "127.0.0.9");
  cr_assert(p.authenticated);
}
