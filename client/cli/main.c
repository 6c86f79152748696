/* strata: the command-line tool. Topics, produce, consume, bench, demo. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/common.h"
#include "common/clock.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int s) { (void)s; interrupted = 1; }

/* Options before the command (`strata --bootstrap H:P topic list`, the way
 * Kafka's tools, rpk and kubectl take them). They are the defaults of the
 * command's own --bootstrap and --timeout: one after the command wins. */
static const struct opt global_opts[] = {
    CLI_COMMON_OPTS,
    {"version", 'V', OPT_FLAG, NULL, "print the version"},
};
static struct opts globals;

#define TIMEOUT_DEFAULT_MS 10000
#define TIMEOUT_MAX_MS 3600000

/* --bootstrap after the command, else before it, else STRATA_BOOTSTRAP,
 * else the default. */
const char *cli_bootstrap(const struct opts *o) {
  const char *env = getenv("STRATA_BOOTSTRAP");
  return opts_str(o, "bootstrap",
                  opts_str(&globals, "bootstrap", env && *env ? env : CLI_BOOTSTRAP_DEFAULT));
}

const char *cli_command_config(const struct opts *o) {
  const char *env = getenv("STRATA_COMMAND_CONFIG");
  return opts_str(o, "command-config",
                  opts_str(&globals, "command-config", env && *env ? env : NULL));
}

/* The security.protocol of the command's last connection settings (-1:
 * none made yet), for cli_fail's hint. */
static int protocol_used = -1;

int cli_security(const struct opts *o, strata_security *s, char *err, size_t err_len) {
  strata_security_defaults(s);
  const char *file = cli_command_config(o);
  if (file && strata_security_load(s, file, err, err_len)) return -1;
  protocol_used = s->protocol;
  return 0;
}

strata_client *cli_client_new(const struct opts *o, int timeout_ms, char *err, size_t err_len) {
  strata_security s;
  if (cli_security(o, &s, err, err_len)) return NULL;
  return strata_client_new_secure(cli_bootstrap(o), timeout_ms, &s, err, err_len);
}

strata_client *cli_connect(struct opts *o, const char *what) {
  int t = cli_timeout(o);
  if (t < 0) {
    cli_fail(what, o->err);
    return NULL;
  }
  char err[256];
  strata_client *c = cli_client_new(o, t, err, sizeof err); /* --command-config: TLS, SASL */
  if (!c) cli_fail(what, err);
  return c;
}

strata_producer *cli_producer_new(const struct opts *o, const strata_producer_config *cfg,
                                  strata_delivery_cb cb, void *cb_arg, char *err, size_t err_len) {
  strata_security s;
  if (cli_security(o, &s, err, err_len)) return NULL;
  return strata_producer_new_secure(cli_bootstrap(o), cfg, &s, cb, cb_arg, err, err_len);
}

strata_consumer *cli_consumer_new(const struct opts *o, const strata_consumer_config *cfg,
                                  char *err, size_t err_len) {
  strata_security s;
  if (cli_security(o, &s, err, err_len)) return NULL;
  return strata_consumer_new_secure(cli_bootstrap(o), cfg, &s, err, err_len);
}

int cli_timeout(struct opts *o) {
  int64_t def = TIMEOUT_DEFAULT_MS, v; /* main checked the one before the command */
  if (opts_i64(&globals, "timeout", TIMEOUT_DEFAULT_MS, 1, TIMEOUT_MAX_MS, 0, &def))
    def = TIMEOUT_DEFAULT_MS;
  if (opts_i64(o, "timeout", def, 1, TIMEOUT_MAX_MS, 0, &v)) return -1;
  return (int)v;
}

int cli_fail(const char *what, const char *why) {
  fprintf(stderr, "strata: %s: %s\n", what, why);
  /* A TLS listener hangs up on a plaintext request without a word (it has
   * no way to answer one): say what the likely cause is. */
  if (protocol_used == STRATA_SECURITY_PLAINTEXT && !strcmp(why, strata_strerror(STRATA_ENETWORK)))
    fprintf(stderr, "strata: the broker closed the connection: if its listener is SSL:// or "
                    "SASL_*://, connect with --command-config FILE (security.protocol=SSL, "
                    "ssl.ca.location=CA.pem, ...)\n");
  return 1;
}

int64_t cli_now_ms(void) { return clock_wall_ms(); }
int64_t cli_mono_us(void) { return clock_mono_us(); }

int cli_compression(const char *s, int *out) {
  static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
    if (!strcmp(s, names[i])) {
      *out = i; /* STRATA_COMPRESSION_* are Kafka's numbers, in this order */
      return 0;
    }
  return -1;
}

int cli_compression_opts(struct opts *o, const char *what, int *codec, int *level) {
  if (cli_compression(opts_str(o, "compression", "none"), codec))
    return cli_fail(what, CLI_COMPRESSION_USAGE);
  int64_t l;
  if (opts_i64(o, "compression-level", 0, -131072, 22, 0, &l)) return cli_fail(what, o->err);
  *level = (int)l;
  return 0;
}

int cli_acks(const char *s, int *out) {
  if (!strcmp(s, "0")) *out = 0;
  else if (!strcmp(s, "1")) *out = 1;
  else if (!strcmp(s, "all") || !strcmp(s, "-1")) *out = -1;
  else return -1;
  return 0;
}

/* Parse argv for a command; prints help or the parse error. Returns 0 to go
 * on, or 1 + exit code (1 for help, 3 for an error) to stop. */
static int parse(struct opts *o, const struct opt *t, size_t n, int argc, char **argv,
                 const char *usage, const char *summary, size_t npos) {
  if (opts_parse(o, t, n, argc, argv)) {
    fprintf(stderr, "strata %s: %s (try --help)\n", usage, o->err);
    return 3;
  }
  if (o->help) {
    opts_print_help(usage, summary, t, n);
    return 1;
  }
  if (o->positional_count != npos) {
    fprintf(stderr, "usage: strata %s (try --help)\n", usage);
    return 3;
  }
  return 0;
}
#define PARSE_OR_RETURN(o, t, argc, argv, usage, summary, npos)                \
  int parsed_ = parse(o, t, sizeof t / sizeof t[0], argc, argv, usage, summary, npos); \
  if (parsed_) return parsed_ == 1 ? 0 : 2

static strata_client *connect_or_fail(struct opts *o) {
  char err[256];
  int t = cli_timeout(o);
  if (t < 0) {
    fprintf(stderr, "strata: %s\n", o->err);
    return NULL;
  }
  strata_client *c = cli_client_new(o, t, err, sizeof err);
  if (!c) fprintf(stderr, "strata: %s\n", err);
  return c;
}

/* ---- topic ---- */

static const struct opt topic_create_opts[] = {
    CLI_COMMON_OPTS,
    {"partitions", 'p', OPT_VALUE, "N", "number of partitions (default: broker's num.partitions)"},
    {"replication-factor", 'r', OPT_VALUE, "N", "replicas per partition (default 1)"},
    {"config", 'c', OPT_MULTI, "KEY=VALUE",
     "topic config, repeatable: retention.ms, retention.bytes, segment.bytes, "
     "segment.ms, message.timestamp.type, max.message.bytes"},
};

static int topic_create(int argc, char **argv) {
  struct opts o;
  PARSE_OR_RETURN(&o, topic_create_opts, argc, argv, "topic create NAME [options]",
                  "Create a topic.", 1);
  int64_t parts, rf;
  if (opts_i64(&o, "partitions", 0, 1, 10000, 0, &parts) ||
      opts_i64(&o, "replication-factor", 1, 1, 16, 0, &rf))
    return cli_fail("topic create", o.err);
  const char *const *cfg;
  size_t n = opts_multi(&o, "config", &cfg);
  const char *keys[OPTS_MULTI_MAX], *vals[OPTS_MULTI_MAX];
  char buf[OPTS_MULTI_MAX][512];
  for (size_t i = 0; i < n; i++) {
    snprintf(buf[i], sizeof buf[i], "%s", cfg[i]);
    char *eq = strchr(buf[i], '=');
    if (!eq || eq == buf[i]) return cli_fail("topic create", "--config wants KEY=VALUE");
    *eq = 0;
    keys[i] = buf[i];
    vals[i] = eq + 1;
  }
  strata_client *c = connect_or_fail(&o);
  if (!c) return 1;
  char err[512] = "";
  const char *name = o.positional[0];
  int rc = strata_topic_create(c, name, (uint32_t)parts, (uint32_t)rf, keys, vals, n, err,
                               sizeof err);
  strata_client_free(c);
  if (rc) return cli_fail("topic create", err[0] ? err : strata_strerror(rc));
  printf("created topic %s\n", name);
  return 0;
}

static const struct opt topic_common_opts[] = {CLI_COMMON_OPTS};

static void print_ids(const int32_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%s%" PRId32, i ? "," : "", v[i]);
}

static int topic_list_or_describe(int argc, char **argv, int describe) {
  struct opts o;
  PARSE_OR_RETURN(&o, topic_common_opts, argc, argv,
                  describe ? "topic describe NAME" : "topic list",
                  describe ? "Show a topic's partitions, leaders and configs."
                           : "List topics.",
                  describe ? 1 : 0);
  strata_client *c = connect_or_fail(&o);
  if (!c) return 1;
  strata_metadata *m = NULL;
  const char *names[1] = {describe ? o.positional[0] : NULL};
  int rc = strata_metadata_get(c, describe ? names : NULL, describe ? 1 : 0, &m);
  if (rc) {
    strata_client_free(c);
    return cli_fail(describe ? "topic describe" : "topic list", strata_strerror(rc));
  }
  int exit_code = 0;
  for (size_t i = 0; i < m->ntopics; i++) {
    strata_topic_info *t = &m->topics[i];
    if (t->error) {
      fprintf(stderr, "strata: topic %s: %s\n", t->name, strata_strerror(t->error));
      exit_code = 1;
      continue;
    }
    if (!describe) {
      printf("%s\t%zu partition(s)\n", t->name, t->npartitions);
      continue;
    }
    printf("Topic: %s\tPartitions: %zu\tConfigs:", t->name, t->npartitions);
    for (size_t k = 0; k < t->nconfigs; k++)
      printf("%s%s=%s", k ? "," : " ", t->config_keys[k], t->config_values[k]);
    printf("\n");
    for (size_t k = 0; k < t->npartitions; k++) {
      strata_partition_info *p = &t->partitions[k];
      printf("  Partition: %u\tLeader: %d\tEpoch: %d\tReplicas: ", p->partition, p->leader,
             p->leader_epoch);
      print_ids(p->replicas, p->nreplicas);
      printf("\tIsr: ");
      print_ids(p->isr, p->nisr);
      int64_t start = -1, end = -1;
      if (!strata_list_offset(c, t->name, p->partition, STRATA_OFFSET_BEGINNING, &start, NULL) &&
          !strata_list_offset(c, t->name, p->partition, STRATA_OFFSET_END, &end, NULL))
        printf("\tOffsets: %" PRId64 "..%" PRId64, start, end);
      printf("\n");
    }
  }
  strata_client_free(c);
  strata_metadata_free(m);
  return exit_code;
}

static int topic_delete(int argc, char **argv) {
  struct opts o;
  PARSE_OR_RETURN(&o, topic_common_opts, argc, argv, "topic delete NAME",
                  "Delete a topic and all its data.", 1);
  strata_client *c = connect_or_fail(&o);
  if (!c) return 1;
  char err[512] = "";
  int rc = strata_topic_delete(c, o.positional[0], err, sizeof err);
  strata_client_free(c);
  if (rc) return cli_fail("topic delete", err[0] ? err : strata_strerror(rc));
  printf("deleted topic %s\n", o.positional[0]);
  return 0;
}

static const struct opt topic_alter_opts[] = {
    CLI_COMMON_OPTS,
    {"partitions", 'p', OPT_VALUE, "N", "the new total number of partitions (required)"},
    {"validate-only", 0, OPT_FLAG, NULL, "check the change, make none"},
};

/* Only growing is possible: a key's partition would change under existing
 * data, and partitions are never taken away (as in Kafka). */
static int topic_alter(int argc, char **argv) {
  struct opts o;
  PARSE_OR_RETURN(&o, topic_alter_opts, argc, argv, "topic alter NAME --partitions N",
                  "Add partitions to a topic (N is the new total; existing keys may then "
                  "map to other partitions).", 1);
  int64_t parts;
  if (!opts_has(&o, "partitions"))
    return cli_fail("topic alter", "--partitions N (the new total) is required");
  if (opts_i64(&o, "partitions", 0, 1, 10000, 0, &parts))
    return cli_fail("topic alter", o.err);
  int validate = opts_has(&o, "validate-only");
  strata_client *c = connect_or_fail(&o);
  if (!c) return 1;
  char err[512] = "";
  const char *name = o.positional[0];
  int rc = strata_topic_add_partitions(c, name, (uint32_t)parts, validate, err, sizeof err);
  strata_client_free(c);
  if (rc) {
    char why[700];
    snprintf(why, sizeof why, "topic %s: %s", name, err[0] ? err : strata_strerror(rc));
    return cli_fail("topic alter", why);
  }
  if (validate)
    printf("topic %s can grow to %" PRId64 " partition(s) (validated only)\n", name, parts);
  else
    printf("topic %s now has %" PRId64 " partition(s)\n", name, parts);
  return 0;
}

static int cmd_topic(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : "";
  if (!strcmp(sub, "create")) return topic_create(argc - 2, argv + 2);
  if (!strcmp(sub, "list")) return topic_list_or_describe(argc - 2, argv + 2, 0);
  if (!strcmp(sub, "describe")) return topic_list_or_describe(argc - 2, argv + 2, 1);
  if (!strcmp(sub, "delete")) return topic_delete(argc - 2, argv + 2);
  if (!strcmp(sub, "alter")) return topic_alter(argc - 2, argv + 2);
  int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
  fprintf(help ? stdout : stderr,
          "usage: strata topic create|list|describe|alter|delete [--help]\n");
  return help ? 0 : 2;
}

/* ---- produce ---- */

static const struct opt produce_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "topic to write to (required)"},
    {"partition", 'p', OPT_VALUE, "N", "write every record to this partition"},
    {"key-separator", 'k', OPT_VALUE, "SEP", "split each line into key SEP value"},
    {"acks", 'a', OPT_VALUE, "0|1|all", "acknowledgement level (default all)"},
    {"no-idempotence", 0, OPT_FLAG, NULL,
     "let a retry write a record twice (idempotence is on with acks=all)"},
    CLI_COMPRESSION_OPTS,
    {"linger-ms", 0, OPT_VALUE, "MS", "batch linger (default 5)"},
    {"header", 'H', OPT_MULTI, "KEY=VALUE", "header added to every record, repeatable"},
};

struct produce_stats {
  uint64_t ok, failed;
  int first_error;
};

static void on_delivery(const strata_delivery *d, void *arg) {
  struct produce_stats *s = arg;
  if (d->error) {
    if (!s->first_error) s->first_error = d->error;
    s->failed++;
  } else {
    s->ok++;
  }
}

static int cmd_produce(int argc, char **argv) {
  struct opts o;
  PARSE_OR_RETURN(&o, produce_opts, argc, argv, "produce --topic TOPIC [options] < lines",
                  "Write one record per line of standard input.", 0);
  const char *topic = opts_str(&o, "topic", NULL);
  if (!topic) return cli_fail("produce", "--topic is required");
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  int64_t part, linger;
  if (opts_i64(&o, "partition", -1, -1, 9999, 0, &part) ||
      opts_i64(&o, "linger-ms", 5, 0, 60000, 0, &linger))
    return cli_fail("produce", o.err);
  cfg.linger_ms = (int)linger;
  if (cli_acks(opts_str(&o, "acks", "all"), &cfg.acks))
    return cli_fail("produce", "--acks must be 0, 1 or all");
  cfg.enable_idempotence = !opts_has(&o, "no-idempotence");
  int crc = cli_compression_opts(&o, "produce", &cfg.compression, &cfg.compression_level);
  if (crc) return crc;
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("produce", o.err);
  cfg.request_timeout_ms = t;
  const char *const *hv;
  size_t nh = opts_multi(&o, "header", &hv);
  strata_header hs[OPTS_MULTI_MAX];
  for (size_t i = 0; i < nh; i++) {
    const char *eq = strchr(hv[i], '=');
    if (!eq) return cli_fail("produce", "--header wants KEY=VALUE");
    hs[i] = (strata_header){hv[i], (size_t)(eq - hv[i]), eq + 1, strlen(eq + 1)};
  }
  const char *sep = opts_str(&o, "key-separator", NULL);
  if (sep && !*sep) return cli_fail("produce", "--key-separator must not be empty");
  struct produce_stats st = {0};
  char err[256];
  strata_producer *p = cli_producer_new(&o, &cfg, on_delivery, &st, err,
                                           sizeof err);
  if (!p) return cli_fail("produce", err);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  while (!rc && (n = getline(&line, &cap, stdin)) >= 0) {
    if (n > 0 && line[n - 1] == '\n') line[--n] = 0;
    const char *key = NULL, *val = line;
    size_t klen = 0, vlen = (size_t)n;
    if (sep) {
      char *s = strstr(line, sep);
      if (s) {
        key = line;
        klen = (size_t)(s - line);
        val = s + strlen(sep);
        vlen = (size_t)n - klen - strlen(sep);
      }
    }
    while ((rc = strata_produce(p, topic, (int32_t)part, key, klen, val, vlen, 0, hs, nh,
                                NULL)) == STRATA_EQUEUE_FULL)
      strata_producer_poll(p, 10);
    if (!rc) strata_producer_poll(p, 0);
  }
  free(line);
  if (!rc) rc = strata_producer_flush(p, cfg.request_timeout_ms);
  strata_producer_free(p);
  if (rc) return cli_fail("produce", strata_strerror(rc));
  fprintf(stderr, "strata: produced %" PRIu64 " record(s) to %s", st.ok, topic);
  if (st.failed)
    fprintf(stderr, "; %" PRIu64 " failed (%s)", st.failed, strata_strerror(st.first_error));
  fprintf(stderr, "\n");
  return st.failed ? 1 : 0;
}

/* ---- consume ---- */

static const struct opt consume_opts[] = {
    CLI_COMMON_OPTS,
    {"topic", 't', OPT_VALUE, "TOPIC", "topic to read (required)"},
    {"partition", 'p', OPT_VALUE, "N", "read only this partition (default: all)"},
    {"from-beginning", 0, OPT_FLAG, NULL, "start at the earliest offset"},
    {"offset", 'o', OPT_VALUE, "N", "start at this offset (needs --partition)"},
    {"from-timestamp", 0, OPT_VALUE, "TS", "start at the first record at/after TS (ms or ISO-8601)"},
    {"count", 'n', OPT_VALUE, "N", "stop after N records"},
    {"follow", 'f', OPT_FLAG, NULL, "keep waiting for new records (default: stop at the end)"},
    {"print-key", 0, OPT_FLAG, NULL, "print the key before the value"},
    {"print-offset", 0, OPT_FLAG, NULL, "print partition:offset before the value"},
    {"print-timestamp", 0, OPT_FLAG, NULL, "print the record timestamp (ms)"},
    {"print-headers", 0, OPT_FLAG, NULL, "print headers as k=v,k=v"},
    {"separator", 0, OPT_VALUE, "SEP", "between printed fields (default tab)"},
    {"group", 'g', OPT_VALUE, "GROUP", "join this consumer group (--topic may list several, comma-separated); runs until Ctrl-C or --count"},
    {"instance-id", 0, OPT_VALUE, "ID", "with --group: static membership (a restart keeps the partitions)"},
    {"topic-pattern", 0, OPT_VALUE, "REGEX", "with --group instead of --topic: every topic matching this POSIX regex, as they come and go"},
};

static int at_end(strata_consumer *c, const char *topic, const uint32_t *parts, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int64_t pos = strata_consumer_position(c, topic, parts[i]);
    int64_t hw = strata_consumer_high_watermark(c, topic, parts[i]);
    if (hw < 0 || pos < hw) return 0;
  }
  return 1;
}

static void print_message(struct opts *o, const strata_message *msg) {
  const char *sep = opts_str(o, "separator", "\t");
  if (opts_has(o, "print-offset")) printf("%u:%" PRId64 "%s", msg->partition, msg->offset, sep);
  if (opts_has(o, "print-timestamp")) printf("%" PRId64 "%s", msg->timestamp, sep);
  if (opts_has(o, "print-key")) {
    if (msg->key_len >= 0) fwrite(msg->key, 1, (size_t)msg->key_len, stdout);
    else fputs("null", stdout);
    fputs(sep, stdout);
  }
  if (opts_has(o, "print-headers")) {
    for (size_t i = 0; i < msg->header_count; i++) {
      printf("%s%.*s=", i ? "," : "", (int)msg->headers[i].key_len, msg->headers[i].key);
      fwrite(msg->headers[i].value, 1, msg->headers[i].value_len, stdout);
    }
    fputs(sep, stdout);
  }
  if (msg->value_len >= 0) fwrite(msg->value, 1, (size_t)msg->value_len, stdout);
  else fputs("null", stdout);
  putchar('\n');
}

static void on_rebalance(strata_consumer *c, int event, const strata_topic_partition *tps,
                         size_t n, void *arg) {
  (void)c, (void)arg;
  fprintf(stderr, "strata: %s:", event == STRATA_REBALANCE_ASSIGNED  ? "assigned"
                                  : event == STRATA_REBALANCE_REVOKED ? "revoked"
                                                                      : "lost");
  for (size_t i = 0; i < n; i++) fprintf(stderr, " %s-%u", tps[i].topic, tps[i].partition);
  fprintf(stderr, "\n");
}

/* consume --group: a member of a consumer group, until Ctrl-C or --count. */
static int consume_group(struct opts *o, const char *topics_arg, int64_t count, int t) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", topics_arg);
  const char *topics[64];
  size_t nt = 0;
  for (char *s = strtok(buf, ","); s && nt < 64; s = strtok(NULL, ",")) topics[nt++] = s;
  strata_consumer_config cfg;
  strata_consumer_config_defaults(&cfg);
  cfg.request_timeout_ms = t;
  char err[256];
  strata_consumer *c = cli_consumer_new(o, &cfg, err, sizeof err);
  if (!c) return cli_fail("consume", err);
  strata_group_config g;
  strata_group_config_defaults(&g);
  g.group_id = opts_str(o, "group", NULL);
  g.instance_id = opts_str(o, "instance-id", NULL);
  g.reset_offset = opts_has(o, "from-beginning") ? STRATA_OFFSET_BEGINNING : STRATA_OFFSET_END;
  g.on_rebalance = on_rebalance;
  g.topic_pattern = opts_str(o, "topic-pattern", NULL);
  int rc = strata_consumer_subscribe(c, &g, topics, nt);
  if (rc) {
    strata_consumer_free(c);
    return cli_fail("consume", strata_strerror(rc));
  }
  signal(SIGINT, on_sigint);
  signal(SIGTERM, on_sigint);
  signal(SIGPIPE, SIG_IGN);
  int64_t seen = 0;
  while (!interrupted && (count < 0 || seen < count)) {
    const strata_message *msg;
    rc = strata_consumer_poll(c, 200, &msg);
    if (rc < 0) break;
    if (rc == 0) continue;
    print_message(o, msg);
    seen++;
  }
  fflush(stdout);
  strata_consumer_free(c); /* commits what was printed, and leaves the group */
  if (rc < 0) return cli_fail("consume", strata_strerror(rc));
  return 0;
}

/* ---- ping: container health checks ---- */

static const struct opt ping_opts[] = {CLI_COMMON_OPTS};

static int cmd_ping(int argc, char **argv) {
  struct opts o;
  PARSE_OR_RETURN(&o, ping_opts, argc, argv, "ping [--bootstrap HOST:PORT]",
                  "Exit 0 when the broker or controller at the address answers requests "
                  "(a health check).",
                  0);
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("ping", o.err);
  char err[256], version[64] = "";
  strata_client *c = cli_client_new(&o, t, err, sizeof err);
  if (!c) return cli_fail("ping", err);
  int rc = strata_ping(c, version, sizeof version);
  strata_client_free(c);
  if (rc) return cli_fail("ping", strata_strerror(rc));
  printf("ok %s\n", version);
  return 0;
}

static int cmd_consume(int argc, char **argv) {
  struct opts o;
  PARSE_OR_RETURN(&o, consume_opts, argc, argv, "consume --topic TOPIC [options]",
                  "Print records. Starts at the end of the log unless told otherwise.", 0);
  const char *topic = opts_str(&o, "topic", NULL);
  if (opts_has(&o, "topic-pattern") && !opts_has(&o, "group"))
    return cli_fail("consume", "--topic-pattern needs --group");
  if (!topic && !opts_has(&o, "topic-pattern")) return cli_fail("consume", "--topic is required");
  if (opts_has(&o, "group")) {
    int64_t count;
    if (opts_i64(&o, "count", -1, 0, INT64_MAX, 1, &count)) return cli_fail("consume", o.err);
    if (opts_has(&o, "partition") || opts_has(&o, "offset") || opts_has(&o, "from-timestamp"))
      return cli_fail("consume", "--group chooses the partitions and starts at the committed offsets "
                                 "(--partition, --offset and --from-timestamp do not apply)");
    int t = cli_timeout(&o);
    if (t < 0) return cli_fail("consume", o.err);
    return consume_group(&o, topic ? topic : "", count, t);
  }
  int64_t part, offset, count, ts = -1;
  if (opts_i64(&o, "partition", -1, 0, 9999, 0, &part) ||
      opts_i64(&o, "offset", -1, 0, INT64_MAX, 0, &offset) ||
      opts_i64(&o, "count", -1, 0, INT64_MAX, 1, &count))
    return cli_fail("consume", o.err);
  if (opts_has(&o, "from-timestamp") &&
      opts_parse_timestamp(opts_str(&o, "from-timestamp", ""), &ts))
    return cli_fail("consume", "--from-timestamp wants ms since the epoch or YYYY-MM-DDTHH:MM:SSZ");
  if (offset >= 0 && part < 0) return cli_fail("consume", "--offset needs --partition");
  int starts = (offset >= 0) + opts_has(&o, "from-beginning") + (ts >= 0);
  if (starts > 1)
    return cli_fail("consume", "choose one of --from-beginning, --offset, --from-timestamp");
  int64_t start = offset >= 0 ? offset
                  : opts_has(&o, "from-beginning") ? STRATA_OFFSET_BEGINNING
                                                   : STRATA_OFFSET_END;
  strata_consumer_config cfg;
  strata_consumer_config_defaults(&cfg);
  int t = cli_timeout(&o);
  if (t < 0) return cli_fail("consume", o.err);
  cfg.request_timeout_ms = t;
  cfg.fetch_max_wait_ms = 500;
  char err[256];
  strata_consumer *c = cli_consumer_new(&o, &cfg, err, sizeof err);
  if (!c) return cli_fail("consume", err);
  /* Find the partitions. */
  strata_client *cl = cli_client_new(&o, t, err, sizeof err);
  strata_metadata *m = NULL;
  const char *names[1] = {topic};
  int rc = cl ? strata_metadata_get(cl, names, 1, &m) : STRATA_EUNREACHABLE;
  strata_client_free(cl);
  if (!rc && (m->ntopics != 1 || m->topics[0].error)) rc = STRATA_EUNKNOWN_TOPIC;
  uint32_t parts[10000];
  size_t np = 0;
  for (size_t i = 0; !rc && i < m->topics[0].npartitions; i++) {
    uint32_t p = m->topics[0].partitions[i].partition;
    if (part >= 0 && p != (uint32_t)part) continue;
    parts[np++] = p;
    rc = strata_consumer_assign(c, topic, p, start);
    if (!rc && ts >= 0) rc = strata_consumer_seek_timestamp(c, topic, p, ts);
  }
  strata_metadata_free(m);
  if (!rc && np == 0) rc = STRATA_EUNKNOWN_TOPIC;
  if (rc) {
    strata_consumer_free(c);
    return cli_fail("consume", strata_strerror(rc));
  }
  int follow = opts_has(&o, "follow");
  int64_t seen = 0;
  signal(SIGINT, on_sigint);
  signal(SIGPIPE, SIG_IGN);
  while (!interrupted && (count < 0 || seen < count)) {
    const strata_message *msg;
    rc = strata_consumer_poll(c, 500, &msg);
    if (rc < 0) break;
    if (rc == 0) {
      if (!follow && at_end(c, topic, parts, np)) break;
      continue;
    }
    print_message(&o, msg);
    seen++;
    if (!follow && at_end(c, topic, parts, np)) break;
  }
  fflush(stdout);
  strata_consumer_free(c);
  if (rc < 0) return cli_fail("consume", strata_strerror(rc));
  return 0;
}

/* ---- main ---- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: strata [--bootstrap HOST:PORT] [--timeout MS] [--command-config FILE]\n"
          "              COMMAND [options]\n"
          "       (every command takes --help)\n"
          "\n"
          "  topic create|list|describe|alter|delete   manage topics (alter: add partitions)\n"
          "  produce      write lines from stdin as records\n"
          "  consume      print records (from beginning / offset / timestamp / end, or as a\n"
          "               member of a consumer group with --group)\n"
          "  group list|describe|reset-offsets|delete   consumer groups\n"
          "  user create|delete|list   SCRAM users (password from stdin or a file)\n"
          "  acl add|list|remove       ACLs, as kafka-acls (--allow-principal, --topic, ...)\n"
          "  ping         health check: does the broker/controller answer?\n"
          "  bench produce|consume   measure throughput and latency\n"
          "  demo sensors|summary    the IoT demo's simulator and live summary\n"
          "  cluster status|elect-preferred   brokers, leaders, ISRs, lag; leader rebalance\n"
          "  controller add-voter|remove-voter   replace a controller of the quorum (KIP-853)\n"
          "  drill SCENARIO   failover drill on a local cluster it starts: kill-leader,\n"
          "               pause-leader, partition-leader, kill-controller, rolling-restart,\n"
          "               kill-consumer; failover/recovery p50/p99/max and a safety verdict\n"
          "\n"
          "The broker address comes from -b/--bootstrap HOST:PORT[,HOST:PORT...], before\n"
          "or after the command (after wins), or STRATA_BOOTSTRAP (default\n"
          CLI_BOOTSTRAP_DEFAULT "); --timeout MS (default 10000) the same way.\n"
          "--command-config FILE (or STRATA_COMMAND_CONFIG): how to connect, TLS and SASL,\n"
          "in librdkafka's property names, so the file kcat -F reads works here too:\n"
          "  security.protocol=SSL   ssl.ca.location=ca.pem   (ssl.certificate.location,\n"
          "  ssl.key.location, ssl.endpoint.identification.algorithm=https|none, sasl.*)\n");
}

int main(int argc, char **argv) {
  int first = argc > 0 ? opts_parse_leading(&globals, global_opts,
                                            sizeof global_opts / sizeof global_opts[0],
                                            argc - 1, argv + 1)
                       : 0;
  if (first < 0) {
    if (strstr(globals.err, "unknown option"))
      fprintf(stderr, "strata: %s: before the command go only -b/--bootstrap, --timeout, "
                      "--command-config, --help and --version\n", globals.err);
    else
      fprintf(stderr, "strata: %s (try strata --help)\n", globals.err);
    return 2;
  }
  if (globals.help) {
    usage(stdout);
    return 0;
  }
  if (opts_has(&globals, "version")) {
    printf("strata 0.1.0\n");
    return 0;
  }
  int64_t t;
  if (opts_i64(&globals, "timeout", TIMEOUT_DEFAULT_MS, 1, TIMEOUT_MAX_MS, 0, &t)) {
    fprintf(stderr, "strata: %s\n", globals.err);
    return 2;
  }
  argc -= first; /* argv[1] is the command from here on */
  argv += first;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "drill") && (opts_has(&globals, "bootstrap") || opts_has(&globals, "timeout"))) {
    fprintf(stderr, "strata drill: it starts a cluster of its own (--bootstrap and --timeout do "
                    "not apply)\n");
    return 2;
  }
  if (!strcmp(cmd, "topic")) return cmd_topic(argc - 1, argv + 1);
  if (!strcmp(cmd, "produce")) return cmd_produce(argc - 2, argv + 2);
  if (!strcmp(cmd, "consume")) return cmd_consume(argc - 2, argv + 2);
  if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
  if (!strcmp(cmd, "demo")) return cmd_demo(argc - 1, argv + 1);
  if (!strcmp(cmd, "cluster")) return cmd_cluster(argc - 1, argv + 1);
  if (!strcmp(cmd, "controller")) return cmd_controller(argc - 1, argv + 1);
  if (!strcmp(cmd, "group")) return cmd_group(argc - 1, argv + 1);
  if (!strcmp(cmd, "user")) return cmd_user(argc - 1, argv + 1);
  if (!strcmp(cmd, "acl")) return cmd_acl(argc - 1, argv + 1);
  if (!strcmp(cmd, "drill")) return cmd_drill(argc - 2, argv + 2);
  if (!strcmp(cmd, "ping")) return cmd_ping(argc - 2, argv + 2);
  fprintf(stderr, "strata: unknown command '%s' (try strata --help)\n", cmd);
  return 2;
}
