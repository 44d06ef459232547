/*
 * Unit tests for lib/log: append, read, rolling, the offset and time
 * indexes, retention, DeleteRecords, recovery from torn and corrupt
 * segments, lost indexes, locking, log dirs and the flush policy.
 */
#include "log/log.h"
#include "base/buf.h"
#include "base/slog.h"
#include "proto/batch.h"

#include <check.h>

#include "unit.h"
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static char errbuf[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/samsa-test-log-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    slog_configure(NULL, NULL, SLOG_WARN);
}

/* Small segments so that a test rolls many of them. */
static log_config_t small_config(void)
{
    log_config_t cfg;
    log_config_init(&cfg);
    cfg.segment_bytes = 16 * 1024;
    cfg.index_interval_bytes = 512;
    cfg.preallocate_bytes = 4096;
    cfg.flush_on_ack = false;
    return cfg;
}

/* Appends to b one batch of `records` records, each value value_bytes long
 * and filled from seed, all at timestamp ts. */
static void make_batch(buf_t *b, int records, size_t value_bytes, int64_t ts, uint32_t seed)
{
    log_record_t recs[64];
    uint8_t *values = malloc(value_bytes * (size_t)records + 1);
    ck_assert(records > 0 && records <= 64 && values);
    for (size_t i = 0; i < value_bytes * (size_t)records; i++) {
        seed = seed * 1103515245u + 12345u;
        values[i] = (uint8_t)(seed >> 16);
    }
    for (int i = 0; i < records; i++)
        recs[i] = (log_record_t){"k", 1, values + (size_t)i * value_bytes, value_bytes};
    ck_assert_int_eq(log_records_encode(b, recs, (size_t)records, ts), SAMSA_ERR_NONE);
    free(values);
}

static partition_log_t *open_log(const log_config_t *cfg)
{
    partition_log_t *pl = partition_log_open(tmpdir, "events", 0, cfg, errbuf, sizeof(errbuf));
    ck_assert_msg(pl != NULL, "open failed: %s", errbuf);
    return pl;
}

/* Appends one batch and returns its base offset; *copy (if given) receives
 * the bytes as stored (offset and epoch stamped). */
static int64_t append_one(partition_log_t *pl, int records, size_t value_bytes, int64_t ts,
                          buf_t *copy)
{
    buf_t b;
    int64_t base, last;
    buf_init(&b, 0);
    make_batch(&b, records, value_bytes, ts, (uint32_t)ts ^ (uint32_t)value_bytes);
    ck_assert_int_eq(partition_log_append(pl, b.data, b.len, 7, &base, &last), SAMSA_ERR_NONE);
    ck_assert_int_eq(last - base + 1, records);
    if (copy)
        buf_put(copy, b.data, b.len);
    buf_free(&b);
    return base;
}

/* Reads the whole log from the start and appends its bytes to out. */
static void read_all(partition_log_t *pl, buf_t *out)
{
    int64_t offset = partition_log_start_offset(pl);
    for (;;) {
        log_read_t r;
        ck_assert_int_eq(partition_log_read(pl, offset, 1 << 20, &r), SAMSA_ERR_NONE);
        if (r.length_bytes == 0) {
            log_read_release(&r);
            break;
        }
        ck_assert_int_eq(pread(r.fd, buf_extend(out, r.length_bytes), r.length_bytes,
                               r.file_position),
                         (ssize_t)r.length_bytes);
        ck_assert(memcmp(out->data + out->len - r.length_bytes, r.data, r.length_bytes) == 0);
        offset = r.next_offset;
        log_read_release(&r);
    }
}

static void assert_log_equals(partition_log_t *pl, const buf_t *expected)
{
    buf_t got;
    buf_init(&got, 0);
    read_all(pl, &got);
    ck_assert_uint_eq(got.len, expected->len);
    ck_assert(memcmp(got.data, expected->data, got.len) == 0);
    buf_free(&got);
}

static void file_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/events-0/%s", tmpdir, name);
}

/* Counts warnings whose text contains warn_filter. */
static const char *warn_filter;
static int warn_count;
static void counting_sink(void *opaque, int level, const char *module, const char *msg)
{
    if (level <= SLOG_WARN && (!warn_filter || strstr(msg, warn_filter)))
        warn_count++;
}
static void count_warnings(const char *filter)
{
    warn_filter = filter;
    warn_count = 0;
    slog_configure(counting_sink, NULL, SLOG_WARN);
}

/* ---- append and read ---------------------------------------------------- */

START_TEST(append_assigns_consecutive_offsets_and_reads_back)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t all, two;
    int64_t base, last;
    buf_init(&all, 0);
    buf_init(&two, 0);
    ck_assert_int_eq(append_one(pl, 1, 10, 1000, &all), 0);
    ck_assert_int_eq(append_one(pl, 3, 10, 1001, &all), 1);
    make_batch(&two, 2, 5, 1002, 1);
    make_batch(&two, 4, 5, 1003, 2);
    ck_assert_int_eq(partition_log_append(pl, two.data, two.len, 9, &base, &last), 0);
    ck_assert_int_eq(base, 4);
    ck_assert_int_eq(last, 9);
    buf_put(&all, two.data, two.len);
    ck_assert_int_eq(partition_log_end_offset(pl), 10);
    ck_assert_int_eq(partition_log_high_watermark(pl), 10);
    ck_assert_int_eq(partition_log_start_offset(pl), 0);
    assert_log_equals(pl, &all);
    partition_log_close(pl, true);
    buf_free(&all);
    buf_free(&two);
}
END_TEST

START_TEST(append_stamps_base_offset_and_leader_epoch_in_place)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t b;
    batch_header_t h;
    buf_init(&b, 0);
    append_one(pl, 2, 10, 5, NULL);
    make_batch(&b, 1, 10, 6, 3);
    make_batch(&b, 1, 10, 7, 4);
    ck_assert_int_eq(partition_log_append(pl, b.data, b.len, 42, NULL, NULL), 0);
    ck_assert_int_eq(batch_validate(b.data, b.len, &h), SAMSA_ERR_NONE);
    ck_assert_int_eq(h.base_offset, 2);
    ck_assert_int_eq(h.partition_leader_epoch, 42);
    ck_assert_int_eq(batch_validate(b.data + h.length + 12, b.len - h.length - 12, &h), 0);
    ck_assert_int_eq(h.base_offset, 3);
    partition_log_close(pl, true);
    buf_free(&b);
}
END_TEST

START_TEST(append_with_a_corrupt_batch_writes_nothing)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t all, bad;
    buf_init(&all, 0);
    buf_init(&bad, 0);
    append_one(pl, 1, 10, 1, &all);
    make_batch(&bad, 1, 10, 2, 1);
    make_batch(&bad, 1, 10, 3, 2);
    bad.data[bad.len - 1] ^= 0x40; /* the second batch's CRC no longer matches */
    ck_assert_int_eq(partition_log_append(pl, bad.data, bad.len, 0, NULL, NULL),
                     SAMSA_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(partition_log_append(pl, bad.data, 30, 0, NULL, NULL),
                     SAMSA_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(partition_log_append(pl, bad.data, 0, 0, NULL, NULL), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(partition_log_end_offset(pl), 1);
    assert_log_equals(pl, &all);
    partition_log_close(pl, true);
    buf_free(&all);
    buf_free(&bad);
}
END_TEST

START_TEST(append_larger_than_a_segment_is_too_large)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t b;
    buf_init(&b, 0);
    make_batch(&b, 1, (size_t)cfg.segment_bytes, 1, 1);
    ck_assert_int_eq(partition_log_append(pl, b.data, b.len, 0, NULL, NULL),
                     SAMSA_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(partition_log_end_offset(pl), 0);
    partition_log_close(pl, true);
    buf_free(&b);
}
END_TEST

START_TEST(read_inside_a_batch_returns_the_whole_batch)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t second;
    log_read_t r;
    buf_init(&second, 0);
    append_one(pl, 3, 10, 1, NULL);
    append_one(pl, 5, 10, 2, &second); /* offsets 3..7 */
    ck_assert_int_eq(partition_log_read(pl, 6, 1, &r), SAMSA_ERR_NONE);
    ck_assert_int_eq(r.first_offset, 3);
    ck_assert_int_eq(r.next_offset, 8);
    ck_assert_uint_eq(r.length_bytes, second.len);
    ck_assert(memcmp(r.data, second.data, second.len) == 0);
    log_read_release(&r);
    log_read_release(&r);
    partition_log_close(pl, true);
    buf_free(&second);
}
END_TEST

START_TEST(read_fills_max_bytes_with_whole_batches_but_returns_at_least_one)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t one;
    log_read_t r;
    buf_init(&one, 0);
    for (int i = 0; i < 5; i++) {
        buf_reset(&one);
        append_one(pl, 1, 100, i, &one);
    }
    size_t batch = one.len;
    ck_assert_int_eq(partition_log_read(pl, 0, 10, &r), 0);
    ck_assert_uint_eq(r.length_bytes, batch);
    ck_assert_int_eq(r.next_offset, 1);
    log_read_release(&r);
    ck_assert_int_eq(partition_log_read(pl, 1, 3 * batch - 1, &r), 0);
    ck_assert_uint_eq(r.length_bytes, 2 * batch);
    ck_assert_int_eq(r.next_offset, 3);
    log_read_release(&r);
    ck_assert_int_eq(partition_log_read(pl, 1, 3 * batch, &r), 0);
    ck_assert_uint_eq(r.length_bytes, 3 * batch);
    log_read_release(&r);
    partition_log_close(pl, true);
    buf_free(&one);
}
END_TEST

START_TEST(read_at_the_end_is_empty_and_beyond_is_out_of_range)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    log_read_t r;
    ck_assert_int_eq(partition_log_read(pl, 0, 100, &r), SAMSA_ERR_NONE);
    ck_assert_uint_eq(r.length_bytes, 0);
    log_read_release(&r);
    append_one(pl, 2, 10, 1, NULL);
    ck_assert_int_eq(partition_log_read(pl, 2, 100, &r), SAMSA_ERR_NONE);
    ck_assert_uint_eq(r.length_bytes, 0);
    ck_assert_int_eq(r.high_watermark, 2);
    log_read_release(&r);
    ck_assert_int_eq(partition_log_read(pl, 3, 100, &r), SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(partition_log_read(pl, -1, 100, &r), SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    partition_log_close(pl, true);
}
END_TEST

/* ---- rolling and indexes ------------------------------------------------ */

START_TEST(segments_roll_at_segment_bytes_and_reads_cross_them)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t all;
    log_stats_t st;
    char path[512];
    buf_init(&all, 0);
    for (int i = 0; i < 100; i++)
        append_one(pl, 1 + i % 3, 300, 1000 + i, &all);
    partition_log_stats(pl, &st);
    ck_assert_uint_gt(st.segment_count, 3);
    ck_assert_uint_eq(st.size_bytes, all.len);
    file_path(path, sizeof(path), "00000000000000000000.log");
    ck_assert_int_eq(access(path, F_OK), 0);
    /* Every read stays within one segment and the next read continues. */
    log_read_t r;
    ck_assert_int_eq(partition_log_read(pl, st.active_base_offset - 1, 1 << 20, &r), 0);
    ck_assert_int_eq(r.next_offset, st.active_base_offset);
    log_read_release(&r);
    assert_log_equals(pl, &all);
    partition_log_close(pl, true);

    pl = open_log(&cfg);
    assert_log_equals(pl, &all);
    char name[64];
    snprintf(name, sizeof(name), "%020" PRId64 ".timeindex", st.active_base_offset);
    file_path(path, sizeof(path), name);
    ck_assert_int_eq(access(path, F_OK), 0);
    partition_log_close(pl, true);
    buf_free(&all);
}
END_TEST

START_TEST(segment_ms_rolls_an_old_segment)
{
    log_config_t cfg = small_config();
    cfg.segment_ms = 1;
    partition_log_t *pl = open_log(&cfg);
    log_stats_t st;
    append_one(pl, 1, 10, 1, NULL);
    usleep(10 * 1000);
    append_one(pl, 1, 10, 2, NULL);
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, 2);
    ck_assert_int_eq(st.active_base_offset, 1);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(every_offset_is_found_through_the_offset_index)
{
    log_config_t cfg = small_config();
    cfg.segment_bytes = 1 << 20;
    cfg.index_interval_bytes = 200;
    partition_log_t *pl = open_log(&cfg);
    int64_t bases[300];
    for (int i = 0; i < 300; i++)
        bases[i] = append_one(pl, 1 + i % 4, 50, i, NULL);
    for (int reopen = 0; reopen < 2; reopen++) {
        for (int i = 0; i < 300; i++) {
            for (int64_t o = bases[i]; o < bases[i] + 1 + i % 4; o++) {
                log_read_t r;
                ck_assert_int_eq(partition_log_read(pl, o, 1, &r), 0);
                ck_assert_int_eq(r.first_offset, bases[i]);
                log_read_release(&r);
            }
        }
        partition_log_close(pl, true);
        pl = open_log(&cfg);
    }
    char path[512];
    struct stat st;
    file_path(path, sizeof(path), "00000000000000000000.index");
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, 8 * 50); /* trimmed to its entries, and there are many */
    ck_assert_int_eq(st.st_size % 8, 0);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(timestamp_lookup_finds_the_first_batch_at_or_after)
{
    log_config_t cfg = small_config();
    cfg.index_interval_bytes = 100;
    partition_log_t *pl = open_log(&cfg);
    int64_t offset, ts;
    /* Batch i has timestamp 1000 * (i + 1), except that batch 10 goes back in time. */
    for (int i = 0; i < 40; i++)
        append_one(pl, 2, 200, i == 10 ? 500 : 1000 * (i + 1), NULL);
    for (int reopen = 0; reopen < 2; reopen++) {
        ck_assert_int_eq(partition_log_offset_for_timestamp(pl, 0, &offset, &ts), 0);
        ck_assert_int_eq(offset, 0);
        ck_assert_int_eq(ts, 1000);
        ck_assert_int_eq(partition_log_offset_for_timestamp(pl, 2500, &offset, &ts), 0);
        ck_assert_int_eq(offset, 4);
        ck_assert_int_eq(ts, 3000);
        ck_assert_int_eq(partition_log_offset_for_timestamp(pl, 30000, &offset, &ts), 0);
        ck_assert_int_eq(offset, 58);
        ck_assert_int_eq(partition_log_offset_for_timestamp(pl, 40000, &offset, &ts), 0);
        ck_assert_int_eq(offset, 78);
        ck_assert_int_eq(partition_log_offset_for_timestamp(pl, 40001, &offset, &ts),
                         SAMSA_ERR__NOENT);
        ck_assert_int_eq(offset, -1);
        partition_log_close(pl, true);
        pl = open_log(&cfg);
    }
    partition_log_close(pl, true);
}
END_TEST

/* ---- retention and DeleteRecords ----------------------------------------- */

START_TEST(retention_by_time_deletes_old_segments_but_never_the_active_one)
{
    log_config_t cfg = small_config();
    cfg.retention_ms = 1000;
    partition_log_t *pl = open_log(&cfg);
    log_stats_t st;
    for (int i = 0; i < 160; i++)
        append_one(pl, 1, 300, i < 100 ? 1000 : 50000, NULL);
    partition_log_stats(pl, &st);
    size_t before = st.segment_count;
    ck_assert_int_eq(partition_log_apply_retention(pl, 1500), 0);
    int deleted = partition_log_apply_retention(pl, 2500);
    ck_assert_int_gt(deleted, 0);
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, before - (size_t)deleted);
    int64_t start = partition_log_start_offset(pl);
    ck_assert_int_gt(start, 0);
    ck_assert_int_le(start, 100);
    log_read_t r;
    ck_assert_int_eq(partition_log_read(pl, start - 1, 100, &r), SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    /* Everything expired: all but the active segment goes. */
    partition_log_apply_retention(pl, 1000000);
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, 1);
    ck_assert_int_eq(partition_log_start_offset(pl), st.active_base_offset);
    ck_assert_int_eq(partition_log_end_offset(pl), 160);
    partition_log_close(pl, true);
    pl = open_log(&cfg);
    ck_assert_int_eq(partition_log_start_offset(pl), st.active_base_offset);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(retention_by_size_keeps_at_most_retention_bytes)
{
    log_config_t cfg = small_config();
    cfg.retention_bytes = 40 * 1024;
    partition_log_t *pl = open_log(&cfg);
    log_stats_t st;
    for (int i = 0; i < 300; i++)
        append_one(pl, 1, 300, 1, NULL);
    ck_assert_int_gt(partition_log_apply_retention(pl, 2), 0);
    partition_log_stats(pl, &st);
    /* As Kafka: a segment goes only if what remains is still >= retention.bytes. */
    ck_assert_uint_ge(st.size_bytes, (uint64_t)cfg.retention_bytes);
    ck_assert_uint_lt(st.size_bytes, (uint64_t)cfg.retention_bytes + (uint64_t)cfg.segment_bytes);
    ck_assert_int_eq(partition_log_apply_retention(pl, 2), 0);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(delete_records_moves_the_log_start_and_survives_reopen)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    log_stats_t st;
    int64_t low;
    log_read_t r;
    for (int i = 0; i < 60; i++)
        append_one(pl, 2, 300, i, NULL);
    partition_log_stats(pl, &st);
    size_t before = st.segment_count;
    ck_assert_int_eq(partition_log_delete_records(pl, 121, &low), SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(partition_log_delete_records(pl, 51, &low), 0);
    ck_assert_int_eq(low, 51);
    partition_log_stats(pl, &st);
    ck_assert_uint_lt(st.segment_count, before);
    ck_assert_int_eq(partition_log_read(pl, 50, 100, &r), SAMSA_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(r.log_start_offset, 51);
    ck_assert_int_eq(partition_log_read(pl, 51, 1, &r), 0);
    ck_assert_int_eq(r.first_offset, 50); /* the batch holding 51 */
    log_read_release(&r);
    ck_assert_int_eq(partition_log_delete_records(pl, 10, &low), 0);
    ck_assert_int_eq(low, 51);
    partition_log_close(pl, false);
    pl = open_log(&cfg);
    ck_assert_int_eq(partition_log_start_offset(pl), 51);
    ck_assert_int_eq(partition_log_delete_records(pl, -1, &low), 0);
    ck_assert_int_eq(low, 120);
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, 1);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(a_held_read_survives_the_deletion_of_its_segment)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    buf_t first;
    log_read_t r;
    char path[512];
    buf_init(&first, 0);
    append_one(pl, 1, 300, 1, &first);
    for (int i = 0; i < 80; i++)
        append_one(pl, 1, 300, 2, NULL);
    ck_assert_int_eq(partition_log_read(pl, 0, 1, &r), 0);
    ck_assert_int_eq(partition_log_delete_records(pl, 70, NULL), 0);
    file_path(path, sizeof(path), "00000000000000000000.log");
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_uint_eq(r.length_bytes, first.len);
    ck_assert(memcmp(r.data, first.data, first.len) == 0);
    uint8_t copy[4096];
    ck_assert_int_eq(pread(r.fd, copy, r.length_bytes, r.file_position), (ssize_t)first.len);
    ck_assert(memcmp(copy, first.data, first.len) == 0);
    partition_log_close(pl, true);
    ck_assert(memcmp(r.data, first.data, first.len) == 0); /* even after close */
    log_read_release(&r);
    buf_free(&first);
}
END_TEST

/* ---- recovery --------------------------------------------------------- */

/* Builds a log of n batches, closes it cleanly, and returns the .log file's
 * bytes and where the last batch starts. */
static void build_single_segment(int n, buf_t *file, size_t *last_start)
{
    log_config_t cfg = small_config();
    cfg.segment_bytes = 1 << 20;
    partition_log_t *pl = open_log(&cfg);
    for (int i = 0; i < n; i++) {
        *last_start = file->len;
        append_one(pl, 2, 40 + (size_t)i, 100 + i, file);
    }
    partition_log_close(pl, true);
}

static void write_segment_file(const uint8_t *data, size_t len)
{
    char path[512];
    file_path(path, sizeof(path), "00000000000000000000.log");
    int fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    file_path(path, sizeof(path), "clean-shutdown");
    unlink(path);
}

START_TEST(a_torn_last_batch_is_cut_at_every_byte_position)
{
    buf_t file, garbage;
    size_t last_start = 0;
    buf_init(&file, 0);
    buf_init(&garbage, 0);
    build_single_segment(6, &file, &last_start);
    log_config_t cfg = small_config();
    cfg.segment_bytes = 1 << 20;
    for (int with_garbage = 0; with_garbage < 2; with_garbage++) {
        for (size_t cut = last_start; cut < file.len; cut++) {
            buf_reset(&garbage);
            buf_put(&garbage, file.data, cut);
            for (int i = 0; with_garbage && i < 300; i++)
                buf_put_i8(&garbage, (int8_t)(i * 37 + 11));
            write_segment_file(garbage.data, garbage.len);
            count_warnings("cutting");
            partition_log_t *pl = open_log(&cfg);
            ck_assert_int_eq(partition_log_end_offset(pl), 10);
            /* Zeros after the data look like preallocated space: no warning for them. */
            bool data_cut = with_garbage;
            for (size_t i = last_start; i < cut; i++)
                data_cut |= file.data[i] != 0;
            ck_assert_int_eq(warn_count, data_cut ? 1 : 0);
            buf_t got;
            buf_init(&got, 0);
            read_all(pl, &got);
            ck_assert_uint_eq(got.len, last_start);
            ck_assert(memcmp(got.data, file.data, last_start) == 0);
            buf_free(&got);
            /* The log goes on from there. */
            ck_assert_int_eq(append_one(pl, 1, 10, 1, NULL), 10);
            partition_log_close(pl, false);
        }
    }
    buf_free(&file);
    buf_free(&garbage);
}
END_TEST

START_TEST(a_flipped_byte_cuts_the_log_at_that_batch)
{
    buf_t file;
    size_t last_start = 0;
    buf_init(&file, 0);
    build_single_segment(10, &file, &last_start);
    size_t pos = 0, batch = 0;
    while (batch < 5) { /* find where batch 5 starts */
        pos += batch_total_bytes(file.data + pos);
        batch++;
    }
    file.data[pos + 70] ^= 0x01;
    write_segment_file(file.data, file.len);
    log_config_t cfg = small_config();
    cfg.segment_bytes = 1 << 20;
    count_warnings("bad length, magic or CRC");
    partition_log_t *pl = open_log(&cfg);
    ck_assert_int_eq(warn_count, 1);
    ck_assert_int_eq(partition_log_end_offset(pl), 10);
    buf_t got;
    buf_init(&got, 0);
    read_all(pl, &got);
    ck_assert_uint_eq(got.len, pos);
    partition_log_close(pl, true);
    buf_free(&got);
    buf_free(&file);
}
END_TEST

START_TEST(corruption_in_an_older_segment_drops_the_later_ones)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    log_stats_t st;
    for (int i = 0; i < 60; i++)
        append_one(pl, 1, 300, i, NULL);
    partition_log_close(pl, false); /* no clean marker, recovery point 0 */
    char path[512];
    file_path(path, sizeof(path), "00000000000000000000.log");
    int fd = open(path, O_RDWR);
    uint8_t byte;
    ck_assert_int_eq(pread(fd, &byte, 1, 1000), 1);
    byte ^= 0xff;
    ck_assert_int_eq(pwrite(fd, &byte, 1, 1000), 1);
    close(fd);
    count_warnings(NULL);
    pl = open_log(&cfg);
    ck_assert_int_ge(warn_count, 2); /* the cut, and each dropped segment */
    partition_log_stats(pl, &st);
    ck_assert_uint_eq(st.segment_count, 1);
    ck_assert_int_lt(partition_log_end_offset(pl), 4);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(an_unclean_close_loses_nothing_written)
{
    for (int mode = 0; mode < 2; mode++) {
        log_config_t cfg = small_config();
        cfg.write_mode = mode ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE;
        partition_log_t *pl = open_log(&cfg);
        buf_t all;
        buf_init(&all, 0);
        read_all(pl, &all);
        for (int i = 0; i < 70; i++)
            append_one(pl, 1, 250, i, &all);
        partition_log_close(pl, false); /* preallocated zeros stay behind */
        count_warnings("cutting");
        pl = open_log(&cfg);
        ck_assert_int_eq(warn_count, 0);
        assert_log_equals(pl, &all);
        partition_log_close(pl, true);
        buf_free(&all);
    }
}
END_TEST

START_TEST(lost_index_files_are_rebuilt)
{
    log_config_t cfg = small_config();
    cfg.index_interval_bytes = 100;
    partition_log_t *pl = open_log(&cfg);
    buf_t all;
    buf_init(&all, 0);
    for (int i = 0; i < 60; i++)
        append_one(pl, 2, 300, 1000 * i, &all);
    partition_log_close(pl, true);
    char path[512];
    file_path(path, sizeof(path), "00000000000000000000.index");
    struct stat before, after;
    ck_assert_int_eq(stat(path, &before), 0);
    ck_assert_int_eq(unlink(path), 0);
    file_path(path, sizeof(path), "00000000000000000000.timeindex");
    ck_assert_int_eq(unlink(path), 0);
    count_warnings("rebuilding");
    pl = open_log(&cfg);
    ck_assert_int_eq(warn_count, 1);
    assert_log_equals(pl, &all);
    int64_t offset, ts;
    ck_assert_int_eq(partition_log_offset_for_timestamp(pl, 2500, &offset, &ts), 0);
    ck_assert_int_eq(offset, 6);
    partition_log_close(pl, true);
    file_path(path, sizeof(path), "00000000000000000000.index");
    ck_assert_int_eq(stat(path, &after), 0);
    ck_assert_int_eq(after.st_size, before.st_size);
    buf_free(&all);
}
END_TEST

START_TEST(unknown_files_are_ignored_with_a_warning)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    append_one(pl, 1, 10, 1, NULL);
    partition_log_close(pl, true);
    char path[512];
    file_path(path, sizeof(path), "notes.txt");
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    count_warnings("notes.txt");
    pl = open_log(&cfg);
    ck_assert_int_eq(warn_count, 1);
    ck_assert_int_eq(partition_log_end_offset(pl), 1);
    partition_log_close(pl, true);
}
END_TEST

/* ---- locking and log dirs ---------------------------------------------- */

START_TEST(a_second_open_is_refused_naming_the_holder)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    char expect[64];
    snprintf(expect, sizeof(expect), "locked by process %ld", (long)getpid());
    ck_assert_ptr_null(partition_log_open(tmpdir, "events", 0, &cfg, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, expect) != NULL, "error was: %s", errbuf);
    partition_log_close(pl, true);
    pl = open_log(&cfg);
    partition_log_close(pl, true);
}
END_TEST

START_TEST(log_dirs_are_locked_and_list_their_partitions)
{
    char a[300], b[300];
    snprintf(a, sizeof(a), "%s/a", tmpdir);
    snprintf(b, sizeof(b), "%s/b", tmpdir);
    const char *paths[] = {a, b};
    log_dir_t *ld = log_dir_open(paths, 2, errbuf, sizeof(errbuf));
    ck_assert_msg(ld != NULL, "%s", errbuf);
    ck_assert_ptr_null(log_dir_open(paths + 1, 1, errbuf, sizeof(errbuf)));
    ck_assert(strstr(errbuf, "locked by process") != NULL);
    log_config_t cfg = small_config();
    partition_log_t *p1 = partition_log_open(a, "t.x", 3, &cfg, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(p1);
    ck_assert_str_eq(log_dir_choose(ld), b);
    partition_log_t *p2 =
        partition_log_open(log_dir_choose(ld), "my-topic", 12, &cfg, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(p2);
    ck_assert_str_eq(partition_log_name(p2), "my-topic-12");
    ck_assert_ptr_null(partition_log_open(a, "bad/name", 0, &cfg, errbuf, sizeof(errbuf)));
    char junk[400];
    snprintf(junk, sizeof(junk), "%s/not-a-partition", a);
    mkdir(junk, 0755);
    log_partition_id_t *ids;
    size_t n;
    count_warnings("not-a-partition");
    ck_assert_int_eq(log_dir_discover(ld, &ids, &n), 0);
    ck_assert_int_eq(warn_count, 1);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (ids[i].dir_index == 0) {
            ck_assert_str_eq(ids[i].topic, "t.x");
            ck_assert_int_eq(ids[i].partition, 3);
        } else {
            ck_assert_str_eq(ids[i].topic, "my-topic");
            ck_assert_int_eq(ids[i].partition, 12);
        }
    }
    free(ids);
    partition_log_close(p1, true);
    partition_log_close(p2, true);
    log_dir_close(ld);
}
END_TEST

START_TEST(config_accepts_kafka_names_and_rejects_bad_values)
{
    log_config_t cfg;
    log_config_init(&cfg);
    ck_assert_int_eq(cfg.segment_bytes, 1073741824);
    ck_assert_int_eq(cfg.retention_ms, 604800000);
    ck_assert_int_eq(cfg.retention_bytes, -1);
    ck_assert(cfg.flush_on_ack);
    ck_assert_int_eq(log_config_set(&cfg, "segment.bytes", "1048576", errbuf, sizeof(errbuf)), 0);
    ck_assert_int_eq(log_config_set(&cfg, "log.flush.interval.messages", "5", NULL, 0), 0);
    ck_assert_int_eq(log_config_set(&cfg, "log.flush.on.ack", "false", NULL, 0), 0);
    ck_assert_int_eq(log_config_set(&cfg, "log.segment.write.mode", "mmap", NULL, 0), 0);
    ck_assert_int_eq(cfg.segment_bytes, 1048576);
    ck_assert_int_eq(cfg.flush_interval_messages, 5);
    ck_assert(!cfg.flush_on_ack);
    ck_assert_int_eq(cfg.write_mode, LOG_WRITE_MMAP);
    ck_assert_int_eq(log_config_set(&cfg, "segment.bytes", "3000000000", errbuf, sizeof(errbuf)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert(strstr(errbuf, "segment.bytes") != NULL);
    ck_assert_int_eq(log_config_set(&cfg, "retention.ms", "soon", NULL, 0),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_int_eq(log_config_set(&cfg, "no.such.key", "1", errbuf, sizeof(errbuf)),
                     SAMSA_ERR__UNKNOWN_CONFIG);
    ck_assert_int_eq(cfg.segment_bytes, 1048576);
}
END_TEST

/* ---- flushing ---------------------------------------------------------- */

static int64_t durable_seen;
static void on_durable(void *opaque, partition_log_t *pl, int64_t end)
{
    __atomic_store_n(&durable_seen, end, __ATOMIC_RELEASE);
}

START_TEST(flush_interval_messages_syncs_inline)
{
    log_config_t cfg = small_config();
    cfg.flush_interval_messages = 5;
    partition_log_t *pl = open_log(&cfg);
    append_one(pl, 3, 10, 1, NULL);
    ck_assert_int_eq(partition_log_durable_offset(pl), 0);
    append_one(pl, 2, 10, 1, NULL);
    ck_assert_int_eq(partition_log_durable_offset(pl), 5);
    partition_log_close(pl, true);
}
END_TEST

/* An on-ack log with on_durable, and a flusher thread started with
 * retention_check_ms (its rounds) that the log is not yet added to. */
static partition_log_t *open_on_ack_log(int64_t retention_check_ms, log_flusher_t **fl)
{
    log_config_t cfg = small_config();
    cfg.flush_on_ack = true;
    cfg.on_durable = on_durable;
    durable_seen = 0;
    *fl = log_flusher_start(retention_check_ms, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(*fl);
    return open_log(&cfg);
}

static void wait_durable_seen(int64_t end)
{
    while (__atomic_load_n(&durable_seen, __ATOMIC_ACQUIRE) < end)
        usleep(1000);
    ck_assert_int_eq(__atomic_load_n(&durable_seen, __ATOMIC_ACQUIRE), end);
}

/* Appends nobody waits for: synced at the flusher's rounds (every 10 ms
 * here, the retention check). */
START_TEST(the_flusher_thread_makes_on_ack_appends_durable)
{
    log_flusher_t *fl;
    partition_log_t *pl = open_on_ack_log(10, &fl);
    ck_assert_int_eq(log_flusher_add(fl, pl), 0);
    for (int i = 0; i < 50; i++)
        append_one(pl, 2, 100, 1, NULL);
    wait_durable_seen(100);
    ck_assert_int_eq(partition_log_durable_offset(pl), 100);
    log_flusher_remove(fl, pl);
    log_flusher_stop(fl);
    partition_log_close(pl, true);
}
END_TEST

/* A waiter's request: the flusher (whose rounds are a second apart here)
 * syncs what was appended before it, and on_durable reports it. */
START_TEST(sync_soon_has_the_flusher_sync)
{
    log_flusher_t *fl;
    partition_log_t *pl = open_on_ack_log(0, &fl);
    partition_log_sync_soon(pl); /* before log_flusher_add: nothing to wake */
    ck_assert_int_eq(log_flusher_add(fl, pl), 0);
    for (int i = 0; i < 3; i++) {
        append_one(pl, 2, 100, 1, NULL);
        partition_log_sync_soon(pl);
        wait_durable_seen(2 * (i + 1));
        ck_assert_int_eq(partition_log_durable_offset(pl), 2 * (i + 1));
    }
    log_flusher_remove(fl, pl);
    partition_log_sync_soon(pl); /* removed: nothing to wake */
    log_flusher_stop(fl);
    partition_log_close(pl, true);
}
END_TEST

typedef struct appender {
    partition_log_t *pl;
    int64_t bases[50];
} appender_t;

static void *append_durably(void *arg)
{
    appender_t *a = arg;
    for (int i = 0; i < 50; i++) {
        buf_t b;
        int64_t last;
        buf_init(&b, 0);
        make_batch(&b, 2, 64, 1, (uint32_t)i);
        if (partition_log_append_durable(a->pl, b.data, b.len, 0, &a->bases[i], &last) != 0 ||
            partition_log_durable_offset(a->pl) <= last)
            a->bases[i] = -1;
        buf_free(&b);
    }
    return NULL;
}

START_TEST(concurrent_durable_appends_get_distinct_offsets)
{
    /* pwrite, mmap, and pwrite with a flusher thread syncing too */
    for (int mode = 0; mode < 3; mode++) {
        log_config_t cfg = small_config();
        cfg.write_mode = mode == 1 ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE;
        cfg.flush_on_ack = true;
        partition_log_t *pl = open_log(&cfg);
        log_flusher_t *fl = NULL;
        if (mode == 2) {
            ck_assert_ptr_nonnull(fl = log_flusher_start(0, errbuf, sizeof(errbuf)));
            ck_assert_int_eq(log_flusher_add(fl, pl), SAMSA_ERR_NONE);
        }
        int64_t start = partition_log_end_offset(pl);
        appender_t ap[8];
        pthread_t th[8];
        for (int t = 0; t < 8; t++) {
            ap[t].pl = pl;
            pthread_create(&th[t], NULL, append_durably, &ap[t]);
        }
        for (int t = 0; t < 8; t++)
            pthread_join(th[t], NULL);
        static bool seen[800];
        memset(seen, 0, sizeof(seen));
        for (int t = 0; t < 8; t++) {
            for (int i = 0; i < 50; i++) {
                int64_t rel = ap[t].bases[i] - start;
                ck_assert(rel >= 0 && rel < 800 && rel % 2 == 0 && !seen[rel]);
                seen[rel] = true;
            }
        }
        ck_assert_int_eq(partition_log_end_offset(pl), start + 800);
        ck_assert_int_eq(partition_log_durable_offset(pl), start + 800);
        if (fl) {
            log_flusher_remove(fl, pl);
            log_flusher_stop(fl);
        }
        partition_log_close(pl, true);
    }
}
END_TEST

START_TEST(internal_topic_records_round_trip)
{
    log_config_t cfg = small_config();
    partition_log_t *pl = open_log(&cfg);
    log_record_t recs[] = {{"group", 5, "offset=42", 9}, {"tomb", 4, NULL, 0}};
    int64_t base;
    log_read_t r;
    batch_header_t h;
    ck_assert_int_eq(partition_log_append_records(pl, recs, 2, 1234, 3, &base), 0);
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(partition_log_read(pl, 0, 1 << 20, &r), 0);
    ck_assert_int_eq(batch_validate(r.data, r.length_bytes, &h), 0);
    ck_assert_int_eq(h.record_count, 2);
    ck_assert_int_eq(h.max_timestamp, 1234);
    ck_assert_int_eq(h.partition_leader_epoch, 3);
    ck_assert(memmem(r.data, r.length_bytes, "offset=42", 9) != NULL);
    log_read_release(&r);
    partition_log_close(pl, true);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("append_read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, append_assigns_consecutive_offsets_and_reads_back);
    tcase_add_test(tc, append_stamps_base_offset_and_leader_epoch_in_place);
    tcase_add_test(tc, append_with_a_corrupt_batch_writes_nothing);
    tcase_add_test(tc, append_larger_than_a_segment_is_too_large);
    tcase_add_test(tc, read_inside_a_batch_returns_the_whole_batch);
    tcase_add_test(tc, read_fills_max_bytes_with_whole_batches_but_returns_at_least_one);
    tcase_add_test(tc, read_at_the_end_is_empty_and_beyond_is_out_of_range);
    tcase_add_test(tc, internal_topic_records_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("segments");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, segments_roll_at_segment_bytes_and_reads_cross_them);
    tcase_add_test(tc, segment_ms_rolls_an_old_segment);
    tcase_add_test(tc, every_offset_is_found_through_the_offset_index);
    tcase_add_test(tc, timestamp_lookup_finds_the_first_batch_at_or_after);
    tcase_add_test(tc, retention_by_time_deletes_old_segments_but_never_the_active_one);
    tcase_add_test(tc, retention_by_size_keeps_at_most_retention_bytes);
    tcase_add_test(tc, delete_records_moves_the_log_start_and_survives_reopen);
    tcase_add_test(tc, a_held_read_survives_the_deletion_of_its_segment);
    suite_add_tcase(s, tc);

    tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_torn_last_batch_is_cut_at_every_byte_position);
    tcase_add_test(tc, a_flipped_byte_cuts_the_log_at_that_batch);
    tcase_add_test(tc, corruption_in_an_older_segment_drops_the_later_ones);
    tcase_add_test(tc, an_unclean_close_loses_nothing_written);
    tcase_add_test(tc, lost_index_files_are_rebuilt);
    tcase_add_test(tc, unknown_files_are_ignored_with_a_warning);
    suite_add_tcase(s, tc);

    tc = tcase_create("dirs_config_flush");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_second_open_is_refused_naming_the_holder);
    tcase_add_test(tc, log_dirs_are_locked_and_list_their_partitions);
    tcase_add_test(tc, config_accepts_kafka_names_and_rejects_bad_values);
    tcase_add_test(tc, flush_interval_messages_syncs_inline);
    tcase_add_test(tc, the_flusher_thread_makes_on_ack_appends_durable);
    tcase_add_test(tc, sync_soon_has_the_flusher_sync);
    tcase_add_test(tc, concurrent_durable_appends_get_distinct_offsets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(log_suite());
}
