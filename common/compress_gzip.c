/* gzip (Kafka codec 1): zlib with the gzip wrapper, what Java's
 * GZIPOutputStream writes and GZIPInputStream reads. */
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "compress_impl.h"
#include "errors.h"

#define GZIP_WINDOW (15 + 16) /* 32 KiB window, gzip header and trailer only */

int compress_gzip_encode(int level, const uint8_t *src, size_t len, uint8_t **dst,
                         size_t *cap, size_t at, size_t *out_len) {
  if (level < 0 || level > 9) return STRATA_EINVALID_ARGUMENT;
  if (len > UINT_MAX / 2) return STRATA_ETOO_LARGE; /* zlib counts in uInt */
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return STRATA_ENOMEM;
  size_t bound = deflateBound(&zs, (uLong)len);
  int rc = compress_grow(dst, cap, at + bound);
  if (!rc) {
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)len;
    zs.next_out = *dst + at;
    zs.avail_out = (uInt)bound;
    /* deflateBound's room lets one Z_FINISH write the whole stream. */
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) rc = STRATA_ECOMPRESSION;
    else *out_len = bound - zs.avail_out;
  }
  deflateEnd(&zs);
  return rc;
}

/* Inflate member after member until the input ends exactly after one: a
 * member cut short or bytes that do not start another member are an error.
 * Output goes through the sink, so the limit holds whatever ISIZE says. */
int compress_gzip_decode(const uint8_t *src, size_t len, struct compress_sink *s) {
  if (len == 0) return STRATA_ECOMPRESSION;
  if (len > UINT_MAX) return STRATA_ETOO_LARGE;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, GZIP_WINDOW) != Z_OK) return STRATA_ENOMEM;
  /* deflate expands at most ~1032:1; a first guess of 4x the input. */
  int rc = compress_sink_reserve(s, len * 4);
  zs.next_in = (Bytef *)(uintptr_t)src;
  zs.avail_in = (uInt)len;
  while (!rc) {
    uint8_t *p;
    size_t n;
    if ((rc = compress_sink_room(s, &p, &n))) break;
    if (n > UINT_MAX) n = UINT_MAX;
    zs.next_out = p;
    zs.avail_out = (uInt)n;
    int z = inflate(&zs, Z_NO_FLUSH);
    if ((rc = compress_sink_wrote(s, p, n - zs.avail_out))) break;
    if (z == Z_STREAM_END) {
      if (zs.avail_in == 0) break; /* the last member ended with the input */
      if (inflateReset(&zs) != Z_OK) rc = STRATA_ECOMPRESSION;
    } else if (z == Z_MEM_ERROR) {
      rc = STRATA_ENOMEM;
    } else if (z == Z_BUF_ERROR) {
      /* No progress: with room left, the input ran out mid-member. */
      if (zs.avail_out > 0) rc = STRATA_ECOMPRESSION;
    } else if (z != Z_OK) {
      rc = STRATA_ECOMPRESSION; /* Z_DATA_ERROR (bad data or CRC), Z_NEED_DICT */
    } else if (zs.avail_in == 0 && zs.avail_out > 0) {
      rc = STRATA_ECOMPRESSION; /* everything read, member not finished */
    }
  }
  inflateEnd(&zs);
  return rc;
}
