/*
 * group_config.c: the group coordinator's settings, by the broker property
 * names Kafka users know.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group.h"

void group_config_init(group_config_t *cfg)
{
    cfg->initial_rebalance_delay_ms = 3000;
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 1800000;
    cfg->max_group_size = INT32_MAX;
    cfg->offsets_retention_ms = 10080LL * 60 * 1000;
    cfg->offset_metadata_max_bytes = 4096;
    cfg->offsets_retention_check_interval_ms = 600000;
    cfg->commit_wait_durable = true;
    cfg->snapshot_min_records = 10000;
}

typedef struct group_key {
    const char *name;
    size_t field;
    int width;       /* 4: int32_t field, 8: int64_t */
    int64_t min, max;
    int64_t scale;   /* the field holds value * scale */
} group_key_t;

static const group_key_t group_keys[] = {
    {"group.initial.rebalance.delay.ms", offsetof(group_config_t, initial_rebalance_delay_ms), 4, 0,
     INT32_MAX, 1},
    {"group.min.session.timeout.ms", offsetof(group_config_t, min_session_timeout_ms), 4, 1,
     INT32_MAX, 1},
    {"group.max.session.timeout.ms", offsetof(group_config_t, max_session_timeout_ms), 4, 1,
     INT32_MAX, 1},
    {"group.max.size", offsetof(group_config_t, max_group_size), 4, 1, INT32_MAX, 1},
    {"offsets.retention.minutes", offsetof(group_config_t, offsets_retention_ms), 8, 1, INT32_MAX,
     60000},
    {"offset.metadata.max.bytes", offsetof(group_config_t, offset_metadata_max_bytes), 4, 0,
     INT32_MAX, 1},
    {"offsets.retention.check.interval.ms",
     offsetof(group_config_t, offsets_retention_check_interval_ms), 8, 1, INT64_MAX, 1},
    {"offsets.snapshot.min.records", offsetof(group_config_t, snapshot_min_records), 8, 0,
     INT64_MAX / 4, 1},
};

static samsa_err_t group_config_fail(samsa_err_t err, char *errbuf, size_t errlen, const char *fmt,
                                     ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

samsa_err_t group_config_set(group_config_t *cfg, const char *key, const char *value, char *errbuf,
                             size_t errlen)
{
    for (size_t i = 0; i < sizeof(group_keys) / sizeof(group_keys[0]); i++) {
        const group_key_t *k = &group_keys[i];
        if (strcmp(key, k->name) != 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max)
            return group_config_fail(SAMSA_ERR__INVALID_CONFIG, errbuf, errlen,
                                     "%s: \"%s\" is not an integer from %lld to %lld", key, value,
                                     (long long)k->min, (long long)k->max);
        char *field = (char *)cfg + k->field;
        if (k->width == 4)
            *(int32_t *)field = (int32_t)v;
        else
            *(int64_t *)field = (int64_t)v * k->scale;
        return SAMSA_ERR_NONE;
    }
    return group_config_fail(SAMSA_ERR__UNKNOWN_CONFIG, errbuf, errlen,
                             "unknown group coordinator property \"%s\"", key);
}
