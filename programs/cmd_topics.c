/*
 * cmd_topics.c: `samsa topics`, what kafka-topics.sh does with a cluster's
 * topics: --list their names, --describe them in kafka-topics.sh's layout
 * (a topic line with its id, partition count, replication factor and the
 * configs set on it, then one line per partition), --create and --delete
 * one. Built on the admin client of the public API.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CMD "samsa topics"

/* How long an admin call may take unless --timeout says otherwise. */
#define DEFAULT_TIMEOUT_MS 30000

enum {
    OPT_LIST = CLI_OPT_OWN,
    OPT_DESCRIBE,
    OPT_CREATE,
    OPT_DELETE,
    OPT_TOPIC,
    OPT_PARTITIONS,
    OPT_REPLICATION_FACTOR,
    OPT_CONFIG,
    OPT_EXCLUDE_INTERNAL,
    OPT_TIMEOUT,
};

static const cli_opt_t topics_opts[] = {
    {CLI_OPT_BOOTSTRAP, 'b', "bootstrap-server", "HOST:PORT"},
    {OPT_LIST, 0, "list", NULL},
    {OPT_DESCRIBE, 0, "describe", NULL},
    {OPT_CREATE, 0, "create", NULL},
    {OPT_DELETE, 0, "delete", NULL},
    {OPT_TOPIC, 't', "topic", "TOPIC"},
    {OPT_PARTITIONS, 0, "partitions", "N"},
    {OPT_REPLICATION_FACTOR, 0, "replication-factor", "N"},
    {OPT_CONFIG, 0, "config", "KEY=VALUE"},
    {OPT_EXCLUDE_INTERNAL, 0, "exclude-internal", NULL},
    {OPT_TIMEOUT, 0, "timeout", "MS"},
    {CLI_OPT_PROPERTY, 'X', "command-property", "KEY=VALUE"},
    {CLI_OPT_PROPERTIES_FILE, 'F', "command-config", "FILE"},
    {0, 0, NULL, NULL},
};

static void topics_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa topics -b HOST:PORT --list | --describe [TOPIC] |\n"
            "                    --create TOPIC [--partitions N] [--replication-factor N]\n"
            "                    [--config KEY=VALUE]... | --delete TOPIC [OPTIONS]\n"
            "\n"
            "Lists, describes, creates or deletes topics, printing what kafka-topics.sh\n"
            "prints. --describe gives per topic\n"
            "  Topic: T<TAB>TopicId: ID<TAB>PartitionCount: N<TAB>ReplicationFactor: R\n"
            "  <TAB>Configs: K=V,...\n"
            "and per partition\n"
            "  <TAB>Topic: T<TAB>Partition: P<TAB>Leader: L<TAB>Replicas: R,...<TAB>Isr: I,...\n"
            "  <TAB>Elr: N/A<TAB>LastKnownElr: N/A\n"
            "(each one line), where Configs lists the properties that are not defaults.\n"
            "\n"
            "Options:\n"
            "  -b, --bootstrap-server HOST:PORT[,...]  brokers to start from\n"
            "  --list                     the names of every topic, one a line\n"
            "  --describe [TOPIC]         describe TOPIC, or every topic\n"
            "  --create TOPIC             create TOPIC (prints \"Created topic TOPIC.\")\n"
            "  --delete TOPIC             delete TOPIC\n"
            "  -t, --topic TOPIC          the topic (instead of an argument)\n"
            "  --partitions N             --create: partitions (default: the broker's\n"
            "                             num.partitions)\n"
            "  --replication-factor N     --create: replicas of each partition (default:\n"
            "                             the broker's default.replication.factor)\n"
            "  --config KEY=VALUE         --create: a topic property (repeatable)\n"
            "  --exclude-internal         --list, --describe: leave out internal topics\n"
            "  --timeout MS               how long to wait for the cluster (default %d)\n"
            "  -X, --command-property KEY=VALUE\n"
            "                             a client property (repeatable)\n"
            "  -F, --command-config FILE  a file of client properties\n"
            "  -h, --help                 this help\n",
            DEFAULT_TIMEOUT_MS);
}

/* What one run was asked. */
typedef struct topics_run {
    cli_action_t act;             /* OPT_LIST ... OPT_DELETE, and the topic */
    int64_t partitions;           /* -1: the broker's default */
    int64_t replication_factor;
    samsa_topic_config_t *configs;
    size_t config_count;
    bool exclude_internal;
    int64_t timeout_ms;
    cli_client_t client;
} topics_run_t;

/* Adds the topic property "KEY=VALUE" of a->value. */
static int add_config(topics_run_t *run, const cli_args_t *a)
{
    const char *eq = strchr(a->value, '=');
    if (!eq || eq == a->value)
        return cli_usage_error(a, "%s \"%s\" is not key=value", a->flag, a->value);
    char *name = strndup(a->value, (size_t)(eq - a->value));
    if (!name)
        return cli_fail(CMD, "out of memory");
    run->configs[run->config_count++] = (samsa_topic_config_t){name, eq + 1};
    return 0;
}

static int topics_option(void *ctx, const cli_args_t *a, int opt)
{
    topics_run_t *run = ctx;
    switch (opt) {
    case OPT_LIST:
    case OPT_DESCRIBE:
    case OPT_CREATE:
    case OPT_DELETE:
        return cli_action_take(&run->act, a, opt);
    case CLI_OPERAND:
    case OPT_TOPIC:
        return cli_action_name(&run->act, a, "topic");
    case OPT_PARTITIONS:
        return cli_value_int64(a, 1, INT32_MAX, &run->partitions);
    case OPT_REPLICATION_FACTOR:
        return cli_value_int64(a, 1, INT16_MAX, &run->replication_factor);
    case OPT_CONFIG:
        return add_config(run, a);
    case OPT_EXCLUDE_INTERNAL:
        run->exclude_internal = true;
        return 0;
    case OPT_TIMEOUT:
        return cli_value_int64(a, 1, INT32_MAX, &run->timeout_ms);
    default:
        return cli_client_option(&run->client, a, opt);
    }
}

/* Checks that the options fit the action. Returns 0 or CLI_EXIT_USAGE. */
static int check_options(void *ctx, const cli_args_t *a)
{
    topics_run_t *run = ctx;
    if (!run->act.id)
        return cli_usage_error(a, "one of --list, --describe, --create, --delete is required");
    if ((run->act.id == OPT_CREATE || run->act.id == OPT_DELETE) && !run->act.name)
        return cli_usage_error(a, "%s needs TOPIC", run->act.flag);
    if (run->act.id == OPT_LIST && run->act.name)
        return cli_usage_error(a, "--list takes no topic (got %s)", run->act.name);
    if (run->act.id != OPT_CREATE) {
        if (run->partitions > 0)
            return cli_usage_error(a, "--partitions goes with --create only");
        if (run->replication_factor > 0)
            return cli_usage_error(a, "--replication-factor goes with --create only");
        if (run->config_count)
            return cli_usage_error(a, "--config goes with --create only");
    }
    if (run->exclude_internal && run->act.id != OPT_LIST && run->act.id != OPT_DESCRIBE)
        return cli_usage_error(a, "--exclude-internal goes with --list and --describe only");
    return 0;
}

static int topics_list(topics_run_t *run, samsa_admin_t *admin)
{
    samsa_cluster_info_t *info = NULL;
    samsa_err_t err = samsa_admin_list_topics(admin, NULL, 0, !run->exclude_internal,
                                              (int)run->timeout_ms, &info);
    if (err)
        return cli_admin_fail(CMD, "cannot list topics", err);
    for (size_t i = 0; i < info->topic_count; i++)
        printf("%s\n", info->topics[i].name);
    samsa_cluster_info_free(info);
    return CLI_EXIT_OK;
}

/* Prints a topic id as Kafka prints a Uuid: URL-safe base64, no padding. */
static void print_topic_id(const uint8_t id[16])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char out[23];
    size_t n = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id[i + 1] << 8;
        if (i + 2 < 16)
            v |= id[i + 2];
        out[n++] = alphabet[(v >> 18) & 63];
        out[n++] = alphabet[(v >> 12) & 63];
        if (i + 1 < 16)
            out[n++] = alphabet[(v >> 6) & 63];
        if (i + 2 < 16)
            out[n++] = alphabet[v & 63];
    }
    out[n] = '\0';
    fputs(out, stdout);
}

static void print_ids(const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s%" PRId32, i ? "," : "", ids[i]);
}

/* The configs set on a topic, as kafka-topics.sh shows them: every entry
 * that is not a default, "name=value" joined by commas. */
static void print_configs(const samsa_config_result_t *cr)
{
    if (!cr || cr->err)
        return;
    bool first = true;
    for (size_t i = 0; i < cr->entry_count; i++) {
        const samsa_config_entry_t *e = &cr->entries[i];
        if (e->is_default || e->source == SAMSA_CONFIG_SOURCE_DEFAULT)
            continue;
        printf("%s%s=%s", first ? "" : ",", e->name, e->value ? e->value : "null");
        first = false;
    }
}

static void describe_topic(const samsa_topic_info_t *t, const samsa_config_result_t *cr)
{
    size_t replication = t->partition_count ? t->partitions[0].replica_count : 0;
    printf("Topic: %s\tTopicId: ", t->name);
    print_topic_id(t->topic_id);
    printf("\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: ", t->partition_count,
           replication);
    print_configs(cr);
    putchar('\n');
    for (size_t i = 0; i < t->partition_count; i++) {
        const samsa_partition_info_t *p = &t->partitions[i];
        printf("\tTopic: %s\tPartition: %" PRId32 "\tLeader: ", t->name, p->partition);
        if (p->leader < 0)
            printf("none");
        else
            printf("%" PRId32, p->leader);
        printf("\tReplicas: ");
        print_ids(p->replicas, p->replica_count);
        printf("\tIsr: ");
        print_ids(p->isr, p->isr_count);
        printf("\tElr: N/A\tLastKnownElr: N/A");
        if (p->offline_replica_count) {
            printf("\tOffline: ");
            print_ids(p->offline_replicas, p->offline_replica_count);
        }
        putchar('\n');
    }
}

static int topics_describe(topics_run_t *run, samsa_admin_t *admin)
{
    samsa_cluster_info_t *info = NULL;
    samsa_config_result_t *configs = NULL;
    samsa_config_resource_t *resources = NULL;
    int status = CLI_EXIT_OK;
    samsa_err_t err = samsa_admin_list_topics(admin, run->act.name ? &run->act.name : NULL,
                                              run->act.name ? 1 : 0, !run->exclude_internal,
                                              (int)run->timeout_ms, &info);
    if (err)
        return cli_admin_fail(CMD, "cannot describe topics", err);
    if (run->act.name && info->topic_count == 1 && info->topics[0].err) {
        const samsa_topic_info_t *t = &info->topics[0];
        if (t->err == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            status = cli_fail(CMD, "topic '%s' does not exist", run->act.name);
        else
            status = cli_fail(CMD, "cannot describe topic '%s': %s", run->act.name,
                              cli_why(t->err, t->errstr));
        goto done;
    }
    if (info->topic_count) {
        resources = calloc(info->topic_count, sizeof(*resources));
        if (!resources) {
            status = cli_fail(CMD, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < info->topic_count; i++)
            resources[i] = (samsa_config_resource_t){SAMSA_RESOURCE_TOPIC, info->topics[i].name};
        err = samsa_admin_describe_configs(admin, resources, info->topic_count,
                                           (int)run->timeout_ms, &configs);
        if (err) {
            status = cli_admin_fail(CMD, "cannot describe the topics' configs", err);
            goto done;
        }
    }
    for (size_t i = 0; i < info->topic_count; i++) {
        if (configs[i].err)
            status = cli_fail(CMD, "configs of topic '%s': %s", info->topics[i].name,
                              cli_why(configs[i].err, configs[i].errstr));
        describe_topic(&info->topics[i], &configs[i]);
    }

done:
    free(resources);
    samsa_config_results_free(configs);
    samsa_cluster_info_free(info);
    return status;
}

/* Prints a failed topic result; returns CLI_EXIT_FAIL. */
static int topic_result_fail(const char *what, const samsa_topic_result_t *r)
{
    return cli_fail(CMD, "cannot %s topic '%s': %s", what, r->topic, cli_why(r->err, r->errstr));
}

static int topics_create(topics_run_t *run, samsa_admin_t *admin)
{
    samsa_topic_result_t *results = NULL;
    samsa_new_topic_t topic = {
        .name = run->act.name,
        .partitions = (int32_t)run->partitions,
        .replication_factor = (int16_t)run->replication_factor,
        .configs = run->configs,
        .config_count = run->config_count,
    };
    samsa_err_t err = samsa_admin_create_topics(admin, &topic, 1, 0, (int)run->timeout_ms,
                                                &results);
    if (err)
        return cli_admin_fail(CMD, "cannot create topics", err);
    int status = CLI_EXIT_OK;
    if (results[0].err)
        status = topic_result_fail("create", &results[0]);
    else
        printf("Created topic %s.\n", run->act.name);
    samsa_topic_results_free(results);
    return status;
}

static int topics_delete(topics_run_t *run, samsa_admin_t *admin)
{
    samsa_topic_result_t *results = NULL;
    samsa_err_t err = samsa_admin_delete_topics(admin, &run->act.name, 1, (int)run->timeout_ms,
                                                &results);
    if (err)
        return cli_admin_fail(CMD, "cannot delete topics", err);
    int status = CLI_EXIT_OK;
    if (results[0].err == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        status = cli_fail(CMD, "topic '%s' does not exist", run->act.name);
    else if (results[0].err)
        status = topic_result_fail("delete", &results[0]);
    samsa_topic_results_free(results);
    return status;
}

/* Runs the action asked for. */
static int topics_run(void *ctx, samsa_admin_t *admin)
{
    topics_run_t *run = ctx;
    switch (run->act.id) {
    case OPT_LIST:
        return topics_list(run, admin);
    case OPT_DESCRIBE:
        return topics_describe(run, admin);
    case OPT_CREATE:
        return topics_create(run, admin);
    default:
        return topics_delete(run, admin);
    }
}

static const cli_admin_command_t topics_command = {
    CMD, topics_opts, topics_usage, topics_option, check_options, topics_run,
};

int cmd_topics(int argc, char **argv)
{
    topics_run_t run = {.partitions = -1, .replication_factor = -1,
                        .timeout_ms = DEFAULT_TIMEOUT_MS};
    int status = cli_client_init(&run.client, CMD);
    if (status)
        return status;
    run.configs = calloc((size_t)argc + 1, sizeof(*run.configs));
    if (run.configs)
        status = cli_admin_command_run(&topics_command, &run.client, &run, argc, argv);
    else
        status = cli_fail(CMD, "out of memory");
    cli_client_free(&run.client);
    for (size_t i = 0; run.configs && i < run.config_count; i++)
        free((char *)run.configs[i].name);
    free(run.configs);
    return status;
}
