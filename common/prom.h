/* The Prometheus text exposition format (0.0.4), written by hand: no C
 * client library is packaged in Debian (docs/admin.md lists the metrics).
 * Counters are plain integers owned by whoever counts (one event loop per
 * server, so no atomics); this file writes families and histograms. */
#ifndef STRATA_PROM_H
#define STRATA_PROM_H

#include <stdint.h>

#include "common/http_request.h"
#include "common/textbuf.h"

#define PROM_BUCKETS 16 /* finite upper bounds; +Inf is one more */

/* Latency histogram in seconds, buckets 100 us .. 10 s (docs/admin.md). */
struct prom_histogram {
  uint64_t counts[PROM_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
  uint64_t count;
  double sum;
};

extern const double prom_bounds[PROM_BUCKETS];

void prom_observe(struct prom_histogram *h, double seconds);

/* "# HELP name help" and "# TYPE name type". */
void prom_family(struct textbuf *t, const char *name, const char *type, const char *help);
/* One sample without labels. */
void prom_sample_u(struct textbuf *t, const char *name, uint64_t v);
void prom_sample_i(struct textbuf *t, const char *name, int64_t v);
void prom_sample_d(struct textbuf *t, const char *name, double v);
/* The _bucket, _sum and _count lines of h; labels is "" or `key="v",...`
 * (already escaped). */
void prom_histogram_write(struct textbuf *t, const char *name, const char *labels,
                          const struct prom_histogram *h);

/* process_* (the standard collector's names, from /proc/self) and
 * strata_storage_disk_{free,total}_bytes of the file system holding dir. */
void prom_process(struct textbuf *t);
void prom_disk(struct textbuf *t, const char *dir);

/* strata_connections*: the client listener's counts and the admin one's. */
/* TLS on the listeners: the server certificate's notAfter (Unix seconds;
 * nothing when there is no TLS listener, cert_not_after <= 0) and the
 * handshakes that failed (bad or missing client certificate, old protocol,
 * plaintext on a TLS port, deadline). */
void prom_tls(struct textbuf *t, int64_t cert_not_after, uint64_t handshake_failures);
void prom_connections(struct textbuf *t, size_t client_open, uint64_t client_opened,
                      uint64_t client_refused, const struct http_server_stats *admin);

/* strata_authentications_total{result="success|failure"}: SASL exchanges. */
void prom_authentications(struct textbuf *t, uint64_t success, uint64_t failure);

#endif
