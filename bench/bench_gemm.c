/*
 * bench_gemm.c - GFLOP/s of nn_linear at MiniLM-L6 shapes (M = batch*tokens,
 * K, N = 384/1152/1536), fp32 and bf16 weights, 1 thread and n threads in the
 * same process. Each variant's first rows are checked against the scalar oracle
 * before it is timed. Best of reps; the machine is shared, so numbers are noisy.
 * Usage: build/bench/bench_gemm [threads=2] [reps=5]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/nn.h"

static float *rnd(size_t n, unsigned *s) {
    float *p = wn_malloc_aligned(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        p[i] = (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

static double time_linear(wn_pool *pool, const float *x, int M, const nn_weight *w, const float *b, nn_act act,
                          float *out, int reps) {
    double best = 1e30;
    nn_linear(pool, x, M, w, b, act, out); /* warm */
    for (int r = 0; r < reps; r++) {
        double t = wn_now();
        nn_linear(pool, x, M, w, b, act, out);
        t = wn_now() - t;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    int nth = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 2 ? atoi(argv[2]) : 5;
    static const int shapes[][3] = {{32 * 16, 384, 1152}, {32 * 128, 384, 1152}, {32 * 128, 384, 384},
                                    {32 * 128, 384, 1536}, {32 * 128, 1536, 384}, {16, 384, 1536}, {16, 1536, 384}};
    wn_pool *p1, *pn;
    if (wn_pool_create(1, &p1) || wn_pool_create(nth, &pn)) return 1;
    printf("kernels %s, isa %s, %d threads, best of %d\n", nn_kernels()->name, wn_isa_name(wn_cpu_isa()), nth, reps);
    printf("(%s)\n", nn_kernels_describe());
    printf("%6s %5s %5s %-5s | %9s %9s | %9s\n", "M", "K", "N", "prec", "GF/s 1t", "GF/s nt", "speedup");
    unsigned s = 1;
    for (int i = 0; i < 7; i++) {
        int M = shapes[i][0], K = shapes[i][1], N = shapes[i][2];
        float *x = rnd((size_t)M * K, &s), *wt = rnd((size_t)N * K, &s), *b = rnd(N, &s), *o = rnd((size_t)M * N, &s);
        for (int prec = 0; prec <= 2; prec++) {
            nn_weight w;
            if (nn_weight_init(&w, wt, NN_F32, N, K, (nn_precision)prec)) return 1;
            double fl = 2.0 * M * N * K;
            { /* check 8 rows against the oracle (on the weights this precision stores) */
                int R = M < 8 ? M : 8;
                nn_weight wr;
                float *wq = rnd((size_t)N * K, &s), *ref = rnd((size_t)R * N, &s);
                for (size_t i = 0; i < (size_t)N * K; i++)
                    wq[i] = prec == 1 && !nn_kernels()->ph_kb ? nn_bf16_to_f32(nn_f32_to_bf16(wt[i])) : wt[i];
                if (nn_weight_init_for(nn_kernels_ref(), &wr, wq, NN_F32, N, K, NN_PREC_FP32)) return 1;
                float *xq = rnd((size_t)R * K, &s); /* x as the kernels see it */
                for (size_t i = 0; i < (size_t)R * K; i++)
                    xq[i] = prec == 1 && nn_kernels()->bf16_x ? nn_bf16_to_f32(nn_f32_to_bf16(x[i])) : x[i];
                nn_linear_rows_ref(xq, 0, R, &wr, b, NN_ACT_NONE, ref);
                wn_free_aligned(xq);
                nn_linear(pn, x, R, &w, b, NN_ACT_NONE, o);
                for (int i = 0; i < R * N; i++)
                    /* int8, and bf16 as fp16 sums (tests/test_nn.c checks their exact arithmetic): sanity bounds */
                    if (fabsf(o[i] - ref[i]) > (prec == 2 ? 0.1f : prec && nn_kernels()->ph_kb ? 2e-2f : 1e-4f) * (1 + fabsf(ref[i]))) {
                        printf("WRONG: %s M=%d K=%d N=%d element %d: %g vs %g; not timed\n", prec == 2 ? "int8" : prec ? "bf16" : "fp32",
                               M, K, N, i, o[i], ref[i]);
                        return 1;
                    }
                nn_weight_free(&wr);
                wn_free_aligned(wq), wn_free_aligned(ref);
            }
            double t1 = time_linear(p1, x, M, &w, b, K == 384 && N == 1536 ? NN_ACT_GELU : NN_ACT_NONE, o, reps);
            double tn = time_linear(pn, x, M, &w, b, K == 384 && N == 1536 ? NN_ACT_GELU : NN_ACT_NONE, o, reps);
            printf("%6d %5d %5d %-5s | %9.1f %9.1f | %8.2fx\n", M, K, N, prec == 2 ? "int8" : prec ? "bf16" : "fp32", fl / t1 * 1e-9,
                   fl / tn * 1e-9, t1 / tn);
            nn_weight_free(&w);
        }
        wn_free_aligned(x), wn_free_aligned(wt), wn_free_aligned(b), wn_free_aligned(o);
    }
    wn_pool_free(p1);
    wn_pool_free(pn);
    return 0;
}
