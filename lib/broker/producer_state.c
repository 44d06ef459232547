/*
 * producer_state.c: per-partition idempotent producer state: the sequence
 * and epoch checks, the table of producers, snapshots and their replay.
 * The rules and the snapshot format are described in producer_state.h.
 */
#include "broker/producer_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/slog.h"

#define PS_MODULE "producer_state"
#define PS_MAGIC "SPST"
#define PS_VERSION 1
#define PS_HEADER_BYTES 20   /* magic .. producer count */
#define PS_PRODUCER_BYTES 20 /* an entry without its batches (28 bytes each) */
#define PS_SNAPSHOTS_KEPT 2  /* the newest, and one to fall back on */
#define PS_SNAPSHOT_MAX_BYTES (1024u * 1024 * 1024) /* ~6 million producers */
#define PS_REPLAY_READ_BYTES (1024 * 1024)
#define PS_SUFFIX ".snapshot"

struct producer_state {
    char *dir;
    int dir_fd;
    partition_log_t *pl;
    producer_entry_t *slots; /* open addressing, linear probing; cap a power of 2 */
    size_t cap;
    size_t count;
};

/* ---- sequences -------------------------------------------------------- */

/* seq + delta, wrapping past INT32_MAX to 0 as Kafka's sequences do. */
static int32_t seq_add(int32_t seq, int32_t delta)
{
    int64_t v = (int64_t)seq + delta;
    if (v > INT32_MAX)
        v -= (int64_t)INT32_MAX + 1;
    return (int32_t)v;
}

static bool seq_follows(int32_t last_seq, int32_t next_seq)
{
    return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

/* ---- the table -------------------------------------------------------- */

static size_t slot_home(const producer_state_t *ps, int64_t producer_id)
{
    uint64_t h = (uint64_t)producer_id * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (ps->cap - 1);
}

static producer_entry_t *table_alloc(size_t cap)
{
    producer_entry_t *slots = malloc(cap * sizeof(*slots));
    if (slots)
        for (size_t i = 0; i < cap; i++)
            slots[i].producer_id = -1;
    return slots;
}

static producer_entry_t *table_find(const producer_state_t *ps, int64_t producer_id)
{
    for (size_t i = slot_home(ps, producer_id);; i = (i + 1) & (ps->cap - 1)) {
        if (ps->slots[i].producer_id == producer_id)
            return &ps->slots[i];
        if (ps->slots[i].producer_id < 0)
            return NULL;
    }
}

/* Doubles the table. Returns false (table unchanged) when memory runs out. */
static bool table_grow(producer_state_t *ps)
{
    size_t old_cap = ps->cap;
    producer_entry_t *old = ps->slots;
    producer_entry_t *slots = table_alloc(old_cap * 2);
    if (!slots)
        return false;
    ps->slots = slots;
    ps->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].producer_id < 0)
            continue;
        size_t j = slot_home(ps, old[i].producer_id);
        while (ps->slots[j].producer_id >= 0)
            j = (j + 1) & (ps->cap - 1);
        ps->slots[j] = old[i];
    }
    free(old);
    return true;
}

/* Makes room for one more producer, keeping the load at most one half.
 * Returns false when the table is too full and cannot grow. A failed grow
 * is fine while a free slot is left beside the one that ends probing. */
static bool table_reserve(producer_state_t *ps)
{
    if ((ps->count + 1) * 2 <= ps->cap)
        return true;
    return table_grow(ps) || ps->count + 2 <= ps->cap;
}

/* The entry of producer_id, added empty (epoch -1, no batches) when absent;
 * NULL when there is no room. */
static producer_entry_t *table_upsert(producer_state_t *ps, int64_t producer_id)
{
    producer_entry_t *e = table_find(ps, producer_id);
    if (e)
        return e;
    if (!table_reserve(ps))
        return NULL;
    size_t i = slot_home(ps, producer_id);
    while (ps->slots[i].producer_id >= 0)
        i = (i + 1) & (ps->cap - 1);
    e = &ps->slots[i];
    memset(e, 0, sizeof(*e));
    e->producer_id = producer_id;
    e->epoch = -1;
    ps->count++;
    return e;
}

/* Empties slot i, moving later entries of its probe run back so that every
 * entry stays reachable from its home slot. Entries only move into slot i
 * or into slots after it (cyclically). */
static void table_remove_at(producer_state_t *ps, size_t i)
{
    size_t mask = ps->cap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (ps->slots[j].producer_id < 0)
            break;
        size_t k = slot_home(ps, ps->slots[j].producer_id);
        /* the entry at j may fill the hole at i unless its home lies
         * cyclically in (i, j] */
        bool home_between = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!home_between) {
            ps->slots[i] = ps->slots[j];
            i = j;
        }
    }
    ps->slots[i].producer_id = -1;
    ps->count--;
}

/* Removes every producer for which drop(entry, arg) is true; returns how
 * many. A removal may move an entry into the slot just examined, so that
 * slot is examined again; entries are never moved to an earlier slot that
 * was not yet visited from a later one that was, so none is skipped. */
typedef bool producer_pred_fn(const producer_entry_t *e, const void *arg);

static size_t table_remove_if(producer_state_t *ps, producer_pred_fn *drop, const void *arg)
{
    size_t removed = 0;
    for (size_t i = 0; i < ps->cap;) {
        if (ps->slots[i].producer_id >= 0 && drop(&ps->slots[i], arg)) {
            table_remove_at(ps, i);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

static void table_clear(producer_state_t *ps)
{
    for (size_t i = 0; i < ps->cap; i++)
        ps->slots[i].producer_id = -1;
    ps->count = 0;
}

/* ---- check and update ------------------------------------------------- */

samsa_err_t producer_state_check(producer_state_t *ps, const batch_header_t *h,
                                 int64_t *dup_base_offset)
{
    if (h->attributes & BATCH_ATTR_CONTROL)
        return SAMSA_ERR_INVALID_RECORD;
    if (h->producer_id < 0)
        return SAMSA_ERR_NONE;
    if (h->base_sequence < 0)
        return SAMSA_ERR_INVALID_RECORD;
    const producer_entry_t *e = table_find(ps, h->producer_id);
    if (!e)
        return table_reserve(ps) ? SAMSA_ERR_NONE : SAMSA_ERR__NOMEM;
    int32_t last_seq = seq_add(h->base_sequence, h->last_offset_delta);
    if (h->producer_epoch == e->epoch) {
        for (unsigned i = 0; i < e->batch_count; i++) {
            const producer_batch_t *b = &e->batches[i];
            if (b->first_seq == h->base_sequence && b->last_seq == last_seq) {
                if (dup_base_offset)
                    *dup_base_offset = b->base_offset;
                return SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER;
            }
        }
    }
    if (h->producer_epoch < e->epoch)
        return SAMSA_ERR_INVALID_PRODUCER_EPOCH;
    if (h->producer_epoch != e->epoch)
        return h->base_sequence == 0 ? SAMSA_ERR_NONE : SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    int32_t current_last = e->batch_count ? e->batches[e->batch_count - 1].last_seq : -1;
    return seq_follows(current_last, h->base_sequence) ? SAMSA_ERR_NONE
                                                       : SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

void producer_state_update(producer_state_t *ps, const batch_header_t *h, int64_t base_offset)
{
    if (h->producer_id < 0 || (h->attributes & BATCH_ATTR_CONTROL))
        return;
    producer_entry_t *e = table_upsert(ps, h->producer_id);
    if (!e) {
        slog_error(PS_MODULE, "%s: out of memory: producer %" PRId64 " is not tracked", ps->dir,
                   h->producer_id);
        return;
    }
    if (e->epoch != h->producer_epoch) {
        e->epoch = h->producer_epoch;
        e->batch_count = 0;
    }
    if (e->batch_count == PRODUCER_STATE_BATCHES) {
        memmove(&e->batches[0], &e->batches[1],
                (PRODUCER_STATE_BATCHES - 1) * sizeof(e->batches[0]));
        e->batch_count--;
    }
    producer_batch_t *b = &e->batches[e->batch_count++];
    b->first_seq = h->base_sequence;
    b->last_seq = seq_add(h->base_sequence, h->last_offset_delta);
    b->base_offset = base_offset;
    b->last_offset_delta = h->last_offset_delta;
    b->max_timestamp_ms = h->max_timestamp;
    e->last_timestamp_ms = h->max_timestamp;
}

static int64_t entry_last_offset(const producer_entry_t *e)
{
    if (!e->batch_count)
        return -1;
    const producer_batch_t *b = &e->batches[e->batch_count - 1];
    return b->base_offset + b->last_offset_delta;
}

static bool below_offset(const producer_entry_t *e, const void *arg)
{
    return entry_last_offset(e) < *(const int64_t *)arg;
}

void producer_state_truncate_head(producer_state_t *ps, int64_t log_start_offset)
{
    table_remove_if(ps, below_offset, &log_start_offset);
}

struct expiry {
    int64_t now_ms, expiration_ms;
};

static bool expired(const producer_entry_t *e, const void *arg)
{
    const struct expiry *x = arg;
    return x->now_ms - e->last_timestamp_ms >= x->expiration_ms;
}

size_t producer_state_expire(producer_state_t *ps, int64_t now_ms, int64_t expiration_ms)
{
    struct expiry x = {now_ms, expiration_ms};
    return table_remove_if(ps, expired, &x);
}

const producer_entry_t *producer_state_find(const producer_state_t *ps, int64_t producer_id)
{
    return producer_id < 0 ? NULL : table_find(ps, producer_id);
}

size_t producer_state_count(const producer_state_t *ps) { return ps->count; }

/* ---- snapshot files --------------------------------------------------- */

static samsa_err_t errno_err(int e) { return e == ENOSPC ? SAMSA_ERR__NOSPC : SAMSA_ERR__STORAGE; }

/* Parses "<20 digits>.snapshot"; false for any other name. */
static bool snapshot_name_parse(const char *name, int64_t *offset)
{
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (name[i] - '0');
    }
    if (strcmp(name + 20, PS_SUFFIX) != 0)
        return false;
    *offset = v;
    return true;
}

static void snapshot_name(char *out, size_t outlen, int64_t offset)
{
    snprintf(out, outlen, "%020" PRId64 PS_SUFFIX, offset);
}

static int compare_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x > y ? -1 : x < y;
}

/* The offsets of the snapshots in the directory, newest first, in a
 * malloc'd array (NULL when *n is 0); leftover temp files are removed. */
static samsa_err_t snapshot_list(producer_state_t *ps, int64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int fd = dup(ps->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        slog_error(PS_MODULE, "%s: cannot list: %s", ps->dir, strerror(e));
        return SAMSA_ERR__STORAGE;
    }
    rewinddir(d);
    size_t cap = 0;
    samsa_err_t err = SAMSA_ERR_NONE;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        int64_t offset;
        size_t len = strlen(ent->d_name);
        bool temp = len == 20 + strlen(PS_SUFFIX ".tmp") &&
                    strcmp(ent->d_name + 20, PS_SUFFIX ".tmp") == 0;
        if (temp) {
            unlinkat(ps->dir_fd, ent->d_name, 0); /* a write that a crash interrupted */
            continue;
        }
        if (!snapshot_name_parse(ent->d_name, &offset))
            continue;
        if (*n == cap) {
            size_t new_cap = cap ? cap * 2 : 8;
            int64_t *grown = realloc(*out, new_cap * sizeof(*grown));
            if (!grown) {
                err = SAMSA_ERR__NOMEM;
                break;
            }
            *out = grown;
            cap = new_cap;
        }
        (*out)[(*n)++] = offset;
    }
    closedir(d);
    if (err) {
        free(*out);
        *out = NULL;
        *n = 0;
        return err;
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), compare_desc);
    return SAMSA_ERR_NONE;
}

static void snapshot_unlink(producer_state_t *ps, int64_t offset)
{
    char name[64];
    snapshot_name(name, sizeof(name), offset);
    if (unlinkat(ps->dir_fd, name, 0) != 0 && errno != ENOENT)
        slog_warn(PS_MODULE, "%s: cannot delete %s: %s", ps->dir, name, strerror(errno));
}

static void snapshot_encode(const producer_state_t *ps, int64_t end_offset, buf_t *b)
{
    buf_put(b, PS_MAGIC, 4);
    buf_put_u16(b, PS_VERSION);
    buf_put_u16(b, 0);
    buf_put_i64(b, end_offset);
    buf_put_u32(b, (uint32_t)ps->count);
    for (size_t i = 0; i < ps->cap; i++) {
        const producer_entry_t *e = &ps->slots[i];
        if (e->producer_id < 0)
            continue;
        buf_put_i64(b, e->producer_id);
        buf_put_i16(b, e->epoch);
        buf_put_i8(b, (int8_t)e->batch_count);
        buf_put_i8(b, 0);
        buf_put_i64(b, e->last_timestamp_ms);
        for (unsigned j = 0; j < e->batch_count; j++) {
            const producer_batch_t *pb = &e->batches[j];
            buf_put_i32(b, pb->first_seq);
            buf_put_i32(b, pb->last_seq);
            buf_put_i64(b, pb->base_offset);
            buf_put_i32(b, pb->last_offset_delta);
            buf_put_i64(b, pb->max_timestamp_ms);
        }
    }
    if (!b->failed)
        buf_put_u32(b, crc32c(0, b->data, b->len));
}

/* Fills the (empty) table from a snapshot's bytes. Returns a description
 * of what is wrong, or NULL when the snapshot is valid. */
static const char *snapshot_decode(producer_state_t *ps, const uint8_t *data, size_t len,
                                   int64_t expect_offset)
{
    if (len < PS_HEADER_BYTES + 4)
        return "too short";
    if (be32_load(data + len - 4) != crc32c(0, data, len - 4))
        return "CRC mismatch";
    reader_t r = reader_make(data, len - 4);
    const uint8_t *magic = reader_take(&r, 4);
    if (!magic || memcmp(magic, PS_MAGIC, 4) != 0)
        return "bad magic";
    if (reader_u16(&r) != PS_VERSION)
        return "unknown version";
    reader_u16(&r);
    if (reader_i64(&r) != expect_offset)
        return "offset differs from the file name";
    uint32_t count = reader_u32(&r);
    if (count > reader_left(&r) / PS_PRODUCER_BYTES)
        return "producer count past the end";
    for (uint32_t i = 0; i < count; i++) {
        int64_t producer_id = reader_i64(&r);
        int16_t epoch = reader_i16(&r);
        uint8_t batch_count = (uint8_t)reader_i8(&r);
        reader_i8(&r);
        int64_t last_timestamp_ms = reader_i64(&r);
        if (!reader_ok(&r) || producer_id < 0 || batch_count > PRODUCER_STATE_BATCHES)
            return "bad producer entry";
        if (table_find(ps, producer_id))
            return "producer listed twice";
        producer_entry_t *e = table_upsert(ps, producer_id);
        if (!e)
            return "out of memory";
        e->epoch = epoch;
        e->batch_count = batch_count;
        e->last_timestamp_ms = last_timestamp_ms;
        for (unsigned j = 0; j < batch_count; j++) {
            producer_batch_t *b = &e->batches[j];
            b->first_seq = reader_i32(&r);
            b->last_seq = reader_i32(&r);
            b->base_offset = reader_i64(&r);
            b->last_offset_delta = reader_i32(&r);
            b->max_timestamp_ms = reader_i64(&r);
        }
        if (!reader_ok(&r))
            return "cut short";
    }
    return reader_left(&r) ? "bytes after the last producer" : NULL;
}

/* Loads the snapshot at offset into the (empty) table. Returns
 * SAMSA_ERR_NONE, SAMSA_ERR__BAD_MSG for an invalid file (warned about;
 * the table is left empty), SAMSA_ERR__NOMEM or SAMSA_ERR__STORAGE. */
static samsa_err_t snapshot_load(producer_state_t *ps, int64_t offset)
{
    char name[64];
    snapshot_name(name, sizeof(name), offset);
    uint8_t *data = NULL;
    samsa_err_t err = SAMSA_ERR_NONE;
    int fd = openat(ps->dir_fd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        slog_error(PS_MODULE, "%s: cannot read %s: %s", ps->dir, name, strerror(errno));
        err = SAMSA_ERR__STORAGE;
        goto done;
    }
    if (st.st_size > PS_SNAPSHOT_MAX_BYTES) {
        slog_warn(PS_MODULE, "%s: %s is larger than %u bytes: ignored", ps->dir, name,
                  PS_SNAPSHOT_MAX_BYTES);
        err = SAMSA_ERR__BAD_MSG;
        goto done;
    }
    size_t len = (size_t)st.st_size;
    data = malloc(len ? len : 1);
    if (!data) {
        err = SAMSA_ERR__NOMEM;
        goto done;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, data + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            slog_error(PS_MODULE, "%s: cannot read %s: %s", ps->dir, name,
                       n < 0 ? strerror(errno) : "file shrank");
            err = SAMSA_ERR__STORAGE;
            goto done;
        }
        got += (size_t)n;
    }
    const char *why = snapshot_decode(ps, data, len, offset);
    if (why) {
        table_clear(ps);
        if (strcmp(why, "out of memory") == 0) {
            err = SAMSA_ERR__NOMEM;
        } else {
            slog_warn(PS_MODULE, "%s: snapshot %s is corrupt (%s): ignored", ps->dir, name, why);
            err = SAMSA_ERR__BAD_MSG;
        }
    }
done:
    if (fd >= 0)
        close(fd);
    free(data);
    return err;
}

static samsa_err_t write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno_err(n < 0 ? errno : ENOSPC);
        data += n;
        len -= (size_t)n;
    }
    return SAMSA_ERR_NONE;
}

samsa_err_t producer_file_write(int dir_fd, const char *name, const void *data, size_t len)
{
    char tmp[512];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
        return SAMSA_ERR__INVALID_ARG;
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno_err(errno);
    samsa_err_t err = write_all(fd, data, len);
    if (!err && fsync(fd) != 0)
        err = errno_err(errno);
    close(fd);
    if (!err && renameat(dir_fd, tmp, dir_fd, name) != 0)
        err = errno_err(errno);
    if (!err && fsync(dir_fd) != 0)
        err = errno_err(errno);
    if (err)
        unlinkat(dir_fd, tmp, 0);
    return err;
}

samsa_err_t producer_state_snapshot(producer_state_t *ps)
{
    int64_t end_offset = partition_log_end_offset(ps->pl);
    char name[64];
    snapshot_name(name, sizeof(name), end_offset);
    buf_t b;
    buf_init(&b, 0);
    int64_t *offsets = NULL;
    size_t n = 0;
    snapshot_encode(ps, end_offset, &b);
    samsa_err_t err = b.failed ? SAMSA_ERR__NOMEM
                               : producer_file_write(ps->dir_fd, name, b.data, b.len);
    if (err)
        goto fail;
    buf_free(&b);
    /* older snapshots: keep one as a fallback, delete the rest */
    if (snapshot_list(ps, &offsets, &n) == SAMSA_ERR_NONE)
        for (size_t i = PS_SNAPSHOTS_KEPT; i < n; i++)
            snapshot_unlink(ps, offsets[i]);
    free(offsets);
    return SAMSA_ERR_NONE;
fail:
    slog_error(PS_MODULE, "%s: cannot write snapshot %s: %s", ps->dir, name, samsa_err_name(err));
    buf_free(&b);
    return err;
}

/* ---- open: load and replay -------------------------------------------- */

/* Applies every batch of the log from offset from to the end. */
static samsa_err_t replay(producer_state_t *ps, int64_t from, char *errbuf, size_t errlen)
{
    int64_t offset = from;
    int64_t end = partition_log_end_offset(ps->pl);
    while (offset < end) {
        log_read_t r;
        samsa_err_t err = partition_log_read(ps->pl, offset, PS_REPLAY_READ_BYTES, &r);
        if (err) {
            snprintf(errbuf, errlen, "%s: cannot read the log at offset %" PRId64 ": %s", ps->dir,
                     offset, samsa_err_name(err));
            return err;
        }
        const uint8_t *p = r.data;
        size_t left = r.length_bytes;
        while (left >= BATCH_HEADER_BYTES) {
            batch_header_t h;
            size_t size = batch_total_bytes(p);
            if (batch_header_parse(p, left, &h) != SAMSA_ERR_NONE || size > left)
                break;
            if (h.base_offset + h.last_offset_delta >= offset)
                producer_state_update(ps, &h, h.base_offset);
            p += size;
            left -= size;
        }
        int64_t next = r.next_offset;
        log_read_release(&r);
        if (left) {
            snprintf(errbuf, errlen, "%s: unreadable batch in the log before offset %" PRId64,
                     ps->dir, next);
            return SAMSA_ERR__STORAGE;
        }
        if (next <= offset)
            break; /* nothing more to read (a gap the log does not fill) */
        offset = next;
    }
    return SAMSA_ERR_NONE;
}

producer_state_t *producer_state_open(const char *dir, partition_log_t *pl, char *errbuf,
                                      size_t errlen)
{
    char scratch[1];
    if (!errbuf) {
        errbuf = scratch;
        errlen = sizeof(scratch);
    }
    int64_t *offsets = NULL;
    size_t n = 0;
    producer_state_t *ps = calloc(1, sizeof(*ps));
    if (!ps)
        goto nomem;
    ps->dir_fd = -1;
    ps->pl = pl;
    ps->cap = 16;
    ps->dir = strdup(dir);
    ps->slots = table_alloc(ps->cap);
    if (!ps->dir || !ps->slots)
        goto nomem;
    ps->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ps->dir_fd < 0) {
        snprintf(errbuf, errlen, "cannot open %s: %s", dir, strerror(errno));
        goto fail;
    }
    samsa_err_t err = snapshot_list(ps, &offsets, &n);
    if (err) {
        snprintf(errbuf, errlen, "cannot list the snapshots in %s: %s", dir, samsa_err_name(err));
        goto fail;
    }
    int64_t log_start = partition_log_start_offset(pl);
    int64_t log_end = partition_log_end_offset(pl);
    int64_t from = log_start;
    for (size_t i = 0; i < n; i++) {
        if (offsets[i] > log_end) {
            /* the log lost its tail (recovery cut it): the snapshot holds
             * batches that are gone, and offsets will be reused */
            slog_warn(PS_MODULE, "%s: snapshot at offset %" PRId64 " is past the log end %" PRId64
                      ": deleted", dir, offsets[i], log_end);
            snapshot_unlink(ps, offsets[i]);
            continue;
        }
        err = snapshot_load(ps, offsets[i]);
        if (err == SAMSA_ERR__BAD_MSG) {
            snapshot_unlink(ps, offsets[i]);
            continue;
        }
        if (err) {
            snprintf(errbuf, errlen, "cannot load the snapshot at offset %" PRId64 " in %s: %s",
                     offsets[i], dir, samsa_err_name(err));
            goto fail;
        }
        if (offsets[i] > from)
            from = offsets[i];
        break;
    }
    if (replay(ps, from, errbuf, errlen) != SAMSA_ERR_NONE)
        goto fail;
    producer_state_truncate_head(ps, log_start);
    free(offsets);
    return ps;
nomem:
    snprintf(errbuf, errlen, "out of memory");
fail:
    free(offsets);
    producer_state_free(ps);
    return NULL;
}

void producer_state_free(producer_state_t *ps)
{
    if (!ps)
        return;
    if (ps->dir_fd >= 0)
        close(ps->dir_fd);
    free(ps->slots);
    free(ps->dir);
    free(ps);
}

samsa_err_t producer_state_close(producer_state_t *ps)
{
    samsa_err_t err = producer_state_snapshot(ps);
    producer_state_free(ps);
    return err;
}
