/*
 * print.h: decoded messages as JSON text, for diagnostics and tools.
 */
#ifndef SAMSA_PROTO_PRINT_H
#define SAMSA_PROTO_PRINT_H

#include <stdarg.h>

#include "proto/codec.h"

/* Appends msg (a struct described by desc, decoded at version) to out as
 * one line of JSON: field names as Kafka spells them, strings escaped,
 * bytes and records as (shortened) hex. Fields the version lacks are left
 * out. Check out->failed for allocation failure. */
void proto_print_json(const proto_struct_t *desc, int16_t version, const void *msg, buf_t *out);

#endif
