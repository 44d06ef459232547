/*
 * admin.c: the shortest correct admin client.
 *
 *   admin BOOTSTRAP TOPIC...
 *
 * Creates the topics (the broker's default partition count and
 * replication factor) and prints one line per topic, "TOPIC: created" or
 * "TOPIC: ERROR_NAME: reason"; then describes them, one line per partition
 * "TOPIC PARTITION leader NODE". Exits 1 when a topic could not be created
 * (one that already exists included), 0 otherwise.
 */
#include <samsa.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC...\n", argv[0]);
        return 2;
    }
    const char *key = "bootstrap.servers";
    char err[512];
    samsa_admin_t *a = samsa_admin_new_kv(&key, (const char *const *)&argv[1], 1, err, sizeof(err));
    if (!a) {
        fprintf(stderr, "%% %s\n", err);
        return 1;
    }
    size_t n = (size_t)argc - 2;
    const char *const *names = (const char *const *)argv + 2;
    samsa_new_topic_t *topics = calloc(n, sizeof(*topics));
    samsa_topic_result_t *created = NULL;
    samsa_cluster_info_t *info = NULL;
    int status = 1;
    if (!topics) {
        fprintf(stderr, "%% out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        topics[i] = (samsa_new_topic_t){.name = names[i], .partitions = -1, .replication_factor = -1};

    /* the call fails as a whole (no answer ...) or answers per topic */
    if (samsa_admin_create_topics(a, topics, n, 0, 10000, &created)) {
        fprintf(stderr, "%% create topics: %s\n", samsa_admin_last_error());
        goto done;
    }
    status = 0;
    for (size_t i = 0; i < n; i++) {
        if (created[i].err) {
            printf("%s: %s: %s\n", created[i].topic, samsa_err_name(created[i].err),
                   created[i].errstr);
            status = 1;
        } else {
            printf("%s: created\n", created[i].topic);
        }
    }

    if (samsa_admin_list_topics(a, names, n, 0, 10000, &info)) {
        fprintf(stderr, "%% list topics: %s\n", samsa_admin_last_error());
        status = 1;
        goto done;
    }
    for (size_t i = 0; i < info->topic_count; i++) {
        const samsa_topic_info_t *t = &info->topics[i];
        if (t->err)
            printf("%s: %s\n", t->name, samsa_err_name(t->err));
        for (size_t j = 0; j < t->partition_count; j++)
            printf("%s %d leader %d\n", t->name, (int)t->partitions[j].partition,
                   (int)t->partitions[j].leader);
    }
done:
    samsa_cluster_info_free(info);
    samsa_topic_results_free(created);
    free(topics);
    samsa_admin_free(a);
    return status;
}
