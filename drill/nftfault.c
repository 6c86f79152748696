#include "drill/nftfault.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE_PREFIX "strata_drill_"

/* Feed `script` to `nft -f -`; with out, its stdout lands there
 * (NUL-terminated, truncated to len). The exit status, or -1. */
static int nft(const char *script, char *out, size_t len) {
  int in[2], res[2] = {-1, -1};
  if (pipe(in)) return -1;
  if (out && pipe(res)) {
    close(in[0]), close(in[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    int null = open("/dev/null", O_WRONLY);
    dup2(out ? res[1] : null, 1);
    dup2(null, 2);
    close(in[1]);
    if (out) close(res[0]);
    const char *argv[] = {"nft", "-f", "-", NULL};
    execvp("nft", (char *const *)argv);
    execv("/usr/sbin/nft", (char *const *)argv);
    execv("/sbin/nft", (char *const *)argv);
    _exit(127);
  }
  close(in[0]);
  if (out) close(res[1]);
  if (pid < 0) {
    close(in[1]);
    if (out) close(res[0]);
    return -1;
  }
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  size_t n = strlen(script);
  while (n) {
    ssize_t w = write(in[1], script, n);
    if (w <= 0) break;
    script += w, n -= (size_t)w;
  }
  close(in[1]);
  signal(SIGPIPE, old);
  size_t got = 0;
  if (out) {
    ssize_t r;
    while ((r = read(res[0], out + got, len - 1 - got)) > 0 && got + 1 < len) got += (size_t)r;
    out[got] = 0;
    close(res[0]);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Tables left by drills that were killed before they could remove theirs. */
static void sweep_dead(void) {
  char list[16384];
  if (nft("list tables\n", list, sizeof list)) return;
  for (char *p = list; (p = strstr(p, TABLE_PREFIX)); p += strlen(TABLE_PREFIX)) {
    long pid = strtol(p + strlen(TABLE_PREFIX), NULL, 10);
    if (pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "delete table ip " TABLE_PREFIX "%ld\n", pid);
    nft(cmd, NULL, 0);
  }
}

int nftfault_open(struct nftfault *nf, int port, int cport) {
  memset(nf, 0, sizeof *nf);
  if (geteuid() != 0) {
    snprintf(nf->why, sizeof nf->why, "not root: no nftables");
    return -1;
  }
  sweep_dead();
  snprintf(nf->table, sizeof nf->table, TABLE_PREFIX "%d", (int)getpid());
  nf->ports[0] = port;
  nf->ports[1] = cport;
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "table ip %s {\n chain out { type filter hook output priority 0; policy accept; }\n}\n",
           nf->table);
  int rc = nft(cmd, NULL, 0);
  if (rc) {
    snprintf(nf->why, sizeof nf->why, rc == 127 ? "the nft tool is missing (apt-get install nftables)"
                                                : "nft refused to make a table (exit %d)", rc);
    return -1;
  }
  nf->open = 1;
  return 0;
}

int nftfault_cut(struct nftfault *nf, const char *a, const char *b, int one_way) {
  if (!nf->open) return -1;
  char cmd[1024];
  size_t off = 0;
  for (int dir = 0; dir < (one_way ? 1 : 2); dir++) {
    const char *from = dir ? b : a, *to = dir ? a : b;
    for (int k = 0; k < 2; k++)
      off += (size_t)snprintf(cmd + off, sizeof cmd - off,
                              "add rule ip %s out ip saddr %s ip daddr %s tcp %s { %d, %d } drop\n",
                              nf->table, from, to, k ? "sport" : "dport", nf->ports[0],
                              nf->ports[1]);
  }
  return nft(cmd, NULL, 0) ? -1 : 0;
}

int nftfault_heal(struct nftfault *nf) {
  if (!nf->open) return -1;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "flush chain ip %s out\n", nf->table);
  return nft(cmd, NULL, 0) ? -1 : 0;
}

void nftfault_close(struct nftfault *nf) {
  if (!nf->open) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "delete table ip %s\n", nf->table);
  nft(cmd, NULL, 0);
  nf->open = 0;
}
