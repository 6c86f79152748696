#include "broker/integrity.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/scrub.h"
#include "broker/topics.h"
#include "common/assert.h"
#include "common/durable_file.h"
#include "common/errors.h"
#include "common/trace.h"
#include "replication/follower.h"

void integrity_init(struct broker *b, int64_t now_ms) {
  struct scrub_config c = {b->cfg.scrub_bytes_per_sec > 0 ? (uint64_t)b->cfg.scrub_bytes_per_sec : 0,
                           b->cfg.scrub_interval_ms};
  scrub_init(&b->scrub, &c, now_ms);
  b->scrub_at.topic = 0;
  b->scrub_at.part = 0;
  b->scrub_at.offset = 0;
  for (size_t i = 0; i < b->topics.n; i++) /* damage repairs a restart interrupted */
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++)
      if (b->topics.v[i]->parts[k]->log) integrity_load(b, b->topics.v[i]->parts[k]);
}

/* Where a replica's damage stands, kept in its partition directory
 * (DAMAGE_FILE: "found_at repair_to"), so that a restart knows where to cut
 * and how far to refetch instead of waiting for a whole scrub pass before
 * it may be unmarked (issue 15). Written durably before the controller is
 * told (the report comes at a later tick), so a replica marked damaged has
 * it unless its write failed; removed once repaired. A write that fails
 * leaves the old rule: unmarked after a clean scrub pass. */
#define DAMAGE_FILE "damage.state"

static void damage_path(const struct broker *b, const struct partition *p, char *path, size_t n) {
  snprintf(path, n, "%s/%s-%u/" DAMAGE_FILE, b->topics.dir, p->topic->name, p->id);
}

static void damage_save(struct broker *b, struct partition *p) {
  char path[PATH_MAX], data[64], err[256];
  damage_path(b, p, path, sizeof path);
  int n = snprintf(data, sizeof data, "%" PRId64 " %" PRId64 "\n", p->damage.found_at,
                   p->damage.repair_to);
  if (durable_file_replace(path, data, (size_t)n, err, sizeof err))
    trace_error("%s-%u: cannot keep where its damage is (%s): after a restart it waits for a "
                "whole scrub pass", p->topic->name, p->id, err);
}

void integrity_load(struct broker *b, struct partition *p) {
  char path[PATH_MAX];
  damage_path(b, p, path, sizeof path);
  FILE *f = fopen(path, "r");
  if (!f) return;
  long long found = -1, to = -1;
  int ok = fscanf(f, "%lld %lld", &found, &to) == 2 && found >= -1 && to >= -1;
  fclose(f);
  if (!ok) { /* bad bytes: ignored, the scrub rule holds */
    trace_warn("%s-%u: %s is unreadable; ignored", p->topic->name, p->id, path);
    return;
  }
  if (found >= 0) damage_found(&p->damage, found);
  if (to >= 0) p->damage.repair_to = to;
  if (damage_pending(&p->damage)) {
    b->damage_walk = 1;
    trace_warn("%s-%u: its replica was damaged before the restart (found at %lld, repairing to "
               "%lld): repairing on", p->topic->name, p->id, found, to);
  }
}

static void damage_forget(struct broker *b, struct partition *p) {
  char path[PATH_MAX];
  damage_path(b, p, path, sizeof path);
  if (unlink(path) && errno != ENOENT)
    trace_warn("%s-%u: cannot remove %s: %s", p->topic->name, p->id, path, strerror(errno));
}

void integrity_found(struct broker *b, struct partition *p) {
  int64_t at = seglog_damaged_at(p->log);
  if (at < 0 || !damage_found(&p->damage, at)) return;
  if (b->cluster) damage_save(b, p);
  b->metrics.corrupt_batches++;
  b->damage_walk = 1;
  trace_error("%s-%u: DAMAGED BATCH at offset %" PRId64 " in this broker's replica (%s); %s",
              p->topic->name, p->id, at,
              p->rep.role == ROLE_LEADER ? "leader" : b->cluster ? "follower" : "standalone",
              b->cluster ? "reporting it to the controller and repairing from a healthy replica"
                         : "no other replica exists: reads fail there");
}

int integrity_read_error(struct broker *b, struct partition *p) {
  if (b->cluster && p->rep.role == ROLE_LEADER && p->rep.isr.nisr > 1) return STRATA_ENOT_LEADER;
  trace_error("%s-%u: NO HEALTHY COPY of the batch at offset %" PRId64 ": answering CORRUPT",
              p->topic->name, p->id, seglog_damaged_at(p->log));
  return STRATA_ECORRUPT;
}

/* The partition the walk stands on, moving to the next one when `next`;
 * NULL at the end of the last topic (the pass is done). */
static struct partition *scrub_partition(struct broker *b, int next) {
  if (next) {
    b->scrub_at.part++;
    b->scrub_at.offset = 0;
  }
  while (b->scrub_at.topic < b->topics.n) {
    struct topic *tp = b->topics.v[b->scrub_at.topic];
    if (b->scrub_at.part < tp->npart && tp->parts[b->scrub_at.part])
      return tp->parts[b->scrub_at.part];
    if (b->scrub_at.part < tp->npart) {
      b->scrub_at.part++;
      continue;
    }
    b->scrub_at.topic++;
    b->scrub_at.part = 0;
    b->scrub_at.offset = 0;
  }
  return NULL;
}

/* A log's scrub result: done (1), damage, or an error: the walk moves on
 * to the next log in those cases. */
static void settle(struct broker *b, struct partition *p, int rc) {
  if (rc == 1) p->scrub_clean = 1;
  if (rc == STRATA_ECORRUPT) integrity_found(b, p);
  else if (rc < 0)
    trace_warn("scrubber: %s-%u: %s", p->topic ? p->topic->name : "?", p->id, strata_strerror(rc));
}

int integrity_scrub_next(struct broker *b, int64_t now_ms, struct integrity_scrub_job *job) {
  if (b->scrub_inflight) return 0;
  int started;
  uint64_t budget = scrub_budget(&b->scrub, now_ms, &started);
  if (started) {
    b->scrub_at.topic = 0;
    b->scrub_at.part = 0;
    b->scrub_at.offset = 0;
    trace_debug("scrubber: pass %" PRIu64 " starts", b->scrub.passes + 1);
  }
  /* A bounded number of logs per tick: idle ones cost a lookup each. */
  for (int steps = 0; budget > 0 && steps < 256; steps++) {
    struct partition *p = scrub_partition(b, 0);
    if (!p) {
      trace_info("scrubber: pass %" PRIu64 " done (%" PRIu64 " bytes checked)", b->scrub.passes + 1,
                 b->scrub.pass_bytes);
      scrub_pass_done(&b->scrub, now_ms);
      return 0;
    }
    int rc = p->deleted ? 1 : seglog_scrub_begin(p->log, &b->scrub_at.offset, budget, &job->j);
    if (rc == 0) {
      partition_ref(p);
      job->p = p;
      b->scrub_inflight = 1;
      return 1;
    }
    settle(b, p, rc);
    scrub_partition(b, 1); /* done with this log (or cannot go on in it) */
  }
  return 0;
}

void integrity_scrub_done(struct broker *b, struct integrity_scrub_job *job, int64_t now_ms) {
  (void)now_ms;
  struct partition *p = job->p;
  STRATA_ASSERT(b->scrub_inflight && p);
  b->scrub_inflight = 0;
  job->p = NULL;
  /* The walk may have moved (its topic deleted): a result for another
   * log still notes damage, but moves nothing. */
  int current = !p->deleted && scrub_partition(b, 0) == p;
  int64_t off = current ? b->scrub_at.offset : 0;
  uint64_t got = 0;
  int rc;
  if (p->deleted) {
    seglog_scrub_discard(&job->j);
    rc = 1;
  } else {
    rc = seglog_scrub_end(p->log, &job->j, &off, &got);
  }
  if (b->scrub.active) scrub_spent(&b->scrub, got);
  b->metrics.scrub_bytes += got;
  if (current) b->scrub_at.offset = off;
  if (!p->deleted) settle(b, p, rc);
  if (current && rc != 0) scrub_partition(b, 1);
  partition_unref(p);
}

void integrity_marked(struct broker *b, struct partition *p, const int32_t *damaged, uint32_t n) {
  int marked = 0;
  p->ndamaged_ids = 0;
  for (uint32_t i = 0; i < n && i < REPLICAS_MAX; i++) {
    p->damaged_ids[p->ndamaged_ids++] = damaged[i];
    if (damaged[i] == b->cfg.id) marked = 1;
  }
  p->damage_marked = marked;
  if (marked) b->damage_walk = 1;
}

/* Cut the log at the damaged batch (the controller has marked this
 * replica, which no longer leads): the follower refetches from there. */
static void cut(struct broker *b, struct partition *p) {
  int64_t old_end = seglog_end_offset(p->log), at = p->damage.found_at, hw = p->rep.hw;
  trace_warn("%s-%u: cutting the damaged log at offset %" PRId64 " (%" PRId64
             " record(s)) to refetch them from leader %d",
             p->topic->name, p->id, at, old_end - at, p->rep.leader);
  /* after a restart the cut may be done already (or recovery cut below it) */
  int rc = at < old_end ? seglog_truncate(p->log, at) : 0;
  if (!rc) rc = partition_rebuild_producers(p);
  if (rc) {
    trace_error("%s-%u: cannot cut the damaged log at %" PRId64 ": %s", p->topic->name, p->id, at,
                strata_strerror(rc));
    return;
  }
  int64_t end = seglog_end_offset(p->log); /* as cluster_log_pos (cluster.c, which calls us) */
  struct replica_log log = {seglog_start_offset(p->log), end,
                            b->cfg.flush == FLUSH_ALWAYS ? seglog_durable_offset(p->log) : end};
  follower_truncated(&p->rep, &log);
  damage_cut_done(&p->damage, hw);
  damage_save(b, p);
}

void integrity_repair_tick(struct broker *b,
                           void (*report)(void *arg, struct partition *p, int what), void *arg) {
  if (!b->damage_walk || !b->cluster) return;
  int any = 0;
  for (size_t i = 0; i < b->topics.n; i++) {
    struct topic *tp = b->topics.v[i];
    for (uint32_t k = 0; k < tp->npart; k++) {
      struct partition *p = tp->parts[k];
      if (!p || p->deleted || (!damage_pending(&p->damage) && !p->damage_marked)) continue;
      any = 1;
      int scrubber_off = b->scrub.cfg.bytes_per_sec == 0 || b->scrub.cfg.interval_ms == 0;
      struct damage_view v = {p->rep.role, p->damage_marked, seglog_end_offset(p->log),
                              p->scrub_clean || scrubber_off};
      int f = damage_plan(&p->damage, &v);
      if (f & DAMAGE_CUT) cut(b, p);
      /* Once answered, the change arrives with the next image: wait a
       * second before asking again (the report is idempotent). */
      int may_send = !p->damage_sending && b->now_ms - p->damage_sent_ms >= 1000;
      if ((f & DAMAGE_REPORT) && may_send) {
        p->damage_sent_ms = b->now_ms;
        report(arg, p, 1);
      }
      if ((f & DAMAGE_REPORT_REPAIRED) && may_send) {
        p->damage_sent_ms = b->now_ms;
        trace_info("%s-%u: log repaired up to offset %" PRId64 "; telling the controller",
                   p->topic->name, p->id, v.log_end);
        report(arg, p, 2);
      }
      if (f & DAMAGE_DONE) {
        trace_info("%s-%u: replica repaired and unmarked", p->topic->name, p->id);
        damage_clear(&p->damage);
        damage_forget(b, p);
      }
    }
  }
  b->damage_walk = any;
}

uint32_t integrity_damaged_count(const struct broker *b) {
  uint32_t n = 0;
  for (size_t i = 0; i < b->topics.n; i++)
    for (uint32_t k = 0; k < b->topics.v[i]->npart; k++) {
      const struct partition *p = b->topics.v[i]->parts[k];
      n += p && (damage_pending(&p->damage) || p->damage_marked);
    }
  return n;
}
