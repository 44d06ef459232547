/*
 * fetch.c: Fetch: reading each partition from its fetch offset, the byte
 * limits, long polling, and fetch sessions.
 *
 * Records: the log returns whole batches from the one holding the fetch
 * offset (clients skip the records before it), as many as fit in the
 * partition's max bytes, and always at least one batch for the first
 * partition that has data, so that a batch larger than the limits never
 * stalls a consumer (Kafka's rule); later partitions stop at the total
 * max_bytes. The batches are not copied: the response points at the log's
 * mapping and the connection writes them from there (proto splices); the
 * log reads are released when the response has been written.
 *
 * Long polling: with fewer than min_bytes available, the request is parked
 * in the broker's list of waiting fetches. Appends call fetch_wake() for
 * their partition, which re-runs the waiting fetches that read it; a timer
 * answers with whatever there is at max_wait_ms.
 *
 * Sessions (KIP-227): samsa does not keep fetch sessions. A client asking
 * for one (epoch 0) gets session id 0, which tells it to keep sending full
 * fetch requests (the Java client does; librdkafka never asks). An
 * incremental fetch (epoch > 0) names a session this broker never made:
 * FETCH_SESSION_ID_NOT_FOUND, after which clients start over with a full one.
 */
#include "broker/broker_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/slog.h"

typedef fetch_response_partition_data_t fp_resp_t;
typedef fetch_response_fetchable_topic_response_t ft_resp_t;

struct fetch_wait {
    fetch_wait_t *next;
    fetch_wait_t **prev_next;  /* in broker->fetch_waits, or NULL */
    broker_request_t *req;
    struct broker *broker;
    fetch_response_t *resp;    /* built once, refilled by every attempt */
    log_read_t *reads;         /* one per requested partition */
    int32_t read_count;
    loop_timer_t *timer;
};

static void reads_release(fetch_wait_t *fw)
{
    for (int32_t i = 0; i < fw->read_count; i++)
        log_read_release(&fw->reads[i]);
    fw->read_count = 0;
}

static void fetch_release(broker_request_t *req, void *opaque) { reads_release(opaque); }

static void wait_unlink(fetch_wait_t *fw)
{
    if (!fw->prev_next)
        return;
    *fw->prev_next = fw->next;
    if (fw->next)
        fw->next->prev_next = fw->prev_next;
    fw->prev_next = NULL;
    fw->next = NULL;
}

/* Fills the response from the logs. Returns the bytes of records found,
 * and whether any partition has an error in *errors. */
static int64_t fetch_fill(fetch_wait_t *fw, bool *errors)
{
    struct broker *b = fw->broker;
    const fetch_request_t *r = fw->req->body;
    bool by_id = fw->req->api_version >= 13;
    int64_t total = 0;
    int64_t max_bytes = r->max_bytes > 0 ? r->max_bytes : 0;
    *errors = false;
    reads_release(fw);
    for (int32_t i = 0; i < fw->resp->responses_count; i++) {
        const fetch_request_fetch_topic_t *rt = &r->topics[i];
        ft_resp_t *tout = &fw->resp->responses[i];
        broker_topic_t *t = by_id ? topic_find_id(b, &rt->topic_id) : topic_find(b, rt->topic);
        for (int32_t j = 0; j < tout->partitions_count; j++) {
            const fetch_request_fetch_partition_t *rp = &rt->partitions[j];
            fp_resp_t *out = &tout->partitions[j];
            out->partition_index = rp->partition;
            out->records = (proto_records_t){NULL, 0, NULL};
            out->high_watermark = -1;
            out->last_stable_offset = -1;
            out->log_start_offset = -1;
            broker_partition_t *bp = topic_partition(t, rp->partition);
            if (!bp) {
                out->error_code = !t && by_id ? SAMSA_ERR_UNKNOWN_TOPIC_ID
                                              : SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                *errors = true;
                continue;
            }
            /* The first batch with data is always sent whole; after it, the
             * total max_bytes caps what is added. */
            int64_t limit = rp->partition_max_bytes > 0 ? rp->partition_max_bytes : 0;
            if (total > 0 && max_bytes - total < limit)
                limit = max_bytes - total;
            log_read_t *lr = &fw->reads[fw->read_count];
            samsa_err_t err = SAMSA_ERR_NONE;
            if (total == 0 || limit > 0)
                err = partition_log_read(bp->log, rp->fetch_offset, (size_t)(limit > 0 ? limit : 1),
                                         lr);
            else
                err = partition_log_read(bp->log, partition_log_end_offset(bp->log), 1, lr);
            if (err) {
                out->error_code = (int16_t)(err > 0 ? err : SAMSA_ERR_KAFKA_STORAGE_ERROR);
                *errors = true;
                continue;
            }
            fw->read_count++;
            log_read_unmap(lr); /* sent with sendfile (conn.c) */
            out->error_code = 0;
            out->high_watermark = lr->high_watermark;
            out->last_stable_offset = lr->high_watermark;
            out->log_start_offset = lr->log_start_offset;
            if (lr->length_bytes == 0 || (total > 0 && (int64_t)lr->length_bytes > limit))
                continue;
            out->records = (proto_records_t){lr->data, (int32_t)lr->length_bytes, lr};
            total += (int64_t)lr->length_bytes;
        }
    }
    return total;
}

/* Answers when there is enough (or final). Returns whether it answered. */
static bool fetch_attempt(fetch_wait_t *fw, bool final)
{
    const fetch_request_t *r = fw->req->body;
    bool errors;
    int64_t total = fetch_fill(fw, &errors);
    if (!final && !errors && total < r->min_bytes) {
        reads_release(fw);
        return false;
    }
    wait_unlink(fw);
    loop_timer_cancel(fw->broker->loop, fw->timer);
    fw->timer = NULL;
    fw->req->release_fn = fetch_release;
    fw->req->release_opaque = fw;
    fw->req->cancel_fn = NULL;
    broker_request_respond(fw->req, fw->resp);
    return true;
}

static void fetch_timeout(loop_t *loop, void *opaque)
{
    fetch_wait_t *fw = opaque;
    fw->timer = NULL;
    fetch_attempt(fw, true);
}

static void fetch_cancel(broker_request_t *req, void *opaque)
{
    fetch_wait_t *fw = opaque;
    wait_unlink(fw);
    loop_timer_cancel(fw->broker->loop, fw->timer);
    fw->timer = NULL;
    reads_release(fw);
}

/* Whether the waiting fetch reads partition bp. */
static bool fetch_reads(const fetch_wait_t *fw, const broker_partition_t *bp)
{
    const fetch_request_t *r = fw->req->body;
    bool by_id = fw->req->api_version >= 13;
    for (int32_t i = 0; i < r->topics_count; i++) {
        const fetch_request_fetch_topic_t *rt = &r->topics[i];
        bool same = by_id ? proto_uuid_eq(&rt->topic_id, &bp->topic->id)
                          : proto_str_eq(rt->topic, bp->topic->name);
        for (int32_t j = 0; same && j < rt->partitions_count; j++)
            if (rt->partitions[j].partition == bp->index)
                return true;
    }
    return false;
}

void fetch_wake(struct broker *b, broker_partition_t *bp)
{
    fetch_wait_t *fw = b->fetch_waits;
    while (fw) {
        fetch_wait_t *next = fw->next;
        if (fetch_reads(fw, bp))
            fetch_attempt(fw, bp->deleted);
        fw = next;
    }
}

void fetch_wake_all(struct broker *b)
{
    while (b->fetch_waits)
        fetch_attempt(b->fetch_waits, true);
}

void handle_fetch(struct broker *b, broker_request_t *req)
{
    const fetch_request_t *r = req->body;
    fetch_response_t *resp = broker_response_new(req);
    fetch_wait_t *fw = arena_alloc(&req->arena, sizeof(*fw));
    if (!resp || !fw)
        goto nomem;
    fw->req = req;
    fw->broker = b;
    fw->resp = resp;
    resp->session_id = 0;
    if (r->session_epoch > 0) {
        /* an incremental fetch in a session this broker never created */
        resp->error_code = SAMSA_ERR_FETCH_SESSION_ID_NOT_FOUND;
        broker_request_respond(req, resp);
        return;
    }
    const proto_struct_t *topic_desc = BROKER_SUB(&fetch_response_desc, fetch_response_t, responses);
    int32_t ntopics = r->topics_count > 0 ? r->topics_count : 0;
    int32_t nparts = 0;
    resp->responses = BROKER_ARRAY(req, &fetch_response_desc, fetch_response_t, responses, ntopics);
    if (ntopics > 0 && !resp->responses)
        goto nomem;
    resp->responses_count = ntopics;
    for (int32_t i = 0; i < ntopics; i++) {
        const fetch_request_fetch_topic_t *rt = &r->topics[i];
        ft_resp_t *tout = &resp->responses[i];
        tout->topic = rt->topic;
        tout->topic_id = rt->topic_id;
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
        tout->partitions = BROKER_ARRAY(req, topic_desc, ft_resp_t, partitions, np);
        if (np > 0 && !tout->partitions)
            goto nomem;
        tout->partitions_count = np;
        nparts += np;
    }
    if (nparts > 0 && !(fw->reads = arena_alloc(&req->arena, (size_t)nparts * sizeof(log_read_t))))
        goto nomem;
    if (fetch_attempt(fw, r->max_wait_ms <= 0 || r->min_bytes <= 0 || nparts == 0))
        return;
    fw->timer = loop_timer_add(b->loop, r->max_wait_ms, fetch_timeout, fw);
    if (!fw->timer) {
        fetch_attempt(fw, true);
        return;
    }
    fw->next = b->fetch_waits;
    if (fw->next)
        fw->next->prev_next = &fw->next;
    fw->prev_next = &b->fetch_waits;
    b->fetch_waits = fw;
    broker_request_park(req, fetch_cancel, fw);
    return;
nomem:
    slog_error(BROKER_MODULE, "%s: out of memory for a Fetch request", req->client_addr);
    broker_request_respond(req, NULL);
}
