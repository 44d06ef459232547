/*
 * offsets.c: finding offsets: ListOffsets (earliest, latest, by timestamp,
 * max timestamp), OffsetForLeaderEpoch, and moving the log start with
 * DeleteRecords.
 *
 * Timestamps: the log's time index finds the first batch whose max
 * timestamp reaches the one asked for; the batch is then read record by
 * record (decompressing it if needed) for the first record at or after
 * that time, so the answer is record-exact as Kafka's is.
 */
#include "broker/broker_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/slog.h"
#include "proto/batch.h"

#define LIST_LATEST (-1)
#define LIST_EARLIEST (-2)
#define LIST_MAX_TIMESTAMP (-3)
#define LIST_EARLIEST_LOCAL (-4)
#define LIST_EARLIEST_PENDING_UPLOAD (-5)
#define DECOMPRESS_MAX_BYTES (256u * 1024 * 1024)

/* Walks the batches of bp from offset `from` (the log's read ranges) and
 * calls fn for each until it returns false. Returns false on a read error. */
static bool scan_batches(broker_partition_t *bp, int64_t from,
                         bool (*fn)(void *opaque, const batch_t *b), void *opaque)
{
    int64_t offset = from;
    for (;;) {
        log_read_t lr;
        samsa_err_t err = partition_log_read(bp->log, offset, 1024 * 1024, &lr);
        if (err)
            return err == SAMSA_ERR_OFFSET_OUT_OF_RANGE;
        if (lr.length_bytes == 0) {
            log_read_release(&lr);
            return true;
        }
        batch_iter_t it;
        batch_iter_init(&it, lr.data, lr.length_bytes);
        batch_t batch;
        bool more = true;
        while (more && batch_iter_next(&it, &batch))
            more = fn(opaque, &batch);
        int64_t next = lr.next_offset;
        log_read_release(&lr);
        if (!more || next <= offset)
            return true;
        offset = next;
    }
}

typedef struct ts_search {
    int64_t timestamp_ms; /* wanted */
    int64_t offset;       /* found, or -1 */
    int64_t found_ms;
    bool max_mode;        /* LIST_MAX_TIMESTAMP: the largest instead */
    buf_t scratch;
} ts_search_t;

/* Looks through a batch's records for the first one at or after the
 * wanted timestamp, or (max mode) for the one with the largest. */
static bool ts_batch(void *opaque, const batch_t *b)
{
    ts_search_t *s = opaque;
    if (s->max_mode ? b->header.max_timestamp <= s->found_ms
                    : b->header.max_timestamp < s->timestamp_ms)
        return true;
    record_iter_t it;
    if (record_iter_init(&it, b, &s->scratch, DECOMPRESS_MAX_BYTES) == SAMSA_ERR_NONE) {
        record_t rec;
        while (record_iter_next(&it, &rec)) {
            if (s->max_mode ? rec.timestamp_ms > s->found_ms : rec.timestamp_ms >= s->timestamp_ms) {
                s->offset = rec.offset;
                s->found_ms = rec.timestamp_ms;
                if (!s->max_mode)
                    break;
            }
        }
    }
    record_iter_free(&it);
    return s->max_mode || s->offset < 0;
}

static void list_partition(broker_partition_t *bp, int64_t timestamp,
                           list_offsets_response_list_offsets_partition_response_t *out)
{
    out->timestamp = -1;
    out->offset = -1;
    out->leader_epoch = BROKER_LEADER_EPOCH;
    ts_search_t s = {.timestamp_ms = timestamp, .offset = -1, .found_ms = -1};
    buf_init(&s.scratch, DECOMPRESS_MAX_BYTES);
    switch (timestamp) {
    case LIST_LATEST: out->offset = partition_log_high_watermark(bp->log); break;
    case LIST_EARLIEST:
    case LIST_EARLIEST_LOCAL: out->offset = partition_log_start_offset(bp->log); break;
    case LIST_EARLIEST_PENDING_UPLOAD: out->leader_epoch = -1; break;
    case LIST_MAX_TIMESTAMP:
        s.max_mode = true;
        if (!scan_batches(bp, partition_log_start_offset(bp->log), ts_batch, &s))
            out->error_code = SAMSA_ERR_KAFKA_STORAGE_ERROR;
        out->offset = s.offset;
        out->timestamp = s.found_ms;
        break;
    default: {
        if (timestamp < 0) {
            out->error_code = SAMSA_ERR_INVALID_REQUEST;
            break;
        }
        int64_t batch_offset, batch_ts;
        if (partition_log_offset_for_timestamp(bp->log, timestamp, &batch_offset, &batch_ts)) {
            out->leader_epoch = -1;
            break;
        }
        if (!scan_batches(bp, batch_offset, ts_batch, &s))
            out->error_code = SAMSA_ERR_KAFKA_STORAGE_ERROR;
        out->offset = s.offset;
        out->timestamp = s.found_ms;
        if (s.offset < 0)
            out->leader_epoch = -1;
        break;
    }
    }
    buf_free(&s.scratch);
}

void handle_list_offsets(struct broker *b, broker_request_t *req)
{
    const list_offsets_request_t *r = req->body;
    list_offsets_response_t *resp = broker_response_new(req);
    int32_t ntopics = r->topics_count > 0 ? r->topics_count : 0;
    if (resp)
        resp->topics = BROKER_ARRAY(req, &list_offsets_response_desc, list_offsets_response_t,
                                    topics, ntopics);
    if (!resp || (ntopics > 0 && !resp->topics)) {
        broker_request_respond(req, NULL);
        return;
    }
    const proto_struct_t *topic_desc =
        BROKER_SUB(&list_offsets_response_desc, list_offsets_response_t, topics);
    resp->topics_count = ntopics;
    for (int32_t i = 0; i < ntopics; i++) {
        const list_offsets_request_list_offsets_topic_t *rt = &r->topics[i];
        list_offsets_response_list_offsets_topic_response_t *tout = &resp->topics[i];
        tout->name = rt->name;
        broker_topic_t *t = topic_find(b, rt->name);
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
        tout->partitions = BROKER_ARRAY(
            req, topic_desc, list_offsets_response_list_offsets_topic_response_t, partitions, np);
        if (!tout->partitions)
            continue;
        tout->partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            list_offsets_response_list_offsets_partition_response_t *out = &tout->partitions[j];
            out->partition_index = rt->partitions[j].partition_index;
            broker_partition_t *bp = topic_partition(t, out->partition_index);
            if (!bp) {
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                out->timestamp = -1;
                out->offset = -1;
                continue;
            }
            list_partition(bp, rt->partitions[j].timestamp, out);
        }
    }
    broker_request_respond(req, resp);
}

void handle_offset_for_leader_epoch(struct broker *b, broker_request_t *req)
{
    const offset_for_leader_epoch_request_t *r = req->body;
    offset_for_leader_epoch_response_t *resp = broker_response_new(req);
    int32_t ntopics = r->topics_count > 0 ? r->topics_count : 0;
    if (resp)
        resp->topics = BROKER_ARRAY(req, &offset_for_leader_epoch_response_desc,
                                    offset_for_leader_epoch_response_t, topics, ntopics);
    if (!resp || (ntopics > 0 && !resp->topics)) {
        broker_request_respond(req, NULL);
        return;
    }
    const proto_struct_t *topic_desc =
        BROKER_SUB(&offset_for_leader_epoch_response_desc, offset_for_leader_epoch_response_t, topics);
    resp->topics_count = ntopics;
    for (int32_t i = 0; i < ntopics; i++) {
        const offset_for_leader_epoch_request_offset_for_leader_topic_t *rt = &r->topics[i];
        offset_for_leader_epoch_response_offset_for_leader_topic_result_t *tout = &resp->topics[i];
        tout->topic = rt->topic;
        broker_topic_t *t = topic_find(b, rt->topic);
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
        tout->partitions = BROKER_ARRAY(
            req, topic_desc, offset_for_leader_epoch_response_offset_for_leader_topic_result_t,
            partitions, np);
        if (!tout->partitions)
            continue;
        tout->partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            const offset_for_leader_epoch_request_offset_for_leader_partition_t *rp =
                &rt->partitions[j];
            offset_for_leader_epoch_response_epoch_end_offset_t *out = &tout->partitions[j];
            out->partition = rp->partition;
            out->leader_epoch = -1;
            out->end_offset = -1;
            broker_partition_t *bp = topic_partition(t, rp->partition);
            if (!bp)
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (rp->current_leader_epoch > BROKER_LEADER_EPOCH)
                out->error_code = SAMSA_ERR_UNKNOWN_LEADER_EPOCH;
            else if (rp->leader_epoch >= BROKER_LEADER_EPOCH) {
                /* Every batch carries epoch 0: it ends at the log end. */
                out->leader_epoch = BROKER_LEADER_EPOCH;
                out->end_offset = partition_log_end_offset(bp->log);
            }
        }
    }
    broker_request_respond(req, resp);
}

void handle_delete_records(struct broker *b, broker_request_t *req)
{
    const delete_records_request_t *r = req->body;
    delete_records_response_t *resp = broker_response_new(req);
    int32_t ntopics = r->topics_count > 0 ? r->topics_count : 0;
    if (resp)
        resp->topics = BROKER_ARRAY(req, &delete_records_response_desc, delete_records_response_t,
                                    topics, ntopics);
    if (!resp || (ntopics > 0 && !resp->topics)) {
        broker_request_respond(req, NULL);
        return;
    }
    const proto_struct_t *topic_desc =
        BROKER_SUB(&delete_records_response_desc, delete_records_response_t, topics);
    resp->topics_count = ntopics;
    for (int32_t i = 0; i < ntopics; i++) {
        const delete_records_request_delete_records_topic_t *rt = &r->topics[i];
        delete_records_response_delete_records_topic_result_t *tout = &resp->topics[i];
        tout->name = rt->name;
        broker_topic_t *t = topic_find(b, rt->name);
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;
        tout->partitions = BROKER_ARRAY(
            req, topic_desc, delete_records_response_delete_records_topic_result_t, partitions, np);
        if (!tout->partitions)
            continue;
        tout->partitions_count = np;
        for (int32_t j = 0; j < np; j++) {
            delete_records_response_delete_records_partition_result_t *out = &tout->partitions[j];
            out->partition_index = rt->partitions[j].partition_index;
            out->low_watermark = -1;
            broker_partition_t *bp = topic_partition(t, out->partition_index);
            if (!bp) {
                out->error_code = SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            int64_t low;
            samsa_err_t err = partition_log_delete_records(bp->log, rt->partitions[j].offset, &low);
            if (err == SAMSA_ERR_NONE) {
                out->low_watermark = low;
                producer_state_truncate_head(bp->producer_state, low);
            } else
                out->error_code = (int16_t)(err > 0 ? err : SAMSA_ERR_KAFKA_STORAGE_ERROR);
        }
    }
    broker_request_respond(req, resp);
}
