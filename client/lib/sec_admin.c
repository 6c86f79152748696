/* libstrata's user and ACL administration (strata.h): the native
 * CreateAcls, DescribeAcls, DeleteAcls, AlterUserScramCredentials and
 * DescribeUserScramCredentials, sent to the bootstrap broker, which relays
 * them to the controller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/internal.h"
#include "common/wire.h"

static char *dup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) abort();
  return p;
}

/* a -> wire binding (strings borrowed). */
static void to_msg(const strata_acl *a, Strata__AclBinding *m) {
  strata__acl_binding__init(m);
  if (!a) return;
  m->resource_type = (uint32_t)(a->resource_type > 0 ? a->resource_type : 0);
  m->pattern_type = (uint32_t)(a->pattern_type > 0 ? a->pattern_type : 0);
  m->operation = (uint32_t)(a->operation > 0 ? a->operation : 0);
  m->permission = (uint32_t)(a->permission > 0 ? a->permission : 0);
  m->resource_name = a->resource_name ? a->resource_name : (char *)"";
  m->principal = a->principal ? a->principal : (char *)"";
  m->host = a->host ? a->host : (char *)"";
}

static void from_msg(const Strata__AclBinding *m, strata_acl *a) {
  a->resource_type = (int)m->resource_type;
  a->pattern_type = (int)m->pattern_type;
  a->operation = (int)m->operation;
  a->permission = (int)m->permission;
  a->resource_name = dup(m->resource_name);
  a->principal = dup(m->principal);
  a->host = dup(m->host);
}

void strata_acl_list_free(strata_acl *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].resource_name);
    free(v[i].principal);
    free(v[i].host);
  }
  free(v);
}

static strata_acl *copy_list(Strata__AclBinding **v, size_t n) {
  strata_acl *o = calloc(n + 1, sizeof *o);
  if (!o) abort();
  for (size_t i = 0; i < n; i++) from_msg(v[i], &o[i]);
  return o;
}

/* Send h; a frame-level error comes back with its message in err. */
static int call(strata_client *c, Strata__Header *h, Strata__Header **r, char *err,
                size_t err_len) {
  int rc = client_admin_call(c, h, r);
  if (rc && *r && err && (*r)->error_message && *(*r)->error_message)
    snprintf(err, err_len, "%s", (*r)->error_message);
  return rc;
}

static int result(uint32_t code, const char *msg, char *err, size_t err_len) {
  int rc = strata_error_from_wire(code);
  if (rc && err && err_len && !err[0])
    snprintf(err, err_len, "%s", msg && *msg ? msg : strata_strerror(rc));
  return rc;
}

int strata_acl_create(strata_client *c, const strata_acl *acls, size_t n, int *errors, char *err,
                      size_t err_len) {
  if (err && err_len) err[0] = 0;
  Strata__AclBinding *ms = calloc(n + 1, sizeof *ms);
  Strata__AclBinding **ps = calloc(n + 1, sizeof *ps);
  if (!ms || !ps) abort();
  for (size_t i = 0; i < n; i++) {
    to_msg(&acls[i], &ms[i]);
    ps[i] = &ms[i];
  }
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_CREATE_ACLS);
  Strata__CreateAclsRequest q = STRATA__CREATE_ACLS_REQUEST__INIT;
  q.acls = ps;
  q.n_acls = n;
  h.body_case = STRATA__HEADER__BODY_CREATE_ACLS_REQ;
  h.create_acls_req = &q;
  Strata__Header *r = NULL;
  int rc = call(c, &h, &r, err, err_len);
  free(ms);
  free(ps);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_CREATE_ACLS_RESP ||
              r->create_acls_resp->n_results != n))
    rc = STRATA_ECORRUPT;
  for (size_t i = 0; !rc && i < n; i++) {
    const Strata__AclResult *x = r->create_acls_resp->results[i];
    if (errors) errors[i] = strata_error_from_wire(x->error_code);
    result(x->error_code, x->error_message, err, err_len);
  }
  if (!rc)
    for (size_t i = 0; i < n && !rc; i++)
      rc = strata_error_from_wire(r->create_acls_resp->results[i]->error_code);
  wire_header_free(r);
  return rc;
}

int strata_acl_list(strata_client *c, const strata_acl *filter, strata_acl **out, size_t *n) {
  *out = NULL;
  *n = 0;
  Strata__AclBinding f;
  to_msg(filter, &f);
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DESCRIBE_ACLS);
  Strata__DescribeAclsRequest q = STRATA__DESCRIBE_ACLS_REQUEST__INIT;
  q.filter = filter ? &f : NULL;
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_ACLS_REQ;
  h.describe_acls_req = &q;
  Strata__Header *r = NULL;
  int rc = call(c, &h, &r, NULL, 0);
  if (!rc && r->body_case != STRATA__HEADER__BODY_DESCRIBE_ACLS_RESP) rc = STRATA_ECORRUPT;
  if (!rc) {
    *out = copy_list(r->describe_acls_resp->acls, r->describe_acls_resp->n_acls);
    *n = r->describe_acls_resp->n_acls;
  }
  wire_header_free(r);
  return rc;
}

int strata_acl_delete(strata_client *c, const strata_acl *filter, strata_acl **out, size_t *n,
                      char *err, size_t err_len) {
  if (out) *out = NULL;
  if (n) *n = 0;
  if (err && err_len) err[0] = 0;
  Strata__AclBinding f;
  to_msg(filter, &f);
  Strata__AclBinding *fs[1] = {&f};
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DELETE_ACLS);
  Strata__DeleteAclsRequest q = STRATA__DELETE_ACLS_REQUEST__INIT;
  q.filters = fs;
  q.n_filters = 1;
  h.body_case = STRATA__HEADER__BODY_DELETE_ACLS_REQ;
  h.delete_acls_req = &q;
  Strata__Header *r = NULL;
  int rc = call(c, &h, &r, err, err_len);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_DELETE_ACLS_RESP ||
              r->delete_acls_resp->n_results != 1))
    rc = STRATA_ECORRUPT;
  if (!rc) {
    const Strata__DeleteAclsFilterResult *x = r->delete_acls_resp->results[0];
    rc = result(x->error_code, x->error_message, err, err_len);
    if (!rc && out) {
      *out = copy_list(x->matched, x->n_matched);
      *n = x->n_matched;
    }
  }
  wire_header_free(r);
  return rc;
}

static int alter(strata_client *c, Strata__AlterUserScramCredentialsRequest *q, char *err,
                 size_t err_len) {
  if (err && err_len) err[0] = 0;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_ALTER_USER_SCRAM_CREDENTIALS);
  h.body_case = STRATA__HEADER__BODY_ALTER_SCRAM_REQ;
  h.alter_scram_req = q;
  Strata__Header *r = NULL;
  int rc = call(c, &h, &r, err, err_len);
  if (!rc && (r->body_case != STRATA__HEADER__BODY_ALTER_SCRAM_RESP ||
              r->alter_scram_resp->n_results != 1))
    rc = STRATA_ECORRUPT;
  if (!rc)
    rc = result(r->alter_scram_resp->results[0]->error_code,
                r->alter_scram_resp->results[0]->error_message, err, err_len);
  wire_header_free(r);
  return rc;
}

int strata_user_upsert(strata_client *c, const char *user, int mechanism, int32_t iterations,
                       const uint8_t *salt, size_t salt_len, const uint8_t *stored_key,
                       const uint8_t *server_key, size_t key_len, char *err, size_t err_len) {
  Strata__ScramCredential m = STRATA__SCRAM_CREDENTIAL__INIT;
  m.user = (char *)user;
  m.mechanism = (uint32_t)mechanism;
  m.iterations = iterations;
  m.salt.data = (uint8_t *)salt;
  m.salt.len = salt_len;
  m.stored_key.data = (uint8_t *)stored_key;
  m.stored_key.len = key_len;
  m.server_key.data = (uint8_t *)server_key;
  m.server_key.len = key_len;
  Strata__ScramCredential *ms[1] = {&m};
  Strata__AlterUserScramCredentialsRequest q = STRATA__ALTER_USER_SCRAM_CREDENTIALS_REQUEST__INIT;
  q.upsertions = ms;
  q.n_upsertions = 1;
  return alter(c, &q, err, err_len);
}

int strata_user_delete(strata_client *c, const char *user, int mechanism, char *err,
                       size_t err_len) {
  Strata__ScramCredentialDeletion d = STRATA__SCRAM_CREDENTIAL_DELETION__INIT;
  d.user = (char *)user;
  d.mechanism = (uint32_t)(mechanism > 0 ? mechanism : 0);
  Strata__ScramCredentialDeletion *ds[1] = {&d};
  Strata__AlterUserScramCredentialsRequest q = STRATA__ALTER_USER_SCRAM_CREDENTIALS_REQUEST__INIT;
  q.deletions = ds;
  q.n_deletions = 1;
  return alter(c, &q, err, err_len);
}

void strata_user_list_free(strata_user_info *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) free(v[i].name);
  free(v);
}

int strata_user_list(strata_client *c, const char *const *names, size_t n_names,
                     strata_user_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  Strata__Header h;
  client_header(&h, STRATA__API_KEY__API_DESCRIBE_USER_SCRAM_CREDENTIALS);
  Strata__DescribeUserScramCredentialsRequest q =
      STRATA__DESCRIBE_USER_SCRAM_CREDENTIALS_REQUEST__INIT;
  q.users = (char **)names;
  q.n_users = names ? n_names : 0;
  h.body_case = STRATA__HEADER__BODY_DESCRIBE_SCRAM_REQ;
  h.describe_scram_req = &q;
  Strata__Header *r = NULL;
  int rc = call(c, &h, &r, NULL, 0);
  if (!rc && r->body_case != STRATA__HEADER__BODY_DESCRIBE_SCRAM_RESP) rc = STRATA_ECORRUPT;
  if (!rc) {
    const Strata__DescribeUserScramCredentialsResponse *m = r->describe_scram_resp;
    strata_user_info *v = calloc(m->n_users + 1, sizeof *v);
    if (!v) abort();
    for (size_t i = 0; i < m->n_users; i++) {
      const Strata__UserDescription *d = m->users[i];
      if (d->error_code && !rc) rc = strata_error_from_wire(d->error_code);
      v[i].name = dup(d->user);
      for (size_t k = 0; k < d->n_credentials && k < 2; k++) {
        v[i].mechanisms[k] = (int)d->credentials[k]->mechanism;
        v[i].iterations[k] = d->credentials[k]->iterations;
        v[i].ncredentials++;
      }
    }
    *out = v;
    *n = m->n_users;
  }
  wire_header_free(r);
  return rc;
}
