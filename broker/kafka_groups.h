/* Classic Kafka consumer groups (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, DescribeGroups, ListGroups) on the Kafka listener, over the
 * coordinator's classic groups (broker/classic_group.c). */
#ifndef STRATA_KAFKA_GROUPS_H
#define STRATA_KAFKA_GROUPS_H

#include <stdint.h>

struct broker;

/* Hand the answers the classic groups gave out (b->coord.classic_out) to
 * their parked calls; returns how many were answered (the glue then sends
 * what became ready). */
int kafka_groups_drain(struct broker *b);

struct kafka_call;
/* Forget a parked call (its connection closed): a later answer is dropped. */
void kafka_unpark(struct kafka_call *k);

#endif
