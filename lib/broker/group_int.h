/*
 * group_int.h: the group coordinator's private state, shared by its files:
 *   group.c          lifecycle, dispatch, FindCoordinator, DescribeGroups,
 *                    ListGroups, offset expiry
 *   group_member.c   JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the
 *                    rebalance state machine
 *   group_offsets.c  OffsetCommit, OffsetFetch
 *   group_store.c    the __consumer_offsets records: encoding, loading,
 *                    snapshots that bound the log
 * Everything runs on the broker's loop thread.
 */
#ifndef SAMSA_BROKER_GROUP_INT_H
#define SAMSA_BROKER_GROUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/group.h"

/* Kafka's classic group states, with the names DescribeGroups reports. */
typedef enum group_state {
    GROUP_EMPTY = 0,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD,
} group_state_t;

typedef struct group group_t;

/* One protocol (assignor) a member supports, with its opaque metadata. */
typedef struct group_protocol {
    char *name;
    uint8_t *metadata;
    size_t metadata_len;
} group_protocol_t;

typedef struct group_member {
    struct group_member *next; /* join order */
    group_t *group;
    char *member_id;
    char *instance_id;  /* static membership; NULL for dynamic members */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    group_protocol_t *protocols; /* the member's preference order */
    size_t protocol_count;
    uint8_t *assignment; /* what the leader gave it this generation */
    size_t assignment_len;
    broker_request_t *join_req; /* parked JoinGroup */
    broker_request_t *sync_req; /* parked SyncGroup */
    loop_timer_t *session_timer;
    bool pending_sync;      /* joined this generation, SyncGroup not seen yet */
} group_member_t;

/* A member id handed out with MEMBER_ID_REQUIRED, waiting for its join. */
typedef struct group_pending {
    struct group_pending *next;
    group_t *group;
    char *member_id;
    loop_timer_t *timer;
} group_pending_t;

/* One committed offset. */
typedef struct group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;         /* never NULL: a null commit is stored as "" as Kafka does */
    int64_t commit_ts_ms;   /* wall clock */
} group_offset_t;

struct group {
    group_coordinator_t *gc;
    char *group_id;
    group_state_t state;
    char *protocol_type;  /* NULL until a member joins (and for simple groups) */
    char *protocol_name;  /* chosen at the end of a join; NULL when none */
    char *leader_id;      /* NULL when none */
    int32_t generation;
    int64_t state_ts_ms;  /* wall clock of the last state change (Empty since) */
    group_member_t *members;
    size_t member_count;
    group_pending_t *pending;
    loop_timer_t *join_timer;       /* the end of the join phase */
    loop_timer_t *sync_timer;       /* the deadline of the members' SyncGroups */
    bool initial_delay;             /* the join timer is an initial delayed join */
    bool new_member_added;          /* a member joined during the initial delay */
    int32_t initial_delay_left_ms;  /* of the rebalance timeout, after this delay */
    /* offsets sorted by (topic, partition) */
    group_offset_t *offsets;
    size_t offset_count, offset_cap;
    /* the last GroupMetadataValue written (re-written by snapshots); NULL
     * when the group has no metadata record */
    uint8_t *stored_value;
    size_t stored_value_len;
};

/* An OffsetCommit waiting for its records to be durable. */
typedef struct group_commit_wait {
    struct group_commit_wait *next;
    broker_request_t *req;
    void *resp;
    int64_t end_offset;
} group_commit_wait_t;

struct group_coordinator {
    group_config_t cfg;
    group_env_t env;
    group_t **groups; /* sorted by id */
    size_t group_count, group_cap;
    group_commit_wait_t *commit_waits; /* oldest first */
    group_commit_wait_t **commit_waits_tail;
    loop_timer_t *commit_poll_timer;
    loop_timer_t *expiry_timer;
    int64_t live_records; /* keys a snapshot would write */
    int64_t snapshot_retry_span; /* after a failed snapshot: no retry below this log span */
    bool closing;
};

/* ---- group.c ------------------------------------------------------------ */
group_t *group_find(group_coordinator_t *gc, const char *group_id, size_t len);
/* The group a request names (NULL for an empty or null id, or none). */
group_t *group_find_str(group_coordinator_t *gc, proto_str_t group_id);
/* Finds or creates (Empty, generation 0); NULL when memory runs out. */
group_t *group_get_or_create(group_coordinator_t *gc, const char *group_id, size_t len);
/* Removes and frees the group (its members must be gone). */
void group_remove(group_coordinator_t *gc, group_t *g);
void group_set_state(group_t *g, group_state_t state);
const char *group_state_name(group_state_t s);
/* A NUL-terminated malloc'd copy of a wire string ("" for null), or NULL. */
char *group_strdup_wire(proto_str_t s);
/* A copy of s in the request's arena, for responses (null stays null). */
proto_str_t group_resp_str(broker_request_t *req, const char *s);
proto_bytes_t group_resp_bytes(broker_request_t *req, const uint8_t *p, size_t len);

/* ---- group_member.c ------------------------------------------------------ */
void group_handle_join(group_coordinator_t *gc, broker_request_t *req);
void group_handle_sync(group_coordinator_t *gc, broker_request_t *req);
void group_handle_heartbeat(group_coordinator_t *gc, broker_request_t *req);
void group_handle_leave(group_coordinator_t *gc, broker_request_t *req);
group_member_t *group_member_find(group_t *g, const char *member_id, size_t len);
/* The member (by id, and by instance id for static members) of g, or
 * UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID (g may be NULL). */
int16_t group_check_member(group_t *g, proto_str_t member_id, proto_str_t instance_id,
                           group_member_t **out);
/* Answers parked requests with err, cancels timers, frees every member and
 * pending member of g (shutdown and group removal). */
void group_members_clear(group_t *g, int16_t err);
/* Starts the session timers of members loaded from the log. */
void group_member_schedule_session(group_member_t *m);
group_member_t *group_member_new(group_t *g);
void group_member_free(group_member_t *m);

/* ---- group_offsets.c ----------------------------------------------------- */
void group_handle_offset_commit(group_coordinator_t *gc, broker_request_t *req);
void group_handle_offset_fetch(group_coordinator_t *gc, broker_request_t *req);
/* Answers the commits whose records are durable (all of them when force). */
void group_commit_waits_poll(group_coordinator_t *gc, bool force);

/* ---- group_store.c ------------------------------------------------------- */
/* Index of (topic, partition) in g->offsets, or -1 - insertion point. */
ptrdiff_t group_offset_search(const group_t *g, const char *topic, size_t topic_len,
                            int32_t partition);
/* Sets the cached offset (copying strings). Returns SAMSA_ERR__NOMEM. */
samsa_err_t group_offset_put(group_t *g, const char *topic, size_t topic_len, int32_t partition,
                             int64_t offset, int32_t leader_epoch, const char *metadata,
                             size_t metadata_len, int64_t commit_ts_ms);
void group_offset_delete_at(group_t *g, size_t i);
void group_offsets_free(group_t *g);

/* Appends the key of an offset record, the value, or a group key. */
void group_store_offset_key(buf_t *b, const char *group_id, const char *topic, size_t topic_len,
                            int32_t partition);
void group_store_offset_value(buf_t *b, int64_t offset, int32_t leader_epoch,
                              const char *metadata, size_t metadata_len, int64_t commit_ts_ms);
void group_store_group_key(buf_t *b, const char *group_id);
/* Encodes g's current generation (members, assignments) as a
 * GroupMetadataValue v3 into g->stored_value and appends it with its key.
 * Returns the append's error. */
samsa_err_t group_store_write_group(group_coordinator_t *gc, group_t *g);
/* Appends a tombstone for the group's metadata record. */
samsa_err_t group_store_delete_group(group_coordinator_t *gc, group_t *g);
/* Appends records (a NULL value is a tombstone) as one batch. Fills
 * *end_offset (may be NULL) with the offset after the last record. The
 * caller updates the cache, then calls group_store_maybe_snapshot(): a
 * snapshot taken in between would drop the records just appended. */
samsa_err_t group_store_append(group_coordinator_t *gc, const log_record_t *records, size_t n,
                               int64_t *end_offset);
/* Snapshots the log when it holds too many dead records (see group.h);
 * failures are logged, the log stays as it was. */
void group_store_maybe_snapshot(group_coordinator_t *gc);
/* Reads env->offsets_log from its start and rebuilds the groups. */
samsa_err_t group_store_load(group_coordinator_t *gc, char *errbuf, size_t errlen);
/* Writes every live key once and moves the log start past older records. */
samsa_err_t group_store_snapshot(group_coordinator_t *gc);

#endif /* SAMSA_BROKER_GROUP_INT_H */
