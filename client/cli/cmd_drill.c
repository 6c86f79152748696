/* strata drill: run a failover drill (drill/drill.h) and report. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/cli/common.h"
#include "drill/drill.h"

static const struct opt drill_opts_table[] = {
    {"runs", 'n', OPT_VALUE, "N", "how many times to hit the cluster (default 5)"},
    {"brokers", 0, OPT_VALUE, "N", "brokers in the local cluster, 3-8 (default 3)"},
    {"partitions", 'p', OPT_VALUE, "N", "partitions of the drill topic, RF 3 (default 3)"},
    {"members", 0, OPT_VALUE, "N", "consumer-group members, each a process (default 2)"},
    {"rate", 0, OPT_VALUE, "N", "acks=all writes per second (default 1000)"},
    {"json", 0, OPT_VALUE, "FILE", "write the checker's JSON report to FILE as well"},
    {"net", 0, OPT_VALUE, "nft|proxy",
     "how network faults are made: nftables rules (root) or a fault proxy on loopback that the "
     "brokers' advertised addresses point at (default: nftables when root and nft works, else "
     "the proxy; given, every scenario runs through it)"},
    {"client", 0, OPT_VALUE, "native|kafka",
     "the client driving the workload: libstrata over the native protocol (default), or "
     "librdkafka (idempotent producer, group consumers) over the brokers' Kafka listeners"},
    {"tls", 0, OPT_FLAG, NULL,
     "TLS on every link: SSL:// listeners, mutual TLS for replication and the controller, "
     "clients over TLS; a throwaway CA in the drill's folder signs every certificate"},
    {"command-config", 0, OPT_VALUE, "FILE",
     "client security properties (as for every command): security.protocol SSL runs the drill "
     "as --tls does (the drill's own CA and certificates replace the file's paths)"},
    {"controllers", 0, OPT_VALUE, "N",
     "controllers: 1 or 3, a controller quorum (node.id, controller.quorum.voters; brokers "
     "get the list); kill-controller then kills the active one and partition 0's leader right "
     "after, and measures the time to a new active controller and to the broker's partitions "
     "acknowledging writes again. Default: 3 for kill-controller, 1 for the other scenarios; "
     "kill-controller --controllers 1 kills the one controller and restarts it"},
    {"max-resume-ms", 0, OPT_VALUE, "MS",
     "kill-controller on a quorum: a run whose killed broker's partitions acknowledge writes "
     "later than MS after its kill fails, saying the time (default 3000, issue 14; 0: no bound)"},
    {"keep", 0, OPT_FLAG, NULL, "keep the data, logs and history (kept anyway on failure)"},
    {"no-progress", 0, OPT_FLAG, NULL, "no live progress line on stderr"},
};

static void on_signal(int s) {
  (void)s;
  drill_interrupt();
}

static void print_help(void) {
  opts_print_help("drill SCENARIO [options]",
                  "Start a local cluster (controller + brokers on 127.0.0.20-28), write acks=all "
                  "records and read them in a consumer group while a fault hits the cluster N "
                  "times; print failover and recovery times (p50/p99/max) and the history "
                  "checker's verdict: acknowledged writes lost, duplicated or reordered, "
                  "replicas that disagree, partitions with two owners, commits going backwards.",
                  drill_opts_table, sizeof drill_opts_table / sizeof drill_opts_table[0]);
  printf("\nscenarios:\n");
  for (int i = 0; i < DRILL_SCENARIOS; i++)
    printf("  %-17s %s\n", drill_scenarios[i].name, drill_scenarios[i].what);
  printf("\nexit status: 0 all runs recovered and the checker found nothing; 1 a violation or a\n"
         "run that did not recover (the folder is kept); 2 the drill could not run\n");
}

int cmd_drill(int argc, char **argv) {
  struct opts o;
  if (opts_parse(&o, drill_opts_table, sizeof drill_opts_table / sizeof drill_opts_table[0], argc,
                 argv)) {
    fprintf(stderr, "strata drill: %s (try --help)\n", o.err);
    return 2;
  }
  if (o.help) {
    print_help();
    return 0;
  }
  if (o.positional_count != 1) {
    fprintf(stderr, "usage: strata drill SCENARIO [options] (try --help for the scenarios)\n");
    return 2;
  }
  struct drill_opts d;
  drill_opts_defaults(&d);
  d.scenario = drill_scenario_find(o.positional[0]);
  if (d.scenario < 0) {
    fprintf(stderr, "strata drill: unknown scenario '%s'; one of:", o.positional[0]);
    for (int i = 0; i < DRILL_SCENARIOS; i++) fprintf(stderr, " %s", drill_scenarios[i].name);
    fprintf(stderr, "\n");
    return 2;
  }
  int64_t runs, brokers, parts, members, rate, ctls, resume;
  if (opts_i64(&o, "runs", d.runs, 1, 100000, 0, &runs) ||
      opts_i64(&o, "brokers", d.brokers, 3, 8, 0, &brokers) ||
      opts_i64(&o, "partitions", d.partitions, 1, 64, 0, &parts) ||
      opts_i64(&o, "members", d.members, 1, 8, 0, &members) ||
      opts_i64(&o, "rate", d.rate, 1, 100000, 1, &rate) ||
      opts_i64(&o, "controllers", d.controllers, 0, 5, 0, &ctls) ||
      opts_i64(&o, "max-resume-ms", d.max_resume_ms, 0, 3600000, 0, &resume)) {
    fprintf(stderr, "strata drill: %s\n", o.err);
    return 2;
  }
  d.runs = (int)runs, d.brokers = (int)brokers, d.partitions = (int)parts;
  d.members = (int)members, d.rate = (int)rate;
  if (opts_str(&o, "controllers", NULL) && (ctls == 0 || ctls == 2)) {
    fprintf(stderr, "strata drill: --controllers: 1, or 3 or more (a quorum needs a majority)\n");
    return 2;
  }
  d.controllers = (int)ctls;
  d.max_resume_ms = (int)resume;
  d.keep = opts_has(&o, "keep");
  d.json = opts_str(&o, "json", NULL);
  int net = netfault_kind_parse(opts_str(&o, "net", "auto"));
  if (net < 0) {
    fprintf(stderr, "strata drill: --net: expected nft or proxy, got '%s'\n", opts_str(&o, "net", ""));
    return 2;
  }
  d.net = (enum netfault_kind)net;
  const char *client = opts_str(&o, "client", "native");
  if (strcmp(client, "native") && strcmp(client, "kafka")) {
    fprintf(stderr, "strata drill: --client: expected native or kafka, got '%s'\n", client);
    return 2;
  }
  d.client = strcmp(client, "kafka") ? DRILL_CLIENT_NATIVE : DRILL_CLIENT_KAFKA;
  d.progress = !opts_has(&o, "no-progress") && isatty(2);
  d.tls = opts_has(&o, "tls");
  strata_security sec;
  char err[512];
  if (cli_security(&o, &sec, err, sizeof err)) {
    fprintf(stderr, "strata drill: %s\n", err);
    return 2;
  }
  if (sec.protocol == STRATA_SECURITY_SASL_PLAINTEXT || sec.protocol == STRATA_SECURITY_SASL_SSL) {
    fprintf(stderr, "strata drill: security.protocol=%s: the drill runs PLAINTEXT or SSL\n",
            strata_security_protocol_name(sec.protocol));
    return 2;
  }
  if (sec.protocol == STRATA_SECURITY_SSL) d.tls = 1;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  return drill_run(&d);
}
