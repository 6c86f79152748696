/* Failover time, as a client sees it: a local cluster (3 brokers and one
 * controller, or with --controller a quorum of 3 controllers), one topic (1
 * partition, replication factor 3, min.insync 2), an idempotent acks=all
 * producer writing a record every millisecond. Each round kills -9:
 *   - the partition's leader, and measures the time from the kill to the
 *     first acknowledgement of a record sent after it;
 *   - with --controller, first the active controller, then the leader, and
 *     measures also the time from the controller's kill to the quorum naming
 *     another active controller (DescribeQuorum, every ~10 ms): the new
 *     active controller must elect the partition's new leader (issue 14);
 * then starts what it killed again and waits for a full ISR (and an active
 * controller). Prints each round and p50/p99/max.
 *
 *   failover_bench [--controller] [ROUNDS]   (default 20)
 *   FAILOVER_SESSION_MS         broker.session.timeout.ms (default: the controller's)
 *   FAILOVER_CONTROLLER_SETS    extra controller settings, "k=v k=v" (e.g. the
 *                               controller.quorum.*.timeout.ms that trade failover
 *                               time against false elections)
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

static void print_times(const char *what, int64_t *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp);
  printf("%s over %d rounds: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", what, n,
         (double)t[n / 2] / 1000.0, (double)t[(n * 99) / 100] / 1000.0, (double)t[n - 1] / 1000.0);
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

/* The controller settings from the environment, into c->ctl_sets. */
static void controller_settings(struct tcluster *c, char sets[][128]) {
  size_t ns = 0;
  if (getenv("FAILOVER_SESSION_MS"))
    snprintf(sets[ns], sizeof sets[0], "broker.session.timeout.ms=%s",
             getenv("FAILOVER_SESSION_MS")), c->ctl_sets[ns] = sets[ns], ns++;
  const char *extra = getenv("FAILOVER_CONTROLLER_SETS");
  for (const char *p = extra; p && *p && ns < TCLUSTER_SETS_MAX;) {
    size_t len = strcspn(p, " ");
    if (len && len < sizeof sets[0]) {
      memcpy(sets[ns], p, len);
      sets[ns][len] = 0;
      c->ctl_sets[ns] = sets[ns];
      ns++;
    }
    p += len;
    p += strspn(p, " ");
  }
}

/* One round with --controller: the active controller's kill, then the
 * leader's; tc gets the time to a new active controller. */
static int controller_round(struct tcluster *c, strata_producer *p, struct state *s,
                            int32_t leader, int r, int64_t *tc) {
  int32_t active = -1;
  for (int i = 0; i < 300 && active < 1; i++, usleep(100000))
    active = tcluster_active_controller(c, 1000);
  if (active < 1) {
    fprintf(stderr, "failover_bench: no active controller before round %d\n", r + 1);
    return -1;
  }
  pump(p, s, 1000, 0);
  s->first_ack_us = 0;
  int64_t kc = mono_us();
  tcluster_kill_controller(c, active);
  s->kill_us = mono_us();
  tcluster_kill(c, leader);
  int64_t new_at = 0, deadline = mono_us() + 30000000;
  int32_t next = -1;
  while ((!new_at || !s->first_ack_us) && mono_us() < deadline) {
    pump(p, s, 10, 0);
    if (!new_at) {
      next = tcluster_active_controller(c, 200);
      if (next >= 0 && next != active) new_at = mono_us();
    }
  }
  if (!new_at || !s->first_ack_us) {
    fprintf(stderr, "failover_bench: 30 s after the kills: %s\n",
            !new_at ? "no new active controller" : "no acknowledgement");
    return -1;
  }
  *tc = new_at - kc;
  printf("  round %2d: killed controller %d and broker %d: controller %d active after %6.1f ms, "
         "writes acknowledged again after %6.1f ms\n",
         r + 1, active, leader, next, (double)*tc / 1000.0,
         (double)(s->first_ack_us - s->kill_us) / 1000.0);
  if (tcluster_start_controller_k(c, active)) {
    fprintf(stderr, "failover_bench: controller %d did not restart\n", active);
    return -1;
  }
  return 0;
}

/* One round without: the leader's kill alone. */
static int leader_round(struct tcluster *c, strata_producer *p, struct state *s, int32_t leader,
                        int r) {
  pump(p, s, 500, 0);
  s->first_ack_us = 0;
  s->kill_us = mono_us();
  tcluster_kill(c, leader);
  pump(p, s, 30000, 1);
  if (!s->first_ack_us) {
    fprintf(stderr, "failover_bench: no acknowledgement 30 s after killing broker %d\n", leader);
    return -1;
  }
  printf("  round %2d: killed broker %d, writes acknowledged again after %6.1f ms\n", r + 1,
         leader, (double)(s->first_ack_us - s->kill_us) / 1000.0);
  return 0;
}

int main(int argc, char **argv) {
  int quorum = argc > 1 && !strcmp(argv[1], "--controller");
  int rounds = argc > 1 + quorum ? atoi(argv[1 + quorum]) : 20;
  if (rounds < 1) rounds = 20;
  trace_set_level(TRACE_ERROR);
  struct tcluster c;
  if (tcluster_init(&c, 3, quorum ? "strata-ctl-failover" : "strata-failover") ||
      (quorum && tcluster_set_controllers(&c, 3)))
    return 1;
  char sets[TCLUSTER_SETS_MAX][128];
  controller_settings(&c, sets);
  int rc = 1;
  int64_t *tc = calloc((size_t)rounds, sizeof *tc), *tb = calloc((size_t)rounds, sizeof *tb);
  strata_producer *p = NULL;
  strata_client *admin = NULL;
  char err[256];
  if (tcluster_start_all(&c)) {
    fprintf(stderr, "failover_bench: the cluster did not start (logs in %s%s)\n", c.dir,
            quorum ? "; the controllers need node.id and controller.quorum.voters" : "");
    goto out;
  }
  admin = strata_client_new(c.bootstrap, 10000, err, sizeof err);
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
  cfg.delivery_timeout_ms = 120000; /* a controller election plus a fencing takes seconds */
  p = strata_producer_new(c.bootstrap, &cfg, on_delivery, &s, err, sizeof err);
  if (!p) {
    fprintf(stderr, "failover_bench: %s\n", err);
    goto out;
  }
  printf(quorum ? "controller failover: kill -9 the active controller, then the partition's leader\n"
                : "failover: kill -9 the leader, time to the first acks=all ack of a record sent "
                  "after it\n");
  for (int r = 0; r < rounds; r++) {
    int32_t leader = tcluster_wait_isr(&c, "failover", 0, 3, 30000);
    if (leader < 0) {
      fprintf(stderr, "failover_bench: no full ISR before round %d\n", r + 1);
      goto out;
    }
    if (quorum ? controller_round(&c, p, &s, leader, r, &tc[r]) : leader_round(&c, p, &s, leader, r))
      goto out;
    tb[r] = s.first_ack_us - s.kill_us;
    fflush(stdout);
    s.kill_us = 0;
    if (tcluster_start_broker(&c, leader)) {
      fprintf(stderr, "failover_bench: broker %d did not restart\n", leader);
      goto out;
    }
  }
  if (strata_producer_flush(p, 30000)) fprintf(stderr, "failover_bench: flush timed out\n");
  if (quorum) print_times("active controller kill -9 -> new active controller", tc, rounds);
  print_times(quorum ? "controller + leader kill -9 -> writes acknowledged again" : "failover", tb,
              rounds);
  printf("(%" PRIu64 " records acknowledged, %" PRIu64 " failed)\n", s.acked, s.failed);
  rc = s.failed ? 1 : 0;
out:
  strata_producer_free(p);
  strata_client_free(admin);
  tcluster_destroy(&c, rc != 0);
  free(tc);
  free(tb);
  return rc;
}
