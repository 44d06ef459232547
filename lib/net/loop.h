/*
 * loop.h: the event loop that each broker and each client handle runs on
 * one thread: readiness of file descriptors (epoll), timers, and work posted
 * from other threads.
 *
 * Everything but loop_post(), loop_stop() and loop_free() must be called on
 * the loop's own thread (the one inside loop_run()), or before it starts.
 * Callbacks run on that thread and may add or remove descriptors and timers,
 * including their own.
 */
#ifndef SAMSA_NET_LOOP_H
#define SAMSA_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "samsa.h"

typedef struct loop loop_t;
typedef struct loop_timer loop_timer_t;

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

/* events: LOOP_READ and/or LOOP_WRITE that are ready; errors and hang-ups
 * are reported as both, so the owner's read or write sees them. */
typedef void loop_fd_fn(loop_t *loop, int fd, int events, void *opaque);
typedef void loop_timer_fn(loop_t *loop, void *opaque);
typedef void loop_post_fn(void *opaque);

/* A new loop, or NULL (errno set) when the kernel refuses epoll or eventfd. */
loop_t *loop_new(void);
/* Frees the loop. Call after loop_run() returned; descriptors added are not
 * closed (their owners close them), timers are freed, work still posted is
 * run first so nothing it owns is lost. */
void loop_free(loop_t *loop);

/* Watches fd for the given events. Returns 0, or -1 (errno set). One
 * registration per fd; the callback and opaque are kept until loop_del_fd. */
int loop_add_fd(loop_t *loop, int fd, int events, loop_fd_fn *cb, void *opaque);
/* Changes the events watched for fd. Returns 0 or -1. */
int loop_mod_fd(loop_t *loop, int fd, int events);
/* Stops watching fd. Safe inside any callback, also fd's own. */
void loop_del_fd(loop_t *loop, int fd);

/* Calls cb after delay_ms (0: on the next turn). Returns the timer, owned
 * by the loop: it is freed after it fires or is cancelled. NULL when memory
 * runs out. */
loop_timer_t *loop_timer_add(loop_t *loop, int64_t delay_ms, loop_timer_fn *cb, void *opaque);
/* Cancels a timer that has not fired yet; a NULL timer is ignored. */
void loop_timer_cancel(loop_t *loop, loop_timer_t *timer);

/* Runs fn(opaque) on the loop thread soon. Any thread. Returns 0, or
 * SAMSA_ERR__NOMEM. The function runs exactly once, even if the loop is
 * stopped first (then inside loop_free()). */
samsa_err_t loop_post(loop_t *loop, loop_post_fn *fn, void *opaque);

/* Runs until loop_stop(). */
void loop_run(loop_t *loop);
/* Waits at most timeout_ms (-1: until something happens) and handles what
 * is ready. Returns the number of callbacks run. */
int loop_run_once(loop_t *loop, int timeout_ms);
/* Makes loop_run() return after the current turn. Any thread. */
void loop_stop(loop_t *loop);

/* Monotonic milliseconds as the loop last read them (cheap; refreshed each turn). */
int64_t loop_now_ms(const loop_t *loop);

#endif /* SAMSA_NET_LOOP_H */
