/* The broker's index of followed partitions by leader (struct broker holds
 * one; broker/follow.c builds and reads it). Apart from follow.h so that
 * broker.h needs no replication or protocol header. */
#ifndef STRATA_FOLLOW_INDEX_H
#define STRATA_FOLLOW_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct partition;

/* The partitions followed from one leader, in topic order, and where the
 * next fetch starts when they do not all fit in one (rotation). */
struct follow_set {
  int32_t leader;
  struct partition **v; /* each holds a reference */
  size_t n, cap;
  size_t next;
  /* The fetch session with this leader (KIP-227, broker/rsess.h has the
   * leader's side): its id (0: none, the next fetch is full) and the epoch
   * the next incremental fetch carries; gen tags the positions sent in it
   * (partition.fsent), new for each full fetch. */
  int32_t session_id, session_epoch;
  uint32_t gen;
  int awaiting;     /* a fetch is out whose answer follow_answer has not seen */
  int sent_full;    /* that fetch was a full one */
};
/* Every followed partition by leader, rebuilt only when a new metadata image
 * was applied (roles and leaders change only there), so the per-tick steps
 * cost nothing per partition (issue 15). */
struct follow_index {
  int64_t built_for; /* 1 + b->meta_applied when built; 0: never */
  struct follow_set *sets;
  size_t nsets;
  uint32_t gen_next;   /* the last session generation handed out */
  uint64_t full_fetches, incremental_fetches, session_resets; /* for /metrics */
};
/* Drop every set (and the references they hold). */
void follow_index_free(struct follow_index *x);

#endif
