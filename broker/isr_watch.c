#include "broker/isr_watch.h"

#include <stdlib.h>

#include "broker/topics.h"
#include "common/assert.h"

static void place(struct isr_watch *w, size_t i, struct partition *p) {
  w->v[i] = p;
  p->watch_idx = i + 1;
}

static void up(struct isr_watch *w, size_t i) {
  struct partition *p = w->v[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (w->v[parent]->watch_at <= p->watch_at) break;
    place(w, i, w->v[parent]);
    i = parent;
  }
  place(w, i, p);
}

static void down(struct isr_watch *w, size_t i) {
  struct partition *p = w->v[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= w->n) break;
    if (c + 1 < w->n && w->v[c + 1]->watch_at < w->v[c]->watch_at) c++;
    if (w->v[c]->watch_at >= p->watch_at) break;
    place(w, i, w->v[c]);
    i = c;
  }
  place(w, i, p);
}

void isr_watch_at(struct isr_watch *w, struct partition *p, int64_t at) {
  if (p->watch_idx) {
    STRATA_ASSERT(p->watch_idx <= w->n && w->v[p->watch_idx - 1] == p);
    if (at < p->watch_at) {
      p->watch_at = at;
      up(w, p->watch_idx - 1);
    }
    return;
  }
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 64;
    struct partition **v = realloc(w->v, cap * sizeof *v);
    if (!v) abort(); /* as every allocation of the broker's own state */
    w->v = v;
    w->cap = cap;
  }
  partition_ref(p);
  p->watch_at = at;
  place(w, w->n++, p);
  up(w, w->n - 1);
}

struct partition *isr_watch_pop(struct isr_watch *w, int64_t now_ms) {
  if (!w->n || w->v[0]->watch_at > now_ms) return NULL;
  struct partition *p = w->v[0];
  p->watch_idx = 0;
  if (--w->n) {
    place(w, 0, w->v[w->n]);
    down(w, 0);
  }
  return p;
}

void isr_watch_free(struct isr_watch *w) {
  for (size_t i = 0; i < w->n; i++) {
    w->v[i]->watch_idx = 0;
    partition_unref(w->v[i]);
  }
  free(w->v);
  *w = (struct isr_watch){0};
}
