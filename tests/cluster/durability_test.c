/* The promise of the foundation, checked with real processes: every record a
 * producer saw acknowledged is read back exactly once, in order, with its
 * key, value, timestamp and headers, after the broker was killed with
 * SIGKILL mid-write and restarted; and under log.flush.policy=always each
 * acknowledged record lay inside a range of its segment file that an
 * fdatasync had covered before the acknowledgement arrived (an LD_PRELOAD
 * shim logs every sync). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/batch.h"
#include "common/bytes.h"
#include "drill/proc.h"

#define PARTS 3
#define PHASE1 200000u
#define PHASE2_MAX 400000u
#define KILL_AFTER_ACKS 20000u
#define ID_PHASE2 1000000u

struct ack {
  int64_t offset;
  int64_t t_ns;
  int32_t partition;
  uint8_t acked, seen;
};

static pid_t broker = -1;
static char *dir;
static struct ack *acks; /* by id: [0, PHASE1) and [ID_PHASE2, ID_PHASE2 + PHASE2_MAX) */
static uint64_t acked_count[2], failed_count[2];

static void teardown(void) {
  if (broker > 0) proc_kill(broker, SIGKILL);
  broker = -1;
  proc_rm_rf(dir);
  free(dir);
  free(acks);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t slot(uint32_t id) { return id < ID_PHASE2 ? id : PHASE1 + (id - ID_PHASE2); }

static void on_delivery(const strata_delivery *d, void *arg) {
  (void)arg;
  uint32_t id = (uint32_t)(uintptr_t)d->opaque;
  int phase = id >= ID_PHASE2;
  if (d->error) {
    failed_count[phase]++;
    return;
  }
  struct ack *a = &acks[slot(id)];
  a->acked = 1;
  a->offset = d->offset;
  a->partition = (int32_t)d->partition;
  a->t_ns = mono_ns();
  acked_count[phase]++;
}

static size_t value_for(uint32_t id, char *buf) {
  int n = sprintf(buf, "value-%u:", id);
  size_t fill = id % 300;
  for (size_t i = 0; i < fill; i++) buf[n + (int)i] = (char)('a' + (id + i) % 26);
  return (size_t)n + fill;
}

/* Record timestamps from the last hour (ids run to 1.4 M, one ms apart),
 * set at the start: the broker's retention (log.retention.ms, 7 days by
 * default, measured against record timestamps like Kafka's) checks 1 s
 * after each start and would delete every closed segment of records
 * stamped in 2023, racing the read-back and the segment walk below. */
static int64_t ts_base;
static int64_t ts_for(uint32_t id) { return ts_base + id; }

static int produce_one(strata_producer *p, uint32_t id) {
  char key[32], val[400], idh[16];
  int kl = sprintf(key, "key-%u", id);
  size_t vl = value_for(id, val);
  int il = sprintf(idh, "%u", id);
  strata_header hs[2] = {{"id", 2, idh, (size_t)il}, {"phase", 5, id >= ID_PHASE2 ? "2" : "1", 1}};
  int rc;
  while ((rc = strata_produce(p, "dur", STRATA_PARTITION_ANY, key, (size_t)kl, val, vl,
                              ts_for(id), hs, 2, (void *)(uintptr_t)id)) == STRATA_EQUEUE_FULL)
    strata_producer_poll(p, 5);
  return rc;
}

/* ---- the fsync evidence ---- */

struct sync_rec {
  int64_t t_ns, size;
  char path[PATH_MAX + 300];
};

static struct sync_rec *load_syncs(const char *log, size_t *n) {
  FILE *f = fopen(log, "r");
  cr_assert(f, "no fsync log at %s: the shim did not run", log);
  size_t cap = 1024;
  struct sync_rec *v = malloc(cap * sizeof *v);
  *n = 0;
  long long t, sz;
  char path[512];
  while (fscanf(f, "%lld %lld %511s", &t, &sz, path) == 3) {
    if (*n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
    v[*n].t_ns = t;
    v[*n].size = sz;
    snprintf(v[*n].path, sizeof v[*n].path, "%s", path);
    (*n)++;
  }
  fclose(f);
  return v;
}

/* End position of every batch of one partition, by walking its segment files. */
struct batch_pos {
  int64_t first, last, end;
  char path[PATH_MAX + 300];
};

static struct batch_pos *walk_partition(const char *pdir, size_t *n) {
  size_t nn;
  char **names = proc_segment_files(pdir, &nn);
  cr_assert(names, "cannot open %s", pdir);
  size_t cap = 4096;
  struct batch_pos *v = malloc(cap * sizeof *v);
  *n = 0;
  for (size_t i = 0; i < nn; i++) {
    const char *path = names[i];
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    uint8_t h[BATCH_HEADER_SIZE];
    int64_t pos = 0;
    while (fread(h, 1, sizeof h, f) == sizeof h) {
      struct batch_header bh;
      cr_assert_eq(batch_header_decode(h, sizeof h, &bh), 0, "bad batch in %s at %" PRId64, path, pos);
      pos += (int64_t)batch_total_size(&bh);
      if (*n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
      v[*n].first = bh.base_offset;
      v[*n].last = bh.base_offset + bh.last_offset_delta;
      v[*n].end = pos;
      snprintf(v[*n].path, sizeof v[*n].path, "%s", path);
      (*n)++;
      fseek(f, pos, SEEK_SET);
    }
    fclose(f);
  }
  proc_free_list(names, nn);
  return v;
}

static const struct batch_pos *find_batch(const struct batch_pos *v, size_t n, int64_t off) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (v[mid].last < off) lo = mid + 1; else hi = mid;
  }
  return lo < n && v[lo].first <= off ? &v[lo] : NULL;
}

/* True when some sync of `path` that finished before t covered `end` bytes. */
static int synced_before(const struct sync_rec *s, size_t n, const char *path, int64_t end,
                         int64_t t) {
  for (size_t i = 0; i < n; i++)
    if (s[i].t_ns <= t && s[i].size >= end && !strcmp(s[i].path, path)) return 1;
  return 0;
}

Test(durability, acked_records_survive_kill9_and_were_fsynced_before_ack,
     .fini = teardown, .timeout = 300) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  ts_base = (int64_t)now.tv_sec * 1000 - 3600 * 1000;
  dir = proc_tmpdir("strata-durability");
  cr_assert(dir);
  acks = calloc(PHASE1 + PHASE2_MAX, sizeof *acks);
  char shim[PATH_MAX], rel[512], synclog[600];
  snprintf(rel, sizeof rel, "%s/tests/fsync_log.so", proc_build_dir());
  cr_assert(realpath(rel, shim), "missing %s (make builds it)", rel);
  snprintf(synclog, sizeof synclog, "%s/fsync.log", dir);
  setenv("STRATA_FSYNC_LOG", synclog, 1);
  setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
  int port;
  const char *extra[] = {"log.flush.policy=always", "log.segment.bytes=4m", NULL};
  broker = proc_start_broker_any(dir, &port, extra, shim);
  cr_assert_gt(broker, 0, "broker did not start; see %s/broker.log", dir);
  char bootstrap[64], err[256];
  snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", port);

  strata_client *admin = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(admin, "%s", err);
  cr_assert_eq(strata_topic_create(admin, "dur", PARTS, 1, NULL, NULL, 0, err, sizeof err), 0,
               "%s", err);
  strata_client_free(admin);

  /* Phase 1: 200,000 records, all must be acknowledged. */
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.acks = 1;
  cfg.batch_size = 64 << 10;
  strata_producer *p = strata_producer_new(bootstrap, &cfg, on_delivery, NULL, err, sizeof err);
  cr_assert(p, "%s", err);
  for (uint32_t id = 0; id < PHASE1; id++) {
    cr_assert_eq(produce_one(p, id), 0);
    if ((id & 255) == 0) strata_producer_poll(p, 0);
  }
  cr_assert_eq(strata_producer_flush(p, 60000), 0);
  strata_producer_free(p);
  cr_assert_eq(acked_count[0], PHASE1, "phase 1: %" PRIu64 " acked, %" PRIu64 " failed",
               acked_count[0], failed_count[0]);

  /* Phase 2: a second producer (no retries, so an unacknowledged record is
   * never resent) is writing when the broker gets SIGKILL. */
  cfg.retries = 0;
  cfg.request_timeout_ms = 3000;
  cfg.batch_size = 16 << 10;
  p = strata_producer_new(bootstrap, &cfg, on_delivery, NULL, err, sizeof err);
  cr_assert(p, "%s", err);
  uint32_t sent = 0, after_kill = 0;
  while (sent < PHASE2_MAX && after_kill < 3000) {
    cr_assert_eq(produce_one(p, ID_PHASE2 + sent), 0);
    sent++;
    if (broker > 0 && acked_count[1] >= KILL_AFTER_ACKS) {
      proc_kill(broker, SIGKILL);
      broker = -1;
    }
    if (broker < 0) after_kill++;
    strata_producer_poll(p, 0);
  }
  cr_assert_lt(broker, 0, "the broker was never killed: only %" PRIu64 " phase-2 acks",
               acked_count[1]);
  strata_producer_flush(p, 20000);
  strata_producer_free(p);
  cr_assert_eq(acked_count[1] + failed_count[1], sent, "every phase-2 record is reported");
  cr_assert_gt(failed_count[1], 0, "the kill happened mid-write, so some records failed");

  /* Restart on the same data and read everything back. */
  broker = proc_start_broker(dir, port, extra, NULL);
  cr_assert_gt(broker, 0, "broker did not restart; see %s/broker.log", dir);
  /* Past the restarted broker's first retention check (1 s after it
   * starts): what it deletes is gone before the read-back, not during it,
   * so a wrong deletion fails every run instead of the slow ones. */
  struct timespec settle = {1, 500 * 1000000};
  nanosleep(&settle, NULL);
  strata_consumer_config ccfg;
  strata_consumer_config_defaults(&ccfg);
  strata_consumer *c = strata_consumer_new(bootstrap, &ccfg, err, sizeof err);
  cr_assert(c, "%s", err);
  admin = strata_client_new(bootstrap, 5000, err, sizeof err);
  cr_assert(admin);
  int64_t hw[PARTS], last_off[PARTS], last_id1[PARTS];
  for (uint32_t i = 0; i < PARTS; i++) {
    cr_assert_eq(strata_list_offset(admin, "dur", i, STRATA_OFFSET_END, &hw[i], NULL), 0);
    cr_assert_eq(strata_consumer_assign(c, "dur", i, STRATA_OFFSET_BEGINNING), 0);
    last_off[i] = -1;
    last_id1[i] = -1;
  }
  strata_client_free(admin);
  uint64_t total = 0, survived_unacked = 0;
  int64_t want = hw[0] + hw[1] + hw[2];
  while ((int64_t)total < want) {
    const strata_message *m;
    int rc = strata_consumer_poll(c, 5000, &m);
    cr_assert_eq(rc, 1, "poll returned %d after %" PRIu64 " of %" PRId64 " records", rc, total,
                 want);
    total++;
    cr_assert_gt(m->offset, last_off[m->partition], "offsets go forward");
    last_off[m->partition] = m->offset;
    uint32_t id;
    char kbuf[32];
    cr_assert(m->key_len > 0 && m->key_len < (int32_t)sizeof kbuf);
    memcpy(kbuf, m->key, (size_t)m->key_len);
    kbuf[m->key_len] = 0;
    cr_assert_eq(sscanf(kbuf, "key-%u", &id), 1);
    cr_assert(id < PHASE1 || (id >= ID_PHASE2 && id < ID_PHASE2 + sent), "id %u", id);
    struct ack *a = &acks[slot(id)];
    cr_assert_not(a->seen, "record %u read twice", id);
    a->seen = 1;
    char val[400], idh[16];
    size_t vl = value_for(id, val);
    cr_assert_eq((size_t)m->value_len, vl, "value length of %u: %d vs %zu key %.*s", id, m->value_len, vl, m->key_len, (const char *)m->key);
    cr_assert_eq(memcmp(m->value, val, vl), 0, "value of %u", id);
    cr_assert_eq(m->timestamp, ts_for(id), "timestamp of %u", id);
    cr_assert_eq(m->header_count, 2u);
    int il = sprintf(idh, "%u", id);
    cr_assert(m->headers[0].key_len == 2 && !memcmp(m->headers[0].key, "id", 2));
    cr_assert(m->headers[0].value_len == (size_t)il && !memcmp(m->headers[0].value, idh, (size_t)il));
    cr_assert(m->headers[1].value_len == 1 &&
              *(const char *)m->headers[1].value == (id >= ID_PHASE2 ? '2' : '1'));
    if (a->acked) {
      cr_assert_eq(m->partition, (uint32_t)a->partition, "partition of %u", id);
      cr_assert_eq(m->offset, a->offset, "record %u was acked at offset %" PRId64, id, a->offset);
    } else {
      survived_unacked++;
    }
    if (id < PHASE1) {
      cr_assert_gt((int64_t)id, last_id1[m->partition], "producer order kept");
      last_id1[m->partition] = id;
    }
  }
  strata_consumer_free(c);
  for (uint32_t id = 0; id < PHASE1; id++) cr_assert(acks[id].seen, "acked record %u lost", id);
  for (uint32_t i = 0; i < sent; i++) {
    struct ack *a = &acks[slot(ID_PHASE2 + i)];
    cr_assert(!a->acked || a->seen, "acked record %u lost", ID_PHASE2 + i);
  }

  /* Acknowledged means fsynced: each acked record's batch end was covered by
   * a sync that finished before the ack was seen. */
  size_t nsync;
  struct sync_rec *syncs = load_syncs(synclog, &nsync);
  cr_assert_gt(nsync, 0);
  char rdir[PATH_MAX];
  cr_assert(realpath(dir, rdir));
  uint64_t checked = 0;
  for (uint32_t part = 0; part < PARTS; part++) {
    char pdir[PATH_MAX + 64];
    snprintf(pdir, sizeof pdir, "%s/data/dur-%u", rdir, part);
    size_t nb;
    struct batch_pos *bp = walk_partition(pdir, &nb);
    /* Only the acks of the last batch per sync matter; check every 97th
     * record and every phase-2 record to keep this fast. */
    for (size_t s = 0; s < PHASE1 + PHASE2_MAX; s++) {
      struct ack *a = &acks[s];
      if (!a->acked || a->partition != (int32_t)part) continue;
      if (s < PHASE1 && s % 97) continue;
      const struct batch_pos *b = find_batch(bp, nb, a->offset);
      cr_assert(b, "offset %" PRId64 " not found in %s", a->offset, pdir);
      cr_assert(synced_before(syncs, nsync, b->path, b->end, a->t_ns),
                "record at %s offset %" PRId64 " was acknowledged before an fsync covered it",
                pdir, a->offset);
      checked++;
    }
    free(bp);
  }
  free(syncs);
  cr_assert_gt(checked, 1000);
  cr_log_info("phase 1: %u acked; phase 2: %" PRIu64 " acked, %" PRIu64
              " failed (%" PRIu64 " of those survived); %" PRIu64 " acks checked against %zu syncs",
              PHASE1, acked_count[1], failed_count[1], survived_unacked, checked, nsync);
}
