/* fsync_floor chain DIR RATE SECS [prewritten] [F1_DIR F2_DIR]
 *   The ideal RF 3 acks=all chain: four processes over loopback TCP, a
 *   client (this process), a leader and two followers. The client sends a
 *   1 KiB record RATE times a second for SECS seconds, paced on the
 *   schedule `strata bench produce --rate` uses (record i due at
 *   start + i / RATE; one late leaves at once), and times each from its
 *   write() to the answer that covers it. The leader, one poll loop,
 *   forwards each record to both followers at once, then write()s it to
 *   its own file and hands the fdatasync to a sync thread (group commit;
 *   the thread wakes the loop through an eventfd when it is done, as the
 *   broker's thread pool does); it answers the client when its own
 *   fdatasync and both followers' acknowledgements cover the record.
 *   Each follower, one poll loop, write()s the records it receives,
 *   fdatasyncs on its loop thread (as Strata's followers do for small
 *   syncs) and acknowledges the durable count. Three fdatasyncs of every
 *   record, the answer only after all three: the durable work of
 *   Strata's chain (its high watermark is the least durable offset of
 *   the in-sync replicas, the leader's included: at full ISR all three,
 *   as here; min.insync.replicas 2 only refuses writes below 2).
 *   By default the three files are in DIR, one file system, as on the
 *   bench's cluster; F1_DIR and F2_DIR put the followers' files
 *   elsewhere (a variant for a machine with more than one disk).
 *   `prewritten`: each file is written and synced up front and then
 *   overwritten (prewrite says why), an ideal program's data layout that
 *   Strata's appended segments do not have (information, not its floor).
 *   Prints: chain floor RATE/s SECS s: p50 A ms, p99 B ms, p99.9 C ms,
 *     max D ms
 *   and a second line with the fdatasync times inside the chain.
 *   Left out: the protocol (Kafka/Strata framing and parsing, the
 *   follower fetch request that carries the acknowledgement, batch
 *   headers), the CRC check of the record, offsets, the index files, the
 *   high watermark and ISR bookkeeping, metrics. A push to the followers
 *   instead of their parked fetch: the same one loop wake-up per record.
 *
 * This file: the client and the report the replicas send it at their end;
 * the leader is in floor_leader.c, the followers in floor_follower.c. */
#include "bench/floor_chain.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/floor_common.h"

#define ANSWER_WAIT_NS (10LL * 1000000000) /* no answer for this long: fail */

void floor_report_syncs(int result_fd, int ok, int64_t *v, size_t n) {
  struct chain_report r = {ok, n, 0, 0, 0};
  if (n) {
    floor_sort(v, n);
    r.p50 = floor_quantile(v, n, 0.5);
    r.p99 = floor_quantile(v, n, 0.99);
    r.max = v[n - 1];
  }
  if (floor_write_all(result_fd, &r, sizeof r)) _exit(1);
}

/* The `prewritten` variant: the file's first bytes (more than the run
 * appends) written and fdatasynced before the clock starts, the offset back
 * at 0, so the run overwrites allocated, written blocks: its fdatasyncs
 * change no file size or block map, so they write no metadata (on a
 * journaled file system: no journal commit), only the data and the disk's
 * cache flush (how a database recycles its WAL files). */
static void prewrite(int fd, size_t bytes) {
  static char zero[1 << 20];
  for (size_t done = 0; done < bytes; done += sizeof zero)
    if (floor_write_all(fd, zero, sizeof zero)) floor_die("prewrite");
  if (fdatasync(fd) || lseek(fd, 0, SEEK_SET) != 0) floor_die("prewrite");
}

/* In replica who's process (0 the leader, 1 and 2 the followers): closes
 * the other replicas' listening sockets, files and report pipes, and every
 * report pipe's read end. */
static void keep_only(int who, int ls[3], int fds[3], int res[3][2]) {
  for (int i = 0; i < 3; i++) {
    if (i != who) {
      close(ls[i]);
      close(fds[i]);
      close(res[i][1]);
    }
    close(res[i][0]);
  }
}

int floor_chain_run(const char *dir, long rate, long secs, int prewritten, const char *f1_dir,
                    const char *f2_dir) {
  size_t total = (size_t)rate * (size_t)secs;
  struct sockaddr_in la, f1a, f2a;
  int lls = floor_listen(&la), f1ls = floor_listen(&f1a), f2ls = floor_listen(&f2a);
  int res[3][2];
  for (int i = 0; i < 3; i++)
    if (pipe(res[i])) floor_die("pipe");
  int fds[3] = {floor_open_file(dir, "fsync-floor-leader.dat"),
                floor_open_file(f1_dir, "fsync-floor-f1.dat"),
                floor_open_file(f2_dir, "fsync-floor-f2.dat")};
  int ls[3] = {lls, f1ls, f2ls};
  if (prewritten)
    for (int i = 0; i < 3; i++) prewrite(fds[i], (total + LEADER_BUF / RECORD_SIZE) * RECORD_SIZE);
  for (int who = 1; who <= 2; who++)
    if (floor_fork() == 0) {
      keep_only(who, ls, fds, res);
      floor_follower_main(ls[who], fds[who], total + 1, res[who][1]);
    }
  if (floor_fork() == 0) {
    keep_only(0, ls, fds, res);
    floor_leader_main(lls, &f1a, &f2a, fds[0], total + 1, res[0][1]);
  }
  for (int i = 0; i < 3; i++) {
    close(ls[i]);
    close(fds[i]);
    close(res[i][1]);
  }

  int s = floor_connect(&la);
  char *rec = calloc(1, RECORD_SIZE);
  int64_t *sent_at = malloc(total * sizeof *sent_at);
  int64_t *lat = malloc(total * sizeof *lat);
  if (!rec || !sent_at || !lat) floor_die("malloc");
  for (size_t i = 8; i < RECORD_SIZE; i++) rec[i] = (char)(i * 31 + 7);
  size_t sent = 0, answered = 0, ahave = 0;
  char apart[FLOOR_COUNT_BUF];
  int ok = 1;
  int64_t start = floor_now_ns(), last_progress = start;
  while (answered < total) {
    int64_t now = floor_now_ns();
    int64_t due = sent < total ? floor_due_ns(start, sent, rate) : INT64_MAX;
    if (now >= due) {
      uint64_t seq = sent;
      memcpy(rec, &seq, sizeof seq);
      sent_at[sent] = floor_now_ns();
      if (floor_write_all(s, rec, RECORD_SIZE)) {
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
    uint64_t a;
    int got = floor_read_count(s, apart, &ahave, &a);
    if (got < 0) {
      fprintf(stderr, "fsync_floor chain: the leader closed\n");
      ok = 0;
      break;
    }
    if (!got) continue;
    int64_t t = floor_now_ns();
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
    if (floor_read_all(res[i][0], &rep[i], sizeof rep[i]) || !rep[i].ok) {
      if (ok) fprintf(stderr, "fsync_floor chain: replica %d failed\n", i);
      ok = 0;
    }
  if (floor_reap()) ok = 0;
  floor_remove_files();
  if (!ok) {
    fprintf(stderr, "fsync_floor chain: failed\n");
    return 1;
  }
  floor_print_latencies(prewritten ? "chain floor prewritten" : "chain floor", rate, secs, lat,
                        total);
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
