/* Replica fetch sessions (KIP-227): the rules of rsess.h. */
#include "broker/rsess.h"

#include <stdlib.h>
#include <string.h>

#include "broker/topics.h"
#include "common/assert.h"

static int rehash(struct rsess *s, size_t want);

static void session_free(struct rsess *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].p) partition_unref(s->v[i].p);
  free(s->v);
  free(s->slot);
  free(s);
}

void rsess_free_all(struct rsess_cache *c) {
  for (size_t i = 0; i < c->n; i++) session_free(c->v[i]);
  c->n = 0;
}

static size_t index_of(struct rsess_cache *c, int32_t replica_id) {
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i]->replica_id == replica_id) return i;
  return SIZE_MAX;
}

struct rsess *rsess_of(struct rsess_cache *c, int32_t replica_id) {
  size_t i = index_of(c, replica_id);
  return i == SIZE_MAX ? NULL : c->v[i];
}

void rsess_drop_replica(struct rsess_cache *c, int32_t replica_id) {
  size_t i = index_of(c, replica_id);
  if (i == SIZE_MAX) return;
  session_free(c->v[i]);
  c->v[i] = c->v[--c->n];
}

struct rsess *rsess_find(struct rsess_cache *c, int32_t replica_id, int32_t id) {
  struct rsess *s = rsess_of(c, replica_id);
  return s && s->id == id ? s : NULL;
}

/* Kafka's nextEpoch: 1 after the largest, never 0 (full) or -1. */
static int32_t next_epoch(int32_t e) { return e >= INT32_MAX || e < 1 ? 1 : e + 1; }

int rsess_begin(struct rsess_cache *c, int32_t replica_id, int64_t broker_epoch,
                int32_t session_id, int32_t epoch, int64_t now_ms, struct rsess **out) {
  *out = NULL;
  if (epoch < 0) return 0;
  struct rsess *s = rsess_of(c, replica_id);
  if (epoch > 0) {
    if (!s || s->id != session_id || s->broker_epoch != broker_epoch) {
      c->stats.refused++;
      return RSESS_ERR_NOT_FOUND;
    }
    if (s->epoch != epoch) {
      c->stats.refused++;
      return RSESS_ERR_EPOCH;
    }
    s->epoch = next_epoch(epoch);
    s->last_used_ms = now_ms;
    if (s->dead > 64 && 2 * s->dead >= s->n) rehash(s, s->n - s->dead); /* best effort */
    c->stats.incremental++;
    *out = s;
    return 0;
  }
  /* Full: a new session replaces the replica's old one (one per broker, so
   * a follower that keeps asking full never piles sessions up). */
  if (s) {
    rsess_drop_replica(c, replica_id);
    c->stats.replaced++;
  }
  if (c->n >= RSESS_MAX) return 0; /* sessionless: the answer carries session id 0 */
  s = calloc(1, sizeof *s);
  if (!s) return 0;
  if (++c->next_id <= 0) c->next_id = 1;
  s->id = c->next_id;
  s->epoch = 1;
  s->replica_id = replica_id;
  s->broker_epoch = broker_epoch;
  s->last_used_ms = now_ms;
  c->v[c->n++] = s;
  c->stats.created++;
  c->stats.full++;
  *out = s;
  return 0;
}

static size_t hash_ptr(const struct partition *p, size_t mask) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 17;
  x *= 0x9e3779b97f4a7c15ull;
  return (size_t)(x >> 20) & mask;
}

/* Rebuild the slots for the live entries (dropping tombstones from v). */
static int rehash(struct rsess *s, size_t want) {
  size_t nslot = 64;
  while (nslot < 2 * want + 2) nslot *= 2;
  uint32_t *slot = calloc(nslot, sizeof *slot);
  if (!slot) return -1;
  size_t m = 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].p) s->v[m++] = s->v[i];
  s->n = m;
  s->dead = 0;
  if (s->next >= m) s->next = 0;
  for (size_t i = 0; i < m; i++) {
    size_t h = hash_ptr(s->v[i].p, nslot - 1);
    while (slot[h]) h = (h + 1) & (nslot - 1);
    slot[h] = (uint32_t)(i + 1);
  }
  free(s->slot);
  s->slot = slot;
  s->nslot = nslot;
  return 0;
}

struct rsess_entry *rsess_lookup(struct rsess *s, const struct partition *p) {
  if (!s->nslot) return NULL;
  for (size_t h = hash_ptr(p, s->nslot - 1);; h = (h + 1) & (s->nslot - 1)) {
    uint32_t k = s->slot[h];
    if (!k) return NULL;
    if (s->v[k - 1].p == p) return &s->v[k - 1];
  }
}

struct rsess_entry *rsess_name(struct rsess *s, struct partition *p, int64_t fetch_offset,
                               int64_t durable, int32_t last_epoch) {
  STRATA_ASSERT(p);
  struct rsess_entry *e = rsess_lookup(s, p);
  if (!e) {
    if (s->n == s->cap) {
      size_t cap = s->cap ? 2 * s->cap : 64;
      struct rsess_entry *v = realloc(s->v, cap * sizeof *v);
      if (!v) return NULL;
      s->v = v;
      s->cap = cap;
    }
    /* Slots filled at most half (tombstones count: they still occupy slots). */
    if (2 * (s->n + 1) + 2 > s->nslot && rehash(s, s->n - s->dead + 1)) return NULL;
    e = &s->v[s->n];
    memset(e, 0, sizeof *e);
    e->p = p;
    partition_ref(p);
    e->told_hw = e->told_start = -1;
    size_t h = hash_ptr(p, s->nslot - 1);
    while (s->slot[h]) h = (h + 1) & (s->nslot - 1);
    s->slot[h] = (uint32_t)(++s->n);
  }
  e->fetch_offset = fetch_offset;
  e->durable = durable < fetch_offset ? durable : fetch_offset;
  e->last_epoch = last_epoch;
  return e;
}

void rsess_drop_partition(struct rsess_cache *c, const struct partition *p) {
  for (size_t i = 0; i < c->n; i++) {
    struct rsess *s = c->v[i];
    struct rsess_entry *e = rsess_lookup(s, p);
    if (!e) continue;
    partition_unref(e->p);
    e->p = NULL; /* a tombstone: its slot still leads past it */
    s->dead++;
  }
}
