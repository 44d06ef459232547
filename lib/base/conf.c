/*
 * conf.c: the property map behind samsa_conf_t and the Java .properties
 * reader (see conf.h and samsa.h).
 */
#include "base/conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

samsa_err_t conf_fail(samsa_err_t err, char *errstr, size_t errlen, const char *fmt, ...)
{
    if (errstr && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

SAMSA_API samsa_conf_t *samsa_conf_new(void) { return calloc(1, sizeof(samsa_conf_t)); }

SAMSA_API void samsa_conf_free(samsa_conf_t *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->count; i++) {
        free(conf->entries[i].key);
        free(conf->entries[i].value);
    }
    free(conf->entries);
    free(conf);
}

SAMSA_API samsa_conf_t *samsa_conf_dup(const samsa_conf_t *conf)
{
    samsa_conf_t *copy = samsa_conf_new();
    if (!copy)
        return NULL;
    for (size_t i = 0; i < conf->count; i++) {
        if (samsa_conf_set(copy, conf->entries[i].key, conf->entries[i].value, NULL, 0)) {
            samsa_conf_free(copy);
            return NULL;
        }
    }
    return copy;
}

static conf_entry_t *conf_find(const samsa_conf_t *conf, const char *key)
{
    for (size_t i = 0; i < conf->count; i++)
        if (strcmp(conf->entries[i].key, key) == 0)
            return &conf->entries[i];
    return NULL;
}

SAMSA_API const char *samsa_conf_get(const samsa_conf_t *conf, const char *key)
{
    const conf_entry_t *e = conf && key ? conf_find(conf, key) : NULL;
    return e ? e->value : NULL;
}

SAMSA_API samsa_err_t samsa_conf_set(samsa_conf_t *conf, const char *key, const char *value,
                                     char *errstr, size_t errlen)
{
    if (!conf || !key || !*key)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "empty property name");
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen,
                             "property name \"%s\" contains whitespace or control characters",
                             key);
    if (!value)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "%s: the value is NULL", key);
    char *v = strdup(value);
    if (!v)
        return conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "%s: out of memory", key);
    conf_entry_t *e = conf_find(conf, key);
    if (e) {
        free(e->value);
        e->value = v;
        return SAMSA_ERR_NONE;
    }
    if (conf->count == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 16;
        conf_entry_t *entries = realloc(conf->entries, cap * sizeof(*entries));
        if (!entries) {
            free(v);
            return conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "%s: out of memory", key);
        }
        conf->entries = entries;
        conf->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "%s: out of memory", key);
    }
    conf->entries[conf->count++] = (conf_entry_t){k, v};
    return SAMSA_ERR_NONE;
}

/* ---- .properties ------------------------------------------------------- */

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_utf8(buf_t *out, unsigned cp)
{
    if (cp < 0x80) {
        buf_put_i8(out, (int8_t)cp);
    } else if (cp < 0x800) {
        buf_put_i8(out, (int8_t)(0xc0 | (cp >> 6)));
        buf_put_i8(out, (int8_t)(0x80 | (cp & 0x3f)));
    } else {
        buf_put_i8(out, (int8_t)(0xe0 | (cp >> 12)));
        buf_put_i8(out, (int8_t)(0x80 | ((cp >> 6) & 0x3f)));
        buf_put_i8(out, (int8_t)(0x80 | (cp & 0x3f)));
    }
}

/* Joins one logical line (natural lines ending in an odd number of
 * backslashes continue on the next, whose leading blanks are dropped) and
 * splits it into key and value, unescaping both into out as "key\0value\0".
 * *pos moves past the logical line; *line counts natural lines. Returns 1
 * for a property, 0 for a blank or comment line, -1 for a bad escape. */
static int read_logical_line(const char *text, size_t len, size_t *pos, int *line, buf_t *out)
{
    size_t i = *pos;
    buf_reset(out);
    while (i < len && (is_blank(text[i])))
        i++;
    bool comment = i < len && (text[i] == '#' || text[i] == '!');
    bool blank = i >= len || text[i] == '\n' || text[i] == '\r';
    if (comment || blank) {
        while (i < len && text[i] != '\n' && text[i] != '\r')
            i++;
        if (i < len && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
            i++;
        *pos = i < len ? i + 1 : i;
        (*line)++;
        return 0;
    }
    enum { KEY, SEP, VALUE } part = KEY;
    bool bad = false;
    (*line)++;
    while (i < len) {
        char c = text[i];
        if (c == '\n' || c == '\r') {
            i += (c == '\r' && i + 1 < len && text[i + 1] == '\n') ? 2 : 1;
            break;
        }
        if (c == '\\') {
            if (i + 1 >= len) {
                i++;
                break;
            }
            char e = text[i + 1];
            if (e == '\n' || e == '\r') {
                /* continuation: skip the line break and the next line's indent */
                i += (e == '\r' && i + 2 < len && text[i + 2] == '\n') ? 3 : 2;
                (*line)++;
                while (i < len && is_blank(text[i]))
                    i++;
                continue;
            }
            if (part == SEP) {
                buf_put_i8(out, 0);
                part = VALUE;
            }
            i += 2;
            switch (e) {
            case 't': buf_put_i8(out, '\t'); break;
            case 'n': buf_put_i8(out, '\n'); break;
            case 'r': buf_put_i8(out, '\r'); break;
            case 'f': buf_put_i8(out, '\f'); break;
            case 'u': {
                unsigned cp = 0;
                for (int k = 0; k < 4; k++) {
                    int h = i < len ? hex_value(text[i]) : -1;
                    if (h < 0) {
                        bad = true;
                        break;
                    }
                    cp = cp * 16 + (unsigned)h;
                    i++;
                }
                if (!bad)
                    put_utf8(out, cp);
                break;
            }
            default: buf_put_i8(out, e); break;
            }
            continue;
        }
        if (part == KEY && (c == '=' || c == ':' || is_blank(c))) {
            part = SEP;
            i++;
            /* blanks, at most one '=' or ':', blanks */
            bool had_sep = c == '=' || c == ':';
            while (i < len && is_blank(text[i]))
                i++;
            if (!had_sep && i < len && (text[i] == '=' || text[i] == ':')) {
                i++;
                while (i < len && is_blank(text[i]))
                    i++;
            }
            continue;
        }
        if (part == SEP) {
            buf_put_i8(out, 0);
            part = VALUE;
        }
        buf_put_i8(out, c);
        i++;
    }
    if (part != VALUE)
        buf_put_i8(out, 0); /* key only: the value is empty */
    buf_put_i8(out, 0);
    *pos = i;
    return bad ? -1 : 1;
}

samsa_err_t conf_parse_properties(samsa_conf_t *conf, const char *text, size_t len,
                                  const char *origin, char *errstr, size_t errlen)
{
    buf_t line_buf;
    buf_init(&line_buf, 0);
    size_t pos = 0;
    int line = 0;
    samsa_err_t err = SAMSA_ERR_NONE;
    while (pos < len && !err) {
        int first_line = line + 1;
        int r = read_logical_line(text, len, &pos, &line, &line_buf);
        if (line_buf.failed) {
            err = conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "%s: out of memory", origin);
        } else if (r < 0) {
            err = conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen,
                            "%s:%d: malformed \\uXXXX escape", origin, first_line);
        } else if (r > 0) {
            const char *key = (const char *)line_buf.data;
            const char *value = key + strlen(key) + 1;
            char why[256];
            if (samsa_conf_set(conf, key, value, why, sizeof(why)))
                err = conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen, "%s:%d: %s", origin,
                                first_line, why);
        }
    }
    buf_free(&line_buf);
    return err;
}

SAMSA_API samsa_err_t samsa_conf_set_file(samsa_conf_t *conf, const char *path, char *errstr,
                                          size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return conf_fail(SAMSA_ERR__NOENT, errstr, errlen, "cannot read %s: %s", path,
                         strerror(errno));
    buf_t text;
    buf_init(&text, 64 * 1024 * 1024);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_put(&text, chunk, n);
    bool read_error = ferror(f);
    fclose(f);
    samsa_err_t err;
    if (read_error)
        err = conf_fail(SAMSA_ERR__NOENT, errstr, errlen, "cannot read %s", path);
    else if (text.failed)
        err = conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "%s: too large or out of memory", path);
    else
        err = conf_parse_properties(conf, (const char *)text.data, text.len, path, errstr, errlen);
    buf_free(&text);
    return err;
}

int conf_parse_bool(const char *value)
{
    if (strcasecmp(value, "true") == 0)
        return 1;
    if (strcasecmp(value, "false") == 0)
        return 0;
    return -1;
}

int conf_parse_int64(const char *value, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || is_blank(*value) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

samsa_err_t conf_arrays(const samsa_conf_t *conf, const char ***keys, const char ***values,
                        size_t *n, char *errstr, size_t errlen)
{
    *keys = *values = NULL;
    *n = 0;
    if (!conf)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "conf is NULL");
    *n = conf_count(conf);
    *keys = calloc(*n + 1, sizeof(**keys));
    *values = calloc(*n + 1, sizeof(**values));
    if (!*keys || !*values) {
        free(*keys);
        free(*values);
        *keys = *values = NULL;
        return conf_fail(SAMSA_ERR__NOMEM, errstr, errlen, "out of memory");
    }
    for (size_t i = 0; i < *n; i++) {
        (*keys)[i] = conf_entry(conf, i)->key;
        (*values)[i] = conf_entry(conf, i)->value;
    }
    return SAMSA_ERR_NONE;
}
