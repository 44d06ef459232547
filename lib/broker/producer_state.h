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
 * Producer ids come from producer_ids_*, persisted per broker.
 * Not thread-safe: the broker's event-loop thread owns both.
 */
#ifndef SAMSA_BROKER_PRODUCER_STATE_H
#define SAMSA_BROKER_PRODUCER_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "log/log.h"
#include "proto/batch.h"
#include "samsa.h"

typedef struct producer_state producer_state_t;

/* Loads the state of the partition whose directory is dir (the newest
 * snapshot there, if any) and replays the batches of pl written after it.
 * Returns NULL with the reason in errbuf on failure. */
producer_state_t *producer_state_open(const char *dir, partition_log_t *pl, char *errbuf,
                                      size_t errlen);

/* Writes a snapshot (durably: temp file, fsync, rename) and frees the state. */
samsa_err_t producer_state_close(producer_state_t *ps);

/* Decides what to do with a batch (its header, as validated by the log):
 *   SAMSA_ERR_NONE                      append it
 *   SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER it was written before: do not append;
 *                                       *dup_base_offset is where it went, and
 *                                       the producer gets a success with it
 *   SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, SAMSA_ERR_INVALID_PRODUCER_EPOCH,
 *   SAMSA_ERR_UNKNOWN_PRODUCER_ID        refuse it, as Kafka does
 * Batches without a producer id (-1) are always appended. */
samsa_err_t producer_state_check(producer_state_t *ps, const batch_header_t *h,
                                 int64_t *dup_base_offset);

/* Records a batch that was appended at base_offset. */
void producer_state_update(producer_state_t *ps, const batch_header_t *h, int64_t base_offset);

/* Drops producers whose batches are all below the log start offset (after
 * retention or DeleteRecords). */
void producer_state_truncate_head(producer_state_t *ps, int64_t log_start_offset);

/* Writes a snapshot now (the broker calls it periodically and on roll). */
samsa_err_t producer_state_snapshot(producer_state_t *ps);

/* ---- producer ids ---------------------------------------------------- */

typedef struct producer_ids producer_ids_t;

/* The id allocator kept in file path (created when absent). Ids are handed
 * out in blocks: the file records the end of the current block, so ids are
 * never reused after a restart. NULL with errbuf filled on failure. */
producer_ids_t *producer_ids_open(const char *path, char *errbuf, size_t errlen);
void producer_ids_close(producer_ids_t *ids);
/* The next producer id, or -1 with *err set when the file cannot be updated. */
int64_t producer_ids_next(producer_ids_t *ids, samsa_err_t *err);

#endif /* SAMSA_BROKER_PRODUCER_STATE_H */
