/*
 * common.c: what the samsa command's subcommands share (see common.h): the
 * option parser, -X/-F client properties, producer creation and delivery
 * failure messages, the embedded broker of `-b embedded`, and SIGINT/SIGTERM.
 */
#include "common.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- subcommands ---- */

void cli_print_commands(FILE *out, const char *prefix, const cli_command_t *table)
{
    for (const cli_command_t *c = table; c->name; c++)
        fprintf(out, "  %s%s %s\n                 %s\n", prefix, c->name, c->synopsis, c->summary);
}

int cli_dispatch(const char *cmd, const char *what, const cli_command_t *table,
                 void (*usage)(FILE *out), int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "%% %s: which %s?\n", cmd, what);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[0];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (const cli_command_t *c = table; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "%% %s: unknown %s %s\n", cmd, what, name);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

/* ---- options ---- */

void cli_args_init(cli_args_t *a, const char *cmd, const cli_opt_t *opts, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    a->opts = opts;
    a->argc = argc;
    a->argv = argv;
}

static const cli_opt_t *find_short(const cli_opt_t *opts, char c)
{
    for (const cli_opt_t *o = opts; o->id; o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

static const cli_opt_t *find_long(const cli_opt_t *opts, const char *name, size_t len)
{
    for (const cli_opt_t *o = opts; o->id; o++)
        if (o->long_name && strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0)
            return o;
    return NULL;
}

/* -h and --help, known to every table. */
static const cli_opt_t help_opt = {CLI_HELP, 'h', "help", NULL};

int cli_next(cli_args_t *a)
{
    a->flag = NULL;
    a->value = NULL;
    if (a->next >= a->argc)
        return CLI_END;
    char *arg = a->argv[a->next++];
    /* "-" alone is an operand by custom (standard input). */
    if (a->operands_only || arg[0] != '-' || arg[1] == '\0') {
        a->value = arg;
        return CLI_OPERAND;
    }
    if (strcmp(arg, "--") == 0) {
        a->operands_only = true;
        return cli_next(a);
    }

    const cli_opt_t *o;
    const char *attached = NULL; /* a value written into the same argument */
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        a->flag = arg;
        if (eq) {
            snprintf(a->flag_buf, sizeof(a->flag_buf), "--%.*s", (int)len, name);
            a->flag = a->flag_buf;
            attached = eq + 1;
        }
        o = len == 4 && strncmp(name, "help", 4) == 0 ? &help_opt : find_long(a->opts, name, len);
    } else {
        snprintf(a->flag_buf, sizeof(a->flag_buf), "-%c", arg[1]);
        a->flag = a->flag_buf;
        if (arg[2])
            attached = arg + 2;
        o = arg[1] == 'h' ? &help_opt : find_short(a->opts, arg[1]);
    }
    if (!o) {
        cli_usage_error(a, "unknown option %s", a->flag);
        return CLI_BAD;
    }
    if (!o->value_name) {
        if (!attached)
            return o->id;
        cli_usage_error(a, "%s takes no value (got %s)", a->flag, arg);
        return CLI_BAD;
    }
    if (attached) {
        a->value = attached;
    } else if (a->next < a->argc) {
        a->value = a->argv[a->next++];
    } else {
        cli_usage_error(a, "%s needs %s", a->flag, o->value_name);
        return CLI_BAD;
    }
    return o->id;
}

int cli_parse(cli_args_t *a, cli_option_fn *on_option, void *ctx, void (*usage)(FILE *out))
{
    int opt;
    while ((opt = cli_next(a)) != CLI_END) {
        if (opt == CLI_HELP) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_BAD)
            return CLI_EXIT_USAGE;
        int status = on_option(ctx, a, opt);
        if (status)
            return status;
    }
    return CLI_PARSED;
}

int cli_usage_error(const cli_args_t *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%% %s: ", a->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%% try: %s --help\n", a->cmd);
    return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%% %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_value_int64(const cli_args_t *a, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(a->value, &end, 10);
    if (errno || end == a->value || *end || v < min || v > max)
        return cli_usage_error(a, "%s: \"%s\" is not an integer in %" PRId64 "..%" PRId64, a->flag,
                               a->value, min, max);
    *out = v;
    return 0;
}

int cli_value_choice(const cli_args_t *a, const char *const *choices)
{
    char list[256] = "";
    size_t used = 0;
    for (const char *const *c = choices; *c; c++) {
        if (strcmp(a->value, *c) == 0)
            return 0;
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", *c);
        if (n > 0 && (size_t)n < sizeof(list) - used)
            used += (size_t)n;
    }
    return cli_usage_error(a, "%s: \"%s\" is not one of %s", a->flag, a->value, list);
}

/* ---- client properties ---- */

int cli_conf_set(const cli_args_t *a, samsa_conf_t *conf, const char *key, const char *value)
{
    char errstr[512];
    samsa_err_t err = samsa_conf_set(conf, key, value, errstr, sizeof(errstr));
    if (err == SAMSA_ERR__NOMEM)
        return cli_fail(a->cmd, "out of memory");
    if (err)
        return cli_usage_error(a, "%s: %s", a->flag, errstr);
    return 0;
}

/* Sets the property "KEY=VALUE" in a->value. */
static int conf_kv(const cli_args_t *a, samsa_conf_t *conf)
{
    const char *eq = strchr(a->value, '=');
    if (!eq || eq == a->value)
        return cli_usage_error(a, "%s \"%s\" is not key=value", a->flag, a->value);
    char key[256];
    if ((size_t)(eq - a->value) >= sizeof(key))
        return cli_usage_error(a, "%s: the key of \"%s\" is longer than %zu bytes", a->flag,
                               a->value, sizeof(key) - 1);
    memcpy(key, a->value, (size_t)(eq - a->value));
    key[eq - a->value] = '\0';
    return cli_conf_set(a, conf, key, eq + 1);
}

/* Reads the properties file named by a->value. */
static int conf_file(const cli_args_t *a, samsa_conf_t *conf)
{
    char errstr[512];
    samsa_err_t err = samsa_conf_set_file(conf, a->value, errstr, sizeof(errstr));
    if (err == SAMSA_ERR__NOMEM)
        return cli_fail(a->cmd, "out of memory");
    if (err)
        return cli_fail(a->cmd, "%s %s: %s", a->flag, a->value, errstr);
    return 0;
}

int cli_client_init(cli_client_t *c, const char *cmd)
{
    c->bootstrap = NULL;
    c->conf = samsa_conf_new();
    return c->conf ? 0 : cli_fail(cmd, "out of memory");
}

int cli_client_option(cli_client_t *c, const cli_args_t *a, int opt)
{
    switch (opt) {
    case CLI_OPT_BOOTSTRAP:
        c->bootstrap = a->value;
        return 0;
    case CLI_OPT_PROPERTY:
        return conf_kv(a, c->conf);
    case CLI_OPT_PROPERTIES_FILE:
        return conf_file(a, c->conf);
    case CLI_OPERAND:
        return cli_usage_error(a, "unexpected argument %s", a->value);
    default:
        return cli_usage_error(a, "%s is not handled here", a->flag);
    }
}

int cli_client_finish(cli_client_t *c, cli_args_t *a)
{
    if (c->bootstrap) {
        a->flag = "-b";
        return cli_conf_set(a, c->conf, "bootstrap.servers", c->bootstrap);
    }
    if (samsa_conf_get(c->conf, "bootstrap.servers") ||
        samsa_conf_get(c->conf, "metadata.broker.list"))
        return 0;
    return cli_usage_error(a, "-b HOST:PORT is required (or -X bootstrap.servers=HOST:PORT)");
}

void cli_client_free(cli_client_t *c)
{
    samsa_conf_free(c->conf);
    c->conf = NULL;
}

/* Threads the library starts inherit the signal mask of the thread that
 * starts them; with SIGINT and SIGTERM blocked there, the signals reach the
 * main thread, where they interrupt a blocking read. */
static void block_interrupts(sigset_t *old)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, old);
}

samsa_producer_t *cli_producer_new(const char *cmd, cli_client_t *c,
                                   samsa_delivery_report_fn *on_report, void *opaque)
{
    char errstr[512];
    samsa_producer_callbacks_t callbacks = {.delivery_report = on_report, .opaque = opaque};
    sigset_t old;
    block_interrupts(&old);
    samsa_producer_t *p = samsa_producer_new(c->conf, &callbacks, errstr, sizeof(errstr));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p)
        c->conf = NULL;
    else
        cli_fail(cmd, "producer configuration: %s", errstr);
    return p;
}

samsa_consumer_t *cli_consumer_new(const char *cmd, cli_client_t *c,
                                   const samsa_consumer_callbacks_t *callbacks)
{
    char errstr[512];
    sigset_t old;
    block_interrupts(&old);
    samsa_consumer_t *consumer = samsa_consumer_new(c->conf, callbacks, errstr, sizeof(errstr));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (consumer)
        c->conf = NULL;
    else
        cli_fail(cmd, "consumer configuration: %s", errstr);
    return consumer;
}

samsa_admin_t *cli_admin_new(const char *cmd, cli_client_t *c)
{
    char errstr[512];
    sigset_t old;
    block_interrupts(&old);
    samsa_admin_t *admin = samsa_admin_new(c->conf, errstr, sizeof(errstr));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (admin)
        c->conf = NULL;
    else
        cli_fail(cmd, "admin configuration: %s", errstr);
    return admin;
}

/* The properties every client handle knows: how to reach the brokers. */
static const char *const connection_keys[] = {
    "bootstrap.servers", "metadata.broker.list", "client.id", "request.timeout.ms",
    "socket.timeout.ms", "reconnect.backoff.ms", "reconnect.backoff.max.ms",
    "socket.connection.setup.timeout.ms", "metadata.max.age.ms",
    "topic.metadata.refresh.interval.ms", "retry.backoff.ms", "receive.message.max.bytes",
    NULL,
};

samsa_conf_t *cli_connection_conf(const samsa_conf_t *from)
{
    samsa_conf_t *conf = samsa_conf_new();
    for (const char *const *k = connection_keys; conf && *k; k++) {
        const char *v = samsa_conf_get(from, *k);
        if (v && samsa_conf_set(conf, *k, v, NULL, 0)) {
            samsa_conf_free(conf);
            conf = NULL;
        }
    }
    return conf;
}

int cli_admin_fail(const char *cmd, const char *what, samsa_err_t err)
{
    const char *why = samsa_admin_last_error();
    return cli_fail(cmd, "%s: %s: %s", what, samsa_err_name(err),
                    why && why[0] ? why : samsa_err_str(err));
}

const char *cli_why(samsa_err_t err, const char *errstr)
{
    static char text[256];
    if (errstr && errstr[0])
        return errstr;
    snprintf(text, sizeof(text), "%s: %s", samsa_err_name(err), samsa_err_str(err));
    return text;
}

void cli_print_delivery_failure(const char *cmd, const samsa_delivery_report_t *report)
{
    const char *why = report->errstr && report->errstr[0] ? report->errstr
                                                          : samsa_err_str(report->err);
    fprintf(stderr, "%% %s: delivery failed: %s: %s\n", cmd, samsa_err_name(report->err), why);
}

/* ---- admin subcommands ---- */

int cli_action_take(cli_action_t *act, const cli_args_t *a, int opt)
{
    if (act->id && act->id != opt)
        return cli_usage_error(a, "%s and %s exclude each other", act->flag, a->flag);
    act->id = opt;
    /* Actions are long switches, so the flag is the argument itself and
     * outlives the parse. */
    act->flag = a->argv[a->next - 1];
    return 0;
}

int cli_action_name(cli_action_t *act, const cli_args_t *a, const char *what)
{
    if (act->name)
        return cli_usage_error(a, "one %s only (got %s and %s)", what, act->name, a->value);
    if (!a->value[0])
        return cli_usage_error(a, "the %s is empty", what);
    act->name = a->value;
    return 0;
}

int cli_admin_command_run(const cli_admin_command_t *def, cli_client_t *client, void *ctx,
                          int argc, char **argv)
{
    samsa_admin_t *admin = NULL;
    cli_args_t a;
    int status;
    cli_args_init(&a, def->cmd, def->opts, argc, argv);
    if ((status = cli_parse(&a, def->on_option, ctx, def->usage)) != CLI_PARSED)
        goto done;
    if ((status = def->check(ctx, &a)) || (status = cli_client_finish(client, &a)))
        goto done;
    admin = cli_admin_new(def->cmd, client);
    status = admin ? def->run(ctx, admin) : CLI_EXIT_FAIL;
done:
    samsa_admin_free(admin);
    cli_client_free(client);
    return status;
}

/* ---- an embedded broker ---- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path) == 0 ? 0 : -1;
}

int cli_embedded_start(const char *cmd, cli_embedded_t *e)
{
    char errstr[512];
    samsa_conf_t *conf = NULL;
    memset(e, 0, sizeof(*e));
    setenv("SAMSA_LOG_LEVEL", "4", 0);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = "/tmp";
    int n = snprintf(e->dir, sizeof(e->dir), "%s/samsa-embedded-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof(e->dir)) {
        e->dir[0] = '\0';
        cli_fail(cmd, "embedded broker: TMPDIR %s is too long", tmp);
        goto fail;
    }
    if (!mkdtemp(e->dir)) {
        cli_fail(cmd, "embedded broker: cannot make a directory under %s: %s", tmp,
                 strerror(errno));
        e->dir[0] = '\0';
        goto fail;
    }
    conf = samsa_conf_new();
    if (!conf || samsa_conf_set(conf, "log.dirs", e->dir, errstr, sizeof(errstr)) ||
        samsa_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", errstr, sizeof(errstr))) {
        cli_fail(cmd, "embedded broker: out of memory");
        goto fail;
    }
    sigset_t old;
    block_interrupts(&old);
    e->broker = samsa_broker_new(conf, errstr, sizeof(errstr));
    if (!e->broker) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        cli_fail(cmd, "embedded broker: %s", errstr);
        goto fail;
    }
    conf = NULL; /* the broker's now */
    samsa_err_t err = samsa_broker_start(e->broker);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        cli_fail(cmd, "embedded broker: cannot start: %s", samsa_err_str(err));
        goto fail;
    }
    return 0;

fail:
    samsa_conf_free(conf);
    cli_embedded_stop(e);
    return CLI_EXIT_FAIL;
}

const char *cli_embedded_bootstrap(const cli_embedded_t *e)
{
    return samsa_broker_bootstrap(e->broker);
}

void cli_embedded_stop(cli_embedded_t *e)
{
    if (e->broker) {
        samsa_broker_stop(e->broker);
        samsa_broker_free(e->broker);
        e->broker = NULL;
    }
    if (e->dir[0]) {
        if (nftw(e->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
            fprintf(stderr, "%% embedded broker: cannot remove %s: %s\n", e->dir,
                    strerror(errno));
        e->dir[0] = '\0';
    }
}

/* ---- interruption ---- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = 1;
}

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a blocking read returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_interrupted(void)
{
    return interrupted != 0;
}
