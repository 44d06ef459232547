/*
 * dispatch.c: which handler serves which API at which versions,
 * ApiVersions, which advertises exactly that table, and the helpers
 * handlers build responses with.
 *
 * Adding an API is one line in handlers[]: its key, the versions the
 * handler implements (within what the codec speaks, lib/proto/apis.c) and
 * the function. ApiVersions lists every entry with its range and nothing
 * else, so a client is never told about a version nobody answers; the SASL
 * APIs are listed on SASL listeners only.
 *
 * The helpers at the end build responses in the request's arena.
 *
 * Produce is listed from v0 although the codec decodes v3 and up: librdkafka
 * up to 2.11 turns gzip, snappy and lz4 off unless the broker lists Produce
 * v0 (it asks whether Produce v0 is supported before compressing), which
 * Kafka 4 also does for that reason. Produce v0-2 requests get a per
 * partition UNSUPPORTED_VERSION answer in their own layout (produce.c);
 * no current client sends them.
 */
#include "broker/broker_int.h"

#include <string.h>

#include "base/slog.h"

static void handle_api_versions(struct broker *b, broker_request_t *req);

/* Consumer groups and committed offsets belong to the group coordinator. */
static void handle_group(struct broker *b, broker_request_t *req) { group_handle(b->groups, req); }

static void handle_init_producer_id(struct broker *b, broker_request_t *req)
{
    producer_ids_handle_init(b->producer_ids, req);
}

static const broker_handler_t handlers[] = {
    {API_PRODUCE, 0, 13, handle_produce},
    {API_FETCH, 4, 18, handle_fetch},
    {API_LIST_OFFSETS, 1, 11, handle_list_offsets},
    {API_METADATA, 0, 13, handle_metadata},
    {API_OFFSET_COMMIT, 2, 10, handle_group},
    {API_OFFSET_FETCH, 1, 10, handle_group},
    {API_FIND_COORDINATOR, 0, 6, handle_group},
    {API_JOIN_GROUP, 0, 9, handle_group},
    {API_HEARTBEAT, 0, 4, handle_group},
    {API_LEAVE_GROUP, 0, 5, handle_group},
    {API_SYNC_GROUP, 0, 5, handle_group},
    {API_DESCRIBE_GROUPS, 0, 6, handle_group},
    {API_LIST_GROUPS, 0, 5, handle_group},
    {API_SASL_HANDSHAKE, 0, 1, handle_sasl_handshake},
    {API_API_VERSIONS, 0, 4, handle_api_versions},
    {API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {API_DELETE_RECORDS, 0, 2, handle_delete_records},
    {API_INIT_PRODUCER_ID, 0, 5, handle_init_producer_id},
    {API_OFFSET_FOR_LEADER_EPOCH, 2, 4, handle_offset_for_leader_epoch},
    {API_DESCRIBE_CONFIGS, 1, 4, handle_describe_configs},
    {API_SASL_AUTHENTICATE, 0, 2, handle_sasl_authenticate},
    {API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {API_DESCRIBE_CLUSTER, 0, 2, handle_describe_cluster},
};
#define HANDLER_COUNT (sizeof(handlers) / sizeof(handlers[0]))

const broker_handler_t *broker_handler_find(int16_t api_key)
{
    for (size_t i = 0; i < HANDLER_COUNT; i++)
        if (handlers[i].api_key == api_key)
            return &handlers[i];
    return NULL;
}

void broker_dispatch(struct broker *b, const broker_handler_t *h, broker_request_t *req)
{
    slog_debug(BROKER_MODULE, "%s: %s v%d correlation id %d", req->client_addr, req->api->name,
               (int)req->api_version, (int)req->correlation_id);
    h->fn(b, req);
}

/* Whether ApiVersions lists h to the client of req: SaslHandshake and
 * SaslAuthenticate only on SASL listeners, where they mean something. */
static bool api_listed(const broker_handler_t *h, const broker_request_t *req)
{
    if (h->api_key != API_SASL_HANDSHAKE && h->api_key != API_SASL_AUTHENTICATE)
        return true;
    return req->session && broker_security_sasl((broker_security_t)req->session->security);
}

/* KIP-511: a version above ours gets UNSUPPORTED_VERSION in a v0 body that
 * still lists our ranges, so the client can retry with one of them. */
static void handle_api_versions(struct broker *b, broker_request_t *req)
{
    api_versions_response_t *resp = broker_response_new(req);
    if (!resp) {
        broker_request_respond(req, NULL);
        return;
    }
    resp->error_code = req->version_unsupported ? SAMSA_ERR_UNSUPPORTED_VERSION : 0;
    resp->api_keys = arena_alloc(&req->arena, HANDLER_COUNT * sizeof(*resp->api_keys));
    if (resp->api_keys) {
        /* handlers[] is in key order, as Kafka lists them */
        size_t n = 0;
        for (size_t i = 0; i < HANDLER_COUNT; i++) {
            if (!api_listed(&handlers[i], req))
                continue;
            resp->api_keys[n].api_key = handlers[i].api_key;
            resp->api_keys[n].min_version = handlers[i].min_version;
            resp->api_keys[n].max_version = handlers[i].max_version;
            n++;
        }
        resp->api_keys_count = (int32_t)n;
    } else {
        resp->error_code = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
    }
    broker_request_respond(req, resp);
}

/* ---- building responses ------------------------------------------------ */

proto_str_t broker_arena_str(broker_request_t *req, const char *why)
{
    proto_str_t s = {NULL, -1};
    size_t n = strlen(why);
    char *c = arena_alloc(&req->arena, n + 1);
    if (c) {
        memcpy(c, why, n);
        s.ptr = c;
        s.len = (int32_t)n;
    }
    return s;
}

void *broker_array(broker_request_t *req, const proto_struct_t *parent, size_t field_offset,
                   int32_t count)
{
    const proto_field_t *f = NULL;
    for (uint16_t i = 0; i < parent->field_count; i++)
        if ((parent->fields[i].type & PT_ARRAY) && parent->fields[i].offset == field_offset)
            f = &parent->fields[i];
    if (!f || count <= 0)
        return NULL;
    size_t size = proto_elem_size(f);
    uint8_t *items = arena_alloc(&req->arena, size * (size_t)count);
    if (items && (f->type & ~PT_ARRAY) == PT_STRUCT)
        for (int32_t i = 0; i < count; i++)
            proto_init(f->sub, items + size * (size_t)i);
    return items;
}

const proto_struct_t *broker_sub_desc(const proto_struct_t *parent, size_t field_offset)
{
    for (uint16_t i = 0; i < parent->field_count; i++)
        if (parent->fields[i].offset == field_offset && parent->fields[i].sub)
            return parent->fields[i].sub;
    return NULL;
}
