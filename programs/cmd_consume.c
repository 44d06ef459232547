/*
 * cmd_consume.c: `samsa consume`, which prints the messages of a topic on
 * standard output as kcat -C does: through a format of kcat's %-tokens, or
 * as one JSON object per message with kcat's field names. It reads every
 * partition (or one, -p) from where -o says, or joins a consumer group
 * (-g); with -e it stops once it has read up to the high watermark every
 * assigned partition had when it was assigned, with -c after COUNT
 * messages.
 *
 * The consumer does the reading; an admin client beside it looks up the
 * topic's partitions and leaders and the offsets -o and -e need.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CMD "samsa consume"

/* Admin look-ups wait this long at most, unless request.timeout.ms says. */
#define DEFAULT_LOOKUP_TIMEOUT_MS 30000
/* Each poll waits this long, so that interruptions are noticed. */
#define POLL_MS 100

enum {
    OPT_TOPIC = CLI_OPT_OWN,
    OPT_GROUP,
    OPT_PARTITION,
    OPT_OFFSET,
    OPT_COUNT,
    OPT_EXIT,
    OPT_FORMAT,
    OPT_JSON,
    OPT_QUIET,
};

static const cli_opt_t consume_opts[] = {
    {CLI_OPT_BOOTSTRAP, 'b', "bootstrap-server", "HOST:PORT"},
    {OPT_TOPIC, 't', "topic", "TOPIC"},
    {OPT_GROUP, 'g', "group", "GROUP"},
    {OPT_GROUP, 'G', NULL, "GROUP"},
    {OPT_PARTITION, 'p', "partition", "PARTITION"},
    {OPT_OFFSET, 'o', "offset", "OFFSET"},
    {OPT_COUNT, 'c', "max-messages", "COUNT"},
    {OPT_EXIT, 'e', "exit", NULL},
    {OPT_FORMAT, 'f', "format", "FORMAT"},
    {OPT_JSON, 'J', "json", NULL},
    {OPT_QUIET, 'q', "quiet", NULL},
    {CLI_OPT_PROPERTY, 'X', "consumer-property", "KEY=VALUE"},
    {CLI_OPT_PROPERTIES_FILE, 'F', "consumer.config", "FILE"},
    {0, 0, NULL, NULL},
};

static void consume_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa consume -b HOST:PORT -t TOPIC [OPTIONS]\n"
            "\n"
            "Prints the messages of TOPIC on standard output, by default each value\n"
            "followed by a newline. Without -g it reads every partition (or -p's);\n"
            "with -g it joins the consumer group GROUP and reads what the group assigns.\n"
            "\n"
            "Options:\n"
            "  -b, --bootstrap-server HOST:PORT[,...]  brokers to start from\n"
            "  -t, --topic TOPIC          the topic\n"
            "  -g, -G, --group GROUP      consume as a member of GROUP (commits offsets)\n"
            "  -p, --partition N          only partition N (not with -g)\n"
            "  -o, --offset OFFSET        where to start in each partition:\n"
            "                               beginning  the first message (default without -g)\n"
            "                               end        after the last message\n"
            "                               stored     the group's committed offset (default\n"
            "                                          with -g; else auto.offset.reset, which\n"
            "                                          is earliest unless -X sets it)\n"
            "                               N          offset N\n"
            "                               -N         N messages before the end\n"
            "                               @MS        the first message with a timestamp\n"
            "                                          at or after MS (ms since the epoch)\n"
            "  -c, --max-messages COUNT   exit after COUNT messages\n"
            "  -e, --exit                 exit at the end of the partitions: once every\n"
            "                             assigned partition was read up to the high\n"
            "                             watermark it had when assigned\n"
            "  -f, --format FORMAT        print each message as FORMAT (kcat's tokens):\n"
            "                               %%t topic  %%p partition  %%o offset  %%k key\n"
            "                               %%s value  %%S value length  %%K key length\n"
            "                               %%T timestamp (ms)  %%h headers (n=v,...)  %%%% %%\n"
            "                             and the escapes \\n \\r \\t \\\\; lengths are -1\n"
            "                             for a null key or value\n"
            "  -J, --json                 print each message as a JSON object, one a line:\n"
            "                             topic, partition, offset, tstype, ts, broker,\n"
            "                             headers, key, payload (as kcat -J)\n"
            "  -q, --quiet                no \"%% reached the end\" lines on stderr\n"
            "  -X, --consumer-property KEY=VALUE\n"
            "                             a consumer property (repeatable)\n"
            "  -F, --consumer.config FILE a file of consumer properties\n"
            "  -h, --help                 this help\n"
            "\n"
            "-F and -X apply in the order given; -b and -g take precedence over both.\n"
            "request.timeout.ms also bounds the look-ups of partitions and offsets\n"
            "(default 30000 ms).\n"
            "Exit status 0 when what was asked was printed (or on SIGINT without -e\n"
            "and -c), 1 when something failed or the consumer reported an error.\n");
}

/* ---- the output format ---- */

/* One piece of a compiled -f format: literal text, or a token. */
typedef struct fmt_piece {
    char token;       /* 0: text */
    const char *text; /* into the format's copy */
    size_t len;
} fmt_piece_t;

typedef struct fmt {
    char *text;       /* the format with escapes resolved */
    fmt_piece_t *pieces;
    size_t count;
} fmt_t;

static const char fmt_tokens[] = "tpokSsKTh";

/* Compiles the -f value of a into f. Returns 0, or CLI_EXIT_USAGE naming
 * an unknown token. */
static int fmt_compile(fmt_t *f, const cli_args_t *a)
{
    size_t len = strlen(a->value);
    f->text = malloc(len + 1);
    f->pieces = calloc(len + 1, sizeof(*f->pieces));
    if (!f->text || !f->pieces)
        return cli_fail(CMD, "out of memory");
    char *w = f->text;
    for (const char *s = a->value; *s; s++) {
        fmt_piece_t *last = f->count ? &f->pieces[f->count - 1] : NULL;
        char c = *s;
        if (c == '%') {
            if (s[1] == '\0')
                return cli_usage_error(a, "%s: the format ends with a lone %%", a->flag);
            if (!strchr(fmt_tokens, s[1]) && s[1] != '%')
                return cli_usage_error(a, "%s: unknown token %%%c in \"%s\"", a->flag, s[1],
                                       a->value);
            c = *++s;
            if (c != '%') {
                f->pieces[f->count++] = (fmt_piece_t){c, NULL, 0};
                continue;
            }
        } else if (c == '\\' && s[1]) {
            c = *++s;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
        if (!last || last->token)
            f->pieces[f->count++] = (fmt_piece_t){0, w, 0};
        *w++ = c;
        f->pieces[f->count - 1].len++;
    }
    return 0;
}

static void fmt_free(fmt_t *f)
{
    free(f->text);
    free(f->pieces);
}

static void print_length(const void *p, size_t len)
{
    if (p)
        printf("%zu", len);
    else
        fputs("-1", stdout);
}

static void print_headers(const samsa_message_t *m)
{
    for (size_t i = 0; i < m->header_count; i++) {
        const samsa_header_t *h = &m->headers[i];
        printf("%s%s=", i ? "," : "", h->name);
        if (h->value)
            fwrite(h->value, 1, h->value_len, stdout);
        else
            fputs("NULL", stdout);
    }
}

static void print_formatted(const fmt_t *f, const samsa_message_t *m)
{
    for (size_t i = 0; i < f->count; i++) {
        const fmt_piece_t *p = &f->pieces[i];
        switch (p->token) {
        case 0:
            fwrite(p->text, 1, p->len, stdout);
            break;
        case 't':
            fputs(m->topic, stdout);
            break;
        case 'p':
            printf("%" PRId32, m->partition);
            break;
        case 'o':
            printf("%" PRId64, m->offset);
            break;
        case 'k':
            if (m->key)
                fwrite(m->key, 1, m->key_len, stdout);
            break;
        case 's':
            if (m->value)
                fwrite(m->value, 1, m->value_len, stdout);
            break;
        case 'K':
            print_length(m->key, m->key_len);
            break;
        case 'S':
            print_length(m->value, m->value_len);
            break;
        case 'T':
            printf("%" PRId64, m->timestamp_ms);
            break;
        default: /* 'h' */
            print_headers(m);
            break;
        }
    }
}

/* ---- JSON ---- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t min, cp;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, min = 0x80, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, min = 0x800, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Prints bytes as a JSON string (null for NULL): quotes, backslashes and
 * control characters escaped, valid UTF-8 as is, and each byte that is not
 * part of valid UTF-8 as U+FFFD. */
static void print_json_string(const void *bytes, size_t len)
{
    if (!bytes) {
        fputs("null", stdout);
        return;
    }
    const unsigned char *s = bytes;
    putchar('"');
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            putchar('\\');
            putchar(c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c == '\r') {
            fputs("\\r", stdout);
        } else if (c == '\t') {
            fputs("\\t", stdout);
        } else if (c < 0x20 || c == 0x7f) {
            printf("\\u%04x", c);
        } else if (c >= 0x80) {
            size_t n = utf8_sequence(s + i, len - i);
            if (n) {
                fwrite(s + i, 1, n, stdout);
                i += n;
                continue;
            }
            fputs("\\ufffd", stdout);
        } else {
            putchar(c);
        }
        i++;
    }
    putchar('"');
}

static void print_json(const samsa_message_t *m, int32_t broker)
{
    fputs("{\"topic\":", stdout);
    print_json_string(m->topic, strlen(m->topic));
    const char *tstype = m->timestamp_ms < 0                                 ? "unknown"
                         : m->timestamp_type == SAMSA_TIMESTAMP_LOG_APPEND_TIME ? "logappend"
                                                                               : "create";
    printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"tstype\":\"%s\",\"ts\":%" PRId64
           ",\"broker\":%" PRId32,
           m->partition, m->offset, tstype, m->timestamp_ms, broker);
    if (m->header_count) {
        fputs(",\"headers\":[", stdout);
        for (size_t i = 0; i < m->header_count; i++) {
            if (i)
                putchar(',');
            print_json_string(m->headers[i].name, strlen(m->headers[i].name));
            putchar(',');
            print_json_string(m->headers[i].value, m->headers[i].value_len);
        }
        putchar(']');
    }
    fputs(",\"key\":", stdout);
    print_json_string(m->key, m->key_len);
    fputs(",\"payload\":", stdout);
    print_json_string(m->value, m->value_len);
    fputs("}\n", stdout);
}

/* ---- where to start ---- */

typedef enum start_kind {
    START_BEGINNING,
    START_END,
    START_STORED,
    START_OFFSET,   /* value */
    START_TAIL,     /* value messages before the end */
    START_TIME,     /* value: a timestamp in ms */
} start_kind_t;

/* What is known of one partition of the topic. */
typedef struct part_state {
    int32_t leader;    /* from the metadata at start; -1 unknown */
    bool assigned;
    bool done;         /* -e: read up to end_offset */
    int64_t end_offset; /* -e: the high watermark when assigned */
} part_state_t;

typedef struct consume_run {
    const char *topic;
    const char *group;
    int64_t partition;        /* -1: all */
    start_kind_t start;
    bool start_given;
    int64_t start_value;
    int64_t max_messages;     /* 0: no limit */
    bool exit_at_end;
    bool json;
    bool quiet;
    const char *format_flag;  /* -f as written, or NULL */
    fmt_t format;
    cli_client_t client;
    int lookup_timeout_ms;
    samsa_admin_t *admin;
    samsa_consumer_t *consumer;
    part_state_t *parts;      /* by partition number */
    size_t part_count;
    bool assignment_known;    /* -g: the first assignment arrived */
    uint64_t printed;
    uint64_t errors;
    int status;               /* a failure in a callback */
} consume_run_t;

/* Parses the -o value. */
static int parse_start(consume_run_t *run, const cli_args_t *a)
{
    static const struct {
        const char *name;
        start_kind_t kind;
    } names[] = {{"beginning", START_BEGINNING}, {"end", START_END}, {"stored", START_STORED}};
    run->start_given = true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(a->value, names[i].name) == 0) {
            run->start = names[i].kind;
            return 0;
        }
    const char *digits = a->value;
    run->start = START_OFFSET;
    if (*digits == '-' || *digits == '@') {
        run->start = *digits == '-' ? START_TAIL : START_TIME;
        digits++;
    }
    char *end = NULL;
    errno = 0;
    long long v = *digits >= '0' && *digits <= '9' ? strtoll(digits, &end, 10) : -1;
    if (v < 0 || errno || *end || (run->start == START_TAIL && v == 0))
        return cli_usage_error(a, "%s: \"%s\" is not beginning, end, stored, N, -N or @MS",
                               a->flag, a->value);
    run->start_value = v;
    return 0;
}

/* For n partitions of the topic: the offset to assign (or seek to) in
 * start[i] (when start is not NULL) and the high watermark in end[i] (when
 * end is not NULL). Returns 0, or CLI_EXIT_FAIL after a message. */
static int lookup_offsets(consume_run_t *run, const int32_t *partitions, size_t n,
                          int64_t *start, int64_t *end)
{
    samsa_partition_offset_t *specs = calloc(n * 3 + 1, sizeof(*specs));
    samsa_offset_result_t *results = NULL;
    int status = CLI_EXIT_OK;
    if (!specs)
        return cli_fail(CMD, "out of memory");
    bool want_latest = end || (start && run->start == START_TAIL);
    bool want_earliest = start && run->start == START_TAIL;
    bool want_time = start && run->start == START_TIME;
    size_t per = (size_t)want_latest + (size_t)want_earliest + (size_t)want_time;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (want_latest)
            specs[count++] = (samsa_partition_offset_t){run->topic, partitions[i],
                                                        SAMSA_OFFSET_SPEC_LATEST};
        if (want_earliest)
            specs[count++] = (samsa_partition_offset_t){run->topic, partitions[i],
                                                        SAMSA_OFFSET_SPEC_EARLIEST};
        if (want_time)
            specs[count++] = (samsa_partition_offset_t){run->topic, partitions[i],
                                                        run->start_value};
    }
    samsa_err_t err = count ? samsa_admin_list_offsets(run->admin, specs, count,
                                                       run->lookup_timeout_ms, &results)
                            : SAMSA_ERR_NONE;
    if (err) {
        status = cli_admin_fail(CMD, "cannot look up offsets", err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const samsa_offset_result_t *r = results ? &results[i * per] : NULL;
        for (size_t j = 0; j < per; j++)
            if (r[j].err) {
                status = cli_fail(CMD, "offsets of %s [%" PRId32 "]: %s", run->topic,
                                  partitions[i], cli_why(r[j].err, r[j].errstr));
                goto done;
            }
        size_t k = 0;
        int64_t latest = want_latest ? r[k++].offset : -1;
        int64_t earliest = want_earliest ? r[k++].offset : -1;
        int64_t at_time = want_time ? r[k++].offset : -1;
        if (end)
            end[i] = latest;
        if (!start)
            continue;
        switch (run->start) {
        case START_BEGINNING:
            start[i] = SAMSA_OFFSET_BEGINNING;
            break;
        case START_END:
            start[i] = SAMSA_OFFSET_END;
            break;
        case START_STORED:
            start[i] = -1;
            break;
        case START_OFFSET:
            start[i] = run->start_value;
            break;
        case START_TAIL:
            start[i] = latest - run->start_value > earliest ? latest - run->start_value
                                                            : earliest;
            break;
        default: /* START_TIME: no message that late is the end */
            start[i] = at_time >= 0 ? at_time : SAMSA_OFFSET_END;
            break;
        }
    }
done:
    samsa_offset_results_free(results);
    free(specs);
    return status;
}

/* Marks n partitions assigned and notes their high watermarks for -e. */
static void track_partitions(consume_run_t *run, const int32_t *partitions, size_t n,
                             const int64_t *end)
{
    for (size_t i = 0; i < n; i++) {
        if (partitions[i] < 0 || (size_t)partitions[i] >= run->part_count)
            continue; /* added after the start: not waited for */
        part_state_t *p = &run->parts[partitions[i]];
        p->assigned = true;
        p->done = false;
        p->end_offset = end ? end[i] : -1;
    }
}

/* -g: seeks newly assigned partitions where -o says and tracks them. */
static void on_rebalance(samsa_consumer_t *c, int assigned,
                         const samsa_partition_list_t *partitions, void *opaque)
{
    consume_run_t *run = opaque;
    if (!assigned) {
        for (size_t i = 0; i < partitions->count; i++) {
            int32_t p = partitions->items[i].partition;
            if (p >= 0 && (size_t)p < run->part_count)
                run->parts[p].assigned = false;
        }
        return;
    }
    run->assignment_known = true;
    size_t n = partitions->count;
    int32_t *ids = calloc(n + 1, sizeof(*ids));
    int64_t *start = calloc(n + 1, sizeof(*start));
    int64_t *end = calloc(n + 1, sizeof(*end));
    if (!ids || !start || !end) {
        run->status = cli_fail(CMD, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = partitions->items[i].partition;
    bool seek = run->start != START_STORED;
    if (lookup_offsets(run, ids, n, seek ? start : NULL, run->exit_at_end ? end : NULL)) {
        run->status = CLI_EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; seek && i < n; i++) {
        samsa_err_t err = samsa_consumer_seek(c, run->topic, ids[i], start[i]);
        if (err)
            run->status = cli_fail(CMD, "cannot seek %s [%" PRId32 "]: %s", run->topic, ids[i],
                                   samsa_err_str(err));
    }
    track_partitions(run, ids, n, run->exit_at_end ? end : NULL);
done:
    free(ids);
    free(start);
    free(end);
}

/* Without -g: assigns every partition (or -p's) from where -o says. */
static int assign_partitions(consume_run_t *run)
{
    size_t n = run->partition >= 0 ? 1 : run->part_count;
    int32_t *ids = calloc(n + 1, sizeof(*ids));
    int64_t *start = calloc(n + 1, sizeof(*start));
    int64_t *end = calloc(n + 1, sizeof(*end));
    samsa_topic_partition_t *items = calloc(n + 1, sizeof(*items));
    int status = CLI_EXIT_OK;
    if (!ids || !start || !end || !items) {
        status = cli_fail(CMD, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = run->partition >= 0 ? (int32_t)run->partition : (int32_t)i;
    if ((status = lookup_offsets(run, ids, n, start, run->exit_at_end ? end : NULL)))
        goto done;
    for (size_t i = 0; i < n; i++)
        items[i] = (samsa_topic_partition_t){run->topic, ids[i], start[i], 0};
    samsa_partition_list_t list = {items, n};
    samsa_err_t err = samsa_consumer_assign(run->consumer, &list);
    if (err) {
        status = cli_fail(CMD, "cannot assign the partitions: %s", samsa_err_str(err));
        goto done;
    }
    track_partitions(run, ids, n, run->exit_at_end ? end : NULL);
    run->assignment_known = true;
done:
    free(ids);
    free(start);
    free(end);
    free(items);
    return status;
}

/* Reads the topic's partitions and leaders. */
static int load_topic(consume_run_t *run)
{
    samsa_cluster_info_t *info = NULL;
    samsa_err_t err = samsa_admin_list_topics(run->admin, &run->topic, 1, 1, run->lookup_timeout_ms,
                                              &info);
    if (err)
        return cli_admin_fail(CMD, "cannot look the topic up", err);
    int status = CLI_EXIT_OK;
    const samsa_topic_info_t *t = info->topic_count == 1 ? &info->topics[0] : NULL;
    if (!t || t->err == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        status = cli_fail(CMD, "topic '%s' does not exist", run->topic);
    } else if (t->err) {
        status = cli_fail(CMD, "topic '%s': %s", run->topic, cli_why(t->err, t->errstr));
    } else if (run->partition >= (int64_t)t->partition_count) {
        status = cli_fail(CMD, "topic '%s' has no partition %" PRId64 " (it has %zu)",
                          run->topic, run->partition, t->partition_count);
    } else {
        run->part_count = t->partition_count;
        run->parts = calloc(t->partition_count + 1, sizeof(*run->parts));
        if (!run->parts)
            status = cli_fail(CMD, "out of memory");
        for (size_t i = 0; run->parts && i < t->partition_count; i++)
            run->parts[i].leader = t->partitions[i].leader;
    }
    samsa_cluster_info_free(info);
    return status;
}

/* -e: whether every assigned partition was read to its end; partitions
 * with nothing to read are found through their positions. */
static bool all_done(consume_run_t *run)
{
    if (!run->assignment_known)
        return false;
    samsa_topic_partition_t item;
    samsa_partition_list_t list = {&item, 1};
    for (size_t i = 0; i < run->part_count; i++) {
        part_state_t *p = &run->parts[i];
        if (!p->assigned || p->done)
            continue;
        item = (samsa_topic_partition_t){run->topic, (int32_t)i, -1, 0};
        if (p->end_offset > 0 &&
            (samsa_consumer_position(run->consumer, &list) || item.err || item.offset < 0 ||
             item.offset < p->end_offset))
            return false;
        p->done = true;
        if (!run->quiet)
            fprintf(stderr, "%% " CMD ": reached the end of %s [%zu] at offset %" PRId64 "\n",
                    run->topic, i, p->end_offset > 0 ? item.offset : p->end_offset);
    }
    return true;
}

static void print_message(consume_run_t *run, const samsa_message_t *m)
{
    if (run->json) {
        int32_t broker = m->partition >= 0 && (size_t)m->partition < run->part_count
                             ? run->parts[m->partition].leader
                             : -1;
        print_json(m, broker);
    } else if (run->format_flag) {
        print_formatted(&run->format, m);
    } else {
        if (m->value)
            fwrite(m->value, 1, m->value_len, stdout);
        putchar('\n');
    }
}

/* Polls and prints until -c, -e or an interruption says to stop. */
static int consume_loop(consume_run_t *run)
{
    cli_catch_interrupts();
    while (!cli_interrupted() && !run->status) {
        if (run->exit_at_end && all_done(run))
            break;
        samsa_message_t *m = samsa_consumer_poll(run->consumer, POLL_MS);
        if (!m) {
            fflush(stdout);
            continue;
        }
        if (m->err) {
            run->errors++;
            fprintf(stderr, "%% " CMD ": %s\n", cli_why(m->err, m->errstr));
        } else {
            print_message(run, m);
            run->printed++;
        }
        samsa_message_free(m);
        if (run->max_messages && run->printed >= (uint64_t)run->max_messages)
            break;
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail(CMD, "cannot write standard output: %s", strerror(errno));
    if (run->status)
        return run->status;
    if (cli_interrupted() && (run->exit_at_end || run->max_messages))
        return cli_fail(CMD, "interrupted after %" PRIu64 " messages", run->printed);
    if (run->errors)
        return cli_fail(CMD, "%" PRIu64 " errors while consuming", run->errors);
    return CLI_EXIT_OK;
}

static int consume_option(void *ctx, const cli_args_t *a, int opt)
{
    consume_run_t *run = ctx;
    switch (opt) {
    case OPT_TOPIC:
        run->topic = a->value;
        return 0;
    case OPT_GROUP:
        if (!a->value[0])
            return cli_usage_error(a, "%s: the group id is empty", a->flag);
        run->group = a->value;
        return 0;
    case OPT_PARTITION:
        return cli_value_int64(a, 0, INT32_MAX, &run->partition);
    case OPT_OFFSET:
        return parse_start(run, a);
    case OPT_COUNT:
        return cli_value_int64(a, 1, INT64_MAX, &run->max_messages);
    case OPT_EXIT:
        run->exit_at_end = true;
        return 0;
    case OPT_FORMAT:
        fmt_free(&run->format);
        memset(&run->format, 0, sizeof(run->format));
        run->format_flag = "-f";
        return fmt_compile(&run->format, a);
    case OPT_JSON:
        run->json = true;
        return 0;
    case OPT_QUIET:
        run->quiet = true;
        return 0;
    case CLI_OPERAND:
        return cli_usage_error(a, "unexpected argument %s", a->value);
    default:
        return cli_client_option(&run->client, a, opt);
    }
}

/* Checks the options against each other and completes the consumer's
 * properties. */
static int consume_setup(consume_run_t *run, cli_args_t *a)
{
    int status;
    if (!run->topic)
        return cli_usage_error(a, "-t TOPIC is required");
    if (run->json && run->format_flag)
        return cli_usage_error(a, "-J and -f exclude each other");
    if (run->group && run->partition >= 0)
        return cli_usage_error(a, "-p goes without -g (the group assigns the partitions)");
    if ((status = cli_client_finish(&run->client, a)))
        return status;
    if (run->group) {
        a->flag = "-g";
        if ((status = cli_conf_set(a, run->client.conf, "group.id", run->group)))
            return status;
    }
    bool has_group = samsa_conf_get(run->client.conf, "group.id") != NULL;
    if (!run->start_given)
        run->start = run->group ? START_STORED : START_BEGINNING;
    if (run->start == START_STORED && !has_group)
        return cli_usage_error(a, "-o stored needs -g GROUP (or -X group.id=GROUP)");
    const char *timeout = samsa_conf_get(run->client.conf, "request.timeout.ms");
    if (!timeout)
        timeout = samsa_conf_get(run->client.conf, "socket.timeout.ms");
    run->lookup_timeout_ms = timeout && atoi(timeout) > 0 ? atoi(timeout)
                                                          : DEFAULT_LOOKUP_TIMEOUT_MS;
    a->flag = "-o";
    if (!samsa_conf_get(run->client.conf, "auto.offset.reset") &&
        (status = cli_conf_set(a, run->client.conf, "auto.offset.reset", "earliest")))
        return status;
    return 0;
}

int cmd_consume(int argc, char **argv)
{
    consume_run_t run = {.partition = -1};
    cli_client_t admin_client = {0};
    cli_args_t a;
    int status = cli_client_init(&run.client, CMD);
    if (status)
        return status;
    cli_args_init(&a, CMD, consume_opts, argc, argv);
    if ((status = cli_parse(&a, consume_option, &run, consume_usage)) != CLI_PARSED)
        goto done;
    if ((status = consume_setup(&run, &a)))
        goto done;

    admin_client.conf = cli_connection_conf(run.client.conf);
    if (!admin_client.conf) {
        status = cli_fail(CMD, "out of memory");
        goto done;
    }
    /* The consumer first: it checks the properties. */
    samsa_consumer_callbacks_t callbacks = {.rebalance = on_rebalance, .opaque = &run};
    run.consumer = cli_consumer_new(CMD, &run.client, &callbacks);
    if (!run.consumer) {
        status = CLI_EXIT_FAIL;
        goto done;
    }
    run.admin = cli_admin_new(CMD, &admin_client);
    if (!run.admin || (status = load_topic(&run))) {
        status = CLI_EXIT_FAIL;
        goto done;
    }
    if (run.group) {
        samsa_err_t err = samsa_consumer_subscribe(run.consumer, &run.topic, 1);
        if (err) {
            status = cli_fail(CMD, "cannot subscribe to %s: %s", run.topic, samsa_err_str(err));
            goto done;
        }
    } else if ((status = assign_partitions(&run))) {
        goto done;
    }
    status = consume_loop(&run);
    samsa_err_t err = samsa_consumer_close(run.consumer);
    if (err && !status)
        status = cli_fail(CMD, "closing the consumer: %s: %s", samsa_err_name(err),
                          samsa_err_str(err));

done:
    samsa_consumer_free(run.consumer);
    samsa_admin_free(run.admin);
    cli_client_free(&admin_client);
    cli_client_free(&run.client);
    fmt_free(&run.format);
    free(run.parts);
    return status;
}
