/*
 * bench_client.h: what the client benchmarks (bench_consumer, bench_e2e)
 * share: librdkafka loaded at run time (librdkafka.so.1; the few
 * declarations used are written out from its stable C ABI, so building
 * needs no header), samsa's embedded broker run in a child process (so
 * that getrusage() of the benchmark counts the clients only), topic
 * creation, and client CPU time.
 *
 * With $SAMSA_BENCH_BOOTSTRAP set, the benchmarks use the broker there
 * (tests/bench/clients-on-kafka.sh points it at Apache Kafka) instead of
 * starting samsa's; $SAMSA_BENCH_BROKER_NAME (default "external") then
 * prefixes every figure's name, and $SAMSA_BENCH_BROKER_PID, when set, is
 * the process whose CPU is the broker's (see bench_broker_cpu).
 *
 * A header of static functions: each benchmark is one source file.
 */
#ifndef SAMSA_BENCH_CLIENT_H
#define SAMSA_BENCH_CLIENT_H

#include <dlfcn.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "samsa.h"

/* ---- librdkafka -------------------------------------------------------- */

typedef struct rdk_s rdk_handle_t;
typedef struct rdk_conf_s rdk_conf_t;
typedef struct rdk_topic_s rdk_topic_t;

typedef struct {
    int err;
    rdk_topic_t *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *priv;
} rdk_message_t;

typedef struct {
    char *topic;
    int32_t partition;
    int64_t offset;
    void *metadata;
    size_t metadata_size;
    void *opaque;
    int err;
    void *priv;
} rdk_tp_t;

typedef struct rdk_tp_list rdk_tp_list_t;

#define RDK_PRODUCER 0
#define RDK_CONSUMER 1
#define RDK_PARTITION_UA (-1)
#define RDK_OFFSET_BEGINNING (-2)
#define RDK_MSG_F_COPY 0x2
#define RDK_ERR_QUEUE_FULL (-184)
#define RDK_ERR_PARTITION_EOF (-191)

static struct {
    void *so;
    rdk_conf_t *(*conf_new)(void);
    int (*conf_set)(rdk_conf_t *, const char *, const char *, char *, size_t);
    void (*conf_set_dr_msg_cb)(rdk_conf_t *,
                               void (*)(rdk_handle_t *, const rdk_message_t *, void *));
    void (*conf_set_opaque)(rdk_conf_t *, void *);
    void (*conf_destroy)(rdk_conf_t *);
    rdk_handle_t *(*new_)(int, rdk_conf_t *, char *, size_t);
    void (*destroy)(rdk_handle_t *);
    rdk_topic_t *(*topic_new)(rdk_handle_t *, const char *, void *);
    void (*topic_destroy)(rdk_topic_t *);
    int (*produce)(rdk_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *);
    int (*last_error)(void);
    int (*poll)(rdk_handle_t *, int);
    int (*flush)(rdk_handle_t *, int);
    int (*poll_set_consumer)(rdk_handle_t *);
    rdk_tp_list_t *(*tp_list_new)(int);
    rdk_tp_t *(*tp_list_add)(rdk_tp_list_t *, const char *, int32_t);
    void (*tp_list_destroy)(rdk_tp_list_t *);
    int (*assign)(rdk_handle_t *, const rdk_tp_list_t *);
    rdk_message_t *(*consumer_poll)(rdk_handle_t *, int);
    int (*consumer_close)(rdk_handle_t *);
    void (*message_destroy)(rdk_message_t *);
} rdk;

/* Loads librdkafka.so.1 into rdk; false when it (or a symbol) is missing. */
static inline bool rdk_load(void)
{
    rdk.so = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!rdk.so)
        return false;
    const struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&rdk.conf_new, "rd_kafka_conf_new"},
        {(void **)&rdk.conf_set, "rd_kafka_conf_set"},
        {(void **)&rdk.conf_set_dr_msg_cb, "rd_kafka_conf_set_dr_msg_cb"},
        {(void **)&rdk.conf_set_opaque, "rd_kafka_conf_set_opaque"},
        {(void **)&rdk.conf_destroy, "rd_kafka_conf_destroy"},
        {(void **)&rdk.new_, "rd_kafka_new"},
        {(void **)&rdk.destroy, "rd_kafka_destroy"},
        {(void **)&rdk.topic_new, "rd_kafka_topic_new"},
        {(void **)&rdk.topic_destroy, "rd_kafka_topic_destroy"},
        {(void **)&rdk.produce, "rd_kafka_produce"},
        {(void **)&rdk.last_error, "rd_kafka_last_error"},
        {(void **)&rdk.poll, "rd_kafka_poll"},
        {(void **)&rdk.flush, "rd_kafka_flush"},
        {(void **)&rdk.poll_set_consumer, "rd_kafka_poll_set_consumer"},
        {(void **)&rdk.tp_list_new, "rd_kafka_topic_partition_list_new"},
        {(void **)&rdk.tp_list_add, "rd_kafka_topic_partition_list_add"},
        {(void **)&rdk.tp_list_destroy, "rd_kafka_topic_partition_list_destroy"},
        {(void **)&rdk.assign, "rd_kafka_assign"},
        {(void **)&rdk.consumer_poll, "rd_kafka_consumer_poll"},
        {(void **)&rdk.consumer_close, "rd_kafka_consumer_close"},
        {(void **)&rdk.message_destroy, "rd_kafka_message_destroy"},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
        if (!(*syms[i].slot = dlsym(rdk.so, syms[i].name)))
            return false;
    return true;
}

/* A librdkafka handle of type (RDK_PRODUCER / RDK_CONSUMER) with n
 * properties and bootstrap.servers; dr, when set, is the delivery report
 * callback with opaque. NULL (the reason printed) on failure. */
static inline rdk_handle_t *rdk_new(int type, const char *bootstrap, const char *const (*kv)[2],
                                    size_t n,
                                    void (*dr)(rdk_handle_t *, const rdk_message_t *, void *),
                                    void *opaque)
{
    char err[256];
    rdk_conf_t *conf = rdk.conf_new();
    bool ok = rdk.conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = rdk.conf_set(conf, kv[i][0], kv[i][1], err, sizeof(err)) == 0;
    if (!ok) {
        fprintf(stderr, "%% librdkafka: %s\n", err);
        rdk.conf_destroy(conf);
        return NULL;
    }
    if (dr)
        rdk.conf_set_dr_msg_cb(conf, dr);
    rdk.conf_set_opaque(conf, opaque);
    rdk_handle_t *h = rdk.new_(type, conf, err, sizeof(err));
    if (!h) {
        fprintf(stderr, "%% librdkafka: %s\n", err);
        return NULL;
    }
    if (type == RDK_CONSUMER)
        rdk.poll_set_consumer(h);
    return h;
}

/* Assigns partitions 0..partitions-1 of topic from offset. */
static inline bool rdk_assign(rdk_handle_t *h, const char *topic, int partitions, int64_t offset)
{
    rdk_tp_list_t *l = rdk.tp_list_new(partitions);
    for (int i = 0; i < partitions; i++)
        rdk.tp_list_add(l, topic, i)->offset = offset;
    int err = rdk.assign(h, l);
    rdk.tp_list_destroy(l);
    return err == 0;
}

/* ---- samsa's broker in a child process ---------------------------------- */

typedef struct bench_broker {
    pid_t pid;              /* 0: a broker this benchmark did not start */
    pid_t cpu_pid;          /* the broker's process, 0 when unknown */
    int stop_fd;            /* closing it stops the child */
    char bootstrap[128];
    char dir[64];
    char prefix[64];        /* of figure names: "" on samsa's broker */
} bench_broker_t;

static inline int bench_rm_entry(const char *path, const struct stat *st, int flag,
                                 struct FTW *ftw)
{
    return remove(path);
}

/* Child: runs the broker until stop_fd reads EOF, then removes dir. */
static inline void bench_broker_child(const char *dir, int report_fd, int stop_fd)
{
    char err[256];
    if (!getenv("SAMSA_LOG_LEVEL"))
        setenv("SAMSA_LOG_LEVEL", "4", 1); /* warnings and errors only */
    samsa_conf_t *conf = samsa_conf_new();
    samsa_conf_set(conf, "log.dirs", dir, err, sizeof(err));
    samsa_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", err, sizeof(err));
    /* Topics with a size limit (bench_consumer's producer topics) shrink
     * while the run goes on. */
    samsa_conf_set(conf, "log.retention.check.interval.ms", "1000", err, sizeof(err));
    samsa_broker_t *b = samsa_broker_new(conf, err, sizeof(err));
    if (!b || samsa_broker_start(b)) {
        fprintf(stderr, "%% broker: %s\n", b ? "cannot start" : err);
        _exit(1);
    }
    const char *bs = samsa_broker_bootstrap(b);
    if (write(report_fd, bs, strlen(bs)) < 0)
        _exit(1);
    close(report_fd);
    char c;
    while (read(stop_fd, &c, 1) > 0)
        ;
    samsa_broker_free(b);
    nftw(dir, bench_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    _exit(0);
}

/* Starts samsa's broker in a child process on a temporary directory, or
 * takes the broker of $SAMSA_BENCH_BOOTSTRAP. Call before the process
 * starts threads. Returns false (reason printed) on failure. */
static inline bool bench_broker_start(bench_broker_t *bb)
{
    memset(bb, 0, sizeof(*bb));
    const char *external = getenv("SAMSA_BENCH_BOOTSTRAP");
    if (external && *external) {
        const char *name = getenv("SAMSA_BENCH_BROKER_NAME");
        snprintf(bb->bootstrap, sizeof(bb->bootstrap), "%s", external);
        snprintf(bb->prefix, sizeof(bb->prefix), "%s_", name && *name ? name : "external");
        const char *pid = getenv("SAMSA_BENCH_BROKER_PID");
        bb->cpu_pid = pid ? (pid_t)atol(pid) : 0;
        return true;
    }
    snprintf(bb->dir, sizeof(bb->dir), "/tmp/samsa-bench-client-XXXXXX");
    int rep[2], stop[2];
    if (!mkdtemp(bb->dir) || pipe(rep) < 0 || pipe(stop) < 0)
        return false;
    bb->pid = fork();
    if (bb->pid < 0)
        return false;
    if (bb->pid == 0) {
        close(rep[0]);
        close(stop[1]);
        bench_broker_child(bb->dir, rep[1], stop[0]);
    }
    close(rep[1]);
    close(stop[0]);
    bb->stop_fd = stop[1];
    bb->cpu_pid = bb->pid;
    ssize_t n = read(rep[0], bb->bootstrap, sizeof(bb->bootstrap) - 1);
    close(rep[0]);
    if (n <= 0) {
        fprintf(stderr, "%% the broker did not start\n");
        return false;
    }
    bb->bootstrap[n] = 0;
    return true;
}

static inline void bench_broker_stop(bench_broker_t *bb)
{
    if (!bb->pid)
        return;
    close(bb->stop_fd);
    int status;
    waitpid(bb->pid, &status, 0);
}

/* Creates topic with partitions through samsa's admin client. */
static inline bool bench_create_topic_with(const char *bootstrap, const char *topic,
                                           int partitions, const samsa_topic_config_t *configs,
                                           size_t config_count)
{
    const char *k[] = {"bootstrap.servers"};
    const char *v[] = {bootstrap};
    char err[256];
    samsa_admin_t *a = samsa_admin_new_kv(k, v, 1, err, sizeof(err));
    if (!a) {
        fprintf(stderr, "%% admin: %s\n", err);
        return false;
    }
    samsa_new_topic_t t = {topic, partitions, 1, configs, config_count};
    samsa_topic_result_t *r = NULL;
    samsa_err_t e = samsa_admin_create_topics(a, &t, 1, 0, 30000, &r);
    bool ok = !e && r && (!r[0].err || r[0].err == SAMSA_ERR_TOPIC_ALREADY_EXISTS);
    if (!ok)
        fprintf(stderr, "%% create %s: %s\n", topic, r ? r[0].errstr : samsa_err_name(e));
    samsa_topic_results_free(r);
    samsa_admin_free(a);
    return ok;
}

static inline bool bench_create_topic(const char *bootstrap, const char *topic, int partitions)
{
    return bench_create_topic_with(bootstrap, topic, partitions, NULL, 0);
}

/* Fills k and v (n + 1 entries) with the n pairs of kv and
 * bootstrap.servers, for samsa's *_new_kv constructors. */
static inline void bench_kv(const char *const (*kv)[2], size_t n, const char *bootstrap,
                            const char **k, const char **v)
{
    for (size_t i = 0; i < n; i++) {
        k[i] = kv[i][0];
        v[i] = kv[i][1];
    }
    k[n] = "bootstrap.servers";
    v[n] = bootstrap;
}

/* CPU seconds (user + system) this process used so far: the clients'
 * threads, since the broker runs in its child. */
static inline double bench_rusage_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds (user + system, every thread) the broker's process used so
 * far; 0 when its process is unknown or gone. */
static inline double bench_broker_cpu(const bench_broker_t *bb)
{
    double s = bb->cpu_pid ? bench_proc_cpu(bb->cpu_pid) : 0;
    return s > 0 ? s : 0;
}

/* A positive integer from the environment, or def. */
static inline long bench_env_long(const char *name, long def)
{
    const char *s = getenv(name);
    long v = s ? atol(s) : 0;
    return v > 0 ? v : def;
}

#endif /* SAMSA_BENCH_CLIENT_H */
