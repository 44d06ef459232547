/*
 * broker.c: the broker's life: samsa_broker_new (configuration, log dirs,
 * meta.properties, topics), start (listener and loop thread), stop and
 * free; and the ids it hands out (cluster id, topic ids).
 */
#include "broker/broker_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/slog.h"

/* ---- ids ------------------------------------------------------------------ */

void broker_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            /* No entropy source at all: fall back to time and address. */
            uint64_t seed = (uint64_t)clock() ^ (uint64_t)(uintptr_t)p ^ (uint64_t)getpid();
            for (size_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                p[i] = (uint8_t)(seed >> 56);
            }
            return;
        }
        p += got;
        n -= (size_t)got;
    }
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void broker_uuid_str(const proto_uuid_t *id, char out[23])
{
    const uint8_t *b = id->bytes;
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < 16)
            v |= b[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < 16)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < 16)
            out[o++] = b64url[v & 63];
    }
    out[o] = 0;
}

int broker_uuid_parse(const char *text, proto_uuid_t *id)
{
    if (strlen(text) != 22)
        return -1;
    uint8_t bits[22];
    for (size_t i = 0; i < 22; i++) {
        const char *p = strchr(b64url, text[i]);
        if (!p || !text[i])
            return -1;
        bits[i] = (uint8_t)(p - b64url);
    }
    size_t o = 0;
    for (size_t i = 0; i < 22; i += 4) {
        uint32_t v = (uint32_t)bits[i] << 18 | (uint32_t)bits[i + 1] << 12;
        if (i + 2 < 22)
            v |= (uint32_t)bits[i + 2] << 6;
        if (i + 3 < 22)
            v |= bits[i + 3];
        id->bytes[o++] = (uint8_t)(v >> 16);
        if (o < 16)
            id->bytes[o++] = (uint8_t)(v >> 8);
        if (o < 16 && i + 3 < 22)
            id->bytes[o++] = (uint8_t)v;
    }
    return 0;
}

void broker_uuid_new(proto_uuid_t *id)
{
    do {
        broker_random(id->bytes, 16);
        id->bytes[6] = (uint8_t)((id->bytes[6] & 0x0f) | 0x40); /* version 4 */
        id->bytes[8] = (uint8_t)((id->bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    } while ((id->bytes[0] >> 2) == 62); /* would start with '-' */
}

/* ---- meta.properties ------------------------------------------------------- */

/* Reads the cluster id and node id from meta.properties in the first log
 * dir, or writes a new one (as `kafka-storage format` would). */
static samsa_err_t meta_load(struct broker *b, char *errstr, size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/meta.properties", b->cfg.log_dirs[0]);
    samsa_conf_t *meta = samsa_conf_new();
    if (!meta)
        return conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "out of memory");
    samsa_err_t err = SAMSA_ERR_NONE;
    if (access(path, F_OK) == 0) {
        if ((err = samsa_conf_set_file(meta, path, errstr, errlen)))
            goto done;
        const char *cid = samsa_conf_get(meta, "cluster.id");
        const char *nid = samsa_conf_get(meta, "node.id");
        if (!cid || strlen(cid) >= sizeof(b->cluster_id) || !*cid) {
            err = conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen,
                              "%s: no cluster.id", path);
            goto done;
        }
        if (nid && atoi(nid) != b->cfg.node_id) {
            err = conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen,
                              "%s belongs to node.id %s, but node.id is %d", path, nid,
                              (int)b->cfg.node_id);
            goto done;
        }
        snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", cid);
        goto done;
    }
    proto_uuid_t id;
    broker_uuid_new(&id);
    broker_uuid_str(&id, b->cluster_id);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "#\n#written by samsa %s\nversion=1\ncluster.id=%s\nnode.id=%d\n",
                           samsa_version(), b->cluster_id, (int)b->cfg.node_id) > 0 &&
              fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        err = conf_fail(SAMSA_ERR__STORAGE, errstr, errlen, "cannot write %s: %s", path,
                          strerror(errno));
        unlink(tmp);
        goto done;
    }
    slog_info(BROKER_MODULE, "new cluster id %s written to %s", b->cluster_id, path);
done:
    samsa_conf_free(meta);
    return err;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void broker_release(struct broker *b, bool free_conf)
{
    tls_ctx_free(b->tls_ssl);
    tls_ctx_free(b->tls_sasl_ssl);
    broker_sasl_free(b->sasl);
    group_coordinator_free(b->groups);
    producer_ids_close(b->producer_ids);
    topics_close(b);
    log_flusher_stop(b->flusher);
    log_dir_close(b->dirs);
    loop_free(b->loop);
    broker_config_free(&b->cfg);
    if (free_conf)
        samsa_conf_free(b->conf);
    free(b);
}

/* The TLS context of SSL (with_client_auth) or SASL_SSL listeners. */
static tls_ctx_t *broker_tls_ctx(const broker_config_t *cfg, bool with_client_auth, char *errbuf,
                                 size_t errlen)
{
    tls_config_t tc = {
        .server = true,
        .certificate_location = cfg->ssl_certificate_location,
        .key_location = cfg->ssl_key_location,
        .key_password = cfg->ssl_key_password[0] ? cfg->ssl_key_password : NULL,
        .ca_location = cfg->ssl_ca_location[0] ? cfg->ssl_ca_location : NULL,
        .client_auth = with_client_auth ? (tls_client_auth_t)cfg->ssl_client_auth
                                        : TLS_CLIENT_AUTH_NONE,
        .min_version = cfg->ssl_min_version,
        .max_version = cfg->ssl_max_version,
    };
    return tls_ctx_new(&tc, errbuf, errlen);
}

/* Fills b->listeners from the configuration (nothing bound yet), with the
 * TLS contexts and SASL state they need. Returns 0 or -1 with errbuf. */
static int listeners_prepare(struct broker *b, char *errbuf, size_t errlen)
{
    bool sasl = false;
    for (size_t i = 0; i < b->cfg.listener_count; i++) {
        const broker_listener_config_t *lc = &b->cfg.listeners[i];
        broker_listener_t *l = &b->listeners[i];
        l->broker = b;
        l->config = lc;
        l->fd = -1;
        const net_endpoint_t *adv = lc->advertised.protocol[0] ? &lc->advertised : &lc->endpoint;
        snprintf(l->advertised_host, sizeof(l->advertised_host), "%s",
                 adv->host[0] ? adv->host : "localhost");
        l->advertised_port = adv->port;
        tls_ctx_t **ctx = lc->security == BROKER_SEC_SSL        ? &b->tls_ssl
                          : lc->security == BROKER_SEC_SASL_SSL ? &b->tls_sasl_ssl
                                                                : NULL;
        if (ctx && !*ctx &&
            !(*ctx = broker_tls_ctx(&b->cfg, lc->security == BROKER_SEC_SSL, errbuf, errlen)))
            return -1;
        l->tls = ctx ? *ctx : NULL;
        sasl |= broker_security_sasl(lc->security);
    }
    b->listener_count = b->cfg.listener_count;
    if (sasl && !(b->sasl = broker_sasl_new(b, errbuf, errlen)))
        return -1;
    return 0;
}

static void listeners_close(struct broker *b)
{
    for (size_t i = 0; i < b->listener_count; i++) {
        broker_listener_t *l = &b->listeners[i];
        if (l->fd < 0)
            continue;
        loop_del_fd(b->loop, l->fd);
        close(l->fd);
        l->fd = -1;
    }
}

/* Binds every listener and watches it. Returns 0, or SAMSA_ERR__TRANSPORT
 * (logged) / SAMSA_ERR__NOMEM with none left open. */
static samsa_err_t listeners_open(struct broker *b)
{
    for (size_t i = 0; i < b->listener_count; i++) {
        broker_listener_t *l = &b->listeners[i];
        const net_endpoint_t *ep = &l->config->endpoint;
        char why[512];
        l->fd = net_listen(ep->host, ep->port, 1024, &l->port, why, sizeof(why));
        if (l->fd < 0) {
            slog_error(BROKER_MODULE, "%s", why);
            listeners_close(b);
            return SAMSA_ERR__TRANSPORT;
        }
        if (loop_add_fd(b->loop, l->fd, LOOP_READ, conn_accept_ready, l) != 0) {
            close(l->fd);
            l->fd = -1;
            listeners_close(b);
            return SAMSA_ERR__NOMEM;
        }
        if (!l->config->advertised.protocol[0] || l->config->advertised.port == 0)
            l->advertised_port = l->port;
        snprintf(l->address, sizeof(l->address), "%s://%s:%d", ep->protocol,
                 ep->host[0] ? ep->host : "0.0.0.0", l->port);
    }
    return SAMSA_ERR_NONE;
}

SAMSA_API samsa_broker_t *samsa_broker_new(samsa_conf_t *conf, char *errstr, size_t errlen)
{
    if (errstr && errlen)
        errstr[0] = 0;
    if (!conf) {
        conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "conf is NULL");
        return NULL;
    }
    samsa_broker_t *handle = calloc(1, sizeof(*handle));
    if (!handle) {
        conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "out of memory");
        return NULL;
    }
    struct broker *b = &handle->broker;
    b->conf = conf;
    char err_local[512] = "";
    if (broker_config_load(&b->cfg, conf, err_local, sizeof(err_local)))
        goto fail;
    if (!(b->loop = loop_new())) {
        snprintf(err_local, sizeof(err_local), "cannot make the event loop: %s", strerror(errno));
        goto fail;
    }
    /* certificates and credentials before the log dirs: a mistake there
     * leaves nothing behind on disk */
    if (listeners_prepare(b, err_local, sizeof(err_local)))
        goto fail;
    b->dirs = log_dir_open((const char *const *)b->cfg.log_dirs, b->cfg.log_dir_count, err_local,
                           sizeof(err_local));
    if (!b->dirs || meta_load(b, err_local, sizeof(err_local)))
        goto fail;
    b->flusher = log_flusher_start(b->cfg.retention_check_ms, err_local, sizeof(err_local));
    if (!b->flusher || topics_open(b, err_local, sizeof(err_local)))
        goto fail;
    char ids_path[4096];
    snprintf(ids_path, sizeof(ids_path), "%s/.producer-ids", b->cfg.log_dirs[0]);
    if (!(b->producer_ids = producer_ids_open(ids_path, err_local, sizeof(err_local))))
        goto fail;
    snprintf(b->advertised_host, sizeof(b->advertised_host), "%s",
             b->listeners[0].advertised_host);
    b->advertised_port = b->listeners[0].advertised_port;
    return handle;
fail:
    conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen, "%s", err_local);
    broker_release(b, false);
    return NULL;
}

static void *broker_thread(void *arg)
{
    struct broker *b = arg;
    /* sendfile() to a peer that went away raises SIGPIPE in the thread
     * that called it; blocked here, it never reaches the embedding
     * program. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    loop_run(b->loop);
    return NULL;
}

/* The group coordinator answers FindCoordinator with the advertised
 * address, so it is made once the listener's port is known. */
static samsa_err_t groups_start(struct broker *b, char *errbuf, size_t errlen)
{
    group_config_t gc;
    group_config_init(&gc);
    gc.initial_rebalance_delay_ms = b->cfg.group_initial_rebalance_delay_ms;
    gc.min_session_timeout_ms = b->cfg.group_min_session_timeout_ms;
    gc.max_session_timeout_ms = b->cfg.group_max_session_timeout_ms;
    gc.max_group_size = b->cfg.group_max_size;
    gc.offsets_retention_ms = b->cfg.offsets_retention_ms;
    gc.offset_metadata_max_bytes = b->cfg.offset_metadata_max_bytes;
    gc.commit_wait_durable = b->cfg.log.flush_on_ack;
    group_env_t env = {
        .loop = b->loop,
        .offsets_log = broker_offsets_log(b),
        .node_id = b->cfg.node_id,
        .host = b->advertised_host,
        .port = b->advertised_port,
        .topic_name_by_id = broker_topic_name_by_id,
        .topic_id_by_name = broker_topic_id_by_name,
        .opaque = b,
    };
    b->groups = group_coordinator_new(&gc, &env, errbuf, errlen);
    return b->groups ? SAMSA_ERR_NONE : SAMSA_ERR__STORAGE;
}

SAMSA_API samsa_err_t samsa_broker_start(samsa_broker_t *handle)
{
    struct broker *b = &handle->broker;
    if (b->started)
        return SAMSA_ERR__STATE;
    char why[512];
    samsa_err_t err = listeners_open(b);
    if (err)
        return err;
    b->advertised_port = b->listeners[0].advertised_port;
    snprintf(b->bootstrap, sizeof(b->bootstrap), "%s:%d", b->advertised_host,
             (int)b->advertised_port);
    if (!b->groups && groups_start(b, why, sizeof(why)) != SAMSA_ERR_NONE) {
        slog_error(BROKER_MODULE, "%s", why);
        listeners_close(b);
        return SAMSA_ERR__STORAGE;
    }
    conns_start_idle_check(b);
    int e = pthread_create(&b->thread, NULL, broker_thread, b);
    if (e) {
        listeners_close(b);
        return SAMSA_ERR__NOMEM;
    }
    b->started = true;
    snprintf(b->listener, sizeof(b->listener), "%s", b->listeners[0].address);
    for (size_t i = 0; i < b->listener_count; i++) {
        const broker_listener_t *l = &b->listeners[i];
        slog_info(BROKER_MODULE, "node %d of cluster %s listening on %s (%s, clients use %s:%d)",
                  (int)b->cfg.node_id, b->cluster_id, l->address,
                  broker_security_name(l->config->security), l->advertised_host,
                  (int)l->advertised_port);
    }
    return SAMSA_ERR_NONE;
}

SAMSA_API const char *samsa_broker_bootstrap(samsa_broker_t *handle)
{
    struct broker *b = &handle->broker;
    if (!b->bootstrap[0])
        snprintf(b->bootstrap, sizeof(b->bootstrap), "%s:%d", b->advertised_host,
                 (int)b->advertised_port);
    return b->bootstrap;
}

SAMSA_API const char *samsa_broker_listener(samsa_broker_t *handle)
{
    return handle->broker.listener;
}

SAMSA_API const char *samsa_broker_listener_at(samsa_broker_t *handle, int index)
{
    struct broker *b = &handle->broker;
    if (!b->started || index < 0 || (size_t)index >= b->listener_count)
        return NULL;
    return b->listeners[index].address;
}

SAMSA_API const char *samsa_broker_cluster_id(samsa_broker_t *handle)
{
    return handle->broker.cluster_id;
}

/* On the loop thread: drop every connection and the listener, then stop. */
static void broker_shutdown_on_loop(void *opaque)
{
    struct broker *b = opaque;
    listeners_close(b);
    fetch_wake_all(b);
    conns_close_all(b);
    loop_stop(b->loop);
}

SAMSA_API void samsa_broker_stop(samsa_broker_t *handle)
{
    struct broker *b = handle ? &handle->broker : NULL;
    if (!b || !b->started || b->stopped)
        return;
    b->stopped = true;
    if (loop_post(b->loop, broker_shutdown_on_loop, b) != SAMSA_ERR_NONE)
        loop_stop(b->loop); /* the thread still ends; connections close in free */
    pthread_join(b->thread, NULL);
    /* Posts made by the flusher while stopping carry partition references:
     * run them now so they are released. */
    if (b->listener_count && b->listeners[0].fd >= 0)
        broker_shutdown_on_loop(b);
    while (loop_run_once(b->loop, 0) > 0)
        ;
    slog_info(BROKER_MODULE, "node %d stopped serving", (int)b->cfg.node_id);
}

SAMSA_API void samsa_broker_free(samsa_broker_t *handle)
{
    if (!handle)
        return;
    samsa_broker_stop(handle);
    broker_release(&handle->broker, true);
}
