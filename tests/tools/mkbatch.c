/*
 * mkbatch.c: writes record batches built by samsa, for cross-checks with
 * other clients' decoders.
 *
 *   mkbatch CODEC OUT.bin
 *
 * The batch holds the records that records_expected() lists below, and
 * mkbatch prints them, one per line, in the tab-separated format of
 * tests/data/batches (offset delta, timestamp, key hex or -, value hex or -,
 * headers as name=hex).
 */
#include "proto/batch.h"
#include "proto/compress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define BASE_TS 1700000000000LL

static void print_hex(const void *p, size_t len, bool null)
{
    if (null) {
        putchar('-');
        return;
    }
    for (size_t i = 0; i < len; i++)
        printf("%02x", ((const uint8_t *)p)[i]);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mkbatch CODEC OUT.bin\n");
        return 2;
    }
    int codec = compress_codec_from_name(argv[1]);
    if (codec < 0) {
        fprintf(stderr, "%% unknown codec %s\n", argv[1]);
        return 2;
    }
    batch_builder_params_t params;
    batch_builder_params_default(&params, BASE_TS);
    batch_builder_t b;
    batch_builder_init(&b, NULL, &params);

    char value[300];
    for (int i = 0; i < 12; i++) {
        char key[32];
        int key_len = snprintf(key, sizeof(key), "key-%d", i);
        int value_len = snprintf(value, sizeof(value), "value %d %s", i,
                                 i % 3 == 0 ? "with a longer, compressible tail tail tail tail" : "");
        record_header_t headers[2] = {
            {"trace", 5, (const uint8_t *)"abc", 3},
            {"empty", 5, NULL, 0},
        };
        bool null_key = i == 4, null_value = i == 7;
        size_t header_count = (size_t)(i % 3);
        int64_t ts = BASE_TS + i * 10;
        if (batch_builder_append(&b, ts, null_key ? NULL : key, null_key ? 0 : (size_t)key_len,
                                 null_value ? NULL : value, null_value ? 0 : (size_t)value_len,
                                 header_count ? headers : NULL, header_count)) {
            fprintf(stderr, "%% append failed\n");
            return 1;
        }
        printf("%d\t%" PRId64 "\t", i, ts);
        print_hex(key, (size_t)key_len, null_key);
        putchar('\t');
        print_hex(value, (size_t)value_len, null_value);
        putchar('\t');
        for (size_t h = 0; h < header_count; h++) {
            printf("%s%s=", h ? "," : "", headers[h].name);
            print_hex(headers[h].value, headers[h].value_len, headers[h].value == NULL);
        }
        putchar('\n');
    }
    const uint8_t *batch;
    size_t len;
    samsa_err_t err = batch_builder_finish(&b, codec, COMPRESS_LEVEL_DEFAULT, &batch, &len);
    if (err) {
        fprintf(stderr, "%% finish: %s\n", samsa_err_str(err));
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(batch, 1, len, f) != len || fclose(f) != 0) {
        perror(argv[2]);
        return 1;
    }
    batch_builder_free(&b);
    return 0;
}
