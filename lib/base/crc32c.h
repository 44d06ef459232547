/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of Kafka record batches.
 *
 * The CPU's CRC instruction (SSE4.2 on x86-64, the CRC extension on ARMv8)
 * is used when present, chosen once at run time (on x86-64, large buffers
 * are folded with the AVX-512 carry-less multiply, VPCLMULQDQ, when the
 * CPU has it); otherwise a portable table-driven version runs.
 * All give identical results. crc32c() may be called from any thread.
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

/* The name of the implementation crc32c() uses ("avx512-vpclmul",
 * "sse4.2", "armv8-crc" or "portable"). */
const char *crc32c_impl_name(void);

/* The name of the i-th implementation built in (fastest first; the last is
 * "portable"), or NULL past the end. For tests and benchmarks. */
const char *crc32c_variant_name(size_t i);

/* Makes crc32c() use the named implementation. Returns 0, or -1 when the
 * name is unknown or this CPU cannot run it. Not thread-safe: for tests
 * and benchmarks, called while no other thread computes a CRC. */
int crc32c_use(const char *name);

#endif /* SAMSA_BASE_CRC32C_H */
