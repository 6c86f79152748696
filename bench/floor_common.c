/* fsync_floor's shared helpers: floor_common.h says what they are for. */
#include "bench/floor_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- what the signal handler must clean up ------------------------------ */
static pid_t children[3];
static int nchildren;
static char paths[3][4096];
static int npaths;

void floor_cleanup(int sig) {
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
  floor_cleanup(SIGKILL);
  _exit(130);
}

void floor_install_signals(void) {
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
pid_t floor_fork(void) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    floor_cleanup(SIGKILL);
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

int floor_reap(void) {
  int rc = 0;
  for (int i = 0; i < nchildren; i++) {
    int st;
    if (waitpid(children[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) rc = -1;
    children[i] = 0;
  }
  nchildren = 0;
  return rc;
}

void floor_remove_files(void) {
  for (int i = 0; i < npaths; i++) unlink(paths[i]);
  npaths = 0;
}

int floor_open_file(const char *dir, const char *name) {
  if (npaths == 3) abort();
  snprintf(paths[npaths], sizeof paths[npaths], "%s/%s", dir, name);
  int fd = open(paths[npaths], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) floor_die(paths[npaths]);
  npaths++;
  return fd;
}

void floor_die(const char *what) {
  perror(what);
  exit(1);
}

/* ---- clocks ----------------------------------------------------------------- */
int64_t floor_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double floor_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int64_t floor_due_ns(int64_t start, size_t i, long rate) {
  return start + (int64_t)((double)i * 1e9 / (double)rate);
}

/* ---- sockets ------------------------------------------------------------------ */

/* A listening socket on 127.0.0.1 at a port the kernel picks. */
int floor_listen(struct sockaddr_in *addr) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) floor_die("socket");
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *addr;
  if (bind(s, (struct sockaddr *)addr, sizeof *addr) || listen(s, 4) ||
      getsockname(s, (struct sockaddr *)addr, &len))
    floor_die("listen");
  return s;
}

static void nodelay(int s) {
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int floor_connect(const struct sockaddr_in *addr) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || connect(s, (const struct sockaddr *)addr, sizeof *addr)) floor_die("connect");
  nodelay(s);
  return s;
}

int floor_accept(int ls) {
  int s = accept(ls, NULL, NULL);
  if (s < 0) floor_die("accept");
  nodelay(s);
  close(ls);
  return s;
}

/* write() or read() all len bytes, through partial transfers and signals;
 * 0, or -1 on an error or the end of the stream. One loop for both ways
 * (writing never modifies buf: the cast only shares the loop). */
static int transfer_all(int fd, char *p, size_t len, int writing) {
  while (len) {
    ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int floor_write_all(int fd, const void *buf, size_t len) {
  return transfer_all(fd, (char *)buf, len, 1);
}

int floor_read_all(int fd, void *buf, size_t len) {
  return transfer_all(fd, buf, len, 0);
}

/* One read of a peer's acknowledgements, possibly several counts or part
 * of one: only the newest whole count matters (each covers the ones
 * before). 1 with it in *count; 0 when no count is whole yet or a signal
 * interrupted the read; -1 at the end of the stream or on an error. */
int floor_read_count(int s, char *part, size_t *have, uint64_t *count) {
  ssize_t r = read(s, part + *have, FLOOR_COUNT_BUF - *have);
  if (r < 0 && errno == EINTR) return 0;
  if (r <= 0) return -1;
  *have += (size_t)r;
  size_t whole = *have - *have % 8;
  if (!whole) return 0;
  memcpy(count, part + whole - 8, 8);
  memmove(part, part + whole, *have - whole);
  *have -= whole;
  return 1;
}

/* ---- latencies ------------------------------------------------------------- */
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

void floor_sort(int64_t *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_i64);
}

/* The q-quantile of n sorted values (the value at rank ceil(q * n)). */
int64_t floor_quantile(const int64_t *v, size_t n, double q) {
  size_t k = (size_t)(q * (double)n + 0.999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

/* The chain's and solo's result line, in one format so that
 * scripts/bench-fsync.sh reads both with one parser. */
void floor_print_latencies(const char *what, long rate, long secs, int64_t *lat, size_t n) {
  floor_sort(lat, n);
  printf("%s %ld/s %ld s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", what, rate,
         secs, (double)floor_quantile(lat, n, 0.5) / 1e6,
         (double)floor_quantile(lat, n, 0.99) / 1e6, (double)floor_quantile(lat, n, 0.999) / 1e6,
         (double)lat[n - 1] / 1e6);
}
