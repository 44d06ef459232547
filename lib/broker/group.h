/*
 * group.h: the group coordinator: consumer groups with the classic protocol
 * (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * DescribeGroups, ListGroups) and committed offsets (OffsetCommit,
 * OffsetFetch), kept in the internal topic __consumer_offsets.
 *
 * The broker makes one coordinator at start, after opening partition 0 of
 * __consumer_offsets, and passes every request of those APIs to
 * group_handle(). Runs on the broker's event-loop thread; timers (session
 * expiry, rebalance and join delays, offset expiry, the durability poll of
 * commits) run on env->loop.
 *
 * Records in __consumer_offsets: Kafka's own schemas, so the partition reads
 * as Kafka's (classic, non-flexible encodings, big-endian, strings with an
 * int16 length, bytes and arrays with an int32 length, -1 = null):
 *   offset key (OffsetCommitKey v1): version i16 = 1, group string,
 *     topic string, partition i32
 *   offset value (OffsetCommitValue v3): version i16 = 3, offset i64,
 *     leader_epoch i32, metadata string, commit_timestamp_ms i64
 *   group key (GroupMetadataKey v2): version i16 = 2, group string
 *   group value (GroupMetadataValue v3): version i16 = 3, protocol_type
 *     string, generation i32, protocol nullable string, leader nullable
 *     string, current_state_timestamp_ms i64, members [member_id string,
 *     group_instance_id nullable string, client_id string, client_host
 *     string, rebalance_timeout_ms i32, session_timeout_ms i32,
 *     subscription bytes, assignment bytes]
 * A null value is a tombstone (offset deleted or expired, group removed).
 * Loading also accepts the older value versions (offset 0-2, group 0-2) and
 * skips keys of other versions (Kafka's newer group types).
 *
 * When records are written: offsets on every OffsetCommit; the group value
 * when a generation's assignment is complete (the leader's SyncGroup), when
 * the group becomes Empty, and when a static member is replaced; tombstones
 * on expiry (offsets.retention.minutes: all offsets of a consumer group once
 * it has been Empty that long; each offset of a group without group
 * management that long after its commit; in a Stable "consumer" group, the
 * offsets of topics no member subscribes to that long after their commit;
 * an Empty group without offsets is then removed) and on
 * group_topic_deleted().
 * SyncGroup and JoinGroup answers follow the append of the group value
 * without waiting for durability: a generation lost in a crash only makes
 * its members rejoin.
 * After a restart, groups come back in their last stored generation (Stable
 * with their members, whose session timers start afresh) or Empty.
 *
 * Durability of commits: with cfg.commit_wait_durable (the default, meant to
 * follow the offsets log's log.flush.on.ack) an OffsetCommit is answered once
 * partition_log_durable_offset() has passed its records (a 1 ms timer polls
 * it, so the log needs its flusher); without, right after the append. The
 * offset is visible to OffsetFetch at once either way.
 *
 * Restart cost: the log is read from its start at group_coordinator_new.
 * When it holds more than 2 * (live keys) + cfg.snapshot_min_records
 * records, every live key is written again (a snapshot, in batches), the log
 * is flushed (one blocking fdatasync on the loop thread, once per that many
 * records), and the log start offset moves to the snapshot's first record
 * (partition_log_delete_records), so the records read at start stay within
 * 3 * (live keys) + snapshot_min_records, however many commits were made. A
 * crash between the snapshot and the move only leaves duplicates, which
 * replay to the same state. Whole segments below the start are deleted by
 * the log; the broker should open __consumer_offsets with retention.ms = -1
 * and retention.bytes = -1 (the coordinator does its own expiry) and a
 * moderate segment.bytes (Kafka uses 100 MiB for this topic).
 *
 * Parked requests: JoinGroup and SyncGroup wait for the rebalance; an
 * OffsetCommit waits for durability. Each is parked with a cancel function,
 * so the broker may drop it when its client disconnects. respond_fn must
 * not call group_handle() re-entrantly (queue the next request instead).
 *
 * Use by the broker
 *   1. open __consumer_offsets partition 0 (retention.ms = -1,
 *      retention.bytes = -1) and add it to the log flusher;
 *   2. group_config_init + group_config_set for the group.* / offsets.*
 *      properties; cfg.commit_wait_durable = the offsets log's
 *      log.flush.on.ack;
 *   3. group_coordinator_new with env (loop, offsets_log, node id, the
 *      advertised host and port, topic id callbacks);
 *   4. send API keys 8-16 (OffsetCommit, OffsetFetch, FindCoordinator,
 *      JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups,
 *      ListGroups) to group_handle(); call group_topic_deleted() after a
 *      topic is deleted;
 *   5. at shutdown, on the loop thread: group_coordinator_free, then
 *      log_flusher_remove + partition_log_close(clean) of the offsets log,
 *      then loop_free.
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
    int64_t offsets_retention_check_interval_ms; /* offsets.retention.check.interval.ms, 600000 */
    /* Whether OffsetCommit answers only once its records are durable
     * (partition_log_durable_offset() has passed them): the broker sets it to
     * the offsets log's log.flush.on.ack (true by default). When false the
     * answer follows the append, as Kafka does without replication. */
    bool commit_wait_durable;
    /* offsets.snapshot.min.records (samsa): the log is snapshotted when it
     * holds more than twice the live keys plus this many records, 10000. */
    int64_t snapshot_min_records;
} group_config_t;

/* Kafka's defaults, as listed above. Any thread. */
void group_config_init(group_config_t *cfg);

/* Sets one property by its broker name (those listed above, with
 * offsets.retention.minutes in minutes, and samsa's
 * offsets.snapshot.min.records). Returns SAMSA_ERR__UNKNOWN_CONFIG for an
 * unknown key, SAMSA_ERR__INVALID_CONFIG for a value that is not an integer
 * in range; either way errbuf (may be NULL) says why and cfg is unchanged.
 * commit_wait_durable has no property: the broker copies log.flush.on.ack.
 * Any thread (cfg is the caller's). */
samsa_err_t group_config_set(group_config_t *cfg, const char *key, const char *value, char *errbuf,
                             size_t errlen);

/* What the coordinator needs from the broker. */
typedef struct group_env {
    loop_t *loop;                /* the broker's event loop, for timers */
    partition_log_t *offsets_log; /* __consumer_offsets partition 0, opened by the broker */
    int32_t node_id;             /* this broker, the coordinator of every group */
    const char *host;            /* its advertised host and port */
    int32_t port;
    /* Topic ids (OffsetCommit and OffsetFetch v10 name topics by id): fill
     * *name (NUL-terminated, owned by the broker) or *id; false when unknown.
     * topic_id_by_name also tells whether a topic exists: OffsetCommit v2-9
     * to a topic it does not know gets UNKNOWN_TOPIC_OR_PARTITION, as in
     * Kafka (NULL: every topic is accepted). Called on the loop thread. */
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

/* Answers parked requests (JoinGroup, SyncGroup, and OffsetCommits still
 * waiting for durability) with COORDINATOR_NOT_AVAILABLE, cancels the timers
 * and frees the coordinator (NULL is fine). Committed offsets are already in
 * the log. Call it before the loop and the offsets log are freed. */
void group_coordinator_free(group_coordinator_t *gc);

/* Handles a request of one of the APIs listed at the top (API keys 8, 9,
 * 10, 11, 12, 13, 14, 15, 16), whose body is decoded at a version
 * proto_api() supports; answers it through broker_request_respond, now or
 * later (after broker_request_park). A response that cannot be built for
 * lack of memory is answered with no response (NULL). */
void group_handle(group_coordinator_t *gc, broker_request_t *req);

/* A topic was deleted: its committed offsets go too (tombstones written;
 * the cache forgets them even if the append fails). Loop thread. */
void group_topic_deleted(group_coordinator_t *gc, const char *topic);

#endif /* SAMSA_BROKER_GROUP_H */
