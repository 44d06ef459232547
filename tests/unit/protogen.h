/*
 * protogen.h: test helpers that walk message descriptions: fill a message
 * with random values for one version, and compare two messages.
 */
#ifndef SAMSA_TEST_PROTOGEN_H
#define SAMSA_TEST_PROTOGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/codec.h"

/* A small deterministic random generator (xorshift64*). */
uint64_t protogen_rand(uint64_t *state);

/* Fills msg with random values in every field the version has (others keep
 * their defaults). Arrays, strings and bytes come from arena. */
void protogen_fill(const proto_struct_t *desc, int16_t version, bool flexible, void *msg,
                   arena_t *arena, uint64_t *rng);

/* Whether two messages are equal field by field. On a difference, writes the
 * path of the first differing field to where (if not NULL). */
bool protogen_equal(const proto_struct_t *desc, const void *a, const void *b, char *where,
                    size_t where_len);

/* The description of the struct held by the named field of desc (NULL when
 * there is no such struct field). */
const proto_struct_t *protogen_sub(const proto_struct_t *desc, const char *field);

#endif
