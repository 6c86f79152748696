#include "common/http_request.h"

#include <stdlib.h>
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
  r->query = query ? query + 1 : NULL;
  r->query_len = query ? (size_t)(sp2 - query - 1) : 0;
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
  if (!eol) {
    /* A request line still arriving: the method so far must be a token
     * (as any prefix of a valid head is), so bytes that cannot be HTTP (a
     * binary protocol, NULs) are refused now, not at the head timeout. */
    for (const char *q = buf; q < end && *q != ' '; q++)
      if (!is_tchar(*q)) return -400;
    if (scan && *buf == ' ') return -400;
    return len >= HTTP_REQUEST_MAX ? -414 : 0; /* a request line without end */
  }
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

int http_split_hostport(const char *s, char *host, size_t host_len, int *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s) return -1;
  const char *h = s;
  size_t hl = (size_t)(colon - s);
  if (*h == '[') {
    if (hl < 2 || h[hl - 1] != ']') return -1;
    h++;
    hl -= 2;
  }
  if (hl == 0 || hl >= host_len) return -1;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || p < 0 || p > 65535) return -1;
  memcpy(host, h, hl);
  host[hl] = 0;
  *port = (int)p;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int http_query_get(const struct http_request *r, const char *key, char *out, size_t out_len) {
  size_t kl = strlen(key);
  const char *q = r->query, *end = r->query ? r->query + r->query_len : NULL;
  while (q && q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(q, '=', (size_t)(pe - q));
    const char *ke = eq ? eq : pe;
    if ((size_t)(ke - q) == kl && !memcmp(q, key, kl)) {
      size_t n = 0;
      for (const char *v = eq ? eq + 1 : pe; v < pe && n + 1 < out_len; v++) {
        char c = *v;
        if (c == '+') c = ' ';
        else if (c == '%' && pe - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
          c = (char)(hexval(v[1]) * 16 + hexval(v[2]));
          v += 2;
        }
        out[n++] = c;
      }
      if (out_len) out[n] = 0;
      return 1;
    }
    q = amp ? amp + 1 : end;
  }
  if (out_len) out[0] = 0;
  return 0;
}
