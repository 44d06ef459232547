/*
 * Integration tests of the admin client (samsa_admin_*) against an
 * embedded samsa broker: topics created, validated, refused and deleted,
 * partitions added, cluster and topic metadata, offsets listed (earliest,
 * latest, by timestamp), records deleted, configs described, group offsets
 * committed and read back, groups listed and described.
 */
#include <pthread.h>

#include "kclient.h"

#define TIMEOUT_MS 10000

static test_broker_t tb;
static samsa_admin_t *adm;

static void setup(void)
{
    static const char *const extra[] = {"num.partitions", "3", "group.initial.rebalance.delay.ms",
                                        "0", NULL};
    test_broker_start(&tb, false, extra);
    const char *keys[] = {"bootstrap.servers", "client.id"};
    const char *values[] = {tb.bootstrap, "admin-test"};
    char errstr[512];
    adm = samsa_admin_new_kv(keys, values, 2, errstr, sizeof(errstr));
    ck_assert_msg(adm != NULL, "samsa_admin_new_kv: %s", errstr);
}

static void teardown(void)
{
    samsa_admin_free(adm);
    test_broker_stop(&tb, true);
}

static void create_topic(const char *name, int32_t partitions)
{
    samsa_new_topic_t t = {name, partitions, 1, NULL, 0};
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_create_topics(adm, &t, 1, 0, TIMEOUT_MS, &r), 0);
    ck_assert_msg(r[0].err == 0, "create %s: %s", name, r[0].errstr);
    samsa_topic_results_free(r);
}

/* Writes n messages with timestamps ts0_ms, ts0_ms + 1000 ... to partition. */
static void produce(const char *topic, int32_t partition, int n, int64_t ts0_ms)
{
    const char *keys[] = {"bootstrap.servers", "linger.ms"};
    const char *values[] = {tb.bootstrap, "0"};
    char errstr[512];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, 2, NULL, errstr, sizeof(errstr));
    ck_assert_msg(p != NULL, "%s", errstr);
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof(v), "v%d", i);
        ck_assert_int_eq(samsa_producer_send(p, topic, partition, NULL, 0, v, (size_t)len, NULL, 0,
                                             ts0_ms + 1000 * i, 0, NULL),
                         0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, TIMEOUT_MS), 0);
    samsa_producer_free(p);
}

START_TEST(a_new_conf_with_an_unknown_property_is_refused)
{
    const char *keys[] = {"bootstrap.servers", "no.such.thing"};
    const char *values[] = {"127.0.0.1:1", "1"};
    char errstr[256];
    ck_assert_ptr_null(samsa_admin_new_kv(keys, values, 2, errstr, sizeof(errstr)));
    ck_assert_ptr_nonnull(strstr(errstr, "no.such.thing"));
    samsa_conf_t *conf = samsa_conf_new();
    ck_assert_int_eq(samsa_conf_set(conf, "bootstrap.servers", tb.bootstrap, NULL, 0), 0);
    /* Above the producer's delivery.timeout.ms, which an admin client ignores. */
    ck_assert_int_eq(samsa_conf_set(conf, "request.timeout.ms", "200000", NULL, 0), 0);
    samsa_admin_t *a = samsa_admin_new(conf, errstr, sizeof(errstr));
    ck_assert_ptr_nonnull(a);
    samsa_admin_free(a);
}
END_TEST

START_TEST(create_topics_reports_each_topic)
{
    samsa_topic_config_t cfg = {"retention.ms", "60000"};
    samsa_new_topic_t topics[] = {
        {"alpha", 2, 1, &cfg, 1},
        {"bad/name", 1, 1, NULL, 0},
        {"zero", 0, 1, NULL, 0},
        {"defaults", -1, -1, NULL, 0},
    };
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_create_topics(adm, topics, 4, 0, TIMEOUT_MS, &r), 0);
    ck_assert_str_eq(samsa_admin_last_error(), "");
    ck_assert_str_eq(r[0].topic, "alpha");
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_str_eq(r[0].errstr, "");
    ck_assert_str_eq(r[1].topic, "bad/name");
    ck_assert_int_eq(r[1].err, SAMSA_ERR_INVALID_TOPIC_EXCEPTION);
    ck_assert_ptr_nonnull(strstr(r[1].errstr, "create topic bad/name: INVALID_TOPIC_EXCEPTION"));
    ck_assert_ptr_nonnull(strstr(r[1].errstr, tb.bootstrap));
    ck_assert_int_eq(r[2].err, SAMSA_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(r[3].err, 0);
    samsa_topic_results_free(r);

    ck_assert_int_eq(samsa_admin_create_topics(adm, topics, 1, 0, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, SAMSA_ERR_TOPIC_ALREADY_EXISTS);
    samsa_topic_results_free(r);

    const char *names[] = {"alpha", "defaults"};
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_list_topics(adm, names, 2, 0, TIMEOUT_MS, &info), 0);
    ck_assert_uint_eq(info->topic_count, 2);
    ck_assert_uint_eq(info->topics[0].partition_count, 2);
    ck_assert_uint_eq(info->topics[1].partition_count, 3); /* num.partitions */
    samsa_cluster_info_free(info);
}
END_TEST

START_TEST(validate_only_creates_nothing)
{
    samsa_new_topic_t t = {"maybe", 4, 1, NULL, 0};
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_create_topics(adm, &t, 1, 1, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    samsa_topic_results_free(r);
    const char *names[] = {"maybe"};
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_list_topics(adm, names, 1, 0, TIMEOUT_MS, &info), 0);
    ck_assert_uint_eq(info->topic_count, 1);
    ck_assert_int_eq(info->topics[0].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    samsa_cluster_info_free(info);
}
END_TEST

START_TEST(bad_arguments_fail_before_anything_is_sent)
{
    samsa_topic_result_t *r = (samsa_topic_result_t *)1;
    ck_assert_int_eq(samsa_admin_create_topics(adm, NULL, 1, 0, TIMEOUT_MS, &r),
                     SAMSA_ERR__INVALID_ARG);
    ck_assert_ptr_null(r);
    ck_assert_str_ne(samsa_admin_last_error(), "");
    const char *names[] = {"x"};
    ck_assert_int_eq(samsa_admin_delete_topics(adm, names, 1, 0, &r), SAMSA_ERR__INVALID_ARG);
    samsa_partition_offset_t bad = {"x", 0, -7};
    samsa_offset_result_t *o = NULL;
    ck_assert_int_eq(samsa_admin_list_offsets(adm, &bad, 1, TIMEOUT_MS, &o), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(samsa_admin_delete_records(adm, &bad, 1, TIMEOUT_MS, &o), SAMSA_ERR__INVALID_ARG);
}
END_TEST

START_TEST(delete_topics_removes_them)
{
    create_topic("doomed", 1);
    samsa_partition_offset_t q = {"doomed", 0, SAMSA_OFFSET_SPEC_LATEST};
    samsa_offset_result_t *o = NULL;
    ck_assert_int_eq(samsa_admin_list_offsets(adm, &q, 1, TIMEOUT_MS, &o), 0);
    ck_assert_int_eq(o[0].err, 0);
    samsa_offset_results_free(o);
    const char *names[] = {"doomed", "never-was"};
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_delete_topics(adm, names, 2, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_str_eq(r[1].topic, "never-was");
    ck_assert_int_eq(r[1].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    samsa_topic_results_free(r);
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_list_topics(adm, NULL, 0, 0, TIMEOUT_MS, &info), 0);
    for (size_t i = 0; i < info->topic_count; i++)
        ck_assert_str_ne(info->topics[i].name, "doomed");
    samsa_cluster_info_free(info);
    /* The client knew the topic's leader; it asks again rather than retry. */
    ck_assert_int_eq(samsa_admin_list_offsets(adm, &q, 1, TIMEOUT_MS, &o), 0);
    ck_assert_int_eq(o[0].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    samsa_offset_results_free(o);
}
END_TEST

START_TEST(create_partitions_grows_and_refuses_to_shrink)
{
    create_topic("grow", 1);
    samsa_new_partitions_t p[] = {{"grow", 4}, {"missing", 2}};
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_create_partitions(adm, p, 2, 0, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[1].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    samsa_topic_results_free(r);
    p[0].total_count = 2;
    ck_assert_int_eq(samsa_admin_create_partitions(adm, p, 1, 0, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, SAMSA_ERR_INVALID_PARTITIONS);
    samsa_topic_results_free(r);
    p[0].total_count = 9;
    ck_assert_int_eq(samsa_admin_create_partitions(adm, p, 1, 1, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    samsa_topic_results_free(r);
    const char *names[] = {"grow"};
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_list_topics(adm, names, 1, 0, TIMEOUT_MS, &info), 0);
    ck_assert_uint_eq(info->topics[0].partition_count, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(info->topics[0].partitions[i].partition, (int32_t)i);
    samsa_cluster_info_free(info);
}
END_TEST

START_TEST(describe_cluster_and_list_topics_tell_what_metadata_says)
{
    create_topic("meta", 2);
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_describe_cluster(adm, TIMEOUT_MS, &info), 0);
    ck_assert_str_eq(info->cluster_id, samsa_broker_cluster_id(tb.broker));
    ck_assert_uint_eq(info->broker_count, 1);
    ck_assert_int_eq(info->controller_id, info->brokers[0].node_id);
    char hostport[300];
    snprintf(hostport, sizeof(hostport), "%s:%d", info->brokers[0].host, info->brokers[0].port);
    ck_assert_str_eq(hostport, tb.bootstrap);
    ck_assert_ptr_null(info->brokers[0].rack);
    ck_assert_uint_eq(info->topic_count, 0);
    samsa_cluster_info_free(info);

    ck_assert_int_eq(samsa_admin_list_topics(adm, NULL, 0, 0, TIMEOUT_MS, &info), 0);
    ck_assert_uint_eq(info->topic_count, 1);
    samsa_topic_info_t *t = &info->topics[0];
    ck_assert_str_eq(t->name, "meta");
    ck_assert_int_eq(t->internal, 0);
    uint8_t zero[16] = {0};
    ck_assert(memcmp(t->topic_id, zero, 16) != 0);
    ck_assert_uint_eq(t->partition_count, 2);
    for (size_t i = 0; i < 2; i++) {
        samsa_partition_info_t *p = &t->partitions[i];
        ck_assert_int_eq(p->partition, (int32_t)i);
        ck_assert_int_eq(p->err, 0);
        ck_assert_int_eq(p->leader, info->brokers[0].node_id);
        ck_assert_uint_eq(p->replica_count, 1);
        ck_assert_int_eq(p->replicas[0], p->leader);
        ck_assert_uint_eq(p->isr_count, 1);
        ck_assert_int_eq(p->isr[0], p->leader);
    }
    samsa_cluster_info_free(info);

    ck_assert_int_eq(samsa_admin_list_topics(adm, NULL, 0, 1, TIMEOUT_MS, &info), 0);
    ck_assert_uint_eq(info->topic_count, 2);
    ck_assert_str_eq(info->topics[0].name, "__consumer_offsets");
    ck_assert_int_ne(info->topics[0].internal, 0);
    samsa_cluster_info_free(info);
}
END_TEST

START_TEST(list_offsets_finds_earliest_latest_and_by_timestamp)
{
    create_topic("offs", 2);
    produce("offs", 1, 5, 1700000000000);
    samsa_partition_offset_t q[] = {
        {"offs", 1, SAMSA_OFFSET_SPEC_EARLIEST},
        {"offs", 1, SAMSA_OFFSET_SPEC_LATEST},
        {"offs", 1, 1700000002500},
        {"offs", 1, 1700000009000},
        {"offs", 1, SAMSA_OFFSET_SPEC_MAX_TIMESTAMP},
        {"offs", 0, SAMSA_OFFSET_SPEC_LATEST},
        {"offs", 7, SAMSA_OFFSET_SPEC_LATEST},
        {"nope", 0, SAMSA_OFFSET_SPEC_LATEST},
    };
    samsa_offset_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_list_offsets(adm, q, 8, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[0].offset, 0);
    ck_assert_int_eq(r[1].offset, 5);
    ck_assert_int_eq(r[2].offset, 3);
    ck_assert_int_eq(r[2].timestamp_ms, 1700000003000);
    ck_assert_int_eq(r[3].err, 0);
    ck_assert_int_eq(r[3].offset, -1);
    ck_assert_int_eq(r[4].offset, 4);
    ck_assert_int_eq(r[4].timestamp_ms, 1700000004000);
    ck_assert_int_eq(r[5].offset, 0);
    ck_assert_str_eq(r[6].topic, "offs");
    ck_assert_int_eq(r[6].partition, 7);
    ck_assert_int_eq(r[6].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_nonnull(strstr(r[6].errstr, "offs [7]"));
    ck_assert_int_eq(r[7].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_nonnull(strstr(r[7].errstr, "nope [0]"));
    samsa_offset_results_free(r);
}
END_TEST

START_TEST(delete_records_moves_the_earliest_offset)
{
    create_topic("trim", 1);
    produce("trim", 0, 6, 1700000000000);
    samsa_partition_offset_t d[] = {{"trim", 0, 4}, {"trim", 3, 1}};
    samsa_offset_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_delete_records(adm, d, 2, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[0].offset, 4);
    ck_assert_int_eq(r[1].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    samsa_offset_results_free(r);
    samsa_partition_offset_t q = {"trim", 0, SAMSA_OFFSET_SPEC_EARLIEST};
    ck_assert_int_eq(samsa_admin_list_offsets(adm, &q, 1, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].offset, 4);
    samsa_offset_results_free(r);
    d[0].offset = 10;
    ck_assert_int_eq(samsa_admin_delete_records(adm, d, 1, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    samsa_offset_results_free(r);
    d[0].offset = -1;
    ck_assert_int_eq(samsa_admin_delete_records(adm, d, 1, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[0].offset, 6);
    samsa_offset_results_free(r);
}
END_TEST

static const samsa_config_entry_t *find_entry(const samsa_config_result_t *r, const char *name)
{
    for (size_t i = 0; i < r->entry_count; i++)
        if (!strcmp(r->entries[i].name, name))
            return &r->entries[i];
    return NULL;
}

START_TEST(describe_configs_of_a_topic_and_the_broker)
{
    samsa_topic_config_t cfg = {"retention.ms", "123456"};
    samsa_new_topic_t t = {"conf", 1, 1, &cfg, 1};
    samsa_topic_result_t *tr = NULL;
    ck_assert_int_eq(samsa_admin_create_topics(adm, &t, 1, 0, TIMEOUT_MS, &tr), 0);
    ck_assert_int_eq(tr[0].err, 0);
    samsa_topic_results_free(tr);
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_describe_cluster(adm, TIMEOUT_MS, &info), 0);
    char node[16];
    snprintf(node, sizeof(node), "%d", (int)info->brokers[0].node_id);
    samsa_cluster_info_free(info);

    samsa_config_resource_t res[] = {
        {SAMSA_RESOURCE_TOPIC, "conf"},
        {SAMSA_RESOURCE_BROKER, node},
        {SAMSA_RESOURCE_TOPIC, "absent"},
        {SAMSA_RESOURCE_BROKER, "999"},
    };
    samsa_config_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_describe_configs(adm, res, 4, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    const samsa_config_entry_t *e = find_entry(&r[0], "retention.ms");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->value, "123456");
    ck_assert_int_eq(e->source, SAMSA_CONFIG_SOURCE_DYNAMIC_TOPIC);
    ck_assert_int_eq(e->is_default, 0);
    ck_assert_str_eq(samsa_config_source_name(e->source), "DYNAMIC_TOPIC_CONFIG");
    for (size_t i = 1; i < r[0].entry_count; i++)
        ck_assert(strcmp(r[0].entries[i - 1].name, r[0].entries[i].name) < 0);
    ck_assert_int_eq(r[1].err, 0);
    ck_assert_uint_gt(r[1].entry_count, 0);
    e = find_entry(&r[1], "num.partitions");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->value, "3");
    ck_assert_int_eq(r[2].err, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(r[3].err, SAMSA_ERR_BROKER_NOT_AVAILABLE);
    ck_assert_ptr_nonnull(strstr(r[3].errstr, "broker 999"));
    samsa_config_results_free(r);
}
END_TEST

START_TEST(group_offsets_commit_list_and_describe)
{
    create_topic("gt", 2);
    samsa_group_list_t *list = NULL;
    ck_assert_int_eq(samsa_admin_list_groups(adm, TIMEOUT_MS, &list), 0);
    ck_assert_uint_eq(list->group_count, 0);
    samsa_group_list_free(list);

    samsa_partition_offset_t commit[] = {{"gt", 0, 7}, {"gt", 1, 3}};
    samsa_offset_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_alter_group_offsets(adm, "g1", commit, 2, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[0].offset, 7);
    ck_assert_int_eq(r[1].err, 0);
    samsa_offset_results_free(r);

    size_t count = 0;
    ck_assert_int_eq(samsa_admin_list_group_offsets(adm, "g1", NULL, 0, TIMEOUT_MS, &r, &count), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_str_eq(r[0].topic, "gt");
    ck_assert_int_eq(r[0].partition, 0);
    ck_assert_int_eq(r[0].offset, 7);
    ck_assert_int_eq(r[1].partition, 1);
    ck_assert_int_eq(r[1].offset, 3);
    samsa_offset_results_free(r);

    samsa_topic_partition_t which[] = {{.topic = "gt", .partition = 1}, {.topic = "gt", .partition = 5}};
    ck_assert_int_eq(samsa_admin_list_group_offsets(adm, "g1", which, 2, TIMEOUT_MS, &r, &count), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(r[0].offset, 3);
    ck_assert_int_eq(r[1].offset, -1);
    samsa_offset_results_free(r);

    ck_assert_int_eq(samsa_admin_list_groups(adm, TIMEOUT_MS, &list), 0);
    ck_assert_uint_eq(list->group_count, 1);
    ck_assert_str_eq(list->groups[0].group_id, "g1");
    ck_assert_str_eq(list->groups[0].state, "Empty");
    samsa_group_list_free(list);

    const char *groups[] = {"g1", "nobody"};
    samsa_group_description_t *d = NULL;
    ck_assert_int_eq(samsa_admin_describe_groups(adm, groups, 2, TIMEOUT_MS, &d), 0);
    ck_assert_int_eq(d[0].err, 0);
    ck_assert_str_eq(d[0].state, "Empty");
    ck_assert_uint_eq(d[0].member_count, 0);
    ck_assert_int_ge(d[0].coordinator_id, 0);
    ck_assert_str_eq(d[1].group_id, "nobody");
    ck_assert_int_eq(d[1].err, SAMSA_ERR_GROUP_ID_NOT_FOUND);
    ck_assert_str_eq(d[1].state, "Dead");
    ck_assert_uint_eq(d[1].member_count, 0);
    samsa_group_descriptions_free(d);
}
END_TEST

/* The consumer protocol's assignment of partitions 0 and 1 of topic. */
static size_t consumer_assignment(uint8_t *out, const char *topic)
{
    buf_t b;
    buf_init(&b, 0);
    buf_put_i16(&b, 0);
    buf_put_i32(&b, 1);
    buf_put_i16(&b, (int16_t)strlen(topic));
    buf_put(&b, topic, strlen(topic));
    buf_put_i32(&b, 2);
    buf_put_i32(&b, 0);
    buf_put_i32(&b, 1);
    buf_put_i32(&b, -1);
    size_t len = b.len;
    memcpy(out, b.data, len);
    buf_free(&b);
    return len;
}

START_TEST(a_group_with_a_member_is_described_with_its_assignment)
{
    create_topic("live", 2);
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    static const uint8_t subscription[] = {0, 0, 0, 0, 0, 1, 0, 4, 'l', 'i', 'v', 'e', 0xff, 0xff, 0xff, 0xff};
    join_group_request_join_group_request_protocol_t proto = {
        proto_str_of("range"), {subscription, (int32_t)sizeof(subscription)}};
    join_group_request_t join;
    proto_init(&join_group_request_desc, &join);
    join.group_id = proto_str_of("live-group");
    join.session_timeout_ms = 30000;
    join.rebalance_timeout_ms = 30000;
    join.member_id = proto_str_of("");
    join.protocol_type = proto_str_of("consumer");
    join.protocols = &proto;
    join.protocols_count = 1;
    join_group_response_t *jr = kclient_call(&c, API_JOIN_GROUP, 3, &join);
    ck_assert_int_eq(jr->error_code, 0);
    char member[256];
    snprintf(member, sizeof(member), "%.*s", (int)jr->member_id.len, jr->member_id.ptr);
    int32_t generation = jr->generation_id;

    uint8_t bytes[64];
    size_t len = consumer_assignment(bytes, "live");
    sync_group_request_sync_group_request_assignment_t as = {proto_str_of(member),
                                                             {bytes, (int32_t)len}};
    sync_group_request_t sync;
    proto_init(&sync_group_request_desc, &sync);
    sync.group_id = proto_str_of("live-group");
    sync.generation_id = generation;
    sync.member_id = proto_str_of(member);
    sync.assignments = &as;
    sync.assignments_count = 1;
    sync_group_response_t *sr = kclient_call(&c, API_SYNC_GROUP, 2, &sync);
    ck_assert_int_eq(sr->error_code, 0);

    const char *groups[] = {"live-group"};
    samsa_group_description_t *d = NULL;
    ck_assert_int_eq(samsa_admin_describe_groups(adm, groups, 1, TIMEOUT_MS, &d), 0);
    ck_assert_int_eq(d[0].err, 0);
    ck_assert_str_eq(d[0].state, "Stable");
    ck_assert_str_eq(d[0].protocol_type, "consumer");
    ck_assert_str_eq(d[0].protocol, "range");
    ck_assert_uint_eq(d[0].member_count, 1);
    samsa_group_member_t *m = &d[0].members[0];
    ck_assert_str_eq(m->member_id, member);
    ck_assert_ptr_null(m->group_instance_id);
    ck_assert_str_eq(m->client_host, "/127.0.0.1");
    ck_assert_uint_eq(m->metadata_len, sizeof(subscription));
    ck_assert_mem_eq(m->metadata, subscription, sizeof(subscription));
    ck_assert_uint_eq(m->assignment_len, len);
    ck_assert_mem_eq(m->assignment, bytes, len);
    ck_assert_uint_eq(m->assigned_count, 2);
    ck_assert_str_eq(m->assigned[0].topic, "live");
    ck_assert_int_eq(m->assigned[0].partition, 0);
    ck_assert_str_eq(m->assigned[1].topic, "live");
    ck_assert_int_eq(m->assigned[1].partition, 1);
    samsa_group_descriptions_free(d);

    samsa_group_list_t *list = NULL;
    ck_assert_int_eq(samsa_admin_list_groups(adm, TIMEOUT_MS, &list), 0);
    ck_assert_uint_eq(list->group_count, 1);
    ck_assert_str_eq(list->groups[0].group_id, "live-group");
    ck_assert_str_eq(list->groups[0].state, "Stable");
    ck_assert_str_eq(list->groups[0].protocol_type, "consumer");
    samsa_group_list_free(list);

    /* An admin's commit is refused while the group has members. */
    samsa_partition_offset_t commit = {"live", 0, 1};
    samsa_offset_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_alter_group_offsets(adm, "live-group", &commit, 1, TIMEOUT_MS, &r),
                     0);
    ck_assert_int_eq(r[0].err, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_ptr_nonnull(strstr(r[0].errstr, "group live-group for live [0]"));
    ck_assert_int_eq(r[0].offset, -1);
    samsa_offset_results_free(r);
    kclient_close(&c);
}
END_TEST

START_TEST(calls_go_on_after_the_broker_restarts)
{
    create_topic("again", 1);
    char port[16], listener[64];
    snprintf(port, sizeof(port), "%s", strrchr(tb.bootstrap, ':') + 1);
    snprintf(listener, sizeof(listener), "PLAINTEXT://127.0.0.1:%s", port);
    test_broker_stop(&tb, false);
    const char *extra[] = {"listeners", listener, NULL};
    test_broker_start(&tb, true, extra);
    /* The admin client's connection broke; the next calls reconnect. */
    samsa_partition_offset_t q = {"again", 0, SAMSA_OFFSET_SPEC_LATEST};
    samsa_offset_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_list_offsets(adm, &q, 1, TIMEOUT_MS, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[0].offset, 0);
    samsa_offset_results_free(r);
    create_topic("after", 1);
}
END_TEST

static void *concurrent_caller(void *opaque)
{
    char name[32];
    snprintf(name, sizeof(name), "par-%d", (int)(intptr_t)opaque);
    samsa_new_topic_t t = {name, 2, 1, NULL, 0};
    samsa_topic_result_t *r = NULL;
    intptr_t bad = 0;
    if (samsa_admin_create_topics(adm, &t, 1, 0, TIMEOUT_MS, &r) || r[0].err)
        bad++;
    samsa_topic_results_free(r);
    samsa_partition_offset_t q[] = {{name, 0, SAMSA_OFFSET_SPEC_LATEST},
                                    {name, 1, SAMSA_OFFSET_SPEC_EARLIEST}};
    samsa_offset_result_t *o = NULL;
    for (int i = 0; i < 20; i++) {
        if (samsa_admin_list_offsets(adm, q, 2, TIMEOUT_MS, &o) || o[0].err || o[1].err ||
            o[0].offset != 0 || strcmp(o[1].topic, name))
            bad++;
        samsa_offset_results_free(o);
        if (strcmp(samsa_admin_last_error(), ""))
            bad++;
    }
    return (void *)bad;
}

START_TEST(several_threads_call_one_handle_at_once)
{
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, concurrent_caller, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        pthread_join(threads[i], &bad);
        ck_assert_int_eq((intptr_t)bad, 0);
    }
    samsa_cluster_info_t *info = NULL;
    ck_assert_int_eq(samsa_admin_list_topics(adm, NULL, 0, 0, TIMEOUT_MS, &info), 0);
    ck_assert_uint_eq(info->topic_count, 4);
    ck_assert_str_eq(info->topics[3].name, "par-3");
    samsa_cluster_info_free(info);
}
END_TEST

START_TEST(a_broker_that_is_not_there_times_out_with_a_reason)
{
    const char *keys[] = {"bootstrap.servers", "reconnect.backoff.max.ms"};
    const char *values[] = {"127.0.0.1:1", "50"};
    char errstr[256];
    samsa_admin_t *a = samsa_admin_new_kv(keys, values, 2, errstr, sizeof(errstr));
    ck_assert_ptr_nonnull(a);
    samsa_cluster_info_t *info = (samsa_cluster_info_t *)1;
    ck_assert_int_eq(samsa_admin_describe_cluster(a, 300, &info), SAMSA_ERR__TIMED_OUT);
    ck_assert_ptr_null(info);
    ck_assert_ptr_nonnull(strstr(samsa_admin_last_error(), "Metadata: timed out after 300 ms"));
    samsa_admin_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_new_conf_with_an_unknown_property_is_refused);
    tcase_add_test(tc, create_topics_reports_each_topic);
    tcase_add_test(tc, validate_only_creates_nothing);
    tcase_add_test(tc, bad_arguments_fail_before_anything_is_sent);
    tcase_add_test(tc, delete_topics_removes_them);
    tcase_add_test(tc, create_partitions_grows_and_refuses_to_shrink);
    tcase_add_test(tc, describe_cluster_and_list_topics_tell_what_metadata_says);
    tcase_add_test(tc, list_offsets_finds_earliest_latest_and_by_timestamp);
    tcase_add_test(tc, delete_records_moves_the_earliest_offset);
    tcase_add_test(tc, describe_configs_of_a_topic_and_the_broker);
    tcase_add_test(tc, group_offsets_commit_list_and_describe);
    tcase_add_test(tc, a_group_with_a_member_is_described_with_its_assignment);
    tcase_add_test(tc, calls_go_on_after_the_broker_restarts);
    tcase_add_test(tc, several_threads_call_one_handle_at_once);
    tcase_add_test(tc, a_broker_that_is_not_there_times_out_with_a_reason);
    suite_add_tcase(s, tc);
    return kclient_run(s);
}
