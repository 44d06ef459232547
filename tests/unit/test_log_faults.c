/*
 * Unit tests for lib/log under I/O and permission failures: EIO from
 * pwrite, fallocate and fdatasync, an immutable segment file or partition
 * directory, a read-only mount and a user without permission. Each failure
 * must surface as a storage error on that partition, leave what was written
 * before it readable byte for byte, and crash nothing.
 *
 * A real failing disk too: an ext4 file system on a loop device whose
 * backing file is cut short under the mounted log, so that the kernel's
 * writes fail (the journal aborts, ext4 turns read-only) mid-test.
 *
 * EIO is also injected at the system-call boundary: this program defines pwrite,
 * fallocate, fdatasync and fsync itself, so the calls libsamsa.a makes
 * resolve here first; while a fault is armed the call fails on a segment
 * file (".log"), otherwise it goes to the next definition (libc, or the
 * sanitizer's interceptor) through dlsym(RTLD_NEXT). Permission failures
 * are real: the kernel refuses them (these tests run as root, so they use
 * the immutable attribute, a read-only bind mount and a child that drops to
 * the nobody user).
 */
#include "log/log.h"
#include "base/buf.h"
#include "base/slog.h"

#include <check.h>

#include "unit.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fault injection ------------------------------------------------------ */

enum { FAULT_PWRITE, FAULT_FALLOCATE, FAULT_FDATASYNC, FAULT_FSYNC, FAULT_CALLS };

static int fault_errno[FAULT_CALLS]; /* atomic: 0 = pass through */
static int fault_hits[FAULT_CALLS];  /* atomic: calls failed */

static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);

__attribute__((constructor)) static void fault_init(void)
{
    real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    real_fallocate = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (!real_pwrite || !real_fallocate || !real_fdatasync || !real_fsync) {
        fprintf(stderr, "cannot find the real I/O calls: %s\n", dlerror());
        abort();
    }
}

/* Whether fd is a segment's .log file (the mapping keeps the name even
 * after an unlink, with " (deleted)" after it). */
static bool fd_is_segment(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = 0;
    char *dot = strrchr(target, '.');
    return dot && strncmp(dot, ".log", 4) == 0;
}

/* Returns the errno the call should fail with, 0 to let it through. */
static int fault_take(int call, int fd)
{
    int e = __atomic_load_n(&fault_errno[call], __ATOMIC_ACQUIRE);
    if (!e || !fd_is_segment(fd))
        return 0;
    __atomic_add_fetch(&fault_hits[call], 1, __ATOMIC_ACQ_REL);
    return e;
}

static void fault_arm(int call, int e)
{
    __atomic_store_n(&fault_hits[call], 0, __ATOMIC_RELEASE);
    __atomic_store_n(&fault_errno[call], e, __ATOMIC_RELEASE);
}

static void fault_disarm_all(void)
{
    for (int i = 0; i < FAULT_CALLS; i++)
        __atomic_store_n(&fault_errno[i], 0, __ATOMIC_RELEASE);
}

static int fault_hit_count(int call) { return __atomic_load_n(&fault_hits[call], __ATOMIC_ACQUIRE); }

/* A failing pwrite first writes part of a large buffer for real, as a disk
 * failing in the middle of a request does; the caller's next call fails. */
ssize_t pwrite(int fd, const void *data, size_t n, off_t offset)
{
    int e = fault_take(FAULT_PWRITE, fd);
    if (e && n > 8192 && fault_hit_count(FAULT_PWRITE) == 1)
        return real_pwrite(fd, data, n / 2, offset);
    if (e) {
        errno = e;
        return -1;
    }
    return real_pwrite(fd, data, n, offset);
}

int fallocate(int fd, int mode, off_t offset, off_t len)
{
    int e = fault_take(FAULT_FALLOCATE, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fallocate(fd, mode, offset, len);
}

int fdatasync(int fd)
{
    int e = fault_take(FAULT_FDATASYNC, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fdatasync(fd);
}

int fsync(int fd)
{
    int e = fault_take(FAULT_FSYNC, fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fsync(fd);
}

/* ---- fixture ------------------------------------------------------------- */

static char tmpdir[256];
static char errbuf[512];
static char mnt[300];
static int attached_loop_fd = -1; /* a loop device to detach in teardown */

/* Clears the immutable attribute of path (if set). */
static int set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    int flags = 0, rc = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    if (rc == 0) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int unfreeze_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag != FTW_SL)
        set_immutable(path, false);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* The last warning or error the log wrote (they are expected here). */
static char last_log[1024];
static void keep_last(void *opaque, int level, const char *module, const char *msg)
{
    snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/samsa-test-log-faults-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(mnt, sizeof(mnt), "%s/ro", tmpdir);
    last_log[0] = 0;
    slog_configure(keep_last, NULL, SLOG_WARN);
}

static void teardown(void)
{
    fault_disarm_all();
    umount2(mnt, MNT_DETACH); /* in case a test failed while mounted */
    if (attached_loop_fd >= 0) {
        ioctl(attached_loop_fd, LOOP_CLR_FD, 0);
        close(attached_loop_fd);
        attached_loop_fd = -1;
    }
    nftw(tmpdir, unfreeze_entry, 16, FTW_PHYS);
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    slog_configure(NULL, NULL, SLOG_WARN);
}

static log_config_t small_config(log_write_mode_t mode)
{
    log_config_t cfg;
    log_config_init(&cfg);
    cfg.segment_bytes = 64 * 1024;
    cfg.preallocate_bytes = 16 * 1024;
    cfg.flush_on_ack = false;
    cfg.write_mode = mode;
    return cfg;
}

static partition_log_t *open_log(const char *dir, const log_config_t *cfg)
{
    partition_log_t *pl = partition_log_open(dir, "events", 0, cfg, errbuf, sizeof(errbuf));
    ck_assert_msg(pl != NULL, "open failed: %s", errbuf);
    return pl;
}

/* One batch of about value_bytes whose bytes follow from seed. */
static void make_batch(buf_t *b, size_t value_bytes, uint32_t seed)
{
    uint8_t *value = malloc(value_bytes);
    ck_assert_ptr_nonnull(value);
    for (size_t i = 0; i < value_bytes; i++) {
        seed = seed * 1103515245u + 12345u;
        value[i] = (uint8_t)(seed >> 16);
    }
    log_record_t rec = {"k", 1, value, value_bytes};
    buf_reset(b);
    ck_assert_int_eq(log_records_encode(b, &rec, 1, 1000 + seed % 1000), SAMSA_ERR_NONE);
    free(value);
}

/* Appends one batch; on success adds the bytes as stored to *all. Returns
 * the append's result. */
static samsa_err_t append_one(partition_log_t *pl, size_t value_bytes, uint32_t seed, buf_t *all)
{
    buf_t b;
    buf_init(&b, 0);
    make_batch(&b, value_bytes, seed);
    samsa_err_t err = partition_log_append(pl, b.data, b.len, 3, NULL, NULL);
    if (!err && all)
        buf_put(all, b.data, b.len);
    buf_free(&b);
    return err;
}

/* Reads the whole log and compares it with expected, byte for byte. */
static void assert_log_equals(partition_log_t *pl, const buf_t *expected)
{
    buf_t got;
    buf_init(&got, 0);
    int64_t offset = partition_log_start_offset(pl);
    for (;;) {
        log_read_t r;
        ck_assert_int_eq(partition_log_read(pl, offset, 1 << 20, &r), SAMSA_ERR_NONE);
        if (r.length_bytes == 0) {
            log_read_release(&r);
            break;
        }
        buf_put(&got, r.data, r.length_bytes);
        offset = r.next_offset;
        log_read_release(&r);
    }
    ck_assert_uint_eq(got.len, expected->len);
    ck_assert(memcmp(got.data, expected->data, got.len) == 0);
    buf_free(&got);
}

/* Opens the partition in dir, checks that it holds exactly *all, closes
 * it and frees *all. */
static void reopen_check(const char *dir, const log_config_t *cfg, buf_t *all)
{
    partition_log_t *pl = open_log(dir, cfg);
    assert_log_equals(pl, all);
    ck_assert_int_eq(partition_log_close(pl, true), SAMSA_ERR_NONE);
    buf_free(all);
}

/* Closes pl (clean or not), then reopen_check(). */
static void close_reopen_check(partition_log_t *pl, const char *dir, const log_config_t *cfg,
                               bool clean, buf_t *all)
{
    ck_assert_int_eq(partition_log_close(pl, clean), SAMSA_ERR_NONE);
    reopen_check(dir, cfg, all);
}

static void segment_path(char *out, size_t n, const char *dir, int64_t base)
{
    snprintf(out, n, "%s/events-0/%020lld.log", dir, (long long)base);
}

/* ---- EIO ------------------------------------------------------------------ */

START_TEST(eio_from_pwrite_fails_the_append_and_leaves_the_log_as_it_was)
{
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all;
    buf_init(&all, 0);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_int_eq(append_one(pl, 3000, i, &all), SAMSA_ERR_NONE);
    int64_t end = partition_log_end_offset(pl);

    /* A 10 KiB batch: half of it reaches the file, then the disk fails. */
    fault_arm(FAULT_PWRITE, EIO);
    ck_assert_int_eq(append_one(pl, 10000, 99, NULL), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(append_one(pl, 100, 98, NULL), SAMSA_ERR__STORAGE);
    ck_assert_int_ge(fault_hit_count(FAULT_PWRITE), 2);
    ck_assert_int_eq(partition_log_end_offset(pl), end);
    assert_log_equals(pl, &all);

    /* A write error changes nothing, so the partition takes appends again
     * once the disk works, over the torn bytes. */
    fault_disarm_all();
    ck_assert_int_eq(append_one(pl, 2000, 7, &all), SAMSA_ERR_NONE);
    ck_assert_int_eq(partition_log_end_offset(pl), end + 1);
    assert_log_equals(pl, &all);
    close_reopen_check(pl, tmpdir, &cfg, false, &all);
}
END_TEST

START_TEST(eio_from_fallocate_fails_the_append_that_needed_the_space)
{
    log_config_t cfg = small_config(_i ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE);
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all;
    buf_init(&all, 0);
    ck_assert_int_eq(append_one(pl, 6000, 1, &all), SAMSA_ERR_NONE);
    int64_t end = partition_log_end_offset(pl);
    fault_arm(FAULT_FALLOCATE, EIO);
    samsa_err_t err = SAMSA_ERR_NONE;
    for (uint32_t i = 0; i < 8 && !err; i++) /* until the 16 KiB step runs out */
        err = append_one(pl, 6000, 10 + i, &all);
    ck_assert_int_eq(err, SAMSA_ERR__STORAGE);
    ck_assert_int_eq(fault_hit_count(FAULT_FALLOCATE), 1);
    ck_assert_int_gt(partition_log_end_offset(pl), end);
    assert_log_equals(pl, &all);
    fault_disarm_all();
    ck_assert_int_eq(append_one(pl, 6000, 50, &all), SAMSA_ERR_NONE);
    assert_log_equals(pl, &all);
    close_reopen_check(pl, tmpdir, &cfg, true, &all);
}
END_TEST

/* After a failed fdatasync the kernel may have dropped the pages it could
 * not write, so the partition refuses appends until it is reopened. */
START_TEST(eio_from_fdatasync_fails_the_partition_until_reopened)
{
    log_config_t cfg = small_config(_i ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE);
    cfg.flush_on_ack = true;
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all, b;
    buf_init(&all, 0);
    buf_init(&b, 0);
    for (uint32_t i = 0; i < 3; i++) {
        make_batch(&b, 4000, i);
        ck_assert_int_eq(partition_log_append_durable(pl, b.data, b.len, 3, NULL, NULL),
                         SAMSA_ERR_NONE);
        buf_put(&all, b.data, b.len);
    }
    int64_t durable = partition_log_durable_offset(pl);
    ck_assert_int_eq(durable, 3);

    fault_arm(FAULT_FDATASYNC, EIO);
    make_batch(&b, 4000, 3);
    int64_t last = -1;
    ck_assert_int_eq(partition_log_append_durable(pl, b.data, b.len, 3, NULL, &last),
                     SAMSA_ERR__STORAGE);
    ck_assert_int_eq(last, 3); /* written, never acknowledged */
    buf_put(&all, b.data, b.len);
    ck_assert_int_eq(fault_hit_count(FAULT_FDATASYNC), 1);
    ck_assert_int_eq(partition_log_durable_offset(pl), durable);
    ck_assert_msg(strstr(last_log, "events-0") && strstr(last_log, "Input/output error"), "%s",
                  last_log);

    /* Even with the disk back, the partition stays failed. */
    fault_disarm_all();
    ck_assert_int_eq(append_one(pl, 100, 4, NULL), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(partition_log_wait_durable(pl, 4), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(partition_log_flush(pl), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(partition_log_end_offset(pl), 4);
    assert_log_equals(pl, &all);
    /* A clean close is impossible: it reports the failure and leaves
     * recovery to the next open. */
    ck_assert_int_eq(partition_log_close(pl, true), SAMSA_ERR__STORAGE);

    pl = open_log(tmpdir, &cfg);
    ck_assert_int_ge(partition_log_end_offset(pl), durable);
    assert_log_equals(pl, &all); /* the injected failure lost no page */
    make_batch(&b, 4000, 5);
    ck_assert_int_eq(partition_log_append_durable(pl, b.data, b.len, 3, NULL, NULL),
                     SAMSA_ERR_NONE);
    buf_put(&all, b.data, b.len);
    assert_log_equals(pl, &all);
    ck_assert_int_eq(partition_log_close(pl, true), SAMSA_ERR_NONE);
    buf_free(&b);
    buf_free(&all);
}
END_TEST

typedef struct waiter_arg {
    partition_log_t *pl;
    uint32_t seed;
    samsa_err_t err;
} waiter_arg_t;

static void *durable_appender(void *arg)
{
    waiter_arg_t *w = arg;
    buf_t b;
    buf_init(&b, 0);
    make_batch(&b, 2000, w->seed);
    w->err = partition_log_append_durable(w->pl, b.data, b.len, 3, NULL, NULL);
    buf_free(&b);
    return NULL;
}

START_TEST(every_waiting_appender_gets_the_sync_failure)
{
    enum { THREADS = 16 };
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    cfg.flush_on_ack = true;
    cfg.segment_bytes = 1 << 20;
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all;
    buf_init(&all, 0);
    ck_assert_int_eq(append_one(pl, 500, 1, &all), SAMSA_ERR_NONE);
    ck_assert_int_eq(partition_log_flush(pl), SAMSA_ERR_NONE);
    fault_arm(FAULT_FDATASYNC, EIO);
    pthread_t th[THREADS];
    waiter_arg_t args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (waiter_arg_t){pl, 100 + (uint32_t)i, SAMSA_ERR_NONE};
        ck_assert_int_eq(pthread_create(&th[i], NULL, durable_appender, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(args[i].err, SAMSA_ERR__STORAGE);
    }
    ck_assert_int_ge(fault_hit_count(FAULT_FDATASYNC), 1);
    ck_assert_int_eq(partition_log_durable_offset(pl), 1);
    /* Appends after the failure are refused without being written. */
    ck_assert_int_gt(partition_log_end_offset(pl), 1);
    ck_assert_int_le(partition_log_end_offset(pl), 1 + THREADS);
    log_read_t r;
    ck_assert_int_eq(partition_log_read(pl, 0, 1, &r), SAMSA_ERR_NONE);
    ck_assert_uint_eq(r.length_bytes, all.len);
    ck_assert(memcmp(r.data, all.data, all.len) == 0);
    log_read_release(&r);
    ck_assert_int_eq(partition_log_close(pl, false), SAMSA_ERR_NONE);
    buf_free(&all);
}
END_TEST

/* A roll syncs the sealed segment with fsync; its failure is a sync
 * failure too. */
START_TEST(eio_from_fsync_of_a_rolled_segment_fails_the_partition)
{
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all;
    buf_init(&all, 0);
    while (partition_log_end_offset(pl) < 20) /* 4 KiB batches: two segments */
        ck_assert_int_eq(append_one(pl, 4000, (uint32_t)all.len, &all), SAMSA_ERR_NONE);
    log_stats_t st;
    partition_log_stats(pl, &st);
    ck_assert_uint_ge(st.segment_count, 2);
    fault_arm(FAULT_FSYNC, EIO);
    ck_assert_int_eq(partition_log_flush(pl), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(fault_hit_count(FAULT_FSYNC), 1);
    fault_disarm_all();
    ck_assert_int_eq(append_one(pl, 100, 1, NULL), SAMSA_ERR__STORAGE);
    assert_log_equals(pl, &all);
    close_reopen_check(pl, tmpdir, &cfg, false, &all);
}
END_TEST

/* ---- permissions ----------------------------------------------------------- */

/* The immutable attribute stops even root: writes and fallocate on the
 * open segment file fail with EPERM. */
START_TEST(an_immutable_segment_file_fails_appends_with_a_storage_error)
{
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all;
    buf_init(&all, 0);
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_int_eq(append_one(pl, 3000, i, &all), SAMSA_ERR_NONE);
    char path[600];
    segment_path(path, sizeof(path), tmpdir, 0);
    ck_assert_msg(set_immutable(path, true) == 0, "chattr +i %s: %s", path, strerror(errno));
    ck_assert_int_eq(append_one(pl, 3000, 10, NULL), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(append_one(pl, 9000, 11, NULL), SAMSA_ERR__STORAGE); /* needs fallocate */
    ck_assert_int_eq(partition_log_end_offset(pl), 3);
    assert_log_equals(pl, &all);
    ck_assert_int_eq(set_immutable(path, false), 0);
    ck_assert_int_eq(append_one(pl, 9000, 12, &all), SAMSA_ERR_NONE);
    assert_log_equals(pl, &all);
    close_reopen_check(pl, tmpdir, &cfg, true, &all);
}
END_TEST

/* An immutable partition directory: the roll cannot create the next
 * segment; appends fail until it can. */
START_TEST(a_directory_that_refuses_new_files_fails_the_roll)
{
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    partition_log_t *pl = open_log(tmpdir, &cfg);
    buf_t all;
    buf_init(&all, 0);
    log_stats_t st;
    for (uint32_t i = 0; i < 7; i++) /* 56 KiB of a 64 KiB segment */
        ck_assert_int_eq(append_one(pl, 8000, i, &all), SAMSA_ERR_NONE);
    char path[600];
    snprintf(path, sizeof(path), "%s/events-0", tmpdir);
    ck_assert_msg(set_immutable(path, true) == 0, "chattr +i %s: %s", path, strerror(errno));
    ck_assert_int_eq(append_one(pl, 12000, 20, NULL), SAMSA_ERR__STORAGE);
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, 1);
    ck_assert_int_eq(partition_log_end_offset(pl), 7);
    assert_log_equals(pl, &all);
    ck_assert_int_eq(set_immutable(path, false), 0);
    ck_assert_int_eq(append_one(pl, 12000, 21, &all), SAMSA_ERR_NONE);
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, 2);
    assert_log_equals(pl, &all);
    close_reopen_check(pl, tmpdir, &cfg, true, &all);
}
END_TEST

/* A log dir on a read-only mount: opening fails with a message naming the
 * path and the reason, and the data there stays as it was. */
START_TEST(a_read_only_log_dir_is_refused_with_a_clear_error)
{
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    buf_t all;
    buf_init(&all, 0);
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    partition_log_t *pl = open_log(mnt, &cfg);
    ck_assert_int_eq(append_one(pl, 3000, 1, &all), SAMSA_ERR_NONE);
    ck_assert_int_eq(partition_log_close(pl, true), SAMSA_ERR_NONE);

    ck_assert_msg(mount(mnt, mnt, "none", MS_BIND, NULL) == 0, "bind mount: %s (needs root)",
                  strerror(errno));
    ck_assert_int_eq(mount("none", mnt, "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
    ck_assert_ptr_null(partition_log_open(mnt, "events", 0, &cfg, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, "Read-only file system") && strstr(errbuf, mnt), "%s", errbuf);
    ck_assert_ptr_null(partition_log_open(mnt, "other", 0, &cfg, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, "Read-only file system") && strstr(errbuf, "other-0"), "%s",
                  errbuf);
    char sub[400];
    snprintf(sub, sizeof(sub), "%s/logs", mnt);
    const char *paths[] = {sub};
    ck_assert_ptr_null(log_dir_open(paths, 1, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, "Read-only file system") && strstr(errbuf, sub), "%s", errbuf);
    const char *top[] = {mnt};
    ck_assert_ptr_null(log_dir_open(top, 1, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, "Read-only file system") && strstr(errbuf, mnt), "%s", errbuf);
    ck_assert_int_eq(umount(mnt), 0);

    reopen_check(mnt, &cfg, &all);
}
END_TEST

/* In a child that dropped to the nobody user, tries what errbuf should
 * refuse and writes the error texts, one per line, to fd. */
static int open_as_nobody(const char *private_dir, int fd)
{
    if (setgid(65534) != 0 || setuid(65534) != 0)
        return 10;
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    char err[512], sub[400];
    snprintf(sub, sizeof(sub), "%s/logs", private_dir);
    const char *paths[] = {sub};
    const char *top[] = {private_dir};
    log_dir_t *ld = log_dir_open(paths, 1, err, sizeof(err));
    if (ld)
        return 11;
    dprintf(fd, "%s\n", err);
    if ((ld = log_dir_open(top, 1, err, sizeof(err))) != NULL)
        return 12;
    dprintf(fd, "%s\n", err);
    partition_log_t *pl = partition_log_open(private_dir, "events", 0, &cfg, err, sizeof(err));
    if (pl)
        return 13;
    dprintf(fd, "%s\n", err);
    return 0;
}

START_TEST(a_user_without_permission_gets_a_clear_error)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/private", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    buf_t all;
    buf_init(&all, 0);
    partition_log_t *pl = open_log(dir, &cfg);
    ck_assert_int_eq(append_one(pl, 3000, 1, &all), SAMSA_ERR_NONE);
    ck_assert_int_eq(partition_log_close(pl, true), SAMSA_ERR_NONE);

    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pipefd[0]);
        _exit(open_as_nobody(dir, pipefd[1]));
    }
    close(pipefd[1]);
    char text[2048];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(text) - 1 && (n = read(pipefd[0], text + got, sizeof(text) - 1 - got)) > 0)
        got += (size_t)n;
    text[got] = 0;
    close(pipefd[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d, said:\n%s",
                  status, text);
    char *line2 = strchr(text, '\n'), *line3 = line2 ? strchr(line2 + 1, '\n') : NULL;
    ck_assert_ptr_nonnull(line3);
    *line2++ = 0;
    *line3++ = 0;
    ck_assert_msg(strstr(text, "Permission denied") && strstr(text, dir), "%s", text);
    ck_assert_msg(strstr(line2, "Permission denied") && strstr(line2, dir), "%s", line2);
    ck_assert_msg(strstr(line3, "Permission denied") && strstr(line3, "events-0"), "%s", line3);

    reopen_check(dir, &cfg, &all);
}
END_TEST

/* ---- a real disk failing ---------------------------------------------------- */

/* Runs argv (found on PATH) and returns its exit status, -1 if it could
 * not run. */
static int run(char *const argv[])
{
    pid_t pid;
    int status;
    extern char **environ;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* An ext4 file system of 64 MiB in image, on a free loop device, mounted
 * at mnt. Returns the loop device's fd (for LOOP_SET_CAPACITY and
 * LOOP_CLR_FD); *image_fd is the backing file's. */
static int loop_mount(const char *image, int *image_fd)
{
    char *mkfs[] = {"mkfs.ext4", "-q", "-F", "-b", "4096", (char *)image, NULL};
    char dev[64];
    *image_fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(*image_fd, 0);
    ck_assert_int_eq(ftruncate(*image_fd, 64 << 20), 0);
    ck_assert_msg(run(mkfs) == 0, "mkfs.ext4 %s failed (needs e2fsprogs)", image);
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    ck_assert_msg(ctl >= 0, "/dev/loop-control: %s (needs root and loop devices)", strerror(errno));
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    close(ctl);
    ck_assert_msg(n >= 0, "no free loop device: %s", strerror(errno));
    snprintf(dev, sizeof(dev), "/dev/loop%d", n);
    int loop_fd = open(dev, O_RDWR | O_CLOEXEC);
    ck_assert_msg(loop_fd >= 0, "%s: %s", dev, strerror(errno));
    ck_assert_msg(ioctl(loop_fd, LOOP_SET_FD, *image_fd) == 0, "LOOP_SET_FD %s: %s", dev,
                  strerror(errno));
    attached_loop_fd = loop_fd;
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    ck_assert_msg(mount(dev, mnt, "ext4", 0, NULL) == 0, "mounting %s on %s: %s", dev, mnt,
                  strerror(errno));
    return loop_fd;
}

/* The disk under a mounted log loses all but its first MiB: every write
 * the kernel sends there fails (EIO), ext4 aborts its journal and turns
 * read-only. The partition must report a storage error, keep serving what
 * it holds, refuse further appends, and crash nothing. */
START_TEST(a_disk_failing_under_the_log_fails_the_partition)
{
    char image[300];
    int image_fd;
    snprintf(image, sizeof(image), "%s/disk.img", tmpdir);
    int loop_fd = loop_mount(image, &image_fd);
    log_config_t cfg = small_config(LOG_WRITE_PWRITE);
    cfg.flush_on_ack = true;
    cfg.segment_bytes = 1 << 20;
    partition_log_t *pl = open_log(mnt, &cfg);
    buf_t acked, b;
    buf_init(&acked, 0);
    buf_init(&b, 0);
    for (uint32_t i = 0; i < 8; i++) {
        make_batch(&b, 8000, i);
        ck_assert_int_eq(partition_log_append_durable(pl, b.data, b.len, 3, NULL, NULL),
                         SAMSA_ERR_NONE);
        buf_put(&acked, b.data, b.len);
    }

    ck_assert_int_eq(ftruncate(image_fd, 1 << 20), 0);
    ck_assert_int_eq(ioctl(loop_fd, LOOP_SET_CAPACITY, 0), 0);
    samsa_err_t err = SAMSA_ERR_NONE;
    int64_t durable = partition_log_durable_offset(pl);
    for (uint32_t i = 0; i < 400 && !err; i++) { /* up to 3 MiB, rolling segments */
        make_batch(&b, 8000, 100 + i);
        err = partition_log_append_durable(pl, b.data, b.len, 3, NULL, NULL);
        if (!err) {
            buf_put(&acked, b.data, b.len);
            durable = partition_log_durable_offset(pl);
        }
    }
    ck_assert_int_eq(err, SAMSA_ERR__STORAGE);
    /* The failure shows at the sync (errno's words) or, when the write
     * itself fails first, at the append (the error's). */
    ck_assert_msg(strstr(last_log, "events-0") &&
                      (strstr(last_log, "Input/output error") ||
                       strstr(last_log, "Read-only file system") ||
                       strstr(last_log, samsa_err_str(SAMSA_ERR__STORAGE))),
                  "%s", last_log);
    ck_assert_int_eq(partition_log_durable_offset(pl), durable);
    ck_assert_int_eq(append_one(pl, 100, 1, NULL), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(partition_log_wait_durable(pl, partition_log_end_offset(pl)),
                     SAMSA_ERR__STORAGE);
    /* Every acknowledged batch is still served, byte for byte. */
    buf_t got;
    buf_init(&got, 0);
    for (int64_t offset = 0; offset < durable;) {
        log_read_t r;
        ck_assert_int_eq(partition_log_read(pl, offset, 1 << 20, &r), SAMSA_ERR_NONE);
        ck_assert_uint_gt(r.length_bytes, 0);
        buf_put(&got, r.data, r.length_bytes);
        offset = r.next_offset;
        log_read_release(&r);
    }
    ck_assert_uint_ge(got.len, acked.len);
    ck_assert(memcmp(got.data, acked.data, acked.len) == 0);
    ck_assert_int_eq(partition_log_close(pl, true), SAMSA_ERR__STORAGE);
    ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
    ck_assert_int_eq(ioctl(loop_fd, LOOP_CLR_FD, 0), 0);
    close(loop_fd);
    attached_loop_fd = -1;
    close(image_fd);
    buf_free(&got);
    buf_free(&b);
    buf_free(&acked);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log_faults");
    TCase *tc = tcase_create("eio");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, eio_from_pwrite_fails_the_append_and_leaves_the_log_as_it_was);
    tcase_add_loop_test(tc, eio_from_fallocate_fails_the_append_that_needed_the_space, 0, 2);
    tcase_add_loop_test(tc, eio_from_fdatasync_fails_the_partition_until_reopened, 0, 2);
    tcase_add_test(tc, every_waiting_appender_gets_the_sync_failure);
    tcase_add_test(tc, eio_from_fsync_of_a_rolled_segment_fails_the_partition);
    suite_add_tcase(s, tc);
    tc = tcase_create("permissions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_immutable_segment_file_fails_appends_with_a_storage_error);
    tcase_add_test(tc, a_directory_that_refuses_new_files_fails_the_roll);
    tcase_add_test(tc, a_read_only_log_dir_is_refused_with_a_clear_error);
    tcase_add_test(tc, a_user_without_permission_gets_a_clear_error);
    suite_add_tcase(s, tc);
    tc = tcase_create("disk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_disk_failing_under_the_log_fails_the_partition);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
