/*
 * segment.c: one log segment: the .log file of batches, its mapping, its
 * two indexes, writing, lookups, recovery scans and reference counting.
 *
 * The active segment is mapped once for its whole capacity (segment.bytes)
 * and its file is grown with fallocate, preallocate_bytes at a time, ahead
 * of the writes: a write through the mapping then always lands on allocated
 * blocks (no SIGBUS on a full disk), and ENOSPC shows up as an error of the
 * append that needed the space. Readers only look below size_bytes.
 */
#include "log/log_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/slog.h"

void segment_file_name(const log_segment_t *seg, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.%s", seg->path, suffix);
}

static log_segment_t *segment_alloc(const char *dir, int64_t base_offset)
{
    log_segment_t *seg = calloc(1, sizeof(*seg));
    if (!seg)
        return NULL;
    size_t n = strlen(dir) + 24;
    seg->path = malloc(n);
    if (!seg->path) {
        free(seg);
        return NULL;
    }
    snprintf(seg->path, n, "%s/%020" PRId64, dir, base_offset);
    seg->base_offset = base_offset;
    seg->next_offset = base_offset;
    seg->fd = -1;
    seg->offset_index.fd = -1;
    seg->time_index.fd = -1;
    seg->max_timestamp_ms = -1;
    seg->created_ms = clock_wall_ms();
    seg->refcount = 1;
    return seg;
}

static void segment_free(log_segment_t *seg)
{
    if (seg->map)
        munmap(seg->map, seg->map_bytes);
    if (seg->fd >= 0)
        close(seg->fd);
    index_close(&seg->offset_index);
    index_close(&seg->time_index);
    free(seg->path);
    free(seg);
}

void segment_ref(log_segment_t *seg) { __atomic_add_fetch(&seg->refcount, 1, __ATOMIC_RELAXED); }

void segment_unref(log_segment_t *seg)
{
    if (seg && __atomic_sub_fetch(&seg->refcount, 1, __ATOMIC_ACQ_REL) == 0)
        segment_free(seg);
}

void segment_unlink_files(const char *path_prefix)
{
    static const char *const suffixes[] = {"log", "index", "timeindex"};
    char path[4096];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s.%s", path_prefix, suffixes[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            slog_warn(LOG_MODULE, "cannot remove %s: %s", path, strerror(errno));
    }
}

void segment_unlink(log_segment_t *seg) { segment_unlink_files(seg->path); }

static int segment_map(log_segment_t *seg, size_t bytes, bool writable)
{
    if (seg->map)
        munmap(seg->map, seg->map_bytes);
    seg->map = NULL;
    seg->map_bytes = 0;
    seg->map_writable = false;
    if (bytes == 0)
        return 0;
    void *m = mmap(NULL, bytes, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, seg->fd, 0);
    if (m == MAP_FAILED)
        return errno;
    seg->map = m;
    seg->map_bytes = bytes;
    seg->map_writable = writable;
    return 0;
}

static int open_index(log_segment_t *seg, log_index_t *ix, const char *suffix, unsigned entry,
                      bool create)
{
    char path[4096];
    segment_file_name(seg, suffix, path, sizeof(path));
    return index_open(ix, path, entry, create);
}

log_segment_t *segment_create(const char *dir, int64_t base_offset, const log_config_t *cfg,
                              samsa_err_t *err, char *errbuf, size_t errlen)
{
    char path[4096];
    int e;
    log_segment_t *seg = segment_alloc(dir, base_offset);
    if (!seg) {
        *err = log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    segment_file_name(seg, "log", path, sizeof(path));
    seg->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    e = seg->fd < 0 ? errno : 0;
    if (!e)
        e = open_index(seg, &seg->offset_index, "index", LOG_OFFSET_INDEX_ENTRY_BYTES, true);
    if (!e)
        e = open_index(seg, &seg->time_index, "timeindex", LOG_TIME_INDEX_ENTRY_BYTES, true);
    if (e) {
        *err = log_fail(log_errno_err(e), errbuf, errlen, "cannot create segment %s: %s",
                        seg->path, strerror(e));
        goto fail;
    }
    if ((*err = segment_activate(seg, cfg)) != SAMSA_ERR_NONE) {
        log_fail(*err, errbuf, errlen, "cannot preallocate segment %s", seg->path);
        goto fail;
    }
    return seg;
fail:
    segment_unlink(seg);
    segment_free(seg);
    return NULL;
}

log_segment_t *segment_open(const char *dir, int64_t base_offset, samsa_err_t *err, char *errbuf,
                            size_t errlen)
{
    char path[4096];
    struct stat st;
    int e;
    log_segment_t *seg = segment_alloc(dir, base_offset);
    if (!seg) {
        *err = log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    segment_file_name(seg, "log", path, sizeof(path));
    seg->fd = open(path, O_RDWR | O_CLOEXEC);
    if (seg->fd < 0 || fstat(seg->fd, &st) != 0)
        goto fail_errno;
    if ((uint64_t)st.st_size > INT32_MAX) {
        errno = EFBIG;
        goto fail_errno;
    }
    seg->size_bytes = (size_t)st.st_size;
    seg->alloc_bytes = seg->size_bytes;
    if ((e = segment_map(seg, seg->size_bytes, false)) != 0) {
        errno = e;
        goto fail_errno;
    }
    /* Missing indexes (fd -1) are rebuilt by segment_recover. */
    e = open_index(seg, &seg->offset_index, "index", LOG_OFFSET_INDEX_ENTRY_BYTES, false);
    if (e == 0)
        e = open_index(seg, &seg->time_index, "timeindex", LOG_TIME_INDEX_ENTRY_BYTES, false);
    if (e != 0 && e != ENOENT) {
        errno = e;
        goto fail_errno;
    }
    return seg;
fail_errno:
    e = errno;
    *err = log_fail(log_errno_err(e), errbuf, errlen, "cannot open %s: %s", path, strerror(e));
    segment_free(seg);
    return NULL;
}

/* Index entries a segment of size_bytes may need under cfg. */
static size_t index_capacity(const log_config_t *cfg, size_t size_bytes, unsigned entry_bytes)
{
    uint64_t interval = cfg->index_interval_bytes > BATCH_HEADER_BYTES
                            ? (uint64_t)cfg->index_interval_bytes
                            : BATCH_HEADER_BYTES;
    uint64_t by_size = (uint64_t)size_bytes / interval + 2;
    uint64_t by_cap = (uint64_t)cfg->segment_index_bytes / entry_bytes;
    uint64_t by_config = (uint64_t)cfg->segment_bytes / interval + 2;
    if (by_config > by_cap)
        by_config = by_cap;
    return (size_t)(by_size > by_config ? by_size : by_config);
}

bool segment_index_full(const log_segment_t *seg, size_t batches)
{
    return index_full(&seg->offset_index, batches) || index_full(&seg->time_index, batches);
}

void segment_note_batch(log_segment_t *seg, const log_config_t *cfg, size_t position,
                        const batch_header_t *h)
{
    if (seg->bytes_since_index > 0 && seg->bytes_since_index >= (size_t)cfg->index_interval_bytes &&
        !index_full(&seg->offset_index, 1)) {
        uint32_t rel = (uint32_t)(h->base_offset - seg->base_offset);
        index_append_offset(&seg->offset_index, rel, (uint32_t)position);
        if (seg->max_timestamp_ms > index_last_timestamp(&seg->time_index) &&
            !index_full(&seg->time_index, 1))
            index_append_time(&seg->time_index, seg->max_timestamp_ms, rel);
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += (size_t)h->length + BATCH_LOG_OVERHEAD;
    if (h->max_timestamp > seg->max_timestamp_ms)
        seg->max_timestamp_ms = h->max_timestamp;
    seg->next_offset = h->base_offset + h->last_offset_delta + 1;
}

/* Bytes from p up to and including the last non-zero one (0: all zeros,
 * which is preallocated space, not data). */
static size_t nonzero_extent(const uint8_t *p, size_t n)
{
    while (n > 0 && p[n - 1] == 0)
        n--;
    return n;
}

/* Reads batches from start to the end of the file. The batch at start is
 * already indexed when skip_first_index. Returns where the good data ends;
 * *why says why it stopped early (NULL at the end of the file). */
static size_t segment_scan(log_segment_t *seg, const log_config_t *cfg, size_t start,
                           bool check_crc, bool skip_first_index, const char **why)
{
    size_t pos = start, file_bytes = seg->size_bytes;
    int64_t expected = start == 0 ? seg->base_offset : -1;
    *why = NULL;
    if (seg->map && file_bytes > start)
        madvise(seg->map, file_bytes, MADV_SEQUENTIAL);
    while (pos < file_bytes) {
        batch_header_t h;
        const uint8_t *p = seg->map + pos;
        size_t left = file_bytes - pos;
        samsa_err_t err = check_crc ? batch_validate(p, left, &h) : batch_header_parse(p, left, &h);
        if (!err && !check_crc && (size_t)h.length + BATCH_LOG_OVERHEAD > left)
            err = SAMSA_ERR__BAD_MSG;
        if (err == SAMSA_ERR__BAD_MSG) {
            *why = "the last batch is incomplete (torn write)";
            break;
        }
        if (err) {
            *why = "a batch has a bad length, magic or CRC";
            break;
        }
        if ((expected >= 0 && h.base_offset != expected) || h.base_offset < seg->base_offset ||
            h.base_offset + h.last_offset_delta - seg->base_offset > INT32_MAX) {
            *why = "a batch's offset does not follow the previous batch";
            break;
        }
        if (skip_first_index && pos == start) {
            seg->bytes_since_index = (size_t)h.length + BATCH_LOG_OVERHEAD;
            if (h.max_timestamp > seg->max_timestamp_ms)
                seg->max_timestamp_ms = h.max_timestamp;
            seg->next_offset = h.base_offset + h.last_offset_delta + 1;
        } else {
            segment_note_batch(seg, cfg, pos, &h);
        }
        expected = seg->next_offset;
        pos += (size_t)h.length + BATCH_LOG_OVERHEAD;
    }
    if (seg->map && file_bytes > start)
        madvise(seg->map, file_bytes, MADV_NORMAL);
    return pos;
}

/* Empties (or creates) both indexes with room for the whole segment. */
static int segment_reset_indexes(log_segment_t *seg, const log_config_t *cfg)
{
    int e;
    index_close(&seg->offset_index);
    index_close(&seg->time_index);
    if ((e = open_index(seg, &seg->offset_index, "index", LOG_OFFSET_INDEX_ENTRY_BYTES, true)) ||
        (e = open_index(seg, &seg->time_index, "timeindex", LOG_TIME_INDEX_ENTRY_BYTES, true)) ||
        (e = index_reserve(&seg->offset_index,
                           index_capacity(cfg, seg->size_bytes, LOG_OFFSET_INDEX_ENTRY_BYTES))) ||
        (e = index_reserve(&seg->time_index,
                           index_capacity(cfg, seg->size_bytes, LOG_TIME_INDEX_ENTRY_BYTES))))
        return e;
    seg->bytes_since_index = 0;
    seg->max_timestamp_ms = -1;
    seg->next_offset = seg->base_offset;
    return 0;
}

static bool segment_indexes_consistent(const log_segment_t *seg)
{
    uint32_t pos_limit = (uint32_t)seg->size_bytes;
    if (seg->offset_index.fd < 0 || seg->time_index.fd < 0)
        return false;
    if (!index_check_offset(&seg->offset_index, UINT32_MAX, pos_limit) ||
        !index_check_time(&seg->time_index, UINT32_MAX))
        return false;
    return seg->time_index.entries <= seg->offset_index.entries;
}

samsa_err_t segment_recover(log_segment_t *seg, const log_config_t *cfg, bool full_scan,
                            bool *cut)
{
    const char *why = NULL;
    size_t end;
    int e = 0;
    *cut = false;
    if (!full_scan && segment_indexes_consistent(seg)) {
        size_t start = index_last_position(&seg->offset_index);
        seg->max_timestamp_ms = index_last_timestamp(&seg->time_index);
        seg->bytes_since_index = 0;
        end = segment_scan(seg, cfg, start, false, seg->offset_index.entries > 0, &why);
        if (why == NULL && (seg->next_offset - seg->base_offset > INT32_MAX ||
                            !index_check_offset(&seg->offset_index,
                                                (uint32_t)(seg->next_offset - seg->base_offset),
                                                (uint32_t)end)))
            why = "the index points past the data";
        if (why == NULL)
            return SAMSA_ERR_NONE;
        slog_warn(LOG_MODULE, "%s.index: %s; rebuilding the indexes", seg->path, why);
    } else if (!full_scan) {
        slog_warn(LOG_MODULE, "%s.index/.timeindex missing or inconsistent; rebuilding them",
                  seg->path);
    }
    if ((e = segment_reset_indexes(seg, cfg)) != 0)
        goto fail;
    end = segment_scan(seg, cfg, 0, true, false, &why);
    if (end < seg->size_bytes) {
        size_t cut_bytes = nonzero_extent(seg->map + end, seg->size_bytes - end);
        if (cut_bytes > 0) {
            slog_warn(LOG_MODULE,
                      "%s.log: cutting %zu bytes at position %zu (after offset %" PRId64
                      "): %s",
                      seg->path, cut_bytes, end, seg->next_offset - 1, why);
            *cut = true;
        }
        if (ftruncate(seg->fd, (off_t)end) != 0) {
            e = errno;
            goto fail;
        }
        seg->size_bytes = end;
        seg->alloc_bytes = end;
    }
    /* Rebuilt indexes are cut to their entries; activation re-reserves. */
    if ((e = index_trim(&seg->offset_index)) != 0 || (e = index_trim(&seg->time_index)) != 0)
        goto fail;
    return SAMSA_ERR_NONE;
fail:
    slog_error(LOG_MODULE, "%s: cannot recover: %s", seg->path, strerror(e));
    return log_errno_err(e);
}

samsa_err_t segment_activate(log_segment_t *seg, const log_config_t *cfg)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t capacity = (size_t)cfg->segment_bytes > seg->size_bytes ? (size_t)cfg->segment_bytes
                                                                   : seg->size_bytes;
    capacity = (capacity + page - 1) / page * page;
    int e = segment_map(seg, capacity, cfg->write_mode == LOG_WRITE_MMAP);
    if (!e)
        e = index_reserve(&seg->offset_index,
                          index_capacity(cfg, seg->size_bytes, LOG_OFFSET_INDEX_ENTRY_BYTES));
    if (!e)
        e = index_reserve(&seg->time_index,
                          index_capacity(cfg, seg->size_bytes, LOG_TIME_INDEX_ENTRY_BYTES));
    if (e)
        return log_errno_err(e);
    seg->active = true;
    seg->flushed_bytes = seg->size_bytes;
    return SAMSA_ERR_NONE;
}

samsa_err_t segment_seal(log_segment_t *seg)
{
    int e = 0;
    if (ftruncate(seg->fd, (off_t)seg->size_bytes) != 0)
        e = errno;
    if (!e)
        e = index_trim(&seg->offset_index);
    if (!e)
        e = index_trim(&seg->time_index);
    seg->alloc_bytes = seg->size_bytes;
    seg->active = false;
    seg->sealed_synced = false;
    if (e) {
        slog_error(LOG_MODULE, "%s: cannot trim the sealed segment: %s", seg->path, strerror(e));
        return log_errno_err(e);
    }
    return SAMSA_ERR_NONE;
}

samsa_err_t segment_reserve(log_segment_t *seg, const log_config_t *cfg, size_t len)
{
    size_t need = seg->size_bytes + len;
    if (need <= seg->alloc_bytes)
        return SAMSA_ERR_NONE;
    if (cfg->write_mode == LOG_WRITE_PWRITE && cfg->preallocate_bytes == 0)
        return SAMSA_ERR_NONE; /* pwrite extends the file and reports ENOSPC itself */
    size_t grow = seg->alloc_bytes + (size_t)cfg->preallocate_bytes;
    if (grow < need)
        grow = need;
    if (grow > seg->map_bytes)
        grow = seg->map_bytes > need ? seg->map_bytes : need;
    int e = 0;
    if (fallocate(seg->fd, 0, (off_t)seg->alloc_bytes, (off_t)(grow - seg->alloc_bytes)) != 0) {
        e = errno;
        /* Short of space for a whole chunk: take just what this append needs. */
        if ((e == ENOSPC || e == EDQUOT) && grow > need &&
            fallocate(seg->fd, 0, (off_t)seg->alloc_bytes, (off_t)(need - seg->alloc_bytes)) == 0) {
            grow = need;
            e = 0;
        } else if (e == EOPNOTSUPP) {
            e = ftruncate(seg->fd, (off_t)grow) == 0 ? 0 : errno;
        }
    }
    if (e)
        return log_errno_err(e);
    seg->alloc_bytes = grow;
    return SAMSA_ERR_NONE;
}

samsa_err_t segment_write(log_segment_t *seg, log_write_mode_t mode, const uint8_t *data,
                          size_t len)
{
    if (mode == LOG_WRITE_MMAP && seg->map_writable) {
        memcpy(seg->map + seg->size_bytes, data, len);
        return SAMSA_ERR_NONE;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(seg->fd, data + done, len - done, (off_t)(seg->size_bytes + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return log_errno_err(errno);
        if (n == 0)
            return SAMSA_ERR__NOSPC;
        done += (size_t)n;
    }
    if (seg->size_bytes + len > seg->alloc_bytes)
        seg->alloc_bytes = seg->size_bytes + len;
    return SAMSA_ERR_NONE;
}

int64_t segment_find(const log_segment_t *seg, int64_t offset)
{
    if (offset < seg->base_offset || offset >= seg->next_offset)
        return -1;
    size_t pos = index_lookup_offset(&seg->offset_index, (uint32_t)(offset - seg->base_offset));
    while (pos < seg->size_bytes) {
        batch_header_t h;
        if (batch_header_parse(seg->map + pos, seg->size_bytes - pos, &h) != SAMSA_ERR_NONE)
            return -1;
        if (h.base_offset + h.last_offset_delta >= offset)
            return (int64_t)pos;
        pos += (size_t)h.length + BATCH_LOG_OVERHEAD;
    }
    return -1;
}

bool segment_find_timestamp(const log_segment_t *seg, int64_t timestamp_ms, int64_t *offset_out,
                            int64_t *timestamp_out)
{
    if (seg->max_timestamp_ms < timestamp_ms)
        return false;
    int64_t rel = index_lookup_time(&seg->time_index, timestamp_ms);
    size_t pos = rel < 0 ? 0 : index_lookup_offset(&seg->offset_index, (uint32_t)rel);
    while (pos < seg->size_bytes) {
        batch_header_t h;
        if (batch_header_parse(seg->map + pos, seg->size_bytes - pos, &h) != SAMSA_ERR_NONE)
            return false;
        if (h.max_timestamp >= timestamp_ms) {
            *offset_out = h.base_offset;
            *timestamp_out = h.max_timestamp;
            return true;
        }
        pos += (size_t)h.length + BATCH_LOG_OVERHEAD;
    }
    return false;
}

int segment_sync(log_segment_t *seg, bool full)
{
    int e = 0;
    if ((full ? fsync(seg->fd) : fdatasync(seg->fd)) != 0)
        e = errno;
    if (!e && full)
        e = index_sync(&seg->offset_index);
    if (!e && full)
        e = index_sync(&seg->time_index);
    return e;
}
