#include "common/textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void textbuf_init(struct textbuf *t) { memset(t, 0, sizeof *t); }

void textbuf_free(struct textbuf *t) {
  free(t->p);
  memset(t, 0, sizeof *t);
}

char *textbuf_take(struct textbuf *t, size_t *len) {
  char *p = t->p;
  if (len) *len = t->len;
  memset(t, 0, sizeof *t);
  return p;
}

int textbuf_failed(const struct textbuf *t) { return t->failed; }

static int reserve(struct textbuf *t, size_t more) {
  if (t->failed) return 0;
  if (t->len + more + 1 <= t->cap) return 1;
  size_t cap = t->cap ? t->cap : 4096;
  while (cap < t->len + more + 1) cap *= 2;
  char *p = realloc(t->p, cap);
  if (!p) {
    t->failed = 1;
    return 0;
  }
  t->p = p;
  t->cap = cap;
  return 1;
}

void textbuf_put(struct textbuf *t, const char *s, size_t n) {
  if (!reserve(t, n)) return;
  memcpy(t->p + t->len, s, n);
  t->len += n;
  t->p[t->len] = 0;
}

void textbuf_puts(struct textbuf *t, const char *s) { textbuf_put(t, s, strlen(s)); }

void textbuf_printf(struct textbuf *t, const char *fmt, ...) {
  if (!reserve(t, 128)) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  if (n < 0) {
    t->failed = 1;
    return;
  }
  if ((size_t)n >= t->cap - t->len) {
    if (!reserve(t, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
  }
  t->len += (size_t)n;
}

void textbuf_json_str(struct textbuf *t, const char *s) {
  textbuf_put(t, "\"", 1);
  const char *run = s;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    textbuf_put(t, run, (size_t)(s - run));
    if (c == '"') textbuf_put(t, "\\\"", 2);
    else if (c == '\\') textbuf_put(t, "\\\\", 2);
    else if (c == '\n') textbuf_put(t, "\\n", 2);
    else textbuf_printf(t, "\\u%04x", c);
    run = s + 1;
  }
  textbuf_put(t, run, (size_t)(s - run));
  textbuf_put(t, "\"", 1);
}

void textbuf_prom_label(struct textbuf *t, const char *s) {
  const char *run = s;
  for (; *s; s++) {
    if (*s != '"' && *s != '\\' && *s != '\n') continue;
    textbuf_put(t, run, (size_t)(s - run));
    textbuf_put(t, *s == '"' ? "\\\"" : *s == '\\' ? "\\\\" : "\\n", 2);
    run = s + 1;
  }
  textbuf_put(t, run, (size_t)(s - run));
}
