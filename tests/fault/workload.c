/* The drills' workload and evidence, one tool with three jobs:
 *   workload write BOOTSTRAP TOPIC SECONDS   acks=all writes of unique values,
 *                                            one "W ..." history line each
 *   workload read BOOTSTRAP TOPIC            every record of every partition
 *                                            from the beginning, as "R ..." lines
 *   workload dump REPLICA LOGDIR TOPIC       a replica's partition logs, read
 *                                            from its files, as "L ..." lines
 *   workload check [MAX_GAP_MS] < history    the checker's verdict (exit 1 on a
 *                                            violation) and its JSON report on fd 3
 *   workload create BOOTSTRAP TOPIC TIMEOUT_MS   create TOPIC (1 partition, RF 3) by
 *                                            asking BOOTSTRAP (a controller, say);
 *                                            prints "ok", or the error's name and
 *                                            message (exit 1): a script tells
 *                                            NOT_CONTROLLER from TIMEOUT by the name
 *   workload now                             CLOCK_MONOTONIC in microseconds, the
 *                                            clock of the history lines (so a script
 *                                            can mark when it cut or killed)
 * SIGTERM ends a write early: no new writes, those in flight are waited for
 * and written to the history as for a write that ran its SECONDS.
 * History lines are described in drill/checker.h. With STRATA_COMMAND_CONFIG
 * set (a properties file, as for `strata --command-config`), write and read
 * connect as it says (TLS for the testbed's STRATA_TLS=1). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/errors.h"
#include "drill/checker.h"
#include "drill/evidence.h"
#include "drill/proc.h"

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define INFLIGHT_MAX 200000

struct pending {
  int64_t invoke;
};

static struct pending *sent;
static volatile sig_atomic_t stop_writing;

static void on_term(int sig) {
  (void)sig;
  stop_writing = 1;
}

/* The security settings from STRATA_COMMAND_CONFIG (plaintext without);
 * exits 2 on a bad file. */
static const strata_security *security(void) {
  static strata_security s;
  strata_security_defaults(&s);
  const char *f = getenv("STRATA_COMMAND_CONFIG");
  char err[512];
  if (f && *f && strata_security_load(&s, f, err, sizeof err)) {
    fprintf(stderr, "workload: %s\n", err);
    exit(2);
  }
  return &s;
}

static void on_delivery(const strata_delivery *d, void *arg) {
  (void)arg;
  uint64_t id = (uint64_t)(uintptr_t)d->opaque;
  int64_t now = mono_us();
  if (d->error)
    printf("W %" PRId64 " %" PRId64 " %u v%" PRIu64 " fail %s\n", sent[id % INFLIGHT_MAX].invoke,
           now, d->partition, id, strata_errname(d->error));
  else
    printf("W %" PRId64 " %" PRId64 " %u v%" PRIu64 " ok %" PRId64 "\n",
           sent[id % INFLIGHT_MAX].invoke, now, d->partition, id, d->offset);
}

static int do_write(const char *bootstrap, const char *topic, int seconds) {
  sent = calloc(INFLIGHT_MAX, sizeof *sent);
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg); /* acks=all, idempotent */
  cfg.linger_ms = 1;
  cfg.request_timeout_ms = 5000;
  cfg.retries = 1000;
  cfg.delivery_timeout_ms = 30000;
  char err[256];
  strata_producer *p =
      strata_producer_new_secure(bootstrap, &cfg, security(), on_delivery, NULL, err, sizeof err);
  if (!p) {
    fprintf(stderr, "workload: %s\n", err);
    return 2;
  }
  int64_t end = mono_us() + (int64_t)seconds * 1000000, next = mono_us();
  uint64_t id = 0;
  signal(SIGTERM, on_term);
  while (mono_us() < end && !stop_writing) {
    if (mono_us() >= next && strata_producer_outstanding(p) < 5000) {
      next += 1000; /* 1000 writes/s */
      char v[32];
      int n = snprintf(v, sizeof v, "v%" PRIu64, id);
      sent[id % INFLIGHT_MAX].invoke = mono_us();
      strata_produce(p, topic, -1, v, (size_t)n, v, (size_t)n, 0, NULL, 0, (void *)(uintptr_t)id);
      id++;
    }
    strata_producer_poll(p, 1);
  }
  strata_producer_flush(p, 40000);
  strata_producer_free(p);
  fflush(stdout);
  return 0;
}

static int do_read(const char *bootstrap, const char *topic) {
  char err[256];
  strata_consumer *c = strata_consumer_new_secure(bootstrap, NULL, security(), err, sizeof err);
  if (!c || strata_consumer_assign_topic(c, topic, STRATA_OFFSET_BEGINNING)) {
    fprintf(stderr, "workload: %s\n", c ? "cannot assign" : err);
    strata_consumer_free(c);
    return 2;
  }
  int idle = 0;
  while (idle < 4) {
    const strata_message *m;
    int rc = strata_consumer_poll(c, 500, &m);
    if (rc < 0) {
      fprintf(stderr, "workload: read: %s\n", strata_strerror(rc));
      idle++;
      continue;
    }
    if (rc == 0) {
      idle++;
      continue;
    }
    idle = 0;
    printf("R %" PRId64 " reader %u %" PRId64 " %.*s\n", mono_us(), m->partition, m->offset,
           (int)m->value_len, (const char *)m->value);
  }
  strata_consumer_free(c);
  return 0;
}

static int do_dump(const char *replica, const char *logdir, const char *topic) {
  if (drill_dump_replica(stdout, replica, logdir, topic)) {
    fprintf(stderr, "workload: cannot open %s\n", logdir);
    return 2;
  }
  return 0;
}

static int do_create(const char *bootstrap, const char *topic, int timeout_ms) {
  char err[512] = "";
  strata_client *c = strata_client_new_secure(bootstrap, timeout_ms, security(), err, sizeof err);
  if (!c) {
    printf("CONNECT: %s\n", err);
    return 1;
  }
  int rc = strata_topic_create(c, topic, 1, 3, NULL, NULL, 0, err, sizeof err);
  strata_client_free(c);
  if (rc)
    printf("%s: %s\n", strata_errname(rc), err[0] ? err : strata_strerror(rc));
  else
    printf("ok\n");
  return rc ? 1 : 0;
}

static int do_check(int max_gap_ms) {
  struct checker_config cfg = {(int64_t)max_gap_ms * 1000};
  struct checker *c = checker_new(&cfg);
  if (!c) return 2;
  checker_add_file(c, stdin);
  struct checker_result r;
  checker_run(c, &r);
  checker_print_verdict(c, &r, stdout, 5);
  FILE *json = fdopen(3, "w");
  if (json) {
    checker_print_json(c, &r, json);
    fclose(json);
  }
  int bad = checker_violated(&r);
  checker_free(c);
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "write")) return do_write(argv[2], argv[3], atoi(argv[4]));
  if (argc >= 4 && !strcmp(argv[1], "read")) return do_read(argv[2], argv[3]);
  if (argc >= 5 && !strcmp(argv[1], "dump")) return do_dump(argv[2], argv[3], argv[4]);
  if (argc >= 2 && !strcmp(argv[1], "check")) return do_check(argc > 2 ? atoi(argv[2]) : 1000);
  if (argc >= 5 && !strcmp(argv[1], "create")) return do_create(argv[2], argv[3], atoi(argv[4]));
  if (argc == 2 && !strcmp(argv[1], "now")) {
    printf("%" PRId64 "\n", mono_us());
    return 0;
  }
  fprintf(stderr,
          "usage: workload write BOOTSTRAP TOPIC SECONDS | read BOOTSTRAP TOPIC |\n"
          "       dump REPLICA LOGDIR TOPIC | check [MAX_GAP_MS] < history 3> report.json |\n"
          "       create BOOTSTRAP TOPIC TIMEOUT_MS | now\n");
  return 2;
}
