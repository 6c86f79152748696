/* Process helpers for the tests and `strata drill`, which run real brokers:
 * temp directories, free loopback ports, starting a broker with overrides (and an optional
 * LD_PRELOAD), waiting for its port, killing it by PID. */
#ifndef STRATA_TEST_PROC_H
#define STRATA_TEST_PROC_H

#include <sys/types.h>

/* Folder holding strata-broker and strata-controller: env STRATA_BUILD, else
 * the running program's own folder when they are there, else "build". */
const char *proc_build_dir(void);
/* mkdtemp under /tmp; returns a malloc'd path. */
char *proc_tmpdir(const char *prefix);
/* rm -rf of a directory tree this test created. */
void proc_rm_rf(const char *path);
/* Ports for test servers. proc_free_port hands out ports outside the
 * kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, which
 * the kernel takes source ports of outgoing connections from, so a port in
 * it that looked free can be in use a moment later), at or above
 * PROC_PORT_MIN, that nothing had bound on any address when asked and that
 * this process has not handed out before. Another process may still listen
 * on it first, so servers are started with a retry on new ports when their
 * log says "address already in use": up to PROC_PORT_TRIES starts
 * (proc_start_broker_any, tcluster_start_all). */
#define PROC_PORT_MIN 10000
#define PROC_PORT_TRIES 5
/* A port as above, or -1 when none is found. */
int proc_free_port(void);
/* Start strata-broker with log.dir=dir/data, listeners=127.0.0.1:port and
 * each extra "key=value" (NULL-terminated); stdout/stderr to dir/broker.log.
 * preload: value for LD_PRELOAD or NULL. Returns the pid, after it listens
 * on the port (or -1, having killed it, when it does not in 15 s). */
pid_t proc_start_broker(const char *dir, int port, const char *const *extra,
                        const char *preload);
/* proc_start_broker on a port from proc_free_port, again on a new port (up
 * to PROC_PORT_TRIES starts) when the one chosen was taken; *port gets the
 * port it listens on. */
pid_t proc_start_broker_any(const char *dir, int *port, const char *const *extra,
                            const char *preload);
int proc_wait_port(int port, int timeout_ms);
/* Wait until child pid (of this process) listens on port and host:port
 * accepts connections: 0. Another process's listener on that port does not
 * count. PROC_EXITED when the child exited first (it is reaped then), -1
 * when timeout_ms passed. */
#define PROC_EXITED (-2)
int proc_wait_listen(pid_t pid, const char *host, int port, int timeout_ms);
/* The size of a file (0 when there is none): where a new process's lines
 * start in a log it appends to. */
long proc_file_size(const char *path);
/* 1 when log, from byte offset from on, says a listener could not bind
 * because its address was in use (libuv's "address already in use"). */
int proc_log_addr_in_use(const char *log, long from);
/* Start argv (argv[0] is a path) with stdout/stderr appended to log. */
pid_t proc_spawn(const char *const *argv, const char *log);
/* The same with "NAME=value" entries (NULL-terminated, or NULL) added to
 * its environment, e.g. an LD_PRELOAD shim and its settings. */
pid_t proc_spawn_env(const char *const *argv, const char *log, const char *const *env);
/* Wait until host:port accepts connections (0) or timeout_ms passes (-1). */
int proc_wait_addr(const char *host, int port, int timeout_ms);

/* The segment files of a partition directory, oldest first, as malloc'd
 * full paths (free with proc_free_list); NULL when it cannot be opened. */
char **proc_segment_files(const char *pdir, size_t *n);
void proc_free_list(char **v, size_t n);

/* Send sig and reap. */
void proc_kill(pid_t pid, int sig);
/* SIGTERM, wait up to 10 s (then SIGKILL); returns the exit status, or -1
 * when it had to be killed or died of a signal. Under AddressSanitizer a
 * leak makes the status non-zero, so tests that stop brokers this way also
 * check that a clean shutdown frees everything. */
int proc_stop(pid_t pid);

#endif
