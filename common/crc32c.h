/* CRC32C (Castagnoli), the checksum of Kafka RecordBatch v2. Uses the SSE4.2
 * crc32 instruction when the CPU has it (checked once at first use) and a
 * portable slicing-by-8 table otherwise; both give identical results. */
#ifndef STRATA_CRC32C_H
#define STRATA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc32c(0, ...) starts one; crc32c(crc32c(0,a),b) equals the
 * CRC of a followed by b. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The two implementations, exposed so tests can compare them.
 * crc32c_hw returns crc32c_sw's result when the CPU lacks SSE4.2. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len);
int crc32c_hw_available(void);

#endif
