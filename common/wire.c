#include "wire.h"

#include <stdlib.h>

#include "errors.h"
#include "frame.h"

int wire_header_unpack(const uint8_t *buf, size_t len, Strata__Header **out) {
  Strata__Header *h = strata__header__unpack(NULL, len, buf);
  if (!h) return STRATA_EINVALID_REQUEST;
  *out = h;
  return 0;
}

void wire_header_free(Strata__Header *h) {
  if (h) strata__header__free_unpacked(h, NULL);
}

int wire_frame_head(const Strata__Header *h, uint32_t payload_len,
                    uint8_t **out, size_t *out_len) {
  size_t hl = strata__header__get_packed_size(h);
  if (hl > FRAME_HEADER_MAX) return STRATA_ETOO_LARGE;
  uint8_t *b = malloc(FRAME_PREFIX_SIZE + hl);
  if (!b) return STRATA_ENOMEM;
  frame_write_prefix(b, (uint32_t)hl, payload_len);
  strata__header__pack(h, b + FRAME_PREFIX_SIZE);
  *out = b;
  *out_len = FRAME_PREFIX_SIZE + hl;
  return 0;
}
