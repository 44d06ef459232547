/*
 * Unit tests for lib/net/resolve.c: numeric addresses answered at once,
 * names on a thread of their own while the loop goes on, failures, and
 * cancelled resolutions whose results are dropped.
 */
#include "net/resolve.h"

#include <check.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unit.h"

typedef struct outcome {
    int calls;
    int gai;
    int family;
    int port;
    loop_t *stop; /* stopped by the callback when set */
} outcome_t;

static void on_done(void *opaque, struct addrinfo *res, int gai)
{
    outcome_t *o = opaque;
    o->calls++;
    o->gai = gai;
    if (res) {
        o->family = res->ai_family;
        if (res->ai_family == AF_INET)
            o->port = ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port);
        else if (res->ai_family == AF_INET6)
            o->port = ntohs(((struct sockaddr_in6 *)res->ai_addr)->sin6_port);
        freeaddrinfo(res);
    }
    if (o->stop)
        loop_stop(o->stop);
}

START_TEST(numeric_addresses_are_answered_at_once)
{
    loop_t *loop = loop_new();
    outcome_t o = {0};
    ck_assert_ptr_null(resolve_start(loop, "127.0.0.1", 9092, on_done, &o));
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.gai, 0);
    ck_assert_int_eq(o.family, AF_INET);
    ck_assert_int_eq(o.port, 9092);
    outcome_t o6 = {0};
    ck_assert_ptr_null(resolve_start(loop, "::1", 19092, on_done, &o6));
    ck_assert_int_eq(o6.calls, 1);
    ck_assert_int_eq(o6.family, AF_INET6);
    ck_assert_int_eq(o6.port, 19092);
    loop_free(loop);
}
END_TEST

/* The test resolver: blocks until released, then answers 127.0.0.1 (or
 * fails for "missing.invalid"). */
static sem_t release, finished;

static int blocking_resolver(const char *host, const char *port, const struct addrinfo *hints,
                             struct addrinfo **res)
{
    sem_wait(&release);
    int rc = strcmp(host, "missing.invalid") == 0 ? EAI_NONAME
                                                  : getaddrinfo("127.0.0.1", port, hints, res);
    sem_post(&finished);
    return rc;
}

static void on_release_timer(loop_t *loop, void *opaque)
{
    int *fired = opaque;
    (*fired)++;
    sem_post(&release);
}

START_TEST(names_resolve_while_the_loop_goes_on)
{
    sem_init(&release, 0, 0);
    sem_init(&finished, 0, 0);
    resolve_set_function(blocking_resolver);
    loop_t *loop = loop_new();
    outcome_t o = {.stop = loop};
    int fired = 0;
    resolve_t *r = resolve_start(loop, "broker.example", 9093, on_done, &o);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(o.calls, 0);
    /* the resolver waits for this timer: a blocked loop would never fire it */
    loop_timer_add(loop, 0, on_release_timer, &fired);
    loop_run(loop);
    ck_assert_int_eq(fired, 1);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.gai, 0);
    ck_assert_int_eq(o.family, AF_INET);
    ck_assert_int_eq(o.port, 9093);

    outcome_t bad = {.stop = loop};
    ck_assert_ptr_nonnull(resolve_start(loop, "missing.invalid", 1, on_done, &bad));
    sem_post(&release);
    loop_run(loop);
    ck_assert_int_eq(bad.calls, 1);
    ck_assert_int_eq(bad.gai, EAI_NONAME);
    loop_free(loop);
    resolve_set_function(NULL);
}
END_TEST

START_TEST(a_cancelled_resolution_never_calls_back)
{
    sem_init(&release, 0, 0);
    sem_init(&finished, 0, 0);
    resolve_set_function(blocking_resolver);
    loop_t *loop = loop_new();
    outcome_t o = {0};
    resolve_t *r = resolve_start(loop, "broker.example", 9094, on_done, &o);
    ck_assert_ptr_nonnull(r);
    resolve_cancel(r); /* before the answer: the thread drops it */
    sem_post(&release);
    sem_wait(&finished);

    resolve_t *r2 = resolve_start(loop, "broker.example", 9095, on_done, &o);
    ck_assert_ptr_nonnull(r2);
    sem_post(&release);
    sem_wait(&finished);
    /* the answer may be posted already: cancelling still drops it */
    resolve_cancel(r2);
    for (int i = 0; i < 20; i++)
        loop_run_once(loop, 10);
    ck_assert_int_eq(o.calls, 0);
    loop_free(loop);
    resolve_set_function(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("resolve");
    TCase *tc = tcase_create("resolve");
    tcase_add_test(tc, numeric_addresses_are_answered_at_once);
    tcase_add_test(tc, names_resolve_while_the_loop_goes_on);
    tcase_add_test(tc, a_cancelled_resolution_never_calls_back);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
