/*
 * fuzz_sasl.c: libFuzzer target for what a client sends a broker before it
 * is authenticated: SASL PLAIN messages, SCRAM client-first and
 * client-final messages (lib/net/scram.c), and the base64 inside them. The
 * first input byte picks the parser; for SCRAM the rest is split at its
 * first 0xff byte into client-first and client-final, and the server runs
 * the exchange with a fixed credential. Nothing may crash, read out of
 * bounds or leak.
 */
#include "net/scram.h"

#include <stdlib.h>
#include <string.h>

static scram_credential_t cred256, cred512;

static void scram_exchange(scram_mech_t mech, const scram_credential_t *cred, const uint8_t *data,
                           size_t size)
{
    const uint8_t *cut = memchr(data, 0xff, size);
    size_t first_len = cut ? (size_t)(cut - data) : size;
    char err[256];
    buf_t out;
    buf_init(&out, 0);
    scram_server_t s;
    scram_server_init(&s, mech);
    if (scram_server_read_first(&s, data, first_len, err, sizeof(err)) == SAMSA_ERR_NONE &&
        scram_server_first(&s, cred, "fuzzserver", &out) == SAMSA_ERR_NONE && cut) {
        out.len = 0;
        scram_server_final(&s, cut + 1, size - first_len - 1, &out, err, sizeof(err));
    }
    scram_server_free(&s);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!cred256.iterations) {
        const uint8_t salt[] = "fuzz-salt";
        if (scram_credential_make(SCRAM_SHA_256, "secret", salt, sizeof(salt) - 1,
                                  SCRAM_MIN_ITERATIONS, &cred256, err, sizeof(err)) ||
            scram_credential_make(SCRAM_SHA_512, "secret", salt, sizeof(salt) - 1,
                                  SCRAM_MIN_ITERATIONS, &cred512, err, sizeof(err)))
            abort();
    }
    if (size < 1)
        return 0;
    const uint8_t *rest = data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0: {
        sasl_plain_t p;
        if (sasl_plain_parse(rest, len, &p, err, sizeof(err)) == SAMSA_ERR_NONE)
            sasl_plain_wipe(&p);
        break;
    }
    case 1:
        scram_exchange(SCRAM_SHA_256, &cred256, rest, len);
        break;
    case 2:
        scram_exchange(SCRAM_SHA_512, &cred512, rest, len);
        break;
    default: {
        uint8_t out[256];
        scram_b64_decode((const char *)rest, len, out, sizeof(out));
        break;
    }
    }
    return 0;
}
