/*
 * config.c: the broker's properties (Kafka's names and defaults), topic
 * properties, and what DescribeConfigs reports about both.
 *
 * Every key a Kafka server.properties file commonly holds is accepted so
 * that such a file works unchanged; keys about things samsa does not have
 * (network thread counts, controller quorum) are checked for type and
 * otherwise have no effect, and replication factors must be 1 because
 * there is one node. Anything else is an error naming the key.
 */
#include "broker/broker_int.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/slog.h"
#include "net/tls.h"

/* K_FIXED: a string whose only accepted value is the default (a behaviour
 * samsa has one of); K_LOG: handed to log_config_set. */
enum key_type { K_INT, K_LONG, K_BOOL, K_STRING, K_LIST, K_LOG, K_FIXED };

/* DescribeConfigs config_type numbers */
enum { CT_BOOLEAN = 1, CT_STRING = 2, CT_INT = 3, CT_LONG = 5, CT_LIST = 7 };

typedef struct key_def {
    const char *name;
    enum key_type type;
    const char *default_value;
    long long min, max;
    ptrdiff_t field;      /* offsetof in broker_config_t, or -1 */
    const char *doc;
} key_def_t;

#define F(f) offsetof(broker_config_t, f)
#define NOF (-1)
#define I32 INT32_MAX
#define I64 INT64_MAX
static const key_def_t keys[] = {
    {"node.id", K_INT, "1", 0, I32, F(node_id), "The id of this node"},
    {"broker.id", K_INT, "1", 0, I32, NOF, "Alias of node.id"},
    {"listeners", K_STRING, "PLAINTEXT://127.0.0.1:9092", 0, 0, NOF,
     "Listeners NAME://host:port, comma-separated (port 0 picks a free port)"},
    {"advertised.listeners", K_STRING, "", 0, 0, NOF,
     "Per listener name, the address given to clients connected to it, when not the "
     "listener's"},
    {"listener.security.protocol.map", K_STRING, "", 0, 0, NOF,
     "NAME:PROTOCOL pairs giving custom listener names a security protocol"},
    {"ssl.certificate.location", K_STRING, "", 0, 0, NOF,
     "PEM certificate (chain) of SSL and SASL_SSL listeners"},
    {"ssl.key.location", K_STRING, "", 0, 0, NOF, "PEM private key of that certificate"},
    {"ssl.key.password", K_STRING, "", 0, 0, NOF, "Password of an encrypted private key"},
    {"ssl.ca.location", K_STRING, "", 0, 0, NOF,
     "PEM file or directory of the CAs client certificates must chain to"},
    {"ssl.client.auth", K_STRING, "none", 0, 0, NOF,
     "Client certificates on SSL listeners: none, requested or required"},
    {"ssl.enabled.protocols", K_LIST, "TLSv1.2,TLSv1.3", 0, 0, NOF,
     "TLS versions accepted: TLSv1.2 and/or TLSv1.3"},
    {"ssl.protocol", K_STRING, "TLSv1.3", 0, 0, NOF, "Accepted; ssl.enabled.protocols decides"},
    {"ssl.endpoint.identification.algorithm", K_STRING, "https", 0, 0, NOF,
     "Accepted; a broker verifies no host name"},
    {"sasl.enabled.mechanisms", K_LIST, "SCRAM-SHA-256,SCRAM-SHA-512", 0, 0, NOF,
     "SASL mechanisms of SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"},
    {"sasl.credentials.file", K_STRING, "", 0, 0, NOF,
     "samsa: the users' salted SCRAM credentials (managed with `samsa users`)"},
    {"connection.failed.authentication.delay.ms", K_INT, "100", 0, 60000,
     F(failed_auth_delay_ms),
     "Delay before answering a failed authentication; doubles with each recent failure "
     "from the same address (at most 5 s)"},
    {"security.inter.broker.protocol", K_STRING, "PLAINTEXT", 0, 0, NOF, "Accepted; one node"},
    {"sasl.mechanism.inter.broker.protocol", K_STRING, "GSSAPI", 0, 0, NOF,
     "Accepted; one node"},
    {"log.dirs", K_LIST, "", 0, 0, NOF, "Directories holding the partitions"},
    {"log.dir", K_STRING, "./data", 0, 0, NOF, "The log directory when log.dirs is not set"},
    {"num.partitions", K_INT, "1", 1, I32, F(num_partitions), "Partitions of auto-created topics"},
    {"auto.create.topics.enable", K_BOOL, "true", 0, 1, NOF,
     "Create unknown topics asked for in Metadata"},
    {"delete.topic.enable", K_BOOL, "true", 0, 1, NOF, "Whether DeleteTopics may delete"},
    {"message.max.bytes", K_INT, "1048588", 0, I32, F(message_max_bytes),
     "The largest record batch accepted"},
    {"socket.request.max.bytes", K_INT, "104857600", 1, I32, F(socket_request_max_bytes),
     "The largest request accepted; larger ones close the connection"},
    {"connections.max.idle.ms", K_LONG, "600000", -1, I64, F(connections_max_idle_ms),
     "Connections idle for longer are closed (-1: never)"},
    {"log.retention.check.interval.ms", K_LONG, "300000", 1, I64, F(retention_check_ms),
     "How often retention is applied"},
    {"log.message.timestamp.type", K_STRING, "CreateTime", 0, 0, NOF,
     "CreateTime (the producer's) or LogAppendTime (the broker's clock)"},
    {"log.segment.bytes", K_LOG, "1073741824", 0, 0, NOF, "Segment size"},
    {"log.roll.ms", K_LOG, "", 0, 0, NOF, "Segment age at which it rolls (overrides hours)"},
    {"log.roll.hours", K_LONG, "168", 1, I32, NOF, "Segment age at which it rolls"},
    {"log.retention.ms", K_LOG, "", 0, 0, NOF, "Retention time (overrides minutes and hours)"},
    {"log.retention.minutes", K_LONG, "", -1, I32, NOF, "Retention time in minutes"},
    {"log.retention.hours", K_LONG, "168", -1, I32, NOF, "Retention time in hours"},
    {"log.retention.bytes", K_LOG, "-1", 0, 0, NOF, "Retention size per partition"},
    {"log.flush.interval.messages", K_LOG, "9223372036854775807", 0, 0, NOF,
     "Messages appended before a forced sync"},
    {"log.flush.interval.ms", K_LOG, "", 0, 0, NOF, "Time before a forced sync"},
    {"log.flush.on.ack", K_LOG, "true", 0, 0, NOF,
     "samsa: acks=all waits until the data is fdatasync'd"},
    {"log.index.size.max.bytes", K_LOG, "10485760", 0, 0, NOF, "Index file size cap"},
    {"log.index.interval.bytes", K_LOG, "4096", 0, 0, NOF, "Bytes between offset index entries"},
    {"log.segment.write.mode", K_LOG, "pwrite", 0, 0, NOF, "samsa: pwrite or mmap"},
    {"log.segment.preallocate.bytes", K_LOG, "8388608", 0, 0, NOF,
     "samsa: active segment growth step"},
    {"group.initial.rebalance.delay.ms", K_INT, "3000", 0, I32,
     F(group_initial_rebalance_delay_ms), "Delay of a new group's first rebalance"},
    {"group.min.session.timeout.ms", K_INT, "6000", 0, I32, F(group_min_session_timeout_ms),
     "Smallest session timeout a member may ask for"},
    {"group.max.session.timeout.ms", K_INT, "1800000", 0, I32, F(group_max_session_timeout_ms),
     "Largest session timeout a member may ask for"},
    {"group.max.size", K_INT, "2147483647", 1, I32, F(group_max_size), "Members per group"},
    {"offsets.retention.minutes", K_LONG, "10080", 1, I32, NOF,
     "How long committed offsets of empty groups are kept"},
    {"offset.metadata.max.bytes", K_INT, "4096", 0, I32, F(offset_metadata_max_bytes),
     "Largest metadata string of a committed offset"},
    {"offsets.topic.num.partitions", K_INT, "50", 1, I32, NOF,
     "Accepted; samsa's __consumer_offsets has 1 partition"},
    {"default.replication.factor", K_INT, "1", 1, 1, NOF, "Must be 1 (one node)"},
    {"offsets.topic.replication.factor", K_INT, "1", 1, 1, NOF, "Must be 1 (one node)"},
    {"transaction.state.log.replication.factor", K_INT, "1", 1, 1, NOF, "Must be 1 (one node)"},
    {"transaction.state.log.min.isr", K_INT, "1", 1, 1, NOF, "Must be 1 (one node)"},
    {"share.coordinator.state.topic.replication.factor", K_INT, "1", 1, 1, NOF,
     "Must be 1 (one node)"},
    {"share.coordinator.state.topic.min.isr", K_INT, "1", 1, 1, NOF, "Must be 1 (one node)"},
    {"min.insync.replicas", K_INT, "1", 1, 1, NOF, "Must be 1 (one node)"},
    {"log.cleanup.policy", K_FIXED, "delete", 0, 0, NOF, "compaction is not supported"},
    {"compression.type", K_FIXED, "producer", 0, 0, NOF,
     "batches are stored as the producer sent them"},
    {"log.cleaner.enable", K_BOOL, "true", 0, 1, NOF, "Accepted; nothing to compact"},
    {"auto.leader.rebalance.enable", K_BOOL, "true", 0, 1, NOF, "Accepted; one node"},
    {"unclean.leader.election.enable", K_BOOL, "false", 0, 1, NOF, "Accepted; one node"},
    {"replica.lag.time.max.ms", K_LONG, "30000", 0, I64, NOF, "Accepted; one node"},
    {"metadata.log.dir", K_STRING, "", 0, 0, NOF, "Accepted; no metadata log"},
    {"process.roles", K_STRING, "broker,controller", 0, 0, NOF, "Accepted; samsa is both"},
    {"controller.quorum.voters", K_STRING, "", 0, 0, NOF, "Accepted; no effect"},
    {"controller.quorum.bootstrap.servers", K_STRING, "", 0, 0, NOF, "Accepted; no effect"},
    {"controller.listener.names", K_STRING, "CONTROLLER", 0, 0, NOF,
     "Listeners with these names are not served"},
    {"inter.broker.listener.name", K_STRING, "PLAINTEXT", 0, 0, NOF, "Accepted; no effect"},
    {"num.network.threads", K_INT, "3", 1, I32, NOF, "Accepted; samsa uses one loop"},
    {"num.io.threads", K_INT, "8", 1, I32, NOF, "Accepted; samsa uses one loop"},
    {"num.recovery.threads.per.data.dir", K_INT, "8", 1, 256, F(recovery_threads_per_dir),
     "Threads per log dir that open (and after a crash recover) the partitions at start"},
    {"socket.send.buffer.bytes", K_INT, "102400", -1, I32, NOF, "Accepted; no effect"},
    {"socket.receive.buffer.bytes", K_INT, "102400", -1, I32, NOF, "Accepted; no effect"},
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

static const key_def_t *key_find(const char *name)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* The value of a key: set in conf, else its default ("" when none). */
static const char *value_of(const samsa_conf_t *conf, const key_def_t *k)
{
    const char *v = samsa_conf_get(conf, k->name);
    return v ? v : k->default_value;
}

/* Checks a value against its key's type and range. */
static samsa_err_t check_value(const key_def_t *k, const char *value, long long *num,
                               char *errbuf, size_t errlen)
{
    *num = 0;
    switch (k->type) {
    case K_INT:
    case K_LONG:
        if (conf_parse_int64(value, k->min, k->max, num) != 0)
            return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                        "%s: \"%s\" is not an integer from %lld to %lld", k->name, value, k->min,
                        k->max);
        return SAMSA_ERR_NONE;
    case K_BOOL: {
        int v = conf_parse_bool(value);
        if (v < 0)
            return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                        "%s: \"%s\" is not true or false", k->name, value);
        *num = v;
        return SAMSA_ERR_NONE;
    }
    case K_FIXED:
        if (strcmp(value, k->default_value) != 0)
            return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                             "%s: only \"%s\" is supported (%s)", k->name, k->default_value,
                             k->doc);
        return SAMSA_ERR_NONE;
    default: return SAMSA_ERR_NONE;
    }
}

static const char *const security_names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT",
                                              "SASL_SSL"};

const char *broker_security_name(broker_security_t sec) { return security_names[sec]; }

static int security_parse(const char *name, size_t len)
{
    for (int i = 0; i < 4; i++)
        if (strlen(security_names[i]) == len && strncmp(security_names[i], name, len) == 0)
            return i;
    return -1;
}

/* Whether name is in the comma-separated list. */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* The security protocol of listener name: its listener.security.protocol.map
 * entry, else the name itself when it is a protocol's. -1 when neither. */
static int security_of(const char *map, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = map; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        if (colon && (size_t)(colon - p) == n && strncmp(p, name, n) == 0) {
            size_t plen = len - n - 1;
            while (plen > 0 && colon[plen] == ' ')
                plen--;
            return security_parse(colon + 1, plen);
        }
        p += len;
    }
    return security_parse(name, n);
}

/* Parses a comma-separated list of NAME://host:port (controller listeners
 * skipped) into out[] (at most BROKER_MAX_LISTENERS). */
static samsa_err_t parse_endpoints(const char *key, const char *list, const char *controller_names,
                                   net_endpoint_t *out, size_t *count, char *errbuf,
                                   size_t errlen)
{
    char *copy = strdup(list);
    if (!copy)
        return conf_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
    char why[300] = "";
    char *save = NULL;
    *count = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        net_endpoint_t ep;
        if (net_endpoint_parse(tok, &ep, why, sizeof(why)) != 0)
            break;
        if (list_has(controller_names, ep.protocol))
            continue;
        for (size_t i = 0; i < *count; i++)
            if (strcmp(out[i].protocol, ep.protocol) == 0)
                snprintf(why, sizeof(why), "listener name %s appears twice", ep.protocol);
        if (*count == BROKER_MAX_LISTENERS)
            snprintf(why, sizeof(why), "more than %d listeners", BROKER_MAX_LISTENERS);
        if (why[0])
            break;
        out[(*count)++] = ep;
    }
    free(copy);
    if (!why[0] && *count == 0)
        snprintf(why, sizeof(why), "no listener");
    if (why[0])
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen, "%s: %s", key, why);
    return SAMSA_ERR_NONE;
}

static samsa_err_t load_listeners(broker_config_t *cfg, const samsa_conf_t *conf,
                                  const char *controllers, char *errbuf, size_t errlen)
{
    net_endpoint_t eps[BROKER_MAX_LISTENERS];
    size_t n;
    const char *map = value_of(conf, key_find("listener.security.protocol.map"));
    samsa_err_t err = parse_endpoints("listeners", value_of(conf, key_find("listeners")),
                                      controllers, eps, &n, errbuf, errlen);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        broker_listener_config_t *l = &cfg->listeners[i];
        int sec = security_of(map, eps[i].protocol);
        if (sec < 0)
            return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                             "listeners: listener %s is not a security protocol (PLAINTEXT, SSL, "
                             "SASL_PLAINTEXT, SASL_SSL) and listener.security.protocol.map "
                             "does not map it to one",
                             eps[i].protocol);
        for (size_t k = 0; k < i; k++)
            if (eps[i].port != 0 && eps[k].port == eps[i].port &&
                strcmp(eps[k].host, eps[i].host) == 0)
                return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                                 "listeners: %s and %s use the same port %d", eps[k].protocol,
                                 eps[i].protocol, eps[i].port);
        l->endpoint = eps[i];
        l->security = (broker_security_t)sec;
    }
    cfg->listener_count = n;
    const char *adv = samsa_conf_get(conf, "advertised.listeners");
    if (adv && *adv) {
        net_endpoint_t aeps[BROKER_MAX_LISTENERS];
        size_t an;
        if ((err = parse_endpoints("advertised.listeners", adv, controllers, aeps, &an, errbuf,
                                   errlen)))
            return err;
        for (size_t k = 0; k < an; k++) {
            size_t i = 0;
            while (i < n && strcmp(cfg->listeners[i].endpoint.protocol, aeps[k].protocol) != 0)
                i++;
            if (i == n)
                return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                                 "advertised.listeners: %s is not a listener name",
                                 aeps[k].protocol);
            cfg->listeners[i].advertised = aeps[k];
        }
    }
    cfg->listener = cfg->listeners[0].endpoint;
    cfg->advertised = cfg->listeners[0].advertised;
    return SAMSA_ERR_NONE;
}

/* Copies the value of a path-like key into dst (cap bytes). */
static samsa_err_t copy_value(const samsa_conf_t *conf, const char *key, char *dst, size_t cap,
                              char *errbuf, size_t errlen)
{
    const char *v = value_of(conf, key_find(key));
    if (strlen(v) >= cap)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen, "%s: longer than %zu bytes",
                         key, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return SAMSA_ERR_NONE;
}

static samsa_err_t load_security(broker_config_t *cfg, const samsa_conf_t *conf, char *errbuf,
                                 size_t errlen)
{
    samsa_err_t err;
    if ((err = copy_value(conf, "ssl.certificate.location", cfg->ssl_certificate_location,
                          sizeof(cfg->ssl_certificate_location), errbuf, errlen)) ||
        (err = copy_value(conf, "ssl.key.location", cfg->ssl_key_location,
                          sizeof(cfg->ssl_key_location), errbuf, errlen)) ||
        (err = copy_value(conf, "ssl.key.password", cfg->ssl_key_password,
                          sizeof(cfg->ssl_key_password), errbuf, errlen)) ||
        (err = copy_value(conf, "ssl.ca.location", cfg->ssl_ca_location,
                          sizeof(cfg->ssl_ca_location), errbuf, errlen)) ||
        (err = copy_value(conf, "sasl.credentials.file", cfg->sasl_credentials_file,
                          sizeof(cfg->sasl_credentials_file), errbuf, errlen)))
        return err;
    const char *auth = value_of(conf, key_find("ssl.client.auth"));
    if (strcmp(auth, "none") == 0)
        cfg->ssl_client_auth = TLS_CLIENT_AUTH_NONE;
    else if (strcmp(auth, "requested") == 0)
        cfg->ssl_client_auth = TLS_CLIENT_AUTH_REQUESTED;
    else if (strcmp(auth, "required") == 0)
        cfg->ssl_client_auth = TLS_CLIENT_AUTH_REQUIRED;
    else
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                         "ssl.client.auth: \"%s\" is not none, requested or required", auth);
    const char *protocols = value_of(conf, key_find("ssl.enabled.protocols"));
    bool v12 = list_has(protocols, "TLSv1.2"), v13 = list_has(protocols, "TLSv1.3");
    size_t known = (size_t)v12 + (size_t)v13, given = 0;
    for (const char *p = protocols; *p; p++)
        given += *p == ',';
    if (!known || known != given + 1)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                         "ssl.enabled.protocols: \"%s\": only TLSv1.2 and TLSv1.3 are supported",
                         protocols);
    cfg->ssl_min_version = v12 ? TLS_VERSION_1_2 : TLS_VERSION_1_3;
    cfg->ssl_max_version = v13 ? TLS_VERSION_1_3 : TLS_VERSION_1_2;

    static const struct {
        const char *name;
        unsigned bit;
    } mechs[] = {{"PLAIN", BROKER_SASL_PLAIN},
                 {"SCRAM-SHA-256", BROKER_SASL_SCRAM_SHA_256},
                 {"SCRAM-SHA-512", BROKER_SASL_SCRAM_SHA_512}};
    const char *enabled = value_of(conf, key_find("sasl.enabled.mechanisms"));
    size_t listed = 1;
    for (const char *p = enabled; *p; p++)
        listed += *p == ',';
    cfg->sasl_mechanisms = 0;
    size_t found = 0;
    for (size_t i = 0; i < 3; i++) {
        if (list_has(enabled, mechs[i].name)) {
            cfg->sasl_mechanisms |= mechs[i].bit;
            found++;
        }
    }
    if (found == 0 || found != listed)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                         "sasl.enabled.mechanisms: \"%s\": only PLAIN, SCRAM-SHA-256 and "
                         "SCRAM-SHA-512 are supported",
                         enabled);
    for (size_t i = 0; i < cfg->listener_count; i++) {
        const broker_listener_config_t *l = &cfg->listeners[i];
        if (broker_security_sasl(l->security) && !cfg->sasl_credentials_file[0])
            return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                             "listeners: %s (%s) needs sasl.credentials.file",
                             l->endpoint.protocol, broker_security_name(l->security));
        if (broker_security_tls(l->security) &&
            (!cfg->ssl_certificate_location[0] || !cfg->ssl_key_location[0]))
            return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                             "listeners: %s (%s) needs ssl.certificate.location and "
                             "ssl.key.location",
                             l->endpoint.protocol, broker_security_name(l->security));
    }
    bool ssl_listener = false;
    for (size_t i = 0; i < cfg->listener_count; i++)
        ssl_listener |= cfg->listeners[i].security == BROKER_SEC_SSL;
    if (ssl_listener && cfg->ssl_client_auth != TLS_CLIENT_AUTH_NONE && !cfg->ssl_ca_location[0])
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                         "ssl.client.auth=%s needs ssl.ca.location", auth);
    return SAMSA_ERR_NONE;
}

static samsa_err_t split_dirs(broker_config_t *cfg, const char *list, char *errbuf, size_t errlen)
{
    char *copy = strdup(list);
    if (!copy)
        return conf_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
    char *save = NULL;
    samsa_err_t err = SAMSA_ERR_NONE;
    for (char *tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n > 0 && tok[n - 1] == ' ')
            tok[--n] = 0;
        if (!n)
            continue;
        char **dirs = realloc(cfg->log_dirs, (cfg->log_dir_count + 1) * sizeof(char *));
        char *dup = strdup(tok);
        if (dirs)
            cfg->log_dirs = dirs;
        if (!dirs || !dup) {
            free(dup);
            err = conf_fail(SAMSA_ERR__NOMEM, errbuf, errlen, "out of memory");
            break;
        }
        cfg->log_dirs[cfg->log_dir_count++] = dup;
    }
    free(copy);
    if (!err && cfg->log_dir_count == 0)
        err = conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen, "log.dirs: no directory given");
    return err;
}

samsa_err_t broker_config_load(broker_config_t *cfg, const samsa_conf_t *conf, char *errbuf,
                               size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    log_config_init(&cfg->log);
    samsa_err_t err;
    /* Every key given must be known and well typed. */
    for (size_t i = 0; i < conf_count(conf); i++) {
        const conf_entry_t *e = conf_entry(conf, i);
        const key_def_t *k = key_find(e->key);
        long long num;
        if (!k)
            return conf_fail(SAMSA_ERR__UNKNOWN_CONFIG, errbuf, errlen,
                        "unknown broker property \"%s\"", e->key);
        if ((err = check_value(k, e->value, &num, errbuf, errlen)))
            return err;
        if (k->type == K_LOG && *e->value &&
            (err = log_config_set(&cfg->log, e->key, e->value, errbuf, errlen)))
            return err == SAMSA_ERR__UNKNOWN_CONFIG ? SAMSA_ERR__INVALID_CONFIG : err;
    }
    /* Then every key's effective value, defaults included, into cfg. */
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const key_def_t *k = &keys[i];
        long long num;
        const char *v = value_of(conf, k);
        if (!*v || (err = check_value(k, v, &num, errbuf, errlen)))
            continue;
        if (k->field >= 0) {
            if (k->type == K_INT)
                *(int32_t *)((char *)cfg + k->field) = (int32_t)num;
            else
                *(int64_t *)((char *)cfg + k->field) = num;
        }
    }
    const char *broker_id = samsa_conf_get(conf, "broker.id");
    const char *node_id = samsa_conf_get(conf, "node.id");
    if (broker_id && node_id && strcmp(broker_id, node_id) != 0)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                    "broker.id (%s) and node.id (%s) differ", broker_id, node_id);
    if (broker_id && !node_id)
        cfg->node_id = atoi(broker_id);
    cfg->auto_create_topics = conf_parse_bool(value_of(conf, key_find("auto.create.topics.enable")));
    cfg->delete_topic_enable = conf_parse_bool(value_of(conf, key_find("delete.topic.enable")));
    long long minutes;
    conf_parse_int64(value_of(conf, key_find("offsets.retention.minutes")), 1, I32, &minutes);
    cfg->offsets_retention_ms = minutes * 60000;

    /* Time keys as Kafka ranks them: ms over minutes over hours. */
    if (!samsa_conf_get(conf, "log.roll.ms")) {
        long long h = 168;
        conf_parse_int64(value_of(conf, key_find("log.roll.hours")), 1, I32, &h);
        cfg->log.segment_ms = h * 3600000LL;
    }
    if (!samsa_conf_get(conf, "log.retention.ms")) {
        long long v;
        const char *m = samsa_conf_get(conf, "log.retention.minutes");
        if (m && conf_parse_int64(m, -1, I32, &v) == 0)
            cfg->log.retention_ms = v < 0 ? -1 : v * 60000LL;
        else if (conf_parse_int64(value_of(conf, key_find("log.retention.hours")), -1, I32, &v) ==
                 0)
            cfg->log.retention_ms = v < 0 ? -1 : v * 3600000LL;
    }

    const char *ts_type = value_of(conf, key_find("log.message.timestamp.type"));
    if (strcmp(ts_type, "CreateTime") != 0 && strcmp(ts_type, "LogAppendTime") != 0)
        return conf_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                         "log.message.timestamp.type: \"%s\" is not CreateTime or LogAppendTime",
                         ts_type);
    cfg->log_append_time = ts_type[0] == 'L';

    const char *controllers = value_of(conf, key_find("controller.listener.names"));
    if ((err = load_listeners(cfg, conf, controllers, errbuf, errlen)) ||
        (err = load_security(cfg, conf, errbuf, errlen)))
        return err;
    const char *dirs = samsa_conf_get(conf, "log.dirs");
    if (!dirs || !*dirs)
        dirs = value_of(conf, key_find("log.dir"));
    return split_dirs(cfg, dirs, errbuf, errlen);
}

void broker_config_free(broker_config_t *cfg)
{
    for (size_t i = 0; i < cfg->log_dir_count; i++)
        free(cfg->log_dirs[i]);
    free(cfg->log_dirs);
    cfg->log_dirs = NULL;
    cfg->log_dir_count = 0;
}

/* ---- topic properties ----------------------------------------------------- */

samsa_err_t topic_config_set(topic_config_t *tc, const char *key, const char *value, char *errbuf,
                             size_t errlen)
{
    long long v;
    if (strcmp(key, "max.message.bytes") == 0) {
        if (conf_parse_int64(value, 0, I32, &v) != 0)
            return conf_fail(SAMSA_ERR_INVALID_CONFIG, errbuf, errlen,
                        "%s: \"%s\" is not an integer from 0 to %d", key, value, I32);
        tc->max_message_bytes = (int32_t)v;
        return SAMSA_ERR_NONE;
    }
    if (strcmp(key, "message.timestamp.type") == 0) {
        if (strcmp(value, "CreateTime") != 0 && strcmp(value, "LogAppendTime") != 0)
            return conf_fail(SAMSA_ERR_INVALID_CONFIG, errbuf, errlen,
                             "%s: \"%s\" is not CreateTime or LogAppendTime", key, value);
        tc->log_append_time = value[0] == 'L';
        return SAMSA_ERR_NONE;
    }
    /* Properties samsa has only one behaviour for: that value is accepted. */
    static const struct {
        const char *key, *only, *why;
    } fixed[] = {
        {"cleanup.policy", "delete", "compaction is not supported"},
        {"compression.type", "producer", "batches are stored as the producer sent them"},
        {"min.insync.replicas", "1", "one node"},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strcmp(key, fixed[i].key) != 0)
            continue;
        if (strcmp(value, fixed[i].only) != 0)
            return conf_fail(SAMSA_ERR_INVALID_CONFIG, errbuf, errlen,
                             "%s: only \"%s\" is supported (%s)", key, fixed[i].only,
                             fixed[i].why);
        return SAMSA_ERR_NONE;
    }
    /* Only the topic-level names of the log's keys */
    if (strncmp(key, "log.", 4) != 0) {
        log_config_t copy = tc->log;
        samsa_err_t err = log_config_set(&copy, key, value, errbuf, errlen);
        if (!err) {
            tc->log = copy;
            return SAMSA_ERR_NONE;
        }
        if (err != SAMSA_ERR__UNKNOWN_CONFIG)
            return SAMSA_ERR_INVALID_CONFIG;
    }
    return conf_fail(SAMSA_ERR_INVALID_CONFIG, errbuf, errlen, "unknown topic property \"%s\"", key);
}

/* ---- DescribeConfigs -------------------------------------------------- */

static void describe(void (*fn)(void *, const config_describe_t *), void *opaque,
                     const char *name, int8_t type, bool is_default, const char *doc,
                     const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void describe(void (*fn)(void *, const config_describe_t *), void *opaque,
                     const char *name, int8_t type, bool is_default, const char *doc,
                     const char *fmt, ...)
{
    config_describe_t d = {.name = name, .is_default = is_default, .read_only = true,
                           .type = type, .doc = doc};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d.value, sizeof(d.value), fmt, ap);
    va_end(ap);
    fn(opaque, &d);
}

void broker_config_describe(const struct broker *b,
                            void (*fn)(void *opaque, const config_describe_t *d), void *opaque)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const key_def_t *k = &keys[i];
        const char *set = samsa_conf_get(b->conf, k->name);
        int8_t type = k->type == K_INT    ? CT_INT
                      : k->type == K_LONG ? CT_LONG
                      : k->type == K_BOOL ? CT_BOOLEAN
                      : k->type == K_LIST ? CT_LIST
                                          : CT_STRING;
        if (k->type == K_LOG)
            type = strcmp(k->name, "log.flush.on.ack") == 0         ? CT_BOOLEAN
                   : strcmp(k->name, "log.segment.write.mode") == 0 ? CT_STRING
                                                                    : CT_LONG;
        describe(fn, opaque, k->name, type, set == NULL, k->doc, "%s", set ? set : k->default_value);
    }
}

void topic_config_describe(const struct broker *b, const struct broker_topic *t,
                           void (*fn)(void *opaque, const config_describe_t *d), void *opaque)
{
    const log_config_t *l = &t->config.log;
#define OVR(key) (samsa_conf_get(t->overrides, key) == NULL)
    describe(fn, opaque, "cleanup.policy", CT_LIST, OVR("cleanup.policy"), "Only delete", "delete");
    describe(fn, opaque, "compression.type", CT_STRING, OVR("compression.type"),
             "Batches are stored as the producer sent them", "producer");
    describe(fn, opaque, "max.message.bytes", CT_INT, OVR("max.message.bytes"),
             "Largest record batch", "%d", (int)t->config.max_message_bytes);
    describe(fn, opaque, "message.timestamp.type", CT_STRING, OVR("message.timestamp.type"),
             "Record timestamps", "%s", t->config.log_append_time ? "LogAppendTime" : "CreateTime");
    describe(fn, opaque, "min.insync.replicas", CT_INT, OVR("min.insync.replicas"), "One node",
             "1");
    describe(fn, opaque, "retention.ms", CT_LONG, OVR("retention.ms"), "Retention time", "%lld",
             (long long)l->retention_ms);
    describe(fn, opaque, "retention.bytes", CT_LONG, OVR("retention.bytes"), "Retention size",
             "%lld", (long long)l->retention_bytes);
    describe(fn, opaque, "segment.bytes", CT_INT, OVR("segment.bytes"), "Segment size", "%lld",
             (long long)l->segment_bytes);
    describe(fn, opaque, "segment.ms", CT_LONG, OVR("segment.ms"), "Segment age", "%lld",
             (long long)l->segment_ms);
    describe(fn, opaque, "segment.index.bytes", CT_INT, OVR("segment.index.bytes"),
             "Index size cap", "%lld", (long long)l->segment_index_bytes);
    describe(fn, opaque, "index.interval.bytes", CT_INT, OVR("index.interval.bytes"),
             "Bytes between index entries", "%lld", (long long)l->index_interval_bytes);
    describe(fn, opaque, "flush.messages", CT_LONG, OVR("flush.messages"),
             "Messages before a forced sync", "%lld", (long long)l->flush_interval_messages);
    describe(fn, opaque, "flush.ms", CT_LONG, OVR("flush.ms"), "Time before a forced sync",
             "%lld", (long long)(l->flush_interval_ms < 0 ? INT64_MAX : l->flush_interval_ms));
#undef OVR
}
