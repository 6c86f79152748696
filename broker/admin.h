/* The broker's admin endpoints (docs/admin.md): /metrics, /livez, /readyz,
 * the console's JSON and the console page. Answers are rendered from the
 * broker's state as it is at the request; nothing here changes that state.
 * The glue (server_uv.c) passes in what only it knows (loop idle time,
 * connection counts, parked requests) and samples the rates every second. */
#ifndef STRATA_ADMIN_H
#define STRATA_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "common/http_request.h"

#define ADMIN_RATES_MAX 300 /* one sample a second: five minutes */

struct admin_rate {
  int64_t time_ms; /* wall */
  uint64_t bytes_in, bytes_out, records_in;
};

struct broker_admin {
  struct broker *b;
  struct admin_rate rates[ADMIN_RATES_MAX]; /* a ring */
  size_t nrates, next;
  /* Set by the glue before each request. */
  double loop_idle_s;
  struct http_server_stats admin_conns; /* the admin listener's */
  size_t waiting_produce, waiting_fetch;
  size_t client_conns; /* open client connections */
  int64_t tls_not_after;       /* the TLS certificate's notAfter; 0 without TLS */
  uint64_t tls_failures;       /* handshakes failed or timed out */
};

void admin_init(struct broker_admin *a, struct broker *b);
/* Record this second's totals (the glue calls it every second). */
void admin_sample(struct broker_admin *a);
/* Answer one request (a->body malloc'd, or status 500 when out of memory). */
void admin_route(struct broker_admin *a, const struct http_request *req, struct http_answer *out);

/* Why this broker is not ready, or NULL when it is: /readyz and /v1/cluster. */
const char *admin_not_ready(const struct broker *b);

#endif
