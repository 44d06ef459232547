/*
 * group_offsets.c: OffsetCommit and OffsetFetch. Commits are checked
 * against the group's generation and member as Kafka's classic coordinator
 * does, appended to __consumer_offsets, applied to the group's cache at
 * once, and answered when the records are durable (group_config_t's
 * commit_wait_durable) or right after the append.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/slog.h"
#include "broker/group_int.h"
#include "proto/messages.h"

#define COMMIT_POLL_MS 1

/* ---- waiting for durability ------------------------------------------------------ */

static void commit_poll_tick(loop_t *loop, void *opaque);

static void commit_wait_unlink(group_coordinator_t *gc, group_commit_wait_t *w)
{
    group_commit_wait_t **pp = &gc->commit_waits;
    while (*pp && *pp != w)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = w->next;
    if (gc->commit_waits_tail == &w->next)
        gc->commit_waits_tail = pp;
}

static void set_all_errors(offset_commit_response_t *resp, int16_t from, int16_t to)
{
    for (int32_t t = 0; t < resp->topics_count; t++)
        for (int32_t p = 0; p < resp->topics[t].partitions_count; p++)
            if (resp->topics[t].partitions[p].error_code == from)
                resp->topics[t].partitions[p].error_code = to;
}

void group_commit_waits_poll(group_coordinator_t *gc, bool force)
{
    int64_t durable = partition_log_durable_offset(gc->env.offsets_log);
    while (gc->commit_waits && (force || gc->commit_waits->end_offset <= durable)) {
        group_commit_wait_t *w = gc->commit_waits;
        commit_wait_unlink(gc, w);
        if (w->end_offset > durable)
            set_all_errors(w->resp, SAMSA_ERR_NONE, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
        broker_request_t *req = w->req;
        void *resp = w->resp;
        free(w);
        broker_request_respond(req, resp);
    }
}

static void commit_poll_tick(loop_t *loop, void *opaque)
{
    group_coordinator_t *gc = opaque;
    gc->commit_poll_timer = NULL;
    group_commit_waits_poll(gc, false);
    if (gc->commit_waits && !gc->closing)
        gc->commit_poll_timer = loop_timer_add(loop, COMMIT_POLL_MS, commit_poll_tick, gc);
}

/* The client went away while its commit waited: forget the request. */
static void commit_wait_cancel(broker_request_t *req, void *opaque)
{
    group_coordinator_t *gc = opaque;
    for (group_commit_wait_t *w = gc->commit_waits; w; w = w->next)
        if (w->req == req) {
            commit_wait_unlink(gc, w);
            free(w);
            return;
        }
}

/* Answers now when the records up to end_offset are durable (or durability
 * is not waited for), else parks the request until they are. */
static void commit_answer(group_coordinator_t *gc, broker_request_t *req,
                          offset_commit_response_t *resp, int64_t end_offset)
{
    if (!gc->cfg.commit_wait_durable || end_offset < 0 ||
        partition_log_durable_offset(gc->env.offsets_log) >= end_offset) {
        broker_request_respond(req, resp);
        return;
    }
    group_commit_wait_t *w = calloc(1, sizeof(*w));
    if (!w) {
        /* Cannot wait: the records are appended; say so once they would
         * have been, i.e. tell the client to retry. */
        set_all_errors(resp, SAMSA_ERR_NONE, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
        broker_request_respond(req, resp);
        return;
    }
    w->req = req;
    w->resp = resp;
    w->end_offset = end_offset;
    *gc->commit_waits_tail = w;
    gc->commit_waits_tail = &w->next;
    broker_request_park(req, commit_wait_cancel, gc);
    partition_log_sync_soon(gc->env.offsets_log);
    if (!gc->commit_poll_timer)
        gc->commit_poll_timer = loop_timer_add(gc->env.loop, COMMIT_POLL_MS, commit_poll_tick, gc);
}

/* ---- OffsetCommit -------------------------------------------------------------- */

/* Kafka's generation and member checks for a commit; NONE when allowed.
 * *g may be created for a simple consumer's commit. */
static int16_t commit_check(group_coordinator_t *gc, const offset_commit_request_t *rq,
                            group_t **gp)
{
    *gp = NULL;
    if (rq->group_id.len <= 0)
        return SAMSA_ERR_INVALID_GROUP_ID;
    group_t *g = group_find(gc, rq->group_id.ptr, (size_t)rq->group_id.len);
    if (!g) {
        /* Only a consumer that does not use group management may commit to
         * a group that does not exist. */
        if (rq->generation_id_or_member_epoch >= 0)
            return SAMSA_ERR_ILLEGAL_GENERATION;
        if (!(g = group_get_or_create(gc, rq->group_id.ptr, (size_t)rq->group_id.len)))
            return SAMSA_ERR_COORDINATOR_NOT_AVAILABLE;
        *gp = g;
        return SAMSA_ERR_NONE;
    }
    *gp = g;
    if (g->state == GROUP_DEAD)
        return SAMSA_ERR_COORDINATOR_NOT_AVAILABLE;
    if (rq->generation_id_or_member_epoch < 0 && g->state == GROUP_EMPTY)
        return SAMSA_ERR_NONE;
    group_member_t *m;
    int16_t err = group_check_member(g, rq->member_id, rq->group_instance_id, &m);
    if (err)
        return err;
    if (rq->generation_id_or_member_epoch != g->generation)
        return SAMSA_ERR_ILLEGAL_GENERATION;
    if (g->state == GROUP_COMPLETING_REBALANCE)
        return SAMSA_ERR_REBALANCE_IN_PROGRESS;
    return SAMSA_ERR_NONE;
}

/* Kafka's mapping of a failed append of a commit. */
static int16_t commit_append_error(samsa_err_t err)
{
    if (err == SAMSA_ERR_MESSAGE_TOO_LARGE)
        return SAMSA_ERR_INVALID_COMMIT_OFFSET_SIZE;
    return SAMSA_ERR_COORDINATOR_NOT_AVAILABLE;
}

/* The topic a commit or fetch names: by id from v10 (NULL when unknown). */
static const char *topic_of(group_coordinator_t *gc, bool by_id, const proto_uuid_t *id,
                            proto_str_t name, char *buf, size_t buf_len)
{
    if (by_id) {
        const char *n = NULL;
        if (!gc->env.topic_name_by_id || !gc->env.topic_name_by_id(gc->env.opaque, id, &n))
            return NULL;
        return n;
    }
    if (name.len < 0 || (size_t)name.len >= buf_len)
        return NULL;
    memcpy(buf, name.ptr, (size_t)name.len);
    buf[name.len] = '\0';
    return buf;
}

void group_handle_offset_commit(group_coordinator_t *gc, broker_request_t *req)
{
    const offset_commit_request_t *rq = req->body;
    offset_commit_response_t *resp = broker_response_new(req);
    bool by_id = req->api_version >= 10;
    int32_t nt = rq->topics_count > 0 ? rq->topics_count : 0;
    buf_t data;
    buf_init(&data, 0);
    log_record_t *recs = NULL;
    size_t nrec = 0, total = 0;
    int64_t end_offset = -1;
    if (!resp || !(resp->topics = arena_alloc(&req->arena, (size_t)(nt + 1) * sizeof(*resp->topics))))
        goto nomem;
    resp->topics_count = nt;
    for (int32_t t = 0; t < nt; t++)
        total += rq->topics[t].partitions_count > 0 ? (size_t)rq->topics[t].partitions_count : 0;
    if (!(recs = calloc(total + 1, sizeof(*recs))))
        goto nomem;
    group_t *g;
    int16_t group_err = commit_check(gc, rq, &g);
    int64_t now = clock_wall_ms();
    /* First pass: errors and the records' bytes; key and value lengths go
     * in recs and become pointers once data has stopped moving. */
    for (int32_t t = 0; t < nt; t++) {
        const offset_commit_request_offset_commit_request_topic_t *rt = &rq->topics[t];
        offset_commit_response_offset_commit_response_topic_t *ot = &resp->topics[t];
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
        ot->name = rt->name;
        ot->topic_id = rt->topic_id;
        ot->partitions_count = np;
        if (!(ot->partitions = arena_alloc(&req->arena, (size_t)(np + 1) * sizeof(*ot->partitions))))
            goto nomem;
        char namebuf[256];
        const char *topic = topic_of(gc, by_id, &rt->topic_id, rt->name, namebuf, sizeof(namebuf));
        proto_uuid_t unused;
        int16_t topic_err = SAMSA_ERR_NONE;
        if (!topic)
            topic_err = by_id ? SAMSA_ERR_UNKNOWN_TOPIC_ID : SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        else if (!by_id && gc->env.topic_id_by_name &&
                 !gc->env.topic_id_by_name(gc->env.opaque, topic, &unused))
            topic_err = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        for (int32_t p = 0; p < np; p++) {
            const offset_commit_request_offset_commit_request_partition_t *rp = &rt->partitions[p];
            offset_commit_response_offset_commit_response_partition_t *op = &ot->partitions[p];
            op->partition_index = rp->partition_index;
            op->error_code = group_err ? group_err : topic_err;
            if (op->error_code)
                continue;
            size_t md_len = rp->committed_metadata.len > 0 ? (size_t)rp->committed_metadata.len : 0;
            if (md_len > (size_t)gc->cfg.offset_metadata_max_bytes) {
                op->error_code = SAMSA_ERR_OFFSET_METADATA_TOO_LARGE;
                continue;
            }
            size_t start = data.len;
            group_store_offset_key(&data, g->group_id, topic, strlen(topic), rp->partition_index);
            recs[nrec].key_bytes = data.len - start;
            start = data.len;
            group_store_offset_value(&data, rp->committed_offset, rp->committed_leader_epoch,
                                     rp->committed_metadata.ptr, md_len, now);
            recs[nrec].value_bytes = data.len - start;
            nrec++;
        }
    }
    if (data.failed)
        goto nomem;
    if (nrec) {
        size_t pos = 0;
        for (size_t i = 0; i < nrec; i++) {
            recs[i].key = data.data + pos;
            pos += recs[i].key_bytes;
            recs[i].value = data.data + pos;
            pos += recs[i].value_bytes;
        }
        samsa_err_t err = group_store_append(gc, recs, nrec, &end_offset);
        if (err) {
            slog_warn("group", "cannot store offsets of group %s: %s", g->group_id,
                      samsa_err_str(err));
            set_all_errors(resp, SAMSA_ERR_NONE, commit_append_error(err));
            end_offset = -1;
        } else {
            /* The cache follows the log: what was appended is committed. */
            for (int32_t t = 0; t < nt; t++) {
                const offset_commit_request_offset_commit_request_topic_t *rt = &rq->topics[t];
                char namebuf[256];
                const char *topic =
                    topic_of(gc, by_id, &rt->topic_id, rt->name, namebuf, sizeof(namebuf));
                for (int32_t p = 0; p < resp->topics[t].partitions_count; p++) {
                    const offset_commit_request_offset_commit_request_partition_t *rp =
                        &rt->partitions[p];
                    if (resp->topics[t].partitions[p].error_code)
                        continue;
                    size_t md_len =
                        rp->committed_metadata.len > 0 ? (size_t)rp->committed_metadata.len : 0;
                    if (group_offset_put(g, topic, strlen(topic), rp->partition_index,
                                         rp->committed_offset, rp->committed_leader_epoch,
                                         rp->committed_metadata.ptr, md_len, now) != SAMSA_ERR_NONE)
                        slog_error("group", "group %s: out of memory caching an offset",
                                   g->group_id);
                }
            }
            group_store_maybe_snapshot(gc);
        }
    } else if (g && g->state == GROUP_EMPTY && !g->members && !g->pending && !g->offset_count &&
               !g->stored_value && g->generation == 0) {
        group_remove(gc, g);
    }
    buf_free(&data);
    free(recs);
    commit_answer(gc, req, resp, end_offset);
    return;
nomem:
    buf_free(&data);
    free(recs);
    slog_error("group", "OffsetCommit: out of memory");
    broker_request_respond(req, NULL);
}

/* ---- OffsetFetch ------------------------------------------------------------------ */

typedef offset_fetch_response_offset_fetch_response_topics_t fetch_topic_t;
typedef offset_fetch_response_offset_fetch_response_partitions_t fetch_part_t;

/* One requested topic, whatever the version. */
typedef struct fetch_ask {
    proto_str_t name;
    proto_uuid_t topic_id;
    const int32_t *partitions;
    int32_t partition_count;
} fetch_ask_t;

static void fill_part(broker_request_t *req, fetch_part_t *fp, const group_offset_t *o,
                      int32_t partition, int16_t err)
{
    fp->partition_index = partition;
    fp->committed_offset = o ? o->offset : -1;
    fp->committed_leader_epoch = o ? o->leader_epoch : -1;
    fp->metadata = group_resp_str(req, o ? o->metadata : "");
    fp->error_code = err;
}

/* Every committed offset of g, topic by topic (the cache is sorted). */
static bool fetch_all(group_coordinator_t *gc, broker_request_t *req, const group_t *g, bool by_id,
                      fetch_topic_t **out, int32_t *count)
{
    size_t ntopics = 0;
    for (size_t i = 0; g && i < g->offset_count; i++)
        if (i == 0 || strcmp(g->offsets[i].topic, g->offsets[i - 1].topic) != 0)
            ntopics++;
    fetch_topic_t *topics = arena_alloc(&req->arena, (ntopics + 1) * sizeof(*topics));
    if (!topics)
        return false;
    int32_t n = 0;
    for (size_t i = 0; g && i < g->offset_count;) {
        size_t j = i;
        while (j < g->offset_count && strcmp(g->offsets[j].topic, g->offsets[i].topic) == 0)
            j++;
        fetch_topic_t *ft = &topics[n];
        ft->name = group_resp_str(req, g->offsets[i].topic);
        if (by_id && (!gc->env.topic_id_by_name ||
                      !gc->env.topic_id_by_name(gc->env.opaque, g->offsets[i].topic, &ft->topic_id))) {
            i = j; /* a topic without an id cannot be named in v10 */
            continue;
        }
        if (!(ft->partitions = arena_alloc(&req->arena, (j - i) * sizeof(*ft->partitions))))
            return false;
        ft->partitions_count = (int32_t)(j - i);
        for (size_t k = i; k < j; k++)
            fill_part(req, &ft->partitions[k - i], &g->offsets[k], g->offsets[k].partition,
                      SAMSA_ERR_NONE);
        n++;
        i = j;
    }
    *out = topics;
    *count = n;
    return true;
}

static bool fetch_group(group_coordinator_t *gc, broker_request_t *req, proto_str_t group_id,
                        const fetch_ask_t *asks, int32_t nasks, bool by_id, fetch_topic_t **out,
                        int32_t *count)
{
    const group_t *g = group_find_str(gc, group_id);
    if (nasks < 0)
        return fetch_all(gc, req, g, by_id, out, count);
    fetch_topic_t *topics = arena_alloc(&req->arena, (size_t)(nasks + 1) * sizeof(*topics));
    if (!topics)
        return false;
    for (int32_t t = 0; t < nasks; t++) {
        const fetch_ask_t *a = &asks[t];
        fetch_topic_t *ft = &topics[t];
        ft->name = a->name;
        ft->topic_id = a->topic_id;
        int32_t np = a->partition_count > 0 ? a->partition_count : 0;
        if (!(ft->partitions = arena_alloc(&req->arena, (size_t)(np + 1) * sizeof(*ft->partitions))))
            return false;
        ft->partitions_count = np;
        char namebuf[256];
        const char *topic = topic_of(gc, by_id, &a->topic_id, a->name, namebuf, sizeof(namebuf));
        for (int32_t p = 0; p < np; p++) {
            const group_offset_t *o = NULL;
            if (topic && g) {
                ptrdiff_t at = group_offset_search(g, topic, strlen(topic), a->partitions[p]);
                o = at >= 0 ? &g->offsets[at] : NULL;
            }
            fill_part(req, &ft->partitions[p], o, a->partitions[p],
                      !topic && by_id ? SAMSA_ERR_UNKNOWN_TOPIC_ID : SAMSA_ERR_NONE);
        }
    }
    *out = topics;
    *count = nasks;
    return true;
}

/* v1-7: one group, and the older response layout. */
static bool fetch_v1(group_coordinator_t *gc, broker_request_t *req, offset_fetch_response_t *resp)
{
    const offset_fetch_request_t *rq = req->body;
    int32_t nasks = rq->topics_count;
    fetch_ask_t *asks = arena_alloc(&req->arena, (size_t)(nasks > 0 ? nasks + 1 : 1) * sizeof(*asks));
    if (!asks)
        return false;
    for (int32_t t = 0; t < nasks; t++) {
        asks[t].name = rq->topics[t].name;
        asks[t].partitions = rq->topics[t].partition_indexes;
        asks[t].partition_count = rq->topics[t].partition_indexes_count;
    }
    fetch_topic_t *topics;
    int32_t n;
    if (!fetch_group(gc, req, rq->group_id, asks, nasks, false, &topics, &n))
        return false;
    if (!(resp->topics = arena_alloc(&req->arena, (size_t)(n + 1) * sizeof(*resp->topics))))
        return false;
    resp->topics_count = n;
    resp->error_code = SAMSA_ERR_NONE;
    for (int32_t t = 0; t < n; t++) {
        offset_fetch_response_offset_fetch_response_topic_t *ot = &resp->topics[t];
        ot->name = topics[t].name;
        ot->partitions_count = topics[t].partitions_count;
        ot->partitions =
            arena_alloc(&req->arena, (size_t)(ot->partitions_count + 1) * sizeof(*ot->partitions));
        if (!ot->partitions)
            return false;
        for (int32_t p = 0; p < ot->partitions_count; p++) {
            const fetch_part_t *src = &topics[t].partitions[p];
            offset_fetch_response_offset_fetch_response_partition_t *dst = &ot->partitions[p];
            dst->partition_index = src->partition_index;
            dst->committed_offset = src->committed_offset;
            dst->committed_leader_epoch = src->committed_leader_epoch;
            dst->metadata = src->metadata;
            dst->error_code = src->error_code;
        }
    }
    return true;
}

/* v8+: many groups. */
static bool fetch_v8(group_coordinator_t *gc, broker_request_t *req, offset_fetch_response_t *resp)
{
    const offset_fetch_request_t *rq = req->body;
    bool by_id = req->api_version >= 10;
    int32_t ng = rq->groups_count > 0 ? rq->groups_count : 0;
    if (!(resp->groups = arena_alloc(&req->arena, (size_t)(ng + 1) * sizeof(*resp->groups))))
        return false;
    resp->groups_count = ng;
    for (int32_t i = 0; i < ng; i++) {
        const offset_fetch_request_offset_fetch_request_group_t *rg = &rq->groups[i];
        offset_fetch_response_offset_fetch_response_group_t *og = &resp->groups[i];
        int32_t nasks = rg->topics_count;
        fetch_ask_t *asks =
            arena_alloc(&req->arena, (size_t)(nasks > 0 ? nasks + 1 : 1) * sizeof(*asks));
        if (!asks)
            return false;
        for (int32_t t = 0; t < nasks; t++) {
            asks[t].name = rg->topics[t].name;
            asks[t].topic_id = rg->topics[t].topic_id;
            asks[t].partitions = rg->topics[t].partition_indexes;
            asks[t].partition_count = rg->topics[t].partition_indexes_count;
        }
        og->group_id = rg->group_id;
        og->error_code = SAMSA_ERR_NONE;
        if (!fetch_group(gc, req, rg->group_id, asks, nasks, by_id, &og->topics, &og->topics_count))
            return false;
    }
    return true;
}

void group_handle_offset_fetch(group_coordinator_t *gc, broker_request_t *req)
{
    offset_fetch_response_t *resp = broker_response_new(req);
    if (resp && !(req->api_version >= 8 ? fetch_v8(gc, req, resp) : fetch_v1(gc, req, resp))) {
        slog_error("group", "OffsetFetch: out of memory");
        resp = NULL;
    }
    broker_request_respond(req, resp);
}
