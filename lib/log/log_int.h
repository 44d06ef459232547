/*
 * log_int.h: the log module's private header: segments, their indexes and
 * the partition structure. Only the files of lib/log include it.
 */
#ifndef SAMSA_LOG_LOG_INT_H
#define SAMSA_LOG_LOG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log.h"
#include "proto/batch.h"

#define LOG_MODULE "log"
#define LOG_OFFSET_INDEX_ENTRY_BYTES 8
#define LOG_TIME_INDEX_ENTRY_BYTES 12
#define LOG_CHECKPOINT_FILE "checkpoint"
#define LOG_CLEAN_FILE "clean-shutdown"
#define LOG_LOCK_FILE ".lock"

/* ---- index.c: a memory-mapped, append-only array of fixed-size entries -- */

typedef struct log_index {
    int fd;
    uint8_t *map;            /* mapping of map_bytes, or NULL */
    size_t map_bytes;
    size_t capacity_entries; /* entries the file has room for */
    size_t entries;          /* valid entries */
    unsigned entry_bytes;    /* 8 (offset index) or 12 (time index) */
} log_index_t;

/* Opens (create: creating or emptying) the index file at path. Existing
 * entries are the whole entries in the file. Returns 0 or an errno. */
int index_open(log_index_t *ix, const char *path, unsigned entry_bytes, bool create);
/* Grows the file to hold capacity_entries (fallocate) and maps it for
 * appending. Returns 0 or an errno. */
int index_reserve(log_index_t *ix, size_t capacity_entries);
/* Cuts the file to its valid entries (on roll and clean close). */
int index_trim(log_index_t *ix);
int index_sync(log_index_t *ix);
void index_close(log_index_t *ix);
static inline bool index_full(const log_index_t *ix, size_t more)
{
    return ix->entries + more > ix->capacity_entries;
}

/* Offset index: (offset relative to the segment base, file position of the
 * batch starting there). */
void index_append_offset(log_index_t *ix, uint32_t rel_offset, uint32_t position);
/* Position of the last entry whose offset is <= rel_offset, 0 if none. */
uint32_t index_lookup_offset(const log_index_t *ix, uint32_t rel_offset);
uint32_t index_last_position(const log_index_t *ix);
/* Whether offsets and positions rise strictly and stay below the limits. */
bool index_check_offset(const log_index_t *ix, uint32_t rel_limit, uint32_t position_limit);

/* Time index: (timestamp, relative offset): every batch below the offset has
 * a max timestamp <= timestamp. */
void index_append_time(log_index_t *ix, int64_t timestamp_ms, uint32_t rel_offset);
/* Relative offset of the last entry with timestamp < timestamp_ms, or -1. */
int64_t index_lookup_time(const log_index_t *ix, int64_t timestamp_ms);
/* Timestamp of the last entry, or -1 when empty. */
int64_t index_last_timestamp(const log_index_t *ix);
bool index_check_time(const log_index_t *ix, uint32_t rel_limit);

/* ---- segment.c: one .log file with its two indexes ---------------------- */

struct log_segment {
    int64_t base_offset;
    int64_t next_offset;       /* offset after the last batch */
    char *path;                /* "<dir>/<20 digits>" without suffix */
    int fd;
    uint8_t *map;              /* MAP_SHARED, map_bytes long (the capacity when active) */
    size_t map_bytes;
    bool map_writable;
    size_t size_bytes;         /* bytes of complete batches */
    size_t alloc_bytes;        /* file bytes allocated so far (active segment) */
    size_t flushed_bytes;      /* bytes known to be on disk */
    bool sealed_synced;        /* rolled, and file size + indexes are on disk */
    bool active;
    log_index_t offset_index;
    log_index_t time_index;
    size_t bytes_since_index;
    int64_t max_timestamp_ms;  /* largest batch max timestamp, -1 when none */
    int64_t created_ms;        /* wall clock when created or opened, for segment.ms */
    int refcount;              /* atomic: the partition's + readers' */
};

/* Creates an empty segment at base_offset in dir (files truncated when
 * left over from a failed roll) and makes it active. Returns NULL with
 * *err set (and errno-derived text in errbuf). */
log_segment_t *segment_create(const char *dir, int64_t base_offset, const log_config_t *cfg,
                              samsa_err_t *err, char *errbuf, size_t errlen);
/* Opens an existing segment's .log and indexes without checking them. */
log_segment_t *segment_open(const char *dir, int64_t base_offset, samsa_err_t *err, char *errbuf,
                            size_t errlen);

/* Checks and completes an opened segment. With full_scan, every batch is
 * validated (CRC included), the log is cut at the first bad one (warning)
 * and the indexes are rebuilt; otherwise the indexes are checked (rebuilt
 * when inconsistent or missing) and only the batches after the last index
 * entry are read. *cut is set when data was cut off. Returns 0 or
 * SAMSA_ERR__STORAGE. */
samsa_err_t segment_recover(log_segment_t *seg, const log_config_t *cfg, bool full_scan,
                            bool *cut);
/* Maps the segment for appending (capacity segment.bytes) and reserves its
 * indexes. */
samsa_err_t segment_activate(log_segment_t *seg, const log_config_t *cfg);
/* Ends appending: cuts the .log and the indexes to their data. */
samsa_err_t segment_seal(log_segment_t *seg);

/* Index entries for a batch about to be written at position (header h). */
void segment_note_batch(log_segment_t *seg, const log_config_t *cfg, size_t position,
                        const batch_header_t *h);
/* Entries a full index has left, considering n more batches. */
bool segment_index_full(const log_segment_t *seg, size_t batches);
/* Makes room for len more bytes in the active segment's file. Returns 0,
 * SAMSA_ERR__NOSPC or SAMSA_ERR__STORAGE. */
samsa_err_t segment_reserve(log_segment_t *seg, const log_config_t *cfg, size_t len);
/* Writes len bytes at size_bytes (mmap or pwrite); does not advance
 * size_bytes. Returns 0, SAMSA_ERR__NOSPC or SAMSA_ERR__STORAGE. */
samsa_err_t segment_write(log_segment_t *seg, log_write_mode_t mode, const uint8_t *data,
                          size_t len);
/* File position of the batch holding offset (base_offset <= offset <
 * next_offset), or -1 when the data holds no such batch. */
int64_t segment_find(const log_segment_t *seg, int64_t offset);
/* Base offset and position of the first batch with max timestamp >= ts. */
bool segment_find_timestamp(const log_segment_t *seg, int64_t timestamp_ms, int64_t *offset_out,
                            int64_t *timestamp_out);

/* fsync (full) or fdatasync the .log; full also syncs the indexes. Returns 0
 * or an errno. */
int segment_sync(log_segment_t *seg, bool full);
void segment_ref(log_segment_t *seg);
/* Drops a reference; the last one unmaps and closes everything. */
void segment_unref(log_segment_t *seg);
/* Unlinks the segment's files (the mapping and fd live on until the last
 * reference goes). */
void segment_unlink(log_segment_t *seg);
/* Unlinks "<path_prefix>.log", ".index" and ".timeindex" (missing is fine). */
void segment_unlink_files(const char *path_prefix);
/* "<path>.<suffix>" into out. */
void segment_file_name(const log_segment_t *seg, const char *suffix, char *out, size_t outlen);

/* ---- partition.c / flush.c ---------------------------------------------- */

/* A thread in partition_log_wait_durable() while another syncs: queued on
 * the partition (under its lock) and woken through its own semaphore, so a
 * finished sync wakes exactly the waiters it covered, plus one to lead the
 * next sync. Lives on the waiting thread's stack. */
typedef struct durable_waiter durable_waiter_t;


struct partition_log {
    pthread_mutex_t lock;
    pthread_cond_t durable_cond; /* signalled when a flush ends */
    durable_waiter_t *waiters;   /* FIFO of threads waiting for a durable offset */
    durable_waiter_t *waiters_tail;
    char *dir;                   /* the partition directory */
    char name[300];              /* "<topic>-<partition>" */
    int dir_fd;
    int lock_fd;
    log_config_t cfg;
    log_segment_t **segments;    /* ascending base offset; the last is active */
    size_t segment_count;
    size_t segment_cap;
    int64_t log_start_offset;
    int64_t next_offset;         /* log end offset */
    int64_t durable_offset;      /* offsets below are on disk */
    int64_t recovery_point;      /* as written in the checkpoint */
    int64_t unflushed_messages;
    int64_t last_flush_mono_ms;
    /* Group commit's gathering (flush.c): appends counted, the count the
     * last sync covered, how many that was, and how long the sync took. */
    pthread_cond_t append_cond;  /* signalled by an append while gathering */
    int64_t appends;
    int64_t appends_synced;
    int64_t last_group_appends;
    int64_t last_sync_ns;
    bool gathering;              /* a sync leader waits for appends to join */
    bool flushing;               /* a thread runs an exclusive sync outside the lock */
    bool dir_dirty;              /* files were created or removed since the last sync */
    /* The clean-shutdown marker was removed at open, not yet durably: the
     * first append syncs the directory before it writes, so that a crash
     * after any write finds no marker (and recovers). Opening many
     * partitions thus costs no directory sync each. */
    bool marker_unsynced;
    bool failed;                 /* a sync failed: appends refused */
    log_flusher_t *flusher;      /* woken by partition_log_sync_soon(), or NULL */
};

/* Writes the checkpoint file (recovery point, log start) atomically.
 * Called with pl->lock held. Returns 0 or SAMSA_ERR__STORAGE. */
samsa_err_t partition_write_checkpoint(partition_log_t *pl, int64_t recovery_point);
/* Wakes the flusher thread that pl belongs to (partition_log_sync_soon). */
void log_flusher_wake(log_flusher_t *fl);

/* errno to samsa_err_t: ENOSPC/EDQUOT -> _NOSPC, others -> _STORAGE. */
samsa_err_t log_errno_err(int e);
/* Writes "fmt..." into errbuf (if any) and returns err. */
samsa_err_t log_fail(samsa_err_t err, char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Takes an exclusive OFD lock on <dir>/.lock, writing our pid into it.
 * Returns the fd, or -1 with errbuf naming the holder. */
int log_lock_dir(const char *dir, char *errbuf, size_t errlen);

#endif /* SAMSA_LOG_LOG_INT_H */
