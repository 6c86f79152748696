/* TLS under a client connection (conn.c): the handshake at conn_open, and
 * the encrypted read and write paths, over the pure engine common/tls.h on
 * the connection's blocking-with-deadline socket. Internal to libstrata. */
#ifndef STRATA_CLIENT_CONN_TLS_H
#define STRATA_CLIENT_CONN_TLS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "client/lib/conn.h"

/* conn.c's socket primitives, shared with the TLS layer: wait for events
 * until deadline (0, STRATA_ETIMEOUT or STRATA_ENETWORK), and write every
 * byte of iov (iov is consumed). */
int conn_wait_fd(int fd, short events, int64_t deadline);
int conn_write_raw(struct conn *c, struct iovec *iov, int n, int64_t deadline);

/* Handshake on the connected socket with c->sec->tls, checking the
 * broker's certificate against c->host; 0, or STRATA_EUNREACHABLE /
 * STRATA_ETIMEOUT with err saying why (the caller closes). */
int conn_tls_handshake(struct conn *c, int64_t deadline, char *err, size_t err_len);
/* Encrypt and send every byte of iov. 0 or STRATA_ENETWORK / STRATA_ETIMEOUT. */
int conn_tls_write(struct conn *c, const struct iovec *iov, int n, int64_t deadline);
/* Like read(2) on the plaintext: > 0 bytes, 0 at the end of the stream
 * (close_notify or EOF), -1 with errno EAGAIN when nothing is decrypted yet
 * and the socket has no more, or EPROTO for a TLS error. Already decrypted
 * data is returned before the socket is read again, so after -1/EAGAIN a
 * poll for POLLIN is the right wait. */
ssize_t conn_tls_read(struct conn *c, void *buf, size_t cap, int64_t deadline);
/* Free the session (no close_notify: the socket is closed right after). */
void conn_tls_close(struct conn *c);

#endif
