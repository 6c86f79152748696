/* What a replica does about a damaged batch in its own log (issue 15, T8):
 * tell the controller (which takes it out of the ISR, and hands its
 * leadership to a healthy in-sync replica, so it cannot lead while
 * damaged), cut its log at the damaged batch once it no longer leads,
 * refetch from the leader, and tell the controller it is repaired once its
 * log is back where it was (the leader then adds it to the ISR again when
 * it has caught up). A leader never cuts: when no healthy copy exists it
 * keeps leading and its reads answer the damage. Pure: the caller applies
 * the actions and feeds back what changed. */
#ifndef STRATA_DAMAGE_H
#define STRATA_DAMAGE_H

#include <stdint.h>

/* Zeroed is wrong: damage_init. */
struct damage {
  int64_t found_at;  /* lowest damaged batch not yet cut (-1: none) */
  int64_t repair_to; /* after a cut: the offset to reach again (-1: not repairing) */
};

/* What the replica sees now. */
struct damage_view {
  int role;       /* ROLE_* (replication/replica.h) */
  int marked;     /* the controller's metadata lists this replica as damaged */
  int64_t log_end;
  int checked;    /* the whole log was checked since this process started (a scrub
                     pass over it found nothing), or nothing will check it */
};

#define DAMAGE_REPORT 1          /* ask the controller to mark this replica damaged */
#define DAMAGE_CUT 2             /* truncate the log at found_at, then damage_cut_done */
#define DAMAGE_REPORT_REPAIRED 4 /* ask the controller to unmark it */
#define DAMAGE_DONE 8            /* healthy again, nothing to track */

void damage_init(struct damage *d);
/* A read or scrub found the batch at `offset` damaged. Returns 1 when it is
 * new (lower than any known: count it, log it). */
int damage_found(struct damage *d, int64_t offset);
/* 1 while anything is tracked (damaged, or repairing). */
int damage_pending(const struct damage *d);
/* The actions due now (DAMAGE_* flags). */
int damage_plan(const struct damage *d, const struct damage_view *v);
/* The log was cut at found_at; `hw` was this replica's high watermark
 * before: what the cluster committed and it must hold again. (Not its old
 * end: a tail nobody committed may be gone from the leader too.) */
void damage_cut_done(struct damage *d, int64_t hw);
/* DAMAGE_DONE applied. */
void damage_clear(struct damage *d);

#endif
