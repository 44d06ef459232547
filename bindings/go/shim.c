/*
 * shim.c: the C side of the Go binding (see shim.h): the delivery report
 * collector and the trampolines from libsamsa's callbacks to Go.
 */
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

samsa_go_reports_t *samsa_go_reports_new(void)
{
    samsa_go_reports_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

void samsa_go_report_batch_free(samsa_go_report_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].errstr);
    free(items);
}

void samsa_go_reports_free(samsa_go_reports_t *r)
{
    if (!r)
        return;
    samsa_go_report_batch_free(r->items, r->count);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

size_t samsa_go_reports_take(samsa_go_reports_t *r, samsa_go_report_t **items, size_t *lost)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->count;
    *items = r->items;
    *lost = r->lost;
    r->items = NULL;
    r->count = r->cap = r->lost = 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void collect(samsa_producer_t *p, const samsa_delivery_report_t *rep, void *opaque)
{
    samsa_go_reports_t *r = opaque;
    char *errstr = NULL;
    if (rep->err && !(errstr = strdup(rep->errstr ? rep->errstr : ""))) {
        pthread_mutex_lock(&r->lock);
        r->lost++;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    pthread_mutex_lock(&r->lock);
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        samsa_go_report_t *items = realloc(r->items, cap * sizeof(*items));
        if (!items) {
            r->lost++;
            pthread_mutex_unlock(&r->lock);
            free(errstr);
            return;
        }
        r->items = items;
        r->cap = cap;
    }
    r->items[r->count++] = (samsa_go_report_t){
        .id = (uint64_t)(uintptr_t)rep->msg_opaque,
        .partition = rep->partition,
        .err = rep->err,
        .offset = rep->offset,
        .timestamp_ms = rep->timestamp_ms,
        .errstr = errstr,
    };
    pthread_mutex_unlock(&r->lock);
}

samsa_producer_t *samsa_go_producer_new(const char *const *keys, const char *const *values,
                                        size_t n, samsa_go_reports_t *collector, char *errstr,
                                        size_t errlen)
{
    samsa_producer_callbacks_t cb = {.delivery_report = collect, .opaque = collector};
    return samsa_producer_new_kv(keys, values, n, &cb, errstr, errlen);
}

samsa_err_t samsa_go_send(samsa_producer_t *p, const char *topic, int32_t partition,
                          const void *key, size_t key_len, const void *value, size_t value_len,
                          const samsa_header_t *headers, size_t header_count,
                          int64_t timestamp_ms, uint64_t id)
{
    return samsa_producer_send(p, topic, partition, key, key_len, value, value_len, headers,
                               header_count, timestamp_ms, 0, (void *)(uintptr_t)id);
}

static void on_rebalance(samsa_consumer_t *c, int assigned, const samsa_partition_list_t *parts,
                         void *opaque)
{
    samsaGoRebalance((uintptr_t)opaque, assigned, (samsa_partition_list_t *)parts);
}

static void on_commit(samsa_consumer_t *c, samsa_err_t err, const samsa_partition_list_t *offsets,
                      void *opaque)
{
    samsaGoCommit((uintptr_t)opaque, err, (samsa_partition_list_t *)offsets);
}

samsa_consumer_t *samsa_go_consumer_new(const char *const *keys, const char *const *values,
                                        size_t n, int rebalance, int commit, uintptr_t handle,
                                        char *errstr, size_t errlen)
{
    samsa_consumer_callbacks_t cb = {
        .rebalance = rebalance ? on_rebalance : NULL,
        .commit = commit ? on_commit : NULL,
        .opaque = (void *)handle,
    };
    return samsa_consumer_new_kv(keys, values, n, &cb, errstr, errlen);
}

int samsa_go_poll(samsa_consumer_t *c, int timeout_ms, void *buf, size_t buflen,
                  samsa_go_msg_t *out, samsa_message_t **msg)
{
    samsa_message_t *m = samsa_consumer_poll(c, timeout_ms);
    *msg = m;
    if (!m || m->err || m->header_count || !m->topic)
        return 0;
    size_t tl = strlen(m->topic);
    if (tl > UINT32_MAX || tl > buflen || m->key_len > buflen - tl ||
        m->value_len > buflen - tl - m->key_len)
        return 0;
    unsigned char *p = buf;
    memcpy(p, m->topic, tl);
    if (m->key_len)
        memcpy(p + tl, m->key, m->key_len);
    if (m->value_len)
        memcpy(p + tl + m->key_len, m->value, m->value_len);
    *out = (samsa_go_msg_t){
        .partition = m->partition,
        .leader_epoch = m->leader_epoch,
        .offset = m->offset,
        .timestamp_ms = m->timestamp_ms,
        .key_len = m->key ? (int64_t)m->key_len : -1,
        .value_len = m->value ? (int64_t)m->value_len : -1,
        .timestamp_type = m->timestamp_type,
        .topic_len = (uint32_t)tl,
    };
    samsa_message_free(m);
    *msg = NULL;
    return 1;
}

char **samsa_go_strings_new(size_t n)
{
    return calloc(n ? n : 1, sizeof(char *));
}

void samsa_go_strings_free(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void *samsa_go_calloc(size_t n, size_t size)
{
    return n ? calloc(n, size) : NULL;
}
