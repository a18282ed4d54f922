/*
 * ops_ref.c - scalar reference kernels: the oracle every ISA variant is tested
 * against, and the fallback on CPUs without AVX2. Written for clarity, with
 * double accumulation where it costs nothing in readability.
 */
#include <math.h>
#include <string.h>

#include "nn.h"

float nn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float nn_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t nn_f32_to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40); /* NaN stays NaN */
    b += 0x7fffu + ((b >> 16) & 1);
    return (uint16_t)(b >> 16);
}

uint16_t nn_f32_to_f16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000;
    uint32_t a = b & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00);
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* overflow to inf */
    if (a < 0x38800000u) { /* subnormal or zero */
        float af;
        memcpy(&af, &a, 4);
        float r = af * 16777216.0f; /* 2^24: f16 subnormal unit is 2^-24 */
        uint32_t m = (uint32_t)lrintf(r);
        return (uint16_t)(sign | m);
    }
    uint32_t mant = a & 0x7fffff, exp = (a >> 23) - 127 + 15;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

void nn_to_f32(nn_dtype dt, const void *src, float *dst, size_t n) {
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        switch (dt) {
        case NN_F32: memcpy(dst + i, s + 4 * i, 4); break;
        case NN_F16: memcpy(&h, s + 2 * i, 2); dst[i] = nn_f16_to_f32(h); break;
        case NN_BF16: memcpy(&h, s + 2 * i, 2); dst[i] = nn_bf16_to_f32(h); break;
        }
    }
}

float nn_gelu_ref(float x) { return (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0)))); }

static float act_apply(nn_act act, float v) {
    switch (act) {
    case NN_ACT_GELU: return nn_gelu_ref(v);
    case NN_ACT_TANH: return tanhf(v);
    default: return v;
    }
}

void nn_linear_rows_ref(const float *x, int m0, int m1, const nn_weight *w, const float *bias, nn_act act,
                        float *out) {
    const int N = w->N, K = w->K;
    for (int m = m0; m < m1; m++) {
        const float *xr = x + (size_t)m * K;
        for (int n = 0; n < N; n++) {
            const float *wr = w->w + (size_t)n * K;
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)xr[k] * wr[k];
            if (bias) s += bias[n];
            out[(size_t)m * N + n] = act_apply(act, (float)s);
        }
    }
}

void nn_add_layernorm_rows_ref(const float *x, const float *res, int m0, int m1, int H, const float *gamma,
                               const float *beta, float eps, float *out) {
    for (int m = m0; m < m1; m++) {
        const float *xr = x + (size_t)m * H;
        const float *rr = res ? res + (size_t)m * H : NULL;
        float *o = out + (size_t)m * H;
        double mean = 0, var = 0;
        for (int h = 0; h < H; h++) mean += (double)xr[h] + (rr ? rr[h] : 0.0f);
        mean /= H;
        for (int h = 0; h < H; h++) {
            double d = (double)xr[h] + (rr ? rr[h] : 0.0f) - mean;
            var += d * d;
        }
        var /= H;
        double inv = 1.0 / sqrt(var + eps);
        for (int h = 0; h < H; h++) {
            double v = ((double)xr[h] + (rr ? rr[h] : 0.0f) - mean) * inv;
            o[h] = (float)(v * gamma[h] + beta[h]);
        }
    }
}

/* Static row split: thread ith of nth gets one contiguous block of rows. */
void nn_linear_ref(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                   int nth) {
    int per = (M + nth - 1) / nth;
    int a = WN_MIN(M, ith * per), b = WN_MIN(M, a + per);
    if (a < b) nn_linear_rows_ref(x, a, b, w, bias, act, out);
}

/* Softmax(q k^T / sqrt(HD)) v for one head, keys past L masked out; padding
 * queries (i >= L) get zeros. rel (MPNet, may be NULL): this head's relative
 * bias, added to score (i, j) as rel[T - 1 + j - i]. Scores in float as PyTorch does, sums in double. */
static void attention_head(const float *base, int T, int L, int H, int h, int HD, const float *rel, float *out,
                           float *scratch) {
    float *p = scratch;
    const float scale = 1.0f / sqrtf((float)HD);
    for (int i = 0; i < T; i++) {
        float *o = out + (size_t)i * H + (size_t)h * HD;
        if (i >= L) {
            memset(o, 0, sizeof(float) * HD);
            continue;
        }
        const float *q = base + (size_t)i * 3 * H + (size_t)h * HD;
        float mx = -INFINITY;
        for (int j = 0; j < L; j++) {
            const float *k = base + (size_t)j * 3 * H + H + (size_t)h * HD;
            double s = 0;
            for (int d = 0; d < HD; d++) s += (double)q[d] * k[d];
            p[j] = (float)s * scale;
            if (rel) p[j] += rel[T - 1 + j - i];
            if (p[j] > mx) mx = p[j];
        }
        double sum = 0;
        for (int j = 0; j < L; j++) {
            p[j] = expf(p[j] - mx);
            sum += p[j];
        }
        for (int d = 0; d < HD; d++) {
            double acc = 0;
            for (int j = 0; j < L; j++) acc += (double)p[j] * base[(size_t)j * 3 * H + 2 * H + (size_t)h * HD + d];
            o[d] = (float)(acc / sum);
        }
    }
}

void nn_attention_head_ref(const float *base, int T, int L, int H, int h, int HD, float *out, float *scratch) {
    attention_head(base, T, L, H, h, HD, NULL, out, scratch);
}

void nn_attention_head_rel_ref(const float *base, int T, int L, int H, int h, int HD, const float *rel, float *out,
                               float *scratch) {
    attention_head(base, T, L, H, h, HD, rel, out, scratch);
}
