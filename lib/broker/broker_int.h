/*
 * broker_int.h: the broker's private header: its configuration, topics and
 * partitions, connections and the handlers of each API. Only lib/broker
 * includes it.
 *
 * Files: broker.c (life cycle, listeners, public API, ids, meta.properties),
 * config.c (properties), topics.c (registry and metadata on disk), conn.c
 * (connections, TLS, framing, ordering, writing), sasl.c (SASL
 * authentication, the credentials file, samsa_broker_user_*), dispatch.c (the handler table,
 * ApiVersions, response helpers), and one file per API family: admin.c
 * (Metadata, CreateTopics, DeleteTopics, CreatePartitions, DescribeCluster,
 * DescribeConfigs), produce.c, fetch.c, offsets.c (ListOffsets,
 * OffsetForLeaderEpoch, DeleteRecords).
 *
 * Threads: everything here runs on the broker's event-loop thread, except
 * broker_config_load (any thread, before start), topics_open (before the
 * loop runs; it opens the partitions found on disk with
 * num.recovery.threads.per.data.dir threads that each only fill their own
 * slot of a topic's partition table) and the on_durable callback in
 * produce.c, which only posts to the loop.
 */
#ifndef SAMSA_BROKER_BROKER_INT_H
#define SAMSA_BROKER_BROKER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/conf.h"
#include "broker/group.h"
#include "broker/producer_state.h"
#include "broker/request.h"
#include "log/log.h"
#include "net/loop.h"
#include "net/sock.h"
#include "proto/messages.h"
#include "net/tls.h"

#define BROKER_MODULE "broker"
#define BROKER_OFFSETS_TOPIC "__consumer_offsets"
#define BROKER_LEADER_EPOCH 0 /* one node, never re-elected: every batch carries epoch 0 */

struct broker;
struct broker_topic;

/* ---- configuration (config.c) ------------------------------------------ */

#define BROKER_MAX_LISTENERS 8
#define BROKER_PATH_MAX 1024

/* A listener's security protocol (listener.security.protocol.map). */
typedef enum broker_security {
    BROKER_SEC_PLAINTEXT = 0,
    BROKER_SEC_SSL = 1,
    BROKER_SEC_SASL_PLAINTEXT = 2,
    BROKER_SEC_SASL_SSL = 3,
} broker_security_t;

/* "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" */
const char *broker_security_name(broker_security_t sec);
static inline bool broker_security_tls(broker_security_t sec)
{
    return sec == BROKER_SEC_SSL || sec == BROKER_SEC_SASL_SSL;
}
static inline bool broker_security_sasl(broker_security_t sec)
{
    return sec == BROKER_SEC_SASL_PLAINTEXT || sec == BROKER_SEC_SASL_SSL;
}

/* SASL mechanisms (sasl.enabled.mechanisms), as a bit set */
enum { BROKER_SASL_PLAIN = 1, BROKER_SASL_SCRAM_SHA_256 = 2, BROKER_SASL_SCRAM_SHA_512 = 4 };

/* One entry of listeners. */
typedef struct broker_listener_config {
    net_endpoint_t endpoint;     /* endpoint.protocol is the listener's name */
    broker_security_t security;
    net_endpoint_t advertised;   /* its advertised.listeners entry (protocol empty: none;
                                  * host empty: the listener's; port 0: the bound one) */
} broker_listener_config_t;

typedef struct broker_config {
    int32_t node_id;                  /* node.id / broker.id */
    net_endpoint_t listener;          /* the first of listeners */
    net_endpoint_t advertised;        /* its advertised.listeners entry (host empty: the listener's) */
    broker_listener_config_t listeners[BROKER_MAX_LISTENERS]; /* listeners, in order, without
                                                               * controller listeners */
    size_t listener_count;
    /* TLS (SSL and SASL_SSL listeners) */
    char ssl_certificate_location[BROKER_PATH_MAX]; /* ssl.certificate.location ("" unset) */
    char ssl_key_location[BROKER_PATH_MAX];         /* ssl.key.location */
    char ssl_key_password[256];                     /* ssl.key.password */
    char ssl_ca_location[BROKER_PATH_MAX];          /* ssl.ca.location */
    int ssl_client_auth;              /* ssl.client.auth: tls_client_auth_t (SSL listeners) */
    int ssl_min_version, ssl_max_version; /* ssl.enabled.protocols: TLS_VERSION_* */
    /* SASL (SASL_PLAINTEXT and SASL_SSL listeners) */
    unsigned sasl_mechanisms;         /* sasl.enabled.mechanisms: BROKER_SASL_* bits */
    char sasl_credentials_file[BROKER_PATH_MAX]; /* sasl.credentials.file */
    int32_t failed_auth_delay_ms;     /* connection.failed.authentication.delay.ms */
    char **log_dirs;                  /* log.dirs / log.dir */
    size_t log_dir_count;
    int32_t num_partitions;           /* num.partitions */
    bool auto_create_topics;          /* auto.create.topics.enable */
    bool delete_topic_enable;         /* delete.topic.enable */
    int32_t message_max_bytes;        /* message.max.bytes */
    int32_t socket_request_max_bytes; /* socket.request.max.bytes */
    int64_t connections_max_idle_ms;  /* connections.max.idle.ms (-1: never) */
    bool log_append_time;             /* log.message.timestamp.type=LogAppendTime */
    int64_t retention_check_ms;       /* log.retention.check.interval.ms */
    int32_t recovery_threads_per_dir; /* num.recovery.threads.per.data.dir */
    log_config_t log;                 /* log.* (defaults of every topic) */
    /* For the group coordinator (group_config_t) */
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;
    int64_t offsets_retention_ms;
    int32_t offset_metadata_max_bytes;
} broker_config_t;

/* Reads and checks every property of conf into cfg (defaults for the rest).
 * Returns SAMSA_ERR__UNKNOWN_CONFIG or SAMSA_ERR__INVALID_CONFIG with
 * errbuf naming the key and what is allowed, SAMSA_ERR__NOMEM. cfg must be
 * released with broker_config_free() either way. */
samsa_err_t broker_config_load(broker_config_t *cfg, const samsa_conf_t *conf, char *errbuf,
                               size_t errlen);
void broker_config_free(broker_config_t *cfg);

/* A topic's effective settings: the broker's log.* defaults with the
 * topic's overrides (CreateTopics configs) applied. */
typedef struct topic_config {
    log_config_t log;
    int32_t max_message_bytes; /* max.message.bytes (message.max.bytes) */
    bool log_append_time;      /* message.timestamp.type=LogAppendTime */
} topic_config_t;

/* Applies one topic-level property (Kafka's topic name: retention.ms,
 * segment.bytes, cleanup.policy ...) to tc. Returns SAMSA_ERR_NONE, or
 * SAMSA_ERR_INVALID_CONFIG (the protocol code CreateTopics returns) with the
 * reason in errbuf. */
samsa_err_t topic_config_set(topic_config_t *tc, const char *key, const char *value, char *errbuf,
                             size_t errlen);

/* One entry of DescribeConfigs. */
typedef struct config_describe {
    const char *name;
    char value[512];
    bool is_default;
    bool read_only;
    int8_t type; /* DescribeConfigs config_type: 1 boolean, 2 string, 3 int, 5 long, 7 list */
    const char *doc;
} config_describe_t;

/* Calls fn for every broker property DescribeConfigs reports, with its
 * value (set or default). */
void broker_config_describe(const struct broker *b,
                            void (*fn)(void *opaque, const config_describe_t *d), void *opaque);
/* The same for a topic's properties. */
void topic_config_describe(const struct broker *b, const struct broker_topic *t,
                           void (*fn)(void *opaque, const config_describe_t *d), void *opaque);

/* ---- topics and partitions (topics.c) ------------------------------------ */

typedef struct produce_wait produce_wait_t;
typedef struct durable_waiter durable_waiter_t;

typedef struct broker_partition {
    struct broker *broker;
    struct broker_topic *topic;
    int32_t index;
    partition_log_t *log;
    char *dir;                 /* the partition's directory, "<log dir>/<topic>-<index>" */
    int refcount;              /* atomic: the topic's, plus posts in flight */
    bool deleted;              /* the topic is gone; only references remain */
    int durable_post_pending;  /* atomic: an on_durable post is queued */
    durable_waiter_t *durable_waiters; /* acks=-1 produces waiting for a sync */
    producer_state_t *producer_state;  /* idempotent producers (producer_state.h) */
} broker_partition_t;

typedef struct broker_topic {
    char name[256];
    proto_uuid_t id;
    bool internal;
    int32_t partition_count;
    broker_partition_t **partitions;
    samsa_conf_t *overrides;   /* topic-level properties set at creation */
    topic_config_t config;
} broker_topic_t;

/* Opens every topic found in the log dirs (creating the metadata of
 * partitions that have none) and __consumer_offsets. Returns 0, or an error
 * with errbuf filled. */
samsa_err_t topics_open(struct broker *b, char *errbuf, size_t errlen);
/* Closes every partition (cleanly) and frees the topics. */
void topics_close(struct broker *b);

broker_topic_t *topic_find(struct broker *b, proto_str_t name);
broker_topic_t *topic_find_cstr(struct broker *b, const char *name);
broker_topic_t *topic_find_id(struct broker *b, const proto_uuid_t *id);
/* The partition, or NULL when the topic has no such partition. */
static inline broker_partition_t *topic_partition(broker_topic_t *t, int32_t index)
{
    return t && index >= 0 && index < t->partition_count ? t->partitions[index] : NULL;
}

/* SAMSA_ERR_NONE when name is a legal topic name ([a-zA-Z0-9._-], 1..249,
 * not "." or ".."), else SAMSA_ERR_INVALID_TOPIC_EXCEPTION and why. */
samsa_err_t topic_name_check(proto_str_t name, char *why, size_t whylen);

typedef struct topic_config_kv {
    const char *key;
    const char *value;
} topic_config_kv_t;

/* Creates a topic with partitions partitions (> 0) and the given topic
 * properties; with validate_only, only checks. Returns a protocol error
 * code: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS,
 * INVALID_CONFIG, KAFKA_STORAGE_ERROR, with a message in why. *out gets the
 * new topic (NULL when validate_only). */
samsa_err_t topic_create(struct broker *b, proto_str_t name, int32_t partitions,
                         const topic_config_kv_t *configs, size_t config_count, bool validate_only,
                         broker_topic_t **out, char *why, size_t whylen);
/* Deletes a topic: closes its partitions, removes their directories, wakes
 * whoever waits on them. t is freed. */
samsa_err_t topic_delete(struct broker *b, broker_topic_t *t);
/* Grows a topic to count partitions. INVALID_PARTITIONS when count is not
 * larger, KAFKA_STORAGE_ERROR. */
samsa_err_t topic_add_partitions(struct broker *b, broker_topic_t *t, int32_t count,
                                 bool validate_only, char *why, size_t whylen);

void broker_partition_unref(broker_partition_t *bp);

/* ---- the broker (broker.c) ---------------------------------------------- */

typedef struct conn conn_t;
typedef struct fetch_wait fetch_wait_t;
typedef struct broker_sasl broker_sasl_t;

/* A bound listener. */
typedef struct broker_listener {
    struct broker *broker;
    const broker_listener_config_t *config;
    int fd;                      /* -1 when not listening */
    int port;                    /* the bound port */
    char advertised_host[256];   /* what clients connected here are told */
    int32_t advertised_port;
    char address[330];           /* "NAME://host:port" as bound */
    tls_ctx_t *tls;              /* SSL and SASL_SSL listeners: the broker's context */
} broker_listener_t;

struct broker {
    samsa_conf_t *conf;
    broker_config_t cfg;
    char cluster_id[32];
    log_dir_t *dirs;
    log_flusher_t *flusher;
    loop_t *loop;
    pthread_t thread;
    bool started;
    bool stopped;
    broker_listener_t listeners[BROKER_MAX_LISTENERS]; /* as cfg.listeners */
    size_t listener_count;
    char advertised_host[256];  /* the first listener's, for the group coordinator */
    int32_t advertised_port;
    char bootstrap[300];
    char listener[330];
    tls_ctx_t *tls_ssl;         /* SSL listeners: ssl.client.auth applies */
    tls_ctx_t *tls_sasl_ssl;    /* SASL_SSL listeners: no client certificates */
    broker_sasl_t *sasl;        /* credentials and failure counts (sasl.c); NULL without SASL */

    broker_topic_t **topics;
    size_t topic_count;
    size_t topic_cap;

    conn_t *conns;            /* every open connection */
    loop_timer_t *idle_timer; /* closes idle connections */
    fetch_wait_t *fetch_waits; /* parked long-poll fetches */

    group_coordinator_t *groups; /* made at start, once the advertised port is known */
    producer_ids_t *producer_ids; /* InitProducerId's allocator, <first log dir>/.producer-ids */
};

/* The public handle is the broker itself. */
struct samsa_broker {
    struct broker broker;
};

/* Topic ids for the group coordinator (group_env_t): see group.h. */
bool broker_topic_name_by_id(void *opaque, const proto_uuid_t *id, const char **name);
bool broker_topic_id_by_name(void *opaque, const char *name, proto_uuid_t *id);
/* Partition 0 of __consumer_offsets, for the group coordinator. */
partition_log_t *broker_offsets_log(struct broker *b);

/* Fills buf with n random bytes (getrandom). */
void broker_random(void *buf, size_t n);
/* A random version-4 UUID whose base64 form does not start with '-', as
 * Kafka makes topic and cluster ids. */
void broker_uuid_new(proto_uuid_t *id);
/* The 22-character URL-safe base64 form of id (Kafka's), into out[23]. */
void broker_uuid_str(const proto_uuid_t *id, char out[23]);
/* Parses that form. Returns 0, or -1 when text is not one. */
int broker_uuid_parse(const char *text, proto_uuid_t *id);

/* ---- connections (conn.c) ------------------------------------------------ */

/* A listener's callback (opaque: its broker_listener_t): accepts every
 * waiting connection. */
void conn_accept_ready(loop_t *loop, int fd, int events, void *opaque);
/* Closes every connection (parked requests are cancelled) and stops the
 * idle check. */
void conns_close_all(struct broker *b);
/* Starts the periodic check that closes connections idle for longer than
 * connections.max.idle.ms (nothing when it is -1). */
void conns_start_idle_check(struct broker *b);

/* ---- dispatch (dispatch.c) ---------------------------------------------- */

typedef void broker_handler_fn(struct broker *b, broker_request_t *req);

/* One API the broker serves, at exactly the versions listed: ApiVersions
 * advertises these entries and nothing else. */
typedef struct broker_handler {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    broker_handler_fn *fn;
} broker_handler_t;

/* The handler of an API key, or NULL. */
const broker_handler_t *broker_handler_find(int16_t api_key);
/* Hands a request to its handler (the caller found it with
 * broker_handler_find and checked the version). */
void broker_dispatch(struct broker *b, const broker_handler_t *h, broker_request_t *req);

/* ---- SASL (sasl.c) ------------------------------------------------------- */

/* The SASL state of a broker: its credentials file, followed as it
 * changes, and recent authentication failures per client address. NULL
 * with errbuf filled when memory runs out. */
broker_sasl_t *broker_sasl_new(struct broker *b, char *errbuf, size_t errlen);
void broker_sasl_free(broker_sasl_t *s);
/* Forgets a connection's exchange (closing). */
void broker_session_release(broker_session_t *session);

void handle_sasl_handshake(struct broker *b, broker_request_t *req);
void handle_sasl_authenticate(struct broker *b, broker_request_t *req);
/* A SASL token framed without a request header, after SaslHandshake v0:
 * answers with the reply token in out (without its size), or fails
 * (the caller closes the connection after a delay of *delay_ms). */
samsa_err_t sasl_raw_token(struct broker *b, broker_session_t *session, const char *client_addr,
                           const uint8_t *token, size_t len, buf_t *out, int64_t *delay_ms);

/* ---- handlers ------------------------------------------------------------- */

void handle_metadata(struct broker *b, broker_request_t *req);
void handle_create_topics(struct broker *b, broker_request_t *req);
void handle_delete_topics(struct broker *b, broker_request_t *req);
void handle_create_partitions(struct broker *b, broker_request_t *req);
void handle_describe_cluster(struct broker *b, broker_request_t *req);
void handle_describe_configs(struct broker *b, broker_request_t *req);
void handle_produce(struct broker *b, broker_request_t *req);
void handle_fetch(struct broker *b, broker_request_t *req);
void handle_list_offsets(struct broker *b, broker_request_t *req);
void handle_offset_for_leader_epoch(struct broker *b, broker_request_t *req);
void handle_delete_records(struct broker *b, broker_request_t *req);

/* produce.c: the log's on_durable callback (flusher thread), and what a
 * deleted partition does to waiting acks=-1 produces. */
void produce_on_durable(void *opaque, partition_log_t *pl, int64_t durable_end_offset);
void produce_partition_deleted(broker_partition_t *bp);

/* fetch.c: data arrived in bp (or bp went away): answers waiting fetches
 * that now have enough. */
void fetch_wake(struct broker *b, broker_partition_t *bp);
/* Answers every waiting fetch now (broker stopping). */
void fetch_wake_all(struct broker *b);

/* count elements (count > 0) of the array field at field_offset in a
 * parent struct described by parent, each at its defaults, in the
 * request's arena; NULL when memory runs out or count <= 0. */
void *broker_array(broker_request_t *req, const proto_struct_t *parent, size_t field_offset,
                   int32_t count);

/* The description of the struct elements of an array or struct field. */
const proto_struct_t *broker_sub_desc(const proto_struct_t *parent, size_t field_offset);

#define BROKER_ARRAY(req, parent_desc, type, field, count)                     \
    broker_array(req, parent_desc, offsetof(type, field), count)
#define BROKER_SUB(parent_desc, type, field) broker_sub_desc(parent_desc, offsetof(type, field))

/* A response's error: a NUL-terminated copy of why in the request's arena,
 * as a proto string (null when out of memory). */
proto_str_t broker_arena_str(broker_request_t *req, const char *why);

#endif /* SAMSA_BROKER_BROKER_INT_H */
