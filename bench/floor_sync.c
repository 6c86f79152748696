/* fsync_floor's group commit thread: floor_sync.h says what it is for. */
#include "bench/floor_sync.h"

#include <unistd.h>

#include "bench/floor_common.h"

/* Whenever something is written and not yet synced: one fdatasync covering
 * all of it, then tell whoever waits (the client's socket in the pipe, the
 * leader's loop in the chain). Writes that land during a sync are covered
 * by the next one. */
static void *sync_main(void *arg) {
  struct floor_sync *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (s->written == s->synced && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
    if (s->written == s->synced) break;
    uint64_t want = s->written;
    pthread_mutex_unlock(&s->mu);
    int64_t t0 = floor_now_ns();
    int rc = fdatasync(s->fd);
    int64_t took = floor_now_ns() - t0;
    if (!rc && s->ack_fd >= 0 && floor_write_all(s->ack_fd, &want, sizeof want)) rc = -1;
    pthread_mutex_lock(&s->mu);
    if (rc) {
      s->failed = 1;
      s->stop = 1;
    }
    if (s->sync_ns && s->nsync < s->sync_cap) s->sync_ns[s->nsync++] = took;
    s->synced = want;
    if (s->wake_fd >= 0) {
      uint64_t one = 1;
      if (write(s->wake_fd, &one, sizeof one) != sizeof one) s->failed = 1;
    }
    if (rc) break;
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

void floor_sync_start(struct floor_sync *s, pthread_t *th) {
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  if (pthread_create(th, NULL, sync_main, s)) floor_die("pthread_create");
}

void floor_sync_wrote(struct floor_sync *s, uint64_t written) {
  pthread_mutex_lock(&s->mu);
  s->written = written;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

int floor_sync_finish(struct floor_sync *s, pthread_t th) {
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(th, NULL);
  return s->failed;
}
