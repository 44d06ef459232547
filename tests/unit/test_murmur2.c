/*
 * Unit tests for lib/base/murmur2: hashes and partitions that Kafka's Java
 * client computes for the same keys.
 *
 * The expected values were computed with Java 17 running the algorithm of
 * org.apache.kafka.common.utils.Utils.murmur2; the keys "21", "foobar",
 * "a-little-bit-long-string", "a-little-bit-longer-string" and the 48-byte
 * key also appear in Kafka's own UtilsTest (as signed ints), and "kafka",
 * "giberish123456789", "1234" ... in librdkafka's murmur2 self-test.
 */
#include "base/murmur2.h"

#include <check.h>

#include "unit.h"
#include <stdlib.h>
#include <string.h>

static const struct murmur2_vector {
    const char *key;
    size_t len;
    uint32_t hash;
    int32_t partition[4]; /* for 1, 3, 6 and 100 partitions */
} vectors[] = {
    {"", 0, 0x106e08d9u, {0, 0, 3, 81}},
    {"a", 1, 0xa2d0b27cu, {0, 1, 4, 24}},
    {"ab", 2, 0x12d8262au, {0, 2, 2, 34}},
    {"abc", 3, 0x1c94221bu, {0, 0, 3, 7}},
    {"kafka", 5, 0xd067cf64u, {0, 1, 4, 80}},
    {"1234", 4, 0x9fc97b14u, {0, 0, 0, 40}},
    {"234", 3, 0xe7c009cau, {0, 2, 2, 66}},
    {"34", 2, 0x873930dau, {0, 0, 0, 70}},
    {"4", 1, 0x5a4b5ca1u, {0, 1, 1, 53}},
    {"giberish123456789", 17, 0x8f552b0cu, {0, 2, 2, 20}},
    {"PreAmbleWillBeRemoved,ThePrePartThatIs", 38, 0x78424f1cu, {0, 2, 2, 48}},
    {"21", 2, 0xc5f2f8ecu, {0, 0, 0, 40}},
    {"foobar", 6, 0xd0e47bbeu, {0, 0, 0, 66}},
    {"a-little-bit-long-string", 24, 0xc53b1da0u, {0, 2, 2, 12}},
    {"a-little-bit-longer-string", 26, 0xa768c9c3u, {0, 2, 5, 19}},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 48, 0xfc7d49cdu, {0, 2, 5, 77}},
    /* bytes >= 0x80, which Java holds as negative bytes */
    {"\x80\xff\xfe\x7f\x81\xc3\xa9", 7, 0xa9dcc05cu, {0, 2, 2, 20}},
};
static const int32_t partition_counts[4] = {1, 3, 6, 100};

START_TEST(hash_matches_the_java_client)
{
    const struct murmur2_vector *v = &vectors[_i];
    ck_assert_uint_eq(strlen(v->key), v->len);
    ck_assert_uint_eq(murmur2(v->key, v->len), v->hash);
}
END_TEST

START_TEST(partition_matches_the_java_default_partitioner)
{
    const struct murmur2_vector *v = &vectors[_i];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(murmur2_partition(v->key, v->len, partition_counts[i]),
                         v->partition[i]);
}
END_TEST

START_TEST(empty_key_may_be_null)
{
    ck_assert_uint_eq(murmur2(NULL, 0), 0x106e08d9u);
}
END_TEST

START_TEST(partition_count_must_be_positive)
{
    ck_assert_int_eq(murmur2_partition("kafka", 5, 0), -1);
    ck_assert_int_eq(murmur2_partition("kafka", 5, -3), -1);
}
END_TEST

START_TEST(hash_does_not_depend_on_alignment)
{
    char buf[64];
    const char *key = "a-little-bit-longer-string";
    for (int off = 0; off < 8; off++) {
        memcpy(buf + off, key, 26);
        ck_assert_uint_eq(murmur2(buf + off, 26), 0xa768c9c3u);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("murmur2");
    TCase *tc = tcase_create("murmur2");
    int n = (int)(sizeof(vectors) / sizeof(vectors[0]));
    tcase_add_loop_test(tc, hash_matches_the_java_client, 0, n);
    tcase_add_loop_test(tc, partition_matches_the_java_default_partitioner, 0, n);
    tcase_add_test(tc, empty_key_may_be_null);
    tcase_add_test(tc, partition_count_must_be_positive);
    tcase_add_test(tc, hash_does_not_depend_on_alignment);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
