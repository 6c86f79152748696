/* Shared by unit tests that create a topic through a native CreateTopics
 * request (to a broker's or a controller's handlers): the request for one
 * topic, its parts kept together so the pointers between them stay valid. */
#ifndef STRATA_CREATE_TOPIC_REQ_H
#define STRATA_CREATE_TOPIC_REQ_H

#include <stdint.h>

#include "proto/strata.pb-c.h"

struct create_topic_req {
  Strata__TopicSpec spec;
  Strata__TopicSpec *specs[1];
  Strata__CreateTopicsRequest q;
  Strata__Header h;
};

/* The header of a CreateTopics request for topic `name` (partitions, rf);
 * the caller may add configs to r->spec or a principal to the header. */
static inline Strata__Header *create_topic_req(struct create_topic_req *r, const char *name,
                                               uint32_t partitions, uint32_t rf) {
  strata__topic_spec__init(&r->spec);
  r->spec.name = (char *)name;
  r->spec.partitions = partitions;
  r->spec.replication_factor = rf;
  r->specs[0] = &r->spec;
  strata__create_topics_request__init(&r->q);
  r->q.topics = r->specs;
  r->q.n_topics = 1;
  strata__header__init(&r->h);
  r->h.api_key = STRATA__API_KEY__API_CREATE_TOPICS;
  r->h.body_case = STRATA__HEADER__BODY_CREATE_TOPICS_REQ;
  r->h.create_topics_req = &r->q;
  return &r->h;
}

#endif
