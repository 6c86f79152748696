/* The group commit's choice of thread (broker/flush.c flush_on_loop): a
 * sync runs on the loop only when it is the one small fdatasync of a log
 * this broker does not lead, with nothing else syncing or waiting; every
 * other sync goes to the thread pool. And a job's byte count is what was
 * appended since the sync before it began. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/broker.h"
#include "broker/flush.h"
#include "broker/seglog.h"
#include "broker/topics.h"
#include "common/config.h"
#include "common/trace.h"
#include "drill/proc.h"
#include "tests/unit/broker_fixture.h"
#include "replication_fixture.h"

static char *dir;
static struct broker b;
static struct broker_config cfg;

#define STARTED_MAX 8
static struct started {
  struct partition *p;
  struct seglog_sync job;
  int on_loop;
} started[STARTED_MAX];
static int nstarted;

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  cr_assert((dir = proc_tmpdir("strata-flush")));
  broker_fixture_open(&b, &cfg, dir,
                      (const char *[]){"log.flush.policy", "always", "log.level", "error", NULL},
                      1000);
  char err[256];
  cr_assert_eq(topics_create(&b.topics, "t", 2, NULL, NULL, 0, NULL, 1000, err, sizeof err), 0,
               "%s", err);
  nstarted = 0;
}

static void teardown(void) {
  broker_close(&b);
  proc_rm_rf(dir);
  free(dir);
}

TestSuite(flush, .init = setup, .fini = teardown);

static struct partition *part(uint32_t k) { return topics_partition(&b.topics, "t", k); }

/* count one-record batches appended to p's log as a follower would (the
 * offsets it has), then on the dirty list; returns the bytes */
static size_t append(struct partition *p, int count) {
  size_t len;
  uint8_t *buf = batches(seglog_end_offset(p->log), count, 0, &len);
  cr_assert_eq(seglog_append_replica(p->log, buf, len, 1000), 0);
  free(buf);
  flush_note_append(&b, p);
  return len;
}

static void start(void *arg, struct partition *p, struct seglog_sync *job, int on_loop) {
  (void)arg;
  cr_assert_lt(nstarted, STARTED_MAX);
  started[nstarted++] = (struct started){p, *job, on_loop};
}

/* Run and end every sync started so far, as the glue does. */
static void finish_all(void) {
  for (int i = 0; i < nstarted; i++) {
    int rc = seglog_sync_run(&started[i].job);
    flush_done(&b, started[i].p, &started[i].job, rc);
  }
  nstarted = 0;
}

/* A first record in both logs, synced (their directory with it): the next
 * jobs are one fdatasync each. */
static void settle(void) {
  append(part(0), 1);
  append(part(1), 1);
  flush_begin(&b, 0, start, NULL);
  finish_all();
}

Test(flush, one_small_sync_of_a_log_not_led_here_runs_on_the_loop) {
  struct partition *p = part(0);
  size_t len = append(p, 3);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(nstarted, 1);
  cr_assert_eq(started[0].p, p);
  cr_assert_eq(started[0].job.n, 2, "a new log's first sync covers its directory too");
  cr_assert_eq(started[0].on_loop, 0);
  cr_assert_eq(started[0].job.bytes, len, "bytes since the last sync began");
  finish_all();
  cr_assert_eq(seglog_durable_offset(p->log), 3);
  /* the next job: the segment alone, only what came after */
  len = append(p, 1);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(nstarted, 1);
  cr_assert_eq(started[0].job.n, 1);
  cr_assert_eq(started[0].on_loop, 1);
  cr_assert_eq(started[0].job.bytes, len);
  finish_all();
  cr_assert_eq(seglog_durable_offset(p->log), 4);
}

Test(flush, not_when_the_glue_does_not_allow_it) {
  settle();
  append(part(0), 1);
  flush_begin(&b, 0, start, NULL);
  cr_assert_eq(nstarted, 1);
  cr_assert_eq(started[0].on_loop, 0);
  finish_all();
}

Test(flush, not_for_a_partition_led_here) {
  settle();
  struct partition *p = part(0);
  append(p, 1);
  p->rep.role = ROLE_LEADER; /* its loop forwards and reads reports meanwhile */
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(nstarted, 1);
  cr_assert_eq(started[0].on_loop, 0);
  finish_all();
  p->rep.role = ROLE_NONE;
}

Test(flush, not_when_two_partitions_wait) {
  settle();
  append(part(0), 1);
  append(part(1), 1);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(nstarted, 2);
  cr_assert_eq(started[0].on_loop + started[1].on_loop, 0, "both in the pool, side by side");
  finish_all();
}

Test(flush, not_past_the_byte_limit) {
  settle();
  struct partition *p = part(0);
  size_t len = 0;
  while (len <= FLUSH_ON_LOOP_BYTES_MAX) len += append(p, 100);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(nstarted, 1);
  cr_assert_eq(started[0].job.bytes, len);
  cr_assert_eq(started[0].on_loop, 0);
  finish_all();
}

Test(flush, not_while_another_sync_runs) {
  settle();
  struct partition *p = part(0);
  append(p, 1);
  flush_begin(&b, 0, start, NULL); /* in the pool, still running */
  cr_assert_eq(nstarted, 1);
  append(p, 1);
  flush_begin(&b, 1, start, NULL); /* a second one of the same log (FLUSH_SYNCS_PER_LOG) */
  cr_assert_eq(nstarted, 2);
  cr_assert_eq(started[1].on_loop, 0);
  finish_all();
  cr_assert_eq(seglog_durable_offset(p->log), 3);
}

Test(flush, not_for_a_while_after_a_slow_one) {
  settle();
  struct partition *p = part(0);
  b.now_ms = 50000;
  flush_loop_sync_took(&b, FLUSH_ON_LOOP_SLOW_US, b.now_ms); /* not slow yet */
  append(p, 1);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(started[0].on_loop, 1);
  finish_all();
  flush_loop_sync_took(&b, FLUSH_ON_LOOP_SLOW_US + 1, b.now_ms); /* the disk stalled */
  append(p, 1);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(started[0].on_loop, 0, "in the pool while the disk may stall again");
  finish_all();
  b.now_ms += FLUSH_ON_LOOP_OFF_MS;
  append(p, 1);
  flush_begin(&b, 1, start, NULL);
  cr_assert_eq(started[0].on_loop, 1, "back on the loop after FLUSH_ON_LOOP_OFF_MS");
  finish_all();
}
