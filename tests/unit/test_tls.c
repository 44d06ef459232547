/*
 * test_tls.c: TLS contexts and sessions, a server and a client in one
 * process over a socketpair: handshakes at TLS 1.2 and 1.3, client
 * certificates (required, requested, missing, untrusted, expired), host
 * name checks, data both ways with partial writes, and a peer that does
 * not speak TLS. The certificates come from tests/tools/certs.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tls.h"
#include "unit.h"

static char cert_dir[64];
static char errbuf[512];

static const char *cert(const char *name)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 128, "%s/%s", cert_dir, name);
    return p;
}

static tls_ctx_t *server_ctx(tls_client_auth_t auth, int max_version)
{
    tls_config_t cfg = {.server = true,
                        .certificate_location = cert("broker.pem"),
                        .key_location = cert("broker.key"),
                        .ca_location = cert("ca.pem"),
                        .client_auth = auth,
                        .max_version = max_version};
    tls_ctx_t *ctx = tls_ctx_new(&cfg, errbuf, sizeof(errbuf));
    ck_assert_msg(ctx != NULL, "%s", errbuf);
    return ctx;
}

/* A client context with the named certificate (NULL: none). */
static tls_ctx_t *client_ctx(const char *name, bool verify_hostname)
{
    char pem[32], key[32];
    if (name) {
        snprintf(pem, sizeof(pem), "%s.pem", name);
        snprintf(key, sizeof(key), "%s.key", name);
    }
    tls_config_t cfg = {.certificate_location = name ? cert(pem) : NULL,
                        .key_location = name ? cert(key) : NULL,
                        .ca_location = cert("ca.pem"),
                        .verify_peer = true,
                        .verify_hostname = verify_hostname};
    tls_ctx_t *ctx = tls_ctx_new(&cfg, errbuf, sizeof(errbuf));
    ck_assert_msg(ctx != NULL, "%s", errbuf);
    return ctx;
}

typedef struct pair {
    int fds[2];
    tls_session_t *server, *client;
} pair_t;

static void pair_open(pair_t *p, tls_ctx_t *sctx, tls_ctx_t *cctx, const char *hostname)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fds), 0);
    p->server = tls_session_new(sctx, p->fds[0], NULL, errbuf, sizeof(errbuf));
    p->client = tls_session_new(cctx, p->fds[1], hostname, errbuf, sizeof(errbuf));
    ck_assert(p->server && p->client);
}

static void pair_close(pair_t *p)
{
    tls_session_free(p->server);
    tls_session_free(p->client);
    close(p->fds[0]);
    close(p->fds[1]);
}

/* Steps both handshakes until both finish or one fails; returns the
 * server's and the client's last status. */
static void handshake(pair_t *p, int *server_st, int *client_st)
{
    int s = TLS_WANT_READ, c = TLS_WANT_READ;
    for (int i = 0; i < 100 && (s == TLS_WANT_READ || s == TLS_WANT_WRITE ||
                                c == TLS_WANT_READ || c == TLS_WANT_WRITE); i++) {
        if (c == TLS_WANT_READ || c == TLS_WANT_WRITE)
            c = tls_handshake(p->client);
        if (s == TLS_WANT_READ || s == TLS_WANT_WRITE)
            s = tls_handshake(p->server);
        /* TLS 1.3: the client finishes first, the server's verdict on its
         * certificate reaches it with the first read */
        if (c == TLS_OK && s != TLS_OK && s != TLS_WANT_READ && s != TLS_WANT_WRITE) {
            char b;
            int r = (int)tls_read(p->client, &b, 1);
            if (r != TLS_WANT_READ)
                c = r;
        }
    }
    *server_st = s;
    *client_st = c;
}

START_TEST(tls13_with_required_client_certificate)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_REQUIRED, 0);
    tls_ctx_t *cctx = client_ctx("client", true);
    pair_t p;
    pair_open(&p, sctx, cctx, "localhost");
    tls_ctx_free(sctx); /* sessions keep their context */
    tls_ctx_free(cctx);
    int s, c;
    handshake(&p, &s, &c);
    ck_assert_msg(s == TLS_OK && c == TLS_OK, "server %d (%s) client %d (%s)", s,
                  tls_session_error(p.server), c, tls_session_error(p.client));
    ck_assert(tls_handshake_done(p.server));
    ck_assert_str_eq(tls_session_version(p.server), "TLSv1.3");
    ck_assert_str_eq(tls_peer_subject(p.server), "CN=client,OU=test,O=samsa");
    ck_assert_str_eq(tls_peer_subject(p.client), "CN=localhost,O=samsa");

    ck_assert_int_eq(tls_write(p.client, "hello", 5), 5);
    char buf[16];
    ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf)), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf)), TLS_WANT_READ);
    ck_assert_int_eq(tls_write(p.server, "abc", 3), 3);
    ck_assert_int_eq(tls_read(p.client, buf, 1), 1);
    ck_assert(tls_pending(p.client));
    ck_assert_int_eq(tls_read(p.client, buf + 1, 2), 2);
    ck_assert(memcmp(buf, "abc", 3) == 0);

    tls_shutdown(p.client);
    ck_assert_int_eq(tls_read(p.server, buf, sizeof(buf)), TLS_CLOSED);
    pair_close(&p);
}
END_TEST

START_TEST(tls12_when_the_server_allows_no_more)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_NONE, TLS_VERSION_1_2);
    tls_ctx_t *cctx = client_ctx(NULL, true);
    pair_t p;
    pair_open(&p, sctx, cctx, "127.0.0.1");
    int s, c;
    handshake(&p, &s, &c);
    ck_assert_msg(s == TLS_OK && c == TLS_OK, "%s / %s", tls_session_error(p.server),
                  tls_session_error(p.client));
    ck_assert_str_eq(tls_session_version(p.client), "TLSv1.2");
    ck_assert_ptr_null(tls_peer_subject(p.server));
    pair_close(&p);
    tls_ctx_free(sctx);
    tls_ctx_free(cctx);
}
END_TEST

START_TEST(requested_client_auth_accepts_no_certificate)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_REQUESTED, 0);
    tls_ctx_t *cctx = client_ctx(NULL, true);
    pair_t p;
    pair_open(&p, sctx, cctx, "localhost");
    int s, c;
    handshake(&p, &s, &c);
    ck_assert_int_eq(s, TLS_OK);
    ck_assert_int_eq(c, TLS_OK);
    ck_assert_ptr_null(tls_peer_subject(p.server));
    pair_close(&p);
    tls_ctx_free(sctx);
    tls_ctx_free(cctx);
}
END_TEST

/* Under ssl.client.auth=required, the client (NULL: without a
 * certificate) is refused; the server's error contains expect. */
static void refused_client(const char *name, const char *expect)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_REQUIRED, 0);
    tls_config_t cfg = {.certificate_location = name ? cert(name) : NULL,
                        .ca_location = cert("ca.pem"),
                        .verify_peer = true};
    char key[64];
    if (name) {
        snprintf(key, sizeof(key), "%.*s.key", (int)(strlen(name) - 4), name);
        cfg.key_location = cert(key);
    }
    tls_ctx_t *cctx = tls_ctx_new(&cfg, errbuf, sizeof(errbuf));
    ck_assert_msg(cctx != NULL, "%s", errbuf);
    pair_t p;
    pair_open(&p, sctx, cctx, "localhost");
    int s, c;
    handshake(&p, &s, &c);
    ck_assert_int_eq(s, TLS_ERROR);
    ck_assert_msg(strstr(tls_session_error(p.server), expect), "server error: %s",
                  tls_session_error(p.server));
    ck_assert(c == TLS_ERROR || c == TLS_CLOSED);
    ck_assert(!tls_handshake_done(p.server));
    pair_close(&p);
    tls_ctx_free(sctx);
    tls_ctx_free(cctx);
}

START_TEST(required_client_auth_refuses_missing_untrusted_expired)
{
    refused_client(NULL, "did not return a certificate");
    refused_client("untrusted.pem", "unable to get local issuer certificate");
    refused_client("expired.pem", "certificate has expired");
}
END_TEST

START_TEST(client_checks_the_host_name)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_NONE, 0);
    tls_ctx_t *cctx = client_ctx(NULL, true);
    pair_t p;
    pair_open(&p, sctx, cctx, "wrong.example");
    int s, c;
    handshake(&p, &s, &c);
    ck_assert_int_eq(c, TLS_ERROR);
    ck_assert_msg(strstr(tls_session_error(p.client), "hostname mismatch"), "%s",
                  tls_session_error(p.client));
    pair_close(&p);
    pair_open(&p, sctx, cctx, "127.0.0.2");
    handshake(&p, &s, &c);
    ck_assert_int_eq(c, TLS_ERROR);
    pair_close(&p);
    tls_ctx_free(cctx);
    /* without the check, any name is fine */
    cctx = client_ctx(NULL, false);
    pair_open(&p, sctx, cctx, "wrong.example");
    handshake(&p, &s, &c);
    ck_assert_int_eq(c, TLS_OK);
    pair_close(&p);
    tls_ctx_free(sctx);
    tls_ctx_free(cctx);
}
END_TEST

START_TEST(large_writes_go_out_in_parts)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_NONE, 0);
    tls_ctx_t *cctx = client_ctx(NULL, true);
    pair_t p;
    pair_open(&p, sctx, cctx, "localhost");
    int s, c;
    handshake(&p, &s, &c);
    ck_assert(s == TLS_OK && c == TLS_OK);
    size_t total = 4 << 20;
    uint8_t *data = malloc(total), *got = malloc(total);
    ck_assert(data && got);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 12));
    size_t sent = 0, received = 0;
    int want_writes = 0;
    while (received < total) {
        if (sent < total) {
            ssize_t w = tls_write(p.server, data + sent, total - sent);
            if (w == TLS_WANT_WRITE)
                want_writes++;
            else
                ck_assert_msg(w > 0, "write %zd: %s", w, tls_session_error(p.server));
            if (w > 0 && (size_t)w < total - sent)
                want_writes++; /* a partial write: the socket filled up */
            if (w > 0)
                sent += (size_t)w;
        }
        ssize_t r;
        while ((r = tls_read(p.client, got + received, total - received)) > 0)
            received += (size_t)r;
        ck_assert_int_eq(r == TLS_WANT_READ || received == total, 1);
    }
    ck_assert_int_gt(want_writes, 0); /* the socket buffer filled at least once */
    ck_assert(memcmp(data, got, total) == 0);
    free(data);
    free(got);
    pair_close(&p);
    tls_ctx_free(sctx);
    tls_ctx_free(cctx);
}
END_TEST

START_TEST(plaintext_peer_fails_the_handshake)
{
    tls_ctx_t *sctx = server_ctx(TLS_CLIENT_AUTH_NONE, 0);
    int fds[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    tls_session_t *s = tls_session_new(sctx, fds[0], NULL, errbuf, sizeof(errbuf));
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(tls_handshake(s), TLS_WANT_READ);
    /* a Kafka ApiVersions v3 request, as a plaintext client sends it */
    static const uint8_t apiversions[] = {0, 0, 0, 20, 0, 18, 0, 3, 0, 0, 0, 1, 0, 4,
                                          'k', 'c', 'a', 't', 0, 1, 'x', 1, 1, 0};
    ck_assert_int_eq(write(fds[1], apiversions, sizeof(apiversions)), (int)sizeof(apiversions));
    ck_assert_int_eq(tls_handshake(s), TLS_ERROR);
    ck_assert_str_ne(tls_session_error(s), "");
    char b[4];
    ck_assert_int_eq(tls_read(s, b, sizeof(b)), TLS_ERROR);
    tls_session_free(s);
    close(fds[0]);
    close(fds[1]);

    /* and a peer that hangs up at once */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    s = tls_session_new(sctx, fds[0], NULL, errbuf, sizeof(errbuf));
    close(fds[1]);
    ck_assert_int_eq(tls_handshake(s), TLS_CLOSED);
    tls_session_free(s);
    close(fds[0]);
    tls_ctx_free(sctx);

    ck_assert(tls_looks_like_client_hello((const uint8_t *)"\x16\x03\x01\x02", 4));
    ck_assert(!tls_looks_like_client_hello(apiversions, sizeof(apiversions)));
}
END_TEST

START_TEST(context_errors_name_the_file)
{
    tls_config_t cfg = {.server = true,
                        .certificate_location = cert("nope.pem"),
                        .key_location = cert("broker.key")};
    ck_assert_ptr_null(tls_ctx_new(&cfg, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, "ssl.certificate.location") && strstr(errbuf, "nope.pem"), "%s",
                  errbuf);
    cfg.certificate_location = cert("broker.pem");
    cfg.key_location = cert("client.key");
    ck_assert_ptr_null(tls_ctx_new(&cfg, errbuf, sizeof(errbuf)));
    ck_assert_msg(strstr(errbuf, "client.key"), "%s", errbuf);
    cfg.key_location = NULL;
    cfg.certificate_location = NULL;
    ck_assert_ptr_null(tls_ctx_new(&cfg, errbuf, sizeof(errbuf)));
    ck_assert_ptr_nonnull(strstr(errbuf, "ssl.certificate.location"));
    tls_config_t client = {.ca_location = cert("missing-ca.pem"), .verify_peer = true};
    ck_assert_ptr_null(tls_ctx_new(&client, errbuf, sizeof(errbuf)));
    ck_assert_ptr_nonnull(strstr(errbuf, "ssl.ca.location"));
    tls_config_t versions = {.verify_peer = false, .min_version = TLS_VERSION_1_3,
                             .max_version = TLS_VERSION_1_2};
    ck_assert_ptr_null(tls_ctx_new(&versions, errbuf, sizeof(errbuf)));
}
END_TEST

int main(void)
{
    snprintf(cert_dir, sizeof(cert_dir), "/tmp/samsa-tls-XXXXXX");
    if (!mkdtemp(cert_dir))
        return 1;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "sh tests/tools/certs.sh %s", cert_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "tests/tools/certs.sh failed\n");
        return 1;
    }
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_add_test(tc, tls13_with_required_client_certificate);
    tcase_add_test(tc, tls12_when_the_server_allows_no_more);
    tcase_add_test(tc, requested_client_auth_accepts_no_certificate);
    tcase_add_test(tc, required_client_auth_refuses_missing_untrusted_expired);
    tcase_add_test(tc, client_checks_the_host_name);
    tcase_add_test(tc, large_writes_go_out_in_parts);
    tcase_add_test(tc, plaintext_peer_fails_the_handshake);
    tcase_add_test(tc, context_errors_name_the_file);
    suite_add_tcase(s, tc);
    int rc = unit_run(s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cert_dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
