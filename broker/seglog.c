#include "seglog.h"

#include <assert.h>
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
#include "common/bytes.h"
#include "common/errors.h"
#include "common/trace.h"

#include "broker/fdcache.h"

/* Recent (offset, position) pairs of the active segment: consumers that read
 * near the tail find their batch without scanning headers. */
#define RECENT_MAX 1024
/* Most segments one log may hold (bounds the segment array). */
#define SEGLOG_SEGMENTS_MAX 65536
/* Closed segments that may still hold unsynced bytes (a roll's fsync runs in
 * the background). One: a second roll waits (the active segment grows past
 * segment.bytes meanwhile) until the sync covering the first has ended, so
 * recovery knows that only the last two segments can be torn. */
#define SEGLOG_PENDING_MAX 1
/* Segments recovery checks batch by batch with CRCs: the active one and the
 * ones a background sync may not have covered. */
#define SEGLOG_RECOVER_SCAN (SEGLOG_PENDING_MAX + 1)

struct index_entry {
  uint32_t rel; /* offset - segment base */
  uint32_t pos;
};

struct time_entry {
  int64_t ts;   /* largest timestamp in the segment up to and including ... */
  uint32_t rel; /* ... the batch that starts at this relative offset */
};

/* A segment's three files, opened on demand through the log's fdcache. */
enum { SEG_LOG, SEG_INDEX, SEG_TIMEINDEX, SEG_FILES };

/* The private cache of a log opened without a shared one (unit tests). */
#define SEGLOG_PRIVATE_FDS 64

struct segment {
  int64_t base;
  struct fdcache_ref file[SEG_FILES];
  uint64_t size;
  int64_t max_ts;     /* largest record timestamp; -1 when empty */
  uint32_t max_ts_rel; /* the batch that brought it (relative offset) */
  int64_t created_ms; /* for segment.ms rolls */
  struct index_entry *idx;
  size_t idx_n, idx_cap;
  struct time_entry *tidx;
  size_t tidx_n, tidx_cap;
  uint64_t bytes_since_index;
  /* Bytes [0, verified) were CRC-checked by this process (appended after
   * validation, scanned at recovery, read-verified or scrubbed): reads skip
   * re-checking them (seglog_verify_read). Rot after that is the
   * scrubber's to find. */
  uint64_t verified;
};

struct recent {
  int64_t base;
  int64_t next; /* offset after this batch */
  uint64_t pos;
};

struct seglog {
  char *dir;
  struct fdcache *fds;       /* cfg.fdcache, or own_fds */
  struct fdcache *own_fds;
  struct fdcache_ref dir_ref;
  int open_errno; /* why a file could not be opened last, 0 once one opens again */
  struct seglog_config cfg;
  struct segment *segs;
  size_t nsegs, segs_cap;
  int64_t end;     /* log end offset */
  int64_t durable; /* offsets below are fsynced */
  /* Background syncs of rolls: the closed segment whose data and indexes
   * are not yet known fsynced (-1: none), and segment files created / covered
   * by a directory fsync. A sync begun before a truncation or reset (gen
   * changed) moves nothing when it ends. */
  int64_t pending_base;
  uint64_t dir_created, dir_synced;
  uint64_t gen;
  /* Bytes appended since the last sync began (a hint for the glue's choice
   * of thread, seglog_sync.bytes; nothing durable depends on it). */
  uint64_t unsynced_bytes;
  uint64_t recovered_truncated;
  int write_errno; /* why appends fail (ENOSPC...), 0 while they succeed */
  /* RECENT_MAX entries (24 KiB), allocated at the first append: most of an
   * idle partition's memory otherwise (issue 15 measured 30 KiB each). */
  struct recent *recent;
  size_t recent_head, recent_n;
  uint8_t *scan_buf;
  size_t scan_cap;
  /* The lowest damaged batch a read, scrub or recovery found: its offset
   * (what the log holds intact below it) and file position, -1 when none. */
  int64_t damaged_at;
  int64_t damaged_seg;
  uint64_t damaged_pos;
  uint64_t corrupt_found; /* distinct damaged batches found (a metric) */
};

void seglog_config_defaults(struct seglog_config *c) {
  c->fdcache = NULL;
  c->segment_bytes = 1ull << 30;
  c->segment_ms = 7LL * 24 * 3600 * 1000;
  c->index_interval_bytes = 4096;
  c->retention_ms = 7LL * 24 * 3600 * 1000;
  c->retention_bytes = -1;
}

static struct segment *active(struct seglog *log) {
  return &log->segs[log->nsegs - 1];
}

static void seg_path(const struct seglog *log, int64_t base, const char *ext,
                     char *out, size_t n) {
  snprintf(out, n, "%s/%020" PRId64 "%s", log->dir, base, ext);
}

/* Full-length pread: short reads past the end are reported as such. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t pos) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, (uint8_t *)buf + got, len - got, (off_t)(pos + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t pos) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done,
                       (off_t)(pos + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return STRATA_EIO;
    done += (size_t)n;
  }
  return 0;
}

/* Room for element n, doubling. Starts at 4, not more: every partition has
 * a segment array and two index arrays, most of them with a few entries, and
 * 10,000 idle partitions pay the first allocation 30,000 times. */
static int grow_array(void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  size_t c = *cap ? *cap * 2 : 4;
  void *p = realloc(*arr, c * elem);
  if (!p) return STRATA_ENOMEM;
  *arr = p;
  *cap = c;
  return 0;
}

static void segment_free(struct seglog *log, struct segment *s) {
  for (int k = 0; k < SEG_FILES; k++) fdcache_close(log->fds, &s->file[k]);
  free(s->idx);
  free(s->tidx);
  memset(s, 0, sizeof *s);
}

static const char *const seg_ext[SEG_FILES] = {".log", ".index", ".timeindex"};

/* An open failed or succeeded: say so once per change (with the file and
 * the reason), not at every fetch that retries a partition whose file
 * cannot be opened. */
static void note_open(struct seglog *log, const char *path, int err) {
  if (err && err != log->open_errno)
    trace_error("%s: cannot open: %s; this partition's reads and appends fail until it can",
                path, strerror(err));
  else if (!err && log->open_errno)
    trace_info("%s: files open again", log->dir);
  log->open_errno = err;
}

/* The descriptor of one of segment s's files, opened again when the cache
 * closed it (descriptors follow activity: an idle partition holds none).
 * The data file is never created here (a missing one is an error, not an
 * empty segment); the indexes are (they are rebuilt from the data). -1 with
 * errno set on failure, which is that partition's error alone. Valid until
 * the cache opens FDCACHE_PINNED_MIN more (fdcache.h). */
static int seg_fd(struct seglog *log, struct segment *s, int kind) {
  int fd = fdcache_get(log->fds, &s->file[kind]);
  if (fd >= 0) return fd;
  char path[PATH_MAX];
  seg_path(log, s->base, seg_ext[kind], path, sizeof path);
  fd = fdcache_open(log->fds, &s->file[kind], path, O_RDWR | (kind == SEG_LOG ? 0 : O_CREAT),
                    0644);
  int err = fd < 0 ? errno : 0;
  note_open(log, path, err);
  errno = err;
  return fd;
}

/* The log directory's descriptor (for the fsyncs that make names durable),
 * through the cache like the segments' files. */
static int dir_fd(struct seglog *log) {
  int fd = fdcache_get(log->fds, &log->dir_ref);
  if (fd >= 0) return fd;
  fd = fdcache_open(log->fds, &log->dir_ref, log->dir, O_RDONLY | O_DIRECTORY, 0);
  int err = fd < 0 ? errno : 0;
  note_open(log, log->dir, err);
  errno = err;
  return fd;
}

/* fsync/fdatasync of a file through the cache: STRATA_EIO when it cannot be
 * opened or synced. */
static int sync_dir(struct seglog *log) {
  int fd = dir_fd(log);
  return fd < 0 || fsync(fd) ? STRATA_EIO : 0;
}
static int datasync_file(struct seglog *log, struct segment *s, int kind) {
  int fd = seg_fd(log, s, kind);
  return fd < 0 || fdatasync(fd) ? STRATA_EIO : 0;
}

/* In memory only: persist_index_tail writes an append's entries. */
static int add_index(struct segment *s, uint32_t rel, uint32_t pos) {
  if (grow_array((void **)&s->idx, &s->idx_cap, s->idx_n, sizeof *s->idx))
    return STRATA_ENOMEM;
  s->idx[s->idx_n++] = (struct index_entry){rel, pos};
  return 0;
}

static int add_time(struct seglog *log, struct segment *s, int64_t ts, uint32_t rel,
                    int persist) {
  if (s->tidx_n && s->tidx[s->tidx_n - 1].ts >= ts) return 0;
  if (grow_array((void **)&s->tidx, &s->tidx_cap, s->tidx_n, sizeof *s->tidx))
    return STRATA_ENOMEM;
  s->tidx[s->tidx_n++] = (struct time_entry){ts, rel};
  if (persist) {
    uint8_t e[SEGLOG_TIMEINDEX_ENTRY_SIZE];
    be64_store(e, (uint64_t)ts);
    be32_store(e + 8, rel);
    int fd = seg_fd(log, s, SEG_TIMEINDEX);
    if (fd < 0) return STRATA_EIO;
    return pwrite_full(fd, e, sizeof e, (s->tidx_n - 1) * SEGLOG_TIMEINDEX_ENTRY_SIZE);
  }
  return 0;
}

/* Account for one batch just placed at `pos` in segment s: sparse index
 * entries every index_interval_bytes, and at those same points (as Kafka
 * does) a time-index entry when the segment's largest timestamp has grown
 * since the last one; time_index_close adds the last one when the segment
 * is closed. Not one per batch: small batches (acks=all at a light rate,
 * linger 0) would each cost a write to a third file and 16 bytes of memory
 * for as long as the segment lives (16 MB for a 1 GiB segment of 1 KiB
 * batches). */
static int note_batch(struct seglog *log, struct segment *s,
                      const struct batch_header *h, uint64_t pos) {
  uint32_t rel = (uint32_t)(h->base_offset - s->base);
  int rc = 0;
  if (h->max_timestamp > s->max_ts) {
    s->max_ts = h->max_timestamp;
    s->max_ts_rel = rel;
  }
  if (s->idx_n == 0 || s->bytes_since_index >= log->cfg.index_interval_bytes) {
    rc = add_index(s, rel, (uint32_t)pos);
    s->bytes_since_index = 0;
    if (!rc && s->max_ts >= 0) rc = add_time(log, s, s->max_ts, s->max_ts_rel, 0);
  }
  s->bytes_since_index += batch_total_size(h);
  return rc;
}

static void encode_index(const struct segment *s, size_t i, uint8_t *out) {
  be32_store(out, s->idx[i].rel);
  be32_store(out + 4, s->idx[i].pos);
}

static void encode_time(const struct segment *s, size_t i, uint8_t *out) {
  be64_store(out, (uint64_t)s->tidx[i].ts);
  be32_store(out + 8, s->tidx[i].rel);
}

/* Entries written to an index file per pwrite. */
#define INDEX_WRITE_ENTRIES 64

/* Entries [from, to) of one index file (kind), encoded by `encode` at
 * their places, INDEX_WRITE_ENTRIES to a write. */
static int write_entries(struct seglog *log, struct segment *s, int kind, size_t from, size_t to,
                         size_t esize, void (*encode)(const struct segment *, size_t, uint8_t *)) {
  uint8_t buf[INDEX_WRITE_ENTRIES * SEGLOG_TIMEINDEX_ENTRY_SIZE];
  while (from < to) {
    size_t k = 0;
    for (; from + k < to && k < INDEX_WRITE_ENTRIES; k++) encode(s, from + k, buf + k * esize);
    int fd = seg_fd(log, s, kind);
    if (fd < 0) return STRATA_EIO;
    int rc = pwrite_full(fd, buf, k * esize, from * esize);
    if (rc) return rc;
    from += k;
  }
  return 0;
}

/* Write the index entries added from idx0 and the time-index entries from
 * tidx0 on (one append's batches) to their files with one write each, not
 * one per batch: the files are read back only for closed segments older
 * than the last SEGLOG_RECOVER_SCAN, which their roll synced (the newer
 * ones' entries are rebuilt from the log at open). */
static int persist_index_tail(struct seglog *log, struct segment *s, size_t idx0,
                              size_t tidx0) {
  int rc = write_entries(log, s, SEG_INDEX, idx0, s->idx_n, SEGLOG_INDEX_ENTRY_SIZE,
                         encode_index);
  return rc ? rc
            : write_entries(log, s, SEG_TIMEINDEX, tidx0, s->tidx_n,
                            SEGLOG_TIMEINDEX_ENTRY_SIZE, encode_time);
}

/* The time index's last entry is the segment's largest timestamp (a closed
 * segment's max_ts is read back from it, load_indexes): added when the
 * segment closes or its indexes are written whole. */
static int time_index_close(struct seglog *log, struct segment *s, int persist) {
  return s->max_ts >= 0 ? add_time(log, s, s->max_ts, s->max_ts_rel, persist) : 0;
}

static void recent_push(struct seglog *log, int64_t base, int64_t next,
                        uint64_t pos) {
  /* Only a shortcut for reads near the tail: without memory, reads walk
   * the index instead. */
  if (!log->recent && !(log->recent = malloc(RECENT_MAX * sizeof *log->recent))) return;
  log->recent[log->recent_head] = (struct recent){base, next, pos};
  log->recent_head = (log->recent_head + 1) % RECENT_MAX;
  if (log->recent_n < RECENT_MAX) log->recent_n++;
}

static int read_scan_header(int fd, uint64_t pos, uint64_t size,
                            struct batch_header *h) {
  uint8_t hb[BATCH_HEADER_SIZE];
  if (size - pos < BATCH_HEADER_SIZE) return STRATA_ECORRUPT;
  if (pread_full(fd, hb, sizeof hb, pos) != (ssize_t)sizeof hb) return STRATA_EIO;
  int rc = batch_header_decode(hb, sizeof hb, h);
  if (rc) return rc;
  if (batch_total_size(h) > size - pos) return STRATA_ECORRUPT;
  return 0;
}

/* Walk a segment's batches from the start, rebuilding its in-memory indexes.
 * With check_crc every batch is read whole and its CRC verified (the active
 * segment after a restart). Stops at the first batch that is torn, corrupt or
 * not contiguous; *valid_end is its position and *next the offset after the
 * last good batch. */
static int scan_segment(struct seglog *log, struct segment *s, int check_crc,
                        uint64_t *valid_end, int64_t *next) {
  s->idx_n = s->tidx_n = 0;
  s->max_ts = -1;
  s->bytes_since_index = 0;
  uint64_t pos = 0;
  int64_t expect = s->base;
  int fd = seg_fd(log, s, SEG_LOG); /* note_batch writes nothing */
  if (fd < 0) return STRATA_EIO;
  for (;;) {
    struct batch_header h;
    if (s->size - pos == 0) break;
    int rc = read_scan_header(fd, pos, s->size, &h);
    if (rc == STRATA_EIO) return rc;
    if (rc || h.base_offset != expect) break;
    size_t total = batch_total_size(&h);
    if (check_crc) {
      if (total > log->scan_cap) {
        uint8_t *b = realloc(log->scan_buf, total);
        if (!b) return STRATA_ENOMEM;
        log->scan_buf = b;
        log->scan_cap = total;
      }
      if (pread_full(fd, log->scan_buf, total, pos) != (ssize_t)total)
        return STRATA_EIO;
      if (batch_check_crc(log->scan_buf, total)) break;
    }
    if ((rc = note_batch(log, s, &h, pos))) return rc;
    expect = h.base_offset + h.last_offset_delta + 1;
    pos += total;
  }
  if (check_crc) s->verified = pos;
  *valid_end = pos;
  *next = expect;
  return 0;
}

/* Rewrite both index files from memory (after a rebuild or a truncation). */
static int write_indexes(struct seglog *log, struct segment *s) {
  int rc0 = time_index_close(log, s, 0);
  if (rc0) return rc0;
  int fd = seg_fd(log, s, SEG_INDEX);
  if (fd < 0 || ftruncate(fd, 0)) return STRATA_EIO;
  fd = seg_fd(log, s, SEG_TIMEINDEX);
  if (fd < 0 || ftruncate(fd, 0)) return STRATA_EIO;
  return persist_index_tail(log, s, 0, 0);
}

/* Load a closed segment's index files; 0 when they are present and
 * consistent with the segment (entries increasing, positions inside the file,
 * relative offsets below the next segment), else STRATA_ECORRUPT so the
 * caller rebuilds them. */
static int load_indexes(struct seglog *log, struct segment *s, int64_t next_base) {
  struct stat st;
  int fd = seg_fd(log, s, SEG_INDEX);
  if (fd < 0) return STRATA_EIO;
  if (fstat(fd, &st) || st.st_size % SEGLOG_INDEX_ENTRY_SIZE ||
      st.st_size == 0)
    return STRATA_ECORRUPT;
  size_t n = (size_t)st.st_size / SEGLOG_INDEX_ENTRY_SIZE;
  uint8_t *buf = malloc((size_t)st.st_size);
  if (!buf) return STRATA_ENOMEM;
  int rc = 0;
  if (pread_full(fd, buf, (size_t)st.st_size, 0) != st.st_size)
    rc = STRATA_ECORRUPT;
  for (size_t i = 0; !rc && i < n; i++) {
    uint32_t rel = be32_load(buf + i * 8), pos = be32_load(buf + i * 8 + 4);
    if ((i == 0 && (rel != 0 || pos != 0)) ||
        (i > 0 && (rel <= s->idx[i - 1].rel || pos <= s->idx[i - 1].pos)) ||
        pos >= s->size || (int64_t)rel >= next_base - s->base)
      rc = STRATA_ECORRUPT;
    else
      rc = add_index(s, rel, pos);
  }
  free(buf);
  if (rc) return rc;
  if ((fd = seg_fd(log, s, SEG_TIMEINDEX)) < 0) return STRATA_EIO;
  if (fstat(fd, &st) || st.st_size % SEGLOG_TIMEINDEX_ENTRY_SIZE ||
      st.st_size == 0)
    return STRATA_ECORRUPT;
  n = (size_t)st.st_size / SEGLOG_TIMEINDEX_ENTRY_SIZE;
  if (!(buf = malloc((size_t)st.st_size))) return STRATA_ENOMEM;
  if (pread_full(fd, buf, (size_t)st.st_size, 0) != st.st_size)
    rc = STRATA_ECORRUPT;
  for (size_t i = 0; !rc && i < n; i++) {
    int64_t ts = (int64_t)be64_load(buf + i * 12);
    uint32_t rel = be32_load(buf + i * 12 + 8);
    if ((i > 0 && (ts <= s->tidx[i - 1].ts || rel < s->tidx[i - 1].rel)) ||
        (int64_t)rel >= next_base - s->base)
      rc = STRATA_ECORRUPT;
    else
      rc = add_time(log, s, ts, rel, 0);
  }
  free(buf);
  if (!rc) s->max_ts = s->tidx[s->tidx_n - 1].ts;
  return rc;
}

/* A segment's files: the data file created when `create`, the indexes
 * whenever missing (all three names exist from here on, so the directory
 * fsync that follows a roll covers them). Its size is read once here and
 * kept in memory; the descriptors go back to the cache and are opened again
 * on use (seg_fd). */
static int open_segment(struct seglog *log, int64_t base, int create,
                        struct segment *s) {
  memset(s, 0, sizeof *s);
  s->base = base;
  s->max_ts = -1;
  char path[PATH_MAX];
  seg_path(log, base, seg_ext[SEG_LOG], path, sizeof path);
  int fd = fdcache_open(log->fds, &s->file[SEG_LOG], path, O_RDWR | (create ? O_CREAT : 0), 0644);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) {
    note_open(log, path, errno);
    segment_free(log, s);
    return STRATA_EIO;
  }
  s->size = (uint64_t)st.st_size;
  if (seg_fd(log, s, SEG_INDEX) < 0 || seg_fd(log, s, SEG_TIMEINDEX) < 0) {
    segment_free(log, s);
    return STRATA_EIO;
  }
  note_open(log, path, 0);
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Segment base offsets found in the directory, sorted. */
static int list_segments(struct seglog *log, int64_t **out, size_t *n) {
  DIR *d = opendir(log->dir);
  if (!d) return STRATA_EIO;
  int64_t *v = NULL;
  size_t cnt = 0, cap = 0;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len != 24 || strcmp(e->d_name + 20, ".log")) continue;
    char *end;
    errno = 0;
    long long b = strtoll(e->d_name, &end, 10);
    if (errno || end != e->d_name + 20 || b < 0) continue;
    if (cnt >= SEGLOG_SEGMENTS_MAX) {
      rc = STRATA_ECORRUPT;
      break;
    }
    if ((rc = grow_array((void **)&v, &cap, cnt, sizeof *v))) break;
    v[cnt++] = b;
  }
  closedir(d);
  if (rc) {
    free(v);
    return rc;
  }
  if (cnt) qsort(v, cnt, sizeof *v, cmp_i64);
  *out = v;
  *n = cnt;
  return 0;
}

static int push_segment(struct seglog *log, const struct segment *s) {
  if (log->nsegs >= SEGLOG_SEGMENTS_MAX) return STRATA_EIO;
  if (grow_array((void **)&log->segs, &log->segs_cap, log->nsegs,
                 sizeof *log->segs))
    return STRATA_ENOMEM;
  log->segs[log->nsegs++] = *s;
  return 0;
}

static int unlink_segment_files(struct seglog *log, int64_t base);

/* A closed segment among the last SEGLOG_RECOVER_SCAN whose batches stop
 * short of the next segment's base: a crash hit the background sync of its
 * roll (its tail was never fsynced, while the next file's directory entry or
 * data reached the disk). Nothing from the tear on was acknowledged (the
 * durable offset never passed an unsynced byte), so the later segments go,
 * newest first, and this one becomes the active segment, cut by the caller. */
static int drop_segments_after_tear(struct seglog *log, const int64_t *bases,
                                    size_t i, size_t n, int64_t next) {
  trace_warn("%s: segment %" PRId64 " ends at offset %" PRId64 " before the next "
             "segment's base %" PRId64 " (a roll's sync was cut by a crash): deleting "
             "%zu later segment(s), none of it was acknowledged",
             log->dir, bases[i], next, bases[i + 1], n - i - 1);
  for (size_t j = n; j-- > i + 1;)
    if (unlink_segment_files(log, bases[j])) return STRATA_EIO;
  return sync_dir(log);
}

/* Open every segment. Closed segments before the last SEGLOG_RECOVER_SCAN
 * were fully fsynced (data and indexes) before their successor's roll could
 * start, so their indexes are trusted once checked. The last ones may hold
 * bytes a background sync never covered: each is scanned with CRCs, cut at a
 * torn tail, its indexes rebuilt, and fsynced before the log opens (a kill -9
 * leaves unsynced bytes in the page cache that recovery must not trust to
 * stay). */
static int recover(struct seglog *log, int64_t now_ms) {
  int64_t *bases = NULL;
  size_t n = 0;
  int rc = list_segments(log, &bases, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n && !rc; i++) {
    struct segment s;
    if ((rc = open_segment(log, bases[i], 0, &s))) break;
    s.created_ms = now_ms;
    if ((rc = push_segment(log, &s))) {
      segment_free(log, &s);
      break;
    }
    struct segment *seg = &log->segs[log->nsegs - 1];
    int is_active = i + 1 == n;
    if (i + SEGLOG_RECOVER_SCAN < n) {
      if (load_indexes(log, seg, bases[i + 1])) {
        seg->idx_n = seg->tidx_n = 0;
        uint64_t vend;
        int64_t next;
        trace_warn("%s: rebuilding indexes of segment %" PRId64, log->dir,
                   seg->base);
        if ((rc = scan_segment(log, seg, 0, &vend, &next))) break;
        if (next != bases[i + 1] || vend != seg->size) {
          trace_error("%s: segment %" PRId64 " ends at offset %" PRId64
                      " (byte %" PRIu64 " of %" PRIu64 ") but the next "
                      "segment starts at %" PRId64,
                      log->dir, seg->base, next, vend, seg->size, bases[i + 1]);
          rc = STRATA_ECORRUPT;
          break;
        }
        rc = write_indexes(log, seg);
      }
      continue;
    }
    uint64_t vend;
    int64_t next;
    if ((rc = scan_segment(log, seg, 1, &vend, &next))) break;
    if (!is_active && next > bases[i + 1]) {
      trace_error("%s: segment %" PRId64 " runs to offset %" PRId64 ", past the next "
                  "segment's base %" PRId64, log->dir, seg->base, next, bases[i + 1]);
      rc = STRATA_ECORRUPT;
      break;
    }
    if (!is_active && next < bases[i + 1]) {
      if ((rc = drop_segments_after_tear(log, bases, i, n, next))) break;
      n = i + 1;
      is_active = 1;
    }
    if (vend < seg->size) {
      log->recovered_truncated += seg->size - vend;
      trace_warn("%s: truncating %" PRIu64 " bytes of torn or corrupt tail "
                 "from segment %" PRId64 " at byte %" PRIu64 " (offset %" PRId64 ")",
                 log->dir, seg->size - vend, seg->base, vend, next);
      int fd = seg_fd(log, seg, SEG_LOG);
      if (fd < 0 || ftruncate(fd, (off_t)vend)) {
        rc = STRATA_EIO;
        break;
      }
      seg->size = vend;
    }
    if ((rc = write_indexes(log, seg))) break;
    if ((rc = datasync_file(log, seg, SEG_LOG))) break;
    if (!is_active && ((rc = datasync_file(log, seg, SEG_INDEX)) ||
                       (rc = datasync_file(log, seg, SEG_TIMEINDEX))))
      break;
    if (is_active) log->end = next;
  }
  free(bases);
  if (rc) return rc;
  int fresh = log->nsegs == 0;
  if (fresh) {
    struct segment s;
    if ((rc = open_segment(log, 0, 1, &s))) return rc;
    s.created_ms = now_ms;
    if ((rc = push_segment(log, &s))) {
      segment_free(log, &s);
      return rc;
    }
    log->end = 0;
  }
  /* The names too: after a kill -9 a roll's new file may be in the page
   * cache only, and durable = end below counts its records. A log with no
   * record (new, or never written) has nothing depending on its names yet:
   * the first sync (seglog_sync_begin) covers the directory before durable
   * passes 0. Creating or reopening 10,000 idle partitions would otherwise
   * be 10,000 fsyncs on the event loop, long enough to miss the
   * controller's session (issue 15). */
  if (fresh || log->end == 0) log->dir_created++;
  else if ((rc = sync_dir(log))) return rc;
  log->durable = log->end;
  log->pending_base = -1;
  return 0;
}

static int mkdir_p(const char *dir) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) return -1;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

struct seglog *seglog_open(const char *dir, const struct seglog_config *cfg,
                           int64_t now_ms, int *err) {
  struct seglog *log = calloc(1, sizeof *log);
  int rc = STRATA_ENOMEM;
  if (!log) goto fail;
  log->fds = cfg->fdcache;
  if (!log->fds) {
    if (!(log->own_fds = malloc(sizeof *log->own_fds)) ||
        (rc = fdcache_init(log->own_fds, SEGLOG_PRIVATE_FDS))) {
      free(log->own_fds);
      log->own_fds = NULL;
      goto fail;
    }
    log->fds = log->own_fds;
  }
  rc = STRATA_ENOMEM;
  if (!(log->dir = strdup(dir))) goto fail;
  log->cfg = *cfg;
  log->pending_base = -1;
  log->damaged_at = log->damaged_seg = -1;
  if (log->cfg.index_interval_bytes == 0) log->cfg.index_interval_bytes = 4096;
  rc = STRATA_EIO;
  if (mkdir_p(dir)) {
    trace_error("%s: cannot create directory: %s", dir, strerror(errno));
    goto fail;
  }
  if (dir_fd(log) < 0) goto fail;
  if ((rc = recover(log, now_ms))) goto fail;
  seglog_release_fds(log); /* idle until used: recovery's descriptors go back */
  free(log->scan_buf);
  log->scan_buf = NULL;
  log->scan_cap = 0;
  return log;
fail:
  if (err) *err = rc;
  seglog_close(log);
  return NULL;
}

void seglog_release_fds(struct seglog *log) {
  if (!log) return;
  for (size_t i = 0; i < log->nsegs; i++)
    for (int k = 0; k < SEG_FILES; k++) fdcache_close(log->fds, &log->segs[i].file[k]);
  fdcache_close(log->fds, &log->dir_ref);
}

void seglog_close(struct seglog *log) {
  if (!log) return;
  if (!log) return;
  if (log->fds) {
    for (size_t i = 0; i < log->nsegs; i++) segment_free(log, &log->segs[i]);
    fdcache_close(log->fds, &log->dir_ref);
  }
  if (log->own_fds) {
    fdcache_free(log->own_fds);
    free(log->own_fds);
  }
  free(log->segs);
  free(log->recent);
  free(log->scan_buf);
  free(log->dir);
  free(log);
}

int64_t seglog_start_offset(const struct seglog *log) { return log ? log->segs[0].base : 0; }
int64_t seglog_end_offset(const struct seglog *log) { return log ? log->end : 0; }
int64_t seglog_durable_offset(const struct seglog *log) { return log ? log->durable : 0; }
unsigned seglog_segment_count(const struct seglog *log) { return log ? (unsigned)log->nsegs : 0; }
uint64_t seglog_recovered_truncated_bytes(const struct seglog *log) {
  if (!log) return 0;
  return log->recovered_truncated;
}
int seglog_write_errno(const struct seglog *log) { return log ? log->write_errno : EIO; }
uint64_t seglog_size_bytes(const struct seglog *log) {
  if (!log) return 0;
  uint64_t t = 0;
  for (size_t i = 0; i < log->nsegs; i++) t += log->segs[i].size;
  return t;
}

/* A new, empty active segment starting at `base`. Its directory entry is not
 * fsynced here: the next sync (seglog_sync_begin) covers the directory before
 * the durable offset may pass anything in the new file. */
static int new_active_segment(struct seglog *log, int64_t base, int64_t now_ms) {
  struct segment s;
  int rc = open_segment(log, base, 1, &s);
  if (rc) return rc;
  s.created_ms = now_ms;
  if ((rc = push_segment(log, &s))) {
    segment_free(log, &s);
    return rc;
  }
  log->dir_created++;
  return 0;
}

/* The closed segment a roll left unsynced, or NULL. It is always the one
 * before the active segment: a second roll waits for it, and truncation,
 * retention and reset forget it when they remove it. */
static struct segment *pending_segment(struct seglog *log) {
  if (log->pending_base < 0) return NULL;
  assert(log->nsegs >= 2);
  struct segment *s = &log->segs[log->nsegs - 2];
  assert(s->base == log->pending_base);
  return s;
}

/* fsync on the calling thread what a background sync would: the rolled
 * segment (data, indexes) and the directory. Only for a roll that cannot
 * wait (the active segment would pass SEGLOG_SEGMENT_BYTES_MAX). */
static int sync_pending_here(struct seglog *log) {
  struct segment *s = pending_segment(log);
  int rc;
  if (s && ((rc = datasync_file(log, s, SEG_LOG)) || (rc = datasync_file(log, s, SEG_INDEX)) ||
            (rc = datasync_file(log, s, SEG_TIMEINDEX))))
    return rc;
  if ((rc = sync_dir(log))) return rc;
  log->pending_base = -1;
  log->dir_synced = log->dir_created;
  return 0;
}

/* Finish the active segment and start a new one at the log end, with no
 * fsync on the caller's thread (the broker's event loop: Kafka too flushes a
 * rolled segment in the background). The finished segment becomes pending:
 * the next seglog_sync_begin hands out its data and index files and the
 * directory, and the durable offset passes its tail only when that sync has
 * ended. */
static int roll(struct seglog *log, int64_t now_ms) {
  assert(log->pending_base < 0);
  int64_t old_base = active(log)->base;
  int rc0 = time_index_close(log, active(log), 1);
  if (rc0) /* as a failed index write in write_batches: the data is what counts */
    trace_error("%s: time index write failed: %s", log->dir, strata_strerror(rc0));
  int rc = new_active_segment(log, log->end, now_ms);
  if (rc) return rc;
  log->pending_base = old_base;
  log->recent_n = 0;
  trace_debug("%s: rolled to segment %" PRId64, log->dir, log->end);
  return 0;
}

/* An append failed or succeeded: say so once per change, with the reason
 * (ENOSPC, EIO...) and not at every retry of a follower or producer. */
static int note_append(struct seglog *log, int rc, int err) {
  if (rc == STRATA_EIO && !log->write_errno) {
    log->write_errno = err ? err : EIO;
    trace_error("%s: appends fail: %s; nothing is appended (or acknowledged) until they "
                "succeed again", log->dir, strerror(log->write_errno));
  } else if (rc == 0 && log->write_errno) {
    log->write_errno = 0;
    trace_info("%s: appends succeed again", log->dir);
  }
  return rc;
}

int seglog_append_fits(const struct seglog *log, uint64_t len, int64_t now_ms) {
  if (!log) return 0;
  const struct segment *s = &log->segs[log->nsegs - 1];
  return s->size + len <= log->cfg.segment_bytes &&
         !(log->cfg.segment_ms > 0 && now_ms - s->created_ms >= log->cfg.segment_ms) &&
         s->size + len <= SEGLOG_SEGMENT_BYTES_MAX - 1;
}

static int maybe_roll(struct seglog *log, size_t len, int64_t now_ms) {
  struct segment *s = active(log);
  if (s->size == 0) return 0;
  int hard = s->size + len > SEGLOG_SEGMENT_BYTES_MAX - 1;
  if (seglog_append_fits(log, len, now_ms)) return 0;
  if (log->pending_base >= 0) {
    /* The last roll's sync has not ended: the active segment grows past
     * segment.bytes until it has (SEGLOG_PENDING_MAX), except at the hard
     * limit of u32 positions. */
    if (!hard) return 0;
    int rc = sync_pending_here(log);
    if (rc) return rc;
  }
  return roll(log, now_ms);
}

/* Write already-offset-assigned batches at the end of the active segment and
 * index them; on a failed write the file is cut back so nothing is visible. */
static int write_batches(struct seglog *log, const uint8_t *batches, size_t len,
                         int64_t next) {
  struct segment *s = active(log);
  uint64_t at = s->size;
  int fd = seg_fd(log, s, SEG_LOG);
  if (fd < 0) return STRATA_EIO; /* errno says why, for note_append */
  int rc = pwrite_full(fd, batches, len, at);
  if (rc) {
    int err = errno;
    if (ftruncate(fd, (off_t)at)) trace_error("%s: cannot undo a failed write", log->dir);
    errno = err; /* for note_append: why the write failed */
    return rc;
  }
  s->size += len;
  log->unsynced_bytes += len;
  if (s->verified == at) s->verified = s->size; /* both append paths checked the CRCs */
  const uint8_t *p = batches;
  uint64_t pos = at;
  size_t idx0 = s->idx_n, tidx0 = s->tidx_n;
  while (p < batches + len) {
    struct batch_header h;
    batch_header_decode(p, (size_t)(batches + len - p), &h);
    if ((rc = note_batch(log, s, &h, pos))) {
      trace_error("%s: index entry not added: %s", log->dir, strata_strerror(rc));
      rc = 0; /* indexes are rebuilt on restart; the data is written */
    }
    recent_push(log, h.base_offset, h.base_offset + h.last_offset_delta + 1, pos);
    pos += batch_total_size(&h);
    p += batch_total_size(&h);
  }
  if ((rc = persist_index_tail(log, s, idx0, tidx0)))
    trace_error("%s: index write failed: %s", log->dir, strata_strerror(rc));
  log->end = next;
  return 0;
}

/* Walk whole batches; every caller has validated them, but a header that
 * does not decode is still an error rather than an assertion. */
static int count_offsets(const uint8_t *batches, size_t len, int64_t *n) {
  size_t off = 0;
  *n = 0;
  while (off < len) {
    struct batch_header h;
    int rc = batch_header_decode(batches + off, len - off, &h);
    if (rc) return rc;
    if (batch_total_size(&h) > len - off) return STRATA_ECORRUPT;
    *n += (int64_t)h.last_offset_delta + 1;
    off += batch_total_size(&h);
  }
  return len ? 0 : STRATA_EINVALID_RECORD;
}

int seglog_append(struct seglog *log, uint8_t *batches, size_t len,
                  int32_t leader_epoch, int64_t now_ms, int64_t *base_offset) {
  if (!log) return STRATA_EIO;
  int64_t n;
  int rc = count_offsets(batches, len, &n);
  if (rc) return rc;
  if ((rc = maybe_roll(log, len, now_ms))) return note_append(log, rc, errno);
  int64_t next = log->end;
  size_t off = 0;
  while (off < len) {
    struct batch_header h;
    batch_header_decode(batches + off, len - off, &h);
    batch_set_base_offset(batches + off, next);
    if (leader_epoch != -1) batch_set_leader_epoch(batches + off, leader_epoch);
    next += (int64_t)h.last_offset_delta + 1;
    off += batch_total_size(&h);
  }
  int64_t base = log->end;
  if ((rc = write_batches(log, batches, len, next))) return note_append(log, rc, errno);
  note_append(log, 0, 0);
  assert(log->end == base + n);
  *base_offset = base;
  return 0;
}

int seglog_append_replica(struct seglog *log, const uint8_t *batches,
                          size_t len, int64_t now_ms) {
  if (!log) return STRATA_EIO;
  size_t off = 0;
  int64_t next = log->end;
  while (off < len) {
    struct batch_header h;
    int rc = batch_header_decode(batches + off, len - off, &h);
    if (rc) return rc;
    if (batch_total_size(&h) > len - off || h.base_offset != next)
      return STRATA_EINVALID_RECORD;
    next += (int64_t)h.last_offset_delta + 1;
    off += batch_total_size(&h);
  }
  if (len == 0) return 0;
  int rc = maybe_roll(log, len, now_ms);
  if (!rc) rc = write_batches(log, batches, len, next);
  return note_append(log, rc, errno);
}

/* Index of the segment holding `offset` (the last with base <= offset). */
static size_t find_segment(const struct seglog *log, int64_t offset) {
  size_t lo = 0, hi = log->nsegs;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (log->segs[mid].base <= offset) lo = mid; else hi = mid;
  }
  return lo;
}

/* A damaged batch at `pos` of segment i, where offset `at` should start:
 * remembered (the lowest one) so the owner can repair from a peer and a
 * truncation can cut there without decoding the garbled header. Loud: it
 * is data loss on this replica. */
static void note_damage(struct seglog *log, size_t i, uint64_t pos, int64_t at, const char *what) {
  if (log->damaged_at >= 0 && log->damaged_at <= at) return;
  log->corrupt_found++;
  trace_error("%s: CORRUPT DATA: %s check failed for the batch at offset %" PRId64
              " (segment %" PRId64 ", byte %" PRIu64 "); this replica's copy is damaged from there",
              log->dir, what, at, log->segs[i].base, pos);
  log->damaged_at = at;
  log->damaged_seg = log->segs[i].base;
  log->damaged_pos = pos;
  if (log->segs[i].verified > pos) log->segs[i].verified = pos;
}

/* Position of the batch that contains `offset` in segment i (offset below the
 * segment's end): the recent-batch ring first, then the sparse index and a
 * header walk of at most index_interval_bytes. Sets the batch's header. */
static int locate(struct seglog *log, size_t i, int64_t offset, uint64_t *pos,
                  struct batch_header *hdr) {
  struct segment *s = &log->segs[i];
  uint64_t p = 0;
  int64_t expect = s->base; /* the base offset the batch at p must have */
  if (i == log->nsegs - 1 && log->recent_n) {
    size_t oldest = (log->recent_head + RECENT_MAX - log->recent_n) % RECENT_MAX;
    if (log->recent[oldest].base <= offset) {
      size_t lo = 0, hi = log->recent_n; /* binary search in ring order */
      while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (log->recent[(oldest + mid) % RECENT_MAX].base <= offset) lo = mid;
        else hi = mid;
      }
      p = log->recent[(oldest + lo) % RECENT_MAX].pos;
      expect = log->recent[(oldest + lo) % RECENT_MAX].base;
      goto walk;
    }
  }
  {
    uint32_t rel = (uint32_t)(offset - s->base);
    size_t lo = 0, hi = s->idx_n;
    while (hi > lo) { /* last entry with rel <= target */
      size_t mid = (lo + hi) / 2;
      if (s->idx[mid].rel <= rel) lo = mid + 1; else hi = mid;
    }
    p = lo ? s->idx[lo - 1].pos : 0;
    if (lo) expect = s->base + s->idx[lo - 1].rel;
  }
walk:;
  int fd = seg_fd(log, s, SEG_LOG);
  if (fd < 0) return STRATA_EIO;
  for (;;) {
    int rc = read_scan_header(fd, p, s->size, hdr);
    if (rc == STRATA_EIO) return rc;
    if (rc || hdr->base_offset != expect) {
      note_damage(log, i, p, expect, "batch header");
      return STRATA_ECORRUPT;
    }
    if (offset <= hdr->base_offset + hdr->last_offset_delta) break;
    p += batch_total_size(hdr);
    expect = hdr->base_offset + hdr->last_offset_delta + 1;
  }
  *pos = p;
  return 0;
}

int seglog_read(struct seglog *log, int64_t offset, uint32_t max_bytes,
                int64_t max_offset, struct seglog_slice *out) {
  if (!log) return STRATA_EIO;
  if (offset < seglog_start_offset(log) || offset > log->end)
    return STRATA_EOFFSET_OUT_OF_RANGE;
  if (max_offset > log->end) max_offset = log->end;
  size_t i = find_segment(log, offset);
  struct segment *s = &log->segs[i];
  memset(out, 0, sizeof *out);
  out->fd = -1; /* len 0: nothing to read */
  out->first_offset = offset;
  if (offset >= max_offset) return 0;
  /* An offset on a segment boundary that was emptied (a fresh active segment). */
  if (s->size == 0) return 0;
  uint64_t pos;
  struct batch_header h;
  int rc = locate(log, i, offset, &pos, &h);
  if (rc) return rc;
  /* Where the readable range of this segment ends: its end, or the batch
   * that starts at max_offset when the high watermark is inside it. */
  uint64_t limit = s->size;
  int64_t seg_end = i + 1 < log->nsegs ? log->segs[i + 1].base : log->end;
  if (max_offset < seg_end) {
    uint64_t hw_pos;
    struct batch_header hh;
    if ((rc = locate(log, i, max_offset, &hw_pos, &hh))) return rc;
    limit = hw_pos;
  }
  uint64_t first = batch_total_size(&h);
  uint64_t want = max_bytes > first ? max_bytes : first;
  if (want > limit - pos) want = limit - pos;
  /* locate just used it: the cache's most recent entry, still open */
  if ((out->fd = seg_fd(log, s, SEG_LOG)) < 0) return STRATA_EIO;
  out->pos = pos;
  out->len = (uint32_t)want;
  out->first_offset = h.base_offset;
  return 0;
}

int64_t seglog_max_timestamp(const struct seglog *log) {
  if (!log) return -1;
  int64_t m = -1;
  for (size_t i = 0; i < log->nsegs; i++)
    if (log->segs[i].size && log->segs[i].max_ts > m) m = log->segs[i].max_ts;
  return m;
}

int seglog_offset_for_time(struct seglog *log, int64_t ts, int64_t *offset,
                           int64_t *found_ts) {
  if (!log) return STRATA_EIO;
  *offset = -1;
  *found_ts = -1;
  struct batch_scratch scratch = {0};
  uint8_t *buf = NULL;
  int rc = 0;
  for (size_t i = 0; i < log->nsegs && *offset < 0 && !rc; i++) {
    struct segment *s = &log->segs[i];
    if (s->max_ts < ts || s->size == 0) continue;
    /* Skip batches that end before the last time-index point below ts. */
    uint64_t pos = 0;
    size_t lo = 0, hi = s->tidx_n;
    while (hi > lo) {
      size_t mid = (lo + hi) / 2;
      if (s->tidx[mid].ts < ts) lo = mid + 1; else hi = mid;
    }
    if (lo > 0) {
      struct batch_header h;
      if ((rc = locate(log, i, s->base + s->tidx[lo - 1].rel, &pos, &h))) break;
    }
    int fd = seg_fd(log, s, SEG_LOG); /* locate above is done with its own */
    if (fd < 0) {
      rc = STRATA_EIO;
      break;
    }
    while (pos < s->size && *offset < 0) {
      struct batch_header h;
      if ((rc = read_scan_header(fd, pos, s->size, &h))) break;
      size_t total = batch_total_size(&h);
      if (h.max_timestamp >= ts) {
        uint8_t *nb = realloc(buf, total);
        if (!nb) { rc = STRATA_ENOMEM; break; }
        buf = nb;
        if (pread_full(fd, buf, total, pos) != (ssize_t)total) { rc = STRATA_EIO; break; }
        struct batch_iter it;
        struct batch_record r;
        if ((rc = batch_iter_init(&it, buf, total, &scratch))) break;
        while ((rc = batch_iter_next(&it, &r)) == 1) {
          if (r.timestamp >= ts) {
            *offset = r.offset;
            *found_ts = r.timestamp;
            break;
          }
        }
        if (rc < 0) break;
        rc = 0;
      }
      pos += total;
    }
  }
  free(buf);
  batch_scratch_free(&scratch);
  return rc;
}

static int unlink_segment_files(struct seglog *log, int64_t base) {
  static const char *const exts[] = {".log", ".index", ".timeindex"};
  int rc = 0;
  for (size_t k = 0; k < 3; k++) {
    char path[PATH_MAX];
    seg_path(log, base, exts[k], path, sizeof path);
    if (unlink(path) && errno != ENOENT) rc = STRATA_EIO;
  }
  return rc;
}

/* The log now ends at `end` in memory as it does on disk. */
static void set_end(struct seglog *log, int64_t end) {
  log->end = end;
  if (log->durable > end) log->durable = end;
  log->recent_n = 0;
}

/* Each step that shrinks the files moves the end in memory at once, before
 * the index rewrite and the fsyncs that may fail (a full disk cannot always
 * take the rewritten index: ext4 frees the cut blocks only at its next
 * commit). A failure part way leaves a shorter log that is still one prefix
 * on disk and in memory, so an error return never leaves appends writing
 * past a cut they do not know about. */
int seglog_truncate(struct seglog *log, int64_t offset) {
  if (!log) return STRATA_EIO;
  if (offset < seglog_start_offset(log)) return STRATA_EINVALID_ARGUMENT;
  if (offset >= log->end) return 0;
  size_t i = find_segment(log, offset);
  uint64_t cut = 0;
  struct segment *s = &log->segs[i];
  struct batch_header h;
  int64_t new_end;
  int rc;
  if (log->damaged_at >= 0 && offset == log->damaged_at) {
    /* Cut at the damaged batch itself: its header may not decode. */
    i = find_segment(log, log->damaged_seg);
    s = &log->segs[i];
    if (s->base != log->damaged_seg || log->damaged_pos > s->size) return STRATA_ECORRUPT;
    cut = log->damaged_pos;
    new_end = log->damaged_at;
  } else {
    if ((rc = locate(log, i, offset, &cut, &h))) return rc;
    new_end = h.base_offset;
  }
  if (log->damaged_at >= new_end) log->damaged_at = log->damaged_seg = -1;
  log->gen++; /* a sync begun before covered bytes that may be rewritten */
  /* Drop whole later segments, newest first, so a crash in between leaves a
   * log that is a prefix of the old one. */
  while (log->nsegs - 1 > i) {
    struct segment *last = active(log);
    int64_t b = last->base;
    segment_free(log, last);
    log->nsegs--;
    set_end(log, b);
    if ((rc = unlink_segment_files(log, b))) return rc;
  }
  if (cut == 0 && i > 0) {
    int64_t b = s->base;
    segment_free(log, s);
    log->nsegs--;
    set_end(log, b);
    if ((rc = unlink_segment_files(log, b))) return rc;
    s = active(log);
  } else {
    int fd = seg_fd(log, s, SEG_LOG);
    if (fd < 0 || ftruncate(fd, (off_t)cut)) return STRATA_EIO;
    s->size = cut;
    if (s->verified > cut) s->verified = cut;
    set_end(log, new_end);
    uint64_t vend;
    int64_t next;
    if ((rc = scan_segment(log, s, 0, &vend, &next))) return rc;
    if (next != new_end) return STRATA_ECORRUPT; /* a garbled header before the cut */
    if ((rc = write_indexes(log, s))) return rc; /* rebuilt from the data at the next open */
  }
  assert(log->end == new_end);
  /* A pending rolled segment that is now the active one (or gone) is synced
   * just below; one still before the active segment stays pending. */
  if (log->pending_base >= active(log)->base) log->pending_base = -1;
  if ((rc = datasync_file(log, s, SEG_LOG)) || (rc = sync_dir(log))) return rc;
  log->dir_synced = log->dir_created;
  return 0;
}

/* Delete the oldest segment. */
static int drop_first_segment(struct seglog *log, const char *why) {
  struct segment *s = &log->segs[0];
  int64_t b = s->base;
  trace_info("%s: deletes segment %" PRId64 " (%s)", log->dir, b, why);
  /* A sync still running holds dup()ed fds: syncing an unlinked file is
   * harmless, and its end no longer finds this segment pending. */
  if (b == log->pending_base) log->pending_base = -1;
  segment_free(log, s);
  memmove(&log->segs[0], &log->segs[1], (log->nsegs - 1) * sizeof *log->segs);
  log->nsegs--;
  return unlink_segment_files(log, b);
}

int seglog_apply_retention(struct seglog *log, int64_t now_ms) {
  if (!log) return 0;
  int deleted = 0;
  while (log->nsegs > 1) {
    struct segment *s = &log->segs[0];
    uint64_t total = seglog_size_bytes(log);
    int by_time = log->cfg.retention_ms >= 0 && s->max_ts >= 0 &&
                  now_ms - s->max_ts > log->cfg.retention_ms;
    int by_size = log->cfg.retention_bytes >= 0 &&
                  total - s->size >= (uint64_t)log->cfg.retention_bytes;
    if (!by_time && !by_size) break;
    int rc = drop_first_segment(log, by_time ? "retention.ms" : "retention.bytes");
    if (rc) return rc;
    deleted++;
  }
  if (deleted && sync_dir(log)) return STRATA_EIO;
  if (deleted) log->dir_synced = log->dir_created;
  return deleted;
}

int seglog_delete_before(struct seglog *log, int64_t offset) {
  if (!log) return 0;
  int deleted = 0;
  while (log->nsegs > 1 && log->segs[1].base <= offset) {
    int rc = drop_first_segment(log, "below the log start offset");
    if (rc) return rc;
    deleted++;
  }
  if (deleted && sync_dir(log)) return STRATA_EIO;
  if (deleted) log->dir_synced = log->dir_created;
  return deleted;
}


int seglog_reset(struct seglog *log, int64_t offset, int64_t now_ms) {
  if (!log) return STRATA_EIO;
  if (offset < 0) return STRATA_EINVALID_ARGUMENT;
  /* Oldest first: a crash in between leaves a shorter but valid log (or
   * none, which opens empty at 0); either way the next fetch resets again. */
  while (log->nsegs > 0) {
    int rc = drop_first_segment(log, "reset to the leader's log start");
    if (rc) return rc;
  }
  log->gen++;
  int rc = new_active_segment(log, offset, now_ms);
  if (rc) return rc;
  /* Durable at once (durable = offset): the empty file's name must be. */
  if ((rc = sync_dir(log))) return rc;
  log->dir_synced = log->dir_created;
  log->pending_base = -1;
  log->end = log->durable = offset;
  log->recent_n = 0;
  log->damaged_at = log->damaged_seg = -1;
  return 0;
}

/* Add a dup() of fd to the job (the caller's thread syncs and closes it):
 * the cache may close its own descriptor before the sync runs. fd < 0 (it
 * could not be opened) is an error. */
static int job_add(struct seglog *log, struct seglog_sync *job, int fd, int full) {
  assert(job->n < SEGLOG_SYNC_FDS_MAX);
  if (fd < 0) return STRATA_EIO;
  int d = fdcache_dup(log->fds, fd);
  if (d < 0) return STRATA_EIO;
  job->fd[job->n] = d;
  job->full[job->n] = (uint8_t)full;
  job->n++;
  return 0;
}

/* Everything the durable offset is waiting for, oldest first: a rolled
 * segment's data and indexes, the directory when a segment file was created
 * since its last fsync, then the active segment up to the log end. */
int seglog_sync_begin(struct seglog *log, struct seglog_sync *job) {
  if (!log) {
    memset(job, 0, sizeof *job);
    return 0;
  }
  memset(job, 0, sizeof *job);
  for (unsigned k = 0; k < SEGLOG_SYNC_FDS_MAX; k++) job->fd[k] = -1;
  job->end_offset = log->end;
  job->gen = log->gen;
  job->pending_base = log->pending_base;
  job->dir_seq = log->dir_created;
  job->bytes = log->unsynced_bytes;
  log->unsynced_bytes = 0;
  assert(log->durable <= log->end);
  assert(log->dir_synced <= log->dir_created);
  int rc = 0;
  struct segment *p = pending_segment(log);
  if (p && !(rc = job_add(log, job, seg_fd(log, p, SEG_LOG), 0)) &&
      !(rc = job_add(log, job, seg_fd(log, p, SEG_INDEX), 0)))
    rc = job_add(log, job, seg_fd(log, p, SEG_TIMEINDEX), 0);
  if (!rc && log->dir_synced < log->dir_created) rc = job_add(log, job, dir_fd(log), 1);
  if (!rc && log->durable < log->end) rc = job_add(log, job, seg_fd(log, active(log), SEG_LOG), 0);
  if (rc) seglog_sync_discard(job);
  return rc;
}

int seglog_sync_run(struct seglog_sync *job) {
  int rc = 0;
  for (unsigned k = 0; k < job->n; k++) {
    if (!rc && (job->full[k] ? fsync(job->fd[k]) : fdatasync(job->fd[k]))) rc = STRATA_EIO;
    close(job->fd[k]);
    job->fd[k] = -1;
  }
  job->n = 0;
  return rc;
}

void seglog_sync_discard(struct seglog_sync *job) {
  for (unsigned k = 0; k < job->n; k++) {
    close(job->fd[k]);
    job->fd[k] = -1;
  }
  job->n = 0;
}

int seglog_roll_unsynced(const struct seglog *log) {
  if (!log) return 0;
  return log->pending_base >= 0 || log->dir_synced < log->dir_created;
}

void seglog_sync_end(struct seglog *log, const struct seglog_sync *job, int status) {
  if (!log) return;
  /* Failed, or begun before a truncation or reset: the bytes it synced may
   * not be the log's any more; the next sync covers them again. */
  if (status || job->gen != log->gen) return;
  if (job->pending_base >= 0 && job->pending_base == log->pending_base) log->pending_base = -1;
  if (job->dir_seq > log->dir_synced) log->dir_synced = job->dir_seq;
  int64_t end = job->end_offset < log->end ? job->end_offset : log->end;
  if (end > log->durable) log->durable = end;
}

int seglog_sync(struct seglog *log) {
  if (!log) return 0;
  struct seglog_sync job;
  int rc = seglog_sync_begin(log, &job);
  if (rc || job.n == 0) return rc;
  int st = seglog_sync_run(&job);
  seglog_sync_end(log, &job, st);
  return st;
}

int seglog_for_each_batch(struct seglog *log,
                          int (*fn)(void *arg, const struct batch_header *h), void *arg) {
  if (!log) return 0;
  int64_t expect = seglog_start_offset(log);
  for (size_t i = 0; i < log->nsegs; i++) {
    struct segment *s = &log->segs[i];
    uint64_t pos = 0;
    if (s->base > expect) expect = s->base; /* the log start, or a compacted gap */
    while (pos < s->size) {
      struct batch_header h;
      /* again each time: fn may read other logs through the same cache */
      int fd = seg_fd(log, s, SEG_LOG);
      if (fd < 0) return STRATA_EIO;
      int rc = read_scan_header(fd, pos, s->size, &h);
      if (rc == STRATA_EIO) return rc;
      if (rc || h.base_offset != expect) {
        /* An old segment's garbled header (recovery checks only the last
         * ones): the log is intact below it; its owner repairs the rest. */
        note_damage(log, i, pos, expect, "batch header");
        return 0;
      }
      if ((rc = fn(arg, &h))) return rc;
      pos += batch_total_size(&h);
      expect = h.base_offset + h.last_offset_delta + 1;
    }
  }
  return 0;
}

/* ---- integrity: read verification and the scrubber (docs/storage.md) ---- */

int64_t seglog_damaged_at(const struct seglog *log) { return log ? log->damaged_at : -1; }
uint64_t seglog_corrupt_found(const struct seglog *log) { return log ? log->corrupt_found : 0; }

/* Check whole batches of buf (len bytes read from segment i at pos, the
 * first one starting at offset `expect`): header, contiguity and CRC32C.
 * Bytes below the segment's verified mark are trusted; a partial last batch
 * (a read cut at max_bytes) is left unchecked, its reader drops it. Sets
 * *good to the bytes of whole good batches from the start; extends the
 * verified mark when the checked range touches it; force (the scrubber)
 * checks below the mark too. *next: the offset after the last good batch. */
/* The batches in buf (bytes [pos, pos + len) of a segment of seg_size
 * bytes, the first expected at base offset `expect`): their headers, their
 * lengths and (past `verified`, or all with force) their CRCs. Touches no
 * log, so the scrubber runs it off the loop. Sets the good bytes before the
 * first damaged batch, the offset after them, and what failed (NULL: none). */
static void check_batches(const uint8_t *buf, uint64_t len, uint64_t pos, uint64_t seg_size,
                          uint64_t verified, int64_t expect, int force, uint64_t *good,
                          int64_t *next, const char **what) {
  uint64_t off = 0;
  *what = NULL;
  while (off < len) {
    struct batch_header h;
    if (len - off < BATCH_HEADER_SIZE) break;
    if (batch_header_decode(buf + off, len - off, &h) || h.base_offset != expect) {
      *what = "batch header";
      break;
    }
    uint64_t total = batch_total_size(&h);
    if (total > len - off) {
      if (pos + off + total > seg_size) *what = "batch length"; /* runs past the segment */
      break;
    }
    if ((force || pos + off + total > verified) && batch_check_crc(buf + off, total)) {
      *what = "CRC32C";
      break;
    }
    off += total;
    expect = h.base_offset + h.last_offset_delta + 1;
  }
  *good = off;
  *next = expect;
}

static int verify_range(struct seglog *log, size_t i, uint64_t pos, const uint8_t *buf,
                        uint64_t len, int64_t expect, int force, uint64_t *good, int64_t *next) {
  struct segment *s = &log->segs[i];
  const char *what;
  check_batches(buf, len, pos, s->size, s->verified, expect, force, good, next, &what);
  if (what) note_damage(log, i, pos + *good, *next, what);
  if (pos <= s->verified && pos + *good > s->verified) s->verified = pos + *good;
  return what ? STRATA_ECORRUPT : 0;
}

int seglog_verify_read(struct seglog *log, const struct seglog_slice *sl, const uint8_t *buf,
                       uint32_t *good_len) {
  *good_len = 0;
  if (!log) return STRATA_EIO;
  if (sl->len == 0) return 0;
  size_t i = find_segment(log, sl->first_offset);
  struct segment *s = &log->segs[i];
  if (s->base > sl->first_offset || sl->pos + sl->len > s->size) return STRATA_EINVALID_ARGUMENT;
  if (sl->pos + sl->len <= s->verified) { /* the common case: nothing to check */
    *good_len = sl->len;
    return 0;
  }
  uint64_t good;
  int64_t next;
  int rc = verify_range(log, i, sl->pos, buf, sl->len, sl->first_offset, 0, &good, &next);
  if (!rc) good = sl->len; /* a partial tail is the reader's to drop */
  *good_len = (uint32_t)good;
  return rc;
}

/* begin + run + end on the calling thread, up to the budget. */
int seglog_scrub(struct seglog *log, int64_t *offset, uint64_t budget, uint64_t *bytes) {
  *bytes = 0;
  for (;;) {
    struct seglog_scrub_job job;
    int rc = seglog_scrub_begin(log, offset, budget - *bytes, &job);
    if (rc) return rc;
    seglog_scrub_run(&job);
    uint64_t got;
    rc = seglog_scrub_end(log, &job, offset, &got);
    *bytes += got;
    if (rc || *bytes >= budget) return rc;
  }
}

int seglog_scrub_begin(struct seglog *log, int64_t *offset, uint64_t budget,
                       struct seglog_scrub_job *job) {
  memset(job, 0, sizeof *job);
  job->fd = -1;
  if (!log) return 1;
  if (*offset < seglog_start_offset(log)) *offset = seglog_start_offset(log);
  while (*offset < log->end) {
    size_t i = find_segment(log, *offset);
    struct segment *s = &log->segs[i];
    int64_t seg_end = i + 1 < log->nsegs ? log->segs[i + 1].base : log->end;
    uint64_t pos;
    struct batch_header h;
    int rc = s->size ? locate(log, i, *offset, &pos, &h) : 0;
    if (rc) return rc; /* locate noted the damage */
    if (!s->size || pos >= s->size) {
      *offset = seg_end;
      continue;
    }
    uint64_t want = s->size - pos;
    if (want > budget) want = budget;
    if (want < batch_total_size(&h)) want = batch_total_size(&h);
    int fd = seg_fd(log, s, SEG_LOG);
    if (fd < 0 || (job->fd = dup(fd)) < 0) return STRATA_EIO;
    job->gen = log->gen;
    job->seg_base = s->base;
    job->seg_size = s->size;
    job->seg_end = seg_end;
    job->pos = pos;
    job->len = want;
    job->expect = h.base_offset;
    return 0;
  }
  return 1;
}

void seglog_scrub_run(struct seglog_scrub_job *job) {
  job->rc = 0;
  uint8_t *buf = malloc(job->len); /* per job, not kept: an idle log holds no memory */
  if (!buf) {
    job->rc = STRATA_ENOMEM;
    return;
  }
  if (pread_full(job->fd, buf, job->len, job->pos) != (ssize_t)job->len) job->rc = STRATA_EIO;
  else
    check_batches(buf, job->len, job->pos, job->seg_size, 0, job->expect, 1, &job->good,
                  &job->next, &job->what);
  free(buf);
}

void seglog_scrub_discard(struct seglog_scrub_job *job) {
  if (job->fd >= 0) close(job->fd);
  job->fd = -1;
}

int seglog_scrub_end(struct seglog *log, struct seglog_scrub_job *job, int64_t *offset,
                     uint64_t *bytes) {
  seglog_scrub_discard(job);
  *bytes = job->rc ? 0 : job->len;
  if (!log) return 1;
  /* Cut, reset or trimmed meanwhile: what was read says nothing of the log
   * now; the walk goes on from where it stands. */
  if (job->gen != log->gen || job->seg_base < seglog_start_offset(log)) return 0;
  size_t i = find_segment(log, job->seg_base);
  struct segment *s = &log->segs[i];
  if (s->base != job->seg_base || s->size < job->pos + job->len) return 0;
  if (job->rc) return job->rc;
  if (job->what) {
    note_damage(log, i, job->pos + job->good, job->next, job->what);
    return STRATA_ECORRUPT;
  }
  if (job->good == 0) return STRATA_ECORRUPT; /* cannot happen: one whole batch fits */
  if (job->pos <= s->verified && job->pos + job->good > s->verified)
    s->verified = job->pos + job->good;
  *offset = job->pos + job->good >= s->size ? job->seg_end : job->next;
  return *offset >= log->end ? 1 : 0;
}
