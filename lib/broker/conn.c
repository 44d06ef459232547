/*
 * conn.c: client connections: accepting, reading frames, decoding request
 * headers and bodies, queueing requests so that responses leave in request
 * order, and writing responses without copying the records they carry.
 *
 * Reading: a frame is an int32 size and that many bytes. A size above
 * socket.request.max.bytes, a malformed header or body, an unknown API key
 * or an unsupported version (except ApiVersions, KIP-511) close the
 * connection with a log line, as Kafka does. Reading pauses while 256
 * requests of the connection are unanswered or unwritten (backpressure on a
 * client that pipelines without reading).
 *
 * Ordering: every request joins the connection's queue when it is read.
 * Handlers answer in any order (at once, or later after parking); an
 * answered request's response is encoded at once but written only when
 * every request before it has been written.
 *
 * Writing: a response is its encoded bytes (size, header, body) with gaps
 * where records that live in the log go (proto_splices_t). The buffer
 * pieces go out with sendmsg (those of several answered requests at once),
 * the records with sendfile from the segment file: record bytes are never
 * copied in user space, and never mapped into the broker either, so they
 * do not count as its memory however much is fetched. While pieces of a
 * file go out, the socket is corked: a small fetch answer (header,
 * records, the few bytes after them) then leaves as one segment, not
 * three, so that the client reads it whole after one wake-up instead of
 * waking for each piece. Partial writes
 * resume where they stopped when the socket is writable again; the
 * request, and the log reads its records come from, are released once the
 * last byte is out.
 *
 * TLS (SSL and SASL_SSL listeners): the handshake runs first, driven by
 * socket readiness; a first byte that is not a TLS handshake record is
 * refused at once (a plaintext client on a TLS port). Reads and writes then
 * go through the session. Records cannot go with sendfile: a piece of at
 * least CONN_TLS_DIRECT_BYTES is encrypted straight from the log's mapped
 * pages, smaller pieces are gathered into a staging buffer first, so that
 * small responses make one TLS record and one send, not one per piece.
 *
 * Authentication: a connection on a SASL listener serves ApiVersions,
 * SaslHandshake and SaslAuthenticate only until the exchange succeeds
 * (sasl.c); any other request closes it, as Kafka does, before its handler
 * sees it. After SaslHandshake v0 the tokens come as bare size-prefixed
 * frames and are answered the same way. Every request carries the
 * connection's session (principal, listener).
 *
 * Advertising: clients learn the broker's address from Metadata,
 * DescribeCluster and FindCoordinator; their handlers name the first
 * listener's, and responses on another listener are given that listener's
 * advertised address just before they are encoded.
 *
 * Closing: never from inside a handler's call chain (a handler may still be
 * walking lists that the close would change): conn_close_soon() stops the
 * connection's events and closes it on the next loop turn, cancelling
 * parked requests through their cancel callbacks.
 */
#include "broker/broker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/slog.h"
#include "net/tls.h"

#define CONN_MAX_QUEUED 256 /* requests in flight before reading pauses */
#define CONN_IOV_MAX 64
#define CONN_STAGE_BYTES 16384 /* reads of small requests go through this */
#define CONN_TLS_STAGE_BYTES 16384   /* one TLS record's worth of small pieces */
#define CONN_TLS_DIRECT_BYTES 16384  /* pieces this large are encrypted in place */

typedef struct conn_req {
    broker_request_t req; /* first: handlers see only this */
    struct conn_req *next;
    conn_t *conn;
    uint8_t *frame;
    bool done;            /* answered: out holds the response, or nothing */
    buf_t out;
    proto_splices_t splices;
} conn_req_t;

struct conn {
    struct broker *broker;
    broker_listener_t *listener;
    int fd;
    char peer[64];
    broker_session_t session;
    /* TLS */
    tls_session_t *tls;       /* NULL on plaintext listeners */
    bool handshaking;         /* the TLS handshake is not done yet */
    bool hello_checked;       /* the first bytes were a TLS record */
    bool read_wants_write;    /* a TLS read waits for writability */
    bool write_wants_read;    /* a TLS write waits for readability */
    uint8_t *tls_stage;       /* small pieces gathered for one write */
    size_t tls_stage_len, tls_stage_off;
    bool close_when_flushed;  /* close once every response is out */
    conn_t *prev, *next;
    /* reading */
    uint8_t staged[CONN_STAGE_BYTES];
    size_t staged_pos, staged_len; /* read but not yet taken: staged[pos..len) */
    uint8_t size_bytes[4];
    size_t size_have;
    uint8_t *frame;
    size_t frame_len, frame_have;
    /* the queue, oldest first */
    conn_req_t *head, *tail;
    size_t queued;
    /* how far the head's response has been written: piece and offset */
    size_t write_piece, write_off;
    int events;           /* LOOP_READ / LOOP_WRITE currently watched */
    int64_t active_ms;    /* monotonic time of the last byte read or written */
    bool closing;
    bool paused;              /* reading stopped at CONN_MAX_QUEUED */
    loop_timer_t *close_timer;
    loop_timer_t *resume_timer; /* reads staged requests after a pause */
};

static void conn_destroy(conn_t *c);
static void conn_read(conn_t *c);

static void conn_set_events(conn_t *c, int events)
{
    if (c->closing || events == c->events)
        return;
    if (loop_mod_fd(c->broker->loop, c->fd, events) == 0)
        c->events = events;
}

static void conn_close_timer(loop_t *loop, void *opaque)
{
    conn_t *c = opaque;
    c->close_timer = NULL;
    conn_destroy(c);
}

/* Stops serving c at once and closes it after delay_ms (0: on the next
 * loop turn). */
static void conn_close_after(conn_t *c, int64_t delay_ms)
{
    if (c->closing)
        return;
    loop_del_fd(c->broker->loop, c->fd);
    c->closing = true;
    c->close_timer = loop_timer_add(c->broker->loop, delay_ms, conn_close_timer, c);
    if (!c->close_timer)
        slog_error(BROKER_MODULE, "%s: out of memory while closing", c->peer);
}

/* Stops serving c and closes it on the next loop turn. */
static void conn_close_soon(conn_t *c) { conn_close_after(c, 0); }

static void req_release(conn_req_t *cr)
{
    if (cr->req.release_fn)
        cr->req.release_fn(&cr->req, cr->req.release_opaque);
    arena_free(&cr->req.arena);
    buf_free(&cr->out);
    proto_splices_free(&cr->splices);
    free(cr->frame);
    free(cr);
}

/* ---- writing ------------------------------------------------------------- */

/* Piece k of a response: even pieces are buffer ranges between splices,
 * odd ones the spliced records. */
static size_t piece_count(const conn_req_t *cr) { return 2 * cr->splices.count + 1; }

/* The log read behind piece k when it is records that live in a segment
 * file (sent with sendfile), else NULL. */
static const log_read_t *piece_file(const conn_req_t *cr, size_t k)
{
    return k % 2 ? cr->splices.items[k / 2].records->source : NULL;
}

static void piece_get(const conn_req_t *cr, size_t k, const uint8_t **data, size_t *len)
{
    if (k % 2) {
        const proto_records_t *rec = cr->splices.items[k / 2].records;
        *data = rec->data;
        *len = (size_t)rec->len;
        return;
    }
    size_t i = k / 2;
    size_t start = i == 0 ? 0 : cr->splices.items[i - 1].buf_pos;
    size_t end = i < cr->splices.count ? cr->splices.items[i].buf_pos : cr->out.len;
    *data = cr->out.data + start;
    *len = end - start;
}

static void conn_resume_timer(loop_t *loop, void *opaque)
{
    conn_t *c = opaque;
    c->resume_timer = NULL;
    conn_read(c);
}

/* Releases the head request once every piece of its response is out
 * (responses of zero bytes, acks=0, at once). Returns whether it did. */
static bool conn_pop_written(conn_t *c)
{
    conn_req_t *cr = c->head;
    if (!cr || !cr->done)
        return false;
    for (;;) {
        if (c->write_piece == piece_count(cr)) {
            c->head = cr->next;
            if (!c->head)
                c->tail = NULL;
            c->queued--;
            c->write_piece = c->write_off = 0;
            req_release(cr);
            return true;
        }
        const uint8_t *data;
        size_t len;
        piece_get(cr, c->write_piece, &data, &len);
        if (c->write_off < len)
            return false;
        c->write_piece++;
        c->write_off = 0;
    }
}

/* Moves the write cursor over n bytes just sent (or staged), across
 * pieces and requests. */
static void conn_advance(conn_t *c, size_t n)
{
    c->active_ms = loop_now_ms(c->broker->loop);
    while (n > 0) {
        if (conn_pop_written(c))
            continue;
        const uint8_t *data;
        size_t len;
        piece_get(c->head, c->write_piece, &data, &len);
        size_t rest = len - c->write_off;
        if (n < rest) {
            c->write_off += n;
            n = 0;
        } else {
            n -= rest;
            c->write_off = len;
        }
    }
}

/* Plaintext: writes the responses of answered requests at the head of the
 * queue, several per sendmsg, until the socket is full or an unanswered
 * request is at the head. Returns whether it stopped on a full socket or
 * a closed connection. */
static bool conn_flush_plain_pieces(conn_t *c)
{
    while (!c->closing) {
        while (conn_pop_written(c))
            ;
        if (!c->head || !c->head->done)
            return false;
        struct iovec iov[CONN_IOV_MAX];
        int n = 0;
        size_t off = c->write_off;
        size_t k = c->write_piece;
        const log_read_t *file = piece_file(c->head, k);
        bool stop = false;
        for (conn_req_t *cr = c->head; cr && cr->done && n < CONN_IOV_MAX && !file && !stop;
             cr = cr->next) {
            for (; k < piece_count(cr) && n < CONN_IOV_MAX; k++) {
                if (piece_file(cr, k)) {
                    stop = true; /* the buffer pieces before it go first */
                    break;
                }
                const uint8_t *data;
                size_t len;
                piece_get(cr, k, &data, &len);
                if (len > off) {
                    iov[n].iov_base = (void *)(data + off);
                    iov[n].iov_len = len - off;
                    n++;
                }
                off = 0;
            }
            k = 0;
        }
        ssize_t w;
        if (file) {
            /* Records go from the segment file to the socket in the
             * kernel: no copy, and the pages never count as the broker's
             * memory. The broker thread blocks SIGPIPE (broker.c). */
            const uint8_t *data;
            size_t len;
            piece_get(c->head, c->write_piece, &data, &len);
            off_t pos = (off_t)(file->file_position + (data - file->data) + (int64_t)c->write_off);
            w = sendfile(c->fd, file->fd, &pos, len - c->write_off);
        } else {
            if (n == 0)
                return false; /* cannot happen: the head has an unwritten byte */
            /* sendmsg rather than writev: MSG_NOSIGNAL keeps a peer that
             * went away from raising SIGPIPE in the embedding process. */
            struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
            w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        }
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_set_events(c, c->events | LOOP_WRITE);
                return true;
            }
            slog_info(BROKER_MODULE, "%s: write failed: %s; closing", c->peer, strerror(errno));
            conn_close_soon(c);
            return true;
        }
        conn_advance(c, (size_t)w);
    }
    return true;
}

/* Whether an answered response at the head has records from a file (and
 * so more than one piece to write). */
static bool conn_head_has_file(const conn_t *c)
{
    for (const conn_req_t *cr = c->head; cr && cr->done; cr = cr->next)
        if (cr->splices.count)
            return true;
    return false;
}

static bool conn_flush_plain(conn_t *c)
{
    int on = 1, off = 0;
    bool cork = conn_head_has_file(c);
    if (cork)
        setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
    bool full = conn_flush_plain_pieces(c);
    if (cork)
        setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
    return full;
}

/* One TLS write of len bytes at p. Returns whether it took some (*n);
 * otherwise the connection waits for readiness or is closing. */
static bool conn_tls_send(conn_t *c, const uint8_t *p, size_t len, size_t *n)
{
    ssize_t w = tls_write(c->tls, p, len);
    if (w > 0) {
        *n = (size_t)w;
        c->write_wants_read = false;
        return true;
    }
    if (w == TLS_WANT_WRITE) {
        conn_set_events(c, c->events | LOOP_WRITE);
    } else if (w == TLS_WANT_READ) {
        c->write_wants_read = true;
        conn_set_events(c, c->events | LOOP_READ);
    } else {
        slog_info(BROKER_MODULE, "%s: %s; closing", c->peer,
                  w == TLS_CLOSED ? "closed by the client" : tls_session_error(c->tls));
        conn_close_soon(c);
    }
    return false;
}

/* Copies the small pieces at the cursor into the staging buffer, up to its
 * size or the next large piece, and moves the cursor past them (the stage
 * owns those bytes now). Returns false when memory runs out. */
static bool conn_tls_stage_fill(conn_t *c)
{
    if (!c->tls_stage && !(c->tls_stage = malloc(CONN_TLS_STAGE_BYTES)))
        return false;
    while (c->tls_stage_len < CONN_TLS_STAGE_BYTES) {
        while (conn_pop_written(c))
            ;
        if (!c->head || !c->head->done)
            break;
        const uint8_t *data;
        size_t len;
        piece_get(c->head, c->write_piece, &data, &len);
        size_t rest = len - c->write_off;
        if (rest >= CONN_TLS_DIRECT_BYTES && c->tls_stage_len > 0)
            break;
        size_t room = CONN_TLS_STAGE_BYTES - c->tls_stage_len;
        size_t n = rest < room ? rest : room;
        memcpy(c->tls_stage + c->tls_stage_len, data + c->write_off, n);
        c->tls_stage_len += n;
        conn_advance(c, n);
    }
    return true;
}

/* TLS: the same as conn_flush_plain through the session. A WANT_* retry
 * passes the same bytes again: the stage is not touched until it is out,
 * and the cursor stays on a piece being written from the log. */
static bool conn_flush_tls(conn_t *c)
{
    while (!c->closing) {
        size_t n;
        if (c->tls_stage_off < c->tls_stage_len) {
            if (!conn_tls_send(c, c->tls_stage + c->tls_stage_off,
                               c->tls_stage_len - c->tls_stage_off, &n))
                return true;
            c->active_ms = loop_now_ms(c->broker->loop);
            c->tls_stage_off += n;
            if (c->tls_stage_off == c->tls_stage_len)
                c->tls_stage_off = c->tls_stage_len = 0;
            continue;
        }
        while (conn_pop_written(c))
            ;
        if (!c->head || !c->head->done)
            return false;
        const uint8_t *data;
        size_t len;
        piece_get(c->head, c->write_piece, &data, &len);
        size_t rest = len - c->write_off;
        if (rest >= CONN_TLS_DIRECT_BYTES) {
            /* records (or a large buffer) encrypted from where they are:
             * the log's mapped pages */
            if (!conn_tls_send(c, data + c->write_off, rest, &n))
                return true;
            conn_advance(c, n);
            continue;
        }
        if (!conn_tls_stage_fill(c)) {
            slog_error(BROKER_MODULE, "%s: out of memory for a TLS write; closing", c->peer);
            conn_close_soon(c);
            return true;
        }
    }
    return true;
}

/* Writes what can be written, then watches for what comes next. */
static void conn_flush(conn_t *c)
{
    if (c->closing || c->handshaking)
        return;
    if (c->tls ? conn_flush_tls(c) : conn_flush_plain(c))
        return;
    if (c->close_when_flushed && !c->head) {
        slog_debug(BROKER_MODULE, "%s: closing after the last response", c->peer);
        conn_close_soon(c);
        return;
    }
    int events = c->events & ~LOOP_WRITE;
    if (c->queued < CONN_MAX_QUEUED)
        events |= LOOP_READ;
    if (c->read_wants_write)
        events |= LOOP_WRITE;
    conn_set_events(c, events);
    /* Requests already staged (or decrypted) when reading paused raise no
     * more socket events: read them on the next turn (not here, inside a
     * handler). */
    if (!c->closing && c->paused && c->queued < CONN_MAX_QUEUED) {
        c->paused = false;
        bool buffered = c->staged_pos < c->staged_len || (c->tls && tls_pending(c->tls));
        if (buffered && !c->resume_timer)
            c->resume_timer = loop_timer_add(c->broker->loop, 0, conn_resume_timer, c);
    }
}

/* Gives a response naming this node the address of the listener the
 * client is connected to (handlers write the first listener's). The
 * response is the handler's, in the request's arena, not yet encoded:
 * changing it here is safe. */
static void conn_advertise(const conn_t *c, const broker_request_t *req, void *response)
{
    const broker_listener_t *l = c->listener;
    const struct broker *b = c->broker;
    if (l->advertised_port == b->advertised_port &&
        strcmp(l->advertised_host, b->advertised_host) == 0)
        return;
    proto_str_t host = proto_str_of(l->advertised_host);
    int32_t port = l->advertised_port;
    switch (req->api->key) {
    case API_METADATA: {
        metadata_response_t *r = response;
        for (int32_t i = 0; i < r->brokers_count; i++) {
            r->brokers[i].host = host;
            r->brokers[i].port = port;
        }
        break;
    }
    case API_DESCRIBE_CLUSTER: {
        describe_cluster_response_t *r = response;
        for (int32_t i = 0; i < r->brokers_count; i++) {
            r->brokers[i].host = host;
            r->brokers[i].port = port;
        }
        break;
    }
    case API_FIND_COORDINATOR: {
        find_coordinator_response_t *r = response;
        if (r->port == b->advertised_port) {
            r->host = host;
            r->port = port;
        }
        for (int32_t i = 0; i < r->coordinators_count; i++) {
            if (r->coordinators[i].port == b->advertised_port) {
                r->coordinators[i].host = host;
                r->coordinators[i].port = port;
            }
        }
        break;
    }
    default: break;
    }
}

/* broker_respond_fn of requests made here */
static void conn_respond(broker_request_t *req, const void *response)
{
    conn_req_t *cr = (conn_req_t *)req;
    conn_t *c = cr->conn;
    req->cancel_fn = NULL;
    if (response) {
        int hv = proto_response_header_version(req->api, req->api_version);
        buf_init(&cr->out, 0);
        buf_put_i32(&cr->out, 0);
        proto_response_header_write(&cr->out, hv, req->correlation_id);
        samsa_err_t err = SAMSA_ERR_NONE;
        if (req->response_is_raw) {
            const buf_t *body = response;
            buf_put(&cr->out, body->data, body->len);
        } else {
            conn_advertise(c, req, (void *)response);
            err = proto_encode(req->api->response, req->api_version, req->flexible, response,
                               &cr->out, &cr->splices);
        }
        if (err || cr->out.failed) {
            slog_error(BROKER_MODULE, "%s: cannot encode the %s v%d response: %s; closing",
                       c->peer, req->api->name, (int)req->api_version, samsa_err_str(err));
            cr->done = true;
            conn_close_soon(c);
            return;
        }
        be32_store(cr->out.data, (uint32_t)(cr->out.len - 4 + cr->splices.total_bytes));
    }
    cr->done = true;
    if (c->session.close_after_response)
        c->close_when_flushed = true;
    conn_flush(c);
}

/* ---- reading ------------------------------------------------------------- */

static void conn_bad(conn_t *c, const char *what, const proto_request_header_t *h)
{
    if (h)
        slog_warn(BROKER_MODULE, "%s: %s (api key %d v%d, correlation id %d); closing", c->peer,
                  what, (int)h->api_key, (int)h->api_version, (int)h->correlation_id);
    else
        slog_warn(BROKER_MODULE, "%s: %s; closing", c->peer, what);
    conn_close_soon(c);
}

/* Queues a request at the tail (its response leaves after those before). */
static void conn_enqueue(conn_t *c, conn_req_t *cr)
{
    if (c->tail)
        c->tail->next = cr;
    else
        c->head = cr;
    c->tail = cr;
    c->queued++;
}

/* After SaslHandshake v0: frame (owned) is a bare SASL token. The reply
 * token is queued as a bare frame; a failed exchange closes the
 * connection after sasl.c's delay, without a reply (as Kafka does). */
static void conn_sasl_token(conn_t *c, uint8_t *frame, size_t len)
{
    conn_req_t *cr = calloc(1, sizeof(*cr));
    if (!cr) {
        free(frame);
        conn_bad(c, "out of memory", NULL);
        return;
    }
    cr->conn = c;
    cr->frame = frame;
    cr->done = true;
    arena_init(&cr->req.arena, 0);
    buf_init(&cr->out, 0);
    buf_put_i32(&cr->out, 0);
    int64_t delay_ms = 0;
    samsa_err_t err =
        sasl_raw_token(c->broker, &c->session, c->peer, frame, len, &cr->out, &delay_ms);
    if (err || cr->out.failed) {
        req_release(cr);
        conn_close_after(c, delay_ms);
        return;
    }
    be32_store(cr->out.data, (uint32_t)(cr->out.len - 4));
    conn_enqueue(c, cr);
    conn_flush(c);
}

/* Whether a request of this API may come before authentication. */
static bool conn_api_before_auth(int16_t api_key)
{
    return api_key == API_API_VERSIONS || api_key == API_SASL_HANDSHAKE ||
           api_key == API_SASL_AUTHENTICATE;
}

/* Turns a complete frame (owned, len bytes) into a request and hands it to
 * its handler. */
static void conn_frame(conn_t *c, uint8_t *frame, size_t len)
{
    if (c->session.sasl_raw && !c->session.authenticated) {
        conn_sasl_token(c, frame, len);
        return;
    }
    reader_t r = reader_make(frame, len);
    proto_request_header_t h;
    if (proto_request_header_read(&r, &h)) {
        free(frame);
        conn_bad(c, "malformed request header", NULL);
        return;
    }
    if (!c->session.authenticated && !conn_api_before_auth(h.api_key)) {
        free(frame);
        conn_bad(c, "request before authentication", &h);
        return;
    }
    const broker_handler_t *handler = broker_handler_find(h.api_key);
    const proto_api_t *api = proto_api(h.api_key);
    if (!handler || !api) {
        free(frame);
        conn_bad(c, "unknown API key", &h);
        return;
    }
    bool unsupported = h.api_version < handler->min_version || h.api_version > handler->max_version;
    if (unsupported && h.api_key != API_API_VERSIONS) {
        free(frame);
        conn_bad(c, "unsupported version", &h);
        return;
    }
    conn_req_t *cr = calloc(1, sizeof(*cr));
    if (!cr) {
        free(frame);
        conn_bad(c, "out of memory", &h);
        return;
    }
    broker_request_t *req = &cr->req;
    cr->conn = c;
    cr->frame = frame;
    buf_init(&cr->out, 0);
    arena_init(&req->arena, 0);
    req->broker = c->broker;
    req->api = api;
    req->api_version = unsupported ? 0 : h.api_version;
    req->flexible = proto_api_flexible(api, req->api_version);
    req->version_unsupported = unsupported;
    req->correlation_id = h.correlation_id;
    req->client_id = h.client_id;
    req->client_addr = c->peer;
    req->principal = c->session.principal;
    req->session = &c->session;
    req->received_ms = loop_now_ms(c->broker->loop);
    req->respond_fn = conn_respond;
    req->owner = c;
    req->raw_body = (uint8_t *)r.pos;
    req->raw_body_len = reader_left(&r);
    if (unsupported || proto_api_supports(api, req->api_version)) {
        req->body = arena_alloc(&req->arena, api->request->size);
        if (!req->body) {
            req_release(cr);
            conn_bad(c, "out of memory", &h);
            return;
        }
        if (unsupported) {
            proto_init(api->request, req->body);
        } else if (proto_decode(api->request, req->api_version, req->flexible, &r, &req->arena,
                                req->body)) {
            req_release(cr);
            conn_bad(c, "malformed request body", &h);
            return;
        }
    }
    conn_enqueue(c, cr);
    broker_dispatch(c->broker, handler, req);
}

/* Dispatches the frame being read once it is complete. */
static void conn_frame_check(conn_t *c)
{
    if (c->frame_have == c->frame_len) {
        uint8_t *frame = c->frame;
        c->frame = NULL;
        conn_frame(c, frame, c->frame_len);
    }
}

/* Feeds bytes read off the socket into the size/frame being assembled;
 * returns how many were used. Complete frames are dispatched. */
static size_t conn_take(conn_t *c, const uint8_t *data, size_t len)
{
    if (!c->frame) {
        size_t n = 4 - c->size_have < len ? 4 - c->size_have : len;
        memcpy(c->size_bytes + c->size_have, data, n);
        c->size_have += n;
        if (c->size_have < 4)
            return n;
        int32_t size = (int32_t)be32_load(c->size_bytes);
        c->size_have = 0;
        if (!c->tls && c->queued == 0 && tls_looks_like_client_hello(c->size_bytes, 4)) {
            slog_warn(BROKER_MODULE,
                      "%s: a TLS handshake on %s listener %s (a TLS client on a plaintext "
                      "port?); closing",
                      c->peer, broker_security_name(c->listener->config->security),
                      c->listener->config->endpoint.protocol);
            conn_close_soon(c);
            return n;
        }
        if (size < 8 || size > c->broker->cfg.socket_request_max_bytes) {
            slog_warn(BROKER_MODULE,
                      "%s: request of %d bytes is outside 8..%d (socket.request.max.bytes); "
                      "closing",
                      c->peer, (int)size, (int)c->broker->cfg.socket_request_max_bytes);
            conn_close_soon(c);
            return n;
        }
        if (!(c->frame = malloc((size_t)size))) {
            conn_bad(c, "out of memory for a request", NULL);
            return n;
        }
        c->frame_len = (size_t)size;
        c->frame_have = 0;
        return n;
    }
    size_t n = c->frame_len - c->frame_have < len ? c->frame_len - c->frame_have : len;
    memcpy(c->frame + c->frame_have, data, n);
    c->frame_have += n;
    conn_frame_check(c);
    return n;
}

/* recv() through the TLS session when there is one: bytes (> 0), 0 when
 * the client closed, or -1 with errno (EAGAIN: nothing yet). A TLS failure
 * is logged and closes the connection. */
static ssize_t conn_recv(conn_t *c, void *buf, size_t len)
{
    if (!c->tls)
        return recv(c->fd, buf, len, 0);
    ssize_t n = tls_read(c->tls, buf, len);
    c->read_wants_write = n == TLS_WANT_WRITE;
    if (n > 0)
        return n;
    if (n == TLS_CLOSED)
        return 0;
    if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
        if (n == TLS_WANT_WRITE)
            conn_set_events(c, c->events | LOOP_WRITE);
        errno = EAGAIN;
        return -1;
    }
    slog_info(BROKER_MODULE, "%s: %s; closing", c->peer, tls_session_error(c->tls));
    conn_close_soon(c);
    errno = EPROTO;
    return -1;
}

/* Reads what the socket has. Small requests arrive through a staging
 * buffer, several per recv; the rest of a large frame is read straight into
 * it. Bytes staged beyond a pause (too many requests in flight) wait there
 * for the next call. */
static void conn_read(conn_t *c)
{
    while (!c->closing && c->queued < CONN_MAX_QUEUED) {
        if (c->staged_pos < c->staged_len) {
            c->staged_pos +=
                conn_take(c, c->staged + c->staged_pos, c->staged_len - c->staged_pos);
            continue;
        }
        ssize_t n;
        bool direct = c->frame && c->frame_len - c->frame_have >= CONN_STAGE_BYTES;
        if (direct)
            n = conn_recv(c, c->frame + c->frame_have, c->frame_len - c->frame_have);
        else
            n = conn_recv(c, c->staged, CONN_STAGE_BYTES);
        if (c->closing)
            return;
        if (n == 0) {
            slog_debug(BROKER_MODULE, "%s: closed by the client", c->peer);
            conn_close_soon(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                slog_info(BROKER_MODULE, "%s: read failed: %s; closing", c->peer,
                          strerror(errno));
                conn_close_soon(c);
            }
            return;
        }
        c->active_ms = loop_now_ms(c->broker->loop);
        if (direct) {
            c->frame_have += (size_t)n;
            conn_frame_check(c);
        } else {
            c->staged_pos = 0;
            c->staged_len = (size_t)n;
        }
    }
    if (!c->closing && c->queued >= CONN_MAX_QUEUED) {
        c->paused = true;
        conn_set_events(c, c->events & ~LOOP_READ);
    }
}

/* A readable event while reading is paused is an error or a hang-up (the
 * loop reports those whatever is watched): close on them, or the event
 * would fire again at once, every turn. */
static void conn_check_hangup(conn_t *c)
{
    uint8_t b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        slog_debug(BROKER_MODULE, "%s: gone while paused; closing", c->peer);
        conn_close_soon(c);
    }
}

/* Whether the first bytes of a connection on a TLS listener are a TLS
 * record: false (and the connection closing) when they are not; true also
 * while too few have come to tell. */
static bool conn_check_hello(conn_t *c)
{
    uint8_t first[3];
    ssize_t n = recv(c->fd, first, sizeof(first), MSG_PEEK);
    if (n < 0 || (n > 0 && n < 3))
        return true; /* nothing, or not enough yet: the handshake waits */
    c->hello_checked = true;
    if (n == 0 || tls_looks_like_client_hello(first, 3))
        return true;
    slog_warn(BROKER_MODULE,
              "%s: not a TLS handshake on %s listener %s (a plaintext client on a TLS "
              "port?); closing",
              c->peer, broker_security_name(c->listener->config->security),
              c->listener->config->endpoint.protocol);
    conn_close_soon(c);
    return false;
}

/* Advances the TLS handshake; once done, serves the connection. */
static void conn_handshake(conn_t *c)
{
    if (!c->hello_checked && !conn_check_hello(c))
        return;
    int st = tls_handshake(c->tls);
    if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) {
        conn_set_events(c, st == TLS_WANT_READ ? LOOP_READ : LOOP_READ | LOOP_WRITE);
        return;
    }
    if (st != TLS_OK) {
        if (st == TLS_CLOSED)
            slog_info(BROKER_MODULE, "%s: closed during the TLS handshake", c->peer);
        else
            slog_warn(BROKER_MODULE, "%s: %s on listener %s; closing", c->peer,
                      tls_session_error(c->tls), c->listener->config->endpoint.protocol);
        conn_close_soon(c);
        return;
    }
    c->handshaking = false;
    const char *subject = tls_peer_subject(c->tls);
    if (c->session.security == BROKER_SEC_SSL) {
        c->session.authenticated = true;
        if (subject)
            snprintf(c->session.principal, sizeof(c->session.principal), "User:%s", subject);
    }
    slog_debug(BROKER_MODULE, "%s: %s established%s%s", c->peer, tls_session_version(c->tls),
               subject ? ", client certificate " : "", subject ? subject : "");
    conn_set_events(c, LOOP_READ);
    conn_read(c); /* a request may have come with the last handshake message */
}

static void conn_ready(loop_t *loop, int fd, int events, void *opaque)
{
    conn_t *c = opaque;
    if (c->handshaking) {
        conn_handshake(c);
        return;
    }
    if ((events & LOOP_WRITE) || ((events & LOOP_READ) && c->write_wants_read))
        conn_flush(c);
    if (((events & LOOP_READ) || ((events & LOOP_WRITE) && c->read_wants_write)) &&
        !c->closing) {
        if (c->paused)
            conn_check_hangup(c);
        else
            conn_read(c);
    }
}

/* ---- accepting and closing ----------------------------------------------- */

void conn_accept_ready(loop_t *loop, int fd, int events, void *opaque)
{
    broker_listener_t *l = opaque;
    struct broker *b = l->broker;
    for (;;) {
        char peer[64];
        int cfd = net_accept(fd, peer, sizeof(peer));
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                slog_warn(BROKER_MODULE, "accept: %s", strerror(errno));
            return;
        }
        char why[256] = "out of memory";
        conn_t *c = calloc(1, sizeof(*c));
        if (c && l->tls && !(c->tls = tls_session_new(l->tls, cfd, NULL, why, sizeof(why)))) {
            free(c);
            c = NULL;
        }
        if (!c || loop_add_fd(loop, cfd, LOOP_READ, conn_ready, c) != 0) {
            slog_warn(BROKER_MODULE, "%s: cannot serve a new connection: %s", peer, why);
            if (c)
                tls_session_free(c->tls);
            free(c);
            close(cfd);
            continue;
        }
        c->broker = b;
        c->listener = l;
        c->fd = cfd;
        c->handshaking = c->tls != NULL;
        c->session.security = l->config->security;
        c->session.listener = l->config->endpoint.protocol;
        c->session.authenticated = l->config->security == BROKER_SEC_PLAINTEXT;
        snprintf(c->session.principal, sizeof(c->session.principal), "User:ANONYMOUS");
        c->events = LOOP_READ;
        c->active_ms = loop_now_ms(loop);
        memcpy(c->peer, peer, sizeof(c->peer));
        c->next = b->conns;
        if (b->conns)
            b->conns->prev = c;
        b->conns = c;
        slog_debug(BROKER_MODULE, "%s: connected to listener %s", c->peer,
                   l->config->endpoint.protocol);
    }
}

static void conn_destroy(conn_t *c)
{
    struct broker *b = c->broker;
    if (!c->closing)
        loop_del_fd(b->loop, c->fd);
    c->closing = true;
    loop_timer_cancel(b->loop, c->close_timer);
    c->close_timer = NULL;
    loop_timer_cancel(b->loop, c->resume_timer);
    c->resume_timer = NULL;
    if (c->tls)
        tls_shutdown(c->tls); /* close_notify, if the socket takes it */
    tls_session_free(c->tls);
    close(c->fd);
    free(c->tls_stage);
    while (c->head) {
        conn_req_t *cr = c->head;
        c->head = cr->next;
        if (!cr->done && cr->req.cancel_fn)
            cr->req.cancel_fn(&cr->req, cr->req.cancel_opaque);
        else if (!cr->done)
            slog_error(BROKER_MODULE, "%s: %s request dropped unanswered", c->peer,
                       cr->req.api->name);
        req_release(cr);
    }
    broker_session_release(&c->session);
    free(c->frame);
    if (c->prev)
        c->prev->next = c->next;
    else
        b->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

void conns_close_all(struct broker *b)
{
    loop_timer_cancel(b->loop, b->idle_timer);
    b->idle_timer = NULL;
    while (b->conns)
        conn_destroy(b->conns);
}

/* Checks a tenth of the idle limit apart (at least every 10 s), so a
 * connection closes at most 10% (or 10 s) after its limit. */
static int64_t idle_check_interval_ms(const struct broker *b)
{
    int64_t ms = b->cfg.connections_max_idle_ms / 10;
    return ms < 1 ? 1 : ms > 10000 ? 10000 : ms;
}

static void idle_check(loop_t *loop, void *opaque)
{
    struct broker *b = opaque;
    int64_t now = loop_now_ms(loop);
    for (conn_t *c = b->conns; c; c = c->next) {
        /* a connection waiting for an answer (long poll) is not idle */
        if (!c->closing && !c->head && now - c->active_ms > b->cfg.connections_max_idle_ms) {
            slog_debug(BROKER_MODULE, "%s: idle for %lld ms; closing", c->peer,
                       (long long)(now - c->active_ms));
            conn_close_soon(c);
        }
    }
    b->idle_timer = loop_timer_add(loop, idle_check_interval_ms(b), idle_check, b);
}

void conns_start_idle_check(struct broker *b)
{
    if (b->cfg.connections_max_idle_ms >= 0)
        b->idle_timer = loop_timer_add(b->loop, idle_check_interval_ms(b), idle_check, b);
}
