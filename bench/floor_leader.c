/* The chain floor's leader (floor_chain.c says what the chain models): one
 * poll loop that forwards each record to both followers, writes it and
 * hands its fdatasync to a sync thread, and answers the client when all
 * three copies are durable. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench/floor_chain.h"
#include "bench/floor_common.h"
#include "bench/group_commit.h"

/* The newest acknowledgement of one follower into *acked; -1 when its
 * stream ends or fails, or the count goes back. */
static int read_acks(int s, char *part, size_t *have, uint64_t *acked) {
  uint64_t a;
  int r = floor_read_count(s, part, have, &a);
  if (r < 0 || (r > 0 && a < *acked)) return -1;
  if (r > 0) *acked = a;
  return 0;
}

/* The leader: one poll loop over the client, both followers and the sync
 * thread's eventfd. A read of whole records from the client goes to both
 * followers, then to the file, then to the sync thread; the client gets
 * the count of records covered by the leader's fdatasync and both
 * followers' acknowledgements whenever it grows. */
void floor_leader_main(int ls, const struct sockaddr_in *f1, const struct sockaddr_in *f2, int fd,
                       size_t cap, int result_fd) {
  int fs[2] = {floor_connect(f1), floor_connect(f2)};
  int c = floor_accept(ls);
  int efd = eventfd(0, 0);
  char *buf = malloc(LEADER_BUF);
  struct group_commit sy = {.fd = fd, .ack_fd = -1, .wake_fd = efd};
  sy.sync_ns = malloc(cap * sizeof *sy.sync_ns);
  sy.sync_cap = cap;
  if (efd < 0 || !buf || !sy.sync_ns) _exit(1);
  pthread_t th;
  group_commit_start(&sy, &th);
  char acks[2][FLOOR_COUNT_BUF];
  size_t ack_have[2] = {0, 0};
  uint64_t acked[2] = {0, 0}, written = 0, synced = 0, answered = 0;
  size_t have = 0;
  int ok = 1, client_open = 1;
  while (client_open || answered < written) {
    struct pollfd pfd[4] = {{client_open ? c : -1, POLLIN, 0},
                            {fs[0], POLLIN, 0},
                            {fs[1], POLLIN, 0},
                            {efd, POLLIN, 0}};
    if (poll(pfd, 4, -1) < 0) {
      if (errno == EINTR) continue;
      ok = 0;
      break;
    }
    if (pfd[0].revents) {
      ssize_t r = read(c, buf + have, LEADER_BUF - have);
      if (r == 0) {
        client_open = 0;
      } else if (r < 0 && errno != EINTR) {
        ok = 0;
        break;
      } else if (r > 0) {
        have += (size_t)r;
        size_t whole = have - have % RECORD_SIZE;
        if (whole) {
          /* forward first: the followers' part of the chain is the longer */
          if (floor_write_all(fs[0], buf, whole) || floor_write_all(fs[1], buf, whole) ||
              floor_write_all(fd, buf, whole)) {
            ok = 0;
            break;
          }
          written += whole / RECORD_SIZE;
          group_commit_wrote(&sy, written);
          memmove(buf, buf + whole, have - whole);
          have -= whole;
        }
      }
    }
    for (int i = 0; i < 2; i++)
      if (pfd[1 + i].revents && read_acks(fs[i], acks[i], &ack_have[i], &acked[i])) ok = 0;
    if (pfd[3].revents) {
      uint64_t n;
      if (read(efd, &n, sizeof n) != sizeof n) ok = 0;
      pthread_mutex_lock(&sy.mu);
      synced = sy.synced;
      if (sy.failed) ok = 0;
      pthread_mutex_unlock(&sy.mu);
    }
    if (!ok) break;
    uint64_t all = synced;
    if (acked[0] < all) all = acked[0];
    if (acked[1] < all) all = acked[1];
    if (all > written) {
      ok = 0; /* a follower acknowledged more than it was sent */
      break;
    }
    if (all > answered) {
      answered = all;
      if (floor_write_all(c, &answered, sizeof answered)) {
        ok = 0;
        break;
      }
    }
  }
  if (group_commit_finish(&sy, th)) ok = 0;
  close(fs[0]);
  close(fs[1]);
  close(c);
  floor_report_syncs(result_fd, ok, sy.sync_ns, sy.nsync);
  _exit(ok ? 0 : 1);
}
