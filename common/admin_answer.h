/* What the broker's and the controller's admin endpoints (broker/admin.c,
 * controller/admin.c) write the same way: path matching, a broker as
 * /v1/cluster lists it, and handing the rendered body to the listener. */
#ifndef STRATA_ADMIN_ANSWER_H
#define STRATA_ADMIN_ANSWER_H

#include <stdint.h>

#include "common/http_request.h"
#include "common/textbuf.h"

/* The request's path is exactly p (no query string). */
int admin_is_path(const struct http_request *req, const char *p);

/* One element of /v1/cluster's "brokers" array (a comma first unless first). */
void admin_json_broker(struct textbuf *t, int first, int32_t id, const char *host, unsigned port,
                       const char *rack, int64_t epoch, int fenced, const char *admin);

/* Move t's text into out as its body; a render that ran out of memory
 * answers 500 with no body instead. t is empty after. */
void admin_answer_body(struct textbuf *t, struct http_answer *out);

#endif
