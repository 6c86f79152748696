/* Kafka DescribeUserScramCredentials (v0) and AlterUserScramCredentials
 * (v0), KIP-554, so kafka-configs and AdminClients manage SCRAM users.
 * Alter: the client sends salt, iterations and SaltedPassword; the keys
 * (StoredKey, ServerKey) are derived here (scram_salted_credential) and the
 * SaltedPassword goes no further: the controller records only the keys.
 * One result per user, as Kafka answers (the first error of its
 * alterations). Describe is answered from this broker's image and never
 * shows a salt or key. */
#include <string.h>

#include "broker/broker.h"
#include "broker/dispatch.h"
#include "broker/kafka_call.h"
#include "broker/metadata.h"
#include "common/errors.h"
#include "common/scram_salted.h"
#include "common/secmeta.h"

enum { KERR_SCRAM_MECHANISM_UNKNOWN = 33 }; /* Kafka's UNSUPPORTED_SASL_MECHANISM */

/* Each alteration (deletions first, then upsertions): an error found here,
 * or its index in the native request. */
struct alter_extra {
  int16_t *err;
  const char **msg;
  int32_t *native_index; /* -1: not sent */
};

static int16_t check_upsertion(const struct kafka_alter_user_scram_credentials_req_scram_credential_upsertion *u,
                               const char **msg) {
  if (!u->name || !*u->name || strlen(u->name) > SECMETA_USER_NAME_MAX) {
    *msg = "Username must not be empty (or over 255 bytes)";
    return KERR_UNACCEPTABLE_CREDENTIAL;
  }
  if (u->mechanism != SCRAM_SHA_256 && u->mechanism != SCRAM_SHA_512) {
    *msg = "Unknown SCRAM mechanism";
    return KERR_SCRAM_MECHANISM_UNKNOWN;
  }
  if (u->iterations < SCRAM_ITERATIONS_MIN) {
    *msg = "Too few iterations";
    return KERR_UNACCEPTABLE_CREDENTIAL;
  }
  if (u->iterations > SCRAM_ITERATIONS_MAX) {
    *msg = "Too many iterations";
    return KERR_UNACCEPTABLE_CREDENTIAL;
  }
  return KERR_NONE;
}

static void alter_start(struct broker *b, struct kafka_call *k, struct response *r) {
  const struct kafka_alter_user_scram_credentials_req *q = k->req;
  int32_t nd = q->n_deletions > 0 ? q->n_deletions : 0;
  int32_t nu = q->n_upsertions > 0 ? q->n_upsertions : 0;
  size_t n = (size_t)nd + (size_t)nu;
  struct alter_extra *x = kc_alloc(k, sizeof *x);
  x->err = kc_alloc(k, (n + 1) * sizeof *x->err);
  x->msg = kc_alloc(k, (n + 1) * sizeof *x->msg);
  x->native_index = kc_alloc(k, (n + 1) * sizeof *x->native_index);
  k->extra = x;
  Strata__Header *h = kc_native(k, STRATA__API_KEY__API_ALTER_USER_SCRAM_CREDENTIALS);
  Strata__AlterUserScramCredentialsRequest *a = kc_alloc(k, sizeof *a);
  strata__alter_user_scram_credentials_request__init(a);
  a->deletions = kc_alloc(k, ((size_t)nd + 1) * sizeof *a->deletions);
  a->upsertions = kc_alloc(k, ((size_t)nu + 1) * sizeof *a->upsertions);
  for (int32_t i = 0; i < nd; i++) {
    const struct kafka_alter_user_scram_credentials_req_scram_credential_deletion *d =
        &q->deletions[i];
    x->err[i] = KERR_NONE;
    x->msg[i] = NULL;
    x->native_index[i] = -1;
    if (!d->name || !*d->name) {
      x->err[i] = KERR_UNACCEPTABLE_CREDENTIAL;
      x->msg[i] = "Username must not be empty";
    } else if (d->mechanism != SCRAM_SHA_256 && d->mechanism != SCRAM_SHA_512) {
      x->err[i] = KERR_SCRAM_MECHANISM_UNKNOWN;
      x->msg[i] = "Unknown SCRAM mechanism";
    }
    if (x->err[i]) continue;
    Strata__ScramCredentialDeletion *m = kc_alloc(k, sizeof *m);
    strata__scram_credential_deletion__init(m);
    m->user = kc_strdup(k, d->name);
    m->mechanism = (uint32_t)d->mechanism;
    x->native_index[i] = (int32_t)a->n_deletions;
    a->deletions[a->n_deletions++] = m;
  }
  for (int32_t i = 0; i < nu; i++) {
    const struct kafka_alter_user_scram_credentials_req_scram_credential_upsertion *u =
        &q->upsertions[i];
    size_t e = (size_t)nd + (size_t)i;
    x->msg[e] = NULL;
    x->native_index[e] = -1;
    x->err[e] = check_upsertion(u, &x->msg[e]);
    struct scram_credential cred;
    if (!x->err[e] &&
        scram_salted_credential((enum scram_mech)u->mechanism, u->salted_password.p,
                                u->salted_password.len > 0 ? (size_t)u->salted_password.len : 0,
                                u->iterations, u->salt.p,
                                u->salt.len > 0 ? (size_t)u->salt.len : 0, &cred)) {
      x->err[e] = KERR_UNACCEPTABLE_CREDENTIAL;
      x->msg[e] = "the salt (1 to 64 bytes) or SaltedPassword (the hash's length) is not "
                  "acceptable";
    }
    if (x->err[e]) continue;
    Strata__ScramCredential *m = kc_alloc(k, sizeof *m);
    strata__scram_credential__init(m);
    m->user = kc_strdup(k, u->name);
    m->mechanism = cred.mech;
    m->iterations = cred.iterations;
    m->salt.data = kc_alloc(k, cred.salt_len);
    memcpy(m->salt.data, cred.salt, cred.salt_len);
    m->salt.len = cred.salt_len;
    m->stored_key.data = kc_alloc(k, cred.key_len);
    memcpy(m->stored_key.data, cred.stored_key, cred.key_len);
    m->stored_key.len = cred.key_len;
    m->server_key.data = kc_alloc(k, cred.key_len);
    memcpy(m->server_key.data, cred.server_key, cred.key_len);
    m->server_key.len = cred.key_len;
    x->native_index[e] = (int32_t)(a->n_deletions + a->n_upsertions);
    a->upsertions[a->n_upsertions++] = m;
  }
  /* The SaltedPassword is a password equivalent: gone from memory now. */
  for (int32_t i = 0; i < nu; i++)
    if (q->upsertions[i].salted_password.p && q->upsertions[i].salted_password.len > 0)
      memset(q->upsertions[i].salted_password.p, 0, (size_t)q->upsertions[i].salted_password.len);
  h->body_case = STRATA__HEADER__BODY_ALTER_SCRAM_REQ;
  h->alter_scram_req = a;
  if (a->n_deletions + a->n_upsertions)
    dispatch_handle(b, &k->who, h, NULL, 0, r);
  else
    k->native = NULL;
}

static const char *alteration_user(const struct kafka_alter_user_scram_credentials_req *q,
                                   size_t e) {
  int32_t nd = q->n_deletions > 0 ? q->n_deletions : 0;
  const char *s = (int32_t)e < nd ? q->deletions[e].name : q->upsertions[e - (size_t)nd].name;
  return s ? s : "";
}

static void *alter_answer(struct broker *b, struct kafka_call *k, const struct response *r) {
  (void)b;
  const struct kafka_alter_user_scram_credentials_req *q = k->req;
  const struct alter_extra *x = k->extra;
  size_t n = (size_t)(q->n_deletions > 0 ? q->n_deletions : 0) +
             (size_t)(q->n_upsertions > 0 ? q->n_upsertions : 0);
  const Strata__Header *rep = k->native ? kc_reply(r) : NULL;
  const Strata__AlterUserScramCredentialsResponse *nr =
      rep && rep->body_case == STRATA__HEADER__BODY_ALTER_SCRAM_RESP ? rep->alter_scram_resp : NULL;
  struct kafka_alter_user_scram_credentials_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_alter_user_scram_credentials_resp_desc, m);
  m->results = kc_alloc(k, (n + 1) * sizeof *m->results);
  for (size_t e = 0; e < n; e++) {
    const char *user = alteration_user(q, e);
    int16_t err = x->err[e];
    const char *msg = x->msg[e];
    int32_t ni = x->native_index[e];
    if (!err && (!nr || ni < 0 || (size_t)ni >= nr->n_results)) {
      err = rep && rep->error_code ? kafka_err((int)rep->error_code) : KERR_UNKNOWN_SERVER_ERROR;
      msg = rep && rep->error_message && *rep->error_message ? kc_strdup(k, rep->error_message)
                                                             : NULL;
    } else if (!err) {
      const Strata__UserResult *ur = nr->results[ni];
      err = kafka_err((int)ur->error_code);
      msg = err && ur->error_message && *ur->error_message ? kc_strdup(k, ur->error_message)
                                                           : NULL;
    }
    /* one result per user: the first alteration names it, the first error wins */
    struct kafka_alter_user_scram_credentials_resp_alter_user_scram_credentials_result *t = NULL;
    for (int32_t j = 0; j < m->n_results && !t; j++)
      if (!strcmp(m->results[j].user, user)) t = &m->results[j];
    if (!t) {
      t = &m->results[m->n_results++];
      kafka_defaults(&kafka_alter_user_scram_credentials_resp_alter_user_scram_credentials_result_desc, t);
      t->user = user;
      t->error_message = NULL; /* null on success, as Kafka answers */
    }
    if (err && !t->error_code) {
      t->error_code = err;
      t->error_message = msg;
    }
  }
  return m;
}

const struct kafka_handler kafka_alter_user_scram_credentials_handler = {
    KAFKA_ALTER_USER_SCRAM_CREDENTIALS, 0, 0, alter_start, alter_answer};

/* ---- DescribeUserScramCredentials ---- */

static void describe_result(struct kafka_call *k,
                            struct kafka_describe_user_scram_credentials_resp_describe_user_scram_credentials_result *t,
                            const struct secmeta_user *u) {
  t->n_credential_infos = 0;
  t->credential_infos = kc_alloc(k, 2 * sizeof *t->credential_infos);
  for (int i = 0; u && i < 2; i++) {
    if (!u->has[i]) continue;
    struct kafka_describe_user_scram_credentials_resp_credential_info *c =
        &t->credential_infos[t->n_credential_infos++];
    kafka_defaults(&kafka_describe_user_scram_credentials_resp_credential_info_desc, c);
    c->mechanism = (int8_t)u->cred[i].mech;
    c->iterations = u->cred[i].iterations;
  }
}

static void describe_start(struct broker *b, struct kafka_call *k, struct response *r) {
  (void)r;
  const struct kafka_describe_user_scram_credentials_req *q = k->req;
  const struct secmeta *s = &b->sec;
  struct kafka_describe_user_scram_credentials_resp *m = kc_alloc(k, sizeof *m);
  kafka_defaults(&kafka_describe_user_scram_credentials_resp_desc, m);
  k->resp = m;
  size_t n = q->n_users > 0 ? (size_t)q->n_users : s->nusers;
  m->n_results = 0;
  m->results = kc_alloc(k, (n + 1) * sizeof *m->results);
  if (q->n_users <= 0) { /* null or empty: every user */
    for (size_t i = 0; i < s->nusers; i++) {
      struct kafka_describe_user_scram_credentials_resp_describe_user_scram_credentials_result *t =
          &m->results[m->n_results++];
      kafka_defaults(&kafka_describe_user_scram_credentials_resp_describe_user_scram_credentials_result_desc, t);
      t->user = kc_strdup(k, s->users[i].name);
      describe_result(k, t, &s->users[i]);
    }
    return;
  }
  for (int32_t i = 0; i < q->n_users; i++) {
    const char *name = q->users[i].name ? q->users[i].name : "";
    int dup = 0, reported = 0;
    for (int32_t j = 0; j < q->n_users; j++) {
      if (j == i || strcmp(q->users[j].name ? q->users[j].name : "", name)) continue;
      dup = 1;
      reported |= j < i;
    }
    if (reported) continue; /* a name asked twice is answered once */
    struct kafka_describe_user_scram_credentials_resp_describe_user_scram_credentials_result *t =
        &m->results[m->n_results++];
    kafka_defaults(&kafka_describe_user_scram_credentials_resp_describe_user_scram_credentials_result_desc, t);
    t->user = name;
    const struct secmeta_user *u = secmeta_user(s, name);
    if (dup) {
      t->error_code = KERR_DUPLICATE_RESOURCE;
      t->error_message = "Cannot describe SCRAM credentials for the same user twice in a single "
                         "request";
    } else if (!u) {
      t->error_code = KERR_RESOURCE_NOT_FOUND;
      t->error_message = "Attempt to describe a user credential that does not exist";
    }
    describe_result(k, t, dup ? NULL : u);
  }
}

const struct kafka_handler kafka_describe_user_scram_credentials_handler = {
    KAFKA_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, describe_start, NULL};
