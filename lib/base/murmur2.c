/*
 * murmur2.c: Kafka's MurmurHash2 (seed 0x9747b28c) and key partitioning.
 *
 * Java computes it on signed ints; every step (multiply, xor, unsigned
 * shift >>>) gives the same bits on uint32_t, and Java masks each byte with
 * 0xff, so bytes are read unsigned here too. Blocks are little-endian.
 */
#include "base/murmur2.h"

#define MURMUR2_SEED 0x9747b28cu
#define MURMUR2_M 0x5bd1e995u
#define MURMUR2_R 24

uint32_t murmur2(const void *key, size_t len)
{
    const uint8_t *p = key;
    /* Java's length is an int: the seed is mixed with its low 32 bits. */
    uint32_t h = MURMUR2_SEED ^ (uint32_t)len;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++, p += 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        k *= MURMUR2_M;
        k ^= k >> MURMUR2_R;
        k *= MURMUR2_M;
        h *= MURMUR2_M;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        h ^= p[0];
        h *= MURMUR2_M;
    }
    h ^= h >> 13;
    h *= MURMUR2_M;
    h ^= h >> 15;
    return h;
}

int32_t murmur2_partition(const void *key, size_t len, int32_t num_partitions)
{
    if (num_partitions <= 0)
        return -1;
    return (int32_t)((murmur2(key, len) & 0x7fffffffu) % (uint32_t)num_partitions);
}
