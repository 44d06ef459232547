/*
 * arena.h: a bump allocator for memory that dies all at once.
 *
 * A decoded request lives in one arena and is released with it; nothing in
 * it is freed one by one. Allocations are 8-byte aligned.
 */
#ifndef SAMSA_BASE_ARENA_H
#define SAMSA_BASE_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk_t;

typedef struct arena {
    arena_chunk_t *chunks; /* newest first */
    size_t used;           /* bytes used in the newest chunk */
    size_t total_bytes;    /* bytes handed out since the last reset */
    size_t max_bytes;      /* cap on total_bytes; 0 means none */
} arena_t;

/* An empty arena that hands out at most max_bytes (0: no cap). */
void arena_init(arena_t *a, size_t max_bytes);
/* n bytes of zeroed memory, or NULL when memory runs out or the cap is hit. */
void *arena_alloc(arena_t *a, size_t n);
/* Releases everything allocated, keeping one chunk for reuse. */
void arena_reset(arena_t *a);
/* Releases everything. */
void arena_free(arena_t *a);

#endif /* SAMSA_BASE_ARENA_H */
