#include "replication/isr.h"

#include <string.h>

#include "common/assert.h"

int isr_contains(const int32_t *v, uint32_t n, int32_t id) {
  for (uint32_t i = 0; i < n; i++)
    if (v[i] == id) return 1;
  return 0;
}

static struct follower *follower(struct isr_state *r, int32_t id) {
  for (uint32_t i = 0; i < r->nfollowers; i++)
    if (r->followers[i].id == id) return &r->followers[i];
  if (r->nfollowers >= REPLICAS_MAX) return NULL;
  struct follower *f = &r->followers[r->nfollowers++];
  memset(f, 0, sizeof *f);
  f->id = id;
  f->fetch_offset = f->durable = -1;
  f->broker_epoch = -1;
  return f;
}

const struct follower *isr_follower(const struct isr_state *r, int32_t id) {
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) return &r->followers[k];
  return NULL;
}

void isr_assign(struct isr_state *r, int32_t self, const int32_t *replicas, uint32_t nreplicas,
                const int32_t *isr, uint32_t nisr) {
  r->self = self;
  r->nreplicas = nreplicas > REPLICAS_MAX ? REPLICAS_MAX : nreplicas;
  memcpy(r->replicas, replicas, r->nreplicas * sizeof(int32_t));
  r->nisr = nisr > REPLICAS_MAX ? REPLICAS_MAX : nisr;
  memcpy(r->isr, isr, r->nisr * sizeof(int32_t));
}

void isr_become_leader(struct isr_state *r, int64_t now_ms, int64_t grace_ms) {
  r->nfollowers = 0;
  r->npending = 0;
  r->grace_ms = grace_ms;
  for (uint32_t i = 0; i < r->nreplicas; i++) {
    if (r->replicas[i] == r->self) continue;
    struct follower *f = follower(r, r->replicas[i]);
    if (f) f->last_caught_up_ms = now_ms;
  }
}

int isr_on_fetch(struct isr_state *r, int32_t id, int64_t fetch_offset, int64_t durable,
                 int64_t leader_end, int64_t now_ms) {
  if (!isr_contains(r->replicas, r->nreplicas, id) || id == r->self) return 0;
  struct follower *f = follower(r, id);
  if (!f) return 0;
  int grace_ended = !f->fetched && r->grace_ms > 0;
  f->fetched = 1;
  if (fetch_offset >= leader_end || grace_ended) f->last_caught_up_ms = now_ms;
  else if (f->last_fetch_ms && fetch_offset >= f->last_fetch_leader_end)
    f->last_caught_up_ms = f->last_fetch_ms;
  f->fetch_offset = fetch_offset;
  f->durable = durable < fetch_offset ? durable : fetch_offset;
  f->last_fetch_ms = now_ms;
  f->last_fetch_leader_end = leader_end;
  return grace_ended;
}

static int64_t member_durable(const struct isr_state *r, int32_t id, int64_t hw) {
  if (id == r->self) return hw;
  const struct follower *f = isr_follower(r, id);
  int64_t d = f ? f->durable : -1;
  return d < hw ? d : hw;
}

int64_t isr_high_watermark(const struct isr_state *r, int64_t leader_durable) {
  int64_t hw = leader_durable;
  for (uint32_t i = 0; i < r->nisr; i++) hw = member_durable(r, r->isr[i], hw);
  for (uint32_t i = 0; i < r->npending; i++) hw = member_durable(r, r->pending[i], hw);
  STRATA_ASSERT(hw <= leader_durable);
  return hw;
}

void isr_pending(struct isr_state *r, const int32_t *isr, uint32_t n, int32_t partition_epoch) {
  /* An earlier change from the same base may still have been applied (its
   * answer was lost): both count until the controller's view settles them. */
  if (!r->npending || r->pending_base_epoch != partition_epoch) r->npending = 0;
  for (uint32_t i = 0; i < n && r->npending < REPLICAS_MAX; i++)
    if (!isr_contains(r->pending, r->npending, isr[i])) r->pending[r->npending++] = isr[i];
  r->pending_base_epoch = partition_epoch;
}

void isr_settled(struct isr_state *r, int32_t partition_epoch, int refused) {
  if (refused || partition_epoch > r->pending_base_epoch) r->npending = 0;
}

int isr_proposal(const struct isr_state *r, int64_t now_ms, int64_t lag_ms, int64_t hw,
                 int32_t *isr, uint32_t *n) {
  *n = 0;
  for (uint32_t i = 0; i < r->nreplicas; i++) {
    int32_t id = r->replicas[i];
    if (id == r->self) {
      isr[(*n)++] = id;
      continue;
    }
    const struct follower *f = isr_follower(r, id);
    int member = isr_contains(r->isr, r->nisr, id);
    if (member && f && now_ms - f->last_caught_up_ms <= lag_ms + (f->fetched ? 0 : r->grace_ms))
      isr[(*n)++] = id;
    else if (!member && f && f->durable >= hw && f->fetch_offset >= hw &&
             now_ms - f->last_caught_up_ms <= lag_ms)
      isr[(*n)++] = id;
  }
  if (*n != r->nisr) return 1;
  for (uint32_t i = 0; i < *n; i++)
    if (!isr_contains(r->isr, r->nisr, isr[i])) return 1;
  return 0;
}

int64_t isr_shrink_deadline(const struct isr_state *r, int64_t lag_ms) {
  int64_t at = INT64_MAX;
  for (uint32_t i = 0; i < r->nisr; i++) {
    if (r->isr[i] == r->self) continue;
    const struct follower *f = isr_follower(r, r->isr[i]);
    /* untracked, or no longer a replica: dropped at once */
    int64_t due = f && isr_contains(r->replicas, r->nreplicas, r->isr[i])
                      ? f->last_caught_up_ms + lag_ms + 1 + (f->fetched ? 0 : r->grace_ms)
                      : INT64_MIN;
    if (due < at) at = due;
  }
  return at;
}

void isr_forget(struct isr_state *r, int32_t id) {
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) {
      struct follower *f = &r->followers[k];
      f->fetch_offset = f->durable = -1;
      f->last_fetch_ms = f->last_fetch_leader_end = 0;
      f->broker_epoch = -1;
      /* still in the ISR (not yet shrunk)? the lag window runs on */
    }
}

void isr_note_epoch(struct isr_state *r, int32_t id, int64_t broker_epoch) {
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) r->followers[k].broker_epoch = broker_epoch;
}

int64_t isr_follower_epoch(const struct isr_state *r, int32_t id) {
  const struct follower *f = isr_follower(r, id);
  return f ? f->broker_epoch : -1;
}

void isr_invariants(const struct isr_state *r) {
  STRATA_ASSERT(r->nreplicas <= REPLICAS_MAX && r->nisr <= REPLICAS_MAX);
  STRATA_ASSERT(r->nfollowers <= REPLICAS_MAX && r->npending <= REPLICAS_MAX);
  for (uint32_t i = 0; i < r->nfollowers; i++) {
    STRATA_ASSERT(r->followers[i].id != r->self);
    STRATA_ASSERT(r->followers[i].durable <= r->followers[i].fetch_offset);
  }
}
