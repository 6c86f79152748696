/* The chain floor's follower (floor_chain.c says what the chain models):
 * one poll loop that writes, fdatasyncs and acknowledges what the leader
 * pushes, as Strata's followers sync small writes on their loop. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/floor_chain.h"
#include "bench/floor_common.h"

/* A follower: one loop reading records from the leader; each read's whole
 * records are written, fdatasynced on the loop thread and acknowledged
 * with the durable count. Ends when the leader closes. */
void floor_follower_main(int ls, int fd, size_t cap, int result_fd) {
  int s = floor_accept(ls);
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
    int64_t t0 = floor_now_ns();
    if (floor_write_all(fd, buf, whole) || fdatasync(fd)) {
      ok = 0;
      break;
    }
    if (nsync < cap) sync_ns[nsync++] = floor_now_ns() - t0;
    durable += whole / RECORD_SIZE;
    if (floor_write_all(s, &durable, sizeof durable)) {
      ok = 0;
      break;
    }
    memmove(buf, buf + whole, have - whole);
    have -= whole;
  }
  floor_report_syncs(result_fd, ok, sync_ns, nsync);
  _exit(ok ? 0 : 1);
}
