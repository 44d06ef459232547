/*
 * producer_many.c: producing many messages in one call
 * (samsa_producer_produce_batch) and asking how many more fit in the
 * producer's queue (samsa_producer_room), for bindings whose cost is the
 * foreign call itself (the Python binding buffers messages and hands them
 * over in one call, and needs to know beforehand which ones will fit so
 * that it refuses exactly the message that would not).
 *
 * The batch is checked whole before anything is queued. Messages are then
 * copied as samsa_producer_produce copies them (one allocation each, the
 * same size counted against buffer.memory), outside the producer's lock,
 * and handed to the I/O thread with one lock per chunk of them; a message
 * close to max.request.size, or one that has to wait for room under
 * queue.full.behavior=block, goes through samsa_producer_produce itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_int.h"

#define SMALL_MARGIN_BYTES 1024 /* below max.request.size: a record's framing fits in it */
#define CHUNK_MSGS 4096         /* messages copied before they are handed over */

/* Message i of b as samsa_producer_produce's arguments; *v and *k walk
 * the values and keys. */
static void batch_args(const samsa_produce_batch_t *b, size_t i, const uint8_t **v,
                       const uint8_t **k, samsa_produce_args_t *a)
{
    int32_t vl = b->value_lens[i];
    a->partition = b->partitions ? b->partitions[i] : b->partition;
    a->value = vl < 0 ? NULL : *v ? *v : (const uint8_t *)"";
    a->value_len = vl < 0 ? 0 : (size_t)vl;
    a->key = NULL;
    a->key_len = 0;
    if (b->key_lens && b->key_lens[i] >= 0) {
        a->key = *k;
        a->key_len = (size_t)b->key_lens[i];
    }
    if (*v)
        *v += a->value_len;
    if (*k)
        *k += a->key_len;
}

/* Hands the messages of q that fit in p's queue, from the first, to the
 * I/O thread, with one lock; frees the others. Returns how many it handed
 * over; *err is SAMSA_ERR__QUEUE_FULL, SAMSA_ERR__DESTROYED or a loop_post
 * error when not all. */
static size_t batch_enqueue(samsa_producer_t *p, pmsg_queue_t *q, samsa_err_t *err)
{
    size_t taken = 0;
    pthread_mutex_lock(&p->lock);
    *err = p->closed ? SAMSA_ERR__DESTROYED : SAMSA_ERR_NONE;
    while (!*err && q->head) {
        if (!producer_queue_has_room(p, q->head->bytes)) {
            *err = SAMSA_ERR__QUEUE_FULL;
            break;
        }
        pmsg_t *m = pmsg_queue_pop(q);
        if ((*err = producer_input_push(p, m)) != SAMSA_ERR_NONE) {
            pmsg_free(m);
            break;
        }
        taken++;
    }
    pthread_mutex_unlock(&p->lock);
    pmsg_t *m;
    while ((m = pmsg_queue_pop(q)))
        pmsg_free(m);
    return taken;
}

SAMSA_API size_t samsa_producer_produce_batch(samsa_producer_t *p, const samsa_produce_batch_t *b,
                                              samsa_err_t *errp)
{
    samsa_err_t err = SAMSA_ERR__INVALID_ARG;
    size_t queued = 0, topic_len;
    if (!p || !b || !b->topic || !b->topic[0] ||
        (topic_len = strlen(b->topic)) > PRODUCER_TOPIC_MAX_BYTES ||
        (!b->partitions && b->partition < -1) || (b->count && !b->value_lens) ||
        (!b->keys && b->key_lens) || (b->keys && !b->key_lens))
        goto out;
    for (size_t i = 0; i < b->count; i++) {
        if (b->value_lens[i] < -1 || (b->value_lens[i] > 0 && !b->values) ||
            (b->key_lens && b->key_lens[i] < -1) || (b->partitions && b->partitions[i] < -1))
            goto out;
    }
    err = SAMSA_ERR_NONE;
    const uint8_t *v = b->values, *k = b->keys;
    samsa_produce_args_t a = {.topic = b->topic, .timestamp_ms = b->timestamp_ms};
    /* Messages well below max.request.size, while the queue takes them
     * without waiting, are copied outside the lock and handed over with
     * one lock per chunk; from the first that is not, one at a time
     * through samsa_producer_produce, which knows every limit. */
    size_t small = (size_t)p->cfg.max_request_bytes > SMALL_MARGIN_BYTES
                       ? (size_t)p->cfg.max_request_bytes - SMALL_MARGIN_BYTES : 0;
    while (queued < b->count) {
        pmsg_queue_t q = {0};
        bool big = false, nomem = false;
        for (size_t i = queued; i < b->count && q.count < CHUNK_MSGS; i++) {
            const uint8_t *v0 = v, *k0 = k;
            batch_args(b, i, &v, &k, &a);
            pmsg_t *m = NULL;
            if (a.key_len + a.value_len > small)
                big = true;
            else if (!(m = producer_msg_new(&a, 0, topic_len)))
                nomem = true;
            if (!m) {
                v = v0;
                k = k0;
                break;
            }
            pmsg_queue_push(&q, m);
        }
        size_t want = q.count, got = want ? batch_enqueue(p, &q, &err) : 0;
        queued += got;
        if (got < want && err == SAMSA_ERR__QUEUE_FULL &&
            p->cfg.queue_full_behavior != CLIENT_QUEUE_FULL_ERROR) {
            /* queue.full.behavior=block: the first message not taken goes
             * alone, and waits; v and k go back to it. */
            err = SAMSA_ERR_NONE;
            v = b->values;
            k = b->keys;
            for (size_t j = 0; j < queued; j++)
                batch_args(b, j, &v, &k, &a);
            big = true;
            nomem = false;
        }
        if (err)
            break;
        if (nomem) {
            err = SAMSA_ERR__NOMEM;
            break;
        }
        if (big) {
            batch_args(b, queued, &v, &k, &a);
            err = samsa_producer_produce(p, &a);
            if (err)
                break;
            queued++;
        }
    }
out:
    if (errp)
        *errp = err;
    return queued;
}

SAMSA_API samsa_err_t samsa_producer_room(samsa_producer_t *p, const char *topic,
                                          samsa_producer_room_t *room)
{
    if (!p || !topic || !room)
        return SAMSA_ERR__INVALID_ARG;
    /* What samsa_producer_produce counts for a message without headers
     * that is copied: the message, its topic with the NUL, key, value. */
    room->message_overhead_bytes = sizeof(pmsg_t) + strlen(topic) + 1;
    room->max_request_bytes = (size_t)p->cfg.max_request_bytes;
    pthread_mutex_lock(&p->lock);
    size_t max_msgs = (size_t)p->cfg.queue_max_messages;
    size_t max_bytes = (size_t)p->cfg.buffer_memory_bytes;
    room->messages = p->outstanding_msgs < max_msgs ? max_msgs - p->outstanding_msgs : 0;
    room->bytes = p->outstanding_bytes < max_bytes ? max_bytes - p->outstanding_bytes : 0;
    bool closed = p->closed;
    pthread_mutex_unlock(&p->lock);
    return closed ? SAMSA_ERR__DESTROYED : SAMSA_ERR_NONE;
}
