/*
 * test_nn_simde.c - the AVX-512 kernels (src/nn/ops_avx512.c) compiled against
 * SIMDe's emulation of the AVX-512 F/BW/VL/DQ/VNNI/BF16 intrinsics (and
 * src/nn/f16_emu.h's of AVX512-FP16's vfmadd231ph) with only
 * -mavx2 -mfma (the Makefile's SIMDe rule), against the scalar oracle with the
 * checks of test_nn.c: so every x86-64 machine with AVX2, AVX-512 or not,
 * checks the AVX-512 logic (the native build runs in test_nn where the CPU has
 * AVX-512). Needs Debian's libsimde-dev (scripts/deps.sh).
 */
#define NN_TEST_SIMDE
#include "test_nn.c"

int main(void) {
    const wn_cpu_features *f = wn_cpu_get();
    if (!(f->avx2 && f->fma && f->f16c)) {
        printf("SKIPPED: the SIMDe build of the AVX-512 kernels needs AVX2+FMA, which this CPU lacks\n");
        return 77;
    }
    test_table(nn_kernels_avx512_simde());
    test_table(nn_kernels_avx512_dpbf16_simde());
    test_table(nn_kernels_avx512_ph_simde());
    test_pool(); /* the native dispatch, as in test_nn */
    return check_done();
}
