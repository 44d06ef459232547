/*
 * admin_int.h: the admin client's internals, shared by its parts:
 *   admin.c          the handle, its I/O thread, blocking calls (post an
 *                    operation, wait for it) and caller-owned results;
 *   admin_io.c       the engine on the I/O thread: operations made of items,
 *                    each item one request sent where its kind says (any
 *                    broker, a partition's leader, a group's coordinator, a
 *                    given broker), retried until the operation's deadline;
 *   admin_topics.c   CreateTopics, DeleteTopics, CreatePartitions, Metadata,
 *                    DescribeConfigs;
 *   admin_offsets.c  ListOffsets, DeleteRecords, OffsetFetch, OffsetCommit;
 *   admin_groups.c   ListGroups, DescribeGroups.
 *
 * An operation (admin_op_t) is made by the calling thread, which copies its
 * inputs into op->in and allocates its result; the I/O thread runs it and
 * fills the result; the caller takes the result once op->done. The op is
 * reference counted (caller, I/O thread, each request in flight) so that a
 * late response after a timeout finds it still there.
 */
#ifndef SAMSA_CLIENT_ADMIN_INT_H
#define SAMSA_CLIENT_ADMIN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "client/cluster.h"
#include "client/config.h"
#include "net/loop.h"
#include "proto/codec.h"
#include "samsa.h"

typedef struct admin_op admin_op_t;

/* Where an item's request goes. */
enum admin_target {
    ADMIN_TO_ANY,         /* any broker that is up */
    ADMIN_TO_LEADER,      /* the leader of the item's topic partition */
    ADMIN_TO_COORDINATOR, /* the coordinator of the item's group */
    ADMIN_TO_NODE,        /* the broker kind->node(op, i) names; -1: any */
};

/* What a response handler decided for its item. */
enum admin_verdict {
    ADMIN_ITEM_DONE,           /* the result is filled */
    ADMIN_ITEM_RETRY,          /* send again after retry.backoff.ms */
    ADMIN_ITEM_RETRY_METADATA, /* the leader moved: fresh metadata first */
    ADMIN_ITEM_RETRY_COORDINATOR, /* the coordinator moved: find it again */
};

typedef struct admin_kind {
    const char *name;     /* for messages: "CreateTopics" */
    int16_t api_key;
    int16_t max_version;  /* -1: samsa's highest */
    enum admin_target target;
    /* Whether the op may start (list_groups waits for the broker list);
     * NULL: at once. May set up op->items. */
    bool (*ready)(admin_op_t *op);
    /* ADMIN_TO_LEADER: the item's topic and partition. */
    void (*partition)(admin_op_t *op, size_t i, const char **topic, int32_t *partition);
    /* ADMIN_TO_COORDINATOR: the item's group. */
    const char *(*group)(admin_op_t *op, size_t i);
    /* ADMIN_TO_NODE: the item's broker, -1 for any. */
    int32_t (*node)(admin_op_t *op, size_t i);
    /* Writes item i's request body. */
    samsa_err_t (*encode)(admin_op_t *op, size_t i, int16_t version, buf_t *out);
    /* Handles item i's decoded response (resp valid during the call only). */
    enum admin_verdict (*on_response)(admin_op_t *op, size_t i, conn_t *c, int16_t version,
                                      const void *resp);
    /* Fails item i with err and errstr when its topic or partition does
     * not exist (ADMIN_TO_LEADER) or its target cannot be reached; NULL:
     * the whole operation fails instead. */
    void (*fail_item)(admin_op_t *op, size_t i, samsa_err_t err, const char *errstr);
} admin_kind_t;

enum admin_item_state { ITEM_TODO = 0, ITEM_SENT, ITEM_DONE };

typedef struct admin_item {
    enum admin_item_state state;
    int64_t retry_at_ms;     /* not sent before this (loop clock) */
    int64_t metadata_after_ms; /* ADMIN_TO_LEADER: needs metadata fetched after this */
    int32_t coordinator;     /* ADMIN_TO_COORDINATOR: -1 until found */
    bool finding;            /* a FindCoordinator is in flight */
    int32_t node;            /* the target of the last request */
} admin_item_t;

struct admin_op {
    struct admin_op *next;   /* in the I/O thread's active list */
    struct samsa_admin *admin;
    const admin_kind_t *kind;
    int refs;                /* atomic */
    /* caller side, under admin->lock */
    bool done;
    /* set by the I/O thread before done */
    samsa_err_t err;
    char errstr[512];
    int timeout_ms;
    int64_t deadline_ms;     /* loop clock, set when the I/O thread takes it */
    int64_t start_ms;
    bool finished;           /* I/O thread only */
    size_t n;
    admin_item_t *items;
    arena_t in;              /* copies of the inputs */
    const void *args;        /* the kind's input array, in op->in */
    const char *group;       /* group operations */
    int flags;               /* ADMIN_F_* */
    void *result;            /* a result block (see admin_result_new) */
    size_t result_count;
};

#define ADMIN_F_VALIDATE_ONLY 0x1
#define ADMIN_F_INCLUDE_INTERNAL 0x2
#define ADMIN_F_ALL_TOPICS 0x4

struct samsa_admin {
    client_config_t cfg;
    loop_t *loop;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    /* I/O thread only */
    cluster_t cluster;
    admin_op_t *active;
    loop_timer_t *tick_timer;
    bool stopped;
    samsa_err_t security_err;  /* a connection failed TLS or SASL: end what waits */
    char security_reason[512]; /* which broker and why */
};

/* ---- admin.c ---- */

/* A zeroed block of size bytes that owns an arena for everything hanging
 * off it; freed with admin_result_free. NULL when memory runs out. */
void *admin_result_new(size_t size);
arena_t *admin_result_arena(void *root);
/* A NUL-terminated copy of s (NULL for a null string) in root's arena;
 * on no memory, "" is returned for a non-null string. */
const char *admin_result_str(void *root, proto_str_t s);
/* A copy of a C string (NULL stays NULL). */
const char *admin_result_cstr(void *root, const char *s);
/* A formatted string in root's arena ("" when memory runs out). */
const char *admin_result_printf(void *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void admin_result_free(void *root);

/* "ERR_NAME: message" or "ERR_NAME: the error's description" when the
 * broker sent no message, into root's arena, prefixed with what. */
const char *admin_result_error(void *root, const char *what, samsa_err_t err, proto_str_t message,
                               const char *where);

/* A copy of s in the op's input arena (NULL stays NULL, "" when no memory). */
const char *admin_op_str(admin_op_t *op, const char *s);

/* ---- admin_io.c ---- */

/* Loop thread: takes a posted operation (one I/O reference) and starts it. */
void admin_io_add(void *op);

/* Ends op with err (SAMSA_ERR_NONE: every item is done) and a message, and
 * wakes its caller. I/O thread; idempotent. */
void admin_io_finish(admin_op_t *op, samsa_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Drops one reference; the last one frees op (and a result not taken).
 * Any thread. */
void admin_op_unref(admin_op_t *op);

/* Sets up the cluster and the tick; returns an error with errbuf filled. */
samsa_err_t admin_io_init(struct samsa_admin *a, char *errbuf, size_t errlen);

/* After the loop stopped: fails what is left and frees the I/O state. */
void admin_io_shutdown(struct samsa_admin *a);

/* Whether the cluster's metadata was fetched by a request sent at or after
 * since_ms (loop clock), so it knows what happened before then. */
bool admin_metadata_fresh(struct samsa_admin *a, int64_t since_ms);

/* Whether err from a partition's leader means the metadata is stale. */
bool admin_leader_error(samsa_err_t err);
/* Whether err from a coordinator means it is elsewhere or not ready. */
bool admin_coordinator_error(samsa_err_t err);

/* ---- the kinds ---- */
extern const admin_kind_t admin_create_topics_kind;
extern const admin_kind_t admin_delete_topics_kind;
extern const admin_kind_t admin_create_partitions_kind;
extern const admin_kind_t admin_metadata_kind;
extern const admin_kind_t admin_describe_configs_kind;
extern const admin_kind_t admin_list_offsets_kind;
extern const admin_kind_t admin_delete_records_kind;
extern const admin_kind_t admin_offset_fetch_kind;
extern const admin_kind_t admin_offset_commit_kind;
extern const admin_kind_t admin_list_groups_kind;
extern const admin_kind_t admin_describe_groups_kind;

/* A new operation of kind with n items (all TODO), one caller reference
 * and no I/O reference yet. NULL when memory runs out. */
admin_op_t *admin_op_new(struct samsa_admin *a, const admin_kind_t *kind, size_t n, int timeout_ms);

/* Posts op to the I/O thread and waits for it. Returns op->err; on
 * SAMSA_ERR_NONE *result gets op->result (the caller owns it) and *count
 * (may be NULL) op->result_count. Drops the caller's reference. Sets the
 * thread's last error. */
samsa_err_t admin_op_run(admin_op_t *op, void **result, size_t *count);

/* Sets this thread's last error (samsa_admin_last_error). */
void admin_set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SAMSA_CLIENT_ADMIN_INT_H */
