/*
 * tls.h: TLS for samsa's connections, shared by the broker and the client:
 * a context built from PEM files (Kafka's ssl.* properties) and a
 * non-blocking session over a connected socket that the event loop drives.
 *
 * A context is made once (per listener, per client handle) and is
 * read-only afterwards: sessions of one context may live on any thread.
 * A session belongs to one thread at a time (its connection's loop).
 *
 * Driving a session: call tls_handshake() until it returns TLS_OK, then
 * tls_read()/tls_write(). Each of them may return TLS_WANT_READ or
 * TLS_WANT_WRITE: wait for that readiness of the fd (LOOP_READ/LOOP_WRITE)
 * and call the same function again (a tls_write() again with the same
 * bytes, or more). TLS_CLOSED is the peer's orderly end; TLS_ERROR leaves
 * its reason in tls_session_error(). Bytes can sit decrypted inside the
 * session after a read although the socket has none: call tls_read()
 * again while tls_pending() says so (epoll will not report them).
 *
 * The session writes with send(MSG_NOSIGNAL): a peer that went away never
 * raises SIGPIPE in the embedding process.
 */
#ifndef SAMSA_NET_TLS_H
#define SAMSA_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "samsa.h"

/* ssl.client.auth (server side) */
typedef enum tls_client_auth {
    TLS_CLIENT_AUTH_NONE = 0,      /* no certificate asked for */
    TLS_CLIENT_AUTH_REQUESTED = 1, /* asked for; none is fine, an untrusted one is refused */
    TLS_CLIENT_AUTH_REQUIRED = 2,  /* a certificate trusted by ssl.ca.location is required */
} tls_client_auth_t;

/* Protocol versions for tls_config_t.min_version/max_version. */
enum { TLS_VERSION_1_2 = 12, TLS_VERSION_1_3 = 13 };

typedef struct tls_config {
    bool server;                      /* accepting side (broker) or connecting side (client) */
    const char *certificate_location; /* ssl.certificate.location: PEM certificate (chain);
                                       * required for a server, optional for a client (mTLS) */
    const char *key_location;         /* ssl.key.location: PEM private key of that certificate */
    const char *key_password;         /* ssl.key.password, or NULL for an unencrypted key */
    const char *ca_location;          /* ssl.ca.location: PEM file or directory of trusted CAs;
                                       * NULL: the system's default store */
    tls_client_auth_t client_auth;    /* server: ssl.client.auth */
    bool verify_peer;                 /* client: check the broker's certificate against the CAs
                                       * (enable.ssl.certificate.verification); servers ignore it */
    bool verify_hostname;             /* client: and that it names the host connected to
                                       * (ssl.endpoint.identification.algorithm=https) */
    int min_version;                  /* TLS_VERSION_*, 0: 1.2 */
    int max_version;                  /* TLS_VERSION_*, 0: 1.3 */
} tls_config_t;

typedef struct tls_ctx tls_ctx_t;
typedef struct tls_session tls_session_t;

/* Results of the session calls (tls_read/tls_write return byte counts >= 1
 * otherwise). */
enum {
    TLS_OK = 0,
    TLS_WANT_READ = -1,  /* call again once the fd is readable */
    TLS_WANT_WRITE = -2, /* call again once the fd is writable */
    TLS_CLOSED = -3,     /* the peer closed the connection (orderly or not, no more data) */
    TLS_ERROR = -4,      /* failed: tls_session_error() says why; close the connection */
};

/* Makes a context from cfg (the strings are read now, not kept). Returns
 * NULL with the reason in errbuf (naming the file and OpenSSL's error) when
 * a file cannot be read, the key does not match the certificate, a server
 * has no certificate, or memory runs out. Free with tls_ctx_free(). Any
 * thread. */
tls_ctx_t *tls_ctx_new(const tls_config_t *cfg, char *errbuf, size_t errlen);
/* Frees ctx (NULL is ignored). Sessions made from it keep their own
 * reference and stay usable. */
void tls_ctx_free(tls_ctx_t *ctx);

/* A session over fd, a connected non-blocking socket (not owned: the
 * caller closes it after tls_session_free). hostname is the name a client
 * connects to: sent as SNI and, with verify_hostname, checked against the
 * certificate (an IP address against its IP SANs); NULL for servers.
 * Returns NULL with the reason in errbuf when memory runs out. */
tls_session_t *tls_session_new(tls_ctx_t *ctx, int fd, const char *hostname, char *errbuf,
                               size_t errlen);
/* Frees s without sending anything (NULL is ignored). */
void tls_session_free(tls_session_t *s);

/* Advances the handshake. TLS_OK once it is complete (and at once when it
 * already was), TLS_WANT_READ/TLS_WANT_WRITE, TLS_CLOSED, or TLS_ERROR:
 * a peer that does not speak TLS, an untrusted, expired or (client side)
 * misnamed certificate, a missing client certificate under
 * TLS_CLIENT_AUTH_REQUIRED. */
int tls_handshake(tls_session_t *s);
/* Whether the handshake is complete. */
bool tls_handshake_done(const tls_session_t *s);

/* Reads at most len (> 0) decrypted bytes into buf. Returns the count
 * (>= 1), TLS_WANT_READ, TLS_WANT_WRITE (renegotiation, key update),
 * TLS_CLOSED or TLS_ERROR. Completes the handshake first when needed. */
ssize_t tls_read(tls_session_t *s, void *buf, size_t len);
/* Encrypts and sends at most len (> 0) bytes of buf. Returns the count
 * taken (>= 1; all of len unless the socket filled up), TLS_WANT_WRITE,
 * TLS_WANT_READ, TLS_CLOSED or TLS_ERROR. After a WANT, the next call must
 * pass the same buf and len again (or a longer len over the same start). */
ssize_t tls_write(tls_session_t *s, const void *buf, size_t len);
/* Whether decrypted bytes are buffered in the session (read them now). */
bool tls_pending(const tls_session_t *s);
/* Sends close_notify, best effort (never blocks; ignores failures). */
void tls_shutdown(tls_session_t *s);

/* Why the last call failed: a static-lifetime-of-s message, "" when none. */
const char *tls_session_error(const tls_session_t *s);
/* The peer certificate's subject in RFC 2253 form ("CN=client,O=samsa"),
 * as Kafka's default principal builder names it, or NULL when the peer
 * sent none. Valid as long as s; after the handshake. */
const char *tls_peer_subject(const tls_session_t *s);
/* "TLSv1.3", "TLSv1.2" after the handshake; "" before. */
const char *tls_session_version(const tls_session_t *s);

/* Whether the first bytes a server read off a plaintext connection look
 * like a TLS ClientHello (a record of type 22, version 3.x): used to tell
 * a TLS client on a plaintext port in log lines. len >= 3. */
bool tls_looks_like_client_hello(const unsigned char *data, size_t len);

#endif /* SAMSA_NET_TLS_H */
