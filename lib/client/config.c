/*
 * config.c: the client's property table: names (Java spelling first, then
 * librdkafka aliases), types, ranges, and the cross-checks of
 * client_config_finish (see config.h).
 */
#include "client/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/compress.h"
#include "net/scram.h"

enum prop_type {
    PROP_INT32,
    PROP_INT64,
    PROP_BOOL,
    PROP_STRING,
    PROP_ACKS,
    PROP_CODEC,
    PROP_QFULL,
    PROP_RESET,
    PROP_ISOLATION,
    PROP_STRATEGY,
    PROP_SECURITY,
    PROP_MECHANISM,
    PROP_ENDPOINT_ID,
};

typedef struct prop {
    const char *name;
    enum prop_type type;
    size_t offset;
    size_t size;      /* PROP_STRING: capacity of the char array */
    int64_t min, max; /* integer ranges */
    bool consumer;    /* a consumer property: unknown to producers */
} prop_t;

#define F(field) offsetof(client_config_t, field), sizeof(((client_config_t *)0)->field)
#define I32MAX INT32_MAX

static const prop_t props[] = {
    {"bootstrap.servers", PROP_STRING, F(bootstrap_servers), 0, 0, false},
    {"metadata.broker.list", PROP_STRING, F(bootstrap_servers), 0, 0, false},
    {"client.id", PROP_STRING, F(client_id), 0, 0, false},
    {"request.timeout.ms", PROP_INT32, F(request_timeout_ms), 1, I32MAX, false},
    {"socket.timeout.ms", PROP_INT32, F(request_timeout_ms), 1, I32MAX, false},
    {"reconnect.backoff.ms", PROP_INT32, F(reconnect_backoff_ms), 0, 3600000, false},
    {"reconnect.backoff.max.ms", PROP_INT32, F(reconnect_backoff_max_ms), 0, 3600000, false},
    {"socket.connection.setup.timeout.ms", PROP_INT32, F(connect_timeout_ms), 1, I32MAX, false},
    {"send.buffer.bytes", PROP_INT32, F(send_buffer_bytes), -1, I32MAX, false},
    {"socket.send.buffer.bytes", PROP_INT32, F(send_buffer_bytes), -1, I32MAX, false},
    {"receive.buffer.bytes", PROP_INT32, F(receive_buffer_bytes), -1, I32MAX, false},
    {"socket.receive.buffer.bytes", PROP_INT32, F(receive_buffer_bytes), -1, I32MAX, false},
    {"metadata.max.age.ms", PROP_INT32, F(metadata_max_age_ms), 1, I32MAX, false},
    {"topic.metadata.refresh.interval.ms", PROP_INT32, F(metadata_max_age_ms), 1, I32MAX, false},
    {"max.in.flight.requests.per.connection", PROP_INT32, F(max_in_flight), 1, 1000000, false},
    {"max.in.flight", PROP_INT32, F(max_in_flight), 1, 1000000, false},
    {"connections.per.broker", PROP_INT32, F(connections_per_broker), 1,
     CLIENT_MAX_CONNECTIONS_PER_BROKER, false},
    {"receive.message.max.bytes", PROP_INT32, F(max_response_bytes), 1000, I32MAX, false},
    {"acks", PROP_ACKS, F(acks), 0, 0, false},
    {"request.required.acks", PROP_ACKS, F(acks), 0, 0, false},
    {"linger.ms", PROP_INT32, F(linger_ms), 0, 900000, false},
    {"queue.buffering.max.ms", PROP_INT32, F(linger_ms), 0, 900000, false},
    {"batch.size", PROP_INT32, F(batch_size_bytes), 1, I32MAX, false},
    {"buffer.memory", PROP_INT64, F(buffer_memory_bytes), 1, INT64_MAX / 2, false},
    {"queue.buffering.max.messages", PROP_INT32, F(queue_max_messages), 1, I32MAX, false},
    {"queue.full.behavior", PROP_QFULL, F(queue_full_behavior), 0, 0, false},
    {"max.block.ms", PROP_INT32, F(max_block_ms), 0, I32MAX, false},
    {"max.request.size", PROP_INT32, F(max_request_bytes), 1000, I32MAX, false},
    {"message.max.bytes", PROP_INT32, F(max_request_bytes), 1000, I32MAX, false},
    {"compression.type", PROP_CODEC, F(compression_codec), 0, 0, false},
    {"compression.codec", PROP_CODEC, F(compression_codec), 0, 0, false},
    {"compression.level", PROP_INT32, F(compression_level), -131072, 22, false},
    {"retries", PROP_INT32, F(retries), 0, I32MAX, false},
    {"message.send.max.retries", PROP_INT32, F(retries), 0, I32MAX, false},
    {"retry.backoff.ms", PROP_INT32, F(retry_backoff_ms), 1, 300000, false},
    {"delivery.timeout.ms", PROP_INT32, F(delivery_timeout_ms), 1, I32MAX, false},
    {"message.timeout.ms", PROP_INT32, F(delivery_timeout_ms), 1, I32MAX, false},
    {"enable.idempotence", PROP_BOOL, F(enable_idempotence), 0, 0, false},
    {"allow.auto.create.topics", PROP_BOOL, F(auto_create_topics), 0, 0, false},
    {"group.id", PROP_STRING, F(group_id), 0, 0, true},
    {"group.instance.id", PROP_STRING, F(group_instance_id), 0, 0, true},
    {"partition.assignment.strategy", PROP_STRATEGY, F(assignment_strategy), 0, 0, true},
    {"auto.offset.reset", PROP_RESET, F(auto_offset_reset), 0, 0, true},
    {"enable.auto.commit", PROP_BOOL, F(enable_auto_commit), 0, 0, true},
    {"auto.commit.interval.ms", PROP_INT32, F(auto_commit_interval_ms), 1, I32MAX, true},
    {"session.timeout.ms", PROP_INT32, F(session_timeout_ms), 1, 3600000, true},
    {"heartbeat.interval.ms", PROP_INT32, F(heartbeat_interval_ms), 1, 3600000, true},
    {"max.poll.interval.ms", PROP_INT32, F(max_poll_interval_ms), 1, 86400000, true},
    {"fetch.min.bytes", PROP_INT32, F(fetch_min_bytes), 0, I32MAX, true},
    {"fetch.max.wait.ms", PROP_INT32, F(fetch_max_wait_ms), 0, 300000, true},
    {"fetch.wait.max.ms", PROP_INT32, F(fetch_max_wait_ms), 0, 300000, true},
    {"max.partition.fetch.bytes", PROP_INT32, F(max_partition_fetch_bytes), 1, I32MAX, true},
    {"fetch.max.bytes", PROP_INT32, F(fetch_max_bytes), 1, I32MAX, true},
    {"queued.max.messages.kbytes", PROP_INT32, F(queued_max_kbytes), 1, 2097151, true},
    {"isolation.level", PROP_ISOLATION, F(read_committed), 0, 0, true},
    {"security.protocol", PROP_SECURITY, F(security_protocol), 0, 0, false},
    {"ssl.ca.location", PROP_STRING, F(ssl_ca_location), 0, 0, false},
    {"ssl.certificate.location", PROP_STRING, F(ssl_certificate_location), 0, 0, false},
    {"ssl.key.location", PROP_STRING, F(ssl_key_location), 0, 0, false},
    {"ssl.key.password", PROP_STRING, F(ssl_key_password), 0, 0, false},
    {"ssl.endpoint.identification.algorithm", PROP_ENDPOINT_ID, F(ssl_verify_hostname), 0, 0, false},
    {"enable.ssl.certificate.verification", PROP_BOOL, F(ssl_verify_certificate), 0, 0, false},
    {"sasl.mechanism", PROP_MECHANISM, F(sasl_mechanism), 0, 0, false},
    {"sasl.mechanisms", PROP_MECHANISM, F(sasl_mechanism), 0, 0, false},
    {"sasl.username", PROP_STRING, F(sasl_username), 0, 0, false},
    {"sasl.password", PROP_STRING, F(sasl_password), 0, 0, false},
};

static const char *const protocol_names[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
static const char *const mechanism_names[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

const char *client_sasl_mechanism_name(int mechanism)
{
    if (mechanism < 0 || mechanism >= (int)(sizeof(mechanism_names) / sizeof(mechanism_names[0])))
        return "?";
    return mechanism_names[mechanism];
}

/* The index of value in names (n entries), compared without case, or -1. */
static int name_index(const char *const *names, int n, const char *value)
{
    for (int i = 0; i < n; i++)
        if (!strcasecmp(names[i], value))
            return i;
    return -1;
}

void client_config_init_consumer(client_config_t *cfg)
{
    client_config_init(cfg);
    cfg->consumer = true;
}

void client_config_init(client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->client_id, sizeof(cfg->client_id), "samsa");
    cfg->request_timeout_ms = 30000;
    cfg->reconnect_backoff_ms = 50;
    cfg->reconnect_backoff_max_ms = 1000;
    cfg->connect_timeout_ms = 10000;
    cfg->send_buffer_bytes = -1;
    cfg->receive_buffer_bytes = -1;
    cfg->metadata_max_age_ms = 300000;
    cfg->max_in_flight = 5;
    cfg->connections_per_broker = 4;
    cfg->max_response_bytes = 100 * 1024 * 1024;
    cfg->acks = -1;
    cfg->linger_ms = 5;
    cfg->batch_size_bytes = 16384;
    cfg->buffer_memory_bytes = 32 * 1024 * 1024;
    cfg->queue_max_messages = 100000;
    cfg->queue_full_behavior = CLIENT_QUEUE_FULL_ERROR;
    cfg->max_block_ms = 60000;
    cfg->max_request_bytes = 1048576;
    cfg->compression_codec = COMPRESS_NONE;
    cfg->compression_level = COMPRESS_LEVEL_DEFAULT;
    cfg->retries = INT32_MAX;
    cfg->retry_backoff_ms = 100;
    cfg->delivery_timeout_ms = 120000;
    cfg->enable_idempotence = true;
    cfg->auto_create_topics = true;
    snprintf(cfg->assignment_strategy, sizeof(cfg->assignment_strategy), "%s",
             "range,cooperative-sticky");
    cfg->auto_offset_reset = CLIENT_RESET_LATEST;
    cfg->enable_auto_commit = true;
    cfg->auto_commit_interval_ms = 5000;
    cfg->session_timeout_ms = 45000;
    cfg->heartbeat_interval_ms = 3000;
    cfg->max_poll_interval_ms = 300000;
    cfg->fetch_min_bytes = 1;
    cfg->fetch_max_wait_ms = 500;
    cfg->max_partition_fetch_bytes = 1048576;
    cfg->fetch_max_bytes = 52428800;
    cfg->queued_max_kbytes = 65536;
    cfg->security_protocol = CLIENT_SEC_PLAINTEXT;
    cfg->ssl_verify_hostname = true;
    cfg->ssl_verify_certificate = true;
    cfg->sasl_mechanism = CLIENT_SASL_PLAIN;
}

/* Whether every comma-separated name in value is an assignor samsa has. */
static bool strategy_valid(const char *value)
{
    const char *known[] = {"range", "roundrobin", "cooperative-sticky"};
    const char *s = value;
    int count = 0;
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        if (!*s)
            break;
        size_t n = strcspn(s, ", ");
        bool found = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strlen(known[i]) == n && !strncmp(known[i], s, n))
                found = true;
        if (!found)
            return false;
        count++;
        s += n;
    }
    return count > 0;
}

static samsa_err_t parse_int(const char *value, int64_t min, int64_t max, int64_t *out)
{
    errno = 0;
    char *end = NULL;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || v < min || v > max)
        return SAMSA_ERR__INVALID_CONFIG;
    *out = v;
    return SAMSA_ERR_NONE;
}

static samsa_err_t parse_one(const prop_t *p, const char *value, client_config_t *cfg,
                             char *errbuf, size_t errlen)
{
    uint8_t *field = (uint8_t *)cfg + p->offset;
    int64_t v = 0;
    switch (p->type) {
    case PROP_STRING:
        if (strlen(value) >= p->size) {
            snprintf(errbuf, errlen, "%s: value longer than %zu bytes", p->name, p->size - 1);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return SAMSA_ERR_NONE;
    case PROP_INT32:
    case PROP_INT64:
        if (parse_int(value, p->min, p->max, &v)) {
            snprintf(errbuf, errlen, "%s: \"%s\" is not an integer in %" PRId64 "..%" PRId64,
                     p->name, value, p->min, p->max);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        if (p->type == PROP_INT32) {
            int32_t v32 = (int32_t)v;
            memcpy(field, &v32, sizeof(v32));
        } else {
            memcpy(field, &v, sizeof(v));
        }
        return SAMSA_ERR_NONE;
    case PROP_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1")) {
            *(bool *)field = true;
        } else if (!strcmp(value, "false") || !strcmp(value, "0")) {
            *(bool *)field = false;
        } else {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of true, false", p->name, value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        if (p->offset == offsetof(client_config_t, enable_idempotence))
            cfg->idempotence_set = true;
        return SAMSA_ERR_NONE;
    case PROP_ACKS:
        if (!strcmp(value, "all") || !strcmp(value, "-1"))
            cfg->acks = -1;
        else if (!strcmp(value, "0") || !strcmp(value, "1"))
            cfg->acks = (int16_t)(value[0] - '0');
        else {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of all, -1, 0, 1", p->name, value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        return SAMSA_ERR_NONE;
    case PROP_CODEC: {
        int codec = compress_codec_from_name(value);
        if (codec < 0) {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of none, gzip, snappy, lz4, zstd",
                     p->name, value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        cfg->compression_codec = codec;
        return SAMSA_ERR_NONE;
    }
    case PROP_QFULL:
        if (!strcmp(value, "error"))
            cfg->queue_full_behavior = CLIENT_QUEUE_FULL_ERROR;
        else if (!strcmp(value, "block"))
            cfg->queue_full_behavior = CLIENT_QUEUE_FULL_BLOCK;
        else {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of error, block", p->name, value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        return SAMSA_ERR_NONE;
    case PROP_RESET:
        if (!strcmp(value, "earliest") || !strcmp(value, "smallest") ||
            !strcmp(value, "beginning"))
            cfg->auto_offset_reset = CLIENT_RESET_EARLIEST;
        else if (!strcmp(value, "latest") || !strcmp(value, "largest") || !strcmp(value, "end"))
            cfg->auto_offset_reset = CLIENT_RESET_LATEST;
        else if (!strcmp(value, "none") || !strcmp(value, "error"))
            cfg->auto_offset_reset = CLIENT_RESET_NONE;
        else {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of earliest, latest, none", p->name,
                     value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        return SAMSA_ERR_NONE;
    case PROP_ISOLATION:
        if (!strcmp(value, "read_committed"))
            cfg->read_committed = true;
        else if (!strcmp(value, "read_uncommitted"))
            cfg->read_committed = false;
        else {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of read_uncommitted, read_committed",
                     p->name, value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        return SAMSA_ERR_NONE;
    case PROP_STRATEGY:
        if (strlen(value) >= p->size || !strategy_valid(value)) {
            snprintf(errbuf, errlen,
                     "%s: \"%s\" is not a list of range, roundrobin, cooperative-sticky", p->name,
                     value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return SAMSA_ERR_NONE;
    case PROP_SECURITY:
    case PROP_MECHANISM: {
        bool protocol = p->type == PROP_SECURITY;
        int i = protocol ? name_index(protocol_names, 4, value) : name_index(mechanism_names, 3, value);
        if (i < 0) {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of %s", p->name, value,
                     protocol ? "plaintext, ssl, sasl_plaintext, sasl_ssl"
                              : "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
            return SAMSA_ERR__INVALID_CONFIG;
        }
        memcpy(field, &i, sizeof(i)); /* security_protocol, sasl_mechanism: int */
        return SAMSA_ERR_NONE;
    }
    case PROP_ENDPOINT_ID:
        if (!strcasecmp(value, "https"))
            cfg->ssl_verify_hostname = true;
        else if (!strcasecmp(value, "none") || !value[0])
            cfg->ssl_verify_hostname = false;
        else {
            snprintf(errbuf, errlen, "%s: \"%s\" is not one of https, none", p->name, value);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        return SAMSA_ERR_NONE;
    }
    return SAMSA_ERR__INVALID_CONFIG;
}

/* Levenshtein distance of a and b, stopping at 3 (all we need to know). */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > 2)
        return 3;
    int prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb] < 3 ? prev[lb] : 3;
}

/* The known property nearest to a misspelt key (at most two edits), or NULL. */
static const char *closest_name(const char *key, bool consumer)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (props[i].consumer && !consumer)
            continue;
        int d = distance(key, props[i].name);
        if (d < best_d) {
            best_d = d;
            best = props[i].name;
        }
    }
    return best;
}

samsa_err_t client_config_set(client_config_t *cfg, const char *key, const char *value,
                              char *errbuf, size_t errlen)
{
    char scratch[1];
    if (!errbuf) {
        errbuf = scratch;
        errlen = sizeof(scratch);
    }
    if (!key || !value) {
        snprintf(errbuf, errlen, "configuration key and value must not be NULL");
        return SAMSA_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (strcmp(props[i].name, key) || (props[i].consumer && !cfg->consumer))
            continue;
        client_config_t copy = *cfg;
        samsa_err_t err = parse_one(&props[i], value, &copy, errbuf, errlen);
        if (!err)
            *cfg = copy;
        return err;
    }
    const char *near = closest_name(key, cfg->consumer);
    if (near)
        snprintf(errbuf, errlen, "%s: unknown client property (did you mean %s?)", key, near);
    else
        snprintf(errbuf, errlen, "%s: unknown client property", key);
    return SAMSA_ERR__UNKNOWN_CONFIG;
}

samsa_err_t client_config_finish(client_config_t *cfg, char *errbuf, size_t errlen)
{
    char scratch[1];
    if (!errbuf) {
        errbuf = scratch;
        errlen = sizeof(scratch);
    }
    if (!cfg->bootstrap_servers[0]) {
        snprintf(errbuf, errlen, "bootstrap.servers: must be set (host:port[,host:port...])");
        return SAMSA_ERR__INVALID_CONFIG;
    }
    if (cfg->enable_idempotence) {
        const char *why = NULL;
        if (cfg->acks != -1)
            why = "acks must be all (-1)";
        else if (cfg->retries == 0)
            why = "retries must be above 0";
        else if (cfg->max_in_flight > 5)
            why = "max.in.flight.requests.per.connection must be at most 5";
        if (why && cfg->idempotence_set) {
            snprintf(errbuf, errlen, "enable.idempotence: true needs %s", why);
            return SAMSA_ERR__INVALID_CONFIG;
        }
        if (why)
            cfg->enable_idempotence = false;
    }
    if (client_sec_sasl(cfg->security_protocol) &&
        (!cfg->sasl_username[0] || !cfg->sasl_password[0])) {
        snprintf(errbuf, errlen, "security.protocol %s: sasl.username and sasl.password must be set",
                 protocol_names[cfg->security_protocol]);
        return SAMSA_ERR__INVALID_CONFIG;
    }
    if (client_sec_sasl(cfg->security_protocol) && cfg->sasl_mechanism != CLIENT_SASL_PLAIN) {
        char why[200];
        if (scram_saslprep_check(cfg->sasl_username, "sasl.username", why, sizeof(why)) ||
            scram_saslprep_check(cfg->sasl_password, "sasl.password", why, sizeof(why))) {
            snprintf(errbuf, errlen, "%s", why);
            return SAMSA_ERR__INVALID_CONFIG;
        }
    }
    if (!cfg->ssl_certificate_location[0] != !cfg->ssl_key_location[0]) {
        snprintf(errbuf, errlen,
                 "ssl.certificate.location and ssl.key.location must be set together");
        return SAMSA_ERR__INVALID_CONFIG;
    }
    if (cfg->reconnect_backoff_max_ms < cfg->reconnect_backoff_ms)
        cfg->reconnect_backoff_max_ms = cfg->reconnect_backoff_ms;
    if (cfg->delivery_timeout_ms < cfg->linger_ms + cfg->request_timeout_ms) {
        snprintf(errbuf, errlen,
                 "delivery.timeout.ms: %d is below linger.ms + request.timeout.ms (%d)",
                 (int)cfg->delivery_timeout_ms, (int)(cfg->linger_ms + cfg->request_timeout_ms));
        return SAMSA_ERR__INVALID_CONFIG;
    }
    return SAMSA_ERR_NONE;
}
