#include "group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

int group_init(struct group *g, const char *id, const struct group_config *cfg, int kind,
               const char *nonce) {
  memset(g, 0, sizeof *g);
  if (!id || !*id || strlen(id) > GROUP_ID_MAX) return STRATA_EINVALID_REQUEST;
  snprintf(g->id, sizeof g->id, "%s", id);
  snprintf(g->nonce, sizeof g->nonce, "%s", nonce ? nonce : "");
  g->cfg = *cfg;
  g->kind = kind;
  return 0;
}

static void member_free(struct group_member *m) {
  for (size_t i = 0; i < m->ntopics; i++) free(m->topics[i]);
  free(m->topics);
  free(m->owned);
  free(m->assigned);
  free(m->target);
  free(m->pattern);
  free(m);
}

void group_free(struct group *g) {
  for (size_t i = 0; i < g->nmembers; i++) member_free(g->members[i]);
  free(g->members);
  for (size_t i = 0; i < g->ntopics; i++) free(g->topic_names[i]);
  free(g->topic_names);
  free(g->topic_parts);
  memset(g, 0, sizeof *g);
}

void group_reply_free(struct group_reply *r) {
  free(r->assignment);
  r->assignment = NULL;
  r->nassignment = 0;
}

static struct group_member *find(const struct group *g, const char *id) {
  for (size_t i = 0; id && *id && i < g->nmembers; i++)
    if (!strcmp(g->members[i]->id, id)) return g->members[i];
  return NULL;
}

const struct group_member *group_find_member(const struct group *g, const char *id) {
  return find(g, id);
}

/* Index of a topic in the group's table, added when missing (-1: no memory). */
static int topic_index(struct group *g, const char *name, int add) {
  for (size_t i = 0; i < g->ntopics; i++)
    if (!strcmp(g->topic_names[i], name)) return (int)i;
  if (!add) return -1;
  char **n = realloc(g->topic_names, (g->ntopics + 1) * sizeof *n);
  if (n) g->topic_names = n;
  uint32_t *p = realloc(g->topic_parts, (g->ntopics + 1) * sizeof *p);
  if (p) g->topic_parts = p;
  char *s = strdup(name);
  if (!n || !p || !s) {
    free(s);
    return -1;
  }
  g->topic_names[g->ntopics] = s;
  g->topic_parts[g->ntopics] = 0;
  return (int)g->ntopics++;
}

static int has(const struct tp *v, size_t n, struct tp x) {
  for (size_t i = 0; i < n; i++)
    if (v[i].topic == x.topic && v[i].partition == x.partition) return 1;
  return 0;
}

static int subscribes(const struct group_member *m, const char *topic) {
  for (size_t i = 0; i < m->ntopics; i++)
    if (!strcmp(m->topics[i], topic)) return 1;
  return 0;
}

/* Recompute the target: every live member's share, sticky from the last. */
static int compute_target(struct group *g) {
  struct assign_member *am = calloc(g->nmembers + 1, sizeof *am);
  uint32_t(*subs)[GROUP_TOPICS_MAX] = calloc(g->nmembers + 1, sizeof *subs);
  if (!am || !subs) {
    free(am);
    free(subs);
    return STRATA_ENOMEM;
  }
  for (size_t i = 0; i < g->nmembers; i++) {
    struct group_member *m = g->members[i];
    size_t n = 0;
    for (size_t k = 0; k < m->ntopics && n < GROUP_TOPICS_MAX; k++) {
      int t = topic_index(g, m->topics[k], 0);
      if (t >= 0) subs[i][n++] = (uint32_t)t;
    }
    am[i].id = m->id;
    am[i].topics = subs[i];
    am[i].ntopics = n;
    am[i].prev = m->target;
    am[i].nprev = m->ntarget;
  }
  int rc = assign_partitions(g->kind, g->topic_parts, g->ntopics, am, g->nmembers);
  if (!rc)
    for (size_t i = 0; i < g->nmembers; i++) {
      free(g->members[i]->target);
      g->members[i]->target = am[i].out;
      g->members[i]->ntarget = am[i].nout;
    }
  free(am);
  free(subs);
  if (!rc) g->target_epoch = g->epoch;
  return rc;
}

/* Membership or subscriptions changed: a new group epoch, and a new target
 * unless the initial delay still runs. */
static void bump(struct group *g, int64_t now_ms) {
  g->epoch++;
  if (g->compute_at_ms && now_ms < g->compute_at_ms) return;
  g->compute_at_ms = 0;
  compute_target(g);
}

/* Is partition x held by a member other than `self` (told to consume it,
 * or still reporting it)? */
static int held_elsewhere(const struct group *g, const struct group_member *self, struct tp x) {
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct group_member *m = g->members[i];
    if (m == self) continue;
    if (has(m->assigned, m->nassigned, x) || has(m->owned, m->nowned, x)) return 1;
  }
  return 0;
}

/* Decide what `m` consumes now: first give up what left its target, then
 * take its new partitions as their previous owners release them. */
static int reconcile(struct group *g, struct group_member *m) {
  struct tp *next = malloc((m->ntarget + m->nowned + 1) * sizeof *next);
  if (!next) return STRATA_ENOMEM;
  size_t n = 0;
  int revoking = 0;
  for (size_t i = 0; i < m->nowned; i++) {
    if (has(m->target, m->ntarget, m->owned[i])) next[n++] = m->owned[i];
    else revoking = 1;
  }
  if (!revoking) {
    for (size_t i = 0; i < m->ntarget; i++)
      if (!has(next, n, m->target[i]) && !held_elsewhere(g, m, m->target[i]))
        next[n++] = m->target[i];
    m->epoch = g->target_epoch; /* nothing left to give up: it is at the target's epoch */
  }
  free(m->assigned);
  m->assigned = next;
  m->nassigned = n;
  return 0;
}

static int fill_reply(const struct group *g, const struct group_member *m, struct group_reply *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->member_id, sizeof r->member_id, "%s", m->id);
  r->member_epoch = m->epoch;
  r->heartbeat_ms = g->cfg.heartbeat_ms;
  r->assignment = malloc((m->nassigned + 1) * sizeof *r->assignment);
  if (!r->assignment) return STRATA_ENOMEM;
  for (size_t i = 0; i < m->nassigned; i++)
    r->assignment[i] = (struct group_tp){g->topic_names[m->assigned[i].topic], m->assigned[i].partition};
  r->nassignment = m->nassigned;
  return 0;
}

static void remove_member(struct group *g, struct group_member *m) {
  for (size_t i = 0; i < g->nmembers; i++)
    if (g->members[i] == m) {
      g->members[i] = g->members[--g->nmembers];
      break;
    }
  member_free(m);
}

/* Same topics, in any order? */
static int same_topics(const struct group_member *m, const char *const *t, size_t n) {
  if (m->ntopics != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!subscribes(m, t[i])) return 0;
  return 1;
}

static int set_topics(struct group *g, struct group_member *m, const char *const *t, size_t n) {
  char **v = calloc(n + 1, sizeof *v);
  if (!v) return STRATA_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (!(v[i] = strdup(t[i])) || topic_index(g, t[i], 1) < 0) {
      for (size_t k = 0; k <= i; k++) free(v[k]);
      free(v);
      return STRATA_ENOMEM;
    }
  for (size_t i = 0; i < m->ntopics; i++) free(m->topics[i]);
  free(m->topics);
  m->topics = v;
  m->ntopics = n;
  return 0;
}

/* What the member reports owning; partitions of topics the group does not
 * know are ignored (it cannot own them through this group). */
static int set_owned(struct group *g, struct group_member *m, const struct group_tp *o, size_t n) {
  struct tp *v = malloc((n + 1) * sizeof *v);
  if (!v) return STRATA_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int t = o[i].topic ? topic_index(g, o[i].topic, 0) : -1;
    if (t >= 0 && !has(v, k, (struct tp){(uint32_t)t, o[i].partition}))
      v[k++] = (struct tp){(uint32_t)t, o[i].partition};
  }
  free(m->owned);
  m->owned = v;
  m->nowned = k;
  return 0;
}

static int32_t clamp_session(const struct group *g, int32_t s) {
  if (s <= 0 || s < g->cfg.session_min_ms) return g->cfg.session_min_ms;
  return s > g->cfg.session_max_ms ? g->cfg.session_max_ms : s;
}

int group_heartbeat(struct group *g, const struct group_heartbeat *hb, int64_t now_ms,
                    struct group_reply *reply) {
  memset(reply, 0, sizeof *reply);
  if (hb->topics && hb->ntopics > GROUP_TOPICS_MAX) return STRATA_EINVALID_REQUEST;
  for (size_t i = 0; hb->topics && i < hb->ntopics; i++)
    if (!hb->topics[i] || !*hb->topics[i]) return STRATA_EINVALID_REQUEST;
  const char *inst = hb->instance_id && *hb->instance_id ? hb->instance_id : NULL;
  if (inst && strlen(inst) > GROUP_MEMBER_ID_MAX) return STRATA_EINVALID_REQUEST;
  struct group_member *m = find(g, hb->member_id);
  int changed = 0, rc;

  if (hb->member_epoch == GROUP_LEAVE || hb->member_epoch == GROUP_LEAVE_STATIC) {
    if (!m) return STRATA_EUNKNOWN_MEMBER;
    if (hb->member_epoch == GROUP_LEAVE_STATIC && m->instance_id[0]) {
      m->away = 1; /* its partitions wait for it until its session ends */
      m->last_seen_ms = now_ms;
    } else {
      remove_member(g, m);
      bump(g, now_ms);
    }
    return 0;
  }

  int own_id = hb->own_member_id && hb->member_id && *hb->member_id;
  if (own_id && strlen(hb->member_id) > GROUP_MEMBER_ID_MAX) return STRATA_EINVALID_REQUEST;
  if (own_id && hb->member_epoch == GROUP_JOIN && m && m->epoch != GROUP_JOIN) {
    /* A member joining again under its own id (it was fenced): its old self
     * leaves first. One still joining (epoch 0, the group's first target not
     * computed yet) just goes on. */
    remove_member(g, m);
    bump(g, now_ms);
    m = NULL;
  }
  if (hb->member_epoch == GROUP_JOIN && !m) {
    if (!hb->topics) return STRATA_EINVALID_REQUEST; /* a new member says what it wants */
    struct group_member *prev = NULL;
    for (size_t i = 0; inst && i < g->nmembers && !prev; i++)
      if (!strcmp(g->members[i]->instance_id, inst)) prev = g->members[i];
    if (prev) {
      /* A static member back from a restart: same member, same partitions,
       * no rebalance unless it now wants other topics. */
      m = prev;
      m->away = 0;
      m->epoch = g->target_epoch;
      free(m->owned);
      m->owned = NULL;
      m->nowned = 0;
    } else {
      struct group_member **v = realloc(g->members, (g->nmembers + 1) * sizeof *v);
      if (!v) return STRATA_ENOMEM;
      g->members = v;
      m = calloc(1, sizeof *m);
      if (!m) return STRATA_ENOMEM;
      if (own_id)
        snprintf(m->id, sizeof m->id, "%s", hb->member_id);
      else
        snprintf(m->id, sizeof m->id, "%s%s%llu", g->nonce, g->nonce[0] ? "-" : "",
                 (unsigned long long)++g->next_member);
      if (inst) snprintf(m->instance_id, sizeof m->instance_id, "%s", inst);
      if ((rc = set_topics(g, m, hb->topics, hb->ntopics))) {
        member_free(m);
        return rc;
      }
      if (g->nmembers == 0 && g->cfg.initial_delay_ms > 0 && g->epoch == 0)
        g->compute_at_ms = now_ms + g->cfg.initial_delay_ms;
      g->members[g->nmembers++] = m;
      changed = 1;
    }
  } else if (!m) {
    return STRATA_EUNKNOWN_MEMBER;
  } else if (hb->member_epoch != m->epoch) {
    return STRATA_EILLEGAL_GENERATION; /* a zombie of an older epoch: it must rejoin */
  }

  m->session_ms = clamp_session(g, hb->session_ms);
  m->last_seen_ms = now_ms;
  if (hb->topics && !same_topics(m, hb->topics, hb->ntopics)) {
    if ((rc = set_topics(g, m, hb->topics, hb->ntopics))) return rc;
    changed = 1;
  }
  if (hb->owned && (rc = set_owned(g, m, hb->owned, hb->nowned))) return rc;
  if (changed) bump(g, now_ms);
  if ((rc = reconcile(g, m))) return rc;
  return fill_reply(g, m, reply);
}

int group_set_partitions(struct group *g, const char *topic, uint32_t npart, int64_t now_ms) {
  int t = topic_index(g, topic, 1);
  if (t < 0) return STRATA_ENOMEM;
  if (g->topic_parts[t] == npart) return 0;
  g->topic_parts[t] = npart;
  int subscribed = 0;
  for (size_t i = 0; i < g->nmembers && !subscribed; i++) subscribed = subscribes(g->members[i], topic);
  if (subscribed) bump(g, now_ms);
  return 0;
}

void group_tick(struct group *g, int64_t now_ms) {
  int changed = 0;
  for (size_t i = 0; i < g->nmembers;) {
    struct group_member *m = g->members[i];
    if (now_ms - m->last_seen_ms > m->session_ms) {
      remove_member(g, m);
      changed = 1;
    } else {
      i++;
    }
  }
  if (changed) bump(g, now_ms);
  else if (g->compute_at_ms && now_ms >= g->compute_at_ms) {
    g->compute_at_ms = 0;
    compute_target(g);
  }
}

int group_commit_check(const struct group *g, const char *member_id, int32_t member_epoch,
                       const char *topic, uint32_t partition) {
  const struct group_member *m = find(g, member_id);
  if (!m || m->away) return STRATA_EUNKNOWN_MEMBER;
  if (member_epoch != m->epoch) return STRATA_EILLEGAL_GENERATION;
  int t = -1;
  for (size_t i = 0; i < g->ntopics && t < 0; i++)
    if (!strcmp(g->topic_names[i], topic)) t = (int)i;
  if (t < 0) return STRATA_EINVALID_REQUEST;
  /* also what it is giving up: it commits its last offsets before releasing */
  struct tp x = {(uint32_t)t, partition};
  return has(m->assigned, m->nassigned, x) || has(m->owned, m->nowned, x) ? 0
                                                                          : STRATA_EINVALID_REQUEST;
}

int group_is_stable(const struct group *g) {
  if (g->compute_at_ms || g->target_epoch != g->epoch) return 0;
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct group_member *m = g->members[i];
    if (m->away) continue;
    if (m->nassigned != m->ntarget || m->nowned != m->ntarget || m->epoch != g->target_epoch)
      return 0;
    for (size_t k = 0; k < m->ntarget; k++)
      if (!has(m->assigned, m->nassigned, m->target[k]) || !has(m->owned, m->nowned, m->target[k]))
        return 0;
  }
  return 1;
}

int group_set_member_topics(struct group *g, const char *member_id, const char *const *topics,
                            size_t ntopics, int64_t now_ms) {
  struct group_member *m = find(g, member_id);
  if (!m) return STRATA_EUNKNOWN_MEMBER;
  if (ntopics > GROUP_TOPICS_MAX) return STRATA_EINVALID_REQUEST;
  if (same_topics(m, topics, ntopics)) return 0;
  int rc = set_topics(g, m, topics, ntopics);
  if (!rc) bump(g, now_ms);
  return rc;
}

int group_set_member_pattern(struct group *g, const char *member_id, const char *pattern,
                             const struct principal *who) {
  struct group_member *m = find(g, member_id);
  if (!m) return STRATA_EUNKNOWN_MEMBER;
  char *p = pattern ? strdup(pattern) : NULL;
  if (pattern && !p) return STRATA_ENOMEM;
  free(m->pattern);
  m->pattern = p;
  memset(&m->who, 0, sizeof m->who);
  if (who) m->who = *who;
  else memcpy(m->who.name, PRINCIPAL_ANONYMOUS, sizeof PRINCIPAL_ANONYMOUS);
  return 0;
}
