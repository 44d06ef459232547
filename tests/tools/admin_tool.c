/*
 * admin_tool: runs one samsa admin call and prints its results one per
 * line, for tests against a real broker.
 *
 *   admin_tool -b HOST:PORT [-X key=value]... [-T timeout_ms] COMMAND ARGS...
 *
 * Commands and what they print (ERR is the error's name, NONE on success):
 *   create TOPIC:PARTITIONS[:RF] [name=value]...  create TOPIC ERR
 *   validate TOPIC:PARTITIONS                     validate TOPIC ERR
 *   delete TOPIC...                               delete TOPIC ERR
 *   partitions TOPIC TOTAL                        partitions TOPIC ERR
 *   cluster                                       cluster controller=ID brokers=N
 *                                                 broker ID HOST:PORT
 *   topics [TOPIC...]                             topic NAME partitions=N internal=0|1 ERR
 *                                                 partition NAME P leader=ID replicas=A,B isr=A,B
 *   offsets TOPIC:P:SPEC...                       offset TOPIC P SPEC OFFSET TIMESTAMP ERR
 *                    (SPEC: earliest, latest, max or a timestamp in ms)
 *   delete-records TOPIC:P:OFFSET...              low TOPIC P LOW_WATERMARK ERR
 *   configs topic|broker NAME KEY...              config NAME KEY=VALUE SOURCE read_only=0|1
 *                                                 (only the keys asked for, in their order)
 *   groups                                        group ID STATE PROTOCOL_TYPE
 *   describe-group GROUP...                       group ID STATE PROTOCOL_TYPE PROTOCOL members=N ERR
 *                                                 member GROUP CLIENT_ID assigned=T:P,...
 *   group-offsets GROUP                           committed GROUP TOPIC P OFFSET ERR
 *   commit GROUP TOPIC:P:OFFSET...                commit GROUP TOPIC P ERR
 *
 * Diagnostics go to stderr prefixed "% ". Exits 0 when the call returned
 * SAMSA_ERR_NONE (items may still carry errors), 1 when it failed, 2 on
 * bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samsa.h"

#define MAX_PROPS 64
#define MAX_ITEMS 256

static int timeout_ms = 30000;

static int usage(void)
{
    fprintf(stderr, "%% usage: admin_tool -b HOST:PORT [-X key=value]... [-T ms] COMMAND ARGS...\n");
    return 2;
}

static int failed(const char *what, samsa_err_t err)
{
    fprintf(stderr, "%% %s failed: %s: %s\n", what, samsa_err_name(err), samsa_admin_last_error());
    return 1;
}

/* Splits "topic:a:b" at its last colons: topic, then up to two numbers
 * as strings. Returns the number of fields after the topic. */
static int split(char *s, char **f1, char **f2)
{
    *f1 = *f2 = NULL;
    char *c1 = strchr(s, ':');
    if (!c1)
        return 0;
    *c1 = 0;
    *f1 = c1 + 1;
    char *c2 = strchr(*f1, ':');
    if (!c2)
        return 1;
    *c2 = 0;
    *f2 = c2 + 1;
    return 2;
}

static int64_t parse_spec(const char *s)
{
    if (!strcmp(s, "earliest"))
        return SAMSA_OFFSET_SPEC_EARLIEST;
    if (!strcmp(s, "latest"))
        return SAMSA_OFFSET_SPEC_LATEST;
    if (!strcmp(s, "max"))
        return SAMSA_OFFSET_SPEC_MAX_TIMESTAMP;
    return strtoll(s, NULL, 10);
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    printf(" %s=", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)ids[i]);
}

static int cmd_create(samsa_admin_t *a, int argc, char **argv, int validate)
{
    if (argc < 1)
        return usage();
    char *parts = NULL, *rf = NULL;
    split(argv[0], &parts, &rf);
    samsa_topic_config_t cfg[MAX_ITEMS];
    size_t nc = 0;
    for (int i = 1; i < argc && nc < MAX_ITEMS; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return usage();
        *eq = 0;
        cfg[nc++] = (samsa_topic_config_t){argv[i], eq + 1};
    }
    samsa_new_topic_t t = {argv[0], parts ? atoi(parts) : -1, (int16_t)(rf ? atoi(rf) : -1),
                           nc ? cfg : NULL, nc};
    samsa_topic_result_t *r = NULL;
    samsa_err_t err = samsa_admin_create_topics(a, &t, 1, validate, timeout_ms, &r);
    if (err)
        return failed("create_topics", err);
    printf("%s %s %s\n", validate ? "validate" : "create", r[0].topic, samsa_err_name(r[0].err));
    if (r[0].err)
        fprintf(stderr, "%% %s\n", r[0].errstr);
    samsa_topic_results_free(r);
    return 0;
}

static int cmd_delete(samsa_admin_t *a, int argc, char **argv)
{
    samsa_topic_result_t *r = NULL;
    samsa_err_t err = samsa_admin_delete_topics(a, (const char *const *)argv, (size_t)argc,
                                                timeout_ms, &r);
    if (err)
        return failed("delete_topics", err);
    for (int i = 0; i < argc; i++)
        printf("delete %s %s\n", r[i].topic, samsa_err_name(r[i].err));
    samsa_topic_results_free(r);
    return 0;
}

static int cmd_partitions(samsa_admin_t *a, int argc, char **argv)
{
    if (argc != 2)
        return usage();
    samsa_new_partitions_t p = {argv[0], atoi(argv[1])};
    samsa_topic_result_t *r = NULL;
    samsa_err_t err = samsa_admin_create_partitions(a, &p, 1, 0, timeout_ms, &r);
    if (err)
        return failed("create_partitions", err);
    printf("partitions %s %s\n", r[0].topic, samsa_err_name(r[0].err));
    if (r[0].err)
        fprintf(stderr, "%% %s\n", r[0].errstr);
    samsa_topic_results_free(r);
    return 0;
}

static int cmd_cluster(samsa_admin_t *a)
{
    samsa_cluster_info_t *info = NULL;
    samsa_err_t err = samsa_admin_describe_cluster(a, timeout_ms, &info);
    if (err)
        return failed("describe_cluster", err);
    printf("cluster controller=%d brokers=%zu\n", (int)info->controller_id, info->broker_count);
    for (size_t i = 0; i < info->broker_count; i++)
        printf("broker %d %s:%d\n", (int)info->brokers[i].node_id, info->brokers[i].host,
               info->brokers[i].port);
    samsa_cluster_info_free(info);
    return 0;
}

static int cmd_topics(samsa_admin_t *a, int argc, char **argv)
{
    samsa_cluster_info_t *info = NULL;
    samsa_err_t err = samsa_admin_list_topics(a, (const char *const *)argv, (size_t)argc, 0,
                                              timeout_ms, &info);
    if (err)
        return failed("list_topics", err);
    for (size_t i = 0; i < info->topic_count; i++) {
        const samsa_topic_info_t *t = &info->topics[i];
        printf("topic %s partitions=%zu internal=%d %s\n", t->name, t->partition_count,
               t->internal ? 1 : 0, samsa_err_name(t->err));
        for (size_t k = 0; k < t->partition_count; k++) {
            const samsa_partition_info_t *p = &t->partitions[k];
            printf("partition %s %d leader=%d", t->name, (int)p->partition, (int)p->leader);
            print_ids("replicas", p->replicas, p->replica_count);
            print_ids("isr", p->isr, p->isr_count);
            printf("\n");
        }
    }
    samsa_cluster_info_free(info);
    return 0;
}

/* Parses TOPIC:P:N arguments into q (the spec parsed by spec). */
static size_t parse_partitions(int argc, char **argv, samsa_partition_offset_t *q, char **raw,
                               int64_t (*spec)(const char *))
{
    size_t n = 0;
    for (int i = 0; i < argc && n < MAX_ITEMS; i++) {
        char *p = NULL, *o = NULL;
        if (split(argv[i], &p, &o) != 2)
            return 0;
        raw[n] = o;
        q[n++] = (samsa_partition_offset_t){argv[i], atoi(p), spec(o)};
    }
    return n;
}

static int64_t parse_number(const char *s) { return strtoll(s, NULL, 10); }

static int cmd_offsets(samsa_admin_t *a, int argc, char **argv)
{
    samsa_partition_offset_t q[MAX_ITEMS];
    char *raw[MAX_ITEMS];
    size_t n = parse_partitions(argc, argv, q, raw, parse_spec);
    if (!n)
        return usage();
    samsa_offset_result_t *r = NULL;
    samsa_err_t err = samsa_admin_list_offsets(a, q, n, timeout_ms, &r);
    if (err)
        return failed("list_offsets", err);
    for (size_t i = 0; i < n; i++)
        printf("offset %s %d %s %" PRId64 " %" PRId64 " %s\n", r[i].topic, (int)r[i].partition,
               raw[i], r[i].offset, r[i].timestamp_ms, samsa_err_name(r[i].err));
    samsa_offset_results_free(r);
    return 0;
}

static int cmd_delete_records(samsa_admin_t *a, int argc, char **argv)
{
    samsa_partition_offset_t q[MAX_ITEMS];
    char *raw[MAX_ITEMS];
    size_t n = parse_partitions(argc, argv, q, raw, parse_number);
    if (!n)
        return usage();
    samsa_offset_result_t *r = NULL;
    samsa_err_t err = samsa_admin_delete_records(a, q, n, timeout_ms, &r);
    if (err)
        return failed("delete_records", err);
    for (size_t i = 0; i < n; i++)
        printf("low %s %d %" PRId64 " %s\n", r[i].topic, (int)r[i].partition, r[i].offset,
               samsa_err_name(r[i].err));
    samsa_offset_results_free(r);
    return 0;
}

static int cmd_configs(samsa_admin_t *a, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    samsa_config_resource_t res = {!strcmp(argv[0], "broker") ? SAMSA_RESOURCE_BROKER
                                                              : SAMSA_RESOURCE_TOPIC,
                                   argv[1]};
    samsa_config_result_t *r = NULL;
    samsa_err_t err = samsa_admin_describe_configs(a, &res, 1, timeout_ms, &r);
    if (err)
        return failed("describe_configs", err);
    if (r[0].err) {
        printf("config %s %s\n", r[0].name, samsa_err_name(r[0].err));
        fprintf(stderr, "%% %s\n", r[0].errstr);
    }
    for (int k = 2; k < argc; k++)
        for (size_t i = 0; i < r[0].entry_count; i++) {
            const samsa_config_entry_t *e = &r[0].entries[i];
            if (strcmp(e->name, argv[k]))
                continue;
            printf("config %s %s=%s %s read_only=%d\n", r[0].name, e->name,
                   e->value ? e->value : "(null)", samsa_config_source_name(e->source),
                   e->read_only ? 1 : 0);
        }
    samsa_config_results_free(r);
    return 0;
}

static int cmd_groups(samsa_admin_t *a)
{
    samsa_group_list_t *l = NULL;
    samsa_err_t err = samsa_admin_list_groups(a, timeout_ms, &l);
    if (err)
        return failed("list_groups", err);
    for (size_t i = 0; i < l->group_count; i++)
        printf("group %s %s %s\n", l->groups[i].group_id, l->groups[i].state[0] ? l->groups[i].state : "-",
               l->groups[i].protocol_type[0] ? l->groups[i].protocol_type : "-");
    samsa_group_list_free(l);
    return 0;
}

static int cmd_describe_group(samsa_admin_t *a, int argc, char **argv)
{
    samsa_group_description_t *g = NULL;
    samsa_err_t err = samsa_admin_describe_groups(a, (const char *const *)argv, (size_t)argc,
                                                  timeout_ms, &g);
    if (err)
        return failed("describe_groups", err);
    for (int i = 0; i < argc; i++) {
        printf("group %s %s %s %s members=%zu %s\n", g[i].group_id, g[i].state,
               g[i].protocol_type[0] ? g[i].protocol_type : "-",
               g[i].protocol[0] ? g[i].protocol : "-", g[i].member_count,
               samsa_err_name(g[i].err));
        for (size_t m = 0; m < g[i].member_count; m++) {
            printf("member %s %s assigned=", g[i].group_id, g[i].members[m].client_id);
            for (size_t k = 0; k < g[i].members[m].assigned_count; k++)
                printf("%s%s:%d", k ? "," : "", g[i].members[m].assigned[k].topic,
                       (int)g[i].members[m].assigned[k].partition);
            printf("\n");
        }
    }
    samsa_group_descriptions_free(g);
    return 0;
}

static int cmd_group_offsets(samsa_admin_t *a, int argc, char **argv)
{
    if (argc != 1)
        return usage();
    samsa_offset_result_t *r = NULL;
    size_t n = 0;
    samsa_err_t err = samsa_admin_list_group_offsets(a, argv[0], NULL, 0, timeout_ms, &r, &n);
    if (err)
        return failed("list_group_offsets", err);
    for (size_t i = 0; i < n; i++)
        printf("committed %s %s %d %" PRId64 " %s\n", argv[0], r[i].topic, (int)r[i].partition,
               r[i].offset, samsa_err_name(r[i].err));
    samsa_offset_results_free(r);
    return 0;
}

static int cmd_commit(samsa_admin_t *a, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    samsa_partition_offset_t q[MAX_ITEMS];
    char *raw[MAX_ITEMS];
    size_t n = parse_partitions(argc - 1, argv + 1, q, raw, parse_number);
    if (!n)
        return usage();
    samsa_offset_result_t *r = NULL;
    samsa_err_t err = samsa_admin_alter_group_offsets(a, argv[0], q, n, timeout_ms, &r);
    if (err)
        return failed("alter_group_offsets", err);
    for (size_t i = 0; i < n; i++)
        printf("commit %s %s %d %s\n", argv[0], r[i].topic, (int)r[i].partition,
               samsa_err_name(r[i].err));
    samsa_offset_results_free(r);
    return 0;
}

static int run(samsa_admin_t *a, int argc, char **argv)
{
    const char *cmd = argv[0];
    argc--;
    argv++;
    if (!strcmp(cmd, "create"))
        return cmd_create(a, argc, argv, 0);
    if (!strcmp(cmd, "validate"))
        return cmd_create(a, argc, argv, 1);
    if (!strcmp(cmd, "delete"))
        return argc ? cmd_delete(a, argc, argv) : usage();
    if (!strcmp(cmd, "partitions"))
        return cmd_partitions(a, argc, argv);
    if (!strcmp(cmd, "cluster"))
        return cmd_cluster(a);
    if (!strcmp(cmd, "topics"))
        return cmd_topics(a, argc, argv);
    if (!strcmp(cmd, "offsets"))
        return cmd_offsets(a, argc, argv);
    if (!strcmp(cmd, "delete-records"))
        return cmd_delete_records(a, argc, argv);
    if (!strcmp(cmd, "configs"))
        return cmd_configs(a, argc, argv);
    if (!strcmp(cmd, "groups"))
        return cmd_groups(a);
    if (!strcmp(cmd, "describe-group"))
        return argc ? cmd_describe_group(a, argc, argv) : usage();
    if (!strcmp(cmd, "group-offsets"))
        return cmd_group_offsets(a, argc, argv);
    if (!strcmp(cmd, "commit"))
        return cmd_commit(a, argc, argv);
    return usage();
}

int main(int argc, char **argv)
{
    const char *keys[MAX_PROPS], *values[MAX_PROPS];
    char *owned[MAX_PROPS];
    size_t n = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+b:X:T:")) != -1) {
        if (opt == 'T') {
            timeout_ms = atoi(optarg);
            continue;
        }
        if ((opt != 'b' && opt != 'X') || n == MAX_PROPS)
            return usage();
        owned[n] = strdup(opt == 'b' ? "bootstrap.servers" : optarg);
        if (!owned[n])
            return 1;
        keys[n] = owned[n];
        if (opt == 'b') {
            values[n] = optarg;
        } else {
            char *eq = strchr(owned[n], '=');
            if (!eq)
                return usage();
            *eq = 0;
            values[n] = eq + 1;
        }
        n++;
    }
    if (optind >= argc)
        return usage();
    char errstr[512];
    samsa_admin_t *a = samsa_admin_new_kv(keys, values, n, errstr, sizeof(errstr));
    int rc = 1;
    if (!a)
        fprintf(stderr, "%% %s\n", errstr);
    else
        rc = run(a, argc - optind, argv + optind);
    samsa_admin_free(a);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    return rc;
}
