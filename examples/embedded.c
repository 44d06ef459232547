/*
 * embedded.c: an application with a Kafka-compatible broker inside.
 *
 *   embedded
 *
 * Starts a broker on a free loopback port with its log in a new temporary
 * directory, produces three keyed messages to partition 0 of topic
 * "greetings" through it, reads them back from the beginning with a
 * consumer and prints "KEY=VALUE" for each; then stops everything and
 * removes the directory. Any Kafka client could use the broker meanwhile,
 * at the address printed first.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <samsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const greetings[][2] = {{"en", "hello"}, {"fr", "bonjour"}, {"de", "hallo"}};
#define N_GREETINGS 3

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

/* Sends the greetings, waiting until they are written. */
static int produce(const char *bootstrap, char *err, size_t errlen)
{
    const char *key = "bootstrap.servers";
    samsa_producer_t *p = samsa_producer_new_kv(&key, &bootstrap, 1, NULL, err, errlen);
    if (!p)
        return -1;
    samsa_err_t e = SAMSA_ERR_NONE;
    for (int i = 0; i < N_GREETINGS && !e; i++)
        e = samsa_producer_send(p, "greetings", 0, greetings[i][0], strlen(greetings[i][0]),
                                greetings[i][1], strlen(greetings[i][1]), NULL, 0, 0, 0, NULL);
    if (!e)
        e = samsa_producer_flush(p, 30000);
    /* without a delivery report callback, close tells whether all went out */
    if (!e)
        e = samsa_producer_close(p, 30000);
    samsa_producer_free(p);
    if (e)
        snprintf(err, errlen, "produce: %s", samsa_err_str(e));
    return e ? -1 : 0;
}

/* Reads partition 0 from the beginning until every greeting came back. */
static int consume(const char *bootstrap, char *err, size_t errlen)
{
    const char *key = "bootstrap.servers";
    samsa_consumer_t *c = samsa_consumer_new_kv(&key, &bootstrap, 1, NULL, err, errlen);
    if (!c)
        return -1;
    samsa_topic_partition_t start = {.topic = "greetings", .partition = 0,
                                     .offset = SAMSA_OFFSET_BEGINNING};
    samsa_partition_list_t list = {.items = &start, .count = 1};
    samsa_err_t e = samsa_consumer_assign(c, &list);
    for (int read = 0, polls = 0; !e && read < N_GREETINGS; polls++) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (m && m->err) {
            e = m->err;
        } else if (m) {
            printf("%.*s=%.*s\n", (int)m->key_len, (const char *)m->key, (int)m->value_len,
                   (const char *)m->value);
            read++;
        } else if (polls >= 300) {
            e = SAMSA_ERR__TIMED_OUT;
        }
        samsa_message_free(m);
    }
    samsa_consumer_free(c);
    if (e)
        snprintf(err, errlen, "consume: %s", samsa_err_str(e));
    return e ? -1 : 0;
}

int main(void)
{
    char dir[] = "/tmp/samsa-embedded-XXXXXX";
    char err[512] = "out of memory";
    if (!mkdtemp(dir)) {
        perror("% mkdtemp");
        return 1;
    }
    int status = 1;
    samsa_broker_t *broker = NULL;
    samsa_conf_t *conf = samsa_conf_new();
    if (!conf || samsa_conf_set(conf, "listeners", "PLAINTEXT://127.0.0.1:0", err, sizeof(err)) ||
        samsa_conf_set(conf, "log.dirs", dir, err, sizeof(err)))
        goto done;
    broker = samsa_broker_new(conf, err, sizeof(err));
    if (!broker)
        goto done;
    conf = NULL; /* the broker owns it now */
    samsa_err_t e = samsa_broker_start(broker);
    if (e) {
        snprintf(err, sizeof(err), "broker start: %s", samsa_err_str(e));
        goto done;
    }
    printf("broker at %s\n", samsa_broker_bootstrap(broker));
    if (produce(samsa_broker_bootstrap(broker), err, sizeof(err)) == 0 &&
        consume(samsa_broker_bootstrap(broker), err, sizeof(err)) == 0)
        status = 0;
done:
    if (status)
        fprintf(stderr, "%% %s\n", err);
    samsa_conf_free(conf);
    samsa_broker_free(broker);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return status;
}
