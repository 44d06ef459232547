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
 *
 * Each record (uncompressed, or inside the one compressed block):
 *   Length varint (bytes after it) | Attributes i8 | TimestampDelta varlong |
 *   OffsetDelta varint | KeyLength varint (-1: null) | Key |
 *   ValueLength varint (-1: null) | Value | HeaderCount varint |
 *   per header: NameLength varint | Name | ValueLength varint (-1: null) | Value
 *
 * This header declares three parts: header parsing and validation
 * (batch.c), the builder (batch_build.c) and the readers of batches and of
 * their records (batch_read.c).
 */
#ifndef SAMSA_PROTO_BATCH_H
#define SAMSA_PROTO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
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

/* ---- records and headers ---------------------------------------------- */

/* One record header. Building: name/name_len are copied; value NULL means
 * a null value (an empty value is a non-NULL pointer with length 0).
 * Reading: all pointers are slices of the batch (or of its decompressed
 * records) and name is not NUL-terminated. */
typedef struct record_header {
    const char *name;
    size_t name_len;
    const uint8_t *value; /* NULL: null value */
    size_t value_len;
} record_header_t;

/* ---- builder (batch_build.c) -------------------------------------------- */

typedef struct batch_builder_params {
    int64_t base_offset;            /* 0 for a producer; the broker assigns offsets */
    int32_t partition_leader_epoch; /* -1 when not known */
    int64_t base_timestamp_ms;      /* usually the first record's timestamp */
    int64_t producer_id;            /* -1 when not idempotent */
    int16_t producer_epoch;         /* -1 when not idempotent */
    int32_t base_sequence;          /* -1 when not idempotent */
    int16_t attributes;             /* BATCH_ATTR_TRANSACTIONAL, _CONTROL, _LOG_APPEND_TIME;
                                       the codec bits are set by batch_builder_finish */
} batch_builder_params_t;

/* The defaults above: offset 0, epoch/producer id/epoch/sequence -1. */
void batch_builder_params_default(batch_builder_params_t *p, int64_t base_timestamp_ms);

/* Builds one batch: init, append records, finish. Not thread-safe: one
 * thread at a time per builder. */
typedef struct batch_builder {
    buf_t *out;           /* the batch is appended here */
    buf_t own;            /* out points here when the caller gave no buffer */
    buf_t scratch;        /* the compressed records while finishing */
    size_t start;         /* where the batch begins in *out */
    batch_builder_params_t params;
    int64_t max_timestamp_ms;
    int32_t record_count;
    bool finished;
    samsa_err_t err;      /* first error; sticky */
} batch_builder_t;

/* Starts a batch at the end of out (out may be NULL: the builder then owns
 * the bytes, see batch_builder_finish). Writes the 61-byte header's
 * placeholder at once; the records follow it uncompressed until finish.
 * The builder borrows out until batch_builder_free; params is copied. */
void batch_builder_init(batch_builder_t *b, buf_t *out, const batch_builder_params_t *params);

/* Bytes the next record, with these sizes, would add to the batch,
 * uncompressed (exact: a null key or value takes as much as an empty one).
 * Pass NULL headers with header_count 0 for none. SIZE_MAX when a size is
 * past Kafka's int32 limits. */
size_t batch_builder_record_bytes(const batch_builder_t *b, int64_t timestamp_ms, size_t key_len,
                                  size_t value_len, const record_header_t *headers,
                                  size_t header_count);

/* Bytes the batch takes so far, uncompressed (header included): what a
 * producer compares with batch.size (an upper bound once compressed). */
static inline size_t batch_builder_bytes(const batch_builder_t *b)
{
    return b->out->len - b->start;
}

/* Appends a record with the next offset delta. key/value NULL mean null
 * (then their lengths must be 0); the bytes are copied.
 * Returns SAMSA_ERR__INVALID_ARG for a NULL pointer with a length, a size
 * past 2^31-1 or more than 2^31-1 records; SAMSA_ERR__STATE after finish;
 * SAMSA_ERR__NOMEM or SAMSA_ERR__MSG_TOO_LARGE when the output buffer
 * cannot grow (then the builder is failed: finish returns the error). */
samsa_err_t batch_builder_append(batch_builder_t *b, int64_t timestamp_ms, const void *key,
                                 size_t key_len, const void *value, size_t value_len,
                                 const record_header_t *headers, size_t header_count);

/* Sets the producer id, epoch and base sequence the header will carry
 * (before finish): a producer fills a batch before it knows where the
 * batch falls in its partition's sequence. */
static inline void batch_builder_set_producer(batch_builder_t *b, int64_t producer_id,
                                              int16_t producer_epoch, int32_t base_sequence)
{
    b->params.producer_id = producer_id;
    b->params.producer_epoch = producer_epoch;
    b->params.base_sequence = base_sequence;
}

/* Completes the batch: compresses the records with codec (COMPRESS_* of
 * compress.h; level COMPRESS_LEVEL_DEFAULT or codec-specific), writes
 * LastOffsetDelta, MaxTimestamp, RecordCount, the attributes' codec bits,
 * BatchLength and the CRC-32C. On success *batch and *batch_len (either may be
 * NULL) point at the batch inside the output buffer, valid until that
 * buffer changes (for a builder-owned buffer: until batch_builder_free).
 * Returns the builder's sticky error, or a compress_encode error; on error
 * the output buffer is cut back to where the batch began. */
samsa_err_t batch_builder_finish(batch_builder_t *b, int codec, int level,
                                 const uint8_t **batch, size_t *batch_len);

/* Frees what the builder owns (its own output buffer and scratch space);
 * the caller's output buffer is left as it is. */
void batch_builder_free(batch_builder_t *b);

/* ---- reading batches (batch_read.c) ------------------------------------- */

/* One batch inside a larger input, as found by batch_iter_next. */
typedef struct batch {
    batch_header_t header;
    const uint8_t *data;     /* the batch's first byte (BaseOffset) */
    size_t size;             /* bytes the whole batch takes */
    const uint8_t *records;  /* the records as stored (compressed or not) */
    size_t records_len;
} batch_t;

static inline int batch_codec(const batch_t *b)
{
    return b->header.attributes & BATCH_ATTR_COMPRESSION_MASK;
}
static inline bool batch_is_control(const batch_t *b)
{
    return (b->header.attributes & BATCH_ATTR_CONTROL) != 0;
}
static inline bool batch_is_transactional(const batch_t *b)
{
    return (b->header.attributes & BATCH_ATTR_TRANSACTIONAL) != 0;
}
static inline int64_t batch_last_offset(const batch_t *b)
{
    return (int64_t)((uint64_t)b->header.base_offset + (uint64_t)b->header.last_offset_delta);
}

/* Walks the batches of a byte range, e.g. a fetch response's records. */
typedef struct batch_iter {
    const uint8_t *pos;  /* the next batch */
    const uint8_t *end;
    samsa_err_t err;     /* why batch_iter_next stopped (see there) */
} batch_iter_t;

/* Starts walking len bytes at data (borrowed; must outlive the walk). */
void batch_iter_init(batch_iter_t *it, const void *data, size_t len);

/* Finds the next batch and checks it with batch_validate (length, magic,
 * CRC) without touching its records. Returns true with *out filled, or
 * false to stop, leaving in it->err:
 *   SAMSA_ERR_NONE            every byte was consumed;
 *   SAMSA_ERR__BAD_MSG        the rest is a batch cut short (a fetch
 *                             response may end so): partial, stop; the
 *                             bytes from it->pos are its beginning;
 *   SAMSA_ERR_CORRUPT_MESSAGE bad magic, length or CRC at it->pos;
 *   SAMSA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT  a magic 0 or 1 message set.
 * Once stopped it stays stopped. Thread-safe for distinct iterators. */
bool batch_iter_next(batch_iter_t *it, batch_t *out);

/* One record; every pointer is a slice of the batch or of the iterator's
 * decompressed records, valid while those are. */
typedef struct record {
    int64_t offset;           /* BaseOffset + OffsetDelta */
    int64_t timestamp_ms;     /* BaseTimestamp + delta; MaxTimestamp for LogAppendTime */
    const uint8_t *key;       /* NULL for a null key */
    size_t key_len;
    const uint8_t *value;     /* NULL for a null value */
    size_t value_len;
    uint32_t header_count;
    const uint8_t *headers;   /* header_count encoded headers: use record_header_iter */
    size_t headers_len;
} record_t;

/* Walks the records of one batch. */
typedef struct record_iter {
    const uint8_t *pos;
    const uint8_t *end;
    int64_t base_offset;
    int64_t base_timestamp_ms;
    int64_t log_append_time_ms; /* MaxTimestamp for LogAppendTime batches, else -1 */
    bool log_append_time;
    int32_t left;               /* records not yet returned */
    samsa_err_t err;            /* why record_iter_next stopped */
    buf_t own;                  /* decompressed records when the caller gave no buffer */
} record_iter_t;

/* Prepares to walk the records of b. A compressed batch is decompressed
 * here, at most max_decompressed_bytes, into scratch (reset first; the
 * caller owns it and may reuse it for the next batch) or, when scratch is
 * NULL, into a buffer the iterator owns. Uncompressed batches are read in
 * place: nothing is copied.
 * Returns SAMSA_ERR_NONE; a compress_decode error (SAMSA_ERR__COMPRESSION,
 * SAMSA_ERR__MSG_TOO_LARGE, SAMSA_ERR__NOMEM); or
 * SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE for codec bits 5..7. After an
 * error the iterator returns no records; record_iter_free is still due. */
samsa_err_t record_iter_init(record_iter_t *it, const batch_t *b, buf_t *scratch,
                             size_t max_decompressed_bytes);

/* Decodes the next record into *out. Returns true, or false at the end:
 * it->err is SAMSA_ERR_NONE when RecordCount records were read and the
 * records ended exactly there, SAMSA_ERR_CORRUPT_MESSAGE for a malformed
 * record (varint overflow, a length past the end, a record whose length
 * disagrees with its fields, too few or too many records). Headers are
 * checked here too, so record_header_next needs no checks. Never reads
 * outside the records. */
bool record_iter_next(record_iter_t *it, record_t *out);

/* Frees the iterator's own decompression buffer, if any. */
void record_iter_free(record_iter_t *it);

/* Walks the headers of a record returned by record_iter_next. */
typedef struct record_header_iter {
    const uint8_t *pos;
    const uint8_t *end;
    uint32_t left;
} record_header_iter_t;

static inline record_header_iter_t record_header_iter(const record_t *r)
{
    record_header_iter_t it = {r->headers, r->headers + r->headers_len, r->header_count};
    return it;
}

/* The next header of the record into *out; false after the last one. */
bool record_header_next(record_header_iter_t *it, record_header_t *out);

#endif /* SAMSA_PROTO_BATCH_H */
