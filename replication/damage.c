#include "replication/damage.h"

#include "common/assert.h"
#include "replication/replica.h"

void damage_init(struct damage *d) { d->found_at = d->repair_to = -1; }

int damage_found(struct damage *d, int64_t offset) {
  STRATA_ASSERT(offset >= 0);
  if (d->found_at >= 0 && d->found_at <= offset) return 0;
  d->found_at = offset;
  return 1;
}

int damage_pending(const struct damage *d) { return d->found_at >= 0 || d->repair_to >= 0; }

/* Cutting waits for the controller's mark: until then this replica may
 * still be in the ISR and electable, and a damaged log still holds every
 * record but one batch, a cut one holds none past it. A leader never cuts:
 * it leads because no healthy replica could take over (or not yet). */
int damage_plan(const struct damage *d, const struct damage_view *v) {
  int f = 0;
  if (d->found_at >= 0) {
    if (!v->marked) f |= DAMAGE_REPORT;
    else if (v->role == ROLE_FOLLOWER) f |= DAMAGE_CUT; /* a leader to refetch from */
    return f;
  }
  if (d->repair_to >= 0) {
    if (v->log_end < d->repair_to || v->role != ROLE_FOLLOWER) return 0;
    return v->marked ? DAMAGE_REPORT_REPAIRED : DAMAGE_DONE;
  }
  /* Marked with nothing tracked: a restart forgot where the damage was. It
   * left every ISR when it registered; it is unmarked once its scrubber has
   * checked the whole log (finding the damage again, if it is still there,
   * leads to the cut above instead). */
  return v->marked && v->role == ROLE_FOLLOWER && v->checked ? DAMAGE_REPORT_REPAIRED : 0;
}

void damage_cut_done(struct damage *d, int64_t hw) {
  STRATA_ASSERT(d->found_at >= 0);
  int64_t to = hw > d->found_at ? hw : d->found_at;
  if (to > d->repair_to) d->repair_to = to;
  d->found_at = -1;
}

void damage_clear(struct damage *d) { damage_init(d); }
