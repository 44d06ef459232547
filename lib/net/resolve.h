/*
 * resolve.h: host name resolution that does not block an event loop.
 *
 * getaddrinfo() may wait seconds on a slow or unreachable DNS server. A
 * client's I/O thread must not: its heartbeats, timeouts and other
 * connections would stop meanwhile. resolve_start() answers numeric
 * addresses at once and hands names to a thread of their own, whose
 * result comes back on the loop's thread through loop_post().
 */
#ifndef SAMSA_NET_RESOLVE_H
#define SAMSA_NET_RESOLVE_H

#include <netdb.h>

#include "net/loop.h"

typedef struct resolve resolve_t;

/* The outcome: res (owned by the callee, to be freed with freeaddrinfo)
 * on success, else NULL and gai, getaddrinfo()'s error code (EAI_MEMORY
 * when memory or a thread was missing). */
typedef void resolve_done_fn(void *opaque, struct addrinfo *res, int gai);

/* Resolves host:port (TCP, any address family). A numeric address is
 * answered before resolve_start() returns (done runs inside it; the
 * return is NULL); a name is resolved on a new thread and done runs later
 * on loop's thread (the return is the pending resolution, for
 * resolve_cancel()). If the thread cannot start, done runs at once with
 * EAI_MEMORY. Loop thread only. */
resolve_t *resolve_start(loop_t *loop, const char *host, int port, resolve_done_fn *done,
                         void *opaque);

/* done will not run for r (a pending resolution); its result is freed
 * when it comes. Loop thread, or any thread once the loop stopped; r must
 * not be used afterwards. Call before the loop is freed. */
void resolve_cancel(resolve_t *r);

/* For tests: a function called instead of getaddrinfo() for names (not
 * numeric addresses); NULL restores getaddrinfo(). */
typedef int resolve_fn(const char *host, const char *port, const struct addrinfo *hints,
                       struct addrinfo **res);
void resolve_set_function(resolve_fn *fn);

#endif /* SAMSA_NET_RESOLVE_H */
