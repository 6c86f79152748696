#include "client/cli/opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int find_long(const struct opt *t, size_t n, const char *name,
                     size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(t[i].name) == len && memcmp(t[i].name, name, len) == 0)
      return (int)i;
  return -1;
}

static int find_short(const struct opt *t, size_t n, char c) {
  for (size_t i = 0; i < n; i++)
    if (t[i].short_name && t[i].short_name == c)
      return (int)i;
  return -1;
}

static int store(struct opts *o, int i, const char *value) {
  o->present[i] = 1;
  if (o->table[i].kind == OPT_MULTI) {
    if (o->multi_count[i] >= OPTS_MULTI_MAX) {
      snprintf(o->err, sizeof o->err, "too many --%s options (max %d)",
               o->table[i].name, OPTS_MULTI_MAX);
      return -1;
    }
    o->multi[i][o->multi_count[i]++] = value;
  }
  o->value[i] = value;
  return 0;
}

/* opts_parse, and with `leading` opts_parse_leading: then the first
 * positional word ends the parse and its index is returned. */
static int parse(struct opts *o, const struct opt *table, size_t count, int argc, char **argv,
                 int leading) {
  memset(o, 0, sizeof *o);
  o->table = table;
  o->count = count < OPTS_MAX ? count : OPTS_MAX;
  int only_positional = 0;
  for (int a = 0; a < argc; a++) {
    const char *arg = argv[a];
    if (leading && (only_positional || arg[0] != '-' || arg[1] == 0)) return a;
    if (only_positional || arg[0] != '-' || arg[1] == 0) {
      if (o->positional_count >= OPTS_POSITIONAL_MAX) {
        snprintf(o->err, sizeof o->err, "unexpected argument '%s'", arg);
        return -1;
      }
      o->positional[o->positional_count++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_positional = 1;
      continue;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      o->help = 1;
      continue;
    }
    int i;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
      const char *name = arg + 2;
      const char *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      i = find_long(table, o->count, name, len);
      if (eq)
        inline_value = eq + 1;
    } else {
      i = arg[2] == 0 ? find_short(table, o->count, arg[1]) : -1;
    }
    if (i < 0) {
      snprintf(o->err, sizeof o->err, "unknown option '%s' (see --help)", arg);
      return -1;
    }
    if (table[i].kind == OPT_FLAG) {
      if (inline_value) {
        snprintf(o->err, sizeof o->err, "option --%s takes no value",
                 table[i].name);
        return -1;
      }
      o->present[i] = 1;
      continue;
    }
    const char *v = inline_value;
    if (!v) {
      if (a + 1 >= argc) {
        snprintf(o->err, sizeof o->err, "option --%s needs a value (%s)",
                 table[i].name, table[i].metavar ? table[i].metavar : "VALUE");
        return -1;
      }
      v = argv[++a];
    }
    if (store(o, i, v) < 0)
      return -1;
  }
  return leading ? argc : 0;
}

int opts_parse(struct opts *o, const struct opt *table, size_t count, int argc,
               char **argv) {
  return parse(o, table, count, argc, argv, 0);
}

int opts_parse_leading(struct opts *o, const struct opt *table, size_t count, int argc,
                       char **argv) {
  return parse(o, table, count, argc, argv, 1);
}

static int index_of(const struct opts *o, const char *name) {
  return find_long(o->table, o->count, name, strlen(name));
}

int opts_has(const struct opts *o, const char *name) {
  int i = index_of(o, name);
  return i >= 0 && o->present[i];
}

const char *opts_str(const struct opts *o, const char *name, const char *def) {
  int i = index_of(o, name);
  return i >= 0 && o->present[i] && o->value[i] ? o->value[i] : def;
}

int opts_i64(struct opts *o, const char *name, int64_t def, int64_t min,
             int64_t max, int suffixes, int64_t *out) {
  const char *s = opts_str(o, name, NULL);
  if (!s) {
    *out = def;
    return 0;
  }
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  long long mul = 1;
  if (suffixes && end != s && *end && end[1] == 0) {
    switch (*end) {
    case 'k': case 'K': mul = 1000; end++; break;
    case 'm': case 'M': mul = 1000000; end++; break;
    case 'g': case 'G': mul = 1000000000; end++; break;
    default: break;
    }
  }
  if (errno || end == s || *end || v > max / mul || v < min / mul ||
      v * mul < min || v * mul > max) {
    snprintf(o->err, sizeof o->err,
             "--%s: '%s' is not an integer in [%lld, %lld]", name, s,
             (long long)min, (long long)max);
    return -1;
  }
  *out = v * mul;
  return 0;
}

int opts_double(struct opts *o, const char *name, double def, double min,
                double max, double *out) {
  const char *s = opts_str(o, name, NULL);
  if (!s) {
    *out = def;
    return 0;
  }
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= min && v <= max)) {
    snprintf(o->err, sizeof o->err, "--%s: '%s' is not a number in [%g, %g]",
             name, s, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

size_t opts_multi(const struct opts *o, const char *name,
                  const char *const **values) {
  int i = index_of(o, name);
  if (i < 0) {
    *values = NULL;
    return 0;
  }
  *values = o->multi[i];
  return o->multi_count[i];
}

void opts_print_help(const char *usage, const char *summary,
                     const struct opt *table, size_t count) {
  printf("usage: strata %s\n\n%s\n", usage, summary);
  if (count)
    printf("\noptions:\n");
  for (size_t i = 0; i < count; i++) {
    char left[64];
    if (table[i].short_name)
      snprintf(left, sizeof left, "-%c, --%s%s%s", table[i].short_name,
               table[i].name, table[i].kind == OPT_FLAG ? "" : " ",
               table[i].kind == OPT_FLAG ? "" : table[i].metavar);
    else
      snprintf(left, sizeof left, "    --%s%s%s", table[i].name,
               table[i].kind == OPT_FLAG ? "" : " ",
               table[i].kind == OPT_FLAG ? "" : table[i].metavar);
    printf("  %-30s %s\n", left, table[i].help);
  }
  printf("  %-30s %s\n", "-h, --help", "show this help");
}

int opts_parse_timestamp(const char *s, int64_t *ms) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!errno && end != s && *end == 0 && v >= 0) {
    *ms = v;
    return 0;
  }
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p)
    return -1;
  long frac = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 3)
        frac = frac * 10 + (*p - '0');
    for (; digits < 3; digits++)
      frac *= 10;
  }
  if (*p == 'Z')
    p++;
  if (*p)
    return -1;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return -1;
  *ms = (int64_t)t * 1000 + frac;
  return 0;
}
