#include "quorum_uv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errors.h"
#include "common/prom.h"
#include "common/tls_uv.h"
#include "common/trace.h"
#include "common/wire.h"

#define PEER_RECONNECT_MS 200
#define PEER_QUEUE_MAX 256               /* frames held while a connection is being made */
#define PEER_WRITE_QUEUE_MAX (64u << 20) /* bytes unsent before frames are dropped */
/* Links: one per voter of the set in effect, plus one per observer being
 * answered, closed after this long without a message for it. */
#define PEER_SLOTS (QUORUM_VOTERS_MAX + QUORUM_OBSERVERS_MAX)
#define PEER_IDLE_MS 10000

struct frame_buf {
  uint8_t *data;
  size_t len;
  struct frame_buf *next;
};

/* One connection to a peer (freed when its handle closes): TCP, and TLS
 * when the controller listeners are SSL:// (mutual TLS with the
 * controller's own certificate). */
struct peer_conn {
  uv_tcp_t tcp;
  uv_connect_t req;
  struct tls_uv tls;
  int tls_on;
  struct peer *p; /* NULL once the peer let go of it */
};

struct peer {
  int used;  /* the slot holds a peer (its retry timer lives as long as the glue) */
  int voter; /* in the voter set in effect (else: an observer we answer) */
  int64_t last_send_ms;
  int32_t id;
  char host[256];
  int port;
  struct peer_conn *pc; /* NULL: not connected */
  int up;
  uv_timer_t retry;
  struct frame_buf *head, *tail; /* waiting for the connection */
  size_t queued;
  int warned;
};

struct wr {
  uv_write_t w;
  uint8_t *data;
};

static uv_loop_t *qloop;
static struct controller *qctl;
static struct peer peers[PEER_SLOTS];
static uv_timer_t deadline_timer;
static uv_work_t sync_work;
static int sync_fd, sync_rc;
static int64_t sync_us; /* how long the fdatasync took (strata_log_fsync_duration_seconds) */
static uv_work_t snap_work; /* our snapshot's write (qsnap_job), one at a time */
static struct qsnap_job *snap_job;
static void (*on_changed)(void *);
static void *changed_arg;
static int stopping;
static struct tls_ctx *peer_tls; /* client side of the peer links, NULL: plaintext */

static void post(void);

static void on_pc_closed(uv_handle_t *h) { free(h->data); }

static void drop_queue(struct peer *p) {
  while (p->head) {
    struct frame_buf *f = p->head;
    p->head = f->next;
    free(f->data);
    free(f);
  }
  p->tail = NULL;
  p->queued = 0;
}

static void peer_down(struct peer *p) {
  struct peer_conn *pc = p->pc;
  if (pc) {
    pc->p = NULL;
    if (pc->tls_on) tls_uv_close(&pc->tls);
    if (!uv_is_closing((uv_handle_t *)&pc->tcp)) uv_close((uv_handle_t *)&pc->tcp, on_pc_closed);
  }
  p->pc = NULL;
  p->up = 0; /* the next message connects again */
}

static void on_write(uv_write_t *w, int status) {
  struct wr *r = (struct wr *)w;
  free(r->data);
  free(r);
  (void)status; /* a failed write shows as a read error / EOF: the connection is redone */
}

static void write_frame(struct peer *p, uint8_t *data, size_t len) {
  struct peer_conn *pc = p->pc;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  if (pc->tls_on) {
    if (tls_uv_queued(&pc->tls) > PEER_WRITE_QUEUE_MAX) {
      free(data);
      return;
    }
    if (tls_uv_write(&pc->tls, &b, 1, data, NULL)) peer_down(p); /* data freed either way */
    return;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&pc->tcp) > PEER_WRITE_QUEUE_MAX) {
    free(data); /* lost, as on a slow network: the core retries */
    return;
  }
  struct wr *r = malloc(sizeof *r);
  if (!r) {
    free(data);
    return;
  }
  r->data = data;
  if (uv_write(&r->w, (uv_stream_t *)&pc->tcp, &b, 1, on_write)) {
    free(data);
    free(r);
  }
}

static void on_peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  static char sink[65536];
  *buf = uv_buf_init(sink, sizeof sink);
}

/* Peers never answer on our connection (their answers use theirs):
 * reading notices the close, and drives the TLS handshake. */
static void on_peer_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct peer_conn *pc = s->data;
  struct peer *p = pc->p;
  if (!p) return;
  if (nread < 0) {
    trace_debug("quorum: connection to controller %d closed", p->id);
    peer_down(p);
    return;
  }
  if (!pc->tls_on || nread == 0) return;
  if (tls_uv_feed(&pc->tls, buf->base, (size_t)nread)) {
    if (!p->warned)
      trace_warn("quorum: TLS to controller %d (%s:%d): %s", p->id, p->host, p->port,
                 tls_conn_error(pc->tls.conn));
    p->warned = 1;
    peer_down(p);
    return;
  }
  static uint8_t plain[4096];
  ssize_t r;
  while ((r = tls_uv_read(&pc->tls, plain, sizeof plain)) > 0) {
  }
  if (r < 0) peer_down(p);
}

static void connect_peer(struct peer *p);

static void on_retry(uv_timer_t *t) {
  struct peer *p = t->data;
  if (p->used && !p->pc && !stopping) connect_peer(p);
}

static void on_connect(uv_connect_t *req, int status) {
  struct peer_conn *pc = req->data;
  struct peer *p = pc->p;
  if (!p || stopping) return;
  if (status < 0) {
    if (!p->warned) trace_info("quorum: controller %d (%s:%d) not reachable yet: %s", p->id,
                               p->host, p->port, uv_strerror(status));
    p->warned = 1;
    peer_down(p);
    uv_timer_start(&p->retry, on_retry, PEER_RECONNECT_MS, 0);
    return;
  }
  p->up = 1;
  p->warned = 0;
  uv_tcp_nodelay(&pc->tcp, 1);
  uv_read_start((uv_stream_t *)&pc->tcp, on_peer_alloc, on_peer_read);
  if (pc->tls_on && tls_uv_feed(&pc->tls, NULL, 0)) { /* the ClientHello */
    peer_down(p);
    uv_timer_start(&p->retry, on_retry, PEER_RECONNECT_MS, 0);
    return;
  }
  while (p->head && p->pc) {
    struct frame_buf *f = p->head;
    p->head = f->next;
    write_frame(p, f->data, f->len);
    free(f);
  }
  drop_queue(p);
}

static void connect_peer(struct peer *p) {
  struct sockaddr_in addr;
  if (uv_ip4_addr(p->host, p->port, &addr)) {
    if (!p->warned) trace_error("quorum: controller %d: '%s' is not an IPv4 address", p->id, p->host);
    p->warned = 1;
    return;
  }
  struct peer_conn *pc = calloc(1, sizeof *pc);
  if (!pc) return;
  uv_tcp_init(qloop, &pc->tcp);
  pc->tcp.data = pc;
  pc->req.data = pc;
  pc->p = p;
  p->pc = pc;
  if (peer_tls) {
    if (tls_uv_init(&pc->tls, (uv_stream_t *)&pc->tcp, peer_tls, p->host, NULL, NULL)) {
      peer_down(p);
      return;
    }
    pc->tls_on = 1;
  }
  if (uv_tcp_connect(&pc->req, &pc->tcp, (struct sockaddr *)&addr, on_connect)) {
    peer_down(p);
    uv_timer_start(&p->retry, on_retry, PEER_RECONNECT_MS, 0);
  }
}

/* Let a slot go: its connection closed, its queue dropped, no retry. */
static void peer_free(struct peer *p) {
  drop_queue(p);
  peer_down(p);
  uv_timer_stop(&p->retry);
  p->used = 0;
  p->voter = 0;
}

static struct peer *peer_find(int32_t id, const char *host, int port) {
  for (size_t i = 0; i < PEER_SLOTS; i++)
    if (peers[i].used && peers[i].id == id && peers[i].port == port && !strcmp(peers[i].host, host))
      return &peers[i];
  return NULL;
}

/* The link to node (id, dir) at the address qnode gives for it now (a
 * voter's VotersRecord address, an observer's own), made when there is
 * none. A link is per id and address: a voter's old address and the new
 * machine of a wiped node with its id are two links. NULL: no address
 * known, or no free slot. */
static struct peer *peer_for(int32_t id, const uint8_t *dir) {
  const char *host;
  int port;
  if (qnode_peer_addr(qctl->qn, id, dir, &host, &port)) return NULL;
  struct peer *p = peer_find(id, host, port);
  if (p) return p;
  for (size_t i = 0; i < PEER_SLOTS && !p; i++)
    if (!peers[i].used) p = &peers[i];
  if (!p) return NULL;
  p->used = 1;
  p->voter = 0;
  p->id = id;
  p->warned = 0;
  p->last_send_ms = clock_mono_ms();
  snprintf(p->host, sizeof p->host, "%s", host);
  p->port = port;
  trace_info("quorum: link to controller %d at %s:%d", id, host, port);
  return p;
}

/* The links follow the voter set in effect (qnode_links) and its
 * addresses: a link that is no voter's (at that voter's address) any more
 * is closed at once (a removed voter, a voter re-added elsewhere), an
 * observer's once it has been idle PEER_IDLE_MS. */
static void sync_links(void) {
  int32_t ids[QUORUM_VOTERS_MAX];
  uint32_t n = qnode_links(qctl->qn, ids);
  int64_t now = clock_mono_ms();
  for (size_t i = 0; i < PEER_SLOTS; i++) {
    struct peer *p = &peers[i];
    if (!p->used) continue;
    int in = 0;
    const char *host;
    int port;
    for (uint32_t j = 0; j < n; j++)
      in |= ids[j] == p->id && !qnode_peer_addr(qctl->qn, p->id, NULL, &host, &port) &&
            port == p->port && !strcmp(host, p->host);
    if (!in && (p->voter || now - p->last_send_ms > PEER_IDLE_MS)) {
      trace_info("quorum: link to controller %d (%s:%d) closed: %s", p->id, p->host, p->port,
                 p->voter ? "no longer a voter (at this address)" : "an observer not sent to lately");
      peer_free(p);
      continue;
    }
    p->voter = in;
  }
  for (uint32_t j = 0; j < n; j++) {
    struct peer *p = peer_for(ids[j], NULL);
    if (p) p->voter = 1;
  }
}

/* qnode's send: one frame to the peer, queued while it connects. */
static void send_msg(void *arg, int32_t to, const Strata__QuorumMessage *m, const uint8_t *payload,
                     size_t payload_len) {
  (void)arg;
  if (stopping) return;
  const uint8_t *dir = m->dst && m->dst->directory_id.len == QUORUM_DIR_LEN
                           ? m->dst->directory_id.data : NULL;
  struct peer *p = peer_for(to, dir);
  if (!p) {
    trace_debug("quorum: no address known for controller %d: message dropped", to);
    return;
  }
  p->last_send_ms = clock_mono_ms();
  Strata__Header h = STRATA__HEADER__INIT;
  h.api_key = STRATA__API_KEY__API_QUORUM;
  h.body_case = STRATA__HEADER__BODY_QUORUM;
  h.quorum = (Strata__QuorumMessage *)m;
  uint8_t *head;
  size_t hn;
  if (wire_frame_head(&h, (uint32_t)payload_len, &head, &hn)) return;
  uint8_t *data = realloc(head, hn + payload_len);
  if (!data) {
    free(head);
    return;
  }
  if (payload_len) memcpy(data + hn, payload, payload_len);
  if (p->up) {
    write_frame(p, data, hn + payload_len);
    return;
  }
  if (!p->pc && !uv_is_active((uv_handle_t *)&p->retry)) connect_peer(p);
  struct frame_buf *f = malloc(sizeof *f);
  if (!f || p->queued == PEER_QUEUE_MAX) {
    free(f);
    free(data);
    return;
  }
  *f = (struct frame_buf){data, hn + payload_len, NULL};
  if (p->tail) p->tail->next = f;
  else p->head = f;
  p->tail = f;
  p->queued++;
}

static void on_deadline(uv_timer_t *t) {
  (void)t;
  qnode_tick(qctl->qn, clock_mono_ms());
  post();
}

static void sync_run(uv_work_t *w) {
  (void)w;
  int64_t t0 = clock_mono_us();
  sync_rc = fdatasync(sync_fd);
  sync_us = clock_mono_us() - t0;
}

static void sync_after(uv_work_t *w, int status) {
  (void)w;
  prom_observe(&qctl->log.sync, (double)sync_us / 1e6);
  if (status || sync_rc) qctl->log.sync_errors++;
  qnode_sync_done(qctl->qn, status == 0 && sync_rc == 0, clock_mono_ms());
  post();
}

static void snap_run(uv_work_t *w) {
  (void)w;
  qsnap_job_run(snap_job);
}

static void snap_after(uv_work_t *w, int status) {
  (void)w;
  if (status) {
    snap_job->rc = STRATA_EIO;
    snprintf(snap_job->err, sizeof snap_job->err, "the snapshot's write was cancelled");
  }
  snap_job = NULL;
  if (stopping) return;
  qnode_snapshot_done(qctl->qn, clock_mono_ms());
  post();
}

/* After every step: the core's next deadline, and the log's fsync when one
 * is due and none runs (one at a time: what accumulates meanwhile goes in
 * the next, a group commit). A disk failure stops the controller. */
static void post(void) {
  struct qnode *n = qctl->qn;
  if (n->failed) {
    trace_error("quorum: the metadata log or quorum state cannot be written: stopping");
    exit(1);
  }
  if (stopping) return;
  sync_links();
  int64_t wait = n->deadline_ms - clock_mono_ms();
  uv_timer_start(&deadline_timer, on_deadline, wait > 0 ? (uint64_t)wait : 0, 0);
  int fd;
  if (qnode_sync_begin(n, &fd)) {
    sync_fd = fd;
    if (uv_queue_work(qloop, &sync_work, sync_run, sync_after)) qnode_sync_done(n, 0, 0);
  }
  /* a snapshot (20 MiB of records' state): packed and written in the
   * threadpool, its image taken at a committed offset on the loop */
  struct qsnap_job *j;
  if (!snap_job && qnode_snapshot_begin(n, &j)) {
    snap_job = j;
    if (uv_queue_work(qloop, &snap_work, snap_run, snap_after)) {
      snap_job->rc = STRATA_EIO;
      snprintf(snap_job->err, sizeof snap_job->err, "the threadpool refused the snapshot's write");
      snap_job = NULL;
      qnode_snapshot_done(n, clock_mono_ms());
    }
  }
}

static void changed(void *arg) {
  (void)arg;
  if (on_changed) on_changed(changed_arg);
}

int quorum_uv_start(uv_loop_t *loop, struct controller *ctl, const struct tls_settings *tls,
                    void (*fn)(void *), void *arg) {
  qloop = loop;
  if (tls) {
    char err[512];
    int rc = tls_ctx_new(TLS_ROLE_CLIENT, tls, &peer_tls, err, sizeof err);
    if (rc) {
      trace_error("quorum: the peer links' TLS: %s", err);
      return rc;
    }
  }
  qctl = ctl;
  on_changed = fn;
  changed_arg = arg;
  struct qnode *n = ctl->qn;
  n->send = send_msg;
  n->changed = changed;
  n->async_snapshots = 1;
  for (size_t i = 0; i < PEER_SLOTS; i++) {
    struct peer *p = &peers[i];
    memset(p, 0, sizeof *p);
    uv_timer_init(loop, &p->retry);
    p->retry.data = p;
  }
  uv_timer_init(loop, &deadline_timer);
  qnode_start(n, clock_mono_ms());
  post();
  return 0;
}

void quorum_uv_receive(struct controller *ctl, const Strata__QuorumMessage *m,
                       const uint8_t *payload, size_t payload_len) {
  if (!ctl->qn || stopping) return;
  qnode_receive(ctl->qn, m, payload, payload_len, clock_mono_ms());
  post();
}

void quorum_uv_kick(struct controller *ctl) {
  if (ctl->qn && qctl) post();
}

void quorum_uv_stop(void) {
  if (!qctl) return;
  stopping = 1;
  for (size_t i = 0; i < PEER_SLOTS; i++) {
    struct peer *p = &peers[i];
    drop_queue(p);
    peer_down(p);
    if (!uv_is_closing((uv_handle_t *)&p->retry)) uv_close((uv_handle_t *)&p->retry, NULL);
  }
  if (!uv_is_closing((uv_handle_t *)&deadline_timer)) uv_close((uv_handle_t *)&deadline_timer, NULL);
  if (peer_tls) tls_ctx_unref(peer_tls); /* open connections hold their own reference */
  peer_tls = NULL;
}
