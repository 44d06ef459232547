/*
 * batch.c: record batch headers: parsing, validation and in-place stamping.
 */
#include "proto/batch.h"

#include "base/buf.h"
#include "base/crc32c.h"

samsa_err_t batch_header_parse(const uint8_t *data, size_t len, batch_header_t *h)
{
    if (len < BATCH_HEADER_BYTES)
        return SAMSA_ERR__BAD_MSG;
    h->base_offset = (int64_t)be64_load(data + BATCH_OFF_BASE_OFFSET);
    h->length = (int32_t)be32_load(data + BATCH_OFF_LENGTH);
    h->partition_leader_epoch = (int32_t)be32_load(data + BATCH_OFF_LEADER_EPOCH);
    h->magic = (int8_t)data[BATCH_OFF_MAGIC];
    h->crc = be32_load(data + BATCH_OFF_CRC);
    h->attributes = (int16_t)be16_load(data + BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)be32_load(data + BATCH_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)be64_load(data + BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)be64_load(data + BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)be64_load(data + BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)be16_load(data + BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)be32_load(data + BATCH_OFF_BASE_SEQUENCE);
    h->record_count = (int32_t)be32_load(data + BATCH_OFF_RECORD_COUNT);
    if (h->magic != BATCH_MAGIC || h->length < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD)
        return SAMSA_ERR_CORRUPT_MESSAGE;
    return SAMSA_ERR_NONE;
}

samsa_err_t batch_validate(const uint8_t *data, size_t len, batch_header_t *out)
{
    batch_header_t h;
    samsa_err_t err = batch_header_parse(data, len, &h);
    if (err)
        return err;
    if ((size_t)h.length + BATCH_LOG_OVERHEAD > len)
        return SAMSA_ERR__BAD_MSG;
    if (h.last_offset_delta < 0 || h.record_count < 0)
        return SAMSA_ERR_CORRUPT_MESSAGE;
    size_t covered = (size_t)h.length + BATCH_LOG_OVERHEAD - BATCH_OFF_ATTRIBUTES;
    if (crc32c(0, data + BATCH_OFF_ATTRIBUTES, covered) != h.crc)
        return SAMSA_ERR_CORRUPT_MESSAGE;
    if (out)
        *out = h;
    return SAMSA_ERR_NONE;
}

void batch_set_base_offset(uint8_t *data, int64_t base_offset)
{
    be64_store(data + BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void batch_set_leader_epoch(uint8_t *data, int32_t epoch)
{
    be32_store(data + BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}
