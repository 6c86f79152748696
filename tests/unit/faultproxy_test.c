/* The fault proxy (drill/faultproxy.h) must model a network partition the
 * way dropped packets do: a tiny server on 127.0.0.50 sits behind a proxy
 * listener on the same address, and clients connect from 127.0.0.51 (the
 * node being cut off) or 127.0.0.52 (a bystander). Bytes pass; after a cut
 * they are held without closing the connection, only in the cut direction
 * for a one-way cut, and arrive after heal; a connection made during a cut
 * reaches the server only after heal. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drill/faultproxy.h"

#define NODE "127.0.0.50"
#define CUT_OFF "127.0.0.51"
#define BYSTANDER "127.0.0.52"
#define QUIET_MS 300 /* how long held bytes must stay held */
#define ARRIVE_MS 2000

static struct faultproxy *fp;
static int server = -1, port; /* the node's private listener; the proxy's port */

static void setup(void) {
  server = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, NODE, &a.sin_addr);
  socklen_t len = sizeof a;
  cr_assert_eq(bind(server, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(server, 16), 0);
  cr_assert_eq(getsockname(server, (struct sockaddr *)&a, &len), 0);
  fp = faultproxy_new();
  cr_assert(fp);
  char why[256];
  port = faultproxy_listen(fp, NODE, 0, NODE, ntohs(a.sin_port), why, sizeof why);
  cr_assert_gt(port, 0, "%s", why);
  cr_assert_eq(faultproxy_start(fp), 0);
}

static void teardown(void) {
  faultproxy_free(fp);
  if (server >= 0) close(server);
}

TestSuite(faultproxy, .init = setup, .fini = teardown, .timeout = 20);

/* A connection from `from` to the proxy (connect itself never waits on the
 * proxy: the kernel completes the handshake). */
static int dial(const char *from) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  inet_pton(AF_INET, from, &src.sin_addr);
  inet_pton(AF_INET, NODE, &dst.sin_addr);
  dst.sin_port = htons((uint16_t)port);
  cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
  cr_assert_eq(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
  return fd;
}

/* The server's side of the next connection the proxy forwards, or -1 when
 * none comes within ms. */
static int accept_within(int ms) {
  struct pollfd p = {server, POLLIN, 0};
  return poll(&p, 1, ms) == 1 ? accept(server, NULL, NULL) : -1;
}

/* Bytes read from fd within ms, up to n (stops early at EOF: then *eof). */
static size_t recv_within(int fd, char *buf, size_t n, int ms, int *eof) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  size_t got = 0;
  if (eof) *eof = 0;
  while (got < n) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
    struct pollfd p = {fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) != 1) break;
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) {
      if (eof) *eof = 1;
      break;
    }
    got += (size_t)r;
  }
  return got;
}

static void send_str(int fd, const char *s) {
  cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void expect(int fd, const char *s, int ms) {
  char buf[64] = {0};
  size_t got = recv_within(fd, buf, strlen(s), ms, NULL);
  cr_assert_eq(got, strlen(s), "expected '%s' within %d ms, got %zu bytes", s, ms, got);
  cr_assert_eq(memcmp(buf, s, got), 0);
}

/* Nothing arrives for QUIET_MS and the connection stays open. */
static void expect_held(int fd) {
  char buf[64];
  int eof;
  size_t got = recv_within(fd, buf, sizeof buf, QUIET_MS, &eof);
  cr_assert_eq(got, 0u, "%zu bytes went through a cut", got);
  cr_assert_not(eof, "the cut closed the connection");
}

Test(faultproxy, bytes_pass_both_ways_and_a_close_is_passed_on) {
  int c = dial(CUT_OFF), s = accept_within(ARRIVE_MS);
  cr_assert_geq(s, 0);
  send_str(c, "ping");
  expect(s, "ping", ARRIVE_MS);
  send_str(s, "pong");
  expect(c, "pong", ARRIVE_MS);
  close(c);
  char b;
  int eof;
  recv_within(s, &b, 1, ARRIVE_MS, &eof);
  cr_assert(eof, "the client's close did not reach the server");
  close(s);
}

/* Many times the proxy's buffer each way, every byte in order (a direction
 * must not stall once its buffer has filled and drained). */
Test(faultproxy, streams_past_its_buffer_in_order) {
  enum { TOTAL = 16 * FAULTPROXY_BUF, CHUNK = 4096 };
  int c = dial(CUT_OFF), s = accept_within(ARRIVE_MS);
  cr_assert_geq(s, 0);
  for (int dir = 0; dir < 2; dir++) {
    int from = dir ? s : c, to = dir ? c : s;
    static char out[CHUNK], in[TOTAL];
    size_t got = 0;
    for (size_t sent = 0; sent < TOTAL; sent += CHUNK) {
      for (size_t i = 0; i < CHUNK; i++) out[i] = (char)((sent + i) * 7 + (size_t)dir);
      cr_assert_eq(write(from, out, CHUNK), CHUNK);
      ssize_t r;
      while ((r = recv(to, in + got, TOTAL - got, MSG_DONTWAIT)) > 0) got += (size_t)r;
    }
    got += recv_within(to, in + got, TOTAL - got, ARRIVE_MS, NULL);
    cr_assert_eq(got, (size_t)TOTAL, "direction %d: %zu of %d bytes", dir, got, TOTAL);
    for (size_t i = 0; i < TOTAL; i++)
      cr_assert_eq(in[i], (char)(i * 7 + (size_t)dir), "byte %zu out of order", i);
  }
  close(c), close(s);
}

/* Cut the client's address from the node (one way: only what the client
 * sends), send both ways: what goes the cut way is held, the rest arrives;
 * after heal everything has arrived. */
static void check_cut(int one_way) {
  int c = dial(CUT_OFF), s = accept_within(ARRIVE_MS);
  cr_assert_geq(s, 0);
  cr_assert_eq(faultproxy_cut(fp, CUT_OFF, NODE, one_way), 0);
  send_str(c, "request");
  send_str(s, "answer");
  if (one_way) expect(c, "answer", ARRIVE_MS);
  else expect_held(c);
  expect_held(s);
  faultproxy_heal(fp);
  expect(s, "request", ARRIVE_MS);
  if (!one_way) expect(c, "answer", ARRIVE_MS);
  close(c), close(s);
}

Test(faultproxy, a_cut_holds_bytes_both_ways_until_heal) { check_cut(0); }

Test(faultproxy, a_one_way_cut_holds_only_that_direction) { check_cut(1); }

Test(faultproxy, a_connection_made_during_a_cut_reaches_the_node_after_heal) {
  cr_assert_eq(faultproxy_cut(fp, NODE, CUT_OFF, 1), 0); /* even the other way round */
  int c = dial(CUT_OFF);
  send_str(c, "hello");
  int s = accept_within(QUIET_MS);
  cr_assert_lt(s, 0, "forwarded during the cut");
  faultproxy_heal(fp);
  s = accept_within(ARRIVE_MS);
  cr_assert_geq(s, 0, "not forwarded after heal");
  expect(s, "hello", ARRIVE_MS);
  close(c), close(s);
}

Test(faultproxy, other_addresses_still_pass_during_a_cut) {
  cr_assert_eq(faultproxy_cut(fp, CUT_OFF, NODE, 0), 0);
  int c = dial(BYSTANDER), s = accept_within(ARRIVE_MS);
  cr_assert_geq(s, 0);
  send_str(c, "bystander");
  expect(s, "bystander", ARRIVE_MS);
  close(c), close(s);
}
