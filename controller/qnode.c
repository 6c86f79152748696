#include "qnode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/random_id.h"
#include "common/trace.h"
#include "controller/qsnap.h"
#include "controller/qstate.h"
#include "controller/quorum_wire.h"
#include "controller/qvoters.h"

#define QNODE_FETCH_MAX_RECORDS 64
/* A fetch answer's records in bytes: at most this much (at least one
 * record), so its frame stays under the listener's 16 MiB. The receiver
 * takes the spans from the batches it got, so a shorter answer is simply
 * a shorter fetch. A decision's record may not be larger. */
#define QNODE_FETCH_MAX_BYTES (8u << 20)

int qnode_parse_voters(const char *s, struct qnode_config *cfg, char *err, size_t err_len) {
  cfg->nvoters = 0;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", s);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    char *at = strchr(tok, '@'), *colon = strrchr(tok, ':'), *end;
    long id = at ? strtol(tok, &end, 10) : -1;
    if (!at || end != at || id < 0 || id > (1 << 30) || !colon || colon < at ||
        colon == at + 1 || colon - at - 1 >= 256) {
      snprintf(err, err_len, "controller.quorum.voters: expected ID@HOST:PORT,..., got '%s'", tok);
      return STRATA_EINVALID_CONFIG;
    }
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535) {
      snprintf(err, err_len, "controller.quorum.voters: bad port in '%s'", tok);
      return STRATA_EINVALID_CONFIG;
    }
    if (cfg->nvoters == QUORUM_VOTERS_MAX) {
      snprintf(err, err_len, "controller.quorum.voters: at most %d voters", QUORUM_VOTERS_MAX);
      return STRATA_EINVALID_CONFIG;
    }
    for (uint32_t i = 0; i < cfg->nvoters; i++)
      if (cfg->voters[i].id == (int32_t)id) {
        snprintf(err, err_len, "controller.quorum.voters: voter %ld twice", id);
        return STRATA_EINVALID_CONFIG;
      }
    struct qnode_voter *v = &cfg->voters[cfg->nvoters++];
    v->id = (int32_t)id;
    snprintf(v->host, sizeof v->host, "%.*s", (int)(colon - at - 1), at + 1);
    v->port = (int)port;
  }
  if (!cfg->nvoters) {
    snprintf(err, err_len, "controller.quorum.voters: no voter in '%s'", s);
    return STRATA_EINVALID_CONFIG;
  }
  return 0;
}

static void fail(struct qnode *n, const char *what, int rc) {
  if (!n->failed) trace_error("quorum: %s: %s; stopping", what, strata_strerror(rc));
  n->failed = 1;
}

/* Apply the records [applied, to) from the log to the state. */
static void apply_to(struct qnode *n, int64_t to) {
  if (to > n->log.end) to = n->log.end;
  while (!n->failed && n->applied < to) {
    uint8_t *v;
    size_t len;
    int rc = qlog_value(&n->log, n->applied, &v, &len);
    if (rc) {
      fail(n, "a committed record cannot be read back", rc);
      return;
    }
    if (len) {
      Strata__MetadataRecord *r = strata__metadata_record__unpack(NULL, len, v);
      if (!r) {
        free(v);
        fail(n, "a committed record does not decode", STRATA_ECORRUPT);
        return;
      }
      int arc = ctrl_apply(n->c, r);
      if (arc)
        trace_error("metadata record %lld did not apply: %s", (long long)n->applied,
                    strata_strerror(arc));
      strata__metadata_record__free_unpacked(r, NULL);
    }
    free(v);
    n->applied++;
  }
}

/* The state again from the disk: empty, then our snapshot (if any);
 * applied = the snapshot's end. */
static void reload(struct qnode *n) {
  struct ctrl *c = n->c;
  struct ctrl_config cfg = c->cfg;
  int32_t id = c->id;
  int (*tid)(void *, uint8_t *) = c->new_topic_id;
  void *tid_ctx = c->new_topic_id_ctx;
  ctrl_free(c);
  ctrl_init(c, id, &cfg);
  c->new_topic_id = tid;
  c->new_topic_id_ctx = tid_ctx;
  n->applied = 0;
  if (n->snap.end_offset < 0) return;
  struct quorum_snapshot_id got;
  char err[512];
  int rc = qsnap_load(n->dir, c, &got, err, sizeof err);
  if (!rc && (got.end_offset != n->snap.end_offset || got.epoch != n->snap.epoch))
    rc = STRATA_ECORRUPT;
  if (rc) {
    trace_error("quorum: %s", err);
    fail(n, "reloading the snapshot", rc);
    return;
  }
  n->applied = got.end_offset;
}

/* Forget what was applied beyond the high watermark: the state again,
 * from the snapshot and the log's committed part. */
static void revert(struct qnode *n) {
  trace_warn("quorum: records %lld..%lld were applied but not committed: rebuilding the state "
             "from the committed log", (long long)n->hw, (long long)n->applied - 1);
  reload(n);
  apply_to(n, n->hw);
}

/* A replaced log's old descriptor is closed once no fdatasync uses it. */
static void set_old_fd(struct qnode *n, int fd) {
  if (fd < 0) return;
  if (!n->syncing || n->old_fd >= 0) /* the running sync holds the first one stashed */
    close(fd);
  else
    n->old_fd = fd;
}

/* The messages of an update, encoded; a fetch answer gets its records. */
static void send_msgs(struct qnode *n, const struct quorum_update *u) {
  static struct quorum_wire w; /* large; one update at a time */
  for (uint32_t i = 0; i < u->nmsgs && !n->failed; i++) {
    const struct quorum_msg *m = &u->msgs[i];
    uint8_t *payload = NULL;
    size_t len = 0;
    if (m->type == QUORUM_FETCH_RESP && m->fetch_resp.nspans) {
      const struct quorum_span *a = &m->fetch_resp.spans[0];
      const struct quorum_span *b = &m->fetch_resp.spans[m->fetch_resp.nspans - 1];
      int64_t to = b->base + b->count;
      int64_t cap = n->fetch_max_bytes ? (int64_t)n->fetch_max_bytes : QNODE_FETCH_MAX_BYTES;
      while (to > a->base + 1 && qlog_bytes(&n->log, a->base, to) > cap) to--;
      int rc = qlog_read(&n->log, a->base, to, &payload, &len);
      if (rc) {
        fail(n, "reading records for a fetch answer", rc);
        return;
      }
    } else if (m->type == QUORUM_FETCH_SNAPSHOT_RESP && !m->error) {
      /* A chunk of our snapshot file (the core checked the id is ours). */
      size_t cap = n->snap_chunk_bytes  ? n->snap_chunk_bytes
                   : n->fetch_max_bytes ? n->fetch_max_bytes
                                        : QNODE_FETCH_MAX_BYTES;
      struct quorum_msg c = *m;
      int rc = qsnap_read(n->dir, m->snap_resp.position, cap, &payload, &len, &c.snap_resp.size);
      if (rc) {
        trace_warn("quorum: reading the snapshot for %d: %s (it asks again)", m->to,
                   strata_strerror(rc));
        continue;
      }
      c.snap_resp.len = (uint32_t)len;
      quorum_wire_encode(&c, n->cluster_id, &w);
      if (n->self_addr[0]) w.msg.src_address = n->self_addr;
      if (n->send) n->send(n->arg, m->to, &w.msg, payload, len);
      free(payload);
      continue;
    }
    quorum_wire_encode(m, n->cluster_id, &w);
    if (n->self_addr[0]) w.msg.src_address = n->self_addr;
    if (n->send) n->send(n->arg, m->to, &w.msg, payload, len);
    free(payload);
  }
}

/* Carry out one update in the contract's order. *became_ready and
 * *changed say what to tell the controller once it is done. */
static void carry_out(struct qnode *n, const struct quorum_update *u, int *became_ready,
                      int *changed) {
  int rc;
  if (u->flags & QUORUM_U_STATE) {
    char err[512];
    if ((rc = qstate_save(n->dir, &u->state, err, sizeof err))) {
      trace_error("quorum: %s", err);
      fail(n, "the quorum-state file", rc);
      return;
    }
  }
  if (u->flags & QUORUM_U_ROLE) {
    if (n->role == QUORUM_LEADER && (u->role != QUORUM_LEADER || u->epoch != n->epoch)) {
      n->ready = 0;
      n->leader_change_at = -1;
      if (n->applied > n->q.hw) {
        n->hw = n->q.hw;
        revert(n);
      }
    }
    if (u->role != n->role || u->leader != n->leader || u->epoch != n->epoch)
      trace_info("quorum: %s in epoch %d, leader %d", quorum_role_name(u->role), u->epoch,
                 u->leader);
    n->role = u->role;
    n->epoch = u->epoch;
    n->leader = u->leader;
    *changed = 1;
  }
  if (u->flags & QUORUM_U_TRUNCATE) {
    if (u->truncate_to < n->applied) { /* never below the HW; defensive */
      n->hw = n->q.hw < u->truncate_to ? n->q.hw : u->truncate_to;
      revert(n);
    }
    if ((rc = qlog_truncate(&n->log, u->truncate_to))) {
      fail(n, "truncating the log", rc);
      return;
    }
  }
  if (u->flags & QUORUM_U_APPEND) {
    switch (u->append.source) {
    case QUORUM_FROM_SUBMIT:
      for (uint32_t i = 0; i < u->append.count && !n->failed; i++) {
        STRATA_ASSERT(i < n->nsub);
        if ((rc = qlog_append(&n->log, u->append.offset + i, u->append.epoch, n->sub_vals[i],
                              n->sub_lens[i])))
          fail(n, "appending to the log", rc);
      }
      break;
    case QUORUM_FROM_LEADER_CHANGE:
      if ((rc = qlog_append(&n->log, u->append.offset, u->append.epoch, NULL, 0)))
        fail(n, "appending the LeaderChange record", rc);
      n->leader_change_at = u->append.offset;
      break;
    case QUORUM_FROM_FETCH:
      if ((rc = qlog_append_batches(&n->log, n->payload, n->payload_len, u->append.offset,
                                    u->append.offset + u->append.count)))
        fail(n, "appending fetched records", rc);
      break;
    case QUORUM_FROM_VOTERS: {
      /* The leader's VotersRecord (qnode_change_voters): applied at once
       * like a decision's records, so the state's copy (what a snapshot
       * holds) follows the log; reverted with them if it never commits. */
      uint8_t *v = NULL;
      size_t len = 0;
      if ((rc = qvoters_encode_value(&u->append.voters, &n->book, &v, &len)) ||
          (rc = qlog_append(&n->log, u->append.offset, u->append.epoch, v, len))) {
        free(v);
        fail(n, "appending a VotersRecord", rc);
        break;
      }
      if (n->ready && n->applied == u->append.offset) {
        Strata__MetadataRecord *r = strata__metadata_record__unpack(NULL, len, v);
        if (!r || ctrl_apply(n->c, r)) trace_error("the VotersRecord did not apply");
        if (r) strata__metadata_record__free_unpacked(r, NULL);
        n->applied++;
      }
      free(v);
      break;
    }
    }
    if (n->failed) return;
  }
  if (u->flags & QUORUM_U_SNAP_CHUNK) {
    if ((rc = qsnap_fetch_write(n->dir, u->snap_chunk.position, n->payload, u->snap_chunk.len))) {
      fail(n, "writing a fetched snapshot chunk", rc);
      return;
    }
  }
  if (u->flags & QUORUM_U_SNAP_INSTALL) {
    /* The leader's snapshot is whole: ours now, the log empty at its end,
     * the state the snapshot's; SNAPSHOT_DONE once this update is done. */
    char err[512];
    int old = -1;
    if ((rc = qsnap_fetch_finish(n->dir, u->snap_install, err, sizeof err))) {
      trace_error("quorum: %s", err);
      fail(n, "installing the leader's snapshot", rc);
      return;
    }
    if ((rc = qlog_reset(&n->log, u->snap_install.end_offset, &old))) {
      fail(n, "replacing the log after a snapshot", rc);
      return;
    }
    set_old_fd(n, old);
    n->snap = u->snap_install;
    reload(n);
    n->hw = n->snap.end_offset;
    n->snap_done_pending = 1;
    n->snap_done_id = u->snap_install;
    trace_info("quorum: installed the leader's snapshot of records [0, %lld), epoch %d",
               (long long)n->snap.end_offset, n->snap.epoch);
    if (n->failed) return;
  }
  send_msgs(n, u);
  if (u->flags & QUORUM_U_HW) {
    n->hw = u->hw;
    *changed = 1;
  }
  if (!n->ready) {
    if (n->role == QUORUM_LEADER && n->leader_change_at >= 0 && n->hw > n->leader_change_at) {
      apply_to(n, n->hw);
      if (n->applied == n->log.end) {
        n->ready = 1;
        *became_ready = 1;
      }
    } else if (n->role != QUORUM_LEADER) {
      apply_to(n, n->hw);
    }
  }
  n->deadline_ms = u->deadline_ms;
}

static void step(struct qnode *n, const struct quorum_event *e);

/* A snapshot of ours is durable: tell the core, and drop the log's prefix
 * it covers. */
static void snapshot_written(struct qnode *n, struct quorum_snapshot_id id) {
  struct quorum_event e = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = n->now};
  e.snapshot.id = id;
  e.snapshot.replaced_log = 0;
  n->snap = id;
  step(n, &e);
  if (n->failed || n->q.log_start != id.end_offset) return;
  int old = -1;
  int rc = qlog_drop_prefix(&n->log, id.end_offset, &old);
  if (rc) {
    fail(n, "dropping the log prefix a snapshot holds", rc);
    return;
  }
  set_old_fd(n, old);
  trace_info("quorum: snapshot of records [0, %lld), epoch %d; the log starts there",
             (long long)id.end_offset, id.epoch);
}

/* Once the committed records since our last snapshot take snapshot_bytes
 * and nothing is applied beyond the high watermark (the leader's pending
 * records are not committed state): a snapshot of the state at the high
 * watermark. Written at once, or (async_snapshots) captured now and
 * written off the loop by a job (one at a time). */
static void maybe_snapshot(struct qnode *n) {
  int64_t hw = n->hw;
  if (n->failed || n->snap_job || n->applied != hw || hw <= n->log.start ||
      n->q.snap_installing || n->q.snap_fetch.end_offset >= 0 || hw > n->q.hw)
    return;
  if (qlog_bytes(&n->log, n->log.start, hw) < n->snapshot_bytes) return;
  struct quorum_snapshot_id id = {hw, qlog_epoch_at(&n->log, hw - 1)};
  if (n->async_snapshots) {
    if (!(n->snap_job = qsnap_job_new(n->dir, n->c, id)))
      trace_error("quorum: no memory for a snapshot's image (the next commit tries again)");
    return;
  }
  char err[512];
  int rc = qsnap_write(n->dir, n->c, id, err, sizeof err);
  if (rc) { /* the log keeps growing; the next commit tries again */
    trace_error("quorum: snapshot not written: %s", err);
    return;
  }
  snapshot_written(n, id);
}

int qnode_snapshot_begin(struct qnode *n, struct qsnap_job **job) {
  if (!n->snap_job || n->snap_job->running || n->failed) return 0;
  n->snap_job->running = 1;
  *job = n->snap_job;
  return 1;
}

void qnode_snapshot_done(struct qnode *n, int64_t now) {
  struct qsnap_job *j = n->snap_job;
  if (!j) return;
  n->snap_job = NULL;
  n->now = now;
  struct quorum_snapshot_id id = j->id;
  char err[512];
  int rc = j->rc;
  if (rc) {
    trace_error("quorum: snapshot not written: %s", j->err);
  } else if (n->failed || id.end_offset <= n->snap.end_offset || id.end_offset <= n->log.start ||
             n->q.snap_installing || qlog_epoch_at(&n->log, id.end_offset - 1) != id.epoch) {
    /* Overtaken while it was written (a leader's snapshot installed, or
     * one being fetched): not ours to put in place. */
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", n->dir, QSNAP_NEW_FILE);
    unlink(path);
  } else if ((rc = qsnap_job_install(j, err, sizeof err))) {
    trace_error("quorum: %s", err);
    fail(n, "putting a written snapshot in place", rc);
  } else {
    snapshot_written(n, id);
  }
  qsnap_job_free(j);
  maybe_snapshot(n); /* the commits meanwhile may call for the next one */
}

static void step(struct qnode *n, const struct quorum_event *e) {
  static struct quorum_update u; /* large; one step at a time (no reentry: see finish) */
  if (n->failed) return;
  int rc = quorum_step(&n->q, e, &u);
  if (rc && e->type == QUORUM_RECEIVE)
    trace_debug("quorum: message %d from %d refused: %s", e->msg->type, e->msg->src.id,
                strata_strerror(rc));
  if (rc && e->type == QUORUM_SNAPSHOT_DONE)
    trace_error("quorum: the core refused snapshot %lld/%d: %s",
                (long long)e->snapshot.id.end_offset, e->snapshot.id.epoch, strata_strerror(rc));
  int ready = 0, changed = 0;
  carry_out(n, &u, &ready, &changed);
  if (ready) {
    trace_info("quorum: leader of epoch %d, every record up to %lld applied: deciding",
               n->epoch, (long long)n->applied);
    if (n->on_ready) n->on_ready(n->arg, n->now);
  }
  if (changed && n->changed) n->changed(n->arg);
  if (!n->cluster_id[0] && n->c->cluster_id[0] && n->applied <= n->hw)
    snprintf(n->cluster_id, sizeof n->cluster_id, "%s", n->c->cluster_id);
  /* What follows an update, as events of their own (u is free again). */
  if (n->snap_done_pending && !n->failed) {
    n->snap_done_pending = 0;
    struct quorum_event d = {.type = QUORUM_SNAPSHOT_DONE, .now_ms = n->now};
    d.snapshot.id = n->snap_done_id;
    d.snapshot.replaced_log = 1;
    if (n->c->voters &&
        qvoters_decode_packed(n->c->voters, n->c->voters_len, &d.snapshot.voters, &n->book)) {
      fail(n, "the installed snapshot's voter set does not decode", STRATA_ECORRUPT);
      return;
    }
    step(n, &d);
  }
  if (e->type != QUORUM_SNAPSHOT_DONE) maybe_snapshot(n);
}

/* The voter sets the core starts with (KIP-853): the snapshot's (in the
 * state it loaded) and every VotersRecord in the log after it. */
static int find_voter_sets(struct qnode *n, char *err, size_t err_len) {
  int rc;
  memset(&n->start_snap_voters, 0, sizeof n->start_snap_voters);
  if (n->snap.end_offset >= 0 && n->c->voters &&
      (rc = qvoters_decode_packed(n->c->voters, n->c->voters_len, &n->start_snap_voters,
                                  &n->book))) {
    snprintf(err, err_len, "%s/%s: its voter set does not decode", n->dir, QSNAP_FILE);
    return rc;
  }
  uint32_t cap = 0;
  for (int64_t o = n->log.start; o < n->log.end; o++) {
    uint8_t *v;
    size_t len;
    if ((rc = qlog_value(&n->log, o, &v, &len))) {
      snprintf(err, err_len, "%s: record %lld cannot be read back", n->log.path, (long long)o);
      return rc;
    }
    if (!qvoters_is_record(v, len)) {
      free(v);
      continue;
    }
    if (n->start_nvrecs == cap) {
      cap = cap ? 2 * cap : 8;
      struct quorum_voters_at *g = realloc(n->start_vrecs, cap * sizeof *g);
      if (!g) {
        free(v);
        return STRATA_ENOMEM;
      }
      n->start_vrecs = g;
    }
    struct quorum_voters_at *x = &n->start_vrecs[n->start_nvrecs];
    x->offset = o;
    rc = qvoters_decode_value(v, len, &x->set, &n->book);
    free(v);
    if (rc) {
      snprintf(err, err_len, "%s: the VotersRecord at %lld does not decode", n->log.path,
               (long long)o);
      return rc;
    }
    n->start_nvrecs++;
  }
  return 0;
}

int qnode_open(struct qnode *n, const struct qnode_config *cfg, const char *dir, struct ctrl *c,
               int64_t now, char *err, size_t err_len) {
  n->cfg = *cfg;
  n->log.fd = -1; /* qnode_close after a failed open closes nothing */
  n->c = c;
  n->now = now;
  n->leader_change_at = -1;
  n->role = QUORUM_UNATTACHED;
  n->leader = -1;
  snprintf(n->dir, sizeof n->dir, "%s", dir);
  int fresh = 0, rc;
  /* The log first, then the directory id: a first start that stops in
   * between leaves a log without an id (a new directory, below), never an
   * id without its log, which is what a partly wiped directory looks like. */
  n->old_fd = -1;
  n->snap.end_offset = -1;
  n->snapshot_bytes = cfg->snapshot_bytes > 0 ? cfg->snapshot_bytes : QNODE_SNAPSHOT_BYTES;
  if ((rc = qlog_open(&n->log, dir, err, err_len))) return rc;
  /* The snapshot, then the log after it: a crash may have left the log's
   * prefix the snapshot holds (not dropped yet), or a log that ends below
   * an installed snapshot (not replaced yet). */
  if ((rc = qsnap_load(dir, c, &n->snap, err, err_len))) return rc;
  if (n->snap.end_offset >= 0) {
    int old = -1;
    n->applied = n->hw = n->snap.end_offset; /* the snapshot is committed */
    if (n->log.end < n->snap.end_offset || n->log.end == n->log.start)
      rc = qlog_reset(&n->log, n->snap.end_offset, &old);
    else if (n->log.start < n->snap.end_offset)
      rc = qlog_drop_prefix(&n->log, n->snap.end_offset, &old);
    else if (n->log.start > n->snap.end_offset)
      rc = STRATA_ECORRUPT;
    if (old >= 0) close(old);
    if (rc) {
      snprintf(err, err_len, "%s starts at %lld, the snapshot ends at %lld: %s", n->log.path,
               (long long)n->log.start, (long long)n->snap.end_offset, strata_strerror(rc));
      return rc;
    }
  } else if (n->log.start > 0) {
    snprintf(err, err_len, "%s starts at %lld but there is no %s: refusing to guess cluster "
             "metadata", n->log.path, (long long)n->log.start, QSNAP_FILE);
    return STRATA_ECORRUPT;
  }
  if ((rc = qstate_directory_id(dir, cfg->self, n->dir_id, &fresh, err, err_len))) return rc;
  if (!fresh && n->log.created) {
    snprintf(err, err_len, "%s has a directory id (quorum-meta) but no %s: the directory was "
             "partly wiped, and voting with an empty log could lose committed metadata. Remove "
             "quorum-meta, quorum-state and quorum-voters too, so that it comes back as a new "
             "directory (an observer until replaced; docs/quorum.md)", dir, QLOG_FILE);
    return STRATA_ECORRUPT;
  }
  struct quorum_config qc;
  memset(&qc, 0, sizeof qc);
  qc.self.id = cfg->self;
  memcpy(qc.self.dir, n->dir_id, QUORUM_DIR_LEN);
  int self_in = 0;
  for (uint32_t i = 0; i < cfg->nvoters; i++) {
    qc.voters[i].id = cfg->voters[i].id;
    if (cfg->voters[i].id == cfg->self) {
      memcpy(qc.voters[i].dir, n->dir_id, QUORUM_DIR_LEN);
      self_in = 1;
    }
  }
  qc.nvoters = cfg->nvoters;
  if (!self_in) /* a VotersRecord in the log may list it; else add-voter will (KIP-853) */
    trace_info("quorum: node.id %d is not in controller.quorum.voters: an observer (fetching "
               "from them) until a VotersRecord lists it (strata controller add-voter)",
               cfg->self);
  if (cfg->self_host[0] && cfg->self_port > 0)
    snprintf(n->self_addr, sizeof n->self_addr, "%s:%d", cfg->self_host, cfg->self_port);
  if ((rc = qstate_pins_load(dir, qc.voters, qc.nvoters, err, err_len))) return rc;
  for (uint32_t i = 0; i < qc.nvoters; i++) /* our own entry is our directory, whatever a pin says */
    if (qc.voters[i].id == cfg->self) memcpy(qc.voters[i].dir, n->dir_id, QUORUM_DIR_LEN);
  qc.election_timeout_ms = cfg->election_timeout_ms > 0 ? cfg->election_timeout_ms : QNODE_ELECTION_TIMEOUT_MS;
  qc.fetch_timeout_ms = cfg->fetch_timeout_ms > 0 ? cfg->fetch_timeout_ms : QNODE_FETCH_TIMEOUT_MS;
  qc.fetch_max_wait_ms = qc.fetch_timeout_ms / 4;
  qc.request_timeout_ms = qc.fetch_timeout_ms;
  qc.fetch_max_records = QNODE_FETCH_MAX_RECORDS;
  for (uint32_t i = 0; i < cfg->nvoters; i++)
    qvoters_book_put(&n->book, cfg->voters[i].id, cfg->voters[i].host, cfg->voters[i].port);
  if ((rc = find_voter_sets(n, err, err_len))) return rc;
  struct quorum_persisted st;
  if ((rc = qstate_load(dir, &st, err, err_len))) return rc;
  if (fresh && (n->log.end || st.epoch)) {
    snprintf(err, err_len, "%s has a quorum log but no quorum-meta (directory id): refusing to "
             "vote with a log it cannot vouch for", dir);
    return STRATA_ECORRUPT;
  }
  char hex[2 * QUORUM_DIR_LEN + 1];
  qstate_dir_hex(n->dir_id, hex);
  trace_info("quorum: node %d, directory id %s%s, log end %lld, epoch %d", cfg->self, hex,
             fresh ? " (new)" : "", (long long)n->log.end, st.epoch);
  quorum_init(&n->q, &qc);
  char seedhex[RANDOM_ID_HEX_LEN + 1];
  uint64_t seed = (uint64_t)now;
  if (!random_id_hex(seedhex, sizeof seedhex)) seed ^= strtoull(seedhex + 16, NULL, 16);
  n->start_state = st;
  n->start_seed = seed;
  n->synced_end = n->log.end; /* qlog_open synced it */
  return 0;
}

void qnode_start(struct qnode *n, int64_t now) {
  static struct quorum_epoch_start epochs[QUORUM_EPOCHS_MAX];
  n->now = now;
  struct quorum_event e = {.type = QUORUM_START, .now_ms = now};
  e.start.state = n->start_state;
  e.start.seed = n->start_seed;
  e.start.snapshot = n->snap;
  e.start.log_end = n->log.end;
  e.start.nepochs = qlog_epochs(&n->log, epochs, QUORUM_EPOCHS_MAX);
  e.start.epochs = epochs;
  e.start.snapshot_voters = n->start_snap_voters;
  e.start.vrecs = n->start_vrecs;
  e.start.nvrecs = n->start_nvrecs;
  step(n, &e);
  free(n->start_vrecs);
  n->start_vrecs = NULL;
  n->start_nvrecs = 0;
  if (!n->q.started) fail(n, "the quorum state and the log disagree", STRATA_ECORRUPT);
}

void qnode_close(struct qnode *n) {
  free(n->start_vrecs);
  n->start_vrecs = NULL;
  qsnap_job_free(n->snap_job); /* the glue waits for a running one first */
  n->snap_job = NULL;
  if (n->old_fd >= 0) close(n->old_fd);
  n->old_fd = -1;
  qlog_close(&n->log);
}

/* Every batch of payload (whole and CRC-checked by quorum_wire_decode)
 * holds exactly one record. */
static int one_record_batches(const uint8_t *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    struct batch_header h;
    if (batch_header_decode(p + off, len - off, &h) || h.record_count != 1 ||
        h.last_offset_delta != 0)
      return 0;
    off += batch_total_size(&h);
  }
  return 1;
}

void qnode_receive(struct qnode *n, const Strata__QuorumMessage *w, const uint8_t *payload,
                   size_t payload_len, int64_t now) {
  struct quorum_msg m;
  n->now = now;
  const char *theirs = w && w->cluster_id ? w->cluster_id : "";
  const char *expect = n->cluster_id[0] && theirs[0] ? n->cluster_id : theirs;
  int rc = quorum_wire_decode(w, expect, n->cfg.self, payload, payload_len, &m);
  if (rc == STRATA_EINCONSISTENT_CLUSTER_ID) {
    if (n->foreign_msgs++ % 1000 == 0)
      trace_error("quorum: a message from cluster %s, not ours (%s): dropped (%s). Is "
                  "controller.quorum.voters the same on every controller?", theirs,
                  n->cluster_id, strata_strerror(rc));
    return;
  }
  if (rc) {
    trace_debug("quorum: a message that does not decode: %s", strata_strerror(rc));
    return;
  }
  /* Our log holds one record per batch (qlog.h): a fetch answer with
   * another shape is refused here, before the core counts it appended. */
  if (w->src_address && *w->src_address) { /* where to answer it if it is no voter of ours */
    const char *colon = strrchr(w->src_address, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon && colon > w->src_address && colon - w->src_address < 256 && !*end && port > 0 &&
        port < 65536) {
      char host[256];
      snprintf(host, sizeof host, "%.*s", (int)(colon - w->src_address), w->src_address);
      qvoters_book_put(&n->heard, m.src.id, host, (int)port);
      const struct qvoters_addr *a = qvoters_book_get(&n->heard, m.src.id);
      if (a) {
        memcpy(n->heard_dir[a - n->heard.a], m.src.dir, QUORUM_DIR_LEN);
        n->heard_ms[a - n->heard.a] = now;
      }
    }
  }
  if (m.type == QUORUM_FETCH_RESP && !one_record_batches(payload, payload_len)) {
    trace_warn("quorum: a fetch answer from %d with batches of more than one record: dropped",
               m.src.id);
    return;
  }
  if (m.type == QUORUM_FETCH_RESP && payload_len &&
      qvoters_from_fetch(&m, payload, &payload_len, &n->book)) {
    trace_warn("quorum: a fetch answer from %d with a VotersRecord that does not decode: dropped",
               m.src.id);
    return;
  }
  /* Pin a voter's directory id at first contact; warn about another one. */
  for (uint32_t i = 0; i < n->q.cfg.nvoters; i++) {
    struct quorum_key *k = &n->q.cfg.voters[i];
    if (k->id != m.src.id || k->id == n->cfg.self) continue;
    if (!qstate_dir_known(k->dir) && qstate_dir_known(m.src.dir)) {
      char err[512];
      if (quorum_learn_voter_dir(&n->q, k->id, m.src.dir) ||
          qstate_pins_save(n->dir, n->q.cfg.voters, n->q.cfg.nvoters, n->cfg.self, err,
                           sizeof err)) {
        fail(n, "pinning a voter's directory id", STRATA_EIO);
        return;
      }
      char hex[2 * QUORUM_DIR_LEN + 1];
      qstate_dir_hex(m.src.dir, hex);
      trace_info("quorum: voter %d has directory id %s (pinned)", k->id, hex);
    } else if (memcmp(k->dir, m.src.dir, QUORUM_DIR_LEN) && !(n->warned & (1u << i))) {
      n->warned |= 1u << i;
      trace_warn("quorum: voter %d speaks with another directory id than the one pinned: its "
                 "disk was wiped or replaced, so it is an observer here until an operator "
                 "replaces it (docs/quorum.md, \"Replacing a controller\")", k->id);
    }
  }
  if (m.dst.id == n->cfg.self && qstate_dir_known(m.dst.dir) &&
      memcmp(m.dst.dir, n->dir_id, QUORUM_DIR_LEN) && !n->wiped_warned) {
    n->wiped_warned = 1;
    trace_warn("quorum: voter %d knows node %d by another directory id: this data directory "
               "is new (wiped?), so its votes and fetches do not count until an operator "
               "replaces it (docs/quorum.md, \"Replacing a controller\")", m.src.id, n->cfg.self);
  }
  n->payload = payload;
  n->payload_len = payload_len;
  struct quorum_event e = {.type = QUORUM_RECEIVE, .now_ms = now, .msg = &m};
  step(n, &e);
  n->payload = NULL;
  n->payload_len = 0;
}

void qnode_tick(struct qnode *n, int64_t now) {
  n->now = now;
  struct quorum_event e = {.type = QUORUM_TICK, .now_ms = now};
  step(n, &e);
}

int qnode_submit(struct qnode *n, struct ctrl_out *out, int64_t *end) {
  *end = n->applied;
  if (!n->ready || n->failed) {
    ctrl_out_reset(out);
    return STRATA_ENOT_CONTROLLER;
  }
  if (!out->n) return 0;
  int rc = 0;
  n->sub_vals = calloc(out->n, sizeof *n->sub_vals);
  n->sub_lens = calloc(out->n, sizeof *n->sub_lens);
  if (!n->sub_vals || !n->sub_lens) rc = STRATA_ENOMEM;
  for (size_t i = 0; !rc && i < out->n; i++) {
    n->sub_lens[i] = strata__metadata_record__get_packed_size(out->recs[i]);
    if (n->sub_lens[i] > QNODE_FETCH_MAX_BYTES - 1024) {
      trace_error("a metadata record of %zu bytes: more than a fetch answer carries",
                  n->sub_lens[i]);
      rc = STRATA_ETOO_LARGE;
      n->nsub = i;
      break;
    }
    n->sub_vals[i] = malloc(n->sub_lens[i] ? n->sub_lens[i] : 1);
    if (!n->sub_vals[i]) rc = STRATA_ENOMEM;
    else strata__metadata_record__pack(out->recs[i], n->sub_vals[i]);
    n->nsub = i + 1;
  }
  static struct quorum_update u;
  struct quorum_event e = {.type = QUORUM_SUBMIT, .now_ms = n->now, .submit = (uint32_t)out->n};
  if (!rc) rc = quorum_step(&n->q, &e, &u);
  int ready = 0, changed = 0;
  if (!rc) {
    carry_out(n, &u, &ready, &changed);
    if (n->failed) rc = STRATA_EIO;
  }
  if (!rc) { /* decided on, so applied now: the next decision sees it */
    for (size_t i = 0; i < out->n; i++) {
      int arc = ctrl_apply(n->c, out->recs[i]);
      if (arc) trace_error("metadata record did not apply: %s", strata_strerror(arc));
    }
    n->applied += (int64_t)out->n;
    STRATA_ASSERT(n->applied == n->log.end);
    *end = n->applied;
  }
  for (size_t i = 0; i < n->nsub; i++) free(n->sub_vals[i]);
  free(n->sub_vals);
  free(n->sub_lens);
  n->sub_vals = NULL;
  n->sub_lens = NULL;
  n->nsub = 0;
  ctrl_out_reset(out);
  if (changed && n->changed) n->changed(n->arg);
  return rc;
}

int qnode_change_voters(struct qnode *n, int add, const struct quorum_key *key, const char *host,
                        int port, int64_t *end, char *err, size_t err_len) {
  static struct quorum_update u;
  char hex[2 * QUORUM_DIR_LEN + 1];
  qstate_dir_hex(key->dir, hex);
  *end = n->applied;
  if (!n->ready || n->failed) {
    snprintf(err, err_len, "not the active controller");
    return STRATA_ENOT_CONTROLLER;
  }
  if (add && (!host || !*host || port <= 0 || port > 65535)) {
    snprintf(err, err_len, "add-voter needs the new voter's quorum address (HOST:PORT)");
    return STRATA_EINVALID_ARGUMENT;
  }
  struct qvoters_book saved = n->book;
  if (add) qvoters_book_put(&n->book, key->id, host, port);
  struct quorum_event e = {.type = add ? QUORUM_ADD_VOTER : QUORUM_REMOVE_VOTER, .now_ms = n->now};
  e.voter = *key;
  int rc = quorum_step(&n->q, &e, &u);
  if (rc) {
    n->book = saved;
    switch (rc) {
    case STRATA_EVOTER_NOT_CAUGHT_UP:
      snprintf(err, err_len, "controller %d with directory id %s is not a caught-up observer: it "
               "must be running, fetching from this leader, at its high watermark %lld "
               "(strata cluster status lists observers and their directory ids)",
               key->id, hex, (long long)n->q.hw);
      break;
    case STRATA_EDUPLICATE_VOTER:
      snprintf(err, err_len, "controller %d is already a voter: remove-voter its old directory "
               "id first", key->id);
      break;
    case STRATA_EVOTER_NOT_FOUND:
      snprintf(err, err_len, "no voter %d with directory id %s", key->id, hex);
      break;
    case STRATA_EVOTER_CHANGE_IN_PROGRESS:
      snprintf(err, err_len, "a voter change (or this leader's election) is not committed yet; "
               "try again in a moment");
      break;
    case STRATA_ELAST_VOTER:
      snprintf(err, err_len, "controller %d is the only voter: removing it would leave no voters",
               key->id);
      break;
    default: snprintf(err, err_len, "%s", strata_strerror(rc)); break;
    }
    return rc;
  }
  int ready = 0, changed = 0;
  carry_out(n, &u, &ready, &changed);
  if (n->failed) {
    snprintf(err, err_len, "the metadata log cannot be written");
    return STRATA_EIO;
  }
  *end = u.append.offset + 1;
  trace_info("quorum: %s voter %d (directory id %s) at offset %lld; the voter set takes effect "
             "now, the answer waits for its commit", add ? "adding" : "removing", key->id, hex,
             (long long)u.append.offset);
  if (changed && n->changed) n->changed(n->arg);
  return 0;
}

int qnode_sync_begin(struct qnode *n, int *fd) {
  if (n->syncing || n->failed) return 0;
  if (n->log.end == n->synced_end && n->log.truncations == n->synced_trunc) return 0;
  n->syncing = 1;
  n->sync_offset = n->log.end;
  n->sync_epoch = n->log.end > n->log.start ? qlog_epoch_at(&n->log, n->log.end - 1) : n->snap.epoch;
  n->sync_trunc = n->log.truncations;
  *fd = n->log.fd;
  return 1;
}

void qnode_sync_done(struct qnode *n, int ok, int64_t now) {
  n->syncing = 0;
  if (n->old_fd >= 0) { /* the sync ran on the log's old descriptor: no one uses it now */
    close(n->old_fd);
    n->old_fd = -1;
  }
  n->now = now;
  if (!ok) {
    fail(n, "fdatasync of the metadata log", STRATA_EIO);
    return;
  }
  /* A truncation while it ran: what it covered is not what the log holds
   * now; the next sync reports. */
  if (n->log.truncations != n->sync_trunc) return;
  n->synced_end = n->sync_offset;
  n->synced_trunc = n->sync_trunc;
  struct quorum_event e = {.type = QUORUM_PERSISTED, .now_ms = now};
  e.persisted.offset = n->sync_offset;
  e.persisted.epoch = n->sync_epoch;
  if (n->sync_offset > 0) step(n, &e);
}

int64_t qnode_committed(const struct qnode *n) { return n->hw; }

int qnode_pending(const struct qnode *n) { return n->applied > n->hw; }

int32_t qnode_leader(const struct qnode *n, const char **host, int *port) {
  *host = "";
  *port = 0;
  /* Only a leader, or a follower of the leader of its epoch, knows one. A
   * resigned leader (check-quorum cut it off, or it restarted), a
   * prospective or a candidate still carry the epoch's last leader, which
   * may be themselves or dead: hinting it sends brokers in circles. */
  if (n->leader < 0 || n->failed) return -1;
  if (n->role != QUORUM_LEADER && n->role != QUORUM_FOLLOWER) return -1;
  if (n->role == QUORUM_LEADER && n->leader != n->cfg.self) return -1;
  if (n->leader == n->cfg.self) {
    if (n->cfg.self_host[0]) {
      *host = n->cfg.self_host;
      *port = n->cfg.self_port;
    }
  } else if (qnode_peer_addr(n, n->leader, NULL, host, port)) {
    *host = "";
    *port = 0;
  }
  return n->leader;
}

int qnode_peer_addr(const struct qnode *n, int32_t id, const uint8_t *dir, const char **host,
                    int *port) {
  int voter = 0;
  const struct qvoters_addr *h = qvoters_book_get(&n->heard, id);
  for (uint32_t i = 0; i < n->q.cfg.nvoters; i++) {
    const struct quorum_key *k = &n->q.cfg.voters[i];
    if (k->id != id || !qstate_dir_known(k->dir)) {
      voter |= k->id == id;
      continue;
    }
    int other = dir && qstate_dir_known(dir) && memcmp(k->dir, dir, QUORUM_DIR_LEN);
    const uint8_t *hd = h ? n->heard_dir[h - n->heard.a] : NULL;
    int wiped = hd && qstate_dir_known(hd) && memcmp(k->dir, hd, QUORUM_DIR_LEN) &&
                n->now - n->heard_ms[h - n->heard.a] < 2 * n->q.cfg.fetch_timeout_ms;
    voter = !other && !wiped;
  }
  const struct qvoters_addr *a = qvoters_book_get(voter ? &n->book : &n->heard, id);
  if (!a) a = qvoters_book_get(voter ? &n->heard : &n->book, id);
  if (!a) return -1;
  *host = a->host;
  *port = a->port;
  return 0;
}

uint32_t qnode_links(const struct qnode *n, int32_t *ids) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n->q.cfg.nvoters && k < QUORUM_VOTERS_MAX; i++)
    if (n->q.cfg.voters[i].id != n->cfg.self) ids[k++] = n->q.cfg.voters[i].id;
  return k;
}
