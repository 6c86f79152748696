/* An idempotent producer keeps at most 5 batches of a partition unanswered:
 * a leader remembers each producer's last 5 batches, and a resent batch
 * older than that would be refused as out of order for ever (the
 * kill-leader drill caught it: the producer pipelined more than 5 batches
 * of one partition, the leader died after replicating them, and the oldest
 * resend was no longer recognised). A proxy between the producer and a
 * real broker swallows the broker's answers; the broker's log then shows
 * how many batches the producer sent without one.
 *
 * While that window is full, records that keep coming must join one open
 * batch, not a queue of tiny sealed ones (the slow-disk drill: with
 * acknowledgements 300 ms apart, each round trip carried 1-7 records and the
 * backlog grew for as long as the disk was slow). The proxy then holds the
 * answers back for a while instead of dropping them. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/batch.h"
#include "drill/proc.h"

static pid_t broker = -1;
static char *dir;
static int bport, pport;
static int listen_fd = -1;
static pthread_t proxy_thread;
static atomic_int proxy_stop, swallow_answers, hold_answers;

/* The proxy's listener on a port the kernel picks; *port gets it. */
static int listen_any(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 8) ||
      getsockname(fd, (struct sockaddr *)&a, &len)) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Forwards every connection to the broker; the broker's bytes go back
 * unless swallow_answers is set (or later, while hold_answers is). */
static void *proxy(void *arg) {
  (void)arg;
  enum { PAIRS = 8 };
  int cli[PAIRS], srv[PAIRS];
  size_t n = 0;
  char buf[65536];
  while (!proxy_stop) {
    struct pollfd fds[1 + 2 * PAIRS];
    fds[0] = (struct pollfd){listen_fd, POLLIN, 0};
    for (size_t i = 0; i < n; i++) {
      fds[1 + 2 * i] = (struct pollfd){cli[i], POLLIN, 0};
      /* held answers wait in the socket until hold_answers is cleared */
      fds[2 + 2 * i] = (struct pollfd){srv[i], hold_answers ? 0 : POLLIN, 0};
    }
    if (poll(fds, 1 + 2 * n, 50) <= 0) continue;
    if ((fds[0].revents & POLLIN) && n < PAIRS) {
      int c = accept(listen_fd, NULL, NULL), s = c >= 0 ? connect_to(bport) : -1;
      if (s >= 0) cli[n] = c, srv[n++] = s;
      else if (c >= 0) close(c);
    }
    for (size_t i = 0; i < n; i++) {
      if (fds[1 + 2 * i].revents) {
        ssize_t k = read(cli[i], buf, sizeof buf);
        if (k > 0 && write(srv[i], buf, (size_t)k) != k) k = -1;
        if (k <= 0) close(cli[i]), close(srv[i]), cli[i] = srv[i] = -1;
      }
      if (srv[i] >= 0 && fds[2 + 2 * i].revents) {
        ssize_t k = read(srv[i], buf, sizeof buf);
        if (k > 0 && !swallow_answers && write(cli[i], buf, (size_t)k) != k) k = -1;
        if (k <= 0) close(cli[i]), close(srv[i]), cli[i] = srv[i] = -1;
      }
    }
    size_t m = 0; /* drop closed pairs */
    for (size_t i = 0; i < n; i++)
      if (cli[i] >= 0) cli[m] = cli[i], srv[m++] = srv[i];
    n = m;
  }
  for (size_t i = 0; i < n; i++) close(cli[i]), close(srv[i]);
  return NULL;
}

static void setup(void) {
  dir = proc_tmpdir("strata-window");
  cr_assert(dir);
  listen_fd = listen_any(&pport);
  cr_assert_geq(listen_fd, 0, "proxy port");
  char adv[64];
  snprintf(adv, sizeof adv, "advertised.listeners=127.0.0.1:%d", pport);
  const char *const sets[] = {adv, NULL};
  broker = proc_start_broker_any(dir, &bport, sets, NULL);
  cr_assert_gt(broker, 0, "broker did not start (see %s/broker.log)", dir);
  cr_assert_eq(pthread_create(&proxy_thread, NULL, proxy, NULL), 0);
}

static void teardown(void) {
  proxy_stop = 1;
  pthread_join(proxy_thread, NULL);
  if (listen_fd >= 0) close(listen_fd);
  if (broker > 0) proc_kill(broker, SIGKILL);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(producer_window, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t delivered;
static void on_delivery(const strata_delivery *d, void *arg) {
  (void)arg;
  if (!d->error) delivered++;
}

/* Batches in the broker's log of partition w-0. */
static size_t batches_in_log(void) {
  char pdir[512];
  snprintf(pdir, sizeof pdir, "%s/data/w-0", dir);
  size_t nf, count = 0;
  char **files = proc_segment_files(pdir, &nf);
  for (size_t i = 0; files && i < nf; i++) {
    FILE *f = fopen(files[i], "rb");
    uint8_t head[BATCH_HEADER_SIZE];
    long pos = 0;
    while (f && !fseek(f, pos, SEEK_SET) && fread(head, 1, sizeof head, f) == sizeof head) {
      struct batch_header h;
      if (batch_header_decode(head, sizeof head, &h)) break;
      count++;
      pos += (long)batch_total_size(&h);
    }
    if (f) fclose(f);
  }
  proc_free_list(files, nf);
  return count;
}

/* Topic w (1 partition) through the proxy and an idempotent acks=all
 * producer with no linger that has had one batch of value answered: it has
 * its id and the leader's address. */
static strata_producer *answered_producer(int batch_size, const char *value, size_t len) {
  char bootstrap[64], err[256];
  snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", pport);
  strata_client *c = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(c, "%s", err);
  cr_assert_eq(strata_topic_create(c, "w", 1, 1, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
  strata_client_free(c);

  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg); /* idempotent, acks=all */
  cfg.linger_ms = 0;
  if (batch_size) cfg.batch_size = batch_size;
  cfg.request_timeout_ms = 3000; /* bounds the flush in strata_producer_free */
  strata_producer *p = strata_producer_new(bootstrap, &cfg, on_delivery, NULL, err, sizeof err);
  cr_assert(p, "%s", err);
  cr_assert_eq(strata_produce(p, "w", 0, NULL, 0, value, len, 0, NULL, 0, NULL), 0);
  cr_assert_eq(strata_producer_flush(p, 10000), 0);
  cr_assert_eq(delivered, 1);
  return p;
}

Test(producer_window, at_most_five_batches_of_a_partition_unanswered) {
  char value[900];
  memset(value, 'v', sizeof value);
  strata_producer *p = answered_producer(1024, value, sizeof value);

  swallow_answers = 1;
  /* Queued together, so one request could carry them all. */
  for (int i = 0; i < 40; i++)
    cr_assert_eq(strata_produce(p, "w", 0, NULL, 0, value, sizeof value, 0, NULL, 0, NULL), 0);
  for (int i = 0; i < 20; i++) strata_producer_poll(p, 20);
  size_t sent = batches_in_log() - 1;
  cr_expect_eq(sent, 5, "%zu batches of one partition went out unanswered (a leader keeps 5)",
               sent);
  cr_expect_eq(delivered, 1);
  strata_producer_free(p);
}

Test(producer_window, records_wait_in_one_batch_while_the_window_is_full) {
  char value[100];
  memset(value, 'v', sizeof value);
  strata_producer *p = answered_producer(0, value, sizeof value);

  /* Slow acknowledgements: the first 5 records go out one batch each and
   * fill the window; the other 55 come while nothing is answered. Held for
   * well under the producer's stall check (1 s), which asks the cluster
   * for metadata through this proxy. */
  hold_answers = 1;
  enum { RECORDS = 60 };
  for (int i = 0; i < RECORDS; i++) {
    cr_assert_eq(strata_produce(p, "w", 0, NULL, 0, value, sizeof value, 0, NULL, 0, NULL), 0);
    strata_producer_poll(p, 2);
  }
  hold_answers = 0;
  cr_assert_eq(strata_producer_flush(p, 10000), 0);
  cr_assert_eq(delivered, 1 + RECORDS);
  size_t batches = batches_in_log() - 1;
  cr_expect_leq(batches, 8,
                "%d records while the window was full took %zu batches: they were sealed "
                "one by one instead of waiting in one open batch", RECORDS, batches);
  strata_producer_free(p);
}
