/* The evidence a drill gives its checker from the replicas themselves: every
 * record of a topic as one replica's files hold it, read straight from the
 * segments (the broker is stopped or killed by then). */
#ifndef STRATA_DRILL_EVIDENCE_H
#define STRATA_DRILL_EVIDENCE_H

#include <stdio.h>

/* "L <replica> <partition> <offset> <value>" for each record of each
 * partition of topic under logdir. 0, or -1 when logdir cannot be opened. */
int drill_dump_replica(FILE *out, const char *replica, const char *logdir, const char *topic);

#endif
