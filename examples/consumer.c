/*
 * consumer.c: the shortest correct consumer.
 *
 *   consumer BOOTSTRAP TOPIC...
 *
 * Joins the consumer group "example-consumer", subscribed to the topics,
 * and prints every message as one line "TOPIC<tab>PARTITION<tab>OFFSET<tab>
 * KEY<tab>VALUE", starting from the earliest offset the first time the
 * group runs and from its committed offsets afterwards. SIGINT or SIGTERM
 * stops it: it commits what it printed, leaves the group and exits 0.
 */
#include <samsa.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = 1; }

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC...\n", argv[0]);
        return 2;
    }
    const char *keys[] = {"bootstrap.servers", "group.id", "auto.offset.reset"};
    const char *values[] = {argv[1], "example-consumer", "earliest"};
    char err[512];
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, 3, NULL, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "%% %s\n", err);
        return 1;
    }
    samsa_err_t e = samsa_consumer_subscribe(c, (const char *const *)argv + 2, (size_t)argc - 2);
    if (e) {
        fprintf(stderr, "%% subscribe: %s\n", samsa_err_str(e));
        samsa_consumer_free(c);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    while (!stop) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (!m)
            continue;
        if (m->err) /* the consumer carries on by itself */
            fprintf(stderr, "%% %s\n", m->errstr);
        else
            printf("%s\t%d\t%lld\t%.*s\t%.*s\n", m->topic, (int)m->partition,
                   (long long)m->offset, (int)m->key_len, m->key ? (const char *)m->key : "",
                   (int)m->value_len, m->value ? (const char *)m->value : "");
        fflush(stdout);
        samsa_message_free(m);
    }
    e = samsa_consumer_close(c);
    if (e)
        fprintf(stderr, "%% final commit: %s\n", samsa_err_str(e));
    samsa_consumer_free(c);
    return e ? 1 : 0;
}
