#include "common/tls_uv.h"

#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

struct tls_uv_chunk {
  struct tls_uv_chunk *next;
  const uint8_t *p;
  size_t len;
  void *own1, *own2; /* freed with the chunk */
};

/* One uv_write of ciphertext; the bytes follow the request. */
struct cipher_write {
  uv_write_t w;
  struct tls_uv *t;
  size_t len;
  uint8_t data[];
};

static void chunk_free(struct tls_uv_chunk *c) {
  free(c->own1);
  free(c->own2);
  free(c);
}

int tls_uv_init(struct tls_uv *t, uv_stream_t *stream, struct tls_ctx *ctx, const char *peer_name,
                void (*on_written)(void *arg), void *arg) {
  memset(t, 0, sizeof *t);
  t->stream = stream;
  t->on_written = on_written;
  t->arg = arg;
  t->conn = tls_conn_new(ctx, peer_name);
  return t->conn ? 0 : STRATA_ENOMEM;
}

void tls_uv_close(struct tls_uv *t) {
  if (t->closed) return;
  t->closed = 1;
  while (t->head) {
    struct tls_uv_chunk *c = t->head;
    t->head = c->next;
    chunk_free(c);
  }
  t->tail = NULL;
  t->plain_queued = 0;
  tls_conn_free(t->conn);
  t->conn = NULL;
}

static int pump(struct tls_uv *t);

static void on_cipher_written(uv_write_t *w, int status) {
  struct cipher_write *cw = (struct cipher_write *)w;
  struct tls_uv *t = cw->t;
  size_t len = cw->len;
  free(cw);
  /* The stream's close cancels writes before its close callback frees the
   * connection, so t is still there; after tls_uv_close it is inert. */
  if (t->closed) return;
  t->cipher_inflight -= len;
  /* A failed write: the socket is going; its read side reports it. */
  if (status < 0 || pump(t)) return;
  if (t->on_written) t->on_written(t->arg);
}

/* Hand what the engine produced to the socket, as one write. */
static int flush_out(struct tls_uv *t) {
  size_t n = tls_conn_out_pending(t->conn);
  if (!n) return 0;
  struct cipher_write *cw = malloc(sizeof *cw + n);
  if (!cw) return STRATA_ENOMEM;
  cw->t = t;
  cw->len = tls_conn_out_take(t->conn, cw->data, n);
  uv_buf_t b = uv_buf_init((char *)cw->data, (unsigned)cw->len);
  if (uv_write(&cw->w, t->stream, &b, 1, on_cipher_written)) {
    free(cw);
    return STRATA_ENETWORK;
  }
  t->cipher_inflight += cw->len;
  return 0;
}

/* Pitfall 2 (a memory BIO never pushes back): encrypt only while the
 * ciphertext pending and in flight is under the high-water mark; the write
 * callback calls back here as the socket drains. What one call encrypted
 * leaves as one write (a response's header and payload, or a burst of
 * small answers, take one syscall, not one per piece). */
static int pump(struct tls_uv *t) {
  while (t->head && tls_conn_established(t->conn) &&
         t->cipher_inflight + tls_conn_out_pending(t->conn) < TLS_PENDING_HIGH) {
    struct tls_uv_chunk *c = t->head;
    ssize_t n = c->len ? tls_conn_write(t->conn, c->p, c->len) : 0;
    if (n < 0) return (int)n;
    if (n == 0 && c->len) break;
    c->p += n;
    c->len -= (size_t)n;
    t->plain_queued -= (size_t)n;
    if (!c->len) {
      t->head = c->next;
      if (!t->head) t->tail = NULL;
      chunk_free(c);
    }
  }
  if (!t->head && t->shut_wanted && !t->shut_sent) {
    t->shut_sent = 1;
    tls_conn_shutdown(t->conn);
  }
  return flush_out(t);
}

int tls_uv_feed(struct tls_uv *t, const void *cipher, size_t len) {
  if (t->closed) return STRATA_ENETWORK;
  int rc = tls_conn_feed(t->conn, cipher, len);
  if (rc) return rc;
  int was = tls_conn_established(t->conn);
  int h = tls_conn_handshake(t->conn);
  /* An alert explaining a failed handshake still goes out. */
  int frc = flush_out(t);
  if (h < 0) return h;
  if (frc) return frc;
  if (!was && h == 1) return pump(t); /* answers queued during the handshake */
  return 0;
}

ssize_t tls_uv_read(struct tls_uv *t, void *buf, size_t cap) {
  if (t->closed) return STRATA_ENETWORK;
  ssize_t n = tls_conn_read(t->conn, buf, cap);
  int frc = flush_out(t); /* pitfall 1: a read may have something to send */
  if (n >= 0 && frc) return frc;
  return n;
}

int tls_uv_established(const struct tls_uv *t) {
  return !t->closed && tls_conn_established(t->conn);
}

int tls_uv_write(struct tls_uv *t, const uv_buf_t *bufs, unsigned n, void *own1, void *own2) {
  if (t->closed || t->shut_wanted) {
    free(own1);
    free(own2);
    return STRATA_ENETWORK;
  }
  for (unsigned i = 0; i < n || (i == 0 && n == 0); i++) {
    struct tls_uv_chunk *c = calloc(1, sizeof *c);
    if (!c) {
      free(own1); /* earlier chunks reference them: drop the owners' memory last */
      free(own2);
      return STRATA_ENOMEM;
    }
    if (n) {
      c->p = (const uint8_t *)bufs[i].base;
      c->len = bufs[i].len;
    }
    if (i + 1 >= n) {
      c->own1 = own1;
      c->own2 = own2;
    }
    t->plain_queued += c->len;
    if (t->tail) t->tail->next = c;
    else t->head = c;
    t->tail = c;
  }
  return pump(t);
}

size_t tls_uv_queued(const struct tls_uv *t) {
  return t->plain_queued + t->cipher_inflight + (t->conn ? tls_conn_out_pending(t->conn) : 0);
}

int tls_uv_shutdown(struct tls_uv *t) {
  if (t->closed) return 0;
  t->shut_wanted = 1;
  return pump(t);
}
