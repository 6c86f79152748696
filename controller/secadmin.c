/* The controller's user and ACL requests (secadmin.h): CreateAcls,
 * DescribeAcls, DeleteAcls, DescribeUserScramCredentials and
 * AlterUserScramCredentials, relayed by brokers. Each change is persisted in
 * the metadata log before it is answered; the answer carries the metadata
 * version that holds it, so the relaying broker can wait for its image to
 * catch up (read-your-writes). No secret is ever put in an answer. */
#include "controller/secadmin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"
#include "common/acl_filter.h"
#include "common/errors.h"
#include "common/trace.h"

static void *aalloc(struct arena *a, size_t n) {
  void *p = arena_alloc(a, n ? n : 1);
  if (!p) abort();
  return p;
}

static const char *msg_of(struct arena *a, int rc, const char *err) {
  return arena_strdup(a, rc ? (err && *err ? err : strata_strerror(rc)) : "");
}

/* An ACL as an answer's binding, in the arena. */
static Strata__AclBinding *binding(struct arena *a, const struct acl_entry *e) {
  Strata__AclBinding *m = aalloc(a, sizeof *m);
  strata__acl_binding__init(m);
  m->resource_type = e->resource;
  m->pattern_type = e->pattern;
  m->operation = e->op;
  m->permission = e->perm;
  m->resource_name = arena_strdup(a, e->name);
  m->principal = arena_strdup(a, e->principal);
  m->host = arena_strdup(a, e->host);
  return m;
}

static void create_acls(struct controller *ctl, const Strata__CreateAclsRequest *q,
                        Strata__Header *resp, struct arena *a) {
  Strata__CreateAclsResponse *m = aalloc(a, sizeof *m);
  strata__create_acls_response__init(m);
  m->results = aalloc(a, (q->n_acls + 1) * sizeof *m->results);
  for (size_t i = 0; i < q->n_acls; i++) {
    struct ctrl_out out = {0};
    char err[256] = "";
    int rc = ctrl_acl_create(&ctl->c, q->acls[i], &out, err, sizeof err);
    if (!rc) rc = metalog_commit(&ctl->log, &ctl->c, &out);
    ctrl_out_reset(&out);
    if (!rc)
      trace_info("ACL added: %s %s %s on %s:%s from %s", q->acls[i]->principal,
                 q->acls[i]->permission == ACL_PERM_DENY ? "denied" : "allowed",
                 acl_op_name((int)q->acls[i]->operation), acl_resource_name((int)q->acls[i]->resource_type),
                 q->acls[i]->resource_name, q->acls[i]->host);
    Strata__AclResult *r = aalloc(a, sizeof *r);
    strata__acl_result__init(r);
    r->error_code = (uint32_t)-rc;
    r->error_message = (char *)msg_of(a, rc, err);
    m->results[m->n_results++] = r;
  }
  m->metadata_version = ctl->c.version;
  resp->body_case = STRATA__HEADER__BODY_CREATE_ACLS_RESP;
  resp->create_acls_resp = m;
}

static void describe_acls(struct controller *ctl, const Strata__DescribeAclsRequest *q,
                          Strata__Header *resp, struct arena *a) {
  struct acl_filter f;
  int rc = acl_filter_from_msg(q->filter, &f);
  if (rc) {
    resp->error_code = (uint32_t)-rc;
    resp->error_message = arena_strdup(a, "the filter has a code Kafka does not define");
    return;
  }
  const struct acl_set *s = ctrl_acls(&ctl->c);
  Strata__DescribeAclsResponse *m = aalloc(a, sizeof *m);
  strata__describe_acls_response__init(m);
  m->acls = aalloc(a, (s->n + 1) * sizeof *m->acls);
  for (size_t i = 0; i < s->n; i++)
    if (acl_filter_matches(&f, &s->v[i])) m->acls[m->n_acls++] = binding(a, &s->v[i]);
  resp->body_case = STRATA__HEADER__BODY_DESCRIBE_ACLS_RESP;
  resp->describe_acls_resp = m;
}

static void delete_acls(struct controller *ctl, const Strata__DeleteAclsRequest *q,
                        Strata__Header *resp, struct arena *a) {
  Strata__DeleteAclsResponse *m = aalloc(a, sizeof *m);
  strata__delete_acls_response__init(m);
  m->results = aalloc(a, (q->n_filters + 1) * sizeof *m->results);
  for (size_t i = 0; i < q->n_filters; i++) {
    Strata__DeleteAclsFilterResult *r = aalloc(a, sizeof *r);
    strata__delete_acls_filter_result__init(r);
    m->results[m->n_results++] = r;
    struct acl_filter f;
    int rc = acl_filter_from_msg(q->filters[i], &f);
    if (rc) {
      r->error_code = (uint32_t)-rc;
      r->error_message = arena_strdup(a, "the filter has a code Kafka does not define");
      continue;
    }
    /* What it matches now is what it removes: listed before the records go. */
    const struct acl_set *s = ctrl_acls(&ctl->c);
    r->matched = aalloc(a, (s->n + 1) * sizeof *r->matched);
    for (size_t k = 0; k < s->n; k++)
      if (acl_filter_matches(&f, &s->v[k])) r->matched[r->n_matched++] = binding(a, &s->v[k]);
    int more = 1;
    while (!rc && more) {
      struct ctrl_out out = {0};
      rc = ctrl_acl_delete(&ctl->c, &f, &out, &more);
      if (!rc) rc = metalog_commit(&ctl->log, &ctl->c, &out);
      ctrl_out_reset(&out);
    }
    if (rc) {
      r->error_code = (uint32_t)-rc;
      r->error_message = (char *)msg_of(a, rc, NULL);
      r->n_matched = 0;
    } else if (r->n_matched) {
      trace_info("%zu ACL(s) removed", r->n_matched);
    }
  }
  m->metadata_version = ctl->c.version;
  resp->body_case = STRATA__HEADER__BODY_DELETE_ACLS_RESP;
  resp->delete_acls_resp = m;
}

static Strata__UserResult *user_result(struct arena *a, const char *user, int rc,
                                       const char *err) {
  Strata__UserResult *r = aalloc(a, sizeof *r);
  strata__user_result__init(r);
  r->user = arena_strdup(a, user ? user : "");
  r->error_code = (uint32_t)-rc;
  r->error_message = (char *)msg_of(a, rc, err);
  return r;
}

/* (user, mechanism) named more than once in the request: Kafka refuses
 * every such alteration with DUPLICATE_RESOURCE. Mechanism 0 (the whole
 * user) collides with any of the user's. */
static int duplicated(const Strata__AlterUserScramCredentialsRequest *q, const char *user,
                      uint32_t mech) {
  int n = 0;
  for (size_t i = 0; i < q->n_deletions; i++)
    n += !strcmp(q->deletions[i]->user ? q->deletions[i]->user : "", user) &&
         (!mech || !q->deletions[i]->mechanism || q->deletions[i]->mechanism == mech);
  for (size_t i = 0; i < q->n_upsertions; i++)
    n += !strcmp(q->upsertions[i]->user ? q->upsertions[i]->user : "", user) &&
         (!mech || q->upsertions[i]->mechanism == mech);
  return n > 1;
}

/* One deletion (upsert NULL) or upsertion of an AlterUserScramCredentials
 * request: refused when the request names the same (user, mechanism) twice,
 * else decided and committed on its own, as Kafka answers each apart. */
static int alter_one(struct controller *ctl, const Strata__AlterUserScramCredentialsRequest *q,
                     const char *user, uint32_t mech, const Strata__ScramCredential *upsert,
                     char *err, size_t err_len) {
  if (duplicated(q, user, mech)) {
    snprintf(err, err_len, "A user credential cannot be altered twice in the same request");
    return STRATA_EDUPLICATE_RESOURCE;
  }
  struct ctrl_out out = {0};
  int rc = upsert ? ctrl_user_upsert(&ctl->c, upsert, &out, err, err_len)
                  : ctrl_user_delete(&ctl->c, user, mech, &out, err, err_len);
  if (!rc) rc = metalog_commit(&ctl->log, &ctl->c, &out);
  ctrl_out_reset(&out);
  return rc;
}

static void alter_scram(struct controller *ctl, const Strata__AlterUserScramCredentialsRequest *q,
                        Strata__Header *resp, struct arena *a) {
  Strata__AlterUserScramCredentialsResponse *m = aalloc(a, sizeof *m);
  strata__alter_user_scram_credentials_response__init(m);
  m->results = aalloc(a, (q->n_deletions + q->n_upsertions + 1) * sizeof *m->results);
  for (size_t i = 0; i < q->n_deletions; i++) {
    const Strata__ScramCredentialDeletion *d = q->deletions[i];
    const char *user = d->user ? d->user : "";
    char err[256] = "";
    int rc = alter_one(ctl, q, user, d->mechanism, NULL, err, sizeof err);
    if (!rc) trace_info("user %s: credential(s) removed", user);
    m->results[m->n_results++] = user_result(a, user, rc, err);
  }
  for (size_t i = 0; i < q->n_upsertions; i++) {
    const Strata__ScramCredential *u = q->upsertions[i];
    const char *user = u->user ? u->user : "";
    char err[256] = "";
    int rc = alter_one(ctl, q, user, u->mechanism, u, err, sizeof err);
    if (!rc) trace_info("user %s: %s credential set", user, u->mechanism == SCRAM_SHA_512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256");
    m->results[m->n_results++] = user_result(a, user, rc, err);
  }
  m->metadata_version = ctl->c.version;
  resp->body_case = STRATA__HEADER__BODY_ALTER_SCRAM_RESP;
  resp->alter_scram_resp = m;
}

static Strata__UserDescription *describe_user(struct arena *a, const struct secmeta_user *u,
                                              const char *name) {
  Strata__UserDescription *d = aalloc(a, sizeof *d);
  strata__user_description__init(d);
  d->user = arena_strdup(a, name);
  if (!u) {
    d->error_code = (uint32_t)-STRATA_ERESOURCE_NOT_FOUND;
    d->error_message = arena_strdup(a, "Attempt to describe a user credential that does not exist");
    return d;
  }
  d->credentials = aalloc(a, 2 * sizeof *d->credentials);
  for (int k = 0; k < 2; k++) {
    if (!u->has[k]) continue;
    Strata__ScramCredentialInfo *ci = aalloc(a, sizeof *ci);
    strata__scram_credential_info__init(ci);
    ci->mechanism = u->cred[k].mech;
    ci->iterations = u->cred[k].iterations;
    d->credentials[d->n_credentials++] = ci;
  }
  return d;
}

static void describe_scram(struct controller *ctl,
                           const Strata__DescribeUserScramCredentialsRequest *q,
                           Strata__Header *resp, struct arena *a) {
  const struct secmeta *s = &ctl->c.sec;
  Strata__DescribeUserScramCredentialsResponse *m = aalloc(a, sizeof *m);
  strata__describe_user_scram_credentials_response__init(m);
  size_t n = q->n_users ? q->n_users : s->nusers;
  m->users = aalloc(a, (n + 1) * sizeof *m->users);
  if (!q->n_users) {
    for (size_t i = 0; i < s->nusers; i++)
      m->users[m->n_users++] = describe_user(a, &s->users[i], s->users[i].name);
  } else {
    for (size_t i = 0; i < q->n_users; i++) {
      const char *name = q->users[i] ? q->users[i] : "";
      m->users[m->n_users++] = describe_user(a, secmeta_user(s, name), name);
    }
  }
  resp->body_case = STRATA__HEADER__BODY_DESCRIBE_SCRAM_RESP;
  resp->describe_scram_resp = m;
}

int secadmin_handle(struct controller *ctl, const Strata__Header *req, Strata__Header *resp,
                    struct arena *a) {
  switch (req->body_case) {
  case STRATA__HEADER__BODY_CREATE_ACLS_REQ:
    create_acls(ctl, req->create_acls_req, resp, a);
    return 1;
  case STRATA__HEADER__BODY_DESCRIBE_ACLS_REQ:
    describe_acls(ctl, req->describe_acls_req, resp, a);
    return 1;
  case STRATA__HEADER__BODY_DELETE_ACLS_REQ:
    delete_acls(ctl, req->delete_acls_req, resp, a);
    return 1;
  case STRATA__HEADER__BODY_ALTER_SCRAM_REQ:
    alter_scram(ctl, req->alter_scram_req, resp, a);
    return 1;
  case STRATA__HEADER__BODY_DESCRIBE_SCRAM_REQ:
    describe_scram(ctl, req->describe_scram_req, resp, a);
    return 1;
  default:
    return 0;
  }
}
