#include "ctrl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/errors.h"
#include "common/topic_id.h"
#include "common/trace.h"

void ctrl_init(struct ctrl *c, int32_t id, const struct ctrl_config *cfg) {
  memset(c, 0, sizeof *c);
  c->id = id;
  c->cfg = *cfg;
}

static void topic_free(struct ctrl_topic *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nconfigs; i++) {
    free(t->config_keys[i]);
    free(t->config_values[i]);
  }
  free(t->config_keys);
  free(t->config_values);
  free(t->parts);
  free(t->name);
  free(t);
}

void ctrl_free(struct ctrl *c) {
  for (size_t i = 0; i < c->ntopics; i++) topic_free(c->topics[i]);
  free(c->topics);
  c->topics = NULL;
  c->ntopics = c->topics_cap = 0;
  for (size_t i = 0; i < c->ndeleted; i++) free(c->deleted[i]);
  free(c->deleted);
  c->deleted = NULL;
  c->ndeleted = 0;
  secmeta_free(&c->sec);
  free(c->voters);
  c->voters = NULL;
  c->voters_len = 0;
}

/* Keep a copy of the latest VotersRecord (packed). */
static int voters_set(struct ctrl *c, const Strata__VotersRecord *v) {
  size_t len = strata__voters_record__get_packed_size(v);
  uint8_t *p = malloc(len ? len : 1);
  if (!p) return STRATA_ENOMEM;
  strata__voters_record__pack(v, p);
  free(c->voters);
  c->voters = p;
  c->voters_len = len;
  return 0;
}


void ctrl_out_reset(struct ctrl_out *o) {
  for (size_t i = 0; i < o->n; i++) strata__metadata_record__free_unpacked(o->recs[i], NULL);
  o->n = 0;
}

static void *xcalloc(size_t n, size_t s) {
  void *p = calloc(n ? n : 1, s);
  if (!p) {
    trace_error("controller out of memory");
    abort();
  }
  return p;
}

static char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) abort();
  return p;
}

/* A deleted topic's name is kept (the latest CTRL_TOMBSTONES_MAX) so
 * brokers have evidence of the delete; creating the name again clears it. */
static void tombstone_clear(struct ctrl *c, const char *name) {
  for (size_t i = 0; i < c->ndeleted; i++)
    if (!strcmp(c->deleted[i], name)) {
      free(c->deleted[i]);
      memmove(&c->deleted[i], &c->deleted[i + 1], (c->ndeleted - i - 1) * sizeof *c->deleted);
      c->ndeleted--;
      return;
    }
}

static void tombstone_add(struct ctrl *c, const char *name) {
  tombstone_clear(c, name);
  if (!c->deleted) c->deleted = xcalloc(CTRL_TOMBSTONES_MAX, sizeof *c->deleted);
  if (c->ndeleted == CTRL_TOMBSTONES_MAX) {
    free(c->deleted[0]);
    memmove(&c->deleted[0], &c->deleted[1], (c->ndeleted - 1) * sizeof *c->deleted);
    c->ndeleted--;
  }
  c->deleted[c->ndeleted++] = xstrdup(name);
}

const struct scram_credential *ctrl_scram_credential(const struct ctrl *c, const char *user,
                                                     enum scram_mech m) {
  return secmeta_credential(&c->sec, user, m);
}

const struct acl_set *ctrl_acls(const struct ctrl *c) { return secmeta_acls(&c->sec); }

const struct ctrl_broker *ctrl_broker(const struct ctrl *c, int32_t id) {
  for (size_t i = 0; i < c->nbrokers; i++)
    if (c->brokers[i].id == id) return &c->brokers[i];
  return NULL;
}

struct ctrl_topic *ctrl_topic(const struct ctrl *c, const char *name) {
  for (size_t i = 0; i < c->ntopics; i++)
    if (!strcmp(c->topics[i]->name, name)) return c->topics[i];
  return NULL;
}

struct ctrl_topic *ctrl_topic_by_id(const struct ctrl *c, const uint8_t id[16]) {
  if (topic_id_is_zero(id)) return NULL;
  for (size_t i = 0; i < c->ntopics; i++)
    if (!memcmp(c->topics[i]->id, id, 16)) return c->topics[i];
  return NULL;
}

/* A new topic id: usable by Kafka's rules and held by no topic now. Ids of
 * deleted topics are not remembered; 128 random bits do not come back. */
static int new_topic_id(const struct ctrl *c, uint8_t id[16]) {
  for (int tries = 0; tries < 100; tries++) {
    int rc = c->new_topic_id ? c->new_topic_id(c->new_topic_id_ctx, id) : topic_id_random(id);
    if (rc) return rc;
    if (topic_id_usable(id) && !ctrl_topic_by_id(c, id)) return 0;
  }
  return STRATA_EIO;
}

static int live(const struct ctrl *c, int32_t id) {
  const struct ctrl_broker *b = ctrl_broker(c, id);
  return b && !b->fenced;
}

static int contains(const int32_t *v, uint32_t n, int32_t id) {
  for (uint32_t i = 0; i < n; i++)
    if (v[i] == id) return 1;
  return 0;
}

/* Whether replica id of p can serve it: its broker is live and can open
 * the partition's log (issue 15: one that cannot is never elected). */
static int serves(const struct ctrl *c, const struct ctrl_partition *p, int32_t id) {
  return live(c, id) && !contains(p->offline, p->noffline, id);
}

/* ---- protobuf <-> structs ---- */

static Strata__BrokerState *broker_msg(const struct ctrl_broker *b) {
  Strata__BrokerState *m = xcalloc(1, sizeof *m);
  strata__broker_state__init(m);
  m->id = b->id;
  m->host = xstrdup(b->host);
  m->port = b->port;
  m->rack = xstrdup(b->rack);
  m->admin = xstrdup(b->admin);
  m->kafka = xstrdup(b->kafka);
  m->epoch = b->epoch;
  m->fenced = b->fenced;
  return m;
}

static Strata__PartitionState *partition_msg(uint32_t id, const struct ctrl_partition *p) {
  Strata__PartitionState *m = xcalloc(1, sizeof *m);
  strata__partition_state__init(m);
  m->partition = id;
  m->replicas = xcalloc(p->nreplicas, sizeof(int32_t));
  memcpy(m->replicas, p->replicas, p->nreplicas * sizeof(int32_t));
  m->n_replicas = p->nreplicas;
  m->isr = xcalloc(p->nisr, sizeof(int32_t));
  memcpy(m->isr, p->isr, p->nisr * sizeof(int32_t));
  m->n_isr = p->nisr;
  m->leader = p->leader;
  m->leader_epoch = p->leader_epoch;
  m->partition_epoch = p->partition_epoch;
  if (p->ndamaged) {
    m->damaged = xcalloc(p->ndamaged, sizeof(int32_t));
    memcpy(m->damaged, p->damaged, p->ndamaged * sizeof(int32_t));
    m->n_damaged = p->ndamaged;
  }
  if (p->noffline) {
    m->offline = xcalloc(p->noffline, sizeof(int32_t));
    memcpy(m->offline, p->offline, p->noffline * sizeof(int32_t));
    m->n_offline = p->noffline;
    m->offline_errno = xcalloc(p->noffline, sizeof(int32_t));
    memcpy(m->offline_errno, p->offline_errno, p->noffline * sizeof(int32_t));
    m->n_offline_errno = p->noffline;
  }
  return m;
}

static int partition_from(const Strata__PartitionState *m, struct ctrl_partition *p) {
  if (m->n_replicas > CTRL_REPLICAS_MAX || m->n_isr > CTRL_REPLICAS_MAX ||
      m->n_damaged > CTRL_REPLICAS_MAX || m->n_offline > CTRL_REPLICAS_MAX ||
      m->n_offline_errno != m->n_offline)
    return STRATA_ECORRUPT;
  memset(p, 0, sizeof *p);
  memcpy(p->replicas, m->replicas, m->n_replicas * sizeof(int32_t));
  p->nreplicas = (uint32_t)m->n_replicas;
  memcpy(p->isr, m->isr, m->n_isr * sizeof(int32_t));
  p->nisr = (uint32_t)m->n_isr;
  p->leader = m->leader;
  p->leader_epoch = m->leader_epoch;
  p->partition_epoch = m->partition_epoch;
  if (m->n_damaged) memcpy(p->damaged, m->damaged, m->n_damaged * sizeof(int32_t));
  p->ndamaged = (uint32_t)m->n_damaged;
  if (m->n_offline) {
    memcpy(p->offline, m->offline, m->n_offline * sizeof(int32_t));
    memcpy(p->offline_errno, m->offline_errno, m->n_offline * sizeof(int32_t));
  }
  p->noffline = (uint32_t)m->n_offline;
  return 0;
}

static Strata__TopicState *topic_msg(const struct ctrl_topic *t) {
  Strata__TopicState *m = xcalloc(1, sizeof *m);
  strata__topic_state__init(m);
  m->name = xstrdup(t->name);
  m->partitions = xcalloc(t->npart, sizeof *m->partitions);
  for (uint32_t i = 0; i < t->npart; i++) m->partitions[i] = partition_msg(i, &t->parts[i]);
  m->n_partitions = t->npart;
  m->configs = xcalloc(t->nconfigs, sizeof *m->configs);
  for (size_t i = 0; i < t->nconfigs; i++) {
    Strata__TopicState__ConfigsEntry *e = xcalloc(1, sizeof *e);
    strata__topic_state__configs_entry__init(e);
    e->key = xstrdup(t->config_keys[i]);
    e->value = xstrdup(t->config_values[i]);
    m->configs[i] = e;
  }
  m->n_configs = t->nconfigs;
  if (!topic_id_is_zero(t->id)) {
    m->topic_id.data = xcalloc(1, sizeof t->id);
    memcpy(m->topic_id.data, t->id, sizeof t->id);
    m->topic_id.len = sizeof t->id;
  }
  return m;
}

static struct ctrl_topic *topic_from(const Strata__TopicState *m) {
  if (m->n_partitions == 0 || m->n_partitions > CTRL_PARTITIONS_MAX) return NULL;
  struct ctrl_topic *t = xcalloc(1, sizeof *t);
  t->name = xstrdup(m->name);
  t->npart = (uint32_t)m->n_partitions;
  t->parts = xcalloc(t->npart, sizeof *t->parts);
  for (size_t i = 0; i < m->n_partitions; i++) {
    uint32_t id = m->partitions[i]->partition;
    if (id >= t->npart || partition_from(m->partitions[i], &t->parts[id])) {
      topic_free(t);
      return NULL;
    }
  }
  t->config_keys = xcalloc(m->n_configs, sizeof(char *));
  t->config_values = xcalloc(m->n_configs, sizeof(char *));
  for (size_t i = 0; i < m->n_configs; i++) {
    t->config_keys[i] = xstrdup(m->configs[i]->key);
    t->config_values[i] = xstrdup(m->configs[i]->value);
    if (!strcmp(m->configs[i]->key, "unclean.leader.election.enable"))
      t->unclean = !strcmp(m->configs[i]->value, "true");
  }
  t->nconfigs = m->n_configs;
  if (m->topic_id.len == sizeof t->id) memcpy(t->id, m->topic_id.data, sizeof t->id);
  else if (m->topic_id.len) {
    topic_free(t);
    return NULL;
  }
  return t;
}

static Strata__MetadataRecord *new_record(void) {
  Strata__MetadataRecord *r = xcalloc(1, sizeof *r);
  strata__metadata_record__init(r);
  return r;
}

static int emit(struct ctrl_out *out, Strata__MetadataRecord *r) {
  if (out->n >= CTRL_OUT_MAX) {
    strata__metadata_record__free_unpacked(r, NULL);
    return STRATA_ENOMEM;
  }
  out->recs[out->n++] = r;
  return 0;
}

static int emit_broker(struct ctrl_out *out, const struct ctrl_broker *b) {
  Strata__MetadataRecord *r = new_record();
  r->rec_case = STRATA__METADATA_RECORD__REC_BROKER;
  r->broker = broker_msg(b);
  return emit(out, r);
}

/* What every partition decision keeps (old: the state it changes, NULL for
 * a new topic): the ISR holds only replicas, a leader is a replica in the
 * ISR, epochs never go back, a new leader means a new leader epoch, and
 * every change has a new partition epoch (brokers and AlterIsr compare it). */
static void change_invariants(const struct ctrl_partition *old, const struct ctrl_partition *np) {
  STRATA_ASSERT(np->nreplicas <= CTRL_REPLICAS_MAX && np->nisr <= np->nreplicas);
  for (uint32_t i = 0; i < np->nisr; i++)
    STRATA_ASSERT(contains(np->replicas, np->nreplicas, np->isr[i]));
  if (np->leader >= 0) STRATA_ASSERT(contains(np->isr, np->nisr, np->leader));
  if (np->leader >= 0) STRATA_ASSERT(!contains(np->offline, np->noffline, np->leader));
  uint32_t ndmg = 0; /* damaged members: none, or all (no healthy copy in sync) */
  for (uint32_t i = 0; i < np->nisr; i++) ndmg += (uint32_t)contains(np->damaged, np->ndamaged, np->isr[i]);
  STRATA_ASSERT(ndmg == 0 || ndmg == np->nisr);
  if (!old) return;
  STRATA_ASSERT(np->nreplicas == old->nreplicas &&
                !memcmp(np->replicas, old->replicas, np->nreplicas * sizeof(int32_t)));
  STRATA_ASSERT(np->leader_epoch >= old->leader_epoch);
  if (np->leader != old->leader) STRATA_ASSERT(np->leader_epoch > old->leader_epoch);
  STRATA_ASSERT(np->partition_epoch > old->partition_epoch);
}

static int emit_partition(struct ctrl_out *out, const char *topic, uint32_t id,
                          const struct ctrl_partition *old, const struct ctrl_partition *p) {
  change_invariants(old, p);
  Strata__MetadataRecord *r = new_record();
  r->rec_case = STRATA__METADATA_RECORD__REC_PARTITION;
  r->partition = xcalloc(1, sizeof *r->partition);
  strata__partition_change_record__init(r->partition);
  r->partition->topic = xstrdup(topic);
  r->partition->state = partition_msg(id, p);
  return emit(out, r);
}

/* ---- applying records ---- */

static int topics_add(struct ctrl *c, struct ctrl_topic *t) {
  if (c->ntopics == c->topics_cap) {
    size_t cap = c->topics_cap ? c->topics_cap * 2 : 16;
    struct ctrl_topic **v = realloc(c->topics, cap * sizeof *v);
    if (!v) return STRATA_ENOMEM;
    c->topics = v;
    c->topics_cap = cap;
  }
  c->topics[c->ntopics++] = t;
  return 0;
}

int ctrl_apply(struct ctrl *c, const Strata__MetadataRecord *r) {
  int src = secmeta_apply(&c->sec, r); /* users and ACLs */
  if (src <= 0) {
    if (src == 0) c->version++;
    return src;
  }
  switch (r->rec_case) {
  case STRATA__METADATA_RECORD__REC_BROKER: {
    const Strata__BrokerState *m = r->broker;
    struct ctrl_broker *b = (struct ctrl_broker *)ctrl_broker(c, m->id);
    if (!b) {
      if (c->nbrokers >= CTRL_BROKERS_MAX) return STRATA_EINVALID_REQUEST;
      b = &c->brokers[c->nbrokers++];
      memset(b, 0, sizeof *b);
      b->id = m->id;
    }
    if (b->epoch != m->epoch) { /* a new session */
      b->last_heartbeat_ms = c->now_ms;
      b->disconnected_ms = 0;
    }
    snprintf(b->host, sizeof b->host, "%s", m->host);
    snprintf(b->rack, sizeof b->rack, "%s", m->rack);
    snprintf(b->admin, sizeof b->admin, "%s", m->admin ? m->admin : "");
    snprintf(b->kafka, sizeof b->kafka, "%s", m->kafka ? m->kafka : "");
    b->port = m->port;
    if (m->fenced && !b->fenced && b->epoch == m->epoch) c->stats.fencings++;
    b->epoch = m->epoch;
    b->fenced = m->fenced;
    if (m->epoch > c->max_broker_epoch) c->max_broker_epoch = m->epoch;
    break;
  }
  case STRATA__METADATA_RECORD__REC_TOPIC: {
    if (ctrl_topic(c, r->topic->name)) return STRATA_ETOPIC_EXISTS;
    struct ctrl_topic *t = topic_from(r->topic);
    if (!t) return STRATA_ECORRUPT;
    int rc = topics_add(c, t);
    if (rc) {
      topic_free(t);
      return rc;
    }
    tombstone_clear(c, r->topic->name);
    break;
  }
  case STRATA__METADATA_RECORD__REC_DELETE_TOPIC:
    tombstone_add(c, r->delete_topic);
    for (size_t i = 0; i < c->ntopics; i++)
      if (!strcmp(c->topics[i]->name, r->delete_topic)) {
        topic_free(c->topics[i]);
        c->topics[i] = c->topics[--c->ntopics];
        break;
      }
    break;
  case STRATA__METADATA_RECORD__REC_PARTITION: {
    struct ctrl_topic *t = ctrl_topic(c, r->partition->topic);
    const Strata__PartitionState *s = r->partition->state;
    if (!t || !s || s->partition >= t->npart) return STRATA_EUNKNOWN_TOPIC;
    struct ctrl_partition old = t->parts[s->partition];
    int rc = partition_from(s, &t->parts[s->partition]);
    if (rc) return rc;
    if (s->leader >= 0 && s->leader != old.leader) {
      c->stats.elections++;
      int in_isr = 0;
      for (uint32_t i = 0; i < old.nisr; i++) in_isr |= old.isr[i] == s->leader;
      if (!in_isr && old.nisr) c->stats.unclean_elections++;
    }
    break;
  }
  case STRATA__METADATA_RECORD__REC_PARTITIONS_ADDED: {
    const Strata__PartitionsAddedRecord *a = r->partitions_added;
    struct ctrl_topic *t = a ? ctrl_topic(c, a->topic) : NULL;
    if (!t) return STRATA_EUNKNOWN_TOPIC;
    size_t np = t->npart + a->n_partitions;
    if (a->n_partitions == 0 || np > CTRL_PARTITIONS_MAX) return STRATA_ECORRUPT;
    struct ctrl_partition *v = xcalloc(np, sizeof *v);
    for (size_t i = 0; i < a->n_partitions; i++) {
      const Strata__PartitionState *s = a->partitions[i];
      /* New partitions continue the numbering, each exactly once. */
      if (s->partition < t->npart || s->partition >= np || v[s->partition].nreplicas ||
          partition_from(s, &v[s->partition]) || v[s->partition].nreplicas == 0) {
        free(v);
        return STRATA_ECORRUPT;
      }
    }
    memcpy(v, t->parts, t->npart * sizeof *v);
    free(t->parts);
    t->parts = v;
    t->npart = (uint32_t)np;
    break;
  }
  case STRATA__METADATA_RECORD__REC_TOPIC_ID: {
    const Strata__TopicIdRecord *m = r->topic_id;
    struct ctrl_topic *t = m->topic ? ctrl_topic(c, m->topic) : NULL;
    if (!t) return STRATA_EUNKNOWN_TOPIC;
    if (m->topic_id.len != sizeof t->id) return STRATA_ECORRUPT;
    memcpy(t->id, m->topic_id.data, sizeof t->id);
    break;
  }
  case STRATA__METADATA_RECORD__REC_CLUSTER_ID:
    snprintf(c->cluster_id, sizeof c->cluster_id, "%s", r->cluster_id);
    break;
  case STRATA__METADATA_RECORD__REC_PRODUCER_IDS_NEXT:
    if (r->producer_ids_next > c->producer_ids_next) c->producer_ids_next = r->producer_ids_next;
    break;
  case STRATA__METADATA_RECORD__REC_VOTERS: { /* the quorum's (controller/quorum.h); kept for snapshots */
    int vrc = r->voters ? voters_set(c, r->voters) : STRATA_ECORRUPT;
    if (vrc) return vrc;
    break;
  }
  default:
    return STRATA_ECORRUPT;
  }
  c->version++;
  return 0;
}

/* ---- images ---- */

Strata__MetadataImage *ctrl_image(const struct ctrl *c) {
  Strata__MetadataImage *m = xcalloc(1, sizeof *m);
  strata__metadata_image__init(m);
  m->version = c->version;
  m->controller_id = c->id;
  m->cluster_id = xstrdup(c->cluster_id);
  m->producer_ids_next = c->producer_ids_next;
  m->brokers = xcalloc(c->nbrokers, sizeof *m->brokers);
  for (size_t i = 0; i < c->nbrokers; i++) m->brokers[i] = broker_msg(&c->brokers[i]);
  m->n_brokers = c->nbrokers;
  m->topics = xcalloc(c->ntopics, sizeof *m->topics);
  for (size_t i = 0; i < c->ntopics; i++) m->topics[i] = topic_msg(c->topics[i]);
  m->n_topics = c->ntopics;
  m->deleted_topics = xcalloc(c->ndeleted + 1, sizeof *m->deleted_topics);
  for (size_t i = 0; i < c->ndeleted; i++) m->deleted_topics[i] = xstrdup(c->deleted[i]);
  m->n_deleted_topics = c->ndeleted;
  secmeta_to_image(&c->sec, m);
  if (c->voters) m->voters = strata__voters_record__unpack(NULL, c->voters_len, c->voters);
  return m;
}

void ctrl_image_free(Strata__MetadataImage *img) {
  if (img) strata__metadata_image__free_unpacked(img, NULL);
}

int ctrl_load_image(struct ctrl *c, const Strata__MetadataImage *img) {
  ctrl_free(c);
  c->nbrokers = 0;
  c->max_broker_epoch = 0;
  snprintf(c->cluster_id, sizeof c->cluster_id, "%s", img->cluster_id);
  c->producer_ids_next = img->producer_ids_next;
  for (size_t i = 0; i < img->n_brokers && i < CTRL_BROKERS_MAX; i++) {
    Strata__MetadataRecord r = STRATA__METADATA_RECORD__INIT;
    r.rec_case = STRATA__METADATA_RECORD__REC_BROKER;
    r.broker = img->brokers[i];
    ctrl_apply(c, &r);
  }
  for (size_t i = 0; i < img->n_topics; i++) {
    struct ctrl_topic *t = topic_from(img->topics[i]);
    if (!t || topics_add(c, t)) {
      topic_free(t);
      return STRATA_ECORRUPT;
    }
  }
  for (size_t i = 0; i < img->n_deleted_topics; i++) tombstone_add(c, img->deleted_topics[i]);
  if (secmeta_load_image(&c->sec, img)) return STRATA_ECORRUPT;
  if (img->voters && voters_set(c, img->voters)) return STRATA_ENOMEM;
  c->version = img->version;
  return 0;
}

/* ---- decisions ---- */

/* The partition after losing broker `gone` (or -1) from service: ISR keeps
 * its live members; the leader stays if live and in sync, else the first
 * live in-sync replica in preference order takes over with a new leader
 * epoch. With nobody in sync alive the partition goes offline (leader -1)
 * keeping its last ISR, so only those replicas can lead it again, unless the
 * topic allows unclean election. Returns 1 when anything changed. */
static int reelect(const struct ctrl *c, const struct ctrl_topic *t, const struct ctrl_partition *p,
                   struct ctrl_partition *np) {
  *np = *p;
  np->nisr = 0;
  /* Damaged replicas (issue 15) count only while the ISR holds no healthy
   * one, alive or not: then they hold the only copies, and a damaged leader
   * serves up to the damage and answers it loudly; otherwise they are out
   * and the partition waits for a healthy replica rather than serve errors. */
  int healthy = 0;
  for (uint32_t i = 0; i < p->nisr; i++) healthy |= !contains(p->damaged, p->ndamaged, p->isr[i]);
  for (uint32_t i = 0; i < p->nisr; i++)
    if (serves(c, p, p->isr[i]) && (!healthy || !contains(p->damaged, p->ndamaged, p->isr[i])))
      np->isr[np->nisr++] = p->isr[i];
  int leader_ok = p->leader >= 0 && serves(c, p, p->leader) && contains(np->isr, np->nisr, p->leader);
  if (!leader_ok) {
    np->leader = -1;
    for (uint32_t i = 0; i < p->nreplicas && np->leader < 0; i++)
      if (contains(np->isr, np->nisr, p->replicas[i])) np->leader = p->replicas[i];
    if (np->leader < 0 && t->unclean) {
      for (uint32_t i = 0; i < p->nreplicas && np->leader < 0; i++)
        if (serves(c, p, p->replicas[i]) && !contains(p->damaged, p->ndamaged, p->replicas[i]))
          np->leader = p->replicas[i];
      if (np->leader >= 0) {
        trace_warn("UNCLEAN LEADER ELECTION: %s partition %ld gets leader %d, which was not in "
                   "sync; acknowledged records may be lost",
                   t->name, (long)(p - t->parts), np->leader);
        np->isr[0] = np->leader;
        np->nisr = 1;
      }
    }
    if (np->leader < 0) { /* offline: keep the last in-sync set as the only candidates
                             (one that cannot open its log leads once it can again) */
      np->nisr = 0;
      for (uint32_t i = 0; i < p->nisr; i++)
        if (!healthy || !contains(p->damaged, p->ndamaged, p->isr[i])) np->isr[np->nisr++] = p->isr[i];
    }
    if (np->leader != p->leader) np->leader_epoch = p->leader_epoch + 1;
  }
  int changed = np->leader != p->leader || np->nisr != p->nisr ||
                memcmp(np->isr, p->isr, p->nisr * sizeof(int32_t));
  if (changed) np->partition_epoch = p->partition_epoch + 1;
  return changed;
}

/* Re-run elections for every partition (after brokers changed state),
 * treating the brokers as they will be once `pending` fences apply. */
/* A partition the next elect_all would change: its leader gone (or none),
 * or a fenced broker still in its ISR. */
static int needs_reelect(const struct ctrl *c, const struct ctrl_partition *p) {
  if (p->leader < 0 || !serves(c, p, p->leader)) return 1;
  for (uint32_t i = 0; i < p->nisr; i++)
    if (!live(c, p->isr[i])) return 1;
  return 0;
}

/* Leaderships first, then ISR-only changes: one decision holds at most
 * CTRL_OUT_MAX records, and a fenced broker of a large cluster is in more
 * ISRs than that (10,000 partitions at RF 3 on 3 brokers: all of them).
 * What does not fit waits for the next tick (ctrl_tick retries while any
 * partition needs it), never the moves of leadership (issue 15). */
static void elect_all(const struct ctrl *c, struct ctrl_out *out) {
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < c->ntopics; i++) {
      const struct ctrl_topic *t = c->topics[i];
      for (uint32_t k = 0; k < t->npart; k++) {
        const struct ctrl_partition *p = &t->parts[k];
        int leaderless = p->leader < 0 || !live(c, p->leader);
        if (out->n >= CTRL_OUT_MAX || leaderless != (pass == 0)) continue;
        struct ctrl_partition np;
        if (reelect(c, t, p, &np)) emit_partition(out, t->name, k, p, &np);
      }
    }
}

int ctrl_register(struct ctrl *c, const Strata__BrokerRegisterRequest *q, int64_t now_ms,
                  struct ctrl_out *out) {
  c->now_ms = now_ms;
  if (q->broker_id < 0 || !q->host || !*q->host || q->port == 0 || q->port > 65535)
    return STRATA_EINVALID_REQUEST;
  if (!ctrl_broker(c, q->broker_id) && c->nbrokers >= CTRL_BROKERS_MAX)
    return STRATA_EINVALID_REQUEST;
  /* A broker holding another cluster's data (this controller's data.dir
   * was wiped or replaced): a session here would hand it a broker epoch
   * that the right controller, once restored, may have given it already,
   * and it would lead again in an old leader epoch after a restart. */
  if (q->cluster_id && *q->cluster_id && c->cluster_id[0] && strcmp(q->cluster_id, c->cluster_id))
    return STRATA_EINCONSISTENT_CLUSTER_ID;
  struct ctrl_broker b = {0};
  b.id = q->broker_id;
  snprintf(b.host, sizeof b.host, "%s", q->host);
  snprintf(b.rack, sizeof b.rack, "%s", q->rack ? q->rack : "");
  snprintf(b.admin, sizeof b.admin, "%s", q->admin ? q->admin : "");
  snprintf(b.kafka, sizeof b.kafka, "%s", q->kafka ? q->kafka : "");
  b.port = q->port;
  b.epoch = c->max_broker_epoch + 1;
  b.fenced = 0;
  /* A (re)registering broker is a new incarnation: its disk may have been
   * wiped or may have lost an unflushed tail, so it leaves every ISR (and any
   * leadership) and must catch up to be added back by the leader (KIP-853's
   * concern). Elections run as if it were fenced; the record then unfences
   * it. A partition whose only in-sync replica it is stays offline until the
   * next tick brings it back with this broker (clean election). */
  struct ctrl_broker *cur = (struct ctrl_broker *)ctrl_broker(c, q->broker_id);
  if (cur) {
    int was = cur->fenced;
    cur->fenced = 1;
    elect_all(c, out);
    cur->fenced = was;
  }
  return emit_broker(out, &b);
}

int ctrl_heartbeat(struct ctrl *c, int32_t broker_id, int64_t broker_epoch, int64_t now_ms,
                   struct ctrl_out *out) {
  c->now_ms = now_ms;
  struct ctrl_broker *b = (struct ctrl_broker *)ctrl_broker(c, broker_id);
  if (!b || b->epoch != broker_epoch) return STRATA_ESTALE_BROKER_EPOCH;
  b->last_heartbeat_ms = now_ms;
  b->disconnected_ms = 0;
  if (b->fenced) {
    struct ctrl_broker nb = *b;
    nb.fenced = 0;
    emit_broker(out, &nb);
    b->fenced = 0; /* elections below see it alive; the record makes it so */
    elect_all(c, out);
    b->fenced = 1;
  }
  return 0;
}

int ctrl_elect_preferred(struct ctrl *c, const char *topic, struct ctrl_out *out,
                         uint32_t *changed) {
  *changed = 0;
  for (size_t i = 0; i < c->ntopics; i++) {
    const struct ctrl_topic *t = c->topics[i];
    if (topic && *topic && strcmp(topic, t->name)) continue;
    for (uint32_t k = 0; k < t->npart; k++) {
      const struct ctrl_partition *p = &t->parts[k];
      int32_t pref = p->nreplicas ? p->replicas[0] : -1;
      if (pref < 0 || p->leader == pref || !serves(c, p, pref) || !contains(p->isr, p->nisr, pref) ||
          contains(p->damaged, p->ndamaged, pref))
        continue;
      struct ctrl_partition np = *p;
      np.leader = pref;
      np.leader_epoch = p->leader_epoch + 1;
      np.partition_epoch = p->partition_epoch + 1;
      emit_partition(out, t->name, k, p, &np);
      (*changed)++;
    }
  }
  if (topic && *topic && !ctrl_topic(c, topic)) return STRATA_EUNKNOWN_TOPIC;
  return 0;
}

void ctrl_disconnected(struct ctrl *c, int32_t broker_id, int64_t now_ms) {
  struct ctrl_broker *b = (struct ctrl_broker *)ctrl_broker(c, broker_id);
  if (b && !b->fenced) b->disconnected_ms = now_ms;
}

void ctrl_start(struct ctrl *c, int64_t now_ms) {
  c->now_ms = now_ms;
  for (size_t i = 0; i < c->nbrokers; i++) c->brokers[i].last_heartbeat_ms = now_ms;
  c->next_preferred_check_ms = now_ms + c->cfg.preferred_check_ms;
}

/* Ticks further apart than this mean the controller itself stalled (a slow
 * fsync of its log on a busy disk, a long image build, a pause). */
#define CTRL_STALL_MS 500

void ctrl_tick(struct ctrl *c, int64_t now_ms, struct ctrl_out *out) {
  c->now_ms = now_ms;
  /* Heartbeats that waited in the socket while this controller stalled are
   * not the brokers' fault: the stall is added to their session instead of
   * fencing every broker at once (issue 15 saw all three fenced together,
   * followed by thousands of ISR changes). */
  if (c->last_tick_ms > 0 && now_ms - c->last_tick_ms > CTRL_STALL_MS) {
    int64_t gap = now_ms - c->last_tick_ms;
    trace_warn("controller tick %lld ms late: brokers' sessions extended by it", (long long)gap);
    for (size_t i = 0; i < c->nbrokers; i++) {
      int64_t *hb = &c->brokers[i].last_heartbeat_ms;
      *hb = *hb + gap < now_ms ? *hb + gap : now_ms;
    }
  }
  c->last_tick_ms = now_ms;
  int fenced_any = 0;
  int saved[CTRL_BROKERS_MAX];
  for (size_t i = 0; i < c->nbrokers; i++) {
    struct ctrl_broker *b = &c->brokers[i];
    saved[i] = b->fenced;
    if (b->fenced) continue;
    int gone = c->cfg.disconnect_grace_ms > 0 && b->disconnected_ms > 0 &&
               now_ms - b->disconnected_ms >= c->cfg.disconnect_grace_ms;
    if (!gone && now_ms - b->last_heartbeat_ms <= c->cfg.session_timeout_ms) continue;
    if (gone)
      trace_warn("broker %d closed its connection and did not come back in %lld ms: fencing it",
                 b->id, (long long)c->cfg.disconnect_grace_ms);
    else
      trace_warn("broker %d missed its session timeout (%lld ms): fencing it", b->id,
                 (long long)c->cfg.session_timeout_ms);
    struct ctrl_broker nb = *b;
    nb.fenced = 1;
    emit_broker(out, &nb);
    b->fenced = 1; /* elections see it fenced; restored below, the record applies it */
    fenced_any = 1;
  }
  int offline = 0;
  for (size_t i = 0; i < c->ntopics && !offline; i++)
    for (uint32_t k = 0; k < c->topics[i]->npart && !offline; k++)
      offline = needs_reelect(c, &c->topics[i]->parts[k]);
  /* offline partitions, and what one decision had no room for, retry every tick */
  if (fenced_any || offline) elect_all(c, out);
  for (size_t i = 0; i < c->nbrokers; i++) c->brokers[i].fenced = saved[i];
  if (c->cfg.auto_preferred && now_ms >= c->next_preferred_check_ms && !fenced_any) {
    c->next_preferred_check_ms = now_ms + c->cfg.preferred_check_ms;
    uint32_t n;
    ctrl_elect_preferred(c, NULL, out, &n);
    if (n) trace_info("preferred leader election moved %u partition(s)", n);
  }
}

/* Replica placement: live brokers ordered so that consecutive ones sit in
 * different racks where possible, then partition p takes rf brokers from
 * position p: preferred leaders and replicas spread evenly. */
static size_t placement_order(const struct ctrl *c, int32_t *order) {
  const struct ctrl_broker *v[CTRL_BROKERS_MAX];
  size_t n = 0;
  for (size_t i = 0; i < c->nbrokers; i++)
    if (!c->brokers[i].fenced) v[n++] = &c->brokers[i];
  for (size_t i = 1; i < n; i++) /* by rack, then id */
    for (size_t k = i; k > 0; k--) {
      int r = strcmp(v[k - 1]->rack, v[k]->rack);
      if (r < 0 || (r == 0 && v[k - 1]->id < v[k]->id)) break;
      const struct ctrl_broker *tmp = v[k];
      v[k] = v[k - 1];
      v[k - 1] = tmp;
    }
  /* Interleave racks: take one from each rack in turn. */
  size_t used[CTRL_BROKERS_MAX] = {0}, m = 0;
  while (m < n) {
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
      if (used[i] || (last && !strcmp(last, v[i]->rack))) continue;
      used[i] = 1;
      order[m++] = v[i]->id;
      last = v[i]->rack;
    }
  }
  return n;
}

/* Partition p of a new topic, or a new partition of a grown one: rf
 * brokers from position p of the placement order, all in sync, the first
 * leading. */
static void place(const int32_t *order, size_t n, uint32_t p, uint32_t rf,
                  struct ctrl_partition *pp) {
  memset(pp, 0, sizeof *pp);
  for (uint32_t i = 0; i < rf; i++) pp->replicas[i] = order[(p + i) % n];
  pp->nreplicas = rf;
  memcpy(pp->isr, pp->replicas, rf * sizeof(int32_t));
  pp->nisr = rf;
  pp->leader = pp->replicas[0];
  change_invariants(NULL, pp);
}

/* Refuse, don't melt (issue 15): partitions [first, first + count) of rf
 * replicas, placed from `order` as place() would, must leave no broker with
 * more than max.partitions.per.broker replicas. Counted over every topic
 * now (fenced brokers too: their replicas stay theirs). Checked before a
 * creation or growth writes its record, so a refusal changes nothing; a
 * broker already over the limit (the limit was lowered) refuses only what
 * would add to it. */
static int check_broker_capacity(const struct ctrl *c, const int32_t *order, size_t n,
                                 uint32_t first, uint32_t count, uint32_t rf, char *err,
                                 size_t err_len) {
  uint64_t limit = c->cfg.max_partitions_per_broker ? c->cfg.max_partitions_per_broker
                                                    : CTRL_PARTITIONS_PER_BROKER_DEFAULT;
  uint64_t added[CTRL_BROKERS_MAX] = {0}, have[CTRL_BROKERS_MAX] = {0};
  STRATA_ASSERT(n > 0 && n <= CTRL_BROKERS_MAX && rf <= n);
  /* placement repeats every n partitions: each broker gets count / n * rf,
   * plus what the remainder adds */
  for (size_t k = 0; k < n; k++) added[k] = (uint64_t)(count / n) * rf;
  for (uint32_t p = first; p < first + count % n; p++)
    for (uint32_t i = 0; i < rf; i++) added[(p + i) % n]++;
  /* one pass over every replica (n is small: the live brokers) */
  for (size_t t = 0; t < c->ntopics; t++)
    for (uint32_t p = 0; p < c->topics[t]->npart; p++) {
      const struct ctrl_partition *pp = &c->topics[t]->parts[p];
      for (uint32_t r = 0; r < pp->nreplicas; r++)
        for (size_t k = 0; k < n; k++)
          if (pp->replicas[r] == order[k]) {
            have[k]++;
            break;
          }
    }
  for (size_t k = 0; k < n; k++) {
    if (added[k] == 0 || have[k] + added[k] <= limit) continue;
    snprintf(err, err_len,
             "refused: broker %d would host %" PRIu64 " partition replicas (%" PRIu64
             " now + %" PRIu64 "), over max.partitions.per.broker=%" PRIu64
             "; add brokers or raise the limit",
             (int)order[k], have[k] + added[k], have[k], added[k], limit);
    return STRATA_EINVALID_PARTITIONS;
  }
  return 0;
}

int ctrl_create_topic(struct ctrl *c, const Strata__TopicSpec *spec, uint32_t default_partitions,
                      struct ctrl_out *out, char *err, size_t err_len) {
  if (ctrl_topic(c, spec->name)) {
    snprintf(err, err_len, "topic '%s' already exists", spec->name);
    return STRATA_ETOPIC_EXISTS;
  }
  if (c->ntopics >= CTRL_TOPICS_MAX) return STRATA_EINVALID_REQUEST;
  uint32_t np = spec->partitions ? spec->partitions : default_partitions;
  if (np < 1 || np > CTRL_PARTITIONS_MAX) {
    snprintf(err, err_len, "partitions must be 1..%d", CTRL_PARTITIONS_MAX);
    return STRATA_EINVALID_PARTITIONS;
  }
  int32_t order[CTRL_BROKERS_MAX];
  size_t n = placement_order(c, order);
  uint32_t rf = spec->replication_factor ? spec->replication_factor : (n >= 3 ? 3 : (uint32_t)n);
  if (rf < 1 || rf > n || rf > CTRL_REPLICAS_MAX) {
    snprintf(err, err_len, "replication factor %u needs %u live brokers; %zu are live", rf, rf, n);
    return STRATA_EINVALID_REPLICATION_FACTOR;
  }
  int rc = check_broker_capacity(c, order, n, 0, np, rf, err, err_len);
  if (rc) return rc;
  struct ctrl_topic t = {0};
  rc = new_topic_id(c, t.id);
  if (rc) {
    snprintf(err, err_len, "cannot draw a topic id");
    return rc;
  }
  t.name = spec->name;
  t.npart = np;
  t.parts = xcalloc(np, sizeof *t.parts);
  for (uint32_t p = 0; p < np; p++) place(order, n, p, rf, &t.parts[p]);
  t.nconfigs = spec->n_configs;
  t.config_keys = xcalloc(t.nconfigs, sizeof(char *));
  t.config_values = xcalloc(t.nconfigs, sizeof(char *));
  for (size_t i = 0; i < t.nconfigs; i++) {
    t.config_keys[i] = spec->configs[i]->key;
    t.config_values[i] = spec->configs[i]->value;
  }
  Strata__MetadataRecord *r = new_record();
  r->rec_case = STRATA__METADATA_RECORD__REC_TOPIC;
  r->topic = topic_msg(&t);
  free(t.parts);
  free(t.config_keys);
  free(t.config_values);
  return emit(out, r);
}

int ctrl_create_partitions(struct ctrl *c, const char *name, uint32_t count, int validate_only,
                           struct ctrl_out *out, char *err, size_t err_len) {
  const struct ctrl_topic *t = ctrl_topic(c, name);
  if (!t) {
    snprintf(err, err_len, "topic '%s' does not exist", name);
    return STRATA_EUNKNOWN_TOPIC;
  }
  /* Groups find their coordinator by hashing over this topic's partition
   * count: growing it would move every group's home. */
  if (!strcmp(name, "__consumer_offsets")) {
    snprintf(err, err_len, "the partitions of internal topic '%s' cannot be changed", name);
    return STRATA_EINVALID_REQUEST;
  }
  if (count == t->npart) {
    snprintf(err, err_len, "Topic already has %u partitions.", t->npart);
    return STRATA_EINVALID_PARTITIONS;
  }
  if (count < t->npart) {
    snprintf(err, err_len,
             "Topic currently has %u partitions, which is higher than the requested %u.",
             t->npart, count);
    return STRATA_EINVALID_PARTITIONS;
  }
  if (count > CTRL_PARTITIONS_MAX) {
    snprintf(err, err_len, "partitions must be 1..%d", CTRL_PARTITIONS_MAX);
    return STRATA_EINVALID_PARTITIONS;
  }
  int32_t order[CTRL_BROKERS_MAX];
  size_t n = placement_order(c, order);
  uint32_t rf = t->parts[0].nreplicas; /* the topic's replication factor */
  if (rf < 1 || rf > n) {
    snprintf(err, err_len, "replication factor %u needs %u live brokers; %zu are live", rf, rf,
             n);
    return STRATA_EINVALID_REPLICATION_FACTOR;
  }
  int rc = check_broker_capacity(c, order, n, t->npart, count - t->npart, rf, err, err_len);
  if (rc) return rc;
  if (validate_only) return 0;
  Strata__MetadataRecord *r = new_record();
  r->rec_case = STRATA__METADATA_RECORD__REC_PARTITIONS_ADDED;
  r->partitions_added = xcalloc(1, sizeof *r->partitions_added);
  strata__partitions_added_record__init(r->partitions_added);
  r->partitions_added->topic = xstrdup(name);
  r->partitions_added->partitions = xcalloc(count - t->npart, sizeof(Strata__PartitionState *));
  for (uint32_t p = t->npart; p < count; p++) {
    struct ctrl_partition pp;
    place(order, n, p, rf, &pp);
    r->partitions_added->partitions[r->partitions_added->n_partitions++] = partition_msg(p, &pp);
  }
  return emit(out, r);
}

int ctrl_assign_missing_topic_ids(struct ctrl *c, struct ctrl_out *out) {
  uint8_t drawn[64][16]; /* ids drawn here are not applied yet: keep them apart */
  size_t ndrawn = 0;
  for (size_t i = 0; i < c->ntopics; i++) {
    if (!topic_id_is_zero(c->topics[i]->id)) continue;
    if (ndrawn == 64) break; /* the rest on the next call */
    uint8_t id[16];
    int rc, again;
    do {
      if ((rc = new_topic_id(c, id))) return rc;
      again = 0;
      for (size_t k = 0; k < ndrawn; k++) again |= !memcmp(drawn[k], id, 16);
    } while (again);
    memcpy(drawn[ndrawn++], id, 16);
    Strata__MetadataRecord *r = new_record();
    r->rec_case = STRATA__METADATA_RECORD__REC_TOPIC_ID;
    r->topic_id = xcalloc(1, sizeof *r->topic_id);
    strata__topic_id_record__init(r->topic_id);
    r->topic_id->topic = xstrdup(c->topics[i]->name);
    r->topic_id->topic_id.data = xcalloc(1, 16);
    memcpy(r->topic_id->topic_id.data, id, 16);
    r->topic_id->topic_id.len = 16;
    if ((rc = emit(out, r))) return rc;
  }
  return 0;
}

int ctrl_delete_topic(struct ctrl *c, const char *name, struct ctrl_out *out) {
  if (!ctrl_topic(c, name)) return STRATA_EUNKNOWN_TOPIC;
  Strata__MetadataRecord *r = new_record();
  r->rec_case = STRATA__METADATA_RECORD__REC_DELETE_TOPIC;
  r->delete_topic = xstrdup(name);
  return emit(out, r);
}

/* A replica found a damaged batch in its log (1), or repaired it (2). Marked
 * damaged it leaves the ISR and leadership passes to a healthy in-sync
 * replica (reelect), so it cannot be elected while its log is cut; unmarked
 * it may be added back by the leader once it caught up. Both idempotent. */
/* A replica's broker cannot open its log of the partition (offline 1, with
 * the errno it got), or opened it again (0). Marked, it leaves the ISR and
 * never leads (reelect), so the partition's other replicas go on; a
 * partition with no other copy in sync stays offline, keeping it as a
 * candidate, and gets it as leader once it reports back. Idempotent. */
static int offline_report(struct ctrl *c, struct ctrl_topic *t, uint32_t k, int32_t id,
                          int offline, int32_t err_no, struct ctrl_out *out) {
  const struct ctrl_partition *p = &t->parts[k];
  struct ctrl_partition np = *p, tmp;
  uint32_t at = 0;
  while (at < p->noffline && p->offline[at] != id) at++;
  if (offline) {
    if (at < p->noffline && p->offline_errno[at] == err_no) return 0;
    if (at == p->noffline) np.offline[np.noffline++] = id;
    np.offline_errno[at] = err_no;
    trace_warn("%s-%u: broker %d cannot open its log (errno %d): out of the ISR, not elected, "
               "until it can", t->name, k, id, (int)err_no);
  } else {
    if (at == p->noffline) return 0;
    np.offline[at] = np.offline[np.noffline - 1];
    np.offline_errno[at] = np.offline_errno[np.noffline - 1];
    np.noffline--;
    trace_info("%s-%u: broker %d opened its log again; it may rejoin the ISR", t->name, k, id);
  }
  if (reelect(c, t, &np, &tmp)) np = tmp;
  np.partition_epoch = p->partition_epoch + 1;
  return emit_partition(out, t->name, k, p, &np);
}

static int damage_report(struct ctrl *c, struct ctrl_topic *t, uint32_t k, int32_t id, int what,
                         int32_t err_no, struct ctrl_out *out, char *err, size_t err_len) {
  const struct ctrl_partition *p = &t->parts[k];
  if (!contains(p->replicas, p->nreplicas, id)) {
    snprintf(err, err_len, "broker %d is not a replica of %s-%u", id, t->name, k);
    return STRATA_EINVALID_REQUEST;
  }
  int marked = contains(p->damaged, p->ndamaged, id);
  struct ctrl_partition np = *p, tmp;
  if (what == 1) {
    if (marked) return 0;
    np.damaged[np.ndamaged++] = id;
    reelect(c, t, &np, &tmp);
    np = tmp;
    np.partition_epoch = p->partition_epoch + 1;
    if (np.leader == id)
      trace_error("%s-%u: leader %d reports a DAMAGED log and no healthy in-sync replica can "
                  "take over: it keeps leading and its reads fail at the damage", t->name, k, id);
    else
      trace_warn("%s-%u: replica %d reports a damaged log: out of the ISR until repaired "
                 "(leader %d, epoch %d)", t->name, k, id, np.leader, np.leader_epoch);
  } else if (what == 2) {
    if (!marked) return 0;
    np.ndamaged = 0;
    for (uint32_t i = 0; i < p->ndamaged; i++)
      if (p->damaged[i] != id) np.damaged[np.ndamaged++] = p->damaged[i];
    np.partition_epoch = p->partition_epoch + 1;
    trace_info("%s-%u: replica %d repaired its log; it may rejoin the ISR", t->name, k, id);
  } else if (what == 3 || what == 4) {
    return offline_report(c, t, k, id, what == 3, err_no, out);
  } else {
    return STRATA_EINVALID_REQUEST;
  }
  return emit_partition(out, t->name, k, p, &np);
}

int ctrl_alter_isr(struct ctrl *c, const Strata__AlterIsrRequest *q, struct ctrl_out *out,
                   char *err, size_t err_len) {
  const struct ctrl_broker *b = ctrl_broker(c, q->broker_id);
  if (!b || b->epoch != q->broker_epoch || b->fenced) {
    snprintf(err, err_len, "broker %d epoch %lld is not current", q->broker_id,
             (long long)q->broker_epoch);
    return STRATA_ESTALE_BROKER_EPOCH;
  }
  struct ctrl_topic *t = ctrl_topic(c, q->topic);
  if (!t || q->partition >= t->npart) return STRATA_EUNKNOWN_TOPIC;
  if (q->damage_report)
    return damage_report(c, t, q->partition, q->broker_id, q->damage_report, q->offline_errno, out,
                         err, err_len);
  const struct ctrl_partition *p = &t->parts[q->partition];
  if (p->leader != q->broker_id) {
    snprintf(err, err_len, "broker %d does not lead %s-%u (leader %d)", q->broker_id, q->topic,
             q->partition, p->leader);
    return STRATA_ENOT_LEADER;
  }
  if (q->leader_epoch != p->leader_epoch || q->partition_epoch != p->partition_epoch) {
    snprintf(err, err_len, "stale epochs for %s-%u: leader %d/%d, partition %d/%d", q->topic,
             q->partition, q->leader_epoch, p->leader_epoch, q->partition_epoch,
             p->partition_epoch);
    return STRATA_EFENCED_LEADER_EPOCH;
  }
  if (q->n_isr == 0 || q->n_isr > p->nreplicas || !contains(q->isr, (uint32_t)q->n_isr, p->leader)) {
    snprintf(err, err_len, "an ISR must hold the leader and only replicas");
    return STRATA_EINVALID_REQUEST;
  }
  struct ctrl_partition np = *p;
  np.nisr = 0;
  for (size_t i = 0; i < q->n_isr; i++) {
    int32_t id = q->isr[i];
    if (!contains(p->replicas, p->nreplicas, id) || contains(np.isr, np.nisr, id)) {
      snprintf(err, err_len, "broker %d is not a replica of %s-%u", id, q->topic, q->partition);
      return STRATA_EINVALID_REQUEST;
    }
    if (!contains(p->isr, p->nisr, id) && !live(c, id)) {
      snprintf(err, err_len, "fenced broker %d cannot join the ISR", id);
      return STRATA_EINVALID_REQUEST;
    }
    if (!contains(p->isr, p->nisr, id) && contains(p->offline, p->noffline, id)) {
      snprintf(err, err_len, "broker %d cannot open its log of %s-%u and cannot join the ISR "
               "until it reports it open", id, q->topic, q->partition);
      return STRATA_EINVALID_REQUEST;
    }
    if (!contains(p->isr, p->nisr, id) && contains(p->damaged, p->ndamaged, id)) {
      snprintf(err, err_len, "broker %d reported a damaged log for %s-%u and cannot join the "
               "ISR until it reports it repaired", id, q->topic, q->partition);
      return STRATA_EINVALID_REQUEST;
    }
    if (!contains(p->isr, p->nisr, id) && q->n_isr_epochs == q->n_isr &&
        q->isr_epochs[i] != ctrl_broker(c, id)->epoch) {
      snprintf(err, err_len, "broker %d joins the ISR on fetches from broker epoch %lld, but is "
               "at epoch %lld now (it restarted)", id, (long long)q->isr_epochs[i],
               (long long)ctrl_broker(c, id)->epoch);
      return STRATA_ESTALE_BROKER_EPOCH;
    }
    np.isr[np.nisr++] = id;
  }
  np.partition_epoch = p->partition_epoch + 1;
  return emit_partition(out, t->name, q->partition, p, &np);
}

int ctrl_alloc_producer_id(struct ctrl *c, struct ctrl_out *out, int64_t *id) {
  return ctrl_alloc_producer_ids(c, out, 1, id);
}

int ctrl_alloc_producer_ids(struct ctrl *c, struct ctrl_out *out, uint32_t count, int64_t *first) {
  if (count == 0) count = 1;
  if (count > 100000) return STRATA_EINVALID_REQUEST;
  if (out->n >= CTRL_OUT_MAX) return STRATA_ENOMEM;
  Strata__MetadataRecord *r = xcalloc(1, sizeof *r);
  strata__metadata_record__init(r);
  r->rec_case = STRATA__METADATA_RECORD__REC_PRODUCER_IDS_NEXT;
  *first = c->producer_ids_next;
  r->producer_ids_next = *first + count;
  out->recs[out->n++] = r;
  return 0;
}
