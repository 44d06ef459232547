/*
 * credentials.h: the broker's SASL credentials file (sasl.credentials.file):
 * for each user and SCRAM mechanism the salted credential, never a
 * password. One line per entry:
 *
 *   alice SCRAM-SHA-512 salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=4096
 *
 * Empty lines and lines starting with '#' are ignored. User names are
 * printable ASCII without spaces (1..255 bytes).
 *
 * A creds_t is a plain set owned by its caller (one thread at a time). A
 * creds_cache_t keeps a set current with the file (reread when its mtime,
 * size or inode changed), for the broker's loop thread.
 */
#ifndef SAMSA_NET_CREDENTIALS_H
#define SAMSA_NET_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "net/scram.h"

typedef struct creds_entry {
    char user[SCRAM_MAX_NAME_BYTES + 1];
    scram_credential_t cred;
} creds_entry_t;

typedef struct creds {
    creds_entry_t *items;
    size_t count, cap;
} creds_t;

/* An empty set. */
void creds_init(creds_t *c);
/* Frees the entries (wiping them); the set is empty and usable again. */
void creds_free(creds_t *c);

/* 0 when user may be stored, else SAMSA_ERR__INVALID_ARG (or
 * SAMSA_ERR__NOT_SUPPORTED for non-ASCII) with the reason in errbuf. */
samsa_err_t creds_user_check(const char *user, char *errbuf, size_t errlen);

/* Replaces c with the file's entries. Returns 0; SAMSA_ERR__NOENT when the
 * file does not exist (c is then empty); SAMSA_ERR__STORAGE when it cannot
 * be read; SAMSA_ERR__INVALID_CONFIG naming path:line for a malformed
 * line; SAMSA_ERR__NOMEM. On an error other than NOENT, c is left as it
 * was. */
samsa_err_t creds_load(creds_t *c, const char *path, char *errbuf, size_t errlen);
/* Writes c to path atomically: a temporary file in the same directory,
 * mode 0600, fsynced, renamed over path (and the directory fsynced).
 * Returns 0 or SAMSA_ERR__STORAGE with errbuf. */
samsa_err_t creds_save(const creds_t *c, const char *path, char *errbuf, size_t errlen);

/* Adds user's credential, replacing one of the same mechanism. Returns 0,
 * SAMSA_ERR__NOMEM, or an error of creds_user_check. */
samsa_err_t creds_set(creds_t *c, const char *user, const scram_credential_t *cred);
/* Removes user's entry for *mech (mech NULL: every mechanism). Returns how
 * many entries went. */
size_t creds_delete(creds_t *c, const char *user, const scram_mech_t *mech);
/* user's credential for mech, or NULL. Valid until c changes. */
const scram_credential_t *creds_find(const creds_t *c, const char *user, scram_mech_t mech);

/* The set of a file, reloaded when the file changes. */
typedef struct creds_cache {
    char *path;
    creds_t creds;
    bool have_stat;         /* st_* below describe the file loaded */
    struct timespec mtime;
    off_t size;
    ino_t ino;
    dev_t dev;
} creds_cache_t;

/* Starts a cache of path (copied; nothing is read yet). Returns 0 or
 * SAMSA_ERR__NOMEM. */
samsa_err_t creds_cache_init(creds_cache_t *cc, const char *path);
void creds_cache_free(creds_cache_t *cc);
/* Rereads the file if it changed since the last load. Returns 0 (also when
 * nothing changed), or the error of creds_load: a file that vanished
 * leaves the set empty (SAMSA_ERR__NOENT); a malformed or unreadable one
 * keeps the set of the last good load, and is tried again next time.
 * *reloaded says whether the set was replaced (may be NULL). */
samsa_err_t creds_cache_refresh(creds_cache_t *cc, bool *reloaded, char *errbuf, size_t errlen);

#endif /* SAMSA_NET_CREDENTIALS_H */
