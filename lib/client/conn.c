/*
 * conn.c: one broker connection on the client's event loop (see conn.h):
 * socket and address handling, framing, the ApiVersions handshake, the
 * request queue and in-flight list, timeouts and reconnect backoff.
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
#include <unistd.h>

#include "base/arena.h"
#include "base/slog.h"
#include "proto/codec.h"
#include "proto/messages.h"

#define CONN_READ_CHUNK 65536
#define API_KEY_SLOTS 128

typedef struct req {
    struct req *next;
    conn_request_t a;
    int32_t correlation_id;
    int16_t version;
    int64_t deadline_ms;
    size_t out_end; /* no_response: written once out_total reaches this */
} req_t;

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
    buf_t in;
    arena_t arena; /* decoded responses */

    int16_t versions[API_KEY_SLOTS]; /* negotiated; -1 none */
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
    arena_init(&c->arena, 0);
    for (int i = 0; i < API_KEY_SLOTS; i++)
        c->versions[i] = -1;
    return c;
}

/* Closes the socket and fails every request; state becomes DOWN with the
 * backoff armed. reason is for the log and the owner. */
static void disconnect(conn_t *c, samsa_err_t err, const char *reason)
{
    bool was_up = c->state == CONN_UP;
    if (c->fd >= 0) {
        loop_del_fd(c->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    c->state = CONN_DOWN;
    buf_reset(&c->out);
    c->out_off = 0;
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

void conn_free(conn_t *c)
{
    if (!c)
        return;
    c->on_event = NULL;
    disconnect(c, SAMSA_ERR__DESTROYED, "closed");
    buf_free(&c->out);
    buf_free(&c->in);
    arena_free(&c->arena);
    free(c);
}

static void on_io(loop_t *loop, int fd, int events, void *opaque);
static void start_connect(conn_t *c);

/* Frames one request (size, header, body) at the end of c->out. */
static samsa_err_t frame_request(conn_t *c, req_t *r)
{
    const proto_api_t *api = proto_api(r->a.api_key);
    size_t start = c->out.len;
    buf_put_i32(&c->out, 0);
    proto_request_header_t hdr = {r->a.api_key, r->version, r->correlation_id,
                                  proto_str_of(c->cfg->client_id)};
    proto_request_header_write(&c->out, &hdr, proto_request_header_version(api, r->version));
    samsa_err_t err = c->out.failed ? SAMSA_ERR__NOMEM : r->a.encode(r->a.opaque, r->version, &c->out);
    if (!err && c->out.failed)
        err = SAMSA_ERR__NOMEM;
    if (err) {
        c->out.len = start;
        c->out.failed = false;
        return err;
    }
    be32_store(c->out.data + start, (uint32_t)(c->out.len - start - 4));
    return SAMSA_ERR_NONE;
}

static void want_write(conn_t *c)
{
    if (c->fd >= 0)
        loop_mod_fd(c->loop, c->fd, LOOP_READ | (c->out.len > c->out_off ? LOOP_WRITE : 0));
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
            r->out_end = c->out_total + (c->out.len - c->out_off);
            list_push(&c->written, r);
        } else {
            list_push(&c->in_flight, r);
        }
    }
    want_write(c);
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

/* Sends ApiVersions at c->handshake_version, ahead of every queued request. */
static void start_handshake(conn_t *c)
{
    req_t *r = calloc(1, sizeof(*r));
    if (!r) {
        disconnect(c, SAMSA_ERR__NOMEM, "out of memory for the handshake");
        return;
    }
    r->a.api_key = API_API_VERSIONS;
    r->a.encode = encode_api_versions;
    r->version = c->handshake_version;
    r->correlation_id = c->next_correlation_id++;
    c->state = CONN_HANDSHAKE;
    samsa_err_t err = frame_request(c, r);
    if (err) {
        free(r);
        disconnect(c, err, "cannot encode ApiVersions");
        return;
    }
    r->deadline_ms = c->connect_deadline_ms;
    list_push(&c->in_flight, r);
    want_write(c);
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
    c->state = CONN_UP;
    c->failures = 0;
    c->addr_index = 0; /* reconnects start with the first address again */
    slog_debug("client", "%s: up (ApiVersions v%d)", c->name, (int)version);
    if (c->on_event)
        c->on_event(c->owner, c, true, SAMSA_ERR_NONE, "up");
    pump(c);
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

enum { IO_RETRY, IO_WAIT, IO_FAILED };

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

static void do_read(conn_t *c)
{
    for (;;) {
        if (!buf_grow(&c->in, CONN_READ_CHUNK) && c->in.cap == c->in.len) {
            disconnect(c, SAMSA_ERR__MSG_TOO_LARGE, "response larger than receive.message.max.bytes");
            return;
        }
        ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n == 0) {
            disconnect(c, SAMSA_ERR__TRANSPORT, "connection closed by the broker");
            return;
        }
        if (n < 0) {
            int verdict = io_errno(c, "read");
            if (verdict == IO_RETRY)
                continue;
            if (verdict == IO_WAIT)
                break;
            return;
        }
        c->in.len += (size_t)n;
        size_t off = 0;
        while (c->in.len - off >= 4) {
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
}

static void do_write(conn_t *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            int verdict = io_errno(c, "write");
            if (verdict == IO_RETRY)
                continue;
            if (verdict == IO_WAIT)
                break;
            return;
        }
        c->out_off += (size_t)n;
        c->out_total += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        buf_reset(&c->out);
        c->out_off = 0;
    }
    while (c->written.head && c->written.head->out_end <= c->out_total)
        complete(c, list_pop(&c->written), SAMSA_ERR_NONE, NULL);
    want_write(c);
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
        start_handshake(c);
        return;
    }
    if (events & LOOP_WRITE) {
        do_write(c);
        if (c->state == CONN_DOWN)
            return;
    }
    if (events & LOOP_READ)
        do_read(c);
    if (c->state == CONN_UP)
        pump(c);
}

/* Resolves host:port and starts a non-blocking connect to the next address. */
static void start_connect(conn_t *c)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", c->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->state = CONN_CONNECTING;
    c->connect_deadline_ms = loop_now_ms(c->loop) + c->cfg->connect_timeout_ms;
    int gai = getaddrinfo(c->host, port, &hints, &res);
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
    else if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
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
    case CONN_HANDSHAKE:
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
