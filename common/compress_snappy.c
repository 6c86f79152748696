/* snappy (Kafka codec 2). The Java client wraps snappy in snappy-java's
 * stream framing (SnappyOutputStream): an 8-byte magic "\x82SNAPPY\0", be32
 * version and be32 compatible version (both 1), then chunks of [be32
 * compressed length][raw snappy block], each block compressing at most 32 KiB.
 * librdkafka produces one raw snappy block without framing; both Java's
 * SnappyInputStream and librdkafka read either, told apart by the magic (a
 * raw block cannot begin with it: its first element would be a copy with
 * nothing before it to copy). We write the framing, read both. */
#include <snappy-c.h>
#include <string.h>

#include "bytes.h"
#include "compress_impl.h"
#include "errors.h"

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER 16         /* magic, version, compatible version */
#define XERIAL_VERSION 1
#define XERIAL_BLOCK (32u << 10) /* SnappyOutputStream's default block */
/* Snappy's most productive element is a 3-byte copy of 64 bytes: a block
 * declaring more than 22 bytes out per byte in cannot be valid, so its
 * claim is refused before anything is allocated for it. */
#define SNAPPY_RATIO_MAX 22

int compress_snappy_encode(const uint8_t *src, size_t len, uint8_t **dst, size_t *cap,
                           size_t at, size_t *out_len) {
  size_t blocks = (len + XERIAL_BLOCK - 1) / XERIAL_BLOCK;
  size_t block_max = snappy_max_compressed_length(len < XERIAL_BLOCK ? len : XERIAL_BLOCK);
  int rc = compress_grow(dst, cap, at + XERIAL_HEADER + blocks * (4 + block_max));
  if (rc) return rc;
  uint8_t *o = *dst + at;
  memcpy(o, xerial_magic, sizeof xerial_magic);
  be32_store(o + 8, XERIAL_VERSION);
  be32_store(o + 12, XERIAL_VERSION);
  size_t w = XERIAL_HEADER;
  for (size_t i = 0; i < len; i += XERIAL_BLOCK) {
    size_t n = len - i < XERIAL_BLOCK ? len - i : XERIAL_BLOCK;
    size_t clen = block_max;
    if (snappy_compress((const char *)src + i, n, (char *)o + w + 4, &clen) != SNAPPY_OK)
      return STRATA_ECOMPRESSION;
    be32_store(o + w, (uint32_t)clen);
    w += 4 + clen;
  }
  *out_len = w;
  return 0;
}

/* One raw snappy block appended to the sink: its declared length is checked
 * against the limit and against what the input could possibly hold before
 * the bytes are taken. */
static int raw_block(const uint8_t *src, size_t len, struct compress_sink *s) {
  size_t n;
  if (snappy_uncompressed_length((const char *)src, len, &n) != SNAPPY_OK)
    return STRATA_ECOMPRESSION;
  if (n > s->limit - s->len) return STRATA_ETOO_LARGE;
  if (n / SNAPPY_RATIO_MAX > len) return STRATA_ECOMPRESSION;
  uint8_t *p;
  int rc = compress_sink_take(s, n, &p);
  if (rc) return rc;
  size_t got = n;
  if (snappy_uncompress((const char *)src, len, (char *)p, &got) != SNAPPY_OK || got != n)
    return STRATA_ECOMPRESSION;
  return 0;
}

int compress_snappy_decode(const uint8_t *src, size_t len, struct compress_sink *s) {
  if (len < sizeof xerial_magic || memcmp(src, xerial_magic, sizeof xerial_magic))
    return raw_block(src, len, s);
  size_t pos = 0;
  while (pos < len) {
    /* A header: the stream's own, or one from a concatenated stream (its
     * first byte, 0x82, can never begin a chunk length: lengths are below
     * 2^31). Version numbers are not checked, as SnappyInputStream does
     * not refuse newer ones. */
    if (src[pos] == xerial_magic[0]) {
      if (len - pos < XERIAL_HEADER ||
          memcmp(src + pos, xerial_magic, sizeof xerial_magic))
        return STRATA_ECOMPRESSION;
      pos += XERIAL_HEADER;
      continue;
    }
    if (len - pos < 4) return STRATA_ECOMPRESSION;
    uint32_t n = be32_load(src + pos);
    pos += 4;
    if (n == 0 || n > len - pos) return STRATA_ECOMPRESSION;
    int rc = raw_block(src + pos, n, s);
    if (rc) return rc;
    pos += n;
  }
  return 0;
}
