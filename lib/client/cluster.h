/*
 * cluster.h: what a client handle knows about the cluster: the bootstrap
 * servers, the brokers and one connection to each, and the metadata of the
 * topics it uses (partitions, leaders, topic ids), refreshed every
 * metadata.max.age.ms and whenever the owner asks (after leader errors,
 * unknown topics, lost connections).
 *
 * Runs on the handle's I/O thread only; nothing here is thread-safe.
 */
#ifndef SAMSA_CLIENT_CLUSTER_H
#define SAMSA_CLIENT_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/config.h"
#include "client/conn.h"
#include "net/loop.h"
#include "proto/codec.h"

typedef struct cluster_partition {
    int32_t leader_id; /* -1: none known */
    int32_t leader_epoch;
    int16_t error;     /* from the last metadata answer */
} cluster_partition_t;

typedef struct cluster_topic {
    char *name;
    proto_uuid_t id;
    int32_t partition_count; /* 0 until metadata names the topic */
    cluster_partition_t *partitions;
    int16_t error;           /* topic-level error of the last answer */
    bool known;              /* metadata answered for it at least once */
    void *owner_data;        /* the owner's per-topic state */
} cluster_topic_t;

/* Connections a handle may open to one broker (see cluster_broker_lane). */
#define CLUSTER_MAX_LANES CLIENT_MAX_CONNECTIONS_PER_BROKER

typedef struct cluster_broker {
    int32_t node_id;
    char *host;
    int port;
    conn_t *conns[CLUSTER_MAX_LANES]; /* by lane (cluster_broker_lane), created on first use */
} cluster_broker_t;

/* Metadata was applied (err 0) or a refresh failed (err says why). */
typedef void cluster_update_fn(void *owner, samsa_err_t err);

typedef struct cluster {
    loop_t *loop;
    const client_config_t *cfg;
    conn_t **bootstrap;
    int bootstrap_count;
    int bootstrap_next;
    cluster_broker_t *brokers;
    int broker_count;
    cluster_topic_t **topics;
    int topic_count;
    int64_t last_refresh_ms;   /* last successful refresh; 0 never */
    int64_t last_attempt_ms;
    bool refresh_wanted;
    bool refresh_in_flight;
    cluster_update_fn *on_update;
    conn_event_fn *on_conn_event; /* every connection's events, passed on */
    void *owner;
    tls_ctx_t *tls; /* security.protocol ssl, sasl_ssl: every connection's TLS context */
} cluster_t;

/* Parses bootstrap.servers ("host:port,host:port", IPv6 as [addr]:port)
 * and prepares (does not open) a connection to each; with TLS, loads the
 * ssl.* files into the handle's TLS context first. cfg is borrowed.
 * Returns SAMSA_ERR_NONE, SAMSA_ERR__INVALID_CONFIG with errbuf naming the
 * bad entry or the ssl.* file that cannot be used, or SAMSA_ERR__NOMEM; on
 * error nothing is left to free. */
samsa_err_t cluster_init(cluster_t *cl, loop_t *loop, const client_config_t *cfg,
                         cluster_update_fn *on_update, conn_event_fn *on_conn_event, void *owner,
                         char *errbuf, size_t errlen);

/* Closes every connection (their requests fail with SAMSA_ERR__DESTROYED)
 * and frees everything. */
void cluster_free(cluster_t *cl);

/* The topic named name, added (and a refresh asked for) when it is new.
 * NULL when memory runs out. */
cluster_topic_t *cluster_topic(cluster_t *cl, const char *name);

/* Asks for a metadata refresh soon (at most one per retry.backoff.ms). */
void cluster_want_refresh(cluster_t *cl);

/* Timeouts, reconnects and due refreshes; call periodically. */
void cluster_tick(cluster_t *cl, int64_t now_ms);

/* The connection to node_id, created when needed; NULL for a broker that
 * metadata did not name or when memory runs out. */
conn_t *cluster_broker_conn(cluster_t *cl, int32_t node_id);

/* Connection number lane (0 to CLUSTER_MAX_LANES - 1) to node_id: lane 0
 * is cluster_broker_conn's, the others further connections to the same
 * broker, each created when first asked for. A broker answers the requests of
 * one connection one after the other, so a producer spreads partitions
 * over lanes to have a broker work on several at once. NULL as for
 * cluster_broker_conn, or for a lane out of range. */
conn_t *cluster_broker_lane(cluster_t *cl, int32_t node_id, int lane);

/* A connection that is up (a broker's first, then a bootstrap server's),
 * or NULL; connecting one when none is, so ask again later. */
conn_t *cluster_any_conn(cluster_t *cl);

/* Parses one "host:port" or "[v6addr]:port" entry of len bytes into host
 * (hostlen bytes) and *port. Returns false when it is malformed. Pure. */
bool cluster_parse_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port);

#endif /* SAMSA_CLIENT_CLUSTER_H */
