/*
 * samsa.h: the public API of libsamsa, an embeddable Kafka client and broker.
 *
 * Everything a program may use is declared here and named samsa_* / SAMSA_*.
 * Unless a function says otherwise it may be called from any thread.
 */
#ifndef SAMSA_H
#define SAMSA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAMSA_VERSION_MAJOR 0
#define SAMSA_VERSION_MINOR 1
#define SAMSA_VERSION_PATCH 0

#if defined(SAMSA_BUILDING) && defined(__GNUC__)
#define SAMSA_API __attribute__((visibility("default")))
#else
#define SAMSA_API
#endif

/* The library's version as "MAJOR.MINOR.PATCH". The string is static. */
SAMSA_API const char *samsa_version(void);

/*
 * Errors.
 *
 * 0 is success. Positive values, and -1, are Apache Kafka's protocol error
 * codes with Kafka's own numbers, so a code read off the wire is returned as
 * is. Values of -100 and below are local errors, raised by libsamsa itself;
 * their names carry a double underscore, as librdkafka's do.
 */
#define SAMSA_ERRORS(X)                                                        \
    X(UNKNOWN_SERVER_ERROR, -1)                                                \
    X(NONE, 0)                                                                 \
    X(OFFSET_OUT_OF_RANGE, 1)                                                  \
    X(CORRUPT_MESSAGE, 2)                                                      \
    X(UNKNOWN_TOPIC_OR_PARTITION, 3)                                           \
    X(INVALID_FETCH_SIZE, 4)                                                   \
    X(LEADER_NOT_AVAILABLE, 5)                                                 \
    X(NOT_LEADER_OR_FOLLOWER, 6)                                               \
    X(REQUEST_TIMED_OUT, 7)                                                    \
    X(BROKER_NOT_AVAILABLE, 8)                                                 \
    X(REPLICA_NOT_AVAILABLE, 9)                                                \
    X(MESSAGE_TOO_LARGE, 10)                                                   \
    X(STALE_CONTROLLER_EPOCH, 11)                                              \
    X(OFFSET_METADATA_TOO_LARGE, 12)                                           \
    X(NETWORK_EXCEPTION, 13)                                                   \
    X(COORDINATOR_LOAD_IN_PROGRESS, 14)                                        \
    X(COORDINATOR_NOT_AVAILABLE, 15)                                           \
    X(NOT_COORDINATOR, 16)                                                     \
    X(INVALID_TOPIC_EXCEPTION, 17)                                             \
    X(RECORD_LIST_TOO_LARGE, 18)                                               \
    X(NOT_ENOUGH_REPLICAS, 19)                                                 \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)                                    \
    X(INVALID_REQUIRED_ACKS, 21)                                               \
    X(ILLEGAL_GENERATION, 22)                                                  \
    X(INCONSISTENT_GROUP_PROTOCOL, 23)                                         \
    X(INVALID_GROUP_ID, 24)                                                    \
    X(UNKNOWN_MEMBER_ID, 25)                                                   \
    X(INVALID_SESSION_TIMEOUT, 26)                                             \
    X(REBALANCE_IN_PROGRESS, 27)                                               \
    X(INVALID_COMMIT_OFFSET_SIZE, 28)                                          \
    X(TOPIC_AUTHORIZATION_FAILED, 29)                                          \
    X(GROUP_AUTHORIZATION_FAILED, 30)                                          \
    X(CLUSTER_AUTHORIZATION_FAILED, 31)                                        \
    X(INVALID_TIMESTAMP, 32)                                                   \
    X(UNSUPPORTED_SASL_MECHANISM, 33)                                          \
    X(ILLEGAL_SASL_STATE, 34)                                                  \
    X(UNSUPPORTED_VERSION, 35)                                                 \
    X(TOPIC_ALREADY_EXISTS, 36)                                                \
    X(INVALID_PARTITIONS, 37)                                                  \
    X(INVALID_REPLICATION_FACTOR, 38)                                          \
    X(INVALID_REPLICA_ASSIGNMENT, 39)                                          \
    X(INVALID_CONFIG, 40)                                                      \
    X(NOT_CONTROLLER, 41)                                                      \
    X(INVALID_REQUEST, 42)                                                     \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)                                      \
    X(POLICY_VIOLATION, 44)                                                    \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45)                                        \
    X(DUPLICATE_SEQUENCE_NUMBER, 46)                                           \
    X(INVALID_PRODUCER_EPOCH, 47)                                              \
    X(INVALID_TXN_STATE, 48)                                                   \
    X(INVALID_PRODUCER_ID_MAPPING, 49)                                         \
    X(INVALID_TRANSACTION_TIMEOUT, 50)                                         \
    X(CONCURRENT_TRANSACTIONS, 51)                                             \
    X(TRANSACTION_COORDINATOR_FENCED, 52)                                      \
    X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53)                               \
    X(SECURITY_DISABLED, 54)                                                   \
    X(OPERATION_NOT_ATTEMPTED, 55)                                             \
    X(KAFKA_STORAGE_ERROR, 56)                                                 \
    X(LOG_DIR_NOT_FOUND, 57)                                                   \
    X(SASL_AUTHENTICATION_FAILED, 58)                                          \
    X(UNKNOWN_PRODUCER_ID, 59)                                                 \
    X(REASSIGNMENT_IN_PROGRESS, 60)                                            \
    X(DELEGATION_TOKEN_AUTH_DISABLED, 61)                                      \
    X(DELEGATION_TOKEN_NOT_FOUND, 62)                                          \
    X(DELEGATION_TOKEN_OWNER_MISMATCH, 63)                                     \
    X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64)                                \
    X(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65)                               \
    X(DELEGATION_TOKEN_EXPIRED, 66)                                            \
    X(INVALID_PRINCIPAL_TYPE, 67)                                              \
    X(NON_EMPTY_GROUP, 68)                                                     \
    X(GROUP_ID_NOT_FOUND, 69)                                                  \
    X(FETCH_SESSION_ID_NOT_FOUND, 70)                                          \
    X(INVALID_FETCH_SESSION_EPOCH, 71)                                         \
    X(LISTENER_NOT_FOUND, 72)                                                  \
    X(TOPIC_DELETION_DISABLED, 73)                                             \
    X(FENCED_LEADER_EPOCH, 74)                                                 \
    X(UNKNOWN_LEADER_EPOCH, 75)                                                \
    X(UNSUPPORTED_COMPRESSION_TYPE, 76)                                        \
    X(STALE_BROKER_EPOCH, 77)                                                  \
    X(OFFSET_NOT_AVAILABLE, 78)                                                \
    X(MEMBER_ID_REQUIRED, 79)                                                  \
    X(PREFERRED_LEADER_NOT_AVAILABLE, 80)                                      \
    X(GROUP_MAX_SIZE_REACHED, 81)                                              \
    X(FENCED_INSTANCE_ID, 82)                                                  \
    X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83)                                      \
    X(ELECTION_NOT_NEEDED, 84)                                                 \
    X(NO_REASSIGNMENT_IN_PROGRESS, 85)                                         \
    X(GROUP_SUBSCRIBED_TO_TOPIC, 86)                                           \
    X(INVALID_RECORD, 87)                                                      \
    X(UNSTABLE_OFFSET_COMMIT, 88)                                              \
    X(THROTTLING_QUOTA_EXCEEDED, 89)                                           \
    X(PRODUCER_FENCED, 90)                                                     \
    X(RESOURCE_NOT_FOUND, 91)                                                  \
    X(DUPLICATE_RESOURCE, 92)                                                  \
    X(UNACCEPTABLE_CREDENTIAL, 93)                                             \
    X(INCONSISTENT_VOTER_SET, 94)                                              \
    X(INVALID_UPDATE_VERSION, 95)                                              \
    X(FEATURE_UPDATE_FAILED, 96)                                               \
    X(PRINCIPAL_DESERIALIZATION_FAILURE, 97)                                   \
    X(SNAPSHOT_NOT_FOUND, 98)                                                  \
    X(POSITION_OUT_OF_RANGE, 99)                                               \
    X(UNKNOWN_TOPIC_ID, 100)                                                   \
    X(DUPLICATE_BROKER_REGISTRATION, 101)                                      \
    X(BROKER_ID_NOT_REGISTERED, 102)                                           \
    X(INCONSISTENT_TOPIC_ID, 103)                                              \
    X(INCONSISTENT_CLUSTER_ID, 104)                                            \
    X(TRANSACTIONAL_ID_NOT_FOUND, 105)                                         \
    X(FETCH_SESSION_TOPIC_ID_ERROR, 106)                                       \
    X(INELIGIBLE_REPLICA, 107)                                                 \
    X(NEW_LEADER_ELECTED, 108)                                                 \
    X(OFFSET_MOVED_TO_TIERED_STORAGE, 109)                                     \
    X(FENCED_MEMBER_EPOCH, 110)                                                \
    X(UNRELEASED_INSTANCE_ID, 111)                                             \
    X(UNSUPPORTED_ASSIGNOR, 112)                                               \
    X(STALE_MEMBER_EPOCH, 113)                                                 \
    X(MISMATCHED_ENDPOINT_TYPE, 114)                                           \
    X(UNSUPPORTED_ENDPOINT_TYPE, 115)                                          \
    X(UNKNOWN_CONTROLLER_ID, 116)                                              \
    X(UNKNOWN_SUBSCRIPTION_ID, 117)                                            \
    X(TELEMETRY_TOO_LARGE, 118)                                                \
    X(INVALID_REGISTRATION, 119)                                               \
    X(TRANSACTION_ABORTABLE, 120)                                              \
    X(INVALID_RECORD_STATE, 121)                                               \
    X(SHARE_SESSION_NOT_FOUND, 122)                                            \
    X(INVALID_SHARE_SESSION_EPOCH, 123)                                        \
    X(FENCED_STATE_EPOCH, 124)                                                 \
    X(INVALID_VOTER_KEY, 125)                                                  \
    X(DUPLICATE_VOTER, 126)                                                    \
    X(VOTER_NOT_FOUND, 127)                                                    \
    /* local errors */                                                         \
    X(_BAD_MSG, -100)          /* malformed or truncated input */              \
    X(_NOMEM, -101)            /* out of memory */                             \
    X(_INVALID_ARG, -102)      /* an argument is out of its range */           \
    X(_TRANSPORT, -103)        /* connection failed or was lost */             \
    X(_TIMED_OUT, -104)        /* a local timeout expired */                   \
    X(_QUEUE_FULL, -105)       /* a bounded queue is full */                   \
    X(_UNKNOWN_CONFIG, -106)   /* no such configuration property */            \
    X(_INVALID_CONFIG, -107)   /* bad configuration value */                   \
    X(_STORAGE, -108)          /* disk I/O failed */                           \
    X(_NOT_SUPPORTED, -109)    /* not supported by this build or peer */       \
    X(_STATE, -110)            /* not allowed in the handle's current state */ \
    X(_NOENT, -111)            /* no such file, entry or object */             \
    X(_PARTITION_EOF, -112)    /* consumer reached the end of a partition */   \
    X(_COMPRESSION, -113)      /* compression or decompression failed */       \
    X(_AUTHENTICATION, -114)   /* TLS or SASL authentication failed */         \
    X(_DESTROYED, -115)        /* the handle is being closed */                \
    X(_MSG_TOO_LARGE, -116)    /* a message exceeds a local size limit */      \
    X(_NOSPC, -117)            /* no space left on the device */

typedef enum samsa_err {
#define SAMSA__ERR_ENUM(name, value) SAMSA_ERR_##name = value,
    SAMSA_ERRORS(SAMSA__ERR_ENUM)
#undef SAMSA__ERR_ENUM
} samsa_err_t;

/* The name of an error code ("NOT_LEADER_OR_FOLLOWER", "_TIMED_OUT"), or
 * "UNKNOWN" for a value that is not listed. The string is static. */
SAMSA_API const char *samsa_err_name(samsa_err_t err);

/* A short English description of an error code. The string is static. */
SAMSA_API const char *samsa_err_str(samsa_err_t err);

/*
 * Configuration.
 *
 * A samsa_conf_t is an ordered map of string properties named as Kafka names
 * them ("listeners", "log.dirs", "bootstrap.servers" ...). The same type
 * configures every handle, so samsa_conf_set() only checks that the key is
 * well formed; the handle that is given the conf (samsa_broker_new() ...)
 * checks every key and value and names the first one it rejects.
 *
 * A conf is not thread-safe: use one from one thread at a time.
 */
typedef struct samsa_conf samsa_conf_t;

/* A new, empty configuration, or NULL when memory runs out. The caller
 * owns it: free it with samsa_conf_free() unless a constructor took it. */
SAMSA_API samsa_conf_t *samsa_conf_new(void);

/* A deep copy of conf, or NULL when memory runs out. */
SAMSA_API samsa_conf_t *samsa_conf_dup(const samsa_conf_t *conf);

/* Frees conf and every string in it (NULL is ignored). */
SAMSA_API void samsa_conf_free(samsa_conf_t *conf);

/* Sets key to value (both copied), replacing an earlier value. Returns
 * SAMSA_ERR__INVALID_ARG for a NULL or empty key, a NULL value or a key with
 * whitespace or control characters, SAMSA_ERR__NOMEM when memory runs out;
 * either way errstr (may be NULL, errlen bytes) says why and names the key,
 * and conf is unchanged. */
SAMSA_API samsa_err_t samsa_conf_set(samsa_conf_t *conf, const char *key, const char *value,
                                     char *errstr, size_t errlen);

/* The value of key, or NULL when it was not set. The string belongs to conf
 * and stays valid until the key is set again or conf is freed. */
SAMSA_API const char *samsa_conf_get(const samsa_conf_t *conf, const char *key);

/* Reads a Java .properties file into conf: "key=value", "key: value" or
 * "key value" lines, comments starting with # or !, backslash line
 * continuations and escapes (\t \n \r \f \\ \uXXXX). Later lines override
 * earlier ones and earlier samsa_conf_set() calls. Returns
 * SAMSA_ERR__NOENT when the file cannot be read, SAMSA_ERR__INVALID_CONFIG
 * for a malformed line (errstr names the file and line), SAMSA_ERR__NOMEM.
 * On error conf may hold the lines before the bad one. */
SAMSA_API samsa_err_t samsa_conf_set_file(samsa_conf_t *conf, const char *path, char *errstr,
                                          size_t errlen);

/*
 * Broker.
 *
 * An embedded Kafka-compatible broker: one node that is the controller and
 * the leader of every partition, keeping partitions in log.dirs. It serves
 * on its own thread; several brokers (with different log dirs and ports)
 * may run in one process.
 *
 * Durability: with log.flush.on.ack=true (the default) a Produce with
 * acks=all is answered once its records are fdatasync'd (syncs are shared
 * by concurrent producers); acks=1 is answered once the records are in the
 * log (page cache), and they are synced within a second. With
 * log.flush.on.ack=false acks=all behaves as acks=1,
 * as in Kafka, and data reaches the disk by log.flush.interval.* or the OS.
 */
typedef struct samsa_broker samsa_broker_t;

/* Makes a broker from conf: checks every property (an unknown key or a bad
 * value is an error naming the key), opens and locks log.dirs, writes or
 * checks meta.properties (cluster id, node id), recovers every partition
 * found there and creates the internal topic __consumer_offsets. Does not
 * listen yet. Returns NULL with the reason in errstr (errlen bytes; may be
 * NULL); conf stays the caller's then. On success the broker owns conf and
 * frees it: the caller must not use it again. Any thread. */
SAMSA_API samsa_broker_t *samsa_broker_new(samsa_conf_t *conf, char *errstr, size_t errlen);

/* Binds the listener (port 0 picks a free port) and starts serving on the
 * broker's own thread. Returns SAMSA_ERR__TRANSPORT when the address cannot
 * be bound, SAMSA_ERR__STATE when already started, SAMSA_ERR__NOMEM. Call
 * from the thread that owns the handle. */
SAMSA_API samsa_err_t samsa_broker_start(samsa_broker_t *broker);

/* "host:port" that clients use (the advertised listener, with the real port
 * once started). The string belongs to the broker and lives as long as it.
 * Any thread once samsa_broker_start() returned. */
SAMSA_API const char *samsa_broker_bootstrap(samsa_broker_t *broker);

/* The bound listener as "PLAINTEXT://host:port" (the real port once
 * started; host as configured, "0.0.0.0" for all interfaces). Owned by the
 * broker. With several listeners, the first. */
SAMSA_API const char *samsa_broker_listener(samsa_broker_t *broker);

/* The index-th listener of `listeners` (0: the first, as
 * samsa_broker_listener()) as "NAME://host:port" with the bound port, or
 * NULL when there is no such listener or the broker has not started. Owned
 * by the broker. Any thread once samsa_broker_start() returned. */
SAMSA_API const char *samsa_broker_listener_at(samsa_broker_t *broker, int index);

/*
 * Users of SASL listeners (SASL_PLAINTEXT, SASL_SSL): the broker keeps, in
 * the file named by its sasl.credentials.file, each user's salted SCRAM
 * credential (never the password), one per mechanism. PLAIN logins are
 * checked against them too. A running broker rereads the file when it
 * changes. The functions take the broker's configuration (only
 * sasl.credentials.file is read from it) and rewrite the file atomically
 * (mode 0600), serialised between processes by a lock file beside it.
 * User names and passwords are printable ASCII (SASLprep of other
 * characters is not supported); user names have no spaces.
 */

/* Sets user's password for mechanism ("SCRAM-SHA-256" or "SCRAM-SHA-512")
 * with a fresh random salt; iterations 0 means 4096 (the range is
 * 4096..16384). Returns SAMSA_ERR__INVALID_CONFIG (no
 * sasl.credentials.file), SAMSA_ERR__INVALID_ARG (bad mechanism, user,
 * password or iterations), SAMSA_ERR__NOT_SUPPORTED (non-ASCII),
 * SAMSA_ERR__STORAGE, SAMSA_ERR__NOMEM, with errstr filled. Any thread. */
SAMSA_API samsa_err_t samsa_broker_user_set(const samsa_conf_t *conf, const char *mechanism,
                                            const char *user, const char *password,
                                            int iterations, char *errstr, size_t errlen);

/* Removes user's credential for mechanism (NULL: for every mechanism).
 * Returns SAMSA_ERR__NOENT when there was none, or an error as
 * samsa_broker_user_set(). Any thread. */
SAMSA_API samsa_err_t samsa_broker_user_delete(const samsa_conf_t *conf, const char *mechanism,
                                               const char *user, char *errstr, size_t errlen);

/* Calls fn once per stored credential, in file order, with the user, the
 * mechanism and the iteration count (strings valid during the call). A
 * missing file lists nothing. Returns an error as samsa_broker_user_set()
 * (SAMSA_ERR__INVALID_CONFIG also for a malformed file). Any thread. */
SAMSA_API samsa_err_t samsa_broker_user_list(const samsa_conf_t *conf,
                                             void (*fn)(void *opaque, const char *user,
                                                        const char *mechanism, int iterations),
                                             void *opaque, char *errstr, size_t errlen);

/* The cluster id (22 characters, as Kafka makes them), owned by the broker. */
SAMSA_API const char *samsa_broker_cluster_id(samsa_broker_t *broker);

/* Stops serving: closes every connection (waiting requests are dropped),
 * stops the thread and waits for it. Partitions stay open until
 * samsa_broker_free(). Idempotent; call from the thread that owns the handle,
 * never from a callback running on the broker's thread. */
SAMSA_API void samsa_broker_stop(samsa_broker_t *broker);

/* Stops the broker if needed, flushes and closes every partition (writing
 * the clean-shutdown marker so the next start skips recovery), unlocks the
 * log dirs and frees everything, conf included. NULL is ignored. */
SAMSA_API void samsa_broker_free(samsa_broker_t *broker);

/* ---- producer ---- */
/*
 * The producer sends messages to topic partitions, batching them per
 * partition (batch.size, linger.ms), compressing batches (compression.type),
 * retrying within delivery.timeout.ms and, with enable.idempotence (the
 * default), without duplicates or reordering. Each handle runs one I/O
 * thread that owns all its broker connections; the application's threads
 * call the functions below, and every message's outcome comes back as a
 * delivery report from samsa_producer_poll() or samsa_producer_flush().
 *
 * When the queue is full (buffer.memory bytes or
 * queue.buffering.max.messages messages not yet reported), produce fails at
 * once with SAMSA_ERR__QUEUE_FULL under queue.full.behavior=error (the
 * default), or waits up to max.block.ms under queue.full.behavior=block.
 * A message counts against the queue until its report has been served, so
 * a thread that blocks in produce needs another thread to serve reports
 * (or it waits max.block.ms and gets SAMSA_ERR__QUEUE_FULL).
 *
 * Properties the producer knows (Java names, librdkafka aliases in
 * parentheses): bootstrap.servers (metadata.broker.list), client.id, acks
 * (request.required.acks), linger.ms (queue.buffering.max.ms), batch.size,
 * buffer.memory, queue.buffering.max.messages, queue.full.behavior
 * (error|block), max.block.ms, max.request.size (message.max.bytes),
 * compression.type (compression.codec), compression.level, retries
 * (message.send.max.retries), retry.backoff.ms, delivery.timeout.ms
 * (message.timeout.ms), enable.idempotence, request.timeout.ms
 * (socket.timeout.ms), max.in.flight.requests.per.connection
 * (max.in.flight), reconnect.backoff.ms, reconnect.backoff.max.ms,
 * socket.connection.setup.timeout.ms, metadata.max.age.ms
 * (topic.metadata.refresh.interval.ms), receive.message.max.bytes,
 * allow.auto.create.topics.
 *
 * Security, for every handle (producer, consumer, admin), with librdkafka's
 * names: security.protocol (plaintext, ssl, sasl_plaintext, sasl_ssl),
 * ssl.ca.location (empty: the system's CAs), ssl.certificate.location,
 * ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm
 * (https, the default, verifies the broker's host name; none),
 * enable.ssl.certificate.verification, sasl.mechanism (sasl.mechanisms:
 * PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), sasl.username, sasl.password.
 * A broker that refuses the login makes delivery reports, admin calls and
 * consumer poll return SAMSA_ERR_SASL_AUTHENTICATION_FAILED (or
 * SAMSA_ERR_UNSUPPORTED_SASL_MECHANISM); a failed TLS handshake (untrusted
 * certificate, host name mismatch, wrong port) SAMSA_ERR__AUTHENTICATION,
 * each with a message naming the broker and the reason.
 */
typedef struct samsa_producer samsa_producer_t;

/* One message header. name is NUL-terminated; value NULL is a null value. */
typedef struct samsa_header {
    const char *name;
    const void *value;
    size_t value_len;
} samsa_header_t;

/* The outcome of one message, passed to the delivery report callback.
 * Every pointer in it is valid only during the callback. */
typedef struct samsa_delivery_report {
    const char *topic;
    int32_t partition;    /* -1 when none was chosen */
    int64_t offset;       /* -1 when unknown (error, acks=0) */
    int64_t timestamp_ms; /* the record's timestamp (broker's for LogAppendTime) */
    samsa_err_t err;      /* SAMSA_ERR_NONE: the message is written */
    const char *errstr;   /* what failed and where (broker, topic, partition); "" on success */
    const void *key;      /* the message's key and value as given to produce */
    size_t key_len;
    const void *value;
    size_t value_len;
    void *msg_opaque;     /* as given to produce */
} samsa_delivery_report_t;

/* Called by samsa_producer_poll()/flush() on the thread that calls them,
 * once per message. It may produce more messages; it must not call poll,
 * flush, close or free on the same producer. */
typedef void samsa_delivery_report_fn(samsa_producer_t *p, const samsa_delivery_report_t *report,
                                      void *opaque);

/* A custom partitioner: returns the partition (0..partition_count-1) for a
 * message whose partition is -1; anything else fails the message with
 * SAMSA_ERR__INVALID_ARG. Runs on the producer's I/O thread: it must be
 * thread-safe against the application and must not block or call the
 * producer. key is NULL for a null key. */
typedef int32_t samsa_partitioner_fn(const char *topic, const void *key, size_t key_len,
                                     int32_t partition_count, void *opaque);

typedef struct samsa_producer_callbacks {
    samsa_delivery_report_fn *delivery_report; /* may be NULL: reports are dropped */
    samsa_partitioner_fn *partitioner;         /* NULL: Kafka's default (murmur2 / sticky) */
    void *opaque;                              /* passed to both */
} samsa_producer_callbacks_t;

/* Creates a producer from n configuration properties (Kafka names:
 * bootstrap.servers, acks, linger.ms, batch.size, compression.type,
 * enable.idempotence, ...; listed above). keys and values are read during
 * the call only; callbacks (may be NULL) is copied. Starts the I/O thread;
 * connecting happens in the background. Returns NULL with errstr (errlen
 * bytes) saying which property is wrong and what it allows, or why the
 * thread could not start. Any thread. */
SAMSA_API samsa_producer_t *samsa_producer_new_kv(const char *const *keys,
                                                  const char *const *values, size_t n,
                                                  const samsa_producer_callbacks_t *callbacks,
                                                  char *errstr, size_t errlen);

/* The same from a samsa_conf_t. On success the producer owns conf and frees
 * it (the caller must not use it again); on failure (NULL, errstr filled)
 * conf stays the caller's. Any thread. */
SAMSA_API samsa_producer_t *samsa_producer_new(samsa_conf_t *conf,
                                               const samsa_producer_callbacks_t *callbacks,
                                               char *errstr, size_t errlen);

/* Flags of samsa_produce_args_t. */
#define SAMSA_MSG_F_LEND 0x1 /* key and value are not copied: the caller keeps them alive
                                and unchanged until the message's delivery report */

typedef struct samsa_produce_args {
    const char *topic;        /* copied */
    int32_t partition;        /* -1: the partitioner picks */
    const void *key;          /* NULL: null key */
    size_t key_len;
    const void *value;        /* NULL: null value (a tombstone) */
    size_t value_len;
    const samsa_header_t *headers; /* copied; may be NULL when header_count is 0 */
    size_t header_count;
    int64_t timestamp_ms;     /* 0: now */
    int flags;                /* SAMSA_MSG_F_* */
    void *msg_opaque;         /* given back in the delivery report */
} samsa_produce_args_t;

/* Queues one message. Returns SAMSA_ERR_NONE, and then exactly one delivery
 * report follows; or an error and no report: SAMSA_ERR__INVALID_ARG (no
 * topic, a NULL pointer with a length, partition below -1),
 * SAMSA_ERR__MSG_TOO_LARGE (larger than max.request.size),
 * SAMSA_ERR__QUEUE_FULL, SAMSA_ERR__NOMEM, SAMSA_ERR__DESTROYED (after
 * close). args is read during the call only (see SAMSA_MSG_F_LEND). Any
 * thread. */
SAMSA_API samsa_err_t samsa_producer_produce(samsa_producer_t *p, const samsa_produce_args_t *args);

/* samsa_producer_produce with the arguments spelled out. */
SAMSA_API samsa_err_t samsa_producer_send(samsa_producer_t *p, const char *topic,
                                          int32_t partition, const void *key, size_t key_len,
                                          const void *value, size_t value_len,
                                          const samsa_header_t *headers, size_t header_count,
                                          int64_t timestamp_ms, int flags, void *msg_opaque);

/* Messages to one topic for samsa_producer_produce_batch. */
typedef struct samsa_produce_batch {
    const char *topic;
    int32_t partition;         /* every message's when partitions is NULL (-1: the partitioner picks) */
    const int32_t *partitions; /* NULL, or message i's partition at [i] */
    const void *values;        /* the values one after the other */
    const int32_t *value_lens; /* message i's value length, or -1 for a null value (no bytes) */
    const void *keys;          /* the keys one after the other; NULL with key_lens NULL: null keys */
    const int32_t *key_lens;   /* message i's key length, or -1 for a null key (no bytes) */
    size_t count;              /* messages */
    int64_t timestamp_ms;      /* every message's (0: now) */
} samsa_produce_batch_t;

/* Queues b->count messages to b->topic, in order, as that many calls of
 * samsa_producer_produce would, in one call: for bindings whose cost is
 * the call itself. msg_opaque is NULL in every report; nothing is lent:
 * b and what it points to are read during the call only (copied).
 * Returns how many messages were queued, from the first; each of them gets
 * exactly one delivery report. *err (err may be NULL) is SAMSA_ERR_NONE
 * when all were queued, or the error that stopped at message number
 * <return value>, which is not queued, nor is any after it:
 * SAMSA_ERR__QUEUE_FULL, SAMSA_ERR__MSG_TOO_LARGE, SAMSA_ERR__NOMEM,
 * SAMSA_ERR__DESTROYED (see samsa_producer_produce). Arguments are checked
 * before anything is queued: SAMSA_ERR__INVALID_ARG with 0 queued for a
 * NULL p, b, topic or value_lens (with count > 0), an empty topic or one
 * longer than 249 bytes, a partition or length below -1, a positive value
 * length with NULL values, or only one of keys and key_lens NULL. Under
 * queue.full.behavior=block a full queue stops the batch only after
 * max.block.ms, as it does samsa_producer_produce. Any thread. */
SAMSA_API size_t samsa_producer_produce_batch(samsa_producer_t *p, const samsa_produce_batch_t *b,
                                              samsa_err_t *err);

/* Room left in a producer's queue, from samsa_producer_room. */
typedef struct samsa_producer_room {
    size_t messages;               /* more messages that queue.buffering.max.messages allows now */
    size_t bytes;                  /* more bytes that buffer.memory allows now */
    size_t message_overhead_bytes; /* what a message to the topic counts against buffer.memory
                                      beside its key and value (without headers, copied) */
    size_t max_request_bytes;      /* max.request.size */
} samsa_producer_room_t;

/* Fills *room with how much more fits in p's queue now: a message to topic
 * with key and value of k and v bytes and no headers is queued by
 * samsa_producer_produce (or _produce_batch) when messages >= 1 and bytes
 * >= message_overhead_bytes + k + v, and is not refused as too large when
 * k + v + 1024 <= max_request_bytes (a larger one may or may not be).
 * While no thread produces on p, room only grows (as reports are served).
 * Returns SAMSA_ERR_NONE; SAMSA_ERR__INVALID_ARG for a NULL argument
 * (*room untouched); SAMSA_ERR__DESTROYED after close (*room filled). Any
 * thread. */
SAMSA_API samsa_err_t samsa_producer_room(samsa_producer_t *p, const char *topic,
                                          samsa_producer_room_t *room);

/* Serves delivery reports: waits up to timeout_ms (-1: forever, 0: not at
 * all) for the first, then calls the callback for every report ready.
 * Returns the number served. Any thread; one thread at a time serves. */
SAMSA_API int samsa_producer_poll(samsa_producer_t *p, int timeout_ms);

/* Sends everything queued at once (ignoring linger.ms) and serves reports
 * until no message is outstanding (messages other threads produce
 * meanwhile count too), or timeout_ms (-1: forever) passes. Returns
 * SAMSA_ERR_NONE or SAMSA_ERR__TIMED_OUT. Any thread. */
SAMSA_API samsa_err_t samsa_producer_flush(samsa_producer_t *p, int timeout_ms);

/* Number of messages produced and not yet reported (0 for a NULL p). Any
 * thread. */
SAMSA_API size_t samsa_producer_outstanding(samsa_producer_t *p);

/* Flushes for up to timeout_ms, then stops the I/O thread: messages still
 * undelivered are reported with SAMSA_ERR__DESTROYED, and every remaining
 * report is served before it returns. Returns SAMSA_ERR_NONE, or
 * SAMSA_ERR__TIMED_OUT when some messages had to be failed. Afterwards
 * produce returns SAMSA_ERR__DESTROYED. Call once, from one thread, with no
 * other call on p running. */
SAMSA_API samsa_err_t samsa_producer_close(samsa_producer_t *p, int timeout_ms);

/* Closes (with timeout 0 when not closed yet) and frees the producer.
 * A NULL p is ignored. No other call on p may run or follow. */
SAMSA_API void samsa_producer_free(samsa_producer_t *p);

/* ---- admin ---- */
/*
 * The admin client manages topics, partitions, records, groups and reads
 * configurations. A handle owns one I/O thread with its broker connections;
 * every call below blocks its caller until the cluster answered or
 * timeout_ms (at least 1) passed, and may be made from any thread, also
 * from several at once.
 *
 * Where requests go: Metadata, CreateTopics, DeleteTopics, CreatePartitions
 * and topic DescribeConfigs to any broker (Kafka forwards to its
 * controller); ListOffsets and DeleteRecords to each partition's leader;
 * group requests to the group's coordinator (found with FindCoordinator);
 * broker DescribeConfigs to that broker. Requests that fail on the way
 * (lost connection, a leader or coordinator that moved) are retried until
 * timeout_ms.
 *
 * Return values: SAMSA_ERR_NONE when the cluster answered; then every
 * result carries its own err (a Kafka error code, 0 for success) and
 * errstr saying what failed and where (broker, topic, partition). Any other
 * value fails the whole call and *results is NULL:
 * SAMSA_ERR__INVALID_ARG, SAMSA_ERR__NOMEM, SAMSA_ERR__TIMED_OUT (no answer
 * within timeout_ms), SAMSA_ERR__BAD_MSG, SAMSA_ERR__NOT_SUPPORTED (the
 * broker does not speak the API), or a Kafka error that concerns the whole
 * request; samsa_admin_last_error() tells why.
 *
 * Results belong to the caller, are one allocation each, and are freed with
 * the free function named at their type; every string and array in them
 * lives as long as the result.
 *
 * Properties the admin client knows: bootstrap.servers, client.id,
 * request.timeout.ms, reconnect.backoff.ms, reconnect.backoff.max.ms,
 * socket.connection.setup.timeout.ms, metadata.max.age.ms,
 * retry.backoff.ms, receive.message.max.bytes, the security properties
 * listed for the producer (other producer properties are accepted and
 * ignored).
 */
typedef struct samsa_admin samsa_admin_t;

/* Creates an admin client from n properties (read during the call only)
 * and starts its I/O thread; connecting happens in the background. Returns
 * NULL with errstr (errlen bytes, may be NULL) naming the wrong property or
 * why the thread could not start. Any thread. */
SAMSA_API samsa_admin_t *samsa_admin_new_kv(const char *const *keys, const char *const *values,
                                            size_t n, char *errstr, size_t errlen);

/* The same from a conf: on success the admin client owns conf and frees it;
 * on failure (NULL, errstr filled) conf stays the caller's. Any thread. */
SAMSA_API samsa_admin_t *samsa_admin_new(samsa_conf_t *conf, char *errstr, size_t errlen);

/* Stops the I/O thread, closes the connections and frees the handle. No
 * call on a may run or follow. NULL is ignored. */
SAMSA_API void samsa_admin_free(samsa_admin_t *a);

/* Why the last admin call made by this thread failed ("" after a call that
 * succeeded). The string belongs to the thread and is overwritten by its
 * next admin call. */
SAMSA_API const char *samsa_admin_last_error(void);

/* A topic property for samsa_admin_create_topics (both strings read during
 * the call only). */
typedef struct samsa_topic_config {
    const char *name;
    const char *value;
} samsa_topic_config_t;

typedef struct samsa_new_topic {
    const char *name;
    int32_t partitions;         /* -1: the broker's num.partitions */
    int16_t replication_factor; /* -1: the broker's default.replication.factor */
    const samsa_topic_config_t *configs;
    size_t config_count;
} samsa_new_topic_t;

/* The outcome for one topic. Free the array with samsa_topic_results_free(). */
typedef struct samsa_topic_result {
    const char *topic;
    samsa_err_t err;    /* SAMSA_ERR_NONE: done (or, validate_only, would be done) */
    const char *errstr; /* "" on success */
} samsa_topic_result_t;

SAMSA_API void samsa_topic_results_free(samsa_topic_result_t *results);

/* Creates n topics (validate_only non-zero: only checks that they could
 * be). *results gets n results in the order of topics: e.g.
 * SAMSA_ERR_TOPIC_ALREADY_EXISTS, SAMSA_ERR_INVALID_TOPIC_EXCEPTION,
 * SAMSA_ERR_INVALID_PARTITIONS, SAMSA_ERR_INVALID_REPLICATION_FACTOR,
 * SAMSA_ERR_INVALID_CONFIG. */
SAMSA_API samsa_err_t samsa_admin_create_topics(samsa_admin_t *a, const samsa_new_topic_t *topics,
                                                size_t n, int validate_only, int timeout_ms,
                                                samsa_topic_result_t **results);

/* Deletes n topics; *results as for create (SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION
 * for a topic that does not exist). */
SAMSA_API samsa_err_t samsa_admin_delete_topics(samsa_admin_t *a, const char *const *topics,
                                                size_t n, int timeout_ms,
                                                samsa_topic_result_t **results);

typedef struct samsa_new_partitions {
    const char *topic;
    int32_t total_count; /* the topic's partition count afterwards */
} samsa_new_partitions_t;

/* Grows n topics to total_count partitions each; *results as for create
 * (SAMSA_ERR_INVALID_PARTITIONS when total_count is not above the current
 * count). */
SAMSA_API samsa_err_t samsa_admin_create_partitions(samsa_admin_t *a,
                                                    const samsa_new_partitions_t *partitions,
                                                    size_t n, int validate_only, int timeout_ms,
                                                    samsa_topic_result_t **results);

typedef struct samsa_broker_info {
    int32_t node_id;
    const char *host;
    int port;
    const char *rack; /* NULL: none */
} samsa_broker_info_t;

typedef struct samsa_partition_info {
    int32_t partition;
    samsa_err_t err;
    int32_t leader; /* -1: none */
    int32_t leader_epoch;
    const int32_t *replicas;
    size_t replica_count;
    const int32_t *isr;
    size_t isr_count;
    const int32_t *offline_replicas;
    size_t offline_replica_count;
} samsa_partition_info_t;

typedef struct samsa_topic_info {
    const char *name;
    uint8_t topic_id[16]; /* all zero when the broker does not say */
    int internal;         /* non-zero for __consumer_offsets and the like */
    samsa_err_t err;      /* SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION for a missing topic */
    const char *errstr;
    samsa_partition_info_t *partitions; /* by partition number */
    size_t partition_count;
} samsa_topic_info_t;

/* What Metadata says. Free with samsa_cluster_info_free(). */
typedef struct samsa_cluster_info {
    const char *cluster_id; /* "" when the broker does not say */
    int32_t controller_id;  /* -1: unknown */
    samsa_broker_info_t *brokers; /* by node id */
    size_t broker_count;
    samsa_topic_info_t *topics;   /* by name */
    size_t topic_count;
} samsa_cluster_info_t;

SAMSA_API void samsa_cluster_info_free(samsa_cluster_info_t *info);

/* The cluster id, the controller and the brokers (no topics). */
SAMSA_API samsa_err_t samsa_admin_describe_cluster(samsa_admin_t *a, int timeout_ms,
                                                   samsa_cluster_info_t **info);

/* The same with topics: the n named ones (missing ones carry
 * SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION; topics are never created by this),
 * or every topic when n is 0 (internal ones only when include_internal). */
SAMSA_API samsa_err_t samsa_admin_list_topics(samsa_admin_t *a, const char *const *topics,
                                              size_t n, int include_internal, int timeout_ms,
                                              samsa_cluster_info_t **info);

/* Offsets. */
#define SAMSA_OFFSET_SPEC_LATEST (-1)        /* the high watermark */
#define SAMSA_OFFSET_SPEC_EARLIEST (-2)      /* the log start offset */
#define SAMSA_OFFSET_SPEC_MAX_TIMESTAMP (-3) /* the record with the largest timestamp */

/* One partition of a topic, with an offset where one is meant. */
typedef struct samsa_topic_partition {
    const char *topic;
    int32_t partition;
    int64_t offset;   /* -1 when none (no committed offset, unknown position) */
    samsa_err_t err;  /* per-partition outcome where a call reports one */
} samsa_topic_partition_t;

typedef struct samsa_partition_offset {
    const char *topic;
    int32_t partition;
    int64_t offset; /* what it means depends on the call */
} samsa_partition_offset_t;

/* The outcome for one partition. Free the array with
 * samsa_offset_results_free(). */
typedef struct samsa_offset_result {
    const char *topic;
    int32_t partition;
    samsa_err_t err;
    const char *errstr;   /* "" on success */
    int64_t offset;       /* -1: none */
    int64_t timestamp_ms; /* list_offsets by time (or max): the record's; else -1 */
    int32_t leader_epoch; /* -1: unknown */
    const char *metadata; /* group offsets: the commit's metadata; else NULL */
} samsa_offset_result_t;

SAMSA_API void samsa_offset_results_free(samsa_offset_result_t *results);

/* For each of n partitions, offset is a spec: SAMSA_OFFSET_SPEC_LATEST,
 * SAMSA_OFFSET_SPEC_EARLIEST, SAMSA_OFFSET_SPEC_MAX_TIMESTAMP or a
 * timestamp in ms (>= 0: the first offset whose record's timestamp is at
 * least that; offset -1 when there is none). Asks each partition's leader.
 * *results: n results in order. */
SAMSA_API samsa_err_t samsa_admin_list_offsets(samsa_admin_t *a,
                                               const samsa_partition_offset_t *specs, size_t n,
                                               int timeout_ms, samsa_offset_result_t **results);

/* Deletes the records before offset (-1: the high watermark, so all) in
 * each of n partitions. *results: n results in order, offset is the new
 * low watermark. */
SAMSA_API samsa_err_t samsa_admin_delete_records(samsa_admin_t *a,
                                                 const samsa_partition_offset_t *before, size_t n,
                                                 int timeout_ms, samsa_offset_result_t **results);

/* A group's committed offsets: of the n partitions given, or of every
 * partition it has committed for when n is 0 (partitions may be NULL
 * then). *results gets *count results (offset -1: nothing committed). */
SAMSA_API samsa_err_t samsa_admin_list_group_offsets(samsa_admin_t *a, const char *group,
                                                     const samsa_topic_partition_t *partitions,
                                                     size_t n, int timeout_ms,
                                                     samsa_offset_result_t **results,
                                                     size_t *count);

/* Commits n offsets for group as an admin does: generation -1 and no
 * member, which the coordinator accepts only while the group has no
 * members (else SAMSA_ERR_UNKNOWN_MEMBER_ID or the like per partition).
 * Creates the group when it does not exist. *results: n results in order. */
SAMSA_API samsa_err_t samsa_admin_alter_group_offsets(samsa_admin_t *a, const char *group,
                                                      const samsa_partition_offset_t *offsets,
                                                      size_t n, int timeout_ms,
                                                      samsa_offset_result_t **results);

/* Groups. */
typedef struct samsa_group_listing {
    const char *group_id;
    const char *protocol_type; /* "consumer" for consumer groups; "" for offsets only */
    const char *state;         /* "Stable", "Empty" ...; "" when the broker does not say */
    int32_t coordinator_id;    /* the broker that listed it */
} samsa_group_listing_t;

/* Free with samsa_group_list_free(). */
typedef struct samsa_group_list {
    samsa_group_listing_t *groups; /* by group id */
    size_t group_count;
} samsa_group_list_t;

SAMSA_API void samsa_group_list_free(samsa_group_list_t *list);

/* Every group of every broker (ListGroups is asked of each). */
SAMSA_API samsa_err_t samsa_admin_list_groups(samsa_admin_t *a, int timeout_ms,
                                              samsa_group_list_t **list);

typedef struct samsa_group_member {
    const char *member_id;
    const char *group_instance_id; /* NULL: none */
    const char *client_id;
    const char *client_host;
    const void *metadata;   /* the member's protocol metadata as sent */
    size_t metadata_len;
    const void *assignment; /* its assignment bytes as the leader made them */
    size_t assignment_len;
    samsa_topic_partition_t *assigned; /* consumer groups: assignment decoded */
    size_t assigned_count;
} samsa_group_member_t;

/* Free the array with samsa_group_descriptions_free(). */
typedef struct samsa_group_description {
    const char *group_id;
    samsa_err_t err;
    const char *errstr;
    const char *state;         /* "Stable", "Empty", "Dead" ... */
    const char *protocol_type; /* "consumer" ... */
    const char *protocol;      /* the assignor chosen, e.g. "range" */
    int32_t coordinator_id;
    samsa_group_member_t *members;
    size_t member_count;
} samsa_group_description_t;

SAMSA_API void samsa_group_descriptions_free(samsa_group_description_t *groups);

/* Describes n groups, each asked of its coordinator. *results: n in order;
 * a group that does not exist is "Dead" with no members, and its err is
 * SAMSA_ERR_GROUP_ID_NOT_FOUND (brokers before DescribeGroups v6: none). */
SAMSA_API samsa_err_t samsa_admin_describe_groups(samsa_admin_t *a, const char *const *groups,
                                                  size_t n, int timeout_ms,
                                                  samsa_group_description_t **results);

/* Configurations. The resource types carry Kafka's numbers. */
typedef enum samsa_resource_type {
    SAMSA_RESOURCE_TOPIC = 2,
    SAMSA_RESOURCE_BROKER = 4,
} samsa_resource_type_t;

/* Where a value comes from (Kafka's numbers). */
typedef enum samsa_config_source {
    SAMSA_CONFIG_SOURCE_UNKNOWN = 0,
    SAMSA_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
    SAMSA_CONFIG_SOURCE_DYNAMIC_BROKER = 2,
    SAMSA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    SAMSA_CONFIG_SOURCE_STATIC_BROKER = 4,
    SAMSA_CONFIG_SOURCE_DEFAULT = 5,
    SAMSA_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER = 6,
} samsa_config_source_t;

/* "DEFAULT_CONFIG", "STATIC_BROKER_CONFIG" ... as Kafka's tools print them;
 * "UNKNOWN" for others. The string is static. */
SAMSA_API const char *samsa_config_source_name(samsa_config_source_t source);

typedef struct samsa_config_resource {
    samsa_resource_type_t type;
    const char *name; /* topic name, or broker id ("1") */
} samsa_config_resource_t;

typedef struct samsa_config_entry {
    const char *name;
    const char *value; /* NULL for a sensitive or unset value */
    int read_only;
    int is_default;
    int is_sensitive;
    samsa_config_source_t source;
} samsa_config_entry_t;

/* Free the array with samsa_config_results_free(). */
typedef struct samsa_config_result {
    samsa_resource_type_t type;
    const char *name;
    samsa_err_t err;
    const char *errstr;
    samsa_config_entry_t *entries; /* by name */
    size_t entry_count;
} samsa_config_result_t;

SAMSA_API void samsa_config_results_free(samsa_config_result_t *results);

/* Every configuration entry of n resources; a broker's is asked of that
 * broker. *results: n in order. */
SAMSA_API samsa_err_t samsa_admin_describe_configs(samsa_admin_t *a,
                                                   const samsa_config_resource_t *resources,
                                                   size_t n, int timeout_ms,
                                                   samsa_config_result_t **results);

/* ---- consumer ---- */
/*
 * The consumer reads messages from topic partitions, either as a member of
 * a consumer group (samsa_consumer_subscribe(): Kafka's classic group
 * protocol, the group leader assigning partitions with range, roundrobin or
 * cooperative-sticky) or from partitions the application names
 * (samsa_consumer_assign()). Each handle runs one I/O thread that owns its
 * connections, the group membership (heartbeats included) and the
 * fetcher, which prefetches up to queued.max.messages.kbytes while the
 * application works. Messages, errors and rebalance notifications come
 * back through samsa_consumer_poll() on the application's thread.
 *
 * Properties the consumer knows, beside the connection ones listed for the
 * producer: group.id, group.instance.id (a static member, KIP-345: close
 * does not leave the group, so that a consumer with the same id coming back
 * within session.timeout.ms gets its partitions again without a rebalance;
 * a newer consumer with the id fences this one, which poll reports as
 * SAMSA_ERR_FENCED_INSTANCE_ID, and it stops taking part in the group),
 * partition.assignment.strategy (comma-separated: range,
 * roundrobin, cooperative-sticky; default "range,cooperative-sticky"),
 * auto.offset.reset (earliest|latest|none; librdkafka's smallest|largest),
 * enable.auto.commit, auto.commit.interval.ms, session.timeout.ms,
 * heartbeat.interval.ms, max.poll.interval.ms, fetch.min.bytes,
 * fetch.max.wait.ms (fetch.wait.max.ms), max.partition.fetch.bytes,
 * fetch.max.bytes, queued.max.messages.kbytes, isolation.level.
 *
 * Offsets: the position of a partition is the offset of the next message
 * poll returns for it. Auto commit (and samsa_consumer_commit() with NULL)
 * commits the positions, i.e. what poll has returned, as the Java client
 * does.
 */
typedef struct samsa_consumer samsa_consumer_t;


/* A list of partitions: count entries at items. */
typedef struct samsa_partition_list {
    samsa_topic_partition_t *items;
    size_t count;
} samsa_partition_list_t;

/* Timestamp types of a consumed message. */
#define SAMSA_TIMESTAMP_CREATE_TIME 0
#define SAMSA_TIMESTAMP_LOG_APPEND_TIME 1

/* A consumed message, or an error (err set: then topic/partition say where
 * when known, errstr what failed and where, offset is -1 or the offset the
 * error concerns, and there is no payload).
 *
 * Lifetime: every message poll returns belongs to the application, which
 * frees it with samsa_message_free() (from any thread, in any order, also
 * after samsa_consumer_free()). Until then everything it points to (key,
 * value, headers, topic, errstr) stays valid and unchanged. Payloads are not
 * copied per message: they point into the fetch response's record bytes
 * (or a batch's decompressed records), which are shared by reference count
 * between the messages of that response, so holding one message holds its
 * whole buffer in memory (and counts against queued.max.messages.kbytes
 * until poll returns it; held messages are outside that bound). */
typedef struct samsa_message {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    int timestamp_type;            /* SAMSA_TIMESTAMP_* */
    const void *key;               /* NULL: null key */
    size_t key_len;
    const void *value;             /* NULL: null value */
    size_t value_len;
    const samsa_header_t *headers; /* header_count entries */
    size_t header_count;
    int32_t leader_epoch;          /* of the batch; -1 when unknown */
    samsa_err_t err;
    const char *errstr;            /* "" when err is SAMSA_ERR_NONE */
} samsa_message_t;

/* Frees a message returned by samsa_consumer_poll() (NULL is ignored).
 * Any thread; once per message. */
SAMSA_API void samsa_message_free(samsa_message_t *msg);

/* A rebalance changed the partitions assigned to the consumer. Called from
 * samsa_consumer_poll() on the polling thread. With eager assignors (range,
 * roundrobin) every partition is revoked before the group rebalances and
 * the new assignment follows; with cooperative-sticky only the partitions
 * that move to another member are revoked. The list and its strings are
 * valid during the call only. The callback may call commit (which then
 * commits before the partitions go), position, committed, seek, pause and
 * resume; it must not poll, close or free the consumer. */
typedef void samsa_rebalance_fn(samsa_consumer_t *c, int assigned,
                                const samsa_partition_list_t *partitions, void *opaque);

/* The outcome of a commit (auto commit included; err 0 when every
 * partition was committed). offsets holds each partition with its own err.
 * Called from samsa_consumer_poll() (or from samsa_consumer_commit() for a
 * synchronous commit) on the calling thread; valid during the call only. */
typedef void samsa_commit_fn(samsa_consumer_t *c, samsa_err_t err,
                             const samsa_partition_list_t *offsets, void *opaque);

typedef struct samsa_consumer_callbacks {
    samsa_rebalance_fn *rebalance; /* may be NULL */
    samsa_commit_fn *commit;       /* may be NULL */
    void *opaque;                  /* passed to both */
} samsa_consumer_callbacks_t;

/* Creates a consumer from n properties (keys/values read during the call;
 * callbacks, may be NULL, copied) and starts its I/O thread. Returns NULL
 * with errstr (errlen bytes) naming the bad property or the failure. Any
 * thread. */
SAMSA_API samsa_consumer_t *samsa_consumer_new_kv(const char *const *keys,
                                                  const char *const *values, size_t n,
                                                  const samsa_consumer_callbacks_t *callbacks,
                                                  char *errstr, size_t errlen);

/* The same from a samsa_conf_t: on success the consumer owns conf and frees
 * it; on failure conf stays the caller's. Any thread. */
SAMSA_API samsa_consumer_t *samsa_consumer_new(samsa_conf_t *conf,
                                               const samsa_consumer_callbacks_t *callbacks,
                                               char *errstr, size_t errlen);

/* Joins the group (group.id must be set) subscribed to topics (n names,
 * copied). A name starting with '^' is a POSIX extended regular expression
 * matched against every topic in the cluster's metadata, refreshed every
 * metadata.max.age.ms. Replaces an earlier subscription or assignment.
 * Returns SAMSA_ERR_NONE, SAMSA_ERR__INVALID_ARG (no topics, a bad
 * pattern), SAMSA_ERR__INVALID_CONFIG (no group.id), SAMSA_ERR__NOMEM or
 * SAMSA_ERR__DESTROYED. Any thread; waits for the I/O thread, not for the
 * group. */
SAMSA_API samsa_err_t samsa_consumer_subscribe(samsa_consumer_t *c, const char *const *topics,
                                               size_t n);

/* Leaves the group (if any) and stops consuming. Any thread. */
SAMSA_API samsa_err_t samsa_consumer_unsubscribe(samsa_consumer_t *c);

/* Consumes exactly the partitions listed (copied; an offset >= 0 starts
 * there, -1 starts from the committed offset when group.id is set, else by
 * auto.offset.reset; -2 earliest; -3 latest), without joining a group. An
 * empty or NULL list stops consuming. Replaces an earlier subscription or
 * assignment. Returns SAMSA_ERR_NONE, SAMSA_ERR__INVALID_ARG,
 * SAMSA_ERR__NOMEM or SAMSA_ERR__DESTROYED. Any thread. */
SAMSA_API samsa_err_t samsa_consumer_assign(samsa_consumer_t *c,
                                            const samsa_partition_list_t *partitions);

/* The partitions currently assigned, into *out (free with
 * samsa_partition_list_free; offsets are positions). Any thread. */
SAMSA_API samsa_err_t samsa_consumer_assignment(samsa_consumer_t *c, samsa_partition_list_t *out);

/* Frees a list the consumer allocated (items and strings), leaving it empty. */
SAMSA_API void samsa_partition_list_free(samsa_partition_list_t *list);

/* Waits up to timeout_ms (-1: forever, 0: not at all) for the next message
 * or error and returns it (NULL when none came), delivering rebalance and
 * commit callbacks first on this thread. The caller owns the message (see
 * samsa_message_t). One thread polls a consumer at a time. */
SAMSA_API samsa_message_t *samsa_consumer_poll(samsa_consumer_t *c, int timeout_ms);

/* Commits offsets (NULL: the positions of every assigned partition) to the
 * group's coordinator. With async 0 it waits for the answer and
 * returns its outcome (SAMSA_ERR_NONE, the first partition error, or a
 * request error) and calls the commit callback before returning; with async
 * non-zero it returns SAMSA_ERR_NONE once queued, and the outcome comes to the
 * commit callback from a later poll. SAMSA_ERR__INVALID_CONFIG without
 * group.id; SAMSA_ERR__STATE when nothing is to be committed. Any thread
 * (the callback then runs on the calling thread for sync commits). */
SAMSA_API samsa_err_t samsa_consumer_commit(samsa_consumer_t *c,
                                            const samsa_partition_list_t *offsets, int async);

/* Fills each entry's offset of partitions with the group's committed
 * offset (-1 when none) and err. Waits up to timeout_ms. Returns
 * SAMSA_ERR_NONE, a request error, SAMSA_ERR__TIMED_OUT or
 * SAMSA_ERR__INVALID_CONFIG (no group.id). Any thread. */
SAMSA_API samsa_err_t samsa_consumer_committed(samsa_consumer_t *c,
                                               samsa_partition_list_t *partitions,
                                               int timeout_ms);

/* Fills each entry's offset with the partition's position (-1 when not
 * known yet, err SAMSA_ERR__STATE for a partition not assigned). Any
 * thread. */
SAMSA_API samsa_err_t samsa_consumer_position(samsa_consumer_t *c,
                                              samsa_partition_list_t *partitions);

/* Special offsets for samsa_consumer_seek. */
#define SAMSA_OFFSET_BEGINNING (-2)
#define SAMSA_OFFSET_END (-3)

/* Moves an assigned partition's position to offset (>= 0, or
 * SAMSA_OFFSET_BEGINNING / SAMSA_OFFSET_END, looked up with ListOffsets).
 * Prefetched messages of the partition are dropped. Returns
 * SAMSA_ERR_NONE, SAMSA_ERR__STATE when the partition is not assigned,
 * SAMSA_ERR__INVALID_ARG. Any thread. */
SAMSA_API samsa_err_t samsa_consumer_seek(samsa_consumer_t *c, const char *topic,
                                          int32_t partition, int64_t offset);

/* Moves the position to the first message with a timestamp at or after
 * timestamp_ms (the end when there is none), looked up with ListOffsets.
 * Same returns as samsa_consumer_seek. Any thread. */
SAMSA_API samsa_err_t samsa_consumer_seek_timestamp(samsa_consumer_t *c, const char *topic,
                                                    int32_t partition, int64_t timestamp_ms);

/* Stops (pause) or restarts (resume) fetching the listed partitions;
 * prefetched messages of paused partitions are held back until resumed.
 * Entries not assigned get err SAMSA_ERR__STATE. Any thread. */
SAMSA_API samsa_err_t samsa_consumer_pause(samsa_consumer_t *c, samsa_partition_list_t *partitions);
SAMSA_API samsa_err_t samsa_consumer_resume(samsa_consumer_t *c,
                                            samsa_partition_list_t *partitions);

/* Commits the positions when enable.auto.commit is set, leaves the group
 * (LeaveGroup) and stops the I/O thread; pending callbacks are dropped.
 * Returns SAMSA_ERR_NONE or the final commit's error. Call once, with no
 * other call on c running. */
SAMSA_API samsa_err_t samsa_consumer_close(samsa_consumer_t *c);

/* Closes (when not closed yet) and frees the consumer. NULL is ignored. */
SAMSA_API void samsa_consumer_free(samsa_consumer_t *c);

#ifdef __cplusplus
}
#endif
#endif /* SAMSA_H */
