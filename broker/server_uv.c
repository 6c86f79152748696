#include "server_uv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/http_server_uv.h"
#include "common/principal.h"
#include "common/tls_uv.h"
#include "common/trace.h"
#include "common/wire.h"
#include "broker/ack_probe.h"
#include "broker/admin.h"
#include "broker/cluster_uv.h"
#include "broker/dispatch.h"
#include "broker/flush.h"
#include "broker/integrity.h"
#include "broker/group_handlers.h"
#include "broker/kafka_front.h"
#include "broker/kafka_groups.h"
#include "broker/offsets_log.h"
#include "broker/response.h"
#include "broker/sasl_handlers.h"
#include "common/sasl_conn.h"

/* Fetched records at least this long go out from the fetch payload itself. */
#define KAFKA_RECORDS_NO_COPY 4096

struct conn;

/* One request's answer, in its connection's queue until it can be sent. */
struct pending {
  struct pending *next;         /* connection order */
  struct pending *wprev, *wnext; /* server's waiting list */
  struct conn *conn;
  Strata__Header *req;          /* kept only while a fetch is parked */
  struct response resp;
  int waiting;
  uint64_t t0_ns;               /* its frame was read (uv_hrtime) */
  int api_slot;                 /* its strata_request_duration_seconds series (-1: none) */
  struct kafka_call *kcall;     /* a Kafka-protocol request: req is its native form, not ours */
  uint8_t *raw;                 /* a bare SASL token answer (after a v0 SaslHandshake): sent as is */
  size_t raw_len;
};

struct conn {
  uv_tcp_t tcp;
  struct server *srv;
  uint8_t *buf;
  size_t len, cap, need;
  size_t discard;               /* bytes of a refused frame still to skip */
  struct pending *head, *tail;
  size_t npending;
  int reading, closing, close_after_flush, in_process;
  struct conn *prev, *next;
  char peer[64];
  int kafka;                    /* accepted on kafka.listeners: Kafka framing and codec */
  /* Security (issue 17). principal: PRINCIPAL_ANONYMOUS and the peer's IP
   * at accept; the verified client certificate's mapped name once the TLS
   * handshake is done (SASL overwrites it when it authenticates). sasl: the
   * listener's scheme asks for SASL before anything else. */
  struct principal principal;
  int sasl;
  struct tls_uv *tls;           /* NULL on a plaintext listener: the zero-copy path */
  /* Closed by the sweep when uv_now passes it (0: no deadline): set at
   * accept for the TLS handshake and cleared when it is done; SASL may set
   * it again until authentication succeeds. */
  uint64_t deadline_ms;
  int in_handshake;             /* counted in server.handshakes */
  int hs_waiting;               /* accepted past TLS_HANDSHAKES_MAX: not read yet */
  struct sasl_conn auth;        /* SASL login on a SASL_* listener (common/sasl_conn.h) */
};

struct server {
  uv_loop_t *loop;
  struct broker *b;
  uv_tcp_t listener;
  uv_tcp_t kafka_listener;      /* kafka.listeners (when on) */
  int kafka_on;
  uv_prepare_t commit;
  struct sync_work *on_loop; /* the sync flush_begin left for on_commit to run */
  uv_timer_t fetch_timer, flush_timer, retention_timer, group_timer, scrub_timer;
  uv_signal_t sigint, sigterm;
  struct conn *conns;
  size_t nconns;
  struct pending *waiting;
  uint64_t fetch_hw_seen;
  uint64_t kafka_answered_seen; /* b->kafka_parked.answered when waiters last woke */
  int stopping;
  struct cluster_uv cluster;    /* cluster mode: the controller and replica links */
  struct http_server *admin;    /* admin.listeners (NULL: off) */
  struct broker_admin adm;
  uv_timer_t rates_timer;
  uv_timer_t auth_timer;        /* SASL deadlines and failure delays (SASL listeners only) */
  int auth_on;
  /* TLS (issue 17): one server context for every TLS listener, replaced on
   * SIGHUP (connections keep the one they started with). */
  struct tls_ctx *tls_ctx;
  uv_signal_t sighup;
  uv_timer_t deadline_timer;    /* the handshake (and SASL) deadline sweep */
  size_t handshakes, hs_waiting;
  uint64_t tls_failures;        /* strata_tls_handshake_failures_total */
  uint8_t tls_rbuf[65536];      /* ciphertext of one read, decrypted at once */
};

struct sync_work {
  uv_work_t w;
  struct server *srv;
  struct partition *p;
  struct seglog_sync job;
  int status;
  int64_t took_us;
};

struct write_req {
  uv_write_t w;
  uint8_t *head, *payload;
};

static void conn_close(struct conn *c);
static void conn_process(struct conn *c);
static void conn_flush(struct conn *c);
static void wake_waiters(struct server *s);

/* One reading of both clocks per loop turn (see struct broker). */
static void tick(struct server *s) {
  s->b->now_us = clock_mono_us();
  s->b->now_ms = s->b->now_us / 1000;
  s->b->wall_ms = clock_wall_ms();
}

/* ---- waiting list ---- */

static void wait_add(struct server *s, struct pending *p) {
  p->waiting = 1;
  p->wprev = NULL;
  p->wnext = s->waiting;
  if (s->waiting) s->waiting->wprev = p;
  s->waiting = p;
}

static void wait_remove(struct server *s, struct pending *p) {
  if (!p->waiting) return;
  if (p->wprev) p->wprev->wnext = p->wnext; else s->waiting = p->wnext;
  if (p->wnext) p->wnext->wprev = p->wprev;
  p->waiting = 0;
}

/* Done with a request's header: ours to free, or a Kafka call's. */
static void req_release(struct pending *p) {
  if (!p->kcall) wire_header_free(p->req);
  p->req = NULL;
}

static void pending_free(struct server *s, struct pending *p) {
  if (p->resp.forward) cluster_uv_forward_cancel(&s->cluster, p);
  wait_remove(s, p);
  req_release(p);
  kafka_call_free(p->kcall);
  free(p->raw);
  response_free(&p->resp);
  free(p);
}

/* ---- writing ---- */

static void on_write(uv_write_t *w, int status) {
  struct write_req *wr = (struct write_req *)w;
  struct conn *c = w->handle->data;
  free(wr->head);
  free(wr->payload);
  free(wr);
  if (status < 0 || !c || c->closing) return;
  conn_flush(c); /* may resume reading now that output drained */
}

/* What is still to leave on this connection: libuv's write queue, plus on
 * TLS the plaintext not yet encrypted and the ciphertext in flight. */
static size_t conn_queued(struct conn *c) {
  size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
  return c->tls ? q + tls_uv_queued(c->tls) : q;
}

/* Send a response's buffers: as they are on a plaintext connection; on TLS
 * queued by reference for slice-by-slice encryption, which then owns the
 * head and payload. On failure the caller frees wr and closes. */
static int conn_write(struct conn *c, struct write_req *wr, uv_buf_t *bufs, unsigned nb) {
  if (!c->tls) return uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, nb, on_write);
  uint8_t *head = wr->head, *payload = wr->payload;
  wr->head = wr->payload = NULL;
  int rc = tls_uv_write(c->tls, bufs, nb, head, payload);
  if (!rc) free(wr);
  return rc;
}

/* A TLS write finished: like on_write, may resume reading or close. */
static void on_tls_written(void *arg) {
  struct conn *c = arg;
  if (!c->closing) conn_flush(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  struct conn *c = req->handle->data;
  free(req);
  conn_close(c);
}

/* strata_request_duration_seconds and strata_requests_total, as an answer
 * leaves. */
static void count_answer(struct broker *b, const struct pending *p) {
  struct broker_metrics *m = &b->metrics;
  uint64_t t_ns = uv_hrtime(); /* CLOCK_MONOTONIC, as clock_mono_us */
  prom_observe(&m->request[p->api_slot], (double)(t_ns - p->t0_ns) / 1e9);
  if (p->resp.nwaits) { /* the probe's stages end with this same reading */
    b->now_us = (int64_t)(t_ns / 1000);
    ack_probe_answered(b, &p->resp, (int64_t)(p->t0_ns / 1000));
  }
  const Strata__Header *h = p->resp.forwarded ? p->resp.forwarded : &p->resp.hdr;
  uint32_t err = h->error_code;
  if (!err && h->body_case == STRATA__HEADER__BODY_PRODUCE_RESP && h->produce_resp)
    for (size_t i = 0; i < h->produce_resp->n_partitions && !err; i++)
      err = h->produce_resp->partitions[i]->error_code;
  m->answers[p->api_slot][err < METRICS_ERRORS ? err : 0]++;
}

/* Send every answer at the head of the queue that is ready: responses leave
 * in request order, so a produce waiting for fsync holds those behind it. */
static void conn_flush(struct conn *c) {
  struct server *s = c->srv;
  while (c->head && !c->head->waiting && !c->closing &&
         !(c->auth.failed && s->b->now_ms < c->auth.close_at_ms)) {
    struct pending *p = c->head;
    c->head = p->next;
    if (!c->head) c->tail = NULL;
    c->npending--;
    if (p->api_slot >= 0) count_answer(s->b, p);
    if (p->raw) {
      struct write_req *wr = calloc(1, sizeof *wr);
      if (!wr) {
        pending_free(s, p);
        conn_close(c);
        return;
      }
      wr->head = p->raw;
      p->raw = NULL;
      uv_buf_t one = uv_buf_init((char *)wr->head, (unsigned)p->raw_len);
      if (conn_write(c, wr, &one, 1)) {
        free(wr->head);
        free(wr);
        pending_free(s, p);
        conn_close(c);
        return;
      }
    } else if (p->kcall && !p->resp.silent) {
      struct write_req *wr = calloc(1, sizeof *wr);
      struct kbuf out = {.ref_min = KAFKA_RECORDS_NO_COPY};
      uv_buf_t one, *bufs = &one;
      if (!wr || kafka_finish(s->b, p->kcall, &p->resp, &out) ||
          (out.nrefs && !(bufs = malloc((2 * out.nrefs + 1) * sizeof *bufs)))) {
        trace_error("%s: cannot encode a Kafka answer; closing", c->peer);
        kbuf_free(&out);
        free(wr);
        pending_free(s, p);
        conn_close(c);
        return;
      }
      /* the encoded bytes with the fetched records between them, in place */
      unsigned nb = 0;
      size_t from = 0;
      for (size_t i = 0; i < out.nrefs; i++) {
        if (out.refs[i].at > from)
          bufs[nb++] = uv_buf_init((char *)out.p + from, (unsigned)(out.refs[i].at - from));
        bufs[nb++] = uv_buf_init((char *)out.refs[i].p, (unsigned)out.refs[i].len);
        from = out.refs[i].at;
      }
      if (out.len > from) bufs[nb++] = uv_buf_init((char *)out.p + from, (unsigned)(out.len - from));
      wr->head = out.p;
      wr->payload = p->resp.payload; /* the refs point into it */
      p->resp.payload = NULL;
      out.p = NULL;
      int rc = conn_write(c, wr, bufs, nb);
      if (bufs != &one) free(bufs);
      kbuf_free(&out);
      if (rc) {
        free(wr->head);
        free(wr->payload);
        free(wr);
        pending_free(s, p);
        conn_close(c);
        return;
      }
    } else if (!p->resp.silent) {
      struct write_req *wr = calloc(1, sizeof *wr);
      size_t hl = 0;
      uint32_t plen = (uint32_t)p->resp.payload_len;
      const Strata__Header *out = &p->resp.hdr;
      if (p->resp.forwarded) {
        p->resp.forwarded->correlation_id = p->resp.hdr.correlation_id;
        out = p->resp.forwarded;
      }
      if (!wr || wire_frame_head(out, plen, &wr->head, &hl)) {
        trace_error("%s: cannot encode a response; closing", c->peer);
        free(wr);
        pending_free(s, p);
        conn_close(c);
        return;
      }
      wr->payload = p->resp.payload;
      p->resp.payload = NULL;
      uv_buf_t bufs[2] = {uv_buf_init((char *)wr->head, (unsigned)hl),
                          uv_buf_init((char *)wr->payload, plen)};
      int rc = conn_write(c, wr, bufs, plen ? 2 : 1);
      if (rc) {
        free(wr->head);
        free(wr->payload);
        free(wr);
        pending_free(s, p);
        conn_close(c);
        return;
      }
    }
    pending_free(s, p);
  }
  if (!c->closing && !c->close_after_flush && !c->reading && !c->in_process &&
      !c->hs_waiting && c->npending < CONN_PENDING_MAX / 2 &&
      conn_queued(c) < CONN_WRITE_QUEUE_MAX / 2) {
    conn_process(c); /* drained: handle buffered requests, read again */
    return;
  }
  if (c->close_after_flush && !c->head && !c->closing) {
    /* TLS: close_notify after the last answer, then the TCP shutdown once
     * all of it has left (on_tls_written comes back here). */
    if (c->tls) {
      if (!c->tls->shut_wanted && tls_uv_shutdown(c->tls)) {
        conn_close(c);
        return;
      }
      if (tls_uv_queued(c->tls)) return;
    }
    uv_shutdown_t *sh = malloc(sizeof *sh);
    c->closing = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (!sh || uv_shutdown(sh, (uv_stream_t *)&c->tcp, on_shutdown)) {
      free(sh);
      c->closing = 0;
      conn_close(c);
    }
  }
}

/* ---- requests ---- */

static void arm_fetch_timer(struct server *s);

/* A relayed CreateTopics answer waits until every topic it created is in
 * this broker's metadata, so the client's next request here finds it. */
static int created_topics_known(struct server *s, const Strata__Header *reply) {
  /* users and ACLs: held until this broker's image holds the change */
  int64_t version = -1;
  if (reply->body_case == STRATA__HEADER__BODY_CREATE_ACLS_RESP)
    version = reply->create_acls_resp->metadata_version;
  else if (reply->body_case == STRATA__HEADER__BODY_DELETE_ACLS_RESP)
    version = reply->delete_acls_resp->metadata_version;
  else if (reply->body_case == STRATA__HEADER__BODY_ALTER_SCRAM_RESP)
    version = reply->alter_scram_resp->metadata_version;
  if (version >= 0) return s->b->image_version >= version;
  if (reply->body_case == STRATA__HEADER__BODY_CREATE_PARTITIONS_RESP) {
    /* likewise a grown topic: held until its new partitions are here */
    const Strata__CreatePartitionsResponse *r = reply->create_partitions_resp;
    for (size_t i = 0; i < r->n_results; i++) {
      const Strata__PartitionsResult *t = r->results[i];
      if (t->error_code || !t->count) continue; /* refused, or validate_only */
      const struct topic *tp = topics_find(&s->b->topics, t->name);
      if (!tp || tp->npart < t->count) return 0;
    }
    return 1;
  }
  if (reply->body_case != STRATA__HEADER__BODY_CREATE_TOPICS_RESP) return 1;
  const Strata__CreateTopicsResponse *r = reply->create_topics_resp;
  for (size_t i = 0; i < r->n_results; i++)
    if (!r->results[i]->error_code && !topics_find(&s->b->topics, r->results[i]->name)) return 0;
  return 1;
}

static void on_forwarded(void *arg, Strata__Header *reply, int err) {
  struct pending *p = arg;
  struct server *s = p->conn->srv;
  p->resp.forward = 0;
  if (reply) {
    p->resp.forwarded = reply;
    if (!created_topics_known(s, reply)) {
      p->resp.await_topics = 1;
      p->resp.deadline_ms = s->b->now_ms + 3000;
      req_release(p);
      arm_fetch_timer(s);
      return;
    }
  } else {
    response_error(&p->resp, p->req, err, "the controller is not reachable from this broker");
  }
  req_release(p);
  wait_remove(s, p);
  conn_flush(p->conn);
}

static void enqueue(struct conn *c, struct pending *p) {
  struct server *s = c->srv;
  p->conn = c;
  if (p->resp.forward) {
    if (c->tail) c->tail->next = p; else c->head = p;
    c->tail = p;
    c->npending++;
    p->resp.hdr.correlation_id = p->req->correlation_id;
    /* the caller's principal travels with it (KIP-590's envelope) */
    int rc = cluster_uv_forward(&s->cluster, p->req, &c->principal, on_forwarded, p);
    if (rc) { /* answered now; conn_process flushes it in order */
      p->resp.forward = 0;
      response_error(&p->resp, p->req, rc, "the controller is not reachable from this broker");
      req_release(p);
    } else {
      wait_add(s, p);
    }
    return;
  }
  if (p->resp.park) {
    wait_add(s, p);
    arm_fetch_timer(s);
  } else if ((p->resp.nwaits || p->resp.held) && !response_ready(s->b, &p->resp)) {
    wait_add(s, p);
    arm_fetch_timer(s); /* produce deadlines share the timer */
  }
  if (!p->resp.park) req_release(p);
  if (c->tail) c->tail->next = p; else c->head = p;
  c->tail = p;
  c->npending++;
}

static struct pending *pending_new(void) {
  struct pending *p = calloc(1, sizeof *p);
  if (!p) abort();
  response_init(&p->resp);
  p->api_slot = -1;
  return p;
}

/* Which latency histogram a request counts in: by API, a follower's fetch
 * apart from consumers'. */
static int api_slot(const Strata__Header *req) {
  if (req->api_key >= METRICS_API_SLOTS) return -1;
  if (req->api_key == STRATA__API_KEY__API_FETCH && req->body_case == STRATA__HEADER__BODY_FETCH_REQ &&
      req->fetch_req->replica_id >= 0)
    return METRICS_API_FETCH_FOLLOWER;
  return (int)req->api_key;
}

/* A request-level error for a frame whose header could not be read. */
static void reply_error(struct conn *c, const Strata__Header *req, int err,
                        const char *msg) {
  struct pending *p = pending_new();
  response_error(&p->resp, req, err, msg);
  enqueue(c, p);
}

/* After a request ran: a failed login holds its answer for the failure
 * delay and then closes (auth_sweep); a successful one names the
 * connection's principal. */
static void after_auth_step(struct conn *c) {
  if (c->auth.failed) {
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  } else if (c->auth.authenticated && !c->auth.named) {
    sasl_conn_principal(&c->auth, &c->principal); /* SASL's name wins over a certificate's */
    c->auth.named = 1;
  }
}

/* Before authentication only ApiVersions and the SASL requests run
 * (common/sasl_conn.h); anything else fails the connection: Kafka closes
 * it, the native listener answers ILLEGAL_SASL_STATE first. */
static int auth_allows(struct conn *c, int api_key) {
  if (sasl_conn_allows(&c->auth, api_key)) return 1;
  if (!c->auth.failed) {
    trace_warn("%s: api key %d before SASL authentication; closing", c->peer, api_key);
    c->srv->b->metrics.auth_failure++;
  }
  sasl_conn_refuse(&c->auth, c->srv->b->now_ms);
  after_auth_step(c);
  return 0;
}

static void handle_frame(struct conn *c, const struct frame *f) {
  struct server *s = c->srv;
  Strata__Header *req = NULL;
  if (wire_header_unpack(f->header, f->header_len, &req)) {
    if (c->auth.on && !c->auth.authenticated) sasl_conn_refuse(&c->auth, s->b->now_ms);
    reply_error(c, NULL, STRATA_EINVALID_REQUEST, "malformed request header");
    after_auth_step(c);
    return;
  }
  if (!auth_allows(c, (int)req->api_key)) {
    reply_error(c, req, STRATA_EILLEGAL_SASL_STATE, "authenticate first (SaslHandshake, SaslAuthenticate)");
    wire_header_free(req);
    return;
  }
  struct pending *p = pending_new();
  p->req = req;
  p->t0_ns = uv_hrtime();
  p->api_slot = api_slot(req);
  s->b->sasl_conn = &c->auth;
  dispatch_handle(s->b, &c->principal, req, (uint8_t *)f->payload, f->payload_len, &p->resp);
  s->b->sasl_conn = NULL;
  after_auth_step(c);
  enqueue(c, p);
}

/* A bare SASL token after a v0 SaslHandshake: answered with a bare token;
 * a failure answers nothing and closes after the delay (Kafka's way). */
static void handle_raw_token(struct conn *c, const uint8_t *token, uint32_t len) {
  struct server *s = c->srv;
  uint8_t *out = malloc(4 + SASL_TOKEN_MAX);
  size_t out_len = 0;
  if (!out) {
    conn_close(c);
    return;
  }
  s->b->sasl_conn = &c->auth;
  int rc = kafka_sasl_raw_token(s->b, token, len, out + 4, SASL_TOKEN_MAX, &out_len);
  s->b->sasl_conn = NULL;
  after_auth_step(c); /* a login that ended here names the principal before the next request */
  if (rc) {
    free(out);
    return;
  }
  be32_store(out, (uint32_t)out_len);
  struct pending *p = pending_new();
  p->raw = out;
  p->raw_len = out_len + 4;
  enqueue(c, p);
}

/* One Kafka request (its frame after the size). A frame the codec cannot
 * read closes the connection after the answers before it, as Kafka does. */
static void handle_kafka_frame(struct conn *c, uint8_t *frame, uint32_t len) {
  struct server *s = c->srv;
  if (!auth_allows(c, (int16_t)((frame[0] << 8) | frame[1]))) return;
  struct pending *p = pending_new();
  p->t0_ns = uv_hrtime();
  s->b->sasl_conn = &c->auth;
  p->kcall = kafka_start(s->b, frame, len, c->peer, &c->principal, &p->resp);
  s->b->sasl_conn = NULL;
  after_auth_step(c);
  if (!p->kcall) {
    response_free(&p->resp);
    free(p);
    c->close_after_flush = 1;
    return;
  }
  p->req = kafka_native(p->kcall);
  if (p->req) p->api_slot = api_slot(p->req);
  enqueue(c, p);
}

/* Kafka framing: a 4-byte size, then the request. A size past
 * socket.request.max.bytes (or too small for a header) cannot be skipped
 * safely: the connection closes. Returns bytes used, 0 for more. */
static size_t kafka_frame(struct conn *c, uint8_t *p, size_t len) {
  if (len < 4) {
    c->need = 4;
    return 0;
  }
  uint32_t n = be32_load(p);
  uint32_t max = sasl_conn_frame_max(&c->auth, c->srv->b->cfg.max_frame);
  int raw = c->auth.raw_tokens && !c->auth.authenticated;
  if (n > max || (n < 8 && !raw) || (raw && n > SASL_TOKEN_MAX)) {
    trace_warn("%s: Kafka frame of %u bytes (limit %u%s); closing", c->peer, n, max,
               max < c->srv->b->cfg.max_frame ? " before authentication" : "");
    c->close_after_flush = 1;
    return len;
  }
  if (len - 4 < n) {
    c->need = (size_t)n + 4;
    return 0;
  }
  c->need = 0;
  if (raw)
    handle_raw_token(c, p + 4, n);
  else
    handle_kafka_frame(c, p + 4, n);
  return (size_t)n + 4;
}

/* A frame over socket.request.max.bytes: answer it by its header when the
 * header is readable and skip its bytes without buffering them; otherwise
 * the stream cannot be resynchronised and the connection ends after the
 * error reply. Returns bytes consumed, 0 to wait for more. */
static size_t refuse_frame(struct conn *c, const uint8_t *p, size_t len, int rc) {
  char msg[160];
  if (len < FRAME_PREFIX_SIZE) {
    c->need = FRAME_PREFIX_SIZE;
    return 0;
  }
  uint32_t flen = be32_load(p), hlen = be32_load(p + 4);
  if (c->auth.on && !c->auth.authenticated) {
    /* CVE-2022-34917: an unauthenticated client gets no buffering at all */
    trace_warn("%s: frame of %u bytes before authentication (limit %u); closing", c->peer, flen,
               sasl_conn_frame_max(&c->auth, c->srv->b->cfg.max_frame));
    c->close_after_flush = 1;
    return len;
  }
  if (rc == STRATA_ETOO_LARGE && hlen <= FRAME_HEADER_MAX && flen >= 4 &&
      hlen <= flen - 4) {
    if (len < FRAME_PREFIX_SIZE + hlen) {
      c->need = FRAME_PREFIX_SIZE + hlen;
      return 0;
    }
    Strata__Header *req = NULL;
    wire_header_unpack(p + FRAME_PREFIX_SIZE, hlen, &req);
    snprintf(msg, sizeof msg, "frame of %u bytes exceeds socket.request.max.bytes=%u",
             flen, c->srv->b->cfg.max_frame);
    reply_error(c, req, STRATA_ETOO_LARGE, msg);
    wire_header_free(req);
    c->discard = (size_t)flen + 4 - FRAME_PREFIX_SIZE - hlen;
    trace_warn("%s: %s", c->peer, msg);
    return FRAME_PREFIX_SIZE + hlen;
  }
  snprintf(msg, sizeof msg, "malformed frame prefix (length %u, header %u)", flen, hlen);
  trace_warn("%s: %s; closing", c->peer, msg);
  reply_error(c, NULL, rc, msg);
  c->close_after_flush = 1;
  return len;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Parse and handle every whole frame in the buffer, stopping early when the
 * connection has too many answers in flight (reading resumes as they drain). */
static void conn_process(struct conn *c) {
  struct server *s = c->srv;
  size_t off = 0;
  int full;
  tick(s);
  c->in_process = 1;
again:
  full = 0;
  while (!c->closing && !c->close_after_flush && !c->auth.failed) {
    if (c->discard) {
      size_t k = c->len - off < c->discard ? c->len - off : c->discard;
      off += k;
      c->discard -= k;
      if (c->discard) break;
      continue;
    }
    if (c->npending >= CONN_PENDING_MAX || conn_queued(c) > CONN_WRITE_QUEUE_MAX) {
      full = 1;
      break;
    }
    if (c->kafka) {
      size_t k = kafka_frame(c, c->buf + off, c->len - off);
      if (k == 0) break;
      off += k;
      continue;
    }
    struct frame f;
    size_t need = 0;
    int rc = frame_parse(c->buf + off, c->len - off,
                         sasl_conn_frame_max(&c->auth, s->b->cfg.max_frame), &f, &need);
    if (rc == 0) {
      c->need = need;
      break;
    }
    if (rc < 0) {
      size_t k = refuse_frame(c, c->buf + off, c->len - off, rc);
      if (k == 0) break;
      off += k;
      continue;
    }
    c->need = 0;
    handle_frame(c, &f);
    off += (size_t)rc;
  }
  if (off) {
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    off = 0;
  }
  conn_flush(c);
  /* Stopped with answers in flight, which have left now: the requests
   * still in the buffer are not waiting for more bytes, so go on with them
   * (a client may pipeline far more than CONN_PENDING_MAX and then wait). */
  if (full && !c->closing && !c->close_after_flush && !c->auth.failed &&
      c->npending < CONN_PENDING_MAX / 2 && conn_queued(c) < CONN_WRITE_QUEUE_MAX / 2)
    goto again;
  c->in_process = 0;
  /* A follower's fetch or a local append may have moved a high watermark:
   * release the answers that waited for it. */
  if (s->b->hw_version != s->fetch_hw_seen ||
      s->b->kafka_parked.answered != s->kafka_answered_seen)
    wake_waiters(s);
  if (c->closing) return;
  int throttled = c->npending >= CONN_PENDING_MAX || conn_queued(c) > CONN_WRITE_QUEUE_MAX;
  if (c->close_after_flush || throttled || c->auth.failed) {
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  } else if (!c->reading && !c->hs_waiting) {
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
  if (c->close_after_flush) conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct conn *c = h->data;
  if (c->tls) { /* ciphertext: decrypted into c->buf at once (on_tls_read) */
    *buf = uv_buf_init((char *)c->srv->tls_rbuf, sizeof c->srv->tls_rbuf);
    return;
  }
  size_t want = c->len + (suggested > 65536 ? suggested : 65536);
  if (c->need > want) want = c->need;
  if (want > c->cap) {
    size_t cap = c->cap ? c->cap : 65536;
    while (cap < want) cap *= 2;
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

static void start_waiting_handshakes(struct server *s);

/* The handshake is done: the principal from the client certificate (if
 * one was asked for and sent), and the next waiting connection may start. */
static void conn_tls_ready(struct conn *c) {
  struct server *s = c->srv;
  if (c->in_handshake) {
    c->in_handshake = 0;
    s->handshakes--;
  }
  c->deadline_ms = 0;
  tls_conn_peer_principal(c->tls->conn, &c->principal);
  trace_debug("%s: %s established, principal %s", c->peer, tls_conn_version(c->tls->conn),
              c->principal.name);
  start_waiting_handshakes(s);
}

/* Room for at least `more` bytes after c->len in c->buf. */
static int conn_reserve(struct conn *c, size_t more) {
  size_t want = c->len + more;
  if (c->need > want) want = c->need;
  if (want <= c->cap) return 0;
  size_t cap = c->cap ? c->cap : 65536;
  while (cap < want) cap *= 2;
  uint8_t *b = realloc(c->buf, cap);
  if (!b) return STRATA_ENOMEM;
  c->buf = b;
  c->cap = cap;
  return 0;
}

/* Ciphertext arrived: through the engine into c->buf, then the frames as on
 * a plaintext connection. The peer's close_notify or an EOF mid-frame ends
 * the connection; a partial frame in c->buf is dropped with it. */
static void on_tls_read(struct conn *c, const uint8_t *data, size_t n) {
  int was = tls_uv_established(c->tls);
  if (tls_uv_feed(c->tls, data, n)) {
    trace_info("%s: TLS %s: %s; closing", c->peer, was ? "error" : "handshake failed",
               tls_conn_error(c->tls->conn));
    if (!was) c->srv->tls_failures++;
    conn_close(c);
    return;
  }
  if (!was && tls_uv_established(c->tls)) conn_tls_ready(c);
  for (;;) {
    if (conn_reserve(c, 16384)) {
      conn_close(c);
      return;
    }
    ssize_t r = tls_uv_read(c->tls, c->buf + c->len, c->cap - c->len);
    if (r > 0) {
      c->len += (size_t)r;
      continue;
    }
    if (r == 0) break;
    if (r == TLS_READ_CLOSED) trace_debug("%s: close_notify", c->peer);
    else trace_info("%s: TLS: %s; closing", c->peer, tls_conn_error(c->tls->conn));
    conn_close(c);
    return;
  }
  conn_process(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = st->data;
  if (nread < 0) {
    if (nread != UV_EOF) trace_debug("%s: read: %s", c->peer, uv_strerror((int)nread));
    conn_close(c);
    return;
  }
  if (nread == 0) return;
  if (c->tls) {
    on_tls_read(c, (const uint8_t *)buf->base, (size_t)nread);
    return;
  }
  c->len += (size_t)nread;
  conn_process(c);
}

static void on_conn_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  sasl_conn_free(&c->auth);
  free(c->tls);
  free(c->buf);
  free(c);
}

/* Drop everything the connection was waiting for: its partition references,
 * parked fetches and buffers. In-flight writes free themselves. */
static void conn_close(struct conn *c) {
  if (!c || uv_is_closing((uv_handle_t *)&c->tcp)) return;
  struct server *s = c->srv;
  c->closing = 1;
  while (c->head) {
    struct pending *p = c->head;
    c->head = p->next;
    pending_free(s, p);
  }
  c->tail = NULL;
  if (c->prev) c->prev->next = c->next; else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->nconns--;
  if (c->tls) tls_uv_close(c->tls);
  if (c->hs_waiting) s->hs_waiting--;
  if (c->in_handshake) s->handshakes--;
  int freed_slot = c->in_handshake;
  c->in_handshake = c->hs_waiting = 0;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  if (freed_slot && !s->stopping) start_waiting_handshakes(s);
}

/* Pitfall 6: handshakes cost CPU, so at most TLS_HANDSHAKES_MAX run at once;
 * connections past that wait unread (their deadline runs) and start here,
 * oldest first, as slots free. */
static void start_waiting_handshakes(struct server *s) {
  if (!s->hs_waiting || s->handshakes >= TLS_HANDSHAKES_MAX) return;
  struct conn *oldest[TLS_HANDSHAKES_MAX];
  size_t n = 0;
  /* s->conns is newest first: the last waiting ones found are the oldest. */
  for (struct conn *c = s->conns; c; c = c->next) {
    if (!c->hs_waiting) continue;
    if (n < TLS_HANDSHAKES_MAX) oldest[n++] = c;
    else {
      memmove(oldest, oldest + 1, (n - 1) * sizeof *oldest);
      oldest[n - 1] = c;
    }
  }
  for (size_t i = n; i-- > 0 && s->handshakes < TLS_HANDSHAKES_MAX;) {
    struct conn *c = oldest[i];
    c->hs_waiting = 0;
    s->hs_waiting--;
    c->in_handshake = 1;
    s->handshakes++;
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
}

/* Closes connections past their deadline: a handshake that trickles (or
 * never starts) cannot hold a slot and memory for longer than
 * TLS_HANDSHAKE_TIMEOUT_MS. */
static void on_deadline_timer(uv_timer_t *t) {
  struct server *s = t->data;
  uint64_t now = uv_now(s->loop);
  struct conn *c = s->conns;
  while (c) {
    struct conn *next = c->next;
    if (c->deadline_ms && now >= c->deadline_ms) {
      trace_info("%s: %s not done in %d ms; closing", c->peer,
                 c->tls && !tls_uv_established(c->tls) ? "TLS handshake" : "authentication",
                 TLS_HANDSHAKE_TIMEOUT_MS);
      if (c->tls && !tls_uv_established(c->tls)) s->tls_failures++;
      conn_close(c);
    }
    c = next;
  }
}

static void on_connection(uv_stream_t *server, int status) {
  struct server *s = server->data;
  if (status < 0) {
    trace_warn("accept: %s", uv_strerror(status));
    return;
  }
  struct conn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  c->kafka = server == (uv_stream_t *)&s->kafka_listener;
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  if (s->nconns >= s->b->cfg.connections_max) {
    s->b->metrics.conns_refused++;
    trace_warn("refusing a connection: max.connections=%u reached",
               s->b->cfg.connections_max);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  snprintf(c->peer, sizeof c->peer, "client");
  snprintf(c->principal.name, sizeof c->principal.name, "%s", PRINCIPAL_ANONYMOUS);
  if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl)) {
    char ip[48] = "?";
    if (ss.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
      snprintf(c->peer, sizeof c->peer, "%s:%d", ip,
               ntohs(((struct sockaddr_in *)&ss)->sin_port));
    } else if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
      snprintf(c->peer, sizeof c->peer, "[%s]:%d", ip,
               ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    }
    snprintf(c->principal.host, sizeof c->principal.host, "%s", ip);
  }
  int tls = c->kafka ? s->b->cfg.kafka_tls : s->b->cfg.listener_tls;
  c->sasl = c->kafka ? s->b->cfg.kafka_sasl : s->b->cfg.listener_sasl;
  if (tls) {
    c->tls = malloc(sizeof *c->tls);
    if (!c->tls || tls_uv_init(c->tls, (uv_stream_t *)&c->tcp, s->tls_ctx, NULL, on_tls_written, c)) {
      free(c->tls);
      c->tls = NULL;
      uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
      return;
    }
    c->deadline_ms = uv_now(s->loop) + TLS_HANDSHAKE_TIMEOUT_MS;
  }
  tick(s);
  sasl_conn_init(&c->auth, c->sasl, s->b->now_ms);
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  s->b->metrics.conns_opened++;
  if (tls && s->handshakes >= TLS_HANDSHAKES_MAX) {
    c->hs_waiting = 1;
    s->hs_waiting++;
    return;
  }
  if (tls) {
    c->in_handshake = 1;
    s->handshakes++;
  }
  c->reading = 1;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- group commit ---- */

static void sync_work(uv_work_t *w) {
  struct sync_work *sw = (struct sync_work *)w;
  int64_t t0 = clock_mono_us();
  sw->status = seglog_sync_run(&sw->job); /* off the loop, a roll's fsyncs too */
  sw->took_us = clock_mono_us() - t0;
}

static void sync_done(uv_work_t *w, int status) {
  struct sync_work *sw = (struct sync_work *)w;
  struct server *s = sw->srv;
  seglog_sync_discard(&sw->job); /* cancelled work never ran (a no-op otherwise) */
  tick(s); /* the durable offset moves now (ack_probe stamps it with now_us) */
  if (!status) {
    prom_observe(&s->b->metrics.fsync, (double)sw->took_us / 1e6);
    if (sw->status) s->b->metrics.fsync_errors++;
  }
  flush_done(s->b, sw->p, &sw->job, status ? STRATA_EIO : sw->status);
  free(sw);
  wake_waiters(s);
  if (s->b->cluster) cluster_uv_after_sync(&s->cluster);
}

static void sync_start(void *arg, struct partition *p, struct seglog_sync *job, int on_loop) {
  struct server *s = arg;
  struct sync_work *sw = calloc(1, sizeof *sw);
  if (!sw) abort();
  sw->srv = s;
  sw->p = p; /* the dirty list's reference moves to the work */
  sw->job = *job; /* the work owns the fds now */
  if (on_loop) { /* run by on_commit once flush_begin has returned */
    STRATA_ASSERT(!s->on_loop);
    s->on_loop = sw;
  } else if (uv_queue_work(s->loop, &sw->w, sync_work, sync_done)) {
    seglog_sync_discard(&sw->job);
    flush_sync_failed(s->b, p);
    free(sw);
  }
}

/* Once per loop turn, before the loop sleeps (Redis's beforeSleep): start
 * one sync per partition with unsynced appends or an unsynced roll. */
static void on_commit(uv_prepare_t *h) {
  struct server *s = h->data;
  flush_begin(s->b, 1, sync_start, s);
  struct sync_work *sw = s->on_loop;
  if (!sw) return;
  /* one small sync (flush_on_loop): here rather than a thread pool round
   * trip; what it left dirty (nothing, unless it failed) goes to the pool */
  s->on_loop = NULL;
  sync_work(&sw->w);
  int64_t took_us = sw->took_us;
  sync_done(&sw->w, 0); /* frees sw; reads the clock */
  flush_loop_sync_took(s->b, took_us, s->b->now_ms);
  flush_begin(s->b, 0, sync_start, s);
}

/* ---- waking produce and fetch answers ---- */

/* Flushing may close a connection, which frees its pendings: so answers are
 * released per connection, after the waiting list has been walked. */
static void flush_all(struct server *s) {
  struct conn *c = s->conns;
  while (c) {
    struct conn *next = c->next;
    if (c->head && !c->head->waiting) conn_flush(c);
    c = next;
  }
}

static void wake_waiters(struct server *s) {
  tick(s);
  int refetch = s->fetch_hw_seen != s->b->hw_version;
  s->fetch_hw_seen = s->b->hw_version;
  s->kafka_answered_seen = s->b->kafka_parked.answered;
  struct pending *p = s->waiting;
  while (p) {
    struct pending *next = p->wnext;
    if (p->resp.forward) {
      /* answered by on_forwarded */
    } else if (p->resp.await_topics) {
      if (created_topics_known(s, p->resp.forwarded)) {
        p->resp.await_topics = 0;
        wait_remove(s, p);
      }
    } else if (p->req) {
      if (refetch) {
        dispatch_fetch_again(s->b, p->req, &p->resp, 0);
        if (!p->resp.park) wait_remove(s, p);
      }
    } else if (response_ready(s->b, &p->resp)) {
      wait_remove(s, p);
    }
    p = next;
  }
  flush_all(s);
}

static void on_fetch_timer(uv_timer_t *t) {
  struct server *s = t->data;
  tick(s);
  struct pending *p = s->waiting;
  while (p) {
    struct pending *next = p->wnext;
    if (p->resp.forward) {
      /* the controller link has its own failure path */
    } else if (p->req && p->resp.deadline_ms <= s->b->now_ms) {
      dispatch_fetch_again(s->b, p->req, &p->resp, 1);
      wait_remove(s, p);
    } else if (!p->req && p->resp.deadline_ms && p->resp.deadline_ms <= s->b->now_ms) {
      response_expire(&p->resp);
      p->resp.await_topics = 0; /* answer anyway: the controller did create them */
      wait_remove(s, p);
    }
    p = next;
  }
  flush_all(s);
  arm_fetch_timer(s);
}

static void arm_fetch_timer(struct server *s) {
  int64_t first = INT64_MAX;
  for (struct pending *p = s->waiting; p; p = p->wnext)
    if (!p->resp.forward && p->resp.deadline_ms && p->resp.deadline_ms < first)
      first = p->resp.deadline_ms;
  if (first == INT64_MAX) {
    uv_timer_stop(&s->fetch_timer);
    return;
  }
  int64_t delay = first - s->b->now_ms;
  uint64_t due = uv_now(s->loop) + (uint64_t)(delay > 0 ? delay : 0);
  if (uv_is_active((uv_handle_t *)&s->fetch_timer) &&
      uv_timer_get_due_in(&s->fetch_timer) + uv_now(s->loop) <= due)
    return;
  uv_timer_start(&s->fetch_timer, on_fetch_timer, (uint64_t)(delay > 0 ? delay : 0), 0);
}

/* ---- periodic work ---- */

static void for_each_partition(struct broker *b, void (*fn)(struct broker *, struct partition *)) {
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) fn(b, b->topics.v[i]->parts[k]);
}

static void flush_one(struct broker *b, struct partition *p) {
  if (seglog_durable_offset(p->log) < seglog_end_offset(p->log)) flush_mark_dirty(b, p);
}

static void on_flush_timer(uv_timer_t *t) {
  struct server *s = t->data;
  for_each_partition(s->b, flush_one);
}

static void retain_one(struct broker *b, struct partition *p) {
  int n = seglog_apply_retention(p->log, b->wall_ms); /* retention.ms is against record timestamps */
  if (n < 0) trace_error("retention on %s-%u failed: %s", p->topic->name, p->id, strata_strerror(n));
}

static void on_retention_timer(uv_timer_t *t) {
  struct server *s = t->data;
  tick(s);
  for_each_partition(s->b, retain_one);
}

/* The scrubber: a paced slice of reads and CRC checks per tick (issue 15;
 * broker/integrity.c walks and decides, broker/scrub.c paces, at most
 * SCRUB_CHUNK_MAX bytes a job); the read and the checks of each job run in
 * the thread pool, never on the loop. */
struct scrub_work {
  uv_work_t w;
  struct server *srv;
  struct integrity_scrub_job job;
};

static void scrub_work(uv_work_t *w) { seglog_scrub_run(&((struct scrub_work *)w)->job.j); }

static void scrub_done(uv_work_t *w, int status) {
  struct scrub_work *sw = (struct scrub_work *)w;
  struct server *s = sw->srv;
  tick(s);
  if (status) sw->job.j.rc = STRATA_EIO; /* cancelled: never ran */
  integrity_scrub_done(s->b, &sw->job, s->b->now_ms);
  free(sw);
}

static void on_scrub_timer(uv_timer_t *t) {
  struct server *s = t->data;
  tick(s);
  struct scrub_work *sw = calloc(1, sizeof *sw);
  if (!sw) abort();
  sw->srv = s;
  if (!integrity_scrub_next(s->b, s->b->now_ms, &sw->job)) {
    free(sw);
    return;
  }
  if (uv_queue_work(s->loop, &sw->w, scrub_work, scrub_done)) scrub_done(&sw->w, UV_EINVAL);
}

/* Group sessions and delayed assignments run on time. */
static void on_group_timer(uv_timer_t *t) {
  struct server *s = t->data;
  tick(s);
  group_handlers_tick(s->b);
  kafka_groups_drain(s->b); /* classic groups' timeouts answer parked calls */
  if (s->b->kafka_parked.answered != s->kafka_answered_seen) wake_waiters(s);
}

/* ---- SASL deadlines ---- */

/* Every AUTH_SWEEP_MS: a connection still unauthenticated at its deadline
 * (accept + SASL_DEADLINE_MS) closes; one whose login failed sends its held
 * answer once the failure delay is over, and closes. */
#define AUTH_SWEEP_MS 20
static void on_auth_timer(uv_timer_t *t) {
  struct server *s = t->data;
  tick(s);
  struct conn *c = s->conns;
  while (c) {
    struct conn *next = c->next;
    if (!c->closing && sasl_conn_expired(&c->auth, s->b->now_ms)) {
      if (c->auth.failed) {
        c->close_after_flush = 1;
        conn_flush(c);
      } else {
        trace_warn("%s: not authenticated within %d ms; closing", c->peer, SASL_DEADLINE_MS);
        s->b->metrics.auth_failure++;
        conn_close(c);
      }
    }
    c = next;
  }
}

/* ---- start and stop ---- */

/* The cluster links saw a high watermark or leadership move. */
static void on_cluster_wake(void *arg) { wake_waiters(arg); }

static void on_signal(uv_signal_t *h, int signum) {
  struct server *s = h->data;
  if (s->stopping) return;
  s->stopping = 1;
  trace_info("signal %d: shutting down", signum);
  if (s->b->cluster) cluster_uv_stop(&s->cluster);
  uv_close((uv_handle_t *)&s->listener, NULL);
  if (s->kafka_on) uv_close((uv_handle_t *)&s->kafka_listener, NULL);
  while (s->conns) conn_close(s->conns);
  uv_close((uv_handle_t *)&s->commit, NULL);
  uv_close((uv_handle_t *)&s->fetch_timer, NULL);
  uv_close((uv_handle_t *)&s->flush_timer, NULL);
  uv_close((uv_handle_t *)&s->retention_timer, NULL);
  uv_close((uv_handle_t *)&s->scrub_timer, NULL);
  uv_close((uv_handle_t *)&s->group_timer, NULL);
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
  uv_close((uv_handle_t *)&s->sighup, NULL);
  uv_close((uv_handle_t *)&s->deadline_timer, NULL);
  http_server_stop(s->admin);
  s->admin = NULL;
  uv_close((uv_handle_t *)&s->rates_timer, NULL);
  if (s->auth_on) uv_close((uv_handle_t *)&s->auth_timer, NULL);
}

/* SIGHUP: read the certificate, key and CA files again (rotation without a
 * restart). New connections get the new context; open ones keep theirs. A
 * context that does not build (a half-written file) leaves the old one in
 * place. */
static void on_sighup(uv_signal_t *h, int signum) {
  (void)signum;
  struct server *s = h->data;
  if (s->b->cluster) cluster_uv_reload_tls(&s->cluster); /* the outgoing links' identity */
  if (!s->tls_ctx) {
    trace_info("SIGHUP: no TLS listener, nothing to reload");
    return;
  }
  struct tls_ctx *fresh;
  char err[512];
  if (tls_ctx_new(TLS_ROLE_SERVER, &s->b->cfg.tls, &fresh, err, sizeof err)) {
    trace_error("SIGHUP: TLS context not reloaded, keeping the old one: %s", err);
    return;
  }
  tls_ctx_unref(s->tls_ctx);
  s->tls_ctx = fresh;
  if (s->admin && s->b->cfg.admin_tls) http_server_set_tls(s->admin, fresh);
  trace_info("SIGHUP: TLS certificate reloaded from %s (expires at %lld)", s->b->cfg.tls.cert_file,
             (long long)tls_ctx_cert_not_after(fresh));
}

/* ---- the admin listener ---- */

static void on_admin_request(void *arg, const struct http_request *req, struct http_answer *a) {
  struct server *s = arg;
  tick(s);
  s->adm.loop_idle_s = (double)uv_metrics_idle_time(s->loop) / 1e9;
  s->adm.admin_conns = *http_server_stats(s->admin);
  s->adm.client_conns = s->nconns;
  s->adm.tls_not_after = s->tls_ctx ? tls_ctx_cert_not_after(s->tls_ctx) : 0;
  s->adm.tls_failures = s->tls_failures;
  s->adm.waiting_produce = s->adm.waiting_fetch = 0;
  for (struct pending *p = s->waiting; p; p = p->wnext) {
    if (p->resp.forward) continue;
    if (p->req) s->adm.waiting_fetch++;
    else if (p->resp.nwaits) s->adm.waiting_produce++;
  }
  admin_route(&s->adm, req, a);
}

static void on_rates_timer(uv_timer_t *t) {
  struct server *s = t->data;
  tick(s);
  admin_sample(&s->adm);
}

/* admin.listeners: a default address that is taken (another node on this
 * host) costs only the admin port; one the operator set must bind. */
static int admin_start(struct server *s) {
  struct broker *b = s->b;
  b->admin_addr[0] = 0;
  if (b->cfg.admin_port < 0) return 0;
  char err[300];
  int rc = http_server_start(&s->admin, s->loop, b->cfg.admin_host, b->cfg.admin_port,
                             b->cfg.admin_connections_max, on_admin_request, s, err, sizeof err);
  if (!rc && b->cfg.admin_tls) http_server_set_tls(s->admin, s->tls_ctx);
  if (rc) {
    if (b->cfg.admin_explicit) {
      trace_error("admin.listeners: %s", err);
      return STRATA_ENETWORK;
    }
    trace_warn("admin listener off: %s (the default admin.listeners=%s; set another)", err,
               ADMIN_LISTENER_DEFAULT);
    return 0;
  }
  const char *host = b->cfg.admin_host;
  if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::")) host = b->cfg.host; /* the advertised one */
  snprintf(b->admin_addr, sizeof b->admin_addr, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
           http_server_port(s->admin));
  trace_info("admin listener on %s:%d: %s://%s/metrics", b->cfg.admin_host,
             http_server_port(s->admin), b->cfg.admin_tls ? "https" : "http", b->admin_addr);
  return 0;
}

/* kafka.listeners: must bind when set; the advertised address (with the
 * port the kernel picked for :0) goes to the controller in registration. */
static int kafka_listen(struct server *s) {
  struct broker *b = s->b;
  b->kafka_addr[0] = 0;
  if (b->cfg.kafka_port < 0) return 0;
  struct sockaddr_storage addr;
  int rc = uv_ip4_addr(b->cfg.kafka_host, b->cfg.kafka_port, (struct sockaddr_in *)&addr);
  if (rc) rc = uv_ip6_addr(b->cfg.kafka_host, b->cfg.kafka_port, (struct sockaddr_in6 *)&addr);
  if (rc) {
    trace_error("kafka.listeners: '%s' is not an IP address", b->cfg.kafka_host);
    return STRATA_EINVALID_CONFIG;
  }
  uv_tcp_init(s->loop, &s->kafka_listener);
  s->kafka_listener.data = s;
  s->kafka_on = 1;
  if ((rc = uv_tcp_bind(&s->kafka_listener, (struct sockaddr *)&addr, 0)) ||
      (rc = uv_listen((uv_stream_t *)&s->kafka_listener, 511, on_connection))) {
    trace_error("kafka.listeners: cannot listen on %s:%d: %s", b->cfg.kafka_host,
                b->cfg.kafka_port, uv_strerror(rc));
    return STRATA_ENETWORK;
  }
  struct sockaddr_storage bound;
  int bl = sizeof bound;
  int port = b->cfg.kafka_port;
  if (!uv_tcp_getsockname(&s->kafka_listener, (struct sockaddr *)&bound, &bl))
    port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  int adv_port = b->cfg.kafka_adv_port > 0 ? b->cfg.kafka_adv_port : port;
  const char *host = b->cfg.kafka_adv_host;
  if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::")) host = b->cfg.host;
  snprintf(b->kafka_addr, sizeof b->kafka_addr, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
           adv_port);
  trace_info("kafka listener on %s:%d (advertised %s)", b->cfg.kafka_host, port, b->kafka_addr);
  return 0;
}

int server_run(struct broker *b) {
  if (!b->cluster) offsets_log_sync(b); /* cluster mode: after each metadata image */
  if (broker_sasl_init(b)) {
    trace_error("sasl: no random bytes for the server secret");
    return STRATA_EUNKNOWN;
  }
  struct server *s = calloc(1, sizeof *s); /* the fetchers' buffers make it large */
  if (!s) return STRATA_ENOMEM;
  s->b = b;
  s->loop = uv_default_loop();
  struct sockaddr_storage addr;
  int rc = uv_ip4_addr(b->cfg.bind_host, b->cfg.bind_port, (struct sockaddr_in *)&addr);
  if (rc) rc = uv_ip6_addr(b->cfg.bind_host, b->cfg.bind_port, (struct sockaddr_in6 *)&addr);
  if (rc) {
    trace_error("listeners: '%s' is not an IP address", b->cfg.bind_host);
    free(s);
    return STRATA_EINVALID_CONFIG;
  }
  uv_loop_configure(s->loop, UV_METRICS_IDLE_TIME);
  if (b->cfg.listener_tls || b->cfg.kafka_tls || b->cfg.admin_tls) {
    char err[512];
    if ((rc = tls_ctx_new(TLS_ROLE_SERVER, &b->cfg.tls, &s->tls_ctx, err, sizeof err))) {
      trace_error("TLS: %s", err);
      free(s);
      return rc;
    }
  }
  admin_init(&s->adm, b);
  uv_timer_init(s->loop, &s->rates_timer);
  s->rates_timer.data = s;
  tick(s);
  if (admin_start(s)) {
    uv_close((uv_handle_t *)&s->rates_timer, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    tls_ctx_unref(s->tls_ctx);
    free(s);
    return STRATA_ENETWORK;
  }
  uv_timer_start(&s->rates_timer, on_rates_timer, 0, 1000);
  if (kafka_listen(s)) {
    if (s->kafka_on) uv_close((uv_handle_t *)&s->kafka_listener, NULL);
    uv_close((uv_handle_t *)&s->rates_timer, NULL);
    http_server_stop(s->admin);
    uv_run(s->loop, UV_RUN_DEFAULT);
    tls_ctx_unref(s->tls_ctx);
    free(s);
    return STRATA_ENETWORK;
  }
  uv_tcp_init(s->loop, &s->listener);
  s->listener.data = s;
  if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) ||
      (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection))) {
    trace_error("cannot listen on %s:%d: %s", b->cfg.bind_host, b->cfg.bind_port, uv_strerror(rc));
    uv_close((uv_handle_t *)&s->listener, NULL);
    if (s->kafka_on) uv_close((uv_handle_t *)&s->kafka_listener, NULL);
    uv_close((uv_handle_t *)&s->rates_timer, NULL);
    http_server_stop(s->admin);
    uv_run(s->loop, UV_RUN_DEFAULT);
    tls_ctx_unref(s->tls_ctx);
    free(s);
    return STRATA_ENETWORK;
  }
  uv_prepare_init(s->loop, &s->commit);
  s->commit.data = s;
  uv_prepare_start(&s->commit, on_commit);
  uv_timer_init(s->loop, &s->fetch_timer);
  s->fetch_timer.data = s;
  uv_timer_init(s->loop, &s->flush_timer);
  s->flush_timer.data = s;
  if (b->cfg.flush == FLUSH_INTERVAL)
    uv_timer_start(&s->flush_timer, on_flush_timer, (uint64_t)b->cfg.flush_interval_ms,
                   (uint64_t)b->cfg.flush_interval_ms);
  uv_timer_init(s->loop, &s->retention_timer);
  s->retention_timer.data = s;
  uv_timer_start(&s->retention_timer, on_retention_timer, 1000,
                 (uint64_t)b->cfg.retention_check_ms);
  integrity_init(b, b->now_ms);
  uv_timer_init(s->loop, &s->scrub_timer);
  s->scrub_timer.data = s;
  uv_timer_start(&s->scrub_timer, on_scrub_timer, 50, 50);
  uv_timer_init(s->loop, &s->group_timer);
  s->group_timer.data = s;
  uv_timer_start(&s->group_timer, on_group_timer, 100, 100);
  uv_signal_init(s->loop, &s->sigint);
  s->sigint.data = s;
  uv_signal_start(&s->sigint, on_signal, SIGINT);
  uv_signal_init(s->loop, &s->sigterm);
  s->sigterm.data = s;
  uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  if (b->cfg.listener_sasl || b->cfg.kafka_sasl) {
    s->auth_on = 1;
    uv_timer_init(s->loop, &s->auth_timer);
    s->auth_timer.data = s;
    uv_timer_start(&s->auth_timer, on_auth_timer, AUTH_SWEEP_MS, AUTH_SWEEP_MS);
  }
  uv_signal_init(s->loop, &s->sighup);
  s->sighup.data = s;
  uv_signal_start(&s->sighup, on_sighup, SIGHUP);
  uv_timer_init(s->loop, &s->deadline_timer);
  s->deadline_timer.data = s;
  uv_timer_start(&s->deadline_timer, on_deadline_timer, 500, 500);
  if (b->cluster) cluster_uv_start(&s->cluster, s->loop, b, on_cluster_wake, s);
  trace_info("broker %d listening on %s:%d as %s:%d (%s, log.dir %s, flush %s)", b->cfg.id,
             b->cfg.bind_host, b->cfg.bind_port, b->cfg.host, b->cfg.port,
             listener_protocol_name(b->cfg.protocol), b->cfg.log_dir,
             flush_policy_names[b->cfg.flush]);
  uv_run(s->loop, UV_RUN_DEFAULT);
  uv_loop_close(s->loop);
  tls_ctx_unref(s->tls_ctx);
  free(s);
  return 0;
}
