/* What the broker counts for /metrics (docs/admin.md) that its state does
 * not already hold: request and fsync latencies, replication bytes, the
 * client listener's connections. Per-topic counters live in struct topic.
 * Plain integers: one loop thread counts and renders. */
#ifndef STRATA_BROKER_METRICS_H
#define STRATA_BROKER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "broker/ack_stages.h"
#include "common/prom.h"

#define METRICS_API_SLOTS 72 /* native API keys are below this */
#define METRICS_API_FETCH_FOLLOWER METRICS_API_SLOTS /* a follower's fetch, apart */
#define METRICS_ERRORS (STRATA_ERROR_CODE_MAX + 1) /* wire error codes (common/errors.h):
                                                     a refusal by the authorizer counts as one */

struct broker_metrics {
  struct prom_histogram request[METRICS_API_SLOTS + 1];
  /* answers by API and error code (0: none; a produce counts its first
   * partition error when the request itself succeeded) */
  uint64_t answers[METRICS_API_SLOTS + 1][METRICS_ERRORS];
  struct prom_histogram fsync;
  uint64_t fsync_errors;
  uint64_t replication_in, replication_out;
  uint64_t conns_opened, conns_refused;
  uint64_t auth_success, auth_failure; /* SASL exchanges (strata_authentications_total) */
  uint64_t corrupt_batches;  /* damaged batches found by reads and the scrubber */
  uint64_t scrub_bytes;      /* read by the scrubber */
  struct ack_probe_metrics ack; /* where acks=all answers spend their time (ack_probe.h) */
};

#endif
