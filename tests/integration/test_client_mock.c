/*
 * Fault injection for samsa's client (producer, consumer, group) against
 * librdkafka's mock cluster (rdkafka_mock.h): brokers going down and up,
 * Produce answered with NOT_LEADER_OR_FOLLOWER and REQUEST_TIMED_OUT,
 * answers slower than request.timeout.ms (the broker wrote, the client
 * retries), leader changes, coordinator errors and coordinator moves on
 * FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit and
 * OffsetFetch.
 *
 * Every message carries its sequence number in its value. Whatever the
 * faults, each message the producer acknowledged must be in the log (read
 * back with a librdkafka consumer, independent of samsa); with idempotence
 * on, none may be there twice and each partition keeps the order of
 * production. The mock checks the sequence numbers of transactional
 * producers only, so the read-back leaves out the resent batches Kafka
 * would have answered with DUPLICATE_SEQUENCE_NUMBER (see kafka_drops).
 * Consumers must deliver each partition's messages in order with no gap
 * and, past the committed offsets, no repetition.
 *
 * The mock's error answers to FindCoordinator, JoinGroup and SyncGroup put
 * nulls in fields that cannot be null; samsa's codec rejects them, so those
 * faults reach the client as a dropped connection, which it retries too.
 */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kclient.h"
#include "samsa.h"

#define API_PRODUCE 0
#define API_FETCH 1
#define API_LIST_OFFSETS 2
#define API_METADATA 3
#define API_OFFSET_COMMIT 8
#define API_OFFSET_FETCH 9
#define API_FIND_COORDINATOR 10
#define API_JOIN_GROUP 11
#define API_HEARTBEAT 12
#define API_SYNC_GROUP 14
#define API_INIT_PRODUCER_ID 22

#define MAX_MSGS 20000

typedef struct mock {
    rd_kafka_t *rk; /* the handle the mock cluster needs; never used otherwise */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
} mock_t;

static mock_t mk;

static void setup(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)), RD_KAFKA_CONF_OK);
    mk.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ck_assert_msg(mk.rk != NULL, "%s", err);
    mk.mc = rd_kafka_mock_cluster_new(mk.rk, 3);
    ck_assert_ptr_nonnull(mk.mc);
    mk.bootstrap = rd_kafka_mock_cluster_bootstraps(mk.mc);
}

static void teardown(void)
{
    rd_kafka_mock_cluster_destroy(mk.mc);
    rd_kafka_destroy(mk.rk);
    memset(&mk, 0, sizeof(mk));
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The sequence number of a value "seq-%08d" (not NUL-terminated). */
static int seq_of(const void *value, size_t len)
{
    ck_assert_int_eq(len, 12);
    int seq = 0;
    for (size_t i = 4; i < 12; i++)
        seq = seq * 10 + (((const char *)value)[i] - '0');
    ck_assert_int_lt(seq, MAX_MSGS);
    return seq;
}

/* ---- producing ------------------------------------------------------- */

typedef struct delivered {
    int ok, failed;
    bool acked[MAX_MSGS];
    int32_t partition[MAX_MSGS];
    samsa_err_t first_err;
    char first_errstr[256];
} delivered_t;

static void on_delivery(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    delivered_t *d = opaque;
    int seq = seq_of(r->value, r->value_len);
    if (r->err) {
        if (!d->failed++) {
            d->first_err = r->err;
            snprintf(d->first_errstr, sizeof(d->first_errstr), "%s", r->errstr);
        }
        return;
    }
    ck_assert_msg(!d->acked[seq], "message %d reported twice", seq);
    d->acked[seq] = true;
    d->partition[seq] = r->partition;
    d->ok++;
}

/* What happens at a point of production: step is 1 after a third of the
 * messages, 2 after two thirds. */
typedef void fault_fn(int step);

/* The producer produce_seq drives, for faults that need it. */
static samsa_producer_t *producing;

/* Produces n messages "seq-%08d" (i) to topic, i % partitions each, with
 * idempotence on or off, running fault at the thirds and pausing briefly
 * every 50 messages so the faults meet traffic. Extra properties are
 * NULL-terminated key, value pairs. */
static void produce_seq(delivered_t *d, const char *topic, int n, int partitions, bool idempotent,
                        fault_fn *fault, const char *const *extra)
{
    const char *keys[32] = {"bootstrap.servers", "enable.idempotence", "acks", "linger.ms",
                            "batch.size", "retry.backoff.ms", "request.timeout.ms",
                            "delivery.timeout.ms", "reconnect.backoff.ms",
                            "reconnect.backoff.max.ms"};
    const char *values[32] = {mk.bootstrap, idempotent ? "true" : "false", "all", "2", "1024", "50",
                              "5000", "60000", "20", "200"};
    size_t nk = 10;
    for (size_t i = 0; extra && extra[i]; i += 2, nk++) {
        keys[nk] = extra[i];
        values[nk] = extra[i + 1];
    }
    memset(d, 0, sizeof(*d));
    samsa_producer_callbacks_t cb = {on_delivery, NULL, d};
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, nk, &cb, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    producing = p;
    for (int i = 0; i < n; i++) {
        if (fault && (i == n / 3 || i == 2 * n / 3))
            fault(i == n / 3 ? 1 : 2);
        char value[32];
        snprintf(value, sizeof(value), "seq-%08d", i);
        ck_assert_int_eq(samsa_producer_send(p, topic, i % partitions, NULL, 0, value,
                                             strlen(value), NULL, 0, 0, 0, NULL),
                         SAMSA_ERR_NONE);
        if (i % 50 == 49) {
            samsa_producer_poll(p, 0);
            sleep_ms(2);
        }
    }
    samsa_err_t fe = samsa_producer_flush(p, 60000);
    producing = NULL;
    samsa_producer_free(p);
    ck_assert_msg(fe == SAMSA_ERR_NONE, "flush: %s", samsa_err_name(fe));
    ck_assert_int_eq(d->ok + d->failed, n);
}

/* ---- reading back with librdkafka ----------------------------------- */

#define MAX_PARTS 4
#define MAX_LOG (2 * MAX_MSGS) /* offsets a partition's log may reach */
#define MAX_BATCHES 4096

typedef struct readback {
    int count[MAX_MSGS];
    int total;
    int out_of_order;                 /* a partition's sequence went backwards */
    int drops;                        /* batches left out as Kafka's duplicates */
    bool dropped[MAX_PARTS][MAX_LOG]; /* offsets Kafka would not have written */
} readback_t;

/* The identity Kafka checks a producer's batch by. */
typedef struct batch_id {
    int64_t producer_id;
    int16_t epoch;
    int32_t base_sequence, record_count;
} batch_id_t;

/* Fetch (v11, the mock's newest) of partition from offset on c; NULL when
 * the broker at the other end does not lead it. */
static fetch_response_partition_data_t *mock_fetch(kclient_t *c, const char *topic,
                                                   int32_t partition, int64_t offset)
{
    fetch_response_partition_data_t *pd = kclient_fetch_version(c, 11, topic, partition, offset);
    if (pd->error_code == SAMSA_ERR_NOT_LEADER_OR_FOLLOWER)
        return NULL;
    ck_assert_int_eq(pd->error_code, 0);
    return pd;
}

/* librdkafka's mock cluster writes every batch an idempotent producer
 * sends: it checks sequence numbers for transactional producers only.
 * When a broker goes down after writing a batch but before its answer
 * left, the producer resends the batch and the mock writes it again.
 * Kafka keeps the last five batches of each producer and partition and
 * answers such a resend with DUPLICATE_SEQUENCE_NUMBER, writing nothing.
 *
 * This walks partition's log batch by batch (the mock's Fetch returns one
 * stored batch) and marks in rb->dropped the offsets of every batch with
 * the producer id, epoch, first sequence and record count of one of the
 * five before it from the same producer: what Kafka would have dropped.
 * A resend under a new producer id or epoch is not dropped. Returns how
 * many batches were. */
static int kafka_drops(readback_t *rb, const char *topic, int32_t partition)
{
    char list[512];
    snprintf(list, sizeof(list), "%s", mk.bootstrap);
    kclient_t c;
    fetch_response_partition_data_t *pd = NULL;
    char *save = NULL;
    for (char *addr = strtok_r(list, ",", &save); addr && !pd;
         addr = strtok_r(NULL, ",", &save)) {
        kclient_connect(&c, addr);
        if (!(pd = mock_fetch(&c, topic, partition, 0)))
            kclient_close(&c);
    }
    ck_assert_msg(pd != NULL, "no broker leads %s [%d]", topic, (int)partition);
    static batch_id_t kept[MAX_BATCHES];
    int nkept = 0, drops = 0;
    int64_t offset = 0;
    while (offset < pd->high_watermark) {
        batch_header_t h;
        ck_assert_int_eq(batch_header_parse(pd->records.data, (size_t)pd->records.len, &h), 0);
        ck_assert_int_le(h.base_offset, offset);
        int64_t last = h.base_offset + h.last_offset_delta;
        ck_assert_int_lt(last, MAX_LOG);
        batch_id_t id = {h.producer_id, h.producer_epoch, h.base_sequence, h.record_count};
        bool dup = false;
        for (int i = nkept - 1, seen = 0; i >= 0 && seen < 5 && id.producer_id >= 0; i--) {
            if (kept[i].producer_id != id.producer_id)
                continue;
            seen++;
            dup = dup || (kept[i].epoch == id.epoch && kept[i].base_sequence == id.base_sequence &&
                          kept[i].record_count == id.record_count);
        }
        if (dup) {
            drops++;
            for (int64_t o = h.base_offset; o <= last; o++)
                rb->dropped[partition][o] = true;
        } else {
            ck_assert_int_lt(nkept, MAX_BATCHES);
            kept[nkept++] = id;
        }
        offset = last + 1;
        if (offset < pd->high_watermark)
            pd = mock_fetch(&c, topic, partition, offset);
    }
    kclient_close(&c);
    return drops;
}

/* Reads every partition of topic from the beginning to its end with a
 * librdkafka consumer; counts each sequence and order violations. */
static void read_back(readback_t *rb, const char *topic, int partitions, bool idempotent)
{
    memset(rb, 0, sizeof(*rb));
    ck_assert_int_le(partitions, MAX_PARTS);
    for (int p = 0; p < partitions && idempotent; p++)
        rb->drops += kafka_drops(rb, topic, p);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", mk.bootstrap, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "readback", err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    ck_assert_msg(rk != NULL, "%s", err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int i = 0; i < partitions; i++)
        rd_kafka_topic_partition_list_add(l, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int last[64];
    for (int i = 0; i < 64; i++)
        last[i] = -1;
    int eofs = 0;
    time_t give_up = time(NULL) + 60;
    while (eofs < partitions) {
        ck_assert_msg(time(NULL) < give_up, "read back did not reach the end");
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else {
            ck_assert_msg(m->err == 0, "read back: %s", rd_kafka_message_errstr(m));
            ck_assert_int_lt(m->offset, MAX_LOG);
            if (rb->dropped[m->partition][m->offset]) {
                rd_kafka_message_destroy(m);
                continue;
            }
            int seq = seq_of(m->payload, m->len);
            rb->count[seq]++;
            rb->total++;
            if (seq <= last[m->partition])
                rb->out_of_order++;
            last[m->partition] = seq;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* The checks every producer test ends with: nothing acknowledged is
 * missing; with idempotence nothing is there twice, once the resends Kafka
 * would have dropped are left out, and order is kept. */
static int check_log(const char *topic, int n, int partitions, bool idempotent,
                     const delivered_t *d)
{
    readback_t *rb = calloc(1, sizeof(*rb));
    ck_assert_ptr_nonnull(rb);
    read_back(rb, topic, partitions, idempotent);
    int lost = 0, dups = 0;
    for (int i = 0; i < n; i++) {
        if (d->acked[i] && rb->count[i] == 0)
            lost++;
        if (rb->count[i] > 1)
            dups++;
    }
    ck_assert_msg(lost == 0, "%d acknowledged messages are not in the log", lost);
    if (idempotent) {
        ck_assert_msg(dups == 0, "%d messages are in the log twice", dups);
        ck_assert_msg(rb->out_of_order == 0, "%d messages out of order", rb->out_of_order);
    }
    int drops = rb->drops;
    free(rb);
    return drops;
}

static void create_topic(const char *topic, int partitions)
{
    ck_assert_int_eq(rd_kafka_mock_topic_create(mk.mc, topic, partitions, 3), 0);
}

/* ---- producer faults -------------------------------------------------- */

/* Creates topic with partitions led by broker 1 (all three brokers lead
 * some when spread is set), produces n messages through fault, and checks
 * that every one was acknowledged and the log holds them as it should.
 * Returns how many resent batches were left out as Kafka's duplicates. */
static int produce_through(const char *topic, int n, int partitions, bool spread,
                           bool idempotent, fault_fn *fault, const char *const *extra)
{
    static delivered_t d;
    create_topic(topic, partitions);
    for (int p = 0; p < partitions && !spread; p++)
        rd_kafka_mock_partition_set_leader(mk.mc, topic, p, 1);
    produce_seq(&d, topic, n, partitions, idempotent, fault, extra);
    ck_assert_msg(d.ok == n, "%d failed: %s", d.failed, d.first_errstr);
    return check_log(topic, n, partitions, idempotent, &d);
}

START_TEST(produce_and_read_back_without_faults)
{
    produce_through("plain", 4000, 4, true, true, NULL, NULL);
}
END_TEST

static void leader_1_down_then_up(int step)
{
    if (step == 1)
        rd_kafka_mock_broker_set_down(mk.mc, 1);
    else
        rd_kafka_mock_broker_set_up(mk.mc, 1);
}

static void every_broker_down_then_up(int step)
{
    if (step == 1)
        rd_kafka_mock_broker_set_down(mk.mc, -1);
    else
        rd_kafka_mock_broker_set_up(mk.mc, -1);
}

START_TEST(broker_down_and_up_loses_and_duplicates_nothing)
{
    produce_through("down", 3000, 2, false, true, leader_1_down_then_up, NULL);
}
END_TEST

START_TEST(every_broker_down_and_up_loses_and_duplicates_nothing)
{
    produce_through("alldown", 3000, 3, true, true, every_broker_down_then_up, NULL);
}
END_TEST

static void produce_errors(int step)
{
    if (step == 1)
        rd_kafka_mock_push_request_errors(
            mk.mc, API_PRODUCE, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    else
        rd_kafka_mock_push_request_errors(mk.mc, API_PRODUCE, 3,
                                          RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                          RD_KAFKA_RESP_ERR__TRANSPORT,
                                          RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
}

/* One request in flight per connection: the mock writes a batch that comes
 * after a sequence gap (a broker refuses it with OUT_OF_ORDER_SEQUENCE_NUMBER
 * and the client resends it after the missing one), so with several in
 * flight the order after an injected error would be the mock's. */
START_TEST(produce_errors_are_retried_idempotent)
{
    const char *extra[] = {"max.in.flight.requests.per.connection", "1", NULL};
    produce_through("perr", 3000, 2, true, true, produce_errors, extra);
}
END_TEST

START_TEST(produce_errors_are_retried_without_idempotence)
{
    const char *extra[] = {"max.in.flight.requests.per.connection", "1", NULL};
    produce_through("perr0", 3000, 2, true, false, produce_errors, extra);
}
END_TEST

/* Answers come after request.timeout.ms: the broker wrote the batches, the
 * client gives up on the request and sends them again. The first third is
 * delivered before, so the connection is up when the answers slow down;
 * they stay late until 1.2 s after the second third was handed over, so
 * the requests sent meanwhile time out. */
static void slow_leader(int step)
{
    if (step == 1)
        ck_assert_int_eq(samsa_producer_flush(producing, 30000), SAMSA_ERR_NONE);
    else
        sleep_ms(1200);
    rd_kafka_mock_broker_set_rtt(mk.mc, 1, step == 1 ? 1500 : 0);
}

START_TEST(timed_out_requests_are_not_duplicated_with_idempotence)
{
    const char *extra[] = {"request.timeout.ms", "500", NULL};
    int drops = produce_through("slow", 2000, 1, false, true, slow_leader, extra);
    ck_assert_msg(drops > 0, "no written batch was sent again: no request timed out");
}
END_TEST

static void move_leaders(int step)
{
    for (int p = 0; p < 3; p++)
        rd_kafka_mock_partition_set_leader(mk.mc, "moving", p, step == 1 ? 2 : 3);
}

START_TEST(leader_change_loses_and_duplicates_nothing)
{
    produce_through("moving", 3000, 3, false, true, move_leaders, NULL);
}
END_TEST

START_TEST(producer_id_errors_are_retried)
{
    rd_kafka_mock_push_request_errors(mk.mc, API_INIT_PRODUCER_ID, 3,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    /* The first Produce finds the producer unknown. A broker without state
     * for a producer takes any first sequence, so batches sent behind a
     * lost first one would be written before it: the client sends a
     * partition's first batch alone. */
    rd_kafka_mock_push_request_errors(mk.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
    produce_through("pid", 1500, 1, true, true, NULL, NULL);
}
END_TEST

/* ---- consumer faults -------------------------------------------------- */

/* Consumes with c until total messages of topic arrived (or 60 s went by),
 * checking that each partition's sequence numbers follow each other: start
 * at first[p] (updated) and step by partitions. fault runs at the thirds. */
static int consume_in_order(samsa_consumer_t *c, int partitions, int *next, int total,
                            fault_fn *fault)
{
    int got = 0;
    time_t give_up = time(NULL) + 60;
    while (got < total && time(NULL) < give_up) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err) {
            /* Transient errors may be reported; the consumer carries on. */
            samsa_message_free(m);
            continue;
        }
        int seq = seq_of(m->value, m->value_len);
        ck_assert_int_lt(m->partition, partitions);
        ck_assert_msg(seq == next[m->partition], "partition %d: got %d, expected %d",
                      (int)m->partition, seq, next[m->partition]);
        ck_assert_int_eq(seq % partitions, m->partition);
        next[m->partition] += partitions;
        got++;
        samsa_message_free(m);
        if (fault && (got == total / 3 || got == 2 * total / 3))
            fault(got == total / 3 ? 1 : 2);
    }
    return got;
}

static samsa_consumer_t *new_consumer(const char *group, const char *const *extra)
{
    const char *keys[24] = {"bootstrap.servers", "auto.offset.reset", "enable.auto.commit",
                            "retry.backoff.ms", "reconnect.backoff.ms", "reconnect.backoff.max.ms",
                            "request.timeout.ms", "session.timeout.ms", "heartbeat.interval.ms",
                            "fetch.max.wait.ms", "max.partition.fetch.bytes",
                            "queued.max.messages.kbytes"};
    const char *values[24] = {mk.bootstrap, "earliest", "false", "50", "20", "200", "3000",
                              "6000", "500", "100", "4096", "8"};
    size_t n = 12;
    if (group) {
        keys[n] = "group.id";
        values[n++] = group;
    }
    for (size_t i = 0; extra && extra[i]; i += 2, n++) {
        keys[n] = extra[i];
        values[n] = extra[i + 1];
    }
    char err[256];
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, n, NULL, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static void fill(const char *topic, int n, int partitions)
{
    static delivered_t d;
    create_topic(topic, partitions);
    produce_seq(&d, topic, n, partitions, true, NULL, NULL);
    ck_assert_int_eq(d.ok, n);
}

static void assign_all(samsa_consumer_t *c, const char *topic, int partitions)
{
    samsa_topic_partition_t tps[8];
    for (int i = 0; i < partitions; i++)
        tps[i] = (samsa_topic_partition_t){topic, i, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {tps, (size_t)partitions};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), SAMSA_ERR_NONE);
}

/* Fills topic (2 partitions led by broker 1) with 3000 messages and reads
 * them with an assigned consumer while fault strikes at the thirds. */
static void consume_through(const char *topic, fault_fn *fault)
{
    fill(topic, 3000, 2);
    for (int p = 0; p < 2; p++)
        rd_kafka_mock_partition_set_leader(mk.mc, topic, p, 1);
    samsa_consumer_t *c = new_consumer(NULL, NULL);
    assign_all(c, topic, 2);
    int next[2] = {0, 1};
    ck_assert_int_eq(consume_in_order(c, 2, next, 3000, fault), 3000);
    samsa_consumer_free(c);
}

static void fetch_leaders_move(int step)
{
    for (int p = 0; p < 2; p++)
        rd_kafka_mock_partition_set_leader(mk.mc, "cmove", p, step == 1 ? 2 : 3);
}

START_TEST(consumer_follows_leader_changes)
{
    consume_through("cmove", fetch_leaders_move);
}
END_TEST

static void fetch_leader_down_up(int step)
{
    rd_kafka_mock_broker_set_down(mk.mc, 1);
    sleep_ms(500);
    rd_kafka_mock_broker_set_up(mk.mc, 1);
}

START_TEST(consumer_survives_leader_down_and_up)
{
    consume_through("cdown", fetch_leader_down_up);
}
END_TEST

static void fetch_errors(int step)
{
    rd_kafka_mock_push_request_errors(mk.mc, API_FETCH, 4,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR__TRANSPORT,
                                      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
}

START_TEST(consumer_retries_fetch_errors)
{
    consume_through("cferr", fetch_errors);
}
END_TEST

static void coordinator_errors(int step)
{
    if (step == 1) {
        rd_kafka_mock_push_request_errors(mk.mc, API_OFFSET_COMMIT, 3,
                                          RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                          RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                          RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
        rd_kafka_mock_push_request_errors(mk.mc, API_HEARTBEAT, 2,
                                          RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                          RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
        rd_kafka_mock_push_request_errors(mk.mc, API_FIND_COORDINATOR, 2,
                                          RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                          RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    } else {
        rd_kafka_mock_coordinator_set(mk.mc, "group", "cg", 3);
    }
}

/* A group member reads half, committing after every message it counts as
 * done while the coordinator fails and moves; a second member of the same
 * group then starts exactly at the committed offsets and reads the rest. */
START_TEST(group_commits_survive_coordinator_errors)
{
    fill("cgroup", 2000, 2);
    rd_kafka_mock_coordinator_set(mk.mc, "group", "cg", 1);
    rd_kafka_mock_push_request_errors(mk.mc, API_FIND_COORDINATOR, 2,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    rd_kafka_mock_push_request_errors(mk.mc, API_JOIN_GROUP, 2,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    rd_kafka_mock_push_request_errors(mk.mc, API_SYNC_GROUP, 1,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    rd_kafka_mock_push_request_errors(mk.mc, API_OFFSET_FETCH, 2,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    samsa_consumer_t *c = new_consumer("cg", NULL);
    const char *topic = "cgroup";
    ck_assert_int_eq(samsa_consumer_subscribe(c, &topic, 1), SAMSA_ERR_NONE);
    int next[2] = {0, 1};
    int got = 0;
    for (int round = 0; round < 10; round++) {
        got += consume_in_order(c, 2, next, 100, NULL);
        if (round == 3 || round == 6)
            coordinator_errors(round == 3 ? 1 : 2);
        samsa_err_t e = samsa_consumer_commit(c, NULL, 0);
        ck_assert_msg(e == SAMSA_ERR_NONE, "commit after %d messages: %s", got, samsa_err_name(e));
    }
    ck_assert_int_eq(got, 1000);
    samsa_consumer_close(c);
    samsa_consumer_free(c);

    rd_kafka_mock_push_request_errors(mk.mc, API_OFFSET_FETCH, 1,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    c = new_consumer("cg", NULL);
    ck_assert_int_eq(samsa_consumer_subscribe(c, &topic, 1), SAMSA_ERR_NONE);
    got = consume_in_order(c, 2, next, 1000, NULL);
    ck_assert_int_eq(got, 1000);
    samsa_message_t *m = samsa_consumer_poll(c, 300);
    ck_assert_msg(m == NULL || m->err, "a message past the end");
    samsa_message_free(m);
    samsa_consumer_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_mock");
    TCase *tp = tcase_create("producer");
    tcase_add_checked_fixture(tp, setup, teardown);
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, produce_and_read_back_without_faults);
    tcase_add_test(tp, broker_down_and_up_loses_and_duplicates_nothing);
    tcase_add_test(tp, every_broker_down_and_up_loses_and_duplicates_nothing);
    tcase_add_test(tp, produce_errors_are_retried_idempotent);
    tcase_add_test(tp, produce_errors_are_retried_without_idempotence);
    tcase_add_test(tp, timed_out_requests_are_not_duplicated_with_idempotence);
    tcase_add_test(tp, leader_change_loses_and_duplicates_nothing);
    tcase_add_test(tp, producer_id_errors_are_retried);
    suite_add_tcase(s, tp);
    TCase *tc = tcase_create("consumer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, consumer_follows_leader_changes);
    tcase_add_test(tc, consumer_survives_leader_down_and_up);
    tcase_add_test(tc, consumer_retries_fetch_errors);
    tcase_add_test(tc, group_commits_survive_coordinator_errors);
    suite_add_tcase(s, tc);
    return kclient_run(s);
}
