/*
 * consumer_int.h: the consumer's internal state, shared by its parts:
 *   consumer.c        the public API: the handle, its I/O thread, poll(),
 *                     messages, events (rebalances, commit results),
 *                     positions, seek, pause, close;
 *   consumer_fetch.c  the fetcher: one Fetch per leader for the partitions
 *                     it leads, records turned into messages, offset
 *                     lookups (OffsetFetch of committed offsets, ListOffsets
 *                     for resets, seeks to the beginning/end/a timestamp);
 *   group.c           group membership (FindCoordinator, JoinGroup,
 *                     SyncGroup, Heartbeat, LeaveGroup), the leader's
 *                     assignment, regex subscriptions, offset commits.
 *
 * Threads: the I/O thread runs the loop and owns the connections. All
 * other state lives under c->lock: the I/O thread holds it for the whole of
 * each of its callbacks (they never block), application threads hold it
 * briefly. Network work an application call needs is posted to the loop
 * (loop_post) and, where the call waits, completed through c->cond.
 * Callbacks into the application run only from poll() or a synchronous
 * commit, on the caller's thread, without the lock.
 */
#ifndef SAMSA_CLIENT_CONSUMER_INT_H
#define SAMSA_CLIENT_CONSUMER_INT_H

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/assignor.h"
#include "client/cluster.h"
#include "client/config.h"
#include "net/loop.h"
#include "samsa.h"

/* A shared, reference-counted block of record bytes (a partition's records
 * from one fetch response, or one batch's decompressed records). */
typedef struct cchunk {
    int refs;      /* atomic */
    uint8_t *data; /* inline_data, or a decompression buffer this chunk owns */
    size_t len;
    uint8_t inline_data[];
} cchunk_t;

struct cpart;

/* A message as queued: the public part first so samsa_message_t pointers
 * convert back. One allocation with its header array, header names and
 * topic; payloads point into the chunks. */
typedef struct cmsg {
    samsa_message_t pub;
    struct cmsg *next;
    cchunk_t *chunk;      /* holds the records (NULL for errors) */
    cchunk_t *chunk2;     /* decompressed records, when the batch was compressed */
    struct cpart *part;   /* while queued */
    uint32_t part_version;
    size_t bytes;         /* counted against queued.max.messages.kbytes */
} cmsg_t;

enum cpart_state {
    CPART_NEED_COMMITTED = 0, /* ask the group for its committed offset */
    CPART_NEED_LOOKUP = 1,    /* ListOffsets at lookup_ts */
    CPART_READY = 2,          /* fetch at fetch_offset */
    CPART_FAILED = 3,         /* stopped by an error reported to the application */
};

/* ListOffsets timestamps. */
#define CPART_TS_LATEST (-1)
#define CPART_TS_EARLIEST (-2)

typedef struct cpart {
    char *topic;
    int32_t partition;
    int state;               /* enum cpart_state */
    int64_t lookup_ts;       /* CPART_NEED_LOOKUP: what to ask */
    bool lookup_in_flight;   /* OffsetFetch or ListOffsets on the wire */
    bool fetch_in_flight;
    bool paused;
    bool removed;            /* no longer assigned; freed when nothing is in flight */
    uint32_t version;        /* bumped by seeks: older fetched messages are dropped */
    int64_t fetch_offset;    /* next offset to fetch */
    int64_t position;        /* next offset poll returns; -1 unknown */
    /* The fetch offset after the last records taken in this version (-1
     * none): once no message of the partition waits in the queue, the
     * position moves there, past control batches and aborted ones. */
    int64_t skip_to;
    int queued;              /* messages of the partition in the queue */
    int64_t committed;       /* last committed offset known, -1 none */
    int32_t leader_epoch;
    int64_t high_watermark;
    int64_t retry_at_ms;     /* after an error, not before */
} cpart_t;

/* CEVENT_REVOKED_RELEASE: revoked, and poll releases the partitions
 * once the rebalance callback returned (group_t.revoking). */
enum cevent_type { CEVENT_ASSIGNED, CEVENT_REVOKED, CEVENT_REVOKED_RELEASE, CEVENT_COMMIT };

typedef struct cevent {
    struct cevent *next;
    int type;                /* enum cevent_type */
    samsa_err_t err;
    samsa_partition_list_t list; /* owned */
} cevent_t;

enum group_state {
    GROUP_NONE = 0,        /* not subscribed */
    GROUP_FIND = 1,        /* looking for the coordinator */
    GROUP_JOIN = 2,        /* JoinGroup in flight or due */
    GROUP_SYNC = 3,        /* SyncGroup in flight */
    GROUP_STABLE = 4,      /* heartbeating */
    GROUP_REVOKING = 5,    /* waiting for a commit before rejoining */
};

/* A commit waiting for its answer. */
typedef struct ccommit {
    struct ccommit *next;
    samsa_consumer_t *c;
    int64_t created_ms;      /* monotonic */
    int64_t retry_at_ms;     /* monotonic: a retried commit waits until then */
    samsa_partition_list_t offsets; /* owned */
    bool sync;               /* an application thread waits on done */
    bool done;
    bool quiet;              /* no callback (close) */
    samsa_err_t err;
} ccommit_t;

/* A committed() call waiting for its answer. */
typedef struct cquery {
    samsa_partition_list_t *list; /* the caller's, filled on answer */
    uint64_t seq;                 /* c->query_seq when posted */
    bool done;
    samsa_err_t err;
} cquery_t;

typedef struct group {
    int state;                 /* enum group_state */
    char **topics;             /* subscription: names and patterns */
    int topic_count;
    regex_t *patterns;         /* compiled '^' entries */
    int pattern_count;
    char **matched;            /* subscribed topic names (patterns expanded), sorted */
    int matched_count;
    int32_t coordinator_id;    /* -1 unknown */
    conn_t *coordinator;       /* one of samsa_consumer.coordinator_conns */
    bool request_in_flight;    /* FindCoordinator, JoinGroup or SyncGroup */
    bool heartbeat_in_flight;
    int32_t heartbeat_generation; /* the generation the heartbeat in flight named */
    bool rejoin_needed;
    bool leave_wanted;         /* unsubscribed: send LeaveGroup, then forget */
    bool leave_in_flight;
    char *member_id;
    int32_t generation;
    char protocol[32];         /* chosen assignor */
    int64_t next_heartbeat_ms;
    int64_t retry_at_ms;
    int64_t last_list_ms;      /* last all-topics metadata for patterns */
    bool list_in_flight;
    bool listed;               /* patterns were matched at least once */
    assign_tp_t *owned;        /* current assignment (topic strings owned) */
    int owned_count;
    /* The application's rebalance callback has partitions to give up: they
     * stay assigned (for its commits) and the group waits until poll ran
     * the callback and released them. */
    bool revoking;
    /* As leader: the partition counts the last assignment used (names
     * owned); metadata that differs later makes the group rebalance. */
    assign_topic_t *led;
    int led_count;
    int64_t last_poll_ms;      /* for max.poll.interval.ms (lock) */
} group_t;

struct samsa_consumer {
    client_config_t cfg;
    samsa_consumer_callbacks_t cb;
    loop_t *loop;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* messages, events or call results arrived */
    cluster_t cluster;
    /* Connections of their own to group coordinators (by node id), so that
     * group and offset requests never wait behind a long-polling Fetch to
     * the same broker; kept until the consumer is freed. */
    conn_t **coordinator_conns;
    int coordinator_conn_count;
    loop_timer_t *tick_timer;
    loop_timer_t *kick_timer;
    bool kick_posted;
    /* everything below: lock */
    cpart_t **parts;
    int part_count;
    cmsg_t *queue_head, *queue_tail;
    size_t queued_bytes;
    cevent_t *events_head, *events_tail;
    ccommit_t *commits;         /* posted, not yet sent */
    cquery_t *query;            /* posted committed() */
    bool query_in_flight;
    uint64_t query_seq;
    bool subscribed;            /* group mode */
    bool closing;
    bool stopped;
    bool leave_done;
    int64_t next_auto_commit_ms;
    int commits_in_flight;
    group_t group;
};

/* ---- consumer.c ---- */

/* Locked: the partition topic/partition, or NULL. */
cpart_t *consumer_part_find(samsa_consumer_t *c, const char *topic, int32_t partition);

/* Locked: adds a partition (state per offset: >= 0 ready there, -1
 * committed/reset, -2 earliest, -3 latest). NULL when memory runs out. */
cpart_t *consumer_part_add(samsa_consumer_t *c, const char *topic, int32_t partition,
                           int64_t offset);

/* Locked: forgets every partition (or those not in keep when keep is
 * non-NULL), dropping their queued messages. */
void consumer_parts_remove(samsa_consumer_t *c, const assign_tp_t *keep, int keep_count);

/* Locked, loop thread: the consumer's own connection to broker node_id
 * for group and offset requests (made on first use from the cluster's
 * broker address, not yet connected). NULL when the broker is not in the
 * metadata or memory runs out. */
conn_t *consumer_coordinator_conn(samsa_consumer_t *c, int32_t node_id);

/* Locked: drops queued messages of p (all when p is NULL). */
void consumer_queue_drop(samsa_consumer_t *c, const cpart_t *p);

/* Locked: appends a message to the poll queue and wakes poll. */
void consumer_queue_push(samsa_consumer_t *c, cmsg_t *m);

/* Locked: appends a message to the poll queue without waking poll; the
 * caller wakes it (c->cond) once it has let go of the lock, so that poll
 * does not wake only to wait for the lock. */
void consumer_queue_add(samsa_consumer_t *c, cmsg_t *m);

/* An error message for the application (err, formatted text, where). NULL
 * when memory runs out. */
cmsg_t *consumer_error_msg(const char *topic, int32_t partition, int64_t offset, samsa_err_t err,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Locked: queues an event for poll (takes list). */
void consumer_event(samsa_consumer_t *c, int type, samsa_err_t err, samsa_partition_list_t *list);

/* group.instance.id for requests: NULL for a dynamic member. */
const char *group_instance(const samsa_consumer_t *c);

/* Locked: the positions of every partition with one, as a list (for
 * commits). Returns false when memory runs out. */
bool consumer_positions(samsa_consumer_t *c, samsa_partition_list_t *out);

/* Loop thread: runs the I/O work soon (once, however often asked). */
void consumer_kick(samsa_consumer_t *c);

/* Copies a list (strings too). Returns false when memory runs out. */
bool partition_list_copy(samsa_partition_list_t *dst, const samsa_partition_list_t *src);

/* ---- consumer_fetch.c ---- */

/* Locked, loop thread: sends what the partitions need (offset lookups,
 * Fetch requests). */
void fetch_run(samsa_consumer_t *c);

/* Decrements a chunk's count, freeing it at zero. Any thread. */
void cchunk_release(cchunk_t *ch);

/* ---- consumer_offsets.c ---- */

/* Locked: queues a commit of the positions of tps (all partitions when tps
 * is NULL) that differ from what is known to be committed; auto commits
 * only (nothing when enable.auto.commit is off). */
void offsets_commit_positions(samsa_consumer_t *c, const assign_tp_t *tps, int n);

/* Locked: appends cm to the commits waiting to be sent. */
void offsets_queue_commit(samsa_consumer_t *c, ccommit_t *cm);

/* Locked, loop thread: sends waiting commits and the committed() query to
 * the coordinator conn (NULL: not up; commits older than
 * request.timeout.ms then fail), and queues the auto commit when due. */
void offsets_run(samsa_consumer_t *c, conn_t *conn);

/* The answer of an OffsetFetch: list holds each asked partition with its
 * committed offset (-1 none) and err; err is the request's error. Called
 * locked on the loop thread; list is valid during the call. */
typedef void offset_fetch_done_fn(samsa_consumer_t *c, void *opaque, samsa_err_t err,
                                  const samsa_partition_list_t *list);

/* Locked, loop thread: asks the coordinator (which must be up) for the
 * committed offsets of list (copied). Returns SAMSA_ERR_NONE (done will
 * run once) or an error (it will not). */
samsa_err_t offsets_fetch_committed(samsa_consumer_t *c, const samsa_partition_list_t *list,
                               offset_fetch_done_fn *done, void *opaque);

/* ---- group.c ---- */

/* Locked, loop thread: advances membership (coordinator, join, sync,
 * heartbeats, pattern matching), sends posted commits and queries, and the
 * auto commit when due. */
void group_run(samsa_consumer_t *c);

/* Locked: sets the subscription (copied; patterns compiled). Returns
 * SAMSA_ERR_NONE, SAMSA_ERR__INVALID_ARG (bad pattern) or
 * SAMSA_ERR__NOMEM. */
samsa_err_t group_subscribe(samsa_consumer_t *c, const char *const *topics, size_t n);

/* Locked, loop thread: sends LeaveGroup (once) when a member; true when
 * nothing more is to be waited for. */
bool group_leave(samsa_consumer_t *c);

/* Locked: whether the consumer is a member in generation (its current
 * one): subscribed, and stable or getting ready to rejoin (its JoinGroup
 * not yet sent). Answers about that generation count then, and it
 * heartbeats. */
bool group_in_generation(const samsa_consumer_t *c, int32_t generation);

/* Locked: the coordinator answered api with UNKNOWN_MEMBER_ID or
 * ILLEGAL_GENERATION (why) for the member's current generation: the group
 * went on without this member, so its partitions are lost (dropped at
 * once, the application told) and it rejoins, under a new member id after
 * UNKNOWN_MEMBER_ID. */
void group_lost(samsa_consumer_t *c, samsa_err_t why, const char *api);

/* Locked: forgets the subscription and membership state. */
void group_reset(samsa_consumer_t *c);

/* Locked: the conn to the coordinator when it is up, else NULL. */
conn_t *group_coordinator(samsa_consumer_t *c);

#endif /* SAMSA_CLIENT_CONSUMER_INT_H */
