/*
 * producer_batch.c: the producer's messages, per-partition queues and
 * batches (see producer_int.h): when a partition's messages become a batch,
 * how the batch is built and stamped, and which batch may go on the wire
 * next so that retries keep the partition's order.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "client/producer_int.h"
#include "proto/compress.h"

void pmsg_queue_push(pmsg_queue_t *q, pmsg_t *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
    q->bytes += m->bytes;
}

pmsg_t *pmsg_queue_pop(pmsg_queue_t *q)
{
    pmsg_t *m = q->head;
    if (!m)
        return NULL;
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= m->bytes;
    m->next = NULL;
    return m;
}

void pmsg_queue_concat(pmsg_queue_t *dst, pmsg_queue_t *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    dst->count += src->count;
    dst->bytes += src->bytes;
    memset(src, 0, sizeof(*src));
}

/* Each thread's cache of free message blocks, a list per size class. A
 * malloc and a free per message cost about as much as the rest of
 * produce() and poll() together, and a heap that shrinks and grows again
 * faults its pages back in each time. Application threads usually both
 * produce and poll, so a thread's served messages become its next ones
 * without a lock. At most BLOCK_CACHE_MAX_BYTES per thread, a few full
 * batches of small messages; the thread's exit, or the last producer's
 * free on it, frees them. */
#define BLOCK_CLASSES (PMSG_BLOCK_MAX_BYTES / PMSG_BLOCK_STEP)
#define BLOCK_CACHE_MAX_BYTES ((size_t)8 << 20)

typedef struct block_cache {
    pmsg_t *head[BLOCK_CLASSES + 1]; /* by class (1..BLOCK_CLASSES), linked by next */
    size_t bytes;
    bool registered; /* with the key, whose destructor empties it at thread exit */
} block_cache_t;

static __thread block_cache_t block_cache;
static pthread_key_t block_cache_key;
static pthread_once_t block_cache_once = PTHREAD_ONCE_INIT;
static bool block_cache_key_made;

void pmsg_cache_drop(void)
{
    for (int c = 1; c <= BLOCK_CLASSES; c++) {
        pmsg_t *m;
        while ((m = block_cache.head[c])) {
            block_cache.head[c] = m->next;
            free(m);
        }
    }
    block_cache.bytes = 0;
}

static void block_cache_exit(void *unused)
{
    (void)unused;
    pmsg_cache_drop();
}

static void block_cache_make_key(void)
{
    block_cache_key_made = pthread_key_create(&block_cache_key, block_cache_exit) == 0;
}

/* A library unloaded (dlclose) while threads that cached blocks live on
 * must not leave them a destructor in unmapped code: their blocks are
 * left to the process instead. */
__attribute__((destructor)) static void block_cache_unload(void)
{
    if (block_cache_key_made)
        pthread_key_delete(block_cache_key);
}

void *pmsg_alloc(size_t size, uint8_t *block_class)
{
    if (size > PMSG_BLOCK_MAX_BYTES) {
        *block_class = 0;
        return malloc(size);
    }
    unsigned c = (unsigned)((size + PMSG_BLOCK_STEP - 1) / PMSG_BLOCK_STEP);
    *block_class = (uint8_t)c;
    pmsg_t *m = block_cache.head[c];
    if (!m)
        return malloc(c * PMSG_BLOCK_STEP);
    block_cache.head[c] = m->next;
    block_cache.bytes -= c * PMSG_BLOCK_STEP;
    return m;
}

void pmsg_free(pmsg_t *m)
{
    if (!m)
        return;
    free(m->errstr);
    unsigned c = m->block_class;
    if (c && block_cache.bytes + c * PMSG_BLOCK_STEP <= BLOCK_CACHE_MAX_BYTES) {
        if (!block_cache.registered) {
            pthread_once(&block_cache_once, block_cache_make_key);
            /* Any non-NULL value: the destructor runs at the thread's exit. */
            block_cache.registered =
                block_cache_key_made && pthread_setspecific(block_cache_key, &block_cache) == 0;
        }
        if (block_cache.registered) {
            m->next = block_cache.head[c];
            block_cache.head[c] = m;
            block_cache.bytes += c * PMSG_BLOCK_STEP;
            return;
        }
    }
    free(m);
}

void pmsg_set_error(pmsg_t *m, samsa_err_t err, const char *fmt, ...)
{
    m->err = err;
    free(m->errstr);
    m->errstr = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&m->errstr, fmt, ap) < 0)
        m->errstr = NULL;
    va_end(ap);
}

/* A record's size in a batch beside its key, value and headers: length,
 * attributes, timestamp and offset deltas, key and value lengths, header
 * count, as they usually come out (the estimate only decides when to build). */
#define RECORD_FRAMING_BYTES 12
#define HEADER_FRAMING_BYTES 2
/* The most a record without headers takes beside its key and value: five
 * varints of up to 5 bytes and one of up to 10, and the attributes. */
#define RECORD_MAX_FRAMING_BYTES 36

static size_t record_estimate(const pmsg_t *m)
{
    size_t n = RECORD_FRAMING_BYTES + m->key_len + m->value_len;
    for (size_t i = 0; i < m->header_count; i++)
        n += HEADER_FRAMING_BYTES + m->headers[i].name_len + m->headers[i].value_len;
    return n;
}

void ppart_enqueue(ppart_t *pp, pmsg_t *m)
{
    pmsg_queue_push(&pp->queue, m);
    pp->queue_record_bytes += record_estimate(m);
}

/* The most a batch of pp may take: batch.size, and a batch also has to fit
 * in one request with its framing. */
static size_t batch_limit(const client_config_t *cfg)
{
    size_t limit = (size_t)cfg->batch_size_bytes;
    if ((size_t)cfg->max_request_bytes > 200 && limit > (size_t)cfg->max_request_bytes - 200)
        limit = (size_t)cfg->max_request_bytes - 200;
    return limit;
}

bool ppart_full(const ppart_t *pp, const client_config_t *cfg)
{
    return pp->queue.head && pp->queue_record_bytes + BATCH_HEADER_BYTES > batch_limit(cfg);
}

bool ppart_batch_reached(const ppart_t *pp, const client_config_t *cfg)
{
    return pp->queue.head && pp->queue_record_bytes + BATCH_HEADER_BYTES >= batch_limit(cfg);
}

bool ppart_ready(const ppart_t *pp, const client_config_t *cfg, int64_t now_ms, bool flushing)
{
    if (!pp->queue.head && !pp->open)
        return false;
    if (flushing || ppart_batch_reached(pp, cfg))
        return true;
    return now_ms >= ppart_ready_at(pp, cfg);
}

int64_t ppart_ready_at(const ppart_t *pp, const client_config_t *cfg)
{
    if (pp->open)
        return pp->open->first_enqueued_ms + cfg->linger_ms;
    if (!pp->queue.head)
        return INT64_MAX;
    return pp->queue.head->enqueued_ms + cfg->linger_ms;
}

static int32_t seq_add(int32_t seq, int32_t n)
{
    /* Sequences wrap from INT32_MAX to 0, as the Java client's do. */
    return (int32_t)(((int64_t)seq + n) % ((int64_t)INT32_MAX + 1));
}

/* A new batch of pp, its buffer a spare when one is kept (else new, with
 * room for want bytes), started in *bb with its first record's timestamp. */
static pbatch_t *batch_open(ppart_t *pp, batch_builder_t *bb, int64_t first_timestamp_ms,
                            size_t want)
{
    pbatch_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pbatch_spares_t *spares = pp->spares;
    if (spares && spares->count > 0) {
        b->data = spares->bufs[--spares->count];
        spares->bytes -= b->data.cap;
    } else {
        buf_init(&b->data, 0);
    }
    /* Room for the batch at once: grown by doubling, a 1 MB batch would be
     * copied about once more. */
    buf_grow(&b->data, want);
    b->part = pp;
    batch_builder_params_t params;
    batch_builder_params_default(&params, first_timestamp_ms);
    batch_builder_init(bb, &b->data, &params);
    return b;
}

/* Appends m's record to b (m moves to b's messages). Returns the
 * builder's error (then m is in b all the same, and finishing fails the
 * batch). */
static samsa_err_t batch_add(pbatch_t *b, batch_builder_t *bb, pmsg_t *m)
{
    samsa_err_t err = batch_builder_append(bb, m->timestamp_ms, m->key, m->key_len, m->value,
                                           m->value_len, m->headers, m->header_count);
    /* The array is filled here, not by walking the list once the batch is
     * whole, when the first messages have left the cache. Without it the
     * report is served all the same, only slower. */
    if (b->msgv_cap >= 0 && b->msgs.count == (size_t)b->msgv_cap) {
        size_t cap = b->msgv_cap ? (size_t)b->msgv_cap * 2
                                 : bb->out->cap / (record_estimate(m) + 1) + 1;
        pmsg_t **grown = cap <= INT32_MAX ? realloc(b->msgv, sizeof(*grown) * cap) : NULL;
        if (grown) {
            b->msgv = grown;
            b->msgv_cap = (int32_t)cap;
        } else {
            free(b->msgv);
            b->msgv = NULL;
            b->msgv_cap = -1;
        }
    }
    if (b->msgv)
        b->msgv[b->msgs.count] = m;
    pmsg_queue_push(&b->msgs, m);
    if (!err) {
        if (b->record_count == 0)
            b->first_enqueued_ms = m->enqueued_ms;
        b->record_count++;
    }
    return err;
}

/* Whether the next record, of m's sizes, fits in the batch bb builds. */
static bool batch_takes(const batch_builder_t *bb, const pmsg_t *m, size_t limit)
{
    /* Far from the limit, a bound does without the exact size. */
    if (m->header_count == 0 && batch_builder_bytes(bb) + RECORD_MAX_FRAMING_BYTES + m->key_len +
                                        m->value_len <= limit)
        return true;
    size_t rec = batch_builder_record_bytes(bb, m->timestamp_ms, m->key_len, m->value_len,
                                            m->headers, m->header_count);
    return rec != SIZE_MAX && batch_builder_bytes(bb) + rec <= limit;
}

/* Finishes b (stamped with producer_id/epoch and pp's next sequence when
 * producer_id >= 0) and appends it to pp's batch list; on an error, fails
 * its messages into *failed and frees it. */
static samsa_err_t batch_seal(ppart_t *pp, pbatch_t *b, batch_builder_t *bb,
                              const client_config_t *cfg, int64_t producer_id,
                              int16_t producer_epoch, samsa_err_t err, pmsg_queue_t *failed)
{
    if (producer_id >= 0)
        batch_builder_set_producer(bb, producer_id, producer_epoch, pp->next_sequence);
    if (!err)
        err = batch_builder_finish(bb, cfg->compression_codec, cfg->compression_level, NULL, NULL);
    batch_builder_free(bb);
    if (err) {
        for (pmsg_t *m = b->msgs.head; m; m = m->next)
            pmsg_set_error(m, err, "topic %s [%d]: cannot build the record batch (%s): %s",
                           m->topic, (int)pp->partition, compress_codec_name(cfg->compression_codec),
                           samsa_err_str(err));
        pmsg_queue_concat(failed, &b->msgs);
        pbatch_free(b);
        return err;
    }
    if (pp->built_bytes)
        *pp->built_bytes += b->data.len;
    b->base_sequence = producer_id >= 0 ? pp->next_sequence : -1;
    if (producer_id >= 0)
        pp->next_sequence = seq_add(pp->next_sequence, b->record_count);
    if (pp->batches_tail)
        pp->batches_tail->next = b;
    else
        pp->batches = b;
    pp->batches_tail = b;
    return SAMSA_ERR_NONE;
}

/* Takes pp's open batch out of the open state: its reserved room no
 * longer counts in built_bytes (a sealed batch counts its length). */
static pbatch_t *take_open(ppart_t *pp)
{
    pbatch_t *b = pp->open;
    pp->open = NULL;
    if (pp->built_bytes)
        *pp->built_bytes -= pp->open_reserved;
    pp->open_reserved = 0;
    return b;
}

/* Seals pp's open batch, failing it when err is set. */
static samsa_err_t seal_open(ppart_t *pp, const client_config_t *cfg, int64_t producer_id,
                             int16_t producer_epoch, samsa_err_t err, pmsg_queue_t *failed)
{
    pbatch_t *b = take_open(pp);
    return batch_seal(pp, b, &pp->open_bb, cfg, producer_id, producer_epoch, err, failed);
}

samsa_err_t ppart_build_batch(ppart_t *pp, const client_config_t *cfg, int64_t producer_id,
                              int16_t producer_epoch, pmsg_queue_t *failed)
{
    if (pp->open) /* older than anything queued */
        return ppart_seal(pp, cfg, producer_id, producer_epoch, failed);
    pmsg_t *first = pp->queue.head;
    if (!first)
        return SAMSA_ERR__STATE;
    size_t limit = batch_limit(cfg);
    size_t want = pp->queue_record_bytes + BATCH_HEADER_BYTES;
    batch_builder_t bb;
    pbatch_t *b = batch_open(pp, &bb, first->timestamp_ms, want < limit ? want : limit);
    if (!b)
        return SAMSA_ERR__NOMEM;
    samsa_err_t err = SAMSA_ERR_NONE;
    while (pp->queue.head && !err) {
        pmsg_t *m = pp->queue.head;
        if (b->record_count > 0 && !batch_takes(&bb, m, limit))
            break;
        size_t est = record_estimate(m);
        pp->queue_record_bytes = pp->queue.head->next && pp->queue_record_bytes > est
                                     ? pp->queue_record_bytes - est
                                     : 0;
        err = batch_add(b, &bb, pmsg_queue_pop(&pp->queue));
    }
    return batch_seal(pp, b, &bb, cfg, producer_id, producer_epoch, err, failed);
}

samsa_err_t ppart_add(ppart_t *pp, pmsg_t *m, const client_config_t *cfg, int64_t producer_id,
                      int16_t producer_epoch, pmsg_queue_t *failed, bool *sealed)
{
    size_t limit = batch_limit(cfg);
    *sealed = false;
    if (pp->open && !batch_takes(&pp->open_bb, m, limit)) {
        ppart_seal(pp, cfg, producer_id, producer_epoch, failed);
        *sealed = true;
    }
    if (!pp->open) {
        pp->open = batch_open(pp, &pp->open_bb, m->timestamp_ms, limit);
        if (!pp->open) {
            pmsg_set_error(m, SAMSA_ERR__NOMEM, "topic %s [%d]: out of memory", m->topic,
                           (int)pp->partition);
            pmsg_queue_push(failed, m);
            return SAMSA_ERR__NOMEM;
        }
        /* The room an open batch holds counts as built: open batches of
         * many partitions stay within the bound too (see built_bytes). */
        pp->open_reserved = pp->open->data.cap;
        if (pp->built_bytes)
            *pp->built_bytes += pp->open_reserved;
    }
    samsa_err_t err = batch_add(pp->open, &pp->open_bb, m);
    /* Full when another record of this size would not fit: sealed now, not
     * when the next message comes, so that it can go before linger.ms. A
     * record the builder refused fails the batch (m is in it, its bytes
     * are not). */
    if (err || !batch_takes(&pp->open_bb, m, limit)) {
        samsa_err_t serr = seal_open(pp, cfg, producer_id, producer_epoch, err, failed);
        *sealed = true;
        if (!err)
            err = serr;
    }
    return err;
}

samsa_err_t ppart_seal(ppart_t *pp, const client_config_t *cfg, int64_t producer_id,
                       int16_t producer_epoch, pmsg_queue_t *failed)
{
    if (!pp->open)
        return SAMSA_ERR__STATE;
    return seal_open(pp, cfg, producer_id, producer_epoch, pp->open_bb.err, failed);
}

void ppart_unopen(ppart_t *pp)
{
    if (!pp->open)
        return;
    pbatch_t *b = take_open(pp);
    batch_builder_free(&pp->open_bb);
    for (pmsg_t *m = b->msgs.head; m; m = m->next)
        pp->queue_record_bytes += record_estimate(m);
    pmsg_queue_concat(&b->msgs, &pp->queue);
    pp->queue = b->msgs;
    memset(&b->msgs, 0, sizeof(b->msgs));
    pbatch_free(b);
}

pbatch_t *ppart_first_unsent(const ppart_t *pp)
{
    for (pbatch_t *b = pp->batches; b; b = b->next)
        if (!b->in_flight)
            return b;
    return NULL;
}

pbatch_t *ppart_next_sendable(const ppart_t *pp, int max_in_flight, int64_t now_ms)
{
    bool older_in_flight = false;
    for (pbatch_t *b = pp->batches; b; b = b->next) {
        if (b->in_flight) {
            older_in_flight = true;
            continue;
        }
        if (pp->in_flight >= max_in_flight)
            return NULL;
        if (b->attempts > 0 && (now_ms < b->retry_at_ms || older_in_flight))
            return NULL;
        return b;
    }
    return NULL;
}

void ppart_remove_batch(ppart_t *pp, pbatch_t *b)
{
    pbatch_t *prev = NULL;
    for (pbatch_t *it = pp->batches; it; prev = it, it = it->next) {
        if (it != b)
            continue;
        if (prev)
            prev->next = b->next;
        else
            pp->batches = b->next;
        if (pp->batches_tail == b)
            pp->batches_tail = prev;
        b->next = NULL;
        if (pp->built_bytes)
            *pp->built_bytes -= b->data.len;
        return;
    }
}

void pbatch_spares_free(pbatch_spares_t *s)
{
    while (s->count > 0)
        buf_free(&s->bufs[--s->count]);
    s->bytes = 0;
}

void pbatch_free(pbatch_t *b)
{
    if (!b)
        return;
    pbatch_spares_t *s = b->part ? b->part->spares : NULL;
    if (s && b->data.data && s->count < PBATCH_SPARES && s->bytes + b->data.cap <= s->max_bytes) {
        buf_reset(&b->data);
        s->bytes += b->data.cap;
        s->bufs[s->count++] = b->data;
    } else {
        buf_free(&b->data);
    }
    free(b->msgv);
    free(b);
}

void ppart_restamp(ppart_t *pp, int64_t producer_id, int16_t producer_epoch)
{
    int32_t seq = 0;
    for (pbatch_t *b = pp->batches; b; b = b->next) {
        uint8_t *d = b->data.data;
        be64_store(d + BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id);
        be16_store(d + BATCH_OFF_PRODUCER_EPOCH, (uint16_t)producer_epoch);
        be32_store(d + BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
        be32_store(d + BATCH_OFF_CRC,
                   crc32c(0, d + BATCH_OFF_ATTRIBUTES, b->data.len - BATCH_OFF_ATTRIBUTES));
        b->base_sequence = seq;
        seq = seq_add(seq, b->record_count);
    }
    pp->next_sequence = seq;
}

samsa_err_t ppart_split_batch(ppart_t *pp, pbatch_t *b, const client_config_t *cfg,
                              int64_t producer_id, int16_t producer_epoch, int64_t now_ms,
                              pmsg_queue_t *failed)
{
    if (b->record_count < 2 || b->in_flight)
        return SAMSA_ERR__INVALID_ARG;
    /* Build the halves in a scratch partition that starts at b's sequence,
     * so the batches after b keep theirs. */
    ppart_t scratch = {0};
    scratch.topic = pp->topic;
    scratch.partition = pp->partition;
    scratch.next_sequence = b->base_sequence >= 0 ? b->base_sequence : 0;
    scratch.built_bytes = pp->built_bytes;
    scratch.spares = pp->spares;
    size_t half = (size_t)b->record_count / 2;
    samsa_err_t err = SAMSA_ERR_NONE;
    for (int pass = 0; pass < 2 && !err; pass++) {
        size_t take = pass == 0 ? half : b->msgs.count;
        for (size_t i = 0; i < take; i++)
            ppart_enqueue(&scratch, pmsg_queue_pop(&b->msgs));
        while (scratch.queue.head && !err)
            err = ppart_build_batch(&scratch, cfg, producer_id, producer_epoch, failed);
    }
    pmsg_queue_concat(failed, &scratch.queue);
    pmsg_queue_concat(failed, &b->msgs);
    for (pbatch_t *nb = scratch.batches; nb; nb = nb->next) {
        nb->part = pp;
        nb->attempts = b->attempts + 1;
        nb->retry_at_ms = now_ms;
    }
    /* Put the new batches where b was. */
    if (scratch.batches) {
        scratch.batches_tail->next = b->next;
        pbatch_t *prev = NULL;
        for (pbatch_t *it = pp->batches; it && it != b; it = it->next)
            prev = it;
        if (prev)
            prev->next = scratch.batches;
        else
            pp->batches = scratch.batches;
        if (pp->batches_tail == b)
            pp->batches_tail = scratch.batches_tail;
        b->next = NULL;
        if (pp->built_bytes)
            *pp->built_bytes -= b->data.len;
    } else {
        ppart_remove_batch(pp, b);
    }
    pbatch_free(b);
    return err;
}
