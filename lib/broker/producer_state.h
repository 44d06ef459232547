/*
 * producer_state.h: idempotent producers: who may write to a partition with
 * which sequence numbers, and which batches were already written.
 *
 * Per partition, for each producer id: its epoch and the last five batches
 * it wrote (first and last sequence, base and last offset, timestamp), as
 * Kafka keeps them. The broker calls producer_state_check() for every batch
 * of a Produce request before appending, and producer_state_update() after
 * the append gave it offsets. The state survives restarts: it is written
 * as a snapshot file in the partition's directory and, after an unclean
 * stop, the batches after the snapshot are replayed from the log.
 *
 * The rules are Kafka's (ProducerAppendInfo.checkSequence and
 * ProducerStateEntry.findDuplicateBatch, Kafka 2.5 to 4.x), checked in this
 * order for a batch with producer id P, epoch E, first sequence S:
 *   - control batch                           INVALID_RECORD (clients may not
 *                                             write them; LogValidator's rule)
 *   - P < 0                                   append, no checks
 *   - S < 0                                   INVALID_RECORD (LogValidator)
 *   - no state for P                          append, whatever S is (Kafka
 *                                             stopped answering
 *                                             UNKNOWN_PRODUCER_ID in 2.5,
 *                                             KIP-360: the producer's earlier
 *                                             batches may have been deleted
 *                                             by retention)
 *   - E equals P's epoch and (S, last seq)    DUPLICATE_SEQUENCE_NUMBER with
 *     equal one of the five cached batches    that batch's base offset
 *   - E below P's epoch                       INVALID_PRODUCER_EPOCH (what
 *                                             Kafka 2.7+ returns to produce
 *                                             requests, not PRODUCER_FENCED)
 *   - E above P's epoch and S != 0            OUT_OF_ORDER_SEQUENCE_NUMBER
 *   - E equals P's epoch and S is not the     OUT_OF_ORDER_SEQUENCE_NUMBER
 *     last sequence + 1 (INT32_MAX wraps to 0)
 *   - otherwise                               append
 * A batch's last sequence is S + LastOffsetDelta, wrapping past INT32_MAX.
 *
 * Snapshot files: "<20-digit offset>.snapshot" in the partition directory,
 * the offset being the log end offset the state covers (every batch below
 * it is in the state). Written to "<name>.tmp", fsync'd, renamed, and the
 * directory fsync'd; the two newest are kept. Format (version 1, big-endian):
 *   magic "SPST" | version u16 = 1 | flags u16 = 0 | end offset i64 |
 *   producer count u32 | per producer: producer id i64, epoch i16,
 *   batch count u8 (0..5), reserved u8 = 0, last timestamp i64, then per
 *   batch (oldest first): first seq i32, last seq i32, base offset i64,
 *   last offset delta i32, max timestamp i64 | CRC-32C u32 of every byte
 *   before it.
 * At open the newest valid snapshot not beyond the log end is loaded (a
 * snapshot past the log end describes data that recovery cut and is
 * deleted; a corrupt one is deleted with a warning and the next older one
 * tried; with none the whole log is replayed), then the log's batches from
 * that offset on are replayed, so the state is exact after an unclean stop.
 *
 * Producer ids come from producer_ids_*, persisted per broker.
 * Not thread-safe: the broker's event-loop thread owns both.
 */
#ifndef SAMSA_BROKER_PRODUCER_STATE_H
#define SAMSA_BROKER_PRODUCER_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/request.h"
#include "log/log.h"
#include "proto/batch.h"
#include "samsa.h"

/* Batches remembered per producer for duplicate detection (Kafka's
 * ProducerStateEntry.NUM_BATCHES_TO_RETAIN; clients keep at most five
 * requests in flight per partition for the same reason). */
#define PRODUCER_STATE_BATCHES 5

/* One batch a producer wrote. */
typedef struct producer_batch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
    int32_t last_offset_delta; /* the batch's last offset is base_offset + this */
    int64_t max_timestamp_ms;
} producer_batch_t;

/* What a partition knows of one producer. */
typedef struct producer_entry {
    int64_t producer_id;       /* -1 marks a free slot inside the state */
    int16_t epoch;
    uint8_t batch_count;       /* 1..PRODUCER_STATE_BATCHES */
    int64_t last_timestamp_ms; /* max timestamp of its newest batch */
    producer_batch_t batches[PRODUCER_STATE_BATCHES]; /* oldest first */
} producer_entry_t;

typedef struct producer_state producer_state_t;

/* Loads the state of the partition whose directory is dir (the newest
 * valid snapshot there, if any) and replays the batches of pl written
 * after it; then drops producers below the log start (truncate_head).
 * dir is copied; pl is borrowed and must stay open until the state is
 * closed or freed. Returns NULL with the reason in errbuf on failure (no
 * memory, the directory or the log cannot be read). */
producer_state_t *producer_state_open(const char *dir, partition_log_t *pl, char *errbuf,
                                      size_t errlen);

/* Writes a snapshot (durably: temp file, fsync, rename) and frees the state.
 * Returns the snapshot's error (SAMSA_ERR__NOMEM, SAMSA_ERR__NOSPC,
 * SAMSA_ERR__STORAGE); ps is freed either way. Call it before closing pl. */
samsa_err_t producer_state_close(producer_state_t *ps);

/* Frees the state without writing a snapshot: for a partition being
 * deleted, and for tests that simulate a crash. NULL is fine. */
void producer_state_free(producer_state_t *ps);

/* Decides what to do with a batch (its header, as validated by the log):
 *   SAMSA_ERR_NONE                      append it
 *   SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER it was written before: do not append;
 *                                       *dup_base_offset is where it went, and
 *                                       the producer gets a success with it
 *   SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, SAMSA_ERR_INVALID_PRODUCER_EPOCH,
 *   SAMSA_ERR_INVALID_RECORD             refuse it, as Kafka does (see the
 *                                        rules at the top)
 *   SAMSA_ERR__NOMEM                     no room to track a new producer:
 *                                        refuse it (KAFKA_STORAGE_ERROR)
 * Batches without a producer id (-1) are always appended. Several batches
 * of one producer in one request: check, append and update each in turn
 * (the check of the second needs the update of the first). Never changes
 * the state: only producer_state_update() does (for a new producer it may
 * grow the table, which moves entries that producer_state_find returned). */
samsa_err_t producer_state_check(producer_state_t *ps, const batch_header_t *h,
                                 int64_t *dup_base_offset);

/* Records a batch that was appended at base_offset (no checks: the log
 * holds it now). Batches without a producer id and control batches are
 * ignored. A batch of a new epoch forgets the producer's earlier batches. */
void producer_state_update(producer_state_t *ps, const batch_header_t *h, int64_t base_offset);

/* Drops producers whose batches are all below the log start offset (after
 * retention or DeleteRecords). */
void producer_state_truncate_head(producer_state_t *ps, int64_t log_start_offset);

/* Drops producers whose newest batch's max timestamp is expiration_ms or
 * more before now_ms (Kafka's producer.id.expiration.ms, one day by
 * default; checked every producer.id.expiration.check.interval.ms, ten
 * minutes). Without it, every idempotent producer that ever wrote stays in
 * memory until its batches leave the log. Returns how many were dropped. */
size_t producer_state_expire(producer_state_t *ps, int64_t now_ms, int64_t expiration_ms);

/* Writes a snapshot now (the broker calls it periodically and on roll).
 * Returns SAMSA_ERR__NOMEM, SAMSA_ERR__NOSPC or SAMSA_ERR__STORAGE on
 * failure, leaving the previous snapshots in place. Blocks for two fsyncs. */
samsa_err_t producer_state_snapshot(producer_state_t *ps);

/* The state of one producer, or NULL when the partition has none. The
 * pointer is valid until the next update, truncate, expire or close. */
const producer_entry_t *producer_state_find(const producer_state_t *ps, int64_t producer_id);

/* How many producers the partition tracks. */
size_t producer_state_count(const producer_state_t *ps);

/* Replaces the file name in the directory dir_fd with len bytes at data,
 * durably: writes "<name>.tmp", fsyncs it, renames it over name and fsyncs
 * the directory, so a crash leaves the old file or the new one, whole.
 * Returns SAMSA_ERR__NOSPC, SAMSA_ERR__STORAGE (the temp file is removed)
 * or SAMSA_ERR__INVALID_ARG for a name over 500 bytes. Any thread. */
samsa_err_t producer_file_write(int dir_fd, const char *name, const void *data, size_t len);

/* ---- producer ids ---------------------------------------------------- */

typedef struct producer_ids producer_ids_t;

/* Ids are reserved on disk this many at a time. */
#define PRODUCER_IDS_BLOCK 1000

/* The id allocator kept in file path (created when absent). Ids are handed
 * out in blocks: the file records the end of the current block, so ids are
 * never reused after a restart, even after a crash (a restart skips the
 * rest of the block). File format, 20 bytes big-endian: magic "SPID" |
 * version u16 = 1 | flags u16 = 0 | block end i64 | CRC-32C u32 of the 16
 * bytes before it. A file that exists but is unreadable or corrupt is an
 * error (starting over would hand out ids again). NULL with errbuf filled
 * on failure. */
producer_ids_t *producer_ids_open(const char *path, char *errbuf, size_t errlen);
/* Frees ids (NULL is fine); nothing needs writing. */
void producer_ids_close(producer_ids_t *ids);
/* The next producer id, or -1 with *err set (SAMSA_ERR__NOSPC,
 * SAMSA_ERR__STORAGE) when the file cannot be updated. */
int64_t producer_ids_next(producer_ids_t *ids, samsa_err_t *err);

/* An id and epoch for an idempotent producer (InitProducerId without a
 * transactional id). With expected_id >= 0 (v3+ requests of a producer
 * that already has an id, KIP-360): when expected_id was handed out by this
 * allocator since it was opened (the most recent 4096 grants are kept) and
 * expected_epoch is its current epoch, the same id with the epoch bumped;
 * when expected_epoch is the epoch before the current one (a retry whose
 * response was lost), the current epoch again; in every other case (an id
 * from before a restart, a stale epoch, an epoch at 32766, Kafka's
 * "exhausted") a new id with epoch 0, which is what Kafka's coordinator
 * always answers to idempotent producers. Returns SAMSA_ERR_NONE or
 * producer_ids_next()'s error. */
samsa_err_t producer_ids_init(producer_ids_t *ids, int64_t expected_id, int16_t expected_epoch,
                              int64_t *id_out, int16_t *epoch_out);

/* The InitProducerId handler (any version 0-5): answers req through
 * broker_request_respond() before returning (req must not be used after).
 *   - null transactional id: producer_ids_init() (expected id and epoch
 *     from v3 on); KAFKA_STORAGE_ERROR (retriable) when the id file cannot
 *     be written;
 *   - empty transactional id: INVALID_REQUEST, as Kafka;
 *   - any other transactional id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
 *     samsa has no transaction coordinator. Java's producer, librdkafka,
 *     franz-go and kafka-python do not retry this code, so
 *     initTransactions() fails at once with an authorization error,
 *     instead of retrying until a timeout as COORDINATOR_NOT_AVAILABLE or
 *     NOT_COORDINATOR would make them; the broker logs why.
 * Errors carry producer id -1 and epoch -1. */
void producer_ids_handle_init(producer_ids_t *ids, broker_request_t *req);

#endif /* SAMSA_BROKER_PRODUCER_STATE_H */
