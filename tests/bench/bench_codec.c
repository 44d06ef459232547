/*
 * bench_codec.c: encoding and decoding a Produce request that carries 1 MiB
 * of record batches (4 topics x 8 partitions x 32 KiB), against a memcpy of
 * the same bytes measured in the same run. Encoding copies the records into
 * the frame (the one copy a sender needs); decoding points into the frame.
 *
 * The reference copies the same 32 record blobs to the same places in a
 * frame-sized buffer, so that what is left over is the codec's own work.
 * A plain 1 MiB memcpy is printed too. A third line encodes with splices,
 * as a sender using writev does, where the records are not copied at all.
 */
#include "bench.h"
#include "proto/messages.h"

#include <stdlib.h>
#include <string.h>

#define TOPICS 4
#define PARTITIONS 8
#define RECORDS_BYTES (32 * 1024)
#define TOTAL_BYTES (TOPICS * PARTITIONS * RECORDS_BYTES)

int main(void)
{
    static uint8_t records[TOPICS * PARTITIONS][RECORDS_BYTES];
    for (size_t i = 0; i < sizeof(records); i++)
        ((uint8_t *)records)[i] = (uint8_t)(i * 131);
    const proto_api_t *api = proto_api(API_PRODUCE);
    const int16_t version = 11;
    const bool flexible = proto_api_flexible(api, version);

    static produce_request_topic_produce_data_t topics[TOPICS];
    static produce_request_partition_produce_data_t parts[TOPICS][PARTITIONS];
    static char names[TOPICS][16];
    produce_request_t req;
    proto_init(api->request, &req);
    req.acks = 1;
    req.timeout_ms = 30000;
    for (int t = 0; t < TOPICS; t++) {
        snprintf(names[t], sizeof(names[t]), "topic-%d", t);
        topics[t].name = proto_str_of(names[t]);
        topics[t].partition_data = parts[t];
        topics[t].partition_data_count = PARTITIONS;
        for (int p = 0; p < PARTITIONS; p++) {
            parts[t][p].index = p;
            parts[t][p].records.data = records[t * PARTITIONS + p];
            parts[t][p].records.len = RECORDS_BYTES;
        }
    }
    req.topic_data = topics;
    req.topic_data_count = TOPICS;

    buf_t out;
    buf_init(&out, 0);
    arena_t arena;
    arena_init(&arena, 0);
    uint8_t *copy = malloc(TOTAL_BYTES);
    const int rounds = 2000;

    /* warm up both paths */
    for (int i = 0; i < 50; i++) {
        buf_reset(&out);
        proto_encode(api->request, version, flexible, &req, &out, NULL);
        memcpy(copy, records, TOTAL_BYTES);
    }

    /* where the encoder puts each blob in the frame */
    size_t places[TOPICS * PARTITIONS];
    {
        produce_request_t back;
        reader_t r = reader_make(out.data, out.len);
        if (proto_decode(api->request, version, flexible, &r, &arena, &back))
            return 1;
        for (int t = 0; t < TOPICS; t++)
            for (int p = 0; p < PARTITIONS; p++)
                places[t * PARTITIONS + p] =
                    (size_t)(back.topic_data[t].partition_data[p].records.data - out.data);
    }
    uint8_t *frame_copy = malloc(out.len);

    double best_memcpy = 1e9, best_flat = 1e9, best_codec = 1e9, best_encode = 1e9,
           best_decode = 1e9;
    for (int trial = 0; trial < 7; trial++) {
        double tf = bench_now();
        for (int i = 0; i < rounds; i++) {
            memcpy(copy, records, TOTAL_BYTES);
            bench_keep(copy[i & 1023]);
        }
        double t0 = bench_now();
        for (int i = 0; i < rounds; i++) {
            for (int k = 0; k < TOPICS * PARTITIONS; k++)
                memcpy(frame_copy + places[k], records[k], RECORDS_BYTES);
            bench_keep(frame_copy[i & 1023]);
        }
        double t1 = bench_now();
        if (t0 - tf < best_flat)
            best_flat = t0 - tf;
        for (int i = 0; i < rounds; i++) {
            buf_reset(&out);
            if (proto_encode(api->request, version, flexible, &req, &out, NULL))
                return 1;
        }
        double t1b = bench_now();
        for (int i = 0; i < rounds; i++) {
            produce_request_t back;
            reader_t r = reader_make(out.data, out.len);
            arena_reset(&arena);
            if (proto_decode(api->request, version, flexible, &r, &arena, &back))
                return 1;
            bench_keep((uint64_t)back.topic_data[3].partition_data[7].records.len);
        }
        double enc = t1b - t1;
        double t2 = bench_now();
        double dec = t2 - t1b;
        if (t1 - t0 < best_memcpy)
            best_memcpy = t1 - t0;
        if (t2 - t1 < best_codec) {
            best_codec = t2 - t1;
            best_encode = enc;
            best_decode = dec;
        }
    }
    double mb = (double)TOTAL_BYTES * rounds / 1e6;
    printf("produce request: %d bytes of records, frame %zu bytes\n", TOTAL_BYTES, out.len);
    printf("encode %.0f MB/s, decode %.0f MB/s, memcpy %.0f MB/s\n", mb / best_encode,
           mb / best_decode, mb / best_memcpy);
    bench_report("codec encode+decode 1 MiB produce", mb / best_codec, "memcpy of the records into the frame",
                 mb / best_memcpy, "MB/s", 0);
    printf("(a flat 1 MiB memcpy in the same run: %.0f MB/s)\n", mb / best_flat);
    double overhead = (best_codec - best_memcpy) / best_memcpy * 100.0;
    printf("bench codec overhead beyond the memcpy: %.2f%% of the memcpy's time (goal < 5%%: %s)\n",
           overhead, overhead < 5.0 ? "met" : "NOT MET");

    /* with splices the records stay where they are */
    for (int t = 0; t < TOPICS; t++)
        for (int p = 0; p < PARTITIONS; p++)
            parts[t][p].records.source = records;
    proto_splices_t splices = {0};
    double best_splice = 1e9;
    for (int trial = 0; trial < 7; trial++) {
        double a = bench_now();
        for (int i = 0; i < rounds; i++) {
            buf_reset(&out);
            splices.count = 0;
            splices.total_bytes = 0;
            if (proto_encode(api->request, version, flexible, &req, &out, &splices))
                return 1;
        }
        double b = bench_now();
        if (b - a < best_splice)
            best_splice = b - a;
    }
    printf("bench codec encode with splices (writev, no copy): %.0f ns per 1 MiB request, %.0f MB/s of records\n",
           best_splice / rounds * 1e9, mb / best_splice);
    proto_splices_free(&splices);
    free(frame_copy);

    buf_free(&out);
    arena_free(&arena);
    free(copy);
    return 0;
}
