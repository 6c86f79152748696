/* Consumer group requests (group_handlers.c): finding a group's
 * coordinator, member heartbeats, offset commits and fetches, and the admin
 * calls. Included by dispatch.c (the handlers) and the glue (the tick). */
#ifndef STRATA_GROUP_HANDLERS_H
#define STRATA_GROUP_HANDLERS_H

#include "broker/response.h"

struct broker;

request_handler handle_find_coordinator, handle_group_heartbeat, handle_offset_commit,
    handle_offset_fetch, handle_list_groups, handle_describe_group, handle_delete_groups;

/* From a timer: let the coordinators follow the offsets partitions' leaders,
 * take replicated commits into effect, compact the offsets topic, expire
 * group members and refresh subscribed topics' partition counts. */
void group_handlers_tick(struct broker *b);

#endif
