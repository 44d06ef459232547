/*
 * Unit tests for lib/proto/snappy.c: blocks round-trip, the snappy
 * library (test dependency only) reads what samsa writes and samsa reads
 * what the library writes, over sizes and kinds of data; malformed blocks
 * are refused without reading or writing out of bounds.
 */
#include "proto/snappy.h"

#include <check.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

enum kind { ZEROS, TEXT, RANDOM, PERIODIC, MIXED };

static uint8_t *make_data(enum kind k, size_t n, unsigned seed)
{
    uint8_t *p = malloc(n + 1);
    ck_assert_ptr_nonnull(p);
    static const char words[] = "kafka topic partition offset broker consumer group record ";
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        switch (k) {
        case ZEROS:
            p[i] = 0;
            break;
        case TEXT:
            p[i] = (uint8_t)words[(i * 7 + i / 13) % (sizeof(words) - 1)];
            break;
        case RANDOM:
            p[i] = (uint8_t)(seed >> 16);
            break;
        case PERIODIC:
            p[i] = (uint8_t)("abc"[i % 3]);
            break;
        case MIXED:
            p[i] = (i / 1000) % 2 ? (uint8_t)(seed >> 16) : (uint8_t)words[i % 20];
            break;
        }
    }
    return p;
}

static const size_t sizes[] = {0, 1, 3, 4, 15, 16, 17, 60, 61, 255, 256, 257, 4096, 65535,
                               65536, 65537, 200000, 1 << 20};

static void check_both_ways(const uint8_t *data, size_t n)
{
    size_t bound = snappy_block_bound(n);
    uint8_t *ours = malloc(bound);
    ck_assert_ptr_nonnull(ours);
    size_t clen = snappy_block_compress(data, n, ours);
    ck_assert_uint_le(clen, bound);
    ck_assert_uint_le(clen, snappy_max_compressed_length(n));

    /* ours -> ours */
    size_t stated = 99;
    ck_assert(snappy_block_length(ours, clen, &stated));
    ck_assert_uint_eq(stated, n);
    uint8_t *back = malloc(n + 1);
    ck_assert_ptr_nonnull(back);
    ck_assert(snappy_block_decompress(ours, clen, NULL, n));
    ck_assert(snappy_block_decompress(ours, clen, n ? back : NULL, n));
    ck_assert(n == 0 || memcmp(back, data, n) == 0);

    /* ours -> the library */
    ck_assert_int_eq(snappy_validate_compressed_buffer((const char *)ours, clen), SNAPPY_OK);
    size_t got = n + 1;
    ck_assert_int_eq(snappy_uncompress((const char *)ours, clen, (char *)back, &got), SNAPPY_OK);
    ck_assert_uint_eq(got, n);
    ck_assert(n == 0 || memcmp(back, data, n) == 0);

    /* the library -> ours */
    size_t llen = snappy_max_compressed_length(n);
    char *lib = malloc(llen);
    ck_assert_ptr_nonnull(lib);
    ck_assert_int_eq(snappy_compress((const char *)data, n, lib, &llen), SNAPPY_OK);
    memset(back, 0xee, n + 1);
    ck_assert(snappy_block_decompress((const uint8_t *)lib, llen, n ? back : NULL, n));
    ck_assert(n == 0 || memcmp(back, data, n) == 0);
    free(lib);
    free(back);
    free(ours);
}

START_TEST(blocks_round_trip_and_match_the_snappy_library)
{
    for (int k = ZEROS; k <= MIXED; k++)
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            uint8_t *d = make_data((enum kind)k, sizes[i], (unsigned)(k * 31 + i));
            check_both_ways(d, sizes[i]);
            free(d);
        }
}
END_TEST

START_TEST(compressible_data_gets_smaller)
{
    uint8_t *d = make_data(TEXT, 100000, 1);
    uint8_t *out = malloc(snappy_block_bound(100000));
    size_t clen = snappy_block_compress(d, 100000, out);
    ck_assert_uint_lt(clen, 100000 / 4);
    free(out);
    free(d);
}
END_TEST

/* Decompresses a hand-written block of stated length n; returns whether
 * it was accepted, filling out. */
static bool decode(const uint8_t *block, size_t len, uint8_t *out, size_t n)
{
    return snappy_block_decompress(block, len, out, n);
}

START_TEST(hand_written_elements_decode)
{
    uint8_t out[64];
    /* literal "ab", then a 1-byte-offset copy of 6 from offset 2: overlapping */
    static const uint8_t rep[] = {8, 1 << 2, 'a', 'b', 1 | (2 << 2), 2};
    ck_assert(decode(rep, sizeof(rep), out, 8));
    ck_assert(memcmp(out, "abababab", 8) == 0);
    /* a 2-byte-offset copy and a 4-byte-offset copy */
    static const uint8_t far[] = {9, 2 << 2, 'x', 'y', 'z', 2 | (2 << 2), 3, 0, 3 | (2 << 2), 3, 0, 0, 0};
    ck_assert(decode(far, sizeof(far), out, 9));
    ck_assert(memcmp(out, "xyzxyzxyz", 9) == 0);
    /* a literal whose length - 1 (99) follows in one byte */
    uint8_t lit[3 + 100] = {100, 60 << 2, 99};
    memset(lit + 3, 'q', 100);
    uint8_t big[100];
    ck_assert(decode(lit, sizeof(lit), big, 100));
    ck_assert_int_eq(big[99], 'q');
    /* empty block */
    static const uint8_t empty[] = {0};
    ck_assert(decode(empty, 1, NULL, 0));
}
END_TEST

START_TEST(malformed_blocks_are_refused)
{
    uint8_t out[64];
    size_t n;
    /* the length: missing, unterminated, past 32 bits */
    ck_assert(!snappy_block_length(NULL, 0, &n));
    static const uint8_t unterminated[] = {0x80, 0x80};
    ck_assert(!snappy_block_length(unterminated, sizeof(unterminated), &n));
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    ck_assert(!snappy_block_length(huge, sizeof(huge), &n));
    /* stated length differs from the room given, or from what follows */
    static const uint8_t ab[] = {2, 1 << 2, 'a', 'b'};
    ck_assert(!decode(ab, sizeof(ab), out, 3));
    static const uint8_t short_[] = {3, 1 << 2, 'a', 'b'};
    ck_assert(!decode(short_, sizeof(short_), out, 3));
    /* a literal running past the input, or past the stated length */
    static const uint8_t past_in[] = {5, 4 << 2, 'a', 'b'};
    ck_assert(!decode(past_in, sizeof(past_in), out, 5));
    static const uint8_t past_out[] = {1, 1 << 2, 'a', 'b'};
    ck_assert(!decode(past_out, sizeof(past_out), out, 1));
    /* a literal's extra length bytes missing */
    static const uint8_t lit_cut[] = {100, 61 << 2, 99};
    ck_assert(!decode(lit_cut, sizeof(lit_cut), out, 100));
    /* copies: offset 0, before the start, too long, truncated offset */
    static const uint8_t off0[] = {6, 1 << 2, 'a', 'b', 1, 0};
    ck_assert(!decode(off0, sizeof(off0), out, 6));
    static const uint8_t before[] = {6, 1 << 2, 'a', 'b', 1, 3};
    ck_assert(!decode(before, sizeof(before), out, 6));
    static const uint8_t too_long[] = {6, 1 << 2, 'a', 'b', 1 | (7 << 2), 2};
    ck_assert(!decode(too_long, sizeof(too_long), out, 6));
    static const uint8_t cut2[] = {6, 1 << 2, 'a', 'b', 2 | (3 << 2), 2};
    ck_assert(!decode(cut2, sizeof(cut2), out, 6));
    static const uint8_t cut4[] = {6, 1 << 2, 'a', 'b', 3 | (3 << 2), 2, 0, 0};
    ck_assert(!decode(cut4, sizeof(cut4), out, 6));
    /* every truncation of a valid block is refused */
    uint8_t *d = make_data(TEXT, 3000, 7);
    uint8_t *block = malloc(snappy_block_bound(3000));
    size_t clen = snappy_block_compress(d, 3000, block);
    uint8_t *back = malloc(3000);
    for (size_t cut = 0; cut < clen; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, block, cut);
        ck_assert(!snappy_block_decompress(copy, cut, back, 3000));
        free(copy);
    }
    free(back);
    free(block);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snappy");
    TCase *tc = tcase_create("snappy");
    tcase_add_test(tc, blocks_round_trip_and_match_the_snappy_library);
    tcase_add_test(tc, compressible_data_gets_smaller);
    tcase_add_test(tc, hand_written_elements_decode);
    tcase_add_test(tc, malformed_blocks_are_refused);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
