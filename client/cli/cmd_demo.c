/* strata demo sensors|summary: the IoT demo. `sensors` publishes JSON
 * readings keyed by sensor id at a steady rate; `summary` reads them back
 * from the log and redraws a per-site table every second. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli/common.h"
#include "client/cli/sensors.h"

static volatile sig_atomic_t stop;
static void on_stop(int s) { (void)s; stop = 1; }

static const struct opt sensors_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "topic (default iot_sensor_data)"},
    {"rate", 'r', OPT_VALUE, "N", "readings per second (default 2000)"},
    {"sensors", 0, OPT_VALUE, "N", "fleet size (default 500)"},
    {"duration", 'd', OPT_VALUE, "SECONDS", "stop after this long (default: until Ctrl-C)"},
    {"acks", 'a', OPT_VALUE, "0|1|all", "acknowledgement level (default all)"},
};

struct sensor_stats {
  uint64_t ok, failed;
};

static void sensor_delivery(const strata_delivery *d, void *arg) {
  struct sensor_stats *s = arg;
  if (d->error) s->failed++; else s->ok++;
}

static int demo_sensors(int argc, char **argv) {
  struct opts o;
  size_t nopt = sizeof sensors_opts / sizeof sensors_opts[0];
  if (opts_parse(&o, sensors_opts, nopt, argc, argv)) return cli_fail("demo sensors", o.err);
  if (o.help) {
    opts_print_help("demo sensors [options]", "Simulate an IoT sensor fleet.", sensors_opts, nopt);
    return 0;
  }
  int64_t rate, count, duration;
  if (opts_i64(&o, "rate", 2000, 1, 10000000, 1, &rate) ||
      opts_i64(&o, "sensors", 500, 1, SENSORS_MAX, 0, &count) ||
      opts_i64(&o, "duration", 0, 0, 864000, 0, &duration))
    return cli_fail("demo sensors", o.err);
  const char *topic = opts_str(&o, "topic", "iot_sensor_data");
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.compression = STRATA_COMPRESSION_ZSTD;
  if (cli_acks(opts_str(&o, "acks", "all"), &cfg.acks))
    return cli_fail("demo sensors", "--acks must be 0, 1 or all");
  struct sensor_stats st = {0};
  char err[256];
  strata_producer *p = cli_producer_new(&o, &cfg, sensor_delivery, &st, err,
                                           sizeof err);
  if (!p) return cli_fail("demo sensors", err);
  struct sensor_fleet fleet;
  if (sensors_init(&fleet, (unsigned)count, 42)) return cli_fail("demo sensors", "out of memory");
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
  int64_t start = cli_mono_us(), last_log = start;
  uint64_t sent = 0;
  int rc = 0;
  while (!stop && !rc && (!duration || cli_mono_us() - start < duration * 1000000)) {
    int64_t due = start + (int64_t)(sent * 1000000 / (uint64_t)rate);
    int64_t now = cli_mono_us();
    if (due > now) {
      strata_producer_poll(p, (int)((due - now) / 1000) + 1);
      continue;
    }
    char key[32], json[SENSOR_JSON_MAX];
    size_t klen;
    size_t vlen = sensors_next(&fleet, cli_now_ms(), key, sizeof key, &klen, json, sizeof json);
    rc = strata_produce(p, topic, STRATA_PARTITION_ANY, key, klen, json, vlen, 0, NULL, 0, NULL);
    if (rc == STRATA_EQUEUE_FULL) {
      rc = 0;
      strata_producer_poll(p, 10);
      continue;
    }
    sent++;
    strata_producer_poll(p, 0);
    if (now - last_log > 10000000) {
      fprintf(stderr, "sensors: %" PRIu64 " readings acknowledged, %" PRIu64 " failed\n", st.ok,
              st.failed);
      last_log = now;
    }
  }
  if (!rc) rc = strata_producer_flush(p, 10000);
  strata_producer_free(p);
  sensors_free(&fleet);
  fprintf(stderr, "sensors: done: %" PRIu64 " acknowledged, %" PRIu64 " failed\n", st.ok,
          st.failed);
  if (rc) return cli_fail("demo sensors", strata_strerror(rc));
  return 0;
}

static const struct opt summary_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "topic (default iot_sensor_data)"},
    {"duration", 'd', OPT_VALUE, "SECONDS", "stop after this long (default: until Ctrl-C)"},
    {"from-beginning", 0, OPT_FLAG, NULL, "include readings already in the log"},
    {"group", 'g', OPT_VALUE, "GROUP", "also show this consumer group's members and partitions"},
};

/* The group panel under the table: who owns which partitions, and the last
 * change of membership (a rebalance) seen. */
static void print_group(strata_client *cl, const char *group, double elapsed, size_t *members,
                        char *last_change, size_t last_len) {
  strata_group_info *g = NULL;
  if (!cl || strata_group_describe(cl, group, &g)) {
    printf("\nconsumer group %s: not reachable right now\n", group);
    return;
  }
  if (g->nmembers != *members) {
    if (*members)
      snprintf(last_change, last_len, "at %.0f s: %zu -> %zu members, partitions moved", elapsed,
               *members, g->nmembers);
    *members = g->nmembers;
  }
  printf("\nconsumer group %s: %s, epoch %d, %zu member(s)%s%s\n", g->group_id, g->state, g->epoch,
         g->nmembers, last_change[0] ? "; last rebalance " : "", last_change);
  for (size_t i = 0; i < g->nmembers; i++) {
    printf("  %-28s", g->members[i].member_id);
    for (size_t k = 0; k < g->members[i].nassignment; k++)
      printf(" p%u", g->members[i].assignment[k].partition);
    printf("\n");
  }
  strata_group_info_free(g);
}

struct site_stats {
  uint64_t n, window_n;
  double temp_sum, hum_sum, temp_min, temp_max;
  double lag_sum_ms;
};

static int demo_summary(int argc, char **argv) {
  struct opts o;
  size_t nopt = sizeof summary_opts / sizeof summary_opts[0];
  if (opts_parse(&o, summary_opts, nopt, argc, argv)) return cli_fail("demo summary", o.err);
  if (o.help) {
    opts_print_help("demo summary [options]", "Live per-site summary of sensor readings.",
                    summary_opts, nopt);
    return 0;
  }
  int64_t duration;
  if (opts_i64(&o, "duration", 0, 0, 864000, 0, &duration)) return cli_fail("demo summary", o.err);
  const char *topic = opts_str(&o, "topic", "iot_sensor_data");
  char err[256];
  strata_consumer_config cfg;
  strata_consumer_config_defaults(&cfg);
  cfg.fetch_max_wait_ms = 200;
  strata_consumer *c = cli_consumer_new(&o, &cfg, err, sizeof err);
  if (!c) return cli_fail("demo summary", err);
  int rc = strata_consumer_assign_topic(
      c, topic, opts_has(&o, "from-beginning") ? STRATA_OFFSET_BEGINNING : STRATA_OFFSET_END);
  if (rc) {
    strata_consumer_free(c);
    return cli_fail("demo summary", strata_strerror(rc));
  }
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
  const char *group = opts_str(&o, "group", NULL);
  strata_client *gcl = group ? cli_client_new(&o, 2000, err, sizeof err) : NULL;
  size_t group_members = 0;
  char last_change[128] = "";
  struct site_stats sites[SENSOR_SITES];
  memset(sites, 0, sizeof sites);
  int64_t start = cli_mono_us(), last = start;
  uint64_t total = 0, bad = 0;
  int tty = isatty(1);
  while (!stop && (!duration || cli_mono_us() - start < duration * 1000000)) {
    const strata_message *m;
    rc = strata_consumer_poll(c, 100, &m);
    if (rc < 0) break;
    if (rc == 1) {
      struct sensor_reading r;
      if (m->value_len < 0 || sensors_parse(m->value, (size_t)m->value_len, &r)) {
        bad++;
      } else {
        for (unsigned s = 0; s < SENSOR_SITES; s++) {
          if (strcmp(r.site, sensors_site_name(s))) continue;
          struct site_stats *x = &sites[s];
          if (x->n == 0 || r.temperature < x->temp_min) x->temp_min = r.temperature;
          if (x->n == 0 || r.temperature > x->temp_max) x->temp_max = r.temperature;
          x->n++;
          x->window_n++;
          x->temp_sum += r.temperature;
          x->hum_sum += r.humidity;
          x->lag_sum_ms += (double)(cli_now_ms() - m->timestamp);
        }
      }
      total++;
    }
    int64_t now = cli_mono_us();
    if (now - last < 1000000) continue;
    double secs = (double)(now - last) / 1e6;
    last = now;
    if (tty) printf("\033[H\033[2J");
    printf("Strata IoT demo: topic %s, %" PRIu64 " readings read (%" PRIu64 " unparsable), %.0f s\n",
           topic, total, bad, (double)(now - start) / 1e6);
    printf("%-10s %10s %8s %9s %9s %9s %8s %9s\n", "site", "readings", "per s", "avg temp",
           "min temp", "max temp", "avg hum", "lag ms");
    for (unsigned s = 0; s < SENSOR_SITES; s++) {
      struct site_stats *x = &sites[s];
      double n = x->n ? (double)x->n : 1;
      printf("%-10s %10" PRIu64 " %8.0f %9.2f %9.2f %9.2f %8.2f %9.1f\n", sensors_site_name(s),
             x->n, (double)x->window_n / secs, x->temp_sum / n, x->temp_min, x->temp_max,
             x->hum_sum / n, x->lag_sum_ms / n);
      x->window_n = 0;
    }
    if (group)
      print_group(gcl, group, (double)(now - start) / 1e6, &group_members, last_change,
                  sizeof last_change);
    fflush(stdout);
  }
  strata_client_free(gcl);
  strata_consumer_free(c);
  if (rc < 0) return cli_fail("demo summary", strata_strerror(rc));
  return 0;
}

int cmd_demo(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "sensors")) return demo_sensors(argc - 2, argv + 2);
  if (!strcmp(sub, "summary")) return demo_summary(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr, "usage: strata demo sensors|summary [--help]\n");
  return help ? 0 : 2;
}
