/* ssl.principal.mapping.rules: how a client certificate's subject DN (RFC
 * 2253, "CN=alice,OU=eng,O=strata") becomes a user name, with Apache Kafka's
 * syntax and semantics (KIP-371): a comma- or newline-separated list of
 * RULE:pattern/replacement/[LU] and DEFAULT, tried in order, the first rule
 * whose pattern matches the whole DN wins; its replacement is applied as
 * Java's String.replaceAll does ($1, ${name}, \x for a literal x), then L
 * lowercases or U uppercases. DEFAULT keeps the DN as is. When no rule
 * matches, the certificate maps to nothing and the connection is refused.
 * Patterns are PCRE2 (see tls_rules.c for why). Pure: no OpenSSL. */
#ifndef STRATA_TLS_RULES_H
#define STRATA_TLS_RULES_H

#include <stddef.h>

#define TLS_RULES_MAX 64        /* rules in one list */
#define TLS_RULE_TEXT_MAX 1024  /* one pattern or replacement */

struct tls_rules;

/* Parse a rule list; NULL or "" means "DEFAULT". 0 with *out set, or
 * STRATA_EINVALID_CONFIG with err naming the rule and the reason (bad
 * syntax, a pattern PCRE2 refuses, a $n beyond the pattern's groups). */
int tls_rules_parse(const char *text, struct tls_rules **out, char *err, size_t err_len);
void tls_rules_free(struct tls_rules *r); /* NULL is a no-op */
size_t tls_rules_count(const struct tls_rules *r);

/* Map dn through the rules into out (NUL-terminated). 0, STRATA_EINVALID_ARGUMENT
 * when no rule matches, STRATA_ETOO_LARGE when the result does not fit cap. */
int tls_rules_apply(const struct tls_rules *r, const char *dn, char *out, size_t cap);

#endif
