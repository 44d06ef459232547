/*
 * cmd_produce.c: `samsa produce`: reads messages from standard input, one
 * per line (a key before the first key delimiter when -k is given), and
 * sends them to a topic with the same headers on each. Every failed
 * delivery is printed on stderr, and any message not delivered makes the
 * exit status 1.
 *
 * Standard input is read in large blocks and the producer batches as it
 * likes: nothing waits for a message's delivery before the next is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define CMD "samsa produce"

/* Standard input is read this many bytes at a time; a line may be longer
 * (the buffer grows) up to the cap. */
#define READ_BLOCK_BYTES (1u << 20)
#define LINE_MAX_BYTES ((size_t)1 << 30)

/* Polls for delivery reports (without waiting) after this many messages. */
#define POLL_EVERY_MESSAGES 256

enum {
    OPT_TOPIC = CLI_OPT_OWN,
    OPT_PARTITION,
    OPT_KEY_DELIMITER,
    OPT_HEADER,
    OPT_CODEC,
};

static const cli_opt_t produce_opts[] = {
    {CLI_OPT_BOOTSTRAP, 'b', "bootstrap-server", "HOST:PORT"},
    {OPT_TOPIC, 't', "topic", "TOPIC"},
    {OPT_PARTITION, 'p', "partition", "PARTITION"},
    {OPT_KEY_DELIMITER, 'k', "key-delimiter", "DELIM"},
    {OPT_KEY_DELIMITER, 'K', NULL, "DELIM"},
    {OPT_HEADER, 'H', "header", "NAME=VALUE"},
    {OPT_CODEC, 'z', "compression-codec", "CODEC"},
    {CLI_OPT_PROPERTY, 'X', "producer-property", "KEY=VALUE"},
    {CLI_OPT_PROPERTIES_FILE, 'F', "producer.config", "FILE"},
    {0, 0, NULL, NULL},
};

static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};

static void produce_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa produce -b HOST:PORT -t TOPIC [OPTIONS] < MESSAGES\n"
            "\n"
            "Sends each line of standard input to TOPIC as one message and waits until\n"
            "every one is delivered. A failed delivery is printed on stderr; the exit\n"
            "status is 1 when any message was not delivered.\n"
            "\n"
            "Options:\n"
            "  -b, --bootstrap-server HOST:PORT[,...]  brokers to start from\n"
            "  -t, --topic TOPIC          the topic\n"
            "  -p, --partition N          the partition (default -1: by key, or sticky)\n"
            "  -k, -K, --key-delimiter DELIM\n"
            "                             the key is what precedes the first DELIM in a line\n"
            "                             (a line without DELIM has a null key)\n"
            "  -H, --header NAME=VALUE    a header on every message (repeatable; NAME alone:\n"
            "                             a null value)\n"
            "  -z, --compression-codec CODEC\n"
            "                             none, gzip, snappy, lz4 or zstd (compression.type)\n"
            "  -X, --producer-property KEY=VALUE\n"
            "                             a producer property (repeatable): acks, linger.ms,\n"
            "                             batch.size, enable.idempotence, ...\n"
            "  -F, --producer.config FILE a file of producer properties\n"
            "  -h, --help                 this help\n"
            "\n"
            "-F and -X apply in the order given; -b and -z take precedence over both.\n");
}

/* Standard input, in blocks: lines are cut out of buf without copying. */
typedef struct line_reader {
    int fd;
    char *buf;
    size_t cap_bytes;
    size_t start;   /* the unread bytes are buf[start..end) */
    size_t end;
    size_t scanned; /* buf[start..scanned) holds no newline */
    bool eof;
} line_reader_t;

/* The next line, without its newline, in *line and *len; valid until the
 * next call. The last line needs no newline. Returns 1 for a line, 0 at the
 * end, -1 with errno on a read error, EINTR when interrupted by a signal,
 * EMSGSIZE for a line over LINE_MAX_BYTES, ENOMEM. */
static int line_next(line_reader_t *r, const char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->scanned, '\n', r->end - r->scanned);
        if (nl || (r->eof && r->start < r->end)) {
            size_t stop = nl ? (size_t)(nl - r->buf) : r->end;
            *line = r->buf + r->start;
            *len = stop - r->start;
            r->start = r->scanned = nl ? stop + 1 : stop;
            return 1;
        }
        r->scanned = r->end;
        if (r->eof)
            return 0;
        /* Keep the partial line, at the front; grow when it fills the buffer. */
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->scanned = r->end;
            r->start = 0;
        }
        if (r->end == r->cap_bytes) {
            if (r->cap_bytes >= LINE_MAX_BYTES) {
                errno = EMSGSIZE;
                return -1;
            }
            char *grown = realloc(r->buf, r->cap_bytes * 2);
            if (!grown) {
                errno = ENOMEM;
                return -1;
            }
            r->buf = grown;
            r->cap_bytes *= 2;
        }
        ssize_t n = read(r->fd, r->buf + r->end, r->cap_bytes - r->end);
        if (n < 0 && errno == EINTR && !cli_interrupted())
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
    }
}

/* What one run of the command was asked and what came of it. */
typedef struct produce_run {
    const char *topic;
    int32_t partition;
    const char *key_delimiter; /* NULL: no keys */
    size_t key_delimiter_len;
    samsa_header_t *headers;
    char **header_texts;       /* the copies headers[i].name points into */
    size_t header_count;
    const char *codec;         /* -z, or NULL */
    cli_client_t client;
    uint64_t lines;            /* messages read */
    uint64_t failed;           /* not queued, or reported failed */
} produce_run_t;

static void on_delivery(samsa_producer_t *p, const samsa_delivery_report_t *report, void *opaque)
{
    produce_run_t *run = opaque;
    if (report->err == SAMSA_ERR_NONE)
        return;
    run->failed++;
    cli_print_delivery_failure(CMD, report);
}

/* Adds the header "NAME=VALUE" (or "NAME": null value) of a->value. */
static int add_header(produce_run_t *run, const cli_args_t *a)
{
    if (a->value[0] == '=' || a->value[0] == '\0')
        return cli_usage_error(a, "%s \"%s\" has no name", a->flag, a->value);
    char *text = strdup(a->value);
    if (!text)
        return cli_fail(CMD, "out of memory");
    samsa_header_t *h = &run->headers[run->header_count];
    run->header_texts[run->header_count++] = text;
    h->name = text;
    char *eq = strchr(text, '=');
    if (eq) {
        *eq = '\0';
        h->value = eq + 1;
        h->value_len = strlen(eq + 1);
    }
    return 0;
}

/* Queues one line as a message, waiting for room while the queue is full. */
static void produce_line(produce_run_t *run, samsa_producer_t *p, const char *line, size_t len)
{
    samsa_produce_args_t args = {
        .topic = run->topic,
        .partition = run->partition,
        .value = line,
        .value_len = len,
        .headers = run->headers,
        .header_count = run->header_count,
    };
    const char *delim = run->key_delimiter
                            ? memmem(line, len, run->key_delimiter, run->key_delimiter_len)
                            : NULL;
    if (delim) {
        args.key = line;
        args.key_len = (size_t)(delim - line);
        args.value = delim + run->key_delimiter_len;
        args.value_len = len - args.key_len - run->key_delimiter_len;
    }
    samsa_err_t err;
    while ((err = samsa_producer_produce(p, &args)) == SAMSA_ERR__QUEUE_FULL && !cli_interrupted())
        samsa_producer_poll(p, 100);
    run->lines++;
    if (err) {
        run->failed++;
        fprintf(stderr, "%% " CMD ": line %" PRIu64 " not sent: %s: %s\n", run->lines,
                samsa_err_name(err), samsa_err_str(err));
    } else if (run->lines % POLL_EVERY_MESSAGES == 0) {
        samsa_producer_poll(p, 0);
    }
}

/* Sends standard input and waits for every report. Returns the exit status. */
static int produce_stdin(produce_run_t *run, samsa_producer_t *p)
{
    int status = CLI_EXIT_OK;
    line_reader_t reader = {.fd = STDIN_FILENO, .cap_bytes = READ_BLOCK_BYTES};
    reader.buf = malloc(reader.cap_bytes);
    if (!reader.buf)
        return cli_fail(CMD, "out of memory");
    cli_catch_interrupts();
    const char *line;
    size_t len;
    int got = 0;
    while (!cli_interrupted() && (got = line_next(&reader, &line, &len)) > 0)
        produce_line(run, p, line, len);
    if (cli_interrupted()) {
        status = cli_fail(CMD, "interrupted: delivering the %" PRIu64 " messages read", run->lines);
    } else if (got < 0) {
        status = cli_fail(CMD, "cannot read standard input after %" PRIu64 " lines: %s",
                          run->lines, strerror(errno));
    }
    free(reader.buf);
    samsa_producer_flush(p, -1);
    if (run->failed) {
        status = cli_fail(CMD, "%" PRIu64 " of %" PRIu64 " messages not delivered", run->failed,
                          run->lines);
    }
    return status;
}

static int produce_option(void *ctx, const cli_args_t *a, int opt)
{
    produce_run_t *run = ctx;
    int64_t number;
    int status;
    switch (opt) {
    case CLI_OPERAND:
        return cli_usage_error(a, "unexpected argument %s (messages come from stdin)", a->value);
    case OPT_TOPIC:
        run->topic = a->value;
        return 0;
    case OPT_PARTITION:
        if ((status = cli_value_int64(a, -1, INT32_MAX, &number)))
            return status;
        run->partition = (int32_t)number;
        return 0;
    case OPT_KEY_DELIMITER:
        if (!a->value[0])
            return cli_usage_error(a, "%s: the key delimiter is empty", a->flag);
        run->key_delimiter = a->value;
        run->key_delimiter_len = strlen(a->value);
        return 0;
    case OPT_HEADER:
        return add_header(run, a);
    case OPT_CODEC:
        run->codec = a->value;
        return cli_value_choice(a, codecs);
    default:
        return cli_client_option(&run->client, a, opt);
    }
}

int cmd_produce(int argc, char **argv)
{
    produce_run_t run = {.partition = -1};
    samsa_producer_t *p = NULL;
    cli_args_t a;
    int status = cli_client_init(&run.client, CMD);
    if (status)
        return status;
    run.headers = calloc((size_t)argc + 1, sizeof(*run.headers));
    run.header_texts = calloc((size_t)argc + 1, sizeof(*run.header_texts));
    if (!run.headers || !run.header_texts) {
        status = cli_fail(CMD, "out of memory");
        goto done;
    }
    cli_args_init(&a, CMD, produce_opts, argc, argv);
    if ((status = cli_parse(&a, produce_option, &run, produce_usage)) != CLI_PARSED)
        goto done;
    if (!run.topic) {
        status = cli_usage_error(&a, "-t TOPIC is required");
        goto done;
    }
    if ((status = cli_client_finish(&run.client, &a)))
        goto done;
    a.flag = "-z";
    if (run.codec &&
        (status = cli_conf_set(&a, run.client.conf, "compression.type", run.codec)))
        goto done;

    p = cli_producer_new(CMD, &run.client, on_delivery, &run);
    status = p ? produce_stdin(&run, p) : CLI_EXIT_FAIL;

done:
    samsa_producer_free(p);
    cli_client_free(&run.client);
    for (size_t i = 0; i < run.header_count; i++)
        free(run.header_texts[i]);
    free(run.header_texts);
    free(run.headers);
    return status;
}
