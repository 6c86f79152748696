#include "coordinator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/bytes.h"
#include "common/errors.h"

/* Record keys: version byte 1, then group NUL topic NUL partition (u32 BE).
 * Values: offset (i64 BE) then the metadata bytes; null = deleted. */
#define KEY_OFFSET_V1 1
/* Group-kind records: key: version byte 2, then the group id; value: a
 * format byte, the kind (COORD_KIND_*), and for a classic group its record
 * (classic_encode: generation, members, assignments; Kafka's GroupMetadata);
 * null = forgotten (deleted group). Brokers from before these records skip
 * them (unknown key version). */
#define KEY_KIND_V1 2
#define KIND_FORMAT_KIND 0  /* value: 0, kind, protocol type (kind only) */
#define KIND_FORMAT_GROUP 1 /* value: 1, kind, classic_encode's record */

void coord_init(struct coordinator *c, const struct group_config *cfg, const char *nonce) {
  memset(c, 0, sizeof *c);
  c->cfg = *cfg;
  snprintf(c->nonce, sizeof c->nonce, "%s", nonce ? nonce : "");
  classic_out_init(&c->classic_out);
}

/* The classic part of a group goes; its parked requests are answered `err`. */
static void drop_classic(struct coordinator *c, struct cgroup *g, int err) {
  free(g->record);
  g->record = NULL;
  g->record_len = 0;
  if (!g->classic) return;
  classic_shutdown(g->classic, err, &c->classic_out);
  classic_free(g->classic);
  free(g->classic);
  g->classic = NULL;
}

static void cgroup_free(struct coordinator *c, struct cgroup *g, int err) {
  drop_classic(c, g, err);
  group_free(&g->g);
  for (size_t i = 0; i < g->noffsets; i++) {
    free(g->offsets[i].topic);
    free(g->offsets[i].metadata);
  }
  free(g->offsets);
  free(g);
}

static void pending_free(struct pending_commit *p) {
  free(p->group);
  free(p->topic);
  free(p->metadata);
}

/* Drop the pending commits of `home` (all of them when home is UINT32_MAX). */
static void pending_drop(struct coordinator *c, uint32_t home) {
  size_t k = 0;
  for (size_t i = 0; i < c->npending; i++)
    if (home == UINT32_MAX || c->pending[i].home == home) pending_free(&c->pending[i]);
    else c->pending[k++] = c->pending[i];
  c->npending = k;
}

int coord_add_pending(struct coordinator *c, uint32_t home, int64_t end, const char *group,
                      const char *topic, uint32_t partition, int64_t offset, const char *metadata) {
  if (c->npending == c->pending_cap) {
    size_t cap = c->pending_cap ? c->pending_cap * 2 : 16;
    struct pending_commit *v = realloc(c->pending, cap * sizeof *v);
    if (!v) return STRATA_ENOMEM;
    c->pending = v;
    c->pending_cap = cap;
  }
  struct pending_commit e = {home, end, strdup(group), strdup(topic), strdup(metadata ? metadata : ""),
                             partition, offset};
  if (!e.group || !e.topic || !e.metadata) {
    pending_free(&e);
    return STRATA_ENOMEM;
  }
  c->pending[c->npending++] = e;
  return 0;
}

void coord_promote(struct coordinator *c, uint32_t home, int64_t hw) {
  size_t k = 0;
  for (size_t i = 0; i < c->npending; i++) {
    struct pending_commit *e = &c->pending[i];
    if (e->home == home && e->end <= hw) {
      coord_apply_commit(c, e->group, e->topic, e->partition, e->offset, e->metadata);
      pending_free(e);
    } else {
      c->pending[k++] = *e;
    }
  }
  c->npending = k;
}

size_t coord_pending_count(const struct coordinator *c, uint32_t home) {
  size_t n = 0;
  for (size_t i = 0; i < c->npending; i++) n += c->pending[i].home == home;
  return n;
}

void coord_free(struct coordinator *c) {
  for (size_t i = 0; i < c->n; i++) cgroup_free(c, c->groups[i], STRATA_ESHUTTING_DOWN);
  classic_out_free(&c->classic_out);
  free(c->groups);
  free(c->loaded);
  free(c->compact_from);
  free(c->compact_until);
  free(c->load_end);
  for (size_t i = 0; i < c->npending; i++) pending_free(&c->pending[i]);
  free(c->pending);
  memset(c, 0, sizeof *c);
}

uint32_t coord_home(const char *group, uint32_t npart) {
  int32_t h = 0;
  for (const unsigned char *p = (const unsigned char *)group; *p; p++)
    h = (int32_t)((uint32_t)h * 31u + *p);
  uint32_t a = h == INT32_MIN ? 0 : (uint32_t)(h < 0 ? -h : h);
  return npart ? a % npart : 0;
}

struct cgroup *coord_group(struct coordinator *c, const char *id, int create, int *rc) {
  *rc = 0;
  if (!c->npart) {
    *rc = STRATA_ECOORDINATOR_NOT_AVAILABLE;
    return NULL;
  }
  uint32_t home = coord_home(id, c->npart);
  if (!c->loaded[home]) {
    *rc = STRATA_ENOT_COORDINATOR;
    return NULL;
  }
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->groups[i]->g.id, id)) return c->groups[i];
  if (!create) {
    *rc = STRATA_EUNKNOWN_GROUP;
    return NULL;
  }
  struct cgroup *g = calloc(1, sizeof *g);
  struct cgroup **v = realloc(c->groups, (c->n + 1) * sizeof *v);
  if (v) c->groups = v;
  if (!g || !v || (*rc = group_init(&g->g, id, &c->cfg, ASSIGNOR_STICKY, c->nonce))) {
    free(g);
    if (!*rc) *rc = STRATA_ENOMEM;
    return NULL;
  }
  g->home = home;
  c->groups[c->n++] = g;
  return g;
}

const struct committed *coord_committed(const struct cgroup *g, const char *topic,
                                        uint32_t partition) {
  for (size_t i = 0; i < g->noffsets; i++)
    if (g->offsets[i].partition == partition && !strcmp(g->offsets[i].topic, topic))
      return &g->offsets[i];
  return NULL;
}

int coord_encode_commit(struct batch_builder *b, const char *group, const char *topic,
                        uint32_t partition, int64_t offset, const char *metadata,
                        int64_t now_ms) {
  size_t gl = strlen(group), tl = strlen(topic), ml = metadata ? strlen(metadata) : 0;
  if (ml > OFFSETS_METADATA_MAX) return STRATA_EINVALID_REQUEST;
  uint8_t key[1 + 256 + 1 + 256 + 1 + 4], val[8 + OFFSETS_METADATA_MAX];
  if (gl > 255 || tl > 255) return STRATA_EINVALID_REQUEST;
  size_t k = 0;
  key[k++] = KEY_OFFSET_V1;
  memcpy(key + k, group, gl + 1);
  k += gl + 1;
  memcpy(key + k, topic, tl + 1);
  k += tl + 1;
  be32_store(key + k, partition);
  k += 4;
  if (offset < 0) return batch_builder_add(b, now_ms, key, k, NULL, 0, NULL, 0);
  be64_store(val, (uint64_t)offset);
  memcpy(val + 8, metadata, ml);
  return batch_builder_add(b, now_ms, key, k, val, 8 + ml, NULL, 0);
}

void coord_apply_commit(struct coordinator *c, const char *group, const char *topic,
                        uint32_t partition, int64_t offset, const char *metadata) {
  int rc;
  struct cgroup *g = coord_group(c, group, offset >= 0, &rc);
  if (!g) return;
  for (size_t i = 0; i < g->noffsets; i++) {
    struct committed *e = &g->offsets[i];
    if (e->partition != partition || strcmp(e->topic, topic)) continue;
    if (offset < 0) { /* deleted */
      free(e->topic);
      free(e->metadata);
      g->offsets[i] = g->offsets[--g->noffsets];
      return;
    }
    char *m = strdup(metadata ? metadata : "");
    if (!m) return;
    free(e->metadata);
    e->metadata = m;
    e->offset = offset;
    return;
  }
  if (offset < 0) return;
  if (g->noffsets == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 16;
    struct committed *v = realloc(g->offsets, cap * sizeof *v);
    if (!v) return;
    g->offsets = v;
    g->cap = cap;
  }
  struct committed e = {strdup(topic), partition, offset, strdup(metadata ? metadata : "")};
  if (!e.topic || !e.metadata) {
    free(e.topic);
    free(e.metadata);
    return;
  }
  g->offsets[g->noffsets++] = e;
}

static void apply_kind(struct coordinator *c, const uint8_t *key, int32_t key_len,
                       const uint8_t *value, int32_t value_len);

int coord_apply_record(struct coordinator *c, const uint8_t *key, int32_t key_len,
                       const uint8_t *value, int32_t value_len) {
  if (key && key_len >= 2 && key[0] == KEY_KIND_V1) {
    apply_kind(c, key, key_len, value, value_len);
    return 0;
  }
  if (!key || key_len < 1 + 1 + 1 + 4 || key[0] != KEY_OFFSET_V1) return 0;
  const char *group = (const char *)key + 1;
  const uint8_t *end = key + key_len;
  const uint8_t *z1 = memchr(group, 0, (size_t)(end - (const uint8_t *)group));
  if (!z1 || z1 == (const uint8_t *)group) return 0;
  const char *topic = (const char *)z1 + 1;
  const uint8_t *z2 = memchr(topic, 0, (size_t)(end - (const uint8_t *)topic));
  if (!z2 || z2 == (const uint8_t *)topic || end - (z2 + 1) != 4) return 0;
  uint32_t partition = be32_load(z2 + 1);
  if (!value) {
    coord_apply_commit(c, group, topic, partition, -1, NULL);
    return 0;
  }
  if (value_len < 8 || value_len > 8 + OFFSETS_METADATA_MAX) return 0;
  char meta[OFFSETS_METADATA_MAX + 1];
  memcpy(meta, value + 8, (size_t)value_len - 8);
  meta[value_len - 8] = 0;
  int64_t offset = (int64_t)be64_load(value);
  if (offset >= 0) coord_apply_commit(c, group, topic, partition, offset, meta);
  return 0;
}

int coord_set_partitions(struct coordinator *c, uint32_t npart) {
  if (npart == c->npart) return 0;
  uint8_t *v = calloc(npart + 1, 1);
  int64_t *from = calloc(npart + 1, sizeof *from), *until = calloc(npart + 1, sizeof *until);
  int64_t *load_end = calloc(npart + 1, sizeof *load_end);
  if (!v || !from || !until || !load_end) {
    free(v);
    free(from);
    free(until);
    free(load_end);
    return STRATA_ENOMEM;
  }
  for (uint32_t k = 0; k < c->npart && k < npart; k++) load_end[k] = c->load_end[k];
  free(c->load_end);
  c->load_end = load_end;
  pending_drop(c, UINT32_MAX); /* the partition count changed: answers start over */
  for (uint32_t k = 0; k < c->npart && k < npart; k++) v[k] = c->loaded[k];
  free(c->loaded);
  free(c->compact_from);
  free(c->compact_until);
  c->loaded = v;
  c->compact_from = from;
  c->compact_until = until;
  c->npart = npart;
  return 0;
}

void coord_mark_loaded(struct coordinator *c, uint32_t k, int64_t log_end) {
  if (k >= c->npart) return;
  c->loaded[k] = 1;
  c->load_end[k] = log_end;
}

void coord_unload(struct coordinator *c, uint32_t k) {
  if (k >= c->npart) return;
  c->loaded[k] = 0;
  c->compact_from[k] = c->compact_until[k] = 0;
  pending_drop(c, k);
  for (size_t i = 0; i < c->n;)
    if (c->groups[i]->home == k) {
      cgroup_free(c, c->groups[i], STRATA_ENOT_COORDINATOR);
      c->groups[i] = c->groups[--c->n];
    } else {
      i++;
    }
}

void coord_remove(struct coordinator *c, const char *id) {
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->groups[i]->g.id, id)) {
      cgroup_free(c, c->groups[i], STRATA_ECOORDINATOR_NOT_AVAILABLE);
      c->groups[i] = c->groups[--c->n];
      return;
    }
}

/* ---- classic groups ---- */

static int make_classic(struct coordinator *c, struct cgroup *g) {
  struct classic_config cc;
  classic_config_default(&cc);
  cc.initial_delay_ms = c->cfg.initial_delay_ms;
  cc.session_min_ms = c->cfg.session_min_ms;
  cc.session_max_ms = c->cfg.session_max_ms;
  char nonce[48];
  snprintf(nonce, sizeof nonce, "%s.%llu", c->nonce, (unsigned long long)++c->classic_seq);
  struct classic_group *cg = malloc(sizeof *cg);
  if (!cg) return STRATA_ENOMEM;
  int rc = classic_init(cg, g->g.id, &cc, nonce);
  if (rc) {
    free(cg);
    return rc;
  }
  g->classic = cg;
  return 0;
}

struct cgroup *coord_classic(struct coordinator *c, const char *id, int create, int *rc) {
  struct cgroup *g = coord_group(c, id, create, rc);
  if (!g) {
    if (*rc == STRATA_EUNKNOWN_GROUP) *rc = STRATA_EUNKNOWN_MEMBER;
    return NULL;
  }
  if (g->classic) return g;
  if (g->g.nmembers) {
    *rc = STRATA_EINCONSISTENT_GROUP_PROTOCOL;
    return NULL;
  }
  if (!create) {
    *rc = STRATA_EUNKNOWN_MEMBER;
    return NULL;
  }
  if ((*rc = make_classic(c, g))) return NULL;
  g->classic->dirty = 1; /* its kind is to be recorded */
  return g;
}

int coord_claim_native(struct coordinator *c, struct cgroup *g, int joining) {
  if (!g->classic) return 0;
  if (classic_member_count(g->classic) || g->classic->npending)
    return STRATA_EINCONSISTENT_GROUP_PROTOCOL;
  if (!joining) return 0;
  drop_classic(c, g, STRATA_ECOORDINATOR_NOT_AVAILABLE);
  g->kind_dirty = 1;
  return 0;
}

int coord_kind_dirty(const struct cgroup *g) {
  return g->kind_dirty || (g->classic && g->classic->dirty);
}

int coord_kind_record(struct cgroup *g, uint8_t *key, size_t *key_len, uint8_t **value,
                      size_t *value_len) {
  size_t gl = strlen(g->g.id);
  if (gl == 0 || gl > GROUP_ID_MAX) return STRATA_EINVALID_REQUEST;
  if (g->classic && (g->classic->dirty || !g->record)) {
    uint8_t *r;
    size_t n;
    int rc = classic_encode(g->classic, &r, &n);
    if (rc) return rc;
    free(g->record);
    g->record = r;
    g->record_len = n;
    g->classic->dirty = 0;
  }
  size_t body = g->classic ? g->record_len : 0;
  uint8_t *v = malloc(2 + body);
  if (!v) return STRATA_ENOMEM;
  v[0] = g->classic ? KIND_FORMAT_GROUP : KIND_FORMAT_KIND;
  v[1] = g->classic ? COORD_KIND_CLASSIC : COORD_KIND_NATIVE;
  if (body) memcpy(v + 2, g->record, body);
  key[0] = KEY_KIND_V1;
  memcpy(key + 1, g->g.id, gl);
  *key_len = 1 + gl;
  *value = v;
  *value_len = 2 + body;
  g->kind_dirty = 0;
  return 0;
}

int coord_encode_kind(struct batch_builder *b, struct cgroup *g, int64_t now_ms) {
  uint8_t key[COORD_KIND_KEY_MAX], *val;
  size_t kl, vl;
  int rc = coord_kind_record(g, key, &kl, &val, &vl);
  if (rc) return rc;
  rc = batch_builder_add(b, now_ms, key, kl, val, vl, NULL, 0);
  free(val);
  return rc;
}

int coord_encode_kind_delete(struct batch_builder *b, const char *group, int64_t now_ms) {
  uint8_t key[COORD_KIND_KEY_MAX];
  size_t gl = strlen(group);
  if (gl == 0 || gl > GROUP_ID_MAX) return STRATA_EINVALID_REQUEST;
  key[0] = KEY_KIND_V1;
  memcpy(key + 1, group, gl);
  return batch_builder_add(b, now_ms, key, 1 + gl, NULL, 0, NULL, 0);
}

/* A group-kind record read back (only while loading a partition): the
 * group is native, or classic as recorded (format 1: with its generation
 * and members; format 0: kind and protocol type only). Malformed records
 * are skipped. */
static void apply_kind(struct coordinator *c, const uint8_t *key, int32_t key_len,
                       const uint8_t *value, int32_t value_len) {
  char id[GROUP_ID_MAX + 1];
  if (key_len - 1 > GROUP_ID_MAX || memchr(key + 1, 0, (size_t)key_len - 1)) return;
  memcpy(id, key + 1, (size_t)key_len - 1);
  id[key_len - 1] = 0;
  if (value && (value_len < 2 || value[0] > KIND_FORMAT_GROUP)) return;
  int classic = value && value[1] == COORD_KIND_CLASSIC;
  int rc;
  struct cgroup *g = coord_group(c, id, classic, &rc);
  if (!g) return;
  if (!classic) {
    drop_classic(c, g, STRATA_ECOORDINATOR_NOT_AVAILABLE);
    return;
  }
  const uint8_t *body = value + 2;
  size_t n = (size_t)value_len - 2;
  uint8_t *copy = NULL;
  if (value[0] == KIND_FORMAT_KIND) { /* protocol type only */
    if (n > CLASSIC_ID_MAX || memchr(body, 0, n)) return;
    char type[CLASSIC_ID_MAX + 1];
    memcpy(type, body, n);
    type[n] = 0;
    struct classic_group tmp;
    struct classic_config cc;
    classic_config_default(&cc);
    if (classic_init(&tmp, id, &cc, "")) return;
    tmp.protocol_type = n ? strdup(type) : NULL;
    int e = classic_encode(&tmp, &copy, &n);
    classic_free(&tmp);
    if (e) return;
    body = copy;
  }
  /* the record replaces what an earlier one said (no member is live yet) */
  struct classic_group *old = g->classic;
  g->classic = NULL;
  if (make_classic(c, g) || classic_restore(g->classic, body, n)) {
    if (g->classic) {
      classic_free(g->classic);
      free(g->classic);
    }
    g->classic = old;
    free(copy);
    return;
  }
  if (old) {
    classic_shutdown(old, STRATA_ECOORDINATOR_NOT_AVAILABLE, &c->classic_out);
    classic_free(old);
    free(old);
  }
  uint8_t *r = copy ? copy : malloc(n ? n : 1);
  if (r && !copy) memcpy(r, body, n);
  free(g->record);
  g->record = r;
  g->record_len = r ? n : 0;
}

size_t coord_members(const struct cgroup *g) {
  return g->g.nmembers + (g->classic ? classic_member_count(g->classic) : 0);
}

int coord_classic_commit_check(const struct cgroup *g, const char *member_id,
                               const char *instance_id, int32_t generation, int transactional) {
  if (g && g->classic)
    return classic_commit_check(g->classic, member_id, instance_id, generation, transactional);
  if (g && g->g.nmembers) return STRATA_EUNKNOWN_MEMBER;
  return generation < 0 ? 0 : STRATA_EILLEGAL_GENERATION;
}

void coord_classic_tick(struct coordinator *c, int64_t now_ms) {
  for (size_t i = 0; i < c->n; i++)
    if (c->groups[i]->classic) classic_tick(c->groups[i]->classic, now_ms, &c->classic_out);
}

int64_t coord_classic_next_deadline(const struct coordinator *c) {
  int64_t t = INT64_MAX;
  for (size_t i = 0; i < c->n; i++)
    if (c->groups[i]->classic) {
      int64_t d = classic_next_deadline(c->groups[i]->classic);
      if (d < t) t = d;
    }
  return t;
}

const char *coord_state_name(const struct cgroup *cg) {
  if (cg->classic) return classic_state_name(cg->classic->state);
  const struct group *g = &cg->g;
  if (g->nmembers == 0) return "Empty";
  if (g->compute_at_ms) return "Assigning";
  return group_is_stable(g) ? "Stable" : "Reconciling";
}

const char *coord_protocol_type(const struct cgroup *cg) {
  if (cg->classic) return cg->classic->protocol_type ? cg->classic->protocol_type : "";
  return cg->g.nmembers || cg->g.epoch ? "consumer" : "";
}
