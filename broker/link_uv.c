#include "link_uv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/frame.h"
#include "common/sasl.h"
#include "common/sasl_config.h"
#include "common/tls.h"
#include "common/trace.h"
#include "common/wire.h"

struct connect_req {
  uv_connect_t c;
  struct link *l;
};

struct resolve_req {
  uv_getaddrinfo_t r;
  struct link *l;
  uint64_t gen;
};

/* Generations are unique in the process (a lookup for a link closed and
 * set up again must not match): a counter, not state of any one broker. */
static uint64_t next_gen = 1;

int link_set_source(struct link *l, const char *ip) {
  memset(&l->source, 0, sizeof l->source);
  if (!ip || !*ip) return 0;
  snprintf(l->source_ip, sizeof l->source_ip, "%s", ip);
  return uv_ip4_addr(ip, 0, &l->source);
}

struct write_req {
  uv_write_t w;
  uint8_t *head;
  uint8_t *payload;
};

void link_init(struct link *l, uv_loop_t *loop, const char *host, int port,
               void (*on_state)(void *, int), void *arg) {
  memset(l, 0, sizeof *l);
  l->loop = loop;
  snprintf(l->host, sizeof l->host, "%s", host);
  l->port = port;
  l->next_corr = 1;
  l->on_state = on_state;
  l->state_arg = arg;
  l->gen = next_gen++;
}

int link_busy(const struct link *l) { return l->qn > 0; }

void link_set_tls(struct link *l, struct tls_ctx *ctx) { l->tls = ctx; }

void link_set_sasl(struct link *l, const struct sasl_settings *s) { l->sasl = s; }

static void on_handle_closed(uv_handle_t *h) { free(h); }

static void on_write(uv_write_t *w, int status);

/* Ciphertext the TLS session holds, into one uv_write; 0 or -1 when the
 * socket cannot take it (the caller closes). */
static int tls_flush(struct link *l) {
  size_t n = tls_conn_out_pending(l->tc);
  if (!n) return 0;
  struct write_req *wr = calloc(1, sizeof *wr);
  uint8_t *out = malloc(n);
  if (!wr || !out) {
    free(wr);
    free(out);
    return -1;
  }
  n = tls_conn_out_take(l->tc, out, n);
  wr->head = out;
  uv_buf_t b = uv_buf_init((char *)out, (unsigned)n);
  if (uv_write(&wr->w, (uv_stream_t *)l->tcp, &b, 1, on_write)) {
    free(out);
    free(wr);
    return -1;
  }
  return 0;
}

/* Fail whatever waits and drop the socket; callbacks may re-enter. */
void link_close(struct link *l) {
  l->gen = next_gen++;
  l->resolving = 0;
  if (l->tc && l->tcp && tls_conn_established(l->tc)) {
    tls_conn_shutdown(l->tc); /* close_notify, best effort */
    uint8_t alert[256];
    size_t n = tls_conn_out_take(l->tc, alert, sizeof alert);
    uv_buf_t b = uv_buf_init((char *)alert, (unsigned)n);
    if (n) uv_try_write((uv_stream_t *)l->tcp, &b, 1);
  }
  tls_conn_free(l->tc);
  l->tc = NULL;
  if (l->sc) {
    sasl_cl_clear(l->sc);
    free(l->sc);
    l->sc = NULL;
  }
  free(l->cbuf);
  l->cbuf = NULL;
  if (!l->delivering) { /* else deliver_frames frees it, done with the payload */
    free(l->buf);
    l->buf = NULL;
    l->cap = 0;
  }
  if (l->tcp) {
    l->tcp->data = NULL;
    if (!uv_is_closing((uv_handle_t *)l->tcp)) uv_close((uv_handle_t *)l->tcp, on_handle_closed);
    l->tcp = NULL;
  }
  /* A handshake that fails is a connection that failed: the owner backs off. */
  int was = l->connected || l->handshaking || l->authenticating;
  l->handshaking = 0;
  l->authenticating = 0;
  l->connected = 0;
  l->len = 0;
  l->need = 0;
  while (l->qn) {
    struct link_req r = l->q[l->qhead];
    l->qhead = (l->qhead + 1) % LINK_INFLIGHT_MAX;
    l->qn--;
    r.cb(r.arg, NULL, NULL, 0, STRATA_ENETWORK);
  }
  if (was && l->on_state) l->on_state(l->state_arg, 0);
}

/* Room for at least want more bytes after l->len in the frame buffer. */
static int ensure_room(struct link *l, size_t want) {
  if (l->need > l->len + want) want = l->need - l->len;
  if (l->len + want <= l->cap) return 0;
  size_t cap = l->cap ? l->cap : 65536;
  while (cap < l->len + want) cap *= 2;
  uint8_t *b = realloc(l->buf, cap);
  if (!b) return -1;
  l->buf = b;
  l->cap = cap;
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct link *l = h->data;
  if (l->tc) { /* ciphertext goes to the session first */
    if (!l->cbuf) l->cbuf = malloc(LINK_TLS_CHUNK);
    *buf = uv_buf_init((char *)l->cbuf, l->cbuf ? LINK_TLS_CHUNK : 0);
    return;
  }
  if (ensure_room(l, suggested > 65536 ? suggested : 65536)) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  *buf = uv_buf_init((char *)l->buf + l->len, (unsigned)(l->cap - l->len));
}

/* Hand every complete response frame in the buffer to its request's
 * callback, in order. A callback may close the link (and even connect it
 * again): then the rest of the buffer is dead, and freed here unless a new
 * connection uses it. */
static void deliver_frames(struct link *l) {
  uint64_t gen = l->gen;
  size_t off = 0;
  l->delivering = 1;
  while (l->tcp && l->gen == gen) {
    struct frame f;
    size_t need = 0;
    int rc = frame_parse(l->buf + off, l->len - off, LINK_FRAME_MAX, &f, &need);
    if (rc == 0) {
      l->need = need;
      break;
    }
    Strata__Header *h = NULL;
    if (rc < 0 || wire_header_unpack(f.header, f.header_len, &h) || l->qn == 0 ||
        h->correlation_id != l->q[l->qhead].corr) {
      wire_header_free(h);
      trace_warn("link to %s:%d: unexpected or malformed response", l->host, l->port);
      link_close(l);
      break;
    }
    struct link_req r = l->q[l->qhead];
    l->qhead = (l->qhead + 1) % LINK_INFLIGHT_MAX;
    l->qn--;
    off += (size_t)rc;
    l->need = 0;
    r.cb(r.arg, h, f.payload, f.payload_len, 0); /* may close the link */
    wire_header_free(h);
  }
  l->delivering = 0;
  if (l->gen != gen) { /* closed meanwhile: l->len is 0 */
    if (!l->tcp) {
      free(l->buf);
      l->buf = NULL;
      l->cap = 0;
    }
    return;
  }
  if (off) {
    memmove(l->buf, l->buf + off, l->len - off);
    l->len -= off;
  }
}

static void transport_up(struct link *l);

/* The handshake finished: the link is usable (after a SASL login, if any). */
static void tls_established(struct link *l) {
  l->handshaking = 0;
  trace_debug("link to %s:%d: %s", l->host, l->port, tls_conn_version(l->tc));
  transport_up(l);
}

/* n bytes of ciphertext arrived: advance the handshake, or decrypt into
 * the frame buffer and deliver what is complete. */
static void tls_input(struct link *l, size_t n) {
  if (tls_conn_feed(l->tc, l->cbuf, n)) {
    link_close(l);
    return;
  }
  if (l->handshaking) {
    int hs = tls_conn_handshake(l->tc);
    if (tls_flush(l) || hs < 0) {
      trace_warn("TLS handshake with %s:%d failed: %s", l->host, l->port,
                 hs < 0 ? tls_conn_error(l->tc) : "cannot write");
      link_close(l);
      return;
    }
    if (hs == 0) return;
    uint64_t gen = l->gen;
    tls_established(l); /* may send, or close (and even connect again) */
    if (l->gen != gen || !l->tc) return;
  }
  for (;;) {
    if (ensure_room(l, 65536)) {
      link_close(l);
      return;
    }
    ssize_t got = tls_conn_read(l->tc, l->buf + l->len, l->cap - l->len);
    if (tls_flush(l)) got = STRATA_ENETWORK; /* a KeyUpdate's answer, say */
    if (got == 0) break;
    if (got < 0) {
      if (got != TLS_READ_CLOSED)
        trace_warn("link to %s:%d: TLS: %s", l->host, l->port, tls_conn_error(l->tc));
      link_close(l);
      return;
    }
    l->len += (size_t)got;
  }
  deliver_frames(l);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct link *l = s->data;
  if (!l) return;
  if (nread < 0) {
    trace_debug("link to %s:%d: %s", l->host, l->port, uv_strerror((int)nread));
    if (l->handshaking)
      trace_warn("TLS handshake with %s:%d: the peer closed the connection (is it a TLS "
                 "listener?)", l->host, l->port);
    link_close(l);
    return;
  }
  if (l->tc) {
    if (nread) tls_input(l, (size_t)nread);
    return;
  }
  l->len += (size_t)nread;
  deliver_frames(l);
}

static void on_connect(uv_connect_t *c, int status) {
  struct connect_req *cr = (struct connect_req *)c;
  struct link *l = cr->l;
  uv_tcp_t *tcp = (uv_tcp_t *)c->handle;
  free(cr);
  if (!l || l->tcp != tcp) return; /* closed meanwhile */
  if (status < 0) {
    trace_debug("cannot connect to %s:%d: %s", l->host, l->port, uv_strerror(status));
    link_close(l);
    if (l->on_state) l->on_state(l->state_arg, 0);
    return;
  }
  uv_tcp_nodelay(tcp, 1);
  uv_read_start((uv_stream_t *)tcp, on_alloc, on_read);
  if (l->tls) { /* connected once the handshake is done (tls_input) */
    l->tc = tls_conn_new(l->tls, l->host);
    l->handshaking = 1;
    if (!l->tc || tls_conn_handshake(l->tc) < 0 || tls_flush(l)) {
      trace_warn("TLS with %s:%d: cannot start: %s", l->host, l->port,
                 l->tc ? tls_conn_error(l->tc) : "out of memory");
      link_close(l);
    }
    return;
  }
  transport_up(l);
}

static void connect_to(struct link *l, const struct sockaddr_in *addr);

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *res) {
  struct resolve_req *rr = (struct resolve_req *)r;
  struct link *l = rr->l;
  if (l->gen == rr->gen) { /* still wanted */
    l->resolving = 0;
    if (status < 0 || !res) {
      trace_debug("cannot resolve %s: %s", l->host, uv_strerror(status));
      if (l->on_state) l->on_state(l->state_arg, 0); /* retried like a refused connect */
    } else {
      connect_to(l, (const struct sockaddr_in *)res->ai_addr);
    }
  }
  if (res) uv_freeaddrinfo(res);
  free(rr);
}

void link_connect(struct link *l) {
  if (l->tcp || l->resolving) return;
  struct sockaddr_in addr;
  if (!uv_ip4_addr(l->host, l->port, &addr)) {
    connect_to(l, &addr);
    return;
  }
  struct resolve_req *rr = calloc(1, sizeof *rr);
  if (!rr) return;
  rr->l = l;
  rr->gen = l->gen;
  char port[16];
  snprintf(port, sizeof port, "%d", l->port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  l->resolving = 1;
  if (uv_getaddrinfo(l->loop, &rr->r, on_resolved, l->host, port, &hints)) {
    l->resolving = 0;
    free(rr);
    trace_error("cannot look up %s", l->host);
  }
}

static void connect_to(struct link *l, const struct sockaddr_in *addr_in) {
  struct sockaddr_in addr = *addr_in;
  l->tcp = calloc(1, sizeof *l->tcp);
  struct connect_req *cr = calloc(1, sizeof *cr);
  if (!l->tcp || !cr) abort();
  uv_tcp_init(l->loop, l->tcp);
  l->tcp->data = l;
  cr->l = l;
  if (l->source.sin_family && uv_tcp_bind(l->tcp, (struct sockaddr *)&l->source, 0)) {
    trace_error("cannot bind an outgoing connection to %s", l->source_ip);
    free(cr);
    link_close(l);
    return;
  }
  if (uv_tcp_connect(&cr->c, l->tcp, (struct sockaddr *)&addr, on_connect)) {
    free(cr);
    link_close(l);
  }
}

static void on_write(uv_write_t *w, int status) {
  (void)status;
  struct write_req *wr = (struct write_req *)w;
  free(wr->head);
  free(wr->payload);
  free(wr);
}

/* Encrypt a request (head, then payload) and queue the records. */
static int tls_send(struct link *l, const uint8_t *head, size_t hl, const uint8_t *payload,
                    size_t payload_len) {
  uint8_t *plain = malloc(hl + payload_len);
  if (!plain) return STRATA_ENOMEM;
  memcpy(plain, head, hl);
  if (payload_len) memcpy(plain + hl, payload, payload_len);
  size_t off = 0, n = hl + payload_len;
  int rc = 0;
  while (!rc && off < n) {
    ssize_t w = tls_conn_write(l->tc, plain + off, n - off);
    if (w <= 0) rc = STRATA_ENETWORK;
    else off += (size_t)w;
  }
  free(plain);
  if (!rc && tls_flush(l)) rc = STRATA_ENETWORK;
  return rc;
}

static int send_frame(struct link *l, Strata__Header *h, const uint8_t *payload,
                      size_t payload_len, link_cb cb, void *arg);

int link_send(struct link *l, Strata__Header *h, const uint8_t *payload, size_t payload_len,
              link_cb cb, void *arg) {
  if (!l->connected || !l->tcp) return STRATA_ENETWORK;
  return send_frame(l, h, payload, payload_len, cb, arg);
}

/* ---- SASL login (common/sasl.c's client over SaslHandshake/Authenticate) ---- */

static void login_failed(struct link *l, const char *why) {
  trace_warn("link to %s:%d: SASL login as %s (%s) refused: %s", l->host, l->port,
             l->sasl->username, sasl_mech_name(l->sasl->mechanism), why);
  link_close(l);
}

static void login_done(struct link *l) {
  sasl_cl_clear(l->sc);
  free(l->sc);
  l->sc = NULL;
  l->authenticating = 0;
  l->connected = 1;
  trace_debug("link to %s:%d: logged in as %s", l->host, l->port, l->sasl->username);
  if (l->on_state) l->on_state(l->state_arg, 1);
}

static void on_login_step(void *arg, const Strata__Header *resp, const uint8_t *payload,
                          uint32_t payload_len, int err);

static int send_token(struct link *l, const uint8_t *tok, size_t len) {
  Strata__Header h = STRATA__HEADER__INIT;
  Strata__SaslAuthenticateRequest m = STRATA__SASL_AUTHENTICATE_REQUEST__INIT;
  h.api_key = STRATA__API_KEY__API_SASL_AUTHENTICATE;
  h.body_case = STRATA__HEADER__BODY_SASL_AUTHENTICATE_REQ;
  h.sasl_authenticate_req = &m;
  m.auth_bytes.data = (uint8_t *)tok;
  m.auth_bytes.len = len;
  return send_frame(l, &h, NULL, 0, on_login_step, l);
}

static void on_login_step(void *arg, const Strata__Header *resp, const uint8_t *payload,
                          uint32_t payload_len, int err) {
  (void)payload, (void)payload_len;
  struct link *l = arg;
  uint8_t tok[SASL_TOKEN_MAX];
  size_t tl = 0;
  int done = 0;
  if (err || !l->sc) return; /* the link is closing */
  if (resp->error_code) {
    login_failed(l, strata_strerror(-(int)resp->error_code));
    return;
  }
  if (resp->body_case == STRATA__HEADER__BODY_SASL_HANDSHAKE_RESP) {
    if (sasl_cl_start(l->sc, tok, sizeof tok, &tl) || send_token(l, tok, tl))
      login_failed(l, "cannot send the first token");
    return;
  }
  if (resp->body_case != STRATA__HEADER__BODY_SASL_AUTHENTICATE_RESP ||
      sasl_cl_step(l->sc, resp->sasl_authenticate_resp->auth_bytes.data,
                       resp->sasl_authenticate_resp->auth_bytes.len, tok, sizeof tok, &tl,
                       &done)) {
    login_failed(l, "the server's answer does not prove it knows the credential");
    return;
  }
  if (done) login_done(l);
  else if (send_token(l, tok, tl)) login_failed(l, "cannot send a token");
}

/* TCP (and TLS) are up: log in first when the link has SASL settings. */
static void transport_up(struct link *l) {
  if (!l->sasl) {
    l->connected = 1;
    if (l->on_state) l->on_state(l->state_arg, 1);
    return;
  }
  Strata__Header h = STRATA__HEADER__INIT;
  Strata__SaslHandshakeRequest m = STRATA__SASL_HANDSHAKE_REQUEST__INIT;
  l->sc = calloc(1, sizeof *l->sc);
  l->authenticating = 1;
  if (!l->sc ||
      sasl_cl_init(l->sc, l->sasl->mechanism, l->sasl->username, l->sasl->password)) {
    login_failed(l, "sasl.mechanism, sasl.username or sasl.password not usable");
    return;
  }
  h.api_key = STRATA__API_KEY__API_SASL_HANDSHAKE;
  h.body_case = STRATA__HEADER__BODY_SASL_HANDSHAKE_REQ;
  h.sasl_handshake_req = &m;
  m.mechanism = (char *)sasl_mech_name(l->sasl->mechanism);
  if (send_frame(l, &h, NULL, 0, on_login_step, l)) login_failed(l, "cannot send SaslHandshake");
}

static int send_frame(struct link *l, Strata__Header *h, const uint8_t *payload,
                      size_t payload_len, link_cb cb, void *arg) {
  if (!l->tcp) return STRATA_ENETWORK;
  if (l->qn >= LINK_INFLIGHT_MAX) return STRATA_EQUEUE_FULL;
  h->correlation_id = l->next_corr++;
  struct write_req *wr = calloc(1, sizeof *wr);
  size_t hl;
  if (!wr || wire_frame_head(h, (uint32_t)payload_len, &wr->head, &hl)) {
    free(wr);
    return STRATA_ENOMEM;
  }
  if (payload_len) {
    wr->payload = malloc(payload_len);
    if (!wr->payload) {
      free(wr->head);
      free(wr);
      return STRATA_ENOMEM;
    }
    memcpy(wr->payload, payload, payload_len);
  }
  if (l->tc) { /* one record for the head and the payload */
    int rc = tls_send(l, wr->head, hl, wr->payload, payload_len);
    free(wr->head);
    free(wr->payload);
    free(wr);
    if (rc) return rc;
  } else {
    uv_buf_t bufs[2] = {uv_buf_init((char *)wr->head, (unsigned)hl),
                        uv_buf_init((char *)wr->payload, (unsigned)payload_len)};
    if (uv_write(&wr->w, (uv_stream_t *)l->tcp, bufs, payload_len ? 2 : 1, on_write)) {
      free(wr->head);
      free(wr->payload);
      free(wr);
      return STRATA_ENETWORK;
    }
  }
  size_t slot = (l->qhead + l->qn) % LINK_INFLIGHT_MAX;
  l->q[slot] = (struct link_req){h->correlation_id, cb, arg};
  l->qn++;
  return 0;
}
