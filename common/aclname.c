/* Kafka's names for ACL codes (aclname.h). */
#include "common/aclname.h"

#include <ctype.h>
#include <stddef.h>

#include "common/acl.h"

static const char *const resources[] = {NULL, "Any", "Topic", "Group", "Cluster",
                                        "TransactionalId"};
static const char *const patterns[] = {NULL, "Any", "Match", "Literal", "Prefixed"};
static const char *const ops[] = {NULL,       "Any",      "All",           "Read",
                                  "Write",    "Create",   "Delete",        "Alter",
                                  "Describe", "ClusterAction", "DescribeConfigs",
                                  "AlterConfigs", "IdempotentWrite"};
static const char *const perms[] = {NULL, "Any", "Deny", "Allow"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *label(const char *const *v, size_t n, uint32_t code) {
  return code < n && v[code] ? v[code] : "Unknown";
}

/* Equal ignoring case, '_' and '-'. */
static int same(const char *a, const char *b) {
  for (;;) {
    while (*a == '_' || *a == '-') a++;
    while (*b == '_' || *b == '-') b++;
    if (!*a || !*b) return !*a && !*b;
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    a++, b++;
  }
}

static uint8_t parse(const char *const *v, size_t n, const char *s) {
  for (size_t i = 1; s && i < n; i++)
    if (same(v[i], s)) return (uint8_t)i;
  return 0;
}

const char *aclname_resource(uint32_t c) { return label(resources, N(resources), c); }
const char *aclname_pattern(uint32_t c) { return label(patterns, N(patterns), c); }
const char *aclname_op(uint32_t c) { return label(ops, N(ops), c); }
const char *aclname_perm(uint32_t c) { return label(perms, N(perms), c); }
uint8_t aclname_resource_parse(const char *s) { return parse(resources, N(resources), s); }
uint8_t aclname_pattern_parse(const char *s) { return parse(patterns, N(patterns), s); }
uint8_t aclname_op_parse(const char *s) { return parse(ops, N(ops), s); }
uint8_t aclname_perm_parse(const char *s) { return parse(perms, N(perms), s); }
