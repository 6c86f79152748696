/* The benches' group commit thread: group_commit.h says what it is for. */
#include "bench/group_commit.h"

#include <unistd.h>

#include "bench/floor_common.h"

/* Whenever something is written and not yet synced: one fdatasync covering
 * all of it, then tell whoever waits (the client's socket in the pipe, the
 * leader's loop in the chain, the writer in disk_bench). Writes that land
 * during a sync are covered by the next one. */
static void *commit_main(void *arg) {
  struct group_commit *g = arg;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    while (g->written == g->synced && !g->stop) pthread_cond_wait(&g->cv, &g->mu);
    if (g->written == g->synced) break;
    uint64_t want = g->written;
    pthread_mutex_unlock(&g->mu);
    int64_t t0 = floor_now_ns();
    int rc = fdatasync(g->fd);
    int64_t took = floor_now_ns() - t0;
    if (!rc && g->ack_fd >= 0 && floor_write_all(g->ack_fd, &want, sizeof want)) rc = -1;
    pthread_mutex_lock(&g->mu);
    if (rc) {
      g->failed = 1;
      g->stop = 1;
    }
    if (g->sync_ns && g->nsync < g->sync_cap) g->sync_ns[g->nsync++] = took;
    g->synced = want;
    g->syncs++;
    pthread_cond_broadcast(&g->done_cv);
    if (g->wake_fd >= 0) {
      uint64_t one = 1;
      if (write(g->wake_fd, &one, sizeof one) != sizeof one) g->failed = 1;
    }
    if (rc) break;
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

void group_commit_start(struct group_commit *g, pthread_t *th) {
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  pthread_cond_init(&g->done_cv, NULL);
  if (pthread_create(th, NULL, commit_main, g)) floor_die("pthread_create");
}

void group_commit_wrote(struct group_commit *g, uint64_t written) {
  pthread_mutex_lock(&g->mu);
  g->written = written;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

int group_commit_wait(struct group_commit *g, uint64_t synced) {
  pthread_mutex_lock(&g->mu);
  while (g->synced < synced && !g->failed) pthread_cond_wait(&g->done_cv, &g->mu);
  int failed = g->failed;
  pthread_mutex_unlock(&g->mu);
  return failed;
}

int group_commit_finish(struct group_commit *g, pthread_t th) {
  pthread_mutex_lock(&g->mu);
  g->stop = 1;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
  pthread_join(th, NULL);
  return g->failed;
}
