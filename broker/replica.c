#include "replica.h"

#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

void epoch_cache_free(struct epoch_cache *c) {
  free(c->v);
  memset(c, 0, sizeof *c);
}

int epoch_cache_add(struct epoch_cache *c, int32_t epoch, int64_t start) {
  if (epoch < 0 || (c->n && c->v[c->n - 1].epoch >= epoch)) return 0;
  if (c->n == c->cap) {
    if (c->cap >= EPOCH_CACHE_MAX) { /* keep the newest: drop the oldest half */
      memmove(c->v, c->v + c->n / 2, (c->n - c->n / 2) * sizeof *c->v);
      c->n -= c->n / 2;
    } else {
      size_t cap = c->cap ? c->cap * 2 : 8;
      struct epoch_entry *v = realloc(c->v, cap * sizeof *v);
      if (!v) return STRATA_ENOMEM;
      c->v = v;
      c->cap = cap;
    }
  }
  c->v[c->n++] = (struct epoch_entry){epoch, start};
  return 0;
}

void epoch_cache_truncate(struct epoch_cache *c, int64_t offset) {
  while (c->n && c->v[c->n - 1].start >= offset) c->n--;
}

int32_t epoch_cache_last(const struct epoch_cache *c) {
  return c->n ? c->v[c->n - 1].epoch : -1;
}

int64_t epoch_cache_end_offset(const struct epoch_cache *c, int32_t epoch, int64_t log_end) {
  if (c->n == 0) return log_end;
  if (epoch < c->v[0].epoch) return c->v[0].start;
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].epoch > epoch) return c->v[i].start;
  return log_end;
}

int32_t epoch_cache_floor(const struct epoch_cache *c, int32_t epoch) {
  int32_t best = -1;
  for (size_t i = 0; i < c->n && c->v[i].epoch <= epoch; i++) best = c->v[i].epoch;
  return best;
}

static int in(const int32_t *v, uint32_t n, int32_t id) {
  for (uint32_t i = 0; i < n; i++)
    if (v[i] == id) return 1;
  return 0;
}

static struct follower *follower(struct replica_state *r, int32_t id) {
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

void replica_become_leader(struct replica_state *r, int64_t now_ms) {
  r->nfollowers = 0;
  r->npending = 0;
  for (uint32_t i = 0; i < r->nreplicas; i++) {
    if (r->replicas[i] == r->self) continue;
    struct follower *f = follower(r, r->replicas[i]);
    if (f) f->last_caught_up_ms = now_ms;
  }
}

void replica_on_fetch(struct replica_state *r, int32_t id, int64_t fetch_offset, int64_t durable,
                      int64_t leader_end, int64_t now_ms) {
  if (!in(r->replicas, r->nreplicas, id) || id == r->self) return;
  struct follower *f = follower(r, id);
  if (!f) return;
  if (fetch_offset >= leader_end) f->last_caught_up_ms = now_ms;
  else if (f->last_fetch_ms && fetch_offset >= f->last_fetch_leader_end)
    f->last_caught_up_ms = f->last_fetch_ms;
  f->fetch_offset = fetch_offset;
  f->durable = durable < fetch_offset ? durable : fetch_offset;
  f->last_fetch_ms = now_ms;
  f->last_fetch_leader_end = leader_end;
}

static int64_t member_durable(const struct replica_state *r, int32_t id, int64_t hw) {
  if (id == r->self) return hw;
  const struct follower *f = NULL;
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) f = &r->followers[k];
  int64_t d = f ? f->durable : -1;
  return d < hw ? d : hw;
}

int64_t replica_high_watermark(const struct replica_state *r, int64_t leader_durable) {
  int64_t hw = leader_durable;
  for (uint32_t i = 0; i < r->nisr; i++) hw = member_durable(r, r->isr[i], hw);
  for (uint32_t i = 0; i < r->npending; i++) hw = member_durable(r, r->pending[i], hw);
  return hw;
}

void replica_isr_pending(struct replica_state *r, const int32_t *isr, uint32_t n,
                         int32_t partition_epoch) {
  /* An earlier change from the same base may still have been applied (its
   * answer was lost): both count until the controller's view settles them. */
  if (!r->npending || r->pending_base_epoch != partition_epoch) r->npending = 0;
  for (uint32_t i = 0; i < n && r->npending < REPLICAS_MAX; i++)
    if (!in(r->pending, r->npending, isr[i])) r->pending[r->npending++] = isr[i];
  r->pending_base_epoch = partition_epoch;
}

void replica_isr_settled(struct replica_state *r, int32_t partition_epoch, int refused) {
  if (refused || partition_epoch > r->pending_base_epoch) r->npending = 0;
}

int replica_isr_change(const struct replica_state *r, int64_t now_ms, int64_t lag_ms, int64_t hw,
                       int32_t *isr, uint32_t *n) {
  *n = 0;
  for (uint32_t i = 0; i < r->nreplicas; i++) {
    int32_t id = r->replicas[i];
    if (id == r->self) {
      isr[(*n)++] = id;
      continue;
    }
    const struct follower *f = NULL;
    for (uint32_t k = 0; k < r->nfollowers; k++)
      if (r->followers[k].id == id) f = &r->followers[k];
    int member = in(r->isr, r->nisr, id);
    if (member && f && now_ms - f->last_caught_up_ms <= lag_ms) isr[(*n)++] = id;
    else if (!member && f && f->durable >= hw && f->fetch_offset >= hw &&
             now_ms - f->last_caught_up_ms <= lag_ms)
      isr[(*n)++] = id;
  }
  if (*n != r->nisr) return 1;
  for (uint32_t i = 0; i < *n; i++)
    if (!in(r->isr, r->nisr, isr[i])) return 1;
  return 0;
}

void replica_forget(struct replica_state *r, int32_t id) {
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) {
      struct follower *f = &r->followers[k];
      f->fetch_offset = f->durable = -1;
      f->last_fetch_ms = f->last_fetch_leader_end = 0;
      f->broker_epoch = -1;
      /* still in the ISR (not yet shrunk)? the lag window runs on */
    }
}

void replica_note_epoch(struct replica_state *r, int32_t id, int64_t broker_epoch) {
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) r->followers[k].broker_epoch = broker_epoch;
}

int64_t replica_follower_epoch(const struct replica_state *r, int32_t id) {
  for (uint32_t k = 0; k < r->nfollowers; k++)
    if (r->followers[k].id == id) return r->followers[k].broker_epoch;
  return -1;
}
