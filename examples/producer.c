/*
 * producer.c: the shortest correct producer.
 *
 *   producer BOOTSTRAP TOPIC [PROPERTY=VALUE]...
 *
 * Sends each line of standard input as one message, waits until every
 * message is acknowledged, and exits non-zero if any was not. Producer
 * properties (acks=1, linger.ms=5, delivery.timeout.ms=2000 ...) may follow
 * the topic.
 */
#include <samsa.h>
#include <stdio.h>
#include <string.h>

static int failed;

/* Runs on the thread that calls samsa_producer_poll() or _flush(). */
static void on_delivery(samsa_producer_t *p, const samsa_delivery_report_t *report, void *opaque)
{
    if (report->err) {
        fprintf(stderr, "%% delivery failed: %s\n", report->errstr);
        failed = 1;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC [PROPERTY=VALUE]...\n", argv[0]);
        return 2;
    }
    char err[512] = "out of memory";
    samsa_conf_t *conf = samsa_conf_new();
    samsa_err_t e = conf ? samsa_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err))
                         : SAMSA_ERR__NOMEM;
    for (int i = 3; i < argc && !e; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "%% %s is not PROPERTY=VALUE\n", argv[i]);
            samsa_conf_free(conf);
            return 2;
        }
        *eq = '\0';
        e = samsa_conf_set(conf, argv[i], eq + 1, err, sizeof(err));
    }
    if (e) {
        fprintf(stderr, "%% %s\n", err);
        samsa_conf_free(conf);
        return 1;
    }
    samsa_producer_callbacks_t callbacks = {.delivery_report = on_delivery};
    samsa_producer_t *p = samsa_producer_new(conf, &callbacks, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%% %s\n", err);
        samsa_conf_free(conf);
        return 1;
    }

    char line[65536];
    while (fgets(line, sizeof(line), stdin)) {
        size_t len = strcspn(line, "\n");
        samsa_produce_args_t msg = {.topic = argv[2], .partition = -1, .value = line, .value_len = len};
        /* a full queue empties as deliveries are reported */
        while ((e = samsa_producer_produce(p, &msg)) == SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 100);
        if (e) {
            fprintf(stderr, "%% produce: %s\n", samsa_err_str(e));
            failed = 1;
            break;
        }
        samsa_producer_poll(p, 0);
    }

    if (samsa_producer_flush(p, 30000) != SAMSA_ERR_NONE) {
        fprintf(stderr, "%% not every message was delivered within 30 s\n");
        failed = 1;
    }
    samsa_producer_free(p);
    return failed;
}
