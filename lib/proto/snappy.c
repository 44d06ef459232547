/*
 * snappy.c: raw snappy blocks (see snappy.h).
 *
 * An element starts with a tag byte whose low two bits give its kind:
 *   00 literal: (tag >> 2) + 1 bytes follow; 60..63 instead say that the
 *      length - 1 follows in 1..4 little-endian bytes;
 *   01 copy of 4 + ((tag >> 2) & 7) bytes from an 11-bit offset (the high
 *      3 bits in tag >> 5, the low 8 in the next byte);
 *   10 copy of (tag >> 2) + 1 bytes from a 16-bit little-endian offset;
 *   11 the same with a 32-bit offset.
 * A copy's offset counts back from the end of the output so far and may
 * be shorter than the copy, which then repeats what it copies.
 *
 * The compressor works on 64 KiB fragments with a hash table of 4-byte
 * sequences, extends every match as far as it goes and, while nothing
 * matches, looks at fewer and fewer positions so incompressible input
 * passes quickly.
 */
#include "proto/snappy.h"

#include <string.h>

#define FRAGMENT_BYTES 65536
#define HASH_BITS 14
#define MIN_FRAGMENT_FOR_MATCHES 16

size_t snappy_block_bound(size_t n) { return 32 + n + n / 6; }

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint32_t le_load(const uint8_t *p, size_t bytes)
{
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint32_t hash4(uint32_t v) { return (v * 0x1e35a7bdu) >> (32 - HASH_BITS); }

static uint8_t *put_varint(uint8_t *op, uint32_t v)
{
    while (v >= 0x80) {
        *op++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *op++ = (uint8_t)v;
    return op;
}

static uint8_t *put_literal(uint8_t *op, const uint8_t *p, size_t n)
{
    size_t v = n - 1;
    if (v < 60) {
        *op++ = (uint8_t)(v << 2);
    } else {
        int bytes = v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1000000 ? 3 : 4;
        *op++ = (uint8_t)((59 + bytes) << 2);
        for (int i = 0; i < bytes; i++)
            *op++ = (uint8_t)(v >> (8 * i));
    }
    memcpy(op, p, n);
    return op + n;
}

/* One copy of at most 64 bytes (at least 4 with the 1-byte offset). */
static uint8_t *put_copy_upto64(uint8_t *op, size_t offset, size_t len)
{
    if (len <= 11 && offset < 2048) {
        *op++ = (uint8_t)(1 | ((len - 4) << 2) | ((offset >> 8) << 5));
        *op++ = (uint8_t)offset;
    } else {
        *op++ = (uint8_t)(2 | ((len - 1) << 2));
        *op++ = (uint8_t)offset;
        *op++ = (uint8_t)(offset >> 8);
    }
    return op;
}

/* A copy of len >= 4 bytes, split so that every piece is at least 4. */
static uint8_t *put_copy(uint8_t *op, size_t offset, size_t len)
{
    while (len >= 68) {
        op = put_copy_upto64(op, offset, 64);
        len -= 64;
    }
    if (len > 64) {
        op = put_copy_upto64(op, offset, 60);
        len -= 60;
    }
    return put_copy_upto64(op, offset, len);
}

static uint8_t *compress_fragment(const uint8_t *in, size_t n, uint8_t *op)
{
    if (n < MIN_FRAGMENT_FOR_MATCHES)
        return n ? put_literal(op, in, n) : op;
    uint16_t table[1 << HASH_BITS];
    memset(table, 0, sizeof(table));
    size_t ip = 0, emit = 0, limit = n - 4;
    uint32_t skip = 32;
    while (ip <= limit) {
        uint32_t cur = load32(in + ip);
        uint32_t h = hash4(cur);
        size_t cand = table[h];
        table[h] = (uint16_t)ip;
        if (cand >= ip || load32(in + cand) != cur) {
            ip += skip++ >> 5;
            continue;
        }
        skip = 32;
        if (ip > emit)
            op = put_literal(op, in + emit, ip - emit);
        size_t len = 4;
        while (ip + len < n && in[cand + len] == in[ip + len])
            len++;
        op = put_copy(op, ip - cand, len);
        ip += len;
        emit = ip;
        if (ip - 1 <= limit)
            table[hash4(load32(in + ip - 1))] = (uint16_t)(ip - 1);
    }
    if (emit < n)
        op = put_literal(op, in + emit, n - emit);
    return op;
}

size_t snappy_block_compress(const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t *op = put_varint(out, (uint32_t)n);
    for (size_t off = 0; off < n; off += FRAGMENT_BYTES)
        op = compress_fragment(in + off, n - off < FRAGMENT_BYTES ? n - off : FRAGMENT_BYTES, op);
    return (size_t)(op - out);
}

/* The stated length and the bytes it takes; 0 when malformed. */
static size_t read_length(const uint8_t *in, size_t len, size_t *n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 5 && i < len; i++) {
        if (i == 4 && in[i] > 0x0f)
            return 0; /* past 32 bits */
        v |= (uint32_t)(in[i] & 0x7f) << (7 * i);
        if (!(in[i] & 0x80)) {
            *n = v;
            return i + 1;
        }
    }
    return 0;
}

bool snappy_block_length(const uint8_t *in, size_t len, size_t *n)
{
    return read_length(in, len, n) > 0;
}

bool snappy_block_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
    size_t stated;
    size_t head = read_length(in, len, &stated);
    if (!head || stated != n)
        return false;
    const uint8_t *ip = in + head, *end = in + len;
    size_t op = 0;
    while (ip < end) {
        uint8_t tag = *ip++;
        size_t length, offset;
        switch (tag & 3) {
        case 0:
            length = (size_t)(tag >> 2);
            if (length >= 60) {
                size_t bytes = length - 59;
                if ((size_t)(end - ip) < bytes)
                    return false;
                length = le_load(ip, bytes);
                ip += bytes;
            }
            length++;
            if ((size_t)(end - ip) < length || n - op < length)
                return false;
            if (out)
                memcpy(out + op, ip, length);
            ip += length;
            op += length;
            continue;
        case 1:
            if (end - ip < 1)
                return false;
            length = 4 + ((tag >> 2) & 7);
            offset = ((size_t)(tag >> 5) << 8) | *ip++;
            break;
        case 2:
            if (end - ip < 2)
                return false;
            length = (size_t)(tag >> 2) + 1;
            offset = le_load(ip, 2);
            ip += 2;
            break;
        default:
            if (end - ip < 4)
                return false;
            length = (size_t)(tag >> 2) + 1;
            offset = le_load(ip, 4);
            ip += 4;
            break;
        }
        if (offset == 0 || offset > op || n - op < length)
            return false;
        if (out) {
            uint8_t *dst = out + op;
            const uint8_t *src = dst - offset;
            if (offset >= length) {
                memcpy(dst, src, length);
            } else {
                for (size_t i = 0; i < length; i++) /* overlapping: repeats */
                    dst[i] = src[i];
            }
        }
        op += length;
    }
    return op == n;
}
