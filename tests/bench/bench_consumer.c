/*
 * bench_consumer: samsa's consumer and producer against librdkafka's, in
 * the same run, on the same broker (samsa's embedded broker in a child
 * process, or Apache Kafka: see bench_client.h), with the same settings, for a 1- and an 8-partition topic:
 *   - producer: N 100-byte values, null keys, acks=1, linger.ms=5,
 *     batch.size=1000000: messages per second from the first produce call
 *     until flush returns, and CPU seconds per million messages; each the
 *     median of PRODUCER_ROUNDS runs per client that take turns with the
 *     other client's, who goes first alternating, so that the machine's
 *     drift falls on both alike (one run each, the ratio moved between 1.1
 *     and 1.7 from run to run). Each client writes its own topic, which
 *     keeps its last 64 MiB per
 *     partition (16 MiB segments, retention checked every second): on a
 *     virtual machine whose host takes back free memory, page cache that
 *     grows into memory never touched before costs a host fault per page
 *     (first touch measured at 0.4 to 2.2 GB/s here), and a topic that
 *     keeps everything let that, not the client, set the faster client's
 *     pace;
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
#include "bench_client.h"

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
        char ts[64], tr[64], td[64], name[160];
        snprintf(ts, sizeof(ts), "bench-samsa-p%d", parts);
        snprintf(tr, sizeof(tr), "bench-rdkafka-p%d", parts);
        snprintf(td, sizeof(td), "bench-data-p%d", parts);
        static const samsa_topic_config_t bounded[] = {{"retention.bytes", "67108864"},
                                                       {"segment.bytes", "16777216"}};
        figures_t sps[PRODUCER_ROUNDS], rps[PRODUCER_ROUNDS], sc, rc, fill;
        if (!bench_create_topic_with(bb.bootstrap, ts, parts, bounded, 2) ||
            !bench_create_topic_with(bb.bootstrap, tr, parts, bounded, 2) ||
            !bench_create_topic(bb.bootstrap, td, parts)) {
            status = 1;
            break;
        }
        /* A broker in a JVM is slow until its code is compiled: a fresh
         * Kafka here took about three times the CPU per message for its
         * first 3 million as for the next runs. On a broker this benchmark
         * did not start, each client first writes a fifth of N untimed. */
        figures_t warm;
        if (!bb.pid && !(samsa_produce(&bb, ts, n / 5, &warm) &&
                         rdk_produce(&bb, tr, n / 5, &warm))) {
            status = 1;
            break;
        }
        for (int r = 0; r < PRODUCER_ROUNDS && !status; r++) {
            bool ok = r % 2 == 0 ? samsa_produce(&bb, ts, n, &sps[r]) &&
                                       rdk_produce(&bb, tr, n, &rps[r])
                                 : rdk_produce(&bb, tr, n, &rps[r]) &&
                                       samsa_produce(&bb, ts, n, &sps[r]);
            status = ok ? 0 : 1;
            if (ok)
                fprintf(stderr, "%% producer, %d partition%s, round %d: samsa %.0f msg/s, librdkafka %.0f msg/s\n",
                        parts, parts > 1 ? "s" : "", r + 1, sps[r].msgs_per_s, rps[r].msgs_per_s);
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
