/* libFuzzer target: ssl.principal.mapping.rules (common/tls_rules.c). The
 * input is a rule list, a NUL, then a DN to map: the parser must refuse bad
 * rules with an error, never crash, and a mapping must fit its buffer and
 * finish within PCRE2's match limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/tls_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *text = malloc(size + 2);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  text[size + 1] = 0;
  size_t rl = strlen(text);
  const char *dn = rl < size ? text + rl + 1 : "CN=alice,OU=eng,O=strata";
  struct tls_rules *r = NULL;
  char err[256], out[256];
  if (tls_rules_parse(text, &r, err, sizeof err) == 0) {
    if (!r || !tls_rules_count(r)) __builtin_trap();
    if (tls_rules_apply(r, dn, out, sizeof out) == 0 && strlen(out) >= sizeof out) __builtin_trap();
    tls_rules_apply(r, dn, out, 8); /* a small buffer: ETOO_LARGE or a short result */
    tls_rules_free(r);
  } else if (r || !err[0]) {
    __builtin_trap();
  }
  free(text);
  return 0;
}
