/*
 * dist_neon.c - aarch64 NEON distance kernels (dot products in fp32, fp16 and
 * int8 rows, blocks of them, PQ tables). Same results as dist.c up to the order
 * of float additions; CRC32C stays the reference's (the CRC instructions are
 * optional before ARMv8.1). Compiled on aarch64 only; tested against dist.c by
 * tests/test_index_kernels.c under qemu-aarch64 (make check-aarch64).
 */
#include "index.h"

#if defined(__aarch64__)
#include <arm_neon.h>

static float dot_f32(const float *a, const float *b, int d) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 16 <= d; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= d; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < d; i++) s += a[i] * b[i];
    return s;
}

static float dot_f16(const float *a, const uint16_t *b, int d) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(b + i));
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vcvt_f32_f16(vget_low_f16(h)));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vcvt_high_f32_f16(h));
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < d; i++) s += a[i] * f16_to_f32(b[i]);
    return s;
}

static float dot_i8(const float *a, const int8_t *b, int d) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
    int i = 0;
    for (; i + 8 <= d; i += 8) {
        int16x8_t w = vmovl_s8(vld1_s8(b + i));
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vcvtq_f32_s32(vmovl_s16(vget_low_s16(w))));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vcvtq_f32_s32(vmovl_high_s16(w)));
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < d; i++) s += a[i] * (float)b[i];
    return s;
}

/* 4 query rows against one X row at a time: each X row is read once per 4 queries */
static void dot_block(const float *Q, int nq, size_t ldq, const float *X, int nx, size_t ldx, int d, float *out,
                      int ldo) {
    int i = 0;
    for (; i + 4 <= nq; i += 4) {
        const float *q0 = Q + i * ldq, *q1 = q0 + ldq, *q2 = q1 + ldq, *q3 = q2 + ldq;
        for (int j = 0; j < nx; j++) {
            const float *x = X + j * ldx;
            float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
            int k = 0;
            for (; k + 4 <= d; k += 4) {
                float32x4_t xv = vld1q_f32(x + k);
                s0 = vfmaq_f32(s0, vld1q_f32(q0 + k), xv);
                s1 = vfmaq_f32(s1, vld1q_f32(q1 + k), xv);
                s2 = vfmaq_f32(s2, vld1q_f32(q2 + k), xv);
                s3 = vfmaq_f32(s3, vld1q_f32(q3 + k), xv);
            }
            float r0 = vaddvq_f32(s0), r1 = vaddvq_f32(s1), r2 = vaddvq_f32(s2), r3 = vaddvq_f32(s3);
            for (; k < d; k++) r0 += q0[k] * x[k], r1 += q1[k] * x[k], r2 += q2[k] * x[k], r3 += q3[k] * x[k];
            out[(size_t)i * ldo + j] = r0, out[(size_t)(i + 1) * ldo + j] = r1;
            out[(size_t)(i + 2) * ldo + j] = r2, out[(size_t)(i + 3) * ldo + j] = r3;
        }
    }
    for (; i < nq; i++)
        for (int j = 0; j < nx; j++) out[(size_t)i * ldo + j] = dot_f32(Q + i * ldq, X + j * ldx, d);
}

/* table look-ups: no gather in NEON; four codes at once for independent adds */
static void adc(const float *tab, const uint8_t *codes, int n, int m, float *out) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint8_t *c = codes + (size_t)i * m;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < m; j++) {
            const float *t = tab + j * 256;
            s0 += t[c[j]], s1 += t[c[m + j]], s2 += t[c[2 * m + j]], s3 += t[c[3 * m + j]];
        }
        out[i] = s0, out[i + 1] = s1, out[i + 2] = s2, out[i + 3] = s3;
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + (size_t)i * m;
        float s = 0;
        for (int j = 0; j < m; j++) s += tab[j * 256 + c[j]];
        out[i] = s;
    }
}

static uint32_t crc32c(uint32_t crc, const void *data, size_t n) { return dist_ref()->crc32c(crc, data, n); }

static const dist_kernels k_neon = {"neon", dot_f32, dot_f16, dot_i8, dot_block, adc, crc32c};
const dist_kernels *dist_neon(void) { return &k_neon; }
#else
const dist_kernels *dist_neon(void) { return NULL; }
#endif
