/*
 * admin.c: the cluster-level APIs: Metadata (with topic auto-creation),
 * CreateTopics, DeleteTopics, CreatePartitions, DescribeCluster and
 * DescribeConfigs. This node is the only broker, the controller and the
 * leader of every partition, with epoch 0 and itself as the only replica.
 */
#include "broker/broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/slog.h"

/* Authorized-operation bit sets as Kafka reports them without an
 * authorizer, and the "not asked for" value. */
#define OPS_NOT_REQUESTED INT32_MIN
#define TOPIC_OPS ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11))
#define CLUSTER_OPS ((1 << 2) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12))

/* Config sources in DescribeConfigs and CreateTopics */
enum { SRC_TOPIC = 1, SRC_STATIC_BROKER = 4, SRC_DEFAULT = 5 };

/* Answers with an empty response when memory runs out (the client times
 * out and retries; nothing better can be said without memory). */
#define RESPONSE_OR_NONE(type, resp)                                           \
    type *resp = broker_response_new(req);                                     \
    if (!resp) {                                                               \
        slog_error(BROKER_MODULE, "out of memory answering %s", req->api->name); \
        broker_request_respond(req, NULL);                                     \
        return;                                                                \
    }

/* ---- Metadata --------------------------------------------------------- */

typedef metadata_response_metadata_response_topic_t md_topic_t;

static void metadata_topic(struct broker *b, broker_request_t *req, const proto_struct_t *topic_desc,
                           md_topic_t *out, broker_topic_t *t, int32_t *self, bool include_ops)
{
    out->error_code = 0;
    out->name = proto_str_of(t->name);
    out->topic_id = t->id;
    out->is_internal = t->internal;
    out->topic_authorized_operations = include_ops ? TOPIC_OPS : OPS_NOT_REQUESTED;
    out->partitions =
        BROKER_ARRAY(req, topic_desc, md_topic_t, partitions, t->partition_count);
    if (!out->partitions) {
        out->error_code = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    out->partitions_count = t->partition_count;
    for (int32_t p = 0; p < t->partition_count; p++) {
        metadata_response_metadata_response_partition_t *mp = &out->partitions[p];
        mp->partition_index = p;
        mp->leader_id = b->cfg.node_id;
        mp->leader_epoch = BROKER_LEADER_EPOCH;
        mp->replica_nodes = self;
        mp->replica_nodes_count = 1;
        mp->isr_nodes = self;
        mp->isr_nodes_count = 1;
        mp->offline_replicas_count = 0;
    }
}

void handle_metadata(struct broker *b, broker_request_t *req)
{
    const metadata_request_t *r = req->body;
    RESPONSE_OR_NONE(metadata_response_t, resp);
    const proto_struct_t *topic_desc =
        BROKER_SUB(&metadata_response_desc, metadata_response_t, topics);
    int32_t *self = arena_alloc(&req->arena, sizeof(int32_t));
    resp->brokers = BROKER_ARRAY(req, &metadata_response_desc, metadata_response_t, brokers, 1);
    if (!self || !resp->brokers) {
        broker_request_respond(req, NULL);
        return;
    }
    *self = b->cfg.node_id;
    resp->brokers_count = 1;
    resp->brokers[0].node_id = b->cfg.node_id;
    resp->brokers[0].host = proto_str_of(b->advertised_host);
    resp->brokers[0].port = b->advertised_port;
    resp->cluster_id = proto_str_of(b->cluster_id);
    resp->controller_id = b->cfg.node_id;
    resp->cluster_authorized_operations =
        r->include_cluster_authorized_operations ? CLUSTER_OPS : OPS_NOT_REQUESTED;
    bool ops = r->include_topic_authorized_operations;
    bool all = r->topics_count < 0 || (req->api_version == 0 && r->topics_count == 0);
    int32_t count = all ? (int32_t)b->topic_count : r->topics_count;
    resp->topics = BROKER_ARRAY(req, &metadata_response_desc, metadata_response_t, topics, count);
    resp->topics_count = resp->topics ? count : 0;
    /* auto-creation: the broker allows it, and (v4+) the client asks for it */
    bool may_create =
        b->cfg.auto_create_topics && (req->api_version < 4 || r->allow_auto_topic_creation);
    for (int32_t i = 0; i < resp->topics_count; i++) {
        md_topic_t *out = &resp->topics[i];
        if (all) {
            metadata_topic(b, req, topic_desc, out, b->topics[i], self, ops);
            continue;
        }
        const metadata_request_metadata_request_topic_t *rt = &r->topics[i];
        out->topic_authorized_operations = OPS_NOT_REQUESTED;
        broker_topic_t *t;
        if (rt->name.len < 0) {
            /* by id (v10+) */
            t = topic_find_id(b, &rt->topic_id);
            out->topic_id = rt->topic_id;
            if (!t) {
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
        } else {
            t = topic_find(b, rt->name);
            out->name = rt->name;
        }
        char why[256];
        if (!t && topic_name_check(rt->name, why, sizeof(why))) {
            out->error_code = SAMSA_ERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        if (!t && may_create) {
            samsa_err_t err = topic_create(b, rt->name, b->cfg.num_partitions, NULL, 0, false,
                                           &t, why, sizeof(why));
            if (err) {
                slog_warn(BROKER_MODULE, "auto-creating %.*s: %s", (int)rt->name.len,
                          rt->name.ptr, why);
                out->error_code = (int16_t)err;
                continue;
            }
        }
        if (!t) {
            out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        metadata_topic(b, req, topic_desc, out, t, self, ops);
    }
    broker_request_respond(req, resp);
}

/* ---- CreateTopics ------------------------------------------------------- */

typedef struct describe_collect {
    broker_request_t *req;
    create_topics_response_creatable_topic_configs_t *items;
    int32_t count, cap;
    const broker_topic_t *topic;
} describe_collect_t;

static void collect_topic_config(void *opaque, const config_describe_t *d)
{
    describe_collect_t *dc = opaque;
    if (dc->count >= dc->cap)
        return;
    create_topics_response_creatable_topic_configs_t *c = &dc->items[dc->count++];
    c->name = proto_str_of(d->name);
    c->value = broker_arena_str(dc->req, d->value);
    c->read_only = false;
    c->config_source = d->is_default ? SRC_DEFAULT : SRC_TOPIC;
    c->is_sensitive = false;
}

void handle_create_topics(struct broker *b, broker_request_t *req)
{
    const create_topics_request_t *r = req->body;
    RESPONSE_OR_NONE(create_topics_response_t, resp);
    const proto_struct_t *result_desc =
        BROKER_SUB(&create_topics_response_desc, create_topics_response_t, topics);
    int32_t n = r->topics_count > 0 ? r->topics_count : 0;
    resp->topics =
        BROKER_ARRAY(req, &create_topics_response_desc, create_topics_response_t, topics, n);
    resp->topics_count = resp->topics ? n : 0;
    for (int32_t i = 0; i < resp->topics_count; i++) {
        const create_topics_request_creatable_topic_t *rt = &r->topics[i];
        create_topics_response_creatable_topic_result_t *out = &resp->topics[i];
        char why[512] = "";
        samsa_err_t err = SAMSA_ERR_NONE;
        out->name = rt->name;
        for (int32_t j = 0; j < r->topics_count; j++)
            if (j != i && r->topics[j].name.len == rt->name.len &&
                memcmp(r->topics[j].name.ptr, rt->name.ptr, (size_t)rt->name.len) == 0) {
                err = SAMSA_ERR_INVALID_REQUEST;
                snprintf(why, sizeof(why), "Create topics request from client contains "
                                           "multiple entries for the same topic.");
            }
        int32_t partitions = rt->num_partitions == -1 ? b->cfg.num_partitions : rt->num_partitions;
        if (!err && rt->assignments_count > 0) {
            partitions = rt->assignments_count;
            for (int32_t a = 0; a < rt->assignments_count && !err; a++) {
                const create_topics_request_creatable_replica_assignment_t *as =
                    &rt->assignments[a];
                if (as->partition_index != a || as->broker_ids_count != 1 ||
                    as->broker_ids[0] != b->cfg.node_id) {
                    err = SAMSA_ERR_INVALID_REPLICA_ASSIGNMENT;
                    snprintf(why, sizeof(why), "Every partition must be assigned to node %d only.",
                             (int)b->cfg.node_id);
                }
            }
        }
        if (!err && rt->replication_factor != -1 && rt->replication_factor != 1) {
            err = SAMSA_ERR_INVALID_REPLICATION_FACTOR;
            snprintf(why, sizeof(why), "Replication factor must be 1: this cluster has one node.");
        }
        topic_config_kv_t *kv = NULL;
        int32_t nkv = rt->configs_count > 0 ? rt->configs_count : 0;
        if (!err && nkv > 0 && !(kv = arena_alloc(&req->arena, (size_t)nkv * sizeof(*kv))))
            err = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
        for (int32_t c = 0; !err && c < nkv; c++) {
            kv[c].key = proto_str_dup(&req->arena, rt->configs[c].name);
            kv[c].value = proto_str_dup(&req->arena, rt->configs[c].value);
            if (!kv[c].key)
                err = SAMSA_ERR_INVALID_CONFIG;
        }
        broker_topic_t *t = NULL;
        if (!err)
            err = topic_create(b, rt->name, partitions, kv, (size_t)nkv, r->validate_only, &t,
                               why, sizeof(why));
        out->error_code = (int16_t)err;
        if (err) {
            out->error_message = broker_arena_str(req, why);
            out->num_partitions = -1;
            out->replication_factor = -1;
            continue;
        }
        out->num_partitions = partitions;
        out->replication_factor = 1;
        if (t) {
            out->topic_id = t->id;
            describe_collect_t dc = {req, NULL, 0, 32, t};
            dc.items = BROKER_ARRAY(req, result_desc, create_topics_response_creatable_topic_result_t,
                                    configs, dc.cap);
            if (dc.items) {
                topic_config_describe(b, t, collect_topic_config, &dc);
                out->configs = dc.items;
                out->configs_count = dc.count;
            }
        }
    }
    broker_request_respond(req, resp);
}

/* ---- DeleteTopics ------------------------------------------------------- */

void handle_delete_topics(struct broker *b, broker_request_t *req)
{
    const delete_topics_request_t *r = req->body;
    RESPONSE_OR_NONE(delete_topics_response_t, resp);
    bool by_state = req->api_version >= 6;
    int32_t n = by_state ? r->topics_count : r->topic_names_count;
    if (n < 0)
        n = 0;
    resp->responses =
        BROKER_ARRAY(req, &delete_topics_response_desc, delete_topics_response_t, responses, n);
    resp->responses_count = resp->responses ? n : 0;
    for (int32_t i = 0; i < resp->responses_count; i++) {
        delete_topics_response_deletable_topic_result_t *out = &resp->responses[i];
        broker_topic_t *t;
        if (by_state && r->topics[i].name.len < 0) {
            out->topic_id = r->topics[i].topic_id;
            t = topic_find_id(b, &r->topics[i].topic_id);
            if (!t) {
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
            out->name = broker_arena_str(req, t->name);
        } else {
            out->name = by_state ? r->topics[i].name : r->topic_names[i];
            t = topic_find(b, out->name);
            if (!t) {
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
        }
        out->topic_id = t->id;
        if (!b->cfg.delete_topic_enable) {
            out->error_code = SAMSA_ERR_TOPIC_DELETION_DISABLED;
            continue;
        }
        if (t->internal) {
            out->error_code = SAMSA_ERR_INVALID_TOPIC_EXCEPTION;
            out->error_message = proto_str_of("Internal topics cannot be deleted.");
            continue;
        }
        if (topic_delete(b, t))
            out->error_code = SAMSA_ERR_KAFKA_STORAGE_ERROR;
    }
    broker_request_respond(req, resp);
}

/* ---- CreatePartitions ---------------------------------------------------- */

void handle_create_partitions(struct broker *b, broker_request_t *req)
{
    const create_partitions_request_t *r = req->body;
    RESPONSE_OR_NONE(create_partitions_response_t, resp);
    int32_t n = r->topics_count > 0 ? r->topics_count : 0;
    resp->results = BROKER_ARRAY(req, &create_partitions_response_desc,
                                 create_partitions_response_t, results, n);
    resp->results_count = resp->results ? n : 0;
    for (int32_t i = 0; i < resp->results_count; i++) {
        const create_partitions_request_create_partitions_topic_t *rt = &r->topics[i];
        create_partitions_response_create_partitions_topic_result_t *out = &resp->results[i];
        out->name = rt->name;
        broker_topic_t *t = topic_find(b, rt->name);
        char why[512];
        samsa_err_t err;
        if (!t) {
            err = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            snprintf(why, sizeof(why), "The topic does not exist.");
        } else if (rt->assignments_count > 0 &&
                   rt->assignments_count != rt->count - t->partition_count) {
            err = SAMSA_ERR_INVALID_REPLICA_ASSIGNMENT;
            snprintf(why, sizeof(why), "One assignment per new partition is needed.");
        } else {
            err = topic_add_partitions(b, t, rt->count, r->validate_only, why, sizeof(why));
        }
        out->error_code = (int16_t)err;
        if (err)
            out->error_message = broker_arena_str(req, why);
    }
    broker_request_respond(req, resp);
}

/* ---- DescribeCluster ------------------------------------------------------ */

void handle_describe_cluster(struct broker *b, broker_request_t *req)
{
    const describe_cluster_request_t *r = req->body;
    RESPONSE_OR_NONE(describe_cluster_response_t, resp);
    resp->endpoint_type = r->endpoint_type;
    resp->cluster_id = proto_str_of(b->cluster_id);
    resp->controller_id = b->cfg.node_id;
    resp->cluster_authorized_operations =
        r->include_cluster_authorized_operations ? CLUSTER_OPS : OPS_NOT_REQUESTED;
    resp->brokers = BROKER_ARRAY(req, &describe_cluster_response_desc,
                                 describe_cluster_response_t, brokers, 1);
    if (resp->brokers) {
        resp->brokers_count = 1;
        resp->brokers[0].broker_id = b->cfg.node_id;
        resp->brokers[0].host = proto_str_of(b->advertised_host);
        resp->brokers[0].port = b->advertised_port;
    }
    broker_request_respond(req, resp);
}

/* ---- DescribeConfigs ------------------------------------------------------ */

enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4 };

typedef describe_configs_response_describe_configs_resource_result_t dc_entry_t;

typedef struct dc_collect {
    broker_request_t *req;
    const describe_configs_request_t *r;
    const describe_configs_request_describe_configs_resource_t *res;
    const proto_struct_t *entry_desc;
    dc_entry_t *items;
    int32_t count, cap;
    bool topic;
} dc_collect_t;

static void collect_describe(void *opaque, const config_describe_t *d)
{
    dc_collect_t *dc = opaque;
    if (dc->res->configuration_keys_count >= 0) {
        bool wanted = false;
        for (int32_t i = 0; i < dc->res->configuration_keys_count && !wanted; i++)
            wanted = proto_str_eq(dc->res->configuration_keys[i], d->name);
        if (!wanted)
            return;
    }
    if (dc->count >= dc->cap)
        return;
    dc_entry_t *e = &dc->items[dc->count++];
    e->name = proto_str_of(d->name);
    e->value = broker_arena_str(dc->req, d->value);
    e->read_only = dc->topic ? false : d->read_only;
    e->config_source = d->is_default ? SRC_DEFAULT : dc->topic ? SRC_TOPIC : SRC_STATIC_BROKER;
    e->is_sensitive = false;
    e->config_type = d->type;
    if (dc->r->include_documentation)
        e->documentation = proto_str_of(d->doc);
    if (dc->r->include_synonyms) {
        describe_configs_response_describe_configs_synonym_t *syn =
            BROKER_ARRAY(dc->req, dc->entry_desc, dc_entry_t, synonyms, 1);
        if (syn) {
            syn->name = e->name;
            syn->value = e->value;
            syn->source = e->config_source;
            e->synonyms = syn;
            e->synonyms_count = 1;
        }
    }
}

void handle_describe_configs(struct broker *b, broker_request_t *req)
{
    const describe_configs_request_t *r = req->body;
    RESPONSE_OR_NONE(describe_configs_response_t, resp);
    const proto_struct_t *result_desc =
        BROKER_SUB(&describe_configs_response_desc, describe_configs_response_t, results);
    const proto_struct_t *entry_desc = BROKER_SUB(
        result_desc, describe_configs_response_describe_configs_result_t, configs);
    int32_t n = r->resources_count > 0 ? r->resources_count : 0;
    resp->results = BROKER_ARRAY(req, &describe_configs_response_desc,
                                 describe_configs_response_t, results, n);
    resp->results_count = resp->results ? n : 0;
    char node[16];
    snprintf(node, sizeof(node), "%d", (int)b->cfg.node_id);
    for (int32_t i = 0; i < resp->results_count; i++) {
        const describe_configs_request_describe_configs_resource_t *res = &r->resources[i];
        describe_configs_response_describe_configs_result_t *out = &resp->results[i];
        out->resource_type = res->resource_type;
        out->resource_name = res->resource_name;
        dc_collect_t dc = {req, r, res, entry_desc, NULL, 0, 128, false};
        dc.items = BROKER_ARRAY(req, result_desc,
                                describe_configs_response_describe_configs_result_t, configs,
                                dc.cap);
        if (!dc.items) {
            out->error_code = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        if (res->resource_type == RESOURCE_TOPIC) {
            broker_topic_t *t = topic_find(b, res->resource_name);
            if (!t) {
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                out->error_message = proto_str_of("The topic does not exist.");
                continue;
            }
            dc.topic = true;
            topic_config_describe(b, t, collect_describe, &dc);
        } else if (res->resource_type == RESOURCE_BROKER &&
                   (res->resource_name.len == 0 || proto_str_eq(res->resource_name, node))) {
            broker_config_describe(b, collect_describe, &dc);
        } else {
            out->error_code = SAMSA_ERR_INVALID_REQUEST;
            out->error_message = proto_str_of("Unknown resource type or broker id.");
            continue;
        }
        out->configs = dc.items;
        out->configs_count = dc.count;
    }
    broker_request_respond(req, resp);
}
