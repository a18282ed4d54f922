/*
 * ops.c - weights, dispatch and the threaded drivers of the kernels. Each kernel
 * splits its work statically and computes every output element the same way
 * whatever the number of threads, so results do not depend on it.
 */
#include <math.h>
#include <string.h>

#include "nn.h"

static const nn_kernels_t ref_kernels = {
    "scalar", NULL, nn_linear_ref, nn_add_layernorm_rows_ref, nn_attention_head_ref, nn_attention_head_rel_ref, 0, 0,
    "scalar (the reference kernels)", 0,
};

const nn_kernels_t *nn_kernels_ref(void) { return &ref_kernels; }

const nn_kernels_t *nn_kernels_isa(wn_isa isa) {
    const wn_cpu_features *f = wn_cpu_get();
    (void)f; /* aarch64: no x86 features to look at */
    switch (isa) {
    case WN_ISA_SCALAR: return &ref_kernels;
    case WN_ISA_AVX2:
#if defined(__x86_64__)
        if (f->avx2 && f->fma && f->f16c) return f->avxvnni ? nn_kernels_avxvnni() : nn_kernels_avx2();
#endif
        return NULL;
    case WN_ISA_AVX512:
#if defined(__x86_64__)
        /* VNNI and BF16 are optional: without them those precisions run the AVX2 kernels */
        if (f->avx2 && f->fma && f->f16c && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq)
            return nn_kernels_amx() ? nn_kernels_amx() : nn_kernels_avx512_best(); /* AMX: its bf16/int8 on tiles */
#endif
        return NULL;
    case WN_ISA_NEON:
#if defined(__aarch64__)
        return nn_kernels_neon();
#endif
        return NULL;
    }
    return NULL;
}

const nn_kernels_t *nn_kernels(void) {
    wn_isa isa = wn_cpu_isa();
    for (int i = (int)isa; i >= 0; i--) {
        const nn_kernels_t *k = nn_kernels_isa((wn_isa)i);
        if (k) return k;
    }
    return &ref_kernels;
}

const char *wn_kernels_name(void) { return nn_kernels_describe(); }

const char *nn_kernels_describe(void) {
    const nn_kernels_t *k = nn_kernels();
#if defined(__x86_64__)
    if (k && k == nn_kernels_amx()) return k->desc; /* AMX tiles for bf16 and int8 */
    if (k == nn_kernels_isa(WN_ISA_AVX512) && k) {
        static const char *const d[2][3] = {
            {"avx512: fp32 14x32 zmm FMA; int8 avx2 vpmaddubsw (no VNNI); bf16 weights on fp32 FMA",
             "avx512: fp32 14x32 zmm FMA; int8 avx2 vpmaddubsw (no VNNI); bf16 vdpbf16ps (bf16 activations)",
             "avx512: fp32 14x32 zmm FMA; int8 avx2 vpmaddubsw (no VNNI); bf16 as fp16 products (AVX512-FP16)"},
            {"avx512: fp32 14x32 zmm FMA; int8 vpdpbusd (VNNI, 8-bit weights); bf16 weights on fp32 FMA",
             "avx512: fp32 14x32 zmm FMA; int8 vpdpbusd (VNNI, 8-bit weights); bf16 vdpbf16ps (bf16 activations)",
             "avx512: fp32 14x32 zmm FMA; int8 vpdpbusd (VNNI, 8-bit weights); bf16 as fp16 products (AVX512-FP16)"},
        };
        return d[wn_cpu_get()->avx512vnni != 0][k->ph_kb ? 2 : k->bf16_x ? 1 : 0];
    }
#endif
    return k->desc ? k->desc : k->name;
}

wn_status nn_weight_init_for(const nn_kernels_t *k, nn_weight *w, const void *data, nn_dtype dt, int N, int K,
                             nn_precision prec) {
    memset(w, 0, sizeof *w);
    if (N <= 0 || K <= 0) return wn_seterr(WN_ERR_ARG, "nn_weight_init: bad shape %dx%d", N, K);
    w->N = N;
    w->K = K;
    w->prec = prec;
    w->k = k;
    if (dt == NN_F32 && ((uintptr_t)data % 4) == 0) {
        w->w = data;
    } else {
        float *f = wn_malloc_aligned((size_t)N * K * sizeof(float));
        if (!f) return wn_seterr(WN_ERR_NOMEM, "out of memory converting a %dx%d weight", N, K);
        nn_to_f32(dt, data, f, (size_t)N * K);
        w->owned = f;
        w->w = f;
    }
    if (k->pack) {
        wn_status s = k->pack(w);
        if (s != WN_OK) {
            nn_weight_free(w);
            return s;
        }
    }
    if (w->packed) { /* the kernels that packed it read only the packed copy: drop the f32 view */
        wn_free_aligned(w->owned);
        w->owned = NULL;
        w->w = NULL;
    }
    return WN_OK;
}

wn_status nn_weight_init(nn_weight *w, const void *data, nn_dtype dt, int N, int K, nn_precision prec) {
    return nn_weight_init_for(nn_kernels(), w, data, dt, N, K, prec);
}

void nn_weight_free(nn_weight *w) {
    if (!w) return;
    wn_free_aligned(w->owned);
    wn_free_aligned(w->packed);
    wn_free(w->scales);
    wn_free(w->colsum);
    memset(w, 0, sizeof *w);
}

static void split(int n, int ith, int nth, int *a, int *b) {
    int per = (n + nth - 1) / nth;
    *a = WN_MIN(n, ith * per);
    *b = WN_MIN(n, *a + per);
}

typedef struct {
    const float *x;
    int M;
    const nn_weight *w;
    const float *bias;
    nn_act act;
    float *out;
} linear_task;

static void linear_run(void *arg, int ith, int nth) {
    linear_task *t = arg;
    t->w->k->linear(t->x, t->M, t->w, t->bias, t->act, t->out, ith, nth);
}

void nn_linear(wn_pool *pool, const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out) {
    if (M <= 0) return;
    linear_task t = {x, M, w, bias, act, out};
    wn_pool_run(pool, linear_run, &t);
}

typedef struct {
    const float *x, *res;
    int M, H;
    const float *gamma, *beta;
    float eps;
    float *out;
    const nn_kernels_t *k;
} ln_task;

static void ln_run(void *arg, int ith, int nth) {
    ln_task *t = arg;
    int a, b;
    split(t->M, ith, nth, &a, &b);
    if (a < b) t->k->add_layernorm_rows(t->x, t->res, a, b, t->H, t->gamma, t->beta, t->eps, t->out);
}

void nn_add_layernorm(wn_pool *pool, const float *x, const float *res, int M, int H, const float *gamma,
                      const float *beta, float eps, float *out) {
    if (M <= 0) return;
    ln_task t = {x, res, M, H, gamma, beta, eps, out, nn_kernels()};
    wn_pool_run(pool, ln_run, &t);
}

/* ---- attention: one (sequence, head) pair per work item */

/* keys packed HD x Lp (Lp = T rounded up to 8, or 16), values packed Lp x HD (AVX-512),
 * up to NN_ATTN_ROWS_MAX rows of Lp probabilities */
static size_t attn_per_thread(int T) {
    return (size_t)(T + NN_ATTN_KPAD) * (2 * NN_ATTN_MAX_HD + NN_ATTN_ROWS_MAX) + 16u;
}

size_t nn_attention_scratch(int T, int nth) { return attn_per_thread(T) * (size_t)(nth > 0 ? nth : 1); }

typedef struct {
    const float *qkv;
    int B, T, NH, HD;
    const int *len;
    float *out;
    float *scratch;
    const nn_kernels_t *k;
    const float *rel; /* (NH, 2T - 1) or NULL */
} attn_task;

static void attn_run(void *arg, int ith, int nth) {
    attn_task *t = arg;
    const int H = t->NH * t->HD, T = t->T;
    float *p = t->scratch + (size_t)ith * attn_per_thread(T);
    int a, b;
    split(t->B * t->NH, ith, nth, &a, &b);
    for (int item = a; item < b; item++) {
        int bi = item / t->NH, h = item % t->NH;
        int L = WN_MIN(t->len[bi], T);
        const float *base = t->qkv + (size_t)bi * T * 3 * H;
        if (t->rel) {
            const float *rh = t->rel + (size_t)h * (2 * T - 1);
            if (t->k->attention_head_rel) t->k->attention_head_rel(base, T, L, H, h, t->HD, rh, t->out + (size_t)bi * T * H, p);
            else nn_attention_head_rel_ref(base, T, L, H, h, t->HD, rh, t->out + (size_t)bi * T * H, p);
        } else {
            t->k->attention_head(base, T, L, H, h, t->HD, t->out + (size_t)bi * T * H, p);
        }
    }
}

void nn_attention(wn_pool *pool, const float *qkv, int B, int T, int NH, int HD, const int *len, float *out,
                  float *scratch) {
    const nn_kernels_t *k = nn_kernels();
    if (HD > NN_ATTN_MAX_HD) k = nn_kernels_ref();
    attn_task t = {qkv, B, T, NH, HD, len, out, scratch, k, NULL};
    wn_pool_run(pool, attn_run, &t);
}

void nn_attention_rel(wn_pool *pool, const float *qkv, int B, int T, int NH, int HD, const int *len, const float *rel,
                      float *out, float *scratch) {
    const nn_kernels_t *k = nn_kernels();
    /* a table without the relative-bias kernel borrows the next ISA's below it */
    for (int i = (int)wn_cpu_isa(); !k->attention_head_rel && i >= 0; i--) {
        const nn_kernels_t *b = nn_kernels_isa((wn_isa)i);
        if (b && b->attention_head_rel) k = b;
    }
    if (HD > NN_ATTN_MAX_HD) k = nn_kernels_ref();
    attn_task t = {qkv, B, T, NH, HD, len, out, scratch, k, rel};
    wn_pool_run(pool, attn_run, &t);
}

wn_status nn_pack_int8_quads(nn_weight *w, int nr, int qmax) { return nn_pack_int8_quads_k(w, nr, qmax, 4); }

wn_status nn_pack_int8_quads_k(nn_weight *w, int nr, int qmax, int kmul) {
    const int N = w->N, K = w->K, P = (N + nr - 1) / nr, Kp = (K + kmul - 1) / kmul * kmul;
    int8_t *pk = wn_malloc_aligned((size_t)P * Kp * nr);
    w->scales = wn_malloc(sizeof(float) * (size_t)P * nr);
    w->colsum = wn_malloc(sizeof(int32_t) * (size_t)P * nr);
    if (!pk || !w->scales || !w->colsum) {
        wn_free_aligned(pk);
        return wn_seterr(WN_ERR_NOMEM, "out of memory packing a %dx%d int8 weight", N, K);
    }
    memset(pk, 0, (size_t)P * Kp * nr);
    for (int n = 0; n < P * nr; n++) {
        float mx = 0;
        if (n < N)
            for (int k = 0; k < K; k++) mx = fmaxf(mx, fabsf(w->w[(size_t)n * K + k]));
        float sc = mx > 0 ? mx / qmax : 1.0f, inv = 1.0f / sc;
        int32_t cs = 0;
        int p = n / nr, i = n % nr;
        for (int k = 0; n < N && k < K; k++) {
            int q = (int)lrintf(w->w[(size_t)n * K + k] * inv);
            q = q > qmax ? qmax : q < -qmax ? -qmax : q;
            pk[(size_t)p * Kp * nr + (size_t)(k / 4) * 4 * nr + (size_t)i * 4 + k % 4] = (int8_t)q;
            cs += q;
        }
        w->scales[n] = sc;
        w->colsum[n] = cs;
    }
    w->packed = pk;
    return WN_OK;
}
