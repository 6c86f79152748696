/* The quorum's snapshot file (qsnap.h). */
#include "qsnap.h"

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
#include "common/errors.h"

static void path_of(char *out, size_t len, const char *dir, const char *name) {
  snprintf(out, len, "%s/%s", dir, name);
}

/* The file's bytes for img as snapshot id, written durably at path. */
static int write_image(const char *path, const Strata__MetadataImage *img,
                       struct quorum_snapshot_id id, char *err, size_t err_len) {
  size_t n = strata__metadata_image__get_packed_size(img);
  uint8_t *buf = malloc(n + QSNAP_HEADER);
  if (!buf) return STRATA_ENOMEM;
  strata__metadata_image__pack(img, buf + QSNAP_HEADER);
  memcpy(buf, "SQS1", 4);
  be64_store(buf + 4, (uint64_t)id.end_offset);
  be32_store(buf + 12, (uint32_t)id.epoch);
  be32_store(buf + 16, (uint32_t)n);
  be32_store(buf + 20, crc32c(0, buf + QSNAP_HEADER, n));
  int rc = durable_file_replace(path, buf, n + QSNAP_HEADER, err, err_len);
  free(buf);
  return rc;
}

int qsnap_write(const char *dir, const struct ctrl *c, struct quorum_snapshot_id id, char *err,
                size_t err_len) {
  Strata__MetadataImage *img = ctrl_image(c);
  if (!img) return STRATA_ENOMEM;
  char path[4200];
  path_of(path, sizeof path, dir, QSNAP_FILE);
  int rc = write_image(path, img, id, err, err_len);
  ctrl_image_free(img);
  return rc;
}

struct qsnap_job *qsnap_job_new(const char *dir, const struct ctrl *c, struct quorum_snapshot_id id) {
  struct qsnap_job *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  snprintf(j->dir, sizeof j->dir, "%s", dir);
  j->id = id;
  j->img = ctrl_image(c);
  if (!j->img) {
    free(j);
    return NULL;
  }
  return j;
}

void qsnap_job_run(struct qsnap_job *j) {
  char path[4200];
  path_of(path, sizeof path, j->dir, QSNAP_NEW_FILE);
  j->rc = write_image(path, j->img, j->id, j->err, sizeof j->err);
}

int qsnap_job_install(struct qsnap_job *j, char *err, size_t err_len) {
  char from[4200], to[4200];
  path_of(from, sizeof from, j->dir, QSNAP_NEW_FILE);
  path_of(to, sizeof to, j->dir, QSNAP_FILE);
  if (rename(from, to) || durable_file_fsync_dir(j->dir)) {
    snprintf(err, err_len, "cannot rename %s over %s: %s", from, to, strerror(errno));
    return STRATA_EIO;
  }
  return 0;
}

void qsnap_job_free(struct qsnap_job *j) {
  if (!j) return;
  ctrl_image_free(j->img);
  free(j);
}

/* The whole file at path (malloc'd); NULL and *missing when absent. */
static uint8_t *slurp(const char *path, size_t *len, int *missing) {
  *len = 0;
  *missing = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *missing = errno == ENOENT;
    return NULL;
  }
  struct stat st;
  uint8_t *buf = NULL;
  if (!fstat(fd, &st) && (buf = malloc((size_t)st.st_size + 1))) {
    size_t got = 0;
    while (got < (size_t)st.st_size) {
      ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += (size_t)r;
    }
    *len = got;
  }
  close(fd);
  return buf;
}

/* Check a snapshot file's bytes; its id and image bytes. */
static int check(const uint8_t *b, size_t len, struct quorum_snapshot_id *id, size_t *n) {
  if (len < QSNAP_HEADER || memcmp(b, "SQS1", 4)) return STRATA_ECORRUPT;
  id->end_offset = (int64_t)be64_load(b + 4);
  id->epoch = (int32_t)be32_load(b + 12);
  *n = be32_load(b + 16);
  if (id->end_offset < 1 || id->epoch < 1 || *n != len - QSNAP_HEADER ||
      crc32c(0, b + QSNAP_HEADER, *n) != be32_load(b + 20))
    return STRATA_ECORRUPT;
  return 0;
}

int qsnap_load(const char *dir, struct ctrl *c, struct quorum_snapshot_id *id, char *err,
               size_t err_len) {
  id->end_offset = -1;
  id->epoch = 0;
  char path[4200];
  path_of(path, sizeof path, dir, QSNAP_FILE);
  size_t len, n;
  int missing;
  uint8_t *b = slurp(path, &len, &missing);
  if (!b) {
    if (missing) return 0;
    snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return STRATA_EIO;
  }
  struct quorum_snapshot_id got;
  int rc = check(b, len, &got, &n);
  Strata__MetadataImage *img = rc ? NULL : strata__metadata_image__unpack(NULL, n, b + QSNAP_HEADER);
  if (!rc && !img) rc = STRATA_ECORRUPT;
  if (!rc) rc = ctrl_load_image(c, img);
  if (img) strata__metadata_image__free_unpacked(img, NULL);
  free(b);
  if (rc) {
    snprintf(err, err_len, "%s is damaged (header, length, CRC or image); refusing to guess "
             "cluster metadata", path);
    return STRATA_ECORRUPT;
  }
  *id = got;
  return 0;
}

int qsnap_read(const char *dir, int64_t position, size_t max, uint8_t **out, size_t *len,
               int64_t *size) {
  *out = NULL;
  *len = 0;
  char path[4200];
  path_of(path, sizeof path, dir, QSNAP_FILE);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return STRATA_EIO;
  struct stat st;
  int rc = fstat(fd, &st) ? STRATA_EIO : 0;
  if (!rc && (position < 0 || position > st.st_size)) rc = STRATA_EINVALID_ARGUMENT;
  size_t want = rc ? 0 : (size_t)(st.st_size - position);
  if (want > max) want = max;
  uint8_t *buf = rc ? NULL : malloc(want ? want : 1);
  if (!rc && !buf) rc = STRATA_ENOMEM;
  size_t got = 0;
  while (!rc && got < want) {
    ssize_t r = pread(fd, buf + got, want - got, (off_t)(position + (int64_t)got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) rc = STRATA_EIO;
    else got += (size_t)r;
  }
  close(fd);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = got;
  *size = st.st_size;
  return 0;
}

int qsnap_fetch_write(const char *dir, int64_t position, const uint8_t *p, size_t len) {
  char path[4200];
  path_of(path, sizeof path, dir, QSNAP_FETCH_FILE);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (position == 0 ? O_TRUNC : 0), 0600);
  if (fd < 0) return STRATA_EIO;
  size_t done = 0;
  int rc = 0;
  while (!rc && done < len) {
    ssize_t w = pwrite(fd, p + done, len - done, (off_t)(position + (int64_t)done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) rc = STRATA_EIO;
    else done += (size_t)w;
  }
  close(fd);
  return rc;
}

int qsnap_fetch_finish(const char *dir, struct quorum_snapshot_id id, char *err, size_t err_len) {
  char from[4200], to[4200];
  path_of(from, sizeof from, dir, QSNAP_FETCH_FILE);
  path_of(to, sizeof to, dir, QSNAP_FILE);
  size_t len, n;
  int missing;
  uint8_t *b = slurp(from, &len, &missing);
  struct quorum_snapshot_id got = {0};
  int rc = b ? check(b, len, &got, &n) : STRATA_EIO;
  if (!rc && (got.end_offset != id.end_offset || got.epoch != id.epoch)) rc = STRATA_ECORRUPT;
  if (rc) {
    free(b);
    snprintf(err, err_len, "the snapshot fetched from the leader (%s) is not snapshot %lld/%d, "
             "whole and CRC-correct", from, (long long)id.end_offset, id.epoch);
    unlink(from);
    return rc;
  }
  /* The checked bytes replace ours through durable_file_replace (tmp,
   * fsync, rename, directory fsync: a crash leaves our old snapshot or the
   * leader's, each whole; its hook lets the simulator crash at each step). */
  rc = durable_file_replace(to, b, len, NULL, 0);
  free(b);
  if (!rc) unlink(from);
  if (rc) snprintf(err, err_len, "cannot make %s durable: %s", to, strerror(errno));
  return rc;
}
