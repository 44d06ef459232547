/*
 * Golden bytes: requests and responses captured from real Kafka clients
 * talking to Apache Kafka (tests/data/golden/<client>/, see the README there)
 * decode and re-encode byte for byte.
 *
 * File names: NNNN-<ApiName>-v<version>-request.bin or -response.bin; the
 * content is a frame body (header and message, without the size prefix).
 */
#include "proto/messages.h"
#include "proto/print.h"

#include <check.h>

#include "unit.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/data/golden"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static const proto_api_t *api_by_name(const char *name)
{
    size_t count;
    const proto_api_t *apis = proto_apis(&count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(apis[i].name, name) == 0)
            return &apis[i];
    return NULL;
}

/* Decodes and re-encodes one captured frame; returns the API it carried, or
 * NULL when samsa does not speak that API or version (newer clients also
 * try versions past Kafka 4.3's, such as ApiVersions v5). */
static const proto_api_t *check_frame(const char *path, const char *api_name, int16_t version,
                                      bool request)
{
    const proto_api_t *api = api_by_name(api_name);
    if (!api || !proto_api_supports(api, version))
        return NULL;
    size_t len;
    uint8_t *frame = read_file(path, &len);
    reader_t r = reader_make(frame, len);
    buf_t out;
    buf_init(&out, 0);
    bool flexible = proto_api_flexible(api, version);
    if (request) {
        proto_request_header_t hdr;
        ck_assert_int_eq(proto_request_header_read(&r, &hdr), SAMSA_ERR_NONE);
        ck_assert_int_eq(hdr.api_key, api->key);
        ck_assert_int_eq(hdr.api_version, version);
        proto_request_header_write(&out, &hdr, proto_request_header_version(api, version));
    } else {
        int32_t correlation_id;
        int hv = proto_response_header_version(api, version);
        ck_assert_int_eq(proto_response_header_read(&r, hv, &correlation_id), SAMSA_ERR_NONE);
        proto_response_header_write(&out, hv, correlation_id);
    }
    const proto_struct_t *desc = request ? api->request : api->response;
    arena_t arena;
    arena_init(&arena, 0);
    void *msg = arena_alloc(&arena, desc->size);
    samsa_err_t err = proto_decode(desc, version, flexible, &r, &arena, msg);
    ck_assert_msg(err == SAMSA_ERR_NONE, "%s: decode failed (%s)", path, samsa_err_name(err));
    ck_assert_msg(reader_left(&r) == 0, "%s: %zu bytes not decoded", path, reader_left(&r));
    ck_assert_int_eq(proto_encode(desc, version, flexible, msg, &out, NULL), SAMSA_ERR_NONE);
    if (out.len != len || memcmp(out.data, frame, len) != 0) {
        buf_t text;
        buf_init(&text, 0);
        proto_print_json(desc, version, msg, &text);
        buf_put_i8(&text, 0);
        size_t at = 0;
        while (at < len && at < out.len && out.data[at] == frame[at])
            at++;
        ck_abort_msg("%s: re-encoded %zu bytes differ from the %zu captured at byte %zu; decoded: %s",
                     path, out.len, len, at, (char *)text.data);
    }
    buf_free(&out);
    arena_free(&arena);
    free(frame);
    return api;
}

START_TEST(captured_frames_reencode_byte_for_byte)
{
    DIR *top = opendir(GOLDEN_DIR);
    ck_assert_msg(top != NULL, "no %s", GOLDEN_DIR);
    /* which (client, api) pairs had a request that round-tripped */
    const char *required[] = {"Produce", "Fetch", "Metadata", "ApiVersions", "JoinGroup",
                              "SyncGroup", "OffsetCommit"};
    enum { NREQ = sizeof(required) / sizeof(required[0]) };
    int clients_with[NREQ] = {0};
    int frames = 0;
    struct dirent *client;
    while ((client = readdir(top))) {
        if (client->d_name[0] == '.')
            continue;
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/%s", GOLDEN_DIR, client->d_name);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        bool seen[NREQ] = {false};
        struct dirent *e;
        while ((e = readdir(d))) {
            char api_name[64], kind[16];
            int seq, version;
            if (sscanf(e->d_name, "%d-%63[A-Za-z]-v%d-%15[a-z].bin", &seq, api_name, &version,
                       kind) != 4)
                continue;
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            bool request = strcmp(kind, "request") == 0;
            const proto_api_t *api = check_frame(path, api_name, (int16_t)version, request);
            if (!api)
                continue;
            frames++;
            for (int i = 0; i < NREQ; i++)
                if (request && strcmp(required[i], api->name) == 0)
                    seen[i] = true;
        }
        closedir(d);
        for (int i = 0; i < NREQ; i++)
            clients_with[i] += seen[i];
    }
    closedir(top);
    ck_assert_int_gt(frames, 20);
    for (int i = 0; i < NREQ; i++)
        ck_assert_msg(clients_with[i] >= 2, "%s requests captured from %d client(s), want 2",
                      required[i], clients_with[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, captured_frames_reencode_byte_for_byte);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
