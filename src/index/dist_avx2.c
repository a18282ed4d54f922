/*
 * dist_avx2.c - AVX2 + FMA (+ F16C, SSE4.2 CRC32C) distance kernels; the Makefile
 * compiles this file with -mavx2 -mfma -mf16c. Same results as dist.c up to the
 * order of float additions.
 */
#include "index.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

static float dot_f32(const float *a, const float *b, int d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= d; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < d; i++) s += a[i] * b[i];
    return s;
}

static float dot_f16(const float *a, const uint16_t *b, int d) {
    __m256 s0 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 y = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), y, s0);
    }
    float s = hsum8(s0);
    for (; i < d; i++) s += a[i] * f16_to_f32(b[i]);
    return s;
}

static float dot_i8(const float *a, const int8_t *b, int d) {
    __m256 s0 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        __m256 y = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b + i))));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), y, s0);
    }
    float s = hsum8(s0);
    for (; i < d; i++) s += a[i] * (float)b[i];
    return s;
}

/* 4 queries x 2 rows per tile: 8 accumulators, 6 loads per 8 FMAs. */
static void dot_block(const float *Q, int nq, size_t ldq, const float *X, int nx, size_t ldx, int d, float *out,
                      int ldo) {
    if (d < 8) { /* short rows (PQ subspaces): horizontal sums would dominate */
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nx; j++) {
                float s = 0;
                for (int t = 0; t < d; t++) s += Q[i * ldq + t] * X[j * ldx + t];
                out[(size_t)i * ldo + j] = s;
            }
        return;
    }
    int d8 = d & ~7;
    int i = 0;
    for (; i + 4 <= nq; i += 4) {
        const float *q0 = Q + i * ldq, *q1 = q0 + ldq, *q2 = q1 + ldq, *q3 = q2 + ldq;
        int j = 0;
        for (; j + 2 <= nx; j += 2) {
            const float *x0 = X + j * ldx, *x1 = x0 + ldx;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                   a31 = a00;
            for (int t = 0; t < d8; t += 8) {
                __m256 y0 = _mm256_loadu_ps(x0 + t), y1 = _mm256_loadu_ps(x1 + t), v;
                v = _mm256_loadu_ps(q0 + t), a00 = _mm256_fmadd_ps(v, y0, a00), a01 = _mm256_fmadd_ps(v, y1, a01);
                v = _mm256_loadu_ps(q1 + t), a10 = _mm256_fmadd_ps(v, y0, a10), a11 = _mm256_fmadd_ps(v, y1, a11);
                v = _mm256_loadu_ps(q2 + t), a20 = _mm256_fmadd_ps(v, y0, a20), a21 = _mm256_fmadd_ps(v, y1, a21);
                v = _mm256_loadu_ps(q3 + t), a30 = _mm256_fmadd_ps(v, y0, a30), a31 = _mm256_fmadd_ps(v, y1, a31);
            }
            float r[8] = {hsum8(a00), hsum8(a01), hsum8(a10), hsum8(a11),
                          hsum8(a20), hsum8(a21), hsum8(a30), hsum8(a31)};
            for (int t = d8; t < d; t++) {
                r[0] += q0[t] * x0[t], r[1] += q0[t] * x1[t], r[2] += q1[t] * x0[t], r[3] += q1[t] * x1[t];
                r[4] += q2[t] * x0[t], r[5] += q2[t] * x1[t], r[6] += q3[t] * x0[t], r[7] += q3[t] * x1[t];
            }
            for (int u = 0; u < 4; u++) {
                out[(size_t)(i + u) * ldo + j] = r[2 * u];
                out[(size_t)(i + u) * ldo + j + 1] = r[2 * u + 1];
            }
        }
        for (; j < nx; j++)
            for (int u = 0; u < 4; u++) out[(size_t)(i + u) * ldo + j] = dot_f32(Q + (i + u) * ldq, X + j * ldx, d);
    }
    for (; i < nq; i++)
        for (int j = 0; j < nx; j++) out[(size_t)i * ldo + j] = dot_f32(Q + i * ldq, X + j * ldx, d);
}

static void adc(const float *tab, const uint8_t *codes, int n, int m, float *out) {
    int i = 0;
    const __m256i stride = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(m));
    const __m256i lo8 = _mm256_set1_epi32(0xFF);
    /* a 32-bit gather reads 3 bytes past each code: stay 3 bytes inside the array */
    for (; i + 8 <= n && (size_t)(i + 7) * m + (size_t)m - 1 + 4 <= (size_t)n * m; i += 8) {
        __m256 s = _mm256_setzero_ps();
        const uint8_t *c = codes + (size_t)i * m;
        for (int j = 0; j < m; j++) {
            __m256i idx = _mm256_and_si256(_mm256_i32gather_epi32((const int *)(c + j), stride, 1), lo8);
            s = _mm256_add_ps(s, _mm256_i32gather_ps(tab + j * 256, idx, 4));
        }
        _mm256_storeu_ps(out + i, s);
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + (size_t)i * m;
        float s = 0;
        for (int j = 0; j < m; j++) s += tab[j * 256 + c[j]];
        out[i] = s;
    }
}

uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        __builtin_memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n; n--, p++) c32 = _mm_crc32_u8(c32, *p);
    return ~c32;
}

static const dist_kernels k_avx2 = {"avx2+fma", dot_f32, dot_f16, dot_i8, dot_block, adc, crc32c_sse42};
const dist_kernels *dist_avx2(void) { return &k_avx2; }
#else
const dist_kernels *dist_avx2(void) { return NULL; }
#endif
