/*
 * log.h: the partition log, samsa's storage engine, for the layers above
 * (the broker). Internals are in log_int.h; see also lib/log/README.md.
 *
 * On disk
 *   A log directory (one of log.dirs) holds one directory per partition,
 *   "<topic>-<partition>". Each partition directory holds:
 *     <20-digit base offset>.log        record batches (magic 2) exactly as on
 *                                       the wire, with the base offset and
 *                                       partition leader epoch the log stamped
 *     <base>.index                      sparse offset index: 8-byte entries,
 *                                       big-endian (relative offset u32,
 *                                       file position u32), one per
 *                                       index.interval.bytes of log, each
 *                                       pointing at the start of a batch
 *     <base>.timeindex                  time index: 12-byte entries (timestamp
 *                                       i64, relative offset u32): every batch
 *                                       before that offset has a max timestamp
 *                                       <= timestamp
 *     checkpoint                        recovery point and log start offset
 *     clean-shutdown                    present only after a clean close
 *     .lock                             held (OFD lock) while the log is open;
 *                                       holds the owner's pid
 *   A log directory also holds a ".lock" taken by log_dir_open().
 *
 * Offsets
 *   log start offset <= every readable offset < log end offset (LEO). The
 *   high watermark equals the LEO (no replication). Offsets are assigned
 *   consecutively by append; DeleteRecords and retention move the log start.
 *
 * Durability (the policy; see log_config_t)
 *   Appended data is in the page cache when append returns. It is made
 *   durable (fdatasync) by partition_log_flush(), which runs:
 *     - every log.flush.interval.messages messages, inline in append (Kafka's
 *       rule; default: never);
 *     - every log.flush.interval.ms, from the flusher thread (default: never);
 *     - on acknowledgment when log.flush.on.ack is true (the default): append
 *       returns at once; a caller that must acknowledge durably asks the
 *       flusher thread with partition_log_sync_soon() (or syncs itself with
 *       partition_log_wait_durable()); requests that arrive while a sync
 *       runs share the next one (group commit). The caller acknowledges a
 *       write only once partition_log_durable_offset() has passed its last
 *       offset, or the on_durable callback said so. Data nobody waits for
 *       (acks 0 and 1) is synced at the flusher's next round, within a
 *       second: syncing it at once cost a 2-core machine serving 10,000
 *       one-message requests a second about 2,400 fdatasyncs a second and
 *       doubled the clients' end-to-end latency.
 *   Why on-ack by default: Kafka never fsyncs and relies on replicas for
 *   acknowledged data; a single samsa node has no replicas, so without a
 *   sync an acknowledged write can vanish with a power cut. Group commit
 *   keeps the cost to one fdatasync per batch of concurrent acknowledgments
 *   (see the bench figures in README.md). A developer broker that prefers
 *   latency sets log.flush.on.ack=false and gets Kafka's behaviour.
 *
 * Threads
 *   Every partition_log_* function may be called from any thread: a mutex
 *   per partition serialises appends, reads (which only take references),
 *   flushes and retention; an fdatasync runs outside the mutex. The broker's
 *   model is one thread appending and reading, plus the flusher thread
 *   (log_flusher_*) that syncs and applies retention.
 *
 * Errors
 *   SAMSA_ERR__NOSPC when the disk is full (the append is not written and
 *   may be retried once space is freed), SAMSA_ERR__STORAGE for other I/O or
 *   permission failures. A failed fdatasync leaves the partition failed:
 *   appends return SAMSA_ERR__STORAGE until it is reopened (the page cache
 *   may have dropped the data); reads keep working. The broker reports both
 *   as KAFKA_STORAGE_ERROR for that partition.
 */
#ifndef SAMSA_LOG_LOG_H
#define SAMSA_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "samsa.h"

typedef struct partition_log partition_log_t;
typedef struct log_segment log_segment_t;
typedef struct log_dir log_dir_t;
typedef struct log_flusher log_flusher_t;

/* How the active segment is written. Both are measured by bench_log; see
 * README.md for the figures behind the default (LOG_WRITE_PWRITE). */
typedef enum log_write_mode {
    LOG_WRITE_PWRITE = 0, /* pwrite() into the file; reads use the mapping */
    LOG_WRITE_MMAP = 1,   /* memcpy into the shared mapping */
} log_write_mode_t;

/* Called by whichever thread completed a flush, without any log lock held,
 * when offsets below durable_end_offset are on disk. */
typedef void log_durable_fn(void *opaque, partition_log_t *pl, int64_t durable_end_offset);

/* Per-partition settings. Names in comments are the keys log_config_set()
 * accepts (topic-level name / broker-level name). */
typedef struct log_config {
    int64_t segment_bytes;           /* segment.bytes / log.segment.bytes: roll size, 1 GiB, <= 2^31-1 */
    int64_t segment_ms;              /* segment.ms / log.roll.ms: roll age, 7 days */
    int64_t segment_index_bytes;     /* segment.index.bytes / log.index.size.max.bytes: 10 MiB cap */
    int64_t index_interval_bytes;    /* index.interval.bytes / log.index.interval.bytes: 4096 */
    int64_t retention_ms;            /* retention.ms / log.retention.ms: 7 days, -1 unlimited */
    int64_t retention_bytes;         /* retention.bytes / log.retention.bytes: -1 unlimited */
    int64_t flush_interval_messages; /* flush.messages / log.flush.interval.messages: INT64_MAX */
    int64_t flush_interval_ms;       /* flush.ms / log.flush.interval.ms: -1 never */
    bool flush_on_ack;               /* log.flush.on.ack: acks wait for fdatasync, true */
    log_write_mode_t write_mode;     /* log.segment.write.mode: pwrite | mmap */
    int64_t preallocate_bytes;       /* log.segment.preallocate.bytes: active segment grows by
                                        this much at a time (fallocate), 8 MiB */
    log_durable_fn *on_durable;      /* optional, see log_durable_fn */
    void *on_durable_opaque;
} log_config_t;

/* Fills cfg with the defaults listed above. */
void log_config_init(log_config_t *cfg);

/* Sets one property by its Kafka (or samsa) name. Returns
 * SAMSA_ERR__UNKNOWN_CONFIG for an unknown key and SAMSA_ERR__INVALID_CONFIG
 * for a bad value; either way errbuf (may be NULL) names the key and what is
 * allowed, and cfg is unchanged. */
samsa_err_t log_config_set(log_config_t *cfg, const char *key, const char *value, char *errbuf,
                           size_t errlen);

/* ---- log directories -------------------------------------------------- */

/* Identifies one partition found on disk by log_dir_discover(). */
typedef struct log_partition_id {
    char topic[256];
    int32_t partition;
    size_t dir_index; /* which of the log dirs holds it */
} log_partition_id_t;

/* Opens the log directories paths[0..n-1] (log.dirs), creating missing ones,
 * and locks each with its ".lock" file. Returns NULL and fills errbuf when a
 * directory cannot be created or is locked by another holder (the message
 * names the path and the holder's pid). The caller closes the result with
 * log_dir_close(). Not thread-safe against itself; the handle is read-only
 * afterwards, so any thread may use it. */
log_dir_t *log_dir_open(const char *const *paths, size_t n, char *errbuf, size_t errlen);

/* Releases the locks and frees ld (NULL is fine). */
void log_dir_close(log_dir_t *ld);

size_t log_dir_count(const log_dir_t *ld);
const char *log_dir_path(const log_dir_t *ld, size_t i);

/* Lists the partition directories in every log dir. Entries that are not
 * "<topic>-<partition>" directories are skipped with a warning. On success
 * *out is a malloc'd array (the caller frees it; NULL when *n is 0).
 * Returns SAMSA_ERR__STORAGE when a directory cannot be read,
 * SAMSA_ERR__NOMEM. */
samsa_err_t log_dir_discover(const log_dir_t *ld, log_partition_id_t **out, size_t *n);

/* The log dir where a new partition should go: the one holding the fewest
 * partitions, as Kafka chooses. The string belongs to ld. */
const char *log_dir_choose(const log_dir_t *ld);

/* ---- a partition ------------------------------------------------------ */

/* Opens (creating if needed) the partition <dir>/<topic>-<partition>,
 * recovering it when it was not closed cleanly: every segment from the
 * recovery point on is checked batch by batch (length, magic, CRC, offsets)
 * and the log is cut at the first torn or corrupt batch, with a warning that
 * names the file, the position and the reason; missing or inconsistent index
 * files are rebuilt. cfg is copied. Returns NULL and fills errbuf (may be
 * NULL) on failure: bad topic name or config, directory locked by another
 * holder (named), I/O error. Close with partition_log_close(). */
partition_log_t *partition_log_open(const char *dir, const char *topic, int32_t partition,
                                    const log_config_t *cfg, char *errbuf, size_t errlen);

/* Closes pl. With clean, flushes everything, trims the active segment and
 * its indexes and writes the clean-shutdown marker so the next open skips
 * recovery; without, just releases memory and files (as a crash would, for
 * tests). Reads still held stay valid until released. The caller removes
 * pl from its flusher first. Returns the first error met while flushing,
 * or SAMSA_ERR__STORAGE when a clean close was asked of a failed partition
 * (it closes unclean: the next open recovers); pl is freed anyway. */
samsa_err_t partition_log_close(partition_log_t *pl, bool clean);

/* Appends the batches at batches[0..len), one or more concatenated
 * magic-2 batches (one Produce request's records for this partition).
 * Every batch is validated first (length, magic, CRC-32C); if one fails,
 * nothing is written and SAMSA_ERR_CORRUPT_MESSAGE is returned. Otherwise
 * the log stamps each batch's base offset and the partition leader epoch
 * IN PLACE in the caller's buffer (outside the CRC), writes the bytes to the
 * active segment (rolling first when needed) and returns the first and last
 * offsets assigned through the out pointers (either may be NULL). The buffer
 * stays the caller's. Returns SAMSA_ERR_MESSAGE_TOO_LARGE when len exceeds
 * segment.bytes, SAMSA_ERR__NOSPC / SAMSA_ERR__STORAGE on I/O failure (the
 * log is unchanged), SAMSA_ERR__INVALID_ARG for len 0. Data is readable at
 * once; whether it is durable is partition_log_durable_offset()'s answer. */
samsa_err_t partition_log_append(partition_log_t *pl, uint8_t *batches, size_t len,
                                 int32_t leader_epoch, int64_t *base_offset_out,
                                 int64_t *last_offset_out);

/* partition_log_append() followed by partition_log_wait_durable() for the
 * offsets it wrote: returns once they are on disk. Blocks; for threads that
 * may wait (tests, benchmarks, simple embedders), not the event loop. Many
 * threads calling it at once share fdatasyncs (group commit). */
samsa_err_t partition_log_append_durable(partition_log_t *pl, uint8_t *batches, size_t len,
                                         int32_t leader_epoch, int64_t *base_offset_out,
                                         int64_t *last_offset_out);

/* Blocks until every offset below end_offset is durable, syncing itself
 * when no other thread is (so it never depends on a flusher thread).
 * Returns SAMSA_ERR__STORAGE if the partition failed. */
samsa_err_t partition_log_wait_durable(partition_log_t *pl, int64_t end_offset);

/* Without blocking: asks pl's flusher thread to sync now, for a caller
 * that waits for a durable offset (an acks=all Produce, an OffsetCommit)
 * and learns of it from on_durable or partition_log_durable_offset().
 * Requests made while a sync runs share the next one. Does nothing when pl
 * has no flusher. Any thread. */
void partition_log_sync_soon(partition_log_t *pl);

/* The first offset that is not yet known to be on disk. */
int64_t partition_log_durable_offset(partition_log_t *pl);

/* One contiguous range of a segment file returned by partition_log_read().
 * While held (until log_read_release()), fd, data and the bytes stay valid
 * even if retention deletes the segment. */
typedef struct log_read {
    int fd;                  /* the segment's .log file, for sendfile() */
    int64_t file_position;   /* where the range starts in that file */
    size_t length_bytes;     /* 0 when the offset asked for is the log end */
    const uint8_t *data;     /* the same bytes in the mapping */
    int64_t first_offset;    /* base offset of the first batch returned */
    int64_t next_offset;     /* the offset after the last batch returned */
    int64_t high_watermark;  /* at the time of the read */
    int64_t log_start_offset;
    log_segment_t *segment;  /* the reference this read holds */
} log_read_t;

/* Reads from offset: the batch that contains it (whole, even when offset
 * is inside it) and the batches after it in the same segment, as many as fit
 * in max_bytes, but always at least the first batch (as Kafka's fetch does,
 * so a large batch never stalls a consumer). Reading at the log end gives an
 * empty range. Returns SAMSA_ERR_OFFSET_OUT_OF_RANGE (out's offsets still
 * filled) when offset is below the log start or above the log end. On
 * success the caller must call log_read_release(out) (also for an empty
 * range). Any thread. */
samsa_err_t partition_log_read(partition_log_t *pl, int64_t offset, size_t max_bytes,
                               log_read_t *out);

/* Drops the reference a read holds; any thread; idempotent. */
void log_read_release(log_read_t *r);

/* For a reader that sends the range with sendfile() from r->fd and never
 * touches r->data: partition_log_read() faulted in the pages of the batch
 * headers it scanned (and the kernel maps their neighbours too), which
 * would count every page a consumer reads as this process's memory. This
 * unmaps them again (the page cache keeps them; r->data stays valid and
 * would fault them back). Any thread. */
void log_read_unmap(const log_read_t *r);

/* ListOffsets by timestamp: the base offset of the first batch whose max
 * timestamp is >= timestamp_ms (found with the time index), and that max
 * timestamp. A record-exact answer is the first record of that batch with a
 * timestamp >= timestamp_ms, which the caller finds by reading the batch.
 * Returns SAMSA_ERR__NOENT when no batch qualifies (Kafka answers offset
 * -1 then). The special timestamps -1 and -2 are the caller's (LEO, start). */
samsa_err_t partition_log_offset_for_timestamp(partition_log_t *pl, int64_t timestamp_ms,
                                               int64_t *offset_out, int64_t *timestamp_out);

int64_t partition_log_start_offset(partition_log_t *pl);
int64_t partition_log_end_offset(partition_log_t *pl);
int64_t partition_log_high_watermark(partition_log_t *pl);

/* DeleteRecords: moves the log start offset up to offset (-1 means the high
 * watermark), persists it, and deletes the segments wholly below it (never
 * the active one). An offset below the current start changes nothing.
 * Returns SAMSA_ERR_OFFSET_OUT_OF_RANGE when offset is above the high
 * watermark, SAMSA_ERR__STORAGE when the checkpoint cannot be written. The
 * new log start offset is stored in *low_watermark_out (may be NULL). */
samsa_err_t partition_log_delete_records(partition_log_t *pl, int64_t offset,
                                         int64_t *low_watermark_out);

/* Applies retention at wall-clock time now_ms: deletes, oldest first, whole
 * segments (never the active one) whose max timestamp is older than
 * retention.ms, then while the log is larger than retention.bytes by at
 * least the oldest segment's size, then segments wholly below the log start
 * offset. Readers holding a deleted segment keep it until they release it.
 * Returns the number of segments deleted, or a negative samsa_err_t. */
int partition_log_apply_retention(partition_log_t *pl, int64_t now_ms);

/* fdatasyncs every segment with unsynced data (fsync for the segments
 * rolled since, and the directory when files were created) and advances
 * the durable offset. Returns SAMSA_ERR__STORAGE on failure, after which the
 * partition is failed (see Errors). Blocks for the sync; any thread. */
samsa_err_t partition_log_flush(partition_log_t *pl);

/* Flushes when log.flush.interval.ms has passed since the last flush and
 * data is waiting, or when log.flush.on.ack is set and data is waiting.
 * For the flusher thread. */
samsa_err_t partition_log_flush_if_due(partition_log_t *pl, int64_t now_mono_ms);

/* Sizes, for metrics, DescribeLogDirs and tests. */
typedef struct log_stats {
    size_t segment_count;
    uint64_t size_bytes;      /* all segments' data */
    int64_t active_base_offset;
} log_stats_t;
void partition_log_stats(partition_log_t *pl, log_stats_t *out);

/* "<topic>-<partition>"; the string belongs to pl. */
const char *partition_log_name(const partition_log_t *pl);

/* ---- internal topics -------------------------------------------------- */

/* One record for log_records_encode(): key and value may be NULL (Kafka's
 * null), lengths in bytes. */
typedef struct log_record {
    const void *key;
    size_t key_bytes;
    const void *value;
    size_t value_bytes;
} log_record_t;

/* Encodes records[0..n) as one uncompressed magic-2 batch with every record
 * at timestamp_ms, producer id -1, and a valid CRC, appended to out (a
 * buf_t from base/buf.h, passed as void* to keep this header light).
 * Returns SAMSA_ERR__NOMEM when out fails to grow, SAMSA_ERR__INVALID_ARG
 * for n == 0. Lets the broker write internal topics (committed offsets) and
 * tests build batches. */
samsa_err_t log_records_encode(void *out_buf, const log_record_t *records, size_t n,
                               int64_t timestamp_ms);

/* Encodes records as one batch and appends it (partition_log_append).
 * The offsets go to *base_offset_out (may be NULL). */
samsa_err_t partition_log_append_records(partition_log_t *pl, const log_record_t *records,
                                         size_t n, int64_t timestamp_ms, int32_t leader_epoch,
                                         int64_t *base_offset_out);

/* ---- the flusher thread ------------------------------------------------ */

/* Starts a thread that, for every partition added: syncs on request
 * (partition_log_sync_soon), on log.flush.interval.ms, and applies
 * retention every retention_check_ms (log.retention.check.interval.ms;
 * <= 0 disables). Returns NULL and fills errbuf when the thread cannot
 * start. */
log_flusher_t *log_flusher_start(int64_t retention_check_ms, char *errbuf, size_t errlen);

/* Adds pl (which must stay open until removed). Returns SAMSA_ERR__NOMEM. */
samsa_err_t log_flusher_add(log_flusher_t *fl, partition_log_t *pl);

/* Removes pl; when it returns, the thread no longer touches pl. */
void log_flusher_remove(log_flusher_t *fl, partition_log_t *pl);

/* Stops the thread and frees fl (partitions are not closed). */
void log_flusher_stop(log_flusher_t *fl);

#endif /* SAMSA_LOG_LOG_H */
