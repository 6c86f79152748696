/* strata-controller: the cluster's controller (one process for now). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sasl_config.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/listener.h"
#include "common/tls.h"
#include "common/trace.h"
#include "controller/controller.h"

static const char *const keys[] = {"controller.id", "listeners", "data.dir",
                                   "broker.session.timeout.ms", "auto.leader.rebalance.enable",
                                   "leader.imbalance.check.interval.ms", "num.partitions",
                                   "broker.disconnect.grace.ms", "log.level", "admin.listeners",
                                   "admin.connections.max", "max.partitions.per.broker",
                                   /* common/tls.h: tls_settings_keys */
                                   "ssl.certificate.location", "ssl.key.location",
                                   "ssl.ca.location", "ssl.client.auth",
                                   "ssl.principal.mapping.rules",
                                   "ssl.endpoint.identification.algorithm",
                                   "sasl.enabled.mechanisms", "authorizer.enabled", "super.users",
                                   "allow.everyone.if.no.acl.found",
                                   /* the quorum (issue 14, docs/quorum.md) */
                                   "node.id", "controller.quorum.voters",
                                   "controller.quorum.election.timeout.ms",
                                   "controller.quorum.fetch.timeout.ms",
                                   "metadata.log.max.record.bytes.between.snapshots", NULL};

static void usage(FILE *f) {
  fprintf(f, "usage: strata-controller [--config FILE] [--set key=value]...\n"
             "                         [--bootstrap-user NAME [--bootstrap-password-file F]]\n\n"
             "Keeps the cluster metadata (brokers, topics, leaders, ISRs) in data.dir and\n"
             "elects partition leaders. Keys: controller.id (default 0), listeners\n"
             "(default 127.0.0.1:9093), data.dir (default ./controller-data),\n"
             "broker.session.timeout.ms (default 1500), broker.disconnect.grace.ms\n"
             "(default 300; 0 waits for the session timeout), auto.leader.rebalance.enable\n"
             "(default true), leader.imbalance.check.interval.ms (default 10000),\n"
             "num.partitions (default 1), log.level, admin.listeners (HTTP /metrics,\n"
             "/livez, /readyz; default 127.0.0.1:9645, empty: off), admin.connections.max\n"
             "(default 64), max.partitions.per.broker (replicas one broker may host; topic\n"
             "creations and growth past it are refused; default 10000). listeners and admin.listeners take a scheme: PLAINTEXT://,\n"
             "SSL://, SASL_PLAINTEXT://, SASL_SSL:// and HTTP://, HTTPS://; TLS uses\n"
             "ssl.certificate.location, ssl.key.location, ssl.ca.location,\n"
             "ssl.client.auth (none|requested|required), ssl.principal.mapping.rules\n"
             "(reloaded on SIGHUP). authorizer.enabled (default false), super.users\n"
             "(User:a;User:b), allow.everyone.if.no.acl.found (default false).\n"
             "A quorum of controllers (docs/quorum.md): node.id (this controller's id;\n"
             "controller.id is its older name), controller.quorum.voters=ID@HOST:PORT,...\n"
             "(every voter's controller listener, the same list on each; a controller\n"
             "not listed starts as an observer, to be added with strata controller add-voter),\n"
             "controller.quorum.election.timeout.ms (default 250),\n"
             "controller.quorum.fetch.timeout.ms (default 500),\n"
             "metadata.log.max.record.bytes.between.snapshots (default 20 MiB). Without voters: one\n"
             "controller, as before.\n"
             "Environment variables\n"
             "STRATA_<KEY> come first (STRATA_DATA_DIR=/data sets data.dir).\n\n"
             "--bootstrap-user NAME: on a cluster with no user yet, create NAME with\n"
             "SCRAM-SHA-256 and SCRAM-SHA-512 credentials; the password is the first line\n"
             "of --bootstrap-password-file, or STRATA_BOOTSTRAP_PASSWORD.\n");
}

/* The bootstrap user's password: --bootstrap-password-file's first line,
 * else STRATA_BOOTSTRAP_PASSWORD (never a command-line argument: /proc
 * shows those to every user). 0, or -1 with err set. */
static int bootstrap_password(const char *file, char *pw, size_t cap, size_t *len, char *err,
                              size_t err_len) {
  *len = 0;
  if (file) {
    FILE *f = fopen(file, "r");
    if (!f) {
      snprintf(err, err_len, "--bootstrap-password-file %s: %s", file, strerror(errno));
      return -1;
    }
    if (!fgets(pw, (int)cap, f)) pw[0] = 0;
    fclose(f);
  } else {
    const char *env = getenv("STRATA_BOOTSTRAP_PASSWORD");
    snprintf(pw, cap, "%s", env ? env : "");
  }
  size_t n = strlen(pw);
  while (n && (pw[n - 1] == '\n' || pw[n - 1] == '\r')) pw[--n] = 0;
  if (!n || n >= cap - 1) {
    snprintf(err, err_len, "--bootstrap-user needs a password (1 to %zu bytes) from "
             "--bootstrap-password-file or STRATA_BOOTSTRAP_PASSWORD", cap - 2);
    return -1;
  }
  *len = n;
  return 0;
}

int main(int argc, char **argv) {
  struct config *c = config_new();
  char err[512] = "";
  const char *boot_user = NULL, *boot_file = NULL;
  /* STRATA_* environment first (containers), then --config, then --set */
  int rc = config_load_env(c, keys);
  for (int i = 1; i < argc && !rc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      config_free(c);
      return 0;
    } else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
      rc = config_load_file(c, argv[++i], err, sizeof err);
    } else if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--set")) && i + 1 < argc) {
      rc = config_parse_assignment(c, argv[++i], err, sizeof err);
    } else if (!strcmp(argv[i], "--bootstrap-user") && i + 1 < argc) {
      boot_user = argv[++i];
    } else if (!strcmp(argv[i], "--bootstrap-password-file") && i + 1 < argc) {
      boot_file = argv[++i];
    } else {
      fprintf(stderr, "strata-controller: unknown or incomplete argument '%s' (try --help)\n", argv[i]);
      config_free(c);
      return 2;
    }
  }
  int64_t id = 0, timeout = 1500, check = 10000, np = 1, grace = 300;
  int64_t per_broker = CTRL_PARTITIONS_PER_BROKER_DEFAULT;
  int rebalance = 1;
  if (!rc) rc = config_check_known(c, keys, err, sizeof err);
  if (!rc) rc = config_get_int64(c, "controller.id", 0, 0, 1 << 30, &id, err, sizeof err);
  if (!rc && config_get(c, "node.id")) {
    int64_t nid = 0;
    rc = config_get_int64(c, "node.id", 0, 0, 1 << 30, &nid, err, sizeof err);
    if (!rc && config_get(c, "controller.id") && nid != id) {
      snprintf(err, sizeof err, "node.id %lld and controller.id %lld differ", (long long)nid,
               (long long)id);
      rc = STRATA_EINVALID_CONFIG;
    }
    id = nid;
  }
  static struct qnode_config qcfg;
  const char *voters = config_get(c, "controller.quorum.voters");
  int quorum = voters && *voters;
  if (!rc && quorum) rc = qnode_parse_voters(voters, &qcfg, err, sizeof err);
  if (!rc && quorum)
    rc = config_get_int64(c, "controller.quorum.election.timeout.ms", QNODE_ELECTION_TIMEOUT_MS, 50, 600000,
                          &qcfg.election_timeout_ms, err, sizeof err);
  if (!rc && quorum)
    rc = config_get_int64(c, "controller.quorum.fetch.timeout.ms", QNODE_FETCH_TIMEOUT_MS, 100, 600000,
                          &qcfg.fetch_timeout_ms, err, sizeof err);
  if (!rc && quorum)
    rc = config_get_int64(c, "metadata.log.max.record.bytes.between.snapshots", QNODE_SNAPSHOT_BYTES,
                          1, INT64_C(1) << 40, &qcfg.snapshot_bytes, err, sizeof err);
  qcfg.self = (int32_t)id;
  if (!rc) rc = config_get_int64(c, "broker.session.timeout.ms", 1500, 100, 600000, &timeout, err, sizeof err);
  if (!rc) rc = config_get_int64(c, "leader.imbalance.check.interval.ms", 10000, 100, 86400000, &check, err, sizeof err);
  if (!rc) rc = config_get_int64(c, "num.partitions", 1, 1, 10000, &np, err, sizeof err);
  if (!rc) rc = config_get_int64(c, "broker.disconnect.grace.ms", 300, 0, 600000, &grace, err, sizeof err);
  if (!rc) rc = config_get_bool(c, "auto.leader.rebalance.enable", 1, &rebalance, err, sizeof err);
  if (!rc)
    rc = config_get_int64(c, "max.partitions.per.broker", CTRL_PARTITIONS_PER_BROKER_DEFAULT, 1,
                          CTRL_PARTITIONS_PER_BROKER_MAX, &per_broker, err, sizeof err);
  int authz_on = 0, allow_if_no_acl = 0;
  char super_users[ACL_TEXT_MAX] = "";
  if (!rc)
    rc = authorizer_settings_from(c, &authz_on, super_users, sizeof super_users,
                                  &allow_if_no_acl, err, sizeof err);
  static struct controller_listen listen; /* large (the ssl.* paths): not on the stack */
  listen.port = 9093;
  listen.admin_port = -1;
  snprintf(listen.host, sizeof listen.host, "127.0.0.1");
  const char *l = config_get(c, "listeners");
  if (!rc && l) {
    struct listener_addr la;
    rc = listener_parse("listeners", l, &la, err, sizeof err);
    if (!rc && la.port < 1) {
      snprintf(err, sizeof err, "listeners: bad port in '%s'", l);
      rc = STRATA_EINVALID_CONFIG;
    }
    if (!rc) {
      snprintf(listen.host, sizeof listen.host, "%s", la.host);
      listen.port = la.port;
      listen.protocol = la.protocol;
      listen.tls = la.tls;
      listen.sasl = la.sasl;
    }
  }
  const char *adm = config_get(c, "admin.listeners");
  listen.admin_explicit = adm != NULL;
  if (!adm) adm = CONTROLLER_ADMIN_DEFAULT;
  if (!rc && *adm) {
    struct listener_addr la;
    if (listener_parse_http("admin.listeners", adm, &la, err, sizeof err)) {
      snprintf(err, sizeof err,
               "admin.listeners: expected [HTTP://|HTTPS://]HOST:PORT (or empty: off), got '%s'", adm);
      rc = STRATA_EINVALID_CONFIG;
    } else {
      snprintf(listen.admin_host, sizeof listen.admin_host, "%s", la.host);
      listen.admin_port = la.port;
      listen.admin_tls = la.tls;
    }
  }
  if (!rc) rc = tls_settings_from_config(c, &listen.tls_settings, err, sizeof err);
  if (!rc) {
    static struct sasl_settings ss; /* only sasl.enabled.mechanisms is the controller's */
    rc = sasl_settings_from_config(c, &ss, err, sizeof err);
    listen.sasl_mechs = ss.enabled_mechs;
  }
  if (!rc && (listen.tls || listen.admin_tls) &&
      (!*listen.tls_settings.cert_file || !*listen.tls_settings.key_file)) {
    snprintf(err, sizeof err, "%s is a TLS listener: set ssl.certificate.location and "
             "ssl.key.location", listen.tls ? "listeners" : "admin.listeners");
    rc = STRATA_EINVALID_CONFIG;
  }
  int64_t amax = 64;
  if (!rc) rc = config_get_int64(c, "admin.connections.max", 64, 1, 10000, &amax, err, sizeof err);
  listen.admin_connections_max = (uint32_t)amax;
  const char *lvl = config_get(c, "log.level");
  enum trace_level tl;
  if (!rc && lvl && trace_level_parse(lvl, &tl) == 0) trace_set_level(tl);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", config_get(c, "data.dir") ? config_get(c, "data.dir") : "./controller-data");
  listen.data_dir = dir;
  config_free(c);
  char boot_pw[1026];
  size_t boot_len = 0;
  if (!rc && boot_file && !boot_user) {
    snprintf(err, sizeof err, "--bootstrap-password-file goes with --bootstrap-user NAME");
    rc = STRATA_EINVALID_CONFIG;
  }
  if (!rc && boot_user && (!*boot_user || strlen(boot_user) > SECMETA_USER_NAME_MAX)) {
    snprintf(err, sizeof err, "--bootstrap-user: a user name is 1 to %d bytes",
             SECMETA_USER_NAME_MAX);
    rc = STRATA_EINVALID_CONFIG;
  }
  if (!rc && boot_user &&
      bootstrap_password(boot_file, boot_pw, sizeof boot_pw, &boot_len, err, sizeof err))
    rc = STRATA_EINVALID_CONFIG;
  /* the authorizer with authenticated connections, no super user and no
   * bootstrap user: nobody could grant the first ACL */
  if (!rc && !boot_user) /* connections that authenticate: SASL, required certificates */
    rc = authorizer_startup_check(
        authz_on, super_users,
        listen.sasl || (listen.tls && listen.tls_settings.client_auth == TLS_CLIENT_AUTH_REQUIRED),
        err, sizeof err);
  /* The address this controller puts on its quorum messages, where a node
   * whose voter set lacks it answers it: its listener's, which may differ
   * from its entry in controller.quorum.voters (a controller moved to a new
   * machine, KIP-853), unless the listener binds every address; then its
   * entry there. A controller to be added (not in the list) needs a
   * listener the others can dial. */
  int any_host = !*listen.host || !strcmp(listen.host, "0.0.0.0") || !strcmp(listen.host, "::");
  if (!rc && quorum && !any_host) {
    snprintf(qcfg.self_host, sizeof qcfg.self_host, "%s", listen.host);
    qcfg.self_port = listen.port;
  }
  for (uint32_t i = 0; !rc && quorum && any_host && i < qcfg.nvoters; i++)
    if (qcfg.voters[i].id == qcfg.self) {
      snprintf(qcfg.self_host, sizeof qcfg.self_host, "%s", qcfg.voters[i].host);
      qcfg.self_port = qcfg.voters[i].port;
    }
  if (!rc && quorum && !qcfg.self_host[0]) {
    snprintf(err, sizeof err, "node.id %d is not in controller.quorum.voters (a controller to be "
             "added with add-voter): its listeners must name the address the other controllers "
             "dial, not '%s'", (int)qcfg.self, listen.host);
    rc = STRATA_EINVALID_CONFIG;
  }
  if (!rc && quorum && listen.sasl) {
    snprintf(err, sizeof err, "controller.quorum.voters: the controllers talk to each other on "
             "their listeners, PLAINTEXT:// or SSL:// (mutual TLS), not SASL yet (docs/quorum.md)");
    rc = STRATA_EINVALID_CONFIG;
  }
  if (!rc && quorum && authz_on &&
      !(listen.tls && listen.tls_settings.client_auth == TLS_CLIENT_AUTH_REQUIRED)) {
    snprintf(err, sizeof err, "controller.quorum.voters with authorizer.enabled: the controllers "
             "prove who they are by certificate, so the listener must be SSL:// with "
             "ssl.client.auth=required (docs/quorum.md)");
    rc = STRATA_EINVALID_CONFIG;
  }
  if (rc) {
    fprintf(stderr, "strata-controller: %s\n", err[0] ? err : strata_strerror(rc));
    return 2;
  }
  char name[32];
  snprintf(name, sizeof name, "controller-%d", (int)id);
  trace_set_name(name);
  struct controller ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.default_partitions = (uint32_t)np;
  ctl.authz.enabled = authz_on;
  ctl.authz.allow_if_no_acl = allow_if_no_acl;
  if ((rc = authorizer_set_super_users(&ctl.authz, super_users, err, sizeof err))) {
    fprintf(stderr, "strata-controller: %s\n", err);
    return 2;
  }
  struct ctrl_config cc = {timeout, rebalance, check, grace, (uint32_t)per_broker};
  if (quorum) ctl.quorum_cfg = &qcfg;
  if ((rc = controller_open(&ctl, dir, (int32_t)id, &cc, clock_mono_ms(), err, sizeof err))) {
    trace_error("cannot start: %s", err[0] ? err : strata_strerror(rc));
    controller_close(&ctl);
    return 1;
  }
  if (boot_user && ctl.qn) { /* created by whichever controller decides first */
    ctl.boot_user = strdup(boot_user);
    ctl.boot_password = malloc(boot_len + 1);
    if (!ctl.boot_user || !ctl.boot_password) {
      controller_close(&ctl);
      return 1;
    }
    memcpy(ctl.boot_password, boot_pw, boot_len);
    ctl.boot_password_len = boot_len;
    memset(boot_pw, 0, sizeof boot_pw);
  } else if (boot_user) {
    int created = 0;
    rc = controller_bootstrap_user(&ctl, boot_user, boot_pw, boot_len, &created, err, sizeof err);
    memset(boot_pw, 0, sizeof boot_pw);
    if (rc) {
      trace_error("cannot create the bootstrap user: %s", err[0] ? err : strata_strerror(rc));
      controller_close(&ctl);
      return 1;
    }
    if (created)
      trace_info("bootstrap user %s created (SCRAM-SHA-256, SCRAM-SHA-512)", boot_user);
    else
      trace_info("users exist already: --bootstrap-user %s changes nothing", boot_user);
  }
  /* A write to a peer or broker that just died must be an error on that
   * connection (EPIPE), not the end of the controller: libuv leaves
   * SIGPIPE's default action, which kills the process. A quorum member
   * writes to its peers all the time (seen: a controller dying silently
   * while another one shut down). */
  signal(SIGPIPE, SIG_IGN);
  rc = controller_run(&ctl, &listen);
  controller_close(&ctl);
  trace_info("stopped");
  return rc ? 1 : 0;
}
