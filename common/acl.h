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

#endif
