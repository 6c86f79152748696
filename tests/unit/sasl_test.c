/* SASL state machines (common/sasl.c): a client against a server for each
 * mechanism, PLAIN's authzid rule, unknown users, states and the mechanism
 * list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/errors.h"
#include "common/sasl.h"

static struct scram_credential alice256, alice512;

static const struct scram_credential *lookup(void *arg, const char *user, enum scram_mech m) {
  (void)arg;
  if (strcmp(user, "alice") != 0)
    return NULL;
  return m == SCRAM_SHA_256 ? &alice256 : &alice512;
}

static struct sasl_server_config cfg;

static void setup(void) {
  cr_assert_eq(scram_credential_make(SCRAM_SHA_256, "alice-secret", 12, 4096, NULL, 0, &alice256),
               0);
  cr_assert_eq(scram_credential_make(SCRAM_SHA_512, "alice-secret", 12, 4096, NULL, 0, &alice512),
               0);
  memset(&cfg, 0, sizeof cfg);
  cfg.mechs = SASL_MECH_BIT(SASL_PLAIN) | SASL_MECHS_DEFAULT;
  cfg.lookup = lookup;
  cr_assert_eq(sasl_sv_config_secret(&cfg), 0);
}

/* Runs a whole exchange; returns the server's result (0 when authenticated). */
static int run_exchange(enum sasl_mech m, const char *user, const char *password,
                    struct sasl_server *s) {
  struct sasl_client c;
  uint8_t tok[SASL_TOKEN_MAX], ans[SASL_TOKEN_MAX];
  size_t tl = 0, al = 0;
  int done = 0, rc;
  sasl_sv_init(s, &cfg);
  cr_assert_eq(sasl_sv_handshake(s, sasl_mech_name(m)), 0);
  cr_assert_eq(sasl_cl_init(&c, m, user, password), 0);
  cr_assert_eq(sasl_cl_start(&c, tok, sizeof tok, &tl), 0);
  for (int round = 0; round < 3; round++) {
    rc = sasl_sv_step(s, tok, tl, ans, sizeof ans, &al);
    if (rc != 0)
      return rc;
    cr_assert_eq(sasl_cl_step(&c, ans, al, tok, sizeof tok, &tl, &done), 0);
    if (done) {
      cr_assert_eq(s->state, SASL_SRV_DONE);
      return 0;
    }
  }
  cr_assert_fail("exchange did not finish");
  return -1;
}

TestSuite(sasl, .init = setup);

Test(sasl, each_mechanism_authenticates_the_right_password) {
  struct sasl_server s;
  cr_assert_eq(run_exchange(SASL_SCRAM_SHA_256, "alice", "alice-secret", &s), 0);
  cr_assert_str_eq(s.user, "alice");
  cr_assert_eq(run_exchange(SASL_SCRAM_SHA_512, "alice", "alice-secret", &s), 0);
  cr_assert_eq(run_exchange(SASL_PLAIN, "alice", "alice-secret", &s), 0);
  cr_assert_str_eq(s.user, "alice");
}

Test(sasl, wrong_password_and_unknown_user_give_one_error) {
  struct sasl_server s;
  for (enum sasl_mech m = SASL_PLAIN; m <= SASL_SCRAM_SHA_512; m++) {
    cr_assert_eq(run_exchange(m, "alice", "wrong", &s), STRATA_ESASL_AUTHENTICATION_FAILED);
    cr_assert_eq(s.state, SASL_SRV_FAILED);
    cr_assert_eq(run_exchange(m, "mallory", "alice-secret", &s), STRATA_ESASL_AUTHENTICATION_FAILED);
    cr_assert_eq(s.state, SASL_SRV_FAILED);
  }
}

Test(sasl, plain_authzid_other_than_user_is_refused) {
  struct sasl_server s;
  uint8_t out[64];
  size_t ol;
  static const char as_admin[] = "admin\0alice\0alice-secret";
  static const char as_self[] = "alice\0alice\0alice-secret";
  sasl_sv_init(&s, &cfg);
  cr_assert_eq(sasl_sv_handshake(&s, "PLAIN"), 0);
  cr_assert_eq(sasl_sv_step(&s, (const uint8_t *)as_admin, sizeof as_admin - 1, out,
                                sizeof out, &ol),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  sasl_sv_init(&s, &cfg);
  cr_assert_eq(sasl_sv_handshake(&s, "PLAIN"), 0);
  cr_assert_eq(sasl_sv_step(&s, (const uint8_t *)as_self, sizeof as_self - 1, out,
                                sizeof out, &ol),
               0);
}

Test(sasl, malformed_plain_is_refused) {
  static const struct {
    const char *b;
    size_t n;
  } bad[] = {{"alice", 5}, {"\0alice", 6}, {"\0\0pw", 4}, {"\0alice\0pw\0x", 11}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct sasl_server s;
    uint8_t out[64];
    size_t ol;
    sasl_sv_init(&s, &cfg);
    cr_assert_eq(sasl_sv_handshake(&s, "PLAIN"), 0);
    cr_assert_eq(sasl_sv_step(&s, (const uint8_t *)bad[i].b, bad[i].n, out, sizeof out, &ol),
                 STRATA_ESASL_AUTHENTICATION_FAILED, "case %zu", i);
  }
}

Test(sasl, states_are_enforced) {
  struct sasl_server s;
  uint8_t out[64];
  size_t ol;
  /* a token before the handshake */
  sasl_sv_init(&s, &cfg);
  cr_assert_eq(sasl_sv_step(&s, (const uint8_t *)"x", 1, out, sizeof out, &ol),
               STRATA_EILLEGAL_SASL_STATE);
  /* a second handshake */
  sasl_sv_init(&s, &cfg);
  cr_assert_eq(sasl_sv_handshake(&s, "PLAIN"), 0);
  cr_assert_eq(sasl_sv_handshake(&s, "PLAIN"), STRATA_EILLEGAL_SASL_STATE);
  /* a token after success */
  cr_assert_eq(run_exchange(SASL_PLAIN, "alice", "alice-secret", &s), 0);
  cr_assert_eq(sasl_sv_step(&s, (const uint8_t *)"x", 1, out, sizeof out, &ol),
               STRATA_EILLEGAL_SASL_STATE);
}

Test(sasl, disabled_or_unknown_mechanism_is_unsupported) {
  struct sasl_server_config only_scram = cfg;
  struct sasl_server s;
  only_scram.mechs = SASL_MECHS_DEFAULT;
  sasl_sv_init(&s, &only_scram);
  cr_assert_eq(sasl_sv_handshake(&s, "PLAIN"), STRATA_EUNSUPPORTED_SASL_MECHANISM);
  cr_assert_eq(sasl_sv_handshake(&s, "GSSAPI"), STRATA_EUNSUPPORTED_SASL_MECHANISM);
  cr_assert_eq(s.state, SASL_SRV_START); /* may try another */
  cr_assert_eq(sasl_sv_handshake(&s, "SCRAM-SHA-256"), 0);
}

Test(sasl, mechanism_list_parses) {
  unsigned m = 0;
  const char *names[3];
  struct sasl_server_config c = {.mechs = 0};
  cr_assert_eq(sasl_mechs_parse("SCRAM-SHA-256, SCRAM-SHA-512,PLAIN", &m), 0);
  cr_assert_eq(m, SASL_MECH_BIT(SASL_PLAIN) | SASL_MECHS_DEFAULT);
  cr_assert_eq(sasl_mechs_parse("GSSAPI", &m), STRATA_EINVALID_CONFIG);
  cr_assert_eq(sasl_mechs_parse("", &m), STRATA_EINVALID_CONFIG);
  cr_assert_eq(sasl_mechs_parse("PLAIN,", &m), STRATA_EINVALID_CONFIG);
  cr_assert_eq(sasl_mechs_parse("OAUTHBEARER,PLAIN", &m), STRATA_EINVALID_CONFIG);
  c.mechs = SASL_MECH_BIT(SASL_PLAIN) | SASL_MECH_BIT(SASL_SCRAM_SHA_512);
  cr_assert_eq(sasl_sv_mechanisms(&c, names), 2);
  cr_assert_str_eq(names[0], "SCRAM-SHA-512");
  cr_assert_str_eq(names[1], "PLAIN");
}

Test(sasl, client_refuses_a_server_without_the_key) {
  /* a server that answers with a valid-looking but wrong signature */
  struct sasl_client c;
  uint8_t tok[SASL_TOKEN_MAX], next[SASL_TOKEN_MAX];
  size_t tl, nl;
  int done;
  char sf[256];
  cr_assert_eq(sasl_cl_init(&c, SASL_SCRAM_SHA_256, "alice", "alice-secret"), 0);
  cr_assert_eq(sasl_cl_start(&c, tok, sizeof tok, &tl), 0);
  snprintf(sf, sizeof sf, "r=%sSRV,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", c.scram.nonce);
  cr_assert_eq(sasl_cl_step(&c, (const uint8_t *)sf, strlen(sf), next, sizeof next, &nl, &done),
               0);
  cr_assert_eq(done, 0);
  cr_assert_eq(sasl_cl_step(&c, (const uint8_t *)"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
                                46, next, sizeof next, &nl, &done),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert_eq(done, 0);
}
