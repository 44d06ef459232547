/*
 * Unit tests for lib/base/crc32c: published CRC-32C vectors, and every
 * implementation this CPU can run against the portable one on random
 * buffers, alignments and split points.
 */
#include "base/crc32c.h"

#include <check.h>

#include "unit.h"
#include <stdlib.h>
#include <string.h>

#define RANDOM_MAX_BYTES 70000

/* xorshift64*: deterministic test data without libc's rand() state. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng_next() >> 56);
}

/* The published vectors (RFC 3720 appendix B.4 and the common check
 * value), for whichever implementation crc32c() is using. */
static void check_published_vectors(void)
{
    uint8_t buf[32];
    ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    memset(buf, 0, sizeof(buf));
    ck_assert_uint_eq(crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    ck_assert_uint_eq(crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(crc32c(0, buf, 32), 0x113FDB5Cu);
    ck_assert_uint_eq(crc32c(0, "", 0), 0);
    ck_assert_uint_eq(crc32c(0x12345678u, NULL, 0), 0x12345678u);
}

START_TEST(published_vectors_match_with_the_default_implementation)
{
    check_published_vectors();
}
END_TEST

START_TEST(portable_matches_published_vectors)
{
    ck_assert_uint_eq(crc32c_portable(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    ck_assert_uint_eq(crc32c_portable(0, zeros, 32), 0x8A9136AAu);
}
END_TEST

START_TEST(default_is_hardware_when_the_cpu_has_the_instruction)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    ck_assert_int_eq(crc32c_hardware(), __builtin_cpu_supports("sse4.2") ? 1 : 0);
#endif
    ck_assert_ptr_nonnull(crc32c_impl_name());
    ck_assert_int_eq(crc32c_use("no-such-implementation"), -1);
}
END_TEST

/* Random lengths 0..70000 at random alignments, with random start values,
 * for each implementation against the portable one; then incremental
 * computation split at random points against one shot. */
START_TEST(every_implementation_agrees_with_portable_on_random_input)
{
    const char *initial = crc32c_impl_name();
    uint8_t *buf = malloc(RANDOM_MAX_BYTES + 64);
    ck_assert_ptr_nonnull(buf);
    fill_random(buf, RANDOM_MAX_BYTES + 64);
    int tested = 0;
    for (size_t v = 0; crc32c_variant_name(v); v++) {
        if (crc32c_use(crc32c_variant_name(v)) != 0)
            continue;
        tested++;
        check_published_vectors();
        for (int i = 0; i < 400; i++) {
            size_t align = rng_next() % 64;
            size_t len = i < 100 ? rng_next() % 2048 : rng_next() % (RANDOM_MAX_BYTES + 1);
            uint32_t seed = i % 3 ? (uint32_t)rng_next() : 0;
            const uint8_t *p = buf + align;
            uint32_t want = crc32c_portable(seed, p, len);
            ck_assert_uint_eq(crc32c(seed, p, len), want);
            size_t split = len ? rng_next() % (len + 1) : 0;
            uint32_t part = crc32c(seed, p, split);
            ck_assert_uint_eq(crc32c(part, p + split, len - split), want);
            ck_assert_uint_eq(crc32c_portable(crc32c_portable(seed, p, split), p + split,
                                              len - split),
                              want);
        }
    }
    ck_assert_int_ge(tested, 1);
    ck_assert_int_eq(crc32c_use(initial), 0);
    free(buf);
}
END_TEST

/* Lengths around every block boundary of the fast paths (1 KiB fold
 * threshold, 256-byte fold rounds, 3 x 256 and 3 x 8192 stream rounds). */
START_TEST(every_implementation_handles_block_boundaries)
{
    const char *initial = crc32c_impl_name();
    static const size_t edges[] = {1, 7, 8, 9, 255, 256, 257, 767, 768, 769, 1023, 1024, 1025,
                                   1279, 1280, 1281, 24575, 24576, 24577, 49152, 65536};
    uint8_t *buf = malloc(65536 + 16);
    ck_assert_ptr_nonnull(buf);
    fill_random(buf, 65536 + 16);
    for (size_t v = 0; crc32c_variant_name(v); v++) {
        if (crc32c_use(crc32c_variant_name(v)) != 0)
            continue;
        for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
            for (size_t align = 0; align < 16; align += 5)
                ck_assert_uint_eq(crc32c(~0u, buf + align, edges[e]),
                                  crc32c_portable(~0u, buf + align, edges[e]));
    }
    ck_assert_int_eq(crc32c_use(initial), 0);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_add_test(tc, published_vectors_match_with_the_default_implementation);
    tcase_add_test(tc, portable_matches_published_vectors);
    tcase_add_test(tc, default_is_hardware_when_the_cpu_has_the_instruction);
    tcase_add_test(tc, every_implementation_agrees_with_portable_on_random_input);
    tcase_add_test(tc, every_implementation_handles_block_boundaries);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
