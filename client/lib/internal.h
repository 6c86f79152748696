/* What libstrata's parts share: the client struct and the calls the
 * producer and consumer make through a connection. */
#ifndef STRATA_CLIENT_INTERNAL_H
#define STRATA_CLIENT_INTERNAL_H

#include "client/lib/conn.h"
#include "client/strata.h"

struct strata_client {
  struct conn conn;
  char bootstrap[1024];
  int timeout_ms;
};

int client_bootstrap(struct conn *c, const char *bootstrap, int timeout_ms,
                     char *err, size_t err_len);
int client_metadata(struct conn *c, int timeout_ms, const char *const *topics,
                    size_t ntopics, strata_metadata **out);
int client_list_offset(struct conn *c, int timeout_ms, const char *topic,
                       uint32_t partition, int64_t timestamp, int64_t *offset,
                       int64_t *found_ts);

#endif
