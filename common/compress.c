#include "compress.h"

#include <stdlib.h>
#include <zstd.h>

#include "errors.h"

static int grow(uint8_t **buf, size_t *cap, size_t want) {
  if (*cap >= want) return 0;
  size_t n = *cap ? *cap : 4096;
  while (n < want) n *= 2;
  uint8_t *p = realloc(*buf, n);
  if (!p) return STRATA_ENOMEM;
  *buf = p;
  *cap = n;
  return 0;
}

/* One context per thread: creating a zstd context costs more than
 * compressing a small batch. */
static _Thread_local ZSTD_CCtx *cctx;
static _Thread_local ZSTD_DCtx *dctx;

int zstd_compress_buf(const uint8_t *src, size_t len, int level, uint8_t **dst,
                      size_t *cap, size_t at, size_t *out_len) {
  if (!cctx && !(cctx = ZSTD_createCCtx())) return STRATA_ENOMEM;
  size_t bound = ZSTD_compressBound(len);
  if (grow(dst, cap, at + bound)) return STRATA_ENOMEM;
  size_t n = ZSTD_compressCCtx(cctx, *dst + at, *cap - at, src, len,
                               level ? level : 3);
  if (ZSTD_isError(n)) return STRATA_ECOMPRESSION;
  *out_len = n;
  return 0;
}

int zstd_decompress_buf(const uint8_t *src, size_t len, size_t limit,
                        uint8_t **dst, size_t *cap, size_t *out_len) {
  if (!dctx && !(dctx = ZSTD_createDCtx())) return STRATA_ENOMEM;
  unsigned long long claimed = ZSTD_getFrameContentSize(src, len);
  if (claimed == ZSTD_CONTENTSIZE_ERROR) return STRATA_ECOMPRESSION;
  size_t want = 64 << 10;
  if (claimed != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (claimed > limit) return STRATA_ETOO_LARGE;
    want = claimed ? (size_t)claimed : 1;
  }
  if (grow(dst, cap, want)) return STRATA_ENOMEM;
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer in = {src, len, 0};
  size_t produced = 0;
  for (;;) {
    ZSTD_outBuffer out = {*dst + produced, *cap - produced, 0};
    size_t r = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(r)) return STRATA_ECOMPRESSION;
    produced += out.pos;
    if (produced > limit) return STRATA_ETOO_LARGE;
    if (r == 0) break; /* frame complete */
    if (in.pos == in.size && out.pos < out.size) return STRATA_ECOMPRESSION;
    if (produced == *cap) {
      if (*cap >= limit) return STRATA_ETOO_LARGE;
      size_t next = *cap * 2 > limit ? limit : *cap * 2;
      if (grow(dst, cap, next)) return STRATA_ENOMEM;
    }
  }
  if (in.pos != in.size) return STRATA_ECOMPRESSION; /* trailing garbage */
  *out_len = produced;
  return 0;
}
