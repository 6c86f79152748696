#include "replication/leader.h"

#include "common/assert.h"

void leader_on_fetch(struct replica *r, const struct follower_fetch *f,
                     const struct replica_log *log, int64_t now_ms, struct leader_answer *out) {
  STRATA_ASSERT(r->role == ROLE_LEADER);
  *out = (struct leader_answer){0, -1, -1, r->hw, log->end, 0, 0};
  if (f->last_fetched_epoch >= 0) {
    /* An epoch we never saw (its leader's records never reached us)
     * diverges too, from where our older epoch ends on either side. An
     * epoch older than every one we know (known -1: our cache forgot it
     * after a reset, retention or its bound) ends where our first known
     * one begins: only a follower past that has forked, else it would cut
     * at the same offset forever. */
    int32_t known = epoch_cache_floor(&r->epochs, f->last_fetched_epoch);
    int64_t epoch_end = epoch_cache_end_offset(&r->epochs, known, log->end);
    int never_had = known >= 0 && known != f->last_fetched_epoch;
    if (never_had || epoch_end < f->fetch_offset) {
      out->diverged = 1;
      out->diverging_end = epoch_end < f->fetch_offset ? epoch_end : f->fetch_offset;
      out->diverging_epoch = known;
      STRATA_ASSERT(out->diverging_end <= log->end);
      return;
    }
  }
  out->isr_recheck =
      isr_on_fetch(&r->isr, f->replica_id, f->fetch_offset, f->durable, log->end, now_ms);
  isr_note_epoch(&r->isr, f->replica_id, f->broker_epoch);
  out->hw_moved = replica_update_hw(r, log);
  out->hw = r->hw;
  replica_invariants(r, log);
}
