/*
 * Integration tests of the consumer (lib/client/consumer*.c, group.c,
 * assignor.c) against samsa's embedded broker: messages produced with
 * samsa_producer come back with their keys, headers and timestamps; a
 * group splits partitions and rebalances when a member joins without
 * delivering a message twice past committed offsets; manual assignment
 * with seeks; commits, committed(), position(), auto commit; pause and
 * resume; every compression codec; a restarted consumer resumes from the
 * committed offsets.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kclient.h"
#include "samsa.h"

#define TS0 1700000000000LL

static test_broker_t tb;

static void setup(void) { test_broker_start(&tb, false, NULL); }
static void teardown(void) { test_broker_stop(&tb, true); }

/* With SAMSA_TEST_KAFKA_BOOTSTRAP set (tests/scripts/client-consumer-kafka.sh
 * sets it) the group tests run against that broker instead. */
static void setup_kafka(void) { tb.bootstrap = getenv("SAMSA_TEST_KAFKA_BOOTSTRAP"); }
static void teardown_kafka(void) {}

static void create_topic(const char *topic, int32_t partitions)
{
    kclient_t kc;
    kclient_connect(&kc, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&kc, topic, partitions, false)->error_code, 0);
    kclient_close(&kc);
}

/* Produces n messages "v<i>" with key "k<i>", header "h"="x<i>" and
 * timestamp TS0 + i*1000, to partition i % partitions (partitions > 0) or
 * to partition -1 (partitions 0), with codec. */
static void produce(const char *topic, int first, int n, int partitions, const char *codec)
{
    const char *keys[] = {"bootstrap.servers", "compression.type", "linger.ms"};
    const char *values[] = {tb.bootstrap, codec ? codec : "none", "20"};
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, 3, NULL, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    for (int i = first; i < first + n; i++) {
        char k[32], v[32], h[32];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        snprintf(h, sizeof(h), "x%d", i);
        samsa_header_t hdr = {"h", h, strlen(h)};
        ck_assert_int_eq(samsa_producer_send(p, topic, partitions ? i % partitions : -1, k,
                                             strlen(k), v, strlen(v), &hdr, 1,
                                             TS0 + (int64_t)i * 1000, 0, NULL),
                         0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    samsa_producer_free(p);
}

typedef struct events {
    int assigned_calls, revoked_calls;
    int assigned_now;
    int revoked_total; /* partitions revoked (or lost) over all calls */
    int commits, commit_errors;
} events_t;

static void on_rebalance(samsa_consumer_t *c, int assigned, const samsa_partition_list_t *l,
                         void *opaque)
{
    events_t *e = opaque;
    if (assigned) {
        e->assigned_calls++;
        e->assigned_now += (int)l->count;
    } else {
        e->revoked_calls++;
        e->assigned_now -= (int)l->count;
        e->revoked_total += (int)l->count;
    }
}

static void on_commit(samsa_consumer_t *c, samsa_err_t err, const samsa_partition_list_t *l,
                      void *opaque)
{
    events_t *e = opaque;
    e->commits++;
    if (err)
        e->commit_errors++;
}

static samsa_consumer_t *consumer(const char *group, events_t *ev, const char *const *extra)
{
    const char *keys[16] = {"bootstrap.servers", "auto.offset.reset", "heartbeat.interval.ms",
                            "session.timeout.ms"};
    const char *values[16] = {tb.bootstrap, "earliest", "100", "6000"};
    size_t n = 4;
    if (group) {
        keys[n] = "group.id";
        values[n++] = group;
    }
    for (size_t i = 0; extra && extra[i]; i += 2) {
        keys[n] = extra[i];
        values[n++] = extra[i + 1];
    }
    samsa_consumer_callbacks_t cb = {on_rebalance, on_commit, ev};
    char err[256];
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, n, &cb, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

/* The index i of a message "v<i>", checking key, header and timestamp. */
static int check_msg(const samsa_message_t *m)
{
    ck_assert_msg(m->err == 0, "error: %s", m->errstr);
    char v[32];
    ck_assert_uint_lt(m->value_len, sizeof(v));
    memcpy(v, m->value, m->value_len);
    v[m->value_len] = '\0';
    ck_assert(v[0] == 'v');
    int i = atoi(v + 1);
    char k[32], h[32];
    snprintf(k, sizeof(k), "k%d", i);
    snprintf(h, sizeof(h), "x%d", i);
    ck_assert_uint_eq(m->key_len, strlen(k));
    ck_assert(!memcmp(m->key, k, m->key_len));
    ck_assert_uint_eq(m->header_count, 1);
    ck_assert_str_eq(m->headers[0].name, "h");
    ck_assert_uint_eq(m->headers[0].value_len, strlen(h));
    ck_assert(!memcmp(m->headers[0].value, h, strlen(h)));
    ck_assert_int_eq(m->timestamp_ms, TS0 + (int64_t)i * 1000);
    ck_assert_int_eq(m->timestamp_type, SAMSA_TIMESTAMP_CREATE_TIME);
    return i;
}

/* Polls until a message comes (at most 30 s). */
static samsa_message_t *poll_one(samsa_consumer_t *c)
{
    for (int i = 0; i < 300; i++) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (m)
            return m;
    }
    ck_abort_msg("no message within 30 s");
    return NULL;
}

static void consume_all(samsa_consumer_t *c, int n, bool *seen)
{
    for (int got = 0; got < n; got++) {
        samsa_message_t *m = poll_one(c);
        int i = check_msg(m);
        ck_assert_msg(!seen[i], "message %d twice", i);
        seen[i] = true;
        samsa_message_free(m);
    }
}

START_TEST(subscribe_polls_every_message_with_keys_headers_timestamps)
{
    create_topic("sub", 3);
    produce("sub", 0, 30, 3, NULL);
    events_t ev = {0};
    samsa_consumer_t *c = consumer("g-sub", &ev, NULL);
    const char *topics[] = {"sub"};
    ck_assert_int_eq(samsa_consumer_subscribe(c, topics, 1), 0);
    bool seen[30] = {0};
    consume_all(c, 30, seen);
    ck_assert_int_eq(ev.assigned_calls, 1);
    ck_assert_int_eq(ev.assigned_now, 3);
    ck_assert_ptr_null(samsa_consumer_poll(c, 200));
    samsa_partition_list_t a;
    ck_assert_int_eq(samsa_consumer_assignment(c, &a), 0);
    ck_assert_uint_eq(a.count, 3);
    int64_t sum = 0;
    for (size_t i = 0; i < a.count; i++)
        sum += a.items[i].offset;
    ck_assert_int_eq(sum, 30);
    samsa_partition_list_free(&a);
    samsa_consumer_free(c);
}
END_TEST

START_TEST(regex_subscription_matches_topics)
{
    create_topic("rx-a", 1);
    create_topic("rx-b", 1);
    create_topic("other", 1);
    produce("rx-a", 0, 5, 1, NULL);
    produce("rx-b", 5, 5, 1, NULL);
    produce("other", 10, 5, 1, NULL);
    events_t ev = {0};
    samsa_consumer_t *c = consumer("g-rx", &ev, NULL);
    const char *topics[] = {"^rx-.*"};
    ck_assert_int_eq(samsa_consumer_subscribe(c, topics, 1), 0);
    bool seen[15] = {0};
    consume_all(c, 10, seen);
    for (int i = 0; i < 10; i++)
        ck_assert(seen[i]);
    ck_assert_ptr_null(samsa_consumer_poll(c, 300));
    samsa_consumer_free(c);
}
END_TEST

/* Polls consumers in turn, committing each message's offset synchronously,
 * until total messages arrived; a message arrives twice only when the
 * commit after its first delivery failed (a rebalance was under way). */
static void group_consume(samsa_consumer_t **cs, int nc, int total, bool *seen, int *per)
{
    static bool uncommitted[256];
    int got = 0;
    for (int round = 0; got < total && round < 3000; round++) {
        for (int k = 0; k < nc && got < total; k++) {
            samsa_message_t *m = samsa_consumer_poll(cs[k], 20);
            if (!m)
                continue;
            int i = check_msg(m);
            ck_assert_msg(!seen[i] || uncommitted[i], "message %d delivered twice", i);
            if (!seen[i])
                got++;
            seen[i] = true;
            per[k]++;
            samsa_topic_partition_t tp = {m->topic, m->partition, m->offset + 1, 0};
            samsa_partition_list_t l = {&tp, 1};
            samsa_err_t err = samsa_consumer_commit(cs[k], &l, 0);
            ck_assert_msg(err == 0 || err == SAMSA_ERR_REBALANCE_IN_PROGRESS ||
                              err == SAMSA_ERR_ILLEGAL_GENERATION ||
                              err == SAMSA_ERR_UNKNOWN_MEMBER_ID,
                          "commit: %s", samsa_err_name(err));
            uncommitted[i] = err != 0;
            samsa_message_free(m);
        }
    }
    ck_assert_int_eq(got, total);
}

/* Polls each consumer until every one holds want partitions. */
static void settle(samsa_consumer_t **cs, events_t *ev, int nc, int want)
{
    for (int i = 0; i < 1000; i++) {
        bool done = true;
        for (int k = 0; k < nc; k++)
            done = done && ev[k].assigned_now == want;
        if (done)
            break;
        for (int k = 0; k < nc; k++)
            ck_assert_ptr_null(samsa_consumer_poll(cs[k], 10));
    }
    for (int k = 0; k < nc; k++)
        ck_assert_int_eq(ev[k].assigned_now, want);
}

/* A group under test: its topic and group names are this process's own
 * (runs may share a broker). */
typedef struct test_group {
    char topic[64], group[64];
    const char *strategy;
    samsa_consumer_t *cs[3];
    events_t ev[3];
    bool seen[120];
    int per[3];
} test_group_t;

/* Member k subscribes to the group's topic, without auto-commit. */
static void member_join(test_group_t *g, int k)
{
    const char *extra[] = {"enable.auto.commit", "false", "partition.assignment.strategy",
                           g->strategy, NULL};
    const char *topics[] = {g->topic};
    g->cs[k] = consumer(g->group, &g->ev[k], extra);
    ck_assert_int_eq(samsa_consumer_subscribe(g->cs[k], topics, 1), 0);
}

/* A topic of six partitions holding messages 0..59 and two members of
 * the strategy that consume them all, committing each; the group then
 * settles on three partitions each. */
static void two_members(test_group_t *g, const char *name, const char *strategy)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->topic, sizeof(g->topic), "%s-%d", name, (int)getpid());
    snprintf(g->group, sizeof(g->group), "g-%s-%d", name, (int)getpid());
    g->strategy = strategy;
    create_topic(g->topic, 6);
    produce(g->topic, 0, 60, 6, NULL);
    member_join(g, 0);
    member_join(g, 1);
    group_consume(g->cs, 2, 60, g->seen, g->per);
    settle(g->cs, g->ev, 2, 3);
}

static void group_rebalance(const char *strategy)
{
    char name[64];
    snprintf(name, sizeof(name), "grp-%s", strategy);
    test_group_t g;
    two_members(&g, name, strategy);
    member_join(&g, 2);
    produce(g.topic, 60, 60, 6, NULL);
    group_consume(g.cs, 3, 60, g.seen, g.per);
    settle(g.cs, g.ev, 3, 2);
    for (int k = 0; k < 3; k++)
        samsa_consumer_free(g.cs[k]);
}

/* A member whose application does not poll while it has a partition to
 * give up (so its revocation waits) for longer than session.timeout.ms
 * stays in the group: it gives up that one partition only, and the group
 * settles on two partitions each. */
START_TEST(member_holding_revocation_past_session_timeout_stays)
{
    test_group_t g;
    two_members(&g, "held", "cooperative-sticky");
    int before = g.ev[0].revoked_total;
    member_join(&g, 2);
    /* cs[0] is not polled for 8 s; its session.timeout.ms is 6 s */
    for (int i = 0; i < 400; i++) {
        ck_assert_ptr_null(samsa_consumer_poll(g.cs[1], 10));
        ck_assert_ptr_null(samsa_consumer_poll(g.cs[2], 10));
    }
    settle(g.cs, g.ev, 3, 2);
    ck_assert_int_eq(g.ev[0].revoked_total - before, 1);
    for (int k = 0; k < 3; k++)
        samsa_consumer_free(g.cs[k]);
}
END_TEST

START_TEST(group_splits_partitions_and_rebalances_range)
{
    group_rebalance("range");
}
END_TEST

START_TEST(group_splits_partitions_and_rebalances_roundrobin)
{
    group_rebalance("roundrobin");
}
END_TEST

START_TEST(group_splits_partitions_and_rebalances_cooperative_sticky)
{
    group_rebalance("cooperative-sticky");
}
END_TEST

static int64_t position(samsa_consumer_t *c, const char *topic, int32_t partition)
{
    samsa_topic_partition_t tp = {topic, partition, 0, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_position(c, &l), 0);
    ck_assert_int_eq(tp.err, 0);
    return tp.offset;
}

static int64_t committed(samsa_consumer_t *c, const char *topic, int32_t partition)
{
    samsa_topic_partition_t tp = {topic, partition, 0, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_committed(c, &l, 10000), 0);
    ck_assert_int_eq(tp.err, 0);
    return tp.offset;
}

START_TEST(manual_assign_and_seek)
{
    create_topic("seek", 1);
    produce("seek", 0, 10, 1, NULL);
    samsa_consumer_t *c = consumer(NULL, NULL, NULL);
    samsa_topic_partition_t tp = {"seek", 0, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    for (int i = 0; i < 10; i++) {
        samsa_message_t *m = poll_one(c);
        ck_assert_int_eq(check_msg(m), i);
        ck_assert_int_eq(m->offset, i);
        samsa_message_free(m);
    }
    ck_assert_int_eq(position(c, "seek", 0), 10);
    ck_assert_int_eq(samsa_consumer_seek(c, "seek", 0, 5), 0);
    samsa_message_t *m = poll_one(c);
    ck_assert_int_eq(m->offset, 5);
    samsa_message_free(m);
    ck_assert_int_eq(samsa_consumer_seek(c, "seek", 0, SAMSA_OFFSET_BEGINNING), 0);
    m = poll_one(c);
    ck_assert_int_eq(m->offset, 0);
    samsa_message_free(m);
    ck_assert_int_eq(samsa_consumer_seek_timestamp(c, "seek", 0, TS0 + 3000), 0);
    m = poll_one(c);
    ck_assert_int_eq(m->offset, 3);
    samsa_message_free(m);
    ck_assert_int_eq(samsa_consumer_seek(c, "seek", 0, SAMSA_OFFSET_END), 0);
    /* The end is looked up after seek returns (by Kafka behind the fetch it
     * holds for fetch.max.wait.ms): wait until it is known, or a message
     * produced meanwhile could be counted in it. */
    for (int i = 0; i < 300 && position(c, "seek", 0) < 0; i++)
        ck_assert_ptr_null(samsa_consumer_poll(c, 100));
    ck_assert_int_eq(position(c, "seek", 0), 10);
    produce("seek", 10, 1, 1, NULL);
    m = poll_one(c);
    ck_assert_int_eq(m->offset, 10);
    ck_assert_int_eq(check_msg(m), 10);
    samsa_message_free(m);
    ck_assert_int_eq(samsa_consumer_seek(c, "nope", 0, 1), SAMSA_ERR__STATE);
    ck_assert_int_eq(samsa_consumer_commit(c, NULL, 0), SAMSA_ERR__INVALID_CONFIG);
    samsa_consumer_free(c);
}
END_TEST

START_TEST(commit_sync_async_committed_position)
{
    create_topic("commit", 1);
    produce("commit", 0, 10, 1, NULL);
    events_t ev = {0};
    const char *extra[] = {"enable.auto.commit", "false", NULL};
    samsa_consumer_t *c = consumer("g-commit", &ev, extra);
    samsa_topic_partition_t tp = {"commit", 0, -1, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    for (int i = 0; i < 5; i++)
        samsa_message_free(poll_one(c));
    ck_assert_int_eq(position(c, "commit", 0), 5);
    ck_assert_int_eq(committed(c, "commit", 0), -1);
    ck_assert_int_eq(samsa_consumer_commit(c, NULL, 0), 0);
    ck_assert_int_eq(ev.commits, 1);
    ck_assert_int_eq(committed(c, "commit", 0), 5);
    samsa_topic_partition_t at3 = {"commit", 0, 3, 0};
    samsa_partition_list_t l3 = {&at3, 1};
    ck_assert_int_eq(samsa_consumer_commit(c, &l3, 1), 0);
    for (int i = 0; i < 300 && ev.commits < 2; i++) {
        samsa_message_t *m = samsa_consumer_poll(c, 10);
        samsa_message_free(m);
    }
    ck_assert_int_eq(ev.commits, 2);
    ck_assert_int_eq(ev.commit_errors, 0);
    ck_assert_int_eq(committed(c, "commit", 0), 3);
    samsa_consumer_free(c);
}
END_TEST

START_TEST(auto_commit_and_restart_resume_from_committed)
{
    create_topic("auto", 1);
    produce("auto", 0, 20, 1, NULL);
    events_t ev = {0};
    const char *extra[] = {"auto.commit.interval.ms", "100", NULL};
    samsa_consumer_t *c = consumer("g-auto", &ev, extra);
    const char *topics[] = {"auto"};
    ck_assert_int_eq(samsa_consumer_subscribe(c, topics, 1), 0);
    for (int i = 0; i < 7; i++) {
        samsa_message_t *m = poll_one(c);
        ck_assert_int_eq(m->offset, i);
        samsa_message_free(m);
    }
    samsa_topic_partition_t tp = {"auto", 0, 0, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_pause(c, &l), 0);
    int64_t got = -1;
    for (int i = 0; i < 100 && got != 7; i++) {
        ck_assert_ptr_null(samsa_consumer_poll(c, 50));
        got = committed(c, "auto", 0);
    }
    ck_assert_int_eq(got, 7);
    samsa_consumer_free(c);
    c = consumer("g-auto", &ev, extra);
    ck_assert_int_eq(samsa_consumer_subscribe(c, topics, 1), 0);
    samsa_message_t *m = poll_one(c);
    ck_assert_int_eq(m->offset, 7);
    samsa_message_free(m);
    samsa_consumer_free(c); /* commits 8 on close */
    c = consumer("g-auto", &ev, extra);
    ck_assert_int_eq(samsa_consumer_subscribe(c, topics, 1), 0);
    m = poll_one(c);
    ck_assert_int_eq(m->offset, 8);
    samsa_message_free(m);
    samsa_consumer_free(c);
}
END_TEST

START_TEST(pause_holds_back_and_resume_releases)
{
    create_topic("pause", 1);
    produce("pause", 0, 3, 1, NULL);
    samsa_consumer_t *c = consumer(NULL, NULL, NULL);
    samsa_topic_partition_t tp = {"pause", 0, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    samsa_message_t *m = poll_one(c);
    ck_assert_int_eq(m->offset, 0);
    samsa_message_free(m);
    ck_assert_int_eq(samsa_consumer_pause(c, &l), 0);
    ck_assert_int_eq(tp.err, 0);
    ck_assert_ptr_null(samsa_consumer_poll(c, 300));
    ck_assert_int_eq(samsa_consumer_resume(c, &l), 0);
    m = poll_one(c);
    ck_assert_int_eq(m->offset, 1);
    samsa_message_free(m);
    samsa_consumer_free(c);
}
END_TEST

START_TEST(every_compression_codec_reads_back)
{
    const char *codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    create_topic("codecs", 1);
    for (int k = 0; k < 4; k++)
        produce("codecs", k * 25, 25, 1, codecs[k]);
    samsa_consumer_t *c = consumer(NULL, NULL, NULL);
    samsa_topic_partition_t tp = {"codecs", 0, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    for (int i = 0; i < 100; i++) {
        samsa_message_t *m = poll_one(c);
        ck_assert_int_eq(check_msg(m), i);
        ck_assert_int_eq(m->offset, i);
        samsa_message_free(m);
        if (i == 50) { /* a fetch starting inside a compressed batch skips its earlier records */
            ck_assert_int_eq(samsa_consumer_seek(c, "codecs", 0, 52), 0);
            i = 51;
        }
    }
    samsa_consumer_free(c);
}
END_TEST

START_TEST(out_of_range_with_reset_none_is_an_error_naming_the_partition)
{
    create_topic("oor", 1);
    produce("oor", 0, 2, 1, NULL);
    const char *extra[] = {"auto.offset.reset", "none", NULL};
    samsa_consumer_t *c = consumer(NULL, NULL, extra);
    samsa_topic_partition_t tp = {"oor", 0, 100, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    samsa_message_t *m = poll_one(c);
    ck_assert_int_eq(m->err, SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_str_eq(m->topic, "oor");
    ck_assert_int_eq(m->partition, 0);
    ck_assert_ptr_nonnull(strstr(m->errstr, "oor [0]"));
    ck_assert_ptr_nonnull(strstr(m->errstr, tb.bootstrap));
    samsa_message_free(m);
    samsa_consumer_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consumer");
    if (getenv("SAMSA_TEST_KAFKA_BOOTSTRAP")) {
        TCase *tk = tcase_create("kafka");
        tcase_add_checked_fixture(tk, setup_kafka, teardown_kafka);
        tcase_set_timeout(tk, 120);
        tcase_add_test(tk, subscribe_polls_every_message_with_keys_headers_timestamps);
        tcase_add_test(tk, manual_assign_and_seek);
        tcase_add_test(tk, group_splits_partitions_and_rebalances_range);
        tcase_add_test(tk, group_splits_partitions_and_rebalances_cooperative_sticky);
        tcase_add_test(tk, member_holding_revocation_past_session_timeout_stays);
        suite_add_tcase(s, tk);
        return kclient_run(s);
    }
    TCase *tc = tcase_create("embedded broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, subscribe_polls_every_message_with_keys_headers_timestamps);
    tcase_add_test(tc, regex_subscription_matches_topics);
    tcase_add_test(tc, group_splits_partitions_and_rebalances_range);
    tcase_add_test(tc, group_splits_partitions_and_rebalances_roundrobin);
    tcase_add_test(tc, group_splits_partitions_and_rebalances_cooperative_sticky);
    tcase_add_test(tc, member_holding_revocation_past_session_timeout_stays);
    tcase_add_test(tc, manual_assign_and_seek);
    tcase_add_test(tc, commit_sync_async_committed_position);
    tcase_add_test(tc, auto_commit_and_restart_resume_from_committed);
    tcase_add_test(tc, pause_holds_back_and_resume_releases);
    tcase_add_test(tc, every_compression_codec_reads_back);
    tcase_add_test(tc, out_of_range_with_reset_none_is_an_error_naming_the_partition);
    suite_add_tcase(s, tc);
    return kclient_run(s);
}
