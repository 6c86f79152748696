/* An outgoing framed connection from a broker (to the controller, or to a
 * partition leader for replication): connect, send requests, and get each
 * response (or the connection's failure) through the request's callback, in
 * order. The owner reconnects after a failure. With a TLS context the link
 * does the handshake (checking the peer's certificate and name) before it
 * reports itself connected, and frames travel inside TLS records. */
#ifndef STRATA_LINK_UV_H
#define STRATA_LINK_UV_H

#include <stdint.h>
#include <uv.h>

#include "proto/strata.pb-c.h"

struct tls_ctx;
struct tls_conn;
struct sasl_settings;
struct sasl_client;

#define LINK_FRAME_MAX (256u << 20)
#define LINK_INFLIGHT_MAX 64

/* resp is freed by the link after the callback returns; payload likewise.
 * err != 0 (resp NULL) when the connection failed. */
typedef void (*link_cb)(void *arg, const Strata__Header *resp, const uint8_t *payload,
                        uint32_t payload_len, int err);

struct link_req {
  uint32_t corr;
  link_cb cb;
  void *arg;
};

struct link {
  uv_loop_t *loop;
  uv_tcp_t *tcp;        /* NULL when not connected */
  int connected;
  char host[256];
  int port;
  uint32_t next_corr;
  uint8_t *buf;
  size_t len, cap, need;
  struct link_req q[LINK_INFLIGHT_MAX];
  size_t qhead, qn;
  void (*on_state)(void *arg, int connected); /* connected or failed */
  void *state_arg;
  int resolving;        /* a host name lookup is on its way */
  uint64_t gen;         /* changes at init and close: late lookups are dropped */
  struct sockaddr_in source; /* outgoing address; sin_family 0: the kernel picks */
  char source_ip[64];
  struct tls_ctx *tls;  /* the owner's client context (NULL: plaintext); see link_set_tls */
  struct tls_conn *tc;  /* this connection's TLS session */
  uint8_t *cbuf;        /* ciphertext read from the socket (LINK_TLS_CHUNK) */
  int handshaking;      /* connected over TCP, TLS handshake not done */
  int delivering;       /* inside a response callback: buf stays until it returns */
  const struct sasl_settings *sasl; /* log in after connecting (NULL: no); see link_set_sasl */
  struct sasl_client *sc;           /* the login in progress */
  int authenticating;   /* transport up, SASL login not done */
};

#define LINK_TLS_CHUNK (64u * 1024)

void link_init(struct link *l, uv_loop_t *loop, const char *host, int port,
               void (*on_state)(void *, int), void *arg);
/* The link's connections leave from ip (NULL or "": the kernel picks); 0
 * or a libuv error for a malformed address. Call after link_init. */
int link_set_source(struct link *l, const char *ip);
/* Speak TLS on the next connections, with ctx (NULL: plaintext). The link
 * only borrows ctx to start a session (each session holds its own
 * reference): the owner keeps ctx alive while the link may connect, and
 * sets the new one after a reload. Call after link_init. */
void link_set_tls(struct link *l, struct tls_ctx *ctx);
/* Log in with SASL (sasl.mechanism, sasl.username, sasl.password of s,
 * borrowed: the owner keeps it) after connecting and, with TLS, after the
 * handshake; the link reports itself connected only once logged in. A
 * refused login is a failed connection (the owner backs off). */
void link_set_sasl(struct link *l, const struct sasl_settings *s);
/* Start connecting (no-op when connected or connecting). A host name is
 * looked up on libuv's threadpool first (a container's service name). */
void link_connect(struct link *l);
/* Fails every pending request with STRATA_ENETWORK and closes. */
void link_close(struct link *l);
int link_busy(const struct link *l); /* requests waiting for answers */
/* Send a request (header gets the next correlation id). 0 or an error (the
 * callback is then never called). */
int link_send(struct link *l, Strata__Header *h, const uint8_t *payload, size_t payload_len,
              link_cb cb, void *arg);

#endif
