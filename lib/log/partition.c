/*
 * partition.c: a partition's log: opening and recovery, append, read,
 * rolling, timestamp lookups, DeleteRecords, retention and close.
 * Flushing and durability are in flush.c.
 */
#include "log/log_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/slog.h"

/* ---- checkpoint and clean-shutdown marker ------------------------------ */

/* Writes name in the partition directory with contents, durably
 * (temporary file, fsync, rename, fsync of the directory). */
static int write_file_durably(partition_log_t *pl, const char *name, const char *contents)
{
    char tmp[4096], path[4096];
    int e = 0;
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", pl->dir, name);
    snprintf(path, sizeof(path), "%s/%s", pl->dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    size_t len = strlen(contents);
    if (write(fd, contents, len) != (ssize_t)len)
        e = errno ? errno : ENOSPC;
    if (!e && fsync(fd) != 0)
        e = errno;
    close(fd);
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (!e && fsync(pl->dir_fd) != 0)
        e = errno;
    if (e)
        unlink(tmp);
    return e;
}

samsa_err_t partition_write_checkpoint(partition_log_t *pl, int64_t recovery_point)
{
    char text[128];
    snprintf(text, sizeof(text), "recovery_point %" PRId64 "\nlog_start_offset %" PRId64 "\n",
             recovery_point, pl->log_start_offset);
    int e = write_file_durably(pl, LOG_CHECKPOINT_FILE, text);
    if (e) {
        slog_error(LOG_MODULE, "%s: cannot write the checkpoint: %s", pl->name, strerror(e));
        return log_errno_err(e);
    }
    pl->recovery_point = recovery_point;
    return SAMSA_ERR_NONE;
}

/* Reads the checkpoint; a missing or unreadable one means "check
 * everything" (recovery point 0, log start 0). */
static void read_checkpoint(partition_log_t *pl)
{
    char path[4096], text[256];
    long long rp = 0, ls = 0;
    pl->recovery_point = 0;
    pl->log_start_offset = 0;
    snprintf(path, sizeof(path), "%s/%s", pl->dir, LOG_CHECKPOINT_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            slog_warn(LOG_MODULE, "%s: cannot read %s: %s", pl->name, path, strerror(errno));
        return;
    }
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0 || (text[n] = 0,
                  sscanf(text, "recovery_point %lld\nlog_start_offset %lld", &rp, &ls) != 2) ||
        rp < 0 || ls < 0) {
        slog_warn(LOG_MODULE, "%s: %s is unreadable; checking every segment", pl->name, path);
        return;
    }
    pl->recovery_point = rp;
    pl->log_start_offset = ls;
}

/* ---- the segment array ------------------------------------------------- */

static log_segment_t *active_segment(const partition_log_t *pl)
{
    return pl->segments[pl->segment_count - 1];
}

static bool segments_reserve(partition_log_t *pl, size_t count)
{
    if (count <= pl->segment_cap)
        return true;
    size_t cap = pl->segment_cap ? pl->segment_cap * 2 : 8;
    while (cap < count)
        cap *= 2;
    log_segment_t **s = realloc(pl->segments, cap * sizeof(*s));
    if (!s)
        return false;
    pl->segments = s;
    pl->segment_cap = cap;
    return true;
}

/* Unlinks and forgets segment i (the files' data lives on for readers). */
static void remove_segment(partition_log_t *pl, size_t i)
{
    log_segment_t *seg = pl->segments[i];
    segment_unlink(seg);
    memmove(pl->segments + i, pl->segments + i + 1,
            (pl->segment_count - i - 1) * sizeof(*pl->segments));
    pl->segment_count--;
    pl->dir_dirty = true;
    segment_unref(seg);
}

/* Index of the segment whose range holds offset: the last one whose base
 * offset is <= offset (0 when offset is below them all). */
static size_t find_segment(const partition_log_t *pl, int64_t offset)
{
    size_t lo = 0, hi = pl->segment_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pl->segments[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* ---- opening ----------------------------------------------------------- */

static bool topic_name_valid(const char *topic)
{
    size_t n = strlen(topic);
    if (n == 0 || n > 249 || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = topic[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Parses "<20 digits>.<suffix>"; returns the suffix or NULL. */
static const char *segment_name_parse(const char *name, int64_t *base)
{
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return NULL;
        if (v > (INT64_MAX - 9) / 10)
            return NULL;
        v = v * 10 + (name[i] - '0');
    }
    if (name[20] != '.')
        return NULL;
    *base = v;
    return name + 21;
}

/* Lists the base offsets of the .log files in pl->dir; warns about files
 * it does not know. */
static samsa_err_t list_segments(partition_log_t *pl, int64_t **bases, size_t *n, char *errbuf,
                                 size_t errlen)
{
    size_t cap = 16;
    *n = 0;
    *bases = malloc(cap * sizeof(**bases));
    DIR *d = opendir(pl->dir);
    if (!*bases || !d) {
        int e = errno;
        if (d)
            closedir(d);
        free(*bases);
        *bases = NULL;
        return log_fail(log_errno_err(e), errbuf, errlen, "cannot list %s: %s", pl->dir,
                        strerror(e));
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        const char *name = ent->d_name;
        int64_t base;
        const char *suffix = segment_name_parse(name, &base);
        if (suffix && strcmp(suffix, "log") == 0) {
            if (*n == cap) {
                int64_t *b = realloc(*bases, cap * 2 * sizeof(*b));
                if (!b) {
                    closedir(d);
                    free(*bases);
                    *bases = NULL;
                    return log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
                }
                *bases = b;
                cap *= 2;
            }
            (*bases)[(*n)++] = base;
        } else if (suffix && (strcmp(suffix, "index") == 0 || strcmp(suffix, "timeindex") == 0 ||
                              strcmp(suffix, "snapshot") == 0 ||
                              strcmp(suffix, "snapshot.tmp") == 0)) {
            continue; /* indexes; producer-state snapshots (broker/producer_state.c) */
        } else if (strcmp(name, LOG_CHECKPOINT_FILE ".tmp") == 0 ||
                   strcmp(name, LOG_CLEAN_FILE ".tmp") == 0) {
            unlinkat(pl->dir_fd, name, 0); /* a write that a crash interrupted */
        } else if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
                   strcmp(name, LOG_CHECKPOINT_FILE) != 0 && strcmp(name, LOG_CLEAN_FILE) != 0 &&
                   strcmp(name, LOG_LOCK_FILE) != 0) {
            slog_warn(LOG_MODULE, "%s: ignoring unknown file %s", pl->dir, name);
        }
    }
    closedir(d);
    qsort(*bases, *n, sizeof(**bases), compare_i64);
    return SAMSA_ERR_NONE;
}

/* Opens and checks every segment. Segments holding offsets at or after
 * the recovery point are fully scanned unless the log was closed cleanly.
 * After a cut, the later segments are deleted. */
static samsa_err_t load_segments(partition_log_t *pl, const int64_t *bases, size_t n, bool clean,
                                 char *errbuf, size_t errlen)
{
    samsa_err_t err = SAMSA_ERR_NONE;
    for (size_t i = 0; i < n; i++) {
        bool full = !clean && (i + 1 == n || bases[i + 1] > pl->recovery_point);
        bool cut = false;
        log_segment_t *seg = segment_open(pl->dir, bases[i], &err, errbuf, errlen);
        if (!seg)
            return err;
        if ((err = segment_recover(seg, &pl->cfg, full, &cut)) != SAMSA_ERR_NONE) {
            segment_unref(seg);
            return log_fail(err, errbuf, errlen, "cannot recover %s.log", seg->path);
        }
        if (pl->segment_count > 0 && seg->base_offset < active_segment(pl)->next_offset) {
            slog_warn(LOG_MODULE, "%s.log overlaps the previous segment; deleting it", seg->path);
            segment_unlink(seg);
            segment_unref(seg);
            cut = true;
        } else {
            seg->sealed_synced = true; /* synced at clean close, or below */
            seg->flushed_bytes = seg->size_bytes;
            pl->segments[pl->segment_count++] = seg;
        }
        if (cut) {
            for (size_t j = i + 1; j < n; j++) {
                char prefix[4096];
                snprintf(prefix, sizeof(prefix), "%s/%020" PRId64, pl->dir, bases[j]);
                slog_warn(LOG_MODULE, "deleting segment %s.log, which follows a cut", prefix);
                segment_unlink_files(prefix);
            }
            break;
        }
    }
    return SAMSA_ERR_NONE;
}

static samsa_err_t check_config(const log_config_t *c, char *errbuf, size_t errlen)
{
    if (c->segment_bytes < BATCH_HEADER_BYTES || c->segment_bytes > INT32_MAX)
        return log_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                        "segment.bytes must be between 61 and 2147483647");
    if (c->segment_index_bytes < LOG_TIME_INDEX_ENTRY_BYTES || c->index_interval_bytes < 0 ||
        c->preallocate_bytes < 0 || c->flush_interval_messages < 1)
        return log_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                        "segment.index.bytes >= 12, index.interval.bytes >= 0, "
                        "flush.messages >= 1 and log.segment.preallocate.bytes >= 0 are required");
    return SAMSA_ERR_NONE;
}

partition_log_t *partition_log_open(const char *dir, const char *topic, int32_t partition,
                                    const log_config_t *cfg, char *errbuf, size_t errlen)
{
    int64_t *bases = NULL;
    size_t nbases = 0;
    samsa_err_t err;
    char path[4096];
    if (!topic_name_valid(topic) || partition < 0) {
        log_fail(SAMSA_ERR_INVALID_TOPIC_EXCEPTION, errbuf, errlen,
                 "invalid topic or partition \"%s\" %d (topic: 1-249 of [a-zA-Z0-9._-])", topic,
                 (int)partition);
        return NULL;
    }
    if (check_config(cfg, errbuf, errlen))
        return NULL;
    partition_log_t *pl = calloc(1, sizeof(*pl));
    size_t dlen = strlen(dir) + strlen(topic) + 16;
    if (!pl || !(pl->dir = malloc(dlen))) {
        free(pl);
        log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pl->lock, NULL);
    pthread_cond_init(&pl->durable_cond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pl->append_cond, &ca);
    pthread_condattr_destroy(&ca);
    pl->cfg = *cfg;
    pl->dir_fd = -1;
    pl->lock_fd = -1;
    snprintf(pl->name, sizeof(pl->name), "%s-%d", topic, (int)partition);
    snprintf(pl->dir, dlen, "%s/%s", dir, pl->name);
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(pl->dir, 0755) != 0 && errno != EEXIST) ||
        (pl->dir_fd = open(pl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot create %s: %s", pl->dir,
                 strerror(errno));
        goto fail;
    }
    if ((pl->lock_fd = log_lock_dir(pl->dir, errbuf, errlen)) < 0)
        goto fail;
    read_checkpoint(pl);
    snprintf(path, sizeof(path), "%s/%s", pl->dir, LOG_CLEAN_FILE);
    bool clean = access(path, F_OK) == 0;
    if (list_segments(pl, &bases, &nbases, errbuf, errlen))
        goto fail;
    if (!segments_reserve(pl, nbases + 1)) {
        log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
        goto fail;
    }
    if (load_segments(pl, bases, nbases, clean, errbuf, errlen))
        goto fail;
    if (pl->segment_count == 0) {
        log_segment_t *seg = segment_create(pl->dir, pl->log_start_offset, &pl->cfg, &err, errbuf,
                                            errlen);
        if (!seg)
            goto fail;
        pl->segments[pl->segment_count++] = seg;
        pl->dir_dirty = true;
    } else if ((err = segment_activate(active_segment(pl), &pl->cfg)) != SAMSA_ERR_NONE) {
        log_fail(err, errbuf, errlen, "cannot map %s.log for appending",
                 active_segment(pl)->path);
        goto fail;
    }
    pl->next_offset = active_segment(pl)->next_offset;
    if (pl->log_start_offset < pl->segments[0]->base_offset)
        pl->log_start_offset = pl->segments[0]->base_offset;
    if (pl->log_start_offset > pl->next_offset)
        pl->log_start_offset = pl->next_offset;
    pl->durable_offset = pl->next_offset;
    pl->last_flush_mono_ms = clock_mono_ms();
    /* What recovery read may still sit only in the page cache: sync it, and
     * the cuts, before anything new is acknowledged. Then forget the marker,
     * durably before the first append (marker_unsynced), so a crash from
     * then on is recovered. */
    for (size_t i = 0; i < pl->segment_count && !clean; i++) {
        int e = segment_sync(pl->segments[i], true);
        if (e) {
            log_fail(log_errno_err(e), errbuf, errlen, "cannot sync %s.log: %s",
                     pl->segments[i]->path, strerror(e));
            goto fail;
        }
        pl->segments[i]->sealed_synced = true;
    }
    if ((clean && unlink(path) != 0) || (!clean && fsync(pl->dir_fd) != 0)) {
        log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot remove %s: %s", path,
                 strerror(errno));
        goto fail;
    }
    pl->marker_unsynced = clean;
    if (!clean)
        pl->dir_dirty = false;
    if (!clean && partition_write_checkpoint(pl, active_segment(pl)->base_offset)) {
        log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot write %s/%s", pl->dir,
                 LOG_CHECKPOINT_FILE);
        goto fail;
    }
    free(bases);
    return pl;
fail:
    free(bases);
    partition_log_close(pl, false);
    return NULL;
}

samsa_err_t partition_log_close(partition_log_t *pl, bool clean)
{
    samsa_err_t err = SAMSA_ERR_NONE;
    char path[4096];
    if (!pl)
        return SAMSA_ERR_NONE;
    if (clean && pl->segment_count > 0 && !pl->failed) {
        log_segment_t *seg = active_segment(pl);
        err = partition_log_flush(pl);
        if (!err)
            err = segment_seal(seg);
        for (size_t i = 0; i < pl->segment_count && !err; i++) {
            int e = pl->segments[i]->sealed_synced ? 0 : segment_sync(pl->segments[i], true);
            if (e)
                err = log_errno_err(e);
        }
        if (!err)
            err = partition_write_checkpoint(pl, pl->next_offset);
        snprintf(path, sizeof(path), "%s/%s", pl->dir, LOG_CLEAN_FILE);
        if (!err && write_file_durably(pl, LOG_CLEAN_FILE, "") != 0)
            err = SAMSA_ERR__STORAGE;
        if (err)
            slog_error(LOG_MODULE, "%s: unclean close: %s", pl->name, samsa_err_name(err));
    } else if (clean && pl->failed) {
        err = SAMSA_ERR__STORAGE; /* no clean-shutdown marker: the next open recovers */
    }
    for (size_t i = 0; i < pl->segment_count; i++)
        segment_unref(pl->segments[i]);
    free(pl->segments);
    if (pl->lock_fd >= 0)
        close(pl->lock_fd);
    if (pl->dir_fd >= 0)
        close(pl->dir_fd);
    pthread_mutex_destroy(&pl->lock);
    pthread_cond_destroy(&pl->durable_cond);
    pthread_cond_destroy(&pl->append_cond);
    free(pl->dir);
    free(pl);
    return err;
}

/* ---- append ------------------------------------------------------------ */

/* Starts a new active segment at the log end. Called with the lock held. */
static samsa_err_t roll(partition_log_t *pl)
{
    samsa_err_t err;
    log_segment_t *old = active_segment(pl);
    if (!segments_reserve(pl, pl->segment_count + 1))
        return SAMSA_ERR__NOMEM;
    log_segment_t *seg = segment_create(pl->dir, pl->next_offset, &pl->cfg, &err, NULL, 0);
    if (!seg) {
        slog_error(LOG_MODULE, "%s: cannot roll a new segment at offset %" PRId64 ": %s",
                   pl->name, pl->next_offset, samsa_err_name(err));
        return err;
    }
    /* A trim failure leaves zeros after the data, which recovery skips. */
    segment_seal(old);
    pl->segments[pl->segment_count++] = seg;
    pl->dir_dirty = true;
    return SAMSA_ERR_NONE;
}

static bool should_roll(const partition_log_t *pl, const log_segment_t *seg, size_t len,
                        size_t batches, int64_t offsets)
{
    if (seg->size_bytes == 0)
        return false;
    return seg->size_bytes + len > (size_t)pl->cfg.segment_bytes ||
           segment_index_full(seg, batches) ||
           pl->next_offset + offsets - seg->base_offset > INT32_MAX ||
           (pl->cfg.segment_ms >= 0 && clock_wall_ms() - seg->created_ms >= pl->cfg.segment_ms);
}

samsa_err_t partition_log_append(partition_log_t *pl, uint8_t *batches, size_t len,
                                 int32_t leader_epoch, int64_t *base_offset_out,
                                 int64_t *last_offset_out)
{
    size_t count = 0, pos;
    int64_t offsets = 0;
    samsa_err_t err;
    batch_header_t h;
    if (len == 0)
        return SAMSA_ERR__INVALID_ARG;
    if (len > (size_t)pl->cfg.segment_bytes)
        return SAMSA_ERR_MESSAGE_TOO_LARGE;
    for (pos = 0; pos < len; pos += (size_t)h.length + BATCH_LOG_OVERHEAD, count++) {
        if (batch_validate(batches + pos, len - pos, &h) != SAMSA_ERR_NONE)
            return SAMSA_ERR_CORRUPT_MESSAGE;
        offsets += (int64_t)h.last_offset_delta + 1;
    }

    pthread_mutex_lock(&pl->lock);
    log_segment_t *seg = active_segment(pl);
    if (pl->failed) {
        err = SAMSA_ERR__STORAGE;
        goto out;
    }
    if (should_roll(pl, seg, len, count, offsets)) {
        if ((err = roll(pl)) != SAMSA_ERR_NONE)
            goto out;
        seg = active_segment(pl);
    }
    if (pl->marker_unsynced) {
        if (fsync(pl->dir_fd) != 0) {
            err = log_errno_err(errno);
            goto out;
        }
        pl->marker_unsynced = false;
    }
    if ((err = segment_reserve(seg, &pl->cfg, len)) != SAMSA_ERR_NONE)
        goto out;
    int64_t offset = pl->next_offset;
    for (pos = 0; pos < len; pos += batch_total_bytes(batches + pos)) {
        batch_set_base_offset(batches + pos, offset);
        batch_set_leader_epoch(batches + pos, leader_epoch);
        offset += (int64_t)be32_load(batches + pos + BATCH_OFF_LAST_OFFSET_DELTA) + 1;
    }
    if ((err = segment_write(seg, pl->cfg.write_mode, batches, len)) != SAMSA_ERR_NONE)
        goto out;
    for (pos = 0; pos < len; pos += (size_t)h.length + BATCH_LOG_OVERHEAD) {
        batch_header_parse(batches + pos, len - pos, &h);
        segment_note_batch(seg, &pl->cfg, seg->size_bytes + pos, &h);
    }
    seg->size_bytes += len;
    if (base_offset_out)
        *base_offset_out = pl->next_offset;
    if (last_offset_out)
        *last_offset_out = offset - 1;
    pl->next_offset = offset;
    pl->unflushed_messages += offsets;
    pl->appends++;
    if (pl->gathering)
        pthread_cond_signal(&pl->append_cond);
out:;
    bool flush_now = !err && pl->unflushed_messages >= pl->cfg.flush_interval_messages;
    pthread_mutex_unlock(&pl->lock);
    if (err == SAMSA_ERR__NOSPC || err == SAMSA_ERR__STORAGE)
        slog_warn(LOG_MODULE, "%s: append of %zu bytes failed: %s", pl->name, len,
                  samsa_err_str(err));
    if (flush_now)
        err = partition_log_flush(pl);
    return err;
}

/* ---- read -------------------------------------------------------------- */

void log_read_unmap(const log_read_t *r)
{
    static uintptr_t page;
    if (!r->data || r->length_bytes == 0)
        return;
    if (!page)
        page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)r->data + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)r->data + r->length_bytes) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

samsa_err_t partition_log_read(partition_log_t *pl, int64_t offset, size_t max_bytes,
                               log_read_t *out)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    pthread_mutex_lock(&pl->lock);
    out->high_watermark = pl->next_offset;
    out->log_start_offset = pl->log_start_offset;
    out->first_offset = out->next_offset = offset;
    if (offset < pl->log_start_offset || offset > pl->next_offset) {
        pthread_mutex_unlock(&pl->lock);
        return SAMSA_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (offset == pl->next_offset) {
        pthread_mutex_unlock(&pl->lock);
        return SAMSA_ERR_NONE;
    }
    log_segment_t *seg = NULL;
    int64_t start = -1;
    for (size_t i = find_segment(pl, offset); i < pl->segment_count && start < 0; i++) {
        seg = pl->segments[i];
        start = offset >= seg->base_offset ? segment_find(seg, offset)
                                           : (seg->size_bytes > 0 ? 0 : -1);
    }
    if (start < 0) {
        pthread_mutex_unlock(&pl->lock);
        slog_error(LOG_MODULE, "%s: offset %" PRId64 " is in no segment", pl->name, offset);
        return SAMSA_ERR__STORAGE;
    }
    size_t limit = seg->size_bytes;
    segment_ref(seg);
    pthread_mutex_unlock(&pl->lock);

    /* Below limit the data no longer changes: scan headers unlocked. */
    size_t pos = (size_t)start;
    batch_header_t h;
    while (pos < limit && batch_header_parse(seg->map + pos, limit - pos, &h) == SAMSA_ERR_NONE) {
        size_t total = (size_t)h.length + BATCH_LOG_OVERHEAD;
        if (pos + total > limit || (pos > (size_t)start && pos + total - (size_t)start > max_bytes))
            break;
        if (pos == (size_t)start)
            out->first_offset = h.base_offset;
        out->next_offset = h.base_offset + h.last_offset_delta + 1;
        pos += total;
    }
    out->segment = seg;
    out->fd = seg->fd;
    out->file_position = start;
    out->length_bytes = pos - (size_t)start;
    out->data = seg->map + start;
    return SAMSA_ERR_NONE;
}

void log_read_release(log_read_t *r)
{
    if (r && r->segment) {
        segment_unref(r->segment);
        r->segment = NULL;
        r->data = NULL;
        r->fd = -1;
    }
}

samsa_err_t partition_log_offset_for_timestamp(partition_log_t *pl, int64_t timestamp_ms,
                                               int64_t *offset_out, int64_t *timestamp_out)
{
    samsa_err_t err = SAMSA_ERR__NOENT;
    int64_t offset = -1, ts = -1;
    pthread_mutex_lock(&pl->lock);
    for (size_t i = 0; i < pl->segment_count; i++) {
        if (segment_find_timestamp(pl->segments[i], timestamp_ms, &offset, &ts)) {
            if (offset < pl->log_start_offset)
                offset = pl->log_start_offset;
            err = SAMSA_ERR_NONE;
            break;
        }
    }
    pthread_mutex_unlock(&pl->lock);
    if (offset_out)
        *offset_out = offset;
    if (timestamp_out)
        *timestamp_out = ts;
    return err;
}

/* ---- offsets, DeleteRecords, retention ---------------------------------- */

#define LOCKED_READ(pl, expr)                                                  \
    do {                                                                       \
        pthread_mutex_lock(&(pl)->lock);                                       \
        int64_t v_ = (expr);                                                   \
        pthread_mutex_unlock(&(pl)->lock);                                     \
        return v_;                                                             \
    } while (0)

int64_t partition_log_start_offset(partition_log_t *pl) { LOCKED_READ(pl, pl->log_start_offset); }
int64_t partition_log_end_offset(partition_log_t *pl) { LOCKED_READ(pl, pl->next_offset); }
int64_t partition_log_high_watermark(partition_log_t *pl) { LOCKED_READ(pl, pl->next_offset); }

/* Deletes the segments wholly below the log start offset. Lock held. */
static int delete_below_start(partition_log_t *pl)
{
    int deleted = 0;
    while (pl->segment_count > 1 && pl->segments[1]->base_offset <= pl->log_start_offset) {
        remove_segment(pl, 0);
        deleted++;
    }
    return deleted;
}

samsa_err_t partition_log_delete_records(partition_log_t *pl, int64_t offset,
                                         int64_t *low_watermark_out)
{
    samsa_err_t err = SAMSA_ERR_NONE;
    pthread_mutex_lock(&pl->lock);
    if (offset == -1)
        offset = pl->next_offset;
    if (offset < 0 || offset > pl->next_offset) {
        err = SAMSA_ERR_OFFSET_OUT_OF_RANGE;
    } else if (offset > pl->log_start_offset) {
        int64_t old = pl->log_start_offset;
        pl->log_start_offset = offset;
        if ((err = partition_write_checkpoint(pl, pl->recovery_point)) != SAMSA_ERR_NONE)
            pl->log_start_offset = old;
        else
            delete_below_start(pl);
    }
    if (low_watermark_out)
        *low_watermark_out = pl->log_start_offset;
    pthread_mutex_unlock(&pl->lock);
    return err;
}

int partition_log_apply_retention(partition_log_t *pl, int64_t now_ms)
{
    int deleted = 0;
    pthread_mutex_lock(&pl->lock);
    if (pl->cfg.retention_ms >= 0) {
        while (pl->segment_count > 1) {
            const log_segment_t *seg = pl->segments[0];
            int64_t ts = seg->max_timestamp_ms >= 0 ? seg->max_timestamp_ms : seg->created_ms;
            if (now_ms - ts <= pl->cfg.retention_ms)
                break;
            remove_segment(pl, 0);
            deleted++;
        }
    }
    if (pl->cfg.retention_bytes >= 0) {
        uint64_t total = 0;
        for (size_t i = 0; i < pl->segment_count; i++)
            total += pl->segments[i]->size_bytes;
        while (pl->segment_count > 1 &&
               total - pl->segments[0]->size_bytes >= (uint64_t)pl->cfg.retention_bytes) {
            total -= pl->segments[0]->size_bytes;
            remove_segment(pl, 0);
            deleted++;
        }
    }
    deleted += delete_below_start(pl);
    if (pl->log_start_offset < pl->segments[0]->base_offset)
        pl->log_start_offset = pl->segments[0]->base_offset;
    pthread_mutex_unlock(&pl->lock);
    if (deleted)
        slog_info(LOG_MODULE, "%s: retention deleted %d segment(s)", pl->name, deleted);
    return deleted;
}

void partition_log_stats(partition_log_t *pl, log_stats_t *out)
{
    pthread_mutex_lock(&pl->lock);
    out->segment_count = pl->segment_count;
    out->size_bytes = 0;
    for (size_t i = 0; i < pl->segment_count; i++)
        out->size_bytes += pl->segments[i]->size_bytes;
    out->active_base_offset = active_segment(pl)->base_offset;
    pthread_mutex_unlock(&pl->lock);
}

const char *partition_log_name(const partition_log_t *pl) { return pl->name; }
