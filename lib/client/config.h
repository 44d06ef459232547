/*
 * config.h: the client's configuration, filled from Kafka's property names
 * (Java client and librdkafka spellings) and checked as a whole before a
 * handle is built from it.
 *
 * A client_config_t is plain data: copied into each handle, read by its I/O
 * thread, never changed after construction.
 */
#ifndef SAMSA_CLIENT_CONFIG_H
#define SAMSA_CLIENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "samsa.h"

/* What a producer does when buffer.memory or queue.buffering.max.messages
 * is reached. */
enum client_queue_full {
    CLIENT_QUEUE_FULL_ERROR = 0, /* fail the call at once with SAMSA_ERR__QUEUE_FULL */
    CLIENT_QUEUE_FULL_BLOCK = 1, /* wait up to max.block.ms, then SAMSA_ERR__QUEUE_FULL */
};

/* The most connections.per.broker may be. */
#define CLIENT_MAX_CONNECTIONS_PER_BROKER 8

typedef struct client_config {
    char bootstrap_servers[1024]; /* host:port[,host:port...] */
    char client_id[256];
    int32_t request_timeout_ms;
    int32_t reconnect_backoff_ms;
    int32_t reconnect_backoff_max_ms;
    int32_t connect_timeout_ms;   /* socket.connection.setup.timeout.ms */
    int32_t send_buffer_bytes;    /* send.buffer.bytes: SO_SNDBUF, -1 the system's */
    int32_t receive_buffer_bytes; /* receive.buffer.bytes: SO_RCVBUF, -1 the system's */
    int32_t metadata_max_age_ms;
    int32_t max_in_flight;        /* per connection */
    int32_t connections_per_broker; /* producer: connections to each leader, at most
                                       CLIENT_MAX_CONNECTIONS_PER_BROKER */
    int32_t max_response_bytes;   /* cap on one response frame */
    /* producer */
    int16_t acks;                 /* 0, 1 or -1 (all) */
    int32_t linger_ms;
    int32_t batch_size_bytes;
    int64_t buffer_memory_bytes;
    int32_t queue_max_messages;
    int queue_full_behavior;      /* enum client_queue_full */
    int32_t max_block_ms;
    int32_t max_request_bytes;    /* max.request.size */
    int compression_codec;        /* COMPRESS_* */
    int compression_level;        /* COMPRESS_LEVEL_DEFAULT unless set */
    int32_t retries;
    int32_t retry_backoff_ms;
    int32_t delivery_timeout_ms;
    bool enable_idempotence;
    bool idempotence_set;         /* set explicitly, so conflicts are errors */
    bool auto_create_topics;      /* allow.auto.create.topics */
    /* consumer */
    bool consumer;                /* the consumer's properties are known (a consumer's config) */
    char group_id[256];           /* "" without a group */
    char group_instance_id[256];  /* "": a dynamic member; else static (KIP-345) */
    char assignment_strategy[256]; /* partition.assignment.strategy, comma-separated names */
    int auto_offset_reset;        /* enum client_offset_reset */
    bool enable_auto_commit;
    int32_t auto_commit_interval_ms;
    int32_t session_timeout_ms;
    int32_t heartbeat_interval_ms;
    int32_t max_poll_interval_ms;
    int32_t fetch_min_bytes;
    int32_t fetch_max_wait_ms;
    int32_t max_partition_fetch_bytes;
    int32_t fetch_max_bytes;
    int32_t queued_max_kbytes;    /* queued.max.messages.kbytes: prefetched, not yet polled */
    bool read_committed;          /* isolation.level=read_committed */
    /* security */
    int security_protocol;        /* enum client_security_protocol */
    char ssl_ca_location[1024];   /* PEM file of trusted CAs; "": the system's default store */
    char ssl_certificate_location[1024]; /* PEM client certificate; "": none */
    char ssl_key_location[1024];  /* PEM private key of that certificate */
    char ssl_key_password[256];   /* of an encrypted key; "": none */
    bool ssl_verify_hostname;     /* ssl.endpoint.identification.algorithm=https */
    bool ssl_verify_certificate;  /* enable.ssl.certificate.verification */
    int sasl_mechanism;           /* enum client_sasl_mechanism */
    char sasl_username[256];
    char sasl_password[256];
} client_config_t;

/* security.protocol */
enum client_security_protocol {
    CLIENT_SEC_PLAINTEXT = 0,
    CLIENT_SEC_SSL = 1,
    CLIENT_SEC_SASL_PLAINTEXT = 2,
    CLIENT_SEC_SASL_SSL = 3,
};

/* sasl.mechanism */
enum client_sasl_mechanism {
    CLIENT_SASL_PLAIN = 0,
    CLIENT_SASL_SCRAM_SHA_256 = 1,
    CLIENT_SASL_SCRAM_SHA_512 = 2,
};

/* Whether the protocol wraps the connection in TLS / authenticates with SASL. */
static inline bool client_sec_tls(int protocol)
{
    return protocol == CLIENT_SEC_SSL || protocol == CLIENT_SEC_SASL_SSL;
}
static inline bool client_sec_sasl(int protocol)
{
    return protocol == CLIENT_SEC_SASL_PLAINTEXT || protocol == CLIENT_SEC_SASL_SSL;
}

/* The mechanism's name as SaslHandshake spells it ("PLAIN", "SCRAM-SHA-256"). */
const char *client_sasl_mechanism_name(int mechanism);

/* auto.offset.reset */
enum client_offset_reset {
    CLIENT_RESET_LATEST = 0,
    CLIENT_RESET_EARLIEST = 1,
    CLIENT_RESET_NONE = 2, /* the consumer reports the error */
};

/* Fills cfg with the defaults (the Java producer's, with linger.ms 5). */
void client_config_init(client_config_t *cfg);

/* The same for a consumer: the consumer's properties (group.id,
 * auto.offset.reset, fetch.*, ...) become known, with Java's defaults. */
void client_config_init_consumer(client_config_t *cfg);

/* Sets one property by its Kafka name. Returns SAMSA_ERR_NONE, or
 * SAMSA_ERR__UNKNOWN_CONFIG for a name it does not know and
 * SAMSA_ERR__INVALID_CONFIG for a value out of range; either way errbuf
 * (errlen bytes, may be NULL) gets a message naming the key and what is
 * allowed, and cfg is unchanged. Not thread-safe for one cfg. */
samsa_err_t client_config_set(client_config_t *cfg, const char *key, const char *value,
                              char *errbuf, size_t errlen);

/* Checks the settings against each other the way the Java producer does
 * (idempotence needs acks=all, retries > 0 and at most 5 requests in
 * flight; left at its default it is turned off instead), that
 * bootstrap.servers is set, that SASL has a username and a password and
 * that a client certificate comes with its key. Returns SAMSA_ERR_NONE or
 * SAMSA_ERR__INVALID_CONFIG with errbuf filled; may adjust cfg. */
samsa_err_t client_config_finish(client_config_t *cfg, char *errbuf, size_t errlen);

#endif /* SAMSA_CLIENT_CONFIG_H */
