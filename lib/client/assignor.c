/*
 * assignor.c: the consumer protocol's subscription and assignment bytes,
 * and the range, roundrobin and cooperative-sticky assignors (see
 * assignor.h).
 */
#include "client/assignor.h"

#include <stdlib.h>
#include <string.h>

/* ---- consumer protocol bytes ----------------------------------------- */

static void put_string(buf_t *out, const char *s)
{
    size_t n = strlen(s);
    buf_put_i16(out, (int16_t)n);
    buf_put(out, s, n);
}

/* Writes tps as [topic, [partition]] groups of consecutive equal topics. */
static void put_partitions(buf_t *out, const assign_tp_t *tps, int count)
{
    int groups = 0;
    for (int i = 0; i < count; i++)
        if (i == 0 || strcmp(tps[i].topic, tps[i - 1].topic))
            groups++;
    buf_put_i32(out, groups);
    for (int i = 0; i < count;) {
        int j = i;
        while (j < count && !strcmp(tps[j].topic, tps[i].topic))
            j++;
        put_string(out, tps[i].topic);
        buf_put_i32(out, j - i);
        for (int k = i; k < j; k++)
            buf_put_i32(out, tps[k].partition);
        i = j;
    }
}

samsa_err_t cproto_subscription_encode(buf_t *out, int16_t version, const char *const *topics,
                                       int topic_count, const assign_tp_t *owned, int owned_count,
                                       int32_t generation)
{
    buf_put_i16(out, version);
    buf_put_i32(out, topic_count);
    for (int i = 0; i < topic_count; i++)
        put_string(out, topics[i]);
    buf_put_i32(out, -1); /* user data */
    if (version >= 1)
        put_partitions(out, owned, owned_count);
    if (version >= 2)
        buf_put_i32(out, generation);
    if (version >= 3)
        buf_put_i16(out, -1); /* rack */
    return out->failed ? SAMSA_ERR__NOMEM : SAMSA_ERR_NONE;
}

samsa_err_t cproto_assignment_encode(buf_t *out, const assign_tp_t *tps, int count)
{
    buf_put_i16(out, 3);
    put_partitions(out, tps, count);
    buf_put_i32(out, -1); /* user data */
    return out->failed ? SAMSA_ERR__NOMEM : SAMSA_ERR_NONE;
}

void cproto_subscription_free(cproto_subscription_t *s)
{
    free(s->topics);
    free(s->owned);
    free(s->strings);
    memset(s, 0, sizeof(*s));
}

/* Reads an int16-length string into the strings area at *pos. NULL when
 * malformed (or null). */
static const char *read_string(reader_t *r, char *strings, size_t *pos)
{
    int16_t n = reader_i16(r);
    if (n < 0) {
        reader_fail(r);
        return NULL;
    }
    const uint8_t *p = reader_take(r, (size_t)n);
    if (!p)
        return NULL;
    char *s = strings + *pos;
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    *pos += (size_t)n + 1;
    return s;
}

static void skip_bytes(reader_t *r)
{
    int32_t n = reader_i32(r);
    if (n > 0)
        reader_take(r, (size_t)n);
}

/* Reads [topic, [partition]] groups into s->owned. */
static samsa_err_t read_partitions(reader_t *r, cproto_subscription_t *s, size_t len, size_t *pos)
{
    int32_t groups = reader_i32(r);
    if (!reader_ok(r) || groups < 0 || (size_t)groups > reader_left(r) / 6)
        return SAMSA_ERR__BAD_MSG;
    s->owned = calloc(len / 4 + 1, sizeof(*s->owned));
    if (!s->owned)
        return SAMSA_ERR__NOMEM;
    for (int32_t g = 0; g < groups; g++) {
        const char *topic = read_string(r, s->strings, pos);
        int32_t count = reader_i32(r);
        if (!reader_ok(r) || count < 0 || (size_t)count > reader_left(r) / 4)
            return SAMSA_ERR__BAD_MSG;
        for (int32_t i = 0; i < count; i++) {
            s->owned[s->owned_count].topic = topic;
            s->owned[s->owned_count++].partition = reader_i32(r);
        }
    }
    return reader_ok(r) ? SAMSA_ERR_NONE : SAMSA_ERR__BAD_MSG;
}

samsa_err_t cproto_subscription_decode(const uint8_t *data, size_t len,
                                       cproto_subscription_t *out)
{
    memset(out, 0, sizeof(*out));
    out->generation = -1;
    samsa_err_t err = SAMSA_ERR__NOMEM;
    size_t pos = 0;
    reader_t r = reader_make(data, len);
    out->strings = malloc(len + 1);
    if (!out->strings)
        goto fail;
    err = SAMSA_ERR__BAD_MSG;
    out->version = reader_i16(&r);
    int32_t count = reader_i32(&r);
    if (!reader_ok(&r) || out->version < 0 || count < 0 || (size_t)count > reader_left(&r) / 2)
        goto fail;
    out->topics = calloc((size_t)count + 1, sizeof(*out->topics));
    if (!out->topics) {
        err = SAMSA_ERR__NOMEM;
        goto fail;
    }
    for (int32_t i = 0; i < count; i++) {
        out->topics[i] = read_string(&r, out->strings, &pos);
        if (!out->topics[i])
            goto fail;
        out->topic_count++;
    }
    skip_bytes(&r);
    if (out->version >= 1) {
        err = read_partitions(&r, out, len, &pos);
        if (err)
            goto fail;
        err = SAMSA_ERR__BAD_MSG;
    }
    if (out->version >= 2)
        out->generation = reader_i32(&r);
    if (!reader_ok(&r))
        goto fail;
    return SAMSA_ERR_NONE;
fail:
    cproto_subscription_free(out);
    return err;
}

samsa_err_t cproto_assignment_decode(const uint8_t *data, size_t len, cproto_subscription_t *out)
{
    memset(out, 0, sizeof(*out));
    out->generation = -1;
    if (len == 0)
        return SAMSA_ERR_NONE;
    size_t pos = 0;
    reader_t r = reader_make(data, len);
    out->strings = malloc(len + 1);
    if (!out->strings)
        return SAMSA_ERR__NOMEM;
    out->version = reader_i16(&r);
    samsa_err_t err = read_partitions(&r, out, len, &pos);
    if (!err && (!reader_ok(&r) || out->version < 0))
        err = SAMSA_ERR__BAD_MSG;
    if (err)
        cproto_subscription_free(out);
    return err;
}

/* ---- assignors -------------------------------------------------------- */

bool assignor_known(const char *name)
{
    return !strcmp(name, "range") || !strcmp(name, "roundrobin") ||
           !strcmp(name, "cooperative-sticky");
}

bool assignor_cooperative(const char *name) { return !strcmp(name, "cooperative-sticky"); }

void assignor_members_free(assignor_member_t *members, int n)
{
    for (int i = 0; i < n; i++) {
        free(members[i].assigned);
        members[i].assigned = NULL;
        members[i].assigned_count = members[i].assigned_cap = 0;
    }
}

static bool give(assignor_member_t *m, const char *topic, int32_t partition)
{
    if (m->assigned_count == m->assigned_cap) {
        int cap = m->assigned_cap ? m->assigned_cap * 2 : 8;
        assign_tp_t *grown = realloc(m->assigned, sizeof(*grown) * (size_t)cap);
        if (!grown)
            return false;
        m->assigned = grown;
        m->assigned_cap = cap;
    }
    m->assigned[m->assigned_count].topic = topic;
    m->assigned[m->assigned_count++].partition = partition;
    return true;
}

static bool subscribes(const assignor_member_t *m, const char *topic)
{
    for (int i = 0; i < m->topic_count; i++)
        if (!strcmp(m->topics[i], topic))
            return true;
    return false;
}

static int cmp_member(const void *a, const void *b)
{
    const assignor_member_t *const *x = a, *const *y = b;
    return strcmp((*x)->member_id, (*y)->member_id);
}

static int cmp_topic(const void *a, const void *b)
{
    const assign_topic_t *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int cmp_tp(const void *a, const void *b)
{
    const assign_tp_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* Java's RangeAssignor: per topic, members subscribed in member id order,
 * each a consecutive range, the first n % m one partition more. */
static bool run_range(assignor_member_t **sorted, int n, const assign_topic_t *topics,
                      int topic_count)
{
    assignor_member_t **subs = calloc((size_t)n + 1, sizeof(*subs));
    if (!subs)
        return false;
    bool ok = true;
    for (int t = 0; ok && t < topic_count; t++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (subscribes(sorted[i], topics[t].name))
                subs[m++] = sorted[i];
        if (!m)
            continue;
        int32_t per = topics[t].partition_count / m, extra = topics[t].partition_count % m;
        for (int i = 0; ok && i < m; i++) {
            int32_t start = per * i + (i < extra ? i : extra);
            int32_t len = per + (i < extra ? 1 : 0);
            for (int32_t p = start; ok && p < start + len; p++)
                ok = give(subs[i], topics[t].name, p);
        }
    }
    free(subs);
    return ok;
}

/* Java's RoundRobinAssignor: every partition in topic then partition
 * order goes to the next member (cycling in member id order) that
 * subscribes to its topic. */
static bool run_roundrobin(assignor_member_t **sorted, int n, const assign_topic_t *topics,
                           int topic_count)
{
    int next = 0;
    for (int t = 0; t < topic_count; t++) {
        bool any = false;
        for (int i = 0; i < n; i++)
            any = any || subscribes(sorted[i], topics[t].name);
        if (!any)
            continue;
        for (int32_t p = 0; p < topics[t].partition_count; p++) {
            while (!subscribes(sorted[next], topics[t].name))
                next = (next + 1) % n;
            if (!give(sorted[next], topics[t].name, p))
                return false;
            next = (next + 1) % n;
        }
    }
    return true;
}

static int topic_index(const assign_topic_t *topics, int topic_count, const char *name)
{
    for (int t = 0; t < topic_count; t++)
        if (!strcmp(topics[t].name, name))
            return t;
    return -1;
}

/* Cooperative sticky: see assignor_run. owner[g] is the member index that
 * validly owned global partition g (-1 none); keep[g] whether it stays. */
static bool run_sticky(assignor_member_t **sorted, int n, const assign_topic_t *topics,
                       int topic_count)
{
    int32_t *base = calloc((size_t)topic_count + 1, sizeof(*base));
    int total = 0;
    if (!base)
        return false;
    for (int t = 0; t < topic_count; t++) {
        base[t] = total;
        total += topics[t].partition_count;
    }
    int *owner = malloc(sizeof(int) * ((size_t)total + 1));
    int *holder = malloc(sizeof(int) * ((size_t)total + 1));
    int *load = calloc((size_t)n + 1, sizeof(int));
    int *owned_valid = calloc((size_t)n + 1, sizeof(int));
    bool ok = owner && holder && load && owned_valid;
    if (!ok)
        goto out;
    for (int g = 0; g < total; g++)
        owner[g] = holder[g] = -1;
    /* Claims: a higher generation wins a partition two members claim. */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < sorted[i]->owned_count; k++) {
            const assign_tp_t *tp = &sorted[i]->owned[k];
            int t = topic_index(topics, topic_count, tp->topic);
            if (t < 0 || tp->partition < 0 || tp->partition >= topics[t].partition_count ||
                !subscribes(sorted[i], tp->topic))
                continue;
            int g = base[t] + tp->partition;
            if (owner[g] >= 0 && sorted[owner[g]]->generation >= sorted[i]->generation)
                continue;
            if (owner[g] >= 0)
                owned_valid[owner[g]]--;
            owner[g] = i;
            owned_valid[i]++;
        }
    /* Quotas: total subscribed partitions over the members, the largest
     * owners keeping the extra one. */
    int subscribed = 0;
    for (int t = 0; t < topic_count; t++) {
        bool any = false;
        for (int i = 0; i < n; i++)
            any = any || subscribes(sorted[i], topics[t].name);
        if (any)
            subscribed += topics[t].partition_count;
    }
    int min_quota = subscribed / n, extra = subscribed % n;
    for (int i = 0; i < n; i++) {
        int best = -1;
        for (int j = 0; j < n; j++)
            if (owned_valid[j] >= 0 && (best < 0 || owned_valid[j] > owned_valid[best]))
                best = j;
        int quota = min_quota;
        if (extra > 0 && owned_valid[best] > min_quota) {
            quota++;
            extra--;
        }
        for (int g = 0; g < total; g++)
            if (owner[g] == best && load[best] < quota) {
                holder[g] = best;
                load[best]++;
            }
        owned_valid[best] = -1; /* done */
    }
    /* The rest goes to the least loaded subscriber (member id order on
     * ties); a partition that another member validly owned is withheld
     * until that member has revoked it. */
    for (int t = 0; t < topic_count; t++)
        for (int32_t p = 0; p < topics[t].partition_count; p++) {
            int g = base[t] + p;
            if (holder[g] >= 0)
                continue;
            int best = -1;
            for (int i = 0; i < n; i++)
                if (subscribes(sorted[i], topics[t].name) && (best < 0 || load[i] < load[best]))
                    best = i;
            if (best < 0)
                continue;
            load[best]++;
            holder[g] = owner[g] >= 0 && owner[g] != best ? -2 - best : best;
        }
    for (int t = 0; ok && t < topic_count; t++)
        for (int32_t p = 0; ok && p < topics[t].partition_count; p++)
            if (holder[base[t] + p] >= 0)
                ok = give(sorted[holder[base[t] + p]], topics[t].name, p);
out:
    free(base);
    free(owner);
    free(holder);
    free(load);
    free(owned_valid);
    return ok;
}

samsa_err_t assignor_run(const char *name, assignor_member_t *members, int n,
                         const assign_topic_t *topics, int topic_count)
{
    if (!assignor_known(name))
        return SAMSA_ERR__INVALID_ARG;
    for (int i = 0; i < n; i++)
        members[i].assigned_count = 0;
    if (n == 0)
        return SAMSA_ERR_NONE;
    assignor_member_t **sorted = calloc((size_t)n, sizeof(*sorted));
    assign_topic_t *tsorted = calloc((size_t)topic_count + 1, sizeof(*tsorted));
    bool ok = sorted && tsorted;
    if (ok) {
        for (int i = 0; i < n; i++)
            sorted[i] = &members[i];
        qsort(sorted, (size_t)n, sizeof(*sorted), cmp_member);
        if (topic_count)
            memcpy(tsorted, topics, sizeof(*topics) * (size_t)topic_count);
        qsort(tsorted, (size_t)topic_count, sizeof(*tsorted), cmp_topic);
        if (!strcmp(name, "range"))
            ok = run_range(sorted, n, tsorted, topic_count);
        else if (!strcmp(name, "roundrobin"))
            ok = run_roundrobin(sorted, n, tsorted, topic_count);
        else
            ok = run_sticky(sorted, n, tsorted, topic_count);
    }
    free(sorted);
    free(tsorted);
    if (!ok) {
        assignor_members_free(members, n);
        return SAMSA_ERR__NOMEM;
    }
    for (int i = 0; i < n; i++)
        if (members[i].assigned_count > 1)
            qsort(members[i].assigned, (size_t)members[i].assigned_count,
                  sizeof(*members[i].assigned), cmp_tp);
    return SAMSA_ERR_NONE;
}
