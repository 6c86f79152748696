/* libFuzzer target: the ACL text parsers (common/acl.h) on arbitrary bytes:
 * an ACL entry, super.users and the name parsers. An entry that parses must
 * pass acl_entry_check, format back to text that parses to the same entry,
 * and be decidable by acl_authorize against a principal made of the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct acl_entry *a, const struct acl_entry *b) {
  return a->resource == b->resource && a->pattern == b->pattern && a->op == b->op &&
         a->perm == b->perm && strcmp(a->name, b->name) == 0 &&
         strcmp(a->principal, b->principal) == 0 && strcmp(a->host, b->host) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  char err[256];

  struct acl_entry e;
  if (acl_entry_parse(s, &e, err, sizeof err) == 0) {
    if (acl_entry_check(&e, err, sizeof err) != 0) __builtin_trap();
    char text[3 * ACL_TEXT_MAX];
    size_t need = acl_entry_format(&e, text, sizeof text);
    if (need >= sizeof text || strlen(text) != need) __builtin_trap();
    struct acl_entry back;
    if (acl_entry_parse(text, &back, err, sizeof err) != 0 || !same(&e, &back))
      __builtin_trap();
    acl_entry_free(&back);
    struct principal p = {{0}, {0}, 1};
    memcpy(p.name, e.principal, strnlen(e.principal, PRINCIPAL_MAX - 1));
    memcpy(p.host, e.host, strnlen(e.host, sizeof p.host - 1));
    struct acl_set set = {&e, 1};
    struct authorizer_config on = {.enabled = 1};
    int allowed = acl_authorize(&on, &set, &p, e.resource, e.name, e.op, NULL);
    /* its own principal, host and name: the rule decides, both ways */
    if (strcmp(e.host, "*") != 0 && allowed != (e.perm == ACL_PERM_ALLOW)) __builtin_trap();
    acl_entry_free(&e);
  } else if (e.name || e.principal || e.host) {
    __builtin_trap(); /* a refused entry leaves nothing allocated */
  }

  struct authorizer_config c = {0};
  if (authorizer_set_super_users(&c, s, err, sizeof err) == 0) {
    if (c.nsuper > ACL_SUPER_USERS_MAX) __builtin_trap();
    for (size_t i = 0; i < c.nsuper; i++)
      if (acl_principal_check(c.super_users[i]) != 0 ||
          !authorizer_is_super_user(&c, c.super_users[i]))
        __builtin_trap();
  }
  authorizer_config_free(&c);
  acl_principal_check(s);
  acl_op_parse(s), acl_resource_parse(s), acl_pattern_parse(s), acl_perm_parse(s);
  free(s);
  return 0;
}
