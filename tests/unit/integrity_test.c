/* broker/scrub.c (the scrubber's pacing) and replication/damage.c (what a
 * replica does about a damaged batch): both pure. */
#include <criterion/criterion.h>

#include "broker/scrub.h"
#include "replication/damage.h"
#include "replication/replica.h"

Test(scrub, paces_reads_at_its_rate_in_bounded_chunks) {
  struct scrub s;
  struct scrub_config c = {20000000, 86400000};
  scrub_init(&s, &c, 0);
  int started;
  cr_expect_eq(scrub_budget(&s, 0, &started), 0u);
  cr_expect(started, "the first pass starts at once");
  uint64_t b = scrub_budget(&s, 50, &started);
  cr_expect(!started);
  cr_expect_eq(b, 1000000u, "50 ms at 20 MB/s");
  scrub_spent(&s, b);
  cr_expect_eq(scrub_budget(&s, 10000, &started), SCRUB_CHUNK_MAX, "a stall never banks more than a chunk");
  scrub_spent(&s, 3 * SCRUB_CHUNK_MAX); /* a batch larger than the budget: debt */
  cr_expect_eq(scrub_budget(&s, 10050, &started), 0u);
}

Test(scrub, one_pass_per_interval_and_zero_disables) {
  struct scrub s;
  struct scrub_config c = {1000000, 60000};
  scrub_init(&s, &c, 0);
  int started;
  scrub_budget(&s, 0, &started);
  scrub_pass_done(&s, 1000);
  cr_expect_eq(scrub_budget(&s, 59999, &started), 0u);
  cr_expect(!started);
  scrub_budget(&s, 60000, &started);
  cr_expect(started, "the next pass starts an interval after the last one started");
  scrub_pass_done(&s, 200000); /* a pass longer than the interval: the next at once */
  scrub_budget(&s, 200000, &started);
  cr_expect(started);
  struct scrub off;
  struct scrub_config zero = {1000000, 0};
  scrub_init(&off, &zero, 0);
  cr_expect_eq(scrub_budget(&off, 100000, &started), 0u);
  cr_expect(!started);
}

Test(damage, follower_reports_then_cuts_once_marked_then_reports_repaired) {
  struct damage d;
  damage_init(&d);
  cr_expect(damage_found(&d, 500));
  cr_expect(!damage_found(&d, 700), "a later batch is not news");
  struct damage_view v = {ROLE_FOLLOWER, 0, 1000, 0};
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_REPORT, "no cut while still electable");
  v.marked = 1;
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_CUT);
  damage_cut_done(&d, 1000);
  v.log_end = 500;
  cr_expect_eq(damage_plan(&d, &v), 0, "refetching");
  v.log_end = 1000;
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_REPORT_REPAIRED);
  v.marked = 0;
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_DONE);
  damage_clear(&d);
  cr_expect(!damage_pending(&d));
}

Test(damage, a_restart_that_forgot_its_damage_is_unmarked_only_after_a_clean_scrub) {
  struct damage d;
  damage_init(&d);
  struct damage_view v = {ROLE_FOLLOWER, 1, 100, 0};
  cr_expect_eq(damage_plan(&d, &v), 0, "not before the scrubber checked the whole log");
  v.checked = 1;
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_REPORT_REPAIRED);
}

Test(damage, a_leader_reports_but_never_cuts) {
  struct damage d;
  damage_init(&d);
  damage_found(&d, 10);
  struct damage_view v = {ROLE_LEADER, 0, 100, 0};
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_REPORT);
  v.marked = 1; /* no healthy replica could take over */
  cr_expect_eq(damage_plan(&d, &v), 0);
  v.role = ROLE_NONE; /* offline: nobody to refetch from, the records beyond stay */
  cr_expect_eq(damage_plan(&d, &v), 0);
  v.role = ROLE_FOLLOWER; /* leadership moved */
  cr_expect_eq(damage_plan(&d, &v), DAMAGE_CUT);
}
