/*
 * tmm.c - the matrix products of the backward pass. A linear layer y = x W^T + b
 * needs dx = dy W and dW += dy^T x (db += column sums of dy); both run through
 * nn_linear (src/nn's packed GEMM, whatever ISA it chose) with transposed
 * operands:
 *   dx (M, K) = dy (M, N) . (W^T)^T      weight: W^T (K, N), packed once per update
 *   dW (N, K) = dy^T (N, M) . (x^T)^T    weight: x^T (K, M), packed per call
 * nn_linear computes every output element the same whatever the thread count,
 * and the transposes and sums here split by rows, so gradients do not depend on
 * the number of threads.
 *
 * Dimensions: M rows, N outputs, K inputs.
 */
#include <string.h>

#include "tmm.h"

typedef struct {
    const float *src;
    float *dst;
    int rows, cols; /* of src */
    float *db;      /* column sums of src, or NULL */
    const float *add;
    float *acc;
    size_t n;
} tr_task;

/* dst (cols, rows) = src (rows, cols)^T, in 32 x 32 blocks; threads take column blocks. */
static void transpose_run(void *arg, int ith, int nth) {
    const tr_task *t = arg;
    const int R = t->rows, C = t->cols, nb = (C + 31) / 32;
    for (int cb = ith; cb < nb; cb += nth) {
        int c0 = cb * 32, c1 = WN_MIN(C, c0 + 32);
        for (int r0 = 0; r0 < R; r0 += 32) {
            int r1 = WN_MIN(R, r0 + 32);
            for (int c = c0; c < c1; c++)
                for (int r = r0; r < r1; r++) t->dst[(size_t)c * R + r] = t->src[(size_t)r * C + c];
        }
    }
}

void tk_transpose(wn_pool *pool, const float *src, int rows, int cols, float *dst) {
    tr_task t = {src, dst, rows, cols, NULL, NULL, NULL, 0};
    wn_pool_run(pool, transpose_run, &t);
}

/* db[n] += sum over m of dyt[n, m], rows in order */
static void rowsum_run(void *arg, int ith, int nth) {
    const tr_task *t = arg;
    for (int n = ith; n < t->rows; n += nth) {
        const float *r = t->src + (size_t)n * t->cols;
        float s = 0;
        for (int m = 0; m < t->cols; m++) s += r[m];
        t->db[n] += s;
    }
}

static void add_run(void *arg, int ith, int nth) {
    const tr_task *t = arg;
    size_t a = t->n * (size_t)ith / (size_t)nth, b = t->n * (size_t)(ith + 1) / (size_t)nth;
    for (size_t i = a; i < b; i++) t->acc[i] += t->add[i];
}

static void add_into(wn_pool *pool, float *acc, const float *add, size_t n) {
    tr_task t = {NULL, NULL, 0, 0, NULL, add, acc, n};
    wn_pool_run(pool, add_run, &t);
}

void tk_dx(wn_pool *pool, const float *dy, const nn_weight *wt, int M, float *dx, int acc, float *scratch) {
    if (!acc) {
        nn_linear(pool, dy, M, wt, NULL, NN_ACT_NONE, dx);
        return;
    }
    nn_linear(pool, dy, M, wt, NULL, NN_ACT_NONE, scratch);
    add_into(pool, dx, scratch, (size_t)M * wt->N);
}

wn_status tk_dw(wn_pool *pool, const float *dy, const float *x, int M, int N, int K, float *dw, float *db,
                float *scratch) {
    float *dyt = scratch, *xt = dyt + (size_t)N * M, *out = xt + (size_t)K * M;
    tk_transpose(pool, dy, M, N, dyt);
    tk_transpose(pool, x, M, K, xt);
    if (db) {
        tr_task t = {dyt, NULL, N, M, db, NULL, NULL, 0};
        wn_pool_run(pool, rowsum_run, &t);
    }
    nn_weight w;
    wn_status st = nn_weight_init(&w, xt, NN_F32, K, M, NN_PREC_FP32);
    if (st) return st;
    nn_linear(pool, dyt, N, &w, NULL, NN_ACT_NONE, out);
    nn_weight_free(&w);
    add_into(pool, dw, out, (size_t)N * K);
    return WN_OK;
}
