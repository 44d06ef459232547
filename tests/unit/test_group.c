/*
 * Unit tests for the group coordinator (lib/broker/group*.c): requests are
 * built as decoded structs, handed to group_handle(), and every response is
 * encoded at the request's version and decoded back, so each one is also
 * checked to be valid on the wire at that version. __consumer_offsets is a
 * real partition log in a temporary directory.
 */
#include "base/slog.h"
#include "broker/group.h"
#include "net/loop.h"
#include "proto/messages.h"

#include <check.h>

#include "unit.h"
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the harness ----------------------------------------------------------------- */

/* One request sent and, once done, its response (decoded from its bytes). */
typedef struct call {
    struct call *next;
    bool done;
    bool no_response;
    void *resp;
    arena_t arena;
    buf_t bytes;
    int64_t durable_at_answer; /* the log's durable offset when it was answered */
    int64_t end_at_answer;
    broker_request_t *req;     /* while not done */
} call_t;

typedef struct test_req {
    broker_request_t req;
    call_t *call;
} test_req_t;

static char tmpdir[256];
static char errbuf[512];
static loop_t *loop;
static partition_log_t *olog;
static log_flusher_t *flusher;
static group_coordinator_t *gc;
static group_config_t cfg;
static group_env_t env;
static call_t *calls;

static const proto_uuid_t topic_t_id = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};

static bool name_by_id(void *opaque, const proto_uuid_t *id, const char **name)
{
    if (memcmp(id, &topic_t_id, sizeof(*id)) != 0)
        return false;
    *name = "t";
    return true;
}

static bool id_by_name(void *opaque, const char *name, proto_uuid_t *id)
{
    if (strcmp(name, "t") == 0) {
        *id = topic_t_id;
        return true;
    }
    if (strcmp(name, "other") == 0) {
        *id = (proto_uuid_t){{2}};
        return true;
    }
    return false;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void on_respond(broker_request_t *req, const void *response)
{
    test_req_t *t = (test_req_t *)req;
    call_t *c = t->call;
    ck_assert(!c->done);
    c->done = true;
    c->req = NULL;
    c->durable_at_answer = partition_log_durable_offset(olog);
    c->end_at_answer = partition_log_end_offset(olog);
    if (!response) {
        c->no_response = true;
    } else {
        ck_assert_int_eq(proto_encode(req->api->response, req->api_version, req->flexible,
                                      response, &c->bytes, NULL),
                         SAMSA_ERR_NONE);
        reader_t r = reader_make(c->bytes.data, c->bytes.len);
        c->resp = arena_alloc(&c->arena, req->api->response->size);
        ck_assert_int_eq(proto_decode(req->api->response, req->api_version, req->flexible, &r,
                                      &c->arena, c->resp),
                         SAMSA_ERR_NONE);
        ck_assert_int_eq(reader_left(&r), 0);
    }
    arena_free(&req->arena);
    free(t);
}

static broker_request_t *mkreq(int16_t key, int16_t version, const char *client_id)
{
    test_req_t *t = calloc(1, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    broker_request_t *req = &t->req;
    req->api = proto_api(key);
    ck_assert_ptr_nonnull(req->api);
    ck_assert(proto_api_supports(req->api, version));
    req->api_version = version;
    req->flexible = proto_api_flexible(req->api, version);
    req->client_id = proto_str_of(client_id);
    req->client_addr = "127.0.0.1:40000";
    req->principal = "User:ANONYMOUS";
    arena_init(&req->arena, 0);
    req->body = arena_alloc(&req->arena, req->api->request->size);
    ck_assert_ptr_nonnull(req->body);
    proto_init(req->api->request, req->body);
    req->respond_fn = on_respond;
    return req;
}

static void *body_of(broker_request_t *req) { return req->body; }

static void *arr(broker_request_t *req, size_t n, size_t size)
{
    void *p = arena_alloc(&req->arena, n * size + 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

static call_t *send_req(broker_request_t *req)
{
    call_t *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    arena_init(&c->arena, 0);
    buf_init(&c->bytes, 0);
    c->req = req;
    c->next = calls;
    calls = c;
    ((test_req_t *)req)->call = c;
    group_handle(gc, req);
    return c;
}

/* Runs the loop until the call is answered (bounded, never timed). */
static void run_until(call_t *c)
{
    for (int i = 0; i < 20000 && !c->done; i++)
        loop_run_once(loop, 5);
    ck_assert_msg(c->done, "the request was never answered");
}

static void run_for(int turns)
{
    for (int i = 0; i < turns; i++)
        loop_run_once(loop, 1);
}

static void open_all(void)
{
    log_config_t lcfg;
    log_config_init(&lcfg);
    lcfg.segment_bytes = 64 * 1024;
    lcfg.preallocate_bytes = 64 * 1024;
    lcfg.retention_ms = -1;
    olog = partition_log_open(tmpdir, "__consumer_offsets", 0, &lcfg, errbuf, sizeof(errbuf));
    ck_assert_msg(olog != NULL, "%s", errbuf);
    flusher = log_flusher_start(0, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(flusher);
    ck_assert_int_eq(log_flusher_add(flusher, olog), SAMSA_ERR_NONE);
    env.loop = loop;
    env.offsets_log = olog;
    env.node_id = 7;
    env.host = "broker.test";
    env.port = 9192;
    env.topic_name_by_id = name_by_id;
    env.topic_id_by_name = id_by_name;
    gc = group_coordinator_new(&cfg, &env, errbuf, sizeof(errbuf));
    ck_assert_msg(gc != NULL, "%s", errbuf);
}

static void close_all(bool clean)
{
    group_coordinator_free(gc);
    gc = NULL;
    log_flusher_remove(flusher, olog);
    log_flusher_stop(flusher);
    partition_log_close(olog, clean);
    olog = NULL;
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/samsa-test-group-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    loop = loop_new();
    ck_assert_ptr_nonnull(loop);
    group_config_init(&cfg);
    cfg.initial_rebalance_delay_ms = 20; /* new members of a test join one generation */
    cfg.min_session_timeout_ms = 10;
    open_all();
}

static void teardown(void)
{
    if (gc)
        close_all(true);
    while (calls) {
        call_t *c = calls;
        calls = c->next;
        arena_free(&c->arena);
        buf_free(&c->bytes);
        free(c);
    }
    loop_free(loop);
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    slog_configure(NULL, NULL, SLOG_WARN);
}

static proto_str_t S(const char *s) { return proto_str_of(s); }
static list_groups_response_t *list(int16_t v, const char *state, const char *type);
static const proto_str_t NULL_STR = {NULL, -1};

/* ---- group helpers --------------------------------------------------------------- */

typedef struct member {
    char id[128];
    char client[32];
    const char *instance;
    int32_t generation;
    int16_t version;
    int32_t session_ms;
    int32_t rebalance_ms;
    const char *protocols; /* comma separated */
    const uint8_t *metadata; /* every protocol's metadata when set */
    size_t metadata_len;
} member_t;

static void member_init(member_t *m, const char *client, int16_t version)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->client, sizeof(m->client), "%s", client);
    m->version = version;
    m->session_ms = 30000;
    m->rebalance_ms = 30000;
    m->protocols = "range";
}

static call_t *join_as(member_t *m, const char *group, const char *ptype)
{
    broker_request_t *req = mkreq(API_JOIN_GROUP, m->version, m->client);
    join_group_request_t *rq = body_of(req);
    rq->group_id = S(group);
    rq->session_timeout_ms = m->session_ms;
    rq->rebalance_timeout_ms = m->rebalance_ms;
    char *id = arr(req, strlen(m->id) + 1, 1);
    strcpy(id, m->id);
    rq->member_id = S(id);
    rq->group_instance_id = m->instance ? S(m->instance) : NULL_STR;
    rq->protocol_type = S(ptype);
    char *list = arr(req, strlen(m->protocols) + 1, 1);
    strcpy(list, m->protocols);
    rq->protocols = arr(req, 4, sizeof(*rq->protocols));
    rq->protocols_count = 0;
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *md = arr(req, 64, 1);
        snprintf(md, 64, "%s/%s", tok, m->client);
        rq->protocols[rq->protocols_count].name = S(tok);
        rq->protocols[rq->protocols_count].metadata =
            m->metadata ? (proto_bytes_t){m->metadata, (int32_t)m->metadata_len}
                        : (proto_bytes_t){(const uint8_t *)md, (int32_t)strlen(md)};
        rq->protocols_count++;
    }
    if (m->version >= 8)
        rq->reason = S("testing");
    return send_req(req);
}

static join_group_response_t *join_resp(call_t *c)
{
    ck_assert(c->done && c->resp);
    return c->resp;
}

/* Records what a successful join told the member. */
static void joined(member_t *m, call_t *c)
{
    join_group_response_t *r = join_resp(c);
    ck_assert_int_eq(r->error_code, SAMSA_ERR_NONE);
    snprintf(m->id, sizeof(m->id), "%.*s", r->member_id.len, r->member_id.ptr);
    m->generation = r->generation_id;
}

/* A new member's first join: v4+ dynamic members get MEMBER_ID_REQUIRED and
 * join again; returns the parked (or answered) second join. */
static call_t *join_new(member_t *m, const char *group)
{
    call_t *c = join_as(m, group, "consumer");
    if (m->version >= 4 && !m->instance) {
        join_group_response_t *r = join_resp(c);
        ck_assert_int_eq(r->error_code, SAMSA_ERR_MEMBER_ID_REQUIRED);
        ck_assert_int_eq(r->generation_id, -1);
        snprintf(m->id, sizeof(m->id), "%.*s", r->member_id.len, r->member_id.ptr);
        c = join_as(m, group, "consumer");
    }
    return c;
}

static call_t *sync_as(member_t *m, const char *group, member_t **assign_to, int n)
{
    broker_request_t *req = mkreq(API_SYNC_GROUP, m->version > 5 ? 5 : m->version, m->client);
    sync_group_request_t *rq = body_of(req);
    rq->group_id = S(group);
    rq->generation_id = m->generation;
    rq->member_id = S(m->id);
    rq->group_instance_id = m->instance ? S(m->instance) : NULL_STR;
    if (req->api_version >= 5) {
        rq->protocol_type = S("consumer");
        rq->protocol_name = S("range");
    }
    rq->assignments = arr(req, (size_t)n + 1, sizeof(*rq->assignments));
    rq->assignments_count = n;
    for (int i = 0; i < n; i++) {
        char *a = arr(req, 64, 1);
        snprintf(a, 64, "assignment-of-%s", assign_to[i]->client);
        rq->assignments[i].member_id = S(assign_to[i]->id);
        rq->assignments[i].assignment = (proto_bytes_t){(const uint8_t *)a, (int32_t)strlen(a)};
    }
    return send_req(req);
}

static void assert_assignment(call_t *c, const member_t *m)
{
    run_until(c);
    sync_group_response_t *r = c->resp;
    ck_assert_int_eq(r->error_code, SAMSA_ERR_NONE);
    char want[64];
    snprintf(want, sizeof(want), "assignment-of-%s", m->client);
    ck_assert_int_eq(r->assignment.len, (int32_t)strlen(want));
    ck_assert(memcmp(r->assignment.ptr, want, strlen(want)) == 0);
}

static int16_t heartbeat_as(member_t *m, const char *group, int32_t generation)
{
    broker_request_t *req = mkreq(API_HEARTBEAT, 4, m->client);
    heartbeat_request_t *rq = body_of(req);
    rq->group_id = S(group);
    rq->generation_id = generation;
    rq->member_id = S(m->id);
    rq->group_instance_id = m->instance ? S(m->instance) : NULL_STR;
    call_t *c = send_req(req);
    ck_assert(c->done);
    return ((heartbeat_response_t *)c->resp)->error_code;
}

/* Every member (re)joins; the leader (the first) syncs the assignment;
 * everyone gets its part. Returns the generation. */
static int32_t rebalance(member_t **ms, int n, const char *group)
{
    call_t *jc[8];
    for (int i = 0; i < n; i++)
        jc[i] = ms[i]->id[0] ? join_as(ms[i], group, "consumer") : join_new(ms[i], group);
    for (int i = 0; i < n; i++) {
        run_until(jc[i]);
        joined(ms[i], jc[i]);
    }
    join_group_response_t *lr = join_resp(jc[0]);
    ck_assert(proto_str_eq(lr->leader, ms[0]->id));
    ck_assert_int_eq(lr->members_count, n);
    for (int i = 1; i < n; i++) {
        ck_assert_int_eq(join_resp(jc[i])->members_count, 0);
        ck_assert_int_eq(ms[i]->generation, ms[0]->generation);
    }
    call_t *sc[8];
    for (int i = n - 1; i >= 1; i--) {
        sc[i] = sync_as(ms[i], group, NULL, 0);
        ck_assert(!sc[i]->done); /* followers wait for the leader */
    }
    sc[0] = sync_as(ms[0], group, ms, n);
    for (int i = 0; i < n; i++)
        assert_assignment(sc[i], ms[i]);
    return ms[0]->generation;
}

/* ---- FindCoordinator ---------------------------------------------------------------- */

START_TEST(find_coordinator_answers_this_node_for_groups)
{
    broker_request_t *req = mkreq(API_FIND_COORDINATOR, 0, "c");
    ((find_coordinator_request_t *)body_of(req))->key = S("g");
    call_t *c = send_req(req);
    find_coordinator_response_t *r = c->resp;
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->node_id, 7);
    ck_assert(proto_str_eq(r->host, "broker.test"));
    ck_assert_int_eq(r->port, 9192);

    req = mkreq(API_FIND_COORDINATOR, 6, "c");
    find_coordinator_request_t *rq = body_of(req);
    rq->coordinator_keys = arr(req, 2, sizeof(proto_str_t));
    rq->coordinator_keys[0] = S("g1");
    rq->coordinator_keys[1] = S("g2");
    rq->coordinator_keys_count = 2;
    c = send_req(req);
    r = c->resp;
    ck_assert_int_eq(r->coordinators_count, 2);
    ck_assert(proto_str_eq(r->coordinators[1].key, "g2"));
    ck_assert_int_eq(r->coordinators[1].node_id, 7);
    ck_assert_int_eq(r->coordinators[1].port, 9192);
    ck_assert_int_eq(r->coordinators[1].error_code, 0);

    req = mkreq(API_FIND_COORDINATOR, 3, "c");
    rq = body_of(req);
    rq->key = S("txn");
    rq->key_type = 1;
    c = send_req(req);
    ck_assert_int_eq(((find_coordinator_response_t *)c->resp)->error_code,
                     SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
}
END_TEST

/* ---- JoinGroup / SyncGroup ------------------------------------------------------------ */

START_TEST(join_v4_requires_member_id_then_completes)
{
    member_t a;
    member_init(&a, "client-a", 9);
    call_t *c = join_as(&a, "g", "consumer");
    join_group_response_t *r = join_resp(c);
    ck_assert_int_eq(r->error_code, SAMSA_ERR_MEMBER_ID_REQUIRED);
    ck_assert(r->member_id.len > 9 && memcmp(r->member_id.ptr, "client-a-", 9) == 0);
    snprintf(a.id, sizeof(a.id), "%.*s", r->member_id.len, r->member_id.ptr);
    c = join_as(&a, "g", "consumer");
    run_until(c);
    r = join_resp(c);
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->generation_id, 1);
    ck_assert(proto_str_eq(r->member_id, a.id));
    ck_assert(proto_str_eq(r->leader, a.id));
    ck_assert(proto_str_eq(r->protocol_type, "consumer"));
    ck_assert(proto_str_eq(r->protocol_name, "range"));
    ck_assert(!r->skip_assignment);
    ck_assert_int_eq(r->members_count, 1);
    ck_assert(proto_str_eq(r->members[0].member_id, a.id));
    ck_assert_int_eq(r->members[0].metadata.len, (int32_t)strlen("range/client-a"));
    ck_assert(memcmp(r->members[0].metadata.ptr, "range/client-a", 14) == 0);
}
END_TEST

START_TEST(join_v0_needs_no_member_id_round_trip)
{
    member_t a;
    member_init(&a, "old", 0);
    call_t *c = join_as(&a, "g0", "consumer");
    run_until(c);
    join_group_response_t *r = join_resp(c);
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->generation_id, 1);
    ck_assert(proto_str_eq(r->protocol_name, "range"));
    joined(&a, c);
    member_t *ms[] = {&a};
    call_t *s = sync_as(&a, "g0", ms, 1);
    assert_assignment(s, &a);
    ck_assert_int_eq(heartbeat_as(&a, "g0", 1), 0);
}
END_TEST

START_TEST(one_two_three_members_get_the_leaders_assignment)
{
    member_t a, b, c;
    member_init(&a, "a", 9);
    member_init(&b, "b", 5);
    member_init(&c, "c", 3);
    member_t *ms[] = {&a, &b, &c};
    ck_assert_int_eq(rebalance(ms, 1, "g"), 1);
    /* b arrives: a learns of the rebalance by heartbeat, and rejoins */
    call_t *jb = join_new(&b, "g");
    ck_assert(!jb->done);
    ck_assert_int_eq(heartbeat_as(&a, "g", 1), SAMSA_ERR_REBALANCE_IN_PROGRESS);
    call_t *ja = join_as(&a, "g", "consumer");
    run_until(ja);
    run_until(jb);
    joined(&a, ja);
    joined(&b, jb);
    ck_assert_int_eq(a.generation, 2);
    ck_assert_int_eq(join_resp(ja)->members_count, 2);
    call_t *sb = sync_as(&b, "g", NULL, 0);
    call_t *sa = sync_as(&a, "g", ms, 2);
    assert_assignment(sa, &a);
    assert_assignment(sb, &b);
    /* c (a v3 client: no MEMBER_ID_REQUIRED) */
    call_t *jc = join_new(&c, "g");
    ck_assert(!jc->done);
    ja = join_as(&a, "g", "consumer");
    jb = join_as(&b, "g", "consumer");
    run_until(ja);
    run_until(jb);
    run_until(jc);
    joined(&a, ja);
    joined(&b, jb);
    joined(&c, jc);
    ck_assert_int_eq(c.generation, 3);
    ck_assert_int_eq(join_resp(ja)->members_count, 3);
    call_t *sc = sync_as(&c, "g", NULL, 0);
    sb = sync_as(&b, "g", NULL, 0);
    ck_assert(!sc->done && !sb->done);
    sa = sync_as(&a, "g", ms, 3);
    assert_assignment(sa, &a);
    assert_assignment(sb, &b);
    assert_assignment(sc, &c);
}
END_TEST

START_TEST(three_members_rebalance_together)
{
    member_t a, b, c;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_init(&c, "c", 9);
    member_t *ms[] = {&a, &b, &c};
    cfg.initial_rebalance_delay_ms = 50;
    close_all(true);
    open_all();
    ck_assert_int_eq(rebalance(ms, 3, "g3"), 1);
    ck_assert_int_eq(heartbeat_as(&c, "g3", 1), 0);
}
END_TEST

START_TEST(initial_delay_collects_members_into_one_generation)
{
    cfg.initial_rebalance_delay_ms = 100;
    close_all(true);
    open_all();
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    call_t *ja = join_new(&a, "gd");
    call_t *jb = join_new(&b, "gd");
    ck_assert(!ja->done && !jb->done);
    run_until(ja);
    run_until(jb);
    ck_assert_int_eq(join_resp(ja)->generation_id, 1);
    ck_assert_int_eq(join_resp(ja)->members_count, 2);
    ck_assert_int_eq(join_resp(jb)->generation_id, 1);
}
END_TEST

START_TEST(protocol_selected_by_votes_among_common_ones)
{
    member_t a, b, c;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_init(&c, "c", 9);
    a.protocols = "roundrobin,range,sticky";
    b.protocols = "range,roundrobin";
    c.protocols = "range,roundrobin";
    cfg.initial_rebalance_delay_ms = 50;
    close_all(true);
    open_all();
    call_t *ja = join_new(&a, "gp"), *jb = join_new(&b, "gp"), *jc = join_new(&c, "gp");
    run_until(ja);
    run_until(jb);
    run_until(jc);
    ck_assert(proto_str_eq(join_resp(ja)->protocol_name, "range"));
    ck_assert(proto_str_eq(join_resp(jc)->protocol_name, "range"));
    /* the leader gets the metadata of the chosen protocol */
    join_group_response_t *r = join_resp(ja);
    ck_assert_int_eq(r->members_count, 3);
    ck_assert(memcmp(r->members[0].metadata.ptr, "range/a", 7) == 0);
}
END_TEST

START_TEST(join_errors)
{
    member_t a;
    member_init(&a, "a", 9);
    a.session_ms = 5;
    call_t *c = join_as(&a, "g", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_INVALID_SESSION_TIMEOUT);
    a.session_ms = 30000;
    c = join_as(&a, "", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_INVALID_GROUP_ID);
    snprintf(a.id, sizeof(a.id), "nobody");
    c = join_as(&a, "nosuch", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    a.id[0] = '\0';
    member_t *ms[] = {&a};
    rebalance(ms, 1, "g");
    member_t b;
    member_init(&b, "b", 9);
    c = join_as(&b, "g", "connect");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    b.protocols = "sticky";
    c = join_as(&b, "g", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* v0 error responses encode (non-nullable protocol name) */
    member_t old;
    member_init(&old, "old", 0);
    old.protocols = "sticky";
    c = join_as(&old, "g", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    ck_assert_int_eq(join_resp(c)->generation_id, -1);
}
END_TEST

START_TEST(sync_errors)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_t *ms[] = {&a, &b};
    rebalance(ms, 2, "g");
    int32_t gen = a.generation;
    a.generation = gen + 5;
    call_t *c = sync_as(&a, "g", NULL, 0);
    ck_assert_int_eq(((sync_group_response_t *)c->resp)->error_code, SAMSA_ERR_ILLEGAL_GENERATION);
    a.generation = gen;
    member_t x;
    member_init(&x, "x", 5);
    snprintf(x.id, sizeof(x.id), "x-unknown");
    c = sync_as(&x, "g", NULL, 0);
    ck_assert_int_eq(((sync_group_response_t *)c->resp)->error_code, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    c = sync_as(&x, "nosuch", NULL, 0);
    ck_assert_int_eq(((sync_group_response_t *)c->resp)->error_code, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    /* v5: the protocol name must be the group's */
    broker_request_t *req = mkreq(API_SYNC_GROUP, 5, "a");
    sync_group_request_t *rq = body_of(req);
    rq->group_id = S("g");
    rq->generation_id = gen;
    rq->member_id = S(a.id);
    rq->protocol_type = S("consumer");
    rq->protocol_name = S("roundrobin");
    c = send_req(req);
    ck_assert_int_eq(((sync_group_response_t *)c->resp)->error_code,
                     SAMSA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* while preparing a rebalance */
    member_t n;
    member_init(&n, "n", 9);
    call_t *jn = join_new(&n, "g");
    ck_assert(!jn->done);
    c = sync_as(&b, "g", NULL, 0);
    ck_assert_int_eq(((sync_group_response_t *)c->resp)->error_code,
                     SAMSA_ERR_REBALANCE_IN_PROGRESS);
    /* Stable again: a late SyncGroup gets the stored assignment */
    member_t *all[] = {&a, &b, &n};
    rebalance(all, 3, "g");
    c = sync_as(&b, "g", NULL, 0);
    assert_assignment(c, &b);
}
END_TEST

/* ---- Heartbeat, LeaveGroup, expiry ------------------------------------------------------- */

START_TEST(heartbeat_errors)
{
    member_t a;
    member_init(&a, "a", 9);
    member_t *ms[] = {&a};
    int32_t gen = rebalance(ms, 1, "g");
    ck_assert_int_eq(heartbeat_as(&a, "g", gen), 0);
    ck_assert_int_eq(heartbeat_as(&a, "g", gen + 1), SAMSA_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(heartbeat_as(&a, "nosuch", gen), SAMSA_ERR_UNKNOWN_MEMBER_ID);
    member_t x;
    member_init(&x, "x", 9);
    snprintf(x.id, sizeof(x.id), "x-1");
    ck_assert_int_eq(heartbeat_as(&x, "g", gen), SAMSA_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

static call_t *leave_v3(const char *group, member_t **ms, int n)
{
    broker_request_t *req = mkreq(API_LEAVE_GROUP, 5, "c");
    leave_group_request_t *rq = body_of(req);
    rq->group_id = S(group);
    rq->members = arr(req, (size_t)n, sizeof(*rq->members));
    rq->members_count = n;
    for (int i = 0; i < n; i++) {
        rq->members[i].member_id = S(ms[i]->id);
        rq->members[i].group_instance_id = ms[i]->instance ? S(ms[i]->instance) : NULL_STR;
        rq->members[i].reason = S("bye");
    }
    return send_req(req);
}

START_TEST(leave_triggers_rebalance)
{
    member_t a, b, x;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_init(&x, "x", 9);
    snprintf(x.id, sizeof(x.id), "x-unknown");
    member_t *ms[] = {&a, &b};
    int32_t gen = rebalance(ms, 2, "g");
    member_t *leaving[] = {&b, &x};
    call_t *c = leave_v3("g", leaving, 2);
    leave_group_response_t *r = c->resp;
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->members_count, 2);
    ck_assert_int_eq(r->members[0].error_code, 0);
    ck_assert_int_eq(r->members[1].error_code, SAMSA_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(heartbeat_as(&a, "g", gen), SAMSA_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(rebalance(ms, 1, "g"), gen + 1);
    /* v0: the last member leaves by member id; the group goes Empty */
    broker_request_t *req = mkreq(API_LEAVE_GROUP, 0, "a");
    ((leave_group_request_t *)body_of(req))->group_id = S("g");
    ((leave_group_request_t *)body_of(req))->member_id = S(a.id);
    c = send_req(req);
    ck_assert_int_eq(((leave_group_response_t *)c->resp)->error_code, 0);
    run_for(3);
    ck_assert_int_eq(heartbeat_as(&a, "g", gen + 1), SAMSA_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(session_expiry_removes_member_and_rebalances)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    b.session_ms = 30;
    member_t *ms[] = {&a, &b};
    int32_t gen = rebalance(ms, 2, "g");
    int16_t err = 0;
    for (int i = 0; i < 20000 && err == 0; i++) {
        loop_run_once(loop, 2);
        err = heartbeat_as(&a, "g", gen);
    }
    ck_assert_int_eq(err, SAMSA_ERR_REBALANCE_IN_PROGRESS);
    call_t *ja = join_as(&a, "g", "consumer");
    run_until(ja);
    ck_assert_int_eq(join_resp(ja)->members_count, 1);
    ck_assert_int_eq(join_resp(ja)->generation_id, gen + 1);
    ck_assert_int_eq(heartbeat_as(&b, "g", gen), SAMSA_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(member_that_does_not_rejoin_is_removed_after_rebalance_timeout)
{
    member_t a, b, c;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_init(&c, "c", 9);
    a.rebalance_ms = b.rebalance_ms = c.rebalance_ms = 50;
    member_t *ms[] = {&a, &b};
    int32_t gen = rebalance(ms, 2, "g");
    call_t *jc = join_new(&c, "g");
    call_t *ja = join_as(&a, "g", "consumer");
    run_until(ja); /* b never rejoins */
    run_until(jc);
    ck_assert_int_eq(join_resp(ja)->generation_id, gen + 1);
    ck_assert_int_eq(join_resp(ja)->members_count, 2);
    ck_assert_int_eq(heartbeat_as(&b, "g", gen), SAMSA_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(member_that_does_not_sync_is_removed_after_rebalance_timeout)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    a.rebalance_ms = b.rebalance_ms = 50;
    call_t *ja = join_new(&a, "g"), *jb = join_new(&b, "g");
    run_until(ja);
    run_until(jb);
    joined(&a, ja);
    joined(&b, jb);
    member_t *ms[] = {&a, &b};
    assert_assignment(sync_as(&a, "g", ms, 2), &a); /* b never syncs */
    int16_t err = 0;
    for (int i = 0; i < 20000 && err == 0; i++) {
        loop_run_once(loop, 2);
        err = heartbeat_as(&a, "g", a.generation);
    }
    ck_assert_int_eq(err, SAMSA_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(heartbeat_as(&b, "g", b.generation), SAMSA_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(pending_member_expires)
{
    cfg.offsets_retention_check_interval_ms = 5;
    close_all(true);
    open_all();
    member_t a;
    member_init(&a, "a", 9);
    a.session_ms = 20;
    call_t *c = join_as(&a, "gx", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_MEMBER_ID_REQUIRED);
    snprintf(a.id, sizeof(a.id), "%.*s", join_resp(c)->member_id.len, join_resp(c)->member_id.ptr);
    /* once the pending member is gone, the empty group is dropped */
    int32_t listed = 1;
    for (int i = 0; i < 20000 && listed; i++) {
        loop_run_once(loop, 2);
        listed = list(0, NULL, NULL)->groups_count;
    }
    ck_assert_int_eq(listed, 0);
    c = join_as(&a, "gx", "consumer");
    ck_assert(c->done);
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(static_member_rejoin_replaces_old_member_id)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    a.instance = "inst-a";
    member_t *ms[] = {&a, &b};
    int32_t gen = rebalance(ms, 2, "gs");
    ck_assert(strncmp(a.id, "inst-a-", 7) == 0);
    member_t old = a;
    /* a restarts: joins with no member id, same instance and protocols */
    a.id[0] = '\0';
    call_t *c = join_as(&a, "gs", "consumer");
    ck_assert(c->done);
    joined(&a, c);
    ck_assert_int_eq(a.generation, gen);
    ck_assert_str_ne(a.id, old.id);
    /* it was the leader: the answer names the leader as it was, so that
     * it does not compute an assignment the Stable group would ignore */
    ck_assert(proto_str_eq(join_resp(c)->leader, old.id));
    ck_assert_int_eq(join_resp(c)->members_count, 0);
    ck_assert_int_eq(heartbeat_as(&a, "gs", gen), 0);
    ck_assert_int_eq(heartbeat_as(&b, "gs", gen), 0); /* no rebalance */
    ck_assert_int_eq(heartbeat_as(&old, "gs", gen), SAMSA_ERR_FENCED_INSTANCE_ID);
    c = join_as(&old, "gs", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_FENCED_INSTANCE_ID);
    /* its assignment is kept */
    call_t *s = sync_as(&a, "gs", NULL, 0);
    assert_assignment(s, &a);
    /* a static member leaves by instance id */
    member_t *leaving[] = {&a};
    a.id[0] = '\0';
    c = leave_v3("gs", leaving, 1);
    ck_assert_int_eq(((leave_group_response_t *)c->resp)->members[0].error_code, 0);
    ck_assert_int_eq(heartbeat_as(&b, "gs", gen), SAMSA_ERR_REBALANCE_IN_PROGRESS);
}
END_TEST

/* ---- offsets ------------------------------------------------------------------------ */

static call_t *commit(int16_t v, const char *group, int32_t generation, const char *member,
                      const char *topic, int32_t partition, int64_t offset, const char *metadata)
{
    broker_request_t *req = mkreq(API_OFFSET_COMMIT, v, "c");
    offset_commit_request_t *rq = body_of(req);
    rq->group_id = S(group);
    rq->generation_id_or_member_epoch = generation;
    rq->member_id = S(member);
    rq->topics = arr(req, 1, sizeof(*rq->topics));
    rq->topics_count = 1;
    if (v >= 10)
        rq->topics[0].topic_id = strcmp(topic, "t") == 0 ? topic_t_id : (proto_uuid_t){{9}};
    else
        rq->topics[0].name = S(topic);
    rq->topics[0].partitions = arr(req, 1, sizeof(*rq->topics[0].partitions));
    rq->topics[0].partitions_count = 1;
    rq->topics[0].partitions[0].partition_index = partition;
    rq->topics[0].partitions[0].committed_offset = offset;
    rq->topics[0].partitions[0].committed_leader_epoch = 3;
    rq->topics[0].partitions[0].committed_metadata = metadata ? S(metadata) : NULL_STR;
    call_t *c = send_req(req);
    run_until(c);
    return c;
}

static int16_t commit_err(call_t *c)
{
    offset_commit_response_t *r = c->resp;
    ck_assert_int_eq(r->topics_count, 1);
    ck_assert_int_eq(r->topics[0].partitions_count, 1);
    return r->topics[0].partitions[0].error_code;
}

/* OffsetFetch v1-7 of one partition (-1: all of the group's offsets when v >= 2). */
static offset_fetch_response_t *fetch_old(int16_t v, const char *group, const char *topic,
                                          int32_t partition)
{
    broker_request_t *req = mkreq(API_OFFSET_FETCH, v, "c");
    offset_fetch_request_t *rq = body_of(req);
    rq->group_id = S(group);
    if (topic) {
        rq->topics = arr(req, 1, sizeof(*rq->topics));
        rq->topics_count = 1;
        rq->topics[0].name = S(topic);
        rq->topics[0].partition_indexes = arr(req, 1, sizeof(int32_t));
        rq->topics[0].partition_indexes[0] = partition;
        rq->topics[0].partition_indexes_count = 1;
    } else {
        rq->topics = NULL;
        rq->topics_count = -1;
    }
    call_t *c = send_req(req);
    ck_assert(c->done);
    return c->resp;
}

static int64_t fetched(const char *group, const char *topic, int32_t partition)
{
    offset_fetch_response_t *r = fetch_old(7, group, topic, partition);
    ck_assert_int_eq(r->topics_count, 1);
    ck_assert_int_eq(r->topics[0].partitions[0].error_code, 0);
    return r->topics[0].partitions[0].committed_offset;
}

START_TEST(simple_consumer_commit_and_fetch)
{
    ck_assert_int_eq(commit_err(commit(2, "s", -1, "", "t", 0, 42, "meta")), 0);
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 1, 7, NULL)), 0);
    offset_fetch_response_t *r = fetch_old(1, "s", "t", 0);
    ck_assert_int_eq(r->topics[0].partitions[0].committed_offset, 42);
    ck_assert(proto_str_eq(r->topics[0].partitions[0].metadata, "meta"));
    r = fetch_old(5, "s", "t", 1);
    ck_assert_int_eq(r->topics[0].partitions[0].committed_offset, 7);
    ck_assert_int_eq(r->topics[0].partitions[0].committed_leader_epoch, 3);
    ck_assert(proto_str_eq(r->topics[0].partitions[0].metadata, ""));
    /* unknown partition and unknown group: -1, "" */
    r = fetch_old(7, "s", "t", 9);
    ck_assert_int_eq(r->topics[0].partitions[0].committed_offset, -1);
    ck_assert_int_eq(r->topics[0].partitions[0].committed_leader_epoch, -1);
    ck_assert(proto_str_eq(r->topics[0].partitions[0].metadata, ""));
    ck_assert_int_eq(fetched("nosuch", "t", 0), -1);
    /* null topics: everything */
    r = fetch_old(2, "s", NULL, 0);
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->topics_count, 1);
    ck_assert_int_eq(r->topics[0].partitions_count, 2);
    /* metadata too large; unknown topic */
    char big[5000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, 1, big)),
                     SAMSA_ERR_OFFSET_METADATA_TOO_LARGE);
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "nope", 0, 1, NULL)),
                     SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(fetched("s", "t", 0), 42);
    /* a member's commit to a group that does not exist */
    ck_assert_int_eq(commit_err(commit(8, "nogroup", 1, "m-1", "t", 0, 1, NULL)),
                     SAMSA_ERR_ILLEGAL_GENERATION);
}
END_TEST

START_TEST(member_commits_are_checked_against_the_generation)
{
    member_t a;
    member_init(&a, "a", 9);
    member_t *ms[] = {&a};
    int32_t gen = rebalance(ms, 1, "g");
    ck_assert_int_eq(commit_err(commit(9, "g", gen, a.id, "t", 0, 100, NULL)), 0);
    ck_assert_int_eq(commit_err(commit(9, "g", gen + 1, a.id, "t", 0, 101, NULL)),
                     SAMSA_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(commit_err(commit(9, "g", gen, "who", "t", 0, 102, NULL)),
                     SAMSA_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(commit_err(commit(9, "g", -1, "", "t", 0, 103, NULL)),
                     SAMSA_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(fetched("g", "t", 0), 100);
}
END_TEST

START_TEST(commit_and_fetch_by_topic_id_and_many_groups)
{
    ck_assert_int_eq(commit_err(commit(10, "s", -1, "", "t", 2, 55, "x")), 0);
    ck_assert_int_eq(commit_err(commit(10, "s", -1, "", "?", 2, 55, "x")),
                     SAMSA_ERR_UNKNOWN_TOPIC_ID);
    ck_assert_int_eq(commit_err(commit(9, "s2", -1, "", "other", 0, 5, NULL)), 0);

    broker_request_t *req = mkreq(API_OFFSET_FETCH, 10, "c");
    offset_fetch_request_t *rq = body_of(req);
    rq->groups = arr(req, 3, sizeof(*rq->groups));
    rq->groups_count = 3;
    rq->groups[0].group_id = S("s");
    rq->groups[0].member_id = NULL_STR;
    rq->groups[0].member_epoch = -1;
    rq->groups[0].topics = arr(req, 2, sizeof(*rq->groups[0].topics));
    rq->groups[0].topics_count = 2;
    rq->groups[0].topics[0].topic_id = topic_t_id;
    rq->groups[0].topics[0].partition_indexes = arr(req, 2, sizeof(int32_t));
    rq->groups[0].topics[0].partition_indexes[0] = 2;
    rq->groups[0].topics[0].partition_indexes[1] = 3;
    rq->groups[0].topics[0].partition_indexes_count = 2;
    rq->groups[0].topics[1].topic_id = (proto_uuid_t){{7}};
    rq->groups[0].topics[1].partition_indexes = arr(req, 1, sizeof(int32_t));
    rq->groups[0].topics[1].partition_indexes_count = 1;
    rq->groups[1].group_id = S("s");
    rq->groups[1].member_id = NULL_STR;
    rq->groups[1].topics = NULL;
    rq->groups[1].topics_count = -1;
    rq->groups[2].group_id = S("s2");
    rq->groups[2].member_id = NULL_STR;
    rq->groups[2].topics = NULL;
    rq->groups[2].topics_count = -1;
    rq->require_stable = true;
    call_t *c = send_req(req);
    offset_fetch_response_t *r = c->resp;
    ck_assert_int_eq(r->groups_count, 3);
    ck_assert_int_eq(r->groups[0].error_code, 0);
    ck_assert_int_eq(r->groups[0].topics_count, 2);
    ck_assert(memcmp(&r->groups[0].topics[0].topic_id, &topic_t_id, 16) == 0);
    ck_assert_int_eq(r->groups[0].topics[0].partitions[0].committed_offset, 55);
    ck_assert(proto_str_eq(r->groups[0].topics[0].partitions[0].metadata, "x"));
    ck_assert_int_eq(r->groups[0].topics[0].partitions[1].committed_offset, -1);
    ck_assert_int_eq(r->groups[0].topics[1].partitions[0].error_code, SAMSA_ERR_UNKNOWN_TOPIC_ID);
    ck_assert_int_eq(r->groups[1].topics_count, 1);
    ck_assert(memcmp(&r->groups[1].topics[0].topic_id, &topic_t_id, 16) == 0);
    ck_assert_int_eq(r->groups[2].topics_count, 1);
    ck_assert_int_eq(r->groups[2].topics[0].topic_id.bytes[0], 2);
    ck_assert_int_eq(r->groups[2].topics[0].partitions[0].committed_offset, 5);
}
END_TEST

START_TEST(commit_is_answered_once_durable)
{
    call_t *c = commit(8, "s", -1, "", "t", 0, 1, NULL);
    ck_assert_int_eq(commit_err(c), 0);
    ck_assert_int_ge(c->durable_at_answer, c->end_at_answer);
    cfg.commit_wait_durable = false;
    close_all(true);
    open_all();
    c = commit(8, "s", -1, "", "t", 0, 2, NULL);
    ck_assert_int_eq(commit_err(c), 0);
    ck_assert_int_eq(fetched("s", "t", 0), 2);
}
END_TEST

START_TEST(offsets_and_groups_survive_restart)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_t *ms[] = {&a, &b};
    int32_t gen = rebalance(ms, 2, "g");
    ck_assert_int_eq(commit_err(commit(9, "g", gen, a.id, "t", 0, 100, "m")), 0);
    ck_assert_int_eq(commit_err(commit(2, "s", -1, "", "t", 1, 5, NULL)), 0);
    ck_assert_int_eq(commit_err(commit(2, "s", -1, "", "t", 1, 6, NULL)), 0);
    close_all(true);
    open_all();
    ck_assert_int_eq(fetched("g", "t", 0), 100);
    ck_assert_int_eq(fetched("s", "t", 1), 6);
    /* the members carry on in their generation */
    ck_assert_int_eq(heartbeat_as(&a, "g", gen), 0);
    ck_assert_int_eq(heartbeat_as(&b, "g", gen), 0);
    call_t *s = sync_as(&b, "g", NULL, 0);
    assert_assignment(s, &b);
    ck_assert_int_eq(commit_err(commit(9, "g", gen, b.id, "t", 0, 101, NULL)), 0);
    /* and after a crash too */
    close_all(false);
    open_all();
    ck_assert_int_eq(fetched("g", "t", 0), 101);
    ck_assert_int_eq(heartbeat_as(&a, "g", gen), 0);
}
END_TEST

START_TEST(snapshots_keep_the_log_bounded)
{
    cfg.snapshot_min_records = 100;
    cfg.commit_wait_durable = false;
    close_all(true);
    open_all();
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", i % 3, i, NULL)), 0);
    int64_t span = partition_log_end_offset(olog) - partition_log_start_offset(olog);
    ck_assert_int_le(span, 2 * 3 + 100 + 1);
    close_all(true);
    open_all();
    ck_assert_int_eq(fetched("s", "t", 0), 9999);
    ck_assert_int_eq(fetched("s", "t", 1), 9997);
    ck_assert_int_eq(fetched("s", "t", 2), 9998);
}
END_TEST

START_TEST(a_snapshot_never_loses_the_commit_that_triggered_it)
{
    cfg.snapshot_min_records = 10;
    cfg.commit_wait_durable = false;
    close_all(true);
    open_all();
    int reopened = 0;
    for (int i = 0; i < 200; i++) {
        int64_t start = partition_log_start_offset(olog);
        ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, i, NULL)), 0);
        if (partition_log_start_offset(olog) != start) {
            close_all(false);
            open_all();
            ck_assert_int_eq(fetched("s", "t", 0), i);
            reopened++;
        }
    }
    ck_assert_int_gt(reopened, 5);
}
END_TEST

START_TEST(offsets_of_empty_groups_expire)
{
    cfg.offsets_retention_ms = 1;
    cfg.offsets_retention_check_interval_ms = 5;
    close_all(true);
    open_all();
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, 9, NULL)), 0);
    int64_t off = 9;
    for (int i = 0; i < 20000 && off != -1; i++) {
        loop_run_once(loop, 2);
        off = fetched("s", "t", 0);
    }
    ck_assert_int_eq(off, -1);
    close_all(true);
    open_all();
    ck_assert_int_eq(fetched("s", "t", 0), -1);
}
END_TEST

START_TEST(stable_group_loses_offsets_of_topics_it_no_longer_reads)
{
    cfg.offsets_retention_ms = 1;
    cfg.offsets_retention_check_interval_ms = 5;
    close_all(true);
    open_all();
    /* ConsumerProtocolSubscription v0: topics ["t"], no user data */
    static const uint8_t sub[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff};
    member_t a;
    member_init(&a, "a", 9);
    a.metadata = sub;
    a.metadata_len = sizeof(sub);
    member_t *ms[] = {&a};
    int32_t gen = rebalance(ms, 1, "g");
    ck_assert_int_eq(commit_err(commit(9, "g", gen, a.id, "t", 0, 1, NULL)), 0);
    ck_assert_int_eq(commit_err(commit(9, "g", gen, a.id, "other", 0, 2, NULL)), 0);
    int64_t off = 2;
    for (int i = 0; i < 20000 && off != -1; i++) {
        loop_run_once(loop, 2);
        off = fetched("g", "other", 0);
    }
    ck_assert_int_eq(off, -1);
    ck_assert_int_eq(fetched("g", "t", 0), 1);
}
END_TEST

START_TEST(deleted_topic_loses_its_offsets)
{
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, 9, NULL)), 0);
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "other", 0, 4, NULL)), 0);
    group_topic_deleted(gc, "t");
    ck_assert_int_eq(fetched("s", "t", 0), -1);
    ck_assert_int_eq(fetched("s", "other", 0), 4);
    close_all(true);
    open_all();
    ck_assert_int_eq(fetched("s", "t", 0), -1);
    ck_assert_int_eq(fetched("s", "other", 0), 4);
}
END_TEST

START_TEST(random_records_never_break_the_load)
{
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, 5, NULL)), 0);
    group_coordinator_free(gc);
    slog_configure(NULL, NULL, SLOG_ERROR); /* hundreds of "skipping" warnings */
    uint32_t seed = 12345;
    for (int i = 0; i < 300; i++) {
        uint8_t key[40], value[80];
        for (size_t k = 0; k < sizeof(key); k++)
            key[k] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 24);
        for (size_t k = 0; k < sizeof(value); k++)
            value[k] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 24);
        key[0] = 0;
        key[1] = (uint8_t)(i % 3);                /* offset and group key versions */
        key[2] = 0;
        key[3] = (uint8_t)(seed % 40);            /* plausible string lengths */
        value[0] = 0;
        value[1] = (uint8_t)(seed % 4);
        size_t klen = 4 + seed % (sizeof(key) - 4), vlen = seed % sizeof(value);
        log_record_t rec = {key, klen, i % 7 ? value : NULL, i % 7 ? vlen : 0};
        ck_assert_int_eq(partition_log_append_records(olog, &rec, 1, 0, 0, NULL), SAMSA_ERR_NONE);
    }
    gc = group_coordinator_new(&cfg, &env, errbuf, sizeof(errbuf));
    ck_assert_msg(gc != NULL, "%s", errbuf);
    ck_assert_int_eq(fetched("s", "t", 0), 5);
}
END_TEST

/* ---- DescribeGroups, ListGroups ---------------------------------------------------------- */

static describe_groups_response_t *describe(int16_t v, const char *group)
{
    broker_request_t *req = mkreq(API_DESCRIBE_GROUPS, v, "c");
    describe_groups_request_t *rq = body_of(req);
    rq->groups = arr(req, 1, sizeof(proto_str_t));
    rq->groups[0] = S(group);
    rq->groups_count = 1;
    return send_req(req)->resp;
}

static list_groups_response_t *list(int16_t v, const char *state, const char *type)
{
    broker_request_t *req = mkreq(API_LIST_GROUPS, v, "c");
    list_groups_request_t *rq = body_of(req);
    if (state) {
        rq->states_filter = arr(req, 1, sizeof(proto_str_t));
        rq->states_filter[0] = S(state);
        rq->states_filter_count = 1;
    }
    if (type) {
        rq->types_filter = arr(req, 1, sizeof(proto_str_t));
        rq->types_filter[0] = S(type);
        rq->types_filter_count = 1;
    }
    return send_req(req)->resp;
}

START_TEST(describe_and_list_groups)
{
    member_t a;
    member_init(&a, "a", 9);
    member_t *ms[] = {&a};
    rebalance(ms, 1, "g");
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, 1, NULL)), 0);
    describe_groups_response_t *d = describe(0, "g");
    ck_assert_int_eq(d->groups_count, 1);
    ck_assert_int_eq(d->groups[0].error_code, 0);
    ck_assert(proto_str_eq(d->groups[0].group_state, "Stable"));
    ck_assert(proto_str_eq(d->groups[0].protocol_type, "consumer"));
    ck_assert(proto_str_eq(d->groups[0].protocol_data, "range"));
    ck_assert_int_eq(d->groups[0].members_count, 1);
    ck_assert(proto_str_eq(d->groups[0].members[0].member_id, a.id));
    ck_assert(proto_str_eq(d->groups[0].members[0].client_id, "a"));
    ck_assert(proto_str_eq(d->groups[0].members[0].client_host, "/127.0.0.1"));
    ck_assert_int_eq(d->groups[0].members[0].member_assignment.len, (int32_t)strlen("assignment-of-a"));
    d = describe(5, "nosuch");
    ck_assert_int_eq(d->groups[0].error_code, 0);
    ck_assert(proto_str_eq(d->groups[0].group_state, "Dead"));
    d = describe(6, "nosuch");
    ck_assert_int_eq(d->groups[0].error_code, SAMSA_ERR_GROUP_ID_NOT_FOUND);
    d = describe(6, "s");
    ck_assert(proto_str_eq(d->groups[0].group_state, "Empty"));

    list_groups_response_t *l = list(0, NULL, NULL);
    ck_assert_int_eq(l->groups_count, 2);
    ck_assert(proto_str_eq(l->groups[0].group_id, "g"));
    ck_assert(proto_str_eq(l->groups[0].protocol_type, "consumer"));
    ck_assert(proto_str_eq(l->groups[1].group_id, "s"));
    ck_assert(proto_str_eq(l->groups[1].protocol_type, ""));
    l = list(4, "stable", NULL);
    ck_assert_int_eq(l->groups_count, 1);
    ck_assert(proto_str_eq(l->groups[0].group_state, "Stable"));
    l = list(5, NULL, "classic");
    ck_assert_int_eq(l->groups_count, 2);
    ck_assert(proto_str_eq(l->groups[0].group_type, "classic"));
    l = list(5, NULL, "consumer");
    ck_assert_int_eq(l->groups_count, 0);
}
END_TEST

START_TEST(describe_during_rebalance_shows_members_without_metadata)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_t *ms[] = {&a};
    rebalance(ms, 1, "g");
    call_t *jb = join_new(&b, "g");
    ck_assert(!jb->done);
    broker_request_t *req = mkreq(API_DESCRIBE_GROUPS, 4, "c");
    describe_groups_request_t *rq = body_of(req);
    rq->groups = arr(req, 1, sizeof(proto_str_t));
    rq->groups[0] = S("g");
    rq->groups_count = 1;
    rq->include_authorized_operations = true;
    describe_groups_response_t *d = send_req(req)->resp;
    ck_assert(proto_str_eq(d->groups[0].group_state, "PreparingRebalance"));
    ck_assert(proto_str_eq(d->groups[0].protocol_data, ""));
    ck_assert_int_eq(d->groups[0].members_count, 2);
    ck_assert_int_eq(d->groups[0].members[0].member_metadata.len, 0);
    ck_assert_int_eq(d->groups[0].members[0].member_assignment.len, 0);
    ck_assert_int_eq(d->groups[0].authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
}
END_TEST

START_TEST(group_max_size_is_enforced)
{
    cfg.max_group_size = 1;
    close_all(true);
    open_all();
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_t *ms[] = {&a};
    rebalance(ms, 1, "g");
    call_t *c = join_as(&b, "g", "consumer");
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_GROUP_MAX_SIZE_REACHED);
}
END_TEST

START_TEST(commits_during_a_rebalance)
{
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    member_t *ms[] = {&a};
    int32_t gen = rebalance(ms, 1, "g");
    call_t *jb = join_new(&b, "g");
    ck_assert(!jb->done);
    /* PreparingRebalance: the current generation may still commit */
    ck_assert_int_eq(commit_err(commit(9, "g", gen, a.id, "t", 0, 1, NULL)), 0);
    call_t *ja = join_as(&a, "g", "consumer");
    run_until(ja);
    run_until(jb);
    joined(&a, ja);
    /* CompletingRebalance: wait for the assignment */
    ck_assert_int_eq(commit_err(commit(9, "g", a.generation, a.id, "t", 0, 2, NULL)),
                     SAMSA_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(fetched("g", "t", 0), 1);
}
END_TEST

START_TEST(malformed_records_are_skipped_at_load)
{
    ck_assert_int_eq(commit_err(commit(8, "s", -1, "", "t", 0, 5, NULL)), 0);
    group_coordinator_free(gc);
    static const uint8_t bad_key[] = {0, 1, 0, 9, 's'}; /* an offset key cut short */
    log_record_t rec = {bad_key, sizeof(bad_key), "v", 1};
    ck_assert_int_eq(partition_log_append_records(olog, &rec, 1, 0, 0, NULL), SAMSA_ERR_NONE);
    gc = group_coordinator_new(&cfg, &env, errbuf, sizeof(errbuf));
    ck_assert_msg(gc != NULL, "%s", errbuf);
    ck_assert_int_eq(fetched("s", "t", 0), 5);
}
END_TEST

/* Every version of every API, through a whole group life: each response
 * must encode at its version (on_respond checks). */
START_TEST(every_version_round_trips)
{
    for (int16_t v = 0; v <= proto_api(API_JOIN_GROUP)->max_version; v++) {
        char group[16];
        snprintf(group, sizeof(group), "gv%d", v);
        member_t a;
        member_init(&a, "a", v);
        member_t *ms[] = {&a};
        int32_t gen = rebalance(ms, 1, group);
        int16_t hv = v > proto_api(API_HEARTBEAT)->max_version ? 4 : v;
        broker_request_t *req = mkreq(API_HEARTBEAT, hv, "a");
        heartbeat_request_t *hb = body_of(req);
        hb->group_id = S(group);
        hb->generation_id = gen;
        hb->member_id = S(a.id);
        hb->group_instance_id = NULL_STR;
        ck_assert_int_eq(((heartbeat_response_t *)send_req(req)->resp)->error_code, 0);
        int16_t cv = v + 2 > 9 ? 9 : v + 2;
        ck_assert_int_eq(commit_err(commit(cv, group, gen, a.id, "t", 0, v, NULL)), 0);
        int16_t lv = v > proto_api(API_LEAVE_GROUP)->max_version ? 5 : v;
        if (lv >= 3) {
            call_t *c = leave_v3(group, ms, 1);
            ck_assert_int_eq(((leave_group_response_t *)c->resp)->members[0].error_code, 0);
        } else {
            req = mkreq(API_LEAVE_GROUP, lv, "a");
            ((leave_group_request_t *)body_of(req))->group_id = S(group);
            ((leave_group_request_t *)body_of(req))->member_id = S(a.id);
            ck_assert_int_eq(((leave_group_response_t *)send_req(req)->resp)->error_code, 0);
        }
    }
    for (int16_t v = 1; v <= 7; v++)
        ck_assert_int_eq(fetch_old(v, "gv0", "t", 0)->topics[0].partitions[0].committed_offset, 0);
    for (int16_t v = 2; v <= 10; v++)
        ck_assert_int_eq(commit_err(commit(v, "simple", -1, "", "t", 1, v, NULL)), 0);
    for (int16_t v = 0; v <= proto_api(API_DESCRIBE_GROUPS)->max_version; v++)
        ck_assert_int_eq(describe(v, "gv3")->groups[0].error_code, 0);
    for (int16_t v = 0; v <= proto_api(API_LIST_GROUPS)->max_version; v++)
        ck_assert_int_ge(list(v, NULL, NULL)->groups_count, 1);
    for (int16_t v = 0; v <= proto_api(API_FIND_COORDINATOR)->max_version; v++) {
        broker_request_t *req = mkreq(API_FIND_COORDINATOR, v, "c");
        find_coordinator_request_t *rq = body_of(req);
        rq->key = S("g");
        rq->coordinator_keys = arr(req, 1, sizeof(proto_str_t));
        rq->coordinator_keys[0] = S("g");
        rq->coordinator_keys_count = 1;
        ck_assert(send_req(req)->done);
    }
}
END_TEST

START_TEST(config_by_property_name)
{
    group_config_t c;
    group_config_init(&c);
    char msg[256];
    ck_assert_int_eq(group_config_set(&c, "group.initial.rebalance.delay.ms", "0", msg, sizeof(msg)),
                     SAMSA_ERR_NONE);
    ck_assert_int_eq(c.initial_rebalance_delay_ms, 0);
    ck_assert_int_eq(group_config_set(&c, "offsets.retention.minutes", "2", msg, sizeof(msg)),
                     SAMSA_ERR_NONE);
    ck_assert_int_eq(c.offsets_retention_ms, 120000);
    ck_assert_int_eq(group_config_set(&c, "group.max.size", "0", msg, sizeof(msg)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert(strstr(msg, "group.max.size") != NULL);
    ck_assert_int_eq(c.max_group_size, INT32_MAX);
    ck_assert_int_eq(group_config_set(&c, "group.max.sizes", "1", msg, sizeof(msg)),
                     SAMSA_ERR__UNKNOWN_CONFIG);
}
END_TEST

/* ---- parked requests ---------------------------------------------------------------------- */

START_TEST(shutdown_answers_parked_requests)
{
    cfg.initial_rebalance_delay_ms = 60000;
    close_all(true);
    open_all();
    member_t a;
    member_init(&a, "a", 9);
    call_t *c = join_new(&a, "g");
    ck_assert(!c->done);
    group_coordinator_free(gc);
    gc = NULL;
    ck_assert(c->done);
    ck_assert_int_eq(join_resp(c)->error_code, SAMSA_ERR_COORDINATOR_NOT_AVAILABLE);
    log_flusher_remove(flusher, olog);
    log_flusher_stop(flusher);
    partition_log_close(olog, true);
}
END_TEST

START_TEST(cancelled_join_is_forgotten)
{
    cfg.initial_rebalance_delay_ms = 30;
    close_all(true);
    open_all();
    member_t a, b;
    member_init(&a, "a", 9);
    member_init(&b, "b", 9);
    call_t *ja = join_new(&a, "g");
    call_t *jb = join_new(&b, "g");
    /* a's client disconnects */
    broker_request_t *req = ja->req;
    req->cancel_fn(req, req->cancel_opaque);
    arena_free(&req->arena);
    free(req);
    ja->done = true;
    run_until(jb);
    ck_assert_int_eq(join_resp(jb)->error_code, 0);
    ck_assert_int_eq(join_resp(jb)->members_count, 1);
    ck_assert(proto_str_eq(join_resp(jb)->leader, b.id));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("group");
    TCase *tc = tcase_create("group");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, find_coordinator_answers_this_node_for_groups);
    tcase_add_test(tc, join_v4_requires_member_id_then_completes);
    tcase_add_test(tc, join_v0_needs_no_member_id_round_trip);
    tcase_add_test(tc, one_two_three_members_get_the_leaders_assignment);
    tcase_add_test(tc, three_members_rebalance_together);
    tcase_add_test(tc, initial_delay_collects_members_into_one_generation);
    tcase_add_test(tc, protocol_selected_by_votes_among_common_ones);
    tcase_add_test(tc, join_errors);
    tcase_add_test(tc, sync_errors);
    tcase_add_test(tc, heartbeat_errors);
    tcase_add_test(tc, leave_triggers_rebalance);
    tcase_add_test(tc, session_expiry_removes_member_and_rebalances);
    tcase_add_test(tc, member_that_does_not_rejoin_is_removed_after_rebalance_timeout);
    tcase_add_test(tc, member_that_does_not_sync_is_removed_after_rebalance_timeout);
    tcase_add_test(tc, pending_member_expires);
    tcase_add_test(tc, static_member_rejoin_replaces_old_member_id);
    tcase_add_test(tc, simple_consumer_commit_and_fetch);
    tcase_add_test(tc, member_commits_are_checked_against_the_generation);
    tcase_add_test(tc, commit_and_fetch_by_topic_id_and_many_groups);
    tcase_add_test(tc, commit_is_answered_once_durable);
    tcase_add_test(tc, offsets_and_groups_survive_restart);
    tcase_add_test(tc, snapshots_keep_the_log_bounded);
    tcase_add_test(tc, a_snapshot_never_loses_the_commit_that_triggered_it);
    tcase_add_test(tc, offsets_of_empty_groups_expire);
    tcase_add_test(tc, stable_group_loses_offsets_of_topics_it_no_longer_reads);
    tcase_add_test(tc, deleted_topic_loses_its_offsets);
    tcase_add_test(tc, describe_and_list_groups);
    tcase_add_test(tc, describe_during_rebalance_shows_members_without_metadata);
    tcase_add_test(tc, group_max_size_is_enforced);
    tcase_add_test(tc, commits_during_a_rebalance);
    tcase_add_test(tc, malformed_records_are_skipped_at_load);
    tcase_add_test(tc, random_records_never_break_the_load);
    tcase_add_test(tc, every_version_round_trips);
    tcase_add_test(tc, config_by_property_name);
    tcase_add_test(tc, shutdown_answers_parked_requests);
    tcase_add_test(tc, cancelled_join_is_forgotten);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
