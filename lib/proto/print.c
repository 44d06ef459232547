/*
 * print.c: writes a decoded message as JSON, walking its description; for
 * diagnostics, test failures and the codec demo.
 */
#include "proto/print.h"

#include <inttypes.h>
#include <stdio.h>

static void put_str(buf_t *out, const char *s) { buf_put(out, s, strlen(s)); }

static void put_fmt(buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(buf_t *out, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_put(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_json_string(buf_t *out, const char *p, int32_t len)
{
    if (len < 0) {
        put_str(out, "null");
        return;
    }
    buf_put_i8(out, '"');
    for (int32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            buf_put_i8(out, '\\');
            buf_put_i8(out, (int8_t)c);
        } else if (c < 0x20 || c >= 0x7f) {
            put_fmt(out, "\\u%04x", c);
        } else {
            buf_put_i8(out, (int8_t)c);
        }
    }
    buf_put_i8(out, '"');
}

static void put_hex(buf_t *out, const uint8_t *p, int32_t len, int32_t max_bytes)
{
    if (len < 0) {
        put_str(out, "null");
        return;
    }
    buf_put_i8(out, '"');
    for (int32_t i = 0; i < len && i < max_bytes; i++)
        put_fmt(out, "%02x", p[i]);
    if (len > max_bytes)
        put_fmt(out, "...(%" PRId32 " bytes)", len);
    buf_put_i8(out, '"');
}

static void print_struct(const proto_struct_t *desc, int16_t version, const void *msg,
                         buf_t *out);

static void print_value(const proto_field_t *f, uint8_t type, int16_t version, const void *p,
                        buf_t *out)
{
    switch (type) {
    case PT_BOOL: put_str(out, *(const bool *)p ? "true" : "false"); break;
    case PT_INT8: put_fmt(out, "%d", *(const int8_t *)p); break;
    case PT_INT16: put_fmt(out, "%d", *(const int16_t *)p); break;
    case PT_UINT16: put_fmt(out, "%u", *(const uint16_t *)p); break;
    case PT_INT32: put_fmt(out, "%" PRId32, *(const int32_t *)p); break;
    case PT_UINT32: put_fmt(out, "%" PRIu32, *(const uint32_t *)p); break;
    case PT_INT64: put_fmt(out, "%" PRId64, *(const int64_t *)p); break;
    case PT_FLOAT64: put_fmt(out, "%g", *(const double *)p); break;
    case PT_UUID: put_hex(out, ((const proto_uuid_t *)p)->bytes, 16, 16); break;
    case PT_STRING: {
        const proto_str_t *s = p;
        put_json_string(out, s->ptr, s->len);
        break;
    }
    case PT_BYTES: {
        const proto_bytes_t *b = p;
        put_hex(out, b->ptr, b->len, 64);
        break;
    }
    case PT_RECORDS: {
        const proto_records_t *rec = p;
        put_hex(out, rec->data, rec->len, 16);
        break;
    }
    case PT_STRUCT: print_struct(f->sub, version, p, out); break;
    }
}

static void print_struct(const proto_struct_t *desc, int16_t version, const void *msg, buf_t *out)
{
    const uint8_t *base = msg;
    bool first = true;
    buf_put_i8(out, '{');
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (version < f->min_version || version > f->max_version)
            continue;
        if (!first)
            put_str(out, ", ");
        first = false;
        put_fmt(out, "\"%.40s\": ", f->name);
        if (!(f->type & PT_ARRAY)) {
            print_value(f, f->type, version, base + f->offset, out);
            continue;
        }
        int32_t count = *(const int32_t *)(base + f->count_offset);
        if (count < 0) {
            put_str(out, "null");
            continue;
        }
        const uint8_t *items = *(const uint8_t *const *)(base + f->offset);
        size_t size = proto_elem_size(f);
        buf_put_i8(out, '[');
        for (int32_t k = 0; k < count; k++) {
            if (k)
                put_str(out, ", ");
            print_value(f, f->type & ~PT_ARRAY, version, items + size * (size_t)k, out);
        }
        buf_put_i8(out, ']');
    }
    buf_put_i8(out, '}');
}

void proto_print_json(const proto_struct_t *desc, int16_t version, const void *msg, buf_t *out)
{
    print_struct(desc, version, msg, out);
}
