/* fsync_floor pipe DIR MIB [CHUNK_KiB=1024 [WINDOW=8]]
 *   The ideal socket -> file pipe, as one broker under acks=1 and
 *   log.flush.policy=always: a child process (the client) sends MIB MiB
 *   over loopback TCP in CHUNK_KiB writes of pre-built bytes (each chunk
 *   ends with the CRC32C of the rest, computed once before the clock
 *   starts) and keeps at most WINDOW chunks unacknowledged. The server
 *   receives each chunk into one buffer, checks its CRC32C (the broker
 *   must), write()s it to DIR/fsync-floor-pipe.dat, and a second thread
 *   fdatasyncs whatever has been written whenever it is idle (group
 *   commit, as flush `always`) and then sends the client the count of
 *   durable chunks (8 bytes). The client's clock runs from its first
 *   write to the acknowledgement of the last chunk.
 *   Prints: pipe floor N MiB: X MB/s, client U s CPU, server V s CPU
 *   Left out against the broker: the protocol (framing, parsing, the
 *   producer's batch building and its CRC, which the client here never
 *   computes), the index files, offsets and the event loop's wake-ups
 *   (the sync thread answers the client itself). The window (8 MiB) is
 *   larger than the Strata producer's (5 requests of up to 256 KiB):
 *   the best program would keep the disk busy, so the floor does.
 *   On this machine's kernel (6.18, ext4) CHUNK_KiB 2048 (and at times
 *   4096) makes each write() crawl through copy_folio_from_iter_atomic
 *   (100-200 MB/s, 5-9 s of CPU per GiB; 2047 does not): keep 1024. */
#include "bench/floor_pipe.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/floor_common.h"
#include "bench/group_commit.h"
#include "common/crc32c.h"

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
  int s = floor_connect(addr);
  double cpu0 = floor_cpu_s();
  int64_t t0 = floor_now_ns();
  long sent = 0;
  uint64_t acked = 0;
  while ((long)acked < nchunks) {
    if (sent < nchunks && sent - (long)acked < window) {
      if (floor_write_all(s, buf, chunk)) _exit(1);
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
      if (floor_read_all(s, (char *)&a + r, sizeof a - (size_t)r)) _exit(1);
      acked = a;
    } else if (block || r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      _exit(1);
    }
  }
  res.secs = (double)(floor_now_ns() - t0) / 1e9;
  res.cpu = floor_cpu_s() - cpu0;
  res.ok = 1;
  close(s);
  if (floor_write_all(result_fd, &res, sizeof res)) _exit(1);
  _exit(0);
}

int floor_pipe_run(const char *dir, long mib, long chunk_kib, int window) {
  size_t chunk = (size_t)chunk_kib << 10;
  long nchunks = (long)(((uint64_t)mib << 20) / chunk);
  struct sockaddr_in addr;
  int ls = floor_listen(&addr);
  int res_pipe[2];
  if (pipe(res_pipe)) floor_die("pipe");
  int fd = floor_open_file(dir, "fsync-floor-pipe.dat");
  if (floor_fork() == 0) {
    close(ls);
    close(res_pipe[0]);
    pipe_client(&addr, nchunks, chunk, window, res_pipe[1]);
  }
  close(res_pipe[1]);
  int s = floor_accept(ls);
  char *buf = malloc(chunk);
  if (!buf) floor_die("malloc");
  struct group_commit sy = {.fd = fd, .ack_fd = s, .wake_fd = -1};
  pthread_t th;
  double cpu0 = floor_cpu_s();
  group_commit_start(&sy, &th);
  int bad = 0;
  for (long i = 0; i < nchunks && !bad; i++) {
    if (floor_read_all(s, buf, chunk)) {
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
    if (floor_write_all(fd, buf, chunk)) {
      perror("write");
      bad = 1;
      break;
    }
    group_commit_wrote(&sy, (uint64_t)i + 1);
  }
  if (group_commit_finish(&sy, th)) {
    fprintf(stderr, "fsync_floor pipe: fdatasync or acknowledgement failed\n");
    bad = 1;
  }
  double server_cpu = floor_cpu_s() - cpu0;
  struct pipe_result res = {0, 0, 0};
  if (!bad && floor_read_all(res_pipe[0], &res, sizeof res)) res.ok = 0;
  close(s);
  floor_cleanup(bad ? SIGKILL : 0); /* 0: reap the client, which ends itself */
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
