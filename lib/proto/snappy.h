/*
 * snappy.h: the raw snappy block format (one block: the uncompressed length
 * as a varint, then literals and back-references), as Kafka's snappy
 * codec carries it, alone or inside xerial framing (compress.c).
 *
 * samsa writes the format itself rather than linking the snappy library,
 * which is C++: a C library embedded in a program should not bring the
 * C++ runtime along, and a process that loads it starts faster.
 */
#ifndef SAMSA_PROTO_SNAPPY_H
#define SAMSA_PROTO_SNAPPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes snappy_block_compress() may write for n input bytes. */
size_t snappy_block_bound(size_t n);

/* Compresses in[0..n) (n below 2^32) into out, which has room for
 * snappy_block_bound(n) bytes; returns the bytes written. Any thread. */
size_t snappy_block_compress(const uint8_t *in, size_t n, uint8_t *out);

/* The uncompressed length a block states, into *n; false when in[0..len)
 * does not start with a valid length. */
bool snappy_block_length(const uint8_t *in, size_t len, size_t *n);

/* Decompresses the block in[0..len) into out, which has room for exactly
 * n bytes, the length the block states (snappy_block_length()); with out
 * NULL only checks the block. Returns false for a malformed block (a
 * length that differs from n, a reference before the start or past the
 * end, a truncated element): untrusted input is never read or written
 * past its bounds. Any thread. */
bool snappy_block_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t n);

#endif /* SAMSA_PROTO_SNAPPY_H */
