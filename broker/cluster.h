/* A broker's replication, carried out on its partitions: the state a
 * metadata image assigns, the leader's high watermark, the follower's
 * fetches and what their answers do to the logs (replication/ decides,
 * this file applies it to the seglog), and ISR change requests. No sockets
 * here: broker/cluster_uv.c and the simulator move the bytes; follow.h
 * builds the follower's fetches and applies their answers. */
#ifndef STRATA_CLUSTER_H
#define STRATA_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/strata.pb-c.h"
#include "replication/replica.h"

struct broker;
struct partition;
struct topic;

/* Where p's log stands, its own durable end per flush policy. */
struct replica_log cluster_log_pos(const struct broker *b, const struct partition *p);
/* Recompute a led partition's high watermark (after a follower fetch, our own
 * fsync or an ISR change); bumps hw_version when it moves. */
void cluster_update_hw(struct broker *b, struct partition *p);
/* Adopt the controller's state of partition p (from a metadata image): its
 * role here, leader, epochs and ISR; a new leader epoch starts at the log
 * end (KIP-101). */
/* Open or close partition k's log as the image's replica set says (the
 * hosting rule of topics.h); the entry to apply s to. */
struct partition *cluster_host_partition(struct broker *b, struct topic *tp, uint32_t k,
                                         const Strata__PartitionState *s);
void cluster_apply_partition(struct broker *b, struct partition *p,
                             const Strata__PartitionState *s, int64_t now_ms);
/* Apply a leader's fetch answer to a followed partition: truncate to a
 * divergence point, or append whole, CRC-checked batches (*appended is set
 * then: the caller puts p on the dirty list, see flush_note_append). */
int cluster_follower_apply(struct broker *b, struct partition *p,
                           const Strata__FetchPartitionResult *r, const uint8_t *data,
                           int64_t now_ms, int *appended);
/* One AlterIsr message to the controller, ready to send as is by either
 * glue (cluster_uv.c, the simulator): h points into q, q into epochs
 * (each ISR member's broker epoch, which the controller checks), so it is
 * filled in place and not copied. */
struct cluster_alter_msg {
  Strata__Header h;
  Strata__AlterIsrRequest q;
  int64_t epochs[REPLICAS_MAX];
};
/* The request for p's change to isr. */
void cluster_alter_isr_msg(const struct broker *b, const struct partition *p, const int32_t *isr,
                           uint32_t n, struct cluster_alter_msg *m);
/* A report on p's replica here (AlterIsrRequest.damage_report: 1 damaged,
 * 2 repaired, 3 offline with p->offline_errno, 4 back online). */
void cluster_report_msg(const struct broker *b, const struct partition *p, int what,
                        struct cluster_alter_msg *m);
/* An ISR change for p is on its way to the controller. */
void cluster_isr_sent(struct partition *p, const int32_t *isr, uint32_t n);
/* The controller's answer to it: its view of the partition (NULL when the
 * request failed or timed out: the change stays pending, as it may have
 * been applied, until a metadata image settles it), refused when it said no. */
void cluster_isr_answer(struct broker *b, struct partition *p, const Strata__PartitionState *s,
                        int refused);
/* A fetch of p from replica replica_id reached the leader here: one from
 * outside the ISR may make it grow, and one that ended a grace
 * (recheck: leader_answer.isr_recheck) may make it shrink sooner, so p is
 * looked at at the next tick. */
void cluster_leader_fetched(struct broker *b, struct partition *p, int32_t replica_id,
                            int recheck);
/* Call fn for each partition this broker leads whose ISR should change:
 * only those due in the isr_watch heap are looked at (not every partition
 * at every tick); each goes back in at its next deadline. */
void cluster_isr_changes(struct broker *b, int64_t now_ms,
                         void (*fn)(void *arg, struct partition *p, const int32_t *isr,
                                    uint32_t n),
                         void *arg);

#endif
