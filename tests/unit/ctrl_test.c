/* The controller state machine without sockets: placement, fencing and
 * elections with leader epochs, ISR changes guarded by epochs, preferred
 * leader election, offline partitions, unclean election, and the metadata
 * log replaying to the same state. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "common/trace.h"
#include "common/topic_id.h"
#include "controller/controller.h"
#include "controller/ctrl.h"
#include "controller/metalog.h"
#include "drill/proc.h"

static struct ctrl c;
static char *dir;

static void commit_to(struct ctrl *x, struct ctrl_out *out) {
  for (size_t i = 0; i < out->n; i++) cr_assert_eq(ctrl_apply(x, out->recs[i]), 0);
  ctrl_out_reset(out);
}

static void commit(struct ctrl_out *out) { commit_to(&c, out); }

static void reg(int32_t id, const char *rack, int64_t now) {
  struct ctrl_out out = {0};
  Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
  q.broker_id = id;
  q.host = (char *)"127.0.0.1";
  q.port = (uint32_t)(9000 + id);
  q.rack = (char *)rack;
  cr_assert_eq(ctrl_register(&c, &q, now, &out), 0);
  commit(&out);
}

static void create(const char *name, uint32_t parts, uint32_t rf, int unclean) {
  struct ctrl_out out = {0};
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)name;
  s.partitions = parts;
  s.replication_factor = rf;
  Strata__TopicSpec__ConfigsEntry e = STRATA__TOPIC_SPEC__CONFIGS_ENTRY__INIT, *ep[1] = {&e};
  e.key = (char *)"unclean.leader.election.enable";
  e.value = (char *)"true";
  if (unclean) {
    s.configs = ep;
    s.n_configs = 1;
  }
  char err[128];
  cr_assert_eq(ctrl_create_topic(&c, &s, 1, &out, err, sizeof err), 0, "%s", err);
  commit(&out);
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  struct ctrl_config cfg = {1000, 1, 5000, 300, 0};
  ctrl_init(&c, 0, &cfg);
  ctrl_start(&c, 0);
  reg(1, "a", 0);
  reg(2, "b", 0);
  reg(3, "c", 0);
}

static void teardown(void) {
  ctrl_free(&c);
  if (dir) proc_rm_rf(dir);
  free(dir);
  dir = NULL;
}

TestSuite(ctrl, .init = setup, .fini = teardown);

static void heartbeat_all_but(int32_t skip, int64_t now) {
  struct ctrl_out out = {0};
  for (int32_t id = 1; id <= 3; id++)
    if (id != skip) cr_assert_eq(ctrl_heartbeat(&c, id, ctrl_broker(&c, id)->epoch, now, &out), 0);
  commit(&out);
}

Test(ctrl, placement_spreads_replicas_and_preferred_leaders) {
  create("t", 6, 3, 0);
  struct ctrl_topic *t = ctrl_topic(&c, "t");
  int leads[4] = {0};
  for (uint32_t p = 0; p < 6; p++) {
    cr_assert_eq(t->parts[p].nreplicas, 3u);
    cr_assert_eq(t->parts[p].nisr, 3u);
    cr_assert_eq(t->parts[p].leader, t->parts[p].replicas[0]);
    leads[t->parts[p].leader]++;
  }
  cr_assert(leads[1] == 2 && leads[2] == 2 && leads[3] == 2, "each broker leads two");
  struct ctrl_out out = {0};
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)"big";
  s.partitions = 1;
  s.replication_factor = 4;
  char err[128];
  cr_assert_eq(ctrl_create_topic(&c, &s, 1, &out, err, sizeof err), STRATA_EINVALID_REPLICATION_FACTOR);
}

Test(ctrl, a_silent_broker_is_fenced_and_its_partitions_move_with_a_new_epoch) {
  create("t", 6, 3, 0);
  heartbeat_all_but(1, 900);
  struct ctrl_out out = {0};
  ctrl_tick(&c, 1500, &out);
  commit(&out);
  cr_assert(ctrl_broker(&c, 1)->fenced);
  cr_assert_not(ctrl_broker(&c, 2)->fenced);
  struct ctrl_topic *t = ctrl_topic(&c, "t");
  for (uint32_t p = 0; p < 6; p++) {
    struct ctrl_partition *pp = &t->parts[p];
    cr_assert_neq(pp->leader, 1, "fenced brokers lead nothing");
    cr_assert_eq(pp->nisr, 2u, "and leave every ISR");
    if (pp->replicas[0] == 1) cr_assert_eq(pp->leader_epoch, 1, "a new leader means a new epoch");
    else cr_assert_eq(pp->leader_epoch, 0, "partitions that kept their leader keep the epoch");
  }
}

Test(ctrl, a_closed_connection_fences_after_the_grace_unless_the_broker_comes_back) {
  create("t", 3, 3, 0);
  struct ctrl_out out = {0};
  heartbeat_all_but(0, 100);
  ctrl_disconnected(&c, 1, 150); /* killed: never heartbeats again */
  ctrl_disconnected(&c, 2, 150); /* a link blip: heartbeats again at 300 */
  heartbeat_all_but(1, 300);
  ctrl_tick(&c, 400, &out);
  commit(&out);
  cr_assert_not(ctrl_broker(&c, 1)->fenced, "within the grace");
  ctrl_tick(&c, 460, &out);
  commit(&out);
  cr_assert(ctrl_broker(&c, 1)->fenced, "300 ms after its connection closed, long before the session timeout");
  cr_assert_not(ctrl_broker(&c, 2)->fenced, "a broker that reconnected stays");
  cr_assert_not(ctrl_broker(&c, 3)->fenced);
  struct ctrl_topic *t = ctrl_topic(&c, "t");
  for (uint32_t p = 0; p < 3; p++) cr_assert_neq(t->parts[p].leader, 1);
}

Test(ctrl, alter_isr_needs_the_current_leader_and_epochs) {
  create("t", 1, 3, 0);
  struct ctrl_partition *p = &ctrl_topic(&c, "t")->parts[0];
  int32_t leader = p->leader;
  Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
  q.broker_id = leader;
  q.broker_epoch = ctrl_broker(&c, leader)->epoch;
  q.topic = (char *)"t";
  q.leader_epoch = p->leader_epoch;
  q.partition_epoch = p->partition_epoch;
  int32_t isr[1] = {leader};
  q.isr = isr;
  q.n_isr = 1;
  struct ctrl_out out = {0};
  char err[128];
  q.broker_id = leader % 3 + 1;
  q.broker_epoch = ctrl_broker(&c, q.broker_id)->epoch;
  cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), STRATA_ENOT_LEADER);
  q.broker_id = leader;
  q.broker_epoch = ctrl_broker(&c, leader)->epoch;
  q.leader_epoch = p->leader_epoch + 1;
  cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), STRATA_EFENCED_LEADER_EPOCH);
  q.leader_epoch = p->leader_epoch;
  cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), 0, "%s", err);
  commit(&out);
  cr_assert_eq(p->nisr, 1u);
  cr_assert_eq(p->partition_epoch, 1);
  cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), STRATA_EFENCED_LEADER_EPOCH,
               "the same request again carries a stale partition epoch");
  /* Growing it back: a follower that registered again since its fetches
   * cannot join on them (KIP-903); with its current epoch it can. */
  int32_t f = leader % 3 + 1;
  int64_t old_epoch = ctrl_broker(&c, f)->epoch;
  reg(f, "x", 10); /* it restarted */
  q.partition_epoch = p->partition_epoch;
  int32_t grown[2] = {leader, f};
  int64_t epochs[2] = {ctrl_broker(&c, leader)->epoch, old_epoch};
  q.isr = grown;
  q.n_isr = 2;
  q.isr_epochs = epochs;
  q.n_isr_epochs = 2;
  cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), STRATA_ESTALE_BROKER_EPOCH);
  cr_assert_eq(out.n, 0u, "refused: nothing to apply");
  epochs[1] = ctrl_broker(&c, f)->epoch;
  cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), 0, "%s", err);
  commit(&out);
  cr_assert_eq(p->nisr, 2u);
}

Test(ctrl, last_in_sync_replica_gone_means_offline_not_unclean) {
  create("safe", 1, 3, 0);
  create("risky", 1, 3, 1);
  /* shrink both ISRs to their leader */
  const char *names[2] = {"safe", "risky"};
  for (int i = 0; i < 2; i++) {
    struct ctrl_partition *p = &ctrl_topic(&c, names[i])->parts[0];
    Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
    q.broker_id = p->leader;
    q.broker_epoch = ctrl_broker(&c, p->leader)->epoch;
    q.topic = (char *)names[i];
    q.leader_epoch = p->leader_epoch;
    q.partition_epoch = p->partition_epoch;
    int32_t isr[1] = {p->leader};
    q.isr = isr;
    q.n_isr = 1;
    struct ctrl_out out = {0};
    char err[128];
    cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), 0);
    commit(&out);
  }
  int32_t leader = ctrl_topic(&c, "safe")->parts[0].leader;
  cr_assert_eq(leader, ctrl_topic(&c, "risky")->parts[0].leader);
  heartbeat_all_but(leader, 900);
  struct ctrl_out out = {0};
  ctrl_tick(&c, 1500, &out);
  commit(&out);
  struct ctrl_partition *s = &ctrl_topic(&c, "safe")->parts[0];
  cr_assert_eq(s->leader, -1, "no in-sync replica alive: offline");
  cr_assert_eq(s->nisr, 1u);
  cr_assert_eq(s->isr[0], leader, "the last ISR is kept as the only clean candidate");
  struct ctrl_partition *r = &ctrl_topic(&c, "risky")->parts[0];
  cr_assert_neq(r->leader, -1, "unclean election picks a live replica");
  cr_assert_neq(r->leader, leader);
  /* The old leader returns: registering, it is a new incarnation and elects
   * nothing; the next tick brings the offline partition back with it. */
  reg(leader, "x", 2000);
  cr_assert_eq(s->leader, -1);
  heartbeat_all_but(-1, 2050);
  ctrl_tick(&c, 2100, &out);
  commit(&out);
  cr_assert_eq(s->leader, leader);
  cr_assert_eq(s->leader_epoch, 2);
}

Test(ctrl, a_restarted_broker_leaves_every_isr_until_it_catches_up) {
  create("t", 3, 3, 0);
  reg(2, "b", 100); /* broker 2 restarts within its session: maybe with a wiped disk */
  for (uint32_t p = 0; p < 3; p++) {
    struct ctrl_partition *pp = &ctrl_topic(&c, "t")->parts[p];
    cr_assert_neq(pp->leader, 2, "partition %u", p);
    for (uint32_t i = 0; i < pp->nisr; i++) cr_assert_neq(pp->isr[i], 2);
  }
}

Test(ctrl, preferred_leader_returns_after_failover) {
  create("t", 3, 3, 0);
  heartbeat_all_but(2, 900);
  struct ctrl_out out = {0};
  ctrl_tick(&c, 1500, &out);
  commit(&out);
  for (uint32_t p = 0; p < 3; p++) cr_assert_neq(ctrl_topic(&c, "t")->parts[p].leader, 2);
  reg(2, "b", 1600); /* back, but not in sync yet: stays a follower */
  uint32_t n;
  cr_assert_eq(ctrl_elect_preferred(&c, "t", &out, &n), 0);
  cr_assert_eq(n, 0u, "not in the ISR, so not electable");
  /* the leader of the partition preferring 2 adds it back to the ISR */
  for (uint32_t p = 0; p < 3; p++) {
    struct ctrl_partition *pp = &ctrl_topic(&c, "t")->parts[p];
    if (pp->replicas[0] != 2) continue;
    Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
    q.broker_id = pp->leader;
    q.broker_epoch = ctrl_broker(&c, pp->leader)->epoch;
    q.topic = (char *)"t";
    q.partition = p;
    q.leader_epoch = pp->leader_epoch;
    q.partition_epoch = pp->partition_epoch;
    q.isr = pp->replicas;
    q.n_isr = 3;
    char err[128];
    cr_assert_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), 0, "%s", err);
    commit(&out);
  }
  cr_assert_eq(ctrl_elect_preferred(&c, "t", &out, &n), 0);
  cr_assert_eq(n, 1u);
  commit(&out);
  for (uint32_t p = 0; p < 3; p++) {
    struct ctrl_partition *pp = &ctrl_topic(&c, "t")->parts[p];
    cr_assert_eq(pp->leader, pp->replicas[0]);
  }
}

Test(ctrl, metadata_log_replays_to_the_same_state) {
  dir = proc_tmpdir("strata-metalog");
  struct ctrl a;
  struct ctrl_config cfg = {1000, 0, 5000, 0, 0};
  ctrl_init(&a, 0, &cfg);
  struct metalog m;
  char err[256];
  cr_assert_eq(metalog_open(&m, dir, &a, err, sizeof err), 0, "%s", err);
  struct ctrl_out out = {0};
  for (int32_t id = 1; id <= 3; id++) {
    Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
    q.broker_id = id;
    q.host = (char *)"h";
    q.port = 1;
    q.rack = (char *)"";
    cr_assert_eq(ctrl_register(&a, &q, 0, &out), 0);
    cr_assert_eq(metalog_commit(&m, &a, &out), 0);
  }
  for (int i = 0; i < 1200; i++) { /* past a snapshot */
    Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    s.name = name;
    s.partitions = 2;
    s.replication_factor = 2;
    cr_assert_eq(ctrl_create_topic(&a, &s, 1, &out, err, sizeof err), 0);
    cr_assert_eq(metalog_commit(&m, &a, &out), 0);
    if (i % 7 == 1) { /* grown topics, on both sides of the snapshot */
      cr_assert_eq(ctrl_create_partitions(&a, name, 4, 0, &out, err, sizeof err), 0, "%s", err);
      cr_assert_eq(metalog_commit(&m, &a, &out), 0);
    }
    if (i % 3 == 0) {
      cr_assert_eq(ctrl_delete_topic(&a, name, &out), 0);
      cr_assert_eq(metalog_commit(&m, &a, &out), 0);
    }
    if (i % 100 == 0) { /* producer ids, on both sides of the snapshot */
      int64_t id = -1;
      cr_assert_eq(ctrl_alloc_producer_id(&a, &out, &id), 0);
      cr_assert_eq(metalog_commit(&m, &a, &out), 0);
      cr_assert_eq(id, i / 100, "ids are handed out in order, each once");
    }
  }
  metalog_close(&m);
  struct ctrl b;
  ctrl_init(&b, 0, &cfg);
  cr_assert_eq(metalog_open(&m, dir, &b, err, sizeof err), 0, "%s", err);
  metalog_close(&m);
  Strata__MetadataImage *ia = ctrl_image(&a), *ib = ctrl_image(&b);
  size_t la = strata__metadata_image__get_packed_size(ia), lb = strata__metadata_image__get_packed_size(ib);
  cr_assert_eq(la, lb);
  uint8_t *pa = malloc(la), *pb = malloc(lb);
  strata__metadata_image__pack(ia, pa);
  strata__metadata_image__pack(ib, pb);
  cr_assert_eq(memcmp(pa, pb, la), 0, "replayed state equals the live one");
  cr_assert_eq(b.ntopics, 800u);
  cr_assert_eq(ctrl_topic(&b, "t1")->npart, 4u, "the growth of t1 replays");
  cr_assert_eq(ctrl_topic(&b, "t1198")->npart, 4u, "the growth of t1198 replays");
  cr_assert_eq(ctrl_topic(&b, "t2")->npart, 2u);
  cr_assert_eq(b.ndeleted, 400u, "every delete is remembered, across the snapshot");
  cr_assert_eq(b.producer_ids_next, 12, "a restarted controller never gives an id twice");
  /* blocks for brokers: disjoint from everything handed out before */
  int64_t first = -1, next = -1;
  cr_assert_eq(ctrl_alloc_producer_ids(&b, &out, 1000, &first), 0);
  commit_to(&b, &out);
  cr_assert_eq(first, 12);
  cr_assert_eq(ctrl_alloc_producer_id(&b, &out, &next), 0);
  commit_to(&b, &out);
  cr_assert_eq(next, 1012, "the next id comes after the whole block");
  cr_assert_eq(ctrl_alloc_producer_ids(&b, &out, 1000000, &first), STRATA_EINVALID_REQUEST);
  free(pa);
  free(pb);
  ctrl_image_free(ia);
  ctrl_image_free(ib);
  ctrl_free(&a);
  ctrl_free(&b);
}

/* The last record of the metadata log took effect (it was fsynced first):
 * a flipped bit in it stops the controller rather than cut it (a cut topic
 * creation would look like a delete to the brokers, T9); only a tail still
 * zero (a crash before the data reached the file) is cut. */
Test(ctrl, a_damaged_last_metadata_record_stops_the_controller) {
  dir = proc_tmpdir("strata-metalog");
  struct ctrl a;
  struct ctrl_config cfg = {1000, 0, 5000, 0, 0};
  ctrl_init(&a, 0, &cfg);
  struct metalog m;
  char err[256], path[600];
  cr_assert_eq(metalog_open(&m, dir, &a, err, sizeof err), 0, "%s", err);
  struct ctrl_out out = {0};
  Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
  q.broker_id = 1;
  q.host = (char *)"h";
  q.port = 1;
  q.rack = (char *)"";
  cr_assert_eq(ctrl_register(&a, &q, 0, &out), 0);
  cr_assert_eq(metalog_commit(&m, &a, &out), 0);
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)"kept";
  s.partitions = 1;
  s.replication_factor = 1;
  cr_assert_eq(ctrl_create_topic(&a, &s, 1, &out, err, sizeof err), 0);
  cr_assert_eq(metalog_commit(&m, &a, &out), 0);
  metalog_close(&m);
  ctrl_free(&a);
  snprintf(path, sizeof path, "%s/metadata.log", dir);
  FILE *f = fopen(path, "r+b");
  cr_assert(f);
  fputc(0x7f, f); /* the first record's length: it now runs past the end */
  fclose(f);
  struct ctrl b;
  ctrl_init(&b, 0, &cfg);
  cr_assert_neq(metalog_open(&m, dir, &b, err, sizeof err), 0, "a damaged length, records after");
  cr_assert(strstr(err, "bad record length"), "%s", err);
  ctrl_free(&b);
  f = fopen(path, "r+b");
  cr_assert(f);
  fputc(0, f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, size - 3, SEEK_SET);
  int byte = fgetc(f);
  fseek(f, size - 3, SEEK_SET);
  fputc(byte ^ 0x10, f);
  fclose(f);
  ctrl_init(&b, 0, &cfg);
  cr_assert_neq(metalog_open(&m, dir, &b, err, sizeof err), 0, "a flipped bit in the last record");
  cr_assert(strstr(err, "bad record"), "%s", err);
  ctrl_free(&b);
  f = fopen(path, "r+b");
  cr_assert(f);
  fseek(f, size - 16, SEEK_SET);
  for (int i = 0; i < 16; i++) fputc(0, f);
  fclose(f);
  ctrl_init(&b, 0, &cfg);
  cr_assert_eq(metalog_open(&m, dir, &b, err, sizeof err), 0, "a zero tail is cut: %s", err);
  cr_assert_null(ctrl_topic(&b, "kept"), "the never-applied record is gone");
  cr_assert_eq(b.nbrokers, 1u);
  metalog_close(&m);
  ctrl_free(&b);
}

/* A broker holding another cluster's data is refused (this controller's
 * data.dir was wiped): a session here would give it a broker epoch its own
 * controller may have handed out too (sim seed 5106, T9). An empty broker
 * (no cluster id) joins. */
Test(ctrl, a_broker_of_another_cluster_is_refused) {
  snprintf(c.cluster_id, sizeof c.cluster_id, "%s", "mine");
  struct ctrl_out out = {0};
  Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
  q.broker_id = 7;
  q.host = (char *)"h";
  q.port = 1;
  q.rack = (char *)"";
  q.cluster_id = (char *)"theirs";
  cr_assert_eq(ctrl_register(&c, &q, 0, &out), STRATA_EINCONSISTENT_CLUSTER_ID);
  cr_assert_eq(out.n, 0u, "nothing recorded");
  q.cluster_id = (char *)"mine";
  cr_assert_eq(ctrl_register(&c, &q, 0, &out), 0);
  ctrl_out_reset(&out);
  q.broker_id = 8;
  q.cluster_id = (char *)"";
  cr_assert_eq(ctrl_register(&c, &q, 0, &out), 0, "an empty broker joins");
  ctrl_out_reset(&out);
}

/* Growing a topic: new partitions placed as creation places them (with the
 * topic's replication factor, continuing the rotation), all in sync with
 * their preferred leader; shrinking, the same count, an unknown topic,
 * over the cap and __consumer_offsets refused; validate_only records
 * nothing. */
Test(ctrl, create_partitions_grows_placed_like_create) {
  create("g", 2, 3, 0);
  struct ctrl_out out = {0};
  char err[256];
  cr_assert_eq(ctrl_create_partitions(&c, "g", 5, 1, &out, err, sizeof err), 0, "%s", err);
  cr_assert_eq(out.n, 0u, "validate_only records nothing");
  cr_assert_eq(ctrl_create_partitions(&c, "g", 5, 0, &out, err, sizeof err), 0, "%s", err);
  cr_assert_eq(out.n, 1u);
  int64_t v = c.version;
  commit(&out);
  cr_assert_eq(c.version, v + 1);
  const struct ctrl_topic *t = ctrl_topic(&c, "g");
  cr_assert_eq(t->npart, 5u);
  /* the same as a topic created with 5 partitions */
  create("same", 5, 3, 0);
  const struct ctrl_topic *same = ctrl_topic(&c, "same");
  for (uint32_t p = 0; p < 5; p++) {
    const struct ctrl_partition *a = &t->parts[p], *b = &same->parts[p];
    cr_assert_eq(a->nreplicas, 3u);
    cr_assert_eq(memcmp(a->replicas, b->replicas, sizeof a->replicas), 0, "partition %u", p);
    cr_assert_eq(a->nisr, 3u);
    cr_assert_eq(a->leader, a->replicas[0]);
  }
  cr_assert_eq(ctrl_create_partitions(&c, "g", 3, 0, &out, err, sizeof err),
               STRATA_EINVALID_PARTITIONS);
  cr_assert_str_eq(err, "Topic currently has 5 partitions, which is higher than the requested 3.");
  cr_assert_eq(ctrl_create_partitions(&c, "g", 5, 0, &out, err, sizeof err),
               STRATA_EINVALID_PARTITIONS);
  cr_assert_str_eq(err, "Topic already has 5 partitions.");
  cr_assert_eq(ctrl_create_partitions(&c, "g", CTRL_PARTITIONS_MAX + 1, 0, &out, err, sizeof err),
               STRATA_EINVALID_PARTITIONS);
  cr_assert_eq(ctrl_create_partitions(&c, "nope", 3, 0, &out, err, sizeof err),
               STRATA_EUNKNOWN_TOPIC);
  create("__consumer_offsets", 2, 3, 0);
  cr_assert_eq(ctrl_create_partitions(&c, "__consumer_offsets", 3, 0, &out, err, sizeof err),
               STRATA_EINVALID_REQUEST);
  cr_assert_eq(out.n, 0u, "refusals record nothing");
  /* The image carries the grown topic whole; a record naming a partition
   * twice or below the current count is refused as corrupt. */
  Strata__MetadataImage *img = ctrl_image(&c);
  struct ctrl_config cfg = c.cfg;
  struct ctrl d;
  ctrl_init(&d, 0, &cfg);
  cr_assert_eq(ctrl_load_image(&d, img), 0);
  cr_assert_eq(ctrl_topic(&d, "g")->npart, 5u);
  ctrl_free(&d);
  ctrl_image_free(img);
  Strata__PartitionState ps = STRATA__PARTITION_STATE__INIT, *pv[1] = {&ps};
  int32_t reps[1] = {1};
  ps.partition = 2;
  ps.replicas = reps;
  ps.n_replicas = 1;
  Strata__PartitionsAddedRecord a = STRATA__PARTITIONS_ADDED_RECORD__INIT;
  a.topic = (char *)"g";
  a.partitions = pv;
  a.n_partitions = 1;
  Strata__MetadataRecord r = STRATA__METADATA_RECORD__INIT;
  r.rec_case = STRATA__METADATA_RECORD__REC_PARTITIONS_ADDED;
  r.partitions_added = &a;
  cr_assert_eq(ctrl_apply(&c, &r), STRATA_ECORRUPT, "partition 2 exists already");
  ps.partition = 6; /* 5 is missing: numbering must continue */
  cr_assert_eq(ctrl_apply(&c, &r), STRATA_ECORRUPT);
  cr_assert_eq(ctrl_topic(&c, "g")->npart, 5u);
}

/* Refuse, don't melt (issue 15): a creation or growth that would leave a
 * broker with more partition replicas than max.partitions.per.broker is
 * refused with an error naming the broker and the limit, and records
 * nothing; up to the limit exactly is allowed. */
Test(ctrl, refuses_placements_past_max_partitions_per_broker_and_records_nothing) {
  c.cfg.max_partitions_per_broker = 10;
  create("a", 9, 3, 0); /* 9 replicas on each of the 3 brokers */
  create("b", 2, 1, 0); /* brokers 1 and 2 reach 10 */
  struct ctrl_out out = {0};
  char err[256] = "";
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)"c";
  s.partitions = 2; /* would be 11 on broker 1 */
  s.replication_factor = 1;
  int64_t v = c.version;
  size_t ntopics = c.ntopics;
  cr_assert_eq(ctrl_create_topic(&c, &s, 1, &out, err, sizeof err), STRATA_EINVALID_PARTITIONS);
  cr_assert(strstr(err, "max.partitions.per.broker=10"), "%s", err);
  cr_assert(strstr(err, "broker 1 would host 11"), "%s", err);
  cr_assert_eq(out.n, 0u, "a refusal writes no record");
  cr_assert_eq(c.ntopics, ntopics);
  cr_assert_eq(c.version, v);
  /* Growth: one more partition of "a" puts one replica on every broker. */
  err[0] = 0;
  cr_assert_eq(ctrl_create_partitions(&c, "a", 10, 1, &out, err, sizeof err),
               STRATA_EINVALID_PARTITIONS, "validate_only refuses too");
  cr_assert(strstr(err, "max.partitions.per.broker=10"), "%s", err);
  cr_assert_eq(ctrl_create_partitions(&c, "a", 10, 0, &out, err, sizeof err),
               STRATA_EINVALID_PARTITIONS);
  cr_assert_eq(out.n, 0u);
  cr_assert_eq(ctrl_topic(&c, "a")->npart, 9u);
  /* Broker 3 has room for exactly one more. */
  s.partitions = 1;
  s.name = (char *)"fits";
  s.replication_factor = 1;
  c.cfg.max_partitions_per_broker = 11;
  cr_assert_eq(ctrl_create_topic(&c, &s, 1, &out, err, sizeof err), 0, "%s", err);
  commit(&out);
  c.cfg.max_partitions_per_broker = 10;
  s.name = (char *)"one-more";
  cr_assert_eq(ctrl_create_topic(&c, &s, 1, &out, err, sizeof err), STRATA_EINVALID_PARTITIONS,
               "every broker is full now");
  cr_assert_eq(out.n, 0u);
}

/* The default (what the scale test shows a broker carries, ctrl.h) is
 * enforced when nothing is configured. */
Test(ctrl, the_default_per_broker_limit_is_enforced) {
  cr_assert_eq(c.cfg.max_partitions_per_broker, 0u, "0 in the config: the default");
  create("full", CTRL_PARTITIONS_PER_BROKER_DEFAULT, 3, 0);
  struct ctrl_out out = {0};
  char err[256] = "";
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)"one-more";
  s.partitions = 1;
  s.replication_factor = 3;
  cr_assert_eq(ctrl_create_topic(&c, &s, 1, &out, err, sizeof err), STRATA_EINVALID_PARTITIONS);
  cr_assert(strstr(err, "over max.partitions.per.broker=10000"), "%s", err);
  cr_assert_eq(out.n, 0u);
}

/* Kafka's topic ids: each topic gets a usable random one when created, and
 * a topic deleted and created again gets a new one (a client holding the
 * old id must not read the new topic as the old). */
Test(ctrl, topics_get_ids_and_a_recreated_topic_a_new_one, .init = setup, .fini = teardown) {
  create("a", 1, 1, 0);
  create("b", 1, 1, 0);
  uint8_t ida[16], idb[16];
  memcpy(ida, ctrl_topic(&c, "a")->id, 16);
  memcpy(idb, ctrl_topic(&c, "b")->id, 16);
  cr_assert(topic_id_usable(ida) && topic_id_usable(idb));
  cr_assert_neq(memcmp(ida, idb, 16), 0);
  cr_assert_eq(ctrl_topic_by_id(&c, idb), ctrl_topic(&c, "b"));
  struct ctrl_out out = {0};
  cr_assert_eq(ctrl_delete_topic(&c, "a", &out), 0);
  commit(&out);
  cr_assert_null(ctrl_topic_by_id(&c, ida));
  create("a", 1, 1, 0);
  cr_assert(topic_id_usable(ctrl_topic(&c, "a")->id));
  cr_assert_neq(memcmp(ctrl_topic(&c, "a")->id, ida, 16), 0, "a re-created topic has a new id");
  Strata__MetadataImage *img = ctrl_image(&c);
  int seen = 0;
  for (size_t i = 0; i < img->n_topics; i++)
    if (!strcmp(img->topics[i]->name, "b")) {
      cr_assert_eq(img->topics[i]->topic_id.len, 16u);
      cr_assert_eq(memcmp(img->topics[i]->topic_id.data, idb, 16), 0, "brokers get the id");
      seen = 1;
    }
  cr_assert(seen);
  ctrl_image_free(img);
}

/* A metadata log written before topic ids: the controller gives each old
 * topic an id once, records it, and a restart replays the same id. */
Test(ctrl, topics_from_before_ids_get_one_id_that_survives_restarts) {
  trace_set_level(TRACE_ERROR);
  dir = proc_tmpdir("strata-metalog");
  struct ctrl_config cfg = {1000, 0, 5000, 0, 0};
  struct controller ctl;
  memset(&ctl, 0, sizeof ctl);
  char err[256];
  cr_assert_eq(controller_open(&ctl, dir, 0, &cfg, 0, err, sizeof err), 0, "%s", err);
  struct ctrl_out out = {0};
  Strata__BrokerRegisterRequest q = STRATA__BROKER_REGISTER_REQUEST__INIT;
  q.broker_id = 1;
  q.host = (char *)"h";
  q.port = 1;
  q.rack = (char *)"";
  cr_assert_eq(ctrl_register(&ctl.c, &q, 0, &out), 0);
  cr_assert_eq(metalog_commit(&ctl.log, &ctl.c, &out), 0);
  Strata__TopicSpec s = STRATA__TOPIC_SPEC__INIT;
  s.name = (char *)"old";
  s.partitions = 1;
  s.replication_factor = 1;
  cr_assert_eq(ctrl_create_topic(&ctl.c, &s, 1, &out, err, sizeof err), 0);
  free(out.recs[0]->topic->topic_id.data); /* as an older controller wrote it */
  out.recs[0]->topic->topic_id.data = NULL;
  out.recs[0]->topic->topic_id.len = 0;
  cr_assert_eq(metalog_commit(&ctl.log, &ctl.c, &out), 0);
  cr_assert(topic_id_is_zero(ctrl_topic(&ctl.c, "old")->id));
  controller_close(&ctl);

  memset(&ctl, 0, sizeof ctl);
  cr_assert_eq(controller_open(&ctl, dir, 0, &cfg, 0, err, sizeof err), 0, "%s", err);
  uint8_t id[16];
  memcpy(id, ctrl_topic(&ctl.c, "old")->id, 16);
  cr_assert(topic_id_usable(id), "an old topic gets an id");
  controller_close(&ctl);

  memset(&ctl, 0, sizeof ctl);
  cr_assert_eq(controller_open(&ctl, dir, 0, &cfg, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(memcmp(ctrl_topic(&ctl.c, "old")->id, id, 16), 0, "and keeps it");
  controller_close(&ctl);
}

/* A damage report (issue 15) from broker `id` for t-0: 1 damaged, 2 repaired. */
static int report(int32_t id, int what) {
  Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
  q.broker_id = id;
  q.broker_epoch = ctrl_broker(&c, id)->epoch;
  q.topic = (char *)"t";
  q.damage_report = what;
  struct ctrl_out out = {0};
  char err[128];
  int rc = ctrl_alter_isr(&c, &q, &out, err, sizeof err);
  commit(&out);
  return rc;
}

static int contains_id(const int32_t *v, uint32_t n, int32_t id) {
  for (uint32_t i = 0; i < n; i++)
    if (v[i] == id) return 1;
  return 0;
}

Test(ctrl, a_damaged_leader_hands_over_to_a_healthy_isr_member_and_is_never_elected) {
  create("t", 1, 3, 0);
  struct ctrl_partition *p = &ctrl_topic(&c, "t")->parts[0];
  int32_t leader = p->leader, epoch = p->leader_epoch;
  cr_assert_eq(report(leader, 1), 0);
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_neq(p->leader, leader);
  cr_expect_eq(p->leader_epoch, epoch + 1);
  cr_expect(!contains_id(p->isr, p->nisr, leader), "out of the ISR");
  cr_expect(contains_id(p->damaged, p->ndamaged, leader));
  cr_expect_eq(report(leader, 1), 0, "idempotent");
  /* The new leader cannot add it back while it is marked. */
  Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
  q.broker_id = p->leader;
  q.broker_epoch = ctrl_broker(&c, p->leader)->epoch;
  q.topic = (char *)"t";
  q.leader_epoch = p->leader_epoch;
  q.partition_epoch = p->partition_epoch;
  int32_t isr[3] = {1, 2, 3};
  q.isr = isr;
  q.n_isr = 3;
  struct ctrl_out out = {0};
  char err[128];
  cr_expect_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), STRATA_EINVALID_REQUEST);
  cr_assert_eq(report(leader, 2), 0);
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_eq(p->ndamaged, 0u);
  q.partition_epoch = p->partition_epoch;
  cr_expect_eq(ctrl_alter_isr(&c, &q, &out, err, sizeof err), 0, "%s", err);
  ctrl_out_reset(&out);
}

Test(ctrl, a_damaged_sole_leader_keeps_leading_and_a_damaged_follower_is_not_elected) {
  create("t", 1, 3, 0);
  struct ctrl_partition *p = &ctrl_topic(&c, "t")->parts[0];
  int32_t leader = p->leader, f = -1;
  for (uint32_t i = 0; i < p->nreplicas; i++)
    if (p->replicas[i] != leader) f = p->replicas[i];
  cr_assert_eq(report(f, 1), 0);
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_eq(p->leader, leader);
  cr_expect(!contains_id(p->isr, p->nisr, f));
  cr_expect_eq(p->nisr, 2u);
  /* The other healthy follower reports too: the leader is alone; then the
   * leader itself: no healthy copy, it keeps leading. */
  for (uint32_t i = 0; i < p->nreplicas; i++)
    if (p->replicas[i] != leader && p->replicas[i] != f) cr_assert_eq(report(p->replicas[i], 1), 0);
  cr_assert_eq(report(leader, 1), 0);
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_eq(p->leader, leader, "no healthy replica to hand over to");
  cr_expect_eq(p->nisr, 1u);
}

Test(ctrl, a_damaged_replica_is_never_elected_even_when_its_peers_die) {
  create("t", 1, 3, 0);
  struct ctrl_partition *p = &ctrl_topic(&c, "t")->parts[0];
  int32_t f = p->leader % 3 + 1;
  cr_assert_eq(report(f, 1), 0);
  /* Only the damaged replica heartbeats: the others are fenced. */
  struct ctrl_out out = {0};
  for (int64_t now = 100; now <= 2000; now += 100) {
    cr_assert_eq(ctrl_heartbeat(&c, f, ctrl_broker(&c, f)->epoch, now, &out), 0);
    commit(&out);
    ctrl_tick(&c, now, &out);
    commit(&out);
  }
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_eq(p->leader, -1, "offline rather than led by a damaged log (leader %d)", p->leader);
}

/* A report that broker `id` cannot open its log of t-0 (3, with errno e) or
 * opened it again (4). */
static int report_offline(int32_t id, int what, int32_t e) {
  Strata__AlterIsrRequest q = STRATA__ALTER_ISR_REQUEST__INIT;
  q.broker_id = id;
  q.broker_epoch = ctrl_broker(&c, id)->epoch;
  q.topic = (char *)"t";
  q.damage_report = what;
  q.offline_errno = e;
  struct ctrl_out out = {0};
  char err[128];
  int rc = ctrl_alter_isr(&c, &q, &out, err, sizeof err);
  commit(&out);
  return rc;
}

Test(ctrl, a_replica_that_cannot_open_its_log_leaves_the_isr_and_is_never_elected) {
  create("t", 1, 3, 0);
  struct ctrl_partition *p = &ctrl_topic(&c, "t")->parts[0];
  int32_t off = p->leader, epoch = p->leader_epoch;
  cr_assert_eq(report_offline(off, 3, 20 /* ENOTDIR */), 0);
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_neq(p->leader, off, "leadership moves to a replica that can serve");
  cr_expect_eq(p->leader_epoch, epoch + 1);
  cr_expect(!contains_id(p->isr, p->nisr, off), "out of the ISR");
  cr_assert_eq(p->noffline, 1u);
  cr_expect_eq(p->offline[0], off);
  cr_expect_eq(p->offline_errno[0], 20, "the reason is kept for cluster status");
  int32_t pe = p->partition_epoch;
  cr_expect_eq(report_offline(off, 3, 20), 0);
  cr_expect_eq(ctrl_topic(&c, "t")->parts[0].partition_epoch, pe, "idempotent");
  /* Its peers die: the partition goes offline rather than to it, even if
   * the offline replica was the last in-sync one with them. */
  struct ctrl_out out = {0};
  for (int64_t now = 100; now <= 2000; now += 100) {
    cr_assert_eq(ctrl_heartbeat(&c, off, ctrl_broker(&c, off)->epoch, now, &out), 0);
    commit(&out);
    ctrl_tick(&c, now, &out);
    commit(&out);
  }
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_eq(p->leader, -1, "not led by a broker that cannot open the log (leader %d)",
               p->leader);
  /* Open again: unmarked; it was out of the ISR when its peers died, so it
   * is still no candidate (its log may lack acknowledged records). */
  cr_assert_eq(report_offline(off, 4, 0), 0);
  p = &ctrl_topic(&c, "t")->parts[0];
  cr_expect_eq(p->noffline, 0u);
  cr_expect_eq(p->leader, -1);
}
