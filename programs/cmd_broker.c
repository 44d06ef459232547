/*
 * cmd_broker.c: `samsa broker`, which runs a broker in the foreground until
 * SIGINT or SIGTERM. Uses only the public API (samsa.h). Diagnostics go to
 * stderr prefixed "% ".
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void broker_usage(FILE *out)
{
    fprintf(out,
            "Usage: samsa broker [FILE.properties] [--override key=value]...\n"
            "\n"
            "Runs a broker until SIGINT or SIGTERM, then flushes every partition and\n"
            "exits 0. Properties use Kafka's names (listeners, log.dirs, num.partitions,\n"
            "log.retention.hours, ...); FILE is read first, then each --override.\n"
            "Defaults: listeners=PLAINTEXT://127.0.0.1:9092 (port 0 picks one),\n"
            "log.dirs=./data. Logs go to stderr (SAMSA_LOG_LEVEL: 3 errors .. 7 debug).\n"
            "\n"
            "Options:\n"
            "  --override key=value  set one property (repeatable; -o is the same)\n"
            "  -h, --help            this help\n");
}

/* The value of an --override / -o / --override=kv argument at argv[*i]
 * (moving *i past a separate value), or NULL when argv[*i] is not one;
 * *missing is set when the flag has no value. */
static const char *override_arg(int argc, char **argv, int *i, int *missing)
{
    const char *arg = argv[*i];
    *missing = 0;
    if (strncmp(arg, "--override=", 11) == 0)
        return arg + 11;
    if (strcmp(arg, "--override") != 0 && strcmp(arg, "-o") != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cmd_broker(int argc, char **argv)
{
    char errstr[512];
    const char *file = NULL;
    /* First the flags' shape, and the file. */
    for (int i = 0; i < argc; i++) {
        int missing;
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            broker_usage(stdout);
            return 0;
        }
        const char *kv = override_arg(argc, argv, &i, &missing);
        if (missing) {
            fprintf(stderr, "%% samsa broker: %s needs key=value\n", arg);
            goto usage_error;
        }
        if (kv) {
            const char *eq = strchr(kv, '=');
            if (!eq || eq == kv) {
                fprintf(stderr, "%% samsa broker: %s \"%s\" is not key=value\n", arg, kv);
                goto usage_error;
            }
        } else if (arg[0] == '-') {
            fprintf(stderr, "%% samsa broker: unknown option %s\n", arg);
            goto usage_error;
        } else if (file) {
            fprintf(stderr, "%% samsa broker: one properties file only (got %s and %s)\n", file,
                    arg);
            goto usage_error;
        } else {
            file = arg;
        }
    }
    /* Then the file, and the overrides over it. */
    samsa_conf_t *conf = samsa_conf_new();
    if (!conf || (file && samsa_conf_set_file(conf, file, errstr, sizeof(errstr)))) {
        fprintf(stderr, "%% samsa broker: %s\n", conf ? errstr : "out of memory");
        samsa_conf_free(conf);
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        int missing;
        const char *kv = override_arg(argc, argv, &i, &missing);
        if (!kv)
            continue;
        const char *eq = strchr(kv, '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        if (samsa_conf_set(conf, key, eq + 1, errstr, sizeof(errstr))) {
            fprintf(stderr, "%% samsa broker: --override %s: %s\n", kv, errstr);
            samsa_conf_free(conf);
            goto usage_error;
        }
    }

    /* Signals are taken with sigwait on this thread: block them before the
     * broker's thread starts so that it inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    samsa_broker_t *broker = samsa_broker_new(conf, errstr, sizeof(errstr));
    if (!broker) {
        fprintf(stderr, "%% samsa broker: %s\n", errstr);
        samsa_conf_free(conf);
        return 1;
    }
    samsa_err_t err = samsa_broker_start(broker);
    if (err) {
        fprintf(stderr, "%% samsa broker: cannot start: %s\n", samsa_err_str(err));
        samsa_broker_free(broker);
        return 1;
    }
    fprintf(stderr, "%% samsa broker %s: listening on %s (bootstrap.servers=%s, cluster id %s)\n",
            samsa_version(), samsa_broker_listener(broker), samsa_broker_bootstrap(broker),
            samsa_broker_cluster_id(broker));
    for (int i = 1; samsa_broker_listener_at(broker, i); i++)
        fprintf(stderr, "%% samsa broker: also listening on %s\n", samsa_broker_listener_at(broker, i));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "%% samsa broker: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    samsa_broker_stop(broker);
    samsa_broker_free(broker);
    fprintf(stderr, "%% samsa broker: stopped cleanly\n");
    return 0;

usage_error:
    fprintf(stderr, "%% try: samsa broker --help\n");
    return 2;
}
