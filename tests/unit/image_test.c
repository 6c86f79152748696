/* What a broker does with the controller's metadata images (DESIGN.md T9:
 * no topic deleted on partial evidence): it deletes a topic only when the
 * image records its delete; a topic the image merely lacks is kept and
 * served by nobody; a controller of another cluster (its data.dir wiped) is
 * not followed by a broker holding topics, and an empty broker joins and
 * remembers the cluster across a restart. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/metadata.h"
#include "broker/offsets_log.h"
#include "common/config.h"
#include "common/trace.h"
#include "drill/proc.h"
#include "tests/unit/broker_fixture.h"

static char *dir;
static struct broker b;
static struct broker_config cfg;

static void open_broker(void) {
  broker_fixture_open(&b, &cfg, dir,
                      (const char *[]){"controller", "127.0.0.1:9093", "log.level", "error", NULL},
                      1000);
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-image")));
  open_broker();
}

static void teardown(void) {
  broker_close(&b);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(image, .init = setup, .fini = teardown);

/* An image of cluster `cluster` at `version` with topic "t" (1 partition,
 * led by this broker) when with_topic, and "t" among the deleted when
 * deleted. */
static void apply(const char *cluster, int64_t version, int with_topic, int deleted) {
  Strata__BrokerState bs = STRATA__BROKER_STATE__INIT, *bv[1] = {&bs};
  bs.id = 1;
  bs.host = "127.0.0.1";
  bs.port = 9092;
  bs.epoch = 1;
  int32_t replicas[1] = {1};
  Strata__PartitionState ps = STRATA__PARTITION_STATE__INIT, *pv[1] = {&ps};
  ps.replicas = replicas;
  ps.n_replicas = 1;
  ps.isr = replicas;
  ps.n_isr = 1;
  ps.leader = 1;
  Strata__TopicState ts = STRATA__TOPIC_STATE__INIT, *tv[1] = {&ts};
  ts.name = "t";
  ts.partitions = pv;
  ts.n_partitions = 1;
  char *gone[1] = {"t"};
  Strata__MetadataImage img = STRATA__METADATA_IMAGE__INIT;
  img.version = version;
  img.cluster_id = (char *)cluster;
  img.brokers = bv;
  img.n_brokers = 1;
  img.topics = tv;
  img.n_topics = with_topic ? 1 : 0;
  img.deleted_topics = gone;
  img.n_deleted_topics = deleted ? 1 : 0;
  b.now_ms += 10;
  if (metadata_apply_image(&b, &img, b.now_ms)) offsets_log_sync(&b); /* as cluster_uv.c */
}

static struct partition *part(void) { return topics_partition(&b.topics, "t", 0); }

Test(image, a_topic_the_image_lacks_is_kept_until_its_delete_is_recorded) {
  apply("X", 1, 1, 0);
  cr_assert(part(), "created from the image");
  cr_assert_eq(part()->rep.role, ROLE_LEADER);
  apply("X", 2, 0, 0);
  cr_assert(part(), "no recorded delete: kept");
  cr_assert_eq(part()->rep.role, ROLE_NONE, "and served by nobody here");
  apply("X", 3, 1, 0);
  cr_assert_eq(part()->rep.role, ROLE_LEADER, "back in the metadata: served again");
  apply("X", 4, 0, 1);
  cr_assert_null(part(), "deleted once the image records the delete");
}

Test(image, a_controller_of_another_cluster_is_not_followed_by_a_broker_with_topics) {
  apply("X", 1, 1, 0);
  cr_assert(part());
  cr_assert_not(broker_cut_off(&b));
  apply("Y", 1, 0, 1); /* a wiped controller: new cluster, nothing in it */
  cr_assert(part(), "not followed: nothing deleted");
  cr_assert_str_eq(b.cluster_id, "X");
  cr_assert(broker_cut_off(&b), "no acks=all answers or coordinators meanwhile");
  apply("X", 2, 1, 0);
  cr_assert_not(broker_cut_off(&b), "its own controller back: followed again");
  /* The cluster joined is remembered across a restart. */
  broker_close(&b);
  open_broker();
  cr_assert_str_eq(b.cluster_id, "X");
}

Test(image, an_empty_broker_joins_the_controllers_cluster) {
  char before[sizeof b.cluster_id];
  snprintf(before, sizeof before, "%s", b.cluster_id);
  apply("Z", 1, 0, 0);
  cr_assert_str_eq(b.cluster_id, "Z");
  cr_assert_str_neq(before, "Z");
  cr_assert_not(broker_cut_off(&b));
}

/* As apply(), with topic "t" of `npart` partitions under topic id `id`. */
static void apply_id(int64_t version, uint32_t npart, uint8_t id) {
  Strata__BrokerState bs = STRATA__BROKER_STATE__INIT, *bv[1] = {&bs};
  bs.id = 1;
  bs.host = "127.0.0.1";
  bs.port = 9092;
  bs.epoch = 1;
  int32_t replicas[1] = {1};
  Strata__PartitionState ps[4], *pv[4];
  for (uint32_t i = 0; i < npart; i++) {
    strata__partition_state__init(&ps[i]);
    ps[i].partition = i;
    ps[i].replicas = replicas;
    ps[i].n_replicas = 1;
    ps[i].isr = replicas;
    ps[i].n_isr = 1;
    ps[i].leader = 1;
    pv[i] = &ps[i];
  }
  uint8_t idb[16];
  memset(idb, id, sizeof idb);
  Strata__TopicState ts = STRATA__TOPIC_STATE__INIT, *tv[1] = {&ts};
  ts.name = "t";
  ts.partitions = pv;
  ts.n_partitions = npart;
  ts.topic_id.data = idb;
  ts.topic_id.len = sizeof idb;
  Strata__MetadataImage img = STRATA__METADATA_IMAGE__INIT;
  img.version = version;
  img.cluster_id = "X";
  img.brokers = bv;
  img.n_brokers = 1;
  img.topics = tv;
  img.n_topics = 1;
  b.now_ms += 10;
  if (metadata_apply_image(&b, &img, b.now_ms)) offsets_log_sync(&b);
}

/* A topic deleted and created again between two images this broker saw
 * (its delete never in an image it got): the new id says so, and the old
 * topic's data goes; restarted in between too (the id's source is kept in
 * the topic file). */
Test(image, a_topic_created_again_under_its_name_replaces_the_old_one) {
  apply_id(1, 1, 0x11);
  cr_assert(part());
  cr_assert_eq(topics_find(&b.topics, "t")->npart, 1u);
  apply_id(2, 3, 0x22);
  const struct topic *tp = topics_find(&b.topics, "t");
  cr_assert(tp, "the new topic is here");
  cr_assert_eq(tp->npart, 3u, "with the new topic's partitions, not the old one's");
  cr_assert_eq(tp->id[0], 0x22);
  broker_close(&b);
  open_broker();
  tp = topics_find(&b.topics, "t");
  cr_assert(tp && tp->id_from_controller, "the id's source survives a restart");
  apply_id(3, 2, 0x33);
  tp = topics_find(&b.topics, "t");
  cr_assert(tp && tp->npart == 2u && tp->id[0] == 0x33, "replaced again after the restart");
}
