/* A standalone broker's topic ids (broker/topics.c): a new topic gets a
 * usable random id kept in its topic file, a restart reads the same id, a
 * topic file from before ids gets one on load (written back, so every later
 * restart answers the same), and the controller's id replaces a local one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/topics.h"
#include "common/topic_id.h"
#include "common/trace.h"
#include "drill/proc.h"

static char *dir;

static void setup(void) {
  trace_set_level(TRACE_ERROR);
  dir = proc_tmpdir("strata-topicids");
}

static void teardown(void) {
  if (dir) proc_rm_rf(dir);
  free(dir);
  dir = NULL;
}

static void open_topics(struct topics *t) {
  struct seglog_config sc;
  seglog_config_defaults(&sc);
  char err[256] = "";
  cr_assert_eq(topics_open(t, dir, &sc, 1 << 20, 0, 0, err, sizeof err), 0, "%s", err);
}

TestSuite(topic_ids, .init = setup, .fini = teardown);

Test(topic_ids, a_new_topic_keeps_its_id_across_restarts) {
  struct topics t;
  open_topics(&t);
  char err[256] = "";
  cr_assert_eq(topics_create(&t, "a", 2, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(topics_create(&t, "b", 1, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  uint8_t a[16], b[16];
  memcpy(a, topics_find(&t, "a")->id, 16);
  memcpy(b, topics_find(&t, "b")->id, 16);
  cr_assert(topic_id_usable(a) && topic_id_usable(b));
  cr_assert_neq(memcmp(a, b, 16), 0);
  cr_assert_eq(topics_find_id(&t, b), topics_find(&t, "b"));
  topics_close(&t);
  open_topics(&t);
  cr_assert_eq(memcmp(topics_find(&t, "a")->id, a, 16), 0, "the id survives a restart");
  cr_assert_eq(memcmp(topics_find(&t, "b")->id, b, 16), 0);
  /* deleted and created again: a new id */
  cr_assert_eq(topics_delete(&t, "a"), 0);
  cr_assert_eq(topics_create(&t, "a", 2, NULL, NULL, 0, NULL, 0, err, sizeof err), 0, "%s", err);
  cr_assert_neq(memcmp(topics_find(&t, "a")->id, a, 16), 0);
  topics_close(&t);
}

Test(topic_ids, a_topic_file_from_before_ids_gets_one_id_once) {
  struct topics t;
  open_topics(&t);
  topics_close(&t);
  char path[600];
  snprintf(path, sizeof path, "%s/topics/old.properties", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "# strata topic old\npartitions=1\nretention.ms=1000\n");
  fclose(f);
  open_topics(&t);
  struct topic *tp = topics_find(&t, "old");
  cr_assert_not_null(tp);
  cr_assert(topic_id_usable(tp->id), "an old topic gets an id on load");
  cr_assert_eq(tp->seg.retention_ms, 1000, "its configs are kept");
  uint8_t id[16];
  memcpy(id, tp->id, 16);
  topics_close(&t);
  open_topics(&t);
  cr_assert_eq(memcmp(topics_find(&t, "old")->id, id, 16), 0, "the same id after a restart");
  /* the controller's id for it replaces the local one, durably */
  uint8_t ctl[16];
  memset(ctl, 0x11, 16);
  char err[256] = "";
  cr_assert_eq(topics_set_id(&t, topics_find(&t, "old"), ctl, err, sizeof err), 0, "%s", err);
  topics_close(&t);
  open_topics(&t);
  cr_assert_eq(memcmp(topics_find(&t, "old")->id, ctl, 16), 0);
  cr_assert_eq(topics_find(&t, "old")->seg.retention_ms, 1000);
  topics_close(&t);
}

Test(topic_ids, a_damaged_id_in_a_topic_file_is_an_error) {
  struct topics t;
  open_topics(&t);
  topics_close(&t);
  char path[600];
  snprintf(path, sizeof path, "%s/topics/bad.properties", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "partitions=1\ntopic.id=xyz\n");
  fclose(f);
  struct seglog_config sc;
  seglog_config_defaults(&sc);
  char err[256] = "";
  cr_assert_neq(topics_open(&t, dir, &sc, 1 << 20, 0, 0, err, sizeof err), 0);
  cr_assert(strstr(err, "topic.id"), "%s", err);
  topics_close(&t);
}
