/* The coordinator's assignors: every partition to exactly one subscribed
 * member, balanced; sticky moves only what balance needs when members come
 * and go; range and round-robin match Kafka's layouts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/assignor.h"

#define MAXM 128

static char ids[MAXM][24];
static uint32_t all_topics[4] = {0, 1, 2, 3};

static void members_init(struct assign_member *m, size_t n, size_t ntopics) {
  for (size_t i = 0; i < n; i++) {
    snprintf(ids[i], sizeof ids[i], "m%03zu", i);
    memset(&m[i], 0, sizeof m[i]);
    m[i].id = ids[i];
    m[i].topics = all_topics;
    m[i].ntopics = ntopics;
  }
}

/* Each partition once, only to subscribers; returns max-min load. */
static size_t check_exact(struct assign_member *m, size_t n, const uint32_t *npart, size_t ntopics) {
  size_t total = 0;
  for (size_t t = 0; t < ntopics; t++) total += npart[t];
  int *seen = calloc(total + 1, sizeof *seen);
  size_t lo = SIZE_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < m[i].nout; k++) {
      struct tp p = m[i].out[k];
      cr_assert_lt(p.topic, ntopics);
      cr_assert_lt(p.partition, npart[p.topic]);
      int sub = 0;
      for (size_t s = 0; s < m[i].ntopics; s++) sub |= m[i].topics[s] == p.topic;
      cr_assert(sub, "%s got a partition of a topic it does not subscribe to", m[i].id);
      size_t f = 0;
      for (size_t t = 0; t < p.topic; t++) f += npart[t];
      f += p.partition;
      cr_assert_not(seen[f], "partition %u-%u assigned twice", p.topic, p.partition);
      seen[f] = 1;
    }
    if (m[i].nout < lo) lo = m[i].nout;
    if (m[i].nout > hi) hi = m[i].nout;
  }
  for (size_t f = 0; f < total; f++) cr_assert(seen[f], "partition %zu unassigned", f);
  free(seen);
  return hi - lo;
}

Test(assignor, every_kind_assigns_each_partition_once_and_balances) {
  uint32_t npart[3] = {12, 5, 7};
  for (int kind = 0; kind < 3; kind++) {
    struct assign_member m[5];
    members_init(m, 5, 3);
    cr_assert_eq(assign_partitions(kind, npart, 3, m, 5), 0);
    size_t spread = check_exact(m, 5, npart, 3);
    if (kind != ASSIGNOR_RANGE) cr_assert_leq(spread, 1, "%s spread %zu", assignor_name(kind), spread);
    assign_free(m, 5);
  }
}

Test(assignor, range_gives_contiguous_ranges_per_topic_like_kafka) {
  uint32_t npart[1] = {7};
  struct assign_member m[3];
  members_init(m, 3, 1);
  cr_assert_eq(assign_partitions(ASSIGNOR_RANGE, npart, 1, m, 3), 0);
  /* 7 over 3: 3, 2, 2 in member id order */
  cr_assert_eq(m[0].nout, 3u);
  cr_assert_eq(m[0].out[0].partition, 0u);
  cr_assert_eq(m[0].out[2].partition, 2u);
  cr_assert_eq(m[1].out[0].partition, 3u);
  cr_assert_eq(m[2].out[1].partition, 6u);
  assign_free(m, 3);
}

Test(assignor, sticky_moves_only_what_balance_needs) {
  uint32_t npart[1] = {12};
  struct assign_member m[5];
  members_init(m, 4, 1);
  cr_assert_eq(assign_partitions(ASSIGNOR_STICKY, npart, 1, m, 4), 0);
  cr_assert_eq(check_exact(m, 4, npart, 1), 0u, "3 each");
  /* member 1 leaves: only its 3 partitions move */
  struct assign_member n[3];
  size_t keep[3] = {0, 2, 3};
  for (size_t i = 0; i < 3; i++) {
    n[i] = m[keep[i]];
    n[i].prev = m[keep[i]].out;
    n[i].nprev = m[keep[i]].nout;
    n[i].out = NULL;
  }
  cr_assert_eq(assign_partitions(ASSIGNOR_STICKY, npart, 1, n, 3), 0);
  cr_assert_eq(check_exact(n, 3, npart, 1), 0u, "4 each");
  for (size_t i = 0; i < 3; i++)
    for (size_t k = 0; k < n[i].nprev; k++) {
      int still = 0;
      for (size_t j = 0; j < n[i].nout; j++) still |= !memcmp(&n[i].out[j], &n[i].prev[k], sizeof(struct tp));
      cr_assert(still, "%s lost partition %u it could keep", n[i].id, n[i].prev[k].partition);
    }
  /* a new member joins: it takes 3, each other gives exactly one */
  struct assign_member o[4];
  for (size_t i = 0; i < 3; i++) {
    o[i] = n[i];
    o[i].prev = n[i].out;
    o[i].nprev = n[i].nout;
    o[i].out = NULL;
  }
  members_init(&o[3], 1, 1);
  o[3].id = "m999";
  cr_assert_eq(assign_partitions(ASSIGNOR_STICKY, npart, 1, o, 4), 0);
  cr_assert_eq(check_exact(o, 4, npart, 1), 0u);
  for (size_t i = 0; i < 3; i++) cr_assert_eq(o[i].nout, 3u);
  cr_assert_eq(o[3].nout, 3u);
  assign_free(m, 4);
  assign_free(n, 3);
  assign_free(o, 4);
}

Test(assignor, different_subscriptions_stay_within_each_members_topics) {
  uint32_t npart[2] = {6, 6};
  static const uint32_t only0[1] = {0}, only1[1] = {1};
  for (int kind = 0; kind < 3; kind++) {
    struct assign_member m[3];
    members_init(m, 3, 2);
    m[0].topics = only0;
    m[0].ntopics = 1;
    m[2].topics = only1;
    m[2].ntopics = 1;
    cr_assert_eq(assign_partitions(kind, npart, 2, m, 3), 0);
    check_exact(m, 3, npart, 2);
    assign_free(m, 3);
  }
}

Test(assignor, a_hundred_members_settle_balanced_and_sticky) {
  uint32_t npart[4] = {100, 100, 50, 50};
  static struct assign_member m[MAXM];
  members_init(m, 100, 4);
  cr_assert_eq(assign_partitions(ASSIGNOR_STICKY, npart, 4, m, 100), 0);
  cr_assert_leq(check_exact(m, 100, npart, 4), 1u);
  assign_free(m, 100);
}
