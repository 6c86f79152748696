/* The broker's libuv layer: TCP connections and frame I/O, ordered
 * per-connection responses, the group-commit fsync on libuv's thread pool,
 * long-poll fetch deadlines, periodic flush and retention. All decisions are
 * made by broker.h; this file only moves bytes and events. */
#ifndef STRATA_SERVER_UV_H
#define STRATA_SERVER_UV_H

#include "broker/broker.h"

/* Most requests one connection may have in flight before the server stops
 * reading from it (clients pipeline; this bounds memory per client). */
#define CONN_PENDING_MAX 256
/* Output queued on one connection before the server stops reading from it. */
#define CONN_WRITE_QUEUE_MAX (64u << 20)

/* Listen on the configured address and run until SIGINT/SIGTERM. Returns 0
 * after a clean shutdown (every log fsynced) or a negative STRATA_E*. */
int server_run(struct broker *b);

#endif
