/*
 * Integration tests of the client's security (lib/client/conn.c, sasl.c,
 * config.c): samsa's producer, consumer and admin client over TLS and SASL
 * (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) against an embedded samsa broker
 * with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners, certificates
 * made by tests/tools/certs.sh. Every handle works over every listener and
 * mechanism; a wrong password, an unknown user, an untrusted broker
 * certificate, a hostname mismatch, a TLS client on a plaintext port and a
 * plaintext client on a TLS port each get their own error naming the
 * broker, promptly, and nothing is written.
 *
 * With SAMSA_TEST_KAFKA_SASL_SSL=host:port (tests/scripts/client-kafka-sasl.sh
 * sets it, with SAMSA_TEST_KAFKA_CA, SAMSA_TEST_KAFKA_USER and
 * SAMSA_TEST_KAFKA_PASSWORD) the same checks run against Apache Kafka's
 * SASL_SSL listener instead.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kclient.h"
#include "samsa.h"

#define WAIT_MS 30000

/* Where and how a client connects. */
typedef struct target {
    const char *bootstrap;
    const char *protocol;  /* security.protocol */
    const char *mechanism; /* sasl.mechanism, NULL: none set */
    const char *user;
    const char *password;
    const char *ca;        /* ssl.ca.location, NULL: none set */
    const char *endpoint;  /* ssl.endpoint.identification.algorithm, NULL: default */
} target_t;

/* Fills keys/values with t's properties and extra (NULL-terminated pairs);
 * returns the count. */
static size_t props(const target_t *t, const char *const *extra, const char **keys,
                    const char **values)
{
    size_t n = 0;
#define PROP(k, v)                                                                                 \
    do {                                                                                           \
        keys[n] = (k);                                                                             \
        values[n++] = (v);                                                                         \
    } while (0)
    PROP("bootstrap.servers", t->bootstrap);
    PROP("security.protocol", t->protocol);
    PROP("reconnect.backoff.ms", "50");
    PROP("reconnect.backoff.max.ms", "500");
    if (t->mechanism)
        PROP("sasl.mechanism", t->mechanism);
    if (t->user)
        PROP("sasl.username", t->user);
    if (t->password)
        PROP("sasl.password", t->password);
    if (t->ca)
        PROP("ssl.ca.location", t->ca);
    if (t->endpoint)
        PROP("ssl.endpoint.identification.algorithm", t->endpoint);
    for (size_t i = 0; extra && extra[i]; i += 2)
        PROP(extra[i], extra[i + 1]);
#undef PROP
    return n;
}

static samsa_admin_t *admin(const target_t *t)
{
    const char *keys[24], *values[24];
    size_t n = props(t, NULL, keys, values);
    char err[512];
    samsa_admin_t *a = samsa_admin_new_kv(keys, values, n, err, sizeof(err));
    ck_assert_msg(a != NULL, "%s", err);
    return a;
}

typedef struct reports {
    int ok, failed;
    samsa_err_t err;
    char errstr[1024];
} reports_t;

static void on_report(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    reports_t *rs = opaque;
    if (!r->err) {
        rs->ok++;
        return;
    }
    rs->failed++;
    rs->err = r->err;
    snprintf(rs->errstr, sizeof(rs->errstr), "%s", r->errstr);
}

static samsa_producer_t *producer(const target_t *t, reports_t *rs)
{
    const char *extra[] = {"linger.ms", "5", "message.timeout.ms", "60000", NULL};
    const char *keys[24], *values[24];
    size_t n = props(t, extra, keys, values);
    samsa_producer_callbacks_t cb = {on_report, NULL, rs};
    char err[512];
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, n, &cb, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

static samsa_consumer_t *consumer(const target_t *t, const char *group)
{
    const char *extra[] = {"auto.offset.reset", "earliest", "group.id", group, NULL};
    if (!group)
        extra[2] = NULL;
    const char *keys[24], *values[24];
    size_t n = props(t, extra, keys, values);
    char err[512];
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, n, NULL, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static void create_topic(const target_t *t, const char *topic)
{
    samsa_admin_t *a = admin(t);
    samsa_new_topic_t nt = {topic, 1, -1, NULL, 0};
    samsa_topic_result_t *res = NULL;
    ck_assert_msg(samsa_admin_create_topics(a, &nt, 1, 0, WAIT_MS, &res) == 0, "%s",
                  samsa_admin_last_error());
    ck_assert_msg(res[0].err == 0 || res[0].err == SAMSA_ERR_TOPIC_ALREADY_EXISTS, "%s",
                  res[0].errstr);
    samsa_topic_results_free(res);
    samsa_admin_free(a);
}

/* The high watermark of topic's partition 0, asked over t. */
static int64_t end_offset(const target_t *t, const char *topic)
{
    samsa_admin_t *a = admin(t);
    samsa_partition_offset_t spec = {topic, 0, SAMSA_OFFSET_SPEC_LATEST};
    samsa_offset_result_t *res = NULL;
    ck_assert_msg(samsa_admin_list_offsets(a, &spec, 1, WAIT_MS, &res) == 0, "%s",
                  samsa_admin_last_error());
    ck_assert_msg(res[0].err == 0, "%s", res[0].errstr);
    int64_t off = res[0].offset;
    samsa_offset_results_free(res);
    samsa_admin_free(a);
    return off;
}

/* Whether topic exists, asked over t. */
static bool topic_exists(const target_t *t, const char *topic)
{
    samsa_admin_t *a = admin(t);
    samsa_cluster_info_t *info = NULL;
    const char *names[] = {topic};
    ck_assert_msg(samsa_admin_list_topics(a, names, 1, 0, WAIT_MS, &info) == 0, "%s",
                  samsa_admin_last_error());
    ck_assert_uint_eq(info->topic_count, 1);
    bool exists = info->topics[0].err == 0;
    samsa_cluster_info_free(info);
    samsa_admin_free(a);
    return exists;
}

/* All three handles over t: the admin client creates topic and reads the
 * cluster, the producer writes count messages, a consumer (assigned, and
 * in a group) reads them back. */
static void roundtrip(const target_t *t, const char *topic, int count)
{
    create_topic(t, topic);
    int64_t base = end_offset(t, topic);

    samsa_admin_t *a = admin(t);
    samsa_cluster_info_t *info = NULL;
    ck_assert_msg(samsa_admin_describe_cluster(a, WAIT_MS, &info) == 0, "%s",
                  samsa_admin_last_error());
    ck_assert_uint_ge(info->broker_count, 1);
    samsa_cluster_info_free(info);
    samsa_admin_free(a);

    reports_t rs = {0};
    samsa_producer_t *p = producer(t, &rs);
    for (int i = 0; i < count; i++) {
        char v[32];
        snprintf(v, sizeof(v), "%s-%d", topic, i);
        ck_assert_int_eq(samsa_producer_send(p, topic, 0, NULL, 0, v, strlen(v), NULL, 0, 0, 0, NULL),
                         0);
    }
    ck_assert_int_eq(samsa_producer_flush(p, WAIT_MS), 0);
    ck_assert_msg(rs.failed == 0, "%s", rs.errstr);
    ck_assert_int_eq(rs.ok, count);
    samsa_producer_free(p);
    ck_assert_int_eq(end_offset(t, topic), base + count);

    for (int grouped = 0; grouped < 2; grouped++) {
        char group[128];
        snprintf(group, sizeof(group), "g-%s", topic);
        samsa_consumer_t *c = consumer(t, grouped ? group : NULL);
        if (grouped) {
            const char *topics[] = {topic};
            ck_assert_int_eq(samsa_consumer_subscribe(c, topics, 1), 0);
        } else {
            samsa_topic_partition_t tp = {topic, 0, base, 0};
            samsa_partition_list_t l = {&tp, 1};
            ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
        }
        int seen = 0;
        int64_t deadline = 0;
        while (seen < count && deadline < WAIT_MS) {
            samsa_message_t *m = samsa_consumer_poll(c, 100);
            deadline += 100;
            if (!m)
                continue;
            ck_assert_msg(m->err == 0, "%s", m->errstr);
            if (m->offset >= base) {
                char v[32];
                snprintf(v, sizeof(v), "%s-%d", topic, (int)(m->offset - base));
                ck_assert_uint_eq(m->value_len, strlen(v));
                ck_assert(!memcmp(m->value, v, m->value_len));
                seen++;
            }
            samsa_message_free(m);
        }
        ck_assert_int_eq(seen, count);
        ck_assert_int_eq(samsa_consumer_close(c), 0);
        samsa_consumer_free(c);
    }
}

/* Every handle over t fails with want, its message naming the broker
 * (where, host:port) and containing text; nothing reaches topic, which
 * good (a working target) then checks. */
static void refused(const target_t *t, const target_t *good, const char *topic, samsa_err_t want,
                    const char *text)
{
    const char *where = t->bootstrap;

    reports_t rs = {0};
    samsa_producer_t *p = producer(t, &rs);
    ck_assert_int_eq(samsa_producer_send(p, topic, -1, NULL, 0, "x", 1, NULL, 0, 0, 0, NULL), 0);
    /* message.timeout.ms is 60 s: the report comes from the failure itself. */
    ck_assert_int_eq(samsa_producer_flush(p, WAIT_MS), 0);
    ck_assert_int_eq(rs.failed, 1);
    ck_assert_msg(rs.err == want, "%s: %s", samsa_err_name(rs.err), rs.errstr);
    ck_assert_msg(strstr(rs.errstr, where) && strstr(rs.errstr, text), "%s", rs.errstr);
    samsa_producer_free(p);

    samsa_admin_t *a = admin(t);
    samsa_cluster_info_t *info = NULL;
    samsa_err_t err = samsa_admin_describe_cluster(a, WAIT_MS, &info);
    ck_assert_msg(err == want, "%s: %s", samsa_err_name(err), samsa_admin_last_error());
    ck_assert_ptr_null(info);
    ck_assert_msg(strstr(samsa_admin_last_error(), where) &&
                      strstr(samsa_admin_last_error(), text),
                  "%s", samsa_admin_last_error());
    samsa_admin_free(a);

    samsa_consumer_t *c = consumer(t, NULL);
    samsa_topic_partition_t tp = {topic, 0, SAMSA_OFFSET_BEGINNING, 0};
    samsa_partition_list_t l = {&tp, 1};
    ck_assert_int_eq(samsa_consumer_assign(c, &l), 0);
    samsa_message_t *m = samsa_consumer_poll(c, WAIT_MS);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(m->err == want, "%s: %s", samsa_err_name(m->err), m->errstr);
    ck_assert_msg(strstr(m->errstr, where) && strstr(m->errstr, text), "%s", m->errstr);
    samsa_message_free(m);
    samsa_consumer_free(c);

    ck_assert(!topic_exists(good, topic));
}

/* ---- Apache Kafka's SASL_SSL listener ------------------------------------ */

static const char *const mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

static target_t kafka(const char *mechanism, const char *user, const char *password)
{
    target_t t = {getenv("SAMSA_TEST_KAFKA_SASL_SSL"), "SASL_SSL", mechanism, user, password,
                  getenv("SAMSA_TEST_KAFKA_CA"), NULL};
    return t;
}

static target_t kafka_good(void)
{
    return kafka("SCRAM-SHA-512", getenv("SAMSA_TEST_KAFKA_USER"),
                 getenv("SAMSA_TEST_KAFKA_PASSWORD"));
}

START_TEST(test_kafka_mechanism)
{
    target_t t = kafka(mechanisms[_i], getenv("SAMSA_TEST_KAFKA_USER"),
                       getenv("SAMSA_TEST_KAFKA_PASSWORD"));
    char topic[64];
    snprintf(topic, sizeof(topic), "sec-kafka-%d", _i);
    roundtrip(&t, topic, 20);
}
END_TEST

START_TEST(test_kafka_wrong_password)
{
    target_t t = kafka(mechanisms[_i], getenv("SAMSA_TEST_KAFKA_USER"), "not-the-password");
    target_t good = kafka_good();
    char topic[64];
    snprintf(topic, sizeof(topic), "sec-kafka-wrong-%d", _i);
    refused(&t, &good, topic, SAMSA_ERR_SASL_AUTHENTICATION_FAILED, mechanisms[_i]);
}
END_TEST

START_TEST(test_kafka_unknown_user)
{
    target_t t = kafka(mechanisms[_i], "nobody", "whatever");
    target_t good = kafka_good();
    char topic[64];
    snprintf(topic, sizeof(topic), "sec-kafka-nobody-%d", _i);
    refused(&t, &good, topic, SAMSA_ERR_SASL_AUTHENTICATION_FAILED, "nobody");
}
END_TEST

START_TEST(test_kafka_untrusted)
{
    /* No ssl.ca.location: the system's store does not know the test CA. */
    target_t t = kafka_good();
    t.ca = NULL;
    target_t good = kafka_good();
    refused(&t, &good, "sec-kafka-untrusted", SAMSA_ERR__AUTHENTICATION, "certificate verify failed");
}
END_TEST

static Suite *kafka_suite(void)
{
    Suite *s = suite_create("client_security_kafka");
    TCase *tc = tcase_create("kafka");
    tcase_add_loop_test(tc, test_kafka_mechanism, 0, 3);
    tcase_add_loop_test(tc, test_kafka_wrong_password, 0, 3);
    tcase_add_loop_test(tc, test_kafka_unknown_user, 0, 3);
    tcase_add_test(tc, test_kafka_untrusted);
    suite_add_tcase(s, tc);
    return s;
}

/* ---- configuration ------------------------------------------------------- */

static char certs[256]; /* tests/tools/certs.sh's output */

static void make_certs(void)
{
    snprintf(certs, sizeof(certs), "/tmp/samsa-certs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(certs));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "sh tests/tools/certs.sh %s >/dev/null 2>&1", certs);
    ck_assert_int_eq(system(cmd), 0);
}

static void remove_certs(void) { nftw(certs, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static const char *cert(const char *name)
{
    static char paths[8][300];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "%s/%s", certs, name);
    return p;
}

/* A producer made from the NULL-terminated pairs fails, errstr containing text. */
static void bad_config(const char *const *kv, const char *text)
{
    const char *keys[16], *values[16];
    size_t n = 0;
    keys[n] = "bootstrap.servers";
    values[n++] = "127.0.0.1:1";
    for (size_t i = 0; kv[i]; i += 2) {
        keys[n] = kv[i];
        values[n++] = kv[i + 1];
    }
    char err[512] = "";
    samsa_producer_t *p = samsa_producer_new_kv(keys, values, n, NULL, err, sizeof(err));
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, text), "%s", err);
}

START_TEST(test_config)
{
    const char *no_user[] = {"security.protocol", "SASL_SSL", NULL};
    bad_config(no_user, "sasl.username");
    const char *no_password[] = {"security.protocol", "sasl_plaintext", "sasl.username", "u", NULL};
    bad_config(no_password, "sasl.password");
    const char *protocol[] = {"security.protocol", "tls", NULL};
    bad_config(protocol, "plaintext, ssl, sasl_plaintext, sasl_ssl");
    const char *mechanism[] = {"sasl.mechanisms", "GSSAPI", NULL};
    bad_config(mechanism, "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
    const char *endpoint[] = {"ssl.endpoint.identification.algorithm", "dns", NULL};
    bad_config(endpoint, "https, none");
    const char *ca[] = {"security.protocol", "ssl", "ssl.ca.location", "/nonexistent/ca.pem", NULL};
    bad_config(ca, "/nonexistent/ca.pem");
    const char *half[] = {"security.protocol", "ssl", "ssl.certificate.location", cert("client.pem"),
                          NULL};
    bad_config(half, "ssl.key.location");
    const char *control[] = {"security.protocol", "sasl_ssl", "sasl.mechanism", "SCRAM-SHA-256",
                             "sasl.username", "a\tb", "sasl.password", "p", NULL};
    bad_config(control, "sasl.username");

    /* Names of protocols and mechanisms in any case; librdkafka's plural. */
    const char *keys[] = {"bootstrap.servers", "security.protocol", "sasl.mechanisms",
                          "sasl.username", "sasl.password", "ssl.ca.location",
                          "ssl.certificate.location", "ssl.key.location",
                          "ssl.endpoint.identification.algorithm"};
    const char *values[] = {"127.0.0.1:1", "Sasl_Ssl", "scram-sha-512", "u", "p",
                            cert("ca.pem"), cert("client.pem"), cert("client.key"), "NONE"};
    char err[512] = "";
    samsa_admin_t *a = samsa_admin_new_kv(keys, values, 9, err, sizeof(err));
    ck_assert_msg(a != NULL, "%s", err);
    samsa_admin_free(a);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("client_security");
    TCase *tc = tcase_create("config");
    tcase_add_unchecked_fixture(tc, make_certs, remove_certs);
    tcase_add_test(tc, test_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = getenv("SAMSA_TEST_KAFKA_SASL_SSL") ? kafka_suite() : config_suite();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
