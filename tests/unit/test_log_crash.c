/*
 * Unit tests for lib/log under failure: a process appending with
 * fsync-on-ack is killed with SIGKILL at random moments and every batch it
 * acknowledged must be there, byte for byte; and a disk that fills up (a
 * 1 MiB tmpfs) makes appends fail cleanly until space is freed.
 */
#include "log/log.h"
#include "base/buf.h"
#include "base/slog.h"
#include "proto/batch.h"

#include <check.h>

#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static char errbuf[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/samsa-test-log-crash-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char mnt[300];
    snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
    umount2(mnt, MNT_DETACH); /* in case the disk-full test failed while mounted */
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The batch with sequence number seq: its size and bytes follow from seq,
 * so the parent can rebuild what the child wrote. */
static void seq_batch(buf_t *b, uint32_t seq)
{
    size_t value_bytes = 50 + (seq * 7919u) % 12000;
    uint8_t *value = malloc(value_bytes);
    uint32_t x = seq * 2654435761u + 1;
    for (size_t i = 0; i < value_bytes; i++) {
        x = x * 1103515245u + 12345u;
        value[i] = (uint8_t)(x >> 16);
    }
    log_record_t rec = {&seq, sizeof(seq), value, value_bytes};
    log_records_encode(b, &rec, 1, 1000 + seq);
    free(value);
}

/* One report from the child: batch seq was acknowledged at offset. */
typedef struct ack {
    int64_t offset;
    uint32_t seq;
    uint32_t pad;
} ack_t;

static log_config_t crash_config(int round)
{
    log_config_t cfg;
    log_config_init(&cfg);
    cfg.segment_bytes = 256 * 1024; /* rolls happen while we kill */
    cfg.index_interval_bytes = 1024;
    cfg.flush_on_ack = true;
    cfg.write_mode = round % 2 ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE;
    return cfg;
}

static void child_append_forever(int fd, int round, uint32_t first_seq)
{
    log_config_t cfg = crash_config(round);
    partition_log_t *pl = partition_log_open(tmpdir, "crash", 0, &cfg, NULL, 0);
    if (!pl)
        _exit(2);
    for (uint32_t seq = first_seq;; seq++) {
        buf_t b;
        int64_t base;
        buf_init(&b, 0);
        seq_batch(&b, seq);
        if (partition_log_append_durable(pl, b.data, b.len, round, &base, NULL) != 0)
            _exit(3);
        ack_t a = {base, seq, 0};
        if (write(fd, &a, sizeof(a)) != sizeof(a))
            _exit(4);
        buf_free(&b);
    }
}

START_TEST(sigkill_never_loses_an_acknowledged_batch)
{
    size_t acks_cap = 1 << 16, acks_n = 0;
    ack_t *acks = malloc(acks_cap * sizeof(*acks));
    int32_t *epochs = malloc(acks_cap * sizeof(*epochs));
    uint32_t next_seq = 0;
    srand(12345);
    ck_assert_ptr_nonnull(acks);
    for (int round = 0; round < 24; round++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            slog_configure(NULL, NULL, SLOG_ERROR);
            child_append_forever(p[1], round, next_seq);
        }
        close(p[1]);
        /* Kill at a random moment once the child is appending. */
        ack_t a;
        bool first = read(p[0], &a, sizeof(a)) == sizeof(a);
        usleep((useconds_t)(rand() % 40000));
        kill(pid, SIGKILL);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(first && WIFSIGNALED(status), "the child stopped by itself: %d", status);
        for (; first || read(p[0], &a, sizeof(a)) == sizeof(a); first = false) {
            ck_assert_uint_lt(acks_n, acks_cap);
            epochs[acks_n] = round;
            acks[acks_n++] = a;
            next_seq = a.seq + 1;
        }
        close(p[0]);
        next_seq += 1000; /* a batch written but not acknowledged may still be there */

        /* Every acknowledged batch is in the reopened log, byte for byte. */
        log_config_t cfg = crash_config(round);
        partition_log_t *pl = partition_log_open(tmpdir, "crash", 0, &cfg, errbuf, sizeof(errbuf));
        ck_assert_msg(pl != NULL, "reopen failed: %s", errbuf);
        for (size_t i = 0; i < acks_n; i++) {
            buf_t want;
            log_read_t r;
            buf_init(&want, 0);
            seq_batch(&want, acks[i].seq);
            ck_assert_int_eq(partition_log_read(pl, acks[i].offset, 1, &r), SAMSA_ERR_NONE);
            ck_assert_int_eq(r.first_offset, acks[i].offset);
            ck_assert_uint_eq(r.length_bytes, want.len);
            /* As sent, with the offset and epoch the log stamped. */
            batch_set_base_offset(want.data, acks[i].offset);
            batch_set_leader_epoch(want.data, epochs[i]);
            ck_assert(memcmp(r.data, want.data, want.len) == 0);
            log_read_release(&r);
            buf_free(&want);
        }
        partition_log_close(pl, round % 3 == 0);
    }
    ck_assert_uint_gt(acks_n, 24); /* the children did acknowledge work */
    free(acks);
    free(epochs);
}
END_TEST

/* ---- a full disk ---------------------------------------------------------- */

static int append_16k(partition_log_t *pl, uint32_t seq, buf_t *copy)
{
    buf_t b;
    buf_init(&b, 0);
    uint8_t value[16 * 1024 - 100];
    memset(value, (int)seq, sizeof(value));
    log_record_t rec = {NULL, 0, value, sizeof(value)};
    log_records_encode(&b, &rec, 1, seq);
    int err = partition_log_append(pl, b.data, b.len, 0, NULL, NULL);
    if (!err && copy)
        buf_put(copy, b.data, b.len);
    buf_free(&b);
    return err;
}

static void assert_reads_back(partition_log_t *pl, const buf_t *all)
{
    size_t pos = 0;
    int64_t offset = 0;
    while (pos < all->len) {
        log_read_t r;
        ck_assert_int_eq(partition_log_read(pl, offset, 1 << 20, &r), SAMSA_ERR_NONE);
        ck_assert_uint_gt(r.length_bytes, 0);
        ck_assert(memcmp(r.data, all->data + pos, r.length_bytes) == 0);
        pos += r.length_bytes;
        offset = r.next_offset;
        log_read_release(&r);
    }
    ck_assert_uint_eq(pos, all->len);
}

START_TEST(a_full_disk_fails_appends_until_space_is_freed)
{
    char mnt[300], filler[400];
    snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == 0,
                  "mounting a 1 MiB tmpfs failed (%s); this test needs root", strerror(errno));
    /* A filler takes a quarter of the space; removing it frees space later. */
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fallocate(fd, 0, 0, 256 * 1024), 0);
    close(fd);

    log_config_t cfg;
    log_config_init(&cfg);
    cfg.segment_bytes = 192 * 1024;
    cfg.segment_index_bytes = 4096;
    cfg.preallocate_bytes = 64 * 1024;
    cfg.flush_on_ack = false;
    slog_configure(NULL, NULL, SLOG_ERROR);
    for (int mode = 0; mode < 2; mode++) {
        char dir[400];
        snprintf(dir, sizeof(dir), "%s/m%d", mnt, mode);
        cfg.write_mode = mode ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE;
        partition_log_t *pl = partition_log_open(dir, "full", 0, &cfg, errbuf, sizeof(errbuf));
        ck_assert_msg(pl != NULL, "%s", errbuf);
        buf_t all;
        buf_init(&all, 0);
        uint32_t seq = 0;
        int err;
        while ((err = append_16k(pl, seq, &all)) == 0)
            seq++;
        ck_assert_int_eq(err, SAMSA_ERR__NOSPC);
        ck_assert_uint_gt(seq, 4);
        ck_assert_int_eq(partition_log_end_offset(pl), seq);
        ck_assert_int_eq(append_16k(pl, seq, NULL), SAMSA_ERR__NOSPC);
        ck_assert_int_eq(partition_log_flush(pl), 0);
        assert_reads_back(pl, &all);

        /* Free space: appends work again and the log stays whole. */
        ck_assert_int_eq(unlink(filler), 0);
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(append_16k(pl, seq++, &all), 0);
        assert_reads_back(pl, &all);
        ck_assert_int_eq(partition_log_close(pl, true), 0);
        pl = partition_log_open(dir, "full", 0, &cfg, errbuf, sizeof(errbuf));
        ck_assert_msg(pl != NULL, "%s", errbuf);
        assert_reads_back(pl, &all);
        partition_log_close(pl, true);
        buf_free(&all);
        /* Next mode: drop this log and fill the disk again. */
        snprintf(dir, sizeof(dir), "%s/m%d", mnt, mode);
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        fd = open(filler, O_WRONLY | O_CREAT, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fallocate(fd, 0, 0, 256 * 1024), 0);
        close(fd);
    }
    slog_configure(NULL, NULL, SLOG_WARN);
    ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

static Suite *log_crash_suite(void)
{
    Suite *s = suite_create("log_crash");
    TCase *tc = tcase_create("crash");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sigkill_never_loses_an_acknowledged_batch);
    tcase_add_test(tc, a_full_disk_fails_appends_until_space_is_freed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(log_crash_suite());
}
