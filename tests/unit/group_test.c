/* The group coordinator's state machine without sockets: simulated members
 * heartbeat with what they own and apply what they are told. After every
 * step no partition is assigned to two members (safety property 5); groups
 * converge to a balanced, sticky assignment; dead members' partitions move;
 * stale epochs, unknown members and foreign partitions are refused and
 * change nothing; static members come back without a rebalance; a group of
 * 100 settles after 10 join and 10 leave at once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group.h"
#include "common/errors.h"

#define SIMS 128

struct sim {
  int live;
  char id[GROUP_MEMBER_ID_MAX + 1];
  char instance[32];
  int32_t epoch;
  struct group_tp owned[256];
  size_t nowned;
};

static struct group g;
static struct sim s[SIMS];
static const char *topics[1] = {"t"};

static void init(int64_t delay) {
  struct group_config cfg = {delay, 250, 1000, 30000};
  cr_assert_eq(group_init(&g, "g1", &cfg, ASSIGNOR_STICKY, "c7"), 0);
  cr_assert_eq(group_set_partitions(&g, "t", 12, 0), 0);
  memset(s, 0, sizeof s);
}

static void fini(void) { group_free(&g); }

TestSuite(group, .fini = fini);

/* No partition assigned to two members, ever. */
static void check_exclusive(void) {
  for (size_t i = 0; i < g.nmembers; i++)
    for (size_t j = i + 1; j < g.nmembers; j++)
      for (size_t a = 0; a < g.members[i]->nassigned; a++)
        for (size_t b = 0; b < g.members[j]->nassigned; b++)
          cr_assert(g.members[i]->assigned[a].topic != g.members[j]->assigned[b].topic ||
                        g.members[i]->assigned[a].partition != g.members[j]->assigned[b].partition,
                    "partition %u assigned to %s and %s", g.members[i]->assigned[a].partition,
                    g.members[i]->id, g.members[j]->id);
}

/* One heartbeat of sim k (joining if it has no id); it applies the answer. */
static int beat(int k, int64_t now) {
  struct group_heartbeat hb = {0};
  hb.member_id = s[k].id;
  hb.instance_id = s[k].instance;
  hb.member_epoch = s[k].id[0] ? s[k].epoch : GROUP_JOIN;
  hb.session_ms = 3000;
  hb.topics = topics;
  hb.ntopics = 1;
  hb.owned = s[k].owned;
  hb.nowned = s[k].nowned;
  struct group_reply r;
  int rc = group_heartbeat(&g, &hb, now, &r);
  if (rc) return rc;
  snprintf(s[k].id, sizeof s[k].id, "%s", r.member_id);
  s[k].epoch = r.member_epoch;
  s[k].nowned = r.nassignment;
  for (size_t i = 0; i < r.nassignment; i++) s[k].owned[i] = r.assignment[i];
  group_reply_free(&r);
  s[k].live = 1;
  check_exclusive();
  return 0;
}

/* Heartbeat rounds of every live sim until the group is stable; rounds used. */
static int settle(int n, int64_t *now) {
  for (int round = 1; round <= 20; round++) {
    *now += 250;
    group_tick(&g, *now);
    for (int k = 0; k < n; k++)
      if (s[k].live) cr_assert_eq(beat(k, *now), 0);
    if (group_is_stable(&g)) return round;
  }
  cr_assert_fail("group did not settle in 20 rounds");
  return -1;
}

Test(group, members_joining_at_once_settle_in_one_rebalance_after_the_delay) {
  init(500);
  int64_t now = 0;
  for (int k = 0; k < 3; k++) cr_assert_eq(beat(k, now += 50), 0);
  for (int k = 0; k < 3; k++) cr_assert_eq(s[k].nowned, 0u, "nothing before the delay ends");
  settle(3, &now);
  cr_assert_eq(g.target_epoch, 3, "one target for the three joins");
  for (int k = 0; k < 3; k++) cr_assert_eq(s[k].nowned, 4u);
}

Test(group, a_new_member_gets_partitions_only_after_others_release_them) {
  init(0);
  int64_t now = 0;
  for (int k = 0; k < 2; k++) cr_assert_eq(beat(k, now), 0);
  settle(2, &now);
  cr_assert_eq(s[0].nowned + s[1].nowned, 12u);
  cr_assert_eq(beat(2, now += 10), 0); /* joins: the others must give up 4 */
  cr_assert_eq(s[2].nowned, 0u, "the partitions are still owned by the others");
  cr_assert_eq(beat(0, now += 10), 0);
  cr_assert_eq(s[0].nowned, 4u, "member 0 keeps 4 of its 6 while giving up 2");
  int rounds = settle(3, &now);
  cr_assert_leq(rounds, 3, "release, hand over, confirm: %d rounds", rounds);
  for (int k = 0; k < 3; k++) cr_assert_eq(s[k].nowned, 4u);
}

Test(group, a_dead_member_loses_its_partitions_after_its_session) {
  init(0);
  int64_t now = 0;
  for (int k = 0; k < 4; k++) cr_assert_eq(beat(k, now), 0);
  settle(4, &now);
  struct group_tp kept[4][12];
  size_t nkept[4];
  for (int k = 0; k < 4; k++) {
    nkept[k] = s[k].nowned;
    memcpy(kept[k], s[k].owned, s[k].nowned * sizeof *kept[k]);
  }
  s[3].live = 0; /* kill -9 */
  int64_t died = now;
  while (now - died <= 3000) {
    now += 250;
    group_tick(&g, now);
    for (int k = 0; k < 3; k++) cr_assert_eq(beat(k, now), 0);
  }
  settle(3, &now);
  cr_assert_eq(g.nmembers, 3u);
  for (int k = 0; k < 3; k++) {
    cr_assert_eq(s[k].nowned, 4u);
    for (size_t i = 0; i < nkept[k]; i++) {
      int still = 0;
      for (size_t j = 0; j < s[k].nowned; j++) still |= s[k].owned[j].partition == kept[k][i].partition;
      cr_assert(still, "a survivor kept its own partitions (sticky)");
    }
  }
}

Test(group, stale_epochs_unknown_members_and_foreign_partitions_are_refused) {
  init(0);
  int64_t now = 0;
  for (int k = 0; k < 2; k++) cr_assert_eq(beat(k, now), 0);
  settle(2, &now);
  int32_t epoch = s[0].epoch;
  int32_t group_epoch = g.epoch;
  s[0].epoch = epoch - 1;
  cr_assert_eq(beat(0, now), STRATA_EILLEGAL_GENERATION);
  s[0].epoch = epoch;
  snprintf(s[1].id, sizeof s[1].id, "nobody");
  cr_assert_eq(beat(1, now), STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(g.epoch, group_epoch, "refusals change nothing");
  cr_assert_eq(group_commit_check(&g, s[0].id, epoch, "t", s[0].owned[0].partition), 0);
  cr_assert_eq(group_commit_check(&g, s[0].id, epoch - 1, "t", s[0].owned[0].partition),
               STRATA_EILLEGAL_GENERATION);
  cr_assert_eq(group_commit_check(&g, "nobody", epoch, "t", 0), STRATA_EUNKNOWN_MEMBER);
  const struct group_member *other = g.members[0] == group_find_member(&g, s[0].id) ? g.members[1] : g.members[0];
  cr_assert_eq(group_commit_check(&g, s[0].id, epoch, "t", other->assigned[0].partition),
               STRATA_EINVALID_REQUEST, "not its partition");
  cr_assert_eq(group_commit_check(&g, s[0].id, epoch, "other-topic", 0), STRATA_EINVALID_REQUEST);
  struct group_heartbeat bad = {0};
  bad.member_epoch = GROUP_JOIN;
  bad.member_id = "";
  struct group_reply r;
  cr_assert_eq(group_heartbeat(&g, &bad, now, &r), STRATA_EINVALID_REQUEST, "a join without topics");
}

Test(group, a_static_member_restarts_within_its_session_without_a_rebalance) {
  init(0);
  int64_t now = 0;
  for (int k = 0; k < 3; k++) {
    snprintf(s[k].instance, sizeof s[k].instance, "host-%d", k);
    cr_assert_eq(beat(k, now), 0);
  }
  settle(3, &now);
  int32_t epoch = g.epoch;
  struct group_tp before[12];
  size_t nbefore = s[1].nowned;
  memcpy(before, s[1].owned, nbefore * sizeof *before);
  struct group_heartbeat leave = {0};
  leave.member_id = s[1].id;
  leave.member_epoch = GROUP_LEAVE_STATIC;
  struct group_reply r;
  cr_assert_eq(group_heartbeat(&g, &leave, now, &r), 0);
  s[1].live = 0;
  for (int i = 0; i < 4; i++) { /* the others go on; nobody takes its partitions */
    now += 250;
    group_tick(&g, now);
    for (int k = 0; k < 3; k += 2) cr_assert_eq(beat(k, now), 0);
  }
  s[1].id[0] = 0; /* restarted process: joins again with its instance id */
  s[1].nowned = 0;
  cr_assert_eq(beat(1, now), 0);
  cr_assert_eq(g.epoch, epoch, "no rebalance");
  cr_assert_eq(s[1].nowned, nbefore, "its partitions back");
  cr_assert_eq(memcmp(s[1].owned, before, nbefore * sizeof *before), 0);
}

Test(group, a_hundred_members_settle_after_ten_join_and_ten_leave_at_once) {
  init(0);
  cr_assert_eq(group_set_partitions(&g, "t", 12, 0), 0);
  int64_t now = 0;
  for (int k = 0; k < 100; k++) cr_assert_eq(beat(k, now), 0);
  group_set_partitions(&g, "t", 400, now);
  settle(100, &now);
  for (int k = 0; k < 10; k++) {
    struct group_heartbeat leave = {0};
    leave.member_id = s[k].id;
    leave.member_epoch = GROUP_LEAVE;
    struct group_reply r;
    cr_assert_eq(group_heartbeat(&g, &leave, now, &r), 0);
    s[k].live = 0;
  }
  for (int k = 100; k < 110; k++) cr_assert_eq(beat(k, now), 0);
  int rounds = settle(110, &now);
  cr_assert_leq(rounds, 3, "settled in %d heartbeat rounds", rounds);
  cr_assert_eq(g.nmembers, 100u);
  for (int k = 10; k < 110; k++) cr_assert_eq(s[k].nowned, 4u);
}

Test(group, a_pattern_subscriber_follows_its_matching_topics) {
  init(0);
  int64_t now = 0;
  struct group_heartbeat hb = {0};
  hb.member_id = "";
  hb.member_epoch = GROUP_JOIN;
  static const char *none[1];
  hb.topics = none; /* the pattern matches nothing yet */
  hb.ntopics = 0;
  struct group_reply r;
  cr_assert_eq(group_heartbeat(&g, &hb, now, &r), 0);
  cr_assert_eq(r.nassignment, 0u);
  char id[GROUP_MEMBER_ID_MAX + 1];
  snprintf(id, sizeof id, "%s", r.member_id);
  group_reply_free(&r);
  cr_assert_eq(group_set_member_pattern(&g, id, "^t$", NULL), 0);
  int32_t before = g.epoch;
  cr_assert_eq(group_set_member_topics(&g, id, topics, 1, now), 0, "topic t appeared");
  cr_assert_eq(g.epoch, before + 1, "a subscription change is a rebalance");
  cr_assert_eq(group_set_member_topics(&g, id, topics, 1, now), 0);
  cr_assert_eq(g.epoch, before + 1, "the same topics again change nothing");
  hb.member_id = id;
  hb.member_epoch = group_find_member(&g, id)->epoch;
  hb.topics = NULL;
  cr_assert_eq(group_heartbeat(&g, &hb, now, &r), 0);
  cr_assert_eq(r.nassignment, 12u, "all of t's partitions");
  group_reply_free(&r);
  cr_assert_eq(group_set_member_topics(&g, "ghost", topics, 1, now), STRATA_EUNKNOWN_MEMBER);
}

/* Kafka 4.x consumers (KIP-848 through kafka_consumer_groups.c) make their
 * own member id (KIP-1082): a join under it keeps it, and a member fenced
 * for an old epoch joins again under the same id (its old self leaves). */
static int own_join(const char *id, int64_t now, struct group_reply *r) {
  struct group_heartbeat hb = {0};
  hb.member_id = id;
  hb.own_member_id = 1;
  hb.member_epoch = GROUP_JOIN;
  hb.session_ms = 3000;
  hb.topics = topics;
  hb.ntopics = 1;
  return group_heartbeat(&g, &hb, now, r);
}

Test(group, a_member_joins_under_its_own_id_and_again_after_being_fenced) {
  init(0);
  int64_t now = 0;
  struct group_reply r;
  cr_assert_eq(own_join("kafka-member-A", now, &r), 0);
  cr_assert_str_eq(r.member_id, "kafka-member-A");
  group_reply_free(&r);
  snprintf(s[0].id, sizeof s[0].id, "kafka-member-A");
  s[0].live = 1;
  s[0].epoch = g.members[0]->epoch;
  settle(1, &now);
  cr_assert_eq(g.nmembers, 1u);
  int32_t epoch = s[0].epoch;
  cr_assert_gt(epoch, 0);
  /* fenced (it missed epochs): epoch 0 under the same id is a new join */
  cr_assert_eq(own_join("kafka-member-A", now, &r), 0);
  cr_assert_str_eq(r.member_id, "kafka-member-A");
  group_reply_free(&r);
  cr_assert_eq(g.nmembers, 1u, "its old self left");
  s[0].epoch = group_find_member(&g, "kafka-member-A")->epoch;
  s[0].nowned = 0;
  settle(1, &now);
  cr_assert_gt(s[0].epoch, epoch, "a new membership, a newer epoch");
  cr_assert_eq(s[0].nowned, 12u, "and every partition again");
}
