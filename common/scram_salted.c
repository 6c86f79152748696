/* StoredKey and ServerKey from a SaltedPassword (scram_salted.h). */
#include "common/scram_salted.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/errors.h"

int scram_salted_credential(enum scram_mech m, const uint8_t *salted, size_t salted_len,
                            int32_t iterations, const uint8_t *salt, size_t salt_len,
                            struct scram_credential *out) {
  size_t kl = scram_key_len(m);
  const EVP_MD *md = m == SCRAM_SHA_256 ? EVP_sha256() : m == SCRAM_SHA_512 ? EVP_sha512() : NULL;
  if (!kl || !md || !salted || salted_len != kl || !salt || salt_len == 0 ||
      salt_len > SCRAM_SALT_MAX || iterations < SCRAM_ITERATIONS_MIN ||
      iterations > SCRAM_ITERATIONS_MAX)
    return STRATA_EUNACCEPTABLE_CREDENTIAL;
  memset(out, 0, sizeof *out);
  uint8_t client_key[SCRAM_KEY_MAX];
  unsigned int n = 0;
  int rc = scram_hmac(m, salted, kl, "Client Key", 10, client_key);
  if (!rc && (EVP_Digest(client_key, kl, out->stored_key, &n, md, NULL) != 1 || n != kl))
    rc = STRATA_EUNKNOWN;
  if (!rc) rc = scram_hmac(m, salted, kl, "Server Key", 10, out->server_key);
  OPENSSL_cleanse(client_key, sizeof client_key);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  out->mech = (uint8_t)m;
  out->iterations = iterations;
  memcpy(out->salt, salt, salt_len);
  out->salt_len = salt_len;
  out->key_len = kl;
  return 0;
}
