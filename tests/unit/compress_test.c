/* Kafka's four codecs (common/compress): round trips, the exact framings
 * Kafka's clients write and read (checked against hand-built vectors from the
 * formats' specifications and against the gzip, lz4 and zstd command-line
 * tools), and the bounds: truncated or garbled input is an error, never a
 * crash, and no stream makes the output pass the limit. */
#include <criterion/criterion.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "common/bytes.h"
#include "common/compress.h"
#include "common/errors.h"

static const int codecs[] = {COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD};
#define NCODECS (sizeof codecs / sizeof codecs[0])

/* Text-like bytes: compressible, never trivially so (a seeded generator). */
static uint8_t *sample(size_t n, uint32_t seed) {
  static const char *const words[] = {"kafka", "record", "batch", "offset", "leader ",
                                      "replica", "{\"id\":", "sensor-", "\n", "0123"};
  uint8_t *p = malloc(n ? n : 1);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n;) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    const char *w = words[x % 10];
    for (size_t k = 0; w[k] && i < n; k++) p[i++] = (uint8_t)w[k];
    if (i < n && x % 7 == 0) p[i++] = (uint8_t)(x >> 8);
  }
  return p;
}

static uint8_t *encode(int codec, const uint8_t *src, size_t len, size_t *out_len) {
  uint8_t *buf = NULL;
  size_t cap = 0;
  cr_assert_eq(compress_encode(codec, 0, src, len, &buf, &cap, 0, out_len), 0, "codec %d", codec);
  return buf;
}

/* decode into a fresh buffer; returns the rc, the buffer in *out. */
static int decode(int codec, const uint8_t *src, size_t len, size_t limit, uint8_t **out,
                  size_t *cap, size_t *out_len) {
  *out = NULL;
  *cap = 0;
  return compress_decode(codec, src, len, limit, out, cap, out_len);
}

Test(compress, names_are_kafkas_and_parse_back) {
  const char *want[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  for (int i = 0; i <= COMPRESS_CODEC_MAX; i++) {
    cr_assert_str_eq(compress_name(i), want[i]);
    int c = -1;
    cr_assert_eq(compress_parse(want[i], &c), 0);
    cr_assert_eq(c, i);
  }
  int c;
  cr_assert_null(compress_name(5));
  cr_assert_null(compress_name(-1));
  cr_assert_eq(compress_parse("brotli", &c), STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(compress_parse("GZIP", &c), STRATA_EINVALID_ARGUMENT);
}

Test(compress, every_codec_round_trips_every_size) {
  /* Around snappy's 32 KiB chunks and lz4's 64 KiB blocks. */
  size_t sizes[] = {0, 1, 100, 32768, 32769, 65536, 65537, 300000, 2000003};
  for (size_t c = 0; c < NCODECS; c++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      uint8_t *src = sample(sizes[s], (uint32_t)s);
      size_t clen, cap, n;
      uint8_t *z = encode(codecs[c], src, sizes[s], &clen), *out;
      cr_assert_eq(decode(codecs[c], z, clen, 64u << 20, &out, &cap, &n), 0,
                   "codec %d size %zu", codecs[c], sizes[s]);
      cr_assert_eq(n, sizes[s], "codec %d size %zu gave %zu", codecs[c], sizes[s], n);
      cr_assert(n == 0 || memcmp(out, src, n) == 0, "codec %d size %zu", codecs[c], sizes[s]);
      cr_assert_not_null(out, "a buffer even for empty output");
      free(out);
      free(z);
      free(src);
    }
}

Test(compress, encode_keeps_the_bytes_before_at) {
  uint8_t *src = sample(5000, 9);
  for (size_t c = 0; c < NCODECS; c++) {
    uint8_t *buf = malloc(16);
    size_t cap = 16, clen, n, ocap;
    memcpy(buf, "0123456789abcdef", 16);
    cr_assert_eq(compress_encode(codecs[c], 0, src, 5000, &buf, &cap, 16, &clen), 0);
    cr_assert_eq(memcmp(buf, "0123456789abcdef", 16), 0);
    uint8_t *out;
    cr_assert_eq(decode(codecs[c], buf + 16, clen, 5000, &out, &ocap, &n), 0);
    cr_assert_eq(n, 5000);
    cr_assert_eq(memcmp(out, src, n), 0);
    free(out);
    free(buf);
  }
  free(src);
}

Test(compress, levels_are_used_and_checked) {
  uint8_t *src = sample(200000, 3);
  size_t l1, l9;
  uint8_t *buf = NULL, *b2 = NULL;
  size_t cap = 0, cap2 = 0;
  cr_assert_eq(compress_encode(COMPRESS_GZIP, 1, src, 200000, &buf, &cap, 0, &l1), 0);
  cr_assert_eq(compress_encode(COMPRESS_GZIP, 9, src, 200000, &b2, &cap2, 0, &l9), 0);
  cr_assert_lt(l9, l1, "gzip -9 %zu < -1 %zu", l9, l1);
  cr_assert_eq(compress_encode(COMPRESS_GZIP, 10, src, 10, &buf, &cap, 0, &l1),
               STRATA_EINVALID_ARGUMENT);
  cr_assert_eq(compress_encode(COMPRESS_LZ4, 9, src, 200000, &buf, &cap, 0, &l1), 0, "lz4 HC");
  cr_assert_eq(compress_encode(COMPRESS_ZSTD, 19, src, 200000, &buf, &cap, 0, &l1), 0);
  free(buf);
  free(b2);
  free(src);
}

Test(compress, unknown_codecs_are_refused) {
  uint8_t x[4] = {1, 2, 3, 4}, *buf = NULL;
  size_t cap = 0, n;
  int bad[] = {COMPRESS_NONE, 5, 6, 7, -1, 100};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(compress_encode(bad[i], 0, x, 4, &buf, &cap, 0, &n),
                 STRATA_EUNSUPPORTED_COMPRESSION);
    cr_assert_eq(compress_decode(bad[i], x, 4, 100, &buf, &cap, &n),
                 STRATA_EUNSUPPORTED_COMPRESSION);
  }
  free(buf);
}

/* The output limit is exact: a stream of n bytes decodes with limit n and is
 * TOO_LARGE with n - 1, and the buffer never grows past the limit. */
Test(compress, the_limit_is_exact_for_every_codec) {
  size_t sizes[] = {1, 4096, 70000, 1000000};
  for (size_t c = 0; c < NCODECS; c++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t len = sizes[s], clen, cap, n;
      uint8_t *src = sample(len, 7), *z = encode(codecs[c], src, len, &clen), *out;
      cr_assert_eq(decode(codecs[c], z, clen, len, &out, &cap, &n), 0, "codec %d n %zu",
                   codecs[c], len);
      cr_assert_eq(n, len);
      cr_assert_leq(cap, len, "codec %d grew to %zu", codecs[c], cap);
      free(out);
      cr_assert_eq(decode(codecs[c], z, clen, len - 1, &out, &cap, &n), STRATA_ETOO_LARGE,
                   "codec %d n %zu", codecs[c], len);
      cr_assert_leq(cap, len > 1 ? len - 1 : 4096, "codec %d grew to %zu", codecs[c], cap);
      free(out);
      free(z);
      free(src);
    }
}

/* 1 GiB of zeros would compress to little; 100 MiB shows the point at a
 * test's cost: each codec stops at a 4 MiB limit, its buffer at most that. */
Test(compress, a_decompression_bomb_stops_at_the_limit, .timeout = 120) {
  size_t raw = 100u << 20, limit = 4u << 20;
  uint8_t *zeros = calloc(1, raw);
  for (size_t c = 0; c < NCODECS; c++) {
    size_t clen, cap, n;
    uint8_t *z = encode(codecs[c], zeros, raw, &clen), *out;
    cr_assert_lt(clen, raw / 20, "codec %d: %zu", codecs[c], clen);
    cr_assert_eq(decode(codecs[c], z, clen, limit, &out, &cap, &n), STRATA_ETOO_LARGE,
                 "codec %d", codecs[c]);
    cr_assert_leq(cap, limit, "codec %d: buffer grew to %zu", codecs[c], cap);
    free(out);
    free(z);
  }
  /* Raw snappy (one block declaring 100 MiB) and an lz4 frame and a zstd
   * frame declaring their content size: refused before any allocation. */
  size_t max = snappy_max_compressed_length(raw), clen = max, cap, n;
  uint8_t *z = malloc(max), *out;
  cr_assert_eq(snappy_compress((const char *)zeros, raw, (char *)z, &clen), SNAPPY_OK);
  cr_assert_eq(decode(COMPRESS_SNAPPY, z, clen, limit, &out, &cap, &n), STRATA_ETOO_LARGE);
  cr_assert_eq(cap, 0u, "nothing allocated for a claim past the limit");
  free(z);
  z = encode(COMPRESS_ZSTD, zeros, raw, &clen); /* one-shot: the size is in the frame */
  cr_assert_eq(decode(COMPRESS_ZSTD, z, clen, limit, &out, &cap, &n), STRATA_ETOO_LARGE);
  cr_assert_eq(cap, 0u);
  free(z);
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.contentSize = raw;
  max = LZ4F_compressFrameBound(raw, &prefs);
  z = malloc(max);
  clen = LZ4F_compressFrame(z, max, zeros, raw, &prefs);
  cr_assert(!LZ4F_isError(clen));
  cr_assert_eq(decode(COMPRESS_LZ4, z, clen, limit, &out, &cap, &n), STRATA_ETOO_LARGE);
  cr_assert_eq(cap, 0u);
  free(z);
  /* zstd as Java's zstd-jni streams it: no content size in the frame, so
   * the bound is the streaming loop's. */
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  cr_assert_eq(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0), 0);
  max = ZSTD_compressBound(raw);
  z = malloc(max);
  clen = ZSTD_compress2(cc, z, max, zeros, raw);
  cr_assert(!ZSTD_isError(clen));
  ZSTD_freeCCtx(cc);
  cr_assert_eq(ZSTD_getFrameContentSize(z, clen), ZSTD_CONTENTSIZE_UNKNOWN);
  cr_assert_eq(decode(COMPRESS_ZSTD, z, clen, limit, &out, &cap, &n), STRATA_ETOO_LARGE);
  cr_assert_leq(cap, limit);
  cr_assert_gt(cap, 0u, "the streaming path ran");
  free(out);
  free(z);
  free(zeros);
}

/* Snappy claims: a raw block's leading varint is its length. One claiming
 * 1 GiB is TOO_LARGE, one claiming more than its bytes could ever expand to
 * is bad data; neither allocates. */
Test(compress, snappy_length_claims_are_checked_before_allocating) {
  uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 'x'}; /* 1 GiB, literal "x" */
  uint8_t *out;
  size_t cap, n;
  cr_assert_eq(decode(COMPRESS_SNAPPY, huge, sizeof huge, 64u << 20, &out, &cap, &n),
               STRATA_ETOO_LARGE);
  cr_assert_eq(cap, 0u);
  uint8_t lie[] = {0x80, 0x80, 0x40, 0x00, 'x'}; /* 1 MiB from 5 bytes */
  cr_assert_eq(decode(COMPRESS_SNAPPY, lie, sizeof lie, 64u << 20, &out, &cap, &n),
               STRATA_ECOMPRESSION);
  cr_assert_eq(cap, 0u);
  uint8_t shortlit[] = {0x05, 0x10, 'h', 'e'}; /* "hello" with two bytes of it */
  cr_assert_eq(decode(COMPRESS_SNAPPY, shortlit, sizeof shortlit, 100, &out, &cap, &n),
               STRATA_ECOMPRESSION);
  free(out);
}

/* Every cut of a compressed stream is an error, except where the framing
 * itself has no end mark: snappy-java's chunks, where a cut exactly between
 * chunks is a shorter valid stream (the batch's record count catches that).
 * Then every single flipped byte: an error or some output, never a crash,
 * and never different output where a checksum covers it (gzip's CRC-32,
 * lz4's content checksum). */
Test(compress, truncated_and_garbled_streams_never_crash, .timeout = 120) {
  size_t len = 100000;
  uint8_t *src = sample(len, 11);
  for (size_t c = 0; c < NCODECS; c++) {
    size_t clen, cap, n;
    uint8_t *z = encode(codecs[c], src, len, &clen), *out;
    uint8_t *copy = malloc(clen);
    for (size_t cut = 0; cut < clen; cut += (cut < 64 || clen - cut < 64) ? 1 : 13) {
      memcpy(copy, z, cut); /* a copy of exactly `cut` bytes, so ASan sees overreads */
      int rc = decode(codecs[c], copy, cut, len, &out, &cap, &n);
      if (codecs[c] == COMPRESS_SNAPPY && rc == 0)
        cr_assert(n < len && memcmp(out, src, n) == 0 && n % 32768 == 0,
                  "snappy cut at %zu gave %zu bytes", cut, n);
      else
        cr_assert_neq(rc, 0, "codec %d cut at %zu of %zu decoded", codecs[c], cut, clen);
      free(out);
    }
    for (size_t i = 0; i < clen; i += (i < 64 || clen - i < 64) ? 1 : 7) {
      memcpy(copy, z, clen);
      copy[i] ^= 0x21;
      int rc = decode(codecs[c], copy, clen, len, &out, &cap, &n);
      /* A flipped match offset may copy equal bytes from elsewhere: then
       * the output is the same, and that is no damage to detect. */
      if (rc == 0 && ((codecs[c] == COMPRESS_GZIP && i >= 10) || (codecs[c] == COMPRESS_LZ4 && i >= 4)))
        cr_assert(n == len && memcmp(out, src, n) == 0,
                  "codec %d flip at %zu of %zu changed the output undetected", codecs[c], i, clen);
      free(out);
    }
    free(copy);
    free(z);
  }
  free(src);
}

/* ---- the framings, byte for byte ---- */

Test(compress, snappy_writes_snappy_java_framing_in_32k_chunks) {
  size_t len = 100000, clen;
  uint8_t *src = sample(len, 5), *z = encode(COMPRESS_SNAPPY, src, len, &clen);
  static const uint8_t head[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  cr_assert_eq(memcmp(z, head, 16), 0, "magic, version 1, compatible version 1");
  size_t pos = 16, total = 0, chunks = 0;
  while (pos < clen) {
    uint32_t n = be32_load(z + pos);
    pos += 4;
    cr_assert_leq(pos + n, clen);
    size_t ulen;
    cr_assert_eq(snappy_uncompressed_length((const char *)z + pos, n, &ulen), SNAPPY_OK);
    cr_assert_leq(ulen, 32768u, "chunk %zu holds %zu", chunks, ulen);
    char *out = malloc(ulen);
    cr_assert_eq(snappy_uncompress((const char *)z + pos, n, out, &ulen), SNAPPY_OK);
    cr_assert_eq(memcmp(out, src + total, ulen), 0);
    free(out);
    total += ulen;
    pos += n;
    chunks++;
  }
  cr_assert_eq(total, len);
  cr_assert_eq(chunks, 4u);
  free(z);
  free(src);
}

/* A raw block from the snappy format description: literal "abcd", then a
 * 1-byte-offset copy of 8 bytes from 4 back. librdkafka sends this form. */
static const uint8_t raw_abcd[] = {0x0c, 0x0c, 'a', 'b', 'c', 'd', 0x11, 0x04};

Test(compress, snappy_reads_raw_blocks_and_snappy_java_streams) {
  uint8_t *out;
  size_t cap, n;
  cr_assert_eq(decode(COMPRESS_SNAPPY, raw_abcd, sizeof raw_abcd, 100, &out, &cap, &n), 0);
  cr_assert_eq(n, 12u);
  cr_assert_eq(memcmp(out, "abcdabcdabcd", 12), 0);
  free(out);
  /* The same block framed as snappy-java writes it, twice, then a second
   * stream's header (concatenated streams), then the block again. */
  uint8_t x[128];
  size_t k = 0;
  for (int stream = 0; stream < 2; stream++) {
    memcpy(x + k, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
    k += 16;
    for (int i = 0; i < 2 - stream; i++) {
      be32_store(x + k, sizeof raw_abcd);
      memcpy(x + k + 4, raw_abcd, sizeof raw_abcd);
      k += 4 + sizeof raw_abcd;
    }
  }
  cr_assert_eq(decode(COMPRESS_SNAPPY, x, k, 100, &out, &cap, &n), 0);
  cr_assert_eq(n, 36u);
  cr_assert_eq(memcmp(out, "abcdabcdabcdabcdabcdabcdabcdabcdabcd", 36), 0);
  free(out);
  /* A header alone is an empty stream; a zero-length or overlong chunk, a
   * cut header and a chunk of garbage are not. */
  cr_assert_eq(decode(COMPRESS_SNAPPY, x, 16, 100, &out, &cap, &n), 0);
  cr_assert_eq(n, 0u);
  free(out);
  uint8_t bad[64];
  memcpy(bad, x, 16);
  be32_store(bad + 16, 0);
  cr_assert_eq(decode(COMPRESS_SNAPPY, bad, 20, 100, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  be32_store(bad + 16, 9);
  memcpy(bad + 20, raw_abcd, 8);
  cr_assert_eq(decode(COMPRESS_SNAPPY, bad, 28, 100, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  cr_assert_eq(decode(COMPRESS_SNAPPY, x, 12, 100, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  be32_store(bad + 16, 4);
  memcpy(bad + 20, "\xff\xff\xff\xff", 4);
  cr_assert_eq(decode(COMPRESS_SNAPPY, bad, 24, 100, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  /* More output than the limit across chunks. */
  cr_assert_eq(decode(COMPRESS_SNAPPY, x, k, 30, &out, &cap, &n), STRATA_ETOO_LARGE);
  free(out);
}

Test(compress, lz4_writes_the_frame_kafkas_java_reader_takes) {
  size_t len = 200000, clen;
  uint8_t *src = sample(len, 2), *z = encode(COMPRESS_LZ4, src, len, &clen);
  cr_assert_eq(memcmp(z, "\x04\x22\x4d\x18", 4), 0, "LZ4 frame magic 0x184D2204, little-endian");
  uint8_t flg = z[4], bd = z[5];
  cr_assert_eq(flg >> 6, 1, "version 01");
  cr_assert(flg & 0x20, "independent blocks (Kafka's reader refuses dependent ones)");
  cr_assert(flg & 0x04, "content checksum");
  cr_assert_eq(flg & 0x03, 0, "reserved bits");
  cr_assert_eq(bd, 0x40, "64 KiB blocks");
  free(z);
  free(src);
}

Test(compress, lz4_content_checksum_and_trailing_bytes_are_checked) {
  size_t len = 5000, clen, cap, n;
  uint8_t *src = sample(len, 4), *z = encode(COMPRESS_LZ4, src, len, &clen), *out;
  z[clen - 1] ^= 0x01; /* the content checksum's last byte */
  cr_assert_eq(decode(COMPRESS_LZ4, z, clen, len, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  z[clen - 1] ^= 0x01;
  uint8_t *more = malloc(clen + 1);
  memcpy(more, z, clen);
  more[clen] = 0;
  cr_assert_eq(decode(COMPRESS_LZ4, more, clen + 1, len, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  free(more);
  free(z);
  free(src);
}

Test(compress, gzip_reads_concatenated_members_and_refuses_trailing_bytes) {
  size_t la, lb, cap, n;
  uint8_t *a = encode(COMPRESS_GZIP, (const uint8_t *)"hello ", 6, &la);
  uint8_t *b = encode(COMPRESS_GZIP, (const uint8_t *)"kafka", 5, &lb);
  cr_assert_eq(a[0], 0x1f);
  cr_assert_eq(a[1], 0x8b);
  cr_assert_eq(a[2], 8, "deflate");
  uint8_t *ab = malloc(la + lb + 1), *out;
  memcpy(ab, a, la);
  memcpy(ab + la, b, lb);
  cr_assert_eq(decode(COMPRESS_GZIP, ab, la + lb, 100, &out, &cap, &n), 0);
  cr_assert_eq(n, 11u);
  cr_assert_eq(memcmp(out, "hello kafka", 11), 0);
  free(out);
  ab[la + lb] = 0;
  cr_assert_eq(decode(COMPRESS_GZIP, ab, la + lb + 1, 100, &out, &cap, &n), STRATA_ECOMPRESSION);
  free(out);
  /* zlib's own wrapper is not gzip. */
  static const uint8_t zlib_hello[] = {0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
                                       0x00, 0x06, 0x2c, 0x02, 0x15};
  cr_assert_eq(decode(COMPRESS_GZIP, zlib_hello, sizeof zlib_hello, 100, &out, &cap, &n),
               STRATA_ECOMPRESSION);
  free(out);
  free(ab);
  free(a);
  free(b);
}

/* ---- against the reference tools: gzip, lz4 and zstd's CLIs ---- */

static char tmpdir[64];

static void tools_setup(void) {
  strcpy(tmpdir, "/tmp/strata-compress-test.XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void tools_teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd)) {
  }
}

static void write_file(const char *name, const uint8_t *p, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(p, 1, n, f), n);
  fclose(f);
}

static uint8_t *read_file(const char *name, size_t *n) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)sz + 1);
  cr_assert_eq(fread(p, 1, (size_t)sz, f), (size_t)sz);
  fclose(f);
  *n = (size_t)sz;
  return p;
}

/* Runs a shell command in the temp dir; the tool must be installed
 * (scripts/deps.sh TEST_TOOLS lists gzip, lz4 and zstd). */
static void run(const char *tool, const char *fmt) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null || { echo '%s: command not found; run "
           "scripts/deps.sh --install' >&2; exit 127; }; cd %s && %s", tool, tool, tmpdir, fmt);
  int rc = system(cmd);
  cr_assert_eq(rc, 0, "%s failed (%d)", fmt, rc);
}

struct tool {
  int codec;
  const char *name, *compress, *decompress;
};
static const struct tool tools[] = {
    {COMPRESS_GZIP, "gzip", "gzip -c -n plain > packed", "gzip -d -c packed > plain"},
    /* the CLI's defaults: 4 MiB blocks, content checksum on */
    {COMPRESS_LZ4, "lz4", "lz4 -q -c plain > packed", "lz4 -q -d -c packed > plain"},
    /* level 19: an 8 MiB window; the CLI streams, so no content size */
    {COMPRESS_ZSTD, "zstd", "zstd -q -19 -c plain > packed", "zstd -q -d -c packed > plain"},
};

Test(compress, reads_what_the_reference_tools_write, .init = tools_setup,
     .fini = tools_teardown) {
  size_t len = 700001;
  uint8_t *src = sample(len, 21);
  for (size_t t = 0; t < sizeof tools / sizeof tools[0]; t++) {
    write_file("plain", src, len);
    run(tools[t].name, tools[t].compress);
    size_t clen, cap, n;
    uint8_t *z = read_file("packed", &clen), *out;
    cr_assert_eq(decode(tools[t].codec, z, clen, len, &out, &cap, &n), 0, "%s", tools[t].name);
    cr_assert_eq(n, len, "%s", tools[t].name);
    cr_assert_eq(memcmp(out, src, n), 0, "%s", tools[t].name);
    free(out);
    free(z);
  }
  /* gzip members concatenated by the tool's own convention (cat a.gz b.gz). */
  write_file("a", (const uint8_t *)"first,", 6);
  write_file("b", (const uint8_t *)"second", 6);
  run("gzip", "gzip -c -n a > packed && gzip -c -9 b >> packed");
  size_t clen, cap, n;
  uint8_t *z = read_file("packed", &clen), *out;
  cr_assert_eq(decode(COMPRESS_GZIP, z, clen, 100, &out, &cap, &n), 0);
  cr_assert_eq(n, 12u);
  cr_assert_eq(memcmp(out, "first,second", 12), 0);
  free(out);
  free(z);
  /* lz4 with small dependent blocks, block checksums and a content size. */
  write_file("plain", src, len);
  run("lz4", "lz4 -q -B4 -BD -BX --content-size -c plain > packed");
  z = read_file("packed", &clen);
  cr_assert_eq(decode(COMPRESS_LZ4, z, clen, len, &out, &cap, &n), 0);
  cr_assert_eq(n, len);
  cr_assert_eq(memcmp(out, src, n), 0);
  free(out);
  free(z);
  free(src);
}

Test(compress, the_reference_tools_read_what_we_write, .init = tools_setup,
     .fini = tools_teardown) {
  size_t len = 700001;
  uint8_t *src = sample(len, 22);
  for (size_t t = 0; t < sizeof tools / sizeof tools[0]; t++) {
    size_t clen, n;
    uint8_t *z = encode(tools[t].codec, src, len, &clen);
    write_file("packed", z, clen);
    run(tools[t].name, tools[t].decompress);
    uint8_t *back = read_file("plain", &n);
    cr_assert_eq(n, len, "%s", tools[t].name);
    cr_assert_eq(memcmp(back, src, n), 0, "%s", tools[t].name);
    free(back);
    free(z);
  }
  free(src);
}
