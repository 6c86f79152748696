/* The classic consumer group protocol (classic_group.h), following Kafka's
 * GroupCoordinator (the Java ClassicGroup / GroupMetadataManager of Kafka
 * 3.7+ where the two differ): the join barrier, the leader's assignment
 * handed out at SyncGroup, sessions, static membership, LeaveGroup. */
#include "broker/classic_group.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

#define NEW_ID_CLIENT_MAX 64 /* the client id part of a member id we make */

void classic_config_default(struct classic_config *cfg) {
  cfg->initial_delay_ms = 300;
  cfg->session_min_ms = 1000;
  cfg->session_max_ms = 300000;
  cfg->max_members = CLASSIC_MEMBERS_DEFAULT_MAX;
}

const char *classic_state_name(int state) {
  switch (state) {
  case CLASSIC_EMPTY: return "Empty";
  case CLASSIC_PREPARING_REBALANCE: return "PreparingRebalance";
  case CLASSIC_COMPLETING_REBALANCE: return "CompletingRebalance";
  case CLASSIC_STABLE: return "Stable";
  default: return "Dead";
  }
}

int16_t classic_kafka_error(int err) {
  switch (err) {
  case 0: return 0;
  case STRATA_EUNKNOWN_TOPIC: return 3;
  case STRATA_ETOO_LARGE: return 12; /* OFFSET_METADATA_TOO_LARGE in the commit path */
  case STRATA_ECOORDINATOR_NOT_AVAILABLE: return 15;
  case STRATA_ENOT_COORDINATOR: return 16;
  case STRATA_EILLEGAL_GENERATION: return 22;
  case STRATA_EINCONSISTENT_GROUP_PROTOCOL: return 23;
  case STRATA_EUNKNOWN_MEMBER: return 25;
  case STRATA_EINVALID_SESSION_TIMEOUT: return 26;
  case STRATA_EREBALANCE_IN_PROGRESS: return 27;
  case STRATA_EINVALID_REQUEST: return 42;
  case STRATA_EGROUP_NOT_EMPTY: return 68;
  case STRATA_EUNKNOWN_GROUP: return 69; /* GROUP_ID_NOT_FOUND */
  case STRATA_EMEMBER_ID_REQUIRED: return 79;
  case STRATA_EGROUP_MAX_SIZE_REACHED: return 81;
  case STRATA_EFENCED_INSTANCE_ID: return 82;
  case STRATA_EGROUP_AUTHORIZATION_FAILED: return 30;
  case STRATA_ETOPIC_AUTHORIZATION_FAILED: return 29;
  default: return -1;
  }
}

/* ---- small helpers ---- */

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

static char *dup_trunc(const char *s, size_t max) {
  s = s ? s : "";
  size_t n = strlen(s);
  return strndup(s, n > max ? max : n);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *v = malloc(n ? n : 1);
  if (v && n) memcpy(v, p, n);
  return v;
}

static int nonempty(const char *s) { return s && *s; }

static int same_str(const char *a, const char *b) {
  return !strcmp(a ? a : "", b ? b : "");
}

/* ---- answers ---- */

void classic_out_init(struct classic_out *o) { memset(o, 0, sizeof *o); }

static void answer_free(struct classic_answer *a) {
  free(a->member_id);
  free(a->protocol_type);
  free(a->protocol_name);
  free(a->leader_id);
  for (size_t i = 0; i < a->nmembers; i++) {
    free(a->members[i].member_id);
    free(a->members[i].instance_id);
    free(a->members[i].metadata);
  }
  free(a->members);
  free(a->assignment);
}

void classic_out_reset(struct classic_out *o) {
  for (size_t i = 0; i < o->n; i++) answer_free(&o->v[i]);
  o->n = 0;
}

void classic_out_free(struct classic_out *o) {
  classic_out_reset(o);
  free(o->v);
  memset(o, 0, sizeof *o);
}

/* Room for `more` answers, made before a call changes anything: a token is
 * never lost to a failed allocation. */
static int out_reserve(struct classic_out *o, size_t more) {
  if (o->n + more <= o->cap) return 0;
  size_t cap = o->cap ? o->cap : 8;
  while (cap < o->n + more) cap *= 2;
  struct classic_answer *v = realloc(o->v, cap * sizeof *v);
  if (!v) return STRATA_ENOMEM;
  o->v = v;
  o->cap = cap;
  return 0;
}

/* At most: each member's parked join and sync, plus the caller's request
 * and the one it supersedes. */
static size_t answers_needed(const struct classic_group *g) { return 2 * g->nmembers + 4; }

static struct classic_answer *out_push(struct classic_out *o, void *token, int kind, int error) {
  assert(o->n < o->cap); /* reserved on entry */
  struct classic_answer *a = &o->v[o->n++];
  memset(a, 0, sizeof *a);
  a->token = token;
  a->kind = kind;
  a->error = error;
  a->generation = -1;
  return a;
}

/* A payload copy failed: the answer stays, as an error without payload. */
static void degrade(struct classic_answer *a) {
  void *token = a->token;
  int kind = a->kind;
  answer_free(a);
  memset(a, 0, sizeof *a);
  a->token = token;
  a->kind = kind;
  a->error = STRATA_ENOMEM;
  a->generation = -1;
}

static void join_error(struct classic_out *o, void *token, int err, const char *member_id) {
  struct classic_answer *a = out_push(o, token, CLASSIC_ANSWER_JOIN, err);
  a->member_id = strdup(member_id ? member_id : "");
  if (!a->member_id) degrade(a);
}

static void sync_error(struct classic_out *o, void *token, int err) {
  out_push(o, token, CLASSIC_ANSWER_SYNC, err);
}

/* ---- members ---- */

static struct classic_member *find(const struct classic_group *g, const char *id) {
  for (size_t i = 0; nonempty(id) && i < g->nmembers; i++)
    if (!strcmp(g->members[i]->id, id)) return g->members[i];
  return NULL;
}

static struct classic_member *find_instance(const struct classic_group *g, const char *inst) {
  for (size_t i = 0; nonempty(inst) && i < g->nmembers; i++)
    if (g->members[i]->instance_id && !strcmp(g->members[i]->instance_id, inst))
      return g->members[i];
  return NULL;
}

/* Index of a pending joiner; g->npending when none. */
static size_t find_pending(const struct classic_group *g, const char *id) {
  size_t i = 0;
  while (nonempty(id) && i < g->npending && strcmp(g->pending[i].id, id)) i++;
  return nonempty(id) ? i : g->npending;
}

static void protocols_free(struct classic_protocol *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free((char *)p[i].name);
    free((uint8_t *)p[i].metadata);
  }
  free(p);
}

static struct classic_protocol *protocols_dup(const struct classic_protocol *p, size_t n) {
  struct classic_protocol *v = calloc(n + 1, sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    v[i].name = strdup(p[i].name);
    v[i].metadata = dup_bytes(p[i].metadata, p[i].len);
    v[i].len = p[i].len;
    if (!v[i].name || !v[i].metadata) {
      protocols_free(v, i + 1);
      return NULL;
    }
  }
  return v;
}

static void member_free(struct classic_member *m) {
  free(m->id);
  free(m->instance_id);
  free(m->client_id);
  free(m->client_host);
  protocols_free(m->protocols, m->nprotocols);
  free(m->assignment);
  free(m);
}

static const struct classic_protocol *member_protocol(const struct classic_member *m,
                                                      const char *name) {
  for (size_t i = 0; name && i < m->nprotocols; i++)
    if (!strcmp(m->protocols[i].name, name)) return &m->protocols[i];
  return NULL;
}

/* Same protocols, in the same order, with the same metadata. */
static int member_matches(const struct classic_member *m, const struct classic_join_req *r) {
  if (m->nprotocols != r->nprotocols) return 0;
  for (size_t i = 0; i < r->nprotocols; i++) {
    const struct classic_protocol *a = &m->protocols[i], *b = &r->protocols[i];
    if (strcmp(a->name, b->name) || a->len != b->len ||
        (a->len && memcmp(a->metadata, b->metadata, a->len)))
      return 0;
  }
  return 1;
}

static int32_t group_rebalance_ms(const struct classic_group *g) {
  int32_t t = 0;
  for (size_t i = 0; i < g->nmembers; i++)
    if (g->members[i]->rebalance_ms > t) t = g->members[i]->rebalance_ms;
  return t;
}

/* Number of members offering protocol `name`. */
static size_t supporters(const struct classic_group *g, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < g->nmembers; i++) n += member_protocol(g->members[i], name) != NULL;
  return n;
}

/* Can a member with this protocol type and these protocols be in the group
 * (Kafka's supportsProtocols): an empty group takes any non-empty offer;
 * otherwise the type must match and one of its protocols must be offered
 * by every member now. */
static int supports(const struct classic_group *g, const char *type,
                    const struct classic_protocol *p, size_t n) {
  if (g->state == CLASSIC_EMPTY || g->nmembers == 0) return nonempty(type) && n > 0;
  if (!same_str(type, g->protocol_type)) return 0;
  for (size_t i = 0; i < n; i++)
    if (supporters(g, p[i].name) == g->nmembers) return 1;
  return 0;
}

/* The generation's protocol: among those every member offers, each member
 * votes for the first in its own order; most votes wins (Kafka breaks ties
 * arbitrarily; here the leader's preference does). NULL: none. */
static const char *select_protocol(const struct classic_group *g) {
  const struct classic_member *lead = find(g, g->leader);
  if (!lead && g->nmembers) lead = g->members[0];
  if (!lead) return NULL;
  size_t votes[CLASSIC_PROTOCOLS_MAX] = {0};
  int any = 0;
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct classic_member *m = g->members[i];
    for (size_t k = 0; k < m->nprotocols; k++) {
      size_t c = 0;
      while (c < lead->nprotocols && strcmp(lead->protocols[c].name, m->protocols[k].name)) c++;
      if (c < lead->nprotocols && c < CLASSIC_PROTOCOLS_MAX &&
          supporters(g, m->protocols[k].name) == g->nmembers) {
        votes[c]++;
        any = 1;
        break;
      }
    }
  }
  if (!any) return NULL;
  size_t best = 0;
  for (size_t c = 1; c < lead->nprotocols && c < CLASSIC_PROTOCOLS_MAX; c++)
    if (votes[c] > votes[best]) best = c;
  return lead->protocols[best].name;
}

/* A member's parked JoinGroup, answered. */
static void answer_parked_join(struct classic_member *m, struct classic_out *o, int err,
                               const char *member_id) {
  if (!m->awaiting_join) return;
  join_error(o, m->join_token, err, member_id);
  m->awaiting_join = 0;
  m->join_token = NULL;
}

static void answer_parked_sync(struct classic_member *m, struct classic_out *o, int err) {
  if (!m->awaiting_sync) return;
  sync_error(o, m->sync_token, err);
  m->awaiting_sync = 0;
  m->sync_token = NULL;
}

/* Out of the group; its parked requests get UNKNOWN_MEMBER_ID (a new member
 * timed out while parked retries its JoinGroup, as in Kafka). A leaving
 * leader hands over to the first member left. */
static void remove_member(struct classic_group *g, struct classic_member *m, struct classic_out *o) {
  answer_parked_join(m, o, STRATA_EUNKNOWN_MEMBER, "");
  answer_parked_sync(m, o, STRATA_EUNKNOWN_MEMBER);
  size_t i = 0;
  while (i < g->nmembers && g->members[i] != m) i++;
  assert(i < g->nmembers);
  memmove(&g->members[i], &g->members[i + 1], (g->nmembers - i - 1) * sizeof *g->members);
  g->nmembers--;
  if (g->leader && !strcmp(g->leader, m->id)) {
    free(g->leader);
    g->leader = g->nmembers ? strdup(g->members[0]->id) : NULL;
  }
  member_free(m);
}

static void remove_pending(struct classic_group *g, size_t i) {
  free(g->pending[i].id);
  g->pending[i] = g->pending[--g->npending];
}

/* Every member (pending joiners aside) has a JoinGroup parked. */
static int all_joined(const struct classic_group *g) {
  if (g->npending) return 0;
  for (size_t i = 0; i < g->nmembers; i++)
    if (!g->members[i]->awaiting_join) return 0;
  return 1;
}

static int has_pending_sync(const struct classic_group *g) {
  for (size_t i = 0; i < g->nmembers; i++)
    if (g->members[i]->pending_sync) return 1;
  return 0;
}

/* ---- JoinGroup answers ---- */

/* The leader's view: every member's metadata for the chosen protocol. */
static int fill_members(const struct classic_group *g, struct classic_answer *a) {
  a->members = calloc(g->nmembers + 1, sizeof *a->members);
  if (!a->members) return STRATA_ENOMEM;
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct classic_member *m = g->members[i];
    const struct classic_protocol *p = member_protocol(m, g->protocol_name);
    struct classic_member_meta *e = &a->members[a->nmembers++];
    e->member_id = strdup(m->id);
    e->instance_id = m->instance_id ? strdup(m->instance_id) : NULL;
    e->metadata = dup_bytes(p ? p->metadata : NULL, p ? p->len : 0);
    e->len = p ? p->len : 0;
    if (!e->member_id || !e->metadata || (m->instance_id && !e->instance_id)) return STRATA_ENOMEM;
  }
  return 0;
}

/* A JoinGroup answer of the current generation for member m (`members`:
 * with every member's metadata; `leader`: the leader id to tell). */
static void join_ok(const struct classic_group *g, struct classic_out *o, void *token,
                    const struct classic_member *m, int members, int skip, const char *leader) {
  struct classic_answer *a = out_push(o, token, CLASSIC_ANSWER_JOIN, 0);
  a->member_id = strdup(m->id);
  a->generation = g->generation;
  a->protocol_type = g->protocol_type ? strdup(g->protocol_type) : NULL;
  a->protocol_name = g->protocol_name ? strdup(g->protocol_name) : NULL;
  a->leader_id = leader ? strdup(leader) : NULL;
  a->skip_assignment = skip;
  int bad = !a->member_id || (g->protocol_type && !a->protocol_type) ||
            (g->protocol_name && !a->protocol_name) || (leader && !a->leader_id);
  if (bad || (members && fill_members(g, a))) degrade(a);
}

static void sync_ok(const struct classic_group *g, struct classic_out *o, void *token,
                    const struct classic_member *m) {
  struct classic_answer *a = out_push(o, token, CLASSIC_ANSWER_SYNC, 0);
  a->protocol_type = g->protocol_type ? strdup(g->protocol_type) : NULL;
  a->protocol_name = g->protocol_name ? strdup(g->protocol_name) : NULL;
  a->assignment = dup_bytes(m->assignment, m->assignment_len);
  a->assignment_len = m->assignment_len;
  if (!a->assignment || (g->protocol_type && !a->protocol_type) ||
      (g->protocol_name && !a->protocol_name))
    degrade(a);
}

/* ---- the rebalance ---- */

static void complete_join(struct classic_group *g, int64_t now_ms, struct classic_out *o);

/* A rebalance during CompletingRebalance: the parked SyncGroups get
 * REBALANCE_IN_PROGRESS and assignments are forgotten. */
static void reset_assignments(struct classic_group *g, struct classic_out *o, int64_t now_ms) {
  for (size_t i = 0; i < g->nmembers; i++) {
    struct classic_member *m = g->members[i];
    free(m->assignment);
    m->assignment = NULL;
    m->assignment_len = 0;
    if (m->awaiting_sync) {
      answer_parked_sync(m, o, STRATA_EREBALANCE_IN_PROGRESS);
      m->deadline_ms = now_ms + m->session_ms;
    }
  }
}

/* Into PreparingRebalance. From Empty the join phase lasts the initial
 * delay (more if members keep coming, KIP-134); otherwise until every
 * member rejoined or the rebalance timeout. */
static void prepare_rebalance(struct classic_group *g, int64_t now_ms, struct classic_out *o) {
  if (g->state == CLASSIC_COMPLETING_REBALANCE) reset_assignments(g, o, now_ms);
  g->sync_deadline_ms = 0;
  int initial = g->state == CLASSIC_EMPTY;
  g->prev_state = g->state;
  g->state = CLASSIC_PREPARING_REBALANCE;
  int32_t rto = group_rebalance_ms(g);
  g->new_member_added = 0;
  if (initial && g->cfg.initial_delay_ms > 0) {
    g->initial_join = 1;
    g->join_deadline_ms = now_ms + g->cfg.initial_delay_ms;
    g->initial_remaining_ms = rto > g->cfg.initial_delay_ms ? rto - g->cfg.initial_delay_ms : 0;
    return;
  }
  g->initial_join = 0;
  if (all_joined(g)) complete_join(g, now_ms, o);
  else g->join_deadline_ms = now_ms + rto;
}

static int can_rebalance(const struct classic_group *g) {
  return g->state == CLASSIC_STABLE || g->state == CLASSIC_COMPLETING_REBALANCE ||
         g->state == CLASSIC_EMPTY;
}

/* Kafka's maybeCompleteJoinPhase: the join phase ends early once everyone
 * rejoined, except the initial one (it waits its delay out). */
static void maybe_complete_join_phase(struct classic_group *g, int64_t now_ms, struct classic_out *o) {
  if (g->state == CLASSIC_PREPARING_REBALANCE && all_joined(g) && g->prev_state != CLASSIC_EMPTY)
    complete_join(g, now_ms, o);
}

static void rebalance_or_complete(struct classic_group *g, int64_t now_ms, struct classic_out *o) {
  if (can_rebalance(g)) prepare_rebalance(g, now_ms, o);
  else maybe_complete_join_phase(g, now_ms, o);
}

/* The leader must have rejoined; if it did not, one that did leads.
 * 0: nobody rejoined. */
static int elect_joined_leader(struct classic_group *g) {
  struct classic_member *lead = find(g, g->leader);
  if (!lead) return 0;
  if (lead->awaiting_join) return 1;
  for (size_t i = 0; i < g->nmembers; i++)
    if (g->members[i]->awaiting_join) {
      char *id = strdup(g->members[i]->id);
      if (!id) return 1; /* keep the old leader rather than none */
      free(g->leader);
      g->leader = id;
      return 1;
    }
  return 0;
}

/* The join phase ends (Kafka's onCompleteJoin): dynamic members that did
 * not rejoin are out (static ones stay until their session ends), the next
 * generation begins, every parked JoinGroup is answered (the leader's with
 * everyone's metadata) and every member must SyncGroup within the
 * rebalance timeout. */
static void complete_join(struct classic_group *g, int64_t now_ms, struct classic_out *o) {
  g->join_deadline_ms = 0;
  g->initial_join = 0;
  for (size_t i = 0; i < g->nmembers;) {
    struct classic_member *m = g->members[i];
    if (!m->awaiting_join && !m->instance_id) remove_member(g, m, o);
    else i++;
  }
  if (g->state == CLASSIC_DEAD) return;
  if (!elect_joined_leader(g) && g->nmembers) {
    /* Only static members that did not rejoin: wait another rebalance
     * timeout (their sessions end meanwhile). */
    g->join_deadline_ms = now_ms + group_rebalance_ms(g);
    return;
  }
  g->generation++;
  free(g->protocol_name);
  g->protocol_name = NULL;
  for (size_t i = 0; i < g->nmembers; i++) g->members[i]->pending_sync = 0;
  g->sync_deadline_ms = 0;
  if (!g->nmembers) {
    g->state = CLASSIC_EMPTY;
    g->dirty = 1;
    return;
  }
  const char *p = select_protocol(g);
  g->protocol_name = p ? strdup(p) : NULL;
  g->state = CLASSIC_COMPLETING_REBALANCE;
  for (size_t i = 0; i < g->nmembers; i++) {
    struct classic_member *m = g->members[i];
    if (m->awaiting_join) {
      int leader = g->leader && !strcmp(g->leader, m->id);
      join_ok(g, o, m->join_token, m, leader, 0, g->leader);
      m->awaiting_join = 0;
      m->join_token = NULL;
    }
    m->deadline_ms = now_ms + m->session_ms;
    m->is_new = 0;
    m->pending_sync = 1;
  }
  g->sync_deadline_ms = now_ms + group_rebalance_ms(g);
}

/* A member left or expired (Kafka's removeMemberAndUpdateGroup). */
static void remove_and_update(struct classic_group *g, struct classic_member *m, int64_t now_ms,
                              struct classic_out *o) {
  remove_member(g, m, o);
  if (g->state == CLASSIC_STABLE || g->state == CLASSIC_COMPLETING_REBALANCE)
    rebalance_or_complete(g, now_ms, o);
  else if (g->state == CLASSIC_PREPARING_REBALANCE && all_joined(g))
    complete_join(g, now_ms, o);
}

/* ---- group ---- */

int classic_init(struct classic_group *g, const char *id, const struct classic_config *cfg,
                 const char *nonce) {
  memset(g, 0, sizeof *g);
  if (!nonempty(id) || strlen(id) > CLASSIC_ID_MAX) return STRATA_EINVALID_REQUEST;
  if (!(g->id = strdup(id))) return STRATA_ENOMEM;
  g->cfg = *cfg;
  if (!g->cfg.max_members) g->cfg.max_members = CLASSIC_MEMBERS_DEFAULT_MAX;
  snprintf(g->nonce, sizeof g->nonce, "%s", nonce ? nonce : "");
  g->state = CLASSIC_EMPTY;
  g->prev_state = CLASSIC_EMPTY;
  return 0;
}

void classic_free(struct classic_group *g) {
  for (size_t i = 0; i < g->nmembers; i++) member_free(g->members[i]);
  free(g->members);
  for (size_t i = 0; i < g->npending; i++) free(g->pending[i].id);
  free(g->pending);
  free(g->id);
  free(g->protocol_type);
  free(g->protocol_name);
  free(g->leader);
  memset(g, 0, sizeof *g);
}

void classic_shutdown(struct classic_group *g, int err, struct classic_out *out) {
  for (size_t i = 0; i < g->nmembers; i++) {
    struct classic_member *m = g->members[i];
    if ((m->awaiting_join || m->awaiting_sync) && out_reserve(out, 2)) {
      m->awaiting_join = m->awaiting_sync = 0; /* no memory even for the answer */
      continue;
    }
    answer_parked_join(m, out, err, m->id);
    answer_parked_sync(m, out, err);
  }
  g->state = CLASSIC_DEAD;
  g->join_deadline_ms = g->sync_deadline_ms = 0;
}

size_t classic_member_count(const struct classic_group *g) { return g->nmembers; }

/* A member id never given before: <client id>-<nonce>-<n>. */
static char *new_member_id(struct classic_group *g, const char *client_id) {
  char buf[CLASSIC_ID_MAX + 1];
  char client[NEW_ID_CLIENT_MAX + 1];
  snprintf(client, sizeof client, "%s", client_id ? client_id : "");
  snprintf(buf, sizeof buf, "%s%s%s-%llu", client, client[0] ? "-" : "", g->nonce,
           (unsigned long long)++g->next_member);
  return strdup(buf);
}

static int valid_id(const char *s) { return !s || strlen(s) <= CLASSIC_ID_MAX; }

static int check_join(const struct classic_join_req *r) {
  if (!valid_id(r->member_id) || !valid_id(r->instance_id) || !valid_id(r->protocol_type) ||
      r->nprotocols > CLASSIC_PROTOCOLS_MAX || (r->nprotocols && !r->protocols))
    return STRATA_EINVALID_REQUEST;
  for (size_t i = 0; i < r->nprotocols; i++)
    if (!nonempty(r->protocols[i].name) || !valid_id(r->protocols[i].name) ||
        r->protocols[i].len > CLASSIC_BYTES_MAX || (r->protocols[i].len && !r->protocols[i].metadata))
      return STRATA_EINVALID_REQUEST;
  return 0;
}

/* A new member with its JoinGroup parked (Kafka's addMemberAndRebalance).
 * Takes `id`. */
static int add_member(struct classic_group *g, int64_t now_ms, const struct classic_join_req *r,
                      char *id, void *token, struct classic_out *o) {
  struct classic_member *m = calloc(1, sizeof *m);
  struct classic_member **v = realloc(g->members, (g->nmembers + 1) * sizeof *v);
  if (v) g->members = v;
  char *type = g->nmembers ? NULL : dup_str(r->protocol_type);
  char *leader = g->leader ? NULL : strdup(id);
  if (m) {
    m->id = id;
    id = NULL;
    m->instance_id = nonempty(r->instance_id) ? strdup(r->instance_id) : NULL;
    m->client_id = dup_trunc(r->client_id, CLASSIC_ID_MAX);
    m->client_host = dup_trunc(r->client_host, CLASSIC_ID_MAX);
    m->protocols = protocols_dup(r->protocols, r->nprotocols);
    m->nprotocols = m->protocols ? r->nprotocols : 0;
  }
  if (!m || !v || (!g->nmembers && !type) || (!g->leader && !leader) || !m->client_id ||
      !m->client_host || !m->protocols || (nonempty(r->instance_id) && !m->instance_id)) {
    if (m) member_free(m);
    free(id);
    free(type);
    free(leader);
    return STRATA_ENOMEM;
  }
  m->session_ms = r->session_ms;
  m->rebalance_ms = r->rebalance_ms > 0 ? r->rebalance_ms : r->session_ms;
  m->is_new = 1;
  m->awaiting_join = 1;
  m->join_token = token;
  m->deadline_ms = now_ms + CLASSIC_NEW_MEMBER_JOIN_TIMEOUT_MS;
  if (g->state == CLASSIC_PREPARING_REBALANCE && g->prev_state == CLASSIC_EMPTY)
    g->new_member_added = 1;
  if (type) {
    free(g->protocol_type);
    g->protocol_type = type;
  }
  if (leader) g->leader = leader;
  g->members[g->nmembers++] = m;
  rebalance_or_complete(g, now_ms, o);
  return 0;
}

/* New protocols and timeouts for a known member, its JoinGroup parked (a
 * JoinGroup of it already parked is superseded: REBALANCE_IN_PROGRESS). */
static int update_member(struct classic_member *m, const struct classic_join_req *r, void *token,
                         struct classic_out *o) {
  struct classic_protocol *p = protocols_dup(r->protocols, r->nprotocols);
  if (!p) return STRATA_ENOMEM;
  protocols_free(m->protocols, m->nprotocols);
  m->protocols = p;
  m->nprotocols = r->nprotocols;
  m->session_ms = r->session_ms;
  m->rebalance_ms = r->rebalance_ms > 0 ? r->rebalance_ms : r->session_ms;
  answer_parked_join(m, o, STRATA_EREBALANCE_IN_PROGRESS, m->id);
  m->awaiting_join = 1;
  m->join_token = token;
  return 0;
}

/* Kafka's validateMember: a static instance must be its current member id. */
static int validate_member(const struct classic_group *g, const char *id, const char *inst) {
  if (nonempty(inst)) {
    const struct classic_member *s = find_instance(g, inst);
    if (!s) return STRATA_EUNKNOWN_MEMBER;
    return same_str(s->id, id) ? 0 : STRATA_EFENCED_INSTANCE_ID;
  }
  return find(g, id) ? 0 : STRATA_EUNKNOWN_MEMBER;
}

/* A static instance back with no member id (a restart): it takes over the
 * old member, its assignment and its place, under a new member id; the old
 * id is fenced. In Stable, unless the chosen protocol would change, no
 * rebalance: it is told the current generation (KIP-345). */
static int static_rejoin(struct classic_group *g, int64_t now_ms, const struct classic_join_req *r,
                         struct classic_member *m, void *token, struct classic_out *o) {
  char *id = new_member_id(g, r->client_id);
  char *old_leader = g->leader ? strdup(g->leader) : NULL;
  struct classic_protocol *p = protocols_dup(r->protocols, r->nprotocols);
  int was_leader = g->leader && !strcmp(g->leader, m->id);
  char *leader = was_leader ? (id ? strdup(id) : NULL) : NULL;
  if (!id || !p || (g->leader && !old_leader) || (was_leader && !leader)) {
    free(id);
    free(old_leader);
    free(leader);
    if (p) protocols_free(p, r->nprotocols);
    return STRATA_ENOMEM;
  }
  answer_parked_join(m, o, STRATA_EFENCED_INSTANCE_ID, m->id);
  answer_parked_sync(m, o, STRATA_EFENCED_INSTANCE_ID);
  free(m->id);
  m->id = id;
  if (was_leader) {
    free(g->leader);
    g->leader = leader;
  }
  protocols_free(m->protocols, m->nprotocols);
  m->protocols = p;
  m->nprotocols = r->nprotocols;
  m->session_ms = r->session_ms;
  m->rebalance_ms = r->rebalance_ms > 0 ? r->rebalance_ms : r->session_ms;
  m->deadline_ms = now_ms + m->session_ms;
  m->awaiting_join = 1;
  m->join_token = token;
  if (g->state == CLASSIC_STABLE) {
    const char *next = select_protocol(g);
    if (next && same_str(next, g->protocol_name)) {
      g->dirty = 1; /* the instance's member id changed */
      m->awaiting_join = 0;
      m->join_token = NULL;
      if (r->skip_assignment_ok && was_leader)
        join_ok(g, o, token, m, 1, 1, g->leader); /* v9: it leads, without assigning again */
      else /* before v9 it is told the old leader id: it acts as a follower */
        join_ok(g, o, token, m, 0, 0, old_leader);
    } else {
      prepare_rebalance(g, now_ms, o);
    }
  } else if (g->state == CLASSIC_COMPLETING_REBALANCE) {
    /* the leader may have been sent the old id: assign again */
    prepare_rebalance(g, now_ms, o);
  } else {
    maybe_complete_join_phase(g, now_ms, o);
  }
  free(old_leader);
  return 0;
}

int classic_join(struct classic_group *g, int64_t now_ms, const struct classic_join_req *r,
                 void *token, struct classic_out *o) {
  int rc = check_join(r);
  if (rc || (rc = out_reserve(o, answers_needed(g)))) return rc;
  const char *mid = r->member_id ? r->member_id : "";
  const char *inst = nonempty(r->instance_id) ? r->instance_id : NULL;
  if (g->state == CLASSIC_DEAD) {
    join_error(o, token, STRATA_ECOORDINATOR_NOT_AVAILABLE, mid);
    return 0;
  }
  if (r->session_ms < g->cfg.session_min_ms || r->session_ms > g->cfg.session_max_ms) {
    join_error(o, token, STRATA_EINVALID_SESSION_TIMEOUT, mid);
    return 0;
  }
  if (!supports(g, r->protocol_type, r->protocols, r->nprotocols)) {
    join_error(o, token, STRATA_EINCONSISTENT_GROUP_PROTOCOL, mid);
    return 0;
  }

  if (!*mid) { /* a new member, or a static one restarting */
    struct classic_member *prev = find_instance(g, inst);
    if (prev) return static_rejoin(g, now_ms, r, prev, token, o);
    if (g->nmembers + g->npending >= g->cfg.max_members) {
      join_error(o, token, STRATA_EGROUP_MAX_SIZE_REACHED, "");
      return 0;
    }
    char *id = new_member_id(g, r->client_id);
    if (!id) return STRATA_ENOMEM;
    if (!inst && r->require_known_member_id) {
      /* KIP-394: it must come back with this id, so that a client that
       * never got its answer does not leave a member behind. */
      struct classic_pending *v = realloc(g->pending, (g->npending + 1) * sizeof *v);
      if (!v) {
        free(id);
        return STRATA_ENOMEM;
      }
      g->pending = v;
      join_error(o, token, STRATA_EMEMBER_ID_REQUIRED, id);
      g->pending[g->npending++] = (struct classic_pending){id, now_ms + r->session_ms};
      return 0;
    }
    return add_member(g, now_ms, r, id, token, o);
  }

  size_t pi = find_pending(g, mid);
  if (pi < g->npending) {
    if (inst) { /* a pending member is never static (static ones skip MEMBER_ID_REQUIRED) */
      join_error(o, token, STRATA_EUNKNOWN_MEMBER, mid);
      return 0;
    }
    char *id = strdup(mid);
    if (!id) return STRATA_ENOMEM;
    remove_pending(g, pi);
    return add_member(g, now_ms, r, id, token, o);
  }
  if ((rc = validate_member(g, mid, inst))) {
    join_error(o, token, rc, mid);
    return 0;
  }
  struct classic_member *m = find(g, mid);
  int leader = g->leader && !strcmp(g->leader, mid);
  switch (g->state) {
  case CLASSIC_PREPARING_REBALANCE:
    if ((rc = update_member(m, r, token, o))) return rc;
    maybe_complete_join_phase(g, now_ms, o);
    return 0;
  case CLASSIC_COMPLETING_REBALANCE:
    if (member_matches(m, r)) { /* it lost the answer: the same again */
      join_ok(g, o, token, m, leader, 0, g->leader);
      return 0;
    }
    break;
  case CLASSIC_STABLE:
    /* a follower with nothing new is told the generation; the leader
     * rejoining forces a rebalance (topic metadata it alone watches) */
    if (!leader && member_matches(m, r)) {
      join_ok(g, o, token, m, 0, 0, g->leader);
      return 0;
    }
    break;
  default:
    join_error(o, token, STRATA_EUNKNOWN_MEMBER, mid);
    return 0;
  }
  if ((rc = update_member(m, r, token, o))) return rc;
  rebalance_or_complete(g, now_ms, o);
  return 0;
}

/* ---- SyncGroup ---- */

static void sync_received(struct classic_group *g, struct classic_member *m) {
  m->pending_sync = 0;
  if (!has_pending_sync(g)) g->sync_deadline_ms = 0;
}

int classic_sync(struct classic_group *g, int64_t now_ms, const struct classic_sync_req *r,
                 void *token, struct classic_out *o) {
  if (!valid_id(r->member_id) || !valid_id(r->instance_id) || (r->nassignments && !r->assignments))
    return STRATA_EINVALID_REQUEST;
  for (size_t i = 0; i < r->nassignments; i++)
    if (r->assignments[i].len > CLASSIC_BYTES_MAX || (r->assignments[i].len && !r->assignments[i].data))
      return STRATA_EINVALID_REQUEST;
  int rc = out_reserve(o, answers_needed(g));
  if (rc) return rc;
  if (g->state == CLASSIC_DEAD) {
    sync_error(o, token, STRATA_ECOORDINATOR_NOT_AVAILABLE);
    return 0;
  }
  if ((rc = validate_member(g, r->member_id, r->instance_id))) {
    sync_error(o, token, rc);
    return 0;
  }
  if (r->generation != g->generation) {
    sync_error(o, token, STRATA_EILLEGAL_GENERATION);
    return 0;
  }
  if ((r->protocol_type && g->protocol_type && strcmp(r->protocol_type, g->protocol_type)) ||
      (r->protocol_name && g->protocol_name && strcmp(r->protocol_name, g->protocol_name))) {
    sync_error(o, token, STRATA_EINCONSISTENT_GROUP_PROTOCOL);
    return 0;
  }
  struct classic_member *m = find(g, r->member_id);
  if (g->state == CLASSIC_PREPARING_REBALANCE) {
    sync_error(o, token, STRATA_EREBALANCE_IN_PROGRESS);
    return 0;
  }
  if (g->state == CLASSIC_STABLE) {
    sync_received(g, m);
    sync_ok(g, o, token, m);
    return 0;
  }
  assert(g->state == CLASSIC_COMPLETING_REBALANCE);
  int leader = g->leader && !strcmp(g->leader, m->id);
  if (leader) {
    /* Copy every assignment before changing anything. */
    uint8_t **copy = calloc(g->nmembers + 1, sizeof *copy);
    size_t *len = calloc(g->nmembers + 1, sizeof *len);
    int bad = !copy || !len;
    for (size_t i = 0; !bad && i < g->nmembers; i++) {
      const struct classic_assignment *a = NULL;
      for (size_t k = 0; k < r->nassignments; k++) /* the last one for a member wins */
        if (same_str(r->assignments[k].member_id, g->members[i]->id)) a = &r->assignments[k];
      copy[i] = dup_bytes(a ? a->data : NULL, a ? a->len : 0);
      len[i] = a ? a->len : 0;
      bad = !copy[i];
    }
    if (bad) {
      for (size_t i = 0; copy && i < g->nmembers; i++) free(copy[i]);
      free(copy);
      free(len);
      return STRATA_ENOMEM;
    }
    for (size_t i = 0; i < g->nmembers; i++) {
      free(g->members[i]->assignment);
      g->members[i]->assignment = copy[i];
      g->members[i]->assignment_len = len[i];
    }
    free(copy);
    free(len);
  }
  answer_parked_sync(m, o, STRATA_EREBALANCE_IN_PROGRESS); /* superseded */
  m->awaiting_sync = 1;
  m->sync_token = token;
  sync_received(g, m);
  if (!leader) return 0; /* parked until the leader's */
  g->state = CLASSIC_STABLE;
  g->dirty = 1;
  for (size_t i = 0; i < g->nmembers; i++) {
    struct classic_member *x = g->members[i];
    if (!x->awaiting_sync) continue;
    sync_ok(g, o, x->sync_token, x);
    x->awaiting_sync = 0;
    x->sync_token = NULL;
    x->deadline_ms = now_ms + x->session_ms;
  }
  return 0;
}

/* ---- Heartbeat ---- */

int classic_heartbeat(struct classic_group *g, int64_t now_ms, const struct classic_heartbeat_req *r) {
  if (g->state == CLASSIC_DEAD) return STRATA_ECOORDINATOR_NOT_AVAILABLE;
  int rc = validate_member(g, r->member_id, r->instance_id);
  if (rc) return rc;
  if (r->generation != g->generation) return STRATA_EILLEGAL_GENERATION;
  if (g->state == CLASSIC_EMPTY) return STRATA_EUNKNOWN_MEMBER;
  struct classic_member *m = find(g, r->member_id);
  m->deadline_ms = now_ms + m->session_ms;
  return g->state == CLASSIC_PREPARING_REBALANCE ? STRATA_EREBALANCE_IN_PROGRESS : 0;
}

/* ---- LeaveGroup ---- */

int classic_leave(struct classic_group *g, int64_t now_ms, const struct classic_leave_member *v,
                  size_t n, int *errors, struct classic_out *o) {
  if (g->state == CLASSIC_DEAD) return STRATA_ECOORDINATOR_NOT_AVAILABLE;
  int rc = out_reserve(o, answers_needed(g));
  if (rc) return rc;
  int left = 0;
  for (size_t i = 0; i < n; i++) {
    const char *mid = v[i].member_id ? v[i].member_id : "";
    const char *inst = nonempty(v[i].instance_id) ? v[i].instance_id : NULL;
    errors[i] = 0;
    if (!*mid) { /* an admin removing a static member by its instance id */
      struct classic_member *m = find_instance(g, inst);
      if (!m) {
        errors[i] = STRATA_EUNKNOWN_MEMBER;
        continue;
      }
      remove_member(g, m, o);
      left = 1;
      continue;
    }
    size_t pi = find_pending(g, mid);
    if (pi < g->npending) {
      remove_pending(g, pi);
      left = 1;
      continue;
    }
    if ((errors[i] = validate_member(g, mid, inst))) continue;
    remove_member(g, find(g, mid), o);
    left = 1;
  }
  if (!left) return 0;
  if (g->state == CLASSIC_STABLE || g->state == CLASSIC_COMPLETING_REBALANCE)
    rebalance_or_complete(g, now_ms, o);
  else if (g->state == CLASSIC_PREPARING_REBALANCE)
    maybe_complete_join_phase(g, now_ms, o);
  return 0;
}

/* ---- time ---- */

int classic_tick(struct classic_group *g, int64_t now_ms, struct classic_out *o) {
  if (g->state == CLASSIC_DEAD) return 0;
  int rc = out_reserve(o, answers_needed(g));
  if (rc) return rc;
  int pending_gone = 0;
  for (size_t i = 0; i < g->npending;)
    if (now_ms >= g->pending[i].deadline_ms) {
      remove_pending(g, i);
      pending_gone = 1;
    } else {
      i++;
    }
  if (pending_gone && g->state == CLASSIC_PREPARING_REBALANCE && all_joined(g))
    complete_join(g, now_ms, o);
  for (size_t i = 0; i < g->nmembers;) {
    struct classic_member *m = g->members[i];
    if (now_ms < m->deadline_ms && m->deadline_ms != 0) {
      i++;
    } else if (m->deadline_ms == 0) {
      m->deadline_ms = now_ms + m->session_ms; /* restored from a record: its session starts now */
      i++;
    } else if (!m->is_new && (m->awaiting_join || m->awaiting_sync)) {
      m->deadline_ms = now_ms + m->session_ms; /* parked in a request: alive */
      i++;
    } else {
      remove_and_update(g, m, now_ms, o);
      i = 0; /* the list changed under us */
    }
  }
  if (g->state == CLASSIC_PREPARING_REBALANCE && g->join_deadline_ms && now_ms >= g->join_deadline_ms) {
    if (g->initial_join && g->new_member_added && g->initial_remaining_ms > 0) {
      /* members are still arriving: wait one more delay (at most the rebalance timeout in all) */
      int64_t d = g->cfg.initial_delay_ms < g->initial_remaining_ms ? g->cfg.initial_delay_ms
                                                                   : g->initial_remaining_ms;
      g->new_member_added = 0;
      g->initial_remaining_ms -= d;
      g->join_deadline_ms = now_ms + d;
    } else {
      complete_join(g, now_ms, o);
    }
  }
  if ((g->state == CLASSIC_COMPLETING_REBALANCE || g->state == CLASSIC_STABLE) &&
      g->sync_deadline_ms && now_ms >= g->sync_deadline_ms) {
    g->sync_deadline_ms = 0;
    int removed = 0;
    for (size_t i = 0; i < g->nmembers;)
      if (g->members[i]->pending_sync) {
        remove_member(g, g->members[i], o);
        removed = 1;
      } else {
        i++;
      }
    if (removed) prepare_rebalance(g, now_ms, o);
  }
  return 0;
}

int64_t classic_next_deadline(const struct classic_group *g) {
  int64_t t = INT64_MAX;
  if (g->state == CLASSIC_DEAD) return t;
  for (size_t i = 0; i < g->npending; i++)
    if (g->pending[i].deadline_ms < t) t = g->pending[i].deadline_ms;
  for (size_t i = 0; i < g->nmembers; i++)
    if (g->members[i]->deadline_ms < t) t = g->members[i]->deadline_ms;
  if (g->join_deadline_ms && g->join_deadline_ms < t) t = g->join_deadline_ms;
  if (g->sync_deadline_ms && g->sync_deadline_ms < t) t = g->sync_deadline_ms;
  return t;
}

/* ---- offsets ---- */

int classic_commit_check(const struct classic_group *g, const char *member_id,
                         const char *instance_id, int32_t generation, int transactional) {
  if (g->state == CLASSIC_DEAD) return STRATA_ECOORDINATOR_NOT_AVAILABLE;
  if (generation < 0 && g->state == CLASSIC_EMPTY) return 0; /* a simple commit */
  if (generation >= 0 || nonempty(member_id) || nonempty(instance_id)) {
    int rc = validate_member(g, member_id, instance_id);
    if (rc) return rc;
    if (generation != g->generation) return STRATA_EILLEGAL_GENERATION;
  } else if (!transactional && g->state != CLASSIC_EMPTY) {
    return STRATA_EUNKNOWN_MEMBER; /* no member id: only while the group is empty */
  }
  if (!transactional && g->state == CLASSIC_COMPLETING_REBALANCE) return STRATA_EREBALANCE_IN_PROGRESS;
  return 0;
}

/* ---- describe ---- */

int classic_describe(const struct classic_group *g, struct classic_desc *d) {
  memset(d, 0, sizeof *d);
  int stable = g->state == CLASSIC_STABLE;
  d->state = classic_state_name(g->state);
  d->protocol_type = g->protocol_type ? g->protocol_type : "";
  d->protocol = stable && g->protocol_name ? g->protocol_name : "";
  d->generation = g->generation;
  d->leader = g->leader ? g->leader : "";
  d->members = calloc(g->nmembers + 1, sizeof *d->members);
  if (!d->members) return STRATA_ENOMEM;
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct classic_member *m = g->members[i];
    struct classic_member_desc *e = &d->members[d->nmembers++];
    e->member_id = m->id;
    e->instance_id = m->instance_id;
    e->client_id = m->client_id;
    e->client_host = m->client_host;
    if (stable) {
      const struct classic_protocol *p = member_protocol(m, g->protocol_name);
      if (p) {
        e->metadata = p->metadata;
        e->metadata_len = p->len;
      }
      e->assignment = m->assignment;
      e->assignment_len = m->assignment_len;
    }
  }
  return 0;
}

void classic_describe_free(struct classic_desc *d) {
  free(d->members);
  memset(d, 0, sizeof *d);
}

/* ---- persistence ---- */

/* Record layout (all integers big-endian): str = u16 length (0xFFFF: null)
 * and bytes; blob = u32 length and bytes.
 *   str protocol_type, i32 generation, str protocol (null unless Stable),
 *   str leader (null unless Stable), u32 members, then per member:
 *   str id, str instance_id, str client_id, str client_host,
 *   i32 session_ms, i32 rebalance_ms, blob metadata, blob assignment */
#define NULL_STR 0xFFFF
#define RESTORE_MEMBERS_MAX 100000

struct wbuf {
  uint8_t *p;
  size_t n, cap;
  int bad;
};

static void put(struct wbuf *w, const void *src, size_t n) {
  if (w->bad) return;
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->n + n) cap *= 2;
    uint8_t *v = realloc(w->p, cap);
    if (!v) {
      w->bad = 1;
      return;
    }
    w->p = v;
    w->cap = cap;
  }
  if (n) memcpy(w->p + w->n, src, n);
  w->n += n;
}

static void put_u32(struct wbuf *w, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  put(w, b, 4);
}

static void put_str(struct wbuf *w, const char *s) {
  size_t n = s ? strlen(s) : NULL_STR;
  uint8_t b[2] = {(uint8_t)(n >> 8), (uint8_t)n};
  put(w, b, 2);
  if (s) put(w, s, n);
}

static void put_blob(struct wbuf *w, const uint8_t *p, size_t n) {
  put_u32(w, (uint32_t)n);
  put(w, p, n);
}

int classic_encode(const struct classic_group *g, uint8_t **out, size_t *len) {
  struct wbuf w = {0};
  int stable = g->state == CLASSIC_STABLE;
  put_str(&w, g->protocol_type);
  put_u32(&w, (uint32_t)g->generation);
  put_str(&w, stable ? g->protocol_name : NULL);
  put_str(&w, stable ? g->leader : NULL);
  put_u32(&w, stable ? (uint32_t)g->nmembers : 0);
  for (size_t i = 0; stable && i < g->nmembers; i++) {
    const struct classic_member *m = g->members[i];
    const struct classic_protocol *p = member_protocol(m, g->protocol_name);
    put_str(&w, m->id);
    put_str(&w, m->instance_id);
    put_str(&w, m->client_id);
    put_str(&w, m->client_host);
    put_u32(&w, (uint32_t)m->session_ms);
    put_u32(&w, (uint32_t)m->rebalance_ms);
    put_blob(&w, p ? p->metadata : NULL, p ? p->len : 0);
    put_blob(&w, m->assignment, m->assignment_len);
  }
  if (w.bad) {
    free(w.p);
    return STRATA_ENOMEM;
  }
  *out = w.p;
  *len = w.n;
  return 0;
}

struct rbuf {
  const uint8_t *p;
  size_t n, off;
  int bad;
};

static uint32_t get_u32(struct rbuf *r) {
  if (r->bad || r->n - r->off < 4) {
    r->bad = 1;
    return 0;
  }
  const uint8_t *b = r->p + r->off;
  r->off += 4;
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A string of at most CLASSIC_ID_MAX bytes without NULs, malloc'd; NULL
 * for null (or on error, r->bad set). */
static char *get_str(struct rbuf *r) {
  if (r->bad || r->n - r->off < 2) {
    r->bad = 1;
    return NULL;
  }
  size_t n = (size_t)r->p[r->off] << 8 | r->p[r->off + 1];
  r->off += 2;
  if (n == NULL_STR) return NULL;
  if (n > CLASSIC_ID_MAX || r->n - r->off < n || memchr(r->p + r->off, 0, n)) {
    r->bad = 1;
    return NULL;
  }
  char *s = strndup((const char *)r->p + r->off, n);
  if (!s) r->bad = 1;
  r->off += n;
  return s;
}

static uint8_t *get_blob(struct rbuf *r, size_t *len) {
  uint32_t n = get_u32(r);
  if (r->bad || n > CLASSIC_BYTES_MAX || r->n - r->off < n) {
    r->bad = 1;
    return NULL;
  }
  uint8_t *v = dup_bytes(r->p + r->off, n);
  if (!v) r->bad = 1;
  r->off += n;
  *len = n;
  return v;
}

int classic_restore(struct classic_group *g, const uint8_t *p, size_t len) {
  struct rbuf r = {p, len, 0, 0};
  char *type = get_str(&r);
  int32_t gen = (int32_t)get_u32(&r);
  char *proto = get_str(&r), *leader = get_str(&r);
  uint32_t n = get_u32(&r);
  struct classic_member **v = NULL;
  size_t k = 0;
  if (!r.bad && (gen < 0 || n > RESTORE_MEMBERS_MAX || (n && (!proto || !leader)) ||
                 (!n && (proto || leader))))
    r.bad = 1;
  if (!r.bad && !(v = calloc((size_t)n + 1, sizeof *v))) r.bad = 1;
  for (; !r.bad && k < n; k++) {
    struct classic_member *m = calloc(1, sizeof *m);
    if (!m) {
      r.bad = 1;
      break;
    }
    v[k] = m;
    m->id = get_str(&r);
    m->instance_id = get_str(&r);
    m->client_id = get_str(&r);
    m->client_host = get_str(&r);
    m->session_ms = (int32_t)get_u32(&r);
    m->rebalance_ms = (int32_t)get_u32(&r);
    m->protocols = calloc(1, sizeof *m->protocols);
    size_t ml = 0;
    uint8_t *meta = get_blob(&r, &ml);
    m->assignment = get_blob(&r, &m->assignment_len);
    if (m->protocols) {
      m->nprotocols = 1;
      m->protocols[0].name = proto ? strdup(proto) : NULL;
      m->protocols[0].metadata = meta;
      m->protocols[0].len = ml;
    } else {
      free(meta);
    }
    if (!m->id || !*m->id || !m->client_id || !m->client_host || !m->protocols ||
        !m->protocols[0].name || m->session_ms <= 0 || m->rebalance_ms <= 0)
      r.bad = 1;
    for (size_t j = 0; !r.bad && j < k; j++) /* ids and instances are unique */
      if (!strcmp(v[j]->id, m->id) || (m->instance_id && v[j]->instance_id &&
                                        !strcmp(v[j]->instance_id, m->instance_id)))
        r.bad = 1;
  }
  int leader_known = 0;
  for (size_t j = 0; !r.bad && j < n; j++) leader_known |= !strcmp(v[j]->id, leader);
  if (!r.bad && (r.off != len || (n && !leader_known))) r.bad = 1;
  if (r.bad) {
    for (size_t j = 0; v && j <= k && j < n; j++)
      if (v[j]) member_free(v[j]);
    free(v);
    free(type);
    free(proto);
    free(leader);
    return STRATA_ECORRUPT;
  }
  for (size_t i = 0; i < g->nmembers; i++) member_free(g->members[i]);
  free(g->members);
  free(g->protocol_type);
  free(g->protocol_name);
  free(g->leader);
  g->members = v;
  g->nmembers = n;
  g->protocol_type = type;
  g->protocol_name = proto;
  g->leader = leader;
  g->generation = gen;
  g->state = n ? CLASSIC_STABLE : CLASSIC_EMPTY;
  g->prev_state = g->state;
  g->join_deadline_ms = g->sync_deadline_ms = 0;
  g->dirty = 0;
  return 0;
}
