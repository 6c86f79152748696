/* The controller's admin endpoints (docs/admin.md): /metrics, /livez,
 * /readyz and /v1/cluster, rendered from its state; nothing here changes
 * it. The glue passes in what only it knows. */
#ifndef STRATA_CONTROLLER_ADMIN_H
#define STRATA_CONTROLLER_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/http_request.h"
#include "controller/controller.h"

struct controller_admin {
  struct controller *ctl;
  const char *data_dir;
  /* Set by the glue before each request. */
  int64_t wall_ms;
  double loop_idle_s;
  size_t conns_open;
  uint64_t conns_opened;
  struct http_server_stats admin_conns;
  int64_t tls_not_after;       /* the TLS certificate's notAfter; 0 without TLS */
  uint64_t tls_failures;       /* handshakes failed or timed out */
  uint64_t auth_success, auth_failure; /* SASL logins (strata_authentications_total) */
};

void controller_admin_route(struct controller_admin *a, const struct http_request *req,
                            struct http_answer *out);

#endif
