/*
 * bench_e2e: end-to-end latency, samsa against librdkafka, in the same run,
 * on the same broker (samsa's embedded broker in a child process, or
 * Apache Kafka: see bench_client.h): a
 * producer sends 100-byte values at a steady 10,000 messages per second
 * (acks=1, linger.ms=0, partitions in turn) while a consumer of the same
 * library, assigned every partition, reads them; the latency of a message
 * is from just before its produce call to its arrival from poll (the send
 * time travels in the value). The producer sleeps between messages, so the
 * clients' own threads have the CPU. Printed: p50, p99 and p99.9 in microseconds
 * for a 1- and an 8-partition topic (lower is better: ratios below 1 favour
 * samsa). Each client's latencies are pooled over ROUNDS runs that take
 * turns with the other client's, who goes first alternating, so that the
 * machine's drift (other load, the disk) falls on both alike.
 * $SAMSA_BENCH_E2E_SECONDS sets each client's total (default 30: with 10,
 * the 1-partition p99 ratio moved between 0.72 and 1.07 over ten runs of
 * the same code; with 30, three runs gave 0.86 to 0.91).
 * Without librdkafka.so.1 it says so and exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "bench_client.h"

#define VALUE_BYTES 100
#define RATE_PER_S 10000
#define ROUNDS 4

static const char *const producer_kv[][2] = {{"acks", "1"}, {"linger.ms", "0"}};
#define PRODUCER_KV (sizeof(producer_kv) / sizeof(producer_kv[0]))

static const char *const consumer_kv[][2] = {{"group.id", "bench-e2e"},
                                             {"enable.auto.commit", "false"},
                                             {"fetch.min.bytes", "1"},
                                             {"fetch.wait.max.ms", "100"}};
#define CONSUMER_KV (sizeof(consumer_kv) / sizeof(consumer_kv[0]))

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What the consumer thread fills. */
typedef struct run {
    const char *bootstrap;
    const char *topic;
    int partitions;
    long expected;       /* warm-up messages included */
    long warmup;
    volatile long received;
    volatile bool stop;
    uint64_t *latency_ns; /* expected - warmup entries */
    long measured;
    bool failed;
} run_t;

static void record(run_t *r, const void *value, size_t len)
{
    uint64_t sent;
    if (len != VALUE_BYTES)
        return;
    memcpy(&sent, value, sizeof(sent));
    uint64_t now = now_ns();
    if (sent && r->measured < r->expected - r->warmup)
        r->latency_ns[r->measured++] = now - sent;
    __atomic_add_fetch(&r->received, 1, __ATOMIC_RELEASE);
}

/* Client-neutral producing: the library's send and poll. */
typedef struct producer_ops {
    bool (*send)(void *h, const char *topic, int32_t partition, const void *value);
    void (*poll)(void *h);
} producer_ops_t;

/* Sends the warm-up messages (send time 0), waits for them to come back,
 * then sends the rest at RATE_PER_S. */
static bool pace(run_t *r, const producer_ops_t *ops, void *h)
{
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof(value));
    uint64_t zero = 0;
    memcpy(value, &zero, sizeof(zero));
    for (long i = 0; i < r->warmup; i++)
        if (!ops->send(h, r->topic, (int32_t)(i % r->partitions), value))
            return false;
    double give_up = bench_now() + 30;
    while (__atomic_load_n(&r->received, __ATOMIC_RELAXED) < r->warmup) {
        if (bench_now() > give_up) {
            fprintf(stderr, "%% %s: the warm-up messages did not arrive\n", r->topic);
            return false;
        }
        ops->poll(h);
    }
    uint64_t start = now_ns(), step = 1000000000u / RATE_PER_S;
    for (long i = r->warmup; i < r->expected; i++) {
        uint64_t due = start + (uint64_t)(i - r->warmup) * step;
        struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        ops->poll(h);
        uint64_t t = now_ns();
        memcpy(value, &t, sizeof(t));
        if (!ops->send(h, r->topic, (int32_t)(i % r->partitions), value))
            return false;
    }
    return true;
}

/* Waits for the consumer to have everything (up to 30 s). */
static void drain(run_t *r)
{
    double give_up = bench_now() + 30;
    while (__atomic_load_n(&r->received, __ATOMIC_RELAXED) < r->expected && bench_now() < give_up)
        usleep(1000);
    if (r->received < r->expected) {
        fprintf(stderr, "%% %s: %ld of %ld messages arrived\n", r->topic, r->received, r->expected);
        r->failed = true;
    }
    r->stop = true;
}

/* ---- samsa -------------------------------------------------------------- */

static void *samsa_consumer_main(void *arg)
{
    run_t *r = arg;
    const char *k[CONSUMER_KV + 1], *v[CONSUMER_KV + 1];
    bench_kv(consumer_kv, CONSUMER_KV, r->bootstrap, k, v);
    char err[256];
    samsa_consumer_t *c = samsa_consumer_new_kv(k, v, CONSUMER_KV + 1, NULL, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "%% samsa: %s\n", err);
        r->failed = true;
        return NULL;
    }
    samsa_topic_partition_t tps[8];
    for (int i = 0; i < r->partitions; i++)
        tps[i] = (samsa_topic_partition_t){r->topic, i, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {tps, (size_t)r->partitions};
    samsa_consumer_assign(c, &l);
    while (!r->stop) {
        samsa_message_t *m = samsa_consumer_poll(c, 50);
        if (m && !m->err)
            record(r, m->value, m->value_len);
        samsa_message_free(m);
    }
    samsa_consumer_free(c);
    return NULL;
}

static bool samsa_send(void *h, const char *topic, int32_t partition, const void *value)
{
    return samsa_producer_send(h, topic, partition, NULL, 0, value, VALUE_BYTES, NULL, 0, 0, 0,
                               NULL) == SAMSA_ERR_NONE;
}

static void samsa_poll(void *h) { samsa_producer_poll(h, 0); }

static bool samsa_run(run_t *r)
{
    const char *k[PRODUCER_KV + 1], *v[PRODUCER_KV + 1];
    bench_kv(producer_kv, PRODUCER_KV, r->bootstrap, k, v);
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(k, v, PRODUCER_KV + 1, NULL, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%% samsa: %s\n", err);
        return false;
    }
    pthread_t th;
    pthread_create(&th, NULL, samsa_consumer_main, r);
    static const producer_ops_t ops = {samsa_send, samsa_poll};
    if (pace(r, &ops, p))
        drain(r);
    else
        r->failed = true;
    r->stop = true;
    pthread_join(th, NULL);
    samsa_producer_free(p);
    return !r->failed;
}

/* ---- librdkafka --------------------------------------------------------- */

typedef struct rdk_producer {
    rdk_handle_t *h;
    rdk_topic_t *t;
} rdk_producer_t;

static void *rdk_consumer_main(void *arg)
{
    run_t *r = arg;
    rdk_handle_t *h = rdk_new(RDK_CONSUMER, r->bootstrap, consumer_kv, CONSUMER_KV, NULL, NULL);
    if (!h || !rdk_assign(h, r->topic, r->partitions, RDK_OFFSET_BEGINNING)) {
        r->failed = true;
        return NULL;
    }
    while (!r->stop) {
        rdk_message_t *m = rdk.consumer_poll(h, 50);
        if (!m)
            continue;
        if (!m->err)
            record(r, m->payload, m->len);
        rdk.message_destroy(m);
    }
    rdk.consumer_close(h);
    rdk.destroy(h);
    return NULL;
}

static bool rdk_send(void *h, const char *topic, int32_t partition, const void *value)
{
    rdk_producer_t *p = h;
    return rdk.produce(p->t, partition, RDK_MSG_F_COPY, (void *)value, VALUE_BYTES, NULL, 0,
                       NULL) == 0;
}

static void rdk_poll_ops(void *h) { rdk.poll(((rdk_producer_t *)h)->h, 0); }

static bool rdk_run(run_t *r)
{
    rdk_producer_t p = {rdk_new(RDK_PRODUCER, r->bootstrap, producer_kv, PRODUCER_KV, NULL, NULL),
                        NULL};
    if (!p.h)
        return false;
    p.t = rdk.topic_new(p.h, r->topic, NULL);
    pthread_t th;
    pthread_create(&th, NULL, rdk_consumer_main, r);
    static const producer_ops_t ops = {rdk_send, rdk_poll_ops};
    if (pace(r, &ops, &p))
        drain(r);
    else
        r->failed = true;
    r->stop = true;
    pthread_join(th, NULL);
    rdk.flush(p.h, 10000);
    rdk.topic_destroy(p.t);
    rdk.destroy(p.h);
    return !r->failed;
}

/* ---- figures ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted latencies in microseconds. */
static double quantile_us(const uint64_t *lat, long n, double q)
{
    if (!n)
        return 0;
    long i = (long)(q * (double)(n - 1) + 0.5);
    return (double)lat[i] / 1000.0;
}

/* One run of n messages on a fresh topic; its latencies are appended to
 * pool (pooled counts them). */
static bool measure(const char *bootstrap, const char *client, int partitions, long n,
                    bool (*run)(run_t *), uint64_t *pool, long *pooled)
{
    static int seq;
    char topic[64];
    snprintf(topic, sizeof(topic), "e2e-%s-p%d-%d-%d", client, partitions, (int)getpid(), ++seq);
    run_t r = {0};
    r.bootstrap = bootstrap;
    r.topic = topic;
    r.partitions = partitions;
    r.warmup = partitions;
    r.expected = n + partitions;
    r.latency_ns = pool + *pooled;
    if (!bench_create_topic(bootstrap, topic, partitions) || !run(&r))
        return false;
    *pooled += r.measured;
    return true;
}

int main(void)
{
    if (!rdk_load()) {
        printf("bench e2e: librdkafka.so.1 not found, nothing to compare with\n");
        return 0;
    }
    long n = bench_env_long("SAMSA_BENCH_E2E_SECONDS", 30) * RATE_PER_S / ROUNDS;
    bench_broker_t bb;
    if (!bench_broker_start(&bb))
        return 1;
    int status = 0;
    static const int partition_counts[] = {1, 8};
    for (size_t pc = 0; pc < 2 && !status; pc++) {
        int parts = partition_counts[pc];
        uint64_t *s = calloc((size_t)(n * ROUNDS), sizeof(uint64_t));
        uint64_t *k = calloc((size_t)(n * ROUNDS), sizeof(uint64_t));
        long sn = 0, kn = 0;
        for (int round = 0; round < ROUNDS && !status; round++) {
            bool samsa_first = round % 2 == 0;
            if (!s || !k ||
                !(samsa_first ? measure(bb.bootstrap, "samsa", parts, n, samsa_run, s, &sn)
                              : measure(bb.bootstrap, "rdkafka", parts, n, rdk_run, k, &kn)) ||
                !(samsa_first ? measure(bb.bootstrap, "rdkafka", parts, n, rdk_run, k, &kn)
                              : measure(bb.bootstrap, "samsa", parts, n, samsa_run, s, &sn)))
                status = 1;
        }
        if (!status) {
            qsort(s, (size_t)sn, sizeof(uint64_t), cmp_u64);
            qsort(k, (size_t)kn, sizeof(uint64_t), cmp_u64);
            static const struct {
                const char *name;
                double q;
            } qs[] = {{"p50", 0.5}, {"p99", 0.99}, {"p99.9", 0.999}};
            for (size_t i = 0; i < 3; i++) {
                char name[192];
                snprintf(name, sizeof(name), "%se2e_latency_p%d_%s_at_%d_msgs_per_s", bb.prefix,
                         parts, qs[i].name, RATE_PER_S);
                bench_report(name, quantile_us(s, sn, qs[i].q), "librdkafka",
                             quantile_us(k, kn, qs[i].q), "us", 0);
            }
        }
        free(s);
        free(k);
    }
    bench_broker_stop(&bb);
    return status;
}
