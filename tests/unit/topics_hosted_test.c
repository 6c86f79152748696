/* The hosting rule of broker/topics.h in the registry alone (cluster mode,
 * assigned_only): a created or grown topic's partitions get entries but no
 * log and no directory, and none of them is offline; topics_host opens one
 * (its directory appears); topics_unhost swaps in a fresh unhosted entry
 * while a holder of the old one (a parked fetch) keeps it, marked deleted,
 * its log open until the last reference goes (an empty one nobody holds
 * goes with its directory); a reopen opens exactly the
 * partitions whose directories exist; standalone, every partition opens. */
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

static void open_dir(int assigned_only) {
  struct seglog_config seg;
  seglog_config_defaults(&seg);
  char err[256];
  cr_assert_eq(topics_open(&t, dir, &seg, 1 << 20, assigned_only, 0, err, sizeof err), 0, "%s",
               err);
}

static int has_dir(const char *name, uint32_t p) {
  char path[PATH_MAX];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s-%u", dir, name, p);
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  dir = proc_tmpdir("strata-topicshosted");
  cr_assert(dir);
}

static void teardown(void) {
  topics_close(&t);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(topics_hosted, .init = setup, .fini = teardown);

Test(topics_hosted, only_assigned_replicas_get_logs) {
  char err[256];
  open_dir(1);
  cr_assert_eq(topics_create(&t, "h", 4, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  struct topic *tp = topics_find(&t, "h");
  for (uint32_t i = 0; i < 4; i++) {
    cr_assert(tp->parts[i], "partition %u has an entry", i);
    cr_assert(!tp->parts[i]->hosted && !tp->parts[i]->log);
    cr_assert(!topics_offline(tp->parts[i]), "an unhosted partition is not offline");
    cr_assert(!has_dir("h", i), "no directory for h-%u before it is assigned", i);
  }
  cr_assert_eq(topics_offline_count(&t), 0);
  cr_assert_eq(topics_reopen(&t, tp->parts[0], 0), 0); /* the offline retry: nothing to do */
  cr_assert(!tp->parts[0]->log && !has_dir("h", 0));

  cr_assert_eq(topics_host(&t, tp->parts[1], 0), 0);
  cr_assert_eq(topics_host(&t, tp->parts[3], 0), 0);
  cr_assert(tp->parts[1]->hosted && tp->parts[1]->log && has_dir("h", 1));
  cr_assert(tp->parts[3]->hosted && tp->parts[3]->log && has_dir("h", 3));
  cr_assert(!has_dir("h", 0) && !has_dir("h", 2));

  /* grown: the new partitions are unhosted too */
  cr_assert_eq(topics_add_partitions(&t, "h", 6, 0, err, sizeof err), 0, "%s", err);
  cr_assert(!tp->parts[4]->hosted && !tp->parts[5]->hosted && !has_dir("h", 4) && !has_dir("h", 5));

  /* dropped while a parked request holds it */
  struct partition *old = tp->parts[3];
  partition_ref(old);
  struct partition *n = topics_unhost(&t, old);
  cr_assert(n != old && tp->parts[3] == n && !n->hosted && !n->log && n->id == 3);
  cr_assert(old->deleted && old->log, "the holder's entry stays usable until it lets go");
  partition_unref(old);
  cr_assert(has_dir("h", 3), "the directory is kept (no deletion yet)");
  cr_assert_eq(topics_offline_count(&t), 0);

  /* a restart opens what is on disk (1 and 3), nothing else */
  topics_close(&t);
  open_dir(1);
  tp = topics_find(&t, "h");
  cr_assert_eq(tp->npart, 6);
  for (uint32_t i = 0; i < 6; i++)
    cr_assert_eq(tp->parts[i]->hosted, i == 1 || i == 3, "h-%u hosted %d", i, tp->parts[i]->hosted);
  cr_assert(tp->parts[1]->log && tp->parts[3]->log);
}

Test(topics_hosted, standalone_hosts_every_partition) {
  char err[256];
  open_dir(0);
  cr_assert_eq(topics_create(&t, "s", 3, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  struct topic *tp = topics_find(&t, "s");
  for (uint32_t i = 0; i < 3; i++)
    cr_assert(tp->parts[i]->hosted && tp->parts[i]->log && has_dir("s", i));
}

Test(topics_hosted, a_directory_that_cannot_open_is_offline_not_unhosted) {
  char err[256], path[PATH_MAX];
  open_dir(1);
  cr_assert_eq(topics_create(&t, "o", 2, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(topics_host(&t, topics_find(&t, "o")->parts[0], 0), 0);
  topics_close(&t);
  /* o-0 replaced by a file: it exists, so it is hosted, and offline */
  snprintf(path, sizeof path, "%s/o-0", dir);
  proc_rm_rf(path);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs("not a directory\n", f);
  fclose(f);
  open_dir(1);
  struct topic *tp = topics_find(&t, "o");
  cr_assert(tp->parts[0]->hosted && !tp->parts[0]->log && topics_offline(tp->parts[0]));
  cr_assert(!tp->parts[1]->hosted && !topics_offline(tp->parts[1]));
  cr_assert_eq(topics_offline_count(&t), 1);
}

Test(topics_hosted, an_empty_dropped_replica_leaves_no_directory) {
  char err[256];
  open_dir(1);
  cr_assert_eq(topics_create(&t, "e", 2, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  struct topic *tp = topics_find(&t, "e");
  cr_assert_eq(topics_host(&t, tp->parts[0], 0), 0);
  cr_assert(has_dir("e", 0));
  struct partition *n = topics_unhost(&t, tp->parts[0]);
  cr_assert(tp->parts[0] == n && !n->hosted && !n->log);
  cr_assert(!has_dir("e", 0), "an empty log nobody holds goes with its directory");
  cr_assert_eq(topics_host(&t, n, 0), 0); /* assigned again: created empty again */
  cr_assert(n->hosted && n->log && has_dir("e", 0));
}
