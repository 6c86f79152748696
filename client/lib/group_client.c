/* A consumer's membership in a group: find the coordinator, heartbeat with
 * what it owns, apply the assignment it gets back (revoke first, with a
 * commit; then start new partitions at their committed offsets), commit
 * positions periodically, and leave on close. Synchronous calls made from
 * strata_consumer_poll; the coordinator answers heartbeats at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/consumer_internal.h"
#include "client/lib/internal.h"
#include "common/errors.h"
#include "common/wire.h"

#define GROUP_SUBS_MAX 64
#define GROUP_CALL_TIMEOUT_MS 3000

struct owned {
  char *topic;
  uint32_t partition;
  int64_t committed; /* last offset committed (or found committed) */
  int revoke;        /* leaving our assignment */
};

struct group_client {
  strata_group_config cfg;
  char *group, *instance, *assignor, *pattern;
  char *topics[GROUP_SUBS_MAX];
  size_t ntopics;
  struct conn coord;          /* to the coordinator */
  char member_id[64];
  int32_t epoch;              /* 0 before joining */
  int send_topics;            /* the next heartbeat carries the subscription */
  int32_t hb_interval_ms;
  int64_t next_hb_ms, last_ok_ms, next_commit_ms;
  struct owned *owned;
  size_t nowned;
  strata_topic_partition *view; /* strata_consumer_assignment's answer */
};

void strata_group_config_defaults(strata_group_config *g) {
  memset(g, 0, sizeof *g);
  g->session_timeout_ms = 3000;
  g->auto_commit = 1;
  g->auto_commit_interval_ms = 1000;
  g->reset_offset = STRATA_OFFSET_END;
}

/* Find the coordinator through the bootstrap connection and connect. */
static int connect_coordinator(strata_consumer *c) {
  struct group_client *g = c->grp;
  if (conn_is_open(&g->coord)) return 0;
  int rc = consumer_ensure_conn(c);
  if (rc) return rc;
  char host[256];
  int port;
  rc = client_find_coordinator(&c->c, g->group, GROUP_CALL_TIMEOUT_MS, host, sizeof host, &port);
  if (rc == STRATA_ENETWORK || rc == STRATA_ETIMEOUT) conn_close(&c->c);
  if (!rc) {
    char err[256];
    rc = conn_open(&g->coord, host, port, GROUP_CALL_TIMEOUT_MS, &c->sec, err, sizeof err);
  }
  return rc;
}

/* A call to the coordinator; a coordinator that moved or went away closes
 * the connection so the next call looks it up again. */
static int coord_call(strata_consumer *c, Strata__Header *h, Strata__Header **r) {
  struct group_client *g = c->grp;
  int rc = connect_coordinator(c);
  if (rc) return rc;
  rc = conn_call(&g->coord, h, NULL, 0, GROUP_CALL_TIMEOUT_MS, r, NULL, NULL);
  if (rc == STRATA_ENOT_COORDINATOR || rc == STRATA_ECOORDINATOR_NOT_AVAILABLE ||
      rc == STRATA_ENETWORK || rc == STRATA_ETIMEOUT || rc == STRATA_ENOT_LEADER ||
      rc == STRATA_ENOT_ENOUGH_REPLICAS)
    conn_close(&g->coord);
  return rc;
}

static struct owned *owned_find(struct group_client *g, const char *topic, uint32_t partition) {
  for (size_t i = 0; i < g->nowned; i++)
    if (g->owned[i].partition == partition && !strcmp(g->owned[i].topic, topic)) return &g->owned[i];
  return NULL;
}

/* Send these commits under our member id and epoch; each one accepted (up
 * to the first refusal) becomes which[i]'s committed offset. */
static int send_commits(strata_consumer *c, Strata__OffsetCommitPartition **pv, size_t k,
                        struct owned **which) {
  struct group_client *g = c->grp;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_OFFSET_COMMIT);
  Strata__OffsetCommitRequest q = STRATA__OFFSET_COMMIT_REQUEST__INIT;
  q.group_id = g->group;
  q.member_id = g->member_id;
  q.member_epoch = g->epoch;
  q.partitions = pv;
  q.n_partitions = k;
  h.body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
  h.offset_commit_req = &q;
  Strata__Header *r = NULL;
  int rc = coord_call(c, &h, &r);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_OFFSET_COMMIT_RESP ||
              r->offset_commit_resp->n_partitions != k))
    rc = STRATA_ECORRUPT;
  for (size_t i = 0; !rc && i < k; i++) {
    int e = strata_error_from_wire(r->offset_commit_resp->partitions[i]->error_code);
    if (e) rc = e;
    else which[i]->committed = pv[i]->offset;
  }
  wire_header_free(r);
  return rc;
}

/* Commit the given owned partitions' positions (those that moved). */
static int commit_some(strata_consumer *c, struct owned **v, size_t n) {
  Strata__OffsetCommitPartition *ps = calloc(n + 1, sizeof *ps);
  Strata__OffsetCommitPartition **pv = calloc(n + 1, sizeof *pv);
  struct owned **which = calloc(n + 1, sizeof *which);
  if (!ps || !pv || !which) {
    free(ps);
    free(pv);
    free(which);
    return STRATA_ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t pos = strata_consumer_position(c, v[i]->topic, v[i]->partition);
    if (pos < 0 || pos == v[i]->committed) continue;
    strata__offset_commit_partition__init(&ps[k]);
    ps[k].topic = v[i]->topic;
    ps[k].partition = v[i]->partition;
    ps[k].offset = pos;
    ps[k].metadata = (char *)"";
    which[k] = v[i];
    pv[k] = &ps[k];
    k++;
  }
  int rc = k ? send_commits(c, pv, k, which) : 0;
  free(ps);
  free(pv);
  free(which);
  return rc;
}

static int commit_all(strata_consumer *c) {
  struct group_client *g = c->grp;
  if (!g->nowned || g->epoch <= 0) return 0;
  struct owned **v = calloc(g->nowned, sizeof *v);
  if (!v) return STRATA_ENOMEM;
  for (size_t i = 0; i < g->nowned; i++) v[i] = &g->owned[i];
  int rc = commit_some(c, v, g->nowned);
  free(v);
  return rc;
}

static void notify(strata_consumer *c, int event, struct owned **v, size_t n) {
  struct group_client *g = c->grp;
  if (!g->cfg.on_rebalance || n == 0) return;
  strata_topic_partition *tps = calloc(n, sizeof *tps);
  if (!tps) return;
  for (size_t i = 0; i < n; i++) tps[i] = (strata_topic_partition){v[i]->topic, v[i]->partition};
  g->cfg.on_rebalance(c, event, tps, n, g->cfg.cb_arg);
  free(tps);
}

/* Drop owned partitions (all when every is set, else those marked
 * revoke), after the callback. */
static void drop_owned(strata_consumer *c, int event, int every) {
  struct group_client *g = c->grp;
  struct owned **v = calloc(g->nowned + 1, sizeof *v);
  if (!v) return;
  size_t n = 0;
  for (size_t i = 0; i < g->nowned; i++)
    if (every || g->owned[i].revoke) v[n++] = &g->owned[i];
  notify(c, event, v, n);
  if (event == STRATA_REBALANCE_REVOKED && g->cfg.auto_commit) commit_some(c, v, n);
  free(v);
  for (size_t i = 0; i < g->nowned;) {
    if (every || g->owned[i].revoke) {
      consumer_unassign(c, g->owned[i].topic, g->owned[i].partition);
      free(g->owned[i].topic);
      g->owned[i] = g->owned[--g->nowned];
    } else {
      i++;
    }
  }
}

/* The group is gone for us (fenced, timed out): partitions are lost, not
 * revoked; join again from scratch. */
static void lose_membership(strata_consumer *c) {
  struct group_client *g = c->grp;
  drop_owned(c, STRATA_REBALANCE_LOST, 1);
  g->member_id[0] = 0;
  g->epoch = 0;
  g->send_topics = 1;
}

/* Committed offsets of newly assigned partitions; -1 where none. */
static int fetch_committed(strata_consumer *c, const strata_topic_partition *tps, size_t n,
                           int64_t *out) {
  struct group_client *g = c->grp;
  Strata__TopicPartitions *ts = calloc(n + 1, sizeof *ts);
  Strata__TopicPartitions **tv = calloc(n + 1, sizeof *tv);
  uint32_t *parts = calloc(n + 1, sizeof *parts);
  if (!ts || !tv || !parts) {
    free(ts);
    free(tv);
    free(parts);
    return STRATA_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    strata__topic_partitions__init(&ts[i]);
    ts[i].topic = (char *)tps[i].topic;
    parts[i] = tps[i].partition;
    ts[i].partitions = &parts[i];
    ts[i].n_partitions = 1;
    tv[i] = &ts[i];
    out[i] = -1;
  }
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_OFFSET_FETCH);
  Strata__OffsetFetchRequest q = STRATA__OFFSET_FETCH_REQUEST__INIT;
  q.group_id = g->group;
  q.partitions = tv;
  q.n_partitions = n;
  h.body_case = STRATA__HEADER__BODY_OFFSET_FETCH_REQ;
  h.offset_fetch_req = &q;
  Strata__Header *r = NULL;
  int rc = coord_call(c, &h, &r);
  if (!rc && r->body_case != STRATA__HEADER__BODY_OFFSET_FETCH_RESP) rc = STRATA_ECORRUPT;
  for (size_t i = 0; !rc && i < r->offset_fetch_resp->n_partitions; i++) {
    const Strata__OffsetCommitPartition *e = r->offset_fetch_resp->partitions[i];
    for (size_t k = 0; k < n; k++)
      if (tps[k].partition == e->partition && !strcmp(tps[k].topic, e->topic)) out[k] = e->offset;
  }
  wire_header_free(r);
  free(ts);
  free(tv);
  free(parts);
  return rc;
}

/* Apply an assignment: revoke what left it, then take what is new. */
static int apply_assignment(strata_consumer *c, const Strata__GroupHeartbeatResponse *m) {
  struct group_client *g = c->grp;
  for (size_t i = 0; i < g->nowned; i++) {
    int keep = 0;
    for (size_t t = 0; t < m->n_assignment && !keep; t++)
      if (!strcmp(m->assignment[t]->topic, g->owned[i].topic))
        for (size_t k = 0; k < m->assignment[t]->n_partitions && !keep; k++)
          keep = m->assignment[t]->partitions[k] == g->owned[i].partition;
    g->owned[i].revoke = !keep;
  }
  drop_owned(c, STRATA_REBALANCE_REVOKED, 0);
  size_t n = 0;
  for (size_t t = 0; t < m->n_assignment; t++) n += m->assignment[t]->n_partitions;
  strata_topic_partition *added = calloc(n + 1, sizeof *added);
  int64_t *committed = calloc(n + 1, sizeof *committed);
  if (!added || !committed) {
    free(added);
    free(committed);
    return STRATA_ENOMEM;
  }
  size_t na = 0;
  for (size_t t = 0; t < m->n_assignment; t++)
    for (size_t k = 0; k < m->assignment[t]->n_partitions; k++)
      if (!owned_find(g, m->assignment[t]->topic, m->assignment[t]->partitions[k]))
        added[na++] = (strata_topic_partition){m->assignment[t]->topic, m->assignment[t]->partitions[k]};
  int rc = na ? fetch_committed(c, added, na, committed) : 0;
  struct owned *v = na ? realloc(g->owned, (g->nowned + na) * sizeof *v) : g->owned;
  if (!rc && na && !v) rc = STRATA_ENOMEM;
  if (!rc && na) {
    g->owned = v;
    struct owned **fresh = calloc(na, sizeof *fresh);
    for (size_t i = 0; i < na && !rc; i++) {
      int64_t start = committed[i] >= 0 ? committed[i] : g->cfg.reset_offset;
      rc = strata_consumer_assign(c, added[i].topic, added[i].partition, start);
      char *topic = rc ? NULL : strdup(added[i].topic);
      if (!rc && !topic) rc = STRATA_ENOMEM;
      if (rc) break;
      g->owned[g->nowned] = (struct owned){topic, added[i].partition, committed[i], 0};
      if (fresh) fresh[i] = &g->owned[g->nowned];
      g->nowned++;
    }
    if (!rc && fresh) notify(c, STRATA_REBALANCE_ASSIGNED, fresh, na);
    free(fresh);
  }
  free(added);
  free(committed);
  return rc;
}

static int heartbeat(strata_consumer *c, int32_t epoch_override) {
  struct group_client *g = c->grp;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT);
  Strata__GroupHeartbeatRequest q = STRATA__GROUP_HEARTBEAT_REQUEST__INIT;
  q.group_id = g->group;
  q.member_id = g->member_id;
  q.instance_id = g->instance ? g->instance : (char *)"";
  q.member_epoch = epoch_override ? epoch_override : g->epoch;
  q.session_timeout_ms = g->cfg.session_timeout_ms;
  q.assignor = g->assignor ? g->assignor : (char *)"";
  if (g->send_topics || g->epoch == 0) {
    q.topics = g->topics;
    q.n_topics = g->ntopics;
    q.topics_set = 1;
    q.topic_pattern = g->pattern ? g->pattern : (char *)"";
  }
  /* what we own, grouped by topic */
  Strata__TopicPartitions *ts = calloc(g->nowned + 1, sizeof *ts);
  Strata__TopicPartitions **tv = calloc(g->nowned + 1, sizeof *tv);
  uint32_t *parts = calloc(g->nowned + 1, sizeof *parts);
  if (!ts || !tv || !parts) {
    free(ts);
    free(tv);
    free(parts);
    return STRATA_ENOMEM;
  }
  size_t nt = 0;
  for (size_t i = 0; i < g->nowned; i++) {
    strata__topic_partitions__init(&ts[nt]);
    ts[nt].topic = g->owned[i].topic;
    parts[i] = g->owned[i].partition;
    ts[nt].partitions = &parts[i];
    ts[nt].n_partitions = 1;
    tv[nt] = &ts[nt];
    nt++;
  }
  q.owned = tv;
  q.n_owned = nt;
  q.owned_set = 1;
  h.body_case = STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ;
  h.group_heartbeat_req = &q;
  Strata__Header *r = NULL;
  int rc = coord_call(c, &h, &r);
  free(ts);
  free(tv);
  free(parts);
  if (!rc && r->body_case != STRATA__HEADER__BODY_GROUP_HEARTBEAT_RESP) rc = STRATA_ECORRUPT;
  if (!rc && !epoch_override) {
    const Strata__GroupHeartbeatResponse *m = r->group_heartbeat_resp;
    snprintf(g->member_id, sizeof g->member_id, "%s", m->member_id);
    g->epoch = m->member_epoch;
    g->send_topics = 0;
    if (m->heartbeat_interval_ms > 0) g->hb_interval_ms = m->heartbeat_interval_ms;
    rc = apply_assignment(c, m);
  }
  wire_header_free(r);
  return rc;
}

int group_client_step(strata_consumer *c) {
  struct group_client *g = c->grp;
  int64_t now = conn_now_ms();
  if (now >= g->next_hb_ms) {
    int64_t sent = now;
    int rc = heartbeat(c, 0);
    now = conn_now_ms();
    if (!rc) {
      /* The coordinator's session clock started when it got this heartbeat,
       * before its answer came back: count ours from the sending, so that
       * we give our partitions up no later than it hands them out. */
      g->last_ok_ms = sent;
    } else if (rc == STRATA_EUNKNOWN_MEMBER || rc == STRATA_EILLEGAL_GENERATION) {
      lose_membership(c); /* the coordinator dropped us: start over */
    } else if (rc == STRATA_EINVALID_REQUEST || rc == STRATA_EUNSUPPORTED_VERSION ||
               rc == STRATA_ENOMEM || rc == STRATA_EGROUP_AUTHORIZATION_FAILED ||
               rc == STRATA_ETOPIC_AUTHORIZATION_FAILED) {
      return rc; /* no retry mends these (an ACL must change first) */
    } else if (g->epoch > 0 && now - g->last_ok_ms > g->cfg.session_timeout_ms) {
      lose_membership(c); /* no coordinator for a whole session: others may own them now */
    }
    g->next_hb_ms = now + (rc ? 200 : g->hb_interval_ms);
  }
  if (g->cfg.auto_commit && now >= g->next_commit_ms) {
    commit_all(c); /* failures are retried at the next interval */
    g->next_commit_ms = now + g->cfg.auto_commit_interval_ms;
  }
  return 0;
}

int64_t group_client_due(const strata_consumer *c) {
  const struct group_client *g = c->grp;
  int64_t d = g->next_hb_ms;
  if (g->cfg.auto_commit && g->next_commit_ms < d) d = g->next_commit_ms;
  return d;
}

void group_client_close(strata_consumer *c) {
  struct group_client *g = c->grp;
  if (g->epoch > 0) {
    /* The application hears its partitions are revoked (and, with
     * auto-commit, their positions are committed) before the leave, which
     * hands them to others at once: done after, it would still be working
     * on partitions another member already owns. */
    drop_owned(c, STRATA_REBALANCE_REVOKED, 1);
    /* a static member only steps away: its partitions wait for its return */
    heartbeat(c, g->instance && *g->instance ? -2 : -1);
  }
  for (size_t i = 0; i < g->nowned; i++) free(g->owned[i].topic);
  free(g->owned);
  free(g->view);
  for (size_t i = 0; i < g->ntopics; i++) free(g->topics[i]);
  free(g->group);
  free(g->instance);
  free(g->assignor);
  free(g->pattern);
  conn_close(&g->coord);
  free(g);
  c->grp = NULL;
}

int strata_consumer_subscribe(strata_consumer *c, const strata_group_config *cfg,
                              const char *const *topics, size_t ntopics) {
  int by_pattern = cfg && cfg->topic_pattern && *cfg->topic_pattern;
  if (by_pattern) ntopics = 0;
  if (c->grp || c->nparts || !cfg || !cfg->group_id || !*cfg->group_id ||
      (ntopics == 0 && !by_pattern) || ntopics > GROUP_SUBS_MAX)
    return STRATA_EINVALID_ARGUMENT;
  struct group_client *g = calloc(1, sizeof *g);
  if (!g) return STRATA_ENOMEM;
  g->cfg = *cfg;
  if (g->cfg.session_timeout_ms <= 0) g->cfg.session_timeout_ms = 3000;
  if (g->cfg.auto_commit_interval_ms <= 0) g->cfg.auto_commit_interval_ms = 1000;
  if (g->cfg.reset_offset != STRATA_OFFSET_BEGINNING) g->cfg.reset_offset = STRATA_OFFSET_END;
  g->group = strdup(cfg->group_id);
  g->instance = cfg->instance_id ? strdup(cfg->instance_id) : NULL;
  g->assignor = cfg->assignor ? strdup(cfg->assignor) : NULL;
  g->pattern = by_pattern ? strdup(cfg->topic_pattern) : NULL;
  int bad = !g->group || (by_pattern && !g->pattern);
  for (size_t i = 0; i < ntopics; i++) bad |= !topics[i] || !(g->topics[g->ntopics++] = strdup(topics[i]));
  conn_init(&g->coord);
  g->hb_interval_ms = 250;
  g->send_topics = 1;
  g->next_commit_ms = conn_now_ms() + g->cfg.auto_commit_interval_ms;
  c->grp = g;
  if (bad) {
    g->epoch = 0;
    group_client_close(c);
    return STRATA_ENOMEM;
  }
  return 0;
}

int strata_consumer_commit(strata_consumer *c) {
  if (!c->grp) return STRATA_EINVALID_ARGUMENT;
  return commit_all(c);
}

int strata_consumer_commit_offset(strata_consumer *c, const char *topic, uint32_t partition,
                                  int64_t offset) {
  struct group_client *g = c->grp;
  if (!g || offset < 0) return STRATA_EINVALID_ARGUMENT;
  struct owned *o = owned_find(g, topic, partition);
  if (!o) return STRATA_EINVALID_ARGUMENT;
  Strata__OffsetCommitPartition p = STRATA__OFFSET_COMMIT_PARTITION__INIT, *pv[1] = {&p};
  p.topic = (char *)topic;
  p.partition = partition;
  p.offset = offset;
  p.metadata = (char *)"";
  return send_commits(c, pv, 1, &o);
}

const char *strata_consumer_member_id(const strata_consumer *c) {
  return c->grp && c->grp->member_id[0] ? c->grp->member_id : NULL;
}

int32_t strata_consumer_member_epoch(const strata_consumer *c) {
  return c->grp && c->grp->member_id[0] ? c->grp->epoch : -1;
}

const strata_topic_partition *strata_consumer_assignment(strata_consumer *c, size_t *n) {
  struct group_client *g = c->grp;
  *n = 0;
  if (!g) return NULL;
  free(g->view);
  g->view = calloc(g->nowned + 1, sizeof *g->view);
  if (!g->view) return NULL;
  for (size_t i = 0; i < g->nowned; i++)
    g->view[i] = (strata_topic_partition){g->owned[i].topic, g->owned[i].partition};
  *n = g->nowned;
  return g->view;
}
