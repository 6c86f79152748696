/* LD_PRELOAD shim for the slow-disk drills: while the file named by
 * $STRATA_SLOW_DISK exists, every fsync and fdatasync first sleeps the number
 * of milliseconds the file holds, then does the real call. The drill creates
 * the file to slow the broker's disk and removes it to restore; each delayed
 * sync appends one byte to "$STRATA_SLOW_DISK.hits", so the drill can show
 * the fault really hit.
 *
 * Only the syncs wait. The broker's writes land in the page cache and return
 * at memory speed on a slow device too; what a slow device makes it wait for
 * is the syncs: the group commit that acks=all under log.flush.policy=always
 * waits on, and the synchronous ones of a segment roll. (Slowing every write
 * would model a device whose dirty pages are throttled, a different fault.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SLOW_DISK_MAX_MS 60000 /* a typo in the control file cannot hang a drill */

/* The delay now: the control file's number, 0 when it is missing or holds
 * none. Read at every sync so the drill can change it while the broker runs. */
static long delay_ms(void) {
  const char *ctl = getenv("STRATA_SLOW_DISK");
  if (!ctl || !*ctl) return 0;
  int fd = open(ctl, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  long ms = strtol(buf, NULL, 10);
  if (ms < 0) return 0;
  return ms > SLOW_DISK_MAX_MS ? SLOW_DISK_MAX_MS : ms;
}

static void note_hit(void) {
  char hits[1024];
  int len = snprintf(hits, sizeof hits, "%s.hits", getenv("STRATA_SLOW_DISK"));
  if (len <= 0 || (size_t)len >= sizeof hits) return;
  int fd = open(hits, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, ".", 1) < 0) {
  }
  close(fd);
}

/* Sleep the whole delay even when signals interrupt it (the broker's own
 * threads get none, but a drill may stop it mid-sleep). errno is kept: the
 * caller sees only what the real sync sets. */
static void slow_down(void) {
  long ms = delay_ms();
  if (!ms) return;
  int saved = errno;
  note_hit();
  struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&left, &left) && errno == EINTR) {
  }
  errno = saved;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  slow_down();
  return real(fd);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  slow_down();
  return real(fd);
}
