/* Group administration through strata_client: list (every broker answers
 * for the groups it coordinates), describe, commit offsets for an empty
 * group (reset), delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/lib/internal.h"
#include "common/errors.h"
#include "common/wire.h"

#define ADMIN_RETRY_MS 5000

/* Connect *k to the group's coordinator (retrying while it is being set up). */
static int coordinator(strata_client *c, const char *group, struct conn *k) {
  int64_t give_up = conn_now_ms() + ADMIN_RETRY_MS;
  for (;;) {
    int rc = client_ensure(c);
    if (rc) return rc;
    char host[256];
    int port;
    rc = client_find_coordinator(&c->conn, group, c->timeout_ms, host, sizeof host, &port);
    if (rc == STRATA_ENETWORK || rc == STRATA_ETIMEOUT) { /* that broker went away: another */
      conn_close(&c->conn);
      if (conn_now_ms() > give_up) return rc;
      continue;
    }
    if (!rc) {
      char err[256];
      rc = conn_open(k, host, port, c->timeout_ms, &c->sec, err, sizeof err);
    }
    if (rc != STRATA_ECOORDINATOR_NOT_AVAILABLE || conn_now_ms() > give_up) return rc;
    struct timespec ts = {0, 200 * 1000000};
    nanosleep(&ts, NULL);
  }
}

/* A call to the group's coordinator; retried while coordination moves. */
static int coord_call(strata_client *c, const char *group, Strata__Header *h, Strata__Header **r) {
  int64_t give_up = conn_now_ms() + ADMIN_RETRY_MS;
  for (;;) {
    struct conn k;
    conn_init(&k); /* closed safely even when no coordinator was found */
    int rc = coordinator(c, group, &k);
    if (!rc) rc = conn_call(&k, h, NULL, 0, c->timeout_ms, r, NULL, NULL);
    conn_close(&k);
    if ((rc != STRATA_ENOT_COORDINATOR && rc != STRATA_ECOORDINATOR_NOT_AVAILABLE &&
         rc != STRATA_ENETWORK && rc != STRATA_ENOT_LEADER) ||
        conn_now_ms() > give_up)
      return rc;
    wire_header_free(*r);
    *r = NULL;
    struct timespec ts = {0, 200 * 1000000};
    nanosleep(&ts, NULL);
  }
}

int strata_group_list(strata_client *c, strata_group_listing **out, size_t *n) {
  *out = NULL;
  *n = 0;
  strata_metadata *m = NULL;
  int rc = strata_metadata_get(c, NULL, 0, &m);
  if (rc) return rc;
  for (size_t b = 0; b < m->nbrokers && !rc; b++) {
    if (m->brokers[b].fenced) continue;
    struct conn k;
    char err[256];
    conn_init(&k);
    if (conn_open(&k, m->brokers[b].host, m->brokers[b].port, c->timeout_ms, &c->sec, err,
                  sizeof err))
      continue; /* a broker that is down coordinates nothing right now */
    Strata__Header h;
    client_header(&h, STRATA__API_KEY__API_LIST_GROUPS);
    Strata__ListGroupsRequest q = STRATA__LIST_GROUPS_REQUEST__INIT;
    h.body_case = STRATA__HEADER__BODY_LIST_GROUPS_REQ;
    h.list_groups_req = &q;
    Strata__Header *r = NULL;
    int crc = conn_call(&k, &h, NULL, 0, c->timeout_ms, &r, NULL, NULL);
    conn_close(&k);
    if (!crc && r->body_case == STRATA__HEADER__BODY_LIST_GROUPS_RESP) {
      const Strata__ListGroupsResponse *l = r->list_groups_resp;
      strata_group_listing *v = realloc(*out, (*n + l->n_groups + 1) * sizeof *v);
      if (!v) rc = STRATA_ENOMEM;
      for (size_t i = 0; !rc && i < l->n_groups; i++) {
        v[*n] = (strata_group_listing){strdup(l->groups[i]->group_id), strdup(l->groups[i]->state),
                                       l->groups[i]->members, m->brokers[b].id};
        (*n)++;
      }
      if (v) *out = v;
    }
    wire_header_free(r);
  }
  strata_metadata_free(m);
  return rc;
}

void strata_group_list_free(strata_group_listing *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].group_id);
    free(v[i].state);
  }
  free(v);
}

static strata_topic_partition *tps_copy(Strata__TopicPartitions **t, size_t nt, size_t *n) {
  size_t total = 0;
  for (size_t i = 0; i < nt; i++) total += t[i]->n_partitions;
  strata_topic_partition *v = calloc(total + 1, sizeof *v);
  *n = 0;
  if (!v) return NULL;
  for (size_t i = 0; i < nt; i++)
    for (size_t k = 0; k < t[i]->n_partitions; k++)
      v[(*n)++] = (strata_topic_partition){strdup(t[i]->topic), t[i]->partitions[k]};
  return v;
}

int strata_group_describe(strata_client *c, const char *group, strata_group_info **out) {
  *out = NULL;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DESCRIBE_GROUP);
  Strata__DescribeGroupRequest q = STRATA__DESCRIBE_GROUP_REQUEST__INIT;
  q.group_id = (char *)group;
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_GROUP_REQ;
  h.describe_group_req = &q;
  Strata__Header *r = NULL;
  int rc = coord_call(c, group, &h, &r);
  if (!rc && r->body_case != STRATA__HEADER__BODY_DESCRIBE_GROUP_RESP) rc = STRATA_ECORRUPT;
  strata_group_info *g = rc ? NULL : calloc(1, sizeof *g);
  if (!rc && !g) rc = STRATA_ENOMEM;
  if (!rc) {
    const Strata__DescribeGroupResponse *d = r->describe_group_resp;
    g->group_id = strdup(d->group_id);
    g->state = strdup(d->state);
    g->assignor = strdup(d->assignor);
    g->epoch = d->group_epoch;
    g->coordinator = d->coordinator;
    g->members = calloc(d->n_members + 1, sizeof *g->members);
    for (size_t i = 0; g->members && i < d->n_members; i++) {
      strata_group_member_info *mi = &g->members[g->nmembers++];
      mi->member_id = strdup(d->members[i]->member_id);
      mi->instance_id = strdup(d->members[i]->instance_id);
      mi->epoch = d->members[i]->member_epoch;
      mi->assignment = tps_copy(d->members[i]->assignment, d->members[i]->n_assignment,
                                &mi->nassignment);
    }
    g->offsets = calloc(d->n_offsets + 1, sizeof *g->offsets);
    for (size_t i = 0; g->offsets && i < d->n_offsets; i++)
      g->offsets[g->noffsets++] = (strata_group_offset){strdup(d->offsets[i]->topic),
                                                        d->offsets[i]->partition,
                                                        d->offsets[i]->offset};
    *out = g;
  }
  wire_header_free(r);
  return rc;
}

void strata_group_info_free(strata_group_info *g) {
  if (!g) return;
  for (size_t i = 0; i < g->nmembers; i++) {
    free(g->members[i].member_id);
    free(g->members[i].instance_id);
    for (size_t k = 0; k < g->members[i].nassignment; k++)
      free((char *)g->members[i].assignment[k].topic);
    free(g->members[i].assignment);
  }
  free(g->members);
  for (size_t i = 0; i < g->noffsets; i++) free(g->offsets[i].topic);
  free(g->offsets);
  free(g->group_id);
  free(g->state);
  free(g->assignor);
  free(g);
}

int strata_group_set_offsets(strata_client *c, const char *group, const strata_group_offset *v,
                             size_t n) {
  if (n == 0) return 0;
  Strata__OffsetCommitPartition *ps = calloc(n, sizeof *ps);
  Strata__OffsetCommitPartition **pv = calloc(n, sizeof *pv);
  if (!ps || !pv) {
    free(ps);
    free(pv);
    return STRATA_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    strata__offset_commit_partition__init(&ps[i]);
    ps[i].topic = v[i].topic;
    ps[i].partition = v[i].partition;
    ps[i].offset = v[i].offset;
    ps[i].metadata = (char *)"";
    pv[i] = &ps[i];
  }
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_OFFSET_COMMIT);
  Strata__OffsetCommitRequest q = STRATA__OFFSET_COMMIT_REQUEST__INIT;
  q.group_id = (char *)group;
  q.member_id = (char *)"";
  q.member_epoch = -1; /* an operator's commit: only for a group without members */
  q.partitions = pv;
  q.n_partitions = n;
  h.body_case = STRATA__HEADER__BODY_OFFSET_COMMIT_REQ;
  h.offset_commit_req = &q;
  Strata__Header *r = NULL;
  int rc = coord_call(c, group, &h, &r);
  if (!rc && r->body_case != STRATA__HEADER__BODY_OFFSET_COMMIT_RESP) rc = STRATA_ECORRUPT;
  for (size_t i = 0; !rc && i < r->offset_commit_resp->n_partitions; i++)
    rc = strata_error_from_wire(r->offset_commit_resp->partitions[i]->error_code);
  wire_header_free(r);
  free(ps);
  free(pv);
  return rc;
}

int strata_group_delete(strata_client *c, const char *group) {
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DELETE_GROUPS);
  Strata__DeleteGroupsRequest q = STRATA__DELETE_GROUPS_REQUEST__INIT;
  char *ids[1] = {(char *)group};
  q.group_ids = ids;
  q.n_group_ids = 1;
  h.body_case = STRATA__HEADER__BODY_DELETE_GROUPS_REQ;
  h.delete_groups_req = &q;
  Strata__Header *r = NULL;
  int rc = coord_call(c, group, &h, &r);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_DELETE_GROUPS_RESP ||
              r->delete_groups_resp->n_results != 1))
    rc = STRATA_ECORRUPT;
  if (!rc) rc = strata_error_from_wire(r->delete_groups_resp->results[0]->error_code);
  wire_header_free(r);
  return rc;
}
