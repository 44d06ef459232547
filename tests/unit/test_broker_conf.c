/*
 * Unit tests for the configuration map (lib/base/conf.c), the .properties
 * reader, and the broker's checks of its properties (lib/broker/config.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/conf.h"
#include "broker/broker_int.h"
#include "unit.h"

static samsa_conf_t *parse(const char *text, samsa_err_t want)
{
    samsa_conf_t *conf = samsa_conf_new();
    char err[256] = "";
    ck_assert_int_eq(conf_parse_properties(conf, text, strlen(text), "test.properties", err,
                                           sizeof(err)),
                     want);
    return conf;
}

START_TEST(properties_separators_comments_and_continuations)
{
    samsa_conf_t *conf = parse("# comment\n"
                               "  ! another\n"
                               "a=1\n"
                               "b : two words  \n"
                               "c three\n"
                               "d=first \\\n"
                               "     second\n"
                               "e\n"
                               "f\\=g=h\n"
                               "t=tab\\there\\u00e9\r\n"
                               "a=override\n",
                               SAMSA_ERR_NONE);
    ck_assert_str_eq(samsa_conf_get(conf, "a"), "override");
    ck_assert_str_eq(samsa_conf_get(conf, "b"), "two words  ");
    ck_assert_str_eq(samsa_conf_get(conf, "c"), "three");
    ck_assert_str_eq(samsa_conf_get(conf, "d"), "first second");
    ck_assert_str_eq(samsa_conf_get(conf, "e"), "");
    ck_assert_str_eq(samsa_conf_get(conf, "f=g"), "h");
    ck_assert_str_eq(samsa_conf_get(conf, "t"), "tab\there\xc3\xa9");
    ck_assert_ptr_null(samsa_conf_get(conf, "#"));
    ck_assert_uint_eq(conf_count(conf), 7);
    samsa_conf_free(conf);
}
END_TEST

START_TEST(a_bad_unicode_escape_names_the_line)
{
    samsa_conf_t *conf = samsa_conf_new();
    char err[256] = "";
    const char *text = "a=1\nb=\\u12x4\n";
    ck_assert_int_eq(conf_parse_properties(conf, text, strlen(text), "x.properties", err,
                                           sizeof(err)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "x.properties:2"));
    samsa_conf_free(conf);
}
END_TEST

START_TEST(set_file_reads_and_reports_missing_files)
{
    char path[] = "/tmp/samsa-conf-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "log.dirs=/x\nnum.partitions: 3\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    samsa_conf_t *conf = samsa_conf_new();
    char err[256];
    ck_assert_int_eq(samsa_conf_set_file(conf, path, err, sizeof(err)), 0);
    ck_assert_str_eq(samsa_conf_get(conf, "num.partitions"), "3");
    samsa_conf_t *copy = samsa_conf_dup(conf);
    ck_assert_str_eq(samsa_conf_get(copy, "log.dirs"), "/x");
    unlink(path);
    ck_assert_int_eq(samsa_conf_set_file(conf, path, err, sizeof(err)), SAMSA_ERR__NOENT);
    ck_assert_ptr_nonnull(strstr(err, path));
    samsa_conf_free(conf);
    samsa_conf_free(copy);
}
END_TEST

START_TEST(set_refuses_malformed_keys)
{
    samsa_conf_t *conf = samsa_conf_new();
    char err[256];
    ck_assert_int_eq(samsa_conf_set(conf, "", "x", err, sizeof(err)), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(samsa_conf_set(conf, "a b", "x", err, sizeof(err)), SAMSA_ERR__INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "a b"));
    ck_assert_int_eq(samsa_conf_set(conf, "a", NULL, err, sizeof(err)), SAMSA_ERR__INVALID_ARG);
    ck_assert_uint_eq(conf_count(conf), 0);
    samsa_conf_free(conf);
}
END_TEST

static samsa_err_t load(const char *const *kv, broker_config_t *cfg, char *err, size_t errlen)
{
    samsa_conf_t *conf = samsa_conf_new();
    for (size_t i = 0; kv[i]; i += 2)
        ck_assert_int_eq(samsa_conf_set(conf, kv[i], kv[i + 1], NULL, 0), 0);
    samsa_err_t e = broker_config_load(cfg, conf, err, errlen);
    samsa_conf_free(conf);
    return e;
}

START_TEST(broker_defaults_are_kafkas)
{
    broker_config_t cfg;
    char err[256];
    const char *none[] = {NULL};
    ck_assert_int_eq(load(none, &cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(cfg.node_id, 1);
    ck_assert_str_eq(cfg.listener.host, "127.0.0.1");
    ck_assert_int_eq(cfg.listener.port, 9092);
    ck_assert_uint_eq(cfg.log_dir_count, 1);
    ck_assert_str_eq(cfg.log_dirs[0], "./data");
    ck_assert_int_eq(cfg.num_partitions, 1);
    ck_assert(cfg.auto_create_topics);
    ck_assert_int_eq(cfg.message_max_bytes, 1048588);
    ck_assert_int_eq(cfg.socket_request_max_bytes, 104857600);
    ck_assert_int_eq(cfg.log.retention_ms, 168LL * 3600 * 1000);
    ck_assert_int_eq(cfg.offsets_retention_ms, 10080LL * 60000);
    ck_assert(cfg.log.flush_on_ack);
    broker_config_free(&cfg);
}
END_TEST

START_TEST(broker_properties_are_read_with_kafkas_precedence)
{
    broker_config_t cfg;
    char err[256];
    const char *kv[] = {"broker.id", "7",
                        "listeners", "PLAINTEXT://:0,CONTROLLER://:9093",
                        "advertised.listeners", "PLAINTEXT://example.org:19092",
                        "log.dirs", "/a, /b",
                        "log.retention.hours", "1",
                        "log.retention.minutes", "2",
                        "log.roll.hours", "3",
                        "log.segment.bytes", "1000000",
                        "process.roles", "broker,controller",
                        NULL};
    ck_assert_int_eq(load(kv, &cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(cfg.node_id, 7);
    ck_assert_str_eq(cfg.listener.host, "");
    ck_assert_int_eq(cfg.listener.port, 0);
    ck_assert_str_eq(cfg.advertised.host, "example.org");
    ck_assert_uint_eq(cfg.log_dir_count, 2);
    ck_assert_str_eq(cfg.log_dirs[1], "/b");
    ck_assert_int_eq(cfg.log.retention_ms, 2 * 60000);
    ck_assert_int_eq(cfg.log.segment_ms, 3 * 3600000LL);
    ck_assert_int_eq(cfg.log.segment_bytes, 1000000);
    broker_config_free(&cfg);
}
END_TEST

START_TEST(unknown_keys_and_bad_values_name_the_key)
{
    broker_config_t cfg;
    char err[256];
    const char *unknown[] = {"log.dirs", "/a", "no.such.key", "1", NULL};
    ck_assert_int_eq(load(unknown, &cfg, err, sizeof(err)), SAMSA_ERR__UNKNOWN_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "no.such.key"));
    broker_config_free(&cfg);
    const char *bad[] = {"num.partitions", "zero", NULL};
    ck_assert_int_eq(load(bad, &cfg, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "num.partitions"));
    broker_config_free(&cfg);
    const char *rf[] = {"default.replication.factor", "3", NULL};
    ck_assert_int_eq(load(rf, &cfg, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "default.replication.factor"));
    broker_config_free(&cfg);
    const char *log_bad[] = {"log.segment.bytes", "10", NULL};
    ck_assert_int_eq(load(log_bad, &cfg, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "log.segment.bytes"));
    broker_config_free(&cfg);
    const char *compact[] = {"log.cleanup.policy", "compact", NULL};
    ck_assert_int_eq(load(compact, &cfg, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "log.cleanup.policy"));
    broker_config_free(&cfg);
    const char *ids[] = {"broker.id", "1", "node.id", "2", NULL};
    ck_assert_int_eq(load(ids, &cfg, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    broker_config_free(&cfg);
    const char *ssl[] = {"listeners", "SSL://:9093", NULL};
    ck_assert_int_eq(load(ssl, &cfg, err, sizeof(err)), SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "listeners"));
    broker_config_free(&cfg);
}
END_TEST

START_TEST(topic_properties_are_checked)
{
    topic_config_t tc;
    log_config_init(&tc.log);
    tc.max_message_bytes = 100;
    char err[256];
    ck_assert_int_eq(topic_config_set(&tc, "retention.ms", "1000", err, sizeof(err)), 0);
    ck_assert_int_eq(tc.log.retention_ms, 1000);
    ck_assert_int_eq(topic_config_set(&tc, "max.message.bytes", "5000", err, sizeof(err)), 0);
    ck_assert_int_eq(tc.max_message_bytes, 5000);
    ck_assert_int_eq(topic_config_set(&tc, "cleanup.policy", "compact", err, sizeof(err)),
                     SAMSA_ERR_INVALID_CONFIG);
    ck_assert_int_eq(topic_config_set(&tc, "log.retention.ms", "1", err, sizeof(err)),
                     SAMSA_ERR_INVALID_CONFIG);
    ck_assert_int_eq(topic_config_set(&tc, "segment.bytes", "x", err, sizeof(err)),
                     SAMSA_ERR_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "segment.bytes"));
}
END_TEST

START_TEST(broker_new_rejects_an_unknown_key_and_leaves_conf_to_the_caller)
{
    samsa_conf_t *conf = samsa_conf_new();
    char err[256];
    samsa_conf_set(conf, "log.dirs", "/nonexistent-never-created", NULL, 0);
    samsa_conf_set(conf, "colour", "blue", NULL, 0);
    ck_assert_ptr_null(samsa_broker_new(conf, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "colour"));
    ck_assert_str_eq(samsa_conf_get(conf, "colour"), "blue");
    samsa_conf_free(conf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("broker_conf");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, properties_separators_comments_and_continuations);
    tcase_add_test(tc, a_bad_unicode_escape_names_the_line);
    tcase_add_test(tc, set_file_reads_and_reports_missing_files);
    tcase_add_test(tc, set_refuses_malformed_keys);
    tcase_add_test(tc, broker_defaults_are_kafkas);
    tcase_add_test(tc, broker_properties_are_read_with_kafkas_precedence);
    tcase_add_test(tc, unknown_keys_and_bad_values_name_the_key);
    tcase_add_test(tc, topic_properties_are_checked);
    tcase_add_test(tc, broker_new_rejects_an_unknown_key_and_leaves_conf_to_the_caller);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
