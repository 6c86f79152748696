/* Cluster mode replication of a broker: the partition state an image
 * assigns, the leader's high watermark, the follower's side of replication
 * and ISR change proposals. No sockets here (cluster_uv.c moves the bytes). */
#include "broker/cluster.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/topics.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"

static int contains(const int32_t *v, size_t n, int32_t id) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == id) return 1;
  return 0;
}

void cluster_update_hw(struct broker *b, struct partition *p) {
  if (p->role != ROLE_LEADER) return;
  int64_t end = seglog_end_offset(p->log);
  int64_t own = b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : end;
  int64_t hw = replica_high_watermark(&p->rs, own);
  if (hw > end) hw = end;
  if (hw > p->hw) {
    p->hw = hw;
    b->hw_version++;
  }
}

static void set_isr(struct partition *p, const Strata__PartitionState *s) {
  p->rs.nisr = s->n_isr > REPLICAS_MAX ? REPLICAS_MAX : (uint32_t)s->n_isr;
  memcpy(p->rs.isr, s->isr, p->rs.nisr * sizeof(int32_t));
}

void cluster_apply_partition(struct broker *b, struct partition *p,
                             const Strata__PartitionState *s, int64_t now_ms) {
  int32_t self = b->cfg.id;
  int replica = contains(s->replicas, s->n_replicas, self);
  int role = !replica ? ROLE_NONE
             : s->leader == self ? ROLE_LEADER
             : s->leader >= 0    ? ROLE_FOLLOWER
                                 : ROLE_NONE;
  int becoming_leader =
      role == ROLE_LEADER && (p->role != ROLE_LEADER || p->leader_epoch != s->leader_epoch);
  if (p->role == ROLE_LEADER && (role != ROLE_LEADER || p->leader_epoch != s->leader_epoch))
    b->hw_version++; /* waiting acks=all answers learn they lost leadership */
  if (p->leader != s->leader || p->leader_epoch != s->leader_epoch)
    trace_info("%s-%u: leader %d epoch %d (this broker: %s)", p->topic->name, p->id, s->leader,
               s->leader_epoch,
               role == ROLE_LEADER ? "leader" : role == ROLE_FOLLOWER ? "follower" : "no role");
  p->leader = s->leader;
  p->leader_epoch = s->leader_epoch;
  p->partition_epoch = s->partition_epoch;
  p->rs.self = self;
  p->rs.nreplicas = s->n_replicas > REPLICAS_MAX ? REPLICAS_MAX : (uint32_t)s->n_replicas;
  memcpy(p->rs.replicas, s->replicas, p->rs.nreplicas * sizeof(int32_t));
  set_isr(p, s);
  p->alter_inflight = 0;
  replica_isr_settled(&p->rs, s->partition_epoch, 0);
  if (becoming_leader) {
    /* Every batch this leader appends carries its epoch; the epoch starts at
     * the current log end (KIP-101). */
    epoch_cache_add(&p->epochs, s->leader_epoch, seglog_end_offset(p->log));
    replica_become_leader(&p->rs, now_ms);
  }
  p->role = role;
  if (role == ROLE_LEADER) cluster_update_hw(b, p);
}

int cluster_follower_apply(struct partition *p,
                           const Strata__FetchPartitionResult *r, const uint8_t *data,
                           int64_t now_ms, int *appended) {
  *appended = 0;
  int rc = strata_error_from_wire(r->error_code);
  int64_t end = seglog_end_offset(p->log);
  if (rc == STRATA_EOFFSET_OUT_OF_RANGE && r->log_start_offset > end) {
    /* The leader no longer has what follows our end (retention, or the
     * offsets topic's compaction): start over from its log start. */
    trace_warn("%s-%u: our log ends at %" PRId64 ", below leader %d's log start %" PRId64
               ": starting over from there",
               p->topic->name, p->id, end, p->leader, r->log_start_offset);
    if ((rc = seglog_reset(p->log, r->log_start_offset, now_ms))) return rc;
    epoch_cache_truncate(&p->epochs, 0);
    producer_state_clear(&p->producers);
    if (p->hw > r->log_start_offset) p->hw = r->log_start_offset;
    return 0;
  }
  if (rc) return rc;
  /* Whole segments below the leader's log start are gone there: here too. */
  if (r->log_start_offset > seglog_start_offset(p->log) && r->log_start_offset <= end)
    seglog_delete_before(p->log, r->log_start_offset);
  if (r->diverging_end_offset >= 0) {
    int64_t cut = r->diverging_end_offset < end ? r->diverging_end_offset : end;
    /* Where our own copy of the leader's epoch ends: records after it are of
     * an epoch the leader does not have. */
    if (r->diverging_epoch >= 0) {
      int64_t own = epoch_cache_end_offset(&p->epochs, r->diverging_epoch, end);
      if (own < cut) cut = own;
    }
    if (cut < seglog_start_offset(p->log)) cut = seglog_start_offset(p->log);
    trace_warn("%s-%u: log diverges from leader %d at offset %" PRId64
               "; truncating %" PRId64 " record(s) of an older epoch",
               p->topic->name, p->id, p->leader, cut, end - cut);
    if ((rc = seglog_truncate(p->log, cut))) return rc;
    epoch_cache_truncate(&p->epochs, seglog_end_offset(p->log));
    if ((rc = partition_rebuild_producers(p))) return rc;
    if (p->hw > seglog_end_offset(p->log)) p->hw = seglog_end_offset(p->log);
    return 0;
  }
  /* Whole batches at or past our end; a cut-short last batch comes again. */
  size_t off = 0, start = 0, len = r->payload_bytes;
  int started = 0;
  int64_t next = end;
  while (off + BATCH_HEADER_SIZE <= len) {
    struct batch_header h;
    if (batch_header_decode(data + off, len - off, &h)) return STRATA_ECORRUPT;
    size_t sz = batch_total_size(&h);
    if (sz > len - off) break;
    if (h.base_offset + h.last_offset_delta < next && !started) { /* already have it */
      off += sz;
      start = off;
      continue;
    }
    if (h.base_offset != next) return STRATA_EINVALID_RECORD;
    if (batch_check_crc(data + off, sz)) return STRATA_ECORRUPT;
    started = 1;
    next = h.base_offset + h.last_offset_delta + 1;
    off += sz;
  }
  if (started) {
    if ((rc = seglog_append_replica(p->log, data + start, off - start, now_ms))) return rc;
    for (size_t o = start; o < off;) {
      struct batch_header h;
      batch_header_decode(data + o, off - o, &h);
      epoch_cache_add(&p->epochs, h.leader_epoch, h.base_offset);
      partition_note_producer(p, &h, h.base_offset);
      o += batch_total_size(&h);
    }
    *appended = 1;
  }
  int64_t hw = r->high_watermark < seglog_end_offset(p->log) ? r->high_watermark
                                                              : seglog_end_offset(p->log);
  if (hw > p->hw) p->hw = hw;
  return 0;
}

size_t cluster_fetch_entries(struct broker *b, int32_t leader, Strata__FetchPartition *fps,
                             Strata__FetchPartition **fpv, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart && n < max; k++) {
      struct partition *p = b->topics.v[i]->parts[k];
      if (p->role != ROLE_FOLLOWER || p->leader != leader) continue;
      Strata__FetchPartition *fp = &fps[n];
      strata__fetch_partition__init(fp);
      fp->topic = p->topic->name;
      fp->partition = p->id;
      fp->fetch_offset = seglog_end_offset(p->log);
      fp->max_bytes = 1u << 20;
      fp->last_fetched_epoch = epoch_cache_last(&p->epochs);
      fp->durable_offset =
          b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : seglog_end_offset(p->log);
      fpv[n++] = fp;
    }
  return n;
}

int cluster_followed_durable(const struct broker *b, int32_t leader) {
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      struct partition *p = b->topics.v[i]->parts[k];
      if (p->role == ROLE_FOLLOWER && p->leader == leader &&
          seglog_durable_offset(p->log) < seglog_end_offset(p->log))
        return 0;
    }
  return 1;
}

void cluster_register_request(struct broker *b, Strata__BrokerRegisterRequest *q) {
  strata__broker_register_request__init(q);
  q->broker_id = b->cfg.id;
  q->host = b->cfg.host;
  q->port = (uint32_t)b->cfg.port;
  q->rack = b->cfg.rack;
  q->cluster_id = b->topics.n ? b->cluster_id : (char *)"";
}

void cluster_heartbeat_request(const struct broker *b, Strata__BrokerHeartbeatRequest *q) {
  strata__broker_heartbeat_request__init(q);
  q->broker_id = b->cfg.id;
  q->broker_epoch = b->broker_epoch;
  q->metadata_version = b->image_version;
}

void cluster_alter_isr_request(const struct broker *b, const struct partition *p,
                               const int32_t *isr, uint32_t n, int64_t *epochs,
                               Strata__AlterIsrRequest *q) {
  strata__alter_isr_request__init(q);
  q->broker_id = b->cfg.id;
  q->broker_epoch = b->broker_epoch;
  q->topic = p->topic->name;
  q->partition = p->id;
  q->leader_epoch = p->leader_epoch;
  q->partition_epoch = p->partition_epoch;
  q->isr = (int32_t *)isr;
  q->n_isr = n > REPLICAS_MAX ? REPLICAS_MAX : n;
  for (uint32_t i = 0; i < q->n_isr; i++)
    epochs[i] = isr[i] == b->cfg.id ? b->broker_epoch : replica_follower_epoch(&p->rs, isr[i]);
  q->isr_epochs = epochs;
  q->n_isr_epochs = q->n_isr;
}

void cluster_isr_sent(struct partition *p, const int32_t *isr, uint32_t n) {
  replica_isr_pending(&p->rs, isr, n, p->partition_epoch);
  p->alter_inflight = 1;
}

void cluster_isr_answer(struct broker *b, struct partition *p, const Strata__PartitionState *s,
                        int refused) {
  p->alter_inflight = 0;
  if (!s || p->deleted || s->leader_epoch != p->leader_epoch) return;
  if (s->partition_epoch > p->partition_epoch) {
    p->partition_epoch = s->partition_epoch;
    set_isr(p, s);
  }
  replica_isr_settled(&p->rs, s->partition_epoch, refused);
  cluster_update_hw(b, p);
}

void cluster_isr_changes(struct broker *b, int64_t now_ms,
                         void (*fn)(void *arg, struct partition *p, const int32_t *isr,
                                    uint32_t n),
                         void *arg) {
  for (size_t i = 0; i < b->topics.n; i++) {
    struct topic *tp = b->topics.v[i];
    for (uint32_t k = 0; k < tp->npart; k++) {
      struct partition *p = tp->parts[k];
      if (p->role != ROLE_LEADER || p->alter_inflight) continue;
      int32_t isr[REPLICAS_MAX];
      uint32_t n;
      if (!replica_isr_change(&p->rs, now_ms, b->cfg.replica_lag_ms, p->hw, isr, &n)) continue;
      /* Never propose a fenced broker: the controller would refuse it. */
      uint32_t m = 0;
      for (uint32_t j = 0; j < n; j++) {
        const struct peer *pe = broker_peer(b, isr[j]);
        if (contains(p->rs.isr, p->rs.nisr, isr[j]) || (pe && !pe->fenced)) isr[m++] = isr[j];
      }
      int same = m == p->rs.nisr;
      for (uint32_t j = 0; same && j < m; j++) same = contains(p->rs.isr, p->rs.nisr, isr[j]);
      if (!same) fn(arg, p, isr, m);
    }
  }
}
