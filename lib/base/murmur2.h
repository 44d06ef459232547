/*
 * murmur2.h: the MurmurHash2 variant Kafka's Java client uses to pick a
 * partition for a keyed record, so that samsa's producer sends a key to the
 * same partition as every other Kafka client with the default partitioner.
 */
#ifndef SAMSA_BASE_MURMUR2_H
#define SAMSA_BASE_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* The 32-bit hash of len bytes at key (key may be NULL when len is 0), bit
 * for bit what org.apache.kafka.common.utils.Utils.murmur2 returns (read
 * its int as unsigned). Pure function; any thread. */
uint32_t murmur2(const void *key, size_t len);

/* The partition the Java client's default partitioner gives a non-null key:
 * (murmur2(key) & 0x7fffffff) % num_partitions. Returns -1 when
 * num_partitions is not positive. Any thread. */
int32_t murmur2_partition(const void *key, size_t len, int32_t num_partitions);

#endif /* SAMSA_BASE_MURMUR2_H */
