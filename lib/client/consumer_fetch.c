/*
 * consumer_fetch.c: the consumer's fetcher (see consumer_int.h). For the
 * assigned partitions it finds where to start (the group's committed
 * offset, else auto.offset.reset through ListOffsets; seeks to the
 * beginning, end or a timestamp the same way), then sends one Fetch per
 * leader with every ready partition it leads, while fewer than
 * queued.max.messages.kbytes are waiting for poll. A partition's records
 * are copied once into a shared chunk; messages point into it (or into a
 * compressed batch's decompressed records) and hold a reference.
 *
 * Runs on the I/O thread with c->lock held.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/slog.h"
#include "client/consumer_int.h"
#include "proto/batch.h"
#include "proto/messages.h"

#define FETCH_MAX_VERSION 12       /* v13 names topics by id */
#define LIST_OFFSETS_MAX_VERSION 7 /* later versions add nothing the consumer uses */

/* A request's partitions with the version each had when it was sent. */
typedef struct preq_part {
    cpart_t *part;
    uint32_t version;
    int64_t offset;
} preq_part_t;

typedef struct preq {
    samsa_consumer_t *c;
    int32_t node_id;
    int count;
    preq_part_t parts[];
} preq_t;

/* The mark of p's fetch (fetch) or offset lookup in flight. */
static bool *in_flight_mark(cpart_t *p, bool fetch)
{
    return fetch ? &p->fetch_in_flight : &p->lookup_in_flight;
}

/* Sets the in-flight mark of each of r's partitions to on. */
static void mark_in_flight(preq_t *r, bool fetch, bool on)
{
    for (int k = 0; k < r->count; k++)
        *in_flight_mark(r->parts[k].part, fetch) = on;
}

void cchunk_release(cchunk_t *ch)
{
    if (!ch || __atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (ch->data != ch->inline_data)
        free(ch->data);
    free(ch);
}

static void cchunk_ref(cchunk_t *ch)
{
    if (ch)
        __atomic_add_fetch(&ch->refs, 1, __ATOMIC_RELAXED);
}

static bool leader_error(int16_t e)
{
    return e == SAMSA_ERR_NOT_LEADER_OR_FOLLOWER || e == SAMSA_ERR_LEADER_NOT_AVAILABLE ||
           e == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION || e == SAMSA_ERR_FENCED_LEADER_EPOCH ||
           e == SAMSA_ERR_UNKNOWN_LEADER_EPOCH || e == SAMSA_ERR_KAFKA_STORAGE_ERROR ||
           e == SAMSA_ERR_REPLICA_NOT_AVAILABLE || e == SAMSA_ERR_OFFSET_NOT_AVAILABLE ||
           e == SAMSA_ERR_UNKNOWN_TOPIC_ID || e == SAMSA_ERR_NOT_COORDINATOR;
}

static int8_t c_isolation(const samsa_consumer_t *c) { return c->cfg.read_committed ? 1 : 0; }

static void report(samsa_consumer_t *c, cmsg_t *m)
{
    if (m)
        consumer_queue_push(c, m);
}

/* Where auto.offset.reset sends p; with "none" p fails with err. */
static void part_reset(samsa_consumer_t *c, cpart_t *p, samsa_err_t err, const char *why)
{
    if (c->cfg.auto_offset_reset == CLIENT_RESET_NONE) {
        p->state = CPART_FAILED;
        report(c, consumer_error_msg(p->topic, p->partition, p->fetch_offset, err,
                                     "%s [%d]: %s and auto.offset.reset is none", p->topic,
                                     (int)p->partition, why));
        return;
    }
    p->state = CPART_NEED_LOOKUP;
    p->lookup_ts = c->cfg.auto_offset_reset == CLIENT_RESET_EARLIEST ? CPART_TS_EARLIEST
                                                                      : CPART_TS_LATEST;
}

static void part_backoff(samsa_consumer_t *c, cpart_t *p)
{
    p->retry_at_ms = loop_now_ms(c->loop) + c->cfg.retry_backoff_ms;
}

/* The leader of p when metadata knows it, else -1 (a refresh is asked). */
static int32_t part_leader(samsa_consumer_t *c, cpart_t *p)
{
    cluster_topic_t *ct = cluster_topic(&c->cluster, p->topic);
    if (!ct || !ct->known || p->partition >= ct->partition_count ||
        ct->partitions[p->partition].leader_id < 0) {
        if (ct && ct->known && ct->error && ct->error != SAMSA_ERR_LEADER_NOT_AVAILABLE &&
            ct->error != SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
            p->state = CPART_FAILED;
            report(c, consumer_error_msg(p->topic, p->partition, -1, ct->error,
                                         "%s [%d]: metadata error %s", p->topic,
                                         (int)p->partition, samsa_err_name(ct->error)));
            return -1;
        }
        cluster_want_refresh(&c->cluster);
        return -1;
    }
    p->leader_epoch = ct->partitions[p->partition].leader_epoch;
    return ct->partitions[p->partition].leader_id;
}

static preq_t *preq_new(samsa_consumer_t *c, int32_t node_id, int cap)
{
    preq_t *r = calloc(1, sizeof(*r) + sizeof(preq_part_t) * (size_t)cap);
    if (r) {
        r->c = c;
        r->node_id = node_id;
    }
    return r;
}

/* The entry of r for topic/partition whose part is still current, or NULL. */
static preq_part_t *preq_find(preq_t *r, const proto_str_t *topic, int32_t partition)
{
    for (int i = 0; i < r->count; i++) {
        cpart_t *p = r->parts[i].part;
        if (p->partition == partition && (size_t)topic->len == strlen(p->topic) &&
            !memcmp(topic->ptr, p->topic, (size_t)topic->len))
            return &r->parts[i];
    }
    return NULL;
}

static bool preq_current(const preq_part_t *e)
{
    return !e->part->removed && e->part->version == e->version;
}

/* Groups r's partitions by topic into an array of topic structs made with
 * make_topic; shared by the Fetch and ListOffsets encoders. */
static int count_topics(const preq_t *r)
{
    int n = 0;
    for (int i = 0; i < r->count; i++)
        if (i == 0 || strcmp(r->parts[i].part->topic, r->parts[i - 1].part->topic))
            n++;
    return n;
}

static int cmp_preq_part(const void *a, const void *b)
{
    const preq_part_t *x = a, *y = b;
    return strcmp(x->part->topic, y->part->topic);
}

/* ---- ListOffsets ------------------------------------------------------- */

static samsa_err_t encode_list_offsets(void *opaque, int16_t version, buf_t *out)
{
    preq_t *r = opaque;
    int nt = count_topics(r);
    list_offsets_request_list_offsets_topic_t *topics = calloc((size_t)nt, sizeof(*topics));
    list_offsets_request_list_offsets_partition_t *parts =
        calloc((size_t)r->count, sizeof(*parts));
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!topics || !parts)
        goto out;
    int t = -1;
    for (int i = 0; i < r->count; i++) {
        cpart_t *p = r->parts[i].part;
        if (i == 0 || strcmp(p->topic, r->parts[i - 1].part->topic)) {
            t++;
            topics[t].name = (proto_str_t){p->topic, (int32_t)strlen(p->topic)};
            topics[t].partitions = &parts[i];
        }
        topics[t].partitions_count++;
        parts[i].partition_index = p->partition;
        parts[i].current_leader_epoch = -1;
        parts[i].timestamp = r->parts[i].offset;
    }
    list_offsets_request_t req;
    proto_init(&list_offsets_request_desc, &req);
    req.replica_id = -1;
    req.isolation_level = c_isolation(r->c);
    req.topics = topics;
    req.topics_count = nt;
    const proto_api_t *api = proto_api(API_LIST_OFFSETS);
    err = proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
out:
    free(topics);
    free(parts);
    return err;
}

static void on_list_offsets(void *opaque, conn_t *conn, samsa_err_t err, int16_t version,
                            const void *resp_)
{
    preq_t *r = opaque;
    samsa_consumer_t *c = r->c;
    const list_offsets_response_t *resp = resp_;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < r->count; i++)
        r->parts[i].part->lookup_in_flight = false;
    for (int32_t t = 0; !err && t < resp->topics_count; t++) {
        const list_offsets_response_list_offsets_topic_response_t *tr = &resp->topics[t];
        for (int32_t k = 0; k < tr->partitions_count; k++) {
            const list_offsets_response_list_offsets_partition_response_t *pr =
                &tr->partitions[k];
            preq_part_t *e = preq_find(r, &tr->name, pr->partition_index);
            if (!e || !preq_current(e) || e->part->state != CPART_NEED_LOOKUP)
                continue;
            cpart_t *p = e->part;
            if (pr->error_code) {
                if (leader_error(pr->error_code))
                    cluster_want_refresh(&c->cluster);
                else
                    report(c, consumer_error_msg(p->topic, p->partition, -1, pr->error_code,
                                                 "%s [%d]: ListOffsets at %s: %s", p->topic,
                                                 (int)p->partition, conn_name(conn),
                                                 samsa_err_str(pr->error_code)));
                part_backoff(c, p);
                continue;
            }
            if (pr->offset < 0) { /* no message at or after the timestamp: the end */
                p->lookup_ts = CPART_TS_LATEST;
                continue;
            }
            p->state = CPART_READY;
            p->fetch_offset = p->position = pr->offset;
        }
    }
    if (err) {
        cluster_want_refresh(&c->cluster);
        for (int i = 0; i < r->count; i++)
            part_backoff(c, r->parts[i].part);
    }
    consumer_kick(c);
    pthread_mutex_unlock(&c->lock);
    free(r);
}

/* ---- Fetch ------------------------------------------------------------- */

static samsa_err_t encode_fetch(void *opaque, int16_t version, buf_t *out)
{
    preq_t *r = opaque;
    samsa_consumer_t *c = r->c;
    int nt = count_topics(r);
    fetch_request_fetch_topic_t *topics = calloc((size_t)nt, sizeof(*topics));
    fetch_request_fetch_partition_t *parts = calloc((size_t)r->count, sizeof(*parts));
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!topics || !parts)
        goto out;
    int t = -1;
    for (int i = 0; i < r->count; i++) {
        cpart_t *p = r->parts[i].part;
        if (i == 0 || strcmp(p->topic, r->parts[i - 1].part->topic)) {
            t++;
            topics[t].topic = (proto_str_t){p->topic, (int32_t)strlen(p->topic)};
            topics[t].partitions = &parts[i];
        }
        topics[t].partitions_count++;
        parts[i].partition = p->partition;
        parts[i].current_leader_epoch = -1;
        parts[i].fetch_offset = r->parts[i].offset;
        parts[i].last_fetched_epoch = -1;
        parts[i].log_start_offset = -1;
        parts[i].partition_max_bytes = c->cfg.max_partition_fetch_bytes;
    }
    fetch_request_t req;
    proto_init(&fetch_request_desc, &req);
    req.replica_id = -1;
    req.max_wait_ms = c->cfg.fetch_max_wait_ms;
    req.min_bytes = c->cfg.fetch_min_bytes;
    req.max_bytes = c->cfg.fetch_max_bytes;
    req.isolation_level = c_isolation(c);
    req.session_id = 0;
    req.session_epoch = -1; /* no fetch session: every request is a full one */
    req.topics = topics;
    req.topics_count = nt;
    req.forgotten_topics_data_count = 0;
    const proto_api_t *api = proto_api(API_FETCH);
    err = proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
out:
    free(topics);
    free(parts);
    return err;
}

/* One message for record rec of batch b of part e. NULL when memory runs
 * out. */
static cmsg_t *make_msg(const cpart_t *p, uint32_t version, const batch_t *b, const record_t *rec,
                        cchunk_t *chunk, cchunk_t *chunk2)
{
    size_t names = 0;
    record_header_iter_t hi = record_header_iter(rec);
    record_header_t h;
    while (record_header_next(&hi, &h))
        names += h.name_len + 1;
    size_t tl = strlen(p->topic) + 1;
    cmsg_t *m = calloc(1, sizeof(*m) + sizeof(samsa_header_t) * rec->header_count + names + tl);
    if (!m)
        return NULL;
    samsa_header_t *hdrs = (samsa_header_t *)(m + 1);
    char *pos = (char *)(hdrs + rec->header_count);
    hi = record_header_iter(rec);
    size_t n = 0;
    while (record_header_next(&hi, &h)) {
        memcpy(pos, h.name, h.name_len);
        pos[h.name_len] = '\0';
        hdrs[n].name = pos;
        hdrs[n].value = h.value;
        hdrs[n].value_len = h.value_len;
        pos += h.name_len + 1;
        n++;
    }
    memcpy(pos, p->topic, tl);
    m->pub.topic = pos;
    m->pub.partition = p->partition;
    m->pub.offset = rec->offset;
    m->pub.timestamp_ms = rec->timestamp_ms;
    m->pub.timestamp_type = (b->header.attributes & BATCH_ATTR_LOG_APPEND_TIME)
                                ? SAMSA_TIMESTAMP_LOG_APPEND_TIME
                                : SAMSA_TIMESTAMP_CREATE_TIME;
    m->pub.key = rec->key;
    m->pub.key_len = rec->key_len;
    m->pub.value = rec->value;
    m->pub.value_len = rec->value_len;
    m->pub.headers = n ? hdrs : NULL;
    m->pub.header_count = n;
    m->pub.leader_epoch = b->header.partition_leader_epoch;
    m->pub.errstr = "";
    m->part = (cpart_t *)p;
    m->part_version = version;
    m->bytes = sizeof(*m) + rec->key_len + rec->value_len + rec->headers_len;
    cchunk_ref(chunk);
    cchunk_ref(chunk2);
    m->chunk = chunk;
    m->chunk2 = chunk2;
    return m;
}

/* read_committed: the aborted transactions a Fetch answer lists for a
 * partition, walked along its batches in offset order. A producer's
 * transactional batches are dropped from the first offset of its aborted
 * transaction until the ABORT marker that ends it. */
typedef struct aborted {
    fetch_response_aborted_transaction_t *txns; /* sorted by first_offset */
    int count, next;
    int64_t *pids; /* producers inside an aborted transaction */
    int pid_count;
} aborted_t;

static int cmp_aborted(const void *a, const void *b)
{
    int64_t x = ((const fetch_response_aborted_transaction_t *)a)->first_offset;
    int64_t y = ((const fetch_response_aborted_transaction_t *)b)->first_offset;
    return x < y ? -1 : x > y;
}

/* From pd's list (none when pd is NULL); false when memory runs out. */
static bool aborted_init(aborted_t *a, const fetch_response_partition_data_t *pd)
{
    memset(a, 0, sizeof(*a));
    if (!pd || pd->aborted_transactions_count <= 0)
        return true;
    size_t n = (size_t)pd->aborted_transactions_count;
    a->txns = malloc(n * sizeof(*a->txns));
    a->pids = malloc(n * sizeof(*a->pids));
    if (!a->txns || !a->pids)
        return false;
    memcpy(a->txns, pd->aborted_transactions, n * sizeof(*a->txns));
    qsort(a->txns, n, sizeof(*a->txns), cmp_aborted);
    a->count = (int)n;
    return true;
}

static void aborted_free(aborted_t *a)
{
    free(a->txns);
    free(a->pids);
}

static int aborted_find(const aborted_t *a, int64_t pid)
{
    for (int i = 0; i < a->pid_count; i++)
        if (a->pids[i] == pid)
            return i;
    return -1;
}

/* Whether transactional batch b was aborted (a control batch: whether
 * its producer is inside an aborted transaction). */
static bool aborted_batch(aborted_t *a, const batch_t *b)
{
    while (a->next < a->count && a->txns[a->next].first_offset <= batch_last_offset(b)) {
        int64_t pid = a->txns[a->next++].producer_id;
        if (aborted_find(a, pid) < 0)
            a->pids[a->pid_count++] = pid;
    }
    return aborted_find(a, b->header.producer_id) >= 0;
}

/* A control batch: an ABORT marker ends its producer's aborted
 * transaction. */
static void aborted_marker(aborted_t *a, const batch_t *b, size_t scratch_max)
{
    if (!aborted_batch(a, b))
        return;
    buf_t scratch;
    buf_init(&scratch, scratch_max);
    record_iter_t ri;
    record_t rec;
    if (record_iter_init(&ri, b, &scratch, scratch_max) == SAMSA_ERR_NONE &&
        record_iter_next(&ri, &rec) && rec.key && rec.key_len >= 4 &&
        be16_load((const uint8_t *)rec.key + 2) == 0 /* ABORT */) {
        int i = aborted_find(a, b->header.producer_id);
        if (i >= 0)
            a->pids[i] = a->pids[--a->pid_count];
    }
    record_iter_free(&ri);
    buf_free(&scratch);
}

/* Turns one partition's records into messages from p->fetch_offset on,
 * advancing it past every complete batch; with read_committed, drops
 * what pd names as aborted. */
static void take_records(samsa_consumer_t *c, cpart_t *p, const fetch_response_partition_data_t *pd,
                         const char *where)
{
    const proto_records_t *records = &pd->records;
    if (!records->data || records->len <= 0)
        return;
    aborted_t ab;
    bool ab_ok = aborted_init(&ab, c->cfg.read_committed ? pd : NULL);
    cchunk_t *chunk = ab_ok ? malloc(sizeof(*chunk) + (size_t)records->len) : NULL;
    if (!chunk) {
        aborted_free(&ab);
        report(c, consumer_error_msg(p->topic, p->partition, p->fetch_offset, SAMSA_ERR__NOMEM,
                                     "%s [%d]: no memory for fetched records", p->topic,
                                     (int)p->partition));
        part_backoff(c, p);
        return;
    }
    chunk->refs = 1;
    chunk->data = chunk->inline_data;
    chunk->len = (size_t)records->len;
    memcpy(chunk->data, records->data, chunk->len);
    batch_iter_t bi;
    batch_iter_init(&bi, chunk->data, chunk->len);
    batch_t b;
    samsa_err_t err = SAMSA_ERR_NONE;
    while (!err && batch_iter_next(&bi, &b)) {
        if (batch_last_offset(&b) < p->fetch_offset)
            continue;
        if (batch_is_control(&b)) {
            if (ab.count)
                aborted_marker(&ab, &b, (size_t)c->cfg.max_response_bytes * 4);
            p->fetch_offset = batch_last_offset(&b) + 1;
            continue;
        }
        if (ab.count && batch_is_transactional(&b) && aborted_batch(&ab, &b)) {
            p->fetch_offset = batch_last_offset(&b) + 1;
            continue;
        }
        buf_t scratch;
        buf_init(&scratch, (size_t)c->cfg.max_response_bytes * 4);
        record_iter_t ri;
        err = record_iter_init(&ri, &b, &scratch, (size_t)c->cfg.max_response_bytes * 4);
        cchunk_t *chunk2 = NULL;
        if (!err && batch_codec(&b) != BATCH_COMPRESSION_NONE) {
            chunk2 = calloc(1, sizeof(*chunk2));
            if (!chunk2)
                err = SAMSA_ERR__NOMEM;
            else {
                chunk2->refs = 1;
                chunk2->data = scratch.data; /* taken over below, records point here */
                chunk2->len = scratch.len;
                memset(&scratch, 0, sizeof(scratch));
            }
        }
        record_t rec;
        while (!err && record_iter_next(&ri, &rec)) {
            if (rec.offset < p->fetch_offset)
                continue;
            cmsg_t *m = make_msg(p, p->version, &b, &rec, chunk, chunk2);
            if (!m) {
                err = SAMSA_ERR__NOMEM;
                break;
            }
            consumer_queue_add(c, m); /* on_fetch wakes poll */
        }
        if (!err)
            err = ri.err;
        record_iter_free(&ri);
        buf_free(&scratch);
        cchunk_release(chunk2);
        if (!err)
            p->fetch_offset = batch_last_offset(&b) + 1;
    }
    if (!err && bi.err && bi.err != SAMSA_ERR__BAD_MSG)
        err = bi.err;
    if (err) {
        report(c, consumer_error_msg(p->topic, p->partition, p->fetch_offset, err,
                                     "%s [%d]: cannot read the records at offset %" PRId64
                                     " from %s: %s",
                                     p->topic, (int)p->partition, p->fetch_offset, where,
                                     samsa_err_str(err)));
        p->state = CPART_FAILED;
    }
    p->skip_to = p->fetch_offset;
    if (p->queued == 0 && p->position >= 0 && p->position < p->skip_to)
        p->position = p->skip_to;
    cchunk_release(chunk);
    aborted_free(&ab);
}

static void on_fetch(void *opaque, conn_t *conn, samsa_err_t err, int16_t version,
                     const void *resp_)
{
    preq_t *r = opaque;
    samsa_consumer_t *c = r->c;
    const fetch_response_t *resp = resp_;
    pthread_mutex_lock(&c->lock);
    const cmsg_t *tail_before = c->queue_tail;
    for (int i = 0; i < r->count; i++)
        r->parts[i].part->fetch_in_flight = false;
    if (!err && resp->error_code)
        err = resp->error_code;
    for (int32_t t = 0; !err && t < resp->responses_count; t++) {
        const fetch_response_fetchable_topic_response_t *tr = &resp->responses[t];
        for (int32_t k = 0; k < tr->partitions_count; k++) {
            const fetch_response_partition_data_t *pd = &tr->partitions[k];
            preq_part_t *e = preq_find(r, &tr->topic, pd->partition_index);
            if (!e || !preq_current(e) || e->part->state != CPART_READY ||
                e->part->fetch_offset != e->offset)
                continue;
            cpart_t *p = e->part;
            int16_t pe = pd->error_code;
            if (pe == SAMSA_ERR_NONE) {
                p->high_watermark = pd->high_watermark;
                take_records(c, p, pd, conn_name(conn));
            } else if (pe == SAMSA_ERR_OFFSET_OUT_OF_RANGE) {
                char why[128];
                snprintf(why, sizeof(why), "offset %" PRId64 " is out of range at %s",
                         p->fetch_offset, conn_name(conn));
                part_reset(c, p, pe, why);
            } else if (leader_error(pe)) {
                cluster_want_refresh(&c->cluster);
                part_backoff(c, p);
            } else {
                report(c, consumer_error_msg(p->topic, p->partition, p->fetch_offset, pe,
                                             "%s [%d]: Fetch at offset %" PRId64 " from %s: %s",
                                             p->topic, (int)p->partition, p->fetch_offset,
                                             conn_name(conn), samsa_err_str(pe)));
                part_backoff(c, p);
            }
        }
    }
    if (err) {
        if (err != SAMSA_ERR__DESTROYED)
            slog_write(2, "consumer", "Fetch from %s failed: %s", conn_name(conn),
                       samsa_err_str(err));
        cluster_want_refresh(&c->cluster);
        for (int i = 0; i < r->count; i++)
            part_backoff(c, r->parts[i].part);
    }
    /* After records, the next fetch goes out now, before poll is woken:
     * woken first, poll would take the lock the round that sends it needs,
     * and with both cores busy the partitions could go unfetched for a
     * timeslice. After a failure (which may come from within a send or a
     * disconnect) the round waits for the loop. */
    if (!err)
        fetch_run(c);
    consumer_kick(c);
    bool took = c->queue_tail != tail_before;
    pthread_mutex_unlock(&c->lock);
    /* After the lock: a poll woken while this thread held it would only
     * wait for it again. A poll that looked before the records came is
     * waiting on the condition by now; one that looks later sees them. */
    if (took)
        pthread_cond_broadcast(&c->cond);
    free(r);
}

/* ---- committed offsets -------------------------------------------------- */

static void on_committed(samsa_consumer_t *c, void *opaque, samsa_err_t err,
                         const samsa_partition_list_t *list)
{
    preq_t *r = opaque;
    for (int i = 0; i < r->count; i++) {
        preq_part_t *e = &r->parts[i];
        cpart_t *p = e->part;
        p->lookup_in_flight = false;
        if (!preq_current(e) || p->state != CPART_NEED_COMMITTED)
            continue;
        const samsa_topic_partition_t *tp = NULL;
        for (size_t k = 0; list && k < list->count; k++)
            if (list->items[k].partition == p->partition && !strcmp(list->items[k].topic, p->topic))
                tp = &list->items[k];
        if (err || !tp || tp->err) {
            part_backoff(c, p);
            continue;
        }
        p->committed = tp->offset;
        slog_debug("consumer", "%s-%d: committed offset %lld", p->topic, (int)p->partition,
                   (long long)tp->offset);
        if (tp->offset >= 0) {
            p->state = CPART_READY;
            p->fetch_offset = p->position = tp->offset;
        } else {
            part_reset(c, p, SAMSA_ERR_OFFSET_OUT_OF_RANGE, "no committed offset");
        }
    }
    consumer_kick(c);
    free(r);
}

static void ask_committed(samsa_consumer_t *c, int64_t now)
{
    int n = 0;
    for (int i = 0; i < c->part_count; i++) {
        cpart_t *p = c->parts[i];
        if (p->removed || p->state != CPART_NEED_COMMITTED || p->lookup_in_flight ||
            p->retry_at_ms > now)
            continue;
        if (!c->cfg.group_id[0]) {
            part_reset(c, p, SAMSA_ERR_OFFSET_OUT_OF_RANGE, "no group.id to read offsets from");
            continue;
        }
        n++;
    }
    if (!n || !group_coordinator(c))
        return;
    preq_t *r = preq_new(c, -1, n);
    samsa_topic_partition_t *items = calloc((size_t)n, sizeof(*items));
    if (!r || !items)
        goto out;
    for (int i = 0; i < c->part_count; i++) {
        cpart_t *p = c->parts[i];
        if (p->removed || p->state != CPART_NEED_COMMITTED || p->lookup_in_flight ||
            p->retry_at_ms > now)
            continue;
        items[r->count] = (samsa_topic_partition_t){p->topic, p->partition, -1, 0};
        r->parts[r->count++] = (preq_part_t){p, p->version, -1};
    }
    samsa_partition_list_t list = {items, (size_t)r->count};
    /* Marked before: the request may complete, and free r, within the call. */
    mark_in_flight(r, false, true);
    if (offsets_fetch_committed(c, &list, on_committed, r) == SAMSA_ERR_NONE)
        r = NULL;
    else
        mark_in_flight(r, false, false);
out:
    free(r);
    free(items);
}

/* ---- the round ------------------------------------------------------- */

/* Sends one request of kind (fetch or lookup) per leader for the parts
 * that want it. */
static void send_per_leader(samsa_consumer_t *c, bool fetch, int64_t now)
{
    int n = c->part_count;
    int32_t *leaders = calloc((size_t)n + 1, sizeof(*leaders));
    if (!leaders)
        return;
    size_t limit = (size_t)c->cfg.queued_max_kbytes * 1024;
    for (int i = 0; i < n; i++) {
        cpart_t *p = c->parts[i];
        leaders[i] = -1;
        bool wants = !p->removed && p->retry_at_ms <= now &&
                     (fetch ? p->state == CPART_READY && !p->fetch_in_flight && !p->paused &&
                                  c->queued_bytes < limit
                            : p->state == CPART_NEED_LOOKUP && !p->lookup_in_flight);
        if (wants)
            leaders[i] = part_leader(c, p);
    }
    for (int i = 0; i < n; i++) {
        int32_t node = leaders[i];
        if (node < 0)
            continue;
        conn_t *conn = cluster_broker_conn(&c->cluster, node);
        preq_t *r = conn ? preq_new(c, node, n) : NULL;
        if (!r)
            break;
        for (int j = i; j < n; j++)
            if (leaders[j] == node) {
                cpart_t *p = c->parts[j];
                leaders[j] = -1;
                /* a request that completed within conn_send may have
                 * run a round of its own (see on_fetch) */
                if (*in_flight_mark(p, fetch))
                    continue;
                r->parts[r->count++] =
                    (preq_part_t){p, p->version, fetch ? p->fetch_offset : p->lookup_ts};
            }
        if (!r->count) {
            free(r);
            continue;
        }
        qsort(r->parts, (size_t)r->count, sizeof(r->parts[0]), cmp_preq_part);
        conn_request_t req = {
            .api_key = fetch ? API_FETCH : API_LIST_OFFSETS,
            .max_version = fetch ? FETCH_MAX_VERSION : LIST_OFFSETS_MAX_VERSION,
            .timeout_ms = fetch ? c->cfg.request_timeout_ms + c->cfg.fetch_max_wait_ms : 0,
            .encode = fetch ? encode_fetch : encode_list_offsets,
            .on_response = fetch ? on_fetch : on_list_offsets,
            .opaque = r,
        };
        /* Marked before the send: a request can complete within conn_send
         * (no version in common, a connection that fails at once), and
         * its callback clears the marks and frees r. */
        mark_in_flight(r, fetch, true);
        if (conn_send(conn, &req)) {
            mark_in_flight(r, fetch, false);
            free(r);
        }
    }
    free(leaders);
}

void fetch_run(samsa_consumer_t *c)
{
    if (c->closing || c->stopped)
        return;
    int64_t now = loop_now_ms(c->loop);
    ask_committed(c, now);
    send_per_leader(c, false, now);
    send_per_leader(c, true, now);
}
