/* A partition replica's log on disk: segment files named by base offset
 * (<20-digit base>.log), a sparse offset index (.index: u32 relative offset,
 * u32 file position, big-endian) and a time index (.timeindex: i64
 * timestamp, u32 relative offset) beside each, as in Kafka. Appends assign
 * offsets by rewriting only batch headers. Reads return file ranges that the
 * server copies out without decoding records. Durability is explicit and can
 * run off the event loop, also for a roll: sync_begin hands out the fds to
 * fsync, sync_end reports them done. The clock is an argument (now_ms), never read here.
 *
 * On open the active (last) segment, and the one before it (a roll's
 * background sync may not have finished), are scanned batch by batch (header
 * + CRC32C) and a torn or corrupt tail is truncated (later segments of a torn
 * closed one are deleted: none of it was durable); data before it is never
 * touched. Indexes are rebuilt when missing or inconsistent. The format and
 * crash windows are in docs/storage.md. Not thread-safe: one owner.
 *
 * Descriptors come from a cache (broker/fdcache.h, seglog_config.fdcache)
 * that a broker's logs share: a file is opened on use and closed when the
 * cache needs room, so a log holds none while idle; a file that cannot be
 * opened again fails that log's call (STRATA_EIO), not the others'. */
#ifndef STRATA_SEGLOG_H
#define STRATA_SEGLOG_H

#include <stddef.h>
#include <stdint.h>

#define SEGLOG_INDEX_ENTRY_SIZE 8
#define SEGLOG_TIMEINDEX_ENTRY_SIZE 12
/* A segment's positions and relative offsets are u32. */
#define SEGLOG_SEGMENT_BYTES_MAX (1ull << 31)
#define SEGLOG_SEGMENT_BYTES_MIN (64u << 10)

struct fdcache;

struct seglog_config {
  /* Where the log's descriptors come from (broker/fdcache.h): one cache
   * shared by all of a broker's logs bounds the descriptors they hold
   * together. NULL: the log keeps a small cache of its own. Not owned. */
  struct fdcache *fdcache;
  uint64_t segment_bytes;        /* roll before an append would pass this (default 1 GiB) */
  int64_t segment_ms;            /* roll when the active segment's first batch is older (default 7 days) */
  uint32_t index_interval_bytes; /* bytes between sparse index entries (default 4096) */
  int64_t retention_ms;          /* -1: keep forever (default 7 days) */
  int64_t retention_bytes;       /* -1: no size limit (default) */
};

void seglog_config_defaults(struct seglog_config *c);

struct seglog;

/* Open (creating the directory if missing) and recover. Returns NULL and sets
 * *err on failure. now_ms is used only for timing decisions. */
struct seglog *seglog_open(const char *dir, const struct seglog_config *cfg,
                           int64_t now_ms, int *err);
/* Closes fds and frees memory; does not fsync (call seglog_sync first for a
 * clean shutdown). */
/* A NULL log stands for a partition whose log could not be opened (an
 * offline replica, broker/topics.c): every function takes it, reads it as
 * empty (offsets 0, nothing damaged, nothing to sync or scrub) and refuses
 * every read and write with STRATA_EIO; the broker gives such a partition
 * no role, so none of that is reached in normal operation (issue 15). */
void seglog_close(struct seglog *log);
/* Close every descriptor the log holds in its cache (they open again on
 * use): seglog_open ends with it, so a partition holds descriptors only
 * while it is used. Unsynced data stays in the page cache; the next sync
 * opens the file again and covers it. */
void seglog_release_fds(struct seglog *log);

int64_t seglog_start_offset(const struct seglog *log); /* first offset kept */
int64_t seglog_end_offset(const struct seglog *log);   /* log end offset (next offset) */
int64_t seglog_durable_offset(const struct seglog *log); /* offsets below are fsynced */
uint64_t seglog_size_bytes(const struct seglog *log);  /* all segments */
unsigned seglog_segment_count(const struct seglog *log);
/* Whether an append of len bytes now goes into the active segment with no
 * reason to start a new one (segment.bytes, segment.ms, the u32 position
 * limit), counting even an empty segment's size: a produce request's
 * entries for one partition are appended together only while this holds
 * for all of them, so segments roll where they would one entry at a time. */
int seglog_append_fits(const struct seglog *log, uint64_t len, int64_t now_ms);
/* Bytes cut from the active segment by the last recovery (0 when its tail was
 * intact): lets the caller log what recovery did. */
uint64_t seglog_recovered_truncated_bytes(const struct seglog *log);
/* errno of the append that last failed (ENOSPC on a full disk), 0 once one
 * succeeds again: lets a produce error say why, not only "I/O error". */
int seglog_write_errno(const struct seglog *log);

/* Leader append: `batches` holds len bytes of whole, already validated
 * batches. Assigns consecutive offsets from the log end by rewriting each
 * batch's baseOffset (and partitionLeaderEpoch to leader_epoch unless it is
 * -1), in place, then writes them (no fsync). Rolls first when needed. Sets
 * *base_offset to the first assigned offset. Returns 0 or a negative
 * STRATA_E*; on error nothing is visible (the log end does not move). */
int seglog_append(struct seglog *log, uint8_t *batches, size_t len,
                  int32_t leader_epoch, int64_t now_ms, int64_t *base_offset);

/* Follower append: batches keep their offsets; the first must start at the
 * log end offset and they must be contiguous, else STRATA_EINVALID_RECORD. */
int seglog_append_replica(struct seglog *log, const uint8_t *batches,
                          size_t len, int64_t now_ms);

/* Remove every record at offset >= `offset` (must be >= start offset);
 * truncation is at a batch boundary: the batch containing `offset` goes too
 * if `offset` is not its base. Durable offset is clamped. */
int seglog_truncate(struct seglog *log, int64_t offset);

/* A range of one segment file holding whole batches, starting with the batch
 * that contains the requested offset. The fd belongs to the log's descriptor
 * cache: it stays valid until the next call on any log sharing that cache
 * (which may close it to open another); read it at once. -1 when len is 0. */
struct seglog_slice {
  int fd;
  uint64_t pos;
  uint32_t len;
  int64_t first_offset; /* baseOffset of the first batch in the slice */
};

/* Read from `offset` up to max_bytes, never past the end of the last batch
 * whose records are all below max_offset (the high watermark; pass the log end
 * for everything). The first batch is returned whole even when larger than
 * max_bytes, so a reader always progresses; later batches may be cut at
 * max_bytes (the reader drops a partial last batch, as Kafka clients do).
 * offset == max_offset gives len 0. A slice never spans segments.
 * STRATA_EOFFSET_OUT_OF_RANGE when offset < start or offset > end. */
int seglog_read(struct seglog *log, int64_t offset, uint32_t max_bytes,
                int64_t max_offset, struct seglog_slice *out);

/* First offset whose record timestamp is >= ts (exact, to the record), and
 * that record's timestamp; *offset = -1 when there is none. */
/* The largest record timestamp in the log (-1 when empty). */
int64_t seglog_max_timestamp(const struct seglog *log);
int seglog_offset_for_time(struct seglog *log, int64_t ts, int64_t *offset,
                           int64_t *found_ts);

/* Delete whole old segments (never the active one) past retention_ms (by
 * their largest timestamp) or while the log is over retention_bytes. Returns
 * the number of segments deleted or a negative STRATA_E*. */
int seglog_apply_retention(struct seglog *log, int64_t now_ms);
/* Delete every whole segment below `offset` (never the active one): the
 * leader moved its log start there, or a compaction superseded them. The
 * number deleted or a negative STRATA_E*. */
int seglog_delete_before(struct seglog *log, int64_t offset);
/* Drop everything and start empty at `offset`: a follower whose log ends
 * below the leader's log start. */
int seglog_reset(struct seglog *log, int64_t offset, int64_t now_ms);

/* Durability in two steps so the fsyncs can run on another thread (group
 * commit, and a roll's fsyncs, which never run on the caller's thread).
 * seglog_sync_begin fills a job: dup()ed fds to sync in order (the segment a
 * roll closed, its two indexes, the directory when a segment file was
 * created since its last fsync, the active segment) and the end offset they
 * cover; n == 0 when all is durable. Any thread runs seglog_sync_run (syncs
 * and closes the fds; seglog_sync_discard only closes them); then
 * seglog_sync_end(log, job, status) on the owner's thread advances the
 * durable offset. A failed sync, or one begun before a truncate or reset,
 * changes nothing. Several syncs of one log may run at once and end in any
 * order: each covers what was written before it began (fdatasync waits for
 * writeback another sync started too), and the durable offset only grows. */
#define SEGLOG_SYNC_FDS_MAX 5
struct seglog_sync {
  int fd[SEGLOG_SYNC_FDS_MAX];
  uint8_t full[SEGLOG_SYNC_FDS_MAX]; /* 1: fsync (a directory), 0: fdatasync */
  unsigned n;
  int64_t end_offset;
  uint64_t bytes; /* appended since the sync before began (a size hint) */
  /* for seglog_sync_end */
  uint64_t gen, dir_seq;
  int64_t pending_base;
};
int seglog_sync_begin(struct seglog *log, struct seglog_sync *job);
int seglog_sync_run(struct seglog_sync *job);
void seglog_sync_discard(struct seglog_sync *job);
void seglog_sync_end(struct seglog *log, const struct seglog_sync *job, int status);
/* begin + run + end, on the calling thread. */
int seglog_sync(struct seglog *log);
/* 1 while a roll waits for its sync (the closed segment or the new file's
 * directory entry): the broker starts one even under flush policy os, and
 * the next roll waits for it. */
int seglog_roll_unsynced(const struct seglog *log);

/* Call fn with the header of every batch, oldest first (headers only: one
 * pread each). Rebuilds the leader-epoch cache from the batches themselves,
 * so it can never disagree with the log. Stops at fn's first non-zero. */
struct batch_header;
int seglog_for_each_batch(struct seglog *log,
                          int (*fn)(void *arg, const struct batch_header *h), void *arg);

/* Integrity (issue 15). Check a slice just read into buf (sl->len bytes):
 * each whole batch's header, offset contiguity and CRC32C, except bytes this
 * process already verified (appended after validation, scanned by recovery,
 * read-verified or scrubbed since it started; reads never re-check those,
 * so the hot tail costs nothing and an old segment is checked once: rot
 * after that is the scrubber's to find). *good_len: bytes of whole good
 * batches from the start (sl->len when all is well). STRATA_ECORRUPT when a
 * batch is damaged; the log remembers it (seglog_damaged_at). */
int seglog_verify_read(struct seglog *log, const struct seglog_slice *sl, const uint8_t *buf,
                       uint32_t *good_len);
/* Scrub from *offset: read and check whole batches (at least one) for about
 * `budget` bytes, the verified marks notwithstanding, advancing *offset past
 * them; *bytes gets what was read. 1 when *offset reached the log end (a
 * pass over this log is done), 0 when there is more, STRATA_ECORRUPT
 * (remembered as by a read) or another STRATA_E*. */
int seglog_scrub(struct seglog *log, int64_t *offset, uint64_t budget, uint64_t *bytes);
/* The same in three steps, so that the reads and CRC checks run off the
 * event loop (issue 15; broker/server_uv.c's thread pool): begin (loop)
 * finds what to read from *offset (whole batches, about budget bytes, one
 * segment) and dup()s its descriptor: 0 with job filled, 1 when the log is
 * done, or an error (damage noted as by a read); run (any thread, touches
 * only the job) reads and checks; end (loop) applies it: the job's
 * descriptor closed, *bytes read, *offset moved, damage noted; returns like
 * seglog_scrub. A job begun before a cut, reset or retention of that
 * segment changes nothing (the walk goes on). discard: closes the
 * descriptor of a job that will not end. */
struct seglog_scrub_job {
  int fd;
  uint64_t gen;
  int64_t seg_base, seg_end, expect;
  uint64_t seg_size, pos, len;
  /* set by run */
  int rc;
  uint64_t good;
  int64_t next;
  const char *what; /* the failed check, NULL: none */
};
int seglog_scrub_begin(struct seglog *log, int64_t *offset, uint64_t budget,
                       struct seglog_scrub_job *job);
void seglog_scrub_run(struct seglog_scrub_job *job);
int seglog_scrub_end(struct seglog *log, struct seglog_scrub_job *job, int64_t *offset,
                     uint64_t *bytes);
void seglog_scrub_discard(struct seglog_scrub_job *job);
/* Offset of the lowest damaged batch found (the log is intact below it), or
 * -1. A truncation at or below it, or a reset, forgets it; one exactly at it
 * cuts at its remembered position (its header may not decode). */
int64_t seglog_damaged_at(const struct seglog *log);
/* Distinct damaged batches found since open. */
uint64_t seglog_corrupt_found(const struct seglog *log);

#endif
