/* Java-style properties configuration (broker.properties): one key=value (or
 * key: value) per line, '#' and '!' comments, whitespace around keys and
 * values trimmed, later keys override earlier ones. Command-line overrides
 * ("--set key=value" in the broker) go through config_set after the file. A
 * schema table lets a program refuse unknown keys and bad values with a line
 * that names the key, so a typo never silently falls back to a default. */
#ifndef STRATA_CONFIG_H
#define STRATA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_LINE_MAX 4096
#define CONFIG_ENTRIES_MAX 1024

struct config;

struct config *config_new(void);
void config_free(struct config *c);

/* Load a file. On error returns a negative STRATA_E* and writes a message
 * naming the file and line into err. */
int config_load_file(struct config *c, const char *path, char *err,
                     size_t err_len);
/* Parse one "key=value" string (command-line override). */
int config_parse_assignment(struct config *c, const char *kv, char *err,
                            size_t err_len);
int config_set(struct config *c, const char *key, const char *value);
/* Settings from the environment (containers): STRATA_BROKER_ID=3 sets
 * broker.id, for every key in `known` (lowercase, '_' for '.'); other
 * STRATA_* variables are left alone. 0 or STRATA_ENOMEM. */
int config_load_env(struct config *c, const char *const *known);
const char *config_get(const struct config *c, const char *key); /* NULL if unset */
size_t config_count(const struct config *c);
/* i-th entry in insertion order (an overridden key keeps its first place). */
void config_entry(const struct config *c, size_t i, const char **key,
                  const char **value);

/* Typed getters: the default when unset; STRATA_EINVALID_CONFIG with a
 * message in err when the value does not parse or is outside [min, max]. */
int config_get_int64(const struct config *c, const char *key, int64_t def,
                     int64_t min, int64_t max, int64_t *out, char *err,
                     size_t err_len);
/* Byte sizes accept a suffix: 512, 64k, 16m, 1g (powers of 1024). */
int config_get_bytes(const struct config *c, const char *key, uint64_t def,
                     uint64_t min, uint64_t max, uint64_t *out, char *err,
                     size_t err_len);
/* true/false, yes/no, on/off, 1/0. */
int config_get_bool(const struct config *c, const char *key, int def, int *out,
                    char *err, size_t err_len);
/* One of the NULL-terminated `choices`; *out is its index. */
int config_get_enum(const struct config *c, const char *key,
                    const char *const *choices, int def, int *out, char *err,
                    size_t err_len);

/* Refuse keys that are not in the NULL-terminated `known` list (entries
 * ending in '*' match a prefix). Returns 0 or STRATA_EINVALID_CONFIG naming
 * the first unknown key. */
int config_check_known(const struct config *c, const char *const *known,
                       char *err, size_t err_len);

#endif
