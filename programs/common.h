/*
 * common.h: what the samsa command's subcommands share: exit statuses, the
 * option parser (short and long flags, usage errors that name the flag),
 * client properties from -X key=value and -F FILE, an embedded broker,
 * delivery failure messages and stopping on SIGINT/SIGTERM.
 *
 * The command is built on the public API (samsa.h) only. Everything here
 * runs on the program's main thread.
 */
#ifndef SAMSA_PROGRAMS_COMMON_H
#define SAMSA_PROGRAMS_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "samsa.h"

/* Exit statuses of every subcommand. */
enum {
    CLI_EXIT_OK = 0,    /* everything asked for was done */
    CLI_EXIT_FAIL = 1,  /* something failed at run time (see stderr) */
    CLI_EXIT_USAGE = 2, /* the command line is wrong (see stderr) */
};

/* The subcommands, each run with the arguments after its name (argv[0] is
 * the first of them, not the command). Each returns an exit status. */
int cmd_broker(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_perf(int argc, char **argv);
int cmd_perf_produce(int argc, char **argv);
int cmd_perf_consume(int argc, char **argv);
int cmd_consume(int argc, char **argv);
int cmd_topics(int argc, char **argv);
int cmd_groups(int argc, char **argv);
int cmd_users(int argc, char **argv);

/* A table of subcommands (ending with a NULL name), for `samsa COMMAND`
 * and `samsa perf TEST`. */
typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* the arguments after the name, for the usage text */
    const char *summary;  /* what it does, in a few words */
} cli_command_t;

/* Prints each command of table as "  NAME SYNOPSIS" and its summary,
 * prefix (e.g. "perf ") before each name. */
void cli_print_commands(FILE *out, const char *prefix, const cli_command_t *table);

/* Runs the entry of table named argv[0] with the arguments after it and
 * returns its exit status. For -h, --help or "help" prints usage on stdout
 * and returns CLI_EXIT_OK; with no name, or a name not in table, prints
 * "% CMD: which WHAT?" or "% CMD: unknown WHAT NAME" and usage on stderr
 * and returns CLI_EXIT_USAGE. what names an entry ("command", "test"). */
int cli_dispatch(const char *cmd, const char *what, const cli_command_t *table,
                 void (*usage)(FILE *out), int argc, char **argv);

/* ---- options ---- */

/* One option a subcommand knows. A table of them ends with an entry whose
 * id is 0. -h and --help are known to every table without an entry. */
typedef struct cli_opt {
    int id;                 /* returned by cli_next(); above 0 */
    char short_name;        /* 'b' for -b, or 0 */
    const char *long_name;  /* "topic" for --topic, or NULL */
    const char *value_name; /* "TOPIC" when the option takes a value; NULL for a switch */
} cli_opt_t;

/* What cli_next() returns besides an option's id. */
enum {
    CLI_END = 0,      /* no arguments left */
    CLI_HELP = -1,    /* -h or --help */
    CLI_OPERAND = -2, /* an argument that is not an option: in value */
    CLI_BAD = -3,     /* a usage error, already printed: exit with CLI_EXIT_USAGE */
};

/* The state of parsing one subcommand's arguments. */
typedef struct cli_args {
    const char *cmd;       /* "samsa produce": starts every message */
    const cli_opt_t *opts; /* the table */
    int argc;
    char **argv;
    int next;              /* index of the next argument */
    const char *flag;      /* the option last returned as written: "-b", "--acks" */
    const char *value;     /* its value (NULL for a switch), or the operand */
    bool operands_only;    /* after "--" */
    char flag_buf[64];     /* the flag when it had to be cut out of "-tname" or "--name=value" */
} cli_args_t;

/* Starts parsing argv[0..argc-1] for the command named cmd ("samsa
 * produce") with the option table opts. Nothing is copied: the strings must
 * outlive a. */
void cli_args_init(cli_args_t *a, const char *cmd, const cli_opt_t *opts, int argc, char **argv);

/* The next argument: an option's id with a->flag and a->value set
 * ("-t name", "-tname", "--topic name", "--topic=name"), CLI_OPERAND, CLI_HELP,
 * CLI_END, or CLI_BAD after printing a usage error that names the flag (an
 * unknown option, a missing value, a value given to a switch). "--" makes
 * every later argument an operand. */
int cli_next(cli_args_t *a);

/* Takes one option (an id of the table, or CLI_OPERAND) for cli_parse().
 * Returns 0, or the exit status to end with after printing why. */
typedef int cli_option_fn(void *ctx, const cli_args_t *a, int opt);

/* What cli_parse() returns when every argument was taken. */
#define CLI_PARSED (-1)

/* Parses every argument of a, giving each option and operand to on_option
 * with ctx. Returns CLI_PARSED; or, to end the command with: CLI_EXIT_OK
 * after printing usage on stdout for --help, CLI_EXIT_USAGE after a usage
 * error, or what on_option returned. */
int cli_parse(cli_args_t *a, cli_option_fn *on_option, void *ctx, void (*usage)(FILE *out));

/* Prints "% CMD: MESSAGE" and the hint to ask for --help on stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_args_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "% CMD: MESSAGE" on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a->value as a decimal integer in min..max into *out. Returns 0,
 * or CLI_EXIT_USAGE after a message naming the flag. */
int cli_value_int64(const cli_args_t *a, int64_t min, int64_t max, int64_t *out);

/* Returns 0 when a->value is one of the NULL-terminated choices, otherwise
 * CLI_EXIT_USAGE after a message naming the flag and the choices. */
int cli_value_choice(const cli_args_t *a, const char *const *choices);

/* ---- client properties ---- */

/* Option ids every client subcommand shares; each numbers its own from
 * CLI_OPT_OWN. */
enum {
    CLI_OPT_BOOTSTRAP = 1,   /* -b HOST:PORT[,...] */
    CLI_OPT_PROPERTY,        /* -X KEY=VALUE */
    CLI_OPT_PROPERTIES_FILE, /* -F FILE */
    CLI_OPT_OWN,
};

/* A client's properties as the command line gives them: -X and -F apply
 * in order, -b over both when cli_client_finish() is called. */
typedef struct cli_client {
    samsa_conf_t *conf;    /* owned until given to a handle */
    const char *bootstrap; /* -b, or NULL */
} cli_client_t;

/* Starts c with an empty conf. Returns 0, or CLI_EXIT_FAIL after a message. */
int cli_client_init(cli_client_t *c, const char *cmd);

/* Takes opt when it is one of CLI_OPT_BOOTSTRAP, CLI_OPT_PROPERTY and
 * CLI_OPT_PROPERTIES_FILE (any other is a usage error). Returns 0, or an
 * exit status after a message naming the flag (a malformed -X, a file -F
 * cannot read or parse). */
int cli_client_option(cli_client_t *c, const cli_args_t *a, int opt);

/* Sets bootstrap.servers from c->bootstrap (when given) over what -X and
 * -F said. Returns 0, or CLI_EXIT_USAGE when neither gave brokers. */
int cli_client_finish(cli_client_t *c, cli_args_t *a);

/* Frees c's conf unless a handle took it (set c->conf to NULL then). */
void cli_client_free(cli_client_t *c);

/* Sets key to value in conf. Returns 0, or an exit status after a message
 * naming a->flag. */
int cli_conf_set(const cli_args_t *a, samsa_conf_t *conf, const char *key, const char *value);

/* A producer from c->conf with reports going to on_report(opaque). On
 * success the producer owns the conf and c->conf is NULL; on failure NULL
 * is returned after printing why (naming the property) and c->conf stays. */
samsa_producer_t *cli_producer_new(const char *cmd, cli_client_t *c,
                                   samsa_delivery_report_fn *on_report, void *opaque);

/* A consumer from c->conf with callbacks (may be NULL). On success the
 * consumer owns the conf and c->conf is NULL; on failure NULL is returned
 * after printing why (naming the property) and c->conf stays. */
samsa_consumer_t *cli_consumer_new(const char *cmd, cli_client_t *c,
                                   const samsa_consumer_callbacks_t *callbacks);

/* An admin client from c->conf. On success the client owns the conf and
 * c->conf is NULL; on failure NULL is returned after printing why and
 * c->conf stays. */
samsa_admin_t *cli_admin_new(const char *cmd, cli_client_t *c);

/* A new conf holding only the connection properties of from
 * (bootstrap.servers, client.id, timeouts, backoffs ...), for an admin
 * client that works beside a consumer configured with from. NULL when
 * memory runs out. The caller owns it. */
samsa_conf_t *cli_connection_conf(const samsa_conf_t *from);

/* Prints "% CMD: WHAT: ERROR_NAME: why" on stderr for an admin call that
 * failed as a whole (why from samsa_admin_last_error()); returns
 * CLI_EXIT_FAIL. */
int cli_admin_fail(const char *cmd, const char *what, samsa_err_t err);

/* Why something failed, for a message: errstr when it says something,
 * else "ERROR_NAME: description". The string is static, valid until the
 * next call (main thread only). */
const char *cli_why(samsa_err_t err, const char *errstr);

/* Prints a failed delivery on stderr:
 * "% CMD: delivery failed: topic [partition]: ERROR_NAME: what failed". */
void cli_print_delivery_failure(const char *cmd, const samsa_delivery_report_t *report);

/* ---- admin subcommands (topics, groups) ---- */

/* The action an admin subcommand was asked for (--list, --describe ...)
 * and the name it acts on (a topic, a group). */
typedef struct cli_action {
    int id;           /* the action's option id; 0 until given */
    const char *flag; /* as written */
    const char *name; /* the operand, or NULL */
} cli_action_t;

/* Takes the action switch opt. Returns 0, or CLI_EXIT_USAGE when another
 * action was given before. */
int cli_action_take(cli_action_t *act, const cli_args_t *a, int opt);

/* Takes a->value as the name the action acts on (what: "topic", "group").
 * Returns 0, or CLI_EXIT_USAGE for a second or an empty name. */
int cli_action_name(cli_action_t *act, const cli_args_t *a, const char *what);

/* How an admin subcommand parses and runs. */
typedef struct cli_admin_command {
    const char *cmd;                /* "samsa topics" */
    const cli_opt_t *opts;
    void (*usage)(FILE *out);
    cli_option_fn *on_option;       /* gets ctx */
    int (*check)(void *ctx, const cli_args_t *a); /* after parsing: 0 or an exit status */
    int (*run)(void *ctx, samsa_admin_t *admin);   /* returns the exit status */
} cli_admin_command_t;

/* Parses argv with def, checks the options, makes an admin client from
 * client's properties and runs def->run with it. client must have been
 * started with cli_client_init() and is freed. Returns the exit status. */
int cli_admin_command_run(const cli_admin_command_t *def, cli_client_t *client, void *ctx,
                          int argc, char **argv);

/* ---- an embedded broker ---- */

/* A broker run inside the program for `-b embedded`: one node on
 * 127.0.0.1 with a free port, keeping its partitions in a temporary
 * directory that cli_embedded_stop() removes. */
typedef struct cli_embedded {
    samsa_broker_t *broker;
    char dir[256]; /* the temporary log dir; "" when none was made */
} cli_embedded_t;

/* Makes the directory and starts the broker. Returns 0, or CLI_EXIT_FAIL
 * after printing why (nothing is left behind then). Unless the environment
 * sets SAMSA_LOG_LEVEL the library logs warnings and errors only, so the
 * broker's log does not drown the program's output. */
int cli_embedded_start(const char *cmd, cli_embedded_t *e);

/* The embedded broker's "host:port" for bootstrap.servers. */
const char *cli_embedded_bootstrap(const cli_embedded_t *e);

/* Stops and frees the broker and removes its directory. Safe on a zeroed
 * or already stopped e. */
void cli_embedded_stop(cli_embedded_t *e);

/* ---- interruption ---- */

/* Makes the first SIGINT or SIGTERM set a flag (interrupting blocking
 * reads) instead of ending the program; a second one ends it as usual. */
void cli_catch_interrupts(void);

/* Whether a SIGINT or SIGTERM arrived since cli_catch_interrupts(). */
bool cli_interrupted(void);

#endif /* SAMSA_PROGRAMS_COMMON_H */
