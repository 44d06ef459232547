/*
 * fuzz_batch.c: libFuzzer target for the record batch reader.
 *
 * The input is walked as a fetch response's records: every batch, every
 * record and every header, with decompression capped at 1 MiB. To let the
 * fuzzer reach the record decoder and the decompressors past the CRC, the
 * first input byte chooses whether the CRC of each batch is rewritten to
 * match before the walk. Nothing may crash, read out of bounds or leak.
 */
#include "base/crc32c.h"
#include "proto/batch.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_DECOMPRESSED (1u << 20)

/* Rewrites the CRC of each complete batch so the walk gets past it. */
static void fix_crcs(uint8_t *p, size_t len)
{
    while (len >= BATCH_HEADER_BYTES) {
        size_t total = batch_total_bytes(p);
        if (total < BATCH_HEADER_BYTES || total > len)
            return;
        be32_store(p + BATCH_OFF_CRC,
                   crc32c(0, p + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES));
        p += total;
        len -= total;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool fix = data[0] & 1;
    size_t len = size - 1;
    /* An exact-size copy, so that a read past the end is caught. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, len);
    if (fix)
        fix_crcs(copy, len);

    buf_t scratch;
    buf_init(&scratch, 0);
    batch_iter_t it;
    batch_t batch;
    uint64_t sink = 0;
    batch_iter_init(&it, copy, len);
    while (batch_iter_next(&it, &batch)) {
        sink += (uint64_t)batch_last_offset(&batch) + batch_is_control(&batch);
        record_iter_t ri;
        record_t r;
        /* alternate between the caller's and the iterator's own buffer */
        buf_t *s = batch.header.base_offset & 1 ? &scratch : NULL;
        if (record_iter_init(&ri, &batch, s, FUZZ_MAX_DECOMPRESSED) == SAMSA_ERR_NONE) {
            while (record_iter_next(&ri, &r)) {
                sink += (uint64_t)r.offset + (uint64_t)r.timestamp_ms + r.key_len + r.value_len;
                if (r.key_len)
                    sink += r.key[0] + r.key[r.key_len - 1];
                if (r.value_len)
                    sink += r.value[0] + r.value[r.value_len - 1];
                record_header_iter_t hi = record_header_iter(&r);
                record_header_t h;
                while (record_header_next(&hi, &h)) {
                    sink += h.name_len + h.value_len;
                    if (h.name_len)
                        sink += (uint8_t)h.name[h.name_len - 1];
                    if (h.value_len)
                        sink += h.value[h.value_len - 1];
                }
            }
        }
        record_iter_free(&ri);
    }
    buf_free(&scratch);
    free(copy);
    __asm__ volatile("" : : "r"(sink));
    return 0;
}
