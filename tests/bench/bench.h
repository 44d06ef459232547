/*
 * bench.h: helpers shared by the benchmarks in tests/bench.
 *
 * Every benchmark prints samsa's figure beside the figure of its reference,
 * measured in the same run, and the ratio, one line per comparison:
 *   bench <name>: samsa <value> <unit> | <reference name> <value> <unit> | ratio <r> (goal >= <g>)
 * Benchmarks never fail on timing; they report.
 */
#ifndef SAMSA_BENCH_H
#define SAMSA_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds used by this process so far. */
static inline double bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads up to size - 1 bytes of the file at path into buf and ends them
 * with a NUL; false when it cannot be opened. */
static inline bool bench_read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return true;
}

/* User + system CPU seconds another process (every thread) has used so
 * far, from /proc/PID/stat, or -1 when it cannot be read. */
static inline double bench_proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!bench_read_text(path, buf, sizeof(buf)))
        return -1;
    const char *p = strrchr(buf, ')');
    unsigned long utime, stime;
    /* after the command name (which may hold spaces): state and fields
     * 4..13, then utime, stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Keeps the compiler from discarding a computed value. */
static inline void bench_keep(uint64_t v) { __asm__ volatile("" : : "r"(v) : "memory"); }

/* Prints one comparison line. goal is the minimum ratio samsa/reference the
 * issue asks for (0 when it only asks for a report). */
static inline void bench_report(const char *name, double samsa, const char *ref_name, double ref,
                                const char *unit, double goal)
{
    double ratio = ref > 0 ? samsa / ref : 0;
    printf("bench %s: samsa %.1f %s | %s %.1f %s | ratio %.2f", name, samsa, unit, ref_name, ref,
           unit, ratio);
    if (goal > 0)
        printf(" (goal >= %.2f: %s)", goal, ratio >= goal ? "met" : "NOT MET");
    printf("\n");
    fflush(stdout);
}

#endif /* SAMSA_BENCH_H */
