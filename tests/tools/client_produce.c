/*
 * client_produce: produces numbered messages with samsa's producer and
 * prints one line per delivery report, for tests against a real broker.
 *
 *   client_produce -b HOST:PORT -t TOPIC -n COUNT [-K keys] [-p PARTITION]
 *                  [-X key=value]... [-L]
 *
 * Message i has value "v<i>", key "k<i % keys>" (no key when -K is 0, the
 * default 16), headers seq=<i> and nul (a null value), and timestamp
 * 1700000000000 + i. -L lends key and value instead of copying them.
 * Every report goes to stdout as "partition offset key value timestamp err"
 * (key "-" when null); diagnostics to stderr prefixed "% ". Exits 0 when
 * every message was delivered, 1 otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samsa.h"

#define MAX_PROPS 64

typedef struct stats {
    long delivered;
    long failed;
} stats_t;

static void on_report(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    stats_t *s = opaque;
    if (r->err) {
        s->failed++;
        fprintf(stderr, "%% delivery failed: %s\n", r->errstr);
    } else {
        s->delivered++;
    }
    printf("%d %" PRId64 " %.*s %.*s %" PRId64 " %s\n", (int)r->partition, r->offset,
           r->key ? (int)r->key_len : 1, r->key ? (const char *)r->key : "-", (int)r->value_len,
           (const char *)r->value, r->timestamp_ms, samsa_err_name(r->err));
}

int main(int argc, char **argv)
{
    const char *keys[MAX_PROPS], *values[MAX_PROPS];
    char *owned[MAX_PROPS];
    size_t n = 0;
    const char *topic = NULL;
    long count = 10, key_count = 16;
    int partition = -1, flags = 0, opt;
    while ((opt = getopt(argc, argv, "b:t:n:K:p:X:L")) != -1) {
        switch (opt) {
        case 'b':
        case 'X':
            if (n == MAX_PROPS)
                return 2;
            owned[n] = strdup(opt == 'b' ? "bootstrap.servers" : optarg);
            if (opt == 'b') {
                keys[n] = owned[n];
                values[n] = optarg;
            } else {
                char *eq = strchr(owned[n], '=');
                if (!eq) {
                    fprintf(stderr, "%% -X needs key=value\n");
                    return 2;
                }
                *eq = 0;
                keys[n] = owned[n];
                values[n] = eq + 1;
            }
            n++;
            break;
        case 't': topic = optarg; break;
        case 'n': count = atol(optarg); break;
        case 'K': key_count = atol(optarg); break;
        case 'p': partition = atoi(optarg); break;
        case 'L': flags |= SAMSA_MSG_F_LEND; break;
        default:
            fprintf(stderr, "usage: client_produce -b HOST:PORT -t TOPIC [-n N] [-K keys] [-p P] [-X k=v] [-L]\n");
            return 2;
        }
    }
    if (!topic)
        return 2;
    stats_t stats = {0};
    samsa_producer_callbacks_t cb = {on_report, NULL, &stats};
    char err[512];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, n, &cb, err, sizeof(err));
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    if (!p) {
        fprintf(stderr, "%% %s\n", err);
        return 1;
    }
    char (*kbuf)[32] = calloc((size_t)count, 32);
    char (*vbuf)[32] = calloc((size_t)count, 32);
    int rc = 0;
    for (long i = 0; i < count && kbuf && vbuf; i++) {
        snprintf(kbuf[i], 32, "k%ld", key_count ? i % key_count : 0);
        snprintf(vbuf[i], 32, "v%ld", i);
        char seq[32];
        snprintf(seq, sizeof(seq), "%ld", i);
        samsa_header_t hdrs[2] = {{"seq", seq, strlen(seq)}, {"nul", NULL, 0}};
        samsa_err_t e;
        while ((e = samsa_producer_send(p, topic, partition, key_count ? kbuf[i] : NULL,
                                        key_count ? strlen(kbuf[i]) : 0, vbuf[i], strlen(vbuf[i]),
                                        hdrs, 2, 1700000000000LL + i, flags, NULL)) ==
               SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 10);
        if (e) {
            fprintf(stderr, "%% produce failed: %s\n", samsa_err_str(e));
            rc = 1;
            break;
        }
        samsa_producer_poll(p, 0);
    }
    if (samsa_producer_flush(p, 60000)) {
        fprintf(stderr, "%% flush timed out\n");
        rc = 1;
    }
    samsa_producer_free(p);
    free(kbuf);
    free(vbuf);
    fprintf(stderr, "%% %ld delivered, %ld failed\n", stats.delivered, stats.failed);
    return rc || stats.failed || stats.delivered != count;
}
