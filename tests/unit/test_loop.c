/*
 * Unit tests for lib/net/loop.c: descriptors, timers, posted work, stopping.
 */
#include "net/loop.h"

#include <check.h>

#include "unit.h"
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct record {
    int order[16];
    int count;
} record_t;

static void note(record_t *r, int what) { r->order[r->count++] = what; }

static record_t *timer_record;
static void on_timer(loop_t *loop, void *opaque) { note(timer_record, (int)(intptr_t)opaque); }

START_TEST(timers_fire_in_due_order_and_ties_in_insertion_order)
{
    loop_t *loop = loop_new();
    record_t r = {0};
    timer_record = &r;
    loop_timer_add(loop, 30, on_timer, (void *)3);
    loop_timer_add(loop, 10, on_timer, (void *)1);
    loop_timer_add(loop, 10, on_timer, (void *)2);
    loop_timer_t *cancelled = loop_timer_add(loop, 20, on_timer, (void *)99);
    loop_timer_add(loop, 0, on_timer, (void *)0);
    loop_timer_cancel(loop, cancelled);
    while (r.count < 4)
        loop_run_once(loop, -1);
    ck_assert_int_eq(r.count, 4);
    ck_assert_int_eq(r.order[0], 0);
    ck_assert_int_eq(r.order[1], 1);
    ck_assert_int_eq(r.order[2], 2);
    ck_assert_int_eq(r.order[3], 3);
    loop_free(loop);
}
END_TEST

typedef struct pipe_ctx {
    int reads;
    char last;
} pipe_ctx_t;

static void on_readable(loop_t *loop, int fd, int events, void *opaque)
{
    pipe_ctx_t *ctx = opaque;
    ck_assert(events & LOOP_READ);
    char c;
    if (read(fd, &c, 1) == 1) {
        ctx->reads++;
        ctx->last = c;
    } else {
        loop_del_fd(loop, fd); /* closed: stop watching from inside the callback */
    }
}

START_TEST(readable_descriptor_calls_back_and_can_remove_itself)
{
    loop_t *loop = loop_new();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pipe_ctx_t ctx = {0};
    ck_assert_int_eq(loop_add_fd(loop, p[0], LOOP_READ, on_readable, &ctx), 0);
    ck_assert_int_eq(loop_run_once(loop, 0), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(loop_run_once(loop, 1000), 1);
    ck_assert_int_eq(ctx.reads, 1);
    ck_assert_int_eq(ctx.last, 'x');
    close(p[1]);
    ck_assert_int_eq(loop_run_once(loop, 1000), 1); /* EOF: removes itself */
    ck_assert_int_eq(loop_run_once(loop, 0), 0);
    close(p[0]);
    loop_free(loop);
}
END_TEST

static void on_writable(loop_t *loop, int fd, int events, void *opaque)
{
    int *hits = opaque;
    ck_assert(events & LOOP_WRITE);
    (*hits)++;
    loop_mod_fd(loop, fd, LOOP_READ);
}

START_TEST(write_interest_can_be_switched_off)
{
    loop_t *loop = loop_new();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    int hits = 0;
    ck_assert_int_eq(loop_add_fd(loop, p[1], LOOP_WRITE, on_writable, &hits), 0);
    loop_run_once(loop, 1000);
    loop_run_once(loop, 0);
    ck_assert_int_eq(hits, 1);
    ck_assert_int_eq(loop_add_fd(loop, p[1], LOOP_READ, on_writable, &hits), -1); /* once per fd */
    close(p[0]);
    close(p[1]);
    loop_free(loop);
}
END_TEST

typedef struct post_ctx {
    loop_t *loop;
    int done;
} post_ctx_t;

static void count_post(void *opaque)
{
    post_ctx_t *ctx = opaque;
    if (++ctx->done == 1000)
        loop_stop(ctx->loop);
}

static void *poster(void *opaque)
{
    post_ctx_t *ctx = opaque;
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(loop_post(ctx->loop, count_post, ctx), SAMSA_ERR_NONE);
    return NULL;
}

START_TEST(work_posted_from_other_threads_runs_on_the_loop)
{
    post_ctx_t ctx = {loop_new(), 0};
    pthread_t a, b;
    pthread_create(&a, NULL, poster, &ctx);
    pthread_create(&b, NULL, poster, &ctx);
    loop_run(ctx.loop); /* returns when the 1000th item stops it */
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    ck_assert_int_eq(ctx.done, 1000);
    loop_free(ctx.loop);
}
END_TEST

static void *stopper(void *opaque)
{
    usleep(20000);
    loop_stop(opaque);
    return NULL;
}

START_TEST(stop_from_another_thread_ends_run)
{
    loop_t *loop = loop_new();
    pthread_t t;
    pthread_create(&t, NULL, stopper, loop);
    loop_run(loop);
    pthread_join(t, NULL);
    loop_free(loop);
}
END_TEST

static void set_flag(void *opaque) { *(int *)opaque = 1; }

START_TEST(posted_work_left_at_free_still_runs)
{
    loop_t *loop = loop_new();
    int flag = 0;
    loop_post(loop, set_flag, &flag);
    loop_free(loop);
    ck_assert_int_eq(flag, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, timers_fire_in_due_order_and_ties_in_insertion_order);
    tcase_add_test(tc, readable_descriptor_calls_back_and_can_remove_itself);
    tcase_add_test(tc, write_interest_can_be_switched_off);
    tcase_add_test(tc, work_posted_from_other_threads_runs_on_the_loop);
    tcase_add_test(tc, stop_from_another_thread_ends_run);
    tcase_add_test(tc, posted_work_left_at_free_still_runs);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
