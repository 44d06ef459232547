/*
 * sasl.h: the client's side of one SASL exchange (PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512) as carried by SaslAuthenticate: which bytes to send next
 * given what the broker sent last, and whether the broker proved itself
 * (SCRAM's server signature). The messages themselves are built and
 * checked by lib/net/scram.h.
 *
 * One exchange per connection attempt; nothing here is thread-safe.
 */
#ifndef SAMSA_CLIENT_SASL_H
#define SAMSA_CLIENT_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "client/config.h"
#include "samsa.h"

typedef struct client_sasl client_sasl_t;

/* A new exchange for cfg's sasl.mechanism, sasl.username and
 * sasl.password (copied). Returns NULL when memory runs out. */
client_sasl_t *client_sasl_new(const client_config_t *cfg);

/* Frees s and wipes the secrets it holds (NULL is ignored). */
void client_sasl_free(client_sasl_t *s);

/* One step. in is the broker's last auth_bytes (NULL, 0 before the first
 * message). Either appends the next message to out (*done false) or, when
 * the broker's last message completed the exchange, sets *done and appends
 * nothing. Returns SAMSA_ERR_NONE, SAMSA_ERR_SASL_AUTHENTICATION_FAILED for
 * a broker message that is malformed or fails SCRAM's proof (why says
 * which, whylen bytes), or SAMSA_ERR__NOMEM. */
samsa_err_t client_sasl_step(client_sasl_t *s, const uint8_t *in, size_t in_len, buf_t *out,
                             bool *done, char *why, size_t whylen);

#endif /* SAMSA_CLIENT_SASL_H */
