/*
 * admin_io.c: the admin client's engine on its I/O thread (see
 * admin_int.h). Each round looks at every active operation: it ends those
 * whose deadline passed, and sends each item that is due to where its kind
 * says: any broker that is up, the leader of its partition (from metadata
 * fetched after the item asked for it), the coordinator of its group (found
 * with FindCoordinator first), or a given broker. Responses go to the
 * kind's handler, which fills the item's result or asks for a retry.
 *
 * Rounds run on a tick and after every response or connection event.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/slog.h"
#include "client/admin_int.h"
#include "proto/messages.h"

#define TICK_MS 50

typedef struct areq {
    admin_op_t *op;
    size_t index;
} areq_t;

static void round_soon(samsa_admin_t *a);

bool admin_leader_error(samsa_err_t err)
{
    return err == SAMSA_ERR_NOT_LEADER_OR_FOLLOWER || err == SAMSA_ERR_LEADER_NOT_AVAILABLE ||
           err == SAMSA_ERR_FENCED_LEADER_EPOCH || err == SAMSA_ERR_UNKNOWN_LEADER_EPOCH ||
           err == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION || err == SAMSA_ERR_REPLICA_NOT_AVAILABLE ||
           err == SAMSA_ERR_OFFSET_NOT_AVAILABLE || err == SAMSA_ERR_KAFKA_STORAGE_ERROR;
}

bool admin_coordinator_error(samsa_err_t err)
{
    return err == SAMSA_ERR_NOT_COORDINATOR || err == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == SAMSA_ERR_COORDINATOR_LOAD_IN_PROGRESS;
}

static bool transient(samsa_err_t err)
{
    return err == SAMSA_ERR__TRANSPORT || err == SAMSA_ERR__TIMED_OUT ||
           err == SAMSA_ERR_REQUEST_TIMED_OUT || err == SAMSA_ERR_NOT_CONTROLLER ||
           err == SAMSA_ERR_THROTTLING_QUOTA_EXCEEDED || err == SAMSA_ERR_NETWORK_EXCEPTION;
}

void admin_io_finish(admin_op_t *op, samsa_err_t err, const char *fmt, ...)
{
    if (op->finished)
        return;
    op->finished = true;
    samsa_admin_t *a = op->admin;
    for (admin_op_t **pp = &a->active; *pp; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            break;
        }
    pthread_mutex_lock(&a->lock);
    op->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->errstr, sizeof(op->errstr), fmt, ap);
    va_end(ap);
    op->done = true;
    pthread_cond_broadcast(&a->done_cond);
    pthread_mutex_unlock(&a->lock);
    admin_op_unref(op);
}

void admin_io_add(void *opaque)
{
    admin_op_t *op = opaque;
    samsa_admin_t *a = op->admin;
    if (a->stopped) {
        admin_io_finish(op, SAMSA_ERR__DESTROYED, "%s: the admin client is closing", op->kind->name);
        return;
    }
    op->start_ms = loop_now_ms(a->loop);
    op->deadline_ms = op->start_ms + op->timeout_ms;
    for (size_t i = 0; i < op->n; i++)
        op->items[i].metadata_after_ms = op->start_ms;
    if (op->kind->target == ADMIN_TO_LEADER || op->kind->ready)
        cluster_want_refresh(&a->cluster);
    op->next = a->active;
    a->active = op;
    round_soon(a);
}

bool admin_metadata_fresh(samsa_admin_t *a, int64_t since_ms)
{
    const cluster_t *cl = &a->cluster;
    return !cl->refresh_in_flight && cl->last_attempt_ms >= since_ms &&
           cl->last_refresh_ms >= cl->last_attempt_ms && cl->last_refresh_ms > 0;
}

static void retry_item(admin_op_t *op, admin_item_t *it, enum admin_verdict v)
{
    samsa_admin_t *a = op->admin;
    int64_t now = loop_now_ms(a->loop);
    it->state = ITEM_TODO;
    it->retry_at_ms = now + a->cfg.retry_backoff_ms;
    if (v == ADMIN_ITEM_RETRY_METADATA) {
        it->metadata_after_ms = now;
        cluster_want_refresh(&a->cluster);
    } else if (v == ADMIN_ITEM_RETRY_COORDINATOR) {
        it->coordinator = -1;
    }
}

static void check_done(admin_op_t *op)
{
    if (op->finished)
        return;
    for (size_t i = 0; i < op->n; i++)
        if (op->items[i].state != ITEM_DONE)
            return;
    admin_io_finish(op, SAMSA_ERR_NONE, "%s", "");
}

/* ---- requests ------------------------------------------------------- */

static samsa_err_t encode_item(void *opaque, int16_t version, buf_t *out)
{
    areq_t *r = opaque;
    return r->op->kind->encode(r->op, r->index, version, out);
}

static samsa_err_t encode_find_coordinator(void *opaque, int16_t version, buf_t *out)
{
    areq_t *r = opaque;
    const char *group = r->op->kind->group(r->op, r->index);
    const proto_api_t *api = proto_api(API_FIND_COORDINATOR);
    find_coordinator_request_t req;
    proto_init(api->request, &req);
    proto_str_t key = proto_str_of(group);
    req.key = key;
    req.key_type = 0;
    req.coordinator_keys = &key;
    req.coordinator_keys_count = 1;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

/* A request failed before an answer: retry what can be, end the op on
 * the rest. */
static void request_failed(admin_op_t *op, size_t i, conn_t *c, samsa_err_t err, const char *api)
{
    admin_item_t *it = &op->items[i];
    if (err == SAMSA_ERR__DESTROYED) {
        admin_io_finish(op, err, "%s: the admin client is closing", op->kind->name);
        return;
    }
    if (err == SAMSA_ERR__NOT_SUPPORTED || err == SAMSA_ERR__BAD_MSG || err == SAMSA_ERR__NOMEM) {
        admin_io_finish(op, err, "%s: %s to %s failed: %s", op->kind->name, api, conn_name(c),
                        err == SAMSA_ERR__NOT_SUPPORTED ? "the broker does not support it"
                                                         : samsa_err_str(err));
        return;
    }
    slog_debug("admin", "%s: %s to %s failed (%s); retrying", op->kind->name, api, conn_name(c),
               samsa_err_name(err));
    retry_item(op, it, op->kind->target == ADMIN_TO_LEADER ? ADMIN_ITEM_RETRY_METADATA
                                                           : ADMIN_ITEM_RETRY);
    if (op->kind->target == ADMIN_TO_COORDINATOR)
        it->coordinator = -1;
}

/* A request's end: drops its reference to op and runs a round soon. */
static void release_request(admin_op_t *op)
{
    samsa_admin_t *a = op->admin;
    admin_op_unref(op);
    round_soon(a);
}

static void on_item_response(void *opaque, conn_t *c, samsa_err_t err, int16_t version,
                             const void *resp)
{
    areq_t *r = opaque;
    admin_op_t *op = r->op;
    size_t i = r->index;
    free(r);
    if (!op->finished && op->items[i].state == ITEM_SENT) {
        if (err) {
            request_failed(op, i, c, err, op->kind->name);
        } else {
            enum admin_verdict v = op->kind->on_response(op, i, c, version, resp);
            if (v == ADMIN_ITEM_DONE)
                op->items[i].state = ITEM_DONE;
            else if (!op->finished)
                retry_item(op, &op->items[i], v);
        }
        check_done(op);
    }
    release_request(op);
}

static void on_find_coordinator(void *opaque, conn_t *c, samsa_err_t err, int16_t version,
                                const void *resp)
{
    areq_t *r = opaque;
    admin_op_t *op = r->op;
    size_t i = r->index;
    free(r);
    admin_item_t *it = &op->items[i];
    it->finding = false;
    if (!op->finished && err) {
        request_failed(op, i, c, err, "FindCoordinator");
    } else if (!op->finished) {
        const find_coordinator_response_t *f = resp;
        int16_t code = f->error_code;
        int32_t node = f->node_id;
        if (version >= 4) {
            code = f->coordinators_count == 1 ? f->coordinators[0].error_code
                                              : SAMSA_ERR_COORDINATOR_NOT_AVAILABLE;
            node = f->coordinators_count == 1 ? f->coordinators[0].node_id : -1;
        }
        if (code == SAMSA_ERR_NONE && node >= 0) {
            it->coordinator = node;
            it->retry_at_ms = 0;
        } else if (admin_coordinator_error(code) || transient(code)) {
            retry_item(op, it, ADMIN_ITEM_RETRY);
        } else if (op->kind->fail_item) {
            char why[300];
            snprintf(why, sizeof(why), "group %s: FindCoordinator: %s (%s)",
                     op->kind->group(op, i), samsa_err_name(code), conn_name(c));
            op->kind->fail_item(op, i, code, why);
            it->state = ITEM_DONE;
            check_done(op);
        } else {
            admin_io_finish(op, code, "group %s: FindCoordinator: %s (%s)",
                            op->kind->group(op, i), samsa_err_name(code), conn_name(c));
        }
    }
    release_request(op);
}

static bool send_on(admin_op_t *op, size_t i, conn_t *c, bool find)
{
    areq_t *r = calloc(1, sizeof(*r));
    if (!r)
        return false;
    r->op = op;
    r->index = i;
    int32_t remaining = (int32_t)(op->deadline_ms - loop_now_ms(op->admin->loop));
    if (remaining < 1)
        remaining = 1;
    int32_t timeout = remaining < op->admin->cfg.request_timeout_ms ? remaining
                                                                    : op->admin->cfg.request_timeout_ms;
    conn_request_t req = {find ? API_FIND_COORDINATOR : op->kind->api_key,
                          find ? -1 : op->kind->max_version,
                          false,
                          timeout,
                          find ? encode_find_coordinator : encode_item,
                          find ? on_find_coordinator : on_item_response,
                          r,
                          NULL};
    __atomic_add_fetch(&op->refs, 1, __ATOMIC_ACQ_REL);
    if (conn_send(c, &req) != SAMSA_ERR_NONE) {
        admin_op_unref(op);
        free(r);
        return false;
    }
    if (find)
        op->items[i].finding = true;
    else
        op->items[i].state = ITEM_SENT;
    op->items[i].node = conn_node_id(c);
    return true;
}

/* The connection for a leader item, or NULL when it must wait (or failed). */
static conn_t *leader_conn(admin_op_t *op, size_t i)
{
    samsa_admin_t *a = op->admin;
    admin_item_t *it = &op->items[i];
    if (!admin_metadata_fresh(a, it->metadata_after_ms)) {
        cluster_want_refresh(&a->cluster);
        return NULL;
    }
    const char *topic = NULL;
    int32_t partition = -1;
    op->kind->partition(op, i, &topic, &partition);
    cluster_topic_t *ct = cluster_topic(&a->cluster, topic);
    if (!ct)
        return NULL;
    /* The metadata is fresh, so its topic error is current even for a
     * topic that the cluster knew before (and keeps the partitions of). */
    if (ct->error == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION ||
        ct->error == SAMSA_ERR_INVALID_TOPIC_EXCEPTION ||
        ct->error == SAMSA_ERR_TOPIC_AUTHORIZATION_FAILED) {
        char why[400];
        snprintf(why, sizeof(why), "%s [%d]: %s: %s", topic, (int)partition,
                 samsa_err_name(ct->error), samsa_err_str(ct->error));
        op->kind->fail_item(op, i, ct->error, why);
        it->state = ITEM_DONE;
        check_done(op);
        return NULL;
    }
    if (!ct->known) {
        it->metadata_after_ms = loop_now_ms(a->loop);
        cluster_want_refresh(&a->cluster);
        return NULL;
    }
    if (partition < 0 || partition >= ct->partition_count) {
        char why[400];
        snprintf(why, sizeof(why), "%s [%d]: UNKNOWN_TOPIC_OR_PARTITION: the topic has %d partitions",
                 topic, (int)partition, (int)ct->partition_count);
        op->kind->fail_item(op, i, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION, why);
        it->state = ITEM_DONE;
        check_done(op);
        return NULL;
    }
    int32_t leader = ct->partitions[partition].leader_id;
    conn_t *c = leader >= 0 ? cluster_broker_conn(&a->cluster, leader) : NULL;
    if (!c) {
        it->metadata_after_ms = loop_now_ms(a->loop);
        cluster_want_refresh(&a->cluster);
    }
    return c;
}

/* Sends item i when it is due and its target is known. */
static void drive_item(admin_op_t *op, size_t i, int64_t now)
{
    samsa_admin_t *a = op->admin;
    admin_item_t *it = &op->items[i];
    if (it->state != ITEM_TODO || it->retry_at_ms > now || it->finding)
        return;
    conn_t *c = NULL;
    switch (op->kind->target) {
    case ADMIN_TO_ANY:
        c = cluster_any_conn(&a->cluster);
        break;
    case ADMIN_TO_NODE: {
        int32_t node = op->kind->node(op, i);
        if (node < 0) {
            c = cluster_any_conn(&a->cluster);
        } else {
            c = cluster_broker_conn(&a->cluster, node);
            if (!c && admin_metadata_fresh(a, op->start_ms) && op->kind->fail_item) {
                char why[200];
                snprintf(why, sizeof(why), "broker %d: not in the cluster's metadata", (int)node);
                op->kind->fail_item(op, i, SAMSA_ERR_BROKER_NOT_AVAILABLE, why);
                it->state = ITEM_DONE;
                check_done(op);
                return;
            }
            if (!c)
                cluster_want_refresh(&a->cluster);
        }
        break;
    }
    case ADMIN_TO_LEADER:
        c = leader_conn(op, i);
        break;
    case ADMIN_TO_COORDINATOR:
        if (it->coordinator < 0) {
            conn_t *any = cluster_any_conn(&a->cluster);
            if (any)
                send_on(op, i, any, true);
            return;
        }
        c = cluster_broker_conn(&a->cluster, it->coordinator);
        if (!c)
            cluster_want_refresh(&a->cluster);
        break;
    }
    if (c)
        send_on(op, i, c, false);
}

/* What op still waits for, for the timeout message. */
static void describe_wait(admin_op_t *op, char *out, size_t len)
{
    snprintf(out, len, "nothing sent yet (no broker reachable)");
    for (size_t i = 0; i < op->n; i++) {
        const admin_item_t *it = &op->items[i];
        if (it->state == ITEM_SENT || it->finding) {
            conn_t *c = it->node >= 0 ? cluster_broker_conn(&op->admin->cluster, it->node) : NULL;
            snprintf(out, len, "waiting for %s from %s", it->finding ? "FindCoordinator" : op->kind->name,
                     c ? conn_name(c) : "a bootstrap server");
            return;
        }
    }
}

static void io_round(loop_t *loop, void *opaque);

static void round_soon(samsa_admin_t *a)
{
    if (a->stopped)
        return;
    loop_timer_cancel(a->loop, a->tick_timer);
    a->tick_timer = loop_timer_add(a->loop, 0, io_round, a);
}

static void io_round(loop_t *loop, void *opaque)
{
    samsa_admin_t *a = opaque;
    a->tick_timer = NULL;
    if (a->stopped)
        return;
    int64_t now = loop_now_ms(loop);
    cluster_tick(&a->cluster, now);
    /* Sending may fail requests of other ops at once (a refused
     * connection), which may end them: hold a reference to each. */
    size_t count = 0;
    for (admin_op_t *op = a->active; op; op = op->next)
        count++;
    admin_op_t **ops = count ? calloc(count, sizeof(*ops)) : NULL;
    if (count && !ops)
        count = 0; /* the next tick tries again */
    size_t k = 0;
    for (admin_op_t *op = a->active; op && k < count; op = op->next) {
        __atomic_add_fetch(&op->refs, 1, __ATOMIC_ACQ_REL);
        ops[k++] = op;
    }
    samsa_err_t security_err = a->security_err;
    a->security_err = SAMSA_ERR_NONE;
    for (size_t j = 0; j < k; j++) {
        admin_op_t *op = ops[j];
        if (!op->finished && security_err) {
            /* Retrying cannot help until the configuration changes. */
            admin_io_finish(op, security_err, "%s: %s", op->kind->name, a->security_reason);
        } else if (!op->finished && now >= op->deadline_ms) {
            char wait[400];
            describe_wait(op, wait, sizeof(wait));
            admin_io_finish(op, SAMSA_ERR__TIMED_OUT, "%s: timed out after %d ms, %s",
                            op->kind->name, op->timeout_ms, wait);
        } else if (!op->finished && (!op->kind->ready || op->kind->ready(op))) {
            for (size_t i = 0; i < op->n && !op->finished; i++)
                drive_item(op, i, now);
            check_done(op);
        }
        admin_op_unref(op);
    }
    free(ops);
    if (!a->stopped && !a->tick_timer)
        a->tick_timer = loop_timer_add(loop, TICK_MS, io_round, a);
}

static void on_cluster_update(void *owner, samsa_err_t err) { round_soon(owner); }

static void on_conn_event(void *owner, conn_t *c, bool up, samsa_err_t err, const char *reason)
{
    samsa_admin_t *a = owner;
    if (!up && conn_err_is_security(err)) {
        a->security_err = err;
        snprintf(a->security_reason, sizeof(a->security_reason), "%s: %s", conn_name(c), reason);
    }
    round_soon(a);
}

samsa_err_t admin_io_init(samsa_admin_t *a, char *errbuf, size_t errlen)
{
    samsa_err_t err = cluster_init(&a->cluster, a->loop, &a->cfg, on_cluster_update, on_conn_event,
                                   a, errbuf, errlen);
    if (err)
        return err;
    a->tick_timer = loop_timer_add(a->loop, 0, io_round, a);
    if (!a->tick_timer) {
        cluster_free(&a->cluster);
        snprintf(errbuf, errlen, "out of memory");
        return SAMSA_ERR__NOMEM;
    }
    return SAMSA_ERR_NONE;
}

void admin_io_shutdown(samsa_admin_t *a)
{
    if (a->stopped)
        return;
    a->stopped = true;
    a->tick_timer = NULL; /* the loop frees its timers */
    /* Requests in flight fail with SAMSA_ERR__DESTROYED and drop their refs. */
    cluster_free(&a->cluster);
    while (a->active)
        admin_io_finish(a->active, SAMSA_ERR__DESTROYED, "%s: the admin client is closing",
                        a->active->kind->name);
}
