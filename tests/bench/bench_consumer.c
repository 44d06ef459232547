/*
 * bench_consumer: samsa's consumer and producer against librdkafka's, in
 * the same run, on the same broker (samsa's embedded broker in a child
 * process, or Apache Kafka: see bench_client.h), with the same settings, for a 1- and an 8-partition topic:
 *   - producer: N 100-byte values, null keys, acks=1, linger.ms=5,
 *     batch.size=1000000: messages per second from the first produce call
 *     until flush returns, and CPU seconds per million messages; each the
 *     median of PRODUCER_ROUNDS runs per client that take turns with the
 *     other client's (and at one partition with the replay's, below), a
 *     different one going first each round, so that the machine's drift
 *     falls on all alike (one run each, the ratio moved between 1.1 and
 *     1.7 from run to run; each round's ratio goes to stderr). Each client
 *     writes its own topic, which
 *     keeps its last 64 MiB per
 *     partition (16 MiB segments, retention checked every second): on a
 *     virtual machine whose host takes back free memory, page cache that
 *     grows into memory never touched before costs a host fault per page
 *     (first touch measured at 0.4 to 2.2 GB/s here), and a topic that
 *     keeps everything let that, not the client, set the faster client's
 *     pace;
 *   - the broker's limit, for the 1-partition topic: the same records,
 *     one pre-built request replayed over one connection (see
 *     replay_produce), one run per round, taking its turn with the two
 *     clients: what any client could reach at best;
 *   - consumer: reading N messages that librdkafka wrote (untimed) to a
 *     third topic that keeps everything, from the beginning of every
 *     partition (manual assignment): messages per second and CPU seconds
 *     per million messages.
 * CPU is getrusage() of this process (user + system, every thread of the
 * client under test); the broker's CPU is its child's and not counted
 * there. The broker's own CPU per million messages, read from /proc for
 * its process (the child, or $SAMSA_BENCH_BROKER_PID), is reported for
 * each client's runs beside: what the client's requests cost the broker.
 * $SAMSA_BENCH_CONSUMER_MESSAGES sets N (default 5000000, about a minute; the issue's
 * figure is 10000000). Without librdkafka.so.1 it says so and exits 0.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "base/buf.h"
#include "bench_client.h"
#include "proto/batch.h"
#include "proto/messages.h"

#define VALUE_BYTES 100

static const char *const producer_kv[][2] = {
    {"acks", "1"}, {"linger.ms", "5"}, {"batch.size", "1000000"}};
#define PRODUCER_KV (sizeof(producer_kv) / sizeof(producer_kv[0]))

static const char *const consumer_kv[][2] = {
    {"group.id", "bench"},         {"enable.auto.commit", "false"},
    {"auto.offset.reset", "earliest"}, {"fetch.min.bytes", "1"},
    {"fetch.max.bytes", "52428800"}, {"max.partition.fetch.bytes", "1048576"}};
#define CONSUMER_KV (sizeof(consumer_kv) / sizeof(consumer_kv[0]))

#define PRODUCER_ROUNDS 3

typedef struct figures {
    double msgs_per_s;
    double cpu_ms_per_m;        /* the client's CPU milliseconds per million messages */
    double broker_cpu_ms_per_m; /* the broker's, 0 when its process is unknown */
} figures_t;

/* Where a timed run started. */
typedef struct mark {
    double t, cpu, broker_cpu;
} mark_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median rate and the median CPU of n runs (each on its own). */
static figures_t figures_median(const figures_t *runs, int n)
{
    double rate[PRODUCER_ROUNDS], cpu[PRODUCER_ROUNDS], broker_cpu[PRODUCER_ROUNDS];
    for (int i = 0; i < n; i++) {
        rate[i] = runs[i].msgs_per_s;
        cpu[i] = runs[i].cpu_ms_per_m;
        broker_cpu[i] = runs[i].broker_cpu_ms_per_m;
    }
    qsort(rate, (size_t)n, sizeof(double), cmp_double);
    qsort(cpu, (size_t)n, sizeof(double), cmp_double);
    qsort(broker_cpu, (size_t)n, sizeof(double), cmp_double);
    return (figures_t){rate[n / 2], cpu[n / 2], broker_cpu[n / 2]};
}

static mark_t mark_now(const bench_broker_t *bb)
{
    return (mark_t){bench_now(), bench_rusage_cpu(), bench_broker_cpu(bb)};
}

static void figures_set(figures_t *f, const bench_broker_t *bb, long n, mark_t m)
{
    double secs = bench_now() - m.t;
    f->msgs_per_s = secs > 0 ? (double)n / secs : 0;
    f->cpu_ms_per_m = (bench_rusage_cpu() - m.cpu) * 1e3 * 1e6 / (double)n;
    f->broker_cpu_ms_per_m = (bench_broker_cpu(bb) - m.broker_cpu) * 1e3 * 1e6 / (double)n;
}

/* ---- samsa -------------------------------------------------------------- */

static void samsa_dr(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    if (r->err)
        (*(long *)opaque)++;
}

static bool samsa_produce(const bench_broker_t *bb, const char *topic, long n, figures_t *f)
{
    const char *k[PRODUCER_KV + 1], *v[PRODUCER_KV + 1];
    bench_kv(producer_kv, PRODUCER_KV, bb->bootstrap, k, v);
    long failed = 0;
    samsa_producer_callbacks_t cb = {samsa_dr, NULL, &failed};
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(k, v, PRODUCER_KV + 1, &cb, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%% samsa: %s\n", err);
        return false;
    }
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof(value));
    mark_t m0 = mark_now(bb);
    for (long i = 0; i < n; i++) {
        while (samsa_producer_send(p, topic, -1, NULL, 0, value, VALUE_BYTES, NULL, 0, 0, 0,
                                   NULL) == SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 1);
        if ((i & 1023) == 0)
            samsa_producer_poll(p, 0);
    }
    samsa_err_t e = samsa_producer_flush(p, 120000);
    figures_set(f, bb, n, m0);
    samsa_producer_free(p);
    if (e || failed)
        fprintf(stderr, "%% samsa: %ld failed deliveries, flush %s\n", failed, samsa_err_name(e));
    return !e && !failed;
}

static bool samsa_consume(const bench_broker_t *bb, const char *topic, int partitions, long n,
                          figures_t *f)
{
    const char *k[CONSUMER_KV + 1], *v[CONSUMER_KV + 1];
    bench_kv(consumer_kv, CONSUMER_KV, bb->bootstrap, k, v);
    char err[256];
    mark_t m0 = mark_now(bb);
    samsa_consumer_t *c = samsa_consumer_new_kv(k, v, CONSUMER_KV + 1, NULL, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "%% samsa: %s\n", err);
        return false;
    }
    samsa_topic_partition_t tps[8];
    for (int i = 0; i < partitions; i++)
        tps[i] = (samsa_topic_partition_t){topic, i, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {tps, (size_t)partitions};
    samsa_consumer_assign(c, &l);
    long got = 0, bytes = 0;
    double give_up = bench_now() + 300;
    while (got < n && bench_now() < give_up) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (!m)
            continue;
        if (!m->err) {
            got++;
            bytes += (long)m->value_len;
        }
        samsa_message_free(m);
    }
    figures_set(f, bb, n, m0);
    bench_keep((uint64_t)bytes);
    samsa_consumer_free(c);
    if (got < n)
        fprintf(stderr, "%% samsa: consumed %ld of %ld\n", got, n);
    return got == n;
}

/* ---- the broker's own limit --------------------------------------------- */

/* How fast the broker takes one partition's records over one connection
 * when the client costs nothing: one Produce request (v9, acks=1) holding
 * one batch of the records the clients write (100-byte values, null keys)
 * as many as batch.size=1000000 allows, built once and sent again and
 * again, five in flight, each answer read and checked. A broker answers a
 * connection's requests one after another, and every client keeps a
 * partition on one connection (to keep its order), so no client can write
 * one partition faster than this. */
#define REPLAY_IN_FLIGHT 5
#define REPLAY_BATCH_BYTES 1000000

static int replay_connect(const char *bootstrap)
{
    char host[256];
    const char *colon = strrchr(bootstrap, ':');
    if (!colon)
        return -1;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - bootstrap), bootstrap);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res))
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static bool replay_io(int fd, void *data, size_t len, bool out)
{
    uint8_t *p = data;
    while (len > 0) {
        ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The Produce request, framed, in out; its record count in *records. */
static bool replay_request(const char *topic, buf_t *out, long *records)
{
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof(value));
    buf_t batch;
    buf_init(&batch, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    batch_builder_params_t params;
    batch_builder_params_default(&params, now_ms);
    batch_builder_t b;
    batch_builder_init(&b, &batch, &params);
    long n = 0;
    /* the next record's size grows with its offset delta: asked each time */
    while (batch_builder_bytes(&b) +
                   batch_builder_record_bytes(&b, now_ms, 0, VALUE_BYTES, NULL, 0) <=
               REPLAY_BATCH_BYTES &&
           batch_builder_append(&b, now_ms, NULL, 0, value, VALUE_BYTES, NULL, 0) == SAMSA_ERR_NONE)
        n++;
    const uint8_t *records_data;
    size_t records_len;
    bool ok = batch_builder_finish(&b, 0, 0, &records_data, &records_len) == SAMSA_ERR_NONE;
    if (ok) {
        produce_request_partition_produce_data_t pd = {0, {records_data, (int32_t)records_len,
                                                           NULL}};
        produce_request_topic_produce_data_t td = {proto_str_of(topic), {{0}}, &pd, 1};
        produce_request_t req;
        proto_init(&produce_request_desc, &req);
        req.acks = 1;
        req.timeout_ms = 30000;
        req.topic_data = &td;
        req.topic_data_count = 1;
        const proto_api_t *api = proto_api(API_PRODUCE);
        buf_put_i32(out, 0);
        proto_request_header_t h = {API_PRODUCE, 9, 0, proto_str_of("bench-replay")};
        proto_request_header_write(out, &h, proto_request_header_version(api, 9));
        ok = proto_encode(api->request, 9, proto_api_flexible(api, 9), &req, out, NULL) ==
             SAMSA_ERR_NONE;
        be32_store(out->data, (uint32_t)(out->len - 4));
    }
    batch_builder_free(&b);
    buf_free(&batch);
    *records = n;
    return ok && n > 0;
}

/* Reads one Produce answer; false unless it says the batch was written. */
static bool replay_answer(int fd)
{
    uint8_t size[4];
    if (!replay_io(fd, size, 4, false))
        return false;
    size_t len = be32_load(size);
    uint8_t *frame = malloc(len ? len : 1);
    bool ok = frame && replay_io(fd, frame, len, false);
    if (ok) {
        const proto_api_t *api = proto_api(API_PRODUCE);
        reader_t r = reader_make(frame, len);
        int32_t correlation_id;
        arena_t arena;
        arena_init(&arena, 0);
        produce_response_t resp;
        ok = !proto_response_header_read(&r, proto_response_header_version(api, 9),
                                         &correlation_id) &&
             !proto_decode(api->response, 9, proto_api_flexible(api, 9), &r, &arena, &resp) &&
             resp.responses_count == 1 && resp.responses[0].partition_responses_count == 1;
        if (ok && resp.responses[0].partition_responses[0].error_code) {
            fprintf(stderr, "%% replay: the broker answered %s\n",
                    samsa_err_name(resp.responses[0].partition_responses[0].error_code));
            ok = false;
        }
        arena_free(&arena);
    }
    free(frame);
    return ok;
}

/* At least n records of one request sent again and again to partition 0
 * of topic over one connection; the figures count the records sent. */
static bool replay_produce(const bench_broker_t *bb, const char *topic, long n, figures_t *f)
{
    buf_t req;
    buf_init(&req, 0);
    long per_request = 0;
    int fd = replay_connect(bb->bootstrap);
    bool ok = fd >= 0 && replay_request(topic, &req, &per_request);
    long requests = ok ? (n + per_request - 1) / per_request : 0, sent = 0, answered = 0;
    mark_t m0 = mark_now(bb);
    while (ok && answered < requests) {
        if (sent < requests && sent - answered < REPLAY_IN_FLIGHT) {
            /* correlation ids are not checked: answers come in order */
            ok = replay_io(fd, req.data, req.len, true);
            sent++;
        } else {
            ok = replay_answer(fd);
            answered++;
        }
    }
    figures_set(f, bb, requests * per_request, m0);
    if (!ok)
        fprintf(stderr, "%% replay: the broker at %s did not take the requests\n", bb->bootstrap);
    if (fd >= 0)
        close(fd);
    buf_free(&req);
    return ok;
}

/* ---- librdkafka --------------------------------------------------------- */

static void rdk_dr(rdk_handle_t *h, const rdk_message_t *m, void *opaque)
{
    if (m->err)
        (*(long *)opaque)++;
}

static bool rdk_produce(const bench_broker_t *bb, const char *topic, long n, figures_t *f)
{
    long failed = 0;
    rdk_handle_t *h = rdk_new(RDK_PRODUCER, bb->bootstrap, producer_kv, PRODUCER_KV, rdk_dr, &failed);
    if (!h)
        return false;
    rdk_topic_t *t = rdk.topic_new(h, topic, NULL);
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof(value));
    mark_t m0 = mark_now(bb);
    for (long i = 0; i < n; i++) {
        while (rdk.produce(t, RDK_PARTITION_UA, RDK_MSG_F_COPY, value, VALUE_BYTES, NULL, 0,
                           NULL) != 0 &&
               rdk.last_error() == RDK_ERR_QUEUE_FULL)
            rdk.poll(h, 1);
        if ((i & 1023) == 0)
            rdk.poll(h, 0);
    }
    int e = rdk.flush(h, 120000);
    figures_set(f, bb, n, m0);
    rdk.topic_destroy(t);
    rdk.destroy(h);
    if (e || failed)
        fprintf(stderr, "%% librdkafka: %ld failed deliveries, flush error %d\n", failed, e);
    return !e && !failed;
}

static bool rdk_consume(const bench_broker_t *bb, const char *topic, int partitions, long n,
                        figures_t *f)
{
    mark_t m0 = mark_now(bb);
    rdk_handle_t *h = rdk_new(RDK_CONSUMER, bb->bootstrap, consumer_kv, CONSUMER_KV, NULL, NULL);
    if (!h || !rdk_assign(h, topic, partitions, RDK_OFFSET_BEGINNING))
        return false;
    long got = 0, bytes = 0;
    double give_up = bench_now() + 300;
    while (got < n && bench_now() < give_up) {
        rdk_message_t *m = rdk.consumer_poll(h, 100);
        if (!m)
            continue;
        if (!m->err) {
            got++;
            bytes += (long)m->len;
        }
        rdk.message_destroy(m);
    }
    figures_set(f, bb, n, m0);
    bench_keep((uint64_t)bytes);
    rdk.consumer_close(h);
    rdk.destroy(h);
    if (got < n)
        fprintf(stderr, "%% librdkafka: consumed %ld of %ld\n", got, n);
    return got == n;
}

int main(void)
{
    if (!rdk_load()) {
        printf("bench consumer: librdkafka.so.1 not found, nothing to compare with\n");
        return 0;
    }
    long n = bench_env_long("SAMSA_BENCH_CONSUMER_MESSAGES", 5000000);
    bench_broker_t bb;
    if (!bench_broker_start(&bb))
        return 1;
    int status = 0;
    static const int partition_counts[] = {1, 8};
    for (size_t pc = 0; pc < 2 && !status; pc++) {
        int parts = partition_counts[pc];
        char ts[64], tr[64], td[64], tx[64], name[160];
        snprintf(ts, sizeof(ts), "bench-samsa-p%d", parts);
        snprintf(tr, sizeof(tr), "bench-rdkafka-p%d", parts);
        snprintf(td, sizeof(td), "bench-data-p%d", parts);
        snprintf(tx, sizeof(tx), "bench-replay-p%d", parts);
        static const samsa_topic_config_t bounded[] = {{"retention.bytes", "67108864"},
                                                       {"segment.bytes", "16777216"}};
        figures_t sps[PRODUCER_ROUNDS], rps[PRODUCER_ROUNDS], xps[PRODUCER_ROUNDS], sc, rc, fill;
        /* the broker's limit on one connection: with one partition only */
        bool replay = parts == 1;
        if (!bench_create_topic_with(bb.bootstrap, ts, parts, bounded, 2) ||
            !bench_create_topic_with(bb.bootstrap, tr, parts, bounded, 2) ||
            (replay && !bench_create_topic_with(bb.bootstrap, tx, parts, bounded, 2)) ||
            !bench_create_topic(bb.bootstrap, td, parts)) {
            status = 1;
            break;
        }
        /* A broker in a JVM is slow until its code is compiled: a fresh
         * Kafka here took about three times the CPU per message for its
         * first 3 million as for the next runs. On a broker this benchmark
         * did not start, 3N records are first replayed (which costs the
         * client next to nothing), then each client writes a fifth of N,
         * all untimed. */
        figures_t warm;
        if (!bb.pid && !((!replay || replay_produce(&bb, tx, 3 * n, &warm)) &&
                         samsa_produce(&bb, ts, n / 5, &warm) &&
                         rdk_produce(&bb, tr, n / 5, &warm))) {
            status = 1;
            break;
        }
        /* Each round runs every producer once; the first of a round is the
         * next one along, so that each goes first once. */
        typedef bool (*produce_fn)(const bench_broker_t *, const char *, long, figures_t *);
        const produce_fn fns[] = {samsa_produce, rdk_produce, replay_produce};
        const char *topics[] = {ts, tr, tx};
        figures_t *runs[] = {sps, rps, xps};
        int producers = replay ? 3 : 2;
        for (int r = 0; r < PRODUCER_ROUNDS && !status; r++) {
            for (int i = 0; i < producers && !status; i++) {
                int which = (r + i) % producers;
                if (!fns[which](&bb, topics[which], n, &runs[which][r]))
                    status = 1;
            }
            if (status)
                break;
            fprintf(stderr,
                    "%% producer, %d partition%s, round %d: samsa %.0f msg/s, "
                    "librdkafka %.0f msg/s (ratio %.2f)",
                    parts, parts > 1 ? "s" : "", r + 1, sps[r].msgs_per_s, rps[r].msgs_per_s,
                    rps[r].msgs_per_s > 0 ? sps[r].msgs_per_s / rps[r].msgs_per_s : 0);
            if (replay)
                fprintf(stderr, ", one-connection replay %.0f msg/s", xps[r].msgs_per_s);
            fprintf(stderr, "\n");
        }
        if (status)
            break;
        figures_t sp = figures_median(sps, PRODUCER_ROUNDS);
        figures_t rp = figures_median(rps, PRODUCER_ROUNDS);
        if (!rdk_produce(&bb, td, n, &fill) ||
            !samsa_consume(&bb, td, parts, n, &sc) ||
            !rdk_consume(&bb, td, parts, n, &rc)) {
            status = 1;
            break;
        }
        snprintf(name, sizeof(name), "%sconsumer_p%d_msgs_per_s", bb.prefix, parts);
        bench_report(name, sc.msgs_per_s, "librdkafka", rc.msgs_per_s, "msg/s", 0);
        snprintf(name, sizeof(name), "%sconsumer_p%d_cpu_ms_per_million", bb.prefix, parts);
        bench_report(name, sc.cpu_ms_per_m, "librdkafka", rc.cpu_ms_per_m, "ms", 0);
        snprintf(name, sizeof(name), "%sproducer_acks1_p%d_msgs_per_s", bb.prefix, parts);
        bench_report(name, sp.msgs_per_s, "librdkafka", rp.msgs_per_s, "msg/s", 0);
        if (replay) {
            /* how near samsa comes to what the broker can take (the
             * line above has librdkafka's figure) */
            figures_t xp = figures_median(xps, PRODUCER_ROUNDS);
            snprintf(name, sizeof(name), "%sproducer_acks1_p%d_msgs_per_s_of_broker_limit",
                     bb.prefix, parts);
            bench_report(name, sp.msgs_per_s, "one-connection replay", xp.msgs_per_s, "msg/s", 0);
        }
        snprintf(name, sizeof(name), "%sproducer_acks1_p%d_cpu_ms_per_million", bb.prefix, parts);
        bench_report(name, sp.cpu_ms_per_m, "librdkafka", rp.cpu_ms_per_m, "ms", 0);
        if (bb.cpu_pid) {
            snprintf(name, sizeof(name), "%sconsumer_p%d_broker_cpu_ms_per_million", bb.prefix,
                     parts);
            bench_report(name, sc.broker_cpu_ms_per_m, "librdkafka", rc.broker_cpu_ms_per_m, "ms",
                         0);
            snprintf(name, sizeof(name), "%sproducer_acks1_p%d_broker_cpu_ms_per_million",
                     bb.prefix, parts);
            bench_report(name, sp.broker_cpu_ms_per_m, "librdkafka", rp.broker_cpu_ms_per_m,
                         "ms", 0);
        }
    }
    bench_broker_stop(&bb);
    return status;
}
