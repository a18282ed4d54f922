/* cpu.c - CPU feature detection (cpuid + xgetbv), done once; WN_FORCE_SCALAR=1
 * and WN_FORCE_ISA=scalar|avx2|avx2-novnni override the choice (avx2-novnni:
 * the AVX2 kernels without AVX-VNNI's int8, for comparisons). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint64_t xgetbv0(void) {
    uint32_t a, d;
    __asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    return ((uint64_t)d << 32) | a;
}
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static wn_cpu_features feats;
static wn_isa isa;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int osxsave = (c >> 27) & 1;
        uint64_t xcr0 = osxsave ? xgetbv0() : 0;
        int ymm = (xcr0 & 6) == 6, zmm = (xcr0 & 0xe6) == 0xe6;
        feats.fma = ymm && ((c >> 12) & 1);
        feats.f16c = ymm && ((c >> 29) & 1);
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            feats.avx2 = ymm && ((b >> 5) & 1);
            feats.avx512f = zmm && ((b >> 16) & 1);
            feats.avx512dq = zmm && ((b >> 17) & 1);
            feats.avx512bw = zmm && ((b >> 30) & 1);
            feats.avx512vl = zmm && ((b >> 31) & 1);
            feats.avx512vnni = zmm && ((c >> 11) & 1);
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
            feats.avx512bf16 = zmm && ((a >> 5) & 1);
            feats.avxvnni = ymm && ((a >> 4) & 1);
        }
    }
#endif
    isa = WN_ISA_SCALAR;
#if defined(__aarch64__) /* NEON (Advanced SIMD) is part of every aarch64 CPU; sdot is optional */
#if defined(__linux__)
    feats.asimddp = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    isa = WN_ISA_NEON;
#endif
    if (feats.avx2 && feats.fma && feats.f16c) isa = WN_ISA_AVX2;
    if (isa == WN_ISA_AVX2 && feats.avx512f && feats.avx512bw && feats.avx512vl && feats.avx512dq) isa = WN_ISA_AVX512;
    const char *force = getenv("WN_FORCE_SCALAR");
    if (force && *force && strcmp(force, "0") != 0) isa = WN_ISA_SCALAR;
    const char *fi = getenv("WN_FORCE_ISA");
    if (fi) {
        if (!strcmp(fi, "scalar")) isa = WN_ISA_SCALAR;
        else if (!strcmp(fi, "neon-nodot") && isa == WN_ISA_NEON) feats.asimddp = 0; /* NEON without sdot */
        else if (!strcmp(fi, "avx2") && isa >= WN_ISA_AVX2 && isa <= WN_ISA_AVX512) isa = WN_ISA_AVX2;
        else if (!strcmp(fi, "avx2-novnni") && isa >= WN_ISA_AVX2 && isa <= WN_ISA_AVX512) { /* AVX2 without AVX-VNNI's int8 */
            isa = WN_ISA_AVX2;
            feats.avxvnni = 0;
        }
    }
}

const wn_cpu_features *wn_cpu_get(void) {
    pthread_once(&once, detect);
    return &feats;
}

wn_isa wn_cpu_isa(void) {
    pthread_once(&once, detect);
    return isa;
}

const char *wn_isa_name(wn_isa i) {
    switch (i) {
    case WN_ISA_SCALAR: return "scalar";
    case WN_ISA_AVX2: return "avx2+fma";
    case WN_ISA_AVX512: return "avx512";
    case WN_ISA_NEON: return "neon";
    }
    return "?";
}
