/*
 * dist.c - the scalar reference distance kernels (the oracle the ISA variants in
 * dist_avx2.c / dist_avx512.c / dist_neon.c are tested against), fp16 conversion, and the
 * choice of kernels for this CPU. Kernels compute dot products only: L2 comes
 * from ||q||^2 - 2 q.x + ||x||^2 with stored norms (as FAISS's flat L2 does).
 */
#include <math.h>
#include <string.h>

#include "index.h"

static float dot_f32_ref(const float *a, const float *b, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}

static float dot_f16_ref(const float *a, const uint16_t *b, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += a[i] * f16_to_f32(b[i]);
    return s;
}

static float dot_i8_ref(const float *a, const int8_t *b, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += a[i] * (float)b[i];
    return s;
}

static void dot_block_ref(const float *Q, int nq, size_t ldq, const float *X, int nx, size_t ldx, int d, float *out,
                          int ldo) {
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nx; j++) out[(size_t)i * ldo + j] = dot_f32_ref(Q + i * ldq, X + j * ldx, d);
}

static void adc_ref(const float *tab, const uint8_t *codes, int n, int m, float *out) {
    for (int i = 0; i < n; i++) {
        const uint8_t *c = codes + (size_t)i * m;
        float s = 0;
        for (int j = 0; j < m; j++) s += tab[j * 256 + c[j]];
        out[i] = s;
    }
}

/* Bitwise CRC32C (reflected polynomial 0x82F63B78): slow, the oracle of the SSE4.2 one. */
static uint32_t crc32c_ref(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static const dist_kernels k_ref = {"scalar", dot_f32_ref, dot_f16_ref, dot_i8_ref, dot_block_ref, adc_ref, crc32c_ref};

const dist_kernels *dist_ref(void) { return &k_ref; }

const dist_kernels *dist_get(void) {
    wn_isa isa = wn_cpu_isa();
    const dist_kernels *k = NULL;
    if (isa == WN_ISA_NEON) {
        k = dist_neon();
    } else {
        if (isa == WN_ISA_AVX512) k = dist_avx512();
        if (!k && isa >= WN_ISA_AVX2) k = dist_avx2();
    }
    return k ? k : &k_ref;
}

/* IEEE 754 binary16 conversions, round to nearest even, with subnormals. */
uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return (uint16_t)(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0));
    if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) {                                    /* below 2^-14: subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign;           /* < 2^-25 rounds to 0 */
        uint32_t e = ax >> 23, mant = (ax & 0x7FFFFFu) | 0x800000u;
        int shift = 126 - (int)e; /* 14..24 */
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((ax - 0x38000000u) >> 13);
    uint32_t rem = ax & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FFu, x;
    if (e == 0) {
        if (m == 0) x = sign;
        else {
            float f = (float)m * (1.0f / 16777216.0f); /* m * 2^-24 */
            memcpy(&x, &f, 4);
            x |= sign;
        }
    } else if (e == 31) x = sign | 0x7F800000u | (m << 13);
    else x = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}
