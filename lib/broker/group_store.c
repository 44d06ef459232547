/*
 * group_store.c: the group coordinator's records in __consumer_offsets:
 * the committed-offset cache of each group, Kafka's key and value schemas
 * (see group.h), loading them at start, and snapshots that keep the log,
 * and so the time a restart takes, proportional to the live keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/slog.h"
#include "broker/group_int.h"
#include "proto/batch.h"

#define STORE_READ_BYTES (1u << 20)
#define STORE_MAX_DECOMPRESSED (64u << 20)
#define SNAPSHOT_BATCH_RECORDS 500
#define SNAPSHOT_BATCH_BYTES (512u << 10)

/* ---- the offset cache ------------------------------------------------------ */

static int offset_cmp(const group_offset_t *o, const char *topic, size_t topic_len,
                      int32_t partition)
{
    size_t ol = strlen(o->topic);
    int c = memcmp(o->topic, topic, ol < topic_len ? ol : topic_len);
    if (c == 0 && ol != topic_len)
        c = ol < topic_len ? -1 : 1;
    if (c == 0 && o->partition != partition)
        c = o->partition < partition ? -1 : 1;
    return c;
}

ptrdiff_t group_offset_search(const group_t *g, const char *topic, size_t topic_len,
                              int32_t partition)
{
    size_t lo = 0, hi = g->offset_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = offset_cmp(&g->offsets[mid], topic, topic_len, partition);
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1 - (ptrdiff_t)lo;
}

static char *dup_len(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        if (len)
            memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

samsa_err_t group_offset_put(group_t *g, const char *topic, size_t topic_len, int32_t partition,
                             int64_t offset, int32_t leader_epoch, const char *metadata,
                             size_t metadata_len, int64_t commit_ts_ms)
{
    char *md = dup_len(metadata ? metadata : "", metadata ? metadata_len : 0);
    if (!md)
        return SAMSA_ERR__NOMEM;
    ptrdiff_t at = group_offset_search(g, topic, topic_len, partition);
    group_offset_t *o;
    if (at >= 0) {
        o = &g->offsets[at];
        free(o->metadata);
    } else {
        size_t pos = (size_t)(-1 - at);
        char *t = dup_len(topic, topic_len);
        if (!t)
            goto nomem;
        if (g->offset_count == g->offset_cap) {
            size_t cap = g->offset_cap ? g->offset_cap * 2 : 8;
            group_offset_t *n = realloc(g->offsets, cap * sizeof(*n));
            if (!n) {
                free(t);
                goto nomem;
            }
            g->offsets = n;
            g->offset_cap = cap;
        }
        memmove(&g->offsets[pos + 1], &g->offsets[pos],
                (g->offset_count - pos) * sizeof(*g->offsets));
        g->offset_count++;
        o = &g->offsets[pos];
        o->topic = t;
        o->partition = partition;
        g->gc->live_records++;
    }
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->metadata = md;
    o->commit_ts_ms = commit_ts_ms;
    return SAMSA_ERR_NONE;
nomem:
    free(md);
    return SAMSA_ERR__NOMEM;
}

void group_offset_delete_at(group_t *g, size_t i)
{
    free(g->offsets[i].topic);
    free(g->offsets[i].metadata);
    memmove(&g->offsets[i], &g->offsets[i + 1], (g->offset_count - i - 1) * sizeof(*g->offsets));
    g->offset_count--;
    g->gc->live_records--;
}

void group_offsets_free(group_t *g)
{
    while (g->offset_count)
        group_offset_delete_at(g, g->offset_count - 1);
    free(g->offsets);
    g->offsets = NULL;
    g->offset_cap = 0;
}

/* ---- Kafka's schemas -------------------------------------------------------- */

static void put_str(buf_t *b, const char *s, size_t len)
{
    buf_put_i16(b, (int16_t)len);
    buf_put(b, s, len);
}

static void put_nstr(buf_t *b, const char *s)
{
    if (!s)
        buf_put_i16(b, -1);
    else
        put_str(b, s, strlen(s));
}

static void put_bytes(buf_t *b, const uint8_t *p, size_t len)
{
    buf_put_i32(b, (int32_t)len);
    buf_put(b, p, len);
}

void group_store_offset_key(buf_t *b, const char *group_id, const char *topic, size_t topic_len,
                            int32_t partition)
{
    buf_put_i16(b, 1);
    put_str(b, group_id, strlen(group_id));
    put_str(b, topic, topic_len);
    buf_put_i32(b, partition);
}

void group_store_offset_value(buf_t *b, int64_t offset, int32_t leader_epoch,
                              const char *metadata, size_t metadata_len, int64_t commit_ts_ms)
{
    buf_put_i16(b, 3);
    buf_put_i64(b, offset);
    buf_put_i32(b, leader_epoch);
    put_str(b, metadata ? metadata : "", metadata ? metadata_len : 0);
    buf_put_i64(b, commit_ts_ms);
}

void group_store_group_key(buf_t *b, const char *group_id)
{
    buf_put_i16(b, 2);
    put_str(b, group_id, strlen(group_id));
}

static void encode_group_value(buf_t *b, const group_t *g)
{
    buf_put_i16(b, 3);
    put_nstr(b, g->protocol_type ? g->protocol_type : "");
    buf_put_i32(b, g->generation);
    put_nstr(b, g->protocol_name);
    put_nstr(b, g->leader_id);
    buf_put_i64(b, g->state_ts_ms);
    buf_put_i32(b, (int32_t)g->member_count);
    for (const group_member_t *m = g->members; m; m = m->next) {
        const group_protocol_t *p = NULL;
        for (size_t i = 0; g->protocol_name && i < m->protocol_count; i++)
            if (strcmp(m->protocols[i].name, g->protocol_name) == 0)
                p = &m->protocols[i];
        put_nstr(b, m->member_id);
        put_nstr(b, m->instance_id);
        put_nstr(b, m->client_id);
        put_nstr(b, m->client_host);
        buf_put_i32(b, m->rebalance_timeout_ms);
        buf_put_i32(b, m->session_timeout_ms);
        put_bytes(b, p ? p->metadata : NULL, p ? p->metadata_len : 0);
        put_bytes(b, m->assignment, m->assignment_len);
    }
}

static void set_stored_value(group_t *g, uint8_t *value, size_t len)
{
    if (!g->stored_value && value)
        g->gc->live_records++;
    else if (g->stored_value && !value)
        g->gc->live_records--;
    free(g->stored_value);
    g->stored_value = value;
    g->stored_value_len = len;
}

samsa_err_t group_store_write_group(group_coordinator_t *gc, group_t *g)
{
    buf_t key, value;
    buf_init(&key, 0);
    buf_init(&value, 0);
    group_store_group_key(&key, g->group_id);
    encode_group_value(&value, g);
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!key.failed && !value.failed) {
        log_record_t rec = {key.data, key.len, value.data, value.len};
        err = group_store_append(gc, &rec, 1, NULL);
    }
    if (!err) {
        size_t len;
        uint8_t *v = buf_steal(&value, &len);
        set_stored_value(g, v, len);
        group_store_maybe_snapshot(gc);
    }
    buf_free(&key);
    buf_free(&value);
    return err;
}

samsa_err_t group_store_delete_group(group_coordinator_t *gc, group_t *g)
{
    if (!g->stored_value)
        return SAMSA_ERR_NONE;
    buf_t key;
    buf_init(&key, 0);
    group_store_group_key(&key, g->group_id);
    samsa_err_t err = SAMSA_ERR__NOMEM;
    if (!key.failed) {
        log_record_t rec = {key.data, key.len, NULL, 0};
        err = group_store_append(gc, &rec, 1, NULL);
    }
    if (!err) {
        set_stored_value(g, NULL, 0);
        group_store_maybe_snapshot(gc);
    }
    buf_free(&key);
    return err;
}

samsa_err_t group_store_append(group_coordinator_t *gc, const log_record_t *records, size_t n,
                               int64_t *end_offset)
{
    buf_t batch;
    buf_init(&batch, 0);
    int64_t last = -1;
    samsa_err_t err = log_records_encode(&batch, records, n, clock_wall_ms());
    if (!err)
        err = partition_log_append(gc->env.offsets_log, batch.data, batch.len, 0, NULL, &last);
    buf_free(&batch);
    if (err)
        return err;
    if (end_offset)
        *end_offset = last + 1;
    return SAMSA_ERR_NONE;
}

void group_store_maybe_snapshot(group_coordinator_t *gc)
{
    partition_log_t *pl = gc->env.offsets_log;
    int64_t span = partition_log_end_offset(pl) - partition_log_start_offset(pl);
    if (span <= 2 * gc->live_records + gc->cfg.snapshot_min_records ||
        span <= gc->snapshot_retry_span)
        return;
    samsa_err_t err = group_store_snapshot(gc);
    /* After a failure, wait until the log has doubled: retrying on every
     * append would only add partial snapshots. */
    gc->snapshot_retry_span = err ? 2 * span : 0;
    if (err)
        slog_warn("group", "snapshot of %s failed: %s", partition_log_name(pl),
                  samsa_err_str(err));
}

/* ---- snapshots ---------------------------------------------------------------- */

typedef struct snapshot {
    group_coordinator_t *gc;
    buf_t data;           /* keys and values, back to back */
    size_t *lens;         /* key len, value len per record */
    size_t count, cap;
    int64_t first_offset; /* of the first batch written, -1 before */
} snapshot_t;

static samsa_err_t snapshot_flush(snapshot_t *s)
{
    if (s->count == 0)
        return SAMSA_ERR_NONE;
    if (s->data.failed)
        return SAMSA_ERR__NOMEM;
    log_record_t *recs = calloc(s->count, sizeof(*recs));
    if (!recs)
        return SAMSA_ERR__NOMEM;
    size_t pos = 0;
    for (size_t i = 0; i < s->count; i++) {
        recs[i].key = s->data.data + pos;
        recs[i].key_bytes = s->lens[2 * i];
        pos += s->lens[2 * i];
        recs[i].value = s->data.data + pos;
        recs[i].value_bytes = s->lens[2 * i + 1];
        pos += s->lens[2 * i + 1];
    }
    buf_t batch;
    buf_init(&batch, 0);
    int64_t base = -1;
    samsa_err_t err = log_records_encode(&batch, recs, s->count, clock_wall_ms());
    if (!err)
        err = partition_log_append(s->gc->env.offsets_log, batch.data, batch.len, 0, &base, NULL);
    buf_free(&batch);
    free(recs);
    if (!err && s->first_offset < 0)
        s->first_offset = base;
    buf_reset(&s->data);
    s->count = 0;
    return err;
}

/* Adds the record whose key and value were just written at data[start..). */
static samsa_err_t snapshot_add(snapshot_t *s, size_t start, size_t key_len)
{
    if (s->data.failed)
        return SAMSA_ERR__NOMEM;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        size_t *n = realloc(s->lens, cap * 2 * sizeof(*n));
        if (!n)
            return SAMSA_ERR__NOMEM;
        s->lens = n;
        s->cap = cap;
    }
    s->lens[2 * s->count] = key_len;
    s->lens[2 * s->count + 1] = s->data.len - start - key_len;
    s->count++;
    if (s->count >= SNAPSHOT_BATCH_RECORDS || s->data.len >= SNAPSHOT_BATCH_BYTES)
        return snapshot_flush(s);
    return SAMSA_ERR_NONE;
}

samsa_err_t group_store_snapshot(group_coordinator_t *gc)
{
    partition_log_t *pl = gc->env.offsets_log;
    snapshot_t s = {.gc = gc, .first_offset = -1};
    buf_init(&s.data, 0);
    samsa_err_t err = SAMSA_ERR_NONE;
    for (size_t gi = 0; !err && gi < gc->group_count; gi++) {
        const group_t *g = gc->groups[gi];
        if (g->stored_value) {
            size_t start = s.data.len;
            group_store_group_key(&s.data, g->group_id);
            size_t key_len = s.data.len - start;
            buf_put(&s.data, g->stored_value, g->stored_value_len);
            err = snapshot_add(&s, start, key_len);
        }
        for (size_t i = 0; !err && i < g->offset_count; i++) {
            const group_offset_t *o = &g->offsets[i];
            size_t start = s.data.len;
            group_store_offset_key(&s.data, g->group_id, o->topic, strlen(o->topic), o->partition);
            size_t key_len = s.data.len - start;
            group_store_offset_value(&s.data, o->offset, o->leader_epoch, o->metadata,
                                     strlen(o->metadata), o->commit_ts_ms);
            err = snapshot_add(&s, start, key_len);
        }
    }
    if (!err)
        err = snapshot_flush(&s);
    /* The older records may go only once the snapshot is on disk. */
    if (!err)
        err = partition_log_flush(pl);
    if (!err) {
        int64_t start = s.first_offset >= 0 ? s.first_offset : partition_log_end_offset(pl);
        err = partition_log_delete_records(pl, start, NULL);
    }
    buf_free(&s.data);
    free(s.lens);
    return err;
}

/* ---- loading ------------------------------------------------------------------ */

/* A string (int16 length, -1 null) as a slice of the record. */
static bool read_str(reader_t *r, const char **s, size_t *len)
{
    int16_t n = reader_i16(r);
    if (n < 0) {
        *s = NULL;
        *len = 0;
        return reader_ok(r) && n == -1;
    }
    *s = (const char *)reader_take(r, (size_t)n);
    *len = (size_t)n;
    return reader_ok(r);
}

static bool read_bytes(reader_t *r, const uint8_t **p, size_t *len)
{
    int32_t n = reader_i32(r);
    if (n < 0) {
        *p = NULL;
        *len = 0;
        return reader_ok(r) && n == -1;
    }
    *p = reader_take(r, (size_t)n);
    *len = (size_t)n;
    return reader_ok(r);
}

static samsa_err_t load_offset(group_coordinator_t *gc, reader_t *key, const record_t *rec)
{
    const char *gid, *topic;
    size_t gid_len, topic_len;
    if (!read_str(key, &gid, &gid_len) || !gid || !read_str(key, &topic, &topic_len) || !topic)
        return SAMSA_ERR_CORRUPT_MESSAGE;
    int32_t partition = reader_i32(key);
    if (!reader_ok(key))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    if (!rec->value) {
        group_t *g = group_find(gc, gid, gid_len);
        ptrdiff_t at = g ? group_offset_search(g, topic, topic_len, partition) : -1;
        if (at >= 0)
            group_offset_delete_at(g, (size_t)at);
        return SAMSA_ERR_NONE;
    }
    reader_t v = reader_make(rec->value, rec->value_len);
    int16_t version = reader_i16(&v);
    int64_t offset = reader_i64(&v);
    int32_t epoch = -1;
    if (version >= 3)
        epoch = reader_i32(&v);
    const char *md;
    size_t md_len;
    if (version < 0 || version > 3 || !read_str(&v, &md, &md_len))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    int64_t ts = reader_i64(&v);
    if (!reader_ok(&v))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    group_t *g = group_get_or_create(gc, gid, gid_len);
    if (!g)
        return SAMSA_ERR__NOMEM;
    return group_offset_put(g, topic, topic_len, partition, offset, epoch, md, md_len, ts);
}

static samsa_err_t load_members(group_t *g, reader_t *v, int16_t version)
{
    int32_t n = reader_i32(v);
    if (n < 0 || (size_t)n > reader_left(v))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    group_member_t **tail = &g->members;
    for (int32_t i = 0; i < n; i++) {
        const char *mid, *iid = NULL, *cid, *host;
        size_t mid_len, iid_len = 0, cid_len, host_len;
        const uint8_t *sub, *asg;
        size_t sub_len, asg_len;
        int32_t rebalance_ms = -1;
        if (!read_str(v, &mid, &mid_len) || !mid)
            return SAMSA_ERR_CORRUPT_MESSAGE;
        if (version >= 3 && !read_str(v, &iid, &iid_len))
            return SAMSA_ERR_CORRUPT_MESSAGE;
        if (!read_str(v, &cid, &cid_len) || !read_str(v, &host, &host_len))
            return SAMSA_ERR_CORRUPT_MESSAGE;
        if (version >= 1)
            rebalance_ms = reader_i32(v);
        int32_t session_ms = reader_i32(v);
        if (!read_bytes(v, &sub, &sub_len) || !read_bytes(v, &asg, &asg_len))
            return SAMSA_ERR_CORRUPT_MESSAGE;
        group_member_t *m = group_member_new(g);
        if (!m)
            return SAMSA_ERR__NOMEM;
        *tail = m;
        tail = &m->next;
        g->member_count++;
        m->member_id = dup_len(mid, mid_len);
        m->instance_id = iid ? dup_len(iid, iid_len) : NULL;
        m->client_id = dup_len(cid ? cid : "", cid_len);
        m->client_host = dup_len(host ? host : "", host_len);
        m->session_timeout_ms = session_ms;
        m->rebalance_timeout_ms = rebalance_ms >= 0 ? rebalance_ms : session_ms;
        m->protocols = calloc(1, sizeof(*m->protocols));
        m->assignment = malloc(asg_len ? asg_len : 1);
        if (!m->member_id || (iid && !m->instance_id) || !m->client_id || !m->client_host ||
            !m->protocols || !m->assignment)
            return SAMSA_ERR__NOMEM;
        if (asg_len)
            memcpy(m->assignment, asg, asg_len);
        m->assignment_len = asg_len;
        m->protocol_count = 1;
        m->protocols[0].name = dup_len(g->protocol_name ? g->protocol_name : "",
                                       g->protocol_name ? strlen(g->protocol_name) : 0);
        m->protocols[0].metadata = malloc(sub_len ? sub_len : 1);
        if (!m->protocols[0].name || !m->protocols[0].metadata)
            return SAMSA_ERR__NOMEM;
        if (sub_len)
            memcpy(m->protocols[0].metadata, sub, sub_len);
        m->protocols[0].metadata_len = sub_len;
    }
    return SAMSA_ERR_NONE;
}

static samsa_err_t load_group(group_coordinator_t *gc, reader_t *key, const record_t *rec)
{
    const char *gid;
    size_t gid_len;
    if (!read_str(key, &gid, &gid_len) || !gid)
        return SAMSA_ERR_CORRUPT_MESSAGE;
    group_t *g = group_get_or_create(gc, gid, gid_len);
    if (!g)
        return SAMSA_ERR__NOMEM;
    group_members_clear(g, SAMSA_ERR_NONE);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    g->protocol_type = g->protocol_name = g->leader_id = NULL;
    g->state = GROUP_EMPTY;
    if (!rec->value) {
        set_stored_value(g, NULL, 0);
        return SAMSA_ERR_NONE;
    }
    reader_t v = reader_make(rec->value, rec->value_len);
    int16_t version = reader_i16(&v);
    const char *ptype, *proto, *leader;
    size_t ptype_len, proto_len, leader_len;
    if (version < 0 || version > 3 || !read_str(&v, &ptype, &ptype_len))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    g->generation = reader_i32(&v);
    if (!read_str(&v, &proto, &proto_len) || !read_str(&v, &leader, &leader_len))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    g->state_ts_ms = version >= 2 ? reader_i64(&v) : clock_wall_ms();
    if (ptype && ptype_len && !(g->protocol_type = dup_len(ptype, ptype_len)))
        return SAMSA_ERR__NOMEM;
    if (proto && !(g->protocol_name = dup_len(proto, proto_len)))
        return SAMSA_ERR__NOMEM;
    if (leader && !(g->leader_id = dup_len(leader, leader_len)))
        return SAMSA_ERR__NOMEM;
    samsa_err_t err = load_members(g, &v, version);
    if (err) {
        group_members_clear(g, SAMSA_ERR_NONE); /* nothing half-loaded */
        return err;
    }
    g->state = g->member_count ? GROUP_STABLE : GROUP_EMPTY;
    uint8_t *copy = malloc(rec->value_len);
    if (!copy)
        return SAMSA_ERR__NOMEM;
    memcpy(copy, rec->value, rec->value_len);
    set_stored_value(g, copy, rec->value_len);
    return SAMSA_ERR_NONE;
}

static samsa_err_t load_record(group_coordinator_t *gc, const record_t *rec)
{
    if (!rec->key)
        return SAMSA_ERR_NONE;
    reader_t key = reader_make(rec->key, rec->key_len);
    int16_t version = reader_i16(&key);
    if (!reader_ok(&key))
        return SAMSA_ERR_CORRUPT_MESSAGE;
    if (version == 0 || version == 1)
        return load_offset(gc, &key, rec);
    if (version == 2)
        return load_group(gc, &key, rec);
    return SAMSA_ERR_NONE; /* records of other coordinators (KIP-848 groups, shares) */
}

samsa_err_t group_store_load(group_coordinator_t *gc, char *errbuf, size_t errlen)
{
    partition_log_t *pl = gc->env.offsets_log;
    int64_t start = partition_log_start_offset(pl);
    int64_t end = partition_log_end_offset(pl);
    int64_t off = start;
    buf_t scratch;
    buf_init(&scratch, 0);
    samsa_err_t err = SAMSA_ERR_NONE;
    while (!err && off < end) {
        log_read_t r;
        if ((err = partition_log_read(pl, off, STORE_READ_BYTES, &r)) != SAMSA_ERR_NONE)
            break;
        if (r.length_bytes == 0) {
            log_read_release(&r);
            break;
        }
        batch_iter_t it;
        batch_t b;
        batch_iter_init(&it, r.data, r.length_bytes);
        while (!err && batch_iter_next(&it, &b)) {
            if (batch_is_control(&b))
                continue;
            record_iter_t ri;
            record_t rec;
            err = record_iter_init(&ri, &b, &scratch, STORE_MAX_DECOMPRESSED);
            while (!err && record_iter_next(&ri, &rec))
                if (rec.offset >= start && (err = load_record(gc, &rec)) ==
                                               SAMSA_ERR_CORRUPT_MESSAGE) {
                    /* One record that does not parse costs its key, not
                     * the broker's start. */
                    slog_warn("group", "%s: skipping a malformed record at offset %lld",
                              partition_log_name(pl), (long long)rec.offset);
                    err = SAMSA_ERR_NONE;
                }
            if (!err)
                err = ri.err;
            record_iter_free(&ri);
        }
        if (!err)
            err = it.err;
        off = r.next_offset > off ? r.next_offset : end;
        log_read_release(&r);
    }
    buf_free(&scratch);
    if (err) {
        snprintf(errbuf, errlen, "%s: cannot load groups at offset %lld: %s",
                 partition_log_name(pl), (long long)off, samsa_err_str(err));
        return err;
    }
    for (size_t i = 0; i < gc->group_count; i++)
        for (group_member_t *m = gc->groups[i]->members; m; m = m->next)
            group_member_schedule_session(m);
    group_store_maybe_snapshot(gc);
    return SAMSA_ERR_NONE;
}
