/* Users and ACLs as cluster metadata (secmeta.h). */
#include "common/secmeta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"

void secmeta_init(struct secmeta *s) { memset(s, 0, sizeof *s); }

static void entry_free(struct acl_entry *e) {
  free(e->name);
  free(e->principal);
  free(e->host);
}

void secmeta_free(struct secmeta *s) {
  for (size_t i = 0; i < s->nusers; i++) free(s->users[i].name);
  free(s->users);
  for (size_t i = 0; i < s->acls.n; i++) entry_free(&s->acls.v[i]);
  free(s->acls.v);
  memset(s, 0, sizeof *s);
}

static size_t key_len(enum scram_mech m) {
  return m == SCRAM_SHA_256 ? 32 : m == SCRAM_SHA_512 ? 64 : 0;
}

/* Binary search: the index of user, or where it would go (*found 0). */
static size_t user_pos(const struct secmeta *s, const char *user, int *found) {
  size_t lo = 0, hi = s->nusers;
  *found = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->users[mid].name, user);
    if (!c) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const struct secmeta_user *secmeta_user(const struct secmeta *s, const char *user) {
  int found;
  if (!user) return NULL;
  size_t i = user_pos(s, user, &found);
  return found ? &s->users[i] : NULL;
}

const struct scram_credential *secmeta_credential(const struct secmeta *s, const char *user,
                                                  enum scram_mech m) {
  const struct secmeta_user *u = secmeta_user(s, user);
  if (!u || (m != SCRAM_SHA_256 && m != SCRAM_SHA_512) || !u->has[m - 1]) return NULL;
  return &u->cred[m - 1];
}

const struct acl_set *secmeta_acls(const struct secmeta *s) { return &s->acls; }

int secmeta_credential_check(const Strata__ScramCredential *m, char *err, size_t err_len) {
  size_t ul = m->user ? strlen(m->user) : 0;
  size_t kl = key_len((enum scram_mech)m->mechanism);
  const char *why = NULL;
  if (ul == 0 || ul > SECMETA_USER_NAME_MAX)
    why = "a user name is 1 to 255 bytes";
  else if (!kl)
    why = "unknown SCRAM mechanism";
  else if (m->salt.len == 0 || m->salt.len > SCRAM_SALT_MAX)
    why = "a salt is 1 to 64 bytes";
  else if (m->iterations < SCRAM_ITERATIONS_MIN || m->iterations > SCRAM_ITERATIONS_MAX)
    why = "iterations must be 4096 to 16384";
  else if (m->stored_key.len != kl || m->server_key.len != kl)
    why = "StoredKey and ServerKey must be the mechanism's hash length";
  if (!why) return 0;
  if (err && err_len) snprintf(err, err_len, "%s", why);
  return STRATA_EUNACCEPTABLE_CREDENTIAL;
}

int secmeta_credential_from_msg(const Strata__ScramCredential *m, struct scram_credential *out) {
  int rc = secmeta_credential_check(m, NULL, 0);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  out->mech = (uint8_t)m->mechanism;
  out->iterations = m->iterations;
  memcpy(out->salt, m->salt.data, m->salt.len);
  out->salt_len = m->salt.len;
  memcpy(out->stored_key, m->stored_key.data, m->stored_key.len);
  memcpy(out->server_key, m->server_key.data, m->server_key.len);
  out->key_len = m->stored_key.len;
  return 0;
}

static int set_credential(struct secmeta *s, const Strata__ScramCredential *m) {
  struct scram_credential c;
  int rc = secmeta_credential_from_msg(m, &c);
  if (rc) return STRATA_ECORRUPT;
  int found;
  size_t i = user_pos(s, m->user, &found);
  if (!found) {
    if (s->nusers >= SECMETA_USERS_MAX) return STRATA_ECORRUPT;
    if (s->nusers == s->users_cap) {
      size_t cap = s->users_cap ? s->users_cap * 2 : 8;
      struct secmeta_user *v = realloc(s->users, cap * sizeof *v);
      if (!v) return STRATA_ENOMEM;
      s->users = v;
      s->users_cap = cap;
    }
    char *name = strdup(m->user);
    if (!name) return STRATA_ENOMEM;
    memmove(&s->users[i + 1], &s->users[i], (s->nusers - i) * sizeof *s->users);
    memset(&s->users[i], 0, sizeof s->users[i]);
    s->users[i].name = name;
    s->nusers++;
  }
  s->users[i].cred[c.mech - 1] = c;
  s->users[i].has[c.mech - 1] = 1;
  return 0;
}

static void remove_user(struct secmeta *s, const char *user, uint32_t mech) {
  int found;
  size_t i = user_pos(s, user ? user : "", &found);
  if (!found) return;
  struct secmeta_user *u = &s->users[i];
  if (mech == SCRAM_SHA_256 || mech == SCRAM_SHA_512) {
    u->has[mech - 1] = 0;
    memset(&u->cred[mech - 1], 0, sizeof u->cred[mech - 1]);
  } else {
    u->has[0] = u->has[1] = 0;
  }
  if (u->has[0] || u->has[1]) return;
  free(u->name);
  memmove(&s->users[i], &s->users[i + 1], (s->nusers - i - 1) * sizeof *s->users);
  s->nusers--;
}

/* ---- ACLs ---- */

static int known(uint32_t v, uint32_t lo, uint32_t hi) { return v >= lo && v <= hi; }

static int principal_ok(const char *p) {
  const char *colon = p ? strchr(p, ':') : NULL;
  return colon && colon != p && colon[1];
}

int secmeta_acl_check(const Strata__AclBinding *m, char *err, size_t err_len) {
  const char *why = NULL;
  if (!known(m->resource_type, ACL_RES_TOPIC, ACL_RES_TRANSACTIONAL_ID))
    why = "invalid resource type";
  else if (m->pattern_type != ACL_PAT_LITERAL && m->pattern_type != ACL_PAT_PREFIXED)
    why = "invalid pattern type (LITERAL or PREFIXED)";
  else if (!known(m->operation, ACL_OP_ALL, ACL_OP_IDEMPOTENT_WRITE))
    why = "invalid operation";
  else if (m->permission != ACL_PERM_ALLOW && m->permission != ACL_PERM_DENY)
    why = "invalid permission type (ALLOW or DENY)";
  else if (!m->resource_name || !*m->resource_name)
    why = "resource name should not be empty";
  else if (m->resource_type == ACL_RES_CLUSTER && strcmp(m->resource_name, ACL_CLUSTER_NAME))
    why = "the cluster resource's name is kafka-cluster";
  else if (!principal_ok(m->principal))
    why = "a principal is TYPE:NAME, e.g. User:alice";
  else if (!m->host || !*m->host)
    why = "host should not be empty (\"*\" for every host)";
  else if (strlen(m->resource_name) > SECMETA_ACL_STRING_MAX ||
           strlen(m->principal) > SECMETA_ACL_STRING_MAX || strlen(m->host) > SECMETA_ACL_STRING_MAX)
    why = "resource name, principal or host too long";
  if (!why) return 0;
  if (err && err_len) snprintf(err, err_len, "%s", why);
  return STRATA_EINVALID_REQUEST;
}

void secmeta_acl_view(const Strata__AclBinding *m, struct acl_entry *e) {
  e->resource = (uint8_t)m->resource_type;
  e->pattern = (uint8_t)m->pattern_type;
  e->op = (uint8_t)m->operation;
  e->perm = (uint8_t)m->permission;
  e->name = m->resource_name;
  e->principal = m->principal;
  e->host = m->host;
}

static char *dup_or_null(const char *s) { return strdup(s ? s : ""); }

Strata__AclBinding *secmeta_acl_msg(const struct acl_entry *e) {
  Strata__AclBinding *m = calloc(1, sizeof *m);
  if (!m) abort();
  strata__acl_binding__init(m);
  m->resource_type = e->resource;
  m->pattern_type = e->pattern;
  m->operation = e->op;
  m->permission = e->perm;
  m->resource_name = dup_or_null(e->name);
  m->principal = dup_or_null(e->principal);
  m->host = dup_or_null(e->host);
  if (!m->resource_name || !m->principal || !m->host) abort();
  return m;
}

static int streq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

int secmeta_acl_equal(const struct acl_entry *a, const struct acl_entry *b) {
  return a->resource == b->resource && a->pattern == b->pattern && a->op == b->op &&
         a->perm == b->perm && streq(a->name, b->name) && streq(a->principal, b->principal) &&
         streq(a->host, b->host);
}

static int find_acl(const struct secmeta *s, const struct acl_entry *e) {
  for (size_t i = 0; i < s->acls.n; i++)
    if (secmeta_acl_equal(&s->acls.v[i], e)) return (int)i;
  return -1;
}

static int add_acl(struct secmeta *s, const Strata__AclBinding *m) {
  if (secmeta_acl_check(m, NULL, 0)) return STRATA_ECORRUPT;
  struct acl_entry e;
  secmeta_acl_view(m, &e);
  if (find_acl(s, &e) >= 0) return 0;
  if (s->acls.n >= SECMETA_ACLS_MAX) return STRATA_ECORRUPT;
  if (s->acls.n == s->acls_cap) {
    size_t cap = s->acls_cap ? s->acls_cap * 2 : 16;
    struct acl_entry *v = realloc(s->acls.v, cap * sizeof *v);
    if (!v) return STRATA_ENOMEM;
    s->acls.v = v;
    s->acls_cap = cap;
  }
  struct acl_entry *d = &s->acls.v[s->acls.n];
  *d = e;
  d->name = strdup(e.name);
  d->principal = strdup(e.principal);
  d->host = strdup(e.host);
  if (!d->name || !d->principal || !d->host) {
    entry_free(d);
    return STRATA_ENOMEM;
  }
  s->acls.n++;
  return 0;
}

static void remove_acl(struct secmeta *s, const Strata__AclBinding *m) {
  struct acl_entry e;
  secmeta_acl_view(m, &e);
  int i = find_acl(s, &e);
  if (i < 0) return;
  entry_free(&s->acls.v[i]);
  memmove(&s->acls.v[i], &s->acls.v[i + 1], (s->acls.n - (size_t)i - 1) * sizeof *s->acls.v);
  s->acls.n--;
}

int secmeta_apply(struct secmeta *s, const Strata__MetadataRecord *r) {
  switch (r->rec_case) {
  case STRATA__METADATA_RECORD__REC_USER_SCRAM_CREDENTIAL:
    return r->user_scram_credential ? set_credential(s, r->user_scram_credential)
                                    : STRATA_ECORRUPT;
  case STRATA__METADATA_RECORD__REC_REMOVE_USER:
    if (!r->remove_user || !r->remove_user->user) return STRATA_ECORRUPT;
    remove_user(s, r->remove_user->user, r->remove_user->mechanism);
    return 0;
  case STRATA__METADATA_RECORD__REC_ACL:
    return r->acl ? add_acl(s, r->acl) : STRATA_ECORRUPT;
  case STRATA__METADATA_RECORD__REC_REMOVE_ACL:
    if (!r->remove_acl) return STRATA_ECORRUPT;
    remove_acl(s, r->remove_acl);
    return 0;
  default:
    return 1;
  }
}

/* ---- images ---- */

static void bytes_copy(ProtobufCBinaryData *d, const uint8_t *p, size_t n) {
  d->data = malloc(n ? n : 1);
  if (!d->data) abort();
  memcpy(d->data, p, n);
  d->len = n;
}

void secmeta_to_image(const struct secmeta *s, Strata__MetadataImage *img) {
  size_t n = 0;
  for (size_t i = 0; i < s->nusers; i++) n += s->users[i].has[0] + s->users[i].has[1];
  img->scram_credentials = calloc(n + 1, sizeof *img->scram_credentials);
  img->acls = calloc(s->acls.n + 1, sizeof *img->acls);
  if (!img->scram_credentials || !img->acls) abort();
  img->n_scram_credentials = 0;
  for (size_t i = 0; i < s->nusers; i++)
    for (int k = 0; k < 2; k++) {
      if (!s->users[i].has[k]) continue;
      const struct scram_credential *c = &s->users[i].cred[k];
      Strata__ScramCredential *m = calloc(1, sizeof *m);
      if (!m) abort();
      strata__scram_credential__init(m);
      m->user = strdup(s->users[i].name);
      if (!m->user) abort();
      m->mechanism = c->mech;
      m->iterations = c->iterations;
      bytes_copy(&m->salt, c->salt, c->salt_len);
      bytes_copy(&m->stored_key, c->stored_key, c->key_len);
      bytes_copy(&m->server_key, c->server_key, c->key_len);
      img->scram_credentials[img->n_scram_credentials++] = m;
    }
  img->n_acls = 0;
  for (size_t i = 0; i < s->acls.n; i++) img->acls[img->n_acls++] = secmeta_acl_msg(&s->acls.v[i]);
}

int secmeta_load_image(struct secmeta *s, const Strata__MetadataImage *img) {
  secmeta_free(s);
  int rc = 0;
  for (size_t i = 0; i < img->n_scram_credentials && !rc; i++)
    rc = set_credential(s, img->scram_credentials[i]);
  for (size_t i = 0; i < img->n_acls && !rc; i++) rc = add_acl(s, img->acls[i]);
  if (rc) secmeta_free(s);
  return rc;
}
