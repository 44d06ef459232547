/*
 * admin.c: the admin client's handle (samsa_admin_* in samsa.h): its I/O
 * thread, blocking calls that post an operation and wait for it, the
 * thread's last error, and result blocks that the caller frees at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/conf.h"
#include "client/admin_int.h"

#define WAIT_GRACE_MS 5000 /* the I/O thread ends every op by its deadline; this is a backstop */

static __thread char last_error[512];

void admin_set_last_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
}

SAMSA_API const char *samsa_admin_last_error(void) { return last_error; }

/* ---- result blocks ---------------------------------------------------- */

typedef union result_head {
    arena_t arena;
    max_align_t align;
} result_head_t;

void *admin_result_new(size_t size)
{
    result_head_t *h = calloc(1, sizeof(*h) + size);
    if (!h)
        return NULL;
    arena_init(&h->arena, 0);
    return h + 1;
}

arena_t *admin_result_arena(void *root) { return &((result_head_t *)root - 1)->arena; }

void admin_result_free(void *root)
{
    if (!root)
        return;
    result_head_t *h = (result_head_t *)root - 1;
    arena_free(&h->arena);
    free(h);
}

const char *admin_result_str(void *root, proto_str_t s)
{
    if (s.len < 0)
        return NULL;
    char *p = arena_alloc(admin_result_arena(root), (size_t)s.len + 1);
    if (!p)
        return "";
    memcpy(p, s.ptr, (size_t)s.len);
    p[s.len] = 0;
    return p;
}

const char *admin_result_cstr(void *root, const char *s)
{
    return s ? admin_result_str(root, proto_str_of(s)) : NULL;
}

const char *admin_result_printf(void *root, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return admin_result_cstr(root, buf);
}

const char *admin_result_error(void *root, const char *what, samsa_err_t err, proto_str_t message,
                               const char *where)
{
    if (!err)
        return "";
    if (message.len > 0)
        return admin_result_printf(root, "%s: %s: %.*s (%s)", what, samsa_err_name(err),
                                   (int)message.len, message.ptr, where);
    return admin_result_printf(root, "%s: %s: %s (%s)", what, samsa_err_name(err),
                               samsa_err_str(err), where);
}

SAMSA_API void samsa_topic_results_free(samsa_topic_result_t *results) { admin_result_free(results); }
SAMSA_API void samsa_cluster_info_free(samsa_cluster_info_t *info) { admin_result_free(info); }
SAMSA_API void samsa_offset_results_free(samsa_offset_result_t *results) { admin_result_free(results); }
SAMSA_API void samsa_group_list_free(samsa_group_list_t *list) { admin_result_free(list); }
SAMSA_API void samsa_group_descriptions_free(samsa_group_description_t *groups)
{
    admin_result_free(groups);
}
SAMSA_API void samsa_config_results_free(samsa_config_result_t *results) { admin_result_free(results); }

SAMSA_API const char *samsa_config_source_name(samsa_config_source_t source)
{
    switch (source) {
    case SAMSA_CONFIG_SOURCE_DYNAMIC_TOPIC:
        return "DYNAMIC_TOPIC_CONFIG";
    case SAMSA_CONFIG_SOURCE_DYNAMIC_BROKER:
        return "DYNAMIC_BROKER_CONFIG";
    case SAMSA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER:
        return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case SAMSA_CONFIG_SOURCE_STATIC_BROKER:
        return "STATIC_BROKER_CONFIG";
    case SAMSA_CONFIG_SOURCE_DEFAULT:
        return "DEFAULT_CONFIG";
    case SAMSA_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER:
        return "DYNAMIC_BROKER_LOGGER_CONFIG";
    default:
        return "UNKNOWN";
    }
}

/* ---- operations ------------------------------------------------------- */

const char *admin_op_str(admin_op_t *op, const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    char *p = arena_alloc(&op->in, len + 1);
    if (!p)
        return "";
    memcpy(p, s, len + 1);
    return p;
}

admin_op_t *admin_op_new(samsa_admin_t *a, const admin_kind_t *kind, size_t n, int timeout_ms)
{
    admin_op_t *op = calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->items = calloc(n ? n : 1, sizeof(*op->items));
    if (!op->items) {
        free(op);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        op->items[i].coordinator = -1;
        op->items[i].node = -1;
    }
    op->admin = a;
    op->kind = kind;
    op->refs = 1;
    op->n = n;
    op->timeout_ms = timeout_ms;
    arena_init(&op->in, 0);
    return op;
}

void admin_op_unref(admin_op_t *op)
{
    if (__atomic_sub_fetch(&op->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    admin_result_free(op->result);
    arena_free(&op->in);
    free(op->items);
    free(op);
}

/* Absolute CLOCK_MONOTONIC time ms from now. */
static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

samsa_err_t admin_op_run(admin_op_t *op, void **result, size_t *count)
{
    samsa_admin_t *a = op->admin;
    *result = NULL;
    __atomic_add_fetch(&op->refs, 1, __ATOMIC_ACQ_REL); /* the I/O thread's */
    samsa_err_t err = loop_post(a->loop, admin_io_add, op);
    if (err) {
        admin_op_unref(op);
        admin_op_unref(op);
        admin_set_last_error("%s: out of memory", op->kind->name);
        return err;
    }
    struct timespec deadline = deadline_in((int64_t)op->timeout_ms + WAIT_GRACE_MS);
    bool done;
    pthread_mutex_lock(&a->lock);
    while (!op->done)
        if (pthread_cond_timedwait(&a->done_cond, &a->lock, &deadline) == ETIMEDOUT)
            break;
    done = op->done;
    if (done && op->err == SAMSA_ERR_NONE) {
        *result = op->result;
        op->result = NULL;
        if (count)
            *count = op->result_count;
    }
    pthread_mutex_unlock(&a->lock);
    if (!done) {
        err = SAMSA_ERR__TIMED_OUT;
        admin_set_last_error("%s: no answer within %d ms", op->kind->name, op->timeout_ms);
    } else {
        err = op->err;
        admin_set_last_error("%s", err ? op->errstr : "");
    }
    admin_op_unref(op);
    return err;
}

/* ---- the handle ------------------------------------------------------- */

static void *io_thread(void *opaque)
{
    samsa_admin_t *a = opaque;
    loop_run(a->loop);
    return NULL;
}

static void destroy(samsa_admin_t *a)
{
    if (a->loop)
        loop_free(a->loop);
    pthread_cond_destroy(&a->done_cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

SAMSA_API samsa_admin_t *samsa_admin_new_kv(const char *const *keys, const char *const *values,
                                            size_t n, char *errstr, size_t errlen)
{
    char scratch[1];
    if (!errstr) {
        errstr = scratch;
        errlen = sizeof(scratch);
    }
    client_config_t cfg;
    client_config_init(&cfg);
    for (size_t i = 0; i < n; i++)
        if (client_config_set(&cfg, keys[i], values[i], errstr, errlen))
            return NULL;
    cfg.delivery_timeout_ms = INT32_MAX; /* a producer's setting, not to be checked here */
    if (client_config_finish(&cfg, errstr, errlen))
        return NULL;
    cfg.auto_create_topics = false; /* looking a topic up never creates it */
    samsa_admin_t *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->done_cond, &ca);
    pthread_condattr_destroy(&ca);
    a->loop = loop_new();
    if (!a->loop) {
        snprintf(errstr, errlen, "cannot create the event loop: %s", strerror(errno));
        destroy(a);
        return NULL;
    }
    if (admin_io_init(a, errstr, errlen)) {
        destroy(a);
        return NULL;
    }
    int rc = pthread_create(&a->thread, NULL, io_thread, a);
    if (rc) {
        snprintf(errstr, errlen, "cannot start the admin I/O thread: %s", strerror(rc));
        admin_io_shutdown(a);
        destroy(a);
        return NULL;
    }
    a->thread_started = true;
    return a;
}

SAMSA_API samsa_admin_t *samsa_admin_new(samsa_conf_t *conf, char *errstr, size_t errlen)
{
    const char **keys, **values;
    size_t n;
    if (conf_arrays(conf, &keys, &values, &n, errstr, errlen))
        return NULL;
    samsa_admin_t *a = samsa_admin_new_kv(keys, values, n, errstr, errlen);
    free(keys);
    free(values);
    if (a)
        samsa_conf_free(conf);
    return a;
}

SAMSA_API void samsa_admin_free(samsa_admin_t *a)
{
    if (!a)
        return;
    if (a->thread_started) {
        loop_stop(a->loop);
        pthread_join(a->thread, NULL);
        a->thread_started = false;
    }
    admin_io_shutdown(a);
    destroy(a);
}
