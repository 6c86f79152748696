/* Cluster mode replication of a broker, both sides: the leader's high
 * watermark, the partition state a metadata image assigns (role, leader
 * epoch, ISR), the follower's appends and divergence truncation, and the
 * requests to the controller (register, heartbeat, ISR changes). No sockets
 * here (cluster_uv.c moves the bytes). */
#ifndef STRATA_CLUSTER_H
#define STRATA_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/strata.pb-c.h"
#include "replication/replica.h"

struct broker;
struct partition;

/* Where p's log stands, its own durable end per flush policy. */
struct replica_log cluster_log_pos(const struct broker *b, const struct partition *p);
/* Recompute a led partition's high watermark (after a follower fetch, our own
 * fsync or an ISR change); bumps hw_version when it moves. */
void cluster_update_hw(struct broker *b, struct partition *p);
/* Adopt the controller's state of partition p (from a metadata image): its
 * role here, leader, epochs and ISR; a new leader epoch starts at the log
 * end (KIP-101). */
void cluster_apply_partition(struct broker *b, struct partition *p,
                             const Strata__PartitionState *s, int64_t now_ms);
/* Apply a leader's fetch answer to a followed partition: truncate to a
 * divergence point, or append whole, CRC-checked batches (*appended is set
 * then: the caller puts p on the dirty list, see flush_note_append). */
int cluster_follower_apply(struct broker *b, struct partition *p,
                           const Strata__FetchPartitionResult *r, const uint8_t *data,
                           int64_t now_ms, int *appended);
/* A follower's fetch from `leader`: an entry per partition followed there
 * (up to max), positions reported as fsynced under flush always. Returns
 * the count. */
size_t cluster_fetch_entries(struct broker *b, int32_t leader, Strata__FetchPartition *fps,
                             Strata__FetchPartition **fpv, size_t max);
/* Every partition followed from `leader` is fsynced to its end: the next
 * fetch may report it. */
int cluster_followed_durable(const struct broker *b, int32_t leader);
/* The requests a broker sends its controller, filled from its state (the
 * caller owns q; for AlterIsr, epochs holds REPLICAS_MAX entries: each
 * member's broker epoch, which the controller checks). */
void cluster_register_request(struct broker *b, Strata__BrokerRegisterRequest *q);
void cluster_heartbeat_request(const struct broker *b, Strata__BrokerHeartbeatRequest *q);
void cluster_alter_isr_request(const struct broker *b, const struct partition *p,
                               const int32_t *isr, uint32_t n, int64_t *epochs,
                               Strata__AlterIsrRequest *q);
/* An ISR change for p is on its way to the controller. */
void cluster_isr_sent(struct partition *p, const int32_t *isr, uint32_t n);
/* The controller's answer to it: its view of the partition (NULL when the
 * request failed or timed out: the change stays pending, as it may have
 * been applied, until a metadata image settles it), refused when it said no. */
void cluster_isr_answer(struct broker *b, struct partition *p, const Strata__PartitionState *s,
                        int refused);
/* Call fn for each partition this broker leads whose ISR should change. */
void cluster_isr_changes(struct broker *b, int64_t now_ms,
                         void (*fn)(void *arg, struct partition *p, const int32_t *isr,
                                    uint32_t n),
                         void *arg);

#endif
