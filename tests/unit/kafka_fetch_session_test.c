/* Kafka fetch sessions (KIP-227, broker/kafka_fetch_session.c): how a
 * request's session id and epoch pick its kind, the errors 70/71/106, the
 * incremental updates (added, updated, forgotten partitions), which
 * partitions an answer must carry, the back-of-the-line order, and the
 * bounded cache with eviction of the least recently used idle session. */
#include <criterion/criterion.h>
#include <string.h>

#include "broker/kafka_fetch_session.h"

static const uint8_t NOID[16] = {0};

static struct kfs_session *full(struct kfs_cache *c, int64_t now) {
  enum kfs_kind kind;
  struct kfs_session *s = (void *)1;
  cr_assert_eq(kfs_begin(c, 0, 0, 0, &kind, &s), 0);
  cr_assert_eq(kind, KFS_FULL);
  cr_assert_null(s);
  s = kfs_create(c, 0, now);
  cr_assert_not_null(s);
  return s;
}

Test(kafka_fetch_session, kinds_by_epoch) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 42);
  enum kfs_kind kind;
  struct kfs_session *s;
  cr_assert_eq(kfs_begin(&c, 0, -1, 0, &kind, &s), 0);
  cr_assert_eq(kind, KFS_SESSIONLESS);
  struct kfs_session *a = full(&c, 0);
  cr_assert_gt(a->id, 0);
  cr_assert_eq(a->epoch, 1);
  int32_t id = a->id;
  cr_assert_eq(kfs_upsert(a, "t", NOID, 0, 5, -1, 1024, -1), 0);
  /* incremental with the right epoch */
  cr_assert_eq(kfs_begin(&c, id, 1, 0, &kind, &s), 0);
  cr_assert_eq(kind, KFS_INCREMENTAL);
  cr_assert_eq(s, a);
  cr_assert_eq(kfs_commit(&c, s, 10), KFS_INCREMENTAL);
  cr_assert_eq(s->epoch, 2);
  /* the same epoch again: 71; an unknown id: 70; topic ids the other way: 106 */
  cr_assert_eq(kfs_begin(&c, id, 1, 0, &kind, &s), KFS_ERR_INVALID_SESSION_EPOCH);
  cr_assert_eq(kfs_begin(&c, id + 1, 2, 0, &kind, &s), KFS_ERR_SESSION_ID_NOT_FOUND);
  cr_assert_eq(kfs_begin(&c, 0, 2, 0, &kind, &s), KFS_ERR_SESSION_ID_NOT_FOUND);
  cr_assert_eq(kfs_begin(&c, id, 2, 1, &kind, &s), KFS_ERR_SESSION_TOPIC_ID);
  cr_assert_eq(c.stats.bad_epoch, 1);
  cr_assert_eq(c.stats.not_found, 2);
  cr_assert_eq(c.stats.topic_id_mismatch, 1);
  /* a full request naming it closes it */
  cr_assert_eq(kfs_begin(&c, id, 0, 0, &kind, &s), 0);
  cr_assert_eq(kind, KFS_FULL);
  cr_assert_null(kfs_find(&c, id));
  cr_assert_eq(c.stats.closed, 1);
  /* and so does the final epoch, which makes none */
  struct kfs_session *b = full(&c, 20);
  id = b->id;
  cr_assert_eq(kfs_begin(&c, id, -1, 0, &kind, &s), 0);
  cr_assert_eq(kind, KFS_SESSIONLESS);
  cr_assert_null(kfs_find(&c, id));
  kfs_free(&c);
}

Test(kafka_fetch_session, epoch_wraps_past_int32_max) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 7);
  struct kfs_session *a = full(&c, 0);
  cr_assert_eq(kfs_upsert(a, "t", NOID, 0, 0, -1, 1, -1), 0);
  a->epoch = INT32_MAX;
  cr_assert_eq(kfs_commit(&c, a, 1), KFS_INCREMENTAL);
  cr_assert_eq(a->epoch, 1); /* never 0 (full) or -1 (final) */
  kfs_free(&c);
}

Test(kafka_fetch_session, updates_and_forgets) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 1);
  struct kfs_session *s = full(&c, 0);
  cr_assert_eq(kfs_upsert(s, "a", NOID, 0, 10, -1, 100, 3), 0);
  cr_assert_eq(kfs_upsert(s, "a", NOID, 1, 20, -1, 100, 3), 0);
  cr_assert_eq(kfs_upsert(s, "b", NOID, 0, 30, -1, 100, 3), 0);
  cr_assert_eq(s->n, 3);
  /* an update keeps its place and what the last answer told */
  struct kfs_part *p = kfs_lookup(s, "a", NOID, 1);
  p->hw = 50;
  cr_assert_eq(kfs_upsert(s, "a", NOID, 1, 25, -1, 200, 4), 0);
  cr_assert_eq(s->n, 3);
  p = kfs_lookup(s, "a", NOID, 1);
  cr_assert_eq(p - s->parts, 1);
  cr_assert_eq(p->fetch_offset, 25);
  cr_assert_eq(p->max_bytes, 200);
  cr_assert_eq(p->leader_epoch, 4);
  cr_assert_eq(p->hw, 50);
  /* forgotten: out, the rest in order; an unknown one: nothing */
  kfs_forget(s, "a", NOID, 0);
  kfs_forget(s, "zz", NOID, 9);
  cr_assert_eq(s->n, 2);
  cr_assert_str_eq(s->parts[0].topic, "a");
  cr_assert_eq(s->parts[0].partition, 1);
  cr_assert_str_eq(s->parts[1].topic, "b");
  /* emptied by an incremental request: closed, served sessionless */
  kfs_forget(s, "a", NOID, 1);
  kfs_forget(s, "b", NOID, 0);
  int32_t id = s->id;
  cr_assert_eq(kfs_commit(&c, s, 5), KFS_SESSIONLESS);
  cr_assert_null(kfs_find(&c, id));
  kfs_free(&c);
}

Test(kafka_fetch_session, append_and_lookup_at_a_hint) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 13);
  struct kfs_session *s = full(&c, 0);
  for (int i = 0; i < 5; i++) {
    struct kfs_part *p = kfs_append(s, "t", NOID, i, 100 + i, -1, 1, -1);
    cr_assert_not_null(p);
    cr_assert_eq(p->hw, -1);
  }
  cr_assert_eq(kfs_lookup_at(s, 3, "t", NOID, 3), &s->parts[3]);
  cr_assert_eq(kfs_lookup_at(s, 0, "t", NOID, 3), &s->parts[3]);  /* wrong hint: searched */
  cr_assert_eq(kfs_lookup_at(s, 99, "t", NOID, 4), &s->parts[4]); /* past the end: searched */
  cr_assert_null(kfs_lookup_at(s, 2, "u", NOID, 2));
  kfs_free(&c);
}

Test(kafka_fetch_session, topic_ids) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 3);
  struct kfs_session *s = kfs_create(&c, 1, 0);
  uint8_t id1[16] = {1}, id2[16] = {2};
  cr_assert_eq(kfs_upsert(s, "x", id1, 0, 1, -1, 1, -1), 0);
  cr_assert_eq(kfs_upsert(s, NULL, id2, 0, 1, -1, 1, -1), 0); /* an id not known here */
  cr_assert_not_null(kfs_lookup(s, "renamed", id1, 0));    /* by id, not name */
  cr_assert_not_null(kfs_lookup(s, NULL, id2, 0));
  cr_assert_null(kfs_lookup(s, "x", id2, 1));
  kfs_forget(s, NULL, id1, 0);
  cr_assert_eq(s->n, 1);
  kfs_free(&c);
}

Test(kafka_fetch_session, answers_carry_news_only) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 5);
  struct kfs_session *s = full(&c, 0);
  cr_assert_eq(kfs_upsert(s, "t", NOID, 0, 0, -1, 1, -1), 0);
  struct kfs_part *p = kfs_lookup(s, "t", NOID, 0);
  /* new: carried (nothing told yet) */
  cr_assert(kfs_news(p, 0, 100, 0, 0));
  /* same high watermark and start, no records: not carried */
  cr_assert_not(kfs_news(p, 0, 100, 0, 0));
  /* records: carried */
  cr_assert(kfs_news(p, 0, 100, 0, 512));
  /* a new high watermark, a new log start: carried once */
  cr_assert(kfs_news(p, 0, 101, 0, 0));
  cr_assert_not(kfs_news(p, 0, 101, 0, 0));
  cr_assert(kfs_news(p, 0, 101, 7, 0));
  cr_assert_not(kfs_news(p, 0, 101, 7, 0));
  /* an error: carried, and again when it clears */
  cr_assert(kfs_news(p, 6, 101, 7, 0));
  cr_assert(kfs_news(p, 6, 101, 7, 0));
  cr_assert(kfs_news(p, 0, 101, 7, 0));
  cr_assert_not(kfs_news(p, 0, 101, 7, 0));
  kfs_free(&c);
}

Test(kafka_fetch_session, carried_partitions_go_to_the_back) {
  struct kfs_cache c;
  kfs_init(&c, 10, 1000, 9);
  struct kfs_session *s = full(&c, 0);
  for (int i = 0; i < 4; i++) cr_assert_eq(kfs_upsert(s, "t", NOID, i, 0, -1, 1, -1), 0);
  kfs_move_last(s, kfs_lookup(s, "t", NOID, 1));
  kfs_move_last(s, kfs_lookup(s, "t", NOID, 1)); /* already last: stays */
  int want[] = {0, 2, 3, 1};
  for (int i = 0; i < 4; i++) cr_assert_eq(s->parts[i].partition, want[i]);
  kfs_free(&c);
}

Test(kafka_fetch_session, bounded_cache_evicts_the_oldest_idle) {
  struct kfs_cache c;
  kfs_init(&c, 3, 1000, 11);
  struct kfs_session *a = kfs_create(&c, 0, 0);
  struct kfs_session *b = kfs_create(&c, 0, 100);
  struct kfs_session *d = kfs_create(&c, 0, 200);
  cr_assert(a && b && d);
  cr_assert(a->id != b->id && b->id != d->id && a->id != d->id);
  int32_t ida = a->id, idb = b->id;
  /* full, and none idle for 1000 ms: refused, nothing dropped */
  cr_assert_null(kfs_create(&c, 0, 900));
  cr_assert_eq(c.stats.refused_full, 1);
  cr_assert_eq(c.n, 3);
  /* a used at 1050: b is now the least recently used, idle long enough */
  cr_assert_eq(kfs_upsert(a, "t", NOID, 0, 0, -1, 1, -1), 0);
  cr_assert_eq(kfs_commit(&c, a, 1050), KFS_INCREMENTAL);
  struct kfs_session *e = kfs_create(&c, 0, 1150);
  cr_assert_not_null(e);
  cr_assert_not_null(kfs_find(&c, ida));
  cr_assert_null(kfs_find(&c, idb));
  cr_assert_eq(c.stats.evicted, 1);
  cr_assert_eq(c.stats.created, 4);
  kfs_free(&c);
  /* no slots: no sessions */
  kfs_init(&c, 0, 1000, 1);
  cr_assert_null(kfs_create(&c, 0, 0));
  kfs_free(&c);
}

Test(kafka_fetch_session, many_sessions_unique_ids) {
  struct kfs_cache c;
  kfs_init(&c, 1000, 0, 0);
  for (int i = 0; i < 1000; i++) cr_assert_not_null(kfs_create(&c, 0, i));
  for (size_t i = 0; i < c.n; i++) {
    cr_assert_gt(c.v[i]->id, 0);
    for (size_t j = i + 1; j < c.n; j++) cr_assert_neq(c.v[i]->id, c.v[j]->id);
  }
  /* full: the oldest goes (eviction_ms 0) */
  int32_t oldest = c.v[0]->id;
  cr_assert_not_null(kfs_create(&c, 0, 5000));
  cr_assert_null(kfs_find(&c, oldest));
  cr_assert_eq(c.n, 1000);
  kfs_free(&c);
}
