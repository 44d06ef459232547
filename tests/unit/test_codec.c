/*
 * Unit tests for the wire codec (lib/proto/codec.c and the generated message
 * descriptions): round trips of every API and version, headers, tagged
 * fields, null handling and malformed input.
 */
#include "proto/codec.h"
#include "proto/messages.h"
#include "protogen.h"

#include <check.h>

#include "unit.h"
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS_PER_VERSION 40

/* encode -> decode -> equal, and encode(decode(bytes)) == bytes, for random
 * messages of one description at one version. */
static void round_trip(const proto_api_t *api, const proto_struct_t *desc, int16_t v,
                       uint64_t *rng)
{
    bool flexible = proto_api_flexible(api, v);
    for (int round = 0; round < ROUNDS_PER_VERSION; round++) {
        arena_t arena;
        arena_init(&arena, 0);
        void *msg = arena_alloc(&arena, desc->size);
        void *back = arena_alloc(&arena, desc->size);
        protogen_fill(desc, v, flexible, msg, &arena, rng);

        buf_t first, second;
        buf_init(&first, 0);
        buf_init(&second, 0);
        samsa_err_t enc = proto_encode(desc, v, flexible, msg, &first, NULL);
        ck_assert_msg(enc == SAMSA_ERR_NONE, "%s v%d: encode failed: %d", desc->name, v, enc);

        reader_t r = reader_make(first.data, first.len);
        samsa_err_t err = proto_decode(desc, v, flexible, &r, &arena, back);
        ck_assert_msg(err == SAMSA_ERR_NONE, "%s v%d: decode failed", desc->name, v);
        ck_assert_msg(reader_left(&r) == 0, "%s v%d: %zu bytes left", desc->name, v,
                      reader_left(&r));
        char where[512] = "";
        ck_assert_msg(protogen_equal(desc, msg, back, where, sizeof(where)),
                      "%s v%d differs at %s", desc->name, v, where);

        ck_assert_int_eq(proto_encode(desc, v, flexible, back, &second, NULL), SAMSA_ERR_NONE);
        ck_assert_uint_eq(first.len, second.len);
        ck_assert_msg(first.len == 0 || memcmp(first.data, second.data, first.len) == 0,
                      "%s v%d re-encodes differently", desc->name, v);

        /* Every strict prefix of a message is an error, never a crash. Only
         * a few rounds, to keep the test quick. */
        if (round < 3) {
            for (size_t cut = 0; cut < first.len; cut++) {
                reader_t t = reader_make(first.data, cut);
                void *tmp = arena_alloc(&arena, desc->size);
                samsa_err_t e = proto_decode(desc, v, flexible, &t, &arena, tmp);
                ck_assert_msg(e == SAMSA_ERR__BAD_MSG, "%s v%d: prefix %zu/%zu accepted",
                              desc->name, v, cut, first.len);
            }
        }
        buf_free(&first);
        buf_free(&second);
        arena_free(&arena);
    }
}

START_TEST(every_api_and_version_round_trips)
{
    size_t count;
    const proto_api_t *apis = proto_apis(&count);
    ck_assert_uint_eq(count, 24);
    uint64_t rng = 0x5eed5eed5eedULL;
    int versions = 0;
    for (size_t i = 0; i < count; i++) {
        for (int16_t v = apis[i].min_version; v <= apis[i].max_version; v++) {
            round_trip(&apis[i], apis[i].request, v, &rng);
            round_trip(&apis[i], apis[i].response, v, &rng);
            versions++;
        }
    }
    /* Produce 11, Fetch 15, ListOffsets 11, Metadata 14, OffsetCommit 9,
     * OffsetFetch 10, FindCoordinator 7, JoinGroup 10, Heartbeat 5,
     * LeaveGroup 6, SyncGroup 6, DescribeGroups 7, ListGroups 6,
     * SaslHandshake 2, ApiVersions 5, CreateTopics 6, DeleteTopics 6,
     * DeleteRecords 3, InitProducerId 6, OffsetForLeaderEpoch 3,
     * DescribeConfigs 4, SaslAuthenticate 3, CreatePartitions 4,
     * DescribeCluster 3 */
    ck_assert_int_eq(versions, 162);
}
END_TEST

/* The hand-written Produce decoder and encoder agree with the generic
 * walker on random requests of every version, and on every truncation. */
START_TEST(produce_fast_path_matches_the_generic_decoder)
{
    const proto_api_t *api = proto_api(API_PRODUCE);
    uint64_t rng = 0xfa57fa57ULL;
    for (int16_t v = api->min_version; v <= api->max_version; v++) {
        bool flexible = proto_api_flexible(api, v);
        for (int round = 0; round < 200; round++) {
            arena_t arena;
            arena_init(&arena, 0);
            produce_request_t msg, fast, slow;
            protogen_fill(api->request, v, flexible, &msg, &arena, &rng);
            buf_t b;
            buf_init(&b, 0);
            ck_assert_int_eq(proto_encode(api->request, v, flexible, &msg, &b, NULL), SAMSA_ERR_NONE);
            buf_t g;
            buf_init(&g, 0);
            ck_assert_int_eq(proto_encode_generic(api->request, v, flexible, &msg, &g, NULL),
                             SAMSA_ERR_NONE);
            ck_assert_uint_eq(b.len, g.len);
            ck_assert_mem_eq(b.data, g.data, b.len);
            buf_free(&g);
            for (size_t cut = round < 5 ? 0 : b.len; cut <= b.len; cut++) {
                reader_t r1 = reader_make(b.data, cut), r2 = reader_make(b.data, cut);
                samsa_err_t e1 = proto_decode(api->request, v, flexible, &r1, &arena, &fast);
                samsa_err_t e2 = proto_decode_generic(api->request, v, flexible, &r2, &arena, &slow);
                ck_assert_int_eq(e1, e2);
                ck_assert_uint_eq(reader_left(&r1), reader_left(&r2));
                char where[256] = "";
                if (e1 == SAMSA_ERR_NONE)
                    ck_assert_msg(protogen_equal(api->request, &fast, &slow, where, sizeof(where)),
                                  "v%d differs at %s", v, where);
            }
            buf_free(&b);
            arena_free(&arena);
        }
    }
}
END_TEST

START_TEST(api_table_has_the_kafka_4_3_ranges)
{
    struct { int16_t key; int16_t lo, hi, flex; } want[] = {
        {0, 3, 13, 9},  {1, 4, 18, 12}, {2, 1, 11, 6},  {3, 0, 13, 9},  {8, 2, 10, 8},
        {9, 1, 10, 6},  {10, 0, 6, 3},  {11, 0, 9, 6},  {12, 0, 4, 4},  {13, 0, 5, 4},
        {14, 0, 5, 4},  {15, 0, 6, 5},  {16, 0, 5, 3},  {18, 0, 4, 3},  {19, 2, 7, 5},
        {20, 1, 6, 4},  {21, 0, 2, 2},  {22, 0, 5, 2},  {23, 2, 4, 4},  {32, 1, 4, 4},
        {37, 0, 3, 2},  {60, 0, 2, 0},  {36, 0, 2, 2},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const proto_api_t *api = proto_api(want[i].key);
        ck_assert_ptr_nonnull(api);
        ck_assert_int_eq(api->min_version, want[i].lo);
        ck_assert_int_eq(api->max_version, want[i].hi);
        ck_assert_int_eq(api->flexible_min, want[i].flex);
    }
    ck_assert_int_eq(proto_api(17)->flexible_min, PROTO_NEVER_MIN); /* SaslHandshake */
    ck_assert_ptr_null(proto_api(4));
    ck_assert_ptr_null(proto_api(-1));
    ck_assert_ptr_null(proto_api(1000));
}
END_TEST

START_TEST(request_header_v1_and_v2)
{
    buf_t b;
    buf_init(&b, 0);
    proto_request_header_t h = {API_METADATA, 12, 77, proto_str_of("cli")};
    proto_request_header_write(&b, &h, 2);
    const uint8_t want[] = {0, 3, 0, 12, 0, 0, 0, 77, 0, 3, 'c', 'l', 'i', 0};
    ck_assert_uint_eq(b.len, sizeof(want));
    ck_assert_mem_eq(b.data, want, sizeof(want));

    reader_t r = reader_make(b.data, b.len);
    proto_request_header_t got;
    ck_assert_int_eq(proto_request_header_read(&r, &got), SAMSA_ERR_NONE);
    ck_assert_int_eq(got.api_key, 3);
    ck_assert_int_eq(got.api_version, 12);
    ck_assert_int_eq(got.correlation_id, 77);
    ck_assert(proto_str_eq(got.client_id, "cli"));
    ck_assert_uint_eq(reader_left(&r), 0);

    /* v1 (Metadata v8 is not flexible): no tagged fields; null client id */
    buf_reset(&b);
    proto_request_header_t h1 = {API_METADATA, 8, 5, {NULL, -1}};
    proto_request_header_write(&b, &h1, proto_request_header_version(proto_api(API_METADATA), 8));
    ck_assert_uint_eq(b.len, 10);
    r = reader_make(b.data, b.len);
    ck_assert_int_eq(proto_request_header_read(&r, &got), SAMSA_ERR_NONE);
    ck_assert_int_eq(got.client_id.len, -1);
    ck_assert_uint_eq(reader_left(&r), 0);
    buf_free(&b);
}
END_TEST

START_TEST(api_versions_response_always_uses_header_v0)
{
    const proto_api_t *av = proto_api(API_API_VERSIONS);
    ck_assert_int_eq(proto_response_header_version(av, 3), 0);
    ck_assert_int_eq(proto_response_header_version(av, 0), 0);
    ck_assert_int_eq(proto_request_header_version(av, 3), 2);
    ck_assert_int_eq(proto_request_header_version(av, 2), 1);
    const proto_api_t *md = proto_api(API_METADATA);
    ck_assert_int_eq(proto_response_header_version(md, 9), 1);
    ck_assert_int_eq(proto_response_header_version(md, 8), 0);
}
END_TEST

START_TEST(unknown_api_header_is_read_without_tags)
{
    /* api key 4 (LeaderAndIsr) is unknown to samsa: the v1 part is read */
    const uint8_t in[] = {0, 4, 0, 7, 0, 0, 0, 1, 0xff, 0xff, 0xaa};
    reader_t r = reader_make(in, sizeof(in));
    proto_request_header_t h;
    ck_assert_int_eq(proto_request_header_read(&r, &h), SAMSA_ERR_NONE);
    ck_assert_int_eq(h.api_key, 4);
    ck_assert_int_eq(h.client_id.len, -1);
    ck_assert_uint_eq(reader_left(&r), 1);
}
END_TEST

/* A v3 ApiVersions request: client software name and version, compact
 * strings, then tagged fields. */
START_TEST(unknown_tags_are_skipped_and_out_of_order_tags_rejected)
{
    const proto_api_t *av = proto_api(API_API_VERSIONS);
    const uint8_t ok[] = {4, 'k', 'c', 'a', 6, '2', '.', '1', '.', '0',
                          2,           /* two tagged fields */
                          5, 1, 0xaa,  /* tag 5, one byte */
                          9, 2, 1, 2}; /* tag 9, two bytes */
    arena_t a;
    arena_init(&a, 0);
    api_versions_request_t req;
    reader_t r = reader_make(ok, sizeof(ok));
    ck_assert_int_eq(proto_decode(av->request, 3, true, &r, &a, &req), SAMSA_ERR_NONE);
    ck_assert(proto_str_eq(req.client_software_name, "kca"));
    ck_assert(proto_str_eq(req.client_software_version, "2.1.0"));
    ck_assert_uint_eq(reader_left(&r), 0);

    uint8_t bad[sizeof(ok)];
    memcpy(bad, ok, sizeof(ok));
    bad[14] = 5; /* second tag equal to the first */
    r = reader_make(bad, sizeof(bad));
    ck_assert_int_eq(proto_decode(av->request, 3, true, &r, &a, &req), SAMSA_ERR__BAD_MSG);

    uint8_t longer[sizeof(ok)];
    memcpy(longer, ok, sizeof(ok));
    longer[15] = 9; /* the size runs past the end */
    r = reader_make(longer, sizeof(longer));
    ck_assert_int_eq(proto_decode(av->request, 3, true, &r, &a, &req), SAMSA_ERR__BAD_MSG);
    arena_free(&a);
}
END_TEST

START_TEST(known_tagged_field_is_decoded_and_reencoded)
{
    /* Fetch v12+ response partitions carry CurrentLeader as tag 1 etc.; use
     * Produce v10 response: PartitionProduceResponse.CurrentLeader is tag 0. */
    const proto_api_t *api = proto_api(API_PRODUCE);
    produce_response_partition_produce_response_t part;
    const proto_struct_t *topic_desc = protogen_sub(api->response, "Responses");
    proto_init(protogen_sub(topic_desc, "PartitionResponses"), &part);
    ck_assert_int_eq(part.current_leader.leader_id, -1);
    ck_assert_int_eq(part.current_leader.leader_epoch, -1);
    ck_assert(part.log_start_offset == -1);

    arena_t a;
    arena_init(&a, 0);
    produce_response_t resp;
    proto_init(api->response, &resp);
    produce_response_topic_produce_response_t topic;
    proto_init(topic_desc, &topic);
    topic.name = proto_str_of("t");
    part.index = 2;
    part.current_leader.leader_id = 7;
    part.current_leader.leader_epoch = 3;
    topic.partition_responses = &part;
    topic.partition_responses_count = 1;
    resp.responses = &topic;
    resp.responses_count = 1;

    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(proto_encode(api->response, 10, true, &resp, &b, NULL), SAMSA_ERR_NONE);
    produce_response_t back;
    reader_t r = reader_make(b.data, b.len);
    ck_assert_int_eq(proto_decode(api->response, 10, true, &r, &a, &back), SAMSA_ERR_NONE);
    ck_assert_int_eq(back.responses[0].partition_responses[0].current_leader.leader_id, 7);
    ck_assert_int_eq(back.responses[0].partition_responses[0].current_leader.leader_epoch, 3);

    /* At its default the tagged field is left out: its tag, its size and
     * its 9-byte value (two int32 and the struct's own empty tag section). */
    size_t with_tag = b.len;
    part.current_leader.leader_id = -1;
    part.current_leader.leader_epoch = -1;
    buf_reset(&b);
    ck_assert_int_eq(proto_encode(api->response, 10, true, &resp, &b, NULL), SAMSA_ERR_NONE);
    ck_assert_uint_eq(with_tag - b.len, 11);
    buf_free(&b);
    arena_free(&a);
}
END_TEST

START_TEST(null_in_a_non_nullable_field_is_refused_both_ways)
{
    const proto_api_t *api = proto_api(API_FIND_COORDINATOR);
    find_coordinator_request_t req;
    proto_init(api->request, &req);
    req.key.len = -1; /* Key is not nullable */
    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(proto_encode(api->request, 1, false, &req, &b, NULL), SAMSA_ERR__INVALID_ARG);
    buf_free(&b);

    const uint8_t wire[] = {0xff, 0xff, 0}; /* key = null string, key type 0 */
    arena_t a;
    arena_init(&a, 0);
    reader_t r = reader_make(wire, sizeof(wire));
    ck_assert_int_eq(proto_decode(api->request, 1, false, &r, &a, &req), SAMSA_ERR__BAD_MSG);
    arena_free(&a);
}
END_TEST

START_TEST(array_counts_beyond_the_input_are_refused_before_allocating)
{
    /* Metadata v1 request: Topics array with count 0x7fffffff and no bytes */
    const uint8_t wire[] = {0x7f, 0xff, 0xff, 0xff};
    arena_t a;
    arena_init(&a, 1 << 20);
    metadata_request_t req;
    reader_t r = reader_make(wire, sizeof(wire));
    ck_assert_int_eq(proto_decode(proto_api(API_METADATA)->request, 1, false, &r, &a, &req),
                     SAMSA_ERR__BAD_MSG);
    ck_assert_uint_eq(a.total_bytes, 0);

    /* a compact array whose N+1 overflows int32 */
    const uint8_t flex[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    r = reader_make(flex, sizeof(flex));
    ck_assert_int_eq(proto_decode(proto_api(API_METADATA)->request, 12, true, &r, &a, &req),
                     SAMSA_ERR__BAD_MSG);
    arena_free(&a);
}
END_TEST

START_TEST(arena_cap_turns_into_nomem)
{
    /* 200 empty topic names fit in the input but not in a 64-byte arena */
    uint8_t wire[4 + 200 * 2];
    be32_store(wire, 200);
    memset(wire + 4, 0, 400);
    arena_t a;
    arena_init(&a, 64);
    metadata_request_t req;
    reader_t r = reader_make(wire, sizeof(wire));
    ck_assert_int_eq(proto_decode(proto_api(API_METADATA)->request, 0, false, &r, &a, &req),
                     SAMSA_ERR__NOMEM);
    arena_free(&a);
}
END_TEST

START_TEST(fields_outside_a_version_take_their_defaults)
{
    /* JoinGroup v0 has no RebalanceTimeoutMs (v1+, default -1) and no
     * GroupInstanceId (v5+, default null) */
    const uint8_t wire[] = {0, 1, 'g', 0, 0, 0x75, 0x30, 0, 0, 0, 8, 'c', 'o', 'n', 's', 'u',
                            'm', 'e', 'r', 0, 0, 0, 0};
    arena_t a;
    arena_init(&a, 0);
    join_group_request_t req;
    reader_t r = reader_make(wire, sizeof(wire));
    ck_assert_int_eq(proto_decode(proto_api(API_JOIN_GROUP)->request, 0, false, &r, &a, &req),
                     SAMSA_ERR_NONE);
    ck_assert(proto_str_eq(req.group_id, "g"));
    ck_assert_int_eq(req.session_timeout_ms, 30000);
    ck_assert_int_eq(req.rebalance_timeout_ms, -1);
    ck_assert_int_eq(req.group_instance_id.len, -1);
    ck_assert(proto_str_eq(req.protocol_type, "consumer"));
    ck_assert_int_eq(req.protocols_count, 0);
    arena_free(&a);
}
END_TEST

START_TEST(records_with_a_source_become_splices)
{
    const proto_api_t *api = proto_api(API_FETCH);
    const uint8_t batches[] = "0123456789";
    fetch_response_t resp;
    proto_init(api->response, &resp);
    fetch_response_fetchable_topic_response_t topic;
    const proto_struct_t *topic_desc = protogen_sub(api->response, "Responses");
    proto_init(topic_desc, &topic);
    fetch_response_partition_data_t part;
    proto_init(protogen_sub(topic_desc, "Partitions"), &part);
    part.records.data = batches;
    part.records.len = 10;
    part.records.source = batches;
    topic.partitions = &part;
    topic.partitions_count = 1;
    resp.responses = &topic;
    resp.responses_count = 1;

    buf_t copy, spliced;
    buf_init(&copy, 0);
    buf_init(&spliced, 0);
    proto_splices_t splices = {0};
    ck_assert_int_eq(proto_encode(api->response, 16, true, &resp, &copy, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(proto_encode(api->response, 16, true, &resp, &spliced, &splices),
                     SAMSA_ERR_NONE);
    ck_assert_uint_eq(splices.count, 1);
    ck_assert_uint_eq(splices.total_bytes, 10);
    ck_assert_uint_eq(copy.len, spliced.len + 10);
    /* the spliced output with the records put back is the copied output */
    size_t pos = splices.items[0].buf_pos;
    ck_assert_mem_eq(copy.data, spliced.data, pos);
    ck_assert_mem_eq(copy.data + pos, batches, 10);
    ck_assert_mem_eq(copy.data + pos + 10, spliced.data + pos, spliced.len - pos);
    proto_splices_free(&splices);
    buf_free(&copy);
    buf_free(&spliced);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_api_and_version_round_trips);
    tcase_add_test(tc, produce_fast_path_matches_the_generic_decoder);
    tcase_add_test(tc, api_table_has_the_kafka_4_3_ranges);
    tcase_add_test(tc, request_header_v1_and_v2);
    tcase_add_test(tc, api_versions_response_always_uses_header_v0);
    tcase_add_test(tc, unknown_api_header_is_read_without_tags);
    tcase_add_test(tc, unknown_tags_are_skipped_and_out_of_order_tags_rejected);
    tcase_add_test(tc, known_tagged_field_is_decoded_and_reencoded);
    tcase_add_test(tc, null_in_a_non_nullable_field_is_refused_both_ways);
    tcase_add_test(tc, array_counts_beyond_the_input_are_refused_before_allocating);
    tcase_add_test(tc, arena_cap_turns_into_nomem);
    tcase_add_test(tc, fields_outside_a_version_take_their_defaults);
    tcase_add_test(tc, records_with_a_source_become_splices);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
