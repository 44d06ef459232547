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
 * Debian's librdkafka1), so the build needs neither its headers nor a link
 * flag: the few declarations used are below, from its stable C ABI.
 * $SAMSA_BENCH_MESSAGES sets the count (default 200000).
 */
#include "samsa.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

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

static double run_samsa(const char *bootstrap, const char *topic, const char *codec, long n)
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
    double t0 = bench_now();
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
    samsa_producer_free(p);
    if (e || failed) {
        fprintf(stderr, "%% samsa: %ld failed deliveries, flush %s\n", failed, samsa_err_name(e));
        return 0;
    }
    return (double)n / secs;
}

/* ---- librdkafka, loaded at run time ------------------------------------ */

/* The parts of librdkafka's ABI used here (rdkafka.h, stable since 1.0). */
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_topic_conf_s rd_kafka_topic_conf_t;
typedef struct rd_kafka_message_s {
    int err; /* first member: all the delivery report callback reads */
} rd_kafka_message_t;
#define RD_KAFKA_PRODUCER 0
#define RD_KAFKA_CONF_OK 0
#define RD_KAFKA_PARTITION_UA (-1)
#define RD_KAFKA_MSG_F_COPY 0x2
#define RD_KAFKA_RESP_ERR__QUEUE_FULL (-184)

typedef struct rdk {
    void *so;
    rd_kafka_conf_t *(*conf_new)(void);
    int (*conf_set)(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
    void (*set_dr_msg_cb)(rd_kafka_conf_t *,
                          void (*)(rd_kafka_t *, const rd_kafka_message_t *, void *));
    void (*conf_set_opaque)(rd_kafka_conf_t *, void *);
    rd_kafka_t *(*kafka_new)(int, rd_kafka_conf_t *, char *, size_t);
    rd_kafka_topic_t *(*topic_new)(rd_kafka_t *, const char *, rd_kafka_topic_conf_t *);
    int (*produce)(rd_kafka_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *);
    int (*last_error)(void);
    int (*poll)(rd_kafka_t *, int);
    int (*flush)(rd_kafka_t *, int);
    void (*topic_destroy)(rd_kafka_topic_t *);
    void (*destroy)(rd_kafka_t *);
} rdk_t;

static bool rdk_load(rdk_t *k)
{
    k->so = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!k->so)
        return false;
#define SYM(field, name) *(void **)(&k->field) = dlsym(k->so, name)
    SYM(conf_new, "rd_kafka_conf_new");
    SYM(conf_set, "rd_kafka_conf_set");
    SYM(set_dr_msg_cb, "rd_kafka_conf_set_dr_msg_cb");
    SYM(conf_set_opaque, "rd_kafka_conf_set_opaque");
    SYM(kafka_new, "rd_kafka_new");
    SYM(topic_new, "rd_kafka_topic_new");
    SYM(produce, "rd_kafka_produce");
    SYM(last_error, "rd_kafka_last_error");
    SYM(poll, "rd_kafka_poll");
    SYM(flush, "rd_kafka_flush");
    SYM(topic_destroy, "rd_kafka_topic_destroy");
    SYM(destroy, "rd_kafka_destroy");
#undef SYM
    return k->conf_new && k->conf_set && k->set_dr_msg_cb && k->conf_set_opaque && k->kafka_new &&
           k->topic_new && k->produce && k->last_error && k->poll && k->flush &&
           k->topic_destroy && k->destroy;
}

static void rdk_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err)
        (*(long *)opaque)++;
}

static double run_rdkafka(rdk_t *k, const char *bootstrap, const char *topic, const char *codec,
                          long n)
{
    char err[256];
    long failed = 0;
    rd_kafka_conf_t *conf = k->conf_new();
    for (size_t i = 0; i < NSETTINGS; i++)
        if (k->conf_set(conf, settings[i][0], settings[i][1] ? settings[i][1] : codec, err,
                        sizeof(err)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%% librdkafka: %s\n", err);
            return 0;
        }
    k->conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    k->set_dr_msg_cb(conf, rdk_dr);
    k->conf_set_opaque(conf, &failed);
    rd_kafka_t *rk = k->kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "%% librdkafka: %s\n", err);
        return 0;
    }
    rd_kafka_topic_t *rkt = k->topic_new(rk, topic, NULL);
    char key[KEY_BYTES + 1], value[VALUE_BYTES];
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        make_message(i, key, value);
        while (k->produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value, VALUE_BYTES, key,
                          KEY_BYTES, NULL) != 0 &&
               k->last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            k->poll(rk, 1);
        if ((i & 1023) == 0)
            k->poll(rk, 0);
    }
    int e = k->flush(rk, 120000);
    double secs = bench_now() - t0;
    k->topic_destroy(rkt);
    k->destroy(rk);
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
    rdk_t k = {0};
    if (!rdk_load(&k)) {
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
        run_samsa(bootstrap, t1, codecs[c], 1000);
        run_rdkafka(&k, bootstrap, t2, codecs[c], 1000);
        double s = run_samsa(bootstrap, t1, codecs[c], n);
        double r = run_rdkafka(&k, bootstrap, t2, codecs[c], n);
        snprintf(name, sizeof(name), "producer_%s_msgs_per_s", codecs[c]);
        bench_report(name, s, "librdkafka", r, "msg/s", 0);
    }
    if (own)
        stop_kafka(dir);
    dlclose(k.so);
    return 0;
}
