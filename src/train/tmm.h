/* tmm.h - the backward pass's matrix products (tmm.c). Internal to src/train.
 * Dimensions: M rows, N outputs, K inputs; row-major float32. */
#ifndef WN_TRAIN_TMM_H
#define WN_TRAIN_TMM_H

#include "util/util.h"

/* dx (M, K) = dy (M, N) . W (N, K); acc 1 adds to dx instead. */
void tk_dx(wn_pool *pool, const float *dy, const float *w, int M, int N, int K, float *dx, int acc);
/* dW (N, K) += dy^T (N, M) . x (M, K); db (N) += column sums of dy (db may be NULL).
 * scratch: N * M floats. */
void tk_dw(wn_pool *pool, const float *dy, const float *x, int M, int N, int K, float *dw, float *db, float *scratch);

#endif
