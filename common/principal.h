/* Who sent a request: the principal its connection authenticated as, in
 * Kafka's "User:NAME" form, and the address it came from. Filled by the
 * connection glue (TLS client certificate or SASL), read by the authorizer
 * (common/acl.h). */
#ifndef STRATA_PRINCIPAL_H
#define STRATA_PRINCIPAL_H

#define PRINCIPAL_MAX 256
#define PRINCIPAL_ANONYMOUS "User:ANONYMOUS"

struct principal {
  char name[PRINCIPAL_MAX]; /* "User:alice"; PRINCIPAL_ANONYMOUS without authentication */
  char host[64];            /* the peer's IP address, no port */
  int authenticated;        /* by SASL or a verified client certificate */
};

#endif
