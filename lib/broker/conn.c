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
 * do not count as its memory however much is fetched. Partial writes
 * resume where they stopped when the socket is writable again; the
 * request, and the log reads its records come from, are released once the
 * last byte is out.
 *
 * Closing: never from inside a handler's call chain (a handler may still be
 * walking lists that the close would change): conn_close_soon() stops the
 * connection's events and closes it on the next loop turn, cancelling
 * parked requests through their cancel callbacks.
 */
#include "broker/broker_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/slog.h"

#define CONN_MAX_QUEUED 256 /* requests in flight before reading pauses */
#define CONN_IOV_MAX 64
#define CONN_STAGE_BYTES 16384 /* reads of small requests go through this */

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
    int fd;
    char peer[64];
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

/* Stops serving c and closes it on the next loop turn. */
static void conn_close_soon(conn_t *c)
{
    if (c->closing)
        return;
    loop_del_fd(c->broker->loop, c->fd);
    c->closing = true;
    c->close_timer = loop_timer_add(c->broker->loop, 0, conn_close_timer, c);
    if (!c->close_timer)
        slog_error(BROKER_MODULE, "%s: out of memory while closing", c->peer);
}

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

/* Writes the responses of answered requests at the head of the queue,
 * several per sendmsg, until the socket is full or an unanswered request
 * is at the head. */
static void conn_flush(conn_t *c)
{
    while (!c->closing) {
        while (conn_pop_written(c))
            ;
        if (!c->head || !c->head->done)
            break;
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
                break; /* cannot happen: the head has an unwritten byte */
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
                return;
            }
            slog_info(BROKER_MODULE, "%s: write failed: %s; closing", c->peer, strerror(errno));
            conn_close_soon(c);
            return;
        }
        c->active_ms = loop_now_ms(c->broker->loop);
        /* advance the cursor by w bytes, across requests */
        size_t left = (size_t)w;
        while (left > 0) {
            if (conn_pop_written(c))
                continue;
            const uint8_t *data;
            size_t len;
            piece_get(c->head, c->write_piece, &data, &len);
            size_t rest = len - c->write_off;
            if (left < rest) {
                c->write_off += left;
                left = 0;
            } else {
                left -= rest;
                c->write_off = len;
            }
        }
    }
    int events = c->events & ~LOOP_WRITE;
    if (c->queued < CONN_MAX_QUEUED)
        events |= LOOP_READ;
    conn_set_events(c, events);
    /* Requests already staged when reading paused raise no more socket
     * events: read them on the next turn (not here, inside a handler). */
    if (!c->closing && c->paused && c->queued < CONN_MAX_QUEUED) {
        c->paused = false;
        if (c->staged_pos < c->staged_len && !c->resume_timer)
            c->resume_timer = loop_timer_add(c->broker->loop, 0, conn_resume_timer, c);
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

/* Turns a complete frame (owned, len bytes) into a request and hands it to
 * its handler. */
static void conn_frame(conn_t *c, uint8_t *frame, size_t len)
{
    reader_t r = reader_make(frame, len);
    proto_request_header_t h;
    if (proto_request_header_read(&r, &h)) {
        free(frame);
        conn_bad(c, "malformed request header", NULL);
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
    req->principal = "User:ANONYMOUS";
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
    if (c->tail)
        c->tail->next = cr;
    else
        c->head = cr;
    c->tail = cr;
    c->queued++;
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
            n = recv(c->fd, c->frame + c->frame_have, c->frame_len - c->frame_have, 0);
        else
            n = recv(c->fd, c->staged, CONN_STAGE_BYTES, 0);
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

static void conn_ready(loop_t *loop, int fd, int events, void *opaque)
{
    conn_t *c = opaque;
    if (events & LOOP_WRITE)
        conn_flush(c);
    if ((events & LOOP_READ) && !c->closing) {
        if (c->paused)
            conn_check_hangup(c);
        else
            conn_read(c);
    }
}

/* ---- accepting and closing ----------------------------------------------- */

void conn_accept_ready(loop_t *loop, int fd, int events, void *opaque)
{
    struct broker *b = opaque;
    for (;;) {
        char peer[64];
        int cfd = net_accept(fd, peer, sizeof(peer));
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                slog_warn(BROKER_MODULE, "accept: %s", strerror(errno));
            return;
        }
        conn_t *c = calloc(1, sizeof(*c));
        if (!c || loop_add_fd(loop, cfd, LOOP_READ, conn_ready, c) != 0) {
            slog_warn(BROKER_MODULE, "%s: cannot serve a new connection: out of memory", peer);
            free(c);
            close(cfd);
            continue;
        }
        c->broker = b;
        c->fd = cfd;
        c->events = LOOP_READ;
        c->active_ms = loop_now_ms(loop);
        memcpy(c->peer, peer, sizeof(c->peer));
        c->next = b->conns;
        if (b->conns)
            b->conns->prev = c;
        b->conns = c;
        slog_debug(BROKER_MODULE, "%s: connected", c->peer);
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
    close(c->fd);
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
