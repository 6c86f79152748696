/* Classic consumer groups on the Kafka listener (kafka_groups.h).
 * Placeholder until broker/classic_group.c lands: no classic group exists. */
#include "broker/kafka_groups.h"

#include "broker/broker.h"
#include "broker/kafka_call.h"
#include "common/errors.h"

int kafka_classic_commit_check(struct broker *b, const char *group, const char *member,
                               const char *instance, int32_t generation) {
  (void)b, (void)group, (void)instance;
  if (generation < 0 && (!member || !*member)) return 0;
  return STRATA_EUNKNOWN_MEMBER;
}

int kafka_groups_drain(struct broker *b) { (void)b; return 0; }
void kafka_unpark(struct kafka_call *k) { (void)k; }
