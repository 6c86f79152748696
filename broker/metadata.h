/* Cluster mode: what a broker does with the controller's metadata images
 * (metadata.c). Called by the glue (cluster_uv.c, the simulator) with each
 * image a heartbeat brings. */
#ifndef STRATA_METADATA_H
#define STRATA_METADATA_H

#include <stdint.h>

#include "common/acl.h"
#include "common/scram.h"
#include "proto/strata.pb-c.h"

struct broker;

/* Adopt a metadata image from the controller: peers, topics to create or
 * delete locally, and each partition's role, leader epoch and ISR. A topic
 * is deleted only when the image records its delete (DESIGN.md T9); a
 * controller of another cluster is not followed by a broker holding topics.
 * Returns 1 when the image was adopted (the caller then lets the
 * coordinators follow the offsets partitions' leaders: offsets_log_sync),
 * 0 when it was ignored (older, or of another cluster). */
int metadata_apply_image(struct broker *b, const Strata__MetadataImage *img, int64_t now_ms);

/* Users and ACLs as the last image gave them (cluster mode; a standalone
 * broker has none). For SASL (common/sasl) and the authorizer (common/acl).
 * The pointers stay valid until the next image is adopted: copy a
 * credential that must outlive the current loop turn.
 * The credential of user ("alice", no "User:") for mechanism m, or NULL. */
const struct scram_credential *metadata_scram_credential(const struct broker *b,
                                                         const char *user, enum scram_mech m);
/* The cluster's ACLs; never NULL (n 0 when none). */
const struct acl_set *metadata_acls(const struct broker *b);

#endif
