/*
 * bench_batch.c: reading and building record batches on one core.
 *
 * Reading: 200 uncompressed batches of 500 records (16-byte keys, 100-byte
 * values, no headers), about 13 MB, as a consumer meets them in a fetch
 * response: every batch validated (CRC included) and every record decoded,
 * its key and value pointers and lengths touched. The goal is 30 million
 * records/s; the reference printed beside it is memcpy of the same bytes,
 * converted to records/s. Building: the same records appended and the
 * batches finished uncompressed (CRC included). An lz4 read is reported
 * for the record.
 */
#include "bench.h"

#include "proto/batch.h"
#include "proto/compress.h"

#include <stdlib.h>
#include <string.h>

#define BATCHES 200
#define RECORDS_PER_BATCH 500
#define KEY_BYTES 16
#define VALUE_BYTES 100
#define ROUNDS 5
#define ROUND_SECONDS 0.3
#define READ_GOAL_RECORDS_PER_S 30e6

static uint8_t value[VALUE_BYTES];
static char keys[BATCHES * RECORDS_PER_BATCH][KEY_BYTES + 1];

static int build_all(buf_t *out, int codec)
{
    for (int b = 0; b < BATCHES; b++) {
        batch_builder_params_t p;
        batch_builder_params_default(&p, 1714000000000LL + b);
        batch_builder_t builder;
        batch_builder_init(&builder, out, &p);
        for (int i = 0; i < RECORDS_PER_BATCH; i++) {
            if (batch_builder_append(&builder, 1714000000000LL + b + i % 50,
                                     keys[b * RECORDS_PER_BATCH + i], KEY_BYTES,
                                     value, VALUE_BYTES, NULL, 0))
                return -1;
        }
        samsa_err_t err = batch_builder_finish(&builder, codec, COMPRESS_LEVEL_DEFAULT, NULL, NULL);
        batch_builder_free(&builder);
        if (err)
            return -1;
    }
    return 0;
}

/* Reads every batch and record; returns the number of records, or -1. */
static long read_all(const buf_t *in, buf_t *scratch, uint64_t *sink)
{
    batch_iter_t it;
    batch_t batch;
    long records = 0;
    uint64_t acc = 0;
    batch_iter_init(&it, in->data, in->len);
    while (batch_iter_next(&it, &batch)) {
        record_iter_t ri;
        record_t r;
        if (record_iter_init(&ri, &batch, scratch, 1u << 24))
            return -1;
        while (record_iter_next(&ri, &r)) {
            acc += (uintptr_t)r.key + r.key_len + ((uintptr_t)r.value ^ r.value_len) +
                   (uint64_t)r.offset;
            records++;
        }
        record_iter_free(&ri);
        if (ri.err)
            return -1;
    }
    *sink += acc;
    return it.err ? -1 : records;
}

/* Best records per second of read_all over ROUNDS timed rounds. */
static double read_rate(const buf_t *in, buf_t *scratch)
{
    double best = 0;
    uint64_t sink = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long records = 0;
        double t0 = bench_now(), t;
        do {
            long n = read_all(in, scratch, &sink);
            if (n < 0)
                return -1;
            records += n;
            t = bench_now() - t0;
        } while (t < ROUND_SECONDS);
        if (records / t > best)
            best = records / t;
    }
    bench_keep(sink);
    return best;
}

static double memcpy_rate(const buf_t *in, uint8_t *dst)
{
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t bytes = 0;
        double t0 = bench_now(), t;
        do {
            memcpy(dst, in->data, in->len);
            bench_keep((uint64_t)(uintptr_t)dst);
            bytes += in->len;
            t = bench_now() - t0;
        } while (t < ROUND_SECONDS);
        if (bytes / t > best)
            best = bytes / t;
    }
    return best;
}

static double build_rate(buf_t *out)
{
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long records = 0;
        double t0 = bench_now(), t;
        do {
            buf_reset(out);
            if (build_all(out, COMPRESS_NONE))
                return -1;
            records += (long)BATCHES * RECORDS_PER_BATCH;
            t = bench_now() - t0;
        } while (t < ROUND_SECONDS);
        if (records / t > best)
            best = records / t;
    }
    return best;
}

int main(void)
{
    for (size_t i = 0; i < VALUE_BYTES; i++)
        value[i] = (uint8_t)(i * 13 + 1);
    for (int i = 0; i < BATCHES * RECORDS_PER_BATCH; i++)
        snprintf(keys[i], sizeof(keys[i]), "key-%012d", i);
    buf_t plain, lz4, scratch;
    buf_init(&plain, 0);
    buf_init(&lz4, 0);
    buf_init(&scratch, 0);
    int rc = 1;
    uint8_t *dst = NULL;
    if (build_all(&plain, COMPRESS_NONE) || build_all(&lz4, COMPRESS_LZ4)) {
        fprintf(stderr, "bench_batch: building the input failed\n");
        goto done;
    }
    dst = malloc(plain.len);
    if (!dst) {
        fprintf(stderr, "bench_batch: out of memory\n");
        goto done;
    }
    memset(dst, 0, plain.len);
    double records = (double)BATCHES * RECORDS_PER_BATCH;
    double bytes_per_record = plain.len / records;
    printf("batch: %d batches x %d records, %.1f bytes/record, %.1f MB\n", BATCHES,
           RECORDS_PER_BATCH, bytes_per_record, plain.len / 1e6);
    double copy = memcpy_rate(&plain, dst) / bytes_per_record;
    double read = read_rate(&plain, NULL);
    double read_lz4 = read_rate(&lz4, &scratch);
    double build = build_rate(&scratch);
    if (read < 0 || read_lz4 < 0 || build < 0) {
        fprintf(stderr, "bench_batch: a batch failed to read or build\n");
        goto done;
    }
    bench_report("batch_read", read, "memcpy", copy, "records/s", 0);
    bench_report("batch_read_vs_goal", read, "goal", READ_GOAL_RECORDS_PER_S, "records/s", 1.0);
    bench_report("batch_read_lz4", read_lz4, "memcpy", copy, "records/s", 0);
    bench_report("batch_build", build, "memcpy", copy, "records/s", 0);
    rc = 0;
done:
    free(dst);
    buf_free(&plain);
    buf_free(&lz4);
    buf_free(&scratch);
    return rc;
}
