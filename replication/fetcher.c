#include "replication/fetcher.h"

#include <string.h>

#include "common/assert.h"

void fetcher_init(struct fetcher *f, int32_t leader) {
  memset(f, 0, sizeof *f);
  f->leader = leader;
}

/* One fetch at a time, and none while appended records wait for their
 * fsync: the next fetch reports our position, and under flush always that
 * position must be durable (the leader counts it toward the high
 * watermark). */
static void try_send(struct fetcher *f, const struct fetcher_event *e, struct fetcher_update *u) {
  if (f->inflight || f->waiting_durable || !f->connected || !e->has_partitions) return;
  if (e->now_ms < f->retry_at) return;
  u->send = 1;
  f->inflight = 1;
}

void fetcher_step(struct fetcher *f, const struct fetcher_event *e, struct fetcher_update *u) {
  memset(u, 0, sizeof *u);
  switch (e->type) {
  case FETCHER_TICK:
    if (!f->connected) {
      if (e->has_partitions && e->now_ms >= f->retry_at) u->connect = 1;
      break;
    }
    if (f->waiting_durable && e->durable) f->waiting_durable = 0;
    try_send(f, e, u);
    break;
  case FETCHER_LINK_UP:
    f->connected = 1;
    break;
  case FETCHER_LINK_DOWN:
    f->connected = 0;
    f->inflight = 0;
    f->retry_at = e->now_ms + FETCHER_RETRY_LINK_MS;
    break;
  case FETCHER_SEND_FAILED:
    f->inflight = 0;
    f->retry_at = e->now_ms + FETCHER_RETRY_LINK_MS;
    break;
  case FETCHER_ANSWER:
    f->inflight = 0;
    switch (e->answer) {
    case FETCHER_ANSWER_LOST:
      f->retry_at = e->now_ms + FETCHER_RETRY_LINK_MS;
      break;
    case FETCHER_ANSWER_BAD:
      f->retry_at = e->now_ms + FETCHER_RETRY_LINK_MS;
      u->close = 1;
      break;
    case FETCHER_ANSWER_ERROR:
      f->retry_at = e->now_ms + FETCHER_RETRY_ERROR_MS;
      break;
    case FETCHER_ANSWER_IDLE:
      f->retry_at = e->now_ms + FETCHER_RETRY_IDLE_MS;
      break;
    case FETCHER_ANSWER_PROGRESS:
      /* Report only fsynced positions: fetch again once the appends are durable. */
      if (e->report_durable && !e->durable) f->waiting_durable = 1;
      else try_send(f, e, u);
      break;
    }
    break;
  case FETCHER_SYNCED:
    if (f->waiting_durable && e->durable) {
      f->waiting_durable = 0;
      try_send(f, e, u);
    }
    break;
  }
  STRATA_ASSERT(!(u->send && u->connect));
  STRATA_ASSERT(!u->send || (f->connected && f->inflight && !f->waiting_durable));
}
