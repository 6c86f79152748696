/* strata_security: the client's TLS/SASL settings under librdkafka's
 * property names, from code (strata_security_set) or a properties file
 * shared with kcat -F (strata_security_load). Parsing only; conn_tls.c
 * turns the result into a TLS context. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client/strata.h"
#include "common/config.h"
#include "common/errors.h"

static const char *const protocol_names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

const char *strata_security_protocol_name(int protocol) {
  if (protocol < 0 || protocol > STRATA_SECURITY_SASL_SSL) return "?";
  return protocol_names[protocol];
}

void strata_security_defaults(strata_security *s) {
  memset(s, 0, sizeof *s);
  s->protocol = STRATA_SECURITY_PLAINTEXT;
  s->ssl_verify_hostname = 1; /* Kafka and librdkafka check the name by default since 2.0 */
}

/* Copy value into a fixed field; a value that does not fit is an error, not
 * a truncated path. */
static int copy(char *dst, size_t cap, const char *key, const char *value, char *err,
                size_t err_len) {
  if (strlen(value) >= cap) {
    snprintf(err, err_len, "%s: value longer than %zu bytes", key, cap - 1);
    return STRATA_EINVALID_CONFIG;
  }
  memcpy(dst, value, strlen(value) + 1);
  return 0;
}

int strata_security_set(strata_security *s, const char *key, const char *value, char *err,
                        size_t err_len) {
  if (!key || !value) {
    snprintf(err, err_len, "security setting without a key or value");
    return STRATA_EINVALID_CONFIG;
  }
  if (!strcmp(key, "security.protocol")) {
    for (int i = 0; i <= STRATA_SECURITY_SASL_SSL; i++)
      if (!strcasecmp(value, protocol_names[i])) { /* librdkafka takes "ssl" too */
        s->protocol = i;
        return 0;
      }
    snprintf(err, err_len,
             "security.protocol: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got '%s'",
             value);
    return STRATA_EINVALID_CONFIG;
  }
  if (!strcmp(key, "ssl.ca.location"))
    return copy(s->ssl_ca_location, sizeof s->ssl_ca_location, key, value, err, err_len);
  if (!strcmp(key, "ssl.certificate.location"))
    return copy(s->ssl_certificate_location, sizeof s->ssl_certificate_location, key, value, err,
                err_len);
  if (!strcmp(key, "ssl.key.location"))
    return copy(s->ssl_key_location, sizeof s->ssl_key_location, key, value, err, err_len);
  if (!strcmp(key, "ssl.endpoint.identification.algorithm")) {
    if (!strcasecmp(value, "https")) s->ssl_verify_hostname = 1;
    else if (!*value || !strcasecmp(value, "none")) s->ssl_verify_hostname = 0;
    else {
      snprintf(err, err_len, "ssl.endpoint.identification.algorithm: expected https or none, "
               "got '%s'", value);
      return STRATA_EINVALID_CONFIG;
    }
    return 0;
  }
  if (!strcmp(key, "sasl.mechanism") || !strcmp(key, "sasl.mechanisms")) {
    static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
      if (!strcasecmp(value, mechs[i])) return copy(s->sasl_mechanism, sizeof s->sasl_mechanism,
                                                    key, mechs[i], err, err_len);
    snprintf(err, err_len, "%s: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got '%s'", key,
             value);
    return STRATA_EINVALID_CONFIG;
  }
  if (!strcmp(key, "sasl.username"))
    return copy(s->sasl_username, sizeof s->sasl_username, key, value, err, err_len);
  if (!strcmp(key, "sasl.password"))
    return copy(s->sasl_password, sizeof s->sasl_password, key, value, err, err_len);
  if (!strcmp(key, "ssl.keystore.location") || !strcmp(key, "ssl.truststore.location")) {
    snprintf(err, err_len, "%s: Java key stores are not read; give PEM files in "
             "ssl.certificate.location, ssl.key.location and ssl.ca.location", key);
    return STRATA_EINVALID_CONFIG;
  }
  snprintf(err, err_len, "unknown security setting '%s'", key);
  return STRATA_EINVALID_CONFIG;
}

int strata_security_check(const strata_security *s, char *err, size_t err_len) {
  if (s->protocol < STRATA_SECURITY_PLAINTEXT || s->protocol > STRATA_SECURITY_SASL_SSL) {
    snprintf(err, err_len, "security.protocol: unknown value %d", s->protocol);
    return STRATA_EINVALID_CONFIG;
  }
  if (!s->ssl_certificate_location[0] != !s->ssl_key_location[0]) {
    snprintf(err, err_len, "ssl.certificate.location and ssl.key.location go together");
    return STRATA_EINVALID_CONFIG;
  }
  int sasl = s->protocol == STRATA_SECURITY_SASL_PLAINTEXT || s->protocol == STRATA_SECURITY_SASL_SSL;
  if (sasl && (!s->sasl_mechanism[0] || !s->sasl_username[0])) {
    snprintf(err, err_len, "security.protocol=%s needs sasl.mechanism and sasl.username",
             protocol_names[s->protocol]);
    return STRATA_EINVALID_CONFIG;
  }
  return 0;
}

/* Is key one of ours (security.protocol, ssl.*, sasl.*), as opposed to
 * another librdkafka setting a shared file may hold? */
static int is_security_key(const char *key) {
  return !strcmp(key, "security.protocol") || !strncmp(key, "ssl.", 4) ||
         !strncmp(key, "sasl.", 5);
}

int strata_security_load(strata_security *s, const char *path, char *err, size_t err_len) {
  struct config *c = config_new();
  if (!c) return STRATA_ENOMEM;
  int rc = config_load_file(c, path, err, err_len);
  for (size_t i = 0; !rc && i < config_count(c); i++) {
    const char *k, *v;
    config_entry(c, i, &k, &v);
    if (!is_security_key(k)) continue;
    char why[256];
    if ((rc = strata_security_set(s, k, v, why, sizeof why)))
      snprintf(err, err_len, "%s: %s", path, why);
  }
  config_free(c);
  if (!rc) {
    char why[256];
    if ((rc = strata_security_check(s, why, sizeof why))) snprintf(err, err_len, "%s: %s", path, why);
  }
  return rc;
}
