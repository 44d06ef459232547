/*
 * admin_topics.c: the admin calls about topics and the cluster:
 * samsa_admin_create_topics (CreateTopics), samsa_admin_delete_topics
 * (DeleteTopics), samsa_admin_create_partitions (CreatePartitions),
 * samsa_admin_describe_cluster and samsa_admin_list_topics (Metadata) and
 * samsa_admin_describe_configs (DescribeConfigs). One request per topic or
 * resource, to any broker (a broker's configs to that broker).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"
#include "proto/messages.h"

#define METADATA_MAX_VERSION 12 /* v13 only adds a top-level error code */

/* The per-topic result array for n topics named by names[i]. */
static samsa_topic_result_t *topic_results(const char *const *names, size_t n)
{
    samsa_topic_result_t *r = admin_result_new(n * sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        r[i].topic = admin_result_cstr(r, names[i]);
        r[i].errstr = "";
    }
    return r;
}

static void fail_topic(admin_op_t *op, size_t i, samsa_err_t err, const char *errstr)
{
    samsa_topic_result_t *r = op->result;
    r[i].err = err;
    r[i].errstr = admin_result_cstr(r, errstr);
}

/* Fills result i from a topic's answer; NOT_CONTROLLER and the like retry. */
static enum admin_verdict topic_answer(admin_op_t *op, size_t i, conn_t *c, int16_t code,
                                       proto_str_t message, const char *api)
{
    if (code == SAMSA_ERR_NOT_CONTROLLER || code == SAMSA_ERR_REQUEST_TIMED_OUT ||
        code == SAMSA_ERR_THROTTLING_QUOTA_EXCEEDED)
        return ADMIN_ITEM_RETRY;
    samsa_topic_result_t *r = op->result;
    char what[320];
    snprintf(what, sizeof(what), "%s %s", api, r[i].topic);
    r[i].err = code;
    r[i].errstr = admin_result_error(r, what, code, message, conn_name(c));
    return ADMIN_ITEM_DONE;
}

/* Runs a topic operation and hands its results over. */
static samsa_err_t run_topics(admin_op_t *op, samsa_topic_result_t **results)
{
    void *result = NULL;
    samsa_err_t err = admin_op_run(op, &result, NULL);
    *results = result;
    return err;
}

/* ---- CreateTopics ----------------------------------------------------- */

static samsa_err_t encode_create(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const samsa_new_topic_t *t = &((const samsa_new_topic_t *)op->args)[i];
    const proto_api_t *api = proto_api(API_CREATE_TOPICS);
    create_topics_request_creatable_topic_config_t cfgs[t->config_count ? t->config_count : 1];
    for (size_t k = 0; k < t->config_count; k++) {
        cfgs[k].name = proto_str_of(t->configs[k].name);
        cfgs[k].value = proto_str_of(t->configs[k].value);
    }
    create_topics_request_creatable_topic_t ct = {
        proto_str_of(t->name), t->partitions, t->replication_factor, NULL, 0, cfgs,
        (int32_t)t->config_count};
    create_topics_request_t req;
    proto_init(api->request, &req);
    req.topics = &ct;
    req.topics_count = 1;
    req.timeout_ms = op->timeout_ms;
    req.validate_only = (op->flags & ADMIN_F_VALIDATE_ONLY) != 0;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static enum admin_verdict on_create(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                    const void *resp)
{
    const create_topics_response_t *r = resp;
    const samsa_topic_result_t *res = op->result;
    for (int32_t k = 0; k < r->topics_count; k++)
        if (proto_str_eq(r->topics[k].name, res[i].topic))
            return topic_answer(op, i, c, r->topics[k].error_code, r->topics[k].error_message,
                                "create topic");
    fail_topic(op, i, SAMSA_ERR__BAD_MSG, "create topic: the answer does not name the topic");
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_create_topics_kind = {
    .name = "CreateTopics",
    .api_key = API_CREATE_TOPICS,
    .max_version = -1,
    .target = ADMIN_TO_ANY,
    .encode = encode_create,
    .on_response = on_create,
    .fail_item = fail_topic,
};

SAMSA_API samsa_err_t samsa_admin_create_topics(samsa_admin_t *a, const samsa_new_topic_t *topics,
                                                size_t n, int validate_only, int timeout_ms,
                                                samsa_topic_result_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (!a || !topics || n == 0 || n > 100000 || timeout_ms < 1) {
        admin_set_last_error("create_topics: needs a handle, 1 or more topics and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        if (!topics[i].name || (topics[i].config_count && !topics[i].configs) ||
            topics[i].config_count > 10000) {
            admin_set_last_error("create_topics: topic %zu has no name or a NULL configs array", i);
            return SAMSA_ERR__INVALID_ARG;
        }
        for (size_t k = 0; k < topics[i].config_count; k++)
            if (!topics[i].configs[k].name) {
                admin_set_last_error("create_topics: topic %s: config %zu has no name",
                                     topics[i].name, k);
                return SAMSA_ERR__INVALID_ARG;
            }
    }
    admin_op_t *op = admin_op_new(a, &admin_create_topics_kind, n, timeout_ms);
    samsa_new_topic_t *copy = op ? arena_alloc(&op->in, n * sizeof(*copy)) : NULL;
    const char **names = op ? arena_alloc(&op->in, n * sizeof(*names)) : NULL;
    if (!names || !copy) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("create_topics: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        copy[i] = topics[i];
        copy[i].name = names[i] = admin_op_str(op, topics[i].name);
        samsa_topic_config_t *cfgs = topics[i].config_count
                                         ? arena_alloc(&op->in, topics[i].config_count * sizeof(*cfgs))
                                         : NULL;
        if (topics[i].config_count && !cfgs)
            copy[i].config_count = 0;
        for (size_t k = 0; cfgs && k < topics[i].config_count; k++) {
            cfgs[k].name = admin_op_str(op, topics[i].configs[k].name);
            cfgs[k].value = admin_op_str(op, topics[i].configs[k].value);
        }
        copy[i].configs = cfgs;
    }
    op->args = copy;
    op->flags = validate_only ? ADMIN_F_VALIDATE_ONLY : 0;
    op->result = topic_results(names, n);
    if (!op->result) {
        admin_op_unref(op);
        admin_set_last_error("create_topics: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    return run_topics(op, results);
}

/* ---- DeleteTopics ----------------------------------------------------- */

static samsa_err_t encode_delete(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const samsa_topic_result_t *res = op->result;
    const proto_api_t *api = proto_api(API_DELETE_TOPICS);
    delete_topics_request_t req;
    proto_init(api->request, &req);
    proto_str_t name = proto_str_of(res[i].topic);
    delete_topics_request_delete_topic_state_t state;
    memset(&state, 0, sizeof(state));
    state.name = name;
    req.topics = &state;
    req.topics_count = 1;
    req.topic_names = &name;
    req.topic_names_count = 1;
    req.timeout_ms = op->timeout_ms;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static enum admin_verdict on_delete(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                    const void *resp)
{
    const delete_topics_response_t *r = resp;
    const samsa_topic_result_t *res = op->result;
    for (int32_t k = 0; k < r->responses_count; k++)
        if (proto_str_eq(r->responses[k].name, res[i].topic))
            return topic_answer(op, i, c, r->responses[k].error_code,
                                r->responses[k].error_message, "delete topic");
    fail_topic(op, i, SAMSA_ERR__BAD_MSG, "delete topic: the answer does not name the topic");
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_delete_topics_kind = {
    .name = "DeleteTopics",
    .api_key = API_DELETE_TOPICS,
    .max_version = -1,
    .target = ADMIN_TO_ANY,
    .encode = encode_delete,
    .on_response = on_delete,
    .fail_item = fail_topic,
};

SAMSA_API samsa_err_t samsa_admin_delete_topics(samsa_admin_t *a, const char *const *topics,
                                                size_t n, int timeout_ms,
                                                samsa_topic_result_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (!a || !topics || n == 0 || n > 100000 || timeout_ms < 1) {
        admin_set_last_error("delete_topics: needs a handle, 1 or more topics and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if (!topics[i]) {
            admin_set_last_error("delete_topics: topic %zu is NULL", i);
            return SAMSA_ERR__INVALID_ARG;
        }
    admin_op_t *op = admin_op_new(a, &admin_delete_topics_kind, n, timeout_ms);
    if (op)
        op->result = topic_results(topics, n);
    if (!op || !op->result) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("delete_topics: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    return run_topics(op, results);
}

/* ---- CreatePartitions ------------------------------------------------- */

static samsa_err_t encode_partitions(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const samsa_new_partitions_t *p = &((const samsa_new_partitions_t *)op->args)[i];
    const proto_api_t *api = proto_api(API_CREATE_PARTITIONS);
    create_partitions_request_t req;
    proto_init(api->request, &req);
    create_partitions_request_create_partitions_topic_t t = {proto_str_of(p->topic), p->total_count,
                                                             NULL, -1};
    req.topics = &t;
    req.topics_count = 1;
    req.timeout_ms = op->timeout_ms;
    req.validate_only = (op->flags & ADMIN_F_VALIDATE_ONLY) != 0;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static enum admin_verdict on_partitions(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                        const void *resp)
{
    const create_partitions_response_t *r = resp;
    const samsa_topic_result_t *res = op->result;
    for (int32_t k = 0; k < r->results_count; k++)
        if (proto_str_eq(r->results[k].name, res[i].topic))
            return topic_answer(op, i, c, r->results[k].error_code, r->results[k].error_message,
                                "create partitions of");
    fail_topic(op, i, SAMSA_ERR__BAD_MSG, "create partitions: the answer does not name the topic");
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_create_partitions_kind = {
    .name = "CreatePartitions",
    .api_key = API_CREATE_PARTITIONS,
    .max_version = -1,
    .target = ADMIN_TO_ANY,
    .encode = encode_partitions,
    .on_response = on_partitions,
    .fail_item = fail_topic,
};

SAMSA_API samsa_err_t samsa_admin_create_partitions(samsa_admin_t *a,
                                                    const samsa_new_partitions_t *partitions,
                                                    size_t n, int validate_only, int timeout_ms,
                                                    samsa_topic_result_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (!a || !partitions || n == 0 || n > 100000 || timeout_ms < 1) {
        admin_set_last_error("create_partitions: needs a handle, 1 or more topics and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    admin_op_t *op = admin_op_new(a, &admin_create_partitions_kind, n, timeout_ms);
    samsa_new_partitions_t *copy = op ? arena_alloc(&op->in, n * sizeof(*copy)) : NULL;
    const char **names = op ? arena_alloc(&op->in, n * sizeof(*names)) : NULL;
    for (size_t i = 0; names && copy && i < n; i++) {
        if (!partitions[i].topic) {
            admin_op_unref(op);
            admin_set_last_error("create_partitions: topic %zu is NULL", i);
            return SAMSA_ERR__INVALID_ARG;
        }
        copy[i].topic = names[i] = admin_op_str(op, partitions[i].topic);
        copy[i].total_count = partitions[i].total_count;
    }
    if (names && copy)
        op->result = topic_results(names, n);
    if (!op || !op->result) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("create_partitions: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    op->args = copy;
    op->flags = validate_only ? ADMIN_F_VALIDATE_ONLY : 0;
    return run_topics(op, results);
}

/* ---- Metadata --------------------------------------------------------- */

typedef struct metadata_args {
    const char **topics;
    size_t count;
} metadata_args_t;

static samsa_err_t encode_metadata(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const metadata_args_t *m = op->args;
    const proto_api_t *api = proto_api(API_METADATA);
    metadata_request_t req;
    proto_init(api->request, &req);
    metadata_request_metadata_request_topic_t *topics = NULL;
    if (m->count) {
        topics = calloc(m->count, sizeof(*topics));
        if (!topics)
            return SAMSA_ERR__NOMEM;
        for (size_t k = 0; k < m->count; k++)
            topics[k].name = proto_str_of(m->topics[k]);
    }
    req.topics = topics;
    req.topics_count = (op->flags & ADMIN_F_ALL_TOPICS) ? -1 : (int32_t)m->count;
    req.allow_auto_topic_creation = false;
    samsa_err_t err = proto_encode(api->request, version, proto_api_flexible(api, version), &req,
                                   out, NULL);
    free(topics);
    return err;
}

static int cmp_broker(const void *x, const void *y)
{
    const samsa_broker_info_t *a = x, *b = y;
    return (a->node_id > b->node_id) - (a->node_id < b->node_id);
}

static int cmp_topic(const void *x, const void *y)
{
    return strcmp(((const samsa_topic_info_t *)x)->name, ((const samsa_topic_info_t *)y)->name);
}

static int cmp_partition(const void *x, const void *y)
{
    const samsa_partition_info_t *a = x, *b = y;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

/* A copy of n node ids in root's arena. */
static const int32_t *copy_ids(void *root, const int32_t *ids, int32_t n, size_t *count)
{
    *count = 0;
    if (n <= 0)
        return NULL;
    int32_t *out = arena_alloc(admin_result_arena(root), (size_t)n * sizeof(*out));
    if (!out)
        return NULL;
    memcpy(out, ids, (size_t)n * sizeof(*out));
    *count = (size_t)n;
    return out;
}

static bool fill_topic(samsa_cluster_info_t *info, samsa_topic_info_t *t,
                       const metadata_response_metadata_response_topic_t *mt, conn_t *c)
{
    arena_t *ar = admin_result_arena(info);
    t->name = admin_result_str(info, mt->name);
    if (!t->name)
        t->name = "";
    memcpy(t->topic_id, mt->topic_id.bytes, sizeof(t->topic_id));
    t->internal = mt->is_internal;
    t->err = mt->error_code;
    t->errstr = admin_result_error(info, t->name, mt->error_code, (proto_str_t){NULL, -1},
                                   conn_name(c));
    if (mt->partitions_count <= 0)
        return true;
    t->partitions = arena_alloc(ar, (size_t)mt->partitions_count * sizeof(*t->partitions));
    if (!t->partitions)
        return false;
    t->partition_count = (size_t)mt->partitions_count;
    for (int32_t k = 0; k < mt->partitions_count; k++) {
        const metadata_response_metadata_response_partition_t *mp = &mt->partitions[k];
        samsa_partition_info_t *p = &t->partitions[k];
        p->partition = mp->partition_index;
        p->err = mp->error_code;
        p->leader = mp->leader_id;
        p->leader_epoch = mp->leader_epoch;
        p->replicas = copy_ids(info, mp->replica_nodes, mp->replica_nodes_count, &p->replica_count);
        p->isr = copy_ids(info, mp->isr_nodes, mp->isr_nodes_count, &p->isr_count);
        p->offline_replicas = copy_ids(info, mp->offline_replicas, mp->offline_replicas_count,
                                       &p->offline_replica_count);
    }
    qsort(t->partitions, t->partition_count, sizeof(*t->partitions), cmp_partition);
    return true;
}

static enum admin_verdict on_metadata(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                      const void *resp)
{
    const metadata_response_t *m = resp;
    samsa_cluster_info_t *info = op->result;
    arena_t *ar = admin_result_arena(info);
    info->cluster_id = m->cluster_id.len >= 0 ? admin_result_str(info, m->cluster_id) : "";
    info->controller_id = m->controller_id;
    bool ok = true;
    if (m->brokers_count > 0) {
        info->brokers = arena_alloc(ar, (size_t)m->brokers_count * sizeof(*info->brokers));
        ok = info->brokers != NULL;
        for (int32_t k = 0; ok && k < m->brokers_count; k++) {
            samsa_broker_info_t *b = &info->brokers[info->broker_count++];
            b->node_id = m->brokers[k].node_id;
            b->host = admin_result_str(info, m->brokers[k].host);
            b->port = m->brokers[k].port;
            b->rack = admin_result_str(info, m->brokers[k].rack);
        }
        if (ok)
            qsort(info->brokers, info->broker_count, sizeof(*info->brokers), cmp_broker);
    }
    bool internal = (op->flags & ADMIN_F_INCLUDE_INTERNAL) || !(op->flags & ADMIN_F_ALL_TOPICS);
    if (ok && m->topics_count > 0) {
        info->topics = arena_alloc(ar, (size_t)m->topics_count * sizeof(*info->topics));
        ok = info->topics != NULL;
        for (int32_t k = 0; ok && k < m->topics_count; k++) {
            if (m->topics[k].is_internal && !internal)
                continue;
            ok = fill_topic(info, &info->topics[info->topic_count++], &m->topics[k], c);
        }
        if (ok)
            qsort(info->topics, info->topic_count, sizeof(*info->topics), cmp_topic);
    }
    if (!ok)
        admin_io_finish(op, SAMSA_ERR__NOMEM, "Metadata: out of memory for the result");
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_metadata_kind = {
    .name = "Metadata",
    .api_key = API_METADATA,
    .max_version = METADATA_MAX_VERSION,
    .target = ADMIN_TO_ANY,
    .encode = encode_metadata,
    .on_response = on_metadata,
};

static samsa_err_t run_metadata(samsa_admin_t *a, const char *const *topics, size_t n, int flags,
                                int timeout_ms, samsa_cluster_info_t **info)
{
    if (!info)
        return SAMSA_ERR__INVALID_ARG;
    *info = NULL;
    if (!a || timeout_ms < 1 || (n && !topics) || n > 100000) {
        admin_set_last_error("metadata: needs a handle, topics for n > 0 and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    admin_op_t *op = admin_op_new(a, &admin_metadata_kind, 1, timeout_ms);
    metadata_args_t *m = op ? arena_alloc(&op->in, sizeof(*m)) : NULL;
    const char **names = m && n ? arena_alloc(&op->in, n * sizeof(*names)) : NULL;
    if (!m || (n && !names)) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("metadata: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!topics[i]) {
            admin_op_unref(op);
            admin_set_last_error("list_topics: topic %zu is NULL", i);
            return SAMSA_ERR__INVALID_ARG;
        }
        names[i] = admin_op_str(op, topics[i]);
    }
    m->topics = names;
    m->count = n;
    op->args = m;
    op->flags = flags;
    op->result = admin_result_new(sizeof(samsa_cluster_info_t));
    if (!op->result) {
        admin_op_unref(op);
        admin_set_last_error("metadata: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    void *result = NULL;
    samsa_err_t err = admin_op_run(op, &result, NULL);
    *info = result;
    return err;
}

SAMSA_API samsa_err_t samsa_admin_describe_cluster(samsa_admin_t *a, int timeout_ms,
                                                   samsa_cluster_info_t **info)
{
    return run_metadata(a, NULL, 0, 0, timeout_ms, info);
}

SAMSA_API samsa_err_t samsa_admin_list_topics(samsa_admin_t *a, const char *const *topics,
                                              size_t n, int include_internal, int timeout_ms,
                                              samsa_cluster_info_t **info)
{
    int flags = (n ? 0 : ADMIN_F_ALL_TOPICS) | (include_internal ? ADMIN_F_INCLUDE_INTERNAL : 0);
    return run_metadata(a, topics, n, flags, timeout_ms, info);
}

/* ---- DescribeConfigs -------------------------------------------------- */

static int32_t config_node(admin_op_t *op, size_t i)
{
    const samsa_config_result_t *r = op->result;
    if (r[i].type != SAMSA_RESOURCE_BROKER || !r[i].name[0])
        return -1;
    char *end = NULL;
    long id = strtol(r[i].name, &end, 10);
    return (*end || id < 0 || id > INT32_MAX) ? -1 : (int32_t)id;
}

static samsa_err_t encode_configs(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const samsa_config_result_t *r = op->result;
    const proto_api_t *api = proto_api(API_DESCRIBE_CONFIGS);
    describe_configs_request_t req;
    proto_init(api->request, &req);
    describe_configs_request_describe_configs_resource_t res = {(int8_t)r[i].type,
                                                                proto_str_of(r[i].name), NULL, -1};
    req.resources = &res;
    req.resources_count = 1;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static void fail_config(admin_op_t *op, size_t i, samsa_err_t err, const char *errstr)
{
    samsa_config_result_t *r = op->result;
    r[i].err = err;
    r[i].errstr = admin_result_cstr(r, errstr);
}

static int cmp_entry(const void *x, const void *y)
{
    return strcmp(((const samsa_config_entry_t *)x)->name, ((const samsa_config_entry_t *)y)->name);
}

static enum admin_verdict on_configs(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                     const void *resp)
{
    const describe_configs_response_t *d = resp;
    samsa_config_result_t *r = op->result;
    if (d->results_count != 1) {
        fail_config(op, i, SAMSA_ERR__BAD_MSG, "describe configs: the answer has no result");
        return ADMIN_ITEM_DONE;
    }
    const describe_configs_response_describe_configs_result_t *dr = &d->results[0];
    char what[320];
    snprintf(what, sizeof(what), "describe configs of %s %s",
             r[i].type == SAMSA_RESOURCE_TOPIC ? "topic" : "broker", r[i].name);
    r[i].err = dr->error_code;
    r[i].errstr = admin_result_error(r, what, dr->error_code, dr->error_message, conn_name(c));
    if (dr->error_code || dr->configs_count <= 0)
        return ADMIN_ITEM_DONE;
    samsa_config_entry_t *e =
        arena_alloc(admin_result_arena(r), (size_t)dr->configs_count * sizeof(*e));
    if (!e) {
        fail_config(op, i, SAMSA_ERR__NOMEM, "describe configs: out of memory");
        return ADMIN_ITEM_DONE;
    }
    for (int32_t k = 0; k < dr->configs_count; k++) {
        const describe_configs_response_describe_configs_resource_result_t *cr = &dr->configs[k];
        e[k].name = admin_result_str(r, cr->name);
        if (!e[k].name)
            e[k].name = "";
        e[k].value = admin_result_str(r, cr->value);
        e[k].read_only = cr->read_only;
        e[k].is_sensitive = cr->is_sensitive;
        e[k].source = (samsa_config_source_t)cr->config_source;
        e[k].is_default = cr->config_source == SAMSA_CONFIG_SOURCE_DEFAULT;
    }
    qsort(e, (size_t)dr->configs_count, sizeof(*e), cmp_entry);
    r[i].entries = e;
    r[i].entry_count = (size_t)dr->configs_count;
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_describe_configs_kind = {
    .name = "DescribeConfigs",
    .api_key = API_DESCRIBE_CONFIGS,
    .max_version = -1,
    .target = ADMIN_TO_NODE,
    .node = config_node,
    .encode = encode_configs,
    .on_response = on_configs,
    .fail_item = fail_config,
};

SAMSA_API samsa_err_t samsa_admin_describe_configs(samsa_admin_t *a,
                                                   const samsa_config_resource_t *resources,
                                                   size_t n, int timeout_ms,
                                                   samsa_config_result_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (!a || !resources || n == 0 || n > 100000 || timeout_ms < 1) {
        admin_set_last_error("describe_configs: needs a handle, 1 or more resources and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if (!resources[i].name || (resources[i].type != SAMSA_RESOURCE_TOPIC &&
                                   resources[i].type != SAMSA_RESOURCE_BROKER)) {
            admin_set_last_error("describe_configs: resource %zu has no name or an unknown type", i);
            return SAMSA_ERR__INVALID_ARG;
        }
    admin_op_t *op = admin_op_new(a, &admin_describe_configs_kind, n, timeout_ms);
    samsa_config_result_t *r = op ? admin_result_new(n * sizeof(*r)) : NULL;
    if (!r) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("describe_configs: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        r[i].type = resources[i].type;
        r[i].name = admin_result_cstr(r, resources[i].name);
        r[i].errstr = "";
    }
    op->result = r;
    void *result = NULL;
    samsa_err_t err = admin_op_run(op, &result, NULL);
    *results = result;
    return err;
}
