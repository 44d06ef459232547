/*
 * tls.c: OpenSSL contexts from PEM files and non-blocking sessions over a
 * socket (see tls.h).
 *
 * The session's transport is a small BIO of our own over the fd rather
 * than OpenSSL's socket BIO: it sends with MSG_NOSIGNAL (no SIGPIPE in an
 * embedding program) and tells a closed peer from a failed socket.
 */
#include "net/tls.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_ctx {
    SSL_CTX *ssl_ctx;
    BIO_METHOD *bio_method;
    int refcount; /* atomic: the creator's plus one per session */
    bool server;
    bool verify_hostname;
};

struct tls_session {
    tls_ctx_t *ctx;
    SSL *ssl;
    int fd;
    bool handshake_done;
    bool failed; /* sticky: after TLS_ERROR every call fails the same way */
    char *peer_subject;
    char error[256];
};

/* ---- errors ----------------------------------------------------------------- */

/* Writes prefix and OpenSSL's queued errors (oldest first) into buf, and
 * empties the queue. */
static void tls_error_fill(char *buf, size_t len, const char *prefix)
{
    size_t used = (size_t)snprintf(buf, len, "%s", prefix);
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (used + 3 >= len)
            continue;
        char one[200];
        ERR_error_string_n(e, one, sizeof(one));
        /* "error:0A000086:SSL routines::certificate verify failed": keep the
         * reason after the last ':' readable, the code for searching */
        used += (size_t)snprintf(buf + used, len - used, ": %s", one);
    }
    if (used >= len && len > 0)
        buf[len - 1] = '\0';
}

/* ---- the fd BIO ------------------------------------------------------------- */

static int fd_bio_write(BIO *bio, const char *data, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do
        n = send(fd, data, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(bio);
    return (int)n;
}

static int fd_bio_read(BIO *bio, char *data, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do
        n = recv(fd, data, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(bio);
    if (n == 0)
        errno = 0; /* end of stream, not a failure */
    return (int)n;
}

static long fd_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int fd_bio_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

static BIO_METHOD *fd_bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "samsa fd");
    if (!m)
        return NULL;
    if (!BIO_meth_set_write(m, fd_bio_write) || !BIO_meth_set_read(m, fd_bio_read) ||
        !BIO_meth_set_ctrl(m, fd_bio_ctrl) || !BIO_meth_set_create(m, fd_bio_create)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- contexts ----------------------------------------------------------------- */

static int tls_password_cb(char *buf, int size, int rwflag, void *userdata)
{
    const char *pw = userdata;
    if (!pw)
        return 0;
    size_t n = strlen(pw);
    if (n > (size_t)size)
        return 0;
    memcpy(buf, pw, n);
    return (int)n;
}

static int tls_version_code(int v, int dflt)
{
    switch (v) {
    case TLS_VERSION_1_2: return TLS1_2_VERSION;
    case TLS_VERSION_1_3: return TLS1_3_VERSION;
    default: return dflt;
    }
}

/* Loads the trusted CAs (file or directory) into ctx. Returns 0 or -1
 * with errbuf filled. */
static int tls_load_ca(SSL_CTX *ctx, const tls_config_t *cfg, char *errbuf, size_t errlen)
{
    if (!cfg->ca_location) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            tls_error_fill(errbuf, errlen, "cannot load the system's CA store");
            return -1;
        }
        return 0;
    }
    struct stat st;
    if (stat(cfg->ca_location, &st) != 0) {
        snprintf(errbuf, errlen, "ssl.ca.location %s: %s", cfg->ca_location, strerror(errno));
        return -1;
    }
    bool dir = S_ISDIR(st.st_mode);
    if (SSL_CTX_load_verify_locations(ctx, dir ? NULL : cfg->ca_location,
                                      dir ? cfg->ca_location : NULL) != 1) {
        char prefix[300];
        snprintf(prefix, sizeof(prefix), "ssl.ca.location %s: no usable CA certificate",
                 cfg->ca_location);
        tls_error_fill(errbuf, errlen, prefix);
        return -1;
    }
    if (cfg->server && !dir) {
        /* name the accepted CAs in the CertificateRequest, so a client
         * holding several certificates can pick the right one */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca_location);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        ERR_clear_error();
    }
    return 0;
}

/* Loads the certificate chain and its key. Returns 0 or -1. */
static int tls_load_cert(SSL_CTX *ctx, const tls_config_t *cfg, char *errbuf, size_t errlen)
{
    char prefix[300];
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->certificate_location) != 1) {
        snprintf(prefix, sizeof(prefix), "ssl.certificate.location %s: cannot load",
                 cfg->certificate_location);
        tls_error_fill(errbuf, errlen, prefix);
        return -1;
    }
    const char *key = cfg->key_location ? cfg->key_location : cfg->certificate_location;
    SSL_CTX_set_default_passwd_cb(ctx, tls_password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)cfg->key_password);
    int ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    if (ok != 1) {
        snprintf(prefix, sizeof(prefix), "ssl.key.location %s: cannot load the private key%s",
                 key, cfg->key_password ? " (wrong ssl.key.password?)" : "");
        tls_error_fill(errbuf, errlen, prefix);
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(prefix, sizeof(prefix), "ssl.key.location %s does not match %s", key,
                 cfg->certificate_location);
        tls_error_fill(errbuf, errlen, prefix);
        return -1;
    }
    return 0;
}

tls_ctx_t *tls_ctx_new(const tls_config_t *cfg, char *errbuf, size_t errlen)
{
    tls_ctx_t *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    t->refcount = 1;
    t->server = cfg->server;
    t->verify_hostname = !cfg->server && cfg->verify_peer && cfg->verify_hostname;
    ERR_clear_error();
    t->ssl_ctx = SSL_CTX_new(cfg->server ? TLS_server_method() : TLS_client_method());
    t->bio_method = fd_bio_method_new();
    if (!t->ssl_ctx || !t->bio_method) {
        tls_error_fill(errbuf, errlen, "cannot make a TLS context");
        goto fail;
    }
    SSL_CTX *ctx = t->ssl_ctx;
    int min = tls_version_code(cfg->min_version, TLS1_2_VERSION);
    int max = tls_version_code(cfg->max_version, TLS1_3_VERSION);
    if (min > max || SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, max) != 1) {
        snprintf(errbuf, errlen, "bad TLS version range");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* read what the socket has, not a record header and then its body:
     * half the recv calls (tls_pending() counts what is read ahead) */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (cfg->server && !cfg->certificate_location) {
        snprintf(errbuf, errlen, "a TLS listener needs ssl.certificate.location and "
                                 "ssl.key.location");
        goto fail;
    }
    if (cfg->certificate_location && tls_load_cert(ctx, cfg, errbuf, errlen) != 0)
        goto fail;
    bool need_ca = cfg->server ? cfg->client_auth != TLS_CLIENT_AUTH_NONE : cfg->verify_peer;
    if (need_ca && tls_load_ca(ctx, cfg, errbuf, errlen) != 0)
        goto fail;
    int mode = SSL_VERIFY_NONE;
    if (cfg->server && cfg->client_auth == TLS_CLIENT_AUTH_REQUIRED)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (cfg->server && cfg->client_auth == TLS_CLIENT_AUTH_REQUESTED)
        mode = SSL_VERIFY_PEER;
    else if (!cfg->server && cfg->verify_peer)
        mode = SSL_VERIFY_PEER;
    SSL_CTX_set_verify(ctx, mode, NULL);
    if (cfg->server) {
        /* no session cache: every connection authenticates anew (client
         * certificates may have been revoked or expired since) */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    return t;
fail:
    tls_ctx_free(t);
    return NULL;
}

void tls_ctx_free(tls_ctx_t *t)
{
    if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    SSL_CTX_free(t->ssl_ctx);
    BIO_meth_free(t->bio_method);
    free(t);
}

/* ---- sessions ----------------------------------------------------------------- */

tls_session_t *tls_session_new(tls_ctx_t *ctx, int fd, const char *hostname, char *errbuf,
                               size_t errlen)
{
    tls_session_t *s = calloc(1, sizeof(*s));
    BIO *bio = NULL;
    if (!s) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    __atomic_add_fetch(&ctx->refcount, 1, __ATOMIC_ACQ_REL);
    s->ctx = ctx;
    s->fd = fd;
    ERR_clear_error();
    s->ssl = SSL_new(ctx->ssl_ctx);
    bio = BIO_new(ctx->bio_method);
    if (!s->ssl || !bio) {
        tls_error_fill(errbuf, errlen, "cannot make a TLS session");
        goto fail;
    }
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(s->ssl, bio, bio);
    bio = NULL;
    if (ctx->server) {
        SSL_set_accept_state(s->ssl);
        return s;
    }
    SSL_set_connect_state(s->ssl);
    if (hostname && *hostname) {
        unsigned char ip[16];
        bool is_ip = inet_pton(AF_INET, hostname, ip) == 1 || inet_pton(AF_INET6, hostname, ip) == 1;
        if (!is_ip && SSL_set_tlsext_host_name(s->ssl, hostname) != 1) {
            tls_error_fill(errbuf, errlen, "cannot set the TLS server name");
            goto fail;
        }
        if (ctx->verify_hostname) {
            X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);
            int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, hostname)
                           : X509_VERIFY_PARAM_set1_host(param, hostname, 0);
            if (ok != 1) {
                tls_error_fill(errbuf, errlen, "cannot set the host name to verify");
                goto fail;
            }
        }
    }
    return s;
fail:
    BIO_free(bio);
    tls_session_free(s);
    return NULL;
}

void tls_session_free(tls_session_t *s)
{
    if (!s)
        return;
    SSL_free(s->ssl);
    free(s->peer_subject);
    tls_ctx_free(s->ctx);
    free(s);
}

/* Turns the result r of an SSL call into a TLS_* status, filling s->error
 * on TLS_ERROR. */
static int tls_status_of(tls_session_t *s, int r, const char *what)
{
    int e = SSL_get_error(s->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ: ERR_clear_error(); return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: ERR_clear_error(); return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
                snprintf(s->error, sizeof(s->error), "%s: connection closed by the peer", what);
                return TLS_CLOSED;
            }
            snprintf(s->error, sizeof(s->error), "%s: %s", what, strerror(errno));
            return TLS_ERROR;
        }
        break;
    default: break;
    }
    char prefix[160];
    long vr = SSL_get_verify_result(s->ssl);
    if (vr != X509_V_OK)
        snprintf(prefix, sizeof(prefix), "%s: certificate verification failed (%s)", what,
                 X509_verify_cert_error_string(vr));
    else
        snprintf(prefix, sizeof(prefix), "%s failed", what);
    tls_error_fill(s->error, sizeof(s->error), prefix);
    return TLS_ERROR;
}

static int tls_status(tls_session_t *s, int r, const char *what)
{
    int st = tls_status_of(s, r, what);
    if (st == TLS_ERROR)
        s->failed = true;
    return st;
}

/* Records the peer's subject once the handshake is complete. */
static int tls_handshake_finish(tls_session_t *s)
{
    s->handshake_done = true;
    X509 *cert = SSL_get1_peer_certificate(s->ssl);
    if (!cert)
        return TLS_OK;
    BIO *mem = BIO_new(BIO_s_mem());
    int rc = TLS_OK;
    if (!mem || X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) {
        tls_error_fill(s->error, sizeof(s->error), "cannot read the peer certificate's subject");
        rc = TLS_ERROR;
    } else {
        char *data;
        long len = BIO_get_mem_data(mem, &data);
        s->peer_subject = malloc((size_t)len + 1);
        if (!s->peer_subject) {
            snprintf(s->error, sizeof(s->error), "out of memory");
            rc = TLS_ERROR;
        } else {
            memcpy(s->peer_subject, data, (size_t)len);
            s->peer_subject[len] = '\0';
        }
    }
    BIO_free(mem);
    X509_free(cert);
    s->failed = rc != TLS_OK;
    return rc;
}

int tls_handshake(tls_session_t *s)
{
    if (s->failed)
        return TLS_ERROR;
    if (s->handshake_done)
        return TLS_OK;
    s->error[0] = '\0';
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(s->ssl);
    if (r == 1)
        return tls_handshake_finish(s);
    int st = tls_status(s, r, "TLS handshake");
    if (st == TLS_CLOSED && !s->error[0])
        snprintf(s->error, sizeof(s->error), "TLS handshake: connection closed by the peer");
    return st;
}

bool tls_handshake_done(const tls_session_t *s) { return s->handshake_done; }

/* Before a read or a write: fails at once after an error, completes the
 * handshake, clears the error state. Returns TLS_OK to go on. */
static int tls_io_begin(tls_session_t *s)
{
    if (s->failed)
        return TLS_ERROR;
    if (!s->handshake_done) {
        int st = tls_handshake(s);
        if (st != TLS_OK)
            return st;
    }
    s->error[0] = '\0';
    ERR_clear_error();
    errno = 0;
    return TLS_OK;
}

ssize_t tls_read(tls_session_t *s, void *buf, size_t len)
{
    int st = tls_io_begin(s);
    if (st != TLS_OK)
        return st;
    int n = SSL_read(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : tls_status(s, n, "TLS read");
}

ssize_t tls_write(tls_session_t *s, const void *buf, size_t len)
{
    int st = tls_io_begin(s);
    if (st != TLS_OK)
        return st;
    int n = SSL_write(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : tls_status(s, n, "TLS write");
}

bool tls_pending(const tls_session_t *s) { return SSL_has_pending(s->ssl) == 1; }

void tls_shutdown(tls_session_t *s)
{
    if (s->handshake_done)
        SSL_shutdown(s->ssl);
    ERR_clear_error();
}

const char *tls_session_error(const tls_session_t *s) { return s->error; }

const char *tls_peer_subject(const tls_session_t *s) { return s->peer_subject; }

const char *tls_session_version(const tls_session_t *s)
{
    return s->handshake_done ? SSL_get_version(s->ssl) : "";
}

bool tls_looks_like_client_hello(const unsigned char *data, size_t len)
{
    return len >= 3 && data[0] == 22 && data[1] == 3 && data[2] <= 4;
}
