/*
 * Unit tests of the consumer group assignors and the consumer protocol
 * bytes (lib/client/assignor.c): range and roundrobin hand out exactly
 * what Java's RangeAssignor and RoundRobinAssignor do for the examples in
 * their documentation; cooperative-sticky keeps owned partitions, balances
 * and withholds moving partitions until they are revoked; subscriptions
 * and assignments encode to the schema's bytes and decode back.
 */
#include "client/assignor.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const char *t01[] = {"t0", "t1"};

/* "t0p0 t0p1 ..." of a member's assignment. */
static const char *describe(const assignor_member_t *m)
{
    static char out[512];
    out[0] = '\0';
    for (int i = 0; i < m->assigned_count; i++) {
        char one[64];
        snprintf(one, sizeof(one), "%s%sp%d", i ? " " : "", m->assigned[i].topic,
                 (int)m->assigned[i].partition);
        strcat(out, one);
    }
    return out;
}

START_TEST(range_matches_javas_example)
{
    assign_topic_t topics[] = {{"t1", 3}, {"t0", 3}};
    assignor_member_t m[2] = {{.member_id = "C1", .topics = t01, .topic_count = 2},
                              {.member_id = "C0", .topics = t01, .topic_count = 2}};
    ck_assert_int_eq(assignor_run("range", m, 2, topics, 2), 0);
    ck_assert_str_eq(describe(&m[1]), "t0p0 t0p1 t1p0 t1p1");
    ck_assert_str_eq(describe(&m[0]), "t0p2 t1p2");
    assignor_members_free(m, 2);
}
END_TEST

START_TEST(range_gives_the_first_members_the_extra_partitions)
{
    assign_topic_t topics[] = {{"t0", 7}};
    assignor_member_t m[3] = {{.member_id = "a", .topics = t01, .topic_count = 1},
                              {.member_id = "b", .topics = t01, .topic_count = 1},
                              {.member_id = "c", .topics = t01, .topic_count = 1}};
    ck_assert_int_eq(assignor_run("range", m, 3, topics, 1), 0);
    ck_assert_str_eq(describe(&m[0]), "t0p0 t0p1 t0p2");
    ck_assert_str_eq(describe(&m[1]), "t0p3 t0p4");
    ck_assert_str_eq(describe(&m[2]), "t0p5 t0p6");
    assignor_members_free(m, 3);
}
END_TEST

START_TEST(roundrobin_matches_javas_examples)
{
    assign_topic_t topics[] = {{"t0", 3}, {"t1", 3}};
    assignor_member_t m[2] = {{.member_id = "C0", .topics = t01, .topic_count = 2},
                              {.member_id = "C1", .topics = t01, .topic_count = 2}};
    ck_assert_int_eq(assignor_run("roundrobin", m, 2, topics, 2), 0);
    ck_assert_str_eq(describe(&m[0]), "t0p0 t0p2 t1p1");
    ck_assert_str_eq(describe(&m[1]), "t0p1 t1p0 t1p2");
    assignor_members_free(m, 2);

    /* different subscriptions: C0 t0; C1 t0, t1; C2 t0, t1, t2 */
    static const char *s0[] = {"t0"}, *s1[] = {"t0", "t1"}, *s2[] = {"t0", "t1", "t2"};
    assign_topic_t topics3[] = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
    assignor_member_t h[3] = {{.member_id = "C0", .topics = s0, .topic_count = 1},
                              {.member_id = "C1", .topics = s1, .topic_count = 2},
                              {.member_id = "C2", .topics = s2, .topic_count = 3}};
    ck_assert_int_eq(assignor_run("roundrobin", h, 3, topics3, 3), 0);
    ck_assert_str_eq(describe(&h[0]), "t0p0");
    ck_assert_str_eq(describe(&h[1]), "t1p0");
    ck_assert_str_eq(describe(&h[2]), "t1p1 t2p0 t2p1 t2p2");
    assignor_members_free(h, 3);
}
END_TEST

START_TEST(unknown_assignor_is_invalid)
{
    assignor_member_t m[1] = {{.member_id = "a", .topics = t01, .topic_count = 1}};
    assign_topic_t topics[] = {{"t0", 1}};
    ck_assert_int_eq(assignor_run("sticky-ish", m, 1, topics, 1), SAMSA_ERR__INVALID_ARG);
    ck_assert(assignor_known("cooperative-sticky"));
    ck_assert(assignor_cooperative("cooperative-sticky"));
    ck_assert(!assignor_cooperative("range"));
}
END_TEST

/* Copies a member's assignment into owned storage for the next round. */
static void take_owned(assignor_member_t *m, assign_tp_t *store)
{
    if (m->assigned_count)
        memcpy(store, m->assigned, sizeof(*store) * (size_t)m->assigned_count);
    m->owned = store;
    m->owned_count = m->assigned_count;
}

START_TEST(cooperative_sticky_keeps_balances_and_revokes_in_two_phases)
{
    assign_topic_t topics[] = {{"t0", 6}};
    assignor_member_t m[4] = {{.member_id = "a", .topics = t01, .topic_count = 1, .generation = 1},
                              {.member_id = "b", .topics = t01, .topic_count = 1, .generation = 1},
                              {.member_id = "c", .topics = t01, .topic_count = 1, .generation = 1},
                              {.member_id = "d", .topics = t01, .topic_count = 1, .generation = 1}};
    ck_assert_int_eq(assignor_run("cooperative-sticky", m, 3, topics, 1), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(m[i].assigned_count, 2);
    assign_tp_t owned[4][8];
    for (int i = 0; i < 3; i++)
        take_owned(&m[i], owned[i]);
    assignor_members_free(m, 3);

    /* d joins: nobody loses more than it must, and nothing moves in this
     * round: the partitions d will get are withheld */
    ck_assert_int_eq(assignor_run("cooperative-sticky", m, 4, topics, 1), 0);
    int total = 0, kept = 0;
    for (int i = 0; i < 4; i++) {
        total += m[i].assigned_count;
        for (int k = 0; k < m[i].assigned_count; k++)
            for (int o = 0; o < m[i].owned_count; o++)
                kept += m[i].assigned[k].partition == m[i].owned[o].partition;
    }
    ck_assert_int_eq(m[3].assigned_count, 0);
    ck_assert_int_eq(total, 5); /* quotas 2, 2, 1, 1: c gives one up, for d */
    ck_assert_int_eq(kept, 5);
    for (int i = 0; i < 4; i++)
        take_owned(&m[i], owned[i]);
    assignor_members_free(m, 4);

    /* second phase: the revoked partitions are free and go to d */
    ck_assert_int_eq(assignor_run("cooperative-sticky", m, 4, topics, 1), 0);
    int counts[3] = {0};
    bool seen[6] = {0};
    for (int i = 0; i < 4; i++) {
        ck_assert(m[i].assigned_count == 1 || m[i].assigned_count == 2);
        counts[m[i].assigned_count]++;
        for (int k = 0; k < m[i].assigned_count; k++) {
            ck_assert(!seen[m[i].assigned[k].partition]);
            seen[m[i].assigned[k].partition] = true;
        }
        for (int o = 0; o < m[i].owned_count; o++) { /* sticky: owned partitions stay */
            bool still = false;
            for (int k = 0; k < m[i].assigned_count; k++)
                still = still || m[i].assigned[k].partition == m[i].owned[o].partition;
            ck_assert(still);
        }
    }
    ck_assert_int_eq(counts[2], 2);
    ck_assert_int_eq(counts[1], 2);
    ck_assert_int_eq(m[3].assigned_count, 1);
    assignor_members_free(m, 4);
}
END_TEST

START_TEST(cooperative_sticky_drops_claims_of_stale_generations)
{
    assign_topic_t topics[] = {{"t0", 2}};
    assign_tp_t a_owned[] = {{"t0", 0}, {"t0", 1}};
    assign_tp_t b_owned[] = {{"t0", 1}};
    assignor_member_t m[2] = {
        {.member_id = "a", .topics = t01, .topic_count = 1, .owned = a_owned, .owned_count = 2,
         .generation = 3},
        {.member_id = "b", .topics = t01, .topic_count = 1, .owned = b_owned, .owned_count = 1,
         .generation = 4}};
    ck_assert_int_eq(assignor_run("cooperative-sticky", m, 2, topics, 1), 0);
    ck_assert_str_eq(describe(&m[0]), "t0p0");
    ck_assert_str_eq(describe(&m[1]), "t0p1");
    assignor_members_free(m, 2);
}
END_TEST

START_TEST(subscription_bytes_follow_the_schema)
{
    const char *topics[] = {"t"};
    assign_tp_t owned[] = {{"t", 0}, {"t", 2}};
    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(cproto_subscription_encode(&b, 0, topics, 1, NULL, 0, -1), 0);
    static const uint8_t v0[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff};
    ck_assert_uint_eq(b.len, sizeof(v0));
    ck_assert(!memcmp(b.data, v0, sizeof(v0)));
    buf_reset(&b);
    ck_assert_int_eq(cproto_subscription_encode(&b, 3, topics, 1, owned, 2, 7), 0);
    static const uint8_t v3[] = {0, 3, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff,
                                 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0,
                                 0, 0, 0, 2, 0, 0, 0, 7, 0xff, 0xff};
    ck_assert_uint_eq(b.len, sizeof(v3));
    ck_assert(!memcmp(b.data, v3, sizeof(v3)));
    cproto_subscription_t s;
    ck_assert_int_eq(cproto_subscription_decode(b.data, b.len, &s), 0);
    ck_assert_int_eq(s.version, 3);
    ck_assert_int_eq(s.topic_count, 1);
    ck_assert_str_eq(s.topics[0], "t");
    ck_assert_int_eq(s.owned_count, 2);
    ck_assert_str_eq(s.owned[1].topic, "t");
    ck_assert_int_eq(s.owned[1].partition, 2);
    ck_assert_int_eq(s.generation, 7);
    cproto_subscription_free(&s);
    for (size_t cut = 0; cut < b.len - 2; cut++) /* the rack may be missing, nothing else */
        ck_assert_int_eq(cproto_subscription_decode(b.data, cut, &s), SAMSA_ERR__BAD_MSG);
    buf_free(&b);
}
END_TEST

START_TEST(assignment_round_trips)
{
    assign_tp_t tps[] = {{"a", 1}, {"a", 3}, {"b", 0}};
    buf_t b;
    buf_init(&b, 0);
    ck_assert_int_eq(cproto_assignment_encode(&b, tps, 3), 0);
    static const uint8_t want[] = {0, 3, 0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3,
                                   0, 1, 'b', 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    ck_assert_uint_eq(b.len, sizeof(want));
    ck_assert(!memcmp(b.data, want, sizeof(want)));
    cproto_subscription_t a;
    ck_assert_int_eq(cproto_assignment_decode(b.data, b.len, &a), 0);
    ck_assert_int_eq(a.owned_count, 3);
    ck_assert_str_eq(a.owned[0].topic, "a");
    ck_assert_int_eq(a.owned[1].partition, 3);
    ck_assert_str_eq(a.owned[2].topic, "b");
    cproto_subscription_free(&a);
    ck_assert_int_eq(cproto_assignment_decode(NULL, 0, &a), 0);
    ck_assert_int_eq(a.owned_count, 0);
    cproto_subscription_free(&a);
    ck_assert_int_eq(cproto_assignment_decode(b.data, 7, &a), SAMSA_ERR__BAD_MSG);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("consumer_assignor");
    TCase *tc = tcase_create("assignors");
    tcase_add_test(tc, range_matches_javas_example);
    tcase_add_test(tc, range_gives_the_first_members_the_extra_partitions);
    tcase_add_test(tc, roundrobin_matches_javas_examples);
    tcase_add_test(tc, unknown_assignor_is_invalid);
    tcase_add_test(tc, cooperative_sticky_keeps_balances_and_revokes_in_two_phases);
    tcase_add_test(tc, cooperative_sticky_drops_claims_of_stale_generations);
    tcase_add_test(tc, subscription_bytes_follow_the_schema);
    tcase_add_test(tc, assignment_round_trips);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
