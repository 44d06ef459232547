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
 * log (page cache). With log.flush.on.ack=false acks=all behaves as acks=1,
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
 * broker. */
SAMSA_API const char *samsa_broker_listener(samsa_broker_t *broker);

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

#ifdef __cplusplus
}
#endif
#endif /* SAMSA_H */
