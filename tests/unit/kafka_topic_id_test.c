/* The topic ids the Kafka listener derives from topic names
 * (kafka_topic_id): stable, shaped as version-8 UUIDs, different for
 * different names, and found again by kafka_topic_by_id among a broker's
 * topics. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/kafka_call.h"

Test(kafka_topic_id, stable_and_shaped_as_a_version_8_uuid) {
  struct kuuid a = kafka_topic_id("iot_sensor_data"), b = kafka_topic_id("iot_sensor_data");
  cr_assert(!memcmp(a.b, b.b, 16), "the same name gives the same id");
  cr_assert_eq(a.b[6] >> 4, 8, "version nibble 8, got %x", a.b[6] >> 4);
  cr_assert_eq(a.b[8] >> 6, 2, "RFC 9562 variant");
  struct kuuid z = kafka_topic_id(""); /* never the zero (unknown) or "one" UUID */
  static const uint8_t zero[16], one[16] = {[15] = 1};
  cr_assert(memcmp(z.b, zero, 16) && memcmp(z.b, one, 16));
}

Test(kafka_topic_id, names_that_differ_get_ids_that_differ) {
  static const char *names[] = {"a", "b", "ab", "ba", "topic-1", "topic-2", "topic-10",
                                "__consumer_offsets", "x\xff"};
  size_t n = sizeof names / sizeof names[0];
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      struct kuuid a = kafka_topic_id(names[i]), b = kafka_topic_id(names[j]);
      cr_assert(memcmp(a.b, b.b, 16), "%s and %s collide", names[i], names[j]);
      /* both halves differ too, and an id's halves are not copies */
      cr_assert(memcmp(a.b, b.b, 8) && memcmp(a.b + 8, b.b + 8, 8));
      cr_assert(memcmp(a.b + 1, a.b + 9, 5), "%s: its two halves are the same", names[i]);
    }
}

Test(kafka_topic_id, found_again_among_the_brokers_topics) {
  static struct broker b; /* only b.topics is read */
  struct topic t1 = {.name = "orders"}, t2 = {.name = "payments"};
  struct topic *v[] = {&t1, &t2};
  b.topics.v = v;
  b.topics.n = 2;
  struct kuuid id = kafka_topic_id("payments");
  const char *name = kafka_topic_by_id(&b, &id);
  cr_assert(name && !strcmp(name, "payments"));
  struct kuuid other = kafka_topic_id("refunds"), zero = {{0}};
  cr_assert_null(kafka_topic_by_id(&b, &other), "a topic this broker does not have");
  cr_assert_null(kafka_topic_by_id(&b, &zero), "the zero id names no topic");
}
