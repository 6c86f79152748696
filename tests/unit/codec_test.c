/* CRC32C (hardware and portable), Kafka varints and the frame parser. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/varint.h"

Test(crc32c, standard_check_value) {
  cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
  cr_assert_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
  cr_assert_eq(crc32c_hw(0, "123456789", 9), 0xE3069283u);
  cr_assert_eq(crc32c(0, "", 0), 0u);
}

Test(crc32c, hardware_and_portable_agree_on_random_data_and_alignments) {
  uint8_t *buf = malloc(4096 + 8);
  uint64_t x = 88172645463325252ull;
  for (int round = 0; round < 2000; round++) {
    size_t len = (size_t)(x % 4097), off = (size_t)((x >> 20) % 8);
    for (size_t i = 0; i < len + off; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      buf[i] = (uint8_t)x;
    }
    cr_assert_eq(crc32c_hw(0, buf + off, len), crc32c_sw(0, buf + off, len),
                 "len %zu offset %zu", len, off);
  }
  free(buf);
}

/* Past 768 bytes the hardware path runs three interleaved CRCs and joins
 * them (8 KiB and 256 B blocks): lengths around those edges and large. */
Test(crc32c, hardware_and_portable_agree_on_long_buffers) {
  size_t max = 300000;
  uint8_t *buf = malloc(max + 8);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < max + 8; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = (uint8_t)x;
  }
  size_t lens[] = {767, 768, 769, 1000, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 768,
                   3 * 8192 + 767, 6 * 8192 + 5, 65536, 262144 + 61, max};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    for (size_t off = 0; off < 8; off += 3)
      cr_assert_eq(crc32c_hw(0, buf + off, lens[i]), crc32c_sw(0, buf + off, lens[i]),
                   "len %zu offset %zu", lens[i], off);
  for (int round = 0; round < 200; round++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t len = (size_t)(x % max), off = (size_t)((x >> 40) % 8);
    uint32_t seed = (uint32_t)(x >> 20);
    cr_assert_eq(crc32c_hw(seed, buf + off, len), crc32c_sw(seed, buf + off, len),
                 "len %zu offset %zu", len, off);
  }
  free(buf);
}

Test(crc32c, chaining_equals_one_pass) {
  const char *s = "the quick brown fox jumps over the lazy dog";
  size_t n = strlen(s);
  for (size_t cut = 0; cut <= n; cut++)
    cr_assert_eq(crc32c(crc32c(0, s, cut), s + cut, n - cut), crc32c(0, s, n));
}

Test(varint, known_encodings) {
  struct { int32_t v; const char *hex; } cases[] = {
      {0, "00"}, {-1, "01"}, {1, "02"}, {63, "7e"}, {-64, "7f"}, {64, "8001"}, {300, "d804"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t b[VARINT_MAX_BYTES];
    size_t n = varint_encode(b, cases[i].v);
    char hex[16] = "";
    for (size_t k = 0; k < n; k++) sprintf(hex + 2 * k, "%02x", b[k]);
    cr_assert_str_eq(hex, cases[i].hex, "encoding of %d", cases[i].v);
    cr_assert_eq(varint_size(cases[i].v), n);
  }
}

Test(varint, round_trips_at_the_edges) {
  int64_t longs[] = {0, 1, -1, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1700000000000LL};
  for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
    uint8_t b[VARLONG_MAX_BYTES];
    size_t n = varlong_encode(b, longs[i]);
    int64_t out;
    cr_assert_eq(varlong_decode(b, n, &out), n);
    cr_assert_eq(out, longs[i]);
    cr_assert_eq(varlong_size(longs[i]), n);
    cr_assert_eq(varlong_decode(b, n - 1, &out), 0u, "truncated input is refused");
  }
  int32_t ints[] = {0, 1, -1, INT32_MAX, INT32_MIN};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    uint8_t b[VARINT_MAX_BYTES];
    size_t n = varint_encode(b, ints[i]);
    int32_t out;
    cr_assert_eq(varint_decode(b, n, &out), n);
    cr_assert_eq(out, ints[i]);
  }
}

Test(varint, overlong_encodings_are_malformed) {
  uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  int32_t v;
  cr_assert_eq(varint_decode(six, sizeof six, &v), 0u);
  uint8_t top[] = {0xff, 0xff, 0xff, 0xff, 0x7f}; /* 35 bits */
  cr_assert_eq(varint_decode(top, sizeof top, &v), 0u);
  uint8_t eleven[11];
  memset(eleven, 0x80, 10);
  eleven[10] = 1;
  int64_t l;
  cr_assert_eq(varlong_decode(eleven, sizeof eleven, &l), 0u);
}

static size_t make_frame(uint8_t *buf, const char *header, const char *payload) {
  uint32_t hl = (uint32_t)strlen(header), pl = (uint32_t)strlen(payload);
  frame_write_prefix(buf, hl, pl);
  memcpy(buf + FRAME_PREFIX_SIZE, header, hl);
  memcpy(buf + FRAME_PREFIX_SIZE + hl, payload, pl);
  return FRAME_PREFIX_SIZE + hl + pl;
}

Test(frame, whole_frame_parses_into_header_and_payload) {
  uint8_t buf[64];
  size_t n = make_frame(buf, "hdr", "payload!");
  struct frame f;
  cr_assert_eq(frame_parse(buf, n, 1024, &f, NULL), (int)n);
  cr_assert_eq(f.header_len, 3u);
  cr_assert_eq(memcmp(f.header, "hdr", 3), 0);
  cr_assert_eq(f.payload_len, 8u);
  cr_assert_eq(memcmp(f.payload, "payload!", 8), 0);
}

Test(frame, byte_at_a_time_reports_what_it_needs) {
  uint8_t buf[64];
  size_t n = make_frame(buf, "header", "xy");
  for (size_t have = 0; have < n; have++) {
    struct frame f;
    size_t need = 0;
    cr_assert_eq(frame_parse(buf, have, 1024, &f, &need), 0, "at %zu bytes", have);
    cr_assert_eq(need, have < 4 ? 4u : n, "need at %zu bytes", have);
  }
}

Test(frame, several_frames_in_one_buffer) {
  uint8_t buf[256];
  size_t n = 0;
  n += make_frame(buf + n, "a", "1");
  n += make_frame(buf + n, "bb", "");
  n += make_frame(buf + n, "", "333");
  size_t off = 0;
  const char *want[] = {"1", "", "333"};
  for (int i = 0; i < 3; i++) {
    struct frame f;
    int rc = frame_parse(buf + off, n - off, 1024, &f, NULL);
    cr_assert_gt(rc, 0);
    cr_assert_eq(f.payload_len, strlen(want[i]));
    off += (size_t)rc;
  }
  cr_assert_eq(off, n);
}

Test(frame, oversized_frame_refused_from_its_length_alone) {
  uint8_t buf[4];
  be32_store(buf, 1u << 30);
  struct frame f;
  cr_assert_eq(frame_parse(buf, 4, FRAME_MAX_DEFAULT, &f, NULL), STRATA_ETOO_LARGE);
}

Test(frame, inconsistent_lengths_are_invalid) {
  uint8_t buf[16] = {0};
  struct frame f;
  be32_store(buf, 2); /* shorter than the header length field */
  cr_assert_eq(frame_parse(buf, 8, 1024, &f, NULL), STRATA_EINVALID_REQUEST);
  be32_store(buf, 8);
  be32_store(buf + 4, 9); /* header longer than the frame */
  cr_assert_eq(frame_parse(buf, 8, 1024, &f, NULL), STRATA_EINVALID_REQUEST);
  be32_store(buf, 8);
  be32_store(buf + 4, FRAME_HEADER_MAX + 1);
  cr_assert_eq(frame_parse(buf, 8, 1u << 30, &f, NULL), STRATA_ETOO_LARGE);
}

Test(frame, random_garbage_never_reads_out_of_bounds) {
  uint64_t x = 1;
  uint8_t buf[64];
  for (int round = 0; round < 100000; round++) {
    size_t len = (size_t)(x % sizeof buf);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      buf[i] = (uint8_t)(x & 1 ? x : x >> 60); /* many small lengths */
    }
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    struct frame f;
    size_t need;
    int rc = frame_parse(copy, len, 48, &f, &need);
    if (rc > 0) {
      cr_assert_leq((size_t)rc, len);
      cr_assert_leq(f.header_len + f.payload_len + FRAME_PREFIX_SIZE, (size_t)rc);
    }
    free(copy);
  }
}
