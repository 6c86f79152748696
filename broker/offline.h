/* Partitions whose log this broker cannot open (issue 15: a directory
 * replaced by a file, EACCES, a failing disk): each is offline here alone.
 * The controller is told (AlterIsr damage_report 3 with the errno), marks
 * the replica offline (out of the ISR, never elected: controller/ctrl.c)
 * and `strata cluster status` shows why; the broker tries to open it again
 * with a bounded backoff (OFFLINE_RETRY_MIN_MS doubling to
 * OFFLINE_RETRY_MAX_MS, so no retry loop burns CPU) and, once it opens,
 * says so (report 4) and takes its role from the metadata image again.
 * Nothing here runs while no partition is offline. */
#ifndef STRATA_OFFLINE_H
#define STRATA_OFFLINE_H

#include <stdint.h>

struct broker;
struct partition;

#define OFFLINE_RETRY_MIN_MS 1000
#define OFFLINE_RETRY_MAX_MS 30000
/* Reports repeat at most this often while the controller's image does not
 * show them (an answer lost, the controller moved). */
#define OFFLINE_REPORT_MS 1000

/* What the controller's image says of p's offline replicas (from
 * PartitionState.offline): kept for metadata answers. */
void offline_marked(struct broker *b, struct partition *p, const int32_t *ids,
                    const int32_t *errnos, uint32_t n);
/* At each replication tick: retry opening what is due, and report what the
 * controller has not been told (report(arg, p, 3) offline, (..., 4) open
 * again; p->offline_errno says why). Returns 1 when a log opened again
 * (the caller has the current metadata image applied again, so that the
 * partition takes its role). */
int offline_tick(struct broker *b, void (*report)(void *arg, struct partition *p, int what),
                 void *arg);

#endif
