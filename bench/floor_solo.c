/* fsync_floor solo DIR RATE SECS
 *   The disk alone at the chain's pace (floor_solo_run says more): one
 *   writer, 1 KiB appends + fdatasync at RATE for SECS, no network. The
 *   chain's floor over this splits into hops plus three writers on one
 *   file system, and the disk's own tail over the same seconds.
 *   Prints: solo floor RATE/s SECS s: p50 A ms, p99 B ms, p99.9 C ms,
 *     max D ms */
#include "bench/floor_solo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench/floor_common.h"

/* The disk alone at the chain's pace: one process appends the 1 KiB
 * records due (record i at start + i / RATE) and fdatasyncs them, all that
 * are due at once when it is behind (group commit); each record's time runs
 * from when it was due (or, if the writer was idle then, from when it woke
 * for it) to the end of the fdatasync that covered it. No
 * network, no second writer: the same tail disk_bench's 4 KiB appends
 * measure, but over SECS seconds at RATE instead of 2,000 back to back
 * (a fraction of a second), so it includes the file system's periodic
 * stalls that the chain meets too. */
int floor_solo_run(const char *dir, long rate, long secs) {
  size_t total = (size_t)rate * (size_t)secs;
  int fd = floor_open_file(dir, "fsync-floor-solo.dat");
  char *buf = malloc(LEADER_BUF);
  int64_t *lat = malloc(total * sizeof *lat);
  if (!buf || !lat) floor_die("malloc");
  for (size_t i = 0; i < LEADER_BUF; i++) buf[i] = (char)(i * 31 + 7);
  size_t done = 0;
  int ok = 1;
  int64_t start = floor_now_ns(), last_end = start;
  while (done < total && ok) {
    int64_t due = floor_due_ns(start, done, rate);
    if (floor_now_ns() < due) {
      struct timespec ts = {due / 1000000000, due % 1000000000};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      continue;
    }
    /* every record due by now, up to a buffer's worth, in one write */
    int64_t now = floor_now_ns();
    /* A record that came due while the writer slept counts from now (the
     * timer's lateness is no part of the disk's time, as the chain's client
     * stamps a record when it sends it); one that came due while the last
     * fdatasync ran counts from when it was due (it queued behind it). */
    int64_t idle_since = last_end;
    size_t n = 1;
    while (done + n < total && n < LEADER_BUF / RECORD_SIZE &&
           floor_due_ns(start, done + n, rate) <= now)
      n++;
    if (floor_write_all(fd, buf, n * RECORD_SIZE) || fdatasync(fd)) {
      perror("solo append");
      ok = 0;
      break;
    }
    int64_t end = floor_now_ns();
    for (size_t i = 0; i < n; i++, done++) {
      int64_t due_i = floor_due_ns(start, done, rate);
      lat[done] = end - (due_i >= idle_since ? now : due_i);
    }
    last_end = end;
  }
  close(fd);
  floor_remove_files();
  if (!ok) return 1;
  floor_print_latencies("solo floor", rate, secs, lat, total);
  free(buf);
  free(lat);
  return 0;
}
