/*
 * group.c: the consumer's side of Kafka's classic group protocol (see
 * consumer_int.h): finding the coordinator, JoinGroup (with the
 * MEMBER_ID_REQUIRED retry), the leader's assignment with the configured
 * assignor, SyncGroup, heartbeats, eager and cooperative revocation,
 * LeaveGroup, regex subscriptions matched against the cluster's topics,
 * and the offset requests that go to the coordinator (OffsetCommit,
 * OffsetFetch), auto commit included.
 *
 * Runs on the I/O thread with c->lock held (group_subscribe and
 * group_reset also from application threads, under the lock).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/slog.h"
#include "client/consumer_int.h"
#include "proto/messages.h"

#define FIND_COORDINATOR_MAX_VERSION 3 /* v4 batches keys */
#define LEAVE_GROUP_MAX_VERSION 4
#define PROTOCOL_TYPE "consumer"

static proto_str_t pstr(const char *s)
{
    return (proto_str_t){s, s ? (int32_t)strlen(s) : -1};
}

static char *pstrdup(proto_str_t s)
{
    char *out = malloc(s.len > 0 ? (size_t)s.len + 1 : 1);
    if (!out)
        return NULL;
    if (s.len > 0)
        memcpy(out, s.ptr, (size_t)s.len);
    out[s.len > 0 ? s.len : 0] = '\0';
    return out;
}

static bool pstr_eq(proto_str_t s, const char *c)
{
    return s.len >= 0 && (size_t)s.len == strlen(c) && !memcmp(s.ptr, c, (size_t)s.len);
}

static samsa_err_t encode(int16_t key, int16_t version, const void *msg, buf_t *out)
{
    const proto_api_t *api = proto_api(key);
    return proto_encode(api->request, version, proto_api_flexible(api, version), msg, out, NULL);
}

static int64_t now_ms(samsa_consumer_t *c) { return loop_now_ms(c->loop); }

static void free_owned(group_t *g)
{
    for (int i = 0; i < g->owned_count; i++)
        free((char *)g->owned[i].topic);
    free(g->owned);
    g->owned = NULL;
    g->owned_count = 0;
}

static void free_led(group_t *g)
{
    for (int i = 0; i < g->led_count; i++)
        free((char *)g->led[i].name);
    free(g->led);
    g->led = NULL;
    g->led_count = 0;
}

/* Keeps the partition counts an assignment used (see group_t.led). */
static samsa_err_t keep_led(group_t *g, const assign_topic_t *topics, int n)
{
    free_led(g);
    g->led = calloc((size_t)n + 1, sizeof(*g->led));
    if (!g->led)
        return SAMSA_ERR__NOMEM;
    for (int i = 0; i < n; i++) {
        char *name = strdup(topics[i].name);
        if (!name)
            return SAMSA_ERR__NOMEM;
        g->led[g->led_count++] = (assign_topic_t){name, topics[i].partition_count};
    }
    return SAMSA_ERR_NONE;
}

/* Whether metadata now gives a topic of the last assignment another
 * partition count (it was unknown to the leader then, or grew): the
 * assignment must be made again, as Java's leader does. */
static bool led_outdated(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    for (int i = 0; i < g->led_count; i++) {
        cluster_topic_t *ct = cluster_topic(&c->cluster, g->led[i].name);
        if (ct && ct->known && ct->partition_count != g->led[i].partition_count)
            return true;
    }
    return false;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void group_reset(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    free_strings(g->topics, g->topic_count);
    for (int i = 0; i < g->pattern_count; i++)
        regfree(&g->patterns[i]);
    free(g->patterns);
    free_strings(g->matched, g->matched_count);
    free(g->member_id);
    free_owned(g);
    free_led(g);
    int32_t coordinator_id = g->coordinator_id;
    conn_t *coordinator = g->coordinator;
    int64_t last_poll = g->last_poll_ms;
    memset(g, 0, sizeof(*g));
    g->coordinator_id = coordinator_id;
    g->coordinator = coordinator;
    g->last_poll_ms = last_poll;
    g->generation = -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

samsa_err_t group_subscribe(samsa_consumer_t *c, const char *const *topics, size_t n)
{
    group_reset(c);
    group_t *g = &c->group;
    g->topics = calloc(n, sizeof(*g->topics));
    g->patterns = calloc(n, sizeof(*g->patterns));
    g->matched = calloc(n, sizeof(*g->matched));
    if (!g->topics || !g->patterns || !g->matched)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        g->topics[i] = strdup(topics[i]);
        if (!g->topics[i])
            goto nomem;
        g->topic_count++;
        if (topics[i][0] == '^') {
            if (regcomp(&g->patterns[g->pattern_count], topics[i], REG_EXTENDED | REG_NOSUB)) {
                group_reset(c);
                return SAMSA_ERR__INVALID_ARG;
            }
            g->pattern_count++;
        } else {
            g->matched[g->matched_count] = strdup(topics[i]);
            if (!g->matched[g->matched_count])
                goto nomem;
            g->matched_count++;
            cluster_topic(&c->cluster, topics[i]);
        }
    }
    qsort(g->matched, (size_t)g->matched_count, sizeof(char *), cmp_str);
    g->state = GROUP_FIND;
    return SAMSA_ERR_NONE;
nomem:
    group_reset(c);
    return SAMSA_ERR__NOMEM;
}

conn_t *group_coordinator(samsa_consumer_t *c)
{
    conn_t *conn = c->group.coordinator;
    return conn && conn_state(conn) == CONN_UP ? conn : NULL;
}

static void lose_coordinator(samsa_consumer_t *c)
{
    c->group.coordinator = NULL;
    c->group.coordinator_id = -1;
    if (c->group.state > GROUP_FIND && c->group.state != GROUP_STABLE)
        c->group.state = GROUP_JOIN;
}

static bool coordinator_error(int16_t e)
{
    return e == SAMSA_ERR_NOT_COORDINATOR || e == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE ||
           e == SAMSA_ERR__TRANSPORT || e == SAMSA_ERR__TIMED_OUT ||
           e == SAMSA_ERR_REQUEST_TIMED_OUT;
}

/* ---- FindCoordinator ------------------------------------------------- */

static samsa_err_t encode_find(void *opaque, int16_t version, buf_t *out)
{
    samsa_consumer_t *c = opaque;
    find_coordinator_request_t req;
    proto_init(&find_coordinator_request_desc, &req);
    req.key = pstr(c->cfg.group_id);
    req.key_type = 0;
    return encode(API_FIND_COORDINATOR, version, &req, out);
}

static void on_find(void *opaque, conn_t *conn, samsa_err_t err, int16_t version, const void *r)
{
    samsa_consumer_t *c = opaque;
    const find_coordinator_response_t *resp = r;
    pthread_mutex_lock(&c->lock);
    group_t *g = &c->group;
    g->request_in_flight = false;
    if (!err)
        err = resp->error_code;
    conn_t *coord = err ? NULL : consumer_coordinator_conn(c, resp->node_id);
    if (coord) {
        g->coordinator_id = resp->node_id;
        g->coordinator = coord;
        conn_connect(coord);
    } else {
        if (!err || err == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE)
            cluster_want_refresh(&c->cluster);
        else if (err != SAMSA_ERR__DESTROYED)
            slog_write(2, "consumer", "group %s: FindCoordinator at %s: %s", c->cfg.group_id,
                       conn_name(conn), samsa_err_str(err));
        g->retry_at_ms = now_ms(c) + c->cfg.retry_backoff_ms;
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

static void find_coordinator(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    if (g->request_in_flight || g->retry_at_ms > now_ms(c))
        return;
    conn_t *conn = cluster_any_conn(&c->cluster);
    if (!conn)
        return;
    conn_request_t req = {.api_key = API_FIND_COORDINATOR,
                          .max_version = FIND_COORDINATOR_MAX_VERSION,
                          .encode = encode_find,
                          .on_response = on_find,
                          .opaque = c};
    if (conn_send(conn, &req) == SAMSA_ERR_NONE)
        g->request_in_flight = true;
}

const char *group_instance(const samsa_consumer_t *c)
{
    return c->cfg.group_instance_id[0] ? c->cfg.group_instance_id : NULL;
}

/* ---- revocation and assignment --------------------------------------- */

static bool list_from_tps(samsa_partition_list_t *out, const assign_tp_t *tps, int n)
{
    samsa_topic_partition_t *items = calloc((size_t)n + 1, sizeof(*items));
    if (!items)
        return false;
    for (int i = 0; i < n; i++)
        items[i] = (samsa_topic_partition_t){tps[i].topic, tps[i].partition, -1, 0};
    samsa_partition_list_t tmp = {items, (size_t)n};
    bool ok = partition_list_copy(out, &tmp);
    free(items);
    return ok;
}

/* Every partition is gone at once, without a commit (they may be another
 * member's already): the application hears of the owned ones as revoked
 * and nothing more of any is delivered. */
static void drop_all(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    if (g->owned_count) {
        samsa_partition_list_t list;
        if (list_from_tps(&list, g->owned, g->owned_count))
            consumer_event(c, CEVENT_REVOKED, SAMSA_ERR_NONE, &list);
    }
    consumer_parts_remove(c, NULL, 0);
    free_owned(g);
}

bool group_in_generation(const samsa_consumer_t *c, int32_t generation)
{
    const group_t *g = &c->group;
    return generation >= 0 && generation == g->generation && c->subscribed && !c->stopped &&
           (g->state == GROUP_STABLE || (g->state == GROUP_JOIN && !g->request_in_flight));
}

void group_lost(samsa_consumer_t *c, samsa_err_t why, const char *api)
{
    group_t *g = &c->group;
    slog_info("consumer", "group %s: %s: %s; partitions lost, rejoining", c->cfg.group_id, api,
              samsa_err_name(why));
    if (why == SAMSA_ERR_UNKNOWN_MEMBER_ID) {
        free(g->member_id);
        g->member_id = NULL;
    }
    g->generation = -1;
    drop_all(c);
    if (g->state == GROUP_STABLE || g->state == GROUP_SYNC)
        g->state = GROUP_JOIN;
}

/* FENCED_INSTANCE_ID: a newer consumer took this one's group.instance.id.
 * As in Java, that is fatal for the membership: the application hears it
 * from poll and the consumer stops taking part in the group (its
 * partitions are lost; subscribe again to rejoin, which fences the other). */
static void fenced(samsa_consumer_t *c, conn_t *conn, const char *api)
{
    group_t *g = &c->group;
    consumer_queue_push(c, consumer_error_msg(NULL, -1, -1, SAMSA_ERR_FENCED_INSTANCE_ID,
                                              "group %s: %s at %s: another consumer joined with "
                                              "group.instance.id %s; this one left the group",
                                              c->cfg.group_id, api, conn_name(conn),
                                              c->cfg.group_instance_id));
    drop_all(c);
    free(g->member_id);
    g->member_id = NULL;
    g->generation = -1;
    g->state = GROUP_NONE;
    c->subscribed = false;
}

/* Revokes tps (all owned when tps is NULL): commits their positions and
 * tells the application. With a rebalance callback the partitions stay
 * until poll ran it (g->revoking; returns true); without, the caller
 * drops them at once (returns false). */
static bool revoke(samsa_consumer_t *c, const assign_tp_t *tps, int n)
{
    group_t *g = &c->group;
    if (!tps) {
        tps = g->owned;
        n = g->owned_count;
    }
    if (!n)
        return false;
    offsets_commit_positions(c, tps, n);
    samsa_partition_list_t list;
    if (!list_from_tps(&list, tps, n))
        return false;
    if (!c->cb.rebalance) {
        consumer_event(c, CEVENT_REVOKED, SAMSA_ERR_NONE, &list);
        return false;
    }
    consumer_event(c, CEVENT_REVOKED_RELEASE, SAMSA_ERR_NONE, &list);
    g->revoking = true;
    return true;
}

/* Starts a rebalance: eager protocols revoke everything first. */
static void rejoin(samsa_consumer_t *c, bool lost)
{
    group_t *g = &c->group;
    if (g->state == GROUP_JOIN || g->state == GROUP_SYNC || g->state == GROUP_FIND)
        return;
    if (!assignor_cooperative(g->protocol) || lost) {
        if (lost)
            drop_all(c);
        else if (!revoke(c, NULL, 0))
            consumer_parts_remove(c, NULL, 0);
        free_owned(g);
    }
    g->state = GROUP_JOIN;
}

static bool owns(const assign_tp_t *tps, int n, const char *topic, int32_t partition)
{
    for (int i = 0; i < n; i++)
        if (tps[i].partition == partition && !strcmp(tps[i].topic, topic))
            return true;
    return false;
}

/* Applies the assignment SyncGroup returned. */
static void apply_assignment(samsa_consumer_t *c, const cproto_subscription_t *a)
{
    group_t *g = &c->group;
    assign_tp_t *next = calloc((size_t)a->owned_count + g->owned_count + 1, sizeof(*next));
    assign_tp_t *revoked = calloc((size_t)g->owned_count + 1, sizeof(*revoked));
    assign_tp_t *added = calloc((size_t)a->owned_count + 1, sizeof(*added));
    int nr = 0, na = 0, nn = 0;
    if (!next || !revoked || !added)
        goto out;
    for (int i = 0; i < a->owned_count; i++) {
        next[nn].topic = strdup(a->owned[i].topic);
        if (!next[nn].topic)
            goto out;
        next[nn++].partition = a->owned[i].partition;
        if (!owns(g->owned, g->owned_count, a->owned[i].topic, a->owned[i].partition))
            added[na++] = a->owned[i];
    }
    for (int i = 0; i < g->owned_count; i++)
        if (!owns(a->owned, a->owned_count, g->owned[i].topic, g->owned[i].partition))
            revoked[nr++] = g->owned[i];
    for (int i = 0; slog_enabled(SLOG_DEBUG) && i < na; i++)
        slog_write(SLOG_DEBUG, "consumer", "group %s generation %d: assigned %s-%d",
                   c->cfg.group_id, (int)g->generation, added[i].topic, (int)added[i].partition);
    for (int i = 0; slog_enabled(SLOG_DEBUG) && i < nr; i++)
        slog_write(SLOG_DEBUG, "consumer", "group %s generation %d: revoked %s-%d",
                   c->cfg.group_id, (int)g->generation, revoked[i].topic,
                   (int)revoked[i].partition);
    bool later = nr && revoke(c, revoked, nr);
    /* the revoked partitions stay until poll releases them, when it does */
    for (int i = 0; later && i < nr; i++)
        next[nn + i] = revoked[i];
    consumer_parts_remove(c, next, later ? nn + nr : nn);
    for (int i = 0; i < na; i++)
        consumer_part_add(c, added[i].topic, added[i].partition, -1);
    samsa_partition_list_t list;
    if (list_from_tps(&list, added, na))
        consumer_event(c, CEVENT_ASSIGNED, SAMSA_ERR_NONE, &list);
    free_owned(g);
    g->owned = next;
    g->owned_count = nn;
    next = NULL;
    g->state = GROUP_STABLE;
    g->next_heartbeat_ms = now_ms(c) + c->cfg.heartbeat_interval_ms;
    if (nr) /* cooperative: the revoked partitions go to others next round */
        g->state = GROUP_JOIN;
out:
    for (int i = 0; next && i < nn; i++)
        free((char *)next[i].topic);
    free(next);
    free(revoked);
    free(added);
}

/* ---- JoinGroup and SyncGroup -------------------------------------------- */

/* The assignors of partition.assignment.strategy, in order. */
static int strategies(const samsa_consumer_t *c, char names[][32], int max)
{
    int n = 0;
    const char *s = c->cfg.assignment_strategy;
    while (*s && n < max) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t len = strcspn(s, ", ");
        if (len && len < 32) {
            memcpy(names[n], s, len);
            names[n++][len] = '\0';
        }
        s += len;
    }
    return n;
}

typedef struct join_ctx {
    samsa_consumer_t *c;
    buf_t metadata[3];
    char names[3][32];
    int count;
} join_ctx_t;

static samsa_err_t encode_join(void *opaque, int16_t version, buf_t *out)
{
    join_ctx_t *j = opaque;
    samsa_consumer_t *c = j->c;
    join_group_request_join_group_request_protocol_t protos[3];
    for (int i = 0; i < j->count; i++) {
        protos[i].name = pstr(j->names[i]);
        protos[i].metadata = (proto_bytes_t){j->metadata[i].data, (int32_t)j->metadata[i].len};
    }
    join_group_request_t req;
    proto_init(&join_group_request_desc, &req);
    req.group_id = pstr(c->cfg.group_id);
    req.session_timeout_ms = c->cfg.session_timeout_ms;
    req.rebalance_timeout_ms = c->cfg.max_poll_interval_ms;
    req.member_id = pstr(c->group.member_id ? c->group.member_id : "");
    req.group_instance_id = pstr(group_instance(c));
    req.protocol_type = pstr(PROTOCOL_TYPE);
    req.protocols = protos;
    req.protocols_count = j->count;
    req.reason = pstr(NULL);
    return encode(API_JOIN_GROUP, version, &req, out);
}

static void join_ctx_free(join_ctx_t *j)
{
    for (int i = 0; i < 3; i++)
        buf_free(&j->metadata[i]);
    free(j);
}

typedef struct sync_ctx {
    samsa_consumer_t *c;
    int count;
    char **member_ids;
    buf_t *assignments;
} sync_ctx_t;

static void sync_ctx_free(sync_ctx_t *s)
{
    for (int i = 0; i < s->count; i++) {
        free(s->member_ids[i]);
        buf_free(&s->assignments[i]);
    }
    free(s->member_ids);
    free(s->assignments);
    free(s);
}

static samsa_err_t encode_sync(void *opaque, int16_t version, buf_t *out)
{
    sync_ctx_t *s = opaque;
    group_t *g = &s->c->group;
    sync_group_request_sync_group_request_assignment_t *as =
        calloc((size_t)s->count + 1, sizeof(*as));
    if (!as)
        return SAMSA_ERR__NOMEM;
    for (int i = 0; i < s->count; i++) {
        as[i].member_id = pstr(s->member_ids[i]);
        as[i].assignment = (proto_bytes_t){s->assignments[i].data, (int32_t)s->assignments[i].len};
    }
    sync_group_request_t req;
    proto_init(&sync_group_request_desc, &req);
    req.group_id = pstr(s->c->cfg.group_id);
    req.generation_id = g->generation;
    req.member_id = pstr(g->member_id ? g->member_id : "");
    req.group_instance_id = pstr(group_instance(s->c));
    req.protocol_type = pstr(PROTOCOL_TYPE);
    req.protocol_name = pstr(g->protocol);
    req.assignments = as;
    req.assignments_count = s->count;
    samsa_err_t err = encode(API_SYNC_GROUP, version, &req, out);
    free(as);
    return err;
}

static void on_sync(void *opaque, conn_t *conn, samsa_err_t err, int16_t version, const void *r)
{
    sync_ctx_t *s = opaque;
    samsa_consumer_t *c = s->c;
    const sync_group_response_t *resp = r;
    pthread_mutex_lock(&c->lock);
    group_t *g = &c->group;
    g->request_in_flight = false;
    if (!err)
        err = resp->error_code;
    if (g->state != GROUP_SYNC || c->stopped) {
        /* unsubscribed or closing meanwhile */
    } else if (!err) {
        cproto_subscription_t a;
        err = cproto_assignment_decode((const uint8_t *)resp->assignment.ptr,
                                       resp->assignment.len > 0 ? (size_t)resp->assignment.len : 0,
                                       &a);
        if (!err) {
            apply_assignment(c, &a);
            cproto_subscription_free(&a);
        } else {
            consumer_queue_push(c, consumer_error_msg(NULL, -1, -1, err,
                                                      "group %s: malformed assignment from %s",
                                                      c->cfg.group_id, conn_name(conn)));
            g->state = GROUP_JOIN;
        }
    } else if (err == SAMSA_ERR_FENCED_INSTANCE_ID) {
        fenced(c, conn, "SyncGroup");
    } else {
        if (err == SAMSA_ERR_UNKNOWN_MEMBER_ID || err == SAMSA_ERR_ILLEGAL_GENERATION)
            group_lost(c, err, "SyncGroup");
        if (coordinator_error(err))
            lose_coordinator(c);
        g->state = g->coordinator ? GROUP_JOIN : GROUP_FIND;
        if (err != SAMSA_ERR_REBALANCE_IN_PROGRESS)
            g->retry_at_ms = now_ms(c) + c->cfg.retry_backoff_ms;
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
    sync_ctx_free(s);
}

/* The leader's part: runs the assignor over the members' subscriptions. */
static samsa_err_t lead(samsa_consumer_t *c, const join_group_response_t *resp, sync_ctx_t *s)
{
    int n = resp->members_count;
    cproto_subscription_t *subs = calloc((size_t)n + 1, sizeof(*subs));
    assignor_member_t *members = calloc((size_t)n + 1, sizeof(*members));
    char **ids = calloc((size_t)n + 1, sizeof(*ids));
    assign_topic_t *topics = NULL;
    int topic_count = 0;
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!subs || !members || !ids)
        goto out;
    int total = 0;
    for (int i = 0; i < n; i++) {
        const join_group_response_join_group_response_member_t *m = &resp->members[i];
        err = cproto_subscription_decode((const uint8_t *)m->metadata.ptr,
                                         m->metadata.len > 0 ? (size_t)m->metadata.len : 0,
                                         &subs[i]);
        if (err)
            goto out;
        ids[i] = pstrdup(m->member_id);
        if (!ids[i]) {
            err = SAMSA_ERR__NOMEM;
            goto out;
        }
        members[i] = (assignor_member_t){.member_id = ids[i],
                                         .topics = subs[i].topics,
                                         .topic_count = subs[i].topic_count,
                                         .owned = subs[i].owned,
                                         .owned_count = subs[i].owned_count,
                                         .generation = subs[i].generation};
        total += subs[i].topic_count;
    }
    err = SAMSA_ERR__NOMEM;
    topics = calloc((size_t)total + 1, sizeof(*topics));
    if (!topics)
        goto out;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < subs[i].topic_count; k++) {
            const char *name = subs[i].topics[k];
            bool seen = false;
            for (int t = 0; t < topic_count && !seen; t++)
                seen = !strcmp(topics[t].name, name);
            if (seen)
                continue;
            cluster_topic_t *ct = cluster_topic(&c->cluster, name);
            topics[topic_count].name = name;
            topics[topic_count++].partition_count = ct && ct->known ? ct->partition_count : 0;
        }
    err = assignor_run(c->group.protocol, members, n, topics, topic_count);
    if (!err)
        err = keep_led(&c->group, topics, topic_count);
    if (err)
        goto out;
    s->member_ids = ids;
    s->assignments = calloc((size_t)n + 1, sizeof(*s->assignments));
    ids = NULL;
    s->count = n;
    err = s->assignments ? SAMSA_ERR_NONE : SAMSA_ERR__NOMEM;
    for (int i = 0; !err && i < n; i++) {
        buf_init(&s->assignments[i], 0);
        err = cproto_assignment_encode(&s->assignments[i], members[i].assigned,
                                       members[i].assigned_count);
    }
    if (s->assignments == NULL)
        s->count = 0;
out:
    if (members)
        assignor_members_free(members, n);
    for (int i = 0; subs && i < n; i++)
        cproto_subscription_free(&subs[i]);
    for (int i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(subs);
    free(members);
    free(topics);
    return err;
}

static void send_sync(samsa_consumer_t *c, conn_t *conn, const join_group_response_t *resp)
{
    group_t *g = &c->group;
    sync_ctx_t *s = calloc(1, sizeof(*s));
    samsa_err_t err = s ? SAMSA_ERR_NONE : SAMSA_ERR__NOMEM;
    if (s)
        s->c = c;
    if (!err && pstr_eq(resp->leader, g->member_id))
        err = lead(c, resp, s);
    else
        free_led(g);
    if (!err) {
        conn_request_t req = {.api_key = API_SYNC_GROUP,
                              .max_version = -1,
                              .timeout_ms = c->cfg.request_timeout_ms + c->cfg.max_poll_interval_ms,
                              .encode = encode_sync,
                              .on_response = on_sync,
                              .opaque = s};
        err = conn_send(conn, &req);
    }
    if (err) {
        if (s)
            sync_ctx_free(s);
        consumer_queue_push(c, consumer_error_msg(NULL, -1, -1, err,
                                                  "group %s: cannot send SyncGroup to %s: %s",
                                                  c->cfg.group_id, conn_name(conn),
                                                  samsa_err_str(err)));
        g->state = GROUP_JOIN;
        g->retry_at_ms = now_ms(c) + c->cfg.retry_backoff_ms;
        return;
    }
    g->state = GROUP_SYNC;
    g->request_in_flight = true;
}

static void on_join(void *opaque, conn_t *conn, samsa_err_t err, int16_t version, const void *r)
{
    join_ctx_t *j = opaque;
    samsa_consumer_t *c = j->c;
    const join_group_response_t *resp = r;
    pthread_mutex_lock(&c->lock);
    group_t *g = &c->group;
    g->request_in_flight = false;
    if (!err)
        err = resp->error_code;
    if (g->state != GROUP_JOIN || c->stopped || !c->subscribed) {
        /* unsubscribed or closing meanwhile */
    } else if (err == SAMSA_ERR_MEMBER_ID_REQUIRED) {
        free(g->member_id);
        g->member_id = pstrdup(resp->member_id);
    } else if (err == SAMSA_ERR_FENCED_INSTANCE_ID) {
        fenced(c, conn, "JoinGroup");
    } else if (err) {
        if (err == SAMSA_ERR_UNKNOWN_MEMBER_ID)
            group_lost(c, err, "JoinGroup");
        if (coordinator_error(err)) {
            lose_coordinator(c);
            g->state = GROUP_FIND;
        } else if (err != SAMSA_ERR_REBALANCE_IN_PROGRESS &&
                   err != SAMSA_ERR_COORDINATOR_LOAD_IN_PROGRESS &&
                   err != SAMSA_ERR_UNKNOWN_MEMBER_ID && err != SAMSA_ERR__DESTROYED) {
            consumer_queue_push(c, consumer_error_msg(NULL, -1, -1, err,
                                                      "group %s: JoinGroup at %s: %s",
                                                      c->cfg.group_id, conn_name(conn),
                                                      samsa_err_str(err)));
        }
        g->retry_at_ms = now_ms(c) + c->cfg.retry_backoff_ms;
    } else {
        free(g->member_id);
        g->member_id = pstrdup(resp->member_id);
        g->generation = resp->generation_id;
        snprintf(g->protocol, sizeof(g->protocol), "%.*s",
                 resp->protocol_name.len > 0 ? (int)resp->protocol_name.len : 0,
                 resp->protocol_name.ptr ? resp->protocol_name.ptr : "");
        if (g->member_id)
            send_sync(c, conn, resp);
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
    join_ctx_free(j);
}

static void send_join(samsa_consumer_t *c, conn_t *conn)
{
    group_t *g = &c->group;
    join_ctx_t *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->c = c;
    j->count = strategies(c, j->names, 3);
    samsa_err_t err = SAMSA_ERR_NONE;
    for (int i = 0; i < j->count && !err; i++) {
        buf_init(&j->metadata[i], 0);
        bool coop = assignor_cooperative(j->names[i]);
        err = cproto_subscription_encode(&j->metadata[i], 3, (const char *const *)g->matched,
                                         g->matched_count, coop ? g->owned : NULL,
                                         coop ? g->owned_count : 0, g->generation);
    }
    conn_request_t req = {.api_key = API_JOIN_GROUP,
                          .max_version = -1,
                          .timeout_ms = c->cfg.request_timeout_ms + c->cfg.max_poll_interval_ms,
                          .encode = encode_join,
                          .on_response = on_join,
                          .opaque = j};
    if (!err)
        err = conn_send(conn, &req);
    slog_debug("consumer", "group %s: JoinGroup after generation %d owning %d partitions: %s",
               c->cfg.group_id, (int)g->generation, g->owned_count, samsa_err_name(err));
    if (err) {
        join_ctx_free(j);
        g->retry_at_ms = now_ms(c) + c->cfg.retry_backoff_ms;
        return;
    }
    g->request_in_flight = true;
}

/* ---- Heartbeat and LeaveGroup ------------------------------------------ */

static samsa_err_t encode_heartbeat(void *opaque, int16_t version, buf_t *out)
{
    samsa_consumer_t *c = opaque;
    heartbeat_request_t req;
    proto_init(&heartbeat_request_desc, &req);
    req.group_id = pstr(c->cfg.group_id);
    req.generation_id = c->group.generation;
    req.member_id = pstr(c->group.member_id ? c->group.member_id : "");
    req.group_instance_id = pstr(group_instance(c));
    return encode(API_HEARTBEAT, version, &req, out);
}

static void on_heartbeat(void *opaque, conn_t *conn, samsa_err_t err, int16_t version,
                         const void *r)
{
    samsa_consumer_t *c = opaque;
    const heartbeat_response_t *resp = r;
    pthread_mutex_lock(&c->lock);
    group_t *g = &c->group;
    g->heartbeat_in_flight = false;
    if (!err)
        err = resp->error_code;
    if (group_in_generation(c, g->heartbeat_generation)) {
        if (err == SAMSA_ERR_REBALANCE_IN_PROGRESS) {
            rejoin(c, false);
        } else if (err == SAMSA_ERR_FENCED_INSTANCE_ID) {
            fenced(c, conn, "Heartbeat");
        } else if (err == SAMSA_ERR_UNKNOWN_MEMBER_ID || err == SAMSA_ERR_ILLEGAL_GENERATION) {
            group_lost(c, err, "Heartbeat");
        } else if (coordinator_error(err)) {
            lose_coordinator(c);
        }
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

typedef struct leave_ctx {
    samsa_consumer_t *c;
    char member_id[];
} leave_ctx_t;

static samsa_err_t encode_leave(void *opaque, int16_t version, buf_t *out)
{
    leave_ctx_t *l = opaque;
    leave_group_request_member_identity_t who;
    memset(&who, 0, sizeof(who));
    who.member_id = pstr(l->member_id);
    who.group_instance_id = pstr(NULL);
    who.reason = pstr("the consumer is closing or unsubscribed");
    leave_group_request_t req;
    proto_init(&leave_group_request_desc, &req);
    req.group_id = pstr(l->c->cfg.group_id);
    req.member_id = who.member_id;
    req.members = &who;
    req.members_count = 1;
    return encode(API_LEAVE_GROUP, version, &req, out);
}

static void on_leave(void *opaque, conn_t *conn, samsa_err_t err, int16_t version, const void *r)
{
    leave_ctx_t *l = opaque;
    samsa_consumer_t *c = l->c;
    free(l);
    pthread_mutex_lock(&c->lock);
    c->group.leave_in_flight = false;
    c->leave_done = true;
    pthread_cond_broadcast(&c->cond);
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

bool group_leave(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    conn_t *conn = group_coordinator(c);
    if (g->leave_in_flight)
        return false;
    bool member = g->member_id && g->member_id[0];
    if (member && g->owned_count) {
        samsa_partition_list_t list;
        if (list_from_tps(&list, g->owned, g->owned_count))
            consumer_event(c, CEVENT_REVOKED, SAMSA_ERR_NONE, &list);
    }
    bool sent = false;
    /* A static member does not leave (KIP-345): its partitions wait for it
     * to come back within session.timeout.ms, without a rebalance. */
    leave_ctx_t *l = member && conn && !group_instance(c)
                         ? malloc(sizeof(*l) + strlen(g->member_id) + 1)
                         : NULL;
    if (l) {
        l->c = c;
        memcpy(l->member_id, g->member_id, strlen(g->member_id) + 1);
        conn_request_t req = {.api_key = API_LEAVE_GROUP,
                              .max_version = LEAVE_GROUP_MAX_VERSION,
                              .encode = encode_leave,
                              .on_response = on_leave,
                              .opaque = l};
        sent = conn_send(conn, &req) == SAMSA_ERR_NONE;
        if (!sent)
            free(l);
    }
    if (sent)
        g->leave_in_flight = true;
    g->generation = -1;
    free(g->member_id);
    g->member_id = NULL;
    free_owned(g);
    g->state = GROUP_NONE;
    return !sent;
}

/* ---- regex subscriptions ------------------------------------------------ */

static samsa_err_t encode_all_metadata(void *opaque, int16_t version, buf_t *out)
{
    metadata_request_t req;
    proto_init(&metadata_request_desc, &req);
    req.topics = NULL;
    req.topics_count = -1;
    req.allow_auto_topic_creation = false;
    return encode(API_METADATA, version, &req, out);
}

static bool matches(group_t *g, const char *name)
{
    for (int i = 0; i < g->pattern_count; i++)
        if (!regexec(&g->patterns[i], name, 0, NULL, 0))
            return true;
    for (int i = 0; i < g->topic_count; i++)
        if (g->topics[i][0] != '^' && !strcmp(g->topics[i], name))
            return true;
    return false;
}

static void on_all_metadata(void *opaque, conn_t *conn, samsa_err_t err, int16_t version,
                            const void *r)
{
    samsa_consumer_t *c = opaque;
    const metadata_response_t *resp = r;
    pthread_mutex_lock(&c->lock);
    group_t *g = &c->group;
    g->list_in_flight = false;
    if (!err)
        g->listed = true;
    if (err || !c->subscribed) {
        g->last_list_ms = now_ms(c) - c->cfg.metadata_max_age_ms + c->cfg.retry_backoff_ms;
        goto out;
    }
    char **next = calloc((size_t)resp->topics_count + (size_t)g->topic_count + 1, sizeof(char *));
    int n = 0;
    if (!next)
        goto out;
    for (int i = 0; i < g->topic_count; i++)
        if (g->topics[i][0] != '^' && !(next[n] = strdup(g->topics[i])))
            goto nomem;
        else if (g->topics[i][0] != '^')
            n++;
    for (int32_t t = 0; t < resp->topics_count; t++) {
        const metadata_response_metadata_response_topic_t *mt = &resp->topics[t];
        if (mt->is_internal || mt->error_code || mt->name.len <= 0)
            continue;
        char *name = pstrdup(mt->name);
        if (!name)
            goto nomem;
        bool dup = false;
        for (int i = 0; i < n && !dup; i++)
            dup = !strcmp(next[i], name);
        if (dup || !matches(g, name) || !strncmp(name, "__", 2)) {
            free(name);
            continue;
        }
        next[n++] = name;
    }
    qsort(next, (size_t)n, sizeof(char *), cmp_str);
    bool changed = n != g->matched_count;
    for (int i = 0; !changed && i < n; i++)
        changed = strcmp(next[i], g->matched[i]) != 0;
    if (changed) {
        free_strings(g->matched, g->matched_count);
        g->matched = next;
        g->matched_count = n;
        next = NULL;
        for (int i = 0; i < g->matched_count; i++)
            cluster_topic(&c->cluster, g->matched[i]);
        if (g->state == GROUP_STABLE)
            rejoin(c, false);
    }
nomem:
    if (next)
        free_strings(next, n);
out:
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

static void list_topics(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    if (!g->pattern_count || g->list_in_flight ||
        (g->last_list_ms && now_ms(c) - g->last_list_ms < c->cfg.metadata_max_age_ms))
        return;
    conn_t *conn = cluster_any_conn(&c->cluster);
    if (!conn)
        return;
    conn_request_t req = {.api_key = API_METADATA,
                          .max_version = 12,
                          .encode = encode_all_metadata,
                          .on_response = on_all_metadata,
                          .opaque = c};
    if (conn_send(conn, &req) == SAMSA_ERR_NONE) {
        g->list_in_flight = true;
        g->last_list_ms = now_ms(c);
    }
}

/* ---- the round ------------------------------------------------------- */

static bool needs_coordinator(samsa_consumer_t *c)
{
    if (c->subscribed || c->commits || c->query || c->group.leave_wanted)
        return true;
    for (int i = 0; i < c->part_count; i++)
        if (!c->parts[i]->removed && c->parts[i]->state == CPART_NEED_COMMITTED)
            return true;
    return false;
}

static void heartbeat(samsa_consumer_t *c, conn_t *conn)
{
    group_t *g = &c->group;
    int64_t now = now_ms(c);
    if (g->heartbeat_in_flight || now < g->next_heartbeat_ms)
        return;
    conn_request_t req = {.api_key = API_HEARTBEAT,
                          .max_version = -1,
                          .encode = encode_heartbeat,
                          .on_response = on_heartbeat,
                          .opaque = c};
    if (conn_send(conn, &req) == SAMSA_ERR_NONE) {
        g->heartbeat_generation = g->generation;
        g->heartbeat_in_flight = true;
        g->next_heartbeat_ms = now + c->cfg.heartbeat_interval_ms;
    }
}

void group_run(samsa_consumer_t *c)
{
    group_t *g = &c->group;
    if (c->stopped)
        return;
    int64_t now = now_ms(c);
    if (g->leave_wanted && !c->subscribed) {
        group_leave(c);
        group_reset(c);
    }
    if (needs_coordinator(c) && c->cfg.group_id[0] && !group_coordinator(c)) {
        if (g->coordinator && conn_state(g->coordinator) == CONN_DOWN)
            lose_coordinator(c);
        if (!g->coordinator)
            find_coordinator(c);
        else
            conn_connect(g->coordinator);
    }
    conn_t *conn = group_coordinator(c);
    if (c->subscribed && !c->closing) {
        list_topics(c);
        if (g->state == GROUP_FIND && conn)
            g->state = GROUP_JOIN;
        bool polled = now - g->last_poll_ms <= c->cfg.max_poll_interval_ms;
        if (g->state == GROUP_STABLE && !polled) {
            /* the application stopped polling: leave, as Java does, and
             * come back at the next poll */
            slog_write(2, "consumer", "group %s: no poll for max.poll.interval.ms (%d ms): leaving",
                       c->cfg.group_id, (int)c->cfg.max_poll_interval_ms);
            consumer_parts_remove(c, NULL, 0);
            group_leave(c);
            g->state = GROUP_JOIN;
        }
        if (g->state == GROUP_JOIN && conn && polled && !g->request_in_flight &&
            g->retry_at_ms <= now && (!g->pattern_count || g->listed) && !c->commits_in_flight &&
            !c->commits && !g->revoking)
            send_join(c, conn);
        if (g->state == GROUP_STABLE && led_outdated(c)) {
            slog_write(6, "consumer", "group %s: partitions changed since the assignment: rebalancing",
                       c->cfg.group_id);
            free_led(g);
            rejoin(c, false);
        }
        /* Java's heartbeat thread goes on while the member gets ready to
         * rejoin (the application's revocation, its commits), so that the
         * coordinator does not drop it meanwhile. */
        if (conn && g->member_id && group_in_generation(c, g->generation))
            heartbeat(c, conn);
    }
    offsets_run(c, conn);
}
