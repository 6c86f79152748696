/* lz4 (Kafka codec 3): one standard LZ4 frame, as Kafka's
 * Lz4BlockOutputStream writes for magic >= 1 (magic 0's broken header
 * checksum does not occur in RecordBatch v2). Kafka's Java reader accepts
 * only independent blocks of 64 KiB-4 MiB and checks a content checksum when
 * the frame has one; we write 64 KiB independent blocks with a content
 * checksum, and read any frame liblz4 reads, its checksums verified. */
#include <lz4frame.h>
#include <string.h>

#include "compress_impl.h"
#include "errors.h"

/* Creating a decompression context allocates; one per thread is reused. */
static _Thread_local LZ4F_dctx *dctx;

int compress_lz4_encode(int level, const uint8_t *src, size_t len, uint8_t **dst,
                        size_t *cap, size_t at, size_t *out_len) {
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.compressionLevel = level;
  size_t bound = LZ4F_compressFrameBound(len, &prefs);
  if (LZ4F_isError(bound)) return STRATA_ECOMPRESSION;
  int rc = compress_grow(dst, cap, at + bound);
  if (rc) return rc;
  size_t n = LZ4F_compressFrame(*dst + at, bound, src, len, &prefs);
  if (LZ4F_isError(n)) return STRATA_ECOMPRESSION;
  *out_len = n;
  return 0;
}

/* LZ4F_decompress copes with any split of input and output, so output goes
 * straight through the sink; a declared content size is only a first guess
 * of the size, believed up to what lz4 can expand to (255:1). */
int compress_lz4_decode(const uint8_t *src, size_t len, struct compress_sink *s) {
  if (!dctx && LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return STRATA_ENOMEM;
  LZ4F_resetDecompressionContext(dctx); /* a previous error leaves it mid-frame */
  LZ4F_frameInfo_t fi;
  size_t pos = len;
  size_t r = LZ4F_getFrameInfo(dctx, &fi, src, &pos);
  if (LZ4F_isError(r)) return STRATA_ECOMPRESSION;
  if (fi.contentSize > s->limit) return STRATA_ETOO_LARGE;
  int rc = compress_sink_reserve(
      s, fi.contentSize && fi.contentSize / 255 <= len ? (size_t)fi.contentSize : len * 4);
  while (!rc) {
    uint8_t *p;
    size_t n;
    if ((rc = compress_sink_room(s, &p, &n))) break;
    size_t in = len - pos;
    r = LZ4F_decompress(dctx, p, &n, src + pos, &in, NULL);
    if (LZ4F_isError(r)) return STRATA_ECOMPRESSION;
    pos += in;
    if ((rc = compress_sink_wrote(s, p, n))) break;
    if (r == 0) { /* frame complete, checksums checked */
      if (pos != len) rc = STRATA_ECOMPRESSION; /* bytes after the frame */
      break;
    }
    if (in == 0 && n == 0) rc = STRATA_ECOMPRESSION; /* input ended mid-frame */
  }
  return rc;
}
