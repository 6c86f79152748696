/* Consumer group requests (group_handlers.c): finding a group's
 * coordinator, member heartbeats, offset commits and fetches, and the admin
 * calls. Included by dispatch.c (the handlers) and the glue (the tick). */
#ifndef STRATA_GROUP_HANDLERS_H
#define STRATA_GROUP_HANDLERS_H

#include "broker/response.h"

struct broker;

request_handler handle_find_coordinator, handle_group_heartbeat, handle_offset_commit,
    handle_offset_fetch, handle_list_groups, handle_describe_group, handle_delete_groups;

/* The group's coordinator on this broker (create: make the group when
 * missing), or NULL and *rc: INVALID_REQUEST (bad id),
 * COORDINATOR_NOT_AVAILABLE (offsets topic missing or still loading),
 * NOT_COORDINATOR (another broker leads its offsets partition, or this one
 * is cut off from the controller), UNKNOWN_GROUP (create=0). The Kafka
 * group handlers start here, then use coord_classic(). */
struct cgroup;
struct cgroup *group_coordinator_for(struct broker *b, const char *group, int create, int *rc);

/* How a Kafka group request reaches a classic group (the Kafka glue):
 *   cg = group_coordinator_for(b, id, 0, &rc);   rc other than UNKNOWN_GROUP: answer it
 *   cg = coord_classic(&b->coord, id, create, &rc);  create: JoinGroup with member id ""
 *        (NULL: answer rc; classic_kafka_error maps it)
 *   classic_join / classic_sync (with a token), classic_heartbeat, classic_leave (b->now_ms)
 *   send every answer in the classic_out (by token), classic_out_reset
 *   group_handlers_persist_kinds(b)
 * OffsetCommit: cg = group_coordinator_for(b, id, generation < 0, &rc), then
 * coord_classic_commit_check(cg, ...) and the native commit path's records
 * (coord_encode_commit, offsets_log_append, coord_add_pending).
 * DescribeGroups/ListGroups: classic_describe, coord_state_name,
 * coord_protocol_type. After group_handlers_tick and offsets_log_sync,
 * send and reset b->coord.classic_out (timeouts; NOT_COORDINATOR when a
 * partition moved away). */

/* Append the group-kind record (coord_encode_kind) of every dirty group
 * (coord_kind_dirty) to its offsets partition, without waiting for it.
 * The Kafka glue calls it after each classic_* call; the tick calls it. */
void group_handlers_persist_kinds(struct broker *b);

/* From a timer: let the coordinators follow the offsets partitions' leaders,
 * take replicated commits into effect, compact the offsets topic, expire
 * group members and refresh subscribed topics' partition counts; classic
 * groups' timeouts leave answers in b->coord.classic_out for the glue. */
void group_handlers_tick(struct broker *b);

/* A Kafka client's OffsetCommit in its native form (member_id and
 * member_epoch: Kafka's member id and generation id), checked by Kafka's
 * rules for the group's kind, then stored like any commit (kafka_offsets.c). */
void group_handlers_kafka_commit(struct broker *b, const Strata__Header *req,
                                 const char *instance_id, struct response *r);

#endif
