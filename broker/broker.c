#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/durable_file.h"
#include "common/wire.h"
#include "common/errors.h"
#include "common/random_id.h"
#include "common/trace.h"

/* log.dir/meta.properties ties a data directory to one broker id and
 * cluster: starting broker 2 on broker 1's directory is refused. */
static int load_meta(struct broker *b, char *err, size_t err_len) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/meta.properties", b->cfg.log_dir);
  struct config *c = config_new();
  if (!c) return STRATA_ENOMEM;
  int rc = 0;
  if (access(path, F_OK) == 0) {
    rc = config_load_file(c, path, err, err_len);
    int64_t id = -1;
    if (!rc) rc = config_get_int64(c, "broker.id", -1, -1, INT32_MAX, &id, err, err_len);
    const char *cid = config_get(c, "cluster.id");
    if (!rc && (!cid || id < 0)) {
      snprintf(err, err_len, "%s lacks broker.id or cluster.id", path);
      rc = STRATA_ECORRUPT;
    }
    if (!rc && id != b->cfg.id) {
      snprintf(err, err_len,
               "%s belongs to broker.id=%" PRId64 ", not %" PRId32
               " (wrong log.dir?)", path, id, b->cfg.id);
      rc = STRATA_EINVALID_CONFIG;
    }
    if (!rc) snprintf(b->cluster_id, sizeof b->cluster_id, "%s", cid);
  } else {
    rc = random_id_hex(b->cluster_id, sizeof b->cluster_id);
    if (rc) snprintf(err, err_len, "cannot draw a cluster.id: %s", strerror(errno));
    if (!rc) rc = broker_save_meta(b, err, err_len);
  }
  config_free(c);
  return rc;
}

int broker_save_meta(struct broker *b, char *err, size_t err_len) {
  char path[PATH_MAX + 32], text[160];
  snprintf(path, sizeof path, "%s/meta.properties", b->cfg.log_dir);
  int n = snprintf(text, sizeof text,
                   "# written by strata-broker\nbroker.id=%" PRId32 "\ncluster.id=%s\nversion=1\n",
                   b->cfg.id, b->cluster_id);
  return durable_file_replace(path, text, (size_t)n, err, err_len);
}

int broker_open(struct broker *b, const struct broker_config *cfg,
                int64_t now_ms, char *err, size_t err_len) {
  memset(b, 0, sizeof *b);
  b->cfg = *cfg;
  b->now_ms = now_ms;
  b->cluster = cfg->controller_port != 0;
  b->controller_id = -1;
  if (mkdir(cfg->log_dir, 0755) && errno != EEXIST) {
    snprintf(err, err_len, "cannot create log.dir %s: %s", cfg->log_dir, strerror(errno));
    return STRATA_EIO;
  }
  int rc = load_meta(b, err, err_len);
  if (rc) return rc;
  struct group_config gc = {cfg->group_initial_delay_ms, (int32_t)cfg->group_heartbeat_ms,
                            (int32_t)cfg->group_session_min_ms, (int32_t)cfg->group_session_max_ms};
  char nonce[24]; /* member ids differ across coordinators and restarts */
  snprintf(nonce, sizeof nonce, "b%d.%llx", cfg->id, (unsigned long long)now_ms);
  coord_init(&b->coord, &gc, nonce);
  rc = topics_open(&b->topics, cfg->log_dir, &cfg->seg, cfg->message_max_bytes, now_ms, err,
                   err_len);
  if (!rc && !b->cluster) broker_groups_sync(b);
  return rc;
}

void broker_close(struct broker *b) {
  while (b->dirty) {
    struct partition *p = b->dirty;
    b->dirty = p->dirty_next;
    p->on_dirty_list = 0;
    partition_unref(p);
  }
  for (size_t i = 0; i < b->topics.n; i++) {
    struct topic *tp = b->topics.v[i];
    for (uint32_t k = 0; k < tp->npart; k++) seglog_sync(tp->parts[k]->log);
  }
  topics_close(&b->topics);
  coord_free(&b->coord);
}

int broker_cut_off(const struct broker *b) {
  return b->cluster && (b->foreign_controller || (b->controller_contact_ms > 0 &&
                        b->now_ms - b->controller_contact_ms > b->cfg.session_ms));
}

int64_t broker_high_watermark(const struct broker *b, const struct partition *p) {
  if (b->cluster) return p->hw;
  if (b->cfg.flush == FLUSH_ALWAYS) return seglog_durable_offset(p->log);
  return seglog_end_offset(p->log);
}

void broker_mark_dirty(struct broker *b, struct partition *p) {
  if (p->on_dirty_list) return;
  p->on_dirty_list = 1;
  partition_ref(p);
  p->dirty_next = b->dirty;
  b->dirty = p;
}

void broker_note_roll(struct broker *b, struct partition *p) {
  if (seglog_roll_unsynced(p->log)) broker_mark_dirty(b, p);
}

void broker_appended(struct broker *b, struct partition *p) {
  if (b->cfg.flush == FLUSH_ALWAYS) broker_mark_dirty(b, p);
  else broker_note_roll(b, p);
  if (b->cluster) cluster_update_hw(b, p);
  if (b->cluster || b->cfg.flush != FLUSH_ALWAYS) b->hw_version++;
}

void broker_sync_start(struct broker *b,
                       void (*start)(void *arg, struct partition *p, struct seglog_sync *job),
                       void *arg) {
  struct partition *keep = NULL;
  while (b->dirty) {
    struct partition *p = b->dirty;
    b->dirty = p->dirty_next;
    p->on_dirty_list = 0;
    struct seglog_sync job;
    if (p->deleted) {
      partition_unref(p);
    } else if (p->sync_inflight) { /* stays dirty for the next turn */
      p->on_dirty_list = 1;
      p->dirty_next = keep;
      keep = p;
    } else if (seglog_sync_begin(p->log, &job) || job.n == 0) {
      partition_unref(p);
    } else {
      p->sync_inflight = 1;
      start(arg, p, &job);
    }
  }
  b->dirty = keep;
}

void broker_sync_done(struct broker *b, struct partition *p, const struct seglog_sync *job,
                      int status) {
  p->sync_inflight = 0;
  if (!p->deleted) {
    if (status) trace_error("fsync of partition %u failed: %s", p->id, strata_strerror(status));
    int64_t before = seglog_durable_offset(p->log);
    seglog_sync_end(p->log, job, status);
    if (seglog_durable_offset(p->log) != before) b->hw_version++;
    if (b->cluster) cluster_update_hw(b, p);
    if (seglog_durable_offset(p->log) < seglog_end_offset(p->log) && b->cfg.flush != FLUSH_OS)
      broker_mark_dirty(b, p);
    broker_note_roll(b, p);
  }
  partition_unref(p);
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
      (struct wait_item){p, offset, hw, p->leader_epoch, error_code, base_offset, leader_hint};
}

int broker_response_ready(const struct broker *b, const struct response *r) {
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
    if (p->role != ROLE_LEADER || p->leader_epoch != w->leader_epoch || stranded) {
      /* Leadership moved (or is moving: see broker_cut_off) before the ISR
       * had the records: they may or may not survive, so the producer must
       * not count them as written. */
      *w->error_code = (uint32_t)-STRATA_ENOT_LEADER;
      if (w->base_offset) *w->base_offset = -1;
      if (w->leader_hint) *w->leader_hint = stranded ? -1 : p->leader;
      if (stranded)
        trace_info("%s-%u: no controller and no replication for %" PRId64 " ms: an acks=all "
                   "write is answered NOT_LEADER", p->topic ? p->topic->name : "?", p->id,
                   b->now_ms - r->started_ms);
      continue;
    }
    if (p->hw < w->offset) ready = 0;
  }
  return ready;
}

/* A produce whose deadline passed: what still waits becomes TIMEOUT. */
void broker_response_expire(struct response *r) {
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
