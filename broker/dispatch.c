/* The broker's dispatch table (librdkafka's mock broker style): one entry
 * per api key with its version range and request body, checked once here
 * before the handler runs. The only file that includes every *handlers.h. */
#include "broker/dispatch.h"

#include <stdio.h>

#include "broker/authz.h"
#include "broker/broker.h"
#include "broker/group_handlers.h"
#include "broker/handlers.h"
#include "broker/sasl_handlers.h"
#include "common/errors.h"

struct api {
  uint32_t key, min_version, max_version;
  request_handler *handle;
  Strata__Header__BodyCase req_body;
};

static const struct api *apis(size_t *n);

static void handle_api_versions(struct broker *b, const Strata__Header *req,
                                uint8_t *payload, uint32_t len,
                                struct response *r) {
  (void)payload, (void)len;
  size_t n;
  const struct api *t = apis(&n);
  Strata__ApiVersionsResponse *m = resp_alloc(r, sizeof *m);
  strata__api_versions_response__init(m);
  m->apis = resp_alloc(r, n * sizeof *m->apis);
  for (size_t i = 0; i < n; i++) {
    /* the SASL APIs only where a login is asked for (a SASL_* listener) */
    if ((t[i].key == STRATA__API_KEY__API_SASL_HANDSHAKE ||
         t[i].key == STRATA__API_KEY__API_SASL_AUTHENTICATE) &&
        !broker_sasl_listener(b))
      continue;
    Strata__ApiVersionRange *v = resp_alloc(r, sizeof *v);
    strata__api_version_range__init(v);
    v->api_key = t[i].key;
    v->min_version = t[i].min_version;
    v->max_version = t[i].max_version;
    m->apis[m->n_apis++] = v;
  }
  m->software_version = resp_strdup(r, "strata " STRATA_VERSION);
  resp_begin(r, req, STRATA__HEADER__BODY_API_VERSIONS_RESP);
  r->hdr.api_versions_resp = m;
}

static const struct api api_table[] = {
    {STRATA__API_KEY__API_PRODUCE, 0, 0, handle_produce,
     STRATA__HEADER__BODY_PRODUCE_REQ},
    {STRATA__API_KEY__API_FETCH, 0, 0, handle_fetch, STRATA__HEADER__BODY_FETCH_REQ},
    {STRATA__API_KEY__API_LIST_OFFSETS, 0, 0, handle_list_offsets,
     STRATA__HEADER__BODY_LIST_OFFSETS_REQ},
    {STRATA__API_KEY__API_METADATA, 0, 0, handle_metadata,
     STRATA__HEADER__BODY_METADATA_REQ},
    {STRATA__API_KEY__API_API_VERSIONS, 0, 0, handle_api_versions,
     STRATA__HEADER__BODY_API_VERSIONS_REQ},
    {STRATA__API_KEY__API_CREATE_TOPICS, 0, 0, handle_create_topics,
     STRATA__HEADER__BODY_CREATE_TOPICS_REQ},
    {STRATA__API_KEY__API_DELETE_TOPICS, 0, 0, handle_delete_topics,
     STRATA__HEADER__BODY_DELETE_TOPICS_REQ},
    {STRATA__API_KEY__API_CREATE_PARTITIONS, 0, 0, handle_create_partitions,
     STRATA__HEADER__BODY_CREATE_PARTITIONS_REQ},
    {STRATA__API_KEY__API_ELECT_LEADERS, 0, 0, handle_elect_leaders,
     STRATA__HEADER__BODY_ELECT_LEADERS_REQ},
    {STRATA__API_KEY__API_DESCRIBE_QUORUM, 0, 0, handle_describe_quorum,
     STRATA__HEADER__BODY_DESCRIBE_QUORUM_REQ},
    {STRATA__API_KEY__API_INIT_PRODUCER_ID, 0, 0, handle_init_producer_id,
     STRATA__HEADER__BODY_INIT_PRODUCER_ID_REQ},
    {STRATA__API_KEY__API_FIND_COORDINATOR, 0, 0, handle_find_coordinator,
     STRATA__HEADER__BODY_FIND_COORDINATOR_REQ},
    {STRATA__API_KEY__API_CONSUMER_GROUP_HEARTBEAT, 0, 0, handle_group_heartbeat,
     STRATA__HEADER__BODY_GROUP_HEARTBEAT_REQ},
    {STRATA__API_KEY__API_OFFSET_COMMIT, 0, 0, handle_offset_commit,
     STRATA__HEADER__BODY_OFFSET_COMMIT_REQ},
    {STRATA__API_KEY__API_OFFSET_FETCH, 0, 0, handle_offset_fetch,
     STRATA__HEADER__BODY_OFFSET_FETCH_REQ},
    {STRATA__API_KEY__API_LIST_GROUPS, 0, 0, handle_list_groups,
     STRATA__HEADER__BODY_LIST_GROUPS_REQ},
    {STRATA__API_KEY__API_DESCRIBE_GROUP, 0, 0, handle_describe_group,
     STRATA__HEADER__BODY_DESCRIBE_GROUP_REQ},
    {STRATA__API_KEY__API_DELETE_GROUPS, 0, 0, handle_delete_groups,
     STRATA__HEADER__BODY_DELETE_GROUPS_REQ},
    {STRATA__API_KEY__API_SASL_HANDSHAKE, 0, 0, handle_sasl_handshake,
     STRATA__HEADER__BODY_SASL_HANDSHAKE_REQ},
    {STRATA__API_KEY__API_SASL_AUTHENTICATE, 0, 0, handle_sasl_authenticate,
     STRATA__HEADER__BODY_SASL_AUTHENTICATE_REQ},
    {STRATA__API_KEY__API_CREATE_ACLS, 0, 0, handle_security_admin,
     STRATA__HEADER__BODY_CREATE_ACLS_REQ},
    {STRATA__API_KEY__API_DESCRIBE_ACLS, 0, 0, handle_security_admin,
     STRATA__HEADER__BODY_DESCRIBE_ACLS_REQ},
    {STRATA__API_KEY__API_DELETE_ACLS, 0, 0, handle_security_admin,
     STRATA__HEADER__BODY_DELETE_ACLS_REQ},
    {STRATA__API_KEY__API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, handle_security_admin,
     STRATA__HEADER__BODY_DESCRIBE_SCRAM_REQ},
    {STRATA__API_KEY__API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0, handle_security_admin,
     STRATA__HEADER__BODY_ALTER_SCRAM_REQ},
};

static const struct api *apis(size_t *n) {
  *n = sizeof api_table / sizeof api_table[0];
  return api_table;
}

void dispatch_handle(struct broker *b, const struct principal *who, const Strata__Header *req,
                     uint8_t *payload, uint32_t payload_len, struct response *r) {
  static const struct principal anonymous = {PRINCIPAL_ANONYMOUS, "", 0};
  if (!who) who = &anonymous;
  authz_forget(b);
  const struct api *a = NULL;
  for (size_t i = 0; i < sizeof api_table / sizeof api_table[0]; i++)
    if (api_table[i].key == req->api_key) a = &api_table[i];
  char msg[128];
  if (req->is_response) {
    response_error(r, req, STRATA_EINVALID_REQUEST, "a response sent as a request");
  } else if (!a) {
    snprintf(msg, sizeof msg, "unknown api key %u", req->api_key);
    response_error(r, req, STRATA_EUNSUPPORTED_VERSION, msg);
  } else if (req->api_version < a->min_version || req->api_version > a->max_version) {
    snprintf(msg, sizeof msg, "api key %u supports versions %u..%u, not %u",
             a->key, a->min_version, a->max_version, req->api_version);
    response_error(r, req, STRATA_EUNSUPPORTED_VERSION, msg);
  } else if (req->body_case != a->req_body) {
    snprintf(msg, sizeof msg, "api key %u with a missing or mismatched body", a->key);
    response_error(r, req, STRATA_EINVALID_REQUEST, msg);
  } else if (!authz_request(b, who, req, r)) {
    const struct principal *outer = b->caller; /* a Kafka call's, the same */
    b->caller = who;
    a->handle(b, req, payload, payload_len, r);
    b->caller = outer;
  }
}

void dispatch_fetch_again(struct broker *b, const Strata__Header *req, struct response *r,
                          int final) {
  handle_fetch_again(b, req, r, final);
}
