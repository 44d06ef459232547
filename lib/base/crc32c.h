/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of Kafka record batches.
 *
 * The CPU's CRC instruction (SSE4.2 on x86-64, the CRC extension on ARMv8)
 * is used when present, chosen once at run time; otherwise a portable
 * table-driven version runs. Both give identical results.
 */
#ifndef SAMSA_BASE_CRC32C_H
#define SAMSA_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes at data and returns the new CRC. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The portable implementation, for tests that compare the two. */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

/* Whether crc32c() uses a hardware instruction on this CPU. */
int crc32c_hardware(void);

#endif /* SAMSA_BASE_CRC32C_H */
