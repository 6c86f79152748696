/* A broker's side of log integrity (issue 15): what a damaged batch found
 * by a read or the scrubber does (count it, log it loudly, answer the
 * fetch), the scrubber's walk over every partition log at its paced rate,
 * and the repair steps replication/damage.h plans (report to the
 * controller, cut the log, report repaired). No libuv: the glue calls these
 * from its timers and sends the reports. */
#ifndef STRATA_INTEGRITY_H
#define STRATA_INTEGRITY_H

#include <stdint.h>

#include "broker/seglog.h"

struct broker;
struct partition;

/* Start the scrubber's pacing from the broker's settings (the glue, once
 * the broker is open; until then the scrubber is off), and load where each
 * partition's damage repair stood before a restart (integrity_load). */
void integrity_init(struct broker *b, int64_t now_ms);
/* A read or scrub of p's log returned STRATA_ECORRUPT: note the damage
 * (the log remembers where). */
void integrity_found(struct broker *b, struct partition *p);
/* The error a fetch gets at p's damaged batch: NOT_LEADER while another
 * in-sync replica holds a healthy copy (the controller moves leadership to
 * it, the client retries there), CORRUPT when none does (said loudly). */
int integrity_read_error(struct broker *b, struct partition *p);
/* The scrubber's next read (issue 15): the reads and CRC checks run off
 * the event loop (seglog_scrub_run on the job, in the glue's thread pool),
 * the walk and every decision here, on the loop. next: 1 with job filled
 * (a reference on its partition; one job at a time) when this tick's
 * budget allows a read, 0 when there is nothing to read now (logs settled
 * without a read, a pass that ended, are settled here). done: the job's
 * result applied (then the job is over). */
/* At start: where p's damage stood before the restart (its partition
 * directory's damage.state), so that it repairs on from there. */
void integrity_load(struct broker *b, struct partition *p);

struct integrity_scrub_job {
  struct partition *p;
  struct seglog_scrub_job j;
};
int integrity_scrub_next(struct broker *b, int64_t now_ms, struct integrity_scrub_job *job);
void integrity_scrub_done(struct broker *b, struct integrity_scrub_job *job, int64_t now_ms);
/* The controller's damaged list for p as an image or ISR answer gave it. */
void integrity_marked(struct broker *b, struct partition *p, const int32_t *damaged, uint32_t n);
/* Repair steps due now; report(arg, p, 1 damaged | 2 repaired) asks the
 * controller (the glue sends it, setting p->damage_sending until answered). */
void integrity_repair_tick(struct broker *b,
                           void (*report)(void *arg, struct partition *p, int what), void *arg);
/* Partitions whose replica here is damaged or repairing (for status). */
uint32_t integrity_damaged_count(const struct broker *b);

#endif
