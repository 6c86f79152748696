/* Listener addresses with Kafka's security-protocol schemes, parsed in one
 * place for the broker's `listeners` and `kafka.listeners`, the controller's
 * `listeners`, and `admin.listeners` (HTTP:// or HTTPS://):
 *   PLAINTEXT://host:port   SSL://host:port   SASL_PLAINTEXT://host:port
 *   SASL_SSL://host:port    host:port (no scheme: PLAINTEXT, as before)
 * The two flags are all the connection glue needs: tls says "wrap in
 * common/tls.c", sasl says "authenticate before anything else". */
#ifndef STRATA_LISTENER_H
#define STRATA_LISTENER_H

#include <stddef.h>

enum listener_protocol {
  LISTENER_PLAINTEXT = 0,
  LISTENER_SSL,
  LISTENER_SASL_PLAINTEXT,
  LISTENER_SASL_SSL,
};

struct listener_addr {
  enum listener_protocol protocol;
  int tls;        /* SSL or SASL_SSL (admin: HTTPS) */
  int sasl;       /* SASL_PLAINTEXT or SASL_SSL */
  char host[256]; /* as written, without IPv6 brackets */
  int port;       /* 0 allowed (the kernel picks) */
};

/* Kafka's name of a protocol ("SASL_SSL"). Never NULL. */
const char *listener_protocol_name(enum listener_protocol p);
/* Name to protocol (case-insensitive); -1 when unknown. Also the
 * client-side security.protocol values. */
int listener_protocol_parse(const char *name);

/* Parse "[SCHEME://]host:port" (IPv6 as [::1]:port). 0, or
 * STRATA_EINVALID_CONFIG with err naming `key` and the value. */
int listener_parse(const char *key, const char *value, struct listener_addr *out, char *err,
                   size_t err_len);
/* admin.listeners: "[HTTP://|HTTPS://]host:port"; tls set for HTTPS. */
int listener_parse_http(const char *key, const char *value, struct listener_addr *out,
                        char *err, size_t err_len);

#endif
