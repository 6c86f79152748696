/* The group commit's bookkeeping (Redis's beforeSleep): the list of
 * partitions with appends or a rolled segment not yet fsynced, up to
 * FLUSH_SYNCS_PER_LOG syncs per partition at a time, and what a finished sync moves (the durable offset,
 * the high watermark). The glue (server_uv.c, the simulator) runs the syncs
 * once per loop turn and wakes the answers that waited for them. */
#ifndef STRATA_FLUSH_H
#define STRATA_FLUSH_H

#include <stdint.h>

struct broker;
struct partition;

/* Syncs of one partition's log in flight at once: appends that arrive while
 * one runs get theirs started at once rather than after it ends, so their
 * data goes to the disk while the first one's journal commit runs (and an
 * acks=all record that lands during a sync waits for about one, not two). */
#define FLUSH_SYNCS_PER_LOG 2
struct seglog_sync;

/* Remember that p has unsynced appends (the glue fsyncs the list). */
void flush_mark_dirty(struct broker *b, struct partition *p);
/* After an append: a partition whose log rolled needs a sync even when the
 * flush policy does not ask for one (the roll's fsyncs run there). */
void flush_note_roll(struct broker *b, struct partition *p);
/* After any append (a follower's too): on the dirty list under flush always,
 * else only when its log rolled. */
void flush_note_append(struct broker *b, struct partition *p);
/* After an append to a partition this broker leads: fsync it (flush
 * always), move the high watermark, wake what waits for data. */
void flush_appended(struct broker *b, struct partition *p);
/* Start a sync for every partition on the dirty list, up to BROKER_SYNCS_MAX
 * in flight (b->syncs_inflight; the glue calls flush_sync_failed for one it
 * could not start): start gets each (its
 * reference moves to the sync) and the seglog's job (dup()ed fds to run with
 * seglog_sync_run off the loop: a rolled segment's files and the directory
 * too, then the active segment). Up to FLUSH_SYNCS_PER_LOG syncs per
 * partition at a time: past that it stays on the list for a later turn, and
 * one whose appends a running sync already covers leaves the list. Every
 * produce appended during a turn shares the sync. on_loop (only when
 * allow_loop): the sync is the only one and small (flush_on_loop), so the
 * glue may run it on the loop's own thread right after flush_begin returns
 * (and then call flush_begin again with allow_loop 0). */
void flush_begin(struct broker *b, int allow_loop,
                 void (*start)(void *arg, struct partition *p, struct seglog_sync *job,
                               int on_loop),
                 void *arg);
/* Bytes up to which one sync may run on the loop (flush always at a low
 * rate: a 4 KiB fdatasync takes ~130 us here, while a thread pool round trip
 * costs two thread wake-ups, each up to a millisecond on a busy machine, on
 * the acks=all chain of every record). Past it, or with another sync in
 * flight, the thread pool runs it: the loop goes on taking appends. */
#define FLUSH_ON_LOOP_BYTES_MAX (64u * 1024)
/* Whether p's sync job may run on the loop: p is not led here (a follower's
 * or a standalone broker's log), the job is one fdatasync of the active
 * segment of at most FLUSH_ON_LOOP_BYTES_MAX, no other sync is in flight,
 * (alone) no other partition waits for one this turn, and no sync on the
 * loop was slow lately (flush_loop_sync_took). */
int flush_on_loop(const struct broker *b, const struct partition *p, const struct seglog_sync *job,
                  int alone);
/* A sync run on the loop took took_us: past FLUSH_ON_LOOP_SLOW_US (the disk
 * stalls: a journal commit behind a discard, a failing device; not its
 * usual hiccups, up to ~10 ms here) the pool runs every sync for
 * FLUSH_ON_LOOP_OFF_MS, so a stalled disk blocks the loop (its heartbeats,
 * other partitions' answers) once, not on every record. */
#define FLUSH_ON_LOOP_SLOW_US 50000
#define FLUSH_ON_LOOP_OFF_MS 10000
void flush_loop_sync_took(struct broker *b, int64_t took_us, int64_t now_ms);
/* That sync finished (status 0 or STRATA_E*): move the durable offset and
 * the high watermark, and put the partition back on the dirty list if it
 * took appends meanwhile or a roll still waits. Drops the caller's
 * reference. */
void flush_done(struct broker *b, struct partition *p, const struct seglog_sync *job,
                int status);
/* The glue could not start a sync flush_begin handed it (no thread pool
 * slot): the partition is no longer syncing; drops the reference. */
void flush_sync_failed(struct broker *b, struct partition *p);

#endif
