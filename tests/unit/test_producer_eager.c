/*
 * Unit tests for how the producer builds batches early and serves their
 * reports (lib/client/producer_batch.c, producer_io.c, producer.c): a
 * partition counts the estimated size of its queued records and is "full"
 * only past batch.size, so early batches are as large as late ones; the
 * oldest unsent batch is found past those in flight; a batch lists its
 * messages in order for the report; and, end to end against samsa's own
 * broker, keyed messages over eight partitions with small batches are each
 * reported once, in order, with consecutive offsets per partition and
 * their own key and value.
 */
#include "client/config.h"
#include "client/producer_int.h"
#include "proto/batch.h"
#include "samsa.h"

#include <check.h>

#include "unit.h"
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A message of the given value as produce() leaves it (lent: the value
 * points at a static string), queued on pp. */
static pmsg_t *enqueue(ppart_t *pp, const char *value, int64_t at_ms)
{
    pmsg_t *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    *m = (pmsg_t){.topic = "t",
                  .partition = 0,
                  .value = (const uint8_t *)value,
                  .value_len = strlen(value),
                  .timestamp_ms = 1700000000000LL + at_ms,
                  .enqueued_ms = at_ms,
                  .bytes = sizeof(*m) + strlen(value),
                  .offset = -1};
    ppart_enqueue(pp, m);
    return m;
}

/* Frees pp's queue and batches with their messages. */
static void drop_all(ppart_t *pp)
{
    pmsg_queue_t all = {0};
    pmsg_queue_concat(&all, &pp->queue);
    for (pbatch_t *b = pp->batches, *next; b; b = next) {
        next = b->next;
        pmsg_queue_concat(&all, &b->msgs);
        pbatch_free(b);
    }
    pp->batches = pp->batches_tail = NULL;
    for (pmsg_t *m = all.head, *next; m; m = next) {
        next = m->next;
        pmsg_free(m);
    }
}

/* linger.ms 10, batch.size 1000 */
static client_config_t small_batches(void)
{
    client_config_t c;
    client_config_init(&c);
    c.linger_ms = 10;
    c.batch_size_bytes = 1000;
    return c;
}

static char value200[200];

START_TEST(partition_is_full_only_past_a_batch_of_records)
{
    client_config_t cfg = small_batches();
    ppart_t pp = {0};
    memset(value200, 'x', sizeof(value200) - 1);
    ck_assert(!ppart_full(&pp, &cfg));
    /* Records of about 210 bytes, 61 of batch header: four fit in 1000. */
    for (int i = 0; i < 4; i++) {
        enqueue(&pp, value200, i);
        ck_assert(!ppart_full(&pp, &cfg));
    }
    enqueue(&pp, value200, 4);
    ck_assert(ppart_full(&pp, &cfg));
    pmsg_queue_t failed = {0};
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, -1, -1, &failed), 0);
    ck_assert_int_eq(pp.batches->record_count, 4); /* as full as batch.size allows */
    ck_assert_int_eq(pp.queue.count, 1);
    ck_assert(!ppart_full(&pp, &cfg));
    ck_assert_uint_gt(pp.queue_record_bytes, 200);
    ck_assert_uint_lt(pp.queue_record_bytes, 230);
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, -1, -1, &failed), 0);
    ck_assert_uint_eq(pp.queue_record_bytes, 0); /* the queue is empty */
    ck_assert_ptr_null(failed.head);
    drop_all(&pp);
}
END_TEST

START_TEST(batch_lists_its_messages_in_order_and_splits_keep_the_lists)
{
    client_config_t cfg = small_batches();
    ppart_t pp = {0};
    pmsg_t *sent[6];
    for (int i = 0; i < 6; i++)
        sent[i] = enqueue(&pp, "v", i);
    pmsg_queue_t failed = {0};
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 5, 0, &failed), 0);
    pbatch_t *b = pp.batches;
    ck_assert_int_eq(b->record_count, 6);
    ck_assert_ptr_nonnull(b->msgv);
    for (int i = 0; i < 6; i++)
        ck_assert_ptr_eq(b->msgv[i], sent[i]);
    ck_assert_int_eq(ppart_split_batch(&pp, b, &cfg, 5, 0, 100, &failed), 0);
    int i = 0;
    for (pbatch_t *nb = pp.batches; nb; nb = nb->next) {
        ck_assert_ptr_nonnull(nb->msgv);
        for (int j = 0; j < nb->record_count; j++)
            ck_assert_ptr_eq(nb->msgv[j], sent[i++]);
    }
    ck_assert_int_eq(i, 6);
    drop_all(&pp);
}
END_TEST

START_TEST(first_unsent_batch_is_found_past_those_in_flight)
{
    client_config_t cfg = small_batches();
    ppart_t pp = {0};
    pmsg_queue_t failed = {0};
    ck_assert_ptr_null(ppart_first_unsent(&pp));
    for (int i = 0; i < 3; i++) {
        enqueue(&pp, "m", i);
        ck_assert_int_eq(ppart_build_batch(&pp, &cfg, -1, -1, &failed), 0);
    }
    pbatch_t *b0 = pp.batches, *b1 = b0->next, *b2 = b1->next;
    ck_assert_ptr_eq(ppart_first_unsent(&pp), b0);
    b0->in_flight = true;
    ck_assert_ptr_eq(ppart_first_unsent(&pp), b1);
    b1->in_flight = true;
    b2->in_flight = true;
    ck_assert_ptr_null(ppart_first_unsent(&pp));
    b0->in_flight = false; /* a retry of the oldest comes first again */
    ck_assert_ptr_eq(ppart_first_unsent(&pp), b0);
    b0->in_flight = b1->in_flight = b2->in_flight = false;
    drop_all(&pp);
}
END_TEST

START_TEST(built_bytes_follow_builds_splits_and_removals)
{
    client_config_t cfg = small_batches();
    ppart_t pp = {0};
    size_t built = 0;
    pp.built_bytes = &built;
    pmsg_queue_t failed = {0};
    for (int i = 0; i < 8; i++)
        enqueue(&pp, "v", i);
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 5, 0, &failed), 0);
    ck_assert_uint_eq(built, pp.batches->data.len);
    enqueue(&pp, "w", 9);
    ck_assert_int_eq(ppart_build_batch(&pp, &cfg, 5, 0, &failed), 0);
    ck_assert_uint_eq(built, pp.batches->data.len + pp.batches->next->data.len);
    ck_assert_int_eq(ppart_split_batch(&pp, pp.batches, &cfg, 5, 0, 100, &failed), 0);
    size_t sum = 0;
    for (pbatch_t *b = pp.batches; b; b = b->next)
        sum += b->data.len;
    ck_assert_uint_eq(built, sum);
    while (pp.batches) {
        pbatch_t *b = pp.batches;
        ppart_remove_batch(&pp, b);
        pmsg_queue_concat(&failed, &b->msgs);
        pbatch_free(b);
    }
    ck_assert_uint_eq(built, 0);
    for (pmsg_t *m = failed.head, *next; m; m = next) {
        next = m->next;
        pmsg_free(m);
    }
}
END_TEST

/* ---- end to end -------------------------------------------------------- */

#define E2E_PARTITIONS 8
#define E2E_MESSAGES 20000

typedef struct {
    long reports;
    long failed;
    long wrong_payload;
    long out_of_order;
    int64_t next_offset[E2E_PARTITIONS];
    long last_index[E2E_PARTITIONS];
} e2e_t;

static void e2e_dr(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    e2e_t *e = opaque;
    e->reports++;
    if (r->err || r->partition < 0 || r->partition >= E2E_PARTITIONS) {
        e->failed++;
        return;
    }
    long index = (long)(intptr_t)r->msg_opaque;
    char key[32], value[64];
    snprintf(key, sizeof(key), "key-%ld", index % 997);
    snprintf(value, sizeof(value), "value-%08ld-%s", index, "payload");
    if (r->key_len != strlen(key) || memcmp(r->key, key, r->key_len) ||
        r->value_len != strlen(value) || memcmp(r->value, value, r->value_len))
        e->wrong_payload++;
    /* Per partition, reports come in produce order with consecutive offsets. */
    if (r->offset != e->next_offset[r->partition] || index <= e->last_index[r->partition])
        e->out_of_order++;
    e->next_offset[r->partition] = r->offset + 1;
    e->last_index[r->partition] = index;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

START_TEST(keyed_messages_over_eight_partitions_are_reported_in_order)
{
    char dir[] = "/tmp/samsa-test-eager-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char err[256];
    samsa_conf_t *bc = samsa_conf_new();
    ck_assert_int_eq(samsa_conf_set(bc, "log.dirs", dir, err, sizeof(err)), 0);
    ck_assert_int_eq(samsa_conf_set(bc, "listeners", "PLAINTEXT://127.0.0.1:0", err, sizeof(err)), 0);
    ck_assert_int_eq(samsa_conf_set(bc, "num.partitions", "8", err, sizeof(err)), 0);
    samsa_broker_t *broker = samsa_broker_new(bc, err, sizeof(err));
    ck_assert_msg(broker != NULL, "%s", err);
    ck_assert_int_eq(samsa_broker_start(broker), 0);

    e2e_t e;
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < E2E_PARTITIONS; i++)
        e.last_index[i] = -1;
    const char *keys[] = {"bootstrap.servers", "batch.size", "linger.ms", "acks"};
    const char *values[] = {samsa_broker_bootstrap(broker), "2000", "50", "all"};
    samsa_producer_callbacks_t cb = {e2e_dr, NULL, &e};
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, 4, &cb, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    for (long i = 0; i < E2E_MESSAGES; i++) {
        char key[32], value[64];
        snprintf(key, sizeof(key), "key-%ld", i % 997);
        snprintf(value, sizeof(value), "value-%08ld-%s", i, "payload");
        samsa_err_t rc;
        while ((rc = samsa_producer_send(p, "eager", -1, key, strlen(key), value, strlen(value),
                                         NULL, 0, 0, 0, (void *)(intptr_t)i)) ==
               SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 10);
        ck_assert_int_eq(rc, 0);
        if (i % 500 == 0)
            samsa_producer_poll(p, 0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, 60000), 0);
    samsa_producer_free(p);
    samsa_broker_free(broker);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

    ck_assert_int_eq(e.reports, E2E_MESSAGES);
    ck_assert_int_eq(e.failed, 0);
    ck_assert_int_eq(e.wrong_payload, 0);
    ck_assert_int_eq(e.out_of_order, 0);
    int64_t total = 0;
    for (int i = 0; i < E2E_PARTITIONS; i++) {
        ck_assert_int_gt(e.next_offset[i], 0); /* every partition got some */
        total += e.next_offset[i];
    }
    ck_assert_int_eq(total, E2E_MESSAGES);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("producer_eager");
    TCase *tc = tcase_create("batches");
    tcase_add_test(tc, partition_is_full_only_past_a_batch_of_records);
    tcase_add_test(tc, batch_lists_its_messages_in_order_and_splits_keep_the_lists);
    tcase_add_test(tc, first_unsent_batch_is_found_past_those_in_flight);
    tcase_add_test(tc, built_bytes_follow_builds_splits_and_removals);
    suite_add_tcase(s, tc);
    tc = tcase_create("end_to_end");
    tcase_add_test(tc, keyed_messages_over_eight_partitions_are_reported_in_order);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
