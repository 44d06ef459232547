/*
 * produce_fast.c: a hand-written decoder for Produce requests.
 *
 * Produce requests are most of what a broker reads and a producer writes.
 * These give the same results as the generic walker in codec.c (test_codec
 * checks both on random requests of every version, the request fuzzer on
 * arbitrary input) in a fraction of its time, which the codec benchmark
 * measures. proto_decode() and proto_encode() use them for
 * produce_request_desc.
 */
#include "proto/msg_produce.h"

static int32_t read_len(reader_t *r, bool flexible, bool int16_len)
{
    if (flexible) {
        uint32_t n = reader_uvarint(r);
        if (n > (uint32_t)INT32_MAX) {
            reader_fail(r);
            return 0;
        }
        return (int32_t)n - 1;
    }
    return int16_len ? reader_i16(r) : reader_i32(r);
}

static void read_str(reader_t *r, bool flexible, bool nullable, proto_str_t *s)
{
    int32_t len = read_len(r, flexible, true);
    s->ptr = "";
    s->len = 0;
    if (len < -1 || (len == -1 && !nullable)) {
        reader_fail(r);
        return;
    }
    s->len = len;
    if (len > 0) {
        const uint8_t *p = reader_take(r, (size_t)len);
        if (p)
            s->ptr = (const char *)p;
        else
            s->len = 0;
    }
}

/* An array count: never null here, and never more elements than bytes left. */
static int32_t read_count(reader_t *r, bool flexible)
{
    int32_t n = read_len(r, flexible, false);
    if (n < 0 || (size_t)n > reader_left(r)) {
        reader_fail(r);
        return 0;
    }
    return n;
}

samsa_err_t produce_request_decode(reader_t *r, int16_t version, bool flexible, arena_t *arena,
                                   produce_request_t *out)
{
    read_str(r, flexible, true, &out->transactional_id);
    out->acks = reader_i16(r);
    out->timeout_ms = reader_i32(r);
    out->topic_data = NULL;
    out->topic_data_count = read_count(r, flexible);
    if (out->topic_data_count > 0) {
        out->topic_data = arena_alloc(arena, sizeof(*out->topic_data) * (size_t)out->topic_data_count);
        if (!out->topic_data)
            return SAMSA_ERR__NOMEM;
    }
    for (int32_t t = 0; t < out->topic_data_count && !r->bad; t++) {
        produce_request_topic_produce_data_t *topic = &out->topic_data[t];
        topic->name.ptr = "";
        if (version <= 12) {
            read_str(r, flexible, false, &topic->name);
        } else {
            const uint8_t *id = reader_take(r, 16);
            if (id)
                memcpy(topic->topic_id.bytes, id, 16);
        }
        topic->partition_data_count = read_count(r, flexible);
        if (topic->partition_data_count > 0) {
            topic->partition_data = arena_alloc(
                arena, sizeof(*topic->partition_data) * (size_t)topic->partition_data_count);
            if (!topic->partition_data)
                return SAMSA_ERR__NOMEM;
        }
        for (int32_t p = 0; p < topic->partition_data_count && !r->bad; p++) {
            produce_request_partition_produce_data_t *part = &topic->partition_data[p];
            part->index = reader_i32(r);
            int32_t len = read_len(r, flexible, false);
            if (len < -1) {
                reader_fail(r);
                break;
            }
            part->records.len = len;
            part->records.data = len > 0 ? reader_take(r, (size_t)len) : NULL;
            if (flexible)
                proto_skip_tags(r);
        }
        if (flexible && !r->bad)
            proto_skip_tags(r);
    }
    if (flexible && !r->bad)
        proto_skip_tags(r);
    return r->bad ? SAMSA_ERR__BAD_MSG : SAMSA_ERR_NONE;
}

static void write_len(buf_t *out, bool flexible, bool int16_len, int32_t len)
{
    if (flexible)
        buf_put_uvarint(out, (uint32_t)(len + 1));
    else if (int16_len)
        buf_put_i16(out, (int16_t)len);
    else
        buf_put_i32(out, len);
}

static void write_str(buf_t *out, bool flexible, proto_str_t s)
{
    write_len(out, flexible, true, s.len);
    if (s.len > 0)
        buf_put(out, s.ptr, (size_t)s.len);
}

samsa_err_t produce_request_encode(const produce_request_t *msg, int16_t version, bool flexible,
                                   buf_t *out, proto_splices_t *splices)
{
    if (msg->topic_data_count < 0 || msg->transactional_id.len < -1)
        return SAMSA_ERR__INVALID_ARG;
    write_str(out, flexible, msg->transactional_id);
    buf_put_i16(out, msg->acks);
    buf_put_i32(out, msg->timeout_ms);
    write_len(out, flexible, false, msg->topic_data_count);
    for (int32_t t = 0; t < msg->topic_data_count; t++) {
        const produce_request_topic_produce_data_t *topic = &msg->topic_data[t];
        if (version <= 12) {
            if (topic->name.len < 0)
                return SAMSA_ERR__INVALID_ARG;
            write_str(out, flexible, topic->name);
        } else {
            buf_put(out, topic->topic_id.bytes, 16);
        }
        if (topic->partition_data_count < 0)
            return SAMSA_ERR__INVALID_ARG;
        write_len(out, flexible, false, topic->partition_data_count);
        for (int32_t p = 0; p < topic->partition_data_count; p++) {
            const produce_request_partition_produce_data_t *part = &topic->partition_data[p];
            if (part->records.len < -1)
                return SAMSA_ERR__INVALID_ARG;
            buf_put_i32(out, part->index);
            write_len(out, flexible, false, part->records.len);
            if (part->records.len > 0) {
                if (part->records.source && splices) {
                    if (proto_splice_add(splices, out->len, &part->records))
                        return SAMSA_ERR__NOMEM;
                } else {
                    buf_put(out, part->records.data, (size_t)part->records.len);
                }
            }
            if (flexible)
                buf_put_uvarint(out, 0);
        }
        if (flexible)
            buf_put_uvarint(out, 0);
    }
    if (flexible)
        buf_put_uvarint(out, 0);
    return out->failed ? SAMSA_ERR__NOMEM : SAMSA_ERR_NONE;
}
