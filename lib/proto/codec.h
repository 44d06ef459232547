/*
 * codec.h: the Kafka wire codec: message descriptions and the one generic
 * encoder and decoder that walk them.
 *
 * Every request and response is a C struct (declared in proto/msg_*.h, which
 * tools/gen_proto.py generates) together with a proto_struct_t that lists its
 * fields: type, the versions it is present in, the versions in which it may be
 * null, its tag when it is a tagged field, and where it lives in the struct.
 * proto_decode() and proto_encode() walk that description for one version.
 *
 * Decoded strings, bytes and records are slices into the input frame (no
 * copy): the frame must outlive the decoded message. Arrays are allocated from
 * the caller's arena. Fields that a version does not have, and tagged fields
 * that were not sent, hold their default values.
 */
#ifndef SAMSA_PROTO_CODEC_H
#define SAMSA_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "samsa.h"

/* A string on the wire: len bytes at ptr (not NUL-terminated); len -1 is null. */
typedef struct proto_str {
    const char *ptr;
    int32_t len;
} proto_str_t;

/* Bytes on the wire; len -1 is null. */
typedef struct proto_bytes {
    const uint8_t *ptr;
    int32_t len;
} proto_bytes_t;

/* Record batches inside a message (Produce, Fetch). len -1 is null. When
 * source is set the bytes also live in a file (a log segment): an encoder
 * given a splice list leaves a gap for them instead of copying (see
 * proto_splice_t); data must still point at the same bytes. */
typedef struct proto_records {
    const uint8_t *data;
    int32_t len;
    const void *source;
} proto_records_t;

typedef struct proto_uuid {
    uint8_t bytes[16];
} proto_uuid_t;

/* A place in an encoded message where external record bytes go: the encoded
 * buffer holds everything but these, and the sender writes buffer bytes up to
 * buf_pos, then the len bytes of the records, then carries on. */
typedef struct proto_splice {
    size_t buf_pos;
    const proto_records_t *records;
} proto_splice_t;

typedef struct proto_splices {
    proto_splice_t *items;
    size_t count;
    size_t cap;
    size_t total_bytes; /* sum of the records' lengths */
} proto_splices_t;

/* Field types. PT_ARRAY is or-ed with the element type. */
enum proto_type {
    PT_BOOL = 1,
    PT_INT8,
    PT_INT16,
    PT_INT32,
    PT_INT64,
    PT_UINT16,
    PT_UINT32,
    PT_FLOAT64,
    PT_UUID,
    PT_STRING,
    PT_BYTES,
    PT_RECORDS,
    PT_STRUCT,
    PT_ARRAY = 0x80,
};

/* Version ranges are inclusive; PROTO_NEVER marks an empty range. */
#define PROTO_NEVER_MIN 0x7fff
#define PROTO_NEVER_MAX (-1)

typedef struct proto_struct proto_struct_t;

typedef struct proto_field {
    const char *name;
    uint8_t type;                   /* enum proto_type, maybe | PT_ARRAY */
    int16_t min_version, max_version;   /* versions the field is in */
    int16_t null_min, null_max;     /* versions in which it may be null */
    int16_t tag;                    /* tag number, or -1 for a regular field */
    uint16_t offset;                /* of the value (or the array pointer) in its struct */
    uint16_t count_offset;          /* arrays: of the int32_t element count */
    const proto_struct_t *sub;      /* PT_STRUCT (element) description */
    int64_t default_int;            /* numeric and bool default */
    bool default_null;              /* strings, bytes, arrays: default is null */
} proto_field_t;

struct proto_struct {
    const char *name;
    uint16_t size; /* sizeof the C struct */
    uint16_t field_count;
    const proto_field_t *fields; /* regular fields in wire order, then tagged ones by tag */
};

/* One API: its key, name, the versions samsa speaks, and the first flexible one. */
typedef struct proto_api {
    int16_t key;
    const char *name;
    int16_t min_version, max_version;
    int16_t flexible_min; /* PROTO_NEVER_MIN when never flexible */
    const proto_struct_t *request, *response;
} proto_api_t;

/* Bytes one element of the field's type takes in its C struct. */
size_t proto_elem_size(const proto_field_t *f);

/* The API with this key, or NULL when samsa does not speak it. */
const proto_api_t *proto_api(int16_t api_key);
/* All APIs samsa speaks, in key order; *count receives their number. */
const proto_api_t *proto_apis(size_t *count);

static inline bool proto_api_flexible(const proto_api_t *api, int16_t version)
{
    return version >= api->flexible_min;
}
static inline bool proto_api_supports(const proto_api_t *api, int16_t version)
{
    return version >= api->min_version && version <= api->max_version;
}

/* Fills the struct at msg with every field's default (as a version that lacks
 * the field would decode it). Nested arrays start empty. */
void proto_init(const proto_struct_t *desc, void *msg);

/* Decodes one message of the given version from r into msg (a struct of
 * desc's type), allocating arrays from arena. Returns SAMSA_ERR_NONE, or
 * SAMSA_ERR__BAD_MSG when the input is malformed or truncated, or
 * SAMSA_ERR__NOMEM when the arena refuses. Strings, bytes and records point
 * into r's buffer. Reads exactly the message's bytes; the caller checks
 * whether any are left over. */
samsa_err_t proto_decode(const proto_struct_t *desc, int16_t version, bool flexible, reader_t *r,
                         arena_t *arena, void *msg);

/* proto_decode without the hand-written fast paths (Produce requests, in
 * produce_fast.c), for the tests that compare the two. */
samsa_err_t proto_decode_generic(const proto_struct_t *desc, int16_t version, bool flexible,
                                 reader_t *r, arena_t *arena, void *msg);

/* Appends the encoding of msg at the given version to out. Fields the version
 * lacks are left out. With splices non-NULL, records that have a source are
 * not copied but noted there (see proto_splice_t). Returns SAMSA_ERR_NONE,
 * SAMSA_ERR__NOMEM when out failed (allocation or cap), or
 * SAMSA_ERR__INVALID_ARG when a field that cannot be null in this version is
 * null. */
samsa_err_t proto_encode(const proto_struct_t *desc, int16_t version, bool flexible,
                         const void *msg, buf_t *out, proto_splices_t *splices);

/* proto_encode without the hand-written fast paths. */
samsa_err_t proto_encode_generic(const proto_struct_t *desc, int16_t version, bool flexible,
                                 const void *msg, buf_t *out, proto_splices_t *splices);

/* Notes that rec's bytes go at buf_pos of the encoded buffer. Returns
 * SAMSA_ERR__NOMEM when the list cannot grow. */
samsa_err_t proto_splice_add(proto_splices_t *s, size_t buf_pos, const proto_records_t *rec);
void proto_splices_free(proto_splices_t *s);

/* ---- headers and frames --------------------------------------------- */

typedef struct proto_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    proto_str_t client_id; /* nullable */
} proto_request_header_t;

/* Request header version for an API version: 2 when flexible, else 1. */
int proto_request_header_version(const proto_api_t *api, int16_t version);
/* Response header version: 1 when flexible, else 0; ApiVersions always 0. */
int proto_response_header_version(const proto_api_t *api, int16_t version);

/* Reads a request header (v1 or v2) from the start of a frame body. The
 * tagged fields of a v2 header are skipped. For an API samsa does not know,
 * only the v1 part is read (*hdr is still filled in) and
 * SAMSA_ERR_UNSUPPORTED_VERSION is not raised here: callers check
 * proto_api(). Returns SAMSA_ERR__BAD_MSG when the header is malformed. */
samsa_err_t proto_request_header_read(reader_t *r, proto_request_header_t *hdr);
void proto_request_header_write(buf_t *out, const proto_request_header_t *hdr, int header_version);

/* Response header: correlation id, plus an empty tagged-field section in v1. */
samsa_err_t proto_response_header_read(reader_t *r, int header_version, int32_t *correlation_id);
void proto_response_header_write(buf_t *out, int header_version, int32_t correlation_id);

/* ---- small helpers -------------------------------------------------- */

static inline proto_str_t proto_str_of(const char *s)
{
    proto_str_t v = {s, s ? (int32_t)strlen(s) : -1};
    return v;
}
static inline bool proto_uuid_eq(const proto_uuid_t *a, const proto_uuid_t *b)
{
    return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}
static inline bool proto_uuid_is_zero(const proto_uuid_t *id)
{
    static const proto_uuid_t zero;
    return proto_uuid_eq(id, &zero);
}
static inline bool proto_str_eq(proto_str_t s, const char *c)
{
    return s.len >= 0 && c && strlen(c) == (size_t)s.len && memcmp(s.ptr, c, (size_t)s.len) == 0;
}
/* A NUL-terminated copy of s in arena (NULL for a null string or no memory). */
char *proto_str_dup(arena_t *arena, proto_str_t s);

/* Reads a tagged-field section, skipping every field; tags must rise
 * strictly. Used for headers and by the codec. */
void proto_skip_tags(reader_t *r);

#endif /* SAMSA_PROTO_CODEC_H */
