/*
 * Unit tests for lib/proto/compress: every codec both ways, the framings
 * other clients write (concatenated gzip members, raw and xerial snappy,
 * lz4 and zstd frames with and without content size), corrupt and
 * truncated input, and the decompression cap.
 */
#include "proto/compress.h"

#include <check.h>

#include "unit.h"
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static const int codecs[] = {COMPRESS_GZIP, COMPRESS_SNAPPY, COMPRESS_LZ4, COMPRESS_ZSTD};
#define NCODECS (int)(sizeof(codecs) / sizeof(codecs[0]))

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Text-like data: compressible, but not trivially. */
static uint8_t *make_text(size_t n)
{
    static const char *words[] = {"kafka ", "record ", "batch ", "offset ", "samsa ", "log ",
                                  "partition ", "1234 ", "\n"};
    uint8_t *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    size_t i = 0;
    while (i < n) {
        const char *w = words[rng_next() % 9];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
    return p;
}

static uint8_t *make_random(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng_next() >> 56);
    return p;
}

static void check_round_trip(int codec, const uint8_t *data, size_t n)
{
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_encode(codec, COMPRESS_LEVEL_DEFAULT, data, n, &c), SAMSA_ERR_NONE);
    buf_put(&d, "xy", 2); /* decoding appends */
    ck_assert_int_eq(compress_decode(codec, c.data, c.len, &d, n), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, n + 2);
    ck_assert(memcmp(d.data, "xy", 2) == 0);
    ck_assert(n == 0 || memcmp(d.data + 2, data, n) == 0);
    buf_free(&c);
    buf_free(&d);
}

START_TEST(every_codec_round_trips_text_and_random_data)
{
    static const size_t sizes[] = {0, 1, 2, 100, 4095, 32768, 32769, 100000, 300000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint8_t *text = make_text(sizes[s]);
        uint8_t *rnd = make_random(sizes[s]);
        check_round_trip(codecs[_i], text, sizes[s]);
        check_round_trip(codecs[_i], rnd, sizes[s]);
        free(text);
        free(rnd);
    }
}
END_TEST

START_TEST(none_copies_and_obeys_the_cap)
{
    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(compress_encode(COMPRESS_NONE, 0, "abc", 3, &b), SAMSA_ERR_NONE);
    ck_assert_int_eq(compress_decode(COMPRESS_NONE, "def", 3, &b, 3), SAMSA_ERR_NONE);
    ck_assert_uint_eq(b.len, 6);
    ck_assert(memcmp(b.data, "abcdef", 6) == 0);
    ck_assert_int_eq(compress_decode(COMPRESS_NONE, "ghij", 4, &b, 3), SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_uint_eq(b.len, 6);
    buf_free(&b);
}
END_TEST

START_TEST(levels_are_honoured_and_checked)
{
    uint8_t *text = make_text(50000);
    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, 1, text, 50000, &b), SAMSA_ERR_NONE);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, 10, text, 50000, &b), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(compress_encode(COMPRESS_ZSTD, 19, text, 50000, &b), SAMSA_ERR_NONE);
    ck_assert_int_eq(compress_encode(COMPRESS_ZSTD, 99, text, 50000, &b), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(compress_encode(COMPRESS_LZ4, 9, text, 50000, &b), SAMSA_ERR_NONE);
    ck_assert_int_eq(compress_encode(COMPRESS_LZ4, 13, text, 50000, &b), SAMSA_ERR__INVALID_ARG);
    buf_free(&b);
    free(text);
}
END_TEST

START_TEST(unknown_codec_is_unsupported)
{
    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(compress_encode(5, 0, "a", 1, &b), SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_int_eq(compress_decode(7, "a", 1, &b, 10), SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_int_eq(compress_decode(-1, "a", 1, &b, 10), SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
}
END_TEST

START_TEST(codec_names_follow_compression_type)
{
    ck_assert_str_eq(compress_codec_name(COMPRESS_NONE), "none");
    ck_assert_str_eq(compress_codec_name(COMPRESS_GZIP), "gzip");
    ck_assert_str_eq(compress_codec_name(COMPRESS_SNAPPY), "snappy");
    ck_assert_str_eq(compress_codec_name(COMPRESS_LZ4), "lz4");
    ck_assert_str_eq(compress_codec_name(COMPRESS_ZSTD), "zstd");
    ck_assert_str_eq(compress_codec_name(9), "unknown");
    ck_assert_int_eq(compress_codec_from_name("zstd"), COMPRESS_ZSTD);
    ck_assert_int_eq(compress_codec_from_name("none"), COMPRESS_NONE);
    ck_assert_int_eq(compress_codec_from_name("brotli"), -1);
    ck_assert_int_eq(compress_codec_from_name(NULL), -1);
}
END_TEST

START_TEST(gzip_writes_a_gzip_member_and_reads_concatenated_ones)
{
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, COMPRESS_LEVEL_DEFAULT, "hello ", 6, &c), 0);
    ck_assert_uint_ge(c.len, 18);
    ck_assert_uint_eq(c.data[0], 0x1f);
    ck_assert_uint_eq(c.data[1], 0x8b);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, 9, "world", 5, &c), 0);
    ck_assert_int_eq(compress_decode(COMPRESS_GZIP, c.data, c.len, &d, 100), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, 11);
    ck_assert(memcmp(d.data, "hello world", 11) == 0);
    /* trailing bytes that are not another member */
    buf_put(&c, "junk", 4);
    buf_reset(&d);
    ck_assert_int_eq(compress_decode(COMPRESS_GZIP, c.data, c.len, &d, 100),
                     SAMSA_ERR__COMPRESSION);
    ck_assert_uint_eq(d.len, 0);
    buf_free(&c);
    buf_free(&d);
}
END_TEST

START_TEST(snappy_writes_xerial_and_reads_raw_and_xerial)
{
    uint8_t *text = make_text(100000);
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_encode(COMPRESS_SNAPPY, 0, text, 100000, &c), SAMSA_ERR_NONE);
    static const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    ck_assert(memcmp(c.data, header, 16) == 0);
    /* four blocks of at most 32 KiB: the first block's length is its size */
    size_t first = ((size_t)c.data[16] << 24) | ((size_t)c.data[17] << 16) |
                   ((size_t)c.data[18] << 8) | c.data[19];
    size_t raw_len = 0;
    ck_assert_int_eq(snappy_uncompressed_length((const char *)c.data + 20, first, &raw_len),
                     SNAPPY_OK);
    ck_assert_uint_eq(raw_len, 32768);

    /* raw snappy, as librdkafka writes it */
    size_t raw_cap = snappy_max_compressed_length(100000);
    char *raw = malloc(raw_cap);
    ck_assert_ptr_nonnull(raw);
    ck_assert_int_eq(snappy_compress((const char *)text, 100000, raw, &raw_cap), SNAPPY_OK);
    ck_assert_int_eq(compress_decode(COMPRESS_SNAPPY, raw, raw_cap, &d, 100000), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, 100000);
    ck_assert(memcmp(d.data, text, 100000) == 0);
    /* the cap is checked against the stated length before decoding */
    buf_reset(&d);
    ck_assert_int_eq(compress_decode(COMPRESS_SNAPPY, raw, raw_cap, &d, 99999),
                     SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_uint_eq(d.len, 0);
    free(raw);

    /* a xerial block length past the end */
    buf_t bad;
    buf_init(&bad, 0);
    buf_put(&bad, header, 16);
    buf_put_i32(&bad, 1000);
    buf_put(&bad, "abc", 3);
    ck_assert_int_eq(compress_decode(COMPRESS_SNAPPY, bad.data, bad.len, &d, 100000),
                     SAMSA_ERR__COMPRESSION);
    /* raw snappy of nothing is one byte, and decodes to nothing */
    static const char raw_empty[1] = {0}; /* length varint 0, no elements */
    size_t raw_empty_len = sizeof(raw_empty);
    buf_t fresh;
    buf_init(&fresh, 0);
    ck_assert_int_eq(compress_decode(COMPRESS_SNAPPY, raw_empty, raw_empty_len, &fresh, 10),
                     SAMSA_ERR_NONE);
    ck_assert_uint_eq(fresh.len, 0);
    buf_free(&fresh);
    /* a header alone is an empty payload */
    ck_assert_int_eq(compress_decode(COMPRESS_SNAPPY, header, 16, &d, 10), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, 0);
    buf_free(&bad);
    buf_free(&c);
    buf_free(&d);
    free(text);
}
END_TEST

START_TEST(lz4_reads_frames_with_content_size_and_several_frames)
{
    uint8_t *text = make_text(70000);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.contentSize = 70000;
    prefs.frameInfo.blockSizeID = LZ4F_max256KB;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    size_t cap = LZ4F_compressFrameBound(70000, &prefs);
    uint8_t *frame = malloc(cap);
    ck_assert_ptr_nonnull(frame);
    size_t n = LZ4F_compressFrame(frame, cap, text, 70000, &prefs);
    ck_assert(!LZ4F_isError(n));
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    buf_put(&c, frame, n);
    ck_assert_int_eq(compress_encode(COMPRESS_LZ4, COMPRESS_LEVEL_DEFAULT, "tail", 4, &c), 0);
    ck_assert_int_eq(compress_decode(COMPRESS_LZ4, c.data, c.len, &d, 70004), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, 70004);
    ck_assert(memcmp(d.data, text, 70000) == 0);
    ck_assert(memcmp(d.data + 70000, "tail", 4) == 0);
    /* the content checksum catches a flipped byte in the data */
    frame[n / 2] ^= 0x20;
    buf_reset(&d);
    ck_assert_int_eq(compress_decode(COMPRESS_LZ4, frame, n, &d, 70000), SAMSA_ERR__COMPRESSION);
    free(frame);
    free(text);
    buf_free(&c);
    buf_free(&d);
}
END_TEST

START_TEST(zstd_reads_streamed_frames_without_content_size)
{
    uint8_t *text = make_text(200000);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ck_assert_ptr_nonnull(cctx);
    size_t cap = ZSTD_compressBound(200000) + 64;
    uint8_t *frame = malloc(cap);
    ck_assert_ptr_nonnull(frame);
    ZSTD_outBuffer o = {frame, cap, 0};
    ZSTD_inBuffer i = {text, 200000, 0};
    /* no pledged size: the frame header carries no content size */
    ck_assert(!ZSTD_isError(ZSTD_compressStream2(cctx, &o, &i, ZSTD_e_continue)));
    ck_assert_uint_eq(ZSTD_compressStream2(cctx, &o, &i, ZSTD_e_end), 0);
    ck_assert(ZSTD_getFrameContentSize(frame, o.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    buf_put(&c, frame, o.pos);
    ck_assert_int_eq(compress_encode(COMPRESS_ZSTD, COMPRESS_LEVEL_DEFAULT, "tail", 4, &c), 0);
    ck_assert_int_eq(compress_decode(COMPRESS_ZSTD, c.data, c.len, &d, 200004), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, 200004);
    ck_assert(memcmp(d.data, text, 200000) == 0);
    ck_assert(memcmp(d.data + 200000, "tail", 4) == 0);
    buf_reset(&d);
    ck_assert_int_eq(compress_decode(COMPRESS_ZSTD, frame, o.pos, &d, 199999),
                     SAMSA_ERR__MSG_TOO_LARGE);
    ZSTD_freeCCtx(cctx);
    free(frame);
    free(text);
    buf_free(&c);
    buf_free(&d);
}
END_TEST

/* Every proper prefix of a compressed payload is an error, never a crash
 * (one block of text here, so the only cut between xerial blocks is right
 * after the header); so are random bytes. */
START_TEST(truncated_or_garbage_input_is_a_compression_error)
{
    int codec = codecs[_i];
    uint8_t *text = make_text(3000);
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_encode(codec, COMPRESS_LEVEL_DEFAULT, text, 3000, &c), 0);
    for (size_t n = 0; n < c.len; n++) {
        /* xerial framing has no end marker: cut right after its header it
         * is a valid empty payload (the batch CRC guards against this). */
        if (codec == COMPRESS_SNAPPY && n == 16)
            continue;
        samsa_err_t err = compress_decode(codec, c.data, n, &d, 3000);
        ck_assert_msg(err == SAMSA_ERR__COMPRESSION, "%s prefix %zu of %zu: %d",
                      compress_codec_name(codec), n, c.len, err);
        ck_assert_uint_eq(d.len, 0);
    }
    for (int t = 0; t < 200; t++) {
        size_t n = 1 + rng_next() % 200;
        uint8_t *junk = make_random(n);
        samsa_err_t err = compress_decode(codec, junk, n, &d, 3000);
        ck_assert_msg(err == SAMSA_ERR__COMPRESSION || err == SAMSA_ERR__MSG_TOO_LARGE,
                      "%s junk: %d", compress_codec_name(codec), err);
        ck_assert_uint_eq(d.len, 0);
        free(junk);
    }
    free(text);
    buf_free(&c);
    buf_free(&d);
}
END_TEST

/* Exactly the decompressed size fits; one byte less is too large, and a
 * payload that expands a thousandfold stops at the cap without allocating
 * for the whole of it. */
START_TEST(decompression_is_capped)
{
    int codec = codecs[_i];
    size_t big = 16u << 20;
    uint8_t *zeros = calloc(1, big);
    ck_assert_ptr_nonnull(zeros);
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_encode(codec, COMPRESS_LEVEL_DEFAULT, zeros, 5000, &c), 0);
    ck_assert_int_eq(compress_decode(codec, c.data, c.len, &d, 5000), SAMSA_ERR_NONE);
    ck_assert_uint_eq(d.len, 5000);
    buf_reset(&d);
    ck_assert_int_eq(compress_decode(codec, c.data, c.len, &d, 4999), SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_uint_eq(d.len, 0);
    buf_free(&d);

    buf_reset(&c);
    ck_assert_int_eq(compress_encode(codec, COMPRESS_LEVEL_DEFAULT, zeros, big, &c), 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_decode(codec, c.data, c.len, &d, 1u << 20),
                     SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_uint_eq(d.len, 0);
    ck_assert_uint_le(d.cap, 2u << 20);
    /* the output buffer's own cap counts too */
    buf_free(&d);
    buf_init(&d, 4096);
    ck_assert_int_eq(compress_decode(codec, c.data, c.len, &d, big), SAMSA_ERR__MSG_TOO_LARGE);
    buf_free(&d);
    buf_free(&c);
    free(zeros);
}
END_TEST

START_TEST(gzip_detects_a_flipped_byte)
{
    uint8_t *text = make_text(5000);
    buf_t c, d;
    buf_init(&c, 0);
    buf_init(&d, 0);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, COMPRESS_LEVEL_DEFAULT, text, 5000, &c), 0);
    c.data[c.len - 6] ^= 0x01; /* inside the trailer's CRC-32 */
    ck_assert_int_eq(compress_decode(COMPRESS_GZIP, c.data, c.len, &d, 5000),
                     SAMSA_ERR__COMPRESSION);
    ck_assert_uint_eq(d.len, 0);
    free(text);
    buf_free(&c);
    buf_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("compress");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, every_codec_round_trips_text_and_random_data, 0, NCODECS);
    tcase_add_test(tc, none_copies_and_obeys_the_cap);
    tcase_add_test(tc, levels_are_honoured_and_checked);
    tcase_add_test(tc, unknown_codec_is_unsupported);
    tcase_add_test(tc, codec_names_follow_compression_type);
    tcase_add_test(tc, gzip_writes_a_gzip_member_and_reads_concatenated_ones);
    tcase_add_test(tc, snappy_writes_xerial_and_reads_raw_and_xerial);
    tcase_add_test(tc, lz4_reads_frames_with_content_size_and_several_frames);
    tcase_add_test(tc, zstd_reads_streamed_frames_without_content_size);
    tcase_add_loop_test(tc, truncated_or_garbage_input_is_a_compression_error, 0, NCODECS);
    tcase_add_loop_test(tc, decompression_is_capped, 0, NCODECS);
    tcase_add_test(tc, gzip_detects_a_flipped_byte);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
