/*
 * producer.c: the shortest correct producer.
 *
 *   producer BOOTSTRAP TOPIC
 *
 * Sends each line of standard input as one message, waits until every
 * message is acknowledged, and exits non-zero if any was not.
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
    if (argc != 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC\n", argv[0]);
        return 2;
    }
    char err[512];
    samsa_conf_t *conf = samsa_conf_new();
    if (!conf || samsa_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err))) {
        fprintf(stderr, "%% %s\n", conf ? err : "out of memory");
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
        samsa_err_t e;
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
