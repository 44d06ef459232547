/*
 * Unit tests for lib/broker/producer_state.h: Kafka's sequence and epoch
 * rules for idempotent producers, duplicate detection, snapshots, replay
 * after clean and unclean stops, head truncation and expiry, the producer
 * id allocator and the InitProducerId handler.
 */
#include "broker/producer_state.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/slog.h"
#include "proto/batch.h"
#include "proto/compress.h"
#include "proto/messages.h"

#include <check.h>

#include "unit.h"
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static char partdir[320];
static char errbuf[512];
static int warnings;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void count_warnings(void *opaque, int level, const char *module, const char *message)
{
    /* only this module's: the log warns about files it does not know */
    if (level <= SLOG_WARN && strncmp(module, "producer_", 9) == 0)
        warnings++;
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/samsa-test-pstate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(partdir, sizeof(partdir), "%s/events-0", tmpdir);
    warnings = 0;
    slog_configure(count_warnings, NULL, SLOG_WARN);
}

static void teardown(void)
{
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    slog_configure(NULL, NULL, SLOG_WARN);
}

/* ---- helpers ------------------------------------------------------------ */

static partition_log_t *open_log(void)
{
    log_config_t cfg;
    log_config_init(&cfg);
    cfg.segment_bytes = 16 * 1024;
    cfg.index_interval_bytes = 512;
    cfg.preallocate_bytes = 4096;
    cfg.flush_on_ack = false;
    partition_log_t *pl = partition_log_open(tmpdir, "events", 0, &cfg, errbuf, sizeof(errbuf));
    ck_assert_msg(pl != NULL, "log open failed: %s", errbuf);
    return pl;
}

static producer_state_t *open_state(partition_log_t *pl)
{
    producer_state_t *ps = producer_state_open(partdir, pl, errbuf, sizeof(errbuf));
    ck_assert_msg(ps != NULL, "state open failed: %s", errbuf);
    return ps;
}

/* Builds one batch of `records` records into b (reset first). */
static void build(buf_t *b, int64_t pid, int16_t epoch, int32_t seq, int records, int64_t ts,
                  int16_t attributes)
{
    batch_builder_params_t p;
    batch_builder_params_default(&p, ts);
    p.producer_id = pid;
    p.producer_epoch = epoch;
    p.base_sequence = seq;
    p.attributes = attributes;
    buf_reset(b);
    batch_builder_t bb;
    batch_builder_init(&bb, b, &p);
    for (int i = 0; i < records; i++)
        ck_assert_int_eq(batch_builder_append(&bb, ts, "k", 1, "value", 5, NULL, 0), 0);
    ck_assert_int_eq(batch_builder_finish(&bb, COMPRESS_NONE, COMPRESS_LEVEL_DEFAULT, NULL, NULL),
                     0);
    batch_builder_free(&bb);
}

/* What the broker's Produce path does with one batch: check, append when
 * allowed, update. Returns the check's verdict; *offset gets the base
 * offset (the original one for a duplicate). */
static samsa_err_t produce_ts(producer_state_t *ps, partition_log_t *pl, int64_t pid,
                              int16_t epoch, int32_t seq, int records, int64_t ts,
                              int64_t *offset)
{
    buf_t b;
    buf_init(&b, 0);
    build(&b, pid, epoch, seq, records, ts, 0);
    batch_header_t h;
    ck_assert_int_eq(batch_validate(b.data, b.len, &h), 0);
    int64_t dup = -1, base = -1;
    samsa_err_t err = producer_state_check(ps, &h, &dup);
    if (err == SAMSA_ERR_NONE) {
        ck_assert_int_eq(partition_log_append(pl, b.data, b.len, 0, &base, NULL), 0);
        producer_state_update(ps, &h, base);
    } else if (err == SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER) {
        base = dup;
    }
    if (offset)
        *offset = base;
    buf_free(&b);
    return err;
}

static samsa_err_t produce(producer_state_t *ps, partition_log_t *pl, int64_t pid, int16_t epoch,
                           int32_t seq, int records, int64_t *offset)
{
    return produce_ts(ps, pl, pid, epoch, seq, records, 1000, offset);
}

/* A copy of every tracked entry of the given ids, for comparing states. */
typedef struct saved {
    size_t count;
    producer_entry_t entries[16];
    bool present[16];
} saved_t;

static void save(const producer_state_t *ps, const int64_t *pids, size_t n, saved_t *out)
{
    memset(out, 0, sizeof(*out));
    out->count = producer_state_count(ps);
    for (size_t i = 0; i < n; i++) {
        const producer_entry_t *e = producer_state_find(ps, pids[i]);
        out->present[i] = e != NULL;
        if (e)
            out->entries[i] = *e;
    }
}

static void assert_same(const saved_t *a, const saved_t *b, size_t n)
{
    ck_assert_uint_eq(a->count, b->count);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(a->present[i], b->present[i]);
        if (!a->present[i])
            continue;
        const producer_entry_t *x = &a->entries[i], *y = &b->entries[i];
        ck_assert_int_eq(x->producer_id, y->producer_id);
        ck_assert_int_eq(x->epoch, y->epoch);
        ck_assert_int_eq(x->batch_count, y->batch_count);
        ck_assert_int_eq(x->last_timestamp_ms, y->last_timestamp_ms);
        for (unsigned j = 0; j < x->batch_count; j++) {
            ck_assert_int_eq(x->batches[j].first_seq, y->batches[j].first_seq);
            ck_assert_int_eq(x->batches[j].last_seq, y->batches[j].last_seq);
            ck_assert_int_eq(x->batches[j].base_offset, y->batches[j].base_offset);
            ck_assert_int_eq(x->batches[j].last_offset_delta, y->batches[j].last_offset_delta);
            ck_assert_int_eq(x->batches[j].max_timestamp_ms, y->batches[j].max_timestamp_ms);
        }
    }
}

/* Names of the snapshot files in the partition directory, counted. */
static int count_snapshots(int64_t *newest)
{
    char cmd[512];
    int n = 0;
    *newest = -1;
    snprintf(cmd, sizeof(cmd), "ls %s", partdir);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        long long off;
        char rest[64];
        if (sscanf(line, "%20lld.%63s", &off, rest) == 2 && strcmp(rest, "snapshot") == 0) {
            n++;
            if (off > *newest)
                *newest = off;
        }
    }
    pclose(f);
    return n;
}

/* Writes a varied history: three producers, epochs, many batches. */
static void write_history(producer_state_t *ps, partition_log_t *pl, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        ck_assert_int_eq(produce_ts(ps, pl, 7, 0, r * 3, 3, 1000 + r, NULL), 0);
        ck_assert_int_eq(produce_ts(ps, pl, 8, 2, r, 1, 2000 + r, NULL), 0);
        if (r < 4)
            ck_assert_int_eq(produce_ts(ps, pl, 9, 0, r * 2, 2, 3000 + r, NULL), 0);
    }
    ck_assert_int_eq(produce(ps, pl, -1, -1, -1, 2, NULL), 0);
}

/* ---- sequence rules ------------------------------------------------------ */

START_TEST(test_in_order_sequences_are_appended)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    int64_t off;
    ck_assert_int_eq(produce(ps, pl, 100, 0, 0, 3, &off), SAMSA_ERR_NONE);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(produce(ps, pl, 100, 0, 3, 2, &off), SAMSA_ERR_NONE);
    ck_assert_int_eq(off, 3);
    ck_assert_int_eq(produce(ps, pl, 100, 0, 5, 1, &off), SAMSA_ERR_NONE);
    ck_assert_int_eq(off, 5);
    const producer_entry_t *e = producer_state_find(ps, 100);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->epoch, 0);
    ck_assert_int_eq(e->batch_count, 3);
    ck_assert_int_eq(e->batches[2].first_seq, 5);
    ck_assert_int_eq(e->batches[2].last_seq, 5);
    ck_assert_int_eq(e->batches[1].first_seq, 3);
    ck_assert_int_eq(e->batches[1].last_seq, 4);
    ck_assert_int_eq(e->batches[1].base_offset, 3);
    ck_assert_int_eq(e->batches[1].last_offset_delta, 1);
    ck_assert_uint_eq(producer_state_count(ps), 1);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_duplicate_of_each_of_the_last_five_batches_gets_its_original_offset)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    int64_t offsets[7];
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(produce(ps, pl, 5, 1, i * 2, 2, &offsets[i]), SAMSA_ERR_NONE);
    int64_t end = partition_log_end_offset(pl);
    for (int i = 2; i < 7; i++) {
        int64_t off = -1;
        ck_assert_int_eq(produce(ps, pl, 5, 1, i * 2, 2, &off),
                         SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER);
        ck_assert_int_eq(off, offsets[i]);
    }
    ck_assert_int_eq(partition_log_end_offset(pl), end); /* nothing written again */
    /* the sixth batch back is forgotten: an old sequence, out of order */
    ck_assert_int_eq(produce(ps, pl, 5, 1, 2, 2, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* same first sequence, different last: not a duplicate */
    ck_assert_int_eq(produce(ps, pl, 5, 1, 12, 1, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* a duplicate is only one within the same epoch */
    ck_assert_int_eq(produce(ps, pl, 5, 0, 12, 2, NULL), SAMSA_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(produce(ps, pl, 5, 1, 14, 1, NULL), SAMSA_ERR_NONE);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_out_of_order_sequences_are_refused)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    ck_assert_int_eq(produce(ps, pl, 1, 0, 0, 5, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(produce(ps, pl, 1, 0, 6, 1, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, pl, 1, 0, 4, 2, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, pl, 1, 0, 0, 1, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, pl, 1, 0, 5, 1, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(partition_log_end_offset(pl), 6);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_sequences_wrap_from_int32_max_to_zero)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    /* an unknown producer starts anywhere: INT32_MAX-1 .. 0 wraps inside */
    ck_assert_int_eq(produce(ps, pl, 3, 0, INT32_MAX - 1, 3, NULL), SAMSA_ERR_NONE);
    const producer_entry_t *e = producer_state_find(ps, 3);
    ck_assert_int_eq(e->batches[0].first_seq, INT32_MAX - 1);
    ck_assert_int_eq(e->batches[0].last_seq, 0);
    ck_assert_int_eq(produce(ps, pl, 3, 0, INT32_MAX - 1, 3, NULL),
                     SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, pl, 3, 0, 0, 1, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, pl, 3, 0, 1, 1, NULL), SAMSA_ERR_NONE);
    /* a batch ending exactly at INT32_MAX is followed by 0 */
    ck_assert_int_eq(produce(ps, pl, 4, 0, INT32_MAX - 1, 2, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(producer_state_find(ps, 4)->batches[0].last_seq, INT32_MAX);
    ck_assert_int_eq(produce(ps, pl, 4, 0, 1, 1, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(ps, pl, 4, 0, 0, 1, NULL), SAMSA_ERR_NONE);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_epoch_bump_resets_and_old_epochs_are_fenced)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    int64_t first;
    ck_assert_int_eq(produce(ps, pl, 9, 3, 0, 2, &first), SAMSA_ERR_NONE);
    ck_assert_int_eq(produce(ps, pl, 9, 3, 2, 2, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(produce(ps, pl, 9, 2, 4, 1, NULL), SAMSA_ERR_INVALID_PRODUCER_EPOCH);
    /* a new epoch must start at sequence 0 */
    ck_assert_int_eq(produce(ps, pl, 9, 4, 4, 1, NULL), SAMSA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    int64_t off;
    ck_assert_int_eq(produce(ps, pl, 9, 4, 0, 2, &off), SAMSA_ERR_NONE);
    ck_assert_int_ne(off, first); /* same sequences, new epoch: not a duplicate */
    const producer_entry_t *e = producer_state_find(ps, 9);
    ck_assert_int_eq(e->epoch, 4);
    ck_assert_int_eq(e->batch_count, 1);
    ck_assert_int_eq(produce(ps, pl, 9, 3, 4, 1, NULL), SAMSA_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(produce(ps, pl, 9, 3, 0, 2, NULL), SAMSA_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(produce(ps, pl, 9, 4, 2, 1, NULL), SAMSA_ERR_NONE);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_unknown_producers_start_at_any_sequence)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    ck_assert_int_eq(produce(ps, pl, 11, 0, 0, 1, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(produce(ps, pl, 12, 0, 4711, 1, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(produce(ps, pl, 13, 5, 9, 1, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(produce(ps, pl, 12, 0, 4712, 1, NULL), SAMSA_ERR_NONE);
    ck_assert_uint_eq(producer_state_count(ps), 3);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_batches_without_producer_id_are_not_checked)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(produce(ps, pl, -1, -1, -1, 2, NULL), SAMSA_ERR_NONE);
    ck_assert_uint_eq(producer_state_count(ps), 0);
    buf_t b;
    buf_init(&b, 0);
    batch_header_t h;
    /* a producer id with no sequence: Kafka's LogValidator refuses it */
    build(&b, 20, 0, -1, 1, 1000, 0);
    ck_assert_int_eq(batch_validate(b.data, b.len, &h), 0);
    ck_assert_int_eq(producer_state_check(ps, &h, NULL), SAMSA_ERR_INVALID_RECORD);
    /* clients may not write control batches */
    build(&b, -1, -1, -1, 1, 1000, BATCH_ATTR_CONTROL);
    ck_assert_int_eq(batch_validate(b.data, b.len, &h), 0);
    ck_assert_int_eq(producer_state_check(ps, &h, NULL), SAMSA_ERR_INVALID_RECORD);
    buf_free(&b);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_many_producers_grow_the_table)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    buf_t b;
    buf_init(&b, 0);
    batch_header_t h;
    for (int64_t pid = 0; pid < 5000; pid++) {
        build(&b, pid * 7919, 0, 0, 1, pid, 0);
        ck_assert_int_eq(batch_validate(b.data, b.len, &h), 0);
        ck_assert_int_eq(producer_state_check(ps, &h, NULL), 0);
        producer_state_update(ps, &h, pid);
    }
    ck_assert_uint_eq(producer_state_count(ps), 5000);
    for (int64_t pid = 0; pid < 5000; pid++) {
        const producer_entry_t *e = producer_state_find(ps, pid * 7919);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->batches[0].base_offset, pid);
    }
    /* remove every other one (by timestamp), the rest stay reachable */
    ck_assert_uint_eq(producer_state_expire(ps, 5000, 2500), 2501);
    ck_assert_uint_eq(producer_state_count(ps), 2499);
    for (int64_t pid = 0; pid < 5000; pid++)
        ck_assert_int_eq(producer_state_find(ps, pid * 7919) != NULL, pid > 2500);
    buf_free(&b);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

/* ---- persistence --------------------------------------------------------- */

static const int64_t history_pids[] = {7, 8, 9, 10};
#define HISTORY_PIDS (sizeof(history_pids) / sizeof(history_pids[0]))

START_TEST(test_state_survives_a_clean_close)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 12);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    int64_t end = partition_log_end_offset(pl);
    ck_assert_int_eq(producer_state_close(ps), 0);
    ck_assert_int_eq(partition_log_close(pl, true), 0);
    int64_t newest;
    ck_assert_int_eq(count_snapshots(&newest), 1);
    ck_assert_int_eq(newest, end);

    pl = open_log();
    ps = open_state(pl);
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    /* the duplicate window survived */
    int64_t off;
    ck_assert_int_eq(produce(ps, pl, 7, 0, 33, 3, &off), SAMSA_ERR_DUPLICATE_SEQUENCE_NUMBER);
    ck_assert_int_eq(off, before.entries[0].batches[4].base_offset);
    ck_assert_int_eq(produce(ps, pl, 7, 0, 36, 1, NULL), SAMSA_ERR_NONE);
    ck_assert_int_eq(warnings, 0);
    ck_assert_int_eq(producer_state_close(ps), 0);
    ck_assert_int_eq(partition_log_close(pl, true), 0);
    ck_assert_int_eq(count_snapshots(&newest), 2); /* the newest and one fallback */
    ck_assert_int_eq(newest, end + 1);
}
END_TEST

START_TEST(test_state_is_rebuilt_from_the_log_without_a_snapshot)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 120); /* several segments */
    log_stats_t stats;
    partition_log_stats(pl, &stats);
    ck_assert_uint_gt(stats.segment_count, 1);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    producer_state_free(ps); /* crash: no snapshot */
    partition_log_close(pl, false);

    pl = open_log();
    ps = open_state(pl);
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_state_is_rebuilt_from_an_old_snapshot_and_the_log_tail)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 10);
    ck_assert_int_eq(producer_state_snapshot(ps), 0);
    int64_t snap_offset = partition_log_end_offset(pl);
    /* after the snapshot: more batches, an epoch bump, a new producer */
    for (int r = 10; r < 20; r++)
        ck_assert_int_eq(produce(ps, pl, 7, 0, r * 3, 3, NULL), 0);
    ck_assert_int_eq(produce(ps, pl, 8, 3, 0, 1, NULL), 0);
    ck_assert_int_eq(produce(ps, pl, 10, 0, 77, 4, NULL), 0);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    producer_state_free(ps); /* crash */
    partition_log_close(pl, false);
    int64_t newest;
    ck_assert_int_eq(count_snapshots(&newest), 1);
    ck_assert_int_eq(newest, snap_offset);

    pl = open_log();
    ps = open_state(pl);
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    ck_assert_int_eq(producer_state_find(ps, 8)->epoch, 3);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

/* The log's recovery cuts a torn last batch: the snapshot written after it
 * is past the new log end, so the state comes from the snapshot before it
 * and the log tail, and equals the state before the torn batch. */
START_TEST(test_state_follows_the_log_when_recovery_cuts_a_torn_batch)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 6);
    ck_assert_int_eq(producer_state_snapshot(ps), 0);
    ck_assert_int_eq(produce(ps, pl, 7, 0, 18, 2, NULL), 0);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    int64_t torn;
    ck_assert_int_eq(produce(ps, pl, 7, 0, 20, 4, &torn), 0);
    ck_assert_int_eq(producer_state_close(ps), 0); /* a snapshot including it */
    log_read_t r;
    ck_assert_int_eq(partition_log_read(pl, torn, 1 << 20, &r), 0);
    int64_t position = r.file_position + (int64_t)r.length_bytes - 3;
    log_read_release(&r);
    log_stats_t stats;
    partition_log_stats(pl, &stats);
    partition_log_close(pl, false);
    char path[512];
    snprintf(path, sizeof(path), "%s/%020lld.log", partdir, (long long)stats.active_base_offset);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t byte = 0x5a;
    ck_assert_int_eq(pwrite(fd, &byte, 1, position), 1);
    close(fd);

    pl = open_log();
    ck_assert_int_eq(partition_log_end_offset(pl), torn);
    ps = open_state(pl);
    ck_assert_int_eq(warnings, 1); /* the snapshot past the end */
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    /* the producer's retry of the torn batch is appended again */
    ck_assert_int_eq(produce(ps, pl, 7, 0, 20, 4, NULL), SAMSA_ERR_NONE);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

static void corrupt_snapshot(int64_t offset, long at)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%020lld.snapshot", partdir, (long long)offset);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t byte;
    ck_assert_int_eq(pread(fd, &byte, 1, at), 1);
    byte ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &byte, 1, at), 1);
    close(fd);
}

START_TEST(test_a_corrupt_snapshot_is_ignored_and_the_log_replayed)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 9);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    int64_t end = partition_log_end_offset(pl);
    ck_assert_int_eq(producer_state_close(ps), 0);
    partition_log_close(pl, true);
    corrupt_snapshot(end, 40);

    pl = open_log();
    ps = open_state(pl);
    ck_assert_int_eq(warnings, 1);
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    int64_t newest;
    ck_assert_int_eq(count_snapshots(&newest), 0); /* the corrupt one is gone */
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_a_corrupt_newest_snapshot_falls_back_to_the_older_one)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 5);
    ck_assert_int_eq(producer_state_snapshot(ps), 0);
    ck_assert_int_eq(produce(ps, pl, 9, 1, 0, 1, NULL), 0);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    int64_t end = partition_log_end_offset(pl);
    ck_assert_int_eq(producer_state_close(ps), 0);
    partition_log_close(pl, true);
    corrupt_snapshot(end, 3); /* the magic */

    pl = open_log();
    ps = open_state(pl);
    ck_assert_int_eq(warnings, 1);
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_a_snapshot_past_the_log_end_is_deleted)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    write_history(ps, pl, 3);
    saved_t before, after;
    save(ps, history_pids, HISTORY_PIDS, &before);
    int64_t end = partition_log_end_offset(pl);
    ck_assert_int_eq(producer_state_close(ps), 0);
    partition_log_close(pl, true);
    /* a snapshot of data the log no longer has (lost before a sync) */
    char from[512], to[512];
    snprintf(from, sizeof(from), "%s/%020lld.snapshot", partdir, (long long)end);
    snprintf(to, sizeof(to), "%s/%020lld.snapshot", partdir, (long long)end + 100);
    ck_assert_int_eq(rename(from, to), 0);

    pl = open_log();
    ps = open_state(pl);
    ck_assert_int_eq(warnings, 1);
    save(ps, history_pids, HISTORY_PIDS, &after);
    assert_same(&before, &after, HISTORY_PIDS);
    int64_t newest;
    ck_assert_int_eq(count_snapshots(&newest), 0);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

static uint8_t *read_snapshot(int64_t offset, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%020lld.snapshot", partdir, (long long)offset);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static uint8_t data[4096];
    *len = fread(data, 1, sizeof(data), f);
    fclose(f);
    return data;
}

START_TEST(test_snapshot_layout_is_as_documented)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    ck_assert_int_eq(produce_ts(ps, pl, 0x0102030405060708, 7, 10, 2, 1111, NULL), 0);
    ck_assert_int_eq(produce_ts(ps, pl, 0x0102030405060708, 7, 12, 3, 2222, NULL), 0);
    ck_assert_int_eq(producer_state_close(ps), 0);
    partition_log_close(pl, true);
    size_t len;
    const uint8_t *d = read_snapshot(5, &len);
    ck_assert_uint_eq(len, 20 + 20 + 2 * 28 + 4);
    ck_assert_int_eq(memcmp(d, "SPST", 4), 0);
    ck_assert_uint_eq(be16_load(d + 4), 1);
    ck_assert_uint_eq(be16_load(d + 6), 0);
    ck_assert_uint_eq(be64_load(d + 8), 5);
    ck_assert_uint_eq(be32_load(d + 16), 1);
    ck_assert_uint_eq(be64_load(d + 20), 0x0102030405060708ull);
    ck_assert_uint_eq(be16_load(d + 28), 7);
    ck_assert_uint_eq(d[30], 2);
    ck_assert_uint_eq(d[31], 0);
    ck_assert_uint_eq(be64_load(d + 32), 2222);
    const uint8_t *b = d + 40 + 28; /* the newer batch */
    ck_assert_uint_eq(be32_load(b), 12);
    ck_assert_uint_eq(be32_load(b + 4), 14);
    ck_assert_uint_eq(be64_load(b + 8), 2);
    ck_assert_uint_eq(be32_load(b + 16), 2);
    ck_assert_uint_eq(be64_load(b + 20), 2222);
    ck_assert_uint_eq(be32_load(d + len - 4), crc32c(0, d, len - 4));
}
END_TEST

/* Snapshots with a valid CRC whose contents are wrong: each is refused
 * with a warning and the state comes from the log. */
START_TEST(test_snapshots_with_bad_contents_are_refused)
{
    enum { TOO_MANY, SIX_BATCHES, TWICE, TRAILING, WRONG_OFFSET, NEGATIVE_ID, VERSION, CUT, N };
    for (int variant = 0; variant < N; variant++) {
        partition_log_t *pl = open_log();
        producer_state_t *ps = open_state(pl);
        ck_assert_int_eq(produce(ps, pl, 4, 0, 0, 1, NULL), 0);
        int64_t end = partition_log_end_offset(pl);
        producer_state_free(ps);
        partition_log_close(pl, true);

        buf_t b;
        buf_init(&b, 0);
        buf_put(&b, "SPST", 4);
        buf_put_u16(&b, variant == VERSION ? 2 : 1);
        buf_put_u16(&b, 0);
        buf_put_i64(&b, variant == WRONG_OFFSET ? end + 1 : end);
        buf_put_u32(&b, variant == TOO_MANY ? 1000 : variant == TWICE ? 2 : 1);
        for (int copy = 0; copy < (variant == TWICE ? 2 : 1); copy++) {
            buf_put_i64(&b, variant == NEGATIVE_ID ? -5 : 99);
            buf_put_i16(&b, 0);
            buf_put_i8(&b, variant == SIX_BATCHES ? 6 : 1);
            buf_put_i8(&b, 0);
            buf_put_i64(&b, 1000);
            for (int i = 0; i < (variant == SIX_BATCHES ? 6 : 1); i++) {
                buf_put_i32(&b, 0);
                buf_put_i32(&b, 0);
                buf_put_i64(&b, 0);
                buf_put_i32(&b, 0);
                buf_put_i64(&b, 1000);
            }
        }
        if (variant == TRAILING)
            buf_put_i8(&b, 0);
        if (variant == CUT)
            b.len -= 10;
        buf_put_u32(&b, crc32c(0, b.data, b.len));
        char path[512];
        snprintf(path, sizeof(path), "%s/%020lld.snapshot", partdir, (long long)end);
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
        fclose(f);
        buf_free(&b);

        warnings = 0;
        pl = open_log();
        ps = open_state(pl);
        ck_assert_msg(warnings == 1, "variant %d: %d warnings", variant, warnings);
        ck_assert_uint_eq(producer_state_count(ps), 1);
        ck_assert_ptr_nonnull(producer_state_find(ps, 4));
        producer_state_free(ps);
        partition_log_close(pl, true);
        nftw(partdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}
END_TEST

START_TEST(test_truncate_head_drops_producers_below_the_log_start)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    int64_t off;
    ck_assert_int_eq(produce(ps, pl, 1, 0, 0, 5, NULL), 0);  /* 0..4 */
    ck_assert_int_eq(produce(ps, pl, 2, 0, 0, 5, NULL), 0);  /* 5..9 */
    ck_assert_int_eq(produce(ps, pl, 1, 0, 5, 1, &off), 0);  /* 10 */
    ck_assert_int_eq(produce(ps, pl, 3, 0, 0, 1, NULL), 0);  /* 11 */
    ck_assert_int_eq(off, 10);
    producer_state_truncate_head(ps, 9);
    ck_assert_uint_eq(producer_state_count(ps), 3); /* 2's last offset is 9 */
    int64_t low;
    ck_assert_int_eq(partition_log_delete_records(pl, 10, &low), 0);
    producer_state_truncate_head(ps, low);
    ck_assert_uint_eq(producer_state_count(ps), 2);
    ck_assert_ptr_null(producer_state_find(ps, 2));
    ck_assert_ptr_nonnull(producer_state_find(ps, 1));
    ck_assert_ptr_nonnull(producer_state_find(ps, 3));
    /* a dropped producer starts over at any sequence */
    ck_assert_int_eq(produce(ps, pl, 2, 0, 42, 1, NULL), 0);
    /* reopening from an older snapshot drops it too */
    saved_t before, after;
    int64_t pids[] = {1, 2, 3};
    save(ps, pids, 3, &before);
    producer_state_free(ps);
    partition_log_close(pl, false);
    pl = open_log();
    ps = open_state(pl);
    save(ps, pids, 3, &after);
    ck_assert_uint_eq(after.count, 3);
    ck_assert_int_eq(after.entries[1].batches[0].first_seq, 42);
    ck_assert_int_eq(after.entries[1].batch_count, 1);
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(test_expire_drops_idle_producers)
{
    partition_log_t *pl = open_log();
    producer_state_t *ps = open_state(pl);
    ck_assert_int_eq(produce_ts(ps, pl, 1, 0, 0, 1, 1000, NULL), 0);
    ck_assert_int_eq(produce_ts(ps, pl, 2, 0, 0, 1, 5000, NULL), 0);
    ck_assert_uint_eq(producer_state_expire(ps, 5999, 5000), 0);
    ck_assert_uint_eq(producer_state_expire(ps, 6000, 5000), 1);
    ck_assert_ptr_null(producer_state_find(ps, 1));
    ck_assert_ptr_nonnull(producer_state_find(ps, 2));
    producer_state_free(ps);
    partition_log_close(pl, true);
}
END_TEST

/* ---- producer ids -------------------------------------------------------- */

static void ids_path(char *out, size_t len)
{
    snprintf(out, len, "%s/producer_ids", tmpdir);
}

START_TEST(test_producer_ids_are_never_reused_across_reopen)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_msg(ids != NULL, "%s", errbuf);
    samsa_err_t err;
    int64_t last = -1;
    for (int i = 0; i < 1500; i++) {
        int64_t id = producer_ids_next(ids, &err);
        ck_assert_int_eq(err, 0);
        ck_assert_int_eq(id, last + 1);
        last = id;
    }
    producer_ids_close(ids);
    ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    int64_t id = producer_ids_next(ids, &err);
    ck_assert_int_gt(id, last);
    ck_assert_int_eq(id, 2 * PRODUCER_IDS_BLOCK);
    producer_ids_close(ids);
}
END_TEST

START_TEST(test_producer_ids_are_never_reused_after_a_crash)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *crashed = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(crashed);
    samsa_err_t err;
    int64_t last = -1;
    for (int i = 0; i < 7; i++)
        last = producer_ids_next(crashed, &err);
    ck_assert_int_eq(last, 6);
    /* restart while the first holder never closed */
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    ck_assert_int_eq(producer_ids_next(ids, &err), PRODUCER_IDS_BLOCK);
    producer_ids_close(ids);
    producer_ids_close(crashed);
}
END_TEST

START_TEST(test_a_corrupt_producer_id_file_is_refused)
{
    char path[512];
    ids_path(path, sizeof(path));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("garbage that is not an id file", f);
    fclose(f);
    ck_assert_ptr_null(producer_ids_open(path, errbuf, sizeof(errbuf)));
    ck_assert_ptr_nonnull(strstr(errbuf, "corrupt"));
}
END_TEST

/* ---- the InitProducerId handler ------------------------------------------ */

static init_producer_id_response_t last_response;
static int responses;

static void capture(broker_request_t *req, const void *response)
{
    ck_assert_ptr_nonnull(response);
    last_response = *(const init_producer_id_response_t *)response;
    responses++;
    arena_free(&req->arena);
}

/* Runs the handler for one request and returns its response. */
static init_producer_id_response_t init_request(producer_ids_t *ids, int16_t version,
                                                const char *txn_id, int64_t pid, int16_t epoch)
{
    broker_request_t req;
    memset(&req, 0, sizeof(req));
    req.api = proto_api(API_INIT_PRODUCER_ID);
    ck_assert_ptr_nonnull(req.api);
    req.api_version = version;
    req.flexible = proto_api_flexible(req.api, version);
    req.client_addr = "127.0.0.1:5555";
    req.respond_fn = capture;
    arena_init(&req.arena, 0);
    init_producer_id_request_t *body = arena_alloc(&req.arena, sizeof(*body));
    ck_assert_ptr_nonnull(body);
    proto_init(req.api->request, body);
    body->transactional_id = proto_str_of(txn_id);
    body->transaction_timeout_ms = 60000;
    body->producer_id = pid;
    body->producer_epoch = epoch;
    req.body = body;
    int before = responses;
    producer_ids_handle_init(ids, &req);
    ck_assert_int_eq(responses, before + 1);
    return last_response;
}

START_TEST(test_init_producer_id_gives_idempotent_producers_new_ids)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    for (int16_t v = 0; v <= 5; v++) {
        init_producer_id_response_t r = init_request(ids, v, NULL, -1, -1);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert_int_eq(r.producer_id, v);
        ck_assert_int_eq(r.producer_epoch, 0);
        ck_assert_int_eq(r.throttle_time_ms, 0);
    }
    producer_ids_close(ids);
}
END_TEST

START_TEST(test_init_producer_id_refuses_transactional_ids)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    for (int16_t v = 0; v <= 5; v++) {
        init_producer_id_response_t r = init_request(ids, v, "orders-txn", -1, -1);
        ck_assert_int_eq(r.error_code, SAMSA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        ck_assert_int_eq(r.producer_id, -1);
        ck_assert_int_eq(r.producer_epoch, -1);
        r = init_request(ids, v, "", -1, -1);
        ck_assert_int_eq(r.error_code, SAMSA_ERR_INVALID_REQUEST);
        ck_assert_int_eq(r.producer_id, -1);
        ck_assert_int_eq(r.producer_epoch, -1);
    }
    ck_assert_int_eq(warnings, 6);
    /* no id was used up */
    samsa_err_t err;
    ck_assert_int_eq(producer_ids_next(ids, &err), 0);
    producer_ids_close(ids);
}
END_TEST

START_TEST(test_init_producer_id_bumps_the_epoch_of_a_current_producer_from_v3)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    init_producer_id_response_t r = init_request(ids, 4, NULL, -1, -1);
    ck_assert_int_eq(r.producer_id, 0);
    int64_t pid = r.producer_id;
    for (int16_t v = 3; v <= 5; v++) {
        int16_t epoch = r.producer_epoch;
        r = init_request(ids, v, NULL, pid, epoch);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert_int_eq(r.producer_id, pid);
        ck_assert_int_eq(r.producer_epoch, epoch + 1);
    }
    ck_assert_int_eq(r.producer_epoch, 3);
    /* a retry of the last bump gets the same answer */
    r = init_request(ids, 5, NULL, pid, 2);
    ck_assert_int_eq(r.producer_id, pid);
    ck_assert_int_eq(r.producer_epoch, 3);
    /* a stale epoch or an unknown id gets a new id, as Kafka answers */
    r = init_request(ids, 5, NULL, pid, 1);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.producer_id, 1);
    ck_assert_int_eq(r.producer_epoch, 0);
    r = init_request(ids, 5, NULL, 999999, 0);
    ck_assert_int_eq(r.producer_id, 2);
    ck_assert_int_eq(r.producer_epoch, 0);
    /* before v3 the fields do not exist: always a new id */
    r = init_request(ids, 2, NULL, 2, 0);
    ck_assert_int_eq(r.producer_id, 3);
    ck_assert_int_eq(r.producer_epoch, 0);
    producer_ids_close(ids);
}
END_TEST

START_TEST(test_init_producer_id_gives_a_new_id_when_the_epoch_is_exhausted)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    int64_t pid;
    int16_t epoch;
    ck_assert_int_eq(producer_ids_init(ids, -1, -1, &pid, &epoch), 0);
    for (int i = 0; i < INT16_MAX - 1; i++) {
        int64_t same;
        ck_assert_int_eq(producer_ids_init(ids, pid, epoch, &same, &epoch), 0);
        ck_assert_int_eq(same, pid);
    }
    ck_assert_int_eq(epoch, INT16_MAX - 1);
    init_producer_id_response_t r = init_request(ids, 5, NULL, pid, epoch);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.producer_id, pid + 1);
    ck_assert_int_eq(r.producer_epoch, 0);
    producer_ids_close(ids);
}
END_TEST

START_TEST(test_init_producer_id_ids_survive_a_restart)
{
    char path[512];
    ids_path(path, sizeof(path));
    producer_ids_t *ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    init_producer_id_response_t r = init_request(ids, 5, NULL, -1, -1);
    ck_assert_int_eq(r.producer_id, 0);
    producer_ids_close(ids);
    ids = producer_ids_open(path, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(ids);
    /* the grant table is gone: a re-initialising producer gets a new id */
    r = init_request(ids, 5, NULL, 0, 0);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.producer_id, PRODUCER_IDS_BLOCK);
    ck_assert_int_eq(r.producer_epoch, 0);
    producer_ids_close(ids);
}
END_TEST

static Suite *producer_state_suite(void)
{
    Suite *s = suite_create("producer_state");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_in_order_sequences_are_appended);
    tcase_add_test(tc, test_duplicate_of_each_of_the_last_five_batches_gets_its_original_offset);
    tcase_add_test(tc, test_out_of_order_sequences_are_refused);
    tcase_add_test(tc, test_sequences_wrap_from_int32_max_to_zero);
    tcase_add_test(tc, test_epoch_bump_resets_and_old_epochs_are_fenced);
    tcase_add_test(tc, test_unknown_producers_start_at_any_sequence);
    tcase_add_test(tc, test_batches_without_producer_id_are_not_checked);
    tcase_add_test(tc, test_many_producers_grow_the_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("persistence");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_state_survives_a_clean_close);
    tcase_add_test(tc, test_state_is_rebuilt_from_the_log_without_a_snapshot);
    tcase_add_test(tc, test_state_is_rebuilt_from_an_old_snapshot_and_the_log_tail);
    tcase_add_test(tc, test_state_follows_the_log_when_recovery_cuts_a_torn_batch);
    tcase_add_test(tc, test_a_corrupt_snapshot_is_ignored_and_the_log_replayed);
    tcase_add_test(tc, test_a_corrupt_newest_snapshot_falls_back_to_the_older_one);
    tcase_add_test(tc, test_a_snapshot_past_the_log_end_is_deleted);
    tcase_add_test(tc, test_snapshot_layout_is_as_documented);
    tcase_add_test(tc, test_snapshots_with_bad_contents_are_refused);
    tcase_add_test(tc, test_truncate_head_drops_producers_below_the_log_start);
    tcase_add_test(tc, test_expire_drops_idle_producers);
    suite_add_tcase(s, tc);

    tc = tcase_create("producer_ids");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_producer_ids_are_never_reused_across_reopen);
    tcase_add_test(tc, test_producer_ids_are_never_reused_after_a_crash);
    tcase_add_test(tc, test_a_corrupt_producer_id_file_is_refused);
    tcase_add_test(tc, test_init_producer_id_gives_idempotent_producers_new_ids);
    tcase_add_test(tc, test_init_producer_id_refuses_transactional_ids);
    tcase_add_test(tc, test_init_producer_id_bumps_the_epoch_of_a_current_producer_from_v3);
    tcase_add_test(tc, test_init_producer_id_gives_a_new_id_when_the_epoch_is_exhausted);
    tcase_add_test(tc, test_init_producer_id_ids_survive_a_restart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return unit_run(producer_state_suite()); }
