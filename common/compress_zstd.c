/* zstd (Kafka codec 4): zstd frames, as zstd-jni's stream (Java, content size
 * unknown) and librdkafka (content size known) write them. */
#include <zstd.h>

#include "compress.h"
#include "compress_impl.h"
#include "errors.h"

/* One context per thread: creating a zstd context costs more than
 * compressing a small batch. */
static _Thread_local ZSTD_CCtx *cctx;
static _Thread_local ZSTD_DCtx *dctx;

int compress_zstd_encode(int level, const uint8_t *src, size_t len, uint8_t **dst,
                         size_t *cap, size_t at, size_t *out_len) {
  if (!cctx && !(cctx = ZSTD_createCCtx())) return STRATA_ENOMEM;
  size_t bound = ZSTD_compressBound(len);
  if (compress_grow(dst, cap, at + bound)) return STRATA_ENOMEM;
  size_t n = ZSTD_compressCCtx(cctx, *dst + at, bound, src, len, level ? level : 3);
  if (ZSTD_isError(n)) return STRATA_ECOMPRESSION;
  *out_len = n;
  return 0;
}

/* Streaming, so the output only ever lives in the sink; a declared content
 * size over the limit is refused before anything is allocated, one within
 * it sizes the buffer. The window a frame asks for is capped (the one
 * allocation of the decoder's own). Frames may follow each other. */
int compress_zstd_decode(const uint8_t *src, size_t len, struct compress_sink *s) {
  if (!dctx) {
    if (!(dctx = ZSTD_createDCtx())) return STRATA_ENOMEM;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
                                            COMPRESS_ZSTD_WINDOW_LOG_MAX))) {
      ZSTD_freeDCtx(dctx);
      dctx = NULL;
      return STRATA_ENOMEM;
    }
  }
  unsigned long long claimed = ZSTD_getFrameContentSize(src, len);
  if (claimed == ZSTD_CONTENTSIZE_ERROR) return STRATA_ECOMPRESSION;
  size_t want = len * 4;
  if (claimed != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (claimed > s->limit) return STRATA_ETOO_LARGE;
    want = (size_t)claimed;
  }
  int rc = compress_sink_reserve(s, want);
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer in = {src, len, 0};
  while (!rc) {
    uint8_t *p;
    size_t n;
    if ((rc = compress_sink_room(s, &p, &n))) break;
    ZSTD_outBuffer out = {p, n, 0};
    size_t r = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(r)) return STRATA_ECOMPRESSION;
    if ((rc = compress_sink_wrote(s, p, out.pos))) break;
    if (r == 0 && in.pos == in.size) break; /* last frame complete */
    /* Room left and the input used up: a frame is cut short. */
    if (r != 0 && in.pos == in.size && out.pos < out.size) rc = STRATA_ECOMPRESSION;
  }
  return rc;
}
