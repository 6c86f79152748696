/* Consumer group requests: finding a group's coordinator, member
 * heartbeats, offset commits and fetches, and the admin calls (list,
 * describe, delete). Decisions are in group.c and coordinator.c; this file
 * turns requests into their inputs; the records of __consumer_offsets are
 * offsets_log.c's. No sockets or timers. */
#include "broker/authz.h"
#include "broker/group_handlers.h"

#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/coordinator.h"
#include "broker/offsets_log.h"
#include "broker/topics.h"
#include "common/batch.h"
#include "common/errors.h"
#include "common/trace.h"

/* The topics a pattern matches now (never the internal offsets topic),
 * and of those only the ones who may describe (KIP-848: a regex never
 * subscribes a member to a topic it cannot see). Returns the count, or -1
 * when the pattern does not compile. */
static int match_topics(struct broker *b, const struct principal *who, const char *pattern,
                        const char **out, size_t max) {
  regex_t re;
  if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) return -1;
  size_t n = 0;
  for (size_t i = 0; i < b->topics.n && n < max; i++) {
    const char *name = b->topics.v[i]->name;
    if (strcmp(name, OFFSETS_TOPIC) && !regexec(&re, name, 0, NULL, 0) &&
        !authz_topic(b, who, name, ACL_OP_DESCRIBE))
      out[n++] = name;
  }
  regfree(&re);
  return (int)n;
}

/* Pattern subscribers follow topics being created and deleted. */
static void refresh_patterns(struct broker *b, struct cgroup *g) {
  for (size_t i = 0; i < g->g.nmembers; i++) {
    const struct group_member *m = g->g.members[i];
    if (!m->pattern) continue;
    const char *names[GROUP_TOPICS_MAX];
    authz_forget(b); /* each member's own principal; no request is running */
    int n = match_topics(b, &m->who, m->pattern, names, GROUP_TOPICS_MAX);
    if (n >= 0) group_set_member_topics(&g->g, m->id, names, (size_t)n, b->now_ms);
  }
}

/* Every topic a group's members subscribe to, with its partition count. */
static void refresh_partitions(struct broker *b, struct cgroup *g) {
  for (size_t i = 0; i < g->g.ntopics; i++) {
    struct topic *t = topics_find(&b->topics, g->g.topic_names[i]);
    group_set_partitions(&g->g, g->g.topic_names[i], t ? t->npart : 0, b->now_ms);
  }
}

void group_handlers_tick(struct broker *b) {
  offsets_log_sync(b);
  struct topic *t = topics_find(&b->topics, OFFSETS_TOPIC);
  for (uint32_t k = 0; t && k < t->npart && k < b->coord.npart; k++)
    if (b->coord.loaded[k]) {
      offsets_log_promote(b, t, k);
      offsets_log_compact(b, t, k);
    }
  for (size_t i = 0; i < b->coord.n; i++) {
    refresh_patterns(b, b->coord.groups[i]);
    refresh_partitions(b, b->coord.groups[i]);
    group_tick(&b->coord.groups[i]->g, b->now_ms);
  }
  coord_classic_tick(&b->coord, b->now_ms); /* answers wait in b->coord.classic_out */
  group_handlers_persist_kinds(b);
}

/* The group's coordinator here, or an error for the response. A broker
 * answers for a group only while it leads the group's offsets partition as
 * the controller last told it, and only while it hears from the controller:
 * one cut off may have been replaced, and its memory of committed offsets
 * (older than what its successor has accepted since) would send a member
 * back to an offset before the group's last commit. */
struct cgroup *group_coordinator_for(struct broker *b, const char *group, int create, int *rc) {
  if (!group || !*group || strlen(group) > GROUP_ID_MAX) {
    *rc = STRATA_EINVALID_REQUEST;
    return NULL;
  }
  struct topic *t = offsets_log_topic(b);
  if (!t) {
    *rc = STRATA_ECOORDINATOR_NOT_AVAILABLE;
    return NULL;
  }
  uint32_t k = coord_home(group, t->npart);
  if (b->cluster && (!offsets_log_leads(b, t->parts[k]) || broker_cut_off(b))) {
    *rc = STRATA_ENOT_COORDINATOR;
    return NULL;
  }
  if (k < b->coord.npart && b->coord.loaded[k]) {
    /* What it loaded takes effect once replicated in its own epoch: a
     * successor (should it die first) might not have its log's tail. */
    if (broker_high_watermark(b, t->parts[k]) < b->coord.load_end[k]) {
      *rc = STRATA_ECOORDINATOR_NOT_AVAILABLE;
      return NULL;
    }
    offsets_log_promote(b, t, k);
  }
  return coord_group(&b->coord, group, create, rc);
}

/* ---- FindCoordinator ---- */

void handle_find_coordinator(struct broker *b, const Strata__Header *req, uint8_t *payload,
                             uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const char *group = req->find_coordinator_req->group_id;
  if (!group || !*group || strlen(group) > GROUP_ID_MAX) {
    response_error(r, req, STRATA_EINVALID_REQUEST, "a group id of 1 to 255 characters");
    return;
  }
  struct topic *t = offsets_log_topic(b);
  if (!t) {
    response_error(r, req, STRATA_ECOORDINATOR_NOT_AVAILABLE, OFFSETS_TOPIC " is being created");
    return;
  }
  struct partition *p = t->parts[coord_home(group, t->npart)];
  int32_t leader = b->cluster ? p->rep.leader : b->cfg.id;
  const char *host = b->cfg.host;
  int port = b->cfg.port;
  if (b->cluster && leader != b->cfg.id) {
    const struct peer *pe = leader >= 0 ? broker_peer(b, leader) : NULL;
    if (!pe) {
      response_error(r, req, STRATA_ECOORDINATOR_NOT_AVAILABLE, "its partition has no leader");
      return;
    }
    host = pe->host;
    port = pe->port;
  }
  Strata__FindCoordinatorResponse *m = resp_alloc(r, sizeof *m);
  strata__find_coordinator_response__init(m);
  m->node_id = leader;
  m->host = resp_strdup(r, host);
  m->port = (uint32_t)port;
  resp_begin(r, req, STRATA__HEADER__BODY_FIND_COORDINATOR_RESP);
  r->hdr.find_coordinator_resp = m;
}

/* ---- heartbeat ---- */

static Strata__TopicPartitions **tps_msg(struct response *r, const struct group_tp *v, size_t n,
                                         size_t *count) {
  Strata__TopicPartitions **out = resp_alloc(r, (n + 1) * sizeof *out);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    Strata__TopicPartitions *t = NULL;
    for (size_t j = 0; j < k && !t; j++)
      if (!strcmp(out[j]->topic, v[i].topic)) t = out[j];
    if (!t) {
      t = resp_alloc(r, sizeof *t);
      strata__topic_partitions__init(t);
      t->topic = resp_strdup(r, v[i].topic);
      t->partitions = resp_alloc(r, (n + 1) * sizeof *t->partitions);
      out[k++] = t;
    }
    t->partitions[t->n_partitions++] = v[i].partition;
  }
  *count = k;
  return out;
}

#define OWNED_MAX 10000

void handle_group_heartbeat(struct broker *b, const Strata__Header *req, uint8_t *payload,
                            uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const Strata__GroupHeartbeatRequest *q = req->group_heartbeat_req;
  int rc;
  int joining = q->member_epoch == GROUP_JOIN &&
                (!q->member_id || !*q->member_id || q->own_member_id);
  struct cgroup *g = group_coordinator_for(b, q->group_id, joining, &rc);
  /* A member of a group this coordinator has never seen joined it under an
   * earlier coordinator (membership is not kept across coordinators): it
   * must join again, now, rather than retry until its session ends. */
  if (!g && rc == STRATA_EUNKNOWN_GROUP && q->member_id && *q->member_id) rc = STRATA_EUNKNOWN_MEMBER;
  if (!g) {
    response_error(r, req, rc, NULL);
    return;
  }
  if ((rc = coord_claim_native(&b->coord, g, joining))) {
    response_error(r, req, rc, "a classic (JoinGroup) group with members has this id");
    return;
  }
  if (joining && g->g.nmembers == 0 && q->assignor && *q->assignor) {
    int kind = assignor_parse(q->assignor);
    if (kind < 0) {
      response_error(r, req, STRATA_EINVALID_REQUEST, "assignor: sticky, range or roundrobin");
      return;
    }
    g->g.kind = kind;
  }
  struct group_heartbeat hb = {0};
  hb.member_id = q->member_id ? q->member_id : "";
  hb.own_member_id = q->own_member_id;
  hb.instance_id = q->instance_id;
  hb.member_epoch = q->member_epoch;
  hb.session_ms = q->session_timeout_ms;
  const char *matched[GROUP_TOPICS_MAX];
  int by_pattern = q->topic_pattern && *q->topic_pattern;
  if (by_pattern) {
    int n = match_topics(b, b->caller, q->topic_pattern, matched, GROUP_TOPICS_MAX);
    if (n < 0) {
      response_error(r, req, STRATA_EINVALID_REQUEST, "the topic pattern is not a valid regex");
      return;
    }
    hb.topics = matched;
    hb.ntopics = (size_t)n;
    for (int i = 0; i < n; i++)
      group_set_partitions(&g->g, matched[i], topics_find(&b->topics, matched[i])->npart, b->now_ms);
  } else if (q->topics_set) {
    if (q->n_topics == 0 || q->n_topics > GROUP_TOPICS_MAX) {
      response_error(r, req, STRATA_EINVALID_REQUEST, "subscribe to 1 to 64 topics");
      return;
    }
    hb.topics = (const char *const *)q->topics;
    hb.ntopics = q->n_topics;
    for (size_t i = 0; i < q->n_topics; i++) {
      struct topic *t = topics_find(&b->topics, q->topics[i]);
      group_set_partitions(&g->g, q->topics[i], t ? t->npart : 0, b->now_ms);
    }
  }
  struct group_tp *owned = NULL;
  if (q->owned_set) {
    size_t n = 0;
    for (size_t i = 0; i < q->n_owned; i++) n += q->owned[i]->n_partitions;
    if (n > OWNED_MAX) {
      response_error(r, req, STRATA_EINVALID_REQUEST, "too many owned partitions");
      return;
    }
    owned = resp_alloc(r, (n + 1) * sizeof *owned);
    for (size_t i = 0; i < q->n_owned; i++)
      for (size_t k = 0; k < q->owned[i]->n_partitions; k++)
        owned[hb.nowned++] = (struct group_tp){q->owned[i]->topic, q->owned[i]->partitions[k]};
    hb.owned = owned;
  }
  struct group_reply rep;
  rc = group_heartbeat(&g->g, &hb, b->now_ms, &rep);
  if (rc) {
    response_error(r, req, rc, NULL);
    return;
  }
  Strata__GroupHeartbeatResponse *m = resp_alloc(r, sizeof *m);
  strata__group_heartbeat_response__init(m);
  if (by_pattern) group_set_member_pattern(&g->g, rep.member_id, q->topic_pattern, b->caller);
  m->member_id = resp_strdup(r, rep.member_id);
  m->member_epoch = rep.member_epoch;
  m->heartbeat_interval_ms = rep.heartbeat_ms;
  m->assignment = tps_msg(r, rep.assignment, rep.nassignment, &m->n_assignment);
  group_reply_free(&rep);
  resp_begin(r, req, STRATA__HEADER__BODY_GROUP_HEARTBEAT_RESP);
  r->hdr.group_heartbeat_resp = m;
  if (coord_kind_dirty(g)) group_handlers_persist_kinds(b); /* an empty classic group became native */
}

void group_handlers_persist_kinds(struct broker *b) {
  for (size_t i = 0; i < b->coord.n; i++) {
    struct cgroup *g = b->coord.groups[i];
    if (!coord_kind_dirty(g)) continue;
    struct batch_builder bb;
    batch_builder_init(&bb);
    int rc = coord_encode_kind(&bb, g, b->wall_ms);
    if (!rc) rc = offsets_log_append(b, g, &bb, NULL, NULL);
    batch_builder_free(&bb);
    if (rc) trace_warn("group %s: its record was not written: %s", g->g.id, strata_strerror(rc));
  }
}

/* ---- offsets ---- */

static Strata__OffsetCommitPartition *commit_result(struct response *r, const char *topic,
                                                    uint32_t partition, int64_t offset, int err) {
  Strata__OffsetCommitPartition *c = resp_alloc(r, sizeof *c);
  strata__offset_commit_partition__init(c);
  c->topic = resp_strdup(r, topic);
  c->partition = partition;
  c->offset = offset;
  c->metadata = (char *)"";
  c->error_code = (uint32_t)-err;
  return c;
}

static void commit_offsets(struct broker *b, const Strata__Header *req, struct cgroup *g,
                           int member_check, struct response *r);

void handle_offset_commit(struct broker *b, const Strata__Header *req, uint8_t *payload,
                          uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const Strata__OffsetCommitRequest *q = req->offset_commit_req;
  int admin = (!q->member_id || !*q->member_id) && q->member_epoch == -1;
  int rc;
  struct cgroup *g = group_coordinator_for(b, q->group_id, admin, &rc);
  if (!g) {
    response_error(r, req, rc, NULL);
    return;
  }
  if (admin && coord_members(g) > 0) {
    response_error(r, req, STRATA_EGROUP_NOT_EMPTY,
                   "the group has live members: stop its consumers first");
    return;
  }
  commit_offsets(b, req, g, !admin, r);
}

/* A Kafka client's OffsetCommit: member_id and member_epoch carry Kafka's
 * member id and generation; Kafka's rules for the group's kind decide
 * (coord_classic_commit_check: a classic member at its generation, or a
 * simple commit to a group without members), then it is stored as any. */
void group_handlers_kafka_commit(struct broker *b, const Strata__Header *req,
                                 const char *instance_id, struct response *r) {
  const Strata__OffsetCommitRequest *q = req->offset_commit_req;
  int simple = (!q->member_id || !*q->member_id) && q->member_epoch < 0;
  int rc = authz_group(b, b->caller, q->group_id, ACL_OP_READ);
  if (rc) { /* before looking the group up: no word on whether it exists */
    response_error(r, req, rc, NULL);
    return;
  }
  struct cgroup *g = group_coordinator_for(b, q->group_id, simple, &rc);
  if (!g && rc == STRATA_EUNKNOWN_GROUP) rc = STRATA_EILLEGAL_GENERATION; /* a member of nothing */
  if (g && !g->classic && g->g.nmembers && q->member_id && *q->member_id) {
    /* A member of a native group through Kafka's consumer protocol
     * (KIP-848, kafka_consumer_groups.c): the native member's rules. */
    commit_offsets(b, req, g, 1, r);
    return;
  }
  if (g) rc = coord_classic_commit_check(g, q->member_id ? q->member_id : "", instance_id,
                                         q->member_epoch, 0);
  if (rc) {
    response_error(r, req, rc, NULL);
    return;
  }
  commit_offsets(b, req, g, 0, r);
}

/* Kafka's OffsetDelete in its native form (every offset -1: a tombstone):
 * only for a group without members (Kafka refuses the topics a live group
 * subscribes to; Strata refuses the whole request while it has members). */
void group_handlers_kafka_offset_delete(struct broker *b, const Strata__Header *req,
                                        struct response *r) {
  const Strata__OffsetCommitRequest *q = req->offset_commit_req;
  int rc = authz_group(b, b->caller, q->group_id, ACL_OP_DELETE);
  if (rc) {
    response_error(r, req, rc, NULL);
    return;
  }
  struct cgroup *g = group_coordinator_for(b, q->group_id, 0, &rc);
  if (g && coord_members(g) > 0) rc = STRATA_EGROUP_NOT_EMPTY;
  if (!g || rc) {
    response_error(r, req, rc, NULL);
    return;
  }
  commit_offsets(b, req, g, -1, r);
}

/* Store the commits of req (its group checked by the caller; member_check:
 * also each partition against the native member's assignment; -1: these are
 * deletions, offset -1). */
static void commit_offsets(struct broker *b, const Strata__Header *req, struct cgroup *g,
                           int member_check, struct response *r) {
  const Strata__OffsetCommitRequest *q = req->offset_commit_req;
  int rc;
  if (q->n_partitions > REQUEST_PARTITIONS_MAX) {
    response_error(r, req, STRATA_EINVALID_REQUEST, "too many partitions");
    return;
  }
  Strata__OffsetCommitResponse *m = resp_alloc(r, sizeof *m);
  strata__offset_commit_response__init(m);
  m->partitions = resp_alloc(r, (q->n_partitions + 1) * sizeof *m->partitions);
  struct batch_builder bb;
  batch_builder_init(&bb);
  int accepted = 0;
  for (size_t i = 0; i < q->n_partitions; i++) {
    const Strata__OffsetCommitPartition *c = q->partitions[i];
    int err = 0;
    struct topic *t = c->topic ? topics_find(&b->topics, c->topic) : NULL;
    if ((err = authz_topic(b, b->caller, c->topic, ACL_OP_READ))) {
      /* refused whether it exists or not */
    } else if (!t || c->partition >= t->npart) err = STRATA_EUNKNOWN_TOPIC;
    else if (c->offset < 0 && member_check >= 0) err = STRATA_EINVALID_REQUEST;
    else if (member_check > 0) err = group_commit_check(&g->g, q->member_id, q->member_epoch,
                                                    c->topic, c->partition);
    if (!err) err = coord_encode_commit(&bb, g->g.id, c->topic, c->partition, c->offset,
                                        c->metadata, b->now_ms);
    accepted += !err;
    m->partitions[m->n_partitions++] = commit_result(r, c->topic ? c->topic : "", c->partition,
                                                     c->offset, err);
  }
  resp_begin(r, req, STRATA__HEADER__BODY_OFFSET_COMMIT_RESP);
  r->hdr.offset_commit_resp = m;
  struct partition *p = NULL;
  if (accepted && (rc = offsets_log_append(b, g, &bb, r, &p))) {
    for (size_t i = 0; i < m->n_partitions; i++)
      if (!m->partitions[i]->error_code) m->partitions[i]->error_code = (uint32_t)-rc;
  } else if (accepted) {
    int64_t end = seglog_end_offset(p->log);
    for (size_t i = 0; i < q->n_partitions; i++)
      if (!m->partitions[i]->error_code &&
          coord_add_pending(&b->coord, g->home, end, g->g.id, q->partitions[i]->topic,
                            q->partitions[i]->partition, q->partitions[i]->offset,
                            q->partitions[i]->metadata))
        m->partitions[i]->error_code = (uint32_t)-STRATA_ENOMEM;
    coord_promote(&b->coord, g->home, broker_high_watermark(b, p)); /* standalone: at once */
  }
  batch_builder_free(&bb);
}

static void add_offset(struct response *r, Strata__OffsetFetchResponse *m, size_t *cap,
                       const char *topic, uint32_t partition, const struct committed *c) {
  if (m->n_partitions == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    Strata__OffsetCommitPartition **v = resp_alloc(r, nc * sizeof *v);
    if (m->n_partitions) memcpy(v, m->partitions, m->n_partitions * sizeof *v);
    m->partitions = v;
    *cap = nc;
  }
  Strata__OffsetCommitPartition *e = commit_result(r, topic, partition, c ? c->offset : -1, 0);
  e->metadata = resp_strdup(r, c ? c->metadata : "");
  m->partitions[m->n_partitions++] = e;
}

void handle_offset_fetch(struct broker *b, const Strata__Header *req, uint8_t *payload,
                         uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const Strata__OffsetFetchRequest *q = req->offset_fetch_req;
  int rc;
  struct cgroup *g = group_coordinator_for(b, q->group_id, 0, &rc);
  if (!g && rc != STRATA_EUNKNOWN_GROUP) {
    response_error(r, req, rc, NULL);
    return;
  }
  Strata__OffsetFetchResponse *m = resp_alloc(r, sizeof *m);
  strata__offset_fetch_response__init(m);
  size_t cap = 0;
  /* Describe per topic: left out of "all", refused when named */
  if (q->n_partitions == 0) {
    for (size_t i = 0; g && i < g->noffsets; i++)
      if (!authz_topic(b, b->caller, g->offsets[i].topic, ACL_OP_DESCRIBE))
        add_offset(r, m, &cap, g->offsets[i].topic, g->offsets[i].partition, &g->offsets[i]);
  } else {
    for (size_t i = 0; i < q->n_partitions && i < REQUEST_PARTITIONS_MAX; i++) {
      const char *topic = q->partitions[i]->topic;
      int denied = authz_topic(b, b->caller, topic, ACL_OP_DESCRIBE);
      for (size_t k = 0; k < q->partitions[i]->n_partitions; k++) {
        uint32_t part = q->partitions[i]->partitions[k];
        add_offset(r, m, &cap, topic, part,
                   g && !denied ? coord_committed(g, topic, part) : NULL);
        if (denied) m->partitions[m->n_partitions - 1]->error_code = (uint32_t)-denied;
      }
    }
  }
  resp_begin(r, req, STRATA__HEADER__BODY_OFFSET_FETCH_RESP);
  r->hdr.offset_fetch_resp = m;
}

/* ---- admin ---- */


void handle_list_groups(struct broker *b, const Strata__Header *req, uint8_t *payload,
                        uint32_t len, struct response *r) {
  (void)payload, (void)len;
  Strata__ListGroupsResponse *m = resp_alloc(r, sizeof *m);
  strata__list_groups_response__init(m);
  m->groups = resp_alloc(r, (b->coord.n + 1) * sizeof *m->groups);
  /* Describe on the cluster lists every group; otherwise those the caller
   * may describe */
  int all = !authz_cluster(b, b->caller, ACL_OP_DESCRIBE);
  for (size_t i = 0; i < b->coord.n; i++) {
    const struct cgroup *g = b->coord.groups[i];
    if (!all && authz_group(b, b->caller, g->g.id, ACL_OP_DESCRIBE)) continue;
    Strata__GroupListing *l = resp_alloc(r, sizeof *l);
    strata__group_listing__init(l);
    l->group_id = resp_strdup(r, g->g.id);
    l->state = resp_strdup(r, coord_state_name(g));
    l->members = (uint32_t)coord_members(g);
    m->groups[m->n_groups++] = l;
  }
  resp_begin(r, req, STRATA__HEADER__BODY_LIST_GROUPS_RESP);
  r->hdr.list_groups_resp = m;
}

void handle_describe_group(struct broker *b, const Strata__Header *req, uint8_t *payload,
                           uint32_t len, struct response *r) {
  (void)payload, (void)len;
  int rc;
  struct cgroup *g = group_coordinator_for(b, req->describe_group_req->group_id, 0, &rc);
  if (!g) {
    response_error(r, req, rc, NULL);
    return;
  }
  Strata__DescribeGroupResponse *m = resp_alloc(r, sizeof *m);
  strata__describe_group_response__init(m);
  m->group_id = resp_strdup(r, g->g.id);
  m->state = resp_strdup(r, coord_state_name(g));
  m->group_epoch = g->g.epoch;
  m->assignor = resp_strdup(r, assignor_name(g->g.kind));
  m->coordinator = b->cfg.id;
  m->members = resp_alloc(r, (g->g.nmembers + 1) * sizeof *m->members);
  for (size_t i = 0; i < g->g.nmembers; i++) {
    const struct group_member *gm = g->g.members[i];
    Strata__GroupMemberDescription *d = resp_alloc(r, sizeof *d);
    strata__group_member_description__init(d);
    d->member_id = resp_strdup(r, gm->id);
    d->instance_id = resp_strdup(r, gm->instance_id);
    d->member_epoch = gm->epoch;
    struct group_tp *a = resp_alloc(r, (gm->nassigned + 1) * sizeof *a);
    for (size_t k = 0; k < gm->nassigned; k++)
      a[k] = (struct group_tp){g->g.topic_names[gm->assigned[k].topic], gm->assigned[k].partition};
    d->assignment = tps_msg(r, a, gm->nassigned, &d->n_assignment);
    d->topics = resp_alloc(r, (gm->ntopics + 1) * sizeof *d->topics);
    for (size_t k = 0; k < gm->ntopics; k++) d->topics[d->n_topics++] = resp_strdup(r, gm->topics[k]);
    m->members[m->n_members++] = d;
  }
  m->offsets = resp_alloc(r, (g->noffsets + 1) * sizeof *m->offsets);
  for (size_t i = 0; i < g->noffsets; i++) {
    /* as OffsetFetch: only the topics the caller may describe */
    if (authz_topic(b, b->caller, g->offsets[i].topic, ACL_OP_DESCRIBE)) continue;
    Strata__OffsetCommitPartition *e =
        commit_result(r, g->offsets[i].topic, g->offsets[i].partition, g->offsets[i].offset, 0);
    e->metadata = resp_strdup(r, g->offsets[i].metadata);
    m->offsets[m->n_offsets++] = e;
  }
  resp_begin(r, req, STRATA__HEADER__BODY_DESCRIBE_GROUP_RESP);
  r->hdr.describe_group_resp = m;
}

void handle_delete_groups(struct broker *b, const Strata__Header *req, uint8_t *payload,
                          uint32_t len, struct response *r) {
  (void)payload, (void)len;
  const Strata__DeleteGroupsRequest *q = req->delete_groups_req;
  Strata__DeleteGroupsResponse *m = resp_alloc(r, sizeof *m);
  strata__delete_groups_response__init(m);
  m->results = resp_alloc(r, (q->n_group_ids + 1) * sizeof *m->results);
  resp_begin(r, req, STRATA__HEADER__BODY_DELETE_GROUPS_RESP);
  r->hdr.delete_groups_resp = m;
  for (size_t i = 0; i < q->n_group_ids && i < REQUEST_PARTITIONS_MAX; i++) {
    int rc;
    const char *id = q->group_ids[i];
    rc = authz_group(b, b->caller, id, ACL_OP_DELETE);
    struct cgroup *g = rc ? NULL : group_coordinator_for(b, id, 0, &rc);
    if (g && coord_members(g)) rc = STRATA_EGROUP_NOT_EMPTY;
    if (g && !rc && (g->noffsets || g->classic)) {
      struct batch_builder bb;
      batch_builder_init(&bb);
      for (size_t k = 0; k < g->noffsets && !rc; k++)
        rc = coord_encode_commit(&bb, id, g->offsets[k].topic, g->offsets[k].partition, -1, NULL,
                                 b->now_ms);
      if (!rc && g->classic) rc = coord_encode_kind_delete(&bb, id, b->now_ms);
      if (!rc) rc = offsets_log_append(b, g, &bb, r, NULL);
      batch_builder_free(&bb);
    }
    if (g && !rc) {
      trace_info("deleted group %s", id);
      coord_remove(&b->coord, id);
    }
    Strata__TopicResult *t = resp_alloc(r, sizeof *t);
    strata__topic_result__init(t);
    t->name = resp_strdup(r, id ? id : "");
    t->error_code = (uint32_t)-rc;
    t->error_message = resp_strdup(r, rc ? strata_strerror(rc) : "");
    m->results[m->n_results++] = t;
  }
}
