/* A follower broker's fetches, for both adapters (broker/cluster_uv.c and
 * the simulator): which leaders it follows, what its fetcher needs to know
 * of them (replication/fetcher.h), the next fetch request to a leader, and
 * an answer applied to the partitions followed there (cluster.c carries out
 * each partition's plan; appended partitions go on the dirty list). */
#ifndef STRATA_FOLLOW_H
#define STRATA_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "proto/strata.pb-c.h"
#include "broker/follow_index.h"
#include "replication/fetcher.h"

struct broker;


/* The leaders this broker follows some partition from (at most max). */
size_t follow_leaders(struct broker *b, int32_t *leaders, size_t max);
/* An event for fetcher f of `leader`, with what it needs to know of the partitions
 * followed there (any? all fsynced to their end? the latter only
 * looked at when f can use it: while it waits for an fsync, or for an answer). */
struct fetcher_event follow_event(struct broker *b, int32_t leader, const struct fetcher *f,
                                  enum fetcher_event_type type, int64_t now_ms);
/* A follower fetch's partitions, filled anew for each request. */
struct follow_storage {
  Strata__FetchPartition parts[FETCH_PARTITIONS_MAX];
  Strata__FetchPartition *partv[FETCH_PARTITIONS_MAX];
};
/* The next fetch from `leader`: an entry per partition followed there (up
 * to FETCH_PARTITIONS_MAX; past that, each fetch starts where the last one
 * stopped, so every partition is fetched in turn), positions reported as
 * fsynced under flush always. Returns the count (q points into st). */
size_t follow_request(struct broker *b, int32_t leader,
                             struct follow_storage *st, Strata__FetchRequest *q);
/* Apply a fetch answer from `leader` (resp NULL: none came) to the
 * partitions followed there; says how it went, for fetcher_step. */
enum fetcher_answer follow_answer(struct broker *b, int32_t leader,
                                         const Strata__Header *resp, const uint8_t *pl,
                                         size_t pn);
#endif
