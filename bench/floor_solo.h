/* fsync_floor solo: the disk alone at the chain's pace (bench/floor_solo.c
 * says what it measures). */
#ifndef STRATA_BENCH_FLOOR_SOLO_H
#define STRATA_BENCH_FLOOR_SOLO_H

/* Appends 1 KiB records at rate/s for secs s to DIR/fsync-floor-solo.dat,
 * each fdatasynced, and prints the solo floor line; 0, or 1 on failure. */
int floor_solo_run(const char *dir, long rate, long secs);

#endif
