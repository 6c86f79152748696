/* The request head of the admin HTTP listener (issue 16: /metrics, /livez,
 * /readyz): HTTP/1.0 or 1.1, GET or HEAD only, parsed from bytes as they
 * arrive and bounded before anything is kept. Nothing is allocated: the
 * path points into the caller's buffer. Every refusal maps to the status
 * line the listener answers with, then closes. */
#ifndef STRATA_HTTP_REQUEST_H
#define STRATA_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_REQUEST_MAX 8192 /* request line and headers together */
#define HTTP_PATH_MAX 1024    /* the request target */
#define HTTP_HEADERS_MAX 64   /* header lines */

enum http_method { HTTP_GET = 1, HTTP_HEAD };

struct http_request {
  enum http_method method;
  const char *path; /* into the buffer, not NUL-terminated; no query string */
  size_t path_len;
  const char *query; /* after the '?', not NUL-terminated; NULL when none */
  size_t query_len;
  int minor;        /* HTTP/1.minor */
  int keep_alive;   /* the client asked to keep the connection (1.1 without close) */
};

/* What a server's route function answers (common/http_server_uv.c writes
 * it with a status line, Content-Length and Connection: close). */
struct http_answer {
  int status;
  const char *content_type; /* static string */
  char *body;               /* malloc'd; the server frees it */
  size_t len;
  int cors;                 /* Access-Control-Allow-Origin: * */
};

/* An admin listener's connection counters (common/http_server_uv.c keeps
 * them; /metrics shows them). */
struct http_server_stats {
  size_t open;
  uint64_t opened, evicted, refused_full, bad_request, timed_out, answered;
};

/* Parse the head in buf[0, len). Returns the head's length (through the
 * blank line) and fills r; 0 when more bytes are needed; or a negative HTTP
 * status to answer with: -400 (malformed, or a body announced), -405 (a
 * method other than GET/HEAD), -414 (target over HTTP_PATH_MAX), -431 (head
 * over HTTP_REQUEST_MAX or more than HTTP_HEADERS_MAX lines), -505 (not
 * HTTP/1.x). Bad bytes are answered, never asserted on. */
long http_request_parse(const char *buf, size_t len, struct http_request *r);

/* The reason phrase of a status (200, 404, 405, 503, ...); "" if unknown. */
const char *http_reason(int status);

/* Split "HOST:PORT" (IPv6 in brackets) into host and port. 0 or -1. */
int http_split_hostport(const char *s, char *host, size_t host_len, int *port);

/* The value of key in the query string, %-decoded ('+' is a space), into
 * out (NUL-terminated, cut at out_len - 1). 1 if present, else 0. */
int http_query_get(const struct http_request *r, const char *key, char *out, size_t out_len);

#endif
