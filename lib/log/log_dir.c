/*
 * log_dir.c: the log directories (log.dirs): lock files, partition
 * discovery and placement; the log configuration; error helpers.
 */
#include "log/log_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/slog.h"

samsa_err_t log_errno_err(int e)
{
    return e == ENOSPC || e == EDQUOT ? SAMSA_ERR__NOSPC : SAMSA_ERR__STORAGE;
}

samsa_err_t log_fail(samsa_err_t err, char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

int log_lock_dir(const char *dir, char *errbuf, size_t errlen)
{
    char path[4096], holder[32] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, LOG_LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    /* An open-file-description lock: a second open, even in this process,
     * conflicts, and the kernel drops it when the holder dies. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int e = errno;
        ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(fd);
        if (e == EAGAIN || e == EACCES)
            log_fail(SAMSA_ERR__STORAGE, errbuf, errlen,
                     "%s is in use: locked by process %s (%s)", dir, holder[0] ? holder : "?",
                     path);
        else
            log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot lock %s: %s", path, strerror(e));
        return -1;
    }
    int len = snprintf(holder, sizeof(holder), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, holder, (size_t)len, 0) != len)
        slog_warn(LOG_MODULE, "cannot record our pid in %s: %s", path, strerror(errno));
    return fd;
}

/* ---- configuration ----------------------------------------------------- */

void log_config_init(log_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->segment_bytes = 1024 * 1024 * 1024;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->segment_index_bytes = 10 * 1024 * 1024;
    cfg->index_interval_bytes = 4096;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->flush_interval_messages = INT64_MAX;
    cfg->flush_interval_ms = -1;
    cfg->flush_on_ack = true;
    cfg->write_mode = LOG_WRITE_PWRITE;
    cfg->preallocate_bytes = 8 * 1024 * 1024;
}

typedef struct config_key {
    const char *topic_name;
    const char *broker_name;
    size_t field;  /* offsetof the int64_t in log_config_t */
    int64_t min;
    int64_t max;
} config_key_t;

#define FIELD(f) offsetof(log_config_t, f)
static const config_key_t config_keys[] = {
    {"segment.bytes", "log.segment.bytes", FIELD(segment_bytes), 61, INT32_MAX},
    {"segment.ms", "log.roll.ms", FIELD(segment_ms), 1, INT64_MAX},
    {"segment.index.bytes", "log.index.size.max.bytes", FIELD(segment_index_bytes), 12, INT32_MAX},
    {"index.interval.bytes", "log.index.interval.bytes", FIELD(index_interval_bytes), 0, INT32_MAX},
    {"retention.ms", "log.retention.ms", FIELD(retention_ms), -1, INT64_MAX},
    {"retention.bytes", "log.retention.bytes", FIELD(retention_bytes), -1, INT64_MAX},
    {"flush.messages", "log.flush.interval.messages", FIELD(flush_interval_messages), 1, INT64_MAX},
    {"flush.ms", "log.flush.interval.ms", FIELD(flush_interval_ms), -1, INT64_MAX},
    {"log.segment.preallocate.bytes", NULL, FIELD(preallocate_bytes), 0, INT32_MAX},
};

samsa_err_t log_config_set(log_config_t *cfg, const char *key, const char *value, char *errbuf,
                           size_t errlen)
{
    if (strcmp(key, "log.flush.on.ack") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return log_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                            "%s: \"%s\" is not true or false", key, value);
        cfg->flush_on_ack = value[0] == 't';
        return SAMSA_ERR_NONE;
    }
    if (strcmp(key, "log.segment.write.mode") == 0) {
        if (strcmp(value, "mmap") != 0 && strcmp(value, "pwrite") != 0)
            return log_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                            "%s: \"%s\" is not mmap or pwrite", key, value);
        cfg->write_mode = value[0] == 'm' ? LOG_WRITE_MMAP : LOG_WRITE_PWRITE;
        return SAMSA_ERR_NONE;
    }
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        const config_key_t *k = &config_keys[i];
        if (strcmp(key, k->topic_name) != 0 && (!k->broker_name || strcmp(key, k->broker_name) != 0))
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max)
            return log_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                            "%s: \"%s\" is not an integer from %lld to %lld", key, value,
                            (long long)k->min, (long long)k->max);
        *(int64_t *)((char *)cfg + k->field) = v;
        return SAMSA_ERR_NONE;
    }
    return log_fail(SAMSA_ERR__UNKNOWN_CONFIG, errbuf, errlen, "unknown log property \"%s\"", key);
}

/* ---- log directories --------------------------------------------------- */

struct log_dir {
    size_t count;
    char **paths;
    int *lock_fds;
};

void log_dir_close(log_dir_t *ld)
{
    if (!ld)
        return;
    for (size_t i = 0; i < ld->count; i++) {
        if (ld->lock_fds[i] >= 0)
            close(ld->lock_fds[i]);
        free(ld->paths[i]);
    }
    free(ld->paths);
    free(ld->lock_fds);
    free(ld);
}

log_dir_t *log_dir_open(const char *const *paths, size_t n, char *errbuf, size_t errlen)
{
    log_dir_t *ld = calloc(1, sizeof(*ld));
    if (!ld || n == 0 || !(ld->paths = calloc(n, sizeof(char *))) ||
        !(ld->lock_fds = malloc(n * sizeof(int)))) {
        log_fail(n ? SAMSA_ERR__NOMEM : SAMSA_ERR__INVALID_ARG, errbuf, errlen,
                 n ? "out of memory" : "log.dirs is empty");
        log_dir_close(ld);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ld->lock_fds[i] = -1;
    for (size_t i = 0; i < n; i++) {
        ld->count = i + 1;
        if (!(ld->paths[i] = strdup(paths[i]))) {
            log_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
            goto fail;
        }
        if (mkdir(paths[i], 0755) != 0 && errno != EEXIST) {
            log_fail(SAMSA_ERR__STORAGE, errbuf, errlen, "cannot create log dir %s: %s", paths[i],
                     strerror(errno));
            goto fail;
        }
        if ((ld->lock_fds[i] = log_lock_dir(paths[i], errbuf, errlen)) < 0)
            goto fail;
    }
    return ld;
fail:
    log_dir_close(ld);
    return NULL;
}

size_t log_dir_count(const log_dir_t *ld) { return ld->count; }
const char *log_dir_path(const log_dir_t *ld, size_t i) { return i < ld->count ? ld->paths[i] : NULL; }

/* Parses "<topic>-<partition>" (the last dash splits). */
static bool partition_dir_parse(const char *name, log_partition_id_t *id)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || (size_t)(dash - name) >= sizeof(id->topic) || !dash[1])
        return false;
    long v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > INT32_MAX / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v > INT32_MAX)
        return false;
    memcpy(id->topic, name, (size_t)(dash - name));
    id->topic[dash - name] = 0;
    id->partition = (int32_t)v;
    return true;
}

samsa_err_t log_dir_discover(const log_dir_t *ld, log_partition_id_t **out, size_t *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < ld->count; i++) {
        DIR *d = opendir(ld->paths[i]);
        if (!d) {
            slog_error(LOG_MODULE, "cannot list %s: %s", ld->paths[i], strerror(errno));
            goto fail;
        }
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            log_partition_id_t id = {.dir_index = i};
            /* hidden entries and the broker's meta.properties are not ours */
            if (ent->d_name[0] == '.' || strcmp(ent->d_name, "meta.properties") == 0)
                continue;
            if (!partition_dir_parse(ent->d_name, &id) ||
                (ent->d_type != DT_DIR && ent->d_type != DT_UNKNOWN)) {
                slog_warn(LOG_MODULE, "%s: ignoring unknown entry %s", ld->paths[i], ent->d_name);
                continue;
            }
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                log_partition_id_t *p = realloc(*out, cap * sizeof(*p));
                if (!p) {
                    closedir(d);
                    free(*out);
                    *out = NULL;
                    *n = 0;
                    return SAMSA_ERR__NOMEM;
                }
                *out = p;
            }
            (*out)[(*n)++] = id;
        }
        closedir(d);
    }
    return SAMSA_ERR_NONE;
fail:
    free(*out);
    *out = NULL;
    *n = 0;
    return SAMSA_ERR__STORAGE;
}

const char *log_dir_choose(const log_dir_t *ld)
{
    size_t best = 0, best_count = SIZE_MAX;
    for (size_t i = 0; i < ld->count; i++) {
        size_t count = 0;
        DIR *d = opendir(ld->paths[i]);
        struct dirent *ent;
        log_partition_id_t id;
        while (d && (ent = readdir(d)) != NULL)
            count += ent->d_name[0] != '.' && partition_dir_parse(ent->d_name, &id);
        if (d)
            closedir(d);
        if (count < best_count) {
            best = i;
            best_count = count;
        }
    }
    return ld->paths[best];
}
