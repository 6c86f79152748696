/* Classic consumer groups on the Kafka listener (kafka_groups.h). */
#include "broker/kafka_groups.h"

#include "broker/broker.h"
#include "common/errors.h"

int kafka_classic_commit_check(struct broker *b, const char *group, const char *member,
                               const char *instance, int32_t generation) {
  (void)b, (void)group, (void)instance;
  if (generation < 0 && (!member || !*member)) return 0;
  return STRATA_EUNKNOWN_MEMBER; /* no classic group holds members yet */
}
