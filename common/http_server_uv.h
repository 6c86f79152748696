/* The admin HTTP listener's libuv glue (docs/admin.md): accepts, reads one
 * request head into a fixed buffer (common/http_request.c parses it), asks
 * the server's route function for the answer, writes it and closes. Every
 * resource is bounded: a head of HTTP_REQUEST_MAX bytes, 5 s for the head to
 * arrive and 30 s for the answer to leave, and at most conns_max connections
 * (one more evicts the oldest still reading its head, so idle or trickling
 * clients cannot lock a scraper out). It decides nothing about content. */
#ifndef STRATA_HTTP_SERVER_UV_H
#define STRATA_HTTP_SERVER_UV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/http_request.h"
#include "common/tls.h"

#define HTTP_HEAD_TIMEOUT_MS 5000
#define HTTP_WRITE_TIMEOUT_MS 30000

typedef void (*http_route_fn)(void *arg, const struct http_request *req, struct http_answer *a);

struct http_server;

/* Bind host:port (port 0: the kernel picks; http_server_port says which).
 * 0, or a libuv error with err saying why. */
int http_server_start(struct http_server **out, uv_loop_t *loop, const char *host, int port,
                      size_t conns_max, http_route_fn route, void *arg, char *err,
                      size_t err_len);
int http_server_port(const struct http_server *s);
/* HTTPS from now on: new connections use ctx (referenced; NULL: back to
 * HTTP). Called again on SIGHUP with the reloaded context; open
 * connections keep theirs. */
void http_server_set_tls(struct http_server *s, struct tls_ctx *ctx);
const struct http_server_stats *http_server_stats(const struct http_server *s);
/* Close the listener and every connection; memory goes once libuv has
 * closed the handles (run the loop). NULL is a no-op. */
void http_server_stop(struct http_server *s);

#endif
