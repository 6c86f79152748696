/* The test-process helpers' port choice (drill/proc.h): ports outside the
 * kernel's ephemeral range, free, never the same twice; a wait for a child
 * to listen that another process's listener on the port cannot satisfy;
 * and the "address already in use" a start retries on. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drill/proc.h"

static void ephemeral(int *lo, int *hi) {
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  cr_assert(f);
  cr_assert_eq(fscanf(f, "%d %d", lo, hi), 2);
  fclose(f);
}

/* A listener on 127.0.0.1:port (0: the kernel picks; *port gets it). */
static int listen_at(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind %d", *port);
  cr_assert_eq(listen(fd, 8), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

Test(proc, free_ports_are_outside_the_ephemeral_range_distinct_and_bindable) {
  int lo, hi, seen[200];
  ephemeral(&lo, &hi);
  for (int i = 0; i < 200; i++) {
    int p = proc_free_port();
    cr_assert_geq(p, PROC_PORT_MIN, "port %d", p);
    cr_assert(p < lo || p > hi, "port %d is inside the ephemeral range %d-%d", p, lo, hi);
    for (int k = 0; k < i; k++) cr_assert_neq(seen[k], p, "port %d handed out twice", p);
    seen[i] = p;
  }
  int p = proc_free_port(), fd = listen_at(&p);
  close(fd);
}

Test(proc, free_port_skips_a_port_in_use) {
  /* Fill the range below the ephemeral one is not possible here; instead a
   * port in use on another loopback address must never come back. */
  int fds[50], ports[50];
  for (int i = 0; i < 50; i++) {
    ports[i] = proc_free_port();
    fds[i] = listen_at(&ports[i]);
  }
  for (int i = 0; i < 500; i++) {
    int p = proc_free_port();
    for (int k = 0; k < 50; k++) cr_assert_neq(p, ports[k], "port %d is in use", p);
  }
  for (int i = 0; i < 50; i++) close(fds[i]);
}

Test(proc, wait_listen_ignores_another_process_listener_and_sees_an_exit) {
  int port = 0, fd = listen_at(&port); /* this process listens, not the child */
  pid_t child = fork();
  if (child == 0) {
    close(fd); /* as exec would close a CLOEXEC listener */
    sleep(5);
    _exit(0);
  }
  cr_assert_eq(proc_wait_listen(child, "127.0.0.1", port, 300), -1,
               "a port another process listens on is not the child's");
  kill(child, SIGKILL);
  cr_assert_eq(proc_wait_listen(child, "127.0.0.1", port, 5000), PROC_EXITED);
  close(fd);
}

Test(proc, log_says_address_in_use_only_after_the_offset) {
  char path[] = "/tmp/strata-proctest.XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  const char *old = "ERROR cannot listen on 127.0.0.1:20000: address already in use\n";
  cr_assert_eq(write(fd, old, strlen(old)), (ssize_t)strlen(old));
  long from = proc_file_size(path);
  cr_assert_eq(from, (long)strlen(old));
  cr_assert(proc_log_addr_in_use(path, 0));
  cr_assert(!proc_log_addr_in_use(path, from), "an earlier life's line does not count");
  const char *now = "INFO broker 1 listening on 127.0.0.1:20001\n";
  cr_assert_eq(write(fd, now, strlen(now)), (ssize_t)strlen(now));
  cr_assert(!proc_log_addr_in_use(path, from));
  close(fd);
  unlink(path);
  cr_assert(!proc_log_addr_in_use(path, 0), "no log, nothing said");
  cr_assert_eq(proc_file_size(path), 0);
}
