/*
 * topics.c: the broker's topics: the registry (name, id, partitions), their
 * metadata on disk, and creating, growing, deleting and reopening them.
 *
 * On disk: partitions are the log module's "<topic>-<partition>"
 * directories, in any of log.dirs. What the log does not know about a
 * topic (its id, partition count and the properties it was created with)
 * is kept in "<first log dir>/.topics/<topic>", a small properties file
 * replaced atomically (temporary file, fsync, rename, fsync of the
 * directory). The leading dot keeps it out of the log module's partition
 * discovery. Partition directories found without a topic file (copied in,
 * or left by a crash between the two writes) get one with a new id.
 */
#include "broker/broker_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/slog.h"

#define TOPICS_DIR ".topics"

static void topic_path(const struct broker *b, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s/%s", b->cfg.log_dirs[0], TOPICS_DIR, name);
}

/* ---- lookups ---------------------------------------------------------- */

broker_topic_t *topic_find(struct broker *b, proto_str_t name)
{
    if (name.len < 0)
        return NULL;
    for (size_t i = 0; i < b->topic_count; i++) {
        broker_topic_t *t = b->topics[i];
        if (strlen(t->name) == (size_t)name.len && memcmp(t->name, name.ptr, (size_t)name.len) == 0)
            return t;
    }
    return NULL;
}

broker_topic_t *topic_find_cstr(struct broker *b, const char *name)
{
    return topic_find(b, proto_str_of(name));
}

broker_topic_t *topic_find_id(struct broker *b, const proto_uuid_t *id)
{
    for (size_t i = 0; i < b->topic_count; i++)
        if (proto_uuid_eq(&b->topics[i]->id, id))
            return b->topics[i];
    return NULL;
}

bool broker_topic_name_by_id(void *opaque, const proto_uuid_t *id, const char **name)
{
    broker_topic_t *t = topic_find_id(opaque, id);
    if (t)
        *name = t->name;
    return t != NULL;
}

bool broker_topic_id_by_name(void *opaque, const char *name, proto_uuid_t *id)
{
    broker_topic_t *t = topic_find_cstr(opaque, name);
    if (t)
        *id = t->id;
    return t != NULL;
}

partition_log_t *broker_offsets_log(struct broker *b)
{
    broker_topic_t *t = topic_find_cstr(b, BROKER_OFFSETS_TOPIC);
    return t && t->partition_count > 0 ? t->partitions[0]->log : NULL;
}

samsa_err_t topic_name_check(proto_str_t name, char *why, size_t whylen)
{
    if (name.len <= 0 || name.len > 249) {
        snprintf(why, whylen, "a topic name has 1 to 249 characters");
        return SAMSA_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if ((name.len == 1 && name.ptr[0] == '.') ||
        (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.')) {
        snprintf(why, whylen, "a topic cannot be named \".\" or \"..\"");
        return SAMSA_ERR_INVALID_TOPIC_EXCEPTION;
    }
    for (int32_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            snprintf(why, whylen, "a topic name may only hold ASCII letters, digits, '.', '_' and '-'");
            return SAMSA_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    return SAMSA_ERR_NONE;
}

/* ---- the topic file ------------------------------------------------------- */

static samsa_err_t topic_file_write(struct broker *b, const broker_topic_t *t)
{
    char path[4096], tmp[4200], idstr[23];
    topic_path(b, t->name, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    broker_uuid_str(&t->id, idstr);
    FILE *f = fopen(tmp, "w");
    if (!f)
        goto fail;
    fprintf(f, "# samsa topic metadata\ntopic.id=%s\npartitions=%d\n", idstr,
            (int)t->partition_count);
    for (size_t i = 0; i < conf_count(t->overrides); i++) {
        const conf_entry_t *e = conf_entry(t->overrides, i);
        fprintf(f, "config.%s=%s\n", e->key, e->value);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        goto fail;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", b->cfg.log_dirs[0], TOPICS_DIR);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return SAMSA_ERR_NONE;
fail:
    slog_error(BROKER_MODULE, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return SAMSA_ERR__STORAGE;
}

static void topic_free(broker_topic_t *t)
{
    if (!t)
        return;
    free(t->partitions);
    samsa_conf_free(t->overrides);
    free(t);
}

static broker_topic_t *topic_alloc(struct broker *b, const char *name)
{
    broker_topic_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->overrides = samsa_conf_new())) {
        free(t);
        return NULL;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->internal = strcmp(name, BROKER_OFFSETS_TOPIC) == 0;
    t->config.log = b->cfg.log;
    if (t->internal) {
        /* The group coordinator expires offsets itself and bounds the log
         * with snapshots (group.h); segments as small as Kafka's. */
        t->config.log.retention_ms = -1;
        t->config.log.retention_bytes = -1;
        t->config.log.segment_bytes = 100 << 20;
    }
    t->config.max_message_bytes = b->cfg.message_max_bytes;
    t->config.log_append_time = b->cfg.log_append_time;
    return t;
}

/* Applies the overrides stored in t to its config. */
static samsa_err_t topic_apply_overrides(broker_topic_t *t, char *why, size_t whylen)
{
    for (size_t i = 0; i < conf_count(t->overrides); i++) {
        const conf_entry_t *e = conf_entry(t->overrides, i);
        samsa_err_t err = topic_config_set(&t->config, e->key, e->value, why, whylen);
        if (err)
            return err;
    }
    return SAMSA_ERR_NONE;
}

/* Reads <dir>/.topics/<name>. */
static broker_topic_t *topic_file_read(struct broker *b, const char *name, char *errbuf,
                                       size_t errlen)
{
    char path[4096];
    topic_path(b, name, path, sizeof(path));
    samsa_conf_t *props = samsa_conf_new();
    broker_topic_t *t = topic_alloc(b, name);
    if (!props || !t) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    if (samsa_conf_set_file(props, path, errbuf, errlen))
        goto fail;
    const char *id = samsa_conf_get(props, "topic.id");
    const char *parts = samsa_conf_get(props, "partitions");
    long long n;
    if (!id || broker_uuid_parse(id, &t->id) != 0 || !parts ||
        conf_parse_int64(parts, 1, 1000000, &n) != 0) {
        snprintf(errbuf, errlen, "%s: bad topic.id or partitions", path);
        goto fail;
    }
    t->partition_count = (int32_t)n;
    for (size_t i = 0; i < conf_count(props); i++) {
        const conf_entry_t *e = conf_entry(props, i);
        if (strncmp(e->key, "config.", 7) == 0 &&
            samsa_conf_set(t->overrides, e->key + 7, e->value, errbuf, errlen))
            goto fail;
    }
    char why[256];
    if (topic_apply_overrides(t, why, sizeof(why))) {
        snprintf(errbuf, errlen, "%s: %s", path, why);
        goto fail;
    }
    samsa_conf_free(props);
    return t;
fail:
    samsa_conf_free(props);
    topic_free(t);
    return NULL;
}

/* ---- partitions -------------------------------------------------------- */

void broker_partition_unref(broker_partition_t *bp)
{
    if (__atomic_sub_fetch(&bp->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
        free(bp->dir);
        free(bp);
    }
}

/* Opens partition index of t in dir (NULL: the log dir with the fewest). */
static samsa_err_t partition_open(struct broker *b, broker_topic_t *t, int32_t index,
                                  const char *dir, char *errbuf, size_t errlen)
{
    broker_partition_t *bp = calloc(1, sizeof(*bp));
    if (!bp) {
        snprintf(errbuf, errlen, "out of memory");
        return SAMSA_ERR__NOMEM;
    }
    bp->broker = b;
    bp->topic = t;
    bp->index = index;
    bp->refcount = 1;
    log_config_t cfg = t->config.log;
    cfg.on_durable = produce_on_durable;
    cfg.on_durable_opaque = bp;
    if (!dir)
        dir = log_dir_choose(b->dirs);
    size_t dir_len = strlen(dir) + strlen(t->name) + 16;
    if (!(bp->dir = malloc(dir_len))) {
        free(bp);
        snprintf(errbuf, errlen, "out of memory");
        return SAMSA_ERR__NOMEM;
    }
    snprintf(bp->dir, dir_len, "%s/%s-%d", dir, t->name, (int)index);
    bp->log = partition_log_open(dir, t->name, index, &cfg, errbuf, errlen);
    if (!bp->log) {
        free(bp->dir);
        free(bp);
        return SAMSA_ERR__STORAGE;
    }
    if (!(bp->producer_state = producer_state_open(bp->dir, bp->log, errbuf, errlen))) {
        partition_log_close(bp->log, true);
        free(bp->dir);
        free(bp);
        return SAMSA_ERR__STORAGE;
    }
    if (log_flusher_add(b->flusher, bp->log)) {
        producer_state_free(bp->producer_state);
        partition_log_close(bp->log, true);
        free(bp->dir);
        free(bp);
        snprintf(errbuf, errlen, "out of memory");
        return SAMSA_ERR__NOMEM;
    }
    t->partitions[index] = bp;
    return SAMSA_ERR_NONE;
}

/* Closes a partition; with remove, deletes its directory too. */
static void partition_close(struct broker *b, broker_partition_t *bp, bool remove_dir)
{
    if (!bp)
        return;
    log_flusher_remove(b->flusher, bp->log);
    if (remove_dir) {
        producer_state_free(bp->producer_state);
    } else {
        samsa_err_t perr = producer_state_close(bp->producer_state);
        if (perr)
            slog_error(BROKER_MODULE, "saving the producer state of %s-%d: %s", bp->topic->name,
                       (int)bp->index, samsa_err_str(perr));
    }
    bp->producer_state = NULL;
    bp->deleted = true;
    produce_partition_deleted(bp);
    fetch_wake(b, bp);
    samsa_err_t err = partition_log_close(bp->log, !remove_dir);
    if (err)
        slog_error(BROKER_MODULE, "closing %s-%d: %s", bp->topic->name, (int)bp->index,
                   samsa_err_str(err));
    bp->log = NULL;
    if (remove_dir) {
        const char *dir = bp->dir;
        DIR *d = opendir(dir);
        struct dirent *ent;
        while (d && (ent = readdir(d)) != NULL) {
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            char path[4400];
            snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
            unlink(path);
        }
        if (d)
            closedir(d);
        if (rmdir(dir) != 0)
            slog_warn(BROKER_MODULE, "cannot remove %s: %s", dir, strerror(errno));
    }
    broker_partition_unref(bp);
}

static samsa_err_t topics_add(struct broker *b, broker_topic_t *t)
{
    if (b->topic_count == b->topic_cap) {
        size_t cap = b->topic_cap ? b->topic_cap * 2 : 16;
        broker_topic_t **topics = realloc(b->topics, cap * sizeof(*topics));
        if (!topics)
            return SAMSA_ERR__NOMEM;
        b->topics = topics;
        b->topic_cap = cap;
    }
    b->topics[b->topic_count++] = t;
    return SAMSA_ERR_NONE;
}

static void topics_remove(struct broker *b, broker_topic_t *t)
{
    for (size_t i = 0; i < b->topic_count; i++) {
        if (b->topics[i] == t) {
            memmove(b->topics + i, b->topics + i + 1, (b->topic_count - i - 1) * sizeof(t));
            b->topic_count--;
            return;
        }
    }
}

/* ---- start and stop -------------------------------------------------------- */

/* A partition found on disk, to be opened. */
typedef struct open_job {
    broker_topic_t *t;
    int32_t index;
    const char *dir;
} open_job_t;

typedef struct open_jobs {
    open_job_t *v;
    size_t count, cap;
} open_jobs_t;

/* Allocates t's partitions and opens them: one without a directory yet at
 * once (creating it), one found on disk (in found) at once too, or, given
 * later, queued in later for partitions_open_found(). */
static samsa_err_t topic_open_partitions(struct broker *b, broker_topic_t *t,
                                         const log_partition_id_t *found, size_t nfound,
                                         open_jobs_t *later, char *errbuf, size_t errlen)
{
    t->partitions = calloc((size_t)t->partition_count, sizeof(*t->partitions));
    if (!t->partitions) {
        snprintf(errbuf, errlen, "out of memory");
        return SAMSA_ERR__NOMEM;
    }
    for (int32_t p = 0; p < t->partition_count; p++) {
        const char *dir = NULL;
        for (size_t i = 0; i < nfound; i++) {
            if (found[i].partition != p || strcmp(found[i].topic, t->name) != 0)
                continue;
            if (dir) {
                snprintf(errbuf, errlen, "%s-%d is in two log dirs: %s and %s", t->name, (int)p,
                         dir, log_dir_path(b->dirs, found[i].dir_index));
                return SAMSA_ERR__STORAGE;
            }
            dir = log_dir_path(b->dirs, found[i].dir_index);
        }
        if (dir && later) {
            if (later->count == later->cap) {
                size_t cap = later->cap ? later->cap * 2 : 64;
                open_job_t *v = realloc(later->v, cap * sizeof(*v));
                if (!v) {
                    snprintf(errbuf, errlen, "out of memory");
                    return SAMSA_ERR__NOMEM;
                }
                later->v = v;
                later->cap = cap;
            }
            later->v[later->count++] = (open_job_t){t, p, dir};
            continue;
        }
        if (!dir)
            slog_info(BROKER_MODULE, "%s-%d: no directory yet, creating it", t->name, (int)p);
        samsa_err_t err = partition_open(b, t, p, dir, errbuf, errlen);
        if (err)
            return err;
    }
    return SAMSA_ERR_NONE;
}

typedef struct open_pool {
    struct broker *b;
    const open_jobs_t *jobs;
    size_t next;             /* atomic: the next job to take */
    pthread_mutex_t lock;
    samsa_err_t err;         /* the first failure; later jobs are not started */
    char errbuf[512];
} open_pool_t;

static void *open_worker(void *arg)
{
    open_pool_t *op = arg;
    char errbuf[512];
    for (;;) {
        size_t i = __atomic_fetch_add(&op->next, 1, __ATOMIC_RELAXED);
        if (i >= op->jobs->count)
            break;
        pthread_mutex_lock(&op->lock);
        bool failed = op->err != SAMSA_ERR_NONE;
        pthread_mutex_unlock(&op->lock);
        if (failed)
            break;
        const open_job_t *j = &op->jobs->v[i];
        errbuf[0] = '\0';
        samsa_err_t err = partition_open(op->b, j->t, j->index, j->dir, errbuf, sizeof(errbuf));
        if (err) {
            pthread_mutex_lock(&op->lock);
            if (!op->err) {
                op->err = err;
                snprintf(op->errbuf, sizeof(op->errbuf), "%s", errbuf);
            }
            pthread_mutex_unlock(&op->lock);
        }
    }
    return NULL;
}

/* Opens the partitions found on disk with num.recovery.threads.per.data.dir
 * threads per log dir: a cold start mostly waits for the disk (a few small
 * reads per partition, and recovery's reads after a crash), and waits that
 * overlap end sooner. */
static samsa_err_t partitions_open_found(struct broker *b, const open_jobs_t *jobs,
                                         char *errbuf, size_t errlen)
{
    open_pool_t op = {b, jobs, 0, PTHREAD_MUTEX_INITIALIZER, SAMSA_ERR_NONE, ""};
    size_t want = (size_t)b->cfg.recovery_threads_per_dir * b->cfg.log_dir_count;
    if (want > jobs->count)
        want = jobs->count;
    pthread_t *th = want > 1 ? calloc(want - 1, sizeof(*th)) : NULL;
    size_t started = 0;
    while (th && started < want - 1 && pthread_create(&th[started], NULL, open_worker, &op) == 0)
        started++;
    open_worker(&op); /* this thread is one of them (the only one, short of threads) */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    pthread_mutex_destroy(&op.lock);
    if (op.err)
        snprintf(errbuf, errlen, "%s", op.errbuf);
    return op.err;
}

samsa_err_t topics_open(struct broker *b, char *errbuf, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", b->cfg.log_dirs[0], TOPICS_DIR);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create %s: %s", dir, strerror(errno));
        return SAMSA_ERR__STORAGE;
    }
    log_partition_id_t *found = NULL;
    size_t nfound = 0;
    samsa_err_t err = log_dir_discover(b->dirs, &found, &nfound);
    if (err) {
        snprintf(errbuf, errlen, "cannot list the log dirs: %s", samsa_err_str(err));
        return err;
    }
    /* Topics with a file */
    DIR *d = opendir(dir);
    struct dirent *ent;
    while (!err && d && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        size_t len = strlen(ent->d_name);
        if (len > 4 && strcmp(ent->d_name + len - 4, ".tmp") == 0)
            continue;
        char why[256];
        if (topic_name_check(proto_str_of(ent->d_name), why, sizeof(why))) {
            slog_warn(BROKER_MODULE, "%s: ignoring %s: %s", dir, ent->d_name, why);
            continue;
        }
        broker_topic_t *t = topic_file_read(b, ent->d_name, errbuf, errlen);
        if (!t || topics_add(b, t)) {
            topic_free(t);
            err = SAMSA_ERR__STORAGE;
        }
    }
    if (d)
        closedir(d);
    /* Partition directories of topics without a file */
    for (size_t i = 0; !err && i < nfound; i++) {
        broker_topic_t *t = topic_find_cstr(b, found[i].topic);
        char why[256];
        if (!t && topic_name_check(proto_str_of(found[i].topic), why, sizeof(why)) == 0) {
            if (!(t = topic_alloc(b, found[i].topic)) || topics_add(b, t)) {
                topic_free(t);
                err = SAMSA_ERR__NOMEM;
                break;
            }
            broker_uuid_new(&t->id);
            slog_warn(BROKER_MODULE, "topic %s had no metadata: giving it a new id",
                      found[i].topic);
        }
        if (t && found[i].partition >= t->partition_count) {
            t->partition_count = found[i].partition + 1;
            err = topic_file_write(b, t);
        }
    }
    open_jobs_t jobs = {0};
    for (size_t i = 0; !err && i < b->topic_count; i++)
        err = topic_open_partitions(b, b->topics[i], found, nfound, &jobs, errbuf, errlen);
    if (!err)
        err = partitions_open_found(b, &jobs, errbuf, errlen);
    free(jobs.v);
    free(found);
    if (err) {
        if (!errbuf[0])
            snprintf(errbuf, errlen, "cannot open the topics: %s", samsa_err_str(err));
        return err;
    }
    if (!topic_find_cstr(b, BROKER_OFFSETS_TOPIC)) {
        char why[256];
        err = topic_create(b, proto_str_of(BROKER_OFFSETS_TOPIC), 1, NULL, 0, false, NULL, why,
                           sizeof(why));
        if (err)
            snprintf(errbuf, errlen, "cannot create %s: %s", BROKER_OFFSETS_TOPIC, why);
    }
    return err;
}

void topics_close(struct broker *b)
{
    for (size_t i = 0; i < b->topic_count; i++) {
        broker_topic_t *t = b->topics[i];
        for (int32_t p = 0; t->partitions && p < t->partition_count; p++)
            partition_close(b, t->partitions[p], false);
        topic_free(t);
    }
    free(b->topics);
    b->topics = NULL;
    b->topic_count = b->topic_cap = 0;
}

/* ---- create, grow, delete -------------------------------------------------- */

samsa_err_t topic_create(struct broker *b, proto_str_t name, int32_t partitions,
                         const topic_config_kv_t *configs, size_t config_count, bool validate_only,
                         broker_topic_t **out, char *why, size_t whylen)
{
    if (out)
        *out = NULL;
    samsa_err_t err = topic_name_check(name, why, whylen);
    if (err)
        return err;
    if (topic_find(b, name)) {
        snprintf(why, whylen, "Topic '%.*s' already exists.", (int)name.len, name.ptr);
        return SAMSA_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (partitions <= 0 || partitions > 100000) {
        snprintf(why, whylen, "Number of partitions must be from 1 to 100000.");
        return SAMSA_ERR_INVALID_PARTITIONS;
    }
    char cname[256];
    snprintf(cname, sizeof(cname), "%.*s", (int)name.len, name.ptr);
    broker_topic_t *t = topic_alloc(b, cname);
    if (!t) {
        snprintf(why, whylen, "out of memory");
        return SAMSA_ERR_KAFKA_STORAGE_ERROR;
    }
    for (size_t i = 0; i < config_count && !err; i++) {
        if (!configs[i].value)
            continue; /* null: the default */
        err = topic_config_set(&t->config, configs[i].key, configs[i].value, why, whylen);
        if (!err && samsa_conf_set(t->overrides, configs[i].key, configs[i].value, why, whylen))
            err = SAMSA_ERR_INVALID_CONFIG;
    }
    if (err || validate_only) {
        topic_free(t);
        return err;
    }
    broker_uuid_new(&t->id);
    t->partition_count = partitions;
    char errbuf[512] = "";
    if (topic_file_write(b, t) || topics_add(b, t)) {
        snprintf(why, whylen, "cannot write the topic's metadata");
        topic_free(t);
        return SAMSA_ERR_KAFKA_STORAGE_ERROR;
    }
    err = topic_open_partitions(b, t, NULL, 0, NULL, errbuf, sizeof(errbuf));
    if (err) {
        snprintf(why, whylen, "%s", errbuf);
        topic_delete(b, t);
        return SAMSA_ERR_KAFKA_STORAGE_ERROR;
    }
    slog_info(BROKER_MODULE, "created topic %s with %d partition(s)", t->name, (int)partitions);
    if (out)
        *out = t;
    return SAMSA_ERR_NONE;
}

samsa_err_t topic_add_partitions(struct broker *b, broker_topic_t *t, int32_t count,
                                 bool validate_only, char *why, size_t whylen)
{
    if (count <= t->partition_count || count > 100000) {
        snprintf(why, whylen, "Topic currently has %d partitions, %d would not be an increase.",
                 (int)t->partition_count, (int)count);
        return SAMSA_ERR_INVALID_PARTITIONS;
    }
    if (validate_only)
        return SAMSA_ERR_NONE;
    broker_partition_t **parts = realloc(t->partitions, (size_t)count * sizeof(*parts));
    if (!parts) {
        snprintf(why, whylen, "out of memory");
        return SAMSA_ERR_KAFKA_STORAGE_ERROR;
    }
    t->partitions = parts;
    int32_t old = t->partition_count;
    char errbuf[512] = "";
    for (int32_t p = old; p < count; p++) {
        if (partition_open(b, t, p, NULL, errbuf, sizeof(errbuf))) {
            snprintf(why, whylen, "%s", errbuf);
            for (int32_t q = old; q < p; q++)
                partition_close(b, t->partitions[q], true);
            return SAMSA_ERR_KAFKA_STORAGE_ERROR;
        }
    }
    t->partition_count = count;
    if (topic_file_write(b, t)) {
        snprintf(why, whylen, "cannot write the topic's metadata");
        return SAMSA_ERR_KAFKA_STORAGE_ERROR;
    }
    slog_info(BROKER_MODULE, "topic %s now has %d partitions", t->name, (int)count);
    return SAMSA_ERR_NONE;
}

samsa_err_t topic_delete(struct broker *b, broker_topic_t *t)
{
    char path[4096];
    topic_path(b, t->name, path, sizeof(path));
    /* The metadata goes first: a crash half-way leaves partition
     * directories that the next start adopts rather than a topic whose
     * data is partly gone. */
    samsa_err_t err = SAMSA_ERR_NONE;
    if (unlink(path) != 0 && errno != ENOENT) {
        slog_error(BROKER_MODULE, "cannot remove %s: %s", path, strerror(errno));
        err = SAMSA_ERR__STORAGE;
    }
    topics_remove(b, t);
    for (int32_t p = 0; t->partitions && p < t->partition_count; p++)
        if (t->partitions[p])
            partition_close(b, t->partitions[p], true);
    slog_info(BROKER_MODULE, "deleted topic %s", t->name);
    if (b->groups) /* not yet made while the topics open at start */
        group_topic_deleted(b->groups, t->name);
    topic_free(t);
    return err;
}
