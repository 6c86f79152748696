/* TLS engine: OpenSSL 3 driven through two memory BIOs, with no sockets and
 * no event loop, so the libuv glue (server and client), the simulator and a
 * fuzzer can all drive it. Ciphertext from the network goes in with
 * tls_conn_feed; plaintext comes out of tls_conn_read; plaintext goes in with
 * tls_conn_write (at most TLS_SLICE bytes per call, so a 16 MiB fetch
 * response is encrypted slice by slice as the socket drains); ciphertext for
 * the network comes out of tls_conn_out_take. Any call may produce
 * ciphertext (handshake, TLS 1.3 session tickets, KeyUpdate, alerts): the
 * glue drains the output after every call.
 *
 * Policy is fixed here, not per caller: TLS 1.2 or newer, renegotiation off
 * (SSL_OP_NO_RENEGOTIATION), a bounded peer certificate chain, peer
 * verification against ssl.ca.location, the client checks the server's host
 * name or IP (ssl.endpoint.identification.algorithm=https) and sends SNI.
 *
 * A tls_ctx (certificate, key, CA, client-auth mode, principal mapping rules)
 * is refcounted: on SIGHUP the glue builds a new one for new connections;
 * each connection holds a reference to the context it started with. */
#ifndef STRATA_TLS_H
#define STRATA_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/principal.h"

#define TLS_PATH_MAX 1024
#define TLS_RULES_TEXT_MAX 4096
/* Most plaintext one tls_conn_write call encrypts (four 16 KiB records). */
#define TLS_SLICE (64 * 1024)
/* Pending ciphertext (engine output plus the socket's write queue) above
 * which the glue stops reading and encrypting, resuming in the write
 * callback once it is back under TLS_PENDING_LOW. */
#define TLS_PENDING_HIGH (512 * 1024)
#define TLS_PENDING_LOW (128 * 1024)
/* One deadline for the handshake (and, with SASL, for authentication). */
#define TLS_HANDSHAKE_TIMEOUT_MS 10000
/* Concurrent handshakes per listener; more connections wait unread. */
#define TLS_HANDSHAKES_MAX 64
/* Largest peer certificate chain accepted (SSL_CTX_set_max_cert_list). */
#define TLS_MAX_CERT_LIST (64 * 1024)

enum tls_client_auth {
  TLS_CLIENT_AUTH_NONE = 0,  /* no certificate asked for */
  TLS_CLIENT_AUTH_REQUESTED, /* asked; if sent it must verify */
  TLS_CLIENT_AUTH_REQUIRED,  /* the handshake fails without a verified one */
};

/* The ssl.* settings, the same names on broker, controller and clients. */
struct tls_settings {
  char cert_file[TLS_PATH_MAX];        /* ssl.certificate.location (PEM, may hold the chain) */
  char key_file[TLS_PATH_MAX];         /* ssl.key.location (PEM, unencrypted) */
  char ca_file[TLS_PATH_MAX];          /* ssl.ca.location (PEM); "" = system store */
  enum tls_client_auth client_auth;    /* ssl.client.auth (server side) */
  char mapping_rules[TLS_RULES_TEXT_MAX]; /* ssl.principal.mapping.rules; "" = DEFAULT */
  int verify_host; /* ssl.endpoint.identification.algorithm: 1 = https (default), 0 = none */
};

/* The ssl.* keys tls_settings_from_config reads (for config_check_known lists). */
extern const char *const tls_settings_keys[];

void tls_settings_default(struct tls_settings *s);
/* Set one key. 1 when the key is one of tls_settings_keys and the value
 * parses, 0 when the key is not ours, STRATA_EINVALID_CONFIG (err says why)
 * for a bad value. */
int tls_settings_set(struct tls_settings *s, const char *key, const char *value, char *err,
                     size_t err_len);
/* Defaults, then every ssl.* key present in c. 0 or STRATA_EINVALID_CONFIG. */
int tls_settings_from_config(const struct config *c, struct tls_settings *s, char *err,
                             size_t err_len);

enum tls_role { TLS_ROLE_SERVER = 0, TLS_ROLE_CLIENT };

struct tls_ctx;

/* Build a context from the files (read now; later changes need a new
 * context). A server needs certificate and key, and a CA when client_auth
 * is not none; a client needs a CA (or the system store) and sends its
 * certificate when one is configured. The mapping rules are parsed here:
 * a bad rule fails the build. Refcount 1. 0 or STRATA_EINVALID_CONFIG /
 * STRATA_ENOMEM with err naming the file or the OpenSSL reason. */
int tls_ctx_new(enum tls_role role, const struct tls_settings *s, struct tls_ctx **out,
                char *err, size_t err_len);
void tls_ctx_ref(struct tls_ctx *ctx);
/* Drop a reference; the last one frees. NULL is a no-op. */
void tls_ctx_unref(struct tls_ctx *ctx);
/* notAfter of the context's own certificate, Unix seconds; -1 without one. */
int64_t tls_ctx_cert_not_after(const struct tls_ctx *ctx);

struct tls_conn;

/* A connection on ctx (which it references until tls_conn_free). peer_name:
 * client side, the server's host name or IP, checked against its
 * certificate (unless verify_host is 0) and sent as SNI when it is a name;
 * NULL on the server side. NULL on allocation failure. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *peer_name);
void tls_conn_free(struct tls_conn *c); /* NULL is a no-op */

/* Ciphertext received from the network. 0 or STRATA_ENOMEM. */
int tls_conn_feed(struct tls_conn *c, const void *data, size_t len);

/* Advance the handshake with what has been fed. 1 once established, 0 while
 * it needs more input (drain the output first), STRATA_ENETWORK when it
 * failed (tls_conn_error says why; drain the output: it may hold an alert,
 * then close). After 1, the peer principal is known. */
int tls_conn_handshake(struct tls_conn *c);
int tls_conn_established(const struct tls_conn *c);

#define TLS_READ_CLOSED (-1000) /* tls_conn_read: the peer sent close_notify */

/* Plaintext, after the handshake: > 0 bytes copied into buf, 0 when nothing
 * is decrypted yet (feed more), TLS_READ_CLOSED on the peer's close_notify,
 * STRATA_ENETWORK on a protocol error (including an EOF in mid-record, a
 * renegotiation attempt, a bad MAC). Call until it returns <= 0: one fed
 * buffer may hold several records. */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t cap);

/* Encrypt up to min(len, TLS_SLICE) bytes of plaintext after the
 * handshake; returns how many were taken (then drain the output), 0 before
 * the handshake is done, STRATA_ENETWORK after an error. The caller decides
 * when to stop, by tls_conn_out_pending plus its own write queue against
 * TLS_PENDING_HIGH. */
ssize_t tls_conn_write(struct tls_conn *c, const void *data, size_t len);

/* Ciphertext waiting to be sent. */
size_t tls_conn_out_pending(const struct tls_conn *c);
/* Move up to cap bytes of it into buf; returns how many. */
size_t tls_conn_out_take(struct tls_conn *c, void *buf, size_t cap);

/* Queue close_notify (drain the output, then shut the socket down). Does
 * nothing after a fatal error or when already sent. */
void tls_conn_shutdown(struct tls_conn *c);

/* Why the last call failed (OpenSSL's reason or ours); "" when none. */
const char *tls_conn_error(const struct tls_conn *c);
/* "TLSv1.3" etc. once established, "" before. */
const char *tls_conn_version(const struct tls_conn *c);

/* After the handshake, the principal the peer's verified certificate maps
 * to: p->name = "User:<mapped RFC 2253 DN>", p->authenticated = 1; host is
 * left alone (the glue knows the address). Returns 1 when filled, 0 when
 * the peer sent no certificate (p untouched). A certificate no mapping
 * rule matches fails the handshake, so it never reaches here. */
int tls_conn_peer_principal(const struct tls_conn *c, struct principal *p);
/* The peer certificate's subject, RFC 2253 ("CN=broker-1,O=strata"); "" when
 * none. */
const char *tls_conn_peer_dn(const struct tls_conn *c);

#endif
