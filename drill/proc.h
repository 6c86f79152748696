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
/* A loopback port that was free a moment ago. */
int proc_free_port(void);
/* Start strata-broker with log.dir=dir/data, listeners=127.0.0.1:port and
 * each extra "key=value" (NULL-terminated); stdout/stderr to dir/broker.log.
 * preload: value for LD_PRELOAD or NULL. Returns the pid, after the port
 * accepts connections (or -1, having killed it, when it does not in 15 s). */
pid_t proc_start_broker(const char *dir, int port, const char *const *extra,
                        const char *preload);
int proc_wait_port(int port, int timeout_ms);
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
