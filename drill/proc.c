#include "proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* STRATA_BUILD when set (tests), else the folder of the running program
 * when strata-broker sits next to it (an installed or built `strata`), else
 * "build" (a test binary under build/tests/). */
const char *proc_build_dir(void) {
  static char self[4096];
  const char *b = getenv("STRATA_BUILD");
  if (b && *b) return b;
  if (!self[0]) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 32);
    char *slash = n > 0 ? memrchr(self, '/', (size_t)n) : NULL;
    if (slash) {
      strcpy(slash, "/strata-broker");
      int there = access(self, X_OK) == 0;
      *slash = 0;
      if (!there) strcpy(self, "build");
    } else {
      strcpy(self, "build");
    }
  }
  return self;
}

char *proc_tmpdir(const char *prefix) {
  char *p = malloc(256);
  if (!p) return NULL;
  snprintf(p, 256, "/tmp/%s.XXXXXX", prefix);
  if (!mkdtemp(p)) {
    free(p);
    return NULL;
  }
  return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

void proc_rm_rf(const char *path) {
  if (path && !strncmp(path, "/tmp/", 5)) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The kernel's ephemeral range (Linux's default when unreadable). */
static void ephemeral_range(int *lo, int *hi) {
  *lo = 32768, *hi = 60999;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  int a, b;
  if (f && fscanf(f, "%d %d", &a, &b) == 2 && a > 0 && b >= a && b <= 65535) *lo = a, *hi = b;
  if (f) fclose(f);
}

/* Nothing is bound to port on any address: a bind to the wildcard address
 * (without SO_REUSEADDR) conflicts with every socket on the port. */
static int port_unused(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons((uint16_t)port);
  int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

/* A port the kernel chose (bind to port 0): only when the ephemeral range
 * leaves no other port, as before. */
static int kernel_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof a;
  int ok = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
           !getsockname(fd, (struct sockaddr *)&a, &l);
  if (fd >= 0) close(fd);
  return ok ? ntohs(a.sin_port) : -1;
}

#define HANDED_MAX 256 /* ports this process remembers having handed out */

int proc_free_port(void) {
  static uint64_t rng;
  static int handed[HANDED_MAX];
  static size_t nhanded;
  if (!rng) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rng = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20;
    rng |= 1;
  }
  int lo, hi;
  ephemeral_range(&lo, &hi);
  int below = lo > PROC_PORT_MIN ? lo - PROC_PORT_MIN : 0; /* [PROC_PORT_MIN, lo) */
  int from = hi >= PROC_PORT_MIN ? hi + 1 : PROC_PORT_MIN, above = 65536 - from; /* [from, 65535] */
  if (below + above == 0) return kernel_port();
  for (int tries = 0; tries < 2000; tries++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; /* xorshift64 */
    int k = (int)(rng % (uint64_t)(below + above));
    int port = k < below ? PROC_PORT_MIN + k : from + (k - below);
    int seen = 0;
    for (size_t i = 0; i < nhanded && i < HANDED_MAX; i++) seen |= handed[i] == port;
    if (seen || !port_unused(port)) continue;
    handed[nhanded++ % HANDED_MAX] = port;
    return port;
  }
  return -1;
}

/* 1 when pid holds a socket listening on TCP port: the listening sockets'
 * inodes from /proc/net/tcp{,6}, looked for among pid's descriptors. */
static int pid_listens(pid_t pid, int port) {
  unsigned long inodes[64];
  size_t n = 0;
  const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  for (int t = 0; t < 2; t++) {
    FILE *f = fopen(tables[t], "r");
    char line[512], local[128];
    unsigned st;
    unsigned long inode;
    while (f && fgets(line, sizeof line, f)) {
      /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
      if (sscanf(line, " %*s %127s %*s %x %*s %*s %*s %*d %*d %lu", local, &st, &inode) != 3)
        continue;
      char *colon = strrchr(local, ':');
      if (colon && st == 0x0A && strtol(colon + 1, NULL, 16) == port && n < 64) inodes[n++] = inode;
    }
    if (f) fclose(f);
  }
  if (!n) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  struct dirent *e;
  int found = 0;
  while (d && !found && (e = readdir(d))) {
    char fd_path[320], link[64];
    snprintf(fd_path, sizeof fd_path, "%s/%s", path, e->d_name);
    ssize_t l = readlink(fd_path, link, sizeof link - 1);
    unsigned long inode;
    if (l <= 0) continue;
    link[l] = 0;
    if (sscanf(link, "socket:[%lu]", &inode) != 1) continue;
    for (size_t i = 0; i < n; i++) found |= inodes[i] == inode;
  }
  if (d) closedir(d);
  return found;
}

static int connects(const char *host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &a.sin_addr);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

int proc_wait_port(int port, int timeout_ms) { return proc_wait_addr("127.0.0.1", port, timeout_ms); }

int proc_wait_addr(const char *host, int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (connects(host, port)) return 0;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

int proc_wait_listen(pid_t pid, const char *host, int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return PROC_EXITED;
    if (pid_listens(pid, port) && connects(host, port)) return 0;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

long proc_file_size(const char *path) {
  struct stat st;
  return stat(path, &st) ? 0 : (long)st.st_size;
}

int proc_log_addr_in_use(const char *log, long from) {
  FILE *f = fopen(log, "r");
  if (!f) return 0;
  int found = 0;
  char line[1024];
  if (!fseek(f, from, SEEK_SET))
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, "address already in use") != NULL;
  fclose(f);
  return found;
}

/* A child inherits every descriptor of the process that forks it (a test's
 * own listening socket, say) until it execs: a broker "listening" on a port
 * only because it holds such a socket must never be taken for a started
 * one. So the child marks them close-on-exec, and the parent waits for the
 * exec (the pipe's write end closes with it) before it looks. */
static void child_drop_inherited(void) {
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = 3; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC); /* kernels before 5.11 */
}

static void wait_exec(int fd) {
  char c;
  while (read(fd, &c, 1) < 0 && errno == EINTR) {
  }
  close(fd);
}

/* proc_start_broker; *in_use set when it could not listen because the
 * port was taken. */
static pid_t start_broker(const char *dir, int port, const char *const *extra,
                          const char *preload, int *in_use) {
  char bin[512], logdir[512], listen[64], log[512];
  snprintf(bin, sizeof bin, "%s/strata-broker", proc_build_dir());
  snprintf(logdir, sizeof logdir, "log.dir=%s/data", dir);
  snprintf(listen, sizeof listen, "listeners=127.0.0.1:%d", port);
  snprintf(log, sizeof log, "%s/broker.log", dir);
  const char *argv[64] = {bin, "--set", logdir, "--set", listen};
  int n = 5;
  for (int i = 0; extra && extra[i] && n < 60; i++) {
    argv[n++] = "--set";
    argv[n++] = extra[i];
  }
  argv[n] = NULL;
  long from = proc_file_size(log);
  *in_use = 0;
  int sync[2];
  if (pipe2(sync, O_CLOEXEC)) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(sync[0]);
    close(sync[1]);
    return -1;
  }
  if (pid == 0) {
    close(sync[0]);
    child_drop_inherited();
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test that started it */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (preload) setenv("LD_PRELOAD", preload, 1);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(sync[1]);
  wait_exec(sync[0]);
  int rc = proc_wait_listen(pid, "127.0.0.1", port, 15000);
  if (rc == PROC_EXITED) {
    *in_use = proc_log_addr_in_use(log, from);
    return -1;
  }
  if (rc) {
    proc_kill(pid, SIGKILL);
    return -1;
  }
  return pid;
}

pid_t proc_start_broker(const char *dir, int port, const char *const *extra,
                        const char *preload) {
  int in_use;
  return start_broker(dir, port, extra, preload, &in_use);
}

pid_t proc_start_broker_any(const char *dir, int *port, const char *const *extra,
                            const char *preload) {
  for (int attempt = 1; attempt <= PROC_PORT_TRIES; attempt++) {
    int in_use;
    if ((*port = proc_free_port()) < 0) return -1;
    pid_t pid = start_broker(dir, *port, extra, preload, &in_use);
    if (pid > 0 || !in_use) return pid;
    fprintf(stderr, "port %d was taken before the broker could listen; trying another\n", *port);
  }
  return -1;
}

void proc_kill(pid_t pid, int sig) {
  if (pid <= 0) return;
  kill(pid, sig);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

int proc_stop(pid_t pid) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  for (int i = 0; i < 1000; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (r < 0 && errno != EINTR) return -1;
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
  }
  proc_kill(pid, SIGKILL);
  return -1;
}

pid_t proc_spawn(const char *const *argv, const char *log) {
  return proc_spawn_env(argv, log, NULL);
}

pid_t proc_spawn_env(const char *const *argv, const char *log, const char *const *env) {
  int sync[2];
  if (pipe2(sync, O_CLOEXEC)) return -1;
  pid_t pid = fork();
  if (pid != 0) {
    close(sync[1]);
    if (pid > 0) wait_exec(sync[0]);
    else close(sync[0]);
    return pid;
  }
  close(sync[0]);
  child_drop_inherited();
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test or bench that dies takes its servers along */
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  for (size_t i = 0; env && env[i]; i++) putenv((char *)env[i]); /* the child execs at once */
  execv(argv[0], (char *const *)argv);
  _exit(127);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **proc_segment_files(const char *pdir, size_t *n) {
  *n = 0;
  DIR *d = opendir(pdir);
  if (!d) return NULL;
  size_t cap = 16;
  char **v = malloc(cap * sizeof *v);
  struct dirent *e;
  while (v && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l <= 4 || strcmp(e->d_name + l - 4, ".log")) continue;
    if (*n == cap) {
      char **nv = realloc(v, (cap *= 2) * sizeof *v);
      if (!nv) break;
      v = nv;
    }
    size_t pl = strlen(pdir) + l + 2;
    if ((v[*n] = malloc(pl))) snprintf(v[(*n)++], pl, "%s/%s", pdir, e->d_name);
  }
  closedir(d);
  /* zero-padded base offsets: name order is offset order */
  if (v && *n) qsort(v, *n, sizeof *v, cmp_name);
  return v;
}

void proc_free_list(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++) free(v[i]);
  free(v);
}
