/* Failover time, as a client sees it: a local cluster (controller + 3
 * brokers), one topic (1 partition, replication factor 3, min.insync 2), an
 * idempotent acks=all producer writing a record every millisecond. Each round
 * kills -9 the partition's leader and measures the time from the kill to the
 * first acknowledgement of a record sent after it; then restarts the broker
 * and waits for a full ISR. Prints each round and p50/p99/max.
 *
 *   failover_bench [ROUNDS]     (default 20)
 *   FAILOVER_SESSION_MS         broker.session.timeout.ms (default: the controller's)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/trace.h"
#include "drill/cluster.h"

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct state {
  int64_t kill_us;       /* 0: not failing over */
  int64_t first_ack_us;  /* first ack of a record sent after kill_us */
  uint64_t acked, failed;
};

static void on_delivery(const strata_delivery *d, void *arg) {
  struct state *s = arg;
  int64_t sent = (int64_t)(intptr_t)d->opaque;
  if (d->error) {
    s->failed++;
    return;
  }
  s->acked++;
  if (s->kill_us && sent >= s->kill_us && !s->first_ack_us) s->first_ack_us = mono_us();
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Send a record every millisecond for `ms`, or until the failover ends. */
static void pump(strata_producer *p, struct state *s, int ms, int until_ack) {
  int64_t end = mono_us() + (int64_t)ms * 1000, next = mono_us();
  while (mono_us() < end && !(until_ack && s->first_ack_us)) {
    int64_t now = mono_us();
    if (now >= next && strata_producer_outstanding(p) < 2000) {
      next += 1000;
      if (next < now - 10000) next = now; /* fell behind: do not burst */
      char v[64];
      int n = snprintf(v, sizeof v, "{\"sensor_id\":\"s-1\",\"ts\":%" PRId64 "}", now);
      strata_produce(p, "failover", 0, NULL, 0, v, (size_t)n, 0, NULL, 0, (void *)(intptr_t)now);
    }
    strata_producer_poll(p, 1);
  }
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  if (rounds < 1) rounds = 20;
  trace_set_level(TRACE_ERROR);
  struct tcluster c;
  if (tcluster_init(&c, 3, "strata-failover")) return 1;
  char session[64];
  if (getenv("FAILOVER_SESSION_MS")) {
    snprintf(session, sizeof session, "broker.session.timeout.ms=%s", getenv("FAILOVER_SESSION_MS"));
    c.ctl_sets[0] = session;
  }
  int rc = 1;
  int64_t *t = calloc((size_t)rounds, sizeof *t);
  strata_producer *p = NULL;
  strata_client *admin = NULL;
  char err[256];
  if (tcluster_start_all(&c)) {
    fprintf(stderr, "failover_bench: cluster did not start (logs in %s)\n", c.dir);
    goto out;
  }
  admin = strata_client_new(c.bootstrap, 5000, err, sizeof err);
  const char *k[1] = {"min.insync.replicas"}, *v[1] = {"2"};
  if (!admin || strata_topic_create(admin, "failover", 1, 3, k, v, 1, err, sizeof err)) {
    fprintf(stderr, "failover_bench: %s\n", err);
    goto out;
  }
  struct state s = {0};
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg); /* acks=all, idempotent */
  cfg.linger_ms = 0;
  cfg.request_timeout_ms = 5000;
  cfg.retries = 1000;
  cfg.retry_backoff_ms = 20;
  p = strata_producer_new(c.bootstrap, &cfg, on_delivery, &s, err, sizeof err);
  if (!p) {
    fprintf(stderr, "failover_bench: %s\n", err);
    goto out;
  }
  printf("failover: kill -9 the leader, time to the first acks=all ack of a record sent after it\n");
  for (int r = 0; r < rounds; r++) {
    int32_t leader = tcluster_wait_isr(&c, "failover", 0, 3, 30000);
    if (leader < 0) {
      fprintf(stderr, "failover_bench: no full ISR before round %d\n", r + 1);
      goto out;
    }
    pump(p, &s, 500, 0);
    s.first_ack_us = 0;
    s.kill_us = mono_us();
    tcluster_kill(&c, leader);
    pump(p, &s, 30000, 1);
    if (!s.first_ack_us) {
      fprintf(stderr, "failover_bench: no acknowledgement 30 s after killing broker %d\n", leader);
      goto out;
    }
    t[r] = s.first_ack_us - s.kill_us;
    printf("  round %2d: killed broker %d, writes acknowledged again after %6.1f ms\n", r + 1,
           leader, (double)t[r] / 1000.0);
    fflush(stdout);
    s.kill_us = 0;
    if (tcluster_start_broker(&c, leader)) {
      fprintf(stderr, "failover_bench: broker %d did not restart\n", leader);
      goto out;
    }
  }
  if (strata_producer_flush(p, 30000)) fprintf(stderr, "failover_bench: flush timed out\n");
  qsort(t, (size_t)rounds, sizeof *t, cmp);
  printf("failover over %d rounds: p50 %.1f ms, p99 %.1f ms, max %.1f ms "
         "(%" PRIu64 " records acknowledged, %" PRIu64 " failed)\n",
         rounds, (double)t[rounds / 2] / 1000.0, (double)t[(rounds * 99) / 100] / 1000.0,
         (double)t[rounds - 1] / 1000.0, s.acked, s.failed);
  rc = s.failed ? 1 : 0;
out:
  strata_producer_free(p);
  strata_client_free(admin);
  tcluster_destroy(&c, rc != 0);
  free(t);
  return rc;
}
