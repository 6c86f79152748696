#include "link_uv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/frame.h"
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

static void on_handle_closed(uv_handle_t *h) { free(h); }

/* Fail whatever waits and drop the socket; callbacks may re-enter. */
void link_close(struct link *l) {
  l->gen = next_gen++;
  l->resolving = 0;
  if (l->tcp) {
    l->tcp->data = NULL;
    if (!uv_is_closing((uv_handle_t *)l->tcp)) uv_close((uv_handle_t *)l->tcp, on_handle_closed);
    l->tcp = NULL;
  }
  int was = l->connected;
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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct link *l = h->data;
  size_t want = l->len + (suggested > 65536 ? suggested : 65536);
  if (l->need > want) want = l->need;
  if (want > l->cap) {
    size_t cap = l->cap ? l->cap : 65536;
    while (cap < want) cap *= 2;
    uint8_t *b = realloc(l->buf, cap);
    if (!b) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    l->buf = b;
    l->cap = cap;
  }
  *buf = uv_buf_init((char *)l->buf + l->len, (unsigned)(l->cap - l->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct link *l = s->data;
  if (!l) return;
  if (nread < 0) {
    trace_debug("link to %s:%d: %s", l->host, l->port, uv_strerror((int)nread));
    link_close(l);
    return;
  }
  l->len += (size_t)nread;
  size_t off = 0;
  while (l->tcp) {
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
      return;
    }
    struct link_req r = l->q[l->qhead];
    l->qhead = (l->qhead + 1) % LINK_INFLIGHT_MAX;
    l->qn--;
    off += (size_t)rc;
    l->need = 0;
    r.cb(r.arg, h, f.payload, f.payload_len, 0); /* may close the link */
    wire_header_free(h);
  }
  if (l->tcp && off) {
    memmove(l->buf, l->buf + off, l->len - off);
    l->len -= off;
  }
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
  l->connected = 1;
  uv_tcp_nodelay(tcp, 1);
  uv_read_start((uv_stream_t *)tcp, on_alloc, on_read);
  if (l->on_state) l->on_state(l->state_arg, 1);
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

int link_send(struct link *l, Strata__Header *h, const uint8_t *payload, size_t payload_len,
              link_cb cb, void *arg) {
  if (!l->connected || !l->tcp) return STRATA_ENETWORK;
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
  uv_buf_t bufs[2] = {uv_buf_init((char *)wr->head, (unsigned)hl),
                      uv_buf_init((char *)wr->payload, (unsigned)payload_len)};
  if (uv_write(&wr->w, (uv_stream_t *)l->tcp, bufs, payload_len ? 2 : 1, on_write)) {
    free(wr->head);
    free(wr->payload);
    free(wr);
    return STRATA_ENETWORK;
  }
  size_t slot = (l->qhead + l->qn) % LINK_INFLIGHT_MAX;
  l->q[slot] = (struct link_req){h->correlation_id, cb, arg};
  l->qn++;
  return 0;
}
