/*
 * kdump.c: prints captured Kafka frames as JSON, one line each.
 *
 *   kdump FILE...
 *
 * Each FILE is named NNNN-<ApiName>-v<version>-request.bin or
 * -response.bin and holds one frame body (header and message), as the
 * capture tools write them (tests/data/golden/README).
 */
#include "proto/messages.h"
#include "proto/print.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dump(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char api_name[64], kind[16];
    int seq, version;
    if (sscanf(base, "%d-%63[A-Za-z]-v%d-%15[a-z].bin", &seq, api_name, &version, kind) != 4) {
        fprintf(stderr, "%% %s: not a capture file name\n", path);
        return 1;
    }
    size_t count;
    const proto_api_t *apis = proto_apis(&count), *api = NULL;
    for (size_t i = 0; i < count; i++)
        if (strcmp(apis[i].name, api_name) == 0)
            api = &apis[i];
    if (!api || !proto_api_supports(api, (int16_t)version)) {
        printf("%s: %s v%d is not an API version samsa speaks\n", base, api_name, version);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    static uint8_t frame[1 << 22];
    size_t len = fread(frame, 1, sizeof(frame), f);
    fclose(f);

    reader_t r = reader_make(frame, len);
    bool request = strcmp(kind, "request") == 0;
    int32_t correlation_id;
    if (request) {
        proto_request_header_t hdr;
        proto_request_header_read(&r, &hdr);
        correlation_id = hdr.correlation_id;
    } else {
        proto_response_header_read(&r, proto_response_header_version(api, (int16_t)version),
                                   &correlation_id);
    }
    const proto_struct_t *desc = request ? api->request : api->response;
    arena_t arena;
    arena_init(&arena, 1 << 24);
    void *msg = arena_alloc(&arena, desc->size);
    samsa_err_t err = proto_decode(desc, (int16_t)version, proto_api_flexible(api, (int16_t)version),
                                   &r, &arena, msg);
    if (err) {
        fprintf(stderr, "%% %s: %s\n", path, samsa_err_str(err));
        arena_free(&arena);
        return 1;
    }
    buf_t out;
    buf_init(&out, 0);
    proto_print_json(desc, (int16_t)version, msg, &out);
    printf("%s v%d %s #%d: %.*s\n", api->name, version, kind, correlation_id, (int)out.len,
           (const char *)out.data);
    buf_free(&out);
    arena_free(&arena);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kdump FILE...\n");
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++)
        status |= dump(argv[i]);
    return status;
}
