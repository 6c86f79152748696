/* TLS for libstrata's connections: the engine (common/tls.h) turns
 * plaintext into records in memory; this file moves those records over the
 * connection's socket with conn.c's deadlines. */
#include "client/lib/conn_tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/tls.h"

int client_sec_init(struct client_sec *s, const strata_security *cfg, char *err, size_t err_len) {
  memset(s, 0, sizeof *s);
  if (!cfg) {
    strata_security_defaults(&s->cfg);
    return 0;
  }
  s->cfg = *cfg;
  int rc = strata_security_check(&s->cfg, err, err_len);
  if (rc) return rc;
  if (s->cfg.protocol != STRATA_SECURITY_SSL && s->cfg.protocol != STRATA_SECURITY_SASL_SSL) return 0;
  struct tls_settings ts;
  tls_settings_default(&ts);
  snprintf(ts.ca_file, sizeof ts.ca_file, "%s", s->cfg.ssl_ca_location);
  snprintf(ts.cert_file, sizeof ts.cert_file, "%s", s->cfg.ssl_certificate_location);
  snprintf(ts.key_file, sizeof ts.key_file, "%s", s->cfg.ssl_key_location);
  ts.verify_host = s->cfg.ssl_verify_hostname;
  return tls_ctx_new(TLS_ROLE_CLIENT, &ts, &s->tls, err, err_len);
}

void client_sec_free(struct client_sec *s) {
  tls_ctx_unref(s->tls);
  s->tls = NULL;
}

/* Send whatever ciphertext the engine holds, blocking until deadline. */
static int flush_out(struct conn *c, int64_t deadline) {
  while (tls_conn_out_pending(c->tls)) {
    size_t n = tls_conn_out_take(c->tls, c->tbuf, CONN_TLS_CHUNK);
    struct iovec iov = {c->tbuf, n};
    int rc = conn_write_raw(c, &iov, 1, deadline);
    if (rc) return rc;
  }
  return 0;
}

/* Read what the socket has into the engine: > 0 bytes fed, 0 at EOF, or -1
 * with errno (EAGAIN: nothing yet). */
static ssize_t feed_some(struct conn *c) {
  for (;;) {
    ssize_t n = read(c->fd, c->tbuf, CONN_TLS_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && tls_conn_feed(c->tls, c->tbuf, (size_t)n)) {
      errno = ENOMEM;
      return -1;
    }
    return n;
  }
}

int conn_tls_handshake(struct conn *c, int64_t deadline, char *err, size_t err_len) {
  c->tbuf = malloc(CONN_TLS_CHUNK + TLS_SLICE);
  c->tls = c->tbuf ? tls_conn_new(c->sec->tls, c->host) : NULL;
  if (!c->tls) {
    snprintf(err, err_len, "TLS with %s:%d: out of memory", c->host, c->port);
    return STRATA_ENOMEM;
  }
  for (;;) {
    int hs = tls_conn_handshake(c->tls);
    int rc = flush_out(c, deadline); /* the ClientHello, or an alert after a failure */
    if (hs < 0) {
      /* A plaintext listener answers a ClientHello with a frame of its own,
       * which is no TLS record ("wrong version number"). */
      const char *why = tls_conn_error(c->tls);
      snprintf(err, err_len, "TLS handshake with %s:%d failed: %s%s", c->host, c->port, why,
               strstr(why, "wrong version number") ? " (not TLS: is it a PLAINTEXT listener?)" : "");
      return STRATA_EUNREACHABLE;
    }
    if (rc) {
      snprintf(err, err_len, "TLS handshake with %s:%d: %s", c->host, c->port,
               rc == STRATA_ETIMEOUT ? "timed out" : "the connection broke");
      return rc == STRATA_ETIMEOUT ? rc : STRATA_EUNREACHABLE;
    }
    if (hs == 1) return 0;
    ssize_t n = feed_some(c);
    if (n > 0) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!(rc = conn_wait_fd(c->fd, POLLIN, deadline))) continue;
      snprintf(err, err_len, "TLS handshake with %s:%d: %s", c->host, c->port,
               rc == STRATA_ETIMEOUT ? "timed out (is it a TLS listener?)" : "poll failed");
      return rc == STRATA_ETIMEOUT ? rc : STRATA_EUNREACHABLE;
    }
    /* A plaintext listener takes the ClientHello for a frame it cannot
     * parse and hangs up; say so. */
    snprintf(err, err_len, "TLS handshake with %s:%d: the broker closed the connection (%s); "
             "is it a TLS (SSL://) listener?", c->host, c->port, n == 0 ? "EOF" : strerror(errno));
    return STRATA_EUNREACHABLE;
  }
}

/* Encrypt len bytes (slice by slice) and send them. */
static int put(struct conn *c, const uint8_t *p, size_t len, int64_t deadline) {
  while (len) {
    ssize_t w = tls_conn_write(c->tls, p, len);
    if (w <= 0) return STRATA_ENETWORK;
    p += w, len -= (size_t)w;
    int rc = flush_out(c, deadline);
    if (rc) return rc;
  }
  return 0;
}

int conn_tls_write(struct conn *c, const struct iovec *iov, int n, int64_t deadline) {
  /* Gather small pieces (a frame head, the payload's parts) into one slice:
   * one record per slice, not one per piece. Whole slices of a large piece
   * are encrypted where they are. */
  uint8_t *stage = c->tbuf + CONN_TLS_CHUNK;
  size_t fill = 0;
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    const uint8_t *p = iov[i].iov_base;
    size_t left = iov[i].iov_len;
    while (left && !rc) {
      if (!fill && left >= TLS_SLICE) {
        rc = put(c, p, TLS_SLICE, deadline);
        p += TLS_SLICE, left -= TLS_SLICE;
        continue;
      }
      size_t k = left < TLS_SLICE - fill ? left : TLS_SLICE - fill;
      memcpy(stage + fill, p, k);
      fill += k, p += k, left -= k;
      if (fill == TLS_SLICE) {
        rc = put(c, stage, fill, deadline);
        fill = 0;
      }
    }
  }
  if (!rc && fill) rc = put(c, stage, fill, deadline);
  return rc;
}

ssize_t conn_tls_read(struct conn *c, void *buf, size_t cap, int64_t deadline) {
  for (;;) {
    ssize_t got = tls_conn_read(c->tls, buf, cap);
    /* A read may answer something (a KeyUpdate): send it now. */
    if (tls_conn_out_pending(c->tls) && flush_out(c, deadline)) {
      errno = EPIPE;
      return -1;
    }
    if (got > 0) return got;
    if (got == TLS_READ_CLOSED) return 0;
    if (got < 0) {
      errno = EPROTO;
      return -1;
    }
    ssize_t n = feed_some(c);
    if (n <= 0) return n;
  }
}

void conn_tls_close(struct conn *c) {
  if (c->tls && c->fd >= 0 && tls_conn_established(c->tls)) {
    tls_conn_shutdown(c->tls); /* close_notify, best effort: never waits */
    size_t n = tls_conn_out_take(c->tls, c->tbuf, CONN_TLS_CHUNK);
    if (n) (void)!send(c->fd, c->tbuf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  tls_conn_free(c->tls);
  c->tls = NULL;
  free(c->tbuf);
  c->tbuf = NULL;
}
