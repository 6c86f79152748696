#include "broker/scrub.h"

#include "common/assert.h"

void scrub_init(struct scrub *s, const struct scrub_config *cfg, int64_t now_ms) {
  *s = (struct scrub){0};
  s->cfg = *cfg;
  s->next_pass_ms = now_ms;
  s->last_ms = now_ms;
}

static int enabled(const struct scrub *s) {
  return s->cfg.bytes_per_sec > 0 && s->cfg.interval_ms > 0;
}

uint64_t scrub_budget(struct scrub *s, int64_t now_ms, int *started) {
  *started = 0;
  if (!enabled(s)) return 0;
  if (!s->active) {
    if (now_ms < s->next_pass_ms) return 0;
    s->active = 1;
    s->pass_start_ms = now_ms;
    s->pass_bytes = 0;
    s->tokens = 0;
    s->last_ms = now_ms;
    *started = 1;
  }
  int64_t dt = now_ms > s->last_ms ? now_ms - s->last_ms : 0; /* monotonic, but never trust it */
  s->last_ms = now_ms;
  /* Refill at the rate; never bank more than one chunk (no burst after a stall). */
  int64_t add = (int64_t)((double)s->cfg.bytes_per_sec * (double)dt / 1000.0);
  s->tokens += add;
  if (s->tokens > (int64_t)SCRUB_CHUNK_MAX) s->tokens = SCRUB_CHUNK_MAX;
  if (s->tokens <= 0) return 0;
  STRATA_ASSERT(s->tokens <= (int64_t)SCRUB_CHUNK_MAX);
  return (uint64_t)s->tokens;
}

void scrub_spent(struct scrub *s, uint64_t bytes) {
  STRATA_ASSERT(s->active);
  s->tokens -= (int64_t)bytes;
  s->pass_bytes += bytes;
}

void scrub_pass_done(struct scrub *s, int64_t now_ms) {
  STRATA_ASSERT(s->active);
  s->active = 0;
  s->passes++;
  s->next_pass_ms = s->pass_start_ms + s->cfg.interval_ms;
  if (s->next_pass_ms < now_ms) s->next_pass_ms = now_ms;
}
