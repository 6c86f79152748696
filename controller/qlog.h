/* The quorum's metadata log on disk (issue 14, item 2): the Raft log of
 * the controller quorum, one RecordBatch v2 per metadata record, in
 *   <dir>/quorum.log   batch*   (baseOffset = the record's offset,
 *                                partitionLeaderEpoch = the quorum epoch
 *                                that wrote it)
 * The record's value is the packed MetadataRecord; an empty value is the
 * LeaderChange control record a new leader appends (applies nothing).
 * A fetch answer carries these batches as they are on disk.
 *
 * Why one record per batch: a Raft truncation cuts at any offset, and a
 * batch is the unit of a CRC; with one record each, every offset is a
 * batch boundary, so truncation is an ftruncate and the index is an array.
 * Metadata rates are small: 61 bytes of header per record is nothing.
 *
 * Writes go to the page cache (write(2), on the loop: that does not wait
 * for the disk); the fdatasync is the caller's, off the loop (quorum_uv.c),
 * and a truncation bumps `truncations` so a sync that began before it is
 * not reported as covering what came after.
 *
 * Recovery (qlog_open): every batch whole, CRC-correct, with the next
 * offset and an epoch not below the previous one; a torn last batch (cut
 * short, or its CRC failing while nothing follows) is cut and the rest is
 * fsynced. A bad batch with good batches after it stops the controller:
 * never guess at cluster metadata. After a snapshot (qnode.c, qsnap.h) the
 * log starts past 0: the prefix the snapshot covers is dropped by
 * rewriting the file (qlog_drop_prefix); its first batch's offset is the
 * start. */
#ifndef STRATA_QLOG_H
#define STRATA_QLOG_H

#include <stddef.h>
#include <stdint.h>

#include "controller/quorum.h"

#define QLOG_FILE "quorum.log"
#define QLOG_RECORD_MAX (16u << 20)

struct qlog {
  char path[4200];
  int fd;
  int64_t start;      /* log start offset: records [start, end); past 0 after a snapshot */
  int64_t end;        /* log end offset */
  int64_t *pos;       /* pos[o - start]: the file position of record o's batch; [end]: file length */
  int32_t *epoch;     /* epoch[o - start]: its partition leader epoch */
  size_t cap;
  uint64_t truncations; /* bumped by each truncation (see above) */
  int64_t trunc_low;    /* the lowest offset truncated to since its owner last set it to
                           INT64_MAX (the simulator's disk model reads it; servers do not) */
  int created;          /* qlog_open made the file (it was not there) */
};

/* Open (create) dir/quorum.log and recover it. 0, or a negative STRATA_E*
 * with err saying why. */
int qlog_open(struct qlog *l, const char *dir, char *err, size_t err_len);
void qlog_close(struct qlog *l);

/* Append the record at offset l->end (asserted by the caller's core:
 * offset must equal end, else STRATA_EINVALID_ARGUMENT): value empty for a
 * LeaderChange. */
int qlog_append(struct qlog *l, int64_t offset, int32_t epoch, const uint8_t *value,
                size_t value_len);
/* Append whole batches received from the leader for offsets [from, to):
 * batches outside that range are skipped; each must hold one record at the
 * next offset, or STRATA_EINVALID_REQUEST and nothing more is appended. */
int qlog_append_batches(struct qlog *l, const uint8_t *p, size_t len, int64_t from, int64_t to);
/* Cut the log to [0, offset). */
int qlog_truncate(struct qlog *l, int64_t offset);

/* The batches of offsets [from, to) as stored (malloc'd into *out). */
int qlog_read(const struct qlog *l, int64_t from, int64_t to, uint8_t **out, size_t *out_len);
/* Record offset's value (malloc'd, *len 0 for a LeaderChange). */
int qlog_value(const struct qlog *l, int64_t offset, uint8_t **value, size_t *len);

/* Drop records [start, to) (a snapshot holds them): the file is rewritten
 * with the rest (durably: tmp, fsync, rename, directory fsync). The
 * metadata log's suffix past a committed snapshot is short, so a rewrite is
 * cheap, keeps one file and the array index, and is atomic by rename (a
 * segment scheme would trade that for not copying the suffix). *old_fd:
 * the previous descriptor, for the caller to close once no fdatasync runs
 * on it (-1 none). */
int qlog_drop_prefix(struct qlog *l, int64_t to, int *old_fd);
/* Replace the log by an empty one starting at start (>= the log start):
 * an installed leader's snapshot holds everything before it, and what we
 * held past it goes too. *old_fd as above. */
int qlog_reset(struct qlog *l, int64_t start, int *old_fd);
/* The bytes records [from, to) take in the file. */
int64_t qlog_bytes(const struct qlog *l, int64_t from, int64_t to);

/* Where each epoch starts, oldest first, for the core's START event. */
uint32_t qlog_epochs(const struct qlog *l, struct quorum_epoch_start *out, uint32_t max);
/* The epoch of record offset (0 outside the log). */
int32_t qlog_epoch_at(const struct qlog *l, int64_t offset);

#endif
