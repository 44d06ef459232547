/*
 * bench_broker.c: the broker benchmark, samsa's broker against Apache Kafka
 * 4.x (KRaft, single node, default settings), both run here as separate
 * processes on loopback in the same run, driven by the same librdkafka
 * producer and consumer:
 *   - produce throughput (messages/s) filling a 1- and an 8-partition topic
 *     (created through the admin API, partitions checked in the metadata)
 *     with N 100-byte values, null keys, acks=1, linger.ms=5, batch.size
 *     1000000, handed over 1000 at a time with rd_kafka_produce_batch;
 *   - consume throughput of each topic from a cold start: the broker is
 *     stopped, the page cache dropped (when allowed), the broker started
 *     again on the same data, and a consumer reads all N from the beginning
 *     (then once more with the data in the page cache, for comparison);
 *   - peak resident memory (VmRSS) of the broker process during all of that,
 *     and beside it RssAnon (VmRSS without the pages of mapped files) and
 *     the CPU the broker and the clients used, to show where time went;
 *   - start to first accepted request: from the fork of the broker process
 *     to the first ApiVersions answer on a fresh connection, on the filled
 *     data with the page cache dropped (the restart before consuming) and
 *     warm (one more restart after it); for samsa also on an empty directory.
 * Kafka is started and stopped with tests/interop/kafka/kafka.sh; its
 * start is timed from the fork of `kafka.sh restart`, its memory is that
 * of the java process.
 * Each pair is printed side by side with the ratio and the goal.
 *
 * tests/bench/broker-vs-kafka.sh prepares everything (librdkafka, the Kafka
 * jars, a temporary directory, traps that stop both brokers) and runs this
 * program with SAMSA_BENCH_BROKER_DIR set; run alone, without it, the
 * program says so and exits 0.  Environment:
 *   SAMSA_BENCH_BROKER_DIR   temporary directory (required)
 *   SAMSA_BENCH_MESSAGES     N per topic (default 10000000)
 *   SAMSA_BIN                samsa executable (default $B/bin/samsa)
 *   KAFKA_SH                 tests/interop/kafka/kafka.sh
 *   SAMSA_BENCH_NO_KAFKA     when set, the reason Kafka cannot run
 * It exits 1 when a broker failed a step (what failed is printed), 0
 * otherwise, whatever the figures; Kafka missing is not a failure.
 * librdkafka is loaded at run time (librdkafka.so.1); the few of its
 * declarations used are written out below, so building needs no header.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define VALUE_BYTES 100
#define DEFAULT_MESSAGES 10000000L
#define START_TIMEOUT_S 120.0
#define IDLE_TIMEOUT_S 60.0
#define FLUSH_TIMEOUT_MS 300000
#define PRODUCE_BATCH 1000

/* ---- librdkafka, loaded at run time ------------------------------------ */

typedef struct rk_s rk_t;
typedef struct rk_conf_s rk_conf_t;
typedef struct rk_topic_s rk_topic_t;
typedef struct rk_queue_s rk_queue_t;
typedef struct rk_event_s rk_event_t;
typedef struct rk_new_topic_s rk_new_topic_t;
typedef struct rk_topic_result_s rk_topic_result_t;
typedef struct rk_create_result_s rk_create_result_t;

/* The layouts of rd_kafka_message_t and the metadata structs (stable ABI). */
typedef struct {
    int err;
    rk_topic_t *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *priv;
} rk_message_t;

typedef struct {
    int32_t id;
    int err;
    int32_t leader;
    int replica_cnt;
    int32_t *replicas;
    int isr_cnt;
    int32_t *isrs;
} rk_md_partition_t;

typedef struct {
    char *topic;
    int partition_cnt;
    rk_md_partition_t *partitions;
    int err;
} rk_md_topic_t;

typedef struct {
    int broker_cnt;
    void *brokers;
    int topic_cnt;
    rk_md_topic_t *topics;
    int32_t orig_broker_id;
    char *orig_broker_name;
} rk_metadata_t;

enum { RK_PRODUCER = 0, RK_CONSUMER = 1 };
enum { RK_CONF_OK = 0 };
#define RK_PARTITION_UA (-1)
#define RK_OFFSET_BEGINNING (-2)
#define RK_ERR_QUEUE_FULL (-184)
#define RK_ERR_PARTITION_EOF (-191)
#define RK_ERR_TOPIC_ALREADY_EXISTS 36

static struct {
    const char *(*version_str)(void);
    rk_conf_t *(*conf_new)(void);
    int (*conf_set)(rk_conf_t *, const char *, const char *, char *, size_t);
    void (*conf_set_dr_msg_cb)(rk_conf_t *, void (*)(rk_t *, const rk_message_t *, void *));
    void (*conf_set_opaque)(rk_conf_t *, void *);
    void (*conf_destroy)(rk_conf_t *);
    rk_t *(*new_)(int, rk_conf_t *, char *, size_t);
    void (*destroy)(rk_t *);
    rk_topic_t *(*topic_new)(rk_t *, const char *, void *);
    void (*topic_destroy)(rk_topic_t *);
    int (*produce_batch)(rk_topic_t *, int32_t, int, rk_message_t *, int);
    int (*last_error)(void);
    int (*poll)(rk_t *, int);
    int (*flush)(rk_t *, int);
    const char *(*err2str)(int);
    int (*metadata)(rk_t *, int, rk_topic_t *, const rk_metadata_t **, int);
    void (*metadata_destroy)(const rk_metadata_t *);
    rk_new_topic_t *(*new_topic_new)(const char *, int, int, char *, size_t);
    void (*new_topic_destroy)(rk_new_topic_t *);
    void (*create_topics)(rk_t *, rk_new_topic_t **, size_t, void *, rk_queue_t *);
    rk_queue_t *(*queue_new)(rk_t *);
    void (*queue_destroy)(rk_queue_t *);
    rk_event_t *(*queue_poll)(rk_queue_t *, int);
    const rk_create_result_t *(*event_create_topics_result)(rk_event_t *);
    const rk_topic_result_t **(*create_topics_result_topics)(const rk_create_result_t *, size_t *);
    int (*topic_result_error)(const rk_topic_result_t *);
    const char *(*topic_result_error_string)(const rk_topic_result_t *);
    const char *(*event_error_string)(rk_event_t *);
    void (*event_destroy)(rk_event_t *);
    int (*consume_start_queue)(rk_topic_t *, int32_t, int64_t, rk_queue_t *);
    int (*consume_stop)(rk_topic_t *, int32_t);
    ssize_t (*consume_batch_queue)(rk_queue_t *, int, rk_message_t **, size_t);
    void (*message_destroy)(rk_message_t *);
} rk;

#define RK_SYM(field, name) {(void **)&rk.field, name}

/* Loads librdkafka.so.1 into rk; on failure writes why into why and
 * returns -1. */
static int rk_load(char *why, size_t why_size)
{
    const struct {
        void **slot;
        const char *name;
    } syms[] = {
        RK_SYM(version_str, "rd_kafka_version_str"),
        RK_SYM(conf_new, "rd_kafka_conf_new"),
        RK_SYM(conf_set, "rd_kafka_conf_set"),
        RK_SYM(conf_set_dr_msg_cb, "rd_kafka_conf_set_dr_msg_cb"),
        RK_SYM(conf_set_opaque, "rd_kafka_conf_set_opaque"),
        RK_SYM(conf_destroy, "rd_kafka_conf_destroy"),
        RK_SYM(new_, "rd_kafka_new"),
        RK_SYM(destroy, "rd_kafka_destroy"),
        RK_SYM(topic_new, "rd_kafka_topic_new"),
        RK_SYM(topic_destroy, "rd_kafka_topic_destroy"),
        RK_SYM(produce_batch, "rd_kafka_produce_batch"),
        RK_SYM(last_error, "rd_kafka_last_error"),
        RK_SYM(poll, "rd_kafka_poll"),
        RK_SYM(flush, "rd_kafka_flush"),
        RK_SYM(err2str, "rd_kafka_err2str"),
        RK_SYM(metadata, "rd_kafka_metadata"),
        RK_SYM(metadata_destroy, "rd_kafka_metadata_destroy"),
        RK_SYM(new_topic_new, "rd_kafka_NewTopic_new"),
        RK_SYM(new_topic_destroy, "rd_kafka_NewTopic_destroy"),
        RK_SYM(create_topics, "rd_kafka_CreateTopics"),
        RK_SYM(queue_new, "rd_kafka_queue_new"),
        RK_SYM(queue_destroy, "rd_kafka_queue_destroy"),
        RK_SYM(queue_poll, "rd_kafka_queue_poll"),
        RK_SYM(event_create_topics_result, "rd_kafka_event_CreateTopics_result"),
        RK_SYM(create_topics_result_topics, "rd_kafka_CreateTopics_result_topics"),
        RK_SYM(topic_result_error, "rd_kafka_topic_result_error"),
        RK_SYM(topic_result_error_string, "rd_kafka_topic_result_error_string"),
        RK_SYM(event_error_string, "rd_kafka_event_error_string"),
        RK_SYM(event_destroy, "rd_kafka_event_destroy"),
        RK_SYM(consume_start_queue, "rd_kafka_consume_start_queue"),
        RK_SYM(consume_stop, "rd_kafka_consume_stop"),
        RK_SYM(consume_batch_queue, "rd_kafka_consume_batch_queue"),
        RK_SYM(message_destroy, "rd_kafka_message_destroy"),
    };
    void *h = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, why_size, "dlopen librdkafka.so.1: %s", dlerror());
        return -1;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(why, why_size, "librdkafka.so.1 lacks %s", syms[i].name);
            return -1;
        }
    }
    return 0;
}

/* ---- the run's state ------------------------------------------------------ */

enum { SAMSA = 0, KAFKA = 1, NBROKERS = 2 };
static const char *const broker_names[NBROKERS] = {"samsa", "kafka"};
static const int partition_counts[2] = {1, 8};

/* What one phase (producing, consuming) cost the broker process. */
typedef struct {
    double rss_kb;       /* peak VmRSS */
    double anon_kb;      /* peak RssAnon (VmRSS without file-backed pages) */
    double broker_cpu_s; /* user + system CPU of the broker process */
    double client_cpu_s; /* CPU of this process (the librdkafka clients) */
} phase_t;

typedef struct {
    double produce_mps[2]; /* by index into partition_counts; 0 = not measured */
    double consume_mps[2];      /* from the cold start */
    double consume_warm_mps[2]; /* right after, the data in the page cache */
    phase_t produce, consume, consume_warm;
    double start_cold_ms;  /* fork to first ApiVersions answer, on the filled data,
                              page cache dropped before */
    double start_warm_ms;  /* the same right after the consume phase */
    double fresh_start_ms; /* the same on an empty directory (samsa only) */
    char failed[512];      /* what failed, empty when every step ran */
} result_t;

static result_t results[NBROKERS];
static char base_dir[256];
static long n_messages = DEFAULT_MESSAGES;
static bool cache_dropped = true;

/* The broker process being measured (pid 0: none) and its peaks so far. */
static struct {
    pthread_mutex_t mu;
    pid_t pid;
    long rss_kb, anon_kb;
    double cpu0_s, client_cpu0_s;
    bool stop;
} sampler = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void fail_step(result_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->failed, sizeof(r->failed), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%% bench_broker: %s\n", r->failed);
}

static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%% bench_broker: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ---- resident memory and CPU of the broker ------------------------------- */

/* VmRSS and RssAnon of pid in KiB; returns -1 when they cannot be read. */
static int rss_kb(pid_t pid, long *rss, long *anon)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    *rss = *anon = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", rss) != 1)
            sscanf(line, "RssAnon: %ld", anon);
    fclose(f);
    return *rss >= 0 ? 0 : -1;
}

static void *sampler_main(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&sampler.mu);
        if (sampler.stop) {
            pthread_mutex_unlock(&sampler.mu);
            return NULL;
        }
        long rss, anon;
        if (sampler.pid > 0 && rss_kb(sampler.pid, &rss, &anon) == 0) {
            if (rss > sampler.rss_kb)
                sampler.rss_kb = rss;
            if (anon > sampler.anon_kb)
                sampler.anon_kb = anon;
        }
        pthread_mutex_unlock(&sampler.mu);
        usleep(20000);
    }
}

/* Starts measuring pid for one phase. */
static void watch(pid_t pid)
{
    pthread_mutex_lock(&sampler.mu);
    sampler.pid = pid;
    sampler.rss_kb = sampler.anon_kb = 0;
    sampler.cpu0_s = bench_proc_cpu(pid);
    sampler.client_cpu0_s = bench_cpu();
    pthread_mutex_unlock(&sampler.mu);
}

/* Ends the phase begun by watch(): its peaks and CPU go into *ph. */
static void unwatch(phase_t *ph)
{
    pthread_mutex_lock(&sampler.mu);
    long rss, anon;
    if (rss_kb(sampler.pid, &rss, &anon) == 0) {
        if (rss > sampler.rss_kb)
            sampler.rss_kb = rss;
        if (anon > sampler.anon_kb)
            sampler.anon_kb = anon;
    }
    double cpu = bench_proc_cpu(sampler.pid);
    ph->rss_kb = (double)sampler.rss_kb;
    ph->anon_kb = (double)sampler.anon_kb;
    ph->broker_cpu_s = cpu >= 0 && sampler.cpu0_s >= 0 ? cpu - sampler.cpu0_s : 0;
    ph->client_cpu_s = bench_cpu() - sampler.client_cpu0_s;
    sampler.pid = 0;
    pthread_mutex_unlock(&sampler.mu);
}

/* ---- processes ------------------------------------------------------------ */

/* Runs argv to completion (stdout and stderr to log_path, appended); returns
 * its exit status, or -1 when it could not run or was killed. */
static int run_wait(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts argv in the background, output to log_path (truncated); the child
 * dies with this process. Returns its pid or -1. */
static pid_t spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Sends TERM to pid, waits up to 30 s, then KILL; reaps it. */
static void stop_child(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    note("pid %d still alive 30 s after TERM, killing it", (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The child of parent whose command name is comm, or 0. */
static pid_t child_named(pid_t parent, const char *comm)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char path[300], buf[512], name[64];
        int pid, ppid;
        char state;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (!bench_read_text(path, buf, sizeof(buf)))
            continue;
        if (sscanf(buf, "%d (%63[^)]) %c %d", &pid, name, &state, &ppid) == 4 && ppid == parent &&
            strcmp(name, comm) == 0)
            found = pid;
    }
    closedir(d);
    return found;
}

/* ---- the first accepted request ------------------------------------------- */

static int read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Opens a fresh connection to host:port and sends ApiVersions v0; returns 0
 * when an answer with error code 0 comes back, -1 otherwise. */
static int probe_api_versions(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 5};
    int rc = -1;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        goto out;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto out;
    /* size, api key 18, version 0, correlation id 7, client id "bench" */
    static const unsigned char req[] = {0, 0, 0, 15, 0, 18, 0, 0, 0, 0, 0, 7, 0, 5, 'b', 'e', 'n', 'c', 'h'};
    if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req))
        goto out;
    unsigned char hdr[10];
    if (read_full(fd, hdr, sizeof(hdr)) < 0)
        goto out;
    uint32_t corr = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
    int16_t err = (int16_t)(hdr[8] << 8 | hdr[9]);
    uint32_t size = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    /* the rest is read too, so that closing sends no reset */
    unsigned char rest[4096];
    for (uint32_t left = size >= 6 ? size - 6 : 0; left > 0;) {
        uint32_t n = left < sizeof(rest) ? left : (uint32_t)sizeof(rest);
        if (read_full(fd, rest, n) < 0)
            goto out;
        left -= n;
    }
    if (corr == 7 && err == 0 && size >= 6)
        rc = 0;
out:
    close(fd);
    return rc;
}

/* Finds "listening on PLAINTEXT://HOST:PORT" in the log file at path. */
static int listening_port(const char *path, char *host, size_t host_size, int *port)
{
    char buf[65536];
    if (!bench_read_text(path, buf, sizeof(buf)))
        return -1;
    const char *p = strstr(buf, "listening on PLAINTEXT://");
    if (!p)
        return -1;
    p += strlen("listening on PLAINTEXT://");
    const char *colon = strchr(p, ':');
    if (!colon || (size_t)(colon - p) >= host_size)
        return -1;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    *port = atoi(colon + 1);
    return *port > 0 ? 0 : -1;
}

static void print_tail(const char *path)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", path);
    if (system(cmd) != 0)
        note("(no log at %s)", path);
}

/* ---- samsa's broker as a process ------------------------------------------ */

typedef struct {
    pid_t pid;          /* samsa: the broker; kafka: the java process */
    bool is_child;      /* pid is this process's child (samsa) */
    bool dead;          /* the process ended on its own (reaped when a child) */
    char death[64];     /* how it ended */
    char bootstrap[96]; /* host:port */
    char host[64];
    int port;
} broker_proc_t;

/* The broker the clients are talking to, checked while they wait on it. */
static broker_proc_t *current_broker;

/* Whether the current broker's process has ended; the first time, says how
 * into its death. */
static bool broker_dead(void)
{
    broker_proc_t *b = current_broker;
    if (!b || b->pid <= 0 || b->dead)
        return b && b->dead;
    int st;
    if (b->is_child) {
        if (waitpid(b->pid, &st, WNOHANG) != b->pid)
            return false;
        if (WIFSIGNALED(st))
            snprintf(b->death, sizeof(b->death), "killed by signal %d", WTERMSIG(st));
        else
            snprintf(b->death, sizeof(b->death), "exit status %d", WEXITSTATUS(st));
    } else {
        if (kill(b->pid, 0) == 0 || errno != ESRCH)
            return false;
        snprintf(b->death, sizeof(b->death), "gone");
    }
    b->dead = true;
    return true;
}

/* Starts samsa's broker on data_dir and times the fork to the first
 * ApiVersions answer into *ms; returns 0 or -1 with r->failed set. */
static int samsa_start(const char *samsa_bin, const char *data_dir, int launch, broker_proc_t *b,
                       double *ms, result_t *r)
{
    char logs[600], listeners[] = "listeners=PLAINTEXT://127.0.0.1:0", dirs[600];
    snprintf(logs, sizeof(logs), "%s/samsa-%d.log", base_dir, launch);
    snprintf(dirs, sizeof(dirs), "log.dirs=%s", data_dir);
    char *argv[] = {(char *)samsa_bin, "broker", "--override", listeners, "--override", dirs, NULL};
    double t0 = bench_now();
    b->pid = spawn(argv, logs);
    b->is_child = true;
    b->dead = false;
    if (b->pid < 0) {
        fail_step(r, "samsa start %d: fork: %s", launch, strerror(errno));
        return -1;
    }
    b->port = 0;
    while (bench_now() - t0 < START_TIMEOUT_S) {
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            print_tail(logs);
            b->pid = 0;
            fail_step(r, "samsa start %d: the broker exited during startup (log %s)", launch, logs);
            return -1;
        }
        if (!b->port && listening_port(logs, b->host, sizeof(b->host), &b->port) < 0)
            b->port = 0;
        if (b->port && probe_api_versions(b->host, b->port) == 0) {
            *ms = (bench_now() - t0) * 1000;
            snprintf(b->bootstrap, sizeof(b->bootstrap), "%s:%d", b->host, b->port);
            return 0;
        }
        usleep(500);
    }
    print_tail(logs);
    stop_child(b->pid);
    b->pid = 0;
    fail_step(r, "samsa start %d: no ApiVersions answer within %.0f s (log %s)", launch,
              START_TIMEOUT_S, logs);
    return -1;
}

/* ---- Kafka as a process ----------------------------------------------------- */

static const char *kafka_sh;

static int kafka_java_pid(const char *kdir, broker_proc_t *b)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pid", kdir);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(path, "r");
        int launcher = 0;
        if (f) {
            if (fscanf(f, "%d", &launcher) != 1)
                launcher = 0;
            fclose(f);
        }
        if (launcher > 0 && (b->pid = child_named(launcher, "java")) > 0) {
            b->is_child = b->dead = false;
            return 0;
        }
        usleep(10000);
    }
    return -1;
}

static int kafka_start(const char *kdir, broker_proc_t *b, result_t *r)
{
    char logs[600], path[1024];
    snprintf(logs, sizeof(logs), "%s/kafka-sh.log", base_dir);
    char *argv[] = {"bash", (char *)kafka_sh, "start", (char *)kdir, NULL};
    if (run_wait(argv, logs) != 0) {
        print_tail(logs);
        fail_step(r, "kafka start failed (log %s)", logs);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/bootstrap", kdir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%63[^:]:%d", b->host, &b->port) != 2) {
        if (f)
            fclose(f);
        fail_step(r, "kafka: no bootstrap in %s", path);
        return -1;
    }
    fclose(f);
    snprintf(b->bootstrap, sizeof(b->bootstrap), "%s:%d", b->host, b->port);
    if (kafka_java_pid(kdir, b) < 0) {
        fail_step(r, "kafka: no java process under the pid in %s/pid", kdir);
        return -1;
    }
    return 0;
}

static void kafka_stop(const char *kdir)
{
    char logs[600];
    snprintf(logs, sizeof(logs), "%s/kafka-sh.log", base_dir);
    char *argv[] = {"bash", (char *)kafka_sh, "stop", (char *)kdir, NULL};
    if (run_wait(argv, logs) != 0)
        note("kafka.sh stop %s failed (log %s)", kdir, logs);
}

/* Restarts the stopped Kafka of kdir on its ports and data and times the
 * fork of kafka.sh to the first ApiVersions answer into *ms. */
static int kafka_restart(const char *kdir, broker_proc_t *b, double *ms, result_t *r)
{
    char logs[600];
    snprintf(logs, sizeof(logs), "%s/kafka-sh.log", base_dir);
    char *argv[] = {"bash", (char *)kafka_sh, "restart", (char *)kdir, NULL};
    double t0 = bench_now();
    pid_t sh = spawn(argv, logs);
    if (sh < 0) {
        fail_step(r, "kafka restart: fork: %s", strerror(errno));
        return -1;
    }
    bool answered = false;
    while (!answered && bench_now() - t0 < START_TIMEOUT_S) {
        if (probe_api_versions(b->host, b->port) == 0) {
            *ms = (bench_now() - t0) * 1000;
            answered = true;
        } else {
            usleep(500);
        }
    }
    int st = -1;
    waitpid(sh, &st, 0);
    if (!answered || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        print_tail(logs);
        fail_step(r, "kafka restart failed (log %s)", logs);
        return -1;
    }
    if (kafka_java_pid(kdir, b) < 0) {
        fail_step(r, "kafka: no java process under the pid in %s/pid", kdir);
        return -1;
    }
    return 0;
}

/* ---- librdkafka clients ---------------------------------------------------- */

static const char *const producer_settings[][2] = {
    {"acks", "1"},
    {"linger.ms", "5"},
    {"batch.size", "1000000"},
    {"queue.buffering.max.messages", "1000000"},
    {"compression.type", "none"},
    {"enable.idempotence", "false"},
};

static rk_conf_t *rk_conf(const char *bootstrap, const char *const (*kv)[2], size_t n, char *why,
                          size_t why_size)
{
    rk_conf_t *c = rk.conf_new();
    if (rk.conf_set(c, "bootstrap.servers", bootstrap, why, why_size) != RK_CONF_OK)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (rk.conf_set(c, kv[i][0], kv[i][1], why, why_size) != RK_CONF_OK)
            goto fail;
    return c;
fail:
    rk.conf_destroy(c);
    return NULL;
}

typedef struct {
    long delivered, failed;
    int first_err;
} delivery_t;

static void on_delivery(rk_t *h, const rk_message_t *m, void *opaque)
{
    delivery_t *d = opaque;
    if (m->err) {
        if (!d->failed)
            d->first_err = m->err;
        d->failed++;
    } else {
        d->delivered++;
    }
}

/* Waits until topic has partitions partitions, each with a leader; returns
 * 0, or -1 with why set. */
static int await_topic(rk_t *h, const char *topic, int partitions, char *why, size_t why_size)
{
    rk_topic_t *t = rk.topic_new(h, topic, NULL);
    int rc = -1;
    snprintf(why, why_size, "no metadata for %s", topic);
    for (int attempt = 0; attempt < 300 && rc < 0; attempt++) {
        const rk_metadata_t *md = NULL;
        int err = rk.metadata(h, 0, t, &md, 5000);
        if (err) {
            snprintf(why, why_size, "metadata of %s: %s", topic, rk.err2str(err));
        } else if (md->topic_cnt != 1 || md->topics[0].err) {
            snprintf(why, why_size, "metadata of %s: %s", topic,
                     md->topic_cnt == 1 ? rk.err2str(md->topics[0].err) : "topic missing");
        } else if (md->topics[0].partition_cnt != partitions) {
            snprintf(why, why_size, "%s has %d partitions, not %d", topic,
                     md->topics[0].partition_cnt, partitions);
        } else {
            rc = 0;
            for (int i = 0; i < partitions; i++)
                if (md->topics[0].partitions[i].err || md->topics[0].partitions[i].leader < 0) {
                    snprintf(why, why_size, "%s [%d] has no leader", topic, i);
                    rc = -1;
                }
        }
        if (md)
            rk.metadata_destroy(md);
        if (rc < 0)
            usleep(100000);
    }
    rk.topic_destroy(t);
    return rc;
}

/* Creates the topics bench-1p and bench-8p through the admin API and waits
 * until their partitions have leaders. */
static int create_topics(const char *bootstrap, char *why, size_t why_size)
{
    rk_conf_t *c = rk_conf(bootstrap, NULL, 0, why, why_size);
    if (!c)
        return -1;
    rk_t *h = rk.new_(RK_PRODUCER, c, why, why_size);
    if (!h) {
        rk.conf_destroy(c);
        return -1;
    }
    rk_new_topic_t *nt[2];
    char name[2][32];
    for (int i = 0; i < 2; i++) {
        snprintf(name[i], sizeof(name[i]), "bench-%dp", partition_counts[i]);
        nt[i] = rk.new_topic_new(name[i], partition_counts[i], 1, why, why_size);
    }
    int rc = -1;
    rk_queue_t *q = rk.queue_new(h);
    if (!nt[0] || !nt[1])
        goto out;
    rk.create_topics(h, nt, 2, NULL, q);
    rk_event_t *ev = rk.queue_poll(q, 60000);
    const rk_create_result_t *res = ev ? rk.event_create_topics_result(ev) : NULL;
    if (!res) {
        snprintf(why, why_size, "CreateTopics: %s",
                 ev ? rk.event_error_string(ev) : "no answer in 60 s");
    } else {
        size_t n = 0;
        const rk_topic_result_t **tr = rk.create_topics_result_topics(res, &n);
        rc = n == 2 ? 0 : -1;
        if (rc)
            snprintf(why, why_size, "CreateTopics: %zu results for 2 topics", n);
        for (size_t i = 0; i < n; i++) {
            int e = rk.topic_result_error(tr[i]);
            if (e && e != RK_ERR_TOPIC_ALREADY_EXISTS) {
                snprintf(why, why_size, "CreateTopics %s: %s (%s)", name[i], rk.err2str(e),
                         rk.topic_result_error_string(tr[i]) ? rk.topic_result_error_string(tr[i]) : "");
                rc = -1;
            }
        }
    }
    if (ev)
        rk.event_destroy(ev);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = await_topic(h, name[i], partition_counts[i], why, why_size);
out:
    for (int i = 0; i < 2; i++)
        if (nt[i])
            rk.new_topic_destroy(nt[i]);
    rk.queue_destroy(q);
    rk.destroy(h);
    return rc;
}

/* Produces n_messages 100-byte values with null keys to topic; returns
 * messages/s from the first produce call until every delivery report has
 * been served, or 0 with why set. */
static double produce(const char *bootstrap, const char *topic, char *why, size_t why_size)
{
    static char value[VALUE_BYTES];
    memset(value, 'v', sizeof(value));
    rk_conf_t *c = rk_conf(bootstrap, producer_settings,
                           sizeof(producer_settings) / sizeof(producer_settings[0]), why, why_size);
    if (!c)
        return 0;
    delivery_t d = {0, 0, 0};
    rk.conf_set_dr_msg_cb(c, on_delivery);
    rk.conf_set_opaque(c, &d);
    rk_t *h = rk.new_(RK_PRODUCER, c, why, why_size);
    if (!h) {
        rk.conf_destroy(c);
        return 0;
    }
    rk_topic_t *t = rk.topic_new(h, topic, NULL);
    double mps = 0, t0 = bench_now(), last_progress = t0;
    /* Messages go in arrays of PRODUCE_BATCH through rd_kafka_produce_batch;
     * those the full queue refused are offered again after a poll. */
    static rk_message_t msgs[PRODUCE_BATCH];
    long queued = 0;
    int pending = 0;
    while (queued < n_messages) {
        while (pending < PRODUCE_BATCH && queued + pending < n_messages) {
            msgs[pending] = (rk_message_t){.payload = value, .len = VALUE_BYTES};
            pending++;
        }
        queued += rk.produce_batch(t, RK_PARTITION_UA, 0, msgs, pending);
        int left = 0;
        for (int i = 0; i < pending; i++) {
            if (!msgs[i].err)
                continue;
            if (msgs[i].err != RK_ERR_QUEUE_FULL) {
                snprintf(why, why_size, "produce to %s: %s", topic, rk.err2str(msgs[i].err));
                goto out;
            }
            msgs[left++] = msgs[i];
        }
        pending = left;
        long before = d.delivered + d.failed;
        rk.poll(h, pending ? 10 : 0);
        if (pending && broker_dead()) {
            snprintf(why, why_size, "produce to %s: the broker process died (%s) after %ld delivered",
                     topic, current_broker->death, d.delivered);
            goto out;
        }
        if (d.delivered + d.failed != before || !pending)
            last_progress = bench_now();
        else if (bench_now() - last_progress > IDLE_TIMEOUT_S) {
            snprintf(why, why_size, "produce to %s: no delivery for %.0f s after %ld delivered",
                     topic, IDLE_TIMEOUT_S, d.delivered);
            goto out;
        }
    }
    rk.flush(h, FLUSH_TIMEOUT_MS);
    double secs = bench_now() - t0;
    if (d.failed || d.delivered != n_messages)
        snprintf(why, why_size, "produce to %s: %ld delivered, %ld failed (first: %s)", topic,
                 d.delivered, d.failed, d.failed ? rk.err2str(d.first_err) : "none");
    else
        mps = (double)n_messages / secs;
out:
    rk.topic_destroy(t);
    rk.destroy(h);
    return mps;
}

/* Reads every message of topic (partitions partitions) from the beginning;
 * returns messages/s from the start of consumption to the last message, or
 * 0 with why set. */
static double consume(const char *bootstrap, const char *topic, int partitions, char *why,
                      size_t why_size)
{
    rk_conf_t *c = rk_conf(bootstrap, NULL, 0, why, why_size);
    if (!c)
        return 0;
    rk_t *h = rk.new_(RK_CONSUMER, c, why, why_size);
    if (!h) {
        rk.conf_destroy(c);
        return 0;
    }
    if (await_topic(h, topic, partitions, why, why_size) < 0) {
        rk.destroy(h);
        return 0;
    }
    rk_topic_t *t = rk.topic_new(h, topic, NULL);
    rk_queue_t *q = rk.queue_new(h);
    double mps = 0, t0 = bench_now(), last = t0, first = 0;
    long got = 0, bytes_bad = 0;
    for (int p = 0; p < partitions; p++)
        if (rk.consume_start_queue(t, p, RK_OFFSET_BEGINNING, q) < 0) {
            snprintf(why, why_size, "consume start %s [%d]: %s", topic, p,
                     rk.err2str(rk.last_error()));
            goto out;
        }
    rk_message_t *msgs[1024];
    while (got < n_messages) {
        /* a batch call waits until it has as many as asked or the timeout
         * passes: never ask for more than are left */
        size_t want = n_messages - got < 1024 ? (size_t)(n_messages - got) : 1024;
        ssize_t n = rk.consume_batch_queue(q, 100, msgs, want);
        for (ssize_t i = 0; i < n; i++) {
            if (msgs[i]->err == 0) {
                got++;
                if (msgs[i]->len != VALUE_BYTES)
                    bytes_bad++;
            } else if (msgs[i]->err != RK_ERR_PARTITION_EOF) {
                snprintf(why, why_size, "consume %s [%d]: %s", topic, msgs[i]->partition,
                         rk.err2str(msgs[i]->err));
            }
            rk.message_destroy(msgs[i]);
        }
        double now = bench_now();
        if (n <= 0 && broker_dead()) {
            snprintf(why, why_size, "consume %s: the broker process died (%s) after %ld of %ld messages",
                     topic, current_broker->death, got, n_messages);
            goto stop;
        }
        if (n > 0 && !first)
            first = now;
        if (n > 0)
            last = now;
        else if (now - last > IDLE_TIMEOUT_S) {
            snprintf(why, why_size, "consume %s: nothing for %.0f s after %ld of %ld messages",
                     topic, IDLE_TIMEOUT_S, got, n_messages);
            goto stop;
        }
    }
    if (bytes_bad)
        snprintf(why, why_size, "consume %s: %ld values not %d bytes long", topic, bytes_bad,
                 VALUE_BYTES);
    else {
        mps = (double)got / (last - t0);
        note("%s: first message %.0f ms after the start, the rest at %.0f msgs/s", topic,
             (first - t0) * 1000, (double)(got - 1) / (last - first));
    }
stop:
    for (int p = 0; p < partitions; p++)
        rk.consume_stop(t, p);
out:
    rk.queue_destroy(q);
    rk.topic_destroy(t);
    rk.destroy(h);
    return mps;
}

/* ---- one broker's run -------------------------------------------------------- */

static void drop_caches(void)
{
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0 || write(fd, "3\n", 2) != 2) {
        if (cache_dropped)
            note("cannot drop the page cache (%s): consume figures are from a warm cache",
                 strerror(errno));
        cache_dropped = false;
    }
    if (fd >= 0)
        close(fd);
}

/* Produce into both topics, then note the produce-phase RSS peak. */
static int produce_phase(int which, broker_proc_t *b)
{
    current_broker = b;
    result_t *r = &results[which];
    char why[512] = "";
    if (create_topics(b->bootstrap, why, sizeof(why)) < 0) {
        fail_step(r, "%s: creating topics bench-1p and bench-8p: %s", broker_names[which], why);
        return -1;
    }
    watch(b->pid);
    for (int i = 0; i < 2; i++) {
        char topic[32];
        snprintf(topic, sizeof(topic), "bench-%dp", partition_counts[i]);
        r->produce_mps[i] = produce(b->bootstrap, topic, why, sizeof(why));
        if (r->produce_mps[i] <= 0) {
            unwatch(&r->produce);
            fail_step(r, "%s: %s", broker_names[which], why);
            return -1;
        }
        note("%s: produced %ld to %s at %.0f msgs/s", broker_names[which], n_messages, topic,
             r->produce_mps[i]);
        if (broker_dead()) {
            unwatch(&r->produce);
            fail_step(r, "%s: the broker process died (%s) after producing to %s",
                      broker_names[which], current_broker->death, topic);
            return -1;
        }
    }
    unwatch(&r->produce);
    return 0;
}

/* Reads both topics from the beginning twice: first from the cold start
 * the caller made, then again with the data in the page cache. */
static int consume_phase(int which, broker_proc_t *b)
{
    current_broker = b;
    result_t *r = &results[which];
    char why[512] = "";
    for (int warm = 0; warm < 2; warm++) {
        double *mps = warm ? r->consume_warm_mps : r->consume_mps;
        phase_t *ph = warm ? &r->consume_warm : &r->consume;
        watch(b->pid);
        for (int i = 0; i < 2; i++) {
            char topic[32];
            snprintf(topic, sizeof(topic), "bench-%dp", partition_counts[i]);
            mps[i] = consume(b->bootstrap, topic, partition_counts[i], why, sizeof(why));
            if (mps[i] <= 0) {
                unwatch(ph);
                fail_step(r, "%s: %s%s", broker_names[which], warm ? "(warm) " : "", why);
                return -1;
            }
            note("%s: consumed %ld from %s at %.0f msgs/s (%s)", broker_names[which], n_messages,
                 topic, mps[i], warm ? "warm" : "cold");
        }
        unwatch(ph);
    }
    return 0;
}

/* Stops samsa's broker unless it already ended on its own. */
static void samsa_stop(broker_proc_t *b)
{
    if (!b->dead)
        stop_child(b->pid);
    b->pid = 0;
}

static void run_samsa(const char *samsa_bin)
{
    result_t *r = &results[SAMSA];
    char data[600];
    snprintf(data, sizeof(data), "%s/samsa-data", base_dir);
    if (mkdir(data, 0755) < 0) {
        fail_step(r, "samsa: mkdir %s: %s", data, strerror(errno));
        return;
    }
    broker_proc_t b = {0};
    if (samsa_start(samsa_bin, data, 1, &b, &r->fresh_start_ms, r) < 0)
        return;
    note("samsa: serving on %s (pid %d) %.1f ms after fork", b.bootstrap, (int)b.pid,
         r->fresh_start_ms);
    int rc = produce_phase(SAMSA, &b);
    samsa_stop(&b);
    if (rc < 0)
        return;
    drop_caches();
    if (samsa_start(samsa_bin, data, 2, &b, &r->start_cold_ms, r) < 0)
        return;
    note("samsa: restarted on %s (pid %d) %.1f ms after fork", b.bootstrap, (int)b.pid,
         r->start_cold_ms);
    consume_phase(SAMSA, &b);
    samsa_stop(&b);
    if (samsa_start(samsa_bin, data, 3, &b, &r->start_warm_ms, r) < 0)
        return;
    note("samsa: restarted warm on %s (pid %d) %.1f ms after fork", b.bootstrap, (int)b.pid,
         r->start_warm_ms);
    samsa_stop(&b);
}

static void run_kafka(void)
{
    result_t *r = &results[KAFKA];
    const char *why_not = getenv("SAMSA_BENCH_NO_KAFKA");
    if (why_not && *why_not) {
        fail_step(r, "kafka not run: %s", why_not);
        return;
    }
    char kdir[600];
    snprintf(kdir, sizeof(kdir), "%s/kafka", base_dir);
    broker_proc_t b = {0};
    if (kafka_start(kdir, &b, r) < 0) {
        kafka_stop(kdir);
        return;
    }
    note("kafka: serving on %s (java pid %d)", b.bootstrap, (int)b.pid);
    int rc = produce_phase(KAFKA, &b);
    kafka_stop(kdir);
    if (rc < 0)
        return;
    drop_caches();
    if (kafka_restart(kdir, &b, &r->start_cold_ms, r) < 0) {
        kafka_stop(kdir);
        return;
    }
    note("kafka: restarted on %s (java pid %d) %.1f ms after fork", b.bootstrap, (int)b.pid,
         r->start_cold_ms);
    consume_phase(KAFKA, &b);
    kafka_stop(kdir);
    if (kafka_restart(kdir, &b, &r->start_warm_ms, r) == 0)
        note("kafka: restarted warm on %s (java pid %d) %.1f ms after fork", b.bootstrap,
             (int)b.pid, r->start_warm_ms);
    kafka_stop(kdir);
}

/* ---- report -------------------------------------------------------------------- */

static void fig(char *out, size_t size, int which, double v, const char *unit)
{
    if (v > 0)
        snprintf(out, size, "%s %.1f %s", broker_names[which], v, unit);
    else
        snprintf(out, size, "%s not measured", broker_names[which]);
}

/* One line: both figures, the ratio samsa/kafka and the goal (at_least:
 * ratio >= goal, else ratio <= goal; goal 0: a figure without a goal). */
static void report_pair(const char *name, double s, double k, const char *unit, double goal,
                        bool at_least)
{
    char a[96], b[96];
    fig(a, sizeof(a), SAMSA, s, unit);
    fig(b, sizeof(b), KAFKA, k, unit);
    printf("bench %s: %s | %s", name, a, b);
    const char *rel = at_least ? ">=" : "<=";
    if (s > 0 && k > 0) {
        double ratio = s / k;
        printf(" | ratio %.2f", ratio);
        if (goal > 0)
            printf(" (goal %s %.2f: %s)", rel, goal,
                   (at_least ? ratio >= goal : ratio <= goal) ? "met" : "NOT MET");
    } else {
        printf(" | ratio n/a");
        if (goal > 0)
            printf(" (goal %s %.2f: NOT MEASURED)", rel, goal);
    }
    printf("\n");
}

/* Start to first accepted request of both, with samsa's goal (< 50 ms). */
static void report_start(const char *name, const char *how, double s, double k)
{
    char a[96], b[96];
    fig(a, sizeof(a), SAMSA, s, "ms");
    fig(b, sizeof(b), KAFKA, k, "ms");
    printf("bench %s: %s | %s | samsa goal < 50 ms: %s (fork to first ApiVersions answer, %s)\n",
           name, a, b,
           s <= 0   ? "NOT MEASURED"
           : s < 50 ? "met"
                    : "NOT MET",
           how);
}

static double max2(double a, double b) { return a > b ? a : b; }

/* The 1-minute load average, or -1: other work on the machine skews every
 * figure here, so the report shows it. */
static double load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static double load_at_start;

static void report(double total_s)
{
    const result_t *S = &results[SAMSA], *K = &results[KAFKA];
    char name[64];
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "broker_produce_%dp", partition_counts[i]);
        report_pair(name, S->produce_mps[i], K->produce_mps[i], "msgs/s", 3.0, true);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "broker_consume_%dp%s", partition_counts[i],
                 cache_dropped ? "" : "_warm_cache");
        report_pair(name, S->consume_mps[i], K->consume_mps[i], "msgs/s", 3.0, true);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "broker_consume_%dp_warm_cache", partition_counts[i]);
        report_pair(name, S->consume_warm_mps[i], K->consume_warm_mps[i], "msgs/s", 0, true);
    }
    report_pair("broker_rss_peak",
                max2(S->produce.rss_kb, max2(S->consume.rss_kb, S->consume_warm.rss_kb)) / 1024,
                max2(K->produce.rss_kb, max2(K->consume.rss_kb, K->consume_warm.rss_kb)) / 1024,
                "MiB", 0.10, false);
    report_pair("broker_rss_peak_produce", S->produce.rss_kb / 1024, K->produce.rss_kb / 1024,
                "MiB", 0.10, false);
    report_pair("broker_rss_peak_consume", max2(S->consume.rss_kb, S->consume_warm.rss_kb) / 1024,
                max2(K->consume.rss_kb, K->consume_warm.rss_kb) / 1024, "MiB", 0.10, false);
    /* VmRSS counts the pages of mapped files a broker reads; RssAnon is the
     * memory the process itself holds. */
    report_pair("broker_rss_anon_peak_produce", S->produce.anon_kb / 1024,
                K->produce.anon_kb / 1024, "MiB", 0, false);
    report_pair("broker_rss_anon_peak_consume",
                max2(S->consume.anon_kb, S->consume_warm.anon_kb) / 1024,
                max2(K->consume.anon_kb, K->consume_warm.anon_kb) / 1024, "MiB", 0, false);
    report_start("broker_start_to_first_request_cold",
                 cache_dropped ? "restart on the filled data, page cache dropped"
                               : "restart on the filled data, page cache NOT dropped",
                 S->start_cold_ms, K->start_cold_ms);
    report_start("broker_start_to_first_request_warm", "restart on the filled data, warm cache",
                 S->start_warm_ms, K->start_warm_ms);
    if (S->fresh_start_ms > 0)
        printf("bench broker_start_to_first_request_empty_dir: samsa %.1f ms (goal < 50 ms: %s; "
               "first start, page cache as it was)\n",
               S->fresh_start_ms, S->fresh_start_ms < 50 ? "met" : "NOT MET");
    /* Where the CPU went (2 cores shared by broker and clients): a client
     * bound run cannot show the broker's ratio. */
    report_pair("broker_cpu_produce_both_topics", S->produce.broker_cpu_s,
                K->produce.broker_cpu_s, "s", 0, false);
    report_pair("broker_cpu_consume_both_topics_cold", S->consume.broker_cpu_s,
                K->consume.broker_cpu_s, "s", 0, false);
    report_pair("broker_cpu_consume_both_topics_warm", S->consume_warm.broker_cpu_s,
                K->consume_warm.broker_cpu_s, "s", 0, false);
    printf("bench broker_client_cpu: producing samsa %.1f s, kafka %.1f s; consuming cold samsa "
           "%.1f s, kafka %.1f s; warm samsa %.1f s, kafka %.1f s (the librdkafka clients in this "
           "process)\n",
           S->produce.client_cpu_s, K->produce.client_cpu_s, S->consume.client_cpu_s,
           K->consume.client_cpu_s, S->consume_warm.client_cpu_s, K->consume_warm.client_cpu_s);
    for (int w = 0; w < NBROKERS; w++)
        if (strncmp(results[w].failed, "kafka not run", 13) == 0)
            printf("bench broker: %s\n", results[w].failed);
        else if (results[w].failed[0])
            printf("bench broker: %s FAILED: %s\n", broker_names[w], results[w].failed);
    printf("bench broker_total_runtime: %.1f s (%ld messages per topic, %s; %ld cores, load "
           "average %.2f at the start, %.2f at the end)\n",
           total_s, n_messages,
           cache_dropped ? "page cache dropped before each consume" : "warm cache",
           sysconf(_SC_NPROCESSORS_ONLN), load_at_start, load_average());
    fflush(stdout);
}

int main(void)
{
    const char *dir = getenv("SAMSA_BENCH_BROKER_DIR");
    if (!dir || !*dir) {
        printf("bench broker: run by tests/bench/broker-vs-kafka.sh (needs SAMSA_BENCH_BROKER_DIR)\n");
        return 0;
    }
    double t0 = bench_now();
    load_at_start = load_average();
    snprintf(base_dir, sizeof(base_dir), "%s", dir);
    const char *env_n = getenv("SAMSA_BENCH_MESSAGES");
    if (env_n && *env_n)
        n_messages = atol(env_n);
    if (n_messages <= 0) {
        fprintf(stderr, "%% bench_broker: bad SAMSA_BENCH_MESSAGES %s\n", env_n);
        return 1;
    }
    const char *b = getenv("B");
    char samsa_default[600];
    snprintf(samsa_default, sizeof(samsa_default), "%s/bin/samsa", b && *b ? b : "build");
    const char *samsa_bin = getenv("SAMSA_BIN") ? getenv("SAMSA_BIN") : samsa_default;
    kafka_sh = getenv("KAFKA_SH") ? getenv("KAFKA_SH") : "tests/interop/kafka/kafka.sh";

    char why[512];
    if (rk_load(why, sizeof(why)) < 0) {
        printf("bench broker: not run: %s\n", why);
        return 1;
    }
    printf("bench broker: %ld messages of %d bytes per topic, null keys, librdkafka %s, acks=1 "
           "linger.ms=5 batch.size=1000000, topics of 1 and 8 partitions\n",
           n_messages, VALUE_BYTES, rk.version_str());
    fflush(stdout);

    pthread_t sampler_thread;
    if (pthread_create(&sampler_thread, NULL, sampler_main, NULL) != 0) {
        printf("bench broker: not run: cannot start the memory sampler\n");
        return 1;
    }
    run_samsa(samsa_bin);
    run_kafka();
    pthread_mutex_lock(&sampler.mu);
    sampler.stop = true;
    pthread_mutex_unlock(&sampler.mu);
    pthread_join(sampler_thread, NULL);
    report(bench_now() - t0);
    /* A broker that failed a step fails the run; Kafka missing does not. */
    bool kafka_missing = getenv("SAMSA_BENCH_NO_KAFKA") && *getenv("SAMSA_BENCH_NO_KAFKA");
    return results[SAMSA].failed[0] || (results[KAFKA].failed[0] && !kafka_missing) ? 1 : 0;
}
