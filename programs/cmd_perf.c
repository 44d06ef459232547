/*
 * cmd_perf.c: `samsa perf TEST`, benchmarks that print what Apache Kafka's
 * own perf tools print, so that numbers compare line for line. The one test
 * so far is `samsa perf produce`, which is kafka-producer-perf-test: COUNT
 * records of SIZE random capital letters, optionally throttled, each one's
 * latency measured from the send to its delivery report; a progress line
 * every PROGRESS_INTERVAL_US and a total line with percentiles at the end.
 *
 * `-b embedded` runs the broker inside the process (common.h), which
 * measures the client and the broker without a network hop in between.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define CMD_PRODUCE "samsa perf produce"

/* As Kafka's tool: a window line every 5 s, and at most this many latency
 * samples (every k-th report when there are more). */
#define PROGRESS_INTERVAL_US 5000000
#define MAX_LATENCY_SAMPLES 500000

/* Failed deliveries printed one by one before they are only counted. */
#define PRINTED_FAILURES_MAX 10

static const cli_command_t perf_tests[] = {
    {"produce", cmd_perf_produce,
     "-b HOST:PORT|embedded -n COUNT -s SIZE [-t TOPIC] [--acks A] [--throughput N]",
     "send COUNT records of SIZE bytes; print throughput and latency"},
    {NULL, NULL, NULL, NULL},
};

static void perf_usage(FILE *out)
{
    fprintf(out, "Usage: samsa perf TEST [OPTIONS]\n"
                 "\n"
                 "Tests:\n");
    cli_print_commands(out, "", perf_tests);
    fprintf(out, "\n"
                 "samsa perf TEST --help describes each.\n");
}

int cmd_perf(int argc, char **argv)
{
    return cli_dispatch("samsa perf", "test", perf_tests, perf_usage, argc, argv);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- latency statistics, as kafka-producer-perf-test keeps them ---- */

typedef struct perf_stats {
    int64_t start_us;
    uint64_t count;            /* records delivered */
    uint64_t bytes;
    int64_t total_latency_us;
    int64_t max_latency_us;
    uint32_t *samples_us;      /* latencies of every sampling-th record */
    size_t sample_count;
    size_t sample_cap;
    uint64_t sampling;
    int64_t window_start_us;   /* the progress line's window */
    uint64_t window_count;
    uint64_t window_bytes;
    int64_t window_total_latency_us;
    int64_t window_max_latency_us;
    uint64_t failed;
} perf_stats_t;

/* Sets up s for records records; false when memory runs out. */
static bool stats_init(perf_stats_t *s, uint64_t records)
{
    memset(s, 0, sizeof(*s));
    uint64_t kept = records < MAX_LATENCY_SAMPLES ? records : MAX_LATENCY_SAMPLES;
    s->sampling = kept ? records / kept : 1;
    s->sample_cap = (size_t)(records / s->sampling) + 1;
    s->samples_us = malloc(s->sample_cap * sizeof(*s->samples_us));
    s->start_us = s->window_start_us = now_us();
    return s->samples_us != NULL;
}

static void stats_print_window(perf_stats_t *s, int64_t now)
{
    double elapsed_s = (double)(now - s->window_start_us) / 1e6;
    double avg_ms = s->window_count
                        ? (double)s->window_total_latency_us / (double)s->window_count / 1e3
                        : 0.0;
    printf("%" PRIu64 " records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, "
           "%.1f ms max latency.\n",
           s->window_count, (double)s->window_count / elapsed_s,
           (double)s->window_bytes / elapsed_s / (1024.0 * 1024.0), avg_ms,
           (double)s->window_max_latency_us / 1e3);
    fflush(stdout);
    s->window_start_us = now;
    s->window_count = 0;
    s->window_bytes = 0;
    s->window_total_latency_us = 0;
    s->window_max_latency_us = 0;
}

/* Counts one delivered record; prints the progress line when it is due. */
static void stats_record(perf_stats_t *s, int64_t latency_us, size_t bytes, int64_t now)
{
    if (s->count % s->sampling == 0 && s->sample_count < s->sample_cap)
        s->samples_us[s->sample_count++] = latency_us > UINT32_MAX ? UINT32_MAX
                                                                   : (uint32_t)latency_us;
    s->count++;
    s->bytes += bytes;
    s->total_latency_us += latency_us;
    if (latency_us > s->max_latency_us)
        s->max_latency_us = latency_us;
    s->window_count++;
    s->window_bytes += bytes;
    s->window_total_latency_us += latency_us;
    if (latency_us > s->window_max_latency_us)
        s->window_max_latency_us = latency_us;
    if (now - s->window_start_us >= PROGRESS_INTERVAL_US)
        stats_print_window(s, now);
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The sample at fraction q of the sorted samples, in whole milliseconds. */
static int percentile_ms(const perf_stats_t *s, double q)
{
    if (!s->sample_count)
        return 0;
    size_t i = (size_t)(q * (double)s->sample_count);
    if (i >= s->sample_count)
        i = s->sample_count - 1;
    return (int)(s->samples_us[i] / 1000);
}

/* The total line, in kafka-producer-perf-test's exact format. */
static void stats_print_total(perf_stats_t *s, int64_t end_us)
{
    double elapsed_s = (double)(end_us > s->start_us ? end_us - s->start_us : 1) / 1e6;
    qsort(s->samples_us, s->sample_count, sizeof(*s->samples_us), compare_u32);
    double avg_ms = s->count ? (double)s->total_latency_us / (double)s->count / 1e3 : 0.0;
    printf("%" PRIu64 " records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, "
           "%.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
           s->count, (double)s->count / elapsed_s,
           (double)s->bytes / elapsed_s / (1024.0 * 1024.0), avg_ms,
           (double)s->max_latency_us / 1e3, percentile_ms(s, 0.5), percentile_ms(s, 0.95),
           percentile_ms(s, 0.99), percentile_ms(s, 0.999));
    fflush(stdout);
}

/* ---- perf produce ---- */

enum {
    OPT_TOPIC = CLI_OPT_OWN,
    OPT_RECORDS,
    OPT_RECORD_SIZE,
    OPT_ACKS,
    OPT_THROUGHPUT,
};

static const cli_opt_t perf_produce_opts[] = {
    {CLI_OPT_BOOTSTRAP, 'b', "bootstrap-server", "HOST:PORT|embedded"},
    {OPT_TOPIC, 't', "topic", "TOPIC"},
    {OPT_RECORDS, 'n', "num-records", "COUNT"},
    {OPT_RECORD_SIZE, 's', "record-size", "SIZE"},
    {OPT_ACKS, 0, "acks", "ACKS"},
    {OPT_THROUGHPUT, 0, "throughput", "N"},
    {CLI_OPT_PROPERTY, 'X', "producer-props", "KEY=VALUE"},
    {CLI_OPT_PROPERTIES_FILE, 'F', "producer.config", "FILE"},
    {0, 0, NULL, NULL},
};

static const char *const acks_values[] = {"all", "-1", "0", "1", NULL};

#define DEFAULT_TOPIC "samsa-perf"
#define RECORD_SIZE_MAX (100 * 1024 * 1024)

static void perf_produce_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa perf produce -b HOST:PORT|embedded -n COUNT -s SIZE [OPTIONS]\n"
            "\n"
            "Sends COUNT records of SIZE random capital letters (no key) as fast as the\n"
            "producer takes them, or at N records/sec with --throughput, and prints on\n"
            "stdout what kafka-producer-perf-test prints: a progress line every 5 s and\n"
            "the total, whose latencies run from each send to its delivery report:\n"
            "  N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max\n"
            "  latency, A ms 50th, B ms 95th, C ms 99th, D ms 99.9th.\n"
            "\n"
            "Options:\n"
            "  -b, --bootstrap-server HOST:PORT[,...]|embedded\n"
            "                             brokers; \"embedded\" runs one in this process\n"
            "                             (127.0.0.1, a temporary directory removed after)\n"
            "  -t, --topic TOPIC          the topic (default " DEFAULT_TOPIC ")\n"
            "  -n, --num-records COUNT    how many records\n"
            "  -s, --record-size SIZE     bytes per record\n"
            "  --acks A                   all, -1, 0 or 1 (the producer's acks)\n"
            "  --throughput N             at most N records/sec (-1: unthrottled, the default)\n"
            "  -X, --producer-props KEY=VALUE\n"
            "                             a producer property (repeatable)\n"
            "  -F, --producer.config FILE a file of producer properties\n"
            "  -h, --help                 this help\n"
            "\n"
            "-F and -X apply in the order given; -b and --acks take precedence over both.\n"
            "Exit status 1 when any record was not delivered.\n");
}

/* A run of perf produce: what was asked and what came of it. */
typedef struct perf_produce_run {
    const char *topic;
    uint64_t records;
    size_t record_bytes;
    int64_t throughput;        /* records/sec; -1: unthrottled */
    char *payload;             /* every record's value, lent to the producer */
    const char *acks;          /* --acks, or NULL */
    int64_t records_arg;       /* -n, -s: -1 until given */
    int64_t record_bytes_arg;
    cli_client_t client;
    perf_stats_t stats;
} perf_produce_run_t;

/* Each record's msg_opaque carries its send time, in microseconds after the
 * start, so that no table of send times is needed. */
static void on_perf_delivery(samsa_producer_t *p, const samsa_delivery_report_t *report,
                             void *opaque)
{
    perf_produce_run_t *run = opaque;
    int64_t now = now_us();
    if (report->err != SAMSA_ERR_NONE) {
        if (run->stats.failed++ < PRINTED_FAILURES_MAX)
            cli_print_delivery_failure(CMD_PRODUCE, report);
        return;
    }
    int64_t sent_us = run->stats.start_us + (int64_t)(uintptr_t)report->msg_opaque;
    stats_record(&run->stats, now - sent_us, report->value_len, now);
}

/* Serves reports until record number sent is due at the target rate. */
static void throttle(perf_produce_run_t *run, samsa_producer_t *p, uint64_t sent)
{
    int64_t due_us = run->stats.start_us + (int64_t)((double)sent * 1e6 / (double)run->throughput);
    for (;;) {
        int64_t now = now_us();
        if (now >= due_us || cli_interrupted())
            return;
        samsa_producer_poll(p, (int)((due_us - now + 999) / 1000));
    }
}

/* Sends the records, waits for every report and prints the total. Returns
 * the exit status. */
static int perf_produce_send(perf_produce_run_t *run, samsa_producer_t *p)
{
    perf_stats_t *s = &run->stats;
    uint64_t sent = 0;
    if (!stats_init(s, run->records))
        return cli_fail(CMD_PRODUCE, "out of memory");
    cli_catch_interrupts();
    for (; sent < run->records && !cli_interrupted(); sent++) {
        if (run->throughput > 0)
            throttle(run, p, sent);
        void *sent_at = (void *)(uintptr_t)(now_us() - s->start_us);
        samsa_err_t err;
        while ((err = samsa_producer_send(p, run->topic, -1, NULL, 0, run->payload,
                                          run->record_bytes, NULL, 0, 0, SAMSA_MSG_F_LEND,
                                          sent_at)) == SAMSA_ERR__QUEUE_FULL &&
               !cli_interrupted())
            samsa_producer_poll(p, 1);
        if (err) {
            if (s->failed++ < PRINTED_FAILURES_MAX)
                cli_fail(CMD_PRODUCE, "record %" PRIu64 " not sent: %s: %s", sent,
                         samsa_err_name(err), samsa_err_str(err));
        } else if (sent % 64 == 0) {
            samsa_producer_poll(p, 0);
        }
    }
    samsa_producer_flush(p, -1);
    stats_print_total(s, now_us());
    int status = CLI_EXIT_OK;
    if (cli_interrupted())
        status = cli_fail(CMD_PRODUCE, "interrupted after %" PRIu64 " of %" PRIu64 " records",
                          sent, run->records);
    if (s->failed)
        status = cli_fail(CMD_PRODUCE, "%" PRIu64 " of %" PRIu64 " records not delivered",
                          s->failed, sent);
    free(s->samples_us);
    return status;
}

static int perf_produce_option(void *ctx, const cli_args_t *a, int opt)
{
    perf_produce_run_t *run = ctx;
    int status;
    switch (opt) {
    case OPT_TOPIC:
        run->topic = a->value;
        return 0;
    case OPT_RECORDS:
        return cli_value_int64(a, 1, INT64_MAX / 2, &run->records_arg);
    case OPT_RECORD_SIZE:
        return cli_value_int64(a, 0, RECORD_SIZE_MAX, &run->record_bytes_arg);
    case OPT_ACKS:
        run->acks = a->value;
        return cli_value_choice(a, acks_values);
    case OPT_THROUGHPUT:
        if ((status = cli_value_int64(a, -1, INT64_MAX / 2, &run->throughput)))
            return status;
        if (run->throughput == 0)
            return cli_usage_error(a, "%s 0 would send nothing (-1: unthrottled)", a->flag);
        return 0;
    default:
        return cli_client_option(&run->client, a, opt);
    }
}

int cmd_perf_produce(int argc, char **argv)
{
    perf_produce_run_t run = {
        .topic = DEFAULT_TOPIC, .throughput = -1, .records_arg = -1, .record_bytes_arg = -1};
    cli_embedded_t embedded = {0};
    samsa_producer_t *p = NULL;
    cli_args_t a;
    int status = cli_client_init(&run.client, CMD_PRODUCE);
    if (status)
        return status;
    cli_args_init(&a, CMD_PRODUCE, perf_produce_opts, argc, argv);
    if ((status = cli_parse(&a, perf_produce_option, &run, perf_produce_usage)) != CLI_PARSED)
        goto done;
    if (run.records_arg < 0) {
        status = cli_usage_error(&a, "-n COUNT is required");
        goto done;
    }
    if (run.record_bytes_arg < 0) {
        status = cli_usage_error(&a, "-s SIZE is required");
        goto done;
    }
    run.records = (uint64_t)run.records_arg;
    run.record_bytes = (size_t)run.record_bytes_arg;
    a.flag = "--acks";
    if (run.acks && (status = cli_conf_set(&a, run.client.conf, "acks", run.acks)))
        goto done;
    if (run.client.bootstrap && strcmp(run.client.bootstrap, "embedded") == 0) {
        if ((status = cli_embedded_start(CMD_PRODUCE, &embedded)))
            goto done;
        run.client.bootstrap = cli_embedded_bootstrap(&embedded);
    }
    if ((status = cli_client_finish(&run.client, &a)))
        goto done;

    /* Random capital letters, as Kafka's tool sends. */
    run.payload = malloc(run.record_bytes ? run.record_bytes : 1);
    if (!run.payload) {
        status = cli_fail(CMD_PRODUCE, "out of memory");
        goto done;
    }
    unsigned seed = (unsigned)now_us();
    for (size_t i = 0; i < run.record_bytes; i++)
        run.payload[i] = (char)('A' + rand_r(&seed) % 26);

    p = cli_producer_new(CMD_PRODUCE, &run.client, on_perf_delivery, &run);
    status = p ? perf_produce_send(&run, p) : CLI_EXIT_FAIL;

done:
    samsa_producer_free(p);
    cli_client_free(&run.client);
    cli_embedded_stop(&embedded);
    free(run.payload);
    return status;
}
