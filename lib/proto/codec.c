/*
 * codec.c: the generic encoder and decoder that walk message descriptions
 * (see codec.h), and the request and response headers.
 */
#include "proto/codec.h"

#include <stdlib.h>

#include "proto/msg_produce.h"

size_t proto_elem_size(const proto_field_t *f)
{
    switch (f->type & ~PT_ARRAY) {
    case PT_BOOL: return sizeof(bool);
    case PT_INT8: return 1;
    case PT_INT16:
    case PT_UINT16: return 2;
    case PT_INT32:
    case PT_UINT32: return 4;
    case PT_INT64: return 8;
    case PT_FLOAT64: return sizeof(double);
    case PT_UUID: return sizeof(proto_uuid_t);
    case PT_STRING: return sizeof(proto_str_t);
    case PT_BYTES: return sizeof(proto_bytes_t);
    case PT_RECORDS: return sizeof(proto_records_t);
    case PT_STRUCT: return f->sub->size;
    }
    return 0;
}

static inline bool in_range(int16_t v, int16_t lo, int16_t hi) { return v >= lo && v <= hi; }

/* ---- defaults --------------------------------------------------------- */

static void init_scalar(const proto_field_t *f, void *p)
{
    switch (f->type) {
    case PT_BOOL: *(bool *)p = f->default_int != 0; break;
    case PT_INT8: *(int8_t *)p = (int8_t)f->default_int; break;
    case PT_INT16: *(int16_t *)p = (int16_t)f->default_int; break;
    case PT_UINT16: *(uint16_t *)p = (uint16_t)f->default_int; break;
    case PT_INT32: *(int32_t *)p = (int32_t)f->default_int; break;
    case PT_UINT32: *(uint32_t *)p = (uint32_t)f->default_int; break;
    case PT_INT64: *(int64_t *)p = f->default_int; break;
    case PT_FLOAT64: *(double *)p = (double)f->default_int; break;
    case PT_UUID: memset(p, 0, sizeof(proto_uuid_t)); break;
    case PT_STRING: {
        proto_str_t *s = p;
        s->ptr = "";
        s->len = f->default_null ? -1 : 0;
        break;
    }
    case PT_BYTES: {
        proto_bytes_t *b = p;
        b->ptr = NULL;
        b->len = f->default_null ? -1 : 0;
        break;
    }
    case PT_RECORDS: {
        proto_records_t *rec = p;
        rec->data = NULL;
        rec->len = f->default_null ? -1 : 0;
        rec->source = NULL;
        break;
    }
    case PT_STRUCT: proto_init(f->sub, p); break;
    }
}

static void init_field(const proto_field_t *f, uint8_t *msg)
{
    if (f->type & PT_ARRAY) {
        *(void **)(msg + f->offset) = NULL;
        *(int32_t *)(msg + f->count_offset) = f->default_null ? -1 : 0;
    } else {
        init_scalar(f, msg + f->offset);
    }
}

void proto_init(const proto_struct_t *desc, void *msg)
{
    memset(msg, 0, desc->size);
    for (uint16_t i = 0; i < desc->field_count; i++)
        init_field(&desc->fields[i], msg);
}

/* ---- decoding --------------------------------------------------------- */

typedef struct decoder {
    int16_t version;
    bool flexible;
    arena_t *arena;
    bool nomem;
} decoder_t;

static void decode_struct(decoder_t *d, const proto_struct_t *desc, reader_t *r, void *msg);

/* Length of a string, bytes, records or array: -1 for null. Compact forms
 * (flexible versions) carry N+1 as an unsigned varint; classic ones an
 * int16 (strings) or int32. */
static int32_t read_length(decoder_t *d, reader_t *r, bool int16_length)
{
    if (d->flexible) {
        uint32_t n = reader_uvarint(r);
        if (n > (uint32_t)INT32_MAX) {
            reader_fail(r);
            return 0;
        }
        return (int32_t)n - 1;
    }
    return int16_length ? reader_i16(r) : reader_i32(r);
}

/* Checks a length read off the wire: null only where allowed, and never
 * more bytes than are left. */
static bool length_ok(decoder_t *d, const proto_field_t *f, reader_t *r, int32_t len)
{
    if (len < -1 || (len == -1 && !in_range(d->version, f->null_min, f->null_max))) {
        reader_fail(r);
        return false;
    }
    return true;
}

static void decode_value(decoder_t *d, const proto_field_t *f, uint8_t type, reader_t *r,
                         void *p)
{
    switch (type) {
    case PT_BOOL: *(bool *)p = reader_i8(r) != 0; break;
    case PT_INT8: *(int8_t *)p = reader_i8(r); break;
    case PT_INT16: *(int16_t *)p = reader_i16(r); break;
    case PT_UINT16: *(uint16_t *)p = reader_u16(r); break;
    case PT_INT32: *(int32_t *)p = reader_i32(r); break;
    case PT_UINT32: *(uint32_t *)p = reader_u32(r); break;
    case PT_INT64: *(int64_t *)p = reader_i64(r); break;
    case PT_FLOAT64: *(double *)p = reader_f64(r); break;
    case PT_UUID: {
        const uint8_t *b = reader_take(r, 16);
        if (b)
            memcpy(p, b, 16);
        break;
    }
    case PT_STRING: {
        proto_str_t *s = p;
        int32_t len = read_length(d, r, true);
        if (!length_ok(d, f, r, len))
            break;
        const uint8_t *b = len > 0 ? reader_take(r, (size_t)len) : NULL;
        s->ptr = b ? (const char *)b : "";
        s->len = len > 0 && !b ? 0 : len;
        break;
    }
    case PT_BYTES:
    case PT_RECORDS: {
        int32_t len = read_length(d, r, false);
        if (!length_ok(d, f, r, len))
            break;
        const uint8_t *b = len > 0 ? reader_take(r, (size_t)len) : NULL;
        if (type == PT_BYTES) {
            proto_bytes_t *v = p;
            v->ptr = b;
            v->len = len;
        } else {
            proto_records_t *v = p;
            v->data = b;
            v->len = len;
            v->source = NULL;
        }
        break;
    }
    case PT_STRUCT: decode_struct(d, f->sub, r, p); break;
    }
}

static void decode_array(decoder_t *d, const proto_field_t *f, reader_t *r, uint8_t *msg)
{
    int32_t count = read_length(d, r, false);
    if (!length_ok(d, f, r, count))
        return;
    /* Every element takes at least one byte on the wire. */
    if (count > 0 && (size_t)count > reader_left(r)) {
        reader_fail(r);
        return;
    }
    void *items = NULL;
    if (count > 0) {
        size_t size = proto_elem_size(f);
        items = arena_alloc(d->arena, size * (size_t)count);
        if (!items) {
            d->nomem = true;
            reader_fail(r);
            return;
        }
        uint8_t type = f->type & ~PT_ARRAY;
        for (int32_t i = 0; i < count && !r->bad; i++)
            decode_value(d, f, type, r, (uint8_t *)items + size * (size_t)i);
    }
    *(void **)(msg + f->offset) = items;
    *(int32_t *)(msg + f->count_offset) = count;
}

static void decode_field(decoder_t *d, const proto_field_t *f, reader_t *r, uint8_t *msg)
{
    if (f->type & PT_ARRAY)
        decode_array(d, f, r, msg);
    else
        decode_value(d, f, f->type, r, msg + f->offset);
}

static void decode_tags(decoder_t *d, const proto_struct_t *desc, reader_t *r, uint8_t *msg)
{
    uint32_t count = reader_uvarint(r);
    int64_t last_tag = -1;
    for (uint32_t i = 0; i < count && !r->bad; i++) {
        uint32_t tag = reader_uvarint(r);
        uint32_t size = reader_uvarint(r);
        if (r->bad || (int64_t)tag <= last_tag) {
            reader_fail(r);
            return;
        }
        last_tag = tag;
        const uint8_t *body = reader_take(r, size);
        if (!body)
            return;
        for (uint16_t k = 0; k < desc->field_count; k++) {
            const proto_field_t *f = &desc->fields[k];
            if (f->tag != (int32_t)tag || !in_range(d->version, f->min_version, f->max_version))
                continue;
            reader_t sub = reader_make(body, size);
            decode_field(d, f, &sub, msg);
            if (sub.bad || reader_left(&sub) != 0)
                reader_fail(r);
            break;
        }
    }
}

/* Decodes the fields the version has and gives the others, and the tagged
 * fields until their tags arrive, their defaults: every field is written. */
static void decode_struct(decoder_t *d, const proto_struct_t *desc, reader_t *r, void *msg)
{
    uint8_t *base = msg;
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (f->tag < 0 && in_range(d->version, f->min_version, f->max_version) && !r->bad)
            decode_field(d, f, r, base);
        else
            init_field(f, base);
    }
    if (d->flexible && !r->bad)
        decode_tags(d, desc, r, base);
}

samsa_err_t proto_decode(const proto_struct_t *desc, int16_t version, bool flexible, reader_t *r,
                         arena_t *arena, void *msg)
{
    if (desc == &produce_request_desc) {
        memset(msg, 0, desc->size);
        return produce_request_decode(r, version, flexible, arena, msg);
    }
    return proto_decode_generic(desc, version, flexible, r, arena, msg);
}

samsa_err_t proto_decode_generic(const proto_struct_t *desc, int16_t version, bool flexible,
                                 reader_t *r, arena_t *arena, void *msg)
{
    decoder_t d = {version, flexible, arena, false};
    memset(msg, 0, desc->size);
    decode_struct(&d, desc, r, msg);
    if (d.nomem)
        return SAMSA_ERR__NOMEM;
    return r->bad ? SAMSA_ERR__BAD_MSG : SAMSA_ERR_NONE;
}

/* ---- encoding --------------------------------------------------------- */

typedef struct encoder {
    int16_t version;
    bool flexible;
    buf_t *out;
    proto_splices_t *splices;
    bool invalid; /* a non-nullable field was null */
    bool nomem;
} encoder_t;

static void encode_struct(encoder_t *e, const proto_struct_t *desc, const void *msg);

static void write_length(encoder_t *e, int32_t len, bool int16_length)
{
    if (e->flexible)
        buf_put_uvarint(e->out, (uint32_t)(len + 1));
    else if (int16_length)
        buf_put_i16(e->out, (int16_t)len);
    else
        buf_put_i32(e->out, len);
}

static bool null_ok(encoder_t *e, const proto_field_t *f, int32_t len)
{
    if (len < -1 || (len == -1 && !in_range(e->version, f->null_min, f->null_max))) {
        e->invalid = true;
        return false;
    }
    return true;
}

samsa_err_t proto_splice_add(proto_splices_t *s, size_t buf_pos, const proto_records_t *rec)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        proto_splice_t *items = realloc(s->items, cap * sizeof(*items));
        if (!items)
            return SAMSA_ERR__NOMEM;
        s->items = items;
        s->cap = cap;
    }
    s->items[s->count].buf_pos = buf_pos;
    s->items[s->count].records = rec;
    s->count++;
    s->total_bytes += (size_t)rec->len;
    return SAMSA_ERR_NONE;
}

static void encode_value(encoder_t *e, const proto_field_t *f, uint8_t type, const void *p)
{
    buf_t *out = e->out;
    switch (type) {
    case PT_BOOL: buf_put_i8(out, *(const bool *)p ? 1 : 0); break;
    case PT_INT8: buf_put_i8(out, *(const int8_t *)p); break;
    case PT_INT16: buf_put_i16(out, *(const int16_t *)p); break;
    case PT_UINT16: buf_put_u16(out, *(const uint16_t *)p); break;
    case PT_INT32: buf_put_i32(out, *(const int32_t *)p); break;
    case PT_UINT32: buf_put_u32(out, *(const uint32_t *)p); break;
    case PT_INT64: buf_put_i64(out, *(const int64_t *)p); break;
    case PT_FLOAT64: buf_put_f64(out, *(const double *)p); break;
    case PT_UUID: buf_put(out, p, 16); break;
    case PT_STRING: {
        const proto_str_t *s = p;
        if (!null_ok(e, f, s->len))
            break;
        write_length(e, s->len, true);
        if (s->len > 0)
            buf_put(out, s->ptr, (size_t)s->len);
        break;
    }
    case PT_BYTES: {
        const proto_bytes_t *b = p;
        if (!null_ok(e, f, b->len))
            break;
        write_length(e, b->len, false);
        if (b->len > 0)
            buf_put(out, b->ptr, (size_t)b->len);
        break;
    }
    case PT_RECORDS: {
        const proto_records_t *rec = p;
        if (!null_ok(e, f, rec->len))
            break;
        write_length(e, rec->len, false);
        if (rec->len <= 0)
            break;
        if (rec->source && e->splices) {
            if (proto_splice_add(e->splices, e->out->len, rec))
                e->nomem = true;
        }
        else
            buf_put(out, rec->data, (size_t)rec->len);
        break;
    }
    case PT_STRUCT: encode_struct(e, f->sub, p); break;
    }
}

static void encode_field(encoder_t *e, const proto_field_t *f, const uint8_t *msg)
{
    if (!(f->type & PT_ARRAY)) {
        encode_value(e, f, f->type, msg + f->offset);
        return;
    }
    int32_t count = *(const int32_t *)(msg + f->count_offset);
    if (!null_ok(e, f, count))
        return;
    write_length(e, count, false);
    const uint8_t *items = *(const uint8_t *const *)(msg + f->offset);
    size_t size = proto_elem_size(f);
    for (int32_t i = 0; i < count; i++)
        encode_value(e, f, f->type & ~PT_ARRAY, items + size * (size_t)i);
}

static bool struct_is_default(const proto_struct_t *desc, const void *msg);

/* Whether a field holds its default value (tagged fields are sent only
 * when they do not). */
static bool field_is_default(const proto_field_t *f, const uint8_t *msg)
{
    const void *p = msg + f->offset;
    if (f->type & PT_ARRAY)
        return *(const int32_t *)(msg + f->count_offset) == (f->default_null ? -1 : 0);
    switch (f->type) {
    case PT_BOOL: return *(const bool *)p == (f->default_int != 0);
    case PT_INT8: return *(const int8_t *)p == (int8_t)f->default_int;
    case PT_INT16: return *(const int16_t *)p == (int16_t)f->default_int;
    case PT_UINT16: return *(const uint16_t *)p == (uint16_t)f->default_int;
    case PT_INT32: return *(const int32_t *)p == (int32_t)f->default_int;
    case PT_UINT32: return *(const uint32_t *)p == (uint32_t)f->default_int;
    case PT_INT64: return *(const int64_t *)p == f->default_int;
    case PT_FLOAT64: return *(const double *)p == (double)f->default_int;
    case PT_UUID: return proto_uuid_is_zero((const proto_uuid_t *)p);
    case PT_STRING: return ((const proto_str_t *)p)->len == (f->default_null ? -1 : 0);
    case PT_BYTES: return ((const proto_bytes_t *)p)->len == (f->default_null ? -1 : 0);
    case PT_RECORDS: return ((const proto_records_t *)p)->len == (f->default_null ? -1 : 0);
    case PT_STRUCT: return struct_is_default(f->sub, p);
    }
    return true;
}

static bool struct_is_default(const proto_struct_t *desc, const void *msg)
{
    for (uint16_t i = 0; i < desc->field_count; i++)
        if (!field_is_default(&desc->fields[i], msg))
            return false;
    return true;
}

static void encode_tags(encoder_t *e, const proto_struct_t *desc, const uint8_t *msg)
{
    uint32_t count = 0;
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (f->tag >= 0 && in_range(e->version, f->min_version, f->max_version) &&
            !field_is_default(f, msg))
            count++;
    }
    buf_put_uvarint(e->out, count);
    if (count == 0)
        return;
    buf_t *outer = e->out;
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (f->tag < 0 || !in_range(e->version, f->min_version, f->max_version) ||
            field_is_default(f, msg))
            continue;
        /* The value's size comes first, so encode it aside. */
        buf_t value;
        buf_init(&value, outer->max_bytes);
        e->out = &value;
        proto_splices_t *splices = e->splices;
        e->splices = NULL;
        encode_field(e, f, msg);
        e->splices = splices;
        e->out = outer;
        if (value.failed)
            e->nomem = true;
        buf_put_uvarint(outer, (uint32_t)f->tag);
        buf_put_uvarint(outer, value.len);
        buf_put(outer, value.data, value.len);
        buf_free(&value);
    }
}

static void encode_struct(encoder_t *e, const proto_struct_t *desc, const void *msg)
{
    const uint8_t *base = msg;
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (f->tag >= 0)
            break;
        if (in_range(e->version, f->min_version, f->max_version))
            encode_field(e, f, base);
    }
    if (e->flexible)
        encode_tags(e, desc, base);
}

samsa_err_t proto_encode(const proto_struct_t *desc, int16_t version, bool flexible,
                         const void *msg, buf_t *out, proto_splices_t *splices)
{
    if (desc == &produce_request_desc)
        return produce_request_encode(msg, version, flexible, out, splices);
    return proto_encode_generic(desc, version, flexible, msg, out, splices);
}

samsa_err_t proto_encode_generic(const proto_struct_t *desc, int16_t version, bool flexible,
                                 const void *msg, buf_t *out, proto_splices_t *splices)
{
    encoder_t e = {version, flexible, out, splices, false, false};
    encode_struct(&e, desc, msg);
    if (e.invalid)
        return SAMSA_ERR__INVALID_ARG;
    if (e.nomem || out->failed)
        return SAMSA_ERR__NOMEM;
    return SAMSA_ERR_NONE;
}

void proto_splices_free(proto_splices_t *s)
{
    free(s->items);
    memset(s, 0, sizeof(*s));
}

/* ---- headers ---------------------------------------------------------- */

void proto_skip_tags(reader_t *r)
{
    uint32_t count = reader_uvarint(r);
    int64_t last_tag = -1;
    for (uint32_t i = 0; i < count && !r->bad; i++) {
        uint32_t tag = reader_uvarint(r);
        uint32_t size = reader_uvarint(r);
        if ((int64_t)tag <= last_tag) {
            reader_fail(r);
            return;
        }
        last_tag = tag;
        reader_take(r, size);
    }
}

int proto_request_header_version(const proto_api_t *api, int16_t version)
{
    return proto_api_flexible(api, version) ? 2 : 1;
}

int proto_response_header_version(const proto_api_t *api, int16_t version)
{
    if (api->key == 18) /* ApiVersions answers with header v0 so any client can read it */
        return 0;
    return proto_api_flexible(api, version) ? 1 : 0;
}

samsa_err_t proto_request_header_read(reader_t *r, proto_request_header_t *hdr)
{
    hdr->api_key = reader_i16(r);
    hdr->api_version = reader_i16(r);
    hdr->correlation_id = reader_i32(r);
    /* client_id is a classic nullable string in both header versions */
    int16_t len = reader_i16(r);
    hdr->client_id.len = len;
    hdr->client_id.ptr = "";
    if (len < -1) {
        reader_fail(r);
    } else if (len > 0) {
        const uint8_t *p = reader_take(r, (size_t)len);
        if (p)
            hdr->client_id.ptr = (const char *)p;
    }
    const proto_api_t *api = proto_api(hdr->api_key);
    if (!r->bad && api && proto_api_supports(api, hdr->api_version) &&
        proto_request_header_version(api, hdr->api_version) == 2)
        proto_skip_tags(r);
    return r->bad ? SAMSA_ERR__BAD_MSG : SAMSA_ERR_NONE;
}

void proto_request_header_write(buf_t *out, const proto_request_header_t *hdr, int header_version)
{
    buf_put_i16(out, hdr->api_key);
    buf_put_i16(out, hdr->api_version);
    buf_put_i32(out, hdr->correlation_id);
    buf_put_i16(out, (int16_t)hdr->client_id.len);
    if (hdr->client_id.len > 0)
        buf_put(out, hdr->client_id.ptr, (size_t)hdr->client_id.len);
    if (header_version >= 2)
        buf_put_uvarint(out, 0);
}

samsa_err_t proto_response_header_read(reader_t *r, int header_version, int32_t *correlation_id)
{
    *correlation_id = reader_i32(r);
    if (header_version >= 1)
        proto_skip_tags(r);
    return r->bad ? SAMSA_ERR__BAD_MSG : SAMSA_ERR_NONE;
}

void proto_response_header_write(buf_t *out, int header_version, int32_t correlation_id)
{
    buf_put_i32(out, correlation_id);
    if (header_version >= 1)
        buf_put_uvarint(out, 0);
}

char *proto_str_dup(arena_t *arena, proto_str_t s)
{
    if (s.len < 0)
        return NULL;
    char *c = arena_alloc(arena, (size_t)s.len + 1);
    if (c && s.len)
        memcpy(c, s.ptr, (size_t)s.len);
    return c;
}
