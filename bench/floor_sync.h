/* fsync_floor's group commit: a thread that fdatasyncs whatever has been
 * written (the pipe's server and the chain's leader; a follower syncs on
 * its loop). */
#ifndef STRATA_BENCH_FLOOR_SYNC_H
#define STRATA_BENCH_FLOOR_SYNC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The caller sets fd, ack_fd, wake_fd (-1 when unused) and, for the chain,
 * sync_ns and sync_cap (an array it owns) before floor_sync_start; the rest
 * starts zeroed. mu guards written, synced, stop, failed and nsync. */
struct floor_sync {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int fd;
  int stop, failed;
  uint64_t written, synced; /* units: chunks (pipe) or records (chain) */
  int ack_fd;               /* pipe: the client socket the count goes to */
  int wake_fd;              /* chain: the leader loop's eventfd */
  int64_t *sync_ns;         /* chain: each fdatasync's duration */
  size_t nsync, sync_cap;
};

/* Starts the thread; exits on failure. */
void floor_sync_start(struct floor_sync *s, pthread_t *th);

/* written units are now in the file (a count that only grows). */
void floor_sync_wrote(struct floor_sync *s, uint64_t written);

/* Ends the thread after its last sync; nonzero if an fdatasync (or the ack
 * after it) failed. */
int floor_sync_finish(struct floor_sync *s, pthread_t th);

#endif
