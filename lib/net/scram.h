/*
 * scram.h: SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as
 * Kafka speaks them, for both ends: the stored credential (salt,
 * iterations, StoredKey, ServerKey), the client's exchange and the
 * server's exchange, plus the base64 both use.
 *
 * Messages (the SaslAuthenticate auth_bytes):
 *   client-first  "n,,n=<user>,r=<client nonce>[,<extensions>]"
 *   server-first  "r=<client nonce><server nonce>,s=<salt b64>,i=<iterations>"
 *   client-final  "c=biws,r=<nonce>,p=<ClientProof b64>"
 *   server-final  "v=<ServerSignature b64>" or "e=<error>"
 * Channel binding is not supported (gs2 header "n" or "y", as Kafka).
 *
 * SASLprep is limited to ASCII: user names and passwords with bytes of
 * 0x80 and above are refused with SAMSA_ERR__NOT_SUPPORTED (their
 * normalisation would need Unicode tables), ASCII control characters
 * (which SASLprep prohibits) with SAMSA_ERR__INVALID_ARG. Printable ASCII
 * is left as it is, which is what SASLprep does to it.
 *
 * Nothing here keeps global state; every object belongs to its caller and
 * one thread at a time.
 */
#ifndef SAMSA_NET_SCRAM_H
#define SAMSA_NET_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "samsa.h"

typedef enum scram_mech { SCRAM_SHA_256 = 0, SCRAM_SHA_512 = 1 } scram_mech_t;

#define SCRAM_MAX_HASH_BYTES 64     /* SHA-512 */
#define SCRAM_MAX_SALT_BYTES 128
#define SCRAM_MIN_ITERATIONS 4096   /* RFC 7677's minimum, also Kafka's */
#define SCRAM_MAX_ITERATIONS 16384  /* Kafka's maximum */
#define SCRAM_MAX_NAME_BYTES 255    /* user names and passwords */
#define SCRAM_MAX_MESSAGE_BYTES 1024

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" (static). */
const char *scram_mech_name(scram_mech_t mech);
/* Parses a mechanism name (exact, upper case). Returns 0, or -1. */
int scram_mech_parse(const char *name, scram_mech_t *out);
/* The digest size in bytes: 32 or 64. */
size_t scram_hash_bytes(scram_mech_t mech);

/* Checks that text (NUL-terminated) is something SASLprep leaves as it is
 * and this implementation accepts: 1..SCRAM_MAX_NAME_BYTES bytes of
 * printable ASCII or space. Returns 0, SAMSA_ERR__NOT_SUPPORTED for
 * non-ASCII, SAMSA_ERR__INVALID_ARG for control characters, empty or too
 * long, with the reason in errbuf (never quoting text, which may be a
 * password). */
samsa_err_t scram_saslprep_check(const char *text, const char *what, char *errbuf,
                                 size_t errlen);

/* ---- credentials ------------------------------------------------------------ */

/* What a server stores for one user and mechanism: enough to verify a
 * proof (or a PLAIN password), not enough to log in as the user. */
typedef struct scram_credential {
    scram_mech_t mech;
    uint8_t salt[SCRAM_MAX_SALT_BYTES];
    size_t salt_len;
    int32_t iterations;
    uint8_t stored_key[SCRAM_MAX_HASH_BYTES];  /* H(ClientKey) */
    uint8_t server_key[SCRAM_MAX_HASH_BYTES];  /* HMAC(SaltedPassword, "Server Key") */
} scram_credential_t;

/* SaltedPassword = Hi(password, salt, iterations) (PBKDF2 with the
 * mechanism's HMAC) into out (scram_hash_bytes). Returns 0, or
 * SAMSA_ERR__NOMEM / SAMSA_ERR__INVALID_ARG when OpenSSL refuses. */
samsa_err_t scram_salted_password(scram_mech_t mech, const char *password, const uint8_t *salt,
                                  size_t salt_len, int32_t iterations, uint8_t *out);

/* Derives the stored credential of password. salt NULL: 32 random bytes.
 * iterations within SCRAM_MIN_ITERATIONS..SCRAM_MAX_ITERATIONS. Returns 0,
 * SAMSA_ERR__INVALID_ARG (bad password per scram_saslprep_check, bad
 * iterations or salt length) or SAMSA_ERR__NOT_SUPPORTED (non-ASCII), with
 * errbuf filled. */
samsa_err_t scram_credential_make(scram_mech_t mech, const char *password, const uint8_t *salt,
                                  size_t salt_len, int32_t iterations, scram_credential_t *out,
                                  char *errbuf, size_t errlen);

/* Whether password is the one cred was made from (recomputes its keys
 * with its salt and iterations; compares in constant time). Used by PLAIN. */
bool scram_credential_check_password(const scram_credential_t *cred, const char *password);

/* ---- the client's side ------------------------------------------------------ */

typedef struct scram_client {
    scram_mech_t mech;
    int state;                              /* 0 new, 1 first sent, 2 final sent, 3 verified */
    char user[3 * SCRAM_MAX_NAME_BYTES + 1]; /* saslname-escaped */
    char password[SCRAM_MAX_NAME_BYTES + 1];
    char nonce[64];                         /* the client's nonce */
    buf_t client_first_bare;
    buf_t auth_message;
    uint8_t server_signature[SCRAM_MAX_HASH_BYTES];
} scram_client_t;

/* Starts an exchange for user/password. nonce NULL: a random one (tests
 * pass RFC 7677's). Returns 0, or an error of scram_saslprep_check with
 * errbuf filled. Release with scram_client_free() either way. */
samsa_err_t scram_client_init(scram_client_t *c, scram_mech_t mech, const char *user,
                              const char *password, const char *nonce, char *errbuf,
                              size_t errlen);
void scram_client_free(scram_client_t *c);
/* Appends client-first to out. Returns 0 or SAMSA_ERR__NOMEM. */
samsa_err_t scram_client_first(scram_client_t *c, buf_t *out);
/* Reads server-first and appends client-final (with the proof) to out.
 * Returns 0, or SAMSA_ERR_SASL_AUTHENTICATION_FAILED with errbuf saying
 * why (malformed, the nonce does not extend ours, iterations below
 * SCRAM_MIN_ITERATIONS), SAMSA_ERR__NOMEM. */
samsa_err_t scram_client_final(scram_client_t *c, const uint8_t *server_first, size_t len,
                               buf_t *out, char *errbuf, size_t errlen);
/* Checks server-final: 0 when the server proved it knows the credential,
 * else SAMSA_ERR_SASL_AUTHENTICATION_FAILED with errbuf (the server's "e="
 * error, or a bad signature). */
samsa_err_t scram_client_verify(scram_client_t *c, const uint8_t *server_final, size_t len,
                                char *errbuf, size_t errlen);

/* ---- the server's side ------------------------------------------------------ */

typedef struct scram_server {
    scram_mech_t mech;
    int state;                               /* 0 new, 1 first answered, 2 done */
    char user[SCRAM_MAX_NAME_BYTES + 1];     /* unescaped */
    char nonce[160];                         /* client nonce + server nonce */
    bool token_auth;                         /* the client asked tokenauth=true */
    scram_credential_t cred;
    buf_t auth_message;
} scram_server_t;

/* Starts an exchange. Release with scram_server_free(). */
void scram_server_init(scram_server_t *s, scram_mech_t mech);
void scram_server_free(scram_server_t *s);
/* Reads client-first: afterwards s->user names the user (look its
 * credential up) and s->token_auth says whether a delegation token is
 * meant. Returns 0 or SAMSA_ERR_SASL_AUTHENTICATION_FAILED with errbuf
 * (malformed, unsupported channel binding, bad user name). */
samsa_err_t scram_server_read_first(scram_server_t *s, const uint8_t *msg, size_t len,
                                    char *errbuf, size_t errlen);
/* Appends server-first for cred (the user's credential for s->mech,
 * copied) to out. server_nonce NULL: a random one. Returns 0,
 * SAMSA_ERR__INVALID_ARG (cred of another mechanism), SAMSA_ERR__NOMEM. */
samsa_err_t scram_server_first(scram_server_t *s, const scram_credential_t *cred,
                               const char *server_nonce, buf_t *out);
/* Reads client-final and, when its proof is right, appends server-final
 * to out and returns 0. Otherwise SAMSA_ERR_SASL_AUTHENTICATION_FAILED
 * with errbuf (malformed, nonce or channel binding mismatch, wrong proof),
 * or SAMSA_ERR__NOMEM. */
samsa_err_t scram_server_final(scram_server_t *s, const uint8_t *msg, size_t len, buf_t *out,
                               char *errbuf, size_t errlen);

/* ---- base64 (RFC 4648, padded) ------------------------------------------------- */

/* Appends the base64 of data to out (not NUL-terminated). */
void scram_b64_encode(buf_t *out, const uint8_t *data, size_t len);
/* Decodes text (len chars, padded, no whitespace) into out (cap bytes).
 * Returns the byte count, or -1 when text is not base64 or does not fit. */
long scram_b64_decode(const char *text, size_t len, uint8_t *out, size_t cap);

/* ---- SASL PLAIN (RFC 4616) ------------------------------------------------------ */

typedef struct sasl_plain {
    char authzid[SCRAM_MAX_NAME_BYTES + 1]; /* "" when absent */
    char user[SCRAM_MAX_NAME_BYTES + 1];
    char password[SCRAM_MAX_NAME_BYTES + 1];
} sasl_plain_t;

/* Parses "authzid NUL user NUL password". Returns 0, or
 * SAMSA_ERR_SASL_AUTHENTICATION_FAILED with errbuf (malformed, a part too
 * long or with a NUL, empty user or password). Wipe out afterwards with
 * sasl_plain_wipe(). */
samsa_err_t sasl_plain_parse(const uint8_t *msg, size_t len, sasl_plain_t *out, char *errbuf,
                             size_t errlen);
/* Appends the PLAIN message for user/password (no authzid) to out. Returns
 * 0, SAMSA_ERR__INVALID_ARG (empty), SAMSA_ERR__NOMEM. */
samsa_err_t sasl_plain_build(buf_t *out, const char *user, const char *password);
/* Zeroes p (the password) in a way the compiler keeps. */
void sasl_plain_wipe(sasl_plain_t *p);

#endif /* SAMSA_NET_SCRAM_H */
