/* Kafka RecordBatch v2: building, validating, iterating, and the byte layout
 * itself, checked against a batch assembled by hand from the Kafka spec. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/batch.h"
#include "common/bytes.h"
#include "common/compress.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/varint.h"

/* The Kafka protocol guide's RecordBatch, one record key "k" value "v" at
 * 1700000000000 ms, no producer id: written field by field. */
static size_t kafka_vector(uint8_t *b) {
  static const uint8_t record[] = {
      0x10,       /* length 8 (zig-zag varint) */
      0x00,       /* attributes */
      0x00,       /* timestampDelta 0 */
      0x00,       /* offsetDelta 0 */
      0x02, 'k',  /* keyLength 1, key */
      0x02, 'v',  /* valueLength 1, value */
      0x00,       /* header count 0 */
  };
  size_t total = 61 + sizeof record;
  memset(b, 0, total);
  be64_store(b + 0, 0);                         /* baseOffset */
  be32_store(b + 8, (uint32_t)(total - 12));    /* batchLength */
  be32_store(b + 12, 0xffffffffu);              /* partitionLeaderEpoch -1 */
  b[16] = 2;                                    /* magic */
  be16_store(b + 21, 0);                        /* attributes */
  be32_store(b + 23, 0);                        /* lastOffsetDelta */
  be64_store(b + 27, 1700000000000ull);         /* baseTimestamp */
  be64_store(b + 35, 1700000000000ull);         /* maxTimestamp */
  be64_store(b + 43, UINT64_MAX);               /* producerId -1 */
  be16_store(b + 51, 0xffff);                   /* producerEpoch -1 */
  be32_store(b + 53, 0xffffffffu);              /* baseSequence -1 */
  be32_store(b + 57, 1);                        /* records count */
  memcpy(b + 61, record, sizeof record);
  be32_store(b + 17, crc32c(0, b + 21, total - 21));
  return total;
}

Test(batch, decodes_a_hand_built_kafka_batch) {
  uint8_t v[128];
  size_t n = kafka_vector(v);
  cr_assert_eq(batch_validate(v, n, NULL), 0);
  struct batch_iter it;
  struct batch_record r;
  cr_assert_eq(batch_iter_init(&it, v, n, NULL), 0);
  cr_assert_eq(batch_iter_next(&it, &r), 1);
  cr_assert_eq(r.offset, 0);
  cr_assert_eq(r.timestamp, 1700000000000LL);
  cr_assert_eq(r.key_len, 1);
  cr_assert_eq(r.key[0], 'k');
  cr_assert_eq(r.value_len, 1);
  cr_assert_eq(r.value[0], 'v');
  cr_assert_eq(r.header_count, 0u);
  cr_assert_eq(batch_iter_next(&it, &r), 0);
}

Test(batch, builder_output_is_byte_identical_to_the_spec) {
  uint8_t v[128];
  size_t n = kafka_vector(v);
  struct batch_builder b;
  batch_builder_init(&b);
  cr_assert_eq(batch_builder_add(&b, 1700000000000LL, "k", 1, "v", 1, NULL, 0), 0);
  const uint8_t *out;
  size_t len;
  cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_NONE, 0, &out, &len), 0);
  cr_assert_eq(len, n);
  cr_assert_eq(memcmp(out, v, n), 0);
  batch_builder_free(&b);
}

/* count sample records: null keys and values, headers, growing timestamps
 * (check_records knows them). */
static void add_records(struct batch_builder *b, int count) {
  for (int i = 0; i < count; i++) {
    char key[16], val[64];
    int kl = sprintf(key, "key-%d", i), vl = sprintf(val, "value %d with some text", i);
    struct record_header h[2] = {{"trace", 5, (const uint8_t *)"abc", 3}, {"nullv", 5, NULL, 0}};
    cr_assert_eq(batch_builder_add(b, 1000 + i * 7, i % 5 == 0 ? NULL : key,
                                   i % 5 == 0 ? 0 : (size_t)kl, i % 7 == 3 ? NULL : val,
                                   i % 7 == 3 ? 0 : (size_t)vl, h, (size_t)(i % 3)),
                 0);
  }
}

static const uint8_t *build(struct batch_builder *b, int compression, int count, size_t *len) {
  batch_builder_init(b);
  add_records(b, count);
  const uint8_t *out;
  cr_assert_eq(batch_builder_finish(b, compression, 0, &out, len), 0);
  return out;
}

static void check_records(const uint8_t *p, size_t len, int count, int64_t base) {
  struct batch_scratch s = {0};
  struct batch_iter it;
  struct batch_record r;
  cr_assert_eq(batch_iter_init(&it, p, len, &s), 0);
  for (int i = 0; i < count; i++) {
    cr_assert_eq(batch_iter_next(&it, &r), 1, "record %d", i);
    cr_assert_eq(r.offset, base + i);
    cr_assert_eq(r.timestamp, 1000 + i * 7);
    if (i % 5 == 0) {
      cr_assert_eq(r.key_len, -1);
      cr_assert_null(r.key);
    } else {
      char key[16];
      int kl = sprintf(key, "key-%d", i);
      cr_assert_eq(r.key_len, kl);
      cr_assert_eq(memcmp(r.key, key, (size_t)kl), 0);
    }
    if (i % 7 == 3) {
      cr_assert_eq(r.value_len, -1);
    } else {
      char val[64];
      int vl = sprintf(val, "value %d with some text", i);
      cr_assert_eq(r.value_len, vl);
      cr_assert_eq(memcmp(r.value, val, (size_t)vl), 0);
    }
    cr_assert_eq(r.header_count, (uint32_t)(i % 3));
    if (i % 3 >= 1) {
      cr_assert_eq(r.headers[0].key_len, 5u);
      cr_assert_eq(memcmp(r.headers[0].value, "abc", 3), 0);
    }
    if (i % 3 == 2) cr_assert_null(r.headers[1].value);
  }
  cr_assert_eq(batch_iter_next(&it, &r), 0);
  batch_scratch_free(&s);
}

static const int all_codecs[] = {BATCH_COMPRESSION_NONE, BATCH_COMPRESSION_GZIP,
                                 BATCH_COMPRESSION_SNAPPY, BATCH_COMPRESSION_LZ4,
                                 BATCH_COMPRESSION_ZSTD};
#define NCODECS (sizeof all_codecs / sizeof all_codecs[0])

Test(batch, round_trip_uncompressed_and_every_kafka_codec) {
  const int *comps = all_codecs;
  for (size_t c = 0; c < NCODECS; c++) {
    struct batch_builder b;
    size_t len;
    const uint8_t *out = build(&b, comps[c], 500, &len);
    cr_assert_eq(batch_validate(out, len, NULL), 0);
    struct batch_header h;
    cr_assert_eq(batch_header_decode(out, len, &h), 0);
    cr_assert_eq(h.record_count, 500);
    cr_assert_eq(h.last_offset_delta, 499);
    cr_assert_eq(h.attributes & BATCH_COMPRESSION_MASK, comps[c]);
    check_records(out, len, 500, 0);
    batch_builder_free(&b);
  }
}

/* A reset builder (the producer reuses finished batches' buffers,
 * client/lib/producer.c) keeps its buffer and builds the same bytes as a
 * fresh one: nothing of the previous, longer batch shows through. */
Test(batch, a_reset_builder_builds_the_same_bytes_in_the_same_buffer) {
  struct batch_builder fresh, reused;
  size_t flen, rlen;
  const uint8_t *f = build(&fresh, BATCH_COMPRESSION_NONE, 300, &flen);
  batch_builder_init(&reused);
  char big[64];
  memset(big, 'x', sizeof big);
  for (int i = 0; i < 400; i++) /* a different, longer batch first */
    cr_assert_eq(batch_builder_add(&reused, 5, "other", 5, big, sizeof big, NULL, 0), 0);
  cr_assert_geq(batch_builder_capacity(&reused), flen);
  const uint8_t *buf = reused.buf;
  batch_builder_reset(&reused);
  add_records(&reused, 300);
  const uint8_t *r;
  cr_assert_eq(batch_builder_finish(&reused, BATCH_COMPRESSION_NONE, 0, &r, &rlen), 0);
  cr_assert_eq(reused.buf, buf, "the reset builder's buffer moved");
  cr_assert_eq(rlen, flen);
  cr_assert_eq(memcmp(r, f, flen), 0);
  batch_builder_free(&fresh);
  batch_builder_free(&reused);
}

/* An idempotent producer's batch is finished without its CRC and stamped at
 * its first send: until then it is refused, after it is byte for byte the
 * batch a sealed finish and the same stamp give. */
Test(batch, an_unsealed_batch_is_invalid_until_stamped_then_identical) {
  const int *comps = all_codecs;
  for (size_t c = 0; c < NCODECS; c++) {
    struct batch_builder sealed, unsealed;
    size_t slen, ulen;
    const uint8_t *s = build(&sealed, comps[c], 200, &slen);
    uint8_t *copy = malloc(slen);
    memcpy(copy, s, slen);
    batch_builder_init(&unsealed);
    add_records(&unsealed, 200);
    const uint8_t *u;
    cr_assert_eq(batch_builder_finish_unsealed(&unsealed, comps[c], 0, &u, &ulen), 0);
    cr_assert_eq(ulen, slen);
    cr_assert_eq(batch_check_crc(u, ulen), STRATA_ECORRUPT, "codec %d: valid before the stamp",
                 comps[c]);
    batch_set_producer((uint8_t *)u, ulen, 77, 0, 1000);
    batch_set_producer(copy, slen, 77, 0, 1000);
    cr_assert_eq(batch_validate(u, ulen, NULL), 0);
    cr_assert_eq(memcmp(u, copy, slen), 0, "codec %d", comps[c]);
    free(copy);
    batch_builder_free(&sealed);
    batch_builder_free(&unsealed);
  }
}

Test(batch, every_codec_makes_repetitive_records_smaller) {
  struct batch_builder a;
  size_t la;
  build(&a, BATCH_COMPRESSION_NONE, 500, &la);
  for (size_t c = 1; c < NCODECS; c++) {
    struct batch_builder z;
    size_t lz;
    build(&z, all_codecs[c], 500, &lz);
    cr_assert_lt(lz * 2, la, "codec %d: %zu vs raw %zu", all_codecs[c], lz, la);
    batch_builder_free(&z);
  }
  batch_builder_free(&a);
}

Test(batch, a_codec_number_kafka_does_not_have_is_corrupt) {
  struct batch_builder b;
  size_t len;
  const uint8_t *out = build(&b, BATCH_COMPRESSION_NONE, 5, &len);
  uint8_t *copy = malloc(len);
  for (int codec = 5; codec <= 7; codec++) {
    memcpy(copy, out, len);
    be16_store(copy + 21, (uint16_t)codec);
    be32_store(copy + 17, crc32c(0, copy + 21, len - 21));
    cr_assert_eq(batch_validate(copy, len, NULL), STRATA_ECORRUPT, "codec %d", codec);
  }
  /* Uncompressed records under a codec's bit: the codec refuses them. */
  for (size_t c = 1; c < NCODECS; c++) {
    memcpy(copy, out, len);
    be16_store(copy + 21, (uint16_t)all_codecs[c]);
    be32_store(copy + 17, crc32c(0, copy + 21, len - 21));
    cr_assert_neq(batch_validate(copy, len, NULL), 0, "codec %d", all_codecs[c]);
  }
  free(copy);
  batch_builder_free(&b);
  batch_builder_init(&b);
  cr_assert_eq(batch_builder_add(&b, 1, "k", 1, "v", 1, NULL, 0), 0);
  const uint8_t *o;
  cr_assert_eq(batch_builder_finish(&b, 5, 0, &o, &len), STRATA_EUNSUPPORTED_COMPRESSION);
  batch_builder_free(&b);
}

Test(batch, broker_offset_rewrite_keeps_crc_valid) {
  struct batch_builder b;
  size_t len;
  const uint8_t *out = build(&b, BATCH_COMPRESSION_NONE, 10, &len);
  uint8_t *copy = malloc(len);
  memcpy(copy, out, len);
  batch_set_base_offset(copy, 123456);
  batch_set_leader_epoch(copy, 7);
  cr_assert_eq(batch_validate(copy, len, NULL), 0);
  check_records(copy, len, 10, 123456);
  batch_set_log_append_time(copy, len, 99999);
  cr_assert_eq(batch_validate(copy, len, NULL), 0);
  struct batch_iter it;
  struct batch_record r;
  cr_assert_eq(batch_iter_init(&it, copy, len, NULL), 0);
  cr_assert_eq(batch_iter_next(&it, &r), 1);
  cr_assert_eq(r.timestamp, 99999, "log-append time replaces create time");
  free(copy);
  batch_builder_free(&b);
}

Test(batch, any_flipped_byte_after_the_crc_field_is_detected) {
  const int *comps = all_codecs;
  for (size_t c = 0; c < NCODECS; c++) {
    struct batch_builder b;
    size_t len;
    const uint8_t *out = build(&b, comps[c], 20, &len);
    uint8_t *copy = malloc(len);
    for (size_t i = 17; i < len; i++) {
      memcpy(copy, out, len);
      copy[i] ^= 0x01;
      int rc = batch_validate(copy, len, NULL);
      cr_assert_neq(rc, 0, "flip at byte %zu of %zu not detected", i, len);
    }
    free(copy);
    batch_builder_free(&b);
  }
}

Test(batch, truncated_batches_are_refused) {
  for (size_t c = 0; c < NCODECS; c++) {
    struct batch_builder b;
    size_t len;
    const uint8_t *out = build(&b, all_codecs[c], 20, &len);
    for (size_t cut = 0; cut < len; cut++) {
      cr_assert_neq(batch_validate(out, cut, NULL), 0, "codec %d cut at %zu", all_codecs[c], cut);
      int64_t recs;
      cr_assert_lt(batch_validate_all(out, cut, NULL, &recs), 0, "cut at %zu", cut);
    }
    batch_builder_free(&b);
  }
}

/* The compressed section cut short (or garbled) under a batch header whose
 * length and CRC match it: the codec, not the CRC, meets the damage. */
Test(batch, a_damaged_compressed_section_with_a_valid_crc_is_refused) {
  for (size_t c = 1; c < NCODECS; c++) {
    struct batch_builder b;
    size_t len;
    const uint8_t *out = build(&b, all_codecs[c], 200, &len);
    uint8_t *copy = malloc(len);
    for (size_t cut = BATCH_HEADER_SIZE; cut < len; cut += 7) {
      memcpy(copy, out, cut);
      be32_store(copy + 8, (uint32_t)(cut - 12));
      be32_store(copy + 17, crc32c(0, copy + 21, cut - 21));
      cr_assert_neq(batch_validate(copy, cut, NULL), 0, "codec %d cut at %zu of %zu",
                    all_codecs[c], cut, len);
    }
    for (size_t i = BATCH_HEADER_SIZE; i < len; i++) {
      memcpy(copy, out, len);
      copy[i] ^= 0x5a;
      be32_store(copy + 17, crc32c(0, copy + 21, len - 21));
      int rc = batch_validate(copy, len, NULL); /* error or not, never a crash */
      (void)rc;
    }
    free(copy);
    batch_builder_free(&b);
  }
}

Test(batch, wrong_offset_delta_with_a_correct_crc_is_invalid) {
  uint8_t v[128];
  size_t n = kafka_vector(v);
  v[61 + 3] = 0x02; /* offsetDelta 1 instead of 0 */
  be32_store(v + 17, crc32c(0, v + 21, n - 21));
  cr_assert_eq(batch_validate(v, n, NULL), STRATA_EINVALID_RECORD);
  n = kafka_vector(v);
  be32_store(v + 57, 2); /* claims two records, holds one */
  be32_store(v + 17, crc32c(0, v + 21, n - 21));
  cr_assert_eq(batch_validate(v, n, NULL), STRATA_EINVALID_RECORD);
  n = kafka_vector(v);
  v[61] = 0x7e; /* record length larger than the batch */
  be32_store(v + 17, crc32c(0, v + 21, n - 21));
  cr_assert_eq(batch_validate(v, n, NULL), STRATA_EINVALID_RECORD);
}

Test(batch, validate_all_counts_batches_and_records) {
  struct batch_builder a, b, c;
  size_t la, lb, lc;
  const uint8_t *pa = build(&a, BATCH_COMPRESSION_NONE, 3, &la);
  const uint8_t *pb = build(&b, BATCH_COMPRESSION_ZSTD, 40, &lb);
  const uint8_t *pc = build(&c, BATCH_COMPRESSION_NONE, 1, &lc);
  uint8_t *all = malloc(la + lb + lc);
  memcpy(all, pa, la);
  memcpy(all + la, pb, lb);
  memcpy(all + la + lb, pc, lc);
  int64_t recs = 0;
  cr_assert_eq(batch_validate_all(all, la + lb + lc, NULL, &recs), 3);
  cr_assert_eq(recs, 44);
  all[la + 30] ^= 0x80;
  cr_assert_lt(batch_validate_all(all, la + lb + lc, NULL, &recs), 0);
  free(all);
  batch_builder_free(&a);
  batch_builder_free(&b);
  batch_builder_free(&c);
}

Test(batch, decompression_bomb_is_bounded) {
  /* 80 MiB of one repeated record compresses to a small frame; the
   * validator must refuse to inflate past BATCH_DECOMPRESSED_MAX. */
  struct batch_builder b;
  batch_builder_init(&b);
  static char val[1 << 20];
  memset(val, 'a', sizeof val);
  int rc = 0;
  for (int i = 0; i < 15 && !rc; i++)
    rc = batch_builder_add(&b, 1, NULL, 0, val, sizeof val, NULL, 0);
  cr_assert_eq(rc, 0);
  const uint8_t *out;
  size_t len;
  cr_assert_eq(batch_builder_finish(&b, BATCH_COMPRESSION_ZSTD, 0, &out, &len), 0);
  cr_assert_lt(len, 1u << 20);
  cr_assert_eq(batch_validate(out, len, NULL), 0, "15 MiB is within bounds");
  batch_builder_free(&b);
  batch_builder_init(&b);
  cr_assert_eq(batch_builder_add(&b, 1, NULL, 0, val, BATCH_SIZE_MAX + 1, NULL, 0),
               STRATA_ETOO_LARGE);
  batch_builder_free(&b);

  /* A hand-made bomb: 80 MiB of zeros behind a valid header and CRC. */
  size_t raw = 80u << 20;
  uint8_t *zeros = calloc(1, raw), *bomb = NULL;
  size_t cap = 0, clen = 0;
  cr_assert_eq(compress_encode(COMPRESS_ZSTD, 1, zeros, raw, &bomb, &cap, BATCH_HEADER_SIZE, &clen), 0);
  free(zeros);
  uint8_t *h = bomb;
  size_t total = BATCH_HEADER_SIZE + clen;
  memset(h, 0, BATCH_HEADER_SIZE);
  be32_store(h + 8, (uint32_t)(total - 12));
  h[16] = 2;
  be16_store(h + 21, BATCH_COMPRESSION_ZSTD);
  be32_store(h + 57, 1);
  be32_store(h + 17, crc32c(0, h + 21, total - 21));
  cr_assert_eq(batch_validate(bomb, total, NULL), STRATA_ETOO_LARGE);
  free(bomb);
}

/* 80 MiB of zeros in each codec's framing behind a valid header: each is
 * refused at BATCH_DECOMPRESSED_MAX, and the scratch never grows past it. */
Test(batch, every_codec_bomb_stops_at_the_decompressed_bound, .timeout = 120) {
  size_t raw = 80u << 20;
  uint8_t *zeros = calloc(1, raw);
  for (size_t c = 1; c < NCODECS; c++) {
    uint8_t *bomb = NULL;
    size_t cap = 0, clen = 0;
    cr_assert_eq(compress_encode(all_codecs[c], 0, zeros, raw, &bomb, &cap, BATCH_HEADER_SIZE,
                                 &clen),
                 0);
    size_t total = BATCH_HEADER_SIZE + clen;
    cr_assert_leq(total, BATCH_SIZE_MAX, "codec %d: %zu", all_codecs[c], total);
    memset(bomb, 0, BATCH_HEADER_SIZE);
    be32_store(bomb + 8, (uint32_t)(total - 12));
    bomb[16] = 2;
    be16_store(bomb + 21, (uint16_t)all_codecs[c]);
    be32_store(bomb + 57, 1);
    be32_store(bomb + 17, crc32c(0, bomb + 21, total - 21));
    struct batch_scratch s = {0};
    cr_assert_eq(batch_validate(bomb, total, &s), STRATA_ETOO_LARGE, "codec %d", all_codecs[c]);
    cr_assert_leq(s.cap, BATCH_DECOMPRESSED_MAX, "codec %d grew to %zu", all_codecs[c], s.cap);
    batch_scratch_free(&s);
    free(bomb);
  }
  free(zeros);
}
