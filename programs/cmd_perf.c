/*
 * cmd_perf.c: `samsa perf TEST`, benchmarks that print what Apache Kafka's
 * own perf tools print, so that numbers compare line for line.
 * `samsa perf produce` is kafka-producer-perf-test: COUNT records of SIZE
 * random capital letters, optionally throttled, each one's latency
 * measured from the send to its delivery report; a progress line every
 * PROGRESS_INTERVAL_US and a total line with percentiles at the end.
 * `samsa perf consume` is kafka-consumer-perf-test: a group member reads
 * COUNT records, printing its detailed progress line every reporting
 * interval and its summary line at the end.
 *
 * `-b embedded` runs the broker inside the process (common.h), which
 * measures the client and the broker without a network hop in between.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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
    {"consume", cmd_perf_consume, "-b HOST:PORT|embedded -n COUNT [-t TOPIC] [-g GROUP]",
     "read COUNT records as a group member; print the throughput"},
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

/* ---- perf consume ---- */

#define CMD_CONSUME "samsa perf consume"

/* kafka-consumer-perf-test's defaults: a progress line every 5 s, and at
 * most 10 s without a record before giving up. */
#define DEFAULT_REPORTING_INTERVAL_MS 5000
#define DEFAULT_RECORD_TIMEOUT_MS 10000
#define DEFAULT_FILL_RECORD_BYTES 100
#define CONSUME_POLL_MS 100
/* How long joining the group may take. */
#define JOIN_TIMEOUT_MS 60000

enum {
    OPT_C_TOPIC = CLI_OPT_OWN,
    OPT_C_RECORDS,
    OPT_C_GROUP,
    OPT_C_RECORD_SIZE,
    OPT_C_REPORTING_INTERVAL,
    OPT_C_TIMEOUT,
    OPT_C_HIDE_HEADER,
};

static const cli_opt_t perf_consume_opts[] = {
    {CLI_OPT_BOOTSTRAP, 'b', "bootstrap-server", "HOST:PORT|embedded"},
    {OPT_C_TOPIC, 't', "topic", "TOPIC"},
    {OPT_C_RECORDS, 'n', "num-records", "COUNT"},
    {OPT_C_GROUP, 'g', "group", "GROUP"},
    {OPT_C_RECORD_SIZE, 's', "record-size", "SIZE"},
    {OPT_C_REPORTING_INTERVAL, 0, "reporting-interval", "MS"},
    {OPT_C_TIMEOUT, 0, "timeout", "MS"},
    {OPT_C_HIDE_HEADER, 0, "hide-header", NULL},
    {CLI_OPT_PROPERTY, 'X', "command-property", "KEY=VALUE"},
    {CLI_OPT_PROPERTIES_FILE, 'F', "command-config", "FILE"},
    {0, 0, NULL, NULL},
};

static void perf_consume_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa perf consume -b HOST:PORT|embedded -n COUNT [OPTIONS]\n"
            "\n"
            "Reads COUNT records of TOPIC from the beginning as a member of a consumer\n"
            "group and prints on stdout what kafka-consumer-perf-test prints: every\n"
            "reporting interval its detailed progress line (after the header \"time,\n"
            "threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,\n"
            "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\"), and at the\n"
            "end the header \"start.time, end.time, data.consumed.in.MB, MB.sec,\n"
            "data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms,\n"
            "fetch.MB.sec, fetch.nMsg.sec\" and the summary line. MB is 1048576 bytes of\n"
            "keys and values; rebalance.time.ms is the time until the group assigned the\n"
            "partitions and fetch.time.ms the rest.\n"
            "\n"
            "Options:\n"
            "  -b, --bootstrap-server HOST:PORT[,...]|embedded\n"
            "                             brokers; \"embedded\" runs one in this process\n"
            "                             (127.0.0.1, a temporary directory removed after)\n"
            "                             and first fills TOPIC with COUNT records of SIZE\n"
            "                             random capital letters (not measured)\n"
            "  -t, --topic TOPIC          the topic (default " DEFAULT_TOPIC ")\n"
            "  -n, --num-records COUNT    how many records to read\n"
            "  -g, --group GROUP          the group (default perf-consumer-N, N random)\n"
            "  -s, --record-size SIZE     -b embedded: bytes per record (default %d)\n"
            "  --reporting-interval MS    a progress line every MS (default %d)\n"
            "  --timeout MS               give up after MS without a record once the group\n"
            "                             assigned the partitions (default %d; joining may\n"
            "                             take up to %d ms)\n"
            "  --hide-header              print no header lines\n"
            "  -X, --command-property KEY=VALUE\n"
            "                             a consumer property (repeatable)\n"
            "  -F, --command-config FILE  a file of consumer properties\n"
            "  -h, --help                 this help\n"
            "\n"
            "-F and -X apply in the order given; -b and -g take precedence over both.\n"
            "Exit status 1 when fewer than COUNT records came (the summary is printed).\n",
            DEFAULT_FILL_RECORD_BYTES, DEFAULT_REPORTING_INTERVAL_MS, DEFAULT_RECORD_TIMEOUT_MS,
            JOIN_TIMEOUT_MS);
}

typedef struct perf_consume_run {
    const char *topic;
    const char *group;
    char group_buf[64];
    int64_t records;
    int64_t fill_record_bytes;
    int64_t reporting_interval_ms;
    int64_t timeout_ms;
    bool hide_header;
    cli_client_t client;
    int64_t start_ms;          /* wall clock, as Kafka's tool reports */
    int64_t assigned_ms;       /* when the first assignment came; 0 until then */
    uint64_t messages;
    uint64_t bytes;
    uint64_t errors;
    int64_t window_start_ms;
    uint64_t window_messages;
    uint64_t window_bytes;
    bool progress_header_done;
} perf_consume_run_t;

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Prints ms since the epoch as Kafka's tool does: yyyy-MM-dd HH:mm:ss:SSS,
 * local time. */
static void print_time(int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char text[64];
    localtime_r(&secs, &tm);
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s:%03d", text, (int)(ms % 1000));
}

static double per_second(double amount, int64_t ms)
{
    return ms > 0 ? amount * 1000.0 / (double)ms : 0.0;
}

#define MB(bytes) ((double)(bytes) / (1024.0 * 1024.0))

static void on_perf_rebalance(samsa_consumer_t *c, int assigned,
                              const samsa_partition_list_t *partitions, void *opaque)
{
    perf_consume_run_t *run = opaque;
    if (assigned && !run->assigned_ms)
        run->assigned_ms = wall_ms();
}

/* The time the group took to assign partitions, in ms (so far). */
static int64_t rebalance_ms(const perf_consume_run_t *run, int64_t now)
{
    return (run->assigned_ms ? run->assigned_ms : now) - run->start_ms;
}

/* kafka-consumer-perf-test's --show-detailed-stats line for the window
 * that ends now; the rebalance time counts in the window it fell in. */
static void print_consume_progress(perf_consume_run_t *run, int64_t now)
{
    if (!run->progress_header_done && !run->hide_header)
        printf("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
               "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    run->progress_header_done = true;
    int64_t elapsed = now - run->window_start_ms;
    /* The part of the window spent before the first assignment. */
    int64_t joined_until = run->assigned_ms ? run->assigned_ms : now;
    int64_t joined = (joined_until < now ? joined_until : now) -
                     (run->window_start_ms > run->start_ms ? run->window_start_ms : run->start_ms);
    if (joined < 0)
        joined = 0;
    int64_t fetch_ms = elapsed - joined;
    print_time(now);
    printf(", 0, %.4f, %.4f, %" PRIu64 ", %.4f, %" PRId64 ", %" PRId64 ", %.4f, %.4f\n",
           MB(run->bytes), per_second(MB(run->window_bytes), elapsed), run->messages,
           per_second((double)run->window_messages, elapsed), joined, fetch_ms,
           per_second(MB(run->window_bytes), fetch_ms),
           per_second((double)run->window_messages, fetch_ms));
    fflush(stdout);
    run->window_start_ms = now;
    run->window_messages = 0;
    run->window_bytes = 0;
}

static void print_consume_summary(const perf_consume_run_t *run, int64_t end_ms)
{
    if (!run->hide_header)
        printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
               "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    int64_t elapsed = end_ms - run->start_ms;
    int64_t joined = rebalance_ms(run, end_ms);
    int64_t fetch_ms = elapsed - joined;
    print_time(run->start_ms);
    printf(", ");
    print_time(end_ms);
    printf(", %.4f, %.4f, %" PRIu64 ", %.4f, %" PRId64 ", %" PRId64 ", %.4f, %.4f\n",
           MB(run->bytes), per_second(MB(run->bytes), elapsed), run->messages,
           per_second((double)run->messages, elapsed), joined, fetch_ms,
           per_second(MB(run->bytes), fetch_ms), per_second((double)run->messages, fetch_ms));
    fflush(stdout);
}

/* Reads until COUNT records, the timeout or an interruption; prints the
 * progress and the summary. Returns the exit status. */
static int perf_consume_read(perf_consume_run_t *run, samsa_consumer_t *c)
{
    cli_catch_interrupts();
    int64_t last_record_ms = 0; /* 0: none yet */
    bool timed_out = false, join_timed_out = false;
    while (run->messages < (uint64_t)run->records && !cli_interrupted()) {
        samsa_message_t *m = samsa_consumer_poll(c, CONSUME_POLL_MS);
        int64_t now = wall_ms();
        if (m && m->err) {
            if (run->errors++ < PRINTED_FAILURES_MAX)
                cli_fail(CMD_CONSUME, "%s", cli_why(m->err, m->errstr));
        } else if (m) {
            size_t bytes = m->key_len + m->value_len;
            run->messages++;
            run->bytes += bytes;
            run->window_messages++;
            run->window_bytes += bytes;
            last_record_ms = now;
        }
        samsa_message_free(m);
        if (now - run->window_start_ms >= run->reporting_interval_ms)
            print_consume_progress(run, now);
        /* The timeout runs from the first assignment; joining has its own. */
        int64_t since = last_record_ms ? last_record_ms : run->assigned_ms;
        if (!m && since && now - since > run->timeout_ms) {
            timed_out = true;
            break;
        }
        if (!run->assigned_ms && now - run->start_ms > JOIN_TIMEOUT_MS) {
            join_timed_out = true;
            break;
        }
    }
    int64_t end_ms = wall_ms();
    print_consume_summary(run, end_ms);
    if (join_timed_out)
        return cli_fail(CMD_CONSUME, "the group assigned no partition within %d ms",
                        JOIN_TIMEOUT_MS);
    if (timed_out)
        return cli_fail(CMD_CONSUME, "%" PRIu64 " of %" PRId64 " records: no record for %" PRId64
                        " ms (--timeout)", run->messages, run->records, run->timeout_ms);
    if (cli_interrupted())
        return cli_fail(CMD_CONSUME, "interrupted after %" PRIu64 " of %" PRId64 " records",
                        run->messages, run->records);
    if (run->errors)
        return cli_fail(CMD_CONSUME, "%" PRIu64 " errors while consuming", run->errors);
    return CLI_EXIT_OK;
}

static void on_fill_delivery(samsa_producer_t *p, const samsa_delivery_report_t *report,
                             void *opaque)
{
    uint64_t *failed = opaque;
    if (report->err != SAMSA_ERR_NONE && (*failed)++ < PRINTED_FAILURES_MAX)
        cli_print_delivery_failure(CMD_CONSUME, report);
}

/* -b embedded: writes the records to be read, unmeasured. */
static int fill_topic(perf_consume_run_t *run)
{
    cli_client_t producer_client = {cli_connection_conf(run->client.conf), NULL};
    uint64_t failed = 0;
    size_t size = (size_t)run->fill_record_bytes;
    char *payload = malloc(size ? size : 1);
    samsa_producer_t *p = NULL;
    int status = CLI_EXIT_OK;
    if (!producer_client.conf || !payload) {
        status = cli_fail(CMD_CONSUME, "out of memory");
        goto done;
    }
    unsigned seed = (unsigned)now_us();
    for (size_t i = 0; i < size; i++)
        payload[i] = (char)('A' + rand_r(&seed) % 26);
    p = cli_producer_new(CMD_CONSUME, &producer_client, on_fill_delivery, &failed);
    if (!p) {
        status = CLI_EXIT_FAIL;
        goto done;
    }
    for (int64_t i = 0; i < run->records && !failed; i++) {
        samsa_err_t err;
        while ((err = samsa_producer_send(p, run->topic, -1, NULL, 0, payload, size, NULL, 0, 0,
                                          SAMSA_MSG_F_LEND, NULL)) == SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 1);
        if (err) {
            status = cli_fail(CMD_CONSUME, "filling %s: %s", run->topic, samsa_err_str(err));
            break;
        }
    }
    samsa_producer_flush(p, -1);
    if (failed)
        status = cli_fail(CMD_CONSUME, "filling %s: %" PRIu64 " records not delivered",
                          run->topic, failed);
done:
    samsa_producer_free(p);
    cli_client_free(&producer_client);
    free(payload);
    return status;
}

static int perf_consume_option(void *ctx, const cli_args_t *a, int opt)
{
    perf_consume_run_t *run = ctx;
    switch (opt) {
    case OPT_C_TOPIC:
        run->topic = a->value;
        return 0;
    case OPT_C_RECORDS:
        return cli_value_int64(a, 1, INT64_MAX / 2, &run->records);
    case OPT_C_GROUP:
        if (!a->value[0])
            return cli_usage_error(a, "%s: the group id is empty", a->flag);
        run->group = a->value;
        return 0;
    case OPT_C_RECORD_SIZE:
        return cli_value_int64(a, 0, RECORD_SIZE_MAX, &run->fill_record_bytes);
    case OPT_C_REPORTING_INTERVAL:
        return cli_value_int64(a, 1, INT32_MAX, &run->reporting_interval_ms);
    case OPT_C_TIMEOUT:
        return cli_value_int64(a, 1, INT32_MAX, &run->timeout_ms);
    case OPT_C_HIDE_HEADER:
        run->hide_header = true;
        return 0;
    default:
        return cli_client_option(&run->client, a, opt);
    }
}

int cmd_perf_consume(int argc, char **argv)
{
    perf_consume_run_t run = {
        .topic = DEFAULT_TOPIC,
        .records = -1,
        .fill_record_bytes = -1,
        .reporting_interval_ms = DEFAULT_REPORTING_INTERVAL_MS,
        .timeout_ms = DEFAULT_RECORD_TIMEOUT_MS,
    };
    cli_embedded_t embedded = {0};
    samsa_consumer_t *c = NULL;
    cli_args_t a;
    int status = cli_client_init(&run.client, CMD_CONSUME);
    if (status)
        return status;
    cli_args_init(&a, CMD_CONSUME, perf_consume_opts, argc, argv);
    if ((status = cli_parse(&a, perf_consume_option, &run, perf_consume_usage)) != CLI_PARSED)
        goto done;
    if (run.records < 0) {
        status = cli_usage_error(&a, "-n COUNT is required");
        goto done;
    }
    bool is_embedded = run.client.bootstrap && strcmp(run.client.bootstrap, "embedded") == 0;
    if (run.fill_record_bytes >= 0 && !is_embedded) {
        status = cli_usage_error(&a, "-s SIZE goes with -b embedded only");
        goto done;
    }
    if (run.fill_record_bytes < 0)
        run.fill_record_bytes = DEFAULT_FILL_RECORD_BYTES;
    if (!run.group) {
        unsigned seed = (unsigned)now_us() ^ (unsigned)getpid();
        snprintf(run.group_buf, sizeof(run.group_buf), "perf-consumer-%u",
                 rand_r(&seed) % 100000);
        run.group = run.group_buf;
    }
    if (is_embedded) {
        if ((status = cli_embedded_start(CMD_CONSUME, &embedded)))
            goto done;
        run.client.bootstrap = cli_embedded_bootstrap(&embedded);
    }
    if ((status = cli_client_finish(&run.client, &a)))
        goto done;
    a.flag = "-g";
    if ((status = cli_conf_set(&a, run.client.conf, "group.id", run.group)))
        goto done;
    if (!samsa_conf_get(run.client.conf, "auto.offset.reset") &&
        (status = cli_conf_set(&a, run.client.conf, "auto.offset.reset", "earliest")))
        goto done;
    if (!samsa_conf_get(run.client.conf, "client.id") &&
        (status = cli_conf_set(&a, run.client.conf, "client.id", "perf-consumer-client")))
        goto done;
    if (is_embedded && (status = fill_topic(&run)))
        goto done;

    samsa_consumer_callbacks_t callbacks = {.rebalance = on_perf_rebalance, .opaque = &run};
    run.start_ms = run.window_start_ms = wall_ms();
    c = cli_consumer_new(CMD_CONSUME, &run.client, &callbacks);
    if (!c) {
        status = CLI_EXIT_FAIL;
        goto done;
    }
    samsa_err_t err = samsa_consumer_subscribe(c, &run.topic, 1);
    if (err) {
        status = cli_fail(CMD_CONSUME, "cannot subscribe to %s: %s", run.topic,
                          samsa_err_str(err));
        goto done;
    }
    status = perf_consume_read(&run, c);

done:
    samsa_consumer_free(c);
    cli_client_free(&run.client);
    cli_embedded_stop(&embedded);
    return status;
}
