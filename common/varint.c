#include "varint.h"

static size_t uvarint_encode(uint8_t *p, uint64_t u) {
  size_t n = 0;
  while (u >= 0x80) {
    p[n++] = (uint8_t)(u | 0x80);
    u >>= 7;
  }
  p[n++] = (uint8_t)u;
  return n;
}

static size_t uvarint_size(uint64_t u) {
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    n++;
  }
  return n;
}

/* Reads at most max_bytes groups; the last allowed group may only carry the
 * bits the type has left, so an overlong encoding is malformed, not wrapped. */
static size_t uvarint_decode(const uint8_t *p, size_t len, size_t max_bytes,
                             uint64_t *out) {
  uint64_t v = 0;
  for (size_t i = 0; i < len && i < max_bytes; i++) {
    uint64_t b = p[i];
    if (i == max_bytes - 1 && (b >> (max_bytes == 5 ? 4 : 1)) != 0) return 0;
    v |= (b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

static uint64_t zigzag64(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static uint32_t zigzag32(int32_t v) {
  return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

size_t varint_encode(uint8_t *p, int32_t v) { return uvarint_encode(p, zigzag32(v)); }
size_t varlong_encode(uint8_t *p, int64_t v) { return uvarint_encode(p, zigzag64(v)); }
size_t varint_size(int32_t v) { return uvarint_size(zigzag32(v)); }
size_t varlong_size(int64_t v) { return uvarint_size(zigzag64(v)); }

size_t varint_decode(const uint8_t *p, size_t len, int32_t *out) {
  uint64_t u;
  size_t n = uvarint_decode(p, len, VARINT_MAX_BYTES, &u);
  if (n) {
    uint32_t z = (uint32_t)u;
    *out = (int32_t)((z >> 1) ^ (0u - (z & 1)));
  }
  return n;
}

size_t varlong_decode(const uint8_t *p, size_t len, int64_t *out) {
  uint64_t u;
  size_t n = uvarint_decode(p, len, VARLONG_MAX_BYTES, &u);
  if (n) *out = (int64_t)((u >> 1) ^ (0 - (u & 1)));
  return n;
}
