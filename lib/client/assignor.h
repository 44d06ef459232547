/*
 * assignor.h: what the consumer group leader needs to hand out partitions:
 * the byte formats of Kafka's consumer protocol (ConsumerProtocolSubscription
 * versions 0-3 and ConsumerProtocolAssignment, the "consumer" protocol type
 * carried opaquely by JoinGroup and SyncGroup) and the three assignors
 * Kafka's clients share: range, roundrobin and cooperative-sticky.
 *
 * Everything here is pure (no I/O, no globals) and thread-safe per call.
 */
#ifndef SAMSA_CLIENT_ASSIGNOR_H
#define SAMSA_CLIENT_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "samsa.h"

/* A topic partition; who owns topic is said where the type is used. */
typedef struct assign_tp {
    const char *topic;
    int32_t partition;
} assign_tp_t;

/* A decoded subscription or assignment: every string points into strings,
 * one allocation owned by the struct (free with cproto_subscription_free). */
typedef struct cproto_subscription {
    int16_t version;
    const char **topics;
    int topic_count;
    assign_tp_t *owned;       /* owned partitions (v1+) */
    int owned_count;
    int32_t generation;       /* v2+; -1 when absent */
    char *strings;
} cproto_subscription_t;

/* Writes a ConsumerProtocolSubscription of version (0-3) to out: topics,
 * null user data, the owned partitions grouped by topic in the order given
 * (v1+), generation (v2+) and a null rack (v3). Returns SAMSA_ERR_NONE or
 * SAMSA_ERR__NOMEM (out failed). */
samsa_err_t cproto_subscription_encode(buf_t *out, int16_t version, const char *const *topics,
                                       int topic_count, const assign_tp_t *owned, int owned_count,
                                       int32_t generation);

/* Reads a subscription of any version (fields of later versions than 3
 * are skipped). Returns SAMSA_ERR_NONE, SAMSA_ERR__BAD_MSG for malformed
 * bytes or SAMSA_ERR__NOMEM; on error *out holds nothing to free. */
samsa_err_t cproto_subscription_decode(const uint8_t *data, size_t len,
                                       cproto_subscription_t *out);

void cproto_subscription_free(cproto_subscription_t *s);

/* Writes a ConsumerProtocolAssignment (version 3 layout, which versions 0-2
 * share): tps grouped by topic (consecutive entries of one topic form one
 * group), null user data. Returns SAMSA_ERR_NONE or SAMSA_ERR__NOMEM. */
samsa_err_t cproto_assignment_encode(buf_t *out, const assign_tp_t *tps, int count);

/* Reads an assignment into a subscription struct (only owned/owned_count,
 * the assigned partitions, and version are set; an empty input is an
 * empty assignment). Same returns as cproto_subscription_decode. */
samsa_err_t cproto_assignment_decode(const uint8_t *data, size_t len, cproto_subscription_t *out);

/* One member as the assignor sees it. Inputs: member_id, topics (its
 * subscription), owned (partitions it had, for cooperative-sticky),
 * generation. Output: assigned/assigned_count (malloc'd array whose topic
 * pointers point at the names in the topics passed to assignor_run). */
typedef struct assignor_member {
    const char *member_id;
    const char *const *topics;
    int topic_count;
    const assign_tp_t *owned;
    int owned_count;
    int32_t generation;
    assign_tp_t *assigned;
    int assigned_count;
    int assigned_cap;
} assignor_member_t;

typedef struct assign_topic {
    const char *name;
    int32_t partition_count;
} assign_topic_t;

/* Whether name is an assignor samsa implements. */
bool assignor_known(const char *name);

/* Whether name's protocol is cooperative (only revokes what moves). */
bool assignor_cooperative(const char *name);

/* Runs assignor name over members (n) and the topics' partition counts,
 * filling each member's assigned list sorted by topic then partition.
 * range and roundrobin assign exactly as Java's RangeAssignor and
 * RoundRobinAssignor; cooperative-sticky keeps owned partitions where the
 * balance allows, gives every member between floor and ceil of its fair
 * share (same subscriptions), and leaves a partition that moves from one
 * member to another unassigned in this round (the owner revokes it first).
 * Returns SAMSA_ERR_NONE, SAMSA_ERR__INVALID_ARG for an unknown name or
 * SAMSA_ERR__NOMEM (then the members' lists are freed). */
samsa_err_t assignor_run(const char *name, assignor_member_t *members, int n,
                         const assign_topic_t *topics, int topic_count);

/* Frees every member's assigned list. */
void assignor_members_free(assignor_member_t *members, int n);

#endif /* SAMSA_CLIENT_ASSIGNOR_H */
