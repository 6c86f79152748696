/* Kafka RecordBatch v2 (magic 2), byte for byte: the on-disk and on-wire
 * format of Strata's records. Encoding (batch_builder_*), header access and
 * in-place offset assignment for the broker (batch_header_*, batch_set_*),
 * full validation of untrusted bytes (batch_validate) and record iteration
 * for consumers (batch_iter_*).
 *
 * Layout (big-endian), offsets in bytes:
 *   0 baseOffset i64 | 8 batchLength i32 (bytes after this field)
 *  12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32 (CRC32C of bytes 21..end)
 *  21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64
 *  35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16
 *  53 baseSequence i32 | 57 recordCount i32 | 61 records
 * Record: length varint | attributes i8 | timestampDelta varlong |
 *   offsetDelta varint | keyLength varint (-1 null) | key | valueLength varint
 *   (-1 null) | value | headerCount varint | headers (keyLen varint, key,
 *   valueLen varint (-1 null), value).
 * With compression, everything after byte 61 is one compressed block.
 * Because the CRC starts at byte 21, a broker rewrites baseOffset and
 * partitionLeaderEpoch without recomputing it. */
#ifndef STRATA_BATCH_H
#define STRATA_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define BATCH_HEADER_SIZE 61
#define BATCH_LOG_OVERHEAD 12      /* baseOffset + batchLength */
#define BATCH_MAGIC 2
/* Largest batch we accept anywhere (bytes, whole batch). */
#define BATCH_SIZE_MAX (16u << 20)
/* Largest decompressed records section we will inflate: bounds memory. */
#define BATCH_DECOMPRESSED_MAX (64u << 20)
/* Most headers one record may carry; more is INVALID_RECORD. */
#define RECORD_HEADERS_MAX 64
/* Most records one batch may declare. */
#define BATCH_RECORDS_MAX (1u << 22)

/* attributes bits */
#define BATCH_COMPRESSION_MASK 0x07
#define BATCH_COMPRESSION_NONE 0   /* Kafka's codec numbers (common/compress.h) */
#define BATCH_COMPRESSION_GZIP 1
#define BATCH_COMPRESSION_SNAPPY 2
#define BATCH_COMPRESSION_LZ4 3
#define BATCH_COMPRESSION_ZSTD 4
#define BATCH_TIMESTAMP_LOG_APPEND 0x08
#define BATCH_TRANSACTIONAL 0x10
#define BATCH_CONTROL 0x20

#define BATCH_NO_PRODUCER_ID (-1)
#define BATCH_NO_SEQUENCE (-1)

struct batch_header {
  int64_t base_offset;
  int32_t length; /* batchLength: bytes after the length field */
  int32_t leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;
};

/* Total bytes of the batch that starts at p (12 + batchLength). */
static inline size_t batch_total_size(const struct batch_header *h) {
  return (size_t)BATCH_LOG_OVERHEAD + (size_t)(uint32_t)h->length;
}

/* Decode the 61-byte header. Checks only what the header alone can say:
 * len >= 61, magic == 2, batchLength >= 49 and total <= BATCH_SIZE_MAX,
 * recordCount >= 0, lastOffsetDelta >= 0. Returns 0 or STRATA_ECORRUPT /
 * STRATA_ETOO_LARGE / STRATA_EINVALID_RECORD. Does not check the CRC. */
int batch_header_decode(const uint8_t *p, size_t len, struct batch_header *h);

/* CRC32C check of a whole batch of `len` bytes (len == total size).
 * Returns 0 or STRATA_ECORRUPT. */
int batch_check_crc(const uint8_t *p, size_t len);

/* Full validation of one batch from an untrusted source: header, CRC, then
 * every record (lengths, offset deltas 0..n-1 in order, count equals
 * recordCount, lastOffsetDelta == count-1, timestamps, headers bounded),
 * decompressing gzip, snappy, lz4 or zstd into `scratch` if needed (scratch
 * may be NULL: then a temporary buffer is allocated), never past
 * BATCH_DECOMPRESSED_MAX. Codec numbers 5-7 are STRATA_ECORRUPT, data the
 * codec cannot decode STRATA_ECOMPRESSION, more than the bound
 * STRATA_ETOO_LARGE.
 * `len` is the exact batch size. Returns 0 or a negative STRATA_E*. */
struct batch_scratch {
  uint8_t *buf;
  size_t cap;
};
int batch_validate(const uint8_t *p, size_t len, struct batch_scratch *scratch);
void batch_scratch_free(struct batch_scratch *s);

/* Split `len` bytes into whole batches and validate each. On success returns
 * the number of batches and sets *records to the total record count. */
int batch_validate_all(const uint8_t *p, size_t len, struct batch_scratch *s,
                       int64_t *records);

/* In-place rewrite of the fields a broker assigns (CRC stays valid). */
void batch_set_base_offset(uint8_t *p, int64_t base_offset);
void batch_set_leader_epoch(uint8_t *p, int32_t epoch);
/* For log-append-time topics: sets the attribute bit and maxTimestamp, so the
 * CRC must be recomputed; this does it. */
void batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts);
/* The sequence number of a batch's last record (sequences wrap from
 * INT32_MAX to 0, as Kafka's). */
int32_t batch_last_sequence(const struct batch_header *h);
/* Stamp an idempotent producer's id, epoch and first sequence (at the first
 * send, when the order is fixed); recomputes the CRC. */
void batch_set_producer(uint8_t *p, size_t len, int64_t producer_id, int16_t epoch,
                        int32_t base_sequence);

/* ---- building a batch (producer side) ---- */

struct record_header {
  const char *key;
  size_t key_len;
  const uint8_t *value; /* NULL: null value */
  size_t value_len;
};

/* Grows its own buffer. Records are encoded as they are added; finish writes
 * the header, compresses if asked, and computes the CRC. */
struct batch_builder {
  uint8_t *buf;     /* 61-byte header space, then encoded records */
  size_t len, cap;
  int64_t base_timestamp, max_timestamp;
  int32_t count;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  uint8_t *out;     /* compressed output, owned */
  size_t out_cap;
};

void batch_builder_init(struct batch_builder *b);
void batch_builder_free(struct batch_builder *b);
/* Forget the records, keep the memory. */
void batch_builder_reset(struct batch_builder *b);
/* Bytes the builder's record buffer holds (its capacity). */
size_t batch_builder_capacity(const struct batch_builder *b);
/* key/value NULL means null. Returns 0 or STRATA_ENOMEM / STRATA_ETOO_LARGE
 * (the batch would exceed BATCH_SIZE_MAX). */
int batch_builder_add(struct batch_builder *b, int64_t timestamp_ms,
                      const void *key, size_t key_len, const void *value,
                      size_t value_len, const struct record_header *headers,
                      size_t header_count);
/* Bytes the batch would take uncompressed if finished now. */
size_t batch_builder_size(const struct batch_builder *b);
/* Produce the finished batch: base offset 0, leader epoch -1, the given
 * compression (BATCH_COMPRESSION_*: none, gzip, snappy, lz4 or zstd, in
 * Kafka's framings, common/compress.h) at `level` (0: the codec's default;
 * STRATA_EUNSUPPORTED_COMPRESSION for another codec number).
 * *out points into the builder and stays valid until the next call on it.
 * Returns 0 or a negative STRATA_E*. */
int batch_builder_finish(struct batch_builder *b, int compression, int level,
                         const uint8_t **out, size_t *out_len);
/* The same without the CRC (left 0), for a batch that batch_set_producer
 * stamps before it is sent, which computes the CRC anyway: an idempotent
 * producer's, whose sequence is fixed only at its first send. Summing the
 * batch twice cost a second pass over every byte. Until stamped the batch
 * is invalid. */
int batch_builder_finish_unsealed(struct batch_builder *b, int compression, int level,
                                  const uint8_t **out, size_t *out_len);

/* ---- reading records (consumer side) ---- */

struct batch_record {
  int64_t offset;
  int64_t timestamp;
  const uint8_t *key;   /* NULL when null */
  int32_t key_len;      /* -1 when null */
  const uint8_t *value; /* NULL when null */
  int32_t value_len;    /* -1 when null */
  uint32_t header_count;
  struct record_header headers[RECORD_HEADERS_MAX];
};

struct batch_iter {
  struct batch_header h;
  const uint8_t *p, *end; /* records section (decompressed if needed) */
  int32_t index;
  struct batch_scratch *scratch;
};

/* Start iterating one validated-or-not batch of exactly `len` bytes; the CRC
 * is checked and compressed records are inflated into `scratch` (required
 * for compressed batches), bounded as batch_validate says. Returns 0 or a negative STRATA_E*. */
int batch_iter_init(struct batch_iter *it, const uint8_t *p, size_t len,
                    struct batch_scratch *scratch);
/* 1 and fills *r; 0 at the end; negative STRATA_E* on a malformed record.
 * Pointers in *r point into the batch or the scratch buffer. */
int batch_iter_next(struct batch_iter *it, struct batch_record *r);

#endif
