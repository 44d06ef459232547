/*
 * samsa.c: the samsa command: finds the subcommand named by the first
 * argument and runs it (cmd_*.c). Built on the public API (samsa.h) only;
 * the conventions every subcommand keeps (data on stdout, diagnostics on
 * stderr prefixed "% ", exit statuses, --help) are in common.h.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

/* cmd_users.c */
int cmd_users(int argc, char **argv);

static const cli_command_t commands[] = {
    {"broker", cmd_broker, "[FILE.properties] [--override key=value]...",
     "run a Kafka-compatible broker in the foreground"},
    {"produce", cmd_produce, "-b HOST:PORT -t TOPIC [OPTIONS]",
     "send the lines of standard input to a topic as messages"},
    {"perf", cmd_perf, "produce -b HOST:PORT|embedded -n COUNT -s SIZE [OPTIONS]",
     "measure a producer's throughput and latency"},
    {"users", cmd_users, "add|delete|list --config BROKER.properties [--user NAME] [OPTIONS]",
     "manage the users of the broker's SASL listeners"},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: samsa COMMAND [OPTIONS]\n"
                 "\n"
                 "Commands:\n");
    cli_print_commands(out, "", commands);
    fprintf(out, "\n"
                 "Options:\n"
                 "  -h, --help     this help (also after a command)\n"
                 "  -V, --version  the version\n"
                 "\n"
                 "Data goes to stdout, diagnostics to stderr prefixed \"%% \". Exit status:\n"
                 "0 success, 1 failure, 2 a wrong command line.\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("samsa %s\n", samsa_version());
        return CLI_EXIT_OK;
    }
    return cli_dispatch("samsa", "command", commands, usage, argc - 1, argv + 1);
}
