/*
 * Unit tests for the client's connections (lib/client/conn.c) and the
 * producer (lib/client/producer*.c) against a fake broker that this file
 * runs on a loopback socket, speaking samsa's codec: version negotiation
 * and the KIP-511 fallback, failures of connect and of requests that time
 * out, partitions chosen as the Java client chooses them, order kept
 * across retries, idempotent sequences, acks=0, queue limits and the rule
 * that a call returning an error never fires its callback.
 */
#include "client/conn.h"
#include "client/config.h"
#include "proto/batch.h"
#include "proto/codec.h"
#include "proto/messages.h"

#include <check.h>

#include "unit.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_PARTS 8
#define FAKE_LOG 2000
#define FAKE_CLIENTS 8

/* ---- the fake broker ------------------------------------------------- */

typedef struct fake {
    int listen_fd;
    int port;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t lock;
    /* knobs, set before clients connect */
    int16_t api_versions_max;  /* advertised for ApiVersions */
    int16_t metadata_max;      /* advertised for Metadata */
    int32_t partitions;
    int produce_errors_left;   /* this many partition answers carry produce_error */
    int16_t produce_error;
    bool ignore_metadata;      /* never answer Metadata */
    bool ignore_produce;       /* never answer Produce, nor anything after it on that connection */
    bool hung[1024];           /* by fd: a connection that answers nothing any more */
    int drop_at_produce;       /* write the Nth Produce (1-based), then hang up unanswered */
    int32_t max_batch_records; /* larger batches get MESSAGE_TOO_LARGE; 0: no limit */
    int too_large_answers;
    int64_t next_producer_id;
    bool no_topic_ids;          /* Metadata gives topics no id (as before v10) */
    uint8_t topic_id_version;   /* in the topic ids: bumped, the old ids are unknown */
    int16_t produce_version;    /* of the last Produce */
    int unknown_topic_id_answers;
    /* what it saw (under lock) */
    int16_t api_versions_seen[8];
    int api_versions_count;
    int produce_requests;
    int64_t next_offset[FAKE_PARTS];
    int32_t next_sequence[FAKE_PARTS];
    int64_t producer_id[FAKE_PARTS]; /* whose sequence next_sequence follows */
    int init_pid_requests;
    int part_fd[FAKE_PARTS];         /* the connection a partition's batches came over */
    bool part_moved[FAKE_PARTS];     /* they came over more than one */
    char *log[FAKE_PARTS][FAKE_LOG];  /* values written, in offset order */
    char *meta[FAKE_PARTS][FAKE_LOG]; /* "key ts name=value,..." of each */
} fake_t;

static void fake_send(int fd, const proto_api_t *api, int16_t version, int32_t correlation_id,
                      const void *resp, bool force_v0_header)
{
    buf_t out;
    buf_init(&out, 0);
    buf_put_i32(&out, 0);
    proto_response_header_write(&out, force_v0_header ? 0 : proto_response_header_version(api, version),
                                correlation_id);
    ck_assert_int_eq(proto_encode(api->response, version, proto_api_flexible(api, version), resp,
                                  &out, NULL), 0);
    be32_store(out.data, (uint32_t)(out.len - 4));
    ck_assert_int_eq(write(fd, out.data, out.len), (ssize_t)out.len);
    buf_free(&out);
}

static void fake_api_versions(fake_t *f, int fd, const proto_request_header_t *h)
{
    size_t n;
    const proto_api_t *apis = proto_apis(&n);
    api_versions_response_t resp;
    const proto_api_t *api = proto_api(API_API_VERSIONS);
    proto_init(api->response, &resp);
    api_versions_response_api_version_t keys[64];
    for (size_t i = 0; i < n && i < 64; i++) {
        keys[i].api_key = apis[i].key;
        keys[i].min_version = apis[i].min_version;
        keys[i].max_version = apis[i].max_version;
        if (apis[i].key == API_API_VERSIONS)
            keys[i].max_version = f->api_versions_max;
        if (apis[i].key == API_METADATA)
            keys[i].max_version = f->metadata_max;
    }
    resp.api_keys = keys;
    resp.api_keys_count = (int32_t)n;
    pthread_mutex_lock(&f->lock);
    if (f->api_versions_count < 8)
        f->api_versions_seen[f->api_versions_count++] = h->api_version;
    pthread_mutex_unlock(&f->lock);
    int16_t v = h->api_version;
    if (v > f->api_versions_max) {
        resp.error_code = SAMSA_ERR_UNSUPPORTED_VERSION;
        v = 0;
    }
    fake_send(fd, api, v, h->correlation_id, &resp, true);
}

static void fake_metadata(fake_t *f, int fd, const proto_request_header_t *h, reader_t *r)
{
    const proto_api_t *api = proto_api(API_METADATA);
    metadata_request_t req;
    arena_t arena;
    arena_init(&arena, 0);
    ck_assert_int_eq(proto_decode(api->request, h->api_version,
                                  proto_api_flexible(api, h->api_version), r, &arena, &req), 0);
    metadata_response_t resp;
    proto_init(api->response, &resp);
    metadata_response_metadata_response_broker_t broker = {1, proto_str_of("127.0.0.1"), f->port,
                                                           {NULL, -1}};
    resp.brokers = &broker;
    resp.brokers_count = 1;
    resp.controller_id = 1;
    int32_t nt = req.topics_count > 0 ? req.topics_count : 0;
    metadata_response_metadata_response_topic_t *topics = arena_alloc(&arena, sizeof(*topics) * (size_t)(nt + 1));
    metadata_response_metadata_response_partition_t *parts =
        arena_alloc(&arena, sizeof(*parts) * (size_t)f->partitions);
    int32_t replicas[1] = {1};
    for (int32_t i = 0; i < f->partitions; i++) {
        proto_init(api->response->fields[4].sub->fields[4].sub, &parts[i]);
        parts[i].partition_index = i;
        parts[i].leader_id = 1;
        parts[i].leader_epoch = 0;
        parts[i].replica_nodes = replicas;
        parts[i].replica_nodes_count = 1;
        parts[i].isr_nodes = replicas;
        parts[i].isr_nodes_count = 1;
        parts[i].offline_replicas_count = 0;
    }
    for (int32_t i = 0; i < nt; i++) {
        memset(&topics[i], 0, sizeof(topics[i]));
        topics[i].name = req.topics[i].name;
        if (!f->no_topic_ids) {
            topics[i].topic_id.bytes[0] = (uint8_t)(i + 1);
            pthread_mutex_lock(&f->lock);
            topics[i].topic_id.bytes[1] = f->topic_id_version;
            pthread_mutex_unlock(&f->lock);
        }
        topics[i].partitions = parts;
        topics[i].partitions_count = f->partitions;
        topics[i].topic_authorized_operations = INT32_MIN;
    }
    resp.topics = topics;
    resp.topics_count = nt;
    fake_send(fd, api, h->api_version, h->correlation_id, &resp, false);
    arena_free(&arena);
}

static void fake_init_pid(fake_t *f, int fd, const proto_request_header_t *h)
{
    const proto_api_t *api = proto_api(API_INIT_PRODUCER_ID);
    pthread_mutex_lock(&f->lock);
    init_producer_id_response_t resp = {0, 0, 4242 + f->next_producer_id++, 0};
    f->init_pid_requests++;
    pthread_mutex_unlock(&f->lock);
    fake_send(fd, api, h->api_version, h->correlation_id, &resp, false);
}

/* Appends the batch's records to partition p's log; returns the error for
 * the partition's answer and sets *base_offset. */
static int16_t fake_append(fake_t *f, int32_t p, proto_records_t rec, int64_t *base_offset)
{
    batch_header_t bh;
    if (p < 0 || p >= FAKE_PARTS || p >= f->partitions)
        return SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (batch_validate(rec.data, (size_t)rec.len, &bh))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    if (f->max_batch_records && bh.record_count > f->max_batch_records) {
        f->too_large_answers++;
        return SAMSA_ERR_MESSAGE_TOO_LARGE;
    }
    if (f->produce_errors_left > 0) {
        f->produce_errors_left--;
        return f->produce_error;
    }
    if (bh.producer_id >= 0 && bh.producer_id != f->producer_id[p]) {
        if (bh.base_sequence != 0)
            return SAMSA_ERR_UNKNOWN_PRODUCER_ID;
        f->producer_id[p] = bh.producer_id;
        f->next_sequence[p] = 0;
    }
    if (bh.producer_id >= 0) {
        if (bh.base_sequence < f->next_sequence[p])
            return SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER;
        if (bh.base_sequence != f->next_sequence[p])
            return SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        f->next_sequence[p] += bh.record_count;
    }
    batch_iter_t it;
    batch_t b;
    batch_iter_init(&it, rec.data, (size_t)rec.len);
    ck_assert(batch_iter_next(&it, &b));
    record_iter_t ri;
    ck_assert_int_eq(record_iter_init(&ri, &b, NULL, 1 << 24), 0);
    record_t r;
    *base_offset = f->next_offset[p];
    while (record_iter_next(&ri, &r)) {
        int64_t o = f->next_offset[p]++;
        if (o >= FAKE_LOG)
            continue;
        f->log[p][o] = r.value ? strndup((const char *)r.value, r.value_len) : strdup("(null)");
        char meta[512];
        int len = snprintf(meta, sizeof(meta), "%.*s %lld", r.key ? (int)r.key_len : 1,
                           r.key ? (const char *)r.key : "-", (long long)r.timestamp_ms);
        record_header_iter_t hi = record_header_iter(&r);
        record_header_t h;
        while (record_header_next(&hi, &h) && len < 400)
            len += snprintf(meta + len, sizeof(meta) - (size_t)len, " %.*s=%.*s", (int)h.name_len,
                            h.name, h.value ? (int)h.value_len : 4,
                            h.value ? (const char *)h.value : "null");
        f->meta[p][o] = strdup(meta);
    }
    record_iter_free(&ri);
    return 0;
}

/* Returns false when the connection is to be dropped instead of answered. */
static bool fake_produce(fake_t *f, int fd, const proto_request_header_t *h, reader_t *r)
{
    const proto_api_t *api = proto_api(API_PRODUCE);
    produce_request_t req;
    arena_t arena;
    arena_init(&arena, 0);
    ck_assert_int_eq(proto_decode(api->request, h->api_version,
                                  proto_api_flexible(api, h->api_version), r, &arena, &req), 0);
    produce_response_t resp;
    proto_init(api->response, &resp);
    resp.responses = arena_alloc(&arena, sizeof(*resp.responses) * (size_t)(req.topic_data_count + 1));
    resp.responses_count = req.topic_data_count;
    pthread_mutex_lock(&f->lock);
    f->produce_requests++;
    f->produce_version = h->api_version;
    for (int32_t t = 0; t < req.topic_data_count; t++) {
        produce_request_topic_produce_data_t *td = &req.topic_data[t];
        produce_response_topic_produce_response_t *tr = &resp.responses[t];
        /* from v13 a topic is named by its id only */
        bool unknown_id = h->api_version >= 13 && (td->topic_id.bytes[0] == 0 ||
                                                   td->topic_id.bytes[1] != f->topic_id_version);
        tr->name = td->name;         /* up to v12 */
        tr->topic_id = td->topic_id; /* from v13 on */
        tr->partition_responses_count = td->partition_data_count;
        tr->partition_responses = arena_alloc(&arena, sizeof(*tr->partition_responses) *
                                                          (size_t)(td->partition_data_count + 1));
        for (int32_t i = 0; i < td->partition_data_count; i++) {
            produce_response_partition_produce_response_t *pr = &tr->partition_responses[i];
            proto_init(api->response->fields[0].sub->fields[2].sub, pr);
            pr->index = td->partition_data[i].index;
            pr->base_offset = -1;
            if (unknown_id) {
                pr->error_code = SAMSA_ERR_UNKNOWN_TOPIC_ID;
                f->unknown_topic_id_answers++;
                continue;
            }
            pr->error_code = fake_append(f, pr->index, td->partition_data[i].records, &pr->base_offset);
            if (pr->index >= 0 && pr->index < FAKE_PARTS) {
                int32_t q = pr->index;
                f->part_moved[q] = f->part_moved[q] || (f->part_fd[q] && f->part_fd[q] != fd);
                f->part_fd[q] = fd;
            }
        }
    }
    bool drop = f->produce_requests == f->drop_at_produce;
    pthread_mutex_unlock(&f->lock);
    if (req.acks != 0 && !drop)
        fake_send(fd, api, h->api_version, h->correlation_id, &resp, false);
    arena_free(&arena);
    return !drop;
}

/* Handles one frame; false when the client should be dropped. */
static bool fake_frame(fake_t *f, int fd, const uint8_t *data, size_t len)
{
    reader_t r = reader_make(data, len);
    proto_request_header_t h;
    if (proto_request_header_read(&r, &h))
        return false;
    if (fd < 1024 && f->hung[fd])
        return true;
    switch (h.api_key) {
    case API_API_VERSIONS: fake_api_versions(f, fd, &h); return true;
    case API_METADATA:
        if (!f->ignore_metadata)
            fake_metadata(f, fd, &h, &r);
        return true;
    case API_INIT_PRODUCER_ID: fake_init_pid(f, fd, &h); return true;
    case API_PRODUCE:
        if (f->ignore_produce && fd < 1024)
            f->hung[fd] = true;
        return f->ignore_produce || fake_produce(f, fd, &h, &r);
    default: return false;
    }
}

static void *fake_run(void *opaque)
{
    fake_t *f = opaque;
    int fds[FAKE_CLIENTS];
    buf_t in[FAKE_CLIENTS];
    int n = 0;
    for (;;) {
        struct pollfd pfd[FAKE_CLIENTS + 2];
        pfd[0] = (struct pollfd){f->listen_fd, POLLIN, 0};
        pfd[1] = (struct pollfd){f->wake[0], POLLIN, 0};
        for (int i = 0; i < n; i++)
            pfd[i + 2] = (struct pollfd){fds[i], POLLIN, 0};
        if (poll(pfd, (nfds_t)n + 2, -1) < 0)
            continue;
        if (pfd[1].revents)
            break;
        for (int i = 0; i < n; i++) {
            if (!pfd[i + 2].revents)
                continue;
            uint8_t tmp[65536];
            ssize_t got = read(fds[i], tmp, sizeof(tmp));
            bool keep = got > 0;
            if (keep)
                buf_put(&in[i], tmp, (size_t)got);
            while (keep && in[i].len >= 4) {
                uint32_t size = be32_load(in[i].data);
                if (in[i].len - 4 < size)
                    break;
                keep = fake_frame(f, fds[i], in[i].data + 4, size);
                memmove(in[i].data, in[i].data + 4 + size, in[i].len - 4 - size);
                in[i].len -= 4 + size;
            }
            if (!keep) {
                if (fds[i] < 1024)
                    f->hung[fds[i]] = false;
                close(fds[i]);
                buf_free(&in[i]);
                fds[i] = fds[n - 1];
                in[i] = in[n - 1];
                pfd[i + 2] = pfd[n + 1];
                n--;
                i--;
            }
        }
        if ((pfd[0].revents & POLLIN) && n < FAKE_CLIENTS) {
            int c = accept(f->listen_fd, NULL, NULL);
            if (c >= 0) {
                fds[n] = c;
                buf_init(&in[n], 0);
                n++;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        close(fds[i]);
        buf_free(&in[i]);
    }
    return NULL;
}

static fake_t *fake_start_on(int port);

static fake_t *fake_start(void) { return fake_start_on(0); }

/* A fake broker listening on port (0: any free one); not serving until fake_go. */
static fake_t *fake_start_on(int port)
{
    fake_t *f = calloc(1, sizeof(*f));
    f->api_versions_max = 4;
    f->metadata_max = 12;
    f->partitions = 1;
    for (int p = 0; p < FAKE_PARTS; p++)
        f->producer_id[p] = -1;
    pthread_mutex_init(&f->lock, NULL);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int one = 1;
    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(f->listen_fd, 16), 0);
    socklen_t al = sizeof(a);
    getsockname(f->listen_fd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    ck_assert_int_eq(pipe(f->wake), 0);
    return f;
}

static void fake_go(fake_t *f) { pthread_create(&f->thread, NULL, fake_run, f); }

static void fake_stop(fake_t *f)
{
    ck_assert_int_eq(write(f->wake[1], "x", 1), 1);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    close(f->wake[0]);
    close(f->wake[1]);
    for (int p = 0; p < FAKE_PARTS; p++)
        for (int i = 0; i < FAKE_LOG; i++) {
            free(f->log[p][i]);
            free(f->meta[p][i]);
        }
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* ---- connections ------------------------------------------------------ */

typedef struct result {
    int calls;
    samsa_err_t err;
    int16_t version;
    int32_t brokers;
} result_t;

static samsa_err_t encode_metadata_all(void *opaque, int16_t version, buf_t *out)
{
    const proto_api_t *api = proto_api(API_METADATA);
    metadata_request_t req;
    proto_init(api->request, &req);
    req.topics_count = 0;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static void on_result(void *opaque, conn_t *c, samsa_err_t err, int16_t version, const void *resp)
{
    result_t *r = opaque;
    r->calls++;
    r->err = err;
    r->version = version;
    if (resp)
        r->brokers = ((const metadata_response_t *)resp)->brokers_count;
}

static void metadata_once(fake_t *f, client_config_t *cfg, result_t *res, conn_t **out_conn,
                          loop_t **out_loop)
{
    loop_t *loop = loop_new();
    conn_t *c = conn_new(loop, cfg, 1, "localhost", f->port, NULL, NULL);
    conn_request_t req = {API_METADATA, -1, false, 0, encode_metadata_all, on_result, res, NULL};
    ck_assert_int_eq(conn_send(c, &req), 0);
    while (res->calls == 0)
        loop_run_once(loop, 100);
    *out_conn = c;
    *out_loop = loop;
}

static client_config_t conn_config(void)
{
    client_config_t cfg;
    client_config_init(&cfg);
    return cfg;
}

START_TEST(versions_are_the_highest_both_sides_speak)
{
    ck_assert_int_eq(conn_pick_version(0, 12, 0, 9), 9);
    ck_assert_int_eq(conn_pick_version(3, 13, 0, 11), 11);
    ck_assert_int_eq(conn_pick_version(4, 13, 0, 3), -1);
    ck_assert_int_eq(conn_pick_version(0, 4, 0, 4), 4);
}
END_TEST

START_TEST(connection_negotiates_versions_then_sends_the_request)
{
    fake_t *f = fake_start();
    f->metadata_max = 9;
    fake_go(f);
    client_config_t cfg = conn_config();
    result_t res = {0};
    conn_t *c;
    loop_t *loop;
    metadata_once(f, &cfg, &res, &c, &loop);
    ck_assert_int_eq(res.err, 0);
    ck_assert_int_eq(res.version, 9);
    ck_assert_int_eq(res.brokers, 1);
    ck_assert_int_eq(conn_state(c), CONN_UP);
    ck_assert_int_eq(conn_api_version(c, API_METADATA), 9);
    ck_assert_int_eq(conn_api_version(c, API_PRODUCE), proto_api(API_PRODUCE)->max_version);
    ck_assert_int_eq(f->api_versions_count, 1);
    ck_assert_int_eq(f->api_versions_seen[0], proto_api(API_API_VERSIONS)->max_version);
    conn_free(c);
    loop_free(loop);
    fake_stop(f);
}
END_TEST

START_TEST(unsupported_api_versions_is_retried_at_the_brokers_version)
{
    fake_t *f = fake_start();
    f->api_versions_max = 2; /* answers v3+ with UNSUPPORTED_VERSION and its ranges (KIP-511) */
    fake_go(f);
    client_config_t cfg = conn_config();
    result_t res = {0};
    conn_t *c;
    loop_t *loop;
    metadata_once(f, &cfg, &res, &c, &loop);
    ck_assert_int_eq(res.err, 0);
    ck_assert_int_eq(res.version, 12);
    ck_assert_int_eq(f->api_versions_count, 2);
    ck_assert_int_eq(f->api_versions_seen[0], 4);
    ck_assert_int_eq(f->api_versions_seen[1], 2);
    conn_free(c);
    loop_free(loop);
    fake_stop(f);
}
END_TEST

START_TEST(refused_connection_fails_queued_requests)
{
    fake_t *f = fake_start();
    int port = f->port;
    fake_stop(f); /* nothing listens there any more */
    loop_t *loop = loop_new();
    client_config_t cfg = conn_config();
    conn_t *c = conn_new(loop, &cfg, 1, "127.0.0.1", port, NULL, NULL);
    result_t res = {0};
    conn_request_t req = {API_METADATA, -1, false, 0, encode_metadata_all, on_result, &res, NULL};
    ck_assert_int_eq(conn_send(c, &req), 0);
    while (res.calls == 0)
        loop_run_once(loop, 100);
    ck_assert_int_eq(res.calls, 1);
    ck_assert_int_eq(res.err, SAMSA_ERR__TRANSPORT);
    ck_assert_int_eq(conn_state(c), CONN_DOWN);
    conn_free(c);
    loop_free(loop);
}
END_TEST

START_TEST(unanswered_request_times_out_and_the_connection_drops)
{
    fake_t *f = fake_start();
    f->ignore_metadata = true;
    fake_go(f);
    loop_t *loop = loop_new();
    client_config_t cfg = conn_config();
    cfg.request_timeout_ms = 50;
    conn_t *c = conn_new(loop, &cfg, 1, "127.0.0.1", f->port, NULL, NULL);
    result_t res = {0}, res2 = {0};
    conn_request_t req = {API_METADATA, -1, false, 0, encode_metadata_all, on_result, &res, NULL};
    ck_assert_int_eq(conn_send(c, &req), 0);
    req.opaque = &res2;
    ck_assert_int_eq(conn_send(c, &req), 0);
    while (res.calls == 0 || res2.calls == 0) {
        loop_run_once(loop, 10);
        conn_tick(c, loop_now_ms(loop));
    }
    ck_assert_int_eq(res.err, SAMSA_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(res2.err, SAMSA_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(res.calls, 1);
    ck_assert_int_eq(conn_state(c), CONN_DOWN);
    conn_free(c);
    loop_free(loop);
    fake_stop(f);
}
END_TEST

START_TEST(freeing_a_connection_fails_its_requests_once)
{
    loop_t *loop = loop_new();
    client_config_t cfg = conn_config();
    conn_t *c = conn_new(loop, &cfg, 1, "127.0.0.1", 9, NULL, NULL);
    result_t res = {0};
    conn_request_t req = {API_METADATA, -1, false, 0, encode_metadata_all, on_result, &res, NULL};
    ck_assert_int_eq(conn_send(c, &req), 0);
    conn_free(c);
    ck_assert_int_eq(res.calls, 1);
    ck_assert(res.err == SAMSA_ERR__DESTROYED || res.err == SAMSA_ERR__TRANSPORT);
    loop_free(loop);
}
END_TEST

/* ---- the producer ------------------------------------------------------ */

typedef struct reports {
    int count;
    int errors;
    int32_t partition[FAKE_LOG];
    int64_t offset[FAKE_LOG];
    samsa_err_t err[FAKE_LOG];
    char errstr[256];
} reports_t;

static void on_report(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    reports_t *rs = opaque;
    int i = (int)(intptr_t)r->msg_opaque;
    rs->count++;
    if (r->err) {
        rs->errors++;
        snprintf(rs->errstr, sizeof(rs->errstr), "%s", r->errstr);
    }
    rs->partition[i] = r->partition;
    rs->offset[i] = r->offset;
    rs->err[i] = r->err;
}

static samsa_producer_t *producer(fake_t *f, reports_t *rs, const char *const *extra_keys,
                                  const char *const *extra_values, size_t extra)
{
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", f->port);
    const char *keys[16] = {"bootstrap.servers", "linger.ms"};
    const char *values[16] = {bootstrap, "1"};
    for (size_t i = 0; i < extra; i++) {
        keys[2 + i] = extra_keys[i];
        values[2 + i] = extra_values[i];
    }
    samsa_producer_callbacks_t cb = {on_report, NULL, rs};
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, 2 + extra, &cb, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

/* Produces "v<from>".."v<to-1>" to partition 0 of topic t (report
 * opaque = i). */
static void produce_range(samsa_producer_t *p, int from, int to)
{
    for (int i = from; i < to; i++) {
        char value[16];
        snprintf(value, sizeof(value), "v%d", i);
        ck_assert_int_eq(samsa_producer_send(p, "t", 0, NULL, 0, value, strlen(value), NULL, 0, 0,
                                             0, (void *)(intptr_t)i), 0);
    }
}

/* Produces "v0".."v<n-1>" to partition 0 of topic t (report opaque = i). */
static void produce_numbered(samsa_producer_t *p, int n) { produce_range(p, 0, n); }

/* Once what was sent is delivered, the fake's topic t is deleted and
 * created again with partitions partitions, under a new id. */
static void recreate_topic(samsa_producer_t *p, fake_t *f, int32_t partitions)
{
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    pthread_mutex_lock(&f->lock);
    f->partitions = partitions;
    f->topic_id_version++;
    pthread_mutex_unlock(&f->lock);
}

/* Flushes; every report must be a success and the fake's partition 0 must
 * hold exactly "v0".."v<n-1>", once each, in order. */
static void flush_and_check_in_order(samsa_producer_t *p, fake_t *f, reports_t *rs, int n)
{
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    ck_assert_int_eq(rs->count, n);
    ck_assert_int_eq(rs->errors, 0);
    pthread_mutex_lock(&f->lock);
    ck_assert_int_eq(f->next_offset[0], n);
    for (int i = 0; i < n; i++) {
        char value[16];
        snprintf(value, sizeof(value), "v%d", i);
        ck_assert_str_eq(f->log[0][i], value);
    }
    pthread_mutex_unlock(&f->lock);
}

START_TEST(keyed_messages_go_where_the_java_client_sends_them)
{
    /* murmur2 vectors for 6 partitions, as Java's default partitioner */
    static const struct { const char *key; int32_t partition; } v[] = {
        {"", 3}, {"a", 4}, {"ab", 2}, {"abc", 3}, {"kafka", 4}, {"1234", 0}, {"234", 2},
        {"34", 0}, {"4", 1}, {"giberish123456789", 2}, {"21", 0}, {"foobar", 0},
        {"a-little-bit-longer-string", 5}, {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 5},
    };
    size_t n = sizeof(v) / sizeof(v[0]);
    fake_t *f = fake_start();
    f->partitions = 6;
    fake_go(f);
    reports_t rs = {0};
    samsa_producer_t *p = producer(f, &rs, NULL, NULL, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(samsa_producer_send(p, "t", -1, v[i].key, strlen(v[i].key), "x", 1, NULL,
                                             0, 0, 0, (void *)(intptr_t)i), 0);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, (int)n);
    ck_assert_int_eq(rs.errors, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(rs.partition[i] == v[i].partition, "key \"%s\": partition %d, Java %d",
                      v[i].key, (int)rs.partition[i], (int)v[i].partition);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(retries_keep_each_partitions_order_without_duplicates)
{
    fake_t *f = fake_start();
    f->produce_errors_left = 3;
    f->produce_error = SAMSA_ERR_NOT_LEADER_OR_FOLLOWER;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"batch.size", "retry.backoff.ms"};
    const char *val[] = {"200", "5"};
    samsa_producer_t *p = producer(f, &rs, k, val, 2);
    int n = 300;
    produce_numbered(p, n);
    flush_and_check_in_order(p, f, &rs, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(rs.offset[i], i);
    pthread_mutex_lock(&f->lock);
    ck_assert_int_eq(f->produce_errors_left, 0);
    pthread_mutex_unlock(&f->lock);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

/* Large batches are written from where the producer keeps them, between
 * the request's own bytes; small socket buffers on both sides cut the
 * writes anywhere in them. Every partition must still get its values, in
 * order, byte for byte, with acks=1 and with acks=0. */
START_TEST(batches_written_in_pieces_arrive_whole)
{
    for (int acks = 1; acks >= 0; acks--) {
        fake_t *f = fake_start();
        int small = 4096;
        ck_assert_int_eq(setsockopt(f->listen_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        f->partitions = FAKE_PARTS;
        fake_go(f);
        reports_t rs = {0};
        const char *k[] = {"batch.size", "linger.ms", "acks", "send.buffer.bytes"};
        const char *val[] = {"32768", "20", acks ? "1" : "0", "8192"}; /* large ones spliced */
        samsa_producer_t *p = producer(f, &rs, k, val, 4);
        int per_part = FAKE_LOG / 2;
        char value[400];
        for (int i = 0; i < per_part * FAKE_PARTS; i++) {
            int part = i % FAKE_PARTS, seq = i / FAKE_PARTS;
            memset(value, 'a' + part, sizeof(value));
            int len = snprintf(value, sizeof(value), "p%d-%d:", part, seq);
            value[len] = '=';
            ck_assert_int_eq(samsa_producer_send(p, "t", part, NULL, 0, value,
                                                 sizeof(value) - (size_t)(seq % 7), NULL, 0, 0, 0,
                                                 (void *)(intptr_t)(i % FAKE_LOG)), 0);
        }
        ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
        ck_assert_int_eq(rs.count, per_part * FAKE_PARTS);
        ck_assert_msg(rs.errors == 0, "%s", rs.errstr);
        /* acks=0 reports once written: the fake may still be reading */
        for (int waited = 0; waited < 10000; waited += 10) {
            pthread_mutex_lock(&f->lock);
            bool all = true;
            for (int part = 0; part < FAKE_PARTS; part++)
                all = all && f->next_offset[part] == per_part;
            pthread_mutex_unlock(&f->lock);
            if (all)
                break;
            usleep(10000);
        }
        pthread_mutex_lock(&f->lock);
        for (int part = 0; part < FAKE_PARTS; part++) {
            ck_assert_int_eq(f->next_offset[part], per_part);
            for (int seq = 0; seq < per_part; seq++) {
                memset(value, 'a' + part, sizeof(value));
                int len = snprintf(value, sizeof(value), "p%d-%d:", part, seq);
                value[len] = '=';
                size_t want = sizeof(value) - (size_t)(seq % 7);
                ck_assert_uint_eq(strlen(f->log[part][seq]), want);
                ck_assert(!memcmp(f->log[part][seq], value, want));
            }
        }
        pthread_mutex_unlock(&f->lock);
        samsa_producer_free(p);
        fake_stop(f);
    }
}
END_TEST

START_TEST(acks_zero_reports_success_without_offsets)
{
    fake_t *f = fake_start();
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"acks"};
    const char *val[] = {"0"};
    samsa_producer_t *p = producer(f, &rs, k, val, 1);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 0, "v", 1, NULL, 0, 0, 0,
                                             (void *)(intptr_t)i), 0);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 10);
    ck_assert_int_eq(rs.errors, 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(rs.offset[i], -1);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(a_call_that_fails_never_fires_the_callback)
{
    fake_t *f = fake_start();
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"queue.buffering.max.messages", "max.request.size"};
    const char *val[] = {"1", "1000"};
    samsa_producer_t *p = producer(f, &rs, k, val, 2);
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 0, "a", 1, NULL, 0, 0, 0, 0), 0);
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 0, "b", 1, NULL, 0, 0, 0, 0),
                     SAMSA_ERR__QUEUE_FULL);
    ck_assert_int_eq(samsa_producer_send(p, NULL, -1, NULL, 0, "c", 1, NULL, 0, 0, 0, 0),
                     SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(samsa_producer_send(p, "t", -2, NULL, 0, "c", 1, NULL, 0, 0, 0, 0),
                     SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 5, "c", 1, NULL, 0, 0, 0, 0),
                     SAMSA_ERR__INVALID_ARG);
    static char big[2000];
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 0, big, sizeof(big), NULL, 0, 0, 0, 0),
                     SAMSA_ERR__MSG_TOO_LARGE);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 1);
    ck_assert_int_eq(samsa_producer_close(p, 1000), 0);
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 0, "d", 1, NULL, 0, 0, 0, 0),
                     SAMSA_ERR__DESTROYED);
    ck_assert_int_eq(rs.count, 1);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(explicit_partition_out_of_range_is_reported_with_topic_and_partition)
{
    fake_t *f = fake_start();
    f->partitions = 2;
    fake_go(f);
    reports_t rs = {0};
    samsa_producer_t *p = producer(f, &rs, NULL, NULL, 0);
    ck_assert_int_eq(samsa_producer_send(p, "orders", 5, NULL, 0, "v", 1, NULL, 0, 0, 0, 0), 0);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.count, 1);
    ck_assert_int_eq(rs.err[0], SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_str_eq(rs.errstr, "topic orders [5]: no such partition (the topic has 2)");
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(fatal_produce_error_names_broker_topic_and_partition)
{
    fake_t *f = fake_start();
    f->produce_errors_left = 1;
    f->produce_error = SAMSA_ERR_INVALID_RECORD;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"enable.idempotence"};
    const char *val[] = {"false"};
    samsa_producer_t *p = producer(f, &rs, k, val, 1);
    ck_assert_int_eq(samsa_producer_send(p, "t", 0, NULL, 0, "v", 1, NULL, 0, 0, 0, 0), 0);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(rs.err[0], SAMSA_ERR_INVALID_RECORD);
    char want[256];
    snprintf(want, sizeof(want), "topic t [0] on 127.0.0.1:%d (node 1): INVALID_RECORD: %s",
             f->port, samsa_err_str(SAMSA_ERR_INVALID_RECORD));
    ck_assert_str_eq(rs.errstr, want);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST


START_TEST(unknown_producer_id_gets_a_new_id_and_renumbers_from_zero)
{
    fake_t *f = fake_start();
    f->produce_errors_left = 1;
    f->produce_error = SAMSA_ERR_UNKNOWN_PRODUCER_ID;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"batch.size", "retry.backoff.ms"};
    const char *val[] = {"150", "5"};
    samsa_producer_t *p = producer(f, &rs, k, val, 2);
    int n = 100;
    produce_numbered(p, n);
    flush_and_check_in_order(p, f, &rs, n);
    pthread_mutex_lock(&f->lock);
    ck_assert_int_eq(f->init_pid_requests, 2);
    ck_assert_int_eq(f->producer_id[0], 4243);
    pthread_mutex_unlock(&f->lock);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(lost_connection_is_retried_and_duplicates_are_not_written)
{
    fake_t *f = fake_start();
    f->drop_at_produce = 2; /* the second request is written, its answer lost */
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"batch.size", "retry.backoff.ms", "reconnect.backoff.ms"};
    const char *val[] = {"150", "5", "5"};
    samsa_producer_t *p = producer(f, &rs, k, val, 3);
    int n = 200;
    produce_numbered(p, n);
    flush_and_check_in_order(p, f, &rs, n);
    pthread_mutex_lock(&f->lock);
    ck_assert_int_gt(f->produce_requests, 2);
    pthread_mutex_unlock(&f->lock);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(batch_too_large_for_the_broker_is_split_and_stays_in_order)
{
    fake_t *f = fake_start();
    f->max_batch_records = 8;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"linger.ms", "retry.backoff.ms"};
    const char *val[] = {"60000", "5"};
    samsa_producer_t *p = producer(f, &rs, k, val, 2);
    int n = 40;
    produce_numbered(p, n);
    flush_and_check_in_order(p, f, &rs, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(rs.offset[i], i);
    pthread_mutex_lock(&f->lock);
    ck_assert_int_gt(f->too_large_answers, 0);
    pthread_mutex_unlock(&f->lock);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(broker_that_starts_late_gets_the_messages_after_reconnects)
{
    fake_t *gone = fake_start();
    int port = gone->port;
    fake_stop(gone); /* the port is free: connections are refused for now */
    reports_t rs = {0};
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", port);
    const char *keys[] = {"bootstrap.servers", "reconnect.backoff.ms", "reconnect.backoff.max.ms"};
    const char *values[] = {bootstrap, "10", "50"};
    samsa_producer_callbacks_t cb = {on_report, NULL, &rs};
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, 3, &cb, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, "k", 1, "v", 1, NULL, 0, 0, 0, 0), 0);
    ck_assert_int_eq(samsa_producer_poll(p, 300), 0); /* nothing to report while refused */
    fake_t *f = fake_start_on(port);
    fake_go(f);
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    ck_assert_int_eq(rs.count, 1);
    ck_assert_int_eq(rs.errors, 0);
    ck_assert_int_eq(rs.offset[0], 0);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(close_reports_what_it_could_not_deliver_before_returning)
{
    fake_t *f = fake_start();
    f->ignore_produce = true;
    fake_go(f);
    reports_t rs = {0};
    samsa_producer_t *p = producer(f, &rs, NULL, NULL, 0);
    ck_assert_int_eq(samsa_producer_send(p, "t", 0, NULL, 0, "v", 1, NULL, 0, 0, 0, 0), 0);
    ck_assert_int_eq(samsa_producer_close(p, 200), SAMSA_ERR__TIMED_OUT);
    ck_assert_int_eq(rs.count, 1);
    ck_assert_int_eq(rs.err[0], SAMSA_ERR__DESTROYED);
    ck_assert_uint_eq(samsa_producer_outstanding(p), 0);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(undelivered_messages_time_out_with_topic_and_partition)
{
    fake_t *f = fake_start();
    f->ignore_produce = true;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"request.timeout.ms", "delivery.timeout.ms", "retry.backoff.ms"};
    const char *val[] = {"50", "200", "10"};
    samsa_producer_t *p = producer(f, &rs, k, val, 3);
    ck_assert_int_eq(samsa_producer_send(p, "late", 0, NULL, 0, "v", 1, NULL, 0, 0, 0, 0), 0);
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    ck_assert_int_eq(rs.count, 1);
    ck_assert(rs.err[0] == SAMSA_ERR__TIMED_OUT || rs.err[0] == SAMSA_ERR_REQUEST_TIMED_OUT);
    ck_assert_msg(strstr(rs.errstr, "topic late [0]") != NULL, "%s", rs.errstr);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

typedef struct partitioner_ctx {
    reports_t rs; /* first: on_report reads the same pointer as a reports_t */
    int calls;
} partitioner_ctx_t;

static int32_t last_partition(const char *topic, const void *key, size_t key_len,
                              int32_t partition_count, void *opaque)
{
    ((partitioner_ctx_t *)opaque)->calls++;
    return partition_count - 1;
}

START_TEST(custom_partitioner_headers_timestamps_and_lent_payloads_arrive)
{
    fake_t *f = fake_start();
    f->partitions = 3;
    fake_go(f);
    partitioner_ctx_t ctx = {{0}, 0};
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", f->port);
    const char *keys[] = {"bootstrap.servers", "compression.type"};
    const char *values[] = {bootstrap, "gzip"};
    samsa_producer_callbacks_t cb = {on_report, last_partition, &ctx};
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, 2, &cb, NULL, 0);
    ck_assert_ptr_nonnull(p);
    static const char key[] = "user-7", value[] = "clicked";
    samsa_header_t h[2] = {{"trace", "abc", 3}, {"empty", NULL, 0}};
    ck_assert_int_eq(samsa_producer_send(p, "t", -1, key, 6, value, 7, h, 2, 1600000000123LL,
                                         SAMSA_MSG_F_LEND, (void *)0), 0);
    ck_assert_int_eq(samsa_producer_send(p, "t", 1, NULL, 0, NULL, 0, NULL, 0, 1600000000456LL, 0,
                                         (void *)1), 0);
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    ck_assert_int_eq(ctx.rs.count, 2);
    ck_assert_int_eq(ctx.rs.errors, 0);
    ck_assert_int_eq(ctx.calls, 1); /* only for the message without a partition */
    ck_assert_int_eq(ctx.rs.partition[0], 2);
    ck_assert_int_eq(ctx.rs.partition[1], 1);
    pthread_mutex_lock(&f->lock);
    ck_assert_str_eq(f->log[2][0], "clicked");
    ck_assert_str_eq(f->meta[2][0], "user-7 1600000000123 trace=abc empty=null");
    ck_assert_str_eq(f->log[1][0], "(null)");
    ck_assert_str_eq(f->meta[1][0], "- 1600000000456");
    pthread_mutex_unlock(&f->lock);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

typedef struct poller {
    samsa_producer_t *p;
    int stop; /* atomic */
} poller_t;

static void *poll_until_stopped(void *opaque)
{
    poller_t *pl = opaque;
    while (!__atomic_load_n(&pl->stop, __ATOMIC_ACQUIRE))
        samsa_producer_poll(pl->p, 20);
    return NULL;
}

START_TEST(blocking_queue_waits_for_room_instead_of_failing)
{
    fake_t *f = fake_start();
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"queue.buffering.max.messages", "queue.full.behavior", "max.block.ms"};
    const char *val[] = {"2", "block", "60000"};
    samsa_producer_t *p = producer(f, &rs, k, val, 3);
    poller_t pl = {p, 0};
    pthread_t th;
    pthread_create(&th, NULL, poll_until_stopped, &pl);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(samsa_producer_send(p, "t", 0, NULL, 0, "v", 1, NULL, 0, 0, 0,
                                             (void *)(intptr_t)i), 0);
    while (samsa_producer_outstanding(p) > 0)
        usleep(1000);
    __atomic_store_n(&pl.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    ck_assert_int_eq(rs.count, 20);
    ck_assert_int_eq(rs.errors, 0);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

/* With connections.per.broker 3, the leader's six partitions go over three
 * connections to it, each partition over one of them only, in order. */
START_TEST(partitions_are_spread_over_connections_per_broker)
{
    fake_t *f = fake_start();
    f->partitions = 6;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"connections.per.broker", "batch.size"};
    const char *val[] = {"3", "200"};
    samsa_producer_t *p = producer(f, &rs, k, val, 2);
    int n = 600;
    for (int i = 0; i < n; i++) {
        char value[16];
        snprintf(value, sizeof(value), "v%d", i / 6);
        ck_assert_int_eq(samsa_producer_send(p, "t", i % 6, NULL, 0, value, strlen(value), NULL, 0,
                                             0, 0, (void *)(intptr_t)i),
                         0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    ck_assert_int_eq(rs.count, n);
    ck_assert_int_eq(rs.errors, 0);
    pthread_mutex_lock(&f->lock);
    int fds[6], distinct = 0;
    for (int part = 0; part < 6; part++) {
        ck_assert_int_eq(f->next_offset[part], n / 6);
        for (int i = 0; i < n / 6; i++) {
            char value[16];
            snprintf(value, sizeof(value), "v%d", i);
            ck_assert_str_eq(f->log[part][i], value);
        }
        ck_assert_msg(!f->part_moved[part], "partition %d came over two connections", part);
        bool seen = false;
        for (int j = 0; j < distinct; j++)
            seen = seen || fds[j] == f->part_fd[part];
        if (!seen)
            fds[distinct++] = f->part_fd[part];
    }
    pthread_mutex_unlock(&f->lock);
    ck_assert_int_eq(distinct, 3);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

/* At v13 the producer names topics by their ids from Metadata, and a
 * topic whose id changed (deleted and created again) is written after a
 * metadata refresh; without ids it stays at v12 and names them. */
START_TEST(produce_names_topics_by_id_and_follows_a_new_id)
{
    for (int ids = 0; ids < 2; ids++) {
        fake_t *f = fake_start();
        f->no_topic_ids = !ids;
        fake_go(f);
        reports_t rs = {0};
        samsa_producer_t *p = producer(f, &rs, NULL, NULL, 0);
        int n = 100;
        produce_range(p, 0, n / 2);
        recreate_topic(p, f, f->partitions);
        produce_range(p, n / 2, n);
        flush_and_check_in_order(p, f, &rs, n);
        pthread_mutex_lock(&f->lock);
        ck_assert_int_eq(f->produce_version, ids ? 13 : 12);
        if (ids)
            ck_assert_int_gt(f->unknown_topic_id_answers, 0);
        else
            ck_assert_int_eq(f->unknown_topic_id_answers, 0);
        pthread_mutex_unlock(&f->lock);
        samsa_producer_free(p);
        fake_stop(f);
    }
}
END_TEST

/* Keyless messages for a topic deleted and created again with fewer
 * partitions: once Metadata leaves a partition out, none go to it; those
 * already there fail with their topic and partition when
 * delivery.timeout.ms runs out, and none is reported twice. */
START_TEST(keyless_messages_leave_a_partition_that_no_longer_exists)
{
    fake_t *f = fake_start();
    f->partitions = 2;
    fake_go(f);
    reports_t rs = {0};
    const char *k[] = {"delivery.timeout.ms", "request.timeout.ms", "batch.size"};
    const char *val[] = {"1500", "1000", "100"};
    samsa_producer_t *p = producer(f, &rs, k, val, 3);
    int n = 200, wave = n / 2;
    for (int i = 0; i < n; i++) {
        if (i == wave / 2)
            recreate_topic(p, f, 1);
        if (i == wave) /* what failed has failed, and Metadata has been asked again */
            samsa_producer_flush(p, 60000);
        ck_assert_int_eq(samsa_producer_send(p, "t", -1, NULL, 0, "v", 1, NULL, 0, 0, 0,
                                             (void *)(intptr_t)i),
                         0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    ck_assert_int_eq(rs.count, n);
    int written = 0;
    for (int i = 0; i < n; i++) {
        if (i >= wave) { /* the second wave: all to partition 0, all written */
            ck_assert_int_eq(rs.partition[i], 0);
            ck_assert_int_eq(rs.err[i], SAMSA_ERR_NONE);
        }
        if (rs.err[i])
            ck_assert_int_eq(rs.partition[i], 1);
        else
            written++;
    }
    pthread_mutex_lock(&f->lock);
    ck_assert_int_eq(f->next_offset[0] + f->next_offset[1], written);
    pthread_mutex_unlock(&f->lock);
    samsa_producer_free(p);
    fake_stop(f);
}
END_TEST

START_TEST(bad_configuration_fails_construction_with_a_message)
{
    const char *k[] = {"bootstrap.servers", "acks"};
    const char *v[] = {"localhost:9092", "most"};
    char err[256];
    ck_assert_ptr_null(samsa_producer_new_kv(k, v, 2, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "acks: \"most\" is not one of all, -1, 0, 1");
    const char *v2[] = {"localhost", "1"};
    ck_assert_ptr_null(samsa_producer_new_kv(k, v2, 2, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "bootstrap.servers: \"localhost\" is not host:port");
    const char *k3[] = {"bootstrap.servers", "connections.per.broker"};
    const char *v3[] = {"localhost:9092", "9"};
    ck_assert_ptr_null(samsa_producer_new_kv(k3, v3, 2, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "connections.per.broker: \"9\" is not an integer in 1..8");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_broker");
    TCase *tc = tcase_create("conn");
    tcase_add_test(tc, versions_are_the_highest_both_sides_speak);
    tcase_add_test(tc, connection_negotiates_versions_then_sends_the_request);
    tcase_add_test(tc, unsupported_api_versions_is_retried_at_the_brokers_version);
    tcase_add_test(tc, refused_connection_fails_queued_requests);
    tcase_add_test(tc, unanswered_request_times_out_and_the_connection_drops);
    tcase_add_test(tc, freeing_a_connection_fails_its_requests_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("producer");
    tcase_add_test(tc, keyed_messages_go_where_the_java_client_sends_them);
    tcase_add_test(tc, retries_keep_each_partitions_order_without_duplicates);
    tcase_add_test(tc, batches_written_in_pieces_arrive_whole);
    tcase_add_test(tc, acks_zero_reports_success_without_offsets);
    tcase_add_test(tc, a_call_that_fails_never_fires_the_callback);
    tcase_add_test(tc, explicit_partition_out_of_range_is_reported_with_topic_and_partition);
    tcase_add_test(tc, fatal_produce_error_names_broker_topic_and_partition);
    tcase_add_test(tc, unknown_producer_id_gets_a_new_id_and_renumbers_from_zero);
    tcase_add_test(tc, lost_connection_is_retried_and_duplicates_are_not_written);
    tcase_add_test(tc, batch_too_large_for_the_broker_is_split_and_stays_in_order);
    tcase_add_test(tc, broker_that_starts_late_gets_the_messages_after_reconnects);
    tcase_add_test(tc, close_reports_what_it_could_not_deliver_before_returning);
    tcase_add_test(tc, undelivered_messages_time_out_with_topic_and_partition);
    tcase_add_test(tc, custom_partitioner_headers_timestamps_and_lent_payloads_arrive);
    tcase_add_test(tc, blocking_queue_waits_for_room_instead_of_failing);
    tcase_add_test(tc, partitions_are_spread_over_connections_per_broker);
    tcase_add_test(tc, produce_names_topics_by_id_and_follows_a_new_id);
    tcase_add_test(tc, keyless_messages_leave_a_partition_that_no_longer_exists);
    tcase_add_test(tc, bad_configuration_fails_construction_with_a_message);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
