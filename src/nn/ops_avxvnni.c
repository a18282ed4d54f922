/*
 * ops_avxvnni.c - the AVX2 kernels (ops_avx2.c, compiled again here with
 * -mavxvnni) whose int8 GEMM uses AVX-VNNI's 256-bit vpdpbusd (VEX encoded:
 * Intel Alder Lake and later, AMD Zen 5, also Sapphire Rapids next to its
 * AVX-512 VNNI): the four u8 x s8 products of a k-quad summed into 32-bit lanes
 * in one instruction, where plain AVX2 needs vpmaddubsw + vpmaddwd + vpaddd and
 * 7-bit weights to avoid 16-bit saturation; so weights keep 8 bits (q_wmax 127).
 * Everything else (fp32, bf16, LayerNorm, attention) is ops_avx2.c's code.
 * nn_kernels_isa(WN_ISA_AVX2) picks this table where the CPU has AVX-VNNI
 * (WN_FORCE_ISA=avx2-novnni does not); tests/test_nn.c checks it against the
 * scalar oracle where the CPU has it.
 */
#define WN_AVXVNNI
#include "ops_avx2.c"
