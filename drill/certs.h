/* Throwaway certificates for local clusters with TLS on every link (`strata
 * drill --tls`, tests): a CA, and leaf certificates it signs for each node
 * (SAN: its IP address) and for clients, written as PEM files into a folder.
 * Made with OpenSSL's API, so nothing but libcrypto is needed; EC P-256
 * keys, valid from an hour ago for two days. */
#ifndef STRATA_DRILL_CERTS_H
#define STRATA_DRILL_CERTS_H

#include <stddef.h>

struct certs_ca;

/* A new CA "CN=<cn>,O=strata" written to dir/<name>.pem and dir/<name>.key.
 * NULL with err set on failure. */
struct certs_ca *certs_ca_new(const char *dir, const char *name, const char *cn, char *err,
                              size_t err_len);
void certs_ca_free(struct certs_ca *ca);

/* A leaf "CN=<cn>,O=strata" signed by ca into dir/<name>.pem and
 * dir/<name>.key (mode 0600), usable by servers and clients (mutual TLS
 * between nodes). ip: its subjectAltName IP address, or NULL for none
 * (a client's). 0 or -1 with err set. */
int certs_leaf(struct certs_ca *ca, const char *dir, const char *name, const char *cn,
               const char *ip, char *err, size_t err_len);

#endif
