/*
 * Unit tests for lib/base/buf.h: the bounds-checked reader, the growable
 * buffer and varints.
 */
#include "base/buf.h"
#include "base/arena.h"
#include "samsa.h"

#include <check.h>

#include "unit.h"
#include <stdlib.h>

START_TEST(reader_reads_big_endian_integers)
{
    const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xff, 0xff, 0xff, 0xff, 0xfe,
                          0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    reader_t r = reader_make(in, sizeof(in));
    ck_assert_int_eq(reader_i8(&r), 1);
    ck_assert_int_eq(reader_i16(&r), 0x0203);
    ck_assert_int_eq(reader_i32(&r), 0x04050607);
    ck_assert_int_eq(reader_i32(&r), -1);
    ck_assert_int_eq(reader_i8(&r), -2);
    ck_assert(reader_i64(&r) == INT64_MIN);
    ck_assert(reader_ok(&r));
    ck_assert_uint_eq(reader_left(&r), 0);
}
END_TEST

START_TEST(reader_past_end_fails_and_stays_failed)
{
    const uint8_t in[] = {0, 0, 0};
    reader_t r = reader_make(in, sizeof(in));
    ck_assert_int_eq(reader_i32(&r), 0);
    ck_assert(!reader_ok(&r));
    ck_assert_int_eq(reader_i8(&r), 0);
    ck_assert(!reader_ok(&r));
    ck_assert_ptr_null(reader_take(&r, 1));
}
END_TEST

START_TEST(varints_round_trip_at_the_edges)
{
    const int64_t longs[] = {0, 1, -1, 63, -64, 64, -65, 8191, 8192, INT32_MAX, INT32_MIN,
                             INT64_MAX, INT64_MIN, 1LL << 35, -(1LL << 35)};
    buf_t b;
    buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        buf_put_varlong(&b, longs[i]);
        if (longs[i] >= INT32_MIN && longs[i] <= INT32_MAX)
            buf_put_varint(&b, (int32_t)longs[i]);
    }
    buf_put_uvarint(&b, UINT32_MAX);
    ck_assert(!b.failed);
    reader_t r = reader_make(b.data, b.len);
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        ck_assert(reader_varlong(&r) == longs[i]);
        if (longs[i] >= INT32_MIN && longs[i] <= INT32_MAX)
            ck_assert_int_eq(reader_varint(&r), (int32_t)longs[i]);
    }
    ck_assert_uint_eq(reader_uvarint(&r), UINT32_MAX);
    ck_assert(reader_ok(&r));
    ck_assert_uint_eq(reader_left(&r), 0);
    buf_free(&b);
}
END_TEST

START_TEST(varint_encodings_match_the_protocol)
{
    /* zig-zag: 0->0, -1->1, 1->2, -64->127, 64->128 (two bytes) */
    buf_t b;
    buf_init(&b, 0);
    buf_put_varint(&b, 0);
    buf_put_varint(&b, -1);
    buf_put_varint(&b, 1);
    buf_put_varint(&b, -64);
    buf_put_varint(&b, 64);
    buf_put_uvarint(&b, 300);
    const uint8_t want[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x01, 0xac, 0x02};
    ck_assert_uint_eq(b.len, sizeof(want));
    ck_assert_mem_eq(b.data, want, sizeof(want));
    buf_free(&b);
}
END_TEST

START_TEST(overlong_and_truncated_varints_are_rejected)
{
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    reader_t r = reader_make(six, sizeof(six));
    reader_uvarint(&r);
    ck_assert(!reader_ok(&r));

    const uint8_t cut[] = {0x80, 0x80};
    r = reader_make(cut, sizeof(cut));
    reader_varlong(&r);
    ck_assert(!reader_ok(&r));

    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x1f}; /* > UINT32_MAX */
    r = reader_make(big, sizeof(big));
    reader_uvarint(&r);
    ck_assert(!reader_ok(&r));

    const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    r = reader_make(eleven, sizeof(eleven));
    reader_varlong(&r);
    ck_assert(!reader_ok(&r));
}
END_TEST

START_TEST(buffer_stops_at_its_cap)
{
    buf_t b;
    buf_init(&b, 10);
    buf_put_i64(&b, 1);
    ck_assert(!b.failed);
    buf_put_i32(&b, 2);
    ck_assert(b.failed);
    ck_assert_uint_eq(b.len, 8);
    buf_put_i8(&b, 3);
    ck_assert_uint_eq(b.len, 8);
    buf_free(&b);
}
END_TEST

START_TEST(float64_round_trips)
{
    buf_t b;
    buf_init(&b, 0);
    buf_put_f64(&b, 3.5);
    buf_put_f64(&b, -0.125);
    reader_t r = reader_make(b.data, b.len);
    ck_assert(reader_f64(&r) == 3.5);
    ck_assert(reader_f64(&r) == -0.125);
    buf_free(&b);
}
END_TEST

START_TEST(arena_allocations_are_zeroed_aligned_and_capped)
{
    arena_t a;
    arena_init(&a, 100000);
    for (int i = 0; i < 1000; i++) {
        unsigned char *p = arena_alloc(&a, (size_t)(i % 37) + 1);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 8, 0);
        for (int j = 0; j < i % 37 + 1; j++)
            ck_assert_uint_eq(p[j], 0);
        p[0] = 0xaa;
    }
    ck_assert_ptr_nonnull(arena_alloc(&a, 20000));
    ck_assert_ptr_null(arena_alloc(&a, 100000));
    arena_reset(&a);
    ck_assert_ptr_nonnull(arena_alloc(&a, 50000));
    arena_free(&a);
}
END_TEST

START_TEST(error_names_and_strings)
{
    ck_assert_str_eq(samsa_err_name(SAMSA_ERR_NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
    ck_assert_int_eq(SAMSA_ERR_NOT_LEADER_OR_FOLLOWER, 6);
    ck_assert_int_eq(SAMSA_ERR_MEMBER_ID_REQUIRED, 79);
    ck_assert_str_eq(samsa_err_name(SAMSA_ERR__TIMED_OUT), "_TIMED_OUT");
    ck_assert_str_eq(samsa_err_name((samsa_err_t)9999), "UNKNOWN");
    ck_assert_str_eq(samsa_err_str(SAMSA_ERR_NONE), "Success");
    ck_assert_str_eq(samsa_err_str(SAMSA_ERR_FENCED_LEADER_EPOCH), "FENCED_LEADER_EPOCH");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reader_reads_big_endian_integers);
    tcase_add_test(tc, reader_past_end_fails_and_stays_failed);
    tcase_add_test(tc, varints_round_trip_at_the_edges);
    tcase_add_test(tc, varint_encodings_match_the_protocol);
    tcase_add_test(tc, overlong_and_truncated_varints_are_rejected);
    tcase_add_test(tc, buffer_stops_at_its_cap);
    tcase_add_test(tc, float64_round_trips);
    tcase_add_test(tc, arena_allocations_are_zeroed_aligned_and_capped);
    tcase_add_test(tc, error_names_and_strings);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
