/* A local cluster for tests, benchmarks and `strata drill`: one
 * strata-controller and N strata-brokers as processes, data and logs in one
 * temp folder, everything stopped by PID at the end (and killed with the
 * process that started them, should it die first).
 *
 * Addresses: by default broker i listens on 127.0.0.i and the controller on
 * 127.0.0.1. With a base address (tcluster_init_at) the controller is on
 * 127.0.0.base and broker i on 127.0.0.(base+i), and every broker's own
 * connections leave from its address: a packet filter can then cut brokers
 * and the controller apart while clients, from 127.0.0.1, still reach all.
 * With private ports set (bind_port, bind_cport) every node binds its own
 * address on the private port and advertises the usual one, which a fault
 * proxy (drill/faultproxy.h) holds.
 *
 * Every broker also has a Kafka-protocol listener (kafka.listeners) on its
 * address and kport, for Kafka clients (kbootstrap); a fault proxy does not
 * stand in front of it.
 *
 * With tls set before starting, every listener is SSL:// and every link
 * mutual TLS: a throwaway CA (drill/certs.h) in dir/tls signs one
 * certificate per node (SAN: its IP address) and one for clients; sec holds
 * the client settings (and dir/tls/client.properties the same for `strata
 * --command-config` and `kcat -F`). */
#ifndef STRATA_TEST_CLUSTER_H
#define STRATA_TEST_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/strata.h"

#define TCLUSTER_BROKERS_MAX 8
#define TCLUSTER_CONTROLLERS_MAX 5
#define TCLUSTER_SETS_MAX 8

struct tcluster {
  char *dir;
  int n, port, cport;
  int kport;      /* every broker's Kafka listener (kafka.listeners) */
  int base;       /* 0: the default layout */
  int bind_port, bind_cport; /* 0: nodes bind port and cport themselves */
  pid_t ctl, brokers[TCLUSTER_BROKERS_MAX + 1];
  /* A controller quorum (tcluster_set_controllers): nctl controllers, node
   * ids 1..nctl, all on the controller's address, controller k on
   * cports[k] (cports[1] == cport; ctls[1] unused: controller 1 is ctl).
   * nctl 0 or 1: the one controller, as always. */
  int nctl;
  int cports[TCLUSTER_CONTROLLERS_MAX + 1];
  pid_t ctls[TCLUSTER_CONTROLLERS_MAX + 1];
  char bootstrap[256];
  char kbootstrap[256]; /* the same brokers' Kafka listeners */
  /* extra "key=value" settings, NULL-terminated; set before starting */
  const char *broker_sets[TCLUSTER_SETS_MAX + 1];
  const char *ctl_sets[TCLUSTER_SETS_MAX + 1];
  /* set before starting: brokers run with the slow-disk shim preloaded
   * (strata-slow-disk.so beside the binaries, tests/shim/slow_disk.c) */
  int slow_disk;
  int tls;             /* set before starting: TLS on every link (see above) */
  strata_security sec; /* how this process's clients reach the cluster */
  char tls_dir[600];   /* dir/tls once the certificates are made */
  int started;     /* a node has listened: the ports are this cluster's */
  int addr_in_use; /* the last start failed because its port was taken (see
                      tcluster_start_all) */
};

/* Temp folder and free ports (proc_free_port); nothing started yet. 0 or -1. */
int tcluster_init(struct tcluster *c, int nbrokers, const char *prefix);
/* The same with the separate-addresses layout from 127.0.0.base (2..240). */
int tcluster_init_at(struct tcluster *c, int nbrokers, const char *prefix, int base);
/* The address node id listens on (0: the controller). */
void tcluster_host(const struct tcluster *c, int id, char *buf, size_t len);
/* Before starting: a quorum of n controllers (1, or 3..TCLUSTER_CONTROLLERS_MAX;
 * ports picked now). Brokers then get the list of all. 0 or -1. */
int tcluster_set_controllers(struct tcluster *c, int n);
/* Start one process and wait for its port (0, or -1 after 10 s). With a
 * quorum, tcluster_start_controller starts every controller not running. */
int tcluster_start_controller(struct tcluster *c);
int tcluster_start_controller_k(struct tcluster *c, int k);
/* kill -9 controller k (1..nctl) and reap it. */
void tcluster_kill_controller(struct tcluster *c, int k);
/* The active controller's node id as the quorum reports it (DescribeQuorum,
 * asked of the controllers themselves), -1 when none is known (no leader,
 * or none answers within timeout_ms). With one controller and no quorum
 * served: its id from the metadata (0 by default) when it runs. */
int32_t tcluster_active_controller(struct tcluster *c, int timeout_ms);
int tcluster_start_broker(struct tcluster *c, int id);
/* Controller and every broker, then wait until all are registered and
 * unfenced. 0 or -1. On a cluster that never ran, a port taken by another
 * process before a node could listen on it means starting over on new ports
 * (up to PROC_PORT_TRIES times); not with private ports set (a fault proxy
 * listens on the advertised ones): then -1 with addr_in_use set, and the
 * caller sets the cluster up again. */
int tcluster_start_all(struct tcluster *c);
/* Brokers the cluster reports registered and unfenced (0 when it cannot be
 * asked). */
int tcluster_alive(struct tcluster *c);
/* kill -9 and reap (id 0: the controller; with a quorum, every controller). */
void tcluster_kill(struct tcluster *c, int id);
/* SIGTERM and wait for a clean exit (SIGKILL after 10 s); 0 when it exited 0. */
int tcluster_stop(struct tcluster *c, int id);
/* Send a signal (SIGSTOP, SIGCONT) to a running node; 0 or -1. */
int tcluster_signal(struct tcluster *c, int id, int sig);
/* Make broker id's disk slow: every fsync/fdatasync waits ms first (0: fast
 * again). Needs slow_disk set when the broker started. 0 or -1. */
int tcluster_slow_disk(struct tcluster *c, int id, int ms);
/* Partition state as the cluster reports it; 0 when read. isr (optional)
 * gets up to TCLUSTER_BROKERS_MAX members. */
int tcluster_partition(struct tcluster *c, const char *topic, uint32_t partition, int32_t *leader,
                       size_t *nisr, int32_t *isr);
/* Wait until the partition has a leader and nisr in-sync replicas; the
 * leader, or -1 on timeout. */
int32_t tcluster_wait_isr(struct tcluster *c, const char *topic, uint32_t partition, size_t nisr,
                          int timeout_ms);
/* The certificates and client settings of a tls cluster (made once, by the
 * first start); 0 or -1 with the reason on stderr. */
int tcluster_tls_prepare(struct tcluster *c);
/* strata_client_new_secure on the cluster's bootstrap with its security. */
strata_client *tcluster_client(struct tcluster *c, int timeout_ms, char *err, size_t err_len);
/* Kill everything still running; remove the folder unless keep. */
void tcluster_destroy(struct tcluster *c, int keep);

#endif
