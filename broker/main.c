/* strata-broker: load broker.properties (+ --set overrides), open the data
 * directory, serve until SIGINT/SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "broker/broker.h"
#include "broker/server_uv.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/trace.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: strata-broker [--config FILE] [--set key=value]...\n"
          "\n"
          "Runs one Strata broker. Settings come from FILE (Java properties, see\n"
          "broker.properties.example), then from each --set, in order; before\n"
          "both, environment variables STRATA_<KEY> (STRATA_BROKER_ID=3 sets broker.id).\n"
          "Common keys: broker.id, listeners=[SCHEME://]host:port, log.dir,\n"
          "log.flush.policy=always|interval|os, log.segment.bytes, log.retention.ms.\n"
          "TLS (listeners=SSL://..., SASL_SSL://, admin.listeners=HTTPS://...):\n"
          "ssl.certificate.location, ssl.key.location, ssl.ca.location,\n"
          "ssl.client.auth=none|requested|required, ssl.principal.mapping.rules;\n"
          "SIGHUP reloads the certificate files.\n"
          "\n"
          "  -c, --config FILE    properties file\n"
          "  -s, --set KEY=VALUE  override one setting (repeatable)\n"
          "  -h, --help           this text\n"
          "  -V, --version        print the version\n");
}

/* Raise the soft descriptor limit to the hard one (as Redis does: the
 * default soft 1024 is far below what partitions and connections need, and
 * the hard limit is what the operator allowed), then size the partition
 * logs' descriptor cache as that limit less what connections, syncs in
 * flight and the rest need (broker_fd_reserve). Logs what it chose. */
static void size_descriptors(struct broker_config *cfg) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl)) {
    trace_warn("getrlimit(RLIMIT_NOFILE): %s; log descriptor cache left at %u", strerror(errno),
               BROKER_LOG_FDS_DEFAULT);
    return;
  }
  if (rl.rlim_cur != rl.rlim_max) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl)) {
      trace_warn("cannot raise the open-file limit from %llu to %llu: %s",
                 (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
      getrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  uint64_t soft = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
  uint64_t reserve = broker_fd_reserve(cfg);
  cfg->log_fds_max = fdcache_budget(soft, reserve);
  if (soft < reserve + FDCACHE_MIN)
    trace_warn("open-file limit %llu leaves almost nothing for partition logs after %llu for "
               "connections and syncs (max.connections): raise ulimit -n",
               (unsigned long long)soft, (unsigned long long)reserve);
  trace_info("open-file limit %llu: up to %u for partition log files, %llu kept for "
             "connections and syncs", (unsigned long long)soft, cfg->log_fds_max,
             (unsigned long long)reserve);
}

int main(int argc, char **argv) {
  struct config *c = config_new();
  char err[512] = "";
  if (!c) return 1;
  /* STRATA_* environment first (containers), then --config, then --set */
  int rc = config_load_env(c, broker_config_keys);
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      config_free(c);
      return 0;
    } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
      printf("strata-broker %s\n", STRATA_VERSION);
      config_free(c);
      return 0;
    } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc) {
      rc = config_load_file(c, argv[++i], err, sizeof err);
    } else if (!strncmp(a, "--config=", 9)) {
      rc = config_load_file(c, a + 9, err, sizeof err);
    } else if ((!strcmp(a, "-s") || !strcmp(a, "--set")) && i + 1 < argc) {
      rc = config_parse_assignment(c, argv[++i], err, sizeof err);
    } else if (!strncmp(a, "--set=", 6)) {
      rc = config_parse_assignment(c, a + 6, err, sizeof err);
    } else {
      fprintf(stderr, "strata-broker: unknown or incomplete argument '%s' (try --help)\n", a);
      config_free(c);
      return 2;
    }
  }
  struct broker_config cfg;
  if (!rc) rc = broker_config_from(c, &cfg, err, sizeof err);
  const char *lvl = config_get(c, "log.level");
  enum trace_level tl;
  if (!rc && lvl) {
    if (trace_level_parse(lvl, &tl)) {
      snprintf(err, sizeof err, "log.level: expected error|warn|info|debug, got '%s'", lvl);
      rc = STRATA_EINVALID_CONFIG;
    } else {
      trace_set_level(tl);
    }
  }
  config_free(c);
  if (rc) {
    fprintf(stderr, "strata-broker: %s\n", err[0] ? err : strata_strerror(rc));
    return 2;
  }
  char name[32];
  snprintf(name, sizeof name, "broker-%d", cfg.id);
  trace_set_name(name);
  size_descriptors(&cfg);
  struct broker b;
  if ((rc = broker_open(&b, &cfg, clock_mono_ms(), clock_wall_ms(), err, sizeof err))) {
    trace_error("cannot start: %s", err[0] ? err : strata_strerror(rc));
    broker_close(&b);
    return 1;
  }
  /* A write to a client, broker or controller that just reset its
   * connection must be that connection's error (EPIPE), not the end of the
   * broker: libuv leaves SIGPIPE's default action, which kills the process.
   * Seen: a Kafka client that pipelined requests and reset without reading
   * the answers killed a broker silently (tests/kafka/bad_input.py), and so
   * did a leader failover under load (leader_kill_test). */
  signal(SIGPIPE, SIG_IGN);
  rc = server_run(&b);
  broker_close(&b);
  trace_info("stopped");
  return rc ? 1 : 0;
}
