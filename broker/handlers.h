/* The broker's own request handlers (handlers.c): metadata, topic admin,
 * produce, fetch, list offsets and producer ids. Included by dispatch.c
 * only, whose table routes each request here. */
#ifndef STRATA_HANDLERS_H
#define STRATA_HANDLERS_H

#include "broker/response.h"
#include "proto/strata.pb-c.h"

struct broker;

request_handler handle_metadata, handle_create_topics, handle_delete_topics,
    handle_create_partitions, handle_elect_leaders, handle_describe_quorum, handle_init_producer_id, handle_produce,
    handle_fetch, handle_list_offsets,
    handle_security_admin; /* users and ACLs (secadmin_handlers.c) */

/* Build a parked fetch's answer again (final = 1: its deadline passed, answer
 * with whatever there is). */
void handle_fetch_again(struct broker *b, const Strata__Header *req, struct response *r,
                        int final);

#endif
