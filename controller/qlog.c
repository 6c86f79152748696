#include "qlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/batch.h"
#include "common/durable_file.h"
#include "common/errors.h"
#include "common/trace.h"

/* pos[] and epoch[] hold offsets [start, end]: index o - start. */
#define POS(l, o) ((l)->pos[(o) - (l)->start])
#define EPO(l, o) ((l)->epoch[(o) - (l)->start])

/* Room for offsets [start, need]. */
static int grow(struct qlog *l, int64_t need) {
  need -= l->start;
  if ((size_t)need + 1 <= l->cap) return 0;
  size_t cap = l->cap ? l->cap : 256;
  while (cap < (size_t)need + 1) cap *= 2;
  int64_t *pos = realloc(l->pos, cap * sizeof *pos);
  if (!pos) return STRATA_ENOMEM;
  l->pos = pos;
  int32_t *ep = realloc(l->epoch, cap * sizeof *ep);
  if (!ep) return STRATA_ENOMEM;
  l->epoch = ep;
  l->cap = cap;
  return 0;
}

/* Whether a whole, CRC-correct batch starts anywhere after byte from: a
 * damaged batch in the middle of the log, not a torn tail. */
static int batch_after(const uint8_t *buf, size_t len, size_t from) {
  for (size_t pos = from + 1; pos + BATCH_HEADER_SIZE <= len; pos++) {
    struct batch_header h;
    if (batch_header_decode(buf + pos, len - pos, &h) || h.magic != BATCH_MAGIC) continue;
    size_t sz = batch_total_size(&h);
    if (sz <= len - pos && !batch_check_crc(buf + pos, sz)) return 1;
  }
  return 0;
}

int qlog_open(struct qlog *l, const char *dir, char *err, size_t err_len) {
  memset(l, 0, sizeof *l);
  l->fd = -1;
  l->trunc_low = INT64_MAX;
  snprintf(l->path, sizeof l->path, "%s/%s", dir, QLOG_FILE);
  int created = access(l->path, F_OK) != 0;
  l->created = created;
  l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (l->fd < 0) {
    snprintf(err, err_len, "cannot open %s: %s", l->path, strerror(errno));
    return STRATA_EIO;
  }
  struct stat st;
  if (fstat(l->fd, &st)) {
    snprintf(err, err_len, "cannot stat %s: %s", l->path, strerror(errno));
    return STRATA_EIO;
  }
  size_t len = (size_t)st.st_size, got = 0;
  uint8_t *buf = malloc(len + 1);
  if (!buf) return STRATA_ENOMEM;
  while (got < len) {
    ssize_t r = pread(l->fd, buf + got, len - got, (off_t)got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  len = got;
  size_t off = 0;
  int rc = grow(l, 0);
  int32_t last_epoch = 0;
  if (len >= BATCH_HEADER_SIZE) { /* the log starts at its first batch (after a snapshot: past 0) */
    struct batch_header h0;
    if (!batch_header_decode(buf, len, &h0) && h0.base_offset > 0)
      l->start = l->end = h0.base_offset;
  }
  while (!rc && off < len) {
    struct batch_header h;
    int bad = batch_header_decode(buf + off, len - off, &h);
    size_t sz = bad ? 0 : batch_total_size(&h);
    if (!bad && sz > len - off) bad = 1;                 /* cut short */
    if (!bad && batch_check_crc(buf + off, sz)) bad = 2; /* half written */
    if (bad) {
      if (batch_after(buf, len, off)) {
        snprintf(err, err_len, "%s: bad batch at byte %zu with batches after it; refusing to "
                 "guess cluster metadata", l->path, off);
        rc = STRATA_ECORRUPT;
      }
      break;
    }
    if (h.base_offset != l->end || h.record_count != 1 || h.last_offset_delta != 0 ||
        h.leader_epoch < last_epoch || h.leader_epoch < 1) {
      snprintf(err, err_len, "%s: batch at byte %zu: offset %lld epoch %d (expected offset %lld, "
               "one record, epoch >= %d); refusing to guess cluster metadata", l->path, off,
               (long long)h.base_offset, h.leader_epoch, (long long)l->end, last_epoch);
      rc = STRATA_ECORRUPT;
      break;
    }
    if ((rc = grow(l, l->end + 1))) break;
    POS(l, l->end) = (int64_t)off;
    EPO(l, l->end) = h.leader_epoch;
    last_epoch = h.leader_epoch;
    l->end++;
    off += sz;
  }
  free(buf);
  if (rc) return rc;
  POS(l, l->end) = (int64_t)off;
  if (off < len) {
    trace_warn("%s: cutting a torn last batch (%zu bytes)", l->path, len - off);
    if (ftruncate(l->fd, (off_t)off)) {
      snprintf(err, err_len, "cannot truncate %s: %s", l->path, strerror(errno));
      return STRATA_EIO;
    }
  }
  /* What recovery kept is what the quorum core counts as persisted. */
  if (fdatasync(l->fd) || (created && durable_file_fsync_dir(dir))) {
    snprintf(err, err_len, "cannot fsync %s: %s", l->path, strerror(errno));
    return STRATA_EIO;
  }
  return 0;
}

void qlog_close(struct qlog *l) {
  if (l->fd >= 0) close(l->fd);
  l->fd = -1;
  free(l->pos);
  free(l->epoch);
  l->pos = NULL;
  l->epoch = NULL;
  l->cap = 0;
}

/* One batch of exactly one record, stored at the log end. */
static int store(struct qlog *l, const uint8_t *batch, size_t len, int32_t epoch) {
  int rc = grow(l, l->end + 1);
  if (rc) return rc;
  int64_t at = POS(l, l->end);
  size_t done = 0;
  while (done < len) {
    ssize_t w = pwrite(l->fd, batch + done, len - done, (off_t)(at + (int64_t)done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return STRATA_EIO;
    done += (size_t)w;
  }
  EPO(l, l->end) = epoch;
  l->end++;
  POS(l, l->end) = at + (int64_t)len;
  return 0;
}

int qlog_append(struct qlog *l, int64_t offset, int32_t epoch, const uint8_t *value,
                size_t value_len) {
  if (offset != l->end || epoch < 1 || value_len > QLOG_RECORD_MAX ||
      (l->end > l->start && epoch < EPO(l, l->end - 1)))
    return STRATA_EINVALID_ARGUMENT;
  struct batch_builder b;
  batch_builder_init(&b);
  static const char lc[] = "leader_change";
  int rc = value_len ? batch_builder_add(&b, 0, NULL, 0, value, value_len, NULL, 0)
                     : batch_builder_add(&b, 0, lc, sizeof lc - 1, NULL, 0, NULL, 0);
  const uint8_t *p = NULL;
  size_t n = 0;
  if (!rc) rc = batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &p, &n);
  if (!rc) {
    uint8_t *own = (uint8_t *)p;
    batch_set_base_offset(own, offset); /* outside the CRC: it stays valid */
    batch_set_leader_epoch(own, epoch);
    rc = store(l, own, n, epoch);
  }
  batch_builder_free(&b);
  return rc;
}

int qlog_append_batches(struct qlog *l, const uint8_t *p, size_t len, int64_t from, int64_t to) {
  size_t off = 0;
  while (off < len) {
    struct batch_header h;
    if (batch_header_decode(p + off, len - off, &h)) return STRATA_EINVALID_REQUEST;
    size_t sz = batch_total_size(&h);
    if (sz > len - off || batch_check_crc(p + off, sz)) return STRATA_EINVALID_REQUEST;
    if (h.base_offset >= from && h.base_offset < to) {
      if (h.base_offset != l->end || h.record_count != 1 || h.last_offset_delta != 0 ||
          h.leader_epoch < 1 || (l->end > l->start && h.leader_epoch < EPO(l, l->end - 1)))
        return STRATA_EINVALID_REQUEST;
      int rc = store(l, p + off, sz, h.leader_epoch);
      if (rc) return rc;
    }
    off += sz;
  }
  return l->end >= to ? 0 : STRATA_EINVALID_REQUEST;
}

int qlog_truncate(struct qlog *l, int64_t offset) {
  if (offset < l->start) return STRATA_EINVALID_ARGUMENT;
  if (offset >= l->end) return 0;
  if (ftruncate(l->fd, (off_t)POS(l, offset))) return STRATA_EIO;
  l->end = offset;
  l->truncations++;
  if (offset < l->trunc_low) l->trunc_low = offset;
  return 0;
}

int qlog_read(const struct qlog *l, int64_t from, int64_t to, uint8_t **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (from < l->start || to > l->end || from > to) return STRATA_EINVALID_ARGUMENT;
  size_t n = (size_t)(POS(l, to) - POS(l, from));
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return STRATA_ENOMEM;
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(l->fd, buf + got, n - got, (off_t)(POS(l, from) + (int64_t)got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      free(buf);
      return STRATA_EIO;
    }
    got += (size_t)r;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

int qlog_value(const struct qlog *l, int64_t offset, uint8_t **value, size_t *len) {
  *value = NULL;
  *len = 0;
  uint8_t *b;
  size_t n;
  int rc = qlog_read(l, offset, offset + 1, &b, &n);
  if (rc) return rc;
  struct batch_iter it;
  struct batch_record r;
  rc = batch_iter_init(&it, b, n, NULL);
  if (!rc && batch_iter_next(&it, &r) != 1) rc = STRATA_ECORRUPT;
  if (!rc && r.value_len > 0) {
    *value = malloc((size_t)r.value_len);
    if (!*value) rc = STRATA_ENOMEM;
    else {
      memcpy(*value, r.value, (size_t)r.value_len);
      *len = (size_t)r.value_len;
    }
  }
  free(b);
  return rc;
}

uint32_t qlog_epochs(const struct qlog *l, struct quorum_epoch_start *out, uint32_t max) {
  uint32_t n = 0;
  for (int64_t o = l->start; o < l->end; o++)
    if (o == l->start || EPO(l, o) != EPO(l, o - 1)) {
      if (n == max) { /* keep the newest: shift (rare: QUORUM_EPOCHS_MAX epochs) */
        memmove(out, out + 1, (max - 1) * sizeof *out);
        n--;
      }
      out[n++] = (struct quorum_epoch_start){EPO(l, o), o};
    }
  return n;
}

int32_t qlog_epoch_at(const struct qlog *l, int64_t offset) {
  return offset >= l->start && offset < l->end ? EPO(l, offset) : 0;
}

int64_t qlog_bytes(const struct qlog *l, int64_t from, int64_t to) {
  if (from < l->start) from = l->start;
  if (to > l->end) to = l->end;
  return to > from ? POS(l, to) - POS(l, from) : 0;
}

/* Replace the file with one holding the batches of [from, end) (none when
 * from >= end; the log then starts empty at `from`): durable_file_replace
 * (a temporary file, fsynced, renamed over the log, the directory fsynced;
 * its test hook lets the simulator crash between those steps), then the new
 * file opened. So a crash leaves the old log or the new one, both readable
 * (recovery takes the start from the first batch; an empty log's start is
 * the snapshot's end). */
static int replace_from(struct qlog *l, int64_t from, int *old_fd) {
  int64_t keep_from = from < l->end ? from : l->end;
  uint8_t *buf = NULL;
  size_t n = 0;
  int rc = keep_from < l->end ? qlog_read(l, keep_from, l->end, &buf, &n) : 0;
  if (rc) return rc;
  char err[512];
  rc = durable_file_replace(l->path, buf ? buf : (const uint8_t *)"", n, err, sizeof err);
  free(buf);
  if (rc) {
    trace_error("quorum: %s", err);
    return rc;
  }
  int fd = open(l->path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return STRATA_EIO;
  /* The arrays: shift [keep_from, end] down to index 0, positions by the cut. */
  int64_t cut = POS(l, keep_from), k = keep_from - l->start, m = l->end - keep_from;
  for (int64_t i = 0; i <= m; i++) {
    l->pos[i] = l->pos[k + i] - cut;
    l->epoch[i] = l->epoch[k + i];
  }
  l->start = from;
  if (l->end < from) {
    l->end = from;
    l->pos[0] = 0;
  }
  *old_fd = l->fd;
  l->fd = fd;
  l->truncations++;
  return 0;
}

int qlog_drop_prefix(struct qlog *l, int64_t to, int *old_fd) {
  *old_fd = -1;
  if (to <= l->start) return 0;
  if (to > l->end) return STRATA_EINVALID_ARGUMENT;
  return replace_from(l, to, old_fd);
}

int qlog_reset(struct qlog *l, int64_t start, int *old_fd) {
  *old_fd = -1;
  /* Every record goes, also past start: a follower whose log forks inside
   * the leader's snapshot gets the snapshot, and the core's log then ends
   * at its end (quorum.c, on_snapshot). */
  if (start < l->start) return STRATA_EINVALID_ARGUMENT;
  l->end = l->start; /* nothing kept: replace_from writes an empty file */
  int rc = grow(l, l->start);
  return rc ? rc : replace_from(l, start, old_fd);
}
