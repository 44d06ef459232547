/*
 * consumer_offsets.c: the consumer's offset requests to the group
 * coordinator (see consumer_int.h): OffsetCommit for samsa_consumer_commit,
 * auto commit (every auto.commit.interval.ms, and before partitions are
 * revoked) and OffsetFetch for committed offsets (samsa_consumer_committed
 * and where newly assigned partitions start).
 *
 * Runs on the I/O thread with c->lock held.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/slog.h"
#include "client/consumer_int.h"
#include "proto/messages.h"

#define OFFSET_COMMIT_MAX_VERSION 9 /* v10 names topics by id */
#define OFFSET_FETCH_MAX_VERSION 7  /* v8 batches groups */

static proto_str_t pstr(const char *s)
{
    return (proto_str_t){s, s ? (int32_t)strlen(s) : -1};
}

static bool pstr_eq(proto_str_t s, const char *c)
{
    return s.len >= 0 && (size_t)s.len == strlen(c) && !memcmp(s.ptr, c, (size_t)s.len);
}

static int cmp_tp(const void *a, const void *b)
{
    const samsa_topic_partition_t *x = a, *y = b;
    return strcmp(x->topic, y->topic);
}

void offsets_queue_commit(samsa_consumer_t *c, ccommit_t *cm)
{
    cm->c = c;
    if (!cm->created_ms) /* a retry keeps its first time */
        cm->created_ms = clock_mono_ms();
    cm->next = NULL;
    ccommit_t **link = &c->commits;
    while (*link)
        link = &(*link)->next;
    *link = cm;
}

void offsets_commit_positions(samsa_consumer_t *c, const assign_tp_t *tps, int n)
{
    if (!c->cfg.enable_auto_commit || !c->cfg.group_id[0])
        return;
    ccommit_t *cm = calloc(1, sizeof(*cm));
    samsa_partition_list_t all = {NULL, 0};
    if (!cm || !consumer_positions(c, &all)) {
        free(cm);
        return;
    }
    for (size_t i = 0; i < all.count; i++) {
        samsa_topic_partition_t *tp = &all.items[i];
        bool want = !tps;
        for (int k = 0; tps && k < n && !want; k++)
            want = tps[k].partition == tp->partition && !strcmp(tps[k].topic, tp->topic);
        cpart_t *p = consumer_part_find(c, tp->topic, tp->partition);
        if (p && p->committed == tp->offset)
            want = false;
        if (want)
            all.items[cm->offsets.count++] = *tp;
        else
            free((char *)tp->topic);
    }
    cm->offsets.items = all.items;
    if (!cm->offsets.count) {
        samsa_partition_list_free(&cm->offsets);
        free(cm);
        return;
    }
    offsets_queue_commit(c, cm);
}

/* Finishes a commit: wakes its waiter, or queues its result for poll. */
static void commit_done(samsa_consumer_t *c, ccommit_t *cm, samsa_err_t err)
{
    cm->err = err;
    if (cm->sync) {
        cm->done = true;
        pthread_cond_broadcast(&c->cond);
        return;
    }
    if (!cm->quiet)
        consumer_event(c, CEVENT_COMMIT, err, &cm->offsets);
    samsa_partition_list_free(&cm->offsets);
    free(cm);
}

/* ---- OffsetCommit ---------------------------------------------------- */

/* Errors after which the same commit may succeed: the coordinator moved,
 * is loading, or the request was lost. */
static bool commit_retriable(samsa_err_t e)
{
    return e == SAMSA_ERR_NOT_COORDINATOR || e == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE ||
           e == SAMSA_ERR_COORDINATOR_LOAD_IN_PROGRESS || e == SAMSA_ERR_REQUEST_TIMED_OUT ||
           e == SAMSA_ERR_NETWORK_EXCEPTION || e == SAMSA_ERR__TRANSPORT ||
           e == SAMSA_ERR__TIMED_OUT;
}

typedef struct commit_req {
    ccommit_t *cm;
    int32_t generation;
    char member_id[];
} commit_req_t;

/* A member's commit names its group.instance.id too. */
static const char *member_instance(const commit_req_t *r)
{
    return r->generation >= 0 ? group_instance(r->cm->c) : NULL;
}

static samsa_err_t encode_commit(void *opaque, int16_t version, buf_t *out)
{
    commit_req_t *r = opaque;
    samsa_partition_list_t *l = &r->cm->offsets;
    samsa_consumer_t *c = r->cm->c;
    offset_commit_request_offset_commit_request_topic_t *topics =
        calloc(l->count + 1, sizeof(*topics));
    offset_commit_request_offset_commit_request_partition_t *parts =
        calloc(l->count + 1, sizeof(*parts));
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!topics || !parts)
        goto out;
    int t = -1;
    for (size_t i = 0; i < l->count; i++) {
        if (i == 0 || strcmp(l->items[i].topic, l->items[i - 1].topic)) {
            t++;
            topics[t].name = pstr(l->items[i].topic);
            topics[t].partitions = &parts[i];
        }
        topics[t].partitions_count++;
        parts[i].partition_index = l->items[i].partition;
        parts[i].committed_offset = l->items[i].offset;
        parts[i].committed_leader_epoch = -1;
        parts[i].committed_metadata = pstr("");
    }
    offset_commit_request_t req;
    proto_init(&offset_commit_request_desc, &req);
    req.group_id = pstr(c->cfg.group_id);
    req.generation_id_or_member_epoch = r->generation;
    req.member_id = pstr(r->member_id);
    req.group_instance_id = pstr(member_instance(r));
    req.retention_time_ms = -1;
    req.topics = topics;
    req.topics_count = t + 1;
    const proto_api_t *api = proto_api(API_OFFSET_COMMIT);
    err = proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
out:
    free(topics);
    free(parts);
    return err;
}

static void on_commit(void *opaque, conn_t *conn, samsa_err_t err, int16_t version,
                      const void *resp_)
{
    commit_req_t *r = opaque;
    ccommit_t *cm = r->cm;
    samsa_consumer_t *c = cm->c;
    const offset_commit_response_t *resp = resp_;
    int32_t generation = r->generation;
    free(r);
    pthread_mutex_lock(&c->lock);
    c->commits_in_flight--;
    samsa_partition_list_t *l = &cm->offsets;
    for (size_t i = 0; i < l->count; i++)
        l->items[i].err = err ? err : SAMSA_ERR__BAD_MSG;
    samsa_err_t first = err;
    for (int32_t t = 0; !err && t < resp->topics_count; t++) {
        const offset_commit_response_offset_commit_response_topic_t *tr = &resp->topics[t];
        for (int32_t k = 0; k < tr->partitions_count; k++) {
            const offset_commit_response_offset_commit_response_partition_t *pr =
                &tr->partitions[k];
            for (size_t i = 0; i < l->count; i++) {
                samsa_topic_partition_t *tp = &l->items[i];
                if (tp->partition != pr->partition_index || !pstr_eq(tr->name, tp->topic))
                    continue;
                tp->err = pr->error_code;
                if (pr->error_code && !first)
                    first = pr->error_code;
                cpart_t *p = consumer_part_find(c, tp->topic, tp->partition);
                if (p && !pr->error_code)
                    p->committed = tp->offset;
            }
        }
    }
    for (size_t i = 0; !first && i < l->count; i++)
        if (l->items[i].err)
            first = l->items[i].err;
    for (size_t i = 0; slog_enabled(SLOG_DEBUG) && i < l->count; i++)
        slog_write(SLOG_DEBUG, "consumer", "group %s: commit of %s-%d at %lld: %s",
                   c->cfg.group_id, l->items[i].topic, (int)l->items[i].partition,
                   (long long)l->items[i].offset, samsa_err_name(l->items[i].err));
    if (first == SAMSA_ERR_NOT_COORDINATOR || first == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE) {
        c->group.coordinator = NULL;
        c->group.coordinator_id = -1;
    }
    if (first == SAMSA_ERR_REBALANCE_IN_PROGRESS && c->group.state == GROUP_STABLE)
        c->group.next_heartbeat_ms = 0; /* learn about the rebalance at once */
    if ((first == SAMSA_ERR_UNKNOWN_MEMBER_ID || first == SAMSA_ERR_ILLEGAL_GENERATION) &&
        group_in_generation(c, generation))
        group_lost(c, first, "OffsetCommit");
    int64_t now = clock_mono_ms();
    /* A synchronous commit is retried within request.timeout.ms, as Java's
     * commitSync is; an asynchronous one reports the error (retrying it
     * could overwrite a later commit of the same partitions). */
    if (cm->sync && commit_retriable(first) && !c->stopped &&
        now - cm->created_ms < c->cfg.request_timeout_ms) {
        cm->retry_at_ms = now + c->cfg.retry_backoff_ms;
        offsets_queue_commit(c, cm);
    } else {
        commit_done(c, cm, first);
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

static void send_commit(samsa_consumer_t *c, conn_t *conn, ccommit_t *cm)
{
    group_t *g = &c->group;
    /* A member commits with its generation, also while it rejoins: the
     * commit on revocation goes before the JoinGroup that ends it. */
    bool member = c->subscribed && g->member_id && g->member_id[0] && g->generation >= 0;
    if (member && (g->state == GROUP_SYNC || (g->state == GROUP_JOIN && g->request_in_flight))) {
        /* As Java's: no commit while a JoinGroup or SyncGroup is under
         * way (it would wait behind it and then fail) */
        commit_done(c, cm, SAMSA_ERR_REBALANCE_IN_PROGRESS);
        return;
    }
    const char *member_id = member ? g->member_id : "";
    commit_req_t *r = malloc(sizeof(*r) + strlen(member_id) + 1);
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (r) {
        r->cm = cm;
        r->generation = member ? g->generation : -1;
        memcpy(r->member_id, member_id, strlen(member_id) + 1);
        qsort(cm->offsets.items, cm->offsets.count, sizeof(cm->offsets.items[0]), cmp_tp);
        conn_request_t req = {.api_key = API_OFFSET_COMMIT,
                              .max_version = OFFSET_COMMIT_MAX_VERSION,
                              .encode = encode_commit,
                              .on_response = on_commit,
                              .opaque = r};
        err = conn_send(conn, &req);
    }
    if (err) {
        free(r);
        commit_done(c, cm, err);
        return;
    }
    c->commits_in_flight++;
}

/* ---- OffsetFetch ----------------------------------------------------- */

typedef struct fetch_req {
    samsa_consumer_t *c;
    samsa_partition_list_t list;
    offset_fetch_done_fn *done;
    void *opaque;
} fetch_req_t;

static samsa_err_t encode_offset_fetch(void *opaque, int16_t version, buf_t *out)
{
    fetch_req_t *r = opaque;
    samsa_partition_list_t *l = &r->list;
    offset_fetch_request_offset_fetch_request_topic_t *topics =
        calloc(l->count + 1, sizeof(*topics));
    int32_t *parts = calloc(l->count + 1, sizeof(*parts));
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!topics || !parts)
        goto out;
    int t = -1;
    for (size_t i = 0; i < l->count; i++) {
        if (i == 0 || strcmp(l->items[i].topic, l->items[i - 1].topic)) {
            t++;
            topics[t].name = pstr(l->items[i].topic);
            topics[t].partition_indexes = &parts[i];
        }
        topics[t].partition_indexes_count++;
        parts[i] = l->items[i].partition;
    }
    offset_fetch_request_t req;
    proto_init(&offset_fetch_request_desc, &req);
    req.group_id = pstr(r->c->cfg.group_id);
    req.topics = topics;
    req.topics_count = t + 1;
    req.require_stable = true;
    const proto_api_t *api = proto_api(API_OFFSET_FETCH);
    err = proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
out:
    free(topics);
    free(parts);
    return err;
}

static void on_offset_fetch(void *opaque, conn_t *conn, samsa_err_t err, int16_t version,
                            const void *resp_)
{
    fetch_req_t *r = opaque;
    samsa_consumer_t *c = r->c;
    const offset_fetch_response_t *resp = resp_;
    pthread_mutex_lock(&c->lock);
    samsa_partition_list_t *l = &r->list;
    for (size_t i = 0; i < l->count; i++) {
        l->items[i].offset = -1;
        l->items[i].err = err ? err : SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (!err)
        err = resp->error_code;
    for (int32_t t = 0; !err && t < resp->topics_count; t++) {
        const offset_fetch_response_offset_fetch_response_topic_t *tr = &resp->topics[t];
        for (int32_t k = 0; k < tr->partitions_count; k++) {
            const offset_fetch_response_offset_fetch_response_partition_t *pr =
                &tr->partitions[k];
            for (size_t i = 0; i < l->count; i++)
                if (l->items[i].partition == pr->partition_index &&
                    pstr_eq(tr->name, l->items[i].topic)) {
                    l->items[i].offset = pr->committed_offset;
                    l->items[i].err = pr->error_code;
                }
        }
    }
    if (err == SAMSA_ERR_NOT_COORDINATOR || err == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE) {
        c->group.coordinator = NULL;
        c->group.coordinator_id = -1;
    }
    r->done(c, r->opaque, err, l);
    pthread_mutex_unlock(&c->lock);
    samsa_partition_list_free(&r->list);
    free(r);
}

samsa_err_t offsets_fetch_committed(samsa_consumer_t *c, const samsa_partition_list_t *list,
                                    offset_fetch_done_fn *done, void *opaque)
{
    conn_t *conn = group_coordinator(c);
    if (!conn)
        return SAMSA_ERR__TRANSPORT;
    fetch_req_t *r = calloc(1, sizeof(*r));
    if (!r || !partition_list_copy(&r->list, list)) {
        free(r);
        return SAMSA_ERR__NOMEM;
    }
    qsort(r->list.items, r->list.count, sizeof(r->list.items[0]), cmp_tp);
    r->c = c;
    r->done = done;
    r->opaque = opaque;
    conn_request_t req = {.api_key = API_OFFSET_FETCH,
                          .max_version = OFFSET_FETCH_MAX_VERSION,
                          .encode = encode_offset_fetch,
                          .on_response = on_offset_fetch,
                          .opaque = r};
    samsa_err_t err = conn_send(conn, &req);
    if (err) {
        samsa_partition_list_free(&r->list);
        free(r);
    }
    return err;
}

/* The committed() query's answer: copied into the caller's list if the
 * caller still waits. */
static void on_query(samsa_consumer_t *c, void *opaque, samsa_err_t err,
                     const samsa_partition_list_t *list)
{
    uint64_t seq = (uint64_t)(uintptr_t)opaque;
    c->query_in_flight = false;
    cquery_t *q = c->query;
    if (!q || q->seq != seq)
        return;
    for (size_t i = 0; i < q->list->count; i++) {
        samsa_topic_partition_t *tp = &q->list->items[i];
        tp->offset = -1;
        tp->err = err ? err : SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        for (size_t k = 0; list && k < list->count; k++)
            if (list->items[k].partition == tp->partition && tp->topic &&
                !strcmp(list->items[k].topic, tp->topic)) {
                tp->offset = list->items[k].offset;
                tp->err = list->items[k].err;
            }
    }
    q->err = err;
    q->done = true;
    c->query = NULL;
    pthread_cond_broadcast(&c->cond);
}

void offsets_run(samsa_consumer_t *c, conn_t *conn)
{
    int64_t now = clock_mono_ms();
    if (c->cfg.enable_auto_commit && c->subscribed && now >= c->next_auto_commit_ms) {
        c->next_auto_commit_ms = now + c->cfg.auto_commit_interval_ms;
        if (c->group.state == GROUP_STABLE)
            offsets_commit_positions(c, NULL, 0);
    }
    if (c->cfg.enable_auto_commit && !c->subscribed && now >= c->next_auto_commit_ms &&
        c->cfg.group_id[0]) {
        c->next_auto_commit_ms = now + c->cfg.auto_commit_interval_ms;
        offsets_commit_positions(c, NULL, 0);
    }
    ccommit_t *cm;
    while ((cm = c->commits) && (conn || now - cm->created_ms > c->cfg.request_timeout_ms) &&
           now >= cm->retry_at_ms) {
        c->commits = cm->next;
        if (conn)
            send_commit(c, conn, cm);
        else
            commit_done(c, cm, SAMSA_ERR__TIMED_OUT);
    }
    if (c->query && !c->query_in_flight && conn) {
        if (offsets_fetch_committed(c, c->query->list, on_query,
                                    (void *)(uintptr_t)c->query->seq) == SAMSA_ERR_NONE)
            c->query_in_flight = true;
    }
}
