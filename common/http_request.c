#include "common/http_request.h"

#include <string.h>

static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int ieq(const char *a, size_t n, const char *lit) {
  if (strlen(lit) != n) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
    if (c != lit[i]) return 0;
  }
  return 1;
}

/* Where the line starting at p ends (the LF of its CR LF, or a bare LF),
 * or NULL when it does not end before `end`. */
static const char *line_end(const char *p, const char *end) {
  return memchr(p, '\n', (size_t)(end - p));
}

/* The request line: METHOD SP target SP HTTP/1.x. */
static long request_line(const char *p, const char *eol, struct http_request *r) {
  if (eol > p && eol[-1] == '\r') eol--;
  const char *sp = memchr(p, ' ', (size_t)(eol - p));
  if (!sp || sp == p) return -400;
  for (const char *q = p; q < sp; q++)
    if (!is_tchar(*q)) return -400;
  if ((size_t)(sp - p) == 3 && !memcmp(p, "GET", 3)) r->method = HTTP_GET;
  else if ((size_t)(sp - p) == 4 && !memcmp(p, "HEAD", 4)) r->method = HTTP_HEAD;
  else return -405;
  const char *t = sp + 1;
  const char *sp2 = memchr(t, ' ', (size_t)(eol - t));
  if (!sp2 || sp2 == t || *t != '/') return -400;
  for (const char *q = t; q < sp2; q++)
    if ((unsigned char)*q <= 0x20 || *q == 0x7f) return -400;
  const char *query = memchr(t, '?', (size_t)(sp2 - t));
  size_t plen = (size_t)((query ? query : sp2) - t);
  if ((size_t)(sp2 - t) > HTTP_PATH_MAX) return -414;
  r->path = t;
  r->path_len = plen;
  const char *v = sp2 + 1;
  if (eol - v != 8 || memcmp(v, "HTTP/", 5)) return -400;
  if (v[5] != '1' || v[6] != '.' || v[7] < '0' || v[7] > '9') return -505;
  r->minor = v[7] - '0';
  r->keep_alive = r->minor >= 1;
  return 0;
}

/* One header line: name ":" value. A body (Content-Length other than 0,
 * Transfer-Encoding) is refused: GET and HEAD carry none here. */
static long header_line(const char *p, const char *eol, struct http_request *r) {
  if (eol > p && eol[-1] == '\r') eol--;
  const char *colon = memchr(p, ':', (size_t)(eol - p));
  if (!colon || colon == p) return -400;
  for (const char *q = p; q < colon; q++)
    if (!is_tchar(*q)) return -400; /* also no space before the colon */
  const char *v = colon + 1;
  while (v < eol && (*v == ' ' || *v == '\t')) v++;
  const char *ve = eol;
  while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
  size_t n = (size_t)(colon - p), vn = (size_t)(ve - v);
  if (ieq(p, n, "transfer-encoding")) return -400;
  if (ieq(p, n, "content-length") && !(vn == 1 && *v == '0')) return -400;
  if (ieq(p, n, "connection")) {
    if (ieq(v, vn, "close")) r->keep_alive = 0;
    else if (ieq(v, vn, "keep-alive")) r->keep_alive = 1;
  }
  return 0;
}

long http_request_parse(const char *buf, size_t len, struct http_request *r) {
  memset(r, 0, sizeof *r);
  size_t scan = len < HTTP_REQUEST_MAX ? len : HTTP_REQUEST_MAX;
  const char *end = buf + scan;
  const char *eol = line_end(buf, end);
  if (!eol) return len >= HTTP_REQUEST_MAX ? -414 : 0; /* a request line without end */
  long rc = request_line(buf, eol, r);
  if (rc) return rc;
  const char *p = eol + 1;
  for (int lines = 0;; lines++) {
    const char *e = line_end(p, end);
    if (!e) return len >= HTTP_REQUEST_MAX ? -431 : 0;
    if (e == p || (e == p + 1 && *p == '\r')) return (long)(e + 1 - buf); /* the blank line */
    if (lines >= HTTP_HEADERS_MAX) return -431;
    if (*p == ' ' || *p == '\t') return -400; /* obsolete line folding */
    if ((rc = header_line(p, e, r))) return rc;
    p = e + 1;
  }
}

const char *http_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 414: return "URI Too Long";
  case 431: return "Request Header Fields Too Large";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  }
  return "";
}
