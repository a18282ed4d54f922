/*
 * ops_neon.c - aarch64 NEON kernels: packed fp32 GEMM with the fused bias +
 * erf-GELU epilogue (bf16 weights are widened to fp32 at load: the same
 * arithmetic as bf16 weights on fp32 FMA, without the memory saving), and the
 * int8 GEMM of ops_neon_dot.c (sdot) where the CPU has the dot-product
 * extension (HWCAP_ASIMDDP). LayerNorm and attention run the reference kernels.
 *
 * GEMM: W packed once at load into panels of NR = 16 output channels (panel p,
 * for k = 0..K-1, the 16 weights W[16p..16p+15][k], zero-padded past N); the
 * micro-kernel keeps a 6 x 16 block of out in 24 q registers (of 32) and per k
 * multiplies one x value per row (vfmaq_n_f32) by the panel's 4 vectors. K is
 * cut in blocks of KC. Tiles of (rows x 4 panels) are split statically over
 * threads and an element's arithmetic does not depend on the split: results are
 * bit-identical for any thread count.
 *
 * Compiled on aarch64 only (the x86 build gets an empty unit); tested against
 * the scalar oracle by tests/test_nn.c under qemu-aarch64 (make check-aarch64).
 */
#include "nn.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define NR 16
#define MR 6
#define MC 96
#define KC 256
#define TILE_PANELS 4

/* GELU as gelu256 in ops_avx2.c: the same rational erf fit and bound */
static inline float32x4_t gelu_neon(float32x4_t x) {
    const float32x4_t zm = vdupq_n_f32(3.925f);
    float32x4_t z = vmulq_n_f32(x, 0.70710678118654752f);
    z = vminq_f32(vmaxq_f32(z, vnegq_f32(zm)), zm);
    float32x4_t u = vmulq_f32(z, z);
    float32x4_t p = vdupq_n_f32(1.98736139e-08f);
    p = vfmaq_f32(vdupq_n_f32(-1.99372494e-06f), p, u);
    p = vfmaq_f32(vdupq_n_f32(1.49366737e-04f), p, u);
    p = vfmaq_f32(vdupq_n_f32(3.99201317e-03f), p, u);
    p = vfmaq_f32(vdupq_n_f32(5.14592491e-02f), p, u);
    p = vfmaq_f32(vdupq_n_f32(2.06585050e-01f), p, u);
    p = vfmaq_f32(vdupq_n_f32(1.12837875f), p, u);
    float32x4_t q = vdupq_n_f32(1.02850457e-03f);
    q = vfmaq_f32(vdupq_n_f32(1.49288168e-02f), q, u);
    q = vfmaq_f32(vdupq_n_f32(1.17758773e-01f), q, u);
    q = vfmaq_f32(vdupq_n_f32(5.16409934e-01f), q, u);
    q = vfmaq_f32(vdupq_n_f32(1.0f), q, u);
    float32x4_t erf = vdivq_f32(vmulq_f32(z, p), q);
    erf = vminq_f32(vmaxq_f32(erf, vdupq_n_f32(-1.0f)), vdupq_n_f32(1.0f));
    float32x4_t hx = vmulq_n_f32(x, 0.5f);
    return vfmaq_f32(hx, hx, erf);
}

float32x4_t nn_neon_act(nn_act act, float32x4_t v);
float32x4_t nn_neon_act(nn_act act, float32x4_t v) {
    if (act == NN_ACT_GELU) return gelu_neon(v);
    if (act == NN_ACT_TANH) {
        float t[4];
        vst1q_f32(t, v);
        for (int i = 0; i < 4; i++) t[i] = tanhf(t[i]);
        return vld1q_f32(t);
    }
    return v;
}

/* int8 (ops_neon_dot.c) */
wn_status nn_neon_int8_pack(nn_weight *w);
void nn_neon_int8_linear(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                         int ith, int nth);

static wn_status pack_neon(nn_weight *w) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR;
    if (w->prec == NN_PREC_INT8) return wn_cpu_get()->asimddp ? nn_neon_int8_pack(w) : WN_OK; /* else the oracle */
    float *pk = wn_malloc_aligned((size_t)P * K * NR * sizeof(float));
    if (!pk) return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d weight", N, K);
    const int bf16 = w->prec == NN_PREC_BF16;
    for (int p = 0; p < P; p++)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < NR; i++) {
                int n = p * NR + i;
                float v = n < N ? w->w[(size_t)n * K + k] : 0.0f;
                pk[((size_t)p * K + k) * NR + i] = bf16 ? nn_bf16_to_f32(nn_f32_to_bf16(v)) : v;
            }
    w->packed = pk;
    return WN_OK;
}

/* rows [0, mr) x 16 columns (nc real) of c, over kc values of k; init: from 0
 * (else from c); last: add the bias and the activation. */
static inline __attribute__((always_inline)) void ukernel(const int mr, int kc, const float *a, size_t lda,
                                                          const float *b, float *c, size_t ldc, int nc, int init,
                                                          int last, const float *bias, nn_act act) {
    float32x4_t acc[MR][4];
    float tmp[MR * NR];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = vdupq_n_f32(0.0f);
    if (!init) {
        for (int r = 0; r < mr; r++) {
            if (nc == NR)
                for (int j = 0; j < 4; j++) acc[r][j] = vld1q_f32(c + r * ldc + 4 * j);
            else {
                memset(tmp, 0, sizeof(float) * NR);
                memcpy(tmp, c + r * ldc, sizeof(float) * nc);
                for (int j = 0; j < 4; j++) acc[r][j] = vld1q_f32(tmp + 4 * j);
            }
        }
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = b + (size_t)k * NR;
        float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4), b2 = vld1q_f32(bk + 8), b3 = vld1q_f32(bk + 12);
        for (int r = 0; r < mr; r++) {
            float av = a[r * lda + k];
            acc[r][0] = vfmaq_n_f32(acc[r][0], b0, av);
            acc[r][1] = vfmaq_n_f32(acc[r][1], b1, av);
            acc[r][2] = vfmaq_n_f32(acc[r][2], b2, av);
            acc[r][3] = vfmaq_n_f32(acc[r][3], b3, av);
        }
    }
    if (last) {
        float bb[NR] = {0};
        if (bias) memcpy(bb, bias, sizeof(float) * nc);
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < 4; j++) acc[r][j] = nn_neon_act(act, vaddq_f32(acc[r][j], vld1q_f32(bb + 4 * j)));
    }
    for (int r = 0; r < mr; r++) {
        if (nc == NR)
            for (int j = 0; j < 4; j++) vst1q_f32(c + r * ldc + 4 * j, acc[r][j]);
        else {
            for (int j = 0; j < 4; j++) vst1q_f32(tmp + 4 * j, acc[r][j]);
            memcpy(c + r * ldc, tmp, sizeof(float) * nc);
        }
    }
}

typedef void (*uk_fn)(int, const float *, size_t, const float *, float *, size_t, int, int, int, const float *,
                      nn_act);
#define UK(MRV)                                                                                              \
    static void uk_##MRV(int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int nc,     \
                         int init, int last, const float *bias, nn_act act) {                                \
        ukernel(MRV, kc, a, lda, b, c, ldc, nc, init, last, bias, act);                                      \
    }
UK(1) UK(2) UK(3) UK(4) UK(5) UK(6)
static const uk_fn uk_f32[MR + 1] = {NULL, uk_1, uk_2, uk_3, uk_4, uk_5, uk_6};

static void linear_f32(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                       int nth) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR;
    const int nmt = (M + MC - 1) / MC, nnt = (P + TILE_PANELS - 1) / TILE_PANELS, nb = (M + MR - 1) / MR;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    const float *pk = w->packed;
    for (long t = t0; t < t1; t++) {
        const int mt = (int)(t / nnt);
        int m0 = MR * (int)((long)nb * mt / nmt), m1 = WN_MIN(M, MR * (int)((long)nb * (mt + 1) / nmt));
        int p0 = (int)(t % nnt) * TILE_PANELS, p1 = WN_MIN(P, p0 + TILE_PANELS);
        for (int kb = 0; kb < K; kb += KC) {
            int kc = WN_MIN(KC, K - kb);
            for (int p = p0; p < p1; p++) {
                int nc = WN_MIN(NR, N - p * NR);
                const float *bp = pk + ((size_t)p * K + kb) * NR;
                for (int m = m0; m < m1; m += MR)
                    uk_f32[WN_MIN(MR, m1 - m)](kc, x + (size_t)m * K + kb, (size_t)K, bp,
                                               out + (size_t)m * N + p * NR, (size_t)N, nc, kb == 0, kb + kc == K,
                                               bias ? bias + p * NR : NULL, act);
            }
        }
    }
}

static void linear_neon(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                        int ith, int nth) {
    if (!w->packed) nn_linear_ref(x, M, w, bias, act, out, ith, nth);
    else if (w->prec == NN_PREC_INT8) nn_neon_int8_linear(x, M, w, bias, act, out, ith, nth);
    else linear_f32(x, M, w, bias, act, out, ith, nth);
}

static const nn_kernels_t neon_kernels = {
    "neon", pack_neon, linear_neon, nn_add_layernorm_rows_ref, nn_attention_head_ref, nn_attention_head_rel_ref, 0,
    127, "neon: fp32 6x16 FMA; int8 sdot (8-bit weights); bf16 weights widened to fp32", 0,
};
static const nn_kernels_t neon_nodot_kernels = {
    "neon", pack_neon, linear_neon, nn_add_layernorm_rows_ref, nn_attention_head_ref, nn_attention_head_rel_ref, 0,
    127, "neon: fp32 6x16 FMA; int8 scalar (no dot-product extension); bf16 weights widened to fp32", 0,
};

const nn_kernels_t *nn_kernels_neon(void) { return wn_cpu_get()->asimddp ? &neon_kernels : &neon_nodot_kernels; }
#else
const nn_kernels_t *nn_kernels_neon(void) { return NULL; }
#endif
