/*
 * shim.h: C helpers of the Go binding. Delivery reports are collected in C
 * memory (no call into Go per message) and taken by Go in batches; the
 * consumer's rebalance and commit callbacks call exported Go functions.
 */
#ifndef SAMSA_GO_SHIM_H
#define SAMSA_GO_SHIM_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "samsa.h"

/* The outcome of one message as Go reads it. errstr is malloc'd (NULL on
 * success) and freed with the batch. */
typedef struct samsa_go_report {
    uint64_t id;
    int32_t partition;
    int32_t err;
    int64_t offset;
    int64_t timestamp_ms;
    char *errstr;
} samsa_go_report_t;

/* Reports served and not yet taken by Go. lost counts reports that could not
 * be recorded for want of memory. */
typedef struct samsa_go_reports {
    pthread_mutex_t lock;
    samsa_go_report_t *items;
    size_t count;
    size_t cap;
    size_t lost;
} samsa_go_reports_t;

/* A new collector, or NULL when memory runs out. */
samsa_go_reports_t *samsa_go_reports_new(void);

/* Frees a collector and the reports still in it. */
void samsa_go_reports_free(samsa_go_reports_t *r);

/* Moves the collected reports to the caller: *items (free with
 * samsa_go_report_batch_free, n entries) and *lost; returns their number. */
size_t samsa_go_reports_take(samsa_go_reports_t *r, samsa_go_report_t **items, size_t *lost);

/* Frees a batch returned by samsa_go_reports_take. */
void samsa_go_report_batch_free(samsa_go_report_t *items, size_t n);

/* A producer whose delivery reports go to collector. NULL with errstr on
 * failure. */
samsa_producer_t *samsa_go_producer_new(const char *const *keys, const char *const *values,
                                        size_t n, samsa_go_reports_t *collector, char *errstr,
                                        size_t errlen);

/* samsa_producer_send with the message id as its opaque. */
samsa_err_t samsa_go_send(samsa_producer_t *p, const char *topic, int32_t partition,
                          const void *key, size_t key_len, const void *value, size_t value_len,
                          const samsa_header_t *headers, size_t header_count,
                          int64_t timestamp_ms, uint64_t id);

/* A consumer whose rebalance (when rebalance is set) and commit (when commit
 * is set) callbacks call Go with handle. */
samsa_consumer_t *samsa_go_consumer_new(const char *const *keys, const char *const *values,
                                        size_t n, int rebalance, int commit, uintptr_t handle,
                                        char *errstr, size_t errlen);

/* A consumed message copied by samsa_go_poll: where it is and its sizes
 * (key_len and value_len -1 for a null key or value). */
typedef struct samsa_go_msg {
    int32_t partition;
    int32_t leader_epoch;
    int64_t offset;
    int64_t timestamp_ms;
    int64_t key_len;
    int64_t value_len;
    int32_t timestamp_type;
    uint32_t topic_len;
} samsa_go_msg_t;

/* Polls the consumer for up to timeout_ms. A message without headers or
 * error whose topic, key and value fit in buf (buflen bytes) is copied there
 * (topic, key, value, back to back), described in *out and freed: then 1 is
 * returned and *msg is NULL. Any other message is returned in *msg for the
 * caller to convert and free (0 returned); with no message, 0 and *msg
 * NULL. */
int samsa_go_poll(samsa_consumer_t *c, int timeout_ms, void *buf, size_t buflen,
                  samsa_go_msg_t *out, samsa_message_t **msg);

/* An array of n C strings, or NULL when memory runs out; free with
 * samsa_go_strings_free (which frees the strings set too). */
char **samsa_go_strings_new(size_t n);
void samsa_go_strings_free(char **s, size_t n);

/* A malloc'd array of n zeroed elements of size bytes (NULL when out of
 * memory or n is 0). */
void *samsa_go_calloc(size_t n, size_t size);

#endif
