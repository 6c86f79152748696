/* The controller quorum's libuv glue (issue 14): a connection to each
 * other voter's controller listener carrying QuorumMessage frames (api key
 * API_QUORUM; one-way: answers come back on the peer's own connection).
 * The links follow the voter set in effect and its addresses
 * (qnode_links, qnode_peer_addr: a VotersRecord's, or
 * controller.quorum.voters' before the first), plus a link to each
 * observer being answered (at the address its messages carry). Also the
 * core's timer (update.deadline_ms), and the metadata log's fdatasync in
 * libuv's threadpool, reported to the core as PERSISTED. Decides nothing:
 * controller/qnode.c carries out the core's updates. */
#ifndef STRATA_QUORUM_UV_H
#define STRATA_QUORUM_UV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/tls.h"
#include "controller/controller.h"

/* Wire ctl->qn to the loop and start the core. tls: the listener's ssl.*
 * settings when it is SSL:// (the peer links are then mutual TLS with the
 * same certificate), NULL for PLAINTEXT. changed(arg) runs whenever the
 * high watermark or the leadership moved (release held answers). */
int quorum_uv_start(uv_loop_t *loop, struct controller *ctl, const struct tls_settings *tls,
                    void (*changed)(void *), void *arg);
/* A QuorumMessage arrived on the controller listener. */
void quorum_uv_receive(struct controller *ctl, const Strata__QuorumMessage *m,
                       const uint8_t *payload, size_t payload_len);
/* After a decision was submitted outside the glue (controller_handle):
 * rearm the timer and start the log's fsync. */
void quorum_uv_kick(struct controller *ctl);
/* Close the peers' connections and the timer (shutdown). */
void quorum_uv_stop(void);

#endif
