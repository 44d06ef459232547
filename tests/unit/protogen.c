/*
 * protogen.c: random messages and field-by-field comparison for codec tests.
 */
#include "protogen.h"

#include <stdio.h>
#include <string.h>

uint64_t protogen_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static bool nullable(const proto_field_t *f, int16_t v) { return v >= f->null_min && v <= f->null_max; }

static void fill_value(const proto_field_t *f, uint8_t type, int16_t v, bool flexible, void *p,
                       arena_t *a, uint64_t *rng)
{
    uint64_t r = protogen_rand(rng);
    switch (type) {
    case PT_BOOL: *(bool *)p = r & 1; break;
    case PT_INT8: *(int8_t *)p = (int8_t)r; break;
    case PT_INT16: *(int16_t *)p = (int16_t)r; break;
    case PT_UINT16: *(uint16_t *)p = (uint16_t)r; break;
    case PT_INT32: *(int32_t *)p = (int32_t)r; break;
    case PT_UINT32: *(uint32_t *)p = (uint32_t)r; break;
    case PT_INT64: *(int64_t *)p = (int64_t)r; break;
    case PT_FLOAT64: *(double *)p = (double)(int32_t)r / 8.0; break;
    case PT_UUID:
        for (int i = 0; i < 16; i++)
            ((proto_uuid_t *)p)->bytes[i] = (uint8_t)protogen_rand(rng);
        break;
    case PT_STRING: {
        proto_str_t *s = p;
        if (nullable(f, v) && r % 5 == 0) {
            s->ptr = "";
            s->len = -1;
            break;
        }
        int32_t len = (int32_t)((r >> 8) % 9);
        char *c = arena_alloc(a, (size_t)len + 1);
        for (int32_t i = 0; i < len; i++)
            c[i] = (char)('a' + protogen_rand(rng) % 26);
        s->ptr = c;
        s->len = len;
        break;
    }
    case PT_BYTES:
    case PT_RECORDS: {
        int32_t len = -1;
        uint8_t *c = NULL;
        if (!(nullable(f, v) && r % 5 == 0)) {
            len = (int32_t)((r >> 8) % 40);
            c = arena_alloc(a, (size_t)len + 1);
            for (int32_t i = 0; i < len; i++)
                c[i] = (uint8_t)protogen_rand(rng);
        }
        if (type == PT_BYTES) {
            ((proto_bytes_t *)p)->ptr = len > 0 ? c : NULL;
            ((proto_bytes_t *)p)->len = len;
        } else {
            ((proto_records_t *)p)->data = len > 0 ? c : NULL;
            ((proto_records_t *)p)->len = len;
        }
        break;
    }
    case PT_STRUCT: protogen_fill(f->sub, v, flexible, p, a, rng); break;
    }
}

void protogen_fill(const proto_struct_t *desc, int16_t v, bool flexible, void *msg, arena_t *a,
                   uint64_t *rng)
{
    proto_init(desc, msg);
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (v < f->min_version || v > f->max_version)
            continue;
        if (f->tag >= 0 && !flexible)
            continue;
        uint8_t *base = msg;
        if (f->type & PT_ARRAY) {
            uint64_t r = protogen_rand(rng);
            int32_t count = nullable(f, v) && r % 6 == 0 ? -1 : (int32_t)(r % 4);
            size_t size = proto_elem_size(f);
            uint8_t *items = count > 0 ? arena_alloc(a, size * (size_t)count) : NULL;
            for (int32_t k = 0; k < count; k++)
                fill_value(f, f->type & ~PT_ARRAY, v, flexible, items + size * (size_t)k, a, rng);
            *(void **)(base + f->offset) = items;
            *(int32_t *)(base + f->count_offset) = count;
        } else {
            fill_value(f, f->type, v, flexible, base + f->offset, a, rng);
        }
    }
}

static bool value_equal(const proto_field_t *f, uint8_t type, const void *a, const void *b,
                        char *where, size_t where_len)
{
    switch (type) {
    case PT_STRING: {
        const proto_str_t *x = a, *y = b;
        return x->len == y->len && (x->len <= 0 || memcmp(x->ptr, y->ptr, (size_t)x->len) == 0);
    }
    case PT_BYTES: {
        const proto_bytes_t *x = a, *y = b;
        return x->len == y->len && (x->len <= 0 || memcmp(x->ptr, y->ptr, (size_t)x->len) == 0);
    }
    case PT_RECORDS: {
        const proto_records_t *x = a, *y = b;
        return x->len == y->len && (x->len <= 0 || memcmp(x->data, y->data, (size_t)x->len) == 0);
    }
    case PT_STRUCT: return protogen_equal(f->sub, a, b, where, where_len);
    case PT_BOOL: return *(const bool *)a == *(const bool *)b;
    default: return memcmp(a, b, proto_elem_size(f)) == 0;
    }
}

bool protogen_equal(const proto_struct_t *desc, const void *a, const void *b, char *where,
                    size_t where_len)
{
    const uint8_t *x = a, *y = b;
    for (uint16_t i = 0; i < desc->field_count; i++) {
        const proto_field_t *f = &desc->fields[i];
        bool same = true;
        if (f->type & PT_ARRAY) {
            int32_t nx = *(const int32_t *)(x + f->count_offset);
            int32_t ny = *(const int32_t *)(y + f->count_offset);
            same = nx == ny;
            const uint8_t *ix = *(const uint8_t *const *)(x + f->offset);
            const uint8_t *iy = *(const uint8_t *const *)(y + f->offset);
            size_t size = proto_elem_size(f);
            for (int32_t k = 0; same && k < nx; k++)
                same = value_equal(f, f->type & ~PT_ARRAY, ix + size * (size_t)k,
                                   iy + size * (size_t)k, where, where_len);
        } else {
            same = value_equal(f, f->type, x + f->offset, y + f->offset, where, where_len);
        }
        if (!same) {
            if (where && where_len) {
                char inner[256];
                snprintf(inner, sizeof(inner), "%s", where);
                snprintf(where, where_len, "%s.%s%s%s", desc->name, f->name, inner[0] ? " > " : "",
                         inner);
            }
            return false;
        }
    }
    return true;
}

const proto_struct_t *protogen_sub(const proto_struct_t *desc, const char *field)
{
    for (uint16_t i = 0; i < desc->field_count; i++)
        if (strcmp(desc->fields[i].name, field) == 0)
            return desc->fields[i].sub;
    return NULL;
}
