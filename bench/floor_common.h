/* What fsync_floor's three modes share (bench/fsync_floor.c lists them):
 * the children and files a signal must clean up, the monotonic clock and
 * CPU time, loopback sockets, whole reads and writes, the paced schedule
 * and the latency line of the chain and solo floors.
 *
 * Every file lives under DIR (or F1_DIR/F2_DIR) and is removed at the end;
 * the children are reaped; SIGINT/SIGTERM kills the children by PID,
 * removes the files and exits 130; a child dies with its parent
 * (PR_SET_PDEATHSIG). Plain C, no libuv, no Strata code. */
#ifndef STRATA_BENCH_FLOOR_COMMON_H
#define STRATA_BENCH_FLOOR_COMMON_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RECORD_SIZE 1024     /* the chain's and solo's record: 1 KiB, as the bench's */
#define RATE_MAX 200000      /* the chain's and solo's records per second */
#define SECS_MAX 3600
#define RECORDS_MAX 10000000 /* RATE * SECS (the chain's client keeps a time for each) */
#define LEADER_BUF (256 * RECORD_SIZE) /* bytes a loop reads (solo: writes) at once */
#define FLOOR_COUNT_BUF 64   /* floor_read_count's part buffer */

/* ---- children, files and signals ---- */

/* SIGINT/SIGTERM clean up and exit 130; SIGPIPE is ignored (a closed peer
 * is an error return). */
void floor_install_signals(void);

/* fork(), recording the child for the cleanup; in the child (0 returned)
 * the default signal handling, no children or files of its own, and death
 * with its parent. Exits on failure. */
pid_t floor_fork(void);

/* Sends sig to every child (0: none, they end themselves), reaps them and
 * removes the files; async-signal-safe. */
void floor_cleanup(int sig);

/* Reaps every child; 0 if each exited with status 0, else -1. */
int floor_reap(void);

/* Removes the files floor_open_file created. */
void floor_remove_files(void);

/* DIR/NAME created empty for writing, removed by the cleanup (at most 3). */
int floor_open_file(const char *dir, const char *name);

/* perror(what) and exit(1). */
void floor_die(const char *what);

/* ---- clocks ---- */
int64_t floor_now_ns(void); /* CLOCK_MONOTONIC */
double floor_cpu_s(void);   /* this process's user + system CPU seconds */

/* When record i of a paced run is due: start + i / RATE (the schedule of
 * `strata bench produce --rate`). */
int64_t floor_due_ns(int64_t start, size_t i, long rate);

/* ---- loopback sockets and whole reads and writes ---- */
int floor_listen(struct sockaddr_in *addr); /* 127.0.0.1, a port the kernel picks */
int floor_connect(const struct sockaddr_in *addr);
int floor_accept(int ls); /* one connection, then closes ls */
int floor_write_all(int fd, const void *buf, size_t len);
int floor_read_all(int fd, void *buf, size_t len);

/* Reads a stream of 8-byte counts (acknowledgements, each the newest
 * durable or answered count); part (FLOOR_COUNT_BUF bytes, *have of them
 * used) keeps a count's first bytes across reads. 1 with the newest
 * whole count in *count; 0 when none is whole yet or a signal came; -1 at
 * the end of the stream or on an error. */
int floor_read_count(int s, char *part, size_t *have, uint64_t *count);

/* ---- latencies ---- */

/* Sorts v ascending. */
void floor_sort(int64_t *v, size_t n);

/* The q-quantile of n sorted values. */
int64_t floor_quantile(const int64_t *v, size_t n, double q);

/* Sorts the n latencies (ns) and prints
 * "WHAT RATE/s SECS s: p50 A ms, p99 B ms, p99.9 C ms, max D ms". */
void floor_print_latencies(const char *what, long rate, long secs, int64_t *lat, size_t n);

#endif
