#include "drill/cluster.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/errors.h"
#include "drill/certs.h"
#include "drill/proc.h"

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tcluster_init(struct tcluster *c, int nbrokers, const char *prefix) {
  return tcluster_init_at(c, nbrokers, prefix, 0);
}

void tcluster_host(const struct tcluster *c, int id, char *buf, size_t len) {
  snprintf(buf, len, "127.0.0.%d", c->base ? c->base + id : id ? id : 1);
}

/* New ports for the brokers, their Kafka listeners and the controller, and
 * the bootstrap lists. */
static int pick_ports(struct tcluster *c) {
  c->port = proc_free_port();
  c->cport = proc_free_port();
  c->kport = proc_free_port();
  if (c->port < 0 || c->cport < 0 || c->kport < 0) return -1;
  size_t off = 0, koff = 0;
  for (int i = 1; i <= c->n; i++) {
    char host[32];
    tcluster_host(c, i, host, sizeof host);
    off += (size_t)snprintf(c->bootstrap + off, sizeof c->bootstrap - off, "%s%s:%d",
                            i > 1 ? "," : "", host, c->port);
    koff += (size_t)snprintf(c->kbootstrap + koff, sizeof c->kbootstrap - koff, "%s%s:%d",
                             i > 1 ? "," : "", host, c->kport);
  }
  return 0;
}

int tcluster_init_at(struct tcluster *c, int nbrokers, const char *prefix, int base) {
  memset(c, 0, sizeof *c);
  if (nbrokers < 1 || nbrokers > TCLUSTER_BROKERS_MAX) return -1;
  if (base && (base < 2 || base + nbrokers > 254)) return -1;
  c->n = nbrokers;
  c->base = base;
  c->dir = proc_tmpdir(prefix);
  if (!c->dir) return -1;
  c->ctl = -1;
  for (int i = 0; i <= TCLUSTER_BROKERS_MAX; i++) c->brokers[i] = -1;
  strata_security_defaults(&c->sec);
  return pick_ports(c);
}

int tcluster_tls_prepare(struct tcluster *c) {
  if (!c->tls || c->tls_dir[0]) return 0;
  char dir[600], err[256], host[32], name[32], cn[32];
  snprintf(dir, sizeof dir, "%s/tls", c->dir);
  if (mkdir(dir, 0700) && errno != EEXIST) {
    fprintf(stderr, "tcluster: cannot make %s: %s\n", dir, strerror(errno));
    return -1;
  }
  struct certs_ca *ca = certs_ca_new(dir, "ca", "Strata drill CA", err, sizeof err);
  int rc = ca ? 0 : -1;
  for (int id = 0; !rc && id <= c->n; id++) {
    tcluster_host(c, id, host, sizeof host);
    snprintf(name, sizeof name, id ? "broker-%d" : "controller", id);
    snprintf(cn, sizeof cn, "%s", name);
    rc = certs_leaf(ca, dir, name, cn, host, err, sizeof err);
  }
  if (!rc) rc = certs_leaf(ca, dir, "client", "client", NULL, err, sizeof err);
  certs_ca_free(ca);
  if (rc) {
    fprintf(stderr, "tcluster: certificates: %s\n", err);
    return -1;
  }
  strata_security *s = &c->sec;
  strata_security_defaults(s);
  s->protocol = STRATA_SECURITY_SSL;
  snprintf(s->ssl_ca_location, sizeof s->ssl_ca_location, "%s/ca.pem", dir);
  snprintf(s->ssl_certificate_location, sizeof s->ssl_certificate_location, "%s/client.pem", dir);
  snprintf(s->ssl_key_location, sizeof s->ssl_key_location, "%s/client.key", dir);
  char props[700];
  snprintf(props, sizeof props, "%s/client.properties", dir);
  FILE *f = fopen(props, "w");
  if (f) {
    fprintf(f, "# strata --command-config %s, kcat -F %s\nsecurity.protocol=SSL\n"
            "ssl.ca.location=%s\nssl.certificate.location=%s\nssl.key.location=%s\n",
            props, props, s->ssl_ca_location, s->ssl_certificate_location, s->ssl_key_location);
    fclose(f);
  }
  snprintf(c->tls_dir, sizeof c->tls_dir, "%s", dir);
  return 0;
}

strata_client *tcluster_client(struct tcluster *c, int timeout_ms, char *err, size_t err_len) {
  return strata_client_new_secure(c->bootstrap, timeout_ms, &c->sec, err, err_len);
}

/* The settings that make node `name` (controller, broker-N) speak TLS:
 * its certificate, the CA, client certificates required. Written into
 * bufs; returns how many were added to fixed. */
static size_t tls_sets(const struct tcluster *c, const char *name, char (*bufs)[700],
                       const char **fixed) {
  if (!c->tls) return 0;
  snprintf(bufs[0], sizeof bufs[0], "ssl.certificate.location=%s/%s.pem", c->tls_dir, name);
  snprintf(bufs[1], sizeof bufs[1], "ssl.key.location=%s/%s.key", c->tls_dir, name);
  snprintf(bufs[2], sizeof bufs[2], "ssl.ca.location=%s/ca.pem", c->tls_dir);
  snprintf(bufs[3], sizeof bufs[3], "ssl.client.auth=required");
  for (int i = 0; i < 4; i++) fixed[i] = bufs[i];
  return 4;
}

/* "SSL://" on a tls cluster, "" otherwise: the scheme of every address. */
static const char *scheme(const struct tcluster *c) { return c->tls ? "SSL://" : ""; }

/* argv = bin, fixed settings, then the extra ones, each after --set; env
 * as proc_spawn_env's. */
static pid_t spawn(const char *bin, const char *const *fixed, size_t nfixed,
                   const char *const *extra, const char *log, const char *const *env) {
  const char *argv[2 + 2 * (12 + TCLUSTER_SETS_MAX)];
  size_t n = 0;
  argv[n++] = bin;
  for (size_t i = 0; i < nfixed; i++) argv[n++] = "--set", argv[n++] = fixed[i];
  for (size_t i = 0; extra[i] && i < TCLUSTER_SETS_MAX; i++) argv[n++] = "--set", argv[n++] = extra[i];
  argv[n] = NULL;
  return proc_spawn_env(argv, log, env);
}

/* After a node's start: until it listens on host:port (0), or -1 when it
 * does not within 10 s, or exited (then *pid is -1, and addr_in_use set when
 * its log, from byte from on, says the port was taken). */
static int wait_listen(struct tcluster *c, pid_t *pid, const char *host, int port,
                       const char *log, long from) {
  int rc = proc_wait_listen(*pid, host, port, 10000);
  if (rc == PROC_EXITED) {
    *pid = -1;
    c->addr_in_use = proc_log_addr_in_use(log, from);
    return -1;
  }
  if (!rc) c->started = 1;
  return rc ? -1 : 0;
}

int tcluster_set_controllers(struct tcluster *c, int n) {
  if (n < 0 || n > TCLUSTER_CONTROLLERS_MAX || n == 2 || c->started) return -1;
  c->nctl = n;
  if (n <= 1) return 0;
  c->cports[1] = c->cport;
  for (int k = 2; k <= n; k++) {
    c->ctls[k] = -1;
    if ((c->cports[k] = proc_free_port()) < 0) return -1;
  }
  return 0;
}

/* Controller k's pid slot (k 1..nctl; controller 1 is c->ctl). */
static pid_t *ctl_pid(struct tcluster *c, int k) { return k <= 1 ? &c->ctl : &c->ctls[k]; }

int tcluster_start_controller_k(struct tcluster *c, int k) {
  char bin[512], data[512], listen[64], log[512], host[32], tbufs[4][700], nid[32],
      voters[64 * TCLUSTER_CONTROLLERS_MAX];
  if (tcluster_tls_prepare(c)) return -1;
  int quorum = c->nctl > 1;
  if (quorum && (k < 1 || k > c->nctl)) return -1;
  tcluster_host(c, 0, host, sizeof host);
  snprintf(bin, sizeof bin, "%s/strata-controller", proc_build_dir());
  int port = c->bind_cport ? c->bind_cport : c->cport;
  if (quorum) {
    port = c->cports[k];
    snprintf(data, sizeof data, "data.dir=%s/controller-%d", c->dir, k);
    snprintf(log, sizeof log, "%s/controller-%d.log", c->dir, k);
  } else {
    snprintf(data, sizeof data, "data.dir=%s/controller", c->dir);
    snprintf(log, sizeof log, "%s/controller.log", c->dir);
  }
  snprintf(listen, sizeof listen, "listeners=%s%s:%d", scheme(c), host, port);
  const char *fixed[8] = {data, listen};
  size_t nfixed = 2;
  if (quorum) {
    size_t off = (size_t)snprintf(voters, sizeof voters, "controller.quorum.voters=");
    for (int i = 1; i <= c->nctl; i++)
      off += (size_t)snprintf(voters + off, sizeof voters - off, "%s%d@%s:%d", i > 1 ? "," : "",
                              i, host, c->cports[i]);
    snprintf(nid, sizeof nid, "node.id=%d", k);
    fixed[nfixed++] = nid;
    fixed[nfixed++] = voters;
  }
  nfixed += tls_sets(c, "controller", tbufs, fixed + nfixed);
  long from = proc_file_size(log);
  pid_t *pid = ctl_pid(c, k);
  *pid = spawn(bin, fixed, nfixed, c->ctl_sets, log, NULL);
  return *pid > 0 ? wait_listen(c, pid, host, port, log, from) : -1;
}

int tcluster_start_controller(struct tcluster *c) {
  if (c->nctl <= 1) return tcluster_start_controller_k(c, 1);
  for (int k = 1; k <= c->nctl; k++)
    if (*ctl_pid(c, k) <= 0 && tcluster_start_controller_k(c, k)) return -1;
  return 0;
}

void tcluster_kill_controller(struct tcluster *c, int k) {
  pid_t *p = ctl_pid(c, k);
  if (*p > 0) {
    kill(*p, SIGCONT);
    proc_kill(*p, SIGKILL);
  }
  *p = -1;
}

int32_t tcluster_active_controller(struct tcluster *c, int timeout_ms) {
  char list[64 * TCLUSTER_CONTROLLERS_MAX] = "", host[32], err[256];
  tcluster_host(c, 0, host, sizeof host);
  size_t off = 0;
  int n = c->nctl > 1 ? c->nctl : 1;
  for (int k = 1; k <= n; k++)
    if (*ctl_pid(c, k) > 0)
      off += (size_t)snprintf(list + off, sizeof list - off, "%s%s:%d", off ? "," : "", host,
                              n > 1 ? c->cports[k] : c->cport);
  if (!off) return -1;
  strata_client *cl = strata_client_new_secure(list, timeout_ms, &c->sec, err, sizeof err);
  if (!cl) return -1;
  strata_quorum_info *q = NULL;
  int32_t id = -1;
  int rc = strata_describe_quorum(cl, &q);
  if (!rc) id = q->leader_id;
  else if (rc == STRATA_EUNSUPPORTED_VERSION && n == 1) id = 0; /* no quorum: the one there is */
  strata_quorum_info_free(q);
  strata_client_free(cl);
  return id;
}

/* The slow-disk shim's control file of broker id: it exists while the disk
 * is slow and holds the delay in ms. Outside the log.dir, which the broker
 * reads as topics. */
static void slow_disk_file(const struct tcluster *c, int id, char *buf, size_t len) {
  snprintf(buf, len, "%s/slow-disk-b%d", c->dir, id);
}

/* The environment of a broker under the slow-disk shim (written into bufs,
 * pointed to by env); NULL when the shim is not built. */
static const char **slow_disk_env(const struct tcluster *c, int id, char (*bufs)[600],
                                  const char **env) {
  char shim[600], file[512];
  snprintf(shim, sizeof shim, "%s/strata-slow-disk.so", proc_build_dir());
  char *abs = realpath(shim, NULL); /* a relative LD_PRELOAD breaks if the broker chdirs */
  if (!abs) {
    fprintf(stderr, "missing %s (make builds it)\n", shim);
    return NULL;
  }
  slow_disk_file(c, id, file, sizeof file);
  const char *a = getenv("ASAN_OPTIONS"); /* a sanitized broker then accepts the shim */
  snprintf(bufs[0], sizeof bufs[0], "LD_PRELOAD=%s", abs);
  snprintf(bufs[1], sizeof bufs[1], "STRATA_SLOW_DISK=%s", file);
  snprintf(bufs[2], sizeof bufs[2], "ASAN_OPTIONS=%s%sverify_asan_link_order=0", a ? a : "",
           a && *a ? ":" : "");
  free(abs);
  for (int i = 0; i < 3; i++) env[i] = bufs[i];
  env[3] = NULL;
  return env;
}

int tcluster_start_broker(struct tcluster *c, int id) {
  char bin[512], bid[32], data[512], listen[64], ctlr[64 * TCLUSTER_CONTROLLERS_MAX], log[512],
      host[32], chost[32],
      source[64], adv[96], klisten[80], tbufs[4][700], name[32];
  if (tcluster_tls_prepare(c)) return -1;
  tcluster_host(c, id, host, sizeof host);
  tcluster_host(c, 0, chost, sizeof chost);
  snprintf(bin, sizeof bin, "%s/strata-broker", proc_build_dir());
  snprintf(bid, sizeof bid, "broker.id=%d", id);
  snprintf(data, sizeof data, "log.dir=%s/b%d", c->dir, id);
  int port = c->bind_port ? c->bind_port : c->port;
  snprintf(listen, sizeof listen, "listeners=%s%s:%d", scheme(c), host, port);
  snprintf(adv, sizeof adv, "advertised.listeners=%s%s:%d", scheme(c), host, c->port);
  if (c->nctl > 1) { /* the quorum's list */
    size_t off = (size_t)snprintf(ctlr, sizeof ctlr, "controller=");
    for (int k = 1; k <= c->nctl; k++)
      off += (size_t)snprintf(ctlr + off, sizeof ctlr - off, "%s%s%s:%d", k > 1 ? "," : "",
                              scheme(c), chost, c->cports[k]);
  } else {
    snprintf(ctlr, sizeof ctlr, "controller=%s%s:%d", scheme(c), chost, c->cport);
  }
  snprintf(log, sizeof log, "%s/broker-%d.log", c->dir, id);
  snprintf(source, sizeof source, "outgoing.source.address=%s", host);
  snprintf(klisten, sizeof klisten, "kafka.listeners=%s%s:%d", scheme(c), host, c->kport);
  const char *fixed[12] = {bid, data, listen, ctlr, klisten};
  size_t nfixed = 5; /* the source address with a base, the advertised one with a proxy */
  if (c->base) fixed[nfixed++] = source;
  if (c->base && c->bind_port) fixed[nfixed++] = adv;
  snprintf(name, sizeof name, "broker-%d", id);
  nfixed += tls_sets(c, name, tbufs, fixed + nfixed);
  char bufs[3][600];
  const char *env[4], **penv = NULL;
  if (c->slow_disk && !(penv = slow_disk_env(c, id, bufs, env))) return -1;
  long from = proc_file_size(log);
  c->brokers[id] = spawn(bin, fixed, nfixed, c->broker_sets, log, penv);
  return c->brokers[id] > 0 ? wait_listen(c, &c->brokers[id], host, port, log, from) : -1;
}

int tcluster_slow_disk(struct tcluster *c, int id, int ms) {
  char path[600];
  if (!c->slow_disk || id < 1 || id > c->n) return -1;
  slow_disk_file(c, id, path, sizeof path);
  if (ms <= 0) return unlink(path) && errno != ENOENT ? -1 : 0;
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int bad = fprintf(f, "%d\n", ms) < 0;
  return fclose(f) || bad ? -1 : 0;
}

static int start_all_once(struct tcluster *c) {
  if (tcluster_start_controller(c)) return -1;
  for (int i = 1; i <= c->n; i++)
    if (tcluster_start_broker(c, i)) return -1;
  for (int64_t deadline = mono_ms() + 10000; mono_ms() < deadline; usleep(50000))
    if (tcluster_alive(c) == c->n) return 0;
  return -1;
}

int tcluster_start_all(struct tcluster *c) {
  int fresh = !c->started;
  for (int attempt = 1;; attempt++) {
    c->addr_in_use = 0;
    if (!start_all_once(c)) return 0;
    if (!fresh || !c->addr_in_use || c->bind_port || c->bind_cport || attempt == PROC_PORT_TRIES)
      return -1;
    fprintf(stderr, "tcluster: port %d, %d or %d was taken before the cluster listened; "
            "starting again on new ports\n", c->port, c->cport, c->kport);
    for (int i = 1; i <= c->n; i++) tcluster_kill(c, i);
    tcluster_kill(c, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/controller", c->dir);
    proc_rm_rf(path);
    for (int i = 1; i <= c->n; i++) {
      snprintf(path, sizeof path, "%s/b%d", c->dir, i);
      proc_rm_rf(path);
    }
    for (int k = 1; c->nctl > 1 && k <= c->nctl; k++) {
      snprintf(path, sizeof path, "%s/controller-%d", c->dir, k);
      proc_rm_rf(path);
    }
    c->started = 0;
    if (pick_ports(c) || tcluster_set_controllers(c, c->nctl)) return -1;
  }
}

int tcluster_alive(struct tcluster *c) {
  char err[256];
  strata_client *cl = tcluster_client(c, 2000, err, sizeof err);
  strata_metadata *m = NULL;
  int alive = 0;
  if (cl && !strata_metadata_get(cl, NULL, 0, &m))
    for (size_t i = 0; i < m->nbrokers; i++) alive += !m->brokers[i].fenced;
  strata_metadata_free(m);
  strata_client_free(cl);
  return alive;
}

void tcluster_kill(struct tcluster *c, int id) {
  if (id == 0 && c->nctl > 1) {
    for (int k = 1; k <= c->nctl; k++) tcluster_kill_controller(c, k);
    return;
  }
  pid_t *p = id == 0 ? &c->ctl : &c->brokers[id];
  if (*p > 0) {
    kill(*p, SIGCONT);
    proc_kill(*p, SIGKILL);
  }
  *p = -1;
}

int tcluster_stop(struct tcluster *c, int id) {
  if (id == 0 && c->nctl > 1) { /* every controller */
    int rc = 0;
    for (int k = 1; k <= c->nctl; k++) {
      pid_t *q = ctl_pid(c, k);
      if (*q > 0) {
        kill(*q, SIGCONT);
        rc |= proc_stop(*q);
      }
      *q = -1;
    }
    return rc ? -1 : 0;
  }
  pid_t *p = id == 0 ? &c->ctl : &c->brokers[id];
  int rc = -1;
  if (*p > 0) {
    kill(*p, SIGCONT);
    rc = proc_stop(*p);
  }
  *p = -1;
  return rc;
}

int tcluster_signal(struct tcluster *c, int id, int sig) {
  pid_t p = id == 0 ? c->ctl : c->brokers[id];
  return p > 0 ? kill(p, sig) : -1;
}

int tcluster_partition(struct tcluster *c, const char *topic, uint32_t partition, int32_t *leader,
                       size_t *nisr, int32_t *isr) {
  char err[256];
  strata_client *cl = tcluster_client(c, 2000, err, sizeof err);
  if (!cl) return -1;
  strata_metadata *m = NULL;
  const char *names[1] = {topic};
  int rc = strata_metadata_get(cl, names, 1, &m);
  strata_client_free(cl);
  if (rc || m->ntopics != 1 || m->topics[0].error || m->topics[0].npartitions <= partition) {
    strata_metadata_free(m);
    return -1;
  }
  *leader = m->topics[0].partitions[partition].leader;
  *nisr = m->topics[0].partitions[partition].nisr;
  for (size_t i = 0; isr && i < *nisr && i < TCLUSTER_BROKERS_MAX; i++)
    isr[i] = m->topics[0].partitions[partition].isr[i];
  strata_metadata_free(m);
  return 0;
}

int32_t tcluster_wait_isr(struct tcluster *c, const char *topic, uint32_t partition, size_t nisr,
                          int timeout_ms) {
  for (int64_t deadline = mono_ms() + timeout_ms; mono_ms() < deadline; usleep(50000)) {
    int32_t leader;
    size_t n;
    if (!tcluster_partition(c, topic, partition, &leader, &n, NULL) && leader >= 0 && n == nisr)
      return leader;
  }
  return -1;
}

void tcluster_destroy(struct tcluster *c, int keep) {
  for (int i = 1; i <= c->n; i++) tcluster_kill(c, i);
  tcluster_kill(c, 0);
  if (!c->dir) return;
  if (keep) fprintf(stderr, "kept %s\n", c->dir);
  else proc_rm_rf(c->dir);
  free(c->dir);
  c->dir = NULL;
}
