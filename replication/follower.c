#include "replication/follower.h"

#include "common/assert.h"
#include "common/batch.h"
#include "common/errors.h"

/* Where the divergence answer tells us to cut: the leader's end of the
 * shared epoch, or, when our own copy of that epoch ends earlier, there
 * (records after it are of an epoch the leader does not have); never below
 * our log start. */
static int64_t cut_point(const struct replica *r, const struct follower_answer *a,
                         const struct replica_log *log) {
  int64_t cut = a->diverging_end < log->end ? a->diverging_end : log->end;
  if (a->diverging_epoch >= 0) {
    int64_t own = epoch_cache_end_offset(&r->epochs, a->diverging_epoch, log->end);
    if (own < cut) cut = own;
  }
  return cut < log->start ? log->start : cut;
}

int follower_plan(const struct replica *r, const struct follower_answer *a,
                  const struct replica_log *log, struct follower_plan *out) {
  *out = (struct follower_plan){FOLLOWER_NONE, -1, 0, 0, -1};
  if (a->error == STRATA_EOFFSET_OUT_OF_RANGE && a->log_start > log->end) {
    /* The leader no longer has what follows our end (retention, or the
     * offsets topic's compaction): start over from its log start. */
    out->step = FOLLOWER_RESET;
    out->offset = a->log_start;
    return 0;
  }
  if (a->error) return a->error;
  /* Whole segments below the leader's log start are gone there: here too. */
  if (a->log_start > log->start && a->log_start <= log->end) out->delete_before = a->log_start;
  if (a->diverging_end >= 0) {
    out->step = FOLLOWER_TRUNCATE;
    out->offset = cut_point(r, a, log);
    STRATA_ASSERT(out->offset >= log->start && out->offset <= log->end);
    return 0;
  }
  /* Whole batches at or past our end; a cut-short last batch comes again. */
  size_t off = 0, start = 0;
  int started = 0;
  int64_t next = log->end;
  while (off + BATCH_HEADER_SIZE <= a->len) {
    struct batch_header h;
    if (batch_header_decode(a->data + off, a->len - off, &h)) return STRATA_ECORRUPT;
    size_t sz = batch_total_size(&h);
    if (sz > a->len - off) break;
    if (h.base_offset + h.last_offset_delta < next && !started) { /* already have it */
      off += sz;
      start = off;
      continue;
    }
    /* Appends are contiguous: the first new batch starts at our end. */
    if (h.base_offset != next) return STRATA_EINVALID_RECORD;
    if (batch_check_crc(a->data + off, sz)) return STRATA_ECORRUPT;
    started = 1;
    next = h.base_offset + h.last_offset_delta + 1;
    off += sz;
  }
  if (started) {
    out->step = FOLLOWER_APPEND;
    out->from = start;
    out->to = off;
  }
  return 0;
}

void follower_reset_done(struct replica *r, const struct replica_log *log) {
  epoch_cache_truncate(&r->epochs, 0);
  if (r->hw > log->start) r->hw = log->start;
  replica_invariants(r, log);
}

void follower_truncated(struct replica *r, const struct replica_log *log) {
  epoch_cache_truncate(&r->epochs, log->end);
  if (r->hw > log->end) r->hw = log->end;
  replica_invariants(r, log);
}

int follower_appended(struct replica *r, const uint8_t *data, size_t len,
                      const struct replica_log *log) {
  int rc = 0;
  for (size_t o = 0; o < len;) {
    struct batch_header h;
    STRATA_ASSERT(!batch_header_decode(data + o, len - o, &h)); /* follower_plan checked them */
    int e = epoch_cache_add(&r->epochs, h.leader_epoch, h.base_offset);
    if (e && !rc) rc = e;
    o += batch_total_size(&h);
  }
  replica_invariants(r, log);
  return rc;
}

void follower_update_hw(struct replica *r, int64_t leader_hw, const struct replica_log *log) {
  int64_t hw = leader_hw < log->end ? leader_hw : log->end;
  if (hw > r->hw) r->hw = hw;
  replica_invariants(r, log);
}
