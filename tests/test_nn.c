/*
 * test_nn.c - every ISA kernel against the scalar oracle (ops_ref.c) at awkward
 * sizes: GEMM (integer-valued floats: the sums are exact in float32, so equality
 * is required; then random values with a relative tolerance), GELU against
 * libm's erf in double, residual + LayerNorm, attention with masked keys, bf16
 * weights, bf16 as fp16 products against their exact arithmetic (f16_emu.h, itself
 * checked against the CPU's vfmadd231ph where it has one), and bit-identical
 * results for 1, 2 and 3 threads. tests/test_nn_simde.c
 * runs the same checks on the AVX-512 kernels built against SIMDe, and
 * tests/test_nn_amx.c on the AMX kernels built against the tile emulation.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/f16_emu.h"
#include "nn/nn.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float uni(void) { return (float)((next() >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f; } /* [-1, 1) */
static float smallint(void) { return (float)((int)(next() % 9) - 4); }                    /* -4..4 */

static float *fill(size_t n, int ints) {
    float *p = wn_malloc_aligned(n * sizeof(float) + 64);
    for (size_t i = 0; i < n; i++) p[i] = ints ? smallint() : uni();
    return p;
}

/* worst |a-b| / (atol + rtol |ref|), printed when above 1 */
static double worst(const float *a, const float *ref, size_t n, double atol, double rtol, size_t *at) {
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - ref[i]) / (atol + rtol * fabs(ref[i]));
        if (!(e <= w)) { /* NaN counts as worst */
            w = isnan(e) ? INFINITY : e;
            *at = i;
        }
    }
    return w;
}

/* ---- the bf16 precision as fp16 products (nn_kernels_t.ph_kb), written from its
 * definition (ops_avx512.c): x rows and weight channels scaled by powers of two so
 * their largest |value| is in [0.5, 1), rounded to binary16; per output, the even-k
 * and the odd-k products summed apart by binary16 FMAs (f16_emu.h) in blocks of kb
 * values of k, each block's sum added to a float sum; out = act((E + O) 2^(ex + ew) + b). */
static int ph_exp(const float *v, int n) {
    float m = 0;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(v[i]));
    int e = 0;
    if (m > 0 && isfinite(m)) frexpf(m, &e);
    return e < -126 ? -126 : e > 126 ? 126 : e;
}

static float act_ref(nn_act act, float v) {
    return act == NN_ACT_GELU ? nn_gelu_ref(v) : act == NN_ACT_TANH ? tanhf(v) : v;
}

static void ph_oracle(const float *x, int M, const float *wt, int N, int K, const float *b, nn_act act, int kb,
                      float *out) {
    const int Kp = K + K % 2;
    uint16_t *xh = calloc((size_t)Kp, 2), *wh = calloc((size_t)N * Kp, 2);
    int *ew = calloc((size_t)N, sizeof(int));
    for (int n = 0; n < N; n++) {
        ew[n] = ph_exp(wt + (size_t)n * K, K);
        for (int k = 0; k < K; k++) wh[(size_t)n * Kp + k] = f16e_from_double(ldexp(wt[(size_t)n * K + k], -ew[n]));
    }
    for (int m = 0; m < M; m++) {
        const int ex = ph_exp(x + (size_t)m * K, K);
        for (int k = 0; k < K; k++) xh[k] = f16e_from_double(ldexp(x[(size_t)m * K + k], -ex));
        for (int n = 0; n < N; n++) {
            float E = 0, O = 0;
            for (int k0 = 0; k0 < Kp; k0 += kb) {
                uint16_t e = 0, o = 0;
                for (int k = k0; k < k0 + kb && k < Kp; k += 2) {
                    e = f16e_fma(xh[k], wh[(size_t)n * Kp + k], e);
                    o = f16e_fma(xh[k + 1], wh[(size_t)n * Kp + k + 1], o);
                }
                E += nn_f16_to_f32(e);
                O += nn_f16_to_f32(o);
            }
            float v = (E + O) * (ldexpf(1.0f, ex) * ldexpf(1.0f, ew[n]));
            out[(size_t)m * N + n] = act_ref(act, v + (b ? b[n] : 0.0f));
        }
    }
    free(xh), free(wh), free(ew);
}

/* the kernel equals the oracle (bit for bit without an activation; the kernels' GELU
 * and tanh are their own approximations), and the oracle is within the worst-case
 * bound of fp32: per block, each of the kb/2 FMAs of a lane rounds by at most
 * 2^-11 of the block's sum_k |x_k w_k|, and each value's rounding to fp16 by 2^-11
 * (relative; 2^-24 absolute below 2^-14, after the scaling). */
static void ph_check(const nn_kernels_t *k, const float *x, int M, const float *wt, int N,
                     int K, const float *b, nn_act act, const float *got, const float *ref32) {
    float *o = malloc(sizeof(float) * (size_t)M * N);
    ph_oracle(x, M, wt, N, K, b, act, k->ph_kb, o);
    int bad = 0;
    for (int m = 0; m < M && !bad; m++)
        for (int n = 0; n < N && !bad; n++) {
            size_t i = (size_t)m * N + n;
            double tol = act == NN_ACT_NONE ? 0 : 2e-6 * (1 + fabs(o[i]));
            if (!(fabs((double)got[i] - o[i]) <= tol)) {
                CHECK(0, "%s fp16 linear M=%d N=%d K=%d act=%d: out[%d][%d] = %.9g, the fp16 oracle %.9g", k->name, M,
                      N, K, act, m, n, got[i], o[i]);
                bad = 1;
            }
            if (act != NN_ACT_NONE || !ref32) continue;
            double sabs = 0;
            for (int kk = 0; kk < K; kk++) sabs += fabs((double)x[(size_t)m * K + kk] * wt[(size_t)n * K + kk]);
            double bound = ((k->ph_kb / 2 + 3) * ldexp(1, -11)) * sabs + 1e-6 * (1 + fabs(ref32[i])) +
                           ldexp(1, -20) * K * ldexp(1, ph_exp(x + (size_t)m * K, K)) * ldexp(1, ph_exp(wt + (size_t)n * K, K));
            if (!(fabs((double)o[i] - ref32[i]) <= bound)) {
                CHECK(0, "fp16 oracle M=%d N=%d K=%d: out[%d][%d] = %.9g, fp32 %.9g, beyond the bound %.3g", M, N, K, m,
                      n, o[i], ref32[i], bound);
                bad = 1;
            }
        }
    free(o);
}

static void run_linear(const nn_kernels_t *k, const float *x, int M, const nn_weight *w, const float *b, nn_act act,
                       float *out, int nth) {
    for (int i = 0; i < nth; i++) k->linear(x, M, w, b, act, out, i, nth);
}

/* Ms, Ns, Ks: 9 sizes each */
static void test_gemm_sizes(const nn_kernels_t *k, nn_precision prec, const int *Ms, const int *Ns, const int *Ks) {
    int cases = 0;
    for (int mi = 0; mi < 9; mi++)
        for (int ni = 0; ni < 9; ni++)
            for (int ki = 0; ki < 9; ki++) {
                if ((mi + 2 * ni + 3 * ki) % 4) continue; /* a quarter of the grid, every size hit */
                int M = Ms[mi], N = Ns[ni], K = Ks[ki];
                for (int ints = 1; ints >= 0; ints--) {
                    float *x = fill((size_t)M * K, ints), *wt = fill((size_t)N * K, ints), *b = fill(N, ints);
                    float *xo = fill((size_t)M * K, 0); /* the x the oracle sees */
                    memcpy(xo, x, sizeof(float) * M * K);
                    if (prec == NN_PREC_BF16 && !k->ph_kb) { /* the oracle sees the weights bf16 stores */
                        for (size_t i = 0; i < (size_t)N * K; i++) wt[i] = nn_bf16_to_f32(nn_f32_to_bf16(wt[i]));
                        if (k->bf16_x) /* and the activations, where the kernels round them too */
                            for (size_t i = 0; i < (size_t)M * K; i++) xo[i] = nn_bf16_to_f32(nn_f32_to_bf16(xo[i]));
                    }
                    nn_weight wr, wv;
                    CHECK(nn_weight_init_for(nn_kernels_ref(), &wr, wt, NN_F32, N, K, NN_PREC_FP32) == WN_OK, "init");
                    CHECK(nn_weight_init_for(k, &wv, wt, NN_F32, N, K, prec) == WN_OK, "init");
                    float *o1 = fill((size_t)M * N, 0), *o2 = fill((size_t)M * N, 0), *o3 = fill((size_t)M * N, 0);
                    nn_act act = ints ? NN_ACT_NONE : (nn_act)(cases % 3);
                    run_linear(nn_kernels_ref(), xo, M, &wr, (cases & 4) ? NULL : b, act, o1, 1);
                    run_linear(k, x, M, &wv, (cases & 4) ? NULL : b, act, o2, 1);
                    size_t at = 0;
                    if (prec == NN_PREC_BF16 && k->ph_kb) { /* fp16 sums: the exact arithmetic */
                        ph_check(k, x, M, wt, N, K, (cases & 4) ? NULL : b, act, o2, act ? NULL : o1);
                    } else {
                    /* integers: exact. Random: K products of |x|,|w| < 1 summed in float32
                     * with FMA; error grows ~ sqrt(K) ulp of the partial sums, << 1e-5 * sqrt(K)
                     * relative to sum |x||w|; bounded here against the result plus 1e-5 abs. */
                    double e = ints ? worst(o2, o1, (size_t)M * N, 1e-30, 0, &at)
                                    : worst(o2, o1, (size_t)M * N, 1e-5 * sqrt(K), 2e-6, &at);
                    CHECK(e <= 1, "%s prec %d linear M=%d N=%d K=%d ints=%d act=%d: worst at %zu: %.9g vs %.9g", k->name,
                          prec, M, N, K, ints, act, at, o2[at], o1[at]);
                    }
                    /* thread count does not change a bit */
                    for (int nth = 2; nth <= 3; nth++) {
                        run_linear(k, x, M, &wv, (cases & 4) ? NULL : b, act, o3, nth);
                        CHECK(memcmp(o2, o3, sizeof(float) * M * N) == 0, "%s M=%d N=%d K=%d: %d threads differ",
                              k->name, M, N, K, nth);
                    }
                    nn_weight_free(&wr);
                    nn_weight_free(&wv);
                    wn_free_aligned(x), wn_free_aligned(xo), wn_free_aligned(wt), wn_free_aligned(b);
                    wn_free_aligned(o1), wn_free_aligned(o2), wn_free_aligned(o3);
                    cases++;
                }
            }
    fprintf(stderr, "%s prec %d: %d gemm cases\n", k->name, prec, cases);
}

/* fp16 products over values far from 1: rows of x and channels of W scaled by
 * 2^-40 .. 2^40 (and one row of zeros), which only the power-of-two scales keep
 * inside fp16's range; against the oracle and the fp32 bound, at sizes that cross
 * the blocks of ph_kb */
static void test_ph_range(const nn_kernels_t *k) {
    static const int shapes[][3] = {{29, 67, 300}, {14, 32, 2 * 128}, {3, 5, 129}, {17, 33, 1}};
    for (int si = 0; si < 4; si++) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        float *x = fill((size_t)M * K, 0), *wt = fill((size_t)N * K, 0), *b = fill(N, 0);
        for (int m = 0; m < M; m++)
            for (int i = 0; i < K; i++) x[(size_t)m * K + i] = m == 2 ? 0.0f : ldexpf(x[(size_t)m * K + i], (m % 9) * 10 - 40);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < K; i++) wt[(size_t)n * K + i] = ldexpf(wt[(size_t)n * K + i], (n % 7) * 12 - 36);
        nn_weight wr, wv;
        CHECK(nn_weight_init_for(nn_kernels_ref(), &wr, wt, NN_F32, N, K, NN_PREC_FP32) == WN_OK, "init");
        CHECK(nn_weight_init_for(k, &wv, wt, NN_F32, N, K, NN_PREC_BF16) == WN_OK, "init");
        float *o1 = fill((size_t)M * N, 0), *o2 = fill((size_t)M * N, 0);
        run_linear(nn_kernels_ref(), x, M, &wr, NULL, NN_ACT_NONE, o1, 1);
        run_linear(k, x, M, &wv, NULL, NN_ACT_NONE, o2, 2);
        ph_check(k, x, M, wt, N, K, NULL, NN_ACT_NONE, o2, o1);
        nn_weight_free(&wr), nn_weight_free(&wv);
        wn_free_aligned(x), wn_free_aligned(wt), wn_free_aligned(b), wn_free_aligned(o1), wn_free_aligned(o2);
    }
}

static void test_gemm(const nn_kernels_t *k, nn_precision prec) {
    static const int Ms[] = {1, 5, 6, 7, 8, 9, 13, 97, 103};
    static const int Ns[] = {1, 7, 8, 9, 16, 17, 383, 384, 385};
    static const int Ks[] = {1, 7, 8, 9, 192, 193, 383, 384, 385};
    test_gemm_sizes(k, prec, Ms, Ns, Ks);
}

/* int8 (per-channel weights in [-Q, Q], Q = k->q_wmax: 63 for AVX2's 7 bits, 127
 * with VNNI; 8-bit per-row activations with a zero point):
 * 1. exact case: weights integers in [-Q, Q] with Q or -Q in every channel
 *    (scale 1), activation rows integers spanning exactly [-128, 127] (scale 1,
 *    zero point 128): quantisation is lossless, so the result must equal the
 *    float32 oracle's exact integer sums;
 * 2. random case: within the worst-case quantisation bound
 *    sum_k |x_k| sw/2 + |w_k| sa/2 + sa sw/4 (sw = max|w|/Q, sa = range/255);
 * and bit-identical for 1, 2 and 3 threads. */
static void test_int8_shapes(const nn_kernels_t *k, const int (*shapes)[3], int n_shapes) {
    const int Q = k->q_wmax ? k->q_wmax : 63;
    for (int si = 0; si < n_shapes; si++) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        for (int exact = K > 1; exact >= 0; exact--) { /* one value cannot span [-128, 127] */
            float *x = fill((size_t)M * K, 0), *wt = fill((size_t)N * K, 0), *b = fill(N, exact);
            if (exact) {
                for (int i = 0; i < M * K; i++) x[i] = (float)((int)(next() % 256) - 128);
                for (int m = 0; m < M; m++) x[(size_t)m * K] = -128, x[(size_t)m * K + K - 1] = K > 1 ? 127 : -128;
                for (int i = 0; i < N * K; i++) wt[i] = (float)((int)(next() % (2 * Q + 1)) - Q);
                for (int n = 0; n < N; n++) wt[(size_t)n * K + (n % K)] = (float)(n % 2 ? Q : -Q);
            }
            nn_weight wr, wv;
            CHECK(nn_weight_init_for(nn_kernels_ref(), &wr, wt, NN_F32, N, K, NN_PREC_FP32) == WN_OK, "init");
            CHECK(nn_weight_init_for(k, &wv, wt, NN_F32, N, K, NN_PREC_INT8) == WN_OK, "init");
            float *o1 = fill((size_t)M * N, 0), *o2 = fill((size_t)M * N, 0), *o3 = fill((size_t)M * N, 0);
            run_linear(nn_kernels_ref(), x, M, &wr, b, NN_ACT_NONE, o1, 1);
            run_linear(k, x, M, &wv, b, NN_ACT_NONE, o2, 1);
            int bad = 0;
            for (int m = 0; m < M && !bad; m++) {
                const float *xr = x + (size_t)m * K;
                float mn = 0, mx = 0;
                for (int i = 0; i < K; i++) mn = fminf(mn, xr[i]), mx = fmaxf(mx, xr[i]);
                double sa = (mx - mn) / 255.0;
                for (int n = 0; n < N && !bad; n++) {
                    const float *wr_ = wt + (size_t)n * K;
                    double mw = 0, bound = 0;
                    for (int i = 0; i < K; i++) mw = fmax(mw, fabs(wr_[i]));
                    double sw = mw / Q;
                    for (int i = 0; i < K; i++) bound += fabs(xr[i]) * sw / 2 + fabs(wr_[i]) * sa / 2 + sa * sw / 4;
                    double got = o2[(size_t)m * N + n], want = o1[(size_t)m * N + n];
                    double tol = exact ? 0 : bound * 1.001 + 1e-5 * (1 + fabs(want));
                    if (!(fabs(got - want) <= tol)) {
                        CHECK(0, "%s int8 M=%d N=%d K=%d exact=%d at (%d, %d): %.9g vs %.9g, bound %.3g", k->name, M,
                              N, K, exact, m, n, got, want, tol);
                        bad = 1;
                    }
                }
            }
            for (int nth = 2; nth <= 3; nth++) {
                run_linear(k, x, M, &wv, b, NN_ACT_NONE, o3, nth);
                CHECK(memcmp(o2, o3, sizeof(float) * M * N) == 0, "%s int8 M=%d N=%d K=%d: %d threads differ", k->name,
                      M, N, K, nth);
            }
            nn_weight_free(&wr);
            nn_weight_free(&wv);
            wn_free_aligned(x), wn_free_aligned(wt), wn_free_aligned(b);
            wn_free_aligned(o1), wn_free_aligned(o2), wn_free_aligned(o3);
        }
    }
}

static void test_int8(const nn_kernels_t *k) {
    static const int shapes[][3] = {{1, 1, 1}, {7, 9, 7}, {6, 16, 8}, {13, 17, 9}, {97, 385, 383}, {103, 384, 1536},
                                    {5, 1536, 384}, {400, 40, 384}};
    test_int8_shapes(k, shapes, 8);
}

/* GELU through a 1x1 linear of weight 1: every x in [-12, 12] in steps of 1/1024
 * and a few beyond, against 0.5 x (1 + erf(x / sqrt2)) in double. Bound: erf
 * within 5e-7 (the SIMD kernels' rational fit after float32 rounding, measured
 * ~4e-7), so 0.5 |x| 5e-7 + 1e-7 absolute; PyTorch's float32 GELU errs by about
 * as much (its erf: 1.5e-7 plus the rounding of 1 + erf). Near 0, where GELU is
 * ~x/2, 1e-6 relative. */
static void test_gelu(const nn_kernels_t *k) {
    int n = 24 * 1024 + 1 + 4;
    float *x = wn_malloc_aligned(sizeof(float) * n), *o = wn_malloc_aligned(sizeof(float) * n);
    for (int i = 0; i < n - 4; i++) x[i] = -12.0f + (float)i / 1024.0f;
    x[n - 4] = -30, x[n - 3] = 30, x[n - 2] = -1e-30f, x[n - 1] = 1e-3f;
    float one = 1.0f;
    nn_weight w;
    CHECK(nn_weight_init_for(k, &w, &one, NN_F32, 1, 1, NN_PREC_FP32) == WN_OK, "init");
    run_linear(k, x, n, &w, NULL, NN_ACT_GELU, o, 1);
    double wa = 0, wr = 0;
    for (int i = 0; i < n; i++) {
        double ref = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
        double e = fabs(o[i] - ref);
        CHECK(e <= 1e-7 + 2.5e-7 * fabs(x[i]), "%s gelu(%.9g) = %.9g, erf gives %.9g", k->name, x[i], o[i], ref);
        if (fabs(x[i]) < 0.5)
            CHECK(e <= 1e-6 * fabs(ref) + 1e-37, "%s gelu(%.9g) = %.9g vs %.9g", k->name, x[i], o[i], ref);
        if (e / (1e-7 + 2.5e-7 * fabs(x[i])) > wa) wa = e / (1e-7 + 2.5e-7 * fabs(x[i]));
        if (ref != 0 && fabs(x[i]) < 0.5 && e / fabs(ref) > wr) wr = e / fabs(ref);
    }
    fprintf(stderr, "%s gelu: worst error / bound %.3g, worst rel (|x| < 0.5) %.3g\n", k->name, wa, wr);
    nn_weight_free(&w);
    wn_free_aligned(x), wn_free_aligned(o);
}

static void test_layernorm(const nn_kernels_t *k) {
    static const int Hs[] = {7, 8, 16, 384, 385};
    for (int hi = 0; hi < 5; hi++) {
        int H = Hs[hi], M = 9;
        float *x = fill((size_t)M * H, 0), *r = fill((size_t)M * H, 0), *g = fill(H, 0), *b = fill(H, 0);
        for (int i = 0; i < M * H; i++) x[i] = x[i] * 5 + 3; /* an offset mean, as after attention */
        float *o1 = fill((size_t)M * H, 0), *o2 = fill((size_t)M * H, 0);
        nn_add_layernorm_rows_ref(x, r, 0, M, H, g, b, 1e-12f, o1);
        k->add_layernorm_rows(x, r, 0, M, H, g, b, 1e-12f, o2);
        size_t at = 0;
        /* normalised values are O(1); float32 mean/variance over <= 385 terms: 1e-5 */
        double e = worst(o2, o1, (size_t)M * H, 1e-5, 1e-5, &at);
        CHECK(e <= 1, "%s layernorm H=%d worst at %zu: %.9g vs %.9g", k->name, H, at, o2[at], o1[at]);
        /* in place (out aliases x), no residual */
        nn_add_layernorm_rows_ref(x, NULL, 0, M, H, g, b, 1e-5f, o1);
        k->add_layernorm_rows(x, NULL, 0, M, H, g, b, 1e-5f, x);
        e = worst(x, o1, (size_t)M * H, 1e-5, 1e-5, &at);
        CHECK(e <= 1, "%s layernorm in place H=%d worst at %zu: %.9g vs %.9g", k->name, H, at, x[at], o1[at]);
        wn_free_aligned(x), wn_free_aligned(r), wn_free_aligned(g), wn_free_aligned(b);
        wn_free_aligned(o1), wn_free_aligned(o2);
    }
}

static void test_attention(const nn_kernels_t *k) {
    static const int Ts[] = {1, 7, 8, 9, 33, 64, 130};
    static const int HDs[] = {32, 64, 8, 12, 40}; /* 40: two column blocks of 16 and one of 8 */
    for (int ti = 0; ti < 7; ti++)
        for (int di = 0; di < 5; di++) {
            int T = Ts[ti], HD = HDs[di], NH = 3, H = NH * HD, B = 3;
            int len[3] = {T, (T + 1) / 2, 1};
            float *qkv = fill((size_t)B * T * 3 * H, 0);
            for (size_t i = 0; i < (size_t)B * T * 3 * H; i++) qkv[i] *= 3; /* peaky softmax too */
            float *o1 = fill((size_t)B * T * H, 0), *o2 = fill((size_t)B * T * H, 0);
            float *scr = wn_malloc_aligned(sizeof(float) * nn_attention_scratch(T, 1));
            for (int b = 0; b < B; b++)
                for (int h = 0; h < NH; h++) {
                    const float *base = qkv + (size_t)b * T * 3 * H;
                    nn_attention_head_ref(base, T, len[b], H, h, HD, o1 + (size_t)b * T * H, scr);
                    k->attention_head(base, T, len[b], H, h, HD, o2 + (size_t)b * T * H, scr);
                }
            size_t at = 0;
            /* outputs are convex combinations of v (|v| < 3): float32 scores over HD
             * terms and sums over T terms give errors ~1e-6; 1e-5 abs */
            double e = worst(o2, o1, (size_t)B * T * H, 1e-5, 1e-5, &at);
            CHECK(e <= 1, "%s attention T=%d HD=%d worst at %zu: %.9g vs %.9g", k->name, T, HD, at, o2[at], o1[at]);
            wn_free_aligned(qkv), wn_free_aligned(o1), wn_free_aligned(o2), wn_free_aligned(scr);
        }
}

/* the threaded drivers through a real pool: 1 and 2 threads, same bits */
static void test_pool(void) {
    wn_pool *p1 = NULL, *p2 = NULL;
    if (wn_pool_create(1, &p1) != WN_OK || wn_pool_create(2, &p2) != WN_OK) {
        CHECK(0, "pools: %s", wn_last_error());
        return;
    }
    int M = 77, N = 385, K = 384, T = 40, NH = 12, HD = 32, H = 384, B = 2;
    float *x = fill((size_t)M * K, 0), *wt = fill((size_t)N * K, 0), *b = fill(N, 0);
    float *o1 = fill((size_t)M * N, 0), *o2 = fill((size_t)M * N, 0);
    nn_weight w;
    CHECK(nn_weight_init(&w, wt, NN_F32, N, K, NN_PREC_FP32) == WN_OK, "init");
    nn_linear(p1, x, M, &w, b, NN_ACT_GELU, o1);
    nn_linear(p2, x, M, &w, b, NN_ACT_GELU, o2);
    CHECK(memcmp(o1, o2, sizeof(float) * M * N) == 0, "nn_linear: 1 and 2 threads differ");
    float *qkv = fill((size_t)B * T * 3 * H, 0), *a1 = fill((size_t)B * T * H, 0), *a2 = fill((size_t)B * T * H, 0);
    float *s = wn_malloc_aligned(sizeof(float) * nn_attention_scratch(T, 2));
    int len[2] = {T, 13};
    nn_attention(p1, qkv, B, T, NH, HD, len, a1, s);
    nn_attention(p2, qkv, B, T, NH, HD, len, a2, s);
    CHECK(memcmp(a1, a2, sizeof(float) * B * T * H) == 0, "nn_attention: 1 and 2 threads differ");
    nn_add_layernorm(p1, a1, qkv, B * T, H, b, wt, 1e-12f, a1);
    nn_add_layernorm(p2, a2, qkv, B * T, H, b, wt, 1e-12f, a2);
    CHECK(memcmp(a1, a2, sizeof(float) * B * T * H) == 0, "nn_add_layernorm: 1 and 2 threads differ");
    nn_weight_free(&w);
    wn_free_aligned(x), wn_free_aligned(wt), wn_free_aligned(b), wn_free_aligned(o1), wn_free_aligned(o2);
    wn_free_aligned(qkv), wn_free_aligned(a1), wn_free_aligned(a2), wn_free_aligned(s);
    wn_pool_free(p1);
    wn_pool_free(p2);
}

static void test_table(const nn_kernels_t *k) {
    test_gelu(k); /* the oracle's GELU against libm too */
    if (k == nn_kernels_ref()) return; /* the oracle against itself proves nothing */
    test_gemm(k, NN_PREC_FP32);
    test_gemm(k, NN_PREC_BF16);
    if (k->ph_kb) test_ph_range(k);
    test_int8(k);
    test_layernorm(k);
    test_attention(k);
}

#if defined(__x86_64__) && !defined(NN_TEST_SIMDE) && !defined(NN_TEST_AMX)
/* f16_emu.h (the SIMDe build's vfmadd231ph and the fp16 oracle) against the CPU's
 * own instruction, on 640,000 operand triples: random bits (every class:
 * subnormals, infinities, NaN; NaN results compared as NaN) and, for half of the
 * lanes, exponents chosen so that products and addends meet (ties included) */
static void test_f16_emu_native(void) {
    if (!wn_cpu_get()->avx512fp16) {
        fprintf(stderr, "f16_emu.h against vfmadd231ph: no AVX512-FP16 on this CPU, not tested\n");
        return;
    }
    long bad = 0;
    for (int it = 0; it < 20000; it++) {
        _Alignas(64) uint16_t a[32], b[32], c[32], e[32];
        for (int i = 0; i < 32; i++) {
            uint64_t r = (uint64_t)next() << 32 | next();
            a[i] = (uint16_t)r, b[i] = (uint16_t)(r >> 16), c[i] = (uint16_t)(r >> 32);
            if ((r >> 48) & 1) {
                a[i] = (uint16_t)((a[i] & 0x83ff) | (((r >> 50) % 12 + 9) << 10));
                b[i] = (uint16_t)((b[i] & 0x83ff) | (((r >> 54) % 12 + 9) << 10));
                c[i] = (uint16_t)((c[i] & 0x83ff) | (((r >> 58) % 20 + 5) << 10));
            }
            e[i] = f16e_fma(a[i], b[i], c[i]);
        }
        __asm__ volatile("vmovdqu64 (%0), %%zmm0\n\tvmovdqu64 (%1), %%zmm1\n\tvmovdqu64 (%2), %%zmm2\n\t"
                         "vfmadd231ph %%zmm1, %%zmm0, %%zmm2\n\tvmovdqu64 %%zmm2, (%2)\n\tvzeroupper"
                         :
                         : "r"(a), "r"(b), "r"(c)
                         : "xmm0", "xmm1", "xmm2", "memory");
        for (int i = 0; i < 32; i++) {
            if ((c[i] & 0x7fff) > 0x7c00 && (e[i] & 0x7fff) > 0x7c00) continue;
            if (c[i] != e[i] && bad++ < 5)
                CHECK(0, "f16e_fma(%04x, %04x, ...) = %04x, vfmadd231ph %04x", a[i], b[i], e[i], c[i]);
        }
    }
    CHECK(bad == 0, "f16_emu.h: %ld of 640000 results differ from vfmadd231ph", bad);
    fprintf(stderr, "f16_emu.h against vfmadd231ph: 640000 triples\n");
}
#endif

#if !defined(NN_TEST_SIMDE) && !defined(NN_TEST_AMX) /* tests/test_nn_simde.c and test_nn_amx.c have their own */
int main(void) {
    fprintf(stderr, "kernels chosen for this CPU: %s (isa %s)\n", nn_kernels()->name, wn_isa_name(wn_cpu_isa()));
    int tested = 0;
    for (int isa = WN_ISA_SCALAR; isa <= WN_ISA_NEON; isa++) {
        const nn_kernels_t *k = nn_kernels_isa((wn_isa)isa);
        if (!k) {
            fprintf(stderr, "isa %s: not available on this CPU or not built, not tested\n", wn_isa_name((wn_isa)isa));
            continue;
        }
        test_table(k);
        tested++;
    }
#if defined(__x86_64__)
    /* with AVX-VNNI, nn_kernels_isa(WN_ISA_AVX2) is the VNNI table: the plain one too */
    if (nn_kernels_avxvnni()) test_table(nn_kernels_avx2());
    else fprintf(stderr, "avx2 with AVX-VNNI: not available on this CPU, not tested\n");
    /* nn_kernels_isa(WN_ISA_AVX512), tested above, is the AMX table or one of three AVX-512
     * tables that differ in their bf16 GEMM (nn_kernels_avx512_best): the others too */
    test_f16_emu_native();
    const nn_kernels_t *chosen = nn_kernels_isa(WN_ISA_AVX512);
    const nn_kernels_t *more[3] = {nn_kernels_avx512(), nn_kernels_avx512_dpbf16(), nn_kernels_avx512_ph()};
    static const char *const what[3] = {"", "with vdpbf16ps (AVX512_BF16)", "with fp16 products (AVX512-FP16)"};
    for (int i = 0; i < 3; i++) {
        if (!chosen) break;
        if (!more[i]) fprintf(stderr, "avx512 %s: not available on this CPU, not tested (test_nn_simde runs it)\n", what[i]);
        else if (more[i] != chosen) test_table(more[i]);
    }
#endif
    test_pool();
    CHECK(tested >= 1, "no kernel table tested");
    if (tested == 1) fprintf(stderr, "only the scalar oracle exists on this CPU: ISA variants untested\n");
    return check_done();
}
#endif
