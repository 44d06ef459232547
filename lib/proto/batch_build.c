/*
 * batch_build.c: the record batch builder a producer (or the broker, for
 * control batches) uses to write one magic-2 batch.
 *
 * The 61-byte header is reserved first and the records are written right
 * after it, uncompressed; finish compresses them as one block when a codec
 * is asked for, then fills in the header and the CRC-32C. Each record is
 * sized first and written with a single buffer reservation.
 */
#include "proto/batch.h"

#include "base/crc32c.h"
#include "proto/compress.h"

#define RECORD_MAX_BYTES ((size_t)INT32_MAX)

void batch_builder_params_default(batch_builder_params_t *p, int64_t base_timestamp_ms)
{
    p->base_offset = 0;
    p->partition_leader_epoch = -1;
    p->base_timestamp_ms = base_timestamp_ms;
    p->producer_id = -1;
    p->producer_epoch = -1;
    p->base_sequence = -1;
    p->attributes = 0;
}

void batch_builder_init(batch_builder_t *b, buf_t *out, const batch_builder_params_t *params)
{
    buf_init(&b->own, 0);
    buf_init(&b->scratch, 0);
    b->out = out ? out : &b->own;
    b->start = b->out->len;
    b->params = *params;
    b->max_timestamp_ms = -1;
    b->record_count = 0;
    b->finished = false;
    b->err = SAMSA_ERR_NONE;
    uint8_t *h = buf_extend(b->out, BATCH_HEADER_BYTES);
    if (h)
        memset(h, 0, BATCH_HEADER_BYTES);
    else
        b->err = SAMSA_ERR__NOMEM;
}

/* Bytes of a signed varint / varlong. */
static inline size_t varint_bytes(int64_t v) { return uvarint_size(zigzag64(v)); }

/* Writes v as an unsigned varint at p and returns the byte after it. */
static inline uint8_t *put_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}
static inline uint8_t *put_varlong(uint8_t *p, int64_t v) { return put_uvarint(p, zigzag64(v)); }

/* Bytes of the record body (everything after its Length varint), or
 * SIZE_MAX when a size does not fit Kafka's int32 fields. */
static size_t record_body_bytes(int64_t timestamp_delta, int32_t offset_delta, bool key_null,
                                size_t key_len, bool value_null, size_t value_len,
                                const record_header_t *headers, size_t header_count)
{
    if (key_len > RECORD_MAX_BYTES || value_len > RECORD_MAX_BYTES ||
        header_count > RECORD_MAX_BYTES)
        return SIZE_MAX;
    size_t n = 1 + varint_bytes(timestamp_delta) + varint_bytes(offset_delta);
    n += key_null ? 1 : varint_bytes((int64_t)key_len) + key_len;
    n += value_null ? 1 : varint_bytes((int64_t)value_len) + value_len;
    n += varint_bytes((int64_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        const record_header_t *h = &headers[i];
        if (h->name_len > RECORD_MAX_BYTES || h->value_len > RECORD_MAX_BYTES)
            return SIZE_MAX;
        n += varint_bytes((int64_t)h->name_len) + h->name_len;
        n += h->value ? varint_bytes((int64_t)h->value_len) + h->value_len : 1;
        if (n > RECORD_MAX_BYTES)
            return SIZE_MAX;
    }
    return n > RECORD_MAX_BYTES ? SIZE_MAX : n;
}

size_t batch_builder_record_bytes(const batch_builder_t *b, int64_t timestamp_ms, size_t key_len,
                                  size_t value_len, const record_header_t *headers,
                                  size_t header_count)
{
    int64_t delta = (int64_t)((uint64_t)timestamp_ms - (uint64_t)b->params.base_timestamp_ms);
    size_t body = record_body_bytes(delta, b->record_count, false, key_len, false, value_len,
                                    headers, header_count);
    return body == SIZE_MAX ? SIZE_MAX : varint_bytes((int64_t)body) + body;
}

samsa_err_t batch_builder_append(batch_builder_t *b, int64_t timestamp_ms, const void *key,
                                 size_t key_len, const void *value, size_t value_len,
                                 const record_header_t *headers, size_t header_count)
{
    if (b->finished)
        return SAMSA_ERR__STATE;
    if (b->err)
        return b->err;
    if ((!key && key_len) || (!value && value_len) || (!headers && header_count) ||
        b->record_count == INT32_MAX)
        return SAMSA_ERR__INVALID_ARG;
    for (size_t i = 0; i < header_count; i++)
        if ((!headers[i].name && headers[i].name_len) ||
            (!headers[i].value && headers[i].value_len))
            return SAMSA_ERR__INVALID_ARG;
    int64_t ts_delta = (int64_t)((uint64_t)timestamp_ms - (uint64_t)b->params.base_timestamp_ms);
    int32_t offset_delta = b->record_count;
    size_t body = record_body_bytes(ts_delta, offset_delta, !key, key_len, !value, value_len,
                                    headers, header_count);
    if (body == SIZE_MAX)
        return SAMSA_ERR__INVALID_ARG;
    size_t total = varint_bytes((int64_t)body) + body;
    buf_t *out = b->out;
    bool over_cap = total > out->max_bytes - out->len;
    uint8_t *p = buf_extend(out, total);
    if (!p) {
        b->err = over_cap ? SAMSA_ERR__MSG_TOO_LARGE : SAMSA_ERR__NOMEM;
        return b->err;
    }
    p = put_varlong(p, (int64_t)body);
    *p++ = 0; /* record attributes: unused */
    p = put_varlong(p, ts_delta);
    p = put_varlong(p, offset_delta);
    if (key) {
        p = put_varlong(p, (int64_t)key_len);
        if (key_len)
            memcpy(p, key, key_len);
        p += key_len;
    } else {
        *p++ = 1; /* zig-zag -1 */
    }
    if (value) {
        p = put_varlong(p, (int64_t)value_len);
        if (value_len)
            memcpy(p, value, value_len);
        p += value_len;
    } else {
        *p++ = 1;
    }
    p = put_varlong(p, (int64_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        const record_header_t *h = &headers[i];
        p = put_varlong(p, (int64_t)h->name_len);
        if (h->name_len)
            memcpy(p, h->name, h->name_len);
        p += h->name_len;
        if (h->value) {
            p = put_varlong(p, (int64_t)h->value_len);
            if (h->value_len)
                memcpy(p, h->value, h->value_len);
            p += h->value_len;
        } else {
            *p++ = 1;
        }
    }
    if (b->record_count == 0 || timestamp_ms > b->max_timestamp_ms)
        b->max_timestamp_ms = timestamp_ms;
    b->record_count++;
    return SAMSA_ERR_NONE;
}

samsa_err_t batch_builder_finish(batch_builder_t *b, int codec, int level,
                                 const uint8_t **batch, size_t *batch_len)
{
    buf_t *out = b->out;
    samsa_err_t err = b->finished ? SAMSA_ERR__STATE : b->err;
    if (err)
        goto fail;
    if (codec < COMPRESS_NONE || codec > COMPRESS_ZSTD) {
        err = SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE;
        goto fail;
    }
    if (codec != COMPRESS_NONE) {
        size_t records_at = b->start + BATCH_HEADER_BYTES;
        buf_reset(&b->scratch);
        err = compress_encode(codec, level, out->data + records_at, out->len - records_at,
                              &b->scratch);
        if (err)
            goto fail;
        out->len = records_at;
        if (b->scratch.len)
            buf_put(out, b->scratch.data, b->scratch.len);
        if (out->failed) {
            err = SAMSA_ERR__NOMEM;
            goto fail;
        }
    }
    size_t total = out->len - b->start;
    if (total - BATCH_LOG_OVERHEAD > (size_t)INT32_MAX) {
        err = SAMSA_ERR__MSG_TOO_LARGE;
        goto fail;
    }
    uint8_t *h = out->data + b->start;
    const batch_builder_params_t *p = &b->params;
    int16_t attributes = (int16_t)((p->attributes & ~BATCH_ATTR_COMPRESSION_MASK) | codec);
    be64_store(h + BATCH_OFF_BASE_OFFSET, (uint64_t)p->base_offset);
    be32_store(h + BATCH_OFF_LENGTH, (uint32_t)(total - BATCH_LOG_OVERHEAD));
    be32_store(h + BATCH_OFF_LEADER_EPOCH, (uint32_t)p->partition_leader_epoch);
    h[BATCH_OFF_MAGIC] = BATCH_MAGIC;
    be16_store(h + BATCH_OFF_ATTRIBUTES, (uint16_t)attributes);
    be32_store(h + BATCH_OFF_LAST_OFFSET_DELTA,
               (uint32_t)(b->record_count ? b->record_count - 1 : 0));
    be64_store(h + BATCH_OFF_BASE_TIMESTAMP, (uint64_t)p->base_timestamp_ms);
    be64_store(h + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp_ms);
    be64_store(h + BATCH_OFF_PRODUCER_ID, (uint64_t)p->producer_id);
    be16_store(h + BATCH_OFF_PRODUCER_EPOCH, (uint16_t)p->producer_epoch);
    be32_store(h + BATCH_OFF_BASE_SEQUENCE, (uint32_t)p->base_sequence);
    be32_store(h + BATCH_OFF_RECORD_COUNT, (uint32_t)b->record_count);
    be32_store(h + BATCH_OFF_CRC,
               crc32c(0, h + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES));
    b->finished = true;
    if (batch)
        *batch = h;
    if (batch_len)
        *batch_len = total;
    return SAMSA_ERR_NONE;
fail:
    if (!b->finished) {
        /* Nothing of this batch stays in the output. */
        out->len = b->start < out->len ? b->start : out->len;
        b->finished = true;
        b->err = err;
    }
    return err;
}

void batch_builder_free(batch_builder_t *b)
{
    buf_free(&b->own);
    buf_free(&b->scratch);
}
