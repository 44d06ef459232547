/*
 * counts.c: the stream processing step of the page view demo: views per
 * page.
 *
 *   counts BOOTSTRAP
 *
 * Reads topic "pageviews" as a member of consumer group "pageview-counts",
 * counts the records of each page, and after each batch
 * writes the new count of every page the batch touched to topic
 * "pageview-counts" (key: the page, value: the count in decimal), so the
 * latest record of a key is that page's count. The group's offsets are
 * committed only after the counts are acknowledged.
 *
 * The counts themselves live in "pageview-counts": a new run first reads
 * that topic to its end and carries on from the latest count of each page
 * and from the group's committed offsets. Counting is at least once: a
 * crash between writing the counts and committing makes the next run count
 * that batch again (exactly once needs transactions).
 *
 * SIGINT or SIGTERM stops it after the batch in hand, exit 0.
 */
#include <samsa.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 1024
#define BATCH_MAX 500
#define OUT_TOPIC "pageview-counts"

typedef struct page_count {
    char page[128];
    long long count;
    int changed; /* since the last counts were written */
} page_count_t;

static page_count_t counts[MAX_PAGES];
static int n_counts;
static volatile sig_atomic_t stop;
static int failed;

static void on_signal(int sig) { stop = 1; }

static void on_delivery(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    if (r->err) {
        fprintf(stderr, "%% count not written: %s\n", r->errstr);
        failed = 1;
    }
}

/* The entry of page (len bytes), added when new; NULL when it does not
 * fit. */
static page_count_t *count_of(const char *page, size_t len)
{
    for (int i = 0; i < n_counts; i++)
        if (strlen(counts[i].page) == len && memcmp(counts[i].page, page, len) == 0)
            return &counts[i];
    if (n_counts == MAX_PAGES || len >= sizeof(counts[0].page)) {
        fprintf(stderr, "%% page %.*s not counted: too many pages or too long\n", (int)len, page);
        return NULL;
    }
    memcpy(counts[n_counts].page, page, len);
    return &counts[n_counts++];
}

/* Loads the latest count of each page from OUT_TOPIC: every partition read
 * from its beginning to the end it has now. Returns 0, or -1 with errstr. */
static int restore(const char *bootstrap, char *err, size_t errlen)
{
    const char *key = "bootstrap.servers", *topic = OUT_TOPIC;
    samsa_admin_t *a = samsa_admin_new_kv(&key, &bootstrap, 1, err, errlen);
    samsa_cluster_info_t *info = NULL;
    samsa_offset_result_t *ends = NULL;
    samsa_partition_offset_t specs[64];
    samsa_topic_partition_t starts[64];
    samsa_consumer_t *c = NULL;
    int status = -1, left = 0;
    if (!a)
        return -1;
    if (samsa_admin_list_topics(a, &topic, 1, 0, 10000, &info))
        goto admin_failed;
    const samsa_topic_info_t *t = info->topic_count == 1 ? &info->topics[0] : NULL;
    if (t && t->err == SAMSA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        status = 0; /* nothing counted yet */
        goto done;
    }
    if (!t || t->err || t->partition_count > 64) {
        snprintf(err, errlen, "%s: %s", OUT_TOPIC, t && t->err ? t->errstr : "too many partitions");
        goto done;
    }
    size_t n = t->partition_count;
    for (size_t i = 0; i < n; i++) {
        specs[i] = (samsa_partition_offset_t){topic, t->partitions[i].partition,
                                              SAMSA_OFFSET_SPEC_LATEST};
        starts[i] = (samsa_topic_partition_t){topic, specs[i].partition, SAMSA_OFFSET_BEGINNING, 0};
    }
    if (n && samsa_admin_list_offsets(a, specs, n, 10000, &ends))
        goto admin_failed;
    for (size_t i = 0; i < n; i++) {
        if (ends[i].err) {
            snprintf(err, errlen, "%s", ends[i].errstr);
            goto done;
        }
        left += ends[i].offset > 0;
    }
    samsa_partition_list_t list = {starts, n};
    if (left && !(c = samsa_consumer_new_kv(&key, &bootstrap, 1, NULL, err, errlen)))
        goto done;
    samsa_err_t e = left ? samsa_consumer_assign(c, &list) : SAMSA_ERR_NONE;
    if (e) {
        snprintf(err, errlen, "assign: %s", samsa_err_str(e));
        goto done;
    }
    for (int idle = 0; left && idle < 300;) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        page_count_t *pc = m && !m->err && m->key && m->value ? count_of(m->key, m->key_len) : NULL;
        if (pc) {
            char value[32];
            snprintf(value, sizeof(value), "%.*s", (int)m->value_len, (const char *)m->value);
            pc->count = strtoll(value, NULL, 10);
        }
        for (size_t i = 0; m && !m->err && i < n; i++)
            if (ends[i].partition == m->partition && ends[i].offset > 0 &&
                m->offset + 1 >= ends[i].offset) {
                ends[i].offset = 0; /* read to its end */
                left--;
            }
        idle = m ? 0 : idle + 1;
        samsa_message_free(m);
    }
    if (left)
        snprintf(err, errlen, "%s: not read to its end within 30 s", OUT_TOPIC);
    status = left ? -1 : 0;
    goto done;
admin_failed:
    snprintf(err, errlen, "%s", samsa_admin_last_error());
done:
    samsa_consumer_free(c);
    samsa_offset_results_free(ends);
    samsa_cluster_info_free(info);
    samsa_admin_free(a);
    return status;
}

/* Counts the page of one "pageviews" record. */
static void count(const samsa_message_t *m)
{
    static const char field[] = "\"page\":\"";
    if (m->err) { /* the consumer carries on by itself */
        fprintf(stderr, "%% %s\n", m->errstr);
        return;
    }
    char json[1024];
    snprintf(json, sizeof(json), "%.*s", m->value ? (int)m->value_len : 0,
             m->value ? (const char *)m->value : "");
    const char *page = strstr(json, field);
    page_count_t *pc = page ? count_of(page + sizeof(field) - 1, strcspn(page + sizeof(field) - 1, "\""))
                            : NULL;
    if (!pc) {
        fprintf(stderr, "%% %s [%d] @%lld: no page\n", m->topic, (int)m->partition,
                (long long)m->offset);
        return;
    }
    pc->count++;
    pc->changed = 1;
}

/* Counts the messages poll returns within 100 ms and those ready after
 * them, up to BATCH_MAX; returns how many. */
static int count_batch(samsa_consumer_t *c)
{
    int n = 0;
    samsa_message_t *m = samsa_consumer_poll(c, 100);
    for (; m; m = ++n < BATCH_MAX ? samsa_consumer_poll(c, 0) : NULL) {
        count(m);
        samsa_message_free(m);
    }
    return n;
}

/* Writes the counts that changed; 0 once all are acknowledged. */
static int write_counts(samsa_producer_t *p)
{
    for (int i = 0; i < n_counts && !failed; i++) {
        if (!counts[i].changed)
            continue;
        char value[32];
        int len = snprintf(value, sizeof(value), "%lld", counts[i].count);
        samsa_err_t e;
        while ((e = samsa_producer_send(p, OUT_TOPIC, -1, counts[i].page, strlen(counts[i].page),
                                        value, (size_t)len, NULL, 0, 0, 0, NULL)) ==
               SAMSA_ERR__QUEUE_FULL)
            samsa_producer_poll(p, 100);
        if (e) {
            fprintf(stderr, "%% count not written: %s\n", samsa_err_str(e));
            failed = 1;
        }
        counts[i].changed = 0;
    }
    if (samsa_producer_flush(p, 30000)) {
        fprintf(stderr, "%% counts not acknowledged within 30 s\n");
        failed = 1;
    }
    return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s BOOTSTRAP\n", argv[0]);
        return 2;
    }
    const char *keys[] = {"bootstrap.servers", "group.id", "auto.offset.reset",
                          "enable.auto.commit"};
    const char *values[] = {argv[1], "pageview-counts", "earliest", "false"};
    const char *topic = "pageviews";
    char err[512];
    samsa_producer_callbacks_t callbacks = {.delivery_report = on_delivery};
    samsa_producer_t *p = NULL;
    samsa_consumer_t *c = NULL;
    int status = 1;
    samsa_err_t e = SAMSA_ERR_NONE;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (restore(argv[1], err, sizeof(err)) ||
        !(p = samsa_producer_new_kv(keys, values, 1, &callbacks, err, sizeof(err))) ||
        !(c = samsa_consumer_new_kv(keys, values, 4, NULL, err, sizeof(err))) ||
        (e = samsa_consumer_subscribe(c, &topic, 1))) {
        fprintf(stderr, "%% %s\n", e ? samsa_err_str(e) : err);
        goto done;
    }
    while (!stop) {
        if (!count_batch(c))
            continue;
        if (write_counts(p))
            goto done;
        /* positions: just past every message counted */
        e = samsa_consumer_commit(c, NULL, 0);
        if (e && e != SAMSA_ERR__STATE)
            fprintf(stderr, "%% commit: %s\n", samsa_err_str(e));
    }
    status = 0;
done:
    samsa_consumer_free(c);
    samsa_producer_free(p);
    return status;
}
