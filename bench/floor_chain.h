/* fsync_floor chain: the ideal RF 3 acks=all chain of four processes
 * (bench/floor_chain.c says what it models and leaves out): the client in
 * floor_chain.c, the leader in floor_leader.c, the followers in
 * floor_follower.c. */
#ifndef STRATA_BENCH_FLOOR_CHAIN_H
#define STRATA_BENCH_FLOOR_CHAIN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Runs the chain at rate records/s for secs s, the leader's file in dir
 * and the followers' in f1_dir and f2_dir, and prints the chain floor's
 * two lines; 0, or 1 when anything failed (said on stderr). */
int floor_chain_run(const char *dir, long rate, long secs, int prewritten, const char *f1_dir,
                    const char *f2_dir);

struct chain_report { /* what a replica tells the client at its end */
  int ok;
  size_t nsync;
  int64_t p50, p99, max; /* its fdatasync durations, ns */
};

/* A replica's last word: sorts its n fdatasync durations v and writes
 * the chain_report to result_fd (exits if it cannot). */
void floor_report_syncs(int result_fd, int ok, int64_t *v, size_t n);

/* The replicas, each in its own process, which they end (_exit): ls is the
 * listening socket it accepts its peer on (closed then), fd its file, cap
 * the most fdatasync durations it keeps, result_fd where its report goes.
 * The leader connects to both followers first. */
void floor_follower_main(int ls, int fd, size_t cap, int result_fd);
void floor_leader_main(int ls, const struct sockaddr_in *f1, const struct sockaddr_in *f2, int fd,
                       size_t cap, int result_fd);

#endif
