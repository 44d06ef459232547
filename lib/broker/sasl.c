/*
 * sasl.c: SASL authentication on the broker's SASL_PLAINTEXT and SASL_SSL
 * listeners: SaslHandshake (v0-1), SaslAuthenticate (v0-2) and the bare
 * tokens that follow SaslHandshake v0; the users' credentials file, reread
 * when it changes; the delay that slows down repeated failures; and the
 * public functions that manage the file (samsa_broker_user_*).
 *
 * Mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (sasl.enabled.mechanisms).
 * The file holds salted SCRAM credentials only (lib/net/credentials.h); a
 * PLAIN password is checked by deriving the user's SCRAM-SHA-512 (else
 * SCRAM-SHA-256) keys again with the stored salt and iterations.
 *
 * A failed exchange answers SASL_AUTHENTICATION_FAILED with Kafka's
 * message (the same whether the user is unknown or the password wrong),
 * logs the client address and why (never a password), and closes the
 * connection once the answer is out. The answer waits
 * connection.failed.authentication.delay.ms, doubled for each failure from
 * the same address in the last minute (at most 5 s): a client guessing
 * passwords gets slower and slower answers. The wait parks the request, so
 * the loop serves everyone else meanwhile.
 *
 * Everything but the samsa_broker_user_* functions runs on the broker's
 * loop thread.
 */
#include "broker/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/conf.h"
#include "base/slog.h"
#include "net/credentials.h"
#include "net/scram.h"

enum {
    SASL_START = 0,   /* no SaslHandshake yet */
    SASL_MECHANISM,   /* a mechanism was chosen: its first token comes next */
    SASL_SCRAM_FINAL, /* server-first sent: client-final comes next */
    SASL_DONE,        /* authenticated */
};

#define SASL_FAILURE_SLOTS 256
#define SASL_FAILURE_WINDOW_MS 60000 /* failures older than this are forgotten */
#define SASL_MAX_DELAY_MS 5000

typedef struct sasl_failures {
    char address[64]; /* the client's host, without its port */
    int count;
    int64_t last_ms;
} sasl_failures_t;

struct broker_sasl {
    struct broker *broker;
    creds_cache_t creds;
    char last_problem[300]; /* the credentials file's last error, logged once */
    sasl_failures_t failures[SASL_FAILURE_SLOTS];
};

static const struct {
    const char *name;
    unsigned bit;
} mechanisms[] = {
    {"PLAIN", BROKER_SASL_PLAIN},
    {"SCRAM-SHA-256", BROKER_SASL_SCRAM_SHA_256},
    {"SCRAM-SHA-512", BROKER_SASL_SCRAM_SHA_512},
};
#define MECHANISM_COUNT (sizeof(mechanisms) / sizeof(mechanisms[0]))

static const char *mechanism_name(unsigned bit)
{
    for (size_t i = 0; i < MECHANISM_COUNT; i++)
        if (mechanisms[i].bit == bit)
            return mechanisms[i].name;
    return "?";
}

broker_sasl_t *broker_sasl_new(struct broker *b, char *errbuf, size_t errlen)
{
    broker_sasl_t *s = calloc(1, sizeof(*s));
    if (!s || creds_cache_init(&s->creds, b->cfg.sasl_credentials_file) != 0) {
        free(s);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    s->broker = b;
    char why[300];
    samsa_err_t err = creds_cache_refresh(&s->creds, NULL, why, sizeof(why));
    if (err == SAMSA_ERR__NOENT) {
        slog_warn(BROKER_MODULE, "sasl.credentials.file %s does not exist yet: no user can "
                  "authenticate until `samsa users add` makes it",
                  b->cfg.sasl_credentials_file);
    } else if (err) {
        snprintf(errbuf, errlen, "sasl.credentials.file: %s", why);
        broker_sasl_free(s);
        return NULL;
    }
    return s;
}

void broker_sasl_free(broker_sasl_t *s)
{
    if (!s)
        return;
    creds_cache_free(&s->creds);
    free(s);
}

void broker_session_release(broker_session_t *session)
{
    scram_server_t *scram = session->sasl_exchange;
    if (scram) {
        scram_server_free(scram);
        free(scram);
        session->sasl_exchange = NULL;
    }
}

/* ---- failures ---------------------------------------------------------------- */

/* The host part of "host:port". */
static void client_host(const char *client_addr, char *out, size_t cap)
{
    const char *colon = strrchr(client_addr, ':');
    size_t n = colon ? (size_t)(colon - client_addr) : strlen(client_addr);
    snprintf(out, cap, "%.*s", (int)n, client_addr);
}

/* Counts a failure from client_addr and returns how long to wait before
 * answering it. */
static int64_t sasl_failure_delay(broker_sasl_t *s, const char *client_addr)
{
    int64_t base = s->broker->cfg.failed_auth_delay_ms;
    int64_t now = loop_now_ms(s->broker->loop);
    char host[64];
    client_host(client_addr, host, sizeof(host));
    /* the address's slot, else a free one, else the least recently used */
    sasl_failures_t *slot = NULL, *victim = NULL;
    for (size_t i = 0; i < SASL_FAILURE_SLOTS && !slot; i++) {
        sasl_failures_t *f = &s->failures[i];
        if (f->count && strcmp(f->address, host) == 0)
            slot = f;
        else if (!victim || (victim->count && (!f->count || f->last_ms < victim->last_ms)))
            victim = f;
    }
    if (!slot) {
        slot = victim;
        memset(slot, 0, sizeof(*slot));
        snprintf(slot->address, sizeof(slot->address), "%s", host);
    }
    if (now - slot->last_ms > SASL_FAILURE_WINDOW_MS)
        slot->count = 0;
    slot->count++;
    slot->last_ms = now;
    int shift = slot->count - 1 < 16 ? slot->count - 1 : 16;
    int64_t delay = base << shift;
    return delay > SASL_MAX_DELAY_MS ? (base > SASL_MAX_DELAY_MS ? base : SASL_MAX_DELAY_MS)
                                     : delay;
}

/* Copies text into out with anything but printable ASCII replaced, for
 * log lines naming what a client sent. */
static void printable(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (; *text && n + 1 < cap; text++)
        out[n++] = (*text >= 0x20 && *text < 0x7f) ? *text : '?';
    out[n] = '\0';
}

/* ---- the exchange ---------------------------------------------------------------- */

/* The credential of user for mech from the (fresh) credentials file, or
 * NULL. */
static const scram_credential_t *sasl_credential(broker_sasl_t *s, const char *user,
                                                 scram_mech_t mech)
{
    char why[300];
    samsa_err_t err = creds_cache_refresh(&s->creds, NULL, why, sizeof(why));
    if (err && strcmp(why, s->last_problem) != 0) {
        slog_error(BROKER_MODULE, "sasl.credentials.file: %s%s", why,
                   err == SAMSA_ERR__NOENT ? " (no user can authenticate)"
                                           : " (the last good version stays in use)");
        snprintf(s->last_problem, sizeof(s->last_problem), "%s", why);
    } else if (!err) {
        s->last_problem[0] = '\0';
    }
    return creds_find(&s->creds.creds, user, mech);
}

/* Authenticated: the session serves everything from now on. */
static void sasl_success(broker_session_t *session, const char *user, const char *client_addr)
{
    session->sasl_state = SASL_DONE;
    session->authenticated = true;
    snprintf(session->principal, sizeof(session->principal), "User:%s", user);
    slog_info(BROKER_MODULE, "%s: authenticated as %s with SASL/%s on listener %s", client_addr,
              session->principal, mechanism_name((unsigned)session->sasl_mechanism),
              session->listener);
}

static samsa_err_t sasl_plain_step(broker_sasl_t *s, broker_session_t *session,
                                   const uint8_t *token, size_t len, const char *client_addr,
                                   char *why, size_t whylen, char *user, size_t user_cap)
{
    sasl_plain_t p;
    samsa_err_t err = sasl_plain_parse(token, len, &p, why, whylen);
    if (err)
        return err;
    printable(p.user, user, user_cap);
    err = SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    const scram_credential_t *cred = sasl_credential(s, p.user, SCRAM_SHA_512);
    if (!cred)
        cred = sasl_credential(s, p.user, SCRAM_SHA_256);
    if (p.authzid[0] && strcmp(p.authzid, p.user) != 0)
        snprintf(why, whylen, "the authorization id differs from the user name");
    else if (!cred)
        snprintf(why, whylen, "unknown user");
    else if (!scram_credential_check_password(cred, p.password))
        snprintf(why, whylen, "wrong password");
    else
        err = SAMSA_ERR_NONE;
    if (!err)
        sasl_success(session, p.user, client_addr);
    sasl_plain_wipe(&p);
    return err;
}

static samsa_err_t sasl_scram_step(broker_sasl_t *s, broker_session_t *session,
                                   const uint8_t *token, size_t len, buf_t *out,
                                   const char *client_addr, char *why, size_t whylen, char *user,
                                   size_t user_cap)
{
    scram_mech_t mech =
        session->sasl_mechanism == BROKER_SASL_SCRAM_SHA_512 ? SCRAM_SHA_512 : SCRAM_SHA_256;
    scram_server_t *scram = session->sasl_exchange;
    if (session->sasl_state == SASL_MECHANISM) {
        if (!scram && !(scram = session->sasl_exchange = calloc(1, sizeof(*scram)))) {
            snprintf(why, whylen, "out of memory");
            return SAMSA_ERR__NOMEM;
        }
        scram_server_init(scram, mech);
        samsa_err_t err = scram_server_read_first(scram, token, len, why, whylen);
        if (err)
            return err;
        printable(scram->user, user, user_cap);
        if (scram->token_auth) {
            snprintf(why, whylen, "delegation tokens are not supported");
            return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
        }
        const scram_credential_t *cred = sasl_credential(s, scram->user, mech);
        if (!cred) {
            snprintf(why, whylen, "unknown user");
            return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
        }
        if ((err = scram_server_first(scram, cred, NULL, out))) {
            snprintf(why, whylen, "%s", samsa_err_str(err));
            return err;
        }
        session->sasl_state = SASL_SCRAM_FINAL;
        return SAMSA_ERR_NONE;
    }
    printable(scram->user, user, user_cap);
    samsa_err_t err = scram_server_final(scram, token, len, out, why, whylen);
    if (err)
        return err;
    sasl_success(session, scram->user, client_addr);
    broker_session_release(session);
    return SAMSA_ERR_NONE;
}

/* Runs one token of the chosen mechanism; the reply token goes to out.
 * On failure: logged (address, mechanism, user, why), *delay_ms is how
 * long to hold the answer, and the session is marked to close. */
static samsa_err_t sasl_step(struct broker *b, broker_session_t *session, const uint8_t *token,
                             size_t len, buf_t *out, const char *client_addr, int64_t *delay_ms)
{
    char why[200] = "out of order";
    char user[64] = "";
    samsa_err_t err = SAMSA_ERR_ILLEGAL_SASL_STATE;
    *delay_ms = 0;
    if (session->sasl_state == SASL_MECHANISM && session->sasl_mechanism == BROKER_SASL_PLAIN)
        err = sasl_plain_step(b->sasl, session, token, len, client_addr, why, sizeof(why), user,
                              sizeof(user));
    else if (session->sasl_state == SASL_MECHANISM || session->sasl_state == SASL_SCRAM_FINAL)
        err = sasl_scram_step(b->sasl, session, token, len, out, client_addr, why, sizeof(why),
                              user, sizeof(user));
    if (!err)
        return SAMSA_ERR_NONE;
    *delay_ms = sasl_failure_delay(b->sasl, client_addr);
    slog_warn(BROKER_MODULE,
              "%s: SASL/%s authentication failed on listener %s%s%s: %s; closing in %lld ms",
              client_addr, mechanism_name((unsigned)session->sasl_mechanism), session->listener,
              user[0] ? " for user " : "", user, why, (long long)*delay_ms);
    session->close_after_response = true;
    session->sasl_state = SASL_START;
    broker_session_release(session);
    return err;
}

samsa_err_t sasl_raw_token(struct broker *b, broker_session_t *session, const char *client_addr,
                           const uint8_t *token, size_t len, buf_t *out, int64_t *delay_ms)
{
    return sasl_step(b, session, token, len, out, client_addr, delay_ms);
}

/* ---- handlers ------------------------------------------------------------------------ */

void handle_sasl_handshake(struct broker *b, broker_request_t *req)
{
    const sasl_handshake_request_t *r = req->body;
    sasl_handshake_response_t *resp = broker_response_new(req);
    broker_session_t *session = req->session;
    if (!resp) {
        broker_request_respond(req, NULL);
        return;
    }
    bool sasl_listener = session && broker_security_sasl((broker_security_t)session->security);
    unsigned enabled = sasl_listener ? b->cfg.sasl_mechanisms : 0;
    proto_str_t *names = arena_alloc(&req->arena, MECHANISM_COUNT * sizeof(*names));
    unsigned chosen = 0;
    int32_t n = 0;
    for (size_t i = 0; names && i < MECHANISM_COUNT; i++) {
        if (!(enabled & mechanisms[i].bit))
            continue;
        names[n++] = proto_str_of(mechanisms[i].name);
        if (r->mechanism.len == (int32_t)strlen(mechanisms[i].name) &&
            memcmp(r->mechanism.ptr, mechanisms[i].name, (size_t)r->mechanism.len) == 0)
            chosen = mechanisms[i].bit;
    }
    resp->mechanisms = names;
    resp->mechanisms_count = names ? n : 0;
    char asked[64];
    snprintf(asked, sizeof(asked), "%.*s", r->mechanism.len > 40 ? 40 : (int)r->mechanism.len,
             r->mechanism.ptr ? r->mechanism.ptr : "");
    printable(asked, asked, sizeof(asked));
    if (!sasl_listener) {
        /* Kafka's answer on a listener without SASL */
        resp->error_code = SAMSA_ERR_ILLEGAL_SASL_STATE;
    } else if (session->sasl_state != SASL_START) {
        resp->error_code = SAMSA_ERR_ILLEGAL_SASL_STATE;
        session->close_after_response = true;
        slog_warn(BROKER_MODULE, "%s: SaslHandshake out of order; closing", req->client_addr);
    } else if (!chosen) {
        resp->error_code = SAMSA_ERR_UNSUPPORTED_SASL_MECHANISM;
        session->close_after_response = true;
        slog_warn(BROKER_MODULE, "%s: SASL mechanism \"%s\" is not enabled on listener %s; "
                  "closing", req->client_addr, asked, session->listener);
    } else {
        session->sasl_state = SASL_MECHANISM;
        session->sasl_mechanism = (int)chosen;
        session->sasl_raw = req->api_version == 0;
    }
    broker_request_respond(req, resp);
}

/* A failed SaslAuthenticate's answer, held back by the failure delay. */
typedef struct sasl_delayed {
    broker_request_t *req;
    void *resp;
    loop_timer_t *timer;
} sasl_delayed_t;

static void sasl_delayed_fire(loop_t *loop, void *opaque)
{
    sasl_delayed_t *d = opaque;
    d->timer = NULL;
    broker_request_respond(d->req, d->resp);
}

static void sasl_delayed_cancel(broker_request_t *req, void *opaque)
{
    sasl_delayed_t *d = opaque;
    loop_timer_cancel(req->broker->loop, d->timer);
    d->timer = NULL;
}

void handle_sasl_authenticate(struct broker *b, broker_request_t *req)
{
    const sasl_authenticate_request_t *r = req->body;
    sasl_authenticate_response_t *resp = broker_response_new(req);
    broker_session_t *session = req->session;
    if (!resp) {
        broker_request_respond(req, NULL);
        return;
    }
    if (!session || !broker_security_sasl((broker_security_t)session->security) ||
        session->sasl_raw ||
        (session->sasl_state != SASL_MECHANISM && session->sasl_state != SASL_SCRAM_FINAL)) {
        resp->error_code = SAMSA_ERR_ILLEGAL_SASL_STATE;
        resp->error_message = proto_str_of("SaslAuthenticate without a SaslHandshake before it");
        if (session)
            session->close_after_response = true;
        slog_warn(BROKER_MODULE, "%s: SaslAuthenticate out of order; closing", req->client_addr);
        broker_request_respond(req, resp);
        return;
    }
    buf_t out;
    buf_init(&out, SCRAM_MAX_MESSAGE_BYTES);
    int64_t delay_ms = 0;
    const uint8_t *token = r->auth_bytes.ptr ? r->auth_bytes.ptr : (const uint8_t *)"";
    size_t len = r->auth_bytes.len > 0 ? (size_t)r->auth_bytes.len : 0;
    samsa_err_t err = sasl_step(b, session, token, len, &out, req->client_addr, &delay_ms);
    if (!err) {
        uint8_t *copy = out.len ? arena_alloc(&req->arena, out.len) : NULL;
        if (out.len && !copy) {
            resp->error_code = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
            session->close_after_response = true;
        } else {
            if (copy)
                memcpy(copy, out.data, out.len);
            resp->auth_bytes.ptr = copy ? copy : (const uint8_t *)"";
            resp->auth_bytes.len = (int32_t)out.len;
        }
        buf_free(&out);
        broker_request_respond(req, resp);
        return;
    }
    buf_free(&out);
    resp->error_code = err == SAMSA_ERR_ILLEGAL_SASL_STATE ? SAMSA_ERR_ILLEGAL_SASL_STATE
                                                           : SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
    char message[160];
    snprintf(message, sizeof(message),
             "Authentication failed during authentication due to invalid credentials with SASL "
             "mechanism %s",
             mechanism_name((unsigned)session->sasl_mechanism));
    resp->error_message = broker_arena_str(req, message);
    resp->auth_bytes.ptr = (const uint8_t *)"";
    sasl_delayed_t *d = arena_alloc(&req->arena, sizeof(*d));
    if (delay_ms <= 0 || !d) {
        broker_request_respond(req, resp);
        return;
    }
    d->req = req;
    d->resp = resp;
    d->timer = loop_timer_add(b->loop, delay_ms, sasl_delayed_fire, d);
    if (!d->timer) {
        broker_request_respond(req, resp);
        return;
    }
    broker_request_park(req, sasl_delayed_cancel, d);
}

/* ---- managing users (public) ------------------------------------------------------------ */

/* The credentials file named by conf, into path. */
static samsa_err_t users_path(const samsa_conf_t *conf, char *path, size_t cap, char *errstr,
                              size_t errlen)
{
    const char *p = conf ? samsa_conf_get(conf, "sasl.credentials.file") : NULL;
    if (!p || !*p)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen,
                         "sasl.credentials.file is not set in the broker's configuration");
    if (strlen(p) >= cap)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errstr, errlen,
                         "sasl.credentials.file: too long");
    snprintf(path, cap, "%s", p);
    return SAMSA_ERR_NONE;
}

/* Takes the lock file beside path (blocking). Returns its fd, or -1. */
static int users_lock(const char *path, char *errstr, size_t errlen)
{
    char lock[BROKER_PATH_MAX + 8];
    snprintf(lock, sizeof(lock), "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        conf_fail(SAMSA_ERR__STORAGE, errstr, errlen, "%s: %s", lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Loads path into c, a missing file being an empty set. */
static samsa_err_t users_load(creds_t *c, const char *path, char *errstr, size_t errlen)
{
    char why[512];
    samsa_err_t err = creds_load(c, path, why, sizeof(why));
    if (err == SAMSA_ERR__NOENT)
        return SAMSA_ERR_NONE;
    if (err)
        return conf_fail(err, errstr, errlen, "%s", why);
    return SAMSA_ERR_NONE;
}

SAMSA_API samsa_err_t samsa_broker_user_set(const samsa_conf_t *conf, const char *mechanism,
                                            const char *user, const char *password,
                                            int iterations, char *errstr, size_t errlen)
{
    char path[BROKER_PATH_MAX], why[512];
    scram_mech_t mech;
    scram_credential_t cred;
    samsa_err_t err = users_path(conf, path, sizeof(path), errstr, errlen);
    if (err)
        return err;
    if (!mechanism || scram_mech_parse(mechanism, &mech) != 0)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen,
                         "mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
    if (!user || !password)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "no user or password");
    if ((err = creds_user_check(user, why, sizeof(why))) ||
        (err = scram_credential_make(mech, password, NULL, 0,
                                     iterations ? iterations : SCRAM_MIN_ITERATIONS, &cred, why,
                                     sizeof(why))))
        return conf_fail(err, errstr, errlen, "%s", why);
    int lock = users_lock(path, errstr, errlen);
    if (lock < 0)
        return SAMSA_ERR__STORAGE;
    creds_t c;
    creds_init(&c);
    if (!(err = users_load(&c, path, errstr, errlen))) {
        if ((err = creds_set(&c, user, &cred)))
            conf_fail(err, errstr, errlen, "out of memory");
        else if ((err = creds_save(&c, path, why, sizeof(why))))
            conf_fail(err, errstr, errlen, "%s", why);
    }
    creds_free(&c);
    close(lock);
    memset(&cred, 0, sizeof(cred));
    return err;
}

SAMSA_API samsa_err_t samsa_broker_user_delete(const samsa_conf_t *conf, const char *mechanism,
                                               const char *user, char *errstr, size_t errlen)
{
    char path[BROKER_PATH_MAX], why[512];
    scram_mech_t mech;
    samsa_err_t err = users_path(conf, path, sizeof(path), errstr, errlen);
    if (err)
        return err;
    if (mechanism && scram_mech_parse(mechanism, &mech) != 0)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen,
                         "mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
    if (!user)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "no user");
    int lock = users_lock(path, errstr, errlen);
    if (lock < 0)
        return SAMSA_ERR__STORAGE;
    creds_t c;
    creds_init(&c);
    if (!(err = users_load(&c, path, errstr, errlen))) {
        if (creds_delete(&c, user, mechanism ? &mech : NULL) == 0)
            err = conf_fail(SAMSA_ERR__NOENT, errstr, errlen, "user %s has no %s credential",
                            user, mechanism ? mechanism : "SCRAM");
        else if ((err = creds_save(&c, path, why, sizeof(why))))
            conf_fail(err, errstr, errlen, "%s", why);
    }
    creds_free(&c);
    close(lock);
    return err;
}

SAMSA_API samsa_err_t samsa_broker_user_list(const samsa_conf_t *conf,
                                             void (*fn)(void *opaque, const char *user,
                                                        const char *mechanism, int iterations),
                                             void *opaque, char *errstr, size_t errlen)
{
    char path[BROKER_PATH_MAX];
    samsa_err_t err = users_path(conf, path, sizeof(path), errstr, errlen);
    if (err)
        return err;
    if (!fn)
        return conf_fail(SAMSA_ERR__INVALID_ARG, errstr, errlen, "no callback");
    creds_t c;
    creds_init(&c);
    if (!(err = users_load(&c, path, errstr, errlen)))
        for (size_t i = 0; i < c.count; i++)
            fn(opaque, c.items[i].user, scram_mech_name(c.items[i].cred.mech),
               (int)c.items[i].cred.iterations);
    creds_free(&c);
    return err;
}
