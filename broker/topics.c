#include "topics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/batch.h"
#include "common/config.h"
#include "common/durable_file.h"
#include "common/errors.h"
#include "common/topic_id.h"
#include "common/trace.h"

#define TOPICS_SUBDIR "topics"
#define TOPICS_MAX 100000
#define TOPIC_ID_KEY "topic.id" /* in the topic file, beside "partitions" */
#define TOPIC_ID_SOURCE_KEY "topic.id.source" /* "controller" when it came from the image */

static int write_topic_file(const struct topics *t, const struct topic *tp, char *err,
                            size_t err_len);
static int remove_tree(const char *path);

/* segment.bytes is checked in common/topic_config.c against the storage's bounds. */
_Static_assert(TOPIC_SEGMENT_BYTES_MIN == SEGLOG_SEGMENT_BYTES_MIN &&
                   TOPIC_SEGMENT_BYTES_MAX == SEGLOG_SEGMENT_BYTES_MAX - 1,
               "segment.bytes bounds differ between common/topic_config.h and seglog.h");

void partition_ref(struct partition *p) { p->refs++; }

void partition_unref(struct partition *p) {
  if (--p->refs > 0) return;
  replica_free(&p->rep);
  producer_state_free(&p->producers);
  free(p->probe); /* a plain ring (ack_probe.h) */
  seglog_close(p->log);
  free(p);
}

static void topic_free(struct topic *tp) {
  if (!tp) return;
  for (uint32_t i = 0; tp->parts && i < tp->npart; i++) {
    if (!tp->parts[i]) continue;
    tp->parts[i]->deleted = 1;
    tp->parts[i]->topic = NULL;
    partition_unref(tp->parts[i]);
  }
  for (size_t i = 0; i < tp->nconfigs; i++) {
    free(tp->configs[i].key);
    free(tp->configs[i].value);
  }
  free(tp->parts);
  free(tp->name);
  free(tp);
}

/* Apply per-topic overrides on top of the broker defaults. */
static int topic_apply_configs(struct topic *tp, const struct config *c,
                               char *err, size_t err_len) {
  struct topic_config tc = {
      .retention_ms = tp->seg.retention_ms,
      .retention_bytes = tp->seg.retention_bytes,
      .segment_bytes = tp->seg.segment_bytes,
      .segment_ms = tp->seg.segment_ms,
      .index_interval_bytes = tp->seg.index_interval_bytes,
      .ts_type = tp->ts_type,
      .max_message_bytes = tp->max_message_bytes,
  };
  int rc = topic_config_apply(&tc, c, err, err_len);
  if (rc) return rc;
  tp->seg.retention_ms = tc.retention_ms;
  tp->seg.retention_bytes = tc.retention_bytes;
  tp->seg.segment_bytes = tc.segment_bytes;
  tp->seg.segment_ms = tc.segment_ms;
  tp->seg.index_interval_bytes = tc.index_interval_bytes;
  tp->ts_type = tc.ts_type;
  tp->max_message_bytes = tc.max_message_bytes;
  tp->min_insync = tc.min_insync;
  tp->unclean = tc.unclean;
  for (size_t i = 0; i < config_count(c) && i < TOPIC_CONFIGS_MAX; i++) {
    const char *k, *val;
    config_entry(c, i, &k, &val);
    tp->configs[i].key = strdup(k);
    tp->configs[i].value = strdup(val);
    if (!tp->configs[i].key || !tp->configs[i].value) return STRATA_ENOMEM;
    tp->nconfigs = i + 1;
  }
  return 0;
}

/* The leader-epoch cache comes from the batches' partitionLeaderEpoch, the
 * producer state from their producer fields. */
static int note_batch(void *arg, const struct batch_header *h) {
  struct partition *p = arg;
  int rc = epoch_cache_add(&p->rep.epochs, h->leader_epoch, h->base_offset);
  return rc ? rc : partition_note_producer(p, h, h->base_offset);
}

int partition_note_producer(struct partition *p, const struct batch_header *h, int64_t base) {
  if (h->producer_id < 0) return 0;
  return producer_state_update(&p->producers, h->producer_id, h->producer_epoch,
                               h->base_sequence, batch_last_sequence(h), base,
                               base + h->last_offset_delta);
}

static int note_producer(void *arg, const struct batch_header *h) {
  return partition_note_producer(arg, h, h->base_offset);
}

int partition_rebuild_producers(struct partition *p) {
  producer_state_clear(&p->producers);
  return seglog_for_each_batch(p->log, note_producer, p);
}

/* Read a just opened log's epoch cache and producer state. */
static int read_log(struct partition *p) {
  return seglog_for_each_batch(p->log, note_batch, p);
}

/* How open_partition treats partition i's log: open it (created empty when
 * missing: standalone, every partition hosted), open it only when its
 * directory exists (cluster mode at start, before the controller's image
 * says which partitions this broker hosts), or not at all (cluster mode,
 * a partition just created or added: the image's assignment hosts it). */
enum open_mode { OPEN_CREATE, OPEN_EXISTING, OPEN_NONE };

static void partition_path(const struct topics *t, const char *name, uint32_t i, char *path,
                           size_t len) {
  snprintf(path, len, "%s/%s-%" PRIu32, t->dir, name, i);
}

/* Open p's log (created empty when missing) and read it. A log that
 * cannot be opened for a reason of its own (its directory replaced by a
 * file, EACCES, a bad disk...) leaves the partition offline on this broker
 * (log NULL, offline_errno why; broker/offline.c reports it and tries again
 * with a bounded backoff) instead of failing the topic: one broken
 * partition must not take the others down (issue 15). Only running out of
 * memory fails. */
static int host_partition(struct topics *t, struct partition *p, int64_t now_ms, char *err,
                          size_t err_len) {
  struct topic *tp = p->topic;
  uint32_t i = p->id;
  char path[PATH_MAX];
  partition_path(t, tp->name, i, path, sizeof path);
  int rc = 0;
  errno = 0;
  p->log = seglog_open(path, &tp->seg, now_ms, &rc);
  int open_errno = errno ? errno : EIO;
  if (!p->log && rc == STRATA_ENOMEM) {
    snprintf(err, err_len, "cannot open partition %s-%" PRIu32 ": %s", tp->name, i,
             strata_strerror(rc));
    return rc;
  }
  p->hosted = 1;
  if (p->log && seglog_recovered_truncated_bytes(p->log))
    trace_warn("partition %s-%" PRIu32 ": recovery cut %" PRIu64
               " bytes of torn tail; log end is now %" PRId64,
               tp->name, i, seglog_recovered_truncated_bytes(p->log),
               seglog_end_offset(p->log));
  if (p->log && (rc = read_log(p))) {
    seglog_close(p->log);
    p->log = NULL;
    open_errno = EIO;
  }
  if (!p->log) {
    p->offline_errno = open_errno;
    p->offline_retry_ms = now_ms; /* broker/offline.c sets the backoff */
    trace_error("partition %s-%" PRIu32 ": cannot open its log at %s: %s (%s); OFFLINE on this "
                "broker, its other partitions go on",
                tp->name, i, path, strerror(open_errno), strata_strerror(rc ? rc : STRATA_EIO));
  }
  return 0;
}

/* A new entry for partition i of tp, not hosted (no log). */
static struct partition *partition_new(struct topic *tp, uint32_t i) {
  struct partition *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->topic = tp;
  p->id = i;
  p->refs = 1;
  replica_init(&p->rep);
  damage_init(&p->damage);
  return p;
}

/* Partition i's entry into tp->parts[i], its log opened as mode says. */
static int open_partition(struct topics *t, struct topic *tp, uint32_t i, enum open_mode mode,
                          int64_t now_ms, char *err, size_t err_len) {
  struct partition *p = partition_new(tp, i);
  if (!p) return STRATA_ENOMEM;
  int host = mode == OPEN_CREATE;
  if (mode == OPEN_EXISTING) {
    char path[PATH_MAX];
    struct stat st;
    partition_path(t, tp->name, i, path, sizeof path);
    host = stat(path, &st) == 0 || errno != ENOENT; /* anything there but nothing: try it */
  }
  int rc = host ? host_partition(t, p, now_ms, err, err_len) : 0;
  if (rc) {
    replica_free(&p->rep);
    free(p);
    return rc;
  }
  tp->parts[i] = p;
  return 0;
}

/* Drop what p knew from a log it no longer has or is about to (re)read:
 * the replica state, whose epoch cache comes from the log alone, and the
 * producers' sequences (read_log rebuilds both). */
static void forget_log_state(struct partition *p) {
  replica_free(&p->rep);
  replica_init(&p->rep);
  producer_state_clear(&p->producers);
}

int topics_host(struct topics *t, struct partition *p, int64_t now_ms) {
  if (p->hosted || p->deleted) return 0;
  forget_log_state(p);
  char err[256];
  int rc = host_partition(t, p, now_ms, err, sizeof err);
  if (rc) trace_error("%s", err);
  else trace_info("%s-%" PRIu32 ": a replica here now (log %s)", p->topic->name, p->id,
                  p->log ? "open" : "OFFLINE");
  return rc;
}

/* A log with data is kept on disk (Kafka deletes it once a reassignment
 * completes; not done here yet): an image is not evidence enough to delete
 * records (DESIGN.md T9). An empty one (what a version that opened every
 * partition left) holds nothing, so it goes, unless someone still holds
 * the entry (its log must stay open for them). */
struct partition *topics_unhost(struct topics *t, struct partition *p) {
  struct topic *tp = p->topic;
  if (!p->hosted || p->deleted || !tp) return p;
  struct partition *n = partition_new(tp, p->id);
  if (!n) return p; /* the next image tries again */
  int empty = p->refs == 1 && p->log && seglog_end_offset(p->log) == 0 &&
              seglog_start_offset(p->log) == 0;
  tp->parts[p->id] = n;
  p->deleted = 1;
  p->topic = NULL;
  partition_unref(p); /* the log closes with the last reference */
  char path[PATH_MAX];
  partition_path(t, tp->name, n->id, path, sizeof path);
  if (empty && remove_tree(path)) {
    trace_warn("could not remove %s: %s", path, strerror(errno));
    empty = 0;
  }
  trace_info("%s-%" PRIu32 ": no longer a replica here: its log closed (%s)", tp->name, n->id,
             empty ? "empty: directory removed" : "kept on disk");
  return n;
}

int topics_reopen(struct topics *t, struct partition *p, int64_t now_ms) {
  if (p->log || !p->hosted) return 0;
  char path[PATH_MAX];
  partition_path(t, p->topic->name, p->id, path, sizeof path);
  int rc = 0;
  errno = 0;
  struct seglog *log = seglog_open(path, &p->topic->seg, now_ms, &rc);
  int e = errno ? errno : EIO;
  if (!log) return p->offline_errno = e;
  p->log = log;
  forget_log_state(p);
  if (read_log(p)) {
    seglog_close(p->log);
    p->log = NULL;
    return p->offline_errno = EIO;
  }
  p->offline_errno = 0;
  return 0;
}

size_t topics_offline_count(const struct topics *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->n; i++)
    for (uint32_t k = 0; k < t->v[i]->npart; k++) n += t->v[i]->parts[k] && topics_offline(t->v[i]->parts[k]);
  return n;
}

static int open_partitions(struct topics *t, struct topic *tp, enum open_mode mode,
                           int64_t now_ms, char *err, size_t err_len) {
  tp->parts = calloc(tp->npart, sizeof *tp->parts);
  if (!tp->parts) return STRATA_ENOMEM;
  for (uint32_t i = 0; i < tp->npart; i++) {
    int rc = open_partition(t, tp, i, mode, now_ms, err, err_len);
    if (rc) return rc;
  }
  return 0;
}

static int topics_add(struct topics *t, struct topic *tp) {
  if (t->n == t->cap) {
    size_t c = t->cap ? t->cap * 2 : 16;
    struct topic **v = realloc(t->v, c * sizeof *v);
    if (!v) return STRATA_ENOMEM;
    t->v = v;
    t->cap = c;
  }
  t->v[t->n++] = tp;
  return 0;
}

static struct topic *topic_new(const struct topics *t, const char *name) {
  struct topic *tp = calloc(1, sizeof *tp);
  if (!tp || !(tp->name = strdup(name))) {
    free(tp);
    return NULL;
  }
  tp->seg = t->seg_defaults;
  tp->max_message_bytes = t->message_max_bytes;
  return tp;
}

/* Load one topics/<name>.properties: "partitions", "topic.id" plus the
 * topic configs. A file from before topic ids gets an id now, written back
 * once so every restart answers the same id. */
static int load_topic(struct topics *t, const char *name, int64_t now_ms,
                      char *err, size_t err_len) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" TOPICS_SUBDIR "/%s.properties", t->dir, name);
  struct config *c = config_new();
  if (!c) return STRATA_ENOMEM;
  struct topic *tp = NULL;
  int rc = config_load_file(c, path, err, err_len);
  int64_t np = 0;
  if (!rc) rc = config_get_int64(c, "partitions", 0, 1, TOPIC_PARTITIONS_MAX, &np, err, err_len);
  if (!rc && np == 0) {
    snprintf(err, err_len, "%s: missing 'partitions'", path);
    rc = STRATA_ECORRUPT;
  }
  if (!rc && !(tp = topic_new(t, name))) rc = STRATA_ENOMEM;
  if (!rc) {
    struct config *tc = config_new();
    for (size_t i = 0; tc && i < config_count(c); i++) {
      const char *k, *v;
      config_entry(c, i, &k, &v);
      if (!strcmp(k, TOPIC_ID_SOURCE_KEY)) {
        tp->id_from_controller = !strcmp(v, "controller");
      } else if (!strcmp(k, TOPIC_ID_KEY)) {
        if (topic_id_parse(v, tp->id) || !topic_id_usable(tp->id)) {
          snprintf(err, err_len, "%s: bad %s '%s'", path, TOPIC_ID_KEY, v);
          rc = STRATA_ECORRUPT;
        }
      } else if (strcmp(k, "partitions")) {
        config_set(tc, k, v);
      }
    }
    if (rc) {
      config_free(tc);
      tc = NULL;
    }
    if (!rc) rc = tc ? topic_apply_configs(tp, tc, err, err_len) : STRATA_ENOMEM;
    config_free(tc);
  }
  if (!rc) {
    tp->npart = (uint32_t)np;
    rc = open_partitions(t, tp, t->assigned_only ? OPEN_EXISTING : OPEN_CREATE, now_ms, err,
                         err_len);
  }
  if (!rc && topic_id_is_zero(tp->id)) {
    if ((rc = topic_id_random(tp->id)))
      snprintf(err, err_len, "cannot draw a topic id for %s: %s", name, strerror(errno));
    else if (!(rc = write_topic_file(t, tp, err, err_len)))
      trace_info("topic %s (from before topic ids) has an id now", name);
  }
  if (!rc) rc = topics_add(t, tp);
  if (rc) topic_free(tp);
  config_free(c);
  return rc;
}

static int mkdir_if_missing(const char *path) {
  return mkdir(path, 0755) && errno != EEXIST ? STRATA_EIO : 0;
}

int topics_open(struct topics *t, const char *dir,
                const struct seglog_config *defaults, uint32_t message_max_bytes,
                int assigned_only, int64_t now_ms, char *err, size_t err_len) {
  memset(t, 0, sizeof *t);
  t->assigned_only = assigned_only;
  t->seg_defaults = *defaults;
  t->message_max_bytes = message_max_bytes;
  if (!(t->dir = strdup(dir))) return STRATA_ENOMEM;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" TOPICS_SUBDIR, dir);
  if (mkdir_if_missing(dir) || mkdir_if_missing(path)) {
    snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  DIR *d = opendir(path);
  if (!d) {
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  struct dirent *e;
  int rc = 0;
  while (!rc && (e = readdir(d))) {
    size_t n = strlen(e->d_name);
    const char *suffix = ".properties";
    size_t sl = strlen(suffix);
    if (n <= sl || strcmp(e->d_name + n - sl, suffix)) continue;
    char name[TOPIC_NAME_MAX + 1];
    if (n - sl > TOPIC_NAME_MAX) continue;
    memcpy(name, e->d_name, n - sl);
    name[n - sl] = 0;
    if (topic_name_check(name)) continue;
    if (t->n >= TOPICS_MAX) break;
    rc = load_topic(t, name, now_ms, err, err_len);
  }
  closedir(d);
  if (!rc) trace_info("loaded %zu topic(s) from %s", t->n, dir);
  return rc;
}

void topics_close(struct topics *t) {
  for (size_t i = 0; i < t->n; i++) topic_free(t->v[i]);
  free(t->v);
  free(t->dir);
  memset(t, 0, sizeof *t);
}

struct topic *topics_find(const struct topics *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->v[i]->name, name)) return t->v[i];
  return NULL;
}

struct topic *topics_find_id(const struct topics *t, const uint8_t id[16]) {
  if (topic_id_is_zero(id)) return NULL;
  for (size_t i = 0; i < t->n; i++)
    if (!memcmp(t->v[i]->id, id, sizeof t->v[i]->id)) return t->v[i];
  return NULL;
}

int topics_set_id(struct topics *t, struct topic *tp, const uint8_t id[16], char *err,
                  size_t err_len) {
  if (!memcmp(tp->id, id, sizeof tp->id) && tp->id_from_controller) return 0;
  uint8_t old[16];
  int old_from = tp->id_from_controller;
  memcpy(old, tp->id, sizeof old);
  memcpy(tp->id, id, sizeof tp->id);
  tp->id_from_controller = 1;
  int rc = write_topic_file(t, tp, err, err_len);
  if (rc) memcpy(tp->id, old, sizeof old), tp->id_from_controller = old_from;
  return rc;
}

struct partition *topics_partition(const struct topics *t, const char *name,
                                   uint32_t partition) {
  struct topic *tp = topics_find(t, name);
  if (!tp || partition >= tp->npart) return NULL;
  return tp->parts[partition];
}

/* Write the topic file atomically: a crash leaves either no topic or a whole
 * one, never a half-written file that a restart would misread. */
static int write_topic_file(const struct topics *t, const struct topic *tp, char *err,
                            size_t err_len) {
  char path[PATH_MAX + 300];
  snprintf(path, sizeof path, "%s/" TOPICS_SUBDIR "/%s.properties", t->dir, tp->name);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return STRATA_ENOMEM;
  char id[TOPIC_ID_HEX_LEN + 1];
  topic_id_hex(tp->id, id);
  fprintf(f, "# strata topic %s\npartitions=%" PRIu32 "\n" TOPIC_ID_KEY "=%s\n", tp->name, tp->npart,
          id);
  if (tp->id_from_controller) fprintf(f, TOPIC_ID_SOURCE_KEY "=controller\n");
  for (size_t i = 0; i < tp->nconfigs; i++)
    fprintf(f, "%s=%s\n", tp->configs[i].key, tp->configs[i].value);
  int rc = fclose(f) ? STRATA_ENOMEM : durable_file_replace(path, text, len, err, err_len);
  free(text);
  return rc;
}

static int remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d) return errno == ENOENT ? 0 : STRATA_EIO;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char p[PATH_MAX + 512];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    if (unlink(p) && errno != ENOENT) rc = STRATA_EIO;
  }
  closedir(d);
  if (rmdir(path) && errno != ENOENT) rc = STRATA_EIO;
  return rc;
}

/* The directories of partitions [from, to) of topic `name`. */
static void remove_partition_dirs(const struct topics *t, const char *name, uint32_t from,
                                  uint32_t to) {
  for (uint32_t i = from; i < to; i++) {
    char path[PATH_MAX];
    partition_path(t, name, i, path, sizeof path);
    if (remove_tree(path))
      trace_warn("could not remove %s: %s", path, strerror(errno));
  }
}

int topics_create(struct topics *t, const char *name, uint32_t partitions,
                  const char *const *keys, const char *const *values, size_t n,
                  const uint8_t *id, int64_t now_ms, char *err, size_t err_len) {
  int rc = topic_name_check(name);
  if (rc) {
    snprintf(err, err_len, "'%s' is not a legal topic name (1-%d of [A-Za-z0-9._-])",
             name, TOPIC_NAME_MAX);
    return rc;
  }
  if (topics_find(t, name)) {
    snprintf(err, err_len, "topic '%s' already exists", name);
    return STRATA_ETOPIC_EXISTS;
  }
  if (partitions < 1 || partitions > TOPIC_PARTITIONS_MAX) {
    snprintf(err, err_len, "partitions must be 1..%d", TOPIC_PARTITIONS_MAX);
    return STRATA_EINVALID_PARTITIONS;
  }
  if (n > TOPIC_CONFIGS_MAX) {
    snprintf(err, err_len, "at most %d topic configs", TOPIC_CONFIGS_MAX);
    return STRATA_EINVALID_CONFIG;
  }
  if (t->n >= TOPICS_MAX) {
    snprintf(err, err_len, "at most %d topics", TOPICS_MAX);
    return STRATA_EINVALID_REQUEST;
  }
  struct topic *tp = topic_new(t, name);
  struct config *c = config_new();
  if (!tp || !c) {
    topic_free(tp);
    config_free(c);
    return STRATA_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) config_set(c, keys[i], values[i]);
  rc = topic_apply_configs(tp, c, err, err_len);
  config_free(c);
  tp->npart = partitions;
  if (!rc && id) memcpy(tp->id, id, sizeof tp->id), tp->id_from_controller = 1;
  else if (!rc && (rc = topic_id_random(tp->id)))
    snprintf(err, err_len, "cannot draw a topic id: %s", strerror(errno));
  /* Leftovers of a delete that crashed half way must not leak into the new
   * topic: the topic file was already gone, so this data was deleted. */
  if (!rc) remove_partition_dirs(t, name, 0, partitions);
  if (!rc)
    rc = open_partitions(t, tp, t->assigned_only ? OPEN_NONE : OPEN_CREATE, now_ms, err, err_len);
  if (!rc) rc = write_topic_file(t, tp, err, err_len);
  if (!rc) rc = topics_add(t, tp);
  if (rc) {
    uint32_t np = tp->npart;
    topic_free(tp);
    remove_partition_dirs(t, name, 0, np);
    return rc;
  }
  trace_info("created topic %s with %" PRIu32 " partition(s)", name, partitions);
  return 0;
}

int topics_grow_check(const struct topics *t, const char *name, uint32_t count, char *err,
                      size_t err_len) {
  const struct topic *tp = topics_find(t, name);
  if (!tp) {
    snprintf(err, err_len, "topic '%s' does not exist", name);
    return STRATA_EUNKNOWN_TOPIC;
  }
  if (count == tp->npart) {
    snprintf(err, err_len, "Topic already has %u partitions.", tp->npart);
    return STRATA_EINVALID_PARTITIONS;
  }
  if (count < tp->npart) {
    snprintf(err, err_len,
             "Topic currently has %u partitions, which is higher than the requested %u.",
             tp->npart, count);
    return STRATA_EINVALID_PARTITIONS;
  }
  if (count > TOPIC_PARTITIONS_MAX) {
    snprintf(err, err_len, "partitions must be 1..%d", TOPIC_PARTITIONS_MAX);
    return STRATA_EINVALID_PARTITIONS;
  }
  return 0;
}

/* The pointer array grows (realloc); the partitions themselves stay where
 * they are, so struct partition pointers held elsewhere (parked fetches,
 * flush lists, fetchers) stay valid. Order for crashes: leftovers of an
 * earlier incarnation are removed, the topic file with the new count is
 * made durable, then the new logs open; a crash in between leaves either
 * the old count or the new one with empty new partitions. */
int topics_add_partitions(struct topics *t, const char *name, uint32_t count, int64_t now_ms,
                          char *err, size_t err_len) {
  int rc = topics_grow_check(t, name, count, err, err_len);
  if (rc) return rc;
  struct topic *tp = topics_find(t, name);
  struct partition **v = realloc(tp->parts, count * sizeof *v);
  if (!v) return STRATA_ENOMEM;
  tp->parts = v;
  uint32_t old = tp->npart;
  for (uint32_t i = old; i < count; i++) v[i] = NULL;
  remove_partition_dirs(t, name, old, count);
  tp->npart = count; /* the file says the new count */
  rc = write_topic_file(t, tp, err, err_len);
  for (uint32_t i = old; !rc && i < count; i++)
    rc = open_partition(t, tp, i, t->assigned_only ? OPEN_NONE : OPEN_CREATE, now_ms, err, err_len);
  if (rc) { /* back to the old count; the file may say more, a restart opens them empty */
    for (uint32_t i = old; i < count; i++)
      if (tp->parts[i]) {
        tp->parts[i]->deleted = 1;
        tp->parts[i]->topic = NULL;
        partition_unref(tp->parts[i]);
        tp->parts[i] = NULL;
      }
    tp->npart = old;
    return rc;
  }
  trace_info("topic %s grew from %" PRIu32 " to %" PRIu32 " partition(s)", name, old, count);
  return 0;
}

int topics_delete(struct topics *t, const char *name) {
  size_t i = 0;
  while (i < t->n && strcmp(t->v[i]->name, name)) i++;
  if (i == t->n) return STRATA_EUNKNOWN_TOPIC;
  struct topic *tp = t->v[i];
  char path[PATH_MAX + 300], sub[PATH_MAX];
  snprintf(sub, sizeof sub, "%s/" TOPICS_SUBDIR, t->dir);
  snprintf(path, sizeof path, "%s/%s.properties", sub, name);
  if (unlink(path) && errno != ENOENT) return STRATA_EIO;
  if (durable_file_fsync_dir(sub)) /* the topic may come back after a crash */
    trace_warn("cannot fsync %s after deleting topic %s: %s", sub, name, strerror(errno));
  t->v[i] = t->v[--t->n];
  uint32_t np = tp->npart;
  topic_free(tp);
  remove_partition_dirs(t, name, 0, np);
  trace_info("deleted topic %s", name);
  return 0;
}
