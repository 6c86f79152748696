/* A growable text buffer for answers built piece by piece (the admin
 * listener's metrics and JSON). Running out of memory is sticky: later
 * appends do nothing and textbuf_failed says so, so a renderer checks once
 * at the end instead of after every line. */
#ifndef STRATA_TEXTBUF_H
#define STRATA_TEXTBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct textbuf {
  char *p;
  size_t len, cap;
  int failed;
};

void textbuf_init(struct textbuf *t);
void textbuf_free(struct textbuf *t);
/* Hand the bytes over (the caller frees them); t is empty after. */
char *textbuf_take(struct textbuf *t, size_t *len);
int textbuf_failed(const struct textbuf *t);

void textbuf_put(struct textbuf *t, const char *s, size_t n);
void textbuf_puts(struct textbuf *t, const char *s);
void textbuf_printf(struct textbuf *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* s as a JSON string, quotes included (control bytes \u-escaped; bytes
 * >= 0x80 pass through: names are UTF-8 or plain bytes). */
void textbuf_json_str(struct textbuf *t, const char *s);
/* s as a Prometheus label value, without quotes (\\, \" and \n escaped). */
void textbuf_prom_label(struct textbuf *t, const char *s);

#endif
