/*
 * test_nn_amx.c - the AMX kernels (src/nn/ops_amx.c: bf16 and int8 GEMMs on
 * tiles) against the scalar oracle with the checks of test_nn.c (awkward M, N, K:
 * remainders of the 32-row blocks, 32-column panels and 64-byte K steps; 1, 2
 * and 3 threads bit-identical), twice:
 *  1. ops_amx.c compiled against the scalar tile emulation src/nn/amx_emu.h
 *     (nn_kernels_amx_emu(), the Makefile's WN_AMX_EMU object), on any CPU with
 *     AVX-512 (the rest of the table is the native AVX-512 code). The emulation
 *     aborts on a tile configuration or shape the hardware would fault on, and
 *     under SANITIZE=1 ASan checks every byte the tiles read and write. Also: the
 *     int8 results equal the AVX-512 VNNI kernels' bit for bit (same quantisation,
 *     tdpbusd's int32 sums are vpdpbusd's), where the CPU has VNNI.
 *  2. the native AMX kernels, where the CPU has AMX and Linux granted the tile
 *     data; otherwise that part says SKIPPED and why.
 * Exit 77 (SKIPPED) only if neither part could run.
 */
#define NN_TEST_AMX
#include "test_nn.c"

/* int8 of the AMX table == int8 of the AVX-512 VNNI table, every bit */
static void test_int8_same(const nn_kernels_t *amx, const nn_kernels_t *vnni) {
    static const int shapes[][3] = {{1, 1, 1}, {7, 9, 7}, {33, 40, 65}, {97, 385, 383}, {103, 384, 1536}};
    for (int si = 0; si < 5; si++) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        float *x = fill((size_t)M * K, 0), *wt = fill((size_t)N * K, 0), *b = fill(N, 0);
        for (int i = 0; i < M * K; i++) x[i] *= 4; /* and an offset range: the zero point matters */
        for (int i = 0; i < M * K; i += 3) x[i] += 1.5f;
        nn_weight wa, wv;
        CHECK(nn_weight_init_for(amx, &wa, wt, NN_F32, N, K, NN_PREC_INT8) == WN_OK, "init");
        CHECK(nn_weight_init_for(vnni, &wv, wt, NN_F32, N, K, NN_PREC_INT8) == WN_OK, "init");
        float *o1 = fill((size_t)M * N, 0), *o2 = fill((size_t)M * N, 0);
        for (int act = 0; act < 3; act++) {
            run_linear(amx, x, M, &wa, act == 1 ? NULL : b, (nn_act)act, o1, 1);
            run_linear(vnni, x, M, &wv, act == 1 ? NULL : b, (nn_act)act, o2, 1);
            size_t at = 0;
            while (at < (size_t)M * N && memcmp(o1 + at, o2 + at, sizeof(float)) == 0) at++;
            CHECK(at == (size_t)M * N, "%s vs %s int8 M=%d N=%d K=%d act=%d: differ at %zu: %.9g vs %.9g", amx->name,
                  vnni->name, M, N, K, act, at, at < (size_t)M * N ? o1[at] : 0, at < (size_t)M * N ? o2[at] : 0);
        }
        nn_weight_free(&wa);
        nn_weight_free(&wv);
        wn_free_aligned(x), wn_free_aligned(wt), wn_free_aligned(b), wn_free_aligned(o1), wn_free_aligned(o2);
    }
}

/* sizes around the AMX blocking: 16 / 32-row blocks (a block of 17..31 rows uses
 * both A tiles, of <= 16 one), 96-row chunks (fewer for long K), 32-column panels
 * (16 per B tile), 64-byte K steps (32 bf16, 64 int8) */
static void test_amx_sizes(const nn_kernels_t *k) {
    static const int Ms[] = {16, 17, 31, 32, 33, 48, 95, 120, 129};
    static const int Ns[] = {15, 16, 31, 32, 33, 48, 63, 65, 97};
    static const int Ks[] = {31, 32, 33, 63, 64, 65, 127, 129, 1537};
    test_gemm_sizes(k, NN_PREC_BF16, Ms, Ns, Ks);
    static const int shapes[][3] = {{17, 33, 65},  {31, 15, 64},  {32, 31, 63},   {33, 65, 129},
                                    {48, 16, 127}, {95, 97, 200}, {129, 48, 1537}, {200, 33, 4100}};
    test_int8_shapes(k, shapes, 8);
}

static void test_amx(const nn_kernels_t *k) {
    test_gemm(k, NN_PREC_BF16);
    test_int8(k);
    test_amx_sizes(k);
    if (wn_cpu_get()->avx512vnni) test_int8_same(k, nn_kernels_avx512());
    else fprintf(stderr, "%s: no AVX512-VNNI here, int8 not compared bit for bit with vpdpbusd\n", k->name);
}

int main(void) {
    const wn_cpu_features *f = wn_cpu_get();
    int ran = 0;
    if (f->avx2 && f->fma && f->f16c && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq) {
        test_amx(nn_kernels_amx_emu());
        ran++;
    } else {
        printf("SKIPPED: the emulated AMX kernels: their AVX-512 parts need AVX-512 F/BW/VL/DQ, which this CPU lacks\n");
    }
    if (nn_kernels_amx()) {
        test_amx(nn_kernels_amx());
        test_table(nn_kernels_amx()); /* and everything else of the table (fp32 through its dispatch too) */
        ran++;
    } else {
        printf("SKIPPED: the native AMX kernels: %s\n",
               !f->amx_cpuid ? "no AMX-TILE/BF16/INT8 in CPUID (/proc/cpuinfo has no amx flags)"
               : !f->amx_os  ? "the OS does not enable the tile state (XCR0 bits 17, 18)"
               : getenv("WN_FORCE_ISA") || getenv("WN_FORCE_SCALAR")
                   ? "turned off by WN_FORCE_ISA / WN_FORCE_SCALAR"
                   : "Linux refused the tile data permission (arch_prctl ARCH_REQ_XCOMP_PERM) or the palette differs");
    }
    test_pool(); /* the native dispatch (AMX where it runs), as in test_nn */
    if (!ran) return 77;
    return check_done();
}
