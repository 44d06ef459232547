/*
 * bench_producer: producer throughput, samsa against librdkafka, in the
 * same run, against the same Apache Kafka broker, with the same settings
 * (acks=all, idempotence on, linger.ms=5, batch.size=16384, the codec
 * named below), the same messages (16-byte keys, 100-byte values) and the
 * same measure: messages per second from the first produce call until
 * flush returns with every delivery report served.
 *
 * The broker: $SAMSA_BENCH_BOOTSTRAP when set, else a single-node Kafka
 * started here with tests/interop/kafka/kafka.sh (run from the repository
 * root, as `make bench` does); without Java or the Kafka jars the benchmark
 * says so and exits 0. librdkafka is loaded at run time (librdkafka.so.1,
 * Debian's librdkafka1; see bench_client.h), so the build needs neither
 * its headers nor a link flag.
 * Beside the rate it prints the CPU time (getrusage: every thread of the
 * client under test; the broker is another process) per million messages.
 * $SAMSA_BENCH_MESSAGES sets the count (default 200000).
 */
#include "samsa.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_client.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100

static const char *const settings[][2] = {
    {"acks", "all"},         {"enable.idempotence", "true"}, {"linger.ms", "5"},
    {"batch.size", "16384"}, {"compression.type", NULL},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static void make_message(long i, char *key, char *value)
{
    snprintf(key, KEY_BYTES + 1, "key-%011ld", i % 10000);
    memset(value, 'a' + (int)(i % 26), VALUE_BYTES);
}

/* ---- samsa ------------------------------------------------------------ */

static void samsa_dr(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    if (r->err)
        (*(long *)opaque)++;
}

static double run_samsa(const char *bootstrap, const char *topic, const char *codec, long n,
                        double *cpu_ms_per_m)
{
    const char *keys[NSETTINGS + 1], *values[NSETTINGS + 1];
    for (size_t i = 0; i < NSETTINGS; i++) {
        keys[i] = settings[i][0];
        values[i] = settings[i][1] ? settings[i][1] : codec;
    }
    keys[NSETTINGS] = "bootstrap.servers";
    values[NSETTINGS] = bootstrap;
    long failed = 0;
    samsa_producer_callbacks_t cb = {samsa_dr, NULL, &failed};
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, NSETTINGS + 1, &cb, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%% samsa: %s\n", err);
        return 0;
    }
    char key[KEY_BYTES + 1], value[VALUE_BYTES];
    double t0 = bench_now(), cpu0 = bench_rusage_cpu();
    for (long i = 0; i < n; i++) {
        make_message(i, key, value);
        while (samsa_producer_send(p, topic, -1, key, KEY_BYTES, value, VALUE_BYTES, NULL, 0, 0, 0,
                                   NULL) == SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 1);
        if ((i & 1023) == 0)
            samsa_producer_poll(p, 0);
    }
    samsa_err_t e = samsa_producer_flush(p, 120000);
    double secs = bench_now() - t0;
    *cpu_ms_per_m = (bench_rusage_cpu() - cpu0) * 1e9 / (double)n;
    samsa_producer_free(p);
    if (e || failed) {
        fprintf(stderr, "%% samsa: %ld failed deliveries, flush %s\n", failed, samsa_err_name(e));
        return 0;
    }
    return (double)n / secs;
}

/* ---- librdkafka (bench_client.h loads it) ------------------------------ */

static void rdk_dr(rdk_handle_t *h, const rdk_message_t *m, void *opaque)
{
    if (m->err)
        (*(long *)opaque)++;
}

static double run_rdkafka(const char *bootstrap, const char *topic, const char *codec, long n,
                          double *cpu_ms_per_m)
{
    const char *kv[NSETTINGS][2];
    for (size_t i = 0; i < NSETTINGS; i++) {
        kv[i][0] = settings[i][0];
        kv[i][1] = settings[i][1] ? settings[i][1] : codec;
    }
    long failed = 0;
    rdk_handle_t *rk = rdk_new(RDK_PRODUCER, bootstrap, (const char *const(*)[2])kv, NSETTINGS,
                               rdk_dr, &failed);
    if (!rk)
        return 0;
    rdk_topic_t *rkt = rdk.topic_new(rk, topic, NULL);
    char key[KEY_BYTES + 1], value[VALUE_BYTES];
    double t0 = bench_now(), cpu0 = bench_rusage_cpu();
    for (long i = 0; i < n; i++) {
        make_message(i, key, value);
        while (rdk.produce(rkt, RDK_PARTITION_UA, RDK_MSG_F_COPY, value, VALUE_BYTES, key,
                           KEY_BYTES, NULL) != 0 &&
               rdk.last_error() == RDK_ERR_QUEUE_FULL)
            rdk.poll(rk, 1);
        if ((i & 1023) == 0)
            rdk.poll(rk, 0);
    }
    int e = rdk.flush(rk, 120000);
    double secs = bench_now() - t0;
    *cpu_ms_per_m = (bench_rusage_cpu() - cpu0) * 1e9 / (double)n;
    rdk.topic_destroy(rkt);
    rdk.destroy(rk);
    if (e || failed) {
        fprintf(stderr, "%% librdkafka: %ld failed deliveries, flush error %d\n", failed, (int)e);
        return 0;
    }
    return (double)n / secs;
}

/* ---- the broker ------------------------------------------------------- */

static bool start_kafka(char *dir, char *bootstrap, size_t len)
{
    if (!mkdtemp(dir))
        return false;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "KAFKA_MAX_SECONDS=600 tests/interop/kafka/kafka.sh start %s/k >%s/start.log 2>&1", dir,
             dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "%% cannot start Kafka (see %s/start.log); no producer benchmark\n", dir);
        return false;
    }
    snprintf(cmd, sizeof(cmd), "%s/k/bootstrap", dir);
    FILE *f = fopen(cmd, "r");
    bool ok = f && fgets(bootstrap, (int)len, f);
    if (f)
        fclose(f);
    bootstrap[strcspn(bootstrap, "\n")] = 0;
    return ok;
}

static void stop_kafka(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "tests/interop/kafka/kafka.sh stop %s/k >/dev/null 2>&1; rm -rf %s",
             dir, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%% could not stop Kafka in %s\n", dir);
}

int main(void)
{
    if (!rdk_load()) {
        printf("bench producer: librdkafka.so.1 not found, nothing to compare with\n");
        return 0;
    }
    long n = getenv("SAMSA_BENCH_MESSAGES") ? atol(getenv("SAMSA_BENCH_MESSAGES")) : 200000;
    char bootstrap[256] = "";
    char dir[] = "/tmp/samsa-bench-producer-XXXXXX";
    bool own = false;
    if (getenv("SAMSA_BENCH_BOOTSTRAP")) {
        snprintf(bootstrap, sizeof(bootstrap), "%s", getenv("SAMSA_BENCH_BOOTSTRAP"));
    } else if ((own = start_kafka(dir, bootstrap, sizeof(bootstrap))) == false) {
        printf("bench producer: no Kafka broker available, skipped\n");
        return 0;
    }
    static const char *const codecs[] = {"none", "lz4"};
    for (size_t c = 0; c < 2; c++) {
        char t1[64], t2[64], name[64];
        snprintf(t1, sizeof(t1), "bench-samsa-%s-%d", codecs[c], (int)getpid());
        snprintf(t2, sizeof(t2), "bench-rdkafka-%s-%d", codecs[c], (int)getpid());
        /* Warm both up (topic creation, connections) before measuring. */
        double scpu, rcpu;
        run_samsa(bootstrap, t1, codecs[c], 1000, &scpu);
        run_rdkafka(bootstrap, t2, codecs[c], 1000, &rcpu);
        double s = run_samsa(bootstrap, t1, codecs[c], n, &scpu);
        double r = run_rdkafka(bootstrap, t2, codecs[c], n, &rcpu);
        snprintf(name, sizeof(name), "producer_%s_msgs_per_s", codecs[c]);
        bench_report(name, s, "librdkafka", r, "msg/s", 0);
        snprintf(name, sizeof(name), "producer_%s_cpu_ms_per_million", codecs[c]);
        bench_report(name, scpu, "librdkafka", rcpu, "ms", 0);
    }
    if (own)
        stop_kafka(dir);
    dlclose(rdk.so);
    return 0;
}
