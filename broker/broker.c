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

#include "broker/kafka_fetch_session.h"
#include "broker/rsess.h"
#include "broker/seglog.h"
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

int broker_open(struct broker *b, const struct broker_config *cfg, int64_t now_ms,
                int64_t wall_ms, char *err, size_t err_len) {
  memset(b, 0, sizeof *b);
  b->cfg = *cfg;
  b->now_ms = now_ms;
  b->wall_ms = wall_ms;
  b->cluster = cfg->controller_port != 0;
  b->controller_id = -1;
  if (mkdir(cfg->log_dir, 0755) && errno != EEXIST) {
    snprintf(err, err_len, "cannot create log.dir %s: %s", cfg->log_dir, strerror(errno));
    return STRATA_EIO;
  }
  /* One descriptor cache for every partition log: a broker with more
   * partitions than descriptors opens their files as they are used. */
  int rc = fdcache_init(&b->log_fds, cfg->log_fds_max ? cfg->log_fds_max : BROKER_LOG_FDS_DEFAULT);
  if (rc) {
    snprintf(err, err_len, "cannot size the log descriptor cache (%u)", cfg->log_fds_max);
    return rc;
  }
  b->cfg.seg.fdcache = &b->log_fds;
  rc = load_meta(b, err, err_len);
  if (rc) return rc;
  struct group_config gc = {cfg->group_initial_delay_ms, (int32_t)cfg->group_heartbeat_ms,
                            (int32_t)cfg->group_session_min_ms, (int32_t)cfg->group_session_max_ms};
  char nonce[24]; /* member ids differ across coordinators and restarts (and reboots: wall) */
  snprintf(nonce, sizeof nonce, "b%d.%llx", cfg->id, (unsigned long long)wall_ms);
  coord_init(&b->coord, &gc, nonce);
  rc = topics_open(&b->topics, cfg->log_dir, &b->cfg.seg, cfg->message_max_bytes, b->cluster,
                   now_ms, err, err_len);
  if (!rc && topics_offline_count(&b->topics)) b->offline_walk = 1; /* broker/offline.c */
  if (!rc) { /* the authorizer's settings (broker/authz.c decides with them) */
    b->authz.enabled = cfg->authz_enabled;
    b->authz.allow_if_no_acl = cfg->authz_allow_if_no_acl;
    rc = authorizer_set_super_users(&b->authz, cfg->super_users, err, err_len);
  }
  return rc;
}

void broker_close(struct broker *b) {
  while (b->dirty) {
    struct partition *p = b->dirty;
    b->dirty = p->dirty_next;
    p->on_dirty_list = 0;
    partition_unref(p);
  }
  isr_watch_free(&b->isr_watch);
  follow_index_free(&b->follow);
  if (b->replica_sessions) rsess_free_all(b->replica_sessions); /* their references first */
  free(b->replica_sessions);
  b->replica_sessions = NULL;
  for (size_t i = 0; i < b->topics.n; i++) {
    struct topic *tp = b->topics.v[i];
    for (uint32_t k = 0; k < tp->npart; k++) seglog_sync(tp->parts[k]->log);
  }
  topics_close(&b->topics);
  if (b->log_fds.e) fdcache_free(&b->log_fds); /* after every log that used it */
  coord_free(&b->coord);
  if (b->kafka_sessions) kfs_free(b->kafka_sessions);
  free(b->kafka_sessions);
  b->kafka_sessions = NULL;
  authorizer_config_free(&b->authz);
  secmeta_free(&b->sec);
}

uint64_t broker_fd_reserve(const struct broker_config *cfg) {
  return (uint64_t)cfg->connections_max + cfg->admin_connections_max +
         (uint64_t)BROKER_SYNCS_MAX * SEGLOG_SYNC_FDS_MAX + BROKER_FDS_RESERVE_BASE;
}

int broker_cut_off(const struct broker *b) {
  return b->cluster && (b->foreign_controller || (b->controller_contact_ms > 0 &&
                        b->now_ms - b->controller_contact_ms > b->cfg.session_ms));
}

int64_t broker_high_watermark(const struct broker *b, const struct partition *p) {
  if (b->cluster) return p->rep.hw;
  if (b->cfg.flush == FLUSH_ALWAYS) return seglog_durable_offset(p->log);
  return seglog_end_offset(p->log);
}

const struct peer *broker_peer(const struct broker *b, int32_t id) {
  for (size_t i = 0; i < b->npeers; i++)
    if (b->peers[i].id == id) return &b->peers[i];
  return NULL;
}
