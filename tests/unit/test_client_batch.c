/*
 * Unit tests for the client's configuration (lib/client/config.c, and the
 * bootstrap.servers entries of lib/client/cluster.c) and the
 * producer's batching logic (lib/client/producer_batch.c): property names,
 * ranges and error messages; when a partition's messages become a batch
 * (batch.size, linger.ms, flush); what a batch holds and how it is stamped;
 * which batch may be sent next while others are in flight or retried; and
 * renumbering after a new producer id.
 */
#include "client/cluster.h"
#include "client/config.h"
#include "client/producer_int.h"
#include "proto/batch.h"
#include "proto/compress.h"

#include <check.h>

#include "unit.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration --------------------------------------------------- */

START_TEST(config_defaults_are_the_java_producers_with_linger_5)
{
    client_config_t c;
    client_config_init(&c);
    ck_assert_int_eq(c.acks, -1);
    ck_assert_int_eq(c.linger_ms, 5);
    ck_assert_int_eq(c.batch_size_bytes, 16384);
    ck_assert_int_eq(c.max_in_flight, 5);
    ck_assert_int_eq(c.max_request_bytes, 1048576);
    ck_assert_int_eq(c.delivery_timeout_ms, 120000);
    ck_assert_int_eq(c.retry_backoff_ms, 100);
    ck_assert(c.enable_idempotence);
    ck_assert_int_eq(c.compression_codec, COMPRESS_NONE);
    ck_assert_int_eq(c.queue_full_behavior, CLIENT_QUEUE_FULL_ERROR);
}
END_TEST

START_TEST(config_accepts_java_and_librdkafka_names)
{
    client_config_t c;
    client_config_init(&c);
    char err[256];
    ck_assert_int_eq(client_config_set(&c, "bootstrap.servers", "a:1,b:2", err, sizeof(err)), 0);
    ck_assert_str_eq(c.bootstrap_servers, "a:1,b:2");
    ck_assert_int_eq(client_config_set(&c, "acks", "1", err, sizeof(err)), 0);
    ck_assert_int_eq(c.acks, 1);
    ck_assert_int_eq(client_config_set(&c, "request.required.acks", "all", err, sizeof(err)), 0);
    ck_assert_int_eq(c.acks, -1);
    ck_assert_int_eq(client_config_set(&c, "queue.buffering.max.ms", "20", err, sizeof(err)), 0);
    ck_assert_int_eq(c.linger_ms, 20);
    ck_assert_int_eq(client_config_set(&c, "compression.codec", "zstd", err, sizeof(err)), 0);
    ck_assert_int_eq(c.compression_codec, COMPRESS_ZSTD);
    ck_assert_int_eq(client_config_set(&c, "queue.full.behavior", "block", err, sizeof(err)), 0);
    ck_assert_int_eq(c.queue_full_behavior, CLIENT_QUEUE_FULL_BLOCK);
    ck_assert_int_eq(client_config_set(&c, "buffer.memory", "1048576", err, sizeof(err)), 0);
    ck_assert_int_eq(c.buffer_memory_bytes, 1048576);
    ck_assert_int_eq(c.send_buffer_bytes, -1); /* the system's */
    ck_assert_int_eq(client_config_set(&c, "socket.send.buffer.bytes", "65536", err, sizeof(err)), 0);
    ck_assert_int_eq(c.send_buffer_bytes, 65536);
    ck_assert_int_eq(client_config_set(&c, "receive.buffer.bytes", "32768", err, sizeof(err)), 0);
    ck_assert_int_eq(c.receive_buffer_bytes, 32768);
    ck_assert_int_ne(client_config_set(&c, "send.buffer.bytes", "-2", err, sizeof(err)), 0);
}
END_TEST

START_TEST(config_errors_name_the_key_and_what_is_allowed)
{
    client_config_t c;
    client_config_init(&c);
    char err[256];
    ck_assert_int_eq(client_config_set(&c, "lingr.ms", "5", err, sizeof(err)),
                     SAMSA_ERR__UNKNOWN_CONFIG);
    ck_assert_str_eq(err, "lingr.ms: unknown client property (did you mean linger.ms?)");
    ck_assert_int_eq(client_config_set(&c, "group.id", "g", err, sizeof(err)),
                     SAMSA_ERR__UNKNOWN_CONFIG);
    ck_assert_str_eq(err, "group.id: unknown client property");
    ck_assert_int_eq(client_config_set(&c, "acks", "2", err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_str_eq(err, "acks: \"2\" is not one of all, -1, 0, 1");
    ck_assert_int_eq(client_config_set(&c, "linger.ms", "-1", err, sizeof(err)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_str_eq(err, "linger.ms: \"-1\" is not an integer in 0..900000");
    ck_assert_int_eq(client_config_set(&c, "batch.size", "12x", err, sizeof(err)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_int_eq(client_config_set(&c, "compression.type", "brotli", err, sizeof(err)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_str_eq(err, "compression.type: \"brotli\" is not one of none, gzip, snappy, lz4, zstd");
    ck_assert_int_eq(client_config_set(&c, "enable.idempotence", "yes", err, sizeof(err)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_int_eq(c.linger_ms, 5); /* unchanged by the failures */
}
END_TEST

START_TEST(config_idempotence_conflicts_fail_only_when_set_explicitly)
{
    client_config_t c;
    char err[256];
    client_config_init(&c);
    client_config_set(&c, "bootstrap.servers", "h:9092", err, sizeof(err));
    client_config_set(&c, "acks", "1", err, sizeof(err));
    ck_assert_int_eq(client_config_finish(&c, err, sizeof(err)), 0);
    ck_assert(!c.enable_idempotence); /* default turned off, as Java does */

    client_config_init(&c);
    client_config_set(&c, "bootstrap.servers", "h:9092", err, sizeof(err));
    client_config_set(&c, "acks", "0", err, sizeof(err));
    client_config_set(&c, "enable.idempotence", "true", err, sizeof(err));
    ck_assert_int_eq(client_config_finish(&c, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_str_eq(err, "enable.idempotence: true needs acks must be all (-1)");

    client_config_init(&c);
    ck_assert_int_eq(client_config_finish(&c, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "bootstrap.servers"));
}
END_TEST

START_TEST(bootstrap_entries_parse_as_host_and_port)
{
    char host[64];
    int port = 0;
    ck_assert(cluster_parse_hostport("broker-1.example:9092", 21, host, sizeof(host), &port));
    ck_assert_str_eq(host, "broker-1.example");
    ck_assert_int_eq(port, 9092);
    ck_assert(cluster_parse_hostport(" 127.0.0.1:1 ", 13, host, sizeof(host), &port));
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 1);
    ck_assert(cluster_parse_hostport("[::1]:29092", 11, host, sizeof(host), &port));
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 29092);
    ck_assert(!cluster_parse_hostport("localhost", 9, host, sizeof(host), &port));
    ck_assert(!cluster_parse_hostport("h:0", 3, host, sizeof(host), &port));
    ck_assert(!cluster_parse_hostport("h:65536", 7, host, sizeof(host), &port));
    ck_assert(!cluster_parse_hostport("h:90x2", 6, host, sizeof(host), &port));
    ck_assert(!cluster_parse_hostport(":9092", 5, host, sizeof(host), &port));
    ck_assert(!cluster_parse_hostport("[::1]9092", 9, host, sizeof(host), &port));
}
END_TEST

/* ---- batching -------------------------------------------------------- */

static pmsg_t *msg(const char *value, int64_t enqueued_ms)
{
    pmsg_t *m = calloc(1, sizeof(*m) + strlen(value) + 8);
    char *v = (char *)(m + 1);
    strcpy(v, value);
    m->topic = "t";
    m->value = (const uint8_t *)v;
    m->value_len = strlen(v);
    m->timestamp_ms = 1700000000000LL + enqueued_ms;
    m->enqueued_ms = enqueued_ms;
    m->bytes = sizeof(*m) + strlen(value);
    m->offset = -1;
    return m;
}

/* A message of 199 bytes: its record takes about 210 in a batch. */
static pmsg_t *msg_199(int64_t enqueued_ms)
{
    char value[200];
    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = 0;
    return msg(value, enqueued_ms);
}

/* b's header, which must validate and carry these. */
static batch_header_t valid_header(const pbatch_t *b, int64_t producer_id, int32_t base_sequence,
                                   int32_t record_count)
{
    batch_header_t h;
    ck_assert_int_eq(batch_validate(b->data.data, b->data.len, &h), 0);
    ck_assert_int_eq(h.producer_id, producer_id);
    ck_assert_int_eq(h.base_sequence, base_sequence);
    ck_assert_int_eq(h.record_count, record_count);
    return h;
}

static void free_part(ppart_t *pp)
{
    ppart_unopen(pp);
    pmsg_t *m;
    while ((m = pmsg_queue_pop(&pp->queue)))
        pmsg_free(m);
    while (pp->batches) {
        pbatch_t *b = pp->batches;
        ppart_remove_batch(pp, b);
        while ((m = pmsg_queue_pop(&b->msgs)))
            pmsg_free(m);
        pbatch_free(b);
    }
}

static client_config_t test_config(void)
{
    client_config_t c;
    client_config_init(&c);
    c.linger_ms = 10;
    c.batch_size_bytes = 1000;
    return c;
}

START_TEST(partition_is_ready_after_linger_or_a_full_batch_or_on_flush)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    ck_assert(!ppart_ready(&pp, &cfg, 0, true)); /* nothing queued */
    ck_assert_int_eq(ppart_ready_at(&pp, &cfg), INT64_MAX);
    ppart_enqueue(&pp, msg("a", 100));
    ck_assert(!ppart_ready(&pp, &cfg, 109, false));
    ck_assert(ppart_ready(&pp, &cfg, 110, false));
    ck_assert_int_eq(ppart_ready_at(&pp, &cfg), 110);
    ck_assert(ppart_ready(&pp, &cfg, 100, true));
    /* ready once the records take batch.size in a batch, not before */
    int n = 0;
    while (!ppart_batch_reached(&pp, &cfg)) {
        ck_assert(!ppart_ready(&pp, &cfg, 100, false));
        ppart_enqueue(&pp, msg("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 101));
        n++;
    }
    ck_assert_int_gt(n, 1);
    ck_assert(ppart_ready(&pp, &cfg, 100, false));
    free_part(&pp);
}
END_TEST

START_TEST(batch_takes_what_fits_in_batch_size_and_stamps_sequences)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    pp.next_sequence = 7;
    for (int i = 0; i < 12; i++)
        pmsg_queue_push(&pp.queue, msg_199(i));
    pmsg_queue_t failed = {0};
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 42, 3, &failed), 0);
    pbatch_t *b = pp.batches;
    ck_assert_ptr_nonnull(b);
    /* 61 header bytes and records of about 210: four fit in 1000 bytes */
    ck_assert_int_eq(b->record_count, 4);
    ck_assert_int_eq(b->msgs.count, 4);
    ck_assert_int_eq(pp.queue.count, 8);
    ck_assert_uint_le(b->data.len, 1000);
    ck_assert_int_eq(b->base_sequence, 7);
    ck_assert_int_eq(pp.next_sequence, 11);
    batch_header_t h = valid_header(b, 42, 7, 4);
    ck_assert_int_eq(h.producer_epoch, 3);
    ck_assert_int_eq(h.base_timestamp, 1700000000000LL);
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 42, 3, &failed), 0);
    ck_assert_int_eq(pp.batches->next->base_sequence, 11);
    ck_assert_ptr_null(failed.head);
    free_part(&pp);
}
END_TEST

START_TEST(one_message_larger_than_batch_size_still_makes_a_batch)
{
    client_config_t cfg = test_config();
    cfg.compression_codec = COMPRESS_ZSTD;
    ppart_t pp = {0};
    char value[3000];
    memset(value, 'y', sizeof(value) - 1);
    value[sizeof(value) - 1] = 0;
    pmsg_queue_push(&pp.queue, msg(value, 0));
    pmsg_queue_push(&pp.queue, msg("small", 0));
    pmsg_queue_t failed = {0};
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, -1, -1, &failed), 0);
    ck_assert_int_eq(pp.batches->record_count, 1);
    ck_assert_int_eq(pp.batches->base_sequence, -1);
    batch_header_t h;
    ck_assert_int_eq(batch_validate(pp.batches->data.data, pp.batches->data.len, &h), 0);
    ck_assert_int_eq(h.attributes & BATCH_ATTR_COMPRESSION_MASK, COMPRESS_ZSTD);
    ck_assert_int_eq(h.producer_id, -1);
    free_part(&pp);
}
END_TEST

START_TEST(open_batch_takes_messages_as_they_come_and_seals_when_full)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    pp.next_sequence = 7;
    pmsg_t *sent[6];
    pmsg_queue_t failed = {0};
    bool sealed[6];
    for (int i = 0; i < 6; i++) {
        sent[i] = msg_199(100 + i);
        ck_assert_int_eq(ppart_add(&pp, sent[i], &cfg, 42, 3, &failed, &sealed[i]), 0);
    }
    /* 61 header bytes and records of about 210: the fourth leaves no room
     * for a fifth, so the batch goes at once, not when the fifth comes */
    ck_assert(!sealed[0] && !sealed[1] && !sealed[2] && sealed[3] && !sealed[4] && !sealed[5]);
    pbatch_t *b = pp.batches;
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(b->next);
    ck_assert_int_eq(b->record_count, 4);
    ck_assert_int_eq(b->base_sequence, 7);
    ck_assert_int_eq(b->first_enqueued_ms, 100);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_eq(b->msgv[i], sent[i]);
    valid_header(b, 42, 7, 4);
    ck_assert_int_eq(pp.next_sequence, 11);
    /* the two after it wait in the open batch, for linger.ms from the first */
    ck_assert_ptr_nonnull(pp.open);
    ck_assert_int_eq(pp.open->record_count, 2);
    ck_assert_int_eq(ppart_ready_at(&pp, &cfg), 114);
    ck_assert(!ppart_ready(&pp, &cfg, 113, false));
    ck_assert(ppart_ready(&pp, &cfg, 114, false));
    ck_assert(ppart_ready(&pp, &cfg, 100, true));
    /* the open batch goes before anything queued behind it */
    ppart_enqueue(&pp, msg("later", 120));
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 42, 3, &failed), 0);
    ck_assert_ptr_null(pp.open);
    ck_assert_int_eq(b->next->record_count, 2);
    ck_assert_int_eq(b->next->base_sequence, 11);
    ck_assert_ptr_eq(b->next->msgv[0], sent[4]);
    ck_assert_int_eq(pp.queue.count, 1);
    ck_assert_ptr_null(failed.head);
    free_part(&pp);
}
END_TEST

START_TEST(open_batch_given_back_goes_to_the_front_of_the_queue)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    pmsg_queue_t failed = {0};
    bool sealed;
    pmsg_t *a = msg("a", 1), *b = msg("b", 2), *c = msg("c", 3);
    ck_assert_int_eq(ppart_add(&pp, a, &cfg, -1, -1, &failed, &sealed), 0);
    ck_assert_int_eq(ppart_add(&pp, b, &cfg, -1, -1, &failed, &sealed), 0);
    ck_assert(!sealed);
    ppart_enqueue(&pp, c);
    ppart_unopen(&pp);
    ck_assert_ptr_null(pp.open);
    ck_assert_int_eq(pp.queue.count, 3);
    ck_assert_ptr_eq(pp.queue.head, a);
    ck_assert_ptr_eq(a->next, b);
    ck_assert_ptr_eq(b->next, c);
    ck_assert_ptr_eq(pp.queue.tail, c);
    ck_assert_int_eq(ppart_ready_at(&pp, &cfg), 11);
    /* built again from the queue, they make one batch in their order */
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, -1, -1, &failed), 0);
    ck_assert_int_eq(pp.batches->record_count, 3);
    ck_assert_ptr_eq(pp.batches->msgv[0], a);
    ck_assert_ptr_eq(pp.batches->msgv[2], c);
    ck_assert_ptr_null(pp.queue.head);
    free_part(&pp);
}
END_TEST

START_TEST(open_batch_room_counts_as_built_and_a_refused_record_fails_its_batch)
{
    client_config_t cfg = test_config();
    size_t built = 0;
    ppart_t pp = {0};
    pp.built_bytes = &built;
    pmsg_queue_t failed = {0};
    bool sealed;
    pmsg_t *a = msg("a", 1);
    ck_assert_int_eq(ppart_add(&pp, a, &cfg, -1, -1, &failed, &sealed), 0);
    ck_assert_uint_ge(built, 1000); /* the open batch's room */
    ck_assert_uint_eq(built, pp.open->data.cap);
    ck_assert_int_eq(ppart_seal(&pp, &cfg, -1, -1, &failed), 0);
    ck_assert_uint_eq(built, pp.batches->data.len); /* sealed: its length */
    ck_assert_int_eq(ppart_add(&pp, msg("b", 2), &cfg, -1, -1, &failed, &sealed), 0);
    ppart_unopen(&pp);
    ck_assert_uint_eq(built, pp.batches->data.len);
    pmsg_free(pmsg_queue_pop(&pp.queue));
    /* a record the builder refuses (a value pointer missing) fails the
     * whole open batch, the messages before it included */
    pmsg_t *c = msg("c", 3), *bad = msg("d", 4);
    bad->value = NULL;
    ck_assert_int_eq(ppart_add(&pp, c, &cfg, -1, -1, &failed, &sealed), 0);
    ck_assert_int_ne(ppart_add(&pp, bad, &cfg, -1, -1, &failed, &sealed), 0);
    ck_assert(sealed);
    ck_assert_ptr_null(pp.open);
    ck_assert_int_eq(failed.count, 2);
    ck_assert_ptr_eq(failed.head, c);
    ck_assert_ptr_eq(failed.tail, bad);
    ck_assert_int_ne(c->err, 0);
    ck_assert_ptr_null(pp.batches->next); /* only the first batch was built */
    pmsg_t *m;
    while ((m = pmsg_queue_pop(&failed)))
        pmsg_free(m);
    free_part(&pp);
    ck_assert_uint_eq(built, 0);
}
END_TEST

/* Three batches with sequences 0, 1, 2 (one message each). */
static void three_batches(ppart_t *pp, const client_config_t *cfg)
{
    pmsg_queue_t failed = {0};
    for (int i = 0; i < 3; i++) {
        pmsg_queue_push(&pp->queue, msg("m", i));
        ck_assert_int_eq(ppart_build_batch(pp, cfg, 1, 0, &failed), 0);
    }
}

START_TEST(batches_go_in_order_up_to_the_in_flight_limit)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    three_batches(&pp, &cfg);
    pbatch_t *b0 = pp.batches, *b1 = b0->next, *b2 = b1->next;
    ck_assert_ptr_eq(ppart_next_sendable(&pp, 2, 0), b0);
    b0->in_flight = true;
    pp.in_flight++;
    ck_assert_ptr_eq(ppart_next_sendable(&pp, 2, 0), b1);
    b1->in_flight = true;
    pp.in_flight++;
    ck_assert_ptr_null(ppart_next_sendable(&pp, 2, 0)); /* limit 2 reached */
    ck_assert_ptr_eq(ppart_next_sendable(&pp, 5, 0), b2);
    free_part(&pp);
}
END_TEST

START_TEST(retried_batch_waits_for_backoff_and_for_older_batches_in_flight)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    three_batches(&pp, &cfg);
    pbatch_t *b0 = pp.batches, *b1 = b0->next, *b2 = b1->next;
    /* b0 in flight, b1 failed and waits to be retried at 500 */
    b0->in_flight = true;
    pp.in_flight = 1;
    b1->attempts = 1;
    b1->retry_at_ms = 500;
    ck_assert_ptr_null(ppart_next_sendable(&pp, 5, 400)); /* backoff; b2 may not overtake */
    ck_assert_ptr_null(ppart_next_sendable(&pp, 5, 600)); /* b0 still in flight */
    b0->in_flight = false;
    pp.in_flight = 0;
    ppart_remove_batch(&pp, b0);
    pmsg_free(pmsg_queue_pop(&b0->msgs));
    pbatch_free(b0);
    ck_assert_ptr_eq(ppart_next_sendable(&pp, 5, 600), b1);
    b1->in_flight = true;
    pp.in_flight = 1;
    ck_assert_ptr_eq(ppart_next_sendable(&pp, 5, 600), b2); /* new batches may follow a retry */
    free_part(&pp);
}
END_TEST

START_TEST(restamp_renumbers_from_zero_with_valid_crcs)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    pp.next_sequence = 100;
    three_batches(&pp, &cfg);
    ppart_restamp(&pp, 77, 2);
    int32_t want = 0;
    for (pbatch_t *b = pp.batches; b; b = b->next, want++) {
        batch_header_t h;
        ck_assert_int_eq(batch_validate(b->data.data, b->data.len, &h), 0);
        ck_assert_int_eq(h.producer_id, 77);
        ck_assert_int_eq(h.producer_epoch, 2);
        ck_assert_int_eq(h.base_sequence, want);
        ck_assert_int_eq(b->base_sequence, want);
    }
    ck_assert_int_eq(pp.next_sequence, 3);
    free_part(&pp);
}
END_TEST

START_TEST(split_batch_keeps_its_place_and_its_sequences)
{
    client_config_t cfg = test_config();
    ppart_t pp = {0};
    pp.next_sequence = 10;
    pmsg_queue_t failed = {0};
    for (int i = 0; i < 5; i++)
        pmsg_queue_push(&pp.queue, msg("m", i));
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 9, 1, &failed), 0); /* seq 10..14 */
    pmsg_queue_push(&pp.queue, msg("after", 9));
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 9, 1, &failed), 0); /* seq 15 */
    pbatch_t *big = pp.batches, *after = big->next;
    ck_assert_int_eq(big->record_count, 5);
    ck_assert_int_eq(ppart_split_batch(&pp, big, &cfg, 9, 1, 1234, &failed), 0);
    ck_assert_ptr_null(failed.head);
    pbatch_t *a = pp.batches, *b = a->next;
    ck_assert_ptr_eq(b->next, after);
    ck_assert_ptr_eq(pp.batches_tail, after);
    ck_assert_int_eq(a->record_count, 2);
    ck_assert_int_eq(b->record_count, 3);
    ck_assert_int_eq(a->base_sequence, 10);
    ck_assert_int_eq(b->base_sequence, 12);
    ck_assert_int_eq(after->base_sequence, 15);
    ck_assert_int_eq(pp.next_sequence, 16);
    ck_assert_int_eq(a->attempts, 1);
    ck_assert_int_eq(a->retry_at_ms, 1234);
    ck_assert_ptr_eq(a->part, &pp);
    batch_header_t h;
    ck_assert_int_eq(batch_validate(b->data.data, b->data.len, &h), 0);
    ck_assert_int_eq(h.base_sequence, 12);
    ck_assert_int_eq(h.record_count, 3);
    free_part(&pp);
}
END_TEST

START_TEST(error_strings_say_what_and_where)
{
    pmsg_t *m = msg("v", 0);
    pmsg_set_error(m, SAMSA_ERR_NOT_LEADER_OR_FOLLOWER, "topic %s [%d] on %s", m->topic, 3, "b:1");
    ck_assert_int_eq(m->err, SAMSA_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_str_eq(m->errstr, "topic t [3] on b:1");
    pmsg_free(m);
}
END_TEST

/* ---- message blocks --------------------------------------------------- */

/* A block of class c, freed on this thread, as a message (pmsg_free). */
static void free_block(void *b, uint8_t c)
{
    pmsg_t *m = b;
    memset(m, 0, sizeof(*m));
    m->block_class = c;
    pmsg_free(m);
}

START_TEST(message_blocks_are_sized_tightly_and_reused_by_the_freeing_thread)
{
    uint8_t c;
    void *big = pmsg_alloc(PMSG_BLOCK_MAX_BYTES + 1, &c);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(c, 0); /* larger than a block: malloc'd, freed as such */
    free(big);
    void *a = pmsg_alloc(sizeof(pmsg_t) + 1, &c);
    ck_assert_int_eq(c, (sizeof(pmsg_t) + 1 + PMSG_BLOCK_STEP - 1) / PMSG_BLOCK_STEP);
    uint8_t ca = c;
    void *b = pmsg_alloc(PMSG_BLOCK_MAX_BYTES, &c);
    ck_assert_int_eq(c, PMSG_BLOCK_MAX_BYTES / PMSG_BLOCK_STEP);
    free_block(a, ca);
    free_block(b, c);
    /* the next message of each size class takes the block freed last */
    uint8_t c2;
    ck_assert_ptr_eq(pmsg_alloc(PMSG_BLOCK_MAX_BYTES - PMSG_BLOCK_STEP + 1, &c2), b);
    ck_assert_int_eq(c2, c);
    ck_assert_ptr_eq(pmsg_alloc(sizeof(pmsg_t) + PMSG_BLOCK_STEP / 2, &c2), a);
    ck_assert_int_eq(c2, ca);
    /* a class with nothing cached allocates */
    void *d = pmsg_alloc(sizeof(pmsg_t) + PMSG_BLOCK_STEP * 3, &c2);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_ne(d, a);
    ck_assert_ptr_ne(d, b);
    free_block(a, ca);
    free_block(b, c);
    free_block(d, c2);
    pmsg_cache_drop(); /* frees them: the leak checkers see nothing left */
    ck_assert_ptr_nonnull(a = pmsg_alloc(sizeof(pmsg_t) + 1, &c));
    free_block(a, c);
    pmsg_cache_drop();
}
END_TEST

static void *free_blocks_and_exit(void *unused)
{
    (void)unused;
    for (int i = 0; i < 100; i++) {
        uint8_t c;
        void *b = pmsg_alloc(sizeof(pmsg_t) + (size_t)i * 3, &c);
        ck_assert_ptr_nonnull(b);
        free_block(b, c);
    }
    return NULL;
}

START_TEST(a_thread_that_exits_leaves_no_cached_blocks)
{
    /* The cache's key destructor frees what the thread kept: under ASan or
     * valgrind a block left behind would be reported as a leak. */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, free_blocks_and_exit, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_batch");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, config_defaults_are_the_java_producers_with_linger_5);
    tcase_add_test(tc, config_accepts_java_and_librdkafka_names);
    tcase_add_test(tc, config_errors_name_the_key_and_what_is_allowed);
    tcase_add_test(tc, config_idempotence_conflicts_fail_only_when_set_explicitly);
    tcase_add_test(tc, bootstrap_entries_parse_as_host_and_port);
    suite_add_tcase(s, tc);
    tc = tcase_create("batching");
    tcase_add_test(tc, partition_is_ready_after_linger_or_a_full_batch_or_on_flush);
    tcase_add_test(tc, batch_takes_what_fits_in_batch_size_and_stamps_sequences);
    tcase_add_test(tc, one_message_larger_than_batch_size_still_makes_a_batch);
    tcase_add_test(tc, open_batch_takes_messages_as_they_come_and_seals_when_full);
    tcase_add_test(tc, open_batch_given_back_goes_to_the_front_of_the_queue);
    tcase_add_test(tc, open_batch_room_counts_as_built_and_a_refused_record_fails_its_batch);
    tcase_add_test(tc, batches_go_in_order_up_to_the_in_flight_limit);
    tcase_add_test(tc, retried_batch_waits_for_backoff_and_for_older_batches_in_flight);
    tcase_add_test(tc, restamp_renumbers_from_zero_with_valid_crcs);
    tcase_add_test(tc, split_batch_keeps_its_place_and_its_sequences);
    tcase_add_test(tc, error_strings_say_what_and_where);
    suite_add_tcase(s, tc);
    tc = tcase_create("blocks");
    tcase_add_test(tc, message_blocks_are_sized_tightly_and_reused_by_the_freeing_thread);
    tcase_add_test(tc, a_thread_that_exits_leaves_no_cached_blocks);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
