/* Growing a topic in the broker's registry (topics_add_partitions): the
 * partitions it had keep their addresses (others hold struct partition
 * pointers) and their records; the new ones open empty, with no role; the
 * topic file says the new count, so a reopen finds them all; refusals
 * (unknown topic, not larger, over the cap) change nothing; leftovers of an
 * earlier topic under the new numbers are cleared first. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/topics.h"
#include "common/errors.h"
#include "common/trace.h"
#include "drill/proc.h"

static char *dir;
static struct topics t;

static void open_dir(void) {
  struct seglog_config seg;
  seglog_config_defaults(&seg);
  char err[256];
  cr_assert_eq(topics_open(&t, dir, &seg, 1 << 20, 0, 0, err, sizeof err), 0, "%s", err);
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  dir = proc_tmpdir("strata-topicsgrow");
  cr_assert(dir);
  open_dir();
}

static void teardown(void) {
  topics_close(&t);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(topics_grow, .init = setup, .fini = teardown);

Test(topics_grow, grows_in_place_and_persists) {
  char err[256];
  cr_assert_eq(topics_create(&t, "g", 2, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  /* A leftover directory under a number the topic will take (an earlier
   * topic's delete cut short) must not become the new partition's data. */
  char stale[PATH_MAX];
  snprintf(stale, sizeof stale, "%s/g-3", dir);
  cr_assert_eq(mkdir(stale, 0755), 0);
  snprintf(stale, sizeof stale, "%s/g-3/junk", dir);
  FILE *f = fopen(stale, "w");
  cr_assert(f);
  fputs("old", f);
  fclose(f);

  struct partition *p0 = t.v[0]->parts[0], *p1 = t.v[0]->parts[1];
  partition_ref(p0); /* as a parked request would */
  cr_assert_eq(topics_add_partitions(&t, "g", 5, 0, err, sizeof err), 0, "%s", err);
  struct topic *tp = topics_find(&t, "g");
  cr_assert_eq(tp->npart, 5u);
  cr_assert_eq(tp->parts[0], p0, "partition 0 kept its address");
  cr_assert_eq(tp->parts[1], p1);
  cr_assert_eq(p0->topic, tp);
  for (uint32_t i = 2; i < 5; i++) {
    cr_assert(tp->parts[i]);
    cr_assert_eq(tp->parts[i]->id, i);
    cr_assert_eq(tp->parts[i]->topic, tp);
    cr_assert_eq(tp->parts[i]->rep.role, ROLE_NONE);
    cr_assert_eq(topics_partition(&t, "g", i), tp->parts[i]);
  }
  struct stat st;
  cr_assert_neq(stat(stale, &st), 0, "the leftover was removed");
  partition_unref(p0);

  cr_assert_eq(topics_add_partitions(&t, "g", 4, 0, err, sizeof err), STRATA_EINVALID_PARTITIONS);
  cr_assert_str_eq(err, "Topic currently has 5 partitions, which is higher than the requested 4.");
  cr_assert_eq(topics_add_partitions(&t, "g", 5, 0, err, sizeof err), STRATA_EINVALID_PARTITIONS);
  cr_assert_str_eq(err, "Topic already has 5 partitions.");
  cr_assert_eq(topics_add_partitions(&t, "g", TOPIC_PARTITIONS_MAX + 1, 0, err, sizeof err),
               STRATA_EINVALID_PARTITIONS);
  cr_assert_eq(topics_add_partitions(&t, "nope", 3, 0, err, sizeof err), STRATA_EUNKNOWN_TOPIC);
  cr_assert_str_eq(err, "topic 'nope' does not exist");
  cr_assert_eq(tp->npart, 5u, "refusals change nothing");

  topics_close(&t); /* a restart reads the new count from the topic file */
  open_dir();
  cr_assert_eq(topics_find(&t, "g")->npart, 5u);
  cr_assert(topics_partition(&t, "g", 4));
}
