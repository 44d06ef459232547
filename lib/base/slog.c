/*
 * slog.c: the diagnostic log (see slog.h).
 */
#include "base/slog.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t slog_lock = PTHREAD_MUTEX_INITIALIZER;
static slog_sink_fn *slog_sink;
static void *slog_opaque;
static int slog_max_level = -1; /* -1: not yet read from SAMSA_LOG_LEVEL */

static const char *level_name(int level)
{
    switch (level) {
    case SLOG_ERROR: return "ERROR";
    case SLOG_WARN: return "WARN";
    case SLOG_INFO: return "INFO";
    default: return "DEBUG";
    }
}

void slog_configure(slog_sink_fn *sink, void *opaque, int max_level)
{
    pthread_mutex_lock(&slog_lock);
    slog_sink = sink;
    slog_opaque = opaque;
    slog_max_level = max_level;
    pthread_mutex_unlock(&slog_lock);
}

int slog_enabled(int level)
{
    int max = __atomic_load_n(&slog_max_level, __ATOMIC_RELAXED);
    if (max < 0) {
        const char *env = getenv("SAMSA_LOG_LEVEL");
        max = env ? atoi(env) : SLOG_INFO;
        __atomic_store_n(&slog_max_level, max, __ATOMIC_RELAXED);
    }
    return level <= max;
}

void slog_write(int level, const char *module, const char *fmt, ...)
{
    if (!slog_enabled(level))
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&slog_lock);
    if (slog_sink) {
        slog_sink(slog_opaque, level, module, message);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                level_name(level), module, message);
    }
    pthread_mutex_unlock(&slog_lock);
}
