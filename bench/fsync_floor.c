/* The machine's own floors for the two fsync-path targets of issue 15
 * (item 4), measured by scripts/bench-fsync.sh in the same run as the
 * broker and the disk, so each gap splits into Strata's own cost and what
 * the machine allows at all (2 shared cores, one file system: the client
 * and every broker share both). Plain C, no libuv, no Strata code but the
 * CRC32C the broker uses.
 *
 *   fsync_floor pipe DIR MIB [CHUNK_KiB=1024 [WINDOW=8]]
 *     The ideal socket -> file pipe, as one broker under acks=1 and
 *     log.flush.policy=always: a child process (the client) sends MIB MiB
 *     over loopback TCP in CHUNK_KiB writes of pre-built bytes (each chunk
 *     ends with the CRC32C of the rest, computed once before the clock
 *     starts) and keeps at most WINDOW chunks unacknowledged. The server
 *     receives each chunk into one buffer, checks its CRC32C (the broker
 *     must), write()s it to DIR/fsync-floor-pipe.dat, and a second thread
 *     fdatasyncs whatever has been written whenever it is idle (group
 *     commit, as flush `always`) and then sends the client the count of
 *     durable chunks (8 bytes). The client's clock runs from its first
 *     write to the acknowledgement of the last chunk.
 *     Prints: pipe floor N MiB: X MB/s, client U s CPU, server V s CPU
 *     Left out against the broker: the protocol (framing, parsing, the
 *     producer's batch building and its CRC, which the client here never
 *     computes), the index files, offsets and the event loop's wake-ups
 *     (the sync thread answers the client itself). The window (8 MiB) is
 *     larger than the Strata producer's (5 requests of up to 256 KiB):
 *     the best program would keep the disk busy, so the floor does.
 *     On this machine's kernel (6.18, ext4) CHUNK_KiB 2048 (and at times
 *     4096) makes each write() crawl through copy_folio_from_iter_atomic
 *     (100-200 MB/s, 5-9 s of CPU per GiB; 2047 does not): keep 1024.
 *
 *   fsync_floor chain DIR RATE SECS [prewritten] [F1_DIR F2_DIR]
 *     The ideal RF 3 acks=all chain: four processes over loopback TCP, a
 *     client (this process), a leader and two followers. The client sends a
 *     1 KiB record RATE times a second for SECS seconds, paced on the
 *     schedule `strata bench produce --rate` uses (record i due at
 *     start + i / RATE; one late leaves at once), and times each from its
 *     write() to the answer that covers it. The leader, one poll loop,
 *     forwards each record to both followers at once, then write()s it to
 *     its own file and hands the fdatasync to a sync thread (group commit;
 *     the thread wakes the loop through an eventfd when it is done, as the
 *     broker's thread pool does); it answers the client when its own
 *     fdatasync and both followers' acknowledgements cover the record.
 *     Each follower, one poll loop, write()s the records it receives,
 *     fdatasyncs on its loop thread (as Strata's followers do for small
 *     syncs) and acknowledges the durable count. Three fdatasyncs of every
 *     record, the answer only after all three: the durable work of
 *     Strata's chain (its high watermark is the least durable offset of
 *     the in-sync replicas, the leader's included: at full ISR all three,
 *     as here; min.insync.replicas 2 only refuses writes below 2).
 *     By default the three files are in DIR, one file system, as on the
 *     bench's cluster; F1_DIR and F2_DIR put the followers' files
 *     elsewhere (a variant for a machine with more than one disk).
 *     `prewritten`: each file is written and synced up front and then
 *     overwritten (prewrite says why), an ideal program's data layout that
 *     Strata's appended segments do not have (information, not its floor).
 *     Prints: chain floor RATE/s SECS s: p50 A ms, p99 B ms, p99.9 C ms,
 *       max D ms
 *     and a second line with the fdatasync times inside the chain.
 *     Left out: the protocol (Kafka/Strata framing and parsing, the
 *     follower fetch request that carries the acknowledgement, batch
 *     headers), the CRC check of the record, offsets, the index files, the
 *     high watermark and ISR bookkeeping, metrics. A push to the followers
 *     instead of their parked fetch: the same one loop wake-up per record.
 *
 *   fsync_floor solo DIR RATE SECS
 *     The disk alone at the chain's pace (run_solo says more): one writer,
 *     1 KiB appends + fdatasync at RATE for SECS, no network. The chain's
 *     floor over this splits into hops plus three writers on one file
 *     system, and the disk's own tail over the same seconds.
 *     Prints: solo floor RATE/s SECS s: p50 A ms, p99 B ms, p99.9 C ms,
 *       max D ms
 *
 * Every file lives under DIR (or F1_DIR/F2_DIR) and is removed at the end;
 * the children are reaped; SIGINT/SIGTERM kills the children by PID,
 * removes the files and exits 130; a child dies with its parent
 * (PR_SET_PDEATHSIG). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"

#define RECORD_SIZE 1024     /* the chain's record: 1 KiB, as the bench's */
#define CHUNK_MAX (64 << 20) /* the pipe's largest chunk */
#define WINDOW_MAX 64        /* the pipe's most chunks unacknowledged */
#define RATE_MAX 200000      /* the chain's records per second */
#define SECS_MAX 3600
#define RECORDS_MAX 10000000 /* the chain's RATE * SECS (the client keeps a time for each) */
#define LEADER_BUF (256 * RECORD_SIZE) /* bytes a loop reads at once */
#define ANSWER_WAIT_NS (10LL * 1000000000) /* no answer for this long: fail */

/* ---- what the signal handler must clean up ------------------------------ */
static pid_t children[3];
static int nchildren;
static char paths[3][4096];
static int npaths;

static void cleanup_children(int sig) {
  for (int i = 0; i < nchildren; i++)
    if (children[i] > 0) kill(children[i], sig);
  for (int i = 0; i < nchildren; i++)
    if (children[i] > 0) waitpid(children[i], NULL, 0);
  nchildren = 0;
  for (int i = 0; i < npaths; i++) unlink(paths[i]);
}

/* SIGINT/SIGTERM in the parent: kill the children by PID, reap them,
 * remove the files (kill, waitpid and unlink are async-signal-safe). */
static void on_signal(int sig) {
  (void)sig;
  cleanup_children(SIGKILL);
  _exit(130);
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* A forked child: default signal handling, and it dies with its parent
 * (a kill -9 of the parent leaves no process behind). */
static pid_t fork_child(void) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    cleanup_children(SIGKILL);
    exit(1);
  }
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    nchildren = 0; /* the parent's children are not this one's */
    npaths = 0;
    return 0;
  }
  children[nchildren++] = pid;
  return pid;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A listening socket on 127.0.0.1 at a port the kernel picks. */
static int listen_any(struct sockaddr_in *addr) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *addr;
  if (bind(s, (struct sockaddr *)addr, sizeof *addr) || listen(s, 4) ||
      getsockname(s, (struct sockaddr *)addr, &len))
    die("listen");
  return s;
}

static void nodelay(int s) {
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int connect_to(const struct sockaddr_in *addr) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || connect(s, (const struct sockaddr *)addr, sizeof *addr)) die("connect");
  nodelay(s);
  return s;
}

static int accept_one(int ls) {
  int s = accept(ls, NULL, NULL);
  if (s < 0) die("accept");
  nodelay(s);
  close(ls);
  return s;
}

/* write() all of buf, through partial writes; 0 or -1. */
static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* read() exactly len bytes; 0, or -1 on error or end of stream. */
static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len) {
    ssize_t r = read(fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

static int open_file(const char *dir, const char *name) {
  if (npaths == 3) abort();
  snprintf(paths[npaths], sizeof paths[npaths], "%s/%s", dir, name);
  int fd = open(paths[npaths], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die(paths[npaths]);
  npaths++;
  return fd;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted values (the value at rank ceil(q * n)). */
static int64_t quantile(const int64_t *v, size_t n, double q) {
  size_t k = (size_t)(q * (double)n + 0.999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

/* ---- group commit: a thread that fdatasyncs whatever has been written ---- */
struct syncer {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int fd;
  int stop, failed;
  uint64_t written, synced; /* units: chunks (pipe) or records (chain) */
  int ack_fd;               /* pipe: the client socket the count goes to */
  int wake_fd;              /* chain: the leader loop's eventfd */
  int64_t *sync_ns;         /* chain: each fdatasync's duration */
  size_t nsync, sync_cap;
};

/* Whenever something is written and not yet synced: one fdatasync covering
 * all of it, then tell whoever waits (the client's socket in the pipe, the
 * leader's loop in the chain). Writes that land during a sync are covered
 * by the next one. */
static void *syncer_main(void *arg) {
  struct syncer *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (s->written == s->synced && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
    if (s->written == s->synced) break;
    uint64_t want = s->written;
    pthread_mutex_unlock(&s->mu);
    int64_t t0 = now_ns();
    int rc = fdatasync(s->fd);
    int64_t took = now_ns() - t0;
    if (!rc && s->ack_fd >= 0 && write_all(s->ack_fd, &want, sizeof want)) rc = -1;
    pthread_mutex_lock(&s->mu);
    if (rc) {
      s->failed = 1;
      s->stop = 1;
    }
    if (s->sync_ns && s->nsync < s->sync_cap) s->sync_ns[s->nsync++] = took;
    s->synced = want;
    if (s->wake_fd >= 0) {
      uint64_t one = 1;
      if (write(s->wake_fd, &one, sizeof one) != sizeof one) s->failed = 1;
    }
    if (rc) break;
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static void syncer_start(struct syncer *s, pthread_t *th) {
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  if (pthread_create(th, NULL, syncer_main, s)) die("pthread_create");
}

static void syncer_wrote(struct syncer *s, uint64_t written) {
  pthread_mutex_lock(&s->mu);
  s->written = written;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Ends the thread after its last sync; nonzero if an fdatasync (or the ack
 * after it) failed. */
static int syncer_finish(struct syncer *s, pthread_t th) {
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(th, NULL);
  return s->failed;
}

/* ---- pipe ------------------------------------------------------------------ */
struct pipe_result {
  double secs, cpu;
  int ok;
};

/* The client: CHUNK-byte writes of one pre-built chunk, at most window of
 * them not yet acknowledged; done when the last is acknowledged durable. */
static void pipe_client(const struct sockaddr_in *addr, long nchunks, size_t chunk, int window,
                        int result_fd) {
  struct pipe_result res = {0, 0, 0};
  char *buf = malloc(chunk);
  if (!buf) _exit(1);
  for (size_t i = 0; i < chunk - 4; i++) buf[i] = (char)(i * 31 + 7);
  uint32_t crc = crc32c(0, buf, chunk - 4);
  memcpy(buf + chunk - 4, &crc, 4);
  int s = connect_to(addr);
  double cpu0 = cpu_s();
  int64_t t0 = now_ns();
  long sent = 0;
  uint64_t acked = 0;
  while ((long)acked < nchunks) {
    if (sent < nchunks && sent - (long)acked < window) {
      if (write_all(s, buf, chunk)) _exit(1);
      sent++;
    }
    /* wait for an acknowledgement only when the window is full or all is
     * sent; else take the ones already here without blocking */
    int block = sent == nchunks || sent - (long)acked >= window;
    uint64_t a;
    ssize_t r = recv(s, &a, sizeof a, block ? MSG_WAITALL : MSG_DONTWAIT);
    if (r == (ssize_t)sizeof a) {
      if (a > (uint64_t)sent || a < acked) _exit(1);
      acked = a;
    } else if (r > 0) {
      if (read_all(s, (char *)&a + r, sizeof a - (size_t)r)) _exit(1);
      acked = a;
    } else if (block || r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      _exit(1);
    }
  }
  res.secs = (double)(now_ns() - t0) / 1e9;
  res.cpu = cpu_s() - cpu0;
  res.ok = 1;
  close(s);
  if (write_all(result_fd, &res, sizeof res)) _exit(1);
  _exit(0);
}

static int run_pipe(const char *dir, long mib, long chunk_kib, int window) {
  size_t chunk = (size_t)chunk_kib << 10;
  long nchunks = (long)(((uint64_t)mib << 20) / chunk);
  struct sockaddr_in addr;
  int ls = listen_any(&addr);
  int res_pipe[2];
  if (pipe(res_pipe)) die("pipe");
  int fd = open_file(dir, "fsync-floor-pipe.dat");
  if (fork_child() == 0) {
    close(ls);
    close(res_pipe[0]);
    pipe_client(&addr, nchunks, chunk, window, res_pipe[1]);
  }
  close(res_pipe[1]);
  int s = accept_one(ls);
  char *buf = malloc(chunk);
  if (!buf) die("malloc");
  struct syncer sy = {.fd = fd, .ack_fd = s, .wake_fd = -1};
  pthread_t th;
  double cpu0 = cpu_s();
  syncer_start(&sy, &th);
  int bad = 0;
  for (long i = 0; i < nchunks && !bad; i++) {
    if (read_all(s, buf, chunk)) {
      fprintf(stderr, "fsync_floor pipe: the client's stream ended early\n");
      bad = 1;
      break;
    }
    uint32_t want;
    memcpy(&want, buf + chunk - 4, 4);
    if (crc32c(0, buf, chunk - 4) != want) {
      fprintf(stderr, "fsync_floor pipe: CRC32C mismatch in chunk %ld\n", i);
      bad = 1;
      break;
    }
    if (write_all(fd, buf, chunk)) {
      perror("write");
      bad = 1;
      break;
    }
    syncer_wrote(&sy, (uint64_t)i + 1);
  }
  if (syncer_finish(&sy, th)) {
    fprintf(stderr, "fsync_floor pipe: fdatasync or acknowledgement failed\n");
    bad = 1;
  }
  double server_cpu = cpu_s() - cpu0;
  struct pipe_result res = {0, 0, 0};
  if (!bad && read_all(res_pipe[0], &res, sizeof res)) res.ok = 0;
  close(s);
  cleanup_children(bad ? SIGKILL : 0); /* 0: reap the client, which ends itself */
  close(fd);
  free(buf);
  if (bad || !res.ok) {
    fprintf(stderr, "fsync_floor pipe: failed\n");
    return 1;
  }
  double bytes = (double)nchunks * (double)chunk;
  printf("pipe floor %ld MiB: %.0f MB/s, client %.2f s CPU, server %.2f s CPU", mib,
         bytes / res.secs / 1e6, res.cpu, server_cpu);
  if (chunk_kib != 1024 || window != 8)
    printf(" (%ld KiB chunks, %d in flight)", chunk_kib, window);
  printf("\n");
  return 0;
}

/* ---- chain ----------------------------------------------------------------- */
struct chain_report { /* what a replica tells the client at its end */
  int ok;
  size_t nsync;
  int64_t p50, p99, max; /* its fdatasync durations, ns */
};

static void report_syncs(int result_fd, int ok, int64_t *v, size_t n) {
  struct chain_report r = {ok, n, 0, 0, 0};
  if (n) {
    qsort(v, n, sizeof *v, cmp_i64);
    r.p50 = quantile(v, n, 0.5);
    r.p99 = quantile(v, n, 0.99);
    r.max = v[n - 1];
  }
  if (write_all(result_fd, &r, sizeof r)) _exit(1);
}

/* A follower: one loop reading records from the leader; each read's whole
 * records are written, fdatasynced on the loop thread and acknowledged
 * with the durable count. Ends when the leader closes. */
static void follower_main(int ls, int fd, size_t cap, int result_fd) {
  int s = accept_one(ls);
  char *buf = malloc(LEADER_BUF);
  int64_t *sync_ns = malloc(cap * sizeof *sync_ns);
  if (!buf || !sync_ns) _exit(1);
  size_t have = 0, nsync = 0;
  uint64_t durable = 0;
  int ok = 1;
  for (;;) {
    struct pollfd pfd = {s, POLLIN, 0};
    if (poll(&pfd, 1, -1) < 0) {
      if (errno == EINTR) continue;
      ok = 0;
      break;
    }
    ssize_t r = read(s, buf + have, LEADER_BUF - have);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      ok = 0;
      break;
    }
    have += (size_t)r;
    size_t whole = have - have % RECORD_SIZE;
    if (!whole) continue;
    int64_t t0 = now_ns();
    if (write_all(fd, buf, whole) || fdatasync(fd)) {
      ok = 0;
      break;
    }
    if (nsync < cap) sync_ns[nsync++] = now_ns() - t0;
    durable += whole / RECORD_SIZE;
    if (write_all(s, &durable, sizeof durable)) {
      ok = 0;
      break;
    }
    memmove(buf, buf + whole, have - whole);
    have -= whole;
  }
  report_syncs(result_fd, ok, sync_ns, nsync);
  _exit(ok ? 0 : 1);
}

/* Reads one follower's acknowledgements (8-byte durable counts, possibly
 * several or part of one per read); the newest count, or -1 when it ends. */
static int read_acks(int s, char *part, size_t *have, uint64_t *acked) {
  ssize_t r = read(s, part + *have, 64 - *have);
  if (r < 0 && errno == EINTR) return 0;
  if (r <= 0) return -1;
  *have += (size_t)r;
  size_t whole = *have - *have % 8;
  if (whole) {
    uint64_t a;
    memcpy(&a, part + whole - 8, 8);
    if (a < *acked) return -1;
    *acked = a;
    memmove(part, part + whole, *have - whole);
    *have -= whole;
  }
  return 0;
}

/* The leader: one poll loop over the client, both followers and the sync
 * thread's eventfd. A read of whole records from the client goes to both
 * followers, then to the file, then to the sync thread; the client gets
 * the count of records covered by the leader's fdatasync and both
 * followers' acknowledgements whenever it grows. */
static void leader_main(int ls, const struct sockaddr_in *f1, const struct sockaddr_in *f2,
                        int fd, size_t cap, int result_fd) {
  int fs[2] = {connect_to(f1), connect_to(f2)};
  int c = accept_one(ls);
  int efd = eventfd(0, 0);
  char *buf = malloc(LEADER_BUF);
  struct syncer sy = {.fd = fd, .ack_fd = -1, .wake_fd = efd};
  sy.sync_ns = malloc(cap * sizeof *sy.sync_ns);
  sy.sync_cap = cap;
  if (efd < 0 || !buf || !sy.sync_ns) _exit(1);
  pthread_t th;
  syncer_start(&sy, &th);
  char acks[2][64];
  size_t ack_have[2] = {0, 0};
  uint64_t acked[2] = {0, 0}, written = 0, synced = 0, answered = 0;
  size_t have = 0;
  int ok = 1, client_open = 1;
  while (client_open || answered < written) {
    struct pollfd pfd[4] = {{client_open ? c : -1, POLLIN, 0}, {fs[0], POLLIN, 0}, {fs[1], POLLIN, 0},
                            {efd, POLLIN, 0}};
    if (poll(pfd, 4, -1) < 0) {
      if (errno == EINTR) continue;
      ok = 0;
      break;
    }
    if (pfd[0].revents) {
      ssize_t r = read(c, buf + have, LEADER_BUF - have);
      if (r == 0) {
        client_open = 0;
      } else if (r < 0 && errno != EINTR) {
        ok = 0;
        break;
      } else if (r > 0) {
        have += (size_t)r;
        size_t whole = have - have % RECORD_SIZE;
        if (whole) {
          /* forward first: the followers' part of the chain is the longer */
          if (write_all(fs[0], buf, whole) || write_all(fs[1], buf, whole) ||
              write_all(fd, buf, whole)) {
            ok = 0;
            break;
          }
          written += whole / RECORD_SIZE;
          syncer_wrote(&sy, written);
          memmove(buf, buf + whole, have - whole);
          have -= whole;
        }
      }
    }
    for (int i = 0; i < 2; i++)
      if (pfd[1 + i].revents && read_acks(fs[i], acks[i], &ack_have[i], &acked[i])) ok = 0;
    if (pfd[3].revents) {
      uint64_t n;
      if (read(efd, &n, sizeof n) != sizeof n) ok = 0;
      pthread_mutex_lock(&sy.mu);
      synced = sy.synced;
      if (sy.failed) ok = 0;
      pthread_mutex_unlock(&sy.mu);
    }
    if (!ok) break;
    uint64_t all = synced;
    if (acked[0] < all) all = acked[0];
    if (acked[1] < all) all = acked[1];
    if (all > written) {
      ok = 0; /* a follower acknowledged more than it was sent */
      break;
    }
    if (all > answered) {
      answered = all;
      if (write_all(c, &answered, sizeof answered)) {
        ok = 0;
        break;
      }
    }
  }
  if (syncer_finish(&sy, th)) ok = 0;
  close(fs[0]);
  close(fs[1]);
  close(c);
  report_syncs(result_fd, ok, sy.sync_ns, sy.nsync);
  _exit(ok ? 0 : 1);
}

/* The `prewritten` variant: the file's first bytes (more than the run
 * appends) written and fdatasynced before the clock starts, the offset back
 * at 0, so the run overwrites allocated, written blocks: its fdatasyncs
 * change no file size or block map and need no journal commit, only the
 * data and the disk's cache flush (how a database recycles its WAL files). */
static void prewrite(int fd, size_t bytes) {
  static char zero[1 << 20];
  for (size_t done = 0; done < bytes; done += sizeof zero)
    if (write_all(fd, zero, sizeof zero)) die("prewrite");
  if (fdatasync(fd) || lseek(fd, 0, SEEK_SET) != 0) die("prewrite");
}

static int run_chain(const char *dir, long rate, long secs, int prewritten, const char *f1_dir,
                     const char *f2_dir) {
  size_t total = (size_t)rate * (size_t)secs;
  struct sockaddr_in la, f1a, f2a;
  int lls = listen_any(&la), f1ls = listen_any(&f1a), f2ls = listen_any(&f2a);
  int res[3][2];
  for (int i = 0; i < 3; i++)
    if (pipe(res[i])) die("pipe");
  int fds[3] = {open_file(dir, "fsync-floor-leader.dat"), open_file(f1_dir, "fsync-floor-f1.dat"),
                open_file(f2_dir, "fsync-floor-f2.dat")};
  int ls[3] = {lls, f1ls, f2ls};
  if (prewritten)
    for (int i = 0; i < 3; i++) prewrite(fds[i], (total + LEADER_BUF / RECORD_SIZE) * RECORD_SIZE);
  for (int who = 1; who <= 2; who++)
    if (fork_child() == 0) {
      for (int i = 0; i < 3; i++) {
        if (i != who) {
          close(ls[i]);
          close(fds[i]);
          close(res[i][1]);
        }
        close(res[i][0]);
      }
      follower_main(ls[who], fds[who], total + 1, res[who][1]);
    }
  if (fork_child() == 0) {
    for (int i = 0; i < 3; i++) {
      if (i != 0) {
        close(ls[i]);
        close(fds[i]);
        close(res[i][1]);
      }
      close(res[i][0]);
    }
    leader_main(lls, &f1a, &f2a, fds[0], total + 1, res[0][1]);
  }
  for (int i = 0; i < 3; i++) {
    close(ls[i]);
    close(fds[i]);
    close(res[i][1]);
  }

  int s = connect_to(&la);
  char *rec = calloc(1, RECORD_SIZE);
  int64_t *sent_at = malloc(total * sizeof *sent_at);
  int64_t *lat = malloc(total * sizeof *lat);
  if (!rec || !sent_at || !lat) die("malloc");
  for (size_t i = 8; i < RECORD_SIZE; i++) rec[i] = (char)(i * 31 + 7);
  size_t sent = 0, answered = 0, ahave = 0;
  char apart[64];
  int ok = 1;
  int64_t start = now_ns(), last_progress = start;
  while (answered < total) {
    int64_t now = now_ns();
    int64_t due = sent < total ? start + (int64_t)((double)sent * 1e9 / (double)rate) : INT64_MAX;
    if (now >= due) {
      uint64_t seq = sent;
      memcpy(rec, &seq, sizeof seq);
      sent_at[sent] = now_ns();
      if (write_all(s, rec, RECORD_SIZE)) {
        ok = 0;
        break;
      }
      sent++;
      continue;
    }
    if (now - last_progress > ANSWER_WAIT_NS) {
      fprintf(stderr, "fsync_floor chain: no answer for %lld s\n", ANSWER_WAIT_NS / 1000000000);
      ok = 0;
      break;
    }
    int64_t wait = due == INT64_MAX ? 1000000000 : due - now;
    struct timespec ts = {wait / 1000000000, wait % 1000000000};
    struct pollfd pfd = {s, POLLIN, 0};
    int n = ppoll(&pfd, 1, &ts, NULL);
    if (n < 0 && errno != EINTR) {
      ok = 0;
      break;
    }
    if (n <= 0) continue;
    ssize_t r = read(s, apart + ahave, sizeof apart - ahave);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      fprintf(stderr, "fsync_floor chain: the leader closed\n");
      ok = 0;
      break;
    }
    int64_t t = now_ns();
    ahave += (size_t)r;
    size_t whole = ahave - ahave % 8;
    if (!whole) continue;
    uint64_t a;
    memcpy(&a, apart + whole - 8, 8);
    memmove(apart, apart + whole, ahave - whole);
    ahave -= whole;
    if (a > sent || a < answered) {
      fprintf(stderr, "fsync_floor chain: answer for %llu of %zu sent\n", (unsigned long long)a,
              sent);
      ok = 0;
      break;
    }
    for (; answered < a; answered++) lat[answered] = t - sent_at[answered];
    last_progress = t;
  }
  close(s); /* the leader ends, then the followers */
  struct chain_report rep[3];
  for (int i = 0; i < 3; i++)
    if (read_all(res[i][0], &rep[i], sizeof rep[i]) || !rep[i].ok) {
      if (ok) fprintf(stderr, "fsync_floor chain: replica %d failed\n", i);
      ok = 0;
    }
  for (int i = 0; i < nchildren; i++) {
    int st;
    if (waitpid(children[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) ok = 0;
    children[i] = 0;
  }
  nchildren = 0;
  for (int i = 0; i < npaths; i++) unlink(paths[i]);
  npaths = 0;
  if (!ok) {
    fprintf(stderr, "fsync_floor chain: failed\n");
    return 1;
  }
  qsort(lat, total, sizeof *lat, cmp_i64);
  printf("chain floor%s %ld/s %ld s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
         prewritten ? " prewritten" : "", rate, secs, (double)quantile(lat, total, 0.5) / 1e6, (double)quantile(lat, total, 0.99) / 1e6,
         (double)quantile(lat, total, 0.999) / 1e6, (double)lat[total - 1] / 1e6);
  printf("  fdatasync in the chain: leader p50 %.2f p99 %.2f max %.2f ms (%zu), "
         "followers p50 %.2f/%.2f p99 %.2f/%.2f max %.2f/%.2f ms\n",
         (double)rep[0].p50 / 1e6, (double)rep[0].p99 / 1e6, (double)rep[0].max / 1e6, rep[0].nsync,
         (double)rep[1].p50 / 1e6, (double)rep[2].p50 / 1e6, (double)rep[1].p99 / 1e6,
         (double)rep[2].p99 / 1e6, (double)rep[1].max / 1e6, (double)rep[2].max / 1e6);
  free(rec);
  free(sent_at);
  free(lat);
  return 0;
}

/* The disk alone at the chain's pace: one process appends the 1 KiB
 * records due (record i at start + i / RATE) and fdatasyncs them, all that
 * are due at once when it is behind (group commit); each record's time runs
 * from when it was due (or, if the writer was idle then, from when it woke
 * for it) to the end of the fdatasync that covered it. No
 * network, no second writer: the same tail disk_bench's 4 KiB appends
 * measure, but over SECS seconds at RATE instead of 2,000 back to back
 * (a fraction of a second), so it includes the file system's periodic
 * stalls that the chain meets too. */
static int run_solo(const char *dir, long rate, long secs) {
  size_t total = (size_t)rate * (size_t)secs;
  int fd = open_file(dir, "fsync-floor-solo.dat");
  char *buf = malloc(LEADER_BUF);
  int64_t *lat = malloc(total * sizeof *lat);
  if (!buf || !lat) die("malloc");
  for (size_t i = 0; i < LEADER_BUF; i++) buf[i] = (char)(i * 31 + 7);
  size_t done = 0;
  int ok = 1;
  int64_t start = now_ns(), last_end = start;
  while (done < total && ok) {
    int64_t due = start + (int64_t)((double)done * 1e9 / (double)rate);
    if (now_ns() < due) {
      struct timespec ts = {due / 1000000000, due % 1000000000};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      continue;
    }
    /* every record due by now, up to a buffer's worth, in one write */
    int64_t now = now_ns();
    /* A record that came due while the writer slept counts from now (the
     * timer's lateness is no part of the disk's time, as the chain's client
     * stamps a record when it sends it); one that came due while the last
     * fdatasync ran counts from when it was due (it queued behind it). */
    int64_t idle_since = last_end;
    size_t n = 1;
    while (done + n < total && n < LEADER_BUF / RECORD_SIZE &&
           start + (int64_t)((double)(done + n) * 1e9 / (double)rate) <= now)
      n++;
    if (write_all(fd, buf, n * RECORD_SIZE) || fdatasync(fd)) {
      perror("solo append");
      ok = 0;
      break;
    }
    int64_t end = now_ns();
    for (size_t i = 0; i < n; i++, done++) {
      int64_t due_i = start + (int64_t)((double)done * 1e9 / (double)rate);
      lat[done] = end - (due_i >= idle_since ? now : due_i);
    }
    last_end = end;
  }
  close(fd);
  unlink(paths[0]);
  npaths = 0;
  if (!ok) return 1;
  qsort(lat, total, sizeof *lat, cmp_i64);
  printf("solo floor %ld/s %ld s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", rate,
         secs, (double)quantile(lat, total, 0.5) / 1e6, (double)quantile(lat, total, 0.99) / 1e6,
         (double)quantile(lat, total, 0.999) / 1e6, (double)lat[total - 1] / 1e6);
  free(buf);
  free(lat);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: fsync_floor pipe DIR MIB [CHUNK_KiB [WINDOW]]\n"
                  "       fsync_floor chain DIR RATE SECS [prewritten] [F1_DIR F2_DIR]\n"
                  "       fsync_floor solo DIR RATE SECS\n");
  return 2;
}

int main(int argc, char **argv) {
  install_signals();
  if (argc >= 4 && !strcmp(argv[1], "pipe")) {
    long mib = atol(argv[3]);
    long kib = argc > 4 ? atol(argv[4]) : 1024;
    long window = argc > 5 ? atol(argv[5]) : 8;
    if (mib < 1 || mib > (1L << 20) || kib < 1 || (kib << 10) > CHUNK_MAX || window < 1 ||
        window > WINDOW_MAX || ((uint64_t)mib << 20) < (uint64_t)kib << 10)
      return usage();
    return run_pipe(argv[2], mib, kib, (int)window);
  }
  if (argc >= 5 && !strcmp(argv[1], "chain")) {
    long rate = atol(argv[3]), secs = atol(argv[4]);
    int pre = argc > 5 && !strcmp(argv[5], "prewritten");
    int rest = argc - 5 - pre; /* F1_DIR F2_DIR or nothing */
    if (rate < 1 || rate > RATE_MAX || secs < 1 || secs > SECS_MAX || rate * secs > RECORDS_MAX ||
        (rest != 0 && rest != 2))
      return usage();
    return run_chain(argv[2], rate, secs, pre, rest ? argv[5 + pre] : argv[2],
                     rest ? argv[6 + pre] : argv[2]);
  }
  if (argc == 5 && !strcmp(argv[1], "solo")) {
    long rate = atol(argv[3]), secs = atol(argv[4]);
    if (rate < 1 || rate > RATE_MAX || secs < 1 || secs > SECS_MAX || rate * secs > RECORDS_MAX)
      return usage();
    return run_solo(argv[2], rate, secs);
  }
  return usage();
}
