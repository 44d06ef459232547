/*
 * group.h: the group coordinator: consumer groups with the classic protocol
 * (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * DescribeGroups, ListGroups) and committed offsets (OffsetCommit,
 * OffsetFetch), kept in the internal topic __consumer_offsets.
 *
 * The broker makes one coordinator at start, after opening partition 0 of
 * __consumer_offsets, and passes every request of those APIs to
 * group_handle(). Runs on the broker's event-loop thread; timers (session
 * expiry, rebalance and join delays) run on env->loop.
 */
#ifndef SAMSA_BROKER_GROUP_H
#define SAMSA_BROKER_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/request.h"
#include "log/log.h"
#include "net/loop.h"

typedef struct group_coordinator group_coordinator_t;

typedef struct group_config {
    int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms, 3000 */
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms, 6000 */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms, 1800000 */
    int32_t max_group_size;             /* group.max.size, 2147483647 */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes (10080) in ms */
    int32_t offset_metadata_max_bytes;  /* offset.metadata.max.bytes, 4096 */
} group_config_t;

/* Kafka's defaults, as listed above. */
void group_config_init(group_config_t *cfg);

/* What the coordinator needs from the broker. */
typedef struct group_env {
    loop_t *loop;                /* the broker's event loop, for timers */
    partition_log_t *offsets_log; /* __consumer_offsets partition 0, opened by the broker */
    int32_t node_id;             /* this broker, the coordinator of every group */
    const char *host;            /* its advertised host and port */
    int32_t port;
    /* Topic ids (OffsetCommit and OffsetFetch v10 name topics by id): fill
     * *name (NUL-terminated, owned by the broker) or *id; false when unknown. */
    bool (*topic_name_by_id)(void *opaque, const proto_uuid_t *id, const char **name);
    bool (*topic_id_by_name)(void *opaque, const char *name, proto_uuid_t *id);
    void *opaque;
} group_env_t;

/* Makes the coordinator and loads the groups and offsets stored in
 * env->offsets_log. Returns NULL and writes the reason into errbuf when the
 * log cannot be read. cfg and env are copied (the pointers in env must stay
 * valid until group_coordinator_free). */
group_coordinator_t *group_coordinator_new(const group_config_t *cfg, const group_env_t *env,
                                           char *errbuf, size_t errlen);

/* Answers parked requests (JoinGroup, SyncGroup) with
 * COORDINATOR_NOT_AVAILABLE, cancels the timers and frees the coordinator.
 * Committed offsets are already in the log. */
void group_coordinator_free(group_coordinator_t *gc);

/* Handles a request of one of the APIs listed at the top; answers it through
 * broker_request_respond, now or later. */
void group_handle(group_coordinator_t *gc, broker_request_t *req);

/* A topic was deleted: its committed offsets go too. */
void group_topic_deleted(group_coordinator_t *gc, const char *topic);

#endif /* SAMSA_BROKER_GROUP_H */
