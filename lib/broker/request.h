/*
 * request.h: one client request inside the broker, from its decoded body
 * to its response.
 *
 * The connection layer makes a broker_request_t for every frame it reads,
 * decodes the body into req->body and hands the request to the handler of
 * its API. The handler answers with broker_request_respond() at once, or
 * later after broker_request_park() (long-poll Fetch, Produce with acks=-1,
 * JoinGroup waiting for the other members). Whatever order handlers answer
 * in, responses leave each connection in request order.
 *
 * Everything here runs on the broker's event-loop thread.
 */
#ifndef SAMSA_BROKER_REQUEST_H
#define SAMSA_BROKER_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "proto/codec.h"

typedef struct broker broker_t;
typedef struct broker_request broker_request_t;

/* Delivers the response (or, with response NULL, no response at all, as for
 * Produce with acks=0) and releases the request. Set by whoever made the
 * request: the connection layer, or a test. */
typedef void broker_respond_fn(broker_request_t *req, const void *response);

/* Called when a parked request's client has gone: the handler forgets the
 * request, which is released right after. */
typedef void broker_cancel_fn(broker_request_t *req, void *opaque);

/* The security state of the connection a request came on, shared by its
 * requests (sasl.c reads and changes it). */
typedef struct broker_session {
    int security;             /* broker_security_t of the listener */
    const char *listener;     /* the listener's name */
    bool authenticated;       /* requests beyond ApiVersions and SASL are served */
    char principal[320];      /* "User:ANONYMOUS", "User:alice", "User:CN=client,O=samsa" */
    int sasl_state;           /* where the SASL exchange is (sasl.c) */
    int sasl_mechanism;       /* BROKER_SASL_* chosen by SaslHandshake */
    bool sasl_raw;            /* after SaslHandshake v0: tokens come without headers */
    void *sasl_exchange;      /* the SCRAM exchange in progress (sasl.c owns it) */
    bool close_after_response; /* a handler's verdict: close once this response is out */
} broker_session_t;

struct broker_request {
    broker_t *broker;         /* the broker serving it (NULL in unit tests of a module) */
    const proto_api_t *api;   /* its API; the body and response use api->request/response */
    int16_t api_version;
    bool flexible;            /* proto_api_flexible(api, api_version) */
    int32_t correlation_id;
    proto_str_t client_id;    /* points into the frame, valid as long as the request */
    const char *client_addr;  /* the peer as "host:port" */
    const char *principal;    /* who the client authenticated as ("User:ANONYMOUS") */
    broker_session_t *session; /* its connection's security state (NULL in unit tests) */
    void *body;               /* the decoded request (in arena) */
    arena_t arena;            /* freed with the request: build the response here */
    int64_t received_ms;      /* monotonic time the frame arrived */

    /* set by the creator */
    broker_respond_fn *respond_fn;
    void *owner;
    /* set by broker_request_park() */
    broker_cancel_fn *cancel_fn;
    void *cancel_opaque;

    /* The body as it arrived (after the header), inside the frame, which the
     * request owns: handlers may modify it in place (the log stamps offsets
     * into produced batches). body is NULL when the version is one the
     * handler accepts but the codec cannot decode (Produce v0-2). */
    uint8_t *raw_body;
    size_t raw_body_len;
    /* ApiVersions at a version above the broker's (KIP-511): api_version
     * is 0 and the handler answers UNSUPPORTED_VERSION with its ranges. */
    bool version_unsupported;
    /* Set by a handler that answers a version the codec cannot encode
     * (Produce v0-2): the response passed to broker_request_respond is then
     * a buf_t holding the encoded body, which is copied. */
    bool response_is_raw;
    /* Optional: runs when the request is released, after its response has
     * been written or dropped; releases what the response's spliced records
     * point at (log reads). */
    void (*release_fn)(broker_request_t *req, void *opaque);
    void *release_opaque;
};

/* Sends response, a struct of req->api->response's type at
 * req->api_version (NULL: no response), and releases the request: req must
 * not be used afterwards. */
static inline void broker_request_respond(broker_request_t *req, const void *response)
{
    req->respond_fn(req, response);
}

/* Marks the request as waiting for an event. If the client disconnects (or
 * the broker stops) first, cancel(req, opaque) runs and the request is
 * released; otherwise the handler answers later with broker_request_respond. */
static inline void broker_request_park(broker_request_t *req, broker_cancel_fn *cancel,
                                       void *opaque)
{
    req->cancel_fn = cancel;
    req->cancel_opaque = opaque;
}

/* A zeroed response struct of the request's API, with every field at its
 * default, allocated in the request's arena (NULL when memory runs out). */
static inline void *broker_response_new(broker_request_t *req)
{
    void *resp = arena_alloc(&req->arena, req->api->response->size);
    if (resp)
        proto_init(req->api->response, resp);
    return resp;
}

#endif /* SAMSA_BROKER_REQUEST_H */
