/* One client TCP connection to a broker: blocking socket driven with poll()
 * and deadlines, frame reassembly, and a request/response call for admin
 * traffic. Producers pipeline over it with conn_send + conn_recv. */
#ifndef STRATA_CLIENT_CONN_H
#define STRATA_CLIENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/strata.pb-c.h"

/* Largest response frame a client accepts. */
#define CLIENT_FRAME_MAX (256u << 20)

struct conn {
  int fd;
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
/* Connect with a deadline; err names host:port and the reason. */
int conn_open(struct conn *c, const char *host, int port, int timeout_ms,
              char *err, size_t err_len);
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
