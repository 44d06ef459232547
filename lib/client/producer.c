/*
 * producer.c: the public producer API (samsa_producer_* in samsa.h): the
 * handle and its I/O thread, produce() with the queue limits, delivery
 * reports served by poll(), flush() and close().
 *
 * Threads: application threads only touch the fields marked "lock" in
 * producer_int.h, under p->lock; they hand messages to the I/O thread by
 * appending to p->input and posting one drain to the loop. The I/O thread
 * hands finished messages back through p->reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/conf.h"
#include "client/producer_int.h"

#define RECORD_OVERHEAD_BYTES 64 /* a record's framing beside key, value and headers, at most */
#define PREFETCH_AHEAD 8         /* messages of a delivered run that poll() loads ahead */

static void *io_thread(void *opaque)
{
    samsa_producer_t *p = opaque;
    loop_run(p->loop);
    return NULL;
}

/* Producers alive in the process: freeing the last one empties the
 * freeing thread's cache of message blocks (see pmsg_free). */
static long live_producers;

static void destroy(samsa_producer_t *p)
{
    if (p->loop)
        loop_free(p->loop); /* runs work still posted, which may take p->lock */
    pmsg_t *m;
    while ((m = pmsg_queue_pop(&p->input)))
        pmsg_free(m);
    while ((m = pmsg_queue_pop(&p->reports))) {
        if (m->run_count)
            free(m->run_msgs);
        pmsg_free(m);
    }
    pthread_cond_destroy(&p->report_cond);
    pthread_cond_destroy(&p->space_cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
    if (__atomic_sub_fetch(&live_producers, 1, __ATOMIC_ACQ_REL) == 0)
        pmsg_cache_drop();
}

SAMSA_API samsa_producer_t *samsa_producer_new(samsa_conf_t *conf,
                                               const samsa_producer_callbacks_t *callbacks,
                                               char *errstr, size_t errlen)
{
    const char **keys, **values;
    size_t n;
    if (conf_arrays(conf, &keys, &values, &n, errstr, errlen))
        return NULL;
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, n, callbacks, errstr, errlen);
    free(keys);
    free(values);
    if (p)
        samsa_conf_free(conf);
    return p;
}

SAMSA_API samsa_producer_t *samsa_producer_new_kv(const char *const *keys,
                                                  const char *const *values, size_t n,
                                                  const samsa_producer_callbacks_t *callbacks,
                                                  char *errstr, size_t errlen)
{
    char scratch[1];
    if (!errstr) {
        errstr = scratch;
        errlen = sizeof(scratch);
    }
    client_config_t cfg;
    client_config_init(&cfg);
    for (size_t i = 0; i < n; i++)
        if (client_config_set(&cfg, keys[i], values[i], errstr, errlen))
            return NULL;
    if (client_config_finish(&cfg, errstr, errlen))
        return NULL;
    samsa_producer_t *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    __atomic_add_fetch(&live_producers, 1, __ATOMIC_ACQ_REL);
    p->cfg = cfg;
    if (callbacks)
        p->cb = *callbacks;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->report_cond, &ca);
    pthread_cond_init(&p->space_cond, &ca);
    pthread_condattr_destroy(&ca);
    p->loop = loop_new();
    if (!p->loop) {
        snprintf(errstr, errlen, "cannot create the event loop: %s", strerror(errno));
        destroy(p);
        return NULL;
    }
    if (producer_io_init(p, errstr, errlen)) {
        destroy(p);
        return NULL;
    }
    int rc = loop_post(p->loop, producer_io_drain, p);
    if (!rc)
        rc = pthread_create(&p->thread, NULL, io_thread, p);
    if (rc) {
        snprintf(errstr, errlen, "cannot start the producer's I/O thread: %s",
                 rc > 0 ? strerror(rc) : "out of memory");
        producer_io_shutdown(p);
        destroy(p);
        return NULL;
    }
    p->thread_started = true;
    return p;
}

/* Absolute CLOCK_MONOTONIC time timeout_ms from now. */
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

bool producer_queue_has_room(const samsa_producer_t *p, size_t bytes)
{
    return p->outstanding_msgs < (size_t)p->cfg.queue_max_messages &&
           p->outstanding_bytes + bytes <= (size_t)p->cfg.buffer_memory_bytes;
}

samsa_err_t producer_input_push(samsa_producer_t *p, pmsg_t *m)
{
    if (!p->input_posted) {
        samsa_err_t err = loop_post(p->loop, producer_io_drain, p);
        if (err)
            return err;
        p->input_posted = true;
    }
    if (p->hint && !strcmp(m->topic, p->hint_name))
        m->topic_hint = p->hint;
    pmsg_queue_push(&p->input, m);
    p->outstanding_msgs++;
    p->outstanding_bytes += m->bytes;
    return SAMSA_ERR_NONE;
}

/* Copies the message into one allocation (key and value only unless
 * lent). Every field is set here (no zeroing of the copy); enqueued_ms, and
 * timestamp_ms when the caller gave none, are stamped by the I/O thread
 * when it takes the message (one clock read for all it takes at once).
 * Returns NULL when memory runs out. */
pmsg_t *producer_msg_new(const samsa_produce_args_t *a, size_t headers_bytes, size_t topic_len)
{
    bool lend = (a->flags & SAMSA_MSG_F_LEND) != 0;
    size_t size = sizeof(pmsg_t) + a->header_count * sizeof(record_header_t) + headers_bytes +
                  topic_len + 1 + (lend ? 0 : a->key_len + a->value_len);
    uint8_t block_class;
    pmsg_t *m = pmsg_alloc(size, &block_class);
    if (!m)
        return NULL;
    m->block_class = block_class;
    uint8_t *pos = (uint8_t *)(m + 1);
    m->next = NULL;
    m->headers = a->header_count ? (record_header_t *)pos : NULL;
    m->header_count = a->header_count;
    pos += a->header_count * sizeof(record_header_t);
    for (size_t i = 0; i < a->header_count; i++) {
        const samsa_header_t *h = &a->headers[i];
        size_t nl = strlen(h->name);
        memcpy(pos, h->name, nl);
        m->headers[i].name = (const char *)pos;
        m->headers[i].name_len = nl;
        pos += nl;
        m->headers[i].value = NULL;
        m->headers[i].value_len = 0;
        if (h->value) {
            if (h->value_len)
                memcpy(pos, h->value, h->value_len);
            m->headers[i].value = pos;
            m->headers[i].value_len = h->value_len;
            pos += h->value_len;
        }
    }
    m->topic = (char *)pos;
    memcpy(pos, a->topic, topic_len + 1);
    pos += topic_len + 1;
    m->key = NULL;
    m->value = NULL;
    if (lend) {
        m->key = a->key;
        m->value = a->value;
    } else {
        if (a->key) {
            if (a->key_len)
                memcpy(pos, a->key, a->key_len);
            m->key = pos;
            pos += a->key_len;
        }
        if (a->value) {
            if (a->value_len)
                memcpy(pos, a->value, a->value_len);
            m->value = pos;
        }
    }
    m->key_len = a->key_len;
    m->value_len = a->value_len;
    m->partition = a->partition;
    m->timestamp_ms = a->timestamp_ms;
    m->enqueued_ms = 0;
    m->bytes = size + (lend ? a->key_len + a->value_len : 0);
    m->opaque = a->msg_opaque;
    m->run_count = 0;
    m->topic_hint = NULL;
    m->offset = -1;
    m->result_timestamp_ms = -1;
    m->err = SAMSA_ERR_NONE;
    m->errstr = NULL;
    return m;
}

SAMSA_API samsa_err_t samsa_producer_produce(samsa_producer_t *p, const samsa_produce_args_t *a)
{
    if (!p || !a || !a->topic || !a->topic[0] || a->partition < -1 ||
        (!a->key && a->key_len) || (!a->value && a->value_len) || (!a->headers && a->header_count))
        return SAMSA_ERR__INVALID_ARG;
    size_t headers_bytes = 0;
    for (size_t i = 0; i < a->header_count; i++) {
        if (!a->headers[i].name || (!a->headers[i].value && a->headers[i].value_len))
            return SAMSA_ERR__INVALID_ARG;
        headers_bytes += strlen(a->headers[i].name) + a->headers[i].value_len;
    }
    size_t topic_len = strlen(a->topic);
    if (topic_len > PRODUCER_TOPIC_MAX_BYTES)
        return SAMSA_ERR__INVALID_ARG;
    size_t record = a->key_len + a->value_len + headers_bytes +
                    a->header_count * 10 + RECORD_OVERHEAD_BYTES + BATCH_HEADER_BYTES;
    if (record > (size_t)p->cfg.max_request_bytes - 200 || a->key_len > INT32_MAX ||
        a->value_len > INT32_MAX)
        return SAMSA_ERR__MSG_TOO_LARGE;
    pmsg_t *m = producer_msg_new(a, headers_bytes, topic_len);
    if (!m)
        return SAMSA_ERR__NOMEM;
    samsa_err_t err = SAMSA_ERR_NONE;
    struct timespec deadline = {0, 0};
    bool waited = false;
    pthread_mutex_lock(&p->lock);
    while (!p->closed && !producer_queue_has_room(p, m->bytes)) {
        if (!waited) /* the clock is read only when the queue is full */
            deadline = deadline_in(p->cfg.max_block_ms);
        waited = true;
        if (p->cfg.queue_full_behavior == CLIENT_QUEUE_FULL_ERROR ||
            pthread_cond_timedwait(&p->space_cond, &p->lock, &deadline) == ETIMEDOUT) {
            err = SAMSA_ERR__QUEUE_FULL;
            goto out;
        }
    }
    if (p->closed) {
        err = SAMSA_ERR__DESTROYED;
        goto out;
    }
    if ((err = producer_input_push(p, m)) == SAMSA_ERR_NONE)
        m = NULL;
out:
    pthread_mutex_unlock(&p->lock);
    pmsg_free(m);
    return err;
}

SAMSA_API samsa_err_t samsa_producer_send(samsa_producer_t *p, const char *topic,
                                          int32_t partition, const void *key, size_t key_len,
                                          const void *value, size_t value_len,
                                          const samsa_header_t *headers, size_t header_count,
                                          int64_t timestamp_ms, int flags, void *msg_opaque)
{
    samsa_produce_args_t a = {topic, partition, key, key_len, value, value_len,
                              headers, header_count, timestamp_ms, flags, msg_opaque};
    return samsa_producer_produce(p, &a);
}

/* Starts loading the part of m that poll() reads into the cache. */
static inline void prefetch_msg(const pmsg_t *m)
{
    const char *c = (const char *)m;
    for (size_t off = 0; off < sizeof(*m); off += 64)
        __builtin_prefetch(c + off);
}

SAMSA_API int samsa_producer_poll(samsa_producer_t *p, int timeout_ms)
{
    if (!p)
        return 0;
    struct timespec deadline = {0, 0};
    if (timeout_ms > 0) /* no clock read for the common poll(0) */
        deadline = deadline_in(timeout_ms);
    pthread_mutex_lock(&p->lock);
    while (!p->reports.head && timeout_ms != 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&p->report_cond, &p->lock);
        else if (pthread_cond_timedwait(&p->report_cond, &p->lock, &deadline) == ETIMEDOUT)
            break;
    }
    pmsg_queue_t batch = p->reports;
    memset(&p->reports, 0, sizeof(p->reports));
    pthread_mutex_unlock(&p->lock);
    int served = 0;
    uint32_t run_left = 0; /* messages left in the current delivered run */
    int64_t run_offset = -1, run_append_ms = -1;
    pmsg_t **run = NULL; /* the run's messages, when the I/O thread gave them */
    uint32_t run_index = 0;
    for (pmsg_t *m = batch.head, *next; m; m = next, served++) {
        next = m->next;
        if (m->run_count) {
            free(run);
            run = m->run_msgs;
            run_index = 0;
            run_left = m->run_count;
            run_offset = m->offset;
            run_append_ms = m->result_timestamp_ms;
            for (uint32_t i = 1; run && i < PREFETCH_AHEAD && i < run_left; i++)
                prefetch_msg(run[i]);
        }
        /* A run's messages lie apart in memory, long out of the cache:
         * loading them ahead lets their misses overlap. */
        if (run && run_left > PREFETCH_AHEAD)
            prefetch_msg(run[run_index + PREFETCH_AHEAD]);
        run_index++;
        samsa_err_t err = m->err;
        int64_t offset = -1, timestamp_ms = m->timestamp_ms;
        if (run_left) {
            run_left--;
            err = SAMSA_ERR_NONE;
            offset = run_offset >= 0 ? run_offset++ : -1;
            if (run_append_ms >= 0)
                timestamp_ms = run_append_ms;
        }
        if (!p->cb.delivery_report) {
            pmsg_free(m);
            continue;
        }
        samsa_delivery_report_t r = {
            .topic = m->topic,
            .partition = m->partition,
            .offset = offset,
            .timestamp_ms = timestamp_ms,
            .err = err,
            .errstr = err ? (m->errstr ? m->errstr : samsa_err_str(err)) : "",
            .key = m->key,
            .key_len = m->key_len,
            .value = m->value,
            .value_len = m->value_len,
            .msg_opaque = m->opaque,
        };
        p->cb.delivery_report(p, &r, p->cb.opaque);
        pmsg_free(m);
    }
    free(run);
    pthread_mutex_lock(&p->lock);
    p->outstanding_msgs -= batch.count;
    p->outstanding_bytes -= batch.bytes;
    pthread_cond_broadcast(&p->space_cond);
    pthread_mutex_unlock(&p->lock);
    return served;
}

SAMSA_API size_t samsa_producer_outstanding(samsa_producer_t *p)
{
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    size_t n = p->outstanding_msgs;
    pthread_mutex_unlock(&p->lock);
    return n;
}

SAMSA_API samsa_err_t samsa_producer_flush(samsa_producer_t *p, int timeout_ms)
{
    if (!p)
        return SAMSA_ERR__INVALID_ARG;
    int64_t deadline = clock_mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&p->lock);
    p->flush_requests++;
    bool post = !p->closed && !p->input_posted;
    if (post && loop_post(p->loop, producer_io_drain, p) == SAMSA_ERR_NONE)
        p->input_posted = true;
    pthread_mutex_unlock(&p->lock);
    samsa_err_t err = SAMSA_ERR_NONE;
    for (;;) {
        samsa_producer_poll(p, 0);
        if (samsa_producer_outstanding(p) == 0)
            break;
        int64_t left = deadline - clock_mono_ms();
        if (timeout_ms >= 0 && left <= 0) {
            err = SAMSA_ERR__TIMED_OUT;
            break;
        }
        samsa_producer_poll(p, timeout_ms < 0 || left > 100 ? 100 : (int)left);
    }
    pthread_mutex_lock(&p->lock);
    p->flush_requests--;
    pthread_mutex_unlock(&p->lock);
    return err;
}

SAMSA_API samsa_err_t samsa_producer_close(samsa_producer_t *p, int timeout_ms)
{
    if (!p || !p->thread_started)
        return SAMSA_ERR__STATE;
    samsa_err_t err = samsa_producer_flush(p, timeout_ms);
    pthread_mutex_lock(&p->lock);
    p->closed = true;
    pthread_mutex_unlock(&p->lock);
    loop_stop(p->loop);
    pthread_join(p->thread, NULL);
    p->thread_started = false;
    producer_io_shutdown(p);
    while (samsa_producer_poll(p, 0) > 0)
        ;
    return err;
}

SAMSA_API void samsa_producer_free(samsa_producer_t *p)
{
    if (!p)
        return;
    if (p->thread_started)
        samsa_producer_close(p, 0);
    destroy(p);
}
