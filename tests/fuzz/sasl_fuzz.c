/* libFuzzer target: the SCRAM message parsers (common/scram.c) and the SASL
 * server state machine (common/sasl.c) on arbitrary bytes. The first byte
 * picks what runs; a whole server exchange splits the rest at a 0xff byte
 * into client-first and client-final. Bad input must be an error return:
 * no crash, no read past the input, no success without the password. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/sasl.h"
#include "common/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scram_credential cred;
static int have_cred;

static const struct scram_credential *lookup(void *arg, const char *user, enum scram_mech m) {
  (void)arg;
  return have_cred && m == SCRAM_SHA_256 && strcmp(user, "user") == 0 ? &cred : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char out[SASL_TOKEN_MAX];
  if (!have_cred) {
    static const uint8_t salt[16] = {1, 2, 3, 4};
    if (scram_credential_make(SCRAM_SHA_256, "pencil", 6, 4096, salt, sizeof salt, &cred))
      __builtin_trap();
    have_cred = 1;
  }
  if (size < 1) return 0;
  const char *m = (const char *)data + 1;
  size_t n = size - 1;
  switch (data[0] % 6) {
  case 0: {
    struct scram_client_first cf;
    if (scram_parse_client_first(m, n, &cf) == 0 &&
        (cf.bare_off > n || strlen(cf.user) == 0 || strlen(cf.user) > SCRAM_USER_MAX))
      __builtin_trap();
    break;
  }
  case 1: {
    struct scram_server_first sf;
    scram_parse_server_first(m, n, &sf);
    break;
  }
  case 2: {
    struct scram_client_final cf;
    if (scram_parse_client_final(m, n, &cf) == 0 && cf.without_proof_len > n) __builtin_trap();
    break;
  }
  case 3: {
    uint8_t sig[SCRAM_KEY_MAX];
    size_t sl = 0;
    char err[64];
    scram_parse_server_final(m, n, sig, &sl, err, sizeof err);
    scram_b64_decode(m, n, sig, sizeof sig);
    break;
  }
  case 4: { /* a whole SCRAM-SHA-256 exchange: it must never succeed (no proof) */
    struct sasl_server_config cfg = {.mechs = SASL_MECHS_DEFAULT, .lookup = lookup};
    struct sasl_server s;
    const uint8_t *cut = memchr(m, 0xff, n);
    size_t first = cut ? (size_t)(cut - (const uint8_t *)m) : n, ol;
    sasl_sv_init(&s, &cfg);
    if (sasl_sv_handshake(&s, "SCRAM-SHA-256")) __builtin_trap();
    if (sasl_sv_step(&s, (const uint8_t *)m, first, (uint8_t *)out, sizeof out, &ol) == 0 &&
        cut && sasl_sv_step(&s, cut + 1, n - first - 1, (uint8_t *)out, sizeof out, &ol) == 0)
      __builtin_trap(); /* a proof computed without the password */
    sasl_sv_clear(&s);
    break;
  }
  case 5: { /* PLAIN: only "pencil" may pass */
    struct sasl_server_config cfg = {.mechs = SASL_MECH_BIT(SASL_PLAIN), .lookup = lookup};
    struct sasl_server s;
    size_t ol;
    (void)cred;
    sasl_sv_init(&s, &cfg);
    sasl_sv_handshake(&s, "PLAIN");
    /* PLAIN with SHA-256 credential looked up under SCRAM-SHA-512 first */
    if (sasl_sv_step(&s, (const uint8_t *)m, n, (uint8_t *)out, sizeof out, &ol) == 0 &&
        (n < 6 || memcmp(m + n - 6, "pencil", 6) != 0))
      __builtin_trap();
    sasl_sv_clear(&s);
    break;
  }
  }
  return 0;
}
