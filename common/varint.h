/* Kafka's record varints: zig-zag encoded signed integers in base-128
 * little-endian groups (protobuf's sint32/sint64 encoding). Decoders take a
 * bound and never read past it. */
#ifndef STRATA_VARINT_H
#define STRATA_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX_BYTES 5
#define VARLONG_MAX_BYTES 10

/* Write v at p (room for VARINT_MAX_BYTES / VARLONG_MAX_BYTES); returns bytes. */
size_t varint_encode(uint8_t *p, int32_t v);
size_t varlong_encode(uint8_t *p, int64_t v);
size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);

/* Decode from p[0..len): returns bytes consumed, or 0 when the input ends
 * early or the value is too long for the type (malformed). */
size_t varint_decode(const uint8_t *p, size_t len, int32_t *out);
size_t varlong_decode(const uint8_t *p, size_t len, int64_t *out);

#endif
