/*
 * ops_avx512.c - AVX-512 kernels (F/BW/VL/DQ; VNNI and BF16 where the CPU has
 * them): packed GEMM in fp32, bf16 (vdpbf16ps) and int8 (vpdpbusd), with the
 * fused bias + erf-GELU epilogue; residual + LayerNorm; attention.
 *
 * GEMM: the AVX2 layout widened. W is packed once at load into panels of NR = 32
 * output channels; the micro-kernel keeps a 14 x 32 block of out in 28 zmm
 * registers (of 32) and per k broadcasts one x value per row (an embedded
 * broadcast operand of the FMA) against the panel's two zmm.
 *  - fp32: panel p holds, for k = 0..K-1, the 32 weights W[32p..32p+31][k]; K is
 *    cut in blocks of KC so a panel block stays in L1.
 *  - bf16: per pair of k (k = 2g, 2g+1), 64 bf16: channel i's two values at 2i
 *    (channels 0-15 in the first zmm, 16-31 in the next): vdpbf16ps multiplies
 *    them with the pair (x[2g], x[2g+1]) of a row rounded to bf16 (round to
 *    nearest even, as nn_f32_to_bf16) and adds both products to float lanes.
 *    Activations are bf16 too here, unlike the AVX2 path (flag bf16_x).
 *  - int8 with VNNI: per quad of k, 128 bytes: channel i's 4 bytes at 4i.
 *    Weights per output channel in 8 bits (|q| <= 127: vpdpbusd adds the four
 *    u8 x s8 products in 32 bits, no 16-bit saturation, so no 7-bit trick),
 *    activations per row in u8 with a zero point; the compensation as in AVX2:
 *    sum_k x_k w_k ~ sa sw_n (sum_k a_q,k w_q,k - z colsum_n).
 *  - bf16 as fp16 products (AVX512-FP16; the third table): the bf16 pair layout
 *    with fp16 values, power-of-two scales per row and channel (see ukernel_ph).
 * bf16 and int8 tiles convert a chunk of rows once (on the stack), then run it
 * against the tile's panels over the whole K. Which bf16 kernel runs is measured
 * once per process (nn_kernels_avx512_best, at the end).
 * Without BF16 (or VNNI), the bf16 (int8) weights are packed and run by the AVX2
 * kernels. Work splits are static and an element's arithmetic does not depend on
 * the thread that computes it: results are bit-identical for any thread count.
 *
 * Built natively with -mavx512*, and (WN_SIMDE) against SIMDe's emulation with
 * only -mavx2 -mfma, as nn_kernels_avx512_simde(), so AVX2-only machines test
 * this same source (tests/test_nn_simde.c); there vfmadd231ph is f16_emu.h's.
 */
#ifdef WN_SIMDE
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define KNAME "avx512-simde"
#define nn_kernels_avx512 nn_kernels_avx512_simde
#define nn_kernels_avx512_dpbf16 nn_kernels_avx512_dpbf16_simde
#define nn_kernels_avx512_ph nn_kernels_avx512_ph_simde
#define HAVE_BF16() 1
#define HAVE_VNNI() 1
#define HAVE_FP16() 1
#else
#include <immintrin.h>
#define KNAME "avx512"
#define HAVE_BF16() (wn_cpu_get()->avx512bf16)
#define HAVE_VNNI() (wn_cpu_get()->avx512vnni)
#define HAVE_FP16() (wn_cpu_get()->avx512fp16)
#endif
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#ifdef WN_SIMDE
#include "f16_emu.h"
#endif

#ifdef WN_SIMDE /* what Debian's SIMDe (0.7.4) lacks, lane by lane */
static inline __m512 simde_maskz_loadu_ps(__mmask16 m, const float *p) {
    float t[16];
    for (int i = 0; i < 16; i++) t[i] = (m >> i) & 1 ? p[i] : 0.0f;
    return _mm512_loadu_ps(t);
}
static inline __m512i simde_maskz_loadu_epi32(__mmask16 m, const int32_t *p) {
    int32_t t[16];
    for (int i = 0; i < 16; i++) t[i] = (m >> i) & 1 ? p[i] : 0;
    return _mm512_loadu_si512(t);
}
static inline void simde_mask_storeu_ps(float *p, __mmask16 m, __m512 v) {
    float t[16];
    _mm512_storeu_ps(t, v);
    for (int i = 0; i < 16; i++)
        if ((m >> i) & 1) p[i] = t[i];
}
static inline __m512 simde_cvtepi32_ps_(__m512i v) {
    int32_t t[16];
    float f[16];
    _mm512_storeu_si512(t, v);
    for (int i = 0; i < 16; i++) f[i] = (float)t[i];
    return _mm512_loadu_ps(f);
}
static inline __m512i simde_cvtps_epi32_(__m512 v) { /* round to nearest even, as the instruction */
    float f[16];
    int32_t t[16];
    _mm512_storeu_ps(f, v);
    for (int i = 0; i < 16; i++) t[i] = (int32_t)lrintf(f[i]);
    return _mm512_loadu_si512(t);
}
static inline float simde_reduce_(__m512 v, int max) {
    float f[16];
    _mm512_storeu_ps(f, v);
    float r = f[0];
    for (int i = 1; i < 16; i++) r = max ? fmaxf(r, f[i]) : fminf(r, f[i]);
    return r;
}
static inline __m128i simde_cvtepi32_epi8_(__m512i v) { /* truncating */
    int32_t t[16];
    int8_t b[16];
    _mm512_storeu_si512(t, v);
    for (int i = 0; i < 16; i++) b[i] = (int8_t)t[i];
    return _mm_loadu_si128((const __m128i *)b);
}
static inline __m256i simde_cvtepi32_epi16_(__m512i v) { /* truncating */
    int32_t t[16];
    int16_t h[16];
    _mm512_storeu_si512(t, v);
    for (int i = 0; i < 16; i++) h[i] = (int16_t)t[i];
    return _mm256_loadu_si256((const __m256i *)h);
}
#define _mm512_cvtps_epi32(v) simde_cvtps_epi32_(v)
static inline float simde_reduce_add_(__m512 v) { /* pairwise, as the native sequence */
    float f[16];
    _mm512_storeu_ps(f, v);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) f[i] += f[i + w];
    return f[0];
}
#define _mm512_reduce_add_ps(v) simde_reduce_add_(v)
#define _mm512_reduce_min_ps(v) simde_reduce_(v, 0)
#define _mm512_reduce_max_ps(v) simde_reduce_(v, 1)
#define _mm512_cvtepi32_epi8(v) simde_cvtepi32_epi8_(v)
#define _mm512_cvtepi32_epi16(v) simde_cvtepi32_epi16_(v)
#define _mm512_cvtepi32_ps(v) simde_cvtepi32_ps_(v)
#define _mm512_maskz_loadu_ps(m, p) simde_maskz_loadu_ps(m, p)
#define _mm512_maskz_loadu_epi32(m, p) simde_maskz_loadu_epi32(m, (const int32_t *)(p))
#define _mm512_mask_storeu_ps(p, m, v) simde_mask_storeu_ps(p, m, v)
#endif

#define NR 32
#define MR 14
#ifndef MC /* rows per fp32 tile */
#define MC 98
#endif
#define KC 256
#define TILE_PANELS 4
#define QMC 98                  /* rows per bf16 / int8 tile */
#define Q_ROWS_BYTES (QMC * 1536) /* their converted bytes, on the stack */
#define Q_WMAX 127

/* ---- vector math */

/* GELU as gelu256 in ops_avx2.c (the same rational erf fit, the same bound). */
static inline __attribute__((always_inline)) __m512 gelu512(__m512 x) {
    const __m512 zm = _mm512_set1_ps(3.925f);
    __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    z = _mm512_min_ps(_mm512_max_ps(z, _mm512_sub_ps(_mm512_setzero_ps(), zm)), zm);
    __m512 u = _mm512_mul_ps(z, z);
    __m512 p = _mm512_set1_ps(1.98736139e-08f);
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-1.99372494e-06f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(1.49366737e-04f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(3.99201317e-03f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(5.14592491e-02f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(2.06585050e-01f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(1.12837875f));
    __m512 q = _mm512_set1_ps(1.02850457e-03f);
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(1.49288168e-02f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(1.17758773e-01f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(5.16409934e-01f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(1.0f));
    __m512 erf = _mm512_div_ps(_mm512_mul_ps(z, p), q);
    erf = _mm512_min_ps(_mm512_max_ps(erf, _mm512_set1_ps(-1.0f)), _mm512_set1_ps(1.0f));
    __m512 hx = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(hx, erf, hx);
}

/* tanh: the pooler's, a few rows per batch; out of line so the epilogues stay small */
static __attribute__((noinline)) __m512 tanh512(__m512 v) {
    float t[16];
    _mm512_storeu_ps(t, v);
    for (int i = 0; i < 16; i++) t[i] = tanhf(t[i]);
    return _mm512_loadu_ps(t);
}

/* inlined: as a call (GCC 12 did not inline it) every zmm, all caller-saved, was
 * spilled around it in the micro-kernels' epilogues (8% of an int8 forward) */
static inline __attribute__((always_inline)) __m512 act512(nn_act act, __m512 v) {
    if (act == NN_ACT_GELU) return gelu512(v);
    if (act == NN_ACT_TANH) return tanh512(v);
    return v;
}

/* lanes [0, n) of 16 */
static inline __mmask16 lanes16(int n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static inline __m512bh as_bh(__m512i v) {
    __m512bh r;
    memcpy(&r, &v, sizeof r);
    return r;
}

/* acc += the four u8 x s8 products of a and b per 32-bit lane (vpdpbusd). As
 * inline asm for GCC: with the intrinsic, GCC 12 copied and spilled the 28
 * accumulators of the 14x32 int8 micro-kernel on every k step (the kernel ran
 * at 0.67 of the instruction's rate); the asm ties each accumulator to its register. */
static inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
#if defined(WN_SIMDE) || !defined(__GNUC__) || defined(__clang__)
    return _mm512_dpbusd_epi32(acc, a, b);
#else
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#endif
}

static int kpad(int K, int q) { return (K + q - 1) / q * q; }

/* ---- packing */

/* 16-bit weights in P panels of NR channels over Kp (even, >= K) steps, as pairs of k:
 * channel i's values for k = 2g, 2g+1 at 2i, 2i+1 (what vdpbf16ps, vfmadd231ph and
 * the AMX tiles read); zeros past N and K. us NULL: bf16 of w; else fp16 of w / us[n]
 * (us[n] a power of two, so the division is exact). */
static wn_status pack_pairs16(nn_weight *w, int P, int Kp, const float *us) {
    const int N = w->N, K = w->K;
    uint16_t *pk = wn_malloc_aligned((size_t)P * Kp * NR * sizeof(uint16_t));
    if (!pk) return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d %s weight", N, K, us ? "fp16" : "bf16");
    for (int p = 0; p < P; p++)
        for (int k = 0; k < Kp; k++)
            for (int i = 0; i < NR; i++) {
                const int n = p * NR + i;
                uint16_t v = 0;
                if (n < N && k < K) {
                    const float x = w->w[(size_t)n * K + k];
                    v = us ? nn_f32_to_f16(x / us[n]) : nn_f32_to_bf16(x);
                }
                pk[(size_t)p * Kp * NR + (size_t)(k / 2) * 2 * NR + (size_t)i * 2 + k % 2] = v;
            }
    w->packed = pk;
    return WN_OK;
}

static wn_status pack_bf16_pairs(nn_weight *w, int P, int Kp) { return pack_pairs16(w, P, Kp, NULL); }

/* the fp16 kernels' scale of values whose largest |v| is m: e such that m 2^-e is in
 * [0.5, 1), within [-126, 126] (both 2^e and 2^-e normal floats); 0 for m = 0 */
static int ph_exp(float m) {
    int e = 0;
    if (m > 0 && isfinite(m)) frexpf(m, &e);
    return e < -126 ? -126 : e > 126 ? 126 : e;
}

/* the weights as fp16 pairs, each channel scaled by 2^-e (its largest |w| in
 * [0.5, 1)); w->scales[n] = 2^e */
static wn_status pack_ph_pairs(nn_weight *w, int P, int Kp) {
    const int N = w->N, K = w->K;
    float *us = wn_malloc(sizeof(float) * (size_t)N);
    if (!us) return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d fp16 weight", N, K);
    for (int n = 0; n < N; n++) {
        float m = 0;
        for (int k = 0; k < K; k++) m = fmaxf(m, fabsf(w->w[(size_t)n * K + k]));
        us[n] = ldexpf(1.0f, ph_exp(m));
    }
    wn_status st = pack_pairs16(w, P, Kp, us);
    if (st != WN_OK) {
        wn_free(us);
        return st;
    }
    w->scales = us;
    return WN_OK;
}

static wn_status pack_avx512(nn_weight *w) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR;
    if (w->prec == NN_PREC_INT8) {
        if (!HAVE_VNNI()) goto avx2;
        return nn_pack_int8_quads(w, NR, Q_WMAX);
    }
    if (w->prec == NN_PREC_BF16 && w->k->ph_kb) { /* fp16 products */
        if (!HAVE_FP16()) goto avx2;
        return pack_ph_pairs(w, P, kpad(K, 2));
    }
    if (w->prec == NN_PREC_BF16 && !w->k->bf16_x) { /* widened to fp32 in the kernel */
        uint16_t *pk = wn_malloc_aligned((size_t)P * K * NR * sizeof(uint16_t));
        if (!pk) return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d bf16 weight", N, K);
        for (int p = 0; p < P; p++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < NR; j++) {
                    int n = p * NR + (j % 2 ? 16 + j / 2 : j / 2); /* lane j/2: low = c, high = c + 16 */
                    pk[((size_t)p * K + k) * NR + j] = n < N ? nn_f32_to_bf16(w->w[(size_t)n * K + k]) : 0;
                }
        w->packed = pk;
        return WN_OK;
    }
    if (w->prec == NN_PREC_BF16) { /* pairs for vdpbf16ps */
        if (!HAVE_BF16()) goto avx2;
        const int Kp = kpad(K, 2);
        return pack_bf16_pairs(w, P, Kp);
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
avx2:; /* this CPU lacks the instruction: the AVX2 kernels pack and run it */
    const nn_kernels_t *k2 = nn_kernels_avx2();
    w->k = k2;
    return k2->pack(w);
}

/* ---- the micro-kernels: rows [0, mr) x 32 columns (nc of them real) of c.
 * Written out per row (FOR_ROWS) so the accumulators live in registers; with mr
 * a constant after inlining, the rows past mr vanish. */
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define APTR(T, r) const T *a##r = a + (mr > r) * r * lda;
#define STOREC(r)                                                                                    \
    if (mr > r) {                                                                                    \
        _mm512_mask_storeu_ps(c + r * ldc, m0, c##r##0);                                             \
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c##r##1);                                        \
    }

/* fp32: over kc values of k; init: start from 0 (else from c); last: add bias, act.
 * pf (or NULL): the weight block the next call reads, a cache line per step. */
static inline __attribute__((always_inline)) void ukernel(const int mr, const int bf16, int kc, const float *a,
                                                          size_t lda, const void *bp, float *c, size_t ldc, int nc,
                                                          int init, int last, const float *bias, nn_act act,
                                                          const char *pf) {
    const __mmask16 m0 = lanes16(nc), m1 = lanes16(nc - 16);
    FOR_ROWS(DECL)
#define LOADC(r)                                                                                     \
    if (mr > r && !init) {                                                                           \
        c##r##0 = _mm512_maskz_loadu_ps(m0, c + r * ldc);                                            \
        c##r##1 = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);                                       \
    }
    FOR_ROWS(LOADC)
#undef LOADC
#define AP(r) APTR(float, r)
    FOR_ROWS(AP)
#undef AP
#define FMAROW(r)                                                                                    \
    if (mr > r) {                                                                                    \
        __m512 av = _mm512_set1_ps(a##r[k]);                                                         \
        c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                                  \
        c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                                                  \
    }
    if (bf16) {
        const uint16_t *b = bp;
        const __m512i himask = _mm512_set1_epi32((int)0xffff0000u);
#define KSTEP                                                                                        \
    __m512i raw = _mm512_load_si512((const void *)(b + (size_t)k * NR));                             \
    __m512 b0 = _mm512_castsi512_ps(_mm512_slli_epi32(raw, 16));                                     \
    __m512 b1 = _mm512_castsi512_ps(_mm512_and_si512(raw, himask));                                  \
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
    } else {
        const float *b = bp;
#define KSTEP                                                                                        \
    __m512 b0 = _mm512_load_ps(b + (size_t)k * NR);                                                  \
    __m512 b1 = _mm512_load_ps(b + (size_t)k * NR + 16);                                             \
    FOR_ROWS(FMAROW)
        if (pf)
            for (int k = 0; k < kc; k++) {
                _mm_prefetch(pf + (size_t)k * 128, _MM_HINT_T0);
                _mm_prefetch(pf + (size_t)k * 128 + 64, _MM_HINT_T0);
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
        __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
        if (bias) {
            bb0 = _mm512_maskz_loadu_ps(m0, bias);
            bb1 = _mm512_maskz_loadu_ps(m1, bias + 16);
        }
#define EPI(r)                                                                                       \
    if (mr > r) {                                                                                    \
        c##r##0 = act512(act, _mm512_add_ps(c##r##0, bb0));                                          \
        c##r##1 = act512(act, _mm512_add_ps(c##r##1, bb1));                                          \
    }
        FOR_ROWS(EPI)
#undef EPI
    }
    FOR_ROWS(STOREC)
}

/* bf16: a holds the rows' Kp bf16 (x rounded) interleaved by k-pair as ukernel_ph's,
 * b the panel; Kp even. */
static inline __attribute__((always_inline)) void ukernel_bf16(const int mr, int Kp, const uint16_t *a,
                                                               size_t lda, const uint16_t *b, float *c,
                                                               size_t ldc, int nc, const float *bias, nn_act act,
                                                               const uint16_t *pf) {
    const __mmask16 m0 = lanes16(nc), m1 = lanes16(nc - 16);
    FOR_ROWS(DECL)
#define BROW(r)                                                                                      \
    if (mr > r) {                                                                                    \
        int32_t pv;                                                                                  \
        memcpy(&pv, a + (size_t)(k / 2) * lda + 2 * r, 4);                                           \
        __m512bh av = as_bh(_mm512_set1_epi32(pv));                                               \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                                                 \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                                                 \
    }
#define KSTEP                                                                                        \
    __m512bh b0 = as_bh(_mm512_load_si512((const void *)(b + (size_t)k * NR)));                 \
    __m512bh b1 = as_bh(_mm512_load_si512((const void *)(b + (size_t)k * NR + 32)));              \
    FOR_ROWS(BROW)
    if (pf)
        for (int k = 0; k < Kp; k += 2) {
            _mm_prefetch((const char *)(pf + (size_t)k * NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + (size_t)k * NR) + 64, _MM_HINT_T0);
            KSTEP
        }
    else
        for (int k = 0; k < Kp; k += 2) {
            KSTEP
        }
#undef KSTEP
#undef BROW
    __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
    if (bias) {
        bb0 = _mm512_maskz_loadu_ps(m0, bias);
        bb1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
#define EPI(r)                                                                                       \
    if (mr > r) {                                                                                    \
        c##r##0 = act512(act, _mm512_add_ps(c##r##0, bb0));                                          \
        c##r##1 = act512(act, _mm512_add_ps(c##r##1, bb1));                                          \
    }
    FOR_ROWS(EPI)
#undef EPI
    FOR_ROWS(STOREC)
}

/* int8: a holds the quantised rows (u8, zero point za[r], scale sa[r]) interleaved
 * by k-quad: quad g of row r at a[g * lda + 4 * r] (lda = 4 MR), so one pointer
 * and constant offsets reach every row (with 14 row pointers GCC ran out of
 * registers and reloaded them from the stack on every k step). */
static inline __attribute__((always_inline)) void ukernel_i8(const int mr, int Kp, const uint8_t *a, size_t lda,
                                                             const int8_t *b, const float *sa, const int32_t *za,
                                                             const float *sw, const int32_t *cs, float *c,
                                                             size_t ldc, int nc, const float *bias, nn_act act,
                                                             const int8_t *pf) {
    const __mmask16 m0 = lanes16(nc), m1 = lanes16(nc - 16);
#define IDECL(r) __m512i i##r##0 = _mm512_setzero_si512(), i##r##1 = _mm512_setzero_si512();
    FOR_ROWS(IDECL)
#undef IDECL
#define IROW(r)                                                                                      \
    if (mr > r) {                                                                                    \
        int32_t qv;                                                                                  \
        memcpy(&qv, a + (size_t)(k / 4) * lda + 4 * r, 4);                                           \
        __m512i av = _mm512_set1_epi32(qv);                                                          \
        i##r##0 = dpbusd(i##r##0, av, b0);                                                           \
        i##r##1 = dpbusd(i##r##1, av, b1);                                                           \
    }
#define KSTEP                                                                                        \
    __m512i b0 = _mm512_load_si512((const void *)(b + (size_t)k * NR));                              \
    __m512i b1 = _mm512_load_si512((const void *)(b + (size_t)k * NR + 64));                         \
    FOR_ROWS(IROW)
    if (pf)
        for (int k = 0; k < Kp; k += 4) {
            _mm_prefetch((const char *)(pf + (size_t)k * NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + (size_t)k * NR) + 64, _MM_HINT_T0);
            KSTEP
        }
    else
        for (int k = 0; k < Kp; k += 4) {
            KSTEP
        }
#undef KSTEP
#undef IROW
    __m512 s0 = _mm512_maskz_loadu_ps(m0, sw), s1 = _mm512_maskz_loadu_ps(m1, sw + 16);
    __m512i cs0 = _mm512_maskz_loadu_epi32(m0, cs), cs1 = _mm512_maskz_loadu_epi32(m1, cs + 16);
    __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
    if (bias) {
        bb0 = _mm512_maskz_loadu_ps(m0, bias);
        bb1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
#define IEPI(r)                                                                                      \
    if (mr > r) {                                                                                    \
        __m512i z = _mm512_set1_epi32(za[r]);                                                        \
        __m512 sr = _mm512_set1_ps(sa[r]);                                                           \
        __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(i##r##0, _mm512_mullo_epi32(z, cs0)));       \
        __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(i##r##1, _mm512_mullo_epi32(z, cs1)));       \
        f0 = act512(act, _mm512_fmadd_ps(f0, _mm512_mul_ps(sr, s0), bb0));                           \
        f1 = act512(act, _mm512_fmadd_ps(f1, _mm512_mul_ps(sr, s1), bb1));                           \
        _mm512_mask_storeu_ps(c + r * ldc, m0, f0);                                                  \
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, f1);                                             \
    }
    FOR_ROWS(IEPI)
#undef IEPI
}

/* ---- bf16 precision as fp16 products (AVX512-FP16's vfmadd231ph: 32 products
 * per instruction at vfmadd231ps's rate, so twice its products; the choice where
 * vdpbf16ps is slow and there are no AMX tiles, e.g. Sapphire Rapids with AMX not
 * exposed). fp16's 5-bit exponent is made safe with powers of two: the weights of
 * each output channel are scaled at load so their largest |w| is in [0.5, 1), each
 * row of x likewise when it is converted; fp16 keeps 11 significant bits to bf16's
 * 8, so both are stored closer than bf16 would. The panels have bf16's pair layout
 * (channel i's values for k = 2g, 2g+1 at 2i, 2i+1), so each fp16 lane sums one
 * channel's even-k or odd-k products: in fp16 over blocks of PH_KB values of k (at
 * most PH_KB / 2 products below 1 per lane, no overflow), then in fp32, even and
 * odd apart; out = (E + O) * (2^ex 2^ew) + bias, the scale exact. The error stays
 * below bf16's (tests/test_nn.c checks the exact arithmetic, f16_emu.h). */
#define PH_KB 256

/* acc + a * b in 32 fp16 lanes. As inline asm: GCC 12 has the intrinsic only with
 * -mavx512fp16 for the whole file (which would let it use FP16 instructions where
 * the CPU may lack them), clang 14 not at all without it. */
static inline __m512i fmaph(__m512i acc, __m512i a, __m512i b) {
#ifdef WN_SIMDE
    uint16_t x[32], y[32], z[32];
    _mm512_storeu_si512(x, a);
    _mm512_storeu_si512(y, b);
    _mm512_storeu_si512(z, acc);
    for (int i = 0; i < 32; i++) z[i] = f16e_fma(x[i], y[i], z[i]);
    return _mm512_loadu_si512(z);
#else
    __asm__("vfmadd231ph %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#endif
}

/* the fp16 lanes 0-15 (lo) or 16-31 of h as 16 floats */
static inline __m512 ph_half_ps(__m512i h, int hi) {
#ifdef WN_SIMDE
    uint16_t x[32];
    float f[16];
    _mm512_storeu_si512(x, h);
    for (int i = 0; i < 16; i++) f[i] = nn_f16_to_f32(x[16 * hi + i]);
    return _mm512_loadu_ps(f);
#else
    return _mm512_cvtph_ps(hi ? _mm512_extracti64x4_epi64(h, 1) : _mm512_castsi512_si256(h));
#endif
}

/* The row conversions write 4-byte units of k (a quad of u8, a pair of 16-bit
 * values) to d[0], d[stride], d[2 stride], ...: stride 1 for a row as it is, MR for
 * a row in its group of MR rows interleaved by 4 bytes (what the bf16, fp16 and int8
 * micro-kernels read). put4: the 4 units of v; put8: the 8 of v. */
static inline void put4(uint32_t *d, size_t stride, __m128i v) {
    if (stride == 1) {
        _mm_storeu_si128((__m128i *)(void *)d, v);
        return;
    }
    d[0] = (uint32_t)_mm_cvtsi128_si32(v);
    d[stride] = (uint32_t)_mm_extract_epi32(v, 1);
    d[2 * stride] = (uint32_t)_mm_extract_epi32(v, 2);
    d[3 * stride] = (uint32_t)_mm_extract_epi32(v, 3);
}
static inline void put8(uint32_t *d, size_t stride, __m256i v) {
    put4(d, stride, _mm256_castsi256_si128(v));
    put4(d + 4 * stride, stride, _mm256_extracti128_si256(v, 1));
}
/* element k of a row of 16-bit values / bytes, in those units */
static inline void put16(uint32_t *d, size_t stride, int k, uint16_t v) {
    memcpy((char *)(d + (size_t)(k / 2) * stride) + 2 * (k % 2), &v, 2);
}
static inline void put8b(uint32_t *d, size_t stride, int k, uint8_t v) {
    memcpy((char *)(d + (size_t)(k / 4) * stride) + k % 4, &v, 1);
}

/* row x (K floats) -> Kp fp16 of x * 2^-e (to q, by put8), rounded to nearest even,
 * zero-padded, with e such that max |x| 2^-e is in [0.5, 1) (e in [-126, 126]; 0 for a row of
 * zeros); *unscale = 2^e */
static void ph_row(const float *x, int K, int Kp, uint32_t *q, size_t stride, float *unscale) {
    __m512 vm = _mm512_setzero_ps();
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        _mm_prefetch((const char *)(x + K + k), _MM_HINT_T0); /* the next row (rows are converted in order) */
        vm = _mm512_max_ps(vm, _mm512_and_ps(_mm512_loadu_ps(x + k), absmask));
    }
    float m = _mm512_reduce_max_ps(vm);
    for (; k < K; k++) m = fmaxf(m, fabsf(x[k]));
    const int e = ph_exp(m);
    const float sc = ldexpf(1.0f, -e);
    *unscale = ldexpf(1.0f, e);
    k = 0;
#ifndef WN_SIMDE
    const __m512 vs = _mm512_set1_ps(sc);
    for (; k + 16 <= K; k += 16)
        put8(q + (size_t)(k / 2) * stride, stride,
             _mm512_cvtps_ph(_mm512_mul_ps(_mm512_loadu_ps(x + k), vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
    for (; k < K; k++) put16(q, stride, k, nn_f32_to_f16(x[k] * sc));
    for (; k < Kp; k++) put16(q, stride, k, 0);
}

/* fp16: a holds the rows' Kp fp16 (x scaled; sx[r] = the row's 2^e) interleaved by
 * k-pair as ukernel_i8's quads: pair g of row r at a[g * lda + 2 * r] (lda = 2 MR);
 * b the panel (sw: its channels' 2^e); Kp even. */
static inline __attribute__((always_inline)) void ukernel_ph(const int mr, int Kp, const uint16_t *a, size_t lda,
                                                             const uint16_t *b, const float *sx, const float *sw,
                                                             float *c, size_t ldc, int nc, const float *bias,
                                                             nn_act act, const uint16_t *pf) {
    const __mmask16 m0 = lanes16(nc), m1 = lanes16(nc - 16);
    /* per row, the fp32 sums of the lanes 0-15, 16-31 of the first zmm, then the second */
    _Alignas(64) float s[MR][64];
    for (int r = 0; r < mr; r++) memset(s[r], 0, sizeof s[r]);
#define HDECL(r) __m512i h##r##0 = _mm512_setzero_si512(), h##r##1 = _mm512_setzero_si512();
#define HROW(r)                                                                                      \
    if (mr > r) {                                                                                    \
        int32_t pv;                                                                                  \
        memcpy(&pv, a + (size_t)(k / 2) * lda + 2 * r, 4);                                           \
        __m512i av = _mm512_set1_epi32(pv);                                                          \
        h##r##0 = fmaph(h##r##0, av, b0);                                                            \
        h##r##1 = fmaph(h##r##1, av, b1);                                                            \
    }
#define KSTEP                                                                                        \
    __m512i b0 = _mm512_load_si512((const void *)(b + (size_t)k * NR));                              \
    __m512i b1 = _mm512_load_si512((const void *)(b + (size_t)k * NR + 32));                         \
    FOR_ROWS(HROW)
#define HFLUSH(r)                                                                                    \
    if (mr > r) {                                                                                    \
        float *sr = s[r];                                                                            \
        _mm512_store_ps(sr, _mm512_add_ps(_mm512_load_ps(sr), ph_half_ps(h##r##0, 0)));              \
        _mm512_store_ps(sr + 16, _mm512_add_ps(_mm512_load_ps(sr + 16), ph_half_ps(h##r##0, 1)));    \
        _mm512_store_ps(sr + 32, _mm512_add_ps(_mm512_load_ps(sr + 32), ph_half_ps(h##r##1, 0)));    \
        _mm512_store_ps(sr + 48, _mm512_add_ps(_mm512_load_ps(sr + 48), ph_half_ps(h##r##1, 1)));    \
    }
    for (int kb = 0; kb < Kp; kb += PH_KB) {
        const int ke = WN_MIN(Kp, kb + PH_KB);
        FOR_ROWS(HDECL)
        if (pf)
            for (int k = kb; k < ke; k += 2) {
                _mm_prefetch((const char *)(pf + (size_t)k * NR), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + (size_t)k * NR) + 64, _MM_HINT_T0);
                KSTEP
            }
        else
            for (int k = kb; k < ke; k += 2) {
                KSTEP
            }
        FOR_ROWS(HFLUSH)
    }
#undef HFLUSH
#undef KSTEP
#undef HROW
#undef HDECL
    /* lanes 2i / 2i+1 of a half hold channel i's even / odd sums: E + O in channel order */
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 w0 = _mm512_maskz_loadu_ps(m0, sw), w1 = _mm512_maskz_loadu_ps(m1, sw + 16);
    __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
    if (bias) {
        bb0 = _mm512_maskz_loadu_ps(m0, bias);
        bb1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    for (int r = 0; r < mr; r++) {
        const float *sr = s[r];
        __m512 l0 = _mm512_load_ps(sr), l1 = _mm512_load_ps(sr + 16);
        __m512 l2 = _mm512_load_ps(sr + 32), l3 = _mm512_load_ps(sr + 48);
        __m512 t0 = _mm512_add_ps(_mm512_permutex2var_ps(l0, ev, l1), _mm512_permutex2var_ps(l0, od, l1));
        __m512 t1 = _mm512_add_ps(_mm512_permutex2var_ps(l2, ev, l3), _mm512_permutex2var_ps(l2, od, l3));
        const __m512 xs = _mm512_set1_ps(sx[r]);
        t0 = act512(act, _mm512_fmadd_ps(t0, _mm512_mul_ps(xs, w0), bb0));
        t1 = act512(act, _mm512_fmadd_ps(t1, _mm512_mul_ps(xs, w1), bb1));
        _mm512_mask_storeu_ps(c + r * ldc, m0, t0);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, t1);
    }
}
#undef DECL
#undef APTR
#undef STOREC

typedef void (*uk_fn)(int, const float *, size_t, const void *, float *, size_t, int, int, int, const float *,
                      nn_act, const char *);
typedef void (*ukb_fn)(int, const uint16_t *, size_t, const uint16_t *, float *, size_t, int, const float *, nn_act,
                       const uint16_t *);
typedef void (*uki_fn)(int, const uint8_t *, size_t, const int8_t *, const float *, const int32_t *, const float *,
                       const int32_t *, float *, size_t, int, const float *, nn_act, const int8_t *);
typedef void (*ukp_fn)(int, const uint16_t *, size_t, const uint16_t *, const float *, const float *, float *, size_t,
                       int, const float *, nn_act, const uint16_t *);
#define UK(MRV)                                                                                          \
    static void uk_##MRV(int kc, const float *a, size_t lda, const void *b, float *c, size_t ldc, int nc,   \
                         int init, int last, const float *bias, nn_act act, const char *pf) {             \
        ukernel(MRV, 0, kc, a, lda, b, c, ldc, nc, init, last, bias, act, pf);                            \
    }                                                                                                     \
    static void ukh_##MRV(int kc, const float *a, size_t lda, const void *b, float *c, size_t ldc, int nc,  \
                          int init, int last, const float *bias, nn_act act, const char *pf) {            \
        ukernel(MRV, 1, kc, a, lda, b, c, ldc, nc, init, last, bias, act, pf);                            \
    }                                                                                                     \
    static void ukb_##MRV(int Kp, const uint16_t *a, size_t lda, const uint16_t *b, float *c, size_t ldc,  \
                          int nc, const float *bias, nn_act act, const uint16_t *pf) {                     \
        ukernel_bf16(MRV, Kp, a, lda, b, c, ldc, nc, bias, act, pf);                                      \
    }                                                                                                     \
    static void uki_##MRV(int Kp, const uint8_t *a, size_t lda, const int8_t *b, const float *sa,          \
                          const int32_t *za, const float *sw, const int32_t *cs, float *c, size_t ldc, int nc, \
                          const float *bias, nn_act act, const int8_t *pf) {                               \
        ukernel_i8(MRV, Kp, a, lda, b, sa, za, sw, cs, c, ldc, nc, bias, act, pf);                         \
    }                                                                                                     \
    static void ukp_##MRV(int Kp, const uint16_t *a, size_t lda, const uint16_t *b, const float *sx,       \
                          const float *sw, float *c, size_t ldc, int nc, const float *bias, nn_act act,    \
                          const uint16_t *pf) {                                                           \
        ukernel_ph(MRV, Kp, a, lda, b, sx, sw, c, ldc, nc, bias, act, pf);                                 \
    }
UK(1) UK(2) UK(3) UK(4) UK(5) UK(6) UK(7) UK(8) UK(9) UK(10) UK(11) UK(12) UK(13) UK(14)
#define UKLIST(P)                                                                                        \
    {NULL, P##1, P##2, P##3, P##4, P##5, P##6, P##7, P##8, P##9, P##10, P##11, P##12, P##13, P##14}
static const uk_fn uk_f32[MR + 1] = UKLIST(uk_);
static const uk_fn uk_h16[MR + 1] = UKLIST(ukh_);
static const ukb_fn uk_b16[MR + 1] = UKLIST(ukb_);
static const uki_fn uk_i8[MR + 1] = UKLIST(uki_);
static const ukp_fn uk_ph[MR + 1] = UKLIST(ukp_);

/* ---- fp32 driver: static tiles of (MC rows x TILE_PANELS panels), rows of a
 * tile split evenly in whole MR blocks (as linear_avx2) */
static void linear_f32(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                       int nth) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR;
    const int bf16 = w->prec == NN_PREC_BF16;
    const size_t esz = bf16 ? sizeof(uint16_t) : sizeof(float);
    const uk_fn *uk = bf16 ? uk_h16 : uk_f32;
    /* few rows (batch-1 latency): tiles of one panel, so that 2 threads get 6 + 6
     * of a 384-wide layer's 12 panels rather than 2 + 1 tiles of 4 */
    const int nmt = (M + MC - 1) / MC, nb = (M + MR - 1) / MR;
    const int tp = (long)nmt * ((P + TILE_PANELS - 1) / TILE_PANELS) >= 4L * nth ? TILE_PANELS : 1;
    const int nnt = (P + tp - 1) / tp;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    const char *pk = w->packed;
    for (long t = t0; t < t1; t++) {
        const int mt = (int)(t / nnt);
        int m0 = MR * (int)((long)nb * mt / nmt), m1 = WN_MIN(M, MR * (int)((long)nb * (mt + 1) / nmt));
        int p0 = (int)(t % nnt) * tp, p1 = WN_MIN(P, p0 + tp);
        for (int kb = 0; kb < K; kb += KC) {
            int kc = WN_MIN(KC, K - kb);
            int init = kb == 0, last = kb + kc == K;
            for (int p = p0; p < p1; p++) {
                int nc = WN_MIN(NR, N - p * NR);
                const char *bp = pk + ((size_t)p * K + kb) * NR * esz;
                const float *bi = bias ? bias + p * NR : NULL;
                const char *nx = p + 1 < p1    ? bp + (size_t)K * NR * esz
                                 : kb + kc < K ? pk + ((size_t)p0 * K + kb + kc) * NR * esz
                                               : NULL;
                for (int m = m0; m < m1; m += MR) {
                    int mr = WN_MIN(MR, m1 - m);
                    uk[mr](kc, x + (size_t)m * K + kb, (size_t)K, bp, out + (size_t)m * N + p * NR, (size_t)N,
                               nc, init, last, bi, act, m == m0 ? nx : NULL);
                }
            }
        }
    }
}

/* row x (K floats) -> Kp bf16 (to q, by put8), rounded to nearest even
 * (nn_f32_to_bf16 for finite values), zero-padded */
static void bf16_row(const float *x, int K, int Kp, uint32_t *q, size_t stride) {
    int k = 0;
    const __m512i one = _mm512_set1_epi32(1), rnd = _mm512_set1_epi32(0x7fff);
    for (; k + 16 <= K; k += 16) {
        __m512i v = _mm512_loadu_si512((const void *)(x + k));
        v = _mm512_add_epi32(v, _mm512_add_epi32(rnd, _mm512_and_si512(_mm512_srli_epi32(v, 16), one)));
        put8(q + (size_t)(k / 2) * stride, stride, _mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
    }
    for (; k < K; k++) put16(q, stride, k, nn_f32_to_bf16(x[k]));
    for (; k < Kp; k++) put16(q, stride, k, 0);
}

/* row x (K floats) -> Kp bytes (to q, by put4; zero-padded past K), its scale and zero point:
 * the same quantisation as ops_avx2.c's quant_row */
static void quant_row(const float *x, int K, int Kp, uint32_t *q, size_t stride, float *scale, int32_t *zp) {
    __m512 vmn = _mm512_setzero_ps(), vmx = vmn; /* the range includes 0, so 0 maps exactly */
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        _mm_prefetch((const char *)(x + K + k), _MM_HINT_T0); /* the next row (rows are converted in order) */
        __m512 v = _mm512_loadu_ps(x + k);
        vmn = _mm512_min_ps(vmn, v), vmx = _mm512_max_ps(vmx, v);
    }
    float mn = _mm512_reduce_min_ps(vmn), mx = _mm512_reduce_max_ps(vmx);
    for (; k < K; k++) mn = fminf(mn, x[k]), mx = fmaxf(mx, x[k]);
    float sa = (mx - mn) / 255.0f;
    if (!(sa > 0)) sa = 1.0f;
    int32_t z = (int32_t)lrintf(-mn / sa);
    z = z < 0 ? 0 : z > 255 ? 255 : z;
    const __m512 inv = _mm512_set1_ps(1.0f / sa);
    const __m512i vz = _mm512_set1_epi32(z), lo = _mm512_setzero_si512(), hi = _mm512_set1_epi32(255);
    for (k = 0; k + 16 <= K; k += 16) {
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), inv)); /* round to nearest even */
        v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, vz), lo), hi);
        put4(q + (size_t)(k / 4) * stride, stride, _mm512_cvtepi32_epi8(v));
    }
    for (; k < K; k++) {
        int32_t v = (int32_t)lrintf(x[k] / sa) + z;
        put8b(q, stride, k, (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v));
    }
    for (; k < Kp; k++) put8b(q, stride, k, (uint8_t)z); /* weights are 0 there */
    *scale = sa;
    *zp = z;
}

/* ---- bf16 / int8 driver: tiles of (row chunk x panels); when there are enough
 * row chunks for every thread, a tile spans all of N so each row is converted
 * once; else N is cut too. */
static void linear_q(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                     int nth) {
    const int i8 = w->prec == NN_PREC_INT8, ph = !i8 && w->k->ph_kb;
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR, Kp = kpad(K, i8 ? 4 : 2);
    const size_t rb = (size_t)Kp * (i8 ? 1 : 2); /* bytes per converted row */
    int rows = (int)(Q_ROWS_BYTES / rb);
    rows = rows >= QMC ? QMC : rows >= MR ? rows - rows % MR : 1;
    _Alignas(64) unsigned char aq[Q_ROWS_BYTES + 64];
    float sa[QMC];
    int32_t za[QMC];
    const int nmt = (M + rows - 1) / rows;
    const int tp = nmt >= 4 * nth                                             ? P
                   : (long)nmt * ((P + TILE_PANELS - 1) / TILE_PANELS) >= 4L * nth ? TILE_PANELS
                                                                                   : 1;
    const int nnt = (P + tp - 1) / tp;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    int have = -1; /* the row chunk converted in aq */
    for (long t = t0; t < t1; t++) {
        int mt = (int)(t / nnt), m0 = mt * rows, m1 = WN_MIN(M, m0 + rows);
        int p0 = (int)(t % nnt) * tp, p1 = WN_MIN(P, p0 + tp);
        if (have != mt) {
            for (int m = m0; m < m1; m++) {
                /* a chunk of single rows: each as it is; else rows in groups of MR,
                 * interleaved by 4 bytes of k */
                const int g = (m - m0) / MR, r = (m - m0) % MR;
                uint32_t *dst = rows < MR ? (uint32_t *)(void *)(aq + (size_t)(m - m0) * rb)
                                          : (uint32_t *)(void *)(aq + (size_t)g * MR * rb) + r;
                const size_t stride = rows < MR ? 1 : MR;
                const float *xr = x + (size_t)m * K;
                if (i8) quant_row(xr, K, Kp, dst, stride, &sa[m - m0], &za[m - m0]);
                else if (ph) ph_row(xr, K, Kp, dst, stride, &sa[m - m0]);
                else bf16_row(xr, K, Kp, dst, stride);
            }
            have = mt;
        }
        for (int p = p0; p < p1; p++) {
            int nc = WN_MIN(NR, N - p * NR);
            const float *bi = bias ? bias + p * NR : NULL;
            float *o = out + (size_t)m0 * N + p * NR;
            if (i8) {
                const int8_t *bp = (const int8_t *)w->packed + (size_t)p * Kp * NR;
                for (int m = m0; m < m1; m += MR) {
                    int mr = WN_MIN(MR, m1 - m);
                    uk_i8[mr](Kp, aq + (size_t)(m - m0) * rb, rows < MR ? 4 : 4 * MR, bp, sa + (m - m0), za + (m - m0),
                              w->scales + p * NR, w->colsum + p * NR, o + (size_t)(m - m0) * N, (size_t)N, nc, bi,
                              act, m == m0 && p + 1 < p1 ? bp + (size_t)Kp * NR : NULL);
                }
            } else if (ph) {
                const uint16_t *bp = (const uint16_t *)w->packed + (size_t)p * Kp * NR;
                for (int m = m0; m < m1; m += MR) {
                    int mr = WN_MIN(MR, m1 - m);
                    uk_ph[mr](Kp, (const uint16_t *)(const void *)(aq + (size_t)(m - m0) * rb), rows < MR ? 2 : 2 * MR, bp,
                              sa + (m - m0), w->scales + p * NR, o + (size_t)(m - m0) * N, (size_t)N, nc, bi, act,
                              m == m0 && p + 1 < p1 ? bp + (size_t)Kp * NR : NULL);
                }
            } else {
                const uint16_t *bp = (const uint16_t *)w->packed + (size_t)p * Kp * NR;
                for (int m = m0; m < m1; m += MR) {
                    int mr = WN_MIN(MR, m1 - m);
                    uk_b16[mr](Kp, (const uint16_t *)(const void *)(aq + (size_t)(m - m0) * rb), rows < MR ? 2 : 2 * MR, bp,
                               o + (size_t)(m - m0) * N, (size_t)N, nc, bi, act,
                               m == m0 && p + 1 < p1 ? bp + (size_t)Kp * NR : NULL);
                }
            }
        }
    }
}

static void linear_dispatch(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                            int ith, int nth) {
    if (!w->packed) nn_linear_ref(x, M, w, bias, act, out, ith, nth);
    else if (w->prec == NN_PREC_INT8 || (w->prec == NN_PREC_BF16 && (w->k->bf16_x || w->k->ph_kb)))
        linear_q(x, M, w, bias, act, out, ith, nth);
    else linear_f32(x, M, w, bias, act, out, ith, nth);
}

/* ---- residual + LayerNorm, as add_layernorm_avx2 over 16 lanes with a masked
 * last block (any H): the sum x + res is written to out once (out may alias x),
 * then the mean and the centred variance are taken over it (in L1 by then); lane
 * sums reduced pairwise in a fixed order, so results do not depend on threads. */
static void add_layernorm_avx512(const float *x, const float *res, int m0, int m1, int H, const float *gamma,
                                 const float *beta, float eps, float *out) {
    const int nb = (H + 15) / 16;
    const __mmask16 tail = lanes16(H - 16 * (nb - 1));
    for (int m = m0; m < m1; m++) {
        const float *xr = x + (size_t)m * H;
        const float *rr = res ? res + (size_t)m * H : NULL;
        float *o = out + (size_t)m * H;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        int b = 0;
        for (; b + 2 < nb; b += 2) { /* two chains: the adds' latency */
            __m512 v0 = _mm512_loadu_ps(xr + 16 * b), v1 = _mm512_loadu_ps(xr + 16 * b + 16);
            if (rr) {
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(rr + 16 * b));
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(rr + 16 * b + 16));
            }
            _mm512_storeu_ps(o + 16 * b, v0);
            _mm512_storeu_ps(o + 16 * b + 16, v1);
            s0 = _mm512_add_ps(s0, v0), s1 = _mm512_add_ps(s1, v1);
        }
        for (; b < nb; b++) {
            const __mmask16 mk = b == nb - 1 ? tail : (__mmask16)0xffff;
            __m512 v = _mm512_maskz_loadu_ps(mk, xr + 16 * b);
            if (rr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, rr + 16 * b));
            _mm512_mask_storeu_ps(o + 16 * b, mk, v);
            s0 = _mm512_add_ps(s0, v);
        }
        const __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(s0, s1)) / (float)H);
        __m512 q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
        for (b = 0; b + 2 < nb; b += 2) {
            __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(o + 16 * b), mean);
            __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(o + 16 * b + 16), mean);
            q0 = _mm512_fmadd_ps(d0, d0, q0), q1 = _mm512_fmadd_ps(d1, d1, q1);
        }
        for (; b < nb; b++) {
            const __mmask16 mk = b == nb - 1 ? tail : (__mmask16)0xffff;
            __m512 d = _mm512_maskz_sub_ps(mk, _mm512_maskz_loadu_ps(mk, o + 16 * b), mean);
            q0 = _mm512_fmadd_ps(d, d, q0);
        }
        const __m512 inv =
            _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(_mm512_add_ps(q0, q1)) / (float)H + eps));
        for (b = 0; b < nb; b++) {
            const __mmask16 mk = b == nb - 1 ? tail : (__mmask16)0xffff;
            __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, o + 16 * b), mean), inv);
            __m512 g = _mm512_maskz_loadu_ps(mk, gamma + 16 * b), be = _mm512_maskz_loadu_ps(mk, beta + 16 * b);
            _mm512_mask_storeu_ps(o + 16 * b, mk, _mm512_fmadd_ps(d, g, be));
        }
    }
}

/* exp(x) as exp256 in ops_avx2.c (Cephes expf, about 1 ulp; below -87 gives 0) */
static inline __m512 exp512(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-87.3f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512i ni = _mm512_cvtps_epi32(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f))); /* nearest even */
    __m512 n = _mm512_cvtepi32_ps(ni);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    p = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
    return _mm512_maskz_mov_ps((__mmask16)~under, p);
}

/* ---- attention for one (sequence, head), as attention_head_avx2 with the
 * micro-kernel's 14 x 32 shape: scores S = q k^T / sqrt(HD) for 14 query rows
 * against the keys packed transposed (HD x Lp, Lp = L rounded up to 16,
 * zero-padded), 32 keys per step; softmax per row; then the context p v over
 * rows of v read in place, 32 of the HD columns per step (HD a multiple of 16;
 * other heads run the AVX2 kernel). */
#define AR 14
static inline __attribute__((always_inline)) void att_mm(const int mr, const int nv, const float *a, size_t lda,
                                                         const float *b, size_t ldb, int K, const float *sc,
                                                         float *c, size_t ldc) {
#define DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
    FOR_ROWS(DECL)
#undef DECL
    for (int k = 0; k < K; k++) {
        const float *br = b + (size_t)k * ldb;
        __m512 b0 = _mm512_loadu_ps(br), b1 = nv > 1 ? _mm512_loadu_ps(br + 16) : b0;
#define FMAROW(r)                                                                                    \
    if (mr > r) {                                                                                    \
        __m512 av = _mm512_set1_ps(a[r * lda + k]);                                                  \
        c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                                  \
        if (nv > 1) c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                                      \
    }
        FOR_ROWS(FMAROW)
#undef FMAROW
    }
#define STORE(r)                                                                                     \
    if (mr > r) {                                                                                    \
        __m512 s = _mm512_set1_ps(sc[r]);                                                            \
        _mm512_storeu_ps(c + r * ldc, _mm512_mul_ps(c##r##0, s));                                    \
        if (nv > 1) _mm512_storeu_ps(c + r * ldc + 16, _mm512_mul_ps(c##r##1, s));                   \
    }
    FOR_ROWS(STORE)
#undef STORE
}

typedef void (*att_fn)(const float *, size_t, const float *, size_t, int, const float *, float *, size_t);
#define ATT(MRV)                                                                                            \
    static void att1_##MRV(const float *a, size_t lda, const float *b, size_t ldb, int K, const float *sc,   \
                           float *c, size_t ldc) {                                                          \
        att_mm(MRV, 1, a, lda, b, ldb, K, sc, c, ldc);                                                      \
    }                                                                                                       \
    static void att2_##MRV(const float *a, size_t lda, const float *b, size_t ldb, int K, const float *sc,   \
                           float *c, size_t ldc) {                                                          \
        att_mm(MRV, 2, a, lda, b, ldb, K, sc, c, ldc);                                                      \
    }
ATT(1) ATT(2) ATT(3) ATT(4) ATT(5) ATT(6) ATT(7) ATT(8) ATT(9) ATT(10) ATT(11) ATT(12) ATT(13) ATT(14)
static const att_fn att_k[2][AR + 1] = {UKLIST(att1_), UKLIST(att2_)};

/* kt (HD x Lp) = the head's keys (rows kb + j ld, j < L; zeros up to Lp) transposed;
 * HD and Lp multiples of 16. Natively in 16 x 16 blocks: the four unpack / shuffle
 * stages of the usual register transpose (the scalar loop was a tenth of attention). */
static void pack_keys(const float *kb, size_t ld, int L, int Lp, int HD, float *kt) {
#ifdef WN_SIMDE /* SIMDe (0.7.4) lacks the 512-bit unpacks */
    for (int j = 0; j < Lp; j++)
        for (int d = 0; d < HD; d++) kt[(size_t)d * Lp + j] = j < L ? kb[(size_t)j * ld + d] : 0.0f;
#else
    for (int j0 = 0; j0 < Lp; j0 += 16)
        for (int d0 = 0; d0 < HD; d0 += 16) {
            __m512 r[16], t[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < L ? _mm512_loadu_ps(kb + (size_t)(j0 + i) * ld + d0) : _mm512_setzero_ps();
            for (int i = 0; i < 16; i += 2) { /* per 128-bit lane: rows i, i+1 interleaved */
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 16; i += 4) { /* r[i + c], lane l: rows i..i+3 of column 4l + c */
                r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
                r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
                r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
            }
            for (int i = 0; i < 4; i++) { /* lanes of columns c, c + 8 (0x88) and c + 4, c + 12 (0xdd) */
                t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
                t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
                t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
                t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
            }
            for (int i = 0; i < 8; i++) { /* r[c]: column c of the 16 rows */
                r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
                r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
            }
            for (int i = 0; i < 16; i++) _mm512_storeu_ps(kt + (size_t)(d0 + i) * Lp + j0, r[i]);
        }
#endif
}

static void attention_head_avx512(const float *base, int T, int L, int H, int h, int HD, float *out,
                                  float *scratch) {
    if (HD % 16 || HD > NN_ATTN_MAX_HD) {
        nn_kernels_avx2()->attention_head(base, T, L, H, h, HD, out, scratch);
        return;
    }
    const int Lp = (L + 15) & ~15;
    const size_t ld = (size_t)3 * H;
    /* kt: the keys transposed; vp: the values' L rows side by side (read ~L/14 times
     * each, and 3H floats apart in qkv: out of L1); p: AR rows of Lp */
    float *kt = scratch, *vp = scratch + (size_t)HD * Lp, *p = vp + (size_t)HD * Lp;
    pack_keys(base + H + (size_t)h * HD, ld, L, Lp, HD, kt);
    float scale[AR];
    for (int r = 0; r < AR; r++) scale[r] = 1.0f / sqrtf((float)HD);
    const __mmask16 tail = lanes16(L - (Lp - 16));
    const float *vb = base + 2 * H + (size_t)h * HD;
    for (int j = 0; j < L; j++) memcpy(vp + (size_t)j * HD, vb + (size_t)j * ld, sizeof(float) * (size_t)HD);
    for (int i0 = 0; i0 < L; i0 += AR) {
        const int mr = WN_MIN(AR, L - i0);
        const float *q = base + (size_t)i0 * ld + (size_t)h * HD;
        int jb = 0;
        for (; jb + 32 <= Lp; jb += 32) att_k[1][mr](q, ld, kt + jb, (size_t)Lp, HD, scale, p + jb, (size_t)Lp);
        if (jb < Lp) att_k[0][mr](q, ld, kt + jb, (size_t)Lp, HD, scale, p + jb, (size_t)Lp);
        /* per row: mask the keys past L, then max, exp, sum */
        float inv[AR];
        for (int r = 0; r < mr; r++) {
            float *pr = p + (size_t)r * Lp;
            __m512 last = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), tail, _mm512_loadu_ps(pr + Lp - 16));
            _mm512_storeu_ps(pr + Lp - 16, last);
            __m512 mx = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps();
            for (jb = 0; jb < Lp; jb += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(pr + jb));
            __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
            for (jb = 0; jb < Lp; jb += 16) {
                __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(pr + jb), vmx));
                _mm512_storeu_ps(pr + jb, e);
                sum = _mm512_add_ps(sum, e);
            }
            inv[r] = 1.0f / _mm512_reduce_add_ps(sum);
        }
        float *o = out + (size_t)i0 * H + (size_t)h * HD;
        int c = 0;
        for (; c + 32 <= HD; c += 32) att_k[1][mr](p, (size_t)Lp, vp + c, (size_t)HD, L, inv, o + c, (size_t)H);
        if (c < HD) att_k[0][mr](p, (size_t)Lp, vp + c, (size_t)HD, L, inv, o + c, (size_t)H);
    }
    for (int i = L; i < T; i++) memset(out + (size_t)i * H + (size_t)h * HD, 0, sizeof(float) * HD);
}

/* bf16 weights widened to fp32 and multiplied by fp32 activations: on the
 * Sapphire Rapids machine this was written on, vdpbf16ps (32 products) issues at
 * a quarter of vfmadd231ps's rate (16 products; measured 1.28 vs 5.2 G/s of
 * independent zmm instructions, one thread), so the FMAs win and bf16 halves the
 * weight bytes only. The vdpbf16ps kernels stay as a second table (tested, and
 * the choice on CPUs where the instruction is fast, e.g. AMD Zen 4, once measured). */
#ifndef WN_AMX /* ops_amx.c includes this file for its kernels and has its own table */
static const nn_kernels_t avx512_kernels = {
    KNAME, pack_avx512, linear_dispatch, add_layernorm_avx512, attention_head_avx512, NULL, 0, Q_WMAX,
    KNAME ": fp32 14x32 zmm FMA; int8 vpdpbusd; bf16 weights on fp32 FMA", 0,
};
static const nn_kernels_t avx512_dp_kernels = {
    KNAME "-dpbf16", pack_avx512, linear_dispatch, add_layernorm_avx512, attention_head_avx512, NULL, 1, Q_WMAX,
    KNAME ": fp32 14x32 zmm FMA; int8 vpdpbusd; bf16 vdpbf16ps (bf16 activations)", 0,
};
static const nn_kernels_t avx512_ph_kernels = {
    KNAME "-fp16", pack_avx512, linear_dispatch, add_layernorm_avx512, attention_head_avx512, NULL, 0, Q_WMAX,
    KNAME ": fp32 14x32 zmm FMA; int8 vpdpbusd; bf16 as fp16 products (AVX512-FP16 vfmadd231ph, power-of-two "
          "scales, fp16 sums over 256 k then fp32)",
    PH_KB,
};

const nn_kernels_t *nn_kernels_avx512(void) { return &avx512_kernels; }
const nn_kernels_t *nn_kernels_avx512_dpbf16(void) { return HAVE_BF16() ? &avx512_dp_kernels : NULL; }
const nn_kernels_t *nn_kernels_avx512_ph(void) { return HAVE_FP16() ? &avx512_ph_kernels : NULL; }

#ifndef WN_SIMDE
/* vdpbf16ps's rate over vfmadd231ps's on this CPU: zmm instructions per second of
 * 12 independent chains each, the best of 5 short alternating runs (~0.3 ms in all).
 * vdpbf16ps does 32 products to the FMA's 16: at half the FMA's rate it breaks even. */
static double dpbf16_rate_ratio(void) {
    double best_f = 0, best_d = 0;
    const __m512 b = _mm512_set1_ps(0.5f), c = _mm512_set1_ps(0.25f);
    const __m512bh p = as_bh(_mm512_set1_epi32(0x3f003f00));
#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define RDECL(i) __m512 v##i = _mm512_set1_ps((float)(i + round));
#define RFMA(i) v##i = _mm512_fmadd_ps(v##i, b, c);
#define RDP(i) v##i = _mm512_dpbf16_ps(v##i, p, p);
#define RKEEP                                                                                        \
    __asm__ volatile("" : "+v"(v0), "+v"(v1), "+v"(v2), "+v"(v3), "+v"(v4), "+v"(v5), "+v"(v6), "+v"(v7), \
                     "+v"(v8), "+v"(v9), "+v"(v10), "+v"(v11));
    for (int round = 0; round < 5; round++) {
        enum { IT = 1024 };
        R12(RDECL)
        double t = wn_now();
        for (int i = 0; i < IT; i++) {
            R12(RFMA)
            RKEEP
        }
        double tf = wn_now() - t;
        t = wn_now();
        for (int i = 0; i < IT; i++) {
            R12(RDP)
            RKEEP
        }
        double td = wn_now() - t;
        if (tf > 0 && 12.0 * IT / tf > best_f) best_f = 12.0 * IT / tf;
        if (td > 0 && 12.0 * IT / td > best_d) best_d = 12.0 * IT / td;
    }
#undef RKEEP
#undef RDP
#undef RFMA
#undef RDECL
#undef R12
    return best_f > 0 ? best_d / best_f : 0;
}

static const nn_kernels_t *best_table;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void choose_best(void) {
    const char *force = getenv("WN_BF16_KERNEL"); /* fma | dpbf16 | fp16: for comparisons */
    if (force && !strcmp(force, "fma")) best_table = &avx512_kernels;
    else if (force && !strcmp(force, "dpbf16")) best_table = HAVE_BF16() ? &avx512_dp_kernels : &avx512_kernels;
    else if (force && !strcmp(force, "fp16")) best_table = HAVE_FP16() ? &avx512_ph_kernels : &avx512_kernels;
    else if (HAVE_BF16() && dpbf16_rate_ratio() >= 0.6) best_table = &avx512_dp_kernels;
    else if (HAVE_FP16()) best_table = &avx512_ph_kernels;
    else best_table = &avx512_kernels;
}

/* The bf16 GEMM is what differs: vdpbf16ps where it issues at 0.6 or more of the
 * FMA's rate (AMD Zen 4: measured here, not assumed from the CPU's name), else fp16
 * products where the CPU has AVX512-FP16 (on the Sapphire Rapids machine this was
 * written on, vdpbf16ps runs at a quarter of the FMA's rate and vfmadd231ph at its
 * full rate), else bf16 weights on the fp32 FMAs. */
const nn_kernels_t *nn_kernels_avx512_best(void) {
    pthread_once(&best_once, choose_best);
    return best_table;
}
#endif
#endif
