/* The sasl.* settings, the same names on broker and controller (Kafka's and
 * librdkafka's): sasl.enabled.mechanisms for SASL listeners, and for the
 * node's own outgoing links to SASL listeners sasl.mechanism,
 * sasl.username and sasl.password or sasl.password.file (read once, at
 * start; never logged). */
#ifndef STRATA_SASL_CONFIG_H
#define STRATA_SASL_CONFIG_H

#include <stddef.h>

#include "config.h"
#include "sasl.h"

struct sasl_settings {
  unsigned enabled_mechs;                 /* sasl.enabled.mechanisms (SASL_MECH_BIT mask) */
  enum sasl_mech mechanism;               /* sasl.mechanism (default SCRAM-SHA-512) */
  char username[SCRAM_USER_MAX + 1];      /* sasl.username ("" unset) */
  char password[SASL_PASSWORD_MAX + 1];   /* sasl.password or the file's first line */
};

/* The keys sasl_settings_from_config reads (for config_check_known lists). */
extern const char *const sasl_settings_keys[];

/* Defaults, then every sasl.* key present in c. sasl.password and
 * sasl.password.file together, an unreadable file, an unknown mechanism:
 * STRATA_EINVALID_CONFIG with err naming the key. */
int sasl_settings_from_config(const struct config *c, struct sasl_settings *s, char *err,
                              size_t err_len);

/* Has this node what it needs to log in to a SASL listener? */
int sasl_settings_client_ready(const struct sasl_settings *s);

#endif
