/* The disk's own limits, measured in the same `make bench` run as the
 * broker so their ratio means something on a shared, noisy machine: the
 * measurement of ../shared/peers/disk_bench.c (physical-limits.sh), with
 * the same output lines.
 *   disk_bench DIR [seq_MiB=1024] [appends=2000]
 * 1) writes seq_MiB MiB in 1 MiB blocks to DIR/seq.dat, then one fdatasync:
 *    MB/s without and with that fdatasync counted (the second is the disk's
 *    sequential write-with-fdatasync rate the single broker is held to);
 * 2) appends 4 KiB to DIR/wal.dat with an fdatasync after each one: p50,
 *    p90, p99 and max of (write + fdatasync), appends/s; stops after 20 s.
 * 3) "grouped write": seq_MiB MiB again, in 256 KiB writes, with an
 *    fdatasync of each 8 MiB started on a second thread (group_commit.c,
 *    fsync_floor's too) while the next 8 MiB are written, and no more
 *    than that ahead of the last finished one (the last one waited for):
 *    the disk under the write pattern of a
 *    group commit whose writers wait for their fsync (a broker under
 *    log.flush.policy=always answers a producer only after the sync, and
 *    the producer has a few requests in flight: it never has a whole GiB
 *    written before the first fsync). Information beside 1), not a target:
 *    bench-fsync.sh prints the broker's ratio to both.
 * Its files are removed at the end. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/group_commit.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [seq_MiB] [appends]\n", argv[0]);
    return 2;
  }
  long mib = argc > 2 ? atol(argv[2]) : 1024;
  long napp = argc > 3 ? atol(argv[3]) : 2000;
  if (mib < 1 || napp < 1) return 2;
  char path[4096];
  size_t bs = 1 << 20;
  char *buf = aligned_alloc(4096, bs);
  double *lat = malloc(sizeof(double) * (size_t)napp);
  if (!buf || !lat) return 1;
  for (size_t i = 0; i < bs; i++) buf[i] = (char)(i * 31 + 7);

  snprintf(path, sizeof path, "%s/seq.dat", argv[1]);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  double t0 = now();
  for (long i = 0; i < mib; i++)
    if (write(fd, buf, bs) != (ssize_t)bs) {
      perror("write");
      return 1;
    }
  double t1 = now();
  if (fdatasync(fd)) {
    perror("fdatasync");
    return 1;
  }
  double t2 = now();
  close(fd);
  unlink(path);
  printf("seq write %ld MiB: %.0f MB/s buffered, %.0f MB/s incl. final fdatasync (%.2f s)\n",
         mib, (double)mib * (double)bs / (t1 - t0) / 1e6,
         (double)mib * (double)bs / (t2 - t0) / 1e6, t2 - t0);

  snprintf(path, sizeof path, "%s/wal.dat", argv[1]);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  long n = 0;
  double start = now();
  for (; n < napp; n++) {
    double a = now();
    if (write(fd, buf, 4096) != 4096 || fdatasync(fd)) {
      perror("append");
      return 1;
    }
    double b = now();
    lat[n] = (b - a) * 1e6;
    if (b - start > 20.0) {
      n++;
      break;
    }
  }
  double el = now() - start;
  close(fd);
  unlink(path);
  qsort(lat, (size_t)n, sizeof(double), cmpd);
  printf("4KiB append+fdatasync x%ld: p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us, "
         "%.0f appends/s\n",
         n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1], (double)n / el);
  free(lat);

  snprintf(path, sizeof path, "%s/grouped.dat", argv[1]);
  struct group_commit g = {.ack_fd = -1, .wake_fd = -1};
  g.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (g.fd < 0) {
    perror(path);
    return 1;
  }
  pthread_t th;
  group_commit_start(&g, &th);
  size_t ws = 256 << 10, group = 8 << 20;
  long total = mib << 20, pos = 0;
  t0 = now();
  while (pos < total) {
    /* no more than one group ahead of the last finished fdatasync */
    if (pos >= 2 * (long)group && group_commit_wait(&g, (uint64_t)(pos - 2 * (long)group + 1)))
      break;
    if (pwrite(g.fd, buf, ws, pos) != (ssize_t)ws) {
      perror("write");
      return 1;
    }
    pos += (long)ws;
    if (pos % (long)group == 0 || pos >= total) group_commit_wrote(&g, (uint64_t)pos);
  }
  int failed = group_commit_finish(&g, th);
  t1 = now();
  close(g.fd);
  unlink(path);
  if (failed) {
    fprintf(stderr, "grouped write: fdatasync failed\n");
    return 1;
  }
  printf("grouped write %ld MiB, 256 KiB writes, an fdatasync per 8 MiB, one ahead: %.0f MB/s "
         "(%llu fdatasyncs, %.2f s)\n",
         mib, (double)total / (t1 - t0) / 1e6, (unsigned long long)g.syncs, t1 - t0);
  free(buf);
  return 0;
}
