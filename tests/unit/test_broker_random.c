/*
 * Random requests against an embedded broker: every API the broker serves,
 * at every version, filled with random values by the test codec helpers.
 * Each must get a response that decodes, or (for a request the broker
 * cannot accept) a closed connection; the broker must keep serving.
 */
#include <check.h>

#include "../integration/kclient.h"
#include "broker/broker_int.h"
#include "protogen.h"
#include "unit.h"

/* Makes a random request safe to wait for: an answer must come (acks 1,
 * no long poll) and nothing may create thousands of partitions. */
static void tame(int16_t key, void *body)
{
    if (key == API_PRODUCE)
        ((produce_request_t *)body)->acks = 1;
    if (key == API_FETCH)
        ((fetch_request_t *)body)->max_wait_ms = 0;
}

START_TEST(random_requests_get_answers_or_a_close_and_the_broker_keeps_serving)
{
    test_broker_t tb;
    test_broker_start(&tb, false, NULL);
    uint64_t rng = 0x5a5a1234abcdULL;
    kclient_t c;
    kclient_connect(&c, tb.bootstrap);
    int answered = 0, closed = 0;
    for (int key = 0; key < 100; key++) {
        const broker_handler_t *h = broker_handler_find((int16_t)key);
        const proto_api_t *api = proto_api((int16_t)key);
        if (!h || !api || key == API_CREATE_TOPICS || key == API_CREATE_PARTITIONS)
            continue;
        for (int16_t v = h->min_version; v <= h->max_version; v++) {
            if (!proto_api_supports(api, v))
                continue;
            for (int i = 0; i < 20; i++) {
                arena_t arena;
                arena_init(&arena, 0);
                void *body = arena_alloc(&arena, api->request->size);
                protogen_fill(api->request, v, proto_api_flexible(api, v), body, &arena, &rng);
                tame((int16_t)key, body);
                int32_t id = kclient_send(&c, (int16_t)key, v, body);
                size_t len;
                uint8_t *frame = kclient_read_frame(&c, &len);
                if (!frame) {
                    closed++;
                    kclient_close(&c);
                    kclient_connect(&c, tb.bootstrap);
                } else {
                    reader_t r = reader_make(frame, len);
                    int32_t got;
                    ck_assert_int_eq(proto_response_header_read(
                                         &r, proto_response_header_version(api, v), &got),
                                     0);
                    ck_assert_int_eq(got, id);
                    void *resp = arena_alloc(&arena, api->response->size);
                    ck_assert_msg(proto_decode(api->response, v, proto_api_flexible(api, v), &r,
                                               &arena, resp) == 0,
                                  "%s v%d: the response does not decode", api->name, (int)v);
                    answered++;
                }
                arena_free(&arena);
            }
        }
    }
    ck_assert_int_gt(answered, 0);
    /* still serving */
    api_versions_request_t req;
    proto_init(&api_versions_request_desc, &req);
    api_versions_response_t *resp = kclient_call(&c, API_API_VERSIONS, 3, &req);
    ck_assert_int_eq(resp->error_code, 0);
    kclient_close(&c);
    test_broker_stop(&tb, true);
    fprintf(stderr, "random requests: %d answered, %d closed the connection\n", answered, closed);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("broker_random");
    TCase *tc = tcase_create("random");
    tcase_add_test(tc, random_requests_get_answers_or_a_close_and_the_broker_keeps_serving);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
