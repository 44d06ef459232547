/*
 * fuzz_request.c: libFuzzer target for the request decoder. The input is a
 * frame body (header and message) as a broker receives it.
 */
#include "proto/messages.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader_t r = reader_make(data, size);
    proto_request_header_t hdr;
    if (proto_request_header_read(&r, &hdr) != SAMSA_ERR_NONE)
        return 0;
    const proto_api_t *api = proto_api(hdr.api_key);
    if (!api || !proto_api_supports(api, hdr.api_version))
        return 0;
    arena_t arena;
    arena_init(&arena, 1 << 20);
    void *msg = arena_alloc(&arena, api->request->size);
    bool flexible = proto_api_flexible(api, hdr.api_version);
    if (msg && api->request == &produce_request_desc) {
        /* the hand-written decoder and encoder agree with the generic ones;
         * each decodes into an arena of its own, so that both have the
         * same room (sharing one, the second could run out where the first
         * did not) */
        arena_t arena2;
        arena_init(&arena2, 1 << 20);
        reader_t r2 = r;
        void *slow = arena_alloc(&arena2, api->request->size);
        samsa_err_t e1 = proto_decode(api->request, hdr.api_version, flexible, &r2, &arena, msg);
        reader_t r3 = r;
        samsa_err_t e2 =
            proto_decode_generic(api->request, hdr.api_version, flexible, &r3, &arena2, slow);
        if (!slow || e1 != e2 || r2.pos != r3.pos)
            abort();
        if (e1 == SAMSA_ERR_NONE) {
            buf_t a, b;
            buf_init(&a, 0);
            buf_init(&b, 0);
            proto_encode(api->request, hdr.api_version, flexible, msg, &a, NULL);
            proto_encode_generic(api->request, hdr.api_version, flexible, slow, &b, NULL);
            if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
                abort();
            buf_free(&a);
            buf_free(&b);
        }
        arena_free(&arena2);
    }
    if (msg && proto_decode(api->request, hdr.api_version, flexible, &r, &arena, msg) == SAMSA_ERR_NONE) {
        /* whatever decodes must encode again */
        buf_t out;
        buf_init(&out, 0);
        if (proto_encode(api->request, hdr.api_version, flexible, msg, &out, NULL) != SAMSA_ERR_NONE)
            abort();
        buf_free(&out);
    }
    arena_free(&arena);
    return 0;
}
