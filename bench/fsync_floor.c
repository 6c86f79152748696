/* The machine's own floors for the two fsync-path targets of issue 15
 * (item 4), measured by scripts/bench-fsync.sh in the same run as the
 * broker and the disk, so each gap splits into Strata's own cost and what
 * the machine allows at all (2 shared cores, one file system: the client
 * and every broker share both). Plain C, no libuv, no Strata code but the
 * CRC32C the broker uses. One binary, three modes; the top of each mode's
 * file says what it models, what it leaves out and what it prints:
 *
 *   fsync_floor pipe DIR MIB [CHUNK_KiB=1024 [WINDOW=8]]    floor_pipe.c
 *     the ideal socket -> file pipe (one broker, acks=1, flush always)
 *   fsync_floor chain DIR RATE SECS [prewritten] [F1_DIR F2_DIR]
 *     the ideal RF 3 acks=all chain                          floor_chain.c
 *     (its leader in floor_leader.c, its followers in floor_follower.c)
 *   fsync_floor solo DIR RATE SECS                           floor_solo.c
 *     the disk alone at the chain's pace
 *
 * Shared: floor_common.c (children, files, signals, clock, sockets,
 * latency lines), group_commit.c (the group commit thread). This file reads
 * the command line and runs the mode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/floor_chain.h"
#include "bench/floor_common.h"
#include "bench/floor_pipe.h"
#include "bench/floor_solo.h"

static int usage(void) {
  fprintf(stderr, "usage: fsync_floor pipe DIR MIB [CHUNK_KiB [WINDOW]]\n"
                  "       fsync_floor chain DIR RATE SECS [prewritten] [F1_DIR F2_DIR]\n"
                  "       fsync_floor solo DIR RATE SECS\n");
  return 2;
}

int main(int argc, char **argv) {
  floor_install_signals();
  if (argc >= 4 && !strcmp(argv[1], "pipe")) {
    long mib = atol(argv[3]);
    long kib = argc > 4 ? atol(argv[4]) : 1024;
    long window = argc > 5 ? atol(argv[5]) : 8;
    if (mib < 1 || mib > (1L << 20) || kib < 1 || (kib << 10) > CHUNK_MAX || window < 1 ||
        window > WINDOW_MAX || ((uint64_t)mib << 20) < (uint64_t)kib << 10)
      return usage();
    return floor_pipe_run(argv[2], mib, kib, (int)window);
  }
  if (argc >= 5 && !strcmp(argv[1], "chain")) {
    long rate = atol(argv[3]), secs = atol(argv[4]);
    int pre = argc > 5 && !strcmp(argv[5], "prewritten");
    int rest = argc - 5 - pre; /* F1_DIR F2_DIR or nothing */
    if (rate < 1 || rate > RATE_MAX || secs < 1 || secs > SECS_MAX || rate * secs > RECORDS_MAX ||
        (rest != 0 && rest != 2))
      return usage();
    return floor_chain_run(argv[2], rate, secs, pre, rest ? argv[5 + pre] : argv[2],
                           rest ? argv[6 + pre] : argv[2]);
  }
  if (argc == 5 && !strcmp(argv[1], "solo")) {
    long rate = atol(argv[3]), secs = atol(argv[4]);
    if (rate < 1 || rate > RATE_MAX || secs < 1 || secs > SECS_MAX || rate * secs > RECORDS_MAX)
      return usage();
    return floor_solo_run(argv[2], rate, secs);
  }
  return usage();
}
