/*
 * producer_int.h: the producer's internal state, shared by its three parts:
 *   producer.c        the public API: the input queue, limits, delivery
 *                     reports, flush, close (application threads);
 *   producer_io.c     the I/O thread: partitioning, sending Produce
 *                     requests, responses, retries, idempotence, timeouts;
 *   producer_batch.c  messages, per-partition queues and batches: when a
 *                     partition is ready, building a batch, which batch may
 *                     go next (ordering across retries), restamping.
 *
 * Ownership: a message (pmsg_t) is one allocation made by produce(); it
 * moves input queue -> (topic's waiting queue) -> partition's open batch,
 * or partition queue -> batch -> report queue, and is freed after its
 * report is served. Everything but the fields marked "lock" is touched by
 * the I/O thread only (or by close() after that thread has stopped).
 */
#ifndef SAMSA_CLIENT_PRODUCER_INT_H
#define SAMSA_CLIENT_PRODUCER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "client/cluster.h"
#include "client/config.h"
#include "net/loop.h"
#include "proto/batch.h"
#include "samsa.h"

/* Kafka's longest topic name. */
#define PRODUCER_TOPIC_MAX_BYTES 249

typedef struct pmsg {
    struct pmsg *next;
    char *topic;             /* inside this allocation */
    const uint8_t *key;      /* NULL: null key */
    const uint8_t *value;    /* NULL: null value */
    record_header_t *headers; /* inside this allocation */
    void *opaque;
    int64_t timestamp_ms;
    int64_t enqueued_ms;     /* monotonic, for delivery.timeout.ms */
    /* Lengths and counts fit 32 bits: produce() refuses a message larger
     * than max.request.size (an int32). Kept small, the message header
     * takes two cache lines. */
    uint32_t key_len;
    uint32_t value_len;
    uint32_t header_count;
    int32_t partition;       /* asked for (-1), then chosen */
    uint32_t bytes;          /* counted against buffer.memory */
    /* outcome: a delivered batch sets the first of its messages only, so
     * the I/O thread touches none of the others; poll() gives each of the
     * run_count messages, in order, offset + its index and
     * result_timestamp_ms (or, when that is -1, its own timestamp) */
    uint32_t run_count;      /* 0 but on the first message of a delivered batch */
    samsa_err_t err;         /* failed messages are outside runs */
    uint8_t block_class;     /* 0, or the allocation is a block of that class (see pmsg_alloc) */
    union {
        struct pmsg **run_msgs; /* with run_count: the run's messages in order, so that
                                 * poll() can load them ahead (malloc'd, poll frees it),
                                 * or NULL */
        struct ptopic *topic_hint; /* before the I/O thread takes it: the topic, when
                                    * produce() knew it (see samsa_producer's hint) */
    };
    char *errstr;            /* malloc'd when err is set; may be NULL if memory ran out */
    int64_t offset;          /* of the run's first message; -1 unknown (acks=0) */
    int64_t result_timestamp_ms; /* LogAppendTime of the run, or -1 */
} pmsg_t;

typedef struct pmsg_queue {
    pmsg_t *head, *tail;
    size_t count;
    size_t bytes;
} pmsg_queue_t;

struct ppart;

/* Buffers of acknowledged batches, kept for the next ones: a batch buffer
 * new from the allocator is memory the process has not touched lately, and
 * writing a megabyte batch into it costs a page fault every 4 KiB. Up to
 * PBATCH_SPARES buffers holding at most max_bytes (a quarter of
 * buffer.memory) together. I/O thread only. */
#define PBATCH_SPARES 16
typedef struct pbatch_spares {
    buf_t bufs[PBATCH_SPARES];
    int count;
    size_t bytes;     /* the capacity they hold */
    size_t max_bytes;
} pbatch_spares_t;

typedef struct pbatch {
    struct pbatch *next;     /* in the partition's list, oldest first */
    struct ppart *part;
    pmsg_queue_t msgs;
    pmsg_t **msgv;           /* msgs in order, handed to the run's report, or NULL */
    int32_t msgv_cap;        /* msgv's room; -1: memory ran out, the report goes without */
    buf_t data;              /* the batch as sent */
    int32_t record_count;
    int32_t base_sequence;   /* -1 without idempotence */
    int attempts;            /* sends that failed and were retried */
    int64_t first_enqueued_ms;
    int64_t retry_at_ms;
    proto_uuid_t sent_topic_id; /* its topic's id in the request it is in (v13 answers by id) */
    bool in_flight;
} pbatch_t;

typedef struct ppart {
    struct ptopic *topic;
    int32_t partition;
    pmsg_queue_t queue;      /* messages not yet in a batch */
    size_t queue_record_bytes; /* what queue's records take in a batch, estimated */
    size_t *built_bytes;     /* when set: data bytes of the batches built and not yet
                              * removed, and the room of open batches, summed over all
                              * the partitions it is shared by */
    pbatch_spares_t *spares; /* when set: where this partition's batches take their
                              * buffers from and leave them */
    /* The batch that placed messages go into as they come, while the
     * queue is empty (its messages are older than the queue's): each is
     * written into the batch while the CPU still has it in its cache. */
    pbatch_t *open;
    batch_builder_t open_bb;  /* open's builder */
    size_t open_reserved;     /* open's room, counted in built_bytes */
    pbatch_t *batches, *batches_tail; /* built and not yet acknowledged */
    int in_flight;           /* batches on the wire */
    int32_t in_flight_node;  /* the broker they went to (valid while in_flight > 0) */
    bool seq_confirmed;      /* idempotence: a batch was acknowledged under the current producer id */
    int32_t next_sequence;
} ppart_t;

typedef struct ptopic {
    cluster_topic_t *ct;
    ppart_t **parts;
    int32_t part_count;
    pmsg_queue_t waiting;    /* before the topic's metadata is known */
    int32_t sticky_partition; /* keyless messages go here; -1: choose anew */
} ptopic_t;

typedef struct producer_io {
    struct samsa_producer *owner;
    cluster_t cluster;
    loop_t *loop;
    loop_timer_t *wake_timer;
    int64_t wake_due_ms;
    ptopic_t **topics;
    int topic_count;
    int64_t producer_id;     /* -1 until InitProducerId answered */
    int16_t producer_epoch;
    bool pid_requested;      /* an InitProducerId is in flight */
    bool need_new_pid;       /* sequences broke: get a new id once nothing is in flight */
    int in_flight_batches;
    size_t built_bytes;      /* every partition's built_bytes (see ppart_t) */
    pbatch_spares_t spares;  /* every partition's (see ppart_t) */
    struct ptopic *last_topic; /* the last a message was placed in */
    bool flushing;
    bool stopped;
    unsigned rand_state;
    samsa_err_t security_err; /* a connection failed TLS or SASL: fail what waits */
    char security_reason[512]; /* which broker and why */
} producer_io_t;

struct samsa_producer {
    client_config_t cfg;
    samsa_producer_callbacks_t cb;
    loop_t *loop;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t report_cond;  /* reports arrived */
    pthread_cond_t space_cond;   /* outstanding went down */
    pmsg_queue_t input;          /* lock */
    bool input_posted;           /* lock: a drain is posted to the loop */
    pmsg_queue_t reports;        /* lock */
    size_t outstanding_msgs;     /* lock: produced, report not yet served */
    size_t outstanding_bytes;    /* lock */
    int flush_requests;          /* lock */
    bool closed;                 /* lock */
    /* The topic the I/O thread placed messages in last, for produce() to
     * hand over with each message of that topic: most applications produce
     * to one topic at a time, and finding a message's topic by name on the
     * I/O thread cost that thread a tenth of its time (the name is a cache
     * miss there; here it is the caller's own string). */
    struct ptopic *hint;         /* lock */
    char hint_name[PRODUCER_TOPIC_MAX_BYTES + 1]; /* lock: hint's name */
    producer_io_t io;
};

/* ---- producer_batch.c ---- */

void pmsg_queue_push(pmsg_queue_t *q, pmsg_t *m);
pmsg_t *pmsg_queue_pop(pmsg_queue_t *q);


/* Locked (p->lock): whether the queue takes one more message of bytes
 * (queue.buffering.max.messages, buffer.memory). */
bool producer_queue_has_room(const samsa_producer_t *p, size_t bytes);

/* Locked (p->lock): hands m to the I/O thread, counting it as
 * outstanding (the caller checked the room). Returns SAMSA_ERR_NONE, or
 * loop_post()'s error and m stays the caller's. */
samsa_err_t producer_input_push(samsa_producer_t *p, pmsg_t *m);

/* A new message copied from a (and its headers, headers_bytes of names
 * and values; topic_len bytes of topic), in one allocation, key and value
 * only referenced when lent (SAMSA_MSG_F_LEND); a is checked already.
 * NULL when memory runs out. Any thread. */
pmsg_t *producer_msg_new(const samsa_produce_args_t *a, size_t headers_bytes, size_t topic_len);
/* Appends all of src to dst; src becomes empty. */
void pmsg_queue_concat(pmsg_queue_t *dst, pmsg_queue_t *src);

/* Frees the buffers s keeps. */
void pbatch_spares_free(pbatch_spares_t *s);

/* Messages that take at most PMSG_BLOCK_MAX_BYTES (producer_msg_new's one
 * allocation) get a block, their size rounded up to PMSG_BLOCK_STEP
 * bytes, and a freed block is kept by the thread that freed it for the
 * next message of its size that it produces. The rounding is tight: the
 * queue of messages is walked by the I/O thread, and blocks with room to
 * spare cost more in cache misses than the cache saves. */
#define PMSG_BLOCK_STEP 32
#define PMSG_BLOCK_MAX_BYTES 512

/* size bytes for a message: a block when size fits one, from this thread's
 * cache when it has one (*block_class is then set, else 0). NULL when
 * memory runs out. */
void *pmsg_alloc(size_t size, uint8_t *block_class);

/* Frees a message and its error string (not lent key/value); a block goes
 * to this thread's cache while it has room. */
void pmsg_free(pmsg_t *m);

/* Frees the blocks this thread's cache holds. */
void pmsg_cache_drop(void);

/* Sets a message's outcome to err, with an error string formatted from fmt
 * (the string is dropped, not the outcome, when memory runs out). */
void pmsg_set_error(pmsg_t *m, samsa_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends m to pp's queue, counting its estimated record size. */
void ppart_enqueue(ppart_t *pp, pmsg_t *m);

/* Whether pp's queue holds more than a full batch (by the estimate), so
 * that the front of it can be built now, while its messages are still in
 * the CPU's cache, into a batch as large as a later build would make. */
bool ppart_full(const ppart_t *pp, const client_config_t *cfg);

/* Whether pp's queue holds a whole batch: records that take batch.size
 * bytes in a batch (by the estimate; max.request.size caps it). */
bool ppart_batch_reached(const ppart_t *pp, const client_config_t *cfg);

/* Whether pp's open batch or queued messages should become a batch now:
 * a whole batch is waiting, the oldest waited linger.ms, or a flush asks. */
bool ppart_ready(const ppart_t *pp, const client_config_t *cfg, int64_t now_ms, bool flushing);

/* When pp's open batch or queue, not yet ready, will be: the oldest
 * message's linger deadline, or INT64_MAX when both are empty. */
int64_t ppart_ready_at(const ppart_t *pp, const client_config_t *cfg);

/* Appends m to pp's open batch (pp's queue must be empty), opening one
 * when there is none, and seals the batch (see ppart_seal) that cannot
 * take m, and the one that, with m, cannot take another message of m's
 * size; *sealed tells whether one was. Returns SAMSA_ERR_NONE, or an
 * error, and then m and the messages of its batch are failed into *failed
 * (the caller reports them). */
samsa_err_t ppart_add(ppart_t *pp, pmsg_t *m, const client_config_t *cfg, int64_t producer_id,
                      int16_t producer_epoch, pmsg_queue_t *failed, bool *sealed);

/* Finishes pp's open batch as ppart_build_batch finishes the batches it
 * builds. SAMSA_ERR__STATE when pp has none. */
samsa_err_t ppart_seal(ppart_t *pp, const client_config_t *cfg, int64_t producer_id,
                       int16_t producer_epoch, pmsg_queue_t *failed);

/* Gives pp's open batch back as messages, at the front of pp's queue. */
void ppart_unopen(ppart_t *pp);

/* Seals pp's open batch when it has one (it goes first); else takes
 * messages from the front of pp's queue, as many as fit in batch.size
 * (always at least one), builds their batch (compressed per cfg; stamped
 * with producer_id/epoch and the partition's next sequence when
 * producer_id >= 0) and appends it to pp's batch list. Returns
 * SAMSA_ERR_NONE, or a builder error, and then the messages taken are
 * failed into *failed (the caller reports them). */
samsa_err_t ppart_build_batch(ppart_t *pp, const client_config_t *cfg, int64_t producer_id,
                              int16_t producer_epoch, pmsg_queue_t *failed);

/* The oldest batch of pp not in flight, or NULL; it walks only the batches
 * in flight before it. */
pbatch_t *ppart_first_unsent(const ppart_t *pp);

/* The batch of pp that may be sent now, or NULL: the oldest one not in
 * flight, provided that fewer than max_in_flight are, its retry backoff is
 * over and, when it is a retry, nothing older is still in flight (so that
 * a retried batch never overtakes, nor is overtaken by, another). */
pbatch_t *ppart_next_sendable(const ppart_t *pp, int max_in_flight, int64_t now_ms);

/* Splits b (not in flight, two records or more), which the broker found
 * too large, into batches of half its records each, rebuilt at b's place in
 * pp's list with b's sequences (so later batches keep theirs), marked as
 * retries due at now_ms. b is freed. Returns SAMSA_ERR_NONE, or the
 * builder's error with the messages it could not place moved to *failed
 * (then the partition's sequences have a gap). */
samsa_err_t ppart_split_batch(ppart_t *pp, pbatch_t *b, const client_config_t *cfg,
                              int64_t producer_id, int16_t producer_epoch, int64_t now_ms,
                              pmsg_queue_t *failed);

/* Unlinks b from its partition's list; the caller owns it. */
void ppart_remove_batch(ppart_t *pp, pbatch_t *b);

/* Frees a batch (its messages must have been moved out). */
void pbatch_free(pbatch_t *b);

/* Renumbers pp's batches from sequence 0 with a new producer id and epoch,
 * recomputing each batch's CRC, and sets next_sequence after them. */
void ppart_restamp(ppart_t *pp, int64_t producer_id, int16_t producer_epoch);

/* ---- producer_io.c ---- */

/* Sets up the I/O side (cluster from p->cfg). Returns SAMSA_ERR_NONE or an
 * error with errbuf filled. */
samsa_err_t producer_io_init(samsa_producer_t *p, char *errbuf, size_t errlen);

/* Loop thread: takes the input queue and runs a round. */
void producer_io_drain(void *producer);

/* After the loop thread stopped: fails everything still held with
 * SAMSA_ERR__DESTROYED into the report queue and frees the I/O state. */
void producer_io_shutdown(samsa_producer_t *p);

/* Moves finished messages to the report queue and wakes poll(). Any thread
 * holding no producer lock. */
void producer_report(samsa_producer_t *p, pmsg_queue_t *done);

#endif /* SAMSA_CLIENT_PRODUCER_INT_H */
