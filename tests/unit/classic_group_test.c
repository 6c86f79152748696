/* Classic Kafka consumer groups (broker/classic_group.c) as transcripts:
 * members join and sync, a fourth forces generation 2 while the others hear
 * REBALANCE_IN_PROGRESS, sessions and the rebalance timeout remove members,
 * MEMBER_ID_REQUIRED, a static member restarts without a rebalance and its
 * old id is fenced, LeaveGroup, the protocol vote, offset-commit checks,
 * and the coordinator keeping classic and native groups apart. Tokens are
 * small integers; every parked request is answered exactly once. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "broker/classic_group.h"
#include "broker/coordinator.h"
#include "common/errors.h"

#define T(n) ((void *)(uintptr_t)(n))

static struct classic_group g;
static struct classic_out out;
static int64_t now;

static void start(int64_t delay) {
  struct classic_config cfg;
  classic_config_default(&cfg);
  cfg.initial_delay_ms = delay;
  cr_assert_eq(classic_init(&g, "g1", &cfg, "n1"), 0);
  classic_out_init(&out);
  now = 1000;
}

static void fini(void) {
  classic_free(&g);
  classic_out_free(&out);
}

TestSuite(classic, .fini = fini);

/* A member as the test drives it. */
struct mem {
  const char *client;
  const char *inst;         /* group.instance.id or NULL */
  const char *protos;       /* "range,roundrobin" */
  int32_t session, rebalance;
  char id[CLASSIC_ID_MAX + 1];
  int32_t gen;
};

static struct mem member(const char *client, const char *protos) {
  struct mem m = {client, NULL, protos, 10000, 10000, "", -1};
  return m;
}

/* The answer for token t, or NULL; checks it is there only once. */
static const struct classic_answer *ans(int t) {
  const struct classic_answer *a = NULL;
  for (size_t i = 0; i < out.n; i++)
    if (out.v[i].token == T(t)) {
      cr_assert_null(a, "token %d answered twice", t);
      a = &out.v[i];
    }
  return a;
}

static void reset(void) { classic_out_reset(&out); }

static char meta_buf[32][64];
static char name_buf[32][32];

/* JoinGroup of m (v4+ when v4), token t; returns classic_join's value. */
static int join_ex(struct mem *m, int t, int v4, int v9) {
  struct classic_protocol p[32];
  size_t n = 0;
  const char *s = m->protos;
  while (*s && n < 32) {
    size_t len = strcspn(s, ",");
    snprintf(name_buf[n], sizeof name_buf[n], "%.*s", (int)len, s);
    snprintf(meta_buf[n], sizeof meta_buf[n], "%s:%s", m->client, name_buf[n]);
    p[n] = (struct classic_protocol){name_buf[n], (const uint8_t *)meta_buf[n], strlen(meta_buf[n])};
    n++;
    s += len + (s[len] == ',');
  }
  struct classic_join_req r = {0};
  r.member_id = m->id;
  r.instance_id = m->inst;
  r.client_id = m->client;
  r.client_host = "/127.0.0.1";
  r.protocol_type = "consumer";
  r.protocols = p;
  r.nprotocols = n;
  r.session_ms = m->session;
  r.rebalance_ms = m->rebalance;
  r.require_known_member_id = v4;
  r.skip_assignment_ok = v9;
  return classic_join(&g, now, &r, T(t), &out);
}

static void join(struct mem *m, int t) { cr_assert_eq(join_ex(m, t, 0, 0), 0); }

/* m's JoinGroup answer (token t) is here and good: m learns id and generation. */
static const struct classic_answer *joined(struct mem *m, int t) {
  const struct classic_answer *a = ans(t);
  cr_assert_not_null(a, "no JoinGroup answer for %s (token %d)", m->client, t);
  cr_assert_eq(a->kind, CLASSIC_ANSWER_JOIN);
  cr_assert_eq(a->error, 0, "%s: join error %s", m->client, strata_errname(a->error));
  snprintf(m->id, sizeof m->id, "%s", a->member_id);
  m->gen = a->generation;
  return a;
}

static int sync_ex(struct mem *m, int t, struct mem **assign, size_t n) {
  struct classic_assignment v[8];
  static char bytes[8][64];
  for (size_t i = 0; i < n; i++) {
    snprintf(bytes[i], sizeof bytes[i], "assign:%s", assign[i]->client);
    v[i] = (struct classic_assignment){assign[i]->id, (const uint8_t *)bytes[i], strlen(bytes[i])};
  }
  struct classic_sync_req r = {m->id, m->inst, m->gen, "consumer", NULL, v, n};
  return classic_sync(&g, now, &r, T(t), &out);
}

static void sync_(struct mem *m, int t) { cr_assert_eq(sync_ex(m, t, NULL, 0), 0); }

/* m's SyncGroup answer (token t) carries "assign:<client>". */
static void synced(struct mem *m, int t) {
  const struct classic_answer *a = ans(t);
  cr_assert_not_null(a, "no SyncGroup answer for %s", m->client);
  cr_assert_eq(a->kind, CLASSIC_ANSWER_SYNC);
  cr_assert_eq(a->error, 0, "%s: sync error %s", m->client, strata_errname(a->error));
  char want[64];
  snprintf(want, sizeof want, "assign:%s", m->client);
  cr_assert_eq(a->assignment_len, strlen(want));
  cr_assert_arr_eq(a->assignment, want, strlen(want));
}

static int hb(const struct mem *m) {
  struct classic_heartbeat_req r = {m->id, m->inst, m->gen};
  return classic_heartbeat(&g, now, &r);
}

static void tick(int64_t at) {
  now = at;
  cr_assert_eq(classic_tick(&g, now, &out), 0);
}

static int answer_error(int t) {
  const struct classic_answer *a = ans(t);
  cr_assert_not_null(a, "token %d not answered", t);
  return a->error;
}

/* The initial delay runs out: once more when members joined during it. */
static void wait_initial_delay(void) {
  for (int i = 0; i < 3 && g.state == CLASSIC_PREPARING_REBALANCE; i++) tick(now + 100);
  cr_assert_neq(g.state, CLASSIC_PREPARING_REBALANCE);
}

/* n members join (tokens 1..n), the initial delay (100 ms) passes, the
 * first leads and assigns each its "assign:<client>": Stable, generation 1. */
static void form(struct mem **m, size_t n) {
  for (size_t i = 0; i < n; i++) join(m[i], (int)i + 1);
  cr_assert_eq(out.n, 0);
  wait_initial_delay();
  for (size_t i = 0; i < n; i++) joined(m[i], (int)i + 1);
  reset();
  for (size_t i = 1; i < n; i++) sync_(m[i], 100 + (int)i);
  cr_assert_eq(sync_ex(m[0], 100, m, n), 0);
  for (size_t i = 0; i < n; i++) synced(m[i], 100 + (int)i);
  reset();
  cr_assert_eq(g.state, CLASSIC_STABLE);
}

Test(classic, three_members_join_wait_out_the_initial_delay_and_sync) {
  start(3000);
  struct mem a = member("a", "range"), b = member("b", "range"), c = member("c", "range");
  join(&a, 1);
  cr_assert_eq(g.state, CLASSIC_PREPARING_REBALANCE);
  now = 1100;
  join(&b, 2);
  now = 1200;
  join(&c, 3);
  tick(3999);
  cr_assert_eq(out.n, 0, "the initial delay is still running");
  tick(4000);
  cr_assert_eq(out.n, 0, "members arrived during the delay: it is extended once more");
  cr_assert_eq(classic_next_deadline(&g), 7000);
  tick(7000);
  const struct classic_answer *la = joined(&a, 1);
  const struct classic_answer *lb = joined(&b, 2);
  joined(&c, 3);
  cr_assert_eq(a.gen, 1);
  cr_assert_eq(b.gen, 1);
  cr_assert_eq(c.gen, 1);
  cr_assert_str_eq(la->protocol_name, "range");
  cr_assert_str_eq(la->protocol_type, "consumer");
  cr_assert_str_eq(la->leader_id, a.id);
  cr_assert_str_eq(lb->leader_id, a.id);
  cr_assert(!strncmp(a.id, "a-", 2), "member id starts with the client id: %s", a.id);
  cr_assert_str_neq(a.id, b.id);
  cr_assert_eq(la->nmembers, 3, "the leader gets every member's metadata");
  cr_assert_eq(lb->nmembers, 0, "followers get none");
  for (size_t i = 0; i < 3; i++) {
    const struct classic_member_meta *e = &la->members[i];
    const char *want = !strcmp(e->member_id, a.id) ? "a:range" : !strcmp(e->member_id, b.id) ? "b:range" : "c:range";
    cr_assert_eq(e->len, strlen(want));
    cr_assert_arr_eq(e->metadata, want, e->len);
  }
  cr_assert_eq(g.state, CLASSIC_COMPLETING_REBALANCE);
  reset();

  cr_assert_eq(hb(&b), 0, "heartbeats are fine while waiting for SyncGroup");
  sync_(&b, 12);
  cr_assert_eq(out.n, 0, "a follower's SyncGroup waits for the leader's");
  struct mem *all[3] = {&a, &b, &c};
  cr_assert_eq(sync_ex(&a, 11, all, 3), 0);
  synced(&a, 11);
  synced(&b, 12);
  cr_assert_eq(g.state, CLASSIC_STABLE);
  reset();
  sync_(&c, 13);
  synced(&c, 13); /* Stable: answered at once */
  cr_assert_eq(hb(&a), 0);
  cr_assert_eq(hb(&c), 0);

  struct classic_desc d;
  cr_assert_eq(classic_describe(&g, &d), 0);
  cr_assert_str_eq(d.state, "Stable");
  cr_assert_str_eq(d.protocol_type, "consumer");
  cr_assert_str_eq(d.protocol, "range");
  cr_assert_eq(d.nmembers, 3);
  cr_assert_str_eq(d.members[1].client_id, "b");
  cr_assert_str_eq(d.members[1].client_host, "/127.0.0.1");
  cr_assert_eq(d.members[1].metadata_len, 7);
  cr_assert_arr_eq(d.members[1].assignment, "assign:b", 8);
  classic_describe_free(&d);
}

Test(classic, a_fourth_member_makes_generation_2_and_the_others_hear_rebalance_in_progress) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range"), c = member("c", "range"),
             d = member("d", "range");
  struct mem *m[3] = {&a, &b, &c};
  form(m, 3);
  join(&d, 4);
  cr_assert_eq(g.state, CLASSIC_PREPARING_REBALANCE);
  cr_assert_eq(out.n, 0);
  cr_assert_eq(hb(&a), STRATA_EREBALANCE_IN_PROGRESS);
  cr_assert_eq(hb(&b), STRATA_EREBALANCE_IN_PROGRESS);
  cr_assert_eq(hb(&c), STRATA_EREBALANCE_IN_PROGRESS);
  cr_assert_eq(classic_commit_check(&g, c.id, NULL, 1, 0), 0,
               "commits of the old generation go on until the join phase ends");
  join(&a, 5);
  join(&b, 6);
  cr_assert_eq(out.n, 0, "c has not rejoined yet");
  cr_assert_eq(hb(&c), STRATA_EREBALANCE_IN_PROGRESS);
  join(&c, 7);
  const struct classic_answer *la = joined(&a, 5);
  joined(&b, 6);
  joined(&c, 7);
  joined(&d, 4);
  cr_assert_eq(d.gen, 2);
  cr_assert_eq(c.gen, 2);
  cr_assert_eq(la->nmembers, 4);
  cr_assert_str_eq(la->leader_id, a.id);
  struct mem old = c;
  old.gen = 1;
  cr_assert_eq(hb(&old), STRATA_EILLEGAL_GENERATION);
  cr_assert_eq(hb(&c), 0);
  cr_assert_eq(classic_commit_check(&g, c.id, NULL, 2, 0), STRATA_EREBALANCE_IN_PROGRESS);
  cr_assert_eq(classic_commit_check(&g, c.id, NULL, 1, 0), STRATA_EILLEGAL_GENERATION);
  reset();
  struct mem *all[4] = {&a, &b, &c, &d};
  cr_assert_eq(sync_ex(&a, 20, all, 4), 0);
  sync_(&d, 21);
  synced(&a, 20);
  synced(&d, 21);
  cr_assert_eq(classic_commit_check(&g, c.id, NULL, 2, 0), 0);
}

Test(classic, a_member_that_stops_heartbeating_expires_and_the_group_rebalances) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range"), c = member("c", "range");
  struct mem *m[3] = {&a, &b, &c};
  form(m, 3);
  int64_t t0 = now; /* c's session runs from here: it synced in Stable, never heartbeats */
  while (g.state == CLASSIC_STABLE) {
    cr_assert_leq(now, t0 + 10000, "c should have expired by now");
    now += 1000;
    cr_assert_eq(hb(&a), 0);
    cr_assert_eq(hb(&b), 0);
    tick(now);
  }
  cr_assert_eq(now, t0 + 10000, "expired at its session timeout");
  cr_assert_eq(g.state, CLASSIC_PREPARING_REBALANCE);
  cr_assert_eq(hb(&c), STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(hb(&a), STRATA_EREBALANCE_IN_PROGRESS);
  join(&a, 5);
  join(&b, 6);
  const struct classic_answer *la = joined(&a, 5);
  joined(&b, 6);
  cr_assert_eq(a.gen, 2);
  cr_assert_eq(la->nmembers, 2);
}

Test(classic, the_rebalance_timeout_removes_a_member_that_does_not_rejoin) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range"), c = member("c", "range");
  a.rebalance = b.rebalance = c.rebalance = 5000;
  struct mem *m[3] = {&a, &b, &c};
  form(m, 3);
  int64_t t0 = now;
  join(&a, 5); /* the leader rejoining forces a rebalance */
  cr_assert_eq(g.state, CLASSIC_PREPARING_REBALANCE);
  join(&b, 6);
  for (int i = 1; i <= 4; i++) {
    now = t0 + i * 1000;
    cr_assert_eq(hb(&c), STRATA_EREBALANCE_IN_PROGRESS); /* alive, but does not rejoin */
  }
  tick(t0 + 4999);
  cr_assert_eq(out.n, 0);
  tick(t0 + 5000);
  const struct classic_answer *la = joined(&a, 5);
  joined(&b, 6);
  cr_assert_eq(a.gen, 2);
  cr_assert_eq(la->nmembers, 2);
  cr_assert_eq(hb(&c), STRATA_EUNKNOWN_MEMBER);
}

Test(classic, a_follower_that_never_syncs_is_removed_after_the_rebalance_timeout) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range");
  a.rebalance = b.rebalance = 5000;
  join(&a, 1);
  join(&b, 2);
  wait_initial_delay();
  joined(&a, 1);
  joined(&b, 2);
  reset();
  int64_t t0 = now;
  struct mem *all[2] = {&a, &b};
  cr_assert_eq(sync_ex(&a, 11, all, 2), 0);
  synced(&a, 11);
  cr_assert_eq(g.state, CLASSIC_STABLE);
  for (int i = 1; i <= 4; i++) {
    now = t0 + i * 1000;
    cr_assert_eq(hb(&a), 0);
    cr_assert_eq(hb(&b), 0); /* b heartbeats but never sends SyncGroup */
    tick(now);
  }
  tick(t0 + 5000);
  cr_assert_eq(g.state, CLASSIC_PREPARING_REBALANCE);
  cr_assert_eq(hb(&b), STRATA_EUNKNOWN_MEMBER);
}

Test(classic, member_id_required_then_rejoin_and_pending_ids_expire) {
  start(0);
  struct mem a = member("a", "range"), b = member("b", "range");
  a.session = b.session = 6000;
  a.rebalance = b.rebalance = 20000;
  cr_assert_eq(join_ex(&a, 1, 1, 0), 0);
  cr_assert_eq(answer_error(1), STRATA_EMEMBER_ID_REQUIRED);
  const char *given = ans(1)->member_id;
  cr_assert(given && *given, "MEMBER_ID_REQUIRED carries the id to rejoin with");
  snprintf(a.id, sizeof a.id, "%s", given);
  cr_assert_eq(classic_member_count(&g), 0, "not a member until it rejoins");
  cr_assert_eq(g.state, CLASSIC_EMPTY);
  cr_assert_eq(hb(&a), STRATA_EUNKNOWN_MEMBER);
  reset();
  char id[CLASSIC_ID_MAX + 1];
  snprintf(id, sizeof id, "%s", a.id);
  cr_assert_eq(join_ex(&a, 2, 1, 0), 0);
  joined(&a, 2);
  cr_assert_str_eq(a.id, id, "it keeps the id it was given");
  cr_assert_eq(a.gen, 1);
  reset();
  struct mem *one[1] = {&a};
  cr_assert_eq(sync_ex(&a, 3, one, 1), 0);
  synced(&a, 3);
  reset();

  /* b is given an id and never comes back: the next join phase waits for
   * it until its session (6 s) ends, then goes on without it. */
  int64_t t0 = now;
  cr_assert_eq(join_ex(&b, 4, 1, 0), 0);
  cr_assert_eq(answer_error(4), STRATA_EMEMBER_ID_REQUIRED);
  char bid[CLASSIC_ID_MAX + 1];
  snprintf(bid, sizeof bid, "%s", ans(4)->member_id);
  cr_assert_str_neq(bid, a.id);
  reset();
  cr_assert_eq(join_ex(&a, 5, 1, 0), 0); /* the leader rejoins: a rebalance */
  cr_assert_eq(out.n, 0, "waits for the pending member");
  tick(t0 + 5999);
  cr_assert_eq(out.n, 0);
  tick(t0 + 6000);
  joined(&a, 5);
  cr_assert_eq(a.gen, 2);
  reset();
  snprintf(b.id, sizeof b.id, "%s", bid);
  cr_assert_eq(join_ex(&b, 6, 1, 0), 0);
  cr_assert_eq(answer_error(6), STRATA_EUNKNOWN_MEMBER, "its id expired");
}

Test(classic, a_static_member_restarting_takes_over_without_a_rebalance_and_fences_its_old_id) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range");
  a.inst = "inst-a";
  b.inst = "inst-b";
  struct mem *m[2] = {&a, &b};
  form(m, 2);
  struct mem old_a = a, old_b = b;

  /* b (a follower) restarts: a new member id, the same generation */
  b.id[0] = 0;
  cr_assert_eq(join_ex(&b, 10, 1, 0), 0); /* no MEMBER_ID_REQUIRED for static members */
  const struct classic_answer *x = joined(&b, 10);
  cr_assert_str_neq(b.id, old_b.id);
  cr_assert_eq(b.gen, 1, "no rebalance");
  cr_assert_str_eq(x->leader_id, a.id);
  cr_assert_eq(g.state, CLASSIC_STABLE);
  cr_assert_eq(hb(&old_b), STRATA_EFENCED_INSTANCE_ID);
  cr_assert_eq(classic_commit_check(&g, old_b.id, "inst-b", 1, 0), STRATA_EFENCED_INSTANCE_ID);
  cr_assert_eq(hb(&b), 0);
  cr_assert_eq(hb(&a), 0, "the others carry on");
  reset();
  sync_(&b, 11);
  synced(&b, 11); /* its assignment from before the restart */
  reset();

  /* a, the leader, restarts with a client before JoinGroup v9: it is told
   * the old leader id, so it acts as a follower and keeps its assignment */
  a.id[0] = 0;
  cr_assert_eq(join_ex(&a, 12, 1, 0), 0);
  x = joined(&a, 12);
  cr_assert_eq(a.gen, 1);
  cr_assert_str_eq(x->leader_id, old_a.id);
  cr_assert_eq(x->nmembers, 0);
  cr_assert_eq(hb(&old_a), STRATA_EFENCED_INSTANCE_ID);
  reset();
  sync_(&a, 13);
  synced(&a, 13);
  reset();
  struct classic_desc d;
  cr_assert_eq(classic_describe(&g, &d), 0);
  cr_assert_str_eq(d.leader, a.id, "leadership moved to the new id");
  classic_describe_free(&d);

  /* v9: the restarted leader is told it leads but must not assign */
  struct mem prev = a;
  a.id[0] = 0;
  cr_assert_eq(join_ex(&a, 14, 1, 1), 0);
  x = joined(&a, 14);
  cr_assert_str_eq(x->leader_id, a.id);
  cr_assert(x->skip_assignment);
  cr_assert_eq(x->nmembers, 2);
  cr_assert_eq(hb(&prev), STRATA_EFENCED_INSTANCE_ID);
  cr_assert_eq(g.generation, 1);
}

Test(classic, a_static_member_back_during_a_rebalance_fences_the_parked_old_request) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range"), c = member("c", "range");
  b.inst = "inst-b";
  struct mem *m[2] = {&a, &b};
  form(m, 2);
  join(&c, 3); /* PreparingRebalance */
  join(&b, 4); /* b's rejoin is parked */
  cr_assert_eq(out.n, 0);
  struct mem nb = b;
  nb.id[0] = 0;
  join(&nb, 5); /* b restarted meanwhile */
  cr_assert_eq(answer_error(4), STRATA_EFENCED_INSTANCE_ID, "the old id's parked join");
  join(&a, 6);
  joined(&nb, 5);
  joined(&a, 6);
  joined(&c, 3);
  cr_assert_eq(a.gen, 2);
  cr_assert_str_neq(nb.id, b.id);
}

Test(classic, leave_group_batch_with_per_member_errors_and_the_last_leave_empties_the_group) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range"), c = member("c", "range");
  struct mem *m[3] = {&a, &b, &c};
  form(m, 3);
  struct classic_leave_member lv[2] = {{b.id, NULL}, {"nobody", NULL}};
  int err[2];
  cr_assert_eq(classic_leave(&g, now, lv, 2, err, &out), 0);
  cr_assert_eq(err[0], 0);
  cr_assert_eq(err[1], STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(g.state, CLASSIC_PREPARING_REBALANCE);
  cr_assert_eq(hb(&b), STRATA_EUNKNOWN_MEMBER);
  join(&a, 5);
  join(&c, 6);
  joined(&a, 5);
  joined(&c, 6);
  cr_assert_eq(a.gen, 2);
  reset();

  /* a new member leaving while its JoinGroup is parked gets that answered */
  struct mem d = member("d", "range");
  join(&d, 7);
  cr_assert_eq(out.n, 0);
  cr_assert_eq(g.members[2]->awaiting_join, 1);
  struct classic_leave_member ld = {g.members[2]->id, NULL};
  cr_assert_eq(classic_leave(&g, now, &ld, 1, err, &out), 0);
  cr_assert_eq(answer_error(7), STRATA_EUNKNOWN_MEMBER);
  reset();

  struct classic_leave_member rest[2] = {{a.id, NULL}, {c.id, NULL}};
  cr_assert_eq(classic_leave(&g, now, rest, 2, err, &out), 0);
  cr_assert_eq(g.state, CLASSIC_EMPTY);
  cr_assert_eq(g.generation, 3, "the group moved to an empty generation");
  cr_assert_eq(classic_commit_check(&g, "", NULL, -1, 0), 0, "empty: simple commits are fine");
}

Test(classic, leave_by_instance_id_removes_a_static_member) {
  start(100);
  struct mem a = member("a", "range"), s = member("s", "range");
  s.inst = "inst-s";
  struct mem *m[2] = {&a, &s};
  form(m, 2);
  struct classic_leave_member lv[2] = {{"", "inst-s"}, {"", "inst-none"}};
  int err[2];
  cr_assert_eq(classic_leave(&g, now, lv, 2, err, &out), 0);
  cr_assert_eq(err[0], 0);
  cr_assert_eq(err[1], STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(classic_member_count(&g), 1);
  cr_assert_eq(hb(&s), STRATA_EUNKNOWN_MEMBER);
}

Test(classic, the_protocol_is_chosen_by_vote_and_a_member_sharing_none_is_refused) {
  start(100);
  struct mem a = member("a", "range,roundrobin"), b = member("b", "roundrobin,range"),
             c = member("c", "roundrobin,range"), d = member("d", "sticky");
  join(&a, 1);
  join(&b, 2);
  join(&c, 3);
  wait_initial_delay();
  const struct classic_answer *la = joined(&a, 1);
  cr_assert_str_eq(la->protocol_name, "roundrobin", "two votes to one");
  cr_assert_arr_eq(la->members[0].metadata, "a:roundrobin", 12, "metadata of the chosen protocol");
  reset();
  cr_assert_eq(join_ex(&d, 4, 0, 0), 0);
  cr_assert_eq(answer_error(4), STRATA_EINCONSISTENT_GROUP_PROTOCOL);
  reset();
  struct classic_protocol p = {"range", (const uint8_t *)"x", 1};
  struct classic_join_req r = {.member_id = "", .protocol_type = "connect", .protocols = &p,
                               .nprotocols = 1, .session_ms = 10000};
  cr_assert_eq(classic_join(&g, now, &r, T(5), &out), 0);
  cr_assert_eq(answer_error(5), STRATA_EINCONSISTENT_GROUP_PROTOCOL, "another protocol type");
  cr_assert_eq(g.state, CLASSIC_COMPLETING_REBALANCE, "refused joins change nothing");
}

Test(classic, a_tie_goes_to_the_leaders_preference) {
  start(100);
  struct mem a = member("a", "range,roundrobin"), b = member("b", "roundrobin,range");
  join(&a, 1);
  join(&b, 2);
  wait_initial_delay();
  cr_assert_str_eq(joined(&a, 1)->protocol_name, "range");
}

Test(classic, session_bounds_group_size_and_request_bounds) {
  start(100);
  struct mem a = member("a", "range");
  a.session = 500;
  cr_assert_eq(join_ex(&a, 1, 0, 0), 0);
  cr_assert_eq(answer_error(1), STRATA_EINVALID_SESSION_TIMEOUT);
  a.session = 45000; /* the Java consumer's default fits the default bounds */
  cr_assert_eq(join_ex(&a, 2, 0, 0), 0);
  cr_assert_eq(ans(2), NULL, "parked: accepted");
  g.cfg.max_members = 2;
  struct mem b = member("b", "range"), c = member("c", "range");
  join(&b, 3);
  cr_assert_eq(join_ex(&c, 4, 1, 0), 0);
  cr_assert_eq(answer_error(4), STRATA_EGROUP_MAX_SIZE_REACHED);
  struct classic_protocol p[CLASSIC_PROTOCOLS_MAX + 1];
  for (size_t i = 0; i <= CLASSIC_PROTOCOLS_MAX; i++) p[i] = (struct classic_protocol){"range", NULL, 0};
  struct classic_join_req r = {.member_id = "", .protocol_type = "consumer", .protocols = p,
                               .nprotocols = CLASSIC_PROTOCOLS_MAX + 1, .session_ms = 10000};
  cr_assert_eq(classic_join(&g, now, &r, T(5), &out), STRATA_EINVALID_REQUEST);
  cr_assert_eq(ans(5), NULL, "the caller answers a refused request itself");
}

Test(classic, a_join_resent_while_parked_supersedes_the_first) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range");
  struct mem *m[2] = {&a, &b};
  form(m, 2);
  join(&b, 5); /* a follower with new... the same metadata in Stable: told the generation */
  joined(&b, 5);
  reset();
  b.protos = "range,roundrobin";
  join(&b, 6); /* changed metadata: a rebalance, parked */
  join(&b, 7); /* sent again (its client timed out) */
  cr_assert_eq(answer_error(6), STRATA_EREBALANCE_IN_PROGRESS);
  join(&a, 8);
  joined(&b, 7);
  joined(&a, 8);
  cr_assert_eq(a.gen, 2);
}

Test(classic, shutdown_answers_every_parked_request) {
  start(3000);
  struct mem a = member("a", "range"), b = member("b", "range");
  join(&a, 1);
  join(&b, 2);
  classic_shutdown(&g, STRATA_ENOT_COORDINATOR, &out);
  cr_assert_eq(answer_error(1), STRATA_ENOT_COORDINATOR);
  cr_assert_eq(answer_error(2), STRATA_ENOT_COORDINATOR);
  cr_assert_str_eq(classic_state_name(g.state), "Dead");
  cr_assert_eq(hb(&a), STRATA_ECOORDINATOR_NOT_AVAILABLE);
  cr_assert_eq(classic_next_deadline(&g), INT64_MAX);
}

Test(classic, offset_commit_checks) {
  start(100);
  cr_assert_eq(classic_commit_check(&g, "", NULL, -1, 0), 0, "a simple commit to an empty group");
  cr_assert_eq(classic_commit_check(&g, "m", NULL, 3, 0), STRATA_EUNKNOWN_MEMBER);
  struct mem a = member("a", "range"), b = member("b", "range");
  struct mem *m[2] = {&a, &b};
  form(m, 2);
  cr_assert_eq(classic_commit_check(&g, a.id, NULL, 1, 0), 0);
  cr_assert_eq(classic_commit_check(&g, a.id, NULL, 0, 0), STRATA_EILLEGAL_GENERATION);
  cr_assert_eq(classic_commit_check(&g, "zz", NULL, 1, 0), STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(classic_commit_check(&g, "", NULL, -1, 0), STRATA_EUNKNOWN_MEMBER,
               "no simple commits while the group has members");
  cr_assert_eq(classic_commit_check(&g, a.id, "inst-x", 1, 0), STRATA_EUNKNOWN_MEMBER);
  cr_assert_eq(classic_kafka_error(STRATA_EILLEGAL_GENERATION), 22);
  cr_assert_eq(classic_kafka_error(STRATA_EUNKNOWN_MEMBER), 25);
  cr_assert_eq(classic_kafka_error(STRATA_EREBALANCE_IN_PROGRESS), 27);
  cr_assert_eq(classic_kafka_error(STRATA_EMEMBER_ID_REQUIRED), 79);
  cr_assert_eq(classic_kafka_error(STRATA_EFENCED_INSTANCE_ID), 82);
  cr_assert_eq(classic_kafka_error(STRATA_EINCONSISTENT_GROUP_PROTOCOL), 23);

  cr_assert_eq(coord_classic_commit_check(NULL, "", NULL, -1, 0), 0, "no group: a simple commit");
  cr_assert_eq(coord_classic_commit_check(NULL, "m", NULL, 2, 0), STRATA_EILLEGAL_GENERATION);
}

/* ---- the coordinator: classic or native, never both ---- */

static struct coordinator co;

static void coord_start(int64_t delay) {
  struct group_config gc = {delay, 250, 1000, 300000};
  coord_init(&co, &gc, "b1.x");
  cr_assert_eq(coord_set_partitions(&co, 1), 0);
  coord_mark_loaded(&co, 0, 0);
}

static int classic_join_in(struct cgroup *cg, const char *member_id, int t) {
  struct classic_protocol p = {"range", (const uint8_t *)"m", 1};
  struct classic_join_req r = {.member_id = member_id, .client_id = "k", .protocol_type = "consumer",
                               .protocols = &p, .nprotocols = 1, .session_ms = 10000,
                               .rebalance_ms = 10000};
  return classic_join(cg->classic, 0, &r, T(t), &co.classic_out);
}

Test(classic, native_and_classic_groups_exclude_each_other) {
  coord_start(0);
  int rc;
  struct cgroup *cg = coord_classic(&co, "cls", 1, &rc);
  cr_assert_not_null(cg);
  cr_assert(coord_kind_dirty(cg), "a new classic group: its kind is to be recorded");
  cr_assert_eq(classic_join_in(cg, "", 1), 0);
  cr_assert_eq(co.classic_out.n, 1);
  cr_assert_eq(co.classic_out.v[0].error, 0);
  char mid[CLASSIC_ID_MAX + 1];
  snprintf(mid, sizeof mid, "%s", co.classic_out.v[0].member_id);
  classic_out_reset(&co.classic_out);
  cr_assert_eq(coord_members(cg), 1);
  cr_assert_eq(coord_claim_native(&co, cg, 1), STRATA_EINCONSISTENT_GROUP_PROTOCOL,
               "a native heartbeat to a classic group with members");
  cr_assert_eq(coord_claim_native(&co, cg, 0), STRATA_EINCONSISTENT_GROUP_PROTOCOL);
  cr_assert_eq(coord_classic(&co, "cls", 0, &rc), cg);

  struct cgroup *ng = coord_group(&co, "nat", 1, &rc);
  cr_assert_not_null(ng);
  cr_assert_eq(group_set_partitions(&ng->g, "t", 4, 0), 0);
  const char *topics[1] = {"t"};
  struct group_heartbeat hbq = {.member_id = "", .member_epoch = GROUP_JOIN, .session_ms = 10000,
                                .topics = topics, .ntopics = 1};
  struct group_reply rep;
  cr_assert_eq(coord_claim_native(&co, ng, 1), 0);
  cr_assert(!coord_kind_dirty(ng), "a group that was never classic needs no record");
  cr_assert_eq(group_heartbeat(&ng->g, &hbq, 0, &rep), 0);
  group_reply_free(&rep);
  cr_assert_null(coord_classic(&co, "nat", 1, &rc));
  cr_assert_eq(rc, STRATA_EINCONSISTENT_GROUP_PROTOCOL, "a classic join to a native group with members");
  cr_assert_null(coord_classic(&co, "nobody", 0, &rc));
  cr_assert_eq(rc, STRATA_EUNKNOWN_MEMBER);
  cr_assert_str_eq(coord_state_name(ng), "Reconciling");
  cr_assert_str_eq(coord_protocol_type(ng), "consumer");
  cr_assert_str_eq(coord_state_name(cg), "CompletingRebalance");

  /* once empty, the classic group may become native (as Kafka 4 converts empty groups) */
  struct classic_leave_member lv = {mid, NULL};
  int err;
  cr_assert_eq(classic_leave(cg->classic, 0, &lv, 1, &err, &co.classic_out), 0);
  cr_assert_eq(coord_claim_native(&co, cg, 0), 0);
  cr_assert_not_null(cg->classic, "a heartbeat that does not join converts nothing");
  cr_assert_eq(coord_claim_native(&co, cg, 1), 0);
  cr_assert_null(cg->classic);
  cr_assert(coord_kind_dirty(cg), "now native: recorded");
  uint8_t key[COORD_KIND_KEY_MAX], *val;
  size_t kl, vl;
  cr_assert_eq(coord_kind_record(cg, key, &kl, &val, &vl), 0);
  cr_assert(!coord_kind_dirty(cg));
  cr_assert_eq(vl, 2);
  cr_assert_eq(val[1], COORD_KIND_NATIVE);
  free(val);
  coord_free(&co);
}

/* A stable classic group of two in coordinator `co` (group "k1"): a
 * leads; tokens from 1. Fills the members' ids. */
static struct cgroup *stable_pair(char *a, char *b) {
  int rc;
  struct cgroup *cg = coord_classic(&co, "k1", 1, &rc);
  cr_assert_not_null(cg);
  cr_assert_eq(classic_join_in(cg, "", 1), 0);
  cr_assert_eq(classic_join_in(cg, "", 2), 0);
  coord_classic_tick(&co, 100);
  coord_classic_tick(&co, 200);
  cr_assert_eq(co.classic_out.n, 2);
  snprintf(a, CLASSIC_ID_MAX + 1, "%s", co.classic_out.v[0].member_id);
  snprintf(b, CLASSIC_ID_MAX + 1, "%s", co.classic_out.v[1].member_id);
  cr_assert_str_eq(co.classic_out.v[0].leader_id, a);
  classic_out_reset(&co.classic_out);
  struct classic_assignment as[2] = {{a, (const uint8_t *)"AA", 2}, {b, (const uint8_t *)"BB", 2}};
  struct classic_sync_req r = {a, NULL, 1, NULL, NULL, as, 2};
  cr_assert_eq(classic_sync(cg->classic, 200, &r, T(3), &co.classic_out), 0);
  cr_assert_eq(cg->classic->state, CLASSIC_STABLE);
  classic_out_reset(&co.classic_out);
  return cg;
}

Test(classic, a_new_coordinator_restores_the_group_from_its_record_and_members_carry_on) {
  coord_start(100);
  char a[CLASSIC_ID_MAX + 1], b[CLASSIC_ID_MAX + 1];
  struct cgroup *cg = stable_pair(a, b);
  cr_assert(coord_kind_dirty(cg), "Stable at a new generation: to be recorded");
  uint8_t key[COORD_KIND_KEY_MAX], *val;
  size_t kl, vl;
  cr_assert_eq(coord_kind_record(cg, key, &kl, &val, &vl), 0);
  cr_assert(!coord_kind_dirty(cg));
  coord_free(&co);

  coord_start(100); /* the next coordinator loads the offsets partition */
  cr_assert_eq(coord_apply_record(&co, key, (int32_t)kl, val, (int32_t)vl), 0);
  int rc;
  struct cgroup *again = coord_classic(&co, "k1", 0, &rc);
  cr_assert_not_null(again, "known as classic: %s", strata_errname(rc));
  struct classic_group *x = again->classic;
  cr_assert_eq(x->state, CLASSIC_STABLE);
  cr_assert_eq(x->generation, 1, "the generation survives the coordinator change");
  cr_assert_eq(classic_member_count(x), 2);
  struct classic_heartbeat_req hb = {b, NULL, 1};
  cr_assert_eq(classic_heartbeat(x, 1000, &hb), 0, "a member carries on without rejoining");
  cr_assert_eq(classic_commit_check(x, b, NULL, 1, 0), 0);
  struct classic_sync_req r = {b, NULL, 1, NULL, NULL, NULL, 0};
  cr_assert_eq(classic_sync(x, 1000, &r, T(9), &co.classic_out), 0);
  cr_assert_eq(co.classic_out.v[0].assignment_len, 2);
  cr_assert_arr_eq(co.classic_out.v[0].assignment, "BB", 2);
  struct classic_desc d;
  cr_assert_eq(classic_describe(x, &d), 0);
  cr_assert_str_eq(d.leader, a);
  cr_assert_str_eq(d.protocol, "range");
  cr_assert_str_eq(d.members[0].client_id, "k");
  cr_assert_arr_eq(d.members[0].metadata, "m", 1);
  classic_describe_free(&d);
  classic_out_reset(&co.classic_out);

  /* a, dead meanwhile, expires after its session from the first tick */
  coord_classic_tick(&co, 1000);
  for (int64_t t = 2000; t <= 11000; t += 1000) {
    hb.member_id = b;
    cr_assert_eq(classic_heartbeat(x, t, &hb), 0);
    coord_classic_tick(&co, t);
    cr_assert_eq(x->state, t < 11000 ? CLASSIC_STABLE : CLASSIC_PREPARING_REBALANCE);
  }
  struct classic_heartbeat_req ha = {a, NULL, 1};
  cr_assert_eq(classic_heartbeat(x, 11000, &ha), STRATA_EUNKNOWN_MEMBER);

  /* bad bytes are skipped, the group is left as it was */
  cr_assert_eq(coord_apply_record(&co, key, (int32_t)kl, val, (int32_t)vl - 3), 0);
  cr_assert_eq(coord_classic(&co, "k1", 0, &rc), again);
  cr_assert_eq(again->classic, x, "a truncated record changes nothing");
  uint8_t bad[3] = {2, 'x', 0};
  cr_assert_eq(coord_apply_record(&co, bad, 3, val, (int32_t)vl), 0, "malformed key: skipped");
  cr_assert_eq(coord_apply_record(&co, key, (int32_t)kl, NULL, 0), 0); /* deleted */
  cr_assert_null(again->classic);
  free(val);
  coord_free(&co);
}

Test(classic, restore_refuses_every_truncation_of_a_record) {
  start(100);
  struct mem a = member("a", "range"), b = member("b", "range");
  a.inst = "inst-a";
  struct mem *m[2] = {&a, &b};
  form(m, 2);
  uint8_t *rec;
  size_t n;
  cr_assert_eq(classic_encode(&g, &rec, &n), 0);
  for (size_t cut = 0; cut < n; cut++) {
    struct classic_group h;
    struct classic_config cfg;
    classic_config_default(&cfg);
    cr_assert_eq(classic_init(&h, "g1", &cfg, "n2"), 0);
    cr_assert_eq(classic_restore(&h, rec, cut), STRATA_ECORRUPT, "cut at %zu of %zu", cut, n);
    cr_assert_eq(h.state, CLASSIC_EMPTY);
    cr_assert_eq(classic_member_count(&h), 0);
    classic_free(&h);
  }
  struct classic_group h;
  struct classic_config cfg;
  classic_config_default(&cfg);
  cr_assert_eq(classic_init(&h, "g1", &cfg, "n2"), 0);
  cr_assert_eq(classic_restore(&h, rec, n), 0);
  cr_assert_eq(h.generation, 1);
  cr_assert_eq(classic_member_count(&h), 2);
  cr_assert_str_eq(h.members[0]->instance_id, "inst-a");
  struct classic_heartbeat_req fenced = {"old", "inst-a", 1};
  cr_assert_eq(classic_heartbeat(&h, now, &fenced), STRATA_EFENCED_INSTANCE_ID);
  classic_free(&h);
  free(rec);
}

Test(classic, unloading_the_partition_answers_parked_requests) {
  coord_start(3000);
  int rc;
  struct cgroup *cg = coord_classic(&co, "p", 1, &rc);
  cr_assert_eq(classic_join_in(cg, "", 7), 0);
  cr_assert_eq(co.classic_out.n, 0, "parked for the initial delay");
  cr_assert_eq(coord_classic_next_deadline(&co), 3000);
  coord_unload(&co, 0);
  cr_assert_eq(co.classic_out.n, 1);
  cr_assert_eq(co.classic_out.v[0].token, T(7));
  cr_assert_eq(co.classic_out.v[0].error, STRATA_ENOT_COORDINATOR);
  coord_free(&co);
}

Test(classic, the_coordinator_tick_completes_the_join_phase) {
  coord_start(3000);
  int rc;
  struct cgroup *cg = coord_classic(&co, "p", 1, &rc);
  cr_assert_eq(classic_join_in(cg, "", 7), 0);
  coord_classic_tick(&co, 2999);
  cr_assert_eq(co.classic_out.n, 0);
  coord_classic_tick(&co, 3000);
  cr_assert_eq(co.classic_out.n, 1);
  cr_assert_eq(co.classic_out.v[0].error, 0);
  cr_assert_eq(co.classic_out.v[0].generation, 1);
  coord_free(&co);
}
