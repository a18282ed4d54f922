/*
 * dist_avx512.c - AVX-512 distance kernels (the Makefile adds the AVX-512 flags to
 * files named *_avx512.c). Tails use masked loads, so no scalar remainder loops.
 * CRC32C is the SSE4.2 one of dist_avx2.c.
 */
#include "index.h"

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

static float dot_f32(const float *a, const float *b, int d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < d; i += 16) {
        __mmask16 mk = d - i >= 16 ? 0xFFFF : (__mmask16)((1u << (d - i)) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), _mm512_maskz_loadu_ps(mk, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float dot_f16(const float *a, const uint16_t *b, int d) {
    __m512 s0 = _mm512_setzero_ps();
    for (int i = 0; i < d; i += 16) {
        __mmask16 mk = d - i >= 16 ? 0xFFFF : (__mmask16)((1u << (d - i)) - 1);
        __m512 y = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, b + i));
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), y, s0);
    }
    return _mm512_reduce_add_ps(s0);
}

static float dot_i8(const float *a, const int8_t *b, int d) {
    __m512 s0 = _mm512_setzero_ps();
    for (int i = 0; i < d; i += 16) {
        __mmask16 mk = d - i >= 16 ? 0xFFFF : (__mmask16)((1u << (d - i)) - 1);
        __m512 y = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, b + i)));
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), y, s0);
    }
    return _mm512_reduce_add_ps(s0);
}

/* 4 queries x 4 rows per tile: 16 accumulators, 8 loads per 16 FMAs. */
static void dot_block(const float *Q, int nq, size_t ldq, const float *X, int nx, size_t ldx, int d, float *out,
                      int ldo) {
    if (d < 16) { /* short rows (PQ subspaces): horizontal sums would dominate */
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nx; j++) {
                float s = 0;
                for (int t = 0; t < d; t++) s += Q[i * ldq + t] * X[j * ldx + t];
                out[(size_t)i * ldo + j] = s;
            }
        return;
    }
    int i = 0;
    for (; i + 4 <= nq; i += 4) {
        const float *q[4] = {Q + i * ldq, Q + (i + 1) * ldq, Q + (i + 2) * ldq, Q + (i + 3) * ldq};
        int j = 0;
        for (; j + 4 <= nx; j += 4) {
            const float *x0 = X + j * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
            __m512 acc[16];
            for (int u = 0; u < 16; u++) acc[u] = _mm512_setzero_ps();
            for (int t = 0; t < d; t += 16) {
                __mmask16 mk = d - t >= 16 ? 0xFFFF : (__mmask16)((1u << (d - t)) - 1);
                __m512 y0 = _mm512_maskz_loadu_ps(mk, x0 + t), y1 = _mm512_maskz_loadu_ps(mk, x1 + t);
                __m512 y2 = _mm512_maskz_loadu_ps(mk, x2 + t), y3 = _mm512_maskz_loadu_ps(mk, x3 + t);
                for (int u = 0; u < 4; u++) {
                    __m512 v = _mm512_maskz_loadu_ps(mk, q[u] + t);
                    acc[4 * u + 0] = _mm512_fmadd_ps(v, y0, acc[4 * u + 0]);
                    acc[4 * u + 1] = _mm512_fmadd_ps(v, y1, acc[4 * u + 1]);
                    acc[4 * u + 2] = _mm512_fmadd_ps(v, y2, acc[4 * u + 2]);
                    acc[4 * u + 3] = _mm512_fmadd_ps(v, y3, acc[4 * u + 3]);
                }
            }
            /* plain reductions: this machine's tests could not run a cleverer transpose */
            for (int u = 0; u < 4; u++)
                for (int w = 0; w < 4; w++) out[(size_t)(i + u) * ldo + j + w] = _mm512_reduce_add_ps(acc[4 * u + w]);
        }
        for (; j < nx; j++)
            for (int u = 0; u < 4; u++) out[(size_t)(i + u) * ldo + j] = dot_f32(q[u], X + j * ldx, d);
    }
    for (; i < nq; i++)
        for (int j = 0; j < nx; j++) out[(size_t)i * ldo + j] = dot_f32(Q + i * ldq, X + j * ldx, d);
}

static void adc(const float *tab, const uint8_t *codes, int n, int m, float *out) {
    int i = 0;
    const __m512i stride = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(m));
    const __m512i lo8 = _mm512_set1_epi32(0xFF);
    /* a 32-bit gather reads 3 bytes past each code: stay inside the array */
    for (; i + 16 <= n && (size_t)(i + 15) * m + (size_t)m - 1 + 4 <= (size_t)n * m; i += 16) {
        __m512 s = _mm512_setzero_ps();
        const uint8_t *c = codes + (size_t)i * m;
        for (int j = 0; j < m; j++) {
            __m512i idx = _mm512_and_si512(_mm512_i32gather_epi32(stride, (const void *)(c + j), 1), lo8);
            s = _mm512_add_ps(s, _mm512_i32gather_ps(idx, tab + j * 256, 4));
        }
        _mm512_storeu_ps(out + i, s);
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + (size_t)i * m;
        float s = 0;
        for (int j = 0; j < m; j++) s += tab[j * 256 + c[j]];
        out[i] = s;
    }
}

static const dist_kernels k_avx512 = {"avx512", dot_f32, dot_f16, dot_i8, dot_block, adc, crc32c_sse42};
const dist_kernels *dist_avx512(void) { return &k_avx512; }
#else
const dist_kernels *dist_avx512(void) { return NULL; }
#endif
