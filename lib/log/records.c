/*
 * records.c: building a plain (uncompressed) magic-2 batch from key/value
 * records, so that the broker's internal topics and the tests can append
 * without a producer.
 */
#include "log/log_int.h"

#include "base/buf.h"
#include "base/crc32c.h"

static size_t varint_bytes(int64_t v) { return uvarint_size(zigzag64(v)); }

samsa_err_t log_records_encode(void *out_buf, const log_record_t *records, size_t n,
                               int64_t timestamp_ms)
{
    buf_t *out = out_buf;
    if (n == 0 || n > INT32_MAX)
        return SAMSA_ERR__INVALID_ARG;
    size_t start = out->len;
    uint8_t *h = buf_extend(out, BATCH_HEADER_BYTES);
    if (!h)
        return SAMSA_ERR__NOMEM;
    memset(h, 0, BATCH_HEADER_BYTES);
    for (size_t i = 0; i < n; i++) {
        const log_record_t *r = &records[i];
        int64_t key_len = r->key ? (int64_t)r->key_bytes : -1;
        int64_t value_len = r->value ? (int64_t)r->value_bytes : -1;
        /* attributes, timestamp delta 0, offset delta, key, value, no headers */
        size_t body = 1 + 1 + varint_bytes((int64_t)i) + varint_bytes(key_len) +
                      (r->key ? r->key_bytes : 0) + varint_bytes(value_len) +
                      (r->value ? r->value_bytes : 0) + 1;
        buf_put_varlong(out, (int64_t)body);
        buf_put_i8(out, 0);
        buf_put_varlong(out, 0);
        buf_put_varint(out, (int32_t)i);
        buf_put_varlong(out, key_len);
        if (r->key)
            buf_put(out, r->key, r->key_bytes);
        buf_put_varlong(out, value_len);
        if (r->value)
            buf_put(out, r->value, r->value_bytes);
        buf_put_varint(out, 0);
    }
    if (out->failed || out->len - start - BATCH_LOG_OVERHEAD > INT32_MAX)
        return SAMSA_ERR__NOMEM;
    h = out->data + start; /* the buffer may have moved */
    be64_store(h + BATCH_OFF_BASE_OFFSET, 0);
    be32_store(h + BATCH_OFF_LENGTH, (uint32_t)(out->len - start - BATCH_LOG_OVERHEAD));
    be32_store(h + BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
    h[BATCH_OFF_MAGIC] = BATCH_MAGIC;
    be16_store(h + BATCH_OFF_ATTRIBUTES, 0);
    be32_store(h + BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
    be64_store(h + BATCH_OFF_BASE_TIMESTAMP, (uint64_t)timestamp_ms);
    be64_store(h + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)timestamp_ms);
    be64_store(h + BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
    be16_store(h + BATCH_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    be32_store(h + BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
    be32_store(h + BATCH_OFF_RECORD_COUNT, (uint32_t)n);
    size_t covered = out->len - start - BATCH_OFF_ATTRIBUTES;
    be32_store(h + BATCH_OFF_CRC, crc32c(0, h + BATCH_OFF_ATTRIBUTES, covered));
    return SAMSA_ERR_NONE;
}

samsa_err_t partition_log_append_records(partition_log_t *pl, const log_record_t *records,
                                         size_t n, int64_t timestamp_ms, int32_t leader_epoch,
                                         int64_t *base_offset_out)
{
    buf_t b;
    buf_init(&b, 0);
    samsa_err_t err = log_records_encode(&b, records, n, timestamp_ms);
    if (!err)
        err = partition_log_append(pl, b.data, b.len, leader_epoch, base_offset_out, NULL);
    buf_free(&b);
    return err;
}
