/*
 * conn.h: a client's connection to one broker, driven by the handle's event
 * loop: non-blocking connect (DNS resolution of host:port, every address in
 * turn), the TLS handshake (security.protocol ssl, sasl_ssl), the
 * ApiVersions handshake (KIP-511 fallback included), SASL authentication
 * (SaslHandshake + SaslAuthenticate: PLAIN, SCRAM-SHA-256/512), a queue of
 * requests numbered by correlation id with at most max_in_flight on the
 * wire, responses matched and decoded by the codec, request and connect
 * timeouts, and reconnects with exponential backoff. A request may leave
 * its record batches where they are (conn_encode_spliced_fn): they are
 * written from there, between the request's own bytes, with one sendmsg.
 *
 * Rule for failures: when the connection is lost, times out or cannot be
 * made, every request on it (queued or in flight) completes with an error
 * (SAMSA_ERR__TRANSPORT, or SAMSA_ERR__TIMED_OUT / SAMSA_ERR_REQUEST_TIMED_OUT),
 * so the owner retries what it wants retried. Each request's callback runs
 * exactly once. A connection that cannot be set up securely fails with
 * SAMSA_ERR_SASL_AUTHENTICATION_FAILED (wrong credentials),
 * SAMSA_ERR_UNSUPPORTED_SASL_MECHANISM, SAMSA_ERR__AUTHENTICATION (TLS:
 * untrusted certificate, hostname mismatch, a client certificate the
 * broker refuses or lacks, a peer that does not speak TLS, or a TLS broker
 * met by a plaintext client) with the reason, and is
 * retried only after the reconnect backoff like any other failure.
 *
 * Everything runs on the loop's thread; nothing here is thread-safe.
 */
#ifndef SAMSA_CLIENT_CONN_H
#define SAMSA_CLIENT_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "client/config.h"
#include "net/loop.h"
#include "proto/codec.h"
#include "samsa.h"
#include "net/tls.h"

typedef struct conn conn_t;

enum conn_state {
    CONN_DOWN = 0,       /* no socket; reconnects when a request waits and backoff is over */
    CONN_CONNECTING = 1, /* TCP connect in progress */
    CONN_TLS = 2,        /* TLS handshake in progress */
    CONN_HANDSHAKE = 3,  /* ApiVersions in flight */
    CONN_AUTH = 4,       /* SaslHandshake / SaslAuthenticate in flight */
    CONN_UP = 5,         /* versions known, authenticated; requests flow */
};

/* Writes the request body at version to out (header and size are the
 * connection's). Returns SAMSA_ERR_NONE or an error that fails the request. */
typedef samsa_err_t conn_encode_fn(void *opaque, int16_t version, buf_t *out);

/* Encodes a request whose record batches are written from where they are
 * instead of copied into out: the encoder leaves them to *splices (see
 * proto_encode). The records the splices point to must outlive the call
 * (the connection reads them when it returns); their bytes must stay as
 * they are until the request completes. */
typedef samsa_err_t conn_encode_spliced_fn(void *opaque, int16_t version, buf_t *out,
                                           proto_splices_t *splices);

/* A request completed. err is SAMSA_ERR_NONE with resp the decoded response
 * struct (valid during the call only; NULL for requests sent without
 * response, i.e. acks=0 produce, once fully written), or a local error with
 * resp NULL. c is the connection, still valid during the call. */
typedef void conn_response_fn(void *opaque, conn_t *c, samsa_err_t err, int16_t version,
                              const void *resp);

/* The connection came up (up true) or went down (up false, err and reason
 * say why). Called after the failed requests' callbacks. */
typedef void conn_event_fn(void *owner, conn_t *c, bool up, samsa_err_t err, const char *reason);

typedef struct conn_request {
    int16_t api_key;
    int16_t max_version;  /* highest version the caller can encode; -1: samsa's highest */
    bool no_response;     /* the broker sends nothing back (Produce with acks=0) */
    int32_t timeout_ms;   /* 0: request.timeout.ms */
    conn_encode_fn *encode;
    conn_response_fn *on_response;
    void *opaque;
    conn_encode_spliced_fn *encode_spliced; /* used instead of encode when set */
} conn_request_t;

/* A connection to node_id (negative for a bootstrap server) at host:port,
 * not yet connecting: the first conn_send, or conn_connect, starts it.
 * cfg is borrowed and must outlive the connection. Returns NULL when memory
 * runs out. */
conn_t *conn_new(loop_t *loop, const client_config_t *cfg, int32_t node_id, const char *host,
                 int port, conn_event_fn *on_event, void *owner);

/* Names the connection as further connection number lane (> 0) to its
 * broker, in log lines and errors. */
void conn_set_lane(conn_t *c, int lane);

/* Makes the connection speak TLS with sessions of tls (borrowed; must
 * outlive the connection), from its next connect on. NULL: plaintext. */
void conn_set_tls(conn_t *c, tls_ctx_t *tls);

/* Whether err is a failure to set up a secure connection (see above):
 * retrying will not help until the configuration or the broker changes. */
bool conn_err_is_security(samsa_err_t err);

/* Closes the socket and frees the connection. Every pending request's
 * callback runs first with SAMSA_ERR__DESTROYED. Not from inside one of
 * this connection's callbacks. A NULL conn is ignored. */
void conn_free(conn_t *c);

/* Queues a request (args copied); it goes out once the connection is up and
 * fewer than max_in_flight requests are on the wire. Connects when down and
 * the backoff is over. Returns SAMSA_ERR_NONE (the callback will run), or
 * SAMSA_ERR__NOMEM / SAMSA_ERR__NOT_SUPPORTED (no such API in samsa), and
 * then the callback never runs. */
samsa_err_t conn_send(conn_t *c, const conn_request_t *args);

/* Starts connecting when down and the reconnect backoff is over. */
void conn_connect(conn_t *c);

/* Checks timeouts and reconnect deadlines; the owner calls it periodically. */
void conn_tick(conn_t *c, int64_t now_ms);

/* The highest version of api_key both sides speak, or -1 (also when the
 * connection is not up). */
int16_t conn_api_version(const conn_t *c, int16_t api_key);

enum conn_state conn_state(const conn_t *c);
int32_t conn_node_id(const conn_t *c);
/* "host:port (node N)", for messages. */
const char *conn_name(const conn_t *c);
/* Requests queued or on the wire. */
int conn_pending(const conn_t *c);
/* Whether another request would go on the wire at once. */
bool conn_can_send(const conn_t *c);

/* Picks the version for one API from both sides' ranges: the highest in
 * both, or -1 when they do not overlap. Pure. */
int16_t conn_pick_version(int16_t ours_min, int16_t ours_max, int16_t theirs_min,
                          int16_t theirs_max);

#endif /* SAMSA_CLIENT_CONN_H */
