/*
 * fuzz_response.c: libFuzzer target for the response decoder. The first
 * four input bytes choose the API key and version (as a client knows them
 * from its request); the rest is the response frame body.
 */
#include "proto/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t count;
    const proto_api_t *apis = proto_apis(&count);
    const proto_api_t *api = &apis[data[0] % count];
    int span = api->max_version - api->min_version + 1;
    int16_t version = (int16_t)(api->min_version + data[1] % span);
    reader_t r = reader_make(data + 4, size - 4);
    int32_t correlation_id;
    if (proto_response_header_read(&r, proto_response_header_version(api, version),
                                   &correlation_id) != SAMSA_ERR_NONE)
        return 0;
    arena_t arena;
    arena_init(&arena, 1 << 20);
    void *msg = arena_alloc(&arena, api->response->size);
    bool flexible = proto_api_flexible(api, version);
    if (msg && proto_decode(api->response, version, flexible, &r, &arena, msg) == SAMSA_ERR_NONE) {
        buf_t out;
        buf_init(&out, 0);
        if (proto_encode(api->response, version, flexible, msg, &out, NULL) != SAMSA_ERR_NONE)
            abort();
        buf_free(&out);
    }
    arena_free(&arena);
    return 0;
}
