/* SCRAM (common/scram.c): the RFC 7677 test vector, credential bounds, and
 * the server's refusals (tampered nonce, replay, authzid, malformed input). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <string.h>

#include "common/errors.h"
#include "common/scram.h"

/* RFC 7677 section 3 */
#define RFC_CLIENT_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_CLIENT_FIRST "n,,n=user,r=" RFC_CLIENT_NONCE
#define RFC_SERVER_FIRST                                                                   \
  "r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL                                                                   \
  "c=biws,r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE                                            \
  ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const uint8_t secret[32] = {1, 2, 3};

static struct scram_credential rfc_credential(void) {
  struct scram_credential c;
  uint8_t salt[32];
  int n = scram_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof salt);
  cr_assert_eq(n, 16);
  cr_assert_eq(scram_credential_make(SCRAM_SHA_256, "pencil", 6, 4096, salt, (size_t)n, &c), 0);
  return c;
}

/* Runs the server's first step on the RFC client-first; returns its length. */
static int rfc_server_first(struct scram_server *s, const struct scram_credential *c,
                            char *out, size_t cap) {
  return scram_server_first(s, SCRAM_SHA_256, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), c,
                            secret, sizeof secret, RFC_SERVER_NONCE, out, cap);
}

Test(scram, client_matches_rfc7677_vector) {
  struct scram_client c;
  char out[512];
  int n = scram_client_first(&c, SCRAM_SHA_256, "user", RFC_CLIENT_NONCE, out, sizeof out);
  cr_assert_eq(n, (int)strlen(RFC_CLIENT_FIRST));
  cr_assert_str_eq(out, RFC_CLIENT_FIRST);
  n = scram_client_final(&c, "pencil", 6, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), out,
                         sizeof out);
  cr_assert_gt(n, 0);
  cr_assert_str_eq(out, RFC_CLIENT_FINAL);
  cr_assert_eq(scram_client_verify(&c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), 0);
  cr_assert_eq(scram_client_verify(&c, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 46),
               STRATA_ESASL_AUTHENTICATION_FAILED);
}

Test(scram, server_matches_rfc7677_vector) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char out[512];
  int n = rfc_server_first(&s, &cred, out, sizeof out);
  cr_assert_gt(n, 0);
  cr_assert_str_eq(out, RFC_SERVER_FIRST);
  n = scram_server_final(&s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof out);
  cr_assert_gt(n, 0);
  cr_assert_str_eq(out, RFC_SERVER_FINAL);
}

Test(scram, replayed_client_final_fails_on_a_new_exchange) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char out[512];
  /* a new connection draws a new server nonce: the old client-final no longer fits */
  cr_assert_gt(scram_server_first(&s, SCRAM_SHA_256, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST),
                                  &cred, secret, sizeof secret, "otherServerNonce", out,
                                  sizeof out),
               0);
  cr_assert_eq(scram_server_final(&s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  /* and the same exchange cannot be tried twice */
  cr_assert_gt(rfc_server_first(&s, &cred, out, sizeof out), 0);
  cr_assert_gt(scram_server_final(&s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof out),
               0);
  cr_assert_eq(scram_server_final(&s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof out),
               STRATA_EILLEGAL_SASL_STATE);
}

Test(scram, tampered_nonce_fails) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char out[512];
  const char *tampered = "c=biws,r=" RFC_CLIENT_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$kX"
                         ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const char *client_only = "c=biws,r=" RFC_CLIENT_NONCE
                            ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  cr_assert_gt(rfc_server_first(&s, &cred, out, sizeof out), 0);
  cr_assert_eq(scram_server_final(&s, tampered, strlen(tampered), out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert_gt(rfc_server_first(&s, &cred, out, sizeof out), 0);
  cr_assert_eq(scram_server_final(&s, client_only, strlen(client_only), out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
}

/* A client-final with any r= and a proof that is right for it: only the
 * server's nonce check can refuse it (CVE-2024-56128). */
static int forged_final(const char *server_first, const char *nonce, char *out, size_t cap) {
  uint8_t salt[32], salted[32], ckey[32], stored[32], sig[32];
  char auth[1024], proof[64];
  unsigned int hl = 0;
  int n = scram_b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, sizeof salt);
  int w = snprintf(out, cap, "c=biws,r=%s", nonce);
  int al = snprintf(auth, sizeof auth, "n=user,r=" RFC_CLIENT_NONCE ",%s,%s", server_first, out);
  cr_assert_eq(scram_salted_password(SCRAM_SHA_256, "pencil", 6, salt, (size_t)n, 4096, salted),
               0);
  cr_assert_eq(scram_hmac(SCRAM_SHA_256, salted, 32, "Client Key", 10, ckey), 0);
  cr_assert_eq(EVP_Digest(ckey, 32, stored, &hl, EVP_sha256(), NULL), 1);
  cr_assert_eq(scram_hmac(SCRAM_SHA_256, stored, 32, auth, (size_t)al, sig), 0);
  for (int i = 0; i < 32; i++)
    ckey[i] ^= sig[i];
  scram_b64_encode(ckey, 32, proof, sizeof proof);
  return w + snprintf(out + w, cap - (size_t)w, ",p=%s", proof);
}

Test(scram, client_final_nonce_must_be_the_servers) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char sf[512], fin[512], out[512];
  int n;
  /* control: the forging helper is right when the nonce is right */
  cr_assert_gt(rfc_server_first(&s, &cred, sf, sizeof sf), 0);
  n = forged_final(sf, RFC_CLIENT_NONCE RFC_SERVER_NONCE, fin, sizeof fin);
  cr_assert_gt(scram_server_final(&s, fin, (size_t)n, out, sizeof out), 0);
  /* an old or made-up nonce with a proof that fits it */
  cr_assert_gt(rfc_server_first(&s, &cred, sf, sizeof sf), 0);
  n = forged_final(sf, RFC_CLIENT_NONCE "somethingElse", fin, sizeof fin);
  cr_assert_eq(scram_server_final(&s, fin, (size_t)n, out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert_gt(rfc_server_first(&s, &cred, sf, sizeof sf), 0);
  n = forged_final(sf, RFC_CLIENT_NONCE, fin, sizeof fin);
  cr_assert_eq(scram_server_final(&s, fin, (size_t)n, out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  /* anything in front of the whole nonce but the client nonce */
  cr_assert_gt(rfc_server_first(&s, &cred, sf, sizeof sf), 0);
  n = forged_final(sf, "XOprNGfwEbeRWgbNEkqO" RFC_CLIENT_NONCE RFC_SERVER_NONCE, fin, sizeof fin);
  cr_assert_eq(scram_server_final(&s, fin, (size_t)n, out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert_gt(rfc_server_first(&s, &cred, sf, sizeof sf), 0);
  n = forged_final(sf, "x" RFC_CLIENT_NONCE RFC_SERVER_NONCE, fin, sizeof fin);
  cr_assert_eq(scram_server_final(&s, fin, (size_t)n, out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
}

/* librdkafka before 2.6.1 (Debian 12: 2.0.2) repeats the client nonce in
 * front of the combined one; accepted as Kafka 3.8.1-3.9 do, since the
 * server's fresh nonce is still there whole. */
Test(scram, librdkafka_repeated_client_nonce_is_accepted) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char sf[512], fin[512], out[512];
  int n;
  cr_assert_gt(rfc_server_first(&s, &cred, sf, sizeof sf), 0);
  n = forged_final(sf, RFC_CLIENT_NONCE RFC_CLIENT_NONCE RFC_SERVER_NONCE, fin, sizeof fin);
  cr_assert_gt(scram_server_final(&s, fin, (size_t)n, out, sizeof out), 0);
}

Test(scram, wrong_password_and_unknown_user_fail_alike) {
  struct scram_credential cred;
  struct scram_server s;
  struct scram_client c;
  char cf[512], sf[512], fin[512], out[512];
  int n, m;
  cr_assert_eq(scram_credential_make(SCRAM_SHA_512, "right", 5, 4096, NULL, 0, &cred), 0);
  for (int unknown = 0; unknown < 2; unknown++) {
    n = scram_client_first(&c, SCRAM_SHA_512, "alice", "abcdef", cf, sizeof cf);
    m = scram_server_first(&s, SCRAM_SHA_512, cf, (size_t)n, unknown ? NULL : &cred, secret,
                           sizeof secret, "xyz", sf, sizeof sf);
    cr_assert_gt(m, 0);
    n = scram_client_final(&c, "wrong", 5, sf, (size_t)m, fin, sizeof fin);
    cr_assert_gt(n, 0);
    cr_assert_eq(scram_server_final(&s, fin, (size_t)n, out, sizeof out),
                 STRATA_ESASL_AUTHENTICATION_FAILED);
  }
  /* the right password works; an unknown user's fake salt is stable */
  n = scram_client_first(&c, SCRAM_SHA_512, "alice", "abcdef", cf, sizeof cf);
  m = scram_server_first(&s, SCRAM_SHA_512, cf, (size_t)n, &cred, secret, sizeof secret, "xyz",
                         sf, sizeof sf);
  n = scram_client_final(&c, "right", 5, sf, (size_t)m, fin, sizeof fin);
  n = scram_server_final(&s, fin, (size_t)n, out, sizeof out);
  cr_assert_gt(n, 0);
  cr_assert_eq(scram_client_verify(&c, out, (size_t)n), 0);
  {
    char a[512], b[512];
    n = scram_client_first(&c, SCRAM_SHA_512, "nobody", "abc", cf, sizeof cf);
    cr_assert_gt(scram_server_first(&s, SCRAM_SHA_512, cf, (size_t)n, NULL, secret,
                                    sizeof secret, "x", a, sizeof a), 0);
    cr_assert_gt(scram_server_first(&s, SCRAM_SHA_512, cf, (size_t)n, NULL, secret,
                                    sizeof secret, "x", b, sizeof b), 0);
    cr_assert_str_eq(a, b);
    cr_assert(strstr(a, ",i=4096") != NULL);
  }
}

Test(scram, authzid_other_than_user_is_refused) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char out[512];
  const char *bob_as_admin = "n,a=admin,n=bob,r=abc";
  const char *self = "n,a=user,n=user,r=" RFC_CLIENT_NONCE;
  cr_assert_eq(scram_server_first(&s, SCRAM_SHA_256, bob_as_admin, strlen(bob_as_admin), &cred,
                                  secret, sizeof secret, "x", out, sizeof out),
               STRATA_EINVALID_REQUEST);
  cr_assert_gt(scram_server_first(&s, SCRAM_SHA_256, self, strlen(self), &cred, secret,
                                  sizeof secret, "x", out, sizeof out),
               0);
}

Test(scram, malformed_client_first_is_refused) {
  struct scram_client_first cf;
  static const char *bad[] = {
      "",
      "n,,",
      "p=tls-server-end-point,,n=user,r=abc", /* channel binding */
      "x,,n=user,r=abc",
      "n,,r=abc",                             /* missing n= */
      "n,,n=user",                            /* missing r= */
      "n,,n=user,n=user,r=abc",               /* duplicate / out of order */
      "n,,n=user,r=abc,r=abc",                /* duplicate */
      "n,,m=ext,n=user,r=abc",                /* mandatory extension */
      "n,,n=us=2Xer,r=abc",                   /* bad escape */
      "n,,n=user=,r=abc",
      "n,,n=,r=abc",
      "n,,n=user,r=",
      "n,,n=user,r=abc,",
      "n,a=,n=user,r=abc",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(scram_parse_client_first(bad[i], strlen(bad[i]), &cf), STRATA_EINVALID_REQUEST,
                 "accepted %s", bad[i]);
  cr_assert_eq(scram_parse_client_first("n,,n=us\0er,r=abc", 16, &cf), STRATA_EINVALID_REQUEST);
  cr_assert_eq(scram_parse_client_first("n,,n=a=2Cb=3Dc,r=abc,tokenauth=true", 35, &cf), 0);
  cr_assert_str_eq(cf.user, "a,b=c");
  cr_assert_eq(cf.bare_off, 3);
  cr_assert_eq(scram_parse_client_first("y,,n=u,r=abc", 12, &cf), 0);
}

Test(scram, oversized_inputs_are_refused) {
  struct scram_client_first cf;
  static char msg[SCRAM_MSG_MAX + 64];
  size_t n;
  /* a 256-byte user name */
  n = (size_t)snprintf(msg, sizeof msg, "n,,n=");
  memset(msg + n, 'u', 256);
  n += 256;
  n += (size_t)snprintf(msg + n, sizeof msg - n, ",r=abc");
  cr_assert_eq(scram_parse_client_first(msg, n, &cf), STRATA_EINVALID_REQUEST);
  /* 255 is fine */
  memmove(msg + 5, msg + 6, n - 6);
  cr_assert_eq(scram_parse_client_first(msg, n - 1, &cf), 0);
  /* a message over 4 KiB */
  memset(msg, 'a', sizeof msg);
  cr_assert_eq(scram_parse_client_first(msg, SCRAM_MSG_MAX + 1, &cf), STRATA_EINVALID_REQUEST);
}

Test(scram, malformed_client_final_is_refused) {
  struct scram_client_final cf;
  static const char *bad[] = {
      "c=biws,r=abc",                       /* no proof */
      "r=abc,c=biws,p=AAAA",                /* order */
      "c=biws,r=abc,p=AAAA,x=1",            /* after the proof */
      "c=biws,r=abc,p=AAA",                 /* base64 length */
      "c=biws,r=abc,p=A*AA",                /* base64 alphabet */
      "c=biws,r=abc,p=",
      "c=biws,c=biws,r=abc,p=AAAA",
      "c=biws,r=abc,r=abc,p=AAAA",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(scram_parse_client_final(bad[i], strlen(bad[i]), &cf), STRATA_EINVALID_REQUEST,
                 "accepted %s", bad[i]);
  cr_assert_eq(scram_parse_client_final(RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &cf), 0);
  cr_assert_eq(cf.proof_len, 32);
}

Test(scram, wrong_length_proof_is_refused) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char out[512];
  const char *short_proof = "c=biws,r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE ",p=AAAA";
  cr_assert_gt(rfc_server_first(&s, &cred, out, sizeof out), 0);
  cr_assert_eq(scram_server_final(&s, short_proof, strlen(short_proof), out, sizeof out),
               STRATA_EINVALID_REQUEST);
}

Test(scram, channel_binding_data_must_match_header) {
  struct scram_credential cred = rfc_credential();
  struct scram_server s;
  char out[512];
  /* "eSws" is base64 of "y,,": the client-first said "n,," */
  const char *wrong = "c=eSws,r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE
                      ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  cr_assert_gt(rfc_server_first(&s, &cred, out, sizeof out), 0);
  cr_assert_eq(scram_server_final(&s, wrong, strlen(wrong), out, sizeof out),
               STRATA_EINVALID_REQUEST);
}

Test(scram, iterations_outside_bounds_are_refused) {
  struct scram_credential c;
  cr_assert_eq(scram_credential_make(SCRAM_SHA_256, "p", 1, 4095, NULL, 0, &c),
               STRATA_EINVALID_CONFIG);
  cr_assert_eq(scram_credential_make(SCRAM_SHA_256, "p", 1, 16385, NULL, 0, &c),
               STRATA_EINVALID_CONFIG);
  cr_assert_eq(scram_credential_make(SCRAM_SHA_256, "p", 1, 16384, NULL, 0, &c), 0);
  cr_assert_eq(c.salt_len, 32);
  cr_assert_eq(c.key_len, 32);
  cr_assert_eq(scram_credential_make(0, "p", 1, 4096, NULL, 0, &c), STRATA_EINVALID_ARGUMENT);
}

Test(scram, client_refuses_iterations_outside_bounds_and_foreign_nonce) {
  struct scram_client c;
  char out[512];
  const char *low = "r=abcXYZ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100";
  const char *high = "r=abcXYZ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000000";
  const char *foreign = "r=zzzXYZ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  cr_assert_gt(scram_client_first(&c, SCRAM_SHA_256, "u", "abc", out, sizeof out), 0);
  cr_assert_eq(scram_client_final(&c, "p", 1, low, strlen(low), out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert_gt(scram_client_first(&c, SCRAM_SHA_256, "u", "abc", out, sizeof out), 0);
  cr_assert_eq(scram_client_final(&c, "p", 1, high, strlen(high), out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
  cr_assert_gt(scram_client_first(&c, SCRAM_SHA_256, "u", "abc", out, sizeof out), 0);
  cr_assert_eq(scram_client_final(&c, "p", 1, foreign, strlen(foreign), out, sizeof out),
               STRATA_ESASL_AUTHENTICATION_FAILED);
}

Test(scram, password_check_for_plain) {
  struct scram_credential c;
  cr_assert_eq(scram_credential_make(SCRAM_SHA_512, "s3cret", 6, 4096, NULL, 0, &c), 0);
  cr_assert_eq(scram_credential_check_password(&c, "s3cret", 6), 1);
  cr_assert_eq(scram_credential_check_password(&c, "s3cre", 5), 0);
  cr_assert_eq(scram_credential_check_password(&c, "s3cret!", 7), 0);
}

Test(scram, names_escape_and_mechanisms) {
  char out[32];
  cr_assert_eq(scram_escape_name("a,b=c", out, sizeof out), 9);
  cr_assert_str_eq(out, "a=2Cb=3Dc");
  cr_assert_eq(scram_mech_parse("SCRAM-SHA-256"), SCRAM_SHA_256);
  cr_assert_eq(scram_mech_parse("SCRAM-SHA-512"), SCRAM_SHA_512);
  cr_assert_eq(scram_mech_parse("SCRAM-SHA-1"), 0);
  cr_assert_str_eq(scram_mech_name(SCRAM_SHA_512), "SCRAM-SHA-512");
}
