/*
 * err.c: names and descriptions of samsa_err_t codes, and the version string.
 */
#include "samsa.h"

#define STR2(x) #x
#define STR(x) STR2(x)

SAMSA_API const char *samsa_version(void)
{
    return STR(SAMSA_VERSION_MAJOR) "." STR(SAMSA_VERSION_MINOR) "." STR(SAMSA_VERSION_PATCH);
}

SAMSA_API const char *samsa_err_name(samsa_err_t err)
{
    switch (err) {
#define NAME_CASE(name, value)                                                 \
    case SAMSA_ERR_##name:                                                     \
        return #name;
        SAMSA_ERRORS(NAME_CASE)
#undef NAME_CASE
    }
    return "UNKNOWN";
}

SAMSA_API const char *samsa_err_str(samsa_err_t err)
{
    switch (err) {
    case SAMSA_ERR_NONE: return "Success";
    case SAMSA_ERR_UNKNOWN_SERVER_ERROR: return "Unexpected server error";
    case SAMSA_ERR_OFFSET_OUT_OF_RANGE: return "Offset out of range";
    case SAMSA_ERR_CORRUPT_MESSAGE: return "Corrupt message (CRC or format check failed)";
    case SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION: return "Unknown topic or partition";
    case SAMSA_ERR_LEADER_NOT_AVAILABLE: return "Leader not available";
    case SAMSA_ERR_NOT_LEADER_OR_FOLLOWER: return "Not leader or follower for partition";
    case SAMSA_ERR_REQUEST_TIMED_OUT: return "Request timed out on the broker";
    case SAMSA_ERR_MESSAGE_TOO_LARGE: return "Message too large";
    case SAMSA_ERR_NETWORK_EXCEPTION: return "Network error";
    case SAMSA_ERR_COORDINATOR_LOAD_IN_PROGRESS: return "Coordinator is loading";
    case SAMSA_ERR_COORDINATOR_NOT_AVAILABLE: return "Coordinator not available";
    case SAMSA_ERR_NOT_COORDINATOR: return "Not coordinator";
    case SAMSA_ERR_INVALID_TOPIC_EXCEPTION: return "Invalid topic name";
    case SAMSA_ERR_ILLEGAL_GENERATION: return "Illegal group generation";
    case SAMSA_ERR_UNKNOWN_MEMBER_ID: return "Unknown group member";
    case SAMSA_ERR_REBALANCE_IN_PROGRESS: return "Group rebalance in progress";
    case SAMSA_ERR_UNSUPPORTED_VERSION: return "Unsupported API version";
    case SAMSA_ERR_TOPIC_ALREADY_EXISTS: return "Topic already exists";
    case SAMSA_ERR_INVALID_PARTITIONS: return "Invalid number of partitions";
    case SAMSA_ERR_INVALID_CONFIG: return "Invalid configuration";
    case SAMSA_ERR_INVALID_REQUEST: return "Invalid request";
    case SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER: return "Out of order sequence number";
    case SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER: return "Duplicate sequence number";
    case SAMSA_ERR_INVALID_PRODUCER_EPOCH: return "Invalid producer epoch";
    case SAMSA_ERR_KAFKA_STORAGE_ERROR: return "Storage error on the broker";
    case SAMSA_ERR_SASL_AUTHENTICATION_FAILED: return "SASL authentication failed";
    case SAMSA_ERR_UNKNOWN_PRODUCER_ID: return "Unknown producer id";
    case SAMSA_ERR_MEMBER_ID_REQUIRED: return "Member id required to join the group";
    case SAMSA_ERR_INVALID_RECORD: return "Invalid record";
    case SAMSA_ERR__BAD_MSG: return "Malformed or truncated input";
    case SAMSA_ERR__NOMEM: return "Out of memory";
    case SAMSA_ERR__INVALID_ARG: return "Invalid argument";
    case SAMSA_ERR__TRANSPORT: return "Connection failed or lost";
    case SAMSA_ERR__TIMED_OUT: return "Timed out";
    case SAMSA_ERR__QUEUE_FULL: return "Queue full";
    case SAMSA_ERR__UNKNOWN_CONFIG: return "Unknown configuration property";
    case SAMSA_ERR__INVALID_CONFIG: return "Invalid configuration value";
    case SAMSA_ERR__STORAGE: return "Disk I/O error";
    case SAMSA_ERR__NOT_SUPPORTED: return "Not supported";
    case SAMSA_ERR__STATE: return "Operation not allowed in the current state";
    case SAMSA_ERR__NOENT: return "No such entry";
    case SAMSA_ERR__PARTITION_EOF: return "Reached the end of the partition";
    case SAMSA_ERR__COMPRESSION: return "Compression or decompression failed";
    case SAMSA_ERR__AUTHENTICATION: return "Authentication failed";
    case SAMSA_ERR__DESTROYED: return "Handle is being closed";
    case SAMSA_ERR__MSG_TOO_LARGE: return "Message exceeds a local size limit";
    case SAMSA_ERR__NOSPC: return "No space left on device";
    default: break;
    }
    /* The rest are named well enough by their Kafka name. */
    return samsa_err_name(err);
}
