/* ssl.principal.mapping.rules (tls_rules.h).
 *
 * Why PCRE2 and not <regex.h>: Kafka's rules are Java regular expressions,
 * and the rule everyone copies from Kafka's documentation,
 * RULE:^CN=(.*?),.*$/$1/, depends on the lazy quantifier `.*?`, which POSIX
 * ERE does not have (glibc would take it as a syntax error or, worse, as
 * greedy and map "CN=a,OU=b,O=c" to "a,OU=b"). PCRE2's syntax is close
 * enough to Java's (lazy and possessive quantifiers, \d \w \s, (?i), named
 * groups) that an operator's existing Kafka rules work as written. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "common/tls_rules.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

enum rule_case { CASE_KEEP = 0, CASE_LOWER, CASE_UPPER };

struct rule {
  int is_default;
  pcre2_code *re;            /* NULL for DEFAULT */
  char replacement[TLS_RULE_TEXT_MAX];
  enum rule_case casefold;
};

/* A client picks its certificate's subject, and an operator's pattern may
 * backtrack badly (nested quantifiers): the match limits bound the work one
 * handshake can cause. */
#define RULE_MATCH_LIMIT 100000
#define RULE_DEPTH_LIMIT 10000

struct tls_rules {
  pcre2_match_context *mctx;
  size_t n;
  struct rule r[TLS_RULES_MAX];
};

void tls_rules_free(struct tls_rules *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) pcre2_code_free(r->r[i].re);
  pcre2_match_context_free(r->mctx);
  free(r);
}

size_t tls_rules_count(const struct tls_rules *r) { return r ? r->n : 0; }

/* Copy up to the next unescaped '/' into out (escapes kept as written, the
 * regex or the replacement interprets them). Returns the position of the
 * '/' or NULL when the text ends first or the part is too long. */
static const char *take_part(const char *p, char *out, size_t cap) {
  size_t n = 0;
  while (*p && *p != '/') {
    size_t step = (p[0] == '\\' && p[1]) ? 2 : 1;
    if (n + step >= cap) return NULL;
    memcpy(out + n, p, step);
    n += step;
    p += step;
  }
  out[n] = 0;
  return *p == '/' ? p : NULL;
}

/* Check a Java replacement string against the pattern's groups, so a typo
 * ($2 with one group, a dangling '$' or '\') fails at startup, not at the
 * first client. */
static int check_replacement(const char *rep, const pcre2_code *re, char *why, size_t why_len) {
  uint32_t groups = 0;
  pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
  for (const char *p = rep; *p; p++) {
    if (*p == '\\') {
      if (!p[1]) return snprintf(why, why_len, "replacement ends with '\\'"), -1;
      p++;
    } else if (*p == '$') {
      if (p[1] == '{') {
        const char *end = strchr(p + 2, '}');
        if (!end || end == p + 2 || end - p - 2 > 64)
          return snprintf(why, why_len, "bad ${name} in replacement"), -1;
        char name[72];
        memcpy(name, p + 2, (size_t)(end - p - 2));
        name[end - p - 2] = 0;
        if (pcre2_substring_number_from_name(re, (PCRE2_SPTR)name) < 0)
          return snprintf(why, why_len, "no group named '%s'", name), -1;
        p = end;
      } else if (isdigit((unsigned char)p[1])) {
        if ((uint32_t)(p[1] - '0') > groups)
          return snprintf(why, why_len, "$%c but the pattern has %u group(s)", p[1], groups), -1;
        p++;
      } else {
        return snprintf(why, why_len, "'$' not followed by a group number or {name}"), -1;
      }
    }
  }
  return 0;
}

/* One rule starting at *pp (whitespace skipped); on success *pp is past the
 * rule and its separator. */
static int parse_rule(const char **pp, struct rule *out, char *why, size_t why_len) {
  const char *p = *pp;
  memset(out, 0, sizeof *out);
  if (!strncmp(p, "DEFAULT", 7)) {
    out->is_default = 1;
    p += 7;
  } else if (!strncmp(p, "RULE:", 5)) {
    char pattern[TLS_RULE_TEXT_MAX];
    p = take_part(p + 5, pattern, sizeof pattern);
    if (!p) return snprintf(why, why_len, "expected RULE:pattern/replacement/[LU]"), -1;
    p = take_part(p + 1, out->replacement, sizeof out->replacement);
    if (!p) return snprintf(why, why_len, "expected RULE:pattern/replacement/[LU]"), -1;
    p++;
    if (*p == 'L' || *p == 'l') out->casefold = CASE_LOWER, p++;
    else if (*p == 'U' || *p == 'u') out->casefold = CASE_UPPER, p++;
    int ec;
    PCRE2_SIZE off;
    out->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
    if (!out->re) {
      char msg[160];
      pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg);
      return snprintf(why, why_len, "pattern '%.80s' at %zu: %.100s", pattern, (size_t)off, msg), -1;
    }
    if (check_replacement(out->replacement, out->re, why, why_len)) {
      pcre2_code_free(out->re);
      out->re = NULL;
      return -1;
    }
  } else {
    return snprintf(why, why_len, "expected DEFAULT or RULE:"), -1;
  }
  while (*p == ' ' || *p == '\t' || *p == '\r') p++;
  if (*p == ',' || *p == '\n') p++;
  else if (*p) {
    pcre2_code_free(out->re);
    out->re = NULL;
    return snprintf(why, why_len, "unexpected '%c' after the rule", *p), -1;
  }
  *pp = p;
  return 0;
}

int tls_rules_parse(const char *text, struct tls_rules **out, char *err, size_t err_len) {
  *out = NULL;
  struct tls_rules *r = calloc(1, sizeof *r);
  if (!r) return STRATA_ENOMEM;
  r->mctx = pcre2_match_context_create(NULL);
  if (!r->mctx) {
    free(r);
    return STRATA_ENOMEM;
  }
  pcre2_set_match_limit(r->mctx, RULE_MATCH_LIMIT);
  pcre2_set_depth_limit(r->mctx, RULE_DEPTH_LIMIT);
  const char *p = text ? text : "";
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (!*p) break;
    if (r->n == TLS_RULES_MAX) {
      snprintf(err, err_len, "ssl.principal.mapping.rules: more than %d rules", TLS_RULES_MAX);
      tls_rules_free(r);
      return STRATA_EINVALID_CONFIG;
    }
    char why[256];
    why[0] = 0;
    size_t at = (size_t)(p - (text ? text : ""));
    if (parse_rule(&p, &r->r[r->n], why, sizeof why)) {
      snprintf(err, err_len, "ssl.principal.mapping.rules: rule %zu (at %zu): %s", r->n + 1, at,
               why);
      tls_rules_free(r);
      return STRATA_EINVALID_CONFIG;
    }
    r->n++;
  }
  if (!r->n) r->r[r->n++].is_default = 1;
  *out = r;
  return 0;
}

struct outbuf {
  char *p;
  size_t len, cap;
  int overflow;
};

static void out_put(struct outbuf *o, const char *s, size_t n) {
  if (o->overflow || n >= o->cap - o->len) {
    o->overflow = 1;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

/* Append group g of the current match; a group that did not take part
 * adds nothing (Java's appendReplacement skips a null group). */
static void out_group(struct outbuf *o, const char *subject, const PCRE2_SIZE *ov, uint32_t g) {
  if (ov[2 * g] == PCRE2_UNSET) return;
  out_put(o, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

/* Expand a Java replacement for one match into o. */
static void expand(struct outbuf *o, const char *rep, const pcre2_code *re, const char *subject,
                   const PCRE2_SIZE *ov, uint32_t ngroups) {
  for (const char *p = rep; *p; p++) {
    if (*p == '\\' && p[1]) {
      out_put(o, p + 1, 1);
      p++;
    } else if (*p == '$' && p[1] == '{') {
      const char *end = strchr(p + 2, '}');
      char name[72];
      size_t nl = (size_t)(end - p - 2);
      memcpy(name, p + 2, nl);
      name[nl] = 0;
      int g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
      if (g > 0 && (uint32_t)g <= ngroups) out_group(o, subject, ov, (uint32_t)g);
      p = end;
    } else if (*p == '$' && isdigit((unsigned char)p[1])) {
      /* Java: the first digit always, further digits while the number
       * still names an existing group. */
      uint32_t g = (uint32_t)(p[1] - '0');
      p++;
      while (isdigit((unsigned char)p[1]) && g * 10 + (uint32_t)(p[1] - '0') <= ngroups) {
        g = g * 10 + (uint32_t)(p[1] - '0');
        p++;
      }
      if (g <= ngroups) out_group(o, subject, ov, g);
    } else {
      out_put(o, p, 1);
    }
  }
}

/* Java's String.replaceAll: every non-overlapping match left to right; after
 * an empty match the next search starts one character later. */
static int replace_all(const struct rule *ru, const char *dn, struct outbuf *o,
                       pcre2_match_data *md, pcre2_match_context *mctx) {
  size_t len = strlen(dn), pos = 0, copied = 0;
  uint32_t ngroups = 0;
  pcre2_pattern_info(ru->re, PCRE2_INFO_CAPTURECOUNT, &ngroups);
  while (pos <= len) {
    int rc = pcre2_match(ru->re, (PCRE2_SPTR)dn, len, pos, 0, md, mctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return -1;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    out_put(o, dn + copied, ov[0] - copied);
    expand(o, ru->replacement, ru->re, dn, ov, ngroups);
    copied = ov[1];
    pos = ov[1];
    if (ov[1] == ov[0]) /* empty match: step one (UTF-8) character */
      for (pos++; pos < len && ((unsigned char)dn[pos] & 0xC0) == 0x80;) pos++;
  }
  if (copied < len) out_put(o, dn + copied, len - copied);
  return 0;
}

int tls_rules_apply(const struct tls_rules *r, const char *dn, char *out, size_t cap) {
  if (!cap) return STRATA_ETOO_LARGE;
  out[0] = 0;
  for (size_t i = 0; r && i < r->n; i++) {
    const struct rule *ru = &r->r[i];
    struct outbuf o = {out, 0, cap, 0};
    if (ru->is_default) {
      out_put(&o, dn, strlen(dn));
    } else {
      pcre2_match_data *md = pcre2_match_data_create_from_pattern(ru->re, NULL);
      if (!md) return STRATA_ENOMEM;
      /* Kafka applies a rule only when its pattern matches the whole DN
       * (Matcher.matches()), then rewrites with replaceAll. */
      int rc = pcre2_match(ru->re, (PCRE2_SPTR)dn, strlen(dn), 0,
                           PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, r->mctx);
      if (rc < 0) {
        pcre2_match_data_free(md);
        continue;
      }
      rc = replace_all(ru, dn, &o, md, r->mctx);
      pcre2_match_data_free(md);
      if (rc) continue;
    }
    if (o.overflow) {
      out[0] = 0;
      return STRATA_ETOO_LARGE;
    }
    out[o.len] = 0;
    if (ru->casefold == CASE_LOWER)
      for (size_t k = 0; k < o.len; k++) out[k] = (char)tolower((unsigned char)out[k]);
    else if (ru->casefold == CASE_UPPER)
      for (size_t k = 0; k < o.len; k++) out[k] = (char)toupper((unsigned char)out[k]);
    return 0;
  }
  return STRATA_EINVALID_ARGUMENT;
}
