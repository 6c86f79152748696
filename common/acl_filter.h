/* ACL binding filters as Kafka's DescribeAcls/DeleteAcls and kafka-acls
 * --list/--remove use them (Kafka's AclBindingFilter): ANY codes and NULL
 * strings match anything; principal and host otherwise match exactly (a
 * filter "User:*" finds the wildcard ACLs, not every ACL); pattern MATCH
 * with a name finds every ACL that would apply to that resource name:
 * LITERAL ones of that name or "*", and PREFIXED ones the name starts with. */
#ifndef STRATA_ACL_FILTER_H
#define STRATA_ACL_FILTER_H

#include "common/acl.h"
#include "proto/strata.pb-c.h"

struct acl_filter {
  uint8_t resource; /* enum acl_resource, ACL_RES_ANY for any */
  uint8_t pattern;  /* enum acl_pattern: ANY, MATCH, LITERAL or PREFIXED */
  uint8_t op;       /* enum acl_op, ACL_OP_ANY for any */
  uint8_t perm;     /* enum acl_perm, ACL_PERM_ANY for any */
  const char *name, *principal, *host; /* NULL: any */
};

/* The filter that matches every ACL. */
void acl_filter_any(struct acl_filter *f);
/* A wire filter (AclBinding with ANY codes; "" strings are NULL). Code 0
 * (unset) counts as ANY. Strings point into m. Returns 0, or
 * STRATA_EINVALID_REQUEST for a code Kafka does not define. */
int acl_filter_from_msg(const Strata__AclBinding *m, struct acl_filter *f);
int acl_filter_matches(const struct acl_filter *f, const struct acl_entry *e);

#endif
