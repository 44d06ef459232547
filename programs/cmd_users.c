/*
 * cmd_users.c: `samsa users add|delete|list`: manages the users of a
 * broker's SASL listeners in the credentials file its properties name
 * (sasl.credentials.file): salted SCRAM credentials, never a password.
 * The file is rewritten atomically (mode 0600); a running broker picks the
 * change up at the next authentication.
 */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"

#define CMD "samsa users"
#define PASSWORD_MAX_BYTES 256

enum {
    OPT_CONFIG = CLI_OPT_OWN,
    OPT_MECHANISM,
    OPT_USER,
    OPT_PASSWORD,
    OPT_ITERATIONS,
};

static const cli_opt_t users_opts[] = {
    {OPT_CONFIG, 'c', "config", "FILE"},
    {OPT_MECHANISM, 'm', "mechanism", "MECHANISM"},
    {OPT_USER, 'u', "user", "NAME"},
    {OPT_PASSWORD, 0, "password", "PASSWORD"},
    {OPT_ITERATIONS, 'i', "iterations", "N"},
    {0, 0, NULL, NULL},
};

static const char *const mechanisms[] = {"SCRAM-SHA-256", "SCRAM-SHA-512", NULL};

static void users_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa users add --config BROKER.properties --user NAME [OPTIONS]\n"
            "       samsa users delete --config BROKER.properties --user NAME [--mechanism M]\n"
            "       samsa users list --config BROKER.properties\n"
            "\n"
            "Manages the users of the broker's SASL listeners, kept as salted SCRAM\n"
            "credentials in the file named by the broker's sasl.credentials.file. PLAIN\n"
            "logins are checked against the same credentials. A running broker rereads the\n"
            "file when it changes.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE          the broker's properties file\n"
            "  -u, --user NAME            the user (printable ASCII, no spaces)\n"
            "  -m, --mechanism MECHANISM  SCRAM-SHA-256 or SCRAM-SHA-512 (add: both when not\n"
            "                             given; delete: every mechanism when not given)\n"
            "      --password PASSWORD    the password (add; read from standard input, one\n"
            "                             line, when not given)\n"
            "  -i, --iterations N         PBKDF2 iterations, 4096 to 16384 (default 4096)\n"
            "  -h, --help                 this help\n"
            "\n"
            "list prints one line per credential: USER MECHANISM iterations=N.\n");
}

typedef struct users_run {
    const char *action;
    const char *config;
    const char *mechanism;
    const char *user;
    const char *password;
    int64_t iterations;
} users_run_t;

static int users_option(void *ctx, const cli_args_t *a, int opt)
{
    users_run_t *run = ctx;
    switch (opt) {
    case CLI_OPERAND:
        if (run->action)
            return cli_usage_error(a, "unexpected argument %s", a->value);
        if (strcmp(a->value, "add") != 0 && strcmp(a->value, "delete") != 0 &&
            strcmp(a->value, "list") != 0)
            return cli_usage_error(a, "unknown action %s (add, delete or list)", a->value);
        run->action = a->value;
        return 0;
    case OPT_CONFIG: run->config = a->value; return 0;
    case OPT_USER: run->user = a->value; return 0;
    case OPT_PASSWORD: run->password = a->value; return 0;
    case OPT_MECHANISM:
        run->mechanism = a->value;
        return cli_value_choice(a, mechanisms);
    case OPT_ITERATIONS: return cli_value_int64(a, 4096, 16384, &run->iterations);
    default: return cli_usage_error(a, "%s is not an option of samsa users", a->flag);
    }
}

/* Reads one line (the password) from standard input into buf, without
 * echoing it on a terminal. Returns 0, or -1 when there is none. */
static int read_password(char *buf, size_t cap)
{
    struct termios saved, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fprintf(stderr, "%% password: ");
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(buf, (int)cap, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf(stderr, "\n");
    }
    if (!ok)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? 0 : -1;
}

static void print_user(void *opaque, const char *user, const char *mechanism, int iterations)
{
    printf("%s %s iterations=%d\n", user, mechanism, iterations);
}

static int users_add(const users_run_t *run, const samsa_conf_t *conf)
{
    char typed[PASSWORD_MAX_BYTES + 2];
    const char *password = run->password;
    if (!password) {
        if (read_password(typed, sizeof(typed)) != 0)
            return cli_fail(CMD, "no password on standard input (or give --password)");
        password = typed;
    }
    char errstr[512];
    int status = CLI_EXIT_OK;
    for (size_t i = 0; mechanisms[i] && status == CLI_EXIT_OK; i++) {
        if (run->mechanism && strcmp(run->mechanism, mechanisms[i]) != 0)
            continue;
        samsa_err_t err = samsa_broker_user_set(conf, mechanisms[i], run->user, password,
                                                (int)run->iterations, errstr, sizeof(errstr));
        if (err)
            status = cli_fail(CMD, "add %s: %s", run->user, errstr);
        else
            fprintf(stderr, "%% %s: %s set for %s\n", CMD, mechanisms[i], run->user);
    }
    memset(typed, 0, sizeof(typed));
    return status;
}

int cmd_users(int argc, char **argv)
{
    users_run_t run = {0};
    cli_args_t a;
    cli_args_init(&a, CMD, users_opts, argc, argv);
    int status = cli_parse(&a, users_option, &run, users_usage);
    if (status != CLI_PARSED)
        return status;
    if (!run.action)
        return cli_usage_error(&a, "which action: add, delete or list?");
    if (!run.config)
        return cli_usage_error(&a, "--config BROKER.properties is required");
    if (strcmp(run.action, "list") != 0 && !run.user)
        return cli_usage_error(&a, "--user is required");
    if (strcmp(run.action, "add") != 0 && (run.password || run.iterations))
        return cli_usage_error(&a, "--password and --iterations go with add only");

    char errstr[512];
    samsa_conf_t *conf = samsa_conf_new();
    if (!conf)
        return cli_fail(CMD, "out of memory");
    if (samsa_conf_set_file(conf, run.config, errstr, sizeof(errstr))) {
        samsa_conf_free(conf);
        return cli_fail(CMD, "%s", errstr);
    }
    samsa_err_t err = SAMSA_ERR_NONE;
    if (strcmp(run.action, "add") == 0) {
        status = users_add(&run, conf);
    } else if (strcmp(run.action, "delete") == 0) {
        err = samsa_broker_user_delete(conf, run.mechanism, run.user, errstr, sizeof(errstr));
        status = err ? cli_fail(CMD, "delete %s: %s", run.user, errstr) : CLI_EXIT_OK;
        if (!err)
            fprintf(stderr, "%% %s: deleted %s's %s credential%s\n", CMD, run.user,
                    run.mechanism ? run.mechanism : "SCRAM", run.mechanism ? "" : "s");
    } else {
        err = samsa_broker_user_list(conf, print_user, NULL, errstr, sizeof(errstr));
        status = err ? cli_fail(CMD, "list: %s", errstr) : CLI_EXIT_OK;
    }
    samsa_conf_free(conf);
    return status;
}
