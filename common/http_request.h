/* The request head of the admin HTTP listener (issue 16: /metrics, /livez,
 * /readyz): HTTP/1.0 or 1.1, GET or HEAD only, parsed from bytes as they
 * arrive and bounded before anything is kept. Nothing is allocated: the
 * path points into the caller's buffer. Every refusal maps to the status
 * line the listener answers with, then closes. */
#ifndef STRATA_HTTP_REQUEST_H
#define STRATA_HTTP_REQUEST_H

#include <stddef.h>

#define HTTP_REQUEST_MAX 8192 /* request line and headers together */
#define HTTP_PATH_MAX 1024    /* the request target */
#define HTTP_HEADERS_MAX 64   /* header lines */

enum http_method { HTTP_GET = 1, HTTP_HEAD };

struct http_request {
  enum http_method method;
  const char *path; /* into the buffer, not NUL-terminated; no query string */
  size_t path_len;
  int minor;        /* HTTP/1.minor */
  int keep_alive;   /* the client asked to keep the connection (1.1 without close) */
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

#endif
