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

int proc_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
      getsockname(fd, (struct sockaddr *)&a, &l)) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

int proc_wait_port(int port, int timeout_ms) { return proc_wait_addr("127.0.0.1", port, timeout_ms); }

int proc_wait_addr(const char *host, int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok) return 0;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

pid_t proc_start_broker(const char *dir, int port, const char *const *extra,
                        const char *preload) {
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
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
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
  if (proc_wait_port(port, 15000)) {
    proc_kill(pid, SIGKILL);
    return -1;
  }
  return pid;
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
  pid_t pid = fork();
  if (pid != 0) return pid;
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
