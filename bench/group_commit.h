/* The benches' group commit: a thread that fdatasyncs whatever has been
 * written, all of it in one fdatasync, as a flush-always broker does (the
 * pipe floor's server and the chain floor's leader in fsync_floor, the
 * grouped write in disk_bench). */
#ifndef STRATA_BENCH_GROUP_COMMIT_H
#define STRATA_BENCH_GROUP_COMMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The caller sets fd, ack_fd, wake_fd (-1 when unused) and, for the chain,
 * sync_ns and sync_cap (an array it owns) before group_commit_start; the
 * rest starts zeroed. mu guards written, synced, stop, failed, syncs and
 * nsync. */
struct group_commit {
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* the thread waits here for something to sync */
  pthread_cond_t done_cv; /* broadcast after each fdatasync */
  int fd;
  int stop, failed;
  uint64_t written, synced; /* units: chunks (pipe), records (chain) or bytes */
  uint64_t syncs;           /* fdatasyncs so far */
  int ack_fd;               /* pipe: the client socket the count goes to */
  int wake_fd;              /* chain: the leader loop's eventfd */
  int64_t *sync_ns;         /* chain: each fdatasync's duration */
  size_t nsync, sync_cap;
};

/* Starts the thread; exits on failure. */
void group_commit_start(struct group_commit *g, pthread_t *th);

/* written units are now in the file (a count that only grows). */
void group_commit_wrote(struct group_commit *g, uint64_t written);

/* Waits until at least `synced` units are durable; nonzero if an
 * fdatasync failed first. */
int group_commit_wait(struct group_commit *g, uint64_t synced);

/* Ends the thread after its last sync; nonzero if an fdatasync (or the ack
 * after it) failed. */
int group_commit_finish(struct group_commit *g, pthread_t th);

#endif
