/*
 * sasl.c: the client's side of one SASL exchange (see sasl.h): PLAIN in
 * one message, SCRAM-SHA-256/512 in two (client-first, client-final) plus
 * the check of the broker's server-final, on top of lib/net/scram.h.
 */
#include "client/sasl.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/scram.h"

enum sasl_step {
    STEP_START = 0,  /* nothing sent */
    STEP_FIRST = 1,  /* PLAIN's message or SCRAM's client-first sent */
    STEP_FINAL = 2,  /* SCRAM's client-final sent */
    STEP_DONE = 3,
};

struct client_sasl {
    int mechanism; /* enum client_sasl_mechanism */
    enum sasl_step step;
    char username[256];
    char password[256];
    bool scram_started;
    scram_client_t scram;
};

client_sasl_t *client_sasl_new(const client_config_t *cfg)
{
    client_sasl_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mechanism = cfg->sasl_mechanism;
    snprintf(s->username, sizeof(s->username), "%s", cfg->sasl_username);
    snprintf(s->password, sizeof(s->password), "%s", cfg->sasl_password);
    return s;
}

void client_sasl_free(client_sasl_t *s)
{
    if (!s)
        return;
    if (s->scram_started)
        scram_client_free(&s->scram);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

/* SCRAM's steps: client-first, client-final, then the server's proof. */
static samsa_err_t scram_step(client_sasl_t *s, const uint8_t *in, size_t in_len, buf_t *out,
                              bool *done, char *why, size_t whylen)
{
    samsa_err_t err;
    switch (s->step) {
    case STEP_START: {
        scram_mech_t mech = s->mechanism == CLIENT_SASL_SCRAM_SHA_512 ? SCRAM_SHA_512 : SCRAM_SHA_256;
        s->scram_started = true;
        err = scram_client_init(&s->scram, mech, s->username, s->password, NULL, why, whylen);
        if (err)
            return err == SAMSA_ERR__NOMEM ? err : SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
        err = scram_client_first(&s->scram, out);
        s->step = STEP_FIRST;
        return err;
    }
    case STEP_FIRST:
        err = scram_client_final(&s->scram, in, in_len, out, why, whylen);
        s->step = STEP_FINAL;
        return err;
    case STEP_FINAL:
        err = scram_client_verify(&s->scram, in, in_len, why, whylen);
        if (err)
            return err;
        s->step = STEP_DONE;
        *done = true;
        return SAMSA_ERR_NONE;
    case STEP_DONE:
        break;
    }
    snprintf(why, whylen, "the broker sent a message after the exchange ended");
    return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
}

samsa_err_t client_sasl_step(client_sasl_t *s, const uint8_t *in, size_t in_len, buf_t *out,
                             bool *done, char *why, size_t whylen)
{
    *done = false;
    if (s->mechanism != CLIENT_SASL_PLAIN)
        return scram_step(s, in, in_len, out, done, why, whylen);
    if (s->step == STEP_START) {
        samsa_err_t err = sasl_plain_build(out, s->username, s->password);
        if (err == SAMSA_ERR__INVALID_ARG) {
            snprintf(why, whylen, "sasl.username and sasl.password must not be empty");
            return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
        }
        s->step = STEP_FIRST;
        return err;
    }
    if (s->step == STEP_FIRST) {
        /* The broker accepted the password: its answer carries nothing. */
        s->step = STEP_DONE;
        *done = true;
        return SAMSA_ERR_NONE;
    }
    snprintf(why, whylen, "the broker sent a message after the exchange ended");
    return SAMSA_ERR_SASL_AUTHENTICATION_FAILED;
}
