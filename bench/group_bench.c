/* Consumer group timings on a local cluster (controller + 3 brokers):
 *  1. takeover: 4 consumer processes share a 12-partition topic fed a record
 *     every millisecond; kill -9 one and measure the time until every
 *     partition it owned is consumed again by another member (target: the
 *     session timeout + under 500 ms), over ROUNDS rounds;
 *  2. settle: 100 members in one process (polled in turn), then 10 leave and
 *     10 join at once; the time until the group is stable again.
 *
 *   group_bench [ROUNDS]   (default 5)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/trace.h"
#include "drill/cluster.h"
#include "drill/proc.h"

#define NPART 12
#define SESSION_MS 3000

static struct tcluster cl;

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static strata_consumer *member_new(const char *group) {
  char err[256];
  strata_consumer *c = strata_consumer_new(cl.bootstrap, NULL, err, sizeof err);
  if (!c) return NULL;
  strata_group_config g;
  strata_group_config_defaults(&g);
  g.group_id = group;
  g.session_timeout_ms = SESSION_MS;
  const char *topics[1] = {group};
  if (strata_consumer_subscribe(c, &g, topics, 1)) {
    strata_consumer_free(c);
    return NULL;
  }
  return c;
}

/* A member process: writes "partition time_us" for each record it reads. */
static void member_main(int fd) {
  strata_consumer *c = member_new("takeover");
  if (!c) _exit(3);
  for (;;) {
    const strata_message *m;
    if (strata_consumer_poll(c, 100, &m) == 1) dprintf(fd, "%u %" PRId64 "\n", m->partition, mono_us());
  }
}

static int describe(const char *group, strata_group_info **g) {
  char err[256];
  strata_client *c = strata_client_new(cl.bootstrap, 3000, err, sizeof err);
  if (!c) return -1;
  int rc = strata_group_describe(c, group, g);
  strata_client_free(c);
  return rc;
}

/* Keep producing one record per millisecond for `ms`. */
static void pump(strata_producer *p, int ms) {
  int64_t end = mono_us() + (int64_t)ms * 1000, next = mono_us();
  static unsigned k;
  while (mono_us() < end) {
    if (mono_us() >= next) {
      next += 1000;
      char key[16];
      int kl = snprintf(key, sizeof key, "%u", k++);
      strata_produce(p, "takeover", (int32_t)(k % NPART), key, (size_t)kl, "x", 1, 0, NULL, 0, NULL);
    }
    strata_producer_poll(p, 1);
  }
}

static int takeover(int rounds) {
  char err[256];
  strata_client *a = strata_client_new(cl.bootstrap, 5000, err, sizeof err);
  const char *k[1] = {"min.insync.replicas"}, *v[1] = {"2"};
  if (!a || strata_topic_create(a, "takeover", NPART, 3, k, v, 1, err, sizeof err)) {
    fprintf(stderr, "group_bench: %s\n", err);
    strata_client_free(a);
    return 1;
  }
  strata_client_free(a);
  strata_producer_config pc;
  strata_producer_config_defaults(&pc);
  pc.linger_ms = 0;
  strata_producer *p = strata_producer_new(cl.bootstrap, &pc, NULL, NULL, err, sizeof err);
  if (!p) return 1;
  pid_t pids[64];
  char paths[64][600];
  int n = 0, rc = 1;
  int64_t *t = calloc((size_t)rounds, sizeof *t);
  for (; n < 4; n++) {
    snprintf(paths[n], sizeof paths[n], "%s/member-%d.log", cl.dir, n);
    int fd = open(paths[n], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pids[n] = fork();
    if (pids[n] == 0) member_main(fd);
    close(fd);
  }
  printf("takeover: kill -9 a consumer of 4 (session timeout %d ms); time until all its partitions "
         "are consumed again\n", SESSION_MS);
  for (int r = 0; r < rounds; r++) {
    /* wait for a stable group of 4 */
    strata_group_info *g = NULL;
    for (int tries = 0; tries < 300; tries++) {
      pump(p, 100);
      if (!describe("takeover", &g) && g->nmembers == 4 && !strcmp(g->state, "Stable")) break;
      strata_group_info_free(g);
      g = NULL;
    }
    if (!g) {
      fprintf(stderr, "group_bench: the group did not settle\n");
      goto out;
    }
    /* the victim: the member owning partition 0; which process is it? run
     * until each process's log shows which partitions it reads */
    int64_t recent = mono_us();
    pump(p, 500);
    int victim = -1;
    uint32_t owned[NPART];
    size_t nowned = 0;
    for (int i = 0; i < n && victim < 0; i++) {
      if (pids[i] < 0) continue;
      FILE *f = fopen(paths[i], "r");
      unsigned part;
      int64_t ts;
      int has0 = 0;
      while (f && fscanf(f, "%u %" SCNd64, &part, &ts) == 2) has0 |= part == 0 && ts > recent;
      if (f) fclose(f);
      if (has0) victim = i;
    }
    for (size_t i = 0; i < g->nmembers && victim >= 0; i++)
      for (size_t k2 = 0; k2 < g->members[i].nassignment; k2++)
        if (g->members[i].assignment[k2].partition == 0) {
          for (size_t j = 0; j < g->members[i].nassignment; j++)
            owned[nowned++] = g->members[i].assignment[j].partition;
        }
    strata_group_info_free(g);
    if (victim < 0 || !nowned) {
      fprintf(stderr, "group_bench: nobody reads partition 0\n");
      goto out;
    }
    int64_t t_kill = mono_us();
    proc_kill(pids[victim], SIGKILL);
    pids[victim] = -1;
    /* until each of its partitions shows up in another member's log */
    int64_t done = 0;
    while (!done && mono_us() - t_kill < 30000000) {
      pump(p, 50);
      int64_t latest = 0, found = 0;
      for (size_t j = 0; j < nowned; j++) {
        int64_t first = 0;
        for (int i = 0; i < n; i++) {
          if (i == victim || pids[i] < 0) continue;
          FILE *f = fopen(paths[i], "r");
          unsigned part;
          int64_t ts;
          while (f && fscanf(f, "%u %" SCNd64, &part, &ts) == 2)
            if (part == owned[j] && ts > t_kill && (!first || ts < first)) first = ts;
          if (f) fclose(f);
        }
        if (first) {
          found++;
          if (first > latest) latest = first;
        }
      }
      if (found == (int64_t)nowned) done = latest;
    }
    if (!done) {
      fprintf(stderr, "group_bench: partitions not consumed 30 s after the kill\n");
      goto out;
    }
    t[r] = done - t_kill;
    printf("  round %d: %zu partition(s) consumed again after %.0f ms\n", r + 1, nowned,
           (double)t[r] / 1000.0);
    fflush(stdout);
    /* a replacement */
    snprintf(paths[n], sizeof paths[n], "%s/member-%d.log", cl.dir, n);
    int fd = open(paths[n], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pids[n] = fork();
    if (pids[n] == 0) member_main(fd);
    close(fd);
    n++;
  }
  qsort(t, (size_t)rounds, sizeof *t, cmp64);
  printf("takeover over %d rounds: p50 %.0f ms, max %.0f ms (session timeout %d ms)\n", rounds,
         (double)t[rounds / 2] / 1000.0, (double)t[rounds - 1] / 1000.0, SESSION_MS);
  rc = 0;
out:
  for (int i = 0; i < n; i++)
    if (pids[i] > 0) proc_kill(pids[i], SIGKILL);
  strata_producer_free(p);
  free(t);
  return rc;
}

/* Poll every member once. */
static void sweep(strata_consumer **m, int n) {
  for (int i = 0; i < n; i++)
    if (m[i]) {
      const strata_message *msg;
      strata_consumer_poll(m[i], 0, &msg);
    }
}

static int settle(void) {
  char err[256];
  strata_client *a = strata_client_new(cl.bootstrap, 5000, err, sizeof err);
  if (!a || strata_topic_create(a, "settle", 200, 1, NULL, NULL, 0, err, sizeof err)) {
    fprintf(stderr, "group_bench: %s\n", err);
    strata_client_free(a);
    return 1;
  }
  strata_client_free(a);
  enum { N = 110 };
  strata_consumer *m[N] = {0};
  for (int i = 0; i < 100; i++)
    if (!(m[i] = member_new("settle"))) return 1;
  int64_t t0 = mono_us();
  strata_group_info *g = NULL;
  for (;;) {
    sweep(m, N);
    if (!describe("settle", &g) && g->nmembers == 100 && !strcmp(g->state, "Stable")) break;
    strata_group_info_free(g);
    g = NULL;
    if (mono_us() - t0 > 60000000) {
      fprintf(stderr, "group_bench: 100 members did not settle\n");
      return 1;
    }
  }
  strata_group_info_free(g);
  printf("settle: 100 members stable after %.0f ms from their first poll\n",
         (double)(mono_us() - t0) / 1000.0);
  /* 10 leave and 10 join at once */
  int64_t t1 = mono_us();
  for (int i = 0; i < 10; i++) {
    strata_consumer_free(m[i]);
    m[i] = NULL;
  }
  for (int i = 100; i < 110; i++)
    if (!(m[i] = member_new("settle"))) return 1;
  for (;;) {
    sweep(m, N);
    g = NULL;
    if (!describe("settle", &g) && g->nmembers == 100 && !strcmp(g->state, "Stable")) break;
    strata_group_info_free(g);
    if (mono_us() - t1 > 60000000) {
      fprintf(stderr, "group_bench: the group did not settle after 10 left and 10 joined\n");
      return 1;
    }
  }
  int32_t epoch = g->epoch;
  strata_group_info_free(g);
  printf("settle: after 10 left and 10 joined at once, stable again in %.0f ms (group epoch %d)\n",
         (double)(mono_us() - t1) / 1000.0, epoch);
  for (int i = 0; i < N; i++) strata_consumer_free(m[i]);
  return 0;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 5;
  if (rounds < 1) rounds = 5;
  trace_set_level(TRACE_ERROR);
  signal(SIGPIPE, SIG_IGN);
  if (tcluster_init(&cl, 3, "strata-groupbench")) return 1;
  int rc = 1;
  if (tcluster_start_all(&cl)) {
    fprintf(stderr, "group_bench: cluster did not start (logs in %s)\n", cl.dir);
  } else {
    rc = takeover(rounds);
    if (!rc) rc = settle();
  }
  tcluster_destroy(&cl, rc != 0);
  return rc;
}
