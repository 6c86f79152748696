/* The consumer offsets log, __consumer_offsets: finding (standalone:
 * creating) it, loading the partitions this broker comes to lead into the
 * coordinator, appending commit records (answered once replicated, or
 * fsynced standalone), and compacting it by rewriting the live offsets. */
#include "broker/offsets_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/coordinator.h"
#include "broker/flush.h"
#include "broker/response.h"
#include "broker/topics.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"

struct topic *offsets_log_topic(struct broker *b) {
  struct topic *t = topics_find(&b->topics, OFFSETS_TOPIC);
  if (t || b->cluster) {
    if (!t && b->cluster) b->want_offsets_topic = 1; /* the glue asks the controller */
    return t;
  }
  /* Standalone: this broker creates it. */
  char err[256], seg[32];
  snprintf(seg, sizeof seg, "%llu", (unsigned long long)b->cfg.offsets_segment_bytes);
  const char *keys[1] = {"segment.bytes"}, *vals[1] = {seg};
  if (topics_create(&b->topics, OFFSETS_TOPIC, (uint32_t)b->cfg.offsets_partitions, keys, vals, 1,
                    b->now_ms, err, sizeof err)) {
    trace_error("cannot create %s: %s", OFFSETS_TOPIC, err);
    return NULL;
  }
  trace_info("created %s with %" PRId64 " partitions", OFFSETS_TOPIC, b->cfg.offsets_partitions);
  offsets_log_sync(b);
  return topics_find(&b->topics, OFFSETS_TOPIC);
}

int offsets_log_leads(const struct broker *b, const struct partition *p) {
  return !b->cluster || p->rep.role == ROLE_LEADER;
}

/* Replay partition k of the offsets topic into the coordinator. */
static void load_partition(struct broker *b, struct partition *p, uint32_t k) {
  int64_t pos = seglog_start_offset(p->log), end = seglog_end_offset(p->log);
  coord_mark_loaded(&b->coord, k, end);
  uint8_t *buf = NULL;
  struct batch_scratch scratch = {0};
  size_t records = 0;
  while (pos < end) {
    struct seglog_slice s;
    if (seglog_read(p->log, pos, 1u << 20, end, &s) || s.len == 0) break;
    uint8_t *nb = realloc(buf, s.len);
    if (!nb) break;
    buf = nb;
    size_t got = 0;
    while (got < s.len) {
      ssize_t n = pread(s.fd, buf + got, s.len - got, (off_t)(s.pos + got));
      if (n <= 0) break;
      got += (size_t)n;
    }
    if (got < s.len) break;
    size_t off = 0;
    int64_t next = pos;
    while (off + BATCH_HEADER_SIZE <= got) {
      struct batch_header h;
      if (batch_header_decode(buf + off, got - off, &h)) break;
      size_t sz = batch_total_size(&h);
      if (sz > got - off) break;
      struct batch_iter it;
      struct batch_record rec;
      if (!batch_iter_init(&it, buf + off, sz, &scratch))
        while (batch_iter_next(&it, &rec) > 0) {
          coord_apply_record(&b->coord, rec.key, rec.key_len, rec.value, rec.value_len);
          records++;
        }
      next = h.base_offset + h.last_offset_delta + 1;
      off += sz;
    }
    if (next <= pos) break; /* no whole batch: give up rather than spin */
    pos = next;
  }
  free(buf);
  batch_scratch_free(&scratch);
  trace_info("%s-%u: now coordinating its groups (%zu offset record(s) loaded)", OFFSETS_TOPIC, k,
             records);
}

void offsets_log_sync(struct broker *b) {
  struct topic *t = topics_find(&b->topics, OFFSETS_TOPIC);
  if (!t) {
    for (uint32_t k = 0; k < b->coord.npart; k++) coord_unload(&b->coord, k);
    return;
  }
  if (coord_set_partitions(&b->coord, t->npart)) return;
  for (uint32_t k = 0; k < t->npart; k++) {
    struct partition *p = t->parts[k];
    int mine = offsets_log_leads(b, p);
    if (mine && !b->coord.loaded[k]) load_partition(b, p, k);
    else if (!mine && b->coord.loaded[k]) {
      trace_info("%s-%u: no longer its coordinator", OFFSETS_TOPIC, k);
      coord_unload(&b->coord, k);
    }
  }
}

/* Commits replicated since: they take effect. */
void offsets_log_promote(struct broker *b, struct topic *t, uint32_t k) {
  coord_promote(&b->coord, k, broker_high_watermark(b, t->parts[k]));
}

/* Append a batch of offset records to a partition of the offsets topic we
 * lead (fsync and replication follow as for any append). */
static int append_batch(struct broker *b, struct partition *p, struct batch_builder *bb) {
  const uint8_t *data;
  size_t len;
  int rc = batch_builder_finish(bb, BATCH_COMPRESSION_NONE, 0, &data, &len);
  int64_t base;
  if (!rc) rc = seglog_append(p->log, (uint8_t *)data, len, b->cluster ? p->rep.leader_epoch : 0,
                              b->now_ms, &base);
  if (rc) return rc;
  flush_appended(b, p);
  return 0;
}

/* Compaction of the offsets topic: once a partition has a few segments,
 * write every live committed offset of its groups again, and when that is
 * replicated, delete the segments before it (followers delete them too, as
 * they follow the leader's log start). Everything older is superseded. */
void offsets_log_compact(struct broker *b, struct topic *t, uint32_t k) {
  struct coordinator *c = &b->coord;
  struct partition *p = t->parts[k];
  if (c->compact_until[k]) {
    if (broker_high_watermark(b, p) < c->compact_until[k]) return;
    int n = seglog_delete_before(p->log, c->compact_from[k]);
    if (n > 0)
      trace_info("%s-%u: compacted: %d old segment(s) deleted, log starts at %" PRId64,
                 OFFSETS_TOPIC, k, n, seglog_start_offset(p->log));
    c->compact_from[k] = c->compact_until[k] = 0;
    return;
  }
  /* The rewrite copies what has taken effect: a commit still waiting for
   * replication below `from` would be deleted with the old segments. */
  if (coord_pending_count(c, k) || seglog_segment_count(p->log) < 3) return;
  int64_t from = seglog_end_offset(p->log);
  struct batch_builder bb;
  batch_builder_init(&bb);
  int rc = 0, pending = 0;
  for (size_t i = 0; i < c->n && !rc; i++) {
    struct cgroup *g = c->groups[i];
    if (g->home != k) continue;
    if (g->classic) { /* its record is live state too: a batch of its own */
      if (pending) rc = append_batch(b, p, &bb);
      batch_builder_reset(&bb);
      pending = 0;
      int e = rc ? 0 : coord_encode_kind(&bb, g, b->wall_ms);
      if (e) /* too large for a batch: after a failover its members rejoin */
        trace_warn("%s-%u: group %s: its record is not rewritten: %s", OFFSETS_TOPIC, k, g->g.id,
                   strata_strerror(e));
      else if (!rc)
        rc = append_batch(b, p, &bb);
      batch_builder_reset(&bb);
    }
    for (size_t j = 0; j < g->noffsets && !rc; j++) {
      rc = coord_encode_commit(&bb, g->g.id, g->offsets[j].topic, g->offsets[j].partition,
                               g->offsets[j].offset, g->offsets[j].metadata, b->wall_ms);
      pending = !rc;
      if (!rc && batch_builder_size(&bb) > (256u << 10)) {
        rc = append_batch(b, p, &bb);
        batch_builder_reset(&bb);
        pending = 0;
      }
    }
  }
  if (!rc && pending) rc = append_batch(b, p, &bb);
  batch_builder_free(&bb);
  if (rc) {
    trace_warn("%s-%u: compaction could not write the live offsets: %s", OFFSETS_TOPIC, k,
               strata_strerror(rc));
    return;
  }
  c->compact_from[k] = from;
  c->compact_until[k] = seglog_end_offset(p->log) > from ? seglog_end_offset(p->log) : from;
  if (c->compact_until[k] == 0) c->compact_until[k] = 1; /* 0 means none pending */
}

/* Append a batch of offset records to the group's partition (*pp: it, when
 * asked); the response waits until it is replicated (or fsynced, standalone). */
int offsets_log_append(struct broker *b, struct cgroup *g, struct batch_builder *bb,
                       struct response *r, struct partition **pp) {
  struct topic *t = topics_find(&b->topics, OFFSETS_TOPIC);
  if (!t || g->home >= t->npart) return STRATA_ECOORDINATOR_NOT_AVAILABLE;
  struct partition *p = t->parts[g->home];
  if (pp) *pp = p;
  if (!offsets_log_leads(b, p)) return STRATA_ENOT_COORDINATOR;
  if (b->cluster && p->rep.isr.nisr < p->topic->min_insync) return STRATA_ENOT_ENOUGH_REPLICAS;
  int rc = append_batch(b, p, bb);
  if (rc) return rc;
  if (!r) return 0; /* nobody waits for it */
  if (b->cluster || b->cfg.flush == FLUSH_ALWAYS)
    response_wait(r, p, seglog_end_offset(p->log), b->cluster, &r->hdr.error_code, NULL, NULL);
  r->deadline_ms = b->now_ms + 10000;
  return 0;
}
