/*
 * Integration tests of samsa_producer_produce_batch and samsa_producer_room
 * (lib/client/producer_many.c) against samsa's embedded broker: every
 * message of a batch arrives in order with its key, value and partition,
 * with exactly one delivery report each, in order; a full queue
 * (queue.buffering.max.messages, buffer.memory as samsa_producer_room
 * predicts it, queue.full.behavior=block after max.block.ms) and a
 * message over max.request.size stop the batch at the exact message; bad
 * arguments queue nothing; a closed producer refuses.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kclient.h"
#include "samsa.h"

#define MAX_MSGS 600

static test_broker_t tb;

static void setup(void) { test_broker_start(&tb, false, NULL); }
static void teardown(void) { test_broker_stop(&tb, true); }

static void create_topic(const char *topic, int32_t partitions)
{
    kclient_t kc;
    kclient_connect(&kc, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&kc, topic, partitions, false)->error_code, 0);
    kclient_close(&kc);
}

/* Delivery reports as they came. */
typedef struct reports {
    int count;
    int32_t partition[MAX_MSGS];
    int64_t offset[MAX_MSGS];
    samsa_err_t err[MAX_MSGS];
    char key[MAX_MSGS][16];  /* "" for a null key */
    char value[MAX_MSGS][16]; /* the first 15 bytes */
    size_t value_len[MAX_MSGS];
    bool null_key[MAX_MSGS];
    bool null_value[MAX_MSGS];
    bool opaque_set;
} reports_t;

static void copy_str(char *dst, const void *src, size_t len)
{
    ck_assert_uint_lt(len, 16);
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

static void on_report(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    reports_t *rs = opaque;
    ck_assert_int_lt(rs->count, MAX_MSGS);
    int i = rs->count++;
    rs->partition[i] = r->partition;
    rs->offset[i] = r->offset;
    rs->err[i] = r->err;
    rs->null_key[i] = r->key == NULL;
    rs->null_value[i] = r->value == NULL;
    copy_str(rs->key[i], r->key, r->key_len);
    rs->value_len[i] = r->value_len;
    copy_str(rs->value[i], r->value, r->value_len < 16 ? r->value_len : 15);
    if (r->msg_opaque)
        rs->opaque_set = true;
}

/* A producer with the extra properties (NULL-terminated pairs); bootstrap
 * is the embedded broker's unless given among them. */
static samsa_producer_t *producer(reports_t *rs, const char *const *extra)
{
    const char *keys[16] = {"bootstrap.servers", "linger.ms"};
    const char *values[16] = {tb.bootstrap ? tb.bootstrap : "127.0.0.1:1", "5"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i]; i += 2) {
        if (!strcmp(extra[i], "bootstrap.servers")) {
            values[0] = extra[i + 1];
            continue;
        }
        keys[n] = extra[i];
        values[n++] = extra[i + 1];
    }
    samsa_producer_callbacks_t cb = {rs ? on_report : NULL, NULL, rs};
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, n, &cb, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

/* Values "v<i>" (message i % 7 == 3 has a null value), keys "k<i>" (i % 5
 * == 0 has a null key) for messages first..first+n-1, into buffers the
 * caller gives (values of vcap bytes, keys of kcap). */
typedef struct msgs {
    char values[MAX_MSGS * 8];
    char keys[MAX_MSGS * 8];
    int32_t value_lens[MAX_MSGS];
    int32_t key_lens[MAX_MSGS];
    int32_t partitions[MAX_MSGS];
} msgs_t;

static bool null_value_at(int i) { return i % 7 == 3; }
static bool null_key_at(int i) { return i % 5 == 0; }

static void make_msgs(msgs_t *m, int first, int n, int32_t partitions)
{
    size_t vpos = 0, kpos = 0;
    for (int j = 0; j < n; j++) {
        int i = first + j;
        m->value_lens[j] = -1;
        if (!null_value_at(i))
            vpos += (size_t)(m->value_lens[j] = sprintf(m->values + vpos, "v%d", i));
        m->key_lens[j] = -1;
        if (!null_key_at(i))
            kpos += (size_t)(m->key_lens[j] = sprintf(m->keys + kpos, "k%d", i));
        m->partitions[j] = partitions ? i % partitions : -1;
    }
}

static void check_report(const reports_t *rs, int j, int i)
{
    char want[16];
    ck_assert_int_eq(rs->err[j], SAMSA_ERR_NONE);
    ck_assert_int_eq(rs->null_value[j], null_value_at(i));
    if (!null_value_at(i)) {
        snprintf(want, sizeof(want), "v%d", i);
        ck_assert_str_eq(rs->value[j], want);
    }
    ck_assert_int_eq(rs->null_key[j], null_key_at(i));
    if (!null_key_at(i)) {
        snprintf(want, sizeof(want), "k%d", i);
        ck_assert_str_eq(rs->key[j], want);
    }
}

/* Polls until a message comes (at most 30 s). */
static samsa_message_t *poll_one(samsa_consumer_t *c)
{
    for (int i = 0; i < 300; i++) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (m && m->err == SAMSA_ERR__PARTITION_EOF) {
            samsa_message_free(m);
            continue;
        }
        if (m)
            return m;
    }
    ck_abort_msg("no message within 30 s");
    return NULL;
}

/* Reads partitions 0..parts-1 of topic from the start; checks that n
 * messages come, each partition's in the order produced: message i is the
 * next one of partition i % parts. */
static void consume_check(const char *topic, int32_t parts, int n)
{
    const char *keys[] = {"bootstrap.servers", "auto.offset.reset"};
    const char *values[] = {tb.bootstrap, "earliest"};
    char err[256];
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, 2, NULL, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    samsa_topic_partition_t tps[8];
    for (int32_t q = 0; q < parts; q++)
        tps[q] = (samsa_topic_partition_t){topic, q, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {tps, (size_t)parts};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    int next[8] = {0};
    for (int got = 0; got < n; got++) {
        samsa_message_t *m = poll_one(c);
        ck_assert_msg(m->err == 0, "%s", m->errstr);
        int32_t q = m->partition;
        int i = next[q] * parts + q; /* the message expected next on q */
        next[q]++;
        ck_assert_int_eq(m->offset, next[q] - 1);
        ck_assert_int_eq(m->value == NULL, null_value_at(i));
        ck_assert_int_eq(m->key == NULL, null_key_at(i));
        char want[16], have[16];
        if (!null_value_at(i)) {
            snprintf(want, sizeof(want), "v%d", i);
            copy_str(have, m->value, m->value_len);
            ck_assert_str_eq(have, want);
        }
        if (!null_key_at(i)) {
            snprintf(want, sizeof(want), "k%d", i);
            copy_str(have, m->key, m->key_len);
            ck_assert_str_eq(have, want);
        }
        samsa_message_free(m);
    }
    ck_assert_int_eq(samsa_consumer_close(c), 0);
    samsa_consumer_free(c);
}

START_TEST(batch_arrives_in_order_with_reports)
{
    create_topic("many", 1);
    static reports_t rs;
    static msgs_t m;
    memset(&rs, 0, sizeof(rs));
    samsa_producer_t *p = producer(&rs, NULL);
    /* two batches, the second after the first's reports */
    make_msgs(&m, 0, 300, 0);
    samsa_produce_batch_t b = {"many", -1, NULL, m.values, m.value_lens, m.keys, m.key_lens,
                               300, 0};
    samsa_err_t err = SAMSA_ERR__STATE;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 300);
    ck_assert_int_eq(err, SAMSA_ERR_NONE);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 300);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 300);
    make_msgs(&m, 300, 200, 0);
    b.count = 200;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, NULL), 200);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 500);
    for (int i = 0; i < 500; i++) {
        check_report(&rs, i, i);
        ck_assert_int_eq(rs.partition[i], 0);
        ck_assert_int_eq(rs.offset[i], i);
    }
    ck_assert(!rs.opaque_set);
    ck_assert_int_eq(samsa_producer_close(p, 10000), 0);
    samsa_producer_free(p);
    consume_check("many", 1, 500);
}
END_TEST

START_TEST(batch_with_partitions_and_no_keys)
{
    create_topic("spread", 3);
    create_topic("spread-nokeys", 1);
    static reports_t rs;
    static msgs_t m;
    memset(&rs, 0, sizeof(rs));
    samsa_producer_t *p = producer(&rs, NULL);
    make_msgs(&m, 0, 300, 3);
    /* keys as given, and a batch where every key is null */
    samsa_produce_batch_t b = {"spread", 7, m.partitions, m.values, m.value_lens,
                               m.keys, m.key_lens, 300, 0};
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, NULL), 300);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 300);
    /* in order within each partition: its k-th report is message 3k + q */
    int per[3] = {0};
    for (int j = 0; j < 300; j++) {
        int32_t q = rs.partition[j];
        ck_assert(q >= 0 && q < 3);
        check_report(&rs, j, 3 * per[q] + q);
        ck_assert_int_eq(rs.offset[j], per[q]++);
    }
    samsa_produce_batch_t nokeys = {"spread-nokeys", 0, NULL, "abc", (int32_t[]){1, 0, 2}, NULL,
                                    NULL, 3, 1700000000000LL};
    rs.count = 0;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &nokeys, NULL), 3);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 3);
    ck_assert_str_eq(rs.value[0], "a");
    ck_assert_str_eq(rs.value[1], "");
    ck_assert(!rs.null_value[1]);
    ck_assert_str_eq(rs.value[2], "bc");
    for (int i = 0; i < 3; i++) {
        ck_assert(rs.null_key[i]);
        ck_assert_int_eq(rs.partition[i], 0);
    }
    ck_assert_int_eq(samsa_producer_close(p, 10000), 0);
    samsa_producer_free(p);
    consume_check("spread", 3, 300);
}
END_TEST

START_TEST(queue_full_stops_at_the_exact_message)
{
    static reports_t rs;
    static msgs_t m;
    memset(&rs, 0, sizeof(rs));
    tb.bootstrap = NULL; /* nothing listens: messages stay queued */
    const char *extra[] = {"queue.buffering.max.messages", "10", NULL};
    samsa_producer_t *p = producer(&rs, extra);
    make_msgs(&m, 0, 25, 0);
    samsa_produce_batch_t b = {"full", -1, NULL, m.values, m.value_lens, m.keys, m.key_lens, 4, 0};
    samsa_err_t err;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 4);
    ck_assert_int_eq(err, SAMSA_ERR_NONE);
    samsa_producer_room_t room;
    ck_assert_int_eq(samsa_producer_room(p, "full", &room), 0);
    ck_assert_uint_eq(room.messages, 6);
    b.count = 25;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 6);
    ck_assert_int_eq(err, SAMSA_ERR__QUEUE_FULL);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 10);
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 0);
    ck_assert_int_eq(err, SAMSA_ERR__QUEUE_FULL);
    ck_assert_int_eq(samsa_producer_room(p, "full", &room), 0);
    ck_assert_uint_eq(room.messages, 0);
    /* close fails the ten, in order: 0..3 then 0..5 */
    ck_assert_int_eq(samsa_producer_close(p, 0), SAMSA_ERR__TIMED_OUT);
    ck_assert_int_eq(rs.count, 10);
    for (int j = 0; j < 10; j++) {
        int i = j < 4 ? j : j - 4;
        ck_assert_int_ne(rs.err[j], SAMSA_ERR_NONE);
        ck_assert_int_eq(rs.null_value[j], null_value_at(i));
        ck_assert_int_eq(rs.null_key[j], null_key_at(i));
    }
    ck_assert_int_eq(samsa_producer_room(p, "full", &room), SAMSA_ERR__DESTROYED);
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 0);
    ck_assert_int_eq(err, SAMSA_ERR__DESTROYED);
    samsa_producer_free(p);
}
END_TEST

START_TEST(room_predicts_buffer_memory)
{
    tb.bootstrap = NULL;
    const char *extra[] = {"buffer.memory", "20000", NULL};
    samsa_producer_t *p = producer(NULL, extra);
    static char values[MAX_MSGS * 100];
    static int32_t lens[MAX_MSGS];
    memset(values, 'x', sizeof(values));
    samsa_producer_room_t room;
    ck_assert_int_eq(samsa_producer_room(p, "mem", &room), 0);
    ck_assert_uint_eq(room.bytes, 20000);
    ck_assert_uint_eq(room.max_request_bytes, 1048576);
    ck_assert_uint_gt(room.message_overhead_bytes, 4);
    /* samsa_producer_produce counts a message as the room says; its size
     * leaves room for whole 100-byte messages and o + 50 bytes */
    size_t before = room.bytes, o = room.message_overhead_bytes;
    size_t first = (20000 - o - 2 - o - 50) % (o + 100);
    ck_assert_int_eq(samsa_producer_send(p, "mem", -1, "ab", 2, values, first, NULL, 0, 0, 0, NULL),
                     0);
    ck_assert_int_eq(samsa_producer_room(p, "mem", &room), 0);
    ck_assert_uint_eq(room.bytes, before - (o + 2 + first));
    ck_assert_uint_eq(room.bytes % (o + 100), o + 50);
    ck_assert_uint_eq(room.messages, 99999);
    before = room.bytes;
    /* values of 100 bytes: exactly as many as the room says fit */
    size_t fit = before / (room.message_overhead_bytes + 100);
    ck_assert_uint_lt(fit, MAX_MSGS);
    for (size_t i = 0; i < MAX_MSGS; i++)
        lens[i] = 100;
    samsa_produce_batch_t b = {"mem", -1, NULL, values, lens, NULL, NULL, MAX_MSGS, 0};
    samsa_err_t err;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), fit);
    ck_assert_int_eq(err, SAMSA_ERR__QUEUE_FULL);
    ck_assert_int_eq(samsa_producer_room(p, "mem", &room), 0);
    ck_assert_uint_eq(room.bytes, before - fit * (room.message_overhead_bytes + 100));
    /* what is left takes a message of exactly that much, and no more */
    ck_assert_uint_eq(room.bytes, o + 50);
    size_t left = room.bytes - o;
    lens[0] = (int32_t)left + 1;
    b.count = 1;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 0);
    ck_assert_int_eq(err, SAMSA_ERR__QUEUE_FULL);
    lens[0] = (int32_t)left;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 1);
    ck_assert_int_eq(err, SAMSA_ERR_NONE);
    ck_assert_int_eq(samsa_producer_room(p, "mem", &room), 0);
    ck_assert_uint_eq(room.bytes, 0);
    /* samsa_producer_produce counts the same */
    ck_assert_int_eq(samsa_producer_send(p, "mem", -1, NULL, 0, "", 0, NULL, 0, 0, 0, NULL),
                     SAMSA_ERR__QUEUE_FULL);
    samsa_producer_free(p);
}
END_TEST

START_TEST(block_waits_then_stops_at_the_exact_message)
{
    tb.bootstrap = NULL;
    const char *extra[] = {"queue.buffering.max.messages", "3", "queue.full.behavior", "block",
                           "max.block.ms", "200", NULL};
    samsa_producer_t *p = producer(NULL, extra);
    samsa_produce_batch_t b = {"block", -1, NULL, "abcde", (int32_t[]){1, 1, 1, 1, 1}, NULL,
                               NULL, 5, 0};
    samsa_err_t err;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 3);
    ck_assert_int_eq(err, SAMSA_ERR__QUEUE_FULL);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 3);
    samsa_producer_free(p);
}
END_TEST

START_TEST(too_large_stops_at_the_exact_message)
{
    static reports_t rs;
    memset(&rs, 0, sizeof(rs));
    tb.bootstrap = NULL;
    const char *extra[] = {"max.request.size", "2000", NULL};
    samsa_producer_t *p = producer(&rs, extra);
    static char values[8000];
    memset(values, 'y', sizeof(values));
    /* 990 and 1500 bytes fit (the second goes alone, being close to the
     * limit); 3000 does not */
    samsa_produce_batch_t b = {"big", -1, NULL, values, (int32_t[]){10, 990, 1500, 3000, 10},
                               NULL, NULL, 5, 0};
    samsa_err_t err;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &b, &err), 3);
    ck_assert_int_eq(err, SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 3);
    samsa_producer_close(p, 0);
    ck_assert_int_eq(rs.count, 3);
    ck_assert_uint_eq(rs.value_len[0], 10);
    ck_assert_uint_eq(rs.value_len[1], 990);
    ck_assert_uint_eq(rs.value_len[2], 1500);
    samsa_producer_free(p);
}
END_TEST

START_TEST(bad_arguments_queue_nothing)
{
    tb.bootstrap = NULL;
    samsa_producer_t *p = producer(NULL, NULL);
    int32_t lens[] = {1, 1};
    int32_t bad_lens[] = {1, -2};
    int32_t bad_parts[] = {0, -2};
    int32_t parts[] = {0, 1};
    char long_topic[300];
    memset(long_topic, 't', sizeof(long_topic) - 1);
    long_topic[sizeof(long_topic) - 1] = '\0';
    samsa_produce_batch_t ok = {"t", -1, NULL, "ab", lens, NULL, NULL, 2, 0};
    samsa_produce_batch_t bad[] = {
        {NULL, -1, NULL, "ab", lens, NULL, NULL, 2, 0},
        {"", -1, NULL, "ab", lens, NULL, NULL, 2, 0},
        {long_topic, -1, NULL, "ab", lens, NULL, NULL, 2, 0},
        {"t", -2, NULL, "ab", lens, NULL, NULL, 2, 0},
        {"t", -1, bad_parts, "ab", lens, NULL, NULL, 2, 0},
        {"t", -1, NULL, "ab", NULL, NULL, NULL, 2, 0},
        {"t", -1, NULL, NULL, lens, NULL, NULL, 2, 0},
        {"t", -1, NULL, "ab", bad_lens, NULL, NULL, 2, 0},
        {"t", -1, NULL, "ab", lens, "ab", NULL, 2, 0},
        {"t", -1, NULL, "ab", lens, NULL, lens, 2, 0},
        {"t", -1, parts, "ab", lens, "ab", bad_lens, 2, 0},
    };
    samsa_err_t err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = SAMSA_ERR_NONE;
        ck_assert_uint_eq(samsa_producer_produce_batch(p, &bad[i], &err), 0);
        ck_assert_msg(err == SAMSA_ERR__INVALID_ARG, "case %zu: %d", i, err);
    }
    ck_assert_uint_eq(samsa_producer_produce_batch(NULL, &ok, &err), 0);
    ck_assert_int_eq(err, SAMSA_ERR__INVALID_ARG);
    ck_assert_uint_eq(samsa_producer_produce_batch(p, NULL, &err), 0);
    ck_assert_int_eq(err, SAMSA_ERR__INVALID_ARG);
    samsa_producer_room_t room;
    ck_assert_int_eq(samsa_producer_room(NULL, "t", &room), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(samsa_producer_room(p, NULL, &room), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(samsa_producer_room(p, "t", NULL), SAMSA_ERR__INVALID_ARG);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 0);
    /* an empty batch is fine and queues nothing */
    ok.count = 0;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &ok, &err), 0);
    ck_assert_int_eq(err, SAMSA_ERR_NONE);
    ok.count = 2;
    ck_assert_uint_eq(samsa_producer_produce_batch(p, &ok, &err), 2);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 2);
    samsa_producer_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("produce_batch");
    TCase *tc = tcase_create("embedded broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, batch_arrives_in_order_with_reports);
    tcase_add_test(tc, batch_with_partitions_and_no_keys);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("local");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, queue_full_stops_at_the_exact_message);
    tcase_add_test(tl, room_predicts_buffer_memory);
    tcase_add_test(tl, block_waits_then_stops_at_the_exact_message);
    tcase_add_test(tl, too_large_stops_at_the_exact_message);
    tcase_add_test(tl, bad_arguments_queue_nothing);
    suite_add_tcase(s, tl);
    return kclient_run(s);
}
