/*
 * cmd_groups.c: `samsa groups`, what kafka-consumer-groups.sh does with
 * consumer groups: --list their ids, --describe one (its committed
 * offsets, the log end offsets and lag, and which member has each
 * partition, in kafka-consumer-groups.sh's table), and --reset-offsets of a
 * group without active members (a dry run printing the plan unless
 * --execute). Built on the admin client of the public API.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CMD "samsa groups"

#define DEFAULT_TIMEOUT_MS 30000

/* kafka-consumer-groups.sh's narrowest width of the text columns, and
 * what it prints where there is no value. */
#define MIN_COLUMN_WIDTH 15
#define MISSING "-"

enum {
    OPT_LIST = CLI_OPT_OWN,
    OPT_DESCRIBE,
    OPT_RESET,
    OPT_GROUP,
    OPT_TOPIC,
    OPT_TO_EARLIEST,
    OPT_TO_LATEST,
    OPT_TO_OFFSET,
    OPT_SHIFT_BY,
    OPT_EXECUTE,
    OPT_DRY_RUN,
    OPT_TIMEOUT,
};

static const cli_opt_t groups_opts[] = {
    {CLI_OPT_BOOTSTRAP, 'b', "bootstrap-server", "HOST:PORT"},
    {OPT_LIST, 0, "list", NULL},
    {OPT_DESCRIBE, 0, "describe", NULL},
    {OPT_RESET, 0, "reset-offsets", NULL},
    {OPT_GROUP, 'g', "group", "GROUP"},
    {OPT_TOPIC, 't', "topic", "TOPIC[:P,...]"},
    {OPT_TO_EARLIEST, 0, "to-earliest", NULL},
    {OPT_TO_LATEST, 0, "to-latest", NULL},
    {OPT_TO_OFFSET, 0, "to-offset", "N"},
    {OPT_SHIFT_BY, 0, "shift-by", "N"},
    {OPT_EXECUTE, 0, "execute", NULL},
    {OPT_DRY_RUN, 0, "dry-run", NULL},
    {OPT_TIMEOUT, 0, "timeout", "MS"},
    {CLI_OPT_PROPERTY, 'X', "command-property", "KEY=VALUE"},
    {CLI_OPT_PROPERTIES_FILE, 'F', "command-config", "FILE"},
    {0, 0, NULL, NULL},
};

static void groups_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa groups -b HOST:PORT --list | --describe GROUP |\n"
            "                    --reset-offsets GROUP --to-earliest|--to-latest|\n"
            "                    --to-offset N|--shift-by N [--topic TOPIC[:P,...]]...\n"
            "                    [--execute] [OPTIONS]\n"
            "\n"
            "Lists consumer groups, describes one as kafka-consumer-groups.sh does (the\n"
            "columns GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID\n"
            "HOST CLIENT-ID), or resets a group's committed offsets. Offsets can only be\n"
            "reset while the group has no active members. Without --execute the reset\n"
            "is a dry run: it prints the new offsets (GROUP TOPIC PARTITION NEW-OFFSET)\n"
            "and changes nothing.\n"
            "\n"
            "Options:\n"
            "  -b, --bootstrap-server HOST:PORT[,...]  brokers to start from\n"
            "  --list                     the id of every group, one a line\n"
            "  --describe GROUP           the group's partitions, offsets, lag and members\n"
            "  --reset-offsets GROUP      compute (and with --execute, commit) new offsets\n"
            "  -g, --group GROUP          the group (instead of an argument)\n"
            "  --to-earliest              reset to the log start offset\n"
            "  --to-latest                reset to the log end offset\n"
            "  --to-offset N              reset to N\n"
            "  --shift-by N               move the committed offset by N (may be negative)\n"
            "  -t, --topic TOPIC[:P,...]  reset every partition of TOPIC, or those listed\n"
            "                             (repeatable; default: every partition the group\n"
            "                             has committed offsets for)\n"
            "  --execute                  commit the new offsets\n"
            "  --dry-run                  only print them (the default)\n"
            "  --timeout MS               how long to wait for the cluster (default %d)\n"
            "  -X, --command-property KEY=VALUE\n"
            "                             a client property (repeatable)\n"
            "  -F, --command-config FILE  a file of client properties\n"
            "  -h, --help                 this help\n"
            "\n"
            "New offsets are kept between the log start and end offsets.\n",
            DEFAULT_TIMEOUT_MS);
}

/* One --topic: a topic, with the partitions listed after ':' (none: all). */
typedef struct topic_arg {
    char *topic;
    int32_t *partitions;
    size_t partition_count;
} topic_arg_t;

typedef struct groups_run {
    cli_action_t act;         /* OPT_LIST, OPT_DESCRIBE, OPT_RESET, and the group */
    int reset;                /* OPT_TO_EARLIEST ... OPT_SHIFT_BY; 0 until given */
    const char *reset_flag;
    int64_t reset_value;      /* --to-offset, --shift-by */
    topic_arg_t *topics;
    size_t topic_count;
    bool execute;
    bool dry_run;
    int64_t timeout_ms;
    cli_client_t client;
} groups_run_t;

/* Parses "TOPIC" or "TOPIC:P,P,..." of a->value into a new topic_arg. */
static int add_topic(groups_run_t *run, const cli_args_t *a)
{
    topic_arg_t *t = &run->topics[run->topic_count];
    const char *colon = strchr(a->value, ':');
    size_t len = colon ? (size_t)(colon - a->value) : strlen(a->value);
    if (len == 0)
        return cli_usage_error(a, "%s \"%s\" names no topic", a->flag, a->value);
    t->topic = strndup(a->value, len);
    size_t commas = 1;
    for (const char *s = colon; s && *s; s++)
        commas += *s == ',';
    t->partitions = colon ? calloc(commas, sizeof(*t->partitions)) : NULL;
    if (!t->topic || (colon && !t->partitions)) {
        free(t->topic);
        free(t->partitions);
        return cli_fail(CMD, "out of memory");
    }
    run->topic_count++;
    for (const char *s = colon; s;) {
        char *end = NULL;
        long v = strtol(s + 1, &end, 10);
        if (end == s + 1 || (*end && *end != ',') || v < 0 || v > INT32_MAX)
            return cli_usage_error(a, "%s \"%s\": partitions are numbers after ':' separated "
                                      "by ','", a->flag, a->value);
        t->partitions[t->partition_count++] = (int32_t)v;
        s = *end ? end : NULL;
    }
    return 0;
}

static int groups_option(void *ctx, const cli_args_t *a, int opt)
{
    groups_run_t *run = ctx;
    switch (opt) {
    case OPT_LIST:
    case OPT_DESCRIBE:
    case OPT_RESET:
        return cli_action_take(&run->act, a, opt);
    case CLI_OPERAND:
    case OPT_GROUP:
        return cli_action_name(&run->act, a, "group");
    case OPT_TOPIC:
        return add_topic(run, a);
    case OPT_TO_EARLIEST:
    case OPT_TO_LATEST:
    case OPT_TO_OFFSET:
    case OPT_SHIFT_BY:
        if (run->reset)
            return cli_usage_error(a, "%s and %s exclude each other", run->reset_flag, a->flag);
        run->reset = opt;
        run->reset_flag = opt == OPT_TO_OFFSET ? "--to-offset"
                          : opt == OPT_SHIFT_BY ? "--shift-by"
                                                : a->flag;
        if (opt == OPT_TO_OFFSET)
            return cli_value_int64(a, 0, INT64_MAX, &run->reset_value);
        if (opt == OPT_SHIFT_BY)
            return cli_value_int64(a, INT64_MIN / 2, INT64_MAX / 2, &run->reset_value);
        return 0;
    case OPT_EXECUTE:
        run->execute = true;
        return 0;
    case OPT_DRY_RUN:
        run->dry_run = true;
        return 0;
    case OPT_TIMEOUT:
        return cli_value_int64(a, 1, INT32_MAX, &run->timeout_ms);
    default:
        return cli_client_option(&run->client, a, opt);
    }
}

static int check_options(void *ctx, const cli_args_t *a)
{
    groups_run_t *run = ctx;
    if (!run->act.id)
        return cli_usage_error(a, "one of --list, --describe, --reset-offsets is required");
    if (run->act.id == OPT_LIST && run->act.name)
        return cli_usage_error(a, "--list takes no group (got %s)", run->act.name);
    if (run->act.id != OPT_LIST && !run->act.name)
        return cli_usage_error(a, "%s needs GROUP", run->act.flag);
    if (run->act.id != OPT_RESET) {
        if (run->reset)
            return cli_usage_error(a, "%s goes with --reset-offsets only", run->reset_flag);
        if (run->topic_count)
            return cli_usage_error(a, "--topic goes with --reset-offsets only");
        if (run->execute || run->dry_run)
            return cli_usage_error(a, "%s goes with --reset-offsets only",
                                   run->execute ? "--execute" : "--dry-run");
        return 0;
    }
    if (!run->reset)
        return cli_usage_error(a, "--reset-offsets needs one of --to-earliest, --to-latest, "
                                  "--to-offset N, --shift-by N");
    if (run->execute && run->dry_run)
        return cli_usage_error(a, "--execute and --dry-run exclude each other");
    return 0;
}

static int groups_list(groups_run_t *run, samsa_admin_t *admin)
{
    samsa_group_list_t *list = NULL;
    samsa_err_t err = samsa_admin_list_groups(admin, (int)run->timeout_ms, &list);
    if (err)
        return cli_admin_fail(CMD, "cannot list groups", err);
    for (size_t i = 0; i < list->group_count; i++)
        printf("%s\n", list->groups[i].group_id);
    samsa_group_list_free(list);
    return CLI_EXIT_OK;
}

/* The group's description, or NULL after printing why (a failed call, a
 * group that does not exist). */
static samsa_group_description_t *describe_group(groups_run_t *run, samsa_admin_t *admin)
{
    samsa_group_description_t *d = NULL;
    samsa_err_t err = samsa_admin_describe_groups(admin, &run->act.name, 1, (int)run->timeout_ms,
                                                  &d);
    if (err) {
        cli_admin_fail(CMD, "cannot describe the group", err);
        return NULL;
    }
    if (d->err == SAMSA_ERR_GROUP_ID_NOT_FOUND || (!d->err && strcmp(d->state, "Dead") == 0)) {
        cli_fail(CMD, "consumer group '%s' does not exist", run->act.name);
    } else if (d->err) {
        cli_fail(CMD, "cannot describe group '%s': %s", run->act.name, cli_why(d->err, d->errstr));
    } else {
        return d;
    }
    samsa_group_descriptions_free(d);
    return NULL;
}

/* ---- the rows of --describe and --reset-offsets ---- */

/* One partition of the group, and what is known of it. */
typedef struct group_row {
    const char *topic;       /* NULL: a member without partitions */
    int32_t partition;
    int64_t committed;       /* -1: none */
    int64_t log_start;       /* -1: unknown */
    int64_t log_end;         /* -1: unknown */
    const samsa_group_member_t *member; /* NULL: no member has it */
    int64_t new_offset;      /* --reset-offsets */
} group_row_t;

typedef struct group_rows {
    group_row_t *items;
    size_t count;
    size_t cap;
} group_rows_t;

static group_row_t *rows_find(group_rows_t *rows, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < rows->count; i++)
        if (rows->items[i].topic && rows->items[i].partition == partition &&
            strcmp(rows->items[i].topic, topic) == 0)
            return &rows->items[i];
    return NULL;
}

/* The row of topic/partition (NULL topic: a new member row), added when
 * missing. NULL when memory runs out. */
static group_row_t *rows_get(group_rows_t *rows, const char *topic, int32_t partition)
{
    group_row_t *r = topic ? rows_find(rows, topic, partition) : NULL;
    if (r)
        return r;
    if (rows->count == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        group_row_t *grown = realloc(rows->items, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        rows->items = grown;
        rows->cap = cap;
    }
    r = &rows->items[rows->count++];
    *r = (group_row_t){topic, partition, -1, -1, -1, NULL, -1};
    return r;
}

/* Rows of members first, in the members' order, then the rest; each by
 * topic and partition. */
static const samsa_group_description_t *sort_group;

static size_t member_index(const group_row_t *r)
{
    if (!r->member || !sort_group)
        return SIZE_MAX;
    return (size_t)(r->member - sort_group->members);
}

static int compare_rows(const void *x, const void *y)
{
    const group_row_t *a = x, *b = y;
    size_t ma = member_index(a), mb = member_index(b);
    if (ma != mb)
        return ma < mb ? -1 : 1;
    if (!a->topic || !b->topic)
        return !a->topic - !b->topic;
    int c = strcmp(a->topic, b->topic);
    if (c)
        return c;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

/* Fills log_start (when want_start) and log_end of every row with a topic. */
static int rows_fetch_log_offsets(groups_run_t *run, samsa_admin_t *admin, group_rows_t *rows,
                                  bool want_start)
{
    size_t n = 0;
    samsa_partition_offset_t *specs = calloc(rows->count * 2 + 1, sizeof(*specs));
    if (!specs)
        return cli_fail(CMD, "out of memory");
    for (size_t i = 0; i < rows->count; i++) {
        group_row_t *r = &rows->items[i];
        if (!r->topic)
            continue;
        specs[n++] = (samsa_partition_offset_t){r->topic, r->partition, SAMSA_OFFSET_SPEC_LATEST};
        if (want_start)
            specs[n++] = (samsa_partition_offset_t){r->topic, r->partition,
                                                    SAMSA_OFFSET_SPEC_EARLIEST};
    }
    samsa_offset_result_t *results = NULL;
    int status = CLI_EXIT_OK;
    samsa_err_t err = n ? samsa_admin_list_offsets(admin, specs, n, (int)run->timeout_ms,
                                                   &results)
                        : SAMSA_ERR_NONE;
    if (err) {
        status = cli_admin_fail(CMD, "cannot list the partitions' offsets", err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        group_row_t *r = rows_find(rows, specs[i].topic, specs[i].partition);
        const samsa_offset_result_t *res = &results[i];
        if (res->err) {
            status = cli_fail(CMD, "offsets of %s [%" PRId32 "]: %s", res->topic,
                              res->partition, cli_why(res->err, res->errstr));
            continue;
        }
        if (specs[i].offset == SAMSA_OFFSET_SPEC_LATEST)
            r->log_end = res->offset;
        else
            r->log_start = res->offset;
    }
done:
    samsa_offset_results_free(results);
    free(specs);
    return status;
}

/* Adds a row for every offset the group committed. */
static int rows_add_committed(groups_run_t *run, samsa_admin_t *admin, group_rows_t *rows,
                              samsa_offset_result_t **committed)
{
    size_t count = 0;
    samsa_err_t err = samsa_admin_list_group_offsets(admin, run->act.name, NULL, 0,
                                                     (int)run->timeout_ms, committed, &count);
    if (err)
        return cli_admin_fail(CMD, "cannot list the group's offsets", err);
    for (size_t i = 0; i < count; i++) {
        const samsa_offset_result_t *c = &(*committed)[i];
        if (c->err)
            return cli_fail(CMD, "committed offset of %s [%" PRId32 "]: %s", c->topic,
                            c->partition, cli_why(c->err, c->errstr));
        if (c->offset < 0)
            continue;
        group_row_t *r = rows_get(rows, c->topic, c->partition);
        if (!r)
            return cli_fail(CMD, "out of memory");
        r->committed = c->offset;
    }
    return 0;
}

static int text_width(const char *s, int width)
{
    int n = (int)strlen(s ? s : MISSING);
    return n > width ? n : width;
}

static void format_offset(char *out, size_t len, int64_t v)
{
    if (v < 0)
        snprintf(out, len, MISSING);
    else
        snprintf(out, len, "%" PRId64, v);
}

/* The describe table, as kafka-consumer-groups.sh --describe prints it:
 * a blank line, the header, the rows, each column as wide as its widest
 * value (text columns at least MIN_COLUMN_WIDTH). */
static void print_describe_table(const char *group, const group_rows_t *rows)
{
    int gw = text_width(group, MIN_COLUMN_WIDTH), tw = MIN_COLUMN_WIDTH;
    int cw = MIN_COLUMN_WIDTH, hw = MIN_COLUMN_WIDTH;
    for (size_t i = 0; i < rows->count; i++) {
        const group_row_t *r = &rows->items[i];
        tw = text_width(r->topic, tw);
        cw = text_width(r->member ? r->member->member_id : NULL, cw);
        hw = text_width(r->member ? r->member->client_host : NULL, hw);
    }
    printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", gw, "GROUP", tw, "TOPIC",
           "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", cw, "CONSUMER-ID", hw, "HOST",
           "CLIENT-ID");
    for (size_t i = 0; i < rows->count; i++) {
        const group_row_t *r = &rows->items[i];
        char partition[16] = MISSING, current[24], end[24], lag[24];
        if (r->topic)
            snprintf(partition, sizeof(partition), "%" PRId32, r->partition);
        format_offset(current, sizeof(current), r->topic ? r->committed : -1);
        format_offset(end, sizeof(end), r->topic ? r->log_end : -1);
        format_offset(lag, sizeof(lag),
                      r->topic && r->committed >= 0 && r->log_end >= 0
                          ? (r->log_end > r->committed ? r->log_end - r->committed : 0)
                          : -1);
        const samsa_group_member_t *m = r->member;
        printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", gw, group, tw,
               r->topic ? r->topic : MISSING, partition, current, end, lag, cw,
               m ? m->member_id : MISSING, hw, m && m->client_host ? m->client_host : MISSING,
               m && m->client_id ? m->client_id : MISSING);
    }
    printf("\n");
}

static bool group_is_active(const samsa_group_description_t *d)
{
    return d->member_count > 0 || (strcmp(d->state, "Empty") != 0 && strcmp(d->state, "Dead"));
}

static int groups_describe(groups_run_t *run, samsa_admin_t *admin)
{
    group_rows_t rows = {0};
    samsa_offset_result_t *committed = NULL;
    samsa_group_description_t *d = describe_group(run, admin);
    if (!d)
        return CLI_EXIT_FAIL;
    int status = CLI_EXIT_OK;
    for (size_t m = 0; m < d->member_count; m++) {
        const samsa_group_member_t *member = &d->members[m];
        for (size_t k = 0; k < member->assigned_count; k++) {
            group_row_t *r = rows_get(&rows, member->assigned[k].topic,
                                      member->assigned[k].partition);
            if (!r) {
                status = cli_fail(CMD, "out of memory");
                goto done;
            }
            r->member = member;
        }
        if (!member->assigned_count) {
            group_row_t *r = rows_get(&rows, NULL, -1);
            if (!r) {
                status = cli_fail(CMD, "out of memory");
                goto done;
            }
            r->member = member;
        }
    }
    if ((status = rows_add_committed(run, admin, &rows, &committed)) ||
        (status = rows_fetch_log_offsets(run, admin, &rows, false)))
        goto done;
    if (!group_is_active(d))
        fprintf(stderr, "%% " CMD ": consumer group '%s' has no active members.\n", run->act.name);
    sort_group = d;
    qsort(rows.items, rows.count, sizeof(*rows.items), compare_rows);
    sort_group = NULL;
    print_describe_table(run->act.name, &rows);

done:
    samsa_offset_results_free(committed);
    samsa_group_descriptions_free(d);
    free(rows.items);
    return status;
}

/* ---- --reset-offsets ---- */

/* Adds the rows --topic names (every partition of a topic listed without
 * partitions, from the metadata). */
static int rows_add_topics(groups_run_t *run, samsa_admin_t *admin, group_rows_t *rows)
{
    const char **names = calloc(run->topic_count, sizeof(*names));
    samsa_cluster_info_t *info = NULL;
    int status = CLI_EXIT_OK;
    if (!names)
        return cli_fail(CMD, "out of memory");
    for (size_t i = 0; i < run->topic_count; i++)
        names[i] = run->topics[i].topic;
    samsa_err_t err = samsa_admin_list_topics(admin, names, run->topic_count, 1,
                                              (int)run->timeout_ms, &info);
    if (err) {
        status = cli_admin_fail(CMD, "cannot look the topics up", err);
        goto done;
    }
    for (size_t i = 0; i < run->topic_count; i++) {
        const topic_arg_t *t = &run->topics[i];
        const samsa_topic_info_t *ti = NULL;
        for (size_t k = 0; k < info->topic_count; k++)
            if (strcmp(info->topics[k].name, t->topic) == 0)
                ti = &info->topics[k];
        if (!ti || ti->err) {
            status = cli_fail(CMD, "topic '%s' does not exist", t->topic);
            goto done;
        }
        for (size_t k = 0; k < (t->partition_count ? t->partition_count : ti->partition_count);
             k++) {
            int32_t p = t->partition_count ? t->partitions[k] : ti->partitions[k].partition;
            if (p >= (int32_t)ti->partition_count) {
                status = cli_fail(CMD, "topic '%s' has no partition %" PRId32, t->topic, p);
                goto done;
            }
            if (!rows_get(rows, t->topic, p)) {
                status = cli_fail(CMD, "out of memory");
                goto done;
            }
        }
    }
done:
    samsa_cluster_info_free(info); /* the rows point at run's names, not into info */
    free(names);
    return status;
}

/* Sets every row's new offset. Returns 0, or CLI_EXIT_FAIL after a
 * message. */
static int compute_new_offsets(groups_run_t *run, group_rows_t *rows)
{
    for (size_t i = 0; i < rows->count; i++) {
        group_row_t *r = &rows->items[i];
        int64_t v;
        switch (run->reset) {
        case OPT_TO_EARLIEST:
            v = r->log_start;
            break;
        case OPT_TO_LATEST:
            v = r->log_end;
            break;
        case OPT_TO_OFFSET:
            v = run->reset_value;
            break;
        default:
            if (r->committed < 0)
                return cli_fail(CMD, "cannot shift the offset of %s [%" PRId32 "]: group '%s' "
                                     "has no committed offset there", r->topic, r->partition,
                                run->act.name);
            v = r->committed + run->reset_value;
            break;
        }
        if (r->log_start < 0 || r->log_end < 0)
            return cli_fail(CMD, "the log offsets of %s [%" PRId32 "] are unknown", r->topic,
                            r->partition);
        if (v > r->log_end) {
            fprintf(stderr, "%% " CMD ": %s [%" PRId32 "]: new offset %" PRId64
                    " is past the log end offset: using %" PRId64 "\n", r->topic, r->partition,
                    v, r->log_end);
            v = r->log_end;
        } else if (v < r->log_start) {
            fprintf(stderr, "%% " CMD ": %s [%" PRId32 "]: new offset %" PRId64
                    " is before the log start offset: using %" PRId64 "\n", r->topic,
                    r->partition, v, r->log_start);
            v = r->log_start;
        }
        r->new_offset = v;
    }
    return 0;
}

/* The plan, as kafka-consumer-groups.sh --reset-offsets prints it. */
static void print_reset_table(const char *group, const group_rows_t *rows)
{
    int gw = text_width(group, MIN_COLUMN_WIDTH), tw = MIN_COLUMN_WIDTH;
    for (size_t i = 0; i < rows->count; i++)
        tw = text_width(rows->items[i].topic, tw);
    printf("\n%-*s %-*s %-10s %s", gw, "GROUP", tw, "TOPIC", "PARTITION", "NEW-OFFSET");
    for (size_t i = 0; i < rows->count; i++)
        printf("\n%-*s %-*s %-10" PRId32 " %" PRId64, gw, group, tw, rows->items[i].topic,
               rows->items[i].partition, rows->items[i].new_offset);
    printf("\n");
}

static int commit_new_offsets(groups_run_t *run, samsa_admin_t *admin, const group_rows_t *rows)
{
    samsa_partition_offset_t *offsets = calloc(rows->count, sizeof(*offsets));
    samsa_offset_result_t *results = NULL;
    if (!offsets)
        return cli_fail(CMD, "out of memory");
    for (size_t i = 0; i < rows->count; i++)
        offsets[i] = (samsa_partition_offset_t){rows->items[i].topic, rows->items[i].partition,
                                                rows->items[i].new_offset};
    int status = CLI_EXIT_OK;
    samsa_err_t err = samsa_admin_alter_group_offsets(admin, run->act.name, offsets, rows->count,
                                                      (int)run->timeout_ms, &results);
    if (err) {
        status = cli_admin_fail(CMD, "cannot commit the new offsets", err);
    } else {
        for (size_t i = 0; i < rows->count; i++)
            if (results[i].err)
                status = cli_fail(CMD, "cannot commit %s [%" PRId32 "]: %s",
                                  results[i].topic, results[i].partition,
                                  cli_why(results[i].err, results[i].errstr));
    }
    samsa_offset_results_free(results);
    free(offsets);
    return status;
}

static int groups_reset(groups_run_t *run, samsa_admin_t *admin)
{
    group_rows_t rows = {0};
    samsa_offset_result_t *committed = NULL;
    samsa_group_description_t *d = NULL;
    samsa_err_t err = samsa_admin_describe_groups(admin, &run->act.name, 1, (int)run->timeout_ms,
                                                  &d);
    if (err)
        return cli_admin_fail(CMD, "cannot describe the group", err);
    int status = CLI_EXIT_OK;
    if (d->err && d->err != SAMSA_ERR_GROUP_ID_NOT_FOUND) {
        status = cli_fail(CMD, "cannot describe group '%s': %s", run->act.name,
                          cli_why(d->err, d->errstr));
        goto done;
    }
    if (!d->err && group_is_active(d)) {
        status = cli_fail(CMD, "cannot reset the offsets of group '%s': it has %zu active "
                               "member(s) (state %s); offsets can only be reset while no "
                               "consumer is in the group",
                          run->act.name, d->member_count, d->state);
        goto done;
    }
    if (run->topic_count) {
        if ((status = rows_add_topics(run, admin, &rows)))
            goto done;
        /* Committed offsets only of the partitions named. */
        group_rows_t all = {0};
        status = rows_add_committed(run, admin, &all, &committed);
        for (size_t i = 0; !status && i < all.count; i++) {
            group_row_t *r = rows_find(&rows, all.items[i].topic, all.items[i].partition);
            if (r)
                r->committed = all.items[i].committed;
        }
        free(all.items);
        if (status)
            goto done;
    } else {
        if ((status = rows_add_committed(run, admin, &rows, &committed)))
            goto done;
        if (!rows.count) {
            status = cli_fail(CMD, "group '%s' has no committed offsets: name the partitions "
                                   "with --topic", run->act.name);
            goto done;
        }
    }
    if ((status = rows_fetch_log_offsets(run, admin, &rows, true)) ||
        (status = compute_new_offsets(run, &rows)))
        goto done;
    qsort(rows.items, rows.count, sizeof(*rows.items), compare_rows);
    if (run->execute && (status = commit_new_offsets(run, admin, &rows)))
        goto done;
    print_reset_table(run->act.name, &rows);
    if (!run->execute)
        fprintf(stderr, "%% " CMD ": dry run: no offset was changed (--execute commits "
                        "them)\n");

done:
    samsa_offset_results_free(committed);
    samsa_group_descriptions_free(d);
    free(rows.items);
    return status;
}

/* Runs the action asked for. */
static int groups_run(void *ctx, samsa_admin_t *admin)
{
    groups_run_t *run = ctx;
    if (run->act.id == OPT_LIST)
        return groups_list(run, admin);
    if (run->act.id == OPT_DESCRIBE)
        return groups_describe(run, admin);
    return groups_reset(run, admin);
}

static const cli_admin_command_t groups_command = {
    CMD, groups_opts, groups_usage, groups_option, check_options, groups_run,
};

int cmd_groups(int argc, char **argv)
{
    groups_run_t run = {.timeout_ms = DEFAULT_TIMEOUT_MS};
    int status = cli_client_init(&run.client, CMD);
    if (status)
        return status;
    run.topics = calloc((size_t)argc + 1, sizeof(*run.topics));
    if (run.topics)
        status = cli_admin_command_run(&groups_command, &run.client, &run, argc, argv);
    else
        status = cli_fail(CMD, "out of memory");
    cli_client_free(&run.client);
    for (size_t i = 0; run.topics && i < run.topic_count; i++) {
        free(run.topics[i].topic);
        free(run.topics[i].partitions);
    }
    free(run.topics);
    return status;
}
