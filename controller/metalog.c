#include "metalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/durable_file.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/trace.h"

/* Read a whole file into memory (NULL with *len 0 when missing). */
static uint8_t *slurp(const char *path, size_t *len, int *missing) {
  *len = 0;
  *missing = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *missing = errno == ENOENT;
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st)) {
    close(fd);
    return NULL;
  }
  uint8_t *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  *len = got;
  return buf;
}

static int write_snapshot(struct metalog *m, const struct ctrl *c) {
  Strata__MetadataImage *img = ctrl_image(c);
  size_t n = strata__metadata_image__get_packed_size(img);
  uint8_t *buf = malloc(n + 8);
  if (!buf) {
    ctrl_image_free(img);
    return STRATA_ENOMEM;
  }
  strata__metadata_image__pack(img, buf + 8);
  ctrl_image_free(img);
  be32_store(buf, (uint32_t)n);
  be32_store(buf + 4, crc32c(0, buf + 8, n));
  char path[4200], err[4400];
  snprintf(path, sizeof path, "%s/snapshot", m->dir);
  int rc = durable_file_replace(path, buf, n + 8, err, sizeof err);
  free(buf);
  if (rc) trace_error("metadata snapshot not written: %s", err);
  /* The snapshot holds everything: the log starts over. */
  if (!rc && (ftruncate(m->fd, 0) || lseek(m->fd, 0, SEEK_SET) < 0 || fdatasync(m->fd)))
    rc = STRATA_EIO;
  if (!rc) m->since_snapshot = 0;
  return rc;
}

/* A record cut short by a crash is the last thing in the file; a damaged
 * length field in the middle looks the same unless whole records follow it.
 * (A random match of length and CRC is a 1 in 2^32 chance per byte.) */
static int record_after(const uint8_t *buf, size_t len, size_t from) {
  for (size_t pos = from + 1; pos + 8 < len; pos++) {
    uint32_t n = be32_load(buf + pos);
    if (n && n <= METALOG_RECORD_MAX && pos + 8 + n <= len &&
        crc32c(0, buf + pos + 8, n) == be32_load(buf + pos + 4))
      return 1;
  }
  return 0;
}

/* A last record whose CRC fails was cut short by a crash when its end is
 * still zeros (the file grew before the data reached it): it was never
 * fsynced, so never applied, and can go. Anything else is damage to a record
 * that took effect (say, a topic's creation): cutting it would make brokers
 * see that topic vanish, so the controller refuses to start instead. */
static int torn(const uint8_t *rec, uint32_t n) {
  uint32_t from = n > 16 ? n - 16 : 0;
  for (uint32_t i = from; i < n; i++)
    if (rec[i]) return 0;
  return 1;
}

int metalog_open(struct metalog *m, const char *dir, struct ctrl *c, char *err, size_t err_len) {
  memset(m, 0, sizeof *m);
  m->fd = -1;
  snprintf(m->dir, sizeof m->dir, "%s", dir);
  /* The directory holds users' SCRAM keys (StoredKey, ServerKey): enough to
   * brute-force a password offline, so for the controller's user only. */
  if (mkdir(dir, 0700) && errno != EEXIST) {
    snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
    return STRATA_EIO;
  }
  struct stat dst;
  if (!stat(dir, &dst) && (dst.st_mode & 077)) {
    if (chmod(dir, dst.st_mode & 0700))
      trace_warn("%s is readable by others and cannot be made private: %s", dir, strerror(errno));
    else
      trace_info("%s made private (mode 0700): it holds users' SCRAM keys", dir);
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/snapshot", dir);
  size_t len;
  int missing;
  uint8_t *buf = slurp(path, &len, &missing);
  if (buf && len) {
    uint32_t n = len >= 8 ? be32_load(buf) : 0;
    if (len < 8 || n != len - 8 || crc32c(0, buf + 8, n) != be32_load(buf + 4)) {
      snprintf(err, err_len, "%s is damaged (length or CRC); refusing to guess cluster metadata",
               path);
      free(buf);
      return STRATA_ECORRUPT;
    }
    Strata__MetadataImage *img = strata__metadata_image__unpack(NULL, n, buf + 8);
    int rc = img ? ctrl_load_image(c, img) : STRATA_ECORRUPT;
    if (img) strata__metadata_image__free_unpacked(img, NULL);
    if (rc) {
      snprintf(err, err_len, "%s does not decode", path);
      free(buf);
      return rc;
    }
  } else if (!missing) {
    snprintf(err, err_len, "cannot read %s", path);
    free(buf);
    return STRATA_EIO;
  }
  free(buf);
  snprintf(path, sizeof path, "%s/metadata.log", dir);
  buf = slurp(path, &len, &missing);
  size_t off = 0;
  while (buf && off + 8 <= len) {
    uint32_t n = be32_load(buf + off);
    if (n > METALOG_RECORD_MAX || off + 8 + n > len) { /* torn tail, unless records follow */
      if (record_after(buf, len, off)) {
        snprintf(err, err_len, "%s: bad record length at byte %zu, with records after it; refusing "
                 "to guess cluster metadata", path, off);
        free(buf);
        return STRATA_ECORRUPT;
      }
      break;
    }
    if (crc32c(0, buf + off + 8, n) != be32_load(buf + off + 4)) {
      if (off + 8 + n == len && torn(buf + off + 8, n)) break; /* the last record, half written */
      snprintf(err, err_len, "%s: bad record (CRC) at byte %zu; refusing to guess cluster metadata",
               path, off);
      free(buf);
      return STRATA_ECORRUPT;
    }
    Strata__MetadataRecord *r = strata__metadata_record__unpack(NULL, n, buf + off + 8);
    int rc = r ? ctrl_apply(c, r) : STRATA_ECORRUPT;
    if (r) strata__metadata_record__free_unpacked(r, NULL);
    if (rc) {
      snprintf(err, err_len, "%s: record at byte %zu does not apply: %s", path, off,
               strata_strerror(rc));
      free(buf);
      return rc;
    }
    off += 8 + n;
    m->since_snapshot++;
  }
  free(buf);
  m->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m->fd < 0) {
    snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  /* A new log's name must survive a crash as its first fsynced record does. */
  if (missing && durable_file_fsync_dir(dir)) {
    snprintf(err, err_len, "cannot fsync %s: %s", dir, strerror(errno));
    return STRATA_EIO;
  }
  if (off < len) {
    trace_warn("%s: cutting a torn last record (%zu bytes)", path, len - off);
    if (ftruncate(m->fd, (off_t)off) || fdatasync(m->fd)) return STRATA_EIO;
  }
  lseek(m->fd, (off_t)off, SEEK_SET);
  trace_info("metadata loaded: version %lld, %zu broker(s), %zu topic(s)", (long long)c->version,
             c->nbrokers, c->ntopics);
  return 0;
}

void metalog_close(struct metalog *m) {
  if (m->fd >= 0) close(m->fd);
  m->fd = -1;
}

int metalog_commit(struct metalog *m, struct ctrl *c, struct ctrl_out *out) {
  if (m->submit) return m->submit(m->submit_arg, c, out);
  if (out->n == 0) return 0;
  size_t total = 0;
  for (size_t i = 0; i < out->n; i++)
    total += 8 + strata__metadata_record__get_packed_size(out->recs[i]);
  uint8_t *buf = malloc(total);
  if (!buf) return STRATA_ENOMEM;
  size_t off = 0;
  for (size_t i = 0; i < out->n; i++) {
    size_t n = strata__metadata_record__pack(out->recs[i], buf + off + 8);
    be32_store(buf + off, (uint32_t)n);
    be32_store(buf + off + 4, crc32c(0, buf + off + 8, n));
    off += 8 + n;
  }
  int64_t t0 = clock_mono_us();
  int rc = durable_file_write_all(m->fd, buf, total);
  free(buf);
  if (!rc && fdatasync(m->fd)) rc = STRATA_EIO;
  prom_observe(&m->sync, (double)(clock_mono_us() - t0) / 1e6);
  if (rc) {
    m->sync_errors++;
    trace_error("metadata log write failed: %s", strata_strerror(rc));
    ctrl_out_reset(out);
    return rc;
  }
  for (size_t i = 0; i < out->n; i++) {
    int arc = ctrl_apply(c, out->recs[i]);
    if (arc) trace_error("metadata record %zu did not apply: %s", i, strata_strerror(arc));
    m->since_snapshot++;
  }
  ctrl_out_reset(out);
  if (m->since_snapshot >= METALOG_SNAPSHOT_EVERY) return write_snapshot(m, c);
  return 0;
}
