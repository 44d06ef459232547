/*
 * kclient.h: what the broker's integration tests share: an embedded broker
 * on 127.0.0.1 with a temporary log dir, and a tiny blocking Kafka client
 * that sends a request struct with the codec and decodes the response.
 *
 * A header of static functions because each integration test is built
 * from one source file.
 */
#ifndef SAMSA_TEST_KCLIENT_H
#define SAMSA_TEST_KCLIENT_H

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/batch.h"
#include "proto/codec.h"
#include "proto/messages.h"
#include "samsa.h"

/* ---- the embedded broker ------------------------------------------------ */

typedef struct test_broker {
    char dir[256];
    samsa_broker_t *broker;
    const char *bootstrap;
} test_broker_t;

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Makes (or, with keep_dir, reuses) the temp dir and starts a broker on
 * port 0 with the extra properties (NULL-terminated key, value pairs). */
static inline void test_broker_start(test_broker_t *tb, bool keep_dir, const char *const *extra)
{
    if (!keep_dir) {
        snprintf(tb->dir, sizeof(tb->dir), "/tmp/samsa-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tb->dir));
    }
    samsa_conf_t *conf = samsa_conf_new();
    char errstr[512];
    ck_assert_int_eq(samsa_conf_set(conf, "log.dirs", tb->dir, errstr, sizeof(errstr)), 0);
    ck_assert_int_eq(samsa_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", errstr,
                                    sizeof(errstr)),
                     0);
    for (size_t i = 0; extra && extra[i]; i += 2)
        ck_assert_int_eq(samsa_conf_set(conf, extra[i], extra[i + 1], errstr, sizeof(errstr)), 0);
    tb->broker = samsa_broker_new(conf, errstr, sizeof(errstr));
    ck_assert_msg(tb->broker != NULL, "samsa_broker_new: %s", errstr);
    ck_assert_int_eq(samsa_broker_start(tb->broker), 0);
    tb->bootstrap = samsa_broker_bootstrap(tb->broker);
}

/* Stops and frees the broker; with remove_dir, deletes its data. */
static inline void test_broker_stop(test_broker_t *tb, bool remove_dir)
{
    samsa_broker_free(tb->broker);
    tb->broker = NULL;
    if (remove_dir)
        nftw(tb->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the client ------------------------------------------------------------ */

typedef struct kclient {
    int fd;
    int32_t next_correlation_id;
    arena_t arena;       /* decoded responses live here until kclient_close */
    uint8_t **frames;    /* response frames, kept because decoded data points into them */
    size_t frame_count;
} kclient_t;

static inline void kclient_connect(kclient_t *c, const char *bootstrap)
{
    memset(c, 0, sizeof(*c));
    char host[256];
    const char *colon = strrchr(bootstrap, ':');
    ck_assert_ptr_nonnull(colon);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - bootstrap), bootstrap);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    ck_assert_int_eq(getaddrinfo(host, colon + 1, &hints, &res), 0);
    c->fd = socket(res->ai_family, SOCK_STREAM, 0);
    ck_assert_int_ge(c->fd, 0);
    ck_assert_int_eq(connect(c->fd, res->ai_addr, res->ai_addrlen), 0);
    freeaddrinfo(res);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    arena_init(&c->arena, 0);
    c->next_correlation_id = 1;
}

static inline void kclient_close(kclient_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    for (size_t i = 0; i < c->frame_count; i++)
        free(c->frames[i]);
    free(c->frames);
    c->frames = NULL;
    c->frame_count = 0;
    arena_free(&c->arena);
}

static inline void kclient_write_all(kclient_t *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(c->fd, p, len);
        ck_assert_int_gt(n, 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Sends a request (body: a struct of the API's request type) and returns
 * its correlation id. */
static inline int32_t kclient_send(kclient_t *c, int16_t api_key, int16_t version, const void *body)
{
    const proto_api_t *api = proto_api(api_key);
    ck_assert_ptr_nonnull(api);
    buf_t out;
    buf_init(&out, 0);
    buf_put_i32(&out, 0);
    proto_request_header_t h = {api_key, version, c->next_correlation_id++,
                                proto_str_of("samsa-test")};
    proto_request_header_write(&out, &h, proto_request_header_version(api, version));
    ck_assert_int_eq(proto_encode(api->request, version, proto_api_flexible(api, version), body,
                                  &out, NULL),
                     0);
    be32_store(out.data, (uint32_t)(out.len - 4));
    kclient_write_all(c, out.data, out.len);
    buf_free(&out);
    return h.correlation_id;
}

/* Reads exactly len bytes; false when the connection closed first. */
static inline bool kclient_read_all(kclient_t *c, void *data, size_t len)
{
    uint8_t *p = data;
    while (len > 0) {
        ssize_t n = read(c->fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads one response frame (kept until kclient_close); NULL when the
 * broker closed the connection. */
static inline uint8_t *kclient_read_frame(kclient_t *c, size_t *len)
{
    uint8_t size[4];
    if (!kclient_read_all(c, size, 4))
        return NULL;
    *len = be32_load(size);
    uint8_t *frame = malloc(*len ? *len : 1);
    ck_assert_ptr_nonnull(frame);
    if (!kclient_read_all(c, frame, *len)) {
        free(frame);
        return NULL;
    }
    c->frames = realloc(c->frames, (c->frame_count + 1) * sizeof(*c->frames));
    c->frames[c->frame_count++] = frame;
    return frame;
}

/* Reads the response to correlation_id (the next one on the wire must be
 * it) and decodes it at version. */
static inline void *kclient_recv(kclient_t *c, int16_t api_key, int16_t version,
                                 int32_t correlation_id)
{
    const proto_api_t *api = proto_api(api_key);
    size_t len;
    uint8_t *frame = kclient_read_frame(c, &len);
    ck_assert_msg(frame != NULL, "the broker closed the connection");
    reader_t r = reader_make(frame, len);
    int32_t got;
    ck_assert_int_eq(proto_response_header_read(&r, proto_response_header_version(api, version),
                                                &got),
                     0);
    ck_assert_int_eq(got, correlation_id);
    void *resp = arena_alloc(&c->arena, api->response->size);
    ck_assert_int_eq(proto_decode(api->response, version, proto_api_flexible(api, version), &r,
                                  &c->arena, resp),
                     0);
    ck_assert_uint_eq(reader_left(&r), 0);
    return resp;
}

static inline void *kclient_call(kclient_t *c, int16_t api_key, int16_t version, const void *body)
{
    int32_t id = kclient_send(c, api_key, version, body);
    return kclient_recv(c, api_key, version, id);
}

/* Whether the broker closed the connection (reads EOF within 60 s). */
static inline bool kclient_closed_by_peer(kclient_t *c)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    if (poll(&pfd, 1, 60000) <= 0)
        return false;
    char b;
    return read(c->fd, &b, 1) == 0;
}

/* ---- requests ------------------------------------------------------------- */

/* One uncompressed batch of n records "v0".."v{n-1}" with keys "k0"..,
 * timestamps ts0_ms + i*step_ms, into out (cleared first). */
static inline void test_batch(buf_t *out, int n, int64_t ts0_ms, int64_t step_ms)
{
    buf_reset(out);
    batch_builder_params_t params;
    batch_builder_params_default(&params, ts0_ms);
    batch_builder_t bb;
    batch_builder_init(&bb, out, &params);
    for (int i = 0; i < n; i++) {
        char key[16], value[16];
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        ck_assert_int_eq(batch_builder_append(&bb, ts0_ms + i * step_ms, key, strlen(key), value,
                                              strlen(value), NULL, 0),
                         0);
    }
    ck_assert_int_eq(batch_builder_finish(&bb, 0, 0, NULL, NULL), 0);
    batch_builder_free(&bb);
}

/* Produce (v9) of records to topic/partition with acks; returns the
 * partition response (NULL for acks 0). */
static inline produce_response_partition_produce_response_t *
kclient_produce(kclient_t *c, const char *topic, int32_t partition, int16_t acks,
                const uint8_t *records, size_t len)
{
    produce_request_partition_produce_data_t pd = {partition, {records, (int32_t)len, NULL}};
    produce_request_topic_produce_data_t td = {proto_str_of(topic), {{0}}, &pd, 1};
    produce_request_t req;
    proto_init(&produce_request_desc, &req);
    req.acks = acks;
    req.timeout_ms = 30000;
    req.topic_data = &td;
    req.topic_data_count = 1;
    if (acks == 0) {
        kclient_send(c, API_PRODUCE, 9, &req);
        return NULL;
    }
    produce_response_t *resp = kclient_call(c, API_PRODUCE, 9, &req);
    ck_assert_int_eq(resp->responses_count, 1);
    ck_assert_int_eq(resp->responses[0].partition_responses_count, 1);
    return &resp->responses[0].partition_responses[0];
}

/* A Fetch (v12) request of one partition, ready to send. */
static inline void fetch_request_one(fetch_request_t *req, fetch_request_fetch_topic_t *ft,
                              fetch_request_fetch_partition_t *fp, const char *topic,
                              int32_t partition, int64_t offset, int32_t max_wait_ms,
                              int32_t min_bytes)
{
    proto_init(&fetch_request_desc, req);
    memset(ft, 0, sizeof(*ft));
    memset(fp, 0, sizeof(*fp));
    fp->partition = partition;
    fp->current_leader_epoch = -1;
    fp->fetch_offset = offset;
    fp->last_fetched_epoch = -1;
    fp->log_start_offset = -1;
    fp->partition_max_bytes = 1 << 20;
    fp->high_watermark = INT64_MAX;
    ft->topic = proto_str_of(topic);
    ft->partitions = fp;
    ft->partitions_count = 1;
    req->replica_id = -1;
    req->max_wait_ms = max_wait_ms;
    req->min_bytes = min_bytes;
    req->max_bytes = 50 << 20;
    req->session_id = 0;
    req->session_epoch = -1;
    req->topics = ft;
    req->topics_count = 1;
    req->forgotten_topics_data_count = 0;
    req->rack_id = proto_str_of("");
}

/* Fetch (v7 to v12: one fetch session, topics by name) of one partition
 * from offset, without waiting; returns the partition's answer. */
static inline fetch_response_partition_data_t *
kclient_fetch_version(kclient_t *c, int16_t version, const char *topic, int32_t partition,
                      int64_t offset)
{
    fetch_request_t req;
    fetch_request_fetch_topic_t ft;
    fetch_request_fetch_partition_t fp;
    fetch_request_one(&req, &ft, &fp, topic, partition, offset, 0, 0);
    fetch_response_t *resp = kclient_call(c, API_FETCH, version, &req);
    ck_assert_int_eq(resp->error_code, 0);
    ck_assert_int_eq(resp->responses_count, 1);
    ck_assert_int_eq(resp->responses[0].partitions_count, 1);
    return &resp->responses[0].partitions[0];
}

static inline fetch_response_partition_data_t *kclient_fetch(kclient_t *c, const char *topic,
                                                      int32_t partition, int64_t offset)
{
    return kclient_fetch_version(c, 12, topic, partition, offset);
}

/* Metadata (v12) for one topic. */
static inline metadata_response_metadata_response_topic_t *
kclient_metadata(kclient_t *c, const char *topic, bool allow_auto_create)
{
    metadata_request_metadata_request_topic_t t = {{{0}}, proto_str_of(topic)};
    metadata_request_t req;
    proto_init(&metadata_request_desc, &req);
    req.topics = &t;
    req.topics_count = 1;
    req.allow_auto_topic_creation = allow_auto_create;
    metadata_response_t *resp = kclient_call(c, API_METADATA, 12, &req);
    ck_assert_int_eq(resp->topics_count, 1);
    return &resp->topics[0];
}

/* ListOffsets (v7) of one partition at timestamp. */
static inline list_offsets_response_list_offsets_partition_response_t *
kclient_list_offset(kclient_t *c, const char *topic, int32_t partition, int64_t timestamp)
{
    list_offsets_request_list_offsets_partition_t p = {partition, -1, timestamp};
    list_offsets_request_list_offsets_topic_t t = {proto_str_of(topic), &p, 1};
    list_offsets_request_t req;
    proto_init(&list_offsets_request_desc, &req);
    req.replica_id = -1;
    req.topics = &t;
    req.topics_count = 1;
    list_offsets_response_t *resp = kclient_call(c, API_LIST_OFFSETS, 7, &req);
    ck_assert_int_eq(resp->topics_count, 1);
    ck_assert_int_eq(resp->topics[0].partitions_count, 1);
    return &resp->topics[0].partitions[0];
}

/* CreateTopics (v7) of one topic; returns the result. */
static inline create_topics_response_creatable_topic_result_t *
kclient_create_topic(kclient_t *c, const char *topic, int32_t partitions, bool validate_only)
{
    create_topics_request_creatable_topic_t t;
    memset(&t, 0, sizeof(t));
    t.name = proto_str_of(topic);
    t.num_partitions = partitions;
    t.replication_factor = -1;
    create_topics_request_t req;
    proto_init(&create_topics_request_desc, &req);
    req.topics = &t;
    req.topics_count = 1;
    req.timeout_ms = 30000;
    req.validate_only = validate_only;
    create_topics_response_t *resp = kclient_call(c, API_CREATE_TOPICS, 7, &req);
    ck_assert_int_eq(resp->topics_count, 1);
    return &resp->topics[0];
}

/* Runs the suite (and frees it); the exit status for main(). */
static inline int kclient_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif /* SAMSA_TEST_KCLIENT_H */
