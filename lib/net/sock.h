/*
 * sock.h: TCP sockets for the event loop: listener addresses as Kafka
 * writes them ("PLAINTEXT://host:port"), non-blocking listen and accept,
 * and peer names for log lines.
 */
#ifndef SAMSA_NET_SOCK_H
#define SAMSA_NET_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "samsa.h"

typedef struct net_endpoint {
    char protocol[32]; /* "PLAINTEXT" (the listener name) */
    char host[256];    /* as written: a name, an IPv4 address or an IPv6 one without [] */
    int port;          /* 0..65535 */
} net_endpoint_t;

/* Parses "NAME://host:port" (host may be empty for "all interfaces" and an
 * IPv6 address is written in brackets). Returns 0, or -1 with the reason in
 * errbuf. */
int net_endpoint_parse(const char *text, net_endpoint_t *out, char *errbuf, size_t errlen);

/* Binds a non-blocking, close-on-exec TCP listener on host:port (port 0:
 * the kernel picks one; empty host: every interface) with SO_REUSEADDR.
 * Returns the fd and the bound port in *bound_port, or -1 with the reason
 * (naming the address) in errbuf. */
int net_listen(const char *host, int port, int backlog, int *bound_port, char *errbuf,
               size_t errlen);

/* Accepts one connection as a non-blocking, close-on-exec socket with
 * TCP_NODELAY and writes "host:port" of the peer into peer. Returns the fd,
 * or -1 with errno set (EAGAIN when none is waiting). */
int net_accept(int listen_fd, char *peer, size_t peer_len);

#endif /* SAMSA_NET_SOCK_H */
