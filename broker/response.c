/* Responses: their memory, their header, and what they wait for. */
#include "broker/response.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/topics.h"
#include "common/errors.h"
#include "common/trace.h"
#include "common/wire.h"

/* Response building allocates from the request's arena; running out of
 * memory there means the process cannot answer anything, so it stops loudly
 * rather than send a half-built message. */
void *resp_alloc(struct response *r, size_t n) {
  void *p = arena_alloc(&r->arena, n);
  if (!p) {
    trace_error("out of memory building a response (%zu bytes)", n);
    abort();
  }
  return p;
}

char *resp_strdup(struct response *r, const char *s) {
  char *p = arena_strdup(&r->arena, s);
  if (!p) abort();
  return p;
}

void resp_begin(struct response *r, const Strata__Header *req, Strata__Header__BodyCase body) {
  r->hdr.api_key = req->api_key;
  r->hdr.api_version = req->api_version;
  r->hdr.correlation_id = req->correlation_id;
  r->hdr.is_response = 1;
  r->hdr.body_case = body;
}

void response_wait(struct response *r, struct partition *p, int64_t offset, int hw,
                   uint32_t *error_code, int64_t *base_offset, int32_t *leader_hint) {
  if (r->nwaits == r->waits_cap) {
    size_t cap = r->waits_cap ? r->waits_cap * 2 : 4;
    struct wait_item *w = realloc(r->waits, cap * sizeof *w);
    if (!w) abort(); /* as any response allocation: nothing sane to answer */
    r->waits = w;
    r->waits_cap = cap;
  }
  partition_ref(p);
  r->waits[r->nwaits++] =
      (struct wait_item){p, offset, hw, p->rep.leader_epoch, error_code, base_offset, leader_hint};
}

int response_ready(const struct broker *b, const struct response *r) {
  if (r->held) return 0;
  int ready = 1;
  int stranded = broker_cut_off(b) && b->now_ms - r->started_ms > b->cfg.session_ms;
  for (size_t i = 0; i < r->nwaits; i++) {
    struct wait_item *w = &r->waits[i];
    const struct partition *p = w->p;
    if (p->deleted || !w->error_code || *w->error_code) continue;
    if (!w->hw) {
      if (seglog_durable_offset(p->log) < w->offset) ready = 0;
      continue;
    }
    if (p->rep.role != ROLE_LEADER || p->rep.leader_epoch != w->leader_epoch || stranded) {
      /* Leadership moved (or is moving: see broker_cut_off) before the ISR
       * had the records: they may or may not survive, so the producer must
       * not count them as written. */
      *w->error_code = (uint32_t)-STRATA_ENOT_LEADER;
      if (w->base_offset) *w->base_offset = -1;
      if (w->leader_hint) *w->leader_hint = stranded ? -1 : p->rep.leader;
      if (stranded)
        trace_info("%s-%u: no controller and no replication for %" PRId64 " ms: an acks=all "
                   "write is answered NOT_LEADER", p->topic ? p->topic->name : "?", p->id,
                   b->now_ms - r->started_ms);
      continue;
    }
    if (p->rep.hw < w->offset) ready = 0;
  }
  return ready;
}

/* A produce whose deadline passed: what still waits becomes TIMEOUT. */
void response_expire(struct response *r) {
  for (size_t i = 0; i < r->nwaits; i++) {
    struct wait_item *w = &r->waits[i];
    if (w->error_code && !*w->error_code && w->hw) {
      *w->error_code = (uint32_t)-STRATA_ETIMEOUT;
      if (w->base_offset) *w->base_offset = -1;
    }
  }
}

void response_init(struct response *r) {
  memset(r, 0, sizeof *r);
  arena_init(&r->arena);
  strata__header__init(&r->hdr);
}

void response_free(struct response *r) {
  for (size_t i = 0; i < r->nwaits; i++) partition_unref(r->waits[i].p);
  wire_header_free(r->forwarded);
  free(r->waits);
  free(r->payload);
  arena_reset(&r->arena);
  memset(r, 0, sizeof *r);
}

void response_error(struct response *r, const Strata__Header *req, int err,
                    const char *msg) {
  r->hdr.api_key = req ? req->api_key : 0;
  r->hdr.api_version = req ? req->api_version : 0;
  r->hdr.correlation_id = req ? req->correlation_id : 0;
  r->hdr.is_response = 1;
  r->hdr.error_code = (uint32_t)-err;
  r->hdr.error_message = arena_strdup(&r->arena, msg ? msg : strata_strerror(err));
  if (!r->hdr.error_message) r->hdr.error_message = (char *)"";
  r->hdr.body_case = STRATA__HEADER__BODY__NOT_SET;
}
