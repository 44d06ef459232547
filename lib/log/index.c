/*
 * index.c: the offset and time indexes of a segment: files of fixed-size
 * big-endian entries, preallocated, memory-mapped, appended to in place and
 * binary searched.
 *
 * An index file is preallocated with fallocate (not left sparse), so that
 * writing an entry through the mapping never meets a full disk (which would
 * be a SIGBUS). On roll and clean close the file is cut to its entries.
 */
#include "log/log_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

static void index_unmap(log_index_t *ix)
{
    if (ix->map)
        munmap(ix->map, ix->map_bytes);
    ix->map = NULL;
    ix->map_bytes = 0;
}

static int index_map(log_index_t *ix, size_t bytes)
{
    index_unmap(ix);
    if (bytes == 0)
        return 0;
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ix->fd, 0);
    if (m == MAP_FAILED)
        return errno;
    ix->map = m;
    ix->map_bytes = bytes;
    return 0;
}

int index_open(log_index_t *ix, const char *path, unsigned entry_bytes, bool create)
{
    struct stat st;
    int e;
    ix->map = NULL;
    ix->map_bytes = 0;
    ix->entry_bytes = entry_bytes;
    ix->entries = 0;
    ix->capacity_entries = 0;
    ix->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
    if (ix->fd < 0)
        return errno;
    if (fstat(ix->fd, &st) != 0)
        goto fail;
    ix->entries = (size_t)st.st_size / entry_bytes;
    ix->capacity_entries = ix->entries;
    if ((e = index_map(ix, ix->entries * entry_bytes)) != 0) {
        errno = e;
        goto fail;
    }
    return 0;
fail:
    e = errno;
    close(ix->fd);
    ix->fd = -1;
    return e;
}

int index_reserve(log_index_t *ix, size_t capacity_entries)
{
    size_t bytes = capacity_entries * ix->entry_bytes;
    if (capacity_entries <= ix->capacity_entries && ix->map_bytes >= bytes)
        return 0;
    int e = fallocate(ix->fd, 0, 0, (off_t)bytes) == 0 ? 0 : errno;
    if (e == EOPNOTSUPP) /* no fallocate here: a sparse file is the best we can do */
        e = ftruncate(ix->fd, (off_t)bytes) == 0 ? 0 : errno;
    if (e)
        return e;
    if ((e = index_map(ix, bytes)) != 0)
        return e;
    ix->capacity_entries = capacity_entries;
    return 0;
}

int index_trim(log_index_t *ix)
{
    if (ix->fd < 0)
        return 0;
    if (ftruncate(ix->fd, (off_t)(ix->entries * ix->entry_bytes)) != 0)
        return errno;
    ix->capacity_entries = ix->entries;
    return 0;
}

int index_sync(log_index_t *ix)
{
    if (ix->fd < 0)
        return 0;
    return fsync(ix->fd) == 0 ? 0 : errno;
}

void index_close(log_index_t *ix)
{
    index_unmap(ix);
    if (ix->fd >= 0)
        close(ix->fd);
    ix->fd = -1;
}

/* ---- offset index ------------------------------------------------------ */

static inline uint32_t offset_entry_rel(const log_index_t *ix, size_t i)
{
    return be32_load(ix->map + i * LOG_OFFSET_INDEX_ENTRY_BYTES);
}
static inline uint32_t offset_entry_pos(const log_index_t *ix, size_t i)
{
    return be32_load(ix->map + i * LOG_OFFSET_INDEX_ENTRY_BYTES + 4);
}

void index_append_offset(log_index_t *ix, uint32_t rel_offset, uint32_t position)
{
    uint8_t *p = ix->map + ix->entries * LOG_OFFSET_INDEX_ENTRY_BYTES;
    be32_store(p, rel_offset);
    be32_store(p + 4, position);
    ix->entries++;
}

uint32_t index_lookup_offset(const log_index_t *ix, uint32_t rel_offset)
{
    size_t lo = 0, hi = ix->entries; /* answer: the last i < hi with rel <= target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (offset_entry_rel(ix, mid) <= rel_offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : offset_entry_pos(ix, lo - 1);
}

uint32_t index_last_position(const log_index_t *ix)
{
    return ix->entries ? offset_entry_pos(ix, ix->entries - 1) : 0;
}

bool index_check_offset(const log_index_t *ix, uint32_t rel_limit, uint32_t position_limit)
{
    for (size_t i = 0; i < ix->entries; i++) {
        uint32_t rel = offset_entry_rel(ix, i), pos = offset_entry_pos(ix, i);
        if (rel >= rel_limit || pos >= position_limit)
            return false;
        if (i > 0 && (rel <= offset_entry_rel(ix, i - 1) || pos <= offset_entry_pos(ix, i - 1)))
            return false;
    }
    return true;
}

/* ---- time index -------------------------------------------------------- */

static inline int64_t time_entry_ts(const log_index_t *ix, size_t i)
{
    return (int64_t)be64_load(ix->map + i * LOG_TIME_INDEX_ENTRY_BYTES);
}
static inline uint32_t time_entry_rel(const log_index_t *ix, size_t i)
{
    return be32_load(ix->map + i * LOG_TIME_INDEX_ENTRY_BYTES + 8);
}

void index_append_time(log_index_t *ix, int64_t timestamp_ms, uint32_t rel_offset)
{
    uint8_t *p = ix->map + ix->entries * LOG_TIME_INDEX_ENTRY_BYTES;
    be64_store(p, (uint64_t)timestamp_ms);
    be32_store(p + 8, rel_offset);
    ix->entries++;
}

int64_t index_lookup_time(const log_index_t *ix, int64_t timestamp_ms)
{
    size_t lo = 0, hi = ix->entries; /* the last entry with ts < target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (time_entry_ts(ix, mid) < timestamp_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? -1 : (int64_t)time_entry_rel(ix, lo - 1);
}

int64_t index_last_timestamp(const log_index_t *ix)
{
    return ix->entries ? time_entry_ts(ix, ix->entries - 1) : -1;
}

bool index_check_time(const log_index_t *ix, uint32_t rel_limit)
{
    for (size_t i = 0; i < ix->entries; i++) {
        if (time_entry_rel(ix, i) > rel_limit)
            return false;
        if (i > 0 && (time_entry_ts(ix, i) <= time_entry_ts(ix, i - 1) ||
                      time_entry_rel(ix, i) < time_entry_rel(ix, i - 1)))
            return false;
    }
    return true;
}
