/*
 * fuzz_request.c: libFuzzer target for the request decoder. The input is a
 * frame body (header and message) as a broker receives it.
 */
#include "proto/codec.h"

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
