/* Growing a topic (CreatePartitions) on a real three-broker cluster: 2 -> 5
 * partitions at replication factor 3. The new partitions get leaders and a
 * full ISR, take and serve records, survive a broker's kill -9 (the topic
 * file says 5) and the controller's kill -9 (its metadata log replays the
 * growth); shrinking, an unchanged count and an unknown topic are refused
 * with Kafka's messages; validate_only changes nothing. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/strata.h"
#include "common/trace.h"
#include "drill/cluster.h"

static struct tcluster cl;

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert_eq(tcluster_init(&cl, 3, "strata-partitions"), 0);
  cl.ctl_sets[0] = "broker.session.timeout.ms=3000";
  cr_assert_eq(tcluster_start_all(&cl), 0, "cluster did not start");
}

static void teardown(void) { tcluster_destroy(&cl, getenv("STRATA_KEEP_TEST_DIR") != NULL); }

TestSuite(partitions, .init = setup, .fini = teardown, .timeout = 180);

static strata_client *client(void) {
  char err[256];
  strata_client *c = strata_client_new(cl.bootstrap, 10000, err, sizeof err);
  cr_assert(c, "%s", err);
  return c;
}

/* Grow (or try to) `topic` to count partitions; err gets the message. */
static int grow(const char *topic, uint32_t count, int validate_only, char *err, size_t len) {
  strata_client *c = client();
  err[0] = 0;
  int rc = strata_topic_add_partitions(c, topic, count, validate_only, err, len);
  strata_client_free(c);
  return rc;
}

static size_t count_on(strata_client *c, const char *topic) {
  strata_metadata *m = NULL;
  const char *names[1] = {topic};
  cr_assert_eq(strata_metadata_get(c, names, 1, &m), 0);
  size_t n = m->ntopics == 1 && !m->topics[0].error ? m->topics[0].npartitions : 0;
  strata_metadata_free(m);
  return n;
}

/* Partitions as the broker a new client picks knows them (metadata reaches
 * each broker with its own heartbeat, so only for settled metadata). */
static size_t partitions_of(const char *topic) {
  strata_client *c = client();
  size_t n = count_on(c, topic);
  strata_client_free(c);
  return n;
}

/* Grow, then ask the same broker (the one that relayed the request): its
 * answer was held until it had the new partitions, so it knows them now.
 * A broker whose link to a just restarted controller is not up again yet
 * answers NOT_CONTROLLER: asked again, for up to 10 s. */
static size_t grow_then_count(const char *topic, uint32_t count) {
  char err[256];
  strata_client *c = client();
  int rc;
  for (int i = 0; (rc = strata_topic_add_partitions(c, topic, count, 0, err, sizeof err)) ==
                      STRATA_ENOT_CONTROLLER && i < 100; i++)
    usleep(100000);
  cr_assert_eq(rc, 0, "growing %s to %u: %s", topic, count, err);
  size_t n = count_on(c, topic);
  strata_client_free(c);
  return n;
}

/* Every broker's metadata shows `n` partitions (each learns of a change with
 * its own next heartbeat, as in Kafka; a client may ask any of them). */
static void wait_everywhere(const char *topic, size_t n) {
  for (int id = 1; id <= cl.n; id++) {
    char host[32], addr[64], err[256];
    tcluster_host(&cl, id, host, sizeof host);
    snprintf(addr, sizeof addr, "%s:%d", host, cl.port);
    strata_client *c = strata_client_new(addr, 5000, err, sizeof err);
    cr_assert(c, "%s", err);
    size_t got = 0;
    for (int i = 0; i < 100 && (got = count_on(c, topic)) != n; i++) usleep(100000);
    strata_client_free(c);
    cr_assert_eq(got, n, "broker %d shows %zu partitions of %s, not %zu", id, got, topic, n);
  }
}

static void wait_full_isr(const char *topic, uint32_t from, uint32_t to) {
  wait_everywhere(topic, to);
  for (uint32_t p = from; p < to; p++)
    cr_assert_geq(tcluster_wait_isr(&cl, topic, p, 3, 15000), 0,
                  "%s-%u: no leader with 3 in-sync replicas", topic, p);
}

static int acked, failed;

static void on_delivery(const strata_delivery *d, void *arg) {
  (void)arg;
  if (d->error) failed++;
  else acked++;
}

/* acks=all: each of `n` records "P-i" to partition p, every one acknowledged. */
static void produce(const char *topic, uint32_t p, int n) {
  strata_producer_config cfg;
  strata_producer_config_defaults(&cfg);
  cfg.acks = -1;
  cfg.request_timeout_ms = 5000;
  char err[256];
  strata_producer *pr = strata_producer_new(cl.bootstrap, &cfg, on_delivery, NULL, err, sizeof err);
  cr_assert(pr, "%s", err);
  acked = failed = 0;
  for (int i = 0; i < n; i++) {
    char v[32];
    int len = snprintf(v, sizeof v, "%u-%d", p, i);
    cr_assert_eq(strata_produce(pr, topic, (int32_t)p, NULL, 0, v, (size_t)len, 0, NULL, 0, NULL),
                 0);
  }
  cr_assert_eq(strata_producer_flush(pr, 20000), 0, "records to %s-%u not delivered", topic, p);
  strata_producer_free(pr);
  cr_assert_eq(acked, n, "%s-%u: %d acknowledged, %d failed", topic, p, acked, failed);
}

/* Partition p holds exactly "P-0".."P-(n-1)", in order. */
static void consume(const char *topic, uint32_t p, int n) {
  char err[256];
  strata_consumer *c = strata_consumer_new(cl.bootstrap, NULL, err, sizeof err);
  cr_assert(c, "%s", err);
  cr_assert_eq(strata_consumer_assign(c, topic, p, STRATA_OFFSET_BEGINNING), 0);
  int got = 0, idle = 0;
  while (got < n && idle < 10) {
    const strata_message *m;
    int rc = strata_consumer_poll(c, 1000, &m);
    cr_assert_geq(rc, 0, "poll %s-%u: %s", topic, p, strata_strerror(rc));
    if (rc == 0) {
      idle++;
      continue;
    }
    char want[32], v[32];
    snprintf(want, sizeof want, "%u-%d", p, got);
    cr_assert_lt(m->value_len, (int32_t)sizeof v);
    memcpy(v, m->value, (size_t)m->value_len);
    v[m->value_len] = 0;
    cr_assert_str_eq(v, want, "%s-%u offset %lld", topic, p, (long long)m->offset);
    cr_assert_eq(m->offset, got);
    got++;
  }
  strata_consumer_free(c);
  cr_assert_eq(got, n, "%s-%u: read %d of %d records", topic, p, got, n);
}

Test(partitions, grow_two_to_five_at_rf3_survives_restarts) {
  char err[512];
  strata_client *c = client();
  cr_assert_eq(strata_topic_create(c, "grow", 2, 3, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
  strata_client_free(c);
  wait_full_isr("grow", 0, 2);
  produce("grow", 0, 10);

  cr_assert_eq(grow("grow", 5, 1, err, sizeof err), 0, "validate_only: %s", err);
  cr_assert_eq(partitions_of("grow"), 2, "validate_only changed the topic");

  /* The answer was held until the broker that relayed it had them. */
  cr_assert_eq(grow_then_count("grow", 5), 5);
  wait_full_isr("grow", 0, 5);
  for (uint32_t p = 2; p < 5; p++) produce("grow", p, 20);
  for (uint32_t p = 2; p < 5; p++) consume("grow", p, 20);
  consume("grow", 0, 10); /* the old partitions are untouched */

  cr_assert_eq(grow("grow", 3, 0, err, sizeof err), STRATA_EINVALID_PARTITIONS);
  cr_assert(strstr(err, "Topic currently has 5 partitions, which is higher than the requested 3."),
            "%s", err);
  cr_assert_eq(grow("grow", 5, 0, err, sizeof err), STRATA_EINVALID_PARTITIONS);
  cr_assert(strstr(err, "already has 5 partitions"), "%s", err);
  cr_assert_eq(grow("nosuch", 3, 0, err, sizeof err), STRATA_EUNKNOWN_TOPIC);
  cr_assert(strstr(err, "'nosuch' does not exist"), "%s", err);
  cr_assert_eq(grow("grow", 10001, 0, err, sizeof err), STRATA_EINVALID_PARTITIONS);

  /* A follower of the new partitions killed -9 comes back with all five. */
  tcluster_kill(&cl, 3);
  cr_assert_eq(tcluster_start_broker(&cl, 3), 0);
  wait_full_isr("grow", 0, 5);

  /* The controller killed -9 replays the growth from its metadata log. */
  tcluster_kill(&cl, 0);
  cr_assert_eq(tcluster_start_controller(&cl), 0);
  int refused = -1;
  for (int i = 0; i < 100 && refused != STRATA_EINVALID_PARTITIONS; i++) {
    refused = grow("grow", 5, 0, err, sizeof err);
    if (refused != STRATA_EINVALID_PARTITIONS) usleep(100000);
  }
  cr_assert_eq(refused, STRATA_EINVALID_PARTITIONS, "after the controller's restart: %s", err);
  cr_assert(strstr(err, "already has 5 partitions"), "the restarted controller: %s", err);
  cr_assert_eq(partitions_of("grow"), 5);
  wait_full_isr("grow", 0, 5);
  produce("grow", 4, 5);

  /* And it can grow again after the replay. */
  cr_assert_eq(grow_then_count("grow", 6), 6);
  wait_full_isr("grow", 5, 6);
  produce("grow", 5, 3);
  consume("grow", 5, 3);
}

/* A consumer group member subscribed before the growth is given the new
 * partitions (the coordinator sees the new count) and reads their records. */
Test(partitions, a_group_member_gets_the_new_partitions) {
  char err[512];
  strata_client *c = client();
  cr_assert_eq(strata_topic_create(c, "gg", 2, 3, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
  strata_client_free(c);
  wait_full_isr("gg", 0, 2);
  strata_consumer *m = strata_consumer_new(cl.bootstrap, NULL, err, sizeof err);
  cr_assert(m, "%s", err);
  strata_group_config g;
  strata_group_config_defaults(&g);
  g.group_id = "growers";
  g.reset_offset = STRATA_OFFSET_BEGINNING;
  const char *topics[1] = {"gg"};
  cr_assert_eq(strata_consumer_subscribe(m, &g, topics, 1), 0);
  size_t n = 0;
  const strata_message *msg;
  for (int i = 0; i < 150 && n != 2; i++) {
    cr_assert_geq(strata_consumer_poll(m, 100, &msg), 0);
    strata_consumer_assignment(m, &n);
  }
  cr_assert_eq(n, 2u, "the member owns both partitions before the growth");

  cr_assert_eq(grow_then_count("gg", 4), 4);
  wait_full_isr("gg", 2, 4);
  produce("gg", 3, 5);
  int got = 0;
  for (int i = 0; i < 300 && (n != 4 || got < 5); i++) {
    int rc = strata_consumer_poll(m, 100, &msg);
    cr_assert_geq(rc, 0, "poll: %s", strata_strerror(rc));
    if (rc > 0) {
      cr_assert_eq(msg->partition, 3u, "only partition 3 has records");
      got++;
    }
    strata_consumer_assignment(m, &n);
  }
  cr_assert_eq(n, 4u, "the member owns the 2 new partitions too");
  cr_assert_eq(got, 5, "the records of new partition 3 were consumed by the group");
  strata_consumer_free(m);
}
