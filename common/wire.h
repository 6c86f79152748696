/* Packing and unpacking the protobuf Header of a frame. protobuf-c's unpack
 * says only NULL; this is the one place that maps it to an error code, and
 * the one place frames are assembled (prefix + header + payload). */
#ifndef STRATA_WIRE_H
#define STRATA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/strata.pb-c.h"

/* Unpack a header; *out is freed with wire_header_free. 0 or
 * STRATA_EINVALID_REQUEST (malformed protobuf). */
int wire_header_unpack(const uint8_t *buf, size_t len, Strata__Header **out);
void wire_header_free(Strata__Header *h);

/* Prefix + packed header in one malloc'd buffer (*out, *out_len); the payload
 * (payload_len bytes) is sent after it by the caller. 0 or STRATA_ENOMEM /
 * STRATA_ETOO_LARGE (header over FRAME_HEADER_MAX). */
int wire_frame_head(const Strata__Header *h, uint32_t payload_len,
                    uint8_t **out, size_t *out_len);

#endif
