/* tmm.h - the backward pass's matrix products (tmm.c). Internal to src/train.
 * Dimensions: M rows, N outputs, K inputs; row-major float32. */
#ifndef WN_TRAIN_TMM_H
#define WN_TRAIN_TMM_H

#include "nn/nn.h"

/* dst (cols, rows) = src (rows, cols)^T */
void tk_transpose(wn_pool *pool, const float *src, int rows, int cols, float *dst);
/* dx (M, K) = dy (M, N) . W (N, K), given wt: W^T (K, N) as an nn_weight; acc 1
 * adds to dx instead (scratch: M * K floats). */
void tk_dx(wn_pool *pool, const float *dy, const nn_weight *wt, int M, float *dx, int acc, float *scratch);
/* dW (N, K) += dy^T . x over M rows; db (N) += column sums of dy (db may be NULL).
 * scratch: N*M + K*M + N*K floats. WN_ERR_NOMEM when packing fails. */
wn_status tk_dw(wn_pool *pool, const float *dy, const float *x, int M, int N, int K, float *dw, float *db,
                float *scratch);

#endif
