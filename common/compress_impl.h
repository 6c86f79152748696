/* Inside common/compress: the bounded output buffer every decoder writes
 * through, and each codec's pair of functions (compress_gzip.c,
 * compress_snappy.c, compress_lz4.c, compress_zstd.c). Callers use
 * compress.h. */
#ifndef STRATA_COMPRESS_IMPL_H
#define STRATA_COMPRESS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* The caller's buffer (*buf, *cap), of which `len` bytes are output so far;
 * it is never grown past `limit` bytes. When the output reaches the limit a
 * decoder is handed the small `probe` instead: any byte written there means
 * the stream holds more than the limit (STRATA_ETOO_LARGE), and a stream that
 * ends exactly at the limit still finishes. */
struct compress_sink {
  uint8_t **buf;
  size_t *cap;
  size_t len;
  size_t limit;
  uint8_t probe[64];
};

void compress_sink_init(struct compress_sink *s, uint8_t **buf, size_t *cap, size_t limit);
/* Grow the buffer so `want` more bytes fit, clamped to the limit (a hint:
 * asking for more than the limit allows is not an error here). */
int compress_sink_reserve(struct compress_sink *s, size_t want);
/* Where the next output goes and how much fits there (> 0): the buffer's
 * free space up to the limit, grown first when full, or the probe. */
int compress_sink_room(struct compress_sink *s, uint8_t **p, size_t *n);
/* Count n bytes written at p (from compress_sink_room). */
int compress_sink_wrote(struct compress_sink *s, const uint8_t *p, size_t n);
/* Exactly n contiguous bytes at the end of the output, counted as written:
 * STRATA_ETOO_LARGE when they would pass the limit. */
int compress_sink_take(struct compress_sink *s, size_t n, uint8_t **p);

/* Grow *buf (realloc) to at least `want` bytes: the encoders' output, which
 * each codec bounds from the input size. */
int compress_grow(uint8_t **buf, size_t *cap, size_t want);

int compress_gzip_encode(int level, const uint8_t *src, size_t len, uint8_t **dst,
                         size_t *cap, size_t at, size_t *out_len);
int compress_gzip_decode(const uint8_t *src, size_t len, struct compress_sink *s);
int compress_snappy_encode(const uint8_t *src, size_t len, uint8_t **dst, size_t *cap,
                           size_t at, size_t *out_len);
int compress_snappy_decode(const uint8_t *src, size_t len, struct compress_sink *s);
int compress_lz4_encode(int level, const uint8_t *src, size_t len, uint8_t **dst,
                        size_t *cap, size_t at, size_t *out_len);
int compress_lz4_decode(const uint8_t *src, size_t len, struct compress_sink *s);
int compress_zstd_encode(int level, const uint8_t *src, size_t len, uint8_t **dst,
                         size_t *cap, size_t at, size_t *out_len);
int compress_zstd_decode(const uint8_t *src, size_t len, struct compress_sink *s);

#endif
