/*
 * consumer.c: the public consumer API (samsa_consumer_* in samsa.h): the
 * handle and its I/O thread, poll() with the message queue and the events
 * (rebalances, commit results), assign/subscribe, positions, seek, pause,
 * commit and committed calls handed to the I/O thread, and close.
 *
 * Threads: see consumer_int.h. c->lock is recursive because a connection
 * may complete requests (and so call back into the consumer) from inside a
 * call the I/O thread makes while holding it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/conf.h"
#include "base/slog.h"
#include "client/consumer_int.h"

#define TICK_MS 50

/* ---- partitions, queue, events (locked) ------------------------------ */

cpart_t *consumer_part_find(samsa_consumer_t *c, const char *topic, int32_t partition)
{
    for (int i = 0; i < c->part_count; i++)
        if (!c->parts[i]->removed && c->parts[i]->partition == partition &&
            !strcmp(c->parts[i]->topic, topic))
            return c->parts[i];
    return NULL;
}

static void part_start(cpart_t *p, int64_t offset)
{
    p->version++;
    p->skip_to = -1;
    p->retry_at_ms = 0;
    if (offset >= 0) {
        p->state = CPART_READY;
        p->fetch_offset = p->position = offset;
    } else if (offset == -1) {
        p->state = CPART_NEED_COMMITTED;
        p->position = -1;
    } else {
        p->state = CPART_NEED_LOOKUP;
        p->lookup_ts = offset == SAMSA_OFFSET_BEGINNING ? CPART_TS_EARLIEST : CPART_TS_LATEST;
        p->position = -1;
    }
}

cpart_t *consumer_part_add(samsa_consumer_t *c, const char *topic, int32_t partition,
                           int64_t offset)
{
    cpart_t *p = NULL;
    for (int i = 0; i < c->part_count && !p; i++)
        if (c->parts[i]->partition == partition && !strcmp(c->parts[i]->topic, topic))
            p = c->parts[i];
    if (!p) {
        cpart_t **grown = realloc(c->parts, sizeof(*grown) * (size_t)(c->part_count + 1));
        if (!grown)
            return NULL;
        c->parts = grown;
        p = calloc(1, sizeof(*p));
        if (!p || !(p->topic = strdup(topic))) {
            free(p);
            return NULL;
        }
        p->partition = partition;
        p->leader_epoch = -1;
        p->high_watermark = -1;
        c->parts[c->part_count++] = p;
        cluster_topic(&c->cluster, topic);
    }
    p->removed = false;
    p->paused = false;
    p->committed = -1;
    part_start(p, offset);
    return p;
}

static bool kept(const cpart_t *p, const assign_tp_t *keep, int keep_count)
{
    for (int i = 0; i < keep_count; i++)
        if (keep[i].partition == p->partition && !strcmp(keep[i].topic, p->topic))
            return true;
    return false;
}

void consumer_parts_remove(samsa_consumer_t *c, const assign_tp_t *keep, int keep_count)
{
    for (int i = 0; i < c->part_count; i++) {
        cpart_t *p = c->parts[i];
        if (p->removed || (keep && kept(p, keep, keep_count)))
            continue;
        consumer_queue_drop(c, p);
        p->removed = true;
        p->version++;
    }
}

/* Locked: m leaves the queue; the last message of its partition out
 * moves the position past what was skipped after it. */
static void msg_unqueued(samsa_consumer_t *c, cmsg_t *m)
{
    c->queued_bytes -= m->bytes;
    cpart_t *p = m->part;
    if (p && --p->queued == 0 && p->skip_to > p->position && p->position >= 0)
        p->position = p->skip_to;
}

static void msg_unqueue_free(samsa_consumer_t *c, cmsg_t *m)
{
    msg_unqueued(c, m);
    samsa_message_free(&m->pub);
}

void consumer_queue_drop(samsa_consumer_t *c, const cpart_t *p)
{
    cmsg_t **link = &c->queue_head, *prev = NULL;
    while (*link) {
        cmsg_t *m = *link;
        if (p && m->part != p) {
            prev = m;
            link = &m->next;
            continue;
        }
        *link = m->next;
        msg_unqueue_free(c, m);
    }
    c->queue_tail = prev;
    if (!c->queue_head)
        c->queue_tail = NULL;
}

void consumer_queue_push(samsa_consumer_t *c, cmsg_t *m)
{
    consumer_queue_add(c, m);
    pthread_cond_broadcast(&c->cond);
}

void consumer_queue_add(samsa_consumer_t *c, cmsg_t *m)
{
    m->next = NULL;
    if (c->queue_tail)
        c->queue_tail->next = m;
    else
        c->queue_head = m;
    c->queue_tail = m;
    c->queued_bytes += m->bytes;
    if (m->part)
        ((cpart_t *)m->part)->queued++;
}

cmsg_t *consumer_error_msg(const char *topic, int32_t partition, int64_t offset, samsa_err_t err,
                           const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    size_t tl = topic ? strlen(topic) + 1 : 0, el = strlen(text) + 1;
    cmsg_t *m = calloc(1, sizeof(*m) + tl + el);
    if (!m)
        return NULL;
    char *pos = (char *)(m + 1);
    if (topic) {
        memcpy(pos, topic, tl);
        m->pub.topic = pos;
        pos += tl;
    }
    memcpy(pos, text, el);
    m->pub.errstr = pos;
    m->pub.partition = partition;
    m->pub.offset = offset;
    m->pub.timestamp_ms = -1;
    m->pub.leader_epoch = -1;
    m->pub.err = err;
    return m;
}

void consumer_event(samsa_consumer_t *c, int type, samsa_err_t err, samsa_partition_list_t *list)
{
    cevent_t *e = calloc(1, sizeof(*e));
    if (!e) {
        samsa_partition_list_free(list);
        return;
    }
    e->type = type;
    e->err = err;
    if (list) {
        e->list = *list;
        memset(list, 0, sizeof(*list));
    }
    if (c->events_tail)
        c->events_tail->next = e;
    else
        c->events_head = e;
    c->events_tail = e;
    pthread_cond_broadcast(&c->cond);
}

bool partition_list_copy(samsa_partition_list_t *dst, const samsa_partition_list_t *src)
{
    memset(dst, 0, sizeof(*dst));
    if (!src || !src->count)
        return true;
    dst->items = calloc(src->count, sizeof(*dst->items));
    if (!dst->items)
        return false;
    for (size_t i = 0; i < src->count; i++) {
        dst->items[i] = src->items[i];
        dst->items[i].topic = strdup(src->items[i].topic ? src->items[i].topic : "");
        dst->count = i + 1;
        if (!dst->items[i].topic) {
            dst->count = i;
            samsa_partition_list_free(dst);
            return false;
        }
    }
    return true;
}

bool consumer_positions(samsa_consumer_t *c, samsa_partition_list_t *out)
{
    samsa_topic_partition_t items[1];
    samsa_partition_list_t tmp = {items, 0};
    samsa_topic_partition_t *all = calloc((size_t)c->part_count + 1, sizeof(*all));
    if (!all)
        return false;
    tmp.items = all;
    for (int i = 0; i < c->part_count; i++) {
        cpart_t *p = c->parts[i];
        if (p->removed || p->position < 0)
            continue;
        all[tmp.count++] = (samsa_topic_partition_t){p->topic, p->partition, p->position, 0};
    }
    bool ok = partition_list_copy(out, &tmp);
    free(all);
    return ok;
}

SAMSA_API void samsa_partition_list_free(samsa_partition_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free((char *)list->items[i].topic);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

SAMSA_API void samsa_message_free(samsa_message_t *msg)
{
    if (!msg)
        return;
    cmsg_t *m = (cmsg_t *)msg;
    cchunk_release(m->chunk);
    cchunk_release(m->chunk2);
    free(m);
}

/* ---- the I/O thread ---------------------------------------------------- */

static void io_work(samsa_consumer_t *c)
{
    if (c->stopped)
        return;
    group_run(c);
    fetch_run(c);
}

static void on_kick_timer(loop_t *loop, void *opaque)
{
    samsa_consumer_t *c = opaque;
    pthread_mutex_lock(&c->lock);
    c->kick_timer = NULL;
    io_work(c);
    pthread_mutex_unlock(&c->lock);
}

void consumer_kick(samsa_consumer_t *c)
{
    if (!c->kick_timer && !c->stopped)
        c->kick_timer = loop_timer_add(c->loop, 0, on_kick_timer, c);
}

static void on_posted(void *opaque)
{
    samsa_consumer_t *c = opaque;
    pthread_mutex_lock(&c->lock);
    c->kick_posted = false;
    io_work(c);
    pthread_mutex_unlock(&c->lock);
}

/* Locked, any thread but the loop's: asks the I/O thread to run soon. */
static void post_kick(samsa_consumer_t *c)
{
    if (c->kick_posted || c->stopped)
        return;
    if (loop_post(c->loop, on_posted, c) == SAMSA_ERR_NONE)
        c->kick_posted = true;
}

static void on_tick(loop_t *loop, void *opaque)
{
    samsa_consumer_t *c = opaque;
    pthread_mutex_lock(&c->lock);
    c->tick_timer = NULL;
    if (!c->stopped) {
        cluster_tick(&c->cluster, loop_now_ms(loop));
        io_work(c);
        c->tick_timer = loop_timer_add(loop, TICK_MS, on_tick, c);
    }
    pthread_mutex_unlock(&c->lock);
}

static void on_cluster_update(void *owner, samsa_err_t err)
{
    samsa_consumer_t *c = owner;
    pthread_mutex_lock(&c->lock);
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

static void on_conn_event(void *owner, conn_t *conn, bool up, samsa_err_t err, const char *reason)
{
    samsa_consumer_t *c = owner;
    pthread_mutex_lock(&c->lock);
    if (!up && conn == c->group.coordinator) {
        c->group.coordinator = NULL;
        c->group.coordinator_id = -1;
    }
    if (!up)
        cluster_want_refresh(&c->cluster);
    if (!up && conn_err_is_security(err)) {
        /* Retrying cannot help until the configuration changes: say so
         * (once per attempt, so at the reconnect backoff's pace). */
        cmsg_t *m = consumer_error_msg(NULL, -1, -1, err, "%s: %s", conn_name(conn), reason);
        if (m)
            consumer_queue_push(c, m);
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
}

static void *io_thread(void *opaque)
{
    samsa_consumer_t *c = opaque;
    loop_run(c->loop);
    return NULL;
}

static void on_start(void *opaque)
{
    samsa_consumer_t *c = opaque;
    pthread_mutex_lock(&c->lock);
    if (!c->tick_timer && !c->stopped)
        c->tick_timer = loop_timer_add(c->loop, 0, on_tick, c);
    pthread_mutex_unlock(&c->lock);
}

conn_t *consumer_coordinator_conn(samsa_consumer_t *c, int32_t node_id)
{
    for (int i = 0; i < c->coordinator_conn_count; i++)
        if (conn_node_id(c->coordinator_conns[i]) == node_id)
            return c->coordinator_conns[i];
    const cluster_broker_t *b = NULL;
    for (int i = 0; i < c->cluster.broker_count && !b; i++)
        if (c->cluster.brokers[i].node_id == node_id)
            b = &c->cluster.brokers[i];
    if (!b)
        return NULL;
    conn_t **grown = realloc(c->coordinator_conns,
                             sizeof(*grown) * (size_t)(c->coordinator_conn_count + 1));
    if (!grown)
        return NULL;
    c->coordinator_conns = grown;
    conn_t *conn = conn_new(c->loop, &c->cfg, node_id, b->host, b->port, on_conn_event, c);
    if (!conn)
        return NULL;
    conn_set_tls(conn, c->cluster.tls);
    c->coordinator_conns[c->coordinator_conn_count++] = conn;
    return conn;
}

static void destroy(samsa_consumer_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->stopped = true;
    /* pending requests fail now, with the lock held */
    for (int i = 0; i < c->coordinator_conn_count; i++)
        conn_free(c->coordinator_conns[i]);
    free(c->coordinator_conns);
    c->coordinator_conns = NULL;
    c->coordinator_conn_count = 0;
    c->group.coordinator = NULL;
    if (c->cluster.loop)
        cluster_free(&c->cluster);
    consumer_queue_drop(c, NULL);
    cevent_t *e;
    while ((e = c->events_head)) {
        c->events_head = e->next;
        samsa_partition_list_free(&e->list);
        free(e);
    }
    ccommit_t *cm;
    while ((cm = c->commits)) {
        c->commits = cm->next;
        samsa_partition_list_free(&cm->offsets);
        free(cm);
    }
    group_reset(c);
    for (int i = 0; i < c->part_count; i++) {
        free(c->parts[i]->topic);
        free(c->parts[i]);
    }
    free(c->parts);
    pthread_mutex_unlock(&c->lock);
    if (c->loop)
        loop_free(c->loop);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

SAMSA_API samsa_consumer_t *samsa_consumer_new_kv(const char *const *keys,
                                                  const char *const *values, size_t n,
                                                  const samsa_consumer_callbacks_t *callbacks,
                                                  char *errstr, size_t errlen)
{
    char scratch[1];
    if (!errstr) {
        errstr = scratch;
        errlen = sizeof(scratch);
    }
    client_config_t cfg;
    client_config_init_consumer(&cfg);
    for (size_t i = 0; i < n; i++)
        if (client_config_set(&cfg, keys[i], values[i], errstr, errlen))
            return NULL;
    if (client_config_finish(&cfg, errstr, errlen))
        return NULL;
    if (cfg.heartbeat_interval_ms >= cfg.session_timeout_ms) {
        snprintf(errstr, errlen, "heartbeat.interval.ms: %d must be below session.timeout.ms (%d)",
                 (int)cfg.heartbeat_interval_ms, (int)cfg.session_timeout_ms);
        return NULL;
    }
    samsa_consumer_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    if (callbacks)
        c->cb = *callbacks;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&c->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    c->group.coordinator_id = -1;
    c->group.generation = -1;
    c->group.last_poll_ms = clock_mono_ms();
    c->next_auto_commit_ms = clock_mono_ms() + cfg.auto_commit_interval_ms;
    c->loop = loop_new();
    if (!c->loop) {
        snprintf(errstr, errlen, "cannot create the event loop: %s", strerror(errno));
        destroy(c);
        return NULL;
    }
    if (cluster_init(&c->cluster, c->loop, &c->cfg, on_cluster_update, on_conn_event, c, errstr,
                     errlen)) {
        memset(&c->cluster, 0, sizeof(c->cluster));
        destroy(c);
        return NULL;
    }
    int rc = loop_post(c->loop, on_start, c);
    if (!rc)
        rc = pthread_create(&c->thread, NULL, io_thread, c);
    if (rc) {
        snprintf(errstr, errlen, "cannot start the consumer's I/O thread: %s",
                 rc > 0 ? strerror(rc) : "out of memory");
        destroy(c);
        return NULL;
    }
    c->thread_started = true;
    return c;
}

SAMSA_API samsa_consumer_t *samsa_consumer_new(samsa_conf_t *conf,
                                               const samsa_consumer_callbacks_t *callbacks,
                                               char *errstr, size_t errlen)
{
    const char **keys, **values;
    size_t n;
    if (conf_arrays(conf, &keys, &values, &n, errstr, errlen))
        return NULL;
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, n, callbacks, errstr, errlen);
    free(keys);
    free(values);
    if (c)
        samsa_conf_free(conf);
    return c;
}

/* ---- subscription and assignment -------------------------------------- */

SAMSA_API samsa_err_t samsa_consumer_subscribe(samsa_consumer_t *c, const char *const *topics,
                                               size_t n)
{
    if (!c || !topics || !n)
        return SAMSA_ERR__INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!topics[i] || !topics[i][0])
            return SAMSA_ERR__INVALID_ARG;
    if (!c->cfg.group_id[0])
        return SAMSA_ERR__INVALID_CONFIG;
    pthread_mutex_lock(&c->lock);
    samsa_err_t err = SAMSA_ERR__DESTROYED;
    if (c->closing)
        goto out;
    err = SAMSA_ERR__STATE;
    if (!c->subscribed) {
        for (int i = 0; i < c->part_count; i++)
            if (!c->parts[i]->removed)
                goto out;
    }
    err = group_subscribe(c, topics, n);
    if (err)
        goto out;
    c->subscribed = true;
    post_kick(c);
out:
    pthread_mutex_unlock(&c->lock);
    return err;
}

SAMSA_API samsa_err_t samsa_consumer_unsubscribe(samsa_consumer_t *c)
{
    if (!c)
        return SAMSA_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    samsa_err_t err = c->closing ? SAMSA_ERR__DESTROYED : SAMSA_ERR_NONE;
    if (!err && c->subscribed) {
        c->group.leave_wanted = true;
        c->subscribed = false;
        consumer_parts_remove(c, NULL, 0);
        post_kick(c);
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

SAMSA_API samsa_err_t samsa_consumer_assign(samsa_consumer_t *c,
                                            const samsa_partition_list_t *partitions)
{
    if (!c)
        return SAMSA_ERR__INVALID_ARG;
    size_t n = partitions ? partitions->count : 0;
    for (size_t i = 0; i < n; i++) {
        const samsa_topic_partition_t *tp = &partitions->items[i];
        if (!tp->topic || !tp->topic[0] || tp->partition < 0 || tp->offset < -3)
            return SAMSA_ERR__INVALID_ARG;
    }
    pthread_mutex_lock(&c->lock);
    samsa_err_t err = c->closing ? SAMSA_ERR__DESTROYED
                      : c->subscribed ? SAMSA_ERR__STATE
                                      : SAMSA_ERR_NONE;
    if (!err) {
        consumer_parts_remove(c, NULL, 0);
        for (size_t i = 0; i < n && !err; i++) {
            const samsa_topic_partition_t *tp = &partitions->items[i];
            int64_t off = tp->offset == -2 ? SAMSA_OFFSET_BEGINNING
                          : tp->offset == -3 ? SAMSA_OFFSET_END
                                             : tp->offset;
            if (!consumer_part_add(c, tp->topic, tp->partition, off))
                err = SAMSA_ERR__NOMEM;
        }
        post_kick(c);
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

SAMSA_API samsa_err_t samsa_consumer_assignment(samsa_consumer_t *c, samsa_partition_list_t *out)
{
    if (!c || !out)
        return SAMSA_ERR__INVALID_ARG;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    samsa_err_t err = SAMSA_ERR_NONE;
    out->items = calloc((size_t)c->part_count + 1, sizeof(*out->items));
    if (!out->items)
        err = SAMSA_ERR__NOMEM;
    for (int i = 0; !err && i < c->part_count; i++) {
        cpart_t *p = c->parts[i];
        if (p->removed)
            continue;
        samsa_topic_partition_t *tp = &out->items[out->count];
        tp->topic = strdup(p->topic);
        if (!tp->topic) {
            err = SAMSA_ERR__NOMEM;
            break;
        }
        tp->partition = p->partition;
        tp->offset = p->position;
        out->count++;
    }
    pthread_mutex_unlock(&c->lock);
    if (err)
        samsa_partition_list_free(out);
    return err;
}

/* ---- poll ------------------------------------------------------------ */

static struct timespec deadline_in(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Locked: the partitions of list are no longer assigned; the group may
 * go on with its rebalance. */
static void release_revoked(samsa_consumer_t *c, const samsa_partition_list_t *list)
{
    for (int i = 0; i < c->part_count; i++) {
        cpart_t *p = c->parts[i];
        for (size_t k = 0; !p->removed && k < list->count; k++)
            if (list->items[k].partition == p->partition && !strcmp(list->items[k].topic, p->topic)) {
                slog_debug("consumer", "released %s-%d at position %lld", p->topic,
                           (int)p->partition, (long long)p->position);
                consumer_queue_drop(c, p);
                p->removed = true;
                p->version++;
            }
    }
    c->group.revoking = false;
    post_kick(c);
}

/* Unlocked: runs the application's callback for e, then frees e. */
static void deliver_event(samsa_consumer_t *c, cevent_t *e)
{
    if (e->type == CEVENT_COMMIT) {
        if (c->cb.commit)
            c->cb.commit(c, e->err, &e->list, c->cb.opaque);
    } else if (c->cb.rebalance) {
        c->cb.rebalance(c, e->type == CEVENT_ASSIGNED, &e->list, c->cb.opaque);
    }
    if (e->type == CEVENT_REVOKED_RELEASE) {
        pthread_mutex_lock(&c->lock);
        release_revoked(c, &e->list);
        pthread_mutex_unlock(&c->lock);
    }
    samsa_partition_list_free(&e->list);
    free(e);
}

/* Locked: the first deliverable message, unlinked; stale ones are freed. */
static cmsg_t *queue_take(samsa_consumer_t *c)
{
    cmsg_t **link = &c->queue_head, *prev = NULL;
    while (*link) {
        cmsg_t *m = *link;
        cpart_t *p = m->part;
        bool stale = p && (p->removed || p->version != m->part_version);
        if (!stale && p && p->paused) {
            prev = m;
            link = &m->next;
            continue;
        }
        *link = m->next;
        if (c->queue_tail == m)
            c->queue_tail = prev;
        if (p && !stale && !m->pub.err)
            p->position = m->pub.offset + 1;
        msg_unqueued(c, m);
        if (stale) {
            samsa_message_free(&m->pub);
            continue;
        }
        m->next = NULL;
        m->part = NULL;
        return m;
    }
    return NULL;
}

SAMSA_API samsa_message_t *samsa_consumer_poll(samsa_consumer_t *c, int timeout_ms)
{
    if (!c)
        return NULL;
    struct timespec deadline = deadline_in(timeout_ms > 0 ? timeout_ms : 0);
    cmsg_t *m = NULL;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        c->group.last_poll_ms = clock_mono_ms();
        while (c->events_head) {
            cevent_t *e = c->events_head;
            c->events_head = e->next;
            if (!c->events_head)
                c->events_tail = NULL;
            pthread_mutex_unlock(&c->lock);
            deliver_event(c, e);
            pthread_mutex_lock(&c->lock);
        }
        size_t before = c->queued_bytes;
        m = queue_take(c);
        size_t limit = (size_t)c->cfg.queued_max_kbytes * 1024;
        if (before >= limit / 2 && c->queued_bytes < limit / 2)
            post_kick(c);
        if (m || timeout_ms == 0 || c->stopped)
            break;
        if (timeout_ms < 0)
            pthread_cond_wait(&c->cond, &c->lock);
        else if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
            timeout_ms = 0; /* one last look */
    }
    pthread_mutex_unlock(&c->lock);
    return m ? &m->pub : NULL;
}

/* ---- offsets --------------------------------------------------------- */

SAMSA_API samsa_err_t samsa_consumer_commit(samsa_consumer_t *c,
                                            const samsa_partition_list_t *offsets, int async)
{
    if (!c)
        return SAMSA_ERR__INVALID_ARG;
    if (!c->cfg.group_id[0])
        return SAMSA_ERR__INVALID_CONFIG;
    ccommit_t *cm = calloc(1, sizeof(*cm));
    if (!cm)
        return SAMSA_ERR__NOMEM;
    cm->sync = !async;
    pthread_mutex_lock(&c->lock);
    samsa_err_t err = SAMSA_ERR__NOMEM;
    bool ok = offsets ? partition_list_copy(&cm->offsets, offsets)
                      : consumer_positions(c, &cm->offsets);
    if (!ok)
        goto fail;
    err = c->closing && !c->thread_started ? SAMSA_ERR__DESTROYED : SAMSA_ERR_NONE;
    if (!err && !cm->offsets.count)
        err = SAMSA_ERR__STATE;
    if (err)
        goto fail;
    offsets_queue_commit(c, cm);
    post_kick(c);
    if (!cm->sync) {
        pthread_mutex_unlock(&c->lock);
        return SAMSA_ERR_NONE;
    }
    while (!cm->done && !c->stopped)
        pthread_cond_wait(&c->cond, &c->lock);
    if (!cm->done) {
        for (ccommit_t **l = &c->commits; *l; l = &(*l)->next)
            if (*l == cm) {
                *l = cm->next;
                break;
            }
        cm->err = SAMSA_ERR__DESTROYED;
    }
    pthread_mutex_unlock(&c->lock);
    err = cm->err;
    if (c->cb.commit)
        c->cb.commit(c, err, &cm->offsets, c->cb.opaque);
    samsa_partition_list_free(&cm->offsets);
    free(cm);
    return err;
fail:
    pthread_mutex_unlock(&c->lock);
    samsa_partition_list_free(&cm->offsets);
    free(cm);
    return err;
}

SAMSA_API samsa_err_t samsa_consumer_committed(samsa_consumer_t *c,
                                               samsa_partition_list_t *partitions, int timeout_ms)
{
    if (!c || !partitions)
        return SAMSA_ERR__INVALID_ARG;
    if (!c->cfg.group_id[0])
        return SAMSA_ERR__INVALID_CONFIG;
    cquery_t q = {.list = partitions, .done = false, .err = SAMSA_ERR_NONE};
    struct timespec deadline = deadline_in(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&c->lock);
    while (c->query && !c->stopped) /* one query at a time */
        if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT && timeout_ms >= 0)
            break;
    samsa_err_t err = SAMSA_ERR__TIMED_OUT;
    if (c->stopped || c->closing)
        err = SAMSA_ERR__DESTROYED;
    else if (!c->query) {
        q.seq = ++c->query_seq;
        c->query = &q;
        post_kick(c);
        while (!q.done && !c->stopped) {
            if (timeout_ms < 0)
                pthread_cond_wait(&c->cond, &c->lock);
            else if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
                break;
        }
        err = q.done ? q.err : SAMSA_ERR__TIMED_OUT;
        if (!q.done)
            c->query = NULL; /* the answer, if it comes, finds no query */
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

SAMSA_API samsa_err_t samsa_consumer_position(samsa_consumer_t *c,
                                              samsa_partition_list_t *partitions)
{
    if (!c || !partitions)
        return SAMSA_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < partitions->count; i++) {
        samsa_topic_partition_t *tp = &partitions->items[i];
        cpart_t *p = tp->topic ? consumer_part_find(c, tp->topic, tp->partition) : NULL;
        tp->offset = p ? p->position : -1;
        tp->err = p ? SAMSA_ERR_NONE : SAMSA_ERR__STATE;
    }
    pthread_mutex_unlock(&c->lock);
    return SAMSA_ERR_NONE;
}

static samsa_err_t seek(samsa_consumer_t *c, const char *topic, int32_t partition, int64_t offset,
                        int64_t lookup_ts)
{
    if (!c || !topic)
        return SAMSA_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    cpart_t *p = consumer_part_find(c, topic, partition);
    samsa_err_t err = p ? SAMSA_ERR_NONE : SAMSA_ERR__STATE;
    if (p) {
        consumer_queue_drop(c, p);
        part_start(p, offset);
        if (lookup_ts != -100) {
            p->state = CPART_NEED_LOOKUP;
            p->lookup_ts = lookup_ts;
        }
        post_kick(c);
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

SAMSA_API samsa_err_t samsa_consumer_seek(samsa_consumer_t *c, const char *topic,
                                          int32_t partition, int64_t offset)
{
    if (offset < SAMSA_OFFSET_END || offset == -1)
        return SAMSA_ERR__INVALID_ARG;
    return seek(c, topic, partition, offset, -100);
}

SAMSA_API samsa_err_t samsa_consumer_seek_timestamp(samsa_consumer_t *c, const char *topic,
                                                    int32_t partition, int64_t timestamp_ms)
{
    if (timestamp_ms < 0)
        return SAMSA_ERR__INVALID_ARG;
    return seek(c, topic, partition, SAMSA_OFFSET_END, timestamp_ms);
}

static samsa_err_t set_paused(samsa_consumer_t *c, samsa_partition_list_t *list, bool paused)
{
    if (!c || !list)
        return SAMSA_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < list->count; i++) {
        samsa_topic_partition_t *tp = &list->items[i];
        cpart_t *p = tp->topic ? consumer_part_find(c, tp->topic, tp->partition) : NULL;
        tp->err = p ? SAMSA_ERR_NONE : SAMSA_ERR__STATE;
        if (p)
            p->paused = paused;
    }
    post_kick(c);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return SAMSA_ERR_NONE;
}

SAMSA_API samsa_err_t samsa_consumer_pause(samsa_consumer_t *c, samsa_partition_list_t *partitions)
{
    return set_paused(c, partitions, true);
}

SAMSA_API samsa_err_t samsa_consumer_resume(samsa_consumer_t *c,
                                            samsa_partition_list_t *partitions)
{
    return set_paused(c, partitions, false);
}

/* ---- close ------------------------------------------------------------ */

static void on_post_leave(void *opaque)
{
    samsa_consumer_t *c = opaque;
    pthread_mutex_lock(&c->lock);
    if (group_leave(c)) {
        c->leave_done = true;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
}

SAMSA_API samsa_err_t samsa_consumer_close(samsa_consumer_t *c)
{
    if (!c || !c->thread_started)
        return SAMSA_ERR__STATE;
    samsa_err_t err = SAMSA_ERR_NONE;
    pthread_mutex_lock(&c->lock);
    bool commit = c->cfg.enable_auto_commit && c->cfg.group_id[0];
    pthread_mutex_unlock(&c->lock);
    if (commit) {
        samsa_commit_fn *saved = c->cb.commit;
        c->cb.commit = NULL;
        err = samsa_consumer_commit(c, NULL, 0);
        c->cb.commit = saved;
        if (err == SAMSA_ERR__STATE)
            err = SAMSA_ERR_NONE;
    }
    pthread_mutex_lock(&c->lock);
    c->closing = true;
    c->subscribed = false;
    consumer_parts_remove(c, NULL, 0);
    struct timespec deadline = deadline_in(c->cfg.request_timeout_ms);
    if (loop_post(c->loop, on_post_leave, c) == SAMSA_ERR_NONE)
        while (!c->leave_done)
            if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
                break;
    pthread_mutex_unlock(&c->lock);
    loop_stop(c->loop);
    pthread_join(c->thread, NULL);
    c->thread_started = false;
    pthread_mutex_lock(&c->lock);
    c->stopped = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return err;
}

SAMSA_API void samsa_consumer_free(samsa_consumer_t *c)
{
    if (!c)
        return;
    if (c->thread_started)
        samsa_consumer_close(c);
    destroy(c);
}
