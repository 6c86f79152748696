/* Hash index over ACL entries (acl_index.h). */
#include "common/acl_index.h"

#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull; /* FNV-1a */
  return h;
}

static uint64_t hash(const struct acl_entry *e) {
  uint8_t codes[4] = {e->resource, e->pattern, e->op, e->perm};
  uint64_t h = mix(14695981039346656037ull, codes, sizeof codes);
  const char *s[3] = {e->name, e->principal, e->host};
  for (int i = 0; i < 3; i++) h = mix(h, s[i] ? s[i] : "", strlen(s[i] ? s[i] : "") + 1);
  return h;
}

static int streq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

static int same(const struct acl_entry *a, const struct acl_entry *b) {
  return a->resource == b->resource && a->pattern == b->pattern && a->op == b->op &&
         a->perm == b->perm && streq(a->name, b->name) && streq(a->principal, b->principal) &&
         streq(a->host, b->host);
}

void acl_index_free(struct acl_index *x) {
  free(x->slots);
  x->slots = NULL;
  x->nslots = 0;
}

long acl_index_find(const struct acl_index *x, const struct acl_entry *v, const struct acl_entry *e) {
  if (!x->nslots) return -1;
  size_t mask = x->nslots - 1;
  for (size_t p = hash(e) & mask; x->slots[p]; p = (p + 1) & mask)
    if (same(&v[x->slots[p] - 1], e)) return (long)x->slots[p] - 1;
  return -1;
}

static void place(struct acl_index *x, const struct acl_entry *v, size_t pos) {
  size_t mask = x->nslots - 1, p = hash(&v[pos]) & mask;
  while (x->slots[p]) p = (p + 1) & mask;
  x->slots[p] = (uint32_t)pos + 1;
}

int acl_index_add(struct acl_index *x, const struct acl_entry *v, size_t n, size_t pos) {
  if ((n + 1) * 2 > x->nslots) { /* grow and place every entry again */
    size_t ns = x->nslots ? x->nslots * 2 : 64;
    while ((n + 1) * 2 > ns) ns *= 2;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots) return STRATA_ENOMEM;
    free(x->slots);
    x->slots = slots;
    x->nslots = ns;
    for (size_t i = 0; i < n; i++)
      if (i != pos) place(x, v, i);
  }
  place(x, v, pos);
  return 0;
}

/* The slot holding position pos, or nslots. */
static size_t slot_of(const struct acl_index *x, const struct acl_entry *v, size_t pos) {
  size_t mask = x->nslots - 1;
  for (size_t p = hash(&v[pos]) & mask; x->slots[p]; p = (p + 1) & mask)
    if (x->slots[p] == pos + 1) return p;
  return x->nslots;
}

void acl_index_remove(struct acl_index *x, const struct acl_entry *v, size_t pos) {
  if (!x->nslots) return;
  size_t mask = x->nslots - 1, p = slot_of(x, v, pos);
  if (p == x->nslots) return;
  x->slots[p] = 0;
  /* Backward shift: move up each later entry of the run whose home slot
   * does not lie cyclically in (p, j], so every entry stays reachable. */
  for (size_t j = (p + 1) & mask; x->slots[j]; j = (j + 1) & mask) {
    size_t home = hash(&v[x->slots[j] - 1]) & mask;
    int stays = p <= j ? (home > p && home <= j) : (home > p || home <= j);
    if (stays) continue;
    x->slots[p] = x->slots[j];
    x->slots[j] = 0;
    p = j;
  }
}

void acl_index_move(struct acl_index *x, const struct acl_entry *v, size_t from, size_t to) {
  if (!x->nslots) return;
  size_t p = slot_of(x, v, from);
  if (p < x->nslots) x->slots[p] = (uint32_t)to + 1;
}
