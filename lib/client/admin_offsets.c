/*
 * admin_offsets.c: the admin calls about offsets:
 * samsa_admin_list_offsets (ListOffsets) and samsa_admin_delete_records
 * (DeleteRecords), one request per partition to its leader; and a group's
 * committed offsets, samsa_admin_list_group_offsets (OffsetFetch) and
 * samsa_admin_alter_group_offsets (OffsetCommit as an admin: generation -1,
 * no member), one request to the group's coordinator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"
#include "proto/messages.h"

#define OFFSET_FETCH_MAX_VERSION 9  /* v10 names topics by id */
#define OFFSET_COMMIT_MAX_VERSION 9 /* v10 names topics by id */

/* A result array for n partitions, topic and partition copied from in. */
static samsa_offset_result_t *offset_results(const samsa_partition_offset_t *in, size_t n)
{
    samsa_offset_result_t *r = admin_result_new((n ? n : 1) * sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        r[i].topic = admin_result_cstr(r, in[i].topic);
        r[i].partition = in[i].partition;
        r[i].errstr = "";
        r[i].offset = -1;
        r[i].timestamp_ms = -1;
        r[i].leader_epoch = -1;
    }
    return r;
}

static void fail_offset(admin_op_t *op, size_t i, samsa_err_t err, const char *errstr)
{
    samsa_offset_result_t *r = op->result;
    r[i].err = err;
    r[i].errstr = admin_result_cstr(r, errstr);
}

static void item_partition(admin_op_t *op, size_t i, const char **topic, int32_t *partition)
{
    const samsa_offset_result_t *r = op->result;
    *topic = r[i].topic;
    *partition = r[i].partition;
}

/* Checks a partition list; sets the last error naming the bad entry. */
static bool partitions_ok(const char *call, const samsa_partition_offset_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!in[i].topic || !in[i].topic[0] || in[i].partition < 0) {
            admin_set_last_error("%s: entry %zu has no topic or a negative partition", call, i);
            return false;
        }
    return true;
}

/* Makes and runs a per-partition operation of kind over in. */
static samsa_err_t run_partitions(samsa_admin_t *a, const admin_kind_t *kind, const char *call,
                                  const samsa_partition_offset_t *in, size_t n, int timeout_ms,
                                  samsa_offset_result_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (!a || !in || n == 0 || n > 1000000 || timeout_ms < 1) {
        admin_set_last_error("%s: needs a handle, 1 or more partitions and timeout_ms >= 1", call);
        return SAMSA_ERR__INVALID_ARG;
    }
    if (!partitions_ok(call, in, n))
        return SAMSA_ERR__INVALID_ARG;
    admin_op_t *op = admin_op_new(a, kind, n, timeout_ms);
    int64_t *offsets = op ? arena_alloc(&op->in, n * sizeof(*offsets)) : NULL;
    if (offsets)
        op->result = offset_results(in, n);
    if (!op || !op->result) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("%s: out of memory", call);
        return SAMSA_ERR__NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        offsets[i] = in[i].offset;
    op->args = offsets;
    void *result = NULL;
    samsa_err_t err = admin_op_run(op, &result, NULL);
    *results = result;
    return err;
}

/* Fills result i from a partition's error code; leader errors retry. */
static enum admin_verdict partition_answer(admin_op_t *op, size_t i, conn_t *c, int16_t code,
                                           const char *api)
{
    if (admin_leader_error(code))
        return ADMIN_ITEM_RETRY_METADATA;
    if (code == SAMSA_ERR_REQUEST_TIMED_OUT)
        return ADMIN_ITEM_RETRY;
    samsa_offset_result_t *r = op->result;
    char what[320];
    snprintf(what, sizeof(what), "%s %s [%d]", api, r[i].topic, (int)r[i].partition);
    r[i].err = code;
    r[i].errstr = admin_result_error(r, what, code, (proto_str_t){NULL, -1}, conn_name(c));
    return ADMIN_ITEM_DONE;
}

/* ---- ListOffsets ------------------------------------------------------ */

static samsa_err_t encode_list_offsets(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const samsa_offset_result_t *r = op->result;
    const int64_t *specs = op->args;
    const proto_api_t *api = proto_api(API_LIST_OFFSETS);
    list_offsets_request_t req;
    proto_init(api->request, &req);
    list_offsets_request_list_offsets_partition_t p = {r[i].partition, -1, specs[i]};
    list_offsets_request_list_offsets_topic_t t = {proto_str_of(r[i].topic), &p, 1};
    req.replica_id = -1;
    req.topics = &t;
    req.topics_count = 1;
    req.timeout_ms = op->timeout_ms;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static enum admin_verdict on_list_offsets(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                          const void *resp)
{
    const list_offsets_response_t *l = resp;
    samsa_offset_result_t *r = op->result;
    for (int32_t t = 0; t < l->topics_count; t++) {
        if (!proto_str_eq(l->topics[t].name, r[i].topic))
            continue;
        for (int32_t k = 0; k < l->topics[t].partitions_count; k++) {
            const list_offsets_response_list_offsets_partition_response_t *p =
                &l->topics[t].partitions[k];
            if (p->partition_index != r[i].partition)
                continue;
            enum admin_verdict v = partition_answer(op, i, c, p->error_code, "list offsets of");
            if (v == ADMIN_ITEM_DONE && !p->error_code) {
                r[i].offset = p->offset;
                r[i].timestamp_ms = p->timestamp;
                r[i].leader_epoch = p->leader_epoch;
            }
            return v;
        }
    }
    fail_offset(op, i, SAMSA_ERR__BAD_MSG, "list offsets: the answer does not name the partition");
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_list_offsets_kind = {
    .name = "ListOffsets",
    .api_key = API_LIST_OFFSETS,
    .max_version = -1,
    .target = ADMIN_TO_LEADER,
    .partition = item_partition,
    .encode = encode_list_offsets,
    .on_response = on_list_offsets,
    .fail_item = fail_offset,
};

SAMSA_API samsa_err_t samsa_admin_list_offsets(samsa_admin_t *a,
                                               const samsa_partition_offset_t *specs, size_t n,
                                               int timeout_ms, samsa_offset_result_t **results)
{
    for (size_t i = 0; specs && i < n; i++)
        if (specs[i].offset < SAMSA_OFFSET_SPEC_MAX_TIMESTAMP) {
            admin_set_last_error("list_offsets: entry %zu: %lld is neither a timestamp nor a spec",
                                 i, (long long)specs[i].offset);
            if (results)
                *results = NULL;
            return SAMSA_ERR__INVALID_ARG;
        }
    return run_partitions(a, &admin_list_offsets_kind, "list_offsets", specs, n, timeout_ms,
                          results);
}

/* ---- DeleteRecords ---------------------------------------------------- */

static samsa_err_t encode_delete_records(admin_op_t *op, size_t i, int16_t version, buf_t *out)
{
    const samsa_offset_result_t *r = op->result;
    const int64_t *before = op->args;
    const proto_api_t *api = proto_api(API_DELETE_RECORDS);
    delete_records_request_t req;
    proto_init(api->request, &req);
    delete_records_request_delete_records_partition_t p = {r[i].partition, before[i]};
    delete_records_request_delete_records_topic_t t = {proto_str_of(r[i].topic), &p, 1};
    req.topics = &t;
    req.topics_count = 1;
    req.timeout_ms = op->timeout_ms;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static enum admin_verdict on_delete_records(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                            const void *resp)
{
    const delete_records_response_t *d = resp;
    samsa_offset_result_t *r = op->result;
    for (int32_t t = 0; t < d->topics_count; t++) {
        if (!proto_str_eq(d->topics[t].name, r[i].topic))
            continue;
        for (int32_t k = 0; k < d->topics[t].partitions_count; k++) {
            const delete_records_response_delete_records_partition_result_t *p =
                &d->topics[t].partitions[k];
            if (p->partition_index != r[i].partition)
                continue;
            enum admin_verdict v = partition_answer(op, i, c, p->error_code, "delete records of");
            if (v == ADMIN_ITEM_DONE && !p->error_code)
                r[i].offset = p->low_watermark;
            return v;
        }
    }
    fail_offset(op, i, SAMSA_ERR__BAD_MSG, "delete records: the answer does not name the partition");
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_delete_records_kind = {
    .name = "DeleteRecords",
    .api_key = API_DELETE_RECORDS,
    .max_version = -1,
    .target = ADMIN_TO_LEADER,
    .partition = item_partition,
    .encode = encode_delete_records,
    .on_response = on_delete_records,
    .fail_item = fail_offset,
};

SAMSA_API samsa_err_t samsa_admin_delete_records(samsa_admin_t *a,
                                                 const samsa_partition_offset_t *before, size_t n,
                                                 int timeout_ms, samsa_offset_result_t **results)
{
    for (size_t i = 0; before && i < n; i++)
        if (before[i].offset < -1) {
            admin_set_last_error("delete_records: entry %zu: offset %lld is below -1", i,
                                 (long long)before[i].offset);
            if (results)
                *results = NULL;
            return SAMSA_ERR__INVALID_ARG;
        }
    return run_partitions(a, &admin_delete_records_kind, "delete_records", before, n, timeout_ms,
                          results);
}

/* ---- group offsets ---------------------------------------------------- */

static const char *op_group(admin_op_t *op, size_t i) { return op->group; }

/* The indexes 0..n-1 of r ordered so that each topic's partitions are
 * together (topics in order of first appearance), malloc'd into *order
 * (the caller frees it). Returns the number of topics, -1 on no memory. */
static int group_topics(const samsa_offset_result_t *r, size_t n, size_t **order)
{
    size_t *o = malloc((n ? n : 1) * sizeof(*o));
    if (!o)
        return -1;
    size_t k = 0;
    int topics = 0;
    bool *taken = calloc(n ? n : 1, sizeof(*taken));
    if (!taken) {
        free(o);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (taken[i])
            continue;
        topics++;
        for (size_t j = i; j < n; j++)
            if (!taken[j] && !strcmp(r[j].topic, r[i].topic)) {
                taken[j] = true;
                o[k++] = j;
            }
    }
    free(taken);
    *order = o;
    return topics;
}

static samsa_err_t encode_offset_fetch(admin_op_t *op, size_t item, int16_t version, buf_t *out)
{
    const samsa_offset_result_t *r = op->result;
    size_t n = (op->flags & ADMIN_F_ALL_TOPICS) ? 0 : op->result_count;
    size_t *order = NULL;
    int nt = group_topics(r, n, &order);
    if (nt < 0)
        return SAMSA_ERR__NOMEM;
    const proto_api_t *api = proto_api(API_OFFSET_FETCH);
    offset_fetch_request_t req;
    proto_init(api->request, &req);
    offset_fetch_request_offset_fetch_request_topic_t *old = calloc((size_t)nt + 1, sizeof(*old));
    offset_fetch_request_offset_fetch_request_topics_t *cur = calloc((size_t)nt + 1, sizeof(*cur));
    int32_t *parts = calloc(n + 1, sizeof(*parts));
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!old || !cur || !parts)
        goto out;
    int t = -1;
    for (size_t k = 0; k < n; k++) {
        const samsa_offset_result_t *e = &r[order[k]];
        if (t < 0 || !proto_str_eq(old[t].name, e->topic)) {
            t++;
            old[t].name = cur[t].name = proto_str_of(e->topic);
            old[t].partition_indexes = cur[t].partition_indexes = &parts[k];
        }
        parts[k] = e->partition;
        old[t].partition_indexes_count++;
        cur[t].partition_indexes_count++;
    }
    bool all = (op->flags & ADMIN_F_ALL_TOPICS) != 0;
    offset_fetch_request_offset_fetch_request_group_t g;
    memset(&g, 0, sizeof(g));
    g.group_id = proto_str_of(op->group);
    g.member_id = (proto_str_t){NULL, -1};
    g.member_epoch = -1;
    g.topics = all ? NULL : cur;
    g.topics_count = all ? -1 : nt;
    req.group_id = g.group_id;
    req.topics = all ? NULL : old;
    req.topics_count = all ? -1 : nt;
    req.groups = &g;
    req.groups_count = 1;
    err = proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
out:
    free(order);
    free(old);
    free(cur);
    free(parts);
    return err;
}

/* Copies one committed offset into result slot e. */
static void fill_committed(samsa_offset_result_t *root, samsa_offset_result_t *e, int64_t offset,
                           int32_t epoch, proto_str_t metadata, int16_t code, const char *group,
                           conn_t *c)
{
    e->err = code;
    char what[400];
    snprintf(what, sizeof(what), "committed offset of group %s for %s [%d]", group, e->topic,
             (int)e->partition);
    e->errstr = admin_result_error(root, what, code, (proto_str_t){NULL, -1}, conn_name(c));
    e->offset = offset;
    e->leader_epoch = epoch;
    e->metadata = admin_result_str(root, metadata);
}

/* The flat partition list of an OffsetFetch answer (v1-7 or v8+). */
typedef struct fetched {
    proto_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t epoch;
    proto_str_t metadata;
    int16_t code;
} fetched_t;

static size_t flatten_fetch(const offset_fetch_response_t *f, int16_t version, fetched_t *out,
                            size_t cap, int16_t *group_error)
{
    size_t n = 0;
    if (version >= 8) {
        *group_error = f->groups_count == 1 ? f->groups[0].error_code : SAMSA_ERR__BAD_MSG;
        if (f->groups_count != 1)
            return 0;
        const offset_fetch_response_offset_fetch_response_group_t *g = &f->groups[0];
        for (int32_t t = 0; t < g->topics_count; t++)
            for (int32_t k = 0; k < g->topics[t].partitions_count; k++, n++)
                if (n < cap) {
                    const offset_fetch_response_offset_fetch_response_partitions_t *p =
                        &g->topics[t].partitions[k];
                    out[n] = (fetched_t){g->topics[t].name, p->partition_index,
                                         p->committed_offset, p->committed_leader_epoch,
                                         p->metadata, p->error_code};
                }
        return n;
    }
    *group_error = f->error_code;
    for (int32_t t = 0; t < f->topics_count; t++)
        for (int32_t k = 0; k < f->topics[t].partitions_count; k++, n++)
            if (n < cap) {
                const offset_fetch_response_offset_fetch_response_partition_t *p =
                    &f->topics[t].partitions[k];
                out[n] = (fetched_t){f->topics[t].name, p->partition_index, p->committed_offset,
                                     p->committed_leader_epoch, p->metadata, p->error_code};
            }
    return n;
}

static int cmp_offset_result(const void *x, const void *y)
{
    const samsa_offset_result_t *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

static enum admin_verdict on_offset_fetch(admin_op_t *op, size_t item, conn_t *c, int16_t version,
                                          const void *resp)
{
    int16_t gerr = 0;
    size_t total = flatten_fetch(resp, version, NULL, 0, &gerr);
    if (admin_coordinator_error(gerr))
        return ADMIN_ITEM_RETRY_COORDINATOR;
    if (gerr) {
        admin_io_finish(op, gerr, "committed offsets of group %s: %s: %s (%s)", op->group,
                        samsa_err_name(gerr), samsa_err_str(gerr), conn_name(c));
        return ADMIN_ITEM_DONE;
    }
    fetched_t *f = calloc(total + 1, sizeof(*f));
    if (!f) {
        admin_io_finish(op, SAMSA_ERR__NOMEM, "committed offsets: out of memory");
        return ADMIN_ITEM_DONE;
    }
    flatten_fetch(resp, version, f, total, &gerr);
    for (size_t k = 0; k < total; k++)
        if (admin_coordinator_error(f[k].code)) {
            free(f);
            return ADMIN_ITEM_RETRY_COORDINATOR;
        }
    samsa_offset_result_t *r = op->result;
    if (op->flags & ADMIN_F_ALL_TOPICS) {
        samsa_offset_result_t *all = admin_result_new((total + 1) * sizeof(*all));
        if (!all) {
            free(f);
            admin_io_finish(op, SAMSA_ERR__NOMEM, "committed offsets: out of memory");
            return ADMIN_ITEM_DONE;
        }
        for (size_t k = 0; k < total; k++) {
            all[k].topic = admin_result_str(all, f[k].topic);
            if (!all[k].topic)
                all[k].topic = "";
            all[k].partition = f[k].partition;
            all[k].timestamp_ms = -1;
            fill_committed(all, &all[k], f[k].offset, f[k].epoch, f[k].metadata, f[k].code,
                           op->group, c);
        }
        qsort(all, total, sizeof(*all), cmp_offset_result);
        admin_result_free(op->result);
        op->result = all;
        op->result_count = total;
    } else {
        for (size_t i = 0; i < op->result_count; i++) {
            size_t k = 0;
            while (k < total && !(f[k].partition == r[i].partition && proto_str_eq(f[k].topic, r[i].topic)))
                k++;
            if (k < total)
                fill_committed(r, &r[i], f[k].offset, f[k].epoch, f[k].metadata, f[k].code,
                               op->group, c);
        }
    }
    free(f);
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_offset_fetch_kind = {
    .name = "OffsetFetch",
    .api_key = API_OFFSET_FETCH,
    .max_version = OFFSET_FETCH_MAX_VERSION,
    .target = ADMIN_TO_COORDINATOR,
    .group = op_group,
    .encode = encode_offset_fetch,
    .on_response = on_offset_fetch,
};

/* Makes a one-item group operation over n partitions (offsets may be
 * NULL). NULL with the last error set on failure (*err says which). */
static admin_op_t *group_op(samsa_admin_t *a, const admin_kind_t *kind, const char *call,
                            const char *group, const samsa_partition_offset_t *in, size_t n,
                            int timeout_ms, samsa_err_t *err)
{
    *err = SAMSA_ERR__INVALID_ARG;
    if (!a || !group || !group[0] || (n && !in) || n > 1000000 || timeout_ms < 1) {
        admin_set_last_error("%s: needs a handle, a group id, the partitions and timeout_ms >= 1",
                             call);
        return NULL;
    }
    if (!partitions_ok(call, in, n))
        return NULL;
    *err = SAMSA_ERR__NOMEM;
    admin_op_t *op = admin_op_new(a, kind, 1, timeout_ms);
    int64_t *offsets = op ? arena_alloc(&op->in, (n ? n : 1) * sizeof(*offsets)) : NULL;
    if (offsets)
        op->result = offset_results(in, n);
    if (!op || !op->result) {
        if (op)
            admin_op_unref(op);
        admin_set_last_error("%s: out of memory", call);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        offsets[i] = in[i].offset;
    op->args = offsets;
    op->group = admin_op_str(op, group);
    op->result_count = n;
    return op;
}

SAMSA_API samsa_err_t samsa_admin_list_group_offsets(samsa_admin_t *a, const char *group,
                                                     const samsa_topic_partition_t *partitions,
                                                     size_t n, int timeout_ms,
                                                     samsa_offset_result_t **results,
                                                     size_t *count)
{
    if (!results || !count)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    *count = 0;
    samsa_partition_offset_t *in = calloc(n ? n : 1, sizeof(*in));
    if (!in) {
        admin_set_last_error("list_group_offsets: out of memory");
        return SAMSA_ERR__NOMEM;
    }
    for (size_t i = 0; partitions && i < n; i++)
        in[i] = (samsa_partition_offset_t){partitions[i].topic, partitions[i].partition, -1};
    samsa_err_t err;
    admin_op_t *op = group_op(a, &admin_offset_fetch_kind, "list_group_offsets", group,
                              partitions ? in : NULL, n, timeout_ms, &err);
    free(in);
    if (!op)
        return err;
    if (n == 0)
        op->flags |= ADMIN_F_ALL_TOPICS;
    void *result = NULL;
    err = admin_op_run(op, &result, count);
    *results = result;
    return err;
}

static samsa_err_t encode_offset_commit(admin_op_t *op, size_t item, int16_t version, buf_t *out)
{
    const samsa_offset_result_t *r = op->result;
    const int64_t *offsets = op->args;
    size_t n = op->result_count;
    size_t *order = NULL;
    int nt = group_topics(r, n, &order);
    if (nt < 0)
        return SAMSA_ERR__NOMEM;
    const proto_api_t *api = proto_api(API_OFFSET_COMMIT);
    offset_commit_request_t req;
    proto_init(api->request, &req);
    offset_commit_request_offset_commit_request_topic_t *topics = calloc((size_t)nt + 1, sizeof(*topics));
    offset_commit_request_offset_commit_request_partition_t *parts = calloc(n + 1, sizeof(*parts));
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!topics || !parts)
        goto out;
    int t = -1;
    for (size_t k = 0; k < n; k++) {
        const samsa_offset_result_t *e = &r[order[k]];
        if (t < 0 || !proto_str_eq(topics[t].name, e->topic)) {
            t++;
            topics[t].name = proto_str_of(e->topic);
            topics[t].partitions = &parts[k];
        }
        parts[k] = (offset_commit_request_offset_commit_request_partition_t){
            e->partition, offsets[order[k]], -1, proto_str_of("")};
        topics[t].partitions_count++;
    }
    req.group_id = proto_str_of(op->group);
    req.generation_id_or_member_epoch = -1;
    req.member_id = proto_str_of("");
    req.group_instance_id = (proto_str_t){NULL, -1};
    req.retention_time_ms = -1;
    req.topics = topics;
    req.topics_count = nt;
    err = proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
out:
    free(order);
    free(topics);
    free(parts);
    return err;
}

static enum admin_verdict on_offset_commit(admin_op_t *op, size_t item, conn_t *c, int16_t version,
                                           const void *resp)
{
    const offset_commit_response_t *oc = resp;
    samsa_offset_result_t *r = op->result;
    const int64_t *offsets = op->args;
    for (int32_t t = 0; t < oc->topics_count; t++)
        for (int32_t k = 0; k < oc->topics[t].partitions_count; k++)
            if (admin_coordinator_error(oc->topics[t].partitions[k].error_code))
                return ADMIN_ITEM_RETRY_COORDINATOR;
    for (size_t i = 0; i < op->result_count; i++) {
        r[i].err = SAMSA_ERR__BAD_MSG;
        r[i].errstr = "commit offsets: the answer does not name the partition";
        for (int32_t t = 0; t < oc->topics_count; t++) {
            if (!proto_str_eq(oc->topics[t].name, r[i].topic))
                continue;
            for (int32_t k = 0; k < oc->topics[t].partitions_count; k++) {
                const offset_commit_response_offset_commit_response_partition_t *p =
                    &oc->topics[t].partitions[k];
                if (p->partition_index != r[i].partition)
                    continue;
                char what[400];
                snprintf(what, sizeof(what), "commit offset of group %s for %s [%d]", op->group,
                         r[i].topic, (int)r[i].partition);
                r[i].err = p->error_code;
                r[i].errstr = admin_result_error(r, what, p->error_code, (proto_str_t){NULL, -1},
                                                 conn_name(c));
                r[i].offset = p->error_code ? -1 : offsets[i];
            }
        }
    }
    return ADMIN_ITEM_DONE;
}

const admin_kind_t admin_offset_commit_kind = {
    .name = "OffsetCommit",
    .api_key = API_OFFSET_COMMIT,
    .max_version = OFFSET_COMMIT_MAX_VERSION,
    .target = ADMIN_TO_COORDINATOR,
    .group = op_group,
    .encode = encode_offset_commit,
    .on_response = on_offset_commit,
};

SAMSA_API samsa_err_t samsa_admin_alter_group_offsets(samsa_admin_t *a, const char *group,
                                                      const samsa_partition_offset_t *offsets,
                                                      size_t n, int timeout_ms,
                                                      samsa_offset_result_t **results)
{
    if (!results)
        return SAMSA_ERR__INVALID_ARG;
    *results = NULL;
    if (n == 0) {
        admin_set_last_error("alter_group_offsets: no partitions given");
        return SAMSA_ERR__INVALID_ARG;
    }
    samsa_err_t err;
    admin_op_t *op = group_op(a, &admin_offset_commit_kind, "alter_group_offsets", group, offsets,
                              n, timeout_ms, &err);
    if (!op)
        return err;
    void *result = NULL;
    err = admin_op_run(op, &result, NULL);
    *results = result;
    return err;
}
