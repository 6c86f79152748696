/* Kafka's four record-batch codecs, in Kafka's own framings, with hard
 * bounds: a decompression never writes more than the caller's limit into the
 * caller's buffer, whatever the stream claims, so a hostile batch cannot make
 * a process allocate without bound.
 *
 * Codec numbers are Kafka's (RecordBatch attributes bits 0-2). Framings:
 *   gzip    a gzip stream (RFC 1952), as java.util.zip's GZIPOutputStream
 *           writes; concatenated members are read one after the other (as
 *           GZIPInputStream does); anything after the last member is an error.
 *   snappy  written in snappy-java's (xerial) stream framing, what the Java
 *           client writes: "\x82SNAPPY\0", be32 version 1, be32 compatible
 *           version 1, then chunks [be32 length][raw snappy block of at most
 *           32 KiB input]. Read: that framing (a repeated header between
 *           chunks, as from concatenated streams, is skipped) or one raw
 *           snappy block without framing (what librdkafka writes).
 *   lz4     one standard LZ4 frame (liblz4's LZ4F, frame format 1.6), as
 *           Kafka's Lz4BlockOutputStream writes since magic 1: written with
 *           independent 64 KiB blocks (the Java reader wants independent
 *           blocks) and a content checksum; read: any valid frame, block and
 *           content checksums checked; bytes after the frame are an error.
 *   zstd    zstd frames (concatenated frames and skippable frames read);
 *           written as one frame with its content size. A frame may ask for
 *           a window of at most 2^COMPRESS_ZSTD_WINDOW_LOG_MAX bytes.
 * Errors: STRATA_ECOMPRESSION for bad or truncated data (checksum mismatch
 * included), STRATA_ETOO_LARGE past the limit, STRATA_ENOMEM,
 * STRATA_EUNSUPPORTED_COMPRESSION for a codec number that is not one of the
 * four. */
#ifndef STRATA_COMPRESS_H
#define STRATA_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum compress_codec {
  COMPRESS_NONE = 0,
  COMPRESS_GZIP = 1,
  COMPRESS_SNAPPY = 2,
  COMPRESS_LZ4 = 3,
  COMPRESS_ZSTD = 4,
};
#define COMPRESS_CODEC_MAX 4

/* The window a zstd frame may demand (2^27, libzstd's own default): the
 * decoder's one allocation the output limit does not cover. */
#define COMPRESS_ZSTD_WINDOW_LOG_MAX 27

/* "none", "gzip", "snappy", "lz4", "zstd"; NULL for any other number. */
const char *compress_name(int codec);
/* The reverse of compress_name: 0, or STRATA_EINVALID_ARGUMENT. */
int compress_parse(const char *name, int *codec);

/* Compress src in `codec`'s Kafka framing into *dst starting at byte `at`
 * (the buffer is grown with realloc as needed, *cap updated; bytes before
 * `at` are kept). level 0 is the codec's default (gzip 6, lz4 its fast mode,
 * zstd 3); gzip takes 1-9, lz4 LZ4F's levels (3+ is its HC mode), zstd its
 * levels; snappy has none. Returns 0 and sets *out_len to the compressed
 * size. */
int compress_encode(int codec, int level, const uint8_t *src, size_t len,
                    uint8_t **dst, size_t *cap, size_t at, size_t *out_len);

/* Decompress src (the whole compressed section) into *dst, grown as needed
 * but never past `limit` bytes of output. Sets *out_len. */
int compress_decode(int codec, const uint8_t *src, size_t len, size_t limit,
                    uint8_t **dst, size_t *cap, size_t *out_len);

#endif
