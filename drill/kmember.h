/* A consumer-group member of a drill reading through librdkafka (`strata
 * drill --client kafka`), in its own process like drill/member.h's native
 * one and writing the same history lines (R, C, o, x, l), so the checker
 * and drill_member_history read both alike. */
#ifndef STRATA_DRILL_KMEMBER_H
#define STRATA_DRILL_KMEMBER_H

#include "client/strata.h"

/* The member's main loop: subscribe() in group `group` (a classic Kafka
 * group, eager rebalancing), read, commit what it recorded every 200 ms and
 * on revocation; returns when SIGTERM arrives (after a last commit and
 * leaving the group). Exit status: 0, or 2 when it cannot start. */
int drill_kmember_main(const char *bootstrap, const strata_security *sec, const char *topic,
                       const char *group, const char *name, const char *history_path);

#endif
