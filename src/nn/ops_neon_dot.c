/*
 * ops_neon_dot.c - the int8 GEMM of the NEON kernels with sdot (the ARMv8.2
 * dot-product extension, HWCAP_ASIMDDP: Graviton 2+, Apple M1+, Ampere Altra,
 * Cortex-A76+); the Makefile compiles this file with +dotprod and ops_neon.c
 * calls it only where the CPU has the extension.
 *
 * The quantisation is the x86 kernels' (ops_avx2.c, ops_avx512.c), so the same
 * oracle test applies: weights per output channel in [-127, 127] with their
 * scale and code sum, packed by nn_pack_int8_quads in panels of 16 channels
 * (k-quad g: channel i's 4 bytes at 4i, one q register per 4 channels);
 * activations per row in u8 with a zero point z. sdot multiplies signed bytes,
 * so a row is stored as a - 128 (the top bit flipped) and
 *   sum_k a_k w_k = sum_k (a_k - 128) w_k + 128 colsum,
 *   x . w ~ sa sw (S + (128 - z) colsum)   with S the sdot sum.
 * Integer sums are exact: results do not depend on the thread count.
 */
#include "nn.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define NR 16
#define MR 6
#define QMC 96
#define Q_ROWS_BYTES (QMC * 1536)
#define Q_WMAX 127

float32x4_t nn_neon_act(nn_act act, float32x4_t v); /* ops_neon.c */
wn_status nn_neon_int8_pack(nn_weight *w);
void nn_neon_int8_linear(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                         int ith, int nth);

wn_status nn_neon_int8_pack(nn_weight *w) { return nn_pack_int8_quads(w, NR, Q_WMAX); }

/* row x (K floats) -> Kp bytes a - 128 (padding: z - 128, where the weights are 0), scale and zero point */
static void quant_row(const float *x, int K, int Kp, int8_t *q, float *scale, int32_t *zp) {
    float32x4_t vmn = vdupq_n_f32(0.0f), vmx = vmn; /* the range includes 0, so 0 maps exactly */
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t v = vld1q_f32(x + k);
        vmn = vminq_f32(vmn, v), vmx = vmaxq_f32(vmx, v);
    }
    float mn = vminvq_f32(vmn), mx = vmaxvq_f32(vmx);
    for (; k < K; k++) mn = fminf(mn, x[k]), mx = fmaxf(mx, x[k]);
    float sa = (mx - mn) / 255.0f;
    if (!(sa > 0)) sa = 1.0f;
    int32_t z = (int32_t)lrintf(-mn / sa);
    z = z < 0 ? 0 : z > 255 ? 255 : z;
    const float inv = 1.0f / sa;
    const int32x4_t vz = vdupq_n_s32(z - 128), lo = vdupq_n_s32(-128), hi = vdupq_n_s32(127);
    for (k = 0; k + 4 <= K; k += 4) {
        int32x4_t v = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + k), inv)); /* round to nearest even */
        v = vminq_s32(vmaxq_s32(vaddq_s32(v, vz), lo), hi);
        int32_t t[4];
        vst1q_s32(t, v);
        for (int i = 0; i < 4; i++) q[k + i] = (int8_t)t[i];
    }
    for (; k < K; k++) {
        int32_t v = (int32_t)lrintf(x[k] * inv) + z;
        q[k] = (int8_t)((v < 0 ? 0 : v > 255 ? 255 : v) - 128);
    }
    for (; k < Kp; k++) q[k] = (int8_t)(z - 128);
    *scale = sa;
    *zp = z;
}

static inline __attribute__((always_inline)) void ukernel_i8(const int mr, int Kp, const int8_t *a, size_t lda,
                                                             const int8_t *b, const float *sa, const int32_t *za,
                                                             const float *sw, const int32_t *cs, float *c,
                                                             size_t ldc, int nc, const float *bias, nn_act act) {
    int32x4_t acc[MR][4];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = vdupq_n_s32(0);
    for (int k = 0; k < Kp; k += 4) {
        const int8_t *bk = b + (size_t)k * NR;
        int8x16_t b0 = vld1q_s8(bk), b1 = vld1q_s8(bk + 16), b2 = vld1q_s8(bk + 32), b3 = vld1q_s8(bk + 48);
        for (int r = 0; r < mr; r++) {
            int32_t qv;
            memcpy(&qv, a + r * lda + k, 4);
            int8x16_t av = vreinterpretq_s8_s32(vdupq_n_s32(qv));
            acc[r][0] = vdotq_s32(acc[r][0], b0, av);
            acc[r][1] = vdotq_s32(acc[r][1], b1, av);
            acc[r][2] = vdotq_s32(acc[r][2], b2, av);
            acc[r][3] = vdotq_s32(acc[r][3], b3, av);
        }
    }
    float swp[NR] = {0}, bb[NR] = {0}, tmp[NR];
    int32_t csp[NR] = {0};
    memcpy(swp, sw, sizeof(float) * nc);
    memcpy(csp, cs, sizeof(int32_t) * nc);
    if (bias) memcpy(bb, bias, sizeof(float) * nc);
    for (int r = 0; r < mr; r++) {
        const int32x4_t zc = vdupq_n_s32(128 - za[r]);
        for (int j = 0; j < 4; j++) {
            int32x4_t s = vmlaq_s32(acc[r][j], zc, vld1q_s32(csp + 4 * j));
            float32x4_t f = vfmaq_f32(vld1q_f32(bb + 4 * j), vcvtq_f32_s32(s), vmulq_n_f32(vld1q_f32(swp + 4 * j), sa[r]));
            f = nn_neon_act(act, f);
            if (nc == NR) vst1q_f32(c + r * ldc + 4 * j, f);
            else vst1q_f32(tmp + 4 * j, f);
        }
        if (nc < NR) memcpy(c + r * ldc, tmp, sizeof(float) * nc);
    }
}

typedef void (*uki_fn)(int, const int8_t *, size_t, const int8_t *, const float *, const int32_t *, const float *,
                       const int32_t *, float *, size_t, int, const float *, nn_act);
#define UKI(MRV)                                                                                              \
    static void uki_##MRV(int Kp, const int8_t *a, size_t lda, const int8_t *b, const float *sa,               \
                          const int32_t *za, const float *sw, const int32_t *cs, float *c, size_t ldc, int nc, \
                          const float *bias, nn_act act) {                                                     \
        ukernel_i8(MRV, Kp, a, lda, b, sa, za, sw, cs, c, ldc, nc, bias, act);                                 \
    }
UKI(1) UKI(2) UKI(3) UKI(4) UKI(5) UKI(6)
static const uki_fn uk_i8[MR + 1] = {NULL, uki_1, uki_2, uki_3, uki_4, uki_5, uki_6};

/* Tiles of (rows x panels), as ops_avx2.c's linear_int8: with enough row chunks
 * for every thread a tile spans all of N, so each row is quantised once. */
void nn_neon_int8_linear(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                         int ith, int nth) {
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR, Kp = (K + 3) & ~3;
    int rows = Q_ROWS_BYTES / Kp;
    rows = rows >= QMC ? QMC : rows >= MR ? rows - rows % MR : 1;
    int8_t aq[Q_ROWS_BYTES + 64];
    float sa[QMC];
    int32_t za[QMC];
    const int nmt = (M + rows - 1) / rows;
    const int tp = nmt >= 4 * nth ? P : 4, nnt = (P + tp - 1) / tp;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    int have = -1;
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
            for (int m = m0; m < m1; m += MR)
                uk_i8[WN_MIN(MR, m1 - m)](Kp, aq + (size_t)(m - m0) * Kp, (size_t)Kp, bp, sa + (m - m0),
                                          za + (m - m0), w->scales + p * NR, w->colsum + p * NR,
                                          out + (size_t)m * N + p * NR, (size_t)N, nc, bi, act);
        }
    }
}
#else
typedef int nn_neon_dot_unused; /* aarch64 only */
#endif
