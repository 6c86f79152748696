#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"

struct config {
  char **keys, **values;
  size_t n, cap;
};

struct config *config_new(void) { return calloc(1, sizeof(struct config)); }

void config_free(struct config *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->keys[i]);
    free(c->values[i]);
  }
  free(c->keys);
  free(c->values);
  free(c);
}

static ssize_t find(const struct config *c, const char *key) {
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->keys[i], key)) return (ssize_t)i;
  return -1;
}

int config_set(struct config *c, const char *key, const char *value) {
  if (!*key) return STRATA_EINVALID_CONFIG;
  ssize_t i = find(c, key);
  char *v = strdup(value);
  if (!v) return STRATA_ENOMEM;
  if (i >= 0) {
    free(c->values[i]);
    c->values[i] = v;
    return 0;
  }
  if (c->n >= CONFIG_ENTRIES_MAX) {
    free(v);
    return STRATA_EINVALID_CONFIG;
  }
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    char **k = realloc(c->keys, cap * sizeof *k);
    if (k) c->keys = k;
    char **vv = realloc(c->values, cap * sizeof *vv);
    if (vv) c->values = vv;
    if (!k || !vv) {
      free(v);
      return STRATA_ENOMEM;
    }
    c->cap = cap;
  }
  if (!(c->keys[c->n] = strdup(key))) {
    free(v);
    return STRATA_ENOMEM;
  }
  c->values[c->n++] = v;
  return 0;
}

const char *config_get(const struct config *c, const char *key) {
  ssize_t i = find(c, key);
  return i >= 0 ? c->values[i] : NULL;
}

size_t config_count(const struct config *c) { return c->n; }

void config_entry(const struct config *c, size_t i, const char **key, const char **value) {
  *key = c->keys[i];
  *value = c->values[i];
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  return s;
}

/* Split at the first '=' or ':' (Java properties), trimming both sides. */
static int split(char *line, char **key, char **value) {
  char *sep = strpbrk(line, "=:");
  if (!sep) return -1;
  *sep = 0;
  *key = trim(line);
  *value = trim(sep + 1);
  return **key ? 0 : -1;
}

int config_parse_assignment(struct config *c, const char *kv, char *err, size_t err_len) {
  char buf[CONFIG_LINE_MAX];
  if (strlen(kv) >= sizeof buf) {
    snprintf(err, err_len, "setting too long (max %d bytes)", CONFIG_LINE_MAX - 1);
    return STRATA_EINVALID_CONFIG;
  }
  snprintf(buf, sizeof buf, "%s", kv);
  char *k, *v;
  if (split(buf, &k, &v)) {
    snprintf(err, err_len, "expected key=value, got '%s'", kv);
    return STRATA_EINVALID_CONFIG;
  }
  int rc = config_set(c, k, v);
  if (rc) snprintf(err, err_len, "cannot set '%s': %s", k, strata_strerror(rc));
  return rc;
}

int config_load_file(struct config *c, const char *path, char *err, size_t err_len) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_len, "%s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  char line[CONFIG_LINE_MAX + 2];
  int lineno = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    size_t n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f)) {
      snprintf(err, err_len, "%s:%d: line longer than %d bytes", path, lineno, CONFIG_LINE_MAX);
      rc = STRATA_EINVALID_CONFIG;
      break;
    }
    char *s = trim(line);
    if (!*s || *s == '#' || *s == '!') continue;
    char *k, *v;
    if (split(s, &k, &v)) {
      snprintf(err, err_len, "%s:%d: expected key=value, got '%s'", path, lineno, s);
      rc = STRATA_EINVALID_CONFIG;
    } else if ((rc = config_set(c, k, v))) {
      snprintf(err, err_len, "%s:%d: cannot set '%s': %s", path, lineno, k, strata_strerror(rc));
    }
  }
  if (!rc && ferror(f)) {
    snprintf(err, err_len, "%s: read error", path);
    rc = STRATA_EIO;
  }
  fclose(f);
  return rc;
}

int config_get_int64(const struct config *c, const char *key, int64_t def, int64_t min,
                     int64_t max, int64_t *out, char *err, size_t err_len) {
  const char *v = config_get(c, key);
  if (!v) {
    *out = def;
    return 0;
  }
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end) {
    snprintf(err, err_len, "%s: '%s' is not an integer", key, v);
    return STRATA_EINVALID_CONFIG;
  }
  if (x < min || x > max) {
    snprintf(err, err_len, "%s: %lld is outside %lld..%lld", key, x, (long long)min,
             (long long)max);
    return STRATA_EINVALID_CONFIG;
  }
  *out = x;
  return 0;
}

int config_get_bytes(const struct config *c, const char *key, uint64_t def, uint64_t min,
                     uint64_t max, uint64_t *out, char *err, size_t err_len) {
  const char *v = config_get(c, key);
  if (!v) {
    *out = def;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  unsigned shift = 0;
  if (*end == 'k' || *end == 'K') shift = 10, end++;
  else if (*end == 'm' || *end == 'M') shift = 20, end++;
  else if (*end == 'g' || *end == 'G') shift = 30, end++;
  if (errno || end == v || *end || v[0] == '-' || (shift && x > (UINT64_MAX >> shift))) {
    snprintf(err, err_len, "%s: '%s' is not a byte size (e.g. 512, 64k, 16m, 1g)", key, v);
    return STRATA_EINVALID_CONFIG;
  }
  x <<= shift;
  if (x < min || x > max) {
    snprintf(err, err_len, "%s: %llu bytes is outside %llu..%llu", key, x,
             (unsigned long long)min, (unsigned long long)max);
    return STRATA_EINVALID_CONFIG;
  }
  *out = x;
  return 0;
}

int config_get_bool(const struct config *c, const char *key, int def, int *out, char *err,
                    size_t err_len) {
  const char *v = config_get(c, key);
  if (!v) {
    *out = def;
    return 0;
  }
  static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (!strcasecmp(v, yes[i])) return *out = 1, 0;
    if (!strcasecmp(v, no[i])) return *out = 0, 0;
  }
  snprintf(err, err_len, "%s: '%s' is not true or false", key, v);
  return STRATA_EINVALID_CONFIG;
}

int config_get_enum(const struct config *c, const char *key, const char *const *choices,
                    int def, int *out, char *err, size_t err_len) {
  const char *v = config_get(c, key);
  if (!v) {
    *out = def;
    return 0;
  }
  for (int i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i])) return *out = i, 0;
  int n = snprintf(err, err_len, "%s: '%s' is not one of", key, v);
  for (int i = 0; choices[i] && n > 0 && (size_t)n < err_len; i++)
    n += snprintf(err + n, err_len - (size_t)n, " %s", choices[i]);
  return STRATA_EINVALID_CONFIG;
}

int config_check_known(const struct config *c, const char *const *known, char *err,
                       size_t err_len) {
  for (size_t i = 0; i < c->n; i++) {
    int ok = 0;
    for (size_t k = 0; known[k] && !ok; k++) {
      size_t kl = strlen(known[k]);
      if (kl && known[k][kl - 1] == '*') ok = !strncmp(c->keys[i], known[k], kl - 1);
      else ok = !strcmp(c->keys[i], known[k]);
    }
    if (!ok) {
      snprintf(err, err_len, "unknown setting '%s'", c->keys[i]);
      return STRATA_EINVALID_CONFIG;
    }
  }
  return 0;
}

extern char **environ;

int config_load_env(struct config *c, const char *const *known) {
  for (char **e = environ; e && *e; e++) {
    if (strncmp(*e, "STRATA_", 7)) continue;
    const char *eq = strchr(*e, '=');
    if (!eq || eq - *e - 7 <= 0 || eq - *e - 7 >= 128) continue;
    char key[128];
    size_t n = (size_t)(eq - *e - 7);
    for (size_t i = 0; i < n; i++) {
      char ch = (*e)[7 + i];
      key[i] = ch == '_' ? '.' : (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    key[n] = 0;
    for (const char *const *k = known; *k; k++)
      if (!strcmp(*k, key)) {
        if (config_set(c, key, eq + 1)) return STRATA_ENOMEM;
        break;
      }
  }
  return 0;
}
