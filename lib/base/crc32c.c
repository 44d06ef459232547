/*
 * crc32c.c: CRC-32C with a hardware path and a portable slicing-by-8 path.
 *
 * The hardware path (SSE4.2 crc32 on x86-64, the CRC extension on ARMv8)
 * hides the instruction's 3-cycle latency by running three independent
 * streams over three adjacent blocks of a large buffer and then joining
 * them: the CRC register is linear, so the state after blocks A|B equals
 * "A's state advanced over |B| zero bytes" XOR "B's state started from 0".
 * Advancing a state over a fixed number of zero bytes is a linear map of
 * its 32 bits, kept here as four 256-entry tables per block size (one per
 * state byte), built once at load time, so every CPU with the CRC
 * instruction takes this path. On x86-64 CPUs with AVX-512 VPCLMULQDQ,
 * buffers of 1 KiB and more are folded with carry-less multiplies instead,
 * which runs several times faster than the crc32 instruction can (below).
 */
#include "base/crc32c.h"

#include <string.h>

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

/* Block sizes of the three-stream loop: large buffers go in rounds of
 * 3 x LONG_BLOCK bytes, what is left in rounds of 3 x SHORT_BLOCK. */
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t table[8][256];
static uint32_t shift_long[4][256];  /* advance a state over LONG_BLOCK zero bytes */
static uint32_t shift_short[4][256]; /* advance a state over SHORT_BLOCK zero bytes */
static uint32_t (*impl)(uint32_t, const void *, size_t);

/* ---- linear maps over GF(2)^32 ---------------------------------------- */

/* A linear map of the 32-bit CRC state, as the images of its 32 unit bits. */
typedef struct gf2_map {
    uint32_t col[32];
} gf2_map_t;

static uint32_t gf2_apply(const gf2_map_t *m, uint32_t v)
{
    uint32_t out = 0;
    for (int i = 0; v; i++, v >>= 1)
        if (v & 1)
            out ^= m->col[i];
    return out;
}

/* Returns a after b (first b, then a). */
static gf2_map_t gf2_compose(const gf2_map_t *a, const gf2_map_t *b)
{
    gf2_map_t out;
    for (int i = 0; i < 32; i++)
        out.col[i] = gf2_apply(a, b->col[i]);
    return out;
}

/* Fills t with the map "advance the state over nbytes zero bytes", split
 * by state byte so that applying it costs four lookups. */
static void make_shift_table(uint32_t t[4][256], size_t nbytes)
{
    gf2_map_t step; /* one zero bit */
    step.col[0] = POLY;
    for (int i = 1; i < 32; i++)
        step.col[i] = 1u << (i - 1);
    gf2_map_t acc;
    for (int i = 0; i < 32; i++)
        acc.col[i] = 1u << i;
    for (size_t bits = nbytes * 8; bits; bits >>= 1) {
        if (bits & 1)
            acc = gf2_compose(&step, &acc);
        step = gf2_compose(&step, &step);
    }
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++)
            t[k][b] = gf2_apply(&acc, b << (8 * k));
}

static inline uint32_t shift_state(const uint32_t t[4][256], uint32_t s)
{
    return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
}

static void make_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    make_shift_table(shift_long, LONG_BLOCK);
    make_shift_table(shift_short, SHORT_BLOCK);
}

/* ---- portable --------------------------------------------------------- */

static uint32_t portable(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
              table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* ---- hardware --------------------------------------------------------- */

/*
 * HW_BODY expands to the body of a hardware CRC function given two step
 * macros: STEP8(state, uint64 word) and STEP1(state, byte). It aligns p to
 * 8 bytes, runs three streams over rounds of 3 x LONG_BLOCK and then
 * 3 x SHORT_BLOCK, joins them with the shift tables, and finishes one
 * word at a time.
 */
#define HW_ROUNDS(BLOCK, SHIFT_TABLE, STEP8)                                  \
    while (len >= 3 * (size_t)(BLOCK)) {                                      \
        uint64_t c1 = 0, c2 = 0;                                              \
        const uint8_t *end = p + (BLOCK);                                     \
        do {                                                                  \
            uint64_t w0, w1, w2;                                              \
            memcpy(&w0, p, 8);                                                \
            memcpy(&w1, p + (BLOCK), 8);                                      \
            memcpy(&w2, p + 2 * (BLOCK), 8);                                  \
            c0 = STEP8(c0, w0);                                               \
            c1 = STEP8(c1, w1);                                               \
            c2 = STEP8(c2, w2);                                               \
            p += 8;                                                           \
        } while (p < end);                                                    \
        c0 = shift_state(SHIFT_TABLE, (uint32_t)c0) ^ (uint32_t)c1;           \
        c0 = shift_state(SHIFT_TABLE, (uint32_t)c0) ^ (uint32_t)c2;           \
        p += 2 * (size_t)(BLOCK);                                             \
        len -= 3 * (size_t)(BLOCK);                                           \
    }

#define HW_BODY(STEP8, STEP1)                                                 \
    const uint8_t *p = data;                                                  \
    uint64_t c0 = ~crc;                                                       \
    while (len && ((uintptr_t)p & 7)) {                                       \
        c0 = STEP1(c0, *p++);                                                 \
        len--;                                                                \
    }                                                                         \
    HW_ROUNDS(LONG_BLOCK, shift_long, STEP8)                                  \
    HW_ROUNDS(SHORT_BLOCK, shift_short, STEP8)                                \
    while (len >= 8) {                                                        \
        uint64_t w;                                                           \
        memcpy(&w, p, 8);                                                     \
        c0 = STEP8(c0, w);                                                    \
        p += 8;                                                               \
        len -= 8;                                                             \
    }                                                                         \
    while (len--)                                                             \
        c0 = STEP1(c0, *p++);                                                 \
    return ~(uint32_t)c0;

#if defined(__x86_64__)
#include <immintrin.h>

#define X86_STEP8(c, w) __builtin_ia32_crc32di((c), (w))
#define X86_STEP1(c, b) __builtin_ia32_crc32qi((uint32_t)(c), (b))

__attribute__((target("sse4.2"))) static uint32_t hardware(uint32_t crc, const void *data,
                                                            size_t len)
{
    HW_BODY(X86_STEP8, X86_STEP1)
}

/*
 * Carry-less multiply folding (PCLMULQDQ). A 16-byte lane loaded little-
 * endian holds 128 message bits, the first one in bit 0, so bit k stands
 * for x^(127-k): its low quadword is the high half H of the polynomial and
 * its high quadword the low half L. Moving the lane F bits further down the
 * message multiplies it by x^F; modulo P that is
 *     H * (x^(F+64) mod P)  +  L * (x^F mod P),
 * two 64x32-bit carry-less products that fit in 128 bits again, so the
 * moved lane is XORed into the lane F bits later. Many lanes fold in
 * parallel (16 here, in four AVX-512 registers; with 128-bit registers the
 * folding is no faster than three crc32 streams, so CPUs without VPCLMULQDQ
 * take that path); at the end they are folded into one, and the crc32 instruction
 * reduces that last lane (crc32 over 16 bytes from state 0 is exactly
 * "lane * x^32 mod P"). The initial state is XORed into the first four
 * message bytes, which is how a CRC register's start value acts.
 *
 * The product of two reflected 64-bit operands comes out one bit short of
 * the lane's frame, so each constant is stored for x^(e-1): the register
 * value of x^(e-1) mod P, shifted into the top half of a quadword.
 */
static uint64_t fold_k128[2];  /* fold one lane onto the next */
static uint64_t fold_k512[2];  /* 4 lanes apart: one zmm register onto the next */
static uint64_t fold_k2048[2]; /* 16 lanes apart: one zmm round of 256 bytes */

/* x^n mod P as a CRC register value (bit 31 is x^0). */
static uint32_t xpow_mod(size_t n)
{
    uint32_t s = 0x80000000u;
    while (n--)
        s = s & 1 ? (s >> 1) ^ POLY : s >> 1;
    return s;
}

static void make_fold_constants(uint64_t k[2], size_t fold_bits)
{
    k[0] = (uint64_t)xpow_mod(fold_bits + 64 - 1) << 32; /* multiplies H */
    k[1] = (uint64_t)xpow_mod(fold_bits - 1) << 32;      /* multiplies L */
}

#define FOLD_TARGET "sse4.2,pclmul"
#define FOLD512_TARGET "sse4.2,pclmul,avx512f,avx512vl,vpclmulqdq"

__attribute__((target(FOLD_TARGET))) static inline __m128i fold_lane(__m128i x, __m128i k,
                                                                      __m128i next)
{
    __m128i h = _mm_clmulepi64_si128(x, k, 0x00), l = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(h, l), next);
}

__attribute__((target(FOLD_TARGET))) static inline uint32_t reduce_lane(__m128i x)
{
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
    return (uint32_t)_mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(x, 1));
}

__attribute__((target(FOLD512_TARGET))) static inline __m512i fold_zmm(__m512i x, __m512i k,
                                                                        __m512i next)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), next, 0x96);
}

/* Register state after n bytes at p (n a multiple of 256, at least 256)
 * starting from state, folding four 64-byte registers of four lanes each. */
__attribute__((target(FOLD512_TARGET))) static uint32_t fold_avx512(uint32_t state,
                                                                     const uint8_t *p, size_t n)
{
    const __m512i k16 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)fold_k2048));
    const __m512i k4 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)fold_k512));
    const __m128i k1 = _mm_loadu_si128((const __m128i *)fold_k128);
    __m512i a0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, state));
    __m512i a1 = _mm512_loadu_si512(p + 64);
    __m512i a2 = _mm512_loadu_si512(p + 128);
    __m512i a3 = _mm512_loadu_si512(p + 192);
    for (p += 256, n -= 256; n; p += 256, n -= 256) {
        a0 = fold_zmm(a0, k16, _mm512_loadu_si512(p));
        a1 = fold_zmm(a1, k16, _mm512_loadu_si512(p + 64));
        a2 = fold_zmm(a2, k16, _mm512_loadu_si512(p + 128));
        a3 = fold_zmm(a3, k16, _mm512_loadu_si512(p + 192));
    }
    __m512i x = fold_zmm(fold_zmm(fold_zmm(a0, k4, a1), k4, a2), k4, a3);
    __m128i l = fold_lane(_mm512_castsi512_si128(x), k1, _mm512_extracti32x4_epi32(x, 1));
    l = fold_lane(l, k1, _mm512_extracti32x4_epi32(x, 2));
    return reduce_lane(fold_lane(l, k1, _mm512_extracti32x4_epi32(x, 3)));
}

/* Buffers shorter than this go through the three-stream crc32 path, whose
 * start-up cost is lower. */
#define FOLD_MIN_BYTES 1024

/* The crc32 instruction for the bytes that do not fill a whole round. */
__attribute__((target("sse4.2"))) static uint32_t finish_sse42(uint32_t state, const uint8_t *p,
                                                                size_t len)
{
    uint64_t c = state;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = X86_STEP8(c, w);
    }
    while (len--)
        c = X86_STEP1(c, *p++);
    return (uint32_t)c;
}

static uint32_t hardware_avx512(uint32_t crc, const void *data, size_t len)
{
    if (len < FOLD_MIN_BYTES)
        return hardware(crc, data, len);
    size_t n = len & ~(size_t)255;
    uint32_t state = fold_avx512(~crc, data, n);
    return ~finish_sse42(state, (const uint8_t *)data + n, len - n);
}

static int cpu_sse42(void) { return __builtin_cpu_supports("sse4.2"); }
static int cpu_avx512_vpclmul(void)
{
    return cpu_sse42() && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("vpclmulqdq");
}

static void make_arch_tables(void)
{
    __builtin_cpu_init();
    make_fold_constants(fold_k128, 128);
    make_fold_constants(fold_k512, 512);
    make_fold_constants(fold_k2048, 2048);
}

#define ARCH_VARIANTS                                          \
    {"avx512-vpclmul", hardware_avx512, cpu_avx512_vpclmul},   \
    {"sse4.2", hardware, cpu_sse42},

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
/* The compilers' builtins, usable in a function with the crc target even
 * when the whole file is not built for it (arm_acle.h hides them then). */
#if defined(__clang__)
#define ARM_STEP8(c, w) __builtin_arm_crc32cd((uint32_t)(c), (w))
#define ARM_STEP1(c, b) __builtin_arm_crc32cb((uint32_t)(c), (b))
#define ARM_CRC_TARGET __attribute__((target("crc")))
#else
#define ARM_STEP8(c, w) __builtin_aarch64_crc32cx((uint32_t)(c), (w))
#define ARM_STEP1(c, b) __builtin_aarch64_crc32cb((uint32_t)(c), (b))
#define ARM_CRC_TARGET __attribute__((target("+crc")))
#endif

ARM_CRC_TARGET static uint32_t hardware(uint32_t crc, const void *data, size_t len)
{
    HW_BODY(ARM_STEP8, ARM_STEP1)
}

static int cpu_crc(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
static void make_arch_tables(void) {}
#define ARCH_VARIANTS {"armv8-crc", hardware, cpu_crc},

#else
static void make_arch_tables(void) {}
#define ARCH_VARIANTS
#endif

static int cpu_any(void) { return 1; }

/* The implementations this build has, fastest first; the first one the
 * CPU supports is used. */
static const struct crc32c_variant {
    const char *name;
    uint32_t (*fn)(uint32_t, const void *, size_t);
    int (*supported)(void);
} variants[] = {ARCH_VARIANTS{"portable", portable, cpu_any}};
static const char *impl_name;

__attribute__((constructor)) static void crc32c_init(void)
{
    make_tables();
    make_arch_tables();
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        if (variants[i].supported()) {
            impl = variants[i].fn;
            impl_name = variants[i].name;
            break;
        }
    }
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len) { return impl(crc, data, len); }

uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len)
{
    return portable(crc, data, len);
}

int crc32c_hardware(void) { return impl != portable; }

const char *crc32c_impl_name(void) { return impl_name; }

int crc32c_use(const char *name)
{
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        if (!strcmp(variants[i].name, name)) {
            if (!variants[i].supported())
                return -1;
            impl = variants[i].fn;
            impl_name = variants[i].name;
            return 0;
        }
    }
    return -1;
}

const char *crc32c_variant_name(size_t i)
{
    return i < sizeof(variants) / sizeof(variants[0]) ? variants[i].name : NULL;
}
