/*
 * scram.c: SCRAM-SHA-256/512 (RFC 5802, RFC 7677) for the client and the
 * server, the stored credential derived from a password, base64, and SASL
 * PLAIN's message (see scram.h).
 *
 * Every message from the peer is parsed as "attr=value" pairs separated by
 * commas, with its length capped at SCRAM_MAX_MESSAGE_BYTES; values are
 * checked before anything is computed from them.
 */
#include "net/scram.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SCRAM_NONCE_RANDOM_BYTES 24

static const char *const scram_names[] = {"SCRAM-SHA-256", "SCRAM-SHA-512"};

const char *scram_mech_name(scram_mech_t mech) { return scram_names[mech == SCRAM_SHA_512]; }

int scram_mech_parse(const char *name, scram_mech_t *out)
{
    for (int i = 0; i < 2; i++) {
        if (strcmp(name, scram_names[i]) == 0) {
            *out = (scram_mech_t)i;
            return 0;
        }
    }
    return -1;
}

size_t scram_hash_bytes(scram_mech_t mech) { return mech == SCRAM_SHA_512 ? 64 : 32; }

static const EVP_MD *scram_md(scram_mech_t mech)
{
    return mech == SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

samsa_err_t scram_saslprep_check(const char *text, const char *what, char *errbuf, size_t errlen)
{
    size_t n = strlen(text);
    if (n == 0 || n > SCRAM_MAX_NAME_BYTES) {
        snprintf(errbuf, errlen, "the %s must be 1 to %d bytes long", what, SCRAM_MAX_NAME_BYTES);
        return SAMSA_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch >= 0x80) {
            snprintf(errbuf, errlen,
                     "the %s has non-ASCII characters, which this SASLprep does not support", what);
            return SAMSA_ERR__NOT_SUPPORTED;
        }
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(errbuf, errlen, "the %s has a control character, which SASLprep prohibits",
                     what);
            return SAMSA_ERR__INVALID_ARG;
        }
    }
    return SAMSA_ERR_NONE;
}

/* ---- base64 --------------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void scram_b64_encode(buf_t *out, const uint8_t *data, size_t len)
{
    uint8_t *p = buf_extend(out, (len + 2) / 3 * 4);
    if (!p)
        return;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        *p++ = (uint8_t)b64_alphabet[v >> 18];
        *p++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
        *p++ = i + 1 < len ? (uint8_t)b64_alphabet[(v >> 6) & 63] : '=';
        *p++ = i + 2 < len ? (uint8_t)b64_alphabet[v & 63] : '=';
    }
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long scram_b64_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
    if (len % 4)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int pad = 0;
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            char c = text[i + k];
            int d;
            if (c == '=' && i + 4 == len && k >= 2) {
                pad++;
                d = 0;
            } else if (pad || (d = b64_value(c)) < 0) {
                return -1; /* a character after padding, or not base64 */
            }
            v = (v << 6) | (uint32_t)d;
        }
        /* the bits the padding leaves unused must be zero (one encoding
         * per byte string: nothing can be smuggled in them) */
        if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
            return -1;
        size_t bytes = 3 - (size_t)pad;
        if (n + bytes > cap)
            return -1;
        uint8_t three[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        memcpy(out + n, three, bytes);
        n += bytes;
    }
    return (long)n;
}

/* ---- keys ------------------------------------------------------------------------- */

samsa_err_t scram_salted_password(scram_mech_t mech, const char *password, const uint8_t *salt,
                                  size_t salt_len, int32_t iterations, uint8_t *out)
{
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations,
                          scram_md(mech), (int)scram_hash_bytes(mech), out) != 1)
        return SAMSA_ERR__INVALID_ARG;
    return SAMSA_ERR_NONE;
}

static samsa_err_t scram_hmac(scram_mech_t mech, const uint8_t *key, const void *data,
                              size_t len, uint8_t *out)
{
    unsigned int out_len = 0;
    if (!HMAC(scram_md(mech), key, (int)scram_hash_bytes(mech), data, len, out, &out_len))
        return SAMSA_ERR__NOMEM;
    return SAMSA_ERR_NONE;
}

static samsa_err_t scram_hash(scram_mech_t mech, const uint8_t *data, uint8_t *out)
{
    if (EVP_Digest(data, scram_hash_bytes(mech), out, NULL, scram_md(mech), NULL) != 1)
        return SAMSA_ERR__NOMEM;
    return SAMSA_ERR_NONE;
}

/* ClientKey, StoredKey and ServerKey from a salted password (any of the
 * outputs may be NULL). */
static samsa_err_t scram_keys(scram_mech_t mech, const uint8_t *salted, uint8_t *client_key,
                              uint8_t *stored_key, uint8_t *server_key)
{
    uint8_t ck[SCRAM_MAX_HASH_BYTES];
    samsa_err_t err = scram_hmac(mech, salted, "Client Key", 10, ck);
    if (!err && stored_key)
        err = scram_hash(mech, ck, stored_key);
    if (!err && server_key)
        err = scram_hmac(mech, salted, "Server Key", 10, server_key);
    if (!err && client_key)
        memcpy(client_key, ck, scram_hash_bytes(mech));
    OPENSSL_cleanse(ck, sizeof(ck));
    return err;
}

samsa_err_t scram_credential_make(scram_mech_t mech, const char *password, const uint8_t *salt,
                                  size_t salt_len, int32_t iterations, scram_credential_t *out,
                                  char *errbuf, size_t errlen)
{
    samsa_err_t err = scram_saslprep_check(password, "password", errbuf, errlen);
    if (err)
        return err;
    if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
        snprintf(errbuf, errlen, "iterations must be %d to %d", SCRAM_MIN_ITERATIONS,
                 SCRAM_MAX_ITERATIONS);
        return SAMSA_ERR__INVALID_ARG;
    }
    memset(out, 0, sizeof(*out));
    out->mech = mech;
    out->iterations = iterations;
    if (salt) {
        if (salt_len == 0 || salt_len > SCRAM_MAX_SALT_BYTES) {
            snprintf(errbuf, errlen, "the salt must be 1 to %d bytes", SCRAM_MAX_SALT_BYTES);
            return SAMSA_ERR__INVALID_ARG;
        }
        memcpy(out->salt, salt, salt_len);
        out->salt_len = salt_len;
    } else {
        out->salt_len = 32;
        if (RAND_bytes(out->salt, 32) != 1) {
            snprintf(errbuf, errlen, "no random bytes for a salt");
            return SAMSA_ERR__NOMEM;
        }
    }
    uint8_t salted[SCRAM_MAX_HASH_BYTES];
    err = scram_salted_password(mech, password, out->salt, out->salt_len, iterations, salted);
    if (!err)
        err = scram_keys(mech, salted, NULL, out->stored_key, out->server_key);
    OPENSSL_cleanse(salted, sizeof(salted));
    if (err)
        snprintf(errbuf, errlen, "cannot derive the SCRAM keys: %s", samsa_err_str(err));
    return err;
}

bool scram_credential_check_password(const scram_credential_t *cred, const char *password)
{
    char why[128];
    scram_credential_t again;
    if (scram_credential_make(cred->mech, password, cred->salt, cred->salt_len, cred->iterations,
                              &again, why, sizeof(why)))
        return false;
    bool same = CRYPTO_memcmp(again.stored_key, cred->stored_key, scram_hash_bytes(cred->mech)) == 0;
    OPENSSL_cleanse(&again, sizeof(again));
    return same;
}

/* ---- message parsing ---------------------------------------------------------------- */

/* One "a=value" attribute of a message being walked. */
typedef struct scram_attr {
    char name;
    const char *value;
    size_t len;
} scram_attr_t;

typedef struct scram_walk {
    const char *pos, *end;
} scram_walk_t;

/* The next attribute. Returns 1, 0 at the end, -1 when malformed. */
static int scram_next(scram_walk_t *w, scram_attr_t *a)
{
    if (w->pos >= w->end)
        return 0;
    const char *comma = memchr(w->pos, ',', (size_t)(w->end - w->pos));
    const char *stop = comma ? comma : w->end;
    if (stop - w->pos < 2 || w->pos[1] != '=' || !((w->pos[0] >= 'a' && w->pos[0] <= 'z') ||
                                                   (w->pos[0] >= 'A' && w->pos[0] <= 'Z')))
        return -1;
    a->name = w->pos[0];
    a->value = w->pos + 2;
    a->len = (size_t)(stop - a->value);
    w->pos = comma ? comma + 1 : w->end;
    if (comma && w->pos == w->end)
        return -1; /* a trailing comma */
    return 1;
}

/* Whether a message from the peer is of acceptable size and printable
 * ASCII only. */
static bool scram_msg_ok(const uint8_t *msg, size_t len)
{
    if (len == 0 || len > SCRAM_MAX_MESSAGE_BYTES)
        return false;
    for (size_t i = 0; i < len; i++)
        if (msg[i] < 0x20 || msg[i] >= 0x7f)
            return false;
    return true;
}

/* Decodes a saslname ("=2C" is ',', "=3D" is '=') into out (cap bytes
 * with the NUL). Returns 0 or -1. */
static int saslname_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '=') {
            if (i + 2 >= len)
                return -1;
            if (in[i + 1] == '2' && in[i + 2] == 'C')
                c = ',';
            else if (in[i + 1] == '3' && in[i + 2] == 'D')
                c = '=';
            else
                return -1;
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return n ? 0 : -1;
}

/* Encodes name as a saslname into out (cap bytes with the NUL). */
static void saslname_encode(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    for (; *name && n + 4 < cap; name++) {
        if (*name == ',') {
            memcpy(out + n, "=2C", 3);
            n += 3;
        } else if (*name == '=') {
            memcpy(out + n, "=3D", 3);
            n += 3;
        } else {
            out[n++] = *name;
        }
    }
    out[n] = '\0';
}

/* Whether value is a valid nonce: printable ASCII but ','. */
static bool nonce_ok(const char *value, size_t len)
{
    if (len == 0 || len >= 160)
        return false;
    for (size_t i = 0; i < len; i++)
        if (value[i] <= 0x20 || value[i] >= 0x7f || value[i] == ',')
            return false;
    return true;
}

/* A random nonce of printable characters into out (at least 33 bytes). */
static samsa_err_t nonce_random(char *out)
{
    uint8_t raw[SCRAM_NONCE_RANDOM_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return SAMSA_ERR__NOMEM;
    buf_t b;
    buf_init(&b, 0);
    scram_b64_encode(&b, raw, sizeof(raw));
    samsa_err_t err = b.failed ? SAMSA_ERR__NOMEM : SAMSA_ERR_NONE;
    if (!err) {
        memcpy(out, b.data, b.len); /* 24 bytes encode to 32 characters, no padding */
        out[b.len] = '\0';
    }
    buf_free(&b);
    return err;
}

static void buf_puts(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

/* ---- client ------------------------------------------------------------------------- */

samsa_err_t scram_client_init(scram_client_t *c, scram_mech_t mech, const char *user,
                              const char *password, const char *nonce, char *errbuf,
                              size_t errlen)
{
    memset(c, 0, sizeof(*c));
    buf_init(&c->client_first_bare, SCRAM_MAX_MESSAGE_BYTES);
    buf_init(&c->auth_message, 3 * SCRAM_MAX_MESSAGE_BYTES);
    c->mech = mech;
    samsa_err_t err = scram_saslprep_check(user, "user name", errbuf, errlen);
    if (!err)
        err = scram_saslprep_check(password, "password", errbuf, errlen);
    if (err)
        return err;
    saslname_encode(user, c->user, sizeof(c->user));
    memcpy(c->password, password, strlen(password) + 1);
    if (nonce) {
        if (!nonce_ok(nonce, strlen(nonce)) || strlen(nonce) >= sizeof(c->nonce)) {
            snprintf(errbuf, errlen, "bad client nonce");
            return SAMSA_ERR__INVALID_ARG;
        }
        memcpy(c->nonce, nonce, strlen(nonce) + 1);
    } else if ((err = nonce_random(c->nonce))) {
        snprintf(errbuf, errlen, "no random bytes for a nonce");
        return err;
    }
    return SAMSA_ERR_NONE;
}

void scram_client_free(scram_client_t *c)
{
    buf_free(&c->client_first_bare);
    buf_free(&c->auth_message);
    OPENSSL_cleanse(c->password, sizeof(c->password));
}

samsa_err_t scram_client_first(scram_client_t *c, buf_t *out)
{
    buf_reset(&c->client_first_bare);
    buf_puts(&c->client_first_bare, "n=");
    buf_puts(&c->client_first_bare, c->user);
    buf_puts(&c->client_first_bare, ",r=");
    buf_puts(&c->client_first_bare, c->nonce);
    buf_puts(out, "n,,");
    buf_put(out, c->client_first_bare.data, c->client_first_bare.len);
    if (c->client_first_bare.failed || out->failed)
        return SAMSA_ERR__NOMEM;
    c->state = 1;
    return SAMSA_ERR_NONE;
}

samsa_err_t scram_client_final(scram_client_t *c, const uint8_t *server_first, size_t len,
                               buf_t *out, char *errbuf, size_t errlen)
{
    if (c->state != 1 || !scram_msg_ok(server_first, len)) {
        snprintf(errbuf, errlen, "malformed SCRAM server-first message");
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    scram_walk_t w = {(const char *)server_first, (const char *)server_first + len};
    scram_attr_t r, s, i;
    if (scram_next(&w, &r) != 1 || r.name != 'r' || scram_next(&w, &s) != 1 || s.name != 's' ||
        scram_next(&w, &i) != 1 || i.name != 'i') {
        snprintf(errbuf, errlen, "malformed SCRAM server-first message");
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    size_t cn = strlen(c->nonce);
    if (!nonce_ok(r.value, r.len) || r.len <= cn || memcmp(r.value, c->nonce, cn) != 0) {
        snprintf(errbuf, errlen, "the server's SCRAM nonce does not extend the client's");
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    uint8_t salt[SCRAM_MAX_SALT_BYTES];
    long salt_len = scram_b64_decode(s.value, s.len, salt, sizeof(salt));
    long iterations = 0;
    for (size_t k = 0; k < i.len && iterations <= SCRAM_MAX_ITERATIONS * 1000L; k++)
        iterations = i.value[k] >= '0' && i.value[k] <= '9' ? iterations * 10 + (i.value[k] - '0')
                                                           : -1;
    if (salt_len <= 0 || i.len == 0 || iterations < SCRAM_MIN_ITERATIONS ||
        iterations > SCRAM_MAX_ITERATIONS * 1000L) {
        snprintf(errbuf, errlen, "bad salt or iteration count (at least %d) from the server",
                 SCRAM_MIN_ITERATIONS);
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    /* client-final-without-proof */
    buf_t final;
    buf_init(&final, SCRAM_MAX_MESSAGE_BYTES);
    buf_puts(&final, "c=biws,r=");
    buf_put(&final, r.value, r.len);
    buf_reset(&c->auth_message);
    buf_put(&c->auth_message, c->client_first_bare.data, c->client_first_bare.len);
    buf_puts(&c->auth_message, ",");
    buf_put(&c->auth_message, server_first, len);
    buf_puts(&c->auth_message, ",");
    buf_put(&c->auth_message, final.data, final.len);

    size_t hl = scram_hash_bytes(c->mech);
    uint8_t salted[SCRAM_MAX_HASH_BYTES], client_key[SCRAM_MAX_HASH_BYTES],
        stored_key[SCRAM_MAX_HASH_BYTES], server_key[SCRAM_MAX_HASH_BYTES],
        signature[SCRAM_MAX_HASH_BYTES];
    samsa_err_t err = c->auth_message.failed || final.failed ? SAMSA_ERR__NOMEM : 0;
    if (!err)
        err = scram_salted_password(c->mech, c->password, salt, (size_t)salt_len,
                                    (int32_t)iterations, salted);
    if (!err)
        err = scram_keys(c->mech, salted, client_key, stored_key, server_key);
    if (!err)
        err = scram_hmac(c->mech, stored_key, c->auth_message.data, c->auth_message.len,
                         signature);
    if (!err)
        err = scram_hmac(c->mech, server_key, c->auth_message.data, c->auth_message.len,
                         c->server_signature);
    if (!err) {
        for (size_t k = 0; k < hl; k++)
            signature[k] ^= client_key[k]; /* now ClientProof */
        buf_put(out, final.data, final.len);
        buf_puts(out, ",p=");
        scram_b64_encode(out, signature, hl);
        if (out->failed)
            err = SAMSA_ERR__NOMEM;
    }
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    buf_free(&final);
    if (err) {
        snprintf(errbuf, errlen, "cannot compute the SCRAM proof: %s", samsa_err_str(err));
        return err;
    }
    c->state = 2;
    return SAMSA_ERR_NONE;
}

samsa_err_t scram_client_verify(scram_client_t *c, const uint8_t *server_final, size_t len,
                                char *errbuf, size_t errlen)
{
    scram_walk_t w = {(const char *)server_final, (const char *)server_final + len};
    scram_attr_t v;
    if (c->state != 2 || !scram_msg_ok(server_final, len) || scram_next(&w, &v) != 1 ||
        (v.name != 'v' && v.name != 'e')) {
        snprintf(errbuf, errlen, "malformed SCRAM server-final message");
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (v.name == 'e') {
        snprintf(errbuf, errlen, "the server refused: %.*s", (int)(v.len > 200 ? 200 : v.len),
                 v.value);
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    uint8_t sig[SCRAM_MAX_HASH_BYTES];
    size_t hl = scram_hash_bytes(c->mech);
    if (scram_b64_decode(v.value, v.len, sig, sizeof(sig)) != (long)hl ||
        CRYPTO_memcmp(sig, c->server_signature, hl) != 0) {
        snprintf(errbuf, errlen, "the server's SCRAM signature is wrong");
        return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    }
    c->state = 3;
    return SAMSA_ERR_NONE;
}

/* ---- server ------------------------------------------------------------------------- */

void scram_server_init(scram_server_t *s, scram_mech_t mech)
{
    memset(s, 0, sizeof(*s));
    s->mech = mech;
    buf_init(&s->auth_message, 3 * SCRAM_MAX_MESSAGE_BYTES);
}

void scram_server_free(scram_server_t *s)
{
    buf_free(&s->auth_message);
    OPENSSL_cleanse(&s->cred, sizeof(s->cred));
}

/* The gs2 header the client sent, kept to check the channel binding in
 * client-final: "n,," / "y,," / "n,a=<authzid>,". */
#define SCRAM_GS2_MAX 300

samsa_err_t scram_server_read_first(scram_server_t *s, const uint8_t *msg, size_t len,
                                    char *errbuf, size_t errlen)
{
    const char *m = (const char *)msg;
    const char *why = "malformed SCRAM client-first message";
    if (s->state != 0 || !scram_msg_ok(msg, len))
        goto fail;
    if (m[0] == 'p') {
        why = "SCRAM channel binding is not supported";
        goto fail;
    }
    if ((m[0] != 'n' && m[0] != 'y') || len < 3 || m[1] != ',')
        goto fail;
    const char *authz_end = memchr(m + 2, ',', len - 2);
    if (!authz_end)
        goto fail;
    size_t authz_len = (size_t)(authz_end - (m + 2));
    const char *bare = authz_end + 1;
    size_t gs2_len = (size_t)(bare - m);
    if (gs2_len > SCRAM_GS2_MAX)
        goto fail;
    scram_walk_t w = {bare, m + len};
    scram_attr_t n, r;
    if (scram_next(&w, &n) != 1 || n.name != 'n' || scram_next(&w, &r) != 1 || r.name != 'r')
        goto fail;
    if (saslname_decode(n.value, n.len, s->user, sizeof(s->user)) != 0) {
        why = "bad SCRAM user name";
        goto fail;
    }
    if (authz_len) {
        char authzid[SCRAM_MAX_NAME_BYTES + 1];
        if (authz_len < 3 || m[2] != 'a' || m[3] != '=' ||
            saslname_decode(m + 4, authz_len - 2, authzid, sizeof(authzid)) != 0 ||
            strcmp(authzid, s->user) != 0) {
            why = "the SCRAM authorization id differs from the user name";
            goto fail;
        }
    }
    if (!nonce_ok(r.value, r.len) || r.len > 100) {
        why = "bad SCRAM client nonce";
        goto fail;
    }
    /* extensions after the nonce, "key=value" each; Kafka's tokenauth=true
     * marks a delegation token */
    for (const char *e = r.value + r.len; e < m + len;) {
        e++; /* the comma */
        const char *comma = memchr(e, ',', (size_t)(m + len - e));
        const char *stop = comma ? comma : m + len;
        const char *eq = memchr(e, '=', (size_t)(stop - e));
        if (!eq || eq == e)
            goto fail;
        if (stop - e == 14 && memcmp(e, "tokenauth=true", 14) == 0)
            s->token_auth = true;
        e = stop;
    }
    memcpy(s->nonce, r.value, r.len);
    s->nonce[r.len] = '\0';
    buf_reset(&s->auth_message);
    buf_put(&s->auth_message, bare, (size_t)(m + len - bare));
    /* remember the gs2 header after the client-first-bare, past a NUL,
     * until client-final: auth_message is rebuilt then */
    buf_put(&s->auth_message, "", 1);
    buf_put(&s->auth_message, m, gs2_len);
    if (s->auth_message.failed) {
        why = "out of memory";
        goto fail;
    }
    s->state = 1;
    return SAMSA_ERR_NONE;
fail:
    snprintf(errbuf, errlen, "%s", why);
    return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
}

samsa_err_t scram_server_first(scram_server_t *s, const scram_credential_t *cred,
                               const char *server_nonce, buf_t *out)
{
    if (s->state != 1 || cred->mech != s->mech)
        return SAMSA_ERR__INVALID_ARG;
    s->cred = *cred;
    char mine[64];
    if (server_nonce) {
        if (!nonce_ok(server_nonce, strlen(server_nonce)) || strlen(server_nonce) >= sizeof(mine))
            return SAMSA_ERR__INVALID_ARG;
        memcpy(mine, server_nonce, strlen(server_nonce) + 1);
    } else if (nonce_random(mine)) {
        return SAMSA_ERR__NOMEM;
    }
    strncat(s->nonce, mine, sizeof(s->nonce) - strlen(s->nonce) - 1);
    size_t start = out->len;
    char iter[24];
    snprintf(iter, sizeof(iter), ",i=%d", (int)cred->iterations);
    buf_puts(out, "r=");
    buf_puts(out, s->nonce);
    buf_puts(out, ",s=");
    scram_b64_encode(out, cred->salt, cred->salt_len);
    buf_puts(out, iter);
    if (out->failed)
        return SAMSA_ERR__NOMEM;
    /* auth_message holds "bare\0gs2": insert ",server-first" before the NUL */
    size_t bare_len = strlen((const char *)s->auth_message.data);
    size_t tail_len = s->auth_message.len - bare_len;
    size_t add = 1 + (out->len - start);
    if (!buf_extend(&s->auth_message, add))
        return SAMSA_ERR__NOMEM;
    uint8_t *d = s->auth_message.data;
    memmove(d + bare_len + add, d + bare_len, tail_len);
    d[bare_len] = ',';
    memcpy(d + bare_len + 1, out->data + start, out->len - start);
    s->state = 2;
    return SAMSA_ERR_NONE;
}

samsa_err_t scram_server_final(scram_server_t *s, const uint8_t *msg, size_t len, buf_t *out,
                               char *errbuf, size_t errlen)
{
    const char *why = "malformed SCRAM client-final message";
    samsa_err_t err = SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    if (s->state != 2 || !scram_msg_ok(msg, len))
        goto fail;
    const char *m = (const char *)msg;
    scram_walk_t w = {m, m + len};
    scram_attr_t c, r, a;
    if (scram_next(&w, &c) != 1 || c.name != 'c' || scram_next(&w, &r) != 1 || r.name != 'r')
        goto fail;
    const char *proof = NULL;
    size_t proof_len = 0, without_proof = 0;
    int more;
    while ((more = scram_next(&w, &a)) == 1) {
        if (a.name == 'p') {
            proof = a.value;
            proof_len = a.len;
            without_proof = (size_t)(a.value - 3 - m);
            if (w.pos != w.end)
                goto fail; /* the proof comes last */
        }
    }
    if (more < 0 || !proof)
        goto fail;
    /* the channel binding must repeat the gs2 header of client-first */
    const uint8_t *am = s->auth_message.data;
    size_t head_len = strlen((const char *)am);
    const uint8_t *gs2 = am + head_len + 1;
    size_t gs2_len = s->auth_message.len - head_len - 1;
    uint8_t cb[SCRAM_GS2_MAX + 4];
    long cb_len = scram_b64_decode(c.value, c.len, cb, sizeof(cb));
    if (cb_len != (long)gs2_len || memcmp(cb, gs2, gs2_len) != 0) {
        why = "SCRAM channel binding mismatch";
        goto fail;
    }
    /* The nonce must end with the one server-first gave, as Kafka checks
     * it: librdkafka before 2.2 puts its own nonce in front once more. The
     * proof covers the message as sent either way. */
    size_t sn = strlen(s->nonce);
    if (r.len < sn || memcmp(r.value + r.len - sn, s->nonce, sn) != 0) {
        why = "SCRAM nonce mismatch";
        goto fail;
    }
    size_t hl = scram_hash_bytes(s->mech);
    uint8_t client_proof[SCRAM_MAX_HASH_BYTES];
    if (scram_b64_decode(proof, proof_len, client_proof, sizeof(client_proof)) != (long)hl)
        goto fail;
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    s->auth_message.len = head_len;
    buf_put(&s->auth_message, ",", 1);
    buf_put(&s->auth_message, m, without_proof);
    uint8_t sig[SCRAM_MAX_HASH_BYTES], key[SCRAM_MAX_HASH_BYTES], stored[SCRAM_MAX_HASH_BYTES];
    if (s->auth_message.failed ||
        scram_hmac(s->mech, s->cred.stored_key, s->auth_message.data, s->auth_message.len, sig)) {
        why = "out of memory";
        err = SAMSA_ERR__NOMEM;
        goto fail;
    }
    for (size_t k = 0; k < hl; k++)
        key[k] = client_proof[k] ^ sig[k]; /* the ClientKey the proof implies */
    bool ok = scram_hash(s->mech, key, stored) == 0 &&
              CRYPTO_memcmp(stored, s->cred.stored_key, hl) == 0;
    OPENSSL_cleanse(key, sizeof(key));
    if (!ok) {
        why = "invalid credentials";
        goto fail;
    }
    if (scram_hmac(s->mech, s->cred.server_key, s->auth_message.data, s->auth_message.len, sig)) {
        why = "out of memory";
        err = SAMSA_ERR__NOMEM;
        goto fail;
    }
    buf_puts(out, "v=");
    scram_b64_encode(out, sig, hl);
    if (out->failed) {
        why = "out of memory";
        err = SAMSA_ERR__NOMEM;
        goto fail;
    }
    s->state = 3;
    return SAMSA_ERR_NONE;
fail:
    snprintf(errbuf, errlen, "%s", why);
    return err;
}

/* ---- PLAIN ---------------------------------------------------------------------------- */

samsa_err_t sasl_plain_parse(const uint8_t *msg, size_t len, sasl_plain_t *out, char *errbuf,
                             size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char *parts[3] = {out->authzid, out->user, out->password};
    size_t part = 0, n = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == 0) {
            if (++part > 2)
                goto fail;
            n = 0;
            continue;
        }
        if (n >= SCRAM_MAX_NAME_BYTES)
            goto fail;
        parts[part][n++] = (char)msg[i];
    }
    if (part != 2 || !out->user[0] || !out->password[0])
        goto fail;
    return SAMSA_ERR_NONE;
fail:
    sasl_plain_wipe(out);
    snprintf(errbuf, errlen, "malformed SASL/PLAIN message");
    return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
}

samsa_err_t sasl_plain_build(buf_t *out, const char *user, const char *password)
{
    if (!*user || !*password)
        return SAMSA_ERR__INVALID_ARG;
    buf_put(out, "", 1);
    buf_put(out, user, strlen(user));
    buf_put(out, "", 1);
    buf_put(out, password, strlen(password));
    return out->failed ? SAMSA_ERR__NOMEM : SAMSA_ERR_NONE;
}

void sasl_plain_wipe(sasl_plain_t *p) { OPENSSL_cleanse(p, sizeof(*p)); }
