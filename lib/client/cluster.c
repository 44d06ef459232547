/*
 * cluster.c: bootstrap servers, brokers and topic metadata of one client
 * handle (see cluster.h).
 */
#include "client/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/slog.h"
#include "proto/messages.h"

#define METADATA_MAX_VERSION 12 /* v13 only adds a top-level error code */

bool cluster_parse_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    const char *colon = NULL;
    const char *hs = s;
    size_t hl;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= s + len || close[1] != ':')
            return false;
        hs = s + 1;
        hl = (size_t)(close - hs);
        colon = close + 1;
    } else {
        for (size_t i = len; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        if (!colon)
            return false;
        hl = (size_t)(colon - s);
    }
    size_t pl = (size_t)(s + len - colon - 1);
    if (hl == 0 || hl >= hostlen || pl == 0 || pl > 5)
        return false;
    int p = 0;
    for (size_t i = 0; i < pl; i++) {
        char ch = colon[1 + i];
        if (ch < '0' || ch > '9')
            return false;
        p = p * 10 + (ch - '0');
    }
    if (p < 1 || p > 65535)
        return false;
    memcpy(host, hs, hl);
    host[hl] = 0;
    *port = p;
    return true;
}

static void on_conn_event(void *owner, conn_t *c, bool up, samsa_err_t err, const char *reason)
{
    cluster_t *cl = owner;
    if (!up)
        cluster_want_refresh(cl);
    if (cl->on_conn_event)
        cl->on_conn_event(cl->owner, c, up, err, reason);
}

samsa_err_t cluster_init(cluster_t *cl, loop_t *loop, const client_config_t *cfg,
                         cluster_update_fn *on_update, conn_event_fn *on_conn_event_cb,
                         void *owner, char *errbuf, size_t errlen)
{
    memset(cl, 0, sizeof(*cl));
    cl->loop = loop;
    cl->cfg = cfg;
    cl->on_update = on_update;
    cl->on_conn_event = on_conn_event_cb;
    cl->owner = owner;
    cl->refresh_wanted = true;
    const char *s = cfg->bootstrap_servers;
    samsa_err_t err = SAMSA_ERR_NONE;
    if (client_sec_tls(cfg->security_protocol)) {
        tls_config_t tc = {0};
        tc.server = false;
        tc.certificate_location = cfg->ssl_certificate_location[0] ? cfg->ssl_certificate_location : NULL;
        tc.key_location = cfg->ssl_key_location[0] ? cfg->ssl_key_location : NULL;
        tc.key_password = cfg->ssl_key_password[0] ? cfg->ssl_key_password : NULL;
        tc.ca_location = cfg->ssl_ca_location[0] ? cfg->ssl_ca_location : NULL;
        tc.verify_peer = cfg->ssl_verify_certificate;
        tc.verify_hostname = cfg->ssl_verify_certificate && cfg->ssl_verify_hostname;
        char why[400];
        cl->tls = tls_ctx_new(&tc, why, sizeof(why));
        if (!cl->tls) {
            snprintf(errbuf, errlen, "security.protocol %s: %s",
                     cfg->security_protocol == CLIENT_SEC_SSL ? "ssl" : "sasl_ssl", why);
            err = SAMSA_ERR__INVALID_CONFIG;
            goto fail;
        }
    }
    while (*s) {
        size_t len = strcspn(s, ",");
        char host[256];
        int port = 0;
        if (!cluster_parse_hostport(s, len, host, sizeof(host), &port)) {
            snprintf(errbuf, errlen, "bootstrap.servers: \"%.*s\" is not host:port", (int)len, s);
            err = SAMSA_ERR__INVALID_CONFIG;
            goto fail;
        }
        conn_t **grown = realloc(cl->bootstrap, sizeof(*grown) * (size_t)(cl->bootstrap_count + 1));
        if (!grown) {
            err = SAMSA_ERR__NOMEM;
            goto fail;
        }
        cl->bootstrap = grown;
        conn_t *c = conn_new(loop, cfg, -1 - cl->bootstrap_count, host, port, on_conn_event, cl);
        if (!c) {
            err = SAMSA_ERR__NOMEM;
            goto fail;
        }
        conn_set_tls(c, cl->tls);
        cl->bootstrap[cl->bootstrap_count++] = c;
        s += len;
        if (*s == ',')
            s++;
    }
    if (!cl->bootstrap_count) {
        snprintf(errbuf, errlen, "bootstrap.servers: no host:port given");
        err = SAMSA_ERR__INVALID_CONFIG;
        goto fail;
    }
    cl->bootstrap_next = rand() % cl->bootstrap_count;
    return SAMSA_ERR_NONE;
fail:
    if (err == SAMSA_ERR__NOMEM)
        snprintf(errbuf, errlen, "out of memory");
    cluster_free(cl);
    return err;
}

void cluster_free(cluster_t *cl)
{
    for (int i = 0; i < cl->bootstrap_count; i++)
        conn_free(cl->bootstrap[i]);
    for (int i = 0; i < cl->broker_count; i++) {
        for (int l = 0; l < CLUSTER_MAX_LANES; l++)
            conn_free(cl->brokers[i].conns[l]);
        free(cl->brokers[i].host);
    }
    for (int i = 0; i < cl->topic_count; i++) {
        free(cl->topics[i]->name);
        free(cl->topics[i]->partitions);
        free(cl->topics[i]);
    }
    free(cl->bootstrap);
    free(cl->brokers);
    free(cl->topics);
    tls_ctx_free(cl->tls);
    memset(cl, 0, sizeof(*cl));
}

cluster_topic_t *cluster_topic(cluster_t *cl, const char *name)
{
    for (int i = 0; i < cl->topic_count; i++)
        if (!strcmp(cl->topics[i]->name, name))
            return cl->topics[i];
    cluster_topic_t **grown = realloc(cl->topics, sizeof(*grown) * (size_t)(cl->topic_count + 1));
    if (!grown)
        return NULL;
    cl->topics = grown;
    cluster_topic_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    cl->topics[cl->topic_count++] = t;
    cluster_want_refresh(cl);
    return t;
}

void cluster_want_refresh(cluster_t *cl) { cl->refresh_wanted = true; }

static cluster_broker_t *find_broker(cluster_t *cl, int32_t node_id)
{
    for (int i = 0; i < cl->broker_count; i++)
        if (cl->brokers[i].node_id == node_id)
            return &cl->brokers[i];
    return NULL;
}

conn_t *cluster_broker_lane(cluster_t *cl, int32_t node_id, int lane)
{
    cluster_broker_t *b = find_broker(cl, node_id);
    if (!b || lane < 0 || lane >= CLUSTER_MAX_LANES)
        return NULL;
    conn_t **slot = &b->conns[lane];
    if (!*slot) {
        *slot = conn_new(cl->loop, cl->cfg, node_id, b->host, b->port, on_conn_event, cl);
        if (*slot) {
            conn_set_tls(*slot, cl->tls);
            if (lane > 0)
                conn_set_lane(*slot, lane);
        }
    }
    return *slot;
}

conn_t *cluster_broker_conn(cluster_t *cl, int32_t node_id)
{
    return cluster_broker_lane(cl, node_id, 0);
}

conn_t *cluster_any_conn(cluster_t *cl)
{
    for (int i = 0; i < cl->broker_count; i++)
        if (cl->brokers[i].conns[0] && conn_state(cl->brokers[i].conns[0]) == CONN_UP)
            return cl->brokers[i].conns[0];
    for (int i = 0; i < cl->bootstrap_count; i++)
        if (conn_state(cl->bootstrap[i]) == CONN_UP)
            return cl->bootstrap[i];
    /* Nothing up: wake the next bootstrap server (or a known broker). */
    conn_t *c = NULL;
    if (cl->broker_count) {
        c = cluster_broker_conn(cl, cl->brokers[cl->bootstrap_next % cl->broker_count].node_id);
    } else {
        c = cl->bootstrap[cl->bootstrap_next % cl->bootstrap_count];
    }
    cl->bootstrap_next++;
    if (c)
        conn_connect(c);
    return NULL;
}

static samsa_err_t encode_metadata(void *opaque, int16_t version, buf_t *out)
{
    cluster_t *cl = opaque;
    metadata_request_t req;
    const proto_api_t *api = proto_api(API_METADATA);
    proto_init(api->request, &req);
    metadata_request_metadata_request_topic_t *topics = NULL;
    if (cl->topic_count) {
        topics = calloc((size_t)cl->topic_count, sizeof(*topics));
        if (!topics)
            return SAMSA_ERR__NOMEM;
        for (int i = 0; i < cl->topic_count; i++)
            topics[i].name = proto_str_of(cl->topics[i]->name);
    }
    req.topics = topics;
    req.topics_count = cl->topic_count;
    req.allow_auto_topic_creation = cl->cfg->auto_create_topics;
    samsa_err_t err = proto_encode(api->request, version, proto_api_flexible(api, version), &req,
                                   out, NULL);
    free(topics);
    return err;
}

static samsa_err_t apply_brokers(cluster_t *cl, const metadata_response_t *m)
{
    for (int32_t i = 0; i < m->brokers_count; i++) {
        const metadata_response_metadata_response_broker_t *b = &m->brokers[i];
        if (b->host.len <= 0 || find_broker(cl, b->node_id))
            continue;
        cluster_broker_t *grown =
            realloc(cl->brokers, sizeof(*grown) * (size_t)(cl->broker_count + 1));
        if (!grown)
            return SAMSA_ERR__NOMEM;
        cl->brokers = grown;
        char *host = strndup(b->host.ptr, (size_t)b->host.len);
        if (!host)
            return SAMSA_ERR__NOMEM;
        cl->brokers[cl->broker_count++] = (cluster_broker_t){b->node_id, host, b->port, {0}};
    }
    return SAMSA_ERR_NONE;
}

static samsa_err_t apply_topic(cluster_topic_t *t, const metadata_response_metadata_response_topic_t *mt)
{
    t->error = mt->error_code;
    t->id = mt->topic_id;
    if (mt->error_code || mt->partitions_count <= 0)
        return SAMSA_ERR_NONE; /* keep what we knew: the error makes the owner retry */
    int32_t n = 0;
    for (int32_t i = 0; i < mt->partitions_count; i++)
        if (mt->partitions[i].partition_index >= n)
            n = mt->partitions[i].partition_index + 1;
    if (n > 1000000)
        return SAMSA_ERR__BAD_MSG;
    if (n > t->partition_count) {
        cluster_partition_t *grown = realloc(t->partitions, sizeof(*grown) * (size_t)n);
        if (!grown)
            return SAMSA_ERR__NOMEM;
        for (int32_t i = t->partition_count; i < n; i++)
            grown[i] = (cluster_partition_t){-1, -1, SAMSA_ERR_LEADER_NOT_AVAILABLE};
        t->partitions = grown;
        t->partition_count = n;
    }
    /* Metadata lists every partition of a topic: one left out no longer
     * exists (the topic was deleted and created again with fewer). It
     * keeps its place, with no leader, so that nothing goes to it. */
    if (mt->partitions_count < t->partition_count)
        for (int32_t i = 0; i < t->partition_count; i++)
            t->partitions[i] = (cluster_partition_t){-1, -1, SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION};
    for (int32_t i = 0; i < mt->partitions_count; i++) {
        const metadata_response_metadata_response_partition_t *p = &mt->partitions[i];
        if (p->partition_index < 0)
            continue;
        cluster_partition_t *cp = &t->partitions[p->partition_index];
        cp->leader_id = p->error_code == SAMSA_ERR_LEADER_NOT_AVAILABLE ? -1 : p->leader_id;
        cp->leader_epoch = p->leader_epoch;
        cp->error = p->error_code;
    }
    t->known = true;
    return SAMSA_ERR_NONE;
}

static void on_metadata(void *opaque, conn_t *c, samsa_err_t err, int16_t version, const void *resp)
{
    cluster_t *cl = opaque;
    cl->refresh_in_flight = false;
    if (err == SAMSA_ERR__DESTROYED)
        return;
    if (!err) {
        const metadata_response_t *m = resp;
        err = apply_brokers(cl, m);
        for (int32_t i = 0; !err && i < m->topics_count; i++) {
            const metadata_response_metadata_response_topic_t *mt = &m->topics[i];
            for (int j = 0; j < cl->topic_count; j++)
                if (proto_str_eq(mt->name, cl->topics[j]->name))
                    err = apply_topic(cl->topics[j], mt);
        }
    }
    if (err) {
        slog_warn("client", "%s: metadata request failed: %s", conn_name(c), samsa_err_name(err));
        cl->refresh_wanted = true;
    } else {
        cl->last_refresh_ms = loop_now_ms(cl->loop);
    }
    if (cl->on_update)
        cl->on_update(cl->owner, err);
}

/* Sends a Metadata request for every known topic when one is due. */
static void maybe_refresh(cluster_t *cl, int64_t now_ms)
{
    if (cl->refresh_in_flight)
        return;
    if (cl->last_refresh_ms && now_ms - cl->last_refresh_ms >= cl->cfg->metadata_max_age_ms)
        cl->refresh_wanted = true;
    if (!cl->refresh_wanted || (cl->last_attempt_ms && now_ms - cl->last_attempt_ms < cl->cfg->retry_backoff_ms))
        return;
    conn_t *c = cluster_any_conn(cl);
    if (!c)
        return;
    conn_request_t req = {API_METADATA, METADATA_MAX_VERSION, false, 0,
                          encode_metadata, on_metadata, cl, NULL};
    if (conn_send(c, &req) == SAMSA_ERR_NONE) {
        cl->refresh_in_flight = true;
        cl->refresh_wanted = false;
        cl->last_attempt_ms = now_ms;
    }
}

void cluster_tick(cluster_t *cl, int64_t now_ms)
{
    for (int i = 0; i < cl->bootstrap_count; i++)
        conn_tick(cl->bootstrap[i], now_ms);
    for (int i = 0; i < cl->broker_count; i++)
        for (int l = 0; l < CLUSTER_MAX_LANES; l++)
            if (cl->brokers[i].conns[l])
                conn_tick(cl->brokers[i].conns[l], now_ms);
    maybe_refresh(cl, now_ms);
}
