/* One client TCP connection to a broker: blocking socket driven with poll()
 * and deadlines, frame reassembly, and a request/response call for admin
 * traffic. Producers pipeline over it with conn_send + conn_recv. */
#ifndef STRATA_CLIENT_CONN_H
#define STRATA_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "client/strata.h"
#include "proto/strata.pb-c.h"

struct tls_ctx;
struct tls_conn;

/* Largest response frame a client accepts. */
#define CLIENT_FRAME_MAX (256u << 20)

/* How an owner (client, producer, consumer) reaches every broker: its
 * strata_security and, for SSL and SASL_SSL, one TLS client context that
 * all its connections share. Set up once at the owner's *_new. */
struct client_sec {
  strata_security cfg;
  struct tls_ctx *tls; /* NULL: no TLS */
};

/* Copy cfg (NULL: plaintext) and build the TLS context it asks for; 0 or
 * STRATA_EINVALID_CONFIG with err naming the file or setting. */
int client_sec_init(struct client_sec *s, const strata_security *cfg, char *err, size_t err_len);
void client_sec_free(struct client_sec *s);

/* Ciphertext scratch of a TLS connection: one read from the socket, or the
 * records of one 64 KiB plaintext slice (four 16 KiB records and their
 * overhead) in one send. */
#define CONN_TLS_CHUNK (80u * 1024)

struct conn {
  int fd;
  const struct client_sec *sec; /* the owner's; NULL: plaintext */
  struct tls_conn *tls;         /* established TLS session, or NULL */
  uint8_t *tbuf;                /* CONN_TLS_CHUNK of ciphertext scratch, then a
                                   TLS_SLICE plaintext stage (TLS only) */
  int32_t broker_id;
  char host[256];
  int port;
  uint32_t next_corr;
  uint8_t *rbuf;
  size_t rlen, rcap, rconsumed;
};

int64_t conn_now_ms(void); /* monotonic */
int64_t conn_wall_ms(void);

void conn_init(struct conn *c);
/* Connect with a deadline, and with sec (NULL: plaintext; kept by pointer,
 * so it outlives the connection) do the TLS handshake: the broker's
 * certificate must chain to ssl.ca.location and, unless the endpoint
 * identification is none, name host. err names host:port and the reason. */
int conn_open(struct conn *c, const char *host, int port, int timeout_ms,
              const struct client_sec *sec, char *err, size_t err_len);
void conn_close(struct conn *c);
int conn_is_open(const struct conn *c);

/* Send one request frame (header gets a fresh correlation id, returned in
 * *corr). Blocks until written or the deadline passes. */
int conn_send(struct conn *c, Strata__Header *h, const uint8_t *payload,
              size_t payload_len, int timeout_ms, uint32_t *corr);
/* Gather-send: payload from up to CONN_SENDV_PARTS_MAX pieces. */
#define CONN_SENDV_PARTS_MAX 128
int conn_sendv(struct conn *c, Strata__Header *h, const uint8_t *const *parts,
               const size_t *lens, size_t nparts, int timeout_ms, uint32_t *corr);

/* Receive the next response frame: 1 with *h (free with wire_header_free) and
 * payload (valid until the next conn_recv), 0 on timeout, negative on error
 * (the connection is closed). */
int conn_recv(struct conn *c, int timeout_ms, Strata__Header **h,
              const uint8_t **payload, uint32_t *payload_len);

/* Send and wait for the matching response (no pipelining). A response with a
 * request-level error_code returns that error (and *h is still set). */
int conn_call(struct conn *c, Strata__Header *h, const uint8_t *payload,
              size_t payload_len, int timeout_ms, Strata__Header **resp,
              const uint8_t **rpayload, uint32_t *rpayload_len);

/* Split "host:port[,host:port]" entry i; 0 or STRATA_EINVALID_ARGUMENT. */
int parse_hostport(const char *list, size_t i, char *host, size_t host_len,
                   int *port, int *count);

#endif
