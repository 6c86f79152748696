/* SCRAM credentials (RFC 5802, RFC 7677). What is stored is salt, iteration
 * count, StoredKey and ServerKey, never the password or SaltedPassword: a
 * reader of the metadata log can check a proof but not forge one. */
#ifndef STRATA_SCRAM_H
#define STRATA_SCRAM_H

#include <stddef.h>
#include <stdint.h>

enum scram_mech {
  SCRAM_SHA_256 = 1,
  SCRAM_SHA_512 = 2,
};

#define SCRAM_KEY_MAX 64       /* SHA-512's output */
#define SCRAM_SALT_MAX 64
#define SCRAM_ITERATIONS_MIN 4096  /* Kafka's bounds */
#define SCRAM_ITERATIONS_MAX 16384

struct scram_credential {
  uint8_t mech;                      /* enum scram_mech */
  int32_t iterations;
  uint8_t salt[SCRAM_SALT_MAX];
  size_t salt_len;
  uint8_t stored_key[SCRAM_KEY_MAX]; /* H(ClientKey) */
  uint8_t server_key[SCRAM_KEY_MAX]; /* HMAC(SaltedPassword, "Server Key") */
  size_t key_len;                    /* 32 or 64 */
};

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" <-> enum; 0 when unknown. */
enum scram_mech scram_mech_parse(const char *name);
const char *scram_mech_name(enum scram_mech m);

/* Derive a credential from a password. salt NULL: 32 random bytes. Returns 0
 * or a negative STRATA_E* (iterations outside [MIN, MAX]: INVALID_CONFIG). */
int scram_credential_make(enum scram_mech m, const char *password, size_t password_len,
                          int32_t iterations, const uint8_t *salt, size_t salt_len,
                          struct scram_credential *out);

#endif
