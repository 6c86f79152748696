/* Kafka fetch sessions (KIP-227): the cache and the rules of
 * kafka_fetch_session.h. */
#include "broker/kafka_fetch_session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void kfs_init(struct kfs_cache *c, size_t slots, int64_t eviction_ms, uint64_t seed) {
  memset(c, 0, sizeof *c);
  c->slots = slots;
  c->eviction_ms = eviction_ms;
  c->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static void session_free(struct kfs_session *s) {
  for (size_t i = 0; i < s->n; i++) free(s->parts[i].topic);
  free(s->parts);
  free(s);
}

void kfs_free(struct kfs_cache *c) {
  for (size_t i = 0; i < c->n; i++) session_free(c->v[i]);
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

struct kfs_session *kfs_find(struct kfs_cache *c, int32_t id) {
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i]->id == id) return c->v[i];
  return NULL;
}

static void remove_at(struct kfs_cache *c, size_t i) {
  session_free(c->v[i]);
  c->v[i] = c->v[--c->n];
}

static int remove_id(struct kfs_cache *c, int32_t id) {
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i]->id == id) {
      remove_at(c, i);
      return 1;
    }
  return 0;
}

/* Kafka's nextEpoch: 1 after the largest, never 0 (full) or -1 (final). */
static int32_t next_epoch(int32_t e) { return e >= INT32_MAX || e < 1 ? 1 : e + 1; }

int kfs_begin(struct kfs_cache *c, int32_t session_id, int32_t epoch, int by_id,
              enum kfs_kind *kind, struct kfs_session **s) {
  *s = NULL;
  if (epoch <= 0) { /* 0 or -1: full; the session it names is over */
    if (session_id != 0 && remove_id(c, session_id)) c->stats.closed++;
    *kind = epoch == 0 ? KFS_FULL : KFS_SESSIONLESS;
    return 0;
  }
  *kind = KFS_INCREMENTAL;
  struct kfs_session *x = session_id ? kfs_find(c, session_id) : NULL;
  if (!x) {
    c->stats.not_found++;
    return KFS_ERR_SESSION_ID_NOT_FOUND;
  }
  if (x->epoch != epoch) {
    c->stats.bad_epoch++;
    return KFS_ERR_INVALID_SESSION_EPOCH;
  }
  if (!x->by_id != !by_id) {
    c->stats.topic_id_mismatch++;
    return KFS_ERR_SESSION_TOPIC_ID;
  }
  *s = x;
  return 0;
}

static int same_topic(const struct kfs_session *s, const struct kfs_part *p, const char *topic,
                      const uint8_t topic_id[16]) {
  if (s->by_id) return memcmp(p->topic_id, topic_id, sizeof p->topic_id) == 0;
  return p->topic && topic && strcmp(p->topic, topic) == 0;
}

struct kfs_part *kfs_lookup(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
                            int32_t partition) {
  for (size_t i = 0; i < s->n; i++)
    if (s->parts[i].partition == partition && same_topic(s, &s->parts[i], topic, topic_id))
      return &s->parts[i];
  return NULL;
}

struct kfs_part *kfs_lookup_at(struct kfs_session *s, size_t hint, const char *topic,
                               const uint8_t topic_id[16], int32_t partition) {
  if (hint < s->n && s->parts[hint].partition == partition &&
      same_topic(s, &s->parts[hint], topic, topic_id))
    return &s->parts[hint];
  return kfs_lookup(s, topic, topic_id, partition);
}

struct kfs_part *kfs_append(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
                            int32_t partition, int64_t fetch_offset, int64_t log_start_offset,
                            int32_t max_bytes, int32_t leader_epoch) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    struct kfs_part *v = realloc(s->parts, cap * sizeof *v);
    if (!v) return NULL;
    s->parts = v;
    s->cap = cap;
  }
  char *name = NULL;
  if (topic && !(name = strdup(topic))) return NULL;
  struct kfs_part *p = &s->parts[s->n++];
  memset(p, 0, sizeof *p);
  p->topic = name;
  memcpy(p->topic_id, topic_id, sizeof p->topic_id);
  p->partition = partition;
  p->hw = p->log_start = -1; /* nothing told yet: the next answer carries it */
  p->fetch_offset = fetch_offset;
  p->log_start_offset = log_start_offset;
  p->max_bytes = max_bytes;
  p->leader_epoch = leader_epoch;
  return p;
}

int kfs_upsert(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
               int32_t partition, int64_t fetch_offset, int64_t log_start_offset,
               int32_t max_bytes, int32_t leader_epoch) {
  struct kfs_part *p = kfs_lookup(s, topic, topic_id, partition);
  if (!p)
    return kfs_append(s, topic, topic_id, partition, fetch_offset, log_start_offset, max_bytes,
                      leader_epoch)
               ? 0
               : -1;
  p->fetch_offset = fetch_offset;
  p->log_start_offset = log_start_offset;
  p->max_bytes = max_bytes;
  p->leader_epoch = leader_epoch;
  return 0;
}

void kfs_forget(struct kfs_session *s, const char *topic, const uint8_t topic_id[16],
                int32_t partition) {
  struct kfs_part *p = kfs_lookup(s, topic, topic_id, partition);
  if (!p) return;
  size_t i = (size_t)(p - s->parts);
  free(p->topic);
  memmove(p, p + 1, (s->n - i - 1) * sizeof *p); /* keep the fetch order */
  s->n--;
}

enum kfs_kind kfs_commit(struct kfs_cache *c, struct kfs_session *s, int64_t now_ms) {
  if (s->n == 0) {
    remove_id(c, s->id);
    c->stats.closed++;
    return KFS_SESSIONLESS;
  }
  s->epoch = next_epoch(s->epoch);
  s->last_used_ms = now_ms;
  c->stats.incremental++;
  return KFS_INCREMENTAL;
}

/* xorshift64*: ids nobody else's client guesses by counting. */
static int32_t new_id(struct kfs_cache *c) {
  for (;;) {
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    int32_t id = (int32_t)((c->rng * 0x2545f4914f6cdd1dull) >> 33); /* 31 bits: >= 0 */
    if (id > 0 && !kfs_find(c, id)) return id;
  }
}

struct kfs_session *kfs_create(struct kfs_cache *c, int by_id, int64_t now_ms) {
  if (c->slots == 0) {
    c->stats.refused_full++;
    return NULL;
  }
  if (c->n >= c->slots) { /* room only by evicting the least recently used, if idle long enough */
    size_t lru = 0;
    for (size_t i = 1; i < c->n; i++)
      if (c->v[i]->last_used_ms < c->v[lru]->last_used_ms) lru = i;
    if (now_ms - c->v[lru]->last_used_ms < c->eviction_ms) {
      c->stats.refused_full++;
      return NULL;
    }
    remove_at(c, lru);
    c->stats.evicted++;
  }
  if (c->n % 16 == 0) {
    struct kfs_session **v = realloc(c->v, (c->n + 16) * sizeof *v);
    if (!v) return NULL;
    c->v = v;
  }
  struct kfs_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = new_id(c);
  s->epoch = 1;
  s->by_id = by_id;
  s->last_used_ms = now_ms;
  c->v[c->n++] = s;
  c->stats.created++;
  return s;
}

int kfs_news(struct kfs_part *p, int16_t error, int64_t hw, int64_t log_start,
             size_t record_bytes) {
  int must = record_bytes > 0;
  if (p->hw != hw) {
    must = 1;
    p->hw = hw;
  }
  if (p->log_start != log_start) {
    must = 1;
    p->log_start = log_start;
  }
  if (error) {
    p->hw = -1;
    must = 1;
  }
  return must;
}

void kfs_move_last(struct kfs_session *s, struct kfs_part *p) {
  assert(p >= s->parts && p < s->parts + s->n);
  size_t i = (size_t)(p - s->parts);
  if (i + 1 == s->n) return;
  struct kfs_part keep = *p;
  memmove(p, p + 1, (s->n - i - 1) * sizeof *p);
  s->parts[s->n - 1] = keep;
}
