/*
 * admin_groups.c: the admin calls about consumer groups:
 * samsa_admin_list_groups (ListGroups asked of every broker, since each
 * lists only the groups it coordinates) and samsa_admin_describe_groups
 * (DescribeGroups, one request per group to its coordinator), with the
 * consumer protocol's assignment bytes decoded into topic partitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "client/admin_int.h"
#include "proto/messages.h"

#define ASSIGNMENT_MAX_PARTITIONS 1000000

/* ---- ListGroups ------------------------------------------------------- */

typedef struct list_state {
    int32_t *nodes;   /* one item per broker */
    bool prepared;
} list_state_t;

/* Waits for metadata fetched after the call began, then makes one item
 * per broker it names. */
static bool list_ready(admin_op_t *op)
{
    list_state_t *s = (list_state_t *)op->args;
    if (s->prepared)
        return true;
    samsa_admin_t *a = op->admin;
    if (!admin_metadata_fresh(a, op->start_ms)) {
        cluster_want_refresh(&a->cluster);
        return false;
    }
    size_t n = (size_t)a->cluster.broker_count;
    admin_item_t *items = calloc(n ? n : 1, sizeof(*items));
    s->nodes = arena_alloc(&op->in, (n ? n : 1) * sizeof(*s->nodes));
    if (!items || !s->nodes) {
        free(items);
        admin_io_finish(op, SAMSA_ERR__NOMEM, "ListGroups: out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        s->nodes[i] = a->cluster.brokers[i].node_id;
        items[i].coordinator = -1;
        items[i].node = -1;
    }
    free(op->items);
    op->items = items;
    op->n = n;
    s->prepared = true;
    return true;
}

static int32_t list_node(admin_op_t *op, size_t i) { return ((list_state_t *)op->args)->nodes[i]; }

static samsa_err_t encode_list_groups(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const proto_api_t *api = proto_api(API_LIST_GROUPS);
    list_groups_request_t req;
    proto_init(api->request, &req);
    req.states_filter_count = 0;
    req.types_filter_count = 0;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static int cmp_listing(const void *x, const void *y)
{
    return strcmp(((const samsa_group_listing_t *)x)->group_id,
                  ((const samsa_group_listing_t *)y)->group_id);
}

static enum admin_verdict on_list_groups(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                         const void *resp)
{
    const list_groups_response_t *l = resp;
    if (admin_coordinator_error(l->error_code))
        return ADMIN_ITEM_RETRY;
    if (l->error_code) {
        admin_io_finish(op, l->error_code, "ListGroups: %s: %s (%s)", samsa_err_name(l->error_code),
                        samsa_err_str(l->error_code), conn_name(c));
        return ADMIN_ITEM_DONE;
    }
    samsa_group_list_t *list = op->result;
    size_t total = list->group_count + (size_t)(l->groups_count > 0 ? l->groups_count : 0);
    samsa_group_listing_t *g = arena_alloc(admin_result_arena(list), (total ? total : 1) * sizeof(*g));
    if (!g) {
        admin_io_finish(op, SAMSA_ERR__NOMEM, "ListGroups: out of memory");
        return ADMIN_ITEM_DONE;
    }
    if (list->group_count)
        memcpy(g, list->groups, list->group_count * sizeof(*g));
    for (int32_t k = 0; k < l->groups_count; k++) {
        const list_groups_response_listed_group_t *lg = &l->groups[k];
        samsa_group_listing_t *e = &g[list->group_count++];
        e->group_id = admin_result_str(list, lg->group_id);
        e->protocol_type = admin_result_str(list, lg->protocol_type);
        e->state = lg->group_state.len >= 0 ? admin_result_str(list, lg->group_state) : "";
        e->coordinator_id = conn_node_id(c);
        if (!e->group_id)
            e->group_id = "";
        if (!e->protocol_type)
            e->protocol_type = "";
    }
    qsort(g, list->group_count, sizeof(*g), cmp_listing);
    list->groups = g;
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_list_groups_kind = {
    .name = "ListGroups",
    .api_key = API_LIST_GROUPS,
    .max_version = -1,
    .target = ADMIN_TO_NODE,
    .ready = list_ready,
    .node = list_node,
    .encode = encode_list_groups,
    .on_response = on_list_groups,
};

SAMSA_API samsa_err_t samsa_admin_list_groups(samsa_admin_t *a, int timeout_ms,
                                              samsa_group_list_t **list)
{
    if (!list)
        return SAMSA_ERR__INVALID_ARG;
    *list = NULL;
    if (!a || timeout_ms < 1) {
        admin_set_last_error("list_groups: needs a handle and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    admin_op_t *op = admin_op_new(a, &admin_list_groups_kind, 0, timeout_ms);
    list_state_t *s = op ? arena_alloc(&op->in, sizeof(*s)) : NULL;
    if (s)
        op->result = admin_result_new(sizeof(samsa_group_list_t));
    if (!op || !op->result) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("list_groups: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    op->args = s;
    void *result = NULL;
    samsa_err_t err = admin_op_run(op, &result, NULL);
    *list = result;
    return err;
}

/* ---- DescribeGroups --------------------------------------------------- */

static const char *describe_group(admin_op_t *op, size_t i)
{
    return ((const samsa_group_description_t *)op->result)[i].group_id;
}

static void fail_group(admin_op_t *op, size_t i, samsa_err_t err, const char *errstr)
{
    samsa_group_description_t *g = op->result;
    g[i].err = err;
    g[i].errstr = admin_result_cstr(g, errstr);
}

static samsa_err_t encode_describe_groups(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const proto_api_t *api = proto_api(API_DESCRIBE_GROUPS);
    describe_groups_request_t req;
    proto_init(api->request, &req);
    proto_str_t group = proto_str_of(describe_group(op, i));
    req.groups = &group;
    req.groups_count = 1;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

/* Decodes a consumer protocol assignment (version, [topic, [partition]],
 * user data) into m->assigned. Bytes that do not parse leave it empty. */
static void decode_assignment(void *root, samsa_group_member_t *m, proto_bytes_t bytes)
{
    if (bytes.len < 2)
        return;
    reader_t r = reader_make(bytes.ptr, (size_t)bytes.len);
    (void)reader_i16(&r);
    int32_t topics = reader_i32(&r);
    size_t total = 0;
    reader_t count = r;
    for (int32_t t = 0; t < topics && reader_ok(&count); t++) {
        int16_t len = reader_i16(&count);
        reader_take(&count, len > 0 ? (size_t)len : 0);
        int32_t parts = reader_i32(&count);
        if (parts < 0 || parts > ASSIGNMENT_MAX_PARTITIONS)
            return;
        reader_take(&count, (size_t)parts * 4);
        total += (size_t)parts;
    }
    if (!reader_ok(&count) || topics < 0 || total > ASSIGNMENT_MAX_PARTITIONS)
        return;
    samsa_topic_partition_t *tp =
        arena_alloc(admin_result_arena(root), (total ? total : 1) * sizeof(*tp));
    if (!tp)
        return;
    size_t k = 0;
    for (int32_t t = 0; t < topics; t++) {
        int16_t len = reader_i16(&r);
        const uint8_t *name = reader_take(&r, len > 0 ? (size_t)len : 0);
        const char *topic = admin_result_str(root, (proto_str_t){(const char *)name, len > 0 ? len : 0});
        int32_t parts = reader_i32(&r);
        for (int32_t p = 0; p < parts; p++)
            tp[k++] = (samsa_topic_partition_t){.topic = topic ? topic : "", .partition = reader_i32(&r), .offset = -1};
    }
    m->assigned = tp;
    m->assigned_count = k;
}

/* A copy of bytes in root's arena (NULL for null or empty). */
static const void *copy_bytes(void *root, proto_bytes_t b, size_t *len)
{
    *len = 0;
    if (b.len <= 0)
        return NULL;
    void *p = arena_alloc(admin_result_arena(root), (size_t)b.len);
    if (!p)
        return NULL;
    memcpy(p, b.ptr, (size_t)b.len);
    *len = (size_t)b.len;
    return p;
}

static enum admin_verdict on_describe_groups(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                             const void *resp)
{
    const describe_groups_response_t *d = resp;
    samsa_group_description_t *root = op->result;
    samsa_group_description_t *g = &root[i];
    if (d->groups_count != 1) {
        fail_group(op, i, SAMSA_ERR__BAD_MSG, "describe group: the answer has no group");
        return ADMIN_ITEM_DONE;
    }
    const describe_groups_response_described_group_t *dg = &d->groups[0];
    if (admin_coordinator_error(dg->error_code))
        return ADMIN_ITEM_RETRY_COORDINATOR;
    char what[320];
    snprintf(what, sizeof(what), "describe group %s", g->group_id);
    g->err = dg->error_code;
    g->errstr = admin_result_error(root, what, dg->error_code, dg->error_message, conn_name(c));
    g->coordinator_id = conn_node_id(c);
    g->state = admin_result_str(root, dg->group_state);
    g->protocol_type = admin_result_str(root, dg->protocol_type);
    g->protocol = admin_result_str(root, dg->protocol_data);
    if (!g->state || (!g->state[0] && dg->error_code == SAMSA_ERR_GROUP_ID_NOT_FOUND))
        g->state = "Dead"; /* what brokers before DescribeGroups v6 say */
    if (!g->protocol_type)
        g->protocol_type = "";
    if (!g->protocol)
        g->protocol = "";
    if (dg->members_count <= 0)
        return ADMIN_ITEM_DONE;
    samsa_group_member_t *m =
        arena_alloc(admin_result_arena(root), (size_t)dg->members_count * sizeof(*m));
    if (!m) {
        fail_group(op, i, SAMSA_ERR__NOMEM, "describe group: out of memory");
        return ADMIN_ITEM_DONE;
    }
    bool consumer = !strcmp(g->protocol_type, "consumer");
    for (int32_t k = 0; k < dg->members_count; k++) {
        const describe_groups_response_described_group_member_t *dm = &dg->members[k];
        m[k].member_id = admin_result_str(root, dm->member_id);
        m[k].group_instance_id = admin_result_str(root, dm->group_instance_id);
        m[k].client_id = admin_result_str(root, dm->client_id);
        m[k].client_host = admin_result_str(root, dm->client_host);
        m[k].metadata = copy_bytes(root, dm->member_metadata, &m[k].metadata_len);
        m[k].assignment = copy_bytes(root, dm->member_assignment, &m[k].assignment_len);
        if (consumer)
            decode_assignment(root, &m[k], dm->member_assignment);
    }
    g->members = m;
    g->member_count = (size_t)dg->members_count;
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_describe_groups_kind = {
    .name = "DescribeGroups",
    .api_key = API_DESCRIBE_GROUPS,
    .max_version = -1,
    .target = ADMIN_TO_COORDINATOR,
    .group = describe_group,
    .encode = encode_describe_groups,
    .on_response = on_describe_groups,
    .fail_item = fail_group,
};

SAMSA_API samsa_err_t samsa_admin_describe_groups(samsa_admin_t *a, const char *const *groups,
                                                  size_t n, int timeout_ms,
                                                  samsa_group_description_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (!a || !groups || n == 0 || n > 100000 || timeout_ms < 1) {
        admin_set_last_error("describe_groups: needs a handle, 1 or more groups and timeout_ms >= 1");
        return SAMSA_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if (!groups[i] || !groups[i][0]) {
            admin_set_last_error("describe_groups: group %zu is NULL or empty", i);
            return SAMSA_ERR__INVALID_ARG;
        }
    admin_op_t *op = admin_op_new(a, &admin_describe_groups_kind, n, timeout_ms);
    samsa_group_description_t *g = op ? admin_result_new(n * sizeof(*g)) : NULL;
    if (!g) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("describe_groups: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        g[i].group_id = admin_result_cstr(g, groups[i]);
        g[i].errstr = "";
        g[i].state = "";
        g[i].protocol_type = "";
        g[i].protocol = "";
        g[i].coordinator_id = -1;
    }
    op->result = g;
    void *result = NULL;
    samsa_err_t err = admin_op_run(op, &result, NULL);
    *results = result;
    return err;
}
