/* Kafka's ACL model, as is: "principal P is allowed/denied operation O from
 * host H on any resource matching pattern RP". DENY wins over ALLOW; with the
 * authorizer on, nothing matches means deny (unless
 * allow.everyone.if.no.acl.found); super.users pass every check. Enum values
 * are Kafka's wire codes (CreateAcls/DescribeAcls), so they travel as is. */
#ifndef STRATA_ACL_H
#define STRATA_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "common/principal.h"

enum acl_resource {
  ACL_RES_ANY = 1, /* filters only */
  ACL_RES_TOPIC = 2,
  ACL_RES_GROUP = 3,
  ACL_RES_CLUSTER = 4,          /* the one name "kafka-cluster" */
  ACL_RES_TRANSACTIONAL_ID = 5,
};

enum acl_pattern {
  ACL_PAT_ANY = 1,   /* filters only */
  ACL_PAT_MATCH = 2, /* filters only: every pattern that would match the name */
  ACL_PAT_LITERAL = 3,
  ACL_PAT_PREFIXED = 4,
};

enum acl_op {
  ACL_OP_ANY = 1, /* filters only */
  ACL_OP_ALL = 2,
  ACL_OP_READ = 3,
  ACL_OP_WRITE = 4,
  ACL_OP_CREATE = 5,
  ACL_OP_DELETE = 6,
  ACL_OP_ALTER = 7,
  ACL_OP_DESCRIBE = 8,
  ACL_OP_CLUSTER_ACTION = 9,
  ACL_OP_DESCRIBE_CONFIGS = 10,
  ACL_OP_ALTER_CONFIGS = 11,
  ACL_OP_IDEMPOTENT_WRITE = 12,
};

enum acl_perm {
  ACL_PERM_ANY = 1, /* filters only */
  ACL_PERM_DENY = 2,
  ACL_PERM_ALLOW = 3,
};

#define ACL_CLUSTER_NAME "kafka-cluster"

/* One access control entry. Strings are owned by whoever owns the set. */
struct acl_entry {
  uint8_t resource;  /* enum acl_resource */
  uint8_t pattern;   /* LITERAL or PREFIXED */
  uint8_t op;        /* enum acl_op */
  uint8_t perm;      /* ALLOW or DENY */
  char *name;        /* resource name; "*" (LITERAL) matches every name */
  char *principal;   /* "User:alice"; "User:*" matches every principal */
  char *host;        /* an IP address, or "*" */
};

struct acl_set {
  struct acl_entry *v;
  size_t n;
};

/* The authorizer's settings (broker and controller read the same keys). */
struct authorizer_config {
  int enabled;           /* authorizer.enabled: off = every request allowed */
  char **super_users;    /* super.users, split at ';' ("User:admin") */
  size_t nsuper;
  int allow_if_no_acl;   /* allow.everyone.if.no.acl.found (default 0) */
};

/* Bounds: what a parser accepts, so config text and admin requests stay small. */
#define ACL_SUPER_USERS_MAX 64
#define ACL_NAME_MAX 1024   /* resource name (Kafka topics stop at 249) */
#define ACL_HOST_MAX 64     /* an IPv4/IPv6 address in text, or "*" */
#define ACL_TEXT_MAX 4096   /* one entry in acl_entry_format's text form */

/* ---- Deciding ---------------------------------------------------------- */

/* May `who` do `op` on the resource (type, name)? 1 = allowed, 0 = denied.
 * Kafka's order: authorizer off -> allowed; a super user -> allowed; any
 * matching DENY -> denied; any matching ALLOW (ALL, the op itself, or an op
 * that implies it: Read/Write/Delete/Alter imply Describe, AlterConfigs
 * implies DescribeConfigs) -> allowed; no ACL at all on the resource and
 * allow.everyone.if.no.acl.found -> allowed; else denied. An entry matches
 * when its resource type is `res`, its LITERAL name equals `name` (or is
 * "*") or its PREFIXED name is a prefix of `name`, its principal equals
 * who->name (case-sensitive) or is "User:*", and its host equals who->host
 * or is "*". who == NULL or acls == NULL are treated as anonymous / empty.
 * When `rule` is not NULL it is set to the entry that decided (NULL when a
 * super user, the authorizer being off, or the default decided): for audit
 * lines. Pure: no allocation, no clock. */
int acl_authorize(const struct authorizer_config *cfg, const struct acl_set *acls,
                  const struct principal *who, enum acl_resource res, const char *name,
                  enum acl_op op, const struct acl_entry **rule);

/* May `who` do `op` on at least one resource of type `res`? Kafka's
 * authorizeByResourceType (KIP-679: InitProducerId needs Write on any
 * topic): a super user yes; a matching DENY on LITERAL "*" no; else yes when
 * some matching ALLOW (the op or ALL) is LITERAL "*", or names a resource
 * that no matching DENY covers (a LITERAL deny of the same name, or a
 * PREFIXED deny that is a prefix of it). Authorizer off: 1. */
int acl_authorize_any(const struct authorizer_config *cfg, const struct acl_set *acls,
                      const struct principal *who, enum acl_resource res, enum acl_op op);

/* Does entry e match this resource / principal / host (ignoring op and
 * permission)? Exposed for DescribeAcls' MATCH filter and tests. */
int acl_entry_matches_resource(const struct acl_entry *e, enum acl_resource res,
                               const char *name);
int acl_entry_matches_principal(const struct acl_entry *e, const struct principal *who);

/* ---- Names (case-insensitive in, Kafka's spelling out) ------------------- */

/* "topic", "group", "cluster", "transactional-id" (also "TransactionalId",
 * "transactional_id"), "any". The enum value, or STRATA_EINVALID_ARGUMENT. */
int acl_resource_parse(const char *s);
/* "literal", "prefixed", "any", "match". */
int acl_pattern_parse(const char *s);
/* "Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
 * "DescribeConfigs", "AlterConfigs", "IdempotentWrite", "All", "Any";
 * case and '_'/'-' are ignored ("CLUSTER_ACTION", "cluster-action"). */
int acl_op_parse(const char *s);
/* "allow", "deny", "any". */
int acl_perm_parse(const char *s);
/* Kafka's names ("Topic", "Prefixed", "ClusterAction", "Allow"); "Unknown"
 * for values outside the enum. Never NULL. */
const char *acl_resource_name(int res);
const char *acl_pattern_name(int pat);
const char *acl_op_name(int op);
const char *acl_perm_name(int perm);

/* ---- Principals and super.users ----------------------------------------- */

/* Check a principal in Kafka's "Type:name" form: a non-empty type of
 * letters/digits, ':', a non-empty name, no control bytes, shorter than
 * PRINCIPAL_MAX. "User:*" is valid (the wildcard). 0 or
 * STRATA_EINVALID_ARGUMENT. */
int acl_principal_check(const char *s);

/* Parse super.users ("User:a;User:b", whitespace around each trimmed, empty
 * items skipped) into cfg->super_users / nsuper (replacing what was there).
 * 0, STRATA_EINVALID_CONFIG (a bad principal or more than
 * ACL_SUPER_USERS_MAX; err names it) or STRATA_ENOMEM. */
int authorizer_set_super_users(struct authorizer_config *cfg, const char *s, char *err,
                               size_t err_len);
/* Is `name` ("User:alice") one of cfg's super users? Exact, case-sensitive. */
int authorizer_is_super_user(const struct authorizer_config *cfg, const char *name);
/* Free the super user list and zero cfg. */
void authorizer_config_free(struct authorizer_config *cfg);

/* The authorizer's settings, the same keys on broker and controller
 * (common/acl_config.c): authorizer.enabled (default false), super.users
 * (checked with authorizer_set_super_users, copied as written into
 * super_users), allow.everyone.if.no.acl.found (default false). 0 or
 * STRATA_EINVALID_CONFIG naming the key in err. */
struct config;
int authorizer_settings_from(const struct config *c, int *enabled, char *super_users,
                             size_t super_users_len, int *allow_if_no_acl, char *err,
                             size_t err_len);

/* Refuse a configuration that locks everyone out: the authorizer on, a
 * listener that authenticates (SASL, or required client certificates:
 * `authenticates`), and no super user, so nobody could grant the first ACL
 * (Redpanda's rule; the controller's --bootstrap-user must be one of them).
 * 0 or STRATA_EINVALID_CONFIG with err saying what to set. */
int authorizer_startup_check(int enabled, const char *super_users, int authenticates,
                             char *err, size_t err_len);

/* ---- ACL entries as text (CLI, config, logs) ------------------------------ */

/* The text form is ';'-separated key=value pairs, in any order:
 *   resource=topic;pattern=prefixed;name=ev;principal=User:alice;host=*;
 *   operation=read;permission=allow
 * (pattern defaults to literal, host to "*", permission to allow; resource
 * cluster defaults its name to "kafka-cluster"). '\' escapes ';' and '\'
 * inside values, since group names and certificate DNs may contain them.
 * Parse fills *e with malloc'd strings (free with acl_entry_free); filters'
 * ANY/MATCH values are refused. 0 or STRATA_EINVALID_ARGUMENT (err says
 * why) or STRATA_ENOMEM. */
int acl_entry_parse(const char *text, struct acl_entry *e, char *err, size_t err_len);
/* Write e in the text form above (escaped; parses back to the same entry).
 * Returns the length it needs, like snprintf; out is always terminated. */
size_t acl_entry_format(const struct acl_entry *e, char *out, size_t out_len);
/* Check an entry built elsewhere (admin request, metadata record): concrete
 * resource, pattern, op and permission, a valid principal, a host that is
 * "*" or an IP address, a non-empty name ("kafka-cluster" for the cluster).
 * 0 or STRATA_EINVALID_ARGUMENT with err saying why. */
int acl_entry_check(const struct acl_entry *e, char *err, size_t err_len);
/* Free the strings of one entry (not e itself) and zero it. */
void acl_entry_free(struct acl_entry *e);

#endif
