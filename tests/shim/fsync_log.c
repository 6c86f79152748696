/* LD_PRELOAD shim for the durability test: after every successful
 * fdatasync/fsync, append "<monotonic ns> <file size> <path>" to
 * $STRATA_FSYNC_LOG. The test then proves each acknowledged record was inside
 * a file range that had been fsynced before the acknowledgement arrived. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* size: the file size before the sync began, so only bytes the sync
 * certainly covered are claimed. */
static void note(int fd, long long size) {
  const char *log = getenv("STRATA_FSYNC_LOG");
  if (!log || size < 0) return;
  char link[64], path[1024];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return;
  path[n] = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[1200];
  int len = snprintf(line, sizeof line, "%lld %lld %s\n",
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, size, path);
  int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return;
  if (write(out, line, (size_t)len) < 0) {
  }
  close(out);
}

static long long size_of(int fd) {
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) return -1;
  return (long long)st.st_size;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  long long size = size_of(fd);
  int r = real(fd);
  if (r == 0) note(fd, size);
  return r;
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  long long size = size_of(fd);
  int r = real(fd);
  if (r == 0) note(fd, size);
  return r;
}
