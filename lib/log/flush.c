/*
 * flush.c: durability: syncing a partition (with group commit), waiting for
 * durable offsets, the flush policy, and the flusher thread.
 *
 * Group commit: one thread at a time syncs a partition (pl->flushing). It
 * notes the log end, drops the lock for the fdatasync, and then declares
 * everything below that end durable. Threads that need a durable offset
 * while a sync runs queue as waiters, each sleeping on its own semaphore.
 * When the sync ends, its thread wakes exactly the waiters it covered and,
 * if any remain (their appends came in during the sync), hands the next
 * sync to the first of them at once: one fdatasync serves every append that
 * came in while the previous one ran, nobody waits on a sync that would not
 * cover them, and the disk never idles while acknowledgments are pending.
 *
 * Gathering: when a sync ends, the appenders it woke append again at about
 * the same moment, but the first of them to lead the next sync would cover
 * only its own batch, and every fdatasync costs the same fixed latency. So
 * a leader whose previous group was large waits, briefly, for half as many
 * appends to join (bounded by half the previous sync's duration and
 * GATHER_MAX_NS): the group size settles at the number of concurrent
 * appenders, while a lone appender never waits.
 */
#include "log/log_int.h"

#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/slog.h"

#define GATHER_MAX_NS 1000000 /* 1 ms */

typedef struct flush_item {
    log_segment_t *seg;
    size_t size_bytes;
    bool full; /* sealed since: sync size and indexes too */
} flush_item_t;

static bool segment_needs_sync(const log_segment_t *seg)
{
    return seg->flushed_bytes < seg->size_bytes || (!seg->active && !seg->sealed_synced);
}

static bool partition_needs_sync(const partition_log_t *pl)
{
    if (pl->durable_offset < pl->next_offset || pl->dir_dirty)
        return true;
    for (size_t i = 0; i < pl->segment_count; i++)
        if (segment_needs_sync(pl->segments[i]))
            return true;
    return false;
}

/* The base offset of the first segment that recovery must scan. */
static int64_t recovery_point(const partition_log_t *pl)
{
    for (size_t i = 0; i < pl->segment_count; i++)
        if (pl->segments[i]->active || !pl->segments[i]->sealed_synced)
            return pl->segments[i]->base_offset;
    return pl->next_offset;
}

struct durable_waiter {
    durable_waiter_t *next;
    int64_t end_offset;  /* waits until durable_offset >= this */
    sem_t wake;
    enum { WAITER_QUEUED, WAITER_DONE, WAITER_LEAD } state;
    samsa_err_t err;     /* for WAITER_DONE */
};

/* After a sync ended (or failed to start): wakes the waiters it covered
 * (all of them when the partition failed, with the error) and, when others
 * remain and nobody syncs, the first of them to lead the next sync. A
 * waiter is unlinked before its semaphore is posted and never touched
 * after. Lock held. */
static void waiters_wake(partition_log_t *pl)
{
    durable_waiter_t **link = &pl->waiters, *w, *lead = NULL;
    pl->waiters_tail = NULL;
    while ((w = *link) != NULL) {
        if (pl->failed || w->end_offset <= pl->durable_offset) {
            *link = w->next;
            w->err = pl->failed ? SAMSA_ERR__STORAGE : SAMSA_ERR_NONE;
            w->state = WAITER_DONE;
            sem_post(&w->wake);
        } else {
            pl->waiters_tail = w;
            link = &w->next;
        }
    }
    if (pl->waiters && !pl->flushing) {
        lead = pl->waiters;
        pl->waiters = lead->next;
        if (!pl->waiters)
            pl->waiters_tail = NULL;
        lead->state = WAITER_LEAD;
        sem_post(&lead->wake);
    }
}

/* One sync. Called and returns with pl->lock held and pl->flushing false;
 * drops the lock while syncing. *advanced is set to the new durable end
 * when it moved (for the on_durable callback), else -1. */
static samsa_err_t flush_locked(partition_log_t *pl, int64_t *advanced)
{
    int e = 0;
    *advanced = -1;
    flush_item_t *items = malloc(pl->segment_count * sizeof(*items));
    if (!items) {
        waiters_wake(pl); /* someone else may have the memory to try */
        return SAMSA_ERR__NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < pl->segment_count; i++) {
        log_segment_t *seg = pl->segments[i];
        if (!segment_needs_sync(seg))
            continue;
        segment_ref(seg);
        items[n++] = (flush_item_t){seg, seg->size_bytes, !seg->active};
    }
    int64_t target = pl->next_offset, messages = pl->unflushed_messages;
    bool dir = pl->dir_dirty;
    pl->dir_dirty = false;
    pl->flushing = true;
    pl->last_group_appends = pl->appends - pl->appends_synced;
    pl->appends_synced = pl->appends;
    pthread_mutex_unlock(&pl->lock);

    int64_t start_ns = clock_mono_ns();
    for (size_t i = 0; i < n && !e; i++)
        e = segment_sync(items[i].seg, items[i].full);
    if (!e && dir && fsync(pl->dir_fd) != 0)
        e = errno;
    int64_t took_ns = clock_mono_ns() - start_ns;

    pthread_mutex_lock(&pl->lock);
    pl->last_sync_ns = took_ns;
    pl->flushing = false;
    for (size_t i = 0; i < n; i++) {
        if (!e) {
            if (items[i].seg->flushed_bytes < items[i].size_bytes)
                items[i].seg->flushed_bytes = items[i].size_bytes;
            if (items[i].full)
                items[i].seg->sealed_synced = true;
        }
        segment_unref(items[i].seg);
    }
    free(items);
    samsa_err_t err = SAMSA_ERR_NONE;
    if (e) {
        /* After a failed fsync the page cache may have dropped the data:
         * refuse further appends rather than acknowledge on top of a hole. */
        pl->failed = true;
        slog_error(LOG_MODULE, "%s: sync failed: %s; the partition refuses appends until reopened",
                   pl->name, strerror(e));
        err = SAMSA_ERR__STORAGE;
    } else {
        if (target > pl->durable_offset) {
            pl->durable_offset = target;
            *advanced = target;
        }
        pl->unflushed_messages -= messages;
        pl->last_flush_mono_ms = clock_mono_ms();
        int64_t rp = recovery_point(pl);
        if (rp > pl->recovery_point)
            err = partition_write_checkpoint(pl, rp);
    }
    waiters_wake(pl);
    pthread_cond_broadcast(&pl->durable_cond);
    return err;
}

static void notify_durable(partition_log_t *pl, int64_t advanced)
{
    if (advanced >= 0 && pl->cfg.on_durable)
        pl->cfg.on_durable(pl->cfg.on_durable_opaque, pl, advanced);
}

samsa_err_t partition_log_flush(partition_log_t *pl)
{
    samsa_err_t err = SAMSA_ERR_NONE;
    int64_t advanced = -1;
    pthread_mutex_lock(&pl->lock);
    while (pl->flushing)
        pthread_cond_wait(&pl->durable_cond, &pl->lock);
    if (pl->failed)
        err = SAMSA_ERR__STORAGE;
    else if (partition_needs_sync(pl))
        err = flush_locked(pl, &advanced);
    pthread_mutex_unlock(&pl->lock);
    notify_durable(pl, advanced);
    return err;
}

/* Queues w for end_offset and sleeps until a sync covers it (returns true,
 * w->err set) or it is handed the next sync (returns false, lock held
 * again). Called with the lock held; returns without it when done. */
static bool waiter_sleep(partition_log_t *pl, durable_waiter_t *w, int64_t end_offset)
{
    w->next = NULL;
    w->end_offset = end_offset;
    w->state = WAITER_QUEUED;
    if (pl->waiters_tail)
        pl->waiters_tail->next = w;
    else
        pl->waiters = w;
    pl->waiters_tail = w;
    pthread_mutex_unlock(&pl->lock);
    while (sem_wait(&w->wake) != 0)
        ; /* EINTR */
    if (w->state == WAITER_DONE)
        return true;
    pthread_mutex_lock(&pl->lock);
    return false;
}

/* Before leading a sync: waits for the appenders of the previous group to
 * join (see Gathering above). Lock held; pl->flushing marks the wait so that
 * others queue as waiters, and is false again on return. */
static void gather_locked(partition_log_t *pl)
{
    int64_t want = pl->last_group_appends / 2;
    int64_t wait_ns = pl->last_sync_ns / 2;
    if (want < 2 || wait_ns <= 0)
        return;
    if (wait_ns > GATHER_MAX_NS)
        wait_ns = GATHER_MAX_NS;
    int64_t deadline_ns = clock_mono_ns() + wait_ns;
    struct timespec ts = {deadline_ns / 1000000000, deadline_ns % 1000000000};
    pl->flushing = true;
    pl->gathering = true;
    while (!pl->failed && pl->appends - pl->appends_synced < want &&
           pthread_cond_timedwait(&pl->append_cond, &pl->lock, &ts) != ETIMEDOUT)
        ;
    pl->gathering = false;
    pl->flushing = false;
}

samsa_err_t partition_log_wait_durable(partition_log_t *pl, int64_t end_offset)
{
    samsa_err_t err = SAMSA_ERR_NONE;
    int64_t advanced = -1;
    durable_waiter_t w;
    sem_init(&w.wake, 0, 0);
    pthread_mutex_lock(&pl->lock);
    if (end_offset > pl->next_offset)
        err = SAMSA_ERR__INVALID_ARG;
    while (!err && pl->durable_offset < end_offset) {
        if (pl->failed) {
            err = SAMSA_ERR__STORAGE;
        } else if (pl->flushing) {
            if (waiter_sleep(pl, &w, end_offset)) {
                err = w.err;
                goto out;
            }
        } else {
            int64_t adv;
            gather_locked(pl);
            err = flush_locked(pl, &adv);
            if (adv > advanced)
                advanced = adv;
        }
    }
    pthread_mutex_unlock(&pl->lock);
out:
    sem_destroy(&w.wake);
    notify_durable(pl, advanced);
    return err;
}

int64_t partition_log_durable_offset(partition_log_t *pl)
{
    pthread_mutex_lock(&pl->lock);
    int64_t v = pl->durable_offset;
    pthread_mutex_unlock(&pl->lock);
    return v;
}

samsa_err_t partition_log_append_durable(partition_log_t *pl, uint8_t *batches, size_t len,
                                         int32_t leader_epoch, int64_t *base_offset_out,
                                         int64_t *last_offset_out)
{
    int64_t last;
    samsa_err_t err =
        partition_log_append(pl, batches, len, leader_epoch, base_offset_out, &last);
    if (!err)
        err = partition_log_wait_durable(pl, last + 1);
    if (last_offset_out)
        *last_offset_out = last;
    return err;
}

samsa_err_t partition_log_flush_if_due(partition_log_t *pl, int64_t now_mono_ms)
{
    pthread_mutex_lock(&pl->lock);
    bool due = !pl->flushing && !pl->failed && partition_needs_sync(pl) &&
               (pl->cfg.flush_on_ack ||
                (pl->cfg.flush_interval_ms >= 0 &&
                 now_mono_ms - pl->last_flush_mono_ms >= pl->cfg.flush_interval_ms));
    pthread_mutex_unlock(&pl->lock);
    return due ? partition_log_flush(pl) : SAMSA_ERR_NONE;
}

/* ---- the flusher thread ------------------------------------------------ */

struct log_flusher {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* wakes the thread; tells removers it moved on */
    partition_log_t **parts;
    size_t count, cap;
    partition_log_t *current;  /* being flushed outside the lock */
    int64_t retention_check_ms;
    int wake;                  /* atomic: someone waits for a durable offset */
    bool stop;
};

/* How long the thread may sleep: the shortest flush interval, the
 * retention period, at most a second. Lock held. */
static int64_t flusher_tick_ms(const log_flusher_t *fl)
{
    int64_t tick = 1000;
    for (size_t i = 0; i < fl->count; i++) {
        int64_t ms = fl->parts[i]->cfg.flush_interval_ms;
        if (ms >= 0 && ms < tick)
            tick = ms > 0 ? ms : 1;
    }
    if (fl->retention_check_ms > 0 && fl->retention_check_ms < tick)
        tick = fl->retention_check_ms;
    return tick;
}

static void *flusher_main(void *arg)
{
    log_flusher_t *fl = arg;
    int64_t next_retention = clock_mono_ms() + fl->retention_check_ms;
    pthread_mutex_lock(&fl->lock);
    while (!fl->stop) {
        if (!__atomic_load_n(&fl->wake, __ATOMIC_ACQUIRE)) {
            int64_t deadline = clock_mono_ms() + flusher_tick_ms(fl);
            struct timespec ts = {deadline / 1000, (deadline % 1000) * 1000000};
            pthread_cond_timedwait(&fl->cond, &fl->lock, &ts);
        }
        __atomic_store_n(&fl->wake, 0, __ATOMIC_RELEASE);
        int64_t now = clock_mono_ms();
        bool retention = fl->retention_check_ms > 0 && now >= next_retention;
        if (retention)
            next_retention = now + fl->retention_check_ms;
        for (size_t i = 0; i < fl->count && !fl->stop; i++) {
            partition_log_t *pl = fl->parts[i];
            fl->current = pl;
            pthread_mutex_unlock(&fl->lock);
            partition_log_flush_if_due(pl, now);
            if (retention)
                partition_log_apply_retention(pl, clock_wall_ms());
            pthread_mutex_lock(&fl->lock);
            fl->current = NULL;
            pthread_cond_broadcast(&fl->cond);
        }
    }
    pthread_mutex_unlock(&fl->lock);
    return NULL;
}

log_flusher_t *log_flusher_start(int64_t retention_check_ms, char *errbuf, size_t errlen)
{
    log_flusher_t *fl = calloc(1, sizeof(*fl));
    if (!fl) {
        log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&fl->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&fl->lock, NULL);
    fl->retention_check_ms = retention_check_ms;
    int e = pthread_create(&fl->thread, NULL, flusher_main, fl);
    if (e) {
        log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot start the flusher thread: %s",
                 strerror(e));
        pthread_cond_destroy(&fl->cond);
        pthread_mutex_destroy(&fl->lock);
        free(fl);
        return NULL;
    }
    return fl;
}

samsa_err_t log_flusher_add(log_flusher_t *fl, partition_log_t *pl)
{
    samsa_err_t err = SAMSA_ERR_NONE;
    pthread_mutex_lock(&fl->lock);
    if (fl->count == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 16;
        partition_log_t **p = realloc(fl->parts, cap * sizeof(*p));
        if (!p)
            err = SAMSA_ERR__NOMEM;
        else {
            fl->parts = p;
            fl->cap = cap;
        }
    }
    if (!err)
        fl->parts[fl->count++] = pl;
    pthread_cond_broadcast(&fl->cond); /* intervals may have changed */
    pthread_mutex_unlock(&fl->lock);
    if (!err) {
        pthread_mutex_lock(&pl->lock);
        pl->flusher = fl;
        pthread_mutex_unlock(&pl->lock);
    }
    return err;
}

void log_flusher_remove(log_flusher_t *fl, partition_log_t *pl)
{
    pthread_mutex_lock(&pl->lock);
    pl->flusher = NULL;
    pthread_mutex_unlock(&pl->lock);
    pthread_mutex_lock(&fl->lock);
    for (size_t i = 0; i < fl->count; i++) {
        if (fl->parts[i] == pl) {
            memmove(fl->parts + i, fl->parts + i + 1, (fl->count - i - 1) * sizeof(*fl->parts));
            fl->count--;
            break;
        }
    }
    while (fl->current == pl)
        pthread_cond_wait(&fl->cond, &fl->lock);
    pthread_mutex_unlock(&fl->lock);
}

void partition_log_sync_soon(partition_log_t *pl)
{
    pthread_mutex_lock(&pl->lock);
    log_flusher_t *fl = pl->flusher;
    pthread_mutex_unlock(&pl->lock);
    if (fl)
        log_flusher_wake(fl);
}

void log_flusher_wake(log_flusher_t *fl)
{
    if (__atomic_exchange_n(&fl->wake, 1, __ATOMIC_ACQ_REL))
        return; /* already pending */
    pthread_mutex_lock(&fl->lock);
    pthread_cond_signal(&fl->cond);
    pthread_mutex_unlock(&fl->lock);
}

void log_flusher_stop(log_flusher_t *fl)
{
    if (!fl)
        return;
    pthread_mutex_lock(&fl->lock);
    fl->stop = true;
    pthread_cond_broadcast(&fl->cond);
    pthread_mutex_unlock(&fl->lock);
    pthread_join(fl->thread, NULL);
    pthread_cond_destroy(&fl->cond);
    pthread_mutex_destroy(&fl->lock);
    free(fl->parts);
    free(fl);
}
