/*
 * conf.h: samsa_conf_t, the string property map every handle is configured
 * with, and the .properties file reader (the public functions are declared
 * in samsa.h).
 *
 * Keys keep the order they were first set in, so that a handle that walks
 * the map checks (and reports) them in a predictable order.
 */
#ifndef SAMSA_BASE_CONF_H
#define SAMSA_BASE_CONF_H

#include <stddef.h>

#include "samsa.h"

typedef struct conf_entry {
    char *key;
    char *value;
} conf_entry_t;

struct samsa_conf {
    conf_entry_t *entries;
    size_t count;
    size_t cap;
};

/* Number of properties set. */
static inline size_t conf_count(const samsa_conf_t *conf) { return conf->count; }
/* The i-th property (0 <= i < conf_count); strings owned by conf. */
static inline const conf_entry_t *conf_entry(const samsa_conf_t *conf, size_t i)
{
    return &conf->entries[i];
}

/* Parses .properties text (len bytes, need not be NUL-terminated) into
 * conf; origin names the input in error messages ("file.properties").
 * Returns SAMSA_ERR_NONE, SAMSA_ERR__INVALID_CONFIG (errstr names origin
 * and line) or SAMSA_ERR__NOMEM. */
samsa_err_t conf_parse_properties(samsa_conf_t *conf, const char *text, size_t len,
                                  const char *origin, char *errstr, size_t errlen);

/* Writes the printf-style message into errstr (errlen bytes; NULL or 0:
 * nothing) and returns err: the error path of every configuration check. */
samsa_err_t conf_fail(samsa_err_t err, char *errstr, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The properties of conf as two arrays of n keys and n values (pointing
 * into conf), for the constructors that take key/value arrays. The caller
 * frees both arrays (not the strings). Returns SAMSA_ERR__INVALID_ARG
 * (conf NULL) or SAMSA_ERR__NOMEM with errstr filled, and nothing to free. */
samsa_err_t conf_arrays(const samsa_conf_t *conf, const char ***keys, const char ***values,
                        size_t *n, char *errstr, size_t errlen);

/* Parses a boolean as Kafka does ("true"/"false", any case). Returns 0 or 1,
 * or -1 when value is neither. */
int conf_parse_bool(const char *value);

/* Parses a decimal integer in [min, max] into *out. Returns 0, or -1 when
 * value is not such an integer (leading/trailing spaces are not allowed). */
int conf_parse_int64(const char *value, long long min, long long max, long long *out);

#endif /* SAMSA_BASE_CONF_H */
