/*
 * test_credentials.c: the broker's credentials file: round trip, atomic
 * rewrite with mode 0600, malformed lines named by line number, the cache
 * following changes, and no password ever written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/credentials.h"
#include "unit.h"

static char dir[64];
static char path[128];
static char errbuf[256];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/samsa-creds-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/credentials", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void make(scram_mech_t mech, const char *password, scram_credential_t *cred)
{
    ck_assert_int_eq(scram_credential_make(mech, password, NULL, 0, 4096, cred, errbuf,
                                           sizeof(errbuf)),
                     0);
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(void)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

START_TEST(save_and_load_round_trip)
{
    creds_t c;
    creds_init(&c);
    scram_credential_t a512, a256, b512;
    make(SCRAM_SHA_512, "alice-secret", &a512);
    make(SCRAM_SHA_256, "alice-secret", &a256);
    make(SCRAM_SHA_512, "bob-secret", &b512);
    ck_assert_int_eq(creds_set(&c, "alice", &a512), 0);
    ck_assert_int_eq(creds_set(&c, "alice", &a256), 0);
    ck_assert_int_eq(creds_set(&c, "bob", &b512), 0);
    ck_assert_int_eq(creds_save(&c, path, errbuf, sizeof(errbuf)), 0);

    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    const char *text = read_file();
    ck_assert_ptr_null(strstr(text, "secret"));
    ck_assert_ptr_nonnull(strstr(text, "\nalice SCRAM-SHA-512 salt="));
    ck_assert_ptr_nonnull(strstr(text, ",iterations=4096\n"));

    creds_t back;
    creds_init(&back);
    ck_assert_int_eq(creds_load(&back, path, errbuf, sizeof(errbuf)), 0);
    ck_assert_uint_eq(back.count, 3);
    const scram_credential_t *got = creds_find(&back, "alice", SCRAM_SHA_256);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->salt_len, a256.salt_len);
    ck_assert(memcmp(got->salt, a256.salt, a256.salt_len) == 0);
    ck_assert(memcmp(got->stored_key, a256.stored_key, 32) == 0);
    ck_assert(memcmp(got->server_key, a256.server_key, 32) == 0);
    ck_assert_int_eq(got->iterations, 4096);
    ck_assert(scram_credential_check_password(got, "alice-secret"));
    ck_assert(scram_credential_check_password(creds_find(&back, "bob", SCRAM_SHA_512),
                                              "bob-secret"));
    ck_assert_ptr_null(creds_find(&back, "bob", SCRAM_SHA_256));
    ck_assert_ptr_null(creds_find(&back, "carol", SCRAM_SHA_512));

    /* replacing keeps one entry per user and mechanism */
    scram_credential_t again;
    make(SCRAM_SHA_512, "new", &again);
    ck_assert_int_eq(creds_set(&back, "bob", &again), 0);
    ck_assert_uint_eq(back.count, 3);
    ck_assert(scram_credential_check_password(creds_find(&back, "bob", SCRAM_SHA_512), "new"));

    scram_mech_t m = SCRAM_SHA_512;
    ck_assert_uint_eq(creds_delete(&back, "alice", &m), 1);
    ck_assert_ptr_nonnull(creds_find(&back, "alice", SCRAM_SHA_256));
    ck_assert_uint_eq(creds_delete(&back, "alice", NULL), 1);
    ck_assert_uint_eq(creds_delete(&back, "alice", NULL), 0);
    ck_assert_uint_eq(back.count, 1);
    creds_free(&back);
    creds_free(&c);
}
END_TEST

START_TEST(user_names_the_file_cannot_hold)
{
    creds_t c;
    creds_init(&c);
    scram_credential_t cred;
    make(SCRAM_SHA_256, "pw", &cred);
    ck_assert_int_eq(creds_set(&c, "two words", &cred), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(creds_set(&c, "", &cred), SAMSA_ERR__INVALID_ARG);
    ck_assert_int_eq(creds_set(&c, "j\xc3\xb6rg", &cred), SAMSA_ERR__NOT_SUPPORTED);
    ck_assert_int_eq(creds_set(&c, "a,b=c", &cred), 0);
    ck_assert_uint_eq(c.count, 1);
    creds_free(&c);
}
END_TEST

START_TEST(missing_and_malformed_files)
{
    creds_t c;
    creds_init(&c);
    ck_assert_int_eq(creds_load(&c, path, errbuf, sizeof(errbuf)), SAMSA_ERR__NOENT);
    ck_assert_uint_eq(c.count, 0);

    static const char *const bad[] = {
        "alice SCRAM-SHA-999 salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=4096\n",
        "alice SCRAM-SHA-256 salt=AAAA,iterations=4096\n",
        "alice SCRAM-SHA-256 salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=4096\n",
        "alice\n",
        "alice SCRAM-SHA-256 a b\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "# comment\n\n%s", bad[i]);
        write_file(text);
        ck_assert_int_eq(creds_load(&c, path, errbuf, sizeof(errbuf)), SAMSA_ERR__INVALID_CONFIG);
        ck_assert_msg(strstr(errbuf, ":3: "), "%s", errbuf);
    }
    /* a duplicate entry, and iterations below the minimum */
    scram_credential_t cred;
    make(SCRAM_SHA_256, "pw", &cred);
    ck_assert_int_eq(creds_set(&c, "alice", &cred), 0);
    ck_assert_int_eq(creds_save(&c, path, errbuf, sizeof(errbuf)), 0);
    char *text = strdup(read_file());
    char *entry = strchr(text, '\n') + 1;
    char twice[2048];
    snprintf(twice, sizeof(twice), "%s%s", entry, entry);
    write_file(twice);
    creds_t other;
    creds_init(&other);
    ck_assert_int_eq(creds_load(&other, path, errbuf, sizeof(errbuf)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(errbuf, ":2: a second entry"));
    char *it = strstr(entry, "iterations=4096");
    memcpy(it, "iterations=1000", 15);
    write_file(entry);
    ck_assert_int_eq(creds_load(&other, path, errbuf, sizeof(errbuf)),
                     SAMSA_ERR__INVALID_CONFIG);
    free(text);
    creds_free(&other);
    creds_free(&c);
}
END_TEST

START_TEST(cache_follows_the_file)
{
    creds_cache_t cc;
    ck_assert_int_eq(creds_cache_init(&cc, path), 0);
    bool reloaded;
    ck_assert_int_eq(creds_cache_refresh(&cc, &reloaded, errbuf, sizeof(errbuf)),
                     SAMSA_ERR__NOENT);
    ck_assert_uint_eq(cc.creds.count, 0);

    creds_t c;
    creds_init(&c);
    scram_credential_t cred;
    make(SCRAM_SHA_512, "pw", &cred);
    ck_assert_int_eq(creds_set(&c, "alice", &cred), 0);
    ck_assert_int_eq(creds_save(&c, path, errbuf, sizeof(errbuf)), 0);
    ck_assert_int_eq(creds_cache_refresh(&cc, &reloaded, errbuf, sizeof(errbuf)), 0);
    ck_assert(reloaded);
    ck_assert_ptr_nonnull(creds_find(&cc.creds, "alice", SCRAM_SHA_512));
    ck_assert_int_eq(creds_cache_refresh(&cc, &reloaded, errbuf, sizeof(errbuf)), 0);
    ck_assert(!reloaded);

    /* a new file (rename: another inode) is picked up */
    ck_assert_int_eq(creds_set(&c, "bob", &cred), 0);
    ck_assert_int_eq(creds_save(&c, path, errbuf, sizeof(errbuf)), 0);
    ck_assert_int_eq(creds_cache_refresh(&cc, &reloaded, errbuf, sizeof(errbuf)), 0);
    ck_assert(reloaded);
    ck_assert_ptr_nonnull(creds_find(&cc.creds, "bob", SCRAM_SHA_512));

    /* a broken file keeps the last good set */
    write_file("garbage\n");
    ck_assert_int_eq(creds_cache_refresh(&cc, &reloaded, errbuf, sizeof(errbuf)),
                     SAMSA_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(creds_find(&cc.creds, "bob", SCRAM_SHA_512));

    /* a removed file leaves nobody */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(creds_cache_refresh(&cc, &reloaded, errbuf, sizeof(errbuf)),
                     SAMSA_ERR__NOENT);
    ck_assert(reloaded);
    ck_assert_uint_eq(cc.creds.count, 0);
    creds_free(&c);
    creds_cache_free(&cc);
}
END_TEST

START_TEST(save_fails_cleanly_in_a_missing_directory)
{
    creds_t c;
    creds_init(&c);
    char bad[200];
    snprintf(bad, sizeof(bad), "%s/no/such/dir/credentials", dir);
    ck_assert_int_eq(creds_save(&c, bad, errbuf, sizeof(errbuf)), SAMSA_ERR__STORAGE);
    ck_assert_ptr_nonnull(strstr(errbuf, bad));
    creds_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("credentials");
    TCase *tc = tcase_create("credentials");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, save_and_load_round_trip);
    tcase_add_test(tc, user_names_the_file_cannot_hold);
    tcase_add_test(tc, missing_and_malformed_files);
    tcase_add_test(tc, cache_follows_the_file);
    tcase_add_test(tc, save_fails_cleanly_in_a_missing_directory);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
