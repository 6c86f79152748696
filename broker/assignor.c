#include "assignor.h"

#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

int assignor_parse(const char *name) {
  if (!name || !*name || !strcmp(name, "sticky")) return ASSIGNOR_STICKY;
  if (!strcmp(name, "range")) return ASSIGNOR_RANGE;
  if (!strcmp(name, "roundrobin")) return ASSIGNOR_ROUNDROBIN;
  return -1;
}

const char *assignor_name(int kind) {
  return kind == ASSIGNOR_RANGE ? "range" : kind == ASSIGNOR_ROUNDROBIN ? "roundrobin" : "sticky";
}

static int subscribed(const struct assign_member *m, uint32_t topic) {
  for (size_t i = 0; i < m->ntopics; i++)
    if (m->topics[i] == topic) return 1;
  return 0;
}

static int by_id(const void *a, const void *b) {
  return strcmp((*(struct assign_member *const *)a)->id, (*(struct assign_member *const *)b)->id);
}

static int tp_cmp(const void *a, const void *b) {
  const struct tp *x = a, *y = b;
  if (x->topic != y->topic) return x->topic < y->topic ? -1 : 1;
  return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* Owner of every partition, as a member index (-1: none), indexed by a flat
 * position: base[topic] + partition. */
struct table {
  size_t total;
  size_t *base;
  int *owner;
};

static int table_init(struct table *t, const uint32_t *npart, size_t ntopics) {
  t->base = calloc(ntopics + 1, sizeof *t->base);
  if (!t->base) return STRATA_ENOMEM;
  t->total = 0;
  for (size_t i = 0; i < ntopics; i++) {
    t->base[i] = t->total;
    t->total += npart[i];
  }
  t->base[ntopics] = t->total;
  t->owner = malloc((t->total + 1) * sizeof *t->owner);
  if (!t->owner) return STRATA_ENOMEM;
  for (size_t i = 0; i < t->total; i++) t->owner[i] = -1;
  return 0;
}

static void table_free(struct table *t) {
  free(t->base);
  free(t->owner);
}

/* Topic of flat position k. */
static uint32_t topic_of(const struct table *t, size_t ntopics, size_t k) {
  size_t lo = 0, hi = ntopics;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (t->base[mid] <= k) lo = mid;
    else hi = mid;
  }
  return (uint32_t)lo;
}

static void sticky(struct table *t, const uint32_t *npart, size_t ntopics,
                   struct assign_member **m, size_t nm, size_t *count) {
  /* 1. Keep what each member had, where it is still valid and unclaimed. */
  for (size_t i = 0; i < nm; i++)
    for (size_t k = 0; k < m[i]->nprev; k++) {
      struct tp p = m[i]->prev[k];
      if (p.topic >= ntopics || p.partition >= npart[p.topic] || !subscribed(m[i], p.topic))
        continue;
      size_t f = t->base[p.topic] + p.partition;
      if (t->owner[f] < 0) {
        t->owner[f] = (int)i;
        count[i]++;
      }
    }
  /* 2. Each orphan to the least loaded member subscribed to its topic. */
  for (size_t f = 0; f < t->total; f++) {
    if (t->owner[f] >= 0) continue;
    uint32_t topic = topic_of(t, ntopics, f);
    int best = -1;
    for (size_t i = 0; i < nm; i++)
      if (subscribed(m[i], topic) && (best < 0 || count[i] < count[best])) best = (int)i;
    if (best >= 0) {
      t->owner[f] = best;
      count[best]++;
    }
  }
  /* 3. Balance: move one partition at a time from the most loaded member to
   * a member with at least two fewer that may take it, until none can. */
  for (size_t guard = 0; guard < t->total * (nm + 1); guard++) {
    int moved = 0;
    for (size_t f = t->total; f-- > 0 && !moved;) {
      int from = t->owner[f];
      if (from < 0) continue;
      uint32_t topic = topic_of(t, ntopics, f);
      int to = -1;
      for (size_t i = 0; i < nm; i++)
        if (subscribed(m[i], topic) && count[i] + 1 < count[from] &&
            (to < 0 || count[i] < count[to]))
          to = (int)i;
      /* only from a member that is among the most loaded, so moves converge */
      int most = 1;
      for (size_t i = 0; i < nm && most; i++)
        if (count[i] > count[from] && subscribed(m[i], topic)) most = 0;
      if (to >= 0 && most) {
        t->owner[f] = to;
        count[from]--;
        count[to]++;
        moved = 1;
      }
    }
    if (!moved) break;
  }
}

static void range(struct table *t, const uint32_t *npart, size_t ntopics,
                  struct assign_member **m, size_t nm) {
  for (uint32_t topic = 0; topic < ntopics; topic++) {
    size_t subs = 0;
    for (size_t i = 0; i < nm; i++) subs += subscribed(m[i], topic);
    if (!subs) continue;
    size_t each = npart[topic] / subs, extra = npart[topic] % subs, next = 0, seen = 0;
    for (size_t i = 0; i < nm; i++) {
      if (!subscribed(m[i], topic)) continue;
      size_t n = each + (seen++ < extra ? 1 : 0);
      for (size_t k = 0; k < n; k++) t->owner[t->base[topic] + next++] = (int)i;
    }
  }
}

static void roundrobin(struct table *t, size_t ntopics, struct assign_member **m, size_t nm) {
  size_t next = 0;
  for (size_t f = 0; f < t->total; f++) {
    uint32_t topic = topic_of(t, ntopics, f);
    for (size_t tries = 0; tries < nm; tries++, next++)
      if (subscribed(m[next % nm], topic)) {
        t->owner[f] = (int)(next % nm);
        next++;
        break;
      }
  }
}

int assign_partitions(int kind, const uint32_t *npart, size_t ntopics,
                      struct assign_member *members, size_t nmembers) {
  for (size_t i = 0; i < nmembers; i++) {
    members[i].out = NULL;
    members[i].nout = 0;
  }
  if (nmembers == 0) return 0;
  struct table t;
  struct assign_member **m = malloc(nmembers * sizeof *m);
  size_t *count = calloc(nmembers, sizeof *count);
  int rc = m && count ? table_init(&t, npart, ntopics) : STRATA_ENOMEM;
  if (rc) {
    free(m);
    free(count);
    return rc;
  }
  for (size_t i = 0; i < nmembers; i++) m[i] = &members[i];
  qsort(m, nmembers, sizeof *m, by_id);
  if (kind == ASSIGNOR_RANGE) range(&t, npart, ntopics, m, nmembers);
  else if (kind == ASSIGNOR_ROUNDROBIN) roundrobin(&t, ntopics, m, nmembers);
  else sticky(&t, npart, ntopics, m, nmembers, count);
  memset(count, 0, nmembers * sizeof *count);
  for (size_t f = 0; f < t.total; f++)
    if (t.owner[f] >= 0) count[t.owner[f]]++;
  for (size_t i = 0; i < nmembers && !rc; i++) {
    m[i]->out = malloc((count[i] + 1) * sizeof *m[i]->out);
    if (!m[i]->out) rc = STRATA_ENOMEM;
  }
  for (size_t f = 0; f < t.total && !rc; f++) {
    int o = t.owner[f];
    if (o < 0) continue;
    uint32_t topic = topic_of(&t, ntopics, f);
    m[o]->out[m[o]->nout++] = (struct tp){topic, (uint32_t)(f - t.base[topic])};
  }
  for (size_t i = 0; i < nmembers && !rc; i++) qsort(m[i]->out, m[i]->nout, sizeof(struct tp), tp_cmp);
  table_free(&t);
  free(m);
  free(count);
  if (rc) assign_free(members, nmembers);
  return rc;
}

void assign_free(struct assign_member *members, size_t nmembers) {
  for (size_t i = 0; i < nmembers; i++) {
    free(members[i].out);
    members[i].out = NULL;
    members[i].nout = 0;
  }
}
