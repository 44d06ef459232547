/*
 * arena.c: chunked bump allocation (see arena.h).
 */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_BYTES 4096

struct arena_chunk {
    arena_chunk_t *next;
    size_t size; /* usable bytes in data */
    _Alignas(16) unsigned char data[];
};

void arena_init(arena_t *a, size_t max_bytes)
{
    a->chunks = NULL;
    a->used = 0;
    a->total_bytes = 0;
    a->max_bytes = max_bytes;
}

void *arena_alloc(arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    if (a->max_bytes && (n > a->max_bytes || a->total_bytes > a->max_bytes - n))
        return NULL;
    arena_chunk_t *c = a->chunks;
    if (!c || c->size - a->used < n) {
        size_t size = n > ARENA_CHUNK_BYTES / 2 ? n : ARENA_CHUNK_BYTES;
        if (size > SIZE_MAX - sizeof(*c))
            return NULL;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        /* A large block goes behind the current chunk so that the chunk's
         * free tail stays usable. */
        if (a->chunks && size != ARENA_CHUNK_BYTES) {
            c->next = a->chunks->next;
            a->chunks->next = c;
            a->total_bytes += n;
            memset(c->data, 0, n);
            return c->data;
        }
        c->next = a->chunks;
        a->chunks = c;
        a->used = 0;
    }
    void *p = c->data + a->used;
    a->used += n;
    a->total_bytes += n;
    memset(p, 0, n);
    return p;
}

void arena_reset(arena_t *a)
{
    arena_chunk_t *keep = NULL;
    for (arena_chunk_t *c = a->chunks, *next; c; c = next) {
        next = c->next;
        if (!keep && c->size == ARENA_CHUNK_BYTES) {
            keep = c;
            keep->next = NULL;
        } else {
            free(c);
        }
    }
    a->chunks = keep;
    a->used = 0;
    a->total_bytes = 0;
}

void arena_free(arena_t *a)
{
    for (arena_chunk_t *c = a->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->chunks = NULL;
    a->used = 0;
    a->total_bytes = 0;
}
