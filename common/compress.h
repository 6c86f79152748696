/* zstd for record batches, with hard bounds: a decompression never produces
 * more than the caller's limit, whatever the frame claims, so a hostile batch
 * cannot make a process allocate without bound. */
#ifndef STRATA_COMPRESS_H
#define STRATA_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Compress src into *dst starting at byte `at` (the buffer is grown with
 * realloc as needed, *cap updated; bytes before `at` are kept). Returns 0 and
 * sets *out_len to the compressed size, or STRATA_ENOMEM / STRATA_ECOMPRESSION. */
int zstd_compress_buf(const uint8_t *src, size_t len, int level, uint8_t **dst,
                      size_t *cap, size_t at, size_t *out_len);

/* Decompress src into *dst (grown as needed up to `limit` bytes).
 * STRATA_ETOO_LARGE past the limit, STRATA_ECOMPRESSION on bad data. */
int zstd_decompress_buf(const uint8_t *src, size_t len, size_t limit,
                        uint8_t **dst, size_t *cap, size_t *out_len);

#endif
