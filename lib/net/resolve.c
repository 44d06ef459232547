/*
 * resolve.c: getaddrinfo() off the event loop (see resolve.h).
 *
 * A pending resolution is shared by the loop side and its thread; one
 * atomic state says who frees it. The thread posts the result unless the
 * resolution was cancelled first, in which case it frees everything
 * itself. resolve_cancel() waits out the short moment of posting, so that
 * the thread never posts to a loop its owner may free next. The posted
 * delivery frees the resolution after running (or, once cancelled,
 * skipping) the callback; a result that could not be posted waits for
 * resolve_cancel().
 */
#include "net/resolve.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

enum {
    R_RUNNING,   /* the thread resolves */
    R_CANCELLED, /* cancelled first: the thread frees */
    R_POSTING,   /* the thread is posting the delivery */
    R_POSTED,    /* the delivery frees */
    R_DROPPED,   /* posted, then cancelled: the delivery frees, silently */
    R_STRANDED,  /* could not post: resolve_cancel() frees */
};

struct resolve {
    int state; /* R_*, atomic */
    loop_t *loop;
    resolve_done_fn *done;
    void *opaque;
    struct addrinfo *res;
    int gai;
    char port[16];
    char host[];
};

static resolve_fn *resolver = NULL; /* tests only; NULL: getaddrinfo */

void resolve_set_function(resolve_fn *fn) { __atomic_store_n(&resolver, fn, __ATOMIC_RELEASE); }

static void hints_init(struct addrinfo *hints, bool numeric)
{
    memset(hints, 0, sizeof(*hints));
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_flags = numeric ? AI_NUMERICHOST | AI_NUMERICSERV : AI_NUMERICSERV;
}

static void resolve_free(resolve_t *r)
{
    if (r->res)
        freeaddrinfo(r->res);
    free(r);
}

/* The state once the thread is no longer posting. */
static int settled_state(resolve_t *r)
{
    int st;
    while ((st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE)) == R_POSTING)
        sched_yield();
    return st;
}

/* On the loop's thread: hands the result over, unless cancelled. */
static void deliver(void *opaque)
{
    resolve_t *r = opaque;
    if (settled_state(r) == R_POSTED) {
        r->done(r->opaque, r->res, r->gai);
        r->res = NULL;
    }
    resolve_free(r);
}

static void *resolve_thread(void *opaque)
{
    resolve_t *r = opaque;
    struct addrinfo hints;
    hints_init(&hints, false);
    resolve_fn *fn = __atomic_load_n(&resolver, __ATOMIC_ACQUIRE);
    struct addrinfo *res = NULL;
    int gai = fn ? fn(r->host, r->port, &hints, &res) : getaddrinfo(r->host, r->port, &hints, &res);
    r->res = res;
    r->gai = gai ? gai : (res ? 0 : EAI_NONAME);
    int expected = R_RUNNING;
    if (!__atomic_compare_exchange_n(&r->state, &expected, R_POSTING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        resolve_free(r); /* cancelled */
        return NULL;
    }
    /* Last touch of r: once the state is stored, the delivery may free it.
     * No memory to post: the owner's connect deadline cancels. */
    int next = loop_post(r->loop, deliver, r) == SAMSA_ERR_NONE ? R_POSTED : R_STRANDED;
    __atomic_store_n(&r->state, next, __ATOMIC_RELEASE);
    return NULL;
}

resolve_t *resolve_start(loop_t *loop, const char *host, int port, resolve_done_fn *done,
                         void *opaque)
{
    char port_str[16];
    snprintf(port_str, sizeof(port_str), "%d", port);
    struct addrinfo hints, *res = NULL;
    hints_init(&hints, true);
    if (getaddrinfo(host, port_str, &hints, &res) == 0 && res) {
        done(opaque, res, 0);
        return NULL;
    }
    size_t hl = strlen(host) + 1;
    resolve_t *r = calloc(1, sizeof(*r) + hl);
    if (!r) {
        done(opaque, NULL, EAI_MEMORY);
        return NULL;
    }
    r->state = R_RUNNING;
    r->loop = loop;
    r->done = done;
    r->opaque = opaque;
    memcpy(r->port, port_str, sizeof(port_str));
    memcpy(r->host, host, hl);
    pthread_attr_t attr;
    pthread_t tid;
    bool started = pthread_attr_init(&attr) == 0;
    if (started) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&tid, &attr, resolve_thread, r) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        resolve_free(r);
        done(opaque, NULL, EAI_MEMORY);
        return NULL;
    }
    return r;
}

void resolve_cancel(resolve_t *r)
{
    if (!r)
        return;
    for (;;) {
        int st = settled_state(r);
        int next = st == R_RUNNING ? R_CANCELLED : st == R_POSTED ? R_DROPPED : -1;
        if (st == R_STRANDED) {
            resolve_free(r);
            return;
        }
        if (next < 0 || __atomic_compare_exchange_n(&r->state, &st, next, false,
                                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    }
}
