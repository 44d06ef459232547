/*
 * group.c: the group coordinator's lifecycle and registry of groups, the
 * dispatch of requests to the handlers, FindCoordinator, DescribeGroups,
 * ListGroups, and the expiry of committed offsets (offsets.retention).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/slog.h"
#include "broker/group_int.h"
#include "proto/messages.h"

/* ---- helpers shared by the handlers ---------------------------------------- */

char *group_strdup_wire(proto_str_t s)
{
    size_t len = s.len > 0 ? (size_t)s.len : 0;
    char *d = malloc(len + 1);
    if (d) {
        if (len)
            memcpy(d, s.ptr, len);
        d[len] = '\0';
    }
    return d;
}

proto_str_t group_resp_str(broker_request_t *req, const char *s)
{
    proto_str_t out = {NULL, -1};
    if (!s)
        return out;
    size_t len = strlen(s);
    char *p = arena_alloc(&req->arena, len + 1);
    if (!p) {
        out.ptr = "";
        out.len = 0;
        return out;
    }
    memcpy(p, s, len);
    out.ptr = p;
    out.len = (int32_t)len;
    return out;
}

proto_bytes_t group_resp_bytes(broker_request_t *req, const uint8_t *p, size_t len)
{
    proto_bytes_t out = {(const uint8_t *)"", 0};
    uint8_t *d = arena_alloc(&req->arena, len + 1);
    if (d && len) {
        memcpy(d, p, len);
        out.ptr = d;
        out.len = (int32_t)len;
    }
    return out;
}

const char *group_state_name(group_state_t s)
{
    switch (s) {
    case GROUP_EMPTY:
        return "Empty";
    case GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case GROUP_STABLE:
        return "Stable";
    case GROUP_DEAD:
        break;
    }
    return "Dead";
}

void group_set_state(group_t *g, group_state_t state)
{
    g->state = state;
    g->state_ts_ms = clock_wall_ms();
}

/* ---- the registry: groups sorted by id ---------------------------------------- */

static int id_cmp(const char *a, const char *b, size_t b_len)
{
    size_t a_len = strlen(a);
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c == 0 && a_len != b_len)
        c = a_len < b_len ? -1 : 1;
    return c;
}

static size_t group_lower_bound(group_coordinator_t *gc, const char *id, size_t len)
{
    size_t lo = 0, hi = gc->group_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (id_cmp(gc->groups[mid]->group_id, id, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

group_t *group_find(group_coordinator_t *gc, const char *group_id, size_t len)
{
    size_t at = group_lower_bound(gc, group_id, len);
    if (at < gc->group_count && id_cmp(gc->groups[at]->group_id, group_id, len) == 0)
        return gc->groups[at];
    return NULL;
}

group_t *group_find_str(group_coordinator_t *gc, proto_str_t group_id)
{
    return group_id.len > 0 ? group_find(gc, group_id.ptr, (size_t)group_id.len) : NULL;
}

group_t *group_get_or_create(group_coordinator_t *gc, const char *group_id, size_t len)
{
    size_t at = group_lower_bound(gc, group_id, len);
    if (at < gc->group_count && id_cmp(gc->groups[at]->group_id, group_id, len) == 0)
        return gc->groups[at];
    if (gc->group_count == gc->group_cap) {
        size_t cap = gc->group_cap ? gc->group_cap * 2 : 16;
        group_t **n = realloc(gc->groups, cap * sizeof(*n));
        if (!n)
            return NULL;
        gc->groups = n;
        gc->group_cap = cap;
    }
    group_t *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    proto_str_t s = {group_id, (int32_t)len};
    if (!(g->group_id = group_strdup_wire(s))) {
        free(g);
        return NULL;
    }
    g->gc = gc;
    g->state_ts_ms = clock_wall_ms();
    memmove(&gc->groups[at + 1], &gc->groups[at], (gc->group_count - at) * sizeof(*gc->groups));
    gc->groups[at] = g;
    gc->group_count++;
    return g;
}

static void group_free(group_coordinator_t *gc, group_t *g, int16_t err)
{
    group_members_clear(g, err);
    loop_timer_cancel(gc->env.loop, g->join_timer);
    loop_timer_cancel(gc->env.loop, g->sync_timer);
    group_offsets_free(g);
    if (g->stored_value)
        gc->live_records--;
    free(g->stored_value);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    free(g->group_id);
    free(g);
}

void group_remove(group_coordinator_t *gc, group_t *g)
{
    size_t at = group_lower_bound(gc, g->group_id, strlen(g->group_id));
    memmove(&gc->groups[at], &gc->groups[at + 1],
            (gc->group_count - at - 1) * sizeof(*gc->groups));
    gc->group_count--;
    group_free(gc, g, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
}

/* ---- offset expiry ----------------------------------------------------------- */

/* Whether a Stable "consumer" group's members subscribe to topic, read from
 * their subscriptions (ConsumerProtocolSubscription: version i16, then
 * topics as an int32 count of int16-length strings in every version).
 * *known is false when a subscription does not parse. */
static bool group_subscribes(const group_t *g, const char *topic, bool *known)
{
    *known = true;
    size_t topic_len = strlen(topic);
    for (const group_member_t *m = g->members; m; m = m->next) {
        const group_protocol_t *p = NULL;
        for (size_t i = 0; i < m->protocol_count && !p; i++)
            if (strcmp(m->protocols[i].name, g->protocol_name) == 0)
                p = &m->protocols[i];
        if (!p) {
            *known = false;
            return true;
        }
        reader_t r = reader_make(p->metadata, p->metadata_len);
        reader_i16(&r);
        int32_t n = reader_i32(&r);
        for (int32_t i = 0; i < n && reader_ok(&r); i++) {
            int16_t len = reader_i16(&r);
            const uint8_t *name = len >= 0 ? reader_take(&r, (size_t)len) : NULL;
            if (name && (size_t)len == topic_len && memcmp(name, topic, topic_len) == 0)
                return true;
        }
        if (!reader_ok(&r) || n < 0) {
            *known = false;
            return true;
        }
    }
    return false;
}

/* Kafka's rules (offsets.retention.minutes): a consumer group's offsets
 * expire together once it has been Empty for the retention time; a group
 * that never used group management (no protocol type) loses each offset
 * that long after its commit; a Stable "consumer" group loses the offsets
 * of topics none of its members subscribes to that long after their
 * commit. */
static bool offset_expired(const group_t *g, const group_offset_t *o, int64_t now_ms,
                           int64_t retention_ms)
{
    if (g->state == GROUP_EMPTY && !g->pending)
        return now_ms - (g->protocol_type ? g->state_ts_ms : o->commit_ts_ms) >= retention_ms;
    if (g->state != GROUP_STABLE || !g->protocol_type || !g->protocol_name ||
        strcmp(g->protocol_type, "consumer") != 0 || now_ms - o->commit_ts_ms < retention_ms)
        return false;
    bool known;
    return !group_subscribes(g, o->topic, &known) && known;
}

static void expire_group(group_coordinator_t *gc, group_t *g, int64_t now_ms)
{
    int64_t retention = gc->cfg.offsets_retention_ms;
    buf_t data;
    buf_init(&data, 0);
    size_t n = 0;
    bool *expired = calloc(g->offset_count + 1, sizeof(*expired));
    log_record_t *recs = calloc(g->offset_count + 1, sizeof(*recs));
    if (!expired || !recs) {
        slog_warn("group", "cannot expire offsets of group %s: out of memory", g->group_id);
        goto done;
    }
    for (size_t i = 0; i < g->offset_count; i++) {
        const group_offset_t *o = &g->offsets[i];
        if ((expired[i] = offset_expired(g, o, now_ms, retention))) {
            size_t start = data.len;
            group_store_offset_key(&data, g->group_id, o->topic, strlen(o->topic), o->partition);
            recs[n++].key_bytes = data.len - start;
        }
    }
    if (n) {
        samsa_err_t err = SAMSA_ERR__NOMEM;
        if (!data.failed) {
            size_t pos = 0;
            for (size_t k = 0; k < n; k++) {
                recs[k].key = data.data + pos;
                pos += recs[k].key_bytes;
            }
            err = group_store_append(gc, recs, n, NULL);
        }
        if (err) {
            slog_warn("group", "cannot expire offsets of group %s: %s", g->group_id,
                      samsa_err_str(err));
            goto done;
        }
        for (size_t i = g->offset_count; i-- > 0;)
            if (expired[i])
                group_offset_delete_at(g, i);
        group_store_maybe_snapshot(gc);
    }
    if (g->state == GROUP_EMPTY && !g->pending && g->offset_count == 0 && !g->members) {
        samsa_err_t err = group_store_delete_group(gc, g);
        if (err) {
            slog_warn("group", "cannot delete group %s: %s", g->group_id, samsa_err_str(err));
        } else {
            group_remove(gc, g);
        }
    }
done:
    free(expired);
    free(recs);
    buf_free(&data);
}

static void expiry_tick(loop_t *loop, void *opaque)
{
    group_coordinator_t *gc = opaque;
    gc->expiry_timer = NULL;
    int64_t now = clock_wall_ms();
    for (size_t i = gc->group_count; i-- > 0;)
        if (i < gc->group_count)
            expire_group(gc, gc->groups[i], now);
    gc->expiry_timer = loop_timer_add(loop, gc->cfg.offsets_retention_check_interval_ms,
                                      expiry_tick, gc);
}

/* ---- lifecycle --------------------------------------------------------------- */

group_coordinator_t *group_coordinator_new(const group_config_t *cfg, const group_env_t *env,
                                           char *errbuf, size_t errlen)
{
    group_coordinator_t *gc = calloc(1, sizeof(*gc));
    if (!gc) {
        snprintf(errbuf, errlen, "group coordinator: out of memory");
        return NULL;
    }
    gc->cfg = *cfg;
    gc->env = *env;
    gc->commit_waits_tail = &gc->commit_waits;
    if (group_store_load(gc, errbuf, errlen) != SAMSA_ERR_NONE)
        goto fail;
    if (cfg->offsets_retention_check_interval_ms > 0) {
        gc->expiry_timer = loop_timer_add(env->loop, cfg->offsets_retention_check_interval_ms,
                                          expiry_tick, gc);
        if (!gc->expiry_timer) {
            snprintf(errbuf, errlen, "group coordinator: out of memory");
            goto fail;
        }
    }
    return gc;
fail:
    group_coordinator_free(gc);
    return NULL;
}

void group_coordinator_free(group_coordinator_t *gc)
{
    if (!gc)
        return;
    gc->closing = true;
    group_commit_waits_poll(gc, true);
    loop_timer_cancel(gc->env.loop, gc->commit_poll_timer);
    loop_timer_cancel(gc->env.loop, gc->expiry_timer);
    for (size_t i = 0; i < gc->group_count; i++)
        group_free(gc, gc->groups[i], SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
    free(gc->groups);
    free(gc);
}

void group_topic_deleted(group_coordinator_t *gc, const char *topic)
{
    size_t topic_len = strlen(topic);
    for (size_t gi = 0; gi < gc->group_count; gi++) {
        group_t *g = gc->groups[gi];
        ptrdiff_t at = group_offset_search(g, topic, topic_len, INT32_MIN);
        size_t first = at >= 0 ? (size_t)at : (size_t)(-1 - at), last = first;
        while (last < g->offset_count && strcmp(g->offsets[last].topic, topic) == 0)
            last++;
        if (last == first)
            continue;
        buf_t data;
        buf_init(&data, 0);
        log_record_t *recs = calloc(last - first, sizeof(*recs));
        samsa_err_t err = SAMSA_ERR__NOMEM;
        if (recs) {
            size_t key_len = 2 + 2 + strlen(g->group_id) + 2 + topic_len + 4;
            for (size_t i = first; i < last; i++)
                group_store_offset_key(&data, g->group_id, topic, topic_len,
                                       g->offsets[i].partition);
            for (size_t i = 0; !data.failed && i < last - first; i++) {
                recs[i].key = data.data + i * key_len;
                recs[i].key_bytes = key_len;
            }
            if (!data.failed)
                err = group_store_append(gc, recs, last - first, NULL);
        }
        free(recs);
        buf_free(&data);
        if (err)
            slog_warn("group", "cannot delete offsets of topic %s in group %s: %s", topic,
                      g->group_id, samsa_err_str(err));
        /* The cache follows the deletion even if the tombstones failed: the
         * topic is gone either way. */
        for (size_t i = last; i-- > first;)
            group_offset_delete_at(g, i);
        group_store_maybe_snapshot(gc);
    }
}

/* ---- FindCoordinator ------------------------------------------------------------- */

/* Every group is coordinated here; samsa has no transaction coordinator, so
 * transactional ids get COORDINATOR_NOT_AVAILABLE (clients report that the
 * transaction coordinator cannot be found rather than fail later). */
static int16_t coordinator_error(int8_t key_type, const char **message)
{
    if (key_type == 0) {
        *message = NULL;
        return SAMSA_ERR_NONE;
    }
    if (key_type == 1) {
        *message = "samsa has no transaction coordinator";
        return SAMSA_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    *message = "unknown coordinator key type";
    return SAMSA_ERR_INVALID_REQUEST;
}

static void handle_find_coordinator(group_coordinator_t *gc, broker_request_t *req)
{
    const find_coordinator_request_t *rq = req->body;
    find_coordinator_response_t *resp = broker_response_new(req);
    if (!resp)
        goto respond;
    proto_str_t host = group_resp_str(req, gc->env.host ? gc->env.host : "");
    const char *msg;
    if (req->api_version < 4) {
        resp->error_code = coordinator_error(rq->key_type, &msg);
        resp->error_message = group_resp_str(req, msg);
        bool ok = resp->error_code == SAMSA_ERR_NONE;
        resp->node_id = ok ? gc->env.node_id : -1;
        resp->host = ok ? host : group_resp_str(req, "");
        resp->port = ok ? gc->env.port : -1;
        goto respond;
    }
    int32_t n = rq->coordinator_keys_count > 0 ? rq->coordinator_keys_count : 0;
    resp->coordinators = arena_alloc(&req->arena, (size_t)(n ? n : 1) * sizeof(*resp->coordinators));
    if (!resp->coordinators) {
        resp = NULL;
        goto respond;
    }
    resp->coordinators_count = n;
    for (int32_t i = 0; i < n; i++) {
        find_coordinator_response_coordinator_t *c = &resp->coordinators[i];
        c->key = rq->coordinator_keys[i];
        c->error_code = coordinator_error(rq->key_type, &msg);
        c->error_message = group_resp_str(req, msg);
        bool ok = c->error_code == SAMSA_ERR_NONE;
        c->node_id = ok ? gc->env.node_id : -1;
        c->host = ok ? host : group_resp_str(req, "");
        c->port = ok ? gc->env.port : -1;
    }
respond:
    broker_request_respond(req, resp);
}

/* ---- DescribeGroups, ListGroups --------------------------------------------------- */

/* Without an authorizer every principal may do what a group allows:
 * READ (3), DELETE (6) and DESCRIBE (8), as Kafka's AclOperation codes. */
#define GROUP_AUTHORIZED_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8))

static void describe_one(broker_request_t *req, group_t *g,
                         describe_groups_response_described_group_t *d, bool with_operations)
{
    d->error_code = SAMSA_ERR_NONE;
    d->error_message = (proto_str_t){NULL, -1};
    d->group_state = group_resp_str(req, group_state_name(g->state));
    d->protocol_type = group_resp_str(req, g->protocol_type ? g->protocol_type : "");
    bool stable = g->state == GROUP_STABLE;
    d->protocol_data = group_resp_str(req, stable && g->protocol_name ? g->protocol_name : "");
    d->authorized_operations = with_operations ? GROUP_AUTHORIZED_OPERATIONS : INT32_MIN;
    d->members_count = 0;
    d->members = arena_alloc(&req->arena, (g->member_count + 1) * sizeof(*d->members));
    if (!d->members)
        return;
    for (group_member_t *m = g->members; m; m = m->next) {
        describe_groups_response_described_group_member_t *dm = &d->members[d->members_count++];
        dm->member_id = group_resp_str(req, m->member_id);
        dm->group_instance_id = group_resp_str(req, m->instance_id);
        dm->client_id = group_resp_str(req, m->client_id);
        dm->client_host = group_resp_str(req, m->client_host);
        dm->member_metadata = group_resp_bytes(req, NULL, 0);
        dm->member_assignment = group_resp_bytes(req, NULL, 0);
        if (!stable)
            continue;
        for (size_t i = 0; i < m->protocol_count; i++)
            if (g->protocol_name && strcmp(m->protocols[i].name, g->protocol_name) == 0)
                dm->member_metadata = group_resp_bytes(req, m->protocols[i].metadata,
                                                       m->protocols[i].metadata_len);
        dm->member_assignment = group_resp_bytes(req, m->assignment, m->assignment_len);
    }
}

static void handle_describe_groups(group_coordinator_t *gc, broker_request_t *req)
{
    const describe_groups_request_t *rq = req->body;
    describe_groups_response_t *resp = broker_response_new(req);
    int32_t n = rq->groups_count > 0 ? rq->groups_count : 0;
    if (!resp || !(resp->groups = arena_alloc(&req->arena, (size_t)(n + 1) * sizeof(*resp->groups)))) {
        resp = NULL;
        goto respond;
    }
    resp->groups_count = n;
    for (int32_t i = 0; i < n; i++) {
        describe_groups_response_described_group_t *d = &resp->groups[i];
        d->group_id = rq->groups[i];
        group_t *g = rq->groups[i].len >= 0
                         ? group_find(gc, rq->groups[i].ptr, (size_t)rq->groups[i].len)
                         : NULL;
        if (g) {
            describe_one(req, g, d, rq->include_authorized_operations);
            continue;
        }
        /* Kafka 3.8+ (v6) says the group is not there; older versions
         * describe it as Dead with no error. */
        d->error_code = req->api_version >= 6 ? SAMSA_ERR_GROUP_ID_NOT_FOUND : SAMSA_ERR_NONE;
        d->error_message = req->api_version >= 6
                               ? group_resp_str(req, "group not found")
                               : (proto_str_t){NULL, -1};
        d->group_state = group_resp_str(req, req->api_version >= 6 ? "" : "Dead");
        d->protocol_type = group_resp_str(req, "");
        d->protocol_data = group_resp_str(req, "");
        d->authorized_operations = INT32_MIN;
        d->members_count = 0;
    }
respond:
    broker_request_respond(req, resp);
}

static bool filter_has(const proto_str_t *items, int32_t count, const char *value)
{
    if (count <= 0)
        return true;
    for (int32_t i = 0; i < count; i++)
        if (items[i].len >= 0 && (size_t)items[i].len == strlen(value) &&
            strncasecmp(items[i].ptr, value, (size_t)items[i].len) == 0)
            return true;
    return false;
}

static void handle_list_groups(group_coordinator_t *gc, broker_request_t *req)
{
    const list_groups_request_t *rq = req->body;
    list_groups_response_t *resp = broker_response_new(req);
    if (!resp ||
        !(resp->groups = arena_alloc(&req->arena, (gc->group_count + 1) * sizeof(*resp->groups)))) {
        resp = NULL;
        goto respond;
    }
    resp->groups_count = 0;
    for (size_t i = 0; i < gc->group_count; i++) {
        const group_t *g = gc->groups[i];
        if (g->state == GROUP_DEAD ||
            !filter_has(rq->states_filter, rq->states_filter_count, group_state_name(g->state)) ||
            !filter_has(rq->types_filter, rq->types_filter_count, "classic"))
            continue;
        list_groups_response_listed_group_t *lg = &resp->groups[resp->groups_count++];
        lg->group_id = group_resp_str(req, g->group_id);
        lg->protocol_type = group_resp_str(req, g->protocol_type ? g->protocol_type : "");
        lg->group_state = group_resp_str(req, group_state_name(g->state));
        lg->group_type = group_resp_str(req, "classic");
    }
respond:
    broker_request_respond(req, resp);
}

/* ---- dispatch ----------------------------------------------------------------- */

void group_handle(group_coordinator_t *gc, broker_request_t *req)
{
    switch (req->api->key) {
    case API_FIND_COORDINATOR:
        handle_find_coordinator(gc, req);
        break;
    case API_JOIN_GROUP:
        group_handle_join(gc, req);
        break;
    case API_SYNC_GROUP:
        group_handle_sync(gc, req);
        break;
    case API_HEARTBEAT:
        group_handle_heartbeat(gc, req);
        break;
    case API_LEAVE_GROUP:
        group_handle_leave(gc, req);
        break;
    case API_OFFSET_COMMIT:
        group_handle_offset_commit(gc, req);
        break;
    case API_OFFSET_FETCH:
        group_handle_offset_fetch(gc, req);
        break;
    case API_DESCRIBE_GROUPS:
        handle_describe_groups(gc, req);
        break;
    case API_LIST_GROUPS:
        handle_list_groups(gc, req);
        break;
    default:
        slog_warn("group", "request of API %d is not the group coordinator's", req->api->key);
        broker_request_respond(req, NULL);
        break;
    }
}
