/*
 * produce.c: Produce: validating and appending each partition's batches,
 * acknowledging by acks (0: no answer, 1: once appended, -1: once durable
 * under the log's flush policy), and the Produce v0-2 refusal.
 *
 * acks=-1 with log.flush.on.ack: the request is parked with one waiter
 * per partition it wrote, in that partition's list, and each partition's
 * flusher is asked to sync (appends alone do not ask). The log's on_durable
 * callback (the flusher thread) posts to the loop, which releases waiters
 * whose data is now below the durable offset; when none is left the
 * response goes out. A timer answers REQUEST_TIMED_OUT for partitions still
 * waiting after the request's timeout_ms (a failed disk never syncs).
 * Without log.flush.on.ack, acks=-1 is answered at once, as Kafka does.
 */
#include "broker/broker_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crc32c.h"
#include "base/slog.h"
#include "proto/batch.h"

typedef produce_response_partition_produce_response_t pp_resp_t;

struct durable_waiter {
    durable_waiter_t *next;
    durable_waiter_t **prev_next; /* where this waiter is linked from, or NULL */
    produce_wait_t *wait;
    broker_partition_t *bp;
    int64_t end_offset;           /* durable offset needed */
    pp_resp_t *out;
};

struct produce_wait {
    broker_request_t *req;
    produce_response_t *resp;
    loop_timer_t *timer;
    durable_waiter_t *waiters;
    int32_t waiter_count;
    int32_t pending;
};

static void waiter_unlink(durable_waiter_t *w)
{
    if (!w->prev_next)
        return;
    *w->prev_next = w->next;
    if (w->next)
        w->next->prev_next = w->prev_next;
    w->prev_next = NULL;
    w->next = NULL;
}

static void wait_finish(produce_wait_t *pw)
{
    loop_timer_cancel(pw->req->broker->loop, pw->timer);
    pw->timer = NULL;
    for (int32_t i = 0; i < pw->waiter_count; i++)
        waiter_unlink(&pw->waiters[i]);
    broker_request_respond(pw->req, pw->resp);
}

static void waiter_done(durable_waiter_t *w, int16_t error)
{
    waiter_unlink(w);
    if (error) {
        w->out->error_code = error;
        w->out->base_offset = -1;
    }
    if (--w->wait->pending == 0)
        wait_finish(w->wait);
}

static void wait_timeout(loop_t *loop, void *opaque)
{
    produce_wait_t *pw = opaque;
    pw->timer = NULL;
    for (int32_t i = 0; i < pw->waiter_count; i++) {
        durable_waiter_t *w = &pw->waiters[i];
        if (w->prev_next) {
            waiter_unlink(w);
            w->out->error_code = SAMSA_ERR_REQUEST_TIMED_OUT;
            w->out->base_offset = -1;
        }
    }
    broker_request_respond(pw->req, pw->resp);
}

static void wait_cancel(broker_request_t *req, void *opaque)
{
    produce_wait_t *pw = opaque;
    loop_timer_cancel(req->broker->loop, pw->timer);
    pw->timer = NULL;
    for (int32_t i = 0; i < pw->waiter_count; i++)
        waiter_unlink(&pw->waiters[i]);
}

/* On the loop: bp's durable offset moved. */
static void durable_post_run(void *opaque)
{
    broker_partition_t *bp = opaque;
    __atomic_store_n(&bp->durable_post_pending, 0, __ATOMIC_RELEASE);
    if (!bp->deleted) {
        int64_t durable = partition_log_durable_offset(bp->log);
        /* Finishing a request unlinks all its waiters, maybe the next one
         * too: look again from the head after each. */
        durable_waiter_t *w = bp->durable_waiters;
        while (w) {
            if (w->end_offset <= durable) {
                waiter_done(w, 0);
                w = bp->durable_waiters;
            } else {
                w = w->next;
            }
        }
    }
    broker_partition_unref(bp);
}

void produce_on_durable(void *opaque, partition_log_t *pl, int64_t durable_end_offset)
{
    broker_partition_t *bp = opaque;
    if (__atomic_exchange_n(&bp->durable_post_pending, 1, __ATOMIC_ACQ_REL))
        return; /* one post at a time is enough: it reads the latest offset */
    __atomic_add_fetch(&bp->refcount, 1, __ATOMIC_ACQ_REL);
    if (loop_post(bp->broker->loop, durable_post_run, bp) != SAMSA_ERR_NONE) {
        /* The request's timer will answer instead. */
        __atomic_store_n(&bp->durable_post_pending, 0, __ATOMIC_RELEASE);
        broker_partition_unref(bp);
    }
}

void produce_partition_deleted(broker_partition_t *bp)
{
    while (bp->durable_waiters)
        waiter_done(bp->durable_waiters, SAMSA_ERR_NOT_LEADER_OR_FOLLOWER);
}

/* ---- appending -------------------------------------------------------- */

/* Checks the batch framing and sizes before the log checks CRCs: each
 * batch must fit in the records and in max.message.bytes. */
static samsa_err_t check_batches(const uint8_t *data, int32_t len, int32_t max_message_bytes)
{
    if (!data || len <= 0)
        return SAMSA_ERR_CORRUPT_MESSAGE;
    size_t pos = 0;
    while (pos < (size_t)len) {
        size_t left = (size_t)len - pos;
        if (left < BATCH_HEADER_BYTES)
            return SAMSA_ERR_CORRUPT_MESSAGE;
        if (data[pos + BATCH_OFF_MAGIC] != BATCH_MAGIC)
            return SAMSA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
        size_t total = batch_total_bytes(data + pos);
        if (total < BATCH_HEADER_BYTES || total > left)
            return SAMSA_ERR_CORRUPT_MESSAGE;
        if (total > (size_t)max_message_bytes)
            return SAMSA_ERR_MESSAGE_TOO_LARGE;
        pos += total;
    }
    return SAMSA_ERR_NONE;
}

/* LogAppendTime topics: every batch gets the broker's clock as its max
 * timestamp and the LogAppendTime attribute, as Kafka does; both are
 * inside the CRC, so the CRC is checked first (a corrupt batch must not
 * get a fresh valid one) and then recomputed. */
static samsa_err_t stamp_append_time(uint8_t *data, size_t len, int64_t now_ms)
{
    size_t pos = 0;
    while (pos < len) {
        batch_header_t h;
        if (batch_validate(data + pos, len - pos, &h) != SAMSA_ERR_NONE)
            return SAMSA_ERR_CORRUPT_MESSAGE;
        uint8_t *b = data + pos;
        size_t total = (size_t)h.length + BATCH_LOG_OVERHEAD;
        be16_store(b + BATCH_OFF_ATTRIBUTES,
                   (uint16_t)((uint16_t)h.attributes | BATCH_ATTR_LOG_APPEND_TIME));
        be64_store(b + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
        be32_store(b + BATCH_OFF_CRC,
                   crc32c(0, b + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES));
        pos += total;
    }
    return SAMSA_ERR_NONE;
}

/* Appends one partition's records; fills out. Returns the offset after the
 * last one written, or -1 when nothing was written. */
static int64_t produce_partition(struct broker *b, broker_partition_t *bp,
                                 const produce_request_partition_produce_data_t *in, pp_resp_t *out)
{
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
    samsa_err_t err = check_batches(in->records.data, in->records.len,
                                    bp->topic->config.max_message_bytes);
    int64_t base = -1, last = -1;
    int64_t now_ms = clock_wall_ms();
    /* Idempotent producers: one batch per partition, as Kafka requires of
     * Produce v3+, checked against the producer's sequence numbers. */
    batch_header_t h;
    bool idempotent = false;
    if (!err && batch_header_parse(in->records.data, (size_t)in->records.len, &h) == SAMSA_ERR_NONE &&
        h.producer_id >= 0) {
        idempotent = true;
        if (batch_total_bytes(in->records.data) != (size_t)in->records.len)
            err = SAMSA_ERR_INVALID_RECORD;
        int64_t dup_base_offset = -1;
        if (!err)
            err = producer_state_check(bp->producer_state, &h, &dup_base_offset);
        if (err == SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER) {
            /* written before: the producer gets the first answer again */
            out->error_code = SAMSA_ERR_NONE;
            out->base_offset = dup_base_offset;
            out->log_start_offset = partition_log_start_offset(bp->log);
            return -1;
        }
    }
    if (!err && bp->topic->config.log_append_time)
        err = stamp_append_time((uint8_t *)in->records.data, (size_t)in->records.len, now_ms);
    if (!err)
        err = partition_log_append(bp->log, (uint8_t *)in->records.data, (size_t)in->records.len,
                                   BROKER_LEADER_EPOCH, &base, &last);
    switch (err) {
    case SAMSA_ERR_NONE: break;
    case SAMSA_ERR__INVALID_ARG: err = SAMSA_ERR_CORRUPT_MESSAGE; break;
    case SAMSA_ERR__NOSPC:
    case SAMSA_ERR__STORAGE:
        slog_warn(BROKER_MODULE, "%s-%d: append failed: %s", bp->topic->name, (int)bp->index,
                  samsa_err_str(err));
        err = SAMSA_ERR_KAFKA_STORAGE_ERROR;
        break;
    default:
        if (err < 0)
            err = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
        break;
    }
    out->error_code = (int16_t)err;
    out->log_start_offset = partition_log_start_offset(bp->log);
    if (err)
        return -1;
    out->base_offset = base;
    if (idempotent)
        producer_state_update(bp->producer_state, &h, base);
    if (bp->topic->config.log_append_time)
        out->log_append_time_ms = now_ms;
    fetch_wake(b, bp);
    return last + 1;
}

static void produce_legacy(struct broker *b, broker_request_t *req);

void handle_produce(struct broker *b, broker_request_t *req)
{
    if (!req->body) {
        produce_legacy(b, req);
        return;
    }
    const produce_request_t *r = req->body;
    produce_response_t *resp = broker_response_new(req);
    const proto_struct_t *topic_desc =
        BROKER_SUB(&produce_response_desc, produce_response_t, responses);
    int32_t ntopics = r->topic_data_count > 0 ? r->topic_data_count : 0;
    int32_t npart = 0;
    for (int32_t i = 0; i < ntopics; i++)
        npart += r->topic_data[i].partition_data_count > 0 ? r->topic_data[i].partition_data_count
                                                           : 0;
    produce_wait_t *pw = arena_alloc(&req->arena, sizeof(*pw));
    if (pw && npart > 0)
        pw->waiters = arena_alloc(&req->arena, (size_t)npart * sizeof(*pw->waiters));
    if (resp)
        resp->responses =
            BROKER_ARRAY(req, &produce_response_desc, produce_response_t, responses, ntopics);
    if (!resp || !pw || (npart > 0 && !pw->waiters) || (ntopics > 0 && !resp->responses)) {
        slog_error(BROKER_MODULE, "%s: out of memory for a Produce request", req->client_addr);
        broker_request_respond(req, NULL);
        return;
    }
    resp->responses_count = ntopics;
    bool wait_durable = r->acks == -1;
    bool acks_ok = r->acks == -1 || r->acks == 0 || r->acks == 1;
    for (int32_t i = 0; i < ntopics; i++) {
        const produce_request_topic_produce_data_t *td = &r->topic_data[i];
        produce_response_topic_produce_response_t *tout = &resp->responses[i];
        broker_topic_t *t = req->api_version >= 13 ? topic_find_id(b, &td->topic_id)
                                                   : topic_find(b, td->name);
        tout->name = td->name;
        tout->topic_id = td->topic_id;
        int32_t np = td->partition_data_count > 0 ? td->partition_data_count : 0;
        tout->partition_responses = BROKER_ARRAY(
            req, topic_desc, produce_response_topic_produce_response_t, partition_responses, np);
        if (!tout->partition_responses)
            continue;
        tout->partition_responses_count = np;
        for (int32_t j = 0; j < np; j++) {
            const produce_request_partition_produce_data_t *in = &td->partition_data[j];
            pp_resp_t *out = &tout->partition_responses[j];
            out->index = in->index;
            out->base_offset = -1;
            out->log_append_time_ms = -1;
            out->log_start_offset = -1;
            broker_partition_t *bp = topic_partition(t, in->index);
            if (!acks_ok) {
                out->error_code = SAMSA_ERR_INVALID_REQUIRED_ACKS;
                continue;
            }
            if (!bp) {
                out->error_code = t || req->api_version < 13 ? SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                                             : SAMSA_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
            if (t->internal) {
                /* only the group coordinator writes __consumer_offsets */
                out->error_code = SAMSA_ERR_INVALID_TOPIC_EXCEPTION;
                continue;
            }
            int64_t end = produce_partition(b, bp, in, out);
            if (end < 0 || !wait_durable || !bp->topic->config.log.flush_on_ack ||
                partition_log_durable_offset(bp->log) >= end)
                continue;
            durable_waiter_t *w = &pw->waiters[pw->waiter_count++];
            *w = (durable_waiter_t){.wait = pw, .bp = bp, .end_offset = end, .out = out};
            w->next = bp->durable_waiters;
            if (w->next)
                w->next->prev_next = &w->next;
            w->prev_next = &bp->durable_waiters;
            bp->durable_waiters = w;
            pw->pending++;
            partition_log_sync_soon(bp->log);
        }
    }
    if (r->acks == 0) {
        for (int32_t i = 0; i < pw->waiter_count; i++)
            waiter_unlink(&pw->waiters[i]);
        broker_request_respond(req, NULL);
        return;
    }
    if (pw->pending == 0) {
        broker_request_respond(req, resp);
        return;
    }
    pw->req = req;
    pw->resp = resp;
    pw->timer = loop_timer_add(b->loop, r->timeout_ms > 0 ? r->timeout_ms : 1, wait_timeout, pw);
    broker_request_park(req, wait_cancel, pw);
}

/* ---- Produce v0-2 ---------------------------------------------------------- */

/* The codec speaks Produce from v3 (record batches); v0-2 carry the old
 * message sets, which Kafka 4 refuses too. The request is read by hand and
 * every partition is answered UNSUPPORTED_FOR_MESSAGE_FORMAT in the
 * version's own layout (v0: no throttle time, v2: log append time). */
static void produce_legacy(struct broker *b, broker_request_t *req)
{
    reader_t r = reader_make(req->raw_body, req->raw_body_len);
    int16_t acks = reader_i16(&r);
    reader_i32(&r); /* timeout */
    int32_t ntopics = reader_i32(&r);
    buf_t body;
    buf_init(&body, req->raw_body_len + 1024);
    buf_put_i32(&body, ntopics);
    for (int32_t i = 0; i < ntopics && !r.bad; i++) {
        int16_t name_len = reader_i16(&r);
        const uint8_t *name = name_len > 0 ? reader_take(&r, (size_t)name_len) : NULL;
        buf_put_i16(&body, name_len < 0 ? 0 : name_len);
        if (name)
            buf_put(&body, name, (size_t)name_len);
        int32_t nparts = reader_i32(&r);
        buf_put_i32(&body, nparts);
        for (int32_t j = 0; j < nparts && !r.bad; j++) {
            int32_t index = reader_i32(&r);
            int32_t len = reader_i32(&r);
            if (len > 0)
                reader_take(&r, (size_t)len);
            buf_put_i32(&body, index);
            buf_put_i16(&body, SAMSA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
            buf_put_i64(&body, -1);
            if (req->api_version >= 2)
                buf_put_i64(&body, -1);
        }
    }
    if (req->api_version >= 1)
        buf_put_i32(&body, 0);
    slog_warn(BROKER_MODULE, "%s: Produce v%d (message format before v2) refused",
              req->client_addr, (int)req->api_version);
    if (r.bad || body.failed || acks == 0) {
        buf_free(&body);
        broker_request_respond(req, NULL);
        return;
    }
    req->response_is_raw = true;
    broker_request_respond(req, &body);
    buf_free(&body);
}
