#include "controller/quorum_wire.h"

#include <stdio.h>
#include <string.h>

#include "common/batch.h"
#include "common/errors.h"

static void key_out(const struct quorum_key *k, Strata__ReplicaKey *w, uint8_t *dir) {
  strata__replica_key__init(w);
  w->id = k->id;
  memcpy(dir, k->dir, QUORUM_DIR_LEN);
  w->directory_id.data = dir;
  w->directory_id.len = QUORUM_DIR_LEN;
}

static void snapshot_out(const struct quorum_snapshot_id *id, Strata__SnapshotId *w) {
  strata__snapshot_id__init(w);
  w->end_offset = id->end_offset;
  w->epoch = id->epoch;
}

void quorum_wire_encode(const struct quorum_msg *m, const char *cluster_id, struct quorum_wire *w) {
  memset(w, 0, sizeof *w);
  Strata__QuorumMessage *q = &w->msg;
  strata__quorum_message__init(q);
  snprintf(w->cluster_id, sizeof w->cluster_id, "%s", cluster_id ? cluster_id : "");
  q->cluster_id = w->cluster_id;
  key_out(&m->src, &w->src, w->src_dir);
  key_out(&m->dst, &w->dst, w->dst_dir);
  q->src = &w->src;
  q->dst = &w->dst;
  q->epoch = m->epoch;
  q->leader_id = m->leader;
  q->error_code = m->error < 0 ? (uint32_t)-m->error : 0;
  switch (m->type) {
    case QUORUM_VOTE_REQ:
      strata__quorum_vote_request__init(&w->vote_req);
      w->vote_req.pre_vote = m->vote_req.pre_vote != 0;
      w->vote_req.last_epoch = m->vote_req.last_epoch;
      w->vote_req.end_offset = m->vote_req.end_offset;
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_VOTE_REQ;
      q->vote_req = &w->vote_req;
      break;
    case QUORUM_VOTE_RESP:
      strata__quorum_vote_response__init(&w->vote_resp);
      w->vote_resp.pre_vote = m->vote_resp.pre_vote != 0;
      w->vote_resp.vote_granted = m->vote_resp.granted != 0;
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_VOTE_RESP;
      q->vote_resp = &w->vote_resp;
      break;
    case QUORUM_BEGIN_EPOCH_REQ:
      strata__begin_quorum_epoch_request__init(&w->begin_req);
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_BEGIN_EPOCH_REQ;
      q->begin_epoch_req = &w->begin_req;
      break;
    case QUORUM_BEGIN_EPOCH_RESP:
      strata__begin_quorum_epoch_response__init(&w->begin_resp);
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_BEGIN_EPOCH_RESP;
      q->begin_epoch_resp = &w->begin_resp;
      break;
    case QUORUM_END_EPOCH_REQ:
      strata__end_quorum_epoch_request__init(&w->end_req);
      memcpy(w->successors, m->end_epoch.successors, m->end_epoch.nsuccessors * sizeof(int32_t));
      w->end_req.preferred_successors = w->successors;
      w->end_req.n_preferred_successors = m->end_epoch.nsuccessors;
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_END_EPOCH_REQ;
      q->end_epoch_req = &w->end_req;
      break;
    case QUORUM_END_EPOCH_RESP:
      strata__end_quorum_epoch_response__init(&w->end_resp);
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_END_EPOCH_RESP;
      q->end_epoch_resp = &w->end_resp;
      break;
    case QUORUM_FETCH_REQ:
      strata__quorum_fetch_request__init(&w->fetch_req);
      w->fetch_req.fetch_offset = m->fetch_req.offset;
      w->fetch_req.last_fetched_epoch = m->fetch_req.last_epoch;
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_FETCH_REQ;
      q->fetch_req = &w->fetch_req;
      break;
    case QUORUM_FETCH_RESP:
      strata__quorum_fetch_response__init(&w->fetch_resp);
      w->fetch_resp.fetch_offset = m->fetch_resp.fetch_offset;
      w->fetch_resp.last_fetched_epoch = m->fetch_resp.last_fetched_epoch;
      w->fetch_resp.high_watermark = m->fetch_resp.hw;
      w->fetch_resp.log_start_offset = m->fetch_resp.log_start;
      if (m->fetch_resp.diverging_epoch >= 0) {
        strata__diverging_epoch__init(&w->diverging);
        w->diverging.epoch = m->fetch_resp.diverging_epoch;
        w->diverging.end_offset = m->fetch_resp.diverging_end;
        w->fetch_resp.diverging_epoch = &w->diverging;
      }
      if (m->fetch_resp.snapshot.end_offset >= 0) {
        snapshot_out(&m->fetch_resp.snapshot, &w->snapshot);
        w->fetch_resp.snapshot_id = &w->snapshot;
      }
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_FETCH_RESP;
      q->fetch_resp = &w->fetch_resp;
      break;
    case QUORUM_FETCH_SNAPSHOT_REQ:
      strata__fetch_snapshot_request__init(&w->snap_req);
      snapshot_out(&m->snap_req.id, &w->snapshot);
      w->snap_req.snapshot_id = &w->snapshot;
      w->snap_req.position = m->snap_req.position;
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_FETCH_SNAPSHOT_REQ;
      q->fetch_snapshot_req = &w->snap_req;
      break;
    case QUORUM_FETCH_SNAPSHOT_RESP:
      strata__fetch_snapshot_response__init(&w->snap_resp);
      snapshot_out(&m->snap_resp.id, &w->snapshot);
      w->snap_resp.snapshot_id = &w->snapshot;
      w->snap_resp.position = m->snap_resp.position;
      w->snap_resp.size = m->snap_resp.size;
      q->body_case = STRATA__QUORUM_MESSAGE__BODY_FETCH_SNAPSHOT_RESP;
      q->fetch_snapshot_resp = &w->snap_resp;
      break;
  }
}

static int key_in(const Strata__ReplicaKey *w, struct quorum_key *k) {
  if (!w || w->directory_id.len != QUORUM_DIR_LEN || !w->directory_id.data) return STRATA_EINVALID_REQUEST;
  k->id = w->id;
  memcpy(k->dir, w->directory_id.data, QUORUM_DIR_LEN);
  return 0;
}

static int snapshot_in(const Strata__SnapshotId *w, struct quorum_snapshot_id *id) {
  if (!w) return STRATA_EINVALID_REQUEST;
  id->end_offset = w->end_offset;
  id->epoch = w->epoch;
  return 0;
}

/* The spans of a fetch answer's records, from the batches' own headers:
 * whole batches, CRC-correct, each starting where the last one ended,
 * epochs never going back, runs of one epoch merged. */
static int spans_from_batches(const uint8_t *p, size_t len, struct quorum_msg *m) {
  uint32_t n = 0;
  int64_t next = -1;
  for (size_t off = 0; off < len;) {
    struct batch_header h;
    if (batch_header_decode(p + off, len - off, &h)) return STRATA_EINVALID_REQUEST;
    size_t sz = batch_total_size(&h);
    if (sz > len - off || batch_check_crc(p + off, sz)) return STRATA_EINVALID_REQUEST;
    if (h.last_offset_delta < 0 || h.base_offset < 0 || (next >= 0 && h.base_offset != next))
      return STRATA_EINVALID_REQUEST;
    uint32_t count = (uint32_t)h.last_offset_delta + 1;
    if (n && m->fetch_resp.spans[n - 1].epoch == h.leader_epoch) {
      if (m->fetch_resp.spans[n - 1].count > UINT32_MAX - count) return STRATA_EINVALID_REQUEST;
      m->fetch_resp.spans[n - 1].count += count;
    } else {
      if (n == QUORUM_SPANS_MAX || (n && h.leader_epoch < m->fetch_resp.spans[n - 1].epoch))
        return STRATA_EINVALID_REQUEST;
      m->fetch_resp.spans[n++] = (struct quorum_span){h.base_offset, count, h.leader_epoch};
    }
    next = h.base_offset + count;
    off += sz;
  }
  m->fetch_resp.nspans = n;
  return 0;
}

int quorum_wire_decode(const Strata__QuorumMessage *w, const char *cluster_id, int32_t to,
                       const uint8_t *payload, size_t payload_len, struct quorum_msg *m) {
  memset(m, 0, sizeof *m);
  if (!w) return STRATA_EINVALID_REQUEST;
  if (strcmp(w->cluster_id ? w->cluster_id : "", cluster_id ? cluster_id : ""))
    return STRATA_EINCONSISTENT_CLUSTER_ID;
  if (key_in(w->src, &m->src) || key_in(w->dst, &m->dst)) return STRATA_EINVALID_REQUEST;
  m->to = to;
  m->epoch = w->epoch;
  m->leader = w->leader_id;
  m->error = w->error_code ? strata_error_from_wire(w->error_code) : 0;
  switch (w->body_case) {
    case STRATA__QUORUM_MESSAGE__BODY_VOTE_REQ:
      if (!w->vote_req) return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_VOTE_REQ;
      m->vote_req.pre_vote = w->vote_req->pre_vote;
      m->vote_req.last_epoch = w->vote_req->last_epoch;
      m->vote_req.end_offset = w->vote_req->end_offset;
      return 0;
    case STRATA__QUORUM_MESSAGE__BODY_VOTE_RESP:
      if (!w->vote_resp) return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_VOTE_RESP;
      m->vote_resp.pre_vote = w->vote_resp->pre_vote;
      m->vote_resp.granted = w->vote_resp->vote_granted;
      return 0;
    case STRATA__QUORUM_MESSAGE__BODY_BEGIN_EPOCH_REQ: m->type = QUORUM_BEGIN_EPOCH_REQ; return 0;
    case STRATA__QUORUM_MESSAGE__BODY_BEGIN_EPOCH_RESP: m->type = QUORUM_BEGIN_EPOCH_RESP; return 0;
    case STRATA__QUORUM_MESSAGE__BODY_END_EPOCH_REQ:
      if (!w->end_epoch_req || w->end_epoch_req->n_preferred_successors > QUORUM_VOTERS_MAX)
        return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_END_EPOCH_REQ;
      m->end_epoch.nsuccessors = (uint32_t)w->end_epoch_req->n_preferred_successors;
      if (m->end_epoch.nsuccessors)
        memcpy(m->end_epoch.successors, w->end_epoch_req->preferred_successors,
               m->end_epoch.nsuccessors * sizeof(int32_t));
      return 0;
    case STRATA__QUORUM_MESSAGE__BODY_END_EPOCH_RESP: m->type = QUORUM_END_EPOCH_RESP; return 0;
    case STRATA__QUORUM_MESSAGE__BODY_FETCH_REQ:
      if (!w->fetch_req) return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_FETCH_REQ;
      m->fetch_req.offset = w->fetch_req->fetch_offset;
      m->fetch_req.last_epoch = w->fetch_req->last_fetched_epoch;
      return 0;
    case STRATA__QUORUM_MESSAGE__BODY_FETCH_RESP: {
      const Strata__QuorumFetchResponse *r = w->fetch_resp;
      if (!r) return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_FETCH_RESP;
      m->fetch_resp.fetch_offset = r->fetch_offset;
      m->fetch_resp.last_fetched_epoch = r->last_fetched_epoch;
      m->fetch_resp.hw = r->high_watermark;
      m->fetch_resp.log_start = r->log_start_offset;
      m->fetch_resp.diverging_epoch = -1;
      m->fetch_resp.diverging_end = -1;
      m->fetch_resp.snapshot.end_offset = -1;
      if (r->diverging_epoch) {
        if (r->diverging_epoch->epoch < 0) return STRATA_EINVALID_REQUEST;
        m->fetch_resp.diverging_epoch = r->diverging_epoch->epoch;
        m->fetch_resp.diverging_end = r->diverging_epoch->end_offset;
      }
      if (r->snapshot_id && snapshot_in(r->snapshot_id, &m->fetch_resp.snapshot)) return STRATA_EINVALID_REQUEST;
      if (payload_len && (r->diverging_epoch || r->snapshot_id || m->error)) return STRATA_EINVALID_REQUEST;
      return spans_from_batches(payload, payload_len, m);
    }
    case STRATA__QUORUM_MESSAGE__BODY_FETCH_SNAPSHOT_REQ:
      if (!w->fetch_snapshot_req || snapshot_in(w->fetch_snapshot_req->snapshot_id, &m->snap_req.id))
        return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_FETCH_SNAPSHOT_REQ;
      m->snap_req.position = w->fetch_snapshot_req->position;
      return 0;
    case STRATA__QUORUM_MESSAGE__BODY_FETCH_SNAPSHOT_RESP:
      if (!w->fetch_snapshot_resp || snapshot_in(w->fetch_snapshot_resp->snapshot_id, &m->snap_resp.id) ||
          payload_len > UINT32_MAX)
        return STRATA_EINVALID_REQUEST;
      m->type = QUORUM_FETCH_SNAPSHOT_RESP;
      m->snap_resp.position = w->fetch_snapshot_resp->position;
      m->snap_resp.size = w->fetch_snapshot_resp->size;
      m->snap_resp.len = (uint32_t)payload_len;
      return 0;
    default: return STRATA_EINVALID_REQUEST;
  }
}

void quorum_wire_describe(const struct quorum_description *d, struct quorum_wire_describe *w) {
  memset(w, 0, sizeof *w);
  strata__describe_quorum_response__init(&w->resp);
  w->resp.role = (char *)quorum_role_name(d->role);
  w->resp.epoch = d->epoch;
  w->resp.leader_id = d->leader;
  w->resp.high_watermark = d->hw;
  w->resp.log_start_offset = d->log_start;
  w->resp.log_end_offset = d->log_end;
  uint32_t k = 0;
  for (uint32_t i = 0; i < d->nvoters + d->nobservers; i++, k++) {
    const struct quorum_replica_state *s = i < d->nvoters ? &d->voters[i] : &d->observers[i - d->nvoters];
    Strata__QuorumReplicaState *o = &w->states[k];
    strata__quorum_replica_state__init(o);
    key_out(&s->key, &w->keys[k], w->dirs[k]);
    o->replica = &w->keys[k];
    o->log_end_offset = s->end_offset;
    o->last_fetch_ms = s->last_fetch_ms;
    if (i < d->nvoters) w->voters[i] = o;
    else w->observers[i - d->nvoters] = o;
  }
  w->resp.voters = w->voters;
  w->resp.n_voters = d->nvoters;
  w->resp.observers = w->observers;
  w->resp.n_observers = d->nobservers;
}
