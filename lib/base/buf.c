/*
 * buf.c: the out-of-line parts of buf.h (growth, floats, long varints).
 */
#include "base/buf.h"

#include <stdlib.h>

void buf_init(buf_t *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    b->failed = false;
}

void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

bool buf_grow(buf_t *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= n)
        return true;
    if (n > b->max_bytes - b->len)
        goto fail;
    size_t want = b->len + n;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (cap > b->max_bytes)
        cap = b->max_bytes;
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        goto fail;
    b->data = data;
    b->cap = cap;
    return true;
fail:
    /* No room left: every later write comes back here and fails too. */
    b->failed = true;
    b->cap = b->len;
    return false;
}

uint8_t *buf_steal(buf_t *b, size_t *len)
{
    uint8_t *data = b->len ? b->data : NULL;
    if (!data)
        free(b->data);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return data;
}

void buf_put_f64(buf_t *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    buf_put_i64(b, (int64_t)bits);
}

double reader_f64(reader_t *r)
{
    uint64_t bits = (uint64_t)reader_i64(r);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

uint64_t reader_uvarint_slow(reader_t *r, int max_bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (r->pos >= r->end)
            break;
        uint8_t byte = *r->pos++;
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            /* the last byte of a 10-byte varint holds only one bit */
            if (i == 9 && byte > 1)
                break;
            return v;
        }
    }
    reader_fail(r);
    return 0;
}
