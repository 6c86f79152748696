#include "common/http_server_uv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/tls_uv.h"

enum { CONN_READING = 0, CONN_WRITING, CONN_CLOSING };

struct hconn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  struct http_server *srv;
  struct hconn *prev, *next; /* oldest first */
  int state;
  int handles;               /* open libuv handles: freed at 0 */
  struct tls_uv *tls;        /* HTTPS: the engine; NULL for HTTP */
  size_t len;
  char buf[HTTP_REQUEST_MAX];
};

struct http_server {
  uv_tcp_t listener;
  uv_loop_t *loop;
  http_route_fn route;
  void *arg;
  size_t conns_max;
  struct hconn *head, *tail;
  struct http_server_stats st;
  int port;
  int stopping, listener_open;
  size_t nalloc;             /* connections not yet freed (closing ones too) */
  struct tls_ctx *tls;       /* HTTPS (http_server_set_tls); NULL: HTTP */
  char rbuf[16384];          /* one read of ciphertext, decrypted at once */
};

struct hwrite {
  uv_write_t w;
  char *head, *body;
};

static void server_maybe_free(struct http_server *s) {
  if (s->stopping && !s->listener_open && !s->nalloc) {
    tls_ctx_unref(s->tls);
    free(s);
  }
}

void http_server_set_tls(struct http_server *s, struct tls_ctx *ctx) {
  if (!s) return;
  if (ctx) tls_ctx_ref(ctx);
  tls_ctx_unref(s->tls);
  s->tls = ctx;
}

static void on_handle_closed(uv_handle_t *h) {
  struct hconn *c = h->data;
  if (--c->handles) return;
  struct http_server *s = c->srv;
  free(c->tls);
  free(c);
  s->nalloc--;
  server_maybe_free(s);
}

static void conn_close(struct hconn *c) {
  if (c->state == CONN_CLOSING) return;
  struct http_server *s = c->srv;
  c->state = CONN_CLOSING;
  if (c->prev) c->prev->next = c->next; else s->head = c->next;
  if (c->next) c->next->prev = c->prev; else s->tail = c->prev;
  c->prev = c->next = NULL;
  s->st.open--;
  if (c->tls) tls_uv_close(c->tls);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  struct hwrite *hw = (struct hwrite *)w;
  struct hconn *c = w->handle->data;
  free(hw->head);
  free(hw->body);
  free(hw);
  conn_close(c); /* one request per connection */
}

static void on_timeout(uv_timer_t *t);

/* Queue the answer and stop reading; the connection closes once it left,
 * or at the write deadline if the client does not take it. */
static void conn_answer(struct hconn *c, int head_only, struct http_answer *a) {
  struct http_server *s = c->srv;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->state = CONN_WRITING;
  s->st.answered++;
  /* No longer a reader: it cannot be evicted, and is moved out of the way. */
  uv_timer_start(&c->timer, on_timeout, HTTP_WRITE_TIMEOUT_MS, 0);
  struct hwrite *hw = calloc(1, sizeof *hw);
  char *head = malloc(512);
  if (!hw || !head) {
    free(hw);
    free(head);
    free(a->body);
    conn_close(c);
    return;
  }
  int n = snprintf(head, 512,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
                   "Connection: close\r\n\r\n",
                   a->status, http_reason(a->status),
                   a->content_type ? a->content_type : "text/plain; charset=utf-8", a->len,
                   a->cors ? "Access-Control-Allow-Origin: *\r\n" : "");
  hw->head = head;
  hw->body = a->body;
  uv_buf_t bufs[2] = {uv_buf_init(head, (unsigned)n),
                      uv_buf_init(a->body ? a->body : "", head_only ? 0 : (unsigned)a->len)};
  if (c->tls) { /* HTTPS: the answer, close_notify, then close (on_tls_written) */
    free(hw);
    if (tls_uv_write(c->tls, bufs, head_only || !a->len ? 1 : 2, head, a->body) ||
        tls_uv_shutdown(c->tls) || !tls_uv_queued(c->tls))
      conn_close(c);
    return;
  }
  if (uv_write(&hw->w, (uv_stream_t *)&c->tcp, bufs, head_only || !a->len ? 1 : 2, on_written)) {
    free(hw->head);
    free(hw->body);
    free(hw);
    conn_close(c);
  }
}

static void answer_status(struct hconn *c, int status) {
  char *body = malloc(64);
  int n = body ? snprintf(body, 64, "%d %s\n", status, http_reason(status)) : 0;
  struct http_answer a = {status, "text/plain; charset=utf-8", body, (size_t)n, 1};
  conn_answer(c, 0, &a);
}

static void answer_error(struct hconn *c, int status) {
  c->srv->st.bad_request++;
  answer_status(c, status);
}

/* The head's deadline, or the answer's. A client that sent part of a head
 * in time is told 408 (docs/admin.md); one that sent nothing, or does not
 * take its answer, is closed. */
static void on_timeout(uv_timer_t *t) {
  struct hconn *c = t->data;
  c->srv->st.timed_out++;
  if (c->state == CONN_READING && c->len) answer_status(c, 408);
  else conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  struct hconn *c = h->data;
  if (c->tls) *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
  else *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void conn_input(struct hconn *c, size_t nread);

/* HTTPS: ciphertext through the engine; the plaintext lands in c->buf as a
 * plaintext read would. The handshake counts against the head's deadline. */
static void conn_cipher(struct hconn *c, const char *data, size_t n) {
  if (tls_uv_feed(c->tls, data, n)) {
    c->srv->st.bad_request++;
    conn_close(c);
    return;
  }
  while (c->state == CONN_READING) {
    ssize_t r = tls_uv_read(c->tls, c->buf + c->len, sizeof c->buf - c->len);
    if (r > 0) conn_input(c, (size_t)r);
    else if (r == 0) break;
    else {
      conn_close(c);
      break;
    }
  }
}

/* The answer (and close_notify) left: close. */
static void on_tls_written(void *arg) {
  struct hconn *c = arg;
  if (c->state == CONN_WRITING && !tls_uv_queued(c->tls)) conn_close(c);
}

/* nread more bytes of the head are in c->buf: answer once it is complete,
 * or refused. */
static void conn_input(struct hconn *c, size_t nread) {
  c->len += nread;
  struct http_request r;
  long n = http_request_parse(c->buf, c->len, &r);
  if (n < 0) {
    answer_error(c, (int)-n);
    return;
  }
  if (n == 0) {
    if (c->len == sizeof c->buf) answer_error(c, 431); /* the parser's bound, to be sure */
    return;
  }
  struct http_answer a = {0};
  c->srv->route(c->srv->arg, &r, &a);
  if (!a.status) a.status = 500;
  conn_answer(c, r.method == HTTP_HEAD, &a);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct hconn *c = st->data;
  if (c->state != CONN_READING) return;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (c->tls) conn_cipher(c, buf->base, (size_t)nread);
  else conn_input(c, (size_t)nread);
}

/* Take what a reader has sent but the loop has not read yet. A burst of
 * connections is accepted in one go, before the loop reads any of them: a
 * scraper's request caught in it is waiting in its socket, and is answered
 * here rather than evicted with the idle ones. 1 if c no longer reads
 * (answered, or closed). */
static int conn_read_now(struct hconn *c) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd)) return 0;
  if (c->tls) {
    ssize_t n = recv(fd, c->srv->rbuf, sizeof c->srv->rbuf, MSG_DONTWAIT);
    if (n > 0) conn_cipher(c, c->srv->rbuf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) conn_close(c);
    return c->state != CONN_READING;
  }
  ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
  if (n > 0) conn_input(c, (size_t)n);
  else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) conn_close(c);
  return c->state != CONN_READING;
}

static void on_connection(uv_stream_t *ls, int status) {
  struct http_server *s = ls->data;
  if (status < 0 || s->stopping) return;
  struct hconn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  s->nalloc++;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->state = CONN_READING;
  /* Linked before accept so conn_close can unlink it on any path. */
  c->prev = s->tail;
  if (s->tail) s->tail->next = c; else s->head = c;
  s->tail = c;
  s->st.open++;
  if (uv_accept(ls, (uv_stream_t *)&c->tcp)) {
    conn_close(c);
    return;
  }
  s->st.opened++;
  if (s->tls) {
    c->tls = malloc(sizeof *c->tls);
    if (!c->tls || tls_uv_init(c->tls, (uv_stream_t *)&c->tcp, s->tls, NULL, on_tls_written, c)) {
      free(c->tls);
      c->tls = NULL;
      conn_close(c);
      return;
    }
  }
  /* One too many: the oldest still reading its head goes, unless what it
   * has sent completes it. */
  while (s->st.open > s->conns_max) {
    struct hconn *old = s->head;
    while (old && old->state != CONN_READING) old = old->next;
    if (!old || old == c) {
      s->st.refused_full++;
      conn_close(c);
      return;
    }
    if (conn_read_now(old)) continue;
    s->st.evicted++;
    conn_close(old);
  }
  uv_timer_start(&c->timer, on_timeout, HTTP_HEAD_TIMEOUT_MS, 0);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_listener_closed(uv_handle_t *h) {
  struct http_server *s = h->data;
  s->listener_open = 0;
  server_maybe_free(s);
}

int http_server_start(struct http_server **out, uv_loop_t *loop, const char *host, int port,
                      size_t conns_max, http_route_fn route, void *arg, char *err,
                      size_t err_len) {
  *out = NULL;
  struct sockaddr_storage addr;
  int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  if (rc) {
    snprintf(err, err_len, "'%s' is not an IP address", host);
    return rc;
  }
  struct http_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, err_len, "out of memory");
    return UV_ENOMEM;
  }
  s->loop = loop;
  s->route = route;
  s->arg = arg;
  s->conns_max = conns_max ? conns_max : 1;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->listener_open = 1;
  if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection))) {
    snprintf(err, err_len, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    return rc;
  }
  struct sockaddr_storage bound;
  int bl = sizeof bound;
  s->port = port;
  if (!uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &bl))
    s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = s;
  return 0;
}

int http_server_port(const struct http_server *s) { return s ? s->port : 0; }

const struct http_server_stats *http_server_stats(const struct http_server *s) { return &s->st; }

void http_server_stop(struct http_server *s) {
  if (!s || s->stopping) return;
  s->stopping = 1;
  while (s->head) conn_close(s->head);
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}
