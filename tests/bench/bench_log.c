/*
 * bench_log.c: the partition log's benchmarks, each beside its reference
 * measured in the same run:
 *   - append of 16 KiB batches then one fdatasync, in both write modes
 *     (pwrite, mmap), against dd writing the same bytes with conv=fdatasync
 *     to the same file system (the goal is the default mode's, pwrite; the
 *     mmap mode's figure is reported for comparison);
 *   - group commit: 64 appenders, each appending its next batch only once
 *     the previous one is acknowledged durable, as the broker drives the log
 *     (one thread appends, the flusher thread fdatasyncs, on_durable
 *     acknowledges), against 64 threads appending without fsync (one
 *     fdatasync at the end), with p50/p99 acknowledgment latency; beside one
 *     thread appending without; the same 64 as threads that each wait in
 *     partition_log_append_durable(); and, to show what the disk gives a
 *     plain sync loop, one thread writing 1 MiB (all 64 appenders' batches)
 *     and fdatasyncing in a loop;
 *   - sequential read of a cached 1 GiB log (copying each range out of the
 *     mapping) against memcpy;
 *   - recovery of a 1 GiB unclean segment against crc32c over it in memory.
 * SAMSA_BENCH_LOG_MB sets the size (default 1024); the files go under $B
 * (default build), on the file system the tests use.
 */
#include "log/log.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/slog.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define BATCH_BYTES (16 * 1024)
#define APPENDERS 64

static char dir[512];
static size_t total_bytes;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* One batch of exactly BATCH_BYTES. */
static void make_batch(buf_t *b)
{
    static uint8_t value[BATCH_BYTES];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)(i * 31 + 7);
    size_t value_bytes = BATCH_BYTES - 72; /* header 61, record framing 11 */
    log_record_t rec = {NULL, 0, value, value_bytes};
    buf_reset(b);
    log_records_encode(b, &rec, 1, 1);
    if (b->len != BATCH_BYTES) {
        fprintf(stderr, "%% batch is %zu bytes, not %d\n", b->len, BATCH_BYTES);
        exit(1);
    }
}

static double run_dd(void)
{
    char of[600], count[64];
    snprintf(of, sizeof(of), "of=%s/dd.out", dir);
    snprintf(count, sizeof(count), "count=%zu", total_bytes >> 20);
    char *argv[] = {"dd", "if=/dev/zero", of, "bs=1M", count, "conv=fdatasync", "status=none",
                    NULL};
    pid_t pid;
    int status;
    double t0 = bench_now();
    if (posix_spawnp(&pid, "dd", NULL, NULL, argv, NULL) != 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%% dd failed\n");
        exit(1);
    }
    double secs = bench_now() - t0;
    snprintf(of, sizeof(of), "%s/dd.out", dir);
    unlink(of);
    return (double)total_bytes / secs / 1e6;
}

static log_config_t bench_config(log_write_mode_t mode, bool on_ack)
{
    log_config_t cfg;
    log_config_init(&cfg);
    cfg.write_mode = mode;
    cfg.flush_on_ack = on_ack;
    return cfg;
}

static partition_log_t *open_log(const log_config_t *cfg)
{
    char err[512];
    partition_log_t *pl = partition_log_open(dir, "bench", 0, cfg, err, sizeof(err));
    if (!pl) {
        fprintf(stderr, "%% %s\n", err);
        exit(1);
    }
    return pl;
}

static void drop_log(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/bench-0", dir);
    remove_tree(path);
}

/* Appends total_bytes in 16 KiB batches, fdatasyncs once; MB/s. The log is
 * left closed cleanly when keep, else removed. */
static double run_append(log_write_mode_t mode, bool keep)
{
    log_config_t cfg = bench_config(mode, false);
    buf_t b;
    buf_init(&b, 0);
    make_batch(&b);
    drop_log();
    partition_log_t *pl = open_log(&cfg);
    double t0 = bench_now();
    for (size_t done = 0; done < total_bytes; done += BATCH_BYTES)
        if (partition_log_append(pl, b.data, b.len, 0, NULL, NULL) != 0)
            exit(1);
    if (partition_log_flush(pl) != 0)
        exit(1);
    double secs = bench_now() - t0;
    partition_log_close(pl, true);
    if (!keep)
        drop_log();
    buf_free(&b);
    return (double)total_bytes / secs / 1e6;
}

typedef struct appender {
    partition_log_t *pl;
    size_t batches;
    double *latency_s;
    bool durable; /* each append waits for its fdatasync */
} appender_t;

static void *appender_main(void *arg)
{
    appender_t *a = arg;
    buf_t b;
    buf_init(&b, 0);
    make_batch(&b);
    for (size_t i = 0; i < a->batches; i++) {
        double t0 = bench_now();
        if ((a->durable ? partition_log_append_durable(a->pl, b.data, b.len, 0, NULL, NULL)
                        : partition_log_append(a->pl, b.data, b.len, 0, NULL, NULL)) != 0)
            exit(1);
        a->latency_s[i] = bench_now() - t0;
    }
    buf_free(&b);
    return NULL;
}

static int compare_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Sorts and frees the n acknowledgment latencies (seconds); p50 and p99 in ms. */
static void latency_quantiles(double *lat, size_t n, double *p50_ms, double *p99_ms)
{
    qsort(lat, n, sizeof(double), compare_double);
    *p50_ms = lat[n / 2] * 1e3;
    *p99_ms = lat[n * 99 / 100] * 1e3;
    free(lat);
}

/* APPENDERS threads append total_bytes in 16 KiB batches, each waiting for
 * its fdatasync when durable, else with one fdatasync at the end; MB/s. */
static double run_appenders(log_write_mode_t mode, bool durable, double *p50_ms, double *p99_ms)
{
    log_config_t cfg = bench_config(mode, durable);
    size_t per_thread = total_bytes / BATCH_BYTES / APPENDERS;
    size_t n = per_thread * APPENDERS;
    double *lat = malloc(n * sizeof(double));
    appender_t ap[APPENDERS];
    pthread_t th[APPENDERS];
    drop_log();
    partition_log_t *pl = open_log(&cfg);
    double t0 = bench_now();
    for (int i = 0; i < APPENDERS; i++) {
        ap[i] = (appender_t){pl, per_thread, lat + (size_t)i * per_thread, durable};
        pthread_create(&th[i], NULL, appender_main, &ap[i]);
    }
    for (int i = 0; i < APPENDERS; i++)
        pthread_join(th[i], NULL);
    if (partition_log_flush(pl) != 0)
        exit(1);
    double secs = bench_now() - t0;
    partition_log_close(pl, true);
    drop_log();
    latency_quantiles(lat, n, p50_ms, p99_ms);
    return (double)(n * BATCH_BYTES) / secs / 1e6;
}

/* The broker's way: one thread appends for APPENDERS producers, each with
 * one append in flight, and the log's flusher thread fdatasyncs; an append
 * counts as acknowledged when on_durable passes its last offset, and its
 * producer then appends again. */
typedef struct pipeline {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t durable;
} pipeline_t;

static void pipeline_on_durable(void *opaque, partition_log_t *pl, int64_t end_offset)
{
    pipeline_t *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (end_offset > p->durable)
        p->durable = end_offset;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static double run_pipelined(log_write_mode_t mode, double *p50_ms, double *p99_ms)
{
    pipeline_t pipe = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    log_config_t cfg = bench_config(mode, true);
    cfg.on_durable = pipeline_on_durable;
    cfg.on_durable_opaque = &pipe;
    size_t n = total_bytes / BATCH_BYTES / APPENDERS * APPENDERS, sent = 0, acked = 0;
    double *lat = malloc(n * sizeof(double)), started[APPENDERS];
    int64_t end[APPENDERS]; /* the offset a producer's append must reach; 0 when idle */
    char err[512];
    buf_t b;
    buf_init(&b, 0);
    make_batch(&b);
    drop_log();
    partition_log_t *pl = open_log(&cfg);
    log_flusher_t *fl = log_flusher_start(0, err, sizeof(err));
    if (!fl || log_flusher_add(fl, pl) != 0) {
        fprintf(stderr, "%% cannot start the flusher: %s\n", err);
        exit(1);
    }
    memset(end, 0, sizeof(end));
    double t0 = bench_now();
    while (acked < n) {
        for (int i = 0; i < APPENDERS && sent < n; i++) {
            if (end[i])
                continue;
            int64_t last;
            started[i] = bench_now();
            if (partition_log_append(pl, b.data, b.len, 0, NULL, &last) != 0)
                exit(1);
            end[i] = last + 1;
            sent++;
        }
        int64_t first = INT64_MAX, durable;
        for (int i = 0; i < APPENDERS; i++)
            if (end[i] && end[i] < first)
                first = end[i];
        pthread_mutex_lock(&pipe.lock);
        while ((durable = pipe.durable) < first)
            pthread_cond_wait(&pipe.cond, &pipe.lock);
        pthread_mutex_unlock(&pipe.lock);
        double now = bench_now();
        for (int i = 0; i < APPENDERS; i++) {
            if (end[i] && end[i] <= durable) {
                lat[acked++] = now - started[i];
                end[i] = 0;
            }
        }
    }
    double secs = bench_now() - t0;
    log_flusher_remove(fl, pl);
    log_flusher_stop(fl);
    partition_log_close(pl, true);
    drop_log();
    buf_free(&b);
    latency_quantiles(lat, n, p50_ms, p99_ms);
    return (double)(n * BATCH_BYTES) / secs / 1e6;
}

/* The disk alone at group commit's best: one thread writing 1 MiB (64
 * appenders' 16 KiB batches) then fdatasyncing, over and over, into a file
 * preallocated like a segment (fallocate, 8 MiB steps); MB/s. */
static double run_sync_loop(void)
{
    char path[600];
    size_t chunk = (size_t)APPENDERS * BATCH_BYTES, step = 8 << 20, alloc = 0;
    snprintf(path, sizeof(path), "%s/sync-loop", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    uint8_t *data = malloc(chunk);
    if (fd < 0 || !data) {
        fprintf(stderr, "%% cannot open %s\n", path);
        exit(1);
    }
    memset(data, 0x5a, chunk);
    double t0 = bench_now();
    for (size_t pos = 0; pos < total_bytes; pos += chunk) {
        if (pos + chunk > alloc) {
            if (fallocate(fd, 0, (off_t)alloc, (off_t)step) != 0)
                exit(1);
            alloc += step;
        }
        if (pwrite(fd, data, chunk, (off_t)pos) != (ssize_t)chunk || fdatasync(fd) != 0)
            exit(1);
    }
    double secs = bench_now() - t0;
    close(fd);
    unlink(path);
    free(data);
    return (double)total_bytes / secs / 1e6;
}

/* Reads the whole log from the start, copying each range out; MB/s. */
static double read_pass(partition_log_t *pl)
{
    uint8_t *dst = malloc(1 << 20);
    memset(dst, 0, 1 << 20);
    size_t bytes = 0;
    uint64_t sum = 0;
    int64_t offset = 0;
    double t0 = bench_now();
    for (;;) {
        log_read_t r;
        if (partition_log_read(pl, offset, 1 << 20, &r) != 0)
            exit(1);
        if (r.length_bytes == 0)
            break;
        memcpy(dst, r.data, r.length_bytes);
        sum += dst[r.length_bytes - 1];
        bytes += r.length_bytes;
        offset = r.next_offset;
        log_read_release(&r);
    }
    double secs = bench_now() - t0;
    bench_keep(sum);
    free(dst);
    return (double)bytes / secs / 1e6;
}

/* Opens the kept log and reads it three times; *first is the first pass
 * (the mapping still cold), the result the best pass. */
static double run_read(double *first)
{
    log_config_t cfg = bench_config(LOG_WRITE_PWRITE, false);
    partition_log_t *pl = open_log(&cfg);
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double v = read_pass(pl);
        if (i == 0)
            *first = v;
        best = v > best ? v : best;
    }
    partition_log_close(pl, true);
    return best;
}

static double run_memcpy(void)
{
    uint8_t *src = malloc(total_bytes), *dst = malloc(1 << 20);
    memset(src, 1, total_bytes);
    memset(dst, 0, 1 << 20);
    uint64_t sum = 0;
    double secs = 1e9;
    for (int i = 0; i < 3; i++) { /* best of three */
        double t0 = bench_now();
        for (size_t pos = 0; pos < total_bytes; pos += 1 << 20) {
            memcpy(dst, src + pos, 1 << 20);
            sum += dst[(1 << 20) - 1];
        }
        double t = bench_now() - t0;
        secs = t < secs ? t : secs;
    }
    bench_keep(sum);
    free(src);
    free(dst);
    return (double)total_bytes / secs / 1e6;
}

/* Makes the kept log look crashed and times the reopen; ms. *crc_ms is
 * crc32c over the same bytes in memory. */
static double run_recovery(double *crc_ms)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/bench-0/clean-shutdown", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bench-0/checkpoint", dir);
    unlink(path);
    log_config_t cfg = bench_config(LOG_WRITE_PWRITE, false);
    double t0 = bench_now();
    partition_log_t *pl = open_log(&cfg);
    double ms = (bench_now() - t0) * 1e3;
    log_read_t r;
    uint32_t crc = 0;
    double t1 = bench_now();
    for (int64_t offset = 0;; offset = r.next_offset) {
        if (partition_log_read(pl, offset, 1 << 20, &r) != 0)
            exit(1);
        if (r.length_bytes == 0)
            break;
        crc = crc32c(crc, r.data, r.length_bytes);
        log_read_release(&r);
    }
    *crc_ms = (bench_now() - t1) * 1e3;
    bench_keep(crc);
    partition_log_close(pl, true);
    return ms;
}

int main(void)
{
    const char *b = getenv("B") ? getenv("B") : "build";
    const char *mb = getenv("SAMSA_BENCH_LOG_MB");
    total_bytes = (size_t)(mb ? atol(mb) : 1024) << 20;
    slog_configure(NULL, NULL, SLOG_WARN);
    snprintf(dir, sizeof(dir), "%s/bench-log-XXXXXX", b);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    double dd = 0, pw = 0, mm = 0;
    for (int i = 0; i < 2; i++) { /* best of two, interleaved */
        double v = run_dd();
        dd = v > dd ? v : dd;
        v = run_append(LOG_WRITE_PWRITE, false);
        pw = v > pw ? v : pw;
        v = run_append(LOG_WRITE_MMAP, false);
        mm = v > mm ? v : mm;
    }
    bench_report("log_append_16k_pwrite", pw, "dd_conv_fdatasync", dd, "MB/s", 0.9);
    bench_report("log_append_16k_mmap_option", mm, "dd_conv_fdatasync", dd, "MB/s", 0);

    /* Group commit against 64 threads appending without fsync per
     * acknowledgment (the goal), against one thread appending without fsync,
     * and with the 64 appenders as threads: best of two each, interleaved,
     * as for the dd comparison. */
    double p50 = 0, p99 = 0, gc = 0, nofsync = 0, single = 0, th = 0, th50 = 0, th99 = 0;
    log_config_t defaults;
    log_config_init(&defaults);
    log_write_mode_t def = defaults.write_mode;
    for (int i = 0; i < 2; i++) {
        double l50, l99;
        double v = run_appenders(def, false, &l50, &l99);
        nofsync = v > nofsync ? v : nofsync;
        v = run_append(def, false);
        single = v > single ? v : single;
        v = run_pipelined(def, &l50, &l99);
        if (v > gc) {
            gc = v;
            p50 = l50;
            p99 = l99;
        }
        v = run_appenders(def, true, &l50, &l99);
        if (v > th) {
            th = v;
            th50 = l50;
            th99 = l99;
        }
    }
    bench_report("log_group_commit_64_appenders", gc, "64_appenders_no_fsync", nofsync, "MB/s",
                 0.5);
    bench_report("log_group_commit_64_appenders_vs_one", gc, "one_appender_no_fsync", single,
                 "MB/s", 0);
    printf("bench log_group_commit_64_appenders latency: p50 %.2f ms | p99 %.2f ms\n", p50, p99);
    bench_report("log_group_commit_64_appenders_vs_sync_loop", gc, "one_thread_1mib_fdatasync_loop",
                 run_sync_loop(), "MB/s", 0);
    bench_report("log_group_commit_64_threads", th, "64_appenders_no_fsync", nofsync, "MB/s", 0);
    printf("bench log_group_commit_64_threads latency: p50 %.2f ms | p99 %.2f ms\n", th50, th99);

    run_append(LOG_WRITE_PWRITE, true);
    double first, rd = run_read(&first), mc = run_memcpy();
    bench_report("log_sequential_read_cached", rd, "memcpy", mc, "MB/s", 0.8);
    bench_report("log_sequential_read_cached_first_pass", first, "memcpy", mc, "MB/s", 0);
    double crc_ms, rec_ms = run_recovery(&crc_ms);
    bench_report("log_recovery_unclean_segment", rec_ms, "crc32c_in_memory", crc_ms, "ms", 0);
    remove_tree(dir);
    return 0;
}
