/* The frame codec of every Strata connection:
 *   u32 frame_length (big-endian; bytes after this field)
 *   u32 header_length
 *   header (protobuf Header), payload (raw batches)
 * frame_parse is a resumable parser over a contiguous buffer: it never
 * allocates, tells the caller how many bytes a partial frame still needs, and
 * refuses an oversized frame as soon as its 4-byte length is visible. */
#ifndef STRATA_FRAME_H
#define STRATA_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define FRAME_PREFIX_SIZE 8          /* frame_length + header_length */
#define FRAME_MAX_DEFAULT (64u << 20) /* default limit on frame_length */
#define FRAME_HEADER_MAX (1u << 20)   /* protobuf header limit */

struct frame {
  const uint8_t *header;
  uint32_t header_len;
  const uint8_t *payload;
  uint32_t payload_len;
};

/* Parse one frame at the start of buf[0..len).
 * > 0: a whole frame is present; *f points into buf; returns bytes consumed.
 * 0:   incomplete; *need (if not NULL) is the total bytes the frame needs
 *      (4 until the length is visible).
 * < 0: STRATA_ETOO_LARGE (frame_length > max_frame, or header over
 *      FRAME_HEADER_MAX) or STRATA_EINVALID_REQUEST (header_length does not
 *      fit in the frame; frame_length < 4). The stream cannot be resynced. */
int frame_parse(const uint8_t *buf, size_t len, uint32_t max_frame,
                struct frame *f, size_t *need);

/* Write the 8-byte prefix for a frame with these section sizes. */
void frame_write_prefix(uint8_t out[FRAME_PREFIX_SIZE], uint32_t header_len,
                        uint32_t payload_len);

#endif
