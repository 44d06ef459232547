/*
 * Integration tests of the client's security (lib/client/conn.c, sasl.c,
 * config.c): samsa's producer, consumer and admin client over TLS and SASL
 * (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) against an embedded samsa broker
 * with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners, certificates
 * made by tests/tools/certs.sh. Every handle works over every listener and
 * mechanism; a wrong password, an unknown user, an untrusted broker
 * certificate, a hostname mismatch, a missing client certificate where
 * one is required, a mechanism the broker does not enable, a TLS client on
 * a plaintext port, a plaintext client on a TLS port and a SASL client on
 * a plaintext port each get their own error naming the broker, promptly,
 * and nothing is written. Property checks come first.
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
    const char *certificate; /* ssl.certificate.location and ssl.key.location, NULL: none */
    const char *key;
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
    if (t->certificate) {
        PROP("ssl.certificate.location", t->certificate);
        PROP("ssl.key.location", t->key);
    }
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
                  getenv("SAMSA_TEST_KAFKA_CA"), NULL, NULL, NULL};
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

/* ---- samsa's broker with every listener type ------------------------------- */

#define USER "alice"
#define PASSWORD "alice-secret-1"

enum { L_PLAINTEXT, L_SSL, L_SASL_PLAINTEXT, L_SASL_SSL, L_COUNT };
static const char *const protocols[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};

static test_broker_t tb;
static char addrs[L_COUNT][64];  /* host:port of each listener */
/* Another broker: an SSL listener whose certificate names another host and
 * that requires client certificates, and a SASL_PLAINTEXT listener with
 * SCRAM-SHA-512 only. */
static test_broker_t other;
static char other_addrs[2][64];

/* host:port of the broker's index-th listener ("NAME://host:port"). */
static void listener_addr(samsa_broker_t *b, int index, char *out, size_t len)
{
    const char *l = samsa_broker_listener_at(b, index);
    ck_assert_ptr_nonnull(l);
    const char *sep = strstr(l, "://");
    ck_assert_ptr_nonnull(sep);
    snprintf(out, len, "%s", sep + 3);
}

/* A broker in a new temp dir with the listeners and TLS certificate
 * given, user alice for both SCRAM mechanisms (and PLAIN), answering
 * failed logins at once, and the extra properties (NULL-terminated pairs,
 * may be NULL). */
static void start_secure(test_broker_t *b, const char *listeners, const char *certificate,
                         const char *key, const char *const *extra)
{
    char creds[300], data[300];
    snprintf(b->dir, sizeof(b->dir), "/tmp/samsa-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(b->dir));
    snprintf(creds, sizeof(creds), "%s/credentials", b->dir);
    snprintf(data, sizeof(data), "%s/data", b->dir);
    ck_assert_int_eq(mkdir(data, 0700), 0);
    char errstr[512];
    samsa_conf_t *conf = samsa_conf_new();
    const char *kv[] = {"log.dirs", data, "listeners", listeners, "ssl.certificate.location",
                        certificate, "ssl.key.location", key, "sasl.enabled.mechanisms",
                        "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", "sasl.credentials.file", creds,
                        "connection.failed.authentication.delay.ms", "0", NULL};
    for (size_t i = 0; kv[i]; i += 2)
        ck_assert_int_eq(samsa_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof(errstr)), 0);
    for (size_t i = 0; extra && extra[i]; i += 2)
        ck_assert_int_eq(samsa_conf_set(conf, extra[i], extra[i + 1], errstr, sizeof(errstr)), 0);
    for (int m = 0; m < 2; m++)
        ck_assert_msg(samsa_broker_user_set(conf, m ? "SCRAM-SHA-512" : "SCRAM-SHA-256", USER,
                                            PASSWORD, 0, errstr, sizeof(errstr)) == 0,
                      "%s", errstr);
    b->broker = samsa_broker_new(conf, errstr, sizeof(errstr));
    ck_assert_msg(b->broker != NULL, "samsa_broker_new: %s", errstr);
    ck_assert_int_eq(samsa_broker_start(b->broker), 0);
    b->bootstrap = samsa_broker_bootstrap(b->broker);
}

/* misnamed.pem: a certificate of the test CA for "elsewhere.invalid" only. */
static void make_misnamed_cert(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd %s && printf 'subjectAltName=DNS:elsewhere.invalid\\nextendedKeyUsage=serverAuth\\n' "
             "> misnamed.ext && openssl req -new -key broker.key -subj /CN=elsewhere.invalid "
             "-out misnamed.csr 2>/dev/null && openssl x509 -req -in misnamed.csr -CA ca.pem "
             "-CAkey ca.key -CAcreateserial -CAserial misnamed.srl -days 30 -extfile misnamed.ext "
             "-out misnamed.pem 2>/dev/null",
             certs);
    ck_assert_int_eq(system(cmd), 0);
}

/* The certificates are made once (unchecked fixture); the brokers start
 * in each test's own process (checked fixture), as their threads do not
 * survive a fork. */
static void setup_certs(void)
{
    make_certs();
    make_misnamed_cert();
}

static void setup_brokers(void)
{
    start_secure(&tb,
                 "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
                 "SASL_SSL://127.0.0.1:0",
                 cert("broker.pem"), cert("broker.key"), NULL);
    for (int i = 0; i < L_COUNT; i++)
        listener_addr(tb.broker, i, addrs[i], sizeof(addrs[i]));
    const char *extra[] = {"ssl.client.auth", "required", "ssl.ca.location", cert("ca.pem"),
                           "sasl.enabled.mechanisms", "SCRAM-SHA-512", NULL};
    start_secure(&other, "SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", cert("misnamed.pem"),
                 cert("broker.key"), extra);
    for (int i = 0; i < 2; i++)
        listener_addr(other.broker, i, other_addrs[i], sizeof(other_addrs[i]));
}

static void teardown_brokers(void)
{
    test_broker_stop(&tb, true);
    test_broker_stop(&other, true);
}

/* A client of listener l (as alice with mechanism m when SASL). */
static target_t samsa_target(int l, const char *m)
{
    bool sasl = l == L_SASL_PLAINTEXT || l == L_SASL_SSL;
    bool tls = l == L_SSL || l == L_SASL_SSL;
    target_t t = {addrs[l], protocols[l], sasl ? m : NULL, sasl ? USER : NULL,
                  sasl ? PASSWORD : NULL, tls ? cert("ca.pem") : NULL, NULL, NULL, NULL};
    return t;
}

/* refused() over t with topic "sec-<what>-<n>", checked over PLAINTEXT. */
static void refused_samsa(const target_t *t, const char *what, int n, samsa_err_t want,
                          const char *text)
{
    target_t good = samsa_target(L_PLAINTEXT, NULL);
    char topic[64];
    snprintf(topic, sizeof(topic), "sec-%s-%d", what, n);
    refused(t, &good, topic, want, text);
}

/* Every listener, and on SASL listeners every mechanism: _i is
 * listener * 3 + mechanism (mechanisms only matter on SASL listeners). */
START_TEST(test_every_listener)
{
    int l = _i / 3, m = _i % 3;
    if ((l == L_PLAINTEXT || l == L_SSL) && m > 0)
        return; /* the same as m == 0 */
    target_t t = samsa_target(l, mechanisms[m]);
    char topic[64];
    snprintf(topic, sizeof(topic), "sec-%s-%d", protocols[l], m);
    roundtrip(&t, topic, 20);
}
END_TEST

START_TEST(test_wrong_password)
{
    for (int l = L_SASL_PLAINTEXT; l <= L_SASL_SSL; l++) {
        target_t t = samsa_target(l, mechanisms[_i]);
        t.password = "not-the-password";
        refused_samsa(&t, "wrong", l * 3 + _i, SAMSA_ERR_SASL_AUTHENTICATION_FAILED,
                      mechanisms[_i]);
    }
}
END_TEST

START_TEST(test_unknown_user)
{
    target_t t = samsa_target(L_SASL_SSL, mechanisms[_i]);
    t.user = "nobody";
    refused_samsa(&t, "nobody", _i, SAMSA_ERR_SASL_AUTHENTICATION_FAILED, "nobody");
}
END_TEST

START_TEST(test_untrusted_broker)
{
    /* The client trusts another CA only. */
    for (int l = L_SSL; l <= L_SASL_SSL; l += 2) {
        target_t t = samsa_target(l, "SCRAM-SHA-512");
        t.ca = cert("other-ca.pem");
        refused_samsa(&t, "untrusted", l, SAMSA_ERR__AUTHENTICATION, "certificate verif");
    }
}
END_TEST

START_TEST(test_hostname_mismatch)
{
    target_t t = samsa_target(L_SSL, NULL);
    t.bootstrap = other_addrs[0];
    t.certificate = cert("client.pem");
    t.key = cert("client.key");
    refused_samsa(&t, "misnamed", 0, SAMSA_ERR__AUTHENTICATION, "mismatch");

    /* Without hostname verification the same certificate is accepted (and
     * the client's certificate, which this listener requires). */
    t.endpoint = "none";
    samsa_admin_t *a = admin(&t);
    samsa_cluster_info_t *info = NULL;
    ck_assert_msg(samsa_admin_describe_cluster(a, WAIT_MS, &info) == 0, "%s",
                  samsa_admin_last_error());
    samsa_cluster_info_free(info);
    samsa_admin_free(a);
}
END_TEST

START_TEST(test_client_certificate_required)
{
    target_t t = samsa_target(L_SSL, NULL);
    t.bootstrap = other_addrs[0];
    t.endpoint = "none";
    refused_samsa(&t, "no-client-cert", 0, SAMSA_ERR__AUTHENTICATION, "certificate");
}
END_TEST

START_TEST(test_mechanism_not_enabled)
{
    target_t t = samsa_target(L_SASL_PLAINTEXT, "PLAIN");
    t.bootstrap = other_addrs[1];
    refused_samsa(&t, "not-enabled", 0, SAMSA_ERR_UNSUPPORTED_SASL_MECHANISM,
                  "it enables: SCRAM-SHA-512");
}
END_TEST

START_TEST(test_tls_client_on_plaintext_port)
{
    for (int l = L_PLAINTEXT; l <= L_SASL_PLAINTEXT; l += 2) {
        target_t t = samsa_target(l + 1, "SCRAM-SHA-256"); /* ssl, sasl_ssl */
        t.bootstrap = addrs[l];
        refused_samsa(&t, "tls-on-plain", l, SAMSA_ERR__AUTHENTICATION, "TLS handshake failed");
    }
}
END_TEST

START_TEST(test_plaintext_client_on_tls_port)
{
    for (int l = L_SSL; l <= L_SASL_SSL; l += 2) {
        target_t t = samsa_target(l - 1, "SCRAM-SHA-256"); /* plaintext, sasl_plaintext */
        t.bootstrap = addrs[l];
        refused_samsa(&t, "plain-on-tls", l, SAMSA_ERR__AUTHENTICATION,
                      "security.protocol must be ssl");
    }
}
END_TEST

START_TEST(test_sasl_client_on_plaintext_port)
{
    target_t t = samsa_target(L_SASL_PLAINTEXT, "SCRAM-SHA-256");
    t.bootstrap = addrs[L_PLAINTEXT];
    refused_samsa(&t, "sasl-on-plain", 0, SAMSA_ERR_ILLEGAL_SASL_STATE, "SASL");
}
END_TEST

static Suite *broker_suite(Suite *s)
{
    TCase *tc = tcase_create("samsa");
    tcase_add_unchecked_fixture(tc, setup_certs, remove_certs);
    tcase_add_checked_fixture(tc, setup_brokers, teardown_brokers);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_every_listener, 0, L_COUNT * 3);
    tcase_add_loop_test(tc, test_wrong_password, 0, 3);
    tcase_add_loop_test(tc, test_unknown_user, 0, 3);
    tcase_add_test(tc, test_untrusted_broker);
    tcase_add_test(tc, test_hostname_mismatch);
    tcase_add_test(tc, test_client_certificate_required);
    tcase_add_test(tc, test_mechanism_not_enabled);
    tcase_add_test(tc, test_tls_client_on_plaintext_port);
    tcase_add_test(tc, test_plaintext_client_on_tls_port);
    tcase_add_test(tc, test_sasl_client_on_plaintext_port);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = getenv("SAMSA_TEST_KAFKA_SASL_SSL") ? kafka_suite() : broker_suite(config_suite());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
