/*
 * Unit tests for record batches (lib/proto/batch*.c): the exact wire bytes
 * of a hand-laid batch, build/read round trips with every codec, CRC and
 * truncation handling, malformed records, and the batches real clients
 * wrote (tests/data/batches/<client>-<codec>.bin with a .txt beside each).
 */
#include "proto/batch.h"

#include "base/crc32c.h"
#include "proto/compress.h"

#include <check.h>

#include "unit.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP (1u << 20)

static const int all_codecs[] = {COMPRESS_NONE, COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4,
                                 COMPRESS_ZSTD};
#define NCODECS (int)(sizeof(all_codecs) / sizeof(all_codecs[0]))

/* A batch laid out by hand: producer 42 epoch 3 sequence 7, base timestamp
 * 1700000000000, two records:
 *   0: +0 ms, key "k", value "v1", no headers
 *   1: +5 ms, null key, empty value, headers h="x" and n=null */
static const uint8_t golden[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* BaseOffset 0 */
    0x00, 0x00, 0x00, 0x49,                         /* BatchLength 73 */
    0xff, 0xff, 0xff, 0xff,                         /* PartitionLeaderEpoch -1 */
    0x02,                                           /* Magic */
    0x79, 0xa6, 0x23, 0x67,                         /* CRC-32C of bytes 21..84 */
    0x00, 0x00,                                     /* Attributes */
    0x00, 0x00, 0x00, 0x01,                         /* LastOffsetDelta */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* BaseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05, /* MaxTimestamp */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* ProducerId 42 */
    0x00, 0x03,                                     /* ProducerEpoch 3 */
    0x00, 0x00, 0x00, 0x07,                         /* BaseSequence 7 */
    0x00, 0x00, 0x00, 0x02,                         /* RecordCount 2 */
    /* record 0: length 9, attrs, ts +0, offset +0, key "k", value "v1", 0 headers */
    0x12, 0x00, 0x00, 0x00, 0x02, 'k', 0x04, 'v', '1', 0x00,
    /* record 1: length 13, attrs, ts +5, offset +1, key null, value "", 2 headers */
    0x1a, 0x00, 0x0a, 0x02, 0x01, 0x00, 0x04,
    0x02, 'h', 0x02, 'x', /* h = "x" */
    0x02, 'n', 0x01,      /* n = null */
};

static void build_golden(buf_t *out)
{
    batch_builder_params_t p;
    batch_builder_params_default(&p, 1700000000000LL);
    p.producer_id = 42;
    p.producer_epoch = 3;
    p.base_sequence = 7;
    batch_builder_t b;
    batch_builder_init(&b, out, &p);
    ck_assert_int_eq(batch_builder_append(&b, 1700000000000LL, "k", 1, "v1", 2, NULL, 0), 0);
    record_header_t h[2] = {{"h", 1, (const uint8_t *)"x", 1}, {"n", 1, NULL, 0}};
    ck_assert_int_eq(batch_builder_append(&b, 1700000000005LL, NULL, 0, "", 0, h, 2), 0);
    ck_assert_int_eq(batch_builder_finish(&b, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT, NULL, NULL),
                     0);
    batch_builder_free(&b);
}

START_TEST(builder_writes_the_exact_wire_bytes)
{
    buf_t out;
    buf_init(&out, 0);
    build_golden(&out);
    ck_assert_uint_eq(out.len, sizeof(golden));
    for (size_t i = 0; i < sizeof(golden); i++)
        ck_assert_msg(out.data[i] == golden[i], "byte %zu: 0x%02x, want 0x%02x", i, out.data[i],
                      golden[i]);
    buf_free(&out);
}
END_TEST

START_TEST(reader_decodes_the_exact_wire_bytes)
{
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, golden, sizeof(golden));
    ck_assert(batch_iter_next(&it, &batch));
    ck_assert_int_eq(batch.header.producer_id, 42);
    ck_assert_int_eq(batch.header.producer_epoch, 3);
    ck_assert_int_eq(batch.header.base_sequence, 7);
    ck_assert_int_eq(batch.header.record_count, 2);
    ck_assert_uint_eq(batch.size, sizeof(golden));
    ck_assert(!batch_is_control(&batch) && !batch_is_transactional(&batch));
    ck_assert_int_eq(batch_last_offset(&batch), 1);

    record_iter_t ri;
    record_t r;
    ck_assert_int_eq(record_iter_init(&ri, &batch, NULL, CAP), 0);
    ck_assert(record_iter_next(&ri, &r));
    ck_assert_int_eq(r.offset, 0);
    ck_assert_int_eq(r.timestamp_ms, 1700000000000LL);
    ck_assert_uint_eq(r.key_len, 1);
    ck_assert(memcmp(r.key, "k", 1) == 0);
    ck_assert_uint_eq(r.value_len, 2);
    ck_assert(memcmp(r.value, "v1", 2) == 0);
    ck_assert_uint_eq(r.header_count, 0);
    /* zero-copy: the slices point into the input */
    ck_assert(r.key >= golden && r.key < golden + sizeof(golden));

    ck_assert(record_iter_next(&ri, &r));
    ck_assert_int_eq(r.offset, 1);
    ck_assert_int_eq(r.timestamp_ms, 1700000000005LL);
    ck_assert_ptr_null(r.key);
    ck_assert_ptr_nonnull(r.value);
    ck_assert_uint_eq(r.value_len, 0);
    ck_assert_uint_eq(r.header_count, 2);
    record_header_iter_t hi = record_header_iter(&r);
    record_header_t h;
    ck_assert(record_header_next(&hi, &h));
    ck_assert_uint_eq(h.name_len, 1);
    ck_assert(memcmp(h.name, "h", 1) == 0);
    ck_assert_uint_eq(h.value_len, 1);
    ck_assert(memcmp(h.value, "x", 1) == 0);
    ck_assert(record_header_next(&hi, &h));
    ck_assert(memcmp(h.name, "n", 1) == 0);
    ck_assert_ptr_null(h.value);
    ck_assert(!record_header_next(&hi, &h));

    ck_assert(!record_iter_next(&ri, &r));
    ck_assert_int_eq(ri.err, SAMSA_ERR_NONE);
    record_iter_free(&ri);
    ck_assert(!batch_iter_next(&it, &batch));
    ck_assert_int_eq(it.err, SAMSA_ERR_NONE);
}
END_TEST

/* ---- round trips -------------------------------------------------------- */

/* Record i of a test batch, reproducible from i alone. */
typedef struct test_record {
    int64_t ts;
    char key[32];
    size_t key_len;
    bool key_null;
    uint8_t value[300];
    size_t value_len;
    bool value_null;
    record_header_t headers[3];
    size_t header_count;
} test_record_t;

static void make_record(int i, int64_t base_ts, test_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->ts = base_ts + (i * 37) % 101 - 20; /* not monotonic; some before base */
    r->key_null = i % 7 == 3;
    r->key_len = r->key_null ? 0 : (size_t)snprintf(r->key, sizeof(r->key), "key-%d", i);
    r->value_null = i % 11 == 5;
    r->value_len = r->value_null || i % 13 == 0 ? 0 : (size_t)(i * 31) % 300;
    for (size_t k = 0; k < r->value_len; k++)
        r->value[k] = (uint8_t)(i + k * 7);
    static const uint8_t hv[] = "header-value";
    r->header_count = (size_t)(i % 4 == 1 ? 3 : i % 4 == 2 ? 1 : 0);
    for (size_t k = 0; k < r->header_count; k++) {
        r->headers[k].name = k == 0 ? "trace-id" : k == 1 ? "e" : "null-one";
        r->headers[k].name_len = strlen(r->headers[k].name);
        r->headers[k].value = k == 2 ? NULL : hv;
        r->headers[k].value_len = k == 2 ? 0 : (size_t)(k ? 0 : 12);
    }
}

static void build_test_batch(buf_t *out, int n, int codec, int16_t attributes, int64_t base_ts)
{
    batch_builder_params_t p;
    batch_builder_params_default(&p, base_ts);
    p.attributes = attributes;
    p.base_offset = 1000;
    batch_builder_t b;
    batch_builder_init(&b, out, &p);
    for (int i = 0; i < n; i++) {
        test_record_t r;
        make_record(i, base_ts, &r);
        size_t before = batch_builder_bytes(&b);
        size_t expect = batch_builder_record_bytes(&b, r.ts, r.key_len, r.value_len, r.headers,
                                                   r.header_count);
        ck_assert_int_eq(batch_builder_append(&b, r.ts, r.key_null ? NULL : r.key, r.key_len,
                                              r.value_null ? NULL : r.value, r.value_len,
                                              r.headers, r.header_count),
                         0);
        /* a null takes one byte, as an empty length does: the size is exact */
        ck_assert_uint_eq(expect, batch_builder_bytes(&b) - before);
    }
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(batch_builder_finish(&b, codec, COMPRESS_LEVEL_DEFAULT, &data, &len), 0);
    ck_assert_ptr_eq(data + len, out->data + out->len);
    batch_builder_free(&b);
}

static void check_test_batch(const batch_t *batch, int n, int64_t base_ts, buf_t *scratch)
{
    ck_assert_int_eq(batch->header.record_count, n);
    ck_assert_int_eq(batch->header.last_offset_delta, n ? n - 1 : 0);
    record_iter_t ri;
    ck_assert_int_eq(record_iter_init(&ri, batch, scratch, CAP), 0);
    int64_t max_ts = -1;
    record_t got;
    for (int i = 0; i < n; i++) {
        test_record_t r;
        make_record(i, base_ts, &r);
        if (i == 0 || r.ts > max_ts)
            max_ts = r.ts;
        ck_assert_msg(record_iter_next(&ri, &got), "record %d: err %d", i, ri.err);
        ck_assert_int_eq(got.offset, 1000 + i);
        ck_assert_int_eq(got.timestamp_ms, (batch->header.attributes & BATCH_ATTR_LOG_APPEND_TIME)
                                               ? batch->header.max_timestamp
                                               : r.ts);
        ck_assert_int_eq(got.key == NULL, r.key_null);
        ck_assert_uint_eq(got.key_len, r.key_len);
        ck_assert(!r.key_len || memcmp(got.key, r.key, r.key_len) == 0);
        ck_assert_int_eq(got.value == NULL, r.value_null);
        ck_assert_uint_eq(got.value_len, r.value_len);
        ck_assert(!r.value_len || memcmp(got.value, r.value, r.value_len) == 0);
        ck_assert_uint_eq(got.header_count, r.header_count);
        record_header_iter_t hi = record_header_iter(&got);
        record_header_t h;
        for (size_t k = 0; k < r.header_count; k++) {
            ck_assert(record_header_next(&hi, &h));
            ck_assert_uint_eq(h.name_len, r.headers[k].name_len);
            ck_assert(memcmp(h.name, r.headers[k].name, h.name_len) == 0);
            ck_assert_int_eq(h.value == NULL, r.headers[k].value == NULL);
            ck_assert_uint_eq(h.value_len, r.headers[k].value_len);
            ck_assert(!h.value_len || memcmp(h.value, r.headers[k].value, h.value_len) == 0);
        }
        ck_assert(!record_header_next(&hi, &h));
    }
    ck_assert(!record_iter_next(&ri, &got));
    ck_assert_int_eq(ri.err, SAMSA_ERR_NONE);
    record_iter_free(&ri);
    if (n)
        ck_assert_int_eq(batch->header.max_timestamp, max_ts);
}

START_TEST(every_codec_round_trips_records)
{
    int codec = all_codecs[_i];
    static const int counts[] = {1, 2, 10, 1000};
    const int64_t base_ts = 1714000000000LL;
    buf_t out, scratch;
    buf_init(&out, 0);
    buf_init(&scratch, 0);
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        buf_reset(&out);
        build_test_batch(&out, counts[c], codec, 0, base_ts);
        batch_iter_t it;
        batch_t batch;
        batch_iter_init(&it, out.data, out.len);
        ck_assert(batch_iter_next(&it, &batch));
        ck_assert_int_eq(batch_codec(&batch), codec);
        ck_assert_int_eq(batch.header.base_offset, 1000);
        ck_assert_int_eq(batch.header.producer_id, -1);
        ck_assert_int_eq(batch.header.partition_leader_epoch, -1);
        check_test_batch(&batch, counts[c], base_ts, NULL);
        check_test_batch(&batch, counts[c], base_ts, &scratch);
        ck_assert(!batch_iter_next(&it, &batch));
        ck_assert_int_eq(it.err, SAMSA_ERR_NONE);
    }
    buf_free(&out);
    buf_free(&scratch);
}
END_TEST

START_TEST(several_batches_in_a_row_are_walked_in_order)
{
    buf_t out;
    buf_init(&out, 0);
    for (int i = 0; i < NCODECS; i++)
        build_test_batch(&out, 20 + i, all_codecs[i], 0, 1000 + i);
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, out.data, out.len);
    for (int i = 0; i < NCODECS; i++) {
        ck_assert(batch_iter_next(&it, &batch));
        ck_assert_int_eq(batch_codec(&batch), all_codecs[i]);
        check_test_batch(&batch, 20 + i, 1000 + i, NULL);
    }
    ck_assert(!batch_iter_next(&it, &batch));
    ck_assert_int_eq(it.err, SAMSA_ERR_NONE);
    buf_free(&out);
}
END_TEST

START_TEST(attributes_and_log_append_time_are_kept)
{
    buf_t out;
    buf_init(&out, 0);
    int16_t attrs = BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL | BATCH_ATTR_LOG_APPEND_TIME |
                    BATCH_COMPRESSION_ZSTD; /* codec bits here are ignored */
    build_test_batch(&out, 5, COMPRESS_LZ4, attrs, 50000);
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, out.data, out.len);
    ck_assert(batch_iter_next(&it, &batch));
    ck_assert(batch_is_control(&batch));
    ck_assert(batch_is_transactional(&batch));
    ck_assert_int_eq(batch_codec(&batch), COMPRESS_LZ4);
    check_test_batch(&batch, 5, 50000, NULL);
    buf_free(&out);
}
END_TEST

/* No records, with each codec (a compressed empty block decompresses to
 * nothing at all). */
START_TEST(empty_batch_is_valid)
{
    buf_t out;
    buf_init(&out, 0);
    build_test_batch(&out, 0, all_codecs[_i], 0, 7);
    if (all_codecs[_i] == COMPRESS_NONE)
        ck_assert_uint_eq(out.len, BATCH_HEADER_BYTES);
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, out.data, out.len);
    ck_assert(batch_iter_next(&it, &batch));
    ck_assert_int_eq(batch.header.max_timestamp, -1);
    check_test_batch(&batch, 0, 7, NULL);
    buf_free(&out);
}
END_TEST

/* ---- builder errors ------------------------------------------------------ */

START_TEST(builder_rejects_bad_arguments_and_late_appends)
{
    batch_builder_params_t p;
    batch_builder_params_default(&p, 0);
    batch_builder_t b;
    batch_builder_init(&b, NULL, &p); /* builder-owned output */
    ck_assert_int_eq(batch_builder_append(&b, 0, NULL, 3, "v", 1, NULL, 0),
                     SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(batch_builder_append(&b, 0, "k", 1, NULL, 2, NULL, 0),
                     SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 1),
                     SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 0), 0);
    ck_assert_int_eq(batch_builder_finish(&b, 6, 0, NULL, NULL),
                     SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_int_eq(batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 0), SAMSA_ERR__STATE);
    ck_assert_int_eq(batch_builder_finish(&b, 0, 0, NULL, NULL), SAMSA_ERR__STATE);
    batch_builder_free(&b);

    batch_builder_init(&b, NULL, &p);
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(batch_builder_append(&b, 0, "k", 1, "v", 1, NULL, 0), 0);
    ck_assert_int_eq(batch_builder_finish(&b, COMPRESS_GZIP, 6, &data, &len), 0);
    ck_assert_int_eq(batch_validate(data, len, NULL), SAMSA_ERR_NONE);
    batch_builder_free(&b);
}
END_TEST

START_TEST(builder_stops_at_the_output_cap_and_leaves_nothing_behind)
{
    buf_t out;
    buf_init(&out, 200);
    buf_put(&out, "prefix", 6);
    batch_builder_params_t p;
    batch_builder_params_default(&p, 0);
    batch_builder_t b;
    batch_builder_init(&b, &out, &p);
    uint8_t value[100] = {0};
    ck_assert_int_eq(batch_builder_append(&b, 0, NULL, 0, value, 100, NULL, 0), 0);
    ck_assert_int_eq(batch_builder_append(&b, 0, NULL, 0, value, 100, NULL, 0),
                     SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_int_eq(batch_builder_finish(&b, COMPRESS_NONE, 0, NULL, NULL),
                     SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_uint_eq(out.len, 6);
    batch_builder_free(&b);
    buf_free(&out);
}
END_TEST

/* ---- damage ------------------------------------------------------------- */

/* A private copy of len bytes at the end of an exact-size allocation, so
 * that the sanitizers catch a read past the end. */
static uint8_t *exact_copy(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(p);
    if (len)
        memcpy(p, data, len);
    return p;
}

/* Walks every batch and record; returns the first error met, or NONE. */
static samsa_err_t walk_all(const uint8_t *data, size_t len, int *batches, int *records)
{
    batch_iter_t it;
    batch_t batch;
    *batches = *records = 0;
    batch_iter_init(&it, data, len);
    while (batch_iter_next(&it, &batch)) {
        (*batches)++;
        record_iter_t ri;
        record_t r;
        samsa_err_t err = record_iter_init(&ri, &batch, NULL, CAP);
        while (!err && record_iter_next(&ri, &r)) {
            (*records)++;
            record_header_iter_t hi = record_header_iter(&r);
            record_header_t h;
            while (record_header_next(&hi, &h))
                ck_assert(h.name_len < CAP);
        }
        if (!err)
            err = ri.err;
        record_iter_free(&ri);
        if (err)
            return err;
    }
    return it.err;
}

START_TEST(a_flipped_bit_anywhere_under_the_crc_is_detected)
{
    buf_t out;
    buf_init(&out, 0);
    build_test_batch(&out, 3, COMPRESS_NONE, 0, 1);
    for (size_t i = BATCH_OFF_CRC; i < out.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            out.data[i] ^= (uint8_t)(1 << bit);
            batch_iter_t it;
            batch_t batch;
            batch_iter_init(&it, out.data, out.len);
            ck_assert(!batch_iter_next(&it, &batch));
            ck_assert_int_eq(it.err, SAMSA_ERR_CORRUPT_MESSAGE);
            out.data[i] ^= (uint8_t)(1 << bit);
        }
    }
    /* the base offset and leader epoch are outside the CRC on purpose */
    batch_set_base_offset(out.data, 77);
    batch_set_leader_epoch(out.data, 5);
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, out.data, out.len);
    ck_assert(batch_iter_next(&it, &batch));
    ck_assert_int_eq(batch.header.base_offset, 77);
    ck_assert_int_eq(batch.header.partition_leader_epoch, 5);
    buf_free(&out);
}
END_TEST

START_TEST(bad_magic_and_old_formats_are_reported)
{
    uint8_t copy[sizeof(golden)];
    memcpy(copy, golden, sizeof(golden));
    copy[BATCH_OFF_MAGIC] = 3;
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, copy, sizeof(copy));
    ck_assert(!batch_iter_next(&it, &batch));
    ck_assert_int_eq(it.err, SAMSA_ERR_CORRUPT_MESSAGE);
    copy[BATCH_OFF_MAGIC] = 1;
    batch_iter_init(&it, copy, sizeof(copy));
    ck_assert(!batch_iter_next(&it, &batch));
    ck_assert_int_eq(it.err, SAMSA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    /* a length below the header's is corrupt, not partial */
    memcpy(copy, golden, sizeof(golden));
    be32_store(copy + BATCH_OFF_LENGTH, 20);
    batch_iter_init(&it, copy, sizeof(copy));
    ck_assert(!batch_iter_next(&it, &batch));
    ck_assert_int_eq(it.err, SAMSA_ERR_CORRUPT_MESSAGE);
    /* stopped stays stopped */
    ck_assert(!batch_iter_next(&it, &batch));
    ck_assert_int_eq(it.err, SAMSA_ERR_CORRUPT_MESSAGE);
}
END_TEST

/* Two batches cut at every byte: the complete ones are returned, then the
 * cut one is "partial, stop", never corruption or a crash. */
START_TEST(truncation_at_every_byte_is_partial)
{
    buf_t out;
    buf_init(&out, 0);
    build_test_batch(&out, 3, COMPRESS_NONE, 0, 1);
    size_t first = out.len;
    build_test_batch(&out, 4, COMPRESS_SNAPPY, 0, 1);
    for (size_t n = 0; n <= out.len; n++) {
        uint8_t *cut = exact_copy(out.data, n);
        int batches, records;
        samsa_err_t err = walk_all(cut, n, &batches, &records);
        if (n == 0 || n == first || n == out.len) {
            ck_assert_int_eq(err, SAMSA_ERR_NONE);
            ck_assert_int_eq(batches, n == 0 ? 0 : n == first ? 1 : 2);
        } else {
            ck_assert_msg(err == SAMSA_ERR__BAD_MSG, "cut at %zu: %d", n, err);
            ck_assert_int_eq(batches, n < first ? 0 : 1);
        }
        free(cut);
    }
    buf_free(&out);
}
END_TEST

/* Rewrites the CRC of the batch at data so that damage below reaches the
 * record decoder. */
static void fix_crc(uint8_t *data, size_t len)
{
    be32_store(data + BATCH_OFF_CRC,
               crc32c(0, data + BATCH_OFF_ATTRIBUTES, len - BATCH_OFF_ATTRIBUTES));
}

/* The golden batch with its records replaced by recs (count records). */
static samsa_err_t walk_with_records(const uint8_t *recs, size_t recs_len, int32_t count)
{
    size_t len = BATCH_HEADER_BYTES + recs_len;
    uint8_t *b = malloc(len);
    ck_assert_ptr_nonnull(b);
    memcpy(b, golden, BATCH_HEADER_BYTES);
    memcpy(b + BATCH_HEADER_BYTES, recs, recs_len);
    be32_store(b + BATCH_OFF_LENGTH, (uint32_t)(len - BATCH_LOG_OVERHEAD));
    be32_store(b + BATCH_OFF_RECORD_COUNT, (uint32_t)count);
    fix_crc(b, len);
    int batches, records;
    samsa_err_t err = walk_all(b, len, &batches, &records);
    free(b);
    return err;
}

START_TEST(malformed_records_are_corrupt)
{
    const uint8_t *recs = golden + BATCH_HEADER_BYTES;
    size_t recs_len = sizeof(golden) - BATCH_HEADER_BYTES;
    ck_assert_int_eq(walk_with_records(recs, recs_len, 2), SAMSA_ERR_NONE);
    /* record count mismatch both ways */
    ck_assert_int_eq(walk_with_records(recs, recs_len, 3), SAMSA_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(walk_with_records(recs, recs_len, 1), SAMSA_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(walk_with_records(recs, recs_len, 0), SAMSA_ERR_CORRUPT_MESSAGE);

    /* a varint that never ends, and one past 32 bits */
    static const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(walk_with_records(overflow, sizeof(overflow), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    static const uint8_t wide[] = {0x12, 0x00, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10,
                                   'k', 0x04, 'v', '1', 0x00};
    ck_assert_int_eq(walk_with_records(wide, sizeof(wide), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    /* record length past the end, negative, zero */
    static const uint8_t too_long[] = {0x14, 0x00, 0x00, 0x00, 0x02, 'k', 0x04, 'v', '1', 0x00};
    ck_assert_int_eq(walk_with_records(too_long, sizeof(too_long), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    static const uint8_t negative[] = {0x03, 0x00};
    ck_assert_int_eq(walk_with_records(negative, sizeof(negative), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    static const uint8_t zero[] = {0x00};
    ck_assert_int_eq(walk_with_records(zero, sizeof(zero), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    /* key length past the record, key length -2 */
    static const uint8_t key_long[] = {0x12, 0x00, 0x00, 0x00, 0x0a, 'k', 0x04, 'v', '1', 0x00};
    ck_assert_int_eq(walk_with_records(key_long, sizeof(key_long), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    static const uint8_t key_neg[] = {0x12, 0x00, 0x00, 0x00, 0x03, 'k', 0x04, 'v', '1', 0x00};
    ck_assert_int_eq(walk_with_records(key_neg, sizeof(key_neg), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    /* record length longer than its fields: trailing bytes inside it */
    static const uint8_t slack[] = {0x14, 0x00, 0x00, 0x00, 0x02, 'k', 0x04, 'v', '1', 0x00, 0x00};
    ck_assert_int_eq(walk_with_records(slack, sizeof(slack), 1), SAMSA_ERR_CORRUPT_MESSAGE);
    /* header name null, header count negative, header count past the end */
    static const uint8_t hname_null[] = {0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x02, 'x'};
    ck_assert_int_eq(walk_with_records(hname_null, sizeof(hname_null), 1),
                     SAMSA_ERR_CORRUPT_MESSAGE);
    static const uint8_t hcount_neg[] = {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01};
    ck_assert_int_eq(walk_with_records(hcount_neg, sizeof(hcount_neg), 1),
                     SAMSA_ERR_CORRUPT_MESSAGE);
    static const uint8_t hcount_big[] = {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x08};
    ck_assert_int_eq(walk_with_records(hcount_big, sizeof(hcount_big), 1),
                     SAMSA_ERR_CORRUPT_MESSAGE);
    /* a valid minimal record: null key, null value, no headers */
    static const uint8_t minimal[] = {0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00};
    ck_assert_int_eq(walk_with_records(minimal, sizeof(minimal), 1), SAMSA_ERR_NONE);
}
END_TEST

/* Random damage to the records, with the CRC made right again: the walk
 * ends in success or corruption, never out of bounds. */
START_TEST(random_damage_to_records_never_reads_out_of_bounds)
{
    buf_t out;
    buf_init(&out, 0);
    build_test_batch(&out, 12, COMPRESS_NONE, 0, 1);
    uint64_t s = 88172645463325252ull;
    for (int t = 0; t < 3000; t++) {
        uint8_t *b = exact_copy(out.data, out.len);
        for (int k = 0; k < 1 + t % 4; k++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            size_t at = BATCH_HEADER_BYTES + s % (out.len - BATCH_HEADER_BYTES);
            b[at] = (uint8_t)(s >> 40);
        }
        fix_crc(b, out.len);
        int batches, records;
        samsa_err_t err = walk_all(b, out.len, &batches, &records);
        ck_assert(err == SAMSA_ERR_NONE || err == SAMSA_ERR_CORRUPT_MESSAGE);
        free(b);
    }
    buf_free(&out);
}
END_TEST

START_TEST(decompression_in_the_reader_is_capped)
{
    buf_t out, scratch;
    buf_init(&out, 0);
    buf_init(&scratch, 0);
    build_test_batch(&out, 500, COMPRESS_ZSTD, 0, 1);
    batch_iter_t it;
    batch_t batch;
    batch_iter_init(&it, out.data, out.len);
    ck_assert(batch_iter_next(&it, &batch));
    record_iter_t ri;
    record_t r;
    ck_assert_int_eq(record_iter_init(&ri, &batch, &scratch, 1000), SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert(!record_iter_next(&ri, &r));
    ck_assert_int_eq(ri.err, SAMSA_ERR__MSG_TOO_LARGE);
    record_iter_free(&ri);
    /* the caller's scratch buffer receives the records */
    ck_assert_int_eq(record_iter_init(&ri, &batch, &scratch, CAP), 0);
    ck_assert(record_iter_next(&ri, &r));
    ck_assert(r.value >= scratch.data && r.value < scratch.data + scratch.len);
    record_iter_free(&ri);
    /* codec bits 5..7 */
    out.data[BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)((out.data[BATCH_OFF_ATTRIBUTES + 1] & ~7) | 5);
    fix_crc(out.data, out.len);
    batch_iter_init(&it, out.data, out.len);
    ck_assert(batch_iter_next(&it, &batch));
    ck_assert_int_eq(record_iter_init(&ri, &batch, NULL, CAP),
                     SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    record_iter_free(&ri);
    /* compressed garbage */
    out.data[BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)((out.data[BATCH_OFF_ATTRIBUTES + 1] & ~7) | 1);
    fix_crc(out.data, out.len);
    batch_iter_init(&it, out.data, out.len);
    ck_assert(batch_iter_next(&it, &batch));
    ck_assert_int_eq(record_iter_init(&ri, &batch, NULL, CAP), SAMSA_ERR__COMPRESSION);
    record_iter_free(&ri);
    buf_free(&out);
    buf_free(&scratch);
}
END_TEST

/* ---- batches written by real clients ------------------------------------ */

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                : -1;
}

/* Checks that bytes (NULL: null) equal the .txt field ("-" or hex). */
static void check_hex_field(const char *file, int line, const char *what, const char *field,
                            size_t field_len, const uint8_t *bytes, size_t len)
{
    if (field_len == 1 && field[0] == '-') {
        ck_assert_msg(bytes == NULL, "%s:%d: %s should be null", file, line, what);
        return;
    }
    ck_assert_msg(bytes != NULL, "%s:%d: %s is null", file, line, what);
    ck_assert_msg(field_len == 2 * len, "%s:%d: %s length %zu, want %zu", file, line, what, len,
                  field_len / 2);
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(field[2 * i]), lo = hex_value(field[2 * i + 1]);
        ck_assert_msg(hi >= 0 && lo >= 0, "%s:%d: bad hex in %s", file, line, what);
        ck_assert_msg(bytes[i] == (uint8_t)(hi << 4 | lo), "%s:%d: %s differs at byte %zu", file,
                      line, what, i);
    }
}

/* Splits line at tabs into at most max fields (in place). */
static int split_tabs(char *line, char **fields, int max)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

static void check_record_line(const char *file, int line_no, char *line, int64_t offset_delta,
                              const record_t *r)
{
    char *f[5];
    int n = split_tabs(line, f, 5);
    ck_assert_msg(n >= 4, "%s:%d: want 5 tab-separated fields", file, line_no);
    ck_assert_msg(strtoll(f[0], NULL, 10) == offset_delta, "%s:%d: offset delta %" PRId64, file,
                  line_no, offset_delta);
    ck_assert_msg(strtoll(f[1], NULL, 10) == r->timestamp_ms, "%s:%d: timestamp %" PRId64, file,
                  line_no, r->timestamp_ms);
    check_hex_field(file, line_no, "key", f[2], strlen(f[2]), r->key, r->key_len);
    check_hex_field(file, line_no, "value", f[3], strlen(f[3]), r->value, r->value_len);
    const char *h = n == 5 ? f[4] : "";
    record_header_iter_t hi = record_header_iter(r);
    record_header_t hdr;
    uint32_t count = 0;
    while (*h) {
        const char *comma = strchr(h, ',');
        size_t item_len = comma ? (size_t)(comma - h) : strlen(h);
        const char *eq = memchr(h, '=', item_len);
        ck_assert_msg(eq != NULL, "%s:%d: header without '='", file, line_no);
        ck_assert_msg(record_header_next(&hi, &hdr), "%s:%d: too few headers", file, line_no);
        size_t name_len = (size_t)(eq - h);
        ck_assert_msg(hdr.name_len == name_len && memcmp(hdr.name, h, name_len) == 0,
                      "%s:%d: header %u name", file, line_no, count);
        check_hex_field(file, line_no, "header value", eq + 1, item_len - name_len - 1,
                        hdr.value, hdr.value_len);
        count++;
        h += item_len + (comma ? 1 : 0);
    }
    ck_assert_msg(r->header_count == count, "%s:%d: %u headers, want %u", file, line_no,
                  r->header_count, count);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    buf_t b;
    buf_init(&b, 0);
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_put(&b, chunk, n);
    ck_assert(!ferror(f) && !b.failed);
    fclose(f);
    uint8_t *data = buf_steal(&b, len);
    return data ? data : calloc(1, 1);
}

static void check_fixture(const char *bin_path, const char *txt_path)
{
    size_t len;
    uint8_t *data = read_file(bin_path, &len);
    FILE *txt = fopen(txt_path, "r");
    ck_assert_msg(txt != NULL, "%s has no %s beside it", bin_path, txt_path);
    batch_iter_t it;
    batch_t batch;
    int records = 0, line_no = 0;
    char *line = NULL;
    size_t line_cap = 0;
    batch_iter_init(&it, data, len);
    while (batch_iter_next(&it, &batch)) {
        record_iter_t ri;
        record_t r;
        ck_assert_msg(record_iter_init(&ri, &batch, NULL, 64u << 20) == 0, "%s: decompress",
                      bin_path);
        while (record_iter_next(&ri, &r)) {
            ssize_t got = getline(&line, &line_cap, txt);
            line_no++;
            ck_assert_msg(got > 0, "%s: more records than lines in the .txt", bin_path);
            if (line[got - 1] == '\n')
                line[--got] = '\0';
            if (got && line[got - 1] == '\r')
                line[--got] = '\0';
            check_record_line(txt_path, line_no, line, r.offset - batch.header.base_offset, &r);
            records++;
        }
        ck_assert_msg(ri.err == SAMSA_ERR_NONE, "%s: records: %d", bin_path, ri.err);
        record_iter_free(&ri);
    }
    ck_assert_msg(it.err == SAMSA_ERR_NONE, "%s: batches: %d", bin_path, it.err);
    while (getline(&line, &line_cap, txt) > 0)
        ck_assert_msg(line[0] == '\n' || line[0] == '\0', "%s: fewer records than lines",
                      bin_path);
    ck_assert_msg(records > 0, "%s: no records", bin_path);
    free(line);
    fclose(txt);
    free(data);
}

START_TEST(batches_from_real_clients_decode_as_listed)
{
    const char *root = getenv("SAMSA_TEST_DATA") ? getenv("SAMSA_TEST_DATA") : "tests/data";
    char dir_path[512];
    snprintf(dir_path, sizeof(dir_path), "%s/batches", root);
    DIR *dir = opendir(dir_path);
    if (!dir) {
        printf("test_batch: %s absent, no client batches to check\n", dir_path);
        return;
    }
    int files = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".bin"))
            continue;
        char bin[1024], txt[1024];
        snprintf(bin, sizeof(bin), "%s/%s", dir_path, e->d_name);
        snprintf(txt, sizeof(txt), "%s/%.*s.txt", dir_path, (int)(n - 4), e->d_name);
        check_fixture(bin, txt);
        files++;
    }
    closedir(dir);
    printf("test_batch: %d client batch files checked in %s\n", files, dir_path);
    ck_assert_int_ge(files, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_test(tc, builder_writes_the_exact_wire_bytes);
    tcase_add_test(tc, reader_decodes_the_exact_wire_bytes);
    tcase_add_loop_test(tc, every_codec_round_trips_records, 0, NCODECS);
    tcase_add_test(tc, several_batches_in_a_row_are_walked_in_order);
    tcase_add_test(tc, attributes_and_log_append_time_are_kept);
    tcase_add_loop_test(tc, empty_batch_is_valid, 0, NCODECS);
    tcase_add_test(tc, builder_rejects_bad_arguments_and_late_appends);
    tcase_add_test(tc, builder_stops_at_the_output_cap_and_leaves_nothing_behind);
    tcase_add_test(tc, a_flipped_bit_anywhere_under_the_crc_is_detected);
    tcase_add_test(tc, bad_magic_and_old_formats_are_reported);
    tcase_add_test(tc, truncation_at_every_byte_is_partial);
    tcase_add_test(tc, malformed_records_are_corrupt);
    tcase_add_test(tc, random_damage_to_records_never_reads_out_of_bounds);
    tcase_add_test(tc, decompression_in_the_reader_is_capped);
    tcase_add_test(tc, batches_from_real_clients_decode_as_listed);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
