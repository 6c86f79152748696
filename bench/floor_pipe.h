/* fsync_floor pipe: the ideal socket -> file pipe, as one broker under
 * acks=1 and log.flush.policy=always (bench/floor_pipe.c says what it
 * models and leaves out). */
#ifndef STRATA_BENCH_FLOOR_PIPE_H
#define STRATA_BENCH_FLOOR_PIPE_H

#define CHUNK_MAX (64 << 20) /* the pipe's largest chunk */
#define WINDOW_MAX 64        /* the pipe's most chunks unacknowledged */

/* Sends MIB MiB in CHUNK_KiB chunks, at most window unacknowledged, into
 * DIR/fsync-floor-pipe.dat and prints the pipe floor line; 0, or 1 when
 * anything failed (said on stderr). */
int floor_pipe_run(const char *dir, long mib, long chunk_kib, int window);

#endif
