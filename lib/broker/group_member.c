/*
 * group_member.c: membership of classic groups: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, and the rebalance state machine that Kafka's
 * classic group coordinator runs:
 *
 *   Empty --join--> PreparingRebalance --all joined / timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable --join, leave,
 *   expiry--> PreparingRebalance ...
 *
 * JoinGroup and SyncGroup requests are parked on their member until the
 * phase ends. The first rebalance of an empty group waits
 * group.initial.rebalance.delay.ms, longer while members keep arriving, up
 * to the rebalance timeout (Kafka's InitialDelayedJoin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/slog.h"
#include "broker/group_int.h"
#include "proto/messages.h"

static void prepare_rebalance(group_t *g);
static void try_complete_join(group_t *g);
static void join_timeout(loop_t *loop, void *opaque);
static void sync_timeout(loop_t *loop, void *opaque);
static void session_expired(loop_t *loop, void *opaque);

/* ---- members ---------------------------------------------------------------- */

group_member_t *group_member_new(group_t *g)
{
    group_member_t *m = calloc(1, sizeof(*m));
    if (m)
        m->group = g;
    return m;
}

static void protocols_free(group_protocol_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].metadata);
    }
    free(p);
}

void group_member_free(group_member_t *m)
{
    protocols_free(m->protocols, m->protocol_count);
    free(m->member_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

group_member_t *group_member_find(group_t *g, const char *member_id, size_t len)
{
    for (group_member_t *m = g->members; m; m = m->next)
        if (strlen(m->member_id) == len && memcmp(m->member_id, member_id, len) == 0)
            return m;
    return NULL;
}

static group_member_t *find_instance(group_t *g, proto_str_t instance)
{
    if (instance.len < 0)
        return NULL;
    for (group_member_t *m = g->members; m; m = m->next)
        if (m->instance_id && proto_str_eq(instance, m->instance_id))
            return m;
    return NULL;
}

static group_pending_t *find_pending(group_t *g, proto_str_t id)
{
    for (group_pending_t *p = g->pending; p; p = p->next)
        if (proto_str_eq(id, p->member_id))
            return p;
    return NULL;
}

static void pending_free(group_t *g, group_pending_t *p)
{
    for (group_pending_t **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    loop_timer_cancel(g->gc->env.loop, p->timer);
    free(p->member_id);
    free(p);
}

static bool is_leader(const group_t *g, const group_member_t *m)
{
    return g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
}

/* "<prefix>-<uuid>", as Kafka names members. */
static char *new_member_id(proto_str_t prefix)
{
    uint8_t u[16];
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
        uint64_t x = (uint64_t)clock_mono_ns() ^ ((uint64_t)(uintptr_t)u << 17);
        for (size_t i = 0; i < sizeof(u); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u[i] = (uint8_t)x;
        }
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    size_t plen = prefix.len > 0 ? (size_t)prefix.len : 0;
    char *id = malloc(plen + 1 + 36 + 1);
    if (!id)
        return NULL;
    if (plen)
        memcpy(id, prefix.ptr, plen);
    id[plen] = '-';
    char *p = id + plen + 1;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        p += sprintf(p, "%02x", u[i]);
    }
    return id;
}

/* Kafka shows the client's address as "/host". */
static char *client_host_of(const broker_request_t *req)
{
    const char *addr = req->client_addr ? req->client_addr : "";
    const char *colon = strrchr(addr, ':');
    size_t len = colon ? (size_t)(colon - addr) : strlen(addr);
    char *h = malloc(len + 2);
    if (h) {
        h[0] = '/';
        memcpy(h + 1, addr, len);
        h[len + 1] = '\0';
    }
    return h;
}

/* ---- session timers ------------------------------------------------------------ */

void group_member_schedule_session(group_member_t *m)
{
    loop_t *loop = m->group->gc->env.loop;
    loop_timer_cancel(loop, m->session_timer);
    m->session_timer = loop_timer_add(loop, m->session_timeout_ms, session_expired, m);
}

/* ---- responses ------------------------------------------------------------------ */

static void join_cancel(broker_request_t *req, void *opaque)
{
    group_member_t *m = opaque;
    if (m->join_req == req)
        m->join_req = NULL;
}

static void sync_cancel(broker_request_t *req, void *opaque)
{
    group_member_t *m = opaque;
    if (m->sync_req == req)
        m->sync_req = NULL;
}

static const group_protocol_t *member_protocol(const group_member_t *m, const char *name)
{
    for (size_t i = 0; name && i < m->protocol_count; i++)
        if (strcmp(m->protocols[i].name, name) == 0)
            return &m->protocols[i];
    return NULL;
}

/* Answers a JoinGroup. With err NONE the group's generation is reported,
 * and the leader (when with_members) gets every member's metadata. */
static void join_respond(group_t *g, broker_request_t *req, int16_t err, const char *member_id,
                         bool with_members)
{
    join_group_response_t *resp = broker_response_new(req);
    if (!resp)
        goto respond;
    bool v7 = req->api_version >= 7;
    resp->error_code = err;
    resp->generation_id = -1;
    resp->protocol_type = v7 ? (proto_str_t){NULL, -1} : group_resp_str(req, "");
    resp->protocol_name = v7 ? (proto_str_t){NULL, -1} : group_resp_str(req, "");
    resp->leader = group_resp_str(req, "");
    resp->member_id = group_resp_str(req, member_id ? member_id : "");
    resp->skip_assignment = false;
    resp->members_count = 0;
    if (err == SAMSA_ERR_NONE && g) {
        resp->generation_id = g->generation;
        if (v7)
            resp->protocol_type = group_resp_str(req, g->protocol_type);
        if (g->protocol_name || !v7)
            resp->protocol_name = group_resp_str(req, g->protocol_name ? g->protocol_name : "");
        resp->leader = group_resp_str(req, g->leader_id ? g->leader_id : "");
    }
    if (err == SAMSA_ERR_NONE && g && with_members) {
        resp->members = arena_alloc(&req->arena, (g->member_count + 1) * sizeof(*resp->members));
        if (!resp->members) {
            resp = NULL;
            goto respond;
        }
        for (group_member_t *m = g->members; m; m = m->next) {
            join_group_response_join_group_response_member_t *rm =
                &resp->members[resp->members_count++];
            const group_protocol_t *p = member_protocol(m, g->protocol_name);
            rm->member_id = group_resp_str(req, m->member_id);
            rm->group_instance_id = group_resp_str(req, m->instance_id);
            rm->metadata = group_resp_bytes(req, p ? p->metadata : NULL, p ? p->metadata_len : 0);
        }
    }
respond:
    broker_request_respond(req, resp);
}

static void sync_respond(group_t *g, broker_request_t *req, int16_t err, const uint8_t *assignment,
                         size_t assignment_len)
{
    sync_group_response_t *resp = broker_response_new(req);
    if (resp) {
        resp->error_code = err;
        resp->protocol_type = group_resp_str(req, g && !err ? g->protocol_type : NULL);
        resp->protocol_name = group_resp_str(req, g && !err ? g->protocol_name : NULL);
        resp->assignment = group_resp_bytes(req, err ? NULL : assignment, assignment_len);
    }
    broker_request_respond(req, resp);
}

/* Answers the member's parked requests with err. */
static void member_answer_parked(group_member_t *m, int16_t err)
{
    if (m->join_req) {
        broker_request_t *req = m->join_req;
        m->join_req = NULL;
        join_respond(m->group, req, err, m->member_id, false);
    }
    if (m->sync_req) {
        broker_request_t *req = m->sync_req;
        m->sync_req = NULL;
        sync_respond(m->group, req, err, NULL, 0);
    }
}

/* ---- removal -------------------------------------------------------------------- */

static void member_unlink(group_t *g, group_member_t *m, int16_t err)
{
    for (group_member_t **pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    g->member_count--;
    member_answer_parked(m, err);
    loop_timer_cancel(g->gc->env.loop, m->session_timer);
    if (is_leader(g, m)) {
        free(g->leader_id);
        g->leader_id = NULL;
    }
    group_member_free(m);
}

void group_members_clear(group_t *g, int16_t err)
{
    while (g->members) {
        group_member_t *m = g->members;
        g->members = m->next;
        g->member_count--;
        if (err != SAMSA_ERR_NONE)
            member_answer_parked(m, err);
        loop_timer_cancel(g->gc->env.loop, m->session_timer);
        group_member_free(m);
    }
    while (g->pending)
        pending_free(g, g->pending);
}

/* A member left or expired: the others rebalance. */
static void member_leave(group_t *g, group_member_t *m)
{
    member_unlink(g, m, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
        prepare_rebalance(g);
    else if (g->state == GROUP_PREPARING_REBALANCE)
        try_complete_join(g);
}

static void session_expired(loop_t *loop, void *opaque)
{
    group_member_t *m = opaque;
    m->session_timer = NULL;
    if (m->join_req || m->sync_req) {
        /* Kafka keeps members alive while their join or sync waits. */
        group_member_schedule_session(m);
        return;
    }
    slog_info("group", "member %s of group %s: session expired", m->member_id,
              m->group->group_id);
    member_leave(m->group, m);
}

static void pending_expired(loop_t *loop, void *opaque)
{
    group_pending_t *p = opaque;
    group_t *g = p->group;
    p->timer = NULL;
    pending_free(g, p);
    if (g->state == GROUP_PREPARING_REBALANCE)
        try_complete_join(g);
}

/* ---- the join phase ------------------------------------------------------------- */

static int32_t max_rebalance_timeout(const group_t *g)
{
    int32_t t = 0;
    for (const group_member_t *m = g->members; m; m = m->next)
        if (m->rebalance_timeout_ms > t)
            t = m->rebalance_timeout_ms;
    return t;
}

static bool member_supports(const group_member_t *m, const char *name)
{
    return member_protocol(m, name) != NULL;
}

/* The protocol every member supports that most members prefer (each votes
 * for the first such protocol in its own order); ties go to the first
 * member's order. NULL when there is none. O(P^2 * M) for M members of P
 * protocols each. */
static const char *select_protocol(const group_t *g)
{
    const group_member_t *first = g->members;
    if (!first || first->protocol_count == 0)
        return NULL;
    bool *candidate = calloc(first->protocol_count, sizeof(*candidate));
    size_t *votes = calloc(first->protocol_count, sizeof(*votes));
    const char *best = NULL;
    if (!candidate || !votes)
        goto done;
    for (size_t i = 0; i < first->protocol_count; i++) {
        candidate[i] = true;
        for (const group_member_t *m = first->next; m && candidate[i]; m = m->next)
            candidate[i] = member_supports(m, first->protocols[i].name);
    }
    for (const group_member_t *m = g->members; m; m = m->next) {
        bool voted = false;
        for (size_t k = 0; k < m->protocol_count && !voted; k++)
            for (size_t i = 0; i < first->protocol_count && !voted; i++)
                if (candidate[i] && strcmp(m->protocols[k].name, first->protocols[i].name) == 0) {
                    votes[i]++;
                    voted = true;
                }
    }
    size_t best_votes = 0;
    for (size_t i = 0; i < first->protocol_count; i++)
        if (candidate[i] && (!best || votes[i] > best_votes)) {
            best = first->protocols[i].name;
            best_votes = votes[i];
        }
done:
    free(candidate);
    free(votes);
    return best;
}

static void persist_group(group_t *g)
{
    samsa_err_t err = group_store_write_group(g->gc, g);
    if (err)
        slog_warn("group", "cannot store group %s: %s", g->group_id, samsa_err_str(err));
}

/* The join phase ends: members that did not rejoin go (static ones stay,
 * as in Kafka), the next generation starts, and every parked JoinGroup is
 * answered. */
static void complete_join(group_t *g)
{
    loop_t *loop = g->gc->env.loop;
    loop_timer_cancel(loop, g->join_timer);
    g->join_timer = NULL;
    g->initial_delay = false;
    for (group_member_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_req && !m->instance_id)
            member_unlink(g, m, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    }
    bool any_joined = false;
    for (group_member_t *m = g->members; m; m = m->next)
        any_joined |= m->join_req != NULL;
    if (g->members && !any_joined) {
        /* Only static members that have not rejoined: as Kafka, wait
         * another rebalance timeout (their sessions may expire first). */
        g->join_timer = loop_timer_add(loop, max_rebalance_timeout(g), join_timeout, g);
        if (g->join_timer)
            return;
    }
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    const char *proto = g->members ? select_protocol(g) : NULL;
    if (!proto) {
        /* No member left (or none in common): the group is empty. */
        while (g->members)
            member_unlink(g, g->members, SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL);
        free(g->leader_id);
        g->leader_id = NULL;
        group_set_state(g, GROUP_EMPTY);
        persist_group(g);
        return;
    }
    g->protocol_name = strdup(proto);
    bool leader_ok = false;
    for (group_member_t *m = g->members; m; m = m->next)
        if (is_leader(g, m) && m->join_req)
            leader_ok = true;
    if (!leader_ok) {
        group_member_t *pick = g->members;
        for (group_member_t *m = g->members; m; m = m->next)
            if (m->join_req) {
                pick = m;
                break;
            }
        free(g->leader_id);
        g->leader_id = strdup(pick->member_id);
    }
    if (!g->protocol_name || !g->leader_id) {
        /* Out of memory: nobody can be told the result; start again. */
        slog_error("group", "group %s: out of memory completing a rebalance", g->group_id);
        for (group_member_t *m = g->members; m; m = m->next)
            member_answer_parked(m, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
        group_set_state(g, GROUP_EMPTY);
        return;
    }
    group_set_state(g, GROUP_COMPLETING_REBALANCE);
    g->sync_timer = loop_timer_add(loop, max_rebalance_timeout(g), sync_timeout, g);
    for (group_member_t *m = g->members; m; m = m->next) {
        m->pending_sync = true;
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        if (m->join_req) {
            broker_request_t *req = m->join_req;
            m->join_req = NULL;
            join_respond(g, req, SAMSA_ERR_NONE, m->member_id, is_leader(g, m));
        }
        group_member_schedule_session(m);
    }
}

static bool all_joined(const group_t *g)
{
    if (g->pending)
        return false;
    for (const group_member_t *m = g->members; m; m = m->next)
        if (!m->join_req)
            return false;
    return true;
}

static void try_complete_join(group_t *g)
{
    if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_delay && all_joined(g))
        complete_join(g);
}

static void join_timeout(loop_t *loop, void *opaque)
{
    group_t *g = opaque;
    g->join_timer = NULL;
    if (g->initial_delay && g->new_member_added && g->initial_delay_left_ms > 0) {
        int32_t delay = g->gc->cfg.initial_rebalance_delay_ms;
        if (delay > g->initial_delay_left_ms)
            delay = g->initial_delay_left_ms;
        g->initial_delay_left_ms -= delay;
        g->new_member_added = false;
        g->join_timer = loop_timer_add(loop, delay, join_timeout, g);
        if (g->join_timer)
            return;
    }
    complete_join(g);
}

/* Members that did not send SyncGroup within the rebalance timeout after
 * the join phase are removed and the others rebalance (Kafka's DelayedSync). */
static void sync_timeout(loop_t *loop, void *opaque)
{
    group_t *g = opaque;
    g->sync_timer = NULL;
    if (g->state != GROUP_COMPLETING_REBALANCE && g->state != GROUP_STABLE)
        return;
    bool removed = false;
    for (group_member_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (m->pending_sync) {
            member_unlink(g, m, SAMSA_ERR_UNKNOWN_MEMBER_ID);
            removed = true;
        }
    }
    if (removed)
        prepare_rebalance(g);
}

static void prepare_rebalance(group_t *g)
{
    loop_t *loop = g->gc->env.loop;
    loop_timer_cancel(loop, g->sync_timer);
    g->sync_timer = NULL;
    for (group_member_t *m = g->members; m; m = m->next)
        m->pending_sync = false;
    if (g->state == GROUP_COMPLETING_REBALANCE)
        for (group_member_t *m = g->members; m; m = m->next) {
            free(m->assignment);
            m->assignment = NULL;
            m->assignment_len = 0;
            if (m->sync_req) {
                broker_request_t *req = m->sync_req;
                m->sync_req = NULL;
                sync_respond(g, req, SAMSA_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
            }
        }
    bool was_empty = g->state == GROUP_EMPTY;
    group_set_state(g, GROUP_PREPARING_REBALANCE);
    loop_timer_cancel(loop, g->join_timer);
    int32_t timeout = max_rebalance_timeout(g);
    int32_t delay = g->gc->cfg.initial_rebalance_delay_ms;
    g->initial_delay = was_empty && delay > 0;
    if (g->initial_delay) {
        g->initial_delay_left_ms = timeout > delay ? timeout - delay : 0;
        g->new_member_added = false;
        g->join_timer = loop_timer_add(loop, delay, join_timeout, g);
    } else {
        g->join_timer = loop_timer_add(loop, timeout, join_timeout, g);
    }
    if (!g->join_timer)
        g->initial_delay = false; /* no timer: complete as soon as everyone is in */
    try_complete_join(g);
}

/* ---- JoinGroup ------------------------------------------------------------------- */

static group_protocol_t *protocols_copy(const join_group_request_t *rq)
{
    group_protocol_t *p = calloc((size_t)rq->protocols_count, sizeof(*p));
    if (!p)
        return NULL;
    for (int32_t i = 0; i < rq->protocols_count; i++) {
        const join_group_request_join_group_request_protocol_t *src = &rq->protocols[i];
        size_t len = src->metadata.len > 0 ? (size_t)src->metadata.len : 0;
        p[i].name = group_strdup_wire(src->name);
        p[i].metadata = malloc(len ? len : 1);
        if (!p[i].name || !p[i].metadata) {
            protocols_free(p, (size_t)i + 1);
            return NULL;
        }
        if (len)
            memcpy(p[i].metadata, src->metadata.ptr, len);
        p[i].metadata_len = len;
    }
    return p;
}

static bool protocols_equal(const group_member_t *m, const join_group_request_t *rq)
{
    if ((size_t)rq->protocols_count != m->protocol_count)
        return false;
    for (size_t i = 0; i < m->protocol_count; i++) {
        const join_group_request_join_group_request_protocol_t *p = &rq->protocols[i];
        size_t len = p->metadata.len > 0 ? (size_t)p->metadata.len : 0;
        if (!proto_str_eq(p->name, m->protocols[i].name) || len != m->protocols[i].metadata_len ||
            (len && memcmp(p->metadata.ptr, m->protocols[i].metadata, len) != 0))
            return false;
    }
    return true;
}

/* Takes the request's protocols, timeouts and client identity. */
static samsa_err_t member_update(group_member_t *m, const broker_request_t *req,
                                 const join_group_request_t *rq)
{
    group_protocol_t *p = protocols_copy(rq);
    char *client_id = group_strdup_wire(req->client_id);
    char *host = client_host_of(req);
    if (!p || !client_id || !host) {
        if (p)
            protocols_free(p, (size_t)rq->protocols_count);
        free(client_id);
        free(host);
        return SAMSA_ERR__NOMEM;
    }
    protocols_free(m->protocols, m->protocol_count);
    m->protocols = p;
    m->protocol_count = (size_t)rq->protocols_count;
    free(m->client_id);
    m->client_id = client_id;
    free(m->client_host);
    m->client_host = host;
    m->session_timeout_ms = rq->session_timeout_ms;
    m->rebalance_timeout_ms = req->api_version >= 1 ? rq->rebalance_timeout_ms
                                                    : rq->session_timeout_ms;
    return SAMSA_ERR_NONE;
}

/* Parks req on m (answering a join m had already parked). */
static void park_join(group_member_t *m, broker_request_t *req)
{
    if (m->join_req) {
        broker_request_t *old = m->join_req;
        m->join_req = NULL;
        join_respond(m->group, old, SAMSA_ERR_REBALANCE_IN_PROGRESS, m->member_id, false);
    }
    m->join_req = req;
    broker_request_park(req, join_cancel, m);
}

/* After m (re)joined with req parked: start or advance the rebalance. */
static void rebalance_after_join(group_t *g)
{
    if (g->state == GROUP_PREPARING_REBALANCE)
        try_complete_join(g);
    else
        prepare_rebalance(g);
}

static void add_member_and_rebalance(group_t *g, broker_request_t *req,
                                     const join_group_request_t *rq, char *member_id)
{
    group_member_t *m = group_member_new(g);
    char *ptype = g->protocol_type ? NULL : group_strdup_wire(rq->protocol_type);
    if (!m || (!g->protocol_type && !ptype) || member_update(m, req, rq) != SAMSA_ERR_NONE ||
        (rq->group_instance_id.len >= 0 && !(m->instance_id = group_strdup_wire(rq->group_instance_id)))) {
        free(ptype);
        if (m)
            group_member_free(m);
        free(member_id);
        join_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, false);
        return;
    }
    if (ptype)
        g->protocol_type = ptype;
    m->member_id = member_id;
    group_member_t **tail = &g->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    g->member_count++;
    if (g->state == GROUP_PREPARING_REBALANCE && g->generation == 0)
        g->new_member_added = true; /* extends the initial delay */
    park_join(m, req);
    group_member_schedule_session(m);
    rebalance_after_join(g);
}

/* A static member came back with a new member id: it takes the old one's
 * place (Kafka's replaceStaticMember). */
static void rejoin_static(group_t *g, group_member_t *m, broker_request_t *req,
                          const join_group_request_t *rq)
{
    char *id = new_member_id(rq->group_instance_id);
    if (!id) {
        join_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, false);
        return;
    }
    char *old_leader = g->leader_id ? strdup(g->leader_id) : NULL;
    if (member_update(m, req, rq) != SAMSA_ERR_NONE || (g->leader_id && !old_leader)) {
        free(id);
        free(old_leader);
        join_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, false);
        return;
    }
    member_answer_parked(m, SAMSA_ERR_FENCED_INSTANCE_ID);
    if (is_leader(g, m)) {
        free(g->leader_id);
        g->leader_id = strdup(id);
    }
    free(m->member_id);
    m->member_id = id;
    group_member_schedule_session(m);
    const char *next = select_protocol(g);
    if (g->state == GROUP_STABLE && next && g->protocol_name &&
        strcmp(next, g->protocol_name) == 0) {
        /* The protocol stays: no rebalance, it keeps its assignment. The
         * answer names the leader as it was, so that a restarted leader
         * does not compute an assignment a Stable group would ignore. */
        persist_group(g);
        char *new_leader = g->leader_id;
        g->leader_id = old_leader;
        join_respond(g, req, SAMSA_ERR_NONE, m->member_id, false);
        g->leader_id = new_leader;
        free(old_leader);
        return;
    }
    free(old_leader);
    park_join(m, req);
    rebalance_after_join(g);
}

static void join_new_member(group_t *g, broker_request_t *req, const join_group_request_t *rq)
{
    group_member_t *old = find_instance(g, rq->group_instance_id);
    if (old) {
        rejoin_static(g, old, req, rq);
        return;
    }
    size_t pending = 0;
    for (group_pending_t *p = g->pending; p; p = p->next)
        pending++;
    if (g->member_count + pending >= (size_t)g->gc->cfg.max_group_size) {
        join_respond(g, req, SAMSA_ERR_GROUP_MAX_SIZE_REACHED, NULL, false);
        return;
    }
    bool is_static = rq->group_instance_id.len >= 0;
    char *id = new_member_id(is_static ? rq->group_instance_id : req->client_id);
    if (!id) {
        join_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, false);
        return;
    }
    if (req->api_version >= 4 && !is_static) {
        /* KIP-394: the client must come back with the id we give it. */
        group_pending_t *p = calloc(1, sizeof(*p));
        if (!p) {
            free(id);
            join_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, false);
            return;
        }
        p->group = g;
        p->member_id = id;
        p->timer = loop_timer_add(g->gc->env.loop, rq->session_timeout_ms, pending_expired, p);
        p->next = g->pending;
        g->pending = p;
        join_respond(g, req, SAMSA_ERR_MEMBER_ID_REQUIRED, id, false);
        return;
    }
    add_member_and_rebalance(g, req, rq, id);
}

static void join_known_member(group_t *g, broker_request_t *req, const join_group_request_t *rq)
{
    group_pending_t *p = find_pending(g, rq->member_id);
    if (p) {
        char *id = p->member_id;
        p->member_id = NULL;
        pending_free(g, p);
        add_member_and_rebalance(g, req, rq, id);
        return;
    }
    group_member_t *inst = find_instance(g, rq->group_instance_id);
    if (inst && !proto_str_eq(rq->member_id, inst->member_id)) {
        join_respond(g, req, SAMSA_ERR_FENCED_INSTANCE_ID, NULL, false);
        return;
    }
    group_member_t *m = group_member_find(g, rq->member_id.ptr, (size_t)rq->member_id.len);
    if (!m || g->state == GROUP_EMPTY || g->state == GROUP_DEAD) {
        join_respond(g, req, SAMSA_ERR_UNKNOWN_MEMBER_ID, NULL, false);
        return;
    }
    bool same = protocols_equal(m, rq);
    if (g->state == GROUP_COMPLETING_REBALANCE && same) {
        /* A retry of a join that already completed: the same answer. */
        group_member_schedule_session(m);
        join_respond(g, req, SAMSA_ERR_NONE, m->member_id, is_leader(g, m));
        return;
    }
    if (g->state == GROUP_STABLE && same && !is_leader(g, m)) {
        group_member_schedule_session(m);
        join_respond(g, req, SAMSA_ERR_NONE, m->member_id, false);
        return;
    }
    if (member_update(m, req, rq) != SAMSA_ERR_NONE) {
        join_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, false);
        return;
    }
    park_join(m, req);
    rebalance_after_join(g);
}

/* Whether the members of g could all speak one of the request's protocols. */
static bool supports_protocols(const group_t *g, const join_group_request_t *rq)
{
    if (!g->members)
        return true;
    if (!proto_str_eq(rq->protocol_type, g->protocol_type ? g->protocol_type : ""))
        return false;
    for (int32_t i = 0; i < rq->protocols_count; i++) {
        char name[256];
        proto_str_t n = rq->protocols[i].name;
        if (n.len < 0 || (size_t)n.len >= sizeof(name))
            continue;
        memcpy(name, n.ptr, (size_t)n.len);
        name[n.len] = '\0';
        bool all = true;
        for (const group_member_t *m = g->members; m && all; m = m->next)
            all = member_supports(m, name);
        if (all)
            return true;
    }
    return false;
}

/* An Empty group with nothing in it is not kept after a failed join. */
static void drop_if_unused(group_coordinator_t *gc, group_t *g)
{
    if (g->state == GROUP_EMPTY && !g->members && !g->pending && !g->offset_count &&
        !g->stored_value && g->generation == 0)
        group_remove(gc, g);
}

void group_handle_join(group_coordinator_t *gc, broker_request_t *req)
{
    const join_group_request_t *rq = req->body;
    group_t *g = NULL;
    int16_t err = SAMSA_ERR_NONE;
    bool unknown = rq->member_id.len <= 0;
    if (rq->group_id.len <= 0)
        err = SAMSA_ERR_INVALID_GROUP_ID;
    else if (rq->session_timeout_ms < gc->cfg.min_session_timeout_ms ||
             rq->session_timeout_ms > gc->cfg.max_session_timeout_ms)
        err = SAMSA_ERR_INVALID_SESSION_TIMEOUT;
    else if (rq->protocol_type.len <= 0 || rq->protocols_count <= 0)
        err = SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    else if (!(g = group_find(gc, rq->group_id.ptr, (size_t)rq->group_id.len)) && !unknown)
        err = SAMSA_ERR_UNKNOWN_MEMBER_ID;
    else if (!g && !(g = group_get_or_create(gc, rq->group_id.ptr, (size_t)rq->group_id.len)))
        err = SAMSA_ERR_COORDINATOR_NOT_AVAILABLE;
    else if (!supports_protocols(g, rq))
        err = SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err) {
        join_respond(g, req, err, NULL, false);
        if (g)
            drop_if_unused(gc, g);
        return;
    }
    if (unknown)
        join_new_member(g, req, rq);
    else
        join_known_member(g, req, rq);
}

/* ---- SyncGroup -------------------------------------------------------------------- */

/* The leader's assignment arrived: every member gets its part. */
static void sync_complete(group_t *g, const sync_group_request_t *rq)
{
    for (group_member_t *m = g->members; m; m = m->next) {
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        for (int32_t i = 0; i < rq->assignments_count; i++) {
            const sync_group_request_sync_group_request_assignment_t *a = &rq->assignments[i];
            if (!proto_str_eq(a->member_id, m->member_id))
                continue;
            size_t len = a->assignment.len > 0 ? (size_t)a->assignment.len : 0;
            if (len && (m->assignment = malloc(len)) != NULL) {
                memcpy(m->assignment, a->assignment.ptr, len);
                m->assignment_len = len;
            }
        }
    }
    samsa_err_t err = group_store_write_group(g->gc, g);
    if (err) {
        /* As Kafka: the generation cannot be stored, so it is not used. */
        slog_warn("group", "cannot store group %s: %s", g->group_id, samsa_err_str(err));
        for (group_member_t *m = g->members; m; m = m->next)
            if (m->sync_req) {
                broker_request_t *req = m->sync_req;
                m->sync_req = NULL;
                sync_respond(g, req, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE, NULL, 0);
            }
        prepare_rebalance(g);
        return;
    }
    group_set_state(g, GROUP_STABLE);
    for (group_member_t *m = g->members; m; m = m->next)
        if (m->sync_req) {
            broker_request_t *req = m->sync_req;
            m->sync_req = NULL;
            sync_respond(g, req, SAMSA_ERR_NONE, m->assignment, m->assignment_len);
        }
}

/* The checks SyncGroup, Heartbeat and OffsetCommit share: the member is
 * known (static members by instance too). Returns the error or NONE. */
int16_t group_check_member(group_t *g, proto_str_t member_id, proto_str_t instance_id,
                           group_member_t **out)
{
    *out = NULL;
    if (!g)
        return SAMSA_ERR_UNKNOWN_MEMBER_ID;
    if (instance_id.len >= 0) {
        group_member_t *inst = find_instance(g, instance_id);
        if (!inst)
            return SAMSA_ERR_UNKNOWN_MEMBER_ID;
        if (!proto_str_eq(member_id, inst->member_id))
            return SAMSA_ERR_FENCED_INSTANCE_ID;
    }
    group_member_t *m =
        member_id.len > 0 ? group_member_find(g, member_id.ptr, (size_t)member_id.len) : NULL;
    if (!m)
        return SAMSA_ERR_UNKNOWN_MEMBER_ID;
    *out = m;
    return SAMSA_ERR_NONE;
}

void group_handle_sync(group_coordinator_t *gc, broker_request_t *req)
{
    const sync_group_request_t *rq = req->body;
    group_t *g = group_find_str(gc, rq->group_id);
    group_member_t *m;
    int16_t err = group_check_member(g, rq->member_id, rq->group_instance_id, &m);
    if (!err && rq->generation_id != g->generation)
        err = SAMSA_ERR_ILLEGAL_GENERATION;
    if (!err && ((rq->protocol_type.len >= 0 &&
                  !proto_str_eq(rq->protocol_type, g->protocol_type ? g->protocol_type : "")) ||
                 (rq->protocol_name.len >= 0 &&
                  !proto_str_eq(rq->protocol_name, g->protocol_name ? g->protocol_name : ""))))
        err = SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && (g->state == GROUP_EMPTY || g->state == GROUP_DEAD))
        err = SAMSA_ERR_UNKNOWN_MEMBER_ID;
    if (!err && g->state == GROUP_PREPARING_REBALANCE)
        err = SAMSA_ERR_REBALANCE_IN_PROGRESS;
    if (err) {
        sync_respond(g, req, err, NULL, 0);
        return;
    }
    group_member_schedule_session(m);
    m->pending_sync = false;
    if (g->state == GROUP_STABLE) {
        sync_respond(g, req, SAMSA_ERR_NONE, m->assignment, m->assignment_len);
        return;
    }
    if (m->sync_req) {
        broker_request_t *old = m->sync_req;
        m->sync_req = NULL;
        sync_respond(g, old, SAMSA_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
    }
    m->sync_req = req;
    broker_request_park(req, sync_cancel, m);
    if (is_leader(g, m))
        sync_complete(g, rq);
}

/* ---- Heartbeat --------------------------------------------------------------------- */

void group_handle_heartbeat(group_coordinator_t *gc, broker_request_t *req)
{
    const heartbeat_request_t *rq = req->body;
    group_t *g = group_find_str(gc, rq->group_id);
    group_member_t *m;
    int16_t err = group_check_member(g, rq->member_id, rq->group_instance_id, &m);
    if (!err && (g->state == GROUP_EMPTY || g->state == GROUP_DEAD))
        err = SAMSA_ERR_UNKNOWN_MEMBER_ID;
    if (!err && g->state != GROUP_PREPARING_REBALANCE && rq->generation_id != g->generation)
        err = SAMSA_ERR_ILLEGAL_GENERATION;
    if (!err) {
        group_member_schedule_session(m);
        if (g->state == GROUP_PREPARING_REBALANCE)
            err = SAMSA_ERR_REBALANCE_IN_PROGRESS;
    }
    heartbeat_response_t *resp = broker_response_new(req);
    if (resp)
        resp->error_code = err;
    broker_request_respond(req, resp);
}

/* ---- LeaveGroup --------------------------------------------------------------------- */

static int16_t leave_one(group_t *g, proto_str_t member_id, proto_str_t instance_id,
                         bool *changed)
{
    if (instance_id.len >= 0) {
        group_member_t *m = find_instance(g, instance_id);
        if (!m)
            return SAMSA_ERR_UNKNOWN_MEMBER_ID;
        if (member_id.len > 0 && !proto_str_eq(member_id, m->member_id))
            return SAMSA_ERR_FENCED_INSTANCE_ID;
        member_unlink(g, m, SAMSA_ERR_UNKNOWN_MEMBER_ID);
        *changed = true;
        return SAMSA_ERR_NONE;
    }
    group_pending_t *p = find_pending(g, member_id);
    if (p) {
        pending_free(g, p);
        *changed = true;
        return SAMSA_ERR_NONE;
    }
    group_member_t *m =
        member_id.len > 0 ? group_member_find(g, member_id.ptr, (size_t)member_id.len) : NULL;
    if (!m)
        return SAMSA_ERR_UNKNOWN_MEMBER_ID;
    member_unlink(g, m, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    *changed = true;
    return SAMSA_ERR_NONE;
}

void group_handle_leave(group_coordinator_t *gc, broker_request_t *req)
{
    const leave_group_request_t *rq = req->body;
    leave_group_response_t *resp = broker_response_new(req);
    group_t *g = group_find_str(gc, rq->group_id);
    bool changed = false;
    if (!resp)
        goto respond;
    if (req->api_version < 3) {
        resp->error_code = g ? leave_one(g, rq->member_id, (proto_str_t){NULL, -1}, &changed)
                             : SAMSA_ERR_UNKNOWN_MEMBER_ID;
    } else {
        int32_t n = rq->members_count > 0 ? rq->members_count : 0;
        resp->members = arena_alloc(&req->arena, (size_t)(n + 1) * sizeof(*resp->members));
        if (!resp->members) {
            resp = NULL;
            goto respond;
        }
        resp->members_count = n;
        for (int32_t i = 0; i < n; i++) {
            const leave_group_request_member_identity_t *id = &rq->members[i];
            leave_group_response_member_response_t *r = &resp->members[i];
            r->member_id = id->member_id;
            r->group_instance_id = id->group_instance_id;
            r->error_code = g ? leave_one(g, id->member_id, id->group_instance_id, &changed)
                              : SAMSA_ERR_UNKNOWN_MEMBER_ID;
        }
    }
respond:
    if (g && changed) {
        if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
            prepare_rebalance(g);
        else if (g->state == GROUP_PREPARING_REBALANCE)
            try_complete_join(g);
    }
    broker_request_respond(req, resp);
}
