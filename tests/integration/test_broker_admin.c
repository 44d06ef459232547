/*
 * Integration tests of the broker's other APIs: topic ids in Produce and
 * Fetch, size limits, CreatePartitions, DescribeConfigs, DescribeCluster,
 * OffsetForLeaderEpoch, Produce v0-2, and two brokers in one process.
 */
#include "kclient.h"

static test_broker_t tb;
static const char *const small_limits[] = {"message.max.bytes", "200", "num.partitions", "2",
                                           NULL};

static void setup(void) { test_broker_start(&tb, false, small_limits); }
static void teardown(void) { test_broker_stop(&tb, true); }

START_TEST(produce_and_fetch_name_topics_by_id_from_v13)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    proto_uuid_t id = kclient_create_topic(&c, "byid", 1, false)->topic_id;
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 2, 1000, 1);
    produce_request_partition_produce_data_t pd = {0, {batch.data, (int32_t)batch.len, NULL}};
    produce_request_topic_produce_data_t td = {{NULL, -1}, id, &pd, 1};
    produce_request_t req;
    proto_init(&produce_request_desc, &req);
    req.acks = 1;
    req.timeout_ms = 1000;
    req.topic_data = &td;
    req.topic_data_count = 1;
    produce_response_t *resp = kclient_call(&c, API_PRODUCE, 13, &req);
    ck_assert_mem_eq(&resp->responses[0].topic_id, &id, sizeof(id));
    ck_assert_int_eq(resp->responses[0].partition_responses[0].error_code, 0);

    fetch_request_t freq;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    fetch_request_one(&freq, &ft, &fp, "", 0, 0, 0, 0);
    ft.topic_id = id;
    fetch_response_t *fresp = kclient_call(&c, API_FETCH, 17, &freq);
    ck_assert_mem_eq(&fresp->responses[0].topic_id, &id, sizeof(id));
    ck_assert_int_eq(fresp->responses[0].partitions[0].records.len, (int32_t)batch.len);

    ft.topic_id.bytes[0] ^= 1;
    fresp = kclient_call(&c, API_FETCH, 17, &freq);
    ck_assert_int_eq(fresp->responses[0].partitions[0].error_code, SAMSA_ERR_UNKNOWN_TOPIC_ID);
    td.topic_id.bytes[0] ^= 1;
    resp = kclient_call(&c, API_PRODUCE, 13, &req);
    ck_assert_int_eq(resp->responses[0].partition_responses[0].error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_ID);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(a_batch_above_message_max_bytes_is_refused)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "big", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 20, 1000, 1);
    ck_assert_uint_gt(batch.len, 200);
    ck_assert_int_eq(kclient_produce(&c, "big", 0, 1, batch.data, batch.len)->error_code,
                     SAMSA_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(kclient_list_offset(&c, "big", 0, -1)->offset, 0);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(fetch_session_requests_get_no_session)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "sess", 1, false)->error_code, 0);
    fetch_request_t req;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    fetch_request_one(&req, &ft, &fp, "sess", 0, 0, 0, 0);
    req.session_epoch = 0; /* asks for a new session */
    fetch_response_t *resp = kclient_call(&c, API_FETCH, 12, &req);
    ck_assert_int_eq(resp->error_code, 0);
    ck_assert_int_eq(resp->session_id, 0);
    ck_assert_int_eq(resp->responses_count, 1);
    req.session_id = 12345;
    req.session_epoch = 1;
    resp = kclient_call(&c, API_FETCH, 12, &req);
    ck_assert_int_eq(resp->error_code, SAMSA_ERR_FETCH_SESSION_ID_NOT_FOUND);
    kclient_close(&c);
}
END_TEST

START_TEST(create_partitions_grows_a_topic)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_metadata(&c, "grow", true)->partitions_count, 2);
    create_partitions_request_create_partitions_topic_t t = {proto_str_of("grow"), 5, NULL, -1};
    create_partitions_request_t req = {&t, 1, 1000, false};
    create_partitions_response_t *resp = kclient_call(&c, API_CREATE_PARTITIONS, 3, &req);
    ck_assert_int_eq(resp->results[0].error_code, 0);
    ck_assert_int_eq(kclient_metadata(&c, "grow", false)->partitions_count, 5);
    t.count = 4;
    resp = kclient_call(&c, API_CREATE_PARTITIONS, 3, &req);
    ck_assert_int_eq(resp->results[0].error_code, SAMSA_ERR_INVALID_PARTITIONS);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 1, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "grow", 4, 1, batch.data, batch.len)->error_code, 0);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

static const describe_configs_response_describe_configs_resource_result_t *
find_config(const describe_configs_response_describe_configs_result_t *r, const char *name)
{
    for (int32_t i = 0; i < r->configs_count; i++)
        if (proto_str_eq(r->configs[i].name, name))
            return &r->configs[i];
    return NULL;
}

START_TEST(describe_configs_reports_topic_and_broker_values_with_sources)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    create_topics_request_creatable_topic_config_t cfg = {proto_str_of("retention.ms"),
                                                          proto_str_of("60000")};
    create_topics_request_creatable_topic_t t;
    memset(&t, 0, sizeof(t));
    t.name = proto_str_of("conf");
    t.num_partitions = 1;
    t.replication_factor = 1;
    t.configs = &cfg;
    t.configs_count = 1;
    create_topics_request_t creq;
    proto_init(&create_topics_request_desc, &creq);
    creq.topics = &t;
    creq.topics_count = 1;
    create_topics_response_t *cresp = kclient_call(&c, API_CREATE_TOPICS, 7, &creq);
    ck_assert_int_eq(cresp->topics[0].error_code, 0);
    cfg.name = proto_str_of("cleanup.policy");
    cfg.value = proto_str_of("compact");
    t.name = proto_str_of("conf2");
    cresp = kclient_call(&c, API_CREATE_TOPICS, 7, &creq);
    ck_assert_int_eq(cresp->topics[0].error_code, SAMSA_ERR_INVALID_CONFIG);

    describe_configs_request_describe_configs_resource_t res[2] = {
        {2, proto_str_of("conf"), NULL, -1}, {4, proto_str_of("1"), NULL, -1}};
    describe_configs_request_t req = {res, 2, false, false};
    describe_configs_response_t *resp = kclient_call(&c, API_DESCRIBE_CONFIGS, 4, &req);
    ck_assert_int_eq(resp->results_count, 2);
    ck_assert_int_eq(resp->results[0].error_code, 0);
    const describe_configs_response_describe_configs_resource_result_t *e =
        find_config(&resp->results[0], "retention.ms");
    ck_assert_ptr_nonnull(e);
    ck_assert(proto_str_eq(e->value, "60000"));
    ck_assert_int_eq(e->config_source, 1); /* TOPIC_CONFIG */
    e = find_config(&resp->results[0], "max.message.bytes");
    ck_assert(proto_str_eq(e->value, "200"));
    ck_assert_int_eq(e->config_source, 5); /* DEFAULT_CONFIG */
    e = find_config(&resp->results[1], "message.max.bytes");
    ck_assert(proto_str_eq(e->value, "200"));
    ck_assert_int_eq(e->config_source, 4); /* STATIC_BROKER_CONFIG */
    e = find_config(&resp->results[1], "num.network.threads");
    ck_assert_int_eq(e->config_source, 5);
    kclient_close(&c);
}
END_TEST

START_TEST(describe_cluster_and_leader_epochs_name_this_node)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    describe_cluster_request_t req = {false, 1, false};
    describe_cluster_response_t *resp = kclient_call(&c, API_DESCRIBE_CLUSTER, 1, &req);
    ck_assert_int_eq(resp->error_code, 0);
    ck_assert(proto_str_eq(resp->cluster_id, samsa_broker_cluster_id(tb.broker)));
    ck_assert_int_eq(resp->controller_id, 1);
    ck_assert_int_eq(resp->brokers_count, 1);

    ck_assert_int_eq(kclient_create_topic(&c, "epoch", 1, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 3, 1000, 1);
    ck_assert_int_eq(kclient_produce(&c, "epoch", 0, 1, batch.data, batch.len)->error_code, 0);
    offset_for_leader_epoch_request_offset_for_leader_partition_t p = {0, 0, 0};
    offset_for_leader_epoch_request_offset_for_leader_topic_t t = {proto_str_of("epoch"), &p, 1};
    offset_for_leader_epoch_request_t oreq = {-1, &t, 1};
    offset_for_leader_epoch_response_t *oresp =
        kclient_call(&c, API_OFFSET_FOR_LEADER_EPOCH, 4, &oreq);
    ck_assert_int_eq(oresp->topics[0].partitions[0].error_code, 0);
    ck_assert_int_eq(oresp->topics[0].partitions[0].leader_epoch, 0);
    ck_assert_int_eq(oresp->topics[0].partitions[0].end_offset, 3);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(produce_v2_gets_an_answer_in_its_own_layout)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "old", 1, false)->error_code, 0);
    /* Produce v2: acks 1, timeout, one topic "old" with partition 0 and a
     * 3-byte message set */
    uint8_t frame[] = {0,   0, 0, 39, 0, 0, 0, 2, 0, 0, 0, 77, 0,   1, 'x', 0, 1, 0, 0, 0x03,
                       0xe8, 0, 0, 0, 1, 0, 3, 'o', 'l', 'd', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                       3,   1, 2, 3};
    be32_store(frame, sizeof(frame) - 4);
    kclient_write_all(&c, frame, sizeof(frame));
    size_t len;
    uint8_t *resp = kclient_read_frame(&c, &len);
    ck_assert_ptr_nonnull(resp);
    reader_t r = reader_make(resp, len);
    ck_assert_int_eq(reader_i32(&r), 77);   /* correlation id */
    ck_assert_int_eq(reader_i32(&r), 1);    /* topics */
    ck_assert_int_eq(reader_i16(&r), 3);
    reader_take(&r, 3);
    ck_assert_int_eq(reader_i32(&r), 1);    /* partitions */
    ck_assert_int_eq(reader_i32(&r), 0);    /* index */
    ck_assert_int_eq(reader_i16(&r), SAMSA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    ck_assert_int_eq(reader_i64(&r), -1);   /* base offset */
    ck_assert_int_eq(reader_i64(&r), -1);   /* log append time (v2) */
    ck_assert_int_eq(reader_i32(&r), 0);    /* throttle time */
    ck_assert(reader_ok(&r));
    ck_assert_uint_eq(reader_left(&r), 0);
    kclient_close(&c);
}
END_TEST

START_TEST(two_brokers_run_in_one_process)
{
    test_broker_t other;
    test_broker_start(&other, false, NULL);
    ck_assert_str_ne(other.bootstrap, tb.bootstrap);
    ck_assert_str_ne(samsa_broker_cluster_id(other.broker), samsa_broker_cluster_id(tb.broker));
    kclient_t a, b;
    kclient_connect(&a, tb.bootstrap);
    kclient_connect(&b, other.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&a, "only.in.a", 1, false)->error_code, 0);
    ck_assert_int_eq(kclient_metadata(&b, "only.in.a", false)->error_code,
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kclient_close(&a);
    kclient_close(&b);
    test_broker_stop(&other, true);
}
END_TEST

START_TEST(a_log_dir_in_use_is_refused)
{
    samsa_conf_t *conf = samsa_conf_new();
    char err[512];
    samsa_conf_set(conf, "log.dirs", tb.dir, NULL, 0);
    samsa_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", NULL, 0);
    ck_assert_ptr_null(samsa_broker_new(conf, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    samsa_conf_free(conf);
}
END_TEST

START_TEST(log_append_time_topics_stamp_the_brokers_clock)
{
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    create_topics_request_creatable_topic_config_t cfg = {proto_str_of("message.timestamp.type"),
                                                          proto_str_of("LogAppendTime")};
    create_topics_request_creatable_topic_t t;
    memset(&t, 0, sizeof(t));
    t.name = proto_str_of("lat");
    t.num_partitions = 1;
    t.replication_factor = -1;
    t.configs = &cfg;
    t.configs_count = 1;
    create_topics_request_t creq;
    proto_init(&create_topics_request_desc, &creq);
    creq.topics = &t;
    creq.topics_count = 1;
    ck_assert_int_eq(((create_topics_response_t *)kclient_call(&c, API_CREATE_TOPICS, 7, &creq))
                         ->topics[0]
                         .error_code,
                     0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 2, 1000, 1);
    produce_response_partition_produce_response_t *pr =
        kclient_produce(&c, "lat", 0, 1, batch.data, batch.len);
    ck_assert_int_eq(pr->error_code, 0);
    int64_t stamped = pr->log_append_time_ms;
    ck_assert_int_gt(stamped, 1600000000000); /* the broker's clock, not 1000 */
    fetch_response_partition_data_t *fp = kclient_fetch(&c, "lat", 0, 0);
    batch_header_t h;
    ck_assert_int_eq(batch_validate(fp->records.data, (size_t)fp->records.len, &h), 0);
    ck_assert(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
    ck_assert_int_eq(h.max_timestamp, stamped);
    /* a corrupt batch is still refused, not given a fresh CRC */
    test_batch(&batch, 2, 1000, 1);
    batch.data[batch.len - 1] ^= 1;
    ck_assert_int_eq(kclient_produce(&c, "lat", 0, 1, batch.data, batch.len)->error_code,
                     SAMSA_ERR_CORRUPT_MESSAGE);
    buf_free(&batch);
    kclient_close(&c);
}
END_TEST

START_TEST(partitions_spread_over_several_log_dirs_and_come_back)
{
    test_broker_t multi;
    char dirs[600];
    snprintf(multi.dir, sizeof(multi.dir), "/tmp/samsa-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(multi.dir));
    snprintf(dirs, sizeof(dirs), "%s/a,%s/b", multi.dir, multi.dir);
    const char *const extra[] = {"log.dirs", dirs, NULL};
    test_broker_start(&multi, true, extra);
    kclient_t c;
    kclient_connect(&c, multi.bootstrap);
    ck_assert_int_eq(kclient_create_topic(&c, "spread", 4, false)->error_code, 0);
    buf_t batch;
    buf_init(&batch, 0);
    test_batch(&batch, 1, 1000, 1);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(kclient_produce(&c, "spread", p, 1, batch.data, batch.len)->error_code,
                         0);
    kclient_close(&c);
    samsa_broker_free(multi.broker);
    char path[700];
    int in_a = 0, in_b = 0;
    for (int p = 0; p < 4; p++) {
        snprintf(path, sizeof(path), "%s/a/spread-%d", multi.dir, p);
        in_a += access(path, F_OK) == 0;
        snprintf(path, sizeof(path), "%s/b/spread-%d", multi.dir, p);
        in_b += access(path, F_OK) == 0;
    }
    ck_assert_int_eq(in_a + in_b, 4);
    ck_assert_int_gt(in_a, 0);
    ck_assert_int_gt(in_b, 0);
    test_broker_start(&multi, true, extra);
    kclient_connect(&c, multi.bootstrap);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(kclient_fetch(&c, "spread", p, 0)->high_watermark, 1);
    kclient_close(&c);
    buf_free(&batch);
    test_broker_stop(&multi, true);
}
END_TEST

START_TEST(an_idle_connection_is_closed)
{
    test_broker_t idle;
    const char *const extra[] = {"connections.max.idle.ms", "50", NULL};
    test_broker_start(&idle, false, extra);
    kclient_t c;
    kclient_connect(&c, idle.bootstrap);
    ck_assert_int_eq(kclient_metadata(&c, "idle", true)->error_code, 0);
    ck_assert(kclient_closed_by_peer(&c));
    kclient_close(&c);
    test_broker_stop(&idle, true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("broker_admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, produce_and_fetch_name_topics_by_id_from_v13);
    tcase_add_test(tc, a_batch_above_message_max_bytes_is_refused);
    tcase_add_test(tc, fetch_session_requests_get_no_session);
    tcase_add_test(tc, create_partitions_grows_a_topic);
    tcase_add_test(tc, describe_configs_reports_topic_and_broker_values_with_sources);
    tcase_add_test(tc, describe_cluster_and_leader_epochs_name_this_node);
    tcase_add_test(tc, produce_v2_gets_an_answer_in_its_own_layout);
    tcase_add_test(tc, two_brokers_run_in_one_process);
    tcase_add_test(tc, a_log_dir_in_use_is_refused);
    tcase_add_test(tc, log_append_time_topics_stamp_the_brokers_clock);
    tcase_add_test(tc, partitions_spread_over_several_log_dirs_and_come_back);
    tcase_add_test(tc, an_idle_connection_is_closed);
    suite_add_tcase(s, tc);
    return kclient_run(s);
}
