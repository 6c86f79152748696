/* The dirty list and the sync bookkeeping of the group commit. */
#include "broker/flush.h"

#include "broker/ack_probe.h"
#include "broker/broker.h"
#include "broker/cluster.h"
#include "broker/topics.h"
#include "common/errors.h"
#include "common/trace.h"

#include <assert.h>

void flush_mark_dirty(struct broker *b, struct partition *p) {
  if (p->on_dirty_list) return;
  p->on_dirty_list = 1;
  partition_ref(p);
  p->dirty_next = b->dirty;
  b->dirty = p;
}

void flush_note_roll(struct broker *b, struct partition *p) {
  if (seglog_roll_unsynced(p->log)) flush_mark_dirty(b, p);
}

void flush_note_append(struct broker *b, struct partition *p) {
  if (b->cfg.flush == FLUSH_ALWAYS) flush_mark_dirty(b, p);
  else flush_note_roll(b, p);
}

void flush_appended(struct broker *b, struct partition *p) {
  flush_note_append(b, p);
  if (b->cluster) cluster_update_hw(b, p);
  if (b->cluster || b->cfg.flush != FLUSH_ALWAYS) b->hw_version++;
}

int flush_on_loop(const struct broker *b, const struct partition *p, const struct seglog_sync *job,
                  int alone) {
  /* Not a partition this broker leads: its loop forwards the records to the
   * followers, reads their fsync reports and takes the next produce while
   * its own sync runs (measured: on the leader's loop too, the RF 3 p99
   * was worse than with the leader's sync in the pool). A follower's fetch
   * waits for its sync anyway (fetcher.c: positions sent are durable). And
   * one fdatasync of the active segment (no roll's files, no directory),
   * nothing else syncing on this broker, nothing else waiting this turn. */
  return alone && p->rep.role != ROLE_LEADER && b->syncs_inflight == 1 && job->n == 1 &&
         job->bytes <= FLUSH_ON_LOOP_BYTES_MAX && b->now_ms >= b->loop_syncs_off_ms;
}

void flush_loop_sync_took(struct broker *b, int64_t took_us, int64_t now_ms) {
  if (took_us <= FLUSH_ON_LOOP_SLOW_US) return;
  trace_warn("an fsync took %lld ms on the event loop: syncs go to the thread pool for %d s",
             (long long)(took_us / 1000), FLUSH_ON_LOOP_OFF_MS / 1000);
  b->loop_syncs_off_ms = now_ms + FLUSH_ON_LOOP_OFF_MS;
}

void flush_begin(struct broker *b, int allow_loop,
                 void (*start)(void *arg, struct partition *p, struct seglog_sync *job,
                               int on_loop),
                 void *arg) {
  struct partition *keep = NULL;
  while (b->dirty) {
    struct partition *p = b->dirty;
    b->dirty = p->dirty_next;
    p->on_dirty_list = 0;
    struct seglog_sync job;
    if (p->deleted) {
      partition_unref(p);
    } else if (p->sync_inflight >= FLUSH_SYNCS_PER_LOG || b->syncs_inflight >= BROKER_SYNCS_MAX) {
      /* stays dirty for a later turn */
      p->on_dirty_list = 1;
      p->dirty_next = keep;
      keep = p;
    } else if (p->sync_inflight && seglog_end_offset(p->log) <= p->sync_end &&
               !seglog_roll_unsynced(p->log)) {
      /* the sync in flight covers all of it; its end puts p back if it fails */
      partition_unref(p);
    } else if (seglog_sync_begin(p->log, &job) || job.n == 0) {
      partition_unref(p);
    } else {
      p->sync_inflight++;
      p->sync_end = job.end_offset;
      b->syncs_inflight++;
      start(arg, p, &job, allow_loop && flush_on_loop(b, p, &job, !b->dirty && !keep));
    }
  }
  b->dirty = keep;
}

void flush_done(struct broker *b, struct partition *p, const struct seglog_sync *job,
                int status) {
  assert(p->sync_inflight > 0);
  p->sync_inflight--;
  assert(b->syncs_inflight > 0);
  b->syncs_inflight--;
  if (!p->deleted) {
    if (status) trace_error("fsync of partition %u failed: %s", p->id, strata_strerror(status));
    int64_t before = seglog_durable_offset(p->log);
    seglog_sync_end(p->log, job, status);
    ack_probe_durable(b, p, seglog_durable_offset(p->log));
    if (seglog_durable_offset(p->log) != before) b->hw_version++;
    if (b->cluster) cluster_update_hw(b, p);
    if (seglog_durable_offset(p->log) < seglog_end_offset(p->log) && b->cfg.flush != FLUSH_OS)
      flush_mark_dirty(b, p);
    flush_note_roll(b, p);
  }
  partition_unref(p);
}

void flush_sync_failed(struct broker *b, struct partition *p) {
  assert(p->sync_inflight > 0);
  p->sync_inflight--;
  assert(b->syncs_inflight > 0);
  b->syncs_inflight--;
  partition_unref(p);
}
