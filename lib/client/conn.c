/*
 * conn.c: one broker connection on the client's event loop (see conn.h):
 * socket and address handling, TLS, framing, the ApiVersions handshake,
 * SASL authentication, the request queue and in-flight list, timeouts and
 * reconnect backoff.
 */
#include "client/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/slog.h"
#include "client/sasl.h"
#include "net/resolve.h"
#include "proto/codec.h"
#include "proto/messages.h"

#define CONN_READ_CHUNK 65536
#define CONN_WRITE_IOVS 32 /* pieces one sendmsg takes at most */
#define API_KEY_SLOTS 128

typedef struct req {
    struct req *next;
    conn_request_t a;
    int32_t correlation_id;
    int16_t version;
    int64_t deadline_ms;
    size_t out_end; /* no_response: written once out_total reaches this */
} req_t;

/* Bytes of a framed request written from where they are, not from out: a
 * record batch the requester keeps until the request completes. */
typedef struct out_ref {
    size_t at; /* written before out's byte at this offset */
    const uint8_t *data;
    size_t len;
} out_ref_t;

typedef struct req_list {
    req_t *head, *tail;
    int count;
} req_list_t;

struct conn {
    loop_t *loop;
    const client_config_t *cfg;
    int32_t node_id;
    char host[256];
    int port;
    char name[300];
    conn_event_fn *on_event;
    void *owner;

    enum conn_state state;
    int fd;
    resolve_t *resolving;    /* CONN_CONNECTING: the host name is being resolved */
    int addr_index;          /* which resolved address the next attempt uses */
    int addr_count;          /* addresses host:port resolved to last time */
    int failures;            /* consecutive failed attempts, for the backoff */
    int64_t next_connect_ms; /* not before this */
    int64_t connect_deadline_ms;
    int16_t handshake_version;

    req_list_t queued;    /* not yet on the wire */
    req_list_t in_flight; /* awaiting responses, in send order */
    req_list_t written;   /* no_response requests whose bytes are not all written */
    int32_t next_correlation_id;

    buf_t out;
    size_t out_off;   /* bytes of out already written */
    size_t out_total; /* bytes ever written (for no_response requests) */
    out_ref_t *refs;  /* in the order of their places in out */
    size_t ref_count, ref_cap;
    size_t ref_next;  /* the first not all written */
    size_t ref_off;   /* bytes of refs[ref_next] written */
    size_t ref_bytes; /* bytes of refs not yet written */
    buf_t in;
    arena_t arena; /* decoded responses */

    int16_t versions[API_KEY_SLOTS]; /* negotiated; -1 none */

    tls_ctx_t *tls_ctx;   /* NULL: plaintext */
    tls_session_t *tls;   /* the session while connected over TLS */
    bool tls_read_wants_write; /* a TLS read waits for the socket to take bytes */
    int handshake_closes; /* attempts in a row the broker closed at ApiVersions (plaintext) */
    client_sasl_t *sasl;  /* the exchange while authenticating */
    buf_t sasl_out;       /* the next SaslAuthenticate's auth_bytes */
};

static void list_push(req_list_t *l, req_t *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->count++;
}

static req_t *list_pop(req_list_t *l)
{
    req_t *r = l->head;
    if (!r)
        return NULL;
    l->head = r->next;
    if (!l->head)
        l->tail = NULL;
    l->count--;
    return r;
}

static void complete(conn_t *c, req_t *r, samsa_err_t err, const void *resp)
{
    if (r->a.on_response)
        r->a.on_response(r->a.opaque, c, err, r->version, resp);
    free(r);
}

int16_t conn_pick_version(int16_t ours_min, int16_t ours_max, int16_t theirs_min,
                          int16_t theirs_max)
{
    int16_t hi = ours_max < theirs_max ? ours_max : theirs_max;
    int16_t lo = ours_min > theirs_min ? ours_min : theirs_min;
    return hi >= lo ? hi : -1;
}

conn_t *conn_new(loop_t *loop, const client_config_t *cfg, int32_t node_id, const char *host,
                 int port, conn_event_fn *on_event, void *owner)
{
    conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->loop = loop;
    c->cfg = cfg;
    c->node_id = node_id;
    snprintf(c->host, sizeof(c->host), "%s", host);
    c->port = port;
    if (node_id >= 0)
        snprintf(c->name, sizeof(c->name), "%s:%d (node %d)", c->host, port, (int)node_id);
    else
        snprintf(c->name, sizeof(c->name), "%s:%d (bootstrap)", c->host, port);
    c->on_event = on_event;
    c->owner = owner;
    c->fd = -1;
    c->next_correlation_id = 1;
    c->handshake_version = proto_api(API_API_VERSIONS)->max_version;
    buf_init(&c->out, 0);
    buf_init(&c->in, (size_t)cfg->max_response_bytes + 4);
    buf_init(&c->sasl_out, 0);
    arena_init(&c->arena, 0);
    for (int i = 0; i < API_KEY_SLOTS; i++)
        c->versions[i] = -1;
    return c;
}

/* Ends the SASL exchange, wiping what it sent (PLAIN's carries the
 * password). */
static void sasl_end(conn_t *c)
{
    client_sasl_free(c->sasl);
    c->sasl = NULL;
    if (c->sasl_out.data)
        memset(c->sasl_out.data, 0, c->sasl_out.cap);
    buf_reset(&c->sasl_out);
}

/* Drops what is framed and not written. */
static void out_reset(conn_t *c)
{
    buf_reset(&c->out);
    c->out_off = 0;
    c->ref_count = c->ref_next = c->ref_off = c->ref_bytes = 0;
}

/* Closes the socket and fails every request; state becomes DOWN with the
 * backoff armed. reason is for the log and the owner. */
static void disconnect(conn_t *c, samsa_err_t err, const char *reason)
{
    bool was_up = c->state == CONN_UP;
    resolve_cancel(c->resolving);
    c->resolving = NULL;
    if (c->tls) {
        if (was_up)
            tls_shutdown(c->tls);
        tls_session_free(c->tls);
        c->tls = NULL;
    }
    sasl_end(c);
    if (c->fd >= 0) {
        loop_del_fd(c->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    c->state = CONN_DOWN;
    out_reset(c);
    buf_reset(&c->in);
    if (!was_up)
        c->failures++;
    else
        c->failures = 0;
    int64_t backoff = c->cfg->reconnect_backoff_ms;
    for (int i = 1; i < c->failures && backoff < c->cfg->reconnect_backoff_max_ms; i++)
        backoff *= 2;
    if (backoff > c->cfg->reconnect_backoff_max_ms)
        backoff = c->cfg->reconnect_backoff_max_ms;
    backoff = backoff * (80 + rand() % 41) / 100; /* +-20% so clients do not reconnect in step */
    c->next_connect_ms = loop_now_ms(c->loop) + backoff;
    if (err != SAMSA_ERR__DESTROYED && (was_up || c->failures <= 1))
        slog_warn("client", "%s: %s", c->name, reason);
    else
        slog_debug("client", "%s: %s", c->name, reason);

    /* Detach everything first: callbacks may queue new requests. */
    req_list_t flight = c->in_flight, queued = c->queued, written = c->written;
    memset(&c->in_flight, 0, sizeof(c->in_flight));
    memset(&c->queued, 0, sizeof(c->queued));
    memset(&c->written, 0, sizeof(c->written));
    req_t *r;
    while ((r = list_pop(&written)))
        complete(c, r, err, NULL);
    while ((r = list_pop(&flight)))
        complete(c, r, err, NULL);
    while ((r = list_pop(&queued)))
        complete(c, r, err, NULL);
    if (c->on_event)
        c->on_event(c->owner, c, false, err, reason);
}

void conn_set_lane(conn_t *c, int lane)
{
    snprintf(c->name, sizeof(c->name), "%s:%d (node %d, connection %d)", c->host, c->port,
             (int)c->node_id, lane + 1);
}

void conn_free(conn_t *c)
{
    if (!c)
        return;
    c->on_event = NULL;
    disconnect(c, SAMSA_ERR__DESTROYED, "closed");
    buf_free(&c->out);
    free(c->refs);
    buf_free(&c->in);
    buf_free(&c->sasl_out);
    arena_free(&c->arena);
    free(c);
}

void conn_set_tls(conn_t *c, tls_ctx_t *tls) { c->tls_ctx = tls; }

bool conn_err_is_security(samsa_err_t err)
{
    return err == SAMSA_ERR_SASL_AUTHENTICATION_FAILED || err == SAMSA_ERR__AUTHENTICATION ||
           err == SAMSA_ERR_UNSUPPORTED_SASL_MECHANISM || err == SAMSA_ERR_ILLEGAL_SASL_STATE;
}

static void on_io(loop_t *loop, int fd, int events, void *opaque);
static void start_connect(conn_t *c);

/* Sets a socket buffer size (SO_SNDBUF, SO_RCVBUF) unless bytes is -1
 * (the system's, which grows with the connection's use), as Java's
 * send.buffer.bytes and receive.buffer.bytes do; 0 is taken as -1, as
 * librdkafka's socket.*.buffer.bytes do. */
static bool socket_buffer(int fd, int which, int32_t bytes)
{
    return bytes <= 0 || setsockopt(fd, SOL_SOCKET, which, &bytes, sizeof(bytes)) == 0;
}

/* Frames one request (size, header, body) at the end of c->out. */
static samsa_err_t frame_request(conn_t *c, req_t *r)
{
    const proto_api_t *api = proto_api(r->a.api_key);
    size_t start = c->out.len;
    buf_put_i32(&c->out, 0);
    proto_request_header_t hdr = {r->a.api_key, r->version, r->correlation_id,
                                  proto_str_of(c->cfg->client_id)};
    proto_request_header_write(&c->out, &hdr, proto_request_header_version(api, r->version));
    proto_splices_t splices = {0};
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!c->out.failed)
        err = r->a.encode_spliced
                  ? r->a.encode_spliced(r->a.opaque, r->version, &c->out, &splices)
                  : r->a.encode(r->a.opaque, r->version, &c->out);
    if (!err && c->out.failed)
        err = SAMSA_ERR__NOMEM;
    if (!err && c->ref_count + splices.count > c->ref_cap) {
        size_t cap = c->ref_cap ? c->ref_cap : 16;
        while (cap < c->ref_count + splices.count)
            cap *= 2;
        out_ref_t *grown = realloc(c->refs, cap * sizeof(*grown));
        if (grown) {
            c->refs = grown;
            c->ref_cap = cap;
        } else {
            err = SAMSA_ERR__NOMEM;
        }
    }
    if (err) {
        proto_splices_free(&splices);
        c->out.len = start;
        c->out.failed = false;
        return err;
    }
    for (size_t i = 0; i < splices.count; i++) {
        const proto_records_t *rec = splices.items[i].records;
        c->refs[c->ref_count++] =
            (out_ref_t){splices.items[i].buf_pos, rec->data, (size_t)rec->len};
    }
    c->ref_bytes += splices.total_bytes;
    be32_store(c->out.data + start, (uint32_t)(c->out.len - start - 4 + splices.total_bytes));
    proto_splices_free(&splices);
    return SAMSA_ERR_NONE;
}

/* Whether c has framed bytes not yet written. */
static bool out_pending(const conn_t *c)
{
    return c->out_off < c->out.len || c->ref_next < c->ref_count;
}

/* Fills up to max pieces with what c has to write next, in order: ranges
 * of out and, between them, the referenced bytes. Returns the count. */
static int out_pieces(const conn_t *c, struct iovec *iov, int max)
{
    size_t off = c->out_off, r = c->ref_next, roff = c->ref_off;
    int n = 0;
    while (n < max) {
        if (r < c->ref_count && c->refs[r].at == off) {
            iov[n++] = (struct iovec){(void *)(c->refs[r].data + roff), c->refs[r].len - roff};
            r++;
            roff = 0;
            continue;
        }
        size_t end = r < c->ref_count ? c->refs[r].at : c->out.len;
        if (end == off)
            break;
        iov[n++] = (struct iovec){c->out.data + off, end - off};
        off = end;
    }
    return n;
}

static void want_write(conn_t *c)
{
    bool w = out_pending(c) || (c->tls && c->tls_read_wants_write);
    if (c->fd >= 0)
        loop_mod_fd(c->loop, c->fd, LOOP_READ | (w ? LOOP_WRITE : 0));
}

/* Counts n more bytes of c->out as sent; all of them sent, the buffer
 * starts over. */
static void out_sent(conn_t *c, size_t n)
{
    c->out_total += n;
    while (n > 0) {
        if (c->ref_next < c->ref_count && c->refs[c->ref_next].at == c->out_off) {
            out_ref_t *ref = &c->refs[c->ref_next];
            size_t take = ref->len - c->ref_off < n ? ref->len - c->ref_off : n;
            c->ref_off += take;
            c->ref_bytes -= take;
            n -= take;
            if (c->ref_off == ref->len) {
                c->ref_next++;
                c->ref_off = 0;
            }
        } else {
            size_t end = c->ref_next < c->ref_count ? c->refs[c->ref_next].at : c->out.len;
            size_t take = end - c->out_off < n ? end - c->out_off : n;
            c->out_off += take;
            n -= take;
        }
    }
    if (!out_pending(c))
        out_reset(c);
}

/* Writes what is framed at once instead of on the loop's next turn (which
 * costs a wake-up and two epoll_ctl per request, and a request's latency).
 * Plaintext only, and only the bytes: what send() cannot take, a failure,
 * and requests without a response (completed by do_write, whose callbacks
 * must not run inside conn_send) are left to do_write, woken by write
 * readiness. */
static void write_now(conn_t *c)
{
    if (c->state == CONN_UP && !c->tls && !c->written.head) {
        while (out_pending(c)) {
            struct iovec iov[CONN_WRITE_IOVS];
            struct msghdr mh = {.msg_iov = iov,
                                .msg_iovlen = (size_t)out_pieces(c, iov, CONN_WRITE_IOVS)};
            ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n <= 0)
                break;
            out_sent(c, (size_t)n);
        }
    }
    want_write(c);
}

/* Moves queued requests onto the wire while the in-flight limit allows. */
static void pump(conn_t *c)
{
    while (c->state == CONN_UP && c->queued.head && c->in_flight.count < c->cfg->max_in_flight) {
        req_t *r = list_pop(&c->queued);
        const proto_api_t *api = proto_api(r->a.api_key);
        int16_t v = c->versions[r->a.api_key];
        if (v > r->a.max_version && r->a.max_version >= 0)
            v = r->a.max_version;
        if (v < 0 || v < api->min_version) {
            complete(c, r, SAMSA_ERR__NOT_SUPPORTED, NULL);
            continue;
        }
        r->version = v;
        r->correlation_id = c->next_correlation_id++;
        if (c->next_correlation_id == INT32_MAX)
            c->next_correlation_id = 1;
        samsa_err_t err = frame_request(c, r);
        if (err) {
            complete(c, r, err, NULL);
            continue;
        }
        int32_t timeout = r->a.timeout_ms > 0 ? r->a.timeout_ms : c->cfg->request_timeout_ms;
        r->deadline_ms = loop_now_ms(c->loop) + timeout;
        if (r->a.no_response) {
            r->out_end = c->out_total + (c->out.len - c->out_off) + c->ref_bytes;
            list_push(&c->written, r);
        } else {
            list_push(&c->in_flight, r);
        }
    }
    write_now(c);
}

static samsa_err_t encode_api_versions(void *opaque, int16_t version, buf_t *out)
{
    char ver[32];
    snprintf(ver, sizeof(ver), "%d.%d.%d", SAMSA_VERSION_MAJOR, SAMSA_VERSION_MINOR,
             SAMSA_VERSION_PATCH);
    api_versions_request_t req = {proto_str_of("samsa"), proto_str_of(ver)};
    const proto_api_t *api = proto_api(API_API_VERSIONS);
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

/* Sends one request of the connection's setup (ApiVersions, SASL) at
 * version, ahead of every queued request, due by the connect deadline.
 * Returns false when it failed and the connection was dropped. */
static bool send_setup(conn_t *c, int16_t api_key, int16_t version, conn_encode_fn *encode,
                       conn_response_fn *on_response)
{
    req_t *r = calloc(1, sizeof(*r));
    if (!r) {
        disconnect(c, SAMSA_ERR__NOMEM, "out of memory for the connection setup");
        return false;
    }
    r->a.api_key = api_key;
    r->a.encode = encode;
    r->a.on_response = on_response;
    r->a.opaque = c;
    r->version = version;
    r->correlation_id = c->next_correlation_id++;
    samsa_err_t err = frame_request(c, r);
    if (err) {
        char why[128];
        snprintf(why, sizeof(why), "cannot encode %s", proto_api(api_key)->name);
        free(r);
        disconnect(c, err, why);
        return false;
    }
    r->deadline_ms = c->connect_deadline_ms;
    list_push(&c->in_flight, r);
    want_write(c);
    return true;
}

/* Sends ApiVersions at c->handshake_version, ahead of every queued request. */
static void start_handshake(conn_t *c)
{
    c->state = CONN_HANDSHAKE;
    send_setup(c, API_API_VERSIONS, c->handshake_version, encode_api_versions, NULL);
}

/* The connection is ready: requests flow. */
static void go_up(conn_t *c)
{
    sasl_end(c);
    c->state = CONN_UP;
    c->failures = 0;
    c->handshake_closes = 0;
    c->addr_index = 0; /* reconnects start with the first address again */
    slog_debug("client", "%s: up%s%s", c->name, c->tls ? " over " : "",
               c->tls ? tls_session_version(c->tls) : "");
    if (c->on_event)
        c->on_event(c->owner, c, true, SAMSA_ERR_NONE, "up");
    pump(c);
}

/* ---- SASL ----------------------------------------------------------- */

/* "SASL SCRAM-SHA-512 authentication as alice failed: " into why. */
static void sasl_failure(conn_t *c, samsa_err_t err, const char *detail)
{
    char why[800];
    snprintf(why, sizeof(why), "SASL %s authentication as %.255s failed: %.400s",
             client_sasl_mechanism_name(c->cfg->sasl_mechanism), c->cfg->sasl_username, detail);
    disconnect(c, err, why);
}

static samsa_err_t encode_sasl_handshake(void *opaque, int16_t version, buf_t *out)
{
    conn_t *c = opaque;
    sasl_handshake_request_t req = {proto_str_of(client_sasl_mechanism_name(c->cfg->sasl_mechanism))};
    const proto_api_t *api = proto_api(API_SASL_HANDSHAKE);
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static samsa_err_t encode_sasl_authenticate(void *opaque, int16_t version, buf_t *out)
{
    conn_t *c = opaque;
    sasl_authenticate_request_t req = {{c->sasl_out.data, (int32_t)c->sasl_out.len}};
    const proto_api_t *api = proto_api(API_SASL_AUTHENTICATE);
    return proto_encode(api->request, version, proto_api_flexible(api, version), &req, out, NULL);
}

static void on_sasl_authenticate(void *opaque, conn_t *c, samsa_err_t err, int16_t version,
                                 const void *resp);

/* Feeds the broker's last message (NULL first) to the exchange and sends
 * the next one, or goes up when the exchange is complete. */
static void sasl_next(conn_t *c, const uint8_t *in, size_t in_len)
{
    bool done = false;
    char why[256] = "";
    buf_reset(&c->sasl_out);
    samsa_err_t err = client_sasl_step(c->sasl, in, in_len, &c->sasl_out, &done, why, sizeof(why));
    if (!err && c->sasl_out.failed)
        err = SAMSA_ERR__NOMEM;
    if (err) {
        sasl_failure(c, err, err == SAMSA_ERR__NOMEM ? "out of memory" : why);
        return;
    }
    if (done) {
        go_up(c);
        return;
    }
    send_setup(c, API_SASL_AUTHENTICATE, c->versions[API_SASL_AUTHENTICATE],
               encode_sasl_authenticate, on_sasl_authenticate);
}

static void on_sasl_authenticate(void *opaque, conn_t *c, samsa_err_t err, int16_t version,
                                 const void *resp)
{
    if (err)
        return; /* the connection is going down and says why */
    const sasl_authenticate_response_t *r = resp;
    if (r->error_code) {
        char detail[400];
        if (r->error_message.ptr && r->error_message.len > 0)
            snprintf(detail, sizeof(detail), "%s: %.*s", samsa_err_name(r->error_code),
                     (int)r->error_message.len, r->error_message.ptr);
        else
            snprintf(detail, sizeof(detail), "%s: %s", samsa_err_name(r->error_code),
                     samsa_err_str(r->error_code));
        sasl_failure(c, r->error_code, detail);
        return;
    }
    sasl_next(c, r->auth_bytes.ptr, r->auth_bytes.len > 0 ? (size_t)r->auth_bytes.len : 0);
}

static void on_sasl_handshake(void *opaque, conn_t *c, samsa_err_t err, int16_t version,
                              const void *resp)
{
    if (err)
        return;
    const sasl_handshake_response_t *r = resp;
    if (r->error_code) {
        char enabled[256] = "";
        size_t len = 0;
        for (int32_t i = 0; i < r->mechanisms_count && len + 1 < sizeof(enabled); i++)
            len += (size_t)snprintf(enabled + len, sizeof(enabled) - len, "%s%.*s", i ? ", " : "",
                                    (int)r->mechanisms[i].len, r->mechanisms[i].ptr);
        char detail[400];
        if (r->error_code == SAMSA_ERR_UNSUPPORTED_SASL_MECHANISM)
            snprintf(detail, sizeof(detail), "the broker does not enable it (it enables: %s)",
                     len ? enabled : "none");
        else
            snprintf(detail, sizeof(detail), "SaslHandshake: %s%s", samsa_err_name(r->error_code),
                     r->error_code == SAMSA_ERR_ILLEGAL_SASL_STATE
                         ? " (is the listener SASL_PLAINTEXT or SASL_SSL?)"
                         : "");
        sasl_failure(c, r->error_code, detail);
        return;
    }
    c->sasl = client_sasl_new(c->cfg);
    if (!c->sasl) {
        sasl_failure(c, SAMSA_ERR__NOMEM, "out of memory");
        return;
    }
    sasl_next(c, NULL, 0);
}

/* After ApiVersions on a SASL connection: SaslHandshake v1+ names the
 * mechanism, then SaslAuthenticate carries the exchange. */
static void start_sasl(conn_t *c)
{
    c->state = CONN_AUTH;
    if (c->versions[API_SASL_HANDSHAKE] < 1 || c->versions[API_SASL_AUTHENTICATE] < 0) {
        sasl_failure(c, SAMSA_ERR_ILLEGAL_SASL_STATE,
                     "the broker offers no SaslHandshake v1 and SaslAuthenticate (is the "
                     "listener SASL_PLAINTEXT or SASL_SSL?)");
        return;
    }
    send_setup(c, API_SASL_HANDSHAKE, c->versions[API_SASL_HANDSHAKE], encode_sasl_handshake,
               on_sasl_handshake);
}

/* The handshake answer: KIP-511 retry at a lower version, or the table. */
static void handle_api_versions(conn_t *c, reader_t *body, int16_t version)
{
    /* A broker that does not speak our version answers with a v0 body
     * carrying UNSUPPORTED_VERSION and its own ranges. */
    reader_t peek = *body;
    int16_t code = reader_i16(&peek);
    if (code == SAMSA_ERR_UNSUPPORTED_VERSION)
        version = 0;
    const proto_api_t *api = proto_api(API_API_VERSIONS);
    api_versions_response_t resp;
    arena_reset(&c->arena);
    if (proto_decode(api->response, version, proto_api_flexible(api, version), body, &c->arena,
                     &resp)) {
        if (code == SAMSA_ERR_UNSUPPORTED_VERSION && c->handshake_version > 0) {
            /* Some brokers (librdkafka's mock) answer a version they do not
             * speak in a mixed format: start over at v0, which all speak. */
            c->handshake_version = 0;
            start_handshake(c);
            return;
        }
        disconnect(c, SAMSA_ERR__BAD_MSG, "malformed ApiVersions response");
        return;
    }
    if (resp.error_code == SAMSA_ERR_UNSUPPORTED_VERSION) {
        int16_t theirs = -1;
        for (int32_t i = 0; i < resp.api_keys_count; i++)
            if (resp.api_keys[i].api_key == API_API_VERSIONS)
                theirs = resp.api_keys[i].max_version;
        int16_t v = conn_pick_version(api->min_version, api->max_version, 0, theirs);
        if (v < 0 || v >= c->handshake_version) {
            disconnect(c, SAMSA_ERR_UNSUPPORTED_VERSION, "broker supports no ApiVersions version we speak");
            return;
        }
        c->handshake_version = v;
        start_handshake(c);
        return;
    }
    if (resp.error_code) {
        char why[128];
        snprintf(why, sizeof(why), "ApiVersions failed: %s", samsa_err_name(resp.error_code));
        disconnect(c, resp.error_code, why);
        return;
    }
    for (int i = 0; i < API_KEY_SLOTS; i++)
        c->versions[i] = -1;
    for (int32_t i = 0; i < resp.api_keys_count; i++) {
        const api_versions_response_api_version_t *k = &resp.api_keys[i];
        const proto_api_t *ours = k->api_key >= 0 ? proto_api(k->api_key) : NULL;
        if (!ours || k->api_key >= API_KEY_SLOTS)
            continue;
        c->versions[k->api_key] =
            conn_pick_version(ours->min_version, ours->max_version, k->min_version, k->max_version);
    }
    if (client_sec_sasl(c->cfg->security_protocol))
        start_sasl(c);
    else
        go_up(c);
}

/* One complete response frame (without its size). Returns false when the
 * connection was dropped. */
static bool handle_frame(conn_t *c, const uint8_t *frame, size_t len)
{
    req_t *r = list_pop(&c->in_flight);
    if (!r) {
        disconnect(c, SAMSA_ERR__BAD_MSG, "response without a request");
        return false;
    }
    const proto_api_t *api = proto_api(r->a.api_key);
    reader_t rd = reader_make(frame, len);
    int32_t correlation_id = 0;
    if (proto_response_header_read(&rd, proto_response_header_version(api, r->version),
                                   &correlation_id) ||
        correlation_id != r->correlation_id) {
        complete(c, r, SAMSA_ERR__BAD_MSG, NULL);
        disconnect(c, SAMSA_ERR__BAD_MSG, "response out of order (correlation id mismatch)");
        return false;
    }
    if (r->a.api_key == API_API_VERSIONS && c->state == CONN_HANDSHAKE) {
        int16_t v = r->version;
        free(r);
        handle_api_versions(c, &rd, v);
        return c->state != CONN_DOWN;
    }
    void *resp = arena_alloc(&c->arena, api->response->size);
    samsa_err_t err = resp ? proto_decode(api->response, r->version,
                                          proto_api_flexible(api, r->version), &rd, &c->arena, resp)
                           : SAMSA_ERR__NOMEM;
    if (err) {
        char why[128];
        snprintf(why, sizeof(why), "malformed %s v%d response", api->name, (int)r->version);
        list_push(&c->in_flight, r); /* failed with the rest, in order */
        disconnect(c, SAMSA_ERR__BAD_MSG, why);
        return false;
    }
    complete(c, r, SAMSA_ERR_NONE, resp);
    arena_reset(&c->arena);
    return true;
}

enum { IO_RETRY = -1, IO_WAIT = -2, IO_FAILED = -3 };

/* What a failed read or write (errno set) means: try again, wait for the
 * loop, or the connection is gone (then it is dropped here). */
static int io_errno(conn_t *c, const char *what)
{
    if (errno == EINTR)
        return IO_RETRY;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return IO_WAIT;
    char why[128];
    snprintf(why, sizeof(why), "%s failed: %s", what, strerror(errno));
    disconnect(c, SAMSA_ERR__TRANSPORT, why);
    return IO_FAILED;
}

/* A TLS call's failure result (TLS_WANT_* excluded): drops the connection.
 * A TLS alert answering the first request (with TLS 1.3 a server checks
 * the client's certificate after the client finished its handshake) is
 * the broker refusing us, not a broken connection. */
static void tls_failed(conn_t *c, int result, const char *what)
{
    if (result == TLS_CLOSED) {
        disconnect(c, SAMSA_ERR__TRANSPORT, "connection closed by the broker");
        return;
    }
    char why[400];
    const char *detail = tls_session_error(c->tls);
    if (c->state == CONN_HANDSHAKE)
        snprintf(why, sizeof(why), "the broker refused the TLS session (is a client certificate "
                 "required? ssl.certificate.location): %s", detail);
    else
        snprintf(why, sizeof(why), "%s", detail[0] ? detail : what);
    disconnect(c, c->state == CONN_HANDSHAKE ? SAMSA_ERR__AUTHENTICATION : SAMSA_ERR__TRANSPORT,
               why);
}

/* Reads up to len bytes off the socket or the TLS session: the count, 0
 * when the broker closed the connection (also by a reset during
 * ApiVersions), IO_WAIT, or IO_FAILED (dropped). */
static ssize_t io_read(conn_t *c, void *buf, size_t len)
{
    if (c->tls) {
        ssize_t n = tls_read(c->tls, buf, len);
        c->tls_read_wants_write = n == TLS_WANT_WRITE;
        if (n > 0)
            return n;
        if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
            return IO_WAIT;
        if (n == TLS_CLOSED)
            return 0;
        tls_failed(c, (int)n, "TLS read failed");
        return IO_FAILED;
    }
    for (;;) {
        ssize_t n = read(c->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == ECONNRESET && c->state == CONN_HANDSHAKE)
            return 0; /* closed with our request unread: the same as a close here */
        int verdict = io_errno(c, "read");
        if (verdict != IO_RETRY)
            return verdict;
    }
}

/* Writes what iov holds (n pieces; TLS takes the first only): the count
 * of bytes taken, IO_WAIT, or IO_FAILED. */
static ssize_t io_write(conn_t *c, const struct iovec *iov, int n_iov)
{
    if (c->tls) {
        ssize_t n = tls_write(c->tls, iov[0].iov_base, iov[0].iov_len);
        if (n > 0)
            return n;
        if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
            return IO_WAIT;
        tls_failed(c, (int)n, "TLS write failed");
        return IO_FAILED;
    }
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n_iov};
    for (;;) {
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        int verdict = io_errno(c, "write");
        if (verdict != IO_RETRY)
            return verdict;
    }
}

/* Whether 4 bytes that should be a response's size look like the start of
 * a TLS record (handshake or alert, version 3.x): a TLS listener answering
 * a plaintext client. */
static bool looks_like_tls(const uint8_t *p)
{
    return (p[0] == 0x15 || p[0] == 0x16) && p[1] == 0x03 && p[2] <= 0x04;
}

static void do_read(conn_t *c)
{
    for (;;) {
        if (!buf_grow(&c->in, CONN_READ_CHUNK) && c->in.cap == c->in.len) {
            disconnect(c, SAMSA_ERR__MSG_TOO_LARGE, "response larger than receive.message.max.bytes");
            return;
        }
        ssize_t n = io_read(c, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n == 0 && c->state == CONN_HANDSHAKE && !c->tls && c->in.len == 0) {
            /* A TLS listener closes on a plaintext request without a word.
             * Once could be a broker going down; twice in a row is the
             * listener refusing to speak plaintext. */
            bool again = ++c->handshake_closes >= 2;
            disconnect(c, again ? SAMSA_ERR__AUTHENTICATION : SAMSA_ERR__TRANSPORT,
                       "the broker closed the connection at ApiVersions: if its listener is "
                       "SSL or SASL_SSL, security.protocol must be ssl or sasl_ssl");
            return;
        }
        if (n == 0) {
            disconnect(c, SAMSA_ERR__TRANSPORT, "connection closed by the broker");
            return;
        }
        if (n == IO_WAIT)
            break;
        if (n < 0)
            return;
        c->in.len += (size_t)n;
        size_t off = 0;
        while (c->in.len - off >= 4) {
            if (c->state == CONN_HANDSHAKE && !c->tls && looks_like_tls(c->in.data + off)) {
                disconnect(c, SAMSA_ERR__AUTHENTICATION,
                           "the broker answered with TLS: its listener is SSL or SASL_SSL, so "
                           "security.protocol must be ssl or sasl_ssl");
                return;
            }
            uint32_t size = be32_load(c->in.data + off);
            if (size > (uint32_t)c->cfg->max_response_bytes) {
                disconnect(c, SAMSA_ERR__MSG_TOO_LARGE, "response larger than receive.message.max.bytes");
                return;
            }
            if (c->in.len - off - 4 < size)
                break;
            if (!handle_frame(c, c->in.data + off + 4, size) || c->state == CONN_DOWN)
                return;
            off += 4 + size;
        }
        if (off) {
            memmove(c->in.data, c->in.data + off, c->in.len - off);
            c->in.len -= off;
        }
    }
    if (c->tls)
        want_write(c); /* a read may wait for the socket to take bytes */
}

static void do_write(conn_t *c)
{
    while (out_pending(c)) {
        struct iovec iov[CONN_WRITE_IOVS];
        ssize_t n = io_write(c, iov, out_pieces(c, iov, c->tls ? 1 : CONN_WRITE_IOVS));
        if (n == IO_WAIT)
            break;
        if (n < 0)
            return;
        out_sent(c, (size_t)n);
    }
    while (c->written.head && c->written.head->out_end <= c->out_total)
        complete(c, list_pop(&c->written), SAMSA_ERR_NONE, NULL);
    want_write(c);
}

/* Advances the TLS handshake; on completion starts ApiVersions. */
static void tls_step(conn_t *c)
{
    int r = tls_handshake(c->tls);
    if (r == TLS_OK) {
        slog_debug("client", "%s: %s established", c->name, tls_session_version(c->tls));
        start_handshake(c);
        return;
    }
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
        loop_mod_fd(c->loop, c->fd, LOOP_READ | (r == TLS_WANT_WRITE ? LOOP_WRITE : 0));
        return;
    }
    char why[400];
    if (r == TLS_CLOSED)
        snprintf(why, sizeof(why),
                 "TLS handshake failed: the broker closed the connection (if its listener is "
                 "PLAINTEXT or SASL_PLAINTEXT, set security.protocol to match)");
    else
        snprintf(why, sizeof(why), "%s",
                 tls_session_error(c->tls)[0] ? tls_session_error(c->tls) : "TLS handshake failed");
    disconnect(c, SAMSA_ERR__AUTHENTICATION, why);
}

/* The TCP connection is made: TLS first when configured, then ApiVersions. */
static void connected(conn_t *c)
{
    if (!c->tls_ctx) {
        start_handshake(c);
        return;
    }
    char err[256];
    c->tls = tls_session_new(c->tls_ctx, c->fd, c->host, err, sizeof(err));
    if (!c->tls) {
        char why[300];
        snprintf(why, sizeof(why), "cannot start TLS: %s", err);
        disconnect(c, SAMSA_ERR__NOMEM, why);
        return;
    }
    c->state = CONN_TLS;
    tls_step(c);
}

static void on_io(loop_t *loop, int fd, int events, void *opaque)
{
    conn_t *c = opaque;
    if (c->state == CONN_CONNECTING) {
        int so_err = 0;
        socklen_t sl = sizeof(so_err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &sl) < 0)
            so_err = errno;
        if (so_err && c->addr_index < c->addr_count) {
            /* Another address of the same host may answer (IPv6 then IPv4). */
            loop_del_fd(c->loop, c->fd);
            close(c->fd);
            c->fd = -1;
            c->state = CONN_DOWN;
            start_connect(c);
            return;
        }
        if (so_err) {
            char why[160];
            snprintf(why, sizeof(why), "connect failed: %s", strerror(so_err));
            disconnect(c, SAMSA_ERR__TRANSPORT, why);
            return;
        }
        connected(c);
        return;
    }
    if (c->state == CONN_TLS) {
        tls_step(c);
        if (c->state != CONN_HANDSHAKE)
            return;
    }
    /* A TLS session may need the other readiness than the call's own
     * (reads that write, writes that read): try both. */
    if (c->tls || (events & LOOP_WRITE)) {
        do_write(c);
        if (c->state == CONN_DOWN)
            return;
    }
    if (c->tls || (events & LOOP_READ))
        do_read(c);
    if (c->state == CONN_UP)
        pump(c);
}

/* host:port resolved (res, owned here) or not (gai): starts a non-blocking
 * connect to the next address. */
static void on_resolved(void *opaque, struct addrinfo *res, int gai)
{
    conn_t *c = opaque;
    c->resolving = NULL;
    if (gai || !res) {
        char why[300];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, gai_strerror(gai));
        disconnect(c, SAMSA_ERR__TRANSPORT, why);
        return;
    }
    int count = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        count++;
    if (c->addr_index >= count)
        c->addr_index = 0; /* a new round over every address */
    struct addrinfo *a = res;
    for (int i = 0; i < c->addr_index; i++)
        a = a->ai_next;
    c->addr_index++;
    c->addr_count = count;
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    const char *fail = NULL;
    if (fd < 0)
        fail = "socket";
    else if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
             !socket_buffer(fd, SO_SNDBUF, c->cfg->send_buffer_bytes) ||
             !socket_buffer(fd, SO_RCVBUF, c->cfg->receive_buffer_bytes))
        fail = "setsockopt";
    else if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS)
        fail = "connect";
    else if (loop_add_fd(c->loop, fd, LOOP_READ | LOOP_WRITE, on_io, c) < 0)
        fail = "epoll";
    freeaddrinfo(res);
    if (fail) {
        char why[160];
        snprintf(why, sizeof(why), "%s failed: %s", fail, strerror(errno));
        if (fd >= 0)
            close(fd);
        disconnect(c, SAMSA_ERR__TRANSPORT, why);
        return;
    }
    c->fd = fd;
}

/* Resolves host:port, off the loop for a name (see resolve.h), within
 * the connect timeout, then connects (on_resolved). */
static void start_connect(conn_t *c)
{
    c->state = CONN_CONNECTING;
    c->connect_deadline_ms = loop_now_ms(c->loop) + c->cfg->connect_timeout_ms;
    resolve_t *r = resolve_start(c->loop, c->host, c->port, on_resolved, c);
    if (r) /* else on_resolved ran already */
        c->resolving = r;
}

void conn_connect(conn_t *c)
{
    if (c->state == CONN_DOWN && loop_now_ms(c->loop) >= c->next_connect_ms)
        start_connect(c);
}

samsa_err_t conn_send(conn_t *c, const conn_request_t *args)
{
    const proto_api_t *api = proto_api(args->api_key);
    if (!api || args->api_key >= API_KEY_SLOTS)
        return SAMSA_ERR__NOT_SUPPORTED;
    req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return SAMSA_ERR__NOMEM;
    r->a = *args;
    list_push(&c->queued, r);
    if (c->state == CONN_DOWN && loop_now_ms(c->loop) >= c->next_connect_ms)
        start_connect(c);
    else if (c->state == CONN_UP)
        pump(c);
    return SAMSA_ERR_NONE;
}

void conn_tick(conn_t *c, int64_t now_ms)
{
    switch (c->state) {
    case CONN_DOWN:
        if (c->queued.head && now_ms >= c->next_connect_ms)
            start_connect(c);
        return;
    case CONN_CONNECTING:
    case CONN_TLS:
    case CONN_HANDSHAKE:
    case CONN_AUTH:
        if (now_ms >= c->connect_deadline_ms)
            disconnect(c, SAMSA_ERR__TIMED_OUT,
                       "connection setup timed out (socket.connection.setup.timeout.ms)");
        return;
    case CONN_UP:
        if ((c->in_flight.head && now_ms >= c->in_flight.head->deadline_ms) ||
            (c->written.head && now_ms >= c->written.head->deadline_ms))
            disconnect(c, SAMSA_ERR_REQUEST_TIMED_OUT, "request timed out (request.timeout.ms)");
        return;
    }
}

int16_t conn_api_version(const conn_t *c, int16_t api_key)
{
    if (c->state != CONN_UP || api_key < 0 || api_key >= API_KEY_SLOTS)
        return -1;
    return c->versions[api_key];
}

enum conn_state conn_state(const conn_t *c) { return c->state; }
int32_t conn_node_id(const conn_t *c) { return c->node_id; }
const char *conn_name(const conn_t *c) { return c->name; }
int conn_pending(const conn_t *c) { return c->queued.count + c->in_flight.count + c->written.count; }

bool conn_can_send(const conn_t *c)
{
    return c->state == CONN_UP && c->queued.count == 0 && c->in_flight.count < c->cfg->max_in_flight;
}
