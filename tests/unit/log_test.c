/* The partition log (broker/seglog.c): appends and reads across segment
 * rolls, offset and time lookups, retention, truncation, and crash recovery
 * of a torn or corrupt tail. Logs made with small_config share a descriptor
 * cache of FDCACHE_MIN entries, so every test here also runs with files
 * closed and opened again under it (issue 15). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/fdcache.h"
#include "broker/seglog.h"
#include "common/batch.h"
#include "common/bytes.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"

static char *dir;
static struct fdcache tiny_fds;
static void setup(void) {
  trace_set_level(TRACE_ERROR); /* recovery warnings are expected here */
  cr_assert((dir = proc_tmpdir("strata-logtest")));
  cr_assert_eq(fdcache_init(&tiny_fds, FDCACHE_MIN), 0);
}
static void teardown(void) {
  fdcache_free(&tiny_fds);
  proc_rm_rf(dir);
  free(dir);
}
TestSuite(seglog, .init = setup, .fini = teardown, .timeout = 120);

static struct seglog_config small_config(void) {
  struct seglog_config c;
  seglog_config_defaults(&c);
  c.segment_bytes = SEGLOG_SEGMENT_BYTES_MIN; /* 64 KiB: many rolls */
  c.index_interval_bytes = 1024;
  c.retention_ms = -1;
  c.fdcache = &tiny_fds;
  return c;
}

/* A batch of `n` records whose values encode their future offsets. */
static int64_t ts_step = 1; /* timestamp distance between records */

static uint8_t *make_batch(int64_t first, int n, int64_t ts, size_t *len) {
  struct batch_builder b;
  batch_builder_init(&b);
  for (int i = 0; i < n; i++) {
    char v[128];
    int vl = snprintf(v, sizeof v, "record %lld padded to about a hundred bytes ................",
                      (long long)(first + i));
    cr_assert_eq(batch_builder_add(&b, ts + i * ts_step, NULL, 0, v, (size_t)vl, NULL, 0), 0);
  }
  const uint8_t *out;
  cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &out, len), 0);
  uint8_t *copy = malloc(*len);
  memcpy(copy, out, *len);
  batch_builder_free(&b);
  return copy;
}

/* Appends `batches` batches of `per` records. After a roll it syncs, as the
 * broker does (a second roll waits for the first one's sync). */
static void append_n(struct seglog *log, int batches, int per, int64_t ts0) {
  for (int i = 0; i < batches; i++) {
    int64_t first = seglog_end_offset(log), base;
    size_t len;
    uint8_t *b = make_batch(first, per, ts0 + first, &len);
    cr_assert_eq(seglog_append(log, b, len, 0, 0, &base), 0);
    cr_assert_eq(base, first);
    free(b);
    if (seglog_roll_unsynced(log)) cr_assert_eq(seglog_sync(log), 0);
  }
}

/* Appends one batch of 10 records without syncing. */
static void append_one(struct seglog *log) {
  int64_t first = seglog_end_offset(log), base;
  size_t len;
  uint8_t *b = make_batch(first, 10, 1000 + first, &len);
  cr_assert_eq(seglog_append(log, b, len, 0, 0, &base), 0);
  free(b);
}

/* Read every record from `from` to the end; checks each value names its
 * offset. Returns the number of records read. */
static int64_t read_all(struct seglog *log, int64_t from) {
  int64_t next = from, count = 0;
  uint8_t *buf = malloc(1 << 20);
  while (next < seglog_end_offset(log)) {
    struct seglog_slice s;
    cr_assert_eq(seglog_read(log, next, 8192, seglog_end_offset(log), &s), 0, "read at %lld",
                 (long long)next);
    cr_assert_gt(s.len, 0u);
    cr_assert_eq(pread(s.fd, buf, s.len, (off_t)s.pos), (ssize_t)s.len);
    size_t off = 0;
    while (off + BATCH_HEADER_SIZE <= s.len) {
      struct batch_header h;
      cr_assert_eq(batch_header_decode(buf + off, s.len - off, &h), 0);
      if (batch_total_size(&h) > s.len - off) break; /* cut short by max_bytes */
      struct batch_iter it;
      struct batch_record r;
      cr_assert_eq(batch_iter_init(&it, buf + off, batch_total_size(&h), NULL), 0);
      while (batch_iter_next(&it, &r) == 1) {
        if (r.offset < next) continue;
        cr_assert_eq(r.offset, next);
        char want[32];
        int wl = snprintf(want, sizeof want, "record %lld ", (long long)r.offset);
        cr_assert_eq(memcmp(r.value, want, (size_t)wl), 0, "value at %lld", (long long)r.offset);
        next++;
        count++;
      }
      off += batch_total_size(&h);
    }
  }
  free(buf);
  return count;
}

Test(seglog, appends_and_reads_across_segment_rolls) {
  struct seglog_config c = small_config();
  int err = 0;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  cr_assert(log, "%s", strata_strerror(err));
  append_n(log, 400, 10, 1000);
  cr_assert_eq(seglog_end_offset(log), 4000);
  cr_assert_gt(seglog_segment_count(log), 3u);
  cr_assert_eq(read_all(log, 0), 4000);
  cr_assert_eq(read_all(log, 1234), 4000 - 1234, "reads start inside a batch");
  struct seglog_slice s;
  cr_assert_eq(seglog_read(log, 4001, 100, 4000, &s), STRATA_EOFFSET_OUT_OF_RANGE);
  cr_assert_eq(seglog_read(log, 4000, 100, 4000, &s), 0);
  cr_assert_eq(s.len, 0u);
  cr_assert_eq(seglog_read(log, 0, 1, 4000, &s), 0);
  cr_assert_gt(s.len, 1u, "the first batch comes whole even past max_bytes");
  cr_assert_eq(seglog_read(log, 10, 1 << 20, 20, &s), 0);
  struct batch_header h;
  uint8_t hb[BATCH_HEADER_SIZE];
  cr_assert_eq(pread(s.fd, hb, sizeof hb, (off_t)s.pos), (ssize_t)sizeof hb);
  cr_assert_eq(batch_header_decode(hb, sizeof hb, &h), 0);
  cr_assert_eq(s.len, batch_total_size(&h), "max_offset stops after the batch below it");
  seglog_close(log);
}

Test(seglog, reopen_keeps_data_and_rebuilds_damaged_indexes) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 300, 10, 1000);
  unsigned segs = seglog_segment_count(log);
  cr_assert_eq(seglog_sync(log), 0);
  seglog_close(log);
  /* Damage: delete one index, fill another with garbage. */
  char path[512];
  snprintf(path, sizeof path, "%s/%020d.index", dir, 0);
  cr_assert_eq(unlink(path), 0);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert(log);
  cr_assert_eq(seglog_segment_count(log), segs);
  cr_assert_eq(seglog_end_offset(log), 3000);
  cr_assert_eq(seglog_recovered_truncated_bytes(log), 0u);
  cr_assert_eq(read_all(log, 0), 3000);
  seglog_close(log);
  int fd = open(path, O_WRONLY | O_TRUNC);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "garbage!garbage!", 16), 16);
  close(fd);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert(log);
  cr_assert_eq(read_all(log, 5), 2995);
  seglog_close(log);
}

Test(seglog, offset_for_time_is_exact_to_the_record) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  ts_step = 2;
  for (int i = 0; i < 200; i++) { /* record at offset o has ts 50000 + 2o */
    int64_t first = seglog_end_offset(log), base;
    size_t len;
    uint8_t *b = make_batch(first, 10, 50000 + 2 * first, &len);
    cr_assert_eq(seglog_append(log, b, len, 0, 0, &base), 0);
    free(b);
  }
  int64_t off, ts;
  cr_assert_eq(seglog_offset_for_time(log, 0, &off, &ts), 0);
  cr_assert_eq(off, 0);
  for (int64_t o = 0; o < 2000; o += 37) {
    int64_t t = 50000 + 2 * o;
    cr_assert_eq(seglog_offset_for_time(log, t, &off, &ts), 0);
    cr_assert_eq(off, o, "ts %lld", (long long)t);
    cr_assert_eq(ts, t);
    cr_assert_eq(seglog_offset_for_time(log, t - 1, &off, &ts), 0);
    cr_assert_eq(off, o, "ts %lld between records", (long long)(t - 1));
  }
  cr_assert_eq(seglog_offset_for_time(log, 50000 + 2 * 2000, &off, &ts), 0);
  cr_assert_eq(off, -1, "past the last record");
  seglog_close(log);
}

/* One-record batches (acks=all at a light rate): the time index gets an
 * entry per index interval, not per batch, and each closed segment's last
 * entry is still its largest timestamp, so after a reopen (closed segments'
 * indexes loaded, not rebuilt) retention's and the lookups' timestamps are
 * exact. */
Test(seglog, time_index_is_sparse_and_closes_with_the_max) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  ts_step = 1;
  for (int i = 0; i < 1500; i++) { /* record at offset o has ts 70000 + 3o */
    int64_t first = seglog_end_offset(log), base;
    size_t len;
    uint8_t *b = make_batch(first, 1, 70000 + 3 * first, &len);
    cr_assert_eq(seglog_append(log, b, len, 0, 0, &base), 0);
    free(b);
    cr_assert_eq(seglog_sync(log), 0); /* a roll waits for the last one's sync */
  }
  cr_assert_gt(seglog_segment_count(log), 2);
  cr_assert_eq(seglog_max_timestamp(log), 70000 + 3 * 1499);
  seglog_close(log);
  /* every file of the first segment: ~600 one-record batches of ~110 B */
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%020d.timeindex", dir, 0);
  cr_assert_eq(stat(path, &st), 0, "%s", path);
  snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
  struct stat lst;
  cr_assert_eq(stat(path, &lst), 0);
  size_t batches = (size_t)lst.st_size / 100, entries = (size_t)st.st_size / 12;
  cr_assert_lt(entries, batches / 4, "%zu time-index entries for about %zu batches", entries,
               batches);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert(log);
  cr_assert_eq(seglog_max_timestamp(log), 70000 + 3 * 1499);
  int64_t off, ts;
  /* every record, so each closed segment's last ones too: a max_ts read back
   * too low would skip the segment and answer the next one's first offset */
  for (int64_t o = 0; o < 1500; o++) {
    cr_assert_eq(seglog_offset_for_time(log, 70000 + 3 * o, &off, &ts), 0);
    cr_assert_eq(off, o, "ts %lld", (long long)(70000 + 3 * o));
    cr_assert_eq(seglog_offset_for_time(log, 70000 + 3 * o - 2, &off, &ts), 0);
    cr_assert_eq(off, o);
  }
  cr_assert_eq(seglog_offset_for_time(log, 70000 + 3 * 1500, &off, &ts), 0);
  cr_assert_eq(off, -1);
  seglog_close(log);
}

/* Appends of several batches at once (a produce request's run): every
 * batch past the index interval still gets its index and time-index entry,
 * written to the files in one write per append; a closed segment's files,
 * loaded as they are at open, point at the batches they name. */
#define PER 20
Test(seglog, a_multi_batch_append_indexes_each_batch_in_the_files) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  ts_step = 1;
  while (seglog_segment_count(log) < 3) {
    int64_t first = seglog_end_offset(log), base;
    uint8_t buf[4 * 4096];
    size_t at = 0;
    for (int k = 0; k < 4; k++) { /* four batches of PER ~80 B records */
      size_t len;
      uint8_t *b = make_batch(first + PER * k, PER, 5000 + first + PER * k, &len);
      cr_assert_leq(at + len, sizeof buf);
      cr_assert_geq(len, c.index_interval_bytes);
      memcpy(buf + at, b, len);
      at += len;
      free(b);
    }
    cr_assert_eq(seglog_append(log, buf, at, 0, 0, &base), 0);
    cr_assert_eq(base, first);
    if (seglog_roll_unsynced(log)) cr_assert_eq(seglog_sync(log), 0);
  }
  seglog_close(log);
  char path[4096];
  snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
  int lfd = open(path, O_RDONLY);
  cr_assert_geq(lfd, 0);
  struct stat lst;
  cr_assert_eq(fstat(lfd, &lst), 0);
  size_t batches = 0;
  for (uint64_t pos = 0; pos < (uint64_t)lst.st_size;) {
    uint8_t h[BATCH_HEADER_SIZE];
    cr_assert_eq(pread(lfd, h, sizeof h, (off_t)pos), (ssize_t)sizeof h);
    struct batch_header bh;
    cr_assert_eq(batch_header_decode(h, sizeof h, &bh), 0);
    pos += batch_total_size(&bh);
    batches++;
  }
  /* one index entry per batch (each is past the 1 KiB interval), each at
   * the position of the batch with its offset */
  snprintf(path, sizeof path, "%s/%020d.index", dir, 0);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq((size_t)st.st_size, batches * SEGLOG_INDEX_ENTRY_SIZE, "%zu batches, %lld B",
               batches, (long long)st.st_size);
  int ifd = open(path, O_RDONLY);
  cr_assert_geq(ifd, 0);
  for (size_t i = 0; i < batches; i++) {
    uint8_t e[SEGLOG_INDEX_ENTRY_SIZE], h[BATCH_HEADER_SIZE];
    cr_assert_eq(pread(ifd, e, sizeof e, (off_t)(i * sizeof e)), (ssize_t)sizeof e);
    uint32_t rel = be32_load(e), pos = be32_load(e + 4);
    cr_assert_eq(pread(lfd, h, sizeof h, (off_t)pos), (ssize_t)sizeof h);
    struct batch_header bh;
    cr_assert_eq(batch_header_decode(h, sizeof h, &bh), 0);
    cr_assert_eq(bh.base_offset, (int64_t)rel, "entry %zu", i);
    cr_assert_eq(rel, PER * i);
  }
  close(ifd);
  /* the time index: increasing timestamps, each naming a batch's offset */
  snprintf(path, sizeof path, "%s/%020d.timeindex", dir, 0);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_gt(st.st_size, 0);
  cr_assert_eq(st.st_size % SEGLOG_TIMEINDEX_ENTRY_SIZE, 0);
  int tfd = open(path, O_RDONLY);
  int64_t last_ts = -1;
  for (off_t at = 0; at < st.st_size; at += SEGLOG_TIMEINDEX_ENTRY_SIZE) {
    uint8_t e[SEGLOG_TIMEINDEX_ENTRY_SIZE];
    cr_assert_eq(pread(tfd, e, sizeof e, at), (ssize_t)sizeof e);
    int64_t ts = (int64_t)be64_load(e);
    uint32_t rel = be32_load(e + 8);
    cr_assert_gt(ts, last_ts);
    cr_assert_eq(ts, 5000 + rel + PER - 1, "the batch ending at offset %u", rel + PER - 1);
    last_ts = ts;
  }
  close(tfd);
  close(lfd);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert(log);
  cr_assert_eq(read_all(log, 0), seglog_end_offset(log));
  seglog_close(log);
}
#undef PER

Test(seglog, retention_deletes_whole_old_segments_only) {
  struct seglog_config c = small_config();
  c.retention_bytes = 200 << 10;
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 600, 10, 1000);
  uint64_t before = seglog_size_bytes(log);
  unsigned segs = seglog_segment_count(log);
  int deleted = seglog_apply_retention(log, 0);
  cr_assert_gt(deleted, 0);
  cr_assert_eq(seglog_segment_count(log), segs - (unsigned)deleted);
  cr_assert_lt(seglog_size_bytes(log), before);
  cr_assert_geq(seglog_size_bytes(log), (uint64_t)c.retention_bytes);
  int64_t start = seglog_start_offset(log);
  cr_assert_gt(start, 0);
  struct seglog_slice s;
  cr_assert_eq(seglog_read(log, start - 1, 100, seglog_end_offset(log), &s),
               STRATA_EOFFSET_OUT_OF_RANGE, "deleted offsets are out of range, not skipped");
  cr_assert_eq(read_all(log, start), 6000 - start);
  seglog_close(log);
  /* By time: records are at ts ~1000..13000; now far later deletes all but
   * the active segment. */
  c.retention_bytes = -1;
  c.retention_ms = 1000;
  log = seglog_open(dir, &c, 0, &err);
  cr_assert_eq(seglog_start_offset(log), start, "retention survives a restart");
  deleted = seglog_apply_retention(log, 10000000);
  cr_assert_gt(deleted, 0);
  cr_assert_eq(seglog_segment_count(log), 1u, "the active segment is never deleted");
  cr_assert_eq(seglog_end_offset(log), 6000);
  seglog_close(log);
}

Test(seglog, delete_before_drops_only_whole_segments_below_the_offset) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 600, 10, 1000);
  unsigned segs = seglog_segment_count(log);
  cr_assert_gt(segs, 4u);
  cr_assert_eq(seglog_delete_before(log, 0), 0, "nothing below offset 0");
  cr_assert_eq(seglog_delete_before(log, 3000), (int)(segs - seglog_segment_count(log)));
  int64_t start = seglog_start_offset(log);
  cr_assert_leq(start, 3000, "the segment holding 3000 stays");
  cr_assert_gt(start, 0);
  cr_assert_eq(read_all(log, start), 6000 - start, "the rest reads whole");
  cr_assert_geq(seglog_delete_before(log, 1000000), 0);
  cr_assert_eq(seglog_segment_count(log), 1u, "never the active segment");
  cr_assert_eq(seglog_end_offset(log), 6000);
  seglog_close(log);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert_eq(seglog_end_offset(log), 6000, "a restart keeps it");
  seglog_close(log);
}

/* What a truncation to `end` must leave: appends continue from there (100
 * more records) and a reopen finds the same log, read from `reread_from`. */
static void check_appends_continue(struct seglog *log, const struct seglog_config *c,
                                   int64_t end, int64_t reread_from) {
  append_n(log, 10, 10, 1000);
  cr_assert_eq(seglog_end_offset(log), end + 100);
  cr_assert_eq(read_all(log, 0), end + 100);
  seglog_close(log);
  int err;
  log = seglog_open(dir, c, 0, &err);
  cr_assert(log);
  cr_assert_eq(seglog_end_offset(log), end + 100);
  cr_assert_eq(read_all(log, reread_from), end + 100 - reread_from);
  seglog_close(log);
}

Test(seglog, truncate_drops_later_segments_and_appends_continue) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 300, 10, 1000);
  unsigned segs = seglog_segment_count(log);
  cr_assert_eq(seglog_truncate(log, 1005), 0);
  cr_assert_eq(seglog_end_offset(log), 1000, "cut at the batch holding the offset");
  cr_assert_lt(seglog_segment_count(log), segs);
  cr_assert_eq(read_all(log, 0), 1000);
  check_appends_continue(log, &c, 1000, 900);
}

Test(seglog, replica_append_refuses_gaps_and_changes_nothing) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 3, 10, 1000);
  size_t len;
  uint8_t *b = make_batch(40, 5, 1, &len);
  batch_set_base_offset(b, 40);
  cr_assert_eq(seglog_append_replica(log, b, len, 0), STRATA_EINVALID_RECORD);
  cr_assert_eq(seglog_end_offset(log), 30);
  batch_set_base_offset(b, 30);
  cr_assert_eq(seglog_append_replica(log, b, len, 0), 0);
  cr_assert_eq(seglog_end_offset(log), 35);
  free(b);
  seglog_close(log);
}

Test(seglog, durable_offset_moves_only_after_sync) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  /* A new log's directory is fsynced by its first sync, not at open (issue
   * 15): settle it here, so append_n's roll syncs do not count. */
  cr_assert_eq(seglog_sync(log), 0);
  append_n(log, 3, 10, 1000);
  cr_assert_eq(seglog_durable_offset(log), 0);
  struct seglog_sync job;
  cr_assert_eq(seglog_sync_begin(log, &job), 0);
  cr_assert_eq(job.n, 1u, "only the active segment");
  cr_assert_eq(job.end_offset, 30);
  append_n(log, 1, 10, 1000); /* lands while the sync runs */
  cr_assert_eq(seglog_sync_run(&job), 0);
  seglog_sync_end(log, &job, STRATA_EIO);
  cr_assert_eq(seglog_durable_offset(log), 0, "a failed sync changes nothing");
  seglog_sync_end(log, &job, 0);
  cr_assert_eq(seglog_durable_offset(log), 30, "only what the sync covered");
  cr_assert_eq(seglog_sync(log), 0);
  cr_assert_eq(seglog_durable_offset(log), 40);
  seglog_close(log);
}

Test(seglog, durable_offset_passes_a_rolled_segment_only_after_the_sync_covering_it) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  cr_assert(log);
  append_one(log);
  struct seglog_sync early; /* begun before the roll: covers only 10 records */
  cr_assert_eq(seglog_sync_begin(log, &early), 0);
  while (seglog_segment_count(log) == 1) append_one(log);
  int64_t rolled_end = seglog_end_offset(log) - 10; /* the new segment's only batch */
  cr_assert_eq(seglog_durable_offset(log), 0, "a roll syncs nothing itself");
  cr_assert(seglog_roll_unsynced(log));
  cr_assert_eq(seglog_sync_run(&early), 0);
  seglog_sync_end(log, &early, 0);
  cr_assert_eq(seglog_durable_offset(log), 10, "the early sync covered its 10 records only");
  cr_assert(seglog_roll_unsynced(log), "the rolled segment still waits for its sync");

  /* A second roll waits for the first one's sync: the active segment grows. */
  while (seglog_size_bytes(log) < 3 * SEGLOG_SEGMENT_BYTES_MIN) append_one(log);
  cr_assert_eq(seglog_segment_count(log), 2u);

  struct seglog_sync job;
  cr_assert_eq(seglog_sync_begin(log, &job), 0);
  cr_assert_eq(job.n, 5u, "rolled data, two indexes, the directory, the active segment");
  cr_assert_eq(job.full[3], 1, "the directory gets a full fsync");
  int64_t end = seglog_end_offset(log);
  cr_assert_eq(job.end_offset, end);
  cr_assert_eq(seglog_durable_offset(log), 10, "nothing moves before the sync ends");
  cr_assert_eq(seglog_sync_run(&job), 0);
  seglog_sync_end(log, &job, STRATA_EIO);
  cr_assert_eq(seglog_durable_offset(log), 10, "a failed sync moves nothing");
  cr_assert(seglog_roll_unsynced(log));
  cr_assert_eq(seglog_sync_begin(log, &job), 0);
  cr_assert_eq(job.n, 5u, "a failed sync is retried whole");
  cr_assert_eq(seglog_sync_run(&job), 0);
  seglog_sync_end(log, &job, 0);
  cr_assert_eq(seglog_durable_offset(log), end);
  cr_assert_gt(end, rolled_end);
  cr_assert(!seglog_roll_unsynced(log));
  append_one(log); /* now the waiting roll happens */
  cr_assert_eq(seglog_segment_count(log), 3u);
  cr_assert(seglog_roll_unsynced(log));

  /* A sync begun before a truncation moves nothing when it ends. */
  cr_assert_eq(seglog_sync_begin(log, &job), 0);
  cr_assert_eq(seglog_truncate(log, end - 10), 0);
  for (int i = 0; i < 3; i++) append_one(log); /* rewrites offsets the job covered */
  cr_assert_eq(seglog_sync_run(&job), 0);
  seglog_sync_end(log, &job, 0);
  cr_assert_eq(seglog_durable_offset(log), end - 10, "the truncation's own fsync, no more");
  seglog_close(log);
}

Test(seglog, recovery_cuts_a_rolled_segment_torn_by_a_crash_and_drops_later_ones) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  cr_assert(log);
  append_n(log, 5, 10, 1000);
  cr_assert_eq(seglog_sync(log), 0);
  while (seglog_segment_count(log) == 1) append_one(log);
  int64_t second = seglog_end_offset(log) - 10; /* base of the new segment */
  append_one(log);
  append_one(log);
  cr_assert_eq(seglog_durable_offset(log), 50, "the rolled segment was never synced");
  seglog_close(log); /* a crash: the rolled segment's last batch is torn */
  char path[512];
  snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(truncate(path, st.st_size - 7), 0);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert(log, "%s", strata_strerror(err));
  cr_assert_eq(seglog_segment_count(log), 1u, "the later segment went");
  cr_assert_eq(seglog_end_offset(log), second - 10, "cut at the torn batch");
  cr_assert_geq(seglog_end_offset(log), 50, "nothing durable lost");
  cr_assert_eq(read_all(log, 0), second - 10);
  append_n(log, 3, 10, 1000);
  cr_assert_eq(read_all(log, 0), second + 20);
  seglog_close(log);
  snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)second);
  cr_assert_eq(stat(path, &st), 0, "a new segment at the old name after appends roll again");
}

static off_t active_size(const char *d, int64_t base, char *path, size_t n) {
  snprintf(path, n, "%s/%020lld.log", d, (long long)base);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  return st.st_size;
}

Test(seglog, recovers_from_a_tail_torn_at_every_byte_of_the_last_batch) {
  struct seglog_config c = small_config();
  c.segment_bytes = 1 << 20;
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 5, 10, 1000);
  int64_t last_base = seglog_end_offset(log);
  append_n(log, 1, 10, 1000);
  cr_assert_eq(seglog_sync(log), 0);
  seglog_close(log);
  char path[512];
  off_t full = active_size(dir, 0, path, sizeof path);
  uint8_t *saved = malloc((size_t)full);
  int fd = open(path, O_RDONLY);
  cr_assert_eq(read(fd, saved, (size_t)full), full);
  close(fd);
  struct batch_header h;
  size_t pos = 0;
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(batch_header_decode(saved + pos, (size_t)full - pos, &h), 0);
    pos += batch_total_size(&h);
  }
  off_t last_start = (off_t)pos;
  for (off_t cut = last_start; cut < full; cut++) {
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, saved, (size_t)cut), cut);
    close(fd);
    log = seglog_open(dir, &c, 0, &err);
    cr_assert(log, "open after cut at %lld", (long long)cut);
    cr_assert_eq(seglog_end_offset(log), last_base, "cut at %lld", (long long)cut);
    cr_assert_eq(seglog_recovered_truncated_bytes(log), (uint64_t)(cut - last_start));
    cr_assert_eq(read_all(log, 0), last_base);
    seglog_close(log);
    cr_assert_eq(active_size(dir, 0, path, sizeof path), last_start, "torn bytes removed");
  }
  log = seglog_open(dir, &c, 0, &err);
  append_n(log, 1, 10, 1000);
  cr_assert_eq(seglog_end_offset(log), last_base + 10, "appends continue after recovery");
  cr_assert_eq(read_all(log, 0), last_base + 10);
  seglog_close(log);
  free(saved);
}

Test(seglog, recovers_from_a_flipped_byte_in_the_last_batch) {
  struct seglog_config c = small_config();
  c.segment_bytes = 1 << 20;
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 5, 10, 1000);
  int64_t last_base = seglog_end_offset(log);
  append_n(log, 1, 10, 1000);
  seglog_close(log);
  char path[512];
  off_t full = active_size(dir, 0, path, sizeof path);
  uint8_t *saved = malloc((size_t)full);
  int fd = open(path, O_RDONLY);
  cr_assert_eq(read(fd, saved, (size_t)full), full);
  close(fd);
  size_t last_len = (size_t)(full)-0;
  struct batch_header h;
  size_t pos = 0;
  for (int i = 0; i < 5; i++) {
    batch_header_decode(saved + pos, (size_t)full - pos, &h);
    pos += batch_total_size(&h);
  }
  last_len = (size_t)full - pos;
  for (size_t at = 0; at < last_len; at += 7) {
    /* Bytes 12..15 hold partitionLeaderEpoch, which Kafka's CRC leaves out
     * so a leader can stamp it: a flip there is not corruption we can see. */
    if (at >= 12 && at < 16) continue;
    uint8_t *copy = malloc((size_t)full);
    memcpy(copy, saved, (size_t)full);
    copy[pos + at] ^= 0x20;
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, copy, (size_t)full), full);
    close(fd);
    free(copy);
    log = seglog_open(dir, &c, 0, &err);
    cr_assert(log);
    cr_assert_eq(seglog_end_offset(log), last_base, "flip at byte %zu of the last batch", at);
    cr_assert_eq(read_all(log, 0), last_base);
    seglog_close(log);
  }
  free(saved);
}

/* A full disk without a filesystem: RLIMIT_FSIZE makes every write past
 * `bytes` in any file fail (EFBIG, SIGXFSZ ignored), as ENOSPC would. */
static void disk_limit(rlim_t bytes) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
  rl.rlim_cur = bytes < rl.rlim_max ? bytes : rl.rlim_max; /* the soft limit only: it can go back */
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

Test(seglog, a_write_that_does_not_fit_on_disk_changes_nothing_and_appends_continue) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 30, 10, 1000);
  disk_limit(SEGLOG_SEGMENT_BYTES_MIN / 2); /* the active segment cannot grow past it */
  int64_t end = seglog_end_offset(log), base = -1;
  int failed = 0;
  for (int i = 0; i < 100 && !failed; i++) {
    size_t len;
    uint8_t *b = make_batch(seglog_end_offset(log), 10, 1000, &len);
    int rc = seglog_append(log, b, len, 0, 0, &base);
    if (rc) {
      cr_assert_eq(rc, STRATA_EIO);
      failed = 1;
    } else {
      end = seglog_end_offset(log);
    }
    free(b);
  }
  cr_assert(failed, "the append past the limit fails");
  cr_assert_eq(seglog_write_errno(log), EFBIG, "the reason is kept for the produce error");
  cr_assert_eq(seglog_end_offset(log), end, "a failed append is not in the log");
  cr_assert_eq(seglog_sync(log), 0);
  cr_assert_eq(read_all(log, 0), end);
  disk_limit(RLIM_INFINITY); /* space is back */
  append_n(log, 10, 10, 1000);
  cr_assert_eq(seglog_end_offset(log), end + 100);
  cr_assert_eq(seglog_write_errno(log), 0);
  seglog_close(log);
  log = seglog_open(dir, &c, 0, &err);
  cr_assert_eq(seglog_recovered_truncated_bytes(log), 0u, "no torn tail left behind");
  cr_assert_eq(read_all(log, 0), end + 100);
  seglog_close(log);
}

Test(seglog, truncate_keeps_the_log_consistent_when_its_indexes_cannot_be_rewritten) {
  struct seglog_config c = small_config();
  int err;
  struct seglog *log = seglog_open(dir, &c, 0, &err);
  append_n(log, 30, 10, 1000); /* one segment, about 30 index entries */
  cr_assert_eq(seglog_segment_count(log), 1u);
  disk_limit(16); /* the data file can shrink; its indexes cannot be written again */
  int rc = seglog_truncate(log, 205);
  disk_limit(RLIM_INFINITY);
  cr_assert(rc == 0 || rc == STRATA_EIO);
  cr_assert_eq(seglog_end_offset(log), 200, "the log ends where its file was cut");
  cr_assert_eq(read_all(log, 0), 200);
  check_appends_continue(log, &c, 200, 0);
}

/* Flip one byte in the middle of the log's first (old) segment file. */
static void flip_old_segment(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/00000000000000000000.log", dir);
  int fd = open(path, O_RDWR);
  cr_assert_geq(fd, 0);
  struct stat st;
  cr_assert_eq(fstat(fd, &st), 0);
  uint8_t b;
  off_t at = st.st_size / 2;
  cr_assert_eq(pread(fd, &b, 1, at), 1);
  b ^= 0x5a;
  cr_assert_eq(pwrite(fd, &b, 1, at), 1);
  close(fd);
}

Test(seglog, read_verification_finds_damage_in_an_old_segment_recovery_did_not_scan) {
  struct seglog_config c = small_config();
  struct seglog *log = seglog_open(dir, &c, 0, NULL);
  append_n(log, 400, 10, 1000);
  cr_assert_geq(seglog_segment_count(log), 4u);
  cr_assert_eq(seglog_sync(log), 0);
  seglog_close(log);
  flip_old_segment();
  log = seglog_open(dir, &c, 0, NULL); /* recovery scans only the last two */
  cr_assert_eq(seglog_damaged_at(log), -1);
  uint8_t *buf = malloc(1 << 20);
  int64_t next = 0, found = -1;
  while (next < seglog_end_offset(log) && found < 0) {
    struct seglog_slice s;
    cr_assert_eq(seglog_read(log, next, 8192, seglog_end_offset(log), &s), 0);
    cr_assert_eq(pread(s.fd, buf, s.len, (off_t)s.pos), (ssize_t)s.len);
    uint32_t good;
    int rc = seglog_verify_read(log, &s, buf, &good);
    if (rc) {
      cr_assert_eq(rc, STRATA_ECORRUPT);
      found = seglog_damaged_at(log);
      cr_assert_geq(found, next);
      break;
    }
    cr_assert_eq(good, s.len);
    /* the next batch after the last whole one */
    size_t off = 0;
    while (off + BATCH_HEADER_SIZE <= good) {
      struct batch_header h;
      cr_assert_eq(batch_header_decode(buf + off, good - off, &h), 0);
      if (batch_total_size(&h) > good - off) break;
      next = h.base_offset + h.last_offset_delta + 1;
      off += batch_total_size(&h);
    }
  }
  cr_assert_geq(found, 0, "a read found the flipped byte");
  cr_assert_eq(seglog_corrupt_found(log), 1u);
  /* Cutting at the damage leaves an intact prefix that reads back whole. */
  cr_assert_eq(seglog_truncate(log, found), 0);
  cr_assert_eq(seglog_end_offset(log), found);
  cr_assert_eq(seglog_damaged_at(log), -1);
  cr_assert_eq(read_all(log, 0), found);
  free(buf);
  seglog_close(log);
}

Test(seglog, scrub_finds_damage_that_reads_trust_and_passes_end_at_the_log_end) {
  struct seglog_config c = small_config();
  struct seglog *log = seglog_open(dir, &c, 0, NULL);
  append_n(log, 200, 10, 1000);
  cr_assert_eq(seglog_sync(log), 0);
  int64_t at = 0;
  uint64_t bytes, total = 0;
  int rc;
  while ((rc = seglog_scrub(log, &at, 4096, &bytes)) == 0) total += bytes;
  cr_assert_eq(rc, 1, "a clean pass ends at the log end");
  cr_assert_eq(at, seglog_end_offset(log));
  cr_assert_geq(total + bytes, seglog_size_bytes(log));
  /* Damage under a running log: the appended bytes are marked verified, so
   * reads would not look again; the scrubber does. */
  flip_old_segment();
  at = 0;
  while ((rc = seglog_scrub(log, &at, 4096, &bytes)) == 0) {}
  cr_assert_eq(rc, STRATA_ECORRUPT);
  cr_assert_geq(seglog_damaged_at(log), 0);
  cr_assert_lt(seglog_damaged_at(log), seglog_end_offset(log));
  seglog_close(log);
}

/* Damage repair cuts a log and refetches over the same bytes while a
 * scrub read of them may be in the thread pool: that read saw the damaged
 * bytes, the log now holds good ones. */
Test(seglog, a_scrub_read_begun_before_a_cut_changes_nothing) {
  struct seglog_config c = small_config();
  struct seglog *log = seglog_open(dir, &c, 0, NULL);
  append_n(log, 200, 10, 1000);
  cr_assert_eq(seglog_sync(log), 0);
  int64_t at = 1000;
  struct seglog_scrub_job job;
  cr_assert_eq(seglog_scrub_begin(log, &at, 4096, &job), 0);
  cr_assert_gt(job.len, 0u);
  /* a flipped byte in the range the job reads */
  char path[4096];
  snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)job.seg_base);
  int fd = open(path, O_RDWR);
  cr_assert_geq(fd, 0);
  uint8_t b;
  off_t pos = (off_t)(job.pos + job.len / 2);
  cr_assert_eq(pread(fd, &b, 1, pos), 1);
  b ^= 0x5a;
  cr_assert_eq(pwrite(fd, &b, 1, pos), 1);
  close(fd);
  seglog_scrub_run(&job);
  cr_assert_not_null(job.what, "the job itself saw the damage");
  /* the repair: cut where the job starts, refetch the same records */
  int64_t end = seglog_end_offset(log);
  cr_assert_eq(seglog_truncate(log, at), 0);
  append_n(log, (int)((end - at) / 10), 10, 1000);
  uint64_t bytes;
  int64_t off = at;
  cr_assert_eq(seglog_scrub_end(log, &job, &off, &bytes), 0, "nothing settled");
  cr_assert_eq(off, at, "the walk did not move");
  cr_assert_eq(seglog_damaged_at(log), -1, "no damage noted from a stale read");
  /* The repaired log scrubs clean. */
  at = 0;
  int rc;
  while ((rc = seglog_scrub(log, &at, 1 << 20, &bytes)) == 0) {}
  cr_assert_eq(rc, 1);
  seglog_close(log);
}
