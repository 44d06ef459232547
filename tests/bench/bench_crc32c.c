/*
 * bench_crc32c.c: CRC-32C throughput against memcpy of the same buffer.
 *
 * Two sizes: 1 MiB (a realistic fetch or produce payload, mostly in cache;
 * this is the goal line, CRC >= 70% of memcpy) and 64 MiB (out of cache,
 * bound by memory bandwidth). Each figure is the best of several timed
 * rounds of about 0.2 s, so a busy neighbour affects both sides alike.
 * At 1 MiB the slower implementations the CPU can run are listed too.
 */
#include "bench.h"

#include "base/crc32c.h"

#include <stdlib.h>
#include <string.h>

#define ROUNDS 5
#define ROUND_SECONDS 0.2

/* Best bytes per second of crc32c() over buf. */
static double crc_rate(const uint8_t *buf, size_t len, uint32_t (*fn)(uint32_t, const void *, size_t))
{
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t bytes = 0;
        uint32_t acc = 0;
        double t0 = bench_now(), t;
        do {
            acc ^= fn(acc, buf, len);
            bytes += len;
            t = bench_now() - t0;
        } while (t < ROUND_SECONDS);
        bench_keep(acc);
        if (bytes / t > best)
            best = bytes / t;
    }
    return best;
}

/* Best bytes per second of memcpy(dst, src, len). */
static double memcpy_rate(uint8_t *dst, const uint8_t *src, size_t len)
{
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t bytes = 0;
        double t0 = bench_now(), t;
        do {
            memcpy(dst, src, len);
            bench_keep((uint64_t)(uintptr_t)dst);
            bytes += len;
            t = bench_now() - t0;
        } while (t < ROUND_SECONDS);
        if (bytes / t > best)
            best = bytes / t;
    }
    return best;
}

static int run(size_t len, const char *name, double goal)
{
    uint8_t *src = malloc(len), *dst = malloc(len);
    if (!src || !dst) {
        free(src);
        free(dst);
        fprintf(stderr, "bench_crc32c: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < len; i++)
        src[i] = (uint8_t)(i * 131 + (i >> 9));
    memset(dst, 0, len);
    double copy = memcpy_rate(dst, src, len) / 1e6;
    double crc = crc_rate(src, len, crc32c) / 1e6;
    bench_report(name, crc, "memcpy", copy, "MB/s", goal);
    if (len <= (1u << 20)) {
        /* The slower implementations this CPU can run, for the record. */
        const char *best = crc32c_impl_name();
        for (size_t i = 0; crc32c_variant_name(i); i++) {
            const char *v = crc32c_variant_name(i);
            if (!strcmp(v, best) || crc32c_use(v))
                continue;
            char vname[96];
            snprintf(vname, sizeof(vname), "%s_%s", name, v);
            bench_report(vname, crc_rate(src, len, crc32c) / 1e6, "memcpy", copy, "MB/s", 0);
        }
        crc32c_use(best);
    }
    free(src);
    free(dst);
    return 0;
}

int main(void)
{
    printf("crc32c: %s\n", crc32c_impl_name());
    int rc = run(1u << 20, "crc32c_1MiB", 0.70);
    rc |= run(64u << 20, "crc32c_64MiB", 0);
    return rc;
}
