/*
 * batch.h: Kafka record batches (magic 2), the unit that producers send,
 * the log stores and consumers fetch.
 *
 * Layout (big-endian), 61 bytes of header then the records:
 *   0 BaseOffset i64 | 8 BatchLength i32 (bytes after this field) |
 *  12 PartitionLeaderEpoch i32 | 16 Magic i8 | 17 CRC u32 |
 *  21 Attributes i16 | 23 LastOffsetDelta i32 | 27 BaseTimestamp i64 |
 *  35 MaxTimestamp i64 | 43 ProducerId i64 | 51 ProducerEpoch i16 |
 *  53 BaseSequence i32 | 57 RecordCount i32 | 61 records...
 * The CRC-32C covers bytes 21 to the end, so the broker may stamp the base
 * offset and the leader epoch without recomputing it.
 */
#ifndef SAMSA_PROTO_BATCH_H
#define SAMSA_PROTO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "samsa.h"

#define BATCH_HEADER_BYTES 61
#define BATCH_LOG_OVERHEAD 12 /* BaseOffset + BatchLength */
#define BATCH_MAGIC 2

#define BATCH_OFF_BASE_OFFSET 0
#define BATCH_OFF_LENGTH 8
#define BATCH_OFF_LEADER_EPOCH 12
#define BATCH_OFF_MAGIC 16
#define BATCH_OFF_CRC 17
#define BATCH_OFF_ATTRIBUTES 21
#define BATCH_OFF_LAST_OFFSET_DELTA 23
#define BATCH_OFF_BASE_TIMESTAMP 27
#define BATCH_OFF_MAX_TIMESTAMP 35
#define BATCH_OFF_PRODUCER_ID 43
#define BATCH_OFF_PRODUCER_EPOCH 51
#define BATCH_OFF_BASE_SEQUENCE 53
#define BATCH_OFF_RECORD_COUNT 57

/* Attributes bits */
#define BATCH_ATTR_COMPRESSION_MASK 0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20
#define BATCH_ATTR_DELETE_HORIZON 0x40

enum batch_compression {
    BATCH_COMPRESSION_NONE = 0,
    BATCH_COMPRESSION_GZIP = 1,
    BATCH_COMPRESSION_SNAPPY = 2,
    BATCH_COMPRESSION_LZ4 = 3,
    BATCH_COMPRESSION_ZSTD = 4,
};

typedef struct batch_header {
    int64_t base_offset;
    int32_t length; /* BatchLength: the batch takes length + 12 bytes */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} batch_header_t;

/* Reads the header of the batch at data (len bytes available) without
 * touching the records or checking the CRC. Returns SAMSA_ERR__BAD_MSG when
 * fewer than 61 bytes are there, SAMSA_ERR_CORRUPT_MESSAGE when the magic
 * is not 2 or the length is below the header's. */
samsa_err_t batch_header_parse(const uint8_t *data, size_t len, batch_header_t *out);

/* Checks the batch at data: magic 2, BatchLength within len, CRC-32C,
 * LastOffsetDelta and RecordCount not negative. On success fills *out (may
 * be NULL) and returns SAMSA_ERR_NONE; the batch takes out->length + 12
 * bytes. Returns SAMSA_ERR__BAD_MSG when the batch is cut short (more bytes
 * are needed) and SAMSA_ERR_CORRUPT_MESSAGE for a bad magic, length or CRC. */
samsa_err_t batch_validate(const uint8_t *data, size_t len, batch_header_t *out);

/* Bytes the whole batch at data takes (BatchLength + 12), read from its
 * header without any check; data must hold at least 12 bytes. */
static inline size_t batch_total_bytes(const uint8_t *data)
{
    uint32_t length = ((uint32_t)data[8] << 24) | ((uint32_t)data[9] << 16) |
                      ((uint32_t)data[10] << 8) | data[11];
    return (size_t)length + BATCH_LOG_OVERHEAD;
}

/* Writes base_offset / leader_epoch into the header in place (outside the
 * CRC, so the batch stays valid). */
void batch_set_base_offset(uint8_t *data, int64_t base_offset);
void batch_set_leader_epoch(uint8_t *data, int32_t epoch);

#endif /* SAMSA_PROTO_BATCH_H */
