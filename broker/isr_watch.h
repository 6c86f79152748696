/* Which partitions this broker leads may want an ISR change, and when
 * (issue 15: idle partitions cost nothing per tick). A min-heap of
 * partitions by the time to look at them next: now, after an event that may
 * allow a change (a new image, the controller's answer, a fetch from a
 * replica outside the ISR), or the deadline replica_isr_deadline gives (a
 * member's lag window running out). cluster_isr_changes pops only what is
 * due. The heap holds a reference on each partition in it; a deleted one
 * is dropped when it comes up. No I/O, no clock: the time comes in. */
#ifndef STRATA_ISR_WATCH_H
#define STRATA_ISR_WATCH_H

#include <stddef.h>
#include <stdint.h>

struct partition;

struct isr_watch {
  struct partition **v; /* heap by watch_at; v[i]->watch_idx == i + 1 */
  size_t n, cap;
};

/* Look at p no later than at (an earlier time already set stays). */
void isr_watch_at(struct isr_watch *w, struct partition *p, int64_t at);
/* The partition due first at now (removed from the heap, its reference
 * handed to the caller), or NULL when none is due. */
struct partition *isr_watch_pop(struct isr_watch *w, int64_t now_ms);
/* Drop every entry (and its reference). */
void isr_watch_free(struct isr_watch *w);

#endif
