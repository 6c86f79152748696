/* sasl.* settings (see sasl_config.h). */
#include "sasl_config.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

const char *const sasl_settings_keys[] = {"sasl.enabled.mechanisms", "sasl.mechanism",
                                          "sasl.mechanisms", "sasl.username", "sasl.password",
                                          "sasl.password.file", NULL};

/* The first line of the file, without its newline. */
static int read_password_file(const char *path, char *out, size_t cap, char *err,
                              size_t err_len) {
  FILE *f = fopen(path, "r");
  size_t n;
  if (f == NULL) {
    snprintf(err, err_len, "sasl.password.file: cannot read '%s'", path);
    return STRATA_EINVALID_CONFIG;
  }
  n = fread(out, 1, cap - 1, f);
  out[n] = 0;
  if (n == cap - 1 && fgetc(f) != EOF) {
    fclose(f);
    snprintf(err, err_len, "sasl.password.file: longer than %zu bytes", cap - 2);
    return STRATA_EINVALID_CONFIG;
  }
  fclose(f);
  out[strcspn(out, "\r\n")] = 0;
  return 0;
}

int sasl_settings_from_config(const struct config *c, struct sasl_settings *s, char *err,
                              size_t err_len) {
  const char *v;
  memset(s, 0, sizeof *s);
  s->enabled_mechs = SASL_MECHS_DEFAULT;
  s->mechanism = SASL_SCRAM_SHA_512;
  if ((v = config_get(c, "sasl.enabled.mechanisms")) != NULL &&
      sasl_mechs_parse(v, &s->enabled_mechs) != 0) {
    snprintf(err, err_len,
             "sasl.enabled.mechanisms: expected a list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
             "got '%s'", v);
    return STRATA_EINVALID_CONFIG;
  }
  if ((v = config_get(c, "sasl.mechanism")) != NULL ||
      (v = config_get(c, "sasl.mechanisms")) != NULL) {
    s->mechanism = sasl_mech_parse(v);
    if (s->mechanism == 0) {
      snprintf(err, err_len,
               "sasl.mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got '%s'", v);
      return STRATA_EINVALID_CONFIG;
    }
  }
  if ((v = config_get(c, "sasl.username")) != NULL) {
    if (strlen(v) > SCRAM_USER_MAX) {
      snprintf(err, err_len, "sasl.username: longer than %d bytes", SCRAM_USER_MAX);
      return STRATA_EINVALID_CONFIG;
    }
    snprintf(s->username, sizeof s->username, "%s", v);
  }
  v = config_get(c, "sasl.password");
  if (v != NULL && config_get(c, "sasl.password.file") != NULL) {
    snprintf(err, err_len, "sasl.password and sasl.password.file: set one of them");
    return STRATA_EINVALID_CONFIG;
  }
  if (v != NULL) {
    if (strlen(v) > SASL_PASSWORD_MAX) {
      snprintf(err, err_len, "sasl.password: longer than %d bytes", SASL_PASSWORD_MAX);
      return STRATA_EINVALID_CONFIG;
    }
    snprintf(s->password, sizeof s->password, "%s", v);
  } else if ((v = config_get(c, "sasl.password.file")) != NULL) {
    return read_password_file(v, s->password, sizeof s->password, err, err_len);
  }
  return 0;
}

int sasl_settings_client_ready(const struct sasl_settings *s) {
  return s->username[0] != 0 && s->password[0] != 0 && s->mechanism != 0;
}
