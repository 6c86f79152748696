#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client/lib/conn_tls.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/wire.h"

int64_t conn_now_ms(void) { return clock_mono_ms(); }
int64_t conn_wall_ms(void) { return clock_wall_ms(); }

void conn_init(struct conn *c) {
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->broker_id = -1;
  c->next_corr = 1;
}

int conn_is_open(const struct conn *c) { return c->fd >= 0; }

void conn_close(struct conn *c) {
  conn_tls_close(c);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->rbuf);
  c->rbuf = NULL;
  c->rlen = c->rcap = c->rconsumed = 0;
}

int conn_wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - conn_now_ms();
    if (left < 0) left = 0;
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return STRATA_ENETWORK;
    if (n == 0) return STRATA_ETIMEOUT;
    return 0;
  }
}

int conn_open(struct conn *c, const char *host, int port, int timeout_ms,
              const struct client_sec *sec, char *err, size_t err_len) {
  conn_close(c);
  c->sec = sec;
  snprintf(c->host, sizeof c->host, "%s", host);
  c->port = port;
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  int g = getaddrinfo(host, ps, &hints, &res);
  if (g) {
    snprintf(err, err_len, "cannot resolve %s: %s", host, gai_strerror(g));
    return STRATA_EUNREACHABLE;
  }
  int rc = STRATA_EUNREACHABLE;
  int64_t deadline = conn_now_ms() + timeout_ms;
  const char *why = "no address";
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) && errno != EINPROGRESS) {
      why = strerror(errno);
      close(fd);
      continue;
    }
    int w = conn_wait_fd(fd, POLLOUT, deadline);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (!w) getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (w || soerr) {
      why = w ? "timed out" : strerror(soerr);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    c->fd = fd;
    rc = 0;
    break;
  }
  freeaddrinfo(res);
  if (rc) {
    snprintf(err, err_len, "cannot connect to %s:%d: %s", host, port, why);
    return rc;
  }
  if (sec && sec->tls && (rc = conn_tls_handshake(c, deadline, err, err_len))) conn_close(c);
  if (!rc && sec &&
      (sec->cfg.protocol == STRATA_SECURITY_SASL_PLAINTEXT ||
       sec->cfg.protocol == STRATA_SECURITY_SASL_SSL) &&
      (rc = conn_sasl_login(c, &sec->cfg, deadline, err, err_len)))
    conn_close(c);
  return rc;
}

/* sendmsg with MSG_NOSIGNAL, not writev: a broker that died must cost the
 * application an error code, never a SIGPIPE that kills it. */
int conn_write_raw(struct conn *c, struct iovec *iov, int n, int64_t deadline) {
  while (n > 0) {
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int rc = conn_wait_fd(c->fd, POLLOUT, deadline);
      if (rc) return rc;
      continue;
    }
    if (w < 0) return STRATA_ENETWORK;
    size_t k = (size_t)w;
    while (n > 0 && k >= iov->iov_len) {
      k -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + k;
      iov->iov_len -= k;
    }
  }
  return 0;
}

int conn_sendv(struct conn *c, Strata__Header *h, const uint8_t *const *parts,
               const size_t *lens, size_t nparts, int timeout_ms, uint32_t *corr) {
  if (c->fd < 0) return STRATA_ENETWORK;
  size_t total = 0;
  for (size_t i = 0; i < nparts; i++) total += lens[i];
  if (total > FRAME_MAX_DEFAULT) return STRATA_ETOO_LARGE;
  h->correlation_id = c->next_corr++;
  if (corr) *corr = h->correlation_id;
  uint8_t *head;
  size_t hl;
  int rc = wire_frame_head(h, (uint32_t)total, &head, &hl);
  if (rc) return rc;
  struct iovec iov[CONN_SENDV_PARTS_MAX + 1];
  if (nparts > CONN_SENDV_PARTS_MAX) {
    free(head);
    return STRATA_EINVALID_ARGUMENT;
  }
  iov[0] = (struct iovec){head, hl};
  int n = 1;
  for (size_t i = 0; i < nparts; i++)
    if (lens[i]) iov[n++] = (struct iovec){(void *)parts[i], lens[i]};
  int64_t deadline = conn_now_ms() + timeout_ms;
  rc = c->tls ? conn_tls_write(c, iov, n, deadline) : conn_write_raw(c, iov, n, deadline);
  free(head);
  if (rc) conn_close(c);
  return rc;
}

int conn_send(struct conn *c, Strata__Header *h, const uint8_t *payload,
              size_t payload_len, int timeout_ms, uint32_t *corr) {
  const uint8_t *parts[1] = {payload};
  size_t lens[1] = {payload_len};
  return conn_sendv(c, h, parts, lens, payload ? 1 : 0, timeout_ms, corr);
}

int conn_recv(struct conn *c, int timeout_ms, Strata__Header **h,
              const uint8_t **payload, uint32_t *payload_len) {
  if (c->fd < 0) return STRATA_ENETWORK;
  if (c->rconsumed) {
    memmove(c->rbuf, c->rbuf + c->rconsumed, c->rlen - c->rconsumed);
    c->rlen -= c->rconsumed;
    c->rconsumed = 0;
  }
  int64_t deadline = conn_now_ms() + timeout_ms;
  for (;;) {
    struct frame f;
    size_t need = 0;
    int rc = frame_parse(c->rbuf, c->rlen, CLIENT_FRAME_MAX, &f, &need);
    if (rc > 0) {
      c->rconsumed = (size_t)rc;
      if ((rc = wire_header_unpack(f.header, f.header_len, h))) {
        conn_close(c);
        return STRATA_ECORRUPT;
      }
      *payload = f.payload;
      *payload_len = f.payload_len;
      return 1;
    }
    if (rc < 0) {
      conn_close(c);
      return rc;
    }
    size_t want = need > c->rlen + 65536 ? need : c->rlen + 65536;
    if (want > c->rcap) {
      size_t cap = c->rcap ? c->rcap : 65536;
      while (cap < want) cap *= 2;
      uint8_t *b = realloc(c->rbuf, cap);
      if (!b) return STRATA_ENOMEM;
      c->rbuf = b;
      c->rcap = cap;
    }
    ssize_t n = c->tls ? conn_tls_read(c, c->rbuf + c->rlen, c->rcap - c->rlen, deadline)
                       : read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
    if (n > 0) {
      c->rlen += (size_t)n;
      continue;
    }
    if (n == 0) {
      conn_close(c);
      return STRATA_ENETWORK;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      conn_close(c);
      return STRATA_ENETWORK;
    }
    rc = conn_wait_fd(c->fd, POLLIN, deadline);
    if (rc == STRATA_ETIMEOUT) return 0;
    if (rc) {
      conn_close(c);
      return rc;
    }
  }
}

int conn_call(struct conn *c, Strata__Header *h, const uint8_t *payload,
              size_t payload_len, int timeout_ms, Strata__Header **resp,
              const uint8_t **rpayload, uint32_t *rpayload_len) {
  uint32_t corr;
  *resp = NULL;
  int64_t deadline = conn_now_ms() + timeout_ms;
  int rc = conn_send(c, h, payload, payload_len, timeout_ms, &corr);
  if (rc) return rc;
  for (;;) {
    int64_t left = deadline - conn_now_ms();
    if (left < 0) left = 0;
    Strata__Header *r;
    const uint8_t *pl;
    uint32_t pn;
    rc = conn_recv(c, (int)left, &r, &pl, &pn);
    if (rc < 0) return rc;
    if (rc == 0) {
      conn_close(c); /* a late answer would confuse the next call */
      return STRATA_ETIMEOUT;
    }
    if (r->correlation_id != corr) { /* a stale answer to an abandoned call */
      wire_header_free(r);
      continue;
    }
    *resp = r;
    if (rpayload) *rpayload = pl;
    if (rpayload_len) *rpayload_len = pn;
    return r->error_code ? strata_error_from_wire(r->error_code) : 0;
  }
}

int parse_hostport(const char *list, size_t i, char *host, size_t host_len,
                   int *port, int *count) {
  const char *p = list;
  size_t k = 0;
  int cnt = 0;
  int rc = STRATA_EINVALID_ARGUMENT;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n) {
      if (k == i) {
        const char *colon = memrchr(p, ':', n);
        if (colon && (size_t)(colon - p) < host_len && colon + 1 < p + n) {
          memcpy(host, p, (size_t)(colon - p));
          host[colon - p] = 0;
          char *end;
          long v = strtol(colon + 1, &end, 10);
          if (end == p + n && v > 0 && v < 65536) {
            *port = (int)v;
            rc = 0;
          }
        }
      }
      k++;
      cnt++;
    }
    if (!e) break;
    p = e + 1;
  }
  if (count) *count = cnt;
  return rc;
}
