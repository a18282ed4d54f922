/*
 * ops_avx2.c - AVX2+FMA kernels: packed GEMM (fp32 and bf16 weights), fused bias
 * + erf-GELU epilogue, residual + LayerNorm, one-head attention.
 *
 * GEMM: out (M, N) = x (M, K) . W^T. W is packed once at load into panels of 16
 * output channels: panel p holds, for k = 0..K-1, the 16 weights W[16p..16p+15][k]
 * (zero-padded past N). The micro-kernel keeps a 6x16 block of out in 12 ymm
 * registers and, per k, broadcasts one x value per row against two ymm of the
 * panel (BLIS's 6x16 shape for 16 registers). K is cut in blocks of KC so a panel
 * block (KC x 16 floats) stays in L1 while 96 rows of x stay in L2.
 * Threads get a static, contiguous range of (96 rows x 64 columns) tiles; an
 * element's arithmetic does not depend on which thread computes it, so results
 * are bit-identical for any number of threads.
 *
 * bf16 weights: each panel row is 16 bf16 stored so that one 32-byte load gives
 * both halves: lane i holds channel i in its low 16 bits and channel i+8 in its
 * high 16 bits; a shift and an and make them float32. Activations stay float32
 * (this CPU has no bf16 dot product): bf16 halves the weight bytes, not the FMAs.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "nn.h"

#define NR 16
#define MR 6
#ifndef MC /* rows per fp32 tile; a build may set it (benchmarks compare) */
#define MC 96
#endif
#define QMC 96 /* rows per int8 tile (their bytes sit on the stack) */
#define KC 192
#define TILE_PANELS 4

/* ---- vector math */

/* exp(x) for float lanes: Cephes expf (range reduction by ln 2 in two parts,
 * degree-6 polynomial), about 1 ulp; inputs below -87 give 0. */
static inline __m256 exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, p);
}

/* GELU(x) = 0.5 x (1 + erf(x / sqrt2)), as PyTorch writes it, with erf(z) =
 * z P(z^2) / Q(z^2) for |z| <= 3.925 (beyond, erf is 1 in float32): a rational
 * fit of degrees 6 / 4 (scripts/fit_erf.py), 4e-8 from erf in exact arithmetic,
 * up to ~4e-7 after float32 rounding. About 17 instructions and one division:
 * the erfc-and-exp form before it kept relative accuracy in the negative tail
 * but cost 2.5x as much, and in the int8 feed-forward the GELU took a third of
 * the time. The price: GELU's error is absolute, below 1e-7 + 2.5e-7 |x| (the
 * bound tests/test_nn.c holds it to; PyTorch's own float32 GELU errs by ~6e-7 at
 * x = -5.5), which is smaller than the float32 error of the 384-term sum that
 * produced x. */
static inline __m256 gelu256(__m256 x) {
    const __m256 zm = _mm256_set1_ps(3.925f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    z = _mm256_min_ps(_mm256_max_ps(z, _mm256_sub_ps(_mm256_setzero_ps(), zm)), zm);
    __m256 u = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(1.98736139e-08f);
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-1.99372494e-06f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.49366737e-04f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(3.99201317e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(5.14592491e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(2.06585050e-01f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.12837875f));
    __m256 q = _mm256_set1_ps(1.02850457e-03f);
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.49288168e-02f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.17758773e-01f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(5.16409934e-01f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.0f));
    __m256 erf = _mm256_div_ps(_mm256_mul_ps(z, p), q); /* may round past +-1: clamp, or GELU changes sign */
    erf = _mm256_min_ps(_mm256_max_ps(erf, _mm256_set1_ps(-1.0f)), _mm256_set1_ps(1.0f));
    __m256 hx = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(hx, erf, hx);
}

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* lanes [0, n) set, n in 0..8 */
static inline __m256i lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m256 act256(nn_act act, __m256 v) {
    if (act == NN_ACT_GELU) return gelu256(v);
    if (act == NN_ACT_TANH) {
        float t[8];
        _mm256_storeu_ps(t, v);
        for (int i = 0; i < 8; i++) t[i] = tanhf(t[i]);
        return _mm256_loadu_ps(t);
    }
    return v;
}

/* ---- packing */

static wn_status pack_int8(nn_weight *w);

static wn_status pack_avx2(nn_weight *w) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR;
    if (w->prec == NN_PREC_INT8) return pack_int8(w);
    if (w->prec == NN_PREC_BF16) {
        uint16_t *pk = wn_malloc_aligned((size_t)P * K * NR * sizeof(uint16_t));
        if (!pk) return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d bf16 weight", N, K);
        for (int p = 0; p < P; p++)
            for (int k = 0; k < K; k++)
                for (int i = 0; i < NR; i++) {
                    int n = p * NR + (i % 2 ? 8 + i / 2 : i / 2); /* lane i/2: low = c, high = c + 8 */
                    pk[((size_t)p * K + k) * NR + i] = n < N ? nn_f32_to_bf16(w->w[(size_t)n * K + k]) : 0;
                }
        w->packed = pk;
        return WN_OK;
    }
    float *pk = wn_malloc_aligned((size_t)P * K * NR * sizeof(float));
    if (!pk) return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d weight", N, K);
    for (int p = 0; p < P; p++)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < NR; i++) {
                int n = p * NR + i;
                pk[((size_t)p * K + k) * NR + i] = n < N ? w->w[(size_t)n * K + k] : 0.0f;
            }
    w->packed = pk;
    return WN_OK;
}

/* ---- the micro-kernel: rows [0, mr) x 16 columns (nc of them real) of c,
 * over kc values of k. init: start from 0 (else from c); last: add bias, act.
 * Written out per row (FOR_ROWS) so the 12 accumulators live in registers: with
 * mr a constant after inlining, the rows past mr vanish. */
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
static inline __attribute__((always_inline)) void ukernel(const int mr, const int bf16, int kc, const float *a,
                                                          size_t lda, const void *bp, float *c, size_t ldc,
                                                          int nc, int init, int last, const float *bias,
                                                          nn_act act, const char *pf) {
    __m256i m0 = lanes(nc), m1 = lanes(nc - 8);
#define DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
    FOR_ROWS(DECL)
#undef DECL
#define LOADC(r)                                                                                     \
    if (mr > r && !init) {                                                                           \
        if (nc == NR) {                                                                              \
            c##r##0 = _mm256_loadu_ps(c + r * ldc);                                                   \
            c##r##1 = _mm256_loadu_ps(c + r * ldc + 8);                                               \
        } else {                                                                                     \
            c##r##0 = _mm256_maskload_ps(c + r * ldc, m0);                                            \
            c##r##1 = _mm256_maskload_ps(c + r * ldc + 8, m1);                                        \
        }                                                                                            \
    }
    FOR_ROWS(LOADC)
#undef LOADC
    const float *a0 = a, *a1 = a + (mr > 1) * lda, *a2 = a + (mr > 2) * 2 * lda, *a3 = a + (mr > 3) * 3 * lda;
    const float *a4 = a + (mr > 4) * 4 * lda, *a5 = a + (mr > 5) * 5 * lda;
#define FMAROW(r)                                                                                    \
    if (mr > r) {                                                                                    \
        __m256 av = _mm256_broadcast_ss(a##r + k);                                                   \
        c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                                                  \
        c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);                                                  \
    }
    /* pf (or NULL): the weight block the next call reads, one cache line per
     * step, so it streams in while this block computes (hardware prefetch
     * alone left the first row block of each panel waiting: +8% at 256 rows,
     * +16% at 16, +3% at 2048, GEMM A/B with the weights out of cache) */
    if (bf16) {
        const uint16_t *b = bp;
        const __m256i himask = _mm256_set1_epi32((int)0xffff0000u);
#define KSTEP                                                                                        \
    __m256i raw = _mm256_load_si256((const __m256i *)(b + (size_t)k * NR));                          \
    __m256 b0 = _mm256_castsi256_ps(_mm256_slli_epi32(raw, 16));                                     \
    __m256 b1 = _mm256_castsi256_ps(_mm256_and_si256(raw, himask));                                  \
    FOR_ROWS(FMAROW)
        if (pf)
            for (int k = 0; k < kc; k++) {
                if (!(k & 1)) _mm_prefetch(pf + (size_t)k * 32, _MM_HINT_T0);
                KSTEP
            }
        else
            for (int k = 0; k < kc; k++) {
                KSTEP
            }
#undef KSTEP
    } else {
        const float *b = bp;
#define KSTEP                                                                                        \
    __m256 b0 = _mm256_load_ps(b + (size_t)k * NR);                                                  \
    __m256 b1 = _mm256_load_ps(b + (size_t)k * NR + 8);                                              \
    FOR_ROWS(FMAROW)
        if (pf)
            for (int k = 0; k < kc; k++) {
                _mm_prefetch(pf + (size_t)k * 64, _MM_HINT_T0);
                KSTEP
            }
        else
            for (int k = 0; k < kc; k++) {
                KSTEP
            }
#undef KSTEP
    }
#undef FMAROW
    if (last) {
        __m256 bb0 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
        if (bias) {
            bb0 = _mm256_maskload_ps(bias, m0);
            bb1 = _mm256_maskload_ps(bias + 8, m1);
        }
#define EPI(r)                                                                                       \
    if (mr > r) {                                                                                    \
        c##r##0 = act256(act, _mm256_add_ps(c##r##0, bb0));                                          \
        c##r##1 = act256(act, _mm256_add_ps(c##r##1, bb1));                                          \
    }
        FOR_ROWS(EPI)
#undef EPI
    }
#define STOREC(r)                                                                                    \
    if (mr > r) {                                                                                    \
        if (nc == NR) {                                                                              \
            _mm256_storeu_ps(c + r * ldc, c##r##0);                                                   \
            _mm256_storeu_ps(c + r * ldc + 8, c##r##1);                                               \
        } else {                                                                                     \
            _mm256_maskstore_ps(c + r * ldc, m0, c##r##0);                                            \
            _mm256_maskstore_ps(c + r * ldc + 8, m1, c##r##1);                                        \
        }                                                                                            \
    }
    FOR_ROWS(STOREC)
#undef STOREC
}

#define UK(MRV, BF)                                                                                      \
    static void uk_##MRV##_##BF(int kc, const float *a, size_t lda, const void *bp, float *c, size_t ldc, \
                                int nc, int init, int last, const float *bias, nn_act act,                \
                                const char *pf) {                                                         \
        ukernel(MRV, BF, kc, a, lda, bp, c, ldc, nc, init, last, bias, act, pf);                          \
    }
UK(1, 0) UK(2, 0) UK(3, 0) UK(4, 0) UK(5, 0) UK(6, 0)
UK(1, 1) UK(2, 1) UK(3, 1) UK(4, 1) UK(5, 1) UK(6, 1)
typedef void (*uk_fn)(int, const float *, size_t, const void *, float *, size_t, int, int, int, const float *,
                      nn_act, const char *);
static const uk_fn uk_f32[MR + 1] = {NULL, uk_1_0, uk_2_0, uk_3_0, uk_4_0, uk_5_0, uk_6_0};
static const uk_fn uk_b16[MR + 1] = {NULL, uk_1_1, uk_2_1, uk_3_1, uk_4_1, uk_5_1, uk_6_1};

static void linear_avx2(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                        int ith, int nth) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR;
    const int bf16 = w->prec == NN_PREC_BF16;
    const size_t esz = bf16 ? sizeof(uint16_t) : sizeof(float);
    const uk_fn *uk = bf16 ? uk_b16 : uk_f32;
    /* nmt row tiles of (about) equal size, in whole MR blocks: with tiles of a
     * fixed MC the last one is short, and at M = 512 on 2 threads one thread got
     * 288 rows and the other 224. Row tiling never changes an element's sum. */
    const int nmt = (M + MC - 1) / MC, nnt = (P + TILE_PANELS - 1) / TILE_PANELS, nb = (M + MR - 1) / MR;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    for (long t = t0; t < t1; t++) {
        const int mt = (int)(t / nnt);
        int m0 = MR * (int)((long)nb * mt / nmt), m1 = WN_MIN(M, MR * (int)((long)nb * (mt + 1) / nmt));
        int p0 = (int)(t % nnt) * TILE_PANELS, p1 = WN_MIN(P, p0 + TILE_PANELS);
        for (int kb = 0; kb < K; kb += KC) {
            int kc = WN_MIN(KC, K - kb);
            int init = kb == 0, last = kb + kc == K;
            for (int p = p0; p < p1; p++) {
                int nc = WN_MIN(NR, N - p * NR);
                const char *bp = (const char *)w->packed + ((size_t)p * K + kb) * NR * esz;
                const float *bi = bias ? bias + p * NR : NULL;
                /* fetched during this panel's first row block: the next panel's
                 * block, or after the tile's last panel the next k block's first */
                const char *nx = p + 1 < p1  ? bp + (size_t)K * NR * esz
                                 : kb + kc < K ? (const char *)w->packed + ((size_t)p0 * K + kb + kc) * NR * esz
                                               : NULL;
                for (int m = m0; m < m1; m += MR) {
                    int mr = WN_MIN(MR, m1 - m);
                    uk[mr](kc, x + (size_t)m * K + kb, (size_t)K, bp, out + (size_t)m * N + p * NR, (size_t)N, nc,
                           init, last, bi, act, m == m0 ? nx : NULL);
                }
            }
        }
    }
}


/* ---- int8: per-output-channel weights, per-row dynamic activations.
 * Without VNNI, AVX2's byte dot product is vpmaddubsw (u8 x s8, pairs summed
 * into s16 with saturation) then vpmaddwd by 1 (pairs into s32). To never
 * saturate, weights use 7 bits (|q| <= 63) and activations 8 bits unsigned with
 * a zero point: 2 * 255 * 63 = 32130 < 32767. With a_q = round(x / sa) + z,
 *   sum_k x_k w_k ~ sa sw_n (sum_k a_q,k w_q,k - z colsum_n),
 * the compensation colsum_n = sum_k w_q,k computed at load (the u8/s8 offset
 * trick VNNI code uses too). Integer sums are exact, so results do not depend
 * on the thread count. Layout: panel p, k-quad g: 64 bytes, channel i's 4 bytes
 * (k = 4g..4g+3) at 4i (channels 0-7 in the first 32 bytes, 8-15 in the next). */
#ifdef WN_AVXVNNI /* ops_avxvnni.c: vpdpbusd sums u8 x s8 in 32 bits, no saturation: 8-bit weights */
#define Q_WMAX 127
#else
#define Q_WMAX 63
#endif
#define Q_ROWS_BYTES (QMC * 1536)

static int kpad4(int K) { return (K + 3) & ~3; }

static wn_status pack_int8(nn_weight *w) { return nn_pack_int8_quads(w, NR, Q_WMAX); }

/* row x (K floats) -> Kp bytes (zero-padded past K), its scale and zero point */
static void quant_row(const float *x, int K, int Kp, uint8_t *q, float *scale, int32_t *zp) {
    __m256 vmn = _mm256_set1_ps(0.0f), vmx = vmn; /* the range includes 0, so 0 maps exactly */
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 v = _mm256_loadu_ps(x + k);
        vmn = _mm256_min_ps(vmn, v), vmx = _mm256_max_ps(vmx, v);
    }
    float mn = -hmax256(_mm256_sub_ps(_mm256_setzero_ps(), vmn)), mx = hmax256(vmx);
    for (; k < K; k++) mn = fminf(mn, x[k]), mx = fmaxf(mx, x[k]);
    float sa = (mx - mn) / 255.0f;
    if (!(sa > 0)) sa = 1.0f;
    int32_t z = (int32_t)lrintf(-mn / sa);
    z = z < 0 ? 0 : z > 255 ? 255 : z;
    const __m256 inv = _mm256_set1_ps(1.0f / sa);
    const __m256i vz = _mm256_set1_epi32(z), lo = _mm256_setzero_si256(), hi = _mm256_set1_epi32(255);
    for (k = 0; k + 8 <= K; k += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), inv)); /* round to nearest even */
        v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, vz), lo), hi);
        __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + k), _mm_packus_epi16(p16, p16));
    }
    for (; k < K; k++) {
        int32_t v = (int32_t)lrintf(x[k] / sa) + z;
        q[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    for (; k < Kp; k++) q[k] = (uint8_t)z; /* weights are 0 there */
    *scale = sa;
    *zp = z;
}

#ifndef WN_AVXVNNI
/* acc += the four u8 x s8 products of a and b per 32-bit lane, through 16-bit
 * pair sums (vpmaddubsw, vpmaddwd by 1). Inline asm for GCC, as dpbusd_vex
 * below: with the intrinsics GCC 12 spilled accumulators on every k step. */
static inline __m256i dot4_avx2(__m256i acc, __m256i a, __m256i b, __m256i ones) {
#if defined(__GNUC__) && !defined(__clang__)
    __m256i t;
    __asm__("vpmaddubsw %3, %2, %1\n\tvpmaddwd %4, %1, %1\n\tvpaddd %1, %0, %0"
            : "+x"(acc), "=&x"(t)
            : "x"(a), "x"(b), "x"(ones));
    return acc;
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
#endif
}
#else
/* acc += the four u8 x s8 products of a and b per 32-bit lane. Inline asm for
 * GCC: with the intrinsic, GCC 12 copied each accumulator through a spare
 * register and stored it to the stack on every k step (as in ops_avx512.c). */
static inline __m256i dpbusd_vex(__m256i acc, __m256i a, __m256i b) {
#if defined(__GNUC__) && !defined(__clang__)
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b));
    return acc;
#else
    return _mm256_dpbusd_avx_epi32(acc, a, b);
#endif
}
#endif

static inline __attribute__((always_inline)) void ukernel_i8(const int mr, int Kp, const uint8_t *a, size_t lda,
                                                             const int8_t *b, const float *sa, const int32_t *za,
                                                             const float *sw, const int32_t *cs, float *c,
                                                             size_t ldc, int nc, const float *bias, nn_act act,
                                                             const int8_t *pf) {
    __m256i m0 = lanes(nc), m1 = lanes(nc - 8);
#ifndef WN_AVXVNNI
    const __m256i ones = _mm256_set1_epi16(1);
#endif
#define IDECL(r) __m256i i##r##0 = _mm256_setzero_si256(), i##r##1 = _mm256_setzero_si256();
    FOR_ROWS(IDECL)
#undef IDECL
    const uint8_t *a0 = a, *a1 = a + (mr > 1) * lda, *a2 = a + (mr > 2) * 2 * lda, *a3 = a + (mr > 3) * 3 * lda;
    const uint8_t *a4 = a + (mr > 4) * 4 * lda, *a5 = a + (mr > 5) * 5 * lda;
#ifdef WN_AVXVNNI
#define DOT4(acc, av, b) dpbusd_vex(acc, av, b)
#else
#define DOT4(acc, av, b) dot4_avx2(acc, av, b, ones)
#endif
#define IROW(r)                                                                                      \
    if (mr > r) {                                                                                    \
        int32_t qv;                                                                                  \
        memcpy(&qv, a##r + k, 4);                                                                    \
        __m256i av = _mm256_set1_epi32(qv);                                                          \
        i##r##0 = DOT4(i##r##0, av, b0);                                                             \
        i##r##1 = DOT4(i##r##1, av, b1);                                                             \
    }
#define KSTEP                                                                                        \
    __m256i b0 = _mm256_load_si256((const __m256i *)(b + (size_t)k * NR));                           \
    __m256i b1 = _mm256_load_si256((const __m256i *)(b + (size_t)k * NR + 32));                      \
    FOR_ROWS(IROW)
    if (pf) /* the next panel, a cache line per step (as in the fp32 kernel) */
        for (int k = 0; k < Kp; k += 4) {
            _mm_prefetch((const char *)(pf + (size_t)k * NR), _MM_HINT_T0);
            KSTEP
        }
    else
        for (int k = 0; k < Kp; k += 4) {
            KSTEP
        }
#undef KSTEP
#undef IROW
#undef DOT4
    __m256 s0 = _mm256_loadu_ps(sw), s1 = _mm256_loadu_ps(sw + 8);
    __m256i cs0 = _mm256_loadu_si256((const __m256i *)cs), cs1 = _mm256_loadu_si256((const __m256i *)(cs + 8));
    __m256 bb0 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
    if (bias) {
        bb0 = _mm256_maskload_ps(bias, m0);
        bb1 = _mm256_maskload_ps(bias + 8, m1);
    }
#define IEPI(r)                                                                                      \
    if (mr > r) {                                                                                    \
        __m256i z = _mm256_set1_epi32(za[r]);                                                        \
        __m256 sr = _mm256_set1_ps(sa[r]);                                                           \
        __m256 f0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(i##r##0, _mm256_mullo_epi32(z, cs0)));       \
        __m256 f1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(i##r##1, _mm256_mullo_epi32(z, cs1)));       \
        f0 = act256(act, _mm256_fmadd_ps(f0, _mm256_mul_ps(sr, s0), bb0));                           \
        f1 = act256(act, _mm256_fmadd_ps(f1, _mm256_mul_ps(sr, s1), bb1));                           \
        if (nc == NR) {                                                                              \
            _mm256_storeu_ps(c + r * ldc, f0);                                                       \
            _mm256_storeu_ps(c + r * ldc + 8, f1);                                                   \
        } else {                                                                                     \
            _mm256_maskstore_ps(c + r * ldc, m0, f0);                                                \
            _mm256_maskstore_ps(c + r * ldc + 8, m1, f1);                                            \
        }                                                                                            \
    }
    FOR_ROWS(IEPI)
#undef IEPI
}

#define UKI(MRV)                                                                                          \
    static void uki_##MRV(int Kp, const uint8_t *a, size_t lda, const int8_t *b, const float *sa,          \
                          const int32_t *za, const float *sw, const int32_t *cs, float *c, size_t ldc, int nc, \
                          const float *bias, nn_act act, const int8_t *pf) {                               \
        ukernel_i8(MRV, Kp, a, lda, b, sa, za, sw, cs, c, ldc, nc, bias, act, pf);                         \
    }
UKI(1) UKI(2) UKI(3) UKI(4) UKI(5) UKI(6)
typedef void (*uki_fn)(int, const uint8_t *, size_t, const int8_t *, const float *, const int32_t *, const float *,
                       const int32_t *, float *, size_t, int, const float *, nn_act, const int8_t *);
static const uki_fn uk_i8[MR + 1] = {NULL, uki_1, uki_2, uki_3, uki_4, uki_5, uki_6};

/* Tiles of (rows x panels): when there are enough row chunks for every thread,
 * a tile spans all of N so each row is quantised once; else N is cut too. */
static void linear_int8(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                        int ith, int nth) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR, Kp = kpad4(K);
    int rows = Q_ROWS_BYTES / Kp;
    rows = rows >= QMC ? QMC : rows >= MR ? rows - rows % MR : 1;
    uint8_t aq[Q_ROWS_BYTES + 64];
    float sa[QMC];
    int32_t za[QMC];
    const int nmt = (M + rows - 1) / rows;
    const int tp = nmt >= 4 * nth ? P : TILE_PANELS, nnt = (P + tp - 1) / tp;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    int have = -1; /* the row chunk quantised in aq */
    for (long t = t0; t < t1; t++) {
        int mt = (int)(t / nnt), m0 = mt * rows, m1 = WN_MIN(M, m0 + rows);
        int p0 = (int)(t % nnt) * tp, p1 = WN_MIN(P, p0 + tp);
        if (have != mt) {
            for (int m = m0; m < m1; m++)
                quant_row(x + (size_t)m * K, K, Kp, aq + (size_t)(m - m0) * Kp, &sa[m - m0], &za[m - m0]);
            have = mt;
        }
        for (int p = p0; p < p1; p++) {
            int nc = WN_MIN(NR, N - p * NR);
            const int8_t *bp = (const int8_t *)w->packed + (size_t)p * Kp * NR;
            const float *bi = bias ? bias + p * NR : NULL;
            for (int m = m0; m < m1; m += MR) {
                int mr = WN_MIN(MR, m1 - m);
                uk_i8[mr](Kp, aq + (size_t)(m - m0) * Kp, (size_t)Kp, bp, sa + (m - m0), za + (m - m0),
                          w->scales + p * NR, w->colsum + p * NR, out + (size_t)m * N + p * NR, (size_t)N, nc, bi,
                          act, m == m0 && p + 1 < p1 ? bp + (size_t)Kp * NR : NULL);
            }
        }
    }
}

static void linear_dispatch(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                            int ith, int nth) {
    if (!w->packed) {
        nn_linear_ref(x, M, w, bias, act, out, ith, nth);
        return;
    }
    if (w->prec == NN_PREC_INT8) linear_int8(x, M, w, bias, act, out, ith, nth);
    else linear_avx2(x, M, w, bias, act, out, ith, nth);
}

/* ---- residual + LayerNorm: two passes in float over 8 lanes (mean, then the
 * centred variance), the lane sums reduced in a fixed order. */
static void add_layernorm_avx2(const float *x, const float *res, int m0, int m1, int H, const float *gamma,
                               const float *beta, float eps, float *out) {
    if (H % 8) {
        nn_add_layernorm_rows_ref(x, res, m0, m1, H, gamma, beta, eps, out);
        return;
    }
    for (int m = m0; m < m1; m++) {
        const float *xr = x + (size_t)m * H;
        const float *rr = res ? res + (size_t)m * H : NULL;
        float *o = out + (size_t)m * H;
        __m256 s = _mm256_setzero_ps();
        for (int h = 0; h < H; h += 8) {
            __m256 v = _mm256_loadu_ps(xr + h);
            if (rr) v = _mm256_add_ps(v, _mm256_loadu_ps(rr + h));
            _mm256_storeu_ps(o + h, v); /* o may alias x: the sum replaces it */
            s = _mm256_add_ps(s, v);
        }
        __m256 mean = _mm256_set1_ps(hsum256(s) / (float)H);
        __m256 q = _mm256_setzero_ps();
        for (int h = 0; h < H; h += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(o + h), mean);
            q = _mm256_fmadd_ps(d, d, q);
        }
        __m256 inv = _mm256_set1_ps(1.0f / sqrtf(hsum256(q) / (float)H + eps));
        for (int h = 0; h < H; h += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(o + h), mean), inv);
            _mm256_storeu_ps(o + h, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + h), _mm256_loadu_ps(beta + h)));
        }
    }
}

/* 8 x 8 transpose in registers: r[i][j] -> r[j][i] */
static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20), r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20), r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20), r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20), r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* ---- attention for one (sequence, head), as two small GEMMs per block of
 * NN_ATTN_ROWS (6) query rows, in the micro-kernel's 6 x 16 register shape:
 * scores S = q k^T / sqrt(HD) against the head's keys packed transposed (HD x
 * Lp, Lp = L rounded up to 8, zero-padded), 16 keys per step; softmax per row
 * in the block's rows of Lp floats; then the context p v over rows of v read in
 * place, 16 of the HD columns per step. One query row at a time (the earlier
 * kernel) left the FMAs waiting on 4 accumulators and on loads. */
#define AR NN_ATTN_ROWS

/* Both halves are the same small product: rows [0, mr) of c (stride ldc), 8 nv
 * columns (nv = 1 or 2), = sc[r] * sum over k < K of a[r lda + k] b[k ldb + 0..8 nv).
 * Scores: a = q (stride 3H), b = the packed keys (stride Lp), K = HD, sc = 1/sqrt(HD);
 * context: a = probabilities (stride Lp), b = v in place (stride 3H), K = L,
 * sc = 1 / each row's sum. */
static inline __attribute__((always_inline)) void att_mm(const int mr, const int nv, const float *a, size_t lda,
                                                         const float *b, size_t ldb, int K, const float *sc,
                                                         float *c, size_t ldc) {
#define DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
    FOR_ROWS(DECL)
#undef DECL
    for (int k = 0; k < K; k++) {
        const float *br = b + (size_t)k * ldb;
        __m256 b0 = _mm256_loadu_ps(br), b1 = nv > 1 ? _mm256_loadu_ps(br + 8) : b0;
#define FMAROW(r)                                                                                    \
    if (mr > r) {                                                                                    \
        __m256 av = _mm256_broadcast_ss(a + r * lda + k);                                            \
        c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                                                  \
        if (nv > 1) c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);                                      \
    }
        FOR_ROWS(FMAROW)
#undef FMAROW
    }
#define STORE(r)                                                                                     \
    if (mr > r) {                                                                                    \
        __m256 s = _mm256_set1_ps(sc[r]);                                                            \
        _mm256_storeu_ps(c + r * ldc, _mm256_mul_ps(c##r##0, s));                                     \
        if (nv > 1) _mm256_storeu_ps(c + r * ldc + 8, _mm256_mul_ps(c##r##1, s));                     \
    }
    FOR_ROWS(STORE)
#undef STORE
}

typedef void (*att_fn)(const float *, size_t, const float *, size_t, int, const float *, float *, size_t);
#define ATT(MRV, NV)                                                                                        \
    static void att_##MRV##_##NV(const float *a, size_t lda, const float *b, size_t ldb, int K, const float *sc, \
                                 float *c, size_t ldc) {                                                    \
        att_mm(MRV, NV, a, lda, b, ldb, K, sc, c, ldc);                                                     \
    }
ATT(1, 1) ATT(2, 1) ATT(3, 1) ATT(4, 1) ATT(5, 1) ATT(6, 1)
ATT(1, 2) ATT(2, 2) ATT(3, 2) ATT(4, 2) ATT(5, 2) ATT(6, 2)
static const att_fn att_k[2][AR + 1] = {{NULL, att_1_1, att_2_1, att_3_1, att_4_1, att_5_1, att_6_1},
                                        {NULL, att_1_2, att_2_2, att_3_2, att_4_2, att_5_2, att_6_2}};

/* rel: NULL, or MPNet's relative bias of this head, added to score (i, j) as
 * rel[T - 1 + j - i] before the mask and the softmax. */
static void attention_head_any(const float *base, int T, int L, int H, int h, int HD, const float *rel, float *out,
                               float *scratch) {
    if (HD % 8 || HD > NN_ATTN_MAX_HD) {
        if (rel) nn_attention_head_rel_ref(base, T, L, H, h, HD, rel, out, scratch);
        else nn_attention_head_ref(base, T, L, H, h, HD, out, scratch);
        return;
    }
    const int Lp = (L + 7) & ~7;
    const size_t ld = (size_t)3 * H;
    float *kt = scratch, *p = scratch + (size_t)HD * Lp; /* p: AR rows of Lp */
    /* transpose the keys 8 x 8 at a time (HD is a multiple of 8 here) */
    for (int j0 = 0; j0 < Lp; j0 += 8)
        for (int d0 = 0; d0 < HD; d0 += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = j0 + i < L ? _mm256_loadu_ps(base + (size_t)(j0 + i) * ld + H + (size_t)h * HD + d0)
                                  : _mm256_setzero_ps();
            transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(kt + (size_t)(d0 + i) * Lp + j0, r[i]);
        }
    float scale[AR];
    for (int r = 0; r < AR; r++) scale[r] = 1.0f / sqrtf((float)HD);
    const __m256i tail = lanes(L - (Lp - 8));
    const float *vb = base + 2 * H + (size_t)h * HD;
    for (int i0 = 0; i0 < L; i0 += AR) {
        const int mr = WN_MIN(AR, L - i0);
        const float *q = base + (size_t)i0 * ld + (size_t)h * HD;
        int jb = 0;
        for (; jb + 16 <= Lp; jb += 16) att_k[1][mr](q, ld, kt + jb, (size_t)Lp, HD, scale, p + jb, (size_t)Lp);
        if (jb < Lp) att_k[0][mr](q, ld, kt + jb, (size_t)Lp, HD, scale, p + jb, (size_t)Lp);
        /* per row: mask the keys past L, then max, exp, sum */
        float inv[AR];
        for (int r = 0; r < mr; r++) {
            float *pr = p + (size_t)r * Lp;
            if (rel) {
                const float *rr = rel + (T - 1 - (i0 + r)); /* rr[j]: the bias of key j for this query */
                int j = 0;
                for (; j + 8 <= L; j += 8) _mm256_storeu_ps(pr + j, _mm256_add_ps(_mm256_loadu_ps(pr + j), _mm256_loadu_ps(rr + j)));
                for (; j < L; j++) pr[j] += rr[j];
            }
            __m256 last = _mm256_loadu_ps(pr + Lp - 8), mx = _mm256_set1_ps(-INFINITY), sum = _mm256_setzero_ps();
            last = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), last, _mm256_castsi256_ps(tail));
            _mm256_storeu_ps(pr + Lp - 8, last);
            for (jb = 0; jb < Lp; jb += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(pr + jb));
            __m256 vmx = _mm256_set1_ps(hmax256(mx));
            for (jb = 0; jb < Lp; jb += 8) {
                __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(pr + jb), vmx));
                _mm256_storeu_ps(pr + jb, e);
                sum = _mm256_add_ps(sum, e);
            }
            inv[r] = 1.0f / hsum256(sum);
        }
        float *o = out + (size_t)i0 * H + (size_t)h * HD;
        int c = 0;
        for (; c + 16 <= HD; c += 16) att_k[1][mr](p, (size_t)Lp, vb + c, ld, L, inv, o + c, (size_t)H);
        if (c < HD) att_k[0][mr](p, (size_t)Lp, vb + c, ld, L, inv, o + c, (size_t)H);
    }
    for (int i = L; i < T; i++) memset(out + (size_t)i * H + (size_t)h * HD, 0, sizeof(float) * HD);
}

static void attention_head_avx2(const float *base, int T, int L, int H, int h, int HD, float *out, float *scratch) {
    attention_head_any(base, T, L, H, h, HD, NULL, out, scratch);
}

static void attention_head_rel_avx2(const float *base, int T, int L, int H, int h, int HD, const float *rel, float *out,
                                    float *scratch) {
    attention_head_any(base, T, L, H, h, HD, rel, out, scratch);
}

#ifdef WN_AVXVNNI
static const nn_kernels_t avx2_kernels = {
    "avx2+vnni", pack_avx2, linear_dispatch, add_layernorm_avx2, attention_head_avx2, attention_head_rel_avx2, 0, Q_WMAX,
    "avx2+fma: fp32 6x16 ymm FMA; int8 AVX-VNNI vpdpbusd (8-bit weights); bf16 weights on fp32 FMA", 0,
};

const nn_kernels_t *nn_kernels_avxvnni(void) { return wn_cpu_get()->avxvnni ? &avx2_kernels : NULL; }
#else
static const nn_kernels_t avx2_kernels = {
    "avx2+fma", pack_avx2, linear_dispatch, add_layernorm_avx2, attention_head_avx2, attention_head_rel_avx2, 0, Q_WMAX,
    "avx2+fma: fp32 6x16 ymm FMA; int8 vpmaddubsw (7-bit weights); bf16 weights on fp32 FMA", 0,
};

const nn_kernels_t *nn_kernels_avx2(void) { return &avx2_kernels; }
#endif
