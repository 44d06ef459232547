/*
 * slog.h: the library's diagnostic log.
 *
 * Messages go to a sink chosen by the embedding program (stderr by default)
 * with a level and the module that wrote them. Safe from any thread.
 */
#ifndef SAMSA_BASE_SLOG_H
#define SAMSA_BASE_SLOG_H

enum slog_level { SLOG_ERROR = 3, SLOG_WARN = 4, SLOG_INFO = 6, SLOG_DEBUG = 7 };

typedef void slog_sink_fn(void *opaque, int level, const char *module, const char *message);

/* Installs sink (NULL restores stderr) and the most verbose level written. */
void slog_configure(slog_sink_fn *sink, void *opaque, int max_level);
/* Whether messages of this level are written at all (to skip formatting). */
int slog_enabled(int level);
void slog_write(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define slog_error(module, ...) slog_write(SLOG_ERROR, module, __VA_ARGS__)
#define slog_warn(module, ...) slog_write(SLOG_WARN, module, __VA_ARGS__)
#define slog_info(module, ...) slog_write(SLOG_INFO, module, __VA_ARGS__)
#define slog_debug(module, ...)                                                \
    do {                                                                       \
        if (slog_enabled(SLOG_DEBUG))                                          \
            slog_write(SLOG_DEBUG, module, __VA_ARGS__);                       \
    } while (0)

#endif /* SAMSA_BASE_SLOG_H */
