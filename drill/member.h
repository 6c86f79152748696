/* A consumer-group member of a drill, run in its own process so that a
 * scenario can kill -9 it. It reads, commits what it has recorded, and
 * writes its history, one line each, flushed as it goes (a kill loses at
 * most the line being written):
 *   R <time> <name> <partition> <offset> <value>   read
 *   C <time> <group> <partition> <offset>          commit acknowledged
 *   o <time> <name> <partition>                    partition assigned
 *   x <time> <name> <partition>                    partition revoked (committed first)
 *   l <time> <name> <partition>                    partition lost (membership ended)
 * drill_members_history turns o/x/l into the checker's O lines. */
#ifndef STRATA_DRILL_MEMBER_H
#define STRATA_DRILL_MEMBER_H

#include <stdint.h>
#include <stdio.h>

#include "client/strata.h"

/* The member's main loop; returns when SIGTERM arrives (after a last
 * commit and leaving the group). Exit status: 0, or 2 when it cannot start. */
int drill_member_main(const char *bootstrap, const strata_security *sec, const char *topic,
                      const char *group, const char *name, const char *history_path);

/* Convert one member's history to checker lines on out. Ownership still
 * open at the end of the file closes at `end` (the member's death: a kill
 * time, or the end of the drill). Lost ownership gets a generation of its
 * own: a member fenced by the coordinator is expected to overlap briefly
 * with the next owner, and its commits are refused. */
void drill_member_history(FILE *in, FILE *out, int64_t end, int64_t *lost_gen);

#endif
