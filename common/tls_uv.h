/* common/tls.c on a libuv stream, for the servers' connection glue (broker
 * native and Kafka listeners, controller, admin HTTPS). It does three
 * things and decides nothing:
 *   - ciphertext read from the socket goes into the engine (tls_uv_feed),
 *     plaintext comes out (tls_uv_read) into the glue's own frame buffer;
 *   - plaintext the glue wants sent is queued by reference (tls_uv_write:
 *     the response's own buffers, freed once encrypted) and encrypted one
 *     TLS_SLICE at a time while the ciphertext in flight stays under
 *     TLS_PENDING_HIGH; every write completion encrypts the next slices,
 *     so a 16 MiB fetch answer never exists twice in memory;
 *   - whatever the engine produces (handshake, alerts, tickets, KeyUpdate,
 *     close_notify) is written to the socket at once.
 * The plaintext path stays untouched: connections without TLS never get
 * here. Single-threaded: everything runs on the loop thread. */
#ifndef STRATA_TLS_UV_H
#define STRATA_TLS_UV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "common/tls.h"

struct tls_uv_chunk;

struct tls_uv {
  uv_stream_t *stream;
  struct tls_conn *conn;
  struct tls_uv_chunk *head, *tail; /* plaintext waiting to be encrypted */
  size_t plain_queued;              /* its bytes */
  size_t cipher_inflight;           /* ciphertext in uv_write, not yet done */
  int closed;                       /* tls_uv_close was called */
  int shut_wanted;                  /* close_notify once the queue is empty */
  int shut_sent;
  /* After each completed ciphertext write (not after tls_uv_close): the
   * glue resumes reading or closes once tls_uv_queued is 0. */
  void (*on_written)(void *arg);
  void *arg;
};

/* A server-side (or client-side, peer_name set) TLS connection on stream.
 * 0 or STRATA_ENOMEM. */
int tls_uv_init(struct tls_uv *t, uv_stream_t *stream, struct tls_ctx *ctx, const char *peer_name,
                void (*on_written)(void *arg), void *arg);
/* Free the engine and the queued plaintext (owned buffers too); write
 * requests in flight free themselves. Call before uv_close on the stream. */
void tls_uv_close(struct tls_uv *t);

/* Ciphertext from the socket: feeds it, advances the handshake and sends
 * what the engine answered. 0, or STRATA_ENETWORK (tls_conn_error(t->conn)
 * says why; close the connection). */
int tls_uv_feed(struct tls_uv *t, const void *cipher, size_t len);
/* Plaintext decrypted so far: > 0 bytes, 0 for none yet, TLS_READ_CLOSED
 * on the peer's close_notify, < 0 on error. Call until <= 0. */
ssize_t tls_uv_read(struct tls_uv *t, void *buf, size_t cap);
int tls_uv_established(const struct tls_uv *t);

/* Queue n buffers of plaintext (by reference: they must stay valid); own1
 * and own2 (may be NULL) are free()d once all of it is encrypted, or on
 * tls_uv_close. Encrypts what the high-water mark allows now. 0, or an
 * error (the buffers are freed anyway; close the connection). */
int tls_uv_write(struct tls_uv *t, const uv_buf_t *bufs, unsigned n, void *own1, void *own2);
/* Plaintext not yet encrypted plus ciphertext not yet written: the glue's
 * equivalent of uv_stream_get_write_queue_size. */
size_t tls_uv_queued(const struct tls_uv *t);
/* Send close_notify after everything queued (graceful close); follow with
 * uv_shutdown/uv_close once tls_uv_queued is 0. */
int tls_uv_shutdown(struct tls_uv *t);

#endif
