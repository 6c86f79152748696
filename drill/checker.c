#include "drill/checker.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 64
#define NAME_MAX_ 64
#define EXAMPLES 8

struct write_ev {
  int64_t invoke, complete;
  uint32_t partition;
  char value[VALUE_MAX];
  int ok;
  int64_t offset;
};

struct read_ev {
  int64_t time;
  char member[NAME_MAX_];
  uint32_t partition;
  int64_t offset;
  char value[VALUE_MAX];
};

struct own_ev {
  int64_t from, to;
  char member[NAME_MAX_];
  int64_t generation;
  uint32_t partition;
};

struct commit_ev {
  int64_t time;   /* when it was known to be in effect */
  int64_t invoke; /* when it was asked for (= time when the line gives none) */
  char group[NAME_MAX_];
  uint32_t partition;
  int64_t offset;
};

struct log_ev {
  char replica[NAME_MAX_];
  uint32_t partition;
  int64_t offset;
  char value[VALUE_MAX];
};

struct start_ev { /* a replica's log starts here: retention deleted what was below */
  char replica[NAME_MAX_];
  uint32_t partition;
  int64_t offset;
};

#define VEC(T)   \
  struct {       \
    T *v;        \
    size_t n, cap; \
  }

enum {
  EX_LOST, EX_DUP, EX_REORDER, EX_DISAGREE, EX_OWNERS, EX_COMMITS, EX_READS, EX_SKIPPED,
  EX_WINDOWS, EX_KINDS
};
static const char *const ex_names[] = {"lost", "duplicated", "reordered", "disagreement",
                                       "double owner", "commit backwards", "bad read",
                                       "skipped", "unavailable"};

struct checker {
  struct checker_config cfg;
  VEC(struct write_ev) w;
  VEC(struct read_ev) r;
  VEC(struct own_ev) o;
  VEC(struct commit_ev) c;
  VEC(struct log_ev) l;
  VEC(struct start_ev) s;
  uint64_t malformed;
  char examples[EX_KINDS][EXAMPLES][160];
  size_t nexamples[EX_KINDS];
};



static void *grow(void *v, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return v;
  size_t c = *cap ? *cap * 2 : 64;
  void *nv = realloc(v, c * elem);
  if (!nv) return NULL;
  *cap = c;
  return nv;
}

#define PUSH(vec, item)                                                     \
  do {                                                                      \
    void *nv_ = grow((vec).v, &(vec).cap, (vec).n, sizeof *(vec).v);        \
    if (!nv_) return -1;                                                    \
    (vec).v = nv_;                                                          \
    (vec).v[(vec).n++] = (item);                                            \
  } while (0)

struct checker *checker_new(const struct checker_config *cfg) {
  struct checker *c = calloc(1, sizeof *c);
  if (c) c->cfg = *cfg;
  return c;
}

void checker_free(struct checker *c) {
  if (!c) return;
  free(c->w.v);
  free(c->r.v);
  free(c->o.v);
  free(c->c.v);
  free(c->l.v);
  free(c->s.v);
  free(c);
}

int checker_add_line(struct checker *c, const char *line) {
  char kind = line[0], status[8];
  if (kind == '\n' || kind == 0 || kind == '#') return 0;
  int ok = 0;
  if (kind == 'W') {
    struct write_ev e = {0};
    int n = sscanf(line, "W %" SCNd64 " %" SCNd64 " %u %63s %7s %" SCNd64, &e.invoke, &e.complete,
                   &e.partition, e.value, status, &e.offset);
    if (n == 6 && !strcmp(status, "ok")) e.ok = 1, ok = 1;
    else if (n >= 5 && !strcmp(status, "fail")) e.offset = -1, ok = 1;
    if (ok) PUSH(c->w, e);
  } else if (kind == 'R') {
    struct read_ev e = {0};
    ok = sscanf(line, "R %" SCNd64 " %63s %u %" SCNd64 " %63s", &e.time, e.member, &e.partition,
                &e.offset, e.value) == 5;
    if (ok) PUSH(c->r, e);
  } else if (kind == 'O') {
    struct own_ev e = {0};
    ok = sscanf(line, "O %" SCNd64 " %" SCNd64 " %63s %" SCNd64 " %u", &e.from, &e.to, e.member,
                &e.generation, &e.partition) == 5;
    if (ok) PUSH(c->o, e);
  } else if (kind == 'C') {
    struct commit_ev e = {0};
    int n = sscanf(line, "C %" SCNd64 " %63s %u %" SCNd64 " %" SCNd64, &e.time, e.group,
                   &e.partition, &e.offset, &e.invoke);
    ok = n >= 4 && (n == 4 || e.invoke <= e.time);
    if (n == 4) e.invoke = e.time;
    if (ok) PUSH(c->c, e);
  } else if (kind == 'L') {
    struct log_ev e = {0};
    ok = sscanf(line, "L %63s %u %" SCNd64 " %63s", e.replica, &e.partition, &e.offset,
                e.value) == 4;
    if (ok) PUSH(c->l, e);
  } else if (kind == 'S') {
    struct start_ev e = {0};
    ok = sscanf(line, "S %63s %u %" SCNd64, e.replica, &e.partition, &e.offset) == 3 && e.offset >= 0;
    if (ok) PUSH(c->s, e);
  }
  if (!ok) c->malformed++;
  return ok ? 0 : -1;
}

int checker_add_file(struct checker *c, FILE *f) {
  char line[512];
  while (fgets(line, sizeof line, f)) checker_add_line(c, line);
  return 0;
}

static void example(struct checker *c, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void example(struct checker *c, int kind, const char *fmt, ...) {
  if (c->nexamples[kind] >= EXAMPLES) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->examples[kind][c->nexamples[kind]++], 160, fmt, ap);
  va_end(ap);
}

/* ---- replica logs ---- */

static int by_replica_value(const void *a, const void *b) {
  const struct log_ev *x = a, *y = b;
  int k = strcmp(x->replica, y->replica);
  if (k) return k;
  k = x->partition < y->partition ? -1 : x->partition > y->partition;
  return k ? k : strcmp(x->value, y->value);
}

static int by_position(const void *a, const void *b) {
  const struct log_ev *x = a, *y = b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return strcmp(x->replica, y->replica);
}

/* Entries at (partition, offset) in the position-sorted log: [*lo, *hi). */
static void at(const struct checker *c, uint32_t partition, int64_t offset, size_t *lo, size_t *hi) {
  size_t a = 0, b = c->l.n;
  while (a < b) {
    size_t m = (a + b) / 2;
    const struct log_ev *e = &c->l.v[m];
    if (e->partition < partition || (e->partition == partition && e->offset < offset)) a = m + 1;
    else b = m;
  }
  *lo = a;
  while (a < c->l.n && c->l.v[a].partition == partition && c->l.v[a].offset == offset) a++;
  *hi = a;
}

/* Distinct replicas, and each one's last offset per partition (for "does
 * this replica's log reach that offset"). */
struct reach {
  char replica[NAME_MAX_];
  uint32_t partition;
  int64_t first, last; /* first: its log start (0 unless an S line says otherwise) */
};

/* Does replica k hold offset `off` of its partition (below its end, not
 * deleted by retention)? */
static int holds(const struct reach *k, uint32_t partition, int64_t off) {
  return k->partition == partition && k->first <= off && off <= k->last;
}

static size_t reaches(const struct checker *c, struct reach **out) {
  struct reach *v = NULL;
  size_t n = 0, cap = 0;
  for (size_t i = 0; i < c->l.n; i++) {
    const struct log_ev *e = &c->l.v[i];
    size_t k = 0;
    while (k < n && (strcmp(v[k].replica, e->replica) || v[k].partition != e->partition)) k++;
    if (k == n) {
      struct reach *nv = grow(v, &cap, n, sizeof *v);
      if (!nv) break;
      v = nv;
      snprintf(v[n].replica, sizeof v[n].replica, "%s", e->replica);
      v[n].partition = e->partition;
      v[n].first = 0;
      v[n].last = e->offset;
      n++;
    } else if (e->offset > v[k].last) {
      v[k].last = e->offset;
    }
  }
  for (size_t i = 0; i < c->s.n; i++)
    for (size_t k = 0; k < n; k++)
      if (v[k].partition == c->s.v[i].partition && !strcmp(v[k].replica, c->s.v[i].replica))
        v[k].first = c->s.v[i].offset;
  *out = v;
  return n;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

struct tev {
  int64_t t;
  int kind; /* 0 complete (first at equal times), 1 invoke */
  size_t w;
};

static int by_time(const void *a, const void *b) {
  const struct tev *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->kind - y->kind;
}

static int by_owner(const void *a, const void *b) {
  const struct own_ev *x = a, *y = b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  return x->from < y->from ? -1 : x->from > y->from;
}

static int same_key(const struct commit_ev *x, const struct commit_ev *y) {
  int k = strcmp(x->group, y->group);
  if (k) return k;
  return x->partition != y->partition ? (x->partition < y->partition ? -1 : 1) : 0;
}

static int by_commit(const void *a, const void *b) {
  const struct commit_ev *x = a, *y = b;
  int k = same_key(x, y);
  return k ? k : x->time < y->time ? -1 : x->time > y->time;
}

static int by_commit_invoke(const void *a, const void *b) {
  const struct commit_ev *x = *(const struct commit_ev *const *)a, *y = *(const struct commit_ev *const *)b;
  int k = same_key(x, y);
  return k ? k : x->invoke < y->invoke ? -1 : x->invoke > y->invoke;
}

static int by_read_position(const void *a, const void *b) {
  const struct read_ev *x = a, *y = b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Index of the first read of (partition, offset) in the sorted reads, or of
 * where it would be. */
static size_t first_read_at(const struct checker *c, uint32_t partition, int64_t offset) {
  size_t lo = 0, hi = c->r.n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct read_ev *e = &c->r.v[mid];
    if (e->partition < partition || (e->partition == partition && e->offset < offset)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

void checker_run(struct checker *c, struct checker_result *r) {
  memset(r, 0, sizeof *r);
  memset(c->nexamples, 0, sizeof c->nexamples);
  r->malformed = c->malformed;
  r->reads = c->r.n;
  for (size_t i = 0; i < c->w.n; i++) {
    if (c->w.v[i].ok) r->writes_ok++;
    else r->writes_failed++;
  }
  /* duplicates: one value twice in one replica's partition */
  if (c->l.n) qsort(c->l.v, c->l.n, sizeof *c->l.v, by_replica_value);
  for (size_t i = 1; i < c->l.n; i++) {
    const struct log_ev *a = &c->l.v[i - 1], *b = &c->l.v[i];
    if (!strcmp(a->replica, b->replica) && a->partition == b->partition &&
        !strcmp(a->value, b->value)) {
      r->duplicated++;
      example(c, EX_DUP, "%s: %s at offsets %" PRId64 " and %" PRId64 " of partition %u",
              a->replica, a->value, a->offset, b->offset, a->partition);
    }
  }
  /* disagreements: one offset, two values */
  if (c->l.n) qsort(c->l.v, c->l.n, sizeof *c->l.v, by_position);
  for (size_t i = 0; i < c->l.n;) {
    size_t lo, hi;
    at(c, c->l.v[i].partition, c->l.v[i].offset, &lo, &hi);
    for (size_t k = lo + 1; k < hi; k++)
      if (strcmp(c->l.v[k].value, c->l.v[lo].value)) {
        r->disagreements++;
        example(c, EX_DISAGREE, "partition %u offset %" PRId64 ": %s has %s, %s has %s",
                c->l.v[lo].partition, c->l.v[lo].offset, c->l.v[lo].replica, c->l.v[lo].value,
                c->l.v[k].replica, c->l.v[k].value);
        break;
      }
    i = hi > i ? hi : i + 1;
  }
  /* lost: an acknowledged write missing where its offset is held */
  struct reach *rv = NULL;
  size_t nr = reaches(c, &rv);
  for (size_t i = 0; i < c->w.n; i++) {
    const struct write_ev *w = &c->w.v[i];
    if (!w->ok) continue;
    size_t lo, hi;
    at(c, w->partition, w->offset, &lo, &hi);
    int anywhere = 0, missing = 0, deleted = 0;
    const char *where = "";
    for (size_t k = 0; k < nr; k++) {
      deleted |= rv[k].partition == w->partition && w->offset < rv[k].first;
      if (!holds(&rv[k], w->partition, w->offset)) continue; /* behind, or retention deleted it */
      int has = 0;
      for (size_t j = lo; j < hi && !has; j++)
        has = !strcmp(c->l.v[j].replica, rv[k].replica) && !strcmp(c->l.v[j].value, w->value);
      if (has) anywhere = 1;
      else if (!missing) missing = 1, where = rv[k].replica;
    }
    if (!anywhere && !missing && deleted) {
      r->expired++; /* every replica that got this far deleted it: retention, not loss */
      continue;
    }
    if (!anywhere || missing) {
      r->lost++;
      example(c, EX_LOST, "%s acknowledged at partition %u offset %" PRId64 ", %s%s", w->value,
              w->partition, w->offset, anywhere ? "missing on " : "on no replica",
              anywhere ? where : "");
    }
  }
  /* bad reads: consumers saw something no replica holds there */
  for (size_t i = 0; i < c->r.n; i++) {
    const struct read_ev *e = &c->r.v[i];
    size_t lo, hi;
    at(c, e->partition, e->offset, &lo, &hi);
    int found = 0, covered = 0;
    for (size_t j = lo; j < hi; j++) found |= !strcmp(c->l.v[j].value, e->value);
    for (size_t k = 0; k < nr; k++) covered |= holds(&rv[k], e->partition, e->offset);
    if (covered && !found) {
      r->bad_reads++;
      example(c, EX_READS, "%s read %s at partition %u offset %" PRId64 ", which no replica has there",
              e->member, e->value, e->partition, e->offset);
    }
  }
  free(rv);
  /* reorders: W1 acknowledged before W2 was invoked, both in one partition,
   * yet W2 sits at the lower offset. Sweep time: at each invoke, the largest
   * offset acknowledged so far must be below the new write's offset. */
  struct tev *tv = calloc(2 * c->w.n + 1, sizeof *tv);
  size_t nt = 0;
  for (size_t i = 0; tv && i < c->w.n; i++)
    if (c->w.v[i].ok) {
      tv[nt++] = (struct tev){c->w.v[i].complete, 0, i};
      tv[nt++] = (struct tev){c->w.v[i].invoke, 1, i};
    }
  if (tv) {
    if (nt) qsort(tv, nt, sizeof *tv, by_time);
    uint32_t maxp = 0;
    for (size_t i = 0; i < c->w.n; i++)
      if (c->w.v[i].partition > maxp) maxp = c->w.v[i].partition;
    int64_t *best = malloc((maxp + 1) * sizeof *best);
    size_t *best_w = malloc((maxp + 1) * sizeof *best_w);
    for (uint32_t p = 0; best && p <= maxp; p++) best[p] = -1;
    for (size_t i = 0; best && best_w && i < nt; i++) {
      const struct write_ev *w = &c->w.v[tv[i].w];
      if (tv[i].kind == 0) {
        if (w->offset > best[w->partition]) {
          best[w->partition] = w->offset;
          best_w[w->partition] = tv[i].w;
        }
      } else if (best[w->partition] > w->offset) {
        r->reordered++;
        example(c, EX_REORDER, "%s (offset %" PRId64 ") was acknowledged before %s was sent, yet "
                "%s sits earlier at offset %" PRId64, c->w.v[best_w[w->partition]].value,
                best[w->partition], w->value, w->value, w->offset);
      }
    }
    free(best);
    free(best_w);
    free(tv);
  }
  /* two owners at once, same generation */
  if (c->o.n) qsort(c->o.v, c->o.n, sizeof *c->o.v, by_owner);
  for (size_t i = 0; i < c->o.n; i++)
    for (size_t k = i + 1; k < c->o.n && c->o.v[k].partition == c->o.v[i].partition &&
                           c->o.v[k].from < c->o.v[i].to;
         k++) {
      const struct own_ev *a = &c->o.v[i], *b = &c->o.v[k];
      if (strcmp(a->member, b->member) && a->generation == b->generation) {
        r->double_owners++;
        example(c, EX_OWNERS, "partition %u owned by %s and %s in generation %" PRId64, a->partition,
                a->member, b->member, a->generation);
      }
    }
  /* committed offsets going backwards: a commit (or a committed offset
   * seen) that was in effect before another was asked for, with a higher
   * offset. Overlapping ones have no order (the later-invoked may have
   * taken effect first). */
  if (c->c.n) qsort(c->c.v, c->c.n, sizeof *c->c.v, by_commit);
  const struct commit_ev **inv = c->c.n ? malloc(c->c.n * sizeof *inv) : NULL;
  for (size_t i = 0; inv && i < c->c.n; i++) inv[i] = &c->c.v[i];
  if (inv) qsort(inv, c->c.n, sizeof *inv, by_commit_invoke);
  int64_t high = 0;
  const struct commit_ev *high_ev = NULL;
  for (size_t i = 0, a = 0; inv && i < c->c.n; i++) {
    const struct commit_ev *b = inv[i];
    if (i == 0 || same_key(inv[i - 1], b)) { /* a new group and partition */
      high_ev = NULL;
      while (a < c->c.n && same_key(&c->c.v[a], b) < 0) a++;
    }
    for (; a < c->c.n && !same_key(&c->c.v[a], b) && c->c.v[a].time < b->invoke; a++)
      if (!high_ev || c->c.v[a].offset > high) high = c->c.v[a].offset, high_ev = &c->c.v[a];
    if (high_ev && b->offset < high) {
      r->commits_backwards++;
      example(c, EX_COMMITS, "group %s partition %u: commit went from %" PRId64 " to %" PRId64,
              b->group, b->partition, high, b->offset);
    }
  }
  free(inv);
  /* skipped: the group committed past an acknowledged write nobody read
   * (at-least-once broken). Reads of any member count. */
  if (c->r.n) qsort(c->r.v, c->r.n, sizeof *c->r.v, by_read_position);
  uint32_t maxcp = 0;
  for (size_t k = 0; k < c->c.n; k++)
    if (c->c.v[k].partition > maxcp) maxcp = c->c.v[k].partition;
  int64_t *committed = calloc((size_t)maxcp + 1, sizeof *committed);
  for (size_t k = 0; committed && k < c->c.n; k++)
    if (c->c.v[k].offset > committed[c->c.v[k].partition])
      committed[c->c.v[k].partition] = c->c.v[k].offset;
  for (size_t i = 0; committed && i < c->w.n; i++) {
    const struct write_ev *w = &c->w.v[i];
    if (!w->ok || w->partition > maxcp || w->offset >= committed[w->partition]) continue;
    int read = 0;
    for (size_t k = first_read_at(c, w->partition, w->offset);
         k < c->r.n && c->r.v[k].partition == w->partition && c->r.v[k].offset == w->offset && !read;
         k++)
      read = !strcmp(c->r.v[k].value, w->value);
    if (!read) {
      r->skipped++;
      example(c, EX_SKIPPED, "%s at partition %u offset %" PRId64 " was never read, yet the group "
              "committed %" PRId64, w->value, w->partition, w->offset, committed[w->partition]);
    }
  }
  free(committed);
  /* unavailability: gaps between acknowledged writes of a partition */
  int64_t *times = malloc((c->w.n + 1) * sizeof *times);
  uint32_t maxp = 0;
  for (size_t i = 0; i < c->w.n; i++)
    if (c->w.v[i].partition > maxp) maxp = c->w.v[i].partition;
  for (uint32_t p = 0; times && c->w.n && p <= maxp; p++) {
    size_t n = 0;
    for (size_t i = 0; i < c->w.n; i++)
      if (c->w.v[i].ok && c->w.v[i].partition == p) times[n++] = c->w.v[i].complete;
    if (n) qsort(times, n, sizeof *times, cmp_i64);
    for (size_t i = 1; i < n; i++) {
      int64_t gap = times[i] - times[i - 1];
      if (gap > r->longest_window_us) r->longest_window_us = gap;
      if (c->cfg.unavailable_us > 0 && gap > c->cfg.unavailable_us) {
        r->windows++;
        example(c, EX_WINDOWS, "partition %u took no acknowledged write for %.1f ms", p,
                (double)gap / 1000.0);
      }
    }
  }
  free(times);
}

int checker_violated(const struct checker_result *r) {
  return r->lost || r->duplicated || r->reordered || r->disagreements || r->double_owners ||
         r->commits_backwards || r->bad_reads || r->skipped;
}

void checker_print_verdict(const struct checker *c, const struct checker_result *r, FILE *out,
                           int examples) {
  fprintf(out,
          "%s: %" PRIu64 " acknowledged writes (%" PRIu64 " failed), %" PRIu64 " reads; lost %" PRIu64
          ", duplicated %" PRIu64 ", reordered %" PRIu64 ", replica disagreements %" PRIu64
          ", double owners %" PRIu64 ", commits backwards %" PRIu64 ", bad reads %" PRIu64
          ", skipped %" PRIu64 "; longest gap without an acknowledged write %.1f ms (%" PRIu64 " window(s))\n",
          checker_violated(r) ? "VIOLATION" : "OK", r->writes_ok, r->writes_failed, r->reads,
          r->lost, r->duplicated, r->reordered, r->disagreements, r->double_owners,
          r->commits_backwards, r->bad_reads, r->skipped, (double)r->longest_window_us / 1000.0, r->windows);
  if (r->expired)
    fprintf(out, "  %" PRIu64 " acknowledged write(s) deleted by retention on every replica (not lost)\n",
            r->expired);
  for (int k = 0; k < EX_KINDS; k++)
    for (size_t i = 0; i < c->nexamples[k] && (int)i < examples; i++)
      fprintf(out, "  %s: %s\n", ex_names[k], c->examples[k][i]);
}

void checker_print_json(const struct checker *c, const struct checker_result *r, FILE *out) {
  fprintf(out,
          "{\"verdict\":\"%s\",\"writes_ok\":%" PRIu64 ",\"writes_failed\":%" PRIu64
          ",\"reads\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
          ",\"reordered\":%" PRIu64 ",\"disagreements\":%" PRIu64 ",\"double_owners\":%" PRIu64
          ",\"commits_backwards\":%" PRIu64 ",\"bad_reads\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"expired\":%" PRIu64 ",\"malformed\":%" PRIu64
          ",\"unavailability\":{\"windows\":%" PRIu64 ",\"longest_ms\":%.1f},\"examples\":{",
          checker_violated(r) ? "violation" : "ok", r->writes_ok, r->writes_failed, r->reads,
          r->lost, r->duplicated, r->reordered, r->disagreements, r->double_owners,
          r->commits_backwards, r->bad_reads, r->skipped, r->expired, r->malformed, r->windows,
          (double)r->longest_window_us / 1000.0);
  for (int k = 0; k < EX_KINDS; k++) {
    fprintf(out, "%s\"%s\":[", k ? "," : "", ex_names[k]);
    for (size_t i = 0; i < c->nexamples[k]; i++) {
      fputs(i ? ",\"" : "\"", out);
      for (const char *s = c->examples[k][i]; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
      }
      fputc('"', out);
    }
    fputc(']', out);
  }
  fputs("}}\n", out);
}
