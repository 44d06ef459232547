/*
 * credentials.c: the broker's SASL credentials file: parsing, atomic
 * rewriting, and a cache that follows the file's changes (see
 * credentials.h).
 */
#include "net/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define CREDS_MAX_LINE 2048
#define CREDS_MAX_ENTRIES 100000

void creds_init(creds_t *c) { memset(c, 0, sizeof(*c)); }

void creds_free(creds_t *c)
{
    if (c->items)
        OPENSSL_cleanse(c->items, c->cap * sizeof(*c->items));
    free(c->items);
    creds_init(c);
}

samsa_err_t creds_user_check(const char *user, char *errbuf, size_t errlen)
{
    samsa_err_t err = scram_saslprep_check(user, "user name", errbuf, errlen);
    if (err)
        return err;
    if (strchr(user, ' ')) {
        snprintf(errbuf, errlen, "the user name has a space, which the credentials file cannot "
                                 "hold");
        return SAMSA_ERR__INVALID_ARG;
    }
    return SAMSA_ERR_NONE;
}

static creds_entry_t *creds_find_entry(const creds_t *c, const char *user, scram_mech_t mech)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i].cred.mech == mech && strcmp(c->items[i].user, user) == 0)
            return &c->items[i];
    return NULL;
}

const scram_credential_t *creds_find(const creds_t *c, const char *user, scram_mech_t mech)
{
    creds_entry_t *e = creds_find_entry(c, user, mech);
    return e ? &e->cred : NULL;
}

samsa_err_t creds_set(creds_t *c, const char *user, const scram_credential_t *cred)
{
    char why[128];
    samsa_err_t err = creds_user_check(user, why, sizeof(why));
    if (err)
        return err;
    creds_entry_t *e = creds_find_entry(c, user, cred->mech);
    if (!e) {
        if (c->count == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 8;
            creds_entry_t *items = calloc(cap, sizeof(*items));
            if (!items)
                return SAMSA_ERR__NOMEM;
            if (c->count)
                memcpy(items, c->items, c->count * sizeof(*items));
            /* wipe the old copy before letting it go */
            if (c->items)
                OPENSSL_cleanse(c->items, c->cap * sizeof(*c->items));
            free(c->items);
            c->items = items;
            c->cap = cap;
        }
        e = &c->items[c->count++];
        snprintf(e->user, sizeof(e->user), "%s", user);
    }
    e->cred = *cred;
    return SAMSA_ERR_NONE;
}

size_t creds_delete(creds_t *c, const char *user, const scram_mech_t *mech)
{
    size_t removed = 0;
    for (size_t i = 0; i < c->count;) {
        creds_entry_t *e = &c->items[i];
        if (strcmp(e->user, user) == 0 && (!mech || e->cred.mech == *mech)) {
            memmove(e, e + 1, (c->count - i - 1) * sizeof(*e));
            c->count--;
            OPENSSL_cleanse(&c->items[c->count], sizeof(*e));
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

/* ---- reading -------------------------------------------------------------------- */

/* Parses "salt=..,stored_key=..,server_key=..,iterations=N" into cred.
 * Returns 0 or -1 with why. */
static int creds_parse_attrs(char *attrs, scram_credential_t *cred, const char **why)
{
    size_t hl = scram_hash_bytes(cred->mech);
    bool salt = false, stored = false, server = false, iter = false;
    char *save = NULL;
    for (char *kv = strtok_r(attrs, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            *why = "an attribute without '='";
            return -1;
        }
        *eq = '\0';
        const char *v = eq + 1;
        size_t vl = strlen(v);
        if (strcmp(kv, "salt") == 0) {
            long n = scram_b64_decode(v, vl, cred->salt, sizeof(cred->salt));
            if (n <= 0) {
                *why = "bad salt";
                return -1;
            }
            cred->salt_len = (size_t)n;
            salt = true;
        } else if (strcmp(kv, "stored_key") == 0 || strcmp(kv, "server_key") == 0) {
            bool is_stored = kv[1] == 't';
            uint8_t *dst = is_stored ? cred->stored_key : cred->server_key;
            if (scram_b64_decode(v, vl, dst, SCRAM_MAX_HASH_BYTES) != (long)hl) {
                *why = is_stored ? "bad stored_key" : "bad server_key";
                return -1;
            }
            *(is_stored ? &stored : &server) = true;
        } else if (strcmp(kv, "iterations") == 0) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || *end || end == v || n < SCRAM_MIN_ITERATIONS ||
                n > SCRAM_MAX_ITERATIONS) {
                *why = "iterations out of range";
                return -1;
            }
            cred->iterations = (int32_t)n;
            iter = true;
        } else {
            *why = "an unknown attribute";
            return -1;
        }
    }
    if (!salt || !stored || !server || !iter) {
        *why = "salt, stored_key, server_key or iterations missing";
        return -1;
    }
    return 0;
}

/* Parses one line (modified in place) into c. Returns 0, 1 for a line
 * without an entry, -1 with why. */
static int creds_parse_line(creds_t *c, char *line, const char **why)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
        return 1;
    char *save = NULL;
    char *user = strtok_r(p, " \t", &save);
    char *mech = strtok_r(NULL, " \t", &save);
    char *attrs = strtok_r(NULL, " \t", &save);
    if (!user || !mech || !attrs || strtok_r(NULL, " \t", &save)) {
        *why = "expected: user mechanism attributes";
        return -1;
    }
    char ignored[128];
    scram_credential_t cred;
    memset(&cred, 0, sizeof(cred));
    if (creds_user_check(user, ignored, sizeof(ignored))) {
        *why = "bad user name";
        return -1;
    }
    if (scram_mech_parse(mech, &cred.mech) != 0) {
        *why = "unknown mechanism";
        return -1;
    }
    if (creds_parse_attrs(attrs, &cred, why) != 0)
        return -1;
    if (creds_find(c, user, cred.mech)) {
        *why = "a second entry for the same user and mechanism";
        return -1;
    }
    int rc = creds_set(c, user, &cred) == 0 ? 0 : -1;
    if (rc)
        *why = "out of memory";
    OPENSSL_cleanse(&cred, sizeof(cred));
    return rc;
}

samsa_err_t creds_load(creds_t *c, const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) {
            creds_free(c);
            snprintf(errbuf, errlen, "%s: no such file", path);
            return SAMSA_ERR__NOENT;
        }
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return SAMSA_ERR__STORAGE;
    }
    creds_t fresh;
    creds_init(&fresh);
    samsa_err_t err = SAMSA_ERR_NONE;
    char line[CREDS_MAX_LINE];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        const char *why = NULL;
        if (!strchr(line, '\n') && !feof(f))
            why = "line too long";
        else if (fresh.count >= CREDS_MAX_ENTRIES)
            why = "too many entries";
        if (why || creds_parse_line(&fresh, line, &why) < 0) {
            snprintf(errbuf, errlen, "%s:%d: %s", path, lineno, why);
            err = SAMSA_ERR__INVALID_CONFIG;
            break;
        }
    }
    if (!err && ferror(f)) {
        snprintf(errbuf, errlen, "%s: read failed", path);
        err = SAMSA_ERR__STORAGE;
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    if (err) {
        creds_free(&fresh);
        return err;
    }
    creds_free(c);
    *c = fresh;
    return SAMSA_ERR_NONE;
}

/* ---- writing -------------------------------------------------------------------- */

static void creds_put_b64(buf_t *b, const char *name, const uint8_t *data, size_t len)
{
    buf_put(b, name, strlen(name));
    scram_b64_encode(b, data, len);
}

samsa_err_t creds_save(const creds_t *c, const char *path, char *errbuf, size_t errlen)
{
    buf_t b;
    buf_init(&b, 0);
    static const char head[] = "# samsa SASL credentials (salted SCRAM; edit with `samsa users`)\n";
    buf_put(&b, head, sizeof(head) - 1);
    for (size_t i = 0; i < c->count; i++) {
        const creds_entry_t *e = &c->items[i];
        size_t hl = scram_hash_bytes(e->cred.mech);
        char text[400];
        int n = snprintf(text, sizeof(text), "%s %s ", e->user, scram_mech_name(e->cred.mech));
        buf_put(&b, text, (size_t)n);
        creds_put_b64(&b, "salt=", e->cred.salt, e->cred.salt_len);
        creds_put_b64(&b, ",stored_key=", e->cred.stored_key, hl);
        creds_put_b64(&b, ",server_key=", e->cred.server_key, hl);
        n = snprintf(text, sizeof(text), ",iterations=%d\n", (int)e->cred.iterations);
        buf_put(&b, text, (size_t)n);
    }
    samsa_err_t err = SAMSA_ERR_NONE;
    char *tmp = NULL, *dir_copy = NULL;
    int fd = -1;
    if (b.failed || asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0 || !(dir_copy = strdup(path))) {
        snprintf(errbuf, errlen, "out of memory");
        err = SAMSA_ERR__NOMEM;
        goto done;
    }
    fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
        err = SAMSA_ERR__STORAGE;
        free(tmp);
        tmp = NULL;
        goto done;
    }
    const uint8_t *p = b.data;
    size_t left = b.len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    bool ok = left == 0 && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    fd = -1;
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        snprintf(errbuf, errlen, "%s: cannot write: %s", path, strerror(e));
        err = SAMSA_ERR__STORAGE;
        unlink(tmp);
        goto done;
    }
    int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0) {
            snprintf(errbuf, errlen, "%s: cannot sync its directory: %s", path, strerror(errno));
            err = SAMSA_ERR__STORAGE;
        }
        close(dfd);
    }
done:
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(dir_copy);
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    buf_free(&b);
    return err;
}

/* ---- the cache ------------------------------------------------------------------- */

samsa_err_t creds_cache_init(creds_cache_t *cc, const char *path)
{
    memset(cc, 0, sizeof(*cc));
    creds_init(&cc->creds);
    cc->path = strdup(path);
    return cc->path ? SAMSA_ERR_NONE : SAMSA_ERR__NOMEM;
}

void creds_cache_free(creds_cache_t *cc)
{
    creds_free(&cc->creds);
    free(cc->path);
    cc->path = NULL;
}

samsa_err_t creds_cache_refresh(creds_cache_t *cc, bool *reloaded, char *errbuf, size_t errlen)
{
    if (reloaded)
        *reloaded = false;
    struct stat st;
    if (stat(cc->path, &st) != 0) {
        bool had = cc->have_stat || cc->creds.count;
        creds_free(&cc->creds);
        cc->have_stat = false;
        if (reloaded)
            *reloaded = had;
        snprintf(errbuf, errlen, "%s: %s", cc->path, strerror(errno));
        return errno == ENOENT ? SAMSA_ERR__NOENT : SAMSA_ERR__STORAGE;
    }
    if (cc->have_stat && st.st_mtim.tv_sec == cc->mtime.tv_sec &&
        st.st_mtim.tv_nsec == cc->mtime.tv_nsec && st.st_size == cc->size &&
        st.st_ino == cc->ino && st.st_dev == cc->dev)
        return SAMSA_ERR_NONE;
    samsa_err_t err = creds_load(&cc->creds, cc->path, errbuf, errlen);
    if (err)
        return err; /* keeps the last good set; have_stat stays, so retried */
    cc->have_stat = true;
    cc->mtime = st.st_mtim;
    cc->size = st.st_size;
    cc->ino = st.st_ino;
    cc->dev = st.st_dev;
    if (reloaded)
        *reloaded = true;
    return SAMSA_ERR_NONE;
}
