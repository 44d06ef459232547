/*
 * producer_io.c: the producer's I/O thread (see producer_int.h): it takes
 * messages from the input queue, picks their partitions (explicit, custom
 * partitioner, murmur2 of the key as the Java client does, or sticky for
 * keyless messages), turns partition queues into batches, sends one Produce
 * request per leader with a batch per partition, and handles the answers:
 * delivery, retries within delivery.timeout.ms, metadata refreshes after
 * leader errors, and idempotence (InitProducerId, sequences, a new producer
 * id when the sequences can no longer be trusted).
 *
 * Callbacks from connections never run a round directly: they kick the
 * wake timer, so rounds do not nest.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/murmur2.h"
#include "base/slog.h"
#include "client/producer_int.h"
#include "proto/messages.h"

/* v13 names topics by id only: a request goes at v13 only when every
 * topic in it has its id from Metadata (v10 and later), else at most at 12 */
#define PRODUCE_MAX_VERSION 13
#define PRODUCE_MAX_VERSION_BY_NAME 12
#define TICK_MS 100
#define SPLICE_MIN_BYTES 16384 /* batches from this size on are not copied into requests */

/* One Produce request: which batches it carries. */
typedef struct preq {
    samsa_producer_t *p;
    int32_t node_id;
    int lane; /* which of the connections to node_id (cluster_broker_lane) */
    int count;
    int cap;
    pbatch_t **batches;
    /* The request as encoded, kept past the encoder's return: the
     * connection reads the spliced batches' places from these records
     * then (the batches' bytes stay until the request completes). */
    produce_request_topic_produce_data_t *topics;
    produce_request_partition_produce_data_t *parts;
} preq_t;

static void io_round(loop_t *loop, void *opaque);

static void io_wake_at(producer_io_t *io, int64_t due_ms)
{
    if (io->stopped)
        return;
    int64_t now = loop_now_ms(io->loop);
    if (due_ms < now)
        due_ms = now;
    if (io->wake_timer && io->wake_due_ms <= due_ms)
        return;
    loop_timer_cancel(io->loop, io->wake_timer);
    io->wake_timer = NULL;
    io->wake_timer = loop_timer_add(io->loop, due_ms - now, io_round, io->owner);
    io->wake_due_ms = due_ms;
}

static void io_kick(producer_io_t *io) { io_wake_at(io, 0); }

void producer_report(samsa_producer_t *p, pmsg_queue_t *done)
{
    if (!done->head)
        return;
    pthread_mutex_lock(&p->lock);
    pmsg_queue_concat(&p->reports, done);
    pthread_mutex_unlock(&p->lock);
    /* After the lock, which the woken poll() takes first thing. */
    pthread_cond_broadcast(&p->report_cond);
}

static bool retriable(samsa_err_t err)
{
    switch ((int)err) {
    case SAMSA_ERR_CORRUPT_MESSAGE:
    case SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case SAMSA_ERR_LEADER_NOT_AVAILABLE:
    case SAMSA_ERR_NOT_LEADER_OR_FOLLOWER:
    case SAMSA_ERR_REQUEST_TIMED_OUT:
    case SAMSA_ERR_NETWORK_EXCEPTION:
    case SAMSA_ERR_NOT_ENOUGH_REPLICAS:
    case SAMSA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case SAMSA_ERR_KAFKA_STORAGE_ERROR:
    case SAMSA_ERR_FENCED_LEADER_EPOCH:
    case SAMSA_ERR_UNKNOWN_LEADER_EPOCH:
    case SAMSA_ERR_THROTTLING_QUOTA_EXCEEDED:
    case SAMSA_ERR_UNKNOWN_TOPIC_ID:
    case SAMSA_ERR_INCONSISTENT_TOPIC_ID:
    case SAMSA_ERR__TRANSPORT:
    case SAMSA_ERR__TIMED_OUT:
        return true;
    default:
        return false;
    }
}

static bool leader_error(samsa_err_t err)
{
    return err == SAMSA_ERR_NOT_LEADER_OR_FOLLOWER || err == SAMSA_ERR_LEADER_NOT_AVAILABLE ||
           err == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION || err == SAMSA_ERR_FENCED_LEADER_EPOCH ||
           err == SAMSA_ERR_UNKNOWN_LEADER_EPOCH || err == SAMSA_ERR__TRANSPORT ||
           err == SAMSA_ERR_KAFKA_STORAGE_ERROR || err == SAMSA_ERR_UNKNOWN_TOPIC_ID ||
           err == SAMSA_ERR_INCONSISTENT_TOPIC_ID;
}

/* ---- topics and partitions ------------------------------------------ */

static ptopic_t *io_topic(samsa_producer_t *p, const char *name)
{
    producer_io_t *io = &p->io;
    cluster_topic_t *ct = cluster_topic(&io->cluster, name);
    if (!ct)
        return NULL;
    if (ct->owner_data)
        return ct->owner_data;
    ptopic_t **grown = realloc(io->topics, sizeof(*grown) * (size_t)(io->topic_count + 1));
    if (!grown)
        return NULL;
    io->topics = grown;
    ptopic_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ct = ct;
    t->sticky_partition = -1;
    ct->owner_data = t;
    io->topics[io->topic_count++] = t;
    return t;
}

/* Grows t's partitions to what metadata says. Returns false on no memory. */
static bool sync_partitions(producer_io_t *io, ptopic_t *t)
{
    int32_t n = t->ct->partition_count;
    if (n <= t->part_count)
        return true;
    ppart_t **grown = realloc(t->parts, sizeof(*grown) * (size_t)n);
    if (!grown)
        return false;
    t->parts = grown;
    for (int32_t i = t->part_count; i < n; i++) {
        ppart_t *pp = calloc(1, sizeof(*pp));
        if (!pp)
            return false;
        pp->topic = t;
        pp->partition = i;
        pp->built_bytes = &io->built_bytes;
        pp->spares = &io->spares;
        t->parts[i] = pp;
        t->part_count = i + 1;
    }
    return true;
}

static int32_t pick_sticky(producer_io_t *io, ptopic_t *t)
{
    int32_t n = t->part_count;
    int32_t avail[64];
    int navail = 0;
    for (int32_t i = 0; i < n && navail < 64; i++)
        if (t->ct->partitions[i].leader_id >= 0 && i != t->sticky_partition)
            avail[navail++] = i;
    if (navail)
        return avail[rand_r(&io->rand_state) % (unsigned)navail];
    return (int32_t)(rand_r(&io->rand_state) % (unsigned)n);
}

/* Chooses m's partition in t (metadata known). Returns false and sets m's
 * error when none can be chosen. */
static bool choose_partition(samsa_producer_t *p, ptopic_t *t, pmsg_t *m)
{
    int32_t n = t->part_count;
    int32_t part = m->partition;
    if (part < 0 && p->cb.partitioner) {
        part = p->cb.partitioner(m->topic, m->key, m->key_len, n, p->cb.opaque);
        if (part < 0 || part >= n) {
            pmsg_set_error(m, SAMSA_ERR__INVALID_ARG,
                           "topic %s: the partitioner returned %d for %d partitions", m->topic,
                           (int)part, (int)n);
            return false;
        }
    } else if (part < 0 && m->key) {
        part = murmur2_partition(m->key, m->key_len, n);
    } else if (part < 0) {
        /* Keyless messages leave a partition that lost its leader at once,
         * as Java's client picks only among partitions that have one. */
        if (t->sticky_partition < 0 || t->sticky_partition >= n ||
            t->ct->partitions[t->sticky_partition].leader_id < 0)
            t->sticky_partition = pick_sticky(&p->io, t);
        part = t->sticky_partition;
    }
    if (part >= n) {
        pmsg_set_error(m, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                       "topic %s [%d]: no such partition (the topic has %d)", m->topic, (int)part,
                       (int)n);
        return false;
    }
    m->partition = part;
    return true;
}

/* Puts m (its topic's metadata known, t's partitions in step with it)
 * in its partition. */
static void place(samsa_producer_t *p, ptopic_t *t, pmsg_t *m, pmsg_queue_t *done)
{
    producer_io_t *io = &p->io;
    bool idempotent = p->cfg.enable_idempotence;
    bool can_build = !idempotent || (io->producer_id >= 0 && !io->need_new_pid);
    bool sticky = m->partition < 0 && !m->key && !p->cb.partitioner;
    if (!choose_partition(p, t, m)) {
        pmsg_queue_push(done, m);
        return;
    }
    ppart_t *pp = t->parts[m->partition];
    /* Written into the partition's open batch now, while the message
     * is in the CPU's cache. A built batch copies its messages, which
     * stay for their reports: batches may take up to half of
     * buffer.memory beside them before messages queue instead. */
    if (can_build && !pp->queue.head &&
        (pp->open || io->built_bytes < (size_t)p->cfg.buffer_memory_bytes / 2)) {
        bool sealed;
        ppart_add(pp, m, &p->cfg, idempotent ? io->producer_id : -1, io->producer_epoch, done,
                  &sealed);
        /* A batch's worth went to the sticky partition: move on (KIP-794). */
        if (sticky && sealed)
            t->sticky_partition = -1;
        return;
    }
    ppart_enqueue(pp, m);
    /* A batch's worth went to the sticky partition: move on (KIP-794),
     * counting what the records take in the batch, so that the batch
     * is whole (and built at once, below) when it does. */
    if (sticky && ppart_batch_reached(pp, &p->cfg))
        t->sticky_partition = -1;
    /* A full batch waits: build it now, while its messages are in the
     * cache (built later, from a queue that grew past the cache, each
     * message is a miss, and with several partitions an unordered one). */
    if (can_build && io->built_bytes < (size_t)p->cfg.buffer_memory_bytes / 2 &&
        ppart_full(pp, &p->cfg))
        ppart_build_batch(pp, &p->cfg, idempotent ? io->producer_id : -1,
                          io->producer_epoch, done);
}

/* Moves messages that wait for metadata into their partitions, or fails
 * them when the topic is in error for good. */
static void place_waiting(samsa_producer_t *p, ptopic_t *t, pmsg_queue_t *done)
{
    cluster_topic_t *ct = t->ct;
    if (!t->waiting.head)
        return;
    int16_t e = ct->error;
    if (e && e != SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION && e != SAMSA_ERR_LEADER_NOT_AVAILABLE &&
        !retriable(e)) {
        pmsg_t *m;
        while ((m = pmsg_queue_pop(&t->waiting))) {
            pmsg_set_error(m, e, "topic %s: metadata error %s: %s", m->topic,
                           samsa_err_name(e), samsa_err_str(e));
            pmsg_queue_push(done, m);
        }
        return;
    }
    if (!ct->known || ct->partition_count <= 0) {
        cluster_want_refresh(&p->io.cluster);
        return;
    }
    if (!sync_partitions(&p->io, t))
        return;
    pmsg_t *m;
    while ((m = pmsg_queue_pop(&t->waiting)))
        place(p, t, m, done);
}

void producer_io_drain(void *opaque)
{
    samsa_producer_t *p = opaque;
    producer_io_t *io = &p->io;
    pthread_mutex_lock(&p->lock);
    pmsg_queue_t in = p->input;
    memset(&p->input, 0, sizeof(p->input));
    p->input_posted = false;
    if (!io->stopped && io->last_topic && p->hint != io->last_topic) {
        p->hint = io->last_topic;
        snprintf(p->hint_name, sizeof(p->hint_name), "%s", io->last_topic->ct->name);
    }
    io->flushing = p->flush_requests > 0;
    pthread_mutex_unlock(&p->lock);
    if (io->stopped) {
        pthread_mutex_lock(&p->lock);
        pmsg_queue_concat(&in, &p->input);
        p->input = in;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    pmsg_queue_t done = {0};
    /* linger and delivery.timeout.ms count from the loop's clock, which
     * send_round compares with: a fresh reading may be a millisecond ahead
     * of it, and a message with linger.ms=0 would then look not ready yet
     * and wait for a timer a millisecond away (about 1% of messages did). */
    int64_t now = loop_now_ms(io->loop);
    int64_t wall = clock_wall_ms();
    pmsg_t *m;
    while ((m = pmsg_queue_pop(&in))) {
        m->enqueued_ms = now;
        if (!m->timestamp_ms)
            m->timestamp_ms = wall;
        /* A topic, once known here, stays until the producer is freed. */
        ptopic_t *t = m->topic_hint ? m->topic_hint : io_topic(p, m->topic);
        m->topic_hint = NULL;
        io->last_topic = t;
        if (!t) {
            pmsg_set_error(m, SAMSA_ERR__NOMEM, "topic %s: out of memory", m->topic);
            pmsg_queue_push(&done, m);
            continue;
        }
        /* Straight to its partition when nothing waits before it. */
        if (!t->waiting.head && t->ct->known && !t->ct->error &&
            t->ct->partition_count > 0 && t->part_count == t->ct->partition_count) {
            place(p, t, m, &done);
            continue;
        }
        pmsg_queue_push(&t->waiting, m);
        place_waiting(p, t, &done);
    }
    producer_report(p, &done);
    io_kick(io);
}

/* ---- batches: success and failure ----------------------------------- */

static void batch_done(samsa_producer_t *p, pbatch_t *b, int64_t base_offset,
                       int64_t log_append_time_ms, pmsg_queue_t *done)
{
    b->part->seq_confirmed = true;
    pmsg_t *first = b->msgs.head;
    if (first) { /* the others are filled in by poll (see pmsg_t) */
        first->run_count = (uint32_t)b->msgs.count;
        first->run_msgs = b->msgv;
        b->msgv = NULL;
        first->offset = base_offset >= 0 ? base_offset : -1;
        first->result_timestamp_ms = log_append_time_ms >= 0 ? log_append_time_ms : -1;
    }
    pmsg_queue_concat(done, &b->msgs);
    ppart_remove_batch(b->part, b);
    pbatch_free(b);
}

static void batch_fail(samsa_producer_t *p, pbatch_t *b, samsa_err_t err, const char *where,
                       const char *message, pmsg_queue_t *done)
{
    ppart_t *pp = b->part;
    for (pmsg_t *m = b->msgs.head; m; m = m->next)
        pmsg_set_error(m, err, "topic %s [%d] on %s: %s: %s%s%s", m->topic, (int)pp->partition,
                       where, samsa_err_name(err), samsa_err_str(err), message ? ": " : "",
                       message ? message : "");
    pmsg_queue_concat(done, &b->msgs);
    ppart_remove_batch(pp, b);
    pbatch_free(b);
    /* A sequence was used up without being written: later batches would be
     * out of order, so start over with a new producer id (as Java does). */
    if (p->cfg.enable_idempotence && err != SAMSA_ERR__DESTROYED)
        p->io.need_new_pid = true;
}

/* One partition's answer (or a request-level error) for batch b. */
static void batch_result(samsa_producer_t *p, pbatch_t *b, samsa_err_t err, int64_t base_offset,
                         int64_t log_append_time_ms, const char *where, const char *message,
                         pmsg_queue_t *done)
{
    producer_io_t *io = &p->io;
    int64_t now = loop_now_ms(io->loop);
    ppart_t *pp = b->part;
    if (!err || err == SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER) {
        batch_done(p, b, err ? -1 : base_offset, log_append_time_ms, done);
        return;
    }
    if ((err == SAMSA_ERR_MESSAGE_TOO_LARGE || err == SAMSA_ERR_RECORD_LIST_TOO_LARGE) &&
        b->record_count > 1) {
        /* Too large for the broker's limit: resend in halves, as Java does. */
        pmsg_queue_t lost = {0};
        bool idempotent = p->cfg.enable_idempotence;
        samsa_err_t split = ppart_split_batch(pp, b, &p->cfg, idempotent ? io->producer_id : -1,
                                              io->producer_epoch, now, &lost);
        for (pmsg_t *m = lost.head; m; m = m->next)
            if (!m->err)
                pmsg_set_error(m, split, "topic %s [%d]: cannot split a batch %s rejected: %s",
                               m->topic, (int)pp->partition, where, samsa_err_str(split));
        if (split && idempotent)
            io->need_new_pid = true;
        pmsg_queue_concat(done, &lost);
        return;
    }
    bool retry = retriable(err);
    if (err == SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER && pp->batches != b)
        retry = true; /* an older batch failed first; this one follows it */
    if (err == SAMSA_ERR_UNKNOWN_PRODUCER_ID || (err == SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER && !retry)) {
        io->need_new_pid = true; /* the broker lost our state: renumber and resend */
        retry = true;
    }
    if (leader_error(err))
        cluster_want_refresh(&io->cluster);
    if (retry && err != SAMSA_ERR__DESTROYED && b->attempts < p->cfg.retries &&
        now < b->first_enqueued_ms + p->cfg.delivery_timeout_ms) {
        b->attempts++;
        b->retry_at_ms = now + p->cfg.retry_backoff_ms;
        slog_debug("producer", "topic %s [%d] on %s: %s, retry %d", pp->topic->ct->name,
                   (int)pp->partition, where, samsa_err_name(err), b->attempts);
        return;
    }
    batch_fail(p, b, err, where, message, done);
}

/* ---- Produce requests ------------------------------------------------ */

static int cmp_batch_topic(const void *a, const void *b)
{
    const pbatch_t *x = *(pbatch_t *const *)a, *y = *(pbatch_t *const *)b;
    return strcmp(x->part->topic->ct->name, y->part->topic->ct->name);
}

static samsa_err_t encode_produce(void *opaque, int16_t version, buf_t *out,
                                  proto_splices_t *splices)
{
    preq_t *rq = opaque;
    samsa_producer_t *p = rq->p;
    produce_request_t req;
    const proto_api_t *api = proto_api(API_PRODUCE);
    proto_init(api->request, &req);
    req.acks = p->cfg.acks;
    req.timeout_ms = p->cfg.request_timeout_ms;
    free(rq->topics);
    free(rq->parts);
    produce_request_topic_produce_data_t *topics = rq->topics =
        calloc((size_t)rq->count, sizeof(*topics));
    produce_request_partition_produce_data_t *parts = rq->parts =
        calloc((size_t)rq->count, sizeof(*parts));
    if (!topics || !parts)
        return SAMSA_ERR__NOMEM;
    int nt = 0;
    for (int i = 0; i < rq->count; i++) {
        pbatch_t *b = rq->batches[i];
        if (!nt || !proto_str_eq(topics[nt - 1].name, b->part->topic->ct->name)) {
            topics[nt].name = proto_str_of(b->part->topic->ct->name);
            topics[nt].topic_id = b->part->topic->ct->id;
            topics[nt].partition_data = &parts[i];
            nt++;
        }
        topics[nt - 1].partition_data_count++;
        b->sent_topic_id = topics[nt - 1].topic_id;
        parts[i].index = b->part->partition;
        /* A large batch is written from where it is (its bytes spliced into
         * the request, not copied); a small one costs less copied than as
         * a piece of its own for sendmsg (a request may hold hundreds). */
        parts[i].records = (proto_records_t){b->data.data, (int32_t)b->data.len,
                                             b->data.len >= SPLICE_MIN_BYTES ? b : NULL};
    }
    req.topic_data = topics;
    req.topic_data_count = nt;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out,
                        splices);
}

static void preq_free(preq_t *rq)
{
    free(rq->batches);
    free(rq->topics);
    free(rq->parts);
    free(rq);
}

/* The batch the answer's topic (by id from v13 on, else by name) and
 * partition are about, taken out of the request; NULL when none is. */
static pbatch_t *take_batch(preq_t *rq, int16_t version,
                            const produce_response_topic_produce_response_t *tr, int32_t partition)
{
    for (int i = 0; i < rq->count; i++) {
        pbatch_t *b = rq->batches[i];
        if (b && b->part->partition == partition &&
            (version >= 13 ? proto_uuid_eq(&tr->topic_id, &b->sent_topic_id)
                           : proto_str_eq(tr->name, b->part->topic->ct->name))) {
            rq->batches[i] = NULL;
            return b;
        }
    }
    return NULL;
}

static void on_produce(void *opaque, conn_t *c, samsa_err_t err, int16_t version, const void *resp)
{
    preq_t *rq = opaque;
    samsa_producer_t *p = rq->p;
    producer_io_t *io = &p->io;
    pmsg_queue_t done = {0};
    for (int i = 0; i < rq->count; i++) {
        rq->batches[i]->in_flight = false;
        rq->batches[i]->part->in_flight--;
        io->in_flight_batches--;
    }
    const produce_response_t *r = resp;
    if (!err && r) {
        for (int32_t t = 0; t < r->responses_count; t++) {
            const produce_response_topic_produce_response_t *tr = &r->responses[t];
            for (int32_t k = 0; k < tr->partition_responses_count; k++) {
                const produce_response_partition_produce_response_t *pr = &tr->partition_responses[k];
                pbatch_t *b = take_batch(rq, version, tr, pr->index);
                if (!b)
                    continue;
                char msg[256] = "";
                if (pr->error_message.len > 0)
                    snprintf(msg, sizeof(msg), "%.*s", (int)pr->error_message.len, pr->error_message.ptr);
                batch_result(p, b, pr->error_code, pr->base_offset, pr->log_append_time_ms,
                             conn_name(c), msg[0] ? msg : NULL, &done);
            }
        }
    }
    for (int i = 0; i < rq->count; i++) {
        pbatch_t *b = rq->batches[i];
        if (!b)
            continue;
        if (!err && !r) /* acks=0: written is all we learn */
            batch_done(p, b, -1, -1, &done);
        else
            batch_result(p, b, err ? err : SAMSA_ERR__BAD_MSG, -1, -1, conn_name(c),
                         err ? NULL : "the response did not mention this partition", &done);
    }
    preq_free(rq);
    producer_report(p, &done);
    io_kick(io);
}

static preq_t *preq_for(samsa_producer_t *p, preq_t ***list, int *count, int32_t node_id,
                        int lane)
{
    for (int i = 0; i < *count; i++)
        if ((*list)[i]->node_id == node_id && (*list)[i]->lane == lane)
            return (*list)[i];
    preq_t **grown = realloc(*list, sizeof(*grown) * (size_t)(*count + 1));
    if (!grown)
        return NULL;
    *list = grown;
    preq_t *rq = calloc(1, sizeof(*rq));
    if (!rq)
        return NULL;
    rq->p = p;
    rq->node_id = node_id;
    rq->lane = lane;
    grown[(*count)++] = rq;
    return rq;
}

static bool preq_add(preq_t *rq, pbatch_t *b)
{
    if (rq->count == rq->cap) {
        int cap = rq->cap ? rq->cap * 2 : 8;
        pbatch_t **grown = realloc(rq->batches, sizeof(*grown) * (size_t)cap);
        if (!grown)
            return false;
        rq->batches = grown;
        rq->cap = cap;
    }
    rq->batches[rq->count++] = b;
    return true;
}

/* Builds batches that are ready and sends one request per connection
 * that can take one. A broker works on one request of a connection at a
 * time, so with connections.per.broker above 1 a leader's partitions are
 * spread over that many connections to it: each partition always goes
 * over the same one, which keeps its batches in order. Returns whether
 * anything was sent. */
static bool send_round(samsa_producer_t *p, int64_t now, pmsg_queue_t *done)
{
    producer_io_t *io = &p->io;
    bool idempotent = p->cfg.enable_idempotence;
    if (idempotent && (io->producer_id < 0 || io->need_new_pid))
        return false;
    preq_t **reqs = NULL;
    int nreqs = 0;
    size_t *req_bytes = NULL;
    for (int ti = 0; ti < io->topic_count; ti++) {
        ptopic_t *t = io->topics[ti];
        for (int32_t pi = 0; pi < t->part_count && pi < t->ct->partition_count; pi++) {
            ppart_t *pp = t->parts[pi];
            int32_t leader = t->ct->partitions[pi].leader_id;
            if (leader < 0) {
                if (pp->open || pp->queue.head || pp->batches)
                    cluster_want_refresh(&io->cluster);
                continue;
            }
            int lane = (int)((pi + ti) % p->cfg.connections_per_broker);
            conn_t *c = cluster_broker_lane(&io->cluster, leader, lane);
            if (!c)
                continue;
            if (conn_state(c) != CONN_UP) {
                if (pp->open || pp->queue.head || pp->batches)
                    conn_connect(c);
                continue;
            }
            if (!conn_can_send(c))
                continue;
            /* After a leader change, batches still on their way to the old
             * leader come back first: sent to the new one meanwhile, later
             * batches could be written before them. */
            if (pp->in_flight > 0 && pp->in_flight_node != leader)
                continue;
            if (!ppart_first_unsent(pp) && ppart_ready(pp, &p->cfg, now, io->flushing)) {
                if (ppart_build_batch(pp, &p->cfg, idempotent ? io->producer_id : -1,
                                      io->producer_epoch, done) == SAMSA_ERR_NONE &&
                    t->sticky_partition == pi)
                    t->sticky_partition = -1; /* next keyless messages go elsewhere */
            }
            /* Until the broker has written a batch of this partition under
             * our producer id it accepts any first sequence: were the first
             * batch lost, the ones behind it would be written before its
             * retry. So the first goes alone; later gaps the broker refuses. */
            int max_in_flight = idempotent && !pp->seq_confirmed ? 1 : p->cfg.max_in_flight;
            pbatch_t *b = ppart_next_sendable(pp, max_in_flight, now);
            if (!b)
                continue;
            preq_t *rq = preq_for(p, &reqs, &nreqs, leader, lane);
            size_t *grown = rq ? realloc(req_bytes, sizeof(*grown) * (size_t)nreqs) : NULL;
            if (!grown)
                break;
            req_bytes = grown;
            int idx = 0;
            while (reqs[idx] != rq)
                idx++;
            if (rq->count == 0)
                req_bytes[idx] = 0;
            if (rq->count && req_bytes[idx] + b->data.len + 100 > (size_t)p->cfg.max_request_bytes)
                continue;
            if (!preq_add(rq, b))
                break;
            req_bytes[idx] += b->data.len + 100;
            b->in_flight = true;
            pp->in_flight++;
            pp->in_flight_node = leader;
            io->in_flight_batches++;
        }
    }
    bool sent = false;
    for (int i = 0; i < nreqs; i++) {
        preq_t *rq = reqs[i];
        conn_t *c = cluster_broker_lane(&io->cluster, rq->node_id, rq->lane);
        if (!rq->count) {
            preq_free(rq);
            continue;
        }
        qsort(rq->batches, (size_t)rq->count, sizeof(rq->batches[0]), cmp_batch_topic);
        int16_t max_version = PRODUCE_MAX_VERSION;
        for (int k = 0; k < rq->count; k++)
            if (proto_uuid_is_zero(&rq->batches[k]->part->topic->ct->id))
                max_version = PRODUCE_MAX_VERSION_BY_NAME;
        conn_request_t creq = {.api_key = API_PRODUCE,
                               .max_version = max_version,
                               .no_response = p->cfg.acks == 0,
                               .encode_spliced = encode_produce,
                               .on_response = on_produce,
                               .opaque = rq};
        samsa_err_t err = conn_send(c, &creq);
        if (err)
            on_produce(rq, c, err, -1, NULL);
        else
            sent = true;
    }
    free(reqs);
    free(req_bytes);
    return sent;
}

/* ---- idempotence ---------------------------------------------------- */

static samsa_err_t encode_init_pid(void *opaque, int16_t version, buf_t *out)
{
    init_producer_id_request_t req;
    const proto_api_t *api = proto_api(API_INIT_PRODUCER_ID);
    proto_init(api->request, &req);
    req.transactional_id = (proto_str_t){NULL, -1};
    req.transaction_timeout_ms = 60000;
    req.producer_id = -1;
    req.producer_epoch = -1;
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static void on_init_pid(void *opaque, conn_t *c, samsa_err_t err, int16_t version, const void *resp)
{
    samsa_producer_t *p = opaque;
    producer_io_t *io = &p->io;
    io->pid_requested = false;
    if (err == SAMSA_ERR__DESTROYED)
        return;
    const init_producer_id_response_t *r = resp;
    if (!err)
        err = r->error_code;
    if (err) {
        if (retriable(err) || err == SAMSA_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
            err == SAMSA_ERR_COORDINATOR_NOT_AVAILABLE || err == SAMSA_ERR_NOT_COORDINATOR)
            slog_debug("producer", "%s: InitProducerId: %s, retrying", conn_name(c), samsa_err_name(err));
        else
            slog_warn("producer", "%s: InitProducerId failed: %s", conn_name(c), samsa_err_name(err));
        io_wake_at(io, loop_now_ms(io->loop) + p->cfg.retry_backoff_ms);
        return;
    }
    io->producer_id = r->producer_id;
    io->producer_epoch = r->producer_epoch;
    io->need_new_pid = false;
    for (int ti = 0; ti < io->topic_count; ti++)
        for (int32_t pi = 0; pi < io->topics[ti]->part_count; pi++) {
            ppart_restamp(io->topics[ti]->parts[pi], io->producer_id, io->producer_epoch);
            io->topics[ti]->parts[pi]->seq_confirmed = false;
        }
    slog_debug("producer", "producer id %" PRId64 " epoch %d", io->producer_id,
               (int)io->producer_epoch);
    io_kick(io);
}

static void maybe_init_pid(samsa_producer_t *p, int64_t now)
{
    producer_io_t *io = &p->io;
    if (!p->cfg.enable_idempotence || io->pid_requested)
        return;
    if (io->producer_id >= 0 && !io->need_new_pid)
        return;
    if (io->in_flight_batches > 0)
        return; /* wait for what is on the wire before renumbering */
    conn_t *c = cluster_any_conn(&io->cluster);
    if (!c)
        return;
    conn_request_t req = {API_INIT_PRODUCER_ID, -1, false, 0,
                          encode_init_pid, on_init_pid, p, NULL};
    /* Set before: the request can complete (and clear it) within conn_send. */
    io->pid_requested = true;
    if (conn_send(c, &req) != SAMSA_ERR_NONE)
        io->pid_requested = false;
}

/* ---- timeouts and the round ----------------------------------------- */

static void expire_queue(pmsg_queue_t *q, int64_t deadline_base, const char *what, int32_t partition,
                         pmsg_queue_t *done, const client_config_t *cfg)
{
    while (q->head && q->head->enqueued_ms + cfg->delivery_timeout_ms <= deadline_base) {
        pmsg_t *m = pmsg_queue_pop(q);
        if (partition >= 0)
            pmsg_set_error(m, SAMSA_ERR__TIMED_OUT,
                           "topic %s [%d]: not delivered within delivery.timeout.ms (%d ms): %s",
                           m->topic, (int)partition, (int)cfg->delivery_timeout_ms, what);
        else
            pmsg_set_error(m, SAMSA_ERR__TIMED_OUT,
                           "topic %s: not delivered within delivery.timeout.ms (%d ms): %s",
                           m->topic, (int)cfg->delivery_timeout_ms, what);
        pmsg_queue_push(done, m);
    }
}

static void expire(samsa_producer_t *p, int64_t now, pmsg_queue_t *done)
{
    producer_io_t *io = &p->io;
    for (int ti = 0; ti < io->topic_count; ti++) {
        ptopic_t *t = io->topics[ti];
        expire_queue(&t->waiting, now, "no metadata for the topic", -1, done, &p->cfg);
        for (int32_t pi = 0; pi < t->part_count; pi++) {
            ppart_t *pp = t->parts[pi];
            /* Batches are in the order of their first messages: the
             * first that is still in time ends the search. */
            for (pbatch_t *b = pp->batches, *next; b; b = next) {
                next = b->next;
                if (b->first_enqueued_ms + p->cfg.delivery_timeout_ms > now)
                    break;
                if (!b->in_flight)
                    batch_fail(p, b, SAMSA_ERR__TIMED_OUT, "the client",
                               "not delivered within delivery.timeout.ms", done);
            }
            if (pp->open && pp->open->first_enqueued_ms + p->cfg.delivery_timeout_ms <= now)
                ppart_unopen(pp);
            expire_queue(&pp->queue, now, "no leader available", pi, done, &p->cfg);
            if (!pp->queue.head)
                pp->queue_record_bytes = 0;
        }
    }
}

/* A connection could not be set up securely (wrong credentials, untrusted
 * certificate, ...): retrying will not help, so every message that is not
 * on the wire fails now with that error (later messages try again). */
static void fail_insecure(samsa_producer_t *p, pmsg_queue_t *done)
{
    producer_io_t *io = &p->io;
    samsa_err_t err = io->security_err;
    io->security_err = SAMSA_ERR_NONE;
    for (int ti = 0; ti < io->topic_count; ti++) {
        ptopic_t *t = io->topics[ti];
        pmsg_t *m;
        while ((m = pmsg_queue_pop(&t->waiting))) {
            pmsg_set_error(m, err, "topic %s: %s", m->topic, io->security_reason);
            pmsg_queue_push(done, m);
        }
        for (int32_t pi = 0; pi < t->part_count; pi++) {
            ppart_t *pp = t->parts[pi];
            for (pbatch_t *b = pp->batches, *next; b; b = next) {
                next = b->next;
                if (!b->in_flight)
                    batch_fail(p, b, err, "the client", io->security_reason, done);
            }
            ppart_unopen(pp);
            while ((m = pmsg_queue_pop(&pp->queue))) {
                pmsg_set_error(m, err, "topic %s [%d]: %s", m->topic, (int)pi, io->security_reason);
                pmsg_queue_push(done, m);
            }
            pp->queue_record_bytes = 0;
        }
    }
}

static int64_t next_wake(samsa_producer_t *p, int64_t now)
{
    producer_io_t *io = &p->io;
    int64_t due = now + TICK_MS;
    for (int ti = 0; ti < io->topic_count; ti++) {
        ptopic_t *t = io->topics[ti];
        for (int32_t pi = 0; pi < t->part_count; pi++) {
            ppart_t *pp = t->parts[pi];
            int64_t at = ppart_ready_at(pp, &p->cfg);
            if (at < due && at > now)
                due = at;
            /* Only the oldest unsent batch may go next (ppart_next_sendable). */
            pbatch_t *b = ppart_first_unsent(pp);
            if (b && b->attempts && b->retry_at_ms < due && b->retry_at_ms > now)
                due = b->retry_at_ms;
        }
    }
    return due;
}

static void io_round(loop_t *loop, void *opaque)
{
    samsa_producer_t *p = opaque;
    producer_io_t *io = &p->io;
    io->wake_timer = NULL;
    if (io->stopped)
        return;
    pthread_mutex_lock(&p->lock);
    io->flushing = p->flush_requests > 0;
    pthread_mutex_unlock(&p->lock);
    int64_t now = loop_now_ms(loop);
    pmsg_queue_t done = {0};
    cluster_tick(&io->cluster, now);
    for (int ti = 0; ti < io->topic_count; ti++) {
        sync_partitions(io, io->topics[ti]);
        place_waiting(p, io->topics[ti], &done);
    }
    expire(p, now, &done);
    if (io->security_err)
        fail_insecure(p, &done);
    maybe_init_pid(p, now);
    for (int i = 0; i < 8 && send_round(p, now, &done); i++)
        ;
    producer_report(p, &done);
    io_wake_at(io, next_wake(p, now));
}

static void on_cluster_update(void *owner, samsa_err_t err)
{
    samsa_producer_t *p = owner;
    io_kick(&p->io);
}

static void on_conn_event(void *owner, conn_t *c, bool up, samsa_err_t err, const char *reason)
{
    samsa_producer_t *p = owner;
    if (!up && conn_err_is_security(err)) {
        p->io.security_err = err;
        snprintf(p->io.security_reason, sizeof(p->io.security_reason), "%s: %s", conn_name(c),
                 reason);
    }
    io_kick(&p->io);
}

samsa_err_t producer_io_init(samsa_producer_t *p, char *errbuf, size_t errlen)
{
    producer_io_t *io = &p->io;
    memset(io, 0, sizeof(*io));
    io->owner = p;
    io->loop = p->loop;
    io->producer_id = -1;
    io->producer_epoch = -1;
    io->spares.max_bytes = (size_t)(p->cfg.buffer_memory_bytes / 4);
    io->rand_state = (unsigned)(uintptr_t)p ^ (unsigned)loop_now_ms(p->loop);
    return cluster_init(&io->cluster, p->loop, &p->cfg, on_cluster_update, on_conn_event, p,
                        errbuf, errlen);
}

void producer_io_shutdown(samsa_producer_t *p)
{
    producer_io_t *io = &p->io;
    io->stopped = true;
    io->wake_timer = NULL; /* the loop frees its timers */
    pmsg_queue_t done = {0};
    /* In-flight requests fail with SAMSA_ERR__DESTROYED through on_produce. */
    cluster_free(&io->cluster);
    pthread_mutex_lock(&p->lock);
    pmsg_queue_concat(&done, &p->input);
    pthread_mutex_unlock(&p->lock);
    for (int ti = 0; ti < io->topic_count; ti++) {
        ptopic_t *t = io->topics[ti];
        pmsg_queue_concat(&done, &t->waiting);
        for (int32_t pi = 0; pi < t->part_count; pi++) {
            ppart_t *pp = t->parts[pi];
            while (pp->batches)
                batch_fail(p, pp->batches, SAMSA_ERR__DESTROYED, "the client", "producer closed", &done);
            ppart_unopen(pp);
            pmsg_queue_concat(&done, &pp->queue);
            free(pp);
        }
        free(t->parts);
        free(t);
    }
    free(io->topics);
    io->topics = NULL;
    io->topic_count = 0;
    io->last_topic = NULL;
    pthread_mutex_lock(&p->lock);
    p->hint = NULL; /* freed above */
    pthread_mutex_unlock(&p->lock);
    pbatch_spares_free(&io->spares);
    int64_t wall = clock_wall_ms();
    for (pmsg_t *m = done.head; m; m = m->next) {
        if (!m->timestamp_ms) /* never taken by the I/O thread */
            m->timestamp_ms = wall;
        if (m->err != SAMSA_ERR__DESTROYED)
            pmsg_set_error(m, SAMSA_ERR__DESTROYED, "topic %s: producer closed before delivery",
                           m->topic);
    }
    producer_report(p, &done);
}
