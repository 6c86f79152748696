#include "frame.h"

#include "errors.h"

int frame_parse(const uint8_t *buf, size_t len, uint32_t max_frame,
                struct frame *f, size_t *need) {
  if (len < 4) {
    if (need) *need = 4;
    return 0;
  }
  uint32_t flen = be32_load(buf);
  if (flen > max_frame) return STRATA_ETOO_LARGE;
  if (flen < 4) return STRATA_EINVALID_REQUEST;
  if (len >= 8) {
    uint32_t hlen = be32_load(buf + 4);
    if (hlen > FRAME_HEADER_MAX) return STRATA_ETOO_LARGE;
    if (hlen > flen - 4) return STRATA_EINVALID_REQUEST;
  }
  size_t total = (size_t)flen + 4;
  if (len < total) {
    if (need) *need = total;
    return 0;
  }
  uint32_t hlen = be32_load(buf + 4);
  f->header = buf + FRAME_PREFIX_SIZE;
  f->header_len = hlen;
  f->payload = buf + FRAME_PREFIX_SIZE + hlen;
  f->payload_len = flen - 4 - hlen;
  return (int)total;
}

void frame_write_prefix(uint8_t out[FRAME_PREFIX_SIZE], uint32_t header_len,
                        uint32_t payload_len) {
  be32_store(out, 4 + header_len + payload_len);
  be32_store(out + 4, header_len);
}
