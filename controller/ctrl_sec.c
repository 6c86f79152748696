/* The controller's decisions on users and ACLs (ctrl.h): each checks the
 * request against the current state and emits the records that make it so;
 * the state changes only when those are persisted and applied (secmeta.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errors.h"
#include "controller/ctrl.h"

static Strata__MetadataRecord *record(void) {
  Strata__MetadataRecord *r = calloc(1, sizeof *r);
  if (!r) abort();
  strata__metadata_record__init(r);
  return r;
}

static int push(struct ctrl_out *out, Strata__MetadataRecord *r) {
  if (out->n >= CTRL_OUT_MAX) {
    strata__metadata_record__free_unpacked(r, NULL);
    return STRATA_ENOMEM;
  }
  out->recs[out->n++] = r;
  return 0;
}

static char *dup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) abort();
  return p;
}

static void bytes_dup(ProtobufCBinaryData *d, const ProtobufCBinaryData *s) {
  d->data = malloc(s->len ? s->len : 1);
  if (!d->data) abort();
  memcpy(d->data, s->data, s->len);
  d->len = s->len;
}

int ctrl_user_upsert(struct ctrl *c, const Strata__ScramCredential *m, struct ctrl_out *out,
                     char *err, size_t err_len) {
  int rc = secmeta_credential_check(m, err, err_len);
  if (rc) return rc;
  if (!secmeta_user(&c->sec, m->user) && c->sec.nusers >= SECMETA_USERS_MAX) {
    snprintf(err, err_len, "the cluster has %d users, the most it keeps", SECMETA_USERS_MAX);
    return STRATA_EINVALID_REQUEST;
  }
  Strata__MetadataRecord *r = record();
  r->rec_case = STRATA__METADATA_RECORD__REC_USER_SCRAM_CREDENTIAL;
  Strata__ScramCredential *d = calloc(1, sizeof *d);
  if (!d) abort();
  strata__scram_credential__init(d);
  d->user = dup(m->user);
  d->mechanism = m->mechanism;
  d->iterations = m->iterations;
  bytes_dup(&d->salt, &m->salt);
  bytes_dup(&d->stored_key, &m->stored_key);
  bytes_dup(&d->server_key, &m->server_key);
  r->user_scram_credential = d;
  return push(out, r);
}

int ctrl_user_delete(struct ctrl *c, const char *user, uint32_t mech, struct ctrl_out *out,
                     char *err, size_t err_len) {
  const struct secmeta_user *u = secmeta_user(&c->sec, user);
  if (mech > SCRAM_SHA_512) {
    snprintf(err, err_len, "unknown SCRAM mechanism %u", mech);
    return STRATA_EUNACCEPTABLE_CREDENTIAL;
  }
  if (!u || (mech && !u->has[mech - 1])) {
    snprintf(err, err_len, "Attempt to delete a user credential that does not exist");
    return STRATA_ERESOURCE_NOT_FOUND;
  }
  Strata__MetadataRecord *r = record();
  r->rec_case = STRATA__METADATA_RECORD__REC_REMOVE_USER;
  r->remove_user = calloc(1, sizeof *r->remove_user);
  if (!r->remove_user) abort();
  strata__scram_credential_deletion__init(r->remove_user);
  r->remove_user->user = dup(user);
  r->remove_user->mechanism = mech;
  return push(out, r);
}

int ctrl_acl_create(struct ctrl *c, const Strata__AclBinding *m, struct ctrl_out *out, char *err,
                    size_t err_len) {
  int rc = secmeta_acl_check(m, err, err_len);
  if (rc) return rc;
  struct acl_entry e;
  secmeta_acl_view(m, &e);
  for (size_t i = 0; i < c->sec.acls.n; i++)
    if (secmeta_acl_equal(&c->sec.acls.v[i], &e)) return 0; /* there already: done */
  if (c->sec.acls.n >= SECMETA_ACLS_MAX) {
    snprintf(err, err_len, "the cluster has %d ACLs, the most it keeps", SECMETA_ACLS_MAX);
    return STRATA_EINVALID_REQUEST;
  }
  Strata__MetadataRecord *r = record();
  r->rec_case = STRATA__METADATA_RECORD__REC_ACL;
  r->acl = secmeta_acl_msg(&e);
  return push(out, r);
}

int ctrl_acl_delete(struct ctrl *c, const struct acl_filter *f, struct ctrl_out *out, int *more) {
  *more = 0;
  for (size_t i = 0; i < c->sec.acls.n; i++) {
    const struct acl_entry *e = &c->sec.acls.v[i];
    if (!acl_filter_matches(f, e)) continue;
    if (out->n >= CTRL_OUT_MAX) { /* the caller commits these and asks again */
      *more = 1;
      break;
    }
    Strata__MetadataRecord *r = record();
    r->rec_case = STRATA__METADATA_RECORD__REC_REMOVE_ACL;
    r->remove_acl = secmeta_acl_msg(e);
    out->recs[out->n++] = r;
  }
  return 0;
}
