/* What libstrata's parts share: the client struct and the calls the
 * producer and consumer make through a connection. */
#ifndef STRATA_CLIENT_INTERNAL_H
#define STRATA_CLIENT_INTERNAL_H

#include "client/lib/conn.h"
#include "client/strata.h"

struct strata_client {
  struct conn conn;
  struct client_sec sec;
  char bootstrap[1024];
  int timeout_ms;
};

/* Connect c to the first bootstrap address that answers (a different
 * first each time), with sec (NULL: plaintext). */
int client_bootstrap(struct conn *c, const char *bootstrap, int timeout_ms,
                     const struct client_sec *sec, char *err, size_t err_len);
int client_metadata(struct conn *c, int timeout_ms, const char *const *topics,
                    size_t ntopics, strata_metadata **out);
/* A request header for api. */
void client_header(Strata__Header *h, uint32_t api);
/* The client's bootstrap connection, reopened when it dropped. */
int client_ensure(strata_client *c);
/* A call the controller answers (relayed by a broker, or sent to a
 * controller): asked again on NOT_CONTROLLER, at the address the answer
 * names or another bootstrap address, until timeout_ms (client.c). */
int client_admin_call(strata_client *c, Strata__Header *h, Strata__Header **r);
/* Ask the broker at `via` which broker coordinates `group`. */
int client_find_coordinator(struct conn *via, const char *group, int timeout_ms, char *host,
                            size_t host_len, int *port);
int client_list_offset(struct conn *c, int timeout_ms, const char *topic,
                       uint32_t partition, int64_t timestamp, int64_t *offset,
                       int64_t *found_ts);

#endif
