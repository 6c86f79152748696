/* Kafka's names for the ACL model's codes (common/acl.h), as kafka-acls and
 * the Java AdminClient print and accept them: "Topic", "Read", "Allow",
 * "Literal". Parsing ignores case and '_' / '-' ("idempotent-write",
 * "IDEMPOTENT_WRITE", "IdempotentWrite" are one). */
#ifndef STRATA_ACLNAME_H
#define STRATA_ACLNAME_H

#include <stdint.h>

/* "Unknown" for a code outside the enum. */
const char *aclname_resource(uint32_t code);
const char *aclname_pattern(uint32_t code);
const char *aclname_op(uint32_t code);
const char *aclname_perm(uint32_t code);
/* The code, or 0 when the name is none of them. */
uint8_t aclname_resource_parse(const char *s);
uint8_t aclname_pattern_parse(const char *s);
uint8_t aclname_op_parse(const char *s);
uint8_t aclname_perm_parse(const char *s);

#endif
