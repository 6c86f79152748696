/* Kafka's authorizer decision (acl.h) and the text forms of its pieces:
 * resource / pattern / operation / permission names, principals,
 * super.users and whole ACL entries. Pure: no allocation in the decision,
 * no clock, no I/O. */
#include "common/acl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

static void say(char *err, size_t err_len, const char *fmt, ...) {
  if (!err || !err_len) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

/* ---- matching ----------------------------------------------------------- */

/* Hosts compare as addresses, so "::ffff:10.0.0.1" (an IPv4 client on a
 * dual-stack socket) is the rule "10.0.0.1", and "::1" equals "0::1".
 * Text that is no address compares as bytes. */
static int addr_canon(const char *s, unsigned char out[16]) {
  struct in_addr a4;
  if (inet_pton(AF_INET, s, &a4) == 1) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &a4, 4);
    return 1;
  }
  struct in6_addr a6;
  if (inet_pton(AF_INET6, s, &a6) == 1) {
    memcpy(out, &a6, 16);
    return 1;
  }
  return 0;
}

static int host_matches(const char *rule, const char *host) {
  if (!rule || strcmp(rule, "*") == 0) return 1;
  if (!host || !*host) return 0;
  if (strcmp(rule, host) == 0) return 1;
  unsigned char a[16], b[16];
  return addr_canon(rule, a) && addr_canon(host, b) && memcmp(a, b, 16) == 0;
}

int acl_entry_matches_resource(const struct acl_entry *e, enum acl_resource res,
                               const char *name) {
  if (!e || !e->name || !name || e->resource != res) return 0;
  switch (e->pattern) {
  case ACL_PAT_LITERAL:
    return strcmp(e->name, "*") == 0 || strcmp(e->name, name) == 0;
  case ACL_PAT_PREFIXED: {
    size_t n = strlen(e->name);
    return n > 0 && strncmp(e->name, name, n) == 0;
  }
  default:
    return 0; /* filter values never match as stored rules */
  }
}

int acl_entry_matches_principal(const struct acl_entry *e, const struct principal *who) {
  if (!e || !e->principal) return 0;
  const char *name = who ? who->name : PRINCIPAL_ANONYMOUS;
  if (strcmp(e->principal, "User:*") != 0 && strcmp(e->principal, name) != 0) return 0;
  return host_matches(e->host, who ? who->host : "");
}

/* Does an ALLOW for `have` grant `want`? ALL grants everything; Read, Write,
 * Delete and Alter grant Describe; AlterConfigs grants DescribeConfigs
 * (Kafka's implied operations, docs/security.html "Operations"). */
static int allow_grants(int have, int want) {
  if (have == ACL_OP_ALL || have == want) return 1;
  if (want == ACL_OP_DESCRIBE)
    return have == ACL_OP_READ || have == ACL_OP_WRITE || have == ACL_OP_DELETE ||
           have == ACL_OP_ALTER;
  if (want == ACL_OP_DESCRIBE_CONFIGS) return have == ACL_OP_ALTER_CONFIGS;
  return 0;
}

/* A DENY names the operation itself or ALL: denying Read does not deny
 * Describe (Kafka does the same). */
static int deny_covers(int have, int want) { return have == ACL_OP_ALL || have == want; }

int authorizer_is_super_user(const struct authorizer_config *cfg, const char *name) {
  if (!cfg || !name) return 0;
  for (size_t i = 0; i < cfg->nsuper; i++)
    if (cfg->super_users[i] && strcmp(cfg->super_users[i], name) == 0) return 1;
  return 0;
}

int acl_authorize(const struct authorizer_config *cfg, const struct acl_set *acls,
                  const struct principal *who, enum acl_resource res, const char *name,
                  enum acl_op op, const struct acl_entry **rule) {
  if (rule) *rule = NULL;
  if (!cfg || !cfg->enabled) return 1;
  if (who && authorizer_is_super_user(cfg, who->name)) return 1;
  if (!name) return 0;
  if (op == ACL_OP_ANY) return 0; /* a filter value is no request */
  const struct acl_entry *allow = NULL;
  int resource_has_acl = 0;
  size_t n = acls ? acls->n : 0;
  for (size_t i = 0; i < n; i++) {
    const struct acl_entry *e = &acls->v[i];
    if (!acl_entry_matches_resource(e, res, name)) continue;
    resource_has_acl = 1;
    if (!acl_entry_matches_principal(e, who)) continue;
    if (e->perm == ACL_PERM_DENY && deny_covers(e->op, op)) {
      if (rule) *rule = e;
      return 0; /* DENY wins, whatever else matches */
    }
    if (e->perm == ACL_PERM_ALLOW && !allow && allow_grants(e->op, op)) allow = e;
  }
  if (allow) {
    if (rule) *rule = allow;
    return 1;
  }
  return !resource_has_acl && cfg->allow_if_no_acl;
}

/* Is the ALLOW rule a (for op) fully covered by some DENY in the set? */
static int allow_covered(const struct acl_set *acls, const struct principal *who,
                         const struct acl_entry *a, enum acl_op op) {
  for (size_t i = 0; i < acls->n; i++) {
    const struct acl_entry *d = &acls->v[i];
    if (d->perm != ACL_PERM_DENY || d->resource != a->resource || !d->name ||
        !deny_covers(d->op, op) || !acl_entry_matches_principal(d, who))
      continue;
    if (d->pattern == ACL_PAT_LITERAL && a->pattern == ACL_PAT_LITERAL &&
        strcmp(d->name, a->name) == 0)
      return 1;
    if (d->pattern == ACL_PAT_PREFIXED && *d->name &&
        strncmp(d->name, a->name, strlen(d->name)) == 0)
      return 1;
  }
  return 0;
}

int acl_authorize_any(const struct authorizer_config *cfg, const struct acl_set *acls,
                      const struct principal *who, enum acl_resource res, enum acl_op op) {
  if (!cfg || !cfg->enabled) return 1;
  if (who && authorizer_is_super_user(cfg, who->name)) return 1;
  if (!acls || op == ACL_OP_ANY) return 0;
  for (size_t i = 0; i < acls->n; i++) {
    const struct acl_entry *d = &acls->v[i];
    if (d->perm == ACL_PERM_DENY && d->resource == res && d->pattern == ACL_PAT_LITERAL &&
        d->name && strcmp(d->name, "*") == 0 && deny_covers(d->op, op) &&
        acl_entry_matches_principal(d, who))
      return 0;
  }
  for (size_t i = 0; i < acls->n; i++) {
    const struct acl_entry *a = &acls->v[i];
    if (a->perm != ACL_PERM_ALLOW || a->resource != res || !a->name || !*a->name ||
        (a->op != op && a->op != ACL_OP_ALL) || !acl_entry_matches_principal(a, who))
      continue;
    if (a->pattern == ACL_PAT_LITERAL && strcmp(a->name, "*") == 0) return 1;
    if ((a->pattern == ACL_PAT_LITERAL || a->pattern == ACL_PAT_PREFIXED) &&
        !allow_covered(acls, who, a, op))
      return 1;
  }
  return 0;
}

/* ---- names -------------------------------------------------------------- */

struct name {
  int value;
  const char *kafka; /* how we print it */
};

static const struct name resources[] = {
    {ACL_RES_ANY, "Any"},     {ACL_RES_TOPIC, "Topic"},
    {ACL_RES_GROUP, "Group"}, {ACL_RES_CLUSTER, "Cluster"},
    {ACL_RES_TRANSACTIONAL_ID, "TransactionalId"},
};
static const struct name patterns[] = {
    {ACL_PAT_ANY, "Any"},
    {ACL_PAT_MATCH, "Match"},
    {ACL_PAT_LITERAL, "Literal"},
    {ACL_PAT_PREFIXED, "Prefixed"},
};
static const struct name ops[] = {
    {ACL_OP_ANY, "Any"},
    {ACL_OP_ALL, "All"},
    {ACL_OP_READ, "Read"},
    {ACL_OP_WRITE, "Write"},
    {ACL_OP_CREATE, "Create"},
    {ACL_OP_DELETE, "Delete"},
    {ACL_OP_ALTER, "Alter"},
    {ACL_OP_DESCRIBE, "Describe"},
    {ACL_OP_CLUSTER_ACTION, "ClusterAction"},
    {ACL_OP_DESCRIBE_CONFIGS, "DescribeConfigs"},
    {ACL_OP_ALTER_CONFIGS, "AlterConfigs"},
    {ACL_OP_IDEMPOTENT_WRITE, "IdempotentWrite"},
};
static const struct name perms[] = {
    {ACL_PERM_ANY, "Any"},
    {ACL_PERM_DENY, "Deny"},
    {ACL_PERM_ALLOW, "Allow"},
};

/* Compare ignoring case, '_' and '-': "CLUSTER_ACTION" = "ClusterAction"
 * = "cluster-action", as kafka-acls and AdminClient users write them. */
static int loose_eq(const char *a, const char *b) {
  for (;;) {
    while (*a == '_' || *a == '-') a++;
    while (*b == '_' || *b == '-') b++;
    if (!*a || !*b) return !*a && !*b;
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    a++, b++;
  }
}

static int lookup(const struct name *t, size_t n, const char *s) {
  if (!s) return STRATA_EINVALID_ARGUMENT;
  for (size_t i = 0; i < n; i++)
    if (loose_eq(s, t[i].kafka)) return t[i].value;
  return STRATA_EINVALID_ARGUMENT;
}

static const char *name_of(const struct name *t, size_t n, int v) {
  for (size_t i = 0; i < n; i++)
    if (t[i].value == v) return t[i].kafka;
  return "Unknown";
}

#define N(t) (sizeof(t) / sizeof((t)[0]))
int acl_resource_parse(const char *s) { return lookup(resources, N(resources), s); }
int acl_pattern_parse(const char *s) { return lookup(patterns, N(patterns), s); }
int acl_op_parse(const char *s) { return lookup(ops, N(ops), s); }
int acl_perm_parse(const char *s) { return lookup(perms, N(perms), s); }
const char *acl_resource_name(int v) { return name_of(resources, N(resources), v); }
const char *acl_pattern_name(int v) { return name_of(patterns, N(patterns), v); }
const char *acl_op_name(int v) { return name_of(ops, N(ops), v); }
const char *acl_perm_name(int v) { return name_of(perms, N(perms), v); }

/* ---- principals and super.users ------------------------------------------ */

int acl_principal_check(const char *s) {
  if (!s) return STRATA_EINVALID_ARGUMENT;
  size_t len = strnlen(s, PRINCIPAL_MAX);
  if (len == 0 || len >= PRINCIPAL_MAX) return STRATA_EINVALID_ARGUMENT;
  const char *colon = strchr(s, ':');
  if (!colon || colon == s || colon[1] == 0) return STRATA_EINVALID_ARGUMENT;
  for (const char *p = s; p < colon; p++)
    if (!isalnum((unsigned char)*p)) return STRATA_EINVALID_ARGUMENT;
  for (const char *p = colon + 1; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) return STRATA_EINVALID_ARGUMENT;
  return 0;
}

void authorizer_config_free(struct authorizer_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->nsuper; i++) free(cfg->super_users[i]);
  free(cfg->super_users);
  memset(cfg, 0, sizeof *cfg);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int authorizer_set_super_users(struct authorizer_config *cfg, const char *s, char *err,
                               size_t err_len) {
  char **v = calloc(ACL_SUPER_USERS_MAX, sizeof *v);
  if (!v) return STRATA_ENOMEM;
  size_t n = 0;
  int rc = 0;
  const char *p = s ? s : "";
  while (*p && rc == 0) {
    const char *end = strchr(p, ';');
    if (!end) end = p + strlen(p);
    const char *a = p, *z = end;
    while (a < z && is_space(*a)) a++;
    while (z > a && is_space(z[-1])) z--;
    p = *end ? end + 1 : end;
    if (a == z) continue;
    size_t len = (size_t)(z - a);
    if (n == ACL_SUPER_USERS_MAX) {
      say(err, err_len, "super.users: more than %d principals", ACL_SUPER_USERS_MAX);
      rc = STRATA_EINVALID_CONFIG;
    } else if (len >= PRINCIPAL_MAX) {
      say(err, err_len, "super.users: a principal longer than %d bytes", PRINCIPAL_MAX - 1);
      rc = STRATA_EINVALID_CONFIG;
    } else if (!(v[n] = strndup(a, len))) {
      rc = STRATA_ENOMEM;
    } else if (acl_principal_check(v[n++]) != 0) {
      say(err, err_len, "super.users: '%s' is not a principal like User:NAME", v[n - 1]);
      rc = STRATA_EINVALID_CONFIG;
    }
  }
  if (rc != 0) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    return rc;
  }
  for (size_t i = 0; i < cfg->nsuper; i++) free(cfg->super_users[i]);
  free(cfg->super_users);
  cfg->super_users = v;
  cfg->nsuper = n;
  return 0;
}

/* ---- entries as text ------------------------------------------------------ */

void acl_entry_free(struct acl_entry *e) {
  if (!e) return;
  free(e->name);
  free(e->principal);
  free(e->host);
  memset(e, 0, sizeof *e);
}

static int host_ok(const char *h) {
  unsigned char a[16];
  return h && (strcmp(h, "*") == 0 || addr_canon(h, a));
}

int acl_entry_check(const struct acl_entry *e, char *err, size_t err_len) {
  if (!e) return STRATA_EINVALID_ARGUMENT;
  if (e->resource < ACL_RES_TOPIC || e->resource > ACL_RES_TRANSACTIONAL_ID) {
    say(err, err_len, "resource type must be topic, group, cluster or transactional-id");
    return STRATA_EINVALID_ARGUMENT;
  }
  if (e->pattern != ACL_PAT_LITERAL && e->pattern != ACL_PAT_PREFIXED) {
    say(err, err_len, "pattern must be literal or prefixed");
    return STRATA_EINVALID_ARGUMENT;
  }
  if (e->op < ACL_OP_ALL || e->op > ACL_OP_IDEMPOTENT_WRITE) {
    say(err, err_len, "operation must be a concrete one (not any)");
    return STRATA_EINVALID_ARGUMENT;
  }
  if (e->perm != ACL_PERM_ALLOW && e->perm != ACL_PERM_DENY) {
    say(err, err_len, "permission must be allow or deny");
    return STRATA_EINVALID_ARGUMENT;
  }
  if (!e->name || !*e->name || strnlen(e->name, ACL_NAME_MAX) >= ACL_NAME_MAX) {
    say(err, err_len, "resource name must be 1..%d bytes", ACL_NAME_MAX - 1);
    return STRATA_EINVALID_ARGUMENT;
  }
  if (e->resource == ACL_RES_CLUSTER &&
      (e->pattern != ACL_PAT_LITERAL || strcmp(e->name, ACL_CLUSTER_NAME) != 0)) {
    say(err, err_len, "the cluster resource is the literal name " ACL_CLUSTER_NAME);
    return STRATA_EINVALID_ARGUMENT;
  }
  if (acl_principal_check(e->principal) != 0) {
    say(err, err_len, "principal must look like User:NAME");
    return STRATA_EINVALID_ARGUMENT;
  }
  if (!host_ok(e->host)) {
    say(err, err_len, "host must be * or an IP address");
    return STRATA_EINVALID_ARGUMENT;
  }
  return 0;
}

/* One value of the text form, unescaped into out (at most cap-1 bytes).
 * *p moves past the value and its ';'. -1 when it does not fit. */
static int take_value(const char **p, char *out, size_t cap) {
  size_t n = 0;
  const char *s = *p;
  while (*s && *s != ';') {
    char c = *s++;
    if (c == '\\') {
      if (!*s) return -1; /* a lone trailing backslash */
      c = *s++;
    }
    if (n + 1 >= cap) return -1;
    out[n++] = c;
  }
  out[n] = 0;
  *p = *s == ';' ? s + 1 : s;
  return 0;
}

int acl_entry_parse(const char *text, struct acl_entry *e, char *err, size_t err_len) {
  memset(e, 0, sizeof *e);
  if (!text) return STRATA_EINVALID_ARGUMENT;
  if (strnlen(text, ACL_TEXT_MAX) >= ACL_TEXT_MAX) {
    say(err, err_len, "ACL text longer than %d bytes", ACL_TEXT_MAX - 1);
    return STRATA_EINVALID_ARGUMENT;
  }
  int res = 0, pat = ACL_PAT_LITERAL, op = 0, perm = ACL_PERM_ALLOW;
  char name[ACL_NAME_MAX] = "", principal[PRINCIPAL_MAX] = "", host[ACL_HOST_MAX] = "*";
  int have_name = 0, have_principal = 0;
  unsigned seen = 0;
  char val[ACL_TEXT_MAX];
  const char *p = text;
  while (*p) {
    while (is_space(*p)) p++;
    if (*p == ';') { /* empty item */
      p++;
      continue;
    }
    if (!*p) break;
    const char *eq = strchr(p, '=');
    const char *semi = strchr(p, ';');
    if (!eq || (semi && semi < eq)) {
      say(err, err_len, "expected key=value at '%.40s'", p);
      return STRATA_EINVALID_ARGUMENT;
    }
    char key[32];
    size_t klen = (size_t)(eq - p);
    while (klen && is_space(p[klen - 1])) klen--;
    if (klen == 0 || klen >= sizeof key) {
      say(err, err_len, "bad key at '%.40s'", p);
      return STRATA_EINVALID_ARGUMENT;
    }
    memcpy(key, p, klen);
    key[klen] = 0;
    p = eq + 1;
    static const char *const keys[] = {"resource", "pattern",    "name", "principal",
                                       "host",     "operation", "permission"};
    unsigned k = 0;
    while (k < 7 && strcmp(key, keys[k]) != 0) k++;
    if (k == 7) {
      say(err, err_len, "unknown key '%s'", key);
      return STRATA_EINVALID_ARGUMENT;
    }
    if (seen & (1u << k)) {
      say(err, err_len, "key '%s' given twice", key);
      return STRATA_EINVALID_ARGUMENT;
    }
    seen |= 1u << k;
    size_t cap = k == 2 ? sizeof name : k == 3 ? sizeof principal : k == 4 ? sizeof host
                                                                         : sizeof val;
    if (take_value(&p, val, cap) != 0) {
      say(err, err_len, "value of '%s' too long or badly escaped", key);
      return STRATA_EINVALID_ARGUMENT;
    }
    /* keywords and hosts are trimmed; principals and resource names are
     * kept byte for byte (both may hold spaces) */
    char *v = val;
    if (k != 2 && k != 3) {
      while (is_space(*v)) v++;
      size_t vl = strlen(v);
      while (vl && is_space(v[vl - 1])) v[--vl] = 0;
    }
    switch (k) {
    case 0: res = acl_resource_parse(v); break;
    case 1: pat = acl_pattern_parse(v); break;
    case 2: strcpy(name, v), have_name = 1; break;
    case 3: strcpy(principal, v), have_principal = 1; break;
    case 4: strcpy(host, v); break;
    case 5: op = acl_op_parse(v); break;
    case 6: perm = acl_perm_parse(v); break;
    }
    if ((k == 0 && res < 0) || (k == 1 && pat < 0) || (k == 5 && op < 0) ||
        (k == 6 && perm < 0)) {
      say(err, err_len, "bad %s '%.40s'", key, v);
      return STRATA_EINVALID_ARGUMENT;
    }
  }
  if (!res || !op || !have_principal) {
    say(err, err_len, "resource, principal and operation are required");
    return STRATA_EINVALID_ARGUMENT;
  }
  if (!have_name) {
    if (res != ACL_RES_CLUSTER) {
      say(err, err_len, "name is required for a %s", acl_resource_name(res));
      return STRATA_EINVALID_ARGUMENT;
    }
    strcpy(name, ACL_CLUSTER_NAME);
  }
  struct acl_entry t = {(uint8_t)res, (uint8_t)pat, (uint8_t)op, (uint8_t)perm, name,
                        principal, host};
  int rc = acl_entry_check(&t, err, err_len);
  if (rc != 0) return rc;
  *e = t;
  e->name = strdup(name);
  e->principal = strdup(principal);
  e->host = strdup(host);
  if (!e->name || !e->principal || !e->host) {
    acl_entry_free(e);
    return STRATA_ENOMEM;
  }
  return 0;
}

/* Append s escaped (';' and '\' get a '\') to out at *len, counting what
 * it would need even past cap. */
static void put(char *out, size_t cap, size_t *len, const char *s, int escape) {
  for (; s && *s; s++) {
    if (escape && (*s == ';' || *s == '\\')) {
      if (*len + 1 < cap) out[*len] = '\\';
      (*len)++;
    }
    if (*len + 1 < cap) out[*len] = *s;
    (*len)++;
  }
}

size_t acl_entry_format(const struct acl_entry *e, char *out, size_t out_len) {
  size_t len = 0;
  put(out, out_len, &len, "resource=", 0);
  put(out, out_len, &len, acl_resource_name(e->resource), 0);
  put(out, out_len, &len, ";pattern=", 0);
  put(out, out_len, &len, acl_pattern_name(e->pattern), 0);
  put(out, out_len, &len, ";name=", 0);
  put(out, out_len, &len, e->name, 1);
  put(out, out_len, &len, ";principal=", 0);
  put(out, out_len, &len, e->principal, 1);
  put(out, out_len, &len, ";host=", 0);
  put(out, out_len, &len, e->host ? e->host : "*", 1);
  put(out, out_len, &len, ";operation=", 0);
  put(out, out_len, &len, acl_op_name(e->op), 0);
  put(out, out_len, &len, ";permission=", 0);
  put(out, out_len, &len, acl_perm_name(e->perm), 0);
  if (out_len) out[len < out_len ? len : out_len - 1] = 0;
  return len;
}
