/*
 * clock.h: monotonic and wall-clock time in the units the protocol uses.
 */
#ifndef SAMSA_BASE_CLOCK_H
#define SAMSA_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in nanoseconds, for intervals and deadlines. */
static inline int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static inline int64_t clock_mono_ms(void) { return clock_mono_ns() / 1000000; }

/* Wall-clock time in milliseconds since the epoch, for record timestamps. */
static inline int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* SAMSA_BASE_CLOCK_H */
