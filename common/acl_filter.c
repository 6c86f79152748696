/* Kafka's AclBindingFilter semantics (acl_filter.h). */
#include "common/acl_filter.h"

#include <string.h>

#include "common/errors.h"

void acl_filter_any(struct acl_filter *f) {
  memset(f, 0, sizeof *f);
  f->resource = ACL_RES_ANY;
  f->pattern = ACL_PAT_ANY;
  f->op = ACL_OP_ANY;
  f->perm = ACL_PERM_ANY;
}

static const char *opt(const char *s) { return s && *s ? s : NULL; }

int acl_filter_from_msg(const Strata__AclBinding *m, struct acl_filter *f) {
  acl_filter_any(f);
  if (!m) return 0;
  if (m->resource_type > ACL_RES_TRANSACTIONAL_ID || m->pattern_type > ACL_PAT_PREFIXED ||
      m->operation > ACL_OP_IDEMPOTENT_WRITE || m->permission > ACL_PERM_ALLOW)
    return STRATA_EINVALID_REQUEST;
  if (m->resource_type) f->resource = (uint8_t)m->resource_type;
  if (m->pattern_type) f->pattern = (uint8_t)m->pattern_type;
  if (m->operation) f->op = (uint8_t)m->operation;
  if (m->permission) f->perm = (uint8_t)m->permission;
  f->name = opt(m->resource_name);
  f->principal = opt(m->principal);
  f->host = opt(m->host);
  return 0;
}

/* Kafka's ResourcePatternFilter.matches. */
static int pattern_matches(const struct acl_filter *f, const struct acl_entry *e) {
  if (f->resource != ACL_RES_ANY && f->resource != e->resource) return 0;
  if (f->pattern != ACL_PAT_ANY && f->pattern != ACL_PAT_MATCH && f->pattern != e->pattern)
    return 0;
  if (!f->name) return 1;
  if (f->pattern == ACL_PAT_ANY || f->pattern == e->pattern) return !strcmp(f->name, e->name);
  /* MATCH: the ACLs that would apply to a resource called f->name */
  if (e->pattern == ACL_PAT_LITERAL) return !strcmp(f->name, e->name) || !strcmp(e->name, "*");
  if (e->pattern == ACL_PAT_PREFIXED) return !strncmp(f->name, e->name, strlen(e->name));
  return 0;
}

int acl_filter_matches(const struct acl_filter *f, const struct acl_entry *e) {
  if (!pattern_matches(f, e)) return 0;
  if (f->principal && strcmp(f->principal, e->principal)) return 0;
  if (f->host && strcmp(f->host, e->host)) return 0;
  if (f->op != ACL_OP_ANY && f->op != e->op) return 0;
  return f->perm == ACL_PERM_ANY || f->perm == e->perm;
}
