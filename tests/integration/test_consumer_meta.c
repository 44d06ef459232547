/*
 * Integration tests of the group leader's view of topic metadata
 * (lib/client/group.c) against samsa's embedded broker: a leader that did
 * not know a subscribed topic's partitions when it assigned makes the
 * group rebalance once metadata names them, and so does a topic that
 * grows; in both cases every message produced is consumed. And a commit
 * made in the rebalance callback, as partitions are revoked, commits them
 * before they go. A static member (group.instance.id) that closes and comes
 * back takes its partitions again without a rebalance, and one whose id a
 * newer consumer took hears FENCED_INSTANCE_ID.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kclient.h"
#include "samsa.h"

static test_broker_t tb;

static void setup(void) { test_broker_start(&tb, false, NULL); }
static void teardown(void) { test_broker_stop(&tb, true); }

static samsa_admin_t *admin(void)
{
    const char *key = "bootstrap.servers";
    char err[256];
    samsa_admin_t *a = samsa_admin_new_kv(&key, &tb.bootstrap, 1, err, sizeof(err));
    ck_assert_msg(a != NULL, "%s", err);
    return a;
}

static void create_topic(const char *topic, int32_t partitions)
{
    samsa_admin_t *a = admin();
    samsa_new_topic_t t = {.name = topic, .partitions = partitions, .replication_factor = 1};
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_create_topics(a, &t, 1, 0, 30000, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    samsa_topic_results_free(r);
    samsa_admin_free(a);
}

/* Sends one message "v<i>" to each partition in [first, last]. */
static void produce(const char *topic, int32_t first, int32_t last)
{
    const char *key = "bootstrap.servers";
    char err[256];
    samsa_producer_t *p = samsa_producer_new_kv(&key, &tb.bootstrap, 1, NULL, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    for (int32_t i = first; i <= last; i++) {
        char v[32];
        snprintf(v, sizeof(v), "v%d", (int)i);
        ck_assert_int_eq(
            samsa_producer_send(p, topic, i, NULL, 0, v, strlen(v), NULL, 0, 0, 0, NULL), 0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, 30000), 0);
    samsa_producer_free(p);
}

/* A consumer of group; with cb, auto commit off; with instance, static. */
static samsa_consumer_t *consumer_static(const char *group, const samsa_consumer_callbacks_t *cb,
                                         const char *instance)
{
    const char *keys[] = {"bootstrap.servers", "group.id", "auto.offset.reset",
                          "heartbeat.interval.ms", "metadata.max.age.ms", "enable.auto.commit",
                          "session.timeout.ms", "group.instance.id"};
    const char *values[] = {tb.bootstrap, group, "earliest", "100", "300", cb ? "false" : "true",
                            "30000", instance};
    char err[256];
    samsa_consumer_t *c =
        samsa_consumer_new_kv(keys, values, instance ? 8 : 7, cb, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static samsa_consumer_t *consumer_with(const char *group, const samsa_consumer_callbacks_t *cb)
{
    return consumer_static(group, cb, NULL);
}

static samsa_consumer_t *consumer(const char *group) { return consumer_with(group, NULL); }

/* Polls until one message from each of partitions [first, last] came
 * (each partition holds one), failing after 60 s. */
static void expect_partitions(samsa_consumer_t *c, int32_t first, int32_t last)
{
    int seen[64] = {0}, missing = (int)(last - first + 1);
    for (int polls = 0; missing > 0; polls++) {
        ck_assert_msg(polls < 600, "%d partition(s) never delivered", missing);
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (!m)
            continue;
        ck_assert_msg(m->err == 0, "%s", m->errstr);
        ck_assert_int_ge(m->partition, first);
        ck_assert_int_le(m->partition, last);
        ck_assert_int_eq(seen[m->partition]++, 0);
        missing--;
        samsa_message_free(m);
    }
}

START_TEST(committed_before_subscribe)
{
    create_topic("meta-a", 4);
    produce("meta-a", 0, 3);
    samsa_consumer_t *c = consumer("meta-g1");
    /* committed() makes the topic known to the client before metadata
     * names its partitions */
    samsa_topic_partition_t tp = {.topic = "meta-a", .partition = 0};
    samsa_partition_list_t list = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_committed(c, &list, 30000), 0);
    ck_assert_int_eq(tp.offset, -1);
    const char *topic = "meta-a";
    ck_assert_int_eq(samsa_consumer_subscribe(c, &topic, 1), 0);
    expect_partitions(c, 0, 3);
    samsa_consumer_close(c);
    samsa_consumer_free(c);
}
END_TEST

START_TEST(added_partitions_are_assigned)
{
    create_topic("meta-b", 2);
    produce("meta-b", 0, 1);
    samsa_consumer_t *c = consumer("meta-g2");
    const char *topic = "meta-b";
    ck_assert_int_eq(samsa_consumer_subscribe(c, &topic, 1), 0);
    expect_partitions(c, 0, 1);

    samsa_admin_t *a = admin();
    samsa_new_partitions_t grow = {"meta-b", 4};
    samsa_topic_result_t *r = NULL;
    ck_assert_int_eq(samsa_admin_create_partitions(a, &grow, 1, 0, 30000, &r), 0);
    ck_assert_int_eq(r[0].err, 0);
    samsa_topic_results_free(r);
    samsa_admin_free(a);
    produce("meta-b", 2, 3);
    expect_partitions(c, 2, 3);
    samsa_consumer_close(c);
    samsa_consumer_free(c);
}
END_TEST

typedef struct revokes {
    int calls;
    samsa_err_t commit_err;
    size_t partitions;
} revokes_t;

static void commit_on_revoke(samsa_consumer_t *c, int assigned, const samsa_partition_list_t *l,
                             void *opaque)
{
    revokes_t *r = opaque;
    if (assigned || !l->count)
        return;
    r->calls++;
    r->partitions = l->count;
    r->commit_err = samsa_consumer_commit(c, NULL, 0);
}

START_TEST(commit_in_revoke_callback_commits_before_partitions_go)
{
    create_topic("meta-c", 2);
    produce("meta-c", 0, 1);
    revokes_t rv = {0, -1, 0};
    samsa_consumer_callbacks_t cb = {commit_on_revoke, NULL, &rv};
    samsa_consumer_t *c1 = consumer_with("meta-g3", &cb);
    const char *topic = "meta-c";
    ck_assert_int_eq(samsa_consumer_subscribe(c1, &topic, 1), 0);
    expect_partitions(c1, 0, 1);

    samsa_consumer_t *c2 = consumer("meta-g3");
    ck_assert_int_eq(samsa_consumer_subscribe(c2, &topic, 1), 0);
    for (int polls = 0; rv.calls == 0; polls++) {
        ck_assert_msg(polls < 600, "no revocation");
        samsa_message_free(samsa_consumer_poll(c1, 100));
        samsa_message_free(samsa_consumer_poll(c2, 0));
    }
    ck_assert_int_eq(rv.commit_err, 0);
    ck_assert_int_eq(rv.partitions, 2);

    /* c1 read offset 0 of both partitions: both commits are at 1 */
    samsa_topic_partition_t tps[2] = {{.topic = "meta-c", .partition = 0},
                                      {.topic = "meta-c", .partition = 1}};
    samsa_partition_list_t list = {tps, 2};
    ck_assert_int_eq(samsa_consumer_committed(c2, &list, 30000), 0);
    ck_assert_int_eq(tps[0].offset, 1);
    ck_assert_int_eq(tps[1].offset, 1);
    samsa_consumer_close(c2);
    samsa_consumer_free(c2);
    samsa_consumer_close(c1);
    samsa_consumer_free(c1);
}
END_TEST

typedef struct moves {
    int assigned, revoked; /* partitions */
} moves_t;

static void count_moves(samsa_consumer_t *c, int assigned, const samsa_partition_list_t *l,
                        void *opaque)
{
    moves_t *m = opaque;
    if (assigned)
        m->assigned += (int)l->count;
    else
        m->revoked += (int)l->count;
}

/* Polls each consumer with moves ms[i] until every ms[i].assigned reaches
 * want[i] (60 s at most). */
static void await_assigned(samsa_consumer_t **cs, moves_t **ms, const int *want, int n)
{
    for (int polls = 0;; polls++) {
        bool done = true;
        for (int i = 0; i < n; i++) {
            samsa_message_t *m = samsa_consumer_poll(cs[i], 20);
            ck_assert_msg(!m || !m->err, "%s", m ? m->errstr : "");
            samsa_message_free(m);
            done = done && ms[i]->assigned >= want[i];
        }
        if (done)
            return;
        ck_assert_msg(polls < 1500, "no assignment");
    }
}

START_TEST(static_member_returns_without_rebalance)
{
    create_topic("meta-d", 2);
    const char *topic = "meta-d";
    moves_t ma = {0, 0}, mb = {0, 0}, ma2 = {0, 0};
    samsa_consumer_callbacks_t cba = {count_moves, NULL, &ma}, cbb = {count_moves, NULL, &mb},
                               cba2 = {count_moves, NULL, &ma2};
    samsa_consumer_t *a = consumer_static("meta-g4", &cba, "member-a");
    ck_assert_int_eq(samsa_consumer_subscribe(a, &topic, 1), 0);
    samsa_consumer_t *cs1[] = {a};
    moves_t *ms1[] = {&ma};
    int want1[] = {2};
    await_assigned(cs1, ms1, want1, 1);
    samsa_consumer_t *b = consumer_with("meta-g4", &cbb);
    ck_assert_int_eq(samsa_consumer_subscribe(b, &topic, 1), 0);
    samsa_consumer_t *cs2[] = {a, b};
    moves_t *ms2[] = {&ma, &mb};
    int want2[] = {3, 1}; /* a: 2, then 1 of them again; b: 1 */
    await_assigned(cs2, ms2, want2, 2);

    /* a closes without leaving; its successor takes its partition back */
    samsa_consumer_close(a);
    samsa_consumer_free(a);
    int b_revoked = mb.revoked, b_assigned = mb.assigned;
    samsa_consumer_t *a2 = consumer_static("meta-g4", &cba2, "member-a");
    ck_assert_int_eq(samsa_consumer_subscribe(a2, &topic, 1), 0);
    samsa_consumer_t *cs3[] = {a2, b};
    moves_t *ms3[] = {&ma2, &mb};
    int want3[] = {1, 0};
    await_assigned(cs3, ms3, want3, 2);
    for (int i = 0; i < 20; i++) /* b keeps polling a while: no rebalance reaches it */
        samsa_message_free(samsa_consumer_poll(b, 50));
    ck_assert_int_eq(ma2.assigned, 1);
    ck_assert_int_eq(mb.revoked, b_revoked);
    ck_assert_int_eq(mb.assigned, b_assigned);

    /* a third consumer with the same id fences a2 */
    samsa_consumer_t *a3 = consumer_static("meta-g4", NULL, "member-a");
    ck_assert_int_eq(samsa_consumer_subscribe(a3, &topic, 1), 0);
    samsa_err_t fenced = SAMSA_ERR_NONE;
    for (int polls = 0; fenced == SAMSA_ERR_NONE; polls++) {
        ck_assert_msg(polls < 1500, "a2 was not fenced");
        samsa_message_free(samsa_consumer_poll(a3, 10));
        samsa_message_t *m = samsa_consumer_poll(a2, 10);
        if (m && m->err)
            fenced = m->err;
        samsa_message_free(m);
    }
    ck_assert_int_eq(fenced, SAMSA_ERR_FENCED_INSTANCE_ID);
    samsa_consumer_t *all[] = {a2, a3, b};
    for (int i = 0; i < 3; i++) {
        samsa_consumer_close(all[i]);
        samsa_consumer_free(all[i]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consumer_meta");
    TCase *tc = tcase_create("leader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, committed_before_subscribe);
    tcase_add_test(tc, added_partitions_are_assigned);
    tcase_add_test(tc, commit_in_revoke_callback_commits_before_partitions_go);
    tcase_add_test(tc, static_member_returns_without_rebalance);
    suite_add_tcase(s, tc);
    return kclient_run(s);
}
