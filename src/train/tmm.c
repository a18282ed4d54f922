/*
 * tmm.c - the matrix products of the backward pass, split between the pool's
 * threads by output rows: every output element is summed by one thread in a
 * fixed order, so gradients do not depend on the number of threads. The forward
 * products go through nn_linear (src/nn); these are the two others a linear
 * layer y = x W^T + b needs: dx = dy W and dW += dy^T x (with db += sum dy).
 *
 * Dimensions: M rows, N outputs, K inputs.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the inner loops are axpys the vectoriser should take */
#endif
#include <string.h>

#include "tmm.h"

typedef struct {
    const float *dy, *w, *x;
    float *dx, *dw, *db, *dyt;
    int M, N, K, acc;
} mm_task;

/* dx[m, :] (+)= sum_n dy[m, n] W[n, :], n in order, four at a time. */
static void dx_rows(void *arg, int ith, int nth) {
    const mm_task *t = arg;
    const int M = t->M, N = t->N, K = t->K;
    int m0 = (int)((int64_t)M * ith / nth), m1 = (int)((int64_t)M * (ith + 1) / nth);
    for (int m = m0; m < m1; m++) {
        float *restrict o = t->dx + (size_t)m * K;
        const float *a = t->dy + (size_t)m * N;
        if (!t->acc) memset(o, 0, sizeof(float) * K);
        int n = 0;
        for (; n + 4 <= N; n += 4) {
            const float a0 = a[n], a1 = a[n + 1], a2 = a[n + 2], a3 = a[n + 3];
            const float *restrict w0 = t->w + (size_t)n * K, *restrict w1 = w0 + K, *restrict w2 = w1 + K,
                                  *restrict w3 = w2 + K;
            for (int k = 0; k < K; k++) o[k] += a0 * w0[k] + a1 * w1[k] + a2 * w2[k] + a3 * w3[k];
        }
        for (; n < N; n++) {
            const float a0 = a[n];
            const float *restrict w0 = t->w + (size_t)n * K;
            for (int k = 0; k < K; k++) o[k] += a0 * w0[k];
        }
    }
}

void tk_dx(wn_pool *pool, const float *dy, const float *w, int M, int N, int K, float *dx, int acc) {
    mm_task t = {dy, w, NULL, dx, NULL, NULL, NULL, M, N, K, acc};
    wn_pool_run(pool, dx_rows, &t);
}

static void transpose_rows(void *arg, int ith, int nth) {
    const mm_task *t = arg;
    const int M = t->M, N = t->N;
    int n0 = (int)((int64_t)N * ith / nth), n1 = (int)((int64_t)N * (ith + 1) / nth);
    for (int n = n0; n < n1; n++)
        for (int m = 0; m < M; m++) t->dyt[(size_t)n * M + m] = t->dy[(size_t)m * N + n];
}

/* dW[n, :] += sum_m dy[m, n] x[m, :], m in order, four at a time; db[n] += sum_m dy[m, n]. */
static void dw_rows(void *arg, int ith, int nth) {
    const mm_task *t = arg;
    const int M = t->M, N = t->N, K = t->K;
    int n0 = (int)((int64_t)N * ith / nth), n1 = (int)((int64_t)N * (ith + 1) / nth);
    for (int n = n0; n < n1; n++) {
        float *restrict o = t->dw + (size_t)n * K;
        const float *a = t->dyt + (size_t)n * M;
        if (t->db) {
            float s = 0;
            for (int m = 0; m < M; m++) s += a[m];
            t->db[n] += s;
        }
        int m = 0;
        for (; m + 4 <= M; m += 4) {
            const float a0 = a[m], a1 = a[m + 1], a2 = a[m + 2], a3 = a[m + 3];
            if (a0 == 0 && a1 == 0 && a2 == 0 && a3 == 0) continue; /* padding rows */
            const float *restrict x0 = t->x + (size_t)m * K, *restrict x1 = x0 + K, *restrict x2 = x1 + K,
                                  *restrict x3 = x2 + K;
            for (int k = 0; k < K; k++) o[k] += a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k];
        }
        for (; m < M; m++) {
            const float a0 = a[m];
            const float *restrict x0 = t->x + (size_t)m * K;
            for (int k = 0; k < K; k++) o[k] += a0 * x0[k];
        }
    }
}

void tk_dw(wn_pool *pool, const float *dy, const float *x, int M, int N, int K, float *dw, float *db, float *scratch) {
    mm_task t = {dy, NULL, x, NULL, dw, db, scratch, M, N, K, 1};
    wn_pool_run(pool, transpose_rows, &t);
    wn_pool_run(pool, dw_rows, &t);
}
