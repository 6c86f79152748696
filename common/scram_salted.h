/* A SCRAM credential from a SaltedPassword instead of a password: Kafka's
 * AlterUserScramCredentials (KIP-554) sends salt, iterations and
 * SaltedPassword; the broker derives StoredKey and ServerKey (RFC 5802
 * section 3) and keeps only those. */
#ifndef STRATA_SCRAM_SALTED_H
#define STRATA_SCRAM_SALTED_H

#include <stddef.h>
#include <stdint.h>

#include "common/scram.h"

/* 0, or STRATA_EUNACCEPTABLE_CREDENTIAL: unknown mechanism, SaltedPassword
 * not of the hash's length, salt empty or over SCRAM_SALT_MAX, iterations
 * outside [SCRAM_ITERATIONS_MIN, MAX]. */
int scram_salted_credential(enum scram_mech m, const uint8_t *salted, size_t salted_len,
                            int32_t iterations, const uint8_t *salt, size_t salt_len,
                            struct scram_credential *out);

#endif
