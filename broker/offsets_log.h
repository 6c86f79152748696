/* The consumer offsets log (__consumer_offsets, offsets_log.c): where the
 * coordinator's commits are written and from where a new coordinator loads
 * them. Called by group_handlers.c, and by the glue after the broker opens
 * and after each metadata image (offsets_log_sync). */
#ifndef STRATA_OFFSETS_LOG_H
#define STRATA_OFFSETS_LOG_H

#include <stdint.h>

struct batch_builder;
struct broker;
struct cgroup;
struct partition;
struct response;
struct topic;

/* The offsets topic; NULL while it does not exist yet (cluster mode: the
 * controller is asked for it; standalone: this broker creates it). */
struct topic *offsets_log_topic(struct broker *b);
/* This broker answers for the groups of partition p (standalone: always). */
int offsets_log_leads(const struct broker *b, const struct partition *p);
/* Load the offsets partitions this broker now leads, drop the ones it no
 * longer does (after opening, after every metadata change, on the group
 * timer). */
void offsets_log_sync(struct broker *b);
/* Commits of partition k replicated since take effect. */
void offsets_log_promote(struct broker *b, struct topic *t, uint32_t k);
/* Once partition k has a few segments, write every live committed offset of
 * its groups again, and when that is replicated, delete the segments before
 * it (followers delete them too, as they follow the leader's log start). */
void offsets_log_compact(struct broker *b, struct topic *t, uint32_t k);
/* Append a batch of offset records to the group's partition (*pp: it, when
 * asked); the response waits until it is replicated (or fsynced,
 * standalone); r NULL: nobody waits. 0 or STRATA_E*. */
int offsets_log_append(struct broker *b, struct cgroup *g, struct batch_builder *bb,
                       struct response *r, struct partition **pp);

#endif
