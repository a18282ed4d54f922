/*
 * ops.c - weights, dispatch and the threaded drivers of the kernels. The row
 * split is static (a fixed block per thread), so results do not depend on how
 * many threads run.
 */
#include <math.h>
#include <string.h>

#include "nn.h"

static const nn_kernels_t ref_kernels = {"scalar", nn_linear_rows_ref, nn_add_layernorm_rows_ref};

const nn_kernels_t *nn_kernels_ref(void) { return &ref_kernels; }

const nn_kernels_t *nn_kernels(void) {
    /* ISA variants register here as they are written (ops_avx2.c, ops_avx512.c). */
    return &ref_kernels;
}

wn_status nn_weight_init(nn_weight *w, const void *data, nn_dtype dt, int N, int K, nn_precision prec) {
    memset(w, 0, sizeof *w);
    w->N = N;
    w->K = K;
    w->prec = prec;
    if (dt == NN_F32 && ((uintptr_t)data % 4) == 0) {
        w->w = data;
        return WN_OK;
    }
    float *f = wn_malloc_aligned((size_t)N * K * sizeof(float));
    if (!f) return wn_seterr(WN_ERR_NOMEM, "out of memory converting a %dx%d weight", N, K);
    nn_to_f32(dt, data, f, (size_t)N * K);
    w->owned = f;
    w->w = f;
    return WN_OK;
}

void nn_weight_free(nn_weight *w) {
    if (!w) return;
    wn_free_aligned(w->owned);
    wn_free_aligned(w->packed);
    wn_free(w->scales);
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
    const nn_kernels_t *k;
} linear_task;

static void linear_run(void *arg, int ith, int nth) {
    linear_task *t = arg;
    int a, b;
    split(t->M, ith, nth, &a, &b);
    if (a < b) t->k->linear_rows(t->x, a, b, t->w, t->bias, t->act, t->out);
}

void nn_linear(wn_pool *pool, const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out) {
    linear_task t = {x, M, w, bias, act, out, nn_kernels()};
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
    ln_task t = {x, res, M, H, gamma, beta, eps, out, nn_kernels()};
    wn_pool_run(pool, ln_run, &t);
}

/* ---- attention: one (sequence, head) pair per work item */

size_t nn_attention_scratch(int T, int nth) { return (size_t)T * (size_t)nth + 16u * (size_t)nth; }

typedef struct {
    const float *qkv;
    int B, T, NH, HD;
    const int *len;
    float *out;
    float *scratch;
} attn_task;

static void attn_run(void *arg, int ith, int nth) {
    attn_task *t = arg;
    const int H = t->NH * t->HD, T = t->T, HD = t->HD;
    float *p = t->scratch + (size_t)ith * ((size_t)T + 16);
    const float scale = 1.0f / sqrtf((float)HD);
    int a, b;
    split(t->B * t->NH, ith, nth, &a, &b);
    for (int item = a; item < b; item++) {
        int bi = item / t->NH, h = item % t->NH;
        int L = t->len[bi];
        const float *base = t->qkv + (size_t)bi * T * 3 * H;
        for (int i = 0; i < T; i++) {
            float *o = t->out + ((size_t)bi * T + i) * H + (size_t)h * HD;
            if (i >= L) { /* padding query: defined but unused */
                memset(o, 0, sizeof(float) * HD);
                continue;
            }
            const float *q = base + (size_t)i * 3 * H + (size_t)h * HD;
            float mx = -INFINITY;
            for (int j = 0; j < L; j++) {
                const float *k = base + (size_t)j * 3 * H + H + (size_t)h * HD;
                float s = 0;
                for (int d = 0; d < HD; d++) s += q[d] * k[d];
                p[j] = s * scale;
                if (p[j] > mx) mx = p[j];
            }
            float sum = 0;
            for (int j = 0; j < L; j++) {
                p[j] = expf(p[j] - mx);
                sum += p[j];
            }
            float inv = 1.0f / sum;
            for (int d = 0; d < HD; d++) o[d] = 0;
            for (int j = 0; j < L; j++) {
                const float *v = base + (size_t)j * 3 * H + 2 * H + (size_t)h * HD;
                float pj = p[j] * inv;
                for (int d = 0; d < HD; d++) o[d] += pj * v[d];
            }
        }
    }
}

void nn_attention(wn_pool *pool, const float *qkv, int B, int T, int NH, int HD, const int *len, float *out,
                  float *scratch) {
    attn_task t = {qkv, B, T, NH, HD, len, out, scratch};
    wn_pool_run(pool, attn_run, &t);
}
