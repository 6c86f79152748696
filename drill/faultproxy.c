#include "drill/faultproxy.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection's life: held (accepted during a cut, upstream not asked),
 * connecting upstream, open (bytes flow in each direction that is not cut). */
enum conn_state { CONN_HELD, CONN_CONNECTING, CONN_OPEN };

/* One direction of a connection: bytes read from its source and not yet
 * written to its destination, in buf[off, len). The source is read again
 * only once all of them are written (off and len back to 0). */
struct flow {
  char buf[FAULTPROXY_BUF];
  size_t off, len;
  int eof;  /* the source closed its side */
  int shut; /* ... and the destination was told (shutdown SHUT_WR) */
};

struct conn {
  int fd[2];           /* 0: accepted from the connecting node, 1: upstream */
  uint32_t ip[2];      /* 0: the connecting node's address, 1: the listener's */
  struct sockaddr_in to;
  enum conn_state state;
  struct flow flow[2]; /* flow[d]: from fd[d] to fd[1 - d], i.e. from ip[d] to ip[1 - d] */
  int dead;
};

struct listener {
  int fd;
  uint32_t ip;
  struct sockaddr_in to;
};

struct faultproxy {
  struct listener l[FAULTPROXY_LISTENERS_MAX];
  int nl;
  struct conn *conns[FAULTPROXY_CONNS_MAX];
  int nconns;
  int wake[2]; /* a byte written here wakes the loop */
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t applied;
  /* under mu */
  uint32_t cuts[FAULTPROXY_CUTS_MAX][2];
  int ncuts;
  uint64_t gen, seen; /* cut table version, and the one the loop runs with */
  int stop;
};

struct faultproxy *faultproxy_new(void) {
  struct faultproxy *fp = calloc(1, sizeof *fp);
  if (!fp) return NULL;
  if (pipe2(fp->wake, O_NONBLOCK | O_CLOEXEC)) {
    free(fp);
    return NULL;
  }
  pthread_mutex_init(&fp->mu, NULL);
  pthread_cond_init(&fp->applied, NULL);
  return fp;
}

static int ip_of(const char *host, uint32_t *ip) {
  struct in_addr a;
  if (inet_pton(AF_INET, host, &a) != 1) return -1;
  *ip = a.s_addr;
  return 0;
}

int faultproxy_listen(struct faultproxy *fp, const char *host, int port, const char *to_host,
                      int to_port, char *why, size_t why_len) {
  assert(!fp->started);
  struct listener *l = &fp->l[fp->nl];
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  l->to.sin_family = AF_INET;
  l->to.sin_port = htons((uint16_t)to_port);
  if (fp->nl == FAULTPROXY_LISTENERS_MAX || ip_of(host, &a.sin_addr.s_addr) ||
      ip_of(to_host, &l->to.sin_addr.s_addr)) {
    snprintf(why, why_len, "fault proxy: bad address or too many listeners (%s)", host);
    return -1;
  }
  l->ip = a.sin_addr.s_addr;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  socklen_t len = sizeof a;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 128) ||
      getsockname(fd, (struct sockaddr *)&a, &len)) {
    snprintf(why, why_len, "fault proxy: cannot listen on %s:%d: %s", host, port, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  l->fd = fd;
  fp->nl++;
  return ntohs(a.sin_port);
}

static int is_cut(uint32_t (*cuts)[2], int ncuts, uint32_t from, uint32_t to) {
  for (int i = 0; i < ncuts; i++)
    if (cuts[i][0] == from && cuts[i][1] == to) return 1;
  return 0;
}

/* Close both sides; a reset when the connection broke, so that each end
 * learns it as it would from the other end itself. */
static void conn_free(struct conn *c) {
  for (int s = 0; s < 2; s++) {
    if (c->fd[s] < 0) continue;
    if (c->dead) {
      struct linger lg = {1, 0};
      setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd[s]);
  }
  free(c);
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void accept_from(struct faultproxy *fp, struct listener *l) {
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct conn *c = fp->nconns < FAULTPROXY_CONNS_MAX ? malloc(sizeof *c) : NULL;
    if (!c) {
      close(fd);
      continue;
    }
    c->fd[0] = fd, c->fd[1] = -1;
    c->ip[0] = peer.sin_addr.s_addr, c->ip[1] = l->ip;
    c->to = l->to;
    c->state = CONN_HELD; /* the loop connects it when no cut is in the way */
    c->dead = 0;
    for (int d = 0; d < 2; d++) c->flow[d].off = c->flow[d].len = c->flow[d].eof = c->flow[d].shut = 0;
    nodelay(fd);
    fp->conns[fp->nconns++] = c;
  }
}

/* A held connection goes upstream once nothing cuts its two nodes apart
 * (either way: a lost SYN or a lost SYN-ACK both stop a handshake). */
static void conn_release(struct conn *c, uint32_t (*cuts)[2], int ncuts) {
  if (c->state != CONN_HELD || is_cut(cuts, ncuts, c->ip[0], c->ip[1]) ||
      is_cut(cuts, ncuts, c->ip[1], c->ip[0]))
    return;
  c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd[1] < 0) {
    c->dead = 1;
    return;
  }
  nodelay(c->fd[1]);
  if (!connect(c->fd[1], (struct sockaddr *)&c->to, sizeof c->to)) c->state = CONN_OPEN;
  else if (errno == EINPROGRESS) c->state = CONN_CONNECTING;
  else c->dead = 1; /* refused: the node is down */
}

/* poll events each side of c needs: reads for a direction with room, writes
 * for one with bytes; nothing for a direction that is cut. */
static void conn_events(const struct conn *c, uint32_t (*cuts)[2], int ncuts, short ev[2]) {
  ev[0] = ev[1] = 0;
  if (c->state == CONN_HELD) ev[0] = POLLRDHUP; /* gave up waiting: forget it */
  if (c->state == CONN_CONNECTING) ev[1] = POLLOUT;
  if (c->state != CONN_OPEN) return;
  for (int d = 0; d < 2; d++) {
    const struct flow *f = &c->flow[d];
    if (is_cut(cuts, ncuts, c->ip[d], c->ip[1 - d])) continue;
    if (!f->eof && f->len < FAULTPROXY_BUF) ev[d] |= POLLIN;
    if (f->len > f->off) ev[1 - d] |= POLLOUT;
  }
}

static int again(void) { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

/* Move direction d's bytes along after poll said its sockets are ready. */
static void flow_step(struct conn *c, int d, short ev_src, short rev_src) {
  struct flow *f = &c->flow[d];
  assert(c->state == CONN_OPEN && f->off <= f->len && f->len <= FAULTPROXY_BUF);
  int src = c->fd[d], dst = c->fd[1 - d];
  if ((ev_src & POLLIN) && (rev_src & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(src, f->buf + f->len, FAULTPROXY_BUF - f->len);
    if (n > 0) f->len += (size_t)n;
    else if (n == 0) f->eof = 1;
    else if (!again()) c->dead = 1;
  }
  /* write whenever there are bytes: a full socket just says EAGAIN */
  if (f->len > f->off && !c->dead) {
    ssize_t n = send(dst, f->buf + f->off, f->len - f->off, MSG_NOSIGNAL);
    if (n > 0) f->off += (size_t)n;
    else if (n < 0 && !again()) c->dead = 1;
  }
  if (f->off == f->len) f->off = f->len = 0; /* all written: room again */
  if (f->eof && f->off == f->len && !f->shut && !c->dead) {
    shutdown(dst, SHUT_WR);
    f->shut = 1;
  }
}

/* After poll: finish a connect, or move bytes in each direction not cut. */
static void conn_step(struct conn *c, uint32_t (*cuts)[2], int ncuts, const short ev[2],
                      const short rev[2]) {
  if (c->state == CONN_HELD && (rev[0] & (POLLRDHUP | POLLHUP | POLLERR))) c->dead = 1;
  if (c->state == CONN_CONNECTING) {
    if (!(rev[1] & (POLLOUT | POLLERR | POLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) c->dead = 1;
    else c->state = CONN_OPEN;
    return;
  }
  if (c->state != CONN_OPEN) return;
  for (int d = 0; d < 2 && !c->dead; d++)
    if (!is_cut(cuts, ncuts, c->ip[d], c->ip[1 - d])) flow_step(c, d, ev[d], rev[d]);
}

/* The cut table as the loop will run with it for one turn; tells waiting
 * cut/heal callers that their change is in force. */
static int snapshot(struct faultproxy *fp, uint32_t (*cuts)[2], int *ncuts) {
  pthread_mutex_lock(&fp->mu);
  assert(fp->ncuts <= FAULTPROXY_CUTS_MAX && fp->seen <= fp->gen);
  int stop = fp->stop;
  memcpy(cuts, fp->cuts, sizeof fp->cuts);
  *ncuts = fp->ncuts;
  fp->seen = fp->gen;
  pthread_cond_broadcast(&fp->applied);
  pthread_mutex_unlock(&fp->mu);
  return stop;
}

/* The proxy's thread, one turn at a time: take the cut table, connect the
 * held connections no cut stands in the way of any more, poll every socket
 * for what its directions not cut need, move bytes, accept, and drop the
 * connections that are done. Runs until faultproxy_free says stop. */
static void *loop(void *arg) {
  struct faultproxy *fp = arg;
  static_assert(FAULTPROXY_LISTENERS_MAX + 2 * FAULTPROXY_CONNS_MAX < 1024, "pollfd array on the stack");
  struct pollfd pfd[1 + FAULTPROXY_LISTENERS_MAX + 2 * FAULTPROXY_CONNS_MAX];
  short ev[FAULTPROXY_CONNS_MAX][2];
  uint32_t cuts[FAULTPROXY_CUTS_MAX][2];
  int ncuts;
  while (!snapshot(fp, cuts, &ncuts)) {
    for (int i = 0; i < fp->nconns; i++) conn_release(fp->conns[i], cuts, ncuts);
    int n = 0;
    pfd[n++] = (struct pollfd){fp->wake[0], POLLIN, 0};
    for (int i = 0; i < fp->nl; i++) pfd[n++] = (struct pollfd){fp->l[i].fd, POLLIN, 0};
    for (int i = 0; i < fp->nconns; i++) {
      struct conn *c = fp->conns[i];
      conn_events(c, cuts, ncuts, ev[i]);
      /* a side with nothing to do is left out: its hang-ups wait too */
      for (int s = 0; s < 2; s++)
        pfd[n++] = (struct pollfd){c->dead || !ev[i][s] ? -1 : c->fd[s], ev[i][s], 0};
    }
    int nconns = fp->nconns;
    if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR) break;
    char drain[64];
    while (read(fp->wake[0], drain, sizeof drain) > 0) {}
    for (int i = 0; i < nconns; i++) {
      short rev[2] = {pfd[1 + fp->nl + 2 * i].revents, pfd[2 + fp->nl + 2 * i].revents};
      conn_step(fp->conns[i], cuts, ncuts, ev[i], rev);
    }
    for (int i = 0; i < fp->nl; i++)
      if (pfd[1 + i].revents & POLLIN) accept_from(fp, &fp->l[i]);
    /* drop broken connections and those closed both ways */
    int kept = 0;
    for (int i = 0; i < fp->nconns; i++) {
      struct conn *c = fp->conns[i];
      if (c->dead || (c->flow[0].shut && c->flow[1].shut)) conn_free(c);
      else fp->conns[kept++] = c;
    }
    fp->nconns = kept;
  }
  /* stopped (or poll failed): nobody waits for a turn that will not come */
  pthread_mutex_lock(&fp->mu);
  fp->seen = UINT64_MAX;
  pthread_cond_broadcast(&fp->applied);
  pthread_mutex_unlock(&fp->mu);
  return NULL;
}

int faultproxy_start(struct faultproxy *fp) {
  if (fp->started) return 0;
  if (pthread_create(&fp->thread, NULL, loop, fp)) return -1;
  fp->started = 1;
  return 0;
}

/* Wake the loop and wait until it runs with the table as changed (under mu). */
static void apply(struct faultproxy *fp) {
  uint64_t want = ++fp->gen;
  if (write(fp->wake[1], "", 1) < 0) {} /* a full pipe wakes it anyway */
  while (fp->started && fp->seen < want) pthread_cond_wait(&fp->applied, &fp->mu);
}

int faultproxy_cut(struct faultproxy *fp, const char *a, const char *b, int one_way) {
  uint32_t ia, ib;
  if (ip_of(a, &ia) || ip_of(b, &ib)) return -1;
  pthread_mutex_lock(&fp->mu);
  int rc = 0;
  for (int dir = 0; dir < (one_way ? 1 : 2) && !rc; dir++) {
    uint32_t from = dir ? ib : ia, to = dir ? ia : ib;
    if (is_cut(fp->cuts, fp->ncuts, from, to)) continue;
    if (fp->ncuts == FAULTPROXY_CUTS_MAX) rc = -1;
    else fp->cuts[fp->ncuts][0] = from, fp->cuts[fp->ncuts++][1] = to;
  }
  apply(fp);
  pthread_mutex_unlock(&fp->mu);
  return rc;
}

void faultproxy_heal(struct faultproxy *fp) {
  pthread_mutex_lock(&fp->mu);
  fp->ncuts = 0;
  apply(fp);
  pthread_mutex_unlock(&fp->mu);
}

void faultproxy_free(struct faultproxy *fp) {
  if (!fp) return;
  if (fp->started) {
    pthread_mutex_lock(&fp->mu);
    fp->stop = 1;
    if (write(fp->wake[1], "", 1) < 0) {}
    pthread_mutex_unlock(&fp->mu);
    pthread_join(fp->thread, NULL);
  }
  for (int i = 0; i < fp->nconns; i++) conn_free(fp->conns[i]);
  for (int i = 0; i < fp->nl; i++) close(fp->l[i].fd);
  close(fp->wake[0]);
  close(fp->wake[1]);
  pthread_mutex_destroy(&fp->mu);
  pthread_cond_destroy(&fp->applied);
  free(fp);
}
