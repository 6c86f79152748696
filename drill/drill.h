/* `strata drill`: failover drills for operators. Starts a local cluster
 * (controller and brokers, each on its own loopback address), writes
 * acks=all records at a steady rate and reads them in a consumer group,
 * hits the cluster with a named fault N times, and reports for each run how
 * long writes (or reads) stopped and how long until the cluster was whole
 * again; then the history checker decides whether any acknowledged record
 * was lost, duplicated or reordered, whether replicas agree and whether the
 * group kept its promises. */
#ifndef STRATA_DRILL_H
#define STRATA_DRILL_H

#include <stdio.h>

#include "drill/netfault.h"

enum drill_scenario {
  DRILL_KILL_LEADER,
  DRILL_PAUSE_LEADER,
  DRILL_PARTITION_LEADER,
  DRILL_KILL_CONTROLLER,
  DRILL_ROLLING_RESTART,
  DRILL_KILL_CONSUMER,
  DRILL_KILL_COORDINATOR,
  DRILL_SLOW_DISK,
  DRILL_SCENARIOS
};

struct drill_scenario_info {
  const char *name;
  const char *what;     /* one line for --help */
  const char *failover; /* what the first time measures */
  const char *recovery; /* what the second time measures */
};

extern const struct drill_scenario_info drill_scenarios[DRILL_SCENARIOS];
/* Index of a scenario by name, or -1. */
int drill_scenario_find(const char *name);

/* Which client library drives the workload: libstrata's producer and
 * consumer over the native protocol, or librdkafka over the brokers' Kafka
 * listeners. The history and the checker are the same. */
enum drill_client { DRILL_CLIENT_NATIVE, DRILL_CLIENT_KAFKA };

struct drill_opts {
  int scenario;
  int runs;
  int brokers;      /* 3..8 */
  int partitions;
  int members;      /* consumer-group members, each a process */
  int rate;         /* acks=all writes per second */
  int keep;         /* keep the data, logs and history folder */
  int progress;     /* a live progress line on stderr */
  const char *json; /* write the JSON report here too (NULL: only in the folder) */
  enum netfault_kind net; /* how to cut the network; not AUTO: used by every scenario */
  enum drill_client client;
  int tls;          /* TLS on every link: listeners, replication, controller, clients */
  int controllers;  /* 1, or 3: a controller quorum; kill-controller then kills the
                       active one and, right after, partition 0's leader. 0 (default):
                       drill_controllers */
  int max_resume_ms; /* kill-controller on a quorum: a run whose writes resume later than
                        this after the leader's kill fails (issue 14: 3000); 0: no bound */
  FILE *out;
};

void drill_opts_defaults(struct drill_opts *o);
/* The controllers a drill runs with when not told (controllers 0): 3 for
 * kill-controller, 1 for every other scenario. */
int drill_controllers(int scenario);
/* Run the drill; prints each run, the summary and the checker's verdict on
 * o->out. 0: every run recovered and no safety property failed; 1: a
 * violation or a run that did not recover (the folder is kept); 2: the drill
 * could not run (the reason on stderr). */
int drill_run(const struct drill_opts *o);
/* Ask a running drill to stop at the next step (from a signal handler). */
void drill_interrupt(void);

#endif
