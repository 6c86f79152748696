/* The quorum's snapshot file (KIP-630 in quorum mode; issue 14): the image
 * of the committed metadata state at a committed offset,
 *   <dir>/quorum-snapshot   "SQS1" | end_offset i64 | epoch i32 |
 *                           u32 length | u32 crc32c | MetadataImage
 * (big endian), the same image a single controller's snapshot holds. The
 * id (end_offset, epoch) is the core's quorum_snapshot_id: it covers the
 * records [0, end_offset), the last of them of that epoch. A follower
 * fetches the leader's file as it is, chunk by chunk, into
 * <dir>/quorum-snapshot.fetch, checks it whole and renames it over its
 * own. Writes are durable (tmp, fsync, rename, directory fsync), on the
 * loop: a snapshot is rare (every metadata.log.max.record.bytes.between.
 * snapshots of records) and small. */
#ifndef STRATA_QSNAP_H
#define STRATA_QSNAP_H

#include <stddef.h>
#include <stdint.h>

#include "controller/ctrl.h"
#include "controller/quorum.h"

#define QSNAP_FILE "quorum-snapshot"
#define QSNAP_FETCH_FILE "quorum-snapshot.fetch"
#define QSNAP_HEADER 24

/* Write c's image as snapshot id, durably. */
int qsnap_write(const char *dir, const struct ctrl *c, struct quorum_snapshot_id id, char *err,
                size_t err_len);
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
