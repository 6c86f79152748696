/* strata-controller's libuv layer: framed requests in, immediate responses
 * out (the controller never waits: every decision is persisted with one
 * fdatasync before its answer), a 50 ms tick for session timeouts and the
 * preferred-leader check.
 *
 * Metadata reaches brokers by long-polling heartbeats: a heartbeat from a
 * broker that already has the current image is answered when the image
 * changes, or after CTRL_PARK_MS, whichever comes first. Responses on a
 * connection stay in request order: any later request on it releases the
 * parked heartbeat first. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/clock.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/principal.h"
#include "common/sasl_conn.h"
#include "common/tls_uv.h"
#include "common/trace.h"
#include "common/wire.h"
#include "common/http_server_uv.h"
#include "controller/admin.h"
#include "controller/controller.h"
#include "controller/quorum_uv.h"

#define CTRL_TICK_MS 50
#define CTRL_PARK_MS 100
#define CTRL_FRAME_MAX (16u << 20)

struct cconn {
  uv_tcp_t tcp;
  struct controller *ctl;
  int32_t broker_id;   /* the broker that registers/heartbeats here, or -1 */
  uint64_t serial;
  int parked;          /* a heartbeat waits for new metadata */
  uint32_t park_corr, park_api_version;
  int64_t park_version, park_until;
  struct cconn *park_next;
  uint8_t *buf;
  size_t len, cap;
  /* Security (issue 17): principal is PRINCIPAL_ANONYMOUS and the peer's IP
   * at accept, the verified client certificate's mapped name after the TLS
   * handshake (SASL overwrites it). sasl: the listener asks for SASL first. */
  struct principal principal;
  int sasl;
  struct tls_uv *tls;     /* NULL on a PLAINTEXT listener */
  /* In the deadline list while deadline_ms is set (uv_now; 0: none): the
   * TLS handshake must finish by then (SASL may set it again). */
  uint64_t deadline_ms;
  struct cconn *dl_prev, *dl_next;
  int in_handshake, hs_waiting;
  struct sasl_conn auth;  /* SASL login on a SASL_* listener (common/sasl_conn.h) */
  uint8_t *held;          /* a failed login's answer, sent when the failure delay is over */
  size_t held_len;
  /* Quorum mode: answers waiting for their records to commit (and the
   * answers after them, which keep the request order). */
  struct hq_resp *hq_head, *hq_tail;
  int in_hq_list;
  struct cconn *hq_next;
};

struct hq_resp {
  uint8_t *data;
  size_t len;
  int64_t wait; /* sent once the quorum's high watermark reaches this */
  uint32_t api_key, api_version, corr;
  struct hq_resp *next;
};

struct wreq {
  uv_write_t w;
  uint8_t *data;
};

/* Each broker's newest connection: only its closing counts as the broker
 * leaving (an older one may close after the broker already reconnected). */
struct broker_conn {
  int32_t id;
  uint64_t serial;
};
static struct broker_conn latest[CTRL_BROKERS_MAX];
static size_t nlatest;
static uint64_t next_serial = 1;

static void note_broker_conn(struct cconn *c, int32_t id) {
  c->broker_id = id;
  for (size_t i = 0; i < nlatest; i++)
    if (latest[i].id == id) {
      latest[i].serial = c->serial;
      return;
    }
  if (nlatest < CTRL_BROKERS_MAX) latest[nlatest++] = (struct broker_conn){id, c->serial};
}

static struct cconn *parked_list;

static void unlink_parked(struct cconn *c) {
  for (struct cconn **pp = &parked_list; *pp; pp = &(*pp)->park_next)
    if (*pp == c) {
      *pp = c->park_next;
      break;
    }
  c->parked = 0;
}

static size_t conns_open;
static uint64_t conns_opened;

/* TLS: the listener's context (replaced on SIGHUP), the connections with a
 * deadline, and the handshakes running (at most TLS_HANDSHAKES_MAX; more
 * wait unread). */
static struct tls_ctx *tls_ctx;
static int listener_tls, listener_sasl;
static struct cconn *dl_list;
static size_t handshakes;
static uint64_t tls_failures; /* strata_tls_handshake_failures_total */
static uint8_t tls_rbuf[65536];
/* SASL: what the listener accepts; credentials from the controller's own
 * state (ctrl_scram_credential). */
static struct sasl_server_config sasl_cfg;
static uint64_t auth_success, auth_failure;

static void dl_remove(struct cconn *c) {
  if (!c->deadline_ms) return;
  if (c->dl_prev) c->dl_prev->dl_next = c->dl_next; else dl_list = c->dl_next;
  if (c->dl_next) c->dl_next->dl_prev = c->dl_prev;
  c->dl_prev = c->dl_next = NULL;
  c->deadline_ms = 0;
}

static void dl_add(struct cconn *c, uint64_t deadline) {
  dl_remove(c);
  c->deadline_ms = deadline;
  c->dl_prev = NULL;
  c->dl_next = dl_list;
  if (dl_list) dl_list->dl_prev = c;
  dl_list = c;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* A handshake slot freed: start the oldest waiting connection (the list is
 * newest first). */
static void start_waiting(void) {
  while (handshakes < TLS_HANDSHAKES_MAX) {
    struct cconn *oldest = NULL;
    for (struct cconn *c = dl_list; c; c = c->dl_next)
      if (c->hs_waiting) oldest = c;
    if (!oldest) return;
    oldest->hs_waiting = 0;
    oldest->in_handshake = 1;
    handshakes++;
    uv_read_start((uv_stream_t *)&oldest->tcp, on_alloc, on_read);
  }
}

static struct cconn *hq_list; /* connections with waiting answers */

static void hq_drop(struct cconn *c) {
  while (c->hq_head) {
    struct hq_resp *h = c->hq_head;
    c->hq_head = h->next;
    free(h->data);
    free(h);
  }
  c->hq_tail = NULL;
  if (c->in_hq_list)
    for (struct cconn **pp = &hq_list; *pp; pp = &(*pp)->hq_next)
      if (*pp == c) {
        *pp = c->hq_next;
        break;
      }
  c->in_hq_list = 0;
}

static int64_t committed(const struct controller *ctl) {
  return ctl->qn ? qnode_committed(ctl->qn) : INT64_MAX;
}

static void on_closed(uv_handle_t *h) {
  struct cconn *c = h->data;
  conns_open--;
  dl_remove(c);
  if (c->in_handshake) {
    handshakes--;
    start_waiting();
  }
  if (c->tls) tls_uv_close(c->tls); /* the shutdown walk closes without cconn_close */
  free(c->tls);
  if (c->parked) unlink_parked(c);
  if (c->broker_id >= 0 && c->ctl)
    for (size_t i = 0; i < nlatest; i++)
      if (latest[i].id == c->broker_id && latest[i].serial == c->serial)
        controller_disconnected(c->ctl, c->broker_id, clock_mono_ms());
  hq_drop(c);
  sasl_conn_free(&c->auth);
  free(c->held);
  free(c->buf);
  free(c);
}

static void cconn_close(struct cconn *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
  if (c->tls) tls_uv_close(c->tls);
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write(uv_write_t *w, int status) {
  (void)status;
  struct wreq *r = (struct wreq *)w;
  free(r->data);
  free(r);
}

/* Send an encoded frame (data malloc'd; sent or freed here). */
static void send_bytes(struct cconn *c, uint8_t *data, size_t n) {
  struct wreq *r = calloc(1, sizeof *r);
  if (!r) {
    free(data);
    cconn_close(c);
    return;
  }
  r->data = data;
  uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)n);
  if (c->tls) { /* encrypted from data, which it frees when done */
    free(r);
    if (tls_uv_write(c->tls, &b, 1, data, NULL)) cconn_close(c);
    return;
  }
  if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
    free(r->data);
    free(r);
    cconn_close(c);
  }
}

static void send_header(struct cconn *c, const Strata__Header *h) {
  uint8_t *data = NULL;
  size_t n;
  if (wire_frame_head(h, 0, &data, &n)) {
    cconn_close(c);
    return;
  }
  send_bytes(c, data, n);
}

/* Send c's waiting answers whose records committed, in order. One whose
 * records did not commit while this controller lost the leadership gets
 * NOT_CONTROLLER (the records may still commit under the next leader: the
 * requester retries there, as after a timeout). */
static void hq_flush(struct cconn *c) {
  while (c->hq_head) {
    struct hq_resp *h = c->hq_head;
    if (h->wait > committed(c->ctl)) {
      if (controller_active(c->ctl)) break;
      Strata__Header e = STRATA__HEADER__INIT;
      struct arena a;
      arena_init(&a);
      e.api_key = h->api_key;
      e.api_version = h->api_version;
      e.correlation_id = h->corr;
      e.is_response = 1;
      controller_not_active(c->ctl, &e, &a);
      send_header(c, &e);
      arena_reset(&a);
      free(h->data);
    } else {
      send_bytes(c, h->data, h->len);
    }
    c->hq_head = h->next;
    free(h);
  }
  if (!c->hq_head) c->hq_tail = NULL;
}

/* Answer now, or once the records the request decided are committed
 * (wait: their end offset; a single controller's are at once). */
static void respond(struct cconn *c, const Strata__Header *resp, int64_t wait) {
  if (!c->hq_head && wait <= committed(c->ctl)) {
    send_header(c, resp);
    return;
  }
  struct hq_resp *h = calloc(1, sizeof *h);
  if (!h || wire_frame_head(resp, 0, &h->data, &h->len)) {
    free(h);
    cconn_close(c);
    return;
  }
  h->wait = wait;
  h->api_key = resp->api_key;
  h->api_version = resp->api_version;
  h->corr = resp->correlation_id;
  if (c->hq_tail) c->hq_tail->next = h;
  else c->hq_head = h;
  c->hq_tail = h;
  if (!c->in_hq_list) {
    c->in_hq_list = 1;
    c->hq_next = hq_list;
    hq_list = c;
  }
}

/* Answer c's parked heartbeat: with the image when it changed meanwhile. */
static void unpark(struct cconn *c) {
  unlink_parked(c);
  Strata__Header resp = STRATA__HEADER__INIT;
  Strata__BrokerHeartbeatResponse m = STRATA__BROKER_HEARTBEAT_RESPONSE__INIT;
  resp.api_key = STRATA__API_KEY__API_BROKER_HEARTBEAT;
  resp.api_version = c->park_api_version;
  resp.correlation_id = c->park_corr;
  resp.is_response = 1;
  resp.body_case = STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP;
  resp.broker_heartbeat_resp = &m;
  if (c->ctl->c.version != c->park_version && controller_image_ok(c->ctl))
    m.image = controller_image(c->ctl);
  send_header(c, &resp);
  controller_response_done(&resp);
}

/* After anything that may have changed the metadata, and on every tick. */
static void release_parked(int64_t now) {
  for (struct cconn *c = parked_list, *next; c; c = next) {
    next = c->park_next;
    if ((c->ctl->c.version != c->park_version && controller_image_ok(c->ctl)) ||
        now >= c->park_until)
      unpark(c);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct cconn *c = h->data;
  if (c->tls) { /* ciphertext, decrypted into c->buf at once */
    *buf = uv_buf_init((char *)tls_rbuf, sizeof tls_rbuf);
    return;
  }
  if (c->cap - c->len < suggested) {
    size_t cap = c->cap ? c->cap : 65536;
    while (cap - c->len < suggested) cap *= 2;
    uint8_t *b = realloc(c->buf, cap);
    if (!b) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    c->buf = b;
    c->cap = cap;
  }
  *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void process(struct cconn *c);

/* TLS: the handshake's end fills the principal; the plaintext goes into
 * c->buf and through the same frame loop. close_notify, an error, or an EOF
 * mid-frame close the connection (a partial frame goes with it). */
static void on_tls_read(struct cconn *c, const uint8_t *data, size_t n) {
  int was = tls_uv_established(c->tls);
  if (tls_uv_feed(c->tls, data, n)) {
    trace_info("TLS %s from %s: %s; closing", was ? "error" : "handshake failed",
               c->principal.host, tls_conn_error(c->tls->conn));
    if (!was) tls_failures++;
    cconn_close(c);
    return;
  }
  if (!was && tls_uv_established(c->tls)) {
    dl_remove(c);
    if (c->sasl && !c->auth.authenticated) /* one deadline for TLS and SASL together */
      dl_add(c, uv_now(c->tcp.loop) + (uint64_t)(c->auth.deadline_ms > clock_mono_ms()
                                                      ? c->auth.deadline_ms - clock_mono_ms()
                                                      : 0));
    if (c->in_handshake) {
      c->in_handshake = 0;
      handshakes--;
    }
    tls_conn_peer_principal(c->tls->conn, &c->principal);
    trace_debug("TLS from %s: %s, principal %s", c->principal.host,
                tls_conn_version(c->tls->conn), c->principal.name);
    start_waiting();
  }
  for (;;) {
    if (c->cap - c->len < 16384) {
      size_t cap = c->cap ? c->cap * 2 : 65536;
      uint8_t *b = realloc(c->buf, cap);
      if (!b) {
        cconn_close(c);
        return;
      }
      c->buf = b;
      c->cap = cap;
    }
    ssize_t r = tls_uv_read(c->tls, c->buf + c->len, c->cap - c->len);
    if (r > 0) {
      c->len += (size_t)r;
      continue;
    }
    if (r == 0) break;
    if (r != TLS_READ_CLOSED)
      trace_info("TLS from %s: %s; closing", c->principal.host, tls_conn_error(c->tls->conn));
    cconn_close(c);
    return;
  }
  process(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct cconn *c = st->data;
  if (nread < 0) {
    cconn_close(c);
    return;
  }
  if (c->tls) {
    if (nread > 0) on_tls_read(c, (const uint8_t *)buf->base, (size_t)nread);
    return;
  }
  c->len += (size_t)nread;
  process(c);
}

static const struct scram_credential *ctl_lookup(void *arg, const char *user, enum scram_mech m) {
  const struct controller *ctl = arg;
  return ctrl_scram_credential(&ctl->c, user, m);
}

/* SaslHandshake / SaslAuthenticate on c (common/sasl_conn.h decides). */
static void handle_sasl(struct cconn *c, const Strata__Header *req, Strata__Header *resp,
                        struct arena *a) {
  int64_t now = clock_mono_ms();
  int rc;
  resp->api_key = req->api_key;
  resp->api_version = req->api_version;
  resp->correlation_id = req->correlation_id;
  resp->is_response = 1;
  if (req->body_case == STRATA__HEADER__BODY_SASL_HANDSHAKE_REQ) {
    Strata__SaslHandshakeResponse *m = arena_alloc(a, sizeof *m);
    const char **names = arena_alloc(a, 3 * sizeof *names);
    if (!m || !names) abort();
    strata__sasl_handshake_response__init(m);
    rc = sasl_conn_handshake(&c->auth, &sasl_cfg, req->sasl_handshake_req->mechanism, now);
    m->n_mechanisms = (size_t)sasl_sv_mechanisms(&sasl_cfg, names);
    m->mechanisms = (char **)names;
    resp->body_case = STRATA__HEADER__BODY_SASL_HANDSHAKE_RESP;
    resp->sasl_handshake_resp = m;
  } else if (req->body_case == STRATA__HEADER__BODY_SASL_AUTHENTICATE_REQ) {
    Strata__SaslAuthenticateResponse *m = arena_alloc(a, sizeof *m);
    uint8_t *out = arena_alloc(a, SASL_TOKEN_MAX);
    size_t ol = 0;
    if (!m || !out) abort();
    strata__sasl_authenticate_response__init(m);
    rc = sasl_conn_authenticate(&c->auth, req->sasl_authenticate_req->auth_bytes.data,
                                req->sasl_authenticate_req->auth_bytes.len, out, SASL_TOKEN_MAX,
                                &ol, now);
    m->auth_bytes.data = out;
    m->auth_bytes.len = ol;
    if (!rc) {
      resp->body_case = STRATA__HEADER__BODY_SASL_AUTHENTICATE_RESP;
      resp->sasl_authenticate_resp = m;
    }
  } else {
    rc = STRATA_EINVALID_REQUEST;
    sasl_conn_refuse(&c->auth, now);
  }
  if (rc) {
    resp->error_code = (uint32_t)-rc;
    resp->error_message = (char *)strata_strerror(rc);
  }
  if (rc && rc != STRATA_EUNSUPPORTED_SASL_MECHANISM) {
    auth_failure++;
    trace_warn("sasl: login from %s failed (user '%s'): %s", c->principal.host, c->auth.user,
               strata_errname(rc));
  } else if (c->auth.authenticated && !c->auth.named) {
    auth_success++;
    sasl_conn_principal(&c->auth, &c->principal);
    c->auth.named = 1;
    dl_remove(c);
    trace_debug("sasl: %s authenticated from %s", c->principal.name, c->principal.host);
  }
}

/* A failed login: its answer waits SASL_FAILURE_DELAY_MS (brute force
 * costs time), then goes out and the connection closes (sweep_deadlines). */
static void hold_failure(struct cconn *c, const Strata__Header *resp) {
  uv_read_stop((uv_stream_t *)&c->tcp);
  free(c->held);
  c->held = NULL;
  if (wire_frame_head(resp, 0, &c->held, &c->held_len)) c->held = NULL;
  dl_add(c, uv_now(c->tcp.loop) + SASL_FAILURE_DELAY_MS);
}

/* Every whole frame in c->buf, answered in order. */
static void process(struct cconn *c) {
  size_t off = 0;
  for (;;) {
    struct frame f;
    size_t need;
    if (c->auth.failed) break; /* nothing more is read from a failed login */
    int rc = frame_parse(c->buf + off, c->len - off, sasl_conn_frame_max(&c->auth, CTRL_FRAME_MAX),
                         &f, &need);
    if (rc == 0) break;
    if (rc < 0) {
      Strata__Header e = STRATA__HEADER__INIT;
      e.is_response = 1;
      e.error_code = (uint32_t)-rc;
      e.error_message = (char *)"malformed frame";
      send_header(c, &e);
      cconn_close(c);
      return;
    }
    Strata__Header *req = NULL;
    Strata__Header resp = STRATA__HEADER__INIT;
    struct arena a;
    arena_init(&a);
    if (c->parked) unpark(c); /* answers leave in request order */
    int park = 0, answer = 1;
    int64_t wait = 0, held_version = 0;
    if (wire_header_unpack(f.header, f.header_len, &req)) {
      resp.is_response = 1;
      resp.error_code = (uint32_t)-STRATA_EINVALID_REQUEST;
      resp.error_message = (char *)"malformed request header";
    } else if (req->api_key == STRATA__API_KEY__API_SASL_HANDSHAKE ||
               req->api_key == STRATA__API_KEY__API_SASL_AUTHENTICATE) {
      handle_sasl(c, req, &resp, &a);
    } else if (!sasl_conn_allows(&c->auth, (int)req->api_key)) {
      /* NATS CVE-2023-47090: nothing but the login before the login */
      resp.api_key = req->api_key;
      resp.correlation_id = req->correlation_id;
      resp.is_response = 1;
      resp.error_code = (uint32_t)-STRATA_EILLEGAL_SASL_STATE;
      resp.error_message = (char *)"authenticate first (SaslHandshake, SaslAuthenticate)";
      if (!c->auth.failed) {
        auth_failure++;
        trace_warn("%s: api key %u before SASL authentication; closing", c->principal.host,
                   req->api_key);
      }
      sasl_conn_refuse(&c->auth, clock_mono_ms());
    } else if (req->body_case == STRATA__HEADER__BODY_QUORUM) {
      /* another controller's: one-way (answers come on its connection) */
      if (controller_quorum_allowed(c->ctl, &c->principal, req))
        quorum_uv_receive(c->ctl, req->quorum, f.payload, f.payload_len);
      answer = 0;
    } else {
      controller_handle(c->ctl, &c->principal, req, &resp, &a, clock_mono_ms());
      wait = controller_answer_offset(c->ctl);
      quorum_uv_kick(c->ctl);
      if (!resp.error_code && req->body_case == STRATA__HEADER__BODY_BROKER_REGISTER_REQ)
        note_broker_conn(c, req->broker_register_req->broker_id);
      if (!resp.error_code && req->body_case == STRATA__HEADER__BODY_BROKER_HEARTBEAT_REQ) {
        note_broker_conn(c, req->broker_heartbeat_req->broker_id);
        held_version = req->broker_heartbeat_req->metadata_version;
        park = resp.body_case == STRATA__HEADER__BODY_BROKER_HEARTBEAT_RESP &&
               !resp.broker_heartbeat_resp->image && !c->hq_head && wait <= committed(c->ctl);
      }
    }
    if (!answer) {
    } else if (c->auth.failed) {
      hold_failure(c, &resp);
    } else if (park) {
      c->parked = 1;
      c->park_corr = resp.correlation_id;
      c->park_api_version = resp.api_version;
      /* the broker's: a quorum's leader may hold a newer state it cannot
       * send yet (not committed), which the commit then releases */
      c->park_version = held_version;
      c->park_until = clock_mono_ms() + CTRL_PARK_MS;
      c->park_next = parked_list;
      parked_list = c;
    } else {
      respond(c, &resp, wait);
    }
    controller_response_done(&resp);
    arena_reset(&a);
    wire_header_free(req);
    off += (size_t)rc;
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
  release_parked(clock_mono_ms());
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  struct cconn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->ctl = server->data;
  c->broker_id = -1;
  c->serial = next_serial++;
  conns_open++;
  conns_opened++;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  snprintf(c->principal.name, sizeof c->principal.name, "%s", PRINCIPAL_ANONYMOUS);
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl)) {
    if (ss.ss_family == AF_INET)
      uv_ip4_name((struct sockaddr_in *)&ss, c->principal.host, sizeof c->principal.host);
    else if (ss.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&ss, c->principal.host, sizeof c->principal.host);
  }
  c->sasl = listener_sasl;
  sasl_conn_init(&c->auth, c->sasl, clock_mono_ms());
  if (c->sasl && !listener_tls) dl_add(c, uv_now(server->loop) + SASL_DEADLINE_MS);
  if (listener_tls) {
    c->tls = malloc(sizeof *c->tls);
    if (!c->tls || tls_uv_init(c->tls, (uv_stream_t *)&c->tcp, tls_ctx, NULL, NULL, NULL)) {
      free(c->tls);
      c->tls = NULL;
      uv_close((uv_handle_t *)&c->tcp, on_closed);
      return;
    }
    dl_add(c, uv_now(server->loop) + TLS_HANDSHAKE_TIMEOUT_MS);
    if (handshakes >= TLS_HANDSHAKES_MAX) {
      c->hs_waiting = 1; /* start_waiting reads it when a slot frees */
      return;
    }
    c->in_handshake = 1;
    handshakes++;
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Connections past their deadline go: a handshake that trickles cannot
 * hold a slot for longer than TLS_HANDSHAKE_TIMEOUT_MS. */
static void sweep_deadlines(uv_loop_t *loop) {
  uint64_t now = uv_now(loop);
  for (struct cconn *c = dl_list, *next; c; c = next) {
    next = c->dl_next;
    if (now >= c->deadline_ms && !uv_is_closing((uv_handle_t *)&c->tcp) && c->auth.failed) {
      if (c->held) { /* the failed login's answer, after the delay */
        send_bytes(c, c->held, c->held_len);
        c->held = NULL;
      }
      cconn_close(c);
    } else if (now >= c->deadline_ms && !uv_is_closing((uv_handle_t *)&c->tcp)) {
      if (c->sasl && !c->auth.authenticated && (!c->tls || tls_uv_established(c->tls)))
        auth_failure++;
      trace_info("%s from %s not done in %d ms; closing",
                 c->tls && !tls_uv_established(c->tls) ? "TLS handshake" : "authentication",
                 c->principal.host, TLS_HANDSHAKE_TIMEOUT_MS);
      if (c->tls && !tls_uv_established(c->tls)) tls_failures++;
      cconn_close(c);
    }
  }
}

static void on_tick(uv_timer_t *t) {
  int64_t now = clock_mono_ms();
  controller_tick(t->data, now);
  quorum_uv_kick(t->data);
  release_parked(now);
  if (dl_list) sweep_deadlines(t->loop);
}

/* The quorum's high watermark or leadership moved: answers whose records
 * committed go out (or NOT_CONTROLLER), and parked heartbeats get the
 * image that is now committed. */
static void on_quorum_changed(void *arg) {
  (void)arg;
  for (struct cconn *c = hq_list, *next; c; c = next) {
    next = c->hq_next;
    hq_flush(c);
  }
  for (struct cconn **pp = &hq_list; *pp;) {
    if (!(*pp)->hq_head) {
      (*pp)->in_hq_list = 0;
      *pp = (*pp)->hq_next;
    } else {
      pp = &(*pp)->hq_next;
    }
  }
  release_parked(clock_mono_ms());
}

static uv_tcp_t listener;
static uv_timer_t ticker;
static uv_signal_t sigint_h, sigterm_h, sighup_h;
static const struct tls_settings *tls_settings;
static int admin_tls; /* admin.listeners=HTTPS:// */
static struct http_server *admin;
static struct controller_admin adm;

static void on_admin_request(void *arg, const struct http_request *req, struct http_answer *a) {
  (void)arg;
  adm.wall_ms = clock_wall_ms();
  adm.loop_idle_s = (double)uv_metrics_idle_time(uv_default_loop()) / 1e9;
  adm.conns_open = conns_open;
  adm.conns_opened = conns_opened;
  adm.admin_conns = *http_server_stats(admin);
  adm.tls_not_after = tls_ctx ? tls_ctx_cert_not_after(tls_ctx) : 0;
  adm.tls_failures = tls_failures;
  adm.auth_success = auth_success;
  adm.auth_failure = auth_failure;
  controller_admin_route(&adm, req, a);
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) {
    if (h->type == UV_TCP && h != (uv_handle_t *)&listener) uv_close(h, on_closed);
    else uv_close(h, NULL);
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  trace_info("signal %d: shutting down", signum);
  http_server_stop(admin); /* its connections close with it, not by the walk */
  admin = NULL;
  quorum_uv_stop();
  uv_walk(h->loop, close_walk, NULL);
}

/* SIGHUP: the certificate, key and CA files again; new connections (and the
 * admin port) get them, open ones keep theirs. A context that does not
 * build leaves the old one in place. */
static void on_sighup(uv_signal_t *h, int signum) {
  (void)h;
  (void)signum;
  if (!tls_ctx) {
    trace_info("SIGHUP: no TLS listener, nothing to reload");
    return;
  }
  struct tls_ctx *fresh;
  char err[512];
  if (tls_ctx_new(TLS_ROLE_SERVER, tls_settings, &fresh, err, sizeof err)) {
    trace_error("SIGHUP: TLS context not reloaded, keeping the old one: %s", err);
    return;
  }
  tls_ctx_unref(tls_ctx);
  tls_ctx = fresh;
  if (admin && admin_tls) http_server_set_tls(admin, fresh);
  trace_info("SIGHUP: TLS certificate reloaded from %s", tls_settings->cert_file);
}

/* admin.listeners: see struct controller_listen. */
static int admin_start(uv_loop_t *loop, struct controller *ctl, const struct controller_listen *l) {
  if (l->admin_port < 0) return 0;
  adm.ctl = ctl;
  adm.data_dir = l->data_dir;
  char err[300];
  if (http_server_start(&admin, loop, l->admin_host, l->admin_port, l->admin_connections_max,
                        on_admin_request, NULL, err, sizeof err)) {
    if (l->admin_explicit) {
      trace_error("admin.listeners: %s", err);
      return STRATA_ENETWORK;
    }
    trace_warn("admin listener off: %s (the default admin.listeners=%s; set another)", err,
               CONTROLLER_ADMIN_DEFAULT);
    return 0;
  }
  if (l->admin_tls) http_server_set_tls(admin, tls_ctx);
  trace_info("admin listener on %s:%d: %s://%s:%d/metrics", l->admin_host, http_server_port(admin),
             l->admin_tls ? "https" : "http", l->admin_host, http_server_port(admin));
  return 0;
}

int controller_run(struct controller *ctl, const struct controller_listen *l) {
  const char *host = l->host;
  int port = l->port;
  uv_loop_t *loop = uv_default_loop();
  uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
  struct sockaddr_in addr;
  if (uv_ip4_addr(host, port, &addr)) {
    trace_error("listeners: '%s' is not an IPv4 address", host);
    return STRATA_EINVALID_CONFIG;
  }
  listener_tls = l->tls;
  listener_sasl = l->sasl;
  sasl_cfg.mechs = l->sasl_mechs;
  sasl_cfg.lookup = ctl_lookup;
  sasl_cfg.lookup_arg = ctl;
  if (sasl_sv_config_secret(&sasl_cfg)) return STRATA_EUNKNOWN;
  tls_settings = &l->tls_settings;
  if (l->tls || l->admin_tls) {
    char err[512];
    int trc = tls_ctx_new(TLS_ROLE_SERVER, &l->tls_settings, &tls_ctx, err, sizeof err);
    if (trc) {
      trace_error("TLS: %s", err);
      return trc;
    }
  }
  admin_tls = l->admin_tls;
  uv_tcp_init(loop, &listener);
  listener.data = ctl;
  int rc;
  if ((rc = uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0)) ||
      (rc = uv_listen((uv_stream_t *)&listener, 128, on_connection))) {
    trace_error("cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
    return STRATA_ENETWORK;
  }
  if (admin_start(loop, ctl, l)) {
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return STRATA_ENETWORK;
  }
  uv_timer_init(loop, &ticker);
  ticker.data = ctl;
  uv_timer_start(&ticker, on_tick, CTRL_TICK_MS, CTRL_TICK_MS);
  uv_signal_init(loop, &sigint_h);
  uv_signal_start(&sigint_h, on_signal, SIGINT);
  uv_signal_init(loop, &sigterm_h);
  uv_signal_start(&sigterm_h, on_signal, SIGTERM);
  uv_signal_init(loop, &sighup_h);
  uv_signal_start(&sighup_h, on_sighup, SIGHUP);
  trace_info("controller %d listening on %s:%d (%s)", ctl->c.id, host, port,
             listener_protocol_name(l->protocol));
  if (ctl->qn && quorum_uv_start(loop, ctl, l->tls ? &l->tls_settings : NULL, on_quorum_changed,
                                 NULL)) {
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return STRATA_EINVALID_CONFIG;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  tls_ctx_unref(tls_ctx);
  tls_ctx = NULL;
  return 0;
}
