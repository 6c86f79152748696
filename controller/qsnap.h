/* The quorum's snapshot file (KIP-630 in quorum mode; issue 14): the image
 * of the committed metadata state at a committed offset,
 *   <dir>/quorum-snapshot   "SQS1" | end_offset i64 | epoch i32 |
 *                           u32 length | u32 crc32c | MetadataImage
 * (big endian), the same image a single controller's snapshot holds. The
 * id (end_offset, epoch) is the core's quorum_snapshot_id: it covers the
 * records [0, end_offset), the last of them of that epoch. A follower
 * fetches the leader's file as it is, chunk by chunk, into
 * <dir>/quorum-snapshot.fetch, checks it whole and puts it in place of its
 * own (durable_file_replace). Writes are durable (tmp, fsync, rename,
 * directory fsync).
 *
 * Our own snapshots are written off the event loop (a qsnap_job): the
 * image of the state at a committed offset is taken on the loop (a deep
 * copy), packed and written to <dir>/quorum-snapshot.new durably by a
 * worker thread (20 MiB of metadata would stall the loop for the write and
 * its fsync), and put in place by a rename on the loop when it is done and
 * still the newest (an installed leader's snapshot may have overtaken it
 * meanwhile: then it is dropped). */
#ifndef STRATA_QSNAP_H
#define STRATA_QSNAP_H

#include <stddef.h>
#include <stdint.h>

#include "controller/ctrl.h"
#include "controller/quorum.h"

#define QSNAP_FILE "quorum-snapshot"
#define QSNAP_FETCH_FILE "quorum-snapshot.fetch"
#define QSNAP_NEW_FILE "quorum-snapshot.new"
#define QSNAP_HEADER 24

/* Write c's image as snapshot id, durably. */
int qsnap_write(const char *dir, const struct ctrl *c, struct quorum_snapshot_id id, char *err,
                size_t err_len);
/* A snapshot to write off the loop. */
struct qsnap_job {
  char dir[4096];
  struct quorum_snapshot_id id;
  Strata__MetadataImage *img; /* the state's image, a copy (owned) */
  int running;                /* handed to a worker (qnode_snapshot_begin) */
  int rc;                     /* qsnap_job_run's result */
  char err[512];
};
/* On the loop: a job writing c's image as snapshot id (c is copied). */
struct qsnap_job *qsnap_job_new(const char *dir, const struct ctrl *c, struct quorum_snapshot_id id);
/* In any thread (touches only the job and its file): pack the image and
 * write <dir>/quorum-snapshot.new durably; j->rc and j->err say how it went. */
void qsnap_job_run(struct qsnap_job *j);
/* On the loop, once it ran well: the new file becomes the snapshot (rename,
 * directory fsync). */
int qsnap_job_install(struct qsnap_job *j, char *err, size_t err_len);
void qsnap_job_free(struct qsnap_job *j);

/* Load dir's snapshot into c (which must be empty): *id its id, or
 * end_offset -1 (and c untouched) when there is none. A damaged file is
 * STRATA_ECORRUPT with err: never guess at cluster metadata. */
int qsnap_load(const char *dir, struct ctrl *c, struct quorum_snapshot_id *id, char *err,
               size_t err_len);
/* Bytes [position, position + max) of the snapshot file (malloc'd), and the
 * file's size. */
int qsnap_read(const char *dir, int64_t position, size_t max, uint8_t **out, size_t *len,
               int64_t *size);
/* A received chunk at position of the fetch file (position 0 starts it over). */
int qsnap_fetch_write(const char *dir, int64_t position, const uint8_t *p, size_t len);
/* The fetched file is complete: check it is snapshot id, whole and
 * CRC-correct (else STRATA_ECORRUPT: bad bytes from a peer), make it ours
 * durably. */
int qsnap_fetch_finish(const char *dir, struct quorum_snapshot_id id, char *err, size_t err_len);

#endif
