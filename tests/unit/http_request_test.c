/* common/http_request.c: the admin listener's request head, bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_request.h"

static long parse(const char *s, struct http_request *r) {
  return http_request_parse(s, strlen(s), r);
}

Test(http_request, parses_a_get_with_headers_and_returns_the_head_length) {
  const char *s = "GET /metrics?name=x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nleftover";
  struct http_request r;
  cr_assert_eq(parse(s, &r), (long)(strstr(s, "leftover") - s));
  cr_expect_eq(r.method, HTTP_GET);
  cr_expect_eq(r.path_len, 8);
  cr_expect(!memcmp(r.path, "/metrics", 8), "the query string is not part of the path");
  cr_expect_eq(r.minor, 1);
  cr_expect(r.keep_alive);
}

Test(http_request, takes_head_bare_newlines_and_connection_close) {
  struct http_request r;
  cr_assert_gt(parse("HEAD /livez HTTP/1.1\nConnection: Close\n\n", &r), 0);
  cr_expect_eq(r.method, HTTP_HEAD);
  cr_expect(!r.keep_alive);
  cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n", &r), 0);
  cr_expect(!r.keep_alive, "1.0 closes unless asked");
}

Test(http_request, waits_for_the_rest_of_a_head_cut_anywhere) {
  const char *s = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n";
  struct http_request r;
  for (size_t n = 0; n < strlen(s); n++)
    cr_expect_eq(http_request_parse(s, n, &r), 0, "cut at %zu", n);
  cr_expect_eq(http_request_parse(s, strlen(s), &r), (long)strlen(s));
}

Test(http_request, refuses_other_methods_versions_and_bodies) {
  struct http_request r;
  cr_expect_eq(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), -405);
  cr_expect_eq(parse("DELETE / HTTP/1.1\r\n\r\n", &r), -405);
  cr_expect_eq(parse("GET / HTTP/2.0\r\n\r\n", &r), -505);
  cr_expect_eq(parse("GET / FTP/1.1\r\n\r\n", &r), -400);
  cr_expect_eq(parse("GET /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &r), -400);
  cr_expect_eq(parse("GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -400);
  cr_expect_gt(parse("GET /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), 0);
}

Test(http_request, refuses_malformed_lines) {
  struct http_request r;
  cr_expect_eq(parse("GET\r\n\r\n", &r), -400);
  cr_expect_eq(parse("GET metrics HTTP/1.1\r\n\r\n", &r), -400, "origin-form only");
  cr_expect_eq(parse("GET /a b HTTP/1.1\r\n\r\n", &r), -400);
  cr_expect_eq(parse("GET /a\x01 HTTP/1.1\r\n\r\n", &r), -400);
  cr_expect_eq(parse("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", &r), -400);
  cr_expect_eq(parse("GET / HTTP/1.1\r\nName : v\r\n\r\n", &r), -400);
  cr_expect_eq(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &r), -400);
  static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n";
  cr_expect_eq(http_request_parse(hello, sizeof hello - 1, &r), -400, "a TLS hello");
}

Test(http_request, bounds_the_target_the_head_and_the_header_count) {
  struct http_request r;
  char *s = malloc(HTTP_REQUEST_MAX * 2);
  cr_assert(s);
  /* a target over HTTP_PATH_MAX */
  int n = sprintf(s, "GET /");
  memset(s + n, 'a', HTTP_PATH_MAX + 1);
  strcpy(s + n + HTTP_PATH_MAX + 1, " HTTP/1.1\r\n\r\n");
  cr_expect_eq(parse(s, &r), -414);
  /* a request line of 1 MB, seen 16 KiB at a time: refused at the bound */
  memset(s, 'a', HTTP_REQUEST_MAX * 2);
  memcpy(s, "GET /", 5);
  cr_expect_eq(http_request_parse(s, HTTP_REQUEST_MAX * 2, &r), -414);
  /* headers that never end */
  n = sprintf(s, "GET / HTTP/1.1\r\n");
  while (n < HTTP_REQUEST_MAX + 100) n += sprintf(s + n, "X-Filler: %d\r\n", n);
  cr_expect_eq(http_request_parse(s, (size_t)n, &r), -431);
  /* too many short header lines */
  n = sprintf(s, "GET / HTTP/1.1\r\n");
  for (int i = 0; i <= HTTP_HEADERS_MAX; i++) n += sprintf(s + n, "a: b\r\n");
  n += sprintf(s + n, "\r\n");
  cr_expect_eq(http_request_parse(s, (size_t)n, &r), -431);
  free(s);
}

Test(http_request, names_the_statuses_it_answers) {
  cr_expect_str_eq(http_reason(431), "Request Header Fields Too Large");
  cr_expect_str_eq(http_reason(503), "Service Unavailable");
  cr_expect_str_eq(http_reason(299), "");
}

Test(http_request, query_values_are_found_by_key_and_percent_decoded) {
  const char *s = "GET /v1/partitions?topic=a%2Eb&filter=x+y&flag&limit=5 HTTP/1.1\r\n\r\n";
  struct http_request r;
  cr_assert_gt(parse(s, &r), 0);
  char v[16];
  cr_expect_eq(http_query_get(&r, "topic", v, sizeof v), 1);
  cr_expect_str_eq(v, "a.b");
  cr_expect_eq(http_query_get(&r, "filter", v, sizeof v), 1);
  cr_expect_str_eq(v, "x y");
  cr_expect_eq(http_query_get(&r, "flag", v, sizeof v), 1);
  cr_expect_str_eq(v, "");
  cr_expect_eq(http_query_get(&r, "limit", v, sizeof v), 1);
  cr_expect_str_eq(v, "5");
  cr_expect_eq(http_query_get(&r, "top", v, sizeof v), 0, "a prefix of a key is not the key");
  char small[3];
  cr_expect_eq(http_query_get(&r, "topic", small, sizeof small), 1);
  cr_expect_str_eq(small, "a.", "cut to the buffer");
}

Test(http_request, host_and_port_split_with_brackets_for_ipv6) {
  char h[64];
  int port;
  cr_expect_eq(http_split_hostport("127.0.0.1:9644", h, sizeof h, &port), 0);
  cr_expect_str_eq(h, "127.0.0.1");
  cr_expect_eq(port, 9644);
  cr_expect_eq(http_split_hostport("[::1]:0", h, sizeof h, &port), 0);
  cr_expect_str_eq(h, "::1");
  cr_expect_eq(port, 0);
  cr_expect_eq(http_split_hostport("nohost", h, sizeof h, &port), -1);
  cr_expect_eq(http_split_hostport(":80", h, sizeof h, &port), -1);
  cr_expect_eq(http_split_hostport("a:70000", h, sizeof h, &port), -1);
  cr_expect_eq(http_split_hostport("a:8x", h, sizeof h, &port), -1);
}
