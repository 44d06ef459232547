/*
 * Integration tests of the broker: an embedded broker on 127.0.0.1 with a
 * temporary log dir, spoken to over TCP with the codec (kclient.h):
 * ApiVersions, Metadata, topics, Produce and Fetch, framing and ordering.
 */
#include "kclient.h"

#include "broker/broker_int.h"

static test_broker_t tb;

static void setup(void) { test_broker_start(&tb, false, NULL); }
static void teardown(void) { test_broker_stop(&tb, true); }

static const api_versions_response_api_version_t *
find_api(const api_versions_response_t *resp, int16_t key)
{
    for (int32_t i = 0; i < resp->api_keys_count; i++)
        if (resp->api_keys[i].api_key == key)
            return &resp->api_keys[i];
    return NULL;
}

START_TEST(api_versions_lists_the_handled_ranges)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    api_versions_request_t req;
    proto_init(&api_versions_request_desc, &req);
    req.client_software_name = proto_str_of("samsa-test");
    req.client_software_version = proto_str_of("1");
    api_versions_response_t *resp = kclient_call(&c, API_API_VERSIONS, 3, &req);
    ck_assert_int_eq(resp->error_code, 0);
    const api_versions_response_api_version_t *produce = find_api(resp, API_PRODUCE);
    ck_assert_ptr_nonnull(produce);
    ck_assert_int_eq(produce->min_version, 0); /* librdkafka compresses only then */
    ck_assert_int_eq(produce->max_version, 13);
    const api_versions_response_api_version_t *fetch = find_api(resp, API_FETCH);
    ck_assert_int_eq(fetch->min_version, 4);
    ck_assert_int_eq(fetch->max_version, 18);
    ck_assert_int_eq(find_api(resp, API_API_VERSIONS)->max_version, 4);
    ck_assert_ptr_null(find_api(resp, API_SASL_HANDSHAKE)); /* no handler, not listed */
    kclient_close(&c);
}
END_TEST

START_TEST(api_versions_above_ours_gets_unsupported_version_with_the_list_in_v0)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    /* ApiVersions v9: header v2 (flexible) with an empty body */
    uint8_t frame[] = {0, 0, 0, 15, 0, 18, 0, 9, 0, 0, 0, 42, 0, 3, 'a', 'b', 'c', 0, 0};
    kclient_write_all(&c, frame, sizeof(frame));
    api_versions_response_t *resp = kclient_recv(&c, API_API_VERSIONS, 0, 42);
    ck_assert_int_eq(resp->error_code, SAMSA_ERR_UNSUPPORTED_VERSION);
    ck_assert_ptr_nonnull(find_api(resp, API_FETCH));
    kclient_close(&c);
}
END_TEST

START_TEST(metadata_auto_creates_a_topic_with_an_id_that_stays)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    metadata_response_metadata_response_topic_t *t = kclient_metadata(&c, "auto1", true);
    ck_assert_int_eq(t->error_code, 0);
    ck_assert_int_eq(t->partitions_count, 1);
    ck_assert_int_eq(t->partitions[0].leader_id, 1);
    ck_assert_int_eq(t->partitions[0].replica_nodes_count, 1);
    proto_uuid_t zero = {{0}}, id = t->topic_id;
    ck_assert(memcmp(&id, &zero, sizeof(id)) != 0);
    t = kclient_metadata(&c, "auto1", true);
    ck_assert_mem_eq(&t->topic_id, &id, sizeof(id));
    kclient_close(&c);
}
END_TEST

START_TEST(metadata_without_auto_creation_reports_unknown_topic)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_metadata(&c, "nope", false)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kclient_metadata(&c, "bad name!", true)->error_code,
                     SAMSA_ERR_INVALID_TOPIC_EXCEPTION);
    kclient_close(&c);
}
END_TEST

START_TEST(create_topics_creates_refuses_duplicates_and_bad_names)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    create_topics_response_creatable_topic_result_t *r = kclient_create_topic(&c, "ct", 3, false);
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->num_partitions, 3);
    ck_assert_int_eq(kclient_create_topic(&c, "ct", 3, false)->error_code,
                     SAMSA_ERR_TOPIC_ALREADY_EXISTS);
    ck_assert_int_eq(kclient_create_topic(&c, "..", 1, false)->error_code,
                     SAMSA_ERR_INVALID_TOPIC_EXCEPTION);
    char long_name[251];
    memset(long_name, 'a', 250);
    long_name[250] = 0;
    ck_assert_int_eq(kclient_create_topic(&c, long_name, 1, false)->error_code,
                     SAMSA_ERR_INVALID_TOPIC_EXCEPTION);
    ck_assert_int_eq(kclient_create_topic(&c, "zero", 0, false)->error_code,
                     SAMSA_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(kclient_create_topic(&c, "only.checked", 2, true)->error_code, 0);
    ck_assert_int_eq(kclient_metadata(&c, "only.checked", false)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kclient_metadata(&c, "ct", false)->partitions_count, 3);
    kclient_close(&c);
}
END_TEST

START_TEST(delete_topics_by_name_and_by_id)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "del1", 2, false)->error_code, 0);
    proto_uuid_t id2 = kclient_create_topic(&c, "del2", 1, false)->topic_id;
    proto_str_t name = proto_str_of("del1");
    delete_topics_request_t req;
    proto_init(&delete_topics_request_desc, &req);
    req.topic_names = &name;
    req.topic_names_count = 1;
    req.timeout_ms = 1000;
    delete_topics_response_t *resp = kclient_call(&c, API_DELETE_TOPICS, 5, &req);
    ck_assert_int_eq(resp->responses_count, 1);
    ck_assert_int_eq(resp->responses[0].error_code, 0);
    delete_topics_request_delete_topic_state_t st = {{NULL, -1}, id2};
    proto_init(&delete_topics_request_desc, &req);
    req.topics = &st;
    req.topics_count = 1;
    resp = kclient_call(&c, API_DELETE_TOPICS, 6, &req);
    ck_assert_int_eq(resp->responses[0].error_code, 0);
    ck_assert(proto_str_eq(resp->responses[0].name, "del2"));
    ck_assert_int_eq(kclient_metadata(&c, "del1", false)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kclient_metadata(&c, "del2", false)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    resp = kclient_call(&c, API_DELETE_TOPICS, 6, &req);
    ck_assert_int_eq(resp->responses[0].error_code, SAMSA_ERR_UNKNOWN_TOPIC_ID);
    kclient_close(&c);
}
END_TEST

/* The batch as the log stores it: our bytes with the offset and epoch 0. */
static void as_stored(uint8_t *batch, int64_t base_offset)
{
    batch_set_base_offset(batch, base_offset);
    batch_set_leader_epoch(batch, 0);
}

static void produce_then_fetch_exact_bytes(int16_t acks)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "pf", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 5, 1700000000000, 1);
    uint8_t *sent = malloc(batch.len);
    memcpy(sent, batch.data, batch.len);
    produce_response_partition_produce_response_t *pr =
        kclient_produce(&c, "pf", 0, acks, batch.data, batch.len);
    if (acks != 0) {
        ck_assert_int_eq(pr->error_code, 0);
        ck_assert_int_eq(pr->base_offset, 0);
        ck_assert_int_eq(pr->log_start_offset, 0);
    }
    if (acks == -1) {
        /* acknowledged means on disk (log.flush.on.ack): the broker is idle
         * now, so its topic table can be read from this thread */
        broker_topic_t *t = topic_find_cstr(&tb.broker->broker, "pf");
        ck_assert_int_ge(partition_log_durable_offset(t->partitions[0]->log), 5);
    }
    /* acks=0 has no answer: the next request's answer follows in order */
    fetch_response_partition_data_t *fp = kclient_fetch(&c, "pf", 0, 0);
    ck_assert_int_eq(fp->error_code, 0);
    ck_assert_int_eq(fp->high_watermark, 5);
    ck_assert_int_eq(fp->last_stable_offset, 5);
    as_stored(sent, 0);
    ck_assert_int_eq(fp->records.len, (int32_t)batch.len);
    ck_assert_mem_eq(fp->records.data, sent, batch.len);
    free(sent);
    buf_free(&batch);
    kclient_close(&c);
}

START_TEST(produce_acks_1_then_fetch_returns_the_exact_bytes)
{
    produce_then_fetch_exact_bytes(1);
}
END_TEST

START_TEST(produce_acks_all_then_fetch_returns_the_exact_bytes)
{
    produce_then_fetch_exact_bytes(-1);
}
END_TEST

START_TEST(produce_acks_0_has_no_response_and_writes)
{
    produce_then_fetch_exact_bytes(0);
}
END_TEST

START_TEST(fetch_inside_a_batch_returns_the_whole_batch)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "inside", 1, false)->error_code, 0);
    buf_t b1, b2;
    buf_init(&b1, 0);
    buf_init(&b2, 0);
    test_batch(&b1, 3, 1000, 1);
    test_batch(&b2, 2, 2000, 1);
    ck_assert_int_eq(kclient_produce(&c, "inside", 0, 1, b1.data, b1.len)->base_offset, 0);
    ck_assert_int_eq(kclient_produce(&c, "inside", 0, 1, b2.data, b2.len)->base_offset, 3);
    fetch_response_partition_data_t *fp = kclient_fetch(&c, "inside", 0, 1);
    ck_assert_int_eq(fp->records.len, (int32_t)(b1.len + b2.len));
    as_stored(b1.data, 0);
    ck_assert_mem_eq(fp->records.data, b1.data, b1.len);
    fp = kclient_fetch(&c, "inside", 0, 4);
    ck_assert_int_eq(fp->records.len, (int32_t)b2.len);
    ck_assert_int_eq((int64_t)be64_load(fp->records.data), 3);
    fp = kclient_fetch(&c, "inside", 0, 5);
    ck_assert_int_eq(fp->records.len, 0);
    ck_assert_int_eq(fp->error_code, 0);
    fp = kclient_fetch(&c, "inside", 0, 6);
    ck_assert_int_eq(fp->error_code, SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    buf_free(&b1);
    buf_free(&b2);
    kclient_close(&c);
}
END_TEST

START_TEST(fetch_limits_give_the_first_batch_whole_and_stop_at_max_bytes)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "limits", 2, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 50, 1000, 1);
    for (int32_t p = 0; p < 2; p++)
        ck_assert_int_eq(kclient_produce(&c, "limits", p, 1, batch.data, batch.len)->error_code,
                         0);
    /* partition limits of 10 bytes and a total of 10: partition 0's batch
     * comes whole anyway; partition 1 gets no records, only its offsets */
    fetch_request_fetch_partition_t fp[2];
    memset(fp, 0, sizeof(fp));
    for (int32_t p = 0; p < 2; p++) {
        fp[p].partition = p;
        fp[p].current_leader_epoch = -1;
        fp[p].last_fetched_epoch = -1;
        fp[p].log_start_offset = -1;
        fp[p].partition_max_bytes = 10;
    }
    fetch_request_fetch_topic_t ft = {proto_str_of("limits"), {{0}}, fp, 2};
    fetch_request_t req;
    fetch_request_one(&req, &ft, &fp[0], "limits", 0, 0, 0, 0);
    ft.partitions = fp;
    ft.partitions_count = 2;
    fp[0].partition_max_bytes = 10;
    req.max_bytes = 10;
    fetch_response_t *resp = kclient_call(&c, API_FETCH, 12, &req);
    ck_assert_int_eq(resp->responses[0].partitions_count, 2);
    ck_assert_int_eq(resp->responses[0].partitions[0].records.len, (int32_t)batch.len);
    ck_assert_int_eq(resp->responses[0].partitions[1].records.len, 0);
    ck_assert_int_eq(resp->responses[0].partitions[1].high_watermark, 50);
    /* with room for both, both come */
    req.max_bytes = 1 << 20;
    fp[0].partition_max_bytes = fp[1].partition_max_bytes = 1 << 20;
    resp = kclient_call(&c, API_FETCH, 12, &req);
    ck_assert_int_eq(resp->responses[0].partitions[1].records.len, (int32_t)batch.len);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(long_poll_fetch_is_answered_by_an_append)
{
    kclient_t consumer, producer;
    kclient_connect(&consumer, tb.bootstrap);
    kclient_connect(&producer, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&producer, "poll", 1, false)->error_code, 0);
    fetch_request_t req;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    /* waits up to 10 minutes: only the append can answer it in time */
    fetch_request_one(&req, &ft, &fp, "poll", 0, 0, 600000, 1);
    int32_t id = kclient_send(&consumer, API_FETCH, 12, &req);
    /* a round trip on the consumer's connection would be queued behind the
     * fetch, so check the broker took it with the producer's */
    ck_assert_int_eq(kclient_metadata(&producer, "poll", false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 2, 5000, 1);
    ck_assert_int_eq(kclient_produce(&producer, "poll", 0, 1, batch.data, batch.len)->error_code,
                     0);
    fetch_response_t *resp = kclient_recv(&consumer, API_FETCH, 12, id);
    ck_assert_int_eq(resp->responses[0].partitions[0].records.len, (int32_t)batch.len);
    buf_free(&batch);
    kclient_close(&consumer);
    kclient_close(&producer);
}
END_TEST

START_TEST(pipelined_requests_are_answered_in_order)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "order", 1, false)->error_code, 0);
    fetch_request_t freq;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    /* the first request waits (no data): later ones must wait behind it */
    fetch_request_one(&freq, &ft, &fp, "order", 0, 0, 300, 1);
    api_versions_request_t areq;
    proto_init(&api_versions_request_desc, &areq);
    metadata_request_t mreq;
    proto_init(&metadata_request_desc, &mreq);
    mreq.topics_count = -1; /* every topic */
    int32_t id1 = kclient_send(&c, API_FETCH, 12, &freq);
    int32_t id2 = kclient_send(&c, API_API_VERSIONS, 3, &areq);
    int32_t id3 = kclient_send(&c, API_METADATA, 12, &mreq);
    fetch_response_t *f = kclient_recv(&c, API_FETCH, 12, id1);
    ck_assert_int_eq(f->responses[0].partitions[0].records.len, 0);
    kclient_recv(&c, API_API_VERSIONS, 3, id2);
    metadata_response_t *m = kclient_recv(&c, API_METADATA, 12, id3);
    ck_assert_int_ge(m->topics_count, 2);
    kclient_close(&c);
}
END_TEST

START_TEST(more_pipelined_requests_than_the_in_flight_limit_are_all_answered)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "many", 1, false)->error_code, 0);
    fetch_request_t req;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    fetch_request_one(&req, &ft, &fp, "many", 0, 0, 100, 1);
    /* 300 waiting fetches in one write: the broker pauses reading at 256
     * in flight with the rest already read, and must resume on its own */
    enum { N = 300 };
    buf_t out;
    buf_init(&out, 0);
    for (int i = 0; i < N; i++) {
        size_t start = out.len;
        buf_put_i32(&out, 0);
        proto_request_header_t h = {API_FETCH, 12, 1000 + i, proto_str_of("t")};
        proto_request_header_write(&out, &h, 2);
        ck_assert_int_eq(proto_encode(&fetch_request_desc, 12, true, &req, &out, NULL), 0);
        be32_store(out.data + start, (uint32_t)(out.len - start - 4));
    }
    kclient_write_all(&c, out.data, out.len);
    for (int i = 0; i < N; i++)
        kclient_recv(&c, API_FETCH, 12, 1000 + i);
    buf_free(&out);
    kclient_close(&c);
}
END_TEST

START_TEST(a_bad_crc_is_refused_and_nothing_is_written)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "crc", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 2, 1000, 1);
    batch.data[batch.len - 1] ^= 0xff;
    ck_assert_int_eq(kclient_produce(&c, "crc", 0, 1, batch.data, batch.len)->error_code,
                     SAMSA_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(kclient_list_offset(&c, "crc", 0, -1)->offset, 0);
    /* a batch cut short is refused the same way */
    test_batch(&batch, 2, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "crc", 0, 1, batch.data, batch.len - 3)->error_code,
                     SAMSA_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(kclient_produce(&c, "nope", 0, 1, batch.data, batch.len)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kclient_produce(&c, "crc", 7, 1, batch.data, batch.len)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(
        kclient_produce(&c, "__consumer_offsets", 0, 1, batch.data, batch.len)->error_code,
        SAMSA_ERR_INVALID_TOPIC_EXCEPTION);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(a_frame_above_the_limit_closes_the_connection)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    uint8_t size[4];
    be32_store(size, 104857600 + 1);
    kclient_write_all(&c, size, 4);
    ck_assert(kclient_closed_by_peer(&c));
    kclient_close(&c);
}
END_TEST

START_TEST(an_unknown_api_key_closes_the_connection)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    uint8_t frame[] = {0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
    kclient_write_all(&c, frame, sizeof(frame));
    ck_assert(kclient_closed_by_peer(&c));
    kclient_close(&c);
}
END_TEST

START_TEST(a_malformed_header_closes_the_connection)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    /* Metadata v1 whose client id claims 300 bytes in a 10-byte frame */
    uint8_t frame[] = {0, 0, 0, 10, 0, 3, 0, 1, 0, 0, 0, 1, 0x01, 0x2c};
    kclient_write_all(&c, frame, sizeof(frame));
    ck_assert(kclient_closed_by_peer(&c));
    kclient_close(&c);
}
END_TEST

START_TEST(list_offsets_earliest_latest_by_timestamp_and_max)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "lo", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 3, 1000, 1000); /* offsets 0,1,2 at 1000,2000,3000 */
    ck_assert_int_eq(kclient_produce(&c, "lo", 0, 1, batch.data, batch.len)->error_code, 0);
    test_batch(&batch, 2, 4000, 1000); /* offsets 3,4 at 4000,5000 */
    ck_assert_int_eq(kclient_produce(&c, "lo", 0, 1, batch.data, batch.len)->error_code, 0);
    ck_assert_int_eq(kclient_list_offset(&c, "lo", 0, -2)->offset, 0);
    ck_assert_int_eq(kclient_list_offset(&c, "lo", 0, -1)->offset, 5);
    list_offsets_response_list_offsets_partition_response_t *p =
        kclient_list_offset(&c, "lo", 0, 1500);
    ck_assert_int_eq(p->offset, 1);
    ck_assert_int_eq(p->timestamp, 2000);
    p = kclient_list_offset(&c, "lo", 0, 4000);
    ck_assert_int_eq(p->offset, 3);
    ck_assert_int_eq(p->timestamp, 4000);
    p = kclient_list_offset(&c, "lo", 0, 9000);
    ck_assert_int_eq(p->offset, -1);
    p = kclient_list_offset(&c, "lo", 0, -3);
    ck_assert_int_eq(p->offset, 4);
    ck_assert_int_eq(p->timestamp, 5000);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(delete_records_moves_the_log_start)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "dr", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 4, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "dr", 0, 1, batch.data, batch.len)->error_code, 0);
    delete_records_request_delete_records_partition_t p = {0, 2};
    delete_records_request_delete_records_topic_t t = {proto_str_of("dr"), &p, 1};
    delete_records_request_t req = {&t, 1, 1000};
    delete_records_response_t *resp = kclient_call(&c, API_DELETE_RECORDS, 2, &req);
    ck_assert_int_eq(resp->topics[0].partitions[0].error_code, 0);
    ck_assert_int_eq(resp->topics[0].partitions[0].low_watermark, 2);
    ck_assert_int_eq(kclient_list_offset(&c, "dr", 0, -2)->offset, 2);
    ck_assert_int_eq(kclient_fetch(&c, "dr", 0, 0)->error_code, SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    p.offset = 99;
    resp = kclient_call(&c, API_DELETE_RECORDS, 2, &req);
    ck_assert_int_eq(resp->topics[0].partitions[0].error_code, SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(a_restart_keeps_the_data_and_the_topic_ids)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    proto_uuid_t id = kclient_create_topic(&c, "keep", 2, false)->topic_id;
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 3, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "keep", 1, -1, batch.data, batch.len)->error_code, 0);
    kclient_close(&c);
    char cluster[64];
    snprintf(cluster, sizeof(cluster), "%s", samsa_broker_cluster_id(tb.broker));
    test_broker_stop(&tb, false);
    test_broker_start(&tb, true, NULL);
    ck_assert_str_eq(samsa_broker_cluster_id(tb.broker), cluster);
    kclient_connect(&c, tb.bootstrap);
    metadata_response_metadata_response_topic_t *t = kclient_metadata(&c, "keep", false);
    ck_assert_int_eq(t->error_code, 0);
    ck_assert_int_eq(t->partitions_count, 2);
    ck_assert_mem_eq(&t->topic_id, &id, sizeof(id));
    fetch_response_partition_data_t *fp = kclient_fetch(&c, "keep", 1, 0);
    ck_assert_int_eq(fp->high_watermark, 3);
    ck_assert_int_eq(fp->records.len, (int32_t)batch.len);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

/* Three topics of five partitions, partition p of topic t holding
 * t * 5 + p + 1 records, are all there after restarts that open them with
 * 4 threads and with 1. */
START_TEST(a_restart_opening_partitions_in_parallel_keeps_every_one)
{
    static const char *const topics[] = {"para-a", "para-b", "para-c"};
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    buf_t batch;
    buf_init(&batch, 0);
    for (int t = 0; t < 3; t++) {
        kclient_create_topic(&c, topics[t], 5, false);
        for (int p = 0; p < 5; p++) {
            test_batch(&batch, t * 5 + p + 1, 1000, 1);
            ck_assert_int_eq(kclient_produce(&c, topics[t], p, 1, batch.data, batch.len)->error_code,
                             0);
        }
    }
    kclient_close(&c);
    static const char *const threads[] = {"4", "1"};
    for (int round = 0; round < 2; round++) {
        test_broker_stop(&tb, false);
        const char *const extra[] = {"num.recovery.threads.per.data.dir", threads[round], NULL};
        test_broker_start(&tb, true, extra);
        kclient_connect(&c, tb.bootstrap);
        for (int t = 0; t < 3; t++)
            for (int p = 0; p < 5; p++) {
                fetch_response_partition_data_t *fp = kclient_fetch(&c, topics[t], p, 0);
                ck_assert_int_eq(fp->error_code, 0);
                ck_assert_int_eq(fp->high_watermark, t * 5 + p + 1);
                ck_assert_int_gt(fp->records.len, 0);
            }
        kclient_close(&c);
    }
    buf_free(&batch);
}
END_TEST

/* A partition that cannot be opened (another holder has its lock) stops
 * the start, and the error names it; once it is free the broker starts. */
START_TEST(a_partition_that_cannot_be_opened_fails_the_start_by_name)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    kclient_create_topic(&c, "held", 6, false);
    kclient_close(&c);
    test_broker_stop(&tb, false);
    log_config_t cfg;
    log_config_init(&cfg);
    char err[512];
    partition_log_t *held = partition_log_open(tb.dir, "held", 4, &cfg, err, sizeof(err));
    ck_assert_msg(held != NULL, "%s", err);
    samsa_conf_t *conf = samsa_conf_new();
    ck_assert_int_eq(samsa_conf_set(conf, "log.dirs", tb.dir, err, sizeof(err)), 0);
    ck_assert_int_eq(samsa_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", err,
                                    sizeof(err)),
                     0);
    err[0] = '\0';
    samsa_broker_t *b = samsa_broker_new(conf, err, sizeof(err));
    ck_assert_ptr_null(b);
    samsa_conf_free(conf); /* still ours when the broker could not be made */
    ck_assert_msg(strstr(err, "held-4") != NULL, "error: %s", err);
    partition_log_close(held, true);
    test_broker_start(&tb, true, NULL);
}
END_TEST

START_TEST(a_client_leaving_with_a_parked_fetch_leaves_nothing_behind)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "gone", 1, false)->error_code, 0);
    fetch_request_t req;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    fetch_request_one(&req, &ft, &fp, "gone", 0, 0, 600000, 1);
    kclient_send(&c, API_FETCH, 12, &req);
    kclient_close(&c);
    /* the broker must drop the parked fetch; appending then wakes nobody */
    kclient_connect(&c, tb.bootstrap);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 1, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "gone", 0, 1, batch.data, batch.len)->error_code, 0);
    ck_assert_int_eq(kclient_fetch(&c, "gone", 0, 0)->high_watermark, 1);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(a_client_leaving_with_megabytes_of_responses_pending_leaves_the_broker_serving)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "reset", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 20000, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "reset", 0, 1, batch.data, batch.len)->error_code, 0);
    fetch_request_t req;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    fetch_request_one(&req, &ft, &fp, "reset", 0, 0, 0, 0);
    for (int i = 0; i < 50; i++)
        kclient_send(&c, API_FETCH, 12, &req);
    /* close while megabytes of responses are on their way: the broker's
     * writes fail (reset, broken pipe) and it drops the connection, its
     * queued responses and their log reads */
    kclient_close(&c);
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_metadata(&c, "reset", false)->error_code, 0);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, api_versions_lists_the_handled_ranges);
    tcase_add_test(tc, api_versions_above_ours_gets_unsupported_version_with_the_list_in_v0);
    tcase_add_test(tc, metadata_auto_creates_a_topic_with_an_id_that_stays);
    tcase_add_test(tc, metadata_without_auto_creation_reports_unknown_topic);
    tcase_add_test(tc, create_topics_creates_refuses_duplicates_and_bad_names);
    tcase_add_test(tc, delete_topics_by_name_and_by_id);
    tcase_add_test(tc, produce_acks_1_then_fetch_returns_the_exact_bytes);
    tcase_add_test(tc, produce_acks_all_then_fetch_returns_the_exact_bytes);
    tcase_add_test(tc, produce_acks_0_has_no_response_and_writes);
    tcase_add_test(tc, fetch_inside_a_batch_returns_the_whole_batch);
    tcase_add_test(tc, fetch_limits_give_the_first_batch_whole_and_stop_at_max_bytes);
    tcase_add_test(tc, long_poll_fetch_is_answered_by_an_append);
    tcase_add_test(tc, pipelined_requests_are_answered_in_order);
    tcase_add_test(tc, more_pipelined_requests_than_the_in_flight_limit_are_all_answered);
    tcase_add_test(tc, a_bad_crc_is_refused_and_nothing_is_written);
    tcase_add_test(tc, a_frame_above_the_limit_closes_the_connection);
    tcase_add_test(tc, an_unknown_api_key_closes_the_connection);
    tcase_add_test(tc, a_malformed_header_closes_the_connection);
    tcase_add_test(tc, list_offsets_earliest_latest_by_timestamp_and_max);
    tcase_add_test(tc, delete_records_moves_the_log_start);
    tcase_add_test(tc, a_restart_keeps_the_data_and_the_topic_ids);
    tcase_add_test(tc, a_restart_opening_partitions_in_parallel_keeps_every_one);
    tcase_add_test(tc, a_partition_that_cannot_be_opened_fails_the_start_by_name);
    tcase_add_test(tc, a_client_leaving_with_a_parked_fetch_leaves_nothing_behind);
    tcase_add_test(tc, a_client_leaving_with_megabytes_of_responses_pending_leaves_the_broker_serving);
    suite_add_tcase(s, tc);
    return kclient_run(s);
}
