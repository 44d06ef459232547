/*
 * batch_read.c: walking the record batches of a byte range (a fetch
 * response, a log segment) and the records inside each batch.
 *
 * Batches are validated (length, magic, CRC) without decoding their
 * records. Records are decoded in place, as slices of the batch (or of the
 * one decompressed block), with the varints decoded inline: a consumer
 * walks tens of millions of records a second this way, with no allocation
 * per record. Every length is checked against the end of its record before
 * it is used, so malformed input stops the walk and is never read past.
 */
#include "proto/batch.h"

#include "proto/compress.h"

/* ---- varints ------------------------------------------------------------ */

/* Decodes an unsigned LEB128 varint of at most max_bytes bytes at *pp,
 * not reading at or past end. Returns false when it is cut short, longer
 * than max_bytes, or its value exceeds max_value. */
static inline bool get_uvarint(const uint8_t **pp, const uint8_t *end, int max_bytes,
                               uint64_t max_value, uint64_t *out)
{
    const uint8_t *p = *pp;
    /* One and two bytes (values below 16384) cover nearly every length. */
    if (__builtin_expect(end - p >= 2, 1)) {
        if (p[0] < 0x80) {
            *out = p[0];
            *pp = p + 1;
            return true;
        }
        if (p[1] < 0x80) {
            *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            *pp = p + 2;
            return true;
        }
    }
    uint64_t v = 0;
    for (int i = 0; i < max_bytes && p < end; i++) {
        uint8_t byte = *p++;
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            /* the 10th byte of a varlong carries one bit */
            if (v > max_value || (i == 9 && byte > 1))
                return false;
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* A zig-zag int32 varint (at most 5 bytes). */
static inline bool get_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    uint64_t u;
    if (!get_uvarint(pp, end, 5, UINT32_MAX, &u))
        return false;
    *out = unzigzag32((uint32_t)u);
    return true;
}

/* A zig-zag int64 varlong (at most 10 bytes). */
static inline bool get_varlong(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
    uint64_t u;
    if (!get_uvarint(pp, end, 10, UINT64_MAX, &u))
        return false;
    *out = unzigzag64(u);
    return true;
}

/* A length-prefixed byte string: length -1 is null when nullable; on
 * success *data and *len describe it (data NULL for null) and *pp moves past. */
static inline bool get_bytes(const uint8_t **pp, const uint8_t *end, bool nullable,
                             const uint8_t **data, size_t *len)
{
    int32_t n;
    if (!get_varint(pp, end, &n))
        return false;
    if (n < 0) {
        if (n != -1 || !nullable)
            return false;
        *data = NULL;
        *len = 0;
        return true;
    }
    if ((size_t)n > (size_t)(end - *pp))
        return false;
    *data = *pp;
    *len = (size_t)n;
    *pp += n;
    return true;
}

/* ---- batches ------------------------------------------------------------ */

void batch_iter_init(batch_iter_t *it, const void *data, size_t len)
{
    it->pos = data;
    it->end = it->pos + len;
    it->err = SAMSA_ERR_NONE;
}

/* Stops the walk with err (sticky). */
static bool batch_iter_stop(batch_iter_t *it, samsa_err_t err)
{
    it->err = err;
    it->end = it->pos;
    return false;
}

bool batch_iter_next(batch_iter_t *it, batch_t *out)
{
    size_t left = (size_t)(it->end - it->pos);
    if (left == 0)
        return false; /* it->err says whether the walk ended cleanly */
    if (left < BATCH_LOG_OVERHEAD)
        return batch_iter_stop(it, SAMSA_ERR__BAD_MSG);
    int32_t length = (int32_t)be32_load(it->pos + BATCH_OFF_LENGTH);
    if (left > BATCH_OFF_MAGIC) {
        int8_t magic = (int8_t)it->pos[BATCH_OFF_MAGIC];
        if (magic == 0 || magic == 1)
            return batch_iter_stop(it, SAMSA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
        if (magic != BATCH_MAGIC)
            return batch_iter_stop(it, SAMSA_ERR_CORRUPT_MESSAGE);
    }
    if (length < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD)
        return batch_iter_stop(it, SAMSA_ERR_CORRUPT_MESSAGE);
    size_t total = (size_t)length + BATCH_LOG_OVERHEAD;
    if (total > left)
        return batch_iter_stop(it, SAMSA_ERR__BAD_MSG);
    samsa_err_t err = batch_validate(it->pos, total, &out->header);
    if (err)
        return batch_iter_stop(it, err == SAMSA_ERR__BAD_MSG ? SAMSA_ERR_CORRUPT_MESSAGE : err);
    out->data = it->pos;
    out->size = total;
    out->records = it->pos + BATCH_HEADER_BYTES;
    out->records_len = total - BATCH_HEADER_BYTES;
    it->pos += total;
    return true;
}

/* ---- records ------------------------------------------------------------ */

samsa_err_t record_iter_init(record_iter_t *it, const batch_t *b, buf_t *scratch,
                             size_t max_decompressed_bytes)
{
    buf_init(&it->own, 0);
    it->base_offset = b->header.base_offset;
    it->base_timestamp_ms = b->header.base_timestamp;
    it->log_append_time = (b->header.attributes & BATCH_ATTR_LOG_APPEND_TIME) != 0;
    it->log_append_time_ms = it->log_append_time ? b->header.max_timestamp : -1;
    it->left = b->header.record_count;
    it->err = SAMSA_ERR_NONE;
    int codec = batch_codec(b);
    if (codec == COMPRESS_NONE) {
        it->pos = b->records;
        it->end = b->records + b->records_len;
        return SAMSA_ERR_NONE;
    }
    buf_t *dst = scratch ? scratch : &it->own;
    buf_reset(dst);
    samsa_err_t err = compress_decode(codec, b->records, b->records_len, dst,
                                      max_decompressed_bytes);
    if (err) {
        it->err = err;
        it->left = -1;
        it->pos = it->end = NULL;
        return err;
    }
    /* Nothing was allocated when the records decompressed to no bytes. */
    it->pos = dst->data;
    it->end = dst->len ? dst->data + dst->len : dst->data;
    return SAMSA_ERR_NONE;
}

/* Stops the record walk: clean when the count is met and nothing is left. */
static bool record_iter_stop(record_iter_t *it, samsa_err_t err)
{
    it->err = err;
    it->left = -1;
    return false;
}

bool record_iter_next(record_iter_t *it, record_t *out)
{
    if (it->left <= 0) {
        if (it->left == 0)
            return record_iter_stop(it, it->pos == it->end ? SAMSA_ERR_NONE
                                                           : SAMSA_ERR_CORRUPT_MESSAGE);
        return false;
    }
    const uint8_t *p = it->pos;
    int32_t length;
    if (!get_varint(&p, it->end, &length) || length < 1 || length > it->end - p)
        goto corrupt;
    const uint8_t *end = p + length;
    p++; /* record attributes: unused */
    int64_t timestamp_delta;
    int32_t offset_delta;
    if (!get_varlong(&p, end, &timestamp_delta) || !get_varint(&p, end, &offset_delta))
        goto corrupt;
    if (!get_bytes(&p, end, true, &out->key, &out->key_len) ||
        !get_bytes(&p, end, true, &out->value, &out->value_len))
        goto corrupt;
    int32_t header_count;
    if (!get_varint(&p, end, &header_count) || header_count < 0)
        goto corrupt;
    out->headers = p;
    for (int32_t i = 0; i < header_count; i++) {
        const uint8_t *name, *value;
        size_t name_len, value_len;
        if (!get_bytes(&p, end, false, &name, &name_len) ||
            !get_bytes(&p, end, true, &value, &value_len))
            goto corrupt;
    }
    if (p != end)
        goto corrupt;
    out->header_count = (uint32_t)header_count;
    out->headers_len = (size_t)(p - out->headers);
    out->offset = (int64_t)((uint64_t)it->base_offset + (uint64_t)(int64_t)offset_delta);
    out->timestamp_ms = it->log_append_time
                            ? it->log_append_time_ms
                            : (int64_t)((uint64_t)it->base_timestamp_ms + (uint64_t)timestamp_delta);
    it->pos = p;
    it->left--;
    return true;
corrupt:
    return record_iter_stop(it, SAMSA_ERR_CORRUPT_MESSAGE);
}

void record_iter_free(record_iter_t *it) { buf_free(&it->own); }

bool record_header_next(record_header_iter_t *it, record_header_t *out)
{
    if (!it->left)
        return false;
    const uint8_t *name;
    if (!get_bytes(&it->pos, it->end, false, &name, &out->name_len) ||
        !get_bytes(&it->pos, it->end, true, &out->value, &out->value_len)) {
        it->left = 0;
        return false;
    }
    out->name = (const char *)name;
    it->left--;
    return true;
}
