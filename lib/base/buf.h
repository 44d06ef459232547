/*
 * buf.h: growable output buffers and bounds-checked input readers.
 *
 * Every byte that comes from the network or from disk is read through a
 * reader_t. A reader never reads past its end: a read that does not fit marks
 * the reader bad, returns zero, and every later read does the same, so a
 * decoder checks reader_ok() once at the end instead of after every field.
 *
 * A buf_t grows up to its max_bytes cap (like curl's dynbuf "toobig"); an
 * allocation failure or a write past the cap marks it failed in the same
 * sticky way. All integers on the wire are big-endian.
 */
#ifndef SAMSA_BASE_BUF_H
#define SAMSA_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- byte order ------------------------------------------------------- */

static inline uint16_t be16_load(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32_load(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
static inline uint64_t be64_load(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
static inline void be16_store(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void be32_store(uint8_t *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}
static inline void be64_store(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

/* ---- zig-zag ---------------------------------------------------------- */

static inline uint32_t zigzag32(int32_t v) { return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31); }
static inline uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int32_t unzigzag32(uint32_t v) { return (int32_t)(v >> 1) ^ -(int32_t)(v & 1); }
static inline int64_t unzigzag64(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Bytes an unsigned varint of v takes (1..10). */
static inline size_t uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ---- reader ----------------------------------------------------------- */

typedef struct reader {
    const uint8_t *pos; /* next byte to read */
    const uint8_t *end; /* one past the last readable byte */
    bool bad;           /* a read did not fit, or the input was malformed */
} reader_t;

static inline reader_t reader_make(const void *data, size_t len)
{
    reader_t r = {(const uint8_t *)data, (const uint8_t *)data + len, false};
    return r;
}
static inline size_t reader_left(const reader_t *r) { return (size_t)(r->end - r->pos); }
static inline bool reader_ok(const reader_t *r) { return !r->bad; }
static inline void reader_fail(reader_t *r)
{
    r->bad = true;
    r->pos = r->end;
}

/* Returns a pointer to the next n bytes and moves past them, or NULL (and
 * marks the reader bad) when fewer than n bytes are left. */
static inline const uint8_t *reader_take(reader_t *r, size_t n)
{
    if (reader_left(r) < n) {
        reader_fail(r);
        return NULL;
    }
    const uint8_t *p = r->pos;
    r->pos += n;
    return p;
}

static inline int8_t reader_i8(reader_t *r)
{
    const uint8_t *p = reader_take(r, 1);
    return p ? (int8_t)p[0] : 0;
}
static inline int16_t reader_i16(reader_t *r)
{
    const uint8_t *p = reader_take(r, 2);
    return p ? (int16_t)be16_load(p) : 0;
}
static inline int32_t reader_i32(reader_t *r)
{
    const uint8_t *p = reader_take(r, 4);
    return p ? (int32_t)be32_load(p) : 0;
}
static inline int64_t reader_i64(reader_t *r)
{
    const uint8_t *p = reader_take(r, 8);
    return p ? (int64_t)be64_load(p) : 0;
}
static inline uint16_t reader_u16(reader_t *r) { return (uint16_t)reader_i16(r); }
static inline uint32_t reader_u32(reader_t *r) { return (uint32_t)reader_i32(r); }
double reader_f64(reader_t *r);

/* Unsigned LEB128 varint of at most max_bytes bytes (5 for 32-bit values,
 * 10 for 64-bit). Longer or truncated encodings mark the reader bad. */
uint64_t reader_uvarint_slow(reader_t *r, int max_bytes);
static inline uint32_t reader_uvarint(reader_t *r)
{
    if (r->pos < r->end && *r->pos < 0x80)
        return *r->pos++;
    uint64_t v = reader_uvarint_slow(r, 5);
    if (v > UINT32_MAX) {
        reader_fail(r);
        return 0;
    }
    return (uint32_t)v;
}
static inline int32_t reader_varint(reader_t *r) { return unzigzag32(reader_uvarint(r)); }
static inline int64_t reader_varlong(reader_t *r)
{
    if (r->pos < r->end && *r->pos < 0x80)
        return unzigzag64(*r->pos++);
    return unzigzag64(reader_uvarint_slow(r, 10));
}

/* ---- growable buffer -------------------------------------------------- */

typedef struct buf {
    uint8_t *data;
    size_t len;       /* bytes written */
    size_t cap;       /* bytes allocated */
    size_t max_bytes; /* hard cap on len; 0 means SIZE_MAX */
    bool failed;      /* allocation failed or the cap was hit */
} buf_t;

/* An empty buffer that may grow to max_bytes (0: no cap). Allocates nothing. */
void buf_init(buf_t *b, size_t max_bytes);
/* Frees the storage; the buffer is empty and usable again afterwards. */
void buf_free(buf_t *b);
/* Forgets the contents but keeps the storage and clears the failed flag. */
static inline void buf_reset(buf_t *b)
{
    b->len = 0;
    b->failed = false;
}
/* Makes room for n more bytes. Returns false (and marks the buffer failed)
 * when memory runs out or the cap would be passed. */
bool buf_grow(buf_t *b, size_t n);
/* Takes the storage out of the buffer: the caller frees it; the buffer is
 * left empty. Returns NULL for an empty buffer. */
uint8_t *buf_steal(buf_t *b, size_t *len);

/* Reserves n bytes at the end and returns them for the caller to fill, or
 * NULL when the buffer failed. */
static inline uint8_t *buf_extend(buf_t *b, size_t n)
{
    if (b->cap - b->len < n && !buf_grow(b, n))
        return NULL;
    if (!b->data)
        return NULL; /* n is 0 and nothing was ever allocated */
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}
static inline void buf_put(buf_t *b, const void *src, size_t n)
{
    uint8_t *p = buf_extend(b, n);
    if (p && n)
        memcpy(p, src, n);
}
static inline void buf_put_i8(buf_t *b, int8_t v)
{
    uint8_t *p = buf_extend(b, 1);
    if (p)
        p[0] = (uint8_t)v;
}
static inline void buf_put_i16(buf_t *b, int16_t v)
{
    uint8_t *p = buf_extend(b, 2);
    if (p)
        be16_store(p, (uint16_t)v);
}
static inline void buf_put_i32(buf_t *b, int32_t v)
{
    uint8_t *p = buf_extend(b, 4);
    if (p)
        be32_store(p, (uint32_t)v);
}
static inline void buf_put_i64(buf_t *b, int64_t v)
{
    uint8_t *p = buf_extend(b, 8);
    if (p)
        be64_store(p, (uint64_t)v);
}
static inline void buf_put_u16(buf_t *b, uint16_t v) { buf_put_i16(b, (int16_t)v); }
static inline void buf_put_u32(buf_t *b, uint32_t v) { buf_put_i32(b, (int32_t)v); }
void buf_put_f64(buf_t *b, double v);
static inline void buf_put_uvarint(buf_t *b, uint64_t v)
{
    uint8_t *p = buf_extend(b, uvarint_size(v));
    if (!p)
        return;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p = (uint8_t)v;
}
static inline void buf_put_varint(buf_t *b, int32_t v) { buf_put_uvarint(b, zigzag32(v)); }
static inline void buf_put_varlong(buf_t *b, int64_t v) { buf_put_uvarint(b, zigzag64(v)); }

#endif /* SAMSA_BASE_BUF_H */
