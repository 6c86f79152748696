/* The broker's request entry (dispatch.c): one table of handlers by api key
 * and version range; an unknown key, version or body gets an error answer.
 * What the glue (server_uv.c, the simulator) calls with each request. */
#ifndef STRATA_DISPATCH_H
#define STRATA_DISPATCH_H

#include <stdint.h>

#include "broker/response.h"
#include "common/principal.h"
#include "proto/strata.pb-c.h"

struct broker;

/* Handle one request. who is the principal its connection authenticated
 * as (PRINCIPAL_ANONYMOUS without authentication; NULL is taken as that),
 * req the unpacked header, payload the frame payload (mutable: produce
 * rewrites batch headers in place). The request is authorized (broker/authz.h)
 * before and while its handler runs: the handlers read the caller from
 * b->caller, set here for the call only. Always fills resp with a response
 * (errors included). */
void dispatch_handle(struct broker *b, const struct principal *who, const Strata__Header *req,
                     uint8_t *payload, uint32_t payload_len, struct response *resp);

/* Re-run a parked fetch; final = 1 when its deadline passed (answer anyway).
 * No new authorization: a fetch parks only when its first run had no error,
 * so every partition in it was authorized then. */
void dispatch_fetch_again(struct broker *b, const Strata__Header *req, struct response *resp,
                          int final);

#endif
