/*
 * loop.c: an epoll event loop with a timer heap and a cross-thread work
 * queue woken through an eventfd (see loop.h).
 */
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/clock.h"

#define LOOP_MAX_EVENTS 256

typedef struct fd_entry {
    loop_fd_fn *cb;
    void *opaque;
    int events;
    bool used;
} fd_entry_t;

struct loop_timer {
    int64_t due_ms;
    uint64_t seq; /* ties fire in the order they were added */
    size_t heap_index;
    loop_timer_fn *cb;
    void *opaque;
};

typedef struct post_item {
    struct post_item *next;
    loop_post_fn *fn;
    void *opaque;
} post_item_t;

struct loop {
    int epoll_fd;
    int wake_fd;
    fd_entry_t *fds; /* indexed by fd */
    int fds_cap;
    loop_timer_t **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;
    int64_t now_ms;
    pthread_mutex_t post_lock;
    post_item_t *post_head, *post_tail;
    bool stop; /* written under post_lock, read by the loop */
};

loop_t *loop_new(void)
{
    loop_t *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->epoll_fd < 0 || loop->wake_fd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = loop->wake_fd};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0)
        goto fail;
    pthread_mutex_init(&loop->post_lock, NULL);
    loop->now_ms = clock_mono_ms();
    return loop;
fail:
    if (loop->epoll_fd >= 0)
        close(loop->epoll_fd);
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    free(loop);
    return NULL;
}

static int run_posted(loop_t *loop);

void loop_free(loop_t *loop)
{
    if (!loop)
        return;
    while (run_posted(loop) > 0)
        ;
    for (size_t i = 0; i < loop->heap_len; i++)
        free(loop->heap[i]);
    free(loop->heap);
    free(loop->fds);
    close(loop->epoll_fd);
    close(loop->wake_fd);
    pthread_mutex_destroy(&loop->post_lock);
    free(loop);
}

int64_t loop_now_ms(const loop_t *loop) { return loop->now_ms; }

/* ---- descriptors ------------------------------------------------------ */

static uint32_t epoll_events(int events)
{
    return (events & LOOP_READ ? EPOLLIN : 0) | (events & LOOP_WRITE ? EPOLLOUT : 0);
}

int loop_add_fd(loop_t *loop, int fd, int events, loop_fd_fn *cb, void *opaque)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (fd >= loop->fds_cap) {
        int cap = loop->fds_cap ? loop->fds_cap : 64;
        while (cap <= fd)
            cap *= 2;
        fd_entry_t *fds = realloc(loop->fds, (size_t)cap * sizeof(*fds));
        if (!fds) {
            errno = ENOMEM;
            return -1;
        }
        memset(fds + loop->fds_cap, 0, (size_t)(cap - loop->fds_cap) * sizeof(*fds));
        loop->fds = fds;
        loop->fds_cap = cap;
    }
    struct epoll_event ev = {.events = epoll_events(events), .data.fd = fd};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    loop->fds[fd] = (fd_entry_t){cb, opaque, events, true};
    return 0;
}

int loop_mod_fd(loop_t *loop, int fd, int events)
{
    if (fd < 0 || fd >= loop->fds_cap || !loop->fds[fd].used) {
        errno = EBADF;
        return -1;
    }
    if (loop->fds[fd].events == events)
        return 0;
    struct epoll_event ev = {.events = epoll_events(events), .data.fd = fd};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -1;
    loop->fds[fd].events = events;
    return 0;
}

void loop_del_fd(loop_t *loop, int fd)
{
    if (fd < 0 || fd >= loop->fds_cap || !loop->fds[fd].used)
        return;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    loop->fds[fd].used = false;
}

/* ---- timers: a binary min-heap on (due_ms, seq) ------------------------ */

static bool timer_before(const loop_timer_t *a, const loop_timer_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_set(loop_t *loop, size_t i, loop_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    while (i > 0 && timer_before(t, loop->heap[(i - 1) / 2])) {
        heap_set(loop, i, loop->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(loop, i, t);
}

static void heap_down(loop_t *loop, size_t i)
{
    loop_timer_t *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, t);
}

static void heap_remove(loop_t *loop, size_t i)
{
    loop_timer_t *last = loop->heap[--loop->heap_len];
    if (i == loop->heap_len)
        return;
    heap_set(loop, i, last);
    heap_up(loop, i);
    heap_down(loop, last->heap_index);
}

loop_timer_t *loop_timer_add(loop_t *loop, int64_t delay_ms, loop_timer_fn *cb, void *opaque)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        loop_timer_t **heap = realloc(loop->heap, cap * sizeof(*heap));
        if (!heap)
            return NULL;
        loop->heap = heap;
        loop->heap_cap = cap;
    }
    loop_timer_t *t = malloc(sizeof(*t));
    if (!t)
        return NULL;
    t->due_ms = clock_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
    t->seq = loop->timer_seq++;
    t->cb = cb;
    t->opaque = opaque;
    loop->heap_len++;
    heap_set(loop, loop->heap_len - 1, t);
    heap_up(loop, loop->heap_len - 1);
    return t;
}

void loop_timer_cancel(loop_t *loop, loop_timer_t *timer)
{
    if (!timer)
        return;
    heap_remove(loop, timer->heap_index);
    free(timer);
}

static int run_timers(loop_t *loop)
{
    int ran = 0;
    /* Timers added by these callbacks wait for the next turn. */
    uint64_t seq_limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        loop_timer_t *t = loop->heap[0];
        if (t->due_ms > loop->now_ms || t->seq >= seq_limit)
            break;
        heap_remove(loop, 0);
        loop_timer_fn *cb = t->cb;
        void *opaque = t->opaque;
        free(t);
        cb(loop, opaque);
        ran++;
    }
    return ran;
}

/* ---- work from other threads -------------------------------------------- */

samsa_err_t loop_post(loop_t *loop, loop_post_fn *fn, void *opaque)
{
    post_item_t *item = malloc(sizeof(*item));
    if (!item)
        return SAMSA_ERR__NOMEM;
    item->next = NULL;
    item->fn = fn;
    item->opaque = opaque;
    pthread_mutex_lock(&loop->post_lock);
    bool was_empty = loop->post_head == NULL;
    if (loop->post_tail)
        loop->post_tail->next = item;
    else
        loop->post_head = item;
    loop->post_tail = item;
    pthread_mutex_unlock(&loop->post_lock);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(loop->wake_fd, &one, sizeof(one));
        (void)n; /* a full counter already means "wake up" */
    }
    return SAMSA_ERR_NONE;
}

static int run_posted(loop_t *loop)
{
    pthread_mutex_lock(&loop->post_lock);
    post_item_t *item = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->post_lock);
    int ran = 0;
    while (item) {
        post_item_t *next = item->next;
        item->fn(item->opaque);
        free(item);
        item = next;
        ran++;
    }
    return ran;
}

void loop_stop(loop_t *loop)
{
    pthread_mutex_lock(&loop->post_lock);
    loop->stop = true;
    pthread_mutex_unlock(&loop->post_lock);
    uint64_t one = 1;
    ssize_t n = write(loop->wake_fd, &one, sizeof(one));
    (void)n;
}

/* ---- running ----------------------------------------------------------- */

int loop_run_once(loop_t *loop, int timeout_ms)
{
    loop->now_ms = clock_mono_ms();
    if (loop->heap_len > 0) {
        int64_t until = loop->heap[0]->due_ms - loop->now_ms;
        if (until < 0)
            until = 0;
        if (timeout_ms < 0 || until < timeout_ms)
            timeout_ms = (int)(until > 1000000 ? 1000000 : until);
    }
    struct epoll_event events[LOOP_MAX_EVENTS];
    int n = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS, timeout_ms);
    loop->now_ms = clock_mono_ms();
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if (fd == loop->wake_fd) {
            uint64_t count;
            ssize_t got = read(loop->wake_fd, &count, sizeof(count));
            (void)got;
            continue;
        }
        /* An earlier callback of this turn may have removed the fd. */
        if (fd >= loop->fds_cap || !loop->fds[fd].used)
            continue;
        uint32_t e = events[i].events;
        int ready = (e & EPOLLIN ? LOOP_READ : 0) | (e & EPOLLOUT ? LOOP_WRITE : 0);
        if (e & (EPOLLERR | EPOLLHUP))
            ready |= LOOP_READ | LOOP_WRITE;
        fd_entry_t entry = loop->fds[fd];
        entry.cb(loop, fd, ready, entry.opaque);
        ran++;
    }
    ran += run_posted(loop);
    ran += run_timers(loop);
    return ran;
}

void loop_run(loop_t *loop)
{
    for (;;) {
        pthread_mutex_lock(&loop->post_lock);
        bool stop = loop->stop;
        loop->stop = false;
        pthread_mutex_unlock(&loop->post_lock);
        if (stop)
            break;
        loop_run_once(loop, -1);
    }
}
