/* The history checker must be able to fail: fed histories with a lost
 * write, a duplicate, a reorder, a replica disagreement, two owners, a
 * commit going back and a bad read, it reports each one; a clean history
 * passes, and gaps in acknowledged writes show as unavailability. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "drill/checker.h"

static struct checker_result run(const char *const *lines) {
  struct checker_config cfg = {500000};
  struct checker *c = checker_new(&cfg);
  cr_assert(c);
  for (size_t i = 0; lines[i]; i++) checker_add_line(c, lines[i]);
  struct checker_result r;
  checker_run(c, &r);
  char buf[4096];
  FILE *f = fmemopen(buf, sizeof buf, "w");
  checker_print_json(c, &r, f);
  fclose(f);
  cr_assert(strstr(buf, "\"verdict\":"), "JSON report: %s", buf);
  checker_free(c);
  return r;
}

/* Two writes to partition 0, replicated on two brokers, read and owned. */
#define CLEAN                                                                   \
  "W 100 200 0 v1 ok 0", "W 300 400 0 v2 ok 1", "W 300 400 0 v3 fail",         \
      "L b1 0 0 v1", "L b1 0 1 v2", "L b2 0 0 v1", "L b2 0 1 v2",              \
      "R 500 m1 0 0 v1", "R 510 m1 0 1 v2", "O 0 1000 m1 1 0", "O 1000 2000 m2 2 0", \
      "C 600 g 0 1", "C 700 g 0 2"

Test(checker, a_clean_history_passes) {
  const char *h[] = {CLEAN, NULL};
  struct checker_result r = run(h);
  cr_assert_not(checker_violated(&r));
  cr_assert_eq(r.writes_ok, 2u);
  cr_assert_eq(r.writes_failed, 1u);
  cr_assert_eq(r.reads, 2u);
}

Test(checker, a_lost_write_is_reported) {
  const char *h[] = {CLEAN, "W 800 900 0 v4 ok 2", "L b1 0 2 v9", "L b2 0 2 v9", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.lost, 1u);
  cr_assert(checker_violated(&r));
  const char *h2[] = {CLEAN, "W 800 900 0 v4 ok 2", "L b1 0 2 v4", "L b2 0 3 vx", NULL};
  r = run(h2);
  cr_assert_eq(r.lost, 1u, "missing on one replica that reaches the offset");
}

/* Retention: a write below every replica's log start was deleted on
 * purpose, not lost; below one replica's start but held by another that
 * reaches it, still fine; a replica that holds the offset but not the
 * value still loses it. */
Test(checker, writes_deleted_by_retention_are_not_lost) {
  const char *h[] = {"W 100 200 0 a ok 0", "W 300 400 0 b ok 1", "L b1 0 1 b", "L b2 0 1 b",
                     "S b1 0 1", "S b2 0 1", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.lost, 0u);
  cr_assert_eq(r.expired, 1u);
  cr_assert_not(checker_violated(&r));
  const char *h2[] = {"W 100 200 0 a ok 0", "W 300 400 0 b ok 1", "L b1 0 1 b", "L b2 0 1 b", NULL};
  cr_assert_eq(run(h2).lost, 1u, "without the log starts it is a loss");
  const char *h3[] = {"W 100 200 0 a ok 0", "W 300 400 0 b ok 1", "L b1 0 1 b", "L b2 0 0 x",
                      "L b2 0 1 b", "S b1 0 1", NULL};
  r = run(h3);
  cr_assert_eq(r.lost, 1u, "b2 still holds offset 0, with another value");
  cr_assert_eq(r.expired, 0u);
}

/* A commit line may carry when it was asked for: commits whose requests
 * overlap have no order, one asked for after another took effect does. */
Test(checker, commits_are_ordered_by_real_time) {
  const char *overlap[] = {"C 500 g 0 30 100", "C 600 g 0 28 200", NULL};
  cr_assert_eq(run(overlap).commits_backwards, 0u, "28 may have taken effect before 30");
  const char *after[] = {"C 500 g 0 30 100", "C 700 g 0 28 600", NULL};
  cr_assert_eq(run(after).commits_backwards, 1u);
  const char *bad[] = {"C 500 g 0 30 600", NULL};
  struct checker_result r = run(bad);
  cr_assert_eq(r.malformed, 1u, "asked for after it took effect");
  const char *keys[] = {"C 500 g 0 30", "C 700 g 1 28", "C 800 h 0 1", NULL};
  cr_assert_eq(run(keys).commits_backwards, 0u, "other partitions and groups are not compared");
}

Test(checker, a_duplicate_is_reported) {
  const char *h[] = {CLEAN, "L b1 0 2 v1", NULL};
  cr_assert_eq(run(h).duplicated, 1u);
}

Test(checker, a_reorder_is_reported) {
  const char *h[] = {"W 100 200 0 a ok 5", "W 300 400 0 b ok 4", "L b1 0 4 b", "L b1 0 5 a", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.reordered, 1u, "b was sent after a was acknowledged, but sits before it");
  const char *ok[] = {"W 100 400 0 a ok 5", "W 300 500 0 b ok 4", "L b1 0 4 b", "L b1 0 5 a", NULL};
  cr_assert_eq(run(ok).reordered, 0u, "concurrent writes may land in any order");
}

Test(checker, replica_disagreement_is_reported) {
  const char *h[] = {CLEAN, "L b3 0 0 v1", "L b3 0 1 vX", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.disagreements, 1u);
}

Test(checker, two_owners_of_one_generation_are_reported) {
  const char *h[] = {CLEAN, "O 1500 1700 m3 2 0", NULL};
  cr_assert_eq(run(h).double_owners, 1u);
  const char *fine[] = {CLEAN, "O 1500 1700 m3 3 0", NULL};
  cr_assert_eq(run(fine).double_owners, 0u, "a zombie of another generation is not a violation");
}

Test(checker, commits_going_back_and_bad_reads_are_reported) {
  const char *h[] = {CLEAN, "C 800 g 0 1", "R 900 m2 0 1 v7", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.commits_backwards, 1u);
  cr_assert_eq(r.bad_reads, 1u);
}

Test(checker, a_committed_but_unread_write_is_reported) {
  /* the group committed offset 2 of partition 0, having read only offset 0 */
  const char *h[] = {"W 100 200 0 v1 ok 0", "W 300 400 0 v2 ok 1", "L b1 0 0 v1", "L b1 0 1 v2",
                     "R 500 m1 0 0 v1", "C 600 g 0 2", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.skipped, 1u);
  cr_assert(checker_violated(&r));
  const char *fine[] = {"W 100 200 0 v1 ok 0", "W 300 400 0 v2 ok 1", "L b1 0 0 v1",
                        "L b1 0 1 v2", "R 500 m1 0 0 v1", "R 550 m2 0 1 v2", "C 600 g 0 2", NULL};
  cr_assert_eq(run(fine).skipped, 0u, "a read by any member counts");
}

Test(checker, unavailability_windows_are_measured_not_violations) {
  const char *h[] = {"W 0 100 0 a ok 0", "W 0 900000 0 b ok 1", "L b1 0 0 a", "L b1 0 1 b", NULL};
  struct checker_result r = run(h);
  cr_assert_eq(r.windows, 1u);
  cr_assert_eq(r.longest_window_us, 899900);
  cr_assert_not(checker_violated(&r));
}

Test(checker, malformed_lines_are_counted) {
  const char *h[] = {CLEAN, "W nonsense", "Z 1 2 3", NULL};
  cr_assert_eq(run(h).malformed, 2u);
}
